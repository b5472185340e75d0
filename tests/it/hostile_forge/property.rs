//! A property test over random hostile comment lists (the forge side of
//! `hostile_auth0::property`): random pull requests (reviewers' comments, impostors carrying
//! orgsync's marker, orgsync's own stale parts, duplicated by earlier races, other configs'
//! plans, large bodies) listed honestly, shuffled, shifted once, shifted always, miscounted,
//! oversized or over the answer cap. Every case keeps the promises: no comment by another
//! author is edited or deleted; no comment is written twice; a run that succeeds leaves exactly
//! one plan comment of orgsync's for the config and domain; a run that fails wrote nothing and
//! says why; the token is never printed; every run ends in bounded time.
//!
//! `ORGSYNC_FORGE_PROPERTY_CASES` (default 24) and `ORGSYNC_PROPERTY_SEED` replay a run.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;
use crate::support::forge::Comment;

/// xorshift64*: small, seeded, good enough for test scripts.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// How the forge lists the comments in one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    Honest,
    /// Each page's comments in a random order.
    Shuffled,
    /// The first reading repeats a comment (on the next page, or on the same one): read again.
    ShiftedOnce,
    /// Every reading repeats a comment: the read fails.
    ShiftedAlways,
    /// GitLab's `x-total` is off on the first reading only.
    MiscountedOnce,
    /// GitLab's `x-total` is always off.
    MiscountedAlways,
    /// A page holds more than 100 comments.
    Oversized,
    /// A page is over the 8 MiB answer cap.
    OverCap,
}

const LISTINGS: [Listing; 8] = [
    Listing::Honest,
    Listing::Shuffled,
    Listing::ShiftedOnce,
    Listing::ShiftedAlways,
    Listing::MiscountedOnce,
    Listing::MiscountedAlways,
    Listing::Oversized,
    Listing::OverCap,
];

impl Listing {
    /// Whether a run against it must succeed (else it must fail, unacted).
    fn succeeds(self) -> bool {
        matches!(
            self,
            Listing::Honest | Listing::Shuffled | Listing::ShiftedOnce | Listing::MiscountedOnce
        )
    }
}

/// The hook that lists the comments as `listing` says.
fn hook(listing: Listing, seed: u64) -> Arc<crate::support::forge::PageHook> {
    let readings = Arc::new(AtomicUsize::new(0));
    let previous_last = Arc::new(Mutex::new(None::<serde_json::Value>));
    Arc::new(move |page, mut items, mut headers| {
        if page == 1 {
            readings.fetch_add(1, Ordering::Relaxed);
        }
        let first_reading = readings.load(Ordering::Relaxed) == 1;
        let mut rng =
            Rng::new(seed ^ page as u64 ^ (readings.load(Ordering::Relaxed) as u64) << 32);
        let last = items.last().cloned();
        match listing {
            Listing::Honest => {}
            Listing::Shuffled => {
                for i in (1..items.len()).rev() {
                    let j = rng.below(i as u64 + 1) as usize;
                    items.swap(i, j);
                }
            }
            Listing::ShiftedOnce | Listing::ShiftedAlways
                if first_reading || listing == Listing::ShiftedAlways =>
            {
                let repeat = if page == 1 {
                    // Within the page (a one-page list has no next page to shift onto).
                    items.first().cloned()
                } else {
                    previous_last.lock().unwrap().clone()
                };
                if let Some(r) = repeat {
                    if items.len() < 100 {
                        let at = rng.below(items.len() as u64 + 1) as usize;
                        items.insert(at, r);
                    } else if let Some(end) = items.last_mut() {
                        // A full page: its last comment gives way to the repeated one.
                        *end = r;
                    }
                }
            }
            Listing::MiscountedOnce | Listing::MiscountedAlways
                if first_reading || listing == Listing::MiscountedAlways =>
            {
                for (k, v) in headers.iter_mut() {
                    if k == "x-total" {
                        *v = (v.parse::<u64>().unwrap_or(0) + 1).to_string();
                    }
                }
            }
            Listing::Oversized => {
                let base = 900_000 + page as u64 * 1000;
                while items.len() <= 100 {
                    let id = base + items.len() as u64;
                    items.push(serde_json::json!({"id": id, "body": "filler", "system": false}));
                }
            }
            Listing::OverCap => {
                items.push(serde_json::json!({"id": 999_999, "body": "y".repeat(9 << 20)}));
            }
            _ => {}
        }
        *previous_last.lock().unwrap() = last;
        Answer::Http(
            200,
            headers,
            serde_json::Value::from(items).to_string().into_bytes(),
        )
    })
}

#[derive(Default)]
struct Figures {
    cases: usize,
    succeeded: usize,
    failed: usize,
    longest: Duration,
}

fn check_case(seed: u64, dir: &TempDir, marker: &str, figures: &mut Figures) {
    let mut rng = Rng::new(seed);
    let forge = if rng.below(2) == 0 {
        Forge::github()
    } else {
        Forge::gitlab()
    };
    let mut listing = LISTINGS[rng.below(LISTINGS.len() as u64) as usize];
    if forge.kind == Kind::GitHub
        && matches!(listing, Listing::MiscountedOnce | Listing::MiscountedAlways)
    {
        // GitHub sends no count.
        listing = Listing::Shuffled;
    }
    let mut n = rng.below(260) as usize;
    if matches!(listing, Listing::ShiftedOnce | Listing::ShiftedAlways) {
        // A shift needs a comment to repeat.
        n = n.max(1);
    }
    let other_config = marker.replace("config=orgsync.yaml", "config=staging.yaml");
    for i in 0..n {
        let stale = format!("{marker}\nstale plan {i}");
        match rng.below(20) {
            0 => forge.seed_as(OTHER, &stale),
            1 => forge.seed_as((3, "mallory"), &format!("{marker}\nimpostor {i}")),
            2 => forge.seed_ours(&stale),
            3 => forge.seed_ours(&format!("{other_config}\nanother config {i}")),
            4 => forge.seed_as(OTHER, &"w".repeat(rng.below(60_000) as usize)),
            _ => forge.seed(&format!("comment {i}")),
        };
    }
    forge.on_page(hook(listing, seed));
    let before = forge.all();
    let me = forge.me();
    let foreign: Vec<&Comment> = before.iter().filter(|c| c.author != me).collect();
    let foreign_ids: HashSet<u64> = foreign.iter().map(|c| c.id).collect();

    let run = plan(&forge, dir, &["--timeout", "10"]);
    let what = format!("seed {seed}: {:?}, {listing:?}, {n} comments", forge.kind);
    figures.cases += 1;
    figures.longest = figures.longest.max(run.took);
    assert!(run.took < Duration::from_secs(20), "{what}: {:?}", run.took);
    assert!(!run.all().contains(TOKEN), "{what}: {}", run.show());
    run.assert_no_panic();

    let after = forge.all();
    // No comment by another author edited or deleted.
    for c in &foreign {
        assert!(
            after.contains(c),
            "{what}: {} by {:?} was touched",
            c.id,
            c.author
        );
    }
    // No comment written twice, none of another author's written at all.
    let mut written = HashSet::new();
    for r in forge
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" || r.method == "PUT" || r.method == "DELETE")
    {
        let id: u64 = r.path.rsplit('/').next().unwrap().parse().unwrap();
        assert!(
            !foreign_ids.contains(&id),
            "{what}: {} {}",
            r.method,
            r.path
        );
        assert!(written.insert(id), "{what}: {id} written twice");
    }
    if listing.succeeds() {
        assert_eq!(run.code, Some(0), "{what}: {}", run.show());
        let ours: Vec<&Comment> = after
            .iter()
            .filter(|c| c.author == me && c.body.starts_with(marker))
            .collect();
        assert_eq!(ours.len(), 1, "{what}: exactly one plan comment: {ours:#?}");
        assert!(ours[0].body.contains("### orgsync plan"), "{what}");
        figures.succeeded += 1;
    } else {
        assert_eq!(run.code, Some(1), "{what}: {}", run.show());
        assert!(run.stderr().contains("error: "), "{what}: {}", run.show());
        assert_eq!(after, before, "{what}: nothing acted on");
        figures.failed += 1;
    }
}

#[test]
fn property_random_hostile_comment_lists_keep_every_promise() {
    let cases = crate::support::property_cases("ORGSYNC_FORGE_PROPERTY_CASES", 24);
    let seed = crate::support::property_seed();
    eprintln!("forge property: {cases} cases from seed {seed}");
    let dir = config_dir("forge-property");
    // The marker of this config and domain, from a run on a scratch pull request.
    let body = super::our_body(&Forge::github(), &dir);
    let marker = body.lines().next().unwrap();
    let mut figures = Figures::default();
    for i in 0..cases as u64 {
        check_case(seed + i, &dir, marker, &mut figures);
    }
    let (posted, refused) = (figures.succeeded, figures.failed);
    let (cases, longest) = (figures.cases, figures.longest.as_secs_f64());
    eprintln!(
        "forge property: {cases} cases, {posted} posted, {refused} refused unacted, longest run {longest:.2} s"
    );
}
