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
