//! Declarations you can trust: a declared or protected user_id that is no user of the tenant
//! blocks its organization (a typo never removes the member it meant to keep), and says which
//! entry and whom it probably meant.

use crate::support::*;
use orgsync_emulator::{Emulator, Options};

const CLAIRE: &str = "auth0|64b0c0ffee00000000000021";
/// Claire's user_id with a letter l for the last 1.
const TYPO: &str = "auth0|64b0c0ffee0000000000002l";

/// The example config, with `edit` applied, in a fresh directory.
fn example_with(tag: &str, edit: impl Fn(String) -> String) -> TempDir {
    let dir = TempDir::new(tag);
    let text = std::fs::read_to_string(example_config()).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed the config");
    dir.write("orgsync.yaml", &edited);
    dir
}

fn deletes_of(emu: &Emulator, user: &str) -> usize {
    api_requests(emu)
        .iter()
        .filter(|r| {
            r.method == "DELETE"
                && r.members
                    .as_ref()
                    .is_some_and(|m| m.iter().any(|u| u == user))
        })
        .count()
}

#[test]
fn a_typo_in_a_declared_user_id_blocks_its_organization_and_names_the_member_it_meant() {
    let emu = background(example_tenant(), Options::default());
    let dir = example_with("typo-member", |t| t.replace(CLAIRE, TYPO));
    let r = OrgSync::new(&emu)
        .args(["apply", "--auto-approve"])
        .cwd(dir.path())
        .run();
    r.assert_no_panic();
    assert_eq!(deletes_of(&emu, CLAIRE), 0, "{}", r.show());
    let out = r.all();
    assert!(
        out.contains(&format!(
            "orgsync.yaml:43:9: `{TYPO}` (members) is no user of this tenant; did you mean `{CLAIRE}` (Claire Redfield), whom this plan would remove?"
        )),
        "{}",
        r.show()
    );
    // The other organizations are applied as planned; umbrella's guard fails the run.
    r.code(1);
    assert!(
        !out.contains(&format!("! {TYPO}")),
        "not shown as missing: {out}"
    );
}

#[test]
fn the_plan_json_names_the_unknown_user_and_its_entry() {
    let emu = background(example_tenant(), Options::default());
    let dir = example_with("typo-json", |t| t.replace(CLAIRE, TYPO));
    let r = OrgSync::new(&emu)
        .args(["plan", "--format", "json"])
        .cwd(dir.path())
        .run();
    let plan: serde_json::Value = serde_json::from_str(r.stdout()).unwrap();
    let umbrella = plan["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "umbrella")
        .unwrap();
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
    let emu = background(example_tenant(), Options::default());
    let breakglass = "auth0|64b0c0ffee00000000000001";
    let dir = example_with("typo-protect", |t| {
        t.replacen(breakglass, "auth0|64b0c0ffee0000000000000l", 1)
    });
    let r = OrgSync::new(&emu)
        .args(["plan", "--format", "json"])
        .cwd(dir.path())
        .run();
    let plan: serde_json::Value = serde_json::from_str(r.stdout()).unwrap();
    let blocked: Vec<&str> = plan["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["blocked"]["guard"] == "unknown_user")
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert!(!blocked.is_empty(), "{}", r.show());
    for o in plan["organizations"].as_array().unwrap() {
        if o["blocked"]["guard"] == "unknown_user" {
            assert_eq!(o["unknown_users"][0]["list"], "protect", "{o}");
        }
    }
}

#[test]
fn without_read_users_the_plan_says_once_that_declared_ids_were_not_checked() {
    let emu = background(example_tenant(), Options::default());
    let dir = example_with("typo-noscope", |t| t.replace(CLAIRE, TYPO));
    let r = OrgSync::at(&emu.url())
        .env("AUTH0_CLIENT_ID", "read-only")
        .env("AUTH0_CLIENT_SECRET", "read-only-secret")
        .args(["plan"])
        .cwd(dir.path())
        .run();
    r.success();
    let note = "whether declared user_ids that are not members exist in the tenant";
    assert_eq!(r.stdout().matches(note).count(), 1, "{}", r.show());
    assert!(
        !api_requests(&emu)
            .iter()
            .any(|q| q.path.starts_with("/api/v2/users/")),
        "no user read without the scope"
    );
}

#[test]
fn a_user_id_declared_by_email_in_protect_is_protected() {
    let emu = background(example_tenant(), Options::default());
    let breakglass = "\"auth0|64b0c0ffee00000000000001\"";
    let dir = example_with("protect-email", |t| {
        t.replacen(breakglass, "{email: breakglass@acme.example}", 1)
    });
    let r = OrgSync::new(&emu)
        .args(["plan", "--format", "json"])
        .cwd(dir.path())
        .run();
    r.success();
    let plan: serde_json::Value = serde_json::from_str(r.stdout()).unwrap();
    let acme = &plan["organizations"][0];
    assert_eq!(acme["name"], "acme");
    let kept: Vec<&str> = acme["protected_kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert!(
        kept.contains(&"auth0|64b0c0ffee00000000000001"),
        "{}",
        r.show()
    );
}

/// One organization: member `auth0|ada`; users `auth0|bob` (not a member, invited) and
/// `auth0|cy` (not a member, not invited); invitations for Bob, for `New@Hire.example` (no user
/// yet) and for eve (nobody declares her).
fn drift_tenant() -> orgsync_emulator::Tenant {
    orgsync_emulator::Tenant::from_yaml(
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
    )
    .expect("tenant")
}

fn plan_with(emu: &Emulator, dir: &TempDir, config: &str) -> Run {
    dir.write("orgsync.yaml", config);
    OrgSync::new(emu)
        .args(["plan", "--detailed-exitcode", "--format", "json"])
        .cwd(dir.path())
        .run()
}

fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(r.stdout()).unwrap_or_else(|e| panic!("{e}\n{}", r.show()))
}

/// Bob (a user) and a new hire who is no user yet are declared; both have pending invitations:
/// they are invited, not missing, and nothing is drift but eve's undeclared invitation.
#[test]
fn declared_members_with_pending_invitations_are_invited_not_missing() {
    let emu = background(drift_tenant(), Options::default());
    let dir = TempDir::new("drift-invited");
    let r = plan_with(
        &emu,
        &dir,
        "version: 1\norganizations:\n  - name: acme\n    members:\n      - \"auth0|ada\"\n      - \"auth0|bob\"\n      - {email: new@hire.example}\n",
    );
    r.code(2);
    let v = json(&r);
    let acme = &v["organizations"][0];
    assert_eq!(acme["missing"], serde_json::json!([]), "{acme:#}");
    let invited: Vec<(serde_json::Value, &str)> = acme["invited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["user_id"].clone(), i["invitation"].as_str().unwrap()))
        .collect();
    assert_eq!(
        invited,
        [
            (serde_json::json!("auth0|bob"), "uinv_bobbobbobbobbob1"),
            (serde_json::Value::Null, "uinv_newhirenewhire1"),
        ]
    );
    assert_eq!(v["summary"]["invited"], 2);
    assert_eq!(v["summary"]["undeclared_invitations"], 1, "only eve's");
    // Declaring eve too leaves nothing: exit 0.
    let r = plan_with(
        &emu,
        &dir,
        "version: 1\norganizations:\n  - name: acme\n    members:\n      - \"auth0|ada\"\n      - \"auth0|bob\"\n      - {email: new@hire.example}\n      - {email: eve@elsewhere.example}\n",
    );
    r.code(0);
}

/// An `{email: …}` that no user has and no pending invitation explains still fails the plan,
/// naming the entry (a typo'd email never plans).
#[test]
fn an_email_of_nobody_without_an_invitation_fails_the_plan() {
    let emu = background(drift_tenant(), Options::default());
    let dir = TempDir::new("drift-nobody");
    let r = plan_with(
        &emu,
        &dir,
        "version: 1\norganizations:\n  - name: acme\n    members:\n      - \"auth0|ada\"\n      - {email: nobdy@hire.example}\n",
    );
    r.code(1);
    assert!(
        r.stderr().contains("orgsync.yaml:6:9") && r.stderr().contains("nobdy@hire.example"),
        "{}",
        r.show()
    );
}

/// What drift counts is one setting: `all` (default) counts eve's kept invitation and Cy (a
/// missing member); `members` only Cy; `apply` neither (apply would change nothing).
#[test]
fn the_drift_setting_decides_what_exit_2_counts() {
    let emu = background(drift_tenant(), Options::default());
    let dir = TempDir::new("drift-setting");
    let with = |setting: &str, cy: bool| {
        let drift = if setting.is_empty() {
            String::new()
        } else {
            format!("defaults:\n  drift: {setting}\n")
        };
        let cy = if cy { "      - \"auth0|cy\"\n" } else { "" };
        plan_with(
            &emu,
            &dir,
            &format!(
                "version: 1\n{drift}organizations:\n  - name: acme\n    members:\n      - \"auth0|ada\"\n      - \"auth0|bob\"\n{cy}"
            ),
        )
    };
    for (setting, cy, exit) in [
        ("", true, 2),
        ("", false, 2),
        ("all", false, 2),
        ("members", true, 2),
        ("members", false, 0),
        ("apply", true, 0),
    ] {
        let r = with(setting, cy);
        r.code_for(exit, format!("drift: {setting:?}, cy declared: {cy}"));
        assert_eq!(json(&r)["summary"]["drift"], exit == 2, "{}", r.show());
    }
}

/// A missing member's plan says who can add them and how: orgsync never adds.
#[test]
fn a_missing_member_comes_with_the_next_step() {
    let emu = background(drift_tenant(), Options::default());
    let dir = TempDir::new("drift-next-step");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: acme\n    members: [\"auth0|ada\", \"auth0|cy\"]\n",
    );
    let r = OrgSync::new(&emu).args(["plan"]).cwd(dir.path()).run();
    r.success();
    assert!(
        r.stdout().contains("to add the missing: Auth0 Dashboard > Organizations > acme > Members > Add Members, or `POST /api/v2/organizations/org_driftdriftdrift1/members`"),
        "{}",
        r.show()
    );
}
