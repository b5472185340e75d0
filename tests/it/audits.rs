//! Audited change reviews: the audit log says which change a run carried out (provenance), is
//! a chain `audit verify` checks line by line, and `audit report` turns into evidence.

use crate::support::*;
use orgsync_emulator::Options;

/// A GitHub Actions run of pull request 42, as the runner's environment describes it.
const ACTIONS: &[(&str, &str)] = &[
    ("GITHUB_ACTIONS", "true"),
    ("GITHUB_SERVER_URL", "https://github.com"),
    ("GITHUB_REPOSITORY", "acme/access"),
    ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
    ("GITHUB_REF", "refs/pull/42/merge"),
    ("GITHUB_ACTOR", "ada"),
    ("GITHUB_RUN_ID", "987654"),
];

/// The example config in a fresh Git repository (one commit), and a saved plan made from it in
/// the simulated pull request.
fn saved_plan_in_git(emu: &orgsync_emulator::Emulator, tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    // The example, with initech's guard off so the run succeeds whole.
    dir.write(
        "orgsync.yaml",
        &std::fs::read_to_string(example_config()).unwrap().replace(
            "  - name: initech\n",
            "  - name: initech\n    max_removals: 100%\n",
        ),
    );
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "orgsync.yaml"]);
    git(&["commit", "-q", "-m", "config"]);
    OrgSync::new(emu)
        .envs(ACTIONS)
        .args(["plan", "--out", "plan.json"])
        .cwd(dir.path())
        .run()
        .success();
    dir
}

#[test]
fn apply_records_its_change_verify_checks_the_chain_and_report_renders_the_evidence() {
    let emu = background(example_tenant(), Options::default());
    let dir = saved_plan_in_git(&emu, "audit-e2e");
    // The saved plan says which commit and pull request it was made from.
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(plan["provenance"]["ci"]["pull_request"]["number"], 42);
    assert_eq!(plan["provenance"]["git"]["clean"], true);

    let r = OrgSync::new(&emu)
        .envs(ACTIONS)
        .args(["apply", "plan.json", "-c", "orgsync.yaml", "--auto-approve"])
        .args(["--audit-log", "audit.jsonl"])
        .cwd(dir.path())
        .run();
    r.success();
    let lines = audit_lines(&dir.path().join("audit.jsonl"));
    let start = &lines[0];
    assert_eq!(start["event"], "start");
    assert_eq!(start["prev_sha256"], serde_json::Value::Null);
    assert_eq!(start["plan_file"], "plan.json");
    assert_eq!(start["provenance"]["ci"]["actor"], "ada");
    assert_eq!(
        start["provenance"]["ci"]["run_url"],
        "https://github.com/acme/access/actions/runs/987654"
    );
    assert_eq!(
        start["provenance"]["git"]["commit"].as_str().map(str::len),
        Some(40)
    );
    assert_eq!(start["plan_provenance"]["ci"]["pull_request"]["number"], 42);

    // verify passes, and prints the anchor.
    let v = OrgSync::bare()
        .args(["audit", "verify", "audit.jsonl"])
        .cwd(dir.path())
        .run();
    v.success();
    v.stdout_has("the chain holds");
    v.stdout_has("last line sha256: ");

    // The report: the pull request, the members removed with their roles.
    let report = OrgSync::bare()
        .args(["audit", "report", "audit.jsonl"])
        .cwd(dir.path())
        .run();
    report.success();
    let md = report.stdout();
    assert!(md.contains("**Chain: intact**"), "{md}");
    assert!(
        md.contains("pull request [#42](https://github.com/acme/access/pull/42)"),
        "{md}"
    );
    assert!(md.contains("by `ada`"), "{md}");
    assert!(
        md.contains(
            "| acme | `auth0\\|64b0c0ffee0000000000000c` | dennis@acme.example | Dennis Ritchie |"
        ),
        "{md}"
    );
    assert!(md.contains("- **Plan:** saved plan `plan.json`"), "{md}");
    let json = OrgSync::bare()
        .args(["audit", "report", "audit.jsonl", "--format", "json"])
        .cwd(dir.path())
        .run();
    json.success();
    let v: serde_json::Value = serde_json::from_str(json.stdout()).unwrap();
    assert_eq!(v["chain"]["holds"], true);
    let removed: Vec<&str> = v["runs"][0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["outcome"] == "removed")
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(removed.len(), 9, "{v:#}");

    // One byte changed: verify names the line after it and exits 1.
    let path = dir.path().join("audit.jsonl");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(b"dennis@".len())
        .position(|w| w == b"dennis@")
        .unwrap();
    bytes[at] = b'D';
    std::fs::write(&path, &bytes).unwrap();
    let edited_line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let v = OrgSync::bare()
        .args(["audit", "verify", "audit.jsonl"])
        .cwd(dir.path())
        .run();
    v.code(1);
    v.stderr_has(format!(
        "line {}: breaks the chain: its prev_sha256 is not the sha256 of line {edited_line}",
        edited_line + 1
    ));
    let report = OrgSync::bare()
        .args(["audit", "report", "audit.jsonl"])
        .cwd(dir.path())
        .run();
    report.stdout_has("**Chain: BROKEN**");
}

#[test]
fn report_filters_runs_and_refuses_a_date_it_cannot_read() {
    let dir = TempDir::new("audit-filters");
    let r = OrgSync::bare()
        .args(["audit", "report", "audit.jsonl", "--since", "yesterday"])
        .cwd(dir.path())
        .run();
    r.code(1);
    r.stderr_has("is not a date");
    let r = OrgSync::bare()
        .args(["audit", "verify", "missing.jsonl"])
        .cwd(dir.path())
        .run();
    r.code(1);
    r.stderr_has("cannot read the audit log `missing.jsonl`");
}
