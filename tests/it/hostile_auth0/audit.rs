//! 3. The write-ahead audit log: start, intent before each DELETE, outcome, summary; interrupts.

use super::saved_plans::{SAVED_CONFIG, saved_plan_emulator};
use super::*;

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

#[test]
fn sigint_mid_apply_exits_130_and_the_audit_log_accounts_for_every_removal() {
    let emu = background(
        emu_tenant(vec![org_with_members(
            "org_bigbigbigbigbig1",
            "big",
            "u",
            100,
        )]),
        Options {
            latency: Duration::from_millis(300),
            ..Options::default()
        },
    );
    let before: BTreeSet<String> = emu_members(&emu, "big").into_iter().collect();
    let dir = TempDir::new("sigint");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: big\n    members: []\n    allow_empty: true\n    max_removals: 100%\n",
    );
    let audit = dir.path().join("audit.jsonl");
    let child = creds(&emu.url())
        .args(["apply", "--auto-approve", "--audit-log"])
        .arg(&audit)
        .cwd(dir.path())
        .spawn();
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
    for u in removed {
        let in_outcome = lines.iter().any(|l| {
            l["event"] == "delete"
                && ["removed", "unknown"].contains(&l["outcome"].as_str().unwrap_or(""))
                && ids_of(l).contains(u)
        });
        let in_open_intent = lines.iter().any(|l| {
            l["event"] == "intent"
                && ids_of(l).contains(u)
                && !lines.iter().any(|o| {
                    o["event"] == "delete" && o["call"] == l["call"] && o["outcome"] == "failed"
                })
        });
        assert!(
            in_outcome || in_open_intent,
            "{u} was removed but the audit log does not account for it:\n{lines:#?}"
        );
    }
    let summary = lines
        .iter()
        .rfind(|l| l["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary line:\n{lines:#?}"));
    assert_eq!(summary["interrupted"], true, "{summary}");
    assert_eq!(summary["success"], false, "{summary}");
}

#[test]
fn an_audit_log_that_cannot_be_written_stops_apply_before_any_delete() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("dev-full");
    dir.write("orgsync.yaml", SAVED_CONFIG);
    let r = run_in(
        &emu.url(),
        dir.path(),
        ["apply", "--auto-approve", "--audit-log", "/dev/full"],
    );
    r.assert_no_panic();
    assert!(
        emu_deletes(&emu).is_empty(),
        "DELETEs went out unrecorded:\n{}",
        r.show()
    );
    r.failure();
}

#[test]
fn every_audit_line_carries_its_runs_run_id_and_runs_differ() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("run-id");
    dir.write("orgsync.yaml", SAVED_CONFIG);
    let audit = dir.path().join("audit.jsonl");
    let args = [
        "apply",
        "--auto-approve",
        "--audit-log",
        audit.to_str().unwrap(),
    ];
    let r1 = run_in(&emu.url(), dir.path(), args);
    r1.assert_no_panic();
    let first = audit_lines(&audit);
    assert!(!first.is_empty(), "{}", r1.show());
    let r2 = run_in(&emu.url(), dir.path(), args);
    r2.assert_no_panic();
    let all = audit_lines(&audit);
    let second = &all[first.len()..];
    assert!(!second.is_empty(), "{}", r2.show());
    let a = one_run_id(&first);
    let b = one_run_id(second);
    assert_ne!(a, b, "two runs share a run_id");
    // The first run, which removed members, wrote the whole sequence.
    assert_eq!(first[0]["event"], "start", "{first:#?}");
    assert_eq!(first.last().unwrap()["event"], "summary");
    for l in first.iter().filter(|l| l["event"] == "delete") {
        let call = &l["call"];
        let intent = first
            .iter()
            .position(|i| i["event"] == "intent" && &i["call"] == call)
            .unwrap_or_else(|| panic!("no intent before call {call}: {first:#?}"));
        let outcome = first.iter().position(|o| o == l).unwrap();
        assert!(intent < outcome);
        assert_eq!(ids_of(&first[intent]), ids_of(l));
        assert!(
            OUTCOMES.contains(&l["outcome"].as_str().unwrap_or("")),
            "{l}"
        );
    }
}

#[test]
fn wait_of_u64_max_is_a_clear_error_before_any_delete() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("wait-max");
    dir.write("orgsync.yaml", SAVED_CONFIG);
    let r = run_in(
        &emu.url(),
        dir.path(),
        ["apply", "--auto-approve", "--wait=18446744073709551615"],
    );
    assert!(emu_deletes(&emu).is_empty(), "{}", r.show());
    r.assert_no_panic();
    r.failure();
    assert!(r.stderr.contains("error"), "{}", r.show());
}

#[test]
fn deletes_carried_out_then_cut_off_are_all_in_the_audit_log_and_the_run_is_not_a_success() {
    let members: Vec<String> = (0..15).map(|i| format!("auth0|m{i:02}")).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    let fake = Fake::start(vec![forg("org_cutcutcutcutcut1", "cut", &refs)], vec![]);
    fake.rule(
        "DELETE",
        "/api/v2/organizations/",
        false,
        None,
        Act {
            drop: true,
            act_first: true,
            ..Act::default()
        },
    );
    let dir = TempDir::new("act-then-drop");
    dir.write(
        "orgsync.yaml",
        "version: 1\ndefaults:\n  max_removals: 100%\norganizations:\n  - name: cut\n    members: [\"auth0|m00\", \"auth0|m01\", \"auth0|m02\"]\n",
    );
    let audit = dir.path().join("audit.jsonl");
    let r = run_in(
        &fake.url(),
        dir.path(),
        [
            "apply",
            "--auto-approve",
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    );
    r.assert_no_panic();
    let acted: Vec<Rec> = fake.deletes().into_iter().filter(|d| d.acted).collect();
    assert!(!acted.is_empty(), "{}", r.show());
    let lines = audit_lines(&audit);
    for d in &acted {
        let ids = d.user_ids.clone().unwrap_or_default();
        assert!(
            lines.iter().any(|l| l["event"] == "delete"
                && ids_of(l) == ids
                && OUTCOMES.contains(&l["outcome"].as_str().unwrap_or(""))),
            "a DELETE carried out by the server has no outcome line: {ids:?}\n{lines:#?}"
        );
    }
    let unsure = lines.iter().any(|l| {
        l["event"] == "delete" && matches!(l["outcome"].as_str(), Some("unknown" | "failed"))
    });
    let summary = lines
        .iter()
        .rfind(|l| l["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary:\n{lines:#?}"));
    if unsure {
        assert_eq!(summary["success"], false, "{summary}");
        assert_ne!(r.code, Some(0), "{}", r.show());
    }
}
