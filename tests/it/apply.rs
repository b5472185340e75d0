//! `orgsync apply`: the real binary against the emulator over loopback.
//!
//! Long because it is one area's tests, each standing alone with its own tenant and config.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::*;
use orgsync_emulator::{Emulator, Options, ScriptedFault};
use serde_json::Value;

/// The example config, with the guard on initech lifted, the missing new hire taken out and
/// undeclared invitations revoked, so that one apply brings the tenant to exactly the declared
/// state.
fn convergent_example_config(dir: &TempDir) -> std::path::PathBuf {
    let text = std::fs::read_to_string(example_config()).unwrap();
    let text = text
        .replace(
            "  - name: initech\n",
            "  - name: initech\n    max_removals: 100%\n",
        )
        .replace("defaults:\n", "defaults:\n  invitations: revoke\n")
        .lines()
        .filter(|l| !l.contains("auth0|64b0c0ffee0000000000abcd"))
        .collect::<Vec<_>>()
        .join("\n");
    dir.write("orgsync.yaml", &format!("{text}\n"))
}

/// Declared members plus protected members present in the tenant, per organization name.
fn expected_state(
    emu_before: &orgsync_emulator::StateView,
    config: &std::path::Path,
) -> Vec<(String, BTreeSet<String>)> {
    let desired = orgsync::config::load(config).unwrap();
    emu_before
        .organizations
        .iter()
        .map(|o| {
            let d = desired
                .organizations
                .iter()
                .find(|d| d.org.to_string() == o.name || d.org.to_string() == o.id)
                .unwrap();
            let declared: BTreeSet<String> = d
                .members
                .iter()
                .filter_map(|m| m.user_id().map(str::to_string))
                .collect();
            let keep: BTreeSet<String> = o
                .members
                .iter()
                .filter(|m| {
                    declared.contains(*m)
                        || d.protect.iter().any(|p| p.user_id() == Some(m.as_str()))
                })
                .cloned()
                .collect();
            (o.name.clone(), keep)
        })
        .collect()
}

fn state_sets(emu: &Emulator) -> Vec<(String, BTreeSet<String>)> {
    emu.state()
        .organizations
        .into_iter()
        .map(|o| (o.name, o.members.into_iter().collect()))
        .collect()
}

/// The member removals the tenant received (invitation revocations aside).
fn deletes(emu: &Emulator) -> Vec<orgsync_emulator::RequestRecord> {
    emu.requests()
        .into_iter()
        .filter(|r| r.method == "DELETE" && r.path.ends_with("/members"))
        .collect()
}

#[test]
fn apply_then_plan_shows_no_changes() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-idem");
    let config = convergent_example_config(&dir);
    let expected = expected_state(&emu.state(), &config);

    let out = OrgSync::new(&emu)
        .args(["apply", "-c", "orgsync.yaml", "--auto-approve"])
        .cwd(dir.path())
        .run();
    out.success();
    assert!(
        out.stdout().contains("Apply: 9 removed, 0 not removed"),
        "{}",
        out.stdout()
    );
    assert_eq!(state_sets(&emu), expected);

    let again = OrgSync::new(&emu)
        .args(["plan", "-c", "orgsync.yaml", "--detailed-exitcode"])
        .cwd(dir.path())
        .run();
    again.success();
    // A second apply has nothing to do and sends no DELETE.
    let before = deletes(&emu).len();
    let second = OrgSync::new(&emu)
        .args(["apply", "-c", "orgsync.yaml", "--auto-approve"])
        .cwd(dir.path())
        .run();
    second.success();
    assert!(
        second.stdout().contains("Nothing to remove"),
        "{}",
        second.stdout()
    );
    assert_eq!(deletes(&emu).len(), before);
}

#[test]
fn thirty_seven_removals_go_out_as_10_10_10_7() {
    let tenant = demo_tenant(vec![
        org_with_members("org_manymanymanyman1", "many", "u", 40),
        org_with_members("org_otherotherothe2", "other", "o", 2),
    ]);
    let emu = background(tenant, Options::default());
    let dir = TempDir::new("apply-37");
    dir.write(
        "orgsync.yaml",
        "version: 1\ndefaults:\n  max_removals: 100%\norganizations:\n  - name: many\n    members: [\"auth0|u0000\", \"auth0|u0017\", \"auth0|u0039\"]\n  - name: other\n    members: [\"auth0|o0000\", \"auth0|o0001\"]\n",
    );
    let out = OrgSync::new(&emu)
        .args(["apply", "-c", "orgsync.yaml", "--auto-approve"])
        .cwd(dir.path())
        .run();
    out.success();
    let calls = deletes(&emu);
    let sizes: Vec<usize> = calls
        .iter()
        .map(|r| r.members.as_ref().unwrap().len())
        .collect();
    assert_eq!(sizes, [10, 10, 10, 7]);
    assert!(calls.iter().all(
        |r| r.path == "/api/v2/organizations/org_manymanymanyman1/members" && r.status == 204
    ));
    // Stable order: sorted by user_id, each id once.
    let sent: Vec<String> = calls
        .iter()
        .flat_map(|r| r.members.clone().unwrap())
        .collect();
    let mut sorted = sent.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sent, sorted);
    assert_eq!(sent.len(), 37);
    assert!(
        !sent
            .iter()
            .any(|u| ["auth0|u0000", "auth0|u0017", "auth0|u0039"].contains(&u.as_str()))
    );
    // No other mutating call reached the tenant.
    assert!(
        emu.requests()
            .iter()
            .filter(|r| r.path.starts_with("/api/v2/"))
            .all(|r| r.method == "GET" || r.method == "DELETE")
    );
    assert_eq!(
        emu.state().organizations[0].members,
        ["auth0|u0000", "auth0|u0017", "auth0|u0039"]
    );
}

#[test]
fn a_blocked_organization_is_untouched_and_the_others_proceed() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-guard");
    let before = emu.state();
    let out = OrgSync::new(&emu)
        .args([
            "apply",
            "-c",
            example_config().to_str().unwrap(),
            "--auto-approve",
        ])
        .cwd(dir.path())
        .run();
    out.failure();
    // The blocked guard reaches stderr too, with a hint (`apply > log` still shows it).
    assert!(
        out.stderr()
            .contains("error: apply did not complete: 1 organization blocked by a guard")
            && out.stderr().contains("hint: "),
        "{}",
        out.show()
    );
    let text = out.stdout();
    assert!(
        text.contains("organization initech (org_SST1yp2pazgSiMYi): blocked, nothing removed: 6 removals exceed the limit of 2 (max_removals: 25% of 11 current members, rounded down)"),
        "{text}"
    );
    assert!(
        text.contains("organization acme (org_3hbVAMF8F3wVIcEJ): removed 2"),
        "{text}"
    );
    assert!(
        text.contains("organization umbrella (org_cGR0immZcgIoQziO): removed 1"),
        "{text}"
    );
    let after = emu.state();
    let initech = |s: &orgsync_emulator::StateView| {
        s.organizations
            .iter()
            .find(|o| o.name == "initech")
            .unwrap()
            .members
            .clone()
    };
    assert_eq!(initech(&after), initech(&before));
    assert!(
        deletes(&emu)
            .iter()
            .all(|r| !r.path.contains("org_SST1yp2pazgSiMYi"))
    );
    // The break-glass account is still in every organization it was in.
    for o in &after.organizations {
        let was = before.organizations.iter().find(|b| b.id == o.id).unwrap();
        if was
            .members
            .contains(&"auth0|64b0c0ffee00000000000001".to_string())
        {
            assert!(
                o.members
                    .contains(&"auth0|64b0c0ffee00000000000001".to_string()),
                "{}",
                o.name
            );
        }
    }
}

#[test]
fn allow_empty_guard_blocks_emptying() {
    let tenant = demo_tenant(vec![
        org_with_members("org_emptyemptyempt1", "empty-me", "e", 3),
        org_with_members("org_fineinefinefin2", "fine", "f", 3),
    ]);
    let emu = background(tenant, Options::default());
    let dir = TempDir::new("apply-empty");
    dir.write(
        "orgsync.yaml",
        "version: 1\ndefaults:\n  max_removals: 100%\norganizations:\n  - name: empty-me\n    members: []\n  - name: fine\n    members: [\"auth0|f0000\", \"auth0|f0001\"]\n",
    );
    let out = OrgSync::new(&emu)
        .args(["apply", "-c", "orgsync.yaml", "--auto-approve"])
        .cwd(dir.path())
        .run();
    out.failure();
    assert!(
        out.stdout().contains(
            "blocked, nothing removed: removing all 3 members would empty the organization"
        ),
        "{}",
        out.stdout()
    );
    let s = emu.state();
    assert_eq!(s.organizations[0].members.len(), 3);
    assert_eq!(s.organizations[1].members, ["auth0|f0000", "auth0|f0001"]);
}

#[test]
fn without_a_terminal_apply_refuses_unless_auto_approved() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-tty");
    let out = OrgSync::new(&emu)
        .args(["apply", "-c", example_config().to_str().unwrap()])
        .cwd(dir.path())
        .run();
    out.failure();
    assert!(
        out.stderr().contains("stdin is not a terminal"),
        "{}",
        out.stderr()
    );
    assert!(out.stderr().contains("--auto-approve"), "{}", out.stderr());
    assert!(deletes(&emu).is_empty());
}

fn saved_plan(emu: &Emulator, dir: &TempDir, config: &str) -> std::path::PathBuf {
    let plan = dir.path().join("plan.json");
    let out = OrgSync::new(emu)
        .args(["plan", "-c", config, "--out", plan.to_str().unwrap()])
        .cwd(dir.path())
        .run();
    out.success();
    plan
}

#[test]
fn a_saved_plan_removes_only_what_it_lists_and_reports_members_already_gone() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-saved");
    let config = convergent_example_config(&dir);
    let plan = saved_plan(&emu, &dir, config.to_str().unwrap());

    // After the plan: someone joins acme (not in the plan), someone listed goes on their own.
    emu.add_members("org_3hbVAMF8F3wVIcEJ", &["auth0|64b0c0ffee0000000000abcd"]);
    emu.remove_members("org_cGR0immZcgIoQziO", &["auth0|64b0c0ffee00000000000020"]);

    let out = OrgSync::new(&emu)
        .args(["apply", plan.to_str().unwrap(), "--auto-approve"])
        .cwd(dir.path())
        .run();
    out.success();
    let text = out.stdout();
    assert!(
        text.contains("already gone: auth0|64b0c0ffee00000000000020"),
        "{text}"
    );
    assert!(
        text.contains("Apply: 8 removed, 0 not removed, 1 already gone"),
        "{text}"
    );
    let acme = emu
        .state()
        .organizations
        .into_iter()
        .find(|o| o.name == "acme")
        .unwrap();
    assert!(
        acme.members
            .contains(&"auth0|64b0c0ffee0000000000abcd".to_string()),
        "a member added after the plan stays"
    );
    // Every DELETE carried only user_ids the plan listed.
    let listed: BTreeSet<String> = serde_json::from_str::<Value>(
        &std::fs::read_to_string(&plan).unwrap(),
    )
    .unwrap()["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| {
            o["remove"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["user_id"].as_str().unwrap().to_string())
        })
        .collect();
    for r in deletes(&emu) {
        for u in r.members.unwrap() {
            assert!(listed.contains(&u), "{u} was not in the plan");
        }
    }
}

#[test]
fn saved_plans_are_refused_when_edited_versioned_elsewhere_or_for_another_config() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-refuse");
    let config = convergent_example_config(&dir);
    let plan = saved_plan(&emu, &dir, config.to_str().unwrap());
    let text = std::fs::read_to_string(&plan).unwrap();
    let run = |file: &str, extra: &[&str]| {
        let mut args = vec!["apply", file, "--auto-approve"];
        args.extend_from_slice(extra);
        OrgSync::new(&emu).args(&args).cwd(dir.path()).run()
    };

    let edited = dir.write(
        "edited.json",
        &text.replace(
            "auth0|64b0c0ffee0000000000000c",
            "auth0|64b0c0ffee00000000000002",
        ),
    );
    let out = run(edited.to_str().unwrap(), &[]);
    out.failure();
    assert!(
        out.stderr().contains("was edited after it was made"),
        "{}",
        out.stderr()
    );

    let v2 = dir.write(
        "v2.json",
        &text.replace("\"format_version\": 1", "\"format_version\": 2"),
    );
    let out = run(v2.to_str().unwrap(), &[]);
    out.failure();
    assert!(
        out.stderr().contains("format_version 2"),
        "{}",
        out.stderr()
    );

    let other_config = dir.write(
        "other.yaml",
        &std::fs::read_to_string(&config)
            .unwrap()
            .replace("max_removals: 25%", "max_removals: 30%"),
    );
    let out = run(
        plan.to_str().unwrap(),
        &["-c", other_config.to_str().unwrap()],
    );
    out.failure();
    assert!(
        out.stderr()
            .contains("differs from the plan's config_sha256"),
        "{}",
        out.stderr()
    );

    // The same plan against another tenant (another emulator: another domain).
    let other = background(example_tenant(), Options::default());
    let out = OrgSync::new(&other)
        .args(["apply", plan.to_str().unwrap(), "--auto-approve"])
        .cwd(dir.path())
        .run();
    out.failure();
    assert!(
        out.stderr().contains("the plan was made for"),
        "{}",
        out.stderr()
    );

    assert!(
        deletes(&emu).is_empty() && deletes(&other).is_empty(),
        "no refused plan removed anyone"
    );
    // With the matching config, the plan applies.
    let out = run(plan.to_str().unwrap(), &["-c", config.to_str().unwrap()]);
    out.success();
}

#[test]
fn a_failing_organization_does_not_stop_the_others_and_a_rerun_converges() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-partial");
    let config = convergent_example_config(&dir);
    let expected = expected_state(&emu.state(), &config);
    emu.script_fault(ScriptedFault {
        method: "DELETE".into(),
        path: "/api/v2/organizations/org_SST1yp2pazgSiMYi/members".into(),
        status: 500,
        times: 3,
    });
    let audit = dir.path().join("audit.jsonl");
    let out = apply_audited(&emu, &dir, &["-c", "orgsync.yaml"]);
    out.failure();
    let text = out.stdout();
    assert!(
        text.contains("organization initech (org_SST1yp2pazgSiMYi): removed 0, NOT removed 6"),
        "{text}"
    );
    assert!(text.contains("Apply: 3 removed, 6 not removed"), "{text}");
    for u in ["18", "19", "1a", "1b", "1c", "1d"] {
        assert!(
            text.contains(&format!("not removed: auth0|64b0c0ffee000000000000{u}: ")),
            "{u}: {text}"
        );
    }
    let s = emu.state();
    assert_eq!(
        s.organizations
            .iter()
            .find(|o| o.name == "initech")
            .unwrap()
            .members
            .len(),
        11
    );
    assert_eq!(
        s.organizations
            .iter()
            .find(|o| o.name == "acme")
            .map(|o| o.members.len()),
        expected
            .iter()
            .find(|(n, _)| n == "acme")
            .map(|(_, m)| m.len())
    );

    let rerun = OrgSync::new(&emu)
        .args(["apply", "-c", "orgsync.yaml", "--auto-approve"])
        .cwd(dir.path())
        .run();
    rerun.success();
    assert_eq!(state_sets(&emu), expected);
    // The audit log recorded the failed call with its status and attempts.
    let lines = audit_lines(&audit);
    let failed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "delete" && l["status"] == 500)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["attempts"], 3);
    assert_eq!(lines.last().unwrap()["event"], "summary");
    assert_eq!(lines.last().unwrap()["success"], false);
}

#[test]
fn wait_reports_convergence_under_a_removal_delay() {
    let options = Options {
        removal_delay: Duration::from_millis(3000),
        ..Options::default()
    };
    let emu = background(example_tenant(), options);
    let dir = TempDir::new("apply-wait");
    convergent_example_config(&dir);
    let out = OrgSync::new(&emu)
        .args(["apply", "-c", "orgsync.yaml", "--auto-approve", "--wait=20"])
        .cwd(dir.path())
        .run();
    out.success();
    let text = out.stdout();
    assert_eq!(text.matches("removals visible").count(), 3, "{text}");
    // After the last DELETE, the wait re-read some organization more than once: the removals
    // were still listed at first (3 changed organizations, so more than 3 reads).
    let log = emu.requests();
    let last_delete = log.iter().rposition(|r| r.method == "DELETE").unwrap();
    let reads = log[last_delete..]
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/members"))
        .count();
    assert!(reads > 3, "{reads}");
}

#[test]
fn the_audit_log_matches_the_tenant_call_by_call_and_holds_no_secret() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-audit");
    convergent_example_config(&dir);
    let audit = dir.path().join("audit.jsonl");
    let token = emu.token_for("demo").unwrap();
    let url = emu.url();
    let out = OrgSync::bare()
        .envs(&[
            ("AUTH0_DOMAIN", url.as_str()),
            ("AUTH0_API_TOKEN", token.as_str()),
        ])
        .args([
            "apply",
            "-c",
            "orgsync.yaml",
            "--auto-approve",
            "--audit-log",
            audit.to_str().unwrap(),
            "-vv",
        ])
        .cwd(dir.path())
        .run();
    out.success();
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(
        !log.contains(&token) && !out.stdout().contains(&token) && !out.stderr().contains(&token)
    );
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let calls: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "delete" && l["invitation_id"].is_null())
        .collect();
    let tenant_calls: Vec<_> = deletes(&emu)
        .into_iter()
        .filter(|r| r.status == 204)
        .collect();
    assert_eq!(calls.len(), tenant_calls.len());
    for a in &calls {
        let ids: Vec<String> = a["user_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_string())
            .collect();
        assert!(
            tenant_calls
                .iter()
                .any(|t| t.members.as_ref() == Some(&ids)),
            "{ids:?}"
        );
        assert_eq!(a["status"], 204);
        assert_eq!(a["domain"], url);
        assert!(a["organization_id"].as_str().unwrap().starts_with("org_"));
        assert!(a["organization_name"].is_string());
        assert!(a["duration_ms"].is_u64());
        assert_eq!(a["attempts"], 1);
        assert_eq!(a["plan_sha256"].as_str().unwrap().len(), 64);
    }
    let summary = lines.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["removed"], 9);
    assert_eq!(summary["success"], true);
    // Every request of the run is counted, reads included; none was sent twice.
    assert_eq!(summary["requests"], emu.requests().len());
    assert_eq!(summary["retries"], 0);

    // With client credentials, the client id is recorded and the secret is not.
    let dir2 = TempDir::new("apply-audit-cc");
    let cfg = convergent_example_config(&dir2);
    let emu2 = background(example_tenant(), Options::default());
    let audit2 = dir2.path().join("audit.jsonl");
    let out = OrgSync::new(&emu2)
        .args([
            "apply",
            "-c",
            cfg.to_str().unwrap(),
            "--auto-approve",
            "--audit-log",
            audit2.to_str().unwrap(),
        ])
        .cwd(dir2.path())
        .run();
    out.success();
    let log2 = std::fs::read_to_string(&audit2).unwrap();
    assert!(!log2.contains("demo-secret"));
    assert!(
        log2.lines()
            .all(|l| serde_json::from_str::<Value>(l).unwrap()["client_id"] == "demo")
    );
}

#[test]
fn the_audit_log_counts_the_attempts_of_a_call_that_is_not_retried() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-attempts");
    convergent_example_config(&dir);
    // A 404 is final: one attempt, recorded as one.
    emu.script_fault(ScriptedFault {
        method: "DELETE".into(),
        path: "/api/v2/organizations/org_cGR0immZcgIoQziO/members".into(),
        status: 404,
        times: 1,
    });
    let audit = dir.path().join("audit.jsonl");
    let out = apply_audited(&emu, &dir, &[]);
    out.failure();
    let lines = audit_lines(&audit);
    let failed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "delete" && l["status"] == 404)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["attempts"], 1);
    assert!(failed[0]["error"].as_str().unwrap().contains("404"));
}

#[test]
fn a_run_that_cannot_read_the_tenant_still_leaves_a_summary() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-read-fails");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: no-such-org\n    members: []\n    allow_empty: true\n",
    );
    let audit = dir.path().join("audit.jsonl");
    let out = apply_audited(&emu, &dir, &[]);
    out.failure();
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let summary = &lines[0];
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["success"], false);
    assert_eq!(summary["removed"], 0);
    assert_eq!(summary["plan_sha256"], Value::Null);
    assert_eq!(summary["client_id"], "demo");
    // The lookup and the token request.
    assert_eq!(summary["requests"], emu.requests().len());
    assert!(
        summary["error"].as_str().unwrap().contains("no-such-org"),
        "{summary}"
    );
    assert!(deletes(&emu).is_empty());
}

fn example_tenant_file() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tenant.yaml")
}

#[test]
fn a_plan_saved_against_a_sandbox_applies_against_the_same_sandbox() {
    let dir = TempDir::new("apply-sandbox-saved");
    convergent_example_config(&dir);
    let tenant = example_tenant_file();
    let tenant = tenant.to_str().unwrap();
    OrgSync::bare()
        .args([
            "plan",
            "-c",
            "orgsync.yaml",
            "--sandbox",
            tenant,
            "--out",
            "plan.json",
        ])
        .cwd(dir.path())
        .run()
        .success();
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap())
            .unwrap();
    let domain = plan["domain"].as_str().unwrap();
    assert!(domain.starts_with("sandbox:"), "{domain}");
    // A second plan of the same tenant file names the same sandbox.
    let again = OrgSync::bare()
        .args([
            "plan",
            "-c",
            "orgsync.yaml",
            "--sandbox",
            tenant,
            "--format",
            "json",
        ])
        .cwd(dir.path())
        .run();
    let again: Value = serde_json::from_str(again.success().stdout()).unwrap();
    assert_eq!(again["domain"], domain);
    // Without --sandbox, the plan's sandbox domain says what to pass.
    let no_sandbox = OrgSync::bare()
        .args(["apply", "plan.json", "-c", "orgsync.yaml", "--auto-approve"])
        .cwd(dir.path())
        .run();
    no_sandbox.failure();
    assert!(
        no_sandbox.stderr().contains("pass `--sandbox TENANT.yaml`"),
        "{}",
        no_sandbox.show()
    );
    let out = OrgSync::bare()
        .args([
            "apply",
            "plan.json",
            "-c",
            "orgsync.yaml",
            "--auto-approve",
            "--sandbox",
            tenant,
        ])
        .cwd(dir.path())
        .run();
    out.success();
    assert!(out.stdout().contains("Apply: 9 removed"), "{}", out.show());
}

#[test]
fn a_plans_domain_is_not_trusted_with_credentials_and_a_config_given_as_the_plan_gets_a_hint() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-plan-domain");
    convergent_example_config(&dir);
    saved_plan(&emu, &dir, "orgsync.yaml");
    // No --domain, no AUTH0_DOMAIN: a plan file is not trusted with where credentials go.
    // Only Auth0's own domains are taken from it; this one (the emulator) gets nothing, not
    // even the token request.
    let before = emu.requests().len();
    let out = OrgSync::bare()
        .envs(&[
            ("AUTH0_CLIENT_ID", "demo"),
            ("AUTH0_CLIENT_SECRET", "demo-secret"),
        ])
        .no_retry_delay()
        .args(["apply", "plan.json", "-c", "orgsync.yaml", "--auto-approve"])
        .cwd(dir.path())
        .run();
    out.failure();
    assert!(
        out.stderr()
            .contains("the plan was made for `http://127.0.0.1:")
            && out
                .stderr()
                .contains("hint: orgsync sends credentials only to a domain you name")
            && out.stderr().contains("pass `--domain http://127.0.0.1:"),
        "{}",
        out.show()
    );
    assert_eq!(emu.requests().len(), before, "{}", out.show());
    // Named, it applies.
    let out = OrgSync::new(&emu)
        .args(["apply", "plan.json", "-c", "orgsync.yaml", "--auto-approve"])
        .cwd(dir.path())
        .run();
    out.success();
    assert!(!deletes(&emu).is_empty(), "{}", out.show());
    // Another domain is still refused.
    let other = OrgSync::bare()
        .envs(&[
            ("AUTH0_CLIENT_ID", "demo"),
            ("AUTH0_CLIENT_SECRET", "demo-secret"),
        ])
        .args(["apply", "plan.json", "-c", "orgsync.yaml", "--auto-approve"])
        .args(["--domain", "travel0.us.auth0.com"])
        .cwd(dir.path())
        .run();
    other.failure();
    assert!(
        other.stderr().contains("the plan was made for"),
        "{}",
        other.show()
    );
    // The config passed where the plan goes.
    let mistaken = OrgSync::bare()
        .args(["apply", "orgsync.yaml"])
        .cwd(dir.path())
        .run();
    mistaken.failure();
    assert!(
        mistaken.stderr().contains("not a JSON plan")
            && mistaken.stderr().contains(
                "hint: `orgsync.yaml` looks like a config: pass it with `-c orgsync.yaml`"
            ),
        "{}",
        mistaken.show()
    );
}

#[test]
fn wait_never_takes_the_next_argument_as_its_value() {
    let dir = TempDir::new("apply-wait-arg");
    let out = OrgSync::bare()
        .args(["apply", "--wait", "stale.json"])
        .cwd(dir.path())
        .run();
    out.failure();
    assert!(
        out.stderr().contains("cannot read the plan `stale.json`"),
        "{}",
        out.show()
    );
}

#[test]
fn wait_waits_the_full_time_and_fails_when_removals_never_show() {
    let options = Options {
        removal_delay: Duration::from_millis(30_000),
        ..Options::default()
    };
    let emu = background(example_tenant(), options);
    let dir = TempDir::new("apply-wait-timeout");
    convergent_example_config(&dir);
    let out = OrgSync::new(&emu)
        .args(["apply", "-c", "orgsync.yaml", "--auto-approve", "--wait=5"])
        .cwd(dir.path())
        .run();
    out.code(1);
    assert!(
        out.stdout().contains("removals NOT yet visible"),
        "{}",
        out.show()
    );
    assert!(
        out.stderr()
            .contains("error: apply did not complete: removals not yet visible after --wait=5 s"),
        "{}",
        out.show()
    );
    assert!(out.stderr().contains("hint: "), "{}", out.show());
    assert!(
        out.took >= Duration::from_secs(5),
        "{:?}\n{}",
        out.took,
        out.show()
    );
}

#[test]
fn a_forbidden_delete_reaches_stderr_with_the_scope_to_grant() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-403");
    convergent_example_config(&dir);
    let out = OrgSync::at(&emu.url())
        .envs(&[
            ("AUTH0_CLIENT_ID", "read-only"),
            ("AUTH0_CLIENT_SECRET", "read-only-secret"),
        ])
        .args(["apply", "-c", "orgsync.yaml", "--auto-approve"])
        .cwd(dir.path())
        .run();
    out.code(1);
    let err = out.stderr();
    // The token's granted scopes are known before anything is sent: refused then, not by a
    // 403 per DELETE.
    assert!(
        err.contains("error: refusing to apply: the token lacks `delete:organization_members`"),
        "{}",
        out.show()
    );
    assert!(
        err.lines()
            .any(|l| l.starts_with("hint: ") && l.contains("delete:organization_members")),
        "{}",
        out.show()
    );
    assert!(
        api_requests(&emu).iter().all(|r| r.method == "GET"),
        "nothing is sent"
    );
}
