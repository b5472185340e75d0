//! Progress on stderr: a bar on a terminal, nothing otherwise, nothing with -q.

use std::process::Command;

use crate::support::*;

/// Runs `orgsync ARGS` under a pseudo-terminal (util-linux `script`), stdout to a file; returns
/// what the terminal showed and the file.
fn on_a_terminal(args: &str, dir: &TempDir) -> (String, String) {
    let out_file = dir.path().join("stdout.txt");
    let typescript = dir.path().join("typescript");
    let cmd = format!("{} {args} > {}", bin().display(), out_file.display());
    let status = Command::new("script")
        .args(["-qec", &cmd, typescript.to_str().unwrap()])
        .env_remove("NO_COLOR")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("util-linux `script` runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    (
        std::fs::read_to_string(&typescript).unwrap_or_default(),
        std::fs::read_to_string(&out_file).unwrap_or_default(),
    )
}

const DEMO: &str = "plan -c examples/orgsync.yaml --sandbox examples/tenant.yaml";

#[test]
fn a_terminal_shows_progress_and_the_plan_stays_clean() {
    let (terminal, plan) = on_a_terminal(DEMO, &TempDir::new("progress-tty"));
    // Drawing is rate-limited, so which counts show depends on timing; the bar with its total
    // always does.
    assert_has(&terminal, "/4 organizations,");
    assert_has(&terminal, "members read");
    assert_has(&plan, "Plan: 3 to remove, 6 blocked");
    assert!(!plan.contains("reading"), "progress never goes to stdout");
}

#[test]
fn quiet_shows_nothing_on_a_terminal() {
    let (terminal, plan) = on_a_terminal(&format!("{DEMO} -q"), &TempDir::new("progress-quiet"));
    assert_lacks(&terminal, "reading");
    assert_has(&plan, "Plan: 3 to remove, 6 blocked");
}

#[test]
fn no_terminal_shows_nothing() {
    let out = OrgSync::bare()
        .args(DEMO.split(' '))
        .cwd(env!("CARGO_MANIFEST_DIR"))
        .run();
    out.success();
    assert!(
        out.stderr.is_empty(),
        "stderr is not a terminal: {}",
        out.stderr()
    );
}
