//! The audit log: one JSON line per DELETE call, written and flushed as each call completes,
//! then one summary line. An auditor can match it call by call against Auth0's own logs.
//!
//! Each line goes out in a single `write` on a file opened for appending, so a crash between
//! calls leaves whole lines only; tokens and secrets are never part of a record.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

/// One DELETE call.
#[derive(Debug, Clone, Serialize)]
pub struct DeleteRecord<'a> {
    pub time: String,
    pub event: &'static str,
    pub domain: &'a str,
    pub organization_id: &'a str,
    pub organization_name: &'a str,
    pub user_ids: &'a [String],
    /// The final HTTP status, or null when no answer came.
    pub status: Option<u16>,
    pub attempts: u32,
    pub duration_ms: u64,
    pub plan_sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    /// Why the call failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The last line of a run.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRecord<'a> {
    pub time: String,
    pub event: &'static str,
    pub domain: &'a str,
    /// The plan's digest; null for a run that failed before it had a plan.
    pub plan_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    pub removed: usize,
    pub not_removed: usize,
    pub already_gone: usize,
    pub blocked_organizations: usize,
    pub delete_calls: usize,
    pub failed_calls: usize,
    /// Every request of the run: reads, DELETEs and the token request.
    pub requests: u64,
    /// Of those, requests sent again after a 429, a 5xx or a lost connection.
    pub retries: u64,
    pub success: bool,
    /// Why the run stopped before removing anything, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An open audit log.
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
    /// Opens (creating if needed) a log for appending.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| AuditError {
                path: path.display().to_string(),
                source,
            })?;
        Ok(AuditLog {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends one record as a line, in one write, and flushes it to the OS.
    pub fn append<T: Serialize>(&mut self, record: &T) -> Result<(), AuditError> {
        let mut line = serde_json::to_vec(record).map_err(|e| AuditError {
            path: self.path.display().to_string(),
            source: std::io::Error::other(e),
        })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .map_err(|source| AuditError {
                path: self.path.display().to_string(),
                source,
            })
    }
}

/// The current time as audit records write it.
pub fn now() -> String {
    crate::timefmt::rfc3339_millis(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_whole_lines() {
        let dir = std::env::temp_dir().join(format!("orgsync-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        let _ = std::fs::remove_file(&path);
        let ids = vec!["auth0|1".to_string()];
        for _ in 0..2 {
            let mut log = AuditLog::open(&path).unwrap();
            log.append(&DeleteRecord {
                time: now(),
                event: "delete",
                domain: "d",
                organization_id: "org_1",
                organization_name: "acme",
                user_ids: &ids,
                status: Some(204),
                attempts: 1,
                duration_ms: 3,
                plan_sha256: "abc",
                client_id: None,
                error: None,
            })
            .unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "reopening appends");
        for l in lines {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["user_ids"][0], "auth0|1");
            assert!(v.get("client_id").is_none());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
