//! The model of one token bucket: its tokens, its refill rate and how it refills, learned
//! from answers; whether a request may have a token now, or how long to wait (see the
//! pacer's doc for the rules).

use std::time::{Duration, Instant, SystemTime};

/// With nothing trusted to bring a token, one request goes this long after the last answer.
pub(super) const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// With nothing in flight, one request goes at most this long after the last answer, whatever
/// the model says.
pub(super) const MAX_TOKEN_WAIT: Duration = Duration::from_secs(60);

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
pub(super) const MAX_WAIT: Duration = Duration::from_millis(100);
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
pub(super) enum Admit {
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
pub(super) struct Bucket {
    /// Bucket size, once an answer said it.
    pub(super) limit: Option<f64>,
    /// Free tokens at `at`.
    pub(super) tokens: f64,
    pub(super) at: Instant,
    /// Refill per second, once measured.
    pub(super) rate: Option<f64>,
    pub(super) in_flight: u32,
    /// Answers to requests the bucket accepted (each took one token).
    pub(super) answered: u64,
    /// The lowest `remaining` reported since nothing was last in flight, refilled like
    /// `tokens` since.
    round_low: Option<f64>,
    /// Whether the model saw the bucket (nearly) full since the rate anchor: refills were
    /// capped then, so the window says nothing about the rate.
    saw_full: bool,
    /// When the last answer said the next token is added (`x-ratelimit-reset`); one request
    /// may go then, whatever the model says, since that token is there for certain.
    pub(super) reset: Option<SystemTime>,
    /// The last announced refill a request was let through for.
    spent_reset: Option<SystemTime>,
    /// When the model first saw `reset` passed: a request sent since was taken after that
    /// refill, so an answer to it that describes another bucket gives a floor that already
    /// counts the refill's tokens.
    reset_passed: Option<Instant>,
    /// Start of the rate window: (its request sent, the counter's upper estimate then).
    pub(super) anchor: Option<(Instant, f64)>,
    /// Whether the bucket was seen to refill between announced resets.
    pub(super) continuous: bool,
    /// Whether answers announce resets at all.
    announces_resets: bool,
    /// The reset the latest answers announce, and the lowest upper estimate of the counter
    /// among them.
    period: Option<(SystemTime, f64)>,
    /// Single requests sent in this period to watch for refills.
    pub(super) probes: u32,
    /// Whether this period's last counted token went half-way to the reset.
    late_probed: bool,
    /// When the last answer arrived.
    pub(super) last_answer: Option<Instant>,
    /// Whether the last answer described another bucket (the tighter one then).
    blind: bool,
    /// Requests let through, ever.
    pub(super) taken: u64,
}

impl Bucket {
    pub(super) fn new(now: Instant) -> Bucket {
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
    pub(super) fn forget(&mut self, now: Instant) {
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
    pub(super) fn learn_blind(
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

    pub(super) fn refill(&mut self, now: Instant) {
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
    pub(super) fn try_take(&mut self, now: Instant, wall: SystemTime) -> Result<(), Duration> {
        let admit = self.admit(now, wall)?;
        self.commit(admit);
        Ok(())
    }

    /// Whether a request may have a token now, and which rule lets it (for [`Bucket::commit`]),
    /// or how long to wait before asking again. Changes nothing but the refill, so a request
    /// that must also pass another bucket's model can ask both before it takes from either.
    pub(super) fn admit(&mut self, now: Instant, wall: SystemTime) -> Result<Admit, Duration> {
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
    pub(super) fn commit(&mut self, admit: Admit) {
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

    pub(super) fn take(&mut self) {
        self.tokens -= 1.0;
        self.in_flight += 1;
        self.taken += 1;
    }

    /// What [`Bucket::learn`] needs to know about a request it let through.
    pub(super) fn ticket(&self, sent: Instant) -> Mark {
        Mark {
            sent,
            answered: self.answered,
            taken: self.taken,
            in_flight: self.in_flight,
        }
    }

    pub(super) fn learn(
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
pub(super) struct Mark {
    pub(super) sent: Instant,
    pub(super) answered: u64,
    /// Requests the model had let through, this one included.
    pub(super) taken: u64,
    /// Requests in flight, this one included.
    pub(super) in_flight: u32,
}
