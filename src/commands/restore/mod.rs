//! `orgsync restore --audit-log LOG --run ID`: read what the run removed, plan its undo against
//! the config and the tenant, show it, confirm, add back, record (see [`crate::apply::restore`]).
//!
//! [`prepare`](mod@prepare) plans and checks before anything is sent, [`print`](mod@print) writes the plan and the
//! report, and this file runs the command and writes its audit lines.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::{SANDBOX_PREFIX, connect, load_config, runtime};
use crate::apply::audit::{self, AuditLog, Head};
use crate::apply::restore::{self, RestoreReport};
use crate::apply::{Interrupt, Ledger, RunInfo};
use crate::auth0::Client;
use crate::cli::RestoreArgs;
use crate::error::{Exit, Failure};
use crate::render::plural;

pub(crate) mod prepare;
pub(crate) mod print;

use prepare::{confirm, lacking_scopes, prepare, undeclared_refusal};
use print::write_report;

const CREATE_MEMBERS: &str = "create:organization_members";
const CREATE_MEMBER_ROLES: &str = "create:organization_member_roles";
const READ_ROLES: &str = "read:roles";

/// The first line of a restore that sends anything, written before its first POST.
#[derive(Serialize)]
struct StartRecord<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    command: &'static str,
    restores_run: &'a str,
    plan_sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    orgsync_version: &'static str,
    organizations: usize,
    members: usize,
    role_assignments: usize,
}

/// The last line of a restore, also when it refused or was interrupted.
#[derive(Serialize)]
struct SummaryRecord<'a> {
    #[serde(flatten)]
    head: Head<'a>,
    command: &'static str,
    restores_run: &'a str,
    plan_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    restored: usize,
    not_restored: usize,
    unknown: usize,
    roles_not_assigned: usize,
    calls: usize,
    failed_calls: usize,
    requests: u64,
    retries: u64,
    interrupted: bool,
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// `orgsync restore`.
pub fn run(args: &RestoreArgs) -> Result<Exit, Failure> {
    let config_path = args.config.clone().unwrap_or_else(|| "orgsync.yaml".into());
    let desired = load_config(&config_path)?;
    // Locked for the run before it is read: no other run writes to it meanwhile.
    let log = AuditLog::open(&args.audit_log)?;
    let record = restore::read_run(&args.audit_log, &args.run).map_err(|e| {
        let hint = match e {
            restore::ReadRunError::NoSuchRun { .. } => {
                Some("copy the `run_id` of the apply to undo from its audit log lines".into())
            }
            _ => None,
        };
        Failure {
            error: Box::new(e),
            hint,
        }
    })?;
    let ledger = Arc::new(Mutex::new(Ledger::new(Some(log))));
    let rt = runtime()?;
    rt.block_on(async {
        let fallback = (!record.domain.starts_with(SANDBOX_PREFIX)).then_some(record.domain.as_str());
        let conn = connect(&args.connection, fallback).await?;
        let mut info = RunInfo {
            run_id: audit::new_run_id(),
            domain: conn.name.clone(),
            plan_sha256: String::new(),
            client_id: conn.client.credentials().client_id().map(str::to_string),
        };
        let summary = |digest: Option<&str>, report: &RestoreReport, error: Option<&Failure>| {
            write_summary(&ledger, &info, &args.run, digest, &conn.client, report, error)
        };
        let nothing = RestoreReport::default();
        let prepared = prepare(&conn, &record, &desired, args).await;
        let plan = match prepared {
            Ok(plan) => plan,
            Err(f) => {
                summary(None, &nothing, Some(&f))?;
                return Err(f);
            }
        };
        let digest = plan.digest();
        if plan.undeclared() > 0 {
            let refused = undeclared_refusal(&plan);
            summary(Some(&digest), &nothing, Some(&refused))?;
            return Err(refused);
        }
        let members = plan.members();
        if members == 0 && plan.role_assignments() == 0 {
            summary(Some(&digest), &nothing, None)?;
            let mut out = crate::secrets::stdout();
            writeln!(out, "Nothing to restore.")?;
            out.flush()?;
            return Ok(Exit::Success);
        }
        if let Some(refused) = lacking_scopes(&conn.client, &plan).await {
            summary(Some(&digest), &nothing, Some(&refused))?;
            return Err(refused);
        }
        match confirm(args.auto_approve, &plan) {
            Ok(true) => {}
            Ok(false) => {
                let cancelled = Failure {
                    error: "restore was not approved; nothing was sent".into(),
                    hint: None,
                };
                summary(Some(&digest), &nothing, Some(&cancelled))?;
                crate::secrets::errln!("Restore cancelled: nothing was sent.");
                return Ok(Exit::Error);
            }
            Err(refused) => {
                summary(Some(&digest), &nothing, Some(&refused))?;
                return Err(refused);
            }
        }
        info.plan_sha256 = digest;
        let start = StartRecord {
            head: Head::now(&info.run_id, "start", &info.domain),
            command: "restore",
            restores_run: &args.run,
            plan_sha256: &info.plan_sha256,
            client_id: info.client_id.as_deref(),
            orgsync_version: env!("CARGO_PKG_VERSION"),
            organizations: plan.acting(),
            members,
            role_assignments: plan.role_assignments(),
        };
        super::write_start(&ledger, &start)?;
        let interrupt = Interrupt::new();
        interrupt.listen();
        let info = Arc::new(info);
        let report = restore::execute(
            conn.client.clone(),
            &plan,
            info.clone(),
            ledger.clone(),
            interrupt.clone(),
        )
        .await;
        let audit_error = Ledger::lock(&ledger).take_failure();
        let summarized = write_summary(
            &ledger,
            &info,
            &args.run,
            Some(&info.plan_sha256),
            &conn.client,
            &report,
            None,
        );
        let mut out = crate::secrets::stdout();
        writeln!(out)?;
        write_report(&report, &plan, &mut out)?;
        out.flush()?;
        if report.interrupted {
            crate::secrets::errln!(
                "error: restore was interrupted; the account above is exact, and running restore again finishes it"
            );
            return Ok(Exit::Interrupted);
        }
        if let Some(e) = audit_error {
            return Err(Failure {
                error: Box::new(e),
                hint: Some("no further POST was sent after the audit log failed".into()),
            });
        }
        summarized?;
        if report.success() {
            Ok(Exit::Success)
        } else {
            Err(Failure {
                error: format!(
                    "restore did not complete: {} not restored, {} of unknown outcome, {} without their roles",
                    plural(report.not_restored(), "member", "members"),
                    report.unknown(),
                    report.roles_failed()
                )
                .into(),
                hint: report.hints.first().cloned().or_else(|| {
                    Some("run restore again: it re-reads the tenant and sends only what is still missing".into())
                }),
            })
        }
    })
}

#[allow(clippy::too_many_arguments)]
fn write_summary(
    ledger: &Mutex<Ledger>,
    info: &RunInfo,
    run: &str,
    digest: Option<&str>,
    client: &Client,
    report: &RestoreReport,
    error: Option<&Failure>,
) -> Result<(), Failure> {
    Ledger::lock(ledger).write(&SummaryRecord {
        head: Head::now(&info.run_id, "summary", &info.domain),
        command: "restore",
        restores_run: run,
        plan_sha256: digest,
        client_id: info.client_id.as_deref(),
        restored: report.restored(),
        not_restored: report.not_restored(),
        unknown: report.unknown(),
        roles_not_assigned: report.roles_failed(),
        calls: report.calls,
        failed_calls: report.failed_calls,
        requests: client.requests_sent(),
        retries: client.retries(),
        interrupted: report.interrupted,
        success: error.is_none() && report.success(),
        error: error.map(|f| f.error.to_string()),
    })?;
    Ok(())
}
