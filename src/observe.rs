//! Observe: read the live state of the organizations the config names, completely or not at all.
//!
//! Organizations are resolved first (by id or by name); if any cannot be resolved, nothing is
//! read further and nothing is planned, because a plan over a half-read tenant is exactly what a
//! removal tool must never act on. Then every organization's members are read in full, several
//! organizations at a time within the client's concurrency and pacing.
//!
//! About 600 lines: most of the length is `ObserveError`, whose messages name every failure
//! with its place in the config, kept beside the reads that produce them.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use crate::auth0::{self, Client};
use crate::config::{DesiredOrg, DesiredState, Location, MemberRef, OrgRef};
use crate::member::Member;
use crate::reentry::{EnabledConnection, Invitation};
use crate::tasks::{TaskFailure, join_keyed};
use crate::text::plural;

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

/// Why one read failed: the API's answer, or a task that ended without one.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Api(#[from] auth0::Error),
    #[error(transparent)]
    Task(#[from] TaskFailure),
}

impl ReadError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ReadError::Api(e) => e.hint(),
            ReadError::Task(_) => {
                Some("this is a bug in orgsync; please report it with the output of `-vv`".into())
            }
        }
    }
}

/// An organization that could not be read, with where the config names it.
#[derive(Debug)]
pub struct OrgFailure {
    pub org: String,
    pub location: Location,
    pub error: ReadError,
    /// A name from the organization list close to the one the config gives, when it was not
    /// found: the likely typo's fix.
    pub suggestion: Option<String>,
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

/// A member named by email that could not be resolved to exactly one user.
#[derive(Debug)]
pub struct EmailFailure {
    pub email: String,
    pub location: Location,
    pub problem: EmailProblem,
}

/// Why an email did not resolve.
#[derive(Debug)]
pub enum EmailProblem {
    /// No user has it.
    NotFound,
    /// Several users have it (the same email on several connections): never a guess.
    Ambiguous(Vec<String>),
    /// The lookup failed.
    Api(ReadError),
}

/// Two config entries that resolve to one organization.
#[derive(Debug)]
pub struct SameOrganization {
    pub first: (String, Location),
    pub second: (String, Location),
    pub id: String,
}

/// Why the tenant could not be observed. Lists every failure, not just the first.
#[derive(Debug)]
pub enum ObserveError {
    /// No access token could be had (the credentials were refused, the token endpoint could
    /// not be reached): nothing was read.
    Token(auth0::Error),
    /// The organization list, read to resolve several organizations at once, could not be.
    List(auth0::Error),
    /// Some organizations could not be resolved or read.
    Failed(Vec<OrgFailure>),
    /// Two config entries (one by name, one by id) are the same organization.
    SameOrganization(Box<SameOrganization>),
    /// Members named by email that do not resolve to exactly one user.
    Emails(Vec<EmailFailure>),
    /// One organization lists the same user twice, once by user_id and once by email.
    SameUser {
        user_id: String,
        first: Location,
        second: Location,
    },
    /// A config entry has no observation (an organization or email that was never read).
    /// Observation is total, so this is a bug; it stops the run instead of planning around it.
    Incomplete(String),
    /// Users read for re-entry and invitation checks (`GET /users/{id}`) that could not be.
    Users(Vec<(String, ReadError)>),
}

impl fmt::Display for ObserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObserveError::Token(error) => write!(f, "{error}; nothing was planned"),
            ObserveError::List(error) => write!(
                f,
                "the organization list could not be read; nothing was planned\n  {error}"
            ),
            ObserveError::Failed(failures) => {
                write!(
                    f,
                    "{} could not be read; nothing was planned",
                    plural(failures.len(), "organization", "organizations")
                )?;
                for fail in failures {
                    write!(
                        f,
                        "\n  {}: organization `{}`: {}",
                        fail.location,
                        fail.org,
                        auth0::one_line(&fail.error)
                    )?;
                }
                Ok(())
            }
            ObserveError::Emails(failures) => {
                write!(
                    f,
                    "{} named by email could not be resolved; nothing was planned",
                    plural(failures.len(), "member", "members")
                )?;
                for e in failures {
                    match &e.problem {
                        EmailProblem::NotFound => {
                            write!(f, "\n  {}: no user has the email `{}`", e.location, e.email)?
                        }
                        EmailProblem::Ambiguous(ids) => write!(
                            f,
                            "\n  {}: the email `{}` belongs to {} users ({}); orgsync does not guess",
                            e.location,
                            e.email,
                            ids.len(),
                            ids.iter()
                                .map(|i| format!("`{i}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )?,
                        EmailProblem::Api(err) => write!(
                            f,
                            "\n  {}: looking up `{}` failed: {}",
                            e.location,
                            e.email,
                            auth0::one_line(err)
                        )?,
                    }
                }
                Ok(())
            }
            ObserveError::SameUser {
                user_id,
                first,
                second,
            } => write!(
                f,
                "{second}: this member is `{user_id}`, already listed at {first}; list each member once"
            ),
            ObserveError::Incomplete(what) => {
                write!(f, "{what} was not read; nothing was planned")
            }
            ObserveError::Users(failures) => {
                write!(
                    f,
                    "{} could not be read for the re-entry and invitation checks; nothing was planned",
                    plural(failures.len(), "user", "users")
                )?;
                for (user, e) in failures {
                    write!(
                        f,
                        "\n  user `{}`: {}",
                        user.escape_debug(),
                        auth0::one_line(e)
                    )?;
                }
                Ok(())
            }
            ObserveError::SameOrganization(same) => {
                let SameOrganization { first, second, id } = &**same;
                write!(
                    f,
                    "{}: organization `{}` is the same organization (`{id}`) as `{}` at {}; declare it once",
                    second.1, second.0, first.0, first.1
                )
            }
        }
    }
}

impl std::error::Error for ObserveError {
    /// The causes of a single error the message is about (the top-level printer prints one
    /// `caused by:` line each); the per-organization lines carry their own on the line.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ObserveError::Token(e) | ObserveError::List(e) => e.source(),
            _ => None,
        }
    }
}

impl crate::error::Hinted for ObserveError {
    fn next_step(&self) -> Option<String> {
        self.hint()
    }
}

impl ObserveError {
    /// The hint of the first failure that has one.
    pub fn hint(&self) -> Option<String> {
        match self {
            ObserveError::Token(e) | ObserveError::List(e) => e.hint(),
            ObserveError::Failed(f) => f
                .iter()
                .find_map(|x| {
                    let s = x.suggestion.as_ref()?;
                    Some(format!(
                        "the tenant has no organization `{}`: did you mean `{s}`?",
                        x.org
                    ))
                })
                .or_else(|| f.iter().find_map(|x| x.error.hint())),
            ObserveError::Emails(f) => {
                let api = f.iter().find_map(|e| match &e.problem {
                    EmailProblem::Api(err) => err.hint(),
                    _ => None,
                });
                api.or_else(|| {
                    Some("name the member by user_id instead (`orgsync export` lists them)".into())
                })
            }
            ObserveError::SameOrganization(_) | ObserveError::SameUser { .. } => None,
            ObserveError::Users(f) => f.iter().find_map(|(_, e)| e.hint()),
            ObserveError::Incomplete(_) => {
                Some("this is a bug in orgsync; please report it with the output of `-vv`".into())
            }
        }
    }
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
    client.authenticate().await.map_err(ObserveError::Token)?;
    let scopes = client.granted_scopes().await.map_err(ObserveError::Token)?;
    let reach = Reach::from_scopes(scopes.as_ref());
    let (emails, unregistered) = resolve_emails(&client, desired).await?;
    let orgs = observe_orgs(client, desired, reach, progress).await?;
    Ok(Observed {
        orgs,
        emails,
        unregistered,
        user_connections: HashMap::new(),
        user_emails: HashMap::new(),
        users_exist: HashMap::new(),
    })
}

/// Reads users for a plan's checks, each once (`GET /users/{id}`): the connections of
/// `connections_of` (removed members whose user_id does not name theirs), and whether each of
/// `details_of` (declared or protected user_ids that are not members) exists, with its email
/// (an invitation to it is declared); see [`crate::plan::Plan::users_to_read`]. Adds what was
/// read to `observed`; a user the token may not read is recorded as unread (`None`), any other
/// failure fails the observation.
pub async fn observe_users(
    client: &Arc<Client>,
    connections_of: Vec<String>,
    details_of: Vec<String>,
    observed: &mut Observed,
) -> Result<(), ObserveError> {
    let scopes = client.granted_scopes().await.map_err(ObserveError::Token)?;
    let reach = Reach::from_scopes(scopes.as_ref());
    if !reach.users {
        observed
            .user_connections
            .extend(connections_of.into_iter().map(|u| (u, None)));
        observed
            .user_emails
            .extend(details_of.iter().map(|u| (u.clone(), None)));
        observed
            .users_exist
            .extend(details_of.into_iter().map(|u| (u, None)));
        return Ok(());
    }
    let wants_connections: HashSet<String> = connections_of.iter().cloned().collect();
    let wants_details: HashSet<String> = details_of.iter().cloned().collect();
    // Each user once, in the order asked.
    let mut users = connections_of;
    users.extend(
        details_of
            .into_iter()
            .filter(|u| !wants_connections.contains(u)),
    );
    let jobs = users.into_iter().map(|u| {
        let client = client.clone();
        (u.clone(), async move { client.user_details(&u).await })
    });
    let mut failures = Vec::new();
    for (user, r) in join_keyed(jobs).await {
        let read = match r {
            Ok(Ok(details)) => Some(details),
            Ok(Err(e)) if e.status() == Some(403) => None,
            Ok(Err(e)) => {
                failures.push((user, e.into()));
                continue;
            }
            Err(e) => {
                failures.push((user, e.into()));
                continue;
            }
        };
        if wants_connections.contains(&user) {
            observed
                .user_connections
                .insert(user.clone(), read.as_ref().map(|d| d.connections.clone()));
        }
        if wants_details.contains(&user) {
            observed
                .users_exist
                .insert(user.clone(), read.as_ref().map(|d| d.exists));
            observed.user_emails.insert(user, read.map(|d| d.email));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        failures.sort_by(|a, b| a.0.cmp(&b.0));
        Err(ObserveError::Users(failures))
    }
}

/// Looks every distinct email of the config up once (`GET /users-by-email`); each must belong to
/// exactly one user, or to none (returned apart: the planner accepts an invitee with a pending
/// invitation). Then refuses an organization that lists one user both ways.
async fn resolve_emails(
    client: &Arc<Client>,
    desired: &DesiredState,
) -> Result<(HashMap<String, String>, HashSet<String>), ObserveError> {
    let mut first_at: Vec<(String, Location)> = Vec::new();
    for o in &desired.organizations {
        for m in o.members.iter().chain(&o.protect) {
            if let MemberRef::Email(e) = &m.member
                && !first_at.iter().any(|(x, _)| x == e)
            {
                first_at.push((e.clone(), m.location.clone()));
            }
        }
    }
    let jobs = first_at.iter().map(|(email, location)| {
        let client = client.clone();
        let email = email.clone();
        let key = (email.clone(), location.clone());
        (key, async move { client.users_by_email(&email).await })
    });
    let mut resolved = HashMap::new();
    let mut failures = Vec::new();
    for ((email, location), r) in join_keyed(jobs).await {
        let problem = match r {
            Ok(Ok(users)) if users.len() == 1 => {
                resolved.insert(email, users[0].user_id.clone());
                continue;
            }
            Ok(Ok(users)) if users.is_empty() => EmailProblem::NotFound,
            Ok(Ok(users)) => {
                let mut ids: Vec<String> = users.into_iter().map(|u| u.user_id).collect();
                ids.sort();
                EmailProblem::Ambiguous(ids)
            }
            Ok(Err(e)) => EmailProblem::Api(e.into()),
            Err(e) => EmailProblem::Api(e.into()),
        };
        failures.push(EmailFailure {
            email,
            location,
            problem,
        });
    }
    // Emails of nobody are judged by the planner, which knows the invitations; any other
    // failure fails here, with them.
    let mut unregistered = HashSet::new();
    if failures
        .iter()
        .all(|f| matches!(f.problem, EmailProblem::NotFound))
    {
        unregistered.extend(failures.drain(..).map(|f| f.email));
    }
    if !failures.is_empty() {
        failures.sort_by_key(|f| (f.location.file.clone(), f.location.line, f.location.column));
        return Err(ObserveError::Emails(failures));
    }
    for o in &desired.organizations {
        let mut seen: HashMap<&str, &Location> = HashMap::new();
        for m in &o.members {
            let id = match &m.member {
                MemberRef::UserId(u) => u.as_str(),
                MemberRef::Email(e) => match resolved.get(e) {
                    Some(u) => u.as_str(),
                    None if unregistered.contains(e) => continue,
                    None => return Err(ObserveError::Incomplete(format!("the email `{e}`"))),
                },
            };
            if let Some(first) = seen.get(id) {
                return Err(ObserveError::SameUser {
                    user_id: id.to_string(),
                    first: (*first).clone(),
                    second: m.location.clone(),
                });
            }
            seen.insert(id, &m.location);
        }
    }
    Ok((resolved, unregistered))
}

async fn observe_orgs(
    client: Arc<Client>,
    desired: &DesiredState,
    reach: Reach,
    progress: Arc<dyn Progress>,
) -> Result<HashMap<OrgRef, ObservedOrg>, ObserveError> {
    let orgs = &desired.organizations;
    progress.organizations(orgs.len());
    let failed = |mut failures: Vec<OrgFailure>| {
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
    };

    // Resolve names and ids to organizations: from the organization list where that is
    // cheaper, then one lookup for each left.
    let mut resolved: HashMap<OrgRef, auth0::Organization> = HashMap::new();
    let mut listed_names = Vec::new();
    if orgs.len() > 1 {
        resolve_from_list(&client, orgs, &mut resolved, &mut listed_names)
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

    // Read every organization's members, keyed by the config's name for the organization.
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
    read_members(client, to_read, reach, progress)
        .await
        .map_err(|errors| {
            let failures = errors
                .into_iter()
                .filter_map(|(key, error)| {
                    let d = orgs.iter().find(|d| d.org == key)?;
                    Some(OrgFailure {
                        org: label(&d.org),
                        location: d.location.clone(),
                        error,
                        suggestion: None,
                    })
                })
                .collect();
            failed(failures)
        })
}

/// One organization: members (with roles when allowed), connections and invitations, the
/// three reads at once.
async fn read_org(
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

/// Resolves organizations from the paged organization list (100 a page) instead of one lookup
/// each, when that is cheaper. The tenant's size is unknown up front, so this is the ski-rental
/// rule: keep paging while fewer pages have been spent than organizations are still unresolved,
/// then leave the rest to single lookups. A tenant with few organizations is resolved in one
/// request; at worst the cost is twice that of the lookups alone. Organizations not found here
/// are looked up singly by the caller, which reports the unknown ones with Auth0's own 404 (and
/// the closest of the `names` seen here, for a typo).
async fn resolve_from_list(
    client: &Client,
    orgs: &[DesiredOrg],
    resolved: &mut HashMap<OrgRef, auth0::Organization>,
    names: &mut Vec<String>,
) -> Result<(), auth0::Error> {
    let wanted: std::collections::HashSet<&OrgRef> = orgs.iter().map(|d| &d.org).collect();
    let mut unresolved = wanted.len();
    let mut pages = 0;
    client
        .organizations_while(|page| {
            pages += 1;
            for o in page {
                names.push(o.name.clone());
                for key in [OrgRef::Name(o.name.clone()), OrgRef::Id(o.id.clone())] {
                    if wanted.contains(&key) && !resolved.contains_key(&key) {
                        resolved.insert(key, o.clone());
                        unresolved -= 1;
                    }
                }
            }
            unresolved > 0 && pages < unresolved
        })
        .await
}

/// Refuses two config entries that resolve to the same organization (one by name, one by id):
/// their member lists would contradict each other.
fn check_distinct(
    orgs: &[DesiredOrg],
    resolved: &HashMap<OrgRef, auth0::Organization>,
) -> Result<(), ObserveError> {
    let mut seen: HashMap<&str, &DesiredOrg> = HashMap::new();
    for d in orgs {
        let Some(o) = resolved.get(&d.org) else {
            continue;
        };
        if let Some(first) = seen.get(o.id.as_str()) {
            return Err(ObserveError::SameOrganization(Box::new(SameOrganization {
                first: (label(&first.org), first.location.clone()),
                second: (label(&d.org), d.location.clone()),
                id: o.id.clone(),
            })));
        }
        seen.insert(&o.id, d);
    }
    Ok(())
}
