//! One client for both forges: the calls orgsync makes on a pull request's comments (who the
//! token is, list, create, update, delete, which pull request a commit was merged from) and the
//! wording of their failures, over a [`Site`]: what GitHub and GitLab differ in (paths, the
//! update verb, where a comment's author sits, the hints for each status). `github` and
//! `gitlab` only read their environment into a [`Site`].

use reqwest::Method;

use super::error::Error;
use super::http::{self, CallError, Http};
use super::list::{Listing, PER_PAGE};
use super::{Author, Note, env};
use crate::error::Failure;

/// What one forge is, for [`Api`].
pub(super) struct Site {
    /// "GitHub", "GitLab".
    pub forge: &'static str,
    /// "pull request", "merge request".
    pub request: &'static str,
    /// The key of a listed request's number: `number`, `iid`.
    pub number_key: &'static str,
    /// "comment", "note".
    pub noun: &'static str,
    /// "pull request #7 of `acme/access`".
    pub place: String,
    /// The longest comment the forge takes, in characters.
    pub limit: usize,
    /// The variable that names the API's address, for hints.
    pub url_var: &'static str,
    /// The variable holding the commit an apply runs on.
    pub sha_var: &'static str,
    /// The path of the request's comments (list and create).
    pub comments: String,
    /// The list's query after `per_page`.
    pub list_query: &'static str,
    /// GitHub: the list's path after the repository, for next links by repository id.
    pub by_repository_id: Option<String>,
    /// The path one comment's id is appended to (update and delete).
    pub comment: String,
    /// The path listing the requests of a commit: before and after its hash.
    pub commit_requests: (String, &'static str),
    /// PATCH (GitHub) or PUT (GitLab).
    pub update: Method,
    /// A listed or created comment as a [`Note`].
    pub parse: fn(&serde_json::Value) -> Option<Note>,
    /// Whether a listed request was merged.
    pub merged: fn(&serde_json::Value) -> bool,
    /// The key of the user's name in `GET /user` and in a comment's author: `login`,
    /// `username`.
    pub login_key: &'static str,
    /// Whether `GET /user` must give the user's numeric id (GitLab), or only a login (GitHub).
    pub user_id_required: bool,
    /// GitHub Actions' own token cannot read `GET /user`: the login its comments carry, and
    /// the hint when another token cannot read it either.
    pub actions: Option<(&'static str, &'static str)>,
    /// Hints for 401, 403, 404.
    pub hint_401: &'static str,
    pub hint_403: &'static str,
    pub hint_404: String,
    /// Why there is no request to comment on, and what to do: when none is given (plan), and
    /// when apply has no commit to look one up by.
    pub no_request: (&'static str, &'static str),
    pub no_commit: &'static str,
    /// A 403 for a used-up API rate limit, where the forge says so (GitHub).
    pub hint_rate_limited: Option<&'static str>,
    /// The statuses a forge answers for a comment it refuses as invalid.
    pub invalid: &'static [u16],
}

/// A pull request (merge request) whose comments orgsync keeps.
pub(super) struct Api {
    pub http: Http,
    pub site: Site,
}

impl Api {
    pub(super) fn place(&self) -> String {
        self.site.place.clone()
    }

    pub(super) fn limit(&self) -> usize {
        self.site.limit
    }

    /// The token's user, the author of orgsync's comments: `GET /user`. Where the site knows
    /// an Actions login, a 403 or 404 with GITHUB_ACTIONS `true` is the workflow's own token,
    /// whose comments carry that login (each comment orgsync creates confirms it).
    pub(super) async fn me(&self) -> Result<Author, Failure> {
        let s = &self.site;
        let url = self.http.url("/user");
        let refused = |e: &CallError| matches!(e.status.map(|s| s.as_u16()), Some(403 | 404));
        match self.http.call(Method::GET, &url, None).await {
            Ok(answer) => serde_json::from_str::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|v| Author::from_json(Some(&v), s.login_key))
                .filter(|a| match s.user_id_required {
                    true => a.id.is_some(),
                    false => !a.login.is_empty(),
                })
                .ok_or_else(|| {
                    let fields = match s.user_id_required {
                        true => format!("`id`, `{}`", s.login_key),
                        false => format!("`{}`", s.login_key),
                    };
                    Failure::hinted(Error::NoUser {
                        forge: s.forge,
                        fields,
                        noun: s.noun,
                    })
                }),
            Err(e) if refused(&e) && s.actions.is_some() => {
                let (login, hint) = s.actions.unwrap_or_default();
                if env("GITHUB_ACTIONS").is_some_and(|v| v.trim() == "true") {
                    return Ok(Author {
                        id: None,
                        login: login.to_string(),
                    });
                }
                Err(Failure::hinted(Error::Call {
                    place: s.place.clone(),
                    doing: format!(
                        "finding the token's user, to tell orgsync's own {}s from others'",
                        s.noun
                    ),
                    forge: s.forge,
                    call: e,
                    hint: hint.to_string(),
                }))
            }
            Err(e) => Err(self.failure("finding the token's user", e)),
        }
    }

    /// Every comment of the request, once each (see [`super::list`] for the paging and caps).
    pub(super) async fn list(&self) -> Result<Vec<Note>, Failure> {
        let s = &self.site;
        let doing = format!("listing the {}'s {}s", s.request, s.noun);
        let what = match s.noun {
            "note" => "notes",
            _ => "comments",
        };
        Listing {
            http: &self.http,
            forge: s.forge,
            what,
            first: format!("{}?per_page={PER_PAGE}{}", s.comments, s.list_query),
            by_repository_id: s.by_repository_id.clone(),
            parse: s.parse,
        }
        .read(|e| self.failure(&doing, e))
        .await
    }

    pub(super) async fn create(&self, body: &str) -> Result<Note, Failure> {
        let url = self.http.url(&self.site.comments);
        let doing = format!("posting a {}", self.site.noun);
        let answer = self
            .http
            .call(Method::POST, &url, Some(body))
            .await
            .map_err(|e| self.failure(&doing, e))?;
        created(&answer.body, self.site.parse)
    }

    pub(super) async fn update(&self, id: u64, body: &str) -> Result<(), Failure> {
        let url = self.http.url(&format!("{}/{id}", self.site.comment));
        let doing = format!("updating a {}", self.site.noun);
        self.http
            .call(self.site.update.clone(), &url, Some(body))
            .await
            .map_err(|e| self.failure(&doing, e))?;
        Ok(())
    }

    pub(super) async fn delete(&self, id: u64) -> Result<(), Failure> {
        let url = self.http.url(&format!("{}/{id}", self.site.comment));
        self.http
            .call(Method::DELETE, &url, None)
            .await
            .map_err(|e| self.failure("deleting an old part of the plan", e))?;
        Ok(())
    }

    /// The number of the request to comment on: `given`, else (when `merged`, for apply) the
    /// request the commit was merged from, else the failure the site's `no_request` says.
    pub(super) async fn number(&self, given: Option<u64>, merged: bool) -> Result<u64, Failure> {
        let (why, hint) = self.site.no_request;
        match given {
            Some(n) => Ok(n),
            None if merged => self.merged_from().await,
            None => Err(Failure::hinted(Error::NoRequest {
                request: self.site.request,
                why,
                hint: hint.to_string(),
            })),
        }
    }

    /// The request the commit in the site's `sha_var` was merged from (a run on the default
    /// branch after a merge): `GET` its `commit_requests` lists requests; the first `merged`
    /// one, else the first; its `number_key`.
    async fn merged_from(&self) -> Result<u64, Failure> {
        let s = &self.site;
        let (sha_var, number_key) = (s.sha_var, s.number_key);
        let number = match number_key {
            "iid" => "IID",
            _ => "number",
        };
        let pass = format!("pass the {}'s {number} with `--pr N`", s.request);
        let sha = env(sha_var).filter(|v| v.chars().all(|c| c.is_ascii_hexdigit()));
        let Some(sha) = sha else {
            return Err(Failure::hinted(Error::NoRequest {
                request: s.request,
                why: s.no_commit,
                hint: pass,
            }));
        };
        let (before, after) = &s.commit_requests;
        let url = self.http.url(&format!("{before}{sha}{after}"));
        let answer = self
            .http
            .call(Method::GET, &url, None)
            .await
            .map_err(|e| self.failure(&format!("finding the {} of {sha_var}", s.request), e))?;
        let list: Vec<serde_json::Value> = serde_json::from_str(&answer.body).map_err(|e| {
            Failure::hinted(Error::Shape {
                what: format!("{}'s answer listing the commit's {}s", s.forge, s.request),
                shape: http::shape_error(&e, &format!("a list of {}s", s.request)),
            })
        })?;
        list.iter()
            .find(|r| (s.merged)(r))
            .or(list.first())
            .and_then(|r| r.get(number_key))
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| {
                Failure::hinted(Error::NoRequestForCommit {
                    request: s.request,
                    sha: sha.clone(),
                    hint: pass.clone(),
                })
            })
    }

    /// A failed call as the error to print, with the hint its status calls for.
    pub(super) fn failure(&self, doing: &str, e: CallError) -> Failure {
        let s = &self.site;
        let hint = match e.status.map(|s| s.as_u16()) {
            _ if e.stopped.is_some() => e.stopped_hint(s.url_var).unwrap_or_default(),
            Some(401) => s.hint_401.to_string(),
            Some(403) if e.rate_limited && s.hint_rate_limited.is_some() => {
                s.hint_rate_limited.unwrap_or_default().to_string()
            }
            Some(403) => s.hint_403.to_string(),
            Some(404) => s.hint_404.clone(),
            Some(status) if s.invalid.contains(&status) => format!(
                "{} refused the {noun} as invalid; a {noun} holds at most {} characters",
                s.forge,
                s.limit,
                noun = s.noun
            ),
            Some(status) if status >= 500 => format!("{} had a problem; run again", s.forge),
            Some(_) => format!("see {}'s answer above", s.forge),
            None => format!("check {} and the network", s.url_var),
        };
        Failure::hinted(Error::Call {
            place: s.place.clone(),
            doing: doing.to_string(),
            forge: s.forge,
            call: e,
            hint,
        })
    }
}

/// The comment just created, as the API's answer describes it (`parse`, with at least its id).
fn created(body: &str, parse: fn(&serde_json::Value) -> Option<Note>) -> Result<Note, Failure> {
    let v = serde_json::from_str::<serde_json::Value>(body).ok();
    let id = v
        .as_ref()
        .and_then(|v| v.get("id").and_then(serde_json::Value::as_u64));
    let Some(id) = id else {
        return Err(Failure::hinted(Error::NoId));
    };
    Ok(v.as_ref().and_then(parse).unwrap_or(Note {
        id,
        body: String::new(),
        author: None,
    }))
}
