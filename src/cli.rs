//! Command-line arguments (clap derive) and the dispatch from a subcommand to the library.
//!
//! Errors are printed once, here at the top, in uv's style: `error: …`, one `caused by: …`
//! line per source, and a `hint: …` where there is an obvious fix.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::commands;
use crate::emulator::{self, BucketConfig, FaultKind, RateLimits, Tenant};

/// Keep Auth0 Organization membership in Git.
#[derive(Debug, Parser)]
#[command(name = "orgsync", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print more on stderr: `-v` for each request, `-vv` for everything. Tokens and secrets
    /// are never printed at any level.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print nothing on stderr but errors (no progress).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the config file offline (no network).
    Validate(ValidateArgs),
    /// Read the tenant and print the plan: who would be removed, who is missing.
    Plan(PlanArgs),
    /// Remove the members the plan says should go: plans, shows the plan, asks for `yes`.
    /// With a saved plan (`orgsync apply PLAN.json`), removes only members listed in it.
    Apply(ApplyArgs),
    /// Write an orgsync.yaml that reproduces the tenant's current membership (to adopt orgsync).
    Export(ExportArgs),
    /// Print the JSON Schema of orgsync.yaml.
    Schema,
    /// Serve a local emulated Auth0 tenant (for tests, demos and fault drills).
    Emulator(EmulatorArgs),
}

/// `orgsync validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Config file, or a directory whose *.yaml/*.yml files are merged.
    #[arg(short, long, value_name = "FILE", default_value = "orgsync.yaml")]
    pub config: PathBuf,
}

/// Where the tenant is and how fast orgsync may talk to it.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// Tenant domain: a bare host (`travel0.us.auth0.com`, HTTPS) or a URL; plain `http://` only
    /// for loopback. Credentials come from AUTH0_CLIENT_ID + AUTH0_CLIENT_SECRET, or
    /// AUTH0_API_TOKEN (AUTH0_ACCESS_TOKEN), never from flags.
    #[arg(
        long,
        env = "AUTH0_DOMAIN",
        value_name = "DOMAIN",
        conflicts_with = "sandbox"
    )]
    pub domain: Option<String>,
    /// Run against a local emulator seeded from this tenant file instead (no credentials needed).
    #[arg(long, value_name = "TENANT.yaml")]
    pub sandbox: Option<PathBuf>,
    /// Never send more than this many requests per second, whatever the tenant's limit allows.
    #[arg(long, value_name = "RPS", value_parser = parse_rps)]
    pub max_rps: Option<f64>,
    /// Give up on a request (connecting, or waiting for its answer) after this many seconds;
    /// it is then retried like a lost connection.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_rps)]
    pub timeout: f64,
}

fn parse_rps(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("`{s}` must be a positive number"))
    }
}

/// How `plan` prints the plan on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A unified diff per organization and a summary line.
    Text,
    /// The versioned JSON plan (format_version 1), as `--out` writes it.
    Json,
    /// A pull-request comment: summary table, warning banner, a collapsible diff per
    /// organization; cut to fit GitHub's 65,536-character limit.
    Markdown,
}

/// `orgsync apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `orgsync plan --out PLAN.json`: apply exactly it, re-checked against
    /// the live tenant, instead of planning anew.
    #[arg(value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// Config file or directory. With a saved plan, its sha256 must match the plan's
    /// `config_sha256` (and its `protect` lists are honoured).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// After removing, re-read each changed organization until the removals show (Auth0 takes
    /// 5-10 s) or SECONDS pass (default 30), and report which organizations converged.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "30")]
    pub wait: Option<u64>,
    /// Append one JSON line per DELETE call, and a summary line, to this file.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

/// `orgsync export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Organization to export, by name; repeat for several. Default: every organization.
    #[arg(long = "org", value_name = "NAME")]
    pub orgs: Vec<String>,
    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `orgsync plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Config file, or a directory whose *.yaml/*.yml files are merged.
    #[arg(short, long, value_name = "FILE", default_value = "orgsync.yaml")]
    pub config: PathBuf,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Also write the JSON plan to this file (for `orgsync apply PLAN.json`).
    #[arg(long, value_name = "PLAN.json")]
    pub out: Option<PathBuf>,
    /// Exit 2 when the plan has removals or missing members, 0 when there is nothing to do,
    /// 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// `orgsync emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Tenant file (YAML): clients, organizations with their members, extra users.
    #[arg(long, value_name = "TENANT.yaml")]
    pub tenant: PathBuf,
    /// Address to listen on; port 0 picks any free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Tenant-wide Management API bucket as BURST/PER_SECOND (refilled continuously), e.g.
    /// `50/16`, or BURST/PER_MINUTE/min (refilled once a second), e.g. `10/150/min`. Off by
    /// default.
    #[arg(long, value_name = "BURST/RATE", value_parser = parse_bucket)]
    pub rate_limit: Option<BucketConfig>,
    /// Bucket for reading organization members, as BURST/PER_SECOND or BURST/PER_MINUTE/min
    /// (Auth0's: `40/500/min`).
    #[arg(long, value_name = "BURST/RATE", value_parser = parse_bucket)]
    pub members_read_limit: Option<BucketConfig>,
    /// Bucket for adding and removing organization members, as BURST/PER_SECOND or
    /// BURST/PER_MINUTE/min (Auth0's: `20/200/min`).
    #[arg(long, value_name = "BURST/RATE", value_parser = parse_bucket)]
    pub members_write_limit: Option<BucketConfig>,
    /// Latency added to every API request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Random extra latency per request, up to this many milliseconds (seeded).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub jitter_ms: u64,
    /// How long removed members keep appearing in member lists, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub removal_delay_ms: u64,
    /// Share of API requests answered with a fault, from 0 to 1.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = parse_share)]
    pub fault_rate: f64,
    /// Faults to inject: any of `500`, `503`, `429` (without rate-limit headers), `drop` (drop:
    /// the request is carried out, then the connection is cut before the answer).
    #[arg(long, value_name = "KIND", value_delimiter = ',', default_value = "500,503,drop", value_parser = parse_fault)]
    pub faults: Vec<FaultKind>,
    /// Seed for latency jitter and fault injection.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400)]
    pub token_ttl: u64,
}

fn parse_bucket(s: &str) -> Result<BucketConfig, String> {
    let (bucket, per_minute) = match s.strip_suffix("/min") {
        Some(rest) => (rest, true),
        None => (s, false),
    };
    let (size, rate) = bucket.split_once('/').ok_or_else(|| {
        format!("expected BURST/PER_SECOND like `50/16` or BURST/PER_MINUTE/min like `40/500/min`, got `{s}`")
    })?;
    let size: u32 = size
        .trim()
        .parse()
        .map_err(|_| format!("burst `{size}` is not a whole number"))?;
    let rate: f64 = rate
        .trim()
        .parse()
        .map_err(|_| format!("rate `{rate}` is not a number"))?;
    if size == 0 || !rate.is_finite() || rate < 0.0 {
        return Err("burst must be at least 1 and the rate a non-negative number".into());
    }
    Ok(BucketConfig {
        size,
        refill_per_sec: if per_minute { rate / 60.0 } else { rate },
        every_second: per_minute,
    })
}

fn parse_share(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{s}` is not between 0 and 1"))
    }
}

fn parse_fault(s: &str) -> Result<FaultKind, String> {
    FaultKind::parse(s)
        .ok_or_else(|| format!("unknown fault `{s}`: use `500`, `503`, `429` or `drop`"))
}

/// Parses arguments, runs the command, prints any error, and returns the exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging(cli.verbose);
    commands::set_quiet(cli.quiet);
    match execute(cli) {
        Ok(code) => code,
        Err(e) => {
            print_error(&e);
            ExitCode::from(1)
        }
    }
}

/// Tracing logs on stderr, off unless asked for with `-v` (info) or `-vv` (debug).
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => "orgsync=info",
        _ => "orgsync=debug",
    };
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_target(false)
        .try_init();
}

/// An error for the top level to print: the chain of causes and an optional hint.
#[derive(Debug)]
pub struct Failure {
    pub error: Box<dyn std::error::Error + Send + Sync>,
    pub hint: Option<String>,
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            error: Box::new(e),
            hint: None,
        }
    }
}

fn print_error(f: &Failure) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    // Multi-line errors (several config problems) carry their own `error:`/`hint:` lines.
    let _ = writeln!(err, "error: {}", f.error);
    let mut source = f.error.source();
    while let Some(s) = source {
        let _ = writeln!(err, "  caused by: {s}");
        source = s.source();
    }
    if let Some(h) = &f.hint {
        let _ = writeln!(err, "hint: {h}");
    }
}

/// The Tokio runtime commands run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn execute(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Validate(args) => commands::validate(&args),
        Command::Plan(args) => commands::plan_command(&args),
        Command::Apply(args) => commands::apply_command(&args),
        Command::Export(args) => commands::export_command(&args),
        Command::Schema => commands::schema(),
        Command::Emulator(args) => run_emulator(args),
    }
}

fn run_emulator(args: EmulatorArgs) -> Result<ExitCode, Failure> {
    let tenant = Tenant::load(&args.tenant).map_err(|e| Failure {
        error: Box::new(e),
        hint: Some("see the README's \"Emulator\" section for the tenant file format".into()),
    })?;
    let options = emulator::Options {
        rate_limits: RateLimits {
            global: args.rate_limit,
            members_read: args.members_read_limit,
            members_write: args.members_write_limit,
        },
        latency: Duration::from_millis(args.latency_ms),
        latency_jitter: Duration::from_millis(args.jitter_ms),
        removal_delay: Duration::from_millis(args.removal_delay_ms),
        fault_rate: args.fault_rate,
        fault_kinds: args.faults,
        seed: args.seed,
        token_ttl: Duration::from_secs(args.token_ttl),
    };
    runtime()?.block_on(emulator::serve(tenant, args.listen, options))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_per_second_and_per_minute() {
        assert_eq!(
            parse_bucket("50/16"),
            Ok(BucketConfig {
                size: 50,
                refill_per_sec: 16.0,
                every_second: false,
            })
        );
        assert_eq!(
            parse_bucket("40/600/min"),
            Ok(BucketConfig {
                size: 40,
                refill_per_sec: 10.0,
                every_second: true,
            })
        );
        assert!(parse_bucket("40").is_err());
        assert!(parse_bucket("0/5").is_err());
        assert!(parse_bucket("40/x/min").is_err());
    }
}
