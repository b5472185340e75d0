//! orgsync keeps Auth0 Organization membership in Git.
//!
//! A YAML file declares the desired members of each organization; orgsync reads the live
//! membership from the Auth0 Management API, computes the difference, shows a plan, and on
//! apply removes exactly the members the reviewed plan says should go.
//!
//! The binary is a thin shell over [`run`]; every piece is a module here so it can be tested.
//! The pipeline: `config` (the desired-state file) → `observe` (read the tenant through the
//! `auth0` client) → `plan` (the pure diff) → `render` (text, JSON, Markdown) → `apply` (the
//! removals, recorded by `audit`). `commands` has one file per subcommand; `cli` turns arguments
//! into settings; `error` prints failures and names the exit codes. The emulator is the
//! `orgsync-emulator` crate, behind the default `emulator` feature.

pub mod apply;
pub mod audit;
pub mod auth0;
pub mod bounded;
pub mod cli;
pub mod commands;
pub mod comment;
pub mod config;
pub mod error;
pub mod export;
pub mod files;
pub mod member;
pub mod observe;
pub mod plan;
pub mod progress;
pub mod provenance;
pub mod reentry;
pub mod render;

pub mod secrets;
pub mod tasks;
pub mod text;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::{Exit, Failure};

pub use orgsync_common::{ids, timefmt};

/// Parses arguments, runs the command, prints any error once, and returns the exit code.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    secrets::scrub_panics();
    secrets::register_environment();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            print_clap(&e);
            if e.kind() == clap::error::ErrorKind::UnknownArgument
                && let Some(hint) = cli::single_dash_hint(&args)
            {
                crate::secrets::errln!("hint: {hint}");
            }
            return if e.use_stderr() {
                Exit::Error
            } else {
                Exit::Success
            }
            .into();
        }
    };
    init_logging(cli.verbose);
    commands::set_quiet(cli.quiet);
    let exit = match dispatch(cli.command) {
        Ok(exit) => exit.into(),
        Err(f) if f.is_broken_pipe() => Exit::Success.into(),
        Err(f) => {
            f.print();
            Exit::Error.into()
        }
    };
    // What the scrubbing writers held back (a tail that could have begun a secret).
    secrets::flush();
    exit
}

fn dispatch(command: Command) -> Result<Exit, Failure> {
    match command {
        Command::Validate(args) => commands::validate::run(&args),
        Command::Plan(args) => commands::plan::run(&args),
        Command::Apply(args) => commands::apply::run(&args),
        Command::Restore(args) => commands::restore::run(&args),
        Command::Export(args) => commands::export::run(&args),
        Command::Audit(command) => commands::audit::run(&command),
        Command::Schema => commands::schema::run(),
        Command::Completions { shell } => commands::completions::completions(shell),
        Command::Man { dir } => commands::completions::man(dir.as_deref()),
        #[cfg(feature = "emulator")]
        Command::Emulator(args) => commands::emulator::run(args),
    }
}

/// clap's message (help, version, or a usage error) as `clap::Error::print` writes it, in
/// colour on a terminal, through the scrubbing sink like all output.
fn print_clap(e: &clap::Error) {
    use std::io::Write;
    let to_stderr = e.use_stderr();
    let terminal = if to_stderr {
        secrets::stderr_is_terminal()
    } else {
        secrets::stdout_is_terminal()
    };
    let color = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let styled = e.render();
    let text = if color {
        styled.ansi().to_string()
    } else {
        styled.to_string()
    };
    let _ = if to_stderr {
        secrets::stderr().write_all(text.as_bytes())
    } else {
        secrets::stdout().write_all(text.as_bytes())
    };
}

/// Tracing logs on stderr (scrubbed, as all output), off unless asked for with `-v` (info) or
/// `-vv` (debug).
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => "orgsync=info",
        _ => "orgsync=debug",
    };
    let ansi = crate::secrets::stderr_is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_writer(secrets::stderr)
        .with_ansi(ansi)
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod layout {
    //! The layout holds: no module of this crate uses, outside its tests, a module that uses it
    //! back (directly or through others), so each can be read and changed on its own.

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Top-level module → the top-level modules its non-test code names as `crate::…`.
    fn edges() -> BTreeMap<String, BTreeSet<String>> {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let top = rel
                    .split('/')
                    .next()
                    .unwrap()
                    .trim_end_matches(".rs")
                    .to_string();
                if top == "lib" || top == "main" || !rel.ends_with(".rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // Code only: not the tests, not comments.
                let code: String = text
                    .split("#[cfg(test)]\nmod tests")
                    .next()
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                for (i, _) in code.match_indices("crate::") {
                    let name: String = code[i + 7..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != top {
                        edges.entry(top.clone()).or_default().insert(name);
                    }
                }
            }
        }
        edges
    }

    #[test]
    fn no_module_uses_a_module_that_uses_it_back() {
        let edges = edges();
        assert!(
            edges.contains_key("commands"),
            "the walk found the modules: {edges:?}"
        );
        for start in edges.keys() {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<&String> = edges[start].iter().collect();
            while let Some(m) = stack.pop() {
                assert_ne!(
                    m, start,
                    "`{start}` reaches itself through its imports: {edges:?}"
                );
                if seen.insert(m.clone()) {
                    stack.extend(edges.get(m).into_iter().flatten());
                }
            }
        }
    }
}
