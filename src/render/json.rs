//! The plan as JSON: the versioned plan, as `--out` writes it.

use std::io::{self, Write};

use crate::plan::Plan;

/// The versioned JSON plan, pretty-printed, with a trailing newline.
pub fn json(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, plan).map_err(io::Error::other)?;
    writeln!(out)
}
