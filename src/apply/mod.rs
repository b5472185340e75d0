//! Apply: carry out the removals of a reviewed plan, and nothing else.
//!
//! Input is a list of [`OrgWork`]: the removals of a fresh plan, or of a saved plan narrowed by
//! a fresh one ([`narrow`]: only what both remove). Each organization's removals go out as
//! `DELETE …/members` calls of at most 10 user_ids, in the plan's stable order; organizations
//! proceed concurrently within the client's pacing.
//!
//! Every call goes through the [`Ledger`]: an `intent` record is written (and synced) before the
//! call is sent, and its outcome after; a call that was sent but never came back (a panic, an
//! interrupt) is closed as `unknown`. The report is derived from the ledger, not from what the
//! tasks returned, so a task that panics or is cancelled cannot drop a removal from the account.
//! A call that still fails after the client's retries is reported and the rest carry on, so a
//! second apply converges. If the audit log cannot be written, or the run is interrupted, no
//! further call is sent.

pub mod audit;
pub(crate) mod group_roles;
pub(crate) mod interrupt;
pub(crate) mod ledger;
pub mod markdown;
pub(crate) mod report;
pub mod restore;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use group_roles::{EFFECTIVE_ROLES, record_group_roles};
pub use interrupt::Interrupt;
pub use ledger::Ledger;
use ledger::{Call, CallEnd, send};
pub use report::{OrgOutcome, Report, write_report, write_work};

use crate::auth0::Client;
use crate::member::Role;
use crate::plan::{OrgPlan, Plan};
use crate::tasks::KeyedSet;
use audit::{MemberRoles, Outcome, Person};

/// Auth0 accepts at most this many user_ids per DELETE call.
pub const BATCH: usize = 10;

/// How long an interrupted run waits for the calls in flight before recording them `unknown`.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(10);

/// What to do in one organization.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrgWork {
    pub id: String,
    pub name: String,
    /// User_ids to remove, in the order they go out.
    pub remove: Vec<String>,
    /// Listed for removal by a saved plan but no longer members: skipped.
    pub already_gone: Vec<String>,
    /// Listed for removal by a saved plan but not removals of the fresh plan, with why.
    pub skipped: Vec<(String, String)>,
    /// Listed for removal but protected: never removed.
    pub protected: Vec<String>,
    /// The guard that blocks this organization, with its numbers; nothing is removed.
    pub blocked: Option<String>,
    /// Invitations to revoke (id, invitee email), in the order they go out (alongside the
    /// member removals).
    pub revoke: Vec<(String, String)>,
    /// The roles of the members to remove, when the plan read them (for the audit log).
    pub roles: Option<HashMap<String, Vec<Role>>>,
    /// Their roles held through a group, when they were read (for the audit log).
    pub group_roles: Option<HashMap<String, Vec<Role>>>,
    /// The email and name of each member to remove, as read (for the audit log and its report).
    pub people: HashMap<String, Person>,
}

impl OrgWork {
    /// The work of a freshly computed plan: its removals, unless blocked; never anyone the
    /// config protects.
    pub fn from_plan(o: &OrgPlan) -> OrgWork {
        let protect: HashSet<&str> = o.protect.iter().map(String::as_str).collect();
        let (protected, remove): (Vec<String>, Vec<String>) = o
            .remove
            .iter()
            .map(|m| m.user_id.clone())
            .partition(|u| protect.contains(u.as_str()));
        OrgWork {
            id: o.id.clone(),
            name: o.name.clone(),
            remove,
            protected,
            blocked: o.blocked.as_ref().map(|b| b.message.clone()),
            revoke: o
                .invitations_to_revoke()
                .iter()
                .map(|i| (i.id.clone(), i.invitee_email.clone()))
                .collect(),
            roles: o.roles_recorded.then(|| {
                o.remove
                    .iter()
                    .filter_map(|r| Some((r.user_id.clone(), r.roles.clone()?)))
                    .collect()
            }),
            people: o
                .remove
                .iter()
                .map(|r| {
                    let person = Person {
                        user_id: r.user_id.clone(),
                        email: r.email.clone(),
                        name: r.name.clone(),
                    };
                    (r.user_id.clone(), person)
                })
                .collect(),
            ..OrgWork::default()
        }
    }

    /// Member removals that would be sent.
    pub fn sends(&self) -> usize {
        if self.blocked.is_some() {
            0
        } else {
            self.remove.len()
        }
    }

    /// Invitation revocations that would be sent.
    pub fn revokes(&self) -> usize {
        if self.blocked.is_some() {
            0
        } else {
            self.revoke.len()
        }
    }

    /// Whether any call would be sent here.
    pub fn acts(&self) -> bool {
        self.sends() + self.revokes() > 0
    }
}

/// The work of a saved plan: only members that are removals in BOTH the saved plan and the
/// fresh plan (derived now from the same config and the live tenant), keyed by organization id
/// and user_id. Protection, guards and the set of organizations come from the fresh plan, never
/// from the file: whatever the saved plan lists beyond that is reported as skipped. An
/// organization blocked in either plan removes nothing.
pub fn narrow(saved: &Plan, fresh: &Plan) -> Vec<OrgWork> {
    let fresh_by_id: HashMap<&str, &OrgPlan> = fresh
        .organizations
        .iter()
        .map(|o| (o.id.as_str(), o))
        .collect();
    let mut work = Vec::new();
    let mut seen = HashSet::new();
    for s in &saved.organizations {
        let saved_revokes = s.invitations_to_revoke();
        if !seen.insert(s.id.as_str()) || (s.remove.is_empty() && saved_revokes.is_empty()) {
            continue;
        }
        let listed_invitations: HashSet<&str> =
            saved_revokes.iter().map(|i| i.id.as_str()).collect();
        let Some(f) = fresh_by_id.get(s.id.as_str()) else {
            work.push(OrgWork {
                id: s.id.clone(),
                name: s.name.clone(),
                skipped: s
                    .remove
                    .iter()
                    .map(|m| m.user_id.clone())
                    .chain(saved_revokes.iter().map(|i| invitation_key(&i.id)))
                    .map(|k| (k, "the config does not name this organization".into()))
                    .collect(),
                ..OrgWork::default()
            });
            continue;
        };
        let mut w = OrgWork::from_plan(f);
        let listed: HashSet<&str> = s.remove.iter().map(|m| m.user_id.as_str()).collect();
        let present: HashSet<&str> = f.current.iter().map(|m| m.user_id.as_str()).collect();
        if s.blocked.is_some() && w.blocked.is_none() {
            w.blocked = Some("blocked in the saved plan; make and review a new plan".into());
        }
        if w.blocked.is_some() {
            // Nothing is removed here: each listed removal is accounted for as skipped.
            w.skipped = s
                .remove
                .iter()
                .map(|m| m.user_id.clone())
                .chain(saved_revokes.iter().map(|i| invitation_key(&i.id)))
                .map(|k| (k, "the organization is blocked".into()))
                .collect();
            w.remove.clear();
            w.revoke.clear();
            work.push(w);
            continue;
        }
        // Invitations: only those both plans revoke; the rest the saved plan lists are skipped.
        let fresh_revokes: HashSet<&str> = w.revoke.iter().map(|(id, _)| id.as_str()).collect();
        for i in saved_revokes {
            if !fresh_revokes.contains(i.id.as_str()) {
                let why = if f
                    .invitations
                    .as_ref()
                    .is_some_and(|p| p.revoke.iter().chain(&p.keep).any(|x| x.id == i.id))
                {
                    "not revoked by the fresh plan (declared now, or `invitations: keep`)"
                } else {
                    "no longer pending (accepted, revoked or expired), or not readable"
                };
                w.skipped.push((invitation_key(&i.id), why.into()));
            }
        }
        w.revoke
            .retain(|(id, _)| listed_invitations.contains(id.as_str()));
        // Fresh removals the saved plan does not list were never reviewed: kept.
        w.remove.retain(|u| listed.contains(u.as_str()));
        w.protected.retain(|u| listed.contains(u.as_str()));
        let fresh_removes: HashSet<&str> = f.remove.iter().map(|m| m.user_id.as_str()).collect();
        for m in &s.remove {
            let u = m.user_id.as_str();
            if !present.contains(u) {
                w.already_gone.push(u.to_string());
            } else if !fresh_removes.contains(u) {
                let why = if f.protect.iter().any(|p| p == u) {
                    "protected by the config"
                } else {
                    "declared by the config"
                };
                w.skipped.push((
                    u.to_string(),
                    format!("not a removal of the fresh plan: {why}"),
                ));
            }
        }
        w.name = f.name.clone();
        work.push(w);
    }
    work
}

/// How an invitation is named in the work's `skipped` list and the report.
pub fn invitation_key(id: &str) -> String {
    format!("invitation {id}")
}

/// Context for audit records.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub run_id: String,
    pub domain: String,
    pub plan_sha256: String,
    pub client_id: Option<String>,
}

type SharedLedger = Arc<Mutex<Ledger>>;

/// Carries out `work` through `ledger`, and returns the account of it. Stops sending when the
/// audit log fails or `interrupt` is set; after an interrupt, calls in flight get
/// [`INTERRUPT_GRACE`] to answer, then are recorded as `unknown`.
pub async fn execute(
    client: Arc<Client>,
    work: Vec<OrgWork>,
    info: Arc<RunInfo>,
    ledger: SharedLedger,
    interrupt: Arc<Interrupt>,
) -> Report {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    for w in work {
        // The receiver is alive: it is right here.
        let _ = tx.send(w);
    }
    drop(tx);
    execute_stream(client, rx, info, ledger, interrupt).await
}

/// [`execute`] for work that arrives while earlier work runs: each organization's calls start
/// as its work arrives, and the account covers every organization received, in the order
/// received. It ends when the sender is dropped and every organization's calls are done (or,
/// after an interrupt, [`INTERRUPT_GRACE`] later).
pub async fn execute_stream(
    client: Arc<Client>,
    mut incoming: tokio::sync::mpsc::UnboundedReceiver<OrgWork>,
    info: Arc<RunInfo>,
    ledger: SharedLedger,
    interrupt: Arc<Interrupt>,
) -> Report {
    let mut work: Vec<OrgWork> = Vec::new();
    let mut jobs = KeyedSet::new();
    let mut broken: HashSet<String> = HashSet::new();
    let grace = async {
        interrupt.wait().await;
        tokio::time::sleep(INTERRUPT_GRACE).await
    };
    tokio::pin!(grace);
    let mut open = true;
    while open || !jobs.is_empty() {
        tokio::select! {
            next = incoming.recv(), if open => match next {
                Some(w) => {
                    if w.acts() {
                        let (org, client, info, ledger, interrupt) = (
                            w.clone(),
                            client.clone(),
                            info.clone(),
                            ledger.clone(),
                            interrupt.clone(),
                        );
                        jobs.spawn(w.id.clone(), async move {
                            run_org(&client, org, &info, &ledger, &interrupt).await
                        });
                    }
                    work.push(w);
                }
                None => open = false,
            },
            Some((id, result)) = jobs.join_next(), if !jobs.is_empty() => {
                if result.is_err() {
                    broken.insert(id);
                }
            }
            // The tasks still running are dropped (and cancelled) with the set.
            () = &mut grace => break,
        }
    }
    drop(jobs);
    // Work sent before the sender went: accounted for, never sent.
    while let Ok(w) = incoming.try_recv() {
        work.push(w);
    }
    let mut l = Ledger::lock(&ledger);
    l.close_stopped(&info, "run", interrupt.is_set());
    let not_sent = l.not_sent("run", interrupt.is_set());
    let organizations = work
        .iter()
        .map(|w| {
            let why = if broken.contains(&w.id) {
                "not sent: an internal error stopped this organization's removals"
            } else {
                &not_sent
            };
            outcome(w, &l.done, why)
        })
        .collect();
    Report {
        organizations,
        hints: l.hints(|_| true),
        audit_failed: l.failure.is_some(),
        interrupted: interrupt.is_set(),
    }
}

/// One organization's account, from the ledger's closed calls.
fn outcome(w: &OrgWork, done: &[(Call, CallEnd)], not_sent: &str) -> OrgOutcome {
    let mut out = OrgOutcome {
        id: w.id.clone(),
        name: w.name.clone(),
        already_gone: w.already_gone.clone(),
        skipped: w.skipped.clone(),
        protected: w.protected.clone(),
        blocked: w.blocked.clone(),
        ..OrgOutcome::default()
    };
    if w.blocked.is_some() {
        return out;
    }
    let mut ended: HashMap<&str, &CallEnd> = HashMap::new();
    let mut revoked: HashMap<&str, &CallEnd> = HashMap::new();
    for (call, end) in done.iter().filter(|(c, _)| c.org_id == w.id) {
        out.calls += 1;
        if !matches!(end.outcome, Outcome::Removed | Outcome::Gone) {
            out.failed_calls += 1;
        }
        for u in &call.user_ids {
            ended.insert(u, end);
        }
        if let Some((id, _)) = &call.invitation {
            revoked.insert(id, end);
        }
    }
    for (id, _) in &w.revoke {
        let why = |e: &CallEnd| e.error.clone().unwrap_or_default();
        match revoked.get(id.as_str()) {
            Some(e) if e.outcome == Outcome::Removed => out.revoked.push(id.clone()),
            Some(e) if e.outcome == Outcome::Gone => out.invitations_gone.push(id.clone()),
            Some(e) if e.outcome == Outcome::Unknown => {
                out.revoke_unknown.push((id.clone(), why(e)))
            }
            Some(e) => out.revoke_failed.push((id.clone(), why(e))),
            None => out.revoke_failed.push((id.clone(), not_sent.to_string())),
        }
    }
    for u in &w.remove {
        let why = |e: &CallEnd| e.error.clone().unwrap_or_default();
        match ended.get(u.as_str()) {
            Some(e) if e.outcome == Outcome::Removed => out.removed.push(u.clone()),
            Some(e) if e.outcome == Outcome::Unknown => out.unknown.push((u.clone(), why(e))),
            Some(e) => out.failed.push((u.clone(), why(e))),
            None => out.failed.push((u.clone(), not_sent.to_string())),
        }
    }
    out
}

/// One organization's calls: its member removals and its invitation revocations go out as two
/// sequences side by side, since Auth0 limits them with different buckets (members write,
/// invitations): neither waits for the other's bucket.
async fn run_org(
    client: &Client,
    w: OrgWork,
    info: &RunInfo,
    ledger: &Mutex<Ledger>,
    interrupt: &Interrupt,
) {
    let removals = async {
        for batch in w.remove.chunks(BATCH) {
            // Each member's roles as read; a member the answer gave none for is left out.
            let of = |roles: &HashMap<String, Vec<Role>>| -> Vec<MemberRoles> {
                batch
                    .iter()
                    .filter_map(|u| {
                        Some(MemberRoles {
                            user_id: u.clone(),
                            roles: roles.get(u)?.clone(),
                        })
                    })
                    .collect()
            };
            let roles = w.roles.as_ref().map(of);
            let group_roles = w.group_roles.as_ref().map(of);
            let people = batch
                .iter()
                .filter_map(|u| w.people.get(u).cloned())
                .collect();
            let call = Call {
                org_id: w.id.clone(),
                org_name: w.name.clone(),
                user_ids: batch.to_vec(),
                roles,
                people,
                invitation: None,
                group_roles,
                restore: None,
            };
            let sent = send(ledger, info, interrupt, call, || {
                client.remove_members(&w.id, &w.name, batch)
            });
            if sent.await.is_none() {
                return;
            }
        }
    };
    let revocations = async {
        for (id, email) in &w.revoke {
            let call = Call {
                org_id: w.id.clone(),
                org_name: w.name.clone(),
                user_ids: Vec::new(),
                roles: None,
                people: Vec::new(),
                invitation: Some((id.clone(), email.clone())),
                group_roles: None,
                restore: None,
            };
            let sent = send(ledger, info, interrupt, call, || {
                client.revoke_invitation(&w.id, &w.name, id)
            });
            if sent.await.is_none() {
                return;
            }
        }
    };
    tokio::join!(removals, revocations);
}

/// `--wait`: re-reads each organization with removals or revoked invitations until none of
/// the removed users and revoked invitations is listed or `timeout` passes (a last read at the
/// deadline), or the run is interrupted; records the outcome in the report.
pub async fn wait_for_convergence(
    client: &Client,
    report: &mut Report,
    timeout: Duration,
    poll: Duration,
    interrupt: &Interrupt,
) {
    let started = Instant::now();
    for o in report
        .organizations
        .iter_mut()
        .filter(|o| !o.removed.is_empty() || !o.revoked.is_empty())
    {
        let removed: HashSet<&str> = o.removed.iter().map(String::as_str).collect();
        let revoked: HashSet<&str> = o.revoked.iter().map(String::as_str).collect();
        let mut converged = false;
        loop {
            let read = async {
                let members_gone = removed.is_empty()
                    || client
                        .members(&o.id, &o.name, false, |_| {})
                        .await
                        .is_ok_and(|m| !m.iter().any(|m| removed.contains(m.user_id.as_str())));
                let invitations_gone = revoked.is_empty()
                    || client
                        .invitations(&o.id, &o.name)
                        .await
                        .is_ok_and(|l| !l.iter().any(|i| revoked.contains(i.id.as_str())));
                members_gone && invitations_gone
            };
            let gone = tokio::select! {
                r = read => r,
                () = interrupt.wait() => break,
            };
            if gone {
                converged = true;
                break;
            }
            // The last read is at the deadline itself, never a poll short of it.
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(poll.min(left)) => {}
                () = interrupt.wait() => break,
            }
        }
        o.converged = Some(converged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Blocked, Guard, Member, OrgPlan};

    fn org(id: &str, current: &[&str], remove: &[&str], protect: &[&str]) -> OrgPlan {
        let members = |ids: &[&str]| ids.iter().map(|u| Member::id(*u)).collect::<Vec<_>>();
        OrgPlan {
            id: id.into(),
            name: format!("name-{id}"),
            current_count: current.len(),
            desired_count: current.len().saturating_sub(remove.len()),
            remove: members(remove).into_iter().map(Into::into).collect(),
            drift: !remove.is_empty(),
            current: members(current),
            protect: protect.iter().map(|s| s.to_string()).collect(),
            ..OrgPlan::default()
        }
    }

    fn plan(orgs: Vec<OrgPlan>) -> Plan {
        crate::plan::Plan {
            format_version: 1,
            domain: "d".into(),
            config_sha256: "c".into(),
            created_at: "t".into(),
            organizations: orgs,
            summary: crate::plan::Summary::default(),
            not_checked: vec![],
            provenance: None,
            plan_sha256: None,
        }
    }

    #[test]
    fn a_saved_plan_is_narrowed_to_the_removals_of_both_plans() {
        // Saved: removes a|1 a|2 a|3 a|4 (a|3 is declared by the config, a|4 protected), plus an
        // organization the config does not name.
        let saved = plan(vec![
            org("org_a", &[], &["a|1", "a|2", "a|3", "a|4"], &[]),
            org("org_x", &[], &["x|1"], &[]),
        ]);
        // Fresh: a|2 has gone since; a|9 joined since (not reviewed).
        let fresh = plan(vec![org(
            "org_a",
            &["a|1", "a|3", "a|4", "a|9"],
            &["a|1", "a|9"],
            &["a|4"],
        )]);
        let work = narrow(&saved, &fresh);
        assert_eq!(work.len(), 2);
        assert_eq!(work[0].remove, ["a|1"]);
        assert_eq!(work[0].already_gone, ["a|2"]);
        let skipped: Vec<&str> = work[0].skipped.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(skipped, ["a|3", "a|4"]);
        assert!(work[0].skipped[1].1.contains("protected"));
        assert_eq!(work[1].remove, Vec::<String>::new());
        assert_eq!(work[1].skipped[0].0, "x|1");
        assert_eq!(work[1].sends(), 0);
    }

    #[test]
    fn an_organization_blocked_in_either_plan_removes_nothing() {
        let blocked = Some(Blocked {
            guard: Guard::MaxRemovals,
            limit: Some("1".into()),
            allowed: Some(1),
            removals: 2,
            current: 2,
            invitations: 0,
            message: "2 removals exceed the limit of 1 (max_removals: 1)".into(),
        });
        let mut fresh_org = org("org_a", &["a|1", "a|2"], &["a|1", "a|2"], &[]);
        fresh_org.blocked = blocked.clone();
        let saved = plan(vec![org("org_a", &[], &["a|1", "a|2"], &[])]);
        let work = narrow(&saved, &plan(vec![fresh_org]));
        assert_eq!(work[0].sends(), 0);
        assert_eq!(
            work[0].skipped.len(),
            2,
            "each listed removal is accounted for"
        );
        let mut saved_org = org("org_a", &[], &["a|1"], &[]);
        saved_org.blocked = blocked;
        let fresh = plan(vec![org("org_a", &["a|1"], &["a|1"], &[])]);
        let work = narrow(&plan(vec![saved_org]), &fresh);
        assert_eq!(work[0].sends(), 0);
    }

    #[test]
    fn protected_members_are_never_work_even_if_a_plan_lists_them() {
        let w = OrgWork::from_plan(&org("org_a", &["a|1", "a|2"], &["a|1", "a|2"], &["a|2"]));
        assert_eq!(w.remove, ["a|1"]);
        assert_eq!(w.protected, ["a|2"]);
    }

    fn invitation(id: &str) -> crate::reentry::Invitation {
        crate::reentry::Invitation {
            id: id.into(),
            invitee_email: format!("{id}@example.com"),
            inviter: None,
            created_at: None,
            expires_at: None,
            roles: vec![],
        }
    }

    fn with_invitations(
        mut o: OrgPlan,
        policy: crate::config::Invitations,
        undeclared: &[&str],
    ) -> OrgPlan {
        o.invitations = Some(crate::plan::InvitationPlan {
            policy,
            revoke: undeclared.iter().map(|i| invitation(i)).collect(),
            ..Default::default()
        });
        o
    }

    #[test]
    fn a_saved_plan_revokes_only_invitations_both_plans_revoke() {
        use crate::config::Invitations::{Keep, Revoke};
        let saved = plan(vec![with_invitations(
            org("org_a", &[], &[], &[]),
            Revoke,
            &["uinv_1", "uinv_2", "uinv_3"],
        )]);
        // Fresh: uinv_2 was accepted since (gone); uinv_9 is new (never reviewed).
        let fresh = plan(vec![with_invitations(
            org("org_a", &[], &[], &[]),
            Revoke,
            &["uinv_1", "uinv_3", "uinv_9"],
        )]);
        let work = narrow(&saved, &fresh);
        let revoke: Vec<&str> = work[0].revoke.iter().map(|(i, _)| i.as_str()).collect();
        assert_eq!(revoke, ["uinv_1", "uinv_3"]);
        assert_eq!(work[0].skipped[0].0, "invitation uinv_2");
        assert!(work[0].skipped[0].1.contains("no longer pending"));
        // The config now says keep: nothing is revoked, each listed one is skipped.
        let fresh = plan(vec![with_invitations(
            org("org_a", &[], &[], &[]),
            Keep,
            &["uinv_1", "uinv_3"],
        )]);
        let work = narrow(&saved, &fresh);
        assert_eq!(work[0].revokes(), 0);
        assert_eq!(work[0].skipped.len(), 3);
        assert!(work[0].skipped[0].1.contains("`invitations: keep`"));
        // A saved plan that kept invitations revokes none, whatever the fresh plan says.
        let kept = plan(vec![with_invitations(
            org("org_a", &[], &["a|1"], &[]),
            Keep,
            &["uinv_1"],
        )]);
        let fresh = plan(vec![with_invitations(
            org("org_a", &["a|1"], &["a|1"], &[]),
            Revoke,
            &["uinv_1"],
        )]);
        let work = narrow(&kept, &fresh);
        assert_eq!(work[0].revokes(), 0);
        assert_eq!(work[0].remove, ["a|1"]);
    }
}
