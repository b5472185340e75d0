//! `orgsync plan`: read the tenant, print the plan (text, JSON or Markdown), optionally save it.

use std::io::Write;

use super::{connect, load_config, make_plan, runtime, stdout_color};
use crate::cli::{OutputFormat, PlanArgs};
use crate::comment;
use crate::error::{Exit, Failure};
use crate::render;
use crate::saved::write_plan_file;

/// `orgsync plan`.
pub fn run(args: &PlanArgs) -> Result<Exit, Failure> {
    let desired = load_config(&args.config)?;
    let rt = runtime()?;
    let plan = rt.block_on(async {
        let conn = connect(&args.connection, None).await?;
        make_plan(&conn, &desired).await
    })?;
    if let Some(out) = &args.out {
        write_plan_file(out, &plan)?;
    }
    let mut stdout = crate::secrets::stdout();
    match args.format {
        OutputFormat::Text => render::text(
            &plan,
            &render::TextOptions {
                color: stdout_color(),
            },
            &mut stdout,
        )?,
        OutputFormat::Json => render::json(&plan, &mut stdout)?,
        OutputFormat::Markdown => {
            render::markdown(&plan, render::GITHUB_COMMENT_LIMIT, &mut stdout)?
        }
    }
    stdout.flush()?;
    let exit = if args.detailed_exitcode && plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    };
    // Posting the plan (`--comment`) never hides the plan's own exit code.
    Ok(rt.block_on(comment::after_plan(
        &args.comment,
        &args.config,
        &plan,
        exit,
        super::quiet(),
    )))
}
