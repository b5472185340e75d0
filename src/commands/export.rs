//! `orgsync export`: write an orgsync.yaml that reproduces the tenant's current membership.

use std::io::Write;
use std::time::SystemTime;

use super::{connect, is_stdout, quiet, read_all_members, runtime};
use crate::cli::ExportArgs;
use crate::error::{Exit, Failure};

/// `orgsync export`.
pub fn run(args: &ExportArgs) -> Result<Exit, Failure> {
    // `-o -` is stdout, as no `-o` is.
    let output = args.output.as_deref().filter(|o| !is_stdout(o));
    if let Some(out) = output
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
        // A token that cannot be had is said once, as that, before any organization is read.
        client.authenticate().await.map_err(Failure::hinted)?;
        let orgs = if args.orgs.is_empty() {
            client.organizations().await.map_err(Failure::hinted)?
        } else {
            let mut found = Vec::new();
            let mut not_found = Vec::new();
            let mut missing: Vec<&String> = Vec::new();
            let mut failures = Vec::new();
            let mut hint = None;
            for name in &args.orgs {
                match client.organization_by_name(name).await {
                    Ok(o) => found.push(o),
                    Err(crate::auth0::Error::Api { answer, .. }) if answer.status == 404 => {
                        not_found.push(format!("`{}`", crate::render::clean(name)));
                        missing.push(name);
                    }
                    Err(e) => {
                        hint = hint.or_else(|| e.hint());
                        failures.push(format!(
                            "organization `{}`: {}",
                            crate::render::clean(name),
                            crate::auth0::one_line(&e)
                        ));
                    }
                }
            }
            if !failures.is_empty() || !not_found.is_empty() {
                // The tenant's names, for a "did you mean" (none when they cannot be listed).
                let suggestion = if not_found.is_empty() {
                    None
                } else {
                    let names: Vec<String> = match client.organizations().await {
                        Ok(orgs) => orgs.into_iter().map(|o| o.name).collect(),
                        Err(_) => Vec::new(),
                    };
                    missing.iter().find_map(|n| {
                        let s = crate::text::closest(n, &names)?;
                        Some(format!(
                            "did you mean `{}` (for `{}`)? ",
                            crate::render::clean(&s),
                            crate::render::clean(n)
                        ))
                    })
                };
                let mut lines = Vec::new();
                if !not_found.is_empty() {
                    let what = if not_found.len() == 1 { "organization" } else { "organizations" };
                    lines.push(format!("{what} {} not found in the tenant", not_found.join(", ")));
                }
                lines.extend(failures);
                let hint = if not_found.is_empty() {
                    hint.unwrap_or_else(|| "`--org` takes organization names; check them and AUTH0_DOMAIN".into())
                } else {
                    format!("{}`--org` takes organization names (not ids) as the tenant spells them; `orgsync export` without `--org` exports every organization", suggestion.unwrap_or_default())
                };
                return Err(Failure {
                    error: format!("{}; nothing was exported", lines.join("\n  ")).into(),
                    hint: Some(hint),
                });
            }
            found
        };
        // Pending invitations too, where the token may read them: an invitee is declared
        // (`{email: …}`), so a plan of the exported file shows them invited, not as drift.
        let scopes = client.granted_scopes().await.map_err(Failure::hinted)?;
        let reach = crate::observe::Reach {
            invitations: crate::observe::Reach::from_scopes(scopes.as_ref()).invitations,
            ..crate::observe::Reach::MEMBERS
        };
        let observed = read_all_members(
            &client,
            orgs,
            reach,
            "members could not be read; nothing was exported",
        )
        .await?;
        Ok::<_, Failure>(crate::export::to_yaml(
            &observed,
            &client.domain().name(),
            &crate::timefmt::rfc3339(SystemTime::now()),
        ))
    })?;
    match output {
        Some(path) => {
            crate::files::write_atomically(path, yaml.as_bytes())
                .map_err(|e| crate::plan::saved::cannot_write("", path, e))?;
            if !quiet() {
                crate::secrets::errln!("wrote {}", path.display());
            }
        }
        None => {
            let mut out = crate::secrets::stdout();
            out.write_all(yaml.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(Exit::Success)
}
