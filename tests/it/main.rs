//! The product's integration tests, one binary: the real `orgsync` against the emulator or a
//! fake Auth0, one module per area. `cargo test --test it plan::` runs one area.
//!
//! A test starts from [`support::Scenario`] (its temp dir, its emulator, an unindented config)
//! and checks messages whole with `assert_run!(run, @"…")`: exit code, stdout and stderr in one
//! inline snapshot, under the filters of [`support::insta_settings`]; `assert_error!(run, @"…")`
//! for a failure (exit 1, nothing on stdout) snapshots its stderr alone. `.contains` stays for
//! properties ("no token anywhere"), through [`support::checks`]'s `assert_has`/`assert_lacks`
//! and `Run::stdout_has`. Hostile answers come from the one
//! [`support::fake_auth0::Fake`]. After an intended change of wording, `cargo insta test
//! --review` (or `INSTA_UPDATE=always`, then `cargo insta accept` for the inline snapshots).
//! `python3 tests/median_test_lines.py` counts the lines of each test.

mod support;

mod apply;
mod audits;
mod bad_configs;
mod canary;
mod ci_examples;
mod comment;
mod config_errors;
mod declarations;
mod docs;
mod drills;
mod email;
mod emulator_command;
mod errors;
mod export;
mod guidance;
mod hostile;
mod hostile_auth0;
mod hostile_forge;
mod plan;
mod progress;
mod reentry;
mod requests;
mod restore;
mod schema;
mod shipping;
mod streaming;
