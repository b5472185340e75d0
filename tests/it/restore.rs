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
    let emu = background(tenant, Options::default());
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

fn restore(emu: &Emulator, dir: &TempDir, run: &str, extra: &[&str]) -> Run {
    OrgSync::new(emu)
        .args(["restore", "--auto-approve", "--run", run, "--audit-log"])
        .arg(dir.path().join("audit.jsonl"))
        .args(extra)
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

fn names(roles: Option<Vec<Role>>) -> Vec<String> {
    roles
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.name)
        .collect()
}

#[test]
fn restore_re_adds_exactly_the_removed_members_with_their_direct_roles_then_plan_shows_no_change() {
    let emu = emulator();
    let dir = TempDir::new("restore-exact");
    dir.write("orgsync.yaml", &config(&ALL[..2]));
    let applied = apply_audited(&emu, &dir, &[]);
    applied.success();
    assert!(
        !applied.stdout().contains("not recorded"),
        "{}",
        applied.show()
    );
    let mut members = emu.state().organizations[0].members.clone();
    members.sort();
    assert_eq!(members, ["auth0|m0000", "auth0|m0001"]);
    let audit = dir.path().join("audit.jsonl");
    let lines = audit_lines(&audit);
    let run = last_apply_run(&lines);
    // The intent records direct roles and group roles apart.
    let intent = lines.iter().find(|l| l["event"] == "intent").unwrap();
    assert_eq!(intent["roles"][1]["user_id"], "auth0|m0003");
    assert_eq!(intent["roles"][1]["roles"][0]["name"], "viewer");
    assert_eq!(intent["group_roles"][1]["roles"][0]["name"], "sso");
    assert_eq!(intent["group_roles"][0]["roles"], serde_json::json!([]));
    emu.clear_requests();
    // Revert the config, then restore.
    dir.write("orgsync.yaml", &config(ALL));
    let r = restore(&emu, &dir, &run, &[]);
    r.success();
    assert!(r.stdout().contains("roles: admin, billing"), "{}", r.show());
    assert!(
        r.stdout()
            .contains("group roles not assigned (they come back with the group): sso"),
        "{}",
        r.show()
    );
    let mut members = emu.state().organizations[0].members.clone();
    members.sort();
    assert_eq!(
        members,
        ALL.iter().map(|m| format!("auth0|{m}")).collect::<Vec<_>>()
    );
    assert_eq!(
        names(emu.roles_of(ORG, "auth0|m0002")),
        ["admin", "billing"]
    );
    // Only direct roles: the group's role is not assigned.
    assert_eq!(names(emu.roles_of(ORG, "auth0|m0003")), ["viewer"]);
    // One POST of the members (at most 10), one per member with roles.
    let p = posts(&emu);
    assert_eq!(
        p.iter().filter(|p| p.ends_with("/members")).count(),
        1,
        "{p:?}"
    );
    assert_eq!(
        p.iter().filter(|p| p.ends_with("/roles")).count(),
        2,
        "{p:?}"
    );
    // Every POST has its intent before it and its outcome after, in the same log.
    let lines = audit_lines(&audit);
    let restore_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| l["restores_run"] == run.as_str())
        .collect();
    let events: Vec<&str> = restore_lines
        .iter()
        .map(|l| l["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "start", "intent", "restore", "intent", "restore", "intent", "restore", "summary"
        ]
    );
    assert!(
        restore_lines
            .iter()
            .all(|l| l["run_id"] == restore_lines[0]["run_id"])
    );
    assert_ne!(restore_lines[0]["run_id"], run.as_str());
    assert_eq!(restore_lines[2]["outcome"], "restored");
    assert_eq!(restore_lines[1]["action"], "add_members");
    assert_eq!(restore_lines[7]["success"], true);
    // The next plan shows no change.
    OrgSync::new(&emu)
        .args(["plan", "-c", "orgsync.yaml", "--detailed-exitcode"])
        .cwd(dir.path())
        .run()
        .code(0);
    // Restoring again has nothing left to do, and sends nothing.
    emu.clear_requests();
    let again = restore(&emu, &dir, &run, &[]);
    again.success();
    assert!(
        again.stdout().contains("already a member again"),
        "{}",
        again.show()
    );
    assert!(posts(&emu).is_empty());
}

#[test]
fn restore_of_a_member_the_config_does_not_declare_refuses_before_sending() {
    let emu = emulator();
    let dir = TempDir::new("restore-undeclared");
    dir.write("orgsync.yaml", &config(&ALL[..2]));
    // A token that may not read effective roles: that is said once, and apply goes on.
    let applied = OrgSync::at(&emu.url())
        .env("AUTH0_CLIENT_ID", "no-create")
        .env("AUTH0_CLIENT_SECRET", "no-create-secret")
        .args(["apply", "--auto-approve", "--audit-log"])
        .arg(dir.path().join("audit.jsonl"))
        .cwd(dir.path())
        .run();
    applied.success();
    assert_eq!(
        applied
            .stdout()
            .matches("the token lacks `read:organization_member_effective_roles`")
            .count(),
        1,
        "{}",
        applied.show()
    );
    let audit = dir.path().join("audit.jsonl");
    let run = last_apply_run(&audit_lines(&audit));
    emu.clear_requests();
    // The config is not reverted: m2 and m3 are not declared.
    let r = restore(&emu, &dir, &run, &[]);
    r.code(1);
    assert!(r.stderr().contains("refusing to restore"), "{}", r.show());
    assert!(
        r.stderr()
            .contains("revert the change first, or declare them"),
        "{}",
        r.show()
    );
    assert!(posts(&emu).is_empty(), "{:?}", posts(&emu));
    let last = audit_lines(&audit).pop().unwrap();
    assert_eq!(last["event"], "summary");
    assert_eq!(last["command"], "restore");
    assert_eq!(last["success"], false);
    // Declaring one and narrowing to them restores only them.
    dir.write("orgsync.yaml", &config(&ALL[..3]));
    restore(&emu, &dir, &run, &["--user", "auth0|m0002"]).success();
    let mut members = emu.state().organizations[0].members.clone();
    members.sort();
    assert_eq!(members, ["auth0|m0000", "auth0|m0001", "auth0|m0002"]);
}

#[test]
fn a_deleted_role_and_a_deleted_user_are_said_and_the_rest_restored() {
    let emu = emulator();
    let dir = TempDir::new("restore-gone");
    dir.write("orgsync.yaml", &config(&ALL[..2]));
    apply_audited(&emu, &dir, &[]).success();
    let run = last_apply_run(&audit_lines(&dir.path().join("audit.jsonl")));
    assert!(emu.delete_role(&Role::named("billing").id));
    emu.delete_user("auth0|m0003");
    dir.write("orgsync.yaml", &config(ALL));
    let r = restore(&emu, &dir, &run, &[]);
    r.success();
    assert!(r.stdout().contains("role `billing`"), "{}", r.show());
    assert!(
        r.stdout().contains("no longer exists: not assigned"),
        "{}",
        r.show()
    );
    assert!(
        r.stdout()
            .contains("auth0|m0003: the user no longer exists"),
        "{}",
        r.show()
    );
    assert_eq!(names(emu.roles_of(ORG, "auth0|m0002")), ["admin"]);
    assert!(emu.roles_of(ORG, "auth0|m0003").is_none());
}

#[test]
fn a_token_without_the_create_scopes_is_refused_before_anything_is_sent() {
    let emu = emulator();
    let dir = TempDir::new("restore-scopes");
    dir.write("orgsync.yaml", &config(&ALL[..2]));
    apply_audited(&emu, &dir, &[]).success();
    let run = last_apply_run(&audit_lines(&dir.path().join("audit.jsonl")));
    dir.write("orgsync.yaml", &config(ALL));
    emu.clear_requests();
    let r = OrgSync::at(&emu.url())
        .env("AUTH0_CLIENT_ID", "no-create")
        .env("AUTH0_CLIENT_SECRET", "no-create-secret")
        .args(["restore", "--auto-approve", "--run", &run, "--audit-log"])
        .arg(dir.path().join("audit.jsonl"))
        .cwd(dir.path())
        .run();
    r.code(1);
    assert!(
        r.stderr().contains("`create:organization_members`"),
        "{}",
        r.show()
    );
    assert!(
        r.stderr().contains("`create:organization_member_roles`"),
        "{}",
        r.show()
    );
    assert!(posts(&emu).is_empty());
}

#[test]
fn an_unknown_run_names_the_runs_the_log_has() {
    let emu = emulator();
    let dir = TempDir::new("restore-unknown-run");
    dir.write("orgsync.yaml", &config(&ALL[..2]));
    apply_audited(&emu, &dir, &[]).success();
    let run = last_apply_run(&audit_lines(&dir.path().join("audit.jsonl")));
    let r = restore(&emu, &dir, "0123", &[]);
    r.code(1);
    assert!(r.stderr().contains(&run), "{}", r.show());
}
