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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::audit::{AuditError, AuditLog, DeleteRecord, Head, IntentRecord, Outcome};
use crate::auth0::Client;
use crate::plan::{OrgPlan, Plan};
use crate::render::{clean, plural};
use crate::tasks::join_keyed;

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
            ..OrgWork::default()
        }
    }

    /// Removals that would be sent.
    pub fn sends(&self) -> usize {
        if self.blocked.is_some() {
            0
        } else {
            self.remove.len()
        }
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
        if !seen.insert(s.id.as_str()) || s.remove.is_empty() {
            continue;
        }
        let Some(f) = fresh_by_id.get(s.id.as_str()) else {
            work.push(OrgWork {
                id: s.id.clone(),
                name: s.name.clone(),
                skipped: s
                    .remove
                    .iter()
                    .map(|m| {
                        (
                            m.user_id.clone(),
                            "the config does not name this organization".into(),
                        )
                    })
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
                .map(|m| (m.user_id.clone(), "the organization is blocked".into()))
                .collect();
            w.remove.clear();
            work.push(w);
            continue;
        }
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

/// How one organization's removals went.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrgOutcome {
    pub id: String,
    pub name: String,
    pub removed: Vec<String>,
    /// User_ids not removed, with the reason.
    pub failed: Vec<(String, String)>,
    /// User_ids whose call may or may not have been carried out, with the reason.
    pub unknown: Vec<(String, String)>,
    pub already_gone: Vec<String>,
    pub skipped: Vec<(String, String)>,
    pub protected: Vec<String>,
    pub blocked: Option<String>,
    /// With `--wait`: whether the removals became visible in time.
    pub converged: Option<bool>,
    pub calls: usize,
    pub failed_calls: usize,
}

/// The exact account of a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub organizations: Vec<OrgOutcome>,
    /// The audit log failed: calls stopped.
    pub audit_failed: bool,
    /// SIGINT or SIGTERM: calls stopped.
    pub interrupted: bool,
}

impl Report {
    fn sum(&self, f: impl Fn(&OrgOutcome) -> usize) -> usize {
        self.organizations.iter().map(f).sum()
    }
    pub fn removed(&self) -> usize {
        self.sum(|o| o.removed.len())
    }
    pub fn not_removed(&self) -> usize {
        self.sum(|o| o.failed.len())
    }
    pub fn unknown(&self) -> usize {
        self.sum(|o| o.unknown.len())
    }
    pub fn already_gone(&self) -> usize {
        self.sum(|o| o.already_gone.len())
    }
    pub fn skipped(&self) -> usize {
        self.sum(|o| o.skipped.len())
    }
    pub fn blocked(&self) -> usize {
        self.sum(|o| usize::from(o.blocked.is_some()))
    }
    pub fn calls(&self) -> usize {
        self.sum(|o| o.calls)
    }
    pub fn failed_calls(&self) -> usize {
        self.sum(|o| o.failed_calls)
    }
    /// Everything planned was done, nothing is unknown, and nothing was blocked or stopped.
    pub fn success(&self) -> bool {
        !self.audit_failed
            && !self.interrupted
            && self.not_removed() == 0
            && self.unknown() == 0
            && self.blocked() == 0
    }
}

/// Context for audit records.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub run_id: String,
    pub domain: String,
    pub plan_sha256: String,
    pub client_id: Option<String>,
}

/// SIGINT/SIGTERM, as a flag the run checks before each call and a signal it can wait for.
#[derive(Debug, Default)]
pub struct Interrupt {
    flag: AtomicBool,
    notify: Notify,
}

impl Interrupt {
    pub fn new() -> Arc<Interrupt> {
        Arc::new(Interrupt::default())
    }

    /// Catches SIGINT and SIGTERM from now on: the first sets the flag (no new DELETE is sent;
    /// those in flight are awaited and recorded); a second one exits at once with 130.
    pub fn listen(self: &Arc<Self>) {
        let this = self.clone();
        let mut signals = Signals::new();
        tokio::spawn(async move {
            while signals.next().await {
                if this.is_set() {
                    eprintln!(
                        "interrupted again: exiting now; calls in flight are recorded as intents only"
                    );
                    std::process::exit(130);
                }
                eprintln!(
                    "interrupted: no new DELETE will be sent; waiting for the calls in flight (at most {} s) and recording them",
                    INTERRUPT_GRACE.as_secs()
                );
                this.trigger();
            }
        });
    }

    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Returns once the flag is set.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// SIGINT and SIGTERM, registered once.
#[cfg(unix)]
struct Signals(Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>);

#[cfg(unix)]
impl Signals {
    fn new() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals(
            signal(SignalKind::interrupt())
                .and_then(|i| Ok((i, signal(SignalKind::terminate())?)))
                .ok(),
        )
    }

    /// The next signal; false when none can be caught.
    async fn next(&mut self) -> bool {
        let Some((int, term)) = self.0.as_mut() else {
            return false;
        };
        tokio::select! {
            r = int.recv() => r.is_some(),
            r = term.recv() => r.is_some(),
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> Signals {
        Signals
    }

    async fn next(&mut self) -> bool {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

/// One DELETE call, as the ledger knows it.
#[derive(Debug, Clone)]
struct Call {
    org_id: String,
    org_name: String,
    user_ids: Vec<String>,
}

/// How a call ended.
#[derive(Debug, Clone)]
struct CallEnd {
    outcome: Outcome,
    status: Option<u16>,
    attempts: u32,
    duration: Duration,
    error: Option<String>,
}

/// The record of a run's calls: every call is opened (its intent written and synced) before
/// it is sent and closed with its outcome after. What the report says is derived from here.
#[derive(Debug)]
pub struct Ledger {
    log: Option<AuditLog>,
    next_call: u64,
    open: BTreeMap<u64, Call>,
    done: Vec<(Call, CallEnd)>,
    failure: Option<AuditError>,
}

impl Ledger {
    pub fn new(log: Option<AuditLog>) -> Ledger {
        Ledger {
            log,
            next_call: 1,
            open: BTreeMap::new(),
            done: Vec::new(),
            failure: None,
        }
    }

    /// Writes a record that must be on disk before anything is sent (`start`).
    pub fn write_synced<T: serde::Serialize>(&mut self, record: &T) -> Result<(), &AuditError> {
        if let Some(log) = self.log.as_mut()
            && let Err(e) = log.append_synced(record)
        {
            self.failure.get_or_insert(e);
        }
        self.failure.as_ref().map_or(Ok(()), Err)
    }

    /// Writes a record (`summary`), reporting a failure to write it.
    pub fn write<T: serde::Serialize>(&mut self, record: &T) -> Result<(), AuditError> {
        match self.log.as_mut() {
            Some(log) => log.append(record),
            None => Ok(()),
        }
    }

    /// The first audit failure of the run, if any.
    pub fn take_failure(&mut self) -> Option<AuditError> {
        self.failure.take()
    }

    /// Opens a call: writes and syncs its intent. None when it must not be sent.
    fn intend(&mut self, info: &RunInfo, call: Call) -> Option<u64> {
        if self.failure.is_some() {
            return None;
        }
        let n = self.next_call;
        self.next_call += 1;
        if let Some(log) = self.log.as_mut() {
            let record = IntentRecord {
                head: Head::now(&info.run_id, "intent", &info.domain),
                call: n,
                organization_id: &call.org_id,
                organization_name: &call.org_name,
                user_ids: &call.user_ids,
                plan_sha256: &info.plan_sha256,
                client_id: info.client_id.as_deref(),
            };
            if let Err(e) = log.append_synced(&record) {
                self.failure = Some(e);
                return None;
            }
        }
        self.open.insert(n, call);
        Some(n)
    }

    /// Closes a call with its outcome. A call already closed (as unknown) stays as it is.
    fn finish(&mut self, info: &RunInfo, n: u64, end: CallEnd) {
        let Some(call) = self.open.remove(&n) else {
            return;
        };
        if let Some(log) = self.log.as_mut() {
            let record = DeleteRecord {
                head: Head::now(&info.run_id, "delete", &info.domain),
                call: n,
                organization_id: &call.org_id,
                organization_name: &call.org_name,
                user_ids: &call.user_ids,
                outcome: end.outcome,
                status: end.status,
                attempts: end.attempts,
                duration_ms: end.duration.as_millis().try_into().unwrap_or(u64::MAX),
                plan_sha256: &info.plan_sha256,
                client_id: info.client_id.as_deref(),
                error: end.error.clone(),
            };
            if let Err(e) = log.append(&record) {
                self.failure.get_or_insert(e);
            }
        }
        self.done.push((call, end));
    }

    /// Closes every call still open as `unknown`: it was sent, and no answer was recorded.
    fn close_open(&mut self, info: &RunInfo, why: &str) {
        let open: Vec<u64> = self.open.keys().copied().collect();
        for n in open {
            let end = CallEnd {
                outcome: Outcome::Unknown,
                status: None,
                attempts: 0,
                duration: Duration::ZERO,
                error: Some(why.to_string()),
            };
            self.finish(info, n, end);
        }
    }
}

type SharedLedger = Arc<Mutex<Ledger>>;

fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(|e| e.into_inner())
}

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
    let jobs = work.iter().filter(|w| w.sends() > 0).map(|w| {
        let org = (w.id.clone(), w.name.clone(), w.remove.clone());
        let (client, info, ledger, interrupt) = (
            client.clone(),
            info.clone(),
            ledger.clone(),
            interrupt.clone(),
        );
        (w.id.clone(), async move {
            run_org(&client, org, &info, &ledger, &interrupt).await
        })
    });
    let mut broken: HashSet<String> = HashSet::new();
    tokio::select! {
        results = join_keyed(jobs) => {
            broken.extend(results.into_iter().filter(|(_, r)| r.is_err()).map(|(id, _)| id));
        }
        () = async { interrupt.wait().await; tokio::time::sleep(INTERRUPT_GRACE).await } => {
            // The tasks still running are dropped (and cancelled) with the join.
        }
    }
    let mut l = lock(&ledger);
    let why = if interrupt.is_set() {
        "the run was interrupted while this call was in flight; check the tenant"
    } else {
        "an internal error stopped the run after this call was sent; check the tenant"
    };
    l.close_open(&info, why);
    let not_sent = |id: &str| {
        if broken.contains(id) {
            "not sent: an internal error stopped this organization's removals"
        } else if interrupt.is_set() {
            "not sent: the run was interrupted"
        } else if l.failure.is_some() {
            "not sent: the audit log could not be written"
        } else {
            "not sent"
        }
    };
    let organizations = work
        .iter()
        .map(|w| outcome(w, &l.done, not_sent(&w.id)))
        .collect();
    Report {
        organizations,
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
    for (call, end) in done.iter().filter(|(c, _)| c.org_id == w.id) {
        out.calls += 1;
        if end.outcome != Outcome::Removed {
            out.failed_calls += 1;
        }
        for u in &call.user_ids {
            ended.insert(u, end);
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

async fn run_org(
    client: &Client,
    (id, name, remove): (String, String, Vec<String>),
    info: &RunInfo,
    ledger: &Mutex<Ledger>,
    interrupt: &Interrupt,
) {
    for batch in remove.chunks(BATCH) {
        if interrupt.is_set() {
            return;
        }
        let call = Call {
            org_id: id.clone(),
            org_name: name.clone(),
            user_ids: batch.to_vec(),
        };
        let Some(n) = lock(ledger).intend(info, call) else {
            return;
        };
        let (result, record) = client.remove_members(&id, &name, batch).await;
        let end = CallEnd {
            outcome: match &result {
                Ok(()) => Outcome::Removed,
                // Sent, and no answer came back: it may have been carried out.
                Err(_) if record.status.is_none() && record.attempts > 0 => Outcome::Unknown,
                Err(_) => Outcome::Failed,
            },
            status: record.status,
            attempts: record.attempts,
            duration: record.duration,
            error: result.err().map(|e| e.to_string()),
        };
        lock(ledger).finish(info, n, end);
    }
}

/// `--wait`: re-reads each organization with removals until none of the removed users is listed
/// or `timeout` passes (or the run is interrupted); records the outcome in the report.
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
        .filter(|o| !o.removed.is_empty())
    {
        let removed: HashSet<&str> = o.removed.iter().map(String::as_str).collect();
        let mut converged = false;
        loop {
            let read = tokio::select! {
                r = client.members(&o.id, &o.name, |_| {}) => r,
                () = interrupt.wait() => break,
            };
            if let Ok(members) = read
                && !members.iter().any(|m| removed.contains(m.user_id.as_str()))
            {
                converged = true;
                break;
            }
            if started.elapsed().saturating_add(poll) > timeout {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(poll) => {}
                () = interrupt.wait() => break,
            }
        }
        o.converged = Some(converged);
    }
}

/// Writes the account of a run, one line per organization that had anything to do. Ids, names
/// and reasons come from outside and are escaped, as in the plan.
pub fn write_report(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for o in &report.organizations {
        let org = format!("organization {} ({})", clean(&o.name), clean(&o.id));
        if let Some(b) = &o.blocked {
            writeln!(out, "{org}: blocked, nothing removed: {}", clean(b))?;
            for (u, why) in &o.skipped {
                writeln!(out, "  skipped: {}: {}", clean(u), clean(why))?;
            }
            continue;
        }
        let mut parts = Vec::new();
        if !o.removed.is_empty() || !o.failed.is_empty() || !o.unknown.is_empty() {
            parts.push(format!("removed {}", o.removed.len()));
        }
        if !o.failed.is_empty() {
            parts.push(format!("NOT removed {}", o.failed.len()));
        }
        if !o.unknown.is_empty() {
            parts.push(format!("outcome UNKNOWN {}", o.unknown.len()));
        }
        if !o.already_gone.is_empty() {
            parts.push(format!("already gone {}", o.already_gone.len()));
        }
        if !o.skipped.is_empty() {
            parts.push(format!("skipped {}", o.skipped.len()));
        }
        if !o.protected.is_empty() {
            parts.push(format!("protected, kept {}", o.protected.len()));
        }
        if parts.is_empty() {
            continue;
        }
        match o.converged {
            Some(true) => parts.push("removals visible".into()),
            Some(false) => parts.push("removals NOT yet visible when --wait ran out".into()),
            None => {}
        }
        writeln!(out, "{org}: {}", parts.join(", "))?;
        for (u, why) in &o.failed {
            writeln!(out, "  not removed: {}: {}", clean(u), clean(why))?;
        }
        for (u, why) in &o.unknown {
            writeln!(out, "  outcome unknown: {}: {}", clean(u), clean(why))?;
        }
        for u in &o.already_gone {
            writeln!(out, "  already gone: {}", clean(u))?;
        }
        for (u, why) in &o.skipped {
            writeln!(out, "  skipped: {}: {}", clean(u), clean(why))?;
        }
        for u in &o.protected {
            writeln!(out, "  protected, not removed: {}", clean(u))?;
        }
    }
    let mut tail = String::new();
    if report.unknown() > 0 {
        tail.push_str(&format!("; {} with an unknown outcome", report.unknown()));
    }
    if report.skipped() > 0 {
        tail.push_str(&format!("; {} skipped", report.skipped()));
    }
    let blocked = report.blocked();
    if blocked > 0 {
        tail.push_str(&format!(
            "; {} blocked by a guard",
            plural(blocked, "organization", "organizations")
        ));
    }
    if report.interrupted {
        tail.push_str("; interrupted");
    }
    writeln!(
        out,
        "Apply: {} removed, {} not removed, {} already gone, in {}{tail}.",
        report.removed(),
        report.not_removed(),
        report.already_gone(),
        plural(report.calls(), "DELETE call", "DELETE calls"),
    )?;
    Ok(())
}

/// Lists what apply is about to remove (for a saved plan, before the prompt).
pub fn write_work(work: &[OrgWork], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for w in work {
        let org = format!("organization {} ({})", clean(&w.name), clean(&w.id));
        if let Some(b) = &w.blocked {
            writeln!(out, "{org}: blocked, nothing will be removed: {}", clean(b))?;
        } else if !w.remove.is_empty() {
            writeln!(out, "{org}: will remove {}", w.remove.len())?;
            for u in &w.remove {
                writeln!(out, "  - {}", clean(u))?;
            }
        }
        for (u, why) in &w.skipped {
            writeln!(out, "{org}: skipped: {}: {}", clean(u), clean(why))?;
        }
        for u in &w.already_gone {
            writeln!(out, "{org}: already gone: {}", clean(u))?;
        }
    }
    Ok(())
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
            remove: members(remove),
            missing: vec![],
            protected_kept: vec![],
            blocked: None,
            drift: !remove.is_empty(),
            resolved_emails: vec![],
            current: members(current),
            protect: protect.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn plan(orgs: Vec<OrgPlan>) -> Plan {
        crate::plan::Plan {
            format_version: 1,
            domain: "d".into(),
            config_sha256: "c".into(),
            created_at: "t".into(),
            organizations: orgs,
            summary: crate::plan::Summary {
                remove: 0,
                missing: 0,
                protected_kept: 0,
                organizations_changed: 0,
                blocked: 0,
                organizations: 0,
                drift: false,
            },
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
            message: "2 removals exceed max_removals 1".into(),
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

    #[test]
    fn the_report_escapes_what_came_from_outside() {
        let report = Report {
            organizations: vec![OrgOutcome {
                id: "org_1".into(),
                name: "acme".into(),
                removed: vec!["auth0|x\u{1b}[31m\nApply: 0 removed".into()],
                failed: vec![("a|\u{202e}b".into(), "server said \u{1b}[2J".into())],
                ..OrgOutcome::default()
            }],
            ..Report::default()
        };
        let mut out = Vec::new();
        write_report(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text}"
        );
        assert_eq!(
            text.lines().filter(|l| l.starts_with("Apply:")).count(),
            1,
            "{text}"
        );
    }

    /// A call that was sent and never came back (its task panicked or was cancelled) is
    /// closed as unknown, in the log and in the account, and the run is not a success.
    #[test]
    fn a_call_without_an_answer_is_recorded_unknown_and_fails_the_run() {
        let dir = std::env::temp_dir().join(format!("orgsync-ledger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        let info = RunInfo {
            run_id: "run-1".into(),
            domain: "d".into(),
            plan_sha256: "p".into(),
            client_id: None,
        };
        let mut ledger = Ledger::new(Some(AuditLog::open(&path).unwrap()));
        let call = |ids: &[&str]| Call {
            org_id: "org_a".into(),
            org_name: "a".into(),
            user_ids: ids.iter().map(|s| s.to_string()).collect(),
        };
        let sent = ledger.intend(&info, call(&["a|1"])).unwrap();
        let answered = ledger.intend(&info, call(&["a|2"])).unwrap();
        let end = CallEnd {
            outcome: Outcome::Removed,
            status: Some(204),
            attempts: 1,
            duration: Duration::ZERO,
            error: None,
        };
        ledger.finish(&info, answered, end.clone());
        ledger.close_open(&info, "lost");
        // A late answer for a call already closed does not rewrite the record.
        ledger.finish(&info, sent, end);
        let work = OrgWork {
            id: "org_a".into(),
            name: "a".into(),
            remove: vec!["a|1".into(), "a|2".into(), "a|3".into()],
            ..OrgWork::default()
        };
        let o = outcome(&work, &ledger.done, "not sent: stopped");
        assert_eq!(o.removed, ["a|2"]);
        assert_eq!(o.unknown, [("a|1".to_string(), "lost".to_string())]);
        assert_eq!(
            o.failed,
            [("a|3".to_string(), "not sent: stopped".to_string())]
        );
        let report = Report {
            organizations: vec![o],
            ..Report::default()
        };
        assert!(!report.success());
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let events: Vec<(String, u64, String)> = lines
            .iter()
            .map(|l| {
                (
                    l["event"].as_str().unwrap().to_string(),
                    l["call"].as_u64().unwrap(),
                    l["outcome"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let e = |ev: &str, call: u64, outcome: &str| (ev.to_string(), call, outcome.to_string());
        assert_eq!(
            events,
            [
                e("intent", 1, ""),
                e("intent", 2, ""),
                e("delete", 2, "removed"),
                e("delete", 1, "unknown")
            ]
        );
        assert!(lines.iter().all(|l| l["run_id"] == "run-1"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn interrupt_wait_returns_once_triggered() {
        let i = Interrupt::new();
        let waiter = {
            let i = i.clone();
            tokio::spawn(async move { i.wait().await })
        };
        i.trigger();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert!(i.is_set());
    }
}
