//! The one fake Auth0 for hostile answers: a stateful fake Management API that can be scripted
//! per route to answer any status, any header value (`NaN`, `inf`, `1e30`, a reset in 2100), any
//! body, late, never, or after carrying a DELETE out ([`Fake::start`]); or, for answers no
//! Management API would give (malformed JSON, a 10 MB page, redirects elsewhere), a fake whose
//! every answer is a function's ([`Fake::responder`]). Both record every request they see.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::http::{Answer, Request, serve};

pub const CLIENT_ID: &str = "hostile-client";
pub const SECRET: &str = "s3cr3t-client-secret-XYZ";
pub const TOKEN: &str = "tok-SECRET-123";

#[derive(Debug, Clone)]
pub struct FakeUser {
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

pub fn fu(user_id: &str) -> FakeUser {
    let local = user_id.split('|').next_back().unwrap_or(user_id);
    FakeUser {
        user_id: user_id.into(),
        email: Some(format!("{local}@example.com")),
        name: Some(format!("User {local}")),
    }
}

#[derive(Debug, Clone)]
pub struct FakeOrg {
    pub id: String,
    pub name: String,
    /// Whether `GET /organizations` lists it (it is found by name either way).
    pub listed: bool,
    pub members: Vec<FakeUser>,
}

pub fn forg(id: &str, name: &str, members: &[&str]) -> FakeOrg {
    FakeOrg {
        id: id.into(),
        name: name.into(),
        listed: true,
        members: members.iter().map(|m| fu(m)).collect(),
    }
}

/// What the fake does with a request instead of (or besides) answering it normally.
#[derive(Debug, Clone, Default)]
pub struct Act {
    /// Answer this status instead.
    pub status: Option<u16>,
    /// Extra headers, or overriding ones, with any value.
    pub headers: Vec<(String, String)>,
    /// Answer this body instead.
    pub body: Option<String>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Drop the connection without an answer.
    pub drop: bool,
    /// Carry the request out first (then answer `status` or drop): "act, then fail".
    pub act_first: bool,
    /// Answer a body that echoes the request body (an OAuth error).
    pub echo_request: bool,
}

impl Act {
    pub fn status(s: u16) -> Act {
        Act {
            status: Some(s),
            ..Act::default()
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Act {
        self.headers.push((k.into(), v.into()));
        self
    }
}

pub struct Rule {
    pub method: String,
    pub path: String,
    pub exact: bool,
    /// Only the nth matching request (from 1); every one when `None`.
    pub nth: Option<usize>,
    pub seen: usize,
    pub act: Act,
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Rec {
    pub method: String,
    /// Path with query, as sent.
    pub path: String,
    /// The user_ids of a DELETE body.
    pub user_ids: Option<Vec<String>>,
    pub authorization: Option<String>,
    /// Whether the fake carried the request out (for a DELETE: removed the members).
    pub acted: bool,
    /// Status answered; 0 when the connection was dropped.
    pub status: u16,
    /// The request line and headers, as sent.
    pub head: String,
}

pub type Script = Box<dyn FnMut(&str, &str) -> Option<Act> + Send>;

/// What a [`Fake::responder`] answers for a request path and its number: the connection's
/// number for a connection's first request, plus 1000 for each earlier request on it.
pub type Responder = dyn Fn(&str, usize) -> Answer + Send + Sync;

pub struct FakeState {
    pub orgs: Vec<FakeOrg>,
    pub users: Vec<FakeUser>,
}

pub struct Fake {
    pub url: String,
    pub state: Arc<Mutex<FakeState>>,
    pub rules: Arc<Mutex<Vec<Rule>>>,
    pub script: Arc<Mutex<Option<Script>>>,
    pub log: Arc<Mutex<Vec<Rec>>>,
}

pub struct Shared {
    pub state: Arc<Mutex<FakeState>>,
    pub rules: Arc<Mutex<Vec<Rule>>>,
    pub script: Arc<Mutex<Option<Script>>>,
    pub log: Arc<Mutex<Vec<Rec>>>,
}

impl Fake {
    pub fn start(orgs: Vec<FakeOrg>, users: Vec<FakeUser>) -> Fake {
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

    /// A fake on `ip` (loopback) with no tenant behind it: every answer is
    /// `respond(path, nth)`, unscripted; requests are recorded as by [`start`](Fake::start).
    pub fn responder(ip: &str, respond: Arc<Responder>) -> Fake {
        let log: Arc<Mutex<Vec<Rec>>> = Arc::new(Mutex::new(Vec::new()));
        let seen = log.clone();
        let url = serve(
            ip,
            Arc::new(move |r: &Request| {
                // Recorded before it is answered: a responder may take its time.
                let i = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(Rec {
                        method: r.method.clone(),
                        path: r.path.clone(),
                        user_ids: None,
                        authorization: r.header("authorization"),
                        acted: false,
                        status: 0,
                        head: r.head.clone(),
                    });
                    seen.len() - 1
                };
                let answer = respond(&r.path, r.conn + 1000 * r.seq);
                if let Answer::Http(status, _, _) = &answer {
                    seen.lock().unwrap()[i].status = *status;
                }
                answer
            }),
        );
        Fake {
            url,
            state: Arc::new(Mutex::new(FakeState {
                orgs: Vec::new(),
                users: Vec::new(),
            })),
            rules: Arc::new(Mutex::new(Vec::new())),
            script: Arc::new(Mutex::new(None)),
            log,
        }
    }

    /// [`responder`](Fake::responder) on 127.0.0.1.
    pub fn answering(respond: impl Fn(&str, usize) -> Answer + Send + Sync + 'static) -> Fake {
        Fake::responder("127.0.0.1", Arc::new(respond))
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The request line and headers of every request seen, in order.
    pub fn heads(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.head).collect()
    }

    /// Scripts requests of `method` (`*` for any) whose path (query included) starts with
    /// `path` (or equals it without the query, when `exact`).
    pub fn rule(&self, method: &str, path: &str, exact: bool, nth: Option<usize>, act: Act) {
        self.rules.lock().unwrap().push(Rule {
            method: method.into(),
            path: path.into(),
            exact,
            nth,
            seen: 0,
            act,
        });
    }

    pub fn set_script(&self, s: Script) {
        *self.script.lock().unwrap() = Some(s);
    }

    pub fn requests(&self) -> Vec<Rec> {
        self.log.lock().unwrap().clone()
    }

    pub fn deletes(&self) -> Vec<Rec> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "DELETE")
            .collect()
    }

    pub fn members(&self, org_id: &str) -> Vec<String> {
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

pub fn pct_decode(s: &str) -> String {
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

pub fn query_params(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect()
}

pub fn user_json(u: &FakeUser) -> Value {
    json!({"user_id": u.user_id, "email": u.email, "name": u.name})
}

pub fn not_found(message: &str) -> (u16, String) {
    (
        404,
        json!({"statusCode": 404, "error": "Not Found", "message": message}).to_string(),
    )
}

/// The normal answer of the fake for a request, carrying it out.
pub fn handle(
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
        ("GET", ["api", "v2", "users", id]) => {
            let id = pct_decode(id);
            let found = st
                .users
                .iter()
                .chain(st.orgs.iter().flat_map(|o| o.members.iter()))
                .find(|u| u.user_id == id);
            match found {
                Some(u) => {
                    let mut v = user_json(u);
                    v["identities"] = json!([{"connection": "Username-Password-Authentication"}]);
                    (200, v.to_string())
                }
                None => not_found("The user does not exist."),
            }
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
pub fn scripted(shared: &Shared, method: &str, path_q: &str) -> Option<Act> {
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

pub fn reason(status: u16) -> &'static str {
    match status {
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "X",
    }
}

/// The fake's answer to a request: scripted, carried out, or both; recorded.
pub fn answer(shared: &Shared, req: &Request) -> Answer {
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
        head: req.head.clone(),
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

pub fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
