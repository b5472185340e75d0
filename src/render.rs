//! Render: a plan as text (a unified diff per organization) or JSON, written to any
//! `std::io::Write` so tests render into a `Vec<u8>` (as ripgrep's printers do).
//!
//! The text diff runs from the current membership to the desired one, one user per line with
//! email and name where known. Removals are `-` lines; declared members who are not members are
//! `!` lines rather than `+`, because orgsync never adds anyone. Colour is decided by the caller
//! (a terminal, and NO_COLOR unset) and never carries meaning on its own: the markers are always
//! there.

use std::collections::HashSet;
use std::io::{self, Write};

use similar::{Algorithm, DiffTag, capture_diff_slices, group_diff_ops};

use crate::plan::{Member, OrgPlan, Plan};

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

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `Plan: 3 to remove, 1 missing, 2 protected kept, in 2 of 5 organizations.`
pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    format!(
        "Plan: {} to remove, {} missing, {} protected kept, in {} of {}.",
        s.remove,
        s.missing,
        s.protected_kept,
        s.organizations_changed,
        plural(s.organizations, "organization", "organizations")
    )
}

/// One user as the diff shows them.
fn describe(m: &Member) -> String {
    let mut s = m.user_id.clone();
    if let Some(e) = &m.email {
        s.push_str("  ");
        s.push_str(e);
    }
    if let Some(n) = m.name.as_ref().filter(|n| Some(*n) != m.email.as_ref()) {
        s.push_str("  (");
        s.push_str(n);
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
    for org in plan.organizations.iter().filter(|o| o.has_changes()) {
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
    if plan.summary.blocked > 0 {
        p.line(
            out,
            RED_BOLD,
            &format!(
                "Blocked: {} {} a removal guard; {} removals will not be applied.",
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
                }
            ),
        )?;
    }
    Ok(())
}

fn org_text(org: &OrgPlan, p: &Painter, out: &mut dyn Write) -> io::Result<()> {
    let mut header = format!(
        "organization {} ({}): {} to remove, {} missing",
        org.name,
        org.id,
        org.remove.len(),
        org.missing.len()
    );
    if !org.protected_kept.is_empty() {
        header.push_str(&format!(", {} protected kept", org.protected_kept.len()));
    }
    p.line(out, BOLD, &header)?;
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

    let removed: HashSet<&str> = org.remove.iter().map(|m| m.user_id.as_str()).collect();
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

    let ops = capture_diff_slices(Algorithm::Myers, &old_keys, &new_keys);
    for group in group_diff_ops(ops, CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let (o1, n1) = (first.old_range().start, first.new_range().start);
        let (o2, n2) = (last.old_range().end, last.new_range().end);
        let range = |start: usize, len: usize| {
            if len == 0 {
                format!("{start},0")
            } else {
                format!("{},{len}", start + 1)
            }
        };
        p.line(
            out,
            CYAN,
            &format!("@@ -{} +{} @@", range(o1, o2 - o1), range(n1, n2 - n1)),
        )?;
        for op in &group {
            let (tag, old_r, new_r) = op.as_tag_tuple();
            if matches!(tag, DiffTag::Equal) {
                for m in &old[old_r] {
                    let mut line = format!(" {}", describe(m));
                    if protected.contains(m.user_id.as_str()) {
                        line.push_str("  [protected]");
                    }
                    writeln!(out, "{line}")?;
                }
                continue;
            }
            if matches!(tag, DiffTag::Delete | DiffTag::Replace) {
                for m in &old[old_r] {
                    p.line(out, RED, &format!("-{}", describe(m)))?;
                }
            }
            if matches!(tag, DiffTag::Insert | DiffTag::Replace) {
                for m in &new[new_r] {
                    p.line(
                        out,
                        YELLOW,
                        &format!("!{}  (declared, not a member)", describe(m)),
                    )?;
                }
            }
        }
    }
    writeln!(out)
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
        }
    }

    fn small() -> Plan {
        let acme = OrgInput {
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
            id: "org_Wz2uMwAVQmfRb03I".into(),
            name: "globex".into(),
            declared: vec!["auth0|11".into(), "google-oauth2|12".into()],
            protect: vec![],
            max_removals: None,
            allow_empty: false,
            current: vec![member("auth0|11", "hedy@globex.example", "Hedy Lamarr")],
        };
        let initech = OrgInput {
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
