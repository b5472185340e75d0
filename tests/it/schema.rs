//! The checked-in JSON Schema is exactly what `orgsync schema` prints, and the example config
//! satisfies its basic shape.

use crate::support::*;

#[test]
fn the_checked_in_schema_is_current() {
    let dir = TempDir::new("schema");
    let out = OrgSync::bare().args(["schema"]).cwd(dir.path()).run();
    out.success();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/orgsync.schema.json");
    let checked_in = std::fs::read_to_string(&path).expect("schemas/orgsync.schema.json exists");
    assert!(
        out.stdout() == checked_in,
        "schemas/orgsync.schema.json is stale: run `cargo run -- schema > schemas/orgsync.schema.json` and commit it"
    );
    let v: serde_json::Value = serde_json::from_str(&checked_in).unwrap();
    assert_eq!(v["title"], "orgsync.yaml");
}
