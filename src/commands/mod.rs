//! The commands, one file each: each loads what it needs, runs observe → plan (→ apply),
//! renders, and returns how it ended. What they share is here: the runtime, the config loader,
//! the connection to a tenant (or the `--sandbox` emulator) and planning against it.

pub mod apply;
pub mod audit;
pub mod comment;
pub mod completions;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod export;
pub mod plan;
pub mod restore;
pub mod schema;
pub mod validate;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::auth0::{Client, ClientOptions, Credentials, Domain, RetryPolicy};
use crate::cli::ConnectionArgs;
use crate::config::{self, DesiredState};
use crate::error::Failure;
use crate::observe::{self, ObservedOrg, Progress};
use crate::plan::{Plan, plan_from};
use crate::render;

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-q`: nothing on stderr but errors.
pub fn set_quiet(q: bool) {
    QUIET.store(q, std::sync::atomic::Ordering::Relaxed);
}

fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// The Tokio runtime commands run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
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
                crate::secrets::errln!(
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
    /// The tenant's identity, recorded as a plan's `domain` and checked by `apply`: the domain's
    /// name, or for `--sandbox` `sandbox:` and a short sha256 of the tenant file (stable across
    /// runs, unlike the emulator's random loopback port).
    pub name: String,
    /// Kept alive for as long as the connection is used.
    #[cfg(feature = "emulator")]
    _sandbox: Option<orgsync_emulator::Emulator>,
}

impl Connection {
    fn to(client: Client) -> Connection {
        Connection {
            name: client.domain().name(),
            client: Arc::new(client),
            #[cfg(feature = "emulator")]
            _sandbox: None,
        }
    }
}

/// Connects to the tenant named by `--domain`, else AUTH0_DOMAIN, else `plan_domain` (the domain
/// a saved plan names), or starts the `--sandbox` emulator, which wins over AUTH0_DOMAIN.
pub async fn connect(
    args: &ConnectionArgs,
    plan_domain: Option<&str>,
) -> Result<Connection, Failure> {
    let timeout = args.timeout_duration();
    let options = ClientOptions {
        max_rps: args.max_rps,
        request_timeout: timeout,
        connect_timeout: timeout.min(Duration::from_secs(10)),
        retry: RetryPolicy {
            instant: args.no_retry_delay,
            ..RetryPolicy::default()
        },
        ..ClientOptions::default()
    };
    let from_env = std::env::var("AUTH0_DOMAIN")
        .ok()
        .filter(|d| !d.trim().is_empty());
    if let Some(tenant) = &args.sandbox {
        if let Some(d) = &from_env {
            tracing::info!(
                "--sandbox given: AUTH0_DOMAIN ({}) is not used",
                render::clean(d)
            );
        }
        return sandbox(tenant, options).await;
    }
    let given = args
        .domain
        .clone()
        .filter(|d| !d.trim().is_empty())
        .or(from_env);
    let domain = match (given, plan_domain) {
        (Some(d), _) => d,
        (None, Some(d)) if d.starts_with(SANDBOX_PREFIX) => {
            return Err(Failure {
                error: format!(
                    "the plan was made against a sandbox (`{}`), and no `--sandbox` was given",
                    render::clean(d)
                )
                .into(),
                hint: Some(
                    "pass `--sandbox TENANT.yaml` with the tenant file the plan was made from"
                        .into(),
                ),
            });
        }
        (None, Some(d)) => {
            // A plan file is not trusted with where credentials go: only Auth0's own domains.
            if !Domain::parse(d).is_ok_and(|p| auth0_hosted(&p)) {
                return Err(Failure {
                    error: format!(
                        "the plan was made for `{}`, and no --domain or AUTH0_DOMAIN was given",
                        render::clean(d)
                    )
                    .into(),
                    hint: Some(format!(
                        "orgsync sends credentials only to a domain you name or to Auth0's own (`TENANT.REGION.auth0.com`): pass `--domain {}` if that is the tenant",
                        render::clean(d)
                    )),
                });
            }
            tracing::info!("no --domain or AUTH0_DOMAIN: using the plan's domain {}", render::clean(d));
            d.to_string()
        }
        (None, None) => return Err(Failure {
            error: "no Auth0 domain given".into(),
            hint: Some("pass `--domain travel0.us.auth0.com` or set AUTH0_DOMAIN; `--sandbox examples/tenant.yaml` runs against a local emulator".into()),
        }),
    };
    let domain = domain.as_str();
    let domain = Domain::parse(domain)?;
    let credentials = Credentials::from_env(|k| std::env::var(k).ok()).map_err(|e| Failure {
        error: Box::new(e),
        hint: Some("secrets are read from the environment only, never from flags".into()),
    })?;
    Ok(Connection::to(Client::new(domain, credentials, options)?))
}

/// Whether a domain is one of Auth0's own (`TENANT.auth0.com`, `TENANT.REGION.auth0.com`, HTTPS,
/// default port), where client credentials may go without the user naming the domain.
fn auth0_hosted(domain: &Domain) -> bool {
    let name = domain.name();
    !name.contains(':') && name.ends_with(".auth0.com") && name.split('.').count() >= 3
}

/// Starts the in-process emulator seeded from `tenant_path` and connects to it with its first
/// client.
#[cfg(feature = "emulator")]
async fn sandbox(tenant_path: &Path, options: ClientOptions) -> Result<Connection, Failure> {
    use orgsync_emulator::{Emulator, Tenant};
    let tenant = Tenant::load(tenant_path).map_err(|e| Failure {
        error: Box::new(e),
        hint: Some("`--sandbox` takes an emulator tenant file, like examples/tenant.yaml".into()),
    })?;
    let bytes = std::fs::read(tenant_path)?;
    let name = sandbox_name(&bytes);
    let client = tenant.clients.first().cloned().ok_or_else(|| Failure {
        error: format!(
            "sandbox tenant `{}` has no client to authenticate with",
            tenant_path.display()
        )
        .into(),
        hint: Some("add a `clients:` entry with the scopes orgsync needs".into()),
    })?;
    let emu = Emulator::start(tenant, orgsync_emulator::Options::default()).await?;
    let domain = Domain::parse(&emu.url())?;
    crate::secrets::register_quietly(&client.client_secret);
    let credentials = Credentials::Client {
        client_id: client.client_id,
        client_secret: crate::auth0::Secret::new(client.client_secret),
    };
    let mut conn = Connection::to(Client::new(domain, credentials, options)?);
    conn._sandbox = Some(emu);
    conn.name = name;
    Ok(conn)
}

/// How a sandbox's identity starts: `sandbox:` and 12 hex digits of its tenant file's sha256.
pub const SANDBOX_PREFIX: &str = "sandbox:";

/// A sandbox's identity: the same tenant file gives the same name on every run.
pub fn sandbox_name(tenant_bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(tenant_bytes);
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{SANDBOX_PREFIX}{hex}")
}

#[cfg(not(feature = "emulator"))]
async fn sandbox(_: &Path, _: ClientOptions) -> Result<Connection, Failure> {
    Err(Failure::new(
        "`--sandbox` needs the emulator, and this orgsync was built without it",
        Some("build with the default features (`cargo build`), or pass --domain"),
    ))
}

/// Reads the tenant for `desired` and computes the plan, with a progress bar on a terminal.
/// `plan --org NAME`: only the organizations named, each as the config names it (its `name`,
/// or its `id` for an entry by id), in the config's order. A name the config does not have is
/// an error (with the closest one the config has), before anything is read.
pub fn select_orgs(desired: DesiredState, wanted: &[String]) -> Result<DesiredState, Failure> {
    if wanted.is_empty() {
        return Ok(desired);
    }
    let label = |o: &config::DesiredOrg| match &o.org {
        config::OrgRef::Name(n) => n.clone(),
        config::OrgRef::Id(i) => i.clone(),
    };
    let known: Vec<String> = desired.organizations.iter().map(label).collect();
    let unknown: Vec<&String> = wanted.iter().filter(|w| !known.contains(w)).collect();
    if !unknown.is_empty() {
        let names = unknown
            .iter()
            .map(|n| format!("`{}`", render::clean(n)))
            .collect::<Vec<_>>()
            .join(", ");
        let suggestion = unknown
            .iter()
            .find_map(|n| Some((n, crate::text::closest(n, &known)?)));
        let hint = match suggestion {
            Some((n, s)) => format!(
                "did you mean `{}` (for `{}`)? `--org` takes an organization as the config names it (its `name`, or its `id`)",
                render::clean(&s),
                render::clean(n)
            ),
            None => format!(
                "`--org` takes an organization as the config names it (its `name`, or its `id`); the config has {}",
                known
                    .iter()
                    .take(10)
                    .map(|k| format!("`{}`", render::clean(k)))
                    .collect::<Vec<_>>()
                    .join(", ")
                    + if known.len() > 10 { ", …" } else { "" }
            ),
        };
        return Err(Failure {
            error: format!(
                "{} {names} not in the config; nothing was read",
                if unknown.len() == 1 {
                    "organization"
                } else {
                    "organizations"
                }
            )
            .into(),
            hint: Some(hint),
        });
    }
    let mut desired = desired;
    desired
        .organizations
        .retain(|o| wanted.iter().any(|w| *w == label(o)));
    Ok(desired)
}

pub async fn make_plan(conn: &Connection, desired: &DesiredState) -> Result<Plan, Failure> {
    let bar = Arc::new(crate::progress::Bar::for_stderr(quiet()));
    let observed = observe::observe(conn.client.clone(), desired, bar.clone()).await;
    bar.finish();
    let created_at = crate::timefmt::rfc3339(std::time::SystemTime::now());
    let observed = observed.map_err(Failure::hinted)?;
    plan_observed(&conn.name, &conn.client, desired, observed, &created_at).await
}

/// The plan of what was observed in the tenant `name`: the users it needs read, then the plan
/// again with them.
pub(crate) async fn plan_observed(
    name: &str,
    client: &Arc<Client>,
    desired: &DesiredState,
    mut observed: observe::Observed,
    created_at: &str,
) -> Result<Plan, Failure> {
    // A first plan tells which users must be read to say whether a removal could be undone,
    // whether declared user_ids exist, and whose invitations are declared; the plan is then
    // made again with them.
    let first = plan_from(name, desired, observed.clone(), created_at).map_err(Failure::hinted)?;
    let (connections_of, details_of) = first.users_to_read();
    if !connections_of.is_empty() || !details_of.is_empty() {
        observe::observe_users(client, connections_of, details_of, &mut observed)
            .await
            .map_err(Failure::hinted)?;
    }
    plan_from(name, desired, observed, created_at).map_err(Failure::hinted)
}

/// Whether stdout gets colour: a terminal, and NO_COLOR unset.
pub fn stdout_color() -> bool {
    crate::secrets::stdout_is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Colour on stderr: a terminal, and NO_COLOR unset or empty.
fn stderr_color() -> bool {
    crate::secrets::stderr_is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `-` given as a file to write (`plan --out -`, `export -o -`): stdout.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Reads every member of `orgs` (a progress bar on a terminal), in the order given, or fails
/// with `what` and one line per organization that could not be read.
pub(crate) async fn read_all_members(
    client: &Arc<Client>,
    orgs: Vec<crate::auth0::Organization>,
    reach: observe::Reach,
    what: &str,
) -> Result<Vec<ObservedOrg>, Failure> {
    let bar = Arc::new(crate::progress::Bar::for_stderr(quiet()));
    bar.organizations(orgs.len());
    let ids: Vec<String> = orgs.iter().map(|o| o.id.clone()).collect();
    let keyed = orgs
        .into_iter()
        .map(|o| (o.id.clone(), o.clone(), o.name))
        .collect();
    let read = observe::read_members(client.clone(), keyed, reach, bar.clone()).await;
    bar.finish();
    let mut read = read.map_err(|errors| {
        let hint = errors.iter().find_map(|(_, e)| e.hint());
        let lines: Vec<String> = errors
            .iter()
            .map(|(id, e)| format!("organization `{id}`: {}", crate::auth0::one_line(e)))
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

/// Writes a run's `start` line and syncs it to disk, before anything is sent: a run whose
/// start cannot be recorded sends nothing (apply and restore alike).
pub(crate) fn write_start<T: serde::Serialize>(
    ledger: &std::sync::Mutex<crate::apply::ledger::Ledger>,
    start: &T,
) -> Result<(), Failure> {
    crate::apply::ledger::Ledger::lock(ledger)
        .write_synced(start)
        .map_err(|e| Failure {
            error: format!("{e}: {}; nothing was sent", e.source).into(),
            hint: Some("check the audit log's path, permissions and free space".into()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_auth0s_own_domains_are_taken_from_a_plan() {
        for ok in [
            "travel0.us.auth0.com",
            "travel0.auth0.com",
            "https://acme.eu.auth0.com",
        ] {
            assert!(auth0_hosted(&Domain::parse(ok).unwrap()), "{ok}");
        }
        for bad in [
            "evil.example.com",
            "auth0.com.evil.example",
            "travel0.us.auth0.com:8443",
            "http://127.0.0.1:4000",
            "login.acme.com",
        ] {
            assert!(!auth0_hosted(&Domain::parse(bad).unwrap()), "{bad}");
        }
    }
}
