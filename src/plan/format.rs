//! The plan as JSON (`--format json`, `--out`): its field order, the fields computed when it is
//! written, and the format version apply reads.

use serde::Serialize;

use super::*;

/// The JSON plan's version; `apply` refuses any other.
pub const FORMAT_VERSION: u32 = 1;

/// The plan as written: [`Plan`] with `summary.remove_blocked` after `summary.remove`. Reading
/// a plan ignores it (it is recomputed from the organizations when written again), so plans
/// written before it existed still read.
#[derive(Serialize)]
pub(super) struct PlanJson {
    format_version: u32,
    domain: String,
    config_sha256: String,
    created_at: String,
    organizations: Vec<OrgPlan>,
    summary: SummaryJson,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_checked: Vec<NotChecked>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<crate::provenance::Provenance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan_sha256: Option<String>,
}

#[derive(Serialize)]
pub(super) struct SummaryJson {
    remove: usize,
    remove_blocked: usize,
    missing: usize,
    protected_kept: usize,
    organizations_changed: usize,
    blocked: usize,
    organizations: usize,
    drift: bool,
    // Left out at 0, so plans written before it keep their digest.
    #[serde(skip_serializing_if = "is_zero")]
    invited: usize,
    revoke_invitations: usize,
    undeclared_invitations: usize,
    can_rejoin: usize,
}

impl From<Plan> for PlanJson {
    fn from(p: Plan) -> PlanJson {
        let remove_blocked = p.remove_blocked();
        let s = p.summary;
        PlanJson {
            format_version: p.format_version,
            domain: p.domain,
            config_sha256: p.config_sha256,
            created_at: p.created_at,
            organizations: p.organizations,
            summary: SummaryJson {
                remove: s.remove,
                remove_blocked,
                missing: s.missing,
                protected_kept: s.protected_kept,
                organizations_changed: s.organizations_changed,
                blocked: s.blocked,
                organizations: s.organizations,
                drift: s.drift,
                invited: s.invited,
                revoke_invitations: s.revoke_invitations,
                undeclared_invitations: s.undeclared_invitations,
                can_rejoin: s.can_rejoin,
            },
            not_checked: p.not_checked,
            provenance: p.provenance,
            plan_sha256: p.plan_sha256,
        }
    }
}

/// The versioned JSON plan, pretty-printed, with a trailing newline: what `--format json`
/// prints and `--out` writes.
pub fn write_json(plan: &Plan, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, plan).map_err(std::io::Error::other)?;
    writeln!(out)
}
