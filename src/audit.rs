//! The audit log: a write-ahead record of every removal, as JSON lines.
//!
//! A run writes, in order: a `start` line before its first DELETE; for each DELETE an `intent`
//! line before the call is sent and its outcome line (`event: "delete"`, `outcome` removed,
//! failed or unknown) after it; a `summary` line last, also after an interrupt. `start` and
//! `intent` lines are synced to disk before anything is sent, so no DELETE can reach Auth0
//! without a record of it: if a line cannot be written, the call is not sent. Every line
//! carries the run's `run_id`, so concurrent or successive runs on one log stay apart, and the
//! log is locked for the run (a second apply on the same log is refused).
//!
//! `orgsync restore` writes to the same log through the same ledger: its `start` and
//! `summary` lines carry `command: "restore"` and `restores_run`, each `POST` an `intent` line
//! (with its `action`) before it is sent and a `restore` line with its outcome after.
//!
//! Each line goes out in a single `write` on a file opened for appending, so a crash leaves
//! whole lines only; tokens and secrets are never part of a record.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

/// What a DELETE call came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Auth0 answered 2xx: the members are removed.
    Removed,
    /// Auth0 refused it, or it never reached Auth0: the members were not removed.
    Failed,
    /// The call may or may not have been carried out (interrupted, lost, or an internal error
    /// after it was sent): check the tenant.
    Unknown,
    /// An invitation to revoke no longer existed (404: accepted, revoked or expired away).
    Gone,
    /// A restore call (`POST`) was answered 2xx: the members are back, or the roles assigned.
    Restored,
}

/// A member's roles, recorded before the removal (Auth0 does not keep them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRoles {
    pub user_id: String,
    pub roles: Vec<crate::member::Role>,
}

/// What every line of a run starts with.
#[derive(Debug, Clone, Serialize)]
pub struct Head<'a> {
    pub run_id: &'a str,
    pub time: String,
    pub event: &'static str,
    pub domain: &'a str,
}

impl<'a> Head<'a> {
    /// A line of `event` now, for the run `run_id` on `domain`.
    pub fn now(run_id: &'a str, event: &'static str, domain: &'a str) -> Head<'a> {
        Head {
            run_id,
            time: now(),
            event,
            domain,
        }
    }
}

/// The first line of a run that removes anything, written before its first DELETE.
#[derive(Debug, Clone, Serialize)]
pub struct StartRecord<'a> {
    #[serde(flatten)]
    pub head: Head<'a>,
    pub plan_sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    pub orgsync_version: &'static str,
    /// Organizations with removals to send, and the removals.
    pub organizations: usize,
    pub removals: usize,
    /// Invitations to revoke.
    pub invitations: usize,
}

/// A DELETE about to be sent.
#[derive(Debug, Clone, Serialize)]
pub struct IntentRecord<'a> {
    #[serde(flatten)]
    pub head: Head<'a>,
    /// The call's number in the run; its outcome line has the same.
    pub call: u64,
    pub organization_id: &'a str,
    pub organization_name: &'a str,
    /// Members removed by the call (`DELETE …/members`); empty for an invitation.
    pub user_ids: &'a [String],
    /// Each member's roles, when the plan read them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<&'a [MemberRoles]>,
    /// Group-sourced roles of each member, kept apart (read from the member's effective roles
    /// when the token may): restore does not assign them, they come back with the group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_roles: Option<&'a [MemberRoles]>,
    /// A restore call: `add_members` (`POST …/members`) or `assign_roles` (`POST
    /// …/members/{user_id}/roles`); absent for a DELETE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    /// The run a restore call undoes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restores_run: Option<&'a str>,
    /// The role ids an `assign_roles` call assigns (to the one member in `user_ids`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_ids: Option<&'a [String]>,
    /// The invitation revoked by the call (`DELETE …/invitations/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitee_email: Option<&'a str>,
    pub plan_sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
}

/// One DELETE call's outcome: the call as its intent named it (with `event: "delete"`), and
/// what came of it.
#[derive(Debug, Clone, Serialize)]
pub struct DeleteRecord<'a> {
    #[serde(flatten)]
    pub call: IntentRecord<'a>,
    pub outcome: Outcome,
    /// The final HTTP status, or null when no answer came.
    pub status: Option<u16>,
    pub attempts: u32,
    pub duration_ms: u64,
    /// Why the call failed or its outcome is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The last line of a run.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRecord<'a> {
    #[serde(flatten)]
    pub head: Head<'a>,
    /// The plan's digest; null for a run that failed before it had a plan.
    pub plan_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    pub removed: usize,
    pub not_removed: usize,
    /// Members whose DELETE may or may not have been carried out.
    pub unknown: usize,
    pub already_gone: usize,
    /// Members a saved plan lists that the fresh plan does not remove.
    pub skipped: usize,
    /// Invitations revoked, and not revoked (failed or unknown).
    pub revoked: usize,
    pub not_revoked: usize,
    pub blocked_organizations: usize,
    pub delete_calls: usize,
    pub failed_calls: usize,
    /// Every request of the run: reads, DELETEs and the token request.
    pub requests: u64,
    /// Of those, requests sent again after a 429, a 5xx or a lost connection.
    pub retries: u64,
    /// SIGINT or SIGTERM stopped the run.
    pub interrupted: bool,
    pub success: bool,
    /// Why the run stopped before removing anything, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An open, locked audit log.
#[derive(Debug)]
pub struct AuditLog {
    file: File,
    path: PathBuf,
}

/// The audit log could not be opened or written: apply stops rather than act unrecorded.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the audit log `{path}`")]
pub struct AuditError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

impl AuditLog {
    /// Opens (creating if needed) a log for appending, and locks it for this run.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        let fail = |source| AuditError {
            path: path.display().to_string(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(fail)?;
        // A regular file is locked for the run; a device (`/dev/stderr`) cannot be shared anyway.
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(true);
        match if regular { file.try_lock() } else { Ok(()) } {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(fail(std::io::Error::other(
                    "another orgsync run is writing to it; wait for that run to end, or use another --audit-log",
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(fail(e)),
        }
        Ok(AuditLog {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends one record as a line, in one write, and flushes it to the OS.
    pub fn append<T: Serialize>(&mut self, record: &T) -> Result<(), AuditError> {
        let mut line =
            serde_json::to_vec(record).map_err(|e| self.error(std::io::Error::other(e)))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .map_err(|e| self.error(e))
    }

    /// Appends one record and syncs it to disk: for lines that must exist before a call is sent.
    pub fn append_synced<T: Serialize>(&mut self, record: &T) -> Result<(), AuditError> {
        self.append(record)?;
        match self.file.sync_data() {
            Ok(()) => Ok(()),
            // Character devices and some pipes cannot sync; what was written stands.
            Err(e) if e.raw_os_error() == Some(22) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    fn error(&self, source: std::io::Error) -> AuditError {
        AuditError {
            path: self.path.display().to_string(),
            source,
        }
    }
}

/// The current time as audit records write it.
pub fn now() -> String {
    crate::timefmt::rfc3339_millis(SystemTime::now())
}

/// A fresh run id: 128 random bits in hex, from the standard library's random hasher keys,
/// the time and the process id.
pub fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let part = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u32(std::process::id());
        h.write_u128(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        h.finish()
    };
    format!("{:016x}{:016x}", part(1), part(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delete<'a>(run_id: &'a str, ids: &'a [String]) -> DeleteRecord<'a> {
        DeleteRecord {
            call: IntentRecord {
                head: Head::now(run_id, "delete", "d"),
                call: 1,
                organization_id: "org_1",
                organization_name: "acme",
                user_ids: ids,
                roles: None,
                group_roles: None,
                action: None,
                restores_run: None,
                role_ids: None,
                invitation_id: None,
                invitee_email: None,
                plan_sha256: "abc",
                client_id: None,
            },
            outcome: Outcome::Removed,
            status: Some(204),
            attempts: 1,
            duration_ms: 3,
            error: None,
        }
    }

    #[test]
    fn appends_whole_lines_and_locks_the_log_for_the_run() {
        let dir = std::env::temp_dir().join(format!("orgsync-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        let _ = std::fs::remove_file(&path);
        let ids = vec!["auth0|1".to_string()];
        let runs = [new_run_id(), new_run_id()];
        assert_ne!(runs[0], runs[1]);
        for run in &runs {
            let mut log = AuditLog::open(&path).unwrap();
            let second = AuditLog::open(&path).unwrap_err();
            assert!(
                second.source.to_string().contains("another orgsync run"),
                "{second}"
            );
            log.append_synced(&delete(run, &ids)).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "reopening appends");
        for (l, run) in lines.iter().zip(&runs) {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["user_ids"][0], "auth0|1");
            assert_eq!(v["run_id"], run.as_str());
            assert_eq!(v["outcome"], "removed");
            assert!(v.get("client_id").is_none());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_is_an_error() {
        let mut log = AuditLog::open(Path::new("/dev/full")).unwrap();
        let ids = vec!["auth0|1".to_string()];
        assert!(log.append_synced(&delete("r", &ids)).is_err());
    }
}
