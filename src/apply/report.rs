//! The account of a run: what was removed, not removed and why, of unknown outcome, already
//! gone, skipped, protected or blocked, per organization; and how it is printed, with every id,
//! name and server message escaped as in the plan.

use crate::text::{clean, plural};

use super::OrgWork;

/// How one organization's removals went.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrgOutcome {
    pub id: String,
    pub name: String,
    pub removed: Vec<String>,
    /// User_ids not removed, with the reason.
    pub failed: Vec<(String, String)>,
    /// User_ids whose call may or may not have been carried out, with the reason.
    pub unknown: Vec<(String, String)>,
    pub already_gone: Vec<String>,
    pub skipped: Vec<(String, String)>,
    pub protected: Vec<String>,
    pub blocked: Option<String>,
    /// With `--wait`: whether the removals became visible in time.
    pub converged: Option<bool>,
    pub calls: usize,
    pub failed_calls: usize,
    /// Invitation ids revoked.
    pub revoked: Vec<String>,
    /// Invitation ids not revoked, with the reason.
    pub revoke_failed: Vec<(String, String)>,
    /// Invitation ids whose revocation may or may not have been carried out.
    pub revoke_unknown: Vec<(String, String)>,
    /// Invitation ids that no longer existed (404).
    pub invitations_gone: Vec<String>,
}

/// The exact account of a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub organizations: Vec<OrgOutcome>,
    /// The hints of the calls that failed (each once), for stderr.
    pub hints: Vec<String>,
    /// The audit log failed: calls stopped.
    pub audit_failed: bool,
    /// SIGINT or SIGTERM: calls stopped.
    pub interrupted: bool,
}

impl Report {
    fn sum(&self, f: impl Fn(&OrgOutcome) -> usize) -> usize {
        self.organizations.iter().map(f).sum()
    }
    pub fn removed(&self) -> usize {
        self.sum(|o| o.removed.len())
    }
    pub fn not_removed(&self) -> usize {
        self.sum(|o| o.failed.len())
    }
    pub fn unknown(&self) -> usize {
        self.sum(|o| o.unknown.len())
    }
    pub fn already_gone(&self) -> usize {
        self.sum(|o| o.already_gone.len())
    }
    pub fn skipped(&self) -> usize {
        self.sum(|o| o.skipped.len())
    }
    pub fn blocked(&self) -> usize {
        self.sum(|o| usize::from(o.blocked.is_some()))
    }
    pub fn calls(&self) -> usize {
        self.sum(|o| o.calls)
    }
    pub fn failed_calls(&self) -> usize {
        self.sum(|o| o.failed_calls)
    }
    pub fn revoked(&self) -> usize {
        self.sum(|o| o.revoked.len())
    }
    /// Invitations not revoked: failed or of unknown outcome.
    pub fn not_revoked(&self) -> usize {
        self.sum(|o| o.revoke_failed.len() + o.revoke_unknown.len())
    }
    /// Everything planned was done, nothing is unknown, nothing was blocked or stopped, and with
    /// `--wait` every removal became visible.
    pub fn success(&self) -> bool {
        !self.audit_failed
            && !self.interrupted
            && self.not_removed() == 0
            && self.unknown() == 0
            && self.not_revoked() == 0
            && self.blocked() == 0
            && self
                .organizations
                .iter()
                .all(|o| o.converged != Some(false))
    }
}

/// Writes the account of a run, one line per organization that had anything to do. Ids, names
/// and reasons come from outside and are escaped, as in the plan.
pub fn write_report(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for o in &report.organizations {
        let org = format!("organization {} ({})", clean(&o.name), clean(&o.id));
        if let Some(b) = &o.blocked {
            writeln!(out, "{org}: blocked, nothing removed: {}", clean(b))?;
            for (u, why) in &o.skipped {
                writeln!(out, "  skipped: {}: {}", clean(u), clean(why))?;
            }
            continue;
        }
        let mut parts = Vec::new();
        if !o.removed.is_empty() || !o.failed.is_empty() || !o.unknown.is_empty() {
            parts.push(format!("removed {}", o.removed.len()));
        }
        if !o.failed.is_empty() {
            parts.push(format!("NOT removed {}", o.failed.len()));
        }
        if !o.unknown.is_empty() {
            parts.push(format!("outcome UNKNOWN {}", o.unknown.len()));
        }
        if !o.already_gone.is_empty() {
            parts.push(format!("already gone {}", o.already_gone.len()));
        }
        if !o.skipped.is_empty() {
            parts.push(format!("skipped {}", o.skipped.len()));
        }
        if !o.protected.is_empty() {
            parts.push(format!("protected, kept {}", o.protected.len()));
        }
        if !o.revoked.is_empty() || !o.revoke_failed.is_empty() || !o.revoke_unknown.is_empty() {
            parts.push(format!(
                "{} revoked",
                plural(o.revoked.len(), "invitation", "invitations")
            ));
        }
        if !o.revoke_failed.is_empty() {
            parts.push(format!("NOT revoked {}", o.revoke_failed.len()));
        }
        if !o.revoke_unknown.is_empty() {
            parts.push(format!("revocation UNKNOWN {}", o.revoke_unknown.len()));
        }
        if !o.invitations_gone.is_empty() {
            parts.push(format!(
                "{} already gone",
                plural(o.invitations_gone.len(), "invitation", "invitations")
            ));
        }
        if parts.is_empty() {
            continue;
        }
        match o.converged {
            Some(true) => parts.push("removals visible".into()),
            Some(false) => parts.push("removals NOT yet visible when --wait ran out".into()),
            None => {}
        }
        writeln!(out, "{org}: {}", parts.join(", "))?;
        for (u, why) in &o.failed {
            writeln!(out, "  not removed: {}: {}", clean(u), clean(why))?;
        }
        for (u, why) in &o.unknown {
            writeln!(out, "  outcome unknown: {}: {}", clean(u), clean(why))?;
        }
        for u in &o.already_gone {
            writeln!(out, "  already gone: {}", clean(u))?;
        }
        for (u, why) in &o.skipped {
            writeln!(out, "  skipped: {}: {}", clean(u), clean(why))?;
        }
        for u in &o.protected {
            writeln!(out, "  protected, not removed: {}", clean(u))?;
        }
        for (i, why) in &o.revoke_failed {
            writeln!(
                out,
                "  invitation not revoked: {}: {}",
                clean(i),
                clean(why)
            )?;
        }
        for (i, why) in &o.revoke_unknown {
            writeln!(
                out,
                "  invitation revocation unknown: {}: {}",
                clean(i),
                clean(why)
            )?;
        }
    }
    let mut tail = String::new();
    if report.unknown() > 0 {
        tail.push_str(&format!("; {} with an unknown outcome", report.unknown()));
    }
    if report.skipped() > 0 {
        tail.push_str(&format!("; {} skipped", report.skipped()));
    }
    let blocked = report.blocked();
    if blocked > 0 {
        tail.push_str(&format!(
            "; {} blocked by a guard",
            plural(blocked, "organization", "organizations")
        ));
    }
    if report.revoked() + report.not_revoked() > 0 {
        tail.push_str(&format!(
            "; {} revoked, {} not revoked",
            plural(report.revoked(), "invitation", "invitations"),
            report.not_revoked()
        ));
    }
    if report.interrupted {
        tail.push_str("; interrupted");
    }
    writeln!(
        out,
        "Apply: {} removed, {} not removed, {} already gone, in {}{tail}.",
        report.removed(),
        report.not_removed(),
        report.already_gone(),
        plural(report.calls(), "DELETE call", "DELETE calls"),
    )?;
    Ok(())
}

/// Lists what apply is about to remove (for a saved plan, before the prompt).
pub fn write_work(
    work: &[OrgWork],
    who: &dyn Fn(&str, &str) -> Option<String>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    // A user as the plan showed them (user_id, email, name), when `who` knows them.
    let shown = |org: &str, u: &str| who(org, u).unwrap_or_else(|| clean(u));
    for w in work {
        let org = format!("organization {} ({})", clean(&w.name), clean(&w.id));
        if let Some(b) = &w.blocked {
            writeln!(out, "{org}: blocked, nothing will be removed: {}", clean(b))?;
        } else {
            if !w.remove.is_empty() {
                writeln!(out, "{org}: will remove {}", w.remove.len())?;
                for u in &w.remove {
                    writeln!(out, "  - {}", shown(&w.id, u))?;
                }
            }
            if !w.revoke.is_empty() {
                writeln!(
                    out,
                    "{org}: will revoke {}",
                    plural(w.revoke.len(), "invitation", "invitations")
                )?;
                for (id, email) in &w.revoke {
                    writeln!(out, "  - invitation {} for {}", clean(id), clean(email))?;
                }
            }
        }
        for (u, why) in &w.skipped {
            writeln!(out, "{org}: skipped: {}: {}", clean(u), clean(why))?;
        }
        for u in &w.already_gone {
            writeln!(out, "{org}: already gone: {}", shown(&w.id, u))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_escapes_what_came_from_outside() {
        let report = Report {
            organizations: vec![OrgOutcome {
                id: "org_1".into(),
                name: "acme".into(),
                removed: vec!["auth0|x\u{1b}[31m\nApply: 0 removed".into()],
                failed: vec![("a|\u{202e}b".into(), "server said \u{1b}[2J".into())],
                ..OrgOutcome::default()
            }],
            ..Report::default()
        };
        let mut out = Vec::new();
        write_report(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text}"
        );
        assert_eq!(
            text.lines().filter(|l| l.starts_with("Apply:")).count(),
            1,
            "{text}"
        );
    }

    #[test]
    fn removals_not_visible_within_wait_are_not_a_success() {
        let mut report = Report {
            organizations: vec![OrgOutcome {
                removed: vec!["a|1".into()],
                converged: Some(true),
                ..OrgOutcome::default()
            }],
            ..Report::default()
        };
        assert!(report.success());
        report.organizations[0].converged = Some(false);
        assert!(!report.success());
    }
}
