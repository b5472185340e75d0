//! After the calls: `--wait`, the audit summary, the report, `--comment`, and the exit code.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::super::Connection;
use super::record::write_summary;
use crate::apply::{self, Interrupt, Ledger, RunInfo};
use crate::cli::ApplyArgs;
use crate::error::{Exit, Failure};
use crate::render;

/// After the calls: `--wait`, the audit summary, the report, `--comment`, and the exit code.
pub(super) async fn finish(
    args: &ApplyArgs,
    conn: &Connection,
    config_path: &Path,
    info: &Arc<RunInfo>,
    ledger: &Arc<Mutex<Ledger>>,
    interrupt: &Arc<Interrupt>,
    mut report: apply::Report,
) -> Result<Exit, Failure> {
    if let Some(secs) = args.wait.filter(|_| !report.interrupted) {
        apply::wait_for_convergence(
            &conn.client,
            &mut report,
            Duration::from_secs(secs),
            Duration::from_millis(500),
            interrupt,
        )
        .await;
    }
    report.interrupted |= interrupt.is_set();
    let audit_error = Ledger::lock(ledger).take_failure();
    let summarized = write_summary(
        ledger,
        info,
        Some(&info.plan_sha256),
        &conn.client,
        Ok(&report),
    );
    let mut stdout = crate::secrets::stdout();
    writeln!(stdout)?;
    apply::write_report(&report, &mut stdout)?;
    stdout.flush()?;
    // `--comment`: the report as a new comment; a failure to post it is printed here and
    // makes an apply that otherwise succeeded exit 1.
    let anchor = args
        .audit_log
        .as_ref()
        .map(|log| crate::apply::markdown::AuditAnchor {
            log: log
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            run_id: info.run_id.clone(),
            last_sha256: Ledger::lock(ledger).last_sha256(),
        });
    let on_success = super::super::comment::after_apply(
        &args.comment,
        config_path,
        &info.domain,
        &report,
        anchor.as_ref(),
        super::super::quiet(),
        args.connection.timeout_duration(),
    )
    .await;
    if report.interrupted {
        crate::secrets::errln!(
            "error: apply was interrupted; the report above is exact, and running apply again converges"
        );
        return Ok(Exit::Interrupted);
    }
    if let Some(e) = audit_error {
        return Err(Failure {
            error: Box::new(e),
            hint: Some("no further DELETE was sent after the audit log failed".into()),
        });
    }
    summarized?;
    run_failure(&report, args.wait).map_or(Ok(on_success), Err)
}

/// What went wrong in a run, for stderr (the report on stdout has the details): members not
/// removed (with the first reason and the calls' hint), outcomes unknown, guards that blocked,
/// removals not visible when `--wait` ran out. None for a run that did everything.
pub(super) fn run_failure(report: &apply::Report, wait: Option<u64>) -> Option<Failure> {
    let mut problems = Vec::new();
    let member = |n| render::plural(n, "member", "members");
    if report.not_removed() > 0 {
        let first = report
            .organizations
            .iter()
            .find_map(|o| o.failed.first())
            .map(|(_, why)| format!(" (first: {})", render::clean(why)))
            .unwrap_or_default();
        problems.push(format!(
            "{} not removed{first}",
            member(report.not_removed())
        ));
    }
    if report.unknown() > 0 {
        problems.push(format!(
            "{} with an unknown outcome: check the tenant",
            member(report.unknown())
        ));
    }
    if report.not_revoked() > 0 {
        let first = report
            .organizations
            .iter()
            .find_map(|o| o.revoke_failed.first().or(o.revoke_unknown.first()))
            .map(|(_, why)| format!(" (first: {})", render::clean(why)))
            .unwrap_or_default();
        problems.push(format!(
            "{} not revoked or of unknown outcome{first}",
            render::plural(report.not_revoked(), "invitation", "invitations")
        ));
    }
    if report.blocked() > 0 {
        problems.push(format!(
            "{} blocked by a guard",
            render::plural(report.blocked(), "organization", "organizations")
        ));
    }
    if report.audit_failed {
        problems.push("the audit log failed, so removals stopped".to_string());
    }
    let not_visible: Vec<String> = report
        .organizations
        .iter()
        .filter(|o| o.converged == Some(false))
        .map(|o| format!("`{}`", render::clean(&o.name)))
        .collect();
    if !not_visible.is_empty() {
        problems.push(format!(
            "removals not yet visible after --wait={} s in {}",
            wait.unwrap_or_default(),
            not_visible.join(", ")
        ));
    }
    if problems.is_empty() {
        if report.success() {
            return None;
        }
        problems.push("see the account above".to_string());
    }
    let hint = report.hints.first().cloned().or_else(|| {
        if report.blocked() > 0 {
            Some("the account above names each guard; review the removals, then raise `max_removals`, set `allow_empty: true` or `rejoin: warn` in the config if they are meant".to_string())
        } else if !not_visible.is_empty() {
            Some("Auth0 can take longer to list removals; wait longer with `--wait=SECONDS`, or check later with `orgsync plan`".to_string())
        } else {
            None
        }
    });
    Some(Failure {
        error: format!("apply did not complete: {}", problems.join("; ")).into(),
        hint,
    })
}
