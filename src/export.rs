//! Export: an `orgsync.yaml` that reproduces a tenant's current membership, for adopting
//! orgsync on a tenant that already has members.
//!
//! Members are sorted by user_id, each with its email and name as a comment so a reviewer can
//! read the file; pending invitations follow as `{email: …}` entries (an invitee is declared, and
//! shows as invited until they accept). Planned right away, an exported file gives a plan
//! without drift.

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::observe::ObservedOrg;
use crate::reentry::{Invitation, email_key};
use crate::text::plural;

/// The YAML for `orgs`. `domain` and `when` go into the header comment.
pub fn to_yaml(orgs: &[ObservedOrg], domain: &str, when: &str) -> String {
    let members: usize = orgs.iter().map(|o| o.members.len()).sum();
    let mut y = String::with_capacity(64 + members * 80);
    let _ = writeln!(
        y,
        "# Exported by `orgsync export` from {} at {when}: {}, {}.",
        comment(domain),
        plural(orgs.len(), "organization", "organizations"),
        plural(members, "member", "members"),
    );
    let _ = writeln!(
        y,
        "# Review it (who should really be here?), commit it, and `orgsync plan` shows no drift."
    );
    let _ = writeln!(y, "version: 1");
    let _ = writeln!(y, "defaults:");
    let _ = writeln!(
        y,
        "  # The removal guard: an organization whose plan removes more than this share of its"
    );
    let _ = writeln!(
        y,
        "  # current members is blocked and nothing is removed from it. Change it per organization"
    );
    let _ = writeln!(
        y,
        "  # or here: a count (`5`), a share (`10%`), or `100%` to turn the guard off."
    );
    let _ = writeln!(y, "  max_removals: 25%");
    if orgs.is_empty() {
        let _ = writeln!(y, "organizations: []");
        return y;
    }
    let _ = writeln!(y, "organizations:");
    for o in orgs {
        let _ = writeln!(y, "  - name: {}   # {}", o.name, comment(&o.id));
        let invitees = invitees(o, when);
        if o.members.is_empty() && invitees.is_empty() {
            let _ = writeln!(y, "    members: []");
            continue;
        }
        let _ = writeln!(y, "    members:");
        let mut sorted: Vec<_> = o.members.iter().collect();
        sorted.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        sorted.dedup_by(|a, b| a.user_id == b.user_id);
        for m in sorted {
            // A JSON string is a valid YAML double-quoted scalar.
            let quoted =
                serde_json::to_string(&m.user_id).unwrap_or_else(|_| format!("\"{}\"", m.user_id));
            let about = match (&m.email, &m.name) {
                (Some(e), Some(n)) if n != e => format!("{e} ({n})"),
                (Some(e), _) => e.clone(),
                (None, Some(n)) => n.clone(),
                (None, None) => String::new(),
            };
            if about.is_empty() {
                let _ = writeln!(y, "      - {quoted}");
            } else {
                let _ = writeln!(y, "      - {quoted}   # {}", comment(&about));
            }
        }
        for i in invitees {
            let email = serde_json::to_string(&i.invitee_email)
                .unwrap_or_else(|_| format!("\"{}\"", i.invitee_email));
            let mut about = format!("invited ({})", i.id);
            if let Some(by) = &i.inviter {
                about.push_str(&format!(" by {by}"));
            }
            if let Some(at) = &i.expires_at {
                about.push_str(&format!(", expires {}", at.get(..10).unwrap_or(at)));
            }
            let _ = writeln!(y, "      - {{email: {email}}}   # {}", comment(&about));
        }
    }
    y
}

/// The pending invitations of `o` to declare: unexpired at `now`, one per invitee, none for a
/// current member's email (compared as Auth0 compares emails), sorted by email.
fn invitees<'a>(o: &'a ObservedOrg, now: &str) -> Vec<&'a Invitation> {
    let members: HashSet<String> = o
        .members
        .iter()
        .filter_map(|m| m.email.as_deref())
        .map(email_key)
        .collect();
    let mut seen = HashSet::new();
    let mut out: Vec<&Invitation> = o
        .invitations
        .iter()
        .flatten()
        .filter(|i| !i.expired_at(now))
        .filter(|i| {
            let key = email_key(&i.invitee_email);
            !members.contains(&key) && seen.insert(key)
        })
        .collect();
    out.sort_by(|a, b| a.invitee_email.cmp(&b.invitee_email));
    out
}

/// Text safe inside a one-line YAML comment.
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Member;

    #[test]
    fn members_sorted_with_comments_and_the_result_parses_back() {
        let orgs = vec![
            ObservedOrg {
                connections: None,
                invitations: None,
                roles_read: false,
                id: "org_1".into(),
                name: "acme".into(),
                members: vec![
                    Member {
                        user_id: "auth0|b".into(),
                        email: Some("b@acme.example".into()),
                        name: Some("Bea\nEvil".into()),
                        roles: None,
                    },
                    Member {
                        user_id: "auth0|a".into(),
                        email: Some("a@acme.example".into()),
                        name: Some("a@acme.example".into()),
                        roles: None,
                    },
                    Member {
                        user_id: "samlp|corp|c@x.example".into(),
                        email: None,
                        name: None,
                        roles: None,
                    },
                ],
            },
            ObservedOrg {
                id: "org_2".into(),
                name: "empty".into(),
                ..ObservedOrg::default()
            },
        ];
        let y = to_yaml(&orgs, "travel0.us.auth0.com", "2026-11-28T12:00:00Z");
        assert!(y.contains("      - \"auth0|a\"   # a@acme.example\n      - \"auth0|b\"   # b@acme.example (Bea Evil)\n      - \"samlp|corp|c@x.example\"\n"), "{y}");
        assert!(
            y.contains("  - name: empty   # org_2\n    members: []\n"),
            "{y}"
        );
        assert!(
            y.contains("version: 1\ndefaults:\n  # The removal guard"),
            "{y}"
        );
        assert!(y.contains("\n  max_removals: 25%\norganizations:\n"), "{y}");
        let parsed = crate::config::from_str(&y, "export.yaml").unwrap();
        assert_eq!(parsed.organizations.len(), 2);
        let ids: Vec<&str> = parsed.organizations[0]
            .members
            .iter()
            .map(|m| m.user_id().unwrap_or_default())
            .collect();
        assert_eq!(ids, ["auth0|a", "auth0|b", "samlp|corp|c@x.example"]);
    }

    #[test]
    fn an_empty_export_is_valid() {
        let y = to_yaml(&[], "d", "t");
        assert!(
            crate::config::from_str(&y, "e.yaml")
                .unwrap()
                .organizations
                .is_empty()
        );
    }
}
