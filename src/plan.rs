//! Plan: a pure function of desired and observed state, with no I/O.
//!
//! Like a kube-rs reconciler's diff, this is where the decisions are made, so it is kept small
//! and exhaustively unit-tested: who is removed (current, neither declared nor protected), who
//! is missing (declared, not current; orgsync never adds anyone), who stays only because they
//! are protected, and whether a guard (`allow_empty`, `max_removals`) blocks an organization's
//! removals. `plan_from` joins the config and the observed tenant by key into the planner's
//! input. A plan also carries a digest of its own content, so a saved plan that was edited by
//! accident is refused by `apply`.
//!
//! The file is long because its tests are: about half of it is the unit tests of every rule,
//! kept beside the rules they hold.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

pub use crate::config::MaxRemovals;
use crate::config::{DesiredState, Drift, Invitations, MemberRef, Rejoin, sha256_hex};
pub use crate::member::Member;
use crate::observe::{EmailFailure, EmailProblem, ObserveError, Observed};
use crate::reentry::{Doors, Invitation, RejoinRule, connection_from_user_id, email_key};

/// The JSON plan's version; `apply` refuses any other.
pub const FORMAT_VERSION: u32 = 1;

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

/// A declared member who is not a member yet but has a pending invitation: no drift, nothing
/// to do until they accept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitedMember {
    /// Null for an `{email: …}` entry that is no user yet.
    pub user_id: Option<String>,
    pub email: String,
    /// The pending invitation.
    pub invitation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// A declared or protected user_id that is no user of the tenant: a typo, most likely, of the
/// member the entry meant to keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownUser {
    pub user_id: String,
    /// The config entry, `FILE:LINE:COLUMN`.
    pub entry: String,
    /// `members` or `protect`.
    pub list: String,
    /// A current member the plan would remove whose user_id is a near miss of this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did_you_mean: Option<Member>,
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

/// A planned removal: the member, and whether they could come back on their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    #[serde(flatten)]
    pub member: Member,
    /// The connection through which the member could rejoin (auto-membership: logging in;
    /// signup: a new account), or null. Null also when it could not be checked (see
    /// `auto_membership`, and the plan's `not_checked`).
    #[serde(default)]
    pub can_rejoin_via: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejoin_by: Option<RejoinRule>,
    /// Whether re-entry could be checked for this member.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub rejoin_checked: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Deref for Removal {
    type Target = Member;
    fn deref(&self) -> &Member {
        &self.member
    }
}

impl std::borrow::Borrow<Member> for Removal {
    fn borrow(&self) -> &Member {
        &self.member
    }
}

impl From<Member> for Removal {
    fn from(member: Member) -> Removal {
        Removal {
            member,
            can_rejoin_via: None,
            rejoin_by: None,
            rejoin_checked: true,
        }
    }
}

/// An organization's pending invitations, as the plan sorts them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct InvitationPlan {
    /// What apply does with undeclared ones: `keep` (report only) or `revoke`.
    pub policy: Invitations,
    /// Open invitations for anyone not declared: an undeclared way in (drift). Apply revokes
    /// them only under `policy: revoke`.
    pub revoke: Vec<Invitation>,
    /// Open invitations for declared members.
    pub keep: Vec<Invitation>,
    /// Expired invitations: they can no longer be accepted; reported, not counted as open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired: Vec<Invitation>,
}

impl InvitationPlan {
    /// Invitations apply would revoke (policy `revoke`).
    pub fn to_revoke(&self) -> &[Invitation] {
        match self.policy {
            Invitations::Revoke => &self.revoke,
            Invitations::Keep => &[],
        }
    }
}

/// A check the plan could not make, and the scope that would let it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NotChecked {
    pub check: String,
    pub scope: String,
}

/// A member declared by email, and the user it resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedEmail {
    pub email: String,
    pub user_id: String,
}

/// The guard that stopped an organization's removals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// More removals than `max_removals` allows.
    MaxRemovals,
    /// Every member would go, and `allow_empty` is not set.
    AllowEmpty,
    /// `rejoin: block`, and a removed member could rejoin on their own (or it could not be
    /// checked).
    Rejoin,
    /// A declared or protected user_id is no user of the tenant.
    UnknownUser,
}

impl fmt::Display for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Guard::MaxRemovals => "max_removals",
            Guard::AllowEmpty => "allow_empty",
            Guard::Rejoin => "rejoin",
            Guard::UnknownUser => "unknown_user",
        })
    }
}

/// Why and by how much an organization is blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    pub guard: Guard,
    /// The configured limit, as written (`5`, `25%`), for `max_removals`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// Removals the limit allows, for `max_removals`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<usize>,
    pub removals: usize,
    pub current: usize,
    /// Invitations apply would have revoked here, counted apart from members.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub invitations: usize,
    pub message: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The plan for one organization.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OrgPlan {
    pub id: String,
    pub name: String,
    pub current_count: usize,
    /// Members after apply, counting missing and invited ones as if they were there:
    /// current - remove + missing + invited.
    pub desired_count: usize,
    pub remove: Vec<Removal>,
    pub missing: Vec<Member>,
    pub protected_kept: Vec<Member>,
    pub blocked: Option<Blocked>,
    /// Connections with `assign_membership_on_login`; null when they could not be read.
    #[serde(default)]
    pub auto_membership: Option<Vec<String>>,
    /// Connections with organization signup; null when they could not be read.
    #[serde(default)]
    pub signup_enabled: Option<Vec<String>>,
    /// Pending invitations; null when they could not be read.
    #[serde(default)]
    pub invitations: Option<InvitationPlan>,
    /// Whether the removals carry the members' roles (`read:organization_member_roles`).
    #[serde(default)]
    pub roles_recorded: bool,
    /// Anything to remove or missing here, or an open undeclared invitation: what a drift
    /// alert keys on.
    #[serde(default)]
    pub drift: bool,
    /// Members declared by email, with the user_id each resolved to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_emails: Vec<ResolvedEmail>,
    /// Declared members who are not members yet, each with a pending invitation: no drift.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invited: Vec<InvitedMember>,
    /// Declared or protected user_ids that are no user of the tenant: the organization is
    /// blocked until the entries are fixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_users: Vec<UnknownUser>,
    /// The whole current list, sorted by user_id, for the rendered diff. Not in the JSON.
    #[serde(skip)]
    pub current: Vec<Member>,
    /// The user_ids the config protects here; apply never removes them. Not in the JSON: a
    /// saved plan's protection always comes from the config.
    #[serde(skip)]
    pub protect: Vec<String>,
}

impl OrgPlan {
    /// Removals, missing members, open undeclared invitations, or unknown declared user_ids.
    pub fn has_changes(&self) -> bool {
        !self.remove.is_empty()
            || !self.missing.is_empty()
            || self.undeclared_invitations() > 0
            || !self.unknown_users.is_empty()
    }

    /// Whether the organization has drift as `setting` counts it.
    pub fn drifts(&self, setting: Drift) -> bool {
        let apply = !self.remove.is_empty()
            || !self.unknown_users.is_empty()
            || self
                .invitations
                .as_ref()
                .is_some_and(|i| !i.to_revoke().is_empty());
        match setting {
            Drift::Apply => apply,
            Drift::Members => apply || !self.missing.is_empty(),
            Drift::All => apply || !self.missing.is_empty() || self.undeclared_invitations() > 0,
        }
    }

    /// Open invitations for anyone not declared.
    pub fn undeclared_invitations(&self) -> usize {
        self.invitations.as_ref().map_or(0, |i| i.revoke.len())
    }

    /// Invitations apply would revoke: under `invitations: revoke`, unless a guard blocks.
    pub fn invitations_to_revoke(&self) -> &[Invitation] {
        match (&self.invitations, &self.blocked) {
            (Some(i), None) => i.to_revoke(),
            _ => &[],
        }
    }

    /// Removals that could be undone by the member.
    pub fn can_rejoin(&self) -> usize {
        self.remove
            .iter()
            .filter(|r| r.can_rejoin_via.is_some())
            .count()
    }
}

/// Totals over the plan; `drift` is what a scheduled job alerts on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Members apply would remove: the removals of organizations no guard blocks.
    /// (The JSON also carries `remove_blocked`, the removals of blocked organizations, computed
    /// from them when written: see [`Plan::remove_blocked`].)
    pub remove: usize,
    pub missing: usize,
    pub protected_kept: usize,
    pub organizations_changed: usize,
    pub blocked: usize,
    pub organizations: usize,
    /// Drift as the config's `drift` setting counts it (default `all`: removals, missing
    /// members, undeclared invitations): what `--detailed-exitcode` exits 2 for.
    pub drift: bool,
    /// Declared members not yet members, each with a pending invitation (no drift).
    #[serde(default)]
    pub invited: usize,
    /// Invitations apply would revoke.
    #[serde(default)]
    pub revoke_invitations: usize,
    /// Open invitations for anyone not declared (drift, whatever the policy).
    #[serde(default)]
    pub undeclared_invitations: usize,
    /// Removals the member could undo on their own.
    #[serde(default)]
    pub can_rejoin: usize,
}

/// A whole plan, as `--format json` and `--out` write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "PlanJson")]
pub struct Plan {
    pub format_version: u32,
    pub domain: String,
    pub config_sha256: String,
    pub created_at: String,
    pub organizations: Vec<OrgPlan>,
    pub summary: Summary,
    /// Checks the plan could not make, each with the scope that would let it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<NotChecked>,
    /// sha256 over the plan's own JSON without this field; `apply` refuses an edited plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
}

/// The plan as written: [`Plan`] with `summary.remove_blocked` after `summary.remove`. Reading
/// a plan ignores it (it is recomputed from the organizations when written again), so plans
/// written before it existed still read.
#[derive(Serialize)]
struct PlanJson {
    format_version: u32,
    domain: String,
    config_sha256: String,
    created_at: String,
    organizations: Vec<OrgPlan>,
    summary: SummaryJson,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_checked: Vec<NotChecked>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan_sha256: Option<String>,
}

#[derive(Serialize)]
struct SummaryJson {
    remove: usize,
    remove_blocked: usize,
    missing: usize,
    protected_kept: usize,
    organizations_changed: usize,
    blocked: usize,
    organizations: usize,
    drift: bool,
    // Left out at 0, so plans written before it keep their digest.
    #[serde(skip_serializing_if = "is_zero")]
    invited: usize,
    revoke_invitations: usize,
    undeclared_invitations: usize,
    can_rejoin: usize,
}

impl From<Plan> for PlanJson {
    fn from(p: Plan) -> PlanJson {
        let remove_blocked = p.remove_blocked();
        let s = p.summary;
        PlanJson {
            format_version: p.format_version,
            domain: p.domain,
            config_sha256: p.config_sha256,
            created_at: p.created_at,
            organizations: p.organizations,
            summary: SummaryJson {
                remove: s.remove,
                remove_blocked,
                missing: s.missing,
                protected_kept: s.protected_kept,
                organizations_changed: s.organizations_changed,
                blocked: s.blocked,
                organizations: s.organizations,
                drift: s.drift,
                invited: s.invited,
                revoke_invitations: s.revoke_invitations,
                undeclared_invitations: s.undeclared_invitations,
                can_rejoin: s.can_rejoin,
            },
            not_checked: p.not_checked,
            plan_sha256: p.plan_sha256,
        }
    }
}

impl Plan {
    /// Removals of blocked organizations: listed, never applied (`summary.remove_blocked`).
    pub fn remove_blocked(&self) -> usize {
        self.organizations
            .iter()
            .filter(|o| o.blocked.is_some())
            .map(|o| o.remove.len())
            .sum()
    }

    /// Removals or missing members anywhere.
    pub fn has_changes(&self) -> bool {
        self.organizations.iter().any(OrgPlan::has_changes)
    }

    /// sha256 of the plan's compact JSON with `plan_sha256` left out.
    pub fn digest(&self) -> String {
        let unsealed = Plan {
            plan_sha256: None,
            ..self.clone()
        };
        let bytes = serde_json::to_vec(&unsealed).unwrap_or_default();
        sha256_hex(&bytes)
    }

    /// The users whose details finish this plan's checks: the removed members of
    /// organizations with an auto-membership connection whose user_id does not name their
    /// connection (for `can_rejoin_via`); and every declared or protected user_id that is not a
    /// member, to check that it exists (a typo must not remove the member it meant to keep)
    /// and to read its email (an invitation to it is declared). Each once, in plan order. A
    /// plan in sync has none of the second kind, so it costs no read.
    pub fn users_to_read(&self) -> (Vec<String>, Vec<String>) {
        let mut connections_of: Vec<String> = Vec::new();
        let mut details_of: Vec<String> = Vec::new();
        let mut seen = (HashSet::new(), HashSet::new());
        for o in &self.organizations {
            if o.auto_membership.as_ref().is_some_and(|a| !a.is_empty()) {
                for r in &o.remove {
                    if connection_from_user_id(&r.user_id).is_none()
                        && seen.0.insert(r.user_id.as_str())
                    {
                        connections_of.push(r.user_id.clone());
                    }
                }
            }
            let present: HashSet<&str> = o.current.iter().map(|m| m.user_id.as_str()).collect();
            let not_members = o
                .missing
                .iter()
                .map(|m| m.user_id.as_str())
                .chain(o.unknown_users.iter().map(|u| u.user_id.as_str()))
                .chain(o.protect.iter().map(String::as_str))
                .filter(|u| !present.contains(u));
            for u in not_members {
                if seen.1.insert(u) {
                    details_of.push(u.to_string());
                }
            }
        }
        (connections_of, details_of)
    }

    /// Whether `plan_sha256` is present and matches the content.
    pub fn digest_matches(&self) -> bool {
        self.plan_sha256.as_deref() == Some(self.digest().as_str())
    }
}

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
fn rejoin_of(member: Member, r: &ReentryInput) -> Removal {
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
fn sort_invitations(
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
fn near_misses(unknown: &[UnknownUser], remove: &[Removal]) -> Vec<UnknownUser> {
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
fn unknown_guard(
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
fn guard(
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
fn not_checked(inputs: &[OrgInput]) -> Vec<NotChecked> {
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
        plan_sha256: None,
    };
    p.plan_sha256 = Some(p.digest());
    p
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

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str) -> Member {
        Member {
            user_id: id.into(),
            email: Some(format!("{id}@example.com")),
            name: None,
            roles: None,
        }
    }

    pub(super) fn input(current: &[&str], declared: &[&str]) -> OrgInput {
        OrgInput {
            id: "org_1".into(),
            name: "acme".into(),
            declared: declared.iter().map(|s| s.to_string()).collect(),
            protect: vec![],
            max_removals: None,
            allow_empty: false,
            current: current.iter().map(|s| m(s)).collect(),
            resolved: vec![],
            reentry: Default::default(),
            unknown: vec![],
            missing_emails: Default::default(),
            invitees: vec![],
            drift: Default::default(),
            unchecked_ids: 0,
        }
    }

    fn ids<M: std::borrow::Borrow<Member>>(ms: &[M]) -> Vec<&str> {
        ms.iter().map(|m| m.borrow().user_id.as_str()).collect()
    }

    #[test]
    fn remove_missing_and_protected_kept() {
        let mut i = input(&["a|3", "a|1", "a|2", "a|9"], &["a|1", "a|5", "a|4"]);
        i.protect = vec!["a|9".into(), "a|1".into()];
        let p = plan_org(&i);
        assert_eq!(ids(&p.remove), ["a|2", "a|3"], "sorted by user_id");
        assert_eq!(ids(&p.missing), ["a|4", "a|5"]);
        assert_eq!(
            ids(&p.protected_kept),
            ["a|9"],
            "a|1 is declared, so not kept by protection"
        );
        assert_eq!(p.current_count, 4);
        assert_eq!(p.desired_count, 4 - 2 + 2);
        assert_eq!(p.remove[0].email.as_deref(), Some("a|2@example.com"));
        assert_eq!(p.missing[0].email, None);
        assert!(p.blocked.is_none());
        assert!(p.has_changes());
    }

    #[test]
    fn user_ids_compare_byte_for_byte() {
        let p = plan_org(&input(&["auth0|ABC", "auth0|abc "], &["auth0|abc"]));
        assert_eq!(ids(&p.remove), ["auth0|ABC", "auth0|abc "]);
        assert_eq!(ids(&p.missing), ["auth0|abc"]);
    }

    #[test]
    fn nothing_to_do() {
        let p = plan_org(&input(&["a|1", "a|2"], &["a|2", "a|1"]));
        assert!(!p.has_changes());
        assert_eq!((p.current_count, p.desired_count), (2, 2));
    }

    #[test]
    fn max_removals_count_at_and_over() {
        let mut i = input(&["a|1", "a|2", "a|3", "a|4"], &["a|1"]);
        i.max_removals = Some(MaxRemovals::Count(3));
        assert!(plan_org(&i).blocked.is_none(), "3 removals, limit 3");
        i.max_removals = Some(MaxRemovals::Count(2));
        let b = plan_org(&i).blocked.unwrap();
        assert_eq!(b.guard, Guard::MaxRemovals);
        assert_eq!((b.removals, b.allowed, b.current), (3, Some(2), 4));
        assert_eq!(b.limit.as_deref(), Some("2"));
        assert_eq!(
            b.message,
            "3 removals exceed the limit of 2 (max_removals: 2)"
        );
        i.max_removals = Some(MaxRemovals::Count(0));
        assert!(
            plan_org(&i).blocked.is_some(),
            "a limit of 0 blocks any removal"
        );
    }

    #[test]
    fn max_removals_percent_floors() {
        // 25% of 4 is 1; of 7 is 1.75 -> 1.
        let mut i = input(&["a|1", "a|2", "a|3", "a|4"], &["a|1", "a|2", "a|3"]);
        i.max_removals = Some(MaxRemovals::Percent(25.0));
        assert!(plan_org(&i).blocked.is_none(), "1 of 4 at 25%");
        let mut j = input(
            &["a|1", "a|2", "a|3", "a|4", "a|5", "a|6", "a|7"],
            &["a|1", "a|2", "a|3", "a|4", "a|5"],
        );
        j.max_removals = Some(MaxRemovals::Percent(25.0));
        let b = plan_org(&j).blocked.unwrap();
        assert_eq!((b.removals, b.allowed), (2, Some(1)));
        assert_eq!(
            b.message,
            "2 removals exceed the limit of 1 (max_removals: 25% of 7 current members, rounded down)"
        );
        j.max_removals = Some(MaxRemovals::Percent(30.0));
        assert!(plan_org(&j).blocked.is_none(), "30% of 7 is 2.1 -> 2");
        j.max_removals = Some(MaxRemovals::Percent(12.5));
        assert_eq!(
            plan_org(&j).blocked.unwrap().limit.as_deref(),
            Some("12.5%")
        );
    }

    #[test]
    fn percent_limits_are_not_off_by_one_in_floating_point() {
        // 0.57% of 10,000 is exactly 57; naive floating point gives 56.999… and floors to 56.
        let mut i = input(&[], &[]);
        i.current = (0..10_000).map(|n| Member::id(format!("a|{n}"))).collect();
        i.declared = i.current[57..].iter().map(|m| m.user_id.clone()).collect();
        i.max_removals = Some(MaxRemovals::Percent(0.57));
        assert!(plan_org(&i).blocked.is_none(), "57 removals are allowed");
        i.declared = i.current[58..].iter().map(|m| m.user_id.clone()).collect();
        assert_eq!(plan_org(&i).blocked.unwrap().allowed, Some(57));
    }

    #[test]
    fn allow_empty_guards_emptying_and_comes_first() {
        let mut i = input(&["a|1", "a|2"], &[]);
        i.max_removals = Some(MaxRemovals::Count(1));
        let b = plan_org(&i).blocked.unwrap();
        assert_eq!(b.guard, Guard::AllowEmpty);
        assert_eq!(
            b.message,
            "removing all 2 members would empty the organization; set `allow_empty: true` to allow it"
        );
        i.allow_empty = true;
        assert_eq!(
            plan_org(&i).blocked.unwrap().guard,
            Guard::MaxRemovals,
            "then max_removals still applies"
        );
        i.max_removals = None;
        assert!(plan_org(&i).blocked.is_none());
    }

    #[test]
    fn a_protected_member_keeps_the_organization_from_emptying() {
        let mut i = input(&["a|1", "a|2"], &[]);
        i.protect = vec!["a|2".into()];
        let p = plan_org(&i);
        assert_eq!(ids(&p.remove), ["a|1"]);
        assert!(p.blocked.is_none());
    }

    #[test]
    fn an_empty_organization_is_not_blocked() {
        let p = plan_org(&input(&[], &["a|1"]));
        assert!(p.blocked.is_none());
        assert_eq!(ids(&p.missing), ["a|1"]);
    }

    fn sample() -> Plan {
        let mut a = input(&["a|1", "a|2", "a|3"], &["a|1"]);
        a.protect = vec!["a|3".into()];
        let mut b = input(&["b|1"], &[]);
        b.id = "org_2".into();
        let c = input(&["c|1"], &["c|1"]);
        plan(
            "travel0.us.auth0.com",
            "ab".repeat(32).as_str(),
            "2026-11-28T12:00:00Z",
            &[a, b, c],
        )
    }

    #[test]
    fn summary_totals() {
        let p = sample();
        assert_eq!(
            p.summary,
            Summary {
                revoke_invitations: 0,
                invited: 0,
                undeclared_invitations: 0,
                can_rejoin: 0,
                remove: 1,
                missing: 0,
                protected_kept: 1,
                organizations_changed: 2,
                blocked: 1,
                organizations: 3,
                drift: true
            }
        );
        assert!(p.has_changes());
        assert_eq!(p.remove_blocked(), 1, "the emptied organization is blocked");
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["summary"]["remove"], 1);
        assert_eq!(v["summary"]["remove_blocked"], 1);
        // A plan read back (or saved before `remove_blocked` existed) reads, and its digest holds.
        let back: Plan = serde_json::from_value(v.clone()).unwrap();
        assert!(back.digest_matches());
        let mut old = v;
        old["summary"]
            .as_object_mut()
            .unwrap()
            .remove("remove_blocked");
        assert!(serde_json::from_value::<Plan>(old).is_ok());
    }

    #[test]
    fn json_round_trips_in_product_md_field_order() {
        let p = sample();
        let text = serde_json::to_string(&p).unwrap();
        let keys = [
            "format_version",
            "domain",
            "config_sha256",
            "created_at",
            "organizations",
            "summary",
            "plan_sha256",
        ];
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        let org_keys = [
            "\"id\"",
            "\"name\"",
            "\"current_count\"",
            "\"desired_count\"",
            "\"remove\"",
            "\"missing\"",
            "\"protected_kept\"",
            "\"blocked\"",
            "\"drift\"",
        ];
        let org = &text[text.find("\"organizations\"").unwrap()..];
        let positions: Vec<usize> = org_keys.iter().map(|k| org.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{org}");
        assert!(text.contains("\"blocked\":null"));
        assert!(text.contains(r#""blocked":{"guard":"allow_empty","removals":1,"current":1,"#));
        let back: Plan = serde_json::from_str(&text).unwrap();
        let mut expected = p.clone();
        for o in &mut expected.organizations {
            o.current.clear();
            o.protect.clear();
        }
        assert_eq!(back, expected);
    }

    #[test]
    fn the_digest_detects_edits() {
        let p = sample();
        assert!(p.digest_matches());
        let text = serde_json::to_string_pretty(&p).unwrap();
        let back: Plan = serde_json::from_str(&text).unwrap();
        assert!(back.digest_matches(), "pretty printing is not an edit");
        let edited: Plan = serde_json::from_str(&text.replace("\"b|1\"", "\"b|2\"")).unwrap();
        assert!(!edited.digest_matches());
        let mut unsealed = p.clone();
        unsealed.plan_sha256 = None;
        assert!(!unsealed.digest_matches());
    }
}

#[cfg(test)]
mod plan_from_tests {
    use super::*;
    use crate::config::{self, OrgRef};
    use crate::observe::ObservedOrg;

    fn config() -> DesiredState {
        config::from_str(
            "version: 1\norganizations:\n  - name: alpha\n    members: [\"a|1\"]\n  - name: beta\n    members: [\"b|1\", {email: b2@example.com}]\n  - name: gamma\n    members: [\"c|1\"]\n",
            "orgsync.yaml",
        )
        .unwrap()
    }

    fn observed(name: &str, id: &str, members: &[&str]) -> (OrgRef, ObservedOrg) {
        (
            OrgRef::Name(name.into()),
            ObservedOrg {
                connections: None,
                invitations: None,
                roles_read: false,
                id: id.into(),
                name: name.into(),
                members: members.iter().map(|m| Member::id(*m)).collect(),
            },
        )
    }

    #[test]
    fn observations_join_their_config_entry_by_key_whatever_the_order() {
        let observed = Observed {
            user_connections: Default::default(),
            user_emails: Default::default(),
            users_exist: Default::default(),
            unregistered: Default::default(),
            orgs: [
                observed("gamma", "org_g", &["c|1", "c|2"]),
                observed("beta", "org_b", &["b|1", "b|2"]),
                observed("alpha", "org_a", &["a|1"]),
            ]
            .into_iter()
            .collect(),
            emails: [("b2@example.com".to_string(), "b|2".to_string())].into(),
        };
        let plan = plan_from("example.auth0.com", &config(), observed, "now").unwrap();
        let removals: Vec<(&str, Vec<&str>)> = plan
            .organizations
            .iter()
            .map(|o| {
                (
                    o.name.as_str(),
                    o.remove.iter().map(|m| m.user_id.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            removals,
            [("alpha", vec![]), ("beta", vec![]), ("gamma", vec!["c|2"])]
        );
    }

    #[test]
    fn a_missing_organization_or_email_plans_nothing() {
        // alpha was never observed: beta's members must not be compared with alpha's.
        let without_alpha = Observed {
            user_connections: Default::default(),
            user_emails: Default::default(),
            users_exist: Default::default(),
            unregistered: Default::default(),
            orgs: [
                observed("beta", "org_b", &["b|1", "b|2"]),
                observed("gamma", "org_g", &["c|1"]),
            ]
            .into_iter()
            .collect(),
            emails: [("b2@example.com".to_string(), "b|2".to_string())].into(),
        };
        let e = plan_from("example.auth0.com", &config(), without_alpha, "now").unwrap_err();
        assert!(
            e.to_string().contains("organization `alpha` was not read"),
            "{e}"
        );
        // The email of a declared member was never resolved: it must not drop out.
        let without_email = Observed {
            user_connections: Default::default(),
            user_emails: Default::default(),
            users_exist: Default::default(),
            unregistered: Default::default(),
            orgs: [
                observed("alpha", "org_a", &["a|1"]),
                observed("beta", "org_b", &["b|1", "b|2"]),
                observed("gamma", "org_g", &["c|1"]),
            ]
            .into_iter()
            .collect(),
            emails: Default::default(),
        };
        let e = plan_from("example.auth0.com", &config(), without_email, "now").unwrap_err();
        assert!(e.to_string().contains("b2@example.com"), "{e}");
    }

    mod reentry_rules {
        use crate::plan::*;
        use crate::reentry::EnabledConnection;

        fn conn(name: &str, auto: bool, signup: bool) -> EnabledConnection {
            EnabledConnection::named(name, auto, signup)
        }

        fn inv(id: &str, email: &str, expires: &str) -> Invitation {
            Invitation {
                id: id.into(),
                invitee_email: email.into(),
                inviter: Some("Bob".into()),
                created_at: Some("2026-12-01T00:00:00.000Z".into()),
                expires_at: Some(expires.into()),
                roles: vec![],
            }
        }

        /// acme: four members, `a|keep` declared; corp has auto-membership.
        fn input_with(connections: &[EnabledConnection]) -> OrgInput {
            let mut i = crate::plan::tests::input(
                &["a|keep", "samlp|corp|x", "samlp|other|y", "auth0|db"],
                &["a|keep"],
            );
            i.max_removals = None;
            i.reentry = ReentryInput {
                doors: Some(Doors::from_connections(connections)),
                now: "2026-12-03T00:00:00Z".into(),
                invitations: Some(vec![]),
                roles_read: true,
                ..ReentryInput::default()
            };
            i
        }

        fn via(p: &OrgPlan, user: &str) -> (Option<String>, Option<RejoinRule>, bool) {
            let r = p.remove.iter().find(|r| r.user_id == user).unwrap();
            (r.can_rejoin_via.clone(), r.rejoin_by, r.rejoin_checked)
        }

        #[test]
        fn a_removal_through_an_auto_membership_connection_can_be_undone() {
            let mut i = input_with(&[conn("corp", true, false), conn("other", false, false)]);
            i.reentry.user_connections =
                HashMap::from([("auth0|db".to_string(), Some(vec!["corp".to_string()]))]);
            let p = plan_org(&i);
            let auto = Some(RejoinRule::AutoMembership);
            assert_eq!(via(&p, "samlp|corp|x"), (Some("corp".into()), auto, true));
            assert_eq!(via(&p, "samlp|other|y"), (None, None, true));
            // A database user whose identities were read: through corp.
            assert_eq!(via(&p, "auth0|db"), (Some("corp".into()), auto, true));
            assert_eq!(p.can_rejoin(), 2);
            assert_eq!(p.auto_membership, Some(vec!["corp".to_string()]));
            assert!(p.blocked.is_none(), "warn is the default");
        }

        #[test]
        fn unknown_connections_are_unchecked_unless_signup_is_open_to_anyone() {
            // auth0|db was not read (no read:users): unchecked.
            let p = plan_org(&input_with(&[conn("corp", true, false)]));
            assert_eq!(via(&p, "auth0|db"), (None, None, false));
            let mut i = input_with(&[conn("corp", true, false), conn("db", true, true)]);
            i.reentry.user_connections = HashMap::from([("auth0|db".to_string(), None)]);
            let p = plan_org(&i);
            assert_eq!(
                via(&p, "auth0|db"),
                (Some("db".into()), Some(RejoinRule::Signup), true)
            );
            // Without the doors read, nothing is checked.
            let mut i = input_with(&[]);
            i.reentry.doors = None;
            let p = plan_org(&i);
            assert!(p.remove.iter().all(|r| !r.rejoin_checked));
            assert_eq!(p.auto_membership, None);
        }

        #[test]
        fn rejoin_block_blocks_an_organization_whose_removals_could_be_undone() {
            let mut i = input_with(&[conn("corp", true, false)]);
            i.reentry.rejoin = Rejoin::Block;
            i.reentry.user_connections = HashMap::from([("auth0|db".to_string(), Some(vec![]))]);
            let p = plan_org(&i);
            let b = p.blocked.as_ref().unwrap();
            assert_eq!(b.guard, Guard::Rejoin);
            assert!(
                b.message.contains("1 of 3 removals could be undone"),
                "{}",
                b.message
            );
            assert!(b.message.contains("`corp`"), "{}", b.message);
            // A connection's name comes from the tenant: escaped in the message.
            let mut i = input_with(&[conn("corp", true, false)]);
            i.current[1].user_id = "samlp|co\u{1b}[2Jrp|x".into();
            i.reentry.doors = Some(Doors::from_connections(&[conn(
                "co\u{1b}[2Jrp",
                true,
                false,
            )]));
            i.reentry.rejoin = Rejoin::Block;
            i.reentry.user_connections = HashMap::from([("auth0|db".to_string(), Some(vec![]))]);
            let b = plan_org(&i).blocked.unwrap();
            assert!(!b.message.contains('\u{1b}'), "{}", b.message);
            // Nothing to undo: not blocked.
            let mut i = input_with(&[conn("corp", false, false)]);
            i.reentry.rejoin = Rejoin::Block;
            assert!(plan_org(&i).blocked.is_none());
            // Could not be checked: blocked, saying so.
            let mut i = input_with(&[]);
            i.reentry.doors = None;
            i.reentry.rejoin = Rejoin::Block;
            let p = plan_org(&i);
            let b = p.blocked.unwrap();
            assert_eq!(b.guard, Guard::Rejoin);
            assert!(b.message.contains("could not be checked"), "{}", b.message);
        }

        #[test]
        fn invitations_for_declared_members_are_kept_the_rest_are_drift() {
            let mut i = input_with(&[]);
            i.declared = vec!["a|keep".into(), "a|new".into(), "a|mail".into()];
            i.resolved = vec![ResolvedEmail {
                email: "New@Example.com".into(),
                user_id: "a|new".into(),
            }];
            i.current.retain(|m| m.user_id == "a|keep");
            i.reentry.declared_emails = vec!["mail@example.com".into()];
            i.reentry.invitations = Some(vec![
                inv("uinv_1", "a|keep@example.com", "2026-12-09T00:00:00.000Z"),
                inv("uinv_2", "new@example.com", "2026-12-09T00:00:00.000Z"),
                inv("uinv_3", "MAIL@example.com", "2026-12-09T00:00:00.000Z"),
                inv("uinv_4", "eve@evil.example", "2026-12-09T00:00:00.000Z"),
                inv("uinv_5", "old@evil.example", "2026-12-02T00:00:00.000Z"),
            ]);
            let p = plan_org(&i);
            let inv = p.invitations.as_ref().unwrap();
            let ids = |l: &[Invitation]| l.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&inv.keep), ["uinv_1", "uinv_3", "uinv_2"]);
            assert_eq!(ids(&inv.revoke), ["uinv_4"]);
            assert_eq!(ids(&inv.expired), ["uinv_5"]);
            assert!(p.drift && p.has_changes());
            assert!(p.invitations_to_revoke().is_empty(), "keep is the default");
            i.reentry.invitation_policy = Invitations::Revoke;
            let p = plan_org(&i);
            assert_eq!(ids(p.invitations_to_revoke()), ["uinv_4"]);
        }

        #[test]
        fn only_invitations_are_drift_and_a_blocked_organization_revokes_nothing() {
            let mut i = input_with(&[]);
            i.current.retain(|m| m.user_id == "a|keep");
            i.reentry.invitations = Some(vec![inv(
                "uinv_4",
                "eve@evil.example",
                "2026-12-09T00:00:00.000Z",
            )]);
            i.reentry.invitation_policy = Invitations::Revoke;
            let p = plan("d", "c", "2026-12-03T00:00:00Z", std::slice::from_ref(&i));
            assert!(p.summary.drift);
            assert_eq!(p.summary.undeclared_invitations, 1);
            assert_eq!(p.summary.revoke_invitations, 1);
            // A guard blocks the members' removals: the invitations stay too.
            let mut i = input_with(&[]);
            i.max_removals = Some(MaxRemovals::Count(1));
            i.reentry.invitations = Some(vec![inv(
                "uinv_4",
                "eve@evil.example",
                "2026-12-09T00:00:00.000Z",
            )]);
            i.reentry.invitation_policy = Invitations::Revoke;
            let p = plan_org(&i);
            let b = p.blocked.as_ref().unwrap();
            assert_eq!(b.invitations, 1);
            assert!(
                b.message.contains("(and 1 invitation it would revoke)"),
                "{}",
                b.message
            );
            assert!(p.invitations_to_revoke().is_empty());
        }

        #[test]
        fn what_could_not_be_checked_is_said_once_with_its_scope() {
            let mut a = input_with(&[]);
            a.reentry.doors = None;
            a.reentry.invitations = None;
            a.reentry.roles_read = false;
            let b = a.clone();
            let p = plan("d", "c", "t", &[a, b]);
            let scopes: Vec<&str> = p.not_checked.iter().map(|n| n.scope.as_str()).collect();
            assert_eq!(
                scopes,
                [
                    "read:organization_connections",
                    "read:organization_invitations",
                    "read:organization_member_roles"
                ]
            );
            let p = plan("d", "c", "t", &[input_with(&[])]);
            assert!(p.not_checked.is_empty());
        }

        #[test]
        fn an_unreadable_declared_email_revokes_no_invitation() {
            let desired = crate::config::from_str(
                "version: 1\ndefaults:\n  invitations: revoke\norganizations:\n  - name: acme\n    members: [\"auth0|new\"]\n",
                "orgsync.yaml",
            )
            .unwrap();
            let observed = |email: Option<Option<String>>| Observed {
                orgs: HashMap::from([(
                    crate::config::OrgRef::Name("acme".into()),
                    crate::observe::ObservedOrg {
                        id: "org_1".into(),
                        name: "acme".into(),
                        invitations: Some(vec![inv(
                            "uinv_1",
                            "new@acme.example",
                            "2036-01-01T00:00:00.000Z",
                        )]),
                        connections: Some(vec![]),
                        roles_read: true,
                        ..Default::default()
                    },
                )]),
                emails: HashMap::new(),
                user_connections: HashMap::new(),
                user_emails: HashMap::from([("auth0|new".to_string(), email)]),
                users_exist: Default::default(),
                unregistered: Default::default(),
            };
            let now = "2026-12-03T00:00:00Z";
            // Read: the invitation is the declared new hire's.
            let p = plan_from(
                "d",
                &desired,
                observed(Some(Some("new@acme.example".into()))),
                now,
            )
            .unwrap();
            let inv = p.organizations[0].invitations.as_ref().unwrap();
            assert_eq!((inv.keep.len(), inv.revoke.len()), (1, 0));
            // Not readable: it looks undeclared, and nothing is revoked.
            let p = plan_from("d", &desired, observed(None), now).unwrap();
            let o = &p.organizations[0];
            assert_eq!(o.undeclared_invitations(), 1);
            assert!(o.invitations_to_revoke().is_empty());
            assert!(p.not_checked.iter().any(|n| n.scope == "read:users"));
        }

        #[test]
        fn the_users_to_read_are_those_the_checks_need_each_once() {
            let mut i = input_with(&[conn("corp", true, false)]);
            i.declared.push("auth0|new".into());
            i.reentry.invitations = Some(vec![inv(
                "uinv_9",
                "who@example.com",
                "2026-12-09T00:00:00.000Z",
            )]);
            let p = plan("d", "c", "2026-12-03T00:00:00Z", &[i.clone(), i]);
            let (connections_of, emails_of) = p.users_to_read();
            // samlp users name their connection; only the database user is read.
            assert_eq!(connections_of, ["auth0|db"]);
            assert_eq!(emails_of, ["auth0|new"]);
        }
    }
}
