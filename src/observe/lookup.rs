//! The config's organizations resolved against the tenant: by id or name, or from the list.

use std::collections::HashMap;

use super::*;
use crate::auth0::{self, Client};
use crate::config::{DesiredOrg, OrgRef};

/// Resolves organizations from the paged organization list (100 a page) instead of one lookup
/// each, when that is cheaper. The tenant's size is unknown up front, so this is the ski-rental
/// rule: keep paging while fewer pages have been spent than organizations are still unresolved,
/// then leave the rest to single lookups. A tenant with few organizations is resolved in one
/// request; at worst the cost is twice that of the lookups alone. Organizations not found here
/// are looked up singly by the caller, which reports the unknown ones with Auth0's own 404 (and
/// the closest of the `names` seen here, for a typo).
pub(super) async fn resolve_from_list(
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
pub(super) fn check_distinct(
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
