//! The plan as a pull-request comment (Markdown), cut to fit the forge's limit.

use std::io::{self, Write};

use super::diff::diff_lines;
use super::{doors_lines, legend, org_header, plural, summary_line};
use crate::plan::{OrgPlan, Plan};

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
pub(super) const DETAILS_CLOSE: &str = "```\n\n</details>\n";

/// Room for closing a cut section with its note (the note is at most ~250 bytes).
pub(super) const CUT_NOTE_RESERVE: usize = 320;

/// A section's opening (through the start of its diff block) and its diff lines, each ending
/// in a newline; [`DETAILS_CLOSE`] closes it.
pub(super) fn details_parts(o: &OrgPlan) -> (String, Vec<String>) {
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

pub(super) fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(super) fn md_code(s: &str) -> String {
    s.replace('`', "'")
}

pub(super) fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
