//! The apply report as a pull-request comment (the text twin is [`super::report`]): a heading
//! saying whether the run completed, the counts, where its audit record is, and the account as
//! printed, cut to fit the comment.

use super::{Report, write_report};

/// Where a run's audit record is, for the apply comment: a reviewer can check the log against
/// the anchor and ask for the evidence.
#[derive(Debug, Clone)]
pub struct AuditAnchor {
    /// The log's file name.
    pub log: String,
    pub run_id: String,
    /// The sha256 of the log's last line after the run.
    pub last_sha256: Option<String>,
}

/// The apply report as a comment: its marker, a heading saying whether it completed, the
/// counts, where its audit record is, and the account as printed, cut to `limit` bytes.
pub fn apply_markdown(
    marker: &str,
    domain: &str,
    report: &Report,
    audit: Option<&AuditAnchor>,
    limit: usize,
) -> String {
    let status = if report.interrupted {
        "interrupted"
    } else if report.success() {
        "done"
    } else {
        "did not complete"
    };
    let mut head = format!(
        "{}\n### orgsync apply to `{}`: {status}\n\n",
        marker,
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
    if let Some(a) = audit {
        let tick = |s: &str| crate::text::clean(s).replace('`', "'");
        head.push_str(&format!(
            "Audit log `{}`, run `{}`{}. Evidence: `orgsync audit report {0} --run {1}`; check: `orgsync audit verify {0}`.\n\n",
            tick(&a.log),
            tick(&a.run_id),
            a.last_sha256
                .as_deref()
                .map(|h| format!("; its last line's sha256 (the anchor) is `{}`", tick(h)))
                .unwrap_or_default()
        ));
    }
    let mut account = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_report(report, &mut account);
    // Scrubbed before it is cut to fit.
    let account = crate::secrets::scrub(&String::from_utf8_lossy(&account)).replace("```", "'''");
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

    #[test]
    fn the_apply_comment_tells_the_outcome_and_fits() {
        let m = "<!-- orgsync:apply config=orgsync.yaml domain=t.auth0.com -->";
        let mut report = Report {
            organizations: vec![OrgOutcome {
                id: "org_1".into(),
                name: "acme".into(),
                removed: vec!["auth0|1".into(), "auth0|2".into()],
                ..OrgOutcome::default()
            }],
            ..Report::default()
        };
        let md = apply_markdown(m, "t.auth0.com", &report, None, 65_536);
        assert!(md.starts_with("<!-- orgsync:apply config=orgsync.yaml domain=t.auth0.com -->\n"));
        assert!(md.contains(": done\n"), "{md}");
        assert!(md.contains("| 2 | 0 | 0 | 0 | 0 | 0 |"), "{md}");
        assert!(md.contains("Apply: 2 removed"), "{md}");
        report.organizations[0].failed = (0..200)
            .map(|i| (format!("auth0|f{i}"), "```403```".to_string()))
            .collect();
        let md = apply_markdown(m, "t.auth0.com", &report, None, 2_000);
        assert!(md.len() <= 2_000, "{}", md.len());
        assert!(md.contains(": did not complete\n"), "{md}");
        assert!(md.contains("cut to fit"), "{md}");
        assert_eq!(md.matches("```").count(), 2, "the fence stays whole: {md}");
    }
}
