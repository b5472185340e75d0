//! Pull-request comments that keep themselves up to date (`--comment github|gitlab`).
//!
//! `plan` posts its Markdown plan to the pull request (GitHub) or merge request (GitLab) and,
//! on every later run, updates the same comment instead of adding one. Each comment starts
//! with a hidden marker, `<!-- orgsync:plan config=… domain=… part=i/n -->`, and is found again
//! by listing every comment of the pull request (all pages, as a set keyed by id: `list`) and
//! matching the marker's config and domain **and its author**: a comment is orgsync's only if
//! orgsync's token wrote it. The author is the token's user (`GET /user`; with GitHub Actions'
//! own token, which cannot read `/user`, the `github-actions[bot]` login its comments carry,
//! confirmed on each comment orgsync creates). A comment by anyone else is never edited or
//! deleted, whatever marker it carries; one carrying this plan's marker gets a warning line.
//! A marker for another config or tenant is left alone. A plan longer than one comment allows
//! goes out as a numbered series (`split`), kept in step on later runs: parts updated in place,
//! new ones created, extra old ones deleted. `apply` posts its result as a new comment each run
//! (a record), marked `orgsync:apply`.
//!
//! Commenting comes after the plan or report is printed and never hides the run's own exit
//! code: a failure is printed as `error: …` with the API's answer and a hint, and turns a
//! success into exit 1. The whole commenting phase ends within `--timeout`. The token goes only
//! in a request header and is scrubbed from any text the API sends back.
//!
//! This file holds the two entry points ([`post_plan`], [`post_apply`]) and the phase's
//! deadline; each submodule's own doc says its one concern (the code map is in `src/lib.rs`).

pub(crate) mod author;
pub(crate) mod error;
pub(crate) mod forge;
pub(crate) mod github;
pub(crate) mod gitlab;
pub(crate) mod http;
pub(crate) mod list;
pub(crate) mod marker;
pub mod split;
pub(crate) mod summary;
pub(crate) mod sync;

/// Where `--comment` posts: a GitHub pull request or a GitLab merge request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Forge {
    /// A pull request comment: GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL (default
    /// `https://api.github.com`), the number from GITHUB_EVENT_PATH or `--pr`.
    Github,
    /// A merge request note: GITLAB_TOKEN, CI_API_V4_URL, CI_PROJECT_ID, the IID from
    /// CI_MERGE_REQUEST_IID or `--pr`.
    Gitlab,
}

use std::path::Path;
use std::time::Duration;

use crate::error::Failure;
use author::{Author, Note};
use forge::Api;
use marker::Marker;
pub use summary::append_step_summary;

/// An environment variable, None when unset or empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A variable `--comment` needs, and what to say when it is not set.
#[derive(Debug, Clone, Copy)]
struct Need {
    var: &'static str,
    /// What the value is, after the name: " (`owner/repo`)", or "".
    about: &'static str,
    /// Where to get it.
    hint: &'static str,
}

/// The values of the variables `--comment FORGE` needs, in their order; the first one unset
/// (or empty) is the failure.
fn required<const N: usize>(forge: &'static str, needs: [Need; N]) -> Result<[String; N], Failure> {
    let values = needs.map(|n| env(n.var));
    if let Some((n, _)) = needs.iter().zip(&values).find(|(_, v)| v.is_none()) {
        return Err(Failure::hinted(error::Error::Missing {
            forge,
            var: n.var,
            about: n.about,
            hint: n.hint,
        }));
    }
    Ok(values.map(Option::unwrap_or_default))
}

/// The pull request or merge request commented on, from the environment of `forge`.
async fn from_env(
    forge: Forge,
    pr: Option<u64>,
    merged: bool,
    deadline: http::Deadline,
) -> Result<Api, Failure> {
    match forge {
        Forge::Github => github::from_env(pr, merged, deadline).await,
        Forge::Gitlab => gitlab::from_env(pr, merged, deadline).await,
    }
}

/// `work`, ended at `deadline` if it has not ended by then (each call ends by it already; this
/// bounds the phase as a whole).
async fn within<T>(
    deadline: http::Deadline,
    work: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::time::timeout_at(deadline.at, work)
        .await
        .unwrap_or_else(|_| Err(Failure::hinted(error::Error::OutOfTime(deadline.message()))))
}

/// Where a comment goes: the forge, the pull or merge request (else found from the CI
/// environment), and the most bytes a comment may hold (a test knob; never more than the forge
/// allows).
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub forge: Forge,
    pub pr: Option<u64>,
    pub limit: Option<usize>,
}

impl Target {
    /// The client for the request (when `merged`, the one the commit was merged from, for
    /// apply) and the most bytes a comment may hold there.
    async fn open(self, merged: bool, deadline: http::Deadline) -> Result<(Api, usize), Failure> {
        let api = from_env(self.forge, self.pr, merged, deadline).await?;
        let limit = self.limit.unwrap_or(usize::MAX).min(api.limit());
        Ok((api, limit))
    }
}

/// Posts the plan's Markdown `md` as one comment (a series when it is long), or updates the
/// comment an earlier run posted, within `timeout`; says where it went.
pub async fn post_plan(
    target: Target,
    config: &Path,
    domain: &str,
    md: &str,
    timeout: Duration,
) -> Result<String, Failure> {
    let marker = Marker::new("plan", config, domain);
    let deadline = http::Deadline::after(timeout);
    within(deadline, async {
        let (api, limit) = target.open(false, deadline).await?;
        let bodies = marker::plan_bodies(&marker, md, limit)?;
        let me = api.me().await?;
        let notes = api.list().await?;
        sync::sync(&api, &me, &marker, &notes, &bodies).await
    })
    .await
}

/// Posts an apply's result as a new comment, within `timeout`: `body` gets the comment's
/// marker line and is cut to what the forge allows (`body(marker_line, limit)`); says where it
/// went.
pub async fn post_apply(
    target: Target,
    config: &Path,
    domain: &str,
    body: impl FnOnce(&str, usize) -> String,
    timeout: Duration,
) -> Result<String, Failure> {
    let marker = Marker::new("apply", config, domain);
    let deadline = http::Deadline::after(timeout);
    within(deadline, async {
        let (api, limit) = target.open(true, deadline).await?;
        api.create(&body(&marker.line(), limit)).await?;
        Ok::<_, Failure>(format!("Apply result posted to {}.", api.place()))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_unset_variable_is_named_with_its_hint() {
        // Cargo sets CARGO_MANIFEST_DIR for a test run; the other name is set by no one.
        let set = Need {
            var: "CARGO_MANIFEST_DIR",
            about: "",
            hint: "unused",
        };
        let unset = Need {
            var: "ORGSYNC_TEST_NEVER_SET_4F2A",
            about: " (`owner/repo`)",
            hint: "set it",
        };
        let [dir] = required("github", [set])
            .map_err(|f| f.error.to_string())
            .unwrap();
        assert!(!dir.is_empty());
        let Err(f) = required("github", [set, unset, set]) else {
            panic!("an unset variable was not refused");
        };
        assert_eq!(
            f.error.to_string(),
            "`--comment github` needs ORGSYNC_TEST_NEVER_SET_4F2A (`owner/repo`)"
        );
        assert_eq!(f.hint.as_deref(), Some("set it"));
        assert!(matches!(
            f.error.downcast_ref::<error::Error>(),
            Some(error::Error::Missing {
                var: "ORGSYNC_TEST_NEVER_SET_4F2A",
                ..
            })
        ));
    }
}
