//! `orgsync audit report`: the log turned into evidence an auditor reads, per run: when, which
//! tenant, which change (commit, pull request, run URL), who was removed from which
//! organization (user_id, email, name, the roles they held), invitations revoked, what failed or
//! is unknown, whether removals were seen gone (`--wait`), and the chain's verdict. Markdown for
//! a ticket or a pull request, JSON for a GRC tool.
//!
//! It is built from the log alone, as it streams; a line that does not parse is skipped here
//! (the verdict, from [`super::verify`], names it).

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use serde::Serialize;
use serde_json::Value;

use super::verify::{LONGEST_LINE, Verdict};

/// The report of a log.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The log, as named on the command line.
    pub log: String,
    pub chain: Chain,
    pub runs: Vec<RunReport>,
}

/// The chain's verdict, as `audit verify` gives it.
#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    pub holds: bool,
    pub lines: usize,
    pub last_sha256: Option<String>,
    /// The first line that fails, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<String>,
}

impl From<&Verdict> for Chain {
    fn from(v: &Verdict) -> Chain {
        Chain {
            holds: v.holds(),
            lines: v.lines,
            last_sha256: v.last_sha256.clone(),
            first_failure: v
                .failure
                .as_ref()
                .map(|f| format!("line {}: {}", f.line, f.message)),
        }
    }
}

/// One run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub domain: String,
    /// The time of its first line, and of its last.
    pub started: String,
    pub ended: String,
    /// Where the change came from (the `start` line's provenance), as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    /// The saved plan applied, by file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Every member a DELETE was sent for, with what came of it.
    pub members: Vec<MemberLine>,
    /// Every invitation a DELETE was sent for, with what came of it.
    pub invitations: Vec<InvitationLine>,
    /// The run's summary line, as written; `None` when the run has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Value>,
}

/// A member of a removal call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MemberLine {
    pub organization_id: String,
    pub organization_name: String,
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The roles held before the removal (names), when they were recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// `removed`, `failed`, `unknown`; `unknown` also for an intent without an outcome line.
    pub outcome: String,
}

/// An invitation of a revocation call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InvitationLine {
    pub organization_name: String,
    pub invitation_id: String,
    pub invitee_email: String,
    pub outcome: String,
}

/// Which runs to report.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these runs (all when empty).
    pub runs: Vec<String>,
    /// Only runs started at or after this time (`YYYY-MM-DD` or RFC 3339 UTC).
    pub since: Option<String>,
}

/// Builds the report of the log read from `input`, with `verdict` from [`super::verify`].
pub fn build(input: impl BufRead, log: &str, verdict: &Verdict, filter: &Filter) -> Report {
    let mut runs: BTreeMap<String, RunReport> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    // Calls by (run, number): the line indexes of their members in the run's list.
    let mut calls: BTreeMap<(String, u64), Vec<usize>> = BTreeMap::new();
    let mut invitation_calls: BTreeMap<(String, u64), usize> = BTreeMap::new();
    for_each_record(input, |r| {
        let (Some(run), Some(event)) = (str_of(&r, "run_id"), str_of(&r, "event")) else {
            return;
        };
        let time = str_of(&r, "time").unwrap_or_default();
        let rep = runs.entry(run.clone()).or_insert_with(|| {
            order.push(run.clone());
            RunReport {
                run_id: run.clone(),
                domain: str_of(&r, "domain").unwrap_or_default(),
                started: time.clone(),
                ..RunReport::default()
            }
        });
        rep.ended = time;
        let call = r.get("call").and_then(Value::as_u64);
        match (event.as_str(), call) {
            ("start", _) => {
                rep.provenance = r.get("provenance").cloned();
                rep.plan_sha256 = str_of(&r, "plan_sha256");
                rep.plan_file = str_of(&r, "plan_file");
                rep.client_id = str_of(&r, "client_id");
            }
            ("intent", Some(c)) => {
                let org_id = str_of(&r, "organization_id").unwrap_or_default();
                let org_name = str_of(&r, "organization_name").unwrap_or_default();
                if let Some(inv) = str_of(&r, "invitation_id") {
                    invitation_calls.insert((run.clone(), c), rep.invitations.len());
                    rep.invitations.push(InvitationLine {
                        organization_name: org_name,
                        invitation_id: inv,
                        invitee_email: str_of(&r, "invitee_email").unwrap_or_default(),
                        outcome: "unknown".into(),
                    });
                    return;
                }
                let people = r.get("members").and_then(Value::as_array);
                let roles = r.get("roles").and_then(Value::as_array);
                let mut lines = Vec::new();
                for u in r
                    .get("user_ids")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    let person = people.and_then(|p| {
                        p.iter()
                            .find(|x| x.get("user_id").and_then(Value::as_str) == Some(u))
                    });
                    let held = roles.and_then(|rs| {
                        rs.iter()
                            .find(|x| x.get("user_id").and_then(Value::as_str) == Some(u))
                    });
                    lines.push(rep.members.len());
                    rep.members.push(MemberLine {
                        organization_id: org_id.clone(),
                        organization_name: org_name.clone(),
                        user_id: u.to_string(),
                        email: person.and_then(|p| str_of(p, "email")),
                        name: person.and_then(|p| str_of(p, "name")),
                        roles: roles.map(|_| {
                            held.and_then(|h| h.get("roles"))
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                                .filter_map(|x| str_of(x, "name").or_else(|| str_of(x, "id")))
                                .collect()
                        }),
                        outcome: "unknown".into(),
                    });
                }
                calls.insert((run.clone(), c), lines);
            }
            ("summary", _) => rep.summary = Some(r.clone()),
            (_, Some(c)) => {
                let outcome = str_of(&r, "outcome").unwrap_or_else(|| "unknown".into());
                let outcome = if outcome == "gone" {
                    "already gone".to_string()
                } else {
                    outcome
                };
                if let Some(lines) = calls.get(&(run.clone(), c)) {
                    for &i in lines {
                        if let Some(m) = rep.members.get_mut(i) {
                            m.outcome = outcome.clone();
                        }
                    }
                }
                if let Some(&i) = invitation_calls.get(&(run.clone(), c))
                    && let Some(inv) = rep.invitations.get_mut(i)
                {
                    inv.outcome = outcome.replace("removed", "revoked");
                }
            }
            _ => {}
        }
    });
    let runs = order
        .into_iter()
        .filter_map(|id| runs.remove(&id))
        .filter(|r| filter.runs.is_empty() || filter.runs.contains(&r.run_id))
        .filter(|r| {
            filter
                .since
                .as_deref()
                .is_none_or(|since| r.started.as_str() >= since)
        })
        .collect();
    Report {
        log: log.to_string(),
        chain: Chain::from(verdict),
        runs,
    }
}

/// Calls `f` with each line that parses as a JSON object; lines are read with a cap of
/// [`LONGEST_LINE`] bytes each.
fn for_each_record(mut input: impl BufRead, mut f: impl FnMut(Value)) {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match std::io::Read::take(&mut input, LONGEST_LINE as u64 + 1).read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if let Ok(v @ Value::Object(_)) = serde_json::from_slice::<Value>(&buf) {
            f(v);
        }
    }
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Text from the log made safe inside Markdown: control characters escaped, and the
/// characters that would start markup (`|`, `<`, `` ` ``, `*`, `_`, `[`) escaped.
fn md(s: &str) -> String {
    crate::text::clean(s)
        .chars()
        .flat_map(|c| match c {
            '|' | '`' | '*' | '_' | '[' | ']' | '\\' => vec!['\\', c],
            '<' => "&lt;".chars().collect(),
            '>' => "&gt;".chars().collect(),
            c => vec![c],
        })
        .collect()
}

/// The report as Markdown.
pub fn markdown(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "# orgsync audit report: {}\n", md(&r.log))?;
    match (&r.chain.first_failure, &r.chain.last_sha256) {
        (None, Some(last)) => writeln!(
            out,
            "**Chain: intact** ({} lines). Last line sha256: `{last}` — compare it with the copy kept outside the log (CI artifact, apply comment).\n",
            r.chain.lines
        )?,
        (None, None) => writeln!(out, "**Chain: empty log.**\n")?,
        (Some(f), _) => writeln!(
            out,
            "**Chain: BROKEN** — {}. What follows is what the log says, and cannot be relied on past that line.\n",
            md(f)
        )?,
    }
    if r.runs.is_empty() {
        writeln!(out, "No run matches.")?;
    }
    for run in &r.runs {
        run_markdown(run, out)?;
    }
    Ok(())
}

fn run_markdown(run: &RunReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "## Run `{}` on `{}`\n",
        md(&run.run_id),
        md(&run.domain)
    )?;
    writeln!(
        out,
        "- **When:** {} to {}",
        md(&run.started),
        md(&run.ended)
    )?;
    writeln!(out, "- **Change:** {}", change_text(run))?;
    if let Some(sha) = &run.plan_sha256 {
        let file = run
            .plan_file
            .as_deref()
            .map(|f| format!("saved plan `{}`, ", md(f)))
            .unwrap_or_default();
        writeln!(out, "- **Plan:** {file}sha256 `{}`", md(sha))?;
    }
    if let Some(c) = &run.client_id {
        writeln!(out, "- **Client:** `{}`", md(c))?;
    }
    writeln!(out, "- **Result:** {}", result_text(run))?;
    if !run.members.is_empty() {
        writeln!(
            out,
            "\n| organization | user_id | email | name | roles held | outcome |\n|---|---|---|---|---|---|"
        )?;
        for m in &run.members {
            writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} |",
                md(&m.organization_name),
                md(&m.user_id),
                m.email.as_deref().map(md).unwrap_or_default(),
                m.name.as_deref().map(md).unwrap_or_default(),
                match &m.roles {
                    None => "not recorded".to_string(),
                    Some(r) if r.is_empty() => "none".to_string(),
                    Some(r) => r.iter().map(|x| md(x)).collect::<Vec<_>>().join(", "),
                },
                md(&m.outcome)
            )?;
        }
    }
    if !run.invitations.is_empty() {
        writeln!(
            out,
            "\n| organization | invitation | invitee | outcome |\n|---|---|---|---|"
        )?;
        for i in &run.invitations {
            writeln!(
                out,
                "| {} | `{}` | {} | {} |",
                md(&i.organization_name),
                md(&i.invitation_id),
                md(&i.invitee_email),
                md(&i.outcome)
            )?;
        }
    }
    writeln!(out)
}

/// Commit, pull request, actor and run URL, as far as the run recorded them.
fn change_text(run: &RunReport) -> String {
    let Some(p) = &run.provenance else {
        return "not recorded (no Git or CI information at the time of the run)".into();
    };
    let mut parts = Vec::new();
    if let Some(ci) = p.get("ci") {
        if let Some(pr) = ci.get("pull_request") {
            let n = pr.get("number").and_then(Value::as_u64).unwrap_or(0);
            match str_of(pr, "url") {
                Some(url) => parts.push(format!("pull request [#{n}]({})", md(&url))),
                None => parts.push(format!("pull request #{n}")),
            }
        }
        if let Some(c) = str_of(ci, "commit") {
            parts.push(format!("commit `{}`", md(&c)));
        }
        if let Some(r) = str_of(ci, "repository") {
            parts.push(format!("in `{}`", md(&r)));
        }
        if let Some(a) = str_of(ci, "actor") {
            parts.push(format!("by `{}`", md(&a)));
        }
        if let Some(u) = str_of(ci, "run_url") {
            parts.push(format!("[CI run]({})", md(&u)));
        }
    }
    if let Some(g) = p.get("git") {
        let clean = match g.get("clean").and_then(Value::as_bool) {
            Some(true) => "clean",
            Some(false) => "with uncommitted changes to the config",
            None => "state unknown",
        };
        parts.push(format!(
            "config at commit `{}` ({clean})",
            md(&str_of(g, "commit").unwrap_or_default())
        ));
    }
    parts.join(", ")
}

/// The summary's counts in words.
fn result_text(run: &RunReport) -> String {
    let Some(s) = &run.summary else {
        return "**no summary: the run did not finish** (killed, or its last lines are gone)"
            .into();
    };
    let n = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0);
    let mut text = format!(
        "{} removed, {} not removed, {} unknown, {} already gone; {} invitations revoked, {} not revoked",
        n("removed"),
        n("not_removed"),
        n("unknown"),
        n("already_gone"),
        n("revoked"),
        n("not_revoked")
    );
    if n("blocked_organizations") > 0 {
        text.push_str(&format!(
            "; {} organizations blocked by a guard",
            n("blocked_organizations")
        ));
    }
    text.push_str(match s.get("visible").and_then(Value::as_bool) {
        Some(true) => "; removals verified gone from the tenant (`--wait`)",
        Some(false) => "; removals **not** yet visible when `--wait` ran out",
        None => "; removals not verified (no `--wait`)",
    });
    if s.get("interrupted") == Some(&Value::Bool(true)) {
        text.push_str("; **interrupted**");
    }
    match s.get("success").and_then(Value::as_bool) {
        Some(true) => text.push_str("; success"),
        _ => {
            let why = str_of(s, "error")
                .map(|e| format!(": {}", md(&e)))
                .unwrap_or_default();
            text.push_str(&format!("; **did not succeed**{why}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::verify::verify;
    use super::*;

    const LOG: &str = concat!(
        r#"{"prev_sha256":null,"run_id":"r1","time":"2026-12-01T10:00:00.000Z","event":"start","domain":"t.example","plan_sha256":"abc","plan_file":"plan.json","provenance":{"ci":{"system":"github_actions","commit":"0123abc","pull_request":{"number":42,"url":"https://github.com/acme/access/pull/42"},"actor":"ada","run_url":"https://github.com/acme/access/actions/runs/9"}}}"#,
        "\n",
        r#"{"prev_sha256":"x","run_id":"r1","time":"2026-12-01T10:00:01.000Z","event":"intent","domain":"t.example","call":1,"organization_id":"org_1","organization_name":"acme","user_ids":["auth0|1"],"roles":[{"user_id":"auth0|1","roles":[{"id":"rol_1","name":"admin"}]}],"members":[{"user_id":"auth0|1","email":"ada@acme.example","name":"Ada | L"}]}"#,
        "\n",
        r#"{"prev_sha256":"x","run_id":"r1","time":"2026-12-01T10:00:02.000Z","event":"delete","domain":"t.example","call":1,"outcome":"removed"}"#,
        "\n",
        r#"{"prev_sha256":"x","run_id":"r1","time":"2026-12-01T10:00:03.000Z","event":"summary","domain":"t.example","removed":1,"success":true,"visible":true}"#,
        "\n",
        r#"{"prev_sha256":"x","run_id":"r2","time":"2026-12-03T10:00:00.000Z","event":"summary","domain":"t.example","success":false,"error":"not approved"}"#,
        "\n",
    );

    #[test]
    fn a_run_reads_as_evidence() {
        let verdict = verify(LOG.as_bytes());
        let r = build(LOG.as_bytes(), "audit.jsonl", &verdict, &Filter::default());
        assert_eq!(r.runs.len(), 2);
        let m = &r.runs[0].members[0];
        assert_eq!(
            (m.user_id.as_str(), m.outcome.as_str()),
            ("auth0|1", "removed")
        );
        assert_eq!(m.roles.as_deref(), Some(&["admin".to_string()][..]));
        let mut out = Vec::new();
        markdown(&r, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("**Chain: BROKEN** — line 2"), "{text}");
        assert!(
            text.contains("pull request [#42](https://github.com/acme/access/pull/42)"),
            "{text}"
        );
        assert!(
            text.contains(
                "| acme | `auth0\\|1` | ada@acme.example | Ada \\| L | admin | removed |"
            ),
            "{text}"
        );
        assert!(
            text.contains("removals verified gone from the tenant"),
            "{text}"
        );
        assert!(text.contains("**did not succeed**: not approved"), "{text}");
    }

    #[test]
    fn runs_are_chosen_by_id_and_date() {
        let verdict = verify(LOG.as_bytes());
        let only = |f: Filter| -> Vec<String> {
            build(LOG.as_bytes(), "l", &verdict, &f)
                .runs
                .into_iter()
                .map(|r| r.run_id)
                .collect()
        };
        assert_eq!(
            only(Filter {
                runs: vec!["r2".into()],
                since: None
            }),
            ["r2"]
        );
        assert_eq!(
            only(Filter {
                runs: vec![],
                since: Some("2026-12-02".into())
            }),
            ["r2"]
        );
    }
}
