//! Members named by email: resolved with GET /users-by-email, exactly one user or an error.

use crate::support::*;
use orgsync_emulator::tenant::User;

fn tenant_with_twins() -> orgsync_emulator::Tenant {
    let mut t = example_tenant();
    // The same email on two connections.
    t.users.push(User {
        user_id: "auth0|twin1".into(),
        email: Some("twin@acme.example".into()),
        name: None,
    });
    t.users.push(User {
        user_id: "google-oauth2|twin2".into(),
        email: Some("twin@acme.example".into()),
        name: None,
    });
    t
}

const UMBRELLA: &str = "version: 1\norganizations:\n  - name: umbrella\n    members:\n      - \"auth0|64b0c0ffee0000000000001e\"\n      - {email: chris@umbrella.example}\n      - \"auth0|64b0c0ffee00000000000021\"\n";

#[test]
fn one_match_resolves_and_the_plan_shows_it() {
    let dir = Scenario::new("email-one").tenant(tenant_with_twins());
    let emu = dir.emu();
    dir.write(
        "orgsync.yaml",
        &format!("{UMBRELLA}      - {{email: new.hire@acme.example}}\n"),
    );
    let v = json_of(dir.run(["plan", "--format", "json"]).success());
    let o = &v["organizations"][0];
    // Only albert goes: chris is declared by email.
    assert_eq!(user_ids(&o["remove"]), ["auth0|64b0c0ffee00000000000020"]);
    assert_eq!(
        o["resolved_emails"],
        serde_json::json!([
            {"email": "chris@umbrella.example", "user_id": "auth0|64b0c0ffee0000000000001f"},
            {"email": "new.hire@acme.example", "user_id": "auth0|64b0c0ffee0000000000abcd"}
        ])
    );
    // The missing member declared by email is shown with it.
    assert_eq!(
        o["missing"][0],
        serde_json::json!({"user_id": "auth0|64b0c0ffee0000000000abcd", "email": "new.hire@acme.example"})
    );
    let text = dir.run(["plan"]);
    text.stdout_has("  email chris@umbrella.example is auth0|64b0c0ffee0000000000001f\n");
    let log = emu.requests();
    let by_email = log
        .iter()
        .filter(|r| r.path.starts_with("/api/v2/users-by-email"));
    let lookups = by_email.count();
    assert_eq!(lookups, 4, "two emails, looked up once per run");
}

#[test]
fn no_match_or_two_matches_is_an_error_naming_the_entry_and_candidates() {
    let dir = Scenario::new("email-bad").tenant(tenant_with_twins());
    let emu = dir.emu();
    dir.write("orgsync.yaml", &format!("{UMBRELLA}      - {{email: nobody@acme.example}}\n      - {{email: twin@acme.example}}\n"));
    assert_error!(dir.run(["plan"]), @r"
        error: 2 members named by email could not be resolved; nothing was planned
          orgsync.yaml:8:9: no user has the email `nobody@acme.example`
          orgsync.yaml:9:9: the email `twin@acme.example` belongs to 2 users (`auth0|twin1`, `google-oauth2|twin2`); orgsync does not guess
        hint: name the member by user_id instead (`orgsync export` lists them)
        ");
    assert!(
        emu.requests().iter().all(|r| !r.path.contains("/members")),
        "no member was read"
    );
}

#[test]
fn a_user_named_by_id_and_by_email_in_one_organization_is_refused() {
    let dir = Scenario::new("email-twice").tenant(example_tenant());
    dir.write(
        "orgsync.yaml",
        &format!("{UMBRELLA}      - \"auth0|64b0c0ffee0000000000001f\"\n"),
    );
    let out = dir.run(["plan"]);
    out.failure();
    out.stderr_has("orgsync.yaml:8:9: this member is `auth0|64b0c0ffee0000000000001f`, already listed at orgsync.yaml:6:9");
}

#[test]
fn email_lookup_needs_read_users() {
    let dir = Scenario::new("email-scope").tenant(example_tenant());
    let emu = dir.emu();
    dir.write("orgsync.yaml", UMBRELLA);
    let out = OrgSync::new(emu)
        .read_only()
        .arg("plan")
        .cwd(dir.path())
        .run();
    out.failure();
    out.stderr_has("grant the scope `read:users`");
}
