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
    /// Never send more than this many requests per second, whatever the tenant's limit allows
    /// (0.01 to 100000).
    #[arg(long, value_name = "RPS", value_parser = parse_rps)]
    pub max_rps: Option<f64>,
    /// Give up on a request after this many seconds (0.1 to 3600), counting its wait for the
    /// tenant's rate limit, connecting and waiting for its answer. A request that got no answer
    /// in time is retried like a lost connection; one that could not even be sent within it
    /// (the rate limit stayed exhausted) fails with an error saying so.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = parse_timeout)]
    pub timeout: f64,
}

impl ConnectionArgs {
    /// `--timeout` as a duration (its parser keeps it within 0.1..=3600 s).
    pub fn timeout_duration(&self) -> Duration {
        Duration::try_from_secs_f64(self.timeout.clamp(TIMEOUT_RANGE.0, TIMEOUT_RANGE.1))
            .unwrap_or(Duration::from_secs(30))
    }
}

/// `--timeout`: seconds.
const TIMEOUT_RANGE: (f64, f64) = (0.1, 3600.0);
/// `--max-rps`: requests per second.
const RPS_RANGE: (f64, f64) = (0.01, 100_000.0);
/// `--wait`: seconds.
const WAIT_MAX: u64 = 3600;
/// `--token-ttl`: seconds (Auth0's longest token lifetime is 30 days).
const TOKEN_TTL_RANGE: (u64, u64) = (1, 2_592_000);
/// `--latency-ms`, `--jitter-ms`: at most a minute.
const LATENCY_MAX_MS: u64 = 60_000;
/// `--removal-delay-ms`: at most an hour.
const REMOVAL_DELAY_MAX_MS: u64 = 3_600_000;
/// Burst and rate of an emulator bucket.
const BUCKET_SIZE_MAX: u32 = 1_000_000;
const BUCKET_RATE_RANGE: (f64, f64) = (0.01, 1_000_000.0);

/// A decimal number within `lo..=hi`, or an error naming the range and the unit.
fn number_in(s: &str, lo: f64, hi: f64, unit: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{s}` is out of range: give {lo} to {hi} {unit}"))
    }
}

/// A whole number within `lo..=hi`, or an error naming the range and the unit.
fn whole_in(s: &str, lo: u64, hi: u64, unit: &str) -> Result<u64, String> {
    let v: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{s}` is out of range: give {lo} to {hi} {unit}"))
    }
}

fn parse_rps(s: &str) -> Result<f64, String> {
    number_in(s, RPS_RANGE.0, RPS_RANGE.1, "requests per second")
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    number_in(s, TIMEOUT_RANGE.0, TIMEOUT_RANGE.1, "seconds")
}

fn parse_wait(s: &str) -> Result<u64, String> {
    whole_in(s, 0, WAIT_MAX, "seconds")
}

fn parse_token_ttl(s: &str) -> Result<u64, String> {
    whole_in(s, TOKEN_TTL_RANGE.0, TOKEN_TTL_RANGE.1, "seconds")
}

fn parse_latency_ms(s: &str) -> Result<u64, String> {
    whole_in(s, 0, LATENCY_MAX_MS, "milliseconds")
}

fn parse_removal_delay_ms(s: &str) -> Result<u64, String> {
    whole_in(s, 0, REMOVAL_DELAY_MAX_MS, "milliseconds")
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
    /// A plan saved with `orgsync plan --out PLAN.json`: remove only what it lists AND a fresh
    /// plan from the same config and the live tenant removes; never more.
    #[arg(value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// Config file or directory (default `orgsync.yaml`), also with a saved plan: its sha256
    /// must match the plan's `config_sha256`, and its protection and guards always apply.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// After removing, re-read each changed organization until the removals show (Auth0 takes
    /// 5-10 s) or SECONDS pass (default 30), and report which organizations converged.
    /// At most 3600.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "30", value_parser = parse_wait)]
    pub wait: Option<u64>,
    /// Write-ahead audit log (JSON lines, appended, locked for the run): a start line, an
    /// intent line before each DELETE and its outcome after, a summary last.
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
    /// Latency added to every API request, in milliseconds (0 to 60000).
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = parse_latency_ms)]
    pub latency_ms: u64,
    /// Random extra latency per request, up to this many milliseconds (seeded; 0 to 60000).
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = parse_latency_ms)]
    pub jitter_ms: u64,
    /// How long removed members keep appearing in member lists, in milliseconds (0 to
    /// 3600000).
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = parse_removal_delay_ms)]
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
    /// Lifetime of issued access tokens, in seconds (1 to 2592000, Auth0's 30 days).
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400, value_parser = parse_token_ttl)]
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
    let (lo, hi) = BUCKET_RATE_RANGE;
    if size == 0
        || size > BUCKET_SIZE_MAX
        || !(rate == 0.0 || rate.is_finite() && (lo..=hi).contains(&rate))
    {
        return Err(format!(
            "burst must be 1 to {BUCKET_SIZE_MAX} and the rate 0 (no refill) or {lo} to {hi}, got `{s}`"
        ));
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

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("orgsync").chain(args.iter().copied()))
    }

    #[test]
    fn numbers_out_of_range_are_refused_by_their_parsers() {
        for bad in [
            &["plan", "--timeout", "1e300"][..],
            &["plan", "--timeout", "0"],
            &["plan", "--timeout", "0.01"],
            &["plan", "--timeout", "3601"],
            &["plan", "--timeout", "nan"],
            &["plan", "--timeout", "inf"],
            &["plan", "--max-rps", "1e-300"],
            &["plan", "--max-rps", "1e-9"],
            &["plan", "--max-rps", "100001"],
            &["plan", "--max-rps", "NaN"],
            &["apply", "--wait", "18446744073709551615"],
            &["apply", "--wait", "3601"],
            &["apply", "--wait=-1"],
            &[
                "emulator",
                "--tenant",
                "t.yaml",
                "--token-ttl",
                "18446744073709551615",
            ],
            &["emulator", "--tenant", "t.yaml", "--token-ttl", "0"],
            &[
                "emulator",
                "--tenant",
                "t.yaml",
                "--latency-ms",
                "18446744073709551615",
            ],
            &["emulator", "--tenant", "t.yaml", "--jitter-ms", "60001"],
            &[
                "emulator",
                "--tenant",
                "t.yaml",
                "--removal-delay-ms",
                "3600001",
            ],
            &["emulator", "--tenant", "t.yaml", "--rate-limit", "4/1e-300"],
            &["emulator", "--tenant", "t.yaml", "--rate-limit", "4/1e300"],
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("out of range") || e.contains("not a") || e.contains("must be"),
                "{bad:?}: {e}"
            );
        }
        let e = parse(&["plan", "--timeout", "1e300"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("give 0.1 to 3600 seconds"), "{e}");
        let e = parse(&["plan", "--max-rps", "1e-9"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("give 0.01 to 100000 requests per second"), "{e}");
        let e = parse(&["apply", "--wait", "18446744073709551615"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("give 0 to 3600 seconds"), "{e}");
    }

    #[test]
    fn numbers_in_range_are_taken() {
        let Command::Plan(p) = parse(&["plan", "--timeout", "0.1", "--max-rps", "0.01"])
            .unwrap()
            .command
        else {
            panic!()
        };
        assert_eq!(
            (p.connection.timeout, p.connection.max_rps),
            (0.1, Some(0.01))
        );
        assert_eq!(p.connection.timeout_duration(), Duration::from_millis(100));
        // `--wait` keeps its optional value: absent, bare (30), or given.
        for (args, want) in [
            (&["apply"][..], None),
            (&["apply", "--wait"], Some(30)),
            (&["apply", "--wait", "0"], Some(0)),
            (&["apply", "--wait", "3600"], Some(3600)),
            (&["apply", "--wait", "--auto-approve"], Some(30)),
        ] {
            let Command::Apply(a) = parse(args).unwrap().command else {
                panic!()
            };
            assert_eq!(a.wait, want, "{args:?}");
        }
        let Command::Emulator(e) = parse(&[
            "emulator",
            "--tenant",
            "t.yaml",
            "--token-ttl",
            "2592000",
            "--latency-ms",
            "60000",
            "--jitter-ms",
            "0",
            "--removal-delay-ms",
            "3600000",
            "--rate-limit",
            "4/0",
        ])
        .unwrap()
        .command
        else {
            panic!()
        };
        assert_eq!(
            (e.token_ttl, e.latency_ms, e.removal_delay_ms),
            (2_592_000, 60_000, 3_600_000)
        );
    }
}
