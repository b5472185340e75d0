//! The tenant file: the data an emulator starts with (clients, organizations, members, users).
//!
//! Kept apart from the emulator's live state so that tests can build a `Tenant` in Rust (for
//! large generated tenants) and the `emulator` subcommand can read one from YAML, with the same
//! validation either way.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

/// A client that may obtain tokens with client credentials.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub client_id: String,
    pub client_secret: String,
    /// Scopes granted to the client's tokens, e.g. `read:organizations`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `false` makes every Management API call with this client's tokens answer
    /// 401 "Client is not global", as Auth0 does for non-global clients.
    #[serde(default = "yes")]
    pub global: bool,
}

fn yes() -> bool {
    true
}

/// An organization role, as listed with `fields=roles`.
#[derive(Debug, Clone, Deserialize, PartialEq, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub id: String,
    pub name: String,
}

impl Role {
    /// The role named `name`, with the id the emulator derives from it (`rol_` and 16 letters
    /// and digits), as a tenant file's `roles: [NAME]` gives it.
    pub fn named(name: &str) -> Role {
        Role {
            id: derived_id("rol_", name),
            name: name.to_string(),
        }
    }
}

/// `roles:` entries: a name, or `{id, name}`.
fn roles<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Role>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Spec {
        Name(String),
        Full { id: String, name: String },
    }
    Ok(Vec::<Spec>::deserialize(d)?
        .into_iter()
        .map(|s| match s {
            Spec::Name(n) => Role::named(&n),
            Spec::Full { id, name } => Role { id, name },
        })
        .collect())
}

/// An id of `prefix` and 16 letters and digits derived from `seed`: the same on every run.
pub fn derived_id(prefix: &str, seed: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // FNV-1a, then SplitMix64 steps for the characters.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = String::with_capacity(prefix.len() + 16);
    out.push_str(prefix);
    for _ in 0..16 {
        h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.push(ALPHABET[(z % ALPHABET.len() as u64) as usize] as char);
    }
    out
}

/// The connection a user logs in through when the tenant file does not say: the database
/// connection for `auth0|…`, the enterprise connection a `samlp|X|…`, `oidc|X|…`, `waad|X|…`
/// (any of [`ENTERPRISE_STRATEGIES`]) user_id names, else the provider (a social connection's
/// name).
pub fn default_connection(user_id: &str) -> String {
    if let Some(c) = connection_in_user_id(user_id) {
        return c.to_string();
    }
    match user_id.split_once('|') {
        None | Some(("auth0", _)) => "Username-Password-Authentication".into(),
        Some((p, _)) => p.to_string(),
    }
}

/// A member of an organization, in join order.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub user_id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Organization roles: names (`[admin]`), or `{id, name}`.
    #[serde(default, deserialize_with = "roles")]
    pub roles: Vec<Role>,
    /// The connection the user logs in through; derived from the user_id when absent
    /// ([`default_connection`]).
    #[serde(default)]
    pub connection: Option<String>,
}

/// A connection enabled for an organization.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnabledConnection {
    /// The connection's name.
    pub connection: String,
    /// Anyone who logs in to the organization through it becomes a member.
    #[serde(default)]
    pub assign_membership_on_login: bool,
    /// Anyone may sign up into the organization through it (needs auto-membership).
    #[serde(default)]
    pub is_signup_enabled: bool,
    #[serde(default = "yes")]
    pub show_as_button: bool,
    /// Default: `auth0` for `Username-Password-Authentication`, `samlp` otherwise unless the
    /// name is a social provider's.
    #[serde(default)]
    pub strategy: Option<String>,
}

impl EnabledConnection {
    pub fn strategy(&self) -> String {
        if let Some(s) = &self.strategy {
            return s.clone();
        }
        match self.connection.as_str() {
            "Username-Password-Authentication" => "auth0".into(),
            n if SOCIAL.contains(&n) => n.to_string(),
            _ => "samlp".into(),
        }
    }
}

const SOCIAL: &[&str] = &[
    "google-oauth2",
    "github",
    "facebook",
    "apple",
    "windowslive",
    "linkedin",
    "twitter",
];

/// A pending invitation to an organization.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Invitation {
    pub invitee_email: String,
    /// `uinv_…`; derived from the organization and the email when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// Role names the invitee gets on accepting.
    #[serde(default)]
    pub roles: Vec<String>,
    /// RFC 3339; default: when the emulator starts.
    #[serde(default)]
    pub created_at: Option<String>,
    /// RFC 3339; default: 7 days after `created_at` (Auth0's default `ttl_sec`, 604800).
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub inviter: Option<String>,
}

/// A user who is in no organization yet (or whose profile is given once here).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub user_id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// An organization with its members.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Passed through as is, e.g. `{logo_url: https://…}`.
    #[serde(default)]
    pub branding: Option<serde_json::Value>,
    /// Passed through as is.
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
    #[serde(default)]
    pub members: Vec<Member>,
    #[serde(default)]
    pub enabled_connections: Vec<EnabledConnection>,
    #[serde(default)]
    pub invitations: Vec<Invitation>,
}

/// Everything an emulator starts with.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    #[serde(default)]
    pub clients: Vec<Client>,
    #[serde(default)]
    pub organizations: Vec<Organization>,
    #[serde(default)]
    pub users: Vec<User>,
}

/// A tenant file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("cannot read tenant file `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Shown as config errors are: `FILE:LINE:COLUMN: message` (`FILE: message` without a place).
    #[error("{path}{}: {message}", at.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Invalid {
        path: String,
        /// Line and column (1-based), when the parser knows them.
        at: Option<(u64, u64)>,
        message: String,
    },
}

impl Tenant {
    /// Reads and checks a tenant file.
    pub fn load(path: &Path) -> Result<Tenant, TenantError> {
        let shown = path.display().to_string();
        let bytes = orgsync_common::bounded::read_file(path, orgsync_common::bounded::FILE_BYTES)
            .map_err(|e| match e {
            orgsync_common::bounded::ReadError::Io { source, .. } => TenantError::Read {
                path: shown.clone(),
                source,
            },
            too_large => TenantError::Invalid {
                path: shown.clone(),
                at: None,
                message: too_large.to_string(),
            },
        })?;
        let text = String::from_utf8(bytes).map_err(|e| TenantError::Invalid {
            path: shown.clone(),
            at: None,
            message: format!(
                "not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        })?;
        Tenant::parse(&text).map_err(|(at, message)| TenantError::Invalid {
            path: shown,
            at,
            message,
        })
    }

    /// Parses and checks tenant YAML. Errors carry `line:column` where the parser knows it.
    pub fn from_yaml(text: &str) -> Result<Tenant, String> {
        Tenant::parse(text).map_err(|(at, message)| match at {
            Some((l, c)) => format!("line {l}, column {c}: {message}"),
            None => message,
        })
    }

    /// Parses and checks tenant YAML: the error's place (line, column) if known, and its message
    /// on one line, without the parser's source snippet.
    fn parse(text: &str) -> Result<Tenant, (Option<(u64, u64)>, String)> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Large generated tenants (a million memberships) exceed the parser's default budget.
        let mut options = serde_saphyr::Options::default();
        if let Some(budget) = options.budget.as_mut() {
            budget.max_nodes = budget.max_nodes.max(20_000_000);
            budget.max_events = budget.max_events.max(50_000_000);
            budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(1 << 30);
        }
        let tenant: Tenant = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
            let at = e
                .location()
                .filter(|l| *l != serde_saphyr::Location::UNKNOWN)
                .map(|l| (l.line(), l.column()));
            let plain = e.without_snippet().render_with_options(
                serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off },
            );
            // The plain rendering ends with " at line L, column C": the place goes in front.
            let message = at
                .and_then(|(l, c)| plain.strip_suffix(&format!(" at line {l}, column {c}")))
                .unwrap_or(&plain);
            let message = message.strip_prefix("error: ").unwrap_or(message);
            (at, message.lines().next().unwrap_or_default().to_string())
        })?;
        tenant.check().map_err(|m| (None, m))?;
        Ok(tenant)
    }

    /// Checks the invariants the emulator relies on: unique ids and names, well-formed
    /// organization ids, no member listed twice in one organization.
    pub fn check(&self) -> Result<(), String> {
        let mut client_ids = HashSet::new();
        for c in &self.clients {
            if !client_ids.insert(c.client_id.as_str()) {
                return Err(format!("client `{}` is listed twice", c.client_id));
            }
        }
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for org in &self.organizations {
            if !is_org_id(&org.id) {
                return Err(format!(
                    "organization id `{}` is malformed: expected `org_` followed by letters and digits",
                    org.id
                ));
            }
            if !is_org_name(&org.name) {
                return Err(format!(
                    "organization name `{}` is malformed: use 1-50 lowercase letters, digits, `_` or `-`",
                    org.name
                ));
            }
            if !ids.insert(org.id.as_str()) {
                return Err(format!("organization id `{}` is listed twice", org.id));
            }
            if !names.insert(org.name.as_str()) {
                return Err(format!("organization name `{}` is listed twice", org.name));
            }
            if org.enabled_connections.len() > 10 {
                return Err(format!(
                    "organization `{}`: {} enabled connections; Auth0 allows at most 10",
                    org.name,
                    org.enabled_connections.len()
                ));
            }
            let mut connections = HashSet::new();
            for c in &org.enabled_connections {
                if !connections.insert(c.connection.as_str()) {
                    return Err(format!(
                        "organization `{}`: connection `{}` is enabled twice",
                        org.name, c.connection
                    ));
                }
                if c.is_signup_enabled && !c.assign_membership_on_login {
                    return Err(format!(
                        "organization `{}`: connection `{}` has is_signup_enabled without assign_membership_on_login, which Auth0 refuses",
                        org.name, c.connection
                    ));
                }
            }
            for i in &org.invitations {
                if let Some(id) = &i.id
                    && !is_invitation_id(id)
                {
                    return Err(format!(
                        "organization `{}`: invitation id `{id}` is malformed: expected `uinv_` followed by letters and digits",
                        org.name
                    ));
                }
                for t in [&i.created_at, &i.expires_at].into_iter().flatten() {
                    if orgsync_common::timefmt::parse_rfc3339_micros(t).is_none() {
                        return Err(format!(
                            "organization `{}`: invitation time `{t}` is not an RFC 3339 UTC time like 2026-12-03T10:00:00.000Z",
                            org.name
                        ));
                    }
                }
                if !i.invitee_email.contains('@') {
                    return Err(format!(
                        "organization `{}`: invitee_email `{}` is not an email",
                        org.name, i.invitee_email
                    ));
                }
            }
            let mut seen = HashSet::with_capacity(org.members.len());
            for m in &org.members {
                if !is_user_id(&m.user_id) {
                    return Err(format!(
                        "organization `{}`: malformed user_id `{}`: expected `provider|id`",
                        org.name, m.user_id
                    ));
                }
                if !seen.insert(m.user_id.as_str()) {
                    return Err(format!(
                        "organization `{}`: member `{}` is listed twice",
                        org.name, m.user_id
                    ));
                }
            }
        }
        let mut users: HashMap<&str, ()> = HashMap::new();
        for u in &self.users {
            if !is_user_id(&u.user_id) {
                return Err(format!("users: malformed user_id `{}`", u.user_id));
            }
            if users.insert(u.user_id.as_str(), ()).is_some() {
                return Err(format!("users: `{}` is listed twice", u.user_id));
            }
        }
        Ok(())
    }
}

pub use orgsync_common::ids::{
    ENTERPRISE_STRATEGIES, connection_in_user_id, is_invitation_id, is_org_id, is_org_name,
    is_user_id,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_format() {
        let t = Tenant::from_yaml(
            r#"
clients:
  - client_id: demo
    client_secret: demo-secret
    scopes: [read:organizations, read:organization_members]
  - client_id: local
    client_secret: s
    global: false
organizations:
  - id: org_3hbVAMF8F3wVIcEJ
    name: acme
    display_name: Acme Inc
    members:
      - user_id: "auth0|64b0c0ffee00000000000002"
        email: ada@acme.example
        name: Ada Lovelace
        roles: [{id: rol_1, name: admin}]
users:
  - user_id: "auth0|x"
    email: x@example.com
"#,
        )
        .unwrap();
        assert_eq!(t.clients.len(), 2);
        assert!(t.clients[0].global);
        assert!(!t.clients[1].global);
        assert_eq!(
            t.organizations[0].members[0].email.as_deref(),
            Some("ada@acme.example")
        );
        assert_eq!(t.organizations[0].members[0].roles[0].name, "admin");
        assert_eq!(t.users[0].user_id, "auth0|x");
    }

    #[test]
    fn reports_line_and_column_of_bad_input() {
        let err =
            Tenant::from_yaml("organizations:\n  - id: org_1\n    name: a\n    colour: red\n")
                .unwrap_err();
        assert!(err.contains("colour"), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn rejects_inconsistent_tenants() {
        let dup = "organizations:\n  - {id: org_1, name: a}\n  - {id: org_1, name: b}\n";
        assert!(Tenant::from_yaml(dup).unwrap_err().contains("listed twice"));
        let bad_id = "organizations:\n  - {id: acme, name: a}\n";
        assert!(Tenant::from_yaml(bad_id).unwrap_err().contains("malformed"));
        let twice = "organizations:\n  - id: org_1\n    name: a\n    members: [{user_id: 'a|1'}, {user_id: 'a|1'}]\n";
        assert!(
            Tenant::from_yaml(twice)
                .unwrap_err()
                .contains("listed twice")
        );
    }
}
