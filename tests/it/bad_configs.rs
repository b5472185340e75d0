//! The bad-input corpus: every file in tests/fixtures/bad-configs/ is refused with exactly the
//! error in its `.expected` file (FILE:LINE:COLUMN, message, hint), exit 1, and no request.
//!
//! After an intended change of wording, `ORGSYNC_BLESS=1 cargo test --test it bad_configs::` rewrites
//! the `.expected` files; review them with `git diff`.

use std::path::PathBuf;

use crate::support::*;
use orgsync_emulator::Options;

#[test]
fn every_bad_config_is_refused_with_its_expected_error_and_no_request() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures.join("bad-configs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "{} files", files.len());
    let bless = std::env::var_os("ORGSYNC_BLESS").is_some();
    let emu = background(example_tenant(), Options::default());
    let mut failures = Vec::new();
    for f in &files {
        let name = format!("bad-configs/{}", f.file_name().unwrap().to_string_lossy());
        let out = OrgSync::new(&emu)
            .args(["plan", "-c", &name])
            .cwd(&fixtures)
            .run();
        let err = out.stderr();
        let expected_path = f.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, err).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| format!("(no {})", expected_path.display()));
        if out.code != Some(1) || !out.stdout.is_empty() || err != expected {
            failures.push(format!(
                "{name}: exit {:?}\n--- expected\n{expected}--- got\n{err}",
                out.code
            ));
        }
        if !err
            .lines()
            .next()
            .unwrap_or_default()
            .starts_with(&format!("error: {name}:"))
        {
            failures.push(format!(
                "{name}: the first line does not name the file: {err}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        emu.requests().is_empty(),
        "requests reached the tenant: {:?}",
        emu.requests()
    );
}

#[test]
fn the_docs_count_the_bad_config_files_right_everywhere() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let count = std::fs::read_dir(root.join("tests/fixtures/bad-configs"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    let readme = crate::docs::all_text().replace('\n', " ");
    let words: Vec<&str> = readme.split_whitespace().collect();
    // Every "<N> malformed files" or "the <N> files of `tests/fixtures/bad-configs/`".
    let mut mentions = Vec::new();
    for w in words.windows(3) {
        let n = w[0].parse::<usize>().ok();
        let about = (w[1] == "malformed" && w[2] == "files") || (w[1] == "files" && w[2] == "of");
        if let (Some(n), true) = (n, about) {
            mentions.push(n);
        }
    }
    assert!(mentions.len() >= 2, "{mentions:?}");
    assert!(
        mentions.iter().all(|&n| n == count),
        "{count} files, the docs say {mentions:?}"
    );
}
