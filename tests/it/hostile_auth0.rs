//! Safety promises under a hostile Auth0: a stateful fake Management API that can be scripted
//! per route to answer any status, any header value (`NaN`, `inf`, `1e30`, a reset in 2100), any
//! body, late, never, or after carrying a DELETE out; and the real emulator for saved plans,
//! audit logs and rate limits.
//!
//! Every run of the binary is bounded: a run that does not end in time is killed and the test
//! fails, so a regression fails CI instead of hanging it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::support::http::{Answer, Request, serve};
use crate::support::{
    ALL_SCOPES, OrgSync, Run, TempDir, audit_lines, background, client, member, org_with_members,
};
use orgsync_emulator::{
    BucketConfig, Emulator, Options, RateLimits, ScriptedFault, Tenant,
    tenant::Organization as EmuOrg,
};
use serde_json::{Value, json};

const CLIENT_ID: &str = "hostile-client";
const SECRET: &str = "s3cr3t-client-secret-XYZ";
const TOKEN: &str = "tok-SECRET-123";

/// Client credentials for `url`, instant retries.
fn creds(url: &str) -> OrgSync {
    OrgSync::at(url)
        .env("AUTH0_CLIENT_ID", CLIENT_ID)
        .env("AUTH0_CLIENT_SECRET", SECRET)
}

/// The same, with real waits (the "every wait ends" tests).
fn creds_real_waits(url: &str) -> OrgSync {
    creds(url).real_waits()
}

// ---------------------------------------------------------------------------------------------
// The hostile fake Auth0.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct FakeUser {
    user_id: String,
    email: Option<String>,
    name: Option<String>,
}

fn fu(user_id: &str) -> FakeUser {
    let local = user_id.split('|').next_back().unwrap_or(user_id);
    FakeUser {
        user_id: user_id.into(),
        email: Some(format!("{local}@example.com")),
        name: Some(format!("User {local}")),
    }
}

#[derive(Debug, Clone)]
struct FakeOrg {
    id: String,
    name: String,
    /// Whether `GET /organizations` lists it (it is found by name either way).
    listed: bool,
    members: Vec<FakeUser>,
}

fn forg(id: &str, name: &str, members: &[&str]) -> FakeOrg {
    FakeOrg {
        id: id.into(),
        name: name.into(),
        listed: true,
        members: members.iter().map(|m| fu(m)).collect(),
    }
}

/// What the fake does with a request instead of (or besides) answering it normally.
#[derive(Debug, Clone, Default)]
struct Act {
    /// Answer this status instead.
    status: Option<u16>,
    /// Extra headers, or overriding ones, with any value.
    headers: Vec<(String, String)>,
    /// Answer this body instead.
    body: Option<String>,
    /// Wait this long before answering.
    delay: Duration,
    /// Drop the connection without an answer.
    drop: bool,
    /// Carry the request out first (then answer `status` or drop): "act, then fail".
    act_first: bool,
    /// Answer a body that echoes the request body (an OAuth error).
    echo_request: bool,
}

impl Act {
    fn status(s: u16) -> Act {
        Act {
            status: Some(s),
            ..Act::default()
        }
    }
    fn header(mut self, k: &str, v: &str) -> Act {
        self.headers.push((k.into(), v.into()));
        self
    }
}

struct Rule {
    method: String,
    path: String,
    exact: bool,
    /// Only the nth matching request (from 1); every one when `None`.
    nth: Option<usize>,
    seen: usize,
    act: Act,
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
struct Rec {
    method: String,
    /// Path with query, as sent.
    path: String,
    /// The user_ids of a DELETE body.
    user_ids: Option<Vec<String>>,
    authorization: Option<String>,
    /// Whether the fake carried the request out (for a DELETE: removed the members).
    acted: bool,
    /// Status answered; 0 when the connection was dropped.
    status: u16,
}

type Script = Box<dyn FnMut(&str, &str) -> Option<Act> + Send>;

struct FakeState {
    orgs: Vec<FakeOrg>,
    users: Vec<FakeUser>,
}

struct Fake {
    url: String,
    state: Arc<Mutex<FakeState>>,
    rules: Arc<Mutex<Vec<Rule>>>,
    script: Arc<Mutex<Option<Script>>>,
    log: Arc<Mutex<Vec<Rec>>>,
}

struct Shared {
    state: Arc<Mutex<FakeState>>,
    rules: Arc<Mutex<Vec<Rule>>>,
    script: Arc<Mutex<Option<Script>>>,
    log: Arc<Mutex<Vec<Rec>>>,
}

impl Fake {
    fn start(orgs: Vec<FakeOrg>, users: Vec<FakeUser>) -> Fake {
        let shared = Arc::new(Shared {
            state: Arc::new(Mutex::new(FakeState { orgs, users })),
            rules: Arc::new(Mutex::new(Vec::new())),
            script: Arc::new(Mutex::new(None)),
            log: Arc::new(Mutex::new(Vec::new())),
        });
        Fake {
            state: shared.state.clone(),
            rules: shared.rules.clone(),
            script: shared.script.clone(),
            log: shared.log.clone(),
            url: serve("127.0.0.1", Arc::new(move |r: &Request| answer(&shared, r))),
        }
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    /// Scripts requests of `method` (`*` for any) whose path (query included) starts with
    /// `path` (or equals it without the query, when `exact`).
    fn rule(&self, method: &str, path: &str, exact: bool, nth: Option<usize>, act: Act) {
        self.rules.lock().unwrap().push(Rule {
            method: method.into(),
            path: path.into(),
            exact,
            nth,
            seen: 0,
            act,
        });
    }

    fn set_script(&self, s: Script) {
        *self.script.lock().unwrap() = Some(s);
    }

    fn requests(&self) -> Vec<Rec> {
        self.log.lock().unwrap().clone()
    }

    fn deletes(&self) -> Vec<Rec> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "DELETE")
            .collect()
    }

    fn members(&self, org_id: &str) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .orgs
            .iter()
            .find(|o| o.id == org_id)
            .map(|o| o.members.iter().map(|m| m.user_id.clone()).collect())
            .unwrap_or_default()
    }
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_params(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect()
}

fn user_json(u: &FakeUser) -> Value {
    json!({"user_id": u.user_id, "email": u.email, "name": u.name})
}

fn not_found(message: &str) -> (u16, String) {
    (
        404,
        json!({"statusCode": 404, "error": "Not Found", "message": message}).to_string(),
    )
}

/// The normal answer of the fake for a request, carrying it out.
fn handle(
    shared: &Shared,
    method: &str,
    path_q: &str,
    auth: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    let (path, query) = path_q.split_once('?').unwrap_or((path_q, ""));
    let q = query_params(query);
    if method == "POST" && path == "/oauth/token" {
        let text = String::from_utf8_lossy(body);
        let (id, secret) = match serde_json::from_slice::<Value>(body) {
            Ok(v) => (
                v["client_id"].as_str().unwrap_or_default().to_string(),
                v["client_secret"].as_str().unwrap_or_default().to_string(),
            ),
            Err(_) => {
                let f = query_params(&text);
                (
                    f.get("client_id").cloned().unwrap_or_default(),
                    f.get("client_secret").cloned().unwrap_or_default(),
                )
            }
        };
        if id == CLIENT_ID && secret == SECRET {
            return (
                200,
                json!({"access_token": TOKEN, "expires_in": 86400, "token_type": "Bearer", "scope": "read:organizations read:organization_members delete:organization_members read:users"}).to_string(),
            );
        }
        return (
            401,
            json!({"error": "access_denied", "error_description": "Unauthorized"}).to_string(),
        );
    }
    if auth != Some(&format!("Bearer {TOKEN}")) {
        return (
            401,
            json!({"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"})
                .to_string(),
        );
    }
    let mut st = shared.state.lock().unwrap();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segs.as_slice()) {
        ("GET", ["api", "v2", "organizations"]) => {
            let listed: Vec<Value> = st
                .orgs
                .iter()
                .filter(|o| o.listed)
                .map(|o| json!({"id": o.id, "name": o.name, "display_name": o.name}))
                .collect();
            if !q.contains_key("take") && !q.contains_key("from") {
                return (200, Value::Array(listed).to_string());
            }
            let take: usize = q.get("take").and_then(|t| t.parse().ok()).unwrap_or(50);
            let from: usize = q.get("from").and_then(|t| t.parse().ok()).unwrap_or(0);
            let page: Vec<Value> = listed.iter().skip(from).take(take).cloned().collect();
            let mut v = json!({ "organizations": page });
            if from + take < listed.len() {
                v["next"] = json!((from + take).to_string());
            }
            (200, v.to_string())
        }
        ("GET", ["api", "v2", "organizations", "name", name]) => {
            let name = pct_decode(name);
            match st.orgs.iter().find(|o| o.name == name) {
                Some(o) => (
                    200,
                    json!({"id": o.id, "name": o.name, "display_name": o.name}).to_string(),
                ),
                None => not_found("No organization found by that id or name"),
            }
        }
        ("GET", ["api", "v2", "organizations", id]) => {
            let id = pct_decode(id);
            match st.orgs.iter().find(|o| o.id == id) {
                Some(o) => (
                    200,
                    json!({"id": o.id, "name": o.name, "display_name": o.name}).to_string(),
                ),
                None => not_found("No organization found by that id or name"),
            }
        }
        ("GET", ["api", "v2", "organizations", id, "members"]) => {
            let id = pct_decode(id);
            let Some(o) = st.orgs.iter().find(|o| o.id == id) else {
                return not_found("No organization found by that id or name");
            };
            let take: usize = q.get("take").and_then(|t| t.parse().ok()).unwrap_or(50);
            let from: usize = q.get("from").and_then(|t| t.parse().ok()).unwrap_or(0);
            let page: Vec<Value> = o
                .members
                .iter()
                .skip(from)
                .take(take)
                .map(user_json)
                .collect();
            let mut v = json!({ "members": page });
            if !page.is_empty() {
                v["next"] = json!((from + page.len()).to_string());
            }
            (200, v.to_string())
        }
        ("GET", ["api", "v2", "users-by-email"]) => {
            let email = q.get("email").cloned().unwrap_or_default();
            let mut found: Vec<FakeUser> = st
                .users
                .iter()
                .chain(st.orgs.iter().flat_map(|o| o.members.iter()))
                .filter(|u| u.email.as_deref() == Some(email.as_str()))
                .cloned()
                .collect();
            found.sort_by(|a, b| a.user_id.cmp(&b.user_id));
            found.dedup_by(|a, b| a.user_id == b.user_id);
            (
                200,
                Value::Array(found.iter().map(user_json).collect()).to_string(),
            )
        }
        ("DELETE", ["api", "v2", "organizations", id, "members"]) => {
            let id = pct_decode(id);
            let ids: Vec<String> = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| {
                    v["members"].as_array().map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                })
                .unwrap_or_default();
            let Some(o) = st.orgs.iter_mut().find(|o| o.id == id) else {
                return not_found("No organization found by that id or name");
            };
            o.members.retain(|m| !ids.contains(&m.user_id));
            (204, String::new())
        }
        _ => not_found("Not Found"),
    }
}

/// The scripted action for a request, if any: rules first, then the random script.
fn scripted(shared: &Shared, method: &str, path_q: &str) -> Option<Act> {
    let path = path_q.split('?').next().unwrap_or(path_q);
    let mut rules = shared.rules.lock().unwrap();
    for r in rules.iter_mut() {
        let m = r.method == "*" || r.method == method;
        let p = if r.exact {
            path == r.path
        } else {
            path_q.starts_with(&r.path)
        };
        if m && p {
            r.seen += 1;
            if r.nth.is_none_or(|n| n == r.seen) {
                return Some(r.act.clone());
            }
        }
    }
    drop(rules);
    let mut script = shared.script.lock().unwrap();
    script.as_mut().and_then(|s| s(method, path_q))
}

fn reason(status: u16) -> &'static str {
    match status {
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "X",
    }
}

/// The fake's answer to a request: scripted, carried out, or both; recorded.
fn answer(shared: &Shared, req: &Request) -> Answer {
    let method = &req.method;
    let path_q = &req.path;
    let body = &req.body;
    let auth = req.header("authorization");
    let user_ids = (method == "DELETE").then(|| {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| {
                v["members"].as_array().map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
            })
            .unwrap_or_default()
    });
    let act = scripted(shared, method, path_q).unwrap_or_default();
    if !act.delay.is_zero() {
        std::thread::sleep(act.delay);
    }
    let carry_out = act.act_first || (act.status.is_none() && !act.drop);
    let (mut status, mut text) = if carry_out {
        handle(shared, method, path_q, auth.as_deref(), body)
    } else {
        (0, String::new())
    };
    let record = |status: u16| Rec {
        method: method.clone(),
        path: path_q.clone(),
        user_ids: user_ids.clone(),
        authorization: auth.clone(),
        acted: carry_out,
        status,
    };
    if act.drop {
        shared.log.lock().unwrap().push(record(0));
        return Answer::Drop;
    }
    if let Some(s) = act.status {
        status = s;
        text = match s {
            429 => json!({"statusCode": 429, "error": "Too Many Requests", "message": "Global limit has been reached", "errorCode": "too_many_requests"}).to_string(),
            s if s >= 500 => json!({"statusCode": s, "error": reason(s), "message": "hostile failure"}).to_string(),
            _ => text,
        };
    }
    if let Some(b) = &act.body {
        text = b.clone();
    }
    if act.echo_request {
        text = json!({"error": "access_denied", "error_description": format!("Unauthorized: {}", String::from_utf8_lossy(body))}).to_string();
    }
    let mut headers: Vec<(String, String)> = vec![(
        "content-type".into(),
        "application/json; charset=utf-8".into(),
    )];
    for (k, v) in &act.headers {
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v.clone()));
    }
    let bytes = if status == 204 {
        Vec::new()
    } else {
        text.into_bytes()
    };
    shared.log.lock().unwrap().push(record(status));
    Answer::Http(status, headers, bytes)
}

fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---------------------------------------------------------------------------------------------
// Emulator helpers.
// ---------------------------------------------------------------------------------------------

fn emu_tenant(orgs: Vec<EmuOrg>) -> Tenant {
    Tenant {
        clients: vec![client(CLIENT_ID, SECRET, ALL_SCOPES)],
        organizations: orgs,
        users: vec![],
    }
}

fn emu_deletes(emu: &Emulator) -> Vec<orgsync_emulator::RequestRecord> {
    emu.requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect()
}

fn emu_members(emu: &Emulator, name: &str) -> Vec<String> {
    emu.state()
        .organizations
        .into_iter()
        .find(|o| o.name == name)
        .map(|o| o.members)
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// 1. Keyed, total observation.
// ---------------------------------------------------------------------------------------------

const THREE_ORGS: &str = r#"version: 1
defaults:
  max_removals: 100%
organizations:
  - name: alpha
    allow_empty: true
    members: ["auth0|alpha0", "auth0|alpha1"]
  - name: beta
    allow_empty: true
    members: ["auth0|beta0", "auth0|beta1", "auth0|beta2"]
  - name: gamma
    allow_empty: true
    members: ["auth0|gamma0", "auth0|gamma1"]
"#;

fn three_org_fake() -> Fake {
    let mut alpha = forg(
        "org_alpha0000000001",
        "alpha",
        &["auth0|alpha0", "auth0|alpha1", "auth0|alpha2"],
    );
    // Not in the organization list: orgsync looks it up by name.
    alpha.listed = false;
    Fake::start(
        vec![
            alpha,
            forg(
                "org_beta00000000002",
                "beta",
                &["auth0|beta0", "auth0|beta1", "auth0|beta2", "auth0|beta3"],
            ),
            forg(
                "org_gamma0000000003",
                "gamma",
                &["auth0|gamma0", "auth0|gamma1", "auth0|gamma2"],
            ),
        ],
        vec![],
    )
}

/// Promise: an organization that cannot be read fails the whole run (plan and apply: exit 1,
/// no DELETE at all, the organization named, no panic); config and observed organizations are
/// matched by key, never by position.
fn unreadable_lookup_fails_the_whole_run(reset: &str) {
    let fake = three_org_fake();
    fake.rule(
        "GET",
        "/api/v2/organizations/name/alpha",
        true,
        None,
        Act::status(503)
            .header("x-ratelimit-limit", "10")
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", reset),
    );
    let dir = TempDir::new("keyed");
    dir.write("orgsync.yaml", THREE_ORGS);
    let env = creds(&fake.url());
    for args in [vec!["apply", "--auto-approve"], vec!["plan"]] {
        let r = env.clone().args(&args).cwd(dir.path()).run();
        assert!(
            fake.deletes().is_empty(),
            "{args:?} with reset {reset}: DELETEs were sent: {:?}\n{}",
            fake.deletes(),
            r.show()
        );
        r.code_for(1, format_args!("{args:?} with reset {reset}"));
        assert!(
            r.stderr.contains("alpha"),
            "{args:?}: stderr does not name the organization that could not be read:\n{}",
            r.show()
        );
        r.assert_no_panic();
    }
    // The declared members are all still there.
    assert_eq!(fake.members("org_beta00000000002").len(), 4);
}

#[test]
fn observation_is_keyed_and_total_when_a_lookup_says_reset_1e30() {
    unreadable_lookup_fails_the_whole_run("1e30");
}

#[test]
fn observation_is_keyed_and_total_when_a_lookup_says_reset_inf() {
    unreadable_lookup_fails_the_whole_run("inf");
}

/// Promise: a member declared by email is never removed because its lookup misbehaved
/// (`503` with `Retry-After: nan`): either it resolves after a retry, or the run fails.
fn email_lookup_with_nan_retry_after(real_waits: bool) {
    let fake = Fake::start(
        vec![forg(
            "org_alpha0000000001",
            "alpha",
            &["auth0|alpha0", "auth0|alpha1", "auth0|alpha2"],
        )],
        vec![],
    );
    fake.rule(
        "GET",
        "/api/v2/users-by-email",
        true,
        Some(1),
        Act::status(503).header("Retry-After", "nan"),
    );
    let dir = TempDir::new("email-nan");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: alpha\n    members:\n      - {email: alpha0@example.com}\n      - \"auth0|alpha1\"\n",
    );
    let env = if real_waits {
        creds_real_waits(&fake.url())
    } else {
        creds(&fake.url())
    };
    let r = env
        .clone()
        .args(["apply", "--auto-approve"])
        .cwd(dir.path())
        .run();
    for d in fake.deletes() {
        let ids = d.user_ids.unwrap_or_default();
        assert!(
            !ids.contains(&"auth0|alpha0".to_string())
                && !ids.contains(&"auth0|alpha1".to_string()),
            "a declared member was removed: {ids:?}\n{}",
            r.show()
        );
    }
    match r.code {
        Some(0) => assert_eq!(
            fake.members("org_alpha0000000001"),
            ["auth0|alpha0", "auth0|alpha1"],
            "{}",
            r.show()
        ),
        Some(1) => assert!(fake.deletes().is_empty(), "{}", r.show()),
        _ => panic!("unexpected exit:\n{}", r.show()),
    }
    r.assert_no_panic();
}

#[test]
fn an_email_lookup_answering_503_retry_after_nan_never_removes_the_declared_member() {
    email_lookup_with_nan_retry_after(true);
}

#[test]
fn an_email_lookup_answering_503_retry_after_nan_never_removes_the_declared_member_instant() {
    email_lookup_with_nan_retry_after(false);
}

// ---------------------------------------------------------------------------------------------
// 2. A resealed saved plan only narrows.
// ---------------------------------------------------------------------------------------------

const BREAK_GLASS: &str = "auth0|breakglass01";

const SAVED_CONFIG: &str = r#"version: 1
defaults:
  protect: ["auth0|breakglass01"]
  max_removals: 100%
organizations:
  - name: alpha
    members: ["auth0|a0000", "auth0|a0001", "auth0|a0002", "auth0|a0003", "auth0|a0004"]
  - name: guarded
    max_removals: 3
    members: ["auth0|g0000", "auth0|g0001"]
"#;

fn saved_plan_emulator() -> Emulator {
    let mut alpha = org_with_members("org_alphaalphaalpha1", "alpha", "a", 10);
    alpha
        .members
        .push(member(BREAK_GLASS, "bg@example.com", "Break Glass"));
    background(
        emu_tenant(vec![
            alpha,
            org_with_members("org_guardedguarded2", "guarded", "g", 10),
            org_with_members("org_otherotherothe3", "other", "o", 3),
        ]),
        Options::default(),
    )
}

/// Makes `plan.json` in `dir` (config `orgsync.yaml` there), edits and reseals it.
fn resealed_plan(emu: &Emulator, dir: &TempDir, edit: impl FnOnce(&mut orgsync::plan::Plan)) {
    dir.write("orgsync.yaml", SAVED_CONFIG);
    let r = creds(&emu.url())
        .args(["plan", "-c", "orgsync.yaml", "--out", "plan.json"])
        .cwd(dir.path())
        .run();
    r.success();
    let path = dir.path().join("plan.json");
    let mut p: orgsync::plan::Plan =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut p);
    p.plan_sha256 = Some(p.digest());
    std::fs::write(&path, serde_json::to_string_pretty(&p).unwrap()).unwrap();
}

fn org_mut<'a>(p: &'a mut orgsync::plan::Plan, name: &str) -> &'a mut orgsync::plan::OrgPlan {
    p.organizations.iter_mut().find(|o| o.name == name).unwrap()
}

/// The plan's legitimate removals in alpha happened.
fn assert_alpha_legitimate_removals_done(emu: &Emulator, r: &Run) {
    let alpha = emu_members(emu, "alpha");
    for i in 5..10 {
        assert!(
            !alpha.contains(&format!("auth0|a{i:04}")),
            "the plan's own removal auth0|a{i:04} did not happen: {alpha:?}\n{}",
            r.show()
        );
    }
}

#[test]
fn a_resealed_plan_cannot_remove_a_declared_member() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("reseal-declared");
    resealed_plan(&emu, &dir, |p| {
        org_mut(p, "alpha")
            .remove
            .insert(0, orgsync::plan::Member::id("auth0|a0000"));
    });
    let r = creds(&emu.url())
        .args(["apply", "plan.json", "-c", "orgsync.yaml", "--auto-approve"])
        .cwd(dir.path())
        .run();
    r.assert_no_panic();
    assert!(
        emu_members(&emu, "alpha").contains(&"auth0|a0000".to_string()),
        "a declared member was removed by a resealed plan:\n{}",
        r.show()
    );
    assert!(
        r.all().contains("skipped"),
        "no `skipped` in the output:\n{}",
        r.show()
    );
    assert_alpha_legitimate_removals_done(&emu, &r);
}

#[test]
fn a_resealed_plan_cannot_unblock_a_guarded_organization() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("reseal-blocked");
    resealed_plan(&emu, &dir, |p| {
        let g = org_mut(p, "guarded");
        assert!(
            g.blocked.is_some(),
            "the guard blocks `guarded` in the real plan"
        );
        g.blocked = None;
    });
    let r = creds(&emu.url())
        .args(["apply", "plan.json", "-c", "orgsync.yaml", "--auto-approve"])
        .cwd(dir.path())
        .run();
    r.assert_no_panic();
    assert_eq!(
        emu_members(&emu, "guarded").len(),
        10,
        "a blocked organization lost members:\n{}",
        r.show()
    );
    assert!(
        emu_deletes(&emu)
            .iter()
            .all(|d| !d.path.contains("org_guardedguarded2")),
        "{}",
        r.show()
    );
    r.code_for(1, "the organization stays blocked");
    assert!(
        r.all().contains("skipped"),
        "no `skipped` in the output:\n{}",
        r.show()
    );
    assert_alpha_legitimate_removals_done(&emu, &r);
}

#[test]
fn a_resealed_plan_cannot_add_an_organization_the_config_does_not_name() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("reseal-other");
    resealed_plan(&emu, &dir, |p| {
        let remove: Vec<orgsync::plan::Member> = (0..3)
            .map(|i| orgsync::plan::Member::id(format!("auth0|o{i:04}")))
            .collect();
        p.organizations.push(orgsync::plan::OrgPlan {
            id: "org_otherotherothe3".into(),
            name: "other".into(),
            current_count: 3,
            desired_count: 0,
            remove,
            missing: vec![],
            protected_kept: vec![],
            blocked: None,
            drift: true,
            resolved_emails: vec![],
            current: vec![],
            protect: vec![],
        });
    });
    let r = creds(&emu.url())
        .args(["apply", "plan.json", "-c", "orgsync.yaml", "--auto-approve"])
        .cwd(dir.path())
        .run();
    r.assert_no_panic();
    assert_eq!(
        emu_members(&emu, "other").len(),
        3,
        "an organization outside the config lost members:\n{}",
        r.show()
    );
    assert!(
        r.all().contains("skipped"),
        "no `skipped` in the output:\n{}",
        r.show()
    );
    assert_alpha_legitimate_removals_done(&emu, &r);
}

#[test]
fn a_resealed_plan_cannot_remove_the_break_glass_account_even_without_dash_c() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("reseal-protect");
    resealed_plan(&emu, &dir, |p| {
        let a = org_mut(p, "alpha");
        a.protected_kept.retain(|m| m.user_id != BREAK_GLASS);
        a.remove.push(orgsync::plan::Member::id(BREAK_GLASS));
    });
    // No `-c`: the config is the default `orgsync.yaml` of the working directory.
    let r = creds(&emu.url())
        .args(["apply", "plan.json", "--auto-approve"])
        .cwd(dir.path())
        .run();
    r.assert_no_panic();
    assert!(
        emu_members(&emu, "alpha").contains(&BREAK_GLASS.to_string()),
        "the protected break-glass account was removed:\n{}",
        r.show()
    );
    assert!(
        r.all().contains("skipped"),
        "no `skipped` in the output:\n{}",
        r.show()
    );
    assert_alpha_legitimate_removals_done(&emu, &r);
}

#[test]
fn a_saved_plan_without_any_config_is_refused() {
    let emu = saved_plan_emulator();
    let made = TempDir::new("reseal-noconfig-a");
    resealed_plan(&emu, &made, |_| {});
    let elsewhere = TempDir::new("reseal-noconfig-b");
    std::fs::copy(
        made.path().join("plan.json"),
        elsewhere.path().join("plan.json"),
    )
    .unwrap();
    let before = emu.state();
    let r = creds(&emu.url())
        .args(["apply", "plan.json", "--auto-approve"])
        .cwd(elsewhere.path())
        .run();
    r.assert_no_panic();
    assert!(emu_deletes(&emu).is_empty(), "{}", r.show());
    assert_eq!(emu.state(), before);
    r.failure();
}

// ---------------------------------------------------------------------------------------------
// 3. The write-ahead audit log.
// ---------------------------------------------------------------------------------------------

const OUTCOMES: &[&str] = &["removed", "failed", "unknown"];

fn ids_of(v: &Value) -> Vec<String> {
    v["user_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Every line carries one and the same non-empty `run_id`; returns it.
fn one_run_id(lines: &[Value]) -> String {
    let first = lines
        .first()
        .and_then(|l| l["run_id"].as_str())
        .unwrap_or_else(|| panic!("no run_id on the first line: {lines:?}"))
        .to_string();
    assert!(!first.is_empty());
    for l in lines {
        assert_eq!(l["run_id"].as_str(), Some(first.as_str()), "{l}");
    }
    first
}

#[test]
fn sigint_mid_apply_exits_130_and_the_audit_log_accounts_for_every_removal() {
    let emu = background(
        emu_tenant(vec![org_with_members(
            "org_bigbigbigbigbig1",
            "big",
            "u",
            100,
        )]),
        Options {
            latency: Duration::from_millis(300),
            ..Options::default()
        },
    );
    let before: BTreeSet<String> = emu_members(&emu, "big").into_iter().collect();
    let dir = TempDir::new("sigint");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: big\n    members: []\n    allow_empty: true\n    max_removals: 100%\n",
    );
    let audit = dir.path().join("audit.jsonl");
    let child = creds(&emu.url())
        .args(["apply", "--auto-approve", "--audit-log"])
        .arg(&audit)
        .cwd(dir.path())
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    while emu_deletes(&emu).is_empty() {
        assert!(Instant::now() < deadline, "no DELETE within 60 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let r = child.wait(Duration::from_secs(60));
    let deletes_at_end = emu_deletes(&emu).len();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        emu_deletes(&emu).len(),
        deletes_at_end,
        "a DELETE arrived after the run ended"
    );
    r.assert_no_panic();
    r.code_for(130, "SIGINT must exit 130");
    let after: BTreeSet<String> = emu_members(&emu, "big").into_iter().collect();
    let removed: Vec<&String> = before.difference(&after).collect();
    assert!(
        removed.len() < 100,
        "the interrupt came too late to test anything"
    );
    let lines = audit_lines(&audit);
    one_run_id(&lines);
    for u in removed {
        let in_outcome = lines.iter().any(|l| {
            l["event"] == "delete"
                && ["removed", "unknown"].contains(&l["outcome"].as_str().unwrap_or(""))
                && ids_of(l).contains(u)
        });
        let in_open_intent = lines.iter().any(|l| {
            l["event"] == "intent"
                && ids_of(l).contains(u)
                && !lines.iter().any(|o| {
                    o["event"] == "delete" && o["call"] == l["call"] && o["outcome"] == "failed"
                })
        });
        assert!(
            in_outcome || in_open_intent,
            "{u} was removed but the audit log does not account for it:\n{lines:#?}"
        );
    }
    let summary = lines
        .iter()
        .rfind(|l| l["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary line:\n{lines:#?}"));
    assert_eq!(summary["interrupted"], true, "{summary}");
    assert_eq!(summary["success"], false, "{summary}");
}

#[test]
fn an_audit_log_that_cannot_be_written_stops_apply_before_any_delete() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("dev-full");
    dir.write("orgsync.yaml", SAVED_CONFIG);
    let r = creds(&emu.url())
        .args(["apply", "--auto-approve", "--audit-log", "/dev/full"])
        .cwd(dir.path())
        .run();
    r.assert_no_panic();
    assert!(
        emu_deletes(&emu).is_empty(),
        "DELETEs went out unrecorded:\n{}",
        r.show()
    );
    r.failure();
}

#[test]
fn every_audit_line_carries_its_runs_run_id_and_runs_differ() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("run-id");
    dir.write("orgsync.yaml", SAVED_CONFIG);
    let audit = dir.path().join("audit.jsonl");
    let args = [
        "apply",
        "--auto-approve",
        "--audit-log",
        audit.to_str().unwrap(),
    ];
    let r1 = creds(&emu.url()).args(args).cwd(dir.path()).run();
    r1.assert_no_panic();
    let first = audit_lines(&audit);
    assert!(!first.is_empty(), "{}", r1.show());
    let r2 = creds(&emu.url()).args(args).cwd(dir.path()).run();
    r2.assert_no_panic();
    let all = audit_lines(&audit);
    let second = &all[first.len()..];
    assert!(!second.is_empty(), "{}", r2.show());
    let a = one_run_id(&first);
    let b = one_run_id(second);
    assert_ne!(a, b, "two runs share a run_id");
    // The first run, which removed members, wrote the whole sequence.
    assert_eq!(first[0]["event"], "start", "{first:#?}");
    assert_eq!(first.last().unwrap()["event"], "summary");
    for l in first.iter().filter(|l| l["event"] == "delete") {
        let call = &l["call"];
        let intent = first
            .iter()
            .position(|i| i["event"] == "intent" && &i["call"] == call)
            .unwrap_or_else(|| panic!("no intent before call {call}: {first:#?}"));
        let outcome = first.iter().position(|o| o == l).unwrap();
        assert!(intent < outcome);
        assert_eq!(ids_of(&first[intent]), ids_of(l));
        assert!(
            OUTCOMES.contains(&l["outcome"].as_str().unwrap_or("")),
            "{l}"
        );
    }
}

#[test]
fn wait_of_u64_max_is_a_clear_error_before_any_delete() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("wait-max");
    dir.write("orgsync.yaml", SAVED_CONFIG);
    let r = creds(&emu.url())
        .args(["apply", "--auto-approve", "--wait", "18446744073709551615"])
        .cwd(dir.path())
        .run();
    assert!(emu_deletes(&emu).is_empty(), "{}", r.show());
    r.assert_no_panic();
    r.failure();
    assert!(r.stderr.contains("error"), "{}", r.show());
}

#[test]
fn deletes_carried_out_then_cut_off_are_all_in_the_audit_log_and_the_run_is_not_a_success() {
    let members: Vec<String> = (0..15).map(|i| format!("auth0|m{i:02}")).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    let fake = Fake::start(vec![forg("org_cutcutcutcutcut1", "cut", &refs)], vec![]);
    fake.rule(
        "DELETE",
        "/api/v2/organizations/",
        false,
        None,
        Act {
            drop: true,
            act_first: true,
            ..Act::default()
        },
    );
    let dir = TempDir::new("act-then-drop");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: cut\n    members: [\"auth0|m00\", \"auth0|m01\", \"auth0|m02\"]\n",
    );
    let audit = dir.path().join("audit.jsonl");
    let r = creds(&fake.url())
        .args([
            "apply",
            "--auto-approve",
            "--audit-log",
            audit.to_str().unwrap(),
        ])
        .cwd(dir.path())
        .run();
    r.assert_no_panic();
    let acted: Vec<Rec> = fake.deletes().into_iter().filter(|d| d.acted).collect();
    assert!(!acted.is_empty(), "{}", r.show());
    let lines = audit_lines(&audit);
    for d in &acted {
        let ids = d.user_ids.clone().unwrap_or_default();
        assert!(
            lines.iter().any(|l| l["event"] == "delete"
                && ids_of(l) == ids
                && OUTCOMES.contains(&l["outcome"].as_str().unwrap_or(""))),
            "a DELETE carried out by the server has no outcome line: {ids:?}\n{lines:#?}"
        );
    }
    let unsure = lines.iter().any(|l| {
        l["event"] == "delete" && matches!(l["outcome"].as_str(), Some("unknown" | "failed"))
    });
    let summary = lines
        .iter()
        .rfind(|l| l["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary:\n{lines:#?}"));
    if unsure {
        assert_eq!(summary["success"], false, "{summary}");
        assert_ne!(r.code, Some(0), "{}", r.show());
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Every wait ends (real waits: no --no-retry-delay).
// ---------------------------------------------------------------------------------------------

fn plan_ends_under_headers(headers: &[(&str, String)]) {
    let fake = Fake::start(
        vec![forg(
            "org_alpha0000000001",
            "alpha",
            &["auth0|alpha0", "auth0|alpha1"],
        )],
        vec![],
    );
    let mut act = Act::default();
    for (k, v) in headers {
        act = act.header(k, v);
    }
    fake.rule("*", "/", false, None, act);
    let dir = TempDir::new("waits-end");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: alpha\n    members: [\"auth0|alpha0\"]\n",
    );
    let r = creds_real_waits(&fake.url())
        .args(["plan", "--timeout", "5"])
        .cwd(dir.path())
        .run();
    r.assert_no_panic();
    assert!(matches!(r.code, Some(0 | 1)), "{}", r.show());
}

#[test]
fn a_bucket_of_size_zero_does_not_stall_the_plan() {
    plan_ends_under_headers(&[
        ("x-ratelimit-limit", "0".into()),
        ("x-ratelimit-remaining", "0".into()),
    ]);
}

#[test]
fn a_reset_in_the_year_2100_does_not_stall_the_plan() {
    plan_ends_under_headers(&[
        ("x-ratelimit-limit", "10".into()),
        ("x-ratelimit-remaining", "0".into()),
        ("x-ratelimit-reset", "4102444800".into()),
    ]);
}

#[test]
fn a_reset_ten_minutes_ahead_does_not_stall_the_plan() {
    plan_ends_under_headers(&[
        ("x-ratelimit-limit", "10".into()),
        ("x-ratelimit-remaining", "0".into()),
        ("x-ratelimit-reset", (epoch_now() + 600).to_string()),
    ]);
}

fn rate_limited_apply_with_one_fault(status: u16) {
    let emu = background(
        emu_tenant(vec![org_with_members(
            "org_ratelimitedorg1",
            "limited",
            "r",
            30,
        )]),
        Options {
            rate_limits: RateLimits {
                global: Some(BucketConfig {
                    size: 4,
                    refill_per_sec: 1.0,
                    every_second: false,
                }),
                ..RateLimits::default()
            },
            ..Options::default()
        },
    );
    emu.script_fault(ScriptedFault {
        method: "DELETE".into(),
        path: "/api/v2/organizations/org_ratelimitedorg1/members".into(),
        status,
        times: 1,
    });
    let dir = TempDir::new("rl-apply");
    let keep: Vec<String> = (0..5).map(|i| format!("\"auth0|r{i:04}\"")).collect();
    dir.write(
        "orgsync.yaml",
        &format!(
            "version: 1\norganizations:\n  - name: limited\n    members: [{}]\n",
            keep.join(", ")
        ),
    );
    let r = creds_real_waits(&emu.url())
        .args(["apply", "--auto-approve"])
        .cwd(dir.path())
        .limit(Duration::from_secs(120))
        .run();
    r.assert_no_panic();
    r.success();
    let expected: Vec<String> = (0..5).map(|i| format!("auth0|r{i:04}")).collect();
    assert_eq!(emu_members(&emu, "limited"), expected, "{}", r.show());
}

#[test]
fn a_rate_limited_apply_with_one_500_completes() {
    rate_limited_apply_with_one_fault(500);
}

#[test]
fn a_rate_limited_apply_with_one_503_completes() {
    rate_limited_apply_with_one_fault(503);
}

#[test]
fn a_rate_limited_apply_with_one_429_completes() {
    rate_limited_apply_with_one_fault(429);
}

// ---------------------------------------------------------------------------------------------
// 5. Smaller promises.
// ---------------------------------------------------------------------------------------------

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
    fake.rule(
        "POST",
        "/oauth/token",
        true,
        None,
        Act {
            status: Some(401),
            echo_request: true,
            ..Act::default()
        },
    );
    let dir = TempDir::new("echo");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: alpha\n    members: []\n    allow_empty: true\n",
    );
    let audit = dir.path().join("audit.jsonl");
    let r = creds(&fake.url())
        .args([
            "apply",
            "--auto-approve",
            "-vv",
            "--audit-log",
            audit.to_str().unwrap(),
        ])
        .cwd(dir.path())
        .run();
    assert!(
        fake.requests().iter().any(|q| q.path == "/oauth/token"),
        "the token endpoint was asked"
    );
    r.failure();
    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(!r.all().contains(SECRET), "the secret leaked to the output");
    assert!(!log.contains(SECRET), "the secret leaked to the audit log");
}

#[test]
fn credentials_in_the_domain_are_not_echoed() {
    let dir = TempDir::new("domain-creds");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: alpha\n    members: []\n",
    );
    let r = OrgSync::at("https://ops-admin:hunter2-in-the-url@example.com")
        .env("AUTH0_CLIENT_ID", CLIENT_ID)
        .env("AUTH0_CLIENT_SECRET", SECRET)
        .arg("plan")
        .cwd(dir.path())
        .run();
    r.failure();
    let all = r.all();
    assert!(
        !all.contains("hunter2-in-the-url") && !all.contains("ops-admin"),
        "{}",
        r.show()
    );
    assert!(all.contains("[redacted]@example.com"), "{}", r.show());
}

#[test]
fn a_user_id_with_an_escape_and_a_newline_cannot_forge_output() {
    let evil = "auth0|x\u{1b}[31m\nApply: 0 removed";
    let fake = Fake::start(
        vec![forg(
            "org_alpha0000000001",
            "alpha",
            &["auth0|alpha0", "auth0|alpha1", evil],
        )],
        vec![],
    );
    let dir = TempDir::new("ansi");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: alpha\n    members: [\"auth0|alpha0\", \"auth0|alpha1\"]\n",
    );
    let r = creds(&fake.url())
        .args(["apply", "--auto-approve"])
        .cwd(dir.path())
        .run();
    r.assert_no_panic();
    assert!(
        !r.stdout.contains('\u{1b}'),
        "a raw escape reached stdout:\n{:?}",
        r.stdout
    );
    let applies = r.stdout.lines().filter(|l| l.starts_with("Apply:")).count();
    assert_eq!(applies, 1, "a forged `Apply:` line:\n{}", r.stdout);
    r.success();
    assert!(
        fake.deletes().iter().any(|d| d
            .user_ids
            .as_ref()
            .is_some_and(|u| u.contains(&evil.to_string()))),
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
    let r = creds(&emu.url())
        .args(["plan", "--out", "plan.json"])
        .cwd(dir.path())
        .run();
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
    let r = creds(&emu.url())
        .args(["export", "-o", "out.yaml"])
        .cwd(dir.path())
        .run();
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
    let fake = Fake::start(
        vec![forg(
            "org_alpha0000000001",
            "alpha",
            &["auth0|alpha0", "auth0|alpha1"],
        )],
        vec![],
    );
    fake.rule(
        "GET",
        "/api/v2/organizations/name/alpha",
        true,
        None,
        Act {
            status: Some(200),
            body: Some(r#"{"id":"..","name":"alpha"}"#.into()),
            ..Act::default()
        },
    );
    let dir = TempDir::new("dotdot");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: alpha\n    members: []\n    allow_empty: true\n",
    );
    let r = creds(&fake.url())
        .args(["apply", "--auto-approve"])
        .cwd(dir.path())
        .run();
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
    dir.write(
        "cfg/10-main.yaml",
        "version: 1\norganizations:\n  - name: other\n    members: [\"auth0|o0000\", \"auth0|o0001\", \"auth0|o0002\"]\n",
    );
    dir.write(
        "cfg/.hidden.yaml",
        "version: 1\norganizations:\n  - name: ghost\n    members: []\n    allow_empty: true\n",
    );
    dir.write(
        "cfg/20-UPPER.YAML",
        "version: 1\norganizations:\n  - name: guarded\n    members: []\n    allow_empty: true\n",
    );
    let r = creds(&emu.url())
        .args(["plan", "-c", "cfg/"])
        .cwd(dir.path())
        .run();
    r.assert_no_panic();
    r.code_for(0, "the hidden file was merged");
    assert!(
        r.stderr.contains("20-UPPER.YAML") && r.stderr.contains("skipped"),
        "stderr does not name 20-UPPER.YAML as skipped:\n{}",
        r.show()
    );
}

#[test]
fn a_saved_plan_without_a_terminal_needs_auto_approve() {
    let emu = saved_plan_emulator();
    let dir = TempDir::new("no-tty");
    resealed_plan(&emu, &dir, |_| {});
    let r = creds(&emu.url())
        .args(["apply", "plan.json", "-c", "orgsync.yaml"])
        .cwd(dir.path())
        .run();
    r.assert_no_panic();
    r.failure();
    assert!(emu_deletes(&emu).is_empty(), "{}", r.show());
}

// ---------------------------------------------------------------------------------------------
// 6. A property test over random hostile scripts.
// ---------------------------------------------------------------------------------------------

/// xorshift64*: small, seeded, good enough for test scripts.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

#[derive(Debug, Clone)]
enum Max {
    None,
    Count(usize),
    Percent(usize),
}

#[derive(Debug, Clone)]
struct CaseOrg {
    id: String,
    name: String,
    members: Vec<String>,
    configured: bool,
    /// Declared user_ids, and whether each is written by email.
    declared: Vec<(String, bool)>,
    protect: Vec<String>,
    max: Max,
    allow_empty: bool,
}

#[derive(Debug, Clone)]
struct Case {
    orgs: Vec<CaseOrg>,
    default_protect: Vec<String>,
}

fn pool_user(k: u64) -> String {
    format!("auth0|pu{k:02}")
}

fn pool_email(user_id: &str) -> String {
    format!("{}@example.com", user_id.trim_start_matches("auth0|"))
}

fn random_case(rng: &mut Rng, seed: u64) -> Case {
    let n_orgs = 1 + rng.below(4) as usize;
    let default_protect: Vec<String> = if rng.chance(0.5) {
        vec![pool_user(rng.below(30))]
    } else {
        vec![]
    };
    let mut orgs = Vec::new();
    for i in 0..n_orgs {
        let n = rng.below(26) as usize;
        let mut members: Vec<String> = Vec::new();
        while members.len() < n {
            let u = pool_user(rng.below(30));
            if !members.contains(&u) {
                members.push(u);
            }
        }
        let mut declared = Vec::new();
        for u in &members {
            if default_protect.contains(u) {
                continue;
            }
            if rng.chance(0.5) {
                declared.push((u.clone(), rng.chance(0.3)));
            }
        }
        // A missing member or two.
        if rng.chance(0.3) {
            let u = pool_user(30 + rng.below(5));
            declared.push((u, false));
        }
        let mut protect = Vec::new();
        if rng.chance(0.3) {
            let u = pool_user(rng.below(30));
            if !declared.iter().any(|(d, _)| *d == u) && !default_protect.contains(&u) {
                protect.push(u);
            }
        }
        let max = match rng.below(3) {
            0 => Max::None,
            1 => Max::Count(rng.below(12) as usize),
            _ => Max::Percent(10 * (1 + rng.below(10) as usize)),
        };
        orgs.push(CaseOrg {
            id: format!("org_p{}o{i}", seed % 1_000_000),
            name: format!("p{}", (b'a' + i as u8) as char),
            members,
            configured: true,
            declared,
            protect,
            max,
            allow_empty: rng.chance(0.5),
        });
    }
    // Sometimes an organization of the tenant is not in the config.
    if n_orgs > 1 && rng.chance(0.3) {
        orgs.last_mut().unwrap().configured = false;
    }
    Case {
        orgs,
        default_protect,
    }
}

fn case_yaml(c: &Case) -> String {
    let mut y = String::from("version: 1\n");
    if !c.default_protect.is_empty() {
        y.push_str(&format!(
            "defaults:\n  protect: [{}]\n",
            c.default_protect
                .iter()
                .map(|u| format!("\"{u}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    y.push_str("organizations:\n");
    for o in c.orgs.iter().filter(|o| o.configured) {
        y.push_str(&format!("  - name: {}\n", o.name));
        if o.declared.is_empty() {
            y.push_str("    members: []\n");
        } else {
            y.push_str("    members:\n");
            for (u, by_email) in &o.declared {
                if *by_email {
                    y.push_str(&format!("      - {{email: {}}}\n", pool_email(u)));
                } else {
                    y.push_str(&format!("      - \"{u}\"\n"));
                }
            }
        }
        if !o.protect.is_empty() {
            y.push_str(&format!("    protect: [\"{}\"]\n", o.protect[0]));
        }
        match o.max {
            Max::None => {}
            Max::Count(n) => y.push_str(&format!("    max_removals: {n}\n")),
            Max::Percent(p) => y.push_str(&format!("    max_removals: {p}%\n")),
        }
        if o.allow_empty {
            y.push_str("    allow_empty: true\n");
        }
    }
    y
}

/// The removals a correct plan may make, from the config and the initial tenant.
fn allowed_removals(c: &Case) -> HashSet<(String, String)> {
    let mut out = HashSet::new();
    for o in c.orgs.iter().filter(|o| o.configured) {
        let declared: HashSet<&str> = o.declared.iter().map(|(u, _)| u.as_str()).collect();
        let remove: Vec<&String> = o
            .members
            .iter()
            .filter(|u| {
                !declared.contains(u.as_str())
                    && !o.protect.contains(u)
                    && !c.default_protect.contains(u)
            })
            .collect();
        let current = o.members.len();
        let blocked = !remove.is_empty()
            && ((remove.len() == current && !o.allow_empty)
                || match o.max {
                    Max::None => false,
                    Max::Count(n) => remove.len() > n,
                    Max::Percent(p) => remove.len() > current * p / 100,
                });
        if !blocked {
            for u in remove {
                out.insert((o.id.clone(), u.clone()));
            }
        }
    }
    out
}

fn hostile_headers(rng: &mut Rng) -> Vec<(String, String)> {
    let values = [
        "NaN".to_string(),
        "inf".to_string(),
        "-inf".to_string(),
        "1e30".to_string(),
        "-5".to_string(),
        "0".to_string(),
        "4102444800".to_string(),
        (epoch_now() + 600).to_string(),
        "abc".to_string(),
        "1".to_string(),
    ];
    let mut h = Vec::new();
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "Retry-After",
    ] {
        if rng.chance(0.6) {
            h.push((name.to_string(), rng.pick(&values).clone()));
        }
    }
    h
}

fn hostile_script(seed: u64) -> Script {
    let mut rng = Rng::new(seed ^ 0x5eed);
    Box::new(move |method: &str, _path: &str| {
        let roll = rng.below(1000);
        let delay = if rng.chance(0.03) {
            Duration::from_millis(rng.below(31))
        } else {
            Duration::ZERO
        };
        let mut act = if roll < 60 {
            Act {
                status: Some(*rng.pick(&[500u16, 503, 429])),
                headers: hostile_headers(&mut rng),
                ..Act::default()
            }
        } else if roll < 85 {
            Act {
                drop: true,
                ..Act::default()
            }
        } else if roll < 185 && method == "DELETE" {
            Act {
                act_first: true,
                drop: rng.chance(0.5),
                status: Some(500),
                ..Act::default()
            }
        } else if roll < 235 {
            Act {
                headers: hostile_headers(&mut rng),
                ..Act::default()
            }
        } else if delay.is_zero() {
            return None;
        } else {
            Act::default()
        };
        act.delay = delay;
        Some(act)
    })
}

struct Figures {
    cases: usize,
    deletes: usize,
    longest: Duration,
}

fn check_case(seed: u64, figures: &mut Figures) {
    let mut rng = Rng::new(seed);
    let case = random_case(&mut rng, seed);
    let fake = Fake::start(
        case.orgs
            .iter()
            .map(|o| FakeOrg {
                id: o.id.clone(),
                name: o.name.clone(),
                listed: true,
                members: o
                    .members
                    .iter()
                    .map(|u| FakeUser {
                        user_id: u.clone(),
                        email: Some(pool_email(u)),
                        name: Some(format!("Pool {u}")),
                    })
                    .collect(),
            })
            .collect(),
        (0..35)
            .map(|k| {
                let u = pool_user(k);
                FakeUser {
                    email: Some(pool_email(&u)),
                    name: None,
                    user_id: u,
                }
            })
            .collect(),
    );
    fake.set_script(hostile_script(seed));
    let dir = TempDir::new("prop");
    let yaml = case_yaml(&case);
    dir.write("orgsync.yaml", &yaml);
    let audit = dir.path().join("audit.jsonl");
    let r = creds(&fake.url())
        .args([
            "apply",
            "--auto-approve",
            "--audit-log",
            audit.to_str().unwrap(),
            "--timeout",
            "2",
        ])
        .cwd(dir.path())
        .run();
    let ctx = || {
        format!(
            "seed {seed} (rerun: ORGSYNC_PROPERTY_SEED={seed} ORGSYNC_PROPERTY_CASES=1)\nconfig:\n{yaml}\ntenant: {:?}\n{}",
            case.orgs
                .iter()
                .map(|o| (&o.id, &o.name, &o.members))
                .collect::<Vec<_>>(),
            r.show()
        )
    };
    figures.cases += 1;
    figures.longest = figures.longest.max(r.took);
    assert!(!r.stderr.contains("panicked"), "a panic\n{}", ctx());
    let log_text = std::fs::read_to_string(&audit).unwrap_or_default();
    // (4) No secret anywhere.
    for s in [SECRET, TOKEN] {
        assert!(
            !r.all().contains(s) && !log_text.contains(s),
            "{s} leaked\n{}",
            ctx()
        );
    }
    // (3) is the bound of `run_with`.
    let lines: Vec<Value> = log_text
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("torn line {l:?}: {e}\n{}", ctx()))
        })
        .collect();
    // (1) Only planned removals.
    let allowed = allowed_removals(&case);
    let deletes = fake.deletes();
    for d in &deletes {
        let org = d
            .path
            .trim_start_matches("/api/v2/organizations/")
            .trim_end_matches("/members")
            .to_string();
        for u in d.user_ids.clone().unwrap_or_default() {
            assert!(
                allowed.contains(&(org.clone(), u.clone())),
                "DELETE of {u} from {org} is not in the plan derived from the config\n{}",
                ctx()
            );
        }
    }
    // (2) Every DELETE received has an intent and an outcome.
    for d in &deletes {
        figures.deletes += 1;
        let ids = d.user_ids.clone().unwrap_or_default();
        let org = d
            .path
            .trim_start_matches("/api/v2/organizations/")
            .trim_end_matches("/members")
            .to_string();
        let intent = lines
            .iter()
            .find(|l| {
                l["event"] == "intent"
                    && ids_of(l) == ids
                    && l["organization_id"].as_str() == Some(org.as_str())
            })
            .unwrap_or_else(|| panic!("no intent line for DELETE {ids:?}\n{}", ctx()));
        assert!(
            lines.iter().any(|l| l["event"] == "delete"
                && l["call"] == intent["call"]
                && ids_of(l) == ids
                && OUTCOMES.contains(&l["outcome"].as_str().unwrap_or(""))),
            "no outcome line for DELETE {ids:?}\n{}",
            ctx()
        );
    }
    // (5) A read that never succeeded is never reported as success.
    let mut reads: BTreeMap<String, bool> = BTreeMap::new();
    for q in fake.requests().iter().filter(|q| q.method != "DELETE") {
        let ok = reads.entry(q.path.clone()).or_insert(false);
        *ok |= (200..300).contains(&q.status);
    }
    let failed: Vec<&String> = reads
        .iter()
        .filter(|(_, ok)| !**ok)
        .map(|(p, _)| p)
        .collect();
    if !failed.is_empty() {
        assert_ne!(
            r.code,
            Some(0),
            "reads failed ({failed:?}) yet the run exited 0\n{}",
            ctx()
        );
        if let Some(s) = lines.iter().rfind(|l| l["event"] == "summary") {
            assert_eq!(s["success"], false, "{}", ctx());
        }
    }
}

#[test]
fn property_random_hostile_scripts_keep_every_promise() {
    let cases: usize = std::env::var("ORGSYNC_PROPERTY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("ORGSYNC_PROPERTY_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                % 1_000_000_007
        });
    eprintln!("property: {cases} cases from seed {seed}");
    let mut figures = Figures {
        cases: 0,
        deletes: 0,
        longest: Duration::ZERO,
    };
    for i in 0..cases as u64 {
        check_case(seed + i, &mut figures);
    }
    eprintln!(
        "property: {} cases, {} DELETEs checked, longest run {:.2} s",
        figures.cases,
        figures.deletes,
        figures.longest.as_secs_f64()
    );
}
