//! `orgsync export`: an exported file, planned right away, gives an empty plan.

use crate::support::*;
use orgsync_emulator::Options;

#[test]
fn exporting_the_example_tenant_round_trips_to_an_empty_plan() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("export-example");
    let out = orgsync_against(&emu, &["export", "-o", "exported.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
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
    let plan = orgsync_against(
        &emu,
        &["plan", "-c", "exported.yaml", "--detailed-exitcode"],
        dir.path(),
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stdout(&plan));
    assert!(
        stdout(&plan)
            .contains("No changes: the membership of 4 organizations matches the configuration.")
    );

    // It refuses to overwrite without --force.
    let again = orgsync_against(&emu, &["export", "-o", "exported.yaml"], dir.path());
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exists") && stderr(&again).contains("--force"),
        "{}",
        stderr(&again)
    );
    let forced = orgsync_against(
        &emu,
        &[
            "export",
            "-o",
            "exported.yaml",
            "--force",
            "--org",
            "globex",
        ],
        dir.path(),
    );
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
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
    let emu = background(tenant, Options::default());
    let dir = TempDir::new("export-big");
    let out = orgsync_against(&emu, &["export", "--org", "big"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let yaml = stdout(&out);
    assert_eq!(yaml.matches("\"auth0|m").count(), 2500);
    assert!(!yaml.contains("name: small"));
    dir.write("orgsync.yaml", &yaml);
    let plan = orgsync_against(
        &emu,
        &["plan", "--detailed-exitcode", "--format", "json"],
        dir.path(),
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let v: serde_json::Value = serde_json::from_str(&stdout(&plan)).unwrap();
    assert_eq!(v["organizations"][0]["current_count"], 2500);
    assert_eq!(v["summary"]["drift"], false);
}

#[test]
fn exporting_an_unknown_organization_fails_and_writes_nothing() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("export-unknown");
    let out = orgsync_against(
        &emu,
        &["export", "--org", "acme", "--org", "nope", "-o", "x.yaml"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("organization `nope`"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("x.yaml").exists());
}
