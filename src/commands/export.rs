//! `orgsync export`: write an orgsync.yaml that reproduces the tenant's current membership.

use std::io::Write;
use std::time::SystemTime;

use super::{connect, quiet, read_all_members, runtime};
use crate::cli::ExportArgs;
use crate::error::{Exit, Failure};

/// `orgsync export`.
pub fn run(args: &ExportArgs) -> Result<Exit, Failure> {
    if let Some(out) = &args.output
        && out.exists()
        && !args.force
    {
        return Err(Failure {
            error: format!("`{}` already exists", out.display()).into(),
            hint: Some("pass `--force` to overwrite it, or choose another file with `-o`".into()),
        });
    }
    let rt = runtime()?;
    let yaml = rt.block_on(async {
        let conn = connect(&args.connection, None).await?;
        let client = conn.client.clone();
        let orgs = if args.orgs.is_empty() {
            client.organizations().await?
        } else {
            let mut found = Vec::new();
            let mut failures = Vec::new();
            for name in &args.orgs {
                match client.organization_by_name(name).await {
                    Ok(o) => found.push(o),
                    Err(e) => failures.push(format!("organization `{name}`: {e}")),
                }
            }
            if !failures.is_empty() {
                return Err(Failure {
                    error: format!(
                        "{} could not be read; nothing was exported\n  {}",
                        failures.len(),
                        failures.join("\n  ")
                    )
                    .into(),
                    hint: Some(
                        "`--org` takes organization names; check them and AUTH0_DOMAIN".into(),
                    ),
                });
            }
            found
        };
        let observed = read_all_members(
            &client,
            orgs,
            "members could not be read; nothing was exported",
        )
        .await?;
        Ok::<_, Failure>(crate::export::to_yaml(
            &observed,
            &client.domain().name(),
            &crate::timefmt::rfc3339(SystemTime::now()),
        ))
    })?;
    match &args.output {
        Some(path) => {
            crate::files::write_atomically(path, yaml.as_bytes()).map_err(|e| Failure {
                error: format!("cannot write `{}`: {e}", path.display()).into(),
                hint: None,
            })?;
            if !quiet() {
                eprintln!("wrote {}", path.display());
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(yaml.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(Exit::Success)
}
