//! Errors that say what went wrong: a token that could not be had is told as that, a domain
//! that does not speak TLS or is not the tenant's own gets its own hint, an expired token is
//! renewed (or its expiry told), a typo in an organization's name gets a suggestion, and the
//! per-organization lines carry their causes.

use std::time::Duration;

use crate::support::*;
use orgsync_emulator::Options;

const TWO_ORGS: &str = "
    version: 1
    organizations:
      - name: acme
        members: []
        allow_empty: true
      - name: globex
        members: []
        allow_empty: true
";

/// Two organizations, `acme` (3 members) and `globex` (2), and [`TWO_ORGS`] declaring them.
fn two_orgs(tag: &str) -> Scenario {
    Scenario::new(tag)
        .tenant(demo_tenant(vec![
            org_with_members("org_aaaaaaaaaaaaaaa1", "acme", "a", 3),
            org_with_members("org_bbbbbbbbbbbbbbb2", "globex", "b", 2),
        ]))
        .config(TWO_ORGS)
}

#[test]
fn a_refused_client_secret_is_a_token_failure_not_an_unread_list() {
    let s = two_orgs("errors-secret");
    let out = s
        .cmd(["plan"])
        .env("AUTH0_CLIENT_SECRET", "wrong-secret")
        .run();
    assert_error!(out, @r"
        error: getting an access token failed: 401 access_denied: Unauthorized; nothing was planned
        hint: check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET: the tenant does not know this pair
        ");
    assert!(!out.all().contains("wrong-secret"));
    // One token request, and no call that needed it.
    assert!(api_requests(s.emu()).is_empty());
}

#[test]
fn an_unreachable_token_endpoint_is_a_token_failure_with_its_cause() {
    let s = two_orgs("errors-unreachable");
    let out = OrgSync::at(&dead_url()).demo().arg("plan").cwd(s.path());
    assert_error!(out.run(), @r"
        error: getting an access token failed: could not connect (after 3 attempts); nothing was planned
          caused by: client error (Connect)
          caused by: tcp connect error
          caused by: Connection refused (os error 111)
        hint: check the domain and the network; orgsync retried before giving up
        ");
}

#[test]
fn a_bare_host_on_a_plain_http_server_is_told_to_use_http() {
    let s = two_orgs("errors-tls");
    // Not retried: it would fail the same way.
    let out = s
        .cmd(["plan"])
        .env("AUTH0_DOMAIN", s.emu().addr().to_string())
        .run();
    assert_error!(out, @r"
        error: getting an access token failed: the TLS handshake failed (after 1 attempt); nothing was planned
          caused by: client error (Connect)
          caused by: received corrupt message of type InvalidContentType
        hint: the server at this domain does not speak TLS (or refused it): a bare host means https; if it serves plain HTTP, as the emulator does, write the domain as `http://HOST:PORT` (allowed for loopback only)
        ");
}

#[test]
fn localhost_for_127_0_0_1_is_a_wrong_audience() {
    let s = two_orgs("errors-localhost");
    let domain = format!("http://localhost:{}", s.emu().addr().port());
    assert_error!(s.cmd(["plan"]).env("AUTH0_DOMAIN", domain).run(), @r"
        error: getting an access token failed: 403 access_denied: Service not enabled within domain: http://localhost:[PORT]/api/v2/; nothing was planned
        hint: the domain orgsync was given is not this tenant's own: the token's audience is `DOMAIN/api/v2/`, so AUTH0_DOMAIN must be exactly the tenant's domain (the canonical TENANT.REGION.auth0.com, not a custom domain; for the emulator the address it prints, 127.0.0.1 rather than localhost)
        ");
}

#[test]
fn an_expired_fetched_token_is_renewed_once_and_the_run_goes_on() {
    let acme = org_with_members("org_aaaaaaaaaaaaaaa1", "acme", "a", 650);
    let token_ttl = Duration::from_secs(2);
    let latency = Duration::from_millis(400);
    let s = Scenario::new("errors-renew")
        .tenant(demo_tenant(vec![acme]))
        .options(Options {
            token_ttl,
            latency,
            ..Options::default()
        })
        .config(
            "version: 1\norganizations:\n  - name: acme\n    members: []\n    allow_empty: true\n",
        );
    // A token lives 1 to 2 s; the lookup and 7 pages of members, 0.4 s each, take 3.2 s: the
    // first token runs out on the way, a renewed one lasts at least 1 s.
    let out = s.run(["plan"]);
    out.success();
    let log = s.emu().requests();
    let tokens = log.iter().filter(|r| r.path == "/oauth/token").count();
    assert!(tokens >= 2, "{tokens} token requests:\n{}", out.stderr());
    let met = api_requests(s.emu()).iter().any(|r| r.status == 401);
    assert!(met, "no call met an expired token");
}

#[test]
fn an_expired_given_token_says_so_and_how_to_get_a_new_one() {
    let s = two_orgs("errors-expired");
    let token = expired_token(s.emu(), 3600);
    let out = OrgSync::with_token(s.emu(), &token)
        .arg("plan")
        .cwd(s.path());
    let out = out.run();
    assert_error!(out, @r"
        error: the organization list could not be read; nothing was planned
          `GET /api/v2/organizations` was refused: 401: Expired token received for JSON Web Token validation
        hint: AUTH0_API_TOKEN has expired: get a new one (Auth0 dashboard > Applications > APIs > Auth0 Management API > API Explorer), or set AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET instead of it so orgsync fetches and renews its own
        ");
    assert!(!out.all().contains(&token), "the token leaked");
}

#[test]
fn a_typo_in_an_organization_name_gets_the_closest_name() {
    let s = two_orgs("errors-typo");
    s.write(
        "orgsync.yaml",
        &unindent(&TWO_ORGS.replace("name: acme", "name: acmee")),
    );
    assert_error!(s.run(["plan"]), @r"
        error: 1 organization could not be read; nothing was planned
          orgsync.yaml:3:5: organization `acmee`: `GET /api/v2/organizations/name/acmee` (organization `acmee`) was refused: 404: No organization found by that id or name
        hint: the tenant has no organization `acmee`: did you mean `acme`?
        ");
}

#[test]
fn per_organization_lines_carry_their_causes() {
    let s = two_orgs("errors-causes");
    let members = "/api/v2/organizations/org_aaaaaaaaaaaaaaa1/members";
    s.emu().script_fault(fault("GET", members, 0, 10));
    let out = s.run(["plan"]);
    out.failure();
    let line = out
        .stderr()
        .lines()
        .find(|l| l.contains("organization `acme`"));
    let cause = line.and_then(|l| l.split_once("(after 3 attempts): "));
    assert!(cause.is_some_and(|(_, c)| !c.is_empty()), "{}", out.show());
}
