//! The planner's input, and `plan_from`: the join, by key, of the config with what was read
//! from the tenant. A key that is missing from the observation stops the run, so a gap can never
//! turn a declared member into a removal.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::config::{DesiredState, Drift, Invitations, MemberRef, Rejoin};
use crate::observe::{EmailFailure, EmailProblem, ObserveError, Observed};
use crate::reentry::{Doors, Invitation, email_key};

/// Everything the planner needs for one organization.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgInput {
    pub id: String,
    pub name: String,
    /// User_ids from the config.
    pub declared: Vec<String>,
    /// User_ids never removed (defaults and the organization's own).
    pub protect: Vec<String>,
    pub max_removals: Option<MaxRemovals>,
    pub allow_empty: bool,
    /// Live members as read from Auth0.
    pub current: Vec<Member>,
    /// Members the config names by email, and the user_id each resolved to.
    pub resolved: Vec<ResolvedEmail>,
    /// The ways back in, the invitations, and what to do about them.
    pub reentry: ReentryInput,
    /// Declared or protected user_ids the tenant says do not exist, with their config entry.
    pub unknown: Vec<UnknownUser>,
    /// Declared or protected user_ids that are not members and could not be checked against
    /// the tenant (no `read:users`).
    pub unchecked_ids: usize,
    /// The known emails of declared members who are not members (user_id → email): one with a
    /// pending invitation is `invited`, not missing.
    pub missing_emails: HashMap<String, String>,
    /// `{email: …}` entries that are no user yet: each has a pending invitation (the plan was
    /// refused otherwise), and is `invited`.
    pub invitees: Vec<String>,
    /// What counts as drift here.
    pub drift: Drift,
}

/// What the planner knows of an organization's doors (see [`crate::reentry`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReentryInput {
    /// Auto-membership and signup connections; `None` when they could not be read.
    pub doors: Option<Doors>,
    pub rejoin: Rejoin,
    /// The connections of users whose user_id does not name one, as read
    /// (`GET /users/{id}`); `None` for a user that could not be read.
    pub user_connections: HashMap<String, Option<Vec<String>>>,
    /// Pending invitations; `None` when they could not be read.
    pub invitations: Option<Vec<Invitation>>,
    pub invitation_policy: Invitations,
    /// Emails of the declared members: `{email:}` entries and the known emails of declared
    /// user_ids. An invitation to one of them is declared.
    pub declared_emails: Vec<String>,
    /// Whether members were read with their roles.
    pub roles_read: bool,
    /// A declared member's email could not be read: their invitation may look undeclared, so
    /// the policy is `keep` whatever the config says.
    pub emails_unread: bool,
    /// The plan's time, for invitation expiry.
    pub now: String,
}

impl ReentryInput {
    /// Everything read, and nothing found: no doors, no invitations, roles read.
    pub fn checked() -> ReentryInput {
        ReentryInput {
            doors: Some(Doors::default()),
            invitations: Some(Vec::new()),
            roles_read: true,
            ..ReentryInput::default()
        }
    }
}

/// The pure step: desired + observed → plan. Every organization and email of the config is
/// looked up by key in the observation; one that is missing stops the run (nothing is planned),
/// so a gap can never turn a declared member into a removal.
pub fn plan_from(
    domain: &str,
    desired: &DesiredState,
    observed: Observed,
    created_at: &str,
) -> Result<Plan, ObserveError> {
    let Observed {
        mut orgs,
        emails,
        user_connections,
        user_emails,
        users_exist,
        unregistered,
    } = observed;
    let mut inputs = Vec::with_capacity(desired.organizations.len());
    // `{email: …}` entries of nobody that no pending invitation explains, refused together.
    let mut nobody: Vec<EmailFailure> = Vec::new();
    for d in &desired.organizations {
        let o = orgs
            .remove(&d.org)
            .ok_or_else(|| ObserveError::Incomplete(format!("organization `{}`", d.org)))?;
        let mut declared = Vec::with_capacity(d.members.len());
        let mut resolved = Vec::new();
        let mut invitees = Vec::new();
        // The pending invitations' emails, for invitees who are no user yet.
        let invited_emails: HashSet<String> = o
            .invitations
            .iter()
            .flatten()
            .filter(|i| !i.expired_at(created_at))
            .map(|i| email_key(&i.invitee_email))
            .collect();
        for m in &d.members {
            match &m.member {
                MemberRef::UserId(u) => declared.push(u.clone()),
                MemberRef::Email(e) if unregistered.contains(e) => {
                    if invited_emails.contains(&email_key(e)) {
                        invitees.push(e.clone());
                    } else {
                        nobody.push(EmailFailure {
                            email: e.clone(),
                            location: m.location.clone(),
                            problem: EmailProblem::NotFound,
                        });
                    }
                }
                MemberRef::Email(e) => {
                    let u = emails
                        .get(e)
                        .ok_or_else(|| ObserveError::Incomplete(format!("the email `{e}`")))?;
                    declared.push(u.clone());
                    resolved.push(ResolvedEmail {
                        email: e.clone(),
                        user_id: u.clone(),
                    });
                }
            }
        }
        let mut protect = Vec::with_capacity(d.protect.len());
        for p in &d.protect {
            match &p.member {
                MemberRef::UserId(u) => protect.push(u.clone()),
                // Only a user can be protected: an invitee is not a member to keep yet.
                MemberRef::Email(e) if unregistered.contains(e) => nobody.push(EmailFailure {
                    email: e.clone(),
                    location: p.location.clone(),
                    problem: EmailProblem::NotFound,
                }),
                MemberRef::Email(e) => protect.push(
                    emails
                        .get(e)
                        .ok_or_else(|| ObserveError::Incomplete(format!("the email `{e}`")))?
                        .clone(),
                ),
            }
        }
        // Declared and protected user_ids that are not members: each must be a user of the
        // tenant. Those given by email were found by it, so exist.
        let present: HashSet<&str> = o.members.iter().map(|m| m.user_id.as_str()).collect();
        let mut unknown = Vec::new();
        let mut unchecked_ids = 0;
        let entries = d
            .members
            .iter()
            .map(|m| (m, "members"))
            .chain(d.protect.iter().map(|p| (p, "protect")));
        for (entry, list) in entries {
            let Some(u) = entry.user_id() else { continue };
            if present.contains(u) {
                continue;
            }
            match users_exist.get(u) {
                Some(Some(false)) => unknown.push(UnknownUser {
                    user_id: u.to_string(),
                    entry: entry.location.to_string(),
                    list: list.to_string(),
                    did_you_mean: None,
                }),
                Some(Some(true)) => {}
                // Not read (no `read:users`), or not asked yet (the first of the two plans).
                Some(None) => unchecked_ids += 1,
                None => {}
            }
        }
        let missing_emails: HashMap<String, String> = declared
            .iter()
            .filter(|u| !present.contains(u.as_str()))
            .filter_map(|u| Some((u.clone(), user_emails.get(u).cloned().flatten().flatten()?)))
            .collect();
        let declared_emails = declared
            .iter()
            .filter_map(|u| user_emails.get(u).cloned().flatten().flatten())
            .chain(invitees.iter().cloned())
            .collect();
        // A declared member whose email could not be read may be the invitee of an invitation
        // that looks undeclared: none is revoked then (the plan says why).
        let emails_unread = declared
            .iter()
            .any(|u| matches!(user_emails.get(u), Some(None)));
        let doors = o.connections.as_deref().map(Doors::from_connections);
        // The connections read for this organization's members (only those that were read).
        let user_connections: HashMap<String, Option<Vec<String>>> = o
            .members
            .iter()
            .filter_map(|m| {
                user_connections
                    .get(&m.user_id)
                    .map(|c| (m.user_id.clone(), c.clone()))
            })
            .collect();
        inputs.push(OrgInput {
            id: o.id,
            name: o.name,
            declared,
            resolved,
            protect,
            max_removals: d.max_removals,
            allow_empty: d.allow_empty,
            current: o.members,
            reentry: ReentryInput {
                doors,
                rejoin: d.rejoin,
                user_connections,
                invitations: o.invitations,
                invitation_policy: if emails_unread {
                    Invitations::Keep
                } else {
                    d.invitations
                },
                emails_unread,
                declared_emails,
                roles_read: o.roles_read,
                now: created_at.to_string(),
            },
            unknown,
            unchecked_ids,
            missing_emails,
            invitees,
            drift: d.drift,
        });
    }
    if !nobody.is_empty() {
        nobody.sort_by_key(|f| (f.location.file.clone(), f.location.line, f.location.column));
        return Err(ObserveError::Emails(nobody));
    }
    Ok(plan(domain, &desired.sha256, created_at, &inputs))
}
