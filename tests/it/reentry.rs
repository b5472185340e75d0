//! Removals that stick: the plan says which removed members can walk back in (auto-membership,
//! signup), treats invitations as declared state, records roles before removal; apply revokes
//! undeclared invitations; and the emulator acts as a person does to show the doors end to end.

use crate::support::*;
use orgsync_emulator::{Emulator, Tenant};
use serde_json::Value;

const ALL_READS: &str = "[read:organizations, read:organization_members, read:organization_member_roles, read:organization_connections, read:organization_invitations, read:users, delete:organization_members, delete:organization_invitations]";

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

fn config(dir: &Scenario, extra: &str) {
    dir.write(
        "orgsync.yaml",
        &format!(
            "version: 1\norganizations:\n  - name: acme\n    max_removals: 100%\n{extra}    members: [\"auth0|keep\"]\n"
        ),
    );
}

fn plan_json(dir: &Scenario) -> Value {
    let r = dir.run(["plan", "--format", "json"]);
    r.success();
    serde_json::from_str(r.stdout()).unwrap()
}

fn removal<'a>(plan: &'a Value, user: &str) -> &'a Value {
    plan["organizations"][0]["remove"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user_id"] == user)
        .unwrap_or_else(|| panic!("{user} is not a removal: {plan:#}"))
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

fn members(emu: &Emulator) -> Vec<String> {
    emu.state().organizations[0].members.clone()
}

#[test]
fn the_door_end_to_end_a_removed_member_logs_back_in_as_the_plan_said() {
    let dir = Scenario::new("reentry-door").tenant(tenant(ALL_READS));
    let emu = dir.emu();
    config(&dir, "");
    let plan = plan_json(&dir);
    let org = &plan["organizations"][0];
    assert_eq!(org["auto_membership"], serde_json::json!(["corp"]));
    assert_eq!(org["signup_enabled"], serde_json::json!([]));
    assert_eq!(removal(&plan, "samlp|corp|ada")["can_rejoin_via"], "corp");
    assert_eq!(
        removal(&plan, "samlp|corp|ada")["rejoin_by"],
        "auto_membership"
    );
    // Bob logs in through the database connection, which has no auto-membership: read once.
    assert_eq!(removal(&plan, "auth0|bob")["can_rejoin_via"], Value::Null);
    assert_eq!(plan["summary"]["can_rejoin"], 1);
    let user_reads: Vec<String> = api_requests(emu)
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.starts_with("/api/v2/users/"))
        .collect();
    assert_eq!(user_reads, ["/api/v2/users/auth0%7Cbob"]);

    // The text plan marks the removal.
    let text = dir.run(["plan"]);
    text.success();
    text.stdout_has(
        "  ^ can rejoin: logging in through `corp` makes them a member again (auto-membership)",
    );

    let applied = dir.run(["apply", "--auto-approve", "--wait=10"]);
    applied.success();
    assert_eq!(members(emu), ["auth0|keep"]);

    // Ada logs in through corp: a member again, as the plan said. Bob cannot.
    let (status, answer) = post(
        emu,
        "/__emulator/login",
        &serde_json::json!({"user_id": "samlp|corp|ada", "organization": "acme", "connection": "corp"}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["added"], true, "{answer}");
    let (_, answer) = post(
        emu,
        "/__emulator/login",
        &serde_json::json!({"user_id": "auth0|bob", "organization": "acme", "connection": "Username-Password-Authentication"}),
    );
    assert_eq!(answer["added"], false, "{answer}");
    assert!(members(emu).contains(&"samlp|corp|ada".to_string()));
    assert!(!members(emu).contains(&"auth0|bob".to_string()));
    // And the next plan finds her again.
    let again = plan_json(&dir);
    assert_eq!(removal(&again, "samlp|corp|ada")["can_rejoin_via"], "corp");
}

#[test]
fn rejoin_block_blocks_the_organization_and_apply_removes_no_one() {
    let dir = Scenario::new("reentry-block").tenant(tenant(ALL_READS));
    let emu = dir.emu();
    config(&dir, "    rejoin: block\n");
    let plan = plan_json(&dir);
    let blocked = &plan["organizations"][0]["blocked"];
    assert_eq!(blocked["guard"], "rejoin", "{plan:#}");
    assert!(
        blocked["message"]
            .as_str()
            .unwrap()
            .contains("1 of 2 removals could be undone"),
        "{blocked}"
    );
    let r = dir.run(["apply", "--auto-approve"]);
    r.code(1);
    r.stdout_has("blocked");
    assert!(
        emu.requests().iter().all(|q| q.method != "DELETE"),
        "a DELETE was sent"
    );
    assert_eq!(members(emu).len(), 3);
}

#[test]
fn invitations_are_declared_state_and_apply_revokes_only_the_undeclared() {
    let dir = Scenario::new("reentry-invitations").tenant(tenant(ALL_READS));
    let emu = dir.emu();
    // Bob and Ada declared: the only drift is the undeclared invitation.
    dir.write(
        "orgsync.yaml",
        "version: 1\ndefaults:\n  invitations: revoke\norganizations:\n  - name: acme\n    members: [\"auth0|keep\", \"samlp|corp|ada\", \"auth0|bob\"]\n",
    );
    let r = dir.run(["plan", "--detailed-exitcode", "--format", "json"]);
    r.code(2);
    let plan: Value = serde_json::from_str(r.stdout()).unwrap();
    let inv = &plan["organizations"][0]["invitations"];
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&inv["revoke"]), ["uinv_undeclared00001"]);
    assert_eq!(ids(&inv["keep"]), ["uinv_declared0000001"]);
    assert_eq!(ids(&inv["expired"]), ["uinv_expired0000001"]);
    assert_eq!(inv["revoke"][0]["invitee_email"], "eve@elsewhere.example");
    assert_eq!(plan["summary"]["revoke_invitations"], 1);
    assert_eq!(plan["summary"]["remove"], 0);

    let audit = dir.path().join("audit.jsonl");
    let r = OrgSync::new(emu)
        .args(["apply", "--auto-approve", "--wait=10", "--audit-log"])
        .arg(&audit)
        .cwd(dir.path())
        .run();
    r.success();
    r.stdout_has("1 invitation revoked");
    let deletes: Vec<String> = api_requests(emu)
        .into_iter()
        .filter(|q| q.method == "DELETE")
        .map(|q| q.path)
        .collect();
    assert_eq!(
        deletes,
        ["/api/v2/organizations/org_reentryreentry01/invitations/uinv_undeclared00001"]
    );
    let lines = audit_lines(&audit);
    let events: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["event"].as_str().unwrap(),
                l["invitation_id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("start", ""),
            ("intent", "uinv_undeclared00001"),
            ("delete", "uinv_undeclared00001"),
            ("summary", "")
        ]
    );
    assert_eq!(lines[2]["outcome"], "removed");
    assert_eq!(lines[2]["invitee_email"], "eve@elsewhere.example");
    assert_eq!(lines[3]["revoked"], 1);

    // The revoked invitation can no longer be accepted; the declared one still can.
    let (status, _) = post(
        emu,
        "/__emulator/accept-invitation",
        &serde_json::json!({"invitation": "uinv_undeclared00001"}),
    );
    assert_ne!(status, 200);
    let (status, answer) = post(
        emu,
        "/__emulator/accept-invitation",
        &serde_json::json!({"invitation": "uinv_declared0000001"}),
    );
    assert_eq!(status, 200, "{answer}");
    // Nothing is left to do.
    let r = dir.run(["plan", "--detailed-exitcode"]);
    r.code(0);
}

#[test]
fn with_invitations_keep_nothing_is_revoked_but_the_invitation_is_drift() {
    let dir = Scenario::new("reentry-keep").tenant(tenant(ALL_READS));
    let emu = dir.emu();
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: acme\n    members: [\"auth0|keep\", \"samlp|corp|ada\", \"auth0|bob\"]\n",
    );
    let r = dir.run(["plan", "--detailed-exitcode"]);
    r.code(2);
    r.stdout_has("? invitation uinv_undeclared00001 for eve@elsewhere.example");
    r.stdout_has("1 undeclared invitation (kept)");
    let r = dir.run(["apply", "--auto-approve"]);
    r.success();
    assert!(emu.requests().iter().all(|q| q.method != "DELETE"));
}

#[test]
fn roles_are_recorded_in_the_plan_and_in_the_audit_line_before_removal() {
    let dir = Scenario::new("reentry-roles").tenant(tenant(ALL_READS));
    let emu = dir.emu();
    config(&dir, "");
    let plan = plan_json(&dir);
    assert_eq!(plan["organizations"][0]["roles_recorded"], true);
    let roles: Vec<&str> = removal(&plan, "samlp|corp|ada")["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["admin", "billing"]);
    assert!(
        removal(&plan, "samlp|corp|ada")["roles"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("rol_")
    );
    let r = dir.run(["apply", "--auto-approve", "--audit-log", "audit.jsonl"]);
    r.success();
    let lines = audit_lines(&dir.path().join("audit.jsonl"));
    let intent = lines.iter().find(|l| l["event"] == "intent").unwrap();
    let ada = intent["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == "samlp|corp|ada")
        .unwrap();
    assert_eq!(ada["roles"][1]["name"], "billing", "{intent}");
    // Requested in the member list itself: no request per member for roles.
    assert!(
        api_requests(emu).iter().all(|q| !q.path.contains("/roles")),
        "a roles endpoint was read"
    );
}

#[test]
fn without_the_new_scopes_the_plan_works_and_says_once_what_it_could_not_check() {
    let dir = Scenario::new("reentry-noscope")
        .tenant(tenant("[read:organizations, read:organization_members]"));
    let emu = dir.emu();
    config(&dir, "");
    let r = dir.run(["plan"]);
    r.success();
    for scope in [
        "read:organization_connections",
        "read:organization_invitations",
        "read:organization_member_roles",
    ] {
        assert_eq!(
            r.stdout().matches(scope).count(),
            1,
            "{scope} once:\n{}",
            r.show()
        );
    }
    // None of the reads the token may not make was sent.
    let paths: Vec<String> = api_requests(emu).into_iter().map(|q| q.path).collect();
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
    let dir = Scenario::new("reentry-saved").tenant(tenant(ALL_READS));
    let emu = dir.emu();
    dir.write(
        "orgsync.yaml",
        "version: 1\ndefaults:\n  invitations: revoke\norganizations:\n  - name: acme\n    members: [\"auth0|keep\", \"samlp|corp|ada\", \"auth0|bob\"]\n",
    );
    dir.run(["plan", "--out", "plan.json"]).success();
    // Eve accepts her invitation before the apply: it is gone, and she is a member now (a
    // removal the saved plan never listed, so it is not carried out).
    let (status, answer) = post(
        emu,
        "/__emulator/accept-invitation",
        &serde_json::json!({"invitation": "uinv_undeclared00001"}),
    );
    assert_eq!(status, 200, "{answer}");
    let r = dir.run(["apply", "plan.json", "-c", "orgsync.yaml", "--auto-approve"]);
    r.stdout_has("skipped: invitation uinv_undeclared00001");
    assert!(emu.requests().iter().all(|q| q.method != "DELETE"));
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
        "version: 1\ndefaults:\n  invitations: revoke\norganizations:\n  - name: acme\n    members: [\"auth0|ada\"]\n",
    );
    let r = dir.run(["apply", "--auto-approve"]);
    r.success();
    assert!(
        api_requests(emu).iter().all(|q| q.method != "DELETE"),
        "{}",
        r.show()
    );
    let plan = plan_json(&dir);
    let mut keep: Vec<&str> = plan["organizations"][0]["invitations"]["keep"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    keep.sort();
    assert_eq!(keep, ["uinv_punycode000001", "uinv_unicodecase0001"]);
}
