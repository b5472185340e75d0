//! `orgsync audit verify LOG` and `orgsync audit report LOG`.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;

use crate::apply::audit::report::{self, Filter};
use crate::apply::audit::verify::{Verdict, verify};
use crate::cli::{AuditCommand, ReportFormat};
use crate::error::{Exit, Failure};

/// `orgsync audit …`.
pub fn run(command: &AuditCommand) -> Result<Exit, Failure> {
    match command {
        AuditCommand::Verify { log } => run_verify(log),
        AuditCommand::Report {
            log,
            runs,
            since,
            format,
        } => run_report(
            log,
            &Filter {
                runs: runs.clone(),
                since: since.clone(),
            },
            *format,
        ),
    }
}

/// The log, opened for a streaming read.
fn open(log: &Path) -> Result<BufReader<File>, Failure> {
    File::open(log).map(BufReader::new).map_err(|e| Failure {
        error: format!("cannot read the audit log `{}`: {e}", log.display()).into(),
        hint: None,
    })
}

fn run_verify(log: &Path) -> Result<Exit, Failure> {
    let v = verify(open(log)?);
    let shown = log.display();
    match &v.failure {
        None => {
            let mut out = crate::secrets::stdout();
            writeln!(
                out,
                "audit log `{shown}`: {}, {}; the chain holds, every line parses, every intent has its outcome and every run its summary.",
                crate::text::plural(v.lines, "line", "lines"),
                crate::text::plural(v.runs, "run", "runs")
            )?;
            if let Some(last) = &v.last_sha256 {
                writeln!(
                    out,
                    "last line sha256: {last} (keep it outside the log: a log replaced whole would not show it)"
                )?;
            }
            out.flush()?;
            Ok(Exit::Success)
        }
        Some(f) => Err(Failure {
            error: format!("audit log `{shown}`: line {}: {}", f.line, f.message).into(),
            hint: Some(hint(&v)),
        }),
    }
}

/// What to do about a log that does not verify.
fn hint(v: &Verdict) -> String {
    format!(
        "compare the log with its last copy kept elsewhere (a CI artifact, the apply comment's last-line sha256); lines before line {} still chain from the start of the file",
        v.failure.as_ref().map_or(0, |f| f.line)
    )
}

fn run_report(log: &Path, filter: &Filter, format: ReportFormat) -> Result<Exit, Failure> {
    let verdict = verify(open(log)?);
    let r = report::build(open(log)?, &log.display().to_string(), &verdict, filter);
    let mut out = crate::secrets::stdout();
    match format {
        ReportFormat::Markdown => report::markdown(&r, &mut out)?,
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &r).map_err(std::io::Error::other)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(Exit::Success)
}
