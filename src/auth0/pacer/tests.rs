//! The pacer's tests: the header parser, and simulations of the bucket model against the
//! emulator's limiter in virtual time (rate learning, out-of-order answers, once-a-second
//! refills, hostile headers, budgets).

use super::limits::MAX_RESET_AHEAD;
use super::*;
use orgsync_emulator::ratelimit::{
    BucketConfig, Decision, Endpoint, Limiter, RateHeaders, RateLimits,
};

/// The emulator's tenant-wide bucket, as the simulated server, from `wall`.
fn server(cfg: BucketConfig, now: Instant, wall: SystemTime) -> Limiter {
    let limits = RateLimits {
        global: Some(cfg),
        ..RateLimits::default()
    };
    Limiter::new_at(limits, now, wall)
}

/// The server takes a request: its headers, and whether it was accepted.
fn take(server: &mut Limiter, now: Instant, wall: SystemTime) -> (RateHeaders, bool) {
    match server.check(Endpoint::Other, now, wall) {
        Decision::Allowed(Some(headers)) => (headers, true),
        Decision::Limited { headers, .. } => (headers, false),
        Decision::Allowed(None) => unreachable!("a bucket is configured"),
    }
}

#[test]
fn the_model_learns_the_refill_rate_and_never_overspends() {
    let t0 = Instant::now();
    let wall = SystemTime::UNIX_EPOCH;
    let cfg = BucketConfig {
        size: 50,
        refill_per_sec: 160.0,
        every_second: false,
    };
    let mut server = server(cfg, t0, wall);
    let mut model = Bucket::new(t0);
    let mut now = t0;
    let mut accepted = 0;
    let mut refused = 0;
    // Sequential requests with 5 ms latency for 5 simulated seconds; answers without a reset.
    while now < t0 + Duration::from_secs(5) {
        match model.try_take(now, wall) {
            Err(wait) => now += wait,
            Ok(()) => {
                // The server takes the request at once and answers 5 ms later.
                let (headers, ok) = take(&mut server, now, wall);
                if ok {
                    accepted += 1;
                } else {
                    refused += 1;
                }
                let ticket = model.ticket(now);
                now += Duration::from_millis(5);
                model.learn(
                    now,
                    ticket,
                    Some(f64::from(headers.remaining)),
                    Some(f64::from(headers.limit)),
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

/// The server of [`simulate`]: the emulator's bucket, and whether answers carry
/// `x-ratelimit-reset`.
#[derive(Clone, Copy)]
struct SimServer {
    bucket: BucketConfig,
    resets: bool,
}

struct Outcome {
    accepted: u32,
    /// Accepted in the last 2 of the 5 simulated seconds.
    accepted_late: u32,
    refused: u32,
    max_learned: f64,
    continuous: bool,
}

/// Eight workers send requests through the model for 5 simulated seconds; the server takes
/// each 0-3 ms after it is sent and answers 0-15 ms later (seeded), so answers often arrive
/// after answers to requests the server took later. Time starts at a whole second.
fn simulate(seed: u64, server: SimServer) -> Outcome {
    simulate_for(seed, server, Duration::from_secs(5))
}

/// [`simulate`] for `length` of simulated time; "late" is then its last 40%.
fn simulate_for(seed: u64, server: SimServer, length: Duration) -> Outcome {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Event {
        /// A worker asks the model for a token.
        Ready,
        /// The server takes a request.
        Process(u64),
        /// Its answer arrives: remaining, refused, reset (epoch seconds).
        Answer(u64, u32, bool, u64),
    }
    let mut rng = seed;
    let mut random_ms = |max: u64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Duration::from_millis((rng >> 33) % (max + 1))
    };
    let t0 = Instant::now();
    let wall = |at: Duration| SystemTime::UNIX_EPOCH + Duration::from_secs(1_000) + at;
    let mut limiter = self::server(server.bucket, t0, wall(Duration::ZERO));
    let mut model = Bucket::new(t0);
    let mut tickets = std::collections::HashMap::new();
    let mut events = BinaryHeap::new();
    let mut seq = 0u64;
    for _ in 0..8 {
        events.push(Reverse((Duration::ZERO, seq, Event::Ready)));
        seq += 1;
    }
    let mut out = Outcome {
        accepted: 0,
        accepted_late: 0,
        refused: 0,
        max_learned: 0.0,
        continuous: false,
    };
    while let Some(Reverse((at, _, event))) = events.pop() {
        if at > length {
            break;
        }
        let now = t0 + at;
        seq += 1;
        match event {
            Event::Ready => match model.try_take(now, wall(at)) {
                Err(wait) => events.push(Reverse((at + wait, seq, Event::Ready))),
                Ok(()) => {
                    tickets.insert(seq, model.ticket(now));
                    events.push(Reverse((at + random_ms(3), seq, Event::Process(seq))));
                }
            },
            Event::Process(id) => {
                let (headers, ok) = take(&mut limiter, now, wall(at));
                if ok {
                    out.accepted += 1;
                    if at >= length * 3 / 5 {
                        out.accepted_late += 1;
                    }
                } else {
                    out.refused += 1;
                }
                let answer = Event::Answer(id, headers.remaining, !ok, headers.reset);
                events.push(Reverse((at + random_ms(15), seq, answer)));
            }
            Event::Answer(id, remaining, limited, reset) => {
                let ticket = tickets.remove(&id).unwrap();
                let reset = server
                    .resets
                    .then(|| SystemTime::UNIX_EPOCH + Duration::from_secs(reset));
                model.learn(
                    now,
                    ticket,
                    Some(f64::from(remaining)),
                    Some(f64::from(server.bucket.size)),
                    reset,
                    limited,
                );
                out.max_learned = out.max_learned.max(model.rate.unwrap());
                events.push(Reverse((at, seq, Event::Ready)));
            }
        }
    }
    out.continuous = model.continuous;
    out
}

/// CI once saw the rate overestimated 3.5 times when answers arrived out of order.
#[test]
fn answers_out_of_order_never_overestimate_the_rate() {
    for resets in [true, false] {
        for seed in 1..=20u64 {
            let server = SimServer {
                bucket: BucketConfig {
                    size: 10,
                    refill_per_sec: 50.0,
                    every_second: false,
                },
                resets,
            };
            let out = simulate(seed, server);
            let max = out.max_learned;
            assert!(max <= 50.0, "seed {seed}: learned {max}/s");
            assert_eq!(out.refused, 0, "seed {seed}: no request was refused");
            assert!(out.accepted > 100, "seed {seed}: accepted {}", out.accepted);
            // Once learned, the pace is within 80% of the refill: 100 in the last 2 s.
            let late = out.accepted_late;
            assert!(late >= 80, "seed {seed}: {late} in the last 2 s");
            if resets {
                assert!(
                    out.continuous,
                    "seed {seed}: the continuous refill was seen"
                );
            }
        }
    }
}

/// Auth0's Free tenant bucket: 2 tokens, refilled 2 a second. Drained at each announced
/// reset, it showed no refill between answers a few ms apart, so the pacer waited for every
/// whole-second reset and reached about 1.6 of the 2 a second (the bench's Free rows at 1.2x).
#[test]
fn a_two_token_bucket_refilled_twice_a_second_is_paced_at_its_rate() {
    for seed in 1..=20u64 {
        let server = SimServer {
            bucket: BucketConfig {
                size: 2,
                refill_per_sec: 2.0,
                every_second: false,
            },
            resets: true,
        };
        let out = simulate_for(seed, server, Duration::from_secs(20));
        assert_eq!(out.refused, 0, "seed {seed}: no request was refused");
        assert!(
            out.continuous,
            "seed {seed}: the continuous refill was seen"
        );
        // 16 tokens come in the last 8 s: at least 15 of them are spent.
        let late = out.accepted_late;
        assert!(late >= 15, "seed {seed}: {late} in the last 8 s");
    }
}

/// Auth0's per-minute limits add their tokens once a second: crediting them continuously
/// would spend tokens that are not there yet.
#[test]
fn a_bucket_refilled_once_a_second_is_never_overspent() {
    for seed in 1..=20u64 {
        // Members read: 40, 500 a minute.
        let server = SimServer {
            bucket: BucketConfig {
                size: 40,
                refill_per_sec: 500.0 / 60.0,
                every_second: true,
            },
            resets: true,
        };
        let out = simulate(seed, server);
        assert_eq!(out.refused, 0, "seed {seed}: no request was refused");
        assert!(!out.continuous, "seed {seed}");
        // Two refills of 8.3 in the last 2 s: 80% of them at least.
        let late = out.accepted_late;
        assert!(late >= 13, "seed {seed}: {late} in the last 2 s");
    }
}

#[test]
fn without_headers_there_is_no_pacing() {
    let now = Instant::now();
    let mut b = Bucket::new(now);
    for _ in 0..1000 {
        b.try_take(now, SystemTime::UNIX_EPOCH).unwrap();
        let ticket = b.ticket(now);
        b.learn(now, ticket, None, None, None, false);
    }
}

#[test]
fn a_429_empties_the_model_until_the_assumed_refill() {
    let now = Instant::now();
    let mut b = Bucket::new(now);
    b.try_take(now, SystemTime::UNIX_EPOCH).unwrap();
    let ticket = b.ticket(now);
    b.learn(now, ticket, Some(0.0), Some(10.0), None, true);
    // 10/25 = 0.4 tokens a second assumed: the next token in 2.5 s, looked at again every
    // 100 ms meanwhile.
    let wall = SystemTime::UNIX_EPOCH;
    assert_eq!(b.try_take(now, wall), Err(Duration::from_millis(100)));
    assert!(b.try_take(now + Duration::from_millis(2400), wall).is_err());
    assert!(b.try_take(now + Duration::from_millis(2500), wall).is_ok());
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    h
}

const MAX_RETRY: Duration = Duration::from_secs(30);

#[test]
fn the_parser_trusts_only_sane_numbers() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let parse = |pairs: &[(&str, &str)]| ServerLimits::parse(&headers(pairs), now, MAX_RETRY);
    for bad in [
        "NaN", "nan", "inf", "-inf", "infinity", "1e30", "-1", "abc", "", "0x10",
    ] {
        let l = parse(&[
            ("x-ratelimit-limit", bad),
            ("x-ratelimit-remaining", "0"),
            ("retry-after", bad),
        ]);
        assert_eq!((l.limit, l.remaining), (None, None), "{bad}");
        if bad == "1e30" {
            assert_eq!(l.retry_after, Some(MAX_RETRY));
        } else {
            assert_eq!(l.retry_after, None, "{bad}");
        }
        if bad != "1e30" && bad != "inf" && bad != "infinity" {
            assert_eq!(parse(&[("x-ratelimit-reset", bad)]).reset, None, "{bad}");
        }
    }
    // A limit of 0 is no bucket at all; remaining above the limit is not believed.
    assert_eq!(parse(&[("x-ratelimit-limit", "0")]).limit, None);
    let l = parse(&[("x-ratelimit-limit", "10"), ("x-ratelimit-remaining", "11")]);
    assert_eq!((l.limit, l.remaining), (Some(10.0), None));
    let l = parse(&[("x-ratelimit-limit", "10"), ("x-ratelimit-remaining", "0")]);
    assert_eq!((l.limit, l.remaining), (Some(10.0), Some(0.0)));
    // Remaining without a limit says nothing.
    assert_eq!(parse(&[("x-ratelimit-remaining", "3")]).remaining, None);
    // Resets: far ahead (2100, 10 minutes, 1e30, inf) capped to a minute from now.
    for far in ["4102444800", "1000600", "1e30", "inf"] {
        let l = parse(&[("x-ratelimit-reset", far)]);
        if far == "inf" {
            // Not a finite number: not trusted at all.
            assert_eq!(l.reset, None);
            continue;
        }
        assert_eq!(l.reset, Some(now + MAX_RESET_AHEAD), "{far}");
        assert!(l.reset_capped);
    }
    assert_eq!(
        parse(&[("x-ratelimit-reset", "1000003")]).reset,
        Some(now + Duration::from_secs(3))
    );
    // 0 is a reset long past: believed (it means "now").
    assert_eq!(
        parse(&[("x-ratelimit-reset", "0")]).reset,
        Some(SystemTime::UNIX_EPOCH)
    );
    // Retry-After is capped at the policy's longest wait.
    assert_eq!(
        parse(&[("retry-after", "1e12")]).retry_after,
        Some(MAX_RETRY)
    );
    assert_eq!(
        parse(&[("retry-after", "2.5")]).retry_after,
        Some(Duration::from_millis(2500))
    );
    assert_eq!(
        parse(&[("retry-after", "0")]).retry_after,
        Some(Duration::ZERO)
    );
}

/// Asks the model for a token until it gives one, moving simulated time by each wait;
/// how long that took, or None past `bound`.
fn time_to_token(
    b: &mut Bucket,
    now: &mut Instant,
    wall: &mut SystemTime,
    bound: Duration,
) -> Option<Duration> {
    let start = *now;
    loop {
        match b.try_take(*now, *wall) {
            Ok(()) => return Some(*now - start),
            Err(wait) => {
                assert!(wait <= MAX_WAIT, "a single wait of {wait:?}");
                assert!(!wait.is_zero(), "a wait of zero would spin");
                *now += wait;
                *wall += wait;
                if *now - start > bound {
                    return None;
                }
            }
        }
    }
}

/// Feeds an answer with these headers into the model, as `Pacer::observe` does.
fn answer(b: &mut Bucket, ticket: Mark, now: Instant, wall: SystemTime, h: &HeaderMap) {
    let l = ServerLimits::parse(h, wall, Duration::ZERO);
    b.learn(now, ticket, l.remaining, l.limit, l.reset, false);
}

#[test]
fn hostile_headers_never_stall_the_model() {
    let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ahead = |secs: u64| (1_700_000_000 + secs).to_string();
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "limit 0",
            vec![
                ("x-ratelimit-limit", "0".into()),
                ("x-ratelimit-remaining", "0".into()),
            ],
        ),
        (
            "reset in 2100",
            vec![
                ("x-ratelimit-limit", "10".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", "4102444800".into()),
            ],
        ),
        (
            "reset 10 minutes ahead",
            vec![
                ("x-ratelimit-limit", "10".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", ahead(600)),
            ],
        ),
        (
            "reset 1e30",
            vec![
                ("x-ratelimit-limit", "10".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", "1e30".into()),
            ],
        ),
        (
            "reset inf",
            vec![
                ("x-ratelimit-limit", "10".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", "inf".into()),
            ],
        ),
    ];
    for (name, pairs) in cases {
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let h = headers(&pairs);
        let mut now = Instant::now();
        let mut wall = wall0;
        let mut b = Bucket::new(now);
        // Ten requests in a row, each answered with these headers 10 ms later.
        for i in 0..10 {
            let took = time_to_token(&mut b, &mut now, &mut wall, Duration::from_secs(61));
            assert!(
                took.is_some(),
                "{name}: request {i} got no token within 61 s"
            );
            let ticket = b.ticket(now);
            now += Duration::from_millis(10);
            wall += Duration::from_millis(10);
            answer(&mut b, ticket, now, wall, &h);
        }
    }
}

/// The emulator with `--rate-limit 4/1` and one 500 on a DELETE: after an answer without
/// rate-limit headers, with resets announced before (so refills are not credited) and the
/// announced one spent, the model once waited forever.
#[test]
fn an_answer_without_headers_after_resets_does_not_stall_the_model() {
    for (size, rate) in [(4, 1.0), (5, 2.0), (6, 3.0)] {
        let t0 = Instant::now();
        let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let cfg = BucketConfig {
            size,
            refill_per_sec: rate,
            every_second: false,
        };
        let mut limiter = server(cfg, t0, wall0);
        let mut model = Bucket::new(t0);
        let (mut now, mut wall) = (t0, wall0);
        let (mut accepted, mut refused) = (0, 0);
        for i in 0..40 {
            let took = time_to_token(&mut model, &mut now, &mut wall, Duration::from_secs(10));
            assert!(
                took.is_some(),
                "{size}/{rate}: request {i} got no token within 10 s"
            );
            let ticket = model.ticket(now);
            now += Duration::from_millis(5);
            wall += Duration::from_millis(5);
            if i == size as usize + 2 {
                // The injected 500: no rate-limit headers.
                model.learn(now, ticket, None, None, None, false);
                continue;
            }
            let (h, ok) = take(&mut limiter, now, wall);
            if ok {
                accepted += 1;
            } else {
                refused += 1;
            }
            model.learn(
                now,
                ticket,
                Some(f64::from(h.remaining)),
                Some(f64::from(h.limit)),
                Some(SystemTime::UNIX_EPOCH + Duration::from_secs(h.reset)),
                !ok,
            );
        }
        assert_eq!(accepted, 39, "{size}/{rate}");
        // The probe after the headerless answer may find the bucket empty; at most that.
        assert!(refused <= 1, "{size}/{rate}: {refused} refused");
    }
}

#[tokio::test]
async fn acquire_fails_after_its_budget_instead_of_waiting_on() {
    let pacer = Pacer::new(None);
    let first = pacer
        .acquire(Class::Other, false, Duration::from_secs(1))
        .await
        .unwrap();
    let reset = (SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600)
        .to_string();
    let h = headers(&[
        ("x-ratelimit-limit", "10"),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", &reset),
    ]);
    pacer.observe(first, &h, false);
    let started = Instant::now();
    let err = pacer
        .acquire(Class::Other, false, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let text = err.to_string();
    assert!(text.contains("pacing waited"), "{text}");
    assert!(text.contains("x-ratelimit-remaining \"0\""), "{text}");
    assert!(text.contains("capped"), "{text}");
    // An untrusted limit is named as such.
    let h = headers(&[("x-ratelimit-limit", "0"), ("x-ratelimit-remaining", "0")]);
    let p = Pacer::new(None);
    let t = p
        .acquire(Class::Other, false, Duration::from_secs(1))
        .await
        .unwrap();
    p.observe(t, &h, false);
    assert!(p.lock().last_answer.contains("not trusted"));
    // Nothing bounds a limit of 0: the next request goes at once.
    p.acquire(Class::Other, false, Duration::from_millis(300))
        .await
        .unwrap();
}

#[test]
fn max_rps_never_reaches_a_panicking_constructor() {
    for r in [
        1e-300,
        1e-9,
        f64::MIN_POSITIVE,
        f64::NAN,
        f64::INFINITY,
        -1.0,
        0.0,
        1e300,
    ] {
        let p = Pacer::new(Some(r));
        assert!(
            p.interval.is_none_or(|iv| iv <= Duration::from_secs(100)),
            "{r}"
        );
    }
    assert_eq!(
        Pacer::new(Some(4.0)).interval,
        Some(Duration::from_millis(250))
    );
}

#[test]
fn requests_are_classed_by_endpoint() {
    use reqwest::Method;
    let c = |m: Method, p: &str| Class::of(&m, p);
    let members = "/api/v2/organizations/org_1/members";
    assert_eq!(c(Method::GET, members), Class::MembersRead);
    assert_eq!(
        c(Method::GET, &format!("{members}?from=abc&take=100")),
        Class::MembersRead
    );
    assert_eq!(c(Method::DELETE, members), Class::MembersWrite);
    assert_eq!(c(Method::POST, members), Class::MembersWrite);
    let inv = "/api/v2/organizations/org_1/invitations/uinv_1";
    assert_eq!(c(Method::DELETE, inv), Class::Invitations);
    assert_eq!(c(Method::GET, inv), Class::Other);
    for other in [
        "/api/v2/organizations",
        "/api/v2/organizations/org_1",
        "/api/v2/organizations/name/members",
        "/api/v2/organizations/org_1/invitations",
        "/api/v2/organizations/org_1/members/auth0%7C1/roles",
        "/api/v2/organizations//members",
        "/api/v2/users-by-email?email=a%2Fmembers",
    ] {
        assert_eq!(c(Method::GET, other), Class::Other, "{other}");
        assert_eq!(c(Method::DELETE, other), Class::Other, "{other}");
    }
}

/// What [`simulate_classes`] saw, per class in the order given.
struct ClassOutcome {
    accepted: Vec<u32>,
    refused: u32,
}

/// Groups of workers (class, workers, the most requests the group sends), each sending
/// requests of its class through the pacer's state for `secs` simulated seconds against the
/// emulator's limiter with `limits`; the server takes each request 0-3 ms after it is sent and
/// answers 0-15 ms later (seeded). Time starts 300 ms into a second; the first group's first
/// request is sent first.
fn simulate_classes(
    seed: u64,
    limits: RateLimits,
    workers: &[(Class, usize, u32)],
    secs: u64,
) -> ClassOutcome {
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, HashMap};

    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Event {
        Ready(usize),
        Process(u64, usize),
        Answer(u64, usize, u32, u32, bool, u64),
    }
    let endpoint = |c: Class| match c {
        Class::MembersRead => Endpoint::MembersRead,
        Class::MembersWrite => Endpoint::MembersWrite,
        Class::Invitations => Endpoint::Invitations,
        Class::Other => Endpoint::Other,
    };
    let mut rng = seed;
    let mut random_ms = |max: u64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Duration::from_millis((rng >> 33) % (max + 1))
    };
    let t0 = Instant::now();
    let wall = |at: Duration| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000) + Duration::from_millis(300) + at
    };
    let mut limiter = Limiter::new_at(limits, t0, wall(Duration::ZERO));
    let pacer = Pacer::new(None);
    let mut state = pacer.lock();
    let mut tickets = HashMap::new();
    let mut events = BinaryHeap::new();
    let mut seq = 0u64;
    let mut sent = vec![0u32; workers.len()];
    for (k, (_, n, _)) in workers.iter().enumerate() {
        for _ in 0..*n {
            events.push(Reverse((Duration::ZERO, seq, Event::Ready(k))));
            seq += 1;
        }
    }
    let mut out = ClassOutcome {
        accepted: vec![0; workers.len()],
        refused: 0,
    };
    while let Some(Reverse((at, _, event))) = events.pop() {
        if at > Duration::from_secs(secs) {
            break;
        }
        let now = t0 + at;
        seq += 1;
        match event {
            Event::Ready(k) if sent[k] >= workers[k].2 => {}
            Event::Ready(k) => match state.try_take(workers[k].0, now, wall(at), false) {
                Err(wait) => {
                    assert!(!wait.is_zero() && wait <= MAX_WAIT, "a wait of {wait:?}");
                    events.push(Reverse((at + wait, seq, Event::Ready(k))))
                }
                Ok(ticket) => {
                    sent[k] += 1;
                    tickets.insert(seq, ticket);
                    events.push(Reverse((at + random_ms(3), seq, Event::Process(seq, k))));
                }
            },
            Event::Process(id, k) => {
                let (h, ok) = match limiter.check(endpoint(workers[k].0), now, wall(at)) {
                    Decision::Allowed(Some(h)) => (h, true),
                    Decision::Limited { headers, .. } => (headers, false),
                    Decision::Allowed(None) => unreachable!("a bucket is configured"),
                };
                if ok {
                    out.accepted[k] += 1;
                } else {
                    out.refused += 1;
                }
                let answer = Event::Answer(id, k, h.limit, h.remaining, !ok, h.reset);
                events.push(Reverse((at + random_ms(15), seq, answer)));
            }
            Event::Answer(id, k, limit, remaining, limited, reset) => {
                let ticket = tickets.remove(&id).unwrap();
                let trusted = ServerLimits {
                    limit: Some(f64::from(limit)),
                    remaining: Some(f64::from(remaining)),
                    reset: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(reset)),
                    ..ServerLimits::default()
                };
                state.learn(ticket, &trusted, limited, now);
                events.push(Reverse((at, seq, Event::Ready(k))));
            }
        }
    }
    out
}

/// The observation: reads and deletes of different organizations interleave, and each
/// answer describes a different bucket. With a model per bucket, no request is refused, and
/// each class spends its own bucket at its own pace: the deletes do not slow the reads, nor
/// the reads the deletes, nor a few lookups either.
#[test]
fn each_class_is_paced_by_its_own_bucket_under_the_enterprise_limits() {
    let secs = 10;
    for seed in 1..=10u64 {
        let out = simulate_classes(
            seed,
            RateLimits::tier(orgsync_emulator::Tier::Enterprise),
            &[
                (Class::Other, 1, 20),
                (Class::MembersRead, 4, u32::MAX),
                (Class::MembersWrite, 4, u32::MAX),
            ],
            secs,
        );
        assert_eq!(out.refused, 0, "seed {seed}: no request was refused");
        // Each bucket's burst and its refills over 9 whole seconds at least (of 10).
        let least = |burst: f64, per_min: f64| (burst + per_min / 60.0 * 9.0) as u32;
        let [other, read, write] = out.accepted[..] else {
            unreachable!()
        };
        assert_eq!(other, 20, "seed {seed}");
        assert!(read >= least(40.0, 500.0), "seed {seed}: {read} reads");
        assert!(write >= least(20.0, 200.0), "seed {seed}: {write} writes");
    }
}

/// Reads, deletes and revocations at once need more than the tenant-wide bucket gives (50,
/// 16/s): it binds, without a refusal, and every class gets a share.
#[test]
fn the_tenant_bucket_limits_all_classes_together() {
    let secs = 10;
    for seed in 1..=10u64 {
        let out = simulate_classes(
            seed,
            RateLimits::tier(orgsync_emulator::Tier::Enterprise),
            &[
                (Class::Other, 1, 5),
                (Class::MembersRead, 4, u32::MAX),
                (Class::MembersWrite, 4, u32::MAX),
                (Class::Invitations, 2, u32::MAX),
            ],
            secs,
        );
        assert_eq!(out.refused, 0, "seed {seed}: no request was refused");
        let total: u32 = out.accepted.iter().sum();
        let possible = 50.0 + 16.0 * secs as f64;
        assert!(
            f64::from(total) >= possible * 0.9,
            "seed {seed}: {total} of {possible}"
        );
        // At least the burst of each class's own bucket.
        let [_, read, write, inv] = out.accepted[..] else {
            unreachable!()
        };
        assert!(
            read >= 40 && write >= 20 && inv >= 20,
            "seed {seed}: {:?}",
            out.accepted
        );
    }
}

/// On the free tier only the tenant-wide bucket applies, and on Essentials it is the tightest
/// (10, 150/min): every class's answers describe it, and the classes share it without a
/// refusal.
#[test]
fn classes_share_the_tenant_bucket_when_it_binds() {
    for tier in [
        orgsync_emulator::Tier::Free,
        orgsync_emulator::Tier::Essentials,
    ] {
        for seed in 1..=10u64 {
            let limits = RateLimits::tier(tier);
            let out = simulate_classes(
                seed,
                limits,
                &[
                    (Class::Other, 1, 3),
                    (Class::MembersRead, 3, u32::MAX),
                    (Class::MembersWrite, 3, u32::MAX),
                ],
                10,
            );
            assert_eq!(
                out.refused, 0,
                "{tier:?} seed {seed}: no request was refused"
            );
            let total: u32 = out.accepted.iter().sum();
            let g = limits.global.unwrap();
            // Free: 2 + 2/s x 10 s; Essentials: 10 + 2.5 at each of 10 whole seconds.
            let possible = f64::from(g.size) + g.refill_per_sec * 10.0;
            // The first second or so goes to learning the rate (one model did as well).
            assert!(
                f64::from(total) >= possible * 0.75,
                "{tier:?} seed {seed}: {total} of {possible} possible"
            );
            assert!(
                out.accepted.iter().all(|a| *a > 0),
                "{tier:?} seed {seed}: every class got requests through: {:?}",
                out.accepted
            );
        }
    }
}

/// A request whose class's bucket is empty waits (here until its budget runs out), while a
/// request of another class, with the tenant's bucket full, goes at once; and a request
/// queued behind the waiting one gets its own budget from its turn.
#[tokio::test]
async fn a_class_waiting_for_its_bucket_does_not_hold_up_another() {
    let pacer = std::sync::Arc::new(Pacer::new(None));
    let epoch = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let later = (epoch + 30).to_string();
    // The tenant's size, from a lookup: 50, 49 left.
    let t = pacer
        .acquire(Class::Other, false, Duration::from_secs(1))
        .await
        .unwrap();
    let h = headers(&[
        ("x-ratelimit-limit", "50"),
        ("x-ratelimit-remaining", "49"),
        ("x-ratelimit-reset", &later),
    ]);
    pacer.observe(t, &h, false);
    // The write bucket: empty, the next token in 30 s.
    let t = pacer
        .acquire(Class::MembersWrite, false, Duration::from_secs(1))
        .await
        .unwrap();
    let h = headers(&[
        ("x-ratelimit-limit", "20"),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", &later),
    ]);
    pacer.observe(t, &h, false);
    let write = |budget| {
        let p = pacer.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let r = p.acquire(Class::MembersWrite, false, budget).await;
            (r.is_err(), started.elapsed())
        })
    };
    let first = write(Duration::from_millis(400));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = write(Duration::from_millis(300));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    let read = pacer
        .acquire(Class::MembersRead, false, Duration::from_secs(1))
        .await;
    assert!(read.is_ok());
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "the read waited {:?}",
        started.elapsed()
    );
    let (failed, waited) = first.await.unwrap();
    assert!(failed && waited >= Duration::from_millis(400), "{waited:?}");
    // Behind the first: its 300 ms ran from its turn, after the first's 400 ms.
    let (failed, waited) = second.await.unwrap();
    assert!(failed && waited >= Duration::from_millis(650), "{waited:?}");
}
