//! The bad-input corpus: every file in tests/fixtures/bad-configs/ is refused with exactly the
//! error in its snapshot (`snapshots/every_bad_config_is_refused_with_its_expected_error_and_no_request@NAME.yaml.snap`:
//! FILE:LINE:COLUMN, message, hint), exit 1, nothing on stdout, and no request.
//!
//! After an intended change of wording, `INSTA_UPDATE=always cargo test --test it bad_configs::`
//! (or `cargo insta review`) rewrites the snapshots; review them with `git diff`.

use std::path::PathBuf;

use crate::support::*;
use orgsync_emulator::Options;

#[test]
fn every_bad_config_is_refused_with_its_expected_error_and_no_request() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let emu = background(example_tenant(), Options::default());
    let mut seen = 0;
    insta_settings().bind(|| {
        insta::glob!(
            "../fixtures",
            "bad-configs/*.yaml",
            |path: &std::path::Path| {
                let name = format!(
                    "bad-configs/{}",
                    path.file_name().unwrap().to_string_lossy()
                );
                let out = OrgSync::new(&emu)
                    .args(["plan", "-c", &name])
                    .cwd(&fixtures)
                    .run();
                let first = out.stderr().lines().next().unwrap_or_default();
                let names_the_file = first.starts_with(&format!("error: {name}:"));
                assert!(names_the_file, "the first line names the file: {first}");
                insta::assert_snapshot!(out.snapshot());
                seen += 1;
            }
        );
    });
    assert!(seen >= 40, "{seen} files");
    assert!(
        emu.requests().is_empty(),
        "requests reached the tenant: {:?}",
        emu.requests()
    );
}

#[test]
fn the_docs_count_the_bad_config_files_right_everywhere() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-configs");
    let files = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path());
    let count = files
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .count();
    let text = crate::docs::all_text().replace('\n', " ");
    let words: Vec<&str> = text.split_whitespace().collect();
    // Every "<N> malformed files" or "the <N> files of `tests/fixtures/bad-configs/`".
    let about =
        |w: &[&str]| (w[1] == "malformed" && w[2] == "files") || (w[1] == "files" && w[2] == "of");
    let mentions = words
        .windows(3)
        .filter(|w| about(w))
        .filter_map(|w| w[0].parse().ok());
    let mentions: Vec<usize> = mentions.collect();
    assert!(mentions.len() >= 2, "{mentions:?}");
    assert!(
        mentions.iter().all(|&n| n == count),
        "{count} files, the docs say {mentions:?}"
    );
}
