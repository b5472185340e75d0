//! `orgsync audit verify`: checks a log line by line, as it streams (memory holds the runs not
//! yet closed, never the file):
//!
//! - every line is a JSON object with a `run_id` and an `event`;
//! - the chain: the first line's `prev_sha256` is `null`, every other line's is the sha256 of
//!   the line before it, so an edited, inserted or deleted line breaks it at the next one;
//! - every `intent` has its outcome (a later line of the same run and `call`), or its run's
//!   `summary` counts it as `unknown` (or the run was interrupted);
//! - every run ends with a `summary`.
//!
//! The first line that fails is named. What the chain does not prove: a file replaced whole by
//! another well-formed chain, or lines cut off its end with the rest intact. The sha256 of the
//! last line, kept outside the file (the CI artifact, the apply comment), anchors it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;

use serde_json::Value;

use super::line_sha256;

/// The longest line read; a longer one fails the check.
pub const LONGEST_LINE: usize = 1024 * 1024;

/// What checking a log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Lines read (up to the first failure, when there is one).
    pub lines: usize,
    /// Runs seen.
    pub runs: usize,
    /// The sha256 of the last line read: the anchor to keep outside the log.
    pub last_sha256: Option<String>,
    /// The first line that fails, and why.
    pub failure: Option<Failure>,
}

/// A line that fails the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

impl Verdict {
    /// Whether the log passed.
    pub fn holds(&self) -> bool {
        self.failure.is_none()
    }
}

/// A run still open while the log is read.
#[derive(Default)]
struct OpenRun {
    first_line: usize,
    /// Calls with an intent and no outcome yet, by number, with their line.
    pending: BTreeMap<u64, usize>,
}

/// Checks the log read from `input`.
pub fn verify(mut input: impl BufRead) -> Verdict {
    let mut v = Verdict {
        lines: 0,
        runs: 0,
        last_sha256: None,
        failure: None,
    };
    let mut open: BTreeMap<String, OpenRun> = BTreeMap::new();
    let mut seen_runs: BTreeSet<String> = BTreeSet::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read =
            std::io::Read::take(&mut input, LONGEST_LINE as u64 + 1).read_until(b'\n', &mut buf);
        let n = v.lines + 1;
        let fail = |v: &mut Verdict, message: String| {
            v.failure = Some(Failure { line: n, message });
        };
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                fail(&mut v, format!("cannot be read: {e}"));
                return v;
            }
        }
        let line = match buf.strip_suffix(b"\n") {
            Some(l) => l,
            None if buf.len() > LONGEST_LINE => {
                fail(&mut v, format!("is longer than {} MiB", LONGEST_LINE >> 20));
                return v;
            }
            None => {
                fail(
                    &mut v,
                    "is cut off (no newline at its end): a write was interrupted, or the file was cut".into(),
                );
                return v;
            }
        };
        v.lines = n;
        let record: Value = match serde_json::from_slice(line) {
            Ok(Value::Object(o)) => Value::Object(o),
            Ok(_) => {
                fail(&mut v, "is not a JSON object".into());
                return v;
            }
            Err(e) => {
                fail(&mut v, format!("does not parse: {e}"));
                return v;
            }
        };
        // The chain.
        match (record.get("prev_sha256"), &v.last_sha256) {
            (Some(Value::Null), None) => {}
            (Some(Value::String(prev)), Some(last)) if prev == last => {}
            (Some(Value::Null), Some(_)) => {
                fail(
                    &mut v,
                    "starts a new chain (`prev_sha256: null`) in the middle of the file: lines before it were replaced, or another log was appended".into(),
                );
                return v;
            }
            (Some(Value::String(_)), None) => {
                fail(
                    &mut v,
                    "is the first line but names a previous one: the lines before it are gone"
                        .into(),
                );
                return v;
            }
            (Some(_), _) => {
                fail(
                    &mut v,
                    format!(
                        "breaks the chain: its prev_sha256 is not the sha256 of line {} (a line was edited, inserted or deleted)",
                        n - 1
                    ),
                );
                return v;
            }
            (None, _) => {
                fail(
                    &mut v,
                    "has no prev_sha256: it is not part of a chain (written by an orgsync before 0.2, or by hand)".into(),
                );
                return v;
            }
        }
        v.last_sha256 = Some(line_sha256(line));
        let (Some(run), Some(event)) = (
            record.get("run_id").and_then(Value::as_str),
            record.get("event").and_then(Value::as_str),
        ) else {
            fail(&mut v, "has no `run_id` or no `event`".into());
            return v;
        };
        if seen_runs.insert(run.to_string()) {
            v.runs += 1;
            open.insert(
                run.to_string(),
                OpenRun {
                    first_line: n,
                    ..OpenRun::default()
                },
            );
        }
        let Some(state) = open.get_mut(run) else {
            fail(&mut v, format!("continues run {run} after its summary"));
            return v;
        };
        let call = record.get("call").and_then(Value::as_u64);
        match (event, call) {
            ("intent", Some(c)) => {
                if state.pending.insert(c, n).is_some() {
                    fail(&mut v, format!("repeats the intent of call {c}"));
                    return v;
                }
            }
            ("intent", None) => {
                fail(&mut v, "is an intent without a `call` number".into());
                return v;
            }
            ("summary", _) => {
                let unknown = record.get("unknown").and_then(Value::as_u64).unwrap_or(0)
                    + record
                        .get("not_revoked")
                        .and_then(Value::as_u64)
                        .unwrap_or(0);
                let interrupted = record.get("interrupted") == Some(&Value::Bool(true));
                let pending = state.pending.len() as u64;
                if pending > 0 && !interrupted && pending > unknown {
                    let (c, at) = state
                        .pending
                        .iter()
                        .next()
                        .map_or((0, 0), |(c, l)| (*c, *l));
                    fail(
                        &mut v,
                        format!(
                            "ends run {run} while the intent of call {c} (line {at}) has no outcome, and the summary counts no unknown outcome for it"
                        ),
                    );
                    return v;
                }
                open.remove(run);
            }
            (_, Some(c)) => {
                if state.pending.remove(&c).is_none() {
                    fail(
                        &mut v,
                        format!("is an outcome of call {c}, which has no intent before it"),
                    );
                    return v;
                }
            }
            (_, None) => {}
        }
    }
    if let Some((run, state)) = open.iter().min_by_key(|(_, s)| s.first_line) {
        v.failure = Some(Failure {
            line: state.first_line,
            message: format!(
                "starts run {run}, which has no summary (the run was killed, or its last lines are gone)"
            ),
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::{AuditLog, Head, SummaryRecord};
    use super::*;

    fn summary<'a>(run: &'a str, unknown: usize) -> SummaryRecord<'a> {
        SummaryRecord {
            head: Head::now(run, "summary", "d"),
            plan_sha256: None,
            client_id: None,
            removed: 0,
            not_removed: 0,
            unknown,
            already_gone: 0,
            skipped: 0,
            revoked: 0,
            not_revoked: 0,
            blocked_organizations: 0,
            delete_calls: 0,
            failed_calls: 0,
            requests: 0,
            retries: 0,
            interrupted: false,
            visible: None,
            success: true,
            error: None,
        }
    }

    fn intent(run: &str, call: u64) -> serde_json::Value {
        serde_json::json!({"run_id": run, "time": "t", "event": "intent", "domain": "d", "call": call})
    }

    fn outcome(run: &str, call: u64) -> serde_json::Value {
        serde_json::json!({"run_id": run, "time": "t", "event": "delete", "domain": "d", "call": call, "outcome": "removed"})
    }

    /// A log written through [`AuditLog`], in a fresh temporary file.
    fn log_of(tag: &str, write: impl FnOnce(&mut AuditLog)) -> Vec<u8> {
        // Tests run in parallel, some writing the same log: each call gets its own directory.
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("orgsync-verify-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        let _ = std::fs::remove_file(&path);
        let mut log = AuditLog::open(&path).unwrap();
        write(&mut log);
        drop(log);
        let bytes = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        bytes
    }

    fn good() -> Vec<u8> {
        log_of("good", |log| {
            log.append(&intent("r1", 1)).unwrap();
            log.append(&outcome("r1", 1)).unwrap();
            log.append(&summary("r1", 0)).unwrap();
            log.append(&intent("r2", 1)).unwrap();
            log.append(&summary("r2", 1)).unwrap();
        })
    }

    #[test]
    fn a_written_log_holds_and_its_anchor_is_the_last_line() {
        let bytes = good();
        let v = verify(&bytes[..]);
        assert!(v.holds(), "{v:?}");
        assert_eq!((v.lines, v.runs), (5, 2));
        let last = bytes[..bytes.len() - 1]
            .rsplit(|&b| b == b'\n')
            .next()
            .unwrap();
        assert_eq!(v.last_sha256, Some(line_sha256(last)));
    }

    #[test]
    fn one_changed_byte_is_named_at_the_line_after_it() {
        let mut bytes = good();
        // Line 2's outcome "removed" becomes "removes".
        let at = bytes.windows(7).position(|w| w == b"removed").unwrap();
        bytes[at + 6] = b's';
        let v = verify(&bytes[..]);
        let f = v.failure.unwrap();
        assert_eq!(f.line, 3, "{}", f.message);
        assert!(f.message.contains("breaks the chain"), "{}", f.message);
    }

    #[test]
    fn a_deleted_line_and_a_missing_summary_are_named() {
        let bytes = good();
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        let without_second: Vec<u8> = [lines[0], lines[2], lines[3], lines[4]].concat();
        assert_eq!(verify(&without_second[..]).failure.unwrap().line, 2);
        let without_last: Vec<u8> = lines[..4].concat();
        let f = verify(&without_last[..]).failure.unwrap();
        assert_eq!(f.line, 4, "{}", f.message);
        assert!(f.message.contains("no summary"), "{}", f.message);
    }

    #[test]
    fn an_intent_without_outcome_needs_the_summary_to_count_it_unknown() {
        let bytes = log_of("pending", |log| {
            log.append(&intent("r1", 1)).unwrap();
            log.append(&summary("r1", 0)).unwrap();
        });
        let f = verify(&bytes[..]).failure.unwrap();
        assert_eq!(f.line, 2);
        assert!(
            f.message.contains("call 1 (line 1) has no outcome"),
            "{}",
            f.message
        );
    }

    #[test]
    fn a_torn_last_line_and_garbage_are_named() {
        let mut bytes = good();
        bytes.extend_from_slice(b"{\"prev_sha256\":");
        let f = verify(&bytes[..]).failure.unwrap();
        assert_eq!(f.line, 6);
        assert!(f.message.contains("cut off"), "{}", f.message);
        let f = verify(&b"not json\n"[..]).failure.unwrap();
        assert_eq!(f.line, 1);
        assert!(f.message.contains("does not parse"), "{}", f.message);
    }

    #[test]
    fn reopening_a_log_goes_on_with_its_chain_and_mends_a_torn_line_visibly() {
        let dir =
            std::env::temp_dir().join(format!("orgsync-verify-reopen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        let _ = std::fs::remove_file(&path);
        for run in ["r1", "r2"] {
            let mut log = AuditLog::open(&path).unwrap();
            log.append(&summary(run, 0)).unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(verify(&bytes[..]).holds());
        // A crash tore a line; the next run still writes whole lines, and verify names the
        // torn one.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"torn"))
            .unwrap();
        let mut log = AuditLog::open(&path).unwrap();
        log.append(&summary("r3", 0)).unwrap();
        drop(log);
        let bytes = std::fs::read(&path).unwrap();
        let f = verify(&bytes[..]).failure.unwrap();
        assert_eq!(f.line, 3, "{}", f.message);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
