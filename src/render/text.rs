//! The plan as text: per changed organization a header and the membership diff, then the
//! summary, the re-entry and blocked notes, and the legend.

use std::io::{self, Write};

use super::diff::{LineKind, diff_lines};
use super::{TextOptions, doors_lines, invited_lines, legend, org_header, plural, summary_line};
use crate::plan::{OrgPlan, Plan};

pub(super) const RESET: &str = "\x1b[0m";

pub(super) const BOLD: &str = "\x1b[1m";

pub(super) const RED: &str = "\x1b[31m";

pub(super) const YELLOW: &str = "\x1b[33m";

pub(super) const CYAN: &str = "\x1b[36m";

pub(super) const RED_BOLD: &str = "\x1b[1;31m";

pub(super) struct Painter {
    color: bool,
}

impl Painter {
    fn line(&self, out: &mut dyn Write, style: &str, text: &str) -> io::Result<()> {
        if self.color {
            writeln!(out, "{style}{text}{RESET}")
        } else {
            writeln!(out, "{text}")
        }
    }
}

/// The plan as text: a header and a membership diff per changed organization, then the summary.
pub fn text(plan: &Plan, opts: &TextOptions, out: &mut dyn Write) -> io::Result<()> {
    let p = Painter { color: opts.color };
    for org in plan
        .organizations
        .iter()
        .filter(|o| o.has_changes() || !o.resolved_emails.is_empty() || !o.invited.is_empty())
    {
        org_text(org, &p, out)?;
    }
    let changed = plan.summary.organizations_changed;
    let total = plan.summary.organizations;
    if changed == 0 {
        writeln!(
            out,
            "No changes: the membership of {} matches the configuration.",
            plural(total, "organization", "organizations")
        )?;
    } else if changed < total {
        writeln!(
            out,
            "{} unchanged.",
            plural(total - changed, "organization", "organizations")
        )?;
    }
    writeln!(out, "{}", summary_line(plan))?;
    if plan.summary.can_rejoin > 0 {
        p.line(
            out,
            YELLOW,
            &format!(
                "Re-entry: {} could be undone by the member on their own (the `^ can rejoin` lines); removing them does not keep them out.",
                plural(plan.summary.can_rejoin, "removal", "removals")
            ),
        )?;
    }
    for n in &plan.not_checked {
        writeln!(
            out,
            "Not checked: {} (the token lacks `{}`).",
            n.check, n.scope
        )?;
    }
    if plan.summary.blocked > 0 {
        p.line(
            out,
            RED_BOLD,
            &format!(
                "Blocked: {} {} a guard; {} {} will not be applied.",
                plural(plan.summary.blocked, "organization", "organizations"),
                if plan.summary.blocked == 1 {
                    "exceeds"
                } else {
                    "exceed"
                },
                if plan.summary.blocked == 1 {
                    "its"
                } else {
                    "their"
                },
                plural(plan.remove_blocked(), "removal", "removals")
            ),
        )?;
    }
    if let Some(legend) = legend(plan, true) {
        writeln!(out, "{legend}")?;
    }
    Ok(())
}

pub(super) fn org_text(org: &OrgPlan, p: &Painter, out: &mut dyn Write) -> io::Result<()> {
    if !org.has_changes() {
        p.line(
            out,
            BOLD,
            &format!("organization {} ({}): no changes", org.name, org.id),
        )?;
        write_resolved(org, out)?;
        for line in invited_lines(org) {
            writeln!(out, "{line}")?;
        }
        return writeln!(out);
    }
    p.line(
        out,
        BOLD,
        &format!(
            "organization {} ({}): {}",
            org.name,
            org.id,
            org_header(org)
        ),
    )?;
    if let Some(b) = &org.blocked {
        p.line(
            out,
            RED_BOLD,
            &format!(
                "  blocked by {}: {}; nothing will be removed here",
                b.guard, b.message
            ),
        )?;
    }
    write_resolved(org, out)?;
    for line in diff_lines(org) {
        match line.kind {
            LineKind::Context => writeln!(out, "{}", line.text)?,
            LineKind::Hunk => p.line(out, CYAN, &line.text)?,
            LineKind::Remove => p.line(out, RED, &line.text)?,
            LineKind::Missing => p.line(out, YELLOW, &line.text)?,
            LineKind::Rejoin => p.line(out, YELLOW, &line.text)?,
        }
    }
    for line in doors_lines(org) {
        writeln!(out, "  {line}")?;
    }
    writeln!(out)
}

/// Which user_id each member declared by email resolved to.
pub(super) fn write_resolved(org: &OrgPlan, out: &mut dyn Write) -> io::Result<()> {
    for r in &org.resolved_emails {
        writeln!(out, "  email {} is {}", r.email, r.user_id)?;
    }
    Ok(())
}
