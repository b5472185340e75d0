//! Smaller promises (5): proxies, echoed secrets, credentials in the domain, escapes, planted
//! symlinks, absurd flags, ids from outside, config directories, saved plans without a terminal.

use super::saved_plans::{SAVED_CONFIG, resealed_plan, saved_plan_emulator};
use super::*;
use crate::support::{Scenario, assert_has, assert_lacks};

#[test]
fn proxy_variables_are_never_used_for_the_tenant() {
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in proxy.incoming() {
            h.fetch_add(1, Ordering::SeqCst);
            drop(s);
        }
    });
    let emu = saved_plan_emulator();
    let dir = TempDir::new("proxy");
    dir.write("orgsync.yaml", SAVED_CONFIG);
    let mut env = creds(&emu.url());
    for k in ["HTTP_PROXY", "http_proxy", "ALL_PROXY"] {
        env = env.env(k, &proxy_url);
    }
    let r = env.clone().args(["plan"]).cwd(dir.path()).run();
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the proxy got a connection");
    r.success();
}

#[test]
fn a_token_endpoint_echoing_the_request_does_not_leak_the_secret() {
    let fake = Fake::start(vec![forg("org_alpha0000000001", "alpha", &[])], vec![]);
    let echo = Act {
        status: Some(401),
        echo_request: true,
        ..Act::default()
    };
    fake.rule("POST", "/oauth/token", true, None, echo);
    let s = Scenario::new("echo").config(ALPHA_EMPTY);
    let apply = [
        "apply",
        "--auto-approve",
        "-vv",
        "--audit-log",
        "audit.jsonl",
    ];
    let r = run_in(&fake.url(), s.path(), apply);
    let asked = fake.requests().iter().any(|q| q.path == "/oauth/token");
    assert!(asked, "the token endpoint was asked");
    r.failure();
    let log = std::fs::read_to_string(s.join("audit.jsonl")).unwrap_or_default();
    assert!(!r.all().contains(SECRET), "the secret leaked to the output");
    assert!(!log.contains(SECRET), "the secret leaked to the audit log");
}

/// `alpha`, declared empty (a guard stops its removals).
const ALPHA_DECLARED_EMPTY: &str = "
    version: 1
    organizations:
      - name: alpha
        members: []
";

/// `alpha`, declared empty and allowed to be.
const ALPHA_EMPTY: &str = "
    version: 1
    organizations:
      - name: alpha
        members: []
        allow_empty: true
";

#[test]
fn credentials_in_the_domain_are_not_echoed() {
    let s = Scenario::new("domain-creds").config(ALPHA_DECLARED_EMPTY);
    let auth0 = OrgSync::at("https://ops-admin:hunter2-in-the-url@example.com");
    let r = auth0.envs(&[
        ("AUTH0_CLIENT_ID", CLIENT_ID),
        ("AUTH0_CLIENT_SECRET", SECRET),
    ]);
    let r = r.arg("plan").cwd(s.path()).run();
    r.failure();
    assert_lacks(&r.all(), "hunter2-in-the-url");
    assert_lacks(&r.all(), "ops-admin");
    assert_has(&r.all(), "[redacted]@example.com");
}

/// `alpha` keeps `auth0|alpha0` and `auth0|alpha1`; any share of it may be removed.
const ALPHA_KEEPS_TWO: &str = r#"
    version: 1
    defaults:
      max_removals: 100%
    organizations:
      - name: alpha
        members: ["auth0|alpha0", "auth0|alpha1"]
"#;

#[test]
fn a_user_id_with_an_escape_and_a_newline_cannot_forge_output() {
    let evil = "auth0|x\u{1b}[31m\nApply: 0 removed";
    let alpha = forg(
        "org_alpha0000000001",
        "alpha",
        &["auth0|alpha0", "auth0|alpha1", evil],
    );
    let fake = Fake::start(vec![alpha], vec![]);
    let s = Scenario::new("ansi").config(ALPHA_KEEPS_TWO);
    let r = run_in(&fake.url(), s.path(), ["apply", "--auto-approve"]);
    r.assert_no_panic();
    assert!(
        !r.stdout.contains('\u{1b}'),
        "a raw escape reached stdout:\n{:?}",
        r.stdout
    );
    let applies = r.stdout.lines().filter(|l| l.starts_with("Apply:")).count();
    assert_eq!(applies, 1, "a forged `Apply:` line:\n{}", r.stdout);
    r.success();
    let of_evil = |d: &Rec| {
        d.user_ids
            .as_ref()
            .is_some_and(|u| u.contains(&evil.to_string()))
    };
    assert!(
        fake.deletes().iter().any(of_evil),
        "the member was not removed"
    );
    assert_eq!(
        fake.members("org_alpha0000000001"),
        ["auth0|alpha0", "auth0|alpha1"]
    );
}

#[test]
fn plan_out_does_not_write_through_a_planted_tmp_symlink() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("symlink-plan");
    dir.write("orgsync.yaml", SAVED_CONFIG);
    let victim = dir.write("victim.txt", "precious\n");
    std::os::unix::fs::symlink(&victim, dir.path().join("plan.json.tmp")).unwrap();
    let r = run_in(&emu.url(), dir.path(), ["plan", "--out", "plan.json"]);
    r.assert_no_panic();
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious\n",
        "the symlink's target was overwritten:\n{}",
        r.show()
    );
}

#[test]
fn export_does_not_write_through_a_planted_tmp_symlink() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("symlink-export");
    let victim = dir.write("victim.txt", "precious\n");
    std::os::unix::fs::symlink(&victim, dir.path().join("out.yaml.tmp")).unwrap();
    let r = run_in(&emu.url(), dir.path(), ["export", "-o", "out.yaml"]);
    r.assert_no_panic();
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious\n",
        "the symlink's target was overwritten:\n{}",
        r.show()
    );
}

fn absurd_flag_is_refused(flag: &str, value: &str) {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("absurd");
    dir.write("orgsync.yaml", SAVED_CONFIG);
    let r = creds(&emu.url())
        .args(["plan", flag, value])
        .cwd(dir.path())
        .limit(Duration::from_secs(30))
        .run();
    r.assert_no_panic();
    r.code_for(1, format_args!("{flag} {value}"));
    assert!(r.stderr.contains("error"), "{}", r.show());
    assert!(r.took < Duration::from_secs(20), "{}", r.show());
}

#[test]
fn timeout_1e300_is_refused() {
    absurd_flag_is_refused("--timeout", "1e300");
}

#[test]
fn max_rps_1e_minus_300_is_refused() {
    absurd_flag_is_refused("--max-rps", "1e-300");
}

#[test]
fn max_rps_1e_minus_9_is_refused() {
    absurd_flag_is_refused("--max-rps", "1e-9");
}

#[test]
fn an_organization_id_of_dot_dot_never_escapes_the_organizations_path() {
    let alpha = forg(
        "org_alpha0000000001",
        "alpha",
        &["auth0|alpha0", "auth0|alpha1"],
    );
    let fake = Fake::start(vec![alpha], vec![]);
    let body = Some(r#"{"id":"..","name":"alpha"}"#.into());
    let dot_dot = Act {
        status: Some(200),
        body,
        ..Act::default()
    };
    fake.rule(
        "GET",
        "/api/v2/organizations/name/alpha",
        true,
        None,
        dot_dot,
    );
    let s = Scenario::new("dotdot").config(ALPHA_EMPTY);
    let r = run_in(&fake.url(), s.path(), ["apply", "--auto-approve"]);
    r.assert_no_panic();
    for q in fake.requests() {
        assert!(
            q.path.starts_with("/api/v2/organizations")
                || q.path.starts_with("/api/v2/users-by-email")
                || q.path.starts_with("/oauth/token"),
            "a request outside the organizations API: {} {}\n{}",
            q.method,
            q.path,
            r.show()
        );
        assert!(!q.path.starts_with("/api/v2/members"), "{}", q.path);
        if q.path.starts_with("/api/v2/") {
            assert_eq!(q.authorization.as_deref(), Some("Bearer tok-SECRET-123"));
        }
    }
    assert!(fake.deletes().is_empty(), "{}", r.show());
    r.failure();
}

#[test]
fn a_config_directory_skips_hidden_files_and_names_upper_case_ones() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("cfg-dir");
    std::fs::create_dir(dir.path().join("cfg")).unwrap();
    let org = |name: &str, members: &str| {
        format!("version: 1\norganizations:\n  - name: {name}\n    {members}\n")
    };
    dir.write(
        "cfg/10-main.yaml",
        &org(
            "other",
            r#"members: ["auth0|o0000", "auth0|o0001", "auth0|o0002"]"#,
        ),
    );
    dir.write(
        "cfg/.hidden.yaml",
        &org("ghost", "members: []\n    allow_empty: true"),
    );
    dir.write(
        "cfg/20-UPPER.YAML",
        &org("guarded", "members: []\n    allow_empty: true"),
    );
    let r = run_in(&emu.url(), dir.path(), ["plan", "-c", "cfg/"]);
    r.assert_no_panic();
    r.code_for(0, "the hidden file was merged");
    r.stderr_has("20-UPPER.YAML").stderr_has("skipped");
}

#[test]
fn a_saved_plan_without_a_terminal_needs_auto_approve() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("no-tty");
    resealed_plan(&emu, &dir, |_| {});
    let r = run_in(
        &emu.url(),
        dir.path(),
        ["apply", "plan.json", "-c", "orgsync.yaml"],
    );
    r.assert_no_panic();
    r.failure();
    crate::support::assert_stderr!(r, @r"
    success: false
    exit_code: 1
    ----- stderr -----
    error: refusing to remove members without confirmation: stdin is not a terminal
    hint: review what is listed above, then run again with `--auto-approve`
    ");
    assert!(emu_deletes(&emu).is_empty(), "{}", r.show());
}
