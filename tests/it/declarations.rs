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
