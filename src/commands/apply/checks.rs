//! What apply checks before it sends anything: the prompt, the saved plan's tenant, the token's
//! scopes.

use std::io::{IsTerminal, Write};

use crate::auth0::Client;
use crate::error::Failure;
use crate::plan::Plan;
use crate::render;

/// Asks for `yes` on a terminal; without one, refuses unless `--auto-approve`.
pub(super) fn confirm(
    auto_approve: bool,
    removals: usize,
    invitations: usize,
    orgs: usize,
) -> Result<bool, Failure> {
    use std::io::BufRead;
    if auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure {
            error: "refusing to remove members without confirmation: stdin is not a terminal"
                .into(),
            hint: Some("review what is listed above, then run again with `--auto-approve`".into()),
        });
    }
    let mut err = crate::secrets::stderr();
    write!(
        err,
        "\norgsync will remove {}{} from {}.\nOnly `yes` will be accepted to approve.\n\n  Enter a value: ",
        render::plural(removals, "member", "members"),
        match invitations {
            0 => String::new(),
            n => format!(
                " and revoke {}",
                render::plural(n, "invitation", "invitations")
            ),
        },
        render::plural(orgs, "organization", "organizations"),
    )?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

/// Refuses a saved plan made for another tenant.
pub(super) fn check_domain(plan: &Plan, domain: &str) -> Result<(), Failure> {
    if plan.domain == domain {
        return Ok(());
    }
    Err(Failure {
        error: format!(
            "the plan was made for `{}`, not `{domain}`",
            render::clean(&plan.domain)
        )
        .into(),
        hint: Some(if plan.domain.starts_with(super::super::SANDBOX_PREFIX) {
            "the plan was made against a sandbox: pass `--sandbox TENANT.yaml` with the tenant file it was made from".into()
        } else {
            "apply a plan against the tenant it was made for".into()
        }),
    })
}

/// The scopes apply needs for what it is about to send: `delete:organization_members` for
/// removals, `delete:organization_invitations` for revocations.
const DELETE_MEMBERS: &str = "delete:organization_members";

const DELETE_INVITATIONS: &str = "delete:organization_invitations";

/// The refusal of an apply whose token is known to lack a scope it needs; None when it has them
/// or when what it was granted is not known (then the API decides, and a 403 names the scope).
pub(super) async fn lacking_scopes(
    client: &Client,
    removals: usize,
    invitations: usize,
) -> Option<Failure> {
    if removals + invitations == 0 {
        return None;
    }
    let granted = match client.granted_scopes().await {
        Ok(Some(granted)) => granted,
        Ok(None) => return None,
        Err(e) => {
            tracing::debug!("the token's scopes could not be read: {e}");
            return None;
        }
    };
    let needed = [
        (removals > 0, DELETE_MEMBERS, "remove members"),
        (
            invitations > 0,
            DELETE_INVITATIONS,
            "revoke invitations (`invitations: revoke`)",
        ),
    ];
    let lacking: Vec<(&str, &str)> = needed
        .iter()
        .filter(|(needed, scope, _)| *needed && !granted.contains(*scope))
        .map(|(_, scope, what)| (*scope, *what))
        .collect();
    if lacking.is_empty() {
        return None;
    }
    let scopes = lacking
        .iter()
        .map(|(s, _)| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(" and ");
    let why = lacking
        .iter()
        .map(|(s, what)| format!("`{s}` to {what}"))
        .collect::<Vec<_>>()
        .join(", ");
    let hint = match client.credentials().client_id() {
        Some(id) => format!(
            "grant {scopes} to the application `{}` in the Auth0 Dashboard (Applications > APIs > Auth0 Management API > Machine to Machine Applications), then run apply again",
            render::clean(id)
        ),
        None => format!(
            "use a Management API token (AUTH0_API_TOKEN) that grants {scopes}, or client credentials whose application is granted it (Applications > APIs > Auth0 Management API > Machine to Machine Applications)"
        ),
    };
    Some(Failure {
        error: format!(
            "refusing to apply: the token lacks {scopes} (apply needs {why}); nothing was sent"
        )
        .into(),
        hint: Some(hint),
    })
}
