//! GitLab: a merge request's notes through the REST API (v4), configured as GitLab CI sets the
//! environment, with the token in GITLAB_TOKEN.

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName};

use super::http::{self, CallError, Deadline, Http};
use super::list::{Listing, PER_PAGE};
use super::{Author, Note, env};
use crate::error::Failure;
use crate::text::clean;

/// GitLab refuses notes longer than this many characters.
pub(super) const LIMIT: usize = 1_000_000;

pub(super) struct GitLab {
    http: Http,
    /// The project id as it goes in a path: a number, or the percent-encoded path.
    project: String,
    /// The project id as given, for messages.
    project_name: String,
    pub(super) iid: u64,
}

impl GitLab {
    /// From GITLAB_TOKEN, CI_API_V4_URL, CI_PROJECT_ID and the merge request: `iid`, else
    /// CI_MERGE_REQUEST_IID, else (when `merged`, for apply) the merge request that
    /// CI_COMMIT_SHA was merged from.
    pub(super) async fn from_env(
        iid: Option<u64>,
        merged: bool,
        deadline: Deadline,
    ) -> Result<GitLab, Failure> {
        let token = env("GITLAB_TOKEN").ok_or_else(|| {
            Failure::new(
                "`--comment gitlab` needs GITLAB_TOKEN",
                Some("set it from a masked CI/CD variable holding a project access token with the `api` scope"),
            )
        })?;
        let api = env("CI_API_V4_URL").ok_or_else(|| {
            Failure::new(
                "`--comment gitlab` needs CI_API_V4_URL",
                Some("GitLab CI sets it; elsewhere, set it to the instance's API, as `https://gitlab.com/api/v4`"),
            )
        })?;
        let project = env("CI_PROJECT_ID").ok_or_else(|| {
            Failure::new(
                "`--comment gitlab` needs CI_PROJECT_ID (the project's number or path)",
                Some("GitLab CI sets it"),
            )
        })?;
        let base = http::base_url("CI_API_V4_URL", &api).map_err(|e| Failure::new(e, None))?;
        let http = Http::new(
            base,
            HeaderMap::new(),
            (HeaderName::from_static("private-token"), token.clone()),
            &token,
            "GITLAB_TOKEN",
            deadline,
        )
        .map_err(|e| Failure::new(e, None))?;
        let mut gl = GitLab {
            http,
            project: encode_project(&project),
            project_name: clean(project.trim()),
            iid: 0,
        };
        let from_ci =
            match env("CI_MERGE_REQUEST_IID") {
                Some(v) => Some(v.trim().parse::<u64>().ok().filter(|&n| n > 0).ok_or_else(
                    || {
                        Failure::new(
                            format!("CI_MERGE_REQUEST_IID `{}` is not a number", clean(&v)),
                            None,
                        )
                    },
                )?),
                None => None,
            };
        gl.iid = match iid.or(from_ci) {
            Some(n) => n,
            None if merged => gl.merged_mr().await?,
            None => {
                return Err(Failure::new(
                    "no merge request to comment on: CI_MERGE_REQUEST_IID is not set",
                    Some(
                        "run in a merge request pipeline (`rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"`), or pass the IID with `--pr N`",
                    ),
                ));
            }
        };
        Ok(gl)
    }

    pub(super) fn place(&self) -> String {
        format!(
            "merge request !{} of project `{}`",
            self.iid, self.project_name
        )
    }

    fn notes_path(&self) -> String {
        format!(
            "/projects/{}/merge_requests/{}/notes",
            self.project, self.iid
        )
    }

    /// The merge request CI_COMMIT_SHA came from (a pipeline on the default branch after a merge).
    async fn merged_mr(&self) -> Result<u64, Failure> {
        let sha = env("CI_COMMIT_SHA").filter(|s| s.chars().all(|c| c.is_ascii_hexdigit()));
        let Some(sha) = sha else {
            return Err(Failure::new(
                "no merge request to comment on: neither CI_MERGE_REQUEST_IID nor CI_COMMIT_SHA is set",
                Some("pass the merge request's IID with `--pr N`"),
            ));
        };
        let url = self.http.url(&format!(
            "/projects/{}/repository/commits/{sha}/merge_requests",
            self.project
        ));
        let answer = self
            .http
            .call(Method::GET, &url, None)
            .await
            .map_err(|e| self.failure("finding the merge request of CI_COMMIT_SHA", e))?;
        let mrs: Vec<serde_json::Value> = serde_json::from_str(&answer.body).map_err(|e| {
            Failure::new(
                format!(
                    "GitLab's answer listing the commit's merge requests is {}",
                    http::shape_error(&e, "a list of merge requests")
                ),
                None,
            )
        })?;
        let merged = mrs
            .iter()
            .find(|m| m.get("state").and_then(|s| s.as_str()) == Some("merged"))
            .or(mrs.first());
        merged
            .and_then(|m| m.get("iid"))
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| {
                Failure::new(
                    format!("no merge request found for commit {sha}"),
                    Some("pass the merge request's IID with `--pr N`"),
                )
            })
    }

    /// The token's user (`GET /user`: `id` and `username`), the author of orgsync's notes.
    pub(super) async fn me(&self) -> Result<Author, Failure> {
        let url = self.http.url("/user");
        let answer = self
            .http
            .call(Method::GET, &url, None)
            .await
            .map_err(|e| self.failure("finding the token's user", e))?;
        serde_json::from_str::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| Author::from_json(Some(&v), "username"))
            .filter(|a| a.id.is_some())
            .ok_or_else(|| {
                Failure::new(
                    "GitLab's answer to `GET /user` names no user (`id`, `username`): orgsync cannot tell its own notes from others'; nothing was posted",
                    None,
                )
            })
    }

    /// Every note of the merge request but GitLab's own (system notes), once each, oldest
    /// first, paging by `x-next-page` (or `Link`); see [`super::list`] for the caps.
    pub(super) async fn list(&self) -> Result<Vec<Note>, Failure> {
        Listing {
            http: &self.http,
            forge: "GitLab",
            what: "notes",
            first: format!(
                "{}?per_page={PER_PAGE}&sort=asc&order_by=created_at",
                self.notes_path()
            ),
            by_repository_id: None,
            parse: note_from_json,
        }
        .read(|e| self.failure("listing the merge request's notes", e))
        .await
    }

    pub(super) async fn create(&self, body: &str) -> Result<Note, Failure> {
        let url = self.http.url(&self.notes_path());
        let answer = self
            .http
            .call(Method::POST, &url, Some(body))
            .await
            .map_err(|e| self.failure("posting a note", e))?;
        super::github::created(&answer.body, note_from_json)
    }

    pub(super) async fn update(&self, id: u64, body: &str) -> Result<(), Failure> {
        let url = self.http.url(&format!("{}/{id}", self.notes_path()));
        self.http
            .call(Method::PUT, &url, Some(body))
            .await
            .map_err(|e| self.failure("updating a note", e))?;
        Ok(())
    }

    pub(super) async fn delete(&self, id: u64) -> Result<(), Failure> {
        let url = self.http.url(&format!("{}/{id}", self.notes_path()));
        self.http
            .call(Method::DELETE, &url, None)
            .await
            .map_err(|e| self.failure("deleting an old part of the plan", e))?;
        Ok(())
    }

    fn failure(&self, doing: &str, e: CallError) -> Failure {
        let hint = match e.status.map(|s| s.as_u16()) {
            _ if e.stopped.is_some() => e.stopped_hint("CI_API_V4_URL").unwrap_or_default(),
            Some(401) => "GitLab refused GITLAB_TOKEN: use a project or personal access token that has not expired, with the `api` scope".to_string(),
            Some(403) => "the token may not write notes on this merge request: give it the `api` scope and at least the Reporter role in the project".to_string(),
            Some(404) => format!(
                "the project `{}` or merge request !{} was not found, or the token cannot see it: check CI_PROJECT_ID, the IID (`--pr`) and CI_API_V4_URL",
                self.project_name, self.iid
            ),
            Some(400 | 422) => format!(
                "GitLab refused the note as invalid; a note holds at most {LIMIT} characters"
            ),
            Some(s) if s >= 500 => "GitLab had a problem; run again".to_string(),
            Some(_) => "see GitLab's answer above".to_string(),
            None => "check CI_API_V4_URL and the network".to_string(),
        };
        Failure::new(
            format!(
                "could not comment on {}: {doing}: GitLab: {e}",
                self.place()
            ),
            Some(&hint),
        )
    }
}

/// A note of GitLab's list: `id`, `body`, `author.id` and `author.username`; None for a system
/// note (GitLab's own).
fn note_from_json(v: &serde_json::Value) -> Option<Note> {
    if v.get("system").and_then(serde_json::Value::as_bool) == Some(true) {
        return None;
    }
    Some(Note {
        id: v.get("id")?.as_u64()?,
        body: v.get("body")?.as_str()?.to_string(),
        author: Author::from_json(v.get("author"), "username"),
    })
}

/// A project id for a path: a number as it is, a path (`group/project`) percent-encoded.
fn encode_project(id: &str) -> String {
    crate::auth0::encode(id.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids_are_numbers_or_encoded_paths() {
        assert_eq!(encode_project("42"), "42");
        assert_eq!(encode_project("group/sub/proj"), "group%2Fsub%2Fproj");
        assert_eq!(encode_project("a/../b"), "a%2F..%2Fb");
    }
}
