//! Observe: read the live state of the organizations the config names, completely or not at all.
//!
//! Organizations are resolved first (by id or by name); if any cannot be resolved, nothing is
//! read further and nothing is planned, because a plan over a half-read tenant is exactly what a
//! removal tool must never act on. Then every organization's members are read in full, several
//! organizations at a time within the client's concurrency and pacing.
//!
//! This file reads organizations and their members; resolving the organizations, reading users
//! and wording failures have files of their own (see the code map).

pub(crate) mod error;
pub(crate) mod lookup;
pub(crate) mod users;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::auth0::{self, Client};
use crate::config::{DesiredState, OrgRef};
use crate::member::Member;
use crate::reentry::{EnabledConnection, Invitation};
use crate::tasks::join_keyed;
pub use error::*;
use lookup::{check_distinct, resolve_from_list};
pub use users::observe_users;
use users::resolve_emails;

/// One organization as it is now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObservedOrg {
    pub id: String,
    pub name: String,
    pub members: Vec<Member>,
    /// Its enabled connections; `None` when the token may not read them.
    pub connections: Option<Vec<EnabledConnection>>,
    /// Its pending invitations; `None` when the token may not read them.
    pub invitations: Option<Vec<Invitation>>,
    /// Whether `members` carry their roles.
    pub roles_read: bool,
}

/// Which optional reads to make beside the members: those the token's scopes allow (all of
/// them when the token does not say). A read the API refuses with 403 is left out all the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    pub connections: bool,
    pub invitations: bool,
    pub roles: bool,
    pub users: bool,
}

impl Reach {
    /// Members only (`export`).
    pub const MEMBERS: Reach = Reach {
        connections: false,
        invitations: false,
        roles: false,
        users: false,
    };

    /// What `scopes` allow; everything when they are unknown.
    pub fn from_scopes(scopes: Option<&HashSet<String>>) -> Reach {
        let has = |s: &str| scopes.is_none_or(|set| set.contains(s));
        Reach {
            connections: has("read:organization_connections"),
            invitations: has("read:organization_invitations"),
            roles: has("read:organization_member_roles"),
            users: has("read:users"),
        }
    }
}

/// What the tenant looks like for a desired state, keyed by how the config names each thing,
/// so that nothing is ever joined to its config entry by position.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// Every desired organization, by the config's name or id for it.
    pub orgs: HashMap<OrgRef, ObservedOrg>,
    /// Each email the config names, and the one user_id that has it.
    pub emails: HashMap<String, String>,
    /// Connections of removed users whose user_id does not name one, read with
    /// `GET /users/{id}` ([`observe_users`]); `None` for a user the token may not read.
    pub user_connections: HashMap<String, Option<Vec<String>>>,
    /// Emails of declared members who are not members yet, read the same way (to tell their
    /// invitations from undeclared ones): `None` for a user the token may not read,
    /// `Some(None)` for one without an email (or who does not exist).
    pub user_emails: HashMap<String, Option<Option<String>>>,
    /// Whether declared and protected user_ids that are not members exist, read the same way:
    /// `None` for a user the token may not read.
    pub users_exist: HashMap<String, Option<bool>>,
    /// Emails the config names that no user has (yet): the planner accepts one that has a
    /// pending invitation in its organization (an invitee who has not signed up), and refuses
    /// the plan for any other, as a lookup that found nobody.
    pub unregistered: HashSet<String>,
}

fn label(org: &OrgRef) -> String {
    match org {
        OrgRef::Name(n) => n.clone(),
        OrgRef::Id(i) => i.clone(),
    }
}

/// Progress callbacks while reading (a progress bar, or nothing).
pub trait Progress: Send + Sync {
    fn organizations(&self, total: usize);
    fn organization_done(&self);
    fn members_read(&self, n: usize);
}

/// No progress output.
pub struct Silent;

impl Progress for Silent {
    fn organizations(&self, _: usize) {}
    fn organization_done(&self) {}
    fn members_read(&self, _: usize) {}
}

/// Resolves and reads every organization in `desired`, in config order, and resolves the
/// members it names by email.
pub async fn observe(
    client: Arc<Client>,
    desired: &DesiredState,
    progress: Arc<dyn Progress>,
) -> Result<Observed, ObserveError> {
    // The token first: failing to get one is that, not a list or an organization unread.
    let Prepared {
        reach,
        emails,
        unregistered,
        orgs: to_read,
    } = prepare(&client, desired).await?;
    progress.organizations(desired.organizations.len());
    let orgs = read_members(client, to_read, reach, progress)
        .await
        .map_err(|errors| {
            let failures = errors
                .into_iter()
                .filter_map(|(key, error)| {
                    let d = desired.organizations.iter().find(|d| d.org == key)?;
                    Some(OrgFailure {
                        org: label(&d.org),
                        location: d.location.clone(),
                        error,
                        suggestion: None,
                    })
                })
                .collect();
            failed(failures)
        })?;
    Ok(Observed {
        orgs,
        emails,
        unregistered,
        user_connections: HashMap::new(),
        user_emails: HashMap::new(),
        users_exist: HashMap::new(),
    })
}

/// What is read before any organization's members: the token, what it may read, the emails
/// the config names, and every organization resolved (by id or by name). If any of it fails,
/// nothing is read further.
pub struct Prepared {
    pub reach: Reach,
    /// As [`Observed::emails`].
    pub emails: HashMap<String, String>,
    /// As [`Observed::unregistered`].
    pub unregistered: HashSet<String>,
    /// Each desired organization, in config order: its key, the organization, its label.
    pub orgs: Vec<(OrgRef, auth0::Organization, String)>,
}

/// The token, the reach, the emails and the organizations of `desired`, with no member read:
/// the first part of [`observe`], for a caller that reads each organization apart.
pub async fn prepare(
    client: &Arc<Client>,
    desired: &DesiredState,
) -> Result<Prepared, ObserveError> {
    client.authenticate().await.map_err(ObserveError::Token)?;
    let scopes = client.granted_scopes().await.map_err(ObserveError::Token)?;
    let reach = Reach::from_scopes(scopes.as_ref());
    let (emails, unregistered) = resolve_emails(client, desired).await?;
    let orgs = resolve_orgs(client, desired).await?;
    Ok(Prepared {
        reach,
        emails,
        unregistered,
        orgs,
    })
}

/// The failure of reading organizations: a token that could not be renewed, if that is what
/// failed, else each organization's failure in config order.
fn failed(mut failures: Vec<OrgFailure>) -> ObserveError {
    // A token renewed mid-run that could not be had fails every read alike: say that.
    if let Some(i) = failures
        .iter()
        .position(|f| matches!(&f.error, ReadError::Api(e) if e.is_token()))
        && let ReadError::Api(e) = failures.swap_remove(i).error
    {
        return ObserveError::Token(e);
    }
    failures.sort_by_key(|f| (f.location.line, f.location.column));
    ObserveError::Failed(failures)
}

/// Resolves every organization of `desired` to the tenant's, in config order, each with its
/// key and label; fails if any cannot be.
async fn resolve_orgs(
    client: &Arc<Client>,
    desired: &DesiredState,
) -> Result<Vec<(OrgRef, auth0::Organization, String)>, ObserveError> {
    let orgs = &desired.organizations;
    // Resolve names and ids to organizations: from the organization list where that is
    // cheaper, then one lookup for each left.
    let mut resolved: HashMap<OrgRef, auth0::Organization> = HashMap::new();
    let mut listed_names = Vec::new();
    if orgs.len() > 1 {
        resolve_from_list(client, orgs, &mut resolved, &mut listed_names)
            .await
            .map_err(|e| {
                if e.is_token() {
                    ObserveError::Token(e)
                } else {
                    ObserveError::List(e)
                }
            })?;
    }
    let lookups = orgs
        .iter()
        .filter(|d| !resolved.contains_key(&d.org))
        .map(|d| {
            let client = client.clone();
            let org = d.org.clone();
            (d, async move {
                match &org {
                    OrgRef::Id(id) => client.organization_by_id(id).await,
                    OrgRef::Name(name) => client.organization_by_name(name).await,
                }
            })
        });
    let mut failures = Vec::new();
    for (d, r) in join_keyed(lookups).await {
        let fail = |error: ReadError| {
            let not_found = matches!(&error, ReadError::Api(e) if e.status() == Some(404));
            let suggestion = match &d.org {
                OrgRef::Name(name) if not_found => crate::text::closest(name, &listed_names),
                _ => None,
            };
            OrgFailure {
                org: label(&d.org),
                location: d.location.clone(),
                error,
                suggestion,
            }
        };
        match r {
            Ok(Ok(o)) if names(&d.org, &o) => {
                resolved.insert(d.org.clone(), o);
            }
            Ok(Ok(o)) => failures.push(fail(ReadError::Api(auth0::Error::Decode {
                site: auth0::CallSite {
                    method: "GET",
                    path: match &d.org {
                        OrgRef::Id(_) => "/api/v2/organizations/{id}".into(),
                        OrgRef::Name(_) => "/api/v2/organizations/name/{name}".into(),
                    },
                    organization: Some(label(&d.org)),
                },
                detail: format!(
                    "asked for `{}`, the API answered with organization `{}` (`{}`)",
                    label(&d.org),
                    o.name.escape_debug(),
                    o.id.escape_debug()
                ),
            }))),
            Ok(Err(e)) => failures.push(fail(e.into())),
            Err(e) => failures.push(fail(e.into())),
        }
    }
    if !failures.is_empty() {
        return Err(failed(failures));
    }
    check_distinct(orgs, &resolved)?;

    let mut to_read = Vec::with_capacity(orgs.len());
    for d in orgs {
        let Some(o) = resolved.remove(&d.org) else {
            return Err(ObserveError::Incomplete(format!(
                "organization `{}`",
                label(&d.org)
            )));
        };
        to_read.push((d.org.clone(), o, label(&d.org)));
    }
    Ok(to_read)
}

/// One organization: members (with roles when allowed), connections and invitations, the
/// three reads at once.
pub(crate) async fn read_org(
    client: &Client,
    o: &auth0::Organization,
    label: &str,
    reach: Reach,
    progress: &dyn Progress,
) -> Result<ObservedOrg, auth0::Error> {
    let members = async {
        if reach.roles {
            match client
                .members(&o.id, label, true, |n| progress.members_read(n))
                .await
            {
                Err(e) if e.status() == Some(403) => {
                    tracing::info!(organization = label, "members' roles may not be read: {e}");
                }
                other => return other.map(|m| (m, true)),
            }
        }
        client
            .members(&o.id, label, false, |n| progress.members_read(n))
            .await
            .map(|m| (m, false))
    };
    let connections = async {
        if !reach.connections {
            return Ok(None);
        }
        optional(client.enabled_connections(&o.id, label).await, label)
    };
    let invitations = async {
        if !reach.invitations {
            return Ok(None);
        }
        optional(client.invitations(&o.id, label).await, label)
            .map(|list| list.map(|l| l.into_iter().map(Invitation::from).collect()))
    };
    let (members, connections, invitations) = tokio::join!(members, connections, invitations);
    let (members, roles_read) = members?;
    Ok(ObservedOrg {
        id: o.id.clone(),
        name: o.name.clone(),
        members,
        connections: connections?,
        invitations: invitations?,
        roles_read,
    })
}

/// An optional read: refused with 403 (the token lacks the scope) is `None`.
fn optional<T>(r: Result<T, auth0::Error>, label: &str) -> Result<Option<T>, auth0::Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.status() == Some(403) => {
            tracing::info!(organization = label, "an optional read was refused: {e}");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Whether an organization the API returned is the one the config asked for.
fn names(org: &OrgRef, o: &auth0::Organization) -> bool {
    match org {
        OrgRef::Id(id) => o.id == *id,
        OrgRef::Name(name) => o.name == *name,
    }
}

/// Reads the members of resolved organizations, several at a time, in full, and what `reach`
/// allows beside them (roles in the same requests, enabled connections, invitations). Each
/// comes with its key and the label that names it in errors. Either every organization is read
/// and returned under its key, or every failure is returned under its key; a read that
/// panicked or was cancelled is a failure like any other. An optional read the API refuses
/// with 403 is left out (`None`, roles unread), never a failure and never a guess.
pub async fn read_members<K>(
    client: Arc<Client>,
    orgs: Vec<(K, auth0::Organization, String)>,
    reach: Reach,
    progress: Arc<dyn Progress>,
) -> Result<HashMap<K, ObservedOrg>, Vec<(K, ReadError)>>
where
    K: Clone + Eq + std::hash::Hash,
{
    let jobs = orgs.into_iter().map(|(key, o, label)| {
        let client = client.clone();
        let progress = progress.clone();
        (key, async move {
            let read = read_org(&client, &o, &label, reach, progress.as_ref()).await;
            progress.organization_done();
            read
        })
    });
    let mut read = HashMap::new();
    let mut failures = Vec::new();
    for (key, r) in join_keyed(jobs).await {
        match r {
            Ok(Ok(observed)) => {
                read.insert(key, observed);
            }
            Ok(Err(e)) => failures.push((key, e.into())),
            Err(e) => failures.push((key, e.into())),
        }
    }
    if failures.is_empty() {
        Ok(read)
    } else {
        Err(failures)
    }
}
