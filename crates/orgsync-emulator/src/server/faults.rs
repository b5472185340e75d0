//! The disruptions the gate injects into `/api/v2` and token requests: added latency (fixed
//! plus seeded jitter), faults (scripted ones first, then seeded random ones), what each
//! fault answers, and the broken body that drops a connection mid-answer. A small seeded
//! generator (SplitMix64) keeps every run's sequence repeatable.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::{JSON_UTF8, Shared};
use crate::{FaultKind, lock};

/// A fault drawn for one request.
pub(super) enum Fault {
    Random(FaultKind),
    Scripted(u16),
}

/// What a fault does to its request.
pub(super) enum Outcome {
    /// This answer, instead of handling the request.
    Answer(Response),
    /// Handle the request, then drop the connection before the answer's body.
    Drop,
}

impl Fault {
    /// The name the request log gives it: `500`, `503`, `429`, `scripted` or `drop`.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Fault::Random(FaultKind::Status500) => "500",
            Fault::Random(FaultKind::Status503) => "503",
            Fault::Random(FaultKind::Status429) => "429",
            Fault::Scripted(status) if *status != 0 => "scripted",
            Fault::Random(FaultKind::Drop) | Fault::Scripted(_) => "drop",
        }
    }

    pub(super) fn outcome(self) -> Outcome {
        let error = match self {
            Fault::Random(FaultKind::Status500) => {
                ApiError::server(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Fault::Random(FaultKind::Status503) => {
                ApiError::server(StatusCode::SERVICE_UNAVAILABLE)
            }
            Fault::Random(FaultKind::Status429) => ApiError::rate_limited(true),
            Fault::Scripted(status) if status != 0 => match StatusCode::from_u16(status) {
                Ok(StatusCode::TOO_MANY_REQUESTS) => ApiError::rate_limited(true),
                Ok(s) => ApiError::server(s),
                Err(_) => ApiError::server(StatusCode::INTERNAL_SERVER_ERROR),
            },
            Fault::Random(FaultKind::Drop) | Fault::Scripted(_) => return Outcome::Drop,
        };
        Outcome::Answer(error.into_response())
    }
}

impl Shared {
    /// Draws the fault (if any) for one /api/v2 request: scripted faults first, then the
    /// seeded random ones.
    pub(super) fn roll_fault(&self, method: &Method, path: &str) -> Option<Fault> {
        {
            let mut scripted = lock(&self.scripted);
            if let Some(pos) = scripted.iter().position(|f| {
                f.times > 0 && f.method.eq_ignore_ascii_case(method.as_str()) && f.path == path
            }) {
                let f = &mut scripted[pos];
                f.times -= 1;
                let status = f.status;
                if f.times == 0 {
                    scripted.remove(pos);
                }
                return Some(Fault::Scripted(status));
            }
        }
        if self.options.fault_rate <= 0.0 || self.options.fault_kinds.is_empty() {
            return None;
        }
        let mut rng = lock(&self.rng);
        if rng.next_f64() >= self.options.fault_rate {
            return None;
        }
        let kinds = &self.options.fault_kinds;
        Some(Fault::Random(
            kinds[(rng.next_u64() % kinds.len() as u64) as usize],
        ))
    }

    /// The latency to add before handling one request.
    pub(super) fn latency(&self) -> Duration {
        let jitter = self.options.latency_jitter;
        if jitter.is_zero() {
            return self.options.latency;
        }
        let r = lock(&self.rng).next_f64();
        self.options.latency + jitter.mul_f64(r)
    }
}

/// The answer that replaces a dropped request's: headers may go out; the body never
/// completes, so the client sees a broken connection after the request was carried out.
pub(super) fn dropped_connection() -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, JSON_UTF8)
        .body(Body::new(BrokenBody))
        .unwrap_or_default()
}

/// A body that fails at once: hyper aborts the connection mid-answer.
struct BrokenBody;

impl http_body::Body for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "emulated connection drop",
        ))))
    }
}

/// A small seeded generator (SplitMix64): repeatable fault and jitter sequences.
pub(super) struct SplitMix64(pub(super) u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_repeatable() {
        let mut a = SplitMix64(7);
        let mut b = SplitMix64(7);
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let f = SplitMix64(1).next_f64();
        assert!((0.0..1.0).contains(&f));
    }
}
