//! Emails resolved to users (`GET /users-by-email`), and users read for the plan's checks
//! (`GET /users/{id}`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::*;
use crate::auth0::Client;
use crate::config::{DesiredState, Location, MemberRef};
use crate::tasks::join_keyed;

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
pub(super) async fn resolve_emails(
    client: &Arc<Client>,
    desired: &DesiredState,
) -> Result<(HashMap<String, String>, HashSet<String>), ObserveError> {
    // Each email once, at its first entry (a set, not a scan of the list: a config may name
    // thousands).
    let mut first_at: Vec<(String, Location)> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for o in &desired.organizations {
        for m in o.members.iter().chain(&o.protect) {
            if let MemberRef::Email(e) = &m.member
                && seen.insert(e.as_str())
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
