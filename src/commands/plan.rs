//! `orgsync plan`: read the tenant, print the plan (text, JSON or Markdown), optionally save it.

use std::io::Write;

use super::{connect, is_stdout, load_config, make_plan, runtime, select_orgs, stdout_color};
use crate::cli::{OutputFormat, PlanArgs};
use crate::error::{Exit, Failure};
use crate::plan::saved::write_plan_file;
use crate::render;

/// `orgsync plan`.
pub fn run(args: &PlanArgs) -> Result<Exit, Failure> {
    let desired = select_orgs(load_config(&args.config)?, &args.orgs)?;
    let rt = runtime()?;
    let plan = rt.block_on(async {
        let conn = connect(&args.connection, None).await?;
        make_plan(&conn, &desired).await
    })?;
    let plan = plan.with_provenance(crate::provenance::Provenance::gather(&args.config));
    // `--out -`: the JSON plan is stdout's; the plan as `--format` says goes to stderr.
    let to_stdout = args.out.as_deref().is_some_and(is_stdout);
    if let Some(out) = args.out.as_deref().filter(|o| !is_stdout(o)) {
        write_plan_file(out, &plan)?;
    }
    if to_stdout {
        let mut stdout = crate::secrets::stdout();
        render::json(&plan, &mut stdout)?;
        stdout.flush()?;
    }
    let shown_on_stderr = to_stdout && args.format != OutputFormat::Json && !super::quiet();
    if !to_stdout || shown_on_stderr {
        let mut out: Box<dyn Write> = if to_stdout {
            Box::new(crate::secrets::stderr())
        } else {
            Box::new(crate::secrets::stdout())
        };
        let color = if to_stdout {
            super::stderr_color()
        } else {
            stdout_color()
        };
        match args.format {
            OutputFormat::Text => render::text(&plan, &render::TextOptions { color }, &mut out)?,
            OutputFormat::Json => render::json(&plan, &mut out)?,
            OutputFormat::Markdown => {
                render::markdown(&plan, render::GITHUB_COMMENT_LIMIT, &mut out)?
            }
        }
        out.flush()?;
    }
    // Drift as the config's `drift` setting counts it (`summary.drift`).
    let exit = if args.detailed_exitcode && plan.summary.drift {
        Exit::Changes
    } else {
        Exit::Success
    };
    // Posting the plan (`--comment`) never hides the plan's own exit code.
    Ok(rt.block_on(super::comment::after_plan(
        &args.comment,
        &args.config,
        &plan,
        exit,
        super::quiet(),
        args.connection.timeout_duration(),
    )))
}
