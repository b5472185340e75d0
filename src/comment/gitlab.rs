//! GitLab: a merge request's notes through the REST API (v4), configured as GitLab CI sets the
//! environment, with the token in GITLAB_TOKEN: the [`Site`] the shared client calls.

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName};

use super::forge::{Api, Site};
use super::http::{self, Deadline, Http};
use super::{Author, Note, env, required};
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
        noun: "note",
        place: format!("merge request !{iid} of project `{name}`"),
        limit: LIMIT,
        url_var: "CI_API_V4_URL",
        comments: notes.clone(),
        list_query: "&sort=asc&order_by=created_at",
        by_repository_id: None,
        comment: notes,
        update: Method::PUT,
        parse: note_from_json,
        login_key: "username",
        user_id_required: true,
        actions: None,
        hint_401: "GitLab refused GITLAB_TOKEN: use a project or personal access token that has not expired, with the `api` scope",
        hint_403: "the token may not write notes on this merge request: give it the `api` scope and at least the Reporter role in the project",
        hint_404: format!(
            "the project `{name}` or merge request !{iid} was not found, or the token cannot see it: check CI_PROJECT_ID, the IID (`--pr`) and CI_API_V4_URL"
        ),
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
    let token = required(
        "GITLAB_TOKEN",
        "`--comment gitlab` needs GITLAB_TOKEN",
        "set it from a masked CI/CD variable holding a project access token with the `api` scope",
    )?;
    let api_url = required(
        "CI_API_V4_URL",
        "`--comment gitlab` needs CI_API_V4_URL",
        "GitLab CI sets it; elsewhere, set it to the instance's API, as `https://gitlab.com/api/v4`",
    )?;
    let project = required(
        "CI_PROJECT_ID",
        "`--comment gitlab` needs CI_PROJECT_ID (the project's number or path)",
        "GitLab CI sets it",
    )?;
    let base = http::base_url("CI_API_V4_URL", &api_url).map_err(|e| Failure::new(e, None))?;
    let http = Http::new(
        base,
        HeaderMap::new(),
        (HeaderName::from_static("private-token"), token.clone()),
        &token,
        "GITLAB_TOKEN",
        deadline,
    )
    .map_err(|e| Failure::new(e, None))?;
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
                    Failure::new(
                        format!("CI_MERGE_REQUEST_IID `{}` is not a number", clean(&v)),
                        None,
                    )
                })?,
        ),
        None => None,
    };
    let iid = match iid.or(from_ci) {
        Some(n) => n,
        None if merged => {
            let merged =
                |m: &serde_json::Value| m.get("state").and_then(|s| s.as_str()) == Some("merged");
            let missing = "no merge request to comment on: neither CI_MERGE_REQUEST_IID nor CI_COMMIT_SHA is set";
            let commits =
                |sha: &str| format!("/projects/{path}/repository/commits/{sha}/merge_requests");
            api.merged_from("CI_COMMIT_SHA", missing, commits, merged, "iid")
                .await?
        }
        None => {
            return Err(Failure::new(
                "no merge request to comment on: CI_MERGE_REQUEST_IID is not set",
                Some(
                    "run in a merge request pipeline (`rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"`), or pass the IID with `--pr N`",
                ),
            ));
        }
    };
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
