//! The commands: each one loads what it needs, runs observe → plan (→ apply), renders, and
//! returns an exit code. Argument parsing and error printing stay in `cli`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use std::sync::Mutex;
use std::time::Duration;

use crate::apply::{self, Interrupt, Ledger, OrgWork, RunInfo};
use crate::audit::{self, AuditLog, Head, SummaryRecord};
use crate::auth0::{Client, ClientOptions, Credentials, Domain, RetryPolicy};
use crate::cli::{
    ApplyArgs, ConnectionArgs, ExportArgs, Failure, OutputFormat, PlanArgs, ValidateArgs,
};
use crate::config::MemberRef;
use crate::config::{self, DesiredState};
use crate::emulator::{self, Emulator, Tenant};
use crate::observe::{self, Observed, ObservedOrg, Progress};
use crate::plan::{self, OrgInput, Plan, ResolvedEmail};
use crate::render;

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-q`: nothing on stderr but errors.
pub fn set_quiet(q: bool) {
    QUIET.store(q, std::sync::atomic::Ordering::Relaxed);
}

fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Exit code of `--detailed-exitcode` when the plan has changes (Terraform's convention).
pub const EXIT_CHANGES: u8 = 2;

/// `orgsync validate`: the config checks, offline.
pub fn validate(args: &ValidateArgs) -> Result<ExitCode, Failure> {
    let desired = load_config(&args.config)?;
    let members: usize = desired.organizations.iter().map(|o| o.members.len()).sum();
    let n = desired.organizations.len();
    println!(
        "{}: valid: {n} organization{}, {members} member{} declared",
        args.config.display(),
        if n == 1 { "" } else { "s" },
        if members == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

/// `orgsync schema`: the JSON Schema of orgsync.yaml.
pub fn schema() -> Result<ExitCode, Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(config::schema_json().as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Loads the config, turning its diagnostics into one failure that prints each of them as
/// `error: FILE:LINE:COLUMN: message` with its hint below it. For a directory, says which files
/// it read (`-v`) and warns of files that look like config but were skipped.
pub fn load_config(path: &Path) -> Result<DesiredState, Failure> {
    let loaded = config::load(path);
    if let Ok(state) = &loaded {
        for f in &state.sources {
            tracing::info!("config: read {}", f.display());
        }
        for (f, why) in &state.skipped {
            let name = f.file_name().map(|n| n.to_string_lossy().to_lowercase());
            let looks_like_config =
                name.is_some_and(|n| n.ends_with(".yaml") || n.ends_with(".yml"));
            if looks_like_config && !quiet() {
                eprintln!(
                    "warning: skipped `{}`: {why}",
                    render::clean(&f.display().to_string())
                );
            } else {
                tracing::info!("config: skipped {}: {why}", f.display());
            }
        }
    }
    loaded.map_err(|e| {
        let mut text = String::new();
        for (i, d) in e.diagnostics.iter().enumerate() {
            if i > 0 {
                text.push_str("\nerror: ");
            }
            text.push_str(&d.to_string());
            if let Some(h) = &d.hint {
                text.push_str("\nhint: ");
                text.push_str(h);
            }
        }
        Failure {
            error: text.into(),
            hint: None,
        }
    })
}

/// A connection to a tenant: a client, and the in-process emulator behind `--sandbox`.
pub struct Connection {
    pub client: Arc<Client>,
    /// Kept alive for as long as the connection is used.
    _sandbox: Option<Emulator>,
}

fn client_options() -> ClientOptions {
    let instant =
        std::env::var_os("ORGSYNC_TEST_NO_RETRY_DELAY").is_some_and(|v| v != "0" && !v.is_empty());
    ClientOptions {
        retry: RetryPolicy {
            instant,
            ..RetryPolicy::default()
        },
        ..ClientOptions::default()
    }
}

/// Connects to the tenant named by `--domain`/`AUTH0_DOMAIN`, or starts the `--sandbox` emulator.
pub async fn connect(args: &ConnectionArgs) -> Result<Connection, Failure> {
    let timeout = args.timeout_duration();
    let options = ClientOptions {
        max_rps: args.max_rps,
        request_timeout: timeout,
        connect_timeout: timeout.min(Duration::from_secs(10)),
        ..client_options()
    };
    if let Some(tenant_path) = &args.sandbox {
        let tenant = Tenant::load(tenant_path).map_err(|e| Failure {
            error: Box::new(e),
            hint: Some(
                "`--sandbox` takes an emulator tenant file, like examples/tenant.yaml".into(),
            ),
        })?;
        let client = tenant.clients.first().cloned().ok_or_else(|| Failure {
            error: format!(
                "sandbox tenant `{}` has no client to authenticate with",
                tenant_path.display()
            )
            .into(),
            hint: Some("add a `clients:` entry with the scopes orgsync needs".into()),
        })?;
        let emu = Emulator::start(tenant, emulator::Options::default()).await?;
        let domain = Domain::parse(&emu.url())?;
        let credentials = Credentials::Client {
            client_id: client.client_id,
            client_secret: crate::auth0::Secret::new(client.client_secret),
        };
        let client = Client::new(domain, credentials, options)?;
        return Ok(Connection {
            client: Arc::new(client),
            _sandbox: Some(emu),
        });
    }
    let domain = args.domain.as_deref().filter(|d| !d.trim().is_empty()).ok_or_else(|| Failure {
        error: "no Auth0 domain given".into(),
        hint: Some("pass `--domain travel0.us.auth0.com` or set AUTH0_DOMAIN; `--sandbox examples/tenant.yaml` runs against a local emulator".into()),
    })?;
    let domain = Domain::parse(domain)?;
    let credentials = Credentials::from_env(|k| std::env::var(k).ok()).map_err(|e| Failure {
        error: Box::new(e),
        hint: Some("secrets are read from the environment only, never from flags".into()),
    })?;
    let client = Client::new(domain, credentials, options)?;
    Ok(Connection {
        client: Arc::new(client),
        _sandbox: None,
    })
}

/// Reads the tenant for `desired` and computes the plan, with a progress bar on a terminal.
pub async fn make_plan(conn: &Connection, desired: &DesiredState) -> Result<Plan, Failure> {
    let bar = Arc::new(crate::progress::Bar::for_stderr(quiet()));
    let observed = observe::observe(conn.client.clone(), desired, bar.clone()).await;
    bar.finish();
    let failure = |e: observe::ObserveError| {
        let hint = e.hint();
        Failure {
            error: Box::new(e),
            hint,
        }
    };
    plan_from(conn.client.domain(), desired, observed.map_err(failure)?).map_err(failure)
}

/// The pure step: desired + observed → plan. Every organization and email of the config is
/// looked up by key in the observation; one that is missing stops the run (nothing is planned),
/// so a gap can never turn a declared member into a removal.
pub fn plan_from(
    domain: &Domain,
    desired: &DesiredState,
    observed: Observed,
) -> Result<Plan, observe::ObserveError> {
    let Observed { mut orgs, emails } = observed;
    let mut inputs = Vec::with_capacity(desired.organizations.len());
    for d in &desired.organizations {
        let o = orgs.remove(&d.org).ok_or_else(|| {
            observe::ObserveError::Incomplete(format!("organization `{}`", d.org))
        })?;
        let mut declared = Vec::with_capacity(d.members.len());
        let mut resolved = Vec::new();
        for m in &d.members {
            match &m.member {
                MemberRef::UserId(u) => declared.push(u.clone()),
                MemberRef::Email(e) => {
                    let u = emails.get(e).ok_or_else(|| {
                        observe::ObserveError::Incomplete(format!("the email `{e}`"))
                    })?;
                    declared.push(u.clone());
                    resolved.push(ResolvedEmail {
                        email: e.clone(),
                        user_id: u.clone(),
                    });
                }
            }
        }
        inputs.push(OrgInput {
            id: o.id,
            name: o.name,
            declared,
            resolved,
            protect: d.protect.clone(),
            max_removals: d.max_removals,
            allow_empty: d.allow_empty,
            current: o.members,
        });
    }
    Ok(plan::plan(
        &domain.name(),
        &desired.sha256,
        &crate::timefmt::rfc3339(SystemTime::now()),
        &inputs,
    ))
}

/// Whether stdout gets colour: a terminal, and NO_COLOR unset.
pub fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `orgsync plan`.
pub fn plan_command(args: &PlanArgs) -> Result<ExitCode, Failure> {
    let desired = load_config(&args.config)?;
    let rt = crate::cli::runtime()?;
    let plan = rt.block_on(async {
        let conn = connect(&args.connection).await?;
        make_plan(&conn, &desired).await
    })?;
    if let Some(out) = &args.out {
        write_plan_file(out, &plan)?;
    }
    let mut stdout = std::io::stdout().lock();
    match args.format {
        OutputFormat::Text => render::text(
            &plan,
            &render::TextOptions {
                color: stdout_color(),
            },
            &mut stdout,
        )?,
        OutputFormat::Json => render::json(&plan, &mut stdout)?,
        OutputFormat::Markdown => {
            render::markdown(&plan, render::GITHUB_COMMENT_LIMIT, &mut stdout)?
        }
    }
    stdout.flush()?;
    if args.detailed_exitcode && plan.has_changes() {
        return Ok(ExitCode::from(EXIT_CHANGES));
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the JSON plan to a file, whole or not at all, never through an existing file.
pub fn write_plan_file(path: &Path, plan: &Plan) -> Result<(), Failure> {
    let mut bytes = Vec::new();
    render::json(plan, &mut bytes)?;
    crate::files::write_atomically(path, &bytes).map_err(|e| Failure {
        error: format!("cannot write the plan to `{}`: {e}", path.display()).into(),
        hint: None,
    })
}

/// Reads and checks a saved plan: the format version and its own digest.
pub fn read_saved_plan(path: &Path) -> Result<Plan, Failure> {
    let fail = |msg: String, hint: Option<&str>| Failure {
        error: msg.into(),
        hint: hint.map(str::to_string),
    };
    let meta = std::fs::metadata(path).map_err(|e| {
        fail(
            format!("cannot read the plan `{}`: {e}", path.display()),
            None,
        )
    })?;
    if meta.len() > config::MAX_FILE_BYTES {
        return Err(fail(
            format!("the plan `{}` is larger than 64 MiB", path.display()),
            None,
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        fail(
            format!("cannot read the plan `{}`: {e}", path.display()),
            None,
        )
    })?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        fail(
            format!("`{}` is not a JSON plan: {e}", path.display()),
            Some("write plans with `orgsync plan --out PLAN.json`"),
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

/// Asks for `yes` on a terminal; without one, refuses unless `--auto-approve`.
fn confirm(auto_approve: bool, removals: usize, orgs: usize) -> Result<bool, Failure> {
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
    let mut err = std::io::stderr().lock();
    write!(
        err,
        "\norgsync will remove {} from {}.\nOnly `yes` will be accepted to approve.\n\n  Enter a value: ",
        render::plural(removals, "member", "members"),
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

/// Plans against the live tenant and, for a saved plan, narrows it to what both plans remove
/// (`apply::narrow`); prints what will be done. Nothing is removed here.
async fn prepare_apply(
    conn: &Connection,
    domain: &str,
    saved: Option<(&Path, &Plan)>,
    desired: &DesiredState,
) -> Result<Prepared, Failure> {
    if let Some((_, plan)) = saved
        && plan.domain != domain
    {
        return Err(Failure {
            error: format!(
                "the plan was made for `{}`, not `{domain}`",
                render::clean(&plan.domain)
            )
            .into(),
            hint: Some("apply a plan against the tenant it was made for".into()),
        });
    }
    let fresh = make_plan(conn, desired).await?;
    let mut stdout = std::io::stdout().lock();
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
                    .filter(|o| !o.remove.is_empty())
                    .map(OrgWork::from_plan)
                    .collect(),
            }
        }
        Some((path, plan)) => {
            let work = apply::narrow(plan, &fresh);
            writeln!(
                stdout,
                "Saved plan {} (made {}), re-checked against the config and the tenant:",
                path.display(),
                render::clean(&plan.created_at)
            )?;
            apply::write_work(&work, &mut stdout)?;
            Prepared {
                plan_sha256: plan.digest(),
                work,
            }
        }
    };
    stdout.flush()?;
    Ok(prepared)
}

/// `orgsync apply [PLAN.json]`.
pub fn apply_command(args: &ApplyArgs) -> Result<ExitCode, Failure> {
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
    let rt = crate::cli::runtime()?;
    rt.block_on(async {
        let conn = connect(&args.connection).await?;
        let mut info = RunInfo {
            run_id: audit::new_run_id(),
            domain: conn.client.domain().name(),
            plan_sha256: String::new(),
            client_id: conn.client.credentials().client_id().map(str::to_string),
        };
        let summary = |plan_sha256: Option<&str>, outcome: Result<&apply::Report, &Failure>| {
            write_summary(&ledger, &info, plan_sha256, &conn.client, outcome)
        };
        let saved_at = args.plan.as_deref().zip(saved.as_ref());
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
        let orgs = work.iter().filter(|w| w.sends() > 0).count();
        let reportable = work.iter().any(|w| {
            w.blocked.is_some() || !w.already_gone.is_empty() || !w.skipped.is_empty()
        });
        if removals == 0 && !reportable {
            summary(Some(&plan_sha256), Ok(&apply::Report::default()))?;
            println!("Nothing to remove: the tenant already matches the plan.");
            return Ok(ExitCode::SUCCESS);
        }
        if removals > 0 && !confirm(args.auto_approve, removals, orgs)? {
            let cancelled = Failure {
                error: "apply was not approved; nothing was removed".into(),
                hint: None,
            };
            summary(Some(&plan_sha256), Err(&cancelled))?;
            eprintln!("Apply cancelled: nothing was removed.");
            return Ok(ExitCode::from(1));
        }
        info.plan_sha256 = plan_sha256;
        if removals > 0 {
            let start = audit::StartRecord {
                head: Head::now(&info.run_id, "start", &info.domain),
                plan_sha256: &info.plan_sha256,
                client_id: info.client_id.as_deref(),
                orgsync_version: env!("CARGO_PKG_VERSION"),
                organizations: orgs,
                removals,
            };
            if let Err(e) = lock_ledger(&ledger).write_synced(&start) {
                return Err(Failure {
                    error: format!("{e}: {}; nothing was sent", e.source).into(),
                    hint: Some("check the audit log's path, permissions and free space".into()),
                });
            }
        }
        let interrupt = Interrupt::new();
        interrupt.listen();
        let info = Arc::new(info);
        let mut report = apply::execute(
            conn.client.clone(),
            work,
            info.clone(),
            ledger.clone(),
            interrupt.clone(),
        )
        .await;
        if let Some(secs) = args.wait.filter(|_| !report.interrupted) {
            apply::wait_for_convergence(
                &conn.client,
                &mut report,
                Duration::from_secs(secs),
                Duration::from_millis(500),
                &interrupt,
            )
            .await;
        }
        report.interrupted |= interrupt.is_set();
        let audit_error = lock_ledger(&ledger).take_failure();
        let summarized = write_summary(
            &ledger,
            &info,
            Some(&info.plan_sha256),
            &conn.client,
            Ok(&report),
        );
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout)?;
        apply::write_report(&report, &mut stdout)?;
        stdout.flush()?;
        if report.interrupted {
            eprintln!("error: apply was interrupted; the report above is exact, and running apply again converges");
            return Ok(ExitCode::from(EXIT_INTERRUPTED));
        }
        if let Some(e) = audit_error {
            return Err(Failure {
                error: Box::new(e),
                hint: Some("no further DELETE was sent after the audit log failed".into()),
            });
        }
        summarized?;
        Ok(if report.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

/// Exit code of a run stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

fn lock_ledger(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(|e| e.into_inner())
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
    lock_ledger(ledger).write(&SummaryRecord {
        head: Head::now(&info.run_id, "summary", &info.domain),
        plan_sha256,
        client_id: info.client_id.as_deref(),
        removed: report.removed(),
        not_removed: report.not_removed(),
        unknown: report.unknown(),
        already_gone: report.already_gone(),
        skipped: report.skipped(),
        blocked_organizations: report.blocked(),
        delete_calls: report.calls(),
        failed_calls: report.failed_calls(),
        requests: client.requests_sent(),
        retries: client.retries(),
        interrupted: report.interrupted,
        success: error.is_none() && report.success(),
        error,
    })?;
    Ok(())
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Reads every member of `orgs` (a progress bar on a terminal), in the order given, or fails
/// with `what` and one line per organization that could not be read.
async fn read_all_members(
    client: &Arc<Client>,
    orgs: Vec<crate::auth0::Organization>,
    what: &str,
) -> Result<Vec<ObservedOrg>, Failure> {
    let bar = Arc::new(crate::progress::Bar::for_stderr(quiet()));
    bar.organizations(orgs.len());
    let ids: Vec<String> = orgs.iter().map(|o| o.id.clone()).collect();
    let keyed = orgs
        .into_iter()
        .map(|o| (o.id.clone(), o.clone(), o.name))
        .collect();
    let read = observe::read_members(client.clone(), keyed, bar.clone()).await;
    bar.finish();
    let mut read = read.map_err(|errors| {
        let hint = errors.iter().find_map(|(_, e)| e.hint());
        let lines: Vec<String> = errors
            .iter()
            .map(|(id, e)| format!("organization `{id}`: {e}"))
            .collect();
        Failure {
            error: format!("{what}\n  {}", lines.join("\n  ")).into(),
            hint,
        }
    })?;
    ids.iter()
        .map(|id| {
            read.remove(id).ok_or_else(|| Failure {
                error: format!("{what}\n  organization `{id}` was not read").into(),
                hint: None,
            })
        })
        .collect()
}

/// `orgsync export`.
pub fn export_command(args: &ExportArgs) -> Result<ExitCode, Failure> {
    if let Some(out) = &args.output
        && out.exists()
        && !args.force
    {
        return Err(Failure {
            error: format!("`{}` already exists", out.display()).into(),
            hint: Some("pass `--force` to overwrite it, or choose another file with `-o`".into()),
        });
    }
    let rt = crate::cli::runtime()?;
    let yaml = rt.block_on(async {
        let conn = connect(&args.connection).await?;
        let client = conn.client.clone();
        let orgs = if args.orgs.is_empty() {
            client.organizations().await?
        } else {
            let mut found = Vec::new();
            let mut failures = Vec::new();
            for name in &args.orgs {
                match client.organization_by_name(name).await {
                    Ok(o) => found.push(o),
                    Err(e) => failures.push(format!("organization `{name}`: {e}")),
                }
            }
            if !failures.is_empty() {
                return Err(Failure {
                    error: format!(
                        "{} could not be read; nothing was exported\n  {}",
                        failures.len(),
                        failures.join("\n  ")
                    )
                    .into(),
                    hint: Some(
                        "`--org` takes organization names; check them and AUTH0_DOMAIN".into(),
                    ),
                });
            }
            found
        };
        let observed = read_all_members(
            &client,
            orgs,
            "members could not be read; nothing was exported",
        )
        .await?;
        Ok::<_, Failure>(crate::export::to_yaml(
            &observed,
            &client.domain().name(),
            &crate::timefmt::rfc3339(SystemTime::now()),
        ))
    })?;
    match &args.output {
        Some(path) => {
            crate::files::write_atomically(path, yaml.as_bytes()).map_err(|e| Failure {
                error: format!("cannot write `{}`: {e}", path.display()).into(),
                hint: None,
            })?;
            if !quiet() {
                eprintln!("wrote {}", path.display());
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(yaml.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OrgRef;
    use crate::plan::Member;

    fn config() -> DesiredState {
        config::from_str(
            "version: 1\norganizations:\n  - name: alpha\n    members: [\"a|1\"]\n  - name: beta\n    members: [\"b|1\", {email: b2@example.com}]\n  - name: gamma\n    members: [\"c|1\"]\n",
            "orgsync.yaml",
        )
        .unwrap()
    }

    fn observed(name: &str, id: &str, members: &[&str]) -> (OrgRef, ObservedOrg) {
        (
            OrgRef::Name(name.into()),
            ObservedOrg {
                id: id.into(),
                name: name.into(),
                members: members.iter().map(|m| Member::id(*m)).collect(),
            },
        )
    }

    #[test]
    fn observations_join_their_config_entry_by_key_whatever_the_order() {
        let domain = Domain::parse("example.auth0.com").unwrap();
        let observed = Observed {
            orgs: [
                observed("gamma", "org_g", &["c|1", "c|2"]),
                observed("beta", "org_b", &["b|1", "b|2"]),
                observed("alpha", "org_a", &["a|1"]),
            ]
            .into_iter()
            .collect(),
            emails: [("b2@example.com".to_string(), "b|2".to_string())].into(),
        };
        let plan = plan_from(&domain, &config(), observed).unwrap();
        let removals: Vec<(&str, Vec<&str>)> = plan
            .organizations
            .iter()
            .map(|o| {
                (
                    o.name.as_str(),
                    o.remove.iter().map(|m| m.user_id.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            removals,
            [("alpha", vec![]), ("beta", vec![]), ("gamma", vec!["c|2"])]
        );
    }

    #[test]
    fn a_missing_organization_or_email_plans_nothing() {
        let domain = Domain::parse("example.auth0.com").unwrap();
        // alpha was never observed: beta's members must not be compared with alpha's.
        let without_alpha = Observed {
            orgs: [
                observed("beta", "org_b", &["b|1", "b|2"]),
                observed("gamma", "org_g", &["c|1"]),
            ]
            .into_iter()
            .collect(),
            emails: [("b2@example.com".to_string(), "b|2".to_string())].into(),
        };
        let e = plan_from(&domain, &config(), without_alpha).unwrap_err();
        assert!(
            e.to_string().contains("organization `alpha` was not read"),
            "{e}"
        );
        // The email of a declared member was never resolved: it must not drop out.
        let without_email = Observed {
            orgs: [
                observed("alpha", "org_a", &["a|1"]),
                observed("beta", "org_b", &["b|1", "b|2"]),
                observed("gamma", "org_g", &["c|1"]),
            ]
            .into_iter()
            .collect(),
            emails: Default::default(),
        };
        let e = plan_from(&domain, &config(), without_email).unwrap_err();
        assert!(e.to_string().contains("b2@example.com"), "{e}");
    }
}
