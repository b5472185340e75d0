//! `orgsync restore`: an apply's removals undone exactly, against the emulator, through the
//! same write-ahead audit log; refusals for members the config does not declare and for a
//! token without the scopes; a role deleted and a user deleted since the removal.

use orgsync_emulator::fixtures::{client, demo_tenant, org_with_members};
use orgsync_emulator::tenant::Role;
use orgsync_emulator::{Emulator, Options};
use serde_json::Value;

use crate::support::*;

const ORG: &str = "org_acmeacmeacmeacm1";

/// Four members: m0 and m1 kept, m2 (admin, billing) and m3 (viewer) removed by the config
/// `removing` declares.
fn emulator() -> Emulator {
    emulator_with(Options::default())
}

fn emulator_with(options: Options) -> Emulator {
    let mut tenant = demo_tenant(vec![org_with_members(ORG, "acme", "m", 4)]);
    tenant.clients[0]
        .scopes
        .push("read:organization_member_effective_roles".into());
    tenant.clients.push(client(
        "no-create",
        "no-create-secret",
        &[
            "read:organizations",
            "read:organization_members",
            "read:organization_member_roles",
            "delete:organization_members",
            "read:users",
        ],
    ));
    let emu = background(tenant, options);
    assert!(emu.set_roles(
        ORG,
        "auth0|m0002",
        vec![Role::named("admin"), Role::named("billing")]
    ));
    assert!(emu.set_roles(ORG, "auth0|m0003", vec![Role::named("viewer")]));
    assert!(emu.set_group_roles(ORG, "auth0|m0003", vec![Role::named("sso")]));
    emu
}

fn config(members: &[&str]) -> String {
    let list: String = members
        .iter()
        .map(|m| format!("      - \"auth0|{m}\"\n"))
        .collect();
    format!(
        "version: 1\norganizations:\n  - name: acme\n    max_removals: 100%\n    members:\n{list}"
    )
}

const ALL: &[&str] = &["m0000", "m0001", "m0002", "m0003"];

/// The run id of the last `start` line of an apply.
fn last_apply_run(lines: &[Value]) -> String {
    lines
        .iter()
        .rev()
        .find(|l| l["event"] == "start" && l.get("command").is_none())
        .and_then(|l| l["run_id"].as_str())
        .expect("an apply start line")
        .to_string()
}

/// `orgsync restore --auto-approve --run RUN --audit-log audit.jsonl` in `dir`, not yet run.
fn restore_cmd(emu: &Emulator, dir: &TempDir, run: &str) -> OrgSync {
    OrgSync::new(emu)
        .args(["restore", "--auto-approve", "--run", run, "--audit-log"])
        .arg(dir.path().join("audit.jsonl"))
        .cwd(dir.path())
}

fn restore(emu: &Emulator, dir: &TempDir, run: &str, extra: &[&str]) -> Run {
    restore_cmd(emu, dir, run).args(extra).run()
}

/// The run id of the last apply in `dir`'s `audit.jsonl`.
fn run_of(dir: &TempDir) -> String {
    last_apply_run(&audit_of(dir))
}

/// The lines of `dir`'s `audit.jsonl`.
fn audit_of(dir: &TempDir) -> Vec<Value> {
    audit_lines(&dir.path().join("audit.jsonl"))
}

/// acme's members now, sorted.
fn sorted_members(emu: &Emulator) -> Vec<String> {
    let mut members = emu.state().organizations[0].members.clone();
    members.sort();
    members
}

/// `orgsync ARGS` as client `no-create` (no `create:*` scope, no effective roles), in `dir`.
fn no_create(emu: &Emulator, dir: &TempDir, args: &[&str]) -> Run {
    let cmd = OrgSync::at(&emu.url()).env("AUTH0_CLIENT_ID", "no-create");
    let cmd = cmd
        .env("AUTH0_CLIENT_SECRET", "no-create-secret")
        .args(args);
    cmd.arg("--audit-log")
        .arg(dir.path().join("audit.jsonl"))
        .cwd(dir.path())
        .run()
}

fn posts(emu: &Emulator) -> Vec<String> {
    api_requests(emu)
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path)
        .collect()
}

/// The names of `user`'s direct roles in acme.
fn roles(emu: &Emulator, user: &str) -> Vec<String> {
    let roles = emu.roles_of(ORG, user).unwrap_or_default();
    roles.into_iter().map(|r| r.name).collect()
}

/// [`applied_and_reverted`], then restored: the emulator, the directory, the run restored and
/// the restore's own run.
fn restored(tag: &str) -> (Emulator, TempDir, String, Run) {
    let emu = emulator();
    let dir = TempDir::new(tag);
    let run = applied_and_reverted(&emu, &dir);
    let r = restore(&emu, &dir, &run, &[]);
    r.success();
    (emu, dir, run, r)
}

#[test]
fn the_apply_records_direct_roles_and_group_roles_apart() {
    let emu = emulator();
    let dir = TempDir::new("restore-intent");
    dir.write("orgsync.yaml", &config(&ALL[..2]));
    assert_lacks(
        apply_audited(&emu, &dir, &[]).success().stdout(),
        "not recorded",
    );
    assert_eq!(sorted_members(&emu), ["auth0|m0000", "auth0|m0001"]);
    let lines = audit_of(&dir);
    let intent = lines.iter().find(|l| l["event"] == "intent").unwrap();
    assert_eq!(intent["roles"][1]["user_id"], "auth0|m0003");
    assert_eq!(intent["roles"][1]["roles"][0]["name"], "viewer");
    assert_eq!(intent["group_roles"][1]["roles"][0]["name"], "sso");
    assert_eq!(intent["group_roles"][0]["roles"], serde_json::json!([]));
}

#[test]
fn restore_re_adds_exactly_the_removed_members_with_their_direct_roles() {
    let (emu, _, _, r) = restored("restore-exact");
    r.stdout_has("roles: admin, billing");
    r.stdout_has("group roles not assigned (they come back with the group): sso");
    let all: Vec<String> = ALL.iter().map(|m| format!("auth0|{m}")).collect();
    assert_eq!(sorted_members(&emu), all);
    assert_eq!(roles(&emu, "auth0|m0002"), ["admin", "billing"]);
    // Only direct roles: the group's role is not assigned.
    assert_eq!(roles(&emu, "auth0|m0003"), ["viewer"]);
    // One POST of the members (at most 10), one per member with roles.
    let p = posts(&emu);
    let ending = |end: &str| p.iter().filter(|p| p.ends_with(end)).count();
    assert_eq!(ending("/members"), 1, "{p:?}");
    assert_eq!(ending("/roles"), 2, "{p:?}");
}

#[test]
fn every_post_of_a_restore_has_its_intent_before_it_and_the_chain_still_holds() {
    let (_, dir, run, _) = restored("restore-log");
    let mut log = audit_of(&dir);
    log.retain(|l| l["restores_run"] == run.as_str());
    let log = Value::from(log);
    let want = [
        "start", "intent", "restore", "intent", "restore", "intent", "restore", "summary",
    ];
    assert_eq!(strs(&log, "event"), want);
    // One run of its own.
    let restore_run = log[0]["run_id"].as_str().unwrap();
    assert_eq!(strs(&log, "run_id"), [restore_run; 8]);
    assert_ne!(restore_run, run);
    assert_eq!(log[2]["outcome"], "restored");
    assert_eq!(log[1]["action"], "add_members");
    assert_eq!(log[7]["success"], true);
    // The log, with the restore's lines in it, still verifies as one chain.
    let verify = OrgSync::bare().args(["audit", "verify", "audit.jsonl"]);
    verify.cwd(dir.path()).run().success();
}

#[test]
fn after_a_restore_the_plan_shows_no_change_and_restoring_again_sends_nothing() {
    let (emu, dir, run, _) = restored("restore-again");
    let plan = OrgSync::new(&emu).args(["plan", "-c", "orgsync.yaml", "--detailed-exitcode"]);
    plan.cwd(dir.path()).run().code(0);
    emu.clear_requests();
    let again = restore(&emu, &dir, &run, &[]);
    again.success().stdout_has("already a member again");
    assert!(posts(&emu).is_empty());
}

#[test]
fn restore_of_a_member_the_config_does_not_declare_refuses_before_sending() {
    let emu = emulator();
    let dir = TempDir::new("restore-undeclared");
    dir.write("orgsync.yaml", &config(&ALL[..2]));
    // A token that may not read effective roles: that is said once, and apply goes on.
    let applied = no_create(&emu, &dir, &["apply", "--auto-approve"]);
    let lacks = "the token lacks `read:organization_member_effective_roles`";
    let said = applied.success().stdout().matches(lacks).count();
    assert_eq!(said, 1, "{}", applied.show());
    let run = run_of(&dir);
    emu.clear_requests();
    // The config is not reverted: m2 and m3 are not declared.
    let r = restore(&emu, &dir, &run, &[]);
    r.code(1).stderr_has("refusing to restore");
    r.stderr_has("revert the change first, or declare them");
    assert!(posts(&emu).is_empty(), "{:?}", posts(&emu));
    let last = audit_of(&dir).pop().unwrap();
    assert_eq!(last["event"], "summary");
    assert_eq!(last["command"], "restore");
    assert_eq!(last["success"], false);
    // Declaring one and narrowing to them restores only them.
    dir.write("orgsync.yaml", &config(&ALL[..3]));
    restore(&emu, &dir, &run, &["--user", "auth0|m0002"]).success();
    let want = ["auth0|m0000", "auth0|m0001", "auth0|m0002"];
    assert_eq!(sorted_members(&emu), want);
}

#[test]
fn a_deleted_role_and_a_deleted_user_are_said_and_the_rest_restored() {
    let emu = emulator();
    let dir = TempDir::new("restore-gone");
    dir.write("orgsync.yaml", &config(&ALL[..2]));
    apply_audited(&emu, &dir, &[]).success();
    let run = run_of(&dir);
    assert!(emu.delete_role(&Role::named("billing").id));
    emu.delete_user("auth0|m0003");
    dir.write("orgsync.yaml", &config(ALL));
    let r = restore(&emu, &dir, &run, &[]);
    r.success();
    r.stdout_has("role `billing`");
    r.stdout_has("no longer exists: not assigned");
    r.stdout_has("auth0|m0003: the user no longer exists");
    assert_eq!(roles(&emu, "auth0|m0002"), ["admin"]);
    assert!(emu.roles_of(ORG, "auth0|m0003").is_none());
}

#[test]
fn a_token_without_the_create_scopes_is_refused_before_anything_is_sent() {
    let emu = emulator();
    let dir = TempDir::new("restore-scopes");
    dir.write("orgsync.yaml", &config(&ALL[..2]));
    apply_audited(&emu, &dir, &[]).success();
    let run = run_of(&dir);
    dir.write("orgsync.yaml", &config(ALL));
    emu.clear_requests();
    let r = no_create(&emu, &dir, &["restore", "--auto-approve", "--run", &run]);
    r.code(1);
    r.stderr_has("`create:organization_members`");
    r.stderr_has("`create:organization_member_roles`");
    assert!(posts(&emu).is_empty());
}

#[test]
fn an_unknown_run_names_the_runs_the_log_has() {
    let emu = emulator();
    let dir = TempDir::new("restore-unknown-run");
    dir.write("orgsync.yaml", &config(&ALL[..2]));
    apply_audited(&emu, &dir, &[]).success();
    let run = run_of(&dir);
    let r = restore(&emu, &dir, "0123", &[]);
    r.code(1);
    r.stderr_has(&run);
}

// ---------------------------------------------------------------------------------------------
// Hostile: 5xx, 429, an interrupt, a full disk; and a property over random cases.
// ---------------------------------------------------------------------------------------------

fn encoded(user_id: &str) -> String {
    user_id.replace('|', "%7C")
}

/// Applies `config(&ALL[..2])` (m2 and m3 removed), reverts the config, and returns the run.
fn applied_and_reverted(emu: &Emulator, dir: &TempDir) -> String {
    dir.write("orgsync.yaml", &config(&ALL[..2]));
    apply_audited(emu, dir, &[]).success();
    dir.write("orgsync.yaml", &config(ALL));
    emu.clear_requests();
    last_apply_run(&audit_lines(&dir.path().join("audit.jsonl")))
}

#[test]
fn transient_429s_and_5xx_are_retried_within_one_recorded_call() {
    let emu = emulator();
    let dir = TempDir::new("restore-transient");
    let run = applied_and_reverted(&emu, &dir);
    let members = format!("/api/v2/organizations/{ORG}/members");
    for status in [429, 500] {
        emu.script_fault(fault("POST", &members, status, 1));
    }
    restore(&emu, &dir, &run, &[]).success();
    assert_eq!(roles(&emu, "auth0|m0002"), ["admin", "billing"]);
    let sent = posts(&emu).iter().filter(|p| **p == members).count();
    assert_eq!(sent, 3, "two answered 429 and 500, then carried out");
    let lines = audit_of(&dir);
    let adds = lines.iter().filter(|l| l["event"] == "restore");
    let adds: Vec<&Value> = adds.filter(|l| l["action"] == "add_members").collect();
    assert_eq!(adds.len(), 1);
    assert_eq!(adds[0]["outcome"], "restored");
    assert_eq!(adds[0]["attempts"], 3);
}

#[test]
fn roles_refused_by_a_5xx_are_reported_and_a_second_restore_assigns_only_them() {
    let emu = emulator();
    let dir = TempDir::new("restore-5xx");
    let run = applied_and_reverted(&emu, &dir);
    let m2_roles = format!(
        "/api/v2/organizations/{ORG}/members/{}/roles",
        encoded("auth0|m0002")
    );
    emu.script_fault(fault("POST", &m2_roles, 503, 50));
    let r = restore(&emu, &dir, &run, &[]);
    r.code(1);
    r.stdout_has("restored auth0|m0002, roles NOT assigned");
    r.stderr_has("1 without their roles");
    assert!(emu.roles_of(ORG, "auth0|m0002").unwrap().is_empty());
    assert_eq!(roles(&emu, "auth0|m0003"), ["viewer"]);
    let lines = audit_of(&dir);
    let failed = lines
        .iter()
        .find(|l| l["action"] == "assign_roles" && l["outcome"] == "failed")
        .expect("the failed assignment is recorded");
    assert_eq!(failed["status"], 503);
    assert_eq!(lines.last().unwrap()["success"], false);
    // The fault is over (what is left of it is used up here); a second restore adds nobody
    // and assigns m2's roles only.
    let scripted_left = 50 - posts(&emu).iter().filter(|p| **p == m2_roles).count();
    for _ in 0..scripted_left {
        raw_exchange(&emu, "POST", &m2_roles, "{}");
    }
    emu.clear_requests();
    let again = restore(&emu, &dir, &run, &[]);
    again.success();
    again.stdout_has("a member again, lacking roles: admin, billing");
    assert_eq!(roles(&emu, "auth0|m0002"), ["admin", "billing"]);
    let p = posts(&emu);
    assert!(p.iter().all(|p| p.ends_with("m0002/roles")), "{p:?}");
}

#[test]
fn an_audit_log_that_cannot_be_written_sends_no_post() {
    use orgsync::apply::audit::AuditLog;
    use orgsync::apply::restore::{Readd, RestoreOrg, RestorePlan};
    use orgsync::apply::{Interrupt, Ledger, RunInfo};
    use orgsync::auth0::{Client, ClientOptions, Credentials, Domain, Secret};
    let emu = emulator();
    emu.remove_members(ORG, &["auth0|m0002"]);
    emu.clear_requests();
    let client = Client::new(
        Domain::parse(&emu.url()).unwrap(),
        Credentials::Client {
            client_id: "demo".into(),
            client_secret: Secret::new("demo-secret"),
        },
        ClientOptions::default(),
    )
    .unwrap();
    let plan = RestorePlan {
        run_id: "r".into(),
        organizations: vec![RestoreOrg {
            id: ORG.into(),
            name: "acme".into(),
            add: vec![Readd {
                user_id: "auth0|m0002".into(),
                roles: vec![],
                group_roles: vec![],
                roles_unknown: false,
                already_member: false,
                email: None,
                name: None,
            }],
            ..RestoreOrg::default()
        }],
        roles_checked: true,
    };
    let log = AuditLog::open(std::path::Path::new("/dev/full")).unwrap();
    let ledger = std::sync::Arc::new(std::sync::Mutex::new(Ledger::new(Some(log))));
    let info = std::sync::Arc::new(RunInfo {
        run_id: "x".into(),
        domain: "d".into(),
        plan_sha256: plan.digest(),
        client_id: None,
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let report = rt.block_on(orgsync::apply::restore::execute(
        std::sync::Arc::new(client),
        &plan,
        info,
        ledger,
        Interrupt::new(),
    ));
    assert!(report.audit_failed);
    assert!(!report.success());
    assert_eq!(report.restored(), 0);
    assert!(posts(&emu).is_empty(), "a POST went out unrecorded");
    assert!(
        !emu.state().organizations[0]
            .members
            .contains(&"auth0|m0002".to_string())
    );
}

#[test]
fn sigint_mid_restore_exits_130_and_the_log_accounts_for_every_member_added() {
    use orgsync_emulator::fixtures::member;
    // 60 members removed; each POST takes 300 ms.
    let mut org = org_with_members(ORG, "acme", "m", 0);
    org.members = (0..60)
        .map(|i| member(&format!("auth0|m{i:04}"), &format!("m{i}@example.com"), "M"))
        .collect();
    let emu = background(
        demo_tenant(vec![org]),
        Options {
            latency: std::time::Duration::from_millis(300),
            ..Options::default()
        },
    );
    let dir = TempDir::new("restore-sigint");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: acme\n    members: []\n    allow_empty: true\n    max_removals: 100%\n",
    );
    apply_audited(&emu, &dir, &[]).success();
    let audit = dir.path().join("audit.jsonl");
    let run = last_apply_run(&audit_lines(&audit));
    let all: Vec<String> = (0..60).map(|i| format!("m{i:04}")).collect();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    dir.write("orgsync.yaml", &config(&all));
    emu.clear_requests();
    let child = OrgSync::new(&emu)
        .args(["restore", "--auto-approve", "--run", &run, "--audit-log"])
        .arg(&audit)
        .cwd(dir.path())
        .spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while posts(&emu).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no POST within 60 s");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let r = child.wait(std::time::Duration::from_secs(60));
    let at_end = posts(&emu).len();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    assert_eq!(
        posts(&emu).len(),
        at_end,
        "a POST arrived after the run ended"
    );
    r.assert_no_panic();
    r.code_for(130, "SIGINT must exit 130");
    let back = emu.state().organizations[0].members.clone();
    assert!(
        back.len() < 60,
        "the interrupt came too late to test anything"
    );
    let lines = audit_lines(&audit);
    for u in &back {
        let accounted = lines.iter().any(|l| {
            l["action"] == "add_members"
                && l["event"] == "restore"
                && ["restored", "unknown"].contains(&l["outcome"].as_str().unwrap_or(""))
                && l["user_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x == u.as_str())
        });
        assert!(
            accounted,
            "{u} is back but the log does not say so:\n{lines:#?}"
        );
    }
    let summary = lines.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["interrupted"], true);
    assert_eq!(summary["success"], false);
}

/// Random cases: a tenant, an apply that removes some members, a config changed again (some
/// of them declared, some not, others added), the tenant changed meanwhile (a user deleted,
/// a member re-added by someone else), faults on the POSTs. Restore never adds anyone the run
/// did not remove, never anyone undeclared, sends nothing while any chosen member is
/// undeclared, and every POST it sends has its intent in the log before it arrived.
#[test]
fn property_restore_adds_only_what_the_run_removed_and_the_config_declares() {
    let mut seed: u64 = 0x5eed_2026;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n.max(1)
    };
    let mut refused_cases = 0;
    let mut restored_cases = 0;
    for case in 0..12 {
        let n = 4 + next(20) as usize;
        let ids: Vec<String> = (0..n).map(|i| format!("m{i:04}")).collect();
        let emu = background(
            demo_tenant(vec![org_with_members(ORG, "acme", "m", n)]),
            Options::default(),
        );
        for u in &ids {
            if next(2) == 0 {
                emu.set_roles(
                    ORG,
                    &format!("auth0|{u}"),
                    vec![Role::named(&format!("r{}", next(3)))],
                );
            }
        }
        let kept: Vec<&str> = ids
            .iter()
            .filter(|_| next(2) == 0)
            .map(String::as_str)
            .collect();
        let dir = TempDir::new(&format!("restore-prop-{case}"));
        dir.write("orgsync.yaml", &config(&kept));
        apply_audited(&emu, &dir, &[]).assert_no_panic();
        let audit = dir.path().join("audit.jsonl");
        let lines = audit_lines(&audit);
        let Some(run) = lines
            .iter()
            .rev()
            .find(|l| l["event"] == "start")
            .and_then(|l| l["run_id"].as_str())
            .map(str::to_string)
        else {
            continue;
        };
        let removed: std::collections::BTreeSet<String> = lines
            .iter()
            .filter(|l| l["event"] == "delete" && l["outcome"] == "removed")
            .flat_map(|l| l["user_ids"].as_array().unwrap().clone())
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        // The config now: what was kept, most or all of what was removed, and a newcomer.
        let mut declared: Vec<String> = kept.iter().map(|s| s.to_string()).collect();
        let all_back = next(2) == 0;
        for u in &ids {
            let uid = format!("auth0|{u}");
            if removed.contains(&uid) && (all_back || next(3) != 0) {
                declared.push(u.clone());
            }
        }
        declared.push("newcomer".into());
        let declared_ref: Vec<&str> = declared.iter().map(String::as_str).collect();
        dir.write("orgsync.yaml", &config(&declared_ref));
        let declared: std::collections::BTreeSet<String> =
            declared.iter().map(|u| format!("auth0|{u}")).collect();
        // The tenant meanwhile: someone re-added a removed member; a user deleted.
        if let Some(u) = removed.iter().next()
            && next(2) == 0
        {
            emu.add_members(ORG, &[u]);
        }
        if let Some(u) = removed.iter().last()
            && next(3) == 0
        {
            emu.delete_user(u);
        }
        if next(2) == 0 {
            emu.script_fault(orgsync_emulator::ScriptedFault {
                method: "POST".into(),
                path: format!("/api/v2/organizations/{ORG}/members"),
                status: *[429u16, 500, 503, 0].get(next(4) as usize).unwrap(),
                times: 1 + next(2) as u32,
            });
        }
        let before: std::collections::BTreeSet<String> = emu.state().organizations[0]
            .members
            .iter()
            .cloned()
            .collect();
        emu.clear_requests();
        let r = restore(&emu, &dir, &run, &[]);
        r.assert_no_panic();
        let after: std::collections::BTreeSet<String> = emu.state().organizations[0]
            .members
            .iter()
            .cloned()
            .collect();
        let added: Vec<&String> = after.difference(&before).collect();
        for u in &added {
            assert!(
                removed.contains(*u),
                "case {case}: {u} added but the run did not remove them\n{}",
                r.show()
            );
            assert!(
                declared.contains(*u),
                "case {case}: {u} added but not declared\n{}",
                r.show()
            );
        }
        let undeclared_chosen = removed.iter().any(|u| !declared.contains(u));
        if undeclared_chosen {
            refused_cases += 1;
            assert!(
                posts(&emu).is_empty(),
                "case {case}: a POST despite an undeclared member\n{}",
                r.show()
            );
            r.code(1);
        } else if !removed.is_empty() {
            restored_cases += 1;
        }
        // Every POST arrived after an intent for it.
        let lines = audit_lines(&audit);
        let intents: Vec<&Value> = lines
            .iter()
            .filter(|l| l["event"] == "intent" && l["restores_run"] == run.as_str())
            .collect();
        for p in api_requests(&emu)
            .into_iter()
            .filter(|r| r.method == "POST")
        {
            let covered = intents.iter().any(|i| {
                let about = if p.path.ends_with("/roles") {
                    i["action"] == "assign_roles"
                        && p.path
                            .contains(&encoded(i["user_ids"][0].as_str().unwrap()))
                } else {
                    i["action"] == "add_members"
                };
                about && i["time"].as_str().unwrap() <= p.time.as_str()
            });
            assert!(
                covered,
                "case {case}: POST {} at {} has no intent before it:\n{intents:#?}",
                p.path, p.time
            );
        }
    }
    assert!(
        refused_cases > 0 && restored_cases > 0,
        "the cases cover both: {refused_cases} refused, {restored_cases} restored"
    );
}

/// Under a tenant-wide bucket of 3 requests refilled at 10 per second, restore meets real 429s
/// (with `x-ratelimit-*` headers), waits as they say, and finishes exactly.
#[test]
fn restore_under_a_small_rate_limit_waits_out_the_429s_and_finishes() {
    let emu = emulator_with(rate_limited(3, 10.0));
    let dir = TempDir::new("restore-429");
    let run = applied_and_reverted(&emu, &dir);
    restore_cmd(&emu, &dir, &run).real_waits().run().success();
    let answers = api_requests(&emu);
    let limited = answers.iter().filter(|r| r.status == 429).count();
    assert!(limited > 0, "the bucket never ran dry: nothing was tested");
    assert_eq!(sorted_members(&emu).len(), 4);
    assert_eq!(roles(&emu, "auth0|m0002"), ["admin", "billing"]);
    assert_eq!(roles(&emu, "auth0|m0003"), ["viewer"]);
}

#[test]
fn without_a_terminal_or_auto_approve_restore_refuses_and_sends_nothing() {
    let emu = emulator();
    let dir = TempDir::new("restore-no-tty");
    let run = applied_and_reverted(&emu, &dir);
    let r = OrgSync::new(&emu).args(["restore", "--run", &run, "--audit-log"]);
    let r = r.arg(dir.path().join("audit.jsonl")).cwd(dir.path()).run();
    r.code(1);
    r.stderr_has("stdin is not a terminal");
    // The restore is shown first.
    r.stdout_has("+ auth0|m0002");
    assert!(posts(&emu).is_empty());
    let last = audit_of(&dir).pop().unwrap();
    assert_eq!(last["event"], "summary");
    assert_eq!(last["success"], false);
}
