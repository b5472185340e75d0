//! Tenants for tests, benchmarks and examples: clients, members and organizations built in a
//! line, so every test suite that runs against the emulator builds them the same way.

use crate::Tenant;
use crate::tenant::{Client, Member, Organization, User};

/// Every scope orgsync uses.
pub const ALL_SCOPES: &[&str] = &[
    "read:organizations",
    "read:organization_members",
    "read:organization_member_roles",
    "create:organization_members",
    "delete:organization_members",
    "read:users",
    "create:organization_member_roles",
    "read:roles",
];

pub fn client(id: &str, secret: &str, scopes: &[&str]) -> Client {
    Client {
        client_id: id.into(),
        client_secret: secret.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        global: true,
    }
}

pub fn member(user_id: &str, email: &str, name: &str) -> Member {
    Member {
        user_id: user_id.into(),
        email: Some(email.into()),
        name: Some(name.into()),
        roles: vec![],
        connection: None,
    }
}

/// An organization whose members are `auth0|{prefix}{i:04}`.
pub fn org_with_members(id: &str, name: &str, prefix: &str, n: usize) -> Organization {
    Organization {
        id: id.into(),
        name: name.into(),
        display_name: Some(format!("{name} display")),
        members: (0..n)
            .map(|i| {
                member(
                    &format!("auth0|{prefix}{i:04}"),
                    &format!("{prefix}{i}@example.com"),
                    &format!("User {prefix}{i}"),
                )
            })
            .collect(),
        ..Organization::default()
    }
}

/// A tenant of these organizations with client `demo` (secret `demo-secret`, every scope).
pub fn demo_tenant(organizations: Vec<Organization>) -> Tenant {
    Tenant {
        clients: vec![client("demo", "demo-secret", ALL_SCOPES)],
        organizations,
        users: vec![],
    }
}

/// A small tenant: client `test` with every scope, three organizations.
pub fn small_tenant() -> Tenant {
    Tenant {
        clients: vec![client("test", "test-secret", ALL_SCOPES)],
        organizations: vec![
            org_with_members("org_aaaaaaaaaaaaaaa1", "acme", "a", 3),
            org_with_members("org_bbbbbbbbbbbbbbb2", "globex", "b", 2),
            org_with_members("org_ccccccccccccccc3", "initech", "c", 0),
        ],
        users: vec![User {
            user_id: "auth0|loner".into(),
            email: Some("loner@example.com".into()),
            name: None,
        }],
    }
}
