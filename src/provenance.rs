//! Where a change came from, for the audit log's `start` line and the plan JSON: the config's
//! Git commit and whether its file was clean (`git`, if present; never required), and the CI run
//! that carried it out (GitHub Actions or GitLab CI: repository, commit, pull or merge request,
//! actor, the run's URL). Everything here is public metadata of the run; nothing secret is read
//! (no token variable), and every value is cut to [`MAX_VALUE`] characters, control characters
//! removed, and URLs stripped of any `user:password@`.
//!
//! `git` runs with a deadline ([`GIT_DEADLINE`]) and its output is capped: a hung or chatty
//! `git` costs at most that, and then there is no Git provenance.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The longest value kept, in characters.
pub const MAX_VALUE: usize = 512;
/// How long `git` may take, each call.
pub const GIT_DEADLINE: Duration = Duration::from_secs(5);

/// Where a run's change came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The config's Git commit, when the config is in a Git work tree and `git` runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitState>,
    /// The CI run, when orgsync runs in GitHub Actions or GitLab CI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiRun>,
}

/// The config's place in Git.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitState {
    /// `HEAD` of the work tree that holds the config.
    pub commit: String,
    /// Whether the config had no uncommitted change (`git status --porcelain` on its path).
    pub clean: bool,
}

/// A CI run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiRun {
    /// `github_actions` or `gitlab_ci`.
    pub system: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The pull request (GitHub) or merge request (GitLab) the run belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequest>,
    /// Who started the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
}

/// A pull or merge request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Provenance {
    /// The provenance of a run whose config is at `config`, from the environment and `git`.
    pub fn gather(config: &Path) -> Option<Provenance> {
        let p = Provenance {
            git: git_state(config),
            ci: ci_run(&|name| std::env::var(name).ok()),
        };
        (p.git.is_some() || p.ci.is_some()).then_some(p)
    }
}

/// A variable's value as kept: trimmed, control characters removed, at most [`MAX_VALUE`]
/// characters; `None` when empty.
fn value(v: Option<String>) -> Option<String> {
    let v: String = v?
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_VALUE)
        .collect();
    (!v.is_empty()).then_some(v)
}

/// A URL as kept: [`value`], without any `user:password@` before its host.
fn url(v: Option<String>) -> Option<String> {
    let v = value(v)?;
    match v.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            Some(format!("{scheme}://{host}{path}"))
        }
        None => Some(v),
    }
}

/// The CI run described by `env`, if any.
fn ci_run(env: &dyn Fn(&str) -> Option<String>) -> Option<CiRun> {
    let var = |name: &str| value(env(name));
    if env("GITHUB_ACTIONS").as_deref() == Some("true") {
        let server = url(env("GITHUB_SERVER_URL")).unwrap_or_else(|| "https://github.com".into());
        let repository = var("GITHUB_REPOSITORY");
        let base = repository.as_ref().map(|r| format!("{server}/{r}"));
        let number = github_pr_number(env);
        return Some(CiRun {
            system: "github_actions".into(),
            commit: var("GITHUB_SHA"),
            pull_request: number.map(|number| PullRequest {
                number,
                url: base.as_ref().map(|b| format!("{b}/pull/{number}")),
            }),
            actor: var("GITHUB_ACTOR"),
            run_url: match (&base, var("GITHUB_RUN_ID")) {
                (Some(b), Some(id)) if id.chars().all(|c| c.is_ascii_digit()) => {
                    Some(format!("{b}/actions/runs/{id}"))
                }
                _ => None,
            },
            repository,
        });
    }
    if env("GITLAB_CI").as_deref() == Some("true") {
        let number = var("CI_MERGE_REQUEST_IID").and_then(|n| n.parse::<u64>().ok());
        return Some(CiRun {
            system: "gitlab_ci".into(),
            repository: var("CI_PROJECT_PATH"),
            commit: var("CI_COMMIT_SHA"),
            pull_request: number.filter(|&n| n > 0).map(|number| PullRequest {
                number,
                url: url(env("CI_MERGE_REQUEST_PROJECT_URL"))
                    .or_else(|| url(env("CI_PROJECT_URL")))
                    .map(|p| format!("{p}/-/merge_requests/{number}")),
            }),
            actor: var("GITLAB_USER_LOGIN"),
            run_url: url(env("CI_PIPELINE_URL")),
        });
    }
    None
}

/// The pull request of a GitHub Actions run: from the event file (`GITHUB_EVENT_PATH`, read
/// through the bounded reader), else from `GITHUB_REF` (`refs/pull/N/merge`).
fn github_pr_number(env: &dyn Fn(&str) -> Option<String>) -> Option<u64> {
    let from_event = env("GITHUB_EVENT_PATH").and_then(|path| {
        let bytes = crate::bounded::read_file(Path::new(&path), crate::bounded::FILE_BYTES).ok()?;
        let event: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        pull_request_in_event(&event)
    });
    from_event.or_else(|| {
        env("GITHUB_REF")?
            .strip_prefix("refs/pull/")?
            .split('/')
            .next()?
            .parse()
            .ok()
            .filter(|&n| n > 0)
    })
}

/// The pull request number a GitHub event names: `pull_request.number`, `number`, or (for an
/// issue comment) `issue.number`.
pub fn pull_request_in_event(event: &serde_json::Value) -> Option<u64> {
    let n = |v: Option<&serde_json::Value>| v.and_then(serde_json::Value::as_u64);
    n(event.pointer("/pull_request/number"))
        .or(n(event.get("number")))
        .or(n(event.pointer("/issue/number")))
        .filter(|&n| n > 0)
}

/// The commit of the work tree holding `config`, and whether the config is unchanged in it.
fn git_state(config: &Path) -> Option<GitState> {
    let dir = match config.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let commit = git(dir, &["rev-parse", "--verify", "HEAD"])?;
    let commit = commit.trim();
    if commit.len() < 7 || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let name = config.file_name()?;
    let status = git(
        dir,
        &[
            "status".as_ref(),
            "--porcelain".as_ref(),
            "--".as_ref(),
            name,
        ],
    )?;
    Some(GitState {
        commit: commit.to_string(),
        clean: status.trim().is_empty(),
    })
}

/// `git ARGS` in `dir`: its stdout when it exits 0 within [`GIT_DEADLINE`], at most 64 KiB of
/// it; `None` otherwise (no `git`, not a work tree, too slow).
fn git<S: AsRef<std::ffi::OsStr>>(dir: &Path, args: &[S]) -> Option<String> {
    use std::io::Read;
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = Read::by_ref(&mut stdout)
            .take(64 * 1024)
            .read_to_end(&mut out);
        out
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < GIT_DEADLINE => {
                std::thread::sleep(Duration::from_millis(5));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let out = reader.join().ok()?;
    status
        .filter(|s| s.success())
        .and_then(|_| String::from_utf8(out).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn a_github_actions_run_names_its_pull_request_and_run() {
        let env = env_of(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://token:x@github.com"),
            ("GITHUB_REPOSITORY", "acme/access"),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
            ("GITHUB_REF", "refs/pull/42/merge"),
            ("GITHUB_ACTOR", "ada\u{1b}[31m"),
            ("GITHUB_RUN_ID", "987"),
        ]);
        let ci = ci_run(&env).unwrap();
        assert_eq!(ci.system, "github_actions");
        assert_eq!(
            ci.pull_request,
            Some(PullRequest {
                number: 42,
                url: Some("https://github.com/acme/access/pull/42".into())
            })
        );
        assert_eq!(
            ci.actor.as_deref(),
            Some("ada[31m"),
            "no control characters"
        );
        assert_eq!(
            ci.run_url.as_deref(),
            Some("https://github.com/acme/access/actions/runs/987")
        );
    }

    #[test]
    fn a_gitlab_run_names_its_merge_request_and_pipeline() {
        let env = env_of(&[
            ("GITLAB_CI", "true"),
            ("CI_PROJECT_PATH", "acme/access"),
            ("CI_PROJECT_URL", "https://gitlab.example/acme/access"),
            ("CI_COMMIT_SHA", "abc1234"),
            ("CI_MERGE_REQUEST_IID", "7"),
            ("GITLAB_USER_LOGIN", "grace"),
            (
                "CI_PIPELINE_URL",
                "https://gitlab.example/acme/access/-/pipelines/5",
            ),
        ]);
        let ci = ci_run(&env).unwrap();
        assert_eq!(
            ci.pull_request.unwrap().url.as_deref(),
            Some("https://gitlab.example/acme/access/-/merge_requests/7")
        );
        assert_eq!(ci.actor.as_deref(), Some("grace"));
        assert_eq!(ci_run(&env_of(&[])), None);
    }

    #[test]
    fn values_are_cut_and_urls_lose_their_credentials() {
        let long = "x".repeat(2 * MAX_VALUE);
        assert_eq!(value(Some(long)).unwrap().len(), MAX_VALUE);
        assert_eq!(value(Some("  ".into())), None);
        assert_eq!(
            url(Some("https://u:p@host.example/a@b".into())).as_deref(),
            Some("https://host.example/a@b")
        );
    }
}
