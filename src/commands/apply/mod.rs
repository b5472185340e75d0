//! `orgsync apply [PLAN.json]`: plan (or narrow a saved plan), show, confirm, remove, record.

pub(crate) mod streamed;

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Connection, connect, load_config, make_plan, runtime, stdout_color};
use crate::apply::audit::{self, AuditLog, Head, SummaryRecord};
use crate::apply::{self, Interrupt, Ledger, OrgWork, RunInfo};
use crate::auth0::Client;
use crate::cli::ApplyArgs;
use crate::config::DesiredState;
use crate::error::{Exit, Failure};
use crate::plan::Plan;
use crate::plan::saved::read_saved_plan;
use crate::render;

/// Asks for `yes` on a terminal; without one, refuses unless `--auto-approve`.
fn confirm(
    auto_approve: bool,
    removals: usize,
    invitations: usize,
    orgs: usize,
) -> Result<bool, Failure> {
    use std::io::BufRead;
    if auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure {
            error: "refusing to remove members without confirmation: stdin is not a terminal"
                .into(),
            hint: Some("review what is listed above, then run again with `--auto-approve`".into()),
        });
    }
    let mut err = crate::secrets::stderr();
    write!(
        err,
        "\norgsync will remove {}{} from {}.\nOnly `yes` will be accepted to approve.\n\n  Enter a value: ",
        render::plural(removals, "member", "members"),
        match invitations {
            0 => String::new(),
            n => format!(
                " and revoke {}",
                render::plural(n, "invitation", "invitations")
            ),
        },
        render::plural(orgs, "organization", "organizations"),
    )?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

/// What apply will do, and the digest of the plan it carries out.
struct Prepared {
    plan_sha256: String,
    work: Vec<OrgWork>,
}

/// Refuses a saved plan made for another tenant.
fn check_domain(plan: &Plan, domain: &str) -> Result<(), Failure> {
    if plan.domain == domain {
        return Ok(());
    }
    Err(Failure {
        error: format!(
            "the plan was made for `{}`, not `{domain}`",
            render::clean(&plan.domain)
        )
        .into(),
        hint: Some(if plan.domain.starts_with(super::SANDBOX_PREFIX) {
            "the plan was made against a sandbox: pass `--sandbox TENANT.yaml` with the tenant file it was made from".into()
        } else {
            "apply a plan against the tenant it was made for".into()
        }),
    })
}

/// Plans against the live tenant and, for a saved plan, narrows it to what both plans remove
/// (`apply::narrow`); prints what will be done. Nothing is removed here.
async fn prepare_apply(
    conn: &Connection,
    domain: &str,
    saved: Option<(&Path, &Plan)>,
    desired: &DesiredState,
) -> Result<Prepared, Failure> {
    if let Some((_, plan)) = saved {
        check_domain(plan, domain)?;
    }
    // A saved plan is re-derived for its own organizations only (a `plan --org` subset, or
    // every one): the others are neither read nor touched.
    let narrowed;
    let desired = match saved {
        Some((_, plan)) => {
            narrowed = only_planned(desired, plan);
            &narrowed
        }
        None => desired,
    };
    let fresh = make_plan(conn, desired).await?;
    let mut stdout = crate::secrets::stdout();
    let prepared = match saved {
        None => {
            render::text(
                &fresh,
                &render::TextOptions {
                    color: stdout_color(),
                },
                &mut stdout,
            )?;
            Prepared {
                plan_sha256: fresh.digest(),
                work: fresh
                    .organizations
                    .iter()
                    // A blocked organization is reported as blocked (and apply fails) even
                    // with nothing to remove: one whose config names a user_id of nobody.
                    .filter(|o| {
                        !o.remove.is_empty()
                            || !o.invitations_to_revoke().is_empty()
                            || o.blocked.is_some()
                    })
                    .map(OrgWork::from_plan)
                    .collect(),
            }
        }
        Some((path, plan)) => {
            let work = apply::narrow(plan, &fresh);
            write_rechecked(&mut stdout, path, plan, &fresh.organizations, &work)?;
            Prepared {
                plan_sha256: plan.digest(),
                work,
            }
        }
    };
    stdout.flush()?;
    Ok(prepared)
}

/// What a saved plan's apply will do, re-checked against the config and the tenant: each user as
/// the plan showed them, as the tenant has them now (`fresh`), else (gone since) as the saved
/// plan had them.
fn write_rechecked<'a>(
    out: &mut dyn Write,
    path: &Path,
    plan: &'a Plan,
    fresh: impl IntoIterator<Item = &'a crate::plan::OrgPlan>,
    work: &[OrgWork],
) -> std::io::Result<()> {
    writeln!(
        out,
        "Saved plan {} (made {}), re-checked against the config and the tenant:",
        path.display(),
        render::clean(&plan.created_at)
    )?;
    let mut people: HashMap<(&str, &str), &crate::plan::Member> = HashMap::new();
    for o in &plan.organizations {
        for m in &o.remove {
            people.insert((o.id.as_str(), m.user_id.as_str()), m);
        }
    }
    for o in fresh {
        for m in &o.current {
            people.insert((o.id.as_str(), m.user_id.as_str()), m);
        }
    }
    let who = |org: &str, user: &str| people.get(&(org, user)).map(|m| render::describe(m));
    apply::write_work(work, &who, out)
}

/// The config's organizations that a saved plan holds, matched as the config names them (an
/// entry by name to the plan's name, one by id to its id). One the plan does not hold is left
/// out; one the plan holds that the config no longer names is reported by `apply::narrow`.
fn only_planned(desired: &DesiredState, plan: &Plan) -> DesiredState {
    let names: HashSet<&str> = plan.organizations.iter().map(|o| o.name.as_str()).collect();
    let ids: HashSet<&str> = plan.organizations.iter().map(|o| o.id.as_str()).collect();
    desired.only(&names, &ids)
}

/// `orgsync apply [PLAN.json]`.
pub fn run(args: &ApplyArgs) -> Result<Exit, Failure> {
    let saved = match &args.plan {
        Some(p) => Some(read_saved_plan(p)?),
        None => None,
    };
    // The config is always loaded: a saved plan is only ever narrowed by it.
    let config_path = args.config.clone().unwrap_or_else(|| "orgsync.yaml".into());
    let desired = load_config(&config_path).map_err(|mut f| {
        if saved.is_some() && args.config.is_none() {
            f.hint = Some(
                "a saved plan is applied with the config it was made from: pass it with `-c FILE`"
                    .into(),
            );
        }
        f
    })?;
    if let Some(plan) = &saved
        && plan.config_sha256 != desired.sha256
    {
        return Err(Failure {
            error: format!(
                "the config's sha256 ({}) differs from the plan's config_sha256 ({}): the config changed since the plan was made",
                short(&desired.sha256),
                short(&render::clean(&plan.config_sha256))
            )
            .into(),
            hint: Some("make and review a new plan for this config".into()),
        });
    }
    let log = match &args.audit_log {
        Some(p) => Some(AuditLog::open(p)?),
        None => None,
    };
    let ledger = Arc::new(Mutex::new(Ledger::new(log)));
    let rt = runtime()?;
    rt.block_on(async {
        let conn = connect(&args.connection, saved.as_ref().map(|p| p.domain.as_str())).await?;
        let mut info = RunInfo {
            run_id: audit::new_run_id(),
            domain: conn.name.clone(),
            plan_sha256: String::new(),
            client_id: conn.client.credentials().client_id().map(str::to_string),
        };
        let summary = |plan_sha256: Option<&str>, outcome: Result<&apply::Report, &Failure>| {
            write_summary(&ledger, &info, plan_sha256, &conn.client, outcome)
        };
        let saved_at = args.plan.as_deref().zip(saved.as_ref());
        // A reviewed saved plan applied without a prompt: each organization's calls start
        // when its own re-read is final (see `streamed`).
        if let Some((path, plan)) = saved_at
            && args.auto_approve
            && streamed::streams(plan)
        {
            let run = streamed::Run {
                conn: &conn,
                info: info.clone(),
                ledger: ledger.clone(),
                config_path: &config_path,
                args,
            };
            let (info, report, interrupt) = streamed::apply(run, &desired, path, plan).await?;
            return finish(
                args,
                &conn,
                &config_path,
                &info,
                &ledger,
                &interrupt,
                report,
            )
            .await;
        }
        let prepared = prepare_apply(&conn, &info.domain, saved_at, &desired).await;
        let Prepared { plan_sha256, work } = match prepared {
            Ok(prepared) => prepared,
            Err(failure) => {
                // Nothing was removed; the log still records that the run was attempted.
                let digest = saved.as_ref().map(Plan::digest);
                summary(digest.as_deref(), Err(&failure))?;
                return Err(failure);
            }
        };
        let removals: usize = work.iter().map(OrgWork::sends).sum();
        let invitations: usize = work.iter().map(OrgWork::revokes).sum();
        let orgs = work.iter().filter(|w| w.acts()).count();
        let reportable = work
            .iter()
            .any(|w| w.blocked.is_some() || !w.already_gone.is_empty() || !w.skipped.is_empty());
        if removals + invitations == 0 && !reportable {
            summary(Some(&plan_sha256), Ok(&apply::Report::default()))?;
            let mut stdout = crate::secrets::stdout();
            writeln!(
                stdout,
                "Nothing to remove: the tenant already matches the plan."
            )?;
            stdout.flush()?;
            return Ok(Exit::Success);
        }
        // What the token was granted is known before anything is sent: an apply that would
        // collect a 403 per DELETE is refused here, named by the scope it lacks.
        if let Some(refused) = lacking_scopes(&conn.client, removals, invitations).await {
            summary(Some(&plan_sha256), Err(&refused))?;
            return Err(refused);
        }
        // Roles held through a group are recorded apart, for restore (which assigns only
        // direct ones); where they cannot be, that is said once.
        let mut work = work;
        if let Some(note) = apply::record_group_roles(&conn.client, &mut work).await {
            let mut stdout = crate::secrets::stdout();
            writeln!(stdout, "note: {note}")?;
            stdout.flush()?;
        }
        let sends = removals + invitations > 0;
        let approved = match sends.then(|| confirm(args.auto_approve, removals, invitations, orgs))
        {
            None => true,
            Some(Ok(approved)) => approved,
            Some(Err(refused)) => {
                // Refused for want of a terminal (or a prompt that could not be read): the
                // log still says the run was attempted and removed nothing.
                summary(Some(&plan_sha256), Err(&refused))?;
                return Err(refused);
            }
        };
        if !approved {
            let cancelled = Failure {
                error: "apply was not approved; nothing was removed".into(),
                hint: None,
            };
            summary(Some(&plan_sha256), Err(&cancelled))?;
            crate::secrets::errln!("Apply cancelled: nothing was removed.");
            return Ok(Exit::Error);
        }
        info.plan_sha256 = plan_sha256;
        if removals + invitations > 0 {
            let counts = Counts {
                organizations: orgs,
                removals,
                invitations,
            };
            write_start(
                &ledger,
                &info,
                &config_path,
                args,
                saved.as_ref(),
                counts,
                false,
            )?;
        }
        let interrupt = Interrupt::new();
        interrupt.listen();
        let info = Arc::new(info);
        let report = apply::execute(
            conn.client.clone(),
            work,
            info.clone(),
            ledger.clone(),
            interrupt.clone(),
        )
        .await;
        finish(
            args,
            &conn,
            &config_path,
            &info,
            &ledger,
            &interrupt,
            report,
        )
        .await
    })
}

/// What a run may send, as its audit `start` line says.
#[derive(Debug, Clone, Copy)]
struct Counts {
    organizations: usize,
    removals: usize,
    invitations: usize,
}

/// The audit log's `start` line, written (and synced) before the first call is sent. A
/// streamed apply's counts are the saved plan's (what it may at most send).
fn write_start(
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
    super::write_start(ledger, &start)
}

/// After the calls: `--wait`, the audit summary, the report, `--comment`, and the exit code.
async fn finish(
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
    let on_success = super::comment::after_apply(
        &args.comment,
        config_path,
        &info.domain,
        &report,
        anchor.as_ref(),
        super::quiet(),
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

/// The scopes apply needs for what it is about to send: `delete:organization_members` for
/// removals, `delete:organization_invitations` for revocations.
const DELETE_MEMBERS: &str = "delete:organization_members";
const DELETE_INVITATIONS: &str = "delete:organization_invitations";

/// The refusal of an apply whose token is known to lack a scope it needs; None when it has them
/// or when what it was granted is not known (then the API decides, and a 403 names the scope).
async fn lacking_scopes(client: &Client, removals: usize, invitations: usize) -> Option<Failure> {
    if removals + invitations == 0 {
        return None;
    }
    let granted = match client.granted_scopes().await {
        Ok(Some(granted)) => granted,
        Ok(None) => return None,
        Err(e) => {
            tracing::debug!("the token's scopes could not be read: {e}");
            return None;
        }
    };
    let needed = [
        (removals > 0, DELETE_MEMBERS, "remove members"),
        (
            invitations > 0,
            DELETE_INVITATIONS,
            "revoke invitations (`invitations: revoke`)",
        ),
    ];
    let lacking: Vec<(&str, &str)> = needed
        .iter()
        .filter(|(needed, scope, _)| *needed && !granted.contains(*scope))
        .map(|(_, scope, what)| (*scope, *what))
        .collect();
    if lacking.is_empty() {
        return None;
    }
    let scopes = lacking
        .iter()
        .map(|(s, _)| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(" and ");
    let why = lacking
        .iter()
        .map(|(s, what)| format!("`{s}` to {what}"))
        .collect::<Vec<_>>()
        .join(", ");
    let hint = match client.credentials().client_id() {
        Some(id) => format!(
            "grant {scopes} to the application `{}` in the Auth0 Dashboard (Applications > APIs > Auth0 Management API > Machine to Machine Applications), then run apply again",
            render::clean(id)
        ),
        None => format!(
            "use a Management API token (AUTH0_API_TOKEN) that grants {scopes}, or client credentials whose application is granted it (Applications > APIs > Auth0 Management API > Machine to Machine Applications)"
        ),
    };
    Some(Failure {
        error: format!(
            "refusing to apply: the token lacks {scopes} (apply needs {why}); nothing was sent"
        )
        .into(),
        hint: Some(hint),
    })
}

/// What went wrong in a run, for stderr (the report on stdout has the details): members not
/// removed (with the first reason and the calls' hint), outcomes unknown, guards that blocked,
/// removals not visible when `--wait` ran out. None for a run that did everything.
fn run_failure(report: &apply::Report, wait: Option<u64>) -> Option<Failure> {
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

/// The audit log's last line for a run: what it removed, or why it stopped before removing
/// anything (`plan_sha256` is None when it had no plan yet).
fn write_summary(
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

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
