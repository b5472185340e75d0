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

pub(crate) mod error;
pub(crate) mod forge;
pub(crate) mod github;
pub(crate) mod gitlab;
pub(crate) mod http;
pub(crate) mod list;
pub mod split;

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

use std::io::Write;
use std::path::{Component, Path};
use std::time::Duration;

use crate::error::Failure;
use crate::text::{clean, plural};
use forge::Api;

/// An environment variable, None when unset or empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// An environment variable `--comment` needs: its value, or the failure `error` with `hint`.
fn required(name: &str, error: &str, hint: &str) -> Result<String, Failure> {
    env(name).ok_or_else(|| Failure::new(error, Some(hint)))
}

/// A comment as listed.
#[derive(Debug, Clone)]
struct Note {
    id: u64,
    body: String,
    /// Who wrote it, as the forge says; None when it does not say.
    author: Option<Author>,
}

/// A comment's author, or the token's user: the forge's numeric user id when known, and the
/// login (GitHub) or username (GitLab).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Author {
    id: Option<u64>,
    login: String,
}

impl Author {
    /// `{"id": 1, KEY: "name"}` (GitHub's `user`, GitLab's `author`).
    fn from_json(v: Option<&serde_json::Value>, key: &str) -> Option<Author> {
        let v = v?;
        Some(Author {
            id: v.get("id").and_then(serde_json::Value::as_u64),
            login: v.get(key)?.as_str()?.to_string(),
        })
    }

    /// Whether `other` is this user: by id when both have one (ids never change), else by
    /// login, ignoring case as both forges do.
    fn is(&self, other: Option<&Author>) -> bool {
        let Some(other) = other else { return false };
        match (self.id, other.id) {
            (Some(a), Some(b)) => a == b,
            _ => !self.login.is_empty() && self.login.eq_ignore_ascii_case(&other.login),
        }
    }
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

/// What a comment's marker says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Marker {
    /// `plan` or `apply`.
    kind: String,
    config: String,
    domain: String,
    /// `part=i/n`.
    part: Option<(usize, usize)>,
}

impl Marker {
    /// The marker line, names escaped so none can end the HTML comment early.
    fn line(&self) -> String {
        let mut s = format!(
            "<!-- orgsync:{} config={} domain={}",
            self.kind,
            escape(&self.config),
            escape(&self.domain)
        );
        if let Some((i, n)) = self.part {
            s.push_str(&format!(" part={i}/{n}"));
        }
        s.push_str(" -->");
        s
    }

    /// The marker on the first line of `body`, if it has one.
    fn parse(body: &str) -> Option<Marker> {
        let first = body.lines().next()?.trim();
        let inner = first.strip_prefix("<!-- orgsync:")?.strip_suffix("-->")?;
        let mut words = inner.split_whitespace();
        let kind = words.next()?.to_string();
        let mut m = Marker {
            kind,
            config: String::new(),
            domain: String::new(),
            part: None,
        };
        for w in words {
            match w.split_once('=')? {
                ("config", v) => m.config = v.to_string(),
                ("domain", v) => m.domain = v.to_string(),
                ("part", v) => {
                    let (i, n) = v.split_once('/')?;
                    m.part = Some((i.parse().ok()?, n.parse().ok()?));
                }
                _ => {}
            }
        }
        Some(m)
    }

    /// Whether `other` (parsed from a comment) marks the same kind, config and domain.
    fn same_place(&self, other: &Marker) -> bool {
        self.kind == other.kind
            && escape(&self.config) == other.config
            && escape(&self.domain) == other.domain
    }
}

/// `s` percent-encoded outside letters, digits and `._~/:@+,-`: no space, `=`, `>` or `%` is
/// left, so a name can neither end the comment (`-->`) nor be read as another field.
fn escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"._~/:@+,-".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The config path as the marker names it: as given, with `.` components dropped and `/`
/// between components, so `./orgsync.yaml` and `orgsync.yaml` are the same config.
fn config_name(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::RootDir => String::new(),
            other => other.as_os_str().to_string_lossy().replace('\\', "/"),
        })
        .collect();
    let name = parts.join("/");
    if name.is_empty() { ".".into() } else { name }
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

/// Appends the plan to the file GITHUB_STEP_SUMMARY names (when it is set).
pub fn append_step_summary(md: &str) -> Result<(), Failure> {
    let Some(path) = env("GITHUB_STEP_SUMMARY") else {
        return Ok(());
    };
    let written = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut f| {
            f.write_all(crate::secrets::scrub(md).as_bytes())?;
            f.write_all(b"\n")?;
            f.flush()
        });
    written.map_err(|e| {
        Failure::new(
            format!(
                "could not append the plan to GITHUB_STEP_SUMMARY `{}`: {e}",
                clean(&path)
            ),
            None,
        )
    })
}

/// What the marker and the part heading may take of a part.
fn overhead(marker: &Marker) -> usize {
    let widest = Marker {
        part: Some((99_999, 99_999)),
        ..marker.clone()
    };
    widest.line().len() + 1 + part_heading(99_999, 99_999).len()
}

fn part_heading(i: usize, n: usize) -> String {
    format!("**orgsync plan, part {i} of {n}**\n\n")
}

/// The plan as the bodies of its comments: one, or a numbered series.
fn plan_bodies(marker: &Marker, md: &str, limit: usize) -> Result<Vec<String>, Failure> {
    let budget = limit.saturating_sub(overhead(marker));
    if budget < 400 {
        return Err(Failure::new(
            format!(
                "a comment of {limit} bytes has no room for the plan beside its marker (the config path is {} bytes long)",
                marker.config.len()
            ),
            Some("use a shorter config path"),
        ));
    }
    // Scrubbed before it is cut into parts: a secret across a cut would be in neither whole.
    let parts = split::split(&crate::secrets::scrub(md), budget);
    let n = parts.len();
    Ok(parts
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let line = Marker {
                part: Some((i + 1, n)),
                ..marker.clone()
            }
            .line();
            if n == 1 {
                format!("{line}\n{text}")
            } else {
                format!("{line}\n{}{text}", part_heading(i + 1, n))
            }
        })
        .collect())
}

/// How a series of comments was brought in step.
#[derive(Debug, Default, PartialEq, Eq)]
struct Synced {
    created: usize,
    updated: usize,
    unchanged: usize,
    deleted: usize,
}

/// Posts the plan: finds the token's user, lists the comments, updates the plan's own parts
/// in place, creates the missing ones, deletes the extra ones, leaves every other author's
/// comment alone (with a warning for one that carries this plan's marker); says what it did.
/// Where a comment goes: the forge, the pull or merge request (else found from the CI
/// environment), and the most bytes a comment may hold (a test knob; never more than the forge
/// allows).
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub forge: Forge,
    pub pr: Option<u64>,
    pub limit: Option<usize>,
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
    let marker = Marker {
        kind: "plan".into(),
        config: config_name(config),
        domain: domain.to_string(),
        part: None,
    };
    let deadline = http::Deadline::after(timeout);
    within(deadline, async {
        let api = from_env(target.forge, target.pr, false, deadline).await?;
        let limit = target.limit.unwrap_or(usize::MAX).min(api.limit());
        let bodies = plan_bodies(&marker, md, limit)?;
        let me = api.me().await?;
        let notes = api.list().await?;
        sync(&api, &me, &marker, &notes, &bodies).await
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
    let marker = Marker {
        kind: "apply".into(),
        config: config_name(config),
        domain: domain.to_string(),
        part: None,
    };
    let deadline = http::Deadline::after(timeout);
    within(deadline, async {
        let api = from_env(target.forge, target.pr, true, deadline).await?;
        let limit = target.limit.unwrap_or(usize::MAX).min(api.limit());
        api.create(&body(&marker.line(), limit)).await?;
        Ok::<_, Failure>(format!("Apply result posted to {}.", api.place()))
    })
    .await
}

/// A warning for a comment that carries the plan's marker but was written by someone else.
fn foreign_warning(note: &Note, me: &Author) -> String {
    let who = note.author.as_ref().map_or_else(
        || "an unnamed author".to_string(),
        |a| format!("`{}`", clean(&a.login)),
    );
    format!(
        "warning: comment {} by {who} carries orgsync's marker for this plan, but orgsync did not write it (it posts as `{}`): it is left alone, neither edited nor deleted; orgsync's own comment holds the plan",
        note.id,
        clean(&me.login)
    )
}

/// Brings the plan's comments in step with `bodies`; says what it did.
async fn sync(
    api: &Api,
    me: &Author,
    marker: &Marker,
    notes: &[Note],
    bodies: &[String],
) -> Result<String, Failure> {
    let (steps, synced, foreign) = sync_steps(marker, notes, bodies, me);
    for note in foreign {
        crate::secrets::errln!("{}", foreign_warning(note, me));
    }
    for step in steps {
        match step {
            Step::Create(i) => {
                let created = api.create(&bodies[i]).await?;
                // The answer says who wrote it: it must be the author orgsync looks for, or
                // the next run would not find it (and would post another).
                if created.author.is_some() && !me.is(created.author.as_ref()) {
                    let who = created.author.map(|a| a.login).unwrap_or_default();
                    return Err(Failure::new(
                        format!(
                            "the comment orgsync just posted ({}) was written as `{}`, not as `{}`, the author orgsync takes for its token: later runs would not recognise it",
                            created.id,
                            clean(&who),
                            clean(&me.login)
                        ),
                        Some(
                            "use the workflow's own GITHUB_TOKEN, or a token that may read `GET /user`",
                        ),
                    ));
                }
            }
            Step::Update(id, i) => api.update(id, &bodies[i]).await?,
            Step::Delete(id) => api.delete(id).await?,
        }
    }
    let mut done = Vec::new();
    for (n, what) in [
        (synced.created, "created"),
        (synced.updated, "updated"),
        (synced.unchanged, "unchanged"),
        (synced.deleted, "deleted (an old part)"),
    ] {
        if n > 0 {
            done.push(format!("{n} {what}"));
        }
    }
    Ok(format!(
        "Plan posted to {} as {}: {}.",
        api.place(),
        plural(bodies.len(), "comment", "comments"),
        done.join(", ")
    ))
}

/// One call to bring the comments in step.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Create part `i` (0-based).
    Create(usize),
    /// Update comment `id` to part `i`.
    Update(u64, usize),
    Delete(u64),
}

/// The calls that turn the plan's existing comments (those `me` wrote whose marker names the
/// same config and domain) into `bodies`: part i goes to the first existing comment marked
/// part i, else to a new comment; every other comment of the plan is deleted. A comment
/// already holding its part is left as it is. Comments of other authors that carry the marker
/// are returned apart, untouched. Each id is acted on once, whatever the list repeats.
fn sync_steps<'a>(
    marker: &Marker,
    notes: &'a [Note],
    bodies: &[String],
    me: &Author,
) -> (Vec<Step>, Synced, Vec<&'a Note>) {
    let mut seen = std::collections::HashSet::new();
    let mut foreign = Vec::new();
    let mut ours: Vec<(usize, &Note)> = Vec::new();
    for n in notes {
        if !seen.insert(n.id) {
            continue;
        }
        let Some(m) = Marker::parse(&n.body) else {
            continue;
        };
        if !marker.same_place(&m) {
            continue;
        }
        if me.is(n.author.as_ref()) {
            ours.push((m.part.map_or(1, |p| p.0), n));
        } else {
            foreign.push(n);
        }
    }
    let mut steps = Vec::new();
    let mut synced = Synced::default();
    for (i, body) in bodies.iter().enumerate() {
        match ours.iter().position(|(part, _)| *part == i + 1) {
            Some(at) => {
                let (_, note) = ours.remove(at);
                if note.body.replace("\r\n", "\n") == *body {
                    synced.unchanged += 1;
                } else {
                    steps.push(Step::Update(note.id, i));
                    synced.updated += 1;
                }
            }
            None => {
                steps.push(Step::Create(i));
                synced.created += 1;
            }
        }
    }
    for (_, note) in ours {
        steps.push(Step::Delete(note.id));
        synced.deleted += 1;
    }
    (steps, synced, foreign)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(config: &str, domain: &str) -> Marker {
        Marker {
            kind: "plan".into(),
            config: config.into(),
            domain: domain.into(),
            part: None,
        }
    }

    #[test]
    fn markers_round_trip_and_cannot_end_the_comment_early() {
        let m = Marker {
            part: Some((2, 3)),
            ..marker("configs/a b-->c.yaml", "t.eu.auth0.com")
        };
        let line = m.line();
        assert_eq!(
            line,
            "<!-- orgsync:plan config=configs/a%20b--%3Ec.yaml domain=t.eu.auth0.com part=2/3 -->"
        );
        assert_eq!(line.matches("-->").count(), 1);
        let parsed = Marker::parse(&format!("{line}\nbody")).unwrap();
        assert_eq!(parsed.part, Some((2, 3)));
        assert!(m.same_place(&parsed));
        assert!(!marker("other.yaml", "t.eu.auth0.com").same_place(&parsed));
        assert!(!marker("configs/a b-->c.yaml", "u.eu.auth0.com").same_place(&parsed));
        assert_eq!(Marker::parse("<!-- orgsync-plan -->\n"), None);
        assert_eq!(Marker::parse("hello <!-- orgsync:plan -->"), None);
    }

    #[test]
    fn config_paths_are_named_the_same_however_written() {
        assert_eq!(config_name(Path::new("./orgsync.yaml")), "orgsync.yaml");
        assert_eq!(config_name(Path::new("orgsync.d/")), "orgsync.d");
        assert_eq!(config_name(Path::new("a/./b.yaml")), "a/b.yaml");
        assert_eq!(config_name(Path::new("/etc/o.yaml")), "/etc/o.yaml");
    }

    fn me() -> Author {
        Author {
            id: None,
            login: "github-actions[bot]".into(),
        }
    }

    fn note(id: u64, body: &str) -> Note {
        Note {
            id,
            body: body.into(),
            author: Some(me()),
        }
    }

    fn note_by(id: u64, body: &str, login: &str, user_id: Option<u64>) -> Note {
        Note {
            author: Some(Author {
                id: user_id,
                login: login.into(),
            }),
            ..note(id, body)
        }
    }

    #[test]
    fn parts_are_updated_in_place_created_and_the_extra_ones_deleted() {
        let m = marker("orgsync.yaml", "t.auth0.com");
        let bodies = |n: usize| -> Vec<String> {
            (1..=n)
                .map(|i| {
                    let line = Marker {
                        part: Some((i, n)),
                        ..m.clone()
                    }
                    .line();
                    format!("{line}\npart {i}")
                })
                .collect()
        };
        let three = bodies(3);
        // First run: three new comments.
        let (steps, synced, _) = sync_steps(&m, &[note(1, "hi")], &three, &me());
        assert_eq!(steps, [Step::Create(0), Step::Create(1), Step::Create(2)]);
        assert_eq!(synced.created, 3);
        // Then one part: the first is updated, the others deleted; another config's comment
        // and an unmarked one are left alone.
        let other = Marker {
            part: Some((2, 3)),
            ..marker("other.yaml", "t.auth0.com")
        }
        .line();
        let notes = [
            note(1, "hi"),
            note(10, &three[0]),
            note(11, &three[1]),
            note(12, &format!("{other}\nx")),
            note(13, &three[2]),
        ];
        let (steps, synced, _) = sync_steps(&m, &notes, &bodies(1), &me());
        assert_eq!(
            steps,
            [Step::Update(10, 0), Step::Delete(11), Step::Delete(13)]
        );
        assert_eq!((synced.updated, synced.deleted), (1, 2));
        // A part already holding its text is not sent again.
        let (steps, synced, _) = sync_steps(&m, &notes[..2], &three[..1], &me());
        assert_eq!((steps.len(), synced.unchanged), (0, 1));
    }

    #[test]
    fn only_our_authors_comments_are_acted_on_and_each_id_once() {
        let m = marker("orgsync.yaml", "t.auth0.com");
        let line = Marker {
            part: Some((1, 1)),
            ..m.clone()
        }
        .line();
        let body = format!("{line}\nnew plan");
        let old = format!("{line}\nold plan");
        // Another user's comment with our marker, posted first; then ours; then ours again
        // (listed twice); then one with no author; then one with our login but another id.
        let notes = [
            note_by(1, &old, "mallory", Some(66)),
            note(2, &old),
            note(2, &old),
            Note {
                author: None,
                ..note(3, &old)
            },
        ];
        let (steps, synced, foreign) = sync_steps(&m, &notes, std::slice::from_ref(&body), &me());
        assert_eq!(steps, [Step::Update(2, 0)]);
        assert_eq!((synced.updated, synced.deleted), (1, 0));
        let foreign: Vec<u64> = foreign.iter().map(|n| n.id).collect();
        assert_eq!(foreign, [1, 3]);
        let warning = foreign_warning(&notes[0], &me());
        assert!(warning.contains("comment 1 by `mallory`"), "{warning}");
        assert!(warning.contains("left alone"), "{warning}");
        // Only foreign comments: ours is created, none touched.
        let (steps, _, foreign) = sync_steps(&m, &notes[..1], std::slice::from_ref(&body), &me());
        assert_eq!((steps, foreign.len()), (vec![Step::Create(0)], 1));
        // By id when both have one: a renamed login is still us, a taken login is not.
        let me_id = Author {
            id: Some(5),
            login: "orgsync-bot".into(),
        };
        assert!(me_id.is(Some(&note_by(9, "", "renamed", Some(5)).author.unwrap())));
        assert!(!me_id.is(Some(
            &note_by(9, "", "orgsync-bot", Some(6)).author.unwrap()
        )));
        assert!(
            me().is(Some(
                &note_by(9, "", "GitHub-Actions[bot]", Some(41898282))
                    .author
                    .unwrap()
            ))
        );
        assert!(!me().is(None));
    }

    #[test]
    fn a_long_plan_becomes_a_numbered_series_within_the_limit() {
        let m = marker("orgsync.yaml", "t.auth0.com");
        let mut md = String::from("<!-- orgsync-plan -->\n### orgsync plan\n");
        md.push_str("\n<details><summary>acme</summary>\n\n```diff\n");
        for i in 0..500 {
            md.push_str(&format!("- auth0|{i:010} someone{i}@acme.example\n"));
        }
        md.push_str("```\n\n</details>\n");
        let bodies = plan_bodies(&m, &md, 2_000).unwrap();
        let n = bodies.len();
        assert!(n > 5, "{n}");
        for (i, b) in bodies.iter().enumerate() {
            assert!(b.len() <= 2_000, "{}", b.len());
            let parsed = Marker::parse(b).unwrap();
            assert_eq!(parsed.part, Some((i + 1, n)));
            assert!(b.contains(&format!("part {} of {n}", i + 1)), "{b}");
        }
        assert_eq!(plan_bodies(&m, "short\n", 65_536).unwrap().len(), 1);
        assert!(!plan_bodies(&m, "short\n", 65_536).unwrap()[0].contains("part 1 of"));
        assert!(plan_bodies(&marker(&"x".repeat(900), "t"), "x\n", 1_000).is_err());
    }
}
