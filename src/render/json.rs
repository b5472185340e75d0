//! The plan as JSON: the versioned plan, as `--out` writes it.

use std::io::{self, Write};

use crate::plan::Plan;

/// The versioned JSON plan, pretty-printed, with a trailing newline (as saved plans are
/// written: [`crate::plan::write_json`]).
pub fn json(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    crate::plan::write_json(plan, out)
}
