//! What a plan holds: per organization its removals, missing, invited and protected members,
//! invitations, guard and doors; the totals; the plan itself and its digest.

use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

use super::format::PlanJson;
use super::*;
use crate::config::{Drift, Invitations, sha256_hex};
use crate::reentry::{Invitation, RejoinRule, connection_from_user_id};

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

pub(super) fn yes() -> bool {
    true
}

pub(super) fn is_true(b: &bool) -> bool {
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

pub(super) fn is_zero(n: &usize) -> bool {
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
    /// Where the plan's change came from (the config's commit, the CI run), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<crate::provenance::Provenance>,
    /// sha256 over the plan's own JSON without this field; `apply` refuses an edited plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
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

    /// Records where the plan's change came from, and seals the plan again.
    pub fn with_provenance(mut self, provenance: Option<crate::provenance::Provenance>) -> Plan {
        self.provenance = provenance;
        self.plan_sha256 = Some(self.digest());
        self
    }

    /// Whether `plan_sha256` is present and matches the content.
    pub fn digest_matches(&self) -> bool {
        self.plan_sha256.as_deref() == Some(self.digest().as_str())
    }
}
