//! `orgsync completions SHELL` and `orgsync man`: a shell completion script and the man pages,
//! both generated from the same clap definitions as the parser (clap_complete, clap_mangen), so
//! they cannot drift from the flags. They need no config and no network; the release archives
//! ship their output (`completions/`, `man/`).

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Exit, Failure};
use crate::files;

/// The name the scripts complete and the man page is titled with.
const BIN: &str = "orgsync";

/// `orgsync completions SHELL`: the completion script on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<Exit, Failure> {
    // Generated into memory first: clap_complete panics on a failed write, and a reader that
    // closes early (`| head`) must end quietly, as every other command does.
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut buf);
    write_stdout(&buf)
}

/// `orgsync man`: the man page (roff, section 1) on stdout; with a directory, `orgsync.1` and
/// one page per visible subcommand (`orgsync-plan.1`, …, which the main page's SUBCOMMANDS
/// section refers to) written there.
pub fn man(dir: Option<&Path>) -> Result<Exit, Failure> {
    let mut cmd = Cli::command().name(BIN).disable_help_subcommand(true);
    // Built once so every subcommand carries its display name (`orgsync-plan`).
    cmd.build();
    let Some(dir) = dir else {
        let mut buf = Vec::new();
        page(cmd).render(&mut buf)?;
        return write_stdout(&buf);
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::new(
            format!("could not create the directory `{}`: {e}", dir.display()),
            None,
        )
    })?;
    let mut pages = vec![cmd.clone()];
    pages.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    for sub in pages {
        let man = page(sub);
        let path = dir.join(man.get_filename());
        let mut buf = Vec::new();
        man.render(&mut buf)?;
        files::write_atomically(&path, &buf).map_err(|e| {
            Failure::new(format!("could not write `{}`: {e}", path.display()), None)
        })?;
    }
    Ok(Exit::Success)
}

/// A page whose footer names orgsync and its version (a subcommand has no version of its own).
fn page(cmd: clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd).source(format!("{BIN} {}", env!("CARGO_PKG_VERSION")))
}

fn write_stdout(bytes: &[u8]) -> Result<Exit, Failure> {
    let mut out = crate::secrets::stdout();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(Exit::Success)
}
