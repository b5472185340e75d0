//! Every config mistake is reported as `FILE:LINE:COLUMN: message`, exit 1, before any request
//! reaches the tenant.

use crate::support::*;
use orgsync_emulator::Options;

/// (what, file content, the exact `FILE:LINE:COLUMN: message` line expected on stderr)
const CASES: &[(&str, &str, &str)] = &[
    (
        "yaml syntax",
        "version: 1\norganizations:\n  - name: acme\n    members: [\"a|1\"\n",
        "error: orgsync.yaml:4:14: unclosed bracket '['",
    ),
    (
        "unknown key",
        "version: 1\norganizations:\n  - name: acme\n    member: []\n",
        "error: orgsync.yaml:4:5: unknown field `member`",
    ),
    (
        "duplicate key",
        "version: 1\norganizations:\n  - name: acme\n    name: acme\n    members: []\n",
        "error: orgsync.yaml:4:5: duplicate",
    ),
    (
        "wrong type",
        "version: 1\norganizations:\n  - name: acme\n    members: []\n    allow_empty: maybe\n",
        "error: orgsync.yaml:5:18: ",
    ),
    (
        "version missing",
        "organizations: []\n",
        "error: orgsync.yaml:1:1: `version` is missing",
    ),
    (
        "version 2",
        "version: 2\norganizations: []\n",
        "error: orgsync.yaml:1:10: unsupported `version: 2`",
    ),
    (
        "name and id",
        "version: 1\norganizations:\n  - name: acme\n    id: org_abc\n    members: []\n",
        "error: orgsync.yaml:4:9: an organization has both `name` and `id`",
    ),
    (
        "neither name nor id",
        "version: 1\norganizations:\n  - members: []\n",
        "error: orgsync.yaml:3:5: an organization needs `name` or `id`",
    ),
    (
        "upper-case name",
        "version: 1\norganizations:\n  - name: Acme\n    members: []\n",
        "error: orgsync.yaml:3:11: malformed organization name `Acme`",
    ),
    (
        "malformed id",
        "version: 1\norganizations:\n  - id: acme\n    members: []\n",
        "error: orgsync.yaml:3:9: malformed organization id `acme`",
    ),
    (
        "user_id with whitespace",
        "version: 1\norganizations:\n  - name: acme\n    members: [\"auth0| 1\"]\n",
        "error: orgsync.yaml:4:15: malformed user_id `auth0| 1`: whitespace is not allowed",
    ),
    (
        "user_id without provider",
        "version: 1\norganizations:\n  - name: acme\n    members:\n      - abc\n",
        "error: orgsync.yaml:5:9: malformed user_id `abc`: expected `provider|id`",
    ),
    (
        "user listed twice",
        "version: 1\norganizations:\n  - name: acme\n    members:\n      - \"a|1\"\n      - \"a|1\"\n",
        "error: orgsync.yaml:6:9: user `a|1` is listed twice in this organization (first at line 5)",
    ),
    (
        "organization listed twice",
        "version: 1\norganizations:\n  - name: acme\n    members: []\n  - name: acme\n    members: []\n",
        "error: orgsync.yaml:5:11: organization name `acme` is listed twice (first at orgsync.yaml:3:11)",
    ),
    (
        "negative max_removals",
        "version: 1\ndefaults:\n  max_removals: -3\norganizations: []\n",
        "error: orgsync.yaml:3:17: `max_removals: -3` is negative",
    ),
    (
        "max_removals over 100%",
        "version: 1\norganizations:\n  - name: acme\n    members: []\n    max_removals: 150%\n",
        "error: orgsync.yaml:5:19: `max_removals: 150%` is over 100%",
    ),
    (
        "max_removals not a number",
        "version: 1\norganizations:\n  - name: acme\n    members: []\n    max_removals: lots\n",
        "error: orgsync.yaml:5:19: `max_removals: lots` is not a number",
    ),
    (
        "members null",
        "version: 1\norganizations:\n  - name: acme\n    members: null\n",
        "error: orgsync.yaml:4:14: `members` is null",
    ),
    (
        "empty file",
        "",
        "error: orgsync.yaml:1:1: the file is empty",
    ),
];

#[test]
fn each_config_error_has_its_place_and_no_request_is_made() {
    let emu = background(example_tenant(), Options::default());
    let mut failures = Vec::new();
    for (what, text, expected) in CASES {
        let dir = TempDir::new("config-error");
        dir.write("orgsync.yaml", text);
        for cmd in ["plan", "validate"] {
            let out = OrgSync::new(&emu)
                .args([cmd, "-c", "orgsync.yaml"])
                .cwd(dir.path())
                .run();
            let err = out.stderr();
            if out.code != Some(1)
                || !err.lines().any(|l| l.starts_with(expected))
                || !out.stdout.is_empty()
            {
                failures.push(format!(
                    "{what} ({cmd}): exit {:?}, wanted a line starting {expected:?}, got:\n{err}",
                    out.code
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        emu.requests().is_empty(),
        "a request reached the tenant: {:?}",
        emu.requests()
    );
}

#[test]
fn a_file_over_64_mib_is_refused_unread() {
    let s = Scenario::new("config-big");
    let f = std::fs::File::create(s.join("orgsync.yaml")).unwrap();
    f.set_len(64 * 1024 * 1024 + 1).unwrap();
    assert_error!(s.run(["plan"]), @r"
        error: orgsync.yaml: the file is larger than 64 MiB
        hint: split the config into several files in a directory and pass the directory with `-c`
        ");
    assert!(s.emu().requests().is_empty());
}

#[test]
fn an_alias_bomb_is_refused_quickly() {
    let mut y = String::from(
        "version: 1\norganizations:\n  - name: x\n    members: [&m \"a|1\"]\n  - name: y\n    members: [",
    );
    y.push_str(&vec!["*m"; 100_000].join(", "));
    y.push_str("]\n");
    let s = Scenario::new("config-bomb");
    s.write("orgsync.yaml", &y);
    assert_error!(s.run_bare(["validate"]), @r"
        error: orgsync.yaml:6:4015: too many YAML aliases (`*name`): more than 1,000
        hint: orgsync refuses YAML that expands aliases or nests beyond reasonable limits; write the members out
        ");
}

#[test]
fn a_directory_is_merged_and_a_cross_file_duplicate_names_both_places() {
    let one_org =
        |name: &str| format!("version: 1\norganizations:\n  - name: {name}\n    members: []\n");
    let s = Scenario::new("config-dir").mkdir("conf");
    s.write("conf/a.yaml", &one_org("acme"));
    s.write("conf/b.yml", &one_org("globex"));
    assert_run!(s.run_bare(["validate", "-c", "conf"]), @r"
        success: true
        exit_code: 0
        ----- stdout -----
        conf: valid: 2 organizations, 0 members declared

        ----- stderr -----
        ");
    s.write("conf/c.yaml", &one_org("acme"));
    assert_error!(s.run_bare(["validate", "-c", "conf"]), @r"
        error: conf/c.yaml:3:11: organization name `acme` is listed twice (first at conf/a.yaml:3:11)
        hint: declare each organization once
        ");
}
