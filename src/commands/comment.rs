//! The glue of `--comment`: after `plan` or `apply` printed their result, post it through
//! [`crate::comment`], print a failure once, and pick the exit code. Commenting never hides the
//! run's own exit code: a failure turns a success into exit 1, and leaves any other code as it
//! was.

use std::path::Path;
use std::time::Duration;

use crate::apply::Report;
use crate::apply::markdown::{AuditAnchor, apply_markdown};
use crate::cli::CommentArgs;
use crate::comment::{self, Forge, Target};
use crate::error::{Exit, Failure};
use crate::plan::Plan;
use crate::render;

/// Where `args` say to comment, if they do.
fn target(args: &CommentArgs) -> Option<Target> {
    Some(Target {
        forge: args.comment?,
        pr: args.pr,
        limit: args.comment_limit,
    })
}

/// The exit code after commenting: the run's own when that is not success; 1 when commenting
/// failed after a success.
fn keep(exit: Exit, failed: bool) -> Exit {
    if failed && exit == Exit::Success {
        Exit::Error
    } else {
        exit
    }
}

/// After `plan` printed the plan: posts it (`--comment`) within `timeout` (`--timeout`), and
/// appends it to GITHUB_STEP_SUMMARY. Failures are printed here; returns the exit code to end
/// with.
pub async fn after_plan(
    args: &CommentArgs,
    config: &Path,
    plan: &Plan,
    exit: Exit,
    quiet: bool,
    timeout: Duration,
) -> Exit {
    let Some(target) = target(args) else {
        return exit;
    };
    let mut md = Vec::new();
    if let Err(e) = render::markdown(plan, usize::MAX, &mut md) {
        Failure::from(e).print();
        return keep(exit, true);
    }
    let md = String::from_utf8_lossy(&md);
    // The comment's own marker names the config and domain: the renderer's generic first line
    // is left out.
    let md = md
        .strip_prefix(render::MARKDOWN_MARKER)
        .map_or(&*md, |rest| rest.trim_start_matches('\n'))
        .to_string();
    let mut failed = false;
    if target.forge == Forge::Github
        && let Err(f) = comment::append_step_summary(&md)
    {
        f.print();
        failed = true;
    }
    match comment::post_plan(target, config, &plan.domain, &md, timeout).await {
        Ok(done) if !quiet => crate::secrets::errln!("{done}"),
        Ok(_) => {}
        Err(f) => {
            f.print();
            failed = true;
        }
    }
    keep(exit, failed)
}

/// After `apply` printed its report: posts it as a new comment (`--comment`) within `timeout`
/// (`--timeout`), naming the run's audit record when there is one. Failures are printed here;
/// returns the exit code for an apply that otherwise succeeded.
pub async fn after_apply(
    args: &CommentArgs,
    config: &Path,
    domain: &str,
    report: &Report,
    audit: Option<&AuditAnchor>,
    quiet: bool,
    timeout: Duration,
) -> Exit {
    let Some(target) = target(args) else {
        return Exit::Success;
    };
    let body = |marker: &str, limit: usize| apply_markdown(marker, domain, report, audit, limit);
    match comment::post_apply(target, config, domain, body, timeout).await {
        Ok(done) => {
            if !quiet {
                crate::secrets::errln!("{done}");
            }
            Exit::Success
        }
        Err(f) => {
            f.print();
            Exit::Error
        }
    }
}
