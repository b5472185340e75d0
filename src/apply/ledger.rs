//! The ledger of a run's DELETE calls: each is opened (its `intent` written and synced to the
//! audit log) before it is sent and closed with its outcome after; a call still open when the
//! run ends was sent and never answered, and is closed as `unknown`. The report is derived from
//! here, never from what the tasks returned.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use super::audit::{
    AuditError, AuditLog, DeleteRecord, Head, IntentRecord, MemberRoles, Outcome, Person,
};

use super::RunInfo;
use super::interrupt::Interrupt;

/// One DELETE call, as the ledger knows it.
#[derive(Debug, Clone)]
pub(super) struct Call {
    pub(super) org_id: String,
    pub(super) org_name: String,
    pub(super) user_ids: Vec<String>,
    /// The members' roles, when the plan read them.
    pub(super) roles: Option<Vec<MemberRoles>>,
    /// The members' emails and names, as read.
    pub(super) people: Vec<Person>,
    /// An invitation to revoke (id, invitee email) instead of members.
    pub(super) invitation: Option<(String, String)>,
    /// The members' group-sourced roles, when they were read.
    pub(super) group_roles: Option<Vec<MemberRoles>>,
    /// A restore `POST` instead of a DELETE.
    pub(super) restore: Option<RestoreCall>,
}

/// What a restore call does.
#[derive(Debug, Clone)]
pub(super) struct RestoreCall {
    /// The run it undoes.
    pub(super) run: String,
    /// `add_members` or `assign_roles`.
    pub(super) action: &'static str,
    /// For `assign_roles`: the role ids.
    pub(super) role_ids: Vec<String>,
}

impl Call {
    /// The call as an audit line of `event` (its intent, or the head of its outcome).
    fn record<'a>(&'a self, info: &'a RunInfo, n: u64, event: &'static str) -> IntentRecord<'a> {
        IntentRecord {
            head: Head::now(&info.run_id, event, &info.domain),
            call: n,
            organization_id: &self.org_id,
            organization_name: &self.org_name,
            user_ids: &self.user_ids,
            roles: self.roles.as_deref(),
            group_roles: self.group_roles.as_deref(),
            action: self.restore.as_ref().map(|r| r.action),
            restores_run: self.restore.as_ref().map(|r| r.run.as_str()),
            role_ids: self
                .restore
                .as_ref()
                .filter(|r| !r.role_ids.is_empty())
                .map(|r| r.role_ids.as_slice()),
            members: (!self.people.is_empty()).then_some(self.people.as_slice()),
            invitation_id: self.invitation.as_ref().map(|i| i.0.as_str()),
            invitee_email: self.invitation.as_ref().map(|i| i.1.as_str()),
            plan_sha256: &info.plan_sha256,
            client_id: info.client_id.as_deref(),
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone)]
pub(super) struct CallEnd {
    pub(super) outcome: Outcome,
    pub(super) status: Option<u16>,
    pub(super) attempts: u32,
    pub(super) duration: Duration,
    pub(super) error: Option<String>,
    /// The error's hint (a 403 names the scope to grant), for the run's `hint:` on stderr.
    pub(super) hint: Option<String>,
}

impl CallEnd {
    /// How a call that went to the client ended: `done` when it succeeded; `Unknown` when it
    /// was sent and no answer came back (it may have been carried out); else `refused`.
    fn of(
        result: Result<(), crate::auth0::Error>,
        record: &crate::auth0::CallRecord,
        done: Outcome,
        refused: Outcome,
    ) -> CallEnd {
        let outcome = match &result {
            Ok(()) => done,
            Err(_) if record.status.is_none() && record.attempts > 0 => Outcome::Unknown,
            Err(_) => refused,
        };
        CallEnd {
            outcome,
            status: record.status,
            attempts: record.attempts,
            duration: record.duration,
            hint: result.as_ref().err().and_then(|e| e.hint()),
            error: result.err().map(|e| crate::auth0::one_line(&e)),
        }
    }
}

/// The record of a run's calls: every call is opened (its intent written and synced) before
/// it is sent and closed with its outcome after. What the report says is derived from here.
#[derive(Debug)]
pub struct Ledger {
    log: Option<AuditLog>,
    next_call: u64,
    open: BTreeMap<u64, Call>,
    pub(super) done: Vec<(Call, CallEnd)>,
    pub(super) failure: Option<AuditError>,
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

    /// The shared ledger, locked (a panic elsewhere while holding it leaves it usable: every
    /// record in it is whole).
    pub fn lock(shared: &std::sync::Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
        shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The sha256 of the audit log's last line: the anchor `orgsync audit verify` prints.
    pub fn last_sha256(&self) -> Option<String> {
        self.log
            .as_ref()
            .and_then(|l| l.last_sha256().map(str::to_string))
    }

    /// The first audit failure of the run, if any.
    pub fn take_failure(&mut self) -> Option<AuditError> {
        self.failure.take()
    }

    /// Opens a call: writes and syncs its intent. None when it must not be sent.
    pub(super) fn intend(&mut self, info: &RunInfo, call: Call) -> Option<u64> {
        if self.failure.is_some() {
            return None;
        }
        let n = self.next_call;
        self.next_call += 1;
        if let Some(log) = self.log.as_mut()
            && let Err(e) = log.append_synced(&call.record(info, n, "intent"))
        {
            self.failure = Some(e);
            return None;
        }
        self.open.insert(n, call);
        Some(n)
    }

    /// Closes a call with its outcome. A call already closed (as unknown) stays as it is.
    pub(super) fn finish(&mut self, info: &RunInfo, n: u64, end: CallEnd) {
        let Some(call) = self.open.remove(&n) else {
            return;
        };
        if let Some(log) = self.log.as_mut() {
            let event = if call.restore.is_some() {
                "restore"
            } else {
                "delete"
            };
            let record = DeleteRecord {
                call: call.record(info, n, event),
                outcome: end.outcome,
                status: end.status,
                attempts: end.attempts,
                duration_ms: end.duration.as_millis().try_into().unwrap_or(u64::MAX),
                error: end.error.clone(),
            };
            if let Err(e) = log.append(&record) {
                self.failure.get_or_insert(e);
            }
        }
        self.done.push((call, end));
    }

    /// Closes every call still open as `unknown`: it was sent, and no answer was recorded.
    pub(super) fn close_open(&mut self, info: &RunInfo, why: &str) {
        let open: Vec<u64> = self.open.keys().copied().collect();
        for n in open {
            let end = CallEnd {
                outcome: Outcome::Unknown,
                status: None,
                attempts: 0,
                duration: Duration::ZERO,
                error: Some(why.to_string()),
                hint: None,
            };
            self.finish(info, n, end);
        }
    }

    /// Ends the account of a `run` or a `restore` that stopped sending: every call still open
    /// is closed as `unknown`, saying why it has no answer (`interrupted`, or an internal error).
    pub(super) fn close_stopped(&mut self, info: &RunInfo, what: &str, interrupted: bool) {
        let why = if interrupted {
            format!("the {what} was interrupted while this call was in flight; check the tenant")
        } else {
            format!(
                "an internal error stopped the {what} after this call was sent; check the tenant"
            )
        };
        self.close_open(info, &why);
    }

    /// Why work of a `run` or a `restore` was never sent: an interrupt, the audit log, or
    /// neither.
    pub(super) fn not_sent(&self, what: &str, interrupted: bool) -> String {
        if interrupted {
            format!("not sent: the {what} was interrupted")
        } else if self.failure.is_some() {
            "not sent: the audit log could not be written".into()
        } else {
            "not sent".into()
        }
    }

    /// The hints of the closed calls `pick` picks, each once, in the order the calls closed.
    pub(super) fn hints(&self, pick: impl Fn(&Call) -> bool) -> Vec<String> {
        let mut hints: Vec<String> = Vec::new();
        for (_, end) in self.done.iter().filter(|(c, _)| pick(c)) {
            if let Some(h) = &end.hint
                && !hints.contains(h)
            {
                hints.push(h.clone());
            }
        }
        hints
    }
}
/// One call through the ledger: its intent recorded (and synced) first, then sent by `go`,
/// then its outcome recorded. None when it must not be sent (interrupted, the audit log
/// failed); else how it ended: removed (restored, for a restore's call), gone (an invitation
/// that no longer exists needs no revoking), failed, or unknown (see [`CallEnd::of`]).
pub(super) async fn send<F, Fut>(
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
    let invitation = call.invitation.is_some();
    let done = if call.restore.is_some() {
        Outcome::Restored
    } else {
        Outcome::Removed
    };
    let n = Ledger::lock(ledger).intend(info, call)?;
    let (result, record) = go().await;
    let refused = if invitation && record.status == Some(404) {
        Outcome::Gone
    } else {
        Outcome::Failed
    };
    let end = CallEnd::of(result, &record, done, refused);
    let outcome = end.outcome;
    Ledger::lock(ledger).finish(info, n, end);
    Some(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{OrgWork, Report, outcome};

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
            roles: None,
            people: vec![],
            invitation: None,
            group_roles: None,
            restore: None,
        };
        let sent = ledger.intend(&info, call(&["a|1"])).unwrap();
        let answered = ledger.intend(&info, call(&["a|2"])).unwrap();
        let end = CallEnd {
            outcome: Outcome::Removed,
            status: Some(204),
            attempts: 1,
            duration: Duration::ZERO,
            error: None,
            hint: None,
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

    /// A call sent with no answer back may have been carried out: it is `unknown`, never
    /// `failed`; one refused before it went out, or answered with an error, is the caller's
    /// refusal outcome.
    #[test]
    fn a_call_sent_without_an_answer_ends_unknown_and_an_unsent_one_refused() {
        use crate::auth0::{CallRecord, CallSite, Error};
        let err = || {
            Err(Error::InvalidId {
                site: CallSite {
                    method: "DELETE",
                    path: "/p".into(),
                    organization: None,
                },
                detail: "bad".into(),
            })
        };
        let record = |status: Option<u16>, attempts: u32| CallRecord {
            status,
            attempts,
            duration: Duration::ZERO,
        };
        let of = |result, record: CallRecord| {
            CallEnd::of(result, &record, Outcome::Removed, Outcome::Gone).outcome
        };
        assert_eq!(of(Ok(()), record(Some(204), 1)), Outcome::Removed);
        assert_eq!(of(err(), record(None, 2)), Outcome::Unknown);
        assert_eq!(of(err(), record(None, 0)), Outcome::Gone);
        assert_eq!(of(err(), record(Some(500), 3)), Outcome::Gone);
        let end = CallEnd::of(err(), &record(None, 0), Outcome::Removed, Outcome::Failed);
        assert_eq!((end.status, end.attempts), (None, 0));
        assert!(
            end.error.is_some_and(|e| e.contains("bad")),
            "the error is kept"
        );
        assert!(end.hint.is_some(), "the error's hint is kept");
    }

    /// A stopped run or restore words its unknown calls, its unsent work and its hints from
    /// one place: the texts the audit log and the report carry.
    #[test]
    fn a_stopped_run_or_restore_says_why_and_gives_each_hint_once() {
        let info = RunInfo {
            run_id: "run-1".into(),
            domain: "d".into(),
            plan_sha256: "p".into(),
            client_id: None,
        };
        let call = |org: &str| Call {
            org_id: org.into(),
            org_name: org.into(),
            user_ids: vec!["a|1".into()],
            roles: None,
            people: vec![],
            invitation: None,
            group_roles: None,
            restore: None,
        };
        let end = |hint: &str| CallEnd {
            outcome: Outcome::Failed,
            status: Some(403),
            attempts: 1,
            duration: Duration::ZERO,
            error: None,
            hint: Some(hint.into()),
        };
        let mut ledger = Ledger::new(None);
        for (org, hint) in [
            ("org_a", "grant it"),
            ("org_b", "retry"),
            ("org_c", "grant it"),
        ] {
            let n = ledger.intend(&info, call(org)).unwrap();
            ledger.finish(&info, n, end(hint));
        }
        ledger.intend(&info, call("org_d")).unwrap();
        ledger.intend(&info, call("org_e")).unwrap();
        assert_eq!(ledger.hints(|_| true), ["grant it", "retry"]);
        assert_eq!(ledger.hints(|c| c.org_id == "org_b"), ["retry"]);
        assert_eq!(ledger.not_sent("run", false), "not sent");
        assert_eq!(
            ledger.not_sent("restore", true),
            "not sent: the restore was interrupted"
        );
        ledger.close_stopped(&info, "restore", true);
        let unknown: Vec<_> = ledger.done[3..]
            .iter()
            .map(|(c, e)| (c.org_id.as_str(), e.outcome, e.error.as_deref()))
            .collect();
        let why = "the restore was interrupted while this call was in flight; check the tenant";
        assert_eq!(
            unknown,
            [
                ("org_d", Outcome::Unknown, Some(why)),
                ("org_e", Outcome::Unknown, Some(why))
            ]
        );
        ledger.failure = Some(AuditError {
            path: "audit.jsonl".into(),
            source: std::io::Error::other("disk full"),
        });
        assert_eq!(
            ledger.not_sent("run", false),
            "not sent: the audit log could not be written"
        );
    }
}
