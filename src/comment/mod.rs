//! Pull-request comments that keep themselves up to date (`--comment github|gitlab`).
//!
//! `plan` posts its Markdown plan to the pull request (GitHub) or merge request (GitLab) and,
//! on every later run, updates the same comment instead of adding one. Each comment starts
//! with a hidden marker, `<!-- orgsync:plan config=… domain=… part=i/n -->`, and is found again
//! by listing every comment of the pull request (all pages) and matching the marker's config
//! and domain: comments are matched on the marker alone, never on who wrote them (GitHub's
//! `GET /user` does not work with an Actions token), so a marker for another config or tenant
//! is left alone. A plan longer than one comment allows goes out as a numbered series
//! (`split`), kept in step on later runs: parts updated in place, new ones created, extra old
//! ones deleted. `apply` posts its result as a new comment each run (a record), marked
//! `orgsync:apply`.
//!
//! Commenting comes after the plan or report is printed and never hides the run's own exit
//! code: a failure is printed as `error: …` with the API's answer and a hint, and turns a
//! success into exit 1. The token goes only in a request header and is scrubbed from any text
//! the API sends back.

mod github;
mod gitlab;
mod http;
pub mod split;

use std::io::Write;
use std::path::{Component, Path};

use crate::apply::{Report, write_report};
use crate::cli::{CommentArgs, Forge};
use crate::error::{Exit, Failure};
use crate::plan::Plan;
use crate::render;
use crate::text::plural;

/// The most pages of 100 comments read when looking for the plan's comments.
const fn next_page_cap() -> usize {
    100
}

/// An environment variable, None when unset or empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A comment as listed.
#[derive(Debug, Clone)]
struct Note {
    id: u64,
    body: String,
}

impl Note {
    fn from_json(v: &serde_json::Value) -> Option<Note> {
        Some(Note {
            id: v.get("id")?.as_u64()?,
            body: v.get("body")?.as_str()?.to_string(),
        })
    }
}

/// The pull request or merge request commented on.
enum Api {
    GitHub(github::GitHub),
    GitLab(gitlab::GitLab),
}

impl Api {
    async fn from_env(forge: Forge, pr: Option<u64>, merged: bool) -> Result<Api, Failure> {
        Ok(match forge {
            Forge::Github => Api::GitHub(github::GitHub::from_env(pr, merged).await?),
            Forge::Gitlab => Api::GitLab(gitlab::GitLab::from_env(pr, merged).await?),
        })
    }
    fn limit(&self) -> usize {
        match self {
            Api::GitHub(_) => github::LIMIT,
            Api::GitLab(_) => gitlab::LIMIT,
        }
    }
    fn place(&self) -> String {
        match self {
            Api::GitHub(a) => a.place(),
            Api::GitLab(a) => a.place(),
        }
    }
    async fn list(&self) -> Result<Vec<Note>, Failure> {
        match self {
            Api::GitHub(a) => a.list().await,
            Api::GitLab(a) => a.list().await,
        }
    }
    async fn create(&self, body: &str) -> Result<u64, Failure> {
        match self {
            Api::GitHub(a) => a.create(body).await,
            Api::GitLab(a) => a.create(body).await,
        }
    }
    async fn update(&self, id: u64, body: &str) -> Result<(), Failure> {
        match self {
            Api::GitHub(a) => a.update(id, body).await,
            Api::GitLab(a) => a.update(id, body).await,
        }
    }
    async fn delete(&self, id: u64) -> Result<(), Failure> {
        match self {
            Api::GitHub(a) => a.delete(id).await,
            Api::GitLab(a) => a.delete(id).await,
        }
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

/// The exit code after commenting: the run's own when that is not success; 1 when commenting
/// failed after a success.
fn keep(exit: Exit, failed: bool) -> Exit {
    if failed && exit == Exit::Success {
        Exit::Error
    } else {
        exit
    }
}

/// After `plan` printed the plan: posts it (`--comment`), and appends it to
/// GITHUB_STEP_SUMMARY. Failures are printed here; returns the exit code to end with.
pub async fn after_plan(
    args: &CommentArgs,
    config: &Path,
    plan: &Plan,
    exit: Exit,
    quiet: bool,
) -> Exit {
    let Some(forge) = args.comment else {
        return exit;
    };
    let mut md = Vec::new();
    if let Err(e) = render::markdown(plan, usize::MAX, &mut md) {
        Failure::from(e).print();
        return keep(exit, true);
    }
    let md = String::from_utf8_lossy(&md);
    // The comment's own marker (below) names the config and domain: the renderer's generic
    // first line is left out.
    let md = md
        .strip_prefix(render::MARKDOWN_MARKER)
        .map_or(&*md, |rest| rest.trim_start_matches('\n'))
        .to_string();
    let mut failed = false;
    if forge == Forge::Github
        && let Err(f) = append_step_summary(&md)
    {
        f.print();
        failed = true;
    }
    let marker = Marker {
        kind: "plan".into(),
        config: config_name(config),
        domain: plan.domain.clone(),
        part: None,
    };
    match post_plan(forge, args, &marker, &md).await {
        Ok(done) if !quiet => crate::secrets::errln!("{done}"),
        Ok(_) => {}
        Err(f) => {
            f.print();
            failed = true;
        }
    }
    keep(exit, failed)
}

/// After `apply` printed its report: posts it as a new comment (`--comment`). Failures are
/// printed here; returns the exit code for an apply that otherwise succeeded.
pub async fn after_apply(
    args: &CommentArgs,
    config: &Path,
    domain: &str,
    report: &Report,
    quiet: bool,
) -> Exit {
    let Some(forge) = args.comment else {
        return Exit::Success;
    };
    let marker = Marker {
        kind: "apply".into(),
        config: config_name(config),
        domain: domain.to_string(),
        part: None,
    };
    let posted = async {
        let api = Api::from_env(forge, args.pr, true).await?;
        let limit = args.comment_limit.unwrap_or(usize::MAX).min(api.limit());
        let body = apply_markdown(&marker, domain, report, limit);
        api.create(&body).await?;
        Ok::<_, Failure>(format!("Apply result posted to {}.", api.place()))
    }
    .await;
    match posted {
        Ok(done) => {
            if !quiet {
                crate::secrets::errln!("{done}");
            }
            Exit::Success
        }
        Err(f) => {
            f.print();
            Exit::Error
        }
    }
}

/// Appends the plan to the file GITHUB_STEP_SUMMARY names (when it is set).
fn append_step_summary(md: &str) -> Result<(), Failure> {
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
                render::clean(&path)
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

/// Posts the plan: lists the comments, updates the plan's own parts in place, creates the
/// missing ones, deletes the extra ones; says what it did.
async fn post_plan(
    forge: Forge,
    args: &CommentArgs,
    marker: &Marker,
    md: &str,
) -> Result<String, Failure> {
    let api = Api::from_env(forge, args.pr, false).await?;
    let limit = args.comment_limit.unwrap_or(usize::MAX).min(api.limit());
    let bodies = plan_bodies(marker, md, limit)?;
    let notes = api.list().await?;
    let (steps, synced) = sync_steps(marker, &notes, &bodies);
    for step in steps {
        match step {
            Step::Create(i) => {
                api.create(&bodies[i]).await?;
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

/// The calls that turn the plan's existing comments (those whose marker names the same config
/// and domain) into `bodies`: part i goes to the first existing comment marked part i, else to
/// a new comment; every other comment of the plan is deleted. A comment already holding its
/// part is left as it is.
fn sync_steps(marker: &Marker, notes: &[Note], bodies: &[String]) -> (Vec<Step>, Synced) {
    let mut ours: Vec<(usize, &Note)> = notes
        .iter()
        .filter_map(|n| {
            let m = Marker::parse(&n.body)?;
            marker
                .same_place(&m)
                .then(|| (m.part.map_or(1, |p| p.0), n))
        })
        .collect();
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
    (steps, synced)
}

/// The apply report as a comment: its marker, a heading saying whether it completed, the
/// counts, and the account as printed, cut to `limit` bytes.
fn apply_markdown(marker: &Marker, domain: &str, report: &Report, limit: usize) -> String {
    let status = if report.interrupted {
        "interrupted"
    } else if report.success() {
        "done"
    } else {
        "did not complete"
    };
    let mut head = format!(
        "{}\n### orgsync apply to `{}`: {status}\n\n",
        marker.line(),
        domain.replace('`', "'")
    );
    head.push_str("| removed | not removed | outcome unknown | already gone | skipped | organizations blocked | invitations revoked | not revoked |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    head.push_str(&format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} |\n\n",
        report.removed(),
        report.not_removed(),
        report.unknown(),
        report.already_gone(),
        report.skipped(),
        report.blocked(),
        report.revoked(),
        report.not_revoked()
    ));
    let mut account = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_report(report, &mut account);
    let account = String::from_utf8_lossy(&account).replace("```", "'''");
    let open = "<details><summary>The account</summary>\n\n```text\n";
    let close = "```\n\n</details>\n";
    const CUT_NOTE: &str = "… (cut to fit the comment; the run's log has the whole account)\n";
    let room = limit.saturating_sub(head.len() + open.len() + close.len() + CUT_NOTE.len());
    let mut body = String::new();
    let mut cut = false;
    for line in account.split_inclusive('\n') {
        if body.len() + line.len() > room {
            cut = true;
            break;
        }
        body.push_str(line);
    }
    if cut {
        body.push_str(CUT_NOTE);
    }
    format!("{head}{open}{body}{close}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::OrgOutcome;

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

    fn note(id: u64, body: &str) -> Note {
        Note {
            id,
            body: body.into(),
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
        let (steps, synced) = sync_steps(&m, &[note(1, "hi")], &three);
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
        let (steps, synced) = sync_steps(&m, &notes, &bodies(1));
        assert_eq!(
            steps,
            [Step::Update(10, 0), Step::Delete(11), Step::Delete(13)]
        );
        assert_eq!((synced.updated, synced.deleted), (1, 2));
        // A part already holding its text is not sent again.
        let (steps, synced) = sync_steps(&m, &notes[..2], &three[..1]);
        assert_eq!((steps.len(), synced.unchanged), (0, 1));
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

    #[test]
    fn the_apply_comment_tells_the_outcome_and_fits() {
        let m = Marker {
            kind: "apply".into(),
            ..marker("orgsync.yaml", "t.auth0.com")
        };
        let mut report = Report {
            organizations: vec![OrgOutcome {
                id: "org_1".into(),
                name: "acme".into(),
                removed: vec!["auth0|1".into(), "auth0|2".into()],
                ..OrgOutcome::default()
            }],
            ..Report::default()
        };
        let md = apply_markdown(&m, "t.auth0.com", &report, 65_536);
        assert!(md.starts_with("<!-- orgsync:apply config=orgsync.yaml domain=t.auth0.com -->\n"));
        assert!(md.contains(": done\n"), "{md}");
        assert!(md.contains("| 2 | 0 | 0 | 0 | 0 | 0 |"), "{md}");
        assert!(md.contains("Apply: 2 removed"), "{md}");
        report.organizations[0].failed = (0..200)
            .map(|i| (format!("auth0|f{i}"), "```403```".to_string()))
            .collect();
        let md = apply_markdown(&m, "t.auth0.com", &report, 2_000);
        assert!(md.len() <= 2_000, "{}", md.len());
        assert!(md.contains(": did not complete\n"), "{md}");
        assert!(md.contains("cut to fit"), "{md}");
        assert_eq!(md.matches("```").count(), 2, "the fence stays whole: {md}");
    }
}
