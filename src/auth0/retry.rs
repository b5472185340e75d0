//! The transport: [`Transport`] (the HTTP client, its settings, pacer, scrubber and counters),
//! [`RetryPolicy`] and the one loop every request goes through, the token request included. It
//! knows requests, not endpoints: the [`Client`](super::Client) owns a `Transport` and builds on
//! it, and nothing here refers back to the client. One attempt is paced (API calls only, each by its endpoint class, see
//! [`pacer::Class`]), takes a concurrency slot, is sent, and its answer read within
//! [`MAX_BODY_BYTES`]; then a 429 waits for `Retry-After` or the reset and goes again while
//! the call's deadline allows, a 5xx or a lost connection goes again up to `max_attempts`
//! (within the deadline too), and anything else ends the loop. Waits use only the header
//! numbers [`ServerLimits::parse`] trusts, capped by the policy; the stats count every attempt,
//! retry and 429.
//!
//! The token request (`POST /oauth/token`) is not paced and takes no concurrency slot: it is
//! sent once, before any API call, and Auth0 limits its Authentication API apart from the
//! Management API buckets the pacer models, so its rate-limit headers would mislead the model.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::credentials::Secret;
use super::domain::Domain;
use super::error::{Cause, TransportKind};
use super::pacer::{self, Pacer, PacingTimeout, ServerLimits};
use super::scrub::Secrets;

/// Largest answer body orgsync reads; a page of 100 members is about 20 KiB.
const MAX_BODY_BYTES: usize = crate::bounded::ANSWER_BYTES;

/// How persistent the client is.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts for a call answered 5xx or lost in transport (the first one included).
    pub max_attempts: u32,
    /// First backoff; doubles each attempt, with jitter.
    pub base_delay: Duration,
    /// Longest single wait.
    pub max_delay: Duration,
    /// Give up on a call (429s included) once this much time has passed since its first attempt.
    pub deadline: Duration,
    /// Skip the waits (tests): the hidden `--no-retry-delay` flag.
    pub instant: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            deadline: Duration::from_secs(120),
            instant: false,
        }
    }
}

/// One request, as the loop sends it at each attempt.
pub(super) struct Outgoing<'a> {
    pub method: Method,
    /// Path and query, after the domain's origin.
    pub path: &'a str,
    /// A JSON body.
    pub body: Option<&'a Value>,
    /// The bearer token of a Management API call, which is also paced and takes a
    /// concurrency slot; `None` for the token request, which is neither.
    pub bearer: Option<&'a Secret>,
}

/// The answer of one attempt.
pub(super) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// How a request ended without a success answer. Texts are scrubbed of the secrets the client
/// knew when they were made; the callers turn this into their [`super::Error`] variants.
pub(super) enum Failed {
    /// The last answer, an error: 3xx or 4xx, a 5xx after the last attempt, a 429 past the
    /// deadline.
    Answer(Answer),
    /// No answer after the last attempt: what happened, and its causes.
    Lost {
        kind: TransportKind,
        /// Requests sent, the last one included.
        attempts: u32,
        cause: Option<Cause>,
    },
    /// No rate-limit token within `--timeout`: not sent.
    Paced(PacingTimeout),
    /// The client was shut down: not sent.
    ShutDown,
}

/// Whether a connect error is a failed TLS handshake: rustls reports its protocol errors (a
/// plain-HTTP server answering the ClientHello: "received corrupt message of type
/// InvalidContentType"; a certificate it rejects) as an I/O error of kind `InvalidData`, which
/// connecting over TCP alone never yields.
fn is_tls_failure(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>().is_some_and(invalid_data) {
            return true;
        }
        source = s.source();
    }
    false
}

/// An I/O error of kind `InvalidData`, or one wrapping such (hyper wraps rustls's in one of
/// kind `Other`, whose `source` skips the inner I/O error).
fn invalid_data(io: &std::io::Error) -> bool {
    io.kind() == std::io::ErrorKind::InvalidData
        || io
            .get_ref()
            .and_then(|e| e.downcast_ref::<std::io::Error>())
            .is_some_and(invalid_data)
}

/// One attempt that got no answer: what kind of failure, and the causes.
struct Lost {
    kind: TransportKind,
    cause: Option<Cause>,
}

impl Lost {
    /// A transport failure, without reqwest's own text, which names the URL (whose query may
    /// hold a cursor a server sent): its kind, then its causes.
    fn of(e: &reqwest::Error) -> Lost {
        let kind = if e.is_connect() && is_tls_failure(e) {
            TransportKind::Tls
        } else if e.is_timeout() {
            TransportKind::Timeout
        } else if e.is_connect() {
            TransportKind::Connect
        } else if e.is_body() || e.is_decode() {
            TransportKind::Body
        } else if e.is_redirect() {
            TransportKind::Redirect
        } else {
            TransportKind::Other
        };
        Lost {
            kind,
            cause: Cause::sources_of(e),
        }
    }

    /// The same failure with its causes scrubbed (the kind is orgsync's own words).
    fn scrubbed(self, secrets: &Secrets) -> Lost {
        let scrub = |t: &str| secrets.scrub_text(t);
        Lost {
            kind: self.kind,
            cause: self.cause.map(|c| c.scrubbed(&scrub)),
        }
    }

    /// The kind and every cause on one line, for the log.
    fn line(&self) -> String {
        let mut line = self.kind.to_string();
        let mut source = self.cause.as_ref().map(|c| c as &dyn std::error::Error);
        while let Some(s) = source {
            line.push_str(": ");
            line.push_str(&s.to_string());
            source = s.source();
        }
        line
    }
}

/// Settings of a [`Client`](super::Client).
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub retry: RetryPolicy,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for one whole request and answer.
    pub request_timeout: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// A cap on requests per second below the tenant's limit (`--max-rps`).
    pub max_rps: Option<f64>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            concurrency: 8,
            max_rps: None,
        }
    }
}

/// Counters of what the transport did, for reports, tests and benchmarks.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    /// Bytes of list answers read (organizations, members, connections, invitations), counted
    /// against [`RUN_LIST_BYTES`](super::paging::RUN_LIST_BYTES).
    pub list_bytes: AtomicU64,
}

/// The result of one mutating call, for the audit log.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub status: Option<u16>,
    pub attempts: u32,
    pub duration: Duration,
}

impl CallRecord {
    /// A call that was not sent (its ids refused before it went out).
    pub(super) fn unsent() -> CallRecord {
        CallRecord {
            status: None,
            attempts: 0,
            duration: Duration::ZERO,
        }
    }
}

/// The connection to one tenant's API: the HTTP client and where it points, how requests are
/// retried and paced, the secrets scrubbed from what comes back, and the counters. The
/// [`Client`](super::Client) owns one and knows the endpoints; this knows only requests.
pub(super) struct Transport {
    pub(super) http: reqwest::Client,
    pub(super) domain: Domain,
    pub(super) options: ClientOptions,
    pub(super) pacer: Pacer,
    pub(super) slots: Arc<tokio::sync::Semaphore>,
    /// The client secret and the token, in the forms a server may echo them, for scrubbing.
    pub(super) secrets: Secrets,
    pub(super) stats: Stats,
}

impl Transport {
    /// Sends `out` until it gets a success answer or the policy gives up (see the module
    /// docs); `attempts` counts what was sent, also when it fails (for the audit log).
    pub(super) async fn send(
        &self,
        out: &Outgoing<'_>,
        attempts: &mut u32,
    ) -> Result<(Answer, CallRecord), Failed> {
        let policy = &self.options.retry;
        let url = format!("{}{}", self.domain.origin(), out.path);
        let started = Instant::now();
        let mut failures: u32 = 0;
        loop {
            // `--timeout` bounds the request including its wait for a rate-limit token (from
            // its class's turn: the wait behind earlier requests of its class is not counted)
            // and for a concurrency slot.
            let budget = self.options.request_timeout;
            let mut paced = Instant::now();
            let (slot, in_flight) = match out.bearer {
                Some(_) => {
                    // The token first, then the concurrency slot: a request waiting for its
                    // class's empty bucket holds no slot that another class's request could
                    // use (a long DELETE queue must not stall the next organization's reads).
                    let class = pacer::Class::of(&out.method, out.path);
                    let ticket = self
                        .pacer
                        .acquire(class, policy.instant, budget)
                        .await
                        .map_err(Failed::Paced)?;
                    paced = Instant::now()
                        .checked_sub(ticket.waited())
                        .unwrap_or_else(Instant::now);
                    let in_flight = InFlight {
                        pacer: &self.pacer,
                        ticket: Some(ticket),
                    };
                    let slot = self.slots.acquire().await.map_err(|_| Failed::ShutDown)?;
                    (Some(slot), Some(in_flight))
                }
                None => (None, None),
            };
            *attempts += 1;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let left = budget
                .saturating_sub(paced.elapsed())
                .max(Duration::from_millis(1));
            let mut req = self.http.request(out.method.clone(), &url).timeout(left);
            if let Some(token) = out.bearer {
                req = req.bearer_auth(token.expose());
            }
            if let Some(b) = out.body {
                req = req.json(b);
            }
            let result = match req.send().await {
                Ok(resp) => read_answer(resp).await,
                Err(e) => Err(Lost::of(&e)),
            };
            drop(slot);
            let result = result.map_err(|lost| lost.scrubbed(&self.secrets));
            let (method, path) = (&out.method, out.path);
            match &result {
                Ok(a) => {
                    tracing::info!(method = %method, path = %path, status = a.status.as_u16(), attempt = *attempts, "request")
                }
                Err(lost) => {
                    tracing::info!(method = %method, path = %path, attempt = *attempts, error = %lost.line(), "request failed")
                }
            }
            match result {
                Ok(a) => {
                    let limited = a.status == StatusCode::TOO_MANY_REQUESTS;
                    if let Some(f) = in_flight {
                        f.answered(&a.headers, limited);
                    }
                    if limited {
                        self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                        if started.elapsed() < policy.deadline {
                            self.stats.retries.fetch_add(1, Ordering::Relaxed);
                            self.wait_before_retry(*attempts, &a.headers, started).await;
                            continue;
                        }
                        return Err(Failed::Answer(a));
                    }
                    if a.status.is_server_error() {
                        failures += 1;
                        if failures < policy.max_attempts && started.elapsed() < policy.deadline {
                            self.stats.retries.fetch_add(1, Ordering::Relaxed);
                            self.wait_before_retry(failures, &a.headers, started).await;
                            continue;
                        }
                        return Err(Failed::Answer(a));
                    }
                    if !a.status.is_success() {
                        return Err(Failed::Answer(a));
                    }
                    let record = CallRecord {
                        status: Some(a.status.as_u16()),
                        attempts: *attempts,
                        duration: started.elapsed(),
                    };
                    return Ok((a, record));
                }
                Err(lost) => {
                    if let Some(f) = in_flight {
                        f.answered(&HeaderMap::new(), false);
                    }
                    failures += 1;
                    // A failed TLS handshake fails the same way every time: not retried.
                    if lost.kind != TransportKind::Tls
                        && failures < policy.max_attempts
                        && started.elapsed() < policy.deadline
                    {
                        self.stats.retries.fetch_add(1, Ordering::Relaxed);
                        self.wait_before_retry(failures, &HeaderMap::new(), started)
                            .await;
                        continue;
                    }
                    return Err(Failed::Lost {
                        kind: lost.kind,
                        attempts: *attempts,
                        cause: lost.cause,
                    });
                }
            }
        }
    }

    /// Waits before retry number `n`: `Retry-After`, else until `x-ratelimit-reset`, else a
    /// capped exponential backoff with jitter; never past the call's deadline.
    async fn wait_before_retry(&self, n: u32, headers: &HeaderMap, started: Instant) {
        if self.options.retry.instant {
            return;
        }
        let policy = &self.options.retry;
        let wait = server_wait(headers, SystemTime::now(), policy.max_delay).unwrap_or_else(|| {
            let exp = policy
                .base_delay
                .saturating_mul(1u32 << n.saturating_sub(1).min(16));
            let capped = exp.min(policy.max_delay);
            // Full jitter on the upper half keeps concurrent callers from retrying in step.
            capped.mul_f64(0.5 + 0.5 * jitter())
        });
        let left = policy.deadline.saturating_sub(started.elapsed());
        tokio::time::sleep(wait.min(policy.max_delay).min(left)).await;
    }
}

/// A request the pacer let through: its ticket goes back to the pacer with the answer, or
/// with none if the call is dropped first (a cancelled task), so the pacer never counts it in
/// flight forever.
struct InFlight<'a> {
    pacer: &'a Pacer,
    ticket: Option<pacer::Ticket>,
}

impl InFlight<'_> {
    fn answered(mut self, headers: &HeaderMap, limited: bool) {
        if let Some(t) = self.ticket.take() {
            self.pacer.observe(t, headers, limited);
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.ticket.take() {
            self.pacer.observe(t, &HeaderMap::new(), false);
        }
    }
}

/// Reads an answer's body through [`crate::bounded::read_answer`], refusing one larger than
/// [`MAX_BODY_BYTES`].
async fn read_answer(mut resp: reqwest::Response) -> Result<Answer, Lost> {
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = crate::bounded::read_answer(&mut resp, MAX_BODY_BYTES)
        .await
        .map_err(|e| match e {
            crate::bounded::AnswerError::TooLarge { cap } => Lost {
                kind: TransportKind::TooLarge { cap },
                cause: None,
            },
            crate::bounded::AnswerError::Transport(e) => Lost::of(&e),
        })?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// How long the server asked to wait: `Retry-After` seconds, else until `x-ratelimit-reset`;
/// at most `cap`. The numbers are read by [`ServerLimits::parse`]: any it does not trust
/// (NaN, infinite, negative, absurd) count as not sent.
fn server_wait(headers: &HeaderMap, now: SystemTime, cap: Duration) -> Option<Duration> {
    let limits = ServerLimits::parse(headers, now, cap);
    if let Some(wait) = limits.retry_after {
        return Some(wait);
    }
    let until = limits.reset?.duration_since(now).unwrap_or(Duration::ZERO);
    Some(until.min(cap))
}

/// A number in 0..1 from the standard library's random hasher keys.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::RETRY_AFTER;

    const CAP: Duration = Duration::from_secs(30);

    #[test]
    fn waits_follow_retry_after_then_reset() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut h = HeaderMap::new();
        assert_eq!(server_wait(&h, now, CAP), None);
        h.insert("x-ratelimit-reset", "1003".parse().unwrap());
        assert_eq!(server_wait(&h, now, CAP), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, "1".parse().unwrap());
        assert_eq!(server_wait(&h, now, CAP), Some(Duration::from_secs(1)));
    }

    #[test]
    fn untrusted_waits_never_panic_and_are_capped() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        for bad in ["nan", "NaN", "inf", "-inf", "-5", "1e30", "x"] {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, bad.parse().unwrap());
            let w = server_wait(&h, now, CAP);
            assert!(w.is_none_or(|w| w <= CAP), "{bad}: {w:?}");
            let mut h = HeaderMap::new();
            h.insert("x-ratelimit-reset", bad.parse().unwrap());
            let w = server_wait(&h, now, CAP);
            assert!(w.is_none_or(|w| w <= CAP), "{bad}: {w:?}");
        }
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset", "4102444800".parse().unwrap());
        assert_eq!(server_wait(&h, now, CAP), Some(CAP));
    }
}
