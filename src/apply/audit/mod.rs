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
//! whole lines only; tokens and secrets are never part of a record (each line is scrubbed by
//! `crate::secrets` before it is chained and written).
//!
//! **A chain.** Every line starts with `prev_sha256`: the sha256 (hex) of the previous line of
//! the file, its bytes without the newline; `null` on the first line of a file (a new log, or a
//! rotated one). Editing or deleting a line breaks the chain at the next one, which
//! `orgsync audit verify` names. A file replaced whole is not detected by the chain itself: the
//! sha256 of the last line ([`AuditLog::last_sha256`], printed by `audit verify` and in the
//! apply comment) anchors it outside the file.

pub mod report;
pub mod verify;

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

/// A removed member as the plan showed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Person {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
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
    /// Where the change came from: the config's commit, the CI run and its pull request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<&'a crate::provenance::Provenance>,
    /// The saved plan applied, by file name (its digest is `plan_sha256`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<&'a str>,
    /// The provenance of the saved plan's own `plan` run, as the plan carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_provenance: Option<&'a crate::provenance::Provenance>,
    /// A saved plan applied organization by organization, each one's calls starting when its
    /// re-read was final; the counts are then the saved plan's, what the run may at most send.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub streamed: bool,
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
    /// Each member's email and name as the plan read them, for the report an auditor reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<&'a [Person]>,
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
    /// With `--wait`: whether every removal was seen gone from the tenant in time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
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
    /// The sha256 of the last line of the file (hex), `None` while the file has none.
    last: Option<String>,
}

/// The longest line the chain reads back from an existing log (lines orgsync writes are a few
/// KiB at most).
const LONGEST_LINE: u64 = 1024 * 1024;

/// The sha256 (hex) of a line, without its newline: what the next line's `prev_sha256` holds.
pub fn line_sha256(line: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(line)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The last line of `file` (read from its end, at most [`LONGEST_LINE`] bytes back) and whether
/// the file ends with a newline. `None` for an empty file.
fn last_line(file: &mut File) -> std::io::Result<Option<(Vec<u8>, bool)>> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    let from = len.saturating_sub(LONGEST_LINE + 1);
    file.seek(SeekFrom::Start(from))?;
    let mut tail = Vec::new();
    Read::by_ref(file)
        .take(LONGEST_LINE + 1)
        .read_to_end(&mut tail)?;
    let ends_whole = tail.last() == Some(&b'\n');
    let body = if ends_whole {
        &tail[..tail.len() - 1]
    } else {
        &tail[..]
    };
    let start = match body.iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None if from == 0 => 0,
        None => {
            return Err(std::io::Error::other(format!(
                "its last line is longer than {} MiB",
                LONGEST_LINE >> 20
            )));
        }
    };
    Ok(Some((body[start..].to_vec(), ends_whole)))
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
            .read(true)
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
        let mut file = file;
        // The chain goes on from the file's last line; a device (`/dev/stderr`) has none.
        let (last, torn) = if regular {
            match last_line(&mut file).map_err(fail)? {
                Some((line, whole)) => (Some(line_sha256(&line)), !whole),
                None => (None, false),
            }
        } else {
            (None, false)
        };
        let mut log = AuditLog {
            file,
            path: path.to_path_buf(),
            last,
        };
        // A line torn by a crash is ended, so this run's lines stay whole; the torn one stays
        // for `audit verify` to name (it does not parse), and the chain goes on from it.
        if torn {
            log.file
                .write_all(b"\n")
                .and_then(|()| log.file.flush())
                .map_err(|e| log.error(e))?;
        }
        Ok(log)
    }

    /// Appends one record as a line, in one write, and flushes it to the OS. The line starts
    /// with `prev_sha256`, the previous line's sha256 (`null` for the file's first line).
    pub fn append<T: Serialize>(&mut self, record: &T) -> Result<(), AuditError> {
        let body = serde_json::to_vec(record).map_err(|e| self.error(std::io::Error::other(e)))?;
        // Secrets replaced before the line is chained and written (a record may carry a
        // server's text): the chain covers the bytes on disk.
        let body = crate::secrets::scrub_bytes(&body);
        let prev = match &self.last {
            Some(h) => format!("\"{h}\""),
            None => "null".to_string(),
        };
        let mut line = Vec::with_capacity(body.len() + 90);
        line.extend_from_slice(format!("{{\"prev_sha256\":{prev}").as_bytes());
        match body.as_ref() {
            // An empty object: just the chain.
            [b'{', b'}'] => line.push(b'}'),
            [b'{', rest @ ..] => {
                line.push(b',');
                line.extend_from_slice(rest);
            }
            _ => {
                return Err(self.error(std::io::Error::other(
                    "an audit record must be a JSON object",
                )));
            }
        }
        let sha = line_sha256(&line);
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .map_err(|e| self.error(e))?;
        self.last = Some(sha);
        Ok(())
    }

    /// The sha256 of the log's last line (hex): the anchor of the chain, to keep outside the
    /// file (a CI artifact, the apply comment). `None` while the log has no line.
    pub fn last_sha256(&self) -> Option<&str> {
        self.last.as_deref()
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
                members: None,
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
