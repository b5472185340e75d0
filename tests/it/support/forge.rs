//! Fake GitHub and GitLab APIs for `--comment`, on loopback over real HTTP (the `http` server):
//! one pull request (GitHub `acme/org-config` #7) or merge request (GitLab project 42 or
//! `acme/org-config`, !7) whose comments live in memory, listed with real paging (`per_page`,
//! `page`; GitHub's `Link: rel="next"`, naming the repository by id as github.com does;
//! GitLab's `x-next-page` and `x-total`), created, updated and deleted as the real APIs do.
//! Every request is recorded; the token is checked on each; a failure (status and body), or
//! any answer at all ([`Forge::script`]), can be set for any method and path. Each comment has an author: the token's user for those created through the API
//! (GitHub: `github-actions[bot]`, as for Actions' own token, whose `GET /user` is refused, or
//! the user set by [`Forge::personal_token`]; GitLab: [`GITLAB_BOT`]), and [`OTHER`] for
//! those [`Forge::seed`]ed (a reviewer).

use std::sync::{Arc, Mutex};
use std::time::Duration;

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
/// The user the comments of GitHub Actions' own token carry.
pub const ACTIONS_BOT: (u64, &str) = (41_898_282, "github-actions[bot]");
/// The user of the fake GitLab's token (a project access token's bot user).
pub const GITLAB_BOT: (u64, &str) = (1_001, "project_42_bot");
/// A reviewer: the author of seeded comments.
pub const OTHER: (u64, &str) = (2, "octocat");

/// One comment as the fake keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    /// (user id, login or username).
    pub author: (u64, String),
}

/// Answers requests instead of the fake's own handling.
pub type Script = dyn Fn(&Request) -> Answer + Send + Sync;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    GitHub,
    GitLab,
}

/// An answer to give instead of the real thing.
struct Fault {
    method: String,
    path_contains: String,
    answer: Arc<Script>,
}

/// Changes an honest list page before it is sent: (page number, its comments as JSON, its
/// headers) → what to send.
pub type PageHook =
    dyn Fn(usize, Vec<serde_json::Value>, Vec<(String, String)>) -> Answer + Send + Sync;

#[derive(Default)]
struct State {
    /// Oldest first.
    comments: Vec<Comment>,
    next_id: u64,
    requests: Vec<Request>,
    faults: Vec<Fault>,
    /// GitHub: the user `GET /user` names (a personal token); None answers 403, as for
    /// Actions' own token.
    user: Option<(u64, String)>,
    /// GitHub: who created comments are written as, when not the token's user.
    posts_as: Option<(u64, String)>,
    /// Each list page passes through this.
    page_hook: Option<Arc<PageHook>>,
    /// Each list page is sent this late.
    list_delay: Option<Duration>,
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
                if let Some(f) = st
                    .faults
                    .iter()
                    .find(|f| f.method == r.method && r.path.contains(&f.path_contains))
                {
                    let script = f.answer.clone();
                    drop(st);
                    return script(r);
                }
                let delay = st
                    .list_delay
                    .filter(|_| r.method == "GET" && is_list(&r.path));
                let hook = st.page_hook.clone();
                let (answer, page) = answer(kind, &mut st, r);
                drop(st);
                if let Some(d) = delay {
                    std::thread::sleep(d);
                }
                match (page, hook) {
                    (Some((n, items, headers)), Some(hook)) => hook(n, items, headers),
                    _ => answer,
                }
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

    /// Adds a comment as a reviewer ([`OTHER`]) posted it; returns its id.
    pub fn seed(&self, body: &str) -> u64 {
        self.seed_as(OTHER, body)
    }

    /// Adds a comment as the token's user posted it (on an earlier run); returns its id.
    pub fn seed_ours(&self, body: &str) -> u64 {
        let me = self.me();
        self.seed_as((me.0, &me.1), body)
    }

    /// Adds a comment by `author`; returns its id.
    pub fn seed_as(&self, author: (u64, &str), body: &str) -> u64 {
        let mut st = self.state.lock().unwrap();
        st.next_id += 1;
        let id = st.next_id;
        st.comments.push(Comment {
            id,
            body: body.to_string(),
            author: (author.0, author.1.to_string()),
        });
        id
    }

    /// The token's user, as comments created through the API carry it.
    pub fn me(&self) -> (u64, String) {
        let st = self.state.lock().unwrap();
        me(self.kind, &st)
    }

    /// GitHub: the token is a personal one, whose `GET /user` names `user`.
    pub fn personal_token(&self, user: (u64, &str)) {
        self.state.lock().unwrap().user = Some((user.0, user.1.to_string()));
    }

    /// GitHub: created comments are written as `user`, whatever the token's user is (an app's
    /// token in Actions).
    pub fn posts_as(&self, user: (u64, &str)) {
        self.state.lock().unwrap().posts_as = Some((user.0, user.1.to_string()));
    }

    /// Every honest list page passes through `hook` (page number, comments, headers).
    pub fn on_page(&self, hook: Arc<PageHook>) {
        self.state.lock().unwrap().page_hook = Some(hook);
    }

    /// Every list page is answered `delay` late.
    pub fn slow_pages(&self, delay: Duration) {
        self.state.lock().unwrap().list_delay = Some(delay);
    }

    /// The comments (id, body), oldest first.
    pub fn comments(&self) -> Vec<(u64, String)> {
        self.all().into_iter().map(|c| (c.id, c.body)).collect()
    }

    /// The comments with their authors, oldest first.
    pub fn all(&self) -> Vec<Comment> {
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
        let body = body.to_string();
        self.script(
            method,
            path_contains,
            Arc::new(move |_: &Request| json_answer(status, &body)),
        );
    }

    /// Answers `method` requests whose path contains `path_contains` with what `answer` says,
    /// instead of serving them (the first such rule set wins).
    pub fn script(&self, method: &str, path_contains: &str, answer: Arc<Script>) {
        self.state.lock().unwrap().faults.push(Fault {
            method: method.into(),
            path_contains: path_contains.into(),
            answer,
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
                    .env("GITHUB_ACTIONS", "true")
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

/// The token's user.
fn me(kind: Kind, st: &State) -> (u64, String) {
    match kind {
        Kind::GitHub => st
            .user
            .clone()
            .unwrap_or((ACTIONS_BOT.0, ACTIONS_BOT.1.to_string())),
        Kind::GitLab => (GITLAB_BOT.0, GITLAB_BOT.1.to_string()),
    }
}

/// Whether `path` lists the comments.
fn is_list(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or("");
    path.ends_with("/issues/7/comments") || path.ends_with("/merge_requests/7/notes")
}

/// A list page, before a hook changes it: (page number, comments, headers).
type Page = (usize, Vec<serde_json::Value>, Vec<(String, String)>);

fn answer(kind: Kind, st: &mut State, r: &Request) -> (Answer, Option<Page>) {
    let authorized = match kind {
        Kind::GitHub => r.header("authorization") == Some(format!("Bearer {TOKEN}")),
        Kind::GitLab => r.header("private-token").as_deref() == Some(TOKEN),
    };
    if !authorized {
        return (error(kind, 401, "Bad credentials"), None);
    }
    let path = r.path.split('?').next().unwrap_or("").to_string();
    if r.method == "GET" && (path == "/user" || path == "/api/v4/user") {
        let user = match (kind, &st.user) {
            (Kind::GitHub, None) => {
                return (
                    error(kind, 403, "Resource not accessible by integration"),
                    None,
                );
            }
            (Kind::GitHub, Some(u)) => serde_json::json!({"login": u.1, "id": u.0, "type": "User"}),
            (Kind::GitLab, _) => {
                serde_json::json!({"id": GITLAB_BOT.0, "username": GITLAB_BOT.1, "bot": true})
            }
        };
        return (json_answer(200, &user.to_string()), None);
    }
    if r.method == "GET" && is_list(&r.path) {
        return list_page(kind, st, r);
    }
    (serve(kind, st, r, &path), None)
}

/// A comment as the API shows it.
fn comment_json(kind: Kind, c: &Comment) -> serde_json::Value {
    let user = match kind {
        Kind::GitHub => serde_json::json!({"login": c.author.1, "id": c.author.0}),
        Kind::GitLab => serde_json::json!({"username": c.author.1, "id": c.author.0}),
    };
    match kind {
        Kind::GitHub => serde_json::json!({"id": c.id, "body": c.body, "user": user}),
        Kind::GitLab => {
            serde_json::json!({"id": c.id, "body": c.body, "author": user, "system": false})
        }
    }
}

/// One page of the list, with GitHub's `Link` or GitLab's `x-next-page`, `x-total`.
fn list_page(kind: Kind, st: &State, r: &Request) -> (Answer, Option<Page>) {
    let path = r.path.split('?').next().unwrap_or("");
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
        .map(|c| comment_json(kind, c))
        .collect();
    let more = all.len() > page * per_page;
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    let host = r.header("host").unwrap_or_default();
    // As github.com writes them: the repository by its id.
    let by_id = path.replace(&format!("/repos/{REPO}/"), "/repositories/4242/");
    match kind {
        Kind::GitHub if more => headers.push((
            "link".into(),
            format!(
                "<http://{host}{by_id}?per_page={per_page}&page={}>; rel=\"next\", <http://{host}{by_id}?per_page={per_page}&page=1>; rel=\"first\"",
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
            headers.push(("x-total".into(), all.len().to_string()));
        }
    }
    let answer = Answer::Http(
        200,
        headers.clone(),
        serde_json::Value::from(items.clone())
            .to_string()
            .into_bytes(),
    );
    (answer, Some((page, items, headers)))
}

/// Everything but `GET /user` and the list.
fn serve(kind: Kind, st: &mut State, r: &Request, path: &str) -> Answer {
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
        ("POST", true, _, _) => {
            let Some(body) = body_of(r) else {
                return error(kind, 422, "Validation Failed: body is missing");
            };
            st.next_id += 1;
            let id = st.next_id;
            let author = st.posts_as.clone().unwrap_or_else(|| me(kind, st));
            let c = Comment { id, body, author };
            st.comments.push(c.clone());
            json_answer(201, &comment_json(kind, &c).to_string())
        }
        ("PATCH", _, Some(id), _) if kind == Kind::GitHub => update(kind, st, id, body_of(r)),
        ("PUT", _, Some(id), _) if kind == Kind::GitLab => update(kind, st, id, body_of(r)),
        ("DELETE", _, Some(id), _) => {
            let before = st.comments.len();
            st.comments.retain(|c| c.id != id);
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
    match st.comments.iter_mut().find(|c| c.id == id) {
        Some(c) => {
            c.body = body;
            json_answer(200, &comment_json(kind, c).to_string())
        }
        None => error(kind, 404, "Not Found"),
    }
}
