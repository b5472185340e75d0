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
//!   request goes [`PROBE_INTERVAL`](bucket::PROBE_INTERVAL) (1 s) after the last answer,
//!   and its answer re-anchors the model.
//! - Whatever the model says, when nothing is in flight one request goes at most
//!   [`MAX_TOKEN_WAIT`](bucket::MAX_TOKEN_WAIT) (60 s) after the last answer.
//! - Each single sleep is at most 100 ms, so a waiting request sees what answers teach.
//! - [`Pacer::acquire`] takes a time budget (the client passes `--timeout`): a request that
//!   gets no token within it fails with [`PacingTimeout`], which says what the tenant's last
//!   answer sent, instead of waiting on. The `--max-rps` spacing comes before it and is
//!   bounded by itself (at most the concurrency times `1/max_rps`, `--max-rps` being at least
//!   0.01); so is the wait for the class's turn (each request before it waits at most its own
//!   budget).
//!
//! **Files.** [`bucket`] is the model of one bucket (the rules above), [`limits`] reads the
//! headers ([`ServerLimits`]), and this file keeps the tenant's model and its classes'
//! ([`Pacer`], [`Class`], the [`Ticket`] a request carries to its answer).

mod bucket;
mod limits;

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::HeaderMap;

use bucket::{Admit, Bucket, MAX_WAIT, Mark};
pub use limits::ServerLimits;
use limits::describe;

/// The longest `--max-rps` spacing: 1/0.01 s.
const MAX_SPACING_SECS: f64 = 100.0;

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
