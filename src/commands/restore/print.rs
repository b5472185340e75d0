//! The restore plan and its report as text, to any `Write`.

use std::collections::HashMap;
use std::io::Write;

use super::READ_ROLES;
use crate::apply::restore::{RestorePlan, RestoreReport, RunRecord};
use crate::plan::Plan;
use crate::render::{self, clean, plural};

fn role_names(roles: &[crate::member::Role]) -> String {
    roles
        .iter()
        .map(|r| clean(&r.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The restore, as it will be sent.
pub(super) fn write_plan(
    record: &RunRecord,
    plan: &RestorePlan,
    fresh: &Plan,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "Restore of run {} ({} on {}), re-checked against the config and the tenant:",
        clean(&record.run_id),
        clean(&record.time),
        clean(&record.domain)
    )?;
    let people: HashMap<(&str, &str), &crate::plan::Member> = fresh
        .organizations
        .iter()
        .flat_map(|o| {
            o.missing
                .iter()
                .map(move |m| ((o.id.as_str(), m.user_id.as_str()), m))
        })
        .collect();
    for o in &plan.organizations {
        writeln!(out, "\n  {} ({})", clean(&o.name), clean(&o.id))?;
        for a in &o.add {
            // As the tenant has them now, else as the run recorded them.
            let recorded = crate::member::Member {
                user_id: a.user_id.clone(),
                email: a.email.clone(),
                name: a.name.clone(),
                roles: None,
            };
            let who = people
                .get(&(o.id.as_str(), a.user_id.as_str()))
                .filter(|m| m.email.is_some() || m.name.is_some())
                .map_or_else(|| render::describe(&recorded), |m| render::describe(m));
            let roles = if a.roles_unknown {
                "  (roles not recorded by the run: added without roles)".to_string()
            } else if a.roles.is_empty() {
                String::new()
            } else {
                format!("  roles: {}", role_names(&a.roles))
            };
            let sign = if a.already_member { "~" } else { "+" };
            let roles = if a.already_member {
                format!("  a member again, lacking roles: {}", role_names(&a.roles))
            } else {
                roles
            };
            writeln!(out, "    {sign} {who}{roles}")?;
            if !a.group_roles.is_empty() {
                writeln!(
                    out,
                    "      group roles not assigned (they come back with the group): {}",
                    role_names(&a.group_roles)
                )?;
            }
        }
        for (role, users) in &o.roles_gone {
            writeln!(
                out,
                "    ! role `{}` ({}) no longer exists: not assigned to {}",
                clean(&role.name),
                clean(&role.id),
                users
                    .iter()
                    .map(|u| clean(u))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        for (u, why) in &o.not_restored {
            writeln!(out, "    = {}: {why}", clean(u))?;
        }
        for u in &o.undeclared {
            writeln!(
                out,
                "    x {}: not declared by the config: not restored",
                clean(u)
            )?;
        }
    }
    if !record.unknown.is_empty() {
        writeln!(
            out,
            "\n  {} with an unknown outcome in that run: not restored (check the tenant)",
            plural(record.unknown.len(), "member", "members")
        )?;
    }
    if !plan.roles_checked {
        writeln!(
            out,
            "\n  note: the token may not read roles (`{READ_ROLES}`): roles that no longer exist are not known until assigned"
        )?;
    }
    writeln!(
        out,
        "\nRestore: {} to add back, {} to assign roles to, in {}.",
        plural(plan.members(), "member", "members"),
        plan.role_assignments(),
        plural(plan.acting(), "organization", "organizations")
    )
}

/// The account of a restore.
pub(super) fn write_report(
    report: &RestoreReport,
    plan: &RestorePlan,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for (id, name, members) in &report.organizations {
        writeln!(out, "{} ({}):", clean(name), clean(id))?;
        for m in members {
            let u = clean(&m.user_id);
            match (&m.add_error, &m.roles_error) {
                (None, None) => writeln!(out, "  restored {u}")?,
                (None, Some(why)) => {
                    writeln!(out, "  restored {u}, roles NOT assigned: {}", clean(why))?
                }
                (Some(why), _) if m.unknown => writeln!(out, "  unknown  {u}: {}", clean(why))?,
                (Some(why), _) => writeln!(out, "  NOT restored {u}: {}", clean(why))?,
            }
        }
    }
    writeln!(
        out,
        "Restored {} of {}; {} POST {} ({} failed).",
        report.restored(),
        plural(plan.members(), "member", "members"),
        report.calls,
        if report.calls == 1 { "call" } else { "calls" },
        report.failed_calls
    )
}
