//! Observe: read the live state of the organizations the config names, completely or not at all.
//!
//! Organizations are resolved first (by id or by name); if any cannot be resolved, nothing is
//! read further and nothing is planned, because a plan over a half-read tenant is exactly what a
//! removal tool must never act on. Then every organization's members are read in full, several
//! organizations at a time within the client's concurrency and pacing.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::auth0::{self, Client};
use crate::config::{DesiredOrg, DesiredState, Location, MemberRef, OrgRef};
use crate::plan::Member;

/// One organization as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedOrg {
    pub id: String,
    pub name: String,
    pub members: Vec<Member>,
}

/// An organization that could not be read, with where the config names it.
#[derive(Debug)]
pub struct OrgFailure {
    pub org: String,
    pub location: Location,
    pub error: auth0::Error,
}

/// What the tenant looks like for a desired state.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// One per desired organization, in config order.
    pub orgs: Vec<ObservedOrg>,
    /// Each email the config names, and the one user_id that has it.
    pub emails: HashMap<String, String>,
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
    Api(auth0::Error),
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
}

impl fmt::Display for ObserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObserveError::List(error) => write!(
                f,
                "the organization list could not be read; nothing was planned\n  {error}"
            ),
            ObserveError::Failed(failures) => {
                let n = failures.len();
                write!(
                    f,
                    "{n} organization{} could not be read; nothing was planned",
                    if n == 1 { "" } else { "s" }
                )?;
                for fail in failures {
                    write!(
                        f,
                        "\n  {}: organization `{}`: {}",
                        fail.location, fail.org, fail.error
                    )?;
                }
                Ok(())
            }
            ObserveError::Emails(failures) => {
                let n = failures.len();
                write!(
                    f,
                    "{n} member{} named by email could not be resolved; nothing was planned",
                    if n == 1 { "" } else { "s" }
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
                            "\n  {}: looking up `{}` failed: {err}",
                            e.location, e.email
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

impl std::error::Error for ObserveError {}

impl ObserveError {
    /// The hint of the first failure that has one.
    pub fn hint(&self) -> Option<String> {
        match self {
            ObserveError::List(e) => e.hint(),
            ObserveError::Failed(f) => f.iter().find_map(|x| x.error.hint()),
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
        }
    }

    /// Whether every failure is an organization that does not exist.
    pub fn all_not_found(&self) -> bool {
        matches!(self, ObserveError::Failed(f) if f.iter().all(|x| x.error.status() == Some(404)))
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
    let emails = resolve_emails(&client, desired).await?;
    let orgs = observe_orgs(client, desired, progress).await?;
    Ok(Observed { orgs, emails })
}

/// Looks every distinct email of the config up once (`GET /users-by-email`); each must belong to
/// exactly one user. Then refuses an organization that lists one user both ways.
async fn resolve_emails(
    client: &Arc<Client>,
    desired: &DesiredState,
) -> Result<HashMap<String, String>, ObserveError> {
    let mut first_at: Vec<(String, Location)> = Vec::new();
    for o in &desired.organizations {
        for m in &o.members {
            if let MemberRef::Email(e) = &m.member {
                if !first_at.iter().any(|(x, _)| x == e) {
                    first_at.push((e.clone(), m.location.clone()));
                }
            }
        }
    }
    let mut tasks = JoinSet::new();
    for (i, (email, _)) in first_at.iter().enumerate() {
        let client = client.clone();
        let email = email.clone();
        tasks.spawn(async move { (i, client.users_by_email(&email).await) });
    }
    let mut resolved = HashMap::new();
    let mut failures = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((i, r)) = joined else { continue };
        let (email, location) = first_at[i].clone();
        let problem = match r {
            Ok(users) if users.len() == 1 => {
                resolved.insert(email, users[0].user_id.clone());
                continue;
            }
            Ok(users) if users.is_empty() => EmailProblem::NotFound,
            Ok(users) => {
                let mut ids: Vec<String> = users.into_iter().map(|u| u.user_id).collect();
                ids.sort();
                EmailProblem::Ambiguous(ids)
            }
            Err(e) => EmailProblem::Api(e),
        };
        failures.push(EmailFailure {
            email,
            location,
            problem,
        });
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
                MemberRef::Email(e) => resolved.get(e).map(String::as_str).unwrap_or_default(),
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
    Ok(resolved)
}

async fn observe_orgs(
    client: Arc<Client>,
    desired: &DesiredState,
    progress: Arc<dyn Progress>,
) -> Result<Vec<ObservedOrg>, ObserveError> {
    let orgs = &desired.organizations;
    progress.organizations(orgs.len());

    // Resolve names and ids to organizations: from the organization list where that is
    // cheaper, then one lookup for each left.
    let mut resolved: Vec<Option<auth0::Organization>> = vec![None; orgs.len()];
    if orgs.len() > 1 {
        resolve_from_list(&client, orgs, &mut resolved)
            .await
            .map_err(ObserveError::List)?;
    }
    let mut tasks = JoinSet::new();
    for (i, d) in orgs
        .iter()
        .enumerate()
        .filter(|(i, _)| resolved[*i].is_none())
    {
        let client = client.clone();
        let org = d.org.clone();
        tasks.spawn(async move {
            let r = match &org {
                OrgRef::Id(id) => client.organization_by_id(id).await,
                OrgRef::Name(name) => client.organization_by_name(name).await,
            };
            (i, r)
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((i, r)) = joined else { continue };
        match r {
            Ok(o) => resolved[i] = Some(o),
            Err(error) => failures.push(OrgFailure {
                org: label(&orgs[i].org),
                location: orgs[i].location.clone(),
                error,
            }),
        }
    }
    if !failures.is_empty() {
        failures.sort_by_key(|f| (f.location.line, f.location.column));
        return Err(ObserveError::Failed(failures));
    }
    let resolved: Vec<auth0::Organization> = resolved.into_iter().flatten().collect();
    check_distinct(orgs, &resolved)?;

    // Read every organization's members.
    let labels: Vec<String> = orgs.iter().map(|d| label(&d.org)).collect();
    match read_members(client, resolved, &labels, progress).await {
        Ok(observed) => Ok(observed),
        Err(errors) => {
            let mut failures: Vec<OrgFailure> = errors
                .into_iter()
                .map(|(i, error)| OrgFailure {
                    org: labels[i].clone(),
                    location: orgs[i].location.clone(),
                    error,
                })
                .collect();
            failures.sort_by_key(|f| (f.location.line, f.location.column));
            Err(ObserveError::Failed(failures))
        }
    }
}

/// Reads the members of resolved organizations, several at a time, in full. `labels` name the
/// organizations in errors. Either every organization is read, or the failures are returned by
/// index.
pub async fn read_members(
    client: Arc<Client>,
    orgs: Vec<auth0::Organization>,
    labels: &[String],
    progress: Arc<dyn Progress>,
) -> Result<Vec<ObservedOrg>, Vec<(usize, auth0::Error)>> {
    let mut tasks = JoinSet::new();
    for (i, o) in orgs.iter().enumerate() {
        let client = client.clone();
        let id = o.id.clone();
        let name = labels.get(i).cloned().unwrap_or_else(|| o.name.clone());
        let progress = progress.clone();
        tasks.spawn(async move {
            let r = client
                .members(&id, &name, |n| progress.members_read(n))
                .await;
            progress.organization_done();
            (i, r)
        });
    }
    let mut members: Vec<Option<Vec<Member>>> = vec![None; orgs.len()];
    let mut failures = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((i, r)) = joined else { continue };
        match r {
            Ok(m) => members[i] = Some(m),
            Err(error) => failures.push((i, error)),
        }
    }
    if !failures.is_empty() || members.iter().any(Option::is_none) {
        return Err(failures);
    }
    Ok(orgs
        .into_iter()
        .zip(members.into_iter().flatten())
        .map(|(o, members)| ObservedOrg {
            id: o.id,
            name: o.name,
            members,
        })
        .collect())
}

/// Resolves organizations from the paged organization list (100 a page) instead of one lookup
/// each, when that is cheaper. The tenant's size is unknown up front, so this is the ski-rental
/// rule: keep paging while fewer pages have been spent than organizations are still unresolved,
/// then leave the rest to single lookups. A tenant with few organizations is resolved in one
/// request; at worst the cost is twice that of the lookups alone. Organizations not found here
/// are looked up singly by the caller, which reports the unknown ones with Auth0's own 404.
async fn resolve_from_list(
    client: &Client,
    orgs: &[DesiredOrg],
    resolved: &mut [Option<auth0::Organization>],
) -> Result<(), auth0::Error> {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, d) in orgs.iter().enumerate() {
        match &d.org {
            OrgRef::Name(n) => by_name.insert(n.as_str(), i),
            OrgRef::Id(id) => by_id.insert(id.as_str(), i),
        };
    }
    let mut unresolved = orgs.len();
    let mut pages = 0;
    client
        .organizations_while(|page| {
            pages += 1;
            for o in page {
                for i in [by_name.get(o.name.as_str()), by_id.get(o.id.as_str())]
                    .into_iter()
                    .flatten()
                {
                    if resolved[*i].is_none() {
                        resolved[*i] = Some(o.clone());
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
    resolved: &[auth0::Organization],
) -> Result<(), ObserveError> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, o) in resolved.iter().enumerate() {
        if let Some(&j) = seen.get(o.id.as_str()) {
            return Err(ObserveError::SameOrganization(Box::new(SameOrganization {
                first: (label(&orgs[j].org), orgs[j].location.clone()),
                second: (label(&orgs[i].org), orgs[i].location.clone()),
                id: o.id.clone(),
            })));
        }
        seen.insert(&o.id, i);
    }
    Ok(())
}
