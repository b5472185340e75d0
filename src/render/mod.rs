//! Render: a plan as text (a diff of the membership per organization), Markdown (a pull-request
//! comment) or JSON, written to any `std::io::Write` so tests render into a `Vec<u8>` (as
//! ripgrep's printers do). One file per output: [`text`](mod@text), [`markdown`](mod@markdown),
//! [`json`](mod@json), and the membership diff both text and Markdown show (`diff`); this file
//! holds what they share: the summary line, how a member and an organization's header read, the
//! lines about doors and invitations, and the legend.
//!
//! The text diff runs from the current membership to the desired one, one user per line with
//! email and name where known. Removals are `-` lines; declared members who are not members are
//! `!` lines rather than `+`, because orgsync never adds anyone. Colour is decided by the caller
//! (a terminal, and NO_COLOR unset) and never carries meaning on its own: the markers are always
//! there.

pub(crate) mod diff;
pub mod json;
pub mod markdown;
#[cfg(test)]
mod tests;
pub mod text;

use crate::plan::{Member, OrgPlan, Plan};
use crate::reentry::{Invitation, RejoinRule};
pub use crate::text::{clean, plural};
pub use json::json;
pub use markdown::{GITHUB_COMMENT_LIMIT, MARKDOWN_MARKER, markdown};
pub use text::text;

/// Options of the text output.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    pub color: bool,
}

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
