//! Hostile or broken servers: every answer ends in a clear error or a correct result, never a
//! hang, a panic or a removal; the Authorization header never leaves the configured host; and
//! no error path or verbosity prints a token or a client secret.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use orgsync::emulator::{Options, ScriptedFault};

/// What the fake server answers for a request path.
type Responder = dyn Fn(&str, usize) -> Reply + Send + Sync;

enum Reply {
    /// Status line, extra headers, body.
    Http(u16, Vec<(String, String)>, Vec<u8>),
    /// Accept and never answer.
    Silence,
}

fn json(status: u16, body: &str) -> Reply {
    Reply::Http(
        status,
        vec![(
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        )],
        body.as_bytes().to_vec(),
    )
}

/// A tiny HTTP/1.1 server on loopback: records each request's line and headers, answers with
/// `respond(path, nth request)`.
struct Fake {
    addr: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    fn start(ip: &str, respond: Arc<Responder>) -> Fake {
        let listener = TcpListener::bind(format!("{ip}:0")).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                n += 1;
                let respond = respond.clone();
                let log = log.clone();
                let nth = n;
                std::thread::spawn(move || serve(stream, &*respond, &log, nth));
            }
        });
        Fake { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, respond: &Responder, log: &Mutex<Vec<String>>, mut nth: usize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap_or(0))
            })
            .unwrap_or(0);
        let mut body = vec![0; len];
        let _ = reader.read_exact(&mut body);
        log.lock().unwrap().push(head.clone());
        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
        match respond(&path, nth) {
            Reply::Silence => {
                std::thread::sleep(Duration::from_secs(30));
                return;
            }
            Reply::Http(status, headers, body) => {
                let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                for (k, v) in headers {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                if stream
                    .write_all(out.as_bytes())
                    .and_then(|()| stream.write_all(&body))
                    .is_err()
                {
                    return;
                }
            }
        }
        nth += 1000;
    }
}

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.secret-token-payload.sig-9f8e7d";
const CONFIG: &str =
    "version: 1\norganizations:\n  - name: acme\n    members: []\n    allow_empty: true\n";

fn plan_against(url: &str, extra: &[&str]) -> (std::process::Output, Duration) {
    let dir = TempDir::new("hostile");
    dir.write("orgsync.yaml", CONFIG);
    let mut args = vec!["plan", "-vv"];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let out = orgsync(
        &args,
        &[
            ("AUTH0_DOMAIN", url),
            ("AUTH0_API_TOKEN", TOKEN),
            ("ORGSYNC_TEST_NO_RETRY_DELAY", "1"),
        ],
        dir.path(),
    );
    (out, started.elapsed())
}

fn org(path: &str) -> Option<Reply> {
    path.starts_with("/api/v2/organizations/name/acme")
        .then(|| json(200, r#"{"id":"org_aaaaaaaaaaaaaaa1","name":"acme"}"#))
}

fn assert_clean_failure(out: &std::process::Output, wants: &str) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    let err = stderr(out);
    assert!(err.contains(wants), "missing {wants:?} in:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !err.contains(TOKEN) && !stdout(out).contains(TOKEN),
        "the token leaked"
    );
    assert!(stdout(out).is_empty(), "nothing is planned");
}

#[test]
fn malformed_json_is_a_clear_error() {
    let fake = Fake::start(
        "127.0.0.1",
        Arc::new(|p: &str, _| {
            org(p).unwrap_or_else(|| json(200, "{\"members\": [ {\"user_id\": "))
        }),
    );
    let (out, _) = plan_against(&fake.url(), &[]);
    assert_clean_failure(&out, "returned an answer orgsync cannot read");
}

#[test]
fn a_200_of_the_wrong_shape_is_a_clear_error() {
    let fake = Fake::start(
        "127.0.0.1",
        Arc::new(|p: &str, _| org(p).unwrap_or_else(|| json(200, r#"{"users": []}"#))),
    );
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
    let fake = Fake::start(
        "127.0.0.1",
        Arc::new(move |p: &str, _| org(p).unwrap_or_else(|| json(200, &big))),
    );
    let (out, _) = plan_against(&fake.url(), &[]);
    assert_clean_failure(&out, "larger than 8 MiB");
}

#[test]
fn an_endless_cursor_is_an_error_not_a_loop() {
    let page = format!(
        "{{\"members\": [{}], \"next\": \"same-cursor\"}}",
        (0..100)
            .map(|i| format!(r#"{{"user_id":"auth0|{i}"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    let fake = Fake::start(
        "127.0.0.1",
        Arc::new(move |p: &str, _| org(p).unwrap_or_else(|| json(200, &page))),
    );
    let (out, _) = plan_against(&fake.url(), &[]);
    assert_clean_failure(&out, "the same `next` cursor twice");
    // The first page, the page from the cursor, and no more.
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.contains("/members"))
            .count(),
        2
    );
}

#[test]
fn a_redirect_to_another_host_is_not_followed_and_gets_no_authorization() {
    let elsewhere = Fake::start("127.0.0.2", Arc::new(|_: &str, _| json(200, "[]")));
    let target = format!("{}/api/v2/organizations/name/acme", elsewhere.url());
    let fake = Fake::start(
        "127.0.0.1",
        Arc::new(move |_: &str, _| {
            Reply::Http(302, vec![("location".into(), target.clone())], vec![])
        }),
    );
    let (out, _) = plan_against(&fake.url(), &[]);
    assert_clean_failure(&out, "redirect");
    assert!(
        elsewhere.requests().is_empty(),
        "nothing reached the other host: {:?}",
        elsewhere.requests()
    );
    // The configured host did get the token, as it should.
    assert!(
        fake.requests()[0]
            .to_ascii_lowercase()
            .contains("authorization: bearer")
    );
}

#[test]
fn a_server_that_never_answers_times_out_with_a_clear_error() {
    let fake = Fake::start("127.0.0.1", Arc::new(|_: &str, _| Reply::Silence));
    let (out, took) = plan_against(&fake.url(), &["--timeout", "1"]);
    assert_clean_failure(&out, "timed out");
    // Three attempts of one second each, not a hang.
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn a_429_without_rate_limit_headers_is_backed_off_and_the_plan_completes() {
    let fake = Fake::start(
        "127.0.0.1",
        Arc::new(|p: &str, nth| {
            if nth <= 2 {
                return json(
                    429,
                    r#"{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}"#,
                );
            }
            org(p).unwrap_or_else(|| {
                json(
                    200,
                    r#"{"members": [{"user_id": "auth0|1"}], "next": "c1"}"#,
                )
            })
        }),
    );
    let (out, _) = plan_against(&fake.url(), &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
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
            let mut envs = env.clone();
            envs.push(("AUTH0_DOMAIN", url.as_str()));
            envs.push(("ORGSYNC_TEST_NO_RETRY_DELAY", "1"));
            outputs.push(orgsync(&args, &envs, dir.path()));
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
        outputs.push(orgsync(
            &args,
            &[
                ("AUTH0_DOMAIN", url.as_str()),
                ("AUTH0_API_TOKEN", TOKEN),
                ("ORGSYNC_TEST_NO_RETRY_DELAY", "1"),
            ],
            dir.path(),
        ));
        outputs.push(orgsync(
            &args,
            &[
                ("AUTH0_DOMAIN", "http://127.0.0.1:9"),
                ("AUTH0_API_TOKEN", TOKEN),
                ("ORGSYNC_TEST_NO_RETRY_DELAY", "1"),
            ],
            dir.path(),
        ));
    }
    let mut everything = String::new();
    for o in &outputs {
        everything.push_str(&stdout(o));
        everything.push_str(&stderr(o));
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
