//! Before anything is sent: the restore planned against the tenant, the checks that refuse
//! it (undeclared members, missing scopes) and the confirmation.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{IsTerminal, Write};

use super::print::write_plan;
use super::{CREATE_MEMBER_ROLES, CREATE_MEMBERS, READ_ROLES};
use crate::apply::restore::{self, Filter, RestorePlan, RunRecord};
use crate::auth0::Client;
use crate::cli::RestoreArgs;
use crate::commands::{Connection, make_plan};
use crate::config::DesiredState;
use crate::error::Failure;
use crate::plan::Plan;
use crate::render::{clean, plural};

/// Plans against the tenant and prints the restore. Nothing is sent.
pub(super) async fn prepare(
    conn: &Connection,
    record: &RunRecord,
    desired: &DesiredState,
    args: &RestoreArgs,
) -> Result<RestorePlan, Failure> {
    if record.domain != conn.name {
        return Err(Failure {
            error: format!(
                "run `{}` was made against `{}`, not `{}`",
                clean(&record.run_id),
                clean(&record.domain),
                clean(&conn.name)
            )
            .into(),
            hint: Some("restore a run against the tenant it removed members from".into()),
        });
    }
    let names: HashSet<&str> = record
        .organizations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    let ids: HashSet<&str> = record.organizations.iter().map(|o| o.id.as_str()).collect();
    let narrowed = desired.only(&names, &ids);
    let fresh: Plan = if narrowed.organizations.is_empty() {
        Plan {
            format_version: 1,
            domain: conn.name.clone(),
            config_sha256: desired.sha256.clone(),
            created_at: String::new(),
            organizations: vec![],
            summary: Default::default(),
            not_checked: vec![],
            provenance: None,
            plan_sha256: None,
        }
    } else {
        make_plan(conn, &narrowed).await?
    };
    let filter = Filter {
        orgs: args.orgs.clone(),
        users: args.users.clone(),
    };
    let exists = role_existence(&conn.client, record, &filter).await;
    let plan = restore::plan(record, &fresh, &filter, &|id| exists.get(id).copied());
    let mut out = crate::secrets::stdout();
    write_plan(record, &plan, &fresh, &mut out)?;
    out.flush()?;
    Ok(plan)
}

/// Whether each role the chosen members held still exists (`GET /roles/{id}`), when the token
/// may read roles; a role it could not tell about is left out (not checked).
pub(super) async fn role_existence(
    client: &Client,
    record: &RunRecord,
    filter: &Filter,
) -> HashMap<String, bool> {
    let mut out = HashMap::new();
    let granted = client.granted_scopes().await.ok().flatten();
    if granted.as_ref().is_some_and(|g| !g.contains(READ_ROLES)) {
        return out;
    }
    let ids: BTreeMap<&str, ()> = record
        .organizations
        .iter()
        .filter(|o| {
            filter.orgs.is_empty() || filter.orgs.iter().any(|f| *f == o.name || *f == o.id)
        })
        .flat_map(|o| &o.removed)
        .filter(|r| filter.users.is_empty() || filter.users.contains(&r.user_id))
        .flat_map(|r| r.roles.iter().flatten())
        .map(|r| (r.id.as_str(), ()))
        .collect();
    for id in ids.keys() {
        if !crate::auth0::is_role_id(id) {
            out.insert(id.to_string(), false);
            continue;
        }
        match client.role(id).await {
            Ok(found) => {
                out.insert(id.to_string(), found.is_some());
            }
            Err(e) => tracing::debug!("role {id} could not be read: {e}"),
        }
    }
    out
}

pub(super) fn undeclared_refusal(plan: &RestorePlan) -> Failure {
    let listed: Vec<String> = plan
        .organizations
        .iter()
        .flat_map(|o| {
            o.undeclared
                .iter()
                .map(move |u| format!("{} in `{}`", clean(u), clean(&o.name)))
        })
        .collect();
    Failure {
        error: format!(
            "refusing to restore: the config does not declare {} ({}); nothing was sent",
            plural(listed.len(), "member", "members"),
            listed.join(", ")
        )
        .into(),
        hint: Some(
            "Git is the source of truth: revert the change first, or declare them (so the next apply does not remove them again); or leave them out with --user/--org".into(),
        ),
    }
}

/// The refusal of a restore whose token is known to lack a scope it needs.
pub(super) async fn lacking_scopes(client: &Client, plan: &RestorePlan) -> Option<Failure> {
    let granted = match client.granted_scopes().await {
        Ok(Some(g)) => g,
        _ => return None,
    };
    let needed = [
        (plan.members() > 0, CREATE_MEMBERS),
        (plan.role_assignments() > 0, CREATE_MEMBER_ROLES),
    ];
    let lacking: Vec<String> = needed
        .iter()
        .filter(|(need, s)| *need && !granted.contains(*s))
        .map(|(_, s)| format!("`{s}`"))
        .collect();
    if lacking.is_empty() {
        return None;
    }
    let scopes = lacking.join(" and ");
    Some(Failure {
        error: format!("refusing to restore: the token lacks {scopes}; nothing was sent").into(),
        hint: Some(format!(
            "grant {scopes} to the application (Applications > APIs > Auth0 Management API > Machine to Machine Applications), then run restore again"
        )),
    })
}

/// Asks for `yes` on a terminal; without one, refuses unless `--auto-approve`.
pub(super) fn confirm(auto_approve: bool, plan: &RestorePlan) -> Result<bool, Failure> {
    use std::io::BufRead;
    if auto_approve {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure {
            error: "refusing to restore without confirmation: stdin is not a terminal".into(),
            hint: Some("review what is listed above, then run again with `--auto-approve`".into()),
        });
    }
    let mut err = crate::secrets::stderr();
    write!(
        err,
        "\norgsync will add back {} (and assign their roles) in {}.\nOnly `yes` will be accepted to approve.\n\n  Enter a value: ",
        plural(plan.members(), "member", "members"),
        plural(plan.acting(), "organization", "organizations"),
    )?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}
