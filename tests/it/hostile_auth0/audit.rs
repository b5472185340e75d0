//! 3. The write-ahead audit log: start, intent before each DELETE, outcome, summary; interrupts.

use super::saved_plans::{SAVED_CONFIG, saved_plan_emulator};
use super::*;
use crate::support::unindent;

pub(super) const OUTCOMES: &[&str] = &["removed", "failed", "unknown"];

pub(super) fn ids_of(v: &Value) -> Vec<String> {
    v["user_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Every line carries one and the same non-empty `run_id`; returns it.
fn one_run_id(lines: &[Value]) -> String {
    let first = lines
        .first()
        .and_then(|l| l["run_id"].as_str())
        .unwrap_or_else(|| panic!("no run_id on the first line: {lines:?}"))
        .to_string();
    assert!(!first.is_empty());
    for l in lines {
        assert_eq!(l["run_id"].as_str(), Some(first.as_str()), "{l}");
    }
    first
}

/// The last summary line of an audit log.
fn summary_of(lines: &[Value]) -> &Value {
    let summary = lines.iter().rfind(|l| l["event"] == "summary");
    summary.unwrap_or_else(|| panic!("no summary line:\n{lines:#?}"))
}

/// `apply --auto-approve EXTRA…` of [`SAVED_CONFIG`] against the saved-plan emulator, in a
/// fresh dir (tagged `tag`): the emulator, the dir and the run, which did not panic.
fn apply_saved(tag: &str, extra: &[&str]) -> (Emulator, TempDir, Run) {
    let emu = saved_plan_emulator();
    let dir = TempDir::new(tag);
    dir.write("orgsync.yaml", SAVED_CONFIG);
    let r = run_in(
        &emu.url(),
        dir.path(),
        ["apply", "--auto-approve"].iter().chain(extra),
    );
    r.assert_no_panic();
    (emu, dir, r)
}

#[test]
fn sigint_mid_apply_exits_130_and_the_audit_log_accounts_for_every_removal() {
    let big = org_with_members("org_bigbigbigbigbig1", "big", "u", 100);
    let latency = Duration::from_millis(300);
    let emu = background(
        emu_tenant(vec![big]),
        Options {
            latency,
            ..Options::default()
        },
    );
    let before: BTreeSet<String> = emu_members(&emu, "big").into_iter().collect();
    let dir = TempDir::new("sigint");
    dir.write(
        "orgsync.yaml",
        &unindent(
            "
        version: 1
        organizations:
          - name: big
            members: []
            allow_empty: true
            max_removals: 100%
    ",
        ),
    );
    let audit = dir.path().join("audit.jsonl");
    let apply = creds(&emu.url())
        .args(["apply", "--auto-approve", "--audit-log"])
        .arg(&audit);
    let child = apply.cwd(dir.path()).spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    while emu_deletes(&emu).is_empty() {
        assert!(Instant::now() < deadline, "no DELETE within 60 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let r = child.wait(Duration::from_secs(60));
    let deletes_at_end = emu_deletes(&emu).len();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        emu_deletes(&emu).len(),
        deletes_at_end,
        "a DELETE arrived after the run ended"
    );
    r.assert_no_panic();
    r.code_for(130, "SIGINT must exit 130");
    let after: BTreeSet<String> = emu_members(&emu, "big").into_iter().collect();
    let removed: Vec<&String> = before.difference(&after).collect();
    assert!(
        removed.len() < 100,
        "the interrupt came too late to test anything"
    );
    let lines = audit_lines(&audit);
    one_run_id(&lines);
    let failed = |call: &Value| {
        lines
            .iter()
            .any(|o| o["event"] == "delete" && &o["call"] == call && o["outcome"] == "failed")
    };
    for u in removed {
        let in_outcome = lines.iter().any(|l| {
            l["event"] == "delete"
                && ["removed", "unknown"].contains(&l["outcome"].as_str().unwrap_or(""))
                && ids_of(l).contains(u)
        });
        let in_open_intent = lines
            .iter()
            .any(|l| l["event"] == "intent" && ids_of(l).contains(u) && !failed(&l["call"]));
        let accounted = in_outcome || in_open_intent;
        assert!(
            accounted,
            "{u} was removed but the audit log does not account for it:\n{lines:#?}"
        );
    }
    let summary = summary_of(&lines);
    assert_eq!(summary["interrupted"], true, "{summary}");
    assert_eq!(summary["success"], false, "{summary}");
}

#[test]
fn an_audit_log_that_cannot_be_written_stops_apply_before_any_delete() {
    let (emu, _dir, r) = apply_saved("dev-full", &["--audit-log", "/dev/full"]);
    let unrecorded = emu_deletes(&emu);
    assert!(
        unrecorded.is_empty(),
        "DELETEs went out unrecorded:\n{}",
        r.show()
    );
    r.failure();
    crate::support::assert_stderr!(r, @r"
    success: false
    exit_code: 1
    ----- stderr -----
    error: cannot write the audit log `/dev/full`: No space left on device (os error 28); nothing was sent
    hint: check the audit log's path, permissions and free space
    ");
}

/// Two runs with one audit log: each run's lines carry one run_id, and the two differ.
#[test]
fn every_audit_line_carries_its_runs_run_id_and_runs_differ() {
    let (emu, dir, r1) = apply_saved("run-id", &["--audit-log", "audit.jsonl"]);
    let audit = dir.path().join("audit.jsonl");
    let first = audit_lines(&audit);
    assert!(!first.is_empty(), "{}", r1.show());
    let again = ["apply", "--auto-approve", "--audit-log", "audit.jsonl"];
    let r2 = run_in(&emu.url(), dir.path(), again);
    r2.assert_no_panic();
    let all = audit_lines(&audit);
    let second = &all[first.len()..];
    assert!(!second.is_empty(), "{}", r2.show());
    let (a, b) = (one_run_id(&first), one_run_id(second));
    assert_ne!(a, b, "two runs share a run_id");
}

/// A run that removed members writes the whole sequence: start, an intent before each outcome
/// (the same user_ids), summary.
#[test]
fn a_run_that_removes_writes_start_intents_outcomes_and_summary() {
    let (_emu, dir, r) = apply_saved("audit-sequence", &["--audit-log", "audit.jsonl"]);
    let first = audit_lines(&dir.path().join("audit.jsonl"));
    assert!(!first.is_empty(), "{}", r.show());
    assert_eq!(first[0]["event"], "start", "{first:#?}");
    assert_eq!(first.last().unwrap()["event"], "summary");
    for l in first.iter().filter(|l| l["event"] == "delete") {
        let call = &l["call"];
        let intent = first
            .iter()
            .position(|i| i["event"] == "intent" && &i["call"] == call);
        let intent = intent.unwrap_or_else(|| panic!("no intent before call {call}: {first:#?}"));
        assert!(intent < first.iter().position(|o| o == l).unwrap());
        assert_eq!(ids_of(&first[intent]), ids_of(l));
        let outcome = l["outcome"].as_str().unwrap_or("");
        assert!(OUTCOMES.contains(&outcome), "{l}");
    }
}

#[test]
fn wait_of_u64_max_is_a_clear_error_before_any_delete() {
    let (emu, _dir, r) = apply_saved("wait-max", &["--wait=18446744073709551615"]);
    assert!(emu_deletes(&emu).is_empty(), "{}", r.show());
    r.failure().stderr_has("error");
    crate::support::assert_run!(r, @r"
    success: false
    exit_code: 1
    ----- stdout -----

    ----- stderr -----
    error: invalid value '18446744073709551615' for '--wait[=<SECONDS>]': `18446744073709551615` is out of range: give 0 to 3600 seconds

    For more information, try '--help'.
    ");
}

#[test]
fn deletes_carried_out_then_cut_off_are_all_in_the_audit_log_and_the_run_is_not_a_success() {
    let members: Vec<String> = (0..15).map(|i| format!("auth0|m{i:02}")).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    let fake = Fake::start(vec![forg("org_cutcutcutcutcut1", "cut", &refs)], vec![]);
    let act_then_drop = Act {
        drop: true,
        act_first: true,
        ..Act::default()
    };
    fake.rule(
        "DELETE",
        "/api/v2/organizations/",
        false,
        None,
        act_then_drop,
    );
    let dir = TempDir::new("act-then-drop");
    dir.write(
        "orgsync.yaml",
        &unindent(
            r#"
        version: 1
        defaults:
          max_removals: 100%
        organizations:
          - name: cut
            members: ["auth0|m00", "auth0|m01", "auth0|m02"]
    "#,
        ),
    );
    let r = run_in(
        &fake.url(),
        dir.path(),
        ["apply", "--auto-approve", "--audit-log", "audit.jsonl"],
    );
    r.assert_no_panic();
    let acted: Vec<Rec> = fake.deletes().into_iter().filter(|d| d.acted).collect();
    assert!(!acted.is_empty(), "{}", r.show());
    let lines = audit_lines(&dir.path().join("audit.jsonl"));
    let outcome = |l: &Value| OUTCOMES.contains(&l["outcome"].as_str().unwrap_or(""));
    for ids in acted.iter().map(|d| d.user_ids.clone().unwrap_or_default()) {
        let logged = lines
            .iter()
            .any(|l| l["event"] == "delete" && ids_of(l) == ids && outcome(l));
        assert!(
            logged,
            "a DELETE carried out by the server has no outcome line: {ids:?}\n{lines:#?}"
        );
    }
    let unsure = lines.iter().any(|l| {
        l["event"] == "delete" && matches!(l["outcome"].as_str(), Some("unknown" | "failed"))
    });
    let summary = summary_of(&lines);
    if unsure {
        assert_eq!(summary["success"], false, "{summary}");
        assert_ne!(r.code, Some(0), "{}", r.show());
    }
}
