//! Audited change reviews: the audit log says which change a run carried out (provenance), is
//! a chain `audit verify` checks line by line, and `audit report` turns into evidence.

use crate::support::*;

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
fn saved_plan_in_git(tag: &str) -> Scenario {
    let s = Scenario::new(tag);
    // The example, with initech's guard off so the run succeeds whole.
    let example = std::fs::read_to_string(example_config()).unwrap();
    let initech = "  - name: initech\n";
    let guard_off = example.replace(initech, &format!("{initech}    max_removals: 100%\n"));
    s.write("orgsync.yaml", &guard_off);
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(s.path())
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "orgsync.yaml"]);
    git(&["commit", "-q", "-m", "config"]);
    let plan = s.cmd(["plan", "--out", "plan.json"]).envs(ACTIONS);
    plan.run().success();
    s
}

/// [`saved_plan_in_git`], then that plan applied in the same pull request's run, audited to
/// `audit.jsonl`.
fn applied_in_git(tag: &str) -> Scenario {
    let s = saved_plan_in_git(tag);
    let apply = s.cmd(["apply", "plan.json", "-c", "orgsync.yaml"]);
    let apply = apply.envs(ACTIONS).arg("--auto-approve");
    apply.args(["--audit-log", "audit.jsonl"]).run().success();
    s
}

#[test]
fn the_saved_plan_and_the_apply_record_the_commit_and_the_pull_request() {
    let s = applied_in_git("audit-provenance");
    // The saved plan says which commit and pull request it was made from.
    let plan = read_json(s.join("plan.json"));
    assert_eq!(plan["provenance"]["ci"]["pull_request"]["number"], 42);
    assert_eq!(plan["provenance"]["git"]["clean"], true);
    let start = s.audit().remove(0);
    assert_eq!(start["event"], "start");
    assert_eq!(start["prev_sha256"], serde_json::Value::Null);
    assert_eq!(start["plan_file"], "plan.json");
    assert_eq!(start["provenance"]["ci"]["actor"], "ada");
    let run_url = "https://github.com/acme/access/actions/runs/987654";
    assert_eq!(start["provenance"]["ci"]["run_url"], run_url);
    let commit = start["provenance"]["git"]["commit"].as_str();
    assert_eq!(commit.map(str::len), Some(40));
    assert_eq!(start["plan_provenance"]["ci"]["pull_request"]["number"], 42);
}

#[test]
fn verify_checks_the_chain_and_report_renders_the_evidence() {
    let s = applied_in_git("audit-evidence");
    // verify passes, and prints the anchor.
    let v = s.run_bare(["audit", "verify", "audit.jsonl"]);
    v.success().stdout_has("the chain holds");
    v.stdout_has("last line sha256: ");

    // The report: the pull request, the members removed with their roles.
    let report = s.run_bare(["audit", "report", "audit.jsonl"]);
    report.success().stdout_has("**Chain: intact**");
    report.stdout_has("pull request [#42](https://github.com/acme/access/pull/42)");
    report.stdout_has("by `ada`");
    report.stdout_has(
        "| acme | `auth0\\|64b0c0ffee0000000000000c` | dennis@acme.example | Dennis Ritchie |",
    );
    report.stdout_has("- **Plan:** saved plan `plan.json`");
    let json = s.run_bare(["audit", "report", "audit.jsonl", "--format", "json"]);
    let v = json_of(json.success());
    assert_eq!(v["chain"]["holds"], true);
    let members = v["runs"][0]["members"].as_array().unwrap();
    let removed = members.iter().filter(|m| m["outcome"] == "removed");
    let ids: Vec<&str> = removed.filter_map(|m| m["user_id"].as_str()).collect();
    assert_eq!(ids.len(), 9, "{v:#}");
}

#[test]
fn one_byte_changed_breaks_the_chain_at_the_line_after_it() {
    let s = applied_in_git("audit-tampered");
    // One byte changed: verify names the line after it and exits 1.
    let path = s.join("audit.jsonl");
    let mut bytes = std::fs::read(&path).unwrap();
    let needle = b"dennis@";
    let at = bytes.windows(needle.len()).position(|w| w == needle);
    let at = at.unwrap();
    bytes[at] = b'D';
    std::fs::write(&path, &bytes).unwrap();
    let edited_line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let v = s.run_bare(["audit", "verify", "audit.jsonl"]);
    v.code(1).stderr_has(format!(
        "line {}: breaks the chain: its prev_sha256 is not the sha256 of line {edited_line}",
        edited_line + 1
    ));
    let report = s.run_bare(["audit", "report", "audit.jsonl"]);
    report.stdout_has("**Chain: BROKEN**");
}

#[test]
fn report_filters_runs_and_refuses_a_date_it_cannot_read() {
    let s = Scenario::new("audit-filters");
    let r = s.run_bare(["audit", "report", "audit.jsonl", "--since", "yesterday"]);
    r.code(1).stderr_has("is not a date");
    let r = s.run_bare(["audit", "verify", "missing.jsonl"]);
    r.code(1)
        .stderr_has("cannot read the audit log `missing.jsonl`");
}
