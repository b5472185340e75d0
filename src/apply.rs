//! Apply: carry out the removals of a reviewed plan, and nothing else.
//!
//! Input is a list of [`OrgWork`] built from a plan (fresh, or saved and re-checked against the
//! live tenant). Each organization's removals go out as `DELETE …/members` calls of at most 10
//! user_ids, in the plan's stable order; organizations proceed concurrently within the client's
//! pacing. A call that still fails after the client's retries is reported and the rest carry on,
//! so the run ends with an exact account and a second apply converges. Every call is written to
//! the audit log as it completes; if the log cannot be written, no further call is sent.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::audit::{self, AuditError, AuditLog, DeleteRecord};
use crate::auth0::Client;
use crate::plan::{OrgPlan, Plan};

/// Auth0 accepts at most this many user_ids per DELETE call.
pub const BATCH: usize = 10;

/// What to do in one organization.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgWork {
    pub id: String,
    pub name: String,
    /// User_ids to remove, in the order they go out.
    pub remove: Vec<String>,
    /// Listed for removal by the plan but no longer members: skipped.
    pub already_gone: Vec<String>,
    /// Listed for removal but protected: never removed.
    pub protected: Vec<String>,
    /// The guard that blocks this organization, with its numbers; nothing is removed.
    pub blocked: Option<String>,
}

impl OrgWork {
    /// The work of a freshly computed plan: its removals, unless blocked.
    pub fn from_plan(o: &OrgPlan, protect: &HashSet<&str>) -> OrgWork {
        let (protected, remove): (Vec<String>, Vec<String>) = o
            .remove
            .iter()
            .map(|m| m.user_id.clone())
            .partition(|u| protect.contains(u.as_str()));
        OrgWork {
            id: o.id.clone(),
            name: o.name.clone(),
            remove,
            already_gone: Vec::new(),
            protected,
            blocked: o.blocked.as_ref().map(|b| b.message.clone()),
        }
    }

    /// The work of a saved plan against the live members of now: only members the plan lists
    /// AND that are still members; never anyone protected.
    pub fn from_saved(o: &OrgPlan, live: &HashSet<String>, protect: &HashSet<&str>) -> OrgWork {
        let mut w = OrgWork::from_plan(o, protect);
        let (still, gone): (Vec<String>, Vec<String>) =
            w.remove.into_iter().partition(|u| live.contains(u));
        w.remove = still;
        w.already_gone = gone;
        w
    }
}

/// How one organization's removals went.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrgOutcome {
    pub id: String,
    pub name: String,
    pub removed: Vec<String>,
    /// User_ids whose call failed, with the reason.
    pub failed: Vec<(String, String)>,
    pub already_gone: Vec<String>,
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
}

impl Report {
    pub fn removed(&self) -> usize {
        self.organizations.iter().map(|o| o.removed.len()).sum()
    }
    pub fn not_removed(&self) -> usize {
        self.organizations.iter().map(|o| o.failed.len()).sum()
    }
    pub fn already_gone(&self) -> usize {
        self.organizations
            .iter()
            .map(|o| o.already_gone.len())
            .sum()
    }
    pub fn blocked(&self) -> usize {
        self.organizations
            .iter()
            .filter(|o| o.blocked.is_some())
            .count()
    }
    pub fn calls(&self) -> usize {
        self.organizations.iter().map(|o| o.calls).sum()
    }
    pub fn failed_calls(&self) -> usize {
        self.organizations.iter().map(|o| o.failed_calls).sum()
    }
    /// Everything planned was done, and nothing was blocked.
    pub fn success(&self) -> bool {
        !self.audit_failed && self.not_removed() == 0 && self.blocked() == 0
    }
}

/// Context for audit records.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub domain: String,
    pub plan_sha256: String,
    pub client_id: Option<String>,
}

/// Carries out `work`. Returns the report; an audit log failure stops further calls and is
/// returned alongside the report of what was done before it.
pub async fn execute(
    client: Arc<Client>,
    work: Vec<OrgWork>,
    info: RunInfo,
    audit: Option<AuditLog>,
) -> (Report, Option<AuditError>) {
    let audit = Arc::new(Mutex::new((audit, None::<AuditError>)));
    let stop = Arc::new(AtomicBool::new(false));
    let info = Arc::new(info);
    let mut tasks = JoinSet::new();
    let n = work.len();
    for (i, w) in work.into_iter().enumerate() {
        let client = client.clone();
        let audit = audit.clone();
        let stop = stop.clone();
        let info = info.clone();
        tasks.spawn(async move { (i, run_org(&client, w, &info, &audit, &stop).await) });
    }
    let mut outcomes: Vec<Option<OrgOutcome>> = vec![None; n];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, o)) = joined {
            outcomes[i] = Some(o);
        }
    }
    let audit_error = audit.lock().unwrap_or_else(|e| e.into_inner()).1.take();
    let report = Report {
        organizations: outcomes.into_iter().flatten().collect(),
        audit_failed: audit_error.is_some(),
    };
    (report, audit_error)
}

type SharedAudit = Mutex<(Option<AuditLog>, Option<AuditError>)>;

async fn run_org(
    client: &Client,
    w: OrgWork,
    info: &RunInfo,
    audit: &SharedAudit,
    stop: &AtomicBool,
) -> OrgOutcome {
    let mut out = OrgOutcome {
        id: w.id.clone(),
        name: w.name.clone(),
        already_gone: w.already_gone,
        protected: w.protected,
        blocked: w.blocked.clone(),
        ..OrgOutcome::default()
    };
    if w.blocked.is_some() {
        return out;
    }
    for batch in w.remove.chunks(BATCH) {
        if stop.load(Ordering::SeqCst) {
            out.failed.extend(batch.iter().map(|u| {
                (
                    u.clone(),
                    "not attempted: the audit log could not be written".to_string(),
                )
            }));
            continue;
        }
        let (result, record) = client.remove_members(&w.id, &w.name, batch).await;
        out.calls += 1;
        let error = result.as_ref().err().map(|e| e.to_string());
        {
            let mut guard = audit.lock().unwrap_or_else(|e| e.into_inner());
            let (log, failure) = &mut *guard;
            if let Some(log) = log.as_mut() {
                let line = DeleteRecord {
                    time: audit::now(),
                    event: "delete",
                    domain: &info.domain,
                    organization_id: &w.id,
                    organization_name: &w.name,
                    user_ids: batch,
                    status: record.status,
                    attempts: record.attempts,
                    duration_ms: record.duration.as_millis().try_into().unwrap_or(u64::MAX),
                    plan_sha256: &info.plan_sha256,
                    client_id: info.client_id.as_deref(),
                    error: error.clone(),
                };
                if let Err(e) = log.append(&line) {
                    stop.store(true, Ordering::SeqCst);
                    failure.get_or_insert(e);
                }
            }
        }
        match result {
            Ok(()) => out.removed.extend(batch.iter().cloned()),
            Err(e) => {
                out.failed_calls += 1;
                let why = e.to_string();
                out.failed
                    .extend(batch.iter().map(|u| (u.clone(), why.clone())));
            }
        }
    }
    out
}

/// `--wait`: re-reads each organization with removals until none of the removed users is listed
/// or `timeout` passes; records the outcome in the report.
pub async fn wait_for_convergence(
    client: &Client,
    report: &mut Report,
    timeout: Duration,
    poll: Duration,
) {
    let deadline = Instant::now() + timeout;
    for o in report
        .organizations
        .iter_mut()
        .filter(|o| !o.removed.is_empty())
    {
        let removed: HashSet<&str> = o.removed.iter().map(String::as_str).collect();
        let mut converged = false;
        loop {
            if let Ok(members) = client.members(&o.id, &o.name, |_| {}).await {
                if !members.iter().any(|m| removed.contains(m.user_id.as_str())) {
                    converged = true;
                    break;
                }
            }
            if Instant::now() + poll > deadline {
                break;
            }
            tokio::time::sleep(poll).await;
        }
        o.converged = Some(converged);
    }
}

/// The plan's removals that apply would send, for the confirmation prompt.
pub fn pending_removals(plan: &Plan) -> (usize, usize) {
    let orgs: Vec<&OrgPlan> = plan
        .organizations
        .iter()
        .filter(|o| o.blocked.is_none() && !o.remove.is_empty())
        .collect();
    (orgs.iter().map(|o| o.remove.len()).sum(), orgs.len())
}

/// Writes the account of a run, one line per organization that had anything to do.
pub fn write_report(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for o in &report.organizations {
        let mut parts = Vec::new();
        if let Some(b) = &o.blocked {
            writeln!(
                out,
                "organization {} ({}): blocked, nothing removed: {b}",
                o.name, o.id
            )?;
            continue;
        }
        if o.removed.is_empty()
            && o.failed.is_empty()
            && o.already_gone.is_empty()
            && o.protected.is_empty()
        {
            continue;
        }
        parts.push(format!("removed {}", o.removed.len()));
        if !o.failed.is_empty() {
            parts.push(format!("NOT removed {}", o.failed.len()));
        }
        if !o.already_gone.is_empty() {
            parts.push(format!("already gone {}", o.already_gone.len()));
        }
        if !o.protected.is_empty() {
            parts.push(format!("protected, kept {}", o.protected.len()));
        }
        match o.converged {
            Some(true) => parts.push("removals visible".into()),
            Some(false) => parts.push("removals NOT yet visible when --wait ran out".into()),
            None => {}
        }
        writeln!(
            out,
            "organization {} ({}): {}",
            o.name,
            o.id,
            parts.join(", ")
        )?;
        for (u, why) in &o.failed {
            writeln!(out, "  not removed: {u}: {why}")?;
        }
        for u in &o.already_gone {
            writeln!(out, "  already gone: {u}")?;
        }
        for u in &o.protected {
            writeln!(out, "  protected, not removed: {u}")?;
        }
    }
    let blocked = report.blocked();
    writeln!(
        out,
        "Apply: {} removed, {} not removed, {} already gone, in {} DELETE call{}{}.",
        report.removed(),
        report.not_removed(),
        report.already_gone(),
        report.calls(),
        if report.calls() == 1 { "" } else { "s" },
        if blocked > 0 {
            format!(
                "; {blocked} organization{} blocked by a guard",
                if blocked == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        }
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Member, OrgPlan};

    fn org(remove: &[&str]) -> OrgPlan {
        OrgPlan {
            id: "org_1".into(),
            name: "acme".into(),
            current_count: 10,
            desired_count: 10 - remove.len(),
            remove: remove
                .iter()
                .map(|u| Member {
                    user_id: u.to_string(),
                    email: None,
                    name: None,
                })
                .collect(),
            missing: vec![],
            protected_kept: vec![],
            blocked: None,
            drift: !remove.is_empty(),
            resolved_emails: vec![],
            current: vec![],
        }
    }

    #[test]
    fn saved_work_removes_only_listed_live_unprotected_members() {
        let o = org(&["a|1", "a|2", "a|3"]);
        let live: HashSet<String> = ["a|1", "a|3", "a|9"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let protect: HashSet<&str> = ["a|3"].into_iter().collect();
        let w = OrgWork::from_saved(&o, &live, &protect);
        assert_eq!(w.remove, ["a|1"]);
        assert_eq!(w.already_gone, ["a|2"]);
        assert_eq!(w.protected, ["a|3"]);
    }
}
