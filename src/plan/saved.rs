//! Saved plans: written by `plan --out`, read back by `apply PLAN.json`.
//!
//! Reading checks the format version and the plan's own digest. The digest only detects
//! accidental edits (anyone who edits a plan can recompute it): what keeps a saved plan from
//! removing more than was reviewed is `apply::narrow`, which removes only what a fresh plan from
//! the same config also removes.

use std::path::Path;

use crate::error::Failure;
use crate::plan::{self, Plan};

/// Writes the JSON plan to a file, whole or not at all, never through an existing file.
pub fn write_plan_file(path: &Path, plan: &Plan) -> Result<(), Failure> {
    let mut bytes = Vec::new();
    plan::write_json(plan, &mut bytes)?;
    if crate::secrets::scrub_bytes(&bytes) != bytes.as_slice() {
        // Written scrubbed (as every file is), so its digest no longer matches its content.
        crate::secrets::errln!(
            "warning: the plan holds a secret of this run (a server sent it back); `{}` is written with it replaced by [redacted], so `apply` will refuse that file",
            crate::text::clean(&path.display().to_string())
        );
    }
    crate::files::write_atomically(path, &bytes).map_err(|e| cannot_write("the plan to ", path, e))
}

/// A file orgsync could not write: which file (never the temporary file beside it), why in
/// words when the directory is the problem, and the I/O error itself as the cause, so
/// `caused by:` prints it whatever the reason.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {what}`{path}`{}", why.as_deref().map(|w| format!(": {w}")).unwrap_or_default())]
pub struct WriteError {
    /// What was written: "the plan to ", "".
    pub what: String,
    /// The path, made safe for a terminal.
    pub path: String,
    /// The directory's problem, when that is what failed.
    pub why: Option<String>,
    #[source]
    pub source: std::io::Error,
}

/// A failed write of `path`, naming the file and, when that is the problem, its directory.
pub fn cannot_write(what: &str, path: &Path, e: std::io::Error) -> Failure {
    let shown = crate::text::clean(&path.display().to_string());
    let dir = match path.parent() {
        Some(d) if d.as_os_str().is_empty() => Path::new("."),
        Some(d) => d,
        None => Path::new("."),
    };
    let dir_shown = crate::text::clean(&dir.display().to_string());
    let (why, hint) = if !dir.exists() {
        (
            Some(format!("its directory `{dir_shown}` does not exist")),
            Some("create the directory first, or write to a path in an existing one".to_string()),
        )
    } else if !dir.is_dir() {
        (Some(format!("`{dir_shown}` is not a directory")), None)
    } else if e.kind() == std::io::ErrorKind::PermissionDenied {
        (
            Some(format!("permission denied in its directory `{dir_shown}`")),
            Some("write to a directory you can write to".to_string()),
        )
    } else {
        (None, None)
    };
    Failure {
        error: Box::new(WriteError {
            what: what.to_string(),
            path: shown,
            why,
            source: e,
        }),
        hint,
    }
}

/// Whether a file that is not JSON is an orgsync config: named `.yaml`/`.yml`, or YAML with a
/// `version:` or `organizations:` key.
fn looks_like_config(path: &Path, bytes: &[u8]) -> bool {
    let named = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let text = String::from_utf8_lossy(bytes);
    named
        || text
            .lines()
            .any(|l| l.starts_with("version:") || l.starts_with("organizations:"))
}

/// Reads and checks a saved plan: the format version and its own digest.
pub fn read_saved_plan(path: &Path) -> Result<Plan, Failure> {
    let fail = |msg: String, hint: Option<&str>| Failure {
        error: msg.into(),
        hint: hint.map(str::to_string),
    };
    // Counted on the stream: `apply <(…)` reads a pipe, whose metadata says 0 bytes.
    let bytes = crate::bounded::read_file(path, crate::bounded::FILE_BYTES).map_err(|e| match e {
        crate::bounded::ReadError::TooLarge { cap, .. } => fail(
            format!(
                "the plan `{}` is larger than {}: nothing was applied",
                path.display(),
                crate::bounded::human(cap)
            ),
            Some("a saved plan is written by `orgsync plan --out PLAN.json`; check that PLAN is one"),
        ),
        crate::bounded::ReadError::Io { source, .. } => fail(
            format!("cannot read the plan `{}`: {source}", path.display()),
            None,
        ),
    })?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        let hint = if looks_like_config(path, &bytes) {
            format!(
                "`{}` looks like a config: pass it with `-c {0}` (`orgsync apply -c {0}`), and a saved plan (from `orgsync plan --out PLAN.json`) as the argument",
                path.display()
            )
        } else {
            "write plans with `orgsync plan --out PLAN.json`".to_string()
        };
        fail(
            format!("`{}` is not a JSON plan: {e}", path.display()),
            Some(&hint),
        )
    })?;
    match value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(plan::FORMAT_VERSION) => {}
        Some(v) => {
            return Err(fail(
                format!(
                    "the plan `{}` has format_version {v}; this orgsync reads format_version {}",
                    path.display(),
                    plan::FORMAT_VERSION
                ),
                Some("make the plan with the same orgsync version that applies it"),
            ));
        }
        None => {
            return Err(fail(
                format!(
                    "`{}` has no format_version: not an orgsync plan",
                    path.display()
                ),
                None,
            ));
        }
    }
    let parsed: Plan = serde_json::from_value(value).map_err(|e| {
        fail(
            format!("`{}` is not a valid orgsync plan: {e}", path.display()),
            None,
        )
    })?;
    if !parsed.digest_matches() {
        return Err(fail(
            format!(
                "the plan `{}` was edited after it was made: its plan_sha256 does not match its content",
                path.display()
            ),
            Some(
                "apply only plans exactly as `orgsync plan --out` wrote them; make a new plan and review it",
            ),
        ));
    }
    Ok(parsed)
}
