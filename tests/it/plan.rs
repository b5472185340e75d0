//! `orgsync plan` and `orgsync validate`: the real binary against the emulator over loopback.
//!
//! Long because it is one area's tests, each standing alone with its own tenant and config.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::support::*;
use orgsync_emulator::jwt::Claims;
use orgsync_emulator::{BucketConfig, Options, RateLimits};
use serde_json::Value;

#[test]
fn the_example_plan_as_text_and_json() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("plan-example");
    // A copy outside any Git work tree: the plan's provenance would name this checkout's commit.
    let config = dir.write(
        "orgsync.yaml",
        &std::fs::read_to_string(example_config()).unwrap(),
    );
    let config = config.to_str().unwrap();

    let text = OrgSync::new(&emu)
        .args(["plan", "-c", config])
        .cwd(dir.path())
        .run();
    text.success();
    orgsync_snapshot!("example_plan_text", &text);

    let json = OrgSync::new(&emu)
        .args(["plan", "-c", config, "--format", "json"])
        .cwd(dir.path())
        .run();
    json.success();
    let v: Value = serde_json::from_str(json.stdout()).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["domain"], emu.url());
    assert_eq!(v["summary"]["remove"], 3, "what apply removes");
    assert_eq!(v["summary"]["remove_blocked"], 6, "initech is blocked");
    orgsync_snapshot!("example_plan_json", &json);

    // Planning never changes the tenant.
    assert!(api_requests(&emu).iter().all(|r| r.method == "GET"));
}

#[test]
fn the_example_plan_as_markdown() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("plan-markdown");
    let out = OrgSync::new(&emu)
        .args([
            "plan",
            "-c",
            example_config().to_str().unwrap(),
            "--format",
            "markdown",
        ])
        .cwd(dir.path())
        .run();
    out.success();
    let md = out.stdout();
    assert!(md.starts_with("<!-- orgsync-plan -->\n"));
    orgsync_snapshot!("example_plan_markdown", &out);
}

#[test]
fn drift_fields_in_json() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("plan-drift");
    let out = OrgSync::new(&emu)
        .args([
            "plan",
            "-c",
            example_config().to_str().unwrap(),
            "--format",
            "json",
        ])
        .cwd(dir.path())
        .run();
    let v: Value = serde_json::from_str(out.stdout()).unwrap();
    let drift: Vec<(&str, bool)> = v["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["drift"].as_bool().unwrap()))
        .collect();
    // acme has removals and a missing member, globex is in sync, initech is blocked but still
    // drifted, umbrella (by id) has a removal.
    assert_eq!(
        drift,
        [
            ("acme", true),
            ("globex", false),
            ("initech", true),
            ("umbrella", true)
        ]
    );
    assert_eq!(v["summary"]["drift"], true);

    // Missing members alone are drift too.
    let dir2 = TempDir::new("plan-drift-missing");
    let cfg = dir2.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: umbrella\n    members:\n      - \"auth0|64b0c0ffee0000000000001e\"\n      - \"auth0|64b0c0ffee0000000000001f\"\n      - \"auth0|64b0c0ffee00000000000020\"\n      - \"auth0|64b0c0ffee00000000000021\"\n      - \"auth0|64b0c0ffee0000000000abcd\"\n",
    );
    let out = OrgSync::new(&emu)
        .args([
            "plan",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "json",
            "--detailed-exitcode",
        ])
        .cwd(dir2.path())
        .run();
    out.code(2);
    let v: Value = serde_json::from_str(out.stdout()).unwrap();
    assert_eq!(v["summary"]["remove"], 0);
    assert_eq!(v["summary"]["missing"], 1);
    assert_eq!(v["summary"]["drift"], true);
    assert_eq!(v["organizations"][0]["drift"], true);
}

#[test]
fn the_sandbox_demo_needs_no_credentials() {
    let dir = TempDir::new("plan-sandbox");
    let tenant = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tenant.yaml");
    let out = OrgSync::bare()
        .args([
            "plan",
            "-c",
            example_config().to_str().unwrap(),
            "--sandbox",
            tenant.to_str().unwrap(),
        ])
        .cwd(dir.path())
        .run();
    out.success();
    let text = out.stdout();
    assert!(
        text.contains(
            "Plan: 3 to remove, 6 blocked, 0 missing, 1 invited, 2 protected kept, 1 undeclared invitation (kept), in 3 of 4 organizations."
        ),
        "{text}"
    );
}

#[test]
fn detailed_exitcode_is_0_2_or_1() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("plan-exit");
    let config = example_config();
    let changes = OrgSync::new(&emu)
        .args([
            "plan",
            "-c",
            config.to_str().unwrap(),
            "--detailed-exitcode",
        ])
        .cwd(dir.path())
        .run();
    changes.code(2);

    // A config that matches the tenant exactly.
    let state = emu.state();
    let mut yaml = String::from("version: 1\norganizations:\n");
    for o in &state.organizations {
        yaml.push_str(&format!("  - name: {}\n    members:\n", o.name));
        for m in &o.members {
            yaml.push_str(&format!("      - \"{m}\"\n"));
        }
    }
    let same = dir.write("same.yaml", &yaml);
    // Without the invitations scope: acme's undeclared invitation would be drift too.
    let none = OrgSync::new(&emu)
        .env("AUTH0_CLIENT_ID", "read-only")
        .env("AUTH0_CLIENT_SECRET", "read-only-secret")
        .args(["plan", "-c", same.to_str().unwrap(), "--detailed-exitcode"])
        .cwd(dir.path())
        .run();
    none.success();
    assert!(none.stdout().contains("No changes"), "{}", none.stdout());

    let unknown = dir.write(
        "unknown.yaml",
        "version: 1\norganizations:\n  - name: nope\n    members: []\n",
    );
    let err = OrgSync::new(&emu)
        .args([
            "plan",
            "-c",
            unknown.to_str().unwrap(),
            "--detailed-exitcode",
        ])
        .cwd(dir.path())
        .run();
    err.failure();
    assert!(err.stderr().contains("unknown.yaml:3:"), "{}", err.stderr());
    assert!(err.stderr().contains("`nope`"), "{}", err.stderr());
    assert!(
        err.stdout().is_empty(),
        "nothing is planned for a half-resolved tenant"
    );
}

#[test]
fn an_organization_of_2500_members_is_read_in_full_by_checkpoint() {
    let tenant = demo_tenant(vec![org_with_members(
        "org_bigbigbigbigbig1",
        "big",
        "m",
        2500,
    )]);
    let emu = background(tenant, Options::default());
    let dir = TempDir::new("plan-big");
    // Declare everyone but the last member: exactly one removal, found on the last page.
    let mut yaml = String::from(
        "version: 1\norganizations:\n  - name: big\n    max_removals: 1\n    members:\n",
    );
    for i in 0..2499 {
        yaml.push_str(&format!("      - \"auth0|m{i:04}\"\n"));
    }
    let config = dir.write("orgsync.yaml", &yaml);
    let out = OrgSync::new(&emu)
        .args(["plan", "-c", config.to_str().unwrap(), "--format", "json"])
        .cwd(dir.path())
        .run();
    out.success();
    let v: Value = serde_json::from_str(out.stdout()).unwrap();
    assert_eq!(v["organizations"][0]["current_count"], 2500);
    assert_eq!(v["organizations"][0]["remove"][0]["user_id"], "auth0|m2499");
    assert_eq!(v["summary"]["missing"], 0);
    let reqs = api_requests(&emu);
    let member_reads = reqs.iter().filter(|r| r.path.contains("/members")).count();
    // One lookup by name, 25 full pages of 100, and the trailing empty page.
    assert_eq!(
        reqs.len(),
        1 + 26,
        "{:#?}",
        reqs.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert_eq!(member_reads, 26);
    assert!(
        reqs.iter().all(|r| !r.path.contains("page=")),
        "no offset paging"
    );
}

#[test]
fn auth_failures_have_messages_a_person_can_act_on_and_never_show_the_token() {
    let mut tenant = example_tenant();
    tenant
        .clients
        .push(client("orgs-only", "s", &["read:organizations"]));
    let mut local = client("local", "s", ALL_SCOPES);
    local.global = false;
    tenant.clients.push(local);
    let emu = background(tenant.clone(), Options::default());
    let other = background(tenant, Options::default());
    let dir = TempDir::new("plan-auth");
    let config = example_config();
    let config = config.to_str().unwrap();
    let url = emu.url();
    let run_with_token = |token: &str| {
        OrgSync::at(&url)
            .env("AUTH0_API_TOKEN", token)
            .args(["plan", "-c", config, "-vv"])
            .cwd(dir.path())
            .run()
    };
    let check = |out: &Run, token: &str, wants: &[&str]| {
        out.failure();
        let err = out.stderr();
        for w in wants {
            assert!(err.contains(w), "missing {w:?} in:\n{err}");
        }
        assert!(
            !err.contains(token) && !out.stdout().contains(token),
            "the token leaked:\n{err}"
        );
        assert!(out.stdout().is_empty());
    };

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |exp: u64, scope: &str| Claims {
        iss: format!("{url}/"),
        sub: "demo@clients".into(),
        aud: emu.audience(),
        iat: now - 100,
        exp,
        azp: "demo".into(),
        scope: scope.into(),
        gty: "client-credentials".into(),
    };

    let garbage = "not-a-jwt-0123456789";
    check(
        &run_with_token(garbage),
        garbage,
        &["401", "Invalid token", "hint:"],
    );

    let foreign = other.token_for("demo").unwrap();
    check(
        &run_with_token(&foreign),
        &foreign,
        &["Invalid signature", "another tenant or was altered"],
    );

    let expired = emu.sign(&claims(
        now - 10,
        "read:organizations read:organization_members",
    ));
    check(
        &run_with_token(&expired),
        &expired,
        &["Expired token", "has expired"],
    );

    let not_global = emu.token_for("local").unwrap();
    check(
        &run_with_token(&not_global),
        &not_global,
        &["Client is not global", "not a global client"],
    );

    let no_members = emu.token_for("orgs-only").unwrap();
    check(
        &run_with_token(&no_members),
        &no_members,
        &[
            "403",
            "insufficient_scope",
            "grant the scope `read:organization_members`",
            "organization `acme`",
        ],
    );

    // Wrong client credentials: the secret never shows either.
    let out = OrgSync::bare()
        .envs(&[
            ("AUTH0_DOMAIN", url.as_str()),
            ("AUTH0_CLIENT_ID", "demo"),
            ("AUTH0_CLIENT_SECRET", "wrong-secret-xyz"),
        ])
        .args(["plan", "-c", config])
        .cwd(dir.path())
        .run();
    check(
        &out,
        "wrong-secret-xyz",
        &[
            "access token",
            "401",
            "AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET",
        ],
    );

    // A missing variable is named.
    let out = OrgSync::bare()
        .envs(&[("AUTH0_DOMAIN", url.as_str()), ("AUTH0_CLIENT_ID", "demo")])
        .args(["plan", "-c", config])
        .cwd(dir.path())
        .run();
    out.failure();
    assert!(
        out.stderr().contains("AUTH0_CLIENT_SECRET"),
        "{}",
        out.stderr()
    );
}

#[test]
fn an_unknown_organization_is_a_404_naming_it_and_its_line() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("plan-404");
    let config = dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: acme\n    members: []\n    allow_empty: true\n  - id: org_XXXXXXXXXXXXXXXX\n    members: []\n",
    );
    let out = OrgSync::new(&emu)
        .args(["plan", "-c", config.to_str().unwrap()])
        .cwd(dir.path())
        .run();
    out.failure();
    let err = out.stderr();
    assert!(err.contains("orgsync.yaml:6:"), "{err}");
    assert!(err.contains("org_XXXXXXXXXXXXXXXX"), "{err}");
    assert!(
        err.contains("No organization found by that id or name"),
        "{err}"
    );
    assert!(err.contains("nothing was planned"), "{err}");
    assert!(out.stdout().is_empty());
    // Members were read for no organization: resolution failed first.
    assert!(
        api_requests(&emu)
            .iter()
            .all(|r| !r.path.contains("/members"))
    );
}

#[test]
fn a_429_burst_is_waited_out_and_the_plan_completes() {
    let options = Options {
        rate_limits: RateLimits {
            global: Some(BucketConfig {
                size: 3,
                refill_per_sec: 10.0,
                every_second: false,
            }),
            ..RateLimits::default()
        },
        ..Options::default()
    };
    let emu = background(example_tenant(), options);
    let dir = TempDir::new("plan-429");
    let url = emu.url();
    // Real waits here: the client honours x-ratelimit-reset.
    let out = OrgSync::bare()
        .envs(&[
            ("AUTH0_DOMAIN", url.as_str()),
            ("AUTH0_CLIENT_ID", "demo"),
            ("AUTH0_CLIENT_SECRET", "demo-secret"),
        ])
        .args([
            "plan",
            "-c",
            example_config().to_str().unwrap(),
            "--format",
            "json",
        ])
        .cwd(dir.path())
        .run();
    out.success();
    let v: Value = serde_json::from_str(out.stdout()).unwrap();
    assert_eq!(v["summary"]["remove"], 3, "what apply removes");
    assert_eq!(v["summary"]["remove_blocked"], 6, "initech is blocked");
    // One list page, four member pages, four of enabled connections, four of invitations
    // and four users fit a burst of 3 only by waiting.
    assert_eq!(
        api_requests(&emu)
            .iter()
            .filter(|r| r.status == 200)
            .count(),
        17
    );
}

#[test]
fn two_entries_for_the_same_organization_are_refused() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("plan-same");
    let config = dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: acme\n    members: []\n  - id: org_3hbVAMF8F3wVIcEJ\n    members: []\n",
    );
    let out = OrgSync::new(&emu)
        .args(["plan", "-c", config.to_str().unwrap()])
        .cwd(dir.path())
        .run();
    out.failure();
    let err = out.stderr();
    assert!(err.contains("same organization"), "{err}");
    assert!(err.contains("orgsync.yaml:5:"), "{err}");
}

#[test]
fn plain_http_is_refused_for_remote_domains() {
    let dir = TempDir::new("plan-http");
    let out = OrgSync::bare()
        .envs(&[
            ("AUTH0_DOMAIN", "http://travel0.us.auth0.com"),
            ("AUTH0_API_TOKEN", "t"),
        ])
        .args(["plan", "-c", example_config().to_str().unwrap()])
        .cwd(dir.path())
        .run();
    out.failure();
    assert!(
        out.stderr()
            .contains("plain http is only accepted for loopback"),
        "{}",
        out.stderr()
    );
}

#[test]
fn out_writes_the_json_plan() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("plan-out");
    let out_file = dir.path().join("plan.json");
    let out = OrgSync::new(&emu)
        .args([
            "plan",
            "-c",
            example_config().to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ])
        .cwd(dir.path())
        .run();
    out.success();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["organizations"].as_array().unwrap().len(), 4);
    let sha = v["config_sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    // The text plan still went to stdout.
    assert!(out.stdout().contains("Plan: "));
}

#[test]
fn validate_is_offline() {
    let dir = TempDir::new("validate");
    let out = OrgSync::bare()
        .args(["validate", "-c", example_config().to_str().unwrap()])
        .cwd(dir.path())
        .run();
    out.success();
    assert!(
        out.stdout().contains("valid: 4 organizations"),
        "{}",
        out.stdout()
    );
}

#[test]
fn sandbox_wins_over_auth0_domain_from_the_environment_but_not_over_the_flag() {
    let tenant = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tenant.yaml");
    let config = example_config();
    let out = OrgSync::bare()
        .env("AUTH0_DOMAIN", "travel0.us.auth0.com")
        .arg("plan")
        .arg("-c")
        .arg(&config)
        .arg("--sandbox")
        .arg(&tenant)
        .arg("-v")
        .run();
    out.success();
    assert!(
        out.stderr()
            .contains("--sandbox given: AUTH0_DOMAIN (travel0.us.auth0.com) is not used"),
        "{}",
        out.show()
    );
    let both = OrgSync::bare()
        .arg("plan")
        .arg("-c")
        .arg(&config)
        .arg("--sandbox")
        .arg(&tenant)
        .args(["--domain", "travel0.us.auth0.com"])
        .run();
    both.failure();
    assert!(
        both.stderr().contains("cannot be used with"),
        "{}",
        both.show()
    );
}

#[test]
fn a_long_flag_with_one_dash_gets_a_hint_with_two() {
    let out = OrgSync::bare().args(["plan", "-detailed-exitcode"]).run();
    out.failure();
    assert!(
        out.stderr()
            .contains("hint: long flags take two dashes: did you mean `--detailed-exitcode`?"),
        "{}",
        out.show()
    );
}

#[test]
fn out_into_a_missing_directory_names_the_directory_not_a_temporary_file() {
    let tenant = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tenant.yaml");
    let out = OrgSync::bare()
        .arg("plan")
        .arg("-c")
        .arg(example_config())
        .arg("--sandbox")
        .arg(&tenant)
        .args(["--out", "/nonexistent-orgsync-dir/p.json"])
        .run();
    out.failure();
    let err = out.stderr();
    assert!(
        err.contains("error: cannot write the plan to `/nonexistent-orgsync-dir/p.json`: its directory `/nonexistent-orgsync-dir` does not exist")
            && err.contains("hint: "),
        "{}",
        out.show()
    );
    assert!(!err.contains(".tmp"), "{}", out.show());
}

/// 13 members, 2 declared: 11 removals.
fn thirteen_members_two_declared(dir: &TempDir, name: &str, extra: &str) -> std::path::PathBuf {
    dir.write(
        name,
        &format!(
            "version: 1\norganizations:\n  - name: big\n{extra}    members: [\"auth0|m0000\", \"auth0|m0001\"]\n"
        ),
    )
}

#[test]
fn without_max_removals_the_default_guard_blocks_more_than_a_quarter() {
    let tenant = demo_tenant(vec![org_with_members(
        "org_bigbigbigbigbig1",
        "big",
        "m",
        13,
    )]);
    let emu = background(tenant, Options::default());
    let dir = TempDir::new("plan-default-guard");
    let config = thirteen_members_two_declared(&dir, "orgsync.yaml", "");
    let out = OrgSync::new(&emu)
        .args(["plan", "-c", config.to_str().unwrap(), "--format", "json"])
        .cwd(dir.path())
        .run();
    out.success();
    let v: Value = serde_json::from_str(out.stdout()).unwrap();
    let blocked = &v["organizations"][0]["blocked"];
    assert_eq!(blocked["guard"], "max_removals", "{blocked}");
    assert_eq!(blocked["limit"], "25%");
    assert_eq!(blocked["allowed"], 3, "a quarter of 13, rounded down");
    assert_eq!(blocked["removals"], 11);
    // Apply removes nobody.
    let apply = OrgSync::new(&emu)
        .args(["apply", "-c", config.to_str().unwrap(), "--auto-approve"])
        .cwd(dir.path())
        .run();
    apply.failure();
    assert!(api_requests(&emu).iter().all(|r| r.method == "GET"));

    // An explicit `100%` opts out.
    let config = thirteen_members_two_declared(&dir, "optout.yaml", "    max_removals: 100%\n");
    let out = OrgSync::new(&emu)
        .args(["plan", "-c", config.to_str().unwrap(), "--format", "json"])
        .cwd(dir.path())
        .run();
    out.success();
    let v: Value = serde_json::from_str(out.stdout()).unwrap();
    assert_eq!(v["organizations"][0]["blocked"], Value::Null);
    assert_eq!(v["summary"]["remove"], 11);
}

#[test]
fn a_directory_wide_defaults_file_protects_in_every_file() {
    let mut org = org_with_members("org_bigbigbigbigbig1", "big", "m", 4);
    org.members.push(orgsync_emulator::fixtures::member(
        "auth0|breakglass",
        "bg@example.com",
        "Break Glass",
    ));
    let emu = background(demo_tenant(vec![org]), Options::default());
    let dir = TempDir::new("plan-dir-defaults");
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    dir.write(
        "conf/_defaults.yaml",
        "version: 1\ndefaults:\n  protect: [\"auth0|breakglass\"]\n  max_removals: 100%\n",
    );
    dir.write("conf/a.yaml", "version: 1\norganizations: []\n");
    dir.write(
        "conf/b.yml",
        "version: 1\norganizations:\n  - name: big\n    members: [\"auth0|m0000\"]\n",
    );
    let out = OrgSync::new(&emu)
        .args(["plan", "-c", "conf", "--format", "json"])
        .cwd(dir.path())
        .run();
    out.success();
    let v: Value = serde_json::from_str(out.stdout()).unwrap();
    let org = &v["organizations"][0];
    let removed: Vec<&str> = org["remove"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(removed, ["auth0|m0001", "auth0|m0002", "auth0|m0003"]);
    assert_eq!(org["protected_kept"][0]["user_id"], "auth0|breakglass");

    // `defaults` in an ordinary file of the directory is an error, not a silent scope.
    dir.write(
        "conf/a.yaml",
        "version: 1\ndefaults:\n  protect: [\"auth0|breakglass\"]\norganizations: []\n",
    );
    let out = OrgSync::new(&emu)
        .args(["plan", "-c", "conf"])
        .cwd(dir.path())
        .run();
    out.failure();
    assert!(
        out.stderr().contains(
            "conf/a.yaml:3:3: `defaults` in one file of a directory config would apply to that file only"
        ),
        "{}",
        out.stderr()
    );
    assert!(out.stderr().contains("_defaults.yaml"), "{}", out.stderr());
    assert!(api_requests(&emu).iter().all(|r| r.method == "GET"));
}

#[test]
fn markdown_keeps_as_much_of_a_huge_diff_as_fits() {
    let tenant = demo_tenant(vec![org_with_members(
        "org_hugehugehugehug1",
        "huge",
        "m",
        1501,
    )]);
    let emu = background(tenant, Options::default());
    let dir = TempDir::new("plan-markdown-huge");
    let config = dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: huge\n    max_removals: 100%\n    members: [\"auth0|m0000\"]\n",
    );
    let out = OrgSync::new(&emu)
        .args([
            "plan",
            "-c",
            config.to_str().unwrap(),
            "--format",
            "markdown",
        ])
        .cwd(dir.path())
        .run();
    out.success();
    let md = out.stdout();
    assert!(md.chars().count() <= 65_536, "{}", md.len());
    let shown = md.lines().filter(|l| l.starts_with("-auth0|m")).count();
    assert!(
        shown > 500,
        "most of the diff is kept: {shown} removals shown"
    );
    assert!(
        md.contains("removals not shown; the JSON plan")
            && md.contains(&format!("{} removals not shown", 1500 - shown)),
        "{}",
        &md[md.len().saturating_sub(600)..]
    );
    assert!(md.trim_end().ends_with("</details>"));
}

/// One raw HTTP/1.1 exchange with the emulator: the answer's head, lower-cased.
fn raw_http(emu: &orgsync_emulator::Emulator, method: &str, path: &str, body: &str) -> String {
    raw_exchange(emu, method, path, body)
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

#[test]
fn injected_5xx_faults_carry_rate_limit_headers_and_an_injected_429_none_as_the_readme_says() {
    let options = Options {
        rate_limits: RateLimits {
            global: Some(BucketConfig {
                size: 50,
                refill_per_sec: 10.0,
                every_second: false,
            }),
            ..RateLimits::default()
        },
        ..Options::default()
    };
    let emu = background(example_tenant(), options);
    let plain = raw_http(&emu, "GET", "/api/v2/organizations", "");
    assert!(plain.starts_with("http/1.1 401"), "{plain}");
    assert!(plain.contains("x-ratelimit-limit: 50"), "{plain}");
    let added = raw_http(
        &emu,
        "POST",
        "/__emulator/faults",
        r#"{"method":"GET","path":"/api/v2/organizations","status":503,"times":1}"#,
    );
    assert!(added.starts_with("http/1.1 2"), "{added}");
    let faulted = raw_http(&emu, "GET", "/api/v2/organizations", "");
    assert!(faulted.starts_with("http/1.1 503"), "{faulted}");
    assert!(faulted.contains("x-ratelimit-limit: 50"), "{faulted}");
    assert!(faulted.contains("x-ratelimit-reset: "), "{faulted}");
    raw_http(
        &emu,
        "POST",
        "/__emulator/faults",
        r#"{"method":"GET","path":"/api/v2/organizations","status":429,"times":1}"#,
    );
    let limited = raw_http(&emu, "GET", "/api/v2/organizations", "");
    assert!(limited.starts_with("http/1.1 429"), "{limited}");
    assert!(!limited.contains("x-ratelimit-"), "{limited}");
    let docs = crate::docs::all_text().replace('\n', " ");
    assert!(
        docs.contains("an injected 429 stands for a server that sends none"),
        "docs/emulator.md says which injected faults carry rate-limit headers"
    );
}

/// `orgsync plan | head -1` on a big plan: the reader goes away early, and orgsync ends quietly
/// with exit 0, never "error: Broken pipe" or a panic.
#[test]
fn a_reader_that_closes_early_is_a_quiet_success() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = TempDir::new("plan-pipe");
    let mut tenant = String::from(
        "clients:\n  - {client_id: demo, client_secret: s, scopes: [read:organizations, read:organization_members]}\norganizations:\n  - id: org_pipepipepipepipe\n    name: big\n    members:\n",
    );
    for i in 0..3000 {
        tenant.push_str(&format!(
            "      - {{user_id: 'auth0|big{i:05}', email: big{i}@example.com, name: Big {i}}}\n"
        ));
    }
    let tenant = dir.write("tenant.yaml", &tenant);
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: big\n    max_removals: 100%\n    members: ['auth0|big00000']\n",
    );
    let mut child = Command::new(bin())
        .args(["plan", "--sandbox", tenant.to_str().unwrap()])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: stdout is closed with about 200 KB of the plan still to come.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("orgsync did not end after its reader went away");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(first.contains("big"), "{first}");
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("rror") && !err.contains("panicked"), "{err}");
}
