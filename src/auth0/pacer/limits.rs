//! What an answer's rate-limit headers say, as far as orgsync trusts them: the one place
//! numbers from a server's `x-ratelimit-*` and `Retry-After` headers are read (see the
//! pacer's "What is trusted").

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The largest bucket size believed (Auth0's are 2 to 50).
const MAX_LIMIT: f64 = 100_000.0;
/// The farthest ahead a reset is believed; one further ahead is capped to this from now.
pub(super) const MAX_RESET_AHEAD: Duration = Duration::from_secs(60);

/// One number from a server's header, if it is a finite, non-negative decimal number.
fn header_number(headers: &HeaderMap, name: &str) -> Option<f64> {
    let n: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some(n)
}

/// What an answer's rate-limit headers say, as far as orgsync trusts them. This is the one
/// place numbers from a server are read; whatever it does not trust is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServerLimits {
    /// `x-ratelimit-limit`: 1 to 100,000.
    pub limit: Option<f64>,
    /// `x-ratelimit-remaining`: within `0..=limit` (so only with a trusted limit).
    pub remaining: Option<f64>,
    /// `x-ratelimit-reset` (epoch seconds), at most [`MAX_RESET_AHEAD`] from now.
    pub reset: Option<SystemTime>,
    /// Whether the reset was further ahead and was capped.
    pub reset_capped: bool,
    /// `Retry-After` in seconds, at most the `max_retry_after` given to [`ServerLimits::parse`].
    pub retry_after: Option<Duration>,
}

impl ServerLimits {
    /// Reads the headers at wall-clock time `now`.
    pub fn parse(headers: &HeaderMap, now: SystemTime, max_retry_after: Duration) -> ServerLimits {
        let limit =
            header_number(headers, "x-ratelimit-limit").filter(|l| (1.0..=MAX_LIMIT).contains(l));
        let remaining = header_number(headers, "x-ratelimit-remaining")
            .filter(|r| limit.is_some_and(|l| *r <= l));
        let mut reset_capped = false;
        let reset = header_number(headers, "x-ratelimit-reset").and_then(|secs| {
            let now_secs = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            if secs > now_secs + MAX_RESET_AHEAD.as_secs_f64() {
                reset_capped = true;
                now.checked_add(MAX_RESET_AHEAD)
            } else {
                SystemTime::UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(secs).ok()?)
            }
        });
        let retry_after = header_number(headers, RETRY_AFTER.as_str())
            .map(|secs| secs.min(max_retry_after.as_secs_f64()))
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .map(|d| d.min(max_retry_after));
        ServerLimits {
            limit,
            remaining,
            reset,
            reset_capped,
            retry_after,
        }
    }
}

/// What the rate-limit headers of an answer said, raw, for the error of a request that waited
/// too long for a token: each value escaped and cut, with what orgsync made of it.
pub(super) fn describe(headers: &HeaderMap, trusted: &ServerLimits) -> String {
    let raw = |name: &str| {
        headers.get(name).map(|v| {
            let text = String::from_utf8_lossy(v.as_bytes());
            let cut: String = crate::secrets::scrub(&text).chars().take(40).collect();
            format!("{cut:?}")
        })
    };
    let mut parts = Vec::new();
    for (name, ok) in [
        ("x-ratelimit-limit", trusted.limit.is_some()),
        ("x-ratelimit-remaining", trusted.remaining.is_some()),
        ("x-ratelimit-reset", trusted.reset.is_some()),
    ] {
        match raw(name) {
            None => parts.push(format!("no {name}")),
            Some(v) if !ok => parts.push(format!("{name} {v} (not trusted, ignored)")),
            Some(v) if name == "x-ratelimit-reset" && trusted.reset_capped => parts.push(format!(
                "{name} {v} (more than {} s ahead: capped to {} s from then)",
                MAX_RESET_AHEAD.as_secs(),
                MAX_RESET_AHEAD.as_secs()
            )),
            Some(v) => parts.push(format!("{name} {v}")),
        }
    }
    parts.join(", ")
}
