//! The emulator's in-memory tenant: users, organizations and memberships in join order.
//!
//! Memberships are kept per organization in a `BTreeMap` keyed by a join sequence number, so a
//! checkpoint page is a range scan from the cursor (O(log n + page)), offset pages are bounded
//! by Auth0's 1000-record cap, and a removal is O(log n) even in a 100,000-member organization.
//! Users are interned once and referred to by index, which keeps a million memberships in a few
//! hundred megabytes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::time::{Duration, Instant};

use super::tenant::{EnabledConnection, Role, Tenant, default_connection, derived_id};

/// A user known to the tenant.
#[derive(Debug, Clone)]
pub struct User {
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// The connection the tenant file gives; else derived from the user_id.
    pub connection: Option<String>,
}

impl User {
    /// The connection the user logs in through.
    pub fn connection(&self) -> String {
        self.connection
            .clone()
            .unwrap_or_else(|| default_connection(&self.user_id))
    }
}

/// A pending invitation.
#[derive(Debug, Clone)]
pub struct PendingInvitation {
    pub id: String,
    pub invitee_email: String,
    pub inviter: Option<String>,
    /// Microseconds since the epoch.
    pub created_at: u64,
    pub expires_at: u64,
    pub roles: Vec<Role>,
}

/// Auth0's default invitation lifetime (`ttl_sec`), 7 days.
pub const INVITATION_TTL_MICROS: u64 = 604_800 * 1_000_000;

/// One membership of a user in an organization.
#[derive(Debug, Clone)]
pub struct Membership {
    pub user: u32,
    pub roles: Option<Box<[Role]>>,
    /// Roles held through an enterprise group (not assignable, not listed as the member's).
    pub group_roles: Option<Box<[Role]>>,
    /// Set when the membership was removed but is still listed (eventual consistency).
    pub hidden_after: Option<Instant>,
}

/// An organization and its members.
#[derive(Debug)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub branding: Option<serde_json::Value>,
    pub metadata: Option<serde_json::Value>,
    /// Position in the organization list, used for its checkpoint cursor.
    pub seq: u64,
    pub members: BTreeMap<u64, Membership>,
    pub seq_of: HashMap<u32, u64>,
    /// Removed memberships still listed, oldest first: (when they disappear, join seq).
    pending: Vec<(Instant, u64)>,
    /// Enabled connections, in the tenant file's order.
    pub connections: Vec<EnabledConnection>,
    /// Pending invitations, newest first (Auth0's default sort, `created_at:-1`).
    pub invitations: Vec<PendingInvitation>,
}

impl Org {
    /// Drops memberships whose removal has become visible.
    pub fn settle(&mut self, now: Instant) {
        if self.pending.is_empty() {
            return;
        }
        let members = &mut self.members;
        self.pending.retain(|&(at, seq)| {
            if at <= now {
                // The entry may have been re-added (and so re-keyed) meanwhile.
                if members.get(&seq).is_some_and(|m| m.hidden_after.is_some()) {
                    members.remove(&seq);
                }
                false
            } else {
                true
            }
        });
    }

    /// Memberships as a list shows them (including removed ones not yet invisible), from
    /// the one after `after` (exclusive) on.
    pub fn listed_after(&self, after: Option<u64>) -> impl Iterator<Item = (&u64, &Membership)> {
        let start = match after {
            Some(seq) => Bound::Excluded(seq),
            None => Bound::Unbounded,
        };
        self.members.range((start, Bound::Unbounded))
    }

    /// Number of memberships a list shows.
    pub fn listed_len(&self) -> usize {
        self.members.len()
    }

    /// Whether `user` is a member (removals in flight no longer count).
    pub fn is_member(&self, user: u32) -> bool {
        self.seq_of.contains_key(&user)
    }

    /// Members in join order, removals in flight excluded: the authoritative state.
    pub fn current_members(&self) -> impl Iterator<Item = &Membership> {
        self.members.values().filter(|m| m.hidden_after.is_none())
    }

    /// Members whose removal was accepted but is not yet visible in lists.
    pub fn pending_removals(&self) -> impl Iterator<Item = &Membership> {
        self.members.values().filter(|m| m.hidden_after.is_some())
    }
}

/// The whole tenant.
#[derive(Debug, Default)]
pub struct TenantState {
    pub users: Vec<User>,
    pub user_index: HashMap<String, u32>,
    pub by_email: HashMap<String, Vec<u32>>,
    pub orgs: Vec<Org>,
    pub org_by_id: HashMap<String, usize>,
    pub org_by_name: HashMap<String, usize>,
    /// The tenant's roles by id: those the tenant file names on members and invitations, and
    /// those test hooks set; a deleted role is gone from here.
    pub roles: BTreeMap<String, Role>,
    /// Users deleted (`GET /users/{id}` answers 404; they cannot be added back).
    pub deleted_users: HashSet<String>,
    next_seq: u64,
}

impl TenantState {
    /// Builds the state from a checked tenant, taking its strings. Members join in file order.
    pub fn from_tenant(tenant: Tenant) -> TenantState {
        let started = orgsync_common::timefmt::unix_micros(std::time::SystemTime::now());
        // Times are kept to the millisecond, as Auth0 writes them.
        let started = started - started % 1000;
        let members: usize = tenant.organizations.iter().map(|o| o.members.len()).sum();
        let mut state = TenantState {
            users: Vec::with_capacity(tenant.users.len() + members),
            user_index: HashMap::with_capacity(tenant.users.len() + members),
            ..TenantState::default()
        };
        for u in tenant.users {
            state.intern_owned(u.user_id, u.email, u.name);
        }

        let micros = |t: &Option<String>| {
            t.as_deref()
                .and_then(orgsync_common::timefmt::parse_rfc3339_micros)
        };
        for (i, org) in tenant.organizations.into_iter().enumerate() {
            let mut o = Org {
                id: org.id,
                name: org.name,
                display_name: org.display_name,
                branding: org.branding,
                metadata: org.metadata,
                seq: i as u64 + 1,
                members: BTreeMap::new(),
                seq_of: HashMap::with_capacity(org.members.len()),
                pending: Vec::new(),
                connections: org.enabled_connections,
                invitations: Vec::with_capacity(org.invitations.len()),
            };
            for i in &org.invitations {
                let created_at = micros(&i.created_at).unwrap_or(started);
                o.invitations.push(PendingInvitation {
                    id: i.id.clone().unwrap_or_else(|| {
                        derived_id("uinv_", &format!("{}\n{}", o.id, i.invitee_email))
                    }),
                    invitee_email: i.invitee_email.clone(),
                    inviter: i.inviter.clone(),
                    created_at,
                    expires_at: micros(&i.expires_at).unwrap_or(created_at + INVITATION_TTL_MICROS),
                    roles: i.roles.iter().map(|r| Role::named(r)).collect(),
                });
                for r in &i.roles {
                    let r = Role::named(r);
                    state.roles.entry(r.id.clone()).or_insert(r);
                }
            }
            o.invitations
                .sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
            for m in org.members {
                let connection = m.connection;
                let user = state.intern_owned(m.user_id, m.email, m.name);
                let u = &mut state.users[user as usize];
                if u.connection.is_none() {
                    u.connection = connection;
                }
                state.next_seq += 1;
                for r in &m.roles {
                    state.roles.entry(r.id.clone()).or_insert_with(|| r.clone());
                }
                let roles = (!m.roles.is_empty()).then(|| m.roles.into_boxed_slice());
                o.members.insert(
                    state.next_seq,
                    Membership {
                        user,
                        roles,
                        group_roles: None,
                        hidden_after: None,
                    },
                );
                o.seq_of.insert(user, state.next_seq);
            }
            state.org_by_id.insert(o.id.clone(), i);
            state.org_by_name.insert(o.name.clone(), i);
            state.orgs.push(o);
        }
        state
    }

    /// Returns the index of a user, creating it if unknown. The first profile seen wins;
    /// later mentions only fill in what is still missing.
    pub fn intern_user(&mut self, user_id: &str, email: Option<&str>, name: Option<&str>) -> u32 {
        if let Some(&i) = self.user_index.get(user_id) {
            self.fill_in(i, email.map(str::to_string), name.map(str::to_string));
            return i;
        }
        self.intern_owned(
            user_id.to_string(),
            email.map(str::to_string),
            name.map(str::to_string),
        )
    }

    fn intern_owned(
        &mut self,
        user_id: String,
        email: Option<String>,
        name: Option<String>,
    ) -> u32 {
        if let Some(&i) = self.user_index.get(&user_id) {
            self.fill_in(i, email, name);
            return i;
        }
        let i = self.users.len() as u32;
        if let Some(e) = &email {
            self.by_email.entry(e.clone()).or_default().push(i);
        }
        self.user_index.insert(user_id.clone(), i);
        self.users.push(User {
            user_id,
            email,
            name,
            connection: None,
        });
        i
    }

    fn fill_in(&mut self, i: u32, email: Option<String>, name: Option<String>) {
        let u = &mut self.users[i as usize];
        if u.email.is_none()
            && let Some(e) = email
        {
            self.by_email.entry(e.clone()).or_default().push(i);
            u.email = Some(e);
        }
        if u.name.is_none() {
            u.name = name;
        }
    }

    /// Looks an organization up by id, settling its removals first.
    pub fn org_mut(&mut self, id: &str, now: Instant) -> Option<&mut Org> {
        let i = *self.org_by_id.get(id)?;
        let org = &mut self.orgs[i];
        org.settle(now);
        Some(org)
    }

    /// Deletes an organization (test hook: orgsync never deletes organizations).
    pub fn delete_organization(&mut self, id: &str) -> bool {
        let Some(i) = self.org_by_id.get(id).copied() else {
            return false;
        };
        self.orgs.remove(i);
        self.org_by_id.clear();
        self.org_by_name.clear();
        for (i, o) in self.orgs.iter().enumerate() {
            self.org_by_id.insert(o.id.clone(), i);
            self.org_by_name.insert(o.name.clone(), i);
        }
        true
    }

    /// Removes a user from every organization (as deleting the user does).
    pub fn delete_user_memberships(&mut self, user_id: &str, now: Instant) {
        for i in 0..self.orgs.len() {
            self.remove_members(i, &[user_id.to_string()], now, Duration::ZERO);
        }
    }

    /// Deletes a user: out of every organization, and unknown from then on.
    pub fn delete_user(&mut self, user_id: &str, now: Instant) {
        self.delete_user_memberships(user_id, now);
        self.deleted_users.insert(user_id.to_string());
    }

    /// Whether a user exists (known, and not deleted).
    pub fn user_exists(&self, user_id: &str) -> bool {
        self.user_index.contains_key(user_id) && !self.deleted_users.contains(user_id)
    }

    /// Deletes a role: gone from the tenant and from every member that held it, directly or
    /// through a group. False when there was no such role.
    pub fn delete_role(&mut self, role_id: &str) -> bool {
        if self.roles.remove(role_id).is_none() {
            return false;
        }
        let strip = |roles: &mut Option<Box<[Role]>>| {
            if let Some(list) = roles.as_ref() {
                let kept: Vec<Role> = list.iter().filter(|r| r.id != role_id).cloned().collect();
                *roles = (!kept.is_empty()).then(|| kept.into_boxed_slice());
            }
        };
        for o in &mut self.orgs {
            for m in o.members.values_mut() {
                strip(&mut m.roles);
                strip(&mut m.group_roles);
            }
        }
        true
    }

    /// The membership of `user_id` in organization `org` (not one whose removal is in flight).
    pub fn membership_mut(&mut self, org: usize, user_id: &str) -> Option<&mut Membership> {
        let u = *self.user_index.get(user_id)?;
        let o = &mut self.orgs[org];
        let seq = *o.seq_of.get(&u)?;
        o.members.get_mut(&seq)
    }

    /// Assigns roles (by id) to a member, keeping those it has; every id must be a role of
    /// the tenant. `Err` names what is wrong.
    pub fn assign_roles(
        &mut self,
        org: usize,
        user_id: &str,
        role_ids: &[String],
    ) -> Result<(), AssignError> {
        let mut add = Vec::with_capacity(role_ids.len());
        for id in role_ids {
            add.push(
                self.roles
                    .get(id)
                    .cloned()
                    .ok_or_else(|| AssignError::NoSuchRole(id.clone()))?,
            );
        }
        let m = self
            .membership_mut(org, user_id)
            .ok_or(AssignError::NotAMember)?;
        let mut roles: Vec<Role> = m.roles.as_deref().unwrap_or(&[]).to_vec();
        for r in add {
            if !roles.iter().any(|x| x.id == r.id) {
                roles.push(r);
            }
        }
        m.roles = (!roles.is_empty()).then(|| roles.into_boxed_slice());
        Ok(())
    }

    /// Sets a member's organization roles; false when the user is not a member.
    pub fn set_roles(&mut self, org_id: &str, user_id: &str, roles: Vec<Role>) -> bool {
        for r in &roles {
            self.roles.entry(r.id.clone()).or_insert_with(|| r.clone());
        }
        let (Some(&o), Some(&u)) = (self.org_by_id.get(org_id), self.user_index.get(user_id))
        else {
            return false;
        };
        let org = &mut self.orgs[o];
        let Some(seq) = org.seq_of.get(&u).copied() else {
            return false;
        };
        match org.members.get_mut(&seq) {
            Some(m) => {
                m.roles = (!roles.is_empty()).then(|| roles.into_boxed_slice());
                true
            }
            None => false,
        }
    }

    /// Adds users to an organization; existing members are left as they are.
    pub fn add_members(&mut self, org: usize, user_ids: &[String], now: Instant) {
        for uid in user_ids {
            let user = self.intern_user(uid, None, None);
            self.next_seq += 1;
            let seq = self.next_seq;
            let o = &mut self.orgs[org];
            o.settle(now);
            if o.seq_of.contains_key(&user) {
                continue;
            }
            // A removal still in flight is superseded by the new membership.
            if !o.pending.is_empty()
                && let Some((&old, _)) = o.members.iter().find(|(_, m)| m.user == user)
            {
                o.members.remove(&old);
            }
            o.members.insert(
                seq,
                Membership {
                    user,
                    roles: None,
                    group_roles: None,
                    hidden_after: None,
                },
            );
            o.seq_of.insert(user, seq);
        }
    }

    /// A person logging in to organization `org` through `connection`: with auto-membership on
    /// that connection, they become a member. What happened, as the admin route answers it.
    pub fn login(
        &mut self,
        org: usize,
        user_id: &str,
        connection: &str,
        now: Instant,
    ) -> LoginRule {
        let Some(c) = self.orgs[org]
            .connections
            .iter()
            .find(|c| c.connection == connection)
        else {
            return LoginRule::ConnectionNotEnabled;
        };
        if !c.assign_membership_on_login {
            return LoginRule::NoAutoMembership;
        }
        let user = self.intern_user(user_id, None, None);
        self.orgs[org].settle(now);
        if self.orgs[org].is_member(user) {
            return LoginRule::AlreadyMember;
        }
        let u = &mut self.users[user as usize];
        if u.connection.is_none() {
            u.connection = Some(connection.to_string());
        }
        self.add_members(org, &[user_id.to_string()], now);
        LoginRule::AutoMembership
    }

    /// Revokes an invitation; false when the organization has none by that id.
    pub fn revoke_invitation(&mut self, org: usize, id: &str) -> bool {
        let list = &mut self.orgs[org].invitations;
        let before = list.len();
        list.retain(|i| i.id != id);
        list.len() != before
    }

    /// The invitee accepts an invitation: they become a member with its roles (a bare
    /// `auth0|…` user is created for an email no user has), and the invitation is gone.
    pub fn accept_invitation(
        &mut self,
        id: &str,
        now: Instant,
        now_micros: u64,
    ) -> Result<Accepted, &'static str> {
        let Some((org, pos)) = self.orgs.iter().enumerate().find_map(|(o, org)| {
            org.invitations
                .iter()
                .position(|i| i.id == id)
                .map(|p| (o, p))
        }) else {
            return Err("no such invitation");
        };
        if self.orgs[org].invitations[pos].expires_at <= now_micros {
            return Err("the invitation has expired");
        }
        let inv = self.orgs[org].invitations.remove(pos);
        let (user_id, created) = match self
            .by_email
            .get(&inv.invitee_email)
            .and_then(|u| u.first())
        {
            Some(&u) => (self.users[u as usize].user_id.clone(), false),
            None => {
                let user_id = format!(
                    "auth0|{}",
                    derived_id("", &inv.invitee_email).to_lowercase()
                );
                self.intern_user(&user_id, Some(&inv.invitee_email), None);
                (user_id, true)
            }
        };
        self.add_members(org, std::slice::from_ref(&user_id), now);
        let org_id = self.orgs[org].id.clone();
        self.set_roles(&org_id, &user_id, inv.roles.clone());
        Ok(Accepted {
            user_id,
            organization: org_id,
            created_user: created,
            roles: inv.roles,
        })
    }

    /// Removes users from an organization. Non-members are ignored. With a delay, removed
    /// members stay listed until it has passed.
    pub fn remove_members(
        &mut self,
        org: usize,
        user_ids: &[String],
        now: Instant,
        delay: Duration,
    ) {
        let o = &mut self.orgs[org];
        o.settle(now);
        for uid in user_ids {
            let Some(&user) = self.user_index.get(uid) else {
                continue;
            };
            let Some(seq) = o.seq_of.remove(&user) else {
                continue;
            };
            if delay.is_zero() {
                o.members.remove(&seq);
            } else if let Some(m) = o.members.get_mut(&seq) {
                let at = now + delay;
                m.hidden_after = Some(at);
                o.pending.push((at, seq));
            }
        }
    }
}

/// Why roles could not be assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignError {
    /// No role of the tenant has this id (never did, or it was deleted).
    NoSuchRole(String),
    /// The user is not a member of the organization.
    NotAMember,
}

/// Which rule a login met (`POST /__emulator/login`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginRule {
    /// The connection has auto-membership: the user became a member.
    AutoMembership,
    /// Already a member: nothing changed.
    AlreadyMember,
    /// The connection is enabled without auto-membership: the login changes no membership.
    NoAutoMembership,
    /// The connection is not enabled for the organization: no login.
    ConnectionNotEnabled,
}

/// An accepted invitation (`POST /__emulator/accept-invitation`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Accepted {
    pub user_id: String,
    pub organization: String,
    /// No user had the invitee's email: one was created.
    pub created_user: bool,
    pub roles: Vec<Role>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::{Member, Organization};

    fn tenant(n: usize) -> Tenant {
        Tenant {
            organizations: vec![Organization {
                id: "org_a".into(),
                name: "a".into(),
                members: (0..n)
                    .map(|i| Member {
                        user_id: format!("auth0|{i}"),
                        ..Member::default()
                    })
                    .collect(),
                ..Organization::default()
            }],
            ..Tenant::default()
        }
    }

    fn listed(s: &TenantState) -> Vec<String> {
        s.orgs[0]
            .listed_after(None)
            .map(|(_, m)| s.users[m.user as usize].user_id.clone())
            .collect()
    }

    #[test]
    fn removal_is_immediate_without_delay() {
        let mut s = TenantState::from_tenant(tenant(3));
        let now = Instant::now();
        s.remove_members(
            0,
            &["auth0|1".into(), "auth0|9".into()],
            now,
            Duration::ZERO,
        );
        assert_eq!(listed(&s), ["auth0|0", "auth0|2"]);
    }

    #[test]
    fn delayed_removal_stays_listed_until_due() {
        let mut s = TenantState::from_tenant(tenant(3));
        let now = Instant::now();
        s.remove_members(0, &["auth0|1".into()], now, Duration::from_secs(5));
        assert_eq!(listed(&s).len(), 3);
        assert_eq!(s.orgs[0].current_members().count(), 2);
        assert!(!s.orgs[0].is_member(1));
        s.orgs[0].settle(now + Duration::from_secs(4));
        assert_eq!(listed(&s).len(), 3);
        s.orgs[0].settle(now + Duration::from_secs(5));
        assert_eq!(listed(&s), ["auth0|0", "auth0|2"]);
    }

    #[test]
    fn re_adding_supersedes_a_pending_removal_and_joins_last() {
        let mut s = TenantState::from_tenant(tenant(3));
        let now = Instant::now();
        s.remove_members(0, &["auth0|0".into()], now, Duration::from_secs(5));
        s.add_members(0, &["auth0|0".into()], now);
        assert_eq!(listed(&s), ["auth0|1", "auth0|2", "auth0|0"]);
        s.orgs[0].settle(now + Duration::from_secs(10));
        assert_eq!(listed(&s), ["auth0|1", "auth0|2", "auth0|0"]);
    }
}
