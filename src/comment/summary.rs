//! The GitHub Actions step summary: the plan appended to the file GITHUB_STEP_SUMMARY names.

use std::io::Write;

use super::env;
use super::error::Error;
use crate::error::Failure;
use crate::text::clean;

/// Appends the plan to the file GITHUB_STEP_SUMMARY names (when it is set).
pub fn append_step_summary(md: &str) -> Result<(), Failure> {
    let Some(path) = env("GITHUB_STEP_SUMMARY") else {
        return Ok(());
    };
    let written = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut f| {
            f.write_all(crate::secrets::scrub(md).as_bytes())?;
            f.write_all(b"\n")?;
            f.flush()
        });
    written.map_err(|error| {
        Failure::hinted(Error::Summary {
            path: clean(&path),
            error,
        })
    })
}
