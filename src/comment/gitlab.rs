//! GitLab: a merge request's notes through the REST API (v4), configured as GitLab CI sets the
//! environment, with the token in GITLAB_TOKEN: the [`Site`] the shared client calls.

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName};

use super::error::Error;
use super::forge::{Api, Site};
use super::http::{self, Deadline, Http};
use super::{Author, Need, Note, env, required};
use crate::error::Failure;
use crate::text::clean;

/// GitLab refuses notes longer than this many characters.
pub(super) const LIMIT: usize = 1_000_000;

/// The merge request's notes on GitLab. `project` goes in paths (a number, or the encoded
/// path), `name` in messages.
fn site(project: &str, name: &str, iid: u64) -> Site {
    let notes = format!("/projects/{project}/merge_requests/{iid}/notes");
    Site {
        forge: "GitLab",
        request: "merge request",
        number_key: "iid",
        noun: "note",
        place: format!("merge request !{iid} of project `{name}`"),
        limit: LIMIT,
        url_var: "CI_API_V4_URL",
        sha_var: "CI_COMMIT_SHA",
        comments: notes.clone(),
        list_query: "&sort=asc&order_by=created_at",
        by_repository_id: None,
        comment: notes,
        commit_requests: (
            format!("/projects/{project}/repository/commits/"),
            "/merge_requests",
        ),
        update: Method::PUT,
        parse: note_from_json,
        merged: |m| m.get("state").and_then(|s| s.as_str()) == Some("merged"),
        login_key: "username",
        user_id_required: true,
        actions: None,
        hint_401: "GitLab refused GITLAB_TOKEN: use a project or personal access token that has not expired, with the `api` scope",
        hint_403: "the token may not write notes on this merge request: give it the `api` scope and at least the Reporter role in the project",
        hint_404: format!(
            "the project `{name}` or merge request !{iid} was not found, or the token cannot see it: check CI_PROJECT_ID, the IID (`--pr`) and CI_API_V4_URL"
        ),
        no_request: (
            "CI_MERGE_REQUEST_IID is not set",
            "run in a merge request pipeline (`rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"`), or pass the IID with `--pr N`",
        ),
        no_commit: "neither CI_MERGE_REQUEST_IID nor CI_COMMIT_SHA is set",
        hint_rate_limited: None,
        invalid: &[400, 422],
    }
}

/// From GITLAB_TOKEN, CI_API_V4_URL, CI_PROJECT_ID and the merge request: `iid`, else
/// CI_MERGE_REQUEST_IID, else (when `merged`, for apply) the merge request that CI_COMMIT_SHA
/// was merged from.
pub(super) async fn from_env(
    iid: Option<u64>,
    merged: bool,
    deadline: Deadline,
) -> Result<Api, Failure> {
    let [token, api_url, project] = required(
        "gitlab",
        [
            Need {
                var: "GITLAB_TOKEN",
                about: "",
                hint: "set it from a masked CI/CD variable holding a project access token with the `api` scope",
            },
            Need {
                var: "CI_API_V4_URL",
                about: "",
                hint: "GitLab CI sets it; elsewhere, set it to the instance's API, as `https://gitlab.com/api/v4`",
            },
            Need {
                var: "CI_PROJECT_ID",
                about: " (the project's number or path)",
                hint: "GitLab CI sets it",
            },
        ],
    )?;
    let base =
        http::base_url("CI_API_V4_URL", &api_url).map_err(|e| Failure::hinted(Error::Setup(e)))?;
    let http = Http::new(
        base,
        HeaderMap::new(),
        (HeaderName::from_static("private-token"), token.clone()),
        &token,
        "GITLAB_TOKEN",
        deadline,
    )
    .map_err(|e| Failure::hinted(Error::Setup(e)))?;
    let path = encode_project(&project);
    let name = clean(project.trim());
    let mut api = Api {
        http,
        site: site(&path, &name, 0),
    };
    let from_ci = match env("CI_MERGE_REQUEST_IID") {
        Some(v) => Some(
            v.trim()
                .parse::<u64>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    Failure::hinted(Error::Malformed {
                        var: "CI_MERGE_REQUEST_IID",
                        value: clean(&v),
                        expected: "a number",
                    })
                })?,
        ),
        None => None,
    };
    let iid = api.number(iid.or(from_ci), merged).await?;
    api.site = site(&path, &name, iid);
    Ok(api)
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
