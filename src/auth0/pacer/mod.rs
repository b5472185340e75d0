//! Client-side pacing: orgsync spends the tenant's rate-limit budget deliberately instead of
//! discovering the limit by hitting it.
//!
//! Auth0 limits the Management API with token buckets (a tenant-wide one, and on top of it one
//! per endpoint class: members read, members write, invitation revocation) and describes the
//! tightest bucket that applied on every answer: `x-ratelimit-limit` (its size),
//! `x-ratelimit-remaining`, `x-ratelimit-reset` (epoch seconds of the next refill). The reset is
//! whole seconds, too coarse to pace a bucket that refills 16 or 160 times a second, so the
//! pacer keeps a model of each bucket and learns its refill rate:
//!
//! - **Tokens.** Each answer re-anchors the model: the server had `remaining` tokens after that
//!   request, and every request still in flight will take one more, so `remaining - in_flight`
//!   are free now. A request reserves a token from the model before it is sent.
//! - **Refill rate.** While the bucket is not full, `remaining + requests taken` grows only by
//!   refills (each accepted request took one token), so its slope over a window is the refill
//!   rate. Answers to concurrent requests arrive in any order, so an answer
//!   is credited only with the requests answered before it was sent (those the server surely
//!   took before it), and the window runs from the anchor's sending: the slope is then a lower
//!   bound, never an overestimate. A reading is rounded down to a whole token, so a window
//!   measures `1 - 1/n` of the rate over `n` tokens of refill: a window of at least 2 s and 40
//!   tokens (at most 20 s; a 2-a-second bucket needs the 20 s) replaces the estimate, so a
//!   shrinking budget shows; shorter ones only raise it. The model relies on `1 - 0.06 s /
//!   window` of a measurement (97% over 2 s), for the timing error.
//! - **Continuous or once a second.** Per-second limits refill continuously, but per-minute
//!   ones (the members endpoints: 40 and 500/min, 20 and 200/min) add their tokens once a
//!   second, at the announced reset; crediting those continuously would spend tokens that are
//!   not there yet. So the model credits refills between resets only once it has seen one: the
//!   counter rising between two answers that announce the same reset. Until then it spends
//!   what `remaining` shows and, when that runs out, sends one request at the announced reset
//!   to see what it brought. To see a continuous refill early, the last few tokens before a
//!   reset go one request at a time, a little apart (5, 10, 20, 40 ms), where readings are
//!   exact, and the very last one goes half-way to the reset: a 2-token bucket refilled twice
//!   a second (Auth0 Free) is drained right after each reset and shows no rise between
//!   answers milliseconds apart, but does half a second later. A bucket refilled once a second
//!   loses nothing by it (its next token comes at the reset anyway). A server that announces
//!   no reset is taken to refill continuously.
//! - **A refill spent once.** The announced reset's token is spent once: by one request sent
//!   when it has passed, or, when answers describe the other bucket, by the floor they give
//!   (a request sent after the reset was taken with its tokens there).
//! - **Waiting.** With no free token, a request waits the time the modelled refill needs, or
//!   for the announced reset. Where refills are credited but the rate is not measured yet, the
//!   model assumes a 25th of the bucket size per second, below every published per-second
//!   Auth0 limit (Enterprise: 50 and 16/s; Free: 2 and 2/s). The measurement runs on whatever
//!   orgsync sends, since refills show in `remaining`.
//!
//! **A model per bucket.** The client names each request's [`Class`] (from its method and
//! path). There is a model of the tenant-wide bucket, which every request takes a token from,
//! and one per class; a request takes its token from the tenant's model and its class's at
//! once, or from neither ([`Class::Other`] has only the tenant's). Each answer goes to the
//! model of the bucket it describes: answers to `Other` requests (organization lookups, which
//! come first) describe the tenant's bucket and confirm its size; an answer to a class's
//! request describes the tenant's bucket when it gives that size, else the class's own (before
//! the tenant's size is confirmed, the largest size a class saw is taken as the tenant's, as on
//! Enterprise the endpoint buckets are the smaller). So each model keeps learning one bucket,
//! instead of one model measuring afresh whenever the reported size changes. The other model
//! learns from the answer too: the request is answered (and took a token there as well, if
//! accepted), and since servers describe the bucket with the fewest tokens left, the other
//! bucket had at least the `remaining` reported, less every request the server may have taken
//! since (sent after it, or in flight when it was sent): a floor of its tokens, whatever order
//! answers arrive in. While answers describe a class's bucket, the tenant's model also lets one
//! request at a time through when it counts no token (the tenant's bucket had more left than
//! the class's): it never holds a class back more than the class's own model.
//!
//! **Turns.** Each class has a turn, first come first served: one request of a class waits for
//! a token at a time, and only that wait counts against its `--timeout`. Requests take the
//! token before a concurrency slot, so a long queue of DELETEs waiting for the write bucket
//! holds no slot, and never stalls the next organization's reads while the tenant's bucket has
//! room; nor do reads starve the DELETEs, which wait in their own turn for their own bucket.
//!
//! `--max-rps` adds a fixed spacing on top, so a team can keep orgsync well below the tenant's
//! limit. A 429 still answered (another client spent the budget) sets the model of the bucket
//! it describes to empty; the client then waits for `Retry-After` or the reset.
//!
//! **What is trusted.** Every number a server sends (`x-ratelimit-limit`, `-remaining`,
//! `-reset`, `Retry-After`) goes through [`ServerLimits::parse`], and only what it trusts
//! reaches the model: finite, non-negative numbers; a limit of 1 to 100,000; a remaining
//! within `0..=limit`; a reset at most a minute ahead (Auth0 adds tokens at least once a
//! minute, so one further ahead is a skewed clock: it is capped to 60 s from now); a
//! `Retry-After` at most the retry policy's longest wait. Anything else counts as not sent.
//!
//! **Every wait ends.** The model never waits on something that may not come:
//!
//! - Every rule below holds for each model; a request goes when both its models let it, and
//!   each rule, once met, stays met until a request is let through or an answer arrives.
//! - Before any answer, a model lets one request through and waits for its answer.
//! - When nothing it trusts will bring a token (no refill is credited, no reset is pending,
//!   nothing is in flight: after an answer without rate-limit headers, say), it probes: one
//!   request goes [`PROBE_INTERVAL`] (1 s) after the last answer, and its answer re-anchors
//!   the model.
//! - Whatever the model says, when nothing is in flight one request goes at most
//!   [`MAX_TOKEN_WAIT`] (60 s) after the last answer.
//! - Each single sleep is at most 100 ms, so a waiting request sees what answers teach.
//! - [`Pacer::acquire`] takes a time budget (the client passes `--timeout`): a request that
//!   gets no token within it fails with [`PacingTimeout`], which says what the tenant's last
//!   answer sent, instead of waiting on. The `--max-rps` spacing comes before it and is
//!   bounded by itself (at most the concurrency times `1/max_rps`, `--max-rps` being at least
//!   0.01); so is the wait for the class's turn (each request before it waits at most its own
//!   budget).

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The largest bucket size believed (Auth0's are 2 to 50).
const MAX_LIMIT: f64 = 100_000.0;
/// The farthest ahead a reset is believed; one further ahead is capped to this from now.
pub const MAX_RESET_AHEAD: Duration = Duration::from_secs(60);
/// With nothing trusted to bring a token, one request goes this long after the last answer.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// With nothing in flight, one request goes at most this long after the last answer, whatever
/// the model says.
pub const MAX_TOKEN_WAIT: Duration = Duration::from_secs(60);
/// The longest `--max-rps` spacing: 1/0.01 s.
const MAX_SPACING_SECS: f64 = 100.0;

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
fn describe(headers: &HeaderMap, trusted: &ServerLimits) -> String {
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

/// A request got no token within its time budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacingTimeout {
    /// How long pacing waited.
    pub waited: Duration,
    /// What the tenant's last answer said about its rate limit.
    pub last_answer: String,
}

impl std::fmt::Display for PacingTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pacing waited {:.1} s (the --timeout) for the tenant's rate limit without getting a token; {}",
            self.waited.as_secs_f64(),
            self.last_answer
        )
    }
}

/// Shortest window for a lower bound of the rate.
const LOWER_BOUND_WINDOW: Duration = Duration::from_millis(10);
/// Timing error the measured rate allows for: a window of `w` seconds relies on
/// `1 - RATE_JITTER / w` of its measurement (97% over 2 s).
const RATE_JITTER_SECS: f64 = 0.06;
/// Shortest full window: one this long replaces the estimate, so a change in the budget
/// (another client starting or stopping) shows within a couple of seconds.
const RATE_WINDOW_MAX: Duration = Duration::from_secs(2);
/// A full window also spans this many tokens of refill (at the estimated rate): a reading is
/// rounded down to a whole token, so a window of `n` tokens measures at least `1 - 1/n` of
/// the rate, and a small bucket (Free: 2 a second) needs a longer window than a large one.
const RATE_WINDOW_TOKENS: f64 = 40.0;
/// Longest full window.
const RATE_WINDOW_LONGEST: Duration = Duration::from_secs(20);
/// The refill assumed before one is measured, as a share of the bucket size per second.
const INITIAL_RATE_PER_SIZE: f64 = 1.0 / 25.0;
/// Longest single wait (seconds) before a waiting request looks at the model again.
const MAX_WAIT_SECS: f64 = 0.1;
/// The same as a duration: no single sleep of the pacer is longer.
const MAX_WAIT: Duration = Duration::from_millis(100);
/// How long to wait for answers when nothing else tells when to try again.
const POLL: Duration = Duration::from_millis(10);
/// Until refills are known to be continuous, the last tokens (at most this many, at most half
/// the bucket) go one request at a time, so that a refill shows in exact readings.
const PROBE_RESERVE: f64 = 5.0;
/// The first spacing of those single requests; it doubles for each one in the same period.
const PROBE_SPACING: Duration = Duration::from_millis(5);
/// Single requests in one announced period, at most (5 + 10 + 20 + 40 ms apart).
const PROBES_PER_PERIOD: u32 = 4;

/// Which rule of [`Bucket::admit`] lets a request have a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admit {
    /// A token the model counts (or no limit known, or a probe of last resort).
    Take,
    /// One of the single requests, a little apart, that watch for a refill.
    Probe,
    /// The last counted token of a period, spent half-way to the reset to watch for a
    /// refill.
    LateProbe,
    /// The token the announced reset added.
    SpendReset,
}

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
    /// The lowest `remaining` reported since nothing was last in flight, refilled like
    /// `tokens` since.
    round_low: Option<f64>,
    /// Whether the model saw the bucket (nearly) full since the rate anchor: refills were
    /// capped then, so the window says nothing about the rate.
    saw_full: bool,
    /// When the last answer said the next token is added (`x-ratelimit-reset`); one request
    /// may go then, whatever the model says, since that token is there for certain.
    reset: Option<SystemTime>,
    /// The last announced refill a request was let through for.
    spent_reset: Option<SystemTime>,
    /// When the model first saw `reset` passed: a request sent since was taken after that
    /// refill, so an answer to it that describes another bucket gives a floor that already
    /// counts the refill's tokens.
    reset_passed: Option<Instant>,
    /// Start of the rate window: (its request sent, the counter's upper estimate then).
    anchor: Option<(Instant, f64)>,
    /// Whether the bucket was seen to refill between announced resets.
    continuous: bool,
    /// Whether answers announce resets at all.
    announces_resets: bool,
    /// The reset the latest answers announce, and the lowest upper estimate of the counter
    /// among them.
    period: Option<(SystemTime, f64)>,
    /// Single requests sent in this period to watch for refills.
    probes: u32,
    /// Whether this period's last counted token went half-way to the reset.
    late_probed: bool,
    /// When the last answer arrived.
    last_answer: Option<Instant>,
    /// Whether the last answer described another bucket (the tighter one then).
    blind: bool,
    /// Requests let through, ever.
    taken: u64,
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
            saw_full: false,
            reset: None,
            spent_reset: None,
            reset_passed: None,
            anchor: None,
            continuous: false,
            announces_resets: false,
            period: None,
            probes: 0,
            late_probed: false,
            last_answer: None,
            blind: false,
            taken: 0,
        }
    }

    /// Starts over, as if no answer had described this bucket: its model had learned another
    /// bucket's answers (the tenant's, before the tenant's size was known). Requests in flight
    /// and answers counted stay.
    fn forget(&mut self, now: Instant) {
        *self = Bucket {
            in_flight: self.in_flight,
            answered: self.answered,
            taken: self.taken,
            last_answer: self.last_answer,
            ..Bucket::new(now)
        };
    }

    /// Learns from an answer that described another bucket (the one tighter then): the
    /// request is no longer in flight, and took a token here too if it was accepted. Servers
    /// describe the bucket with the fewest tokens left, so when the server took this request
    /// this one had at least the `remaining` the answer reported; since then, the server may
    /// have taken every request sent after it and every one in flight when it was sent (in
    /// whatever order answers arrive): what is left of the floor after those is a floor of the
    /// tokens now. `blind`: the tenant's model, which then lets one request at a time through
    /// while the class's model (the tighter bucket's) lets it (see [`Bucket::admit`]).
    fn learn_blind(
        &mut self,
        now: Instant,
        mark: Mark,
        accepted: bool,
        floor: Option<f64>,
        blind: bool,
    ) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.last_answer = Some(now);
        if accepted {
            self.answered += 1;
        }
        self.blind = blind && accepted;
        // The request went after the announced refill: the floor below counts its tokens, and
        // spending the refill as well would spend them twice.
        if accepted
            && floor.is_some()
            && self.reset_passed.is_some_and(|passed| mark.sent >= passed)
        {
            self.spent_reset = self.reset.take();
            self.reset_passed = None;
        }
        self.refill(now);
        if let (Some(limit), Some(floor), true) = (self.limit, floor, accepted) {
            let since = self.taken.saturating_sub(mark.taken) as f64;
            let before = f64::from(mark.in_flight.saturating_sub(1));
            let floor = (floor - since - before).min(limit);
            self.tokens = self.tokens.max(floor);
        }
    }

    /// Whether refills between announced resets may be credited.
    fn refills_continuously(&self) -> bool {
        self.continuous || !self.announces_resets
    }

    fn refill(&mut self, now: Instant) {
        if let (Some(rate), Some(limit), true) =
            (self.rate, self.limit, self.refills_continuously())
        {
            let dt = now.saturating_duration_since(self.at).as_secs_f64();
            self.tokens = (self.tokens + dt * rate).min(limit);
            self.round_low = self.round_low.map(|l| (l + dt * rate).min(limit));
            self.saw_full |= self.tokens + 1.0 >= limit;
        }
        self.at = now;
    }

    /// Reserves a token, or says how long to wait before asking again. `wall` is the time of
    /// day, for the announced resets.
    #[cfg(test)]
    fn try_take(&mut self, now: Instant, wall: SystemTime) -> Result<(), Duration> {
        let admit = self.admit(now, wall)?;
        self.commit(admit);
        Ok(())
    }

    /// Whether a request may have a token now, and which rule lets it (for [`Bucket::commit`]),
    /// or how long to wait before asking again. Changes nothing but the refill, so a request
    /// that must also pass another bucket's model can ask both before it takes from either.
    fn admit(&mut self, now: Instant, wall: SystemTime) -> Result<Admit, Duration> {
        self.refill(now);
        let Some(limit) = self.limit else {
            // Nothing known: the first request goes alone, and its answer says what the
            // bucket is (an answer without rate-limit headers: no pacing).
            if self.last_answer.is_none() && self.in_flight > 0 {
                return Err(POLL);
            }
            return Ok(Admit::Take);
        };
        // The last token the model counts before an announced reset, while refills between
        // resets are not known, goes half-way to the reset: a reading late in the period shows
        // a continuous refill that readings right after the reset cannot (a 2-token bucket
        // refilled 2 a second is drained at the reset and never shows a rise between
        // answers a few milliseconds apart). A bucket refilled once a second loses nothing:
        // its next token comes at the reset anyway.
        if (1.0..2.0).contains(&self.tokens)
            && !self.refills_continuously()
            && !self.late_probed
            && let (Some(reset), Some(answered)) = (self.reset, self.last_answer)
            && let Ok(until) = reset.duration_since(wall)
        {
            if self.in_flight > 0 {
                return Err(Duration::from_millis(1));
            }
            let since = now.saturating_duration_since(answered);
            let half = (since + until) / 2;
            if since < half {
                return Err((half - since).min(MAX_WAIT));
            }
            return Ok(Admit::LateProbe);
        }
        let mut probe = false;
        if self.tokens >= 1.0 && !self.refills_continuously() && self.probes < PROBES_PER_PERIOD {
            let reserve = (limit / 2.0).clamp(1.0, PROBE_RESERVE);
            if self.tokens < reserve + 1.0 {
                // One at a time, spaced: exact readings that show a refill if there is one.
                if self.in_flight > 0 {
                    return Err(Duration::from_millis(1));
                }
                let spacing = PROBE_SPACING * 2u32.pow(self.probes);
                let due = self.last_answer.map_or(now, |at| at + spacing);
                if due > now {
                    return Err(due - now);
                }
                probe = true;
            }
        }
        if self.tokens >= 1.0 {
            return Ok(if probe { Admit::Probe } else { Admit::Take });
        }
        // The tenant's model, when the last answer described a class's bucket, the tighter one
        // then: the tenant's had more left. Until an answer describes it again, one request
        // at a time may go, as the class's model lets it, and its answer raises the floor.
        if self.blind && self.in_flight == 0 {
            return Ok(Admit::Take);
        }
        // Whatever the model says, nothing waits without end: with nothing in flight, one
        // request goes at most MAX_TOKEN_WAIT after the last answer; and when nothing the
        // model trusts will bring a token (no credited refill, no pending reset), one goes
        // PROBE_INTERVAL after the last answer, and its answer re-anchors the model.
        let credited = self.refills_continuously() && self.rate.is_some_and(|r| r > 0.0);
        if self.in_flight == 0 {
            let bound = if !credited && self.reset.is_none() {
                PROBE_INTERVAL
            } else {
                MAX_TOKEN_WAIT
            };
            let due = self.last_answer.map_or(now, |at| at + bound);
            if due <= now {
                tracing::debug!(?bound, "pacer: probing with one request");
                return Ok(Admit::Take);
            }
            if bound == PROBE_INTERVAL {
                return Err((due - now).min(MAX_WAIT));
            }
        }
        let modelled = match self.rate {
            // Waits are short so that a waiting request sees what answers meanwhile teach.
            Some(rate) if rate > 0.0 => Duration::try_from_secs_f64(
                ((1.0 - self.tokens) / rate).clamp(0.001, MAX_WAIT_SECS),
            )
            .unwrap_or(POLL),
            _ => POLL,
        };
        match self.reset {
            Some(reset) => match reset.duration_since(wall) {
                Ok(until) => Err(modelled.min(until.max(Duration::from_millis(1)))),
                // The announced token has been added: one request may have it.
                Err(_) => {
                    self.reset_passed.get_or_insert(now);
                    if self.in_flight == 0 {
                        Ok(Admit::SpendReset)
                    } else {
                        Err(modelled.min(POLL))
                    }
                }
            },
            None => Err(modelled),
        }
    }

    /// Takes the token [`Bucket::admit`] granted.
    fn commit(&mut self, admit: Admit) {
        match admit {
            Admit::Take => {}
            Admit::Probe => self.probes += 1,
            Admit::LateProbe => self.late_probed = true,
            Admit::SpendReset => {
                self.spent_reset = self.reset.take();
                self.reset_passed = None;
            }
        }
        self.take();
    }

    fn take(&mut self) {
        self.tokens -= 1.0;
        self.in_flight += 1;
        self.taken += 1;
    }

    /// What [`Bucket::learn`] needs to know about a request it let through.
    fn ticket(&self, sent: Instant) -> Mark {
        Mark {
            sent,
            answered: self.answered,
            taken: self.taken,
            in_flight: self.in_flight,
        }
    }

    fn learn(
        &mut self,
        now: Instant,
        ticket: Mark,
        remaining: Option<f64>,
        limit: Option<f64>,
        reset: Option<SystemTime>,
        limited: bool,
    ) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.last_answer = Some(now);
        // Only ever later: an answer arriving late must not bring back a refill already spent.
        if let Some(r) = reset {
            let newer = |known: Option<SystemTime>| known.is_none_or(|k| r > k);
            if newer(self.reset) && newer(self.spent_reset) {
                self.reset = Some(r);
                self.reset_passed = None;
            }
        }
        let (Some(remaining), Some(limit)) = (remaining, limit) else {
            return;
        };
        self.blind = false;
        // A refused request took no token: only accepted ones count against the refills.
        if !limited {
            self.answered += 1;
        }
        let first = self.limit != Some(limit);
        if first {
            // Another bucket is binding now: measure its rate afresh.
            self.rate = Some(limit * INITIAL_RATE_PER_SIZE);
            self.anchor = None;
            self.continuous = false;
            self.period = None;
            self.probes = 0;
            self.late_probed = false;
        }
        self.limit = Some(limit);
        // The counter `remaining + requests taken`, when the server took this request: at
        // least the requests answered before it was sent (and itself, if accepted), since the
        // server took those first; at most every request sent so far, answered or in flight.
        let low = remaining + ticket.answered as f64 + if limited { 0.0 } else { 1.0 };
        let high = remaining + self.answered as f64 + f64::from(self.in_flight);
        self.measure(now, ticket.sent, low, high, remaining + 1.0 >= limit);
        // The counter cannot rise between two answers announcing the same reset unless the
        // bucket refills continuously: those announcing once-a-second tokens show no rise.
        if let Some(r) = reset {
            self.announces_resets = true;
            match self.period {
                Some((announced, lowest_high)) if announced == r => {
                    if low >= lowest_high + 1.0 && !self.continuous {
                        self.continuous = true;
                        // Refills are credited from here on, not for the time before.
                        self.at = now;
                        tracing::debug!("pacer: the bucket refills continuously");
                    }
                    self.period = Some((announced, lowest_high.min(high)));
                }
                _ => {
                    self.period = Some((r, high));
                    self.probes = 0;
                    self.late_probed = false;
                }
            }
        }
        // What the server says is free, less every request still in flight: the server may not
        // have counted them yet, in whatever order it takes them (counting one it has is only
        // cautious). Concurrent answers arrive in any order, so one showing more than the model
        // (maybe an older state of the bucket) does not raise it while others are in flight.
        // When the last one is answered, the request the server took last was answered in this
        // round, after which only refills changed the bucket: so the lowest `remaining` of the
        // round, refilled at the modelled rate since, is a floor of the bucket as it is, and
        // resets the model, so refills the rate estimate missed are not lost.
        let remaining = if limited { 0.0 } else { remaining };
        let reported = remaining - f64::from(self.in_flight);
        self.refill(now);
        let low = self.round_low.map_or(remaining, |l| l.min(remaining));
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
    /// only refills move, known here within `[low, high]` for the moment the server took this
    /// request. The server took the anchor's request somewhere between its sending and its
    /// answer, and this one before `now`, so over `now - anchor sent` the rise from the
    /// anchor's `high` to this `low`, less one token for `remaining`'s rounding down, is a true
    /// lower bound of the refill rate, whatever order answers arrive in and however late. It
    /// raises the estimate at once, even from the first burst; over a full window
    /// ([`Bucket::full_window`]) without the bucket filling up (which caps refills) it
    /// replaces the estimate, so a budget shrinking (another client) shows too, though never
    /// below the rate assumed at first.
    fn measure(&mut self, now: Instant, sent: Instant, low: f64, high: f64, full: bool) {
        let Some((sent0, c0)) = self.anchor else {
            self.anchor = Some((sent, high));
            self.saw_full = false;
            return;
        };
        let window = now.saturating_duration_since(sent0);
        let secs = window.as_secs_f64().max(1e-9);
        let safety = (1.0 - RATE_JITTER_SECS / secs).clamp(0.0, 1.0);
        let lower = (low - c0 - 1.0).max(0.0) / secs * safety;
        let raise = |rate: Option<f64>| Some(rate.map_or(lower, |r: f64| r.max(lower)));
        if full || self.saw_full {
            if window >= LOWER_BOUND_WINDOW {
                self.rate = raise(self.rate);
            }
            self.anchor = Some((sent, high));
            self.saw_full = false;
        } else if window >= self.full_window() {
            // A full window replaces the estimate (a shrinking budget shows), and starts the
            // next one; shorter ones only raise it, since their rounding costs more.
            let floor = self.limit.map_or(0.0, |l| l * INITIAL_RATE_PER_SIZE);
            self.rate = Some(lower.max(floor));
            self.anchor = Some((sent, high));
            self.saw_full = false;
        } else if window >= LOWER_BOUND_WINDOW {
            self.rate = raise(self.rate);
        }
    }

    /// How long a window replaces the rate estimate: [`RATE_WINDOW_MAX`], or longer for a
    /// slow refill, so that it spans [`RATE_WINDOW_TOKENS`] tokens (at most
    /// [`RATE_WINDOW_LONGEST`]).
    fn full_window(&self) -> Duration {
        let tokens_secs = self
            .rate
            .filter(|r| *r > 0.0)
            .map_or(0.0, |r| RATE_WINDOW_TOKENS / r);
        Duration::try_from_secs_f64(tokens_secs)
            .unwrap_or(RATE_WINDOW_LONGEST)
            .clamp(RATE_WINDOW_MAX, RATE_WINDOW_LONGEST)
    }
}

/// What one bucket's model knew when it let a request through: when, and how many answers
/// had arrived by then.
#[derive(Debug, Clone, Copy)]
struct Mark {
    sent: Instant,
    answered: u64,
    /// Requests the model had let through, this one included.
    taken: u64,
    /// Requests in flight, this one included.
    in_flight: u32,
}

/// A request the pacer let through: its class, and what the models it passed knew then.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    class: Class,
    tenant: Mark,
    /// The class's own model's mark (`None` for [`Class::Other`]).
    own: Option<Mark>,
    /// How long the request waited for its token, from its turn.
    waited: Duration,
}

impl Ticket {
    /// How long the request waited for its token, from its turn (the part of its
    /// `--timeout` that pacing took).
    pub fn waited(&self) -> Duration {
        self.waited
    }
}

/// The endpoint classes Auth0 gives a bucket of their own, on top of the tenant-wide one:
/// the client names each request's class (see [`Class::of`]), and the pacer keeps a model per
/// class besides the tenant's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `GET /organizations/{id}/members`.
    MembersRead,
    /// `POST`/`DELETE /organizations/{id}/members`.
    MembersWrite,
    /// `DELETE /organizations/{id}/invitations/{invitation_id}`.
    Invitations,
    /// Everything else: only the tenant-wide bucket is modelled.
    Other,
}

impl Class {
    /// The class of a Management API request, from its method and its path (the query, if
    /// any, is not looked at).
    pub fn of(method: &reqwest::Method, path_and_query: &str) -> Class {
        let path = path_and_query
            .split_once('?')
            .map_or(path_and_query, |(p, _)| p);
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            // `organizations/name/{name}` is an organization by name, never a list.
            ["api", "v2", "organizations", org, "members"] if !org.is_empty() && *org != "name" => {
                if *method == reqwest::Method::GET {
                    Class::MembersRead
                } else {
                    Class::MembersWrite
                }
            }
            ["api", "v2", "organizations", org, "invitations", id]
                if !org.is_empty() && !id.is_empty() && *method == reqwest::Method::DELETE =>
            {
                Class::Invitations
            }
            _ => Class::Other,
        }
    }

    /// The index of the class's own model; `None` for [`Class::Other`].
    fn index(self) -> Option<usize> {
        match self {
            Class::MembersRead => Some(0),
            Class::MembersWrite => Some(1),
            Class::Invitations => Some(2),
            Class::Other => None,
        }
    }
}

/// Classes with a model of their own.
const CLASSES: usize = 3;

#[derive(Debug)]
struct State {
    /// The tenant-wide bucket: every request takes a token from it.
    tenant: Bucket,
    /// Each class's own bucket, by [`Class::index`].
    classes: [Bucket; CLASSES],
    /// Whether an answer to a [`Class::Other`] request (which only the tenant's bucket
    /// limits) gave the tenant's size.
    tenant_confirmed: bool,
    /// Earliest start of the next request under `--max-rps`.
    next_slot: Instant,
    /// What the last answer's rate-limit headers said, for [`PacingTimeout`].
    last_answer: String,
}

/// Paces requests to the rate limits the tenant reports.
#[derive(Debug)]
pub struct Pacer {
    state: Mutex<State>,
    interval: Option<Duration>,
    /// Each class's turn, first come first served (tokio's semaphore is fair): one request
    /// of a class waits for a token at a time, and its `--timeout` runs from its turn, so a
    /// long queue of one class neither starves a request nor holds up another class.
    turns: [tokio::sync::Semaphore; CLASSES + 1],
}

impl Pacer {
    /// `max_rps` (`--max-rps`) spaces requests `1/max_rps` apart, at most 100 s; a value that
    /// is not a positive number means no spacing.
    pub fn new(max_rps: Option<f64>) -> Pacer {
        let now = Instant::now();
        Pacer {
            state: Mutex::new(State {
                tenant: Bucket::new(now),
                classes: std::array::from_fn(|_| Bucket::new(now)),
                tenant_confirmed: false,
                next_slot: now,
                last_answer: "no answer has come yet".into(),
            }),
            interval: max_rps
                .filter(|r| r.is_finite() && *r > 0.0)
                .and_then(|r| Duration::try_from_secs_f64((1.0 / r).min(MAX_SPACING_SECS)).ok()),
            turns: std::array::from_fn(|_| tokio::sync::Semaphore::new(1)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a request of `class` may be sent, and reserves its token in the tenant's
    /// model and in its class's; the ticket goes back to [`Pacer::observe`] with the answer.
    /// After the `--max-rps` spacing and the class's earlier requests (first come, first
    /// served; each of them waits at most its own `budget`), waiting for a token takes at most
    /// `budget`: then it fails with [`PacingTimeout`]. `instant` skips the waits (tests).
    pub async fn acquire(
        &self,
        class: Class,
        instant: bool,
        budget: Duration,
    ) -> Result<Ticket, PacingTimeout> {
        let spacing = {
            let mut s = self.lock();
            match self.interval {
                Some(iv) => {
                    let now = Instant::now();
                    let slot = s.next_slot.max(now);
                    s.next_slot = slot.checked_add(iv).unwrap_or(slot);
                    slot - now
                }
                None => Duration::ZERO,
            }
        };
        if !instant && !spacing.is_zero() {
            tokio::time::sleep(spacing).await;
        }
        // The semaphore is never closed; were it, the request would go without its turn.
        let turn = class.index().unwrap_or(CLASSES);
        let _turn = self.turns[turn].acquire().await.ok();
        let started = Instant::now();
        let deadline = started.checked_add(budget);
        loop {
            let wait = {
                let mut s = self.lock();
                let now = Instant::now();
                match s.try_take(class, now, SystemTime::now(), instant) {
                    Ok(ticket) => {
                        return Ok(Ticket {
                            waited: now.saturating_duration_since(started),
                            ..ticket
                        });
                    }
                    Err(wait) => {
                        let left = deadline.map(|d| d.saturating_duration_since(now));
                        if left.is_some_and(|l| l.is_zero()) {
                            return Err(PacingTimeout {
                                waited: now.saturating_duration_since(started),
                                last_answer: format!("the last answer sent {}", s.last_answer),
                            });
                        }
                        wait.min(MAX_WAIT).min(left.unwrap_or(MAX_WAIT))
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Learns from an answer's `x-ratelimit-*` headers; `limited` for a 429. Call once for
    /// every request `acquire` let through (also when no answer came: `headers` empty).
    pub fn observe(&self, ticket: Ticket, headers: &HeaderMap, limited: bool) {
        let trusted = ServerLimits::parse(headers, SystemTime::now(), Duration::ZERO);
        let mut s = self.lock();
        s.last_answer = describe(headers, &trusted);
        s.learn(ticket, &trusted, limited, Instant::now());
    }
}

impl State {
    /// A token from the tenant's model and the class's, taken from both or from neither; or
    /// how long to wait before asking again (the longer of the two models' waits). `instant`
    /// takes them whatever the models say.
    fn try_take(
        &mut self,
        class: Class,
        now: Instant,
        wall: SystemTime,
        instant: bool,
    ) -> Result<Ticket, Duration> {
        let State {
            tenant, classes, ..
        } = self;
        let mut own = class.index().map(|i| &mut classes[i]);
        let own_admit = own.as_deref_mut().map(|b| b.admit(now, wall));
        let tenant_admit = tenant.admit(now, wall);
        let wait = [own_admit, Some(tenant_admit)]
            .into_iter()
            .flatten()
            .filter_map(Result::err)
            .max();
        if let (Some(wait), false) = (wait, instant) {
            return Err(wait);
        }
        tenant.commit(tenant_admit.unwrap_or(Admit::Take));
        let tenant_mark = tenant.ticket(now);
        let own = own.map(|b| {
            b.commit(own_admit.and_then(Result::ok).unwrap_or(Admit::Take));
            b.ticket(now)
        });
        Ok(Ticket {
            class,
            tenant: tenant_mark,
            own,
            waited: Duration::ZERO,
        })
    }

    /// Feeds an answer to the model of the bucket it describes, and tells the other model
    /// what it can learn from it. Answers to [`Class::Other`] describe the tenant's bucket
    /// and confirm its size; an answer to a class's request describes the tenant's bucket
    /// when it gives that size, else the class's own. Until an answer to another request
    /// confirmed the tenant's size, the largest size a class's answers gave is taken as the
    /// tenant's (Auth0's endpoint buckets are smaller than the tenant's on the plans that
    /// have them, Enterprise; orgsync's first requests, which look the organizations up,
    /// confirm it early).
    fn learn(&mut self, ticket: Ticket, trusted: &ServerLimits, limited: bool, now: Instant) {
        let ServerLimits {
            limit,
            remaining,
            reset,
            ..
        } = *trusted;
        let State {
            tenant,
            classes,
            tenant_confirmed,
            ..
        } = self;
        let (Some(i), Some(own_mark)) = (ticket.class.index(), ticket.own) else {
            tenant.learn(now, ticket.tenant, remaining, limit, reset, limited);
            *tenant_confirmed |= limit.is_some();
            return;
        };
        let own = &mut classes[i];
        let accepted = !limited && limit.is_some() && remaining.is_some();
        let tenants = match (limit, tenant.limit) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(l), Some(t)) if *tenant_confirmed => l == t,
            (Some(l), Some(t)) => l >= t,
        };
        if tenants {
            if own.limit == limit {
                // It had learned the tenant's answers, before the tenant's size was known.
                own.forget(now);
            }
            tenant.learn(now, ticket.tenant, remaining, limit, reset, limited);
            own.learn_blind(now, own_mark, accepted, remaining, false);
        } else {
            own.learn(now, own_mark, remaining, limit, reset, limited);
            tenant.learn_blind(now, ticket.tenant, accepted, remaining, true);
        }
    }
}

#[cfg(test)]
mod tests;
