//! `orgsync restore --audit-log LOG --run ID`: read what the run removed, plan its undo against
//! the config and the tenant, show it, confirm, add back, record (see [`crate::apply::restore`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::{Connection, SANDBOX_PREFIX, connect, load_config, make_plan, runtime};
use crate::apply::restore::{self, Filter, RestorePlan, RestoreReport, RunRecord};
use crate::apply::{Interrupt, Ledger, RunInfo};
use crate::audit::{self, AuditLog, Head};
use crate::auth0::Client;
use crate::cli::RestoreArgs;
use crate::config::DesiredState;
use crate::error::{Exit, Failure};
use crate::plan::Plan;
use crate::render::{self, clean, plural};

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

/// Plans against the tenant and prints the restore. Nothing is sent.
async fn prepare(
    conn: &Connection,
    record: &RunRecord,
    desired: &DesiredState,
    args: &RestoreArgs,
) -> Result<RestorePlan, Failure> {
    if record.domain != conn.name {
        return Err(Failure {
            error: format!(
                "run `{}` was made against `{}`, not `{}`",
                clean(&record.run_id),
                clean(&record.domain),
                clean(&conn.name)
            )
            .into(),
            hint: Some("restore a run against the tenant it removed members from".into()),
        });
    }
    let names: HashSet<&str> = record
        .organizations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    let ids: HashSet<&str> = record.organizations.iter().map(|o| o.id.as_str()).collect();
    let narrowed = desired.only(&names, &ids);
    let fresh: Plan = if narrowed.organizations.is_empty() {
        Plan {
            format_version: 1,
            domain: conn.name.clone(),
            config_sha256: desired.sha256.clone(),
            created_at: String::new(),
            organizations: vec![],
            summary: Default::default(),
            not_checked: vec![],
            provenance: None,
            plan_sha256: None,
        }
    } else {
        make_plan(conn, &narrowed).await?
    };
    let filter = Filter {
        orgs: args.orgs.clone(),
        users: args.users.clone(),
    };
    let exists = role_existence(&conn.client, record, &filter).await;
    let plan = restore::plan(record, &fresh, &filter, &|id| exists.get(id).copied());
    let mut out = crate::secrets::stdout();
    write_plan(record, &plan, &fresh, &mut out)?;
    out.flush()?;
    Ok(plan)
}

/// Whether each role the chosen members held still exists (`GET /roles/{id}`), when the token
/// may read roles; a role it could not tell about is left out (not checked).
async fn role_existence(
    client: &Client,
    record: &RunRecord,
    filter: &Filter,
) -> HashMap<String, bool> {
    let mut out = HashMap::new();
    let granted = client.granted_scopes().await.ok().flatten();
    if granted.as_ref().is_some_and(|g| !g.contains(READ_ROLES)) {
        return out;
    }
    let ids: BTreeMap<&str, ()> = record
        .organizations
        .iter()
        .filter(|o| {
            filter.orgs.is_empty() || filter.orgs.iter().any(|f| *f == o.name || *f == o.id)
        })
        .flat_map(|o| &o.removed)
        .filter(|r| filter.users.is_empty() || filter.users.contains(&r.user_id))
        .flat_map(|r| r.roles.iter().flatten())
        .map(|r| (r.id.as_str(), ()))
        .collect();
    for id in ids.keys() {
        if !crate::auth0::is_role_id(id) {
            out.insert(id.to_string(), false);
            continue;
        }
        match client.role(id).await {
            Ok(found) => {
                out.insert(id.to_string(), found.is_some());
            }
            Err(e) => tracing::debug!("role {id} could not be read: {e}"),
        }
    }
    out
}

fn role_names(roles: &[crate::member::Role]) -> String {
    roles
        .iter()
        .map(|r| clean(&r.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The restore, as it will be sent.
fn write_plan(
    record: &RunRecord,
    plan: &RestorePlan,
    fresh: &Plan,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "Restore of run {} ({} on {}), re-checked against the config and the tenant:",
        clean(&record.run_id),
        clean(&record.time),
        clean(&record.domain)
    )?;
    let people: HashMap<(&str, &str), &crate::plan::Member> = fresh
        .organizations
        .iter()
        .flat_map(|o| {
            o.missing
                .iter()
                .map(move |m| ((o.id.as_str(), m.user_id.as_str()), m))
        })
        .collect();
    for o in &plan.organizations {
        writeln!(out, "\n  {} ({})", clean(&o.name), clean(&o.id))?;
        for a in &o.add {
            // As the tenant has them now, else as the run recorded them.
            let recorded = crate::member::Member {
                user_id: a.user_id.clone(),
                email: a.email.clone(),
                name: a.name.clone(),
                roles: None,
            };
            let who = people
                .get(&(o.id.as_str(), a.user_id.as_str()))
                .filter(|m| m.email.is_some() || m.name.is_some())
                .map_or_else(|| render::describe(&recorded), |m| render::describe(m));
            let roles = if a.roles_unknown {
                "  (roles not recorded by the run: added without roles)".to_string()
            } else if a.roles.is_empty() {
                String::new()
            } else {
                format!("  roles: {}", role_names(&a.roles))
            };
            let sign = if a.already_member { "~" } else { "+" };
            let roles = if a.already_member {
                format!("  a member again, lacking roles: {}", role_names(&a.roles))
            } else {
                roles
            };
            writeln!(out, "    {sign} {who}{roles}")?;
            if !a.group_roles.is_empty() {
                writeln!(
                    out,
                    "      group roles not assigned (they come back with the group): {}",
                    role_names(&a.group_roles)
                )?;
            }
        }
        for (role, users) in &o.roles_gone {
            writeln!(
                out,
                "    ! role `{}` ({}) no longer exists: not assigned to {}",
                clean(&role.name),
                clean(&role.id),
                users
                    .iter()
                    .map(|u| clean(u))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        for (u, why) in &o.not_restored {
            writeln!(out, "    = {}: {why}", clean(u))?;
        }
        for u in &o.undeclared {
            writeln!(
                out,
                "    x {}: not declared by the config: not restored",
                clean(u)
            )?;
        }
    }
    if !record.unknown.is_empty() {
        writeln!(
            out,
            "\n  {} with an unknown outcome in that run: not restored (check the tenant)",
            plural(record.unknown.len(), "member", "members")
        )?;
    }
    if !plan.roles_checked {
        writeln!(
            out,
            "\n  note: the token may not read roles (`{READ_ROLES}`): roles that no longer exist are not known until assigned"
        )?;
    }
    writeln!(
        out,
        "\nRestore: {} to add back, {} to assign roles to, in {}.",
        plural(plan.members(), "member", "members"),
        plan.role_assignments(),
        plural(plan.acting(), "organization", "organizations")
    )
}

/// The account of a restore.
fn write_report(
    report: &RestoreReport,
    plan: &RestorePlan,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for (id, name, members) in &report.organizations {
        writeln!(out, "{} ({}):", clean(name), clean(id))?;
        for m in members {
            let u = clean(&m.user_id);
            match (&m.add_error, &m.roles_error) {
                (None, None) => writeln!(out, "  restored {u}")?,
                (None, Some(why)) => {
                    writeln!(out, "  restored {u}, roles NOT assigned: {}", clean(why))?
                }
                (Some(why), _) if m.unknown => writeln!(out, "  unknown  {u}: {}", clean(why))?,
                (Some(why), _) => writeln!(out, "  NOT restored {u}: {}", clean(why))?,
            }
        }
    }
    writeln!(
        out,
        "Restored {} of {}; {} POST {} ({} failed).",
        report.restored(),
        plural(plan.members(), "member", "members"),
        report.calls,
        if report.calls == 1 { "call" } else { "calls" },
        report.failed_calls
    )
}

fn undeclared_refusal(plan: &RestorePlan) -> Failure {
    let listed: Vec<String> = plan
        .organizations
        .iter()
        .flat_map(|o| {
            o.undeclared
                .iter()
                .map(move |u| format!("{} in `{}`", clean(u), clean(&o.name)))
        })
        .collect();
    Failure {
        error: format!(
            "refusing to restore: the config does not declare {} ({}); nothing was sent",
            plural(listed.len(), "member", "members"),
            listed.join(", ")
        )
        .into(),
        hint: Some(
            "Git is the source of truth: revert the change first, or declare them (so the next apply does not remove them again); or leave them out with --user/--org".into(),
        ),
    }
}

/// The refusal of a restore whose token is known to lack a scope it needs.
async fn lacking_scopes(client: &Client, plan: &RestorePlan) -> Option<Failure> {
    let granted = match client.granted_scopes().await {
        Ok(Some(g)) => g,
        _ => return None,
    };
    let needed = [
        (plan.members() > 0, CREATE_MEMBERS),
        (plan.role_assignments() > 0, CREATE_MEMBER_ROLES),
    ];
    let lacking: Vec<String> = needed
        .iter()
        .filter(|(need, s)| *need && !granted.contains(*s))
        .map(|(_, s)| format!("`{s}`"))
        .collect();
    if lacking.is_empty() {
        return None;
    }
    let scopes = lacking.join(" and ");
    Some(Failure {
        error: format!("refusing to restore: the token lacks {scopes}; nothing was sent").into(),
        hint: Some(format!(
            "grant {scopes} to the application (Applications > APIs > Auth0 Management API > Machine to Machine Applications), then run restore again"
        )),
    })
}

/// Asks for `yes` on a terminal; without one, refuses unless `--auto-approve`.
fn confirm(auto_approve: bool, plan: &RestorePlan) -> Result<bool, Failure> {
    use std::io::BufRead;
    if auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure {
            error: "refusing to restore without confirmation: stdin is not a terminal".into(),
            hint: Some("review what is listed above, then run again with `--auto-approve`".into()),
        });
    }
    let mut err = crate::secrets::stderr();
    write!(
        err,
        "\norgsync will add back {} (and assign their roles) in {}.\nOnly `yes` will be accepted to approve.\n\n  Enter a value: ",
        plural(plan.members(), "member", "members"),
        plural(plan.acting(), "organization", "organizations"),
    )?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
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
