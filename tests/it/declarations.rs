//! Declarations you can trust: a declared or protected user_id that is no user of the tenant
//! blocks its organization (a typo never removes the member it meant to keep), and says which
//! entry and whom it probably meant.

use crate::support::*;
use orgsync_emulator::Emulator;
use serde_json::{Value, json};

const CLAIRE: &str = "auth0|64b0c0ffee00000000000021";
/// Claire's user_id with a letter l for the last 1.
const TYPO: &str = "auth0|64b0c0ffee0000000000002l";

/// A scenario with the example config, `edit` applied.
fn example_with(tag: &str, edit: impl Fn(String) -> String) -> Scenario {
    let text = std::fs::read_to_string(example_config()).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed the config");
    let s = Scenario::new(tag);
    s.write("orgsync.yaml", &edited);
    s
}

fn deletes_of(emu: &Emulator, user: &str) -> usize {
    let has = |m: &Vec<String>| m.iter().any(|u| u == user);
    let api = api_requests(emu);
    api.iter()
        .filter(|r| r.method == "DELETE" && r.members.as_ref().is_some_and(has))
        .count()
}

/// The plan's JSON, whatever the exit code.
fn plan_json(r: &Run) -> Value {
    serde_json::from_str(r.stdout()).unwrap_or_else(|e| panic!("{e}\n{}", r.show()))
}

#[test]
fn a_typo_in_a_declared_user_id_blocks_its_organization_and_names_the_member_it_meant() {
    let s = example_with("typo-member", |t| t.replace(CLAIRE, TYPO));
    let r = s.run(["apply", "--auto-approve"]);
    r.assert_no_panic();
    assert_eq!(deletes_of(s.emu(), CLAIRE), 0, "{}", r.show());
    let wants = format!(
        "orgsync.yaml:43:9: `{TYPO}` (members) is no user of this tenant; did you mean `{CLAIRE}` (Claire Redfield), whom this plan would remove?"
    );
    assert!(r.all().contains(&wants), "{}", r.show());
    // The other organizations are applied as planned; umbrella's guard fails the run.
    r.code(1);
    assert!(
        !r.all().contains(&format!("! {TYPO}")),
        "not shown as missing: {}",
        r.show()
    );
}

#[test]
fn the_plan_json_names_the_unknown_user_and_its_entry() {
    let s = example_with("typo-json", |t| t.replace(CLAIRE, TYPO));
    let plan = plan_json(&s.run(["plan", "--format", "json"]));
    let orgs = plan["organizations"].as_array().unwrap();
    let umbrella = orgs.iter().find(|o| o["name"] == "umbrella").unwrap();
    assert_eq!(umbrella["blocked"]["guard"], "unknown_user");
    assert_eq!(umbrella["unknown_users"][0]["user_id"], TYPO);
    assert_eq!(umbrella["unknown_users"][0]["entry"], "orgsync.yaml:43:9");
    assert_eq!(
        umbrella["unknown_users"][0]["did_you_mean"]["user_id"],
        CLAIRE
    );
    assert!(
        umbrella["missing"].as_array().unwrap().is_empty(),
        "{umbrella}"
    );
}

#[test]
fn a_typo_in_a_protected_user_id_blocks_every_organization_it_protects() {
    let breakglass = "auth0|64b0c0ffee00000000000001";
    let s = example_with("typo-protect", |t| {
        t.replacen(breakglass, "auth0|64b0c0ffee0000000000000l", 1)
    });
    let r = s.run(["plan", "--format", "json"]);
    let plan = plan_json(&r);
    let orgs = plan["organizations"].as_array().unwrap();
    let blocked: Vec<&Value> = orgs
        .iter()
        .filter(|o| o["blocked"]["guard"] == "unknown_user")
        .collect();
    assert!(!blocked.is_empty(), "{}", r.show());
    for o in blocked {
        assert_eq!(o["unknown_users"][0]["list"], "protect", "{o}");
    }
}

#[test]
fn without_read_users_the_plan_says_once_that_declared_ids_were_not_checked() {
    let s = example_with("typo-noscope", |t| t.replace(CLAIRE, TYPO));
    let r = s
        .cmd(["plan"])
        .envs(&[
            ("AUTH0_CLIENT_ID", "read-only"),
            ("AUTH0_CLIENT_SECRET", "read-only-secret"),
        ])
        .run();
    r.success();
    let note = "whether declared user_ids that are not members exist in the tenant";
    assert_eq!(r.stdout().matches(note).count(), 1, "{}", r.show());
    let users_read = api_requests(s.emu())
        .iter()
        .any(|q| q.path.starts_with("/api/v2/users/"));
    assert!(!users_read, "no user read without the scope");
}

#[test]
fn a_user_id_declared_by_email_in_protect_is_protected() {
    let breakglass = "\"auth0|64b0c0ffee00000000000001\"";
    let s = example_with("protect-email", |t| {
        t.replacen(breakglass, "{email: breakglass@acme.example}", 1)
    });
    let r = s.run(["plan", "--format", "json"]);
    r.success();
    let plan = plan_json(&r);
    let acme = &plan["organizations"][0];
    assert_eq!(acme["name"], "acme");
    let kept = acme["protected_kept"].as_array().unwrap();
    let kept = kept
        .iter()
        .any(|m| m["user_id"] == "auth0|64b0c0ffee00000000000001");
    assert!(kept, "{}", r.show());
}

/// One organization: member `auth0|ada`; users `auth0|bob` (not a member, invited) and
/// `auth0|cy` (not a member, not invited); invitations for Bob, for `New@Hire.example` (no user
/// yet) and for eve (nobody declares her).
fn drift_tenant() -> orgsync_emulator::Tenant {
    orgsync_emulator::Tenant::from_yaml(&unindent(
        r#"
        clients:
          - client_id: demo
            client_secret: demo-secret
            scopes: [read:organizations, read:organization_members, read:users, read:organization_invitations, read:organization_connections, read:organization_member_roles]
        organizations:
          - id: org_driftdriftdrift1
            name: acme
            invitations:
              - id: uinv_bobbobbobbobbob1
                invitee_email: bob@acme.example
              - id: uinv_newhirenewhire1
                invitee_email: New@Hire.example
              - id: uinv_eveeveeveeveeve1
                invitee_email: eve@elsewhere.example
            members:
              - user_id: "auth0|ada"
                email: ada@acme.example
        users:
          - user_id: "auth0|bob"
            email: bob@acme.example
          - user_id: "auth0|cy"
            email: cy@acme.example
        "#,
    ))
    .expect("tenant")
}

/// A scenario on [`drift_tenant`] with `config`.
fn drift(tag: &str, config: &str) -> Scenario {
    Scenario::new(tag).tenant(drift_tenant()).config(config)
}

const PLAN: [&str; 4] = ["plan", "--detailed-exitcode", "--format", "json"];

/// Bob (a user) and a new hire who is no user yet are declared; both have pending invitations:
/// they are invited, not missing, and nothing is drift but eve's undeclared invitation.
#[test]
fn declared_members_with_pending_invitations_are_invited_not_missing() {
    let s = drift(
        "drift-invited",
        r#"
        version: 1
        organizations:
          - name: acme
            members:
              - "auth0|ada"
              - "auth0|bob"
              - {email: new@hire.example}
        "#,
    );
    let r = s.run(PLAN);
    r.code(2);
    let v = plan_json(&r);
    let acme = &v["organizations"][0];
    assert_eq!(acme["missing"], json!([]), "{acme:#}");
    let invited: Vec<(Value, &str)> = acme["invited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["user_id"].clone(), i["invitation"].as_str().unwrap()))
        .collect();
    let want = [
        (json!("auth0|bob"), "uinv_bobbobbobbobbob1"),
        (Value::Null, "uinv_newhirenewhire1"),
    ];
    assert_eq!(invited, want);
    assert_eq!(v["summary"]["invited"], 2);
    assert_eq!(v["summary"]["undeclared_invitations"], 1, "only eve's");
    // Declaring eve too leaves nothing: exit 0.
    let config = std::fs::read_to_string(s.join("orgsync.yaml")).unwrap();
    s.write(
        "orgsync.yaml",
        &format!("{config}      - {{email: eve@elsewhere.example}}\n"),
    );
    s.run(PLAN).code(0);
}

/// An `{email: …}` that no user has and no pending invitation explains still fails the plan,
/// naming the entry (a typo'd email never plans).
#[test]
fn an_email_of_nobody_without_an_invitation_fails_the_plan() {
    let s = drift(
        "drift-nobody",
        r#"
        version: 1
        organizations:
          - name: acme
            members:
              - "auth0|ada"
              - {email: nobdy@hire.example}
        "#,
    );
    assert_run!(s.run(PLAN), @r"
        success: false
        exit_code: 1
        ----- stdout -----

        ----- stderr -----
        error: 1 member named by email could not be resolved; nothing was planned
          orgsync.yaml:6:9: no user has the email `nobdy@hire.example`
        hint: name the member by user_id instead (`orgsync export` lists them)
        ");
}

/// What drift counts is one setting: `all` (default) counts eve's kept invitation and Cy (a
/// missing member); `members` only Cy; `apply` neither (apply would change nothing).
#[test]
fn the_drift_setting_decides_what_exit_2_counts() {
    let s = Scenario::new("drift-setting").tenant(drift_tenant());
    for (setting, cy, exit) in [
        ("", true, 2),
        ("", false, 2),
        ("all", false, 2),
        ("members", true, 2),
        ("members", false, 0),
        ("apply", true, 0),
    ] {
        let drift = match setting {
            "" => String::new(),
            _ => format!("defaults:\n  drift: {setting}\n"),
        };
        let cy = if cy { "      - \"auth0|cy\"\n" } else { "" };
        s.write(
            "orgsync.yaml",
            &format!("version: 1\n{drift}organizations:\n  - name: acme\n    members:\n      - \"auth0|ada\"\n      - \"auth0|bob\"\n{cy}"),
        );
        let r = s.run(PLAN);
        r.code_for(exit, format!("drift: {setting:?}, cy declared: {cy}"));
        assert_eq!(plan_json(&r)["summary"]["drift"], exit == 2, "{}", r.show());
    }
}

/// A missing member's plan says who can add them and how: orgsync never adds.
#[test]
fn a_missing_member_comes_with_the_next_step() {
    let s = drift(
        "drift-next-step",
        r#"
        version: 1
        organizations:
          - name: acme
            members: ["auth0|ada", "auth0|cy"]
        "#,
    );
    // Not a snapshot: the emulator dates its invitations today.
    let r = s.run(["plan"]);
    r.success();
    let next = "  ! to add the missing: Auth0 Dashboard > Organizations > acme > Members > Add Members, or `POST /api/v2/organizations/org_driftdriftdrift1/members` (orgsync never adds anyone)\n";
    r.stdout_has(next);
}

/// A declared user_id of nobody fails apply even where nothing would be removed (here the
/// member it meant is protected): the organization is reported blocked, and apply exits 1
/// (the property test found apply exiting 0, seed 400268377).
#[test]
fn a_user_id_of_nobody_fails_apply_even_with_nothing_to_remove() {
    let s = drift(
        "drift-nobody-apply",
        r#"
        version: 1
        organizations:
          - name: acme
            members: ["auth0|ada", "auth0|adda"]
        "#,
    );
    let r = s.run(["apply", "--auto-approve"]);
    r.code(1);
    r.stdout_has("blocked, nothing removed: orgsync.yaml:4:28: `auth0|adda` (members) is no user of this tenant");
    r.stderr_has("1 organization blocked by a guard");
}
