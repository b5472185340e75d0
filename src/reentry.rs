//! Re-entry: the ways a removed member can walk back in without anyone editing the config.
//!
//! Auth0 names them (enable-connections, invite-members): a connection enabled for the
//! organization with `assign_membership_on_login` makes anyone who logs in through it a member
//! again; `is_signup_enabled` on such a connection lets anyone sign up into the organization; a
//! pending invitation makes its invitee a member when accepted. This module holds what the
//! client reads of them and the pure rules the planner applies: which connection a user logs in
//! through, whether a removed member could rejoin and how, and which invitations are declared.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// A connection enabled for an organization, as `GET /organizations/{id}/enabled_connections`
/// lists it (the fields orgsync uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnabledConnection {
    pub connection_id: String,
    #[serde(default)]
    pub assign_membership_on_login: bool,
    #[serde(default)]
    pub is_signup_enabled: bool,
    pub connection: ConnectionInfo,
}

impl EnabledConnection {
    /// A connection enabled by name (tests and fixtures; the client decodes the API's).
    pub fn named(name: &str, auto_membership: bool, signup: bool) -> EnabledConnection {
        EnabledConnection {
            connection_id: format!("con_{name}"),
            assign_membership_on_login: auto_membership,
            is_signup_enabled: signup,
            connection: ConnectionInfo {
                name: name.into(),
                strategy: None,
            },
        }
    }
}

/// The `connection` object of an enabled connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    pub name: String,
    #[serde(default)]
    pub strategy: Option<String>,
}

/// A pending invitation as `GET /organizations/{id}/invitations` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiInvitation {
    pub id: String,
    pub invitee: Invitee,
    #[serde(default)]
    pub inviter: Option<Inviter>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Invitee {
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Inviter {
    #[serde(default)]
    pub name: Option<String>,
}

/// An invitation as the plan shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub invitee_email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inviter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Role ids the invitee gets on accepting.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

impl From<ApiInvitation> for Invitation {
    fn from(a: ApiInvitation) -> Invitation {
        Invitation {
            id: a.id,
            invitee_email: a.invitee.email,
            inviter: a.inviter.and_then(|i| i.name),
            created_at: a.created_at,
            expires_at: a.expires_at,
            roles: a.roles,
        }
    }
}

impl Invitation {
    /// Whether it has expired at `now` (both RFC 3339 UTC times as Auth0 writes them, which
    /// compare as text once cut to whole seconds). An invitation without an expiry is open.
    pub fn expired_at(&self, now: &str) -> bool {
        self.expires_at
            .as_deref()
            .is_some_and(|e| seconds(e) <= seconds(now))
    }
}

/// `2026-12-03T10:00:00.000Z` → `2026-12-03T10:00:00`: the part that orders by text.
fn seconds(t: &str) -> &str {
    t.get(..19).unwrap_or(t)
}

pub use orgsync_common::ids::{connection_in_user_id as connection_from_user_id, is_invitation_id};

/// How a removed member could come back on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejoinRule {
    /// Logging in through a connection with `assign_membership_on_login`.
    AutoMembership,
    /// Signing up through a connection with `is_signup_enabled`.
    Signup,
}

/// The organization's doors, as read: `None` when they could not be (no scope).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Doors {
    /// Connections with `assign_membership_on_login`, by name, sorted.
    pub auto_membership: Vec<String>,
    /// Connections with `is_signup_enabled` (and auto-membership, without which signup does not
    /// make a member), by name, sorted.
    pub signup_enabled: Vec<String>,
}

impl Doors {
    pub fn from_connections(connections: &[EnabledConnection]) -> Doors {
        let mut auto: Vec<String> = connections
            .iter()
            .filter(|c| c.assign_membership_on_login)
            .map(|c| c.connection.name.clone())
            .collect();
        let mut signup: Vec<String> = connections
            .iter()
            .filter(|c| c.assign_membership_on_login && c.is_signup_enabled)
            .map(|c| c.connection.name.clone())
            .collect();
        auto.sort();
        auto.dedup();
        signup.sort();
        signup.dedup();
        Doors {
            auto_membership: auto,
            signup_enabled: signup,
        }
    }

    /// Whether a removed member who logs in through `connections` could rejoin, and how: their
    /// own auto-membership connection first, else organization signup (a new account).
    pub fn rejoin(&self, connections: &[String]) -> Option<(String, RejoinRule)> {
        let own: HashSet<&str> = connections.iter().map(String::as_str).collect();
        if let Some(c) = self
            .auto_membership
            .iter()
            .find(|c| own.contains(c.as_str()))
        {
            return Some((c.clone(), RejoinRule::AutoMembership));
        }
        self.signup_enabled
            .first()
            .map(|c| (c.clone(), RejoinRule::Signup))
    }
}

/// An email as it is compared, the way Auth0 compares them: Auth0 saves the email of a user it
/// is the identity provider for in lower case, whatever case it was given in (the Management
/// API's reference for `GET /api/v2/users-by-email`: "the email address associated with a user
/// is saved in lower case, regardless of how you initially provided it"), and that lower-casing
/// is Unicode's (JavaScript's `toLowerCase`, which `str::to_lowercase` matches), so `Ada@` and
/// `ada@`, `Ö` and `ö` are one address. The domain has no case at all and two spellings: it is
/// compared as IDNA (UTS #46) maps it, so `BÜCHER.example`, `bücher.example` and
/// `xn--bcher-kva.example` are one domain; a domain IDNA refuses is compared lower-cased.
pub fn email_key(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let domain = idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_lowercase());
            format!("{}@{domain}", local.to_lowercase())
        }
        None => email.to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use EnabledConnection as C;
    fn conn(name: &str, auto: bool, signup: bool) -> EnabledConnection {
        C::named(name, auto, signup)
    }

    #[test]
    fn emails_compare_as_auth0_keeps_them_unicode_case_and_idna_domains() {
        // Auth0 lower-cases the whole address, Unicode included.
        assert_eq!(
            email_key("Ada@BÜCHER.example"),
            email_key("ada@bücher.example")
        );
        assert_eq!(email_key("ÖSTEN@x.example"), email_key("östen@x.example"));
        // A domain's A-label and U-label are the same domain.
        assert_eq!(
            email_key("ada@xn--bcher-kva.example"),
            email_key("ada@Bücher.example")
        );
        // Different addresses stay different.
        assert_ne!(
            email_key("ada@bücher.example"),
            email_key("ada@bucher.example")
        );
        assert_ne!(email_key("ada1@x.example"), email_key("ada@x.example"));
        // Not an address: lower-cased whole, never a panic.
        assert_eq!(email_key("NO-AT-SIGN"), "no-at-sign");
        assert_eq!(email_key("a@"), "a@");
    }

    #[test]
    fn the_connection_is_read_from_enterprise_user_ids_only() {
        assert_eq!(connection_from_user_id("samlp|corp|abc"), Some("corp"));
        assert_eq!(connection_from_user_id("oidc|okta-x|a|b"), Some("okta-x"));
        assert_eq!(connection_from_user_id("waad|contoso|x"), Some("contoso"));
        assert_eq!(connection_from_user_id("auth0|64b0"), None);
        assert_eq!(connection_from_user_id("google-oauth2|1234"), None);
        assert_eq!(connection_from_user_id("samlp|corp"), None);
        assert_eq!(connection_from_user_id("samlp||x"), None);
        assert_eq!(connection_from_user_id("custom|corp|x"), None);
    }

    #[test]
    fn own_auto_membership_connection_first_then_signup() {
        let doors = Doors::from_connections(&[
            conn("corp", true, false),
            conn("Username-Password-Authentication", true, true),
            conn("google-oauth2", false, false),
        ]);
        assert_eq!(doors.auto_membership.len(), 2);
        assert_eq!(
            doors.signup_enabled,
            vec!["Username-Password-Authentication".to_string()]
        );
        assert_eq!(
            doors.rejoin(&["corp".into()]),
            Some(("corp".into(), RejoinRule::AutoMembership))
        );
        assert_eq!(
            doors.rejoin(&["google-oauth2".into()]),
            Some((
                "Username-Password-Authentication".into(),
                RejoinRule::Signup
            ))
        );
        let closed = Doors::from_connections(&[conn("corp", false, true)]);
        assert!(
            closed.signup_enabled.is_empty(),
            "signup needs auto-membership"
        );
        assert_eq!(closed.rejoin(&["corp".into()]), None);
    }

    #[test]
    fn expiry_compares_by_the_second() {
        let inv = Invitation {
            id: "uinv_1".into(),
            invitee_email: "a@b.c".into(),
            inviter: None,
            created_at: None,
            expires_at: Some("2026-12-03T10:00:00.000Z".into()),
            roles: vec![],
        };
        assert!(!inv.expired_at("2026-12-03T09:59:59Z"));
        assert!(inv.expired_at("2026-12-03T10:00:00Z"));
        assert!(inv.expired_at("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn invitation_ids_are_checked_before_paths() {
        assert!(is_invitation_id("uinv_abc123XYZ"));
        for bad in ["uinv_", "uinv_../x", "org_abc", "uinv_a/b", "", "uinv_a%2F"] {
            assert!(!is_invitation_id(bad), "{bad}");
        }
    }
}
