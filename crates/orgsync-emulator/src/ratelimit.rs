//! Token buckets as Auth0 applies them: a tenant-wide Management API bucket checked first,
//! then the endpoint's own bucket (members read, members write, invitation revocation), each
//! plan's sizes as Auth0 publishes them ([`Tier`]).
//!
//! Per-second buckets refill continuously at `refill_per_sec`; per-minute buckets refill once a
//! second, at each whole second of the wall clock, with a sixtieth of their per-minute rate (as
//! Auth0 documents its own). A request takes one token from every bucket that applies, or
//! from none when any is empty. The answer's `x-ratelimit-*` headers describe the most
//! constrained bucket that applied (the one that refused, on a 429).

use std::time::{Duration, Instant, SystemTime};

use crate::{epoch_secs, wall_now};

/// Size and refill rate of one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketConfig {
    /// Tokens the bucket holds when full (the burst).
    pub size: u32,
    /// Tokens added per second.
    pub refill_per_sec: f64,
    /// Whether the tokens are added all at once at each whole second (a per-minute limit)
    /// rather than continuously.
    pub every_second: bool,
}

/// Which buckets are configured. `None` means unlimited; `RateLimits::default()` has none (a
/// test that sets one bucket gets only that one); [`RateLimits::enterprise`] is what
/// [`crate::Options::default`] uses.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateLimits {
    pub global: Option<BucketConfig>,
    pub members_read: Option<BucketConfig>,
    pub members_write: Option<BucketConfig>,
    /// `DELETE /organizations/{id}/invitations/{invitation_id}`.
    pub invitations: Option<BucketConfig>,
}

/// An Auth0 plan, for its published Management API limits (`--tier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Free,
    Essentials,
    Professional,
    Enterprise,
}

impl Tier {
    /// `free`, `essentials`, `professional` or `enterprise`.
    pub fn parse(s: &str) -> Option<Tier> {
        match s {
            "free" => Some(Tier::Free),
            "essentials" => Some(Tier::Essentials),
            "professional" => Some(Tier::Professional),
            "enterprise" => Some(Tier::Enterprise),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Essentials => "essentials",
            Tier::Professional => "professional",
            Tier::Enterprise => "enterprise",
        }
    }

    /// Every bucket as Auth0 publishes it for this plan (see [`RateLimits::tier`]).
    pub fn limits(self) -> RateLimits {
        RateLimits::tier(self)
    }
}

const fn per_second(size: u32, rate: f64) -> Option<BucketConfig> {
    Some(BucketConfig {
        size,
        refill_per_sec: rate,
        every_second: false,
    })
}

const fn per_minute(size: u32, per_min: f64) -> Option<BucketConfig> {
    Some(BucketConfig {
        size,
        refill_per_sec: per_min / 60.0,
        every_second: true,
    })
}

impl RateLimits {
    /// A production tenant on an Enterprise plan, as Auth0 documents it: the tenant-wide
    /// Management API bucket, burst 50 at 16 requests per second; reading organization
    /// members, burst 40 at 500 per minute; adding or removing them, burst 20 at 200 per minute;
    /// revoking invitations, burst 20 at 200 per minute.
    pub fn enterprise() -> RateLimits {
        RateLimits::tier(Tier::Enterprise)
    }

    /// What Auth0 publishes for each plan (its Management API rate-limit tables):
    ///
    /// - Free: the tenant-wide bucket only, burst 2 at 2 per second.
    /// - Essentials and Professional: tenant-wide burst 10 at 150 per minute (an older page
    ///   says 16 per second sustained for self-service plans; the newer table is used); members
    ///   read burst 40 at 500 per minute (a second row with the same label says 20 at 200 per
    ///   minute; 40/500 is used); members write 20 at 200 per minute; invitations 20 at 200 per
    ///   minute (published for Enterprise only, assumed the same).
    /// - Enterprise (production): tenant-wide burst 50 at 16 per second; members read 40 at
    ///   500 per minute; members write 20 at 200 per minute; invitations 20 at 200 per minute.
    pub fn tier(tier: Tier) -> RateLimits {
        match tier {
            Tier::Free => RateLimits {
                global: per_second(2, 2.0),
                ..RateLimits::default()
            },
            Tier::Essentials | Tier::Professional => RateLimits {
                global: per_minute(10, 150.0),
                members_read: per_minute(40, 500.0),
                members_write: per_minute(20, 200.0),
                invitations: per_minute(20, 200.0),
            },
            Tier::Enterprise => RateLimits {
                global: per_second(50, 16.0),
                members_read: per_minute(40, 500.0),
                members_write: per_minute(20, 200.0),
                invitations: per_minute(20, 200.0),
            },
        }
    }
}

/// The buckets an endpoint draws from besides the tenant-wide one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    MembersRead,
    MembersWrite,
    /// Revoking an invitation.
    Invitations,
    Other,
}

#[derive(Debug)]
struct Bucket {
    cfg: BucketConfig,
    tokens: f64,
    last: Instant,
    /// The whole second (UNIX epoch) of the last refill, for a bucket refilled every second.
    last_tick: u64,
}

impl Bucket {
    fn new(cfg: BucketConfig, now: Instant, wall: SystemTime) -> Self {
        Bucket {
            cfg,
            tokens: cfg.size as f64,
            last: now,
            last_tick: epoch_secs(wall),
        }
    }

    fn refill(&mut self, now: Instant, wall: SystemTime) {
        let added = if self.cfg.every_second {
            let tick = epoch_secs(wall);
            let ticks = tick.saturating_sub(self.last_tick);
            self.last_tick = self.last_tick.max(tick);
            ticks as f64 * self.cfg.refill_per_sec
        } else {
            now.saturating_duration_since(self.last).as_secs_f64() * self.cfg.refill_per_sec
        };
        self.tokens = (self.tokens + added).min(self.cfg.size as f64);
        self.last = now;
    }

    fn headers(&self, wall: SystemTime) -> RateHeaders {
        // Seconds until the next whole token; the reset is when it lands, rounded up.
        let missing = (self.tokens.floor() + 1.0 - self.tokens).max(0.0);
        let wait = if self.tokens >= self.cfg.size as f64 || self.cfg.refill_per_sec <= 0.0 {
            0.0
        } else if self.cfg.every_second {
            // The tick that brings the next whole token.
            let ticks = (missing / self.cfg.refill_per_sec).ceil().max(1.0);
            let next = SystemTime::UNIX_EPOCH + Duration::from_secs(self.last_tick);
            (next + Duration::from_secs_f64(ticks))
                .duration_since(wall)
                .map_or(0.0, |d| d.as_secs_f64())
        } else {
            missing / self.cfg.refill_per_sec
        };
        let reset = wall + Duration::from_secs_f64(wait);
        let reset_secs = reset
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
            .unwrap_or(0);
        RateHeaders {
            limit: self.cfg.size,
            remaining: self.tokens.floor().max(0.0) as u32,
            reset: reset_secs,
        }
    }
}

/// Values for `x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateHeaders {
    pub limit: u32,
    pub remaining: u32,
    /// UNIX epoch seconds when the next token is added.
    pub reset: u64,
}

/// Outcome of asking for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead; headers describe the tightest bucket (None when no bucket applies).
    Allowed(Option<RateHeaders>),
    /// 429; `global` tells whether the tenant-wide bucket refused.
    Limited { headers: RateHeaders, global: bool },
}

/// All buckets of one emulator.
#[derive(Debug)]
pub struct Limiter {
    global: Option<Bucket>,
    members_read: Option<Bucket>,
    members_write: Option<Bucket>,
    invitations: Option<Bucket>,
    /// Off: the headers are still sent, describing full buckets, and nothing is refused.
    enforce: bool,
}

impl Limiter {
    pub fn new(cfg: RateLimits) -> Self {
        Limiter::new_at(cfg, Instant::now(), wall_now())
    }

    /// [`Limiter::new`] at a given moment (simulations in virtual time, such as the pacer's tests).
    pub fn new_at(cfg: RateLimits, now: Instant, wall: SystemTime) -> Self {
        Limiter {
            global: cfg.global.map(|c| Bucket::new(c, now, wall)),
            members_read: cfg.members_read.map(|c| Bucket::new(c, now, wall)),
            members_write: cfg.members_write.map(|c| Bucket::new(c, now, wall)),
            invitations: cfg.invitations.map(|c| Bucket::new(c, now, wall)),
            enforce: true,
        }
    }

    /// Announces the limits without enforcing them (no token is taken, nothing refused).
    pub fn announce_only(mut self) -> Self {
        self.enforce = false;
        self
    }

    /// The headers of the tightest bucket that applies to `endpoint`, taking no token.
    pub fn peek(
        &mut self,
        endpoint: Endpoint,
        now: Instant,
        wall: SystemTime,
    ) -> Option<RateHeaders> {
        let enforce = std::mem::replace(&mut self.enforce, false);
        let d = self.check(endpoint, now, wall);
        self.enforce = enforce;
        match d {
            Decision::Allowed(h) => h,
            Decision::Limited { headers, .. } => Some(headers),
        }
    }

    /// Takes a token for one request to `endpoint`, or says why not.
    pub fn check(&mut self, endpoint: Endpoint, now: Instant, wall: SystemTime) -> Decision {
        let Limiter {
            global,
            members_read,
            members_write,
            invitations,
            enforce,
        } = self;
        let specific = match endpoint {
            Endpoint::MembersRead => members_read.as_mut(),
            Endpoint::MembersWrite => members_write.as_mut(),
            Endpoint::Invitations => invitations.as_mut(),
            Endpoint::Other => None,
        };
        let mut buckets: Vec<(&mut Bucket, bool)> = Vec::with_capacity(2);
        if let Some(g) = global.as_mut() {
            buckets.push((g, true));
        }
        if let Some(s) = specific {
            buckets.push((s, false));
        }
        for (b, _) in buckets.iter_mut() {
            b.refill(now, wall);
        }
        if !*enforce {
            return Decision::Allowed(
                buckets
                    .iter()
                    .map(|(b, _)| b.headers(wall))
                    .min_by_key(|h| h.remaining),
            );
        }
        if let Some((b, is_global)) = buckets.iter().find(|(b, _)| b.tokens < 1.0) {
            return Decision::Limited {
                headers: b.headers(wall),
                global: *is_global,
            };
        }
        for (b, _) in buckets.iter_mut() {
            b.tokens -= 1.0;
        }
        let tightest = buckets
            .iter()
            .map(|(b, _)| b.headers(wall))
            .min_by_key(|h| h.remaining);
        Decision::Allowed(tightest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let mut l = Limiter::new(RateLimits {
            global: Some(BucketConfig {
                size: 3,
                refill_per_sec: 2.0,
                every_second: false,
            }),
            ..RateLimits::default()
        });
        let t0 = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        for expected in [2, 1, 0] {
            match l.check(Endpoint::Other, t0, wall) {
                Decision::Allowed(Some(h)) => {
                    assert_eq!(h.remaining, expected);
                    assert_eq!(h.limit, 3);
                }
                d => panic!("unexpected {d:?}"),
            }
        }
        match l.check(Endpoint::Other, t0, wall) {
            Decision::Limited { headers, global } => {
                assert!(global);
                assert_eq!(headers.remaining, 0);
                // One token takes 0.5 s at 2/s: the reset rounds up to the next second.
                assert_eq!(headers.reset, 1_001);
            }
            d => panic!("unexpected {d:?}"),
        }
        // Half a second later one token is back.
        let t1 = t0 + Duration::from_millis(500);
        assert!(matches!(
            l.check(Endpoint::Other, t1, wall),
            Decision::Allowed(_)
        ));
        assert!(matches!(
            l.check(Endpoint::Other, t1, wall),
            Decision::Limited { .. }
        ));
    }

    #[test]
    fn a_per_minute_bucket_refills_at_each_whole_second() {
        // 120 a minute: 2 tokens at each whole second.
        let cfg = BucketConfig {
            size: 4,
            refill_per_sec: 2.0,
            every_second: true,
        };
        let t0 = Instant::now();
        let second = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let at = |ms: u64| {
            (
                t0 + Duration::from_millis(ms),
                second + Duration::from_millis(ms),
            )
        };
        let (now, wall) = at(100);
        let mut l = Limiter::new_at(
            RateLimits {
                global: Some(cfg),
                ..RateLimits::default()
            },
            now,
            wall,
        );
        let mut check = |ms| {
            let (now, wall) = at(ms);
            match l.check(Endpoint::Other, now, wall) {
                Decision::Allowed(Some(h)) => Ok((h.remaining, h.reset)),
                Decision::Limited { headers, .. } => Err((headers.remaining, headers.reset)),
                d => panic!("unexpected {d:?}"),
            }
        };
        for expected in [3, 2, 1] {
            assert_eq!(check(200), Ok((expected, 1_001)));
        }
        assert_eq!(check(300), Ok((0, 1_001)));
        // Nothing comes back before the next whole second, however long the wait.
        assert_eq!(check(999), Err((0, 1_001)));
        assert_eq!(check(1_000), Ok((1, 1_002)));
        assert_eq!(check(1_500), Ok((0, 1_002)));
        assert_eq!(check(1_900), Err((0, 1_002)));
        // Two ticks later: 4 tokens added, as many as the bucket holds.
        assert_eq!(check(3_950), Ok((3, 1_004)));
    }

    #[test]
    fn endpoint_bucket_refuses_without_spending_global() {
        let mut l = Limiter::new(RateLimits {
            global: Some(BucketConfig {
                size: 10,
                refill_per_sec: 0.0,
                every_second: false,
            }),
            members_write: Some(BucketConfig {
                size: 1,
                refill_per_sec: 0.0,
                every_second: false,
            }),
            ..RateLimits::default()
        });
        let now = Instant::now();
        let wall = SystemTime::now();
        assert!(
            matches!(l.check(Endpoint::MembersWrite, now, wall), Decision::Allowed(Some(h)) if h.remaining == 0)
        );
        assert!(matches!(
            l.check(Endpoint::MembersWrite, now, wall),
            Decision::Limited { global: false, .. }
        ));
        // The refused request took nothing from the global bucket: 9 left, then 8 after this one.
        assert!(
            matches!(l.check(Endpoint::Other, now, wall), Decision::Allowed(Some(h)) if h.remaining == 8)
        );
    }

    #[test]
    fn each_tier_has_the_published_buckets() {
        let free = RateLimits::tier(Tier::Free);
        assert_eq!(
            free.global.map(|g| (g.size, g.refill_per_sec)),
            Some((2, 2.0))
        );
        assert_eq!(
            (free.members_read, free.members_write, free.invitations),
            (None, None, None)
        );
        for t in [Tier::Essentials, Tier::Professional] {
            let l = RateLimits::tier(t);
            assert_eq!(l.global.map(|g| (g.size, g.every_second)), Some((10, true)));
            assert_eq!(l.global.map(|g| g.refill_per_sec * 60.0), Some(150.0));
        }
        let e = RateLimits::enterprise();
        assert_eq!(e, RateLimits::tier(Tier::Enterprise));
        assert_eq!(
            e.global.map(|g| (g.size, g.refill_per_sec)),
            Some((50, 16.0))
        );
        for (b, size, per_min) in [
            (e.members_read, 40, 500.0),
            (e.members_write, 20, 200.0),
            (e.invitations, 20, 200.0),
        ] {
            let b = b.unwrap();
            assert_eq!((b.size, b.every_second), (size, true));
            assert!((b.refill_per_sec * 60.0 - per_min).abs() < 1e-9);
        }
        for t in [
            Tier::Free,
            Tier::Essentials,
            Tier::Professional,
            Tier::Enterprise,
        ] {
            assert_eq!(Tier::parse(t.name()), Some(t));
        }
        assert_eq!(Tier::parse("gold"), None);
    }

    #[test]
    fn revoking_invitations_draws_from_its_own_bucket() {
        let mut l = Limiter::new(RateLimits {
            global: Some(BucketConfig {
                size: 10,
                refill_per_sec: 0.0,
                every_second: false,
            }),
            invitations: Some(BucketConfig {
                size: 2,
                refill_per_sec: 0.0,
                every_second: false,
            }),
            ..RateLimits::default()
        });
        let (now, wall) = (Instant::now(), SystemTime::now());
        for remaining in [1, 0] {
            assert!(matches!(
                l.check(Endpoint::Invitations, now, wall),
                Decision::Allowed(Some(h)) if h.remaining == remaining && h.limit == 2
            ));
        }
        assert!(matches!(
            l.check(Endpoint::Invitations, now, wall),
            Decision::Limited { global: false, headers } if headers.limit == 2
        ));
        // Member removals do not draw from it: the tenant-wide bucket has 8 left, then 7.
        assert!(matches!(
            l.check(Endpoint::MembersWrite, now, wall),
            Decision::Allowed(Some(h)) if h.remaining == 7 && h.limit == 10
        ));
    }

    #[test]
    fn unlimited_when_unconfigured() {
        let mut l = Limiter::new(RateLimits::default());
        for _ in 0..1000 {
            assert_eq!(
                l.check(Endpoint::MembersRead, Instant::now(), SystemTime::now()),
                Decision::Allowed(None)
            );
        }
    }
}
