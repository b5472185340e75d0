//! `orgsync plan` and `orgsync validate`: the real binary against the emulator over loopback.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::support::*;
use orgsync_emulator::Options;
use orgsync_emulator::jwt::Claims;
use serde_json::Value;

/// The plan's JSON from a successful run.
fn json(run: &Run) -> Value {
    json_of(run.success())
}

#[test]
fn the_example_plan_as_text_and_json() {
    let s = Scenario::example("plan-example");
    let config = s.join("orgsync.yaml");
    let text = s.cmd(["plan", "-c"]).arg(&config).run();
    orgsync_snapshot!("example_plan_text", text.success());
    let json_run = s.cmd(["plan", "-c"]).arg(&config).arg("--format=json");
    let json_run = json_run.run();
    let v = json(&json_run);
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["domain"], s.emu().url());
    assert_eq!(v["summary"]["remove"], 3, "what apply removes");
    assert_eq!(v["summary"]["remove_blocked"], 6, "initech is blocked");
    orgsync_snapshot!("example_plan_json", &json_run);
    // Planning never changes the tenant.
    assert_reads_only(s.emu());
}

#[test]
fn the_example_plan_as_markdown() {
    let s = Scenario::new("plan-markdown");
    let out = s
        .cmd(["plan", "--format", "markdown", "-c"])
        .arg(example_config())
        .run();
    out.success();
    assert!(out.stdout().starts_with("<!-- orgsync-plan -->\n"));
    orgsync_snapshot!("example_plan_markdown", &out);
}

#[test]
fn drift_fields_in_json() {
    let s = Scenario::new("plan-drift").example_config();
    let v = json(&s.run(["plan", "--format", "json"]));
    // acme has removals and a missing member, globex is in sync, initech is blocked but still
    // drifted, umbrella (by id) has a removal.
    let want = [
        "acme: true",
        "globex: false",
        "initech: true",
        "umbrella: true",
    ];
    assert_eq!(per_org(&v, "drift"), want);
    assert_eq!(v["summary"]["drift"], true);
}

#[test]
fn missing_members_alone_are_drift() {
    let s = Scenario::new("plan-drift-missing").config(
        r#"
        version: 1
        organizations:
          - name: umbrella
            members:
              - "auth0|64b0c0ffee0000000000001e"
              - "auth0|64b0c0ffee0000000000001f"
              - "auth0|64b0c0ffee00000000000020"
              - "auth0|64b0c0ffee00000000000021"
              - "auth0|64b0c0ffee0000000000abcd"
        "#,
    );
    let out = s.run(["plan", "--format", "json", "--detailed-exitcode"]);
    out.code(2);
    let v = json_of(&out);
    assert_eq!(v["summary"]["remove"], 0);
    assert_eq!(v["summary"]["missing"], 1);
    assert_eq!(v["summary"]["drift"], true);
    assert_eq!(v["organizations"][0]["drift"], true);
}

#[test]
fn the_sandbox_demo_needs_no_credentials() {
    let s = Scenario::new("plan-sandbox").example_config();
    s.sandbox(["plan"]).success().stdout_has("Plan: 3 to remove, 6 blocked, 0 missing, 1 invited, 2 protected kept, 1 undeclared invitation (kept), in 3 of 4 organizations.");
}

#[test]
fn detailed_exitcode_is_0_2_or_1() {
    let s = Scenario::new("plan-exit").example_config();
    s.run(["plan", "--detailed-exitcode"]).code(2);

    // A config that matches the tenant exactly.
    let mut yaml = String::from("version: 1\norganizations:\n");
    for o in &s.emu().state().organizations {
        yaml.push_str(&format!("  - name: {}\n    members:\n", o.name));
        for m in &o.members {
            yaml.push_str(&format!("      - \"{m}\"\n"));
        }
    }
    s.write("same.yaml", &yaml);
    // Without the invitations scope: acme's undeclared invitation would be drift too.
    let none = s.cmd(["plan", "-c", "same.yaml", "--detailed-exitcode"]);
    none.read_only().run().success().stdout_has("No changes");

    s.write(
        "unknown.yaml",
        "version: 1\norganizations:\n  - name: nope\n    members: []\n",
    );
    // Nothing is planned for a half-resolved tenant.
    assert_error!(s.run(["plan", "-c", "unknown.yaml", "--detailed-exitcode"]), @r"
        error: 1 organization could not be read; nothing was planned
          unknown.yaml:3:5: organization `nope`: `GET /api/v2/organizations/name/nope` (organization `nope`) was refused: 404: No organization found by that id or name
        hint: check the organization's name or id in the config and that AUTH0_DOMAIN is the right tenant
        ");
}

#[test]
fn an_organization_of_2500_members_is_read_in_full_by_checkpoint() {
    let big = org_with_members("org_bigbigbigbigbig1", "big", "m", 2500);
    // Declare everyone but the last member: exactly one removal, found on the last page.
    let mut yaml = String::from(
        "version: 1\norganizations:\n  - name: big\n    max_removals: 1\n    members:\n",
    );
    for i in 0..2499 {
        yaml.push_str(&format!("      - \"auth0|m{i:04}\"\n"));
    }
    let s = Scenario::new("plan-big")
        .tenant(demo_tenant(vec![big]))
        .config(&yaml);
    let v = json(&s.run(["plan", "--format", "json"]));
    assert_eq!(v["organizations"][0]["current_count"], 2500);
    assert_eq!(v["organizations"][0]["remove"][0]["user_id"], "auth0|m2499");
    assert_eq!(v["summary"]["missing"], 0);
    let paths = api_paths(s.emu());
    // One lookup by name, 25 full pages of 100, and the trailing empty page.
    assert_eq!(paths.len(), 1 + 26, "{paths:#?}");
    assert_eq!(paths.iter().filter(|p| p.contains("/members")).count(), 26);
    assert!(
        paths.iter().all(|p| !p.contains("page=")),
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
    let other = background(tenant.clone(), Options::default());
    let s = Scenario::new("plan-auth").tenant(tenant).example_config();
    let emu = s.emu();
    let url = emu.url();
    let run_with_token = |token: &str| {
        OrgSync::at(&url)
            .env("AUTH0_API_TOKEN", token)
            .args(["plan", "-vv"])
            .cwd(s.path())
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
    let wants = ["Invalid signature", "another tenant or was altered"];
    check(&run_with_token(&foreign), &foreign, &wants);
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
    let wants = ["Client is not global", "not a global client"];
    check(&run_with_token(&not_global), &not_global, &wants);
    let no_members = emu.token_for("orgs-only").unwrap();
    let wants = [
        "403",
        "insufficient_scope",
        "grant the scope `read:organization_members`",
        "organization `acme`",
    ];
    check(&run_with_token(&no_members), &no_members, &wants);

    // Wrong client credentials: the secret never shows either.
    let out = s
        .cmd(["plan"])
        .env("AUTH0_CLIENT_SECRET", "wrong-secret-xyz")
        .real_waits()
        .run();
    let wants = [
        "access token",
        "401",
        "AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET",
    ];
    check(&out, "wrong-secret-xyz", &wants);

    // A missing variable is named.
    let out = OrgSync::bare()
        .envs(&[("AUTH0_DOMAIN", url.as_str()), ("AUTH0_CLIENT_ID", "demo")])
        .arg("plan")
        .cwd(s.path())
        .run();
    assert_error!(out, @r"
        error: no Auth0 credentials: AUTH0_CLIENT_ID is set but AUTH0_CLIENT_SECRET is not
        hint: secrets are read from the environment only, never from flags
        ");
}

#[test]
fn an_unknown_organization_is_a_404_naming_it_and_its_line() {
    let s = Scenario::new("plan-404").config(
        "
        version: 1
        organizations:
          - name: acme
            members: []
            allow_empty: true
          - id: org_XXXXXXXXXXXXXXXX
            members: []
        ",
    );
    assert_error!(s.run(["plan"]), @r"
        error: 1 organization could not be read; nothing was planned
          orgsync.yaml:6:5: organization `org_XXXXXXXXXXXXXXXX`: `GET /api/v2/organizations/org_XXXXXXXXXXXXXXXX` (organization `org_XXXXXXXXXXXXXXXX`) was refused: 404: No organization found by that id or name
        hint: check the organization's name or id in the config and that AUTH0_DOMAIN is the right tenant
        ");
    // Members were read for no organization: resolution failed first.
    let members_read = api_requests(s.emu())
        .iter()
        .any(|r| r.path.contains("/members"));
    assert!(!members_read);
}

#[test]
fn a_429_burst_is_waited_out_and_the_plan_completes() {
    let s = Scenario::new("plan-429")
        .options(rate_limited(3, 10.0))
        .example_config();
    // Real waits here: the client honours x-ratelimit-reset.
    let v = json(&s.cmd(["plan", "--format", "json"]).real_waits().run());
    assert_eq!(v["summary"]["remove"], 3, "what apply removes");
    assert_eq!(v["summary"]["remove_blocked"], 6, "initech is blocked");
    // One list page, four member pages, four of enabled connections, four of invitations
    // and four users fit a burst of 3 only by waiting.
    let ok = api_requests(s.emu())
        .iter()
        .filter(|r| r.status == 200)
        .count();
    assert_eq!(ok, 17);
}

#[test]
fn two_entries_for_the_same_organization_are_refused() {
    let s = Scenario::new("plan-same").config(
        "
        version: 1
        organizations:
          - name: acme
            members: []
          - id: org_3hbVAMF8F3wVIcEJ
            members: []
        ",
    );
    assert_error!(s.run(["plan"]), @"error: orgsync.yaml:5:5: organization `org_3hbVAMF8F3wVIcEJ` is the same organization (`org_3hbVAMF8F3wVIcEJ`) as `acme` at orgsync.yaml:3:5; declare it once");
}

#[test]
fn plain_http_is_refused_for_remote_domains() {
    let s = Scenario::example("plan-http");
    let out = OrgSync::at("http://travel0.us.auth0.com").env("AUTH0_API_TOKEN", "t");
    assert_error!(out.arg("plan").cwd(s.path()).run(), @"error: invalid Auth0 domain `http://travel0.us.auth0.com`: plain http is only accepted for loopback addresses (the emulator); use https or a bare host");
}

#[test]
fn out_writes_the_json_plan() {
    let s = Scenario::new("plan-out").example_config();
    let out = s.run(["plan", "--out", "plan.json"]);
    out.success();
    let v = read_json(s.join("plan.json"));
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["organizations"].as_array().unwrap().len(), 4);
    assert_eq!(v["config_sha256"].as_str().unwrap().len(), 64);
    // The text plan still went to stdout.
    assert!(out.stdout().contains("Plan: "));
}

#[test]
fn validate_is_offline() {
    let s = Scenario::new("validate").example_config();
    assert_run!(s.run_bare(["validate"]), @r"
        success: true
        exit_code: 0
        ----- stdout -----
        orgsync.yaml: valid: 4 organizations, 24 members declared

        ----- stderr -----
        ");
}

#[test]
fn sandbox_wins_over_auth0_domain_from_the_environment_but_not_over_the_flag() {
    let s = Scenario::example("plan-sandbox-env");
    let out = OrgSync::bare().env("AUTH0_DOMAIN", "travel0.us.auth0.com");
    let out = out
        .args(["plan", "-v", "--sandbox", EXAMPLE_TENANT])
        .cwd(s.path());
    let wants = "--sandbox given: AUTH0_DOMAIN (travel0.us.auth0.com) is not used";
    out.run().success().stderr_has(wants);
    let both = s.sandbox(["plan", "--domain", "travel0.us.auth0.com"]);
    assert_error!(both, @r"
        error: the argument '--domain <DOMAIN>' cannot be used with '--sandbox <TENANT.yaml>'

        Usage: orgsync plan --domain <DOMAIN>

        For more information, try '--help'.
        ");
}

#[test]
fn a_long_flag_with_one_dash_gets_a_hint_with_two() {
    let s = Scenario::new("plan-one-dash");
    assert_error!(s.run_bare(["plan", "-detailed-exitcode"]), @r"
        error: unexpected argument '-d' found

        Usage: orgsync plan [OPTIONS]

        For more information, try '--help'.
        hint: long flags take two dashes: did you mean `--detailed-exitcode`?
        ");
}

#[test]
fn out_into_a_missing_directory_names_the_directory_not_a_temporary_file() {
    let s = Scenario::example("plan-out-missing");
    let out = s.sandbox(["plan", "--out", "/nonexistent-orgsync-dir/p.json"]);
    assert_error!(out, @r"
        error: cannot write the plan to `/nonexistent-orgsync-dir/p.json`: its directory `/nonexistent-orgsync-dir` does not exist
          caused by: No such file or directory (os error 2)
        hint: create the directory first, or write to a path in an existing one
        ");
}

/// A tenant with the organization `big` of 13 members, 2 of them declared in `orgsync.yaml`
/// (11 removals), `extra` lines added to the organization's entry.
fn thirteen_members_two_declared(tag: &str, extra: &str) -> Scenario {
    let big = org_with_members("org_bigbigbigbigbig1", "big", "m", 13);
    Scenario::new(tag).tenant(demo_tenant(vec![big])).config(&format!(
        "version: 1\norganizations:\n  - name: big\n{extra}    members: [\"auth0|m0000\", \"auth0|m0001\"]\n"
    ))
}

#[test]
fn without_max_removals_the_default_guard_blocks_more_than_a_quarter() {
    let s = thirteen_members_two_declared("plan-default-guard", "");
    let v = json(&s.run(["plan", "--format", "json"]));
    let blocked = &v["organizations"][0]["blocked"];
    assert_eq!(blocked["guard"], "max_removals", "{blocked}");
    assert_eq!(blocked["limit"], "25%");
    assert_eq!(blocked["allowed"], 3, "a quarter of 13, rounded down");
    assert_eq!(blocked["removals"], 11);
    // Apply removes nobody.
    s.run(APPLY).failure();
    assert_reads_only(s.emu());
}

#[test]
fn an_explicit_max_removals_of_100_percent_opts_out_of_the_default_guard() {
    let s = thirteen_members_two_declared("plan-guard-optout", "    max_removals: 100%\n");
    let v = json(&s.run(["plan", "--format", "json"]));
    assert_eq!(v["organizations"][0]["blocked"], Value::Null);
    assert_eq!(v["summary"]["remove"], 11);
}

#[test]
fn a_directory_wide_defaults_file_protects_in_every_file() {
    let mut org = org_with_members("org_bigbigbigbigbig1", "big", "m", 4);
    org.members
        .push(member("auth0|breakglass", "bg@example.com", "Break Glass"));
    let s = Scenario::new("plan-dir-defaults").tenant(demo_tenant(vec![org]));
    std::fs::create_dir(s.join("conf")).unwrap();
    s.write(
        "conf/_defaults.yaml",
        "version: 1\ndefaults:\n  protect: [\"auth0|breakglass\"]\n  max_removals: 100%\n",
    );
    s.write("conf/a.yaml", "version: 1\norganizations: []\n");
    s.write(
        "conf/b.yml",
        "version: 1\norganizations:\n  - name: big\n    members: [\"auth0|m0000\"]\n",
    );
    let v = json(&s.run(["plan", "-c", "conf", "--format", "json"]));
    let org = &v["organizations"][0];
    assert_eq!(
        user_ids(&org["remove"]),
        ["auth0|m0001", "auth0|m0002", "auth0|m0003"]
    );
    assert_eq!(org["protected_kept"][0]["user_id"], "auth0|breakglass");

    // `defaults` in an ordinary file of the directory is an error, not a silent scope.
    s.write(
        "conf/a.yaml",
        "version: 1\ndefaults:\n  protect: [\"auth0|breakglass\"]\norganizations: []\n",
    );
    assert_error!(s.run(["plan", "-c", "conf"]), @r"
        error: conf/a.yaml:3:3: `defaults` in one file of a directory config would apply to that file only
        hint: move them to `_defaults.yaml` in the same directory (only `version` and `defaults`): its defaults apply to every file
        ");
    assert_reads_only(s.emu());
}

#[test]
fn markdown_keeps_as_much_of_a_huge_diff_as_fits() {
    let huge = org_with_members("org_hugehugehugehug1", "huge", "m", 1501);
    let s = Scenario::new("plan-markdown-huge")
        .tenant(demo_tenant(vec![huge]))
        .config(
            r#"
        version: 1
        organizations:
          - name: huge
            max_removals: 100%
            members: ["auth0|m0000"]
        "#,
        );
    let out = s.run(["plan", "--format", "markdown"]);
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
    let emu = background(example_tenant(), rate_limited(50, 10.0));
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

/// A write that fails for another reason than its directory (here: the path is a directory)
/// keeps the I/O error as its cause, printed on a `caused by:` line.
#[test]
fn a_failed_write_keeps_its_io_error_as_the_cause() {
    let s = Scenario::example("out-is-a-dir");
    std::fs::create_dir(s.join("plan.json")).unwrap();
    let out = s.sandbox(["plan", "--out", "plan.json"]);
    out.failure();
    let err = out.stderr();
    assert!(
        err.contains("error: cannot write the plan to `plan.json`\n")
            && err.contains("caused by: ")
            && !err.contains(".tmp"),
        "{}",
        out.show()
    );
}
