//! Client-side pacing: orgsync spends the tenant's rate-limit budget deliberately instead of
//! discovering the limit by hitting it.
//!
//! Auth0 limits the Management API with token buckets (a tenant-wide one, and tighter ones on
//! the members endpoints) and describes the bucket that applied on every answer:
//! `x-ratelimit-limit` (its size), `x-ratelimit-remaining`, `x-ratelimit-reset` (epoch seconds of
//! the next refill). The reset is whole seconds, too coarse to pace a bucket that refills 16 or
//! 160 times a second, so the pacer keeps a model of each bucket and learns its refill rate:
//!
//! - **Tokens.** Each answer re-anchors the model: the server had `remaining` tokens after that
//!   request, and every request still in flight will take one more, so `remaining - in_flight`
//!   are free now. A request reserves a token from the model before it is sent.
//! - **Refill rate.** While the bucket is not full, `remaining + answers received` grows only by
//!   refills (each answered request took one token), so its slope over a window of at least
//!   250 ms is the refill rate. A slightly low estimate only costs a little time; the model
//!   uses 97% of it.
//! - **Waiting.** With no free token, a request waits the time the modelled refill needs. Until
//!   the rate is measured, the model assumes a refill of a 25th of the bucket size per second,
//!   below every published Auth0 limit (Enterprise: 50 and 16/s; members: 40 and 500/min, 20
//!   and 200/min; Free: 2 and 2/s): slow for the first quarter second, never over the limit.
//!   The measurement then runs whatever orgsync sends, since refills show in `remaining`.
//!
//! One model serves all requests: the tenant-wide bucket is shared by every endpoint, and an
//! answer always describes the tightest bucket that applied, so the model follows whichever is
//! binding. When the reported bucket size changes (orgsync moved from member reads to member
//! writes, say), the rate is measured afresh. `--max-rps` adds a fixed spacing on top, so a
//! team can keep orgsync well below the tenant's limit. A 429 still answered (another client spent
//! the budget) sets the model to empty; the client then waits for `Retry-After` or the reset.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::HeaderMap;

/// Shortest window over which a refill rate is measured.
const RATE_WINDOW: Duration = Duration::from_millis(250);
/// Shortest window for a lower bound of the rate.
const LOWER_BOUND_WINDOW: Duration = Duration::from_millis(10);
/// Share of the measured rate the model relies on.
const RATE_SAFETY: f64 = 0.97;
/// Longest window: older samples are let go, so a change in the budget (another client
/// starting or stopping) shows within a couple of seconds.
const RATE_WINDOW_MAX: Duration = Duration::from_secs(2);
/// The refill assumed before one is measured, as a share of the bucket size per second.
const INITIAL_RATE_PER_SIZE: f64 = 1.0 / 25.0;
/// Longest single wait (seconds) before a waiting request looks at the model again.
const MAX_WAIT: f64 = 0.1;
/// How long to wait for answers when nothing else tells when to try again.
const POLL: Duration = Duration::from_millis(10);

#[derive(Debug)]
struct Bucket {
    /// Bucket size, once an answer said it.
    limit: Option<f64>,
    /// Free tokens at `at`.
    tokens: f64,
    at: Instant,
    /// Refill per second, once measured.
    rate: Option<f64>,
    in_flight: u32,
    /// Answers to requests the bucket accepted (each took one token).
    answered: u64,
    /// The lowest free count reported since nothing was last in flight.
    round_low: Option<f64>,
    /// When the last answer said the next token is added (`x-ratelimit-reset`); one request
    /// may go then, whatever the model says, since that token is there for certain.
    reset: Option<SystemTime>,
    /// The last announced refill a request was let through for.
    spent_reset: Option<SystemTime>,
    /// Start of the rate window: (its request sent, the counter's upper estimate then).
    anchor: Option<(Instant, f64)>,
}

impl Bucket {
    fn new(now: Instant) -> Bucket {
        Bucket {
            limit: None,
            tokens: 0.0,
            at: now,
            rate: None,
            in_flight: 0,
            answered: 0,
            round_low: None,
            reset: None,
            spent_reset: None,
            anchor: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        if let (Some(rate), Some(limit)) = (self.rate, self.limit) {
            let dt = now.saturating_duration_since(self.at).as_secs_f64();
            self.tokens = (self.tokens + dt * rate).min(limit);
        }
        self.at = now;
    }

    /// Reserves a token, or says how long to wait before asking again.
    fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.limit.is_none() || self.tokens >= 1.0 {
            self.take();
            return Ok(());
        }
        let modelled = match self.rate {
            // Waits are short so that a waiting request sees what answers meanwhile teach.
            Some(rate) if rate > 0.0 => {
                Duration::from_secs_f64(((1.0 - self.tokens) / rate).clamp(0.001, MAX_WAIT))
            }
            _ => POLL,
        };
        match self.reset {
            Some(reset) => match reset.duration_since(SystemTime::now()) {
                Ok(until) => Err(modelled.min(until.max(Duration::from_millis(1)))),
                // The announced token has been added: one request may have it.
                Err(_) if self.in_flight == 0 => {
                    self.spent_reset = self.reset.take();
                    self.take();
                    Ok(())
                }
                Err(_) => Err(modelled.min(POLL)),
            },
            None => Err(modelled),
        }
    }

    fn take(&mut self) {
        self.tokens -= 1.0;
        self.in_flight += 1;
    }

    fn learn(
        &mut self,
        now: Instant,
        sent: Instant,
        remaining: Option<f64>,
        limit: Option<f64>,
        reset: Option<SystemTime>,
        limited: bool,
    ) {
        self.in_flight = self.in_flight.saturating_sub(1);
        // Only ever later: an answer arriving late must not bring back a refill already spent.
        if let Some(r) = reset {
            let newer = |known: Option<SystemTime>| known.is_none_or(|k| r > k);
            if newer(self.reset) && newer(self.spent_reset) {
                self.reset = Some(r);
            }
        }
        let (Some(remaining), Some(limit)) = (remaining, limit) else {
            return;
        };
        // A refused request took no token: only accepted ones count against the refills.
        if !limited {
            self.answered += 1;
        }
        let first = self.limit != Some(limit);
        if first {
            // Another bucket is binding now: measure its rate afresh.
            self.rate = Some(limit * INITIAL_RATE_PER_SIZE);
            self.anchor = None;
        }
        self.limit = Some(limit);
        // `remaining` counts every request the server has taken, but `answered` only those
        // whose answers are here: up to `in_flight` more were taken already. So the counter
        // is known only within [low, low + in_flight].
        let low = remaining + self.answered as f64;
        self.measure(
            now,
            sent,
            low,
            low + f64::from(self.in_flight),
            remaining + 1.0 >= limit,
        );
        // What the server says is free, less every request still in flight: the server may not
        // have counted them yet, in whatever order it takes them (counting one it has is only
        // cautious). Concurrent answers arrive in any order, so one showing more than the model
        // (maybe an older state of the bucket) does not raise it while others are in flight.
        // When the last one is answered, the lowest `remaining` of that round is the bucket as
        // it is (refills in a few milliseconds are negligible) and resets the model, so refills
        // the rate estimate missed are not lost.
        let reported = if limited {
            0.0
        } else {
            remaining - f64::from(self.in_flight)
        };
        let low = self.round_low.map_or(reported, |l| l.min(reported));
        self.refill(now);
        if first {
            self.tokens = reported;
            self.round_low = None;
        } else if self.in_flight == 0 {
            self.tokens = low;
            self.round_low = None;
        } else {
            self.tokens = self.tokens.min(reported);
            self.round_low = Some(low);
        }
        tracing::debug!(remaining, limit, limited, in_flight = self.in_flight, tokens = self.tokens, rate = ?self.rate, "pacer learned");
    }

    /// Updates the refill rate from the counter `remaining + requests the server took`, which
    /// only refills move, known here within `[low, high]` (answers still on their way). The
    /// server counted the anchor's request somewhere between its sending and its answer, and
    /// this one before `now`, so over `now - anchor sent` the rise from the anchor's `high` to
    /// this `low`, less one token for `remaining`'s rounding down, is a true lower bound of the
    /// refill rate, whatever order answers arrive in and however late. It raises the estimate at once, even from the first
    /// burst; over 250 ms without the bucket filling up (which caps refills) it replaces the
    /// estimate, so a budget shrinking (another client) shows too.
    fn measure(&mut self, now: Instant, sent: Instant, low: f64, high: f64, full: bool) {
        let Some((sent0, c0)) = self.anchor else {
            self.anchor = Some((sent, high));
            return;
        };
        let window = now.saturating_duration_since(sent0);
        let lower = (low - c0 - 1.0).max(0.0) / window.as_secs_f64().max(1e-9) * RATE_SAFETY;
        if full {
            if window >= LOWER_BOUND_WINDOW {
                self.rate = Some(self.rate.map_or(lower, |r| r.max(lower)));
            }
            self.anchor = Some((sent, high));
        } else if window >= RATE_WINDOW {
            self.rate = Some(lower);
            if window >= RATE_WINDOW_MAX {
                self.anchor = Some((sent, high));
            }
        } else if window >= LOWER_BOUND_WINDOW {
            self.rate = Some(self.rate.map_or(lower, |r| r.max(lower)));
        }
    }
}

#[derive(Debug)]
struct State {
    bucket: Bucket,
    /// Earliest start of the next request under `--max-rps`.
    next_slot: Instant,
}

/// Paces requests to the rate limits the tenant reports.
#[derive(Debug)]
pub struct Pacer {
    state: Mutex<State>,
    interval: Option<Duration>,
}

impl Pacer {
    pub fn new(max_rps: Option<f64>) -> Pacer {
        Pacer {
            state: Mutex::new(State {
                bucket: Bucket::new(Instant::now()),
                next_slot: Instant::now(),
            }),
            interval: max_rps
                .filter(|r| *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a request may be sent, and reserves its token. `instant` skips the waits
    /// (tests).
    pub async fn acquire(&self, instant: bool) {
        let spacing = {
            let mut s = self.lock();
            match self.interval {
                Some(iv) => {
                    let now = Instant::now();
                    let slot = s.next_slot.max(now);
                    s.next_slot = slot + iv;
                    slot - now
                }
                None => Duration::ZERO,
            }
        };
        if !instant && !spacing.is_zero() {
            tokio::time::sleep(spacing).await;
        }
        loop {
            let wait = {
                let mut s = self.lock();
                let now = Instant::now();
                let bucket = &mut s.bucket;
                match bucket.try_take(now) {
                    Ok(()) => return,
                    Err(_) if instant => return bucket.take(),
                    Err(wait) => wait,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Learns from an answer's `x-ratelimit-*` headers; `limited` for a 429. Call once for
    /// every request `acquire` let through (also when no answer came: `headers` empty).
    pub fn observe(&self, sent: Instant, headers: &HeaderMap, limited: bool) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        let mut s = self.lock();
        let now = Instant::now();
        let reset = num("x-ratelimit-reset")
            .map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs.max(0.0)));
        s.bucket.learn(
            now,
            sent,
            num("x-ratelimit-remaining"),
            num("x-ratelimit-limit"),
            reset,
            limited,
        );
    }

    /// The refill rate the model works with, for reports and tests.
    pub fn rate(&self) -> Option<f64> {
        self.lock().bucket.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simulated server bucket, driven by the model in virtual time.
    struct Server {
        tokens: f64,
        size: f64,
        rate: f64,
    }

    #[test]
    fn the_model_learns_the_refill_rate_and_never_overspends() {
        let t0 = Instant::now();
        let mut server = Server {
            tokens: 50.0,
            size: 50.0,
            rate: 160.0,
        };
        let mut model = Bucket::new(t0);
        let mut now = t0;
        let mut accepted = 0;
        let mut refused = 0;
        let mut last = t0;
        // Sequential requests with 5 ms latency for 5 simulated seconds.
        while now < t0 + Duration::from_secs(5) {
            match model.try_take(now) {
                Err(wait) => now += wait,
                Ok(()) => {
                    // The server refills, then processes the request, then answers 5 ms later.
                    server.tokens = (server.tokens
                        + now.duration_since(last).as_secs_f64() * server.rate)
                        .min(server.size);
                    last = now;
                    let ok = server.tokens >= 1.0;
                    if ok {
                        server.tokens -= 1.0;
                        accepted += 1;
                    } else {
                        refused += 1;
                    }
                    let sent = now;
                    now += Duration::from_millis(5);
                    model.learn(
                        now,
                        sent,
                        Some(server.tokens.floor()),
                        Some(server.size),
                        None,
                        !ok,
                    );
                }
            }
        }
        assert_eq!(refused, 0, "no request was refused");
        let rate = model.rate.unwrap();
        assert!((140.0..=160.0).contains(&rate), "learned {rate}");
        // 50 burst + 160/s for 5 s = 850 possible; pacing reaches at least 90% of that.
        assert!(accepted >= 765, "accepted {accepted}");
    }

    #[test]
    fn without_headers_there_is_no_pacing() {
        let now = Instant::now();
        let mut b = Bucket::new(now);
        for _ in 0..1000 {
            b.try_take(now).unwrap();
            b.learn(now, now, None, None, None, false);
        }
    }

    #[test]
    fn a_429_empties_the_model_until_the_assumed_refill() {
        let now = Instant::now();
        let mut b = Bucket::new(now);
        b.try_take(now).unwrap();
        b.learn(now, now, Some(0.0), Some(10.0), None, true);
        // 10/25 = 0.4 tokens a second assumed: the next token in 2.5 s, looked at again every
        // 100 ms meanwhile.
        assert_eq!(b.try_take(now), Err(Duration::from_millis(100)));
        assert!(b.try_take(now + Duration::from_millis(2400)).is_err());
        assert!(b.try_take(now + Duration::from_millis(2500)).is_ok());
    }
}
