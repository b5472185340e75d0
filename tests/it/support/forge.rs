//! Fake GitHub and GitLab APIs for `--comment`, on loopback over real HTTP (the `http` server):
//! one pull request (GitHub `acme/org-config` #7) or merge request (GitLab project 42 or
//! `acme/org-config`, !7) whose comments live in memory, listed with real paging (`per_page`,
//! `page`; GitHub's `Link: rel="next"`, GitLab's `x-next-page`), created, updated and deleted
//! as the real APIs do. Every request is recorded; the token is checked on each; a failure
//! (status and body) can be set for any method and path.

use std::sync::{Arc, Mutex};

use super::OrgSync;
use super::http::{self, Answer, Request, json_answer};

/// The token the fakes accept.
pub const TOKEN: &str = "ghs_FakeToken0123456789secretDoNotPrint";
/// The pull request (GitHub) or merge request IID (GitLab) the fakes have.
pub const PR: u64 = 7;
/// The repository the fake GitHub has.
pub const REPO: &str = "acme/org-config";
/// The commit the fakes say pull request 7 was merged as.
pub const MERGE_SHA: &str = "0123456789abcdef0123456789abcdef01234567";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    GitHub,
    GitLab,
}

/// A failure to answer instead of the real thing.
struct Fault {
    method: String,
    path_contains: String,
    status: u16,
    body: String,
}

#[derive(Default)]
struct State {
    /// (id, body), oldest first.
    comments: Vec<(u64, String)>,
    next_id: u64,
    requests: Vec<Request>,
    faults: Vec<Fault>,
}

/// A running fake.
pub struct Forge {
    pub kind: Kind,
    /// Its origin, `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Forge {
    pub fn github() -> Forge {
        Forge::start(Kind::GitHub)
    }

    pub fn gitlab() -> Forge {
        Forge::start(Kind::GitLab)
    }

    fn start(kind: Kind) -> Forge {
        let state = Arc::new(Mutex::new(State {
            next_id: 1000,
            ..State::default()
        }));
        let s = state.clone();
        let url = http::serve(
            "127.0.0.1",
            Arc::new(move |r: &Request| {
                let mut st = s.lock().unwrap();
                st.requests.push(r.clone());
                answer(kind, &mut st, r)
            }),
        );
        Forge { kind, url, state }
    }

    /// The API's base URL, as GITHUB_API_URL or CI_API_V4_URL gives it.
    pub fn api_url(&self) -> String {
        match self.kind {
            Kind::GitHub => self.url.clone(),
            Kind::GitLab => format!("{}/api/v4", self.url),
        }
    }

    /// Adds a comment as someone else posted it; returns its id.
    pub fn seed(&self, body: &str) -> u64 {
        let mut st = self.state.lock().unwrap();
        st.next_id += 1;
        let id = st.next_id;
        st.comments.push((id, body.to_string()));
        id
    }

    /// The comments, oldest first.
    pub fn comments(&self) -> Vec<(u64, String)> {
        self.state.lock().unwrap().comments.clone()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests with this method.
    pub fn requests_of(&self, method: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method)
            .collect()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// Answers `method` requests whose path contains `path_contains` with `status` and the
    /// JSON `body`, instead of serving them.
    pub fn fail(&self, method: &str, path_contains: &str, status: u16, body: &str) {
        self.state.lock().unwrap().faults.push(Fault {
            method: method.into(),
            path_contains: path_contains.into(),
            status,
            body: body.into(),
        });
    }

    /// `run` with the environment CI sets for this forge (the token, the API, the repository
    /// or project; GitHub's pull request through an event file in `dir`); GITHUB_STEP_SUMMARY
    /// empty (unset) unless the test sets it after.
    pub fn env(&self, run: OrgSync, dir: &super::TempDir) -> OrgSync {
        match self.kind {
            Kind::GitHub => {
                let event = dir.write(
                    "event.json",
                    &format!(r#"{{"action":"synchronize","number":{PR},"pull_request":{{"number":{PR}}}}}"#),
                );
                run.env("GITHUB_TOKEN", TOKEN)
                    .env("GITHUB_REPOSITORY", REPO)
                    .env("GITHUB_API_URL", self.api_url())
                    .env("GITHUB_EVENT_PATH", event.to_string_lossy())
                    .env("GITHUB_STEP_SUMMARY", "")
                    .env("GITHUB_SHA", "")
            }
            Kind::GitLab => run
                .env("GITLAB_TOKEN", TOKEN)
                .env("CI_API_V4_URL", self.api_url())
                .env("CI_PROJECT_ID", "42")
                .env("CI_MERGE_REQUEST_IID", PR.to_string())
                .env("CI_COMMIT_SHA", ""),
        }
    }
}

fn error(kind: Kind, status: u16, message: &str) -> Answer {
    let body = match kind {
        Kind::GitHub => serde_json::json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.to_string(),
        }),
        Kind::GitLab => serde_json::json!({ "message": format!("{status} {message}") }),
    };
    json_answer(status, &body.to_string())
}

/// The query parameter `name` of `path`.
fn query(path: &str, name: &str) -> Option<String> {
    let (_, q) = path.split_once('?')?;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

fn answer(kind: Kind, st: &mut State, r: &Request) -> Answer {
    if let Some(f) = st
        .faults
        .iter()
        .find(|f| f.method == r.method && r.path.contains(&f.path_contains))
    {
        return json_answer(f.status, &f.body);
    }
    let authorized = match kind {
        Kind::GitHub => r.header("authorization") == Some(format!("Bearer {TOKEN}")),
        Kind::GitLab => r.header("private-token").as_deref() == Some(TOKEN),
    };
    if !authorized {
        return error(kind, 401, "Bad credentials");
    }
    let path = r.path.split('?').next().unwrap_or("").to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let body_of = |r: &Request| -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
        Some(v.get("body")?.as_str()?.to_string())
    };
    // Where comments of the one pull request live, and where one comment lives.
    let (list, one, pulls): (bool, Option<u64>, bool) = match (kind, segments.as_slice()) {
        (Kind::GitHub, ["repos", o, n, "issues", pr, "comments"])
            if format!("{o}/{n}") == REPO && *pr == PR.to_string() =>
        {
            (true, None, false)
        }
        (Kind::GitHub, ["repos", o, n, "issues", "comments", id]) if format!("{o}/{n}") == REPO => {
            (false, id.parse().ok(), false)
        }
        (Kind::GitHub, ["repos", o, n, "commits", sha, "pulls"])
            if format!("{o}/{n}") == REPO && *sha == MERGE_SHA =>
        {
            (false, None, true)
        }
        (Kind::GitLab, ["api", "v4", "projects", p, "merge_requests", iid, "notes"])
            if (*p == "42" || *p == "acme%2Forg-config") && *iid == PR.to_string() =>
        {
            (true, None, false)
        }
        (
            Kind::GitLab,
            [
                "api",
                "v4",
                "projects",
                p,
                "merge_requests",
                iid,
                "notes",
                id,
            ],
        ) if (*p == "42" || *p == "acme%2Forg-config") && *iid == PR.to_string() => {
            (false, id.parse().ok(), false)
        }
        (
            Kind::GitLab,
            [
                "api",
                "v4",
                "projects",
                p,
                "repository",
                "commits",
                sha,
                "merge_requests",
            ],
        ) if (*p == "42" || *p == "acme%2Forg-config") && *sha == MERGE_SHA => (false, None, true),
        _ => return error(kind, 404, "Not Found"),
    };
    let comment_json = |id: u64, body: &str| serde_json::json!({"id": id, "body": body, "user": {"login": "github-actions[bot]"}, "system": false});
    match (r.method.as_str(), list, one, pulls) {
        ("GET", _, _, true) => {
            let v = match kind {
                Kind::GitHub => {
                    serde_json::json!([{"number": PR, "merged_at": "2026-01-01T00:00:00Z"}])
                }
                Kind::GitLab => serde_json::json!([{"iid": PR, "state": "merged"}]),
            };
            json_answer(200, &v.to_string())
        }
        ("GET", true, _, _) => {
            let per_page: usize = query(&r.path, "per_page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(30)
                .clamp(1, 100);
            let page: usize = query(&r.path, "page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1)
                .max(1);
            let all = &st.comments;
            let items: Vec<serde_json::Value> = all
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|(id, b)| comment_json(*id, b))
                .collect();
            let more = all.len() > page * per_page;
            let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
            let host = r.header("host").unwrap_or_default();
            match kind {
                Kind::GitHub if more => headers.push((
                    "link".into(),
                    format!(
                        "<http://{host}{path}?per_page={per_page}&page={}>; rel=\"next\", <http://{host}{path}?per_page={per_page}&page=1>; rel=\"first\"",
                        page + 1
                    ),
                )),
                Kind::GitHub => {}
                Kind::GitLab => {
                    headers.push((
                        "x-next-page".into(),
                        if more { (page + 1).to_string() } else { String::new() },
                    ));
                    headers.push(("x-page".into(), page.to_string()));
                }
            }
            Answer::Http(
                200,
                headers,
                serde_json::Value::from(items).to_string().into_bytes(),
            )
        }
        ("POST", true, _, _) => {
            let Some(body) = body_of(r) else {
                return error(kind, 422, "Validation Failed: body is missing");
            };
            st.next_id += 1;
            let id = st.next_id;
            st.comments.push((id, body.clone()));
            json_answer(201, &comment_json(id, &body).to_string())
        }
        ("PATCH", _, Some(id), _) if kind == Kind::GitHub => update(kind, st, id, body_of(r)),
        ("PUT", _, Some(id), _) if kind == Kind::GitLab => update(kind, st, id, body_of(r)),
        ("DELETE", _, Some(id), _) => {
            let before = st.comments.len();
            st.comments.retain(|(i, _)| *i != id);
            if st.comments.len() == before {
                return error(kind, 404, "Not Found");
            }
            Answer::Http(204, Vec::new(), Vec::new())
        }
        _ => error(kind, 404, "Not Found"),
    }
}

fn update(kind: Kind, st: &mut State, id: u64, body: Option<String>) -> Answer {
    let Some(body) = body else {
        return error(kind, 422, "Validation Failed: body is missing");
    };
    match st.comments.iter_mut().find(|(i, _)| *i == id) {
        Some(c) => {
            c.1 = body.clone();
            json_answer(
                200,
                &serde_json::json!({"id": id, "body": body}).to_string(),
            )
        }
        None => error(kind, 404, "Not Found"),
    }
}
