//! Command-line arguments (clap derive): what the user typed, turned into plain settings, every
//! number range-checked by its parser. Nothing here runs a command (`run` in the crate root
//! dispatches), so `commands` can use these types without a cycle.

#[cfg(feature = "emulator")]
mod emulator;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[cfg(feature = "emulator")]
pub use emulator::EmulatorArgs;

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
    /// Undo one apply run's removals: re-add the members it removed (those the config still
    /// declares and the tenant does not have) with the direct roles they held, as its audit log
    /// recorded them; shows the restore, asks for `yes`, records each call in the same log.
    Restore(RestoreArgs),
    /// Write an orgsync.yaml that reproduces the tenant's current membership (to adopt orgsync).
    Export(ExportArgs),
    /// Check an audit log (`verify`) or turn it into evidence for an auditor (`report`).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print the JSON Schema of orgsync.yaml.
    Schema,
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    Completions {
        /// The shell to complete for, e.g. `orgsync completions bash > /etc/bash_completion.d/orgsync`.
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, e.g. `orgsync man > orgsync.1`; with `--dir`, write
    /// it and one page per subcommand (orgsync-plan.1, …) into a directory instead.
    Man {
        /// Write orgsync.1 and a page per subcommand into this directory (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Serve a local emulated Auth0 tenant (for tests, demos and fault drills).
    #[cfg(feature = "emulator")]
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
    /// AUTH0_DOMAIN is read when `--domain` is not given (and not at all with `--sandbox`).
    #[arg(long, value_name = "DOMAIN", conflicts_with = "sandbox")]
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
    /// Test knob: retry and pacing waits are skipped, so fault tests run in seconds.
    #[arg(long, hide = true)]
    pub no_retry_delay: bool,
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
/// A decimal number within `lo..=hi`, or an error naming the range and the unit.
pub(crate) fn number_in(s: &str, lo: f64, hi: f64, unit: &str) -> Result<f64, String> {
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
pub(crate) fn whole_in(s: &str, lo: u64, hi: u64, unit: &str) -> Result<u64, String> {
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

/// For an argument with one dash and a long flag's name (`-detailed-exitcode`, Terraform's
/// spelling), the hint to use two: clap reads it as short flags and names only the first.
pub fn single_dash_hint(args: &[std::ffi::OsString]) -> Option<String> {
    use clap::CommandFactory;
    let cli = Cli::command();
    let mut longs = Vec::new();
    let mut stack = vec![&cli];
    while let Some(c) = stack.pop() {
        longs.extend(c.get_arguments().filter_map(|a| a.get_long()));
        stack.extend(c.get_subcommands());
    }
    args.iter().skip(1).find_map(|a| {
        let a = a.to_str()?;
        let name = a
            .strip_prefix('-')
            .filter(|n| !n.starts_with('-') && n.len() > 1)?;
        let name = name.split('=').next().unwrap_or(name);
        longs
            .contains(&name)
            .then(|| format!("long flags take two dashes: did you mean `-{a}`?"))
    })
}

/// `orgsync audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the log's chain (each line holds the sha256 of the line before it), that every line
    /// parses, that every intent has its outcome (or its run counts it unknown) and every run a
    /// summary. Names the first line that fails and exits 1; prints the last line's sha256, to
    /// keep outside the log as its anchor.
    Verify {
        /// The audit log (`apply --audit-log`).
        #[arg(value_name = "LOG")]
        log: PathBuf,
    },
    /// The log as evidence, per run: when, which tenant, which change (commit, pull request, CI
    /// run), who was removed from which organization with the roles they held, invitations
    /// revoked, what failed or is unknown, whether removals were verified, and the chain's
    /// verdict.
    Report {
        /// The audit log (`apply --audit-log`).
        #[arg(value_name = "LOG")]
        log: PathBuf,
        /// Only this run (its `run_id`); repeatable.
        #[arg(long = "run", value_name = "ID")]
        runs: Vec<String>,
        /// Only runs started on or after this date (`YYYY-MM-DD`, or an RFC 3339 UTC time).
        #[arg(long, value_name = "DATE", value_parser = parse_since)]
        since: Option<String>,
        /// `markdown` for a ticket or a pull request, `json` for a GRC tool.
        #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
        format: ReportFormat,
    },
}

/// How `audit report` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Json,
}

/// `--since`: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS…Z`, as the log writes times.
fn parse_since(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    let date = b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10);
    let rest_ok = b.len() == 10 || (b.get(10) == Some(&b'T') && s.ends_with('Z') && s.is_ascii());
    if date && rest_ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{}` is not a date: write YYYY-MM-DD (or an RFC 3339 UTC time such as 2026-12-04T09:00:00Z)",
            crate::text::clean(s)
        ))
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
    /// 5-10 s) or SECONDS pass (`--wait` alone: 30; a value only as `--wait=SECONDS`), and
    /// report which organizations converged; exit 1 if any did not. At most 3600.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, require_equals = true, default_missing_value = "30", value_parser = parse_wait)]
    pub wait: Option<u64>,
    /// Write-ahead audit log (JSON lines, appended, locked for the run): a start line, an
    /// intent line before each DELETE and its outcome after, a summary last.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    #[command(flatten)]
    pub comment: CommentArgs,
}

/// `orgsync restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The audit log the run wrote; restore reads the run from it and appends its own lines
    /// (a start line, an intent before each POST and its outcome after, a summary).
    #[arg(long, value_name = "FILE")]
    pub audit_log: PathBuf,
    /// The run to undo: its `run_id` in the audit log.
    #[arg(long, value_name = "ID")]
    pub run: String,
    /// Restore only in this organization (name or id; repeatable).
    #[arg(long = "org", value_name = "NAME")]
    pub orgs: Vec<String>,
    /// Restore only this member (user_id; repeatable).
    #[arg(long = "user", value_name = "USER_ID")]
    pub users: Vec<String>,
    /// Config file or directory (default `orgsync.yaml`): only members it declares are restored.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

pub use crate::comment::Forge;

/// `--comment` and what goes with it, on `plan` and `apply`.
#[derive(Debug, Args)]
pub struct CommentArgs {
    /// Also post to the pull request (github) or merge request (gitlab). `plan` posts its
    /// Markdown plan as one comment, found again by a hidden marker naming the config and the
    /// domain and updated in place on every later run (a numbered series when it is too long
    /// for one); only comments the token's user wrote are ever edited or deleted, and
    /// commenting ends within `--timeout`; with GitHub it also appends the plan to
    /// GITHUB_STEP_SUMMARY when that is set.
    /// `apply` posts its result as a new comment. The plan or report is printed first; a
    /// comment that cannot be posted is an error on stderr with the API's answer and a hint,
    /// and the exit code stays the run's own when that is not 0, else 1.
    #[arg(long, value_enum, value_name = "FORGE")]
    pub comment: Option<Forge>,
    /// The pull request (GitHub) or merge request IID (GitLab) to comment on. Default: the
    /// one in GITHUB_EVENT_PATH's event, or CI_MERGE_REQUEST_IID; for `apply` on GitHub, else
    /// the pull request merged as GITHUB_SHA.
    #[arg(long, value_name = "N", requires = "comment", value_parser = parse_pr)]
    pub pr: Option<u64>,
    /// Test knob: the most bytes one comment may hold (500 to 1000000; never more than the
    /// forge allows), so tests can split a plan into a series without megabyte bodies.
    #[arg(long, hide = true, value_name = "BYTES", value_parser = parse_comment_limit)]
    pub comment_limit: Option<usize>,
}

fn parse_pr(s: &str) -> Result<u64, String> {
    whole_in(s, 1, u64::from(u32::MAX), "(a pull request number)")
}

fn parse_comment_limit(s: &str) -> Result<usize, String> {
    whole_in(s, 500, 1_000_000, "bytes").map(|v| usize::try_from(v).unwrap_or(1_000_000))
}

/// `orgsync export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Organization to export, by name; repeat for several. Default: every organization.
    #[arg(long = "org", value_name = "NAME")]
    pub orgs: Vec<String>,
    /// Write to this file instead of stdout (`-`: stdout).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `plan --detailed-exitcode`, in one place: what exit 2 (drift) counts is what
/// `Plan::has_changes` counts.
pub const DETAILED_EXITCODE_HELP: &str = "Exit 2 when the plan has drift as the config's `drift` setting counts it: `apply`, what apply would change (removals, blocked ones too, unknown declared user_ids, invitations it revokes); `members`, also missing members; `all` (the default), also undeclared pending invitations. Invited members never count. 0 when there is no drift, 1 on error.";

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
    /// Also write the JSON plan to this file (for `orgsync apply PLAN.json`). `-` writes it
    /// to stdout, and the plan in `--format` (unless json) goes to stderr instead.
    #[arg(long, value_name = "PLAN.json")]
    pub out: Option<PathBuf>,
    /// Plan only this organization, as the config names it (its `name`, or its `id`); repeat
    /// for several. Default: every organization of the config. Applying the saved plan
    /// (`--out`) touches only these.
    #[arg(long = "org", value_name = "NAME")]
    pub orgs: Vec<String>,
    #[arg(long, help = DETAILED_EXITCODE_HELP)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub comment: CommentArgs,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
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
            &["apply", "--wait=18446744073709551615"],
            &["apply", "--wait=3601"],
            &["apply", "--wait=-1"],
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
        let e = parse(&["apply", "--wait=18446744073709551615"])
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
        // `--wait` keeps its optional value: absent, bare (30), or given with `=`; it never
        // takes the next argument.
        for (args, want, plan) in [
            (&["apply"][..], None, None),
            (&["apply", "--wait"], Some(30), None),
            (&["apply", "--wait=0"], Some(0), None),
            (&["apply", "--wait=3600"], Some(3600), None),
            (&["apply", "--wait", "--auto-approve"], Some(30), None),
            (
                &["apply", "--wait", "stale.json"],
                Some(30),
                Some("stale.json"),
            ),
        ] {
            let Command::Apply(a) = parse(args).unwrap().command else {
                panic!()
            };
            assert_eq!(a.wait, want, "{args:?}");
            assert_eq!(
                a.plan.as_deref(),
                plan.map(std::path::Path::new),
                "{args:?}"
            );
        }
    }
}
