//! GitHub: a pull request's comments through the REST API (issue comments), configured as
//! GitHub Actions sets the environment: the [`Site`] the shared client calls.

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use super::error::Error;
use super::forge::{Api, Site};
use super::http::{self, Deadline, Http};
use super::{Author, Need, Note, env, required};
use crate::error::Failure;
use crate::text::clean;

/// The login of the comments GitHub Actions' own token (GITHUB_TOKEN) writes.
pub(super) const ACTIONS_LOGIN: &str = "github-actions[bot]";

/// GitHub refuses comments longer than this many characters.
pub(super) const LIMIT: usize = 65_536;

/// The pull request's comments on GitHub (issue comments).
fn site(repo: &str, pr: u64) -> Site {
    Site {
        forge: "GitHub",
        request: "pull request",
        number_key: "number",
        noun: "comment",
        place: format!("pull request #{pr} of `{repo}`"),
        limit: LIMIT,
        url_var: "GITHUB_API_URL",
        sha_var: "GITHUB_SHA",
        comments: format!("/repos/{repo}/issues/{pr}/comments"),
        list_query: "",
        by_repository_id: Some(format!("/issues/{pr}/comments")),
        comment: format!("/repos/{repo}/issues/comments"),
        commit_requests: (format!("/repos/{repo}/commits/"), "/pulls"),
        update: Method::PATCH,
        parse: note_from_json,
        merged: |p| p.get("merged_at").is_some_and(|m| !m.is_null()),
        login_key: "login",
        user_id_required: false,
        actions: Some((
            ACTIONS_LOGIN,
            "outside GitHub Actions, use a token that may read `GET /user` (a personal access token); in GitHub Actions, GITHUB_ACTIONS=true tells orgsync the token is the workflow's own",
        )),
        hint_401: "GitHub refused the token: pass the workflow's token as `GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` (or a token that has not expired)",
        hint_403: "the token may not write to pull requests: give the workflow `permissions: pull-requests: write` (pull requests from forks get a read-only GITHUB_TOKEN)",
        hint_404: format!(
            "the repository `{repo}` or pull request #{pr} was not found, or the token cannot see it: check GITHUB_REPOSITORY, the pull request number (`--pr`) and GITHUB_API_URL"
        ),
        no_request: (
            "GITHUB_EVENT_PATH names none",
            "run on a `pull_request` event, or pass the pull request's number with `--pr N`",
        ),
        no_commit: "the event names none and GITHUB_SHA is not set",
        hint_rate_limited: Some("the token's API rate limit is used up; run again later"),
        invalid: &[422],
    }
}

/// From GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL and the pull request: `pr`, else the
/// event in GITHUB_EVENT_PATH, else (when `merged`, for apply) the pull request that GITHUB_SHA
/// was merged from.
pub(super) async fn from_env(
    pr: Option<u64>,
    merged: bool,
    deadline: Deadline,
) -> Result<Api, Failure> {
    let [token, repo] = required(
        "github",
        [
            Need {
                var: "GITHUB_TOKEN",
                about: "",
                hint: "in GitHub Actions, pass it to the step: `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`",
            },
            Need {
                var: "GITHUB_REPOSITORY",
                about: " (`owner/repo`)",
                hint: "GitHub Actions sets it; elsewhere, set it to the repository's `owner/name`",
            },
        ],
    )?;
    if !valid_repo(&repo) {
        return Err(Failure::hinted(Error::Malformed {
            var: "GITHUB_REPOSITORY",
            value: clean(&repo),
            expected: "`owner/repo`",
        }));
    }
    let api_url = env("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into());
    let base =
        http::base_url("GITHUB_API_URL", &api_url).map_err(|e| Failure::hinted(Error::Setup(e)))?;
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
    .map_err(|e| Failure::hinted(Error::Setup(e)))?;
    let mut api = Api {
        http,
        site: site(&repo, 0),
    };
    let pr = api.number(pr.or(event_number()?), merged).await?;
    api.site = site(&repo, pr);
    Ok(api)
}

/// A comment of GitHub's list: `id`, `body`, `user.login` and `user.id`.
fn note_from_json(v: &serde_json::Value) -> Option<Note> {
    Some(Note {
        id: v.get("id")?.as_u64()?,
        body: v.get("body")?.as_str()?.to_string(),
        author: Author::from_json(v.get("user"), "login"),
    })
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
        let read = e.to_string();
        let cause = match e {
            crate::bounded::ReadError::Io { source, .. } => Some(source),
            crate::bounded::ReadError::TooLarge { .. } => None,
        };
        Failure::hinted(Error::EventUnread {
            path: clean(&path),
            read,
            cause,
        })
    })?;
    let event: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
        Failure::hinted(Error::Shape {
            what: format!("GITHUB_EVENT_PATH `{}`", clean(&path)),
            shape: http::shape_error(&e, "an event"),
        })
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
