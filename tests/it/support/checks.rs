//! Small checks and fixtures the CLI tests share, so that a test reads as what it checks:
//! `assert_has(body, "…")` for a property of a text, `example_dir(tag)` for a temp dir holding
//! the example config.

use super::{TempDir, example_config, unindent};

/// Asserts that `text` holds `part`; else fails showing both.
#[track_caller]
pub fn assert_has(text: &str, part: impl AsRef<str>) {
    let part = part.as_ref();
    assert!(text.contains(part), "lacks {part:?}:\n{text}");
}

/// Asserts that `text` does not hold `part`; else fails showing both.
#[track_caller]
pub fn assert_lacks(text: &str, part: impl AsRef<str>) {
    let part = part.as_ref();
    assert!(!text.contains(part), "holds {part:?}:\n{text}");
}

/// The example config's text (examples/orgsync.yaml).
pub fn example_text() -> String {
    let path = example_config();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A temp dir (tagged `tag`) holding the example config as `orgsync.yaml`.
pub fn example_dir(tag: &str) -> TempDir {
    dir_with_config(tag, &example_text())
}

/// A temp dir (tagged `tag`) holding `yaml`, unindented, as `orgsync.yaml`.
pub fn dir_with_config(tag: &str, yaml: &str) -> TempDir {
    let dir = TempDir::new(tag);
    dir.write("orgsync.yaml", &unindent(yaml));
    dir
}

/// A property test's number of cases: `var` when it is set to a number, else `default`.
pub fn property_cases(var: &str, default: usize) -> usize {
    let set = std::env::var(var).ok().and_then(|v| v.parse().ok());
    set.unwrap_or(default)
}

/// A property test's first seed: `ORGSYNC_PROPERTY_SEED` when it is set to a number, else one
/// from the clock (the test prints it, so that a failure can be replayed).
pub fn property_seed() -> u64 {
    let set = std::env::var("ORGSYNC_PROPERTY_SEED")
        .ok()
        .and_then(|v| v.parse().ok());
    set.unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::SystemTime::UNIX_EPOCH);
        now.map_or(0, |d| d.as_nanos() as u64 % 1_000_000_007)
    })
}

/// Runs `check(seed, fold)` for the `cases` seeds from `first`, on up to `workers` threads at
/// once: the cases are independent and mostly wait on loopback, so running them side by side
/// takes a fraction of the time and checks the same seeds. Each worker folds its cases into a
/// `T` of its own; the folds come back for the caller to add up. A case that panics stops the
/// others from taking new seeds and then fails the test with its own panic (whose message names
/// its seed).
pub fn each_case<T, F>(first: u64, cases: usize, workers: usize, check: F) -> Vec<T>
where
    T: Default + Send,
    F: Fn(u64, &mut T) + Sync,
{
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let worker = || {
        let mut fold = T::default();
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            if i >= cases as u64 || stop.load(Ordering::SeqCst) {
                return Ok(fold);
            }
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(first + i, &mut fold))) {
                stop.store(true, Ordering::SeqCst);
                return Err(panic);
            }
        }
    };
    let ends: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers.clamp(1, cases.max(1)))
            .map(|_| s.spawn(worker))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| Err(panic)))
            .collect()
    });
    let mut folds = Vec::with_capacity(ends.len());
    for end in ends {
        match end {
            Ok(fold) => folds.push(fold),
            Err(panic) => resume_unwind(panic),
        }
    }
    folds
}
