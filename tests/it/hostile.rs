//! Hostile or broken servers: every answer ends in a clear error or a correct result, never a
//! hang, a panic or a removal; the Authorization header never leaves the configured host; and
//! no error path or verbosity prints a token or a client secret.
//!
//! Long because it is one area's tests, each standing alone with its own tenant and config.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::fake_auth0::Fake;
use crate::support::http::{Answer as Reply, json_answer as json};
use crate::support::*;
use orgsync_emulator::{Options, ScriptedFault};

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.secret-token-payload.sig-9f8e7d";
const CONFIG: &str =
    "version: 1\norganizations:\n  - name: acme\n    members: []\n    allow_empty: true\n";

fn plan_against(url: &str, extra: &[&str]) -> (Run, Duration) {
    let dir = TempDir::new("hostile");
    dir.write("orgsync.yaml", CONFIG);
    let out = OrgSync::at(url)
        .env("AUTH0_API_TOKEN", TOKEN)
        .args(["plan", "-vv"])
        .args(extra)
        .cwd(dir.path())
        .run();
    let took = out.took;
    (out, took)
}

/// The organization `acme`, by name; its enabled connections and invitations are refused as
/// a token without those scopes is (the plan says what it could not check).
fn org(path: &str) -> Option<Reply> {
    if path.contains("/enabled_connections") || path.contains("/invitations") {
        return Some(json(
            403,
            r#"{"statusCode":403,"error":"Forbidden","message":"Insufficient scope","errorCode":"insufficient_scope"}"#,
        ));
    }
    path.starts_with("/api/v2/organizations/name/acme")
        .then(|| json(200, r#"{"id":"org_aaaaaaaaaaaaaaa1","name":"acme"}"#))
}

/// How many requests the fake received whose head holds `part` (a path, a query).
fn sent_to(fake: &Fake, part: &str) -> usize {
    fake.heads().iter().filter(|r| r.contains(part)).count()
}

/// The members of a page, `user_id`s `auth0|PREFIX0` … `auth0|PREFIX{n-1}`, each with `extra`
/// fields (`,"name":"…"`), as JSON.
fn members(prefix: &str, n: usize, extra: &str) -> String {
    let member = |i| format!(r#"{{"user_id":"auth0|{prefix}{i}"{extra}}}"#);
    (0..n).map(member).collect::<Vec<_>>().join(",")
}

fn assert_clean_failure(out: &Run, wants: &str) {
    out.failure();
    let err = out.stderr();
    assert!(err.contains(wants), "missing {wants:?} in:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !err.contains(TOKEN) && !out.stdout().contains(TOKEN),
        "the token leaked"
    );
    assert!(out.stdout().is_empty(), "nothing is planned");
}

#[test]
fn malformed_json_is_a_clear_error() {
    let fake = Fake::answering(|p: &str, _| {
        org(p).unwrap_or_else(|| json(200, "{\"members\": [ {\"user_id\": "))
    });
    let (out, _) = plan_against(&fake.url(), &[]);
    assert_clean_failure(&out, "returned an answer orgsync cannot read");
}

#[test]
fn a_200_of_the_wrong_shape_is_a_clear_error() {
    let fake =
        Fake::answering(|p: &str, _| org(p).unwrap_or_else(|| json(200, r#"{"users": []}"#)));
    let (out, _) = plan_against(&fake.url(), &[]);
    assert_clean_failure(&out, "missing field `members`");
}

#[test]
fn a_10_mb_page_is_refused_unread() {
    let big = format!(
        "{{\"members\": [{}]}}",
        vec![r#"{"user_id":"auth0|x"}"#; 500_000].join(",")
    );
    assert!(big.len() > 10_000_000);
    let fake = Fake::answering(move |p: &str, _| org(p).unwrap_or_else(|| json(200, &big)));
    let (out, _) = plan_against(&fake.url(), &[]);
    assert_clean_failure(&out, "larger than 8 MiB");
}

#[test]
fn an_endless_cursor_is_an_error_not_a_loop() {
    let page = format!(
        r#"{{"members": [{}], "next": "same-cursor"}}"#,
        members("", 100, "")
    );
    let fake = Fake::answering(move |p: &str, _| org(p).unwrap_or_else(|| json(200, &page)));
    let (out, _) = plan_against(&fake.url(), &[]);
    assert_clean_failure(&out, "the same `next` cursor twice");
    // The first page, the page from the cursor, and no more.
    assert_eq!(sent_to(&fake, "/members"), 2);
}

#[test]
fn a_redirect_to_another_host_is_not_followed_and_gets_no_authorization() {
    let elsewhere = Fake::responder("127.0.0.2", Arc::new(|_: &str, _| json(200, "[]")));
    let target = format!("{}/api/v2/organizations/name/acme", elsewhere.url());
    let fake = Fake::answering(move |_: &str, _| {
        Reply::Http(302, vec![("location".into(), target.clone())], vec![])
    });
    let (out, _) = plan_against(&fake.url(), &[]);
    assert_clean_failure(&out, "redirect");
    let reached = elsewhere.heads();
    assert!(
        reached.is_empty(),
        "nothing reached the other host: {reached:?}"
    );
    // The configured host did get the token, as it should.
    assert_has(
        &fake.heads()[0].to_ascii_lowercase(),
        "authorization: bearer",
    );
}

#[test]
fn a_server_that_never_answers_times_out_with_a_clear_error() {
    let fake = Fake::answering(|_: &str, _| Reply::Silence(Duration::from_secs(30)));
    let (out, took) = plan_against(&fake.url(), &["--timeout", "1"]);
    assert_clean_failure(&out, "timed out");
    // Three attempts of one second each, not a hang.
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn a_429_without_rate_limit_headers_is_backed_off_and_the_plan_completes() {
    let fake = Fake::answering(|p: &str, nth| {
        if nth <= 2 {
            return json(
                429,
                r#"{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}"#,
            );
        }
        let page = r#"{"members": [{"user_id": "auth0|1"}], "next": "c1"}"#;
        org(p).unwrap_or_else(|| json(200, page))
    });
    let (out, _) = plan_against(&fake.url(), &["--format", "json"]);
    out.success();
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    assert_eq!(v["organizations"][0]["remove"][0]["user_id"], "auth0|1");
}

/// Every error path and verbosity, with a known token and client secret: neither shows anywhere.
#[test]
fn no_error_path_or_verbosity_prints_a_token_or_secret() {
    const SECRET: &str = "client-secret-7c1e5a9b";
    let mut tenant = example_tenant();
    tenant
        .clients
        .push(client("leaky", SECRET, &["read:organizations"]));
    let emu = background(tenant, Options::default());
    let good = emu.token_for("demo").unwrap();
    let url = emu.url();
    let dir = TempDir::new("secrets");
    let config = example_config();
    let config = config.to_str().unwrap();
    let plan_file = dir.path().join("plan.json");
    let audit = dir.path().join("audit.jsonl");
    let mut outputs = Vec::new();
    let apply = vec![
        "apply",
        "-c",
        config,
        "--auto-approve",
        "--audit-log",
        audit.to_str().unwrap(),
    ];
    for verbosity in [None, Some("-v"), Some("-vv")] {
        let v: Vec<&str> = verbosity.into_iter().collect();
        type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>);
        let cases: Vec<Case> = vec![
            // Success with a token, and a saved plan.
            (
                vec!["plan", "-c", config, "--out", plan_file.to_str().unwrap()],
                vec![("AUTH0_API_TOKEN", good.as_str())],
            ),
            // Client credentials of a client without read:organization_members: apply fails
            // reading, and says so in the audit log.
            (
                apply.clone(),
                vec![
                    ("AUTH0_CLIENT_ID", "leaky"),
                    ("AUTH0_CLIENT_SECRET", SECRET),
                ],
            ),
            // Refused secret, refused token, missing scope, unknown organization, unreachable host.
            (
                vec!["plan", "-c", config],
                vec![("AUTH0_CLIENT_ID", "demo"), ("AUTH0_CLIENT_SECRET", SECRET)],
            ),
            (vec!["plan", "-c", config], vec![("AUTH0_API_TOKEN", TOKEN)]),
            (
                vec!["plan", "-c", config],
                vec![
                    ("AUTH0_CLIENT_ID", "leaky"),
                    ("AUTH0_CLIENT_SECRET", SECRET),
                ],
            ),
            (
                vec!["export", "--org", "nope"],
                vec![("AUTH0_API_TOKEN", good.as_str())],
            ),
            // Applies that fail before removing anything write their error to the audit log.
            (apply.clone(), vec![("AUTH0_API_TOKEN", TOKEN)]),
            (
                apply.clone(),
                vec![("AUTH0_CLIENT_ID", "demo"), ("AUTH0_CLIENT_SECRET", SECRET)],
            ),
        ];
        for (args, env) in cases {
            let mut args = args.clone();
            args.extend(v.iter().copied());
            outputs.push(
                OrgSync::at(&url)
                    .envs(&env)
                    .args(&args)
                    .cwd(dir.path())
                    .run(),
            );
        }
        // A 500 that outlasts the retries, and a connection refused.
        emu.script_fault(ScriptedFault {
            method: "GET".into(),
            path: "/api/v2/organizations".into(),
            status: 500,
            times: 3,
        });
        let mut args = vec!["plan", "-c", config];
        args.extend(v.iter().copied());
        outputs.push(
            OrgSync::at(&url)
                .env("AUTH0_API_TOKEN", TOKEN)
                .args(&args)
                .cwd(dir.path())
                .run(),
        );
        outputs.push(
            OrgSync::at("http://127.0.0.1:9")
                .env("AUTH0_API_TOKEN", TOKEN)
                .args(&args)
                .cwd(dir.path())
                .run(),
        );
    }
    let mut everything = String::new();
    for o in &outputs {
        everything.push_str(o.stdout());
        everything.push_str(o.stderr());
    }
    everything.push_str(&std::fs::read_to_string(&plan_file).unwrap());
    let audit_text = std::fs::read_to_string(&audit).unwrap();
    // The failed applies left their errors there: Auth0's answers, not the credentials.
    let failed: Vec<String> = audit_text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["event"] == "summary" && l["success"] == false)
        .map(|l| l["error"].as_str().unwrap_or_default().to_string())
        .collect();
    // Three failing applies at each of three verbosities.
    assert_eq!(failed.len(), 3 * 3, "{audit_text}");
    assert!(failed.iter().any(|e| e.contains("insufficient_scope")));
    assert!(failed.iter().any(|e| e.contains("Invalid token")));
    assert!(failed.iter().any(|e| e.contains("access_denied")));
    everything.push_str(&audit_text);
    for secret in [TOKEN, SECRET, good.as_str()] {
        assert!(!everything.contains(secret), "a secret leaked");
    }
    // The runs did exercise the paths: errors and requests were printed.
    assert!(
        everything.contains("Invalid token")
            && everything.contains("insufficient_scope")
            && everything.contains("could not connect")
    );
    assert!(everything.contains("request") && everything.contains("status=200"));
}

/// Runs orgsync with `envs` only (a clean environment), killed and failed past `limit`.
fn run_bounded(
    args: &[&str],
    envs: &[(&str, &str)],
    cwd: &std::path::Path,
    limit: Duration,
) -> (Run, Duration) {
    let run = OrgSync::bare()
        .envs(envs)
        .args(args)
        .cwd(cwd)
        .limit(limit)
        .run();
    let took = run.took;
    (run, took)
}

/// `plan` of [`CONFIG`] against `url` with the test token, bounded by `limit`.
fn plan_bounded(url: &str, extra: &[&str], limit: Duration) -> (Run, Duration) {
    let dir = TempDir::new("hostile-bounded");
    dir.write("orgsync.yaml", CONFIG);
    let mut args = vec!["plan"];
    args.extend_from_slice(extra);
    run_bounded(
        &args,
        &[("AUTH0_DOMAIN", url), ("AUTH0_API_TOKEN", TOKEN)],
        dir.path(),
        limit,
    )
}

/// Every answer carries these rate-limit headers: the organization, then an empty member list.
fn fake_with_rate_headers(headers: Vec<(String, String)>) -> Fake {
    Fake::answering(move |p: &str, _| {
        let Reply::Http(status, mut h, body) =
            org(p).unwrap_or_else(|| json(200, r#"{"members": []}"#))
        else {
            unreachable!()
        };
        h.extend(headers.iter().cloned());
        Reply::Http(status, h, body)
    })
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn untrusted_rate_limit_numbers_neither_panic_nor_hang() {
    for headers in [
        pairs(&[
            ("x-ratelimit-limit", "10"),
            ("x-ratelimit-remaining", "5"),
            ("x-ratelimit-reset", "1e30"),
        ]),
        pairs(&[
            ("x-ratelimit-limit", "10"),
            ("x-ratelimit-remaining", "5"),
            ("x-ratelimit-reset", "inf"),
        ]),
        pairs(&[("x-ratelimit-limit", "0"), ("x-ratelimit-remaining", "0")]),
        pairs(&[
            ("x-ratelimit-limit", "nan"),
            ("x-ratelimit-remaining", "-1"),
            ("x-ratelimit-reset", "-inf"),
            ("retry-after", "nan"),
        ]),
    ] {
        let fake = fake_with_rate_headers(headers.clone());
        let (out, took) = plan_bounded(&fake.url(), &["--timeout", "5"], Duration::from_secs(60));
        let err = out.stderr();
        assert!(!err.contains("panicked"), "{headers:?}: {err}");
        out.code_for(0, format_args!("{headers:?}"));
        assert!(took < Duration::from_secs(30), "{headers:?}: {took:?}");
    }
}

#[test]
fn a_retry_after_of_nan_on_a_429_does_not_panic() {
    let fake = Fake::answering(|p: &str, nth| {
        if nth == 2 {
            let Reply::Http(_, mut h, body) = json(429, r#"{"statusCode":429}"#) else {
                unreachable!()
            };
            h.push(("retry-after".into(), "nan".into()));
            return Reply::Http(429, h, body);
        }
        org(p).unwrap_or_else(|| json(200, r#"{"members": []}"#))
    });
    let (out, _) = plan_bounded(&fake.url(), &["--timeout", "5"], Duration::from_secs(60));
    let err = out.stderr();
    assert!(!err.contains("panicked"), "{err}");
    out.success();
}

#[test]
fn a_reset_ten_minutes_ahead_ends_within_the_timeout_with_a_reason() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let reset = (now.as_secs() + 600).to_string();
    let fake = fake_with_rate_headers(pairs(&[
        ("x-ratelimit-limit", "10"),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", &reset),
    ]));
    let (out, took) = plan_bounded(&fake.url(), &["--timeout", "5"], Duration::from_secs(90));
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert_clean_failure(&out, "pacing waited");
    out.stderr_has("x-ratelimit-reset")
        .stderr_has("was not sent");
}

/// The emulator with `--rate-limit 4/1` and one 500 on a DELETE once made apply stop sending
/// and never end: the pacer waited for a token nothing would bring.
#[test]
fn apply_ends_after_a_500_without_rate_limit_headers_under_a_small_bucket() {
    // Each status has a tenant of its own; at 1 token a second the runs mostly wait, so the
    // three go side by side. `each_case` fails the test with a failed status's own panic.
    let statuses = [500, 503, 429];
    crate::support::each_case(0, statuses.len(), statuses.len(), |i, _: &mut ()| {
        apply_ends_after_a_fault_under_a_small_bucket(statuses[i as usize]);
    });
}

fn apply_ends_after_a_fault_under_a_small_bucket(status: u16) {
    let options = crate::support::rate_limited(4, 1.0);
    // Members only (no re-entry reads): the bucket of 4 at 1/s is the point, not their cost.
    let mut tenant = example_tenant();
    tenant.clients[0]
        .scopes
        .retain(|s| !s.ends_with("_connections") && !s.ends_with("_invitations"));
    let emu = background(tenant, options);
    let url = emu.url();
    let dir = TempDir::new("small-bucket");
    let config = example_config();
    let config = config.to_str().unwrap();
    let env = [
        ("AUTH0_DOMAIN", url.as_str()),
        ("AUTH0_CLIENT_ID", "demo"),
        ("AUTH0_CLIENT_SECRET", "demo-secret"),
    ];
    let removals = |out: &Run| -> usize {
        let v: serde_json::Value =
            serde_json::from_str(out.stdout()).unwrap_or_else(|e| panic!("{e}: {}", out.stderr()));
        v["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["blocked"].is_null())
            .map(|o| o["remove"].as_array().unwrap().len())
            .sum()
    };
    let limit = Duration::from_secs(120);
    let (before, _) = run_bounded(
        &["plan", "-c", config, "--format", "json"],
        &env,
        dir.path(),
        limit,
    );
    assert!(removals(&before) > 0, "the example has removals");
    emu.script_fault(ScriptedFault {
        method: "DELETE".into(),
        path: "/api/v2/organizations/org_3hbVAMF8F3wVIcEJ/members".into(),
        status,
        times: 1,
    });
    let (out, _) = run_bounded(
        &["apply", "-c", config, "--auto-approve"],
        &env,
        dir.path(),
        limit,
    );
    assert!(!out.stderr().contains("panicked"), "{}", out.stderr());
    let deletes: Vec<u16> = emu
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.status)
        .collect();
    assert!(
        deletes.contains(&status),
        "{status}: the fault was hit: {deletes:?}"
    );
    let (after, _) = run_bounded(
        &["plan", "-c", config, "--format", "json"],
        &env,
        dir.path(),
        limit,
    );
    assert_eq!(
        removals(&after),
        0,
        "{status}: apply removed everything: {}",
        out.stderr()
    );
}

/// A proxy from the environment once received the client secret and the bearer token of
/// plain-HTTP requests to the emulator: loopback never goes through a proxy.
#[test]
fn loopback_never_goes_through_a_proxy_from_the_environment() {
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let emu = background(example_tenant(), Options::default());
    let url = emu.url();
    let dir = TempDir::new("proxy");
    let config = example_config();
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        let (out, _) = run_bounded(
            &["plan", "-c", config.to_str().unwrap()],
            &[
                ("AUTH0_DOMAIN", url.as_str()),
                ("AUTH0_CLIENT_ID", "demo"),
                ("AUTH0_CLIENT_SECRET", "demo-secret"),
                (var, proxy_url.as_str()),
            ],
            dir.path(),
            Duration::from_secs(60),
        );
        assert!(
            matches!(proxy.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "{var}: the proxy received a connection"
        );
        // The plan went to the emulator directly (its exit code 0: success, no --detailed-exitcode).
        out.code_for(0, format_args!("{var}"));
    }
}

/// A token endpoint whose 401 echoes the request once put `client_secret` into stderr and the
/// audit log.
#[test]
fn a_token_endpoint_echoing_the_secret_leaks_nothing() {
    const SECRET: &str = "client-secret-e4c8b1f0\"/+ x";
    let fake = Fake::answering(|p: &str, _| {
        let form = SECRET
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'-' {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>();
        let echo = format!(
            "bad request {{\"client_id\":\"demo\",\"client_secret\":{}}} client_secret={form} raw {SECRET}",
            serde_json::to_string(SECRET).unwrap()
        );
        if p.starts_with("/oauth/token") {
            let body = serde_json::json!({"error": "access_denied", "error_description": echo, "message": echo});
            return json(401, &body.to_string());
        }
        let body = serde_json::json!({"statusCode": 400, "error": echo, "message": echo});
        json(400, &body.to_string())
    });
    let dir = TempDir::new("echo");
    dir.write("orgsync.yaml", CONFIG);
    let audit = dir.path().join("audit.jsonl");
    let url = fake.url();
    let env = [
        ("AUTH0_DOMAIN", url.as_str()),
        ("AUTH0_CLIENT_ID", "demo"),
        ("AUTH0_CLIENT_SECRET", SECRET),
    ];
    let mut everything = String::new();
    for args in [
        vec!["plan", "-vv"],
        vec!["plan"],
        vec![
            "apply",
            "-c",
            "orgsync.yaml",
            "--auto-approve",
            "--audit-log",
            audit.to_str().unwrap(),
            "-vv",
        ],
    ] {
        let (out, _) = run_bounded(&args, &env, dir.path(), Duration::from_secs(60));
        out.code_for(1, format_args!("{args:?}"));
        assert!(
            out.stderr().contains("[redacted]"),
            "{args:?}: {}",
            out.stderr()
        );
        everything.push_str(out.stdout());
        everything.push_str(out.stderr());
    }
    everything.push_str(&std::fs::read_to_string(&audit).unwrap_or_default());
    for leak in ["client-secret-e4c8b1f0", "e4c8b1f0"] {
        assert!(
            !everything.contains(leak),
            "the secret leaked:\n{everything}"
        );
    }
}

/// An organization id `..` in an answer once made orgsync call `/api/v2/members`.
#[test]
fn an_organization_id_of_dot_dot_is_refused_and_nothing_is_sent_with_it() {
    let fake = Fake::answering(|p: &str, _| {
        if p.starts_with("/api/v2/organizations/name/acme") {
            json(200, r#"{"id":"..","name":"acme"}"#)
        } else {
            json(200, r#"{"members": []}"#)
        }
    });
    let (out, _) = plan_against(&fake.url(), &[]);
    assert_clean_failure(&out, r#"organization id "..""#);
    let requests = fake.heads();
    assert_eq!(
        requests.len(),
        1,
        "only the by-name call was sent: {requests:?}"
    );
}

/// A server whose enabled-connection and invitation lists never end (every page full, a `total`
/// of 10^18): the plan reads at most Auth0's 1000 records of each, then fails naming the list;
/// it neither hangs nor plans over a list it could not read whole.
#[test]
fn endless_invitation_and_connection_lists_end_the_plan_with_a_clear_error() {
    let fake = Fake::answering(|p: &str, _| {
        // Every page full of records never seen before.
        let n: usize = p
            .split("page=")
            .nth(1)
            .and_then(|q| q.split('&').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let page = |key: &str, item: &str| {
            let items = (0..50)
                .map(|i| item.replace("_1", &format!("_{}x{i}", n + 1)))
                .collect::<Vec<_>>()
                .join(",");
            json(
                200,
                &format!(
                    r#"{{"{key}":[{items}],"start":0,"limit":50,"total":1000000000000000000}}"#
                ),
            )
        };
        if p.contains("/enabled_connections") {
            return page(
                "enabled_connections",
                r#"{"connection_id":"con_1","assign_membership_on_login":true,"connection":{"name":"corp"}}"#,
            );
        }
        if p.contains("/invitations") {
            return page(
                "invitations",
                r#"{"id":"uinv_1","invitee":{"email":"e@x.example"}}"#,
            );
        }
        org(p).unwrap_or_else(|| json(200, r#"{"members": [{"user_id": "auth0|1"}]}"#))
    });
    let (out, took) = plan_against(&fake.url(), &[]);
    assert_clean_failure(&out, "offset paging cannot read them all");
    assert!(took < Duration::from_secs(60), "{took:?}");
    let pages = sent_to(&fake, "/invitations?");
    assert_eq!(pages, 20, "1000 records in pages of 50, then stop");
}

/// A member list whose every page is full (100 members of 70 KB each, 7 MB a page) and has a
/// fresh `next`: the read stops at the list's 512 MiB cap, counted on the stream, with a clear
/// error and nothing planned (it once read 150 pages and passed 1 GiB of memory in 2 s).
#[test]
fn an_endless_member_list_of_fresh_cursors_stops_at_its_byte_cap() {
    let name = "n".repeat(70_000);
    let fake = Fake::answering(move |p: &str, nth| {
        let page = members(&format!("{nth}x"), 100, &format!(r#","name":"{name}""#));
        org(p).unwrap_or_else(|| json(200, &format!(r#"{{"members":[{page}],"next":"c{nth}"}}"#)))
    });
    let (out, took) = plan_bounded(&fake.url(), &[], Duration::from_secs(120));
    assert_clean_failure(&out, "the list's answers add up to more than 512 MiB");
    let pages = sent_to(&fake, "/members");
    assert!((73..=80).contains(&pages), "{pages} pages of 7 MB");
    eprintln!("stopped after {pages} pages in {took:?}");
}

/// Offset-paged invitations that shift while they are read (one arrives between the reads of
/// page 0 and page 1, so the last of page 0 shows again at the top of page 1): the list is read
/// again, each invitation is listed once, and apply revokes each exactly once, as the server
/// counts it.
#[test]
fn invitations_that_shift_between_pages_are_read_again_and_revoked_once() {
    let reads = Arc::new(Mutex::new(0usize));
    let r2 = reads.clone();
    let fake = Fake::answering(move |p: &str, _| {
        if p.starts_with("/api/v2/organizations/name/acme") {
            return json(200, r#"{"id":"org_aaaaaaaaaaaaaaa1","name":"acme"}"#);
        }
        if p.contains("/enabled_connections") {
            return json(
                200,
                r#"{"enabled_connections":[],"start":0,"limit":0,"total":0}"#,
            );
        }
        if p.contains("/invitations/uinv_") {
            return Reply::Http(204, vec![], Vec::new());
        }
        if p.contains("/invitations?") {
            let page: usize = p
                .split("page=")
                .nth(1)
                .and_then(|q| q.split('&').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let first_reading = {
                let mut n = r2.lock().unwrap();
                if page == 0 {
                    *n += 1;
                }
                *n == 1
            };
            // 60 invitations; on the first reading, page 1 starts one early (a new one
            // arrived at the top after page 0 was read).
            let start = page * 50 - usize::from(first_reading && page == 1);
            let ids: Vec<String> = (start..60.min(start + 50))
                    .map(|i| {
                        format!(
                            r#"{{"id":"uinv_{i:04}","invitee":{{"email":"e{i}@x.example"}},"roles":[]}}"#
                        )
                    })
                    .collect();
            return json(
                200,
                &format!(
                    r#"{{"invitations":[{}],"start":{},"limit":50,"total":60}}"#,
                    ids.join(","),
                    page * 50
                ),
            );
        }
        json(200, r#"{"members": []}"#)
    });
    let dir = TempDir::new("shifting-invitations");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: acme\n    members: []\n    allow_empty: true\n    invitations: revoke\n",
    );
    let out = OrgSync::at(&fake.url())
        .env("AUTH0_API_TOKEN", TOKEN)
        .args(["apply", "--auto-approve", "--audit-log", "audit.jsonl"])
        .cwd(dir.path())
        .run();
    out.assert_no_panic();
    let revoked: Vec<String> = fake
        .heads()
        .iter()
        .filter(|r| r.starts_with("DELETE") && r.contains("/invitations/uinv_"))
        .cloned()
        .collect();
    let distinct: std::collections::BTreeSet<&String> = revoked.iter().collect();
    assert_eq!(revoked.len(), 60, "{}", out.show());
    assert_eq!(distinct.len(), 60, "each once: {revoked:?}");
    assert!(*reads.lock().unwrap() >= 2, "the list was read again");
    out.success();
    // Every account counts what the server did: the plan, the apply summary and the audit log.
    out.stdout_has("Apply: 0 removed, 0 not removed, 0 already gone, in 60 DELETE calls; 60 invitations revoked, 0 not revoked.");
    let summary = audit_lines(&dir.path().join("audit.jsonl"))
        .into_iter()
        .find(|l| l["event"] == "summary")
        .expect("a summary line");
    assert_eq!(summary["revoked"], 60, "{summary}");
    assert_eq!(summary["delete_calls"], 60, "{summary}");
}

/// A member list that names one user_id on two pages at every reading: the list is read
/// three times, then apply fails naming the user_id, and nothing is removed (a member listed
/// twice is never removed twice, nor planned from a list that moved).
#[test]
fn a_member_on_two_pages_at_every_reading_fails_the_run_unacted() {
    let fake = Fake::answering(|p: &str, _| {
        org(p).unwrap_or_else(|| {
            // Page 1 (no cursor) holds auth0|0..99; the page after it starts at auth0|99.
            let start = if p.contains("from=") { 99 } else { 0 };
            let members: Vec<String> = (start..start + 100)
                .map(|i| format!(r#"{{"user_id":"auth0|{i}"}}"#))
                .collect();
            let next = if start == 0 { r#","next":"p2""# } else { "" };
            json(
                200,
                &format!(r#"{{"members":[{}]{next}}}"#, members.join(",")),
            )
        })
    });
    let dir = TempDir::new("member-twice");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: acme\n    members: []\n    allow_empty: true\n    max_removals: 100%\n",
    );
    let out = OrgSync::at(&fake.url())
        .env("AUTH0_API_TOKEN", TOKEN)
        .args(["apply", "--auto-approve"])
        .cwd(dir.path())
        .run();
    assert_clean_failure(&out, "`auth0|99` was listed twice");
    let requests = fake.heads();
    assert!(
        !requests.iter().any(|r| r.starts_with("DELETE")),
        "{requests:?}"
    );
    let reads = requests.iter().filter(|r| r.contains("/members")).count();
    assert_eq!(reads, 6, "three readings of two pages: {requests:?}");
}
