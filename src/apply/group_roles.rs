//! Group-sourced roles of the members an apply removes. Auth0's enterprise groups give members
//! roles that are not theirs directly; a member's effective roles (`GET …/members/{user_id}/
//! effective-roles`, scope `read:organization_member_effective_roles`) say where each comes
//! from. Before the removals, each member to be removed (only those) has them read, and the
//! group-sourced ones are recorded apart (`group_roles` in the intent line): restore assigns
//! only direct roles, and group roles come back with the group. Direct roles stay as the plan
//! read them.

use std::collections::HashMap;
use std::sync::Arc;

use super::OrgWork;
use crate::auth0::Client;
use crate::tasks::join_keyed;

/// The scope that lets a member's effective roles be read.
pub const EFFECTIVE_ROLES: &str = "read:organization_member_effective_roles";

/// Reads the effective roles of every member `work` removes and records the group-sourced ones
/// in each organization's `group_roles`. Returns a note to show once when they were not recorded
/// (the token lacks the scope, or reads failed); None when they were, or nothing is removed.
pub async fn record_group_roles(client: &Arc<Client>, work: &mut [OrgWork]) -> Option<String> {
    if work.iter().map(OrgWork::sends).sum::<usize>() == 0 {
        return None;
    }
    if let Ok(Some(granted)) = client.granted_scopes().await
        && !granted.contains(EFFECTIVE_ROLES)
    {
        return Some(format!(
            "roles members hold through a group were not recorded: the token lacks `{EFFECTIVE_ROLES}` (direct roles are recorded as the plan read them)"
        ));
    }
    let jobs = work.iter().filter(|w| w.sends() > 0).flat_map(|w| {
        w.remove.iter().map(|u| {
            let (client, org, name, user) =
                (client.clone(), w.id.clone(), w.name.clone(), u.clone());
            ((org.clone(), user.clone()), async move {
                client.effective_roles(&org, &name, &user).await
            })
        })
    });
    let mut failed = 0;
    let mut first_error = None;
    let mut by_org: HashMap<String, HashMap<String, Vec<crate::member::Role>>> = HashMap::new();
    for ((org, user), result) in join_keyed(jobs).await {
        match result {
            Ok(Ok(roles)) => {
                let groups = roles
                    .iter()
                    .filter(|r| r.from_group())
                    .map(|r| r.role())
                    .collect();
                by_org.entry(org).or_default().insert(user, groups);
            }
            Ok(Err(e)) => {
                failed += 1;
                first_error.get_or_insert_with(|| crate::auth0::one_line(&e));
            }
            Err(_) => failed += 1,
        }
    }
    for w in work.iter_mut() {
        if let Some(g) = by_org.remove(&w.id) {
            w.group_roles = Some(g);
        }
    }
    (failed > 0).then(|| {
        format!(
            "roles held through a group were not recorded for {} ({})",
            crate::render::plural(failed, "member", "members"),
            first_error.unwrap_or_else(|| "an internal error".into())
        )
    })
}
