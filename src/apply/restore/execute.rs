//! Carrying out a restore plan through the write-ahead ledger, and how each member's restore
//! ended (the report the command prints).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use super::super::audit::{MemberRoles, Outcome, Person};
use super::plan::{Readd, RestoreOrg, RestorePlan};
use crate::apply::ledger::{Call, CallEnd, RestoreCall, send};
use crate::apply::{INTERRUPT_GRACE, Interrupt, Ledger, RunInfo};
use crate::auth0::{ADD_BATCH, Client};
use crate::member::Role;

/// How one member's restore ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberEnd {
    pub user_id: String,
    /// The member is back (the `POST …/members` was answered 2xx).
    pub added: bool,
    /// Why not, when not (failed, unknown, not sent).
    pub add_error: Option<String>,
    /// The add's outcome was unknown.
    pub unknown: bool,
    /// The roles were assigned (or there were none to assign).
    pub roles_assigned: bool,
    pub roles_error: Option<String>,
}

/// The account of a restore, derived from the ledger.
#[derive(Debug, Clone, Default)]
pub struct RestoreReport {
    pub organizations: Vec<(String, String, Vec<MemberEnd>)>,
    pub calls: usize,
    pub failed_calls: usize,
    pub interrupted: bool,
    pub audit_failed: bool,
    pub hints: Vec<String>,
}

impl RestoreReport {
    fn members(&self) -> impl Iterator<Item = &MemberEnd> {
        self.organizations.iter().flat_map(|(_, _, m)| m)
    }

    pub fn restored(&self) -> usize {
        self.members().filter(|m| m.added).count()
    }

    pub fn not_restored(&self) -> usize {
        self.members().filter(|m| !m.added && !m.unknown).count()
    }

    pub fn unknown(&self) -> usize {
        self.members().filter(|m| m.unknown).count()
    }

    pub fn roles_failed(&self) -> usize {
        self.members()
            .filter(|m| m.added && !m.roles_assigned)
            .count()
    }

    pub fn success(&self) -> bool {
        !self.interrupted
            && !self.audit_failed
            && self.members().all(|m| m.added && m.roles_assigned)
    }
}

type SharedLedger = Arc<Mutex<Ledger>>;

/// Carries out a restore plan through `ledger`: per organization, the members back in calls
/// of at most [`ADD_BATCH`], then each added member's roles. Stops sending when the audit log
/// fails or `interrupt` is set; calls in flight after an interrupt get [`INTERRUPT_GRACE`],
/// then are recorded `unknown`.
pub async fn execute(
    client: Arc<Client>,
    plan: &RestorePlan,
    info: Arc<RunInfo>,
    ledger: SharedLedger,
    interrupt: Arc<Interrupt>,
) -> RestoreReport {
    let work = async {
        for o in plan.organizations.iter().filter(|o| !o.add.is_empty()) {
            if !restore_org(&client, o, &plan.run_id, &info, &ledger, &interrupt).await {
                return;
            }
        }
    };
    tokio::select! {
        () = work => {}
        () = async { interrupt.wait().await; tokio::time::sleep(INTERRUPT_GRACE).await } => {}
    }
    let mut l = Ledger::lock(&ledger);
    l.close_stopped(&info, "restore", interrupt.is_set());
    let not_sent = l.not_sent("restore", interrupt.is_set());
    let mut report = RestoreReport {
        interrupted: interrupt.is_set(),
        audit_failed: l.failure.is_some(),
        hints: l.hints(|c| c.restore.is_some()),
        ..RestoreReport::default()
    };
    for (_, end) in l.done.iter().filter(|(c, _)| c.restore.is_some()) {
        report.calls += 1;
        if end.outcome != Outcome::Restored {
            report.failed_calls += 1;
        }
    }
    for o in plan.organizations.iter().filter(|o| !o.add.is_empty()) {
        let ends = member_ends(o, &l.done, &not_sent);
        report
            .organizations
            .push((o.id.clone(), o.name.clone(), ends));
    }
    report
}

/// Each member's end in one organization, from the ledger's closed calls.
fn member_ends(o: &RestoreOrg, done: &[(Call, CallEnd)], not_sent: &str) -> Vec<MemberEnd> {
    let mut added: HashMap<&str, &CallEnd> = HashMap::new();
    let mut assigned: HashMap<&str, &CallEnd> = HashMap::new();
    for (call, end) in done.iter().filter(|(c, _)| c.org_id == o.id) {
        let Some(r) = &call.restore else { continue };
        let into = if r.action == ADD_MEMBERS {
            &mut added
        } else {
            &mut assigned
        };
        for u in &call.user_ids {
            into.insert(u, end);
        }
    }
    let why = |e: &CallEnd| e.error.clone().unwrap_or_else(|| "failed".into());
    o.add
        .iter()
        .map(|a| {
            let mut m = MemberEnd {
                user_id: a.user_id.clone(),
                ..MemberEnd::default()
            };
            match added.get(a.user_id.as_str()) {
                _ if a.already_member => m.added = true,
                Some(e) if e.outcome == Outcome::Restored => m.added = true,
                Some(e) => {
                    m.unknown = e.outcome == Outcome::Unknown;
                    m.add_error = Some(why(e));
                }
                None => m.add_error = Some(not_sent.to_string()),
            }
            if a.roles.is_empty() {
                m.roles_assigned = m.added;
            } else {
                match assigned.get(a.user_id.as_str()) {
                    Some(e) if e.outcome == Outcome::Restored => m.roles_assigned = true,
                    Some(e) => m.roles_error = Some(why(e)),
                    None if m.added => m.roles_error = Some(not_sent.to_string()),
                    None => {}
                }
            }
            m
        })
        .collect()
}

/// A member as the audit line names them.
fn person(a: &Readd) -> Person {
    Person {
        user_id: a.user_id.clone(),
        email: a.email.clone(),
        name: a.name.clone(),
    }
}

const ADD_MEMBERS: &str = "add_members";
const ASSIGN_ROLES: &str = "assign_roles";

/// One organization's restore; false when the run must stop sending.
async fn restore_org(
    client: &Client,
    o: &RestoreOrg,
    run: &str,
    info: &RunInfo,
    ledger: &Mutex<Ledger>,
    interrupt: &Interrupt,
) -> bool {
    let mut back: HashSet<String> = o
        .add
        .iter()
        .filter(|a| a.already_member)
        .map(|a| a.user_id.clone())
        .collect();
    let to_add: Vec<&Readd> = o.add.iter().filter(|a| !a.already_member).collect();
    for batch in to_add.chunks(ADD_BATCH) {
        let ids: Vec<String> = batch.iter().map(|a| a.user_id.clone()).collect();
        let recorded = |f: fn(&Readd) -> Option<Vec<Role>>| -> Option<Vec<MemberRoles>> {
            let list: Vec<MemberRoles> = batch
                .iter()
                .filter_map(|a| {
                    Some(MemberRoles {
                        user_id: a.user_id.clone(),
                        roles: f(a)?,
                    })
                })
                .collect();
            (!list.is_empty()).then_some(list)
        };
        let call = Call {
            org_id: o.id.clone(),
            org_name: o.name.clone(),
            user_ids: ids.clone(),
            people: batch.iter().map(|a| person(a)).collect(),
            roles: recorded(|a| (!a.roles_unknown).then(|| a.roles.clone())),
            invitation: None,
            group_roles: recorded(|a| (!a.group_roles.is_empty()).then(|| a.group_roles.clone())),
            restore: Some(RestoreCall {
                run: run.to_string(),
                action: ADD_MEMBERS,
                role_ids: Vec::new(),
            }),
        };
        let ended = send(ledger, info, interrupt, call, || {
            client.add_members(&o.id, &o.name, &ids)
        })
        .await;
        match ended {
            None => return false,
            Some(Outcome::Restored) => back.extend(ids),
            Some(_) => {}
        }
    }
    for a in o.add.iter().filter(|a| !a.roles.is_empty()) {
        if !back.contains(&a.user_id) {
            continue;
        }
        let role_ids: Vec<String> = a.roles.iter().map(|r| r.id.clone()).collect();
        let call = Call {
            org_id: o.id.clone(),
            org_name: o.name.clone(),
            user_ids: vec![a.user_id.clone()],
            people: vec![person(a)],
            roles: Some(vec![MemberRoles {
                user_id: a.user_id.clone(),
                roles: a.roles.clone(),
            }]),
            invitation: None,
            group_roles: None,
            restore: Some(RestoreCall {
                run: run.to_string(),
                action: ASSIGN_ROLES,
                role_ids: role_ids.clone(),
            }),
        };
        let ended = send(ledger, info, interrupt, call, || {
            client.assign_member_roles(&o.id, &o.name, &a.user_id, &role_ids)
        })
        .await;
        if ended.is_none() {
            return false;
        }
    }
    true
}
