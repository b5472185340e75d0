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

/// A member of an organization, in join order.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub user_id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub roles: Vec<Role>,
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
        let bytes = std::fs::read(path).map_err(|source| TenantError::Read {
            path: shown.clone(),
            source,
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

pub use orgsync_common::ids::{is_org_id, is_org_name, is_user_id};

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
