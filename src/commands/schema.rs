//! `orgsync schema`: the JSON Schema of orgsync.yaml.

use std::io::Write;

use crate::config;
use crate::error::{Exit, Failure};

/// `orgsync schema`: the JSON Schema of orgsync.yaml.
pub fn run() -> Result<Exit, Failure> {
    let mut out = crate::secrets::stdout();
    out.write_all(config::schema_json().as_bytes())?;
    out.flush()?;
    Ok(Exit::Success)
}
