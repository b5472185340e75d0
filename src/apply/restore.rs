//! Restore: an exact undo of one run's removals, planned against the config and the tenant,
//! and carried out through the same write-ahead [`Ledger`] as the removals were.
//!
//! [`read_run`] reads what a run removed from the audit log (its `delete` lines with outcome
//! `removed`, and each member's recorded roles), one line at a time with a cap per line.
//! [`plan`] keeps, of those, the members the current config declares and the tenant does not
//! have (a member the config does not declare is reported, and the command refuses: Git stays
//! the source of truth, so the next apply cannot remove them again); users deleted since are not
//! restorable; roles that no longer exist are not assigned, the rest are. [`execute`] sends
//! `POST …/members` (at most 10 ids per call), then `POST …/members/{user_id}/roles` for each
//! member added back, each call's `intent` written and synced before it is sent and its
//! outcome (`event: "restore"`) after. Only direct roles are assigned: roles a member held
//! through a group come back with the group.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use super::ledger::{Call, CallEnd, RestoreCall};
use super::{INTERRUPT_GRACE, Interrupt, Ledger, RunInfo};
use crate::audit::{MemberRoles, Outcome, Person};
use crate::auth0::{ADD_BATCH, Client};
use crate::member::Role;
use crate::plan::Plan;

/// The longest audit line read; a longer one is an error, never read whole.
pub const LINE_BYTES: u64 = 4 * 1024 * 1024;

/// What one member's removal recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Removed {
    pub user_id: String,
    /// Direct roles, when the run read them.
    pub roles: Option<Vec<Role>>,
    /// Roles held through a group, when the run read them.
    pub group_roles: Option<Vec<Role>>,
    /// The member's email and name, as the run read them.
    pub email: Option<String>,
    pub name: Option<String>,
}

/// One organization's removals in a run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunOrg {
    pub id: String,
    pub name: String,
    /// In the log's order, each user once.
    pub removed: Vec<Removed>,
}

/// What a run removed, as its audit lines say.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunRecord {
    pub run_id: String,
    pub domain: String,
    /// When its first line was written.
    pub time: String,
    pub organizations: Vec<RunOrg>,
    /// Members whose DELETE had an unknown outcome: not restored (the run may not have
    /// removed them).
    pub unknown: Vec<(String, String)>,
}

/// Why the log could not give the run.
#[derive(Debug, thiserror::Error)]
pub enum ReadRunError {
    #[error("cannot read the audit log `{path}`")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the audit log `{path}` has a line {line} longer than {} MiB", LINE_BYTES / (1024 * 1024))]
    LineTooLong { path: String, line: usize },
    #[error("the audit log `{path}` has no run `{run}`{}", if runs.is_empty() { String::new() } else { format!(" (its last runs: {})", runs.join(", ")) })]
    NoSuchRun {
        path: String,
        run: String,
        runs: Vec<String>,
    },
    #[error(
        "run `{run}` in `{path}` removed no members (it may have failed, or only revoked invitations)"
    )]
    NothingRemoved { path: String, run: String },
    #[error("run `{run}` is a restore; restore undoes a run that removed members")]
    IsARestore { run: String },
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    run_id: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    organization_id: String,
    #[serde(default)]
    organization_name: String,
    #[serde(default)]
    user_ids: Vec<String>,
    #[serde(default)]
    roles: Option<Vec<LineRoles>>,
    #[serde(default)]
    group_roles: Option<Vec<LineRoles>>,
    #[serde(default)]
    members: Vec<LinePerson>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct LinePerson {
    user_id: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct LineRoles {
    user_id: String,
    roles: Vec<Role>,
}

/// Reads what run `run` removed from the audit log at `path`: lines are read one at a time,
/// each at most [`LINE_BYTES`]; lines that are not JSON, or of other runs, are passed over.
pub fn read_run(path: &Path, run: &str) -> Result<RunRecord, ReadRunError> {
    let shown = path.display().to_string();
    let io = |source| ReadRunError::Io {
        path: shown.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = std::io::BufReader::new(file);
    let mut record = RunRecord {
        run_id: run.to_string(),
        ..RunRecord::default()
    };
    let mut seen = false;
    let mut runs: Vec<String> = Vec::new();
    let mut orgs: BTreeMap<String, RunOrg> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut listed: HashSet<(String, String)> = HashSet::new();
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        n += 1;
        let got = (&mut reader)
            .take(LINE_BYTES + 1)
            .read_until(b'\n', &mut buf)
            .map_err(io)?;
        if got == 0 {
            break;
        }
        if buf.len() as u64 > LINE_BYTES {
            return Err(ReadRunError::LineTooLong {
                path: shown,
                line: n,
            });
        }
        let Ok(line) = serde_json::from_slice::<Line>(&buf) else {
            continue;
        };
        if line.run_id != run {
            if !line.run_id.is_empty() && line.event == "start" && !runs.contains(&line.run_id) {
                runs.push(line.run_id);
                if runs.len() > 5 {
                    runs.remove(0);
                }
            }
            continue;
        }
        if !seen {
            seen = true;
            record.domain = line.domain.clone();
            record.time = line.time.clone();
        }
        if line.command.as_deref() == Some("restore") {
            return Err(ReadRunError::IsARestore {
                run: run.to_string(),
            });
        }
        if line.event != "delete" || line.user_ids.is_empty() {
            continue;
        }
        let roles_of = |list: &Option<Vec<LineRoles>>| -> HashMap<String, Vec<Role>> {
            list.iter()
                .flatten()
                .map(|r| (r.user_id.clone(), r.roles.clone()))
                .collect()
        };
        match line.outcome.as_deref() {
            Some("removed") => {}
            Some("unknown") => {
                for u in &line.user_ids {
                    let why = line.error.clone().unwrap_or_default();
                    record.unknown.push((u.clone(), why));
                }
                continue;
            }
            _ => continue,
        }
        let (roles, group_roles) = (roles_of(&line.roles), roles_of(&line.group_roles));
        let org = orgs.entry(line.organization_id.clone()).or_insert_with(|| {
            order.push(line.organization_id.clone());
            RunOrg {
                id: line.organization_id.clone(),
                name: line.organization_name.clone(),
                removed: Vec::new(),
            }
        });
        for u in &line.user_ids {
            if listed.insert((line.organization_id.clone(), u.clone())) {
                let person = line.members.iter().find(|p| p.user_id == *u);
                org.removed.push(Removed {
                    user_id: u.clone(),
                    email: person.and_then(|p| p.email.clone()),
                    name: person.and_then(|p| p.name.clone()),
                    roles: line
                        .roles
                        .as_ref()
                        .map(|_| roles.get(u).cloned().unwrap_or_default()),
                    group_roles: line
                        .group_roles
                        .as_ref()
                        .map(|_| group_roles.get(u).cloned().unwrap_or_default()),
                });
            }
        }
    }
    if !seen {
        return Err(ReadRunError::NoSuchRun {
            path: shown,
            run: run.to_string(),
            runs,
        });
    }
    record.organizations = order
        .into_iter()
        .filter_map(|id| orgs.remove(&id))
        .collect();
    if record.organizations.is_empty() {
        return Err(ReadRunError::NothingRemoved {
            path: shown,
            run: run.to_string(),
        });
    }
    Ok(record)
}

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
    let why = if interrupt.is_set() {
        "the restore was interrupted while this call was in flight; check the tenant"
    } else {
        "an internal error stopped the restore after this call was sent; check the tenant"
    };
    l.close_open(&info, why);
    let not_sent = if interrupt.is_set() {
        "not sent: the restore was interrupted"
    } else if l.failure.is_some() {
        "not sent: the audit log could not be written"
    } else {
        "not sent"
    };
    let mut report = RestoreReport {
        interrupted: interrupt.is_set(),
        audit_failed: l.failure.is_some(),
        ..RestoreReport::default()
    };
    for (_, end) in l.done.iter().filter(|(c, _)| c.restore.is_some()) {
        report.calls += 1;
        if end.outcome != Outcome::Restored {
            report.failed_calls += 1;
        }
        if let Some(h) = &end.hint
            && !report.hints.contains(h)
        {
            report.hints.push(h.clone());
        }
    }
    for o in plan.organizations.iter().filter(|o| !o.add.is_empty()) {
        let ends = member_ends(o, &l.done, not_sent);
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

/// One restore call through the ledger: its intent recorded (and synced) first, then sent,
/// then its outcome recorded. None when it must not be sent (interrupted, the log failed).
async fn send<F, Fut>(
    ledger: &Mutex<Ledger>,
    info: &RunInfo,
    interrupt: &Interrupt,
    call: Call,
    go: F,
) -> Option<Outcome>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = (Result<(), crate::auth0::Error>, crate::auth0::CallRecord)>,
{
    if interrupt.is_set() {
        return None;
    }
    let n = Ledger::lock(ledger).intend(info, call)?;
    let (result, record) = go().await;
    let outcome = match &result {
        Ok(()) => Outcome::Restored,
        Err(_) if record.status.is_none() && record.attempts > 0 => Outcome::Unknown,
        Err(_) => Outcome::Failed,
    };
    let end = CallEnd {
        outcome,
        status: record.status,
        attempts: record.attempts,
        duration: record.duration,
        hint: result.as_ref().err().and_then(|e| e.hint()),
        error: result.err().map(|e| crate::auth0::one_line(&e)),
    };
    Ledger::lock(ledger).finish(info, n, end);
    Some(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_log(lines: &[serde_json::Value]) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "orgsync-restore-{}-{}",
            std::process::id(),
            crate::audit::new_run_id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text + "not json\n").unwrap();
        (dir, path)
    }

    fn role(id: &str) -> Role {
        Role {
            id: id.into(),
            name: format!("name-{id}"),
        }
    }

    #[test]
    fn the_plan_adds_only_declared_absent_members_with_roles_that_exist() {
        use crate::plan::{Member, OrgPlan, UnknownUser};
        let removed = |u: &str, roles: &[&str]| Removed {
            user_id: u.into(),
            roles: Some(roles.iter().map(|r| role(r)).collect()),
            group_roles: Some(vec![role("rol_g")]),
            ..Removed::default()
        };
        let run = RunRecord {
            run_id: "r".into(),
            organizations: vec![
                RunOrg {
                    id: "org_a".into(),
                    name: "a".into(),
                    removed: vec![
                        removed("u1", &["rol_x", "rol_gone"]),
                        removed("u2", &["rol_x"]),
                        removed("u3", &[]),
                        removed("u4", &[]),
                        removed("u5", &["rol_x"]),
                    ],
                },
                RunOrg {
                    id: "org_b".into(),
                    name: "b".into(),
                    removed: vec![removed("u9", &[])],
                },
            ],
            ..RunRecord::default()
        };
        let mut back = Member::id("u2");
        back.roles = Some(vec![]);
        let fresh = Plan {
            format_version: 1,
            domain: "d".into(),
            config_sha256: "c".into(),
            created_at: "t".into(),
            organizations: vec![OrgPlan {
                id: "org_a".into(),
                name: "a".into(),
                missing: vec![Member::id("u1")],
                current: vec![back, Member::id("u5")],
                unknown_users: vec![UnknownUser {
                    user_id: "u3".into(),
                    entry: "orgsync.yaml:1:1".into(),
                    list: "members".into(),
                    did_you_mean: None,
                }],
                ..OrgPlan::default()
            }],
            summary: Default::default(),
            not_checked: vec![],
            provenance: None,
            plan_sha256: None,
        };
        let exists = |id: &str| Some(id != "rol_gone");
        let p = plan(&run, &fresh, &Filter::default(), &exists);
        let a = &p.organizations[0];
        // u1: added, with the role that exists; the gone one said.
        assert_eq!(a.add[0].user_id, "u1");
        assert!(!a.add[0].already_member);
        assert_eq!(a.add[0].roles, [role("rol_x")]);
        assert_eq!(a.add[0].group_roles, [role("rol_g")]);
        assert_eq!(a.roles_gone[0].0, role("rol_gone"));
        // u2: a member again without its role: only the role.
        assert_eq!(a.add[1].user_id, "u2");
        assert!(a.add[1].already_member);
        // u3 deleted, u5 back (roles not read): not restored; u4 undeclared.
        let not: Vec<&str> = a.not_restored.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(not, ["u3", "u5"]);
        assert_eq!(a.undeclared, ["u4"]);
        // An organization the config does not name: all undeclared.
        assert_eq!(p.organizations[1].undeclared, ["u9"]);
        assert_eq!(
            (p.members(), p.role_assignments(), p.undeclared()),
            (1, 2, 2)
        );
        // Narrowed: only u1, in org a.
        let only = Filter {
            orgs: vec!["a".into()],
            users: vec!["u1".into()],
        };
        let p = plan(&run, &fresh, &only, &exists);
        assert_eq!(p.organizations.len(), 1);
        assert_eq!(p.undeclared(), 0);
        assert_eq!(p.members(), 1);
        // Roles not checkable: assigned as recorded, and said.
        let p = plan(&run, &fresh, &only, &|_| None);
        assert!(!p.roles_checked);
        assert_eq!(p.organizations[0].add[0].roles.len(), 2);
    }

    #[test]
    fn a_run_is_read_from_its_removed_lines_only() {
        use serde_json::json;
        let role = json!({"id": "rol_a", "name": "admin"});
        let (dir, path) = write_log(&[
            json!({"run_id": "r1", "event": "start", "time": "t0", "domain": "d"}),
            json!({"run_id": "r1", "event": "intent", "organization_id": "org_a", "user_ids": ["u1", "u2"]}),
            json!({"run_id": "r2", "event": "start", "domain": "d"}),
            json!({"run_id": "r1", "event": "delete", "outcome": "removed", "organization_id": "org_a", "organization_name": "a",
                   "user_ids": ["u1", "u2"], "roles": [{"user_id": "u1", "roles": [role]}], "group_roles": [{"user_id": "u2", "roles": [role]}]}),
            json!({"run_id": "r1", "event": "delete", "outcome": "failed", "organization_id": "org_a", "user_ids": ["u3"]}),
            json!({"run_id": "r1", "event": "delete", "outcome": "unknown", "organization_id": "org_a", "user_ids": ["u4"], "error": "lost"}),
            json!({"run_id": "r3", "event": "start", "command": "restore"}),
        ]);
        let run = read_run(&path, "r1").unwrap();
        assert_eq!(run.domain, "d");
        assert_eq!(run.organizations.len(), 1);
        let removed = &run.organizations[0].removed;
        assert_eq!(removed.len(), 2);
        assert_eq!(removed[0].roles.as_ref().unwrap()[0].name, "admin");
        assert_eq!(removed[1].roles, Some(vec![]));
        assert_eq!(removed[1].group_roles.as_ref().unwrap()[0].id, "rol_a");
        assert_eq!(run.unknown, [("u4".to_string(), "lost".to_string())]);
        let e = read_run(&path, "nope").unwrap_err();
        assert!(e.to_string().contains("r1, r2"), "{e}");
        assert!(matches!(
            read_run(&path, "r2"),
            Err(ReadRunError::NothingRemoved { .. })
        ));
        assert!(matches!(
            read_run(&path, "r3"),
            Err(ReadRunError::IsARestore { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
