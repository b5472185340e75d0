//! `orgsync apply [PLAN.json]`: plan (or narrow a saved plan), show, confirm, remove, record.

mod checks;
mod outcome;
mod record;
pub(crate) mod streamed;

use checks::{check_domain, confirm, lacking_scopes};
use outcome::finish;
use record::{Counts, write_start, write_summary};

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::{Connection, connect, load_config, make_plan, runtime, stdout_color};
use crate::apply::audit::{self, AuditLog};
use crate::apply::{self, Interrupt, Ledger, OrgWork, RunInfo};
use crate::cli::ApplyArgs;
use crate::config::DesiredState;
use crate::error::{Exit, Failure};
use crate::plan::Plan;
use crate::plan::saved::read_saved_plan;
use crate::render;

/// What apply will do, and the digest of the plan it carries out.
struct Prepared {
    plan_sha256: String,
    work: Vec<OrgWork>,
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
            narrowed = only_planned(desired, &plan.organizations);
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
fn only_planned<'a>(
    desired: &DesiredState,
    orgs: impl IntoIterator<Item = &'a crate::plan::OrgPlan>,
) -> DesiredState {
    let (names, ids): (HashSet<&str>, HashSet<&str>) = orgs
        .into_iter()
        .map(|o| (o.name.as_str(), o.id.as_str()))
        .unzip();
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
        let info = RunInfo {
            run_id: audit::new_run_id(),
            domain: conn.name.clone(),
            plan_sha256: String::new(),
            client_id: conn.client.credentials().client_id().map(str::to_string),
        };
        let saved_at = args.plan.as_deref().zip(saved.as_ref());
        let run = Run {
            conn: &conn,
            info,
            ledger: ledger.clone(),
            config_path: &config_path,
            args,
        };
        // A reviewed saved plan applied without a prompt: each organization's calls start
        // when its own re-read is final (see `streamed`).
        let (info, report, interrupt) = match saved_at {
            Some((path, plan)) if args.auto_approve && streamed::streams(plan) => {
                streamed::apply(run, &desired, path, plan).await?
            }
            _ => match phased(run, &desired, saved_at).await? {
                Phased::Sent(sent) => sent,
                Phased::Ended(exit) => return Ok(exit),
            },
        };
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

/// What the calls of an apply need beside the plan.
struct Run<'a> {
    conn: &'a Connection,
    info: RunInfo,
    ledger: Arc<Mutex<Ledger>>,
    config_path: &'a Path,
    args: &'a ApplyArgs,
}

impl Run<'_> {
    /// Writes this run's `summary` line to the audit log (see [`write_summary`]).
    fn summary(
        &self,
        plan_sha256: Option<&str>,
        outcome: Result<&apply::Report, &Failure>,
    ) -> Result<(), Failure> {
        write_summary(
            &self.ledger,
            &self.info,
            plan_sha256,
            &self.conn.client,
            outcome,
        )
    }

    /// A run refused before its first call: its summary still says it was attempted, and
    /// why. The failure to return: `failure`, or the log's own if the summary was not written.
    fn refuse(&self, plan_sha256: Option<&str>, failure: Failure) -> Failure {
        match self.summary(plan_sha256, Err(&failure)) {
            Ok(()) => failure,
            Err(unwritten) => unwritten,
        }
    }
}

/// An apply that got as far as its calls: the run's record, its report and the interrupt it
/// listened to, for [`finish`].
type Sent = (Arc<RunInfo>, apply::Report, Arc<Interrupt>);

/// How the phased path ended: at its calls, or before them with this exit (nothing to
/// remove, or the prompt answered no).
enum Phased {
    Sent(Sent),
    Ended(Exit),
}

/// An apply that reads the whole tenant and shows everything before it asks and sends:
/// without a saved plan, or when a terminal asks `yes` (`saved`: the saved plan and its path).
async fn phased(
    run: Run<'_>,
    desired: &DesiredState,
    saved: Option<(&Path, &Plan)>,
) -> Result<Phased, Failure> {
    let prepared = prepare_apply(run.conn, &run.info.domain, saved, desired).await;
    let Prepared { plan_sha256, work } = match prepared {
        Ok(prepared) => prepared,
        Err(failure) => {
            // Nothing was removed; the log still records that the run was attempted.
            let digest = saved.map(|(_, plan)| plan.digest());
            return Err(run.refuse(digest.as_deref(), failure));
        }
    };
    let removals: usize = work.iter().map(OrgWork::sends).sum();
    let invitations: usize = work.iter().map(OrgWork::revokes).sum();
    let orgs = work.iter().filter(|w| w.acts()).count();
    let reportable = work
        .iter()
        .any(|w| w.blocked.is_some() || !w.already_gone.is_empty() || !w.skipped.is_empty());
    if removals + invitations == 0 && !reportable {
        run.summary(Some(&plan_sha256), Ok(&apply::Report::default()))?;
        let mut stdout = crate::secrets::stdout();
        writeln!(
            stdout,
            "Nothing to remove: the tenant already matches the plan."
        )?;
        stdout.flush()?;
        return Ok(Phased::Ended(Exit::Success));
    }
    // What the token was granted is known before anything is sent: an apply that would
    // collect a 403 per DELETE is refused here, named by the scope it lacks.
    if let Some(refused) = lacking_scopes(&run.conn.client, removals, invitations).await {
        return Err(run.refuse(Some(&plan_sha256), refused));
    }
    // Roles held through a group are recorded apart, for restore (which assigns only
    // direct ones); where they cannot be, that is said once.
    let mut work = work;
    if let Some(note) = apply::record_group_roles(&run.conn.client, &mut work).await {
        let mut stdout = crate::secrets::stdout();
        writeln!(stdout, "note: {note}")?;
        stdout.flush()?;
    }
    let sends = removals + invitations > 0;
    let approved = match sends.then(|| confirm(run.args.auto_approve, removals, invitations, orgs))
    {
        None => true,
        Some(Ok(approved)) => approved,
        Some(Err(refused)) => {
            // Refused for want of a terminal (or a prompt that could not be read): the
            // log still says the run was attempted and removed nothing.
            return Err(run.refuse(Some(&plan_sha256), refused));
        }
    };
    if !approved {
        let cancelled = Failure {
            error: "apply was not approved; nothing was removed".into(),
            hint: None,
        };
        run.summary(Some(&plan_sha256), Err(&cancelled))?;
        crate::secrets::errln!("Apply cancelled: nothing was removed.");
        return Ok(Phased::Ended(Exit::Error));
    }
    let Run {
        conn,
        mut info,
        ledger,
        config_path,
        args,
    } = run;
    info.plan_sha256 = plan_sha256;
    if sends {
        let counts = Counts {
            organizations: orgs,
            removals,
            invitations,
        };
        let saved = saved.map(|(_, plan)| plan);
        write_start(&ledger, &info, config_path, args, saved, counts, false)?;
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
    Ok(Phased::Sent((info, report, interrupt)))
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
