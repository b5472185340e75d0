//! orgsync keeps Auth0 Organization membership in Git.
//!
//! A YAML file declares the desired members of each organization; orgsync reads the live
//! membership from the Auth0 Management API, computes the difference, shows a plan, and on
//! apply removes exactly the members the reviewed plan says should go.
//!
//! # The code map
//!
//! This is the one map of the code; `cargo doc --no-deps --document-private-items --open`
//! renders it with every link live, and `.ci/run` builds it with warnings denied, so a rename
//! breaks the build rather than the map. The binary ([`main`](../orgsync/index.html)) is a thin
//! shell over [`run`]; every piece is a module here so it can be tested.
//!
//! **The pipeline**, one folder a stage, each using only the stages before it:
//!
//! 1. [`config`]: the desired-state file, loaded ([`config::load`]) apart from parsed
//!    ([`config::from_str`]), every mistake as `FILE:LINE:COLUMN`; its JSON Schema.
//! 2. [`observe`]: reads the tenant, completely or not at all, through [`auth0`]: organizations
//!    resolved ([`observe::lookup`]), members read, emails and users resolved
//!    ([`observe::users`]), every failure worded ([`observe::error`]).
//! 3. [`plan`]: the pure decisions. Its [`model`](plan::model), the JSON
//!    [`format`](plan::format) with its digest, the [`input`](plan::input) (the join of config and
//!    tenant by key), the [`rules`](plan::rules), and [`saved`](plan::saved) plans on disk.
//! 4. [`render`]: the plan as [`text`](mod@render::text), [`markdown`](mod@render::markdown) or
//!    [`json`](mod@render::json), around the membership [`diff`](render::diff); to any `Write`.
//! 5. [`apply`]: the removals (and revocations) through the write-ahead
//!    [`ledger`](apply::ledger), their [`report`](apply::report), interrupts
//!    ([`interrupt`](apply::interrupt)), group roles recorded before removal
//!    ([`group_roles`](apply::group_roles)), and the exact undo ([`restore`](apply::restore)):
//!    a run [`read`](apply::restore::read) from the log, [`plan`](mod@apply::restore::plan)ned,
//!    and [`execute`](mod@apply::restore::execute)d; the [`audit`](apply::audit) log's lines
//!    and their chain, [`verify`](apply::audit::verify) and the evidence
//!    [`report`](apply::audit::report).
//!
//! **The Auth0 client**, [`auth0`]: the [`Client`](auth0::Client) ([`client`](auth0::client)),
//! its [`token`](auth0::token) and its endpoints by area
//! ([`organizations`](auth0::organizations), [`members`](auth0::members),
//! [`reentry`](auth0::reentry), [`roles`](auth0::roles)) over one
//! [`retry`](auth0::retry) transport that paces by bucket ([`pacer`](auth0::pacer)); paged
//! lists kept as sets keyed by id ([`paging`](auth0::paging)); [`domain`](auth0::domain),
//! [`credentials`](auth0::credentials), [`error`](auth0::error), [`model`](auth0::model), and
//! the client's own [`scrub`](auth0::scrub) of echoed secrets.
//!
//! **Pull-request comments**, [`comment`]: one client ([`forge`](comment::forge)) over a
//! per-forge description that [`github`](comment::github) and [`gitlab`](comment::gitlab) read
//! from their environment, one [`http`](comment::http) layer and one comment
//! [`list`](comment::list) reader; the [`marker`](comment::marker) that names orgsync's
//! comments, their [`author`](comment::author) check, the [`sync`](comment::sync) that keeps
//! them in step, the [`split`](comment::split) of a long plan into parts, the step
//! [`summary`](comment::summary), and the typed [`error`](comment::error)s.
//!
//! **The edges**, where text and bytes cross the process boundary: [`bounded`] (the one reader
//! with a byte cap for answers, files and pipes), [`secrets`] (the one sink that scrubs every
//! secret from stdout, stderr, logs, files and comment bodies), [`files`] (written whole or not
//! at all), [`provenance`] (where a change came from: Git and CI).
//!
//! **The commands**: [`cli`] turns arguments into settings (clap), [`commands`] has one module a
//! subcommand and the glue between stages ([`apply`](commands::apply) with its
//! [`streamed`](commands::apply::streamed) saved-plan apply, its checks, audit records and
//! outcome, [`restore`](commands::restore)
//! with its [`prepare`](mod@commands::restore::prepare) and
//! [`print`](mod@commands::restore::print)),
//! [`error`] prints a failure once and names the exit codes, [`progress`] draws the progress bar.
//!
//! **Shared small parts**: [`member`] (a member and their roles), [`reentry`] (the doors back
//! in: auto-membership, signup, invitations), [`export`] (a tenant as `orgsync.yaml`), [`tasks`]
//! (tasks joined by key, each ending in a value), [`text`] (counted nouns, text made safe for a
//! terminal, edit distance), and from `orgsync-common` the identifier grammar ([`ids`]) and time
//! formats ([`timefmt`]).
//!
//! The emulator is the `orgsync-emulator` crate, behind the default `emulator` feature.

pub mod apply;
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
    //! Every arrow points down: at every level of the module tree (the top-level modules of a
    //! crate, the files of one folder), no module uses, outside its tests, a sibling that uses it
    //! back, directly or through others; so each can be read and changed on its own. A module's
    //! use of its own parent (`super::`) or of its own children is not an arrow between
    //! siblings. Both crates with code of their own are checked: this one and the emulator.

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    type Module = Vec<String>;

    /// Every `.rs` file under `root`, as its module path (`plan/rules.rs` is `plan::rules`,
    /// `plan/mod.rs` is `plan`, `lib.rs` the crate), with its code outside tests and comments.
    fn modules(root: &Path) -> BTreeMap<Module, String> {
        let mut out = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let rel = path.strip_prefix(root).unwrap().with_extension("");
                let mut m: Module = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if m.last().is_some_and(|l| l == "mod") {
                    m.pop();
                }
                if m == ["lib"] || m == ["main"] {
                    m.clear();
                }
                if m.last().is_some_and(|l| l == "tests") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let code: String = text
                    .split("#[cfg(test)]\nmod tests")
                    .next()
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                out.insert(m, code);
            }
        }
        out
    }

    /// The identifier path after `at` in `code` (`a::b::c`), as its segments.
    fn path_after(code: &str, at: usize) -> Vec<String> {
        let mut segs = Vec::new();
        let mut rest = &code[at..];
        loop {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                break;
            }
            rest = &rest[name.len()..];
            segs.push(name);
            match rest.strip_prefix("::") {
                Some(r) => rest = r,
                None => break,
            }
        }
        segs
    }

    /// The modules `m`'s code names: `crate::a::b…`, `super::…` (resolved against `m`), and the
    /// names of a `use super::{…}` group.
    fn references(m: &Module, code: &str) -> Vec<Module> {
        let mut refs = Vec::new();
        for (i, _) in code.match_indices("crate::") {
            if code[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            refs.push(path_after(code, i + "crate::".len()));
        }
        for (i, _) in code.match_indices("super::") {
            if code[..i].ends_with("super::")
                || code[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            {
                continue;
            }
            let mut at = i;
            let mut base = m.clone();
            while code[at..].starts_with("super::") {
                base.pop();
                at += "super::".len();
            }
            if code[at..].starts_with('{') {
                let group = &code[at + 1..code[at..].find('}').map_or(at + 1, |e| at + e)];
                for part in group.split(',') {
                    let first = part.trim().split("::").next().unwrap_or("").trim();
                    if !first.is_empty() && first != "self" {
                        refs.push([base.clone(), vec![first.to_string()]].concat());
                    }
                }
            } else {
                refs.push([base, path_after(code, at)].concat());
            }
        }
        refs
    }

    /// Sibling → siblings it uses, over the whole tree: each reference from `m` to a module `t`
    /// that is neither `m`'s ancestor nor its descendant is an arrow between the children of
    /// their lowest common ancestor.
    fn arrows(root: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
        let mods = modules(root);
        let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
        for (m, code) in &mods {
            for r in references(m, code) {
                let Some(t) = (1..=r.len())
                    .rev()
                    .map(|k| r[..k].to_vec())
                    .find(|p| mods.contains_key(p))
                else {
                    continue;
                };
                let common = m.iter().zip(&t).take_while(|(a, b)| a == b).count();
                if common == m.len() || common == t.len() {
                    continue;
                }
                edges
                    .entry(m[..=common].to_vec())
                    .or_default()
                    .insert(t[..=common].to_vec());
            }
        }
        edges
    }

    /// A cycle of arrows, if there is one.
    fn cycle(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<String>> {
        fn visit(
            u: &Module,
            edges: &BTreeMap<Module, BTreeSet<Module>>,
            done: &mut BTreeSet<Module>,
            path: &mut Vec<Module>,
        ) -> Option<Vec<String>> {
            if let Some(at) = path.iter().position(|p| p == u) {
                let mut c: Vec<String> = path[at..].iter().map(|m| m.join("::")).collect();
                c.push(u.join("::"));
                return Some(c);
            }
            if !done.insert(u.clone()) {
                return None;
            }
            path.push(u.clone());
            for v in edges.get(u).into_iter().flatten() {
                if let Some(c) = visit(v, edges, done, path) {
                    return Some(c);
                }
            }
            path.pop();
            None
        }
        let mut done = BTreeSet::new();
        edges
            .keys()
            .find_map(|u| visit(u, edges, &mut done, &mut Vec::new()))
    }

    #[test]
    fn no_module_uses_a_sibling_that_uses_it_back() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        for root in [here.join("src"), here.join("crates/orgsync-emulator/src")] {
            let edges = arrows(&root);
            assert!(
                edges.len() > 5,
                "the walk found the modules of {}: {edges:?}",
                root.display()
            );
            assert_eq!(
                cycle(&edges),
                None,
                "a cycle of imports in {}",
                root.display()
            );
        }
    }

    #[test]
    fn a_cycle_between_siblings_or_files_is_found() {
        let dir = std::env::temp_dir().join(format!("orgsync-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("auth0")).unwrap();
        let write = |p: &str, t: &str| std::fs::write(dir.join(p), t).unwrap();
        write("lib.rs", "mod auth0;\nmod plan;\n");
        write("plan.rs", "use crate::auth0::Client;\n");
        write("auth0/mod.rs", "mod client;\nmod retry;\n");
        // A file that uses its sibling, and one that uses it back through `super::`.
        write("auth0/client.rs", "use super::retry::send;\n");
        write("auth0/retry.rs", "use super::{client::Client, mod_item};\n");
        let c = cycle(&arrows(&dir)).unwrap();
        assert!(c.contains(&"auth0::client".to_string()), "{c:?}");
        // Without the arrow back: none. A use of the parent is no arrow.
        write("auth0/retry.rs", "use super::mod_item;\n");
        assert_eq!(cycle(&arrows(&dir)), None);
        // Top-level modules through `crate::`: plan uses auth0, and auth0 (in a file) uses plan.
        write("auth0/retry.rs", "use crate::plan::Plan;\n");
        let c = cycle(&arrows(&dir)).unwrap();
        assert_eq!(c.first().map(String::as_str), c.last().map(String::as_str));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
