//! The canary: every secret of a run (the Auth0 client secret, the access token Auth0 issues,
//! GITHUB_TOKEN, GITLAB_TOKEN) is echoed back by hostile servers in every field they can —
//! headers, bodies, member names, the checkpoint cursor `next`, `Link` and `x-next-page`
//! headers, error texts, a JSON string where a list belongs — while orgsync runs plan, plan
//! `--out` then apply of the saved plan, export, apply, a refused token, and `--comment` for
//! both forges at `-vv`. No stdout, stderr, written file (plan, export, audit log, step
//! summary) or request body sent to a forge may hold any of them, in any form. Plus one test
//! per observation of issue 18 (1a, 1b, 1c), each of which printed a secret before output was
//! scrubbed. `CANARY_DUMP=FILE` appends every run's output to FILE, to look at.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::support::http::{Answer, Request, serve};
use crate::support::{OrgSync, Run, TempDir};

/// The secrets, with characters that JSON-escaping and percent-encoding change.
const CLIENT_SECRET: &str = "cAnAry\"client/secret+ 7f3a9c";
const AUTH0_TOKEN: &str = "cAnAry-auth0-access-token.2b8e41d7";
const GH_TOKEN: &str = "ghs_cAnAryGitHubToken5e1f0a93";
const GL_TOKEN: &str = "glpat-cAnAryGitLabToken7c2d";
const SECRETS: [&str; 4] = [CLIENT_SECRET, AUTH0_TOKEN, GH_TOKEN, GL_TOKEN];
const CLIENT_ID: &str = "canary-client";

/// Each secret in the forms a text may carry it in (what must never be written).
fn forms() -> Vec<String> {
    let mut out = Vec::new();
    for s in SECRETS {
        let json = serde_json::to_string(s).unwrap();
        let json = json.trim_matches('"').to_string();
        let pct: String = s
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        for f in [s.to_string(), json, pct.clone(), pct.replace("%20", "+")] {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out
}

/// Everything a hostile server says back: each secret raw, as a header, percent-encoded.
fn echo() -> String {
    let mut parts = Vec::new();
    for s in SECRETS {
        parts.push(format!("{s} | Bearer {s} | PRIVATE-TOKEN: {s}"));
    }
    let pct = forms().join(" ");
    format!("echo {} {pct}", parts.join(" "))
}

/// A header value (visible ASCII) echoing every secret.
fn echo_header() -> String {
    SECRETS.join(" ; ")
}

fn leak_link() -> String {
    format!("<https://other.example/next?access_token={GH_TOKEN}&t={AUTH0_TOKEN}>; rel=\"next\"")
}

/// An answer with every header echoing the secrets.
fn hostile(status: u16, body: String, extra: Vec<(String, String)>) -> Answer {
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("x-echo".to_string(), echo_header()),
        ("x-request-id".to_string(), AUTH0_TOKEN.to_string()),
        ("link".to_string(), leak_link()),
    ];
    headers.extend(extra);
    let body = if status == 204 {
        Vec::new()
    } else {
        body.into_bytes()
    };
    Answer::Http(status, headers, body)
}

/// The canary Auth0: organization `acme` (`org_acme000000000001`) with `auth0|keep01` and
/// `auth0|gone01`, whose name is every secret; the members' cursor is the client secret.
struct Auth0 {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

fn auth0() -> Auth0 {
    start_auth0(true)
}

/// `in_members`: whether the members' names echo the secrets too (then a saved plan holds
/// them, and is written scrubbed); the rest echoes them always.
fn start_auth0(in_members: bool) -> Auth0 {
    let requests = Arc::new(Mutex::new(Vec::<Request>::new()));
    let log = requests.clone();
    let url = serve(
        "127.0.0.1",
        Arc::new(move |r: &Request| {
            let mut log = log.lock().unwrap();
            log.push(r.clone());
            let deletes = log.iter().filter(|r| r.method == "DELETE").count();
            auth0_answer(r, in_members, deletes)
        }),
    );
    Auth0 { url, requests }
}

/// `auth0|gone01` and the members the config keeps: a full first page (100), so the cursor
/// after it is followed.
fn member_ids() -> Vec<String> {
    let mut ids = vec!["auth0|gone01".to_string(), "auth0|keep01".to_string()];
    ids.extend((0..98).map(|i| format!("auth0|fill{i:03}")));
    ids
}

fn config() -> String {
    let kept: Vec<String> = member_ids()[1..]
        .iter()
        .map(|m| format!("\"{m}\""))
        .collect();
    format!(
        "version: 1\norganizations:\n  - name: acme\n    members: [{}]\n",
        kept.join(", ")
    )
}

/// `deletes`: the DELETEs received so far, this one included (odd ones are refused).
fn auth0_answer(r: &Request, in_members: bool, deletes: usize) -> Answer {
    let (path, query) = r.path.split_once('?').unwrap_or((&r.path, ""));
    let org = json!({"id": "org_acme000000000001", "name": "acme", "display_name": echo()});
    let refuse = |status: u16| {
        hostile(
            status,
            json!({"statusCode": status, "error": echo(), "message": echo(), "errorCode": echo()})
                .to_string(),
            vec![],
        )
    };
    if r.method == "POST" && path == "/oauth/token" {
        return hostile(
            200,
            json!({
                "access_token": AUTH0_TOKEN,
                "token_type": "Bearer",
                "expires_in": 86400,
                "scope": "read:organizations read:organization_members delete:organization_members read:users read:organization_member_roles",
                "echo": echo(),
                "request": String::from_utf8_lossy(&r.body),
            })
            .to_string(),
            vec![],
        );
    }
    if r.header("authorization") != Some(format!("Bearer {AUTH0_TOKEN}")) {
        return refuse(401);
    }
    match (r.method.as_str(), path) {
        ("GET", "/api/v2/organizations/name/acme")
        | ("GET", "/api/v2/organizations/org_acme000000000001") => {
            hostile(200, org.to_string(), vec![])
        }
        ("GET", "/api/v2/organizations") => {
            let body = if query.is_empty() {
                json!([org])
            } else if query.contains("from=") {
                json!({"organizations": []})
            } else {
                json!({"organizations": [org], "next": CLIENT_SECRET})
            };
            hostile(200, body.to_string(), vec![])
        }
        ("GET", "/api/v2/organizations/org_acme000000000001/members") => {
            // The first page's cursor is the client secret; the page after it is the last.
            let body = if query.contains("from=") {
                json!({"members": []})
            } else {
                let name = if in_members {
                    echo()
                } else {
                    "A Member".into()
                };
                let list: Vec<Value> = member_ids()
                    .iter()
                    .map(|id| {
                        json!({"user_id": id, "email": format!("{}@example.com", &id[6..]), "name": name})
                    })
                    .collect();
                json!({"members": list, "next": CLIENT_SECRET})
            };
            hostile(200, body.to_string(), vec![])
        }
        // Every other one refused with every secret in the error (the report and the audit
        // log carry it); the others said done, never done: each run finds `auth0|gone01` to
        // remove again.
        ("DELETE", "/api/v2/organizations/org_acme000000000001/members") if deletes % 2 == 1 => {
            refuse(400)
        }
        ("DELETE", "/api/v2/organizations/org_acme000000000001/members") => {
            hostile(204, String::new(), vec![])
        }
        // Roles, invitations, users: refused, with every secret in the error.
        (_, p) if p.contains("/roles") => refuse(403),
        _ => refuse(404),
    }
}

/// How a fake forge misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Serves comments (whose bodies echo the secrets) and takes new ones, echoing them.
    Echo,
    /// Answers the comment list with `200` and a JSON string echoing the token header (1b).
    DecodeEcho,
    /// Answers the comment list with a next page on another host, token in the link (1c);
    /// GitLab: an `x-next-page` that is every secret.
    LinkElsewhere,
}

struct ForgeFake {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

fn forge(gitlab: bool, mode: Mode) -> ForgeFake {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    let url = serve(
        "127.0.0.1",
        Arc::new(move |r: &Request| {
            log.lock().unwrap().push(r.clone());
            forge_answer(r, gitlab, mode)
        }),
    );
    ForgeFake { url, requests }
}

fn forge_answer(r: &Request, gitlab: bool, mode: Mode) -> Answer {
    let path = r.path.split('?').next().unwrap_or("");
    let token = if gitlab {
        r.header("private-token").unwrap_or_default()
    } else {
        r.header("authorization").unwrap_or_default()
    };
    let list = path.ends_with("/comments") || path.ends_with("/notes");
    let merged = path.contains("/commits/");
    if r.method == "GET" && (path == "/user" || path == "/api/v4/user") {
        // Who the token is (orgsync's own comments are told apart by it).
        return hostile(
            200,
            json!({"login": "orgsync-bot", "username": "orgsync-bot", "id": 77, "name": echo(), "email": echo()})
                .to_string(),
            vec![],
        );
    }
    match (r.method.as_str(), list, merged) {
        ("GET", _, true) => {
            let v = if gitlab {
                json!([{"iid": 7, "state": "merged", "title": echo()}])
            } else {
                json!([{"number": 7, "merged_at": "2026-01-01T00:00:00Z", "title": echo()}])
            };
            hostile(200, v.to_string(), vec![])
        }
        ("GET", true, _) => match mode {
            Mode::DecodeEcho => hostile(
                200,
                Value::String(format!("you sent {token}")).to_string(),
                vec![],
            ),
            Mode::LinkElsewhere if gitlab => hostile(
                200,
                json!([{"id": 1, "body": echo(), "system": false}]).to_string(),
                vec![("x-next-page".into(), echo_header())],
            ),
            Mode::LinkElsewhere => hostile(
                200,
                json!([{"id": 1, "body": echo(), "user": {"login": echo()}}]).to_string(),
                vec![],
            ),
            Mode::Echo => {
                let comment =
                    json!([{"id": 1, "body": echo(), "user": {"login": echo()}, "system": false}]);
                // GitHub: no `Link` (the first page is the last); GitLab: no next page.
                Answer::Http(
                    200,
                    vec![
                        ("content-type".into(), "application/json".into()),
                        ("x-echo".into(), echo_header()),
                        ("x-next-page".into(), String::new()),
                    ],
                    comment.to_string().into_bytes(),
                )
            }
        },
        ("POST", true, _) => hostile(
            201,
            json!({"id": 2, "body": echo(), "message": echo()}).to_string(),
            vec![],
        ),
        _ => hostile(
            404,
            json!({"message": echo(), "error": echo()}).to_string(),
            vec![],
        ),
    }
}

/// Every file in `dir`, by name (the config aside).
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_file() && name != "orgsync.yaml" && name != "event.json" {
            out.push((name, std::fs::read_to_string(&p).unwrap_or_default()));
        }
    }
    out
}

/// The figures of a canary: outputs checked, and what leaked where.
#[derive(Default)]
struct Check {
    outputs: usize,
    leaks: Vec<String>,
}

impl Check {
    fn text(&mut self, what: &str, text: &str) {
        self.outputs += 1;
        for f in forms() {
            if text.contains(&f) {
                self.leaks.push(format!("{what} holds `{f}`:\n{text}"));
            }
        }
    }

    fn run(&mut self, what: &str, run: &Run) {
        run.assert_no_panic();
        if let Ok(p) = std::env::var("CANARY_DUMP") {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(p)
                .unwrap();
            writeln!(f, "===== {what}\n{}", run.show()).unwrap();
        }
        self.text(&format!("{what}: stdout"), run.stdout());
        self.text(&format!("{what}: stderr"), run.stderr());
    }

    fn bodies(&mut self, what: &str, requests: &[Request]) {
        for r in requests {
            self.text(
                &format!("{what}: body of {} {}", r.method, r.path),
                &String::from_utf8_lossy(&r.body),
            );
        }
    }
}

/// A run with client credentials and, as in CI, both forge tokens in the environment: every
/// secret the servers echo is one the run has.
fn orgsync(auth0: &Auth0, dir: &TempDir) -> OrgSync {
    OrgSync::at(&auth0.url)
        .env("AUTH0_CLIENT_ID", CLIENT_ID)
        .env("AUTH0_CLIENT_SECRET", CLIENT_SECRET)
        .env("GITHUB_TOKEN", GH_TOKEN)
        .env("GITLAB_TOKEN", GL_TOKEN)
        .cwd(dir.path())
}

fn with_forge(run: OrgSync, forge: &ForgeFake, gitlab: bool, dir: &TempDir) -> OrgSync {
    if gitlab {
        run.env("GITLAB_TOKEN", GL_TOKEN)
            .env("CI_API_V4_URL", format!("{}/api/v4", forge.url))
            .env("CI_PROJECT_ID", "42")
            .env("CI_MERGE_REQUEST_IID", "7")
    } else {
        let event = dir.write("event.json", r#"{"number":7,"pull_request":{"number":7}}"#);
        run.env("GITHUB_TOKEN", GH_TOKEN)
            .env("GITHUB_REPOSITORY", "acme/org-config")
            .env("GITHUB_API_URL", &forge.url)
            .env("GITHUB_EVENT_PATH", event.to_string_lossy())
            .env(
                "GITHUB_STEP_SUMMARY",
                dir.path().join("summary.md").to_string_lossy(),
            )
    }
}

impl Check {
    /// Checks every file written in `dir` (the config aside), and that `names` are among them.
    fn files(&mut self, dir: &TempDir, names: &[&str]) {
        let written = files(dir.path());
        for name in names {
            let listed: Vec<&String> = written.iter().map(|(n, _)| n).collect();
            assert!(
                written.iter().any(|(n, _)| n == name),
                "{name} was written: {listed:?}"
            );
        }
        for (name, text) in &written {
            self.text(name, text);
        }
    }

    /// Prints the tally of `what`, then fails listing every leak found.
    fn assert_clean(&self, what: &str, runs: usize) {
        let (secrets, forms, outputs) = (SECRETS.len(), forms().len(), self.outputs);
        println!(
            "canary, {what}: {secrets} secrets planted in {forms} forms; {runs} runs; {outputs} outputs checked"
        );
        let leaks = self.leaks.join("\n---\n");
        assert!(
            self.leaks.is_empty(),
            "{} leaks:\n{leaks}",
            self.leaks.len()
        );
    }
}

/// A canary dir holding the config; the audit log's path, as an argument.
fn canary_dir(tag: &str) -> (TempDir, String) {
    let dir = TempDir::new(tag);
    dir.write("orgsync.yaml", &config());
    let audit = dir
        .path()
        .join("audit.jsonl")
        .to_string_lossy()
        .into_owned();
    (dir, audit)
}

/// How many DELETEs `a` received.
fn deletes_sent(a: &Auth0) -> usize {
    a.requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count()
}

/// Plan, plan --out, export, apply (twice) at `-vv`: nothing they print or write holds a
/// secret. A saved plan that held secrets was written scrubbed (with a warning): its digest no
/// longer matches, so apply refuses it (and says so without a secret).
#[test]
fn no_secret_leaves_orgsync_on_plan_export_and_apply() {
    let (mut check, a) = (Check::default(), auth0());
    let (dir, audit) = canary_dir("canary");
    let plain: Vec<Vec<&str>> = vec![
        vec!["-vv", "plan"],
        vec!["-vv", "plan", "--out", "secret-plan.json"],
        vec!["-vv", "export", "--output", "export.yaml"],
        vec!["-vv", "apply", "--auto-approve", "--audit-log", &audit],
        vec!["-vv", "apply", "--auto-approve", "--audit-log", &audit],
    ];
    for args in &plain {
        let run = orgsync(&a, &dir).args(args).run();
        check.run(&args.join(" "), &run);
        if args.contains(&"secret-plan.json") {
            run.stderr_has("warning: the plan holds a secret of this run");
        }
    }
    let refused = orgsync(&a, &dir)
        .args(["-vv", "apply", "secret-plan.json", "--auto-approve"])
        .run();
    refused.failure().stderr_has("plan_sha256 does not match");
    check.run("apply secret-plan.json", &refused);
    assert!(deletes_sent(&a) >= 2, "apply sent its DELETEs");
    let followed = a
        .requests
        .lock()
        .unwrap()
        .iter()
        .any(|r| r.path.contains("from="));
    assert!(followed, "the secret cursor was followed");
    check.files(&dir, &["secret-plan.json", "export.yaml", "audit.jsonl"]);
    check.assert_clean("plan, export, apply", plain.len() + 1);
}

/// Secrets everywhere but in the members: the saved plan is whole, and applied (its DELETE
/// refused with every secret in the error, which the report and the audit log carry).
#[test]
fn no_secret_leaves_orgsync_when_a_saved_plan_is_applied() {
    let (mut check, quiet) = (Check::default(), start_auth0(false));
    let (dir, audit) = canary_dir("canary-saved");
    let apply = vec![
        "-vv",
        "apply",
        "plan.json",
        "--auto-approve",
        "--audit-log",
        &audit,
    ];
    for args in [vec!["-vv", "plan", "--out", "plan.json"], apply] {
        let run = orgsync(&quiet, &dir).args(&args).run();
        check.run(&args.join(" "), &run);
    }
    assert!(deletes_sent(&quiet) >= 1, "the saved plan was applied");
    check.files(&dir, &["plan.json", "audit.jsonl"]);
    check.assert_clean("a saved plan applied", 2);
}

/// A token endpoint (and everything else) refusing, with every secret the run has in its
/// answer: the access token it never got aside.
#[test]
fn no_secret_leaves_orgsync_when_the_token_is_refused() {
    let mut check = Check::default();
    let (dir, _) = canary_dir("canary-refused");
    let refusing = serve(
        "127.0.0.1",
        Arc::new(|r: &Request| {
            let body = String::from_utf8_lossy(&r.body);
            let had = format!(
                "{CLIENT_SECRET} {GH_TOKEN} Bearer {GH_TOKEN} PRIVATE-TOKEN: {GL_TOKEN} {body}"
            );
            let challenge = format!("Bearer error=\"{GH_TOKEN} {GL_TOKEN}\"");
            let headers = vec![
                ("content-type".into(), "application/json".into()),
                ("www-authenticate".into(), challenge),
            ];
            let body = json!({"error": "access_denied", "error_description": had, "message": had});
            Answer::Http(401, headers, body.to_string().into_bytes())
        }),
    );
    let refused_auth0 = Auth0 {
        url: refusing,
        requests: Arc::new(Mutex::new(Vec::new())),
    };
    for args in [vec!["-vv", "plan"], vec!["-vv", "export"]] {
        let run = orgsync(&refused_auth0, &dir).args(&args).run();
        run.failure();
        check.run(&format!("{} (token refused)", args.join(" ")), &run);
    }
    check.files(&dir, &[]);
    check.assert_clean("token refused", 2);
}

/// `--comment` on plan and apply at `-vv`, for each way a forge misbehaves: nothing printed,
/// written or sent to the forge holds a secret.
fn comment_canary(gitlab: bool) {
    let (mut check, a) = (Check::default(), auth0());
    let kind = if gitlab { "gitlab" } else { "github" };
    let (dir, audit) = canary_dir(&format!("canary-{kind}"));
    let mut runs = 0;
    for mode in [Mode::Echo, Mode::DecodeEcho, Mode::LinkElsewhere] {
        let f = forge(gitlab, mode);
        for command in ["plan", "apply"] {
            let mut args = vec!["-vv", command, "--comment", kind];
            if command == "apply" {
                args.extend(["--auto-approve", "--pr", "7", "--audit-log", &audit]);
            }
            let run = with_forge(orgsync(&a, &dir), &f, gitlab, &dir)
                .args(&args)
                .run();
            runs += 1;
            check.run(&format!("{} ({mode:?})", args.join(" ")), &run);
        }
        let requests = f.requests.lock().unwrap().clone();
        if mode == Mode::Echo {
            assert!(
                requests.iter().any(|r| r.method == "POST"),
                "{kind}: a comment was posted"
            );
        }
        check.bodies(kind, &requests);
    }
    let written: &[&str] = if gitlab {
        &["audit.jsonl"]
    } else {
        &["audit.jsonl", "summary.md"]
    };
    check.files(&dir, written);
    check.assert_clean(kind, runs);
}

#[test]
fn no_secret_leaves_orgsync_commenting_on_github() {
    comment_canary(false);
}

#[test]
fn no_secret_leaves_orgsync_commenting_on_gitlab() {
    comment_canary(true);
}

/// 1(a): `plan -v` with client credentials, against an Auth0 whose checkpoint cursor is the
/// client secret: the request log printed the request's path, secret and all.
#[test]
fn a_cursor_that_is_the_client_secret_is_not_logged() {
    let a = start_auth0(false);
    let dir = TempDir::new("canary-1a");
    dir.write("orgsync.yaml", &config());
    let run = orgsync(&a, &dir).args(["-v", "plan"]).run();
    run.success();
    assert!(
        run.stderr().contains("from=[redacted]"),
        "the cursor was logged, scrubbed: {}",
        run.show()
    );
    let mut check = Check::default();
    check.run("plan -v", &run);
    assert!(check.leaks.is_empty(), "{}", check.leaks.join("\n"));
}

/// 1(b): `plan --comment github|gitlab` against a forge answering the comment list with `200`
/// and a JSON string echoing the token header: the decode error printed the token.
#[test]
fn a_decode_error_echoing_the_token_is_scrubbed() {
    for gitlab in [false, true] {
        let a = start_auth0(false);
        let f = forge(gitlab, Mode::DecodeEcho);
        let dir = TempDir::new("canary-1b");
        dir.write("orgsync.yaml", &config());
        let kind = if gitlab { "gitlab" } else { "github" };
        let run = with_forge(orgsync(&a, &dir), &f, gitlab, &dir)
            .args(["plan", "--comment", kind])
            .run();
        assert!(
            run.stderr().contains("list of"),
            "the answer that is not a list is reported: {}",
            run.show()
        );
        let mut check = Check::default();
        check.run(kind, &run);
        assert!(check.leaks.is_empty(), "{}", check.leaks.join("\n"));
    }
}

/// 1(c): a `Link` to another host with the token in its query is rightly not followed, but the
/// refusal printed the link, token and all.
#[test]
fn a_refused_link_is_printed_without_the_token() {
    let a = start_auth0(false);
    let f = forge(false, Mode::LinkElsewhere);
    let dir = TempDir::new("canary-1c");
    dir.write("orgsync.yaml", &config());
    let run = with_forge(orgsync(&a, &dir), &f, false, &dir)
        .args(["plan", "--comment", "github"])
        .run();
    assert!(
        run.stderr().contains("other.example"),
        "the refusal names the host: {}",
        run.show()
    );
    assert!(
        f.requests
            .lock()
            .unwrap()
            .iter()
            .all(|r| !r.path.contains("access_token")),
        "the link was not followed"
    );
    let mut check = Check::default();
    check.run("plan --comment github", &run);
    assert!(check.leaks.is_empty(), "{}", check.leaks.join("\n"));
}

/// A value too short to tell from ordinary text is not treated as a secret, and the run says
/// so; the output is not mangled where the value happens to appear.
#[test]
fn a_secret_too_short_to_match_is_reported_and_text_is_left_alone() {
    let a = start_auth0(false);
    let dir = TempDir::new("canary-short");
    dir.write("orgsync.yaml", &config());
    let run = OrgSync::at(&a.url)
        .env("AUTH0_CLIENT_ID", CLIENT_ID)
        .env("AUTH0_CLIENT_SECRET", "acme")
        .cwd(dir.path())
        .args(["plan"])
        .run();
    run.success();
    run.stderr_has("warning: AUTH0_CLIENT_SECRET is shorter than 8 characters, so orgsync cannot tell it from ordinary text");
    run.stdout_has("organization acme (org_acme000000000001)");
}

/// A secret pasted where an argument goes: clap's usage error quotes it, scrubbed.
#[test]
fn a_secret_in_the_arguments_is_not_echoed_by_the_usage_error() {
    let run = OrgSync::bare()
        .env("AUTH0_CLIENT_SECRET", CLIENT_SECRET)
        .args(["plan", CLIENT_SECRET])
        .run();
    run.failure();
    run.stderr_has("unexpected argument '[redacted]'");
    let mut check = Check::default();
    check.run("plan SECRET", &run);
    assert!(check.leaks.is_empty(), "{}", check.leaks.join("\n"));
}
