//! The decisions: who is removed, missing, invited or protected; which guard blocks an
//! organization; which checks could not be made.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::config::{Invitations, Rejoin};
use crate::reentry::{Invitation, RejoinRule, connection_from_user_id, email_key};

/// Plans one organization.
pub fn plan_org(input: &OrgInput) -> OrgPlan {
    let declared: HashSet<&str> = input.declared.iter().map(String::as_str).collect();
    let protect: HashSet<&str> = input.protect.iter().map(String::as_str).collect();
    let mut current = input.current.clone();
    current.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    current.dedup_by(|a, b| a.user_id == b.user_id);
    let present: HashSet<&str> = current.iter().map(|m| m.user_id.as_str()).collect();
    let r = &input.reentry;

    let mut remove = Vec::new();
    let mut protected_kept = Vec::new();
    for m in &current {
        if declared.contains(m.user_id.as_str()) {
            continue;
        }
        if protect.contains(m.user_id.as_str()) {
            protected_kept.push(m.clone());
        } else {
            remove.push(rejoin_of(m.clone(), r));
        }
    }
    let unknown: HashSet<&str> = input.unknown.iter().map(|u| u.user_id.as_str()).collect();
    let mut missing: Vec<Member> = input
        .declared
        .iter()
        .filter(|u| !present.contains(u.as_str()) && !unknown.contains(u.as_str()))
        .map(|u| Member {
            user_id: u.clone(),
            // A member declared by email is shown with it.
            email: input
                .resolved
                .iter()
                .find(|r| &r.user_id == u)
                .map(|r| r.email.clone()),
            name: None,
            roles: None,
        })
        .collect();
    missing.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    missing.dedup_by(|a, b| a.user_id == b.user_id);

    // Declared emails (`{email:}` entries, the emails of declared current members, and those
    // read for declared members who are not current), gathered only when there are
    // invitations to sort.
    let invitations = r.invitations.as_ref().map(|list| {
        let declared_emails: HashSet<String> = if list.is_empty() {
            HashSet::new()
        } else {
            input
                .resolved
                .iter()
                .map(|e| e.email.as_str())
                .chain(
                    current
                        .iter()
                        .filter(|m| declared.contains(m.user_id.as_str()))
                        .filter_map(|m| m.email.as_deref()),
                )
                .chain(r.declared_emails.iter().map(String::as_str))
                .map(email_key)
                .collect()
        };
        sort_invitations(list, r.invitation_policy, &declared_emails, &r.now)
    });

    // Declared members with a pending (declared, unexpired) invitation are invited, not
    // missing: nothing to do until they accept.
    let pending: HashMap<String, &Invitation> = invitations
        .as_ref()
        .map(|i| {
            i.keep
                .iter()
                .map(|inv| (email_key(&inv.invitee_email), inv))
                .collect()
        })
        .unwrap_or_default();
    let mut invited: Vec<InvitedMember> = Vec::new();
    if !pending.is_empty() {
        missing.retain(|m| {
            let email = m
                .email
                .as_deref()
                .or(input.missing_emails.get(&m.user_id).map(String::as_str));
            match email.and_then(|e| pending.get(&email_key(e))) {
                Some(inv) => {
                    invited.push(InvitedMember {
                        user_id: Some(m.user_id.clone()),
                        email: inv.invitee_email.clone(),
                        invitation: inv.id.clone(),
                        expires_at: inv.expires_at.clone(),
                    });
                    false
                }
                None => true,
            }
        });
        for e in &input.invitees {
            if let Some(inv) = pending.get(&email_key(e)) {
                invited.push(InvitedMember {
                    user_id: None,
                    email: e.clone(),
                    invitation: inv.id.clone(),
                    expires_at: inv.expires_at.clone(),
                });
            }
        }
        invited.sort_by(|a, b| {
            a.email
                .cmp(&b.email)
                .then_with(|| a.user_id.cmp(&b.user_id))
        });
    }

    let revocable = invitations.as_ref().map_or(0, |i| i.to_revoke().len());
    let unknown_users = near_misses(&input.unknown, &remove);
    let blocked = unknown_guard(&unknown_users, remove.len(), current.len(), revocable)
        .or_else(|| guard(input, &remove, current.len(), revocable));
    let mut resolved_emails = input.resolved.clone();
    resolved_emails.sort_by(|a, b| a.email.cmp(&b.email));
    let mut o = OrgPlan {
        id: input.id.clone(),
        name: input.name.clone(),
        current_count: current.len(),
        desired_count: current.len() - remove.len() + missing.len() + invited.len(),
        remove,
        missing,
        protected_kept,
        blocked,
        auto_membership: r.doors.as_ref().map(|d| d.auto_membership.clone()),
        signup_enabled: r.doors.as_ref().map(|d| d.signup_enabled.clone()),
        invitations,
        roles_recorded: r.roles_read,
        drift: false,
        resolved_emails,
        invited,
        unknown_users,
        current,
        protect: input.protect.clone(),
    };
    o.drift = o.drifts(input.drift);
    o
}

/// Whether a removed member could come back on their own, and how.
pub(super) fn rejoin_of(member: Member, r: &ReentryInput) -> Removal {
    let mut removal = Removal::from(member);
    let Some(doors) = &r.doors else {
        removal.rejoin_checked = false;
        return removal;
    };
    let connections: Option<Vec<String>> = match connection_from_user_id(&removal.user_id) {
        Some(c) => Some(vec![c.to_string()]),
        None if doors.auto_membership.is_empty() => Some(Vec::new()),
        None => r.user_connections.get(&removal.user_id).cloned().flatten(),
    };
    match connections {
        Some(c) => {
            if let Some((via, by)) = doors.rejoin(&c) {
                removal.can_rejoin_via = Some(via);
                removal.rejoin_by = Some(by);
            }
        }
        // Their connections are unknown; signup is open to anyone all the same.
        None => match doors.signup_enabled.first() {
            Some(c) => {
                removal.can_rejoin_via = Some(c.clone());
                removal.rejoin_by = Some(RejoinRule::Signup);
            }
            None => removal.rejoin_checked = false,
        },
    }
    removal
}

/// Open invitations sorted into declared (keep: the invitee's [`email_key`] is in
/// `declared_emails`) and undeclared (revoke), expired ones apart; each list by invitee email,
/// then id.
pub(super) fn sort_invitations(
    list: &[Invitation],
    policy: Invitations,
    declared_emails: &HashSet<String>,
    now: &str,
) -> InvitationPlan {
    let mut plan = InvitationPlan {
        policy,
        ..InvitationPlan::default()
    };
    for i in list {
        if i.expired_at(now) {
            plan.expired.push(i.clone());
        } else if declared_emails.contains(&email_key(&i.invitee_email)) {
            plan.keep.push(i.clone());
        } else {
            plan.revoke.push(i.clone());
        }
    }
    for l in [&mut plan.revoke, &mut plan.keep, &mut plan.expired] {
        l.sort_by_cached_key(|i| (i.invitee_email.to_lowercase(), i.id.clone()));
    }
    plan
}

/// The unknown user_ids, each with the member the plan would remove whose user_id is nearest
/// to it, when that is a near miss: at most 2 edits, or one in eight characters for longer ids;
/// of several as near, the one that reads the same ([`crate::text::lookalike`]), so
/// `auth0|64b0c0ffee0000000000002l` means `…21`, not `…20`.
pub(super) fn near_misses(unknown: &[UnknownUser], remove: &[Removal]) -> Vec<UnknownUser> {
    let mut out: Vec<UnknownUser> = unknown
        .iter()
        .map(|u| {
            let limit = (u.user_id.chars().count() / 8).max(2);
            // Nearest first; of equals, one that reads the same (`l` for `1`) first.
            let looks = crate::text::lookalike(&u.user_id);
            let nearest = remove
                .iter()
                .map(|r| {
                    let same_look = crate::text::lookalike(&r.user_id) == looks;
                    (
                        crate::text::levenshtein(&u.user_id, &r.user_id),
                        !same_look,
                        r,
                    )
                })
                .filter(|(d, _, _)| *d <= limit)
                .min_by(|a, b| {
                    (a.0, a.1)
                        .cmp(&(b.0, b.1))
                        .then_with(|| a.2.user_id.cmp(&b.2.user_id))
                })
                .map(|(d, _, r)| (d, r));
            UnknownUser {
                did_you_mean: nearest.map(|(_, r)| Member {
                    user_id: r.user_id.clone(),
                    email: r.email.clone(),
                    name: r.name.clone(),
                    roles: None,
                }),
                ..u.clone()
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.entry
            .cmp(&b.entry)
            .then_with(|| a.user_id.cmp(&b.user_id))
    });
    out
}

/// Blocks an organization whose config names a user_id the tenant does not know: the entry
/// meant to keep someone, and whoever it meant may be among the removals.
pub(super) fn unknown_guard(
    unknown: &[UnknownUser],
    removals: usize,
    current: usize,
    invitations: usize,
) -> Option<Blocked> {
    let first = unknown.first()?;
    let mut message = format!(
        "{}: `{}` ({}) is no user of this tenant",
        first.entry,
        crate::text::clean(&first.user_id),
        first.list
    );
    if let Some(m) = &first.did_you_mean {
        let who = m
            .name
            .as_deref()
            .or(m.email.as_deref())
            .map(|n| format!(" ({})", crate::text::clean(n)))
            .unwrap_or_default();
        message.push_str(&format!(
            "; did you mean `{}`{who}, whom this plan would remove?",
            crate::text::clean(&m.user_id)
        ));
    }
    if unknown.len() > 1 {
        message.push_str(&format!(
            " ({} more: {})",
            unknown.len() - 1,
            unknown[1..]
                .iter()
                .map(|u| format!("`{}` at {}", crate::text::clean(&u.user_id), u.entry))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    message
        .push_str("; fix the entry: nothing here is removed until every declared user_id exists");
    Some(Blocked {
        guard: Guard::UnknownUser,
        limit: None,
        allowed: None,
        removals,
        current,
        invitations,
        message,
    })
}

/// The first guard that trips, if any: `allow_empty`, then `max_removals`, then `rejoin`.
/// `invitations` (what apply would revoke here) is counted apart from the members.
pub(super) fn guard(
    input: &OrgInput,
    remove: &[Removal],
    current: usize,
    invitations: usize,
) -> Option<Blocked> {
    let removals = remove.len();
    if removals == 0 {
        return None;
    }
    let and_invitations = match invitations {
        0 => String::new(),
        n => format!(
            " (and {} it would revoke)",
            crate::text::plural(n, "invitation", "invitations")
        ),
    };
    if removals == current && !input.allow_empty {
        return Some(Blocked {
            guard: Guard::AllowEmpty,
            limit: None,
            allowed: None,
            removals,
            current,
            invitations,
            message: format!(
                "removing all {current} members{and_invitations} would empty the organization; set `allow_empty: true` to allow it"
            ),
        });
    }
    if let Some(limit) = input.max_removals {
        let allowed = match limit {
            MaxRemovals::Count(n) => usize::try_from(n).unwrap_or(usize::MAX),
            // floor(current * p / 100), computed so that 25% of 4 is exactly 1.
            MaxRemovals::Percent(p) => ((current as f64) * p / 100.0 + 1e-9).floor() as usize,
        };
        if removals > allowed {
            // The limit is named as a limit: "the limit of 2", then where it comes from.
            let message = match limit {
                MaxRemovals::Count(_) => format!(
                    "{removals} removals{and_invitations} exceed the limit of {allowed} (max_removals: {limit})"
                ),
                MaxRemovals::Percent(_) => format!(
                    "{removals} removals{and_invitations} exceed the limit of {allowed} (max_removals: {limit} of {current} current members, rounded down)"
                ),
            };
            return Some(Blocked {
                guard: Guard::MaxRemovals,
                limit: Some(limit.to_string()),
                allowed: Some(allowed),
                removals,
                current,
                invitations,
                message,
            });
        }
    }
    if input.reentry.rejoin != Rejoin::Block {
        return None;
    }
    let undoable: Vec<&str> = remove
        .iter()
        .filter_map(|r| r.can_rejoin_via.as_deref())
        .collect();
    let unchecked = remove.iter().filter(|r| !r.rejoin_checked).count();
    let message = if !undoable.is_empty() {
        let mut via: Vec<&str> = undoable.clone();
        via.sort();
        via.dedup();
        format!(
            "{} of {removals} removals could be undone by the member (through {}); `rejoin: block` holds the organization's removals{and_invitations}: close that door in Auth0 (auto-membership or signup) or set `rejoin: warn`",
            undoable.len(),
            via.iter()
                .map(|c| format!("`{}`", crate::text::clean(c)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else if unchecked > 0 {
        format!(
            "whether {} could rejoin on their own could not be checked; `rejoin: block` holds the organization's removals{and_invitations}: grant the scope the plan names",
            crate::text::plural(unchecked, "removed member", "removed members")
        )
    } else {
        return None;
    };
    Some(Blocked {
        guard: Guard::Rejoin,
        limit: None,
        allowed: None,
        removals,
        current,
        invitations,
        message,
    })
}

/// The checks the inputs say could not be made, once each, with the scope that would let them.
pub(super) fn not_checked(inputs: &[OrgInput]) -> Vec<NotChecked> {
    let mut out = Vec::new();
    let mut add = |check: &str, scope: &str| {
        let n = NotChecked {
            check: check.into(),
            scope: scope.into(),
        };
        if !out.contains(&n) {
            out.push(n);
        }
    };
    for i in inputs {
        let r = &i.reentry;
        if r.doors.is_none() {
            add(
                "whether removed members can rejoin through auto-membership or signup",
                "read:organization_connections",
            );
        }
        if r.user_connections.values().any(Option::is_none) {
            add(
                "which connection removed database and social users log in through",
                "read:users",
            );
        }
        if r.invitations.is_none() {
            add("pending invitations", "read:organization_invitations");
        }
        if r.emails_unread {
            add(
                "the emails of declared members who are not members yet, so no invitation is revoked",
                "read:users",
            );
        }
        if i.unchecked_ids > 0 {
            add(
                "whether declared user_ids that are not members exist in the tenant (a typo of a member's user_id would remove that member)",
                "read:users",
            );
        }
        if !r.roles_read {
            add(
                "the roles of removed members, which Auth0 does not keep after a removal",
                "read:organization_member_roles",
            );
        }
    }
    out
}

/// Plans every organization, in input order, and seals the plan with its digest.
pub fn plan(domain: &str, config_sha256: &str, created_at: &str, inputs: &[OrgInput]) -> Plan {
    let organizations: Vec<OrgPlan> = inputs.iter().map(plan_org).collect();
    let summary = Summary {
        remove: organizations
            .iter()
            .filter(|o| o.blocked.is_none())
            .map(|o| o.remove.len())
            .sum(),
        missing: organizations.iter().map(|o| o.missing.len()).sum(),
        invited: organizations.iter().map(|o| o.invited.len()).sum(),
        protected_kept: organizations.iter().map(|o| o.protected_kept.len()).sum(),
        organizations_changed: organizations.iter().filter(|o| o.has_changes()).count(),
        blocked: organizations.iter().filter(|o| o.blocked.is_some()).count(),
        organizations: organizations.len(),
        drift: organizations.iter().any(|o| o.drift),
        revoke_invitations: organizations
            .iter()
            .map(|o| o.invitations_to_revoke().len())
            .sum(),
        undeclared_invitations: organizations
            .iter()
            .map(OrgPlan::undeclared_invitations)
            .sum(),
        can_rejoin: organizations.iter().map(OrgPlan::can_rejoin).sum(),
    };
    let mut p = Plan {
        format_version: FORMAT_VERSION,
        domain: domain.to_string(),
        config_sha256: config_sha256.to_string(),
        created_at: created_at.to_string(),
        organizations,
        summary,
        not_checked: not_checked(inputs),
        provenance: None,
        plan_sha256: None,
    };
    p.plan_sha256 = Some(p.digest());
    p
}
