//! `orgsync export`: an exported file, planned right away, gives an empty plan.

use crate::support::*;

#[test]
fn exporting_the_example_tenant_round_trips_to_an_empty_plan() {
    let dir = Scenario::new("export-example").tenant(example_tenant());
    let out = dir.run(["export", "-o", "exported.yaml"]);
    out.success();
    let yaml = std::fs::read_to_string(dir.path().join("exported.yaml")).unwrap();
    assert!(
        yaml.contains("  - name: acme   # org_3hbVAMF8F3wVIcEJ\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains(
            "      - \"auth0|64b0c0ffee00000000000002\"   # ada@acme.example (Ada Lovelace)\n"
        ),
        "{yaml}"
    );
    // The removal guard is written out, with how to change it.
    assert!(
        yaml.contains("defaults:\n  # The removal guard") && yaml.contains("  max_removals: 25%\n"),
        "{yaml}"
    );
    assert!(yaml.contains("`100%` to turn the guard off"), "{yaml}");
    // Pending invitations are declared by email, each once, with who sent it.
    assert!(
        yaml.contains("      - {email: \"contractor@elsewhere.example\"}   # invited (uinv_Thi6GHLTtKPq6iLo) by Dennis Ritchie, expires 2036-11-28\n"),
        "{yaml}"
    );
    // The membership round-trips, and the invitees are invited, not drift: the plan of the
    // exported file exits 0 with --detailed-exitcode (it once exited 2 on the demo tenant).
    let plan = dir.cmd(["plan", "-c", "exported.yaml", "--detailed-exitcode"]);
    let v = json_of(plan.arg("--format=json").run().success());
    assert_eq!(v["summary"]["remove"], 0, "{v:#}");
    assert_eq!(v["summary"]["remove_blocked"], 0, "{v:#}");
    assert_eq!(v["summary"]["missing"], 0, "{v:#}");
    assert_eq!(v["summary"]["undeclared_invitations"], 0, "{v:#}");
    assert_eq!(v["summary"]["invited"], 2, "{v:#}");
    assert_eq!(v["summary"]["drift"], false, "{v:#}");
    // A client that may read members only exports members only (no invitation can be read,
    // so none is declared), and plans that file without drift.
    let read_only = |args: &[&str]| dir.cmd(args).read_only().run();
    read_only(&["export", "-o", "members-only.yaml"]).success();
    let members_only = read_only(&["plan", "-c", "members-only.yaml", "--detailed-exitcode"]);
    members_only
        .success()
        .stdout_has("No changes: the membership of 4 organizations matches the configuration.");

    // It refuses to overwrite without --force.
    let again = dir.run(["export", "-o", "exported.yaml"]);
    again
        .failure()
        .stderr_has("already exists")
        .stderr_has("--force");
    let forced = dir.run([
        "export",
        "-o",
        "exported.yaml",
        "--force",
        "--org",
        "globex",
    ]);
    forced.success();
    let yaml = std::fs::read_to_string(dir.path().join("exported.yaml")).unwrap();
    assert!(
        yaml.contains("name: globex") && !yaml.contains("name: acme"),
        "{yaml}"
    );
}

#[test]
fn exporting_a_2500_member_organization_round_trips() {
    let tenant = demo_tenant(vec![
        org_with_members("org_bigbigbigbigbig1", "big", "m", 2500),
        org_with_members("org_smallsmallsmal2", "small", "s", 3),
    ]);
    let dir = Scenario::new("export-big").tenant(tenant);
    let out = dir.run(["export", "--org", "big"]);
    let yaml = out.success().stdout();
    assert_eq!(yaml.matches("\"auth0|m").count(), 2500);
    assert!(!yaml.contains("name: small"));
    dir.write("orgsync.yaml", yaml);
    let plan = dir.run(["plan", "--detailed-exitcode", "--format", "json"]);
    let v = json_of(plan.success());
    assert_eq!(v["organizations"][0]["current_count"], 2500);
    assert_eq!(v["summary"]["drift"], false);
}

#[test]
fn exporting_an_unknown_organization_fails_and_writes_nothing() {
    let dir = Scenario::new("export-unknown").tenant(example_tenant());
    let out = dir.run(["export", "--org", "acme", "--org", "nope", "-o", "x.yaml"]);
    out.failure().stderr_has("organization `nope`");
    assert!(!dir.path().join("x.yaml").exists());
}

#[test]
fn an_unknown_organization_is_named_as_not_found() {
    let s = Scenario::new("export-nosuch");
    assert_error!(s.sandbox(["export", "--org", "nosuch", "--org", "acme"]), @r"
    error: organization `nosuch` not found in the tenant; nothing was exported
    hint: `--org` takes organization names (not ids) as the tenant spells them; `orgsync export` without `--org` exports every organization
    ");
}

/// A refused organization list says which scope to grant, like every other refused call.
#[test]
fn a_refused_organization_list_names_the_scope_to_grant() {
    let mut tenant = demo_tenant(vec![org_with_members(
        "org_aaaaaaaaaaaaaaa1",
        "acme",
        "a",
        2,
    )]);
    tenant.clients = vec![client(
        "demo",
        "demo-secret",
        &["read:organization_members"],
    )];
    let dir = Scenario::new("export-scope").tenant(tenant);
    dir.run(["export"])
        .failure()
        .stderr_has("hint: grant the scope `read:organizations`");
}
