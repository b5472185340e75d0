//! GitLab: a merge request's notes through the REST API (v4), configured as GitLab CI sets the
//! environment, with the token in GITLAB_TOKEN.

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName};

use super::http::{self, CallError, Http};
use super::{Note, env, next_page_cap};
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
    pub(super) async fn from_env(iid: Option<u64>, merged: bool) -> Result<GitLab, Failure> {
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
                    "GitLab's list of the commit's merge requests is not JSON as expected: {e}"
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

    /// Every note of the merge request but GitLab's own (system notes), oldest first, paging by
    /// `x-next-page` (or `Link`), at most [`next_page_cap`] pages of 100.
    pub(super) async fn list(&self) -> Result<Vec<Note>, Failure> {
        let first = format!(
            "{}?per_page=100&sort=asc&order_by=created_at",
            self.notes_path()
        );
        let mut url = self.http.url(&first);
        let mut notes = Vec::new();
        for _ in 0..next_page_cap() {
            let answer = self
                .http
                .call(Method::GET, &url, None)
                .await
                .map_err(|e| self.failure("listing the merge request's notes", e))?;
            let page: Vec<serde_json::Value> = serde_json::from_str(&answer.body).map_err(|e| {
                Failure::new(
                    format!("GitLab's list of notes is not JSON as expected: {e}"),
                    None,
                )
            })?;
            notes.extend(
                page.iter()
                    .filter(|n| n.get("system").and_then(|s| s.as_bool()) != Some(true))
                    .filter_map(Note::from_json),
            );
            let next_page = answer
                .headers
                .get("x-next-page")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            match (next_page, http::next_link(&answer.headers)) {
                (Some(n), _) => url = self.http.url(&format!("{first}&page={n}")),
                (None, Some(next)) if self.http.same_origin(&next) => url = next,
                (None, Some(next)) => {
                    return Err(Failure::new(
                        format!(
                            "GitLab's next page of notes is on another host (`{}`); orgsync does not send the token there",
                            clean(&next)
                        ),
                        None,
                    ));
                }
                (None, None) => return Ok(notes),
            }
        }
        Err(Failure::new(
            format!(
                "the merge request has more than {} notes; orgsync reads at most {} pages of 100",
                next_page_cap() * 100,
                next_page_cap()
            ),
            None,
        ))
    }

    pub(super) async fn create(&self, body: &str) -> Result<u64, Failure> {
        let url = self.http.url(&self.notes_path());
        let answer = self
            .http
            .call(Method::POST, &url, Some(body))
            .await
            .map_err(|e| self.failure("posting a note", e))?;
        super::github::created_id(&answer.body)
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
