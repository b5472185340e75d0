//! Removals that stick: the plan says which removed members can walk back in (auto-membership,
//! signup), treats invitations as declared state, records roles before removal; apply revokes
//! undeclared invitations; and the emulator acts as a person does to show the doors end to end.

use crate::support::*;
use orgsync_emulator::{Emulator, Tenant};
use serde_json::Value;

const ALL_READS: &str = "[read:organizations, read:organization_members, read:organization_member_roles, read:organization_connections, read:organization_invitations, read:users, delete:organization_members, delete:organization_invitations]";

/// The scopes of a token from before the re-entry checks.
const MEMBER_READS: &str = "[read:organizations, read:organization_members]";

/// acme: `auth0|keep` (declared), Ada (SAML through `corp`, which has auto-membership), Bob (a
/// database user; the database connection has no auto-membership); three invitations.
fn tenant(scopes: &str) -> Tenant {
    Tenant::from_yaml(&format!(
        r#"
clients:
  - client_id: demo
    client_secret: demo-secret
    scopes: {scopes}
organizations:
  - id: org_reentryreentry01
    name: acme
    enabled_connections:
      - connection: corp
        assign_membership_on_login: true
      - connection: Username-Password-Authentication
        assign_membership_on_login: false
    invitations:
      - id: uinv_declared0000001
        invitee_email: keep@acme.example
      - id: uinv_undeclared00001
        invitee_email: eve@elsewhere.example
        roles: [admin]
      - id: uinv_expired0000001
        invitee_email: old@elsewhere.example
        created_at: "2020-01-01T00:00:00.000Z"
        expires_at: "2020-01-08T00:00:00.000Z"
    members:
      - user_id: "auth0|keep"
        email: keep@acme.example
      - user_id: "samlp|corp|ada"
        email: ada@acme.example
        roles: [admin, billing]
      - user_id: "auth0|bob"
        email: bob@acme.example
"#
    ))
    .expect("tenant")
}

/// A scenario on [`tenant`] with every scope, no config yet.
fn acme(tag: &str) -> Scenario {
    Scenario::new(tag).tenant(tenant(ALL_READS))
}

/// acme's three members declared (so only invitations are drift), `defaults` first.
fn all_declared(defaults: &str) -> String {
    format!(
        "version: 1\n{defaults}organizations:\n  - name: acme\n    members: [\"auth0|keep\", \"samlp|corp|ada\", \"auth0|bob\"]\n"
    )
}

const REVOKE: &str = "defaults:\n  invitations: revoke\n";

fn config(dir: &Scenario, extra: &str) {
    dir.write(
        "orgsync.yaml",
        &format!(
            "version: 1\norganizations:\n  - name: acme\n    max_removals: 100%\n{extra}    members: [\"auth0|keep\"]\n"
        ),
    );
}

fn plan_json(dir: &Scenario) -> Value {
    json_of(dir.run(["plan", "--format", "json"]).success())
}

fn removal<'a>(plan: &'a Value, user: &str) -> &'a Value {
    find_in(&plan["organizations"][0]["remove"], "user_id", user)
}

/// `POST` a JSON body to the emulator's admin route; the status and the parsed answer.
fn post(emu: &Emulator, path: &str, body: &Value) -> (u16, Value) {
    let answer = raw_exchange(emu, "POST", path, &body.to_string());
    let status: u16 = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap();
    let json = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b.trim()).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

/// `user` logs in to acme through `connection`: the answer's `added`.
fn login(emu: &Emulator, user: &str, connection: &str) -> (u16, Value) {
    let body =
        serde_json::json!({"user_id": user, "organization": "acme", "connection": connection});
    post(emu, "/__emulator/login", &body)
}

/// The invitee accepts `invitation`.
fn accept(emu: &Emulator, invitation: &str) -> (u16, Value) {
    let body = serde_json::json!({ "invitation": invitation });
    post(emu, "/__emulator/accept-invitation", &body)
}

fn members(emu: &Emulator) -> Vec<String> {
    emu.state().organizations[0].members.clone()
}

#[test]
fn the_door_end_to_end_a_removed_member_logs_back_in_as_the_plan_said() {
    let dir = acme("reentry-door");
    let emu = dir.emu();
    config(&dir, "");
    let plan = plan_json(&dir);
    let org = &plan["organizations"][0];
    assert_eq!(org["auto_membership"], serde_json::json!(["corp"]));
    assert_eq!(org["signup_enabled"], serde_json::json!([]));
    assert_eq!(removal(&plan, "samlp|corp|ada")["can_rejoin_via"], "corp");
    let ada = removal(&plan, "samlp|corp|ada");
    assert_eq!(ada["rejoin_by"], "auto_membership");
    // Bob logs in through the database connection, which has no auto-membership: read once.
    assert_eq!(removal(&plan, "auth0|bob")["can_rejoin_via"], Value::Null);
    assert_eq!(plan["summary"]["can_rejoin"], 1);
    let paths = api_requests(emu).into_iter().map(|r| r.path);
    let user_reads: Vec<String> = paths.filter(|p| p.starts_with("/api/v2/users/")).collect();
    assert_eq!(user_reads, ["/api/v2/users/auth0%7Cbob"]);

    // The text plan marks the removal.
    let rejoin =
        "  ^ can rejoin: logging in through `corp` makes them a member again (auto-membership)";
    dir.run(["plan"]).success().stdout_has(rejoin);
    dir.run(["apply", "--auto-approve", "--wait=10"]).success();
    assert_eq!(members(emu), ["auth0|keep"]);

    // Ada logs in through corp: a member again, as the plan said. Bob cannot.
    let (status, answer) = login(emu, "samlp|corp|ada", "corp");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["added"], true, "{answer}");
    let (_, answer) = login(emu, "auth0|bob", "Username-Password-Authentication");
    assert_eq!(answer["added"], false, "{answer}");
    assert!(members(emu).contains(&"samlp|corp|ada".to_string()));
    assert!(!members(emu).contains(&"auth0|bob".to_string()));
    // And the next plan finds her again.
    let again = plan_json(&dir);
    assert_eq!(removal(&again, "samlp|corp|ada")["can_rejoin_via"], "corp");
}

#[test]
fn rejoin_block_blocks_the_organization_and_apply_removes_no_one() {
    let dir = acme("reentry-block");
    let emu = dir.emu();
    config(&dir, "    rejoin: block\n");
    let plan = plan_json(&dir);
    let blocked = &plan["organizations"][0]["blocked"];
    assert_eq!(blocked["guard"], "rejoin", "{plan:#}");
    let message = blocked["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("1 of 2 removals could be undone"),
        "{blocked}"
    );
    dir.run(APPLY).code(1).stdout_has("blocked");
    assert_reads_only(emu);
    assert_eq!(members(emu).len(), 3);
}

#[test]
fn invitations_are_declared_state_in_the_plan() {
    let dir = acme("reentry-invitations");
    // Bob and Ada declared: the only drift is the undeclared invitation.
    dir.write("orgsync.yaml", &all_declared(REVOKE));
    let r = dir.run(["plan", "--detailed-exitcode", "--format", "json"]);
    let plan = json_of(r.code(2));
    let inv = &plan["organizations"][0]["invitations"];
    assert_eq!(strs(&inv["revoke"], "id"), ["uinv_undeclared00001"]);
    assert_eq!(strs(&inv["keep"], "id"), ["uinv_declared0000001"]);
    assert_eq!(strs(&inv["expired"], "id"), ["uinv_expired0000001"]);
    assert_eq!(inv["revoke"][0]["invitee_email"], "eve@elsewhere.example");
    assert_eq!(plan["summary"]["revoke_invitations"], 1);
    assert_eq!(plan["summary"]["remove"], 0);
}

/// acme's three members declared with `invitations: revoke`, applied with `--wait=10`, audited
/// to `audit.jsonl`: the undeclared invitation revoked.
fn revoked(tag: &str) -> Scenario {
    let dir = acme(tag);
    dir.write("orgsync.yaml", &all_declared(REVOKE));
    let r = dir.cmd([
        "apply",
        "--auto-approve",
        "--wait=10",
        "--audit-log",
        "audit.jsonl",
    ]);
    r.run().success().stdout_has("1 invitation revoked");
    dir
}

#[test]
fn apply_revokes_only_the_undeclared_invitation_and_logs_it() {
    let dir = revoked("reentry-revoke");
    let api = api_requests(dir.emu()).into_iter();
    let deletes: Vec<String> = api
        .filter(|q| q.method == "DELETE")
        .map(|q| q.path)
        .collect();
    let revoked = "/api/v2/organizations/org_reentryreentry01/invitations/uinv_undeclared00001";
    assert_eq!(deletes, [revoked]);
    let lines = dir.audit();
    let event = |l: &Value| {
        let invitation = l["invitation_id"].as_str().unwrap_or("-");
        format!("{} {invitation}", l["event"].as_str().unwrap_or("?"))
    };
    let events: Vec<String> = lines.iter().map(event).collect();
    let invitation = "uinv_undeclared00001";
    let want = [
        "start -",
        &format!("intent {invitation}"),
        &format!("delete {invitation}"),
        "summary -",
    ];
    assert_eq!(events, want);
    assert_eq!(lines[2]["outcome"], "removed");
    assert_eq!(lines[2]["invitee_email"], "eve@elsewhere.example");
    assert_eq!(lines[3]["revoked"], 1);
}

#[test]
fn a_revoked_invitation_can_no_longer_be_accepted_and_nothing_is_left_to_do() {
    let dir = revoked("reentry-revoked");
    // The revoked invitation can no longer be accepted; the declared one still can.
    assert_ne!(accept(dir.emu(), "uinv_undeclared00001").0, 200);
    let (status, answer) = accept(dir.emu(), "uinv_declared0000001");
    assert_eq!(status, 200, "{answer}");
    // Nothing is left to do.
    dir.run(["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn with_invitations_keep_nothing_is_revoked_but_the_invitation_is_drift() {
    let dir = acme("reentry-keep");
    dir.write("orgsync.yaml", &all_declared(""));
    let r = dir.run(["plan", "--detailed-exitcode"]);
    r.code(2)
        .stdout_has("? invitation uinv_undeclared00001 for eve@elsewhere.example");
    r.stdout_has("1 undeclared invitation (kept)");
    dir.run(APPLY).success();
    assert_reads_only(dir.emu());
}

#[test]
fn roles_are_recorded_in_the_plan_and_in_the_audit_line_before_removal() {
    let dir = acme("reentry-roles");
    config(&dir, "");
    let plan = plan_json(&dir);
    assert_eq!(plan["organizations"][0]["roles_recorded"], true);
    let roles = &removal(&plan, "samlp|corp|ada")["roles"];
    assert_eq!(strs(roles, "name"), ["admin", "billing"]);
    assert!(roles[0]["id"].as_str().unwrap().starts_with("rol_"));
    dir.run(APPLY_AUDITED).success();
    let lines = dir.audit();
    let intent = lines.iter().find(|l| l["event"] == "intent").unwrap();
    let ada = find_in(&intent["roles"], "user_id", "samlp|corp|ada");
    assert_eq!(ada["roles"][1]["name"], "billing", "{intent}");
    // Requested in the member list itself: no request per member for roles.
    let roles_read = api_paths(dir.emu()).iter().any(|p| p.contains("/roles"));
    assert!(!roles_read, "a roles endpoint was read");
}

#[test]
fn without_the_new_scopes_the_plan_works_and_says_once_what_it_could_not_check() {
    let dir = Scenario::new("reentry-noscope").tenant(tenant(MEMBER_READS));
    config(&dir, "");
    let r = dir.run(["plan"]);
    let scopes = ["connections", "invitations", "member_roles"];
    for scope in scopes.map(|s| format!("read:organization_{s}")) {
        let once = r.success().stdout().matches(&scope).count() == 1;
        assert!(once, "{scope} once:\n{}", r.show());
    }
    // None of the reads the token may not make was sent.
    let paths = api_paths(dir.emu());
    assert_eq!(paths.len(), 2, "{paths:#?}");
    assert!(paths.iter().all(|p| !p.contains("roles")), "{paths:#?}");
    let plan = plan_json(&dir);
    assert_eq!(plan["organizations"][0]["auto_membership"], Value::Null);
    assert_eq!(plan["organizations"][0]["invitations"], Value::Null);
    assert_eq!(plan["not_checked"].as_array().unwrap().len(), 3);
    // With rejoin: block, what could not be checked blocks.
    config(&dir, "    rejoin: block\n");
    let plan = plan_json(&dir);
    assert_eq!(plan["organizations"][0]["blocked"]["guard"], "rejoin");
}

#[test]
fn a_saved_plan_revokes_only_invitations_both_plans_revoke() {
    let dir = acme("reentry-saved");
    let emu = dir.emu();
    dir.write("orgsync.yaml", &all_declared(REVOKE));
    dir.run(["plan", "--out", "plan.json"]).success();
    // Eve accepts her invitation before the apply: it is gone, and she is a member now (a
    // removal the saved plan never listed, so it is not carried out).
    let (status, answer) = accept(emu, "uinv_undeclared00001");
    assert_eq!(status, 200, "{answer}");
    let r = dir.run(["apply", "plan.json", "-c", "orgsync.yaml", "--auto-approve"]);
    r.stdout_has("skipped: invitation uinv_undeclared00001");
    assert_reads_only(emu);
}

/// An invitation for `Ada@BÜCHER.example` when `ada@bücher.example` is a declared member's
/// email: the same address as Auth0 compares them (Unicode lower case; the domain as IDNA maps
/// it), so the invitation is kept, and apply revokes nothing (it was once revoked: case was
/// folded for ASCII only).
#[test]
fn an_invitation_differing_only_in_unicode_case_is_kept() {
    let dir = Scenario::new("reentry-unicode-email").tenant(
        Tenant::from_yaml(&format!(
            r#"
clients:
  - client_id: demo
    client_secret: demo-secret
    scopes: {ALL_READS}
organizations:
  - id: org_reentryreentry01
    name: acme
    invitations:
      - id: uinv_unicodecase0001
        invitee_email: Ada@BÜCHER.example
      - id: uinv_punycode000001
        invitee_email: ada@xn--bcher-kva.example
    members:
      - user_id: "auth0|ada"
        email: ada@bücher.example
"#
        ))
        .expect("tenant"),
    );
    let emu = dir.emu();
    dir.write(
        "orgsync.yaml",
        &format!(
            "version: 1\n{REVOKE}organizations:\n  - name: acme\n    members: [\"auth0|ada\"]\n"
        ),
    );
    dir.run(APPLY).success();
    assert_reads_only(emu);
    let plan = plan_json(&dir);
    let mut keep = strs(&plan["organizations"][0]["invitations"]["keep"], "id");
    keep.sort();
    assert_eq!(keep, ["uinv_punycode000001", "uinv_unicodecase0001"]);
}
