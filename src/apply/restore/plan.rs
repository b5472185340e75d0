//! Planning a restore: of a run's removed members, those the current config declares and the
//! tenant does not have, with their recorded direct roles that still exist.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::read::{Removed, RunRecord};
use crate::member::Role;
use crate::plan::Plan;

/// A member to add back, with the roles to assign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readd {
    pub user_id: String,
    /// Direct roles to assign (those that still exist).
    pub roles: Vec<Role>,
    /// Group roles recorded, not assigned.
    pub group_roles: Vec<Role>,
    /// Email and name as the run recorded them.
    pub email: Option<String>,
    pub name: Option<String>,
    /// The run did not record the member's roles.
    pub roles_unknown: bool,
    /// A member again (an earlier restore added them back): only the roles they lack are
    /// assigned, nobody is added.
    pub already_member: bool,
}

/// What restore does in one organization.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RestoreOrg {
    pub id: String,
    pub name: String,
    pub add: Vec<Readd>,
    /// Members of the run not restored, with why (deleted since, already back, …).
    pub not_restored: Vec<(String, String)>,
    /// Members the current config does not declare: restore refuses while there are any.
    pub undeclared: Vec<String>,
    /// Roles recorded that no longer exist, with the members that held them.
    pub roles_gone: Vec<(Role, Vec<String>)>,
}

/// The restore of a run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RestorePlan {
    pub run_id: String,
    pub organizations: Vec<RestoreOrg>,
    /// Whether the recorded roles' existence was checked (`read:roles`).
    pub roles_checked: bool,
}

impl RestorePlan {
    /// Members to add back.
    pub fn members(&self) -> usize {
        self.organizations
            .iter()
            .flat_map(|o| &o.add)
            .filter(|a| !a.already_member)
            .count()
    }

    pub fn role_assignments(&self) -> usize {
        self.organizations
            .iter()
            .flat_map(|o| &o.add)
            .filter(|a| !a.roles.is_empty())
            .count()
    }

    pub fn undeclared(&self) -> usize {
        self.organizations.iter().map(|o| o.undeclared.len()).sum()
    }

    /// Organizations with anything to send.
    pub fn acting(&self) -> usize {
        self.organizations
            .iter()
            .filter(|o| !o.add.is_empty())
            .count()
    }

    /// The plan's digest, recorded as the restore's `plan_sha256`.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(self.run_id.as_bytes());
        for o in &self.organizations {
            h.update(b"\norg\0");
            h.update(o.id.as_bytes());
            for a in &o.add {
                h.update(b"\nadd\0");
                h.update(a.user_id.as_bytes());
                for r in &a.roles {
                    h.update(b"\0");
                    h.update(r.id.as_bytes());
                }
            }
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Which of the run's members to restore (`--org`, `--user`); empty lists choose all.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub orgs: Vec<String>,
    pub users: Vec<String>,
}

/// Plans the restore of `run` against a fresh `plan` of the current config and tenant:
/// members declared and absent are added back, with their recorded direct roles that still
/// exist (`role_exists` None: not checked).
pub fn plan(
    run: &RunRecord,
    fresh: &Plan,
    filter: &Filter,
    role_exists: &dyn Fn(&str) -> Option<bool>,
) -> RestorePlan {
    let by_id: HashMap<&str, &crate::plan::OrgPlan> = fresh
        .organizations
        .iter()
        .map(|o| (o.id.as_str(), o))
        .collect();
    let mut out = RestorePlan {
        run_id: run.run_id.clone(),
        roles_checked: true,
        ..RestorePlan::default()
    };
    for o in &run.organizations {
        if !filter.orgs.is_empty() && !filter.orgs.iter().any(|f| *f == o.name || *f == o.id) {
            continue;
        }
        let chosen: Vec<&Removed> = o
            .removed
            .iter()
            .filter(|r| filter.users.is_empty() || filter.users.contains(&r.user_id))
            .collect();
        if chosen.is_empty() {
            continue;
        }
        let mut ro = RestoreOrg {
            id: o.id.clone(),
            name: o.name.clone(),
            ..RestoreOrg::default()
        };
        let Some(f) = by_id.get(o.id.as_str()) else {
            ro.undeclared = chosen.iter().map(|r| r.user_id.clone()).collect();
            out.organizations.push(ro);
            continue;
        };
        ro.name = f.name.clone();
        let current: HashMap<&str, &crate::member::Member> =
            f.current.iter().map(|m| (m.user_id.as_str(), m)).collect();
        // Declared and not a member: missing, or invited (a pending invitation does not make
        // them a member; adding them back does).
        let missing: HashSet<&str> = f
            .missing
            .iter()
            .map(|m| m.user_id.as_str())
            .chain(f.invited.iter().filter_map(|i| i.user_id.as_deref()))
            .collect();
        let deleted: HashSet<&str> = f.unknown_users.iter().map(|u| u.user_id.as_str()).collect();
        let mut gone: BTreeMap<String, (Role, Vec<String>)> = BTreeMap::new();
        for r in chosen {
            let u = r.user_id.as_str();
            if let Some(m) = current.get(u) {
                // Back already (an earlier restore that could not assign every role): the
                // recorded roles it lacks, when its roles were read, and nothing else.
                let lacking: Vec<Role> = match (&m.roles, &r.roles) {
                    (Some(has), Some(recorded)) => recorded
                        .iter()
                        .filter(|x| !has.iter().any(|h| h.id == x.id))
                        .filter(|x| role_exists(&x.id) != Some(false))
                        .cloned()
                        .collect(),
                    _ => Vec::new(),
                };
                if lacking.is_empty() {
                    ro.not_restored
                        .push((u.to_string(), "already a member again: left as is".into()));
                } else {
                    ro.add.push(Readd {
                        user_id: u.to_string(),
                        roles: lacking,
                        group_roles: Vec::new(),
                        roles_unknown: false,
                        already_member: true,
                        email: r.email.clone(),
                        name: r.name.clone(),
                    });
                }
            } else if deleted.contains(u) {
                ro.not_restored.push((
                    u.to_string(),
                    "the user no longer exists (deleted since the removal): not restorable".into(),
                ));
            } else if !missing.contains(u) {
                ro.undeclared.push(u.to_string());
            } else {
                let mut roles = Vec::new();
                for role in r.roles.iter().flatten() {
                    match role_exists(&role.id) {
                        Some(false) => {
                            gone.entry(role.id.clone())
                                .or_insert_with(|| (role.clone(), Vec::new()))
                                .1
                                .push(u.to_string());
                        }
                        Some(true) => roles.push(role.clone()),
                        None => {
                            out.roles_checked = false;
                            roles.push(role.clone());
                        }
                    }
                }
                ro.add.push(Readd {
                    user_id: u.to_string(),
                    roles,
                    group_roles: r.group_roles.clone().unwrap_or_default(),
                    roles_unknown: r.roles.is_none(),
                    already_member: false,
                    email: r.email.clone(),
                    name: r.name.clone(),
                });
            }
        }
        ro.roles_gone = gone.into_values().collect();
        out.organizations.push(ro);
    }
    out
}
