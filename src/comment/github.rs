//! GitHub: a pull request's comments through the REST API (issue comments), configured as
//! GitHub Actions sets the environment.

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use super::http::{self, CallError, Deadline, Http};
use super::list::{Listing, PER_PAGE};
use super::{Author, Note, env};
use crate::error::Failure;
use crate::text::clean;

/// The login of the comments GitHub Actions' own token (GITHUB_TOKEN) writes.
pub(super) const ACTIONS_LOGIN: &str = "github-actions[bot]";

/// GitHub refuses comments longer than this many characters.
pub(super) const LIMIT: usize = 65_536;

pub(super) struct GitHub {
    http: Http,
    /// `owner/repo`.
    repo: String,
    pub(super) pr: u64,
}

impl GitHub {
    /// From GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL and the pull request: `pr`, else
    /// the event in GITHUB_EVENT_PATH, else (when `merged`, for apply) the pull request that
    /// GITHUB_SHA was merged from.
    pub(super) async fn from_env(
        pr: Option<u64>,
        merged: bool,
        deadline: Deadline,
    ) -> Result<GitHub, Failure> {
        let token = env("GITHUB_TOKEN").ok_or_else(|| {
            Failure::new(
                "`--comment github` needs GITHUB_TOKEN",
                Some("in GitHub Actions, pass it to the step: `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`"),
            )
        })?;
        let repo = env("GITHUB_REPOSITORY").ok_or_else(|| {
            Failure::new(
                "`--comment github` needs GITHUB_REPOSITORY (`owner/repo`)",
                Some("GitHub Actions sets it; elsewhere, set it to the repository's `owner/name`"),
            )
        })?;
        if !valid_repo(&repo) {
            return Err(Failure::new(
                format!("GITHUB_REPOSITORY `{}` is not `owner/repo`", clean(&repo)),
                None,
            ));
        }
        let api = env("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into());
        let base = http::base_url("GITHUB_API_URL", &api).map_err(|e| Failure::new(e, None))?;
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/vnd.github+json"),
        );
        headers.insert(
            HeaderName::from_static("x-github-api-version"),
            HeaderValue::from_static("2022-11-28"),
        );
        let http = Http::new(
            base,
            headers,
            (AUTHORIZATION, format!("Bearer {token}")),
            &token,
            "GITHUB_TOKEN",
            deadline,
        )
        .map_err(|e| Failure::new(e, None))?;
        let mut gh = GitHub { http, repo, pr: 0 };
        gh.pr = match pr.or(event_number()?) {
            Some(n) => n,
            None if merged => gh.merged_pr().await?,
            None => {
                return Err(Failure::new(
                    "no pull request to comment on: GITHUB_EVENT_PATH names none",
                    Some(
                        "run on a `pull_request` event, or pass the pull request's number with `--pr N`",
                    ),
                ));
            }
        };
        Ok(gh)
    }

    pub(super) fn place(&self) -> String {
        format!("pull request #{} of `{}`", self.pr, self.repo)
    }

    /// The pull request GITHUB_SHA came from (a push to the default branch after a merge).
    async fn merged_pr(&self) -> Result<u64, Failure> {
        let sha = env("GITHUB_SHA").filter(|s| s.chars().all(|c| c.is_ascii_hexdigit()));
        let Some(sha) = sha else {
            return Err(Failure::new(
                "no pull request to comment on: the event names none and GITHUB_SHA is not set",
                Some("pass the pull request's number with `--pr N`"),
            ));
        };
        let url = self
            .http
            .url(&format!("/repos/{}/commits/{sha}/pulls", self.repo));
        let answer = self
            .http
            .call(Method::GET, &url, None)
            .await
            .map_err(|e| self.failure("finding the pull request of GITHUB_SHA", e))?;
        let pulls: Vec<serde_json::Value> = serde_json::from_str(&answer.body).map_err(|e| {
            Failure::new(
                format!(
                    "GitHub's answer listing the commit's pull requests is {}",
                    http::shape_error(&e, "a list of pull requests")
                ),
                None,
            )
        })?;
        let merged = pulls
            .iter()
            .find(|p| p.get("merged_at").is_some_and(|m| !m.is_null()))
            .or(pulls.first());
        merged
            .and_then(|p| p.get("number"))
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| {
                Failure::new(
                    format!("no pull request found for commit {sha}"),
                    Some("pass the pull request's number with `--pr N`"),
                )
            })
    }

    /// The token's user, the author of orgsync's comments: `GET /user`'s login and id; when
    /// that is refused (403 or 404) and GITHUB_ACTIONS is `true`, the token is the workflow's
    /// own, whose comments carry the `github-actions[bot]` login (each comment orgsync creates
    /// confirms it: its answer's `user.login`).
    pub(super) async fn me(&self) -> Result<Author, Failure> {
        let url = self.http.url("/user");
        match self.http.call(Method::GET, &url, None).await {
            Ok(answer) => {
                let user: Option<Author> = serde_json::from_str::<serde_json::Value>(&answer.body)
                    .ok()
                    .and_then(|v| Author::from_json(Some(&v), "login"))
                    .filter(|a| !a.login.is_empty());
                user.ok_or_else(|| {
                    Failure::new(
                        "GitHub's answer to `GET /user` names no user (`login`): orgsync cannot tell its own comments from others'; nothing was posted",
                        None,
                    )
                })
            }
            Err(e)
                if matches!(e.status.map(|s| s.as_u16()), Some(403 | 404))
                    && env("GITHUB_ACTIONS").is_some_and(|v| v.trim() == "true") =>
            {
                Ok(Author {
                    id: None,
                    login: ACTIONS_LOGIN.to_string(),
                })
            }
            Err(e) if matches!(e.status.map(|s| s.as_u16()), Some(403 | 404)) => Err(Failure::new(
                format!(
                    "could not comment on {}: finding the token's user, to tell orgsync's own comments from others': GitHub: {e}",
                    self.place()
                ),
                Some(
                    "outside GitHub Actions, use a token that may read `GET /user` (a personal access token); in GitHub Actions, GITHUB_ACTIONS=true tells orgsync the token is the workflow's own",
                ),
            )),
            Err(e) => Err(self.failure("finding the token's user", e)),
        }
    }

    /// Every comment of the pull request, once each, following `Link: rel="next"` (see
    /// [`super::list`] for the caps).
    pub(super) async fn list(&self) -> Result<Vec<Note>, Failure> {
        Listing {
            http: &self.http,
            forge: "GitHub",
            what: "comments",
            first: format!(
                "/repos/{}/issues/{}/comments?per_page={PER_PAGE}",
                self.repo, self.pr
            ),
            by_repository_id: Some(format!("/issues/{}/comments", self.pr)),
            parse: note_from_json,
        }
        .read(|e| self.failure("listing the pull request's comments", e))
        .await
    }

    pub(super) async fn create(&self, body: &str) -> Result<Note, Failure> {
        let url = self
            .http
            .url(&format!("/repos/{}/issues/{}/comments", self.repo, self.pr));
        let answer = self
            .http
            .call(Method::POST, &url, Some(body))
            .await
            .map_err(|e| self.failure("posting a comment", e))?;
        created(&answer.body, note_from_json)
    }

    pub(super) async fn update(&self, id: u64, body: &str) -> Result<(), Failure> {
        let url = self
            .http
            .url(&format!("/repos/{}/issues/comments/{id}", self.repo));
        self.http
            .call(Method::PATCH, &url, Some(body))
            .await
            .map_err(|e| self.failure("updating a comment", e))?;
        Ok(())
    }

    pub(super) async fn delete(&self, id: u64) -> Result<(), Failure> {
        let url = self
            .http
            .url(&format!("/repos/{}/issues/comments/{id}", self.repo));
        self.http
            .call(Method::DELETE, &url, None)
            .await
            .map_err(|e| self.failure("deleting an old part of the plan", e))?;
        Ok(())
    }

    /// A failed call as the error to print, with the hint its status calls for.
    fn failure(&self, doing: &str, e: CallError) -> Failure {
        let status = e.status.map(|s| s.as_u16());
        let hint = match status {
            _ if e.stopped.is_some() => e.stopped_hint("GITHUB_API_URL").unwrap_or_default(),
            Some(401) => "GitHub refused the token: pass the workflow's token as `GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` (or a token that has not expired)".to_string(),
            Some(403) if e.rate_limited => "the token's API rate limit is used up; run again later".to_string(),
            Some(403) => "the token may not write to pull requests: give the workflow `permissions: pull-requests: write` (pull requests from forks get a read-only GITHUB_TOKEN)".to_string(),
            Some(404) => format!(
                "the repository `{}` or pull request #{} was not found, or the token cannot see it: check GITHUB_REPOSITORY, the pull request number (`--pr`) and GITHUB_API_URL",
                self.repo, self.pr
            ),
            Some(422) => format!(
                "GitHub refused the comment as invalid; a comment holds at most {LIMIT} characters"
            ),
            Some(s) if s >= 500 => "GitHub had a problem; run again".to_string(),
            Some(_) => "see GitHub's answer above".to_string(),
            None => "check GITHUB_API_URL and the network".to_string(),
        };
        Failure::new(
            format!(
                "could not comment on {}: {doing}: GitHub: {e}",
                self.place()
            ),
            Some(&hint),
        )
    }
}

/// A comment of GitHub's list: `id`, `body`, `user.login` and `user.id`.
fn note_from_json(v: &serde_json::Value) -> Option<Note> {
    Some(Note {
        id: v.get("id")?.as_u64()?,
        body: v.get("body")?.as_str()?.to_string(),
        author: Author::from_json(v.get("user"), "login"),
    })
}

/// The comment just created, as the API's answer describes it (`parse`, with at least its id).
pub(super) fn created(
    body: &str,
    parse: fn(&serde_json::Value) -> Option<Note>,
) -> Result<Note, Failure> {
    let v = serde_json::from_str::<serde_json::Value>(body).ok();
    let id = v
        .as_ref()
        .and_then(|v| v.get("id").and_then(serde_json::Value::as_u64));
    let Some(id) = id else {
        return Err(Failure::new(
            "the API created the comment but its answer has no comment id",
            None,
        ));
    };
    Ok(v.as_ref().and_then(parse).unwrap_or(Note {
        id,
        body: String::new(),
        author: None,
    }))
}

/// `owner/repo`, each part a GitHub name.
fn valid_repo(repo: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    repo.split_once('/').is_some_and(|(o, r)| ok(o) && ok(r))
}

/// The pull request number in the event GitHub Actions wrote to GITHUB_EVENT_PATH:
/// `pull_request.number`, else `number`, else `issue.number`. None when there is no event file
/// or it names none.
fn event_number() -> Result<Option<u64>, Failure> {
    let Some(path) = env("GITHUB_EVENT_PATH") else {
        return Ok(None);
    };
    let text = crate::bounded::read_file(std::path::Path::new(&path), crate::bounded::FILE_BYTES)
        .map_err(|e| {
        Failure::new(
            format!("could not read GITHUB_EVENT_PATH `{}`: {e}", clean(&path)),
            None,
        )
    })?;
    let event: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
        Failure::new(
            format!(
                "GITHUB_EVENT_PATH `{}` is {}",
                clean(&path),
                http::shape_error(&e, "an event")
            ),
            None,
        )
    })?;
    Ok(number_in_event(&event))
}

fn number_in_event(event: &serde_json::Value) -> Option<u64> {
    crate::provenance::pull_request_in_event(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pull_request_number_is_read_from_the_event() {
        let e = |s: &str| number_in_event(&serde_json::from_str(s).unwrap());
        assert_eq!(e(r#"{"number":7,"pull_request":{"number":7}}"#), Some(7));
        assert_eq!(e(r#"{"pull_request":{"number":12}}"#), Some(12));
        assert_eq!(e(r#"{"issue":{"number":3,"pull_request":{}}}"#), Some(3));
        assert_eq!(e(r#"{"ref":"refs/heads/main"}"#), None);
        assert_eq!(e(r#"{"number":"7"}"#), None);
    }

    #[test]
    fn repositories_are_owner_slash_name() {
        assert!(valid_repo("acme/org-config"));
        assert!(valid_repo("a_b/c.d"));
        for bad in ["acme", "acme/", "/x", "a/b/c", "a/..", "a b/c", "a/c?x"] {
            assert!(!valid_repo(bad), "{bad}");
        }
    }
}
