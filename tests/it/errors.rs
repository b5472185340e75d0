//! Errors that say what went wrong: a token that could not be had is told as that, a domain
//! that does not speak TLS or is not the tenant's own gets its own hint, an expired token is
//! renewed (or its expiry told), a typo in an organization's name gets a suggestion, and the
//! per-organization lines carry their causes.

use std::net::TcpListener;
use std::time::Duration;

use crate::support::*;
use orgsync_emulator::jwt::Claims;
use orgsync_emulator::{Options, ScriptedFault};

const TWO_ORGS: &str = "version: 1\norganizations:\n  - name: acme\n    members: []\n    allow_empty: true\n  - name: globex\n    members: []\n    allow_empty: true\n";

fn plan(o: OrgSync, config: &str) -> Run {
    plan_with(o, config, &[])
}

fn plan_with(o: OrgSync, config: &str, flags: &[&str]) -> Run {
    let dir = TempDir::new("errors");
    dir.write("orgsync.yaml", config);
    o.arg("plan").args(flags).cwd(dir.path()).run()
}

fn tenant() -> orgsync_emulator::Tenant {
    demo_tenant(vec![
        org_with_members("org_aaaaaaaaaaaaaaa1", "acme", "a", 3),
        org_with_members("org_bbbbbbbbbbbbbbb2", "globex", "b", 2),
    ])
}

/// The line of stderr that starts with `hint:`.
fn hint(out: &Run) -> String {
    out.stderr()
        .lines()
        .find(|l| l.starts_with("hint:"))
        .unwrap_or_else(|| panic!("no hint in:\n{}", out.stderr()))
        .to_string()
}

#[test]
fn a_refused_client_secret_is_a_token_failure_not_an_unread_list() {
    let emu = background(tenant(), Options::default());
    let out = plan(
        OrgSync::new(&emu).env("AUTH0_CLIENT_SECRET", "wrong-secret"),
        TWO_ORGS,
    );
    out.failure();
    let err = out.stderr();
    assert!(
        err.contains("error: getting an access token failed: 401"),
        "{err}"
    );
    assert!(!err.contains("could not be read"), "{err}");
    assert!(
        hint(&out).contains("AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET"),
        "{err}"
    );
    assert!(!err.contains("wrong-secret"), "{err}");
    // One token request, and no call that needed it.
    assert!(api_requests(&emu).is_empty());
}

#[test]
fn an_unreachable_token_endpoint_is_a_token_failure_with_its_cause() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = plan(
        OrgSync::at(&format!("http://127.0.0.1:{port}"))
            .env("AUTH0_CLIENT_ID", "demo")
            .env("AUTH0_CLIENT_SECRET", "demo-secret"),
        TWO_ORGS,
    );
    out.failure();
    let err = out.stderr();
    assert!(
        err.contains("error: getting an access token failed: could not connect"),
        "{err}"
    );
    assert!(!err.contains("could not be read"), "{err}");
    assert!(err.contains("caused by:"), "{err}");
    assert!(
        hint(&out).contains("check the domain and the network"),
        "{err}"
    );
}

#[test]
fn a_bare_host_on_a_plain_http_server_is_told_to_use_http() {
    let emu = background(tenant(), Options::default());
    let out = plan(
        OrgSync::new(&emu).env("AUTH0_DOMAIN", emu.addr().to_string()),
        TWO_ORGS,
    );
    out.failure();
    let err = out.stderr();
    // Not retried: it would fail the same way.
    assert!(
        err.contains("the TLS handshake failed (after 1 attempt)"),
        "{err}"
    );
    let h = hint(&out);
    assert!(
        h.contains("does not speak TLS") && h.contains("http://"),
        "{err}"
    );
}

#[test]
fn localhost_for_127_0_0_1_is_a_wrong_audience() {
    let emu = background(tenant(), Options::default());
    let out = plan(
        OrgSync::new(&emu).env(
            "AUTH0_DOMAIN",
            format!("http://localhost:{}", emu.addr().port()),
        ),
        TWO_ORGS,
    );
    out.failure();
    let err = out.stderr();
    assert!(err.contains("Service not enabled within domain"), "{err}");
    let h = hint(&out);
    assert!(h.contains("exactly the tenant's domain"), "{err}");
    assert!(h.contains("127.0.0.1 rather than localhost"), "{err}");
    assert!(!h.contains("authorize the application"), "{err}");
}

#[test]
fn an_expired_fetched_token_is_renewed_once_and_the_run_goes_on() {
    let emu = background(
        demo_tenant(vec![org_with_members(
            "org_aaaaaaaaaaaaaaa1",
            "acme",
            "a",
            650,
        )]),
        Options {
            token_ttl: Duration::from_secs(2),
            latency: Duration::from_millis(400),
            ..Options::default()
        },
    );
    // A token lives 1 to 2 s; the lookup and 7 pages of members, 0.4 s each, take 3.2 s: the
    // first token runs out on the way, a renewed one lasts at least 1 s.
    let out = plan(
        OrgSync::new(&emu),
        "version: 1\norganizations:\n  - name: acme\n    members: []\n    allow_empty: true\n",
    );
    out.success();
    let tokens = emu
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .count();
    assert!(tokens >= 2, "{tokens} token requests:\n{}", out.stderr());
    assert!(
        api_requests(&emu).iter().any(|r| r.status == 401),
        "no call met an expired token"
    );
}

#[test]
fn an_expired_given_token_says_so_and_how_to_get_a_new_one() {
    let emu = background(tenant(), Options::default());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = emu.sign(&Claims {
        iss: format!("{}/", emu.url()),
        sub: "demo@clients".into(),
        aud: emu.audience(),
        iat: now - 7200,
        exp: now - 3600,
        azp: "demo".into(),
        scope: "read:organizations read:organization_members".into(),
        gty: "client-credentials".into(),
    });
    let out = plan(
        OrgSync::at(&emu.url()).env("AUTH0_API_TOKEN", &token),
        TWO_ORGS,
    );
    out.failure();
    let err = out.stderr();
    assert!(err.contains("Expired token"), "{err}");
    let h = hint(&out);
    assert!(h.contains("AUTH0_API_TOKEN has expired"), "{err}");
    assert!(!err.contains(&token), "the token leaked");
}

#[test]
fn a_typo_in_an_organization_name_gets_the_closest_name() {
    let emu = background(tenant(), Options::default());
    let out = plan(
        OrgSync::new(&emu),
        &TWO_ORGS.replace("name: acme", "name: acmee"),
    );
    out.failure();
    let err = out.stderr();
    assert!(err.contains("organization `acmee`"), "{err}");
    assert!(hint(&out).contains("did you mean `acme`?"), "{err}");
}

#[test]
fn per_organization_lines_carry_their_causes() {
    let emu = background(tenant(), Options::default());
    emu.script_fault(ScriptedFault {
        method: "GET".into(),
        path: "/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members".into(),
        status: 0,
        times: 10,
    });
    let out = plan(OrgSync::new(&emu), TWO_ORGS);
    out.failure();
    let err = out.stderr();
    let line = err
        .lines()
        .find(|l| l.contains("organization `acme`"))
        .unwrap_or_else(|| panic!("no line for acme in:\n{err}"));
    let (_, after) = line
        .split_once("(after 3 attempts)")
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        after.starts_with(": ") && after.len() > 2,
        "no cause in: {line}"
    );
}
