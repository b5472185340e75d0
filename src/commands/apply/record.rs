//! The audit log's `start` and `summary` lines of an apply run.

use std::path::Path;
use std::sync::Mutex;

use crate::apply::audit::{self, Head, SummaryRecord};
use crate::apply::{self, Ledger, RunInfo};
use crate::auth0::Client;
use crate::cli::ApplyArgs;
use crate::error::Failure;
use crate::plan::Plan;

/// What a run may send, as its audit `start` line says.
#[derive(Debug, Clone, Copy)]
pub(super) struct Counts {
    pub organizations: usize,
    pub removals: usize,
    pub invitations: usize,
}

/// The audit log's `start` line, written (and synced) before the first call is sent. A
/// streamed apply's counts are the saved plan's (what it may at most send).
pub(super) fn write_start(
    ledger: &Mutex<Ledger>,
    info: &RunInfo,
    config_path: &Path,
    args: &ApplyArgs,
    saved: Option<&Plan>,
    counts: Counts,
    streamed: bool,
) -> Result<(), Failure> {
    let provenance = crate::provenance::Provenance::gather(config_path);
    let plan_file = args
        .plan
        .as_deref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    let start = audit::StartRecord {
        head: Head::now(&info.run_id, "start", &info.domain),
        plan_sha256: &info.plan_sha256,
        client_id: info.client_id.as_deref(),
        orgsync_version: env!("CARGO_PKG_VERSION"),
        organizations: counts.organizations,
        removals: counts.removals,
        invitations: counts.invitations,
        provenance: provenance.as_ref(),
        plan_file: plan_file.as_deref(),
        plan_provenance: saved.and_then(|p| p.provenance.as_ref()),
        streamed,
    };
    super::super::write_start(ledger, &start)
}

/// The audit log's last line for a run: what it removed, or why it stopped before removing
/// anything (`plan_sha256` is None when it had no plan yet).
pub(super) fn write_summary(
    ledger: &Mutex<Ledger>,
    info: &RunInfo,
    plan_sha256: Option<&str>,
    client: &Client,
    outcome: Result<&apply::Report, &Failure>,
) -> Result<(), Failure> {
    let nothing = apply::Report::default();
    let (report, error) = match outcome {
        Ok(report) => (report, None),
        Err(failure) => (&nothing, Some(failure.error.to_string())),
    };
    Ledger::lock(ledger).write(&SummaryRecord {
        head: Head::now(&info.run_id, "summary", &info.domain),
        plan_sha256,
        client_id: info.client_id.as_deref(),
        removed: report.removed(),
        not_removed: report.not_removed(),
        unknown: report.unknown(),
        already_gone: report.already_gone(),
        skipped: report.skipped(),
        revoked: report.revoked(),
        not_revoked: report.not_revoked(),
        blocked_organizations: report.blocked(),
        delete_calls: report.calls(),
        failed_calls: report.failed_calls(),
        requests: client.requests_sent(),
        retries: client.retries(),
        interrupted: report.interrupted,
        visible: report
            .organizations
            .iter()
            .filter_map(|o| o.converged)
            .reduce(|a, b| a && b),
        success: error.is_none() && report.success(),
        error,
    })?;
    Ok(())
}
