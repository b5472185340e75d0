//! Render: a plan as text (a unified diff per organization), Markdown (a pull-request comment)
//! or JSON, written to any `std::io::Write` so tests render into a `Vec<u8>` (as ripgrep's
//! printers do). Text and Markdown share the diff, so they stay in one file of about 560 lines of
//! code; its snapshot tests make up the rest.
//!
//! The text diff runs from the current membership to the desired one, one user per line with
//! email and name where known. Removals are `-` lines; declared members who are not members are
//! `!` lines rather than `+`, because orgsync never adds anyone. Colour is decided by the caller
//! (a terminal, and NO_COLOR unset) and never carries meaning on its own: the markers are always
//! there.

use std::collections::HashSet;
use std::io::{self, Write};

use similar::{DiffOp, DiffTag, group_diff_ops};

use crate::plan::{Member, OrgPlan, Plan};
use crate::reentry::{Invitation, RejoinRule};
pub use crate::text::{clean, plural};

/// Options of the text output.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    pub color: bool,
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const RED_BOLD: &str = "\x1b[1;31m";

/// Lines of context around each change in the diff.
const CONTEXT: usize = 3;

/// `Plan: 3 to remove, 6 blocked, 1 missing, 2 protected kept, in 2 of 5 organizations.`:
/// "to remove" is what apply removes; removals a guard blocks are counted apart (and only
/// shown when there are some).
pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    let blocked = if plan.remove_blocked() > 0 {
        format!(", {} blocked", plan.remove_blocked())
    } else {
        String::new()
    };
    let invitations = match (s.undeclared_invitations, s.revoke_invitations) {
        (0, _) => String::new(),
        (n, 0) => format!(
            ", {} (kept)",
            plural(n, "undeclared invitation", "undeclared invitations")
        ),
        (n, r) => format!(
            ", {} ({r} to revoke)",
            plural(n, "undeclared invitation", "undeclared invitations")
        ),
    };
    let invited = if s.invited > 0 {
        format!(", {} invited", s.invited)
    } else {
        String::new()
    };
    format!(
        "Plan: {} to remove{blocked}, {} missing{invited}, {} protected kept{invitations}, in {} of {}.",
        s.remove,
        s.missing,
        s.protected_kept,
        s.organizations_changed,
        plural(s.organizations, "organization", "organizations")
    )
}

/// One user as the diff shows them. Names and emails come from the tenant, where users can
/// set their own: control characters and bidirectional overrides are escaped, so no name can
/// forge a diff line or send escape codes to a reviewer's terminal.
pub fn describe(m: &Member) -> String {
    let mut s = clean(&m.user_id);
    if let Some(e) = &m.email {
        s.push_str("  ");
        s.push_str(&clean(e));
    }
    if let Some(n) = m.name.as_ref().filter(|n| Some(*n) != m.email.as_ref()) {
        s.push_str("  (");
        s.push_str(&clean(n));
        s.push(')');
    }
    s
}

struct Painter {
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

/// What apply removes here: all planned removals, or none of them when a guard blocks.
fn to_remove(org: &OrgPlan) -> String {
    match &org.blocked {
        None => format!("{} to remove", org.remove.len()),
        Some(_) => format!("0 to remove ({} blocked)", org.remove.len()),
    }
}

fn org_header(org: &OrgPlan) -> String {
    let mut header = format!("{}, {} missing", to_remove(org), org.missing.len());
    if !org.invited.is_empty() {
        header.push_str(&format!(", {} invited", org.invited.len()));
    }
    if !org.protected_kept.is_empty() {
        header.push_str(&format!(", {} protected kept", org.protected_kept.len()));
    }
    let undeclared = org.undeclared_invitations();
    if undeclared > 0 {
        let revoking = org.invitations_to_revoke().len();
        header.push_str(&format!(
            ", {}{}",
            plural(
                undeclared,
                "undeclared invitation",
                "undeclared invitations"
            ),
            if revoking > 0 {
                format!(" ({revoking} to revoke)")
            } else {
                String::new()
            }
        ));
    }
    header
}

/// How a member could come back, for the line under their removal.
fn rejoin_text(via: &str, by: Option<RejoinRule>) -> String {
    match by {
        Some(RejoinRule::Signup) => format!(
            "^ can rejoin: anyone can sign up into the organization through `{}`",
            clean(via)
        ),
        _ => format!(
            "^ can rejoin: logging in through `{}` makes them a member again (auto-membership)",
            clean(via)
        ),
    }
}

/// The lines about an organization's doors and invitations, below its diff.
fn doors_lines(org: &OrgPlan) -> Vec<String> {
    let mut lines = Vec::new();
    let names = |v: &[String]| {
        v.iter()
            .map(|c| format!("`{}`", clean(c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(auto) = org.auto_membership.as_ref().filter(|a| !a.is_empty()) {
        let mut line = format!("auto-membership on login: {}", names(auto));
        if let Some(signup) = org.signup_enabled.as_ref().filter(|s| !s.is_empty()) {
            line.push_str(&format!("; signup open: {}", names(signup)));
        }
        lines.push(line);
    }
    lines.extend(invited_lines(org));
    if !org.missing.is_empty() {
        lines.push(format!(
            "! to add the missing: Auth0 Dashboard > Organizations > {} > Members > Add Members, or `POST /api/v2/organizations/{}/members` (orgsync never adds anyone)",
            clean(&org.name),
            clean(&org.id)
        ));
    }
    if let Some(inv) = &org.invitations {
        let revoking = !org.invitations_to_revoke().is_empty();
        for i in &inv.revoke {
            let what = if revoking {
                "undeclared: apply revokes it"
            } else {
                "undeclared: kept (`invitations: keep`)"
            };
            lines.push(format!("? {}  [{what}]", invitation_text(i)));
        }
        for i in &inv.keep {
            lines.push(format!("  {}  [declared]", invitation_text(i)));
        }
        for i in &inv.expired {
            lines.push(format!("  {}  [expired]", invitation_text(i)));
        }
    }
    lines
}

/// The declared members who are invited and not members yet: no drift until they accept.
fn invited_lines(org: &OrgPlan) -> Vec<String> {
    org.invited
        .iter()
        .map(|m| {
            let who = match &m.user_id {
                Some(u) => format!("{}  {}", clean(u), clean(&m.email)),
                None => format!("{}  (no user yet)", clean(&m.email)),
            };
            let until = m
                .expires_at
                .as_deref()
                .map(|at| format!(", expires {}", clean(at.get(..10).unwrap_or(at))))
                .unwrap_or_default();
            format!(
                "~ {who}  [invited: {}{until}; a member once they accept]",
                clean(&m.invitation)
            )
        })
        .collect()
}

fn invitation_text(i: &Invitation) -> String {
    let mut s = format!(
        "invitation {} for {}",
        clean(&i.id),
        clean(&i.invitee_email)
    );
    if let Some(by) = &i.inviter {
        s.push_str(&format!(", by {}", clean(by)));
    }
    if let Some(at) = &i.created_at {
        s.push_str(&format!(", sent {}", clean(at.get(..10).unwrap_or(at))));
    }
    if let Some(at) = &i.expires_at {
        s.push_str(&format!(", expires {}", clean(at.get(..10).unwrap_or(at))));
    }
    s
}

fn org_text(org: &OrgPlan, p: &Painter, out: &mut dyn Write) -> io::Result<()> {
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
fn write_resolved(org: &OrgPlan, out: &mut dyn Write) -> io::Result<()> {
    for r in &org.resolved_emails {
        writeln!(out, "  email {} is {}", r.email, r.user_id)?;
    }
    Ok(())
}

/// What a line of the membership diff is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Hunk,
    Context,
    Remove,
    Missing,
    /// Under a removal: how the member could come back.
    Rejoin,
}

struct DiffLine {
    kind: LineKind,
    text: String,
}

/// The unified diff of an organization's membership, current → desired, sorted by user_id:
/// `-` removals, `!` declared members who are not members, context with `[protected]` marks.
fn diff_lines(org: &OrgPlan) -> Vec<DiffLine> {
    let removed: HashSet<&str> = org.remove.iter().map(|m| m.user_id.as_str()).collect();
    let rejoin: std::collections::HashMap<&str, String> = org
        .remove
        .iter()
        .filter_map(|r| {
            let via = r.can_rejoin_via.as_deref()?;
            Some((r.user_id.as_str(), rejoin_text(via, r.rejoin_by)))
        })
        .collect();
    let protected: HashSet<&str> = org
        .protected_kept
        .iter()
        .map(|m| m.user_id.as_str())
        .collect();
    let old: Vec<&Member> = org.current.iter().collect();
    let mut new: Vec<&Member> = org
        .current
        .iter()
        .filter(|m| !removed.contains(m.user_id.as_str()))
        .chain(org.missing.iter())
        .collect();
    new.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    let old_keys: Vec<&str> = old.iter().map(|m| m.user_id.as_str()).collect();
    let new_keys: Vec<&str> = new.iter().map(|m| m.user_id.as_str()).collect();

    let mut lines = Vec::new();
    let ops = sorted_diff(&old_keys, &new_keys);
    // Between groups of changes, a line says how many unchanged members are not shown (where
    // a unified diff would print `@@ -9,5 +9,4 @@`, which says nothing about a membership).
    let mut shown_up_to = 0;
    for group in group_diff_ops(ops, CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let (start, end) = (first.old_range().start, last.old_range().end);
        if start > shown_up_to {
            lines.push(not_shown(start - shown_up_to));
        }
        shown_up_to = end;
        for op in &group {
            let (tag, old_r, new_r) = op.as_tag_tuple();
            if matches!(tag, DiffTag::Equal) {
                for m in &old[old_r] {
                    let mut text = format!(" {}", describe(m));
                    if protected.contains(m.user_id.as_str()) {
                        text.push_str("  [protected]");
                    }
                    lines.push(DiffLine {
                        kind: LineKind::Context,
                        text,
                    });
                }
                continue;
            }
            if matches!(tag, DiffTag::Delete | DiffTag::Replace) {
                for m in &old[old_r] {
                    lines.push(DiffLine {
                        kind: LineKind::Remove,
                        text: format!("-{}", describe(m)),
                    });
                    if let Some(text) = rejoin.get(m.user_id.as_str()) {
                        lines.push(DiffLine {
                            kind: LineKind::Rejoin,
                            text: format!("  {text}"),
                        });
                    }
                }
            }
            if matches!(tag, DiffTag::Insert | DiffTag::Replace) {
                for m in &new[new_r] {
                    lines.push(DiffLine {
                        kind: LineKind::Missing,
                        text: format!("!{}  (declared, not a member)", describe(m)),
                    });
                }
            }
        }
    }
    if old.len() > shown_up_to && !lines.is_empty() {
        lines.push(not_shown(old.len() - shown_up_to));
    }
    lines
}

/// The line standing for `n` unchanged members the diff does not show.
fn not_shown(n: usize) -> DiffLine {
    DiffLine {
        kind: LineKind::Hunk,
        text: format!(
            " … {} not shown",
            plural(n, "unchanged member", "unchanged members")
        ),
    }
}

/// The one-line legend of the markers a plan uses (`!`, `?`, `^`), for under the plan; None
/// when it uses none of them (`-` needs no legend). `question` says whether undeclared
/// invitations are marked `?` (the text is; Markdown lists them as bullets that say so).
pub fn legend(plan: &Plan, question: bool) -> Option<String> {
    let mut parts = Vec::new();
    let changed = || plan.organizations.iter().filter(|o| o.has_changes());
    if changed().any(|o| !o.remove.is_empty()) {
        parts.push("`-` removed by apply (unless blocked)");
    }
    if changed().any(|o| !o.missing.is_empty()) {
        parts.push("`!` declared but not a member (orgsync never adds anyone)");
    }
    if plan.organizations.iter().any(|o| !o.invited.is_empty()) {
        parts.push("`~` declared and invited: a member once they accept (no drift)");
    }
    if question && changed().any(|o| o.undeclared_invitations() > 0) {
        parts.push("`?` pending invitation for someone the config does not declare");
    }
    if changed().any(|o| o.remove.iter().any(|r| r.can_rejoin_via.is_some())) {
        parts.push("`^` how the removed member above could rejoin on their own");
    }
    if !parts.iter().any(|p| !p.starts_with("`-`")) {
        return None;
    }
    Some(format!("Legend: {}.", parts.join("; ")))
}

/// The diff of two sorted, duplicate-free lists, by one merge walk: O(n), where a general
/// diff algorithm would take seconds on an organization of 100,000 members with many changes.
/// `similar` then groups the operations into hunks.
fn sorted_diff(old: &[&str], new: &[&str]) -> Vec<DiffOp> {
    let mut ops: Vec<DiffOp> = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut push = |op: DiffOp| match (ops.last_mut(), op) {
        (Some(DiffOp::Equal { len, .. }), DiffOp::Equal { len: n, .. }) => *len += n,
        (Some(DiffOp::Delete { old_len, .. }), DiffOp::Delete { old_len: n, .. }) => *old_len += n,
        (Some(DiffOp::Insert { new_len, .. }), DiffOp::Insert { new_len: n, .. }) => *new_len += n,
        (_, op) => ops.push(op),
    };
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) if a == b => {
                push(DiffOp::Equal {
                    old_index: i,
                    new_index: j,
                    len: 1,
                });
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                push(DiffOp::Delete {
                    old_index: i,
                    old_len: 1,
                    new_index: j,
                });
                i += 1;
            }
            (Some(_), None) => {
                push(DiffOp::Delete {
                    old_index: i,
                    old_len: 1,
                    new_index: j,
                });
                i += 1;
            }
            _ => {
                push(DiffOp::Insert {
                    old_index: i,
                    new_index: j,
                    new_len: 1,
                });
                j += 1;
            }
        }
    }
    ops
}

/// GitHub refuses comments longer than this many characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// First line of every Markdown plan: CI finds its earlier comment by it and updates it in place.
pub const MARKDOWN_MARKER: &str = "<!-- orgsync-plan -->";

/// The plan as a pull-request comment: a warning banner, a summary table, and one collapsible
/// section per changed organization with its diff. Kept under `limit` bytes (so under as many
/// characters): the summary stays whole; a diff that does not fit is cut to what fits, with a
/// note saying how many lines and removals were not shown; only when not even a section's
/// heading fits is it left out, with a line saying how many were.
pub fn markdown(plan: &Plan, limit: usize, out: &mut dyn Write) -> io::Result<()> {
    let s = &plan.summary;
    let mut head = format!(
        "{MARKDOWN_MARKER}\n### orgsync plan for `{}`\n\n",
        md_code(&plan.domain)
    );
    let applied = s.remove;
    let applied_orgs = plan
        .organizations
        .iter()
        .filter(|o| o.blocked.is_none() && !o.remove.is_empty())
        .count();
    if applied > 0 || s.blocked > 0 || s.can_rejoin > 0 || s.undeclared_invitations > 0 {
        head.push_str("> [!WARNING]\n");
        if applied > 0 {
            head.push_str(&format!(
                "> **{} will lose access**: apply removes {} from {}.\n",
                plural(applied, "member", "members"),
                if applied == 1 { "it" } else { "them" },
                plural(applied_orgs, "organization", "organizations")
            ));
        }
        if s.blocked > 0 {
            if applied > 0 {
                head.push_str(">\n");
            }
            head.push_str(&format!(
                "> **{} blocked by a removal guard**: {} {} will not be applied.\n",
                plural(s.blocked, "organization", "organizations"),
                if s.blocked == 1 { "its" } else { "their" },
                plural(plan.remove_blocked(), "removal", "removals")
            ));
        }
        if s.can_rejoin > 0 {
            if applied > 0 || s.blocked > 0 {
                head.push_str(">\n");
            }
            head.push_str(&format!(
                "> **{} could be undone by the member**: auto-membership or signup lets them back in without a config change (see each `^ can rejoin` line).\n",
                plural(s.can_rejoin, "removal", "removals")
            ));
        }
        if s.undeclared_invitations > 0 {
            if applied > 0 || s.blocked > 0 || s.can_rejoin > 0 {
                head.push_str(">\n");
            }
            head.push_str(&format!(
                "> **{} for people not declared**: {}.\n",
                plural(
                    s.undeclared_invitations,
                    "pending invitation",
                    "pending invitations"
                ),
                if s.revoke_invitations > 0 {
                    format!("apply revokes {}", s.revoke_invitations)
                } else {
                    "kept (`invitations: keep`); accepting one makes the invitee a member"
                        .to_string()
                }
            ));
        }
        head.push('\n');
    }
    let changed: Vec<&OrgPlan> = plan
        .organizations
        .iter()
        .filter(|o| o.has_changes())
        .collect();
    if changed.is_empty() {
        head.push_str(&format!(
            "No changes: the membership of {} matches the configuration.\n\n",
            plural(s.organizations, "organization", "organizations")
        ));
    } else {
        head.push_str("| organization | to remove | missing | protected kept | blocked |\n|---|---:|---:|---:|---|\n");
        for o in &changed {
            let blocked = o
                .blocked
                .as_ref()
                .map(|b| format!("**{}**: {}", b.guard, md_cell(&b.message)))
                .unwrap_or_default();
            let to_remove = match &o.blocked {
                None => o.remove.len().to_string(),
                Some(_) => format!("0 ({} blocked)", o.remove.len()),
            };
            head.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                md_code(&o.name),
                to_remove,
                o.missing.len(),
                o.protected_kept.len(),
                blocked
            ));
        }
        head.push('\n');
        let unchanged = s.organizations - changed.len();
        if unchanged > 0 {
            head.push_str(&format!(
                "{} unchanged.\n\n",
                plural(unchanged, "organization", "organizations")
            ));
        }
    }
    head.push_str(&format!("**{}**\n", summary_line(plan)));
    if let Some(legend) = legend(plan, false) {
        head.push_str(&format!("\n_{legend}_\n"));
    }
    for n in &plan.not_checked {
        head.push_str(&format!(
            "\n_Not checked: {} (the token lacks `{}`)._\n",
            n.check, n.scope
        ));
    }

    // Details: each organization's diff whole if it fits, else as much of it as fits with a
    // note saying how much was cut; room is kept for the smallest form of the sections after it.
    const FOOTER_RESERVE: usize = 400;
    let parts: Vec<(String, Vec<String>)> = changed.iter().map(|o| details_parts(o)).collect();
    let smallest: Vec<usize> = parts
        .iter()
        .map(|(prefix, _)| prefix.len() + DETAILS_CLOSE.len() + CUT_NOTE_RESERVE)
        .collect();
    let mut body = String::new();
    let mut left_out = 0;
    for (i, (prefix, lines)) in parts.iter().enumerate() {
        let available = limit.saturating_sub(head.len() + body.len() + FOOTER_RESERVE);
        let reserve: usize = smallest[i + 1..].iter().sum();
        let budget = if available >= reserve + smallest[i] {
            available - reserve
        } else {
            available
        };
        let whole =
            prefix.len() + lines.iter().map(String::len).sum::<usize>() + DETAILS_CLOSE.len();
        if whole <= budget {
            body.push_str(prefix);
            lines.iter().for_each(|l| body.push_str(l));
            body.push_str(DETAILS_CLOSE);
        } else if smallest[i] <= budget {
            let mut used = smallest[i];
            let mut shown = 0;
            body.push_str(prefix);
            for l in lines {
                if used + l.len() > budget {
                    break;
                }
                used += l.len();
                shown += 1;
                body.push_str(l);
            }
            let cut = &lines[shown..];
            let removals_cut = cut.iter().filter(|l| l.starts_with('-')).count();
            body.push_str("```\n\n");
            body.push_str(&format!(
                "_Cut to stay under GitHub's {limit}-character comment limit: {} of {} diff lines shown, {} not shown; the JSON plan (`orgsync plan --format json`) lists every removal._\n\n</details>\n",
                shown,
                lines.len(),
                plural(removals_cut, "removal", "removals"),
            ));
        } else {
            left_out += 1;
        }
    }
    out.write_all(head.as_bytes())?;
    out.write_all(body.as_bytes())?;
    if left_out > 0 {
        writeln!(
            out,
            "\n_The details of {} were left out to stay under GitHub's {limit}-character comment limit; the JSON plan (`orgsync plan --format json`) lists every removal._",
            plural(left_out, "organization", "organizations"),
        )?;
    }
    Ok(())
}

/// What closes a section whose diff is whole.
const DETAILS_CLOSE: &str = "```\n\n</details>\n";

/// Room for closing a cut section with its note (the note is at most ~250 bytes).
const CUT_NOTE_RESERVE: usize = 320;

/// A section's opening (through the start of its diff block) and its diff lines, each ending
/// in a newline; [`DETAILS_CLOSE`] closes it.
fn details_parts(o: &OrgPlan) -> (String, Vec<String>) {
    let mut s = format!(
        "\n<details><summary><code>{}</code> ({}): {}{}</summary>\n\n",
        html(&o.name),
        html(&o.id),
        html(&org_header(o)),
        if o.blocked.is_some() {
            " &mdash; <b>blocked</b>"
        } else {
            ""
        }
    );
    if let Some(b) = &o.blocked {
        s.push_str(&format!(
            "Blocked by `{}`: {}. Nothing will be removed here.\n\n",
            b.guard,
            md_cell(&b.message)
        ));
    }
    for r in &o.resolved_emails {
        s.push_str(&format!(
            "- email `{}` is `{}`\n",
            md_code(&r.email),
            md_code(&r.user_id)
        ));
    }
    if !o.resolved_emails.is_empty() {
        s.push('\n');
    }
    let doors = doors_lines(o);
    for line in &doors {
        s.push_str(&format!(
            "- {}\n",
            html(&md_cell(line.trim_start_matches(['?', ' '])))
        ));
    }
    if !doors.is_empty() {
        s.push('\n');
    }
    s.push_str("```diff\n");
    // A name cannot close the code block.
    let lines = diff_lines(o)
        .into_iter()
        .map(|line| format!("{}\n", line.text.replace("```", "'''")))
        .collect();
    (s, lines)
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn md_code(s: &str) -> String {
    s.replace('`', "'")
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The versioned JSON plan, pretty-printed, with a trailing newline.
pub fn json(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, plan).map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{MaxRemovals, OrgInput, plan};

    fn member(id: &str, email: &str, name: &str) -> Member {
        Member {
            user_id: id.into(),
            email: Some(email.into()),
            name: Some(name.into()),
            roles: None,
        }
    }

    fn small() -> Plan {
        let acme = OrgInput {
            unknown: vec![],
            missing_emails: Default::default(),
            invitees: vec![],
            drift: Default::default(),
            unchecked_ids: 0,
            reentry: crate::plan::ReentryInput::checked(),
            resolved: vec![],
            id: "org_3hbVAMF8F3wVIcEJ".into(),
            name: "acme".into(),
            declared: vec![
                "auth0|02".into(),
                "auth0|03".into(),
                "auth0|05".into(),
                "auth0|06".into(),
                "auth0|07".into(),
                "auth0|08".into(),
            ],
            protect: vec!["auth0|01".into()],
            max_removals: Some(MaxRemovals::Percent(50.0)),
            allow_empty: false,
            current: vec![
                member("auth0|01", "breakglass@acme.example", "Break Glass"),
                member("auth0|02", "ada@acme.example", "Ada Lovelace"),
                member("auth0|03", "grace@acme.example", "Grace Hopper"),
                member("auth0|04", "alan@acme.example", "Alan Turing"),
                member("auth0|05", "edsger@acme.example", "Edsger Dijkstra"),
                member("auth0|06", "barbara@acme.example", "Barbara Liskov"),
                member("auth0|07", "donald@acme.example", "Donald Knuth"),
                member("auth0|08", "frances@acme.example", "Frances Allen"),
            ],
        };
        let globex = OrgInput {
            unknown: vec![],
            missing_emails: Default::default(),
            invitees: vec![],
            drift: Default::default(),
            unchecked_ids: 0,
            reentry: crate::plan::ReentryInput::checked(),
            resolved: vec![],
            id: "org_Wz2uMwAVQmfRb03I".into(),
            name: "globex".into(),
            declared: vec!["auth0|11".into(), "google-oauth2|12".into()],
            protect: vec![],
            max_removals: None,
            allow_empty: false,
            current: vec![member("auth0|11", "hedy@globex.example", "Hedy Lamarr")],
        };
        let initech = OrgInput {
            unknown: vec![],
            missing_emails: Default::default(),
            invitees: vec![],
            drift: Default::default(),
            unchecked_ids: 0,
            reentry: crate::plan::ReentryInput::checked(),
            resolved: vec![],
            id: "org_SST1yp2pazgSiMYi".into(),
            name: "initech".into(),
            declared: vec!["auth0|21".into()],
            protect: vec![],
            max_removals: None,
            allow_empty: false,
            current: vec![member("auth0|21", "peter@initech.example", "Peter Gibbons")],
        };
        plan(
            "travel0.us.auth0.com",
            &"0".repeat(64),
            "2026-11-28T12:00:00Z",
            &[acme, globex, initech],
        )
    }

    fn render(p: &Plan, color: bool) -> String {
        let mut buf = Vec::new();
        text(p, &TextOptions { color }, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn small_plan_text() {
        insta::assert_snapshot!(render(&small(), false));
    }

    #[test]
    fn small_plan_text_in_colour() {
        let out = render(&small(), true);
        assert!(
            out.contains("\x1b[31m-auth0|04  alan@acme.example  (Alan Turing)\x1b[0m"),
            "{out}"
        );
        assert!(
            out.contains("\x1b[33m!google-oauth2|12  (declared, not a member)\x1b[0m"),
            "{out}"
        );
        // Without colour the same lines, markers included.
        let plain = render(&small(), false);
        assert_eq!(
            out.replace(BOLD, "")
                .replace(RED_BOLD, "")
                .replace(RED, "")
                .replace(YELLOW, "")
                .replace(CYAN, "")
                .replace(RESET, ""),
            plain
        );
    }

    #[test]
    fn blocked_organization_text() {
        let input = OrgInput {
            unknown: vec![],
            missing_emails: Default::default(),
            invitees: vec![],
            drift: Default::default(),
            unchecked_ids: 0,
            reentry: crate::plan::ReentryInput::checked(),
            resolved: vec![],
            id: "org_1".into(),
            name: "initech".into(),
            declared: vec!["auth0|1".into()],
            protect: vec![],
            max_removals: Some(MaxRemovals::Count(1)),
            allow_empty: false,
            current: (1..=4)
                .map(|i| {
                    member(
                        &format!("auth0|{i}"),
                        &format!("u{i}@initech.example"),
                        &format!("User {i}"),
                    )
                })
                .collect(),
        };
        let p = plan("d", &"0".repeat(64), "t", &[input]);
        insta::assert_snapshot!(render(&p, false));
    }

    #[test]
    fn no_changes_text() {
        let input = OrgInput {
            unknown: vec![],
            missing_emails: Default::default(),
            invitees: vec![],
            drift: Default::default(),
            unchecked_ids: 0,
            reentry: crate::plan::ReentryInput::checked(),
            resolved: vec![],
            id: "org_1".into(),
            name: "acme".into(),
            declared: vec!["auth0|1".into()],
            protect: vec![],
            max_removals: None,
            allow_empty: false,
            current: vec![member("auth0|1", "a@acme.example", "A")],
        };
        let out = render(
            &plan(
                "d",
                "x",
                "t",
                &[
                    input.clone(),
                    OrgInput {
                        reentry: crate::plan::ReentryInput::checked(),
                        resolved: vec![],
                        id: "org_2".into(),
                        ..input
                    },
                ],
            ),
            false,
        );
        assert_eq!(
            out,
            "No changes: the membership of 2 organizations matches the configuration.\nPlan: 0 to remove, 0 missing, 0 protected kept, in 0 of 2 organizations.\n"
        );
    }

    #[test]
    fn summary_line_counts() {
        let p = small();
        assert_eq!(
            summary_line(&p),
            "Plan: 1 to remove, 1 missing, 1 protected kept, in 2 of 3 organizations."
        );
        let one = plan("d", "x", "t", &[]);
        assert_eq!(
            summary_line(&one),
            "Plan: 0 to remove, 0 missing, 0 protected kept, in 0 of 0 organizations."
        );
    }

    #[test]
    fn small_plan_markdown() {
        let mut buf = Vec::new();
        markdown(&small(), GITHUB_COMMENT_LIMIT, &mut buf).unwrap();
        insta::assert_snapshot!(String::from_utf8(buf).unwrap());
    }

    /// acme with an auto-membership SSO connection, database signup, and invitations.
    fn with_doors() -> Plan {
        use crate::reentry::{Doors, EnabledConnection, Invitation};
        let conn = |name: &str, signup: bool| EnabledConnection::named(name, true, signup);
        let inv = |id: &str, email: &str, expires: &str| Invitation {
            id: id.into(),
            invitee_email: email.into(),
            inviter: Some("Grace Hopper".into()),
            created_at: Some("2026-11-20T09:00:00.000Z".into()),
            expires_at: Some(expires.into()),
            roles: vec![],
        };
        let acme = OrgInput {
            unknown: vec![],
            missing_emails: Default::default(),
            invitees: vec![],
            drift: Default::default(),
            unchecked_ids: 0,
            id: "org_3hbVAMF8F3wVIcEJ".into(),
            name: "acme".into(),
            declared: vec!["auth0|02".into()],
            protect: vec![],
            max_removals: None,
            allow_empty: false,
            current: vec![
                member("auth0|02", "ada@acme.example", "Ada Lovelace"),
                member("samlp|acme-sso|alan", "alan@acme.example", "Alan Turing"),
                member("auth0|04", "edsger@acme.example", "Edsger Dijkstra"),
            ],
            resolved: vec![],
            reentry: crate::plan::ReentryInput {
                doors: Some(Doors::from_connections(&[
                    conn("acme-sso", false),
                    conn("Username-Password-Authentication", true),
                ])),
                invitations: Some(vec![
                    inv(
                        "uinv_0001",
                        "eve@elsewhere.example",
                        "2026-12-20T09:00:00.000Z",
                    ),
                    inv("uinv_0002", "ada@acme.example", "2026-12-20T09:00:00.000Z"),
                    inv(
                        "uinv_0003",
                        "old@elsewhere.example",
                        "2026-11-27T09:00:00.000Z",
                    ),
                ]),
                invitation_policy: crate::config::Invitations::Revoke,
                roles_read: true,
                now: "2026-11-28T12:00:00Z".into(),
                ..Default::default()
            },
        };
        plan(
            "travel0.us.auth0.com",
            &"0".repeat(64),
            "2026-11-28T12:00:00Z",
            &[acme],
        )
    }

    #[test]
    fn doors_and_invitations_text() {
        insta::assert_snapshot!(render(&with_doors(), false));
    }

    #[test]
    fn doors_and_invitations_markdown() {
        let mut buf = Vec::new();
        markdown(&with_doors(), GITHUB_COMMENT_LIMIT, &mut buf).unwrap();
        insta::assert_snapshot!(String::from_utf8(buf).unwrap());
    }

    /// 40 organizations, 3,000 removals: far over GitHub's limit.
    fn large() -> Plan {
        let inputs: Vec<OrgInput> = (0..40)
            .map(|o| OrgInput {
                unknown: vec![],
                missing_emails: Default::default(),
                invitees: vec![],
                drift: Default::default(),
                unchecked_ids: 0,
                reentry: crate::plan::ReentryInput::checked(),
                resolved: vec![],
                id: format!("org_large{o:011}"),
                name: format!("team-{o:02}"),
                declared: (0..25).map(|m| format!("auth0|{o:02}{m:04}")).collect(),
                protect: vec![],
                max_removals: if o % 10 == 9 {
                    Some(MaxRemovals::Percent(10.0))
                } else {
                    None
                },
                allow_empty: false,
                current: (0..100)
                    .map(|m| {
                        member(
                            &format!("auth0|{o:02}{m:04}"),
                            &format!("user{m}@team{o}.example"),
                            &format!("User {o}-{m}"),
                        )
                    })
                    .collect(),
            })
            .collect();
        plan(
            "travel0.us.auth0.com",
            &"0".repeat(64),
            "2026-11-28T12:00:00Z",
            &inputs,
        )
    }

    #[test]
    fn large_plan_markdown_is_cut_under_githubs_limit() {
        let p = large();
        assert_eq!(p.summary.remove, 2700, "what apply removes");
        assert_eq!(p.remove_blocked(), 300);
        let mut buf = Vec::new();
        markdown(&p, GITHUB_COMMENT_LIMIT, &mut buf).unwrap();
        let md = String::from_utf8(buf).unwrap();
        assert!(
            md.chars().count() <= GITHUB_COMMENT_LIMIT,
            "{} characters",
            md.chars().count()
        );
        // The summary is whole: one table row per organization.
        assert_eq!(md.lines().filter(|l| l.starts_with("| `team-")).count(), 40);
        assert!(md.contains(
            "**Plan: 2700 to remove, 300 blocked, 0 missing, 0 protected kept, in 40 of 40 organizations.**"
        ));
        assert!(md.contains(
            "> **2700 members will lose access**: apply removes them from 36 organizations."
        ));
        assert!(md.contains(
            "> **4 organizations blocked by a removal guard**: their 300 removals will not be applied."
        ));
        assert!(md.contains("| `team-09` | 0 (75 blocked) | 0 | 0 | **max_removals**"));
        // Every organization keeps its section; the diffs that do not fit are cut, and say so.
        let shown = md.matches("<details>").count();
        assert_eq!(shown, 40);
        assert_eq!(
            md.matches("</details>").count(),
            shown,
            "every section is closed"
        );
        assert_eq!(
            md.matches("```").count(),
            2 * shown,
            "every code block is closed"
        );
        assert!(md.contains("_Cut to stay under GitHub's 65536-character comment limit: "));
        assert!(!md.contains("were left out"));
        insta::assert_snapshot!(md);
    }

    #[test]
    fn one_organization_over_the_limit_keeps_as_much_of_its_diff_as_fits() {
        let p = plan(
            "travel0.us.auth0.com",
            &"0".repeat(64),
            "2026-11-28T12:00:00Z",
            &[OrgInput {
                unknown: vec![],
                missing_emails: Default::default(),
                invitees: vec![],
                drift: Default::default(),
                unchecked_ids: 0,
                reentry: crate::plan::ReentryInput::checked(),
                resolved: vec![],
                id: "org_huge".into(),
                name: "huge".into(),
                declared: vec!["auth0|00000".into()],
                protect: vec![],
                max_removals: None,
                allow_empty: false,
                current: (0..1501)
                    .map(|m| {
                        member(
                            &format!("auth0|{m:05}"),
                            &format!("user{m}@huge.example"),
                            &format!("User {m}"),
                        )
                    })
                    .collect(),
            }],
        );
        assert_eq!(p.summary.remove, 1500);
        let mut buf = Vec::new();
        markdown(&p, GITHUB_COMMENT_LIMIT, &mut buf).unwrap();
        let md = String::from_utf8(buf).unwrap();
        assert!(md.len() <= GITHUB_COMMENT_LIMIT, "{}", md.len());
        assert!(
            md.len() > 60_000,
            "most of the diff is kept: {} bytes",
            md.len()
        );
        let shown = md.lines().filter(|l| l.starts_with("-auth0|")).count();
        assert!(shown > 1000, "{shown}");
        assert!(
            md.contains(&format!(
                "diff lines shown, {} not shown; the JSON plan",
                plural(1500 - shown, "removal", "removals")
            )),
            "{}",
            &md[md.len() - 500..]
        );
        assert_eq!(md.matches("```").count(), 2, "the code block is closed");
        assert!(md.trim_end().ends_with("</details>"));
    }

    #[test]
    fn the_merge_diff_matches_a_general_diff() {
        use similar::{Algorithm, capture_diff_slices};
        let old = ["a|1", "a|2", "a|3", "a|5", "a|6", "a|8", "a|9"];
        let new = ["a|0", "a|2", "a|3", "a|4", "a|6", "a|7", "a|9"];
        let kept = |ops: &[DiffOp]| -> Vec<(usize, usize)> {
            ops.iter()
                .filter_map(|op| match *op {
                    DiffOp::Equal {
                        old_index,
                        new_index,
                        len,
                    } => Some((0..len).map(move |k| (old_index + k, new_index + k))),
                    _ => None,
                })
                .flatten()
                .collect()
        };
        assert_eq!(
            kept(&sorted_diff(&old, &new)),
            kept(&capture_diff_slices(Algorithm::Myers, &old, &new))
        );
    }

    #[test]
    fn names_cannot_forge_lines_or_send_escape_codes() {
        let m = Member {
            user_id: "auth0|1".into(),
            email: Some("e@x.example".into()),
            name: Some("Eve\n-auth0|2\u{1b}[31m\u{202E}".into()),
            roles: None,
        };
        let d = describe(&m);
        assert!(
            !d.contains('\n') && !d.contains('\u{1b}') && !d.contains('\u{202E}'),
            "{d:?}"
        );
        assert!(d.contains("\\u{a}-auth0|2"), "{d}");
    }

    #[test]
    fn json_output() {
        let mut buf = Vec::new();
        json(&small(), &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(text.ends_with("}\n"));
        let back: Plan = serde_json::from_str(&text).unwrap();
        assert!(back.digest_matches());
        insta::assert_snapshot!(text);
    }
}
