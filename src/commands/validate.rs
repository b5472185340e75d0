//! `orgsync validate`: the config checks, offline.

use std::io::Write;

use super::load_config;
use crate::cli::ValidateArgs;
use crate::error::{Exit, Failure};
use crate::render::plural;

/// `orgsync validate`: the config checks, offline.
pub fn run(args: &ValidateArgs) -> Result<Exit, Failure> {
    let desired = load_config(&args.config)?;
    let members: usize = desired.organizations.iter().map(|o| o.members.len()).sum();
    let mut out = crate::secrets::stdout();
    writeln!(
        out,
        "{}: valid: {}, {} declared",
        args.config.display(),
        plural(desired.organizations.len(), "organization", "organizations"),
        plural(members, "member", "members"),
    )?;
    out.flush()?;
    Ok(Exit::Success)
}
