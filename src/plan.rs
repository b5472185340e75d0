//! Plan: a pure function of desired and observed state, with no I/O.
//!
//! Like a kube-rs reconciler's diff, this is where the decisions are made, so it is kept small
//! and exhaustively unit-tested: who is removed (current, neither declared nor protected), who
//! is missing (declared, not current; orgsync never adds anyone), who stays only because they
//! are protected, and whether a guard (`allow_empty`, `max_removals`) blocks an organization's
//! removals. `plan_from` joins the config and the observed tenant by key into the planner's
//! input. A plan also carries a digest of its own content, so a saved plan that was edited by
//! accident is refused by `apply`.
//!
//! The file is long because its tests are: about half of it is the unit tests of every rule,
//! kept beside the rules they hold.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::config::MaxRemovals;
use crate::config::{DesiredState, MemberRef, sha256_hex};
pub use crate::member::Member;
use crate::observe::{ObserveError, Observed};

/// The JSON plan's version; `apply` refuses any other.
pub const FORMAT_VERSION: u32 = 1;

/// Everything the planner needs for one organization.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgInput {
    pub id: String,
    pub name: String,
    /// User_ids from the config.
    pub declared: Vec<String>,
    /// User_ids never removed (defaults and the organization's own).
    pub protect: Vec<String>,
    pub max_removals: Option<MaxRemovals>,
    pub allow_empty: bool,
    /// Live members as read from Auth0.
    pub current: Vec<Member>,
    /// Members the config names by email, and the user_id each resolved to.
    pub resolved: Vec<ResolvedEmail>,
}

/// A member declared by email, and the user it resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedEmail {
    pub email: String,
    pub user_id: String,
}

/// The guard that stopped an organization's removals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// More removals than `max_removals` allows.
    MaxRemovals,
    /// Every member would go, and `allow_empty` is not set.
    AllowEmpty,
}

impl fmt::Display for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Guard::MaxRemovals => "max_removals",
            Guard::AllowEmpty => "allow_empty",
        })
    }
}

/// Why and by how much an organization is blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    pub guard: Guard,
    /// The configured limit, as written (`5`, `25%`), for `max_removals`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// Removals the limit allows, for `max_removals`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<usize>,
    pub removals: usize,
    pub current: usize,
    pub message: String,
}

/// The plan for one organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgPlan {
    pub id: String,
    pub name: String,
    pub current_count: usize,
    /// Members after apply, counting missing ones as if they were there: current - remove + missing.
    pub desired_count: usize,
    pub remove: Vec<Member>,
    pub missing: Vec<Member>,
    pub protected_kept: Vec<Member>,
    pub blocked: Option<Blocked>,
    /// Anything to remove or missing here: what a drift alert keys on.
    #[serde(default)]
    pub drift: bool,
    /// Members declared by email, with the user_id each resolved to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_emails: Vec<ResolvedEmail>,
    /// The whole current list, sorted by user_id, for the rendered diff. Not in the JSON.
    #[serde(skip)]
    pub current: Vec<Member>,
    /// The user_ids the config protects here; apply never removes them. Not in the JSON: a
    /// saved plan's protection always comes from the config.
    #[serde(skip)]
    pub protect: Vec<String>,
}

impl OrgPlan {
    /// Removals or missing members.
    pub fn has_changes(&self) -> bool {
        !self.remove.is_empty() || !self.missing.is_empty()
    }
}

/// Totals over the plan; `drift` is what a scheduled job alerts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Members apply would remove: the removals of organizations no guard blocks.
    /// (The JSON also carries `remove_blocked`, the removals of blocked organizations, computed
    /// from them when written: see [`Plan::remove_blocked`].)
    pub remove: usize,
    pub missing: usize,
    pub protected_kept: usize,
    pub organizations_changed: usize,
    pub blocked: usize,
    pub organizations: usize,
    /// Anything to remove or missing: the tenant differs from the config.
    pub drift: bool,
}

/// A whole plan, as `--format json` and `--out` write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "PlanJson")]
pub struct Plan {
    pub format_version: u32,
    pub domain: String,
    pub config_sha256: String,
    pub created_at: String,
    pub organizations: Vec<OrgPlan>,
    pub summary: Summary,
    /// sha256 over the plan's own JSON without this field; `apply` refuses an edited plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
}

/// The plan as written: [`Plan`] with `summary.remove_blocked` after `summary.remove`. Reading
/// a plan ignores it (it is recomputed from the organizations when written again), so plans
/// written before it existed still read.
#[derive(Serialize)]
struct PlanJson {
    format_version: u32,
    domain: String,
    config_sha256: String,
    created_at: String,
    organizations: Vec<OrgPlan>,
    summary: SummaryJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan_sha256: Option<String>,
}

#[derive(Serialize)]
struct SummaryJson {
    remove: usize,
    remove_blocked: usize,
    missing: usize,
    protected_kept: usize,
    organizations_changed: usize,
    blocked: usize,
    organizations: usize,
    drift: bool,
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
            },
            plan_sha256: p.plan_sha256,
        }
    }
}

impl Plan {
    /// Removals of blocked organizations: listed, never applied (`summary.remove_blocked`).
    pub fn remove_blocked(&self) -> usize {
        self.organizations
            .iter()
            .filter(|o| o.blocked.is_some())
            .map(|o| o.remove.len())
            .sum()
    }

    /// Removals or missing members anywhere.
    pub fn has_changes(&self) -> bool {
        self.organizations.iter().any(OrgPlan::has_changes)
    }

    /// sha256 of the plan's compact JSON with `plan_sha256` left out.
    pub fn digest(&self) -> String {
        let unsealed = Plan {
            plan_sha256: None,
            ..self.clone()
        };
        let bytes = serde_json::to_vec(&unsealed).unwrap_or_default();
        sha256_hex(&bytes)
    }

    /// Whether `plan_sha256` is present and matches the content.
    pub fn digest_matches(&self) -> bool {
        self.plan_sha256.as_deref() == Some(self.digest().as_str())
    }
}

/// Plans one organization.
pub fn plan_org(input: &OrgInput) -> OrgPlan {
    let declared: HashSet<&str> = input.declared.iter().map(String::as_str).collect();
    let protect: HashSet<&str> = input.protect.iter().map(String::as_str).collect();
    let mut current = input.current.clone();
    current.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    current.dedup_by(|a, b| a.user_id == b.user_id);
    let present: HashSet<&str> = current.iter().map(|m| m.user_id.as_str()).collect();

    let mut remove = Vec::new();
    let mut protected_kept = Vec::new();
    for m in &current {
        if declared.contains(m.user_id.as_str()) {
            continue;
        }
        if protect.contains(m.user_id.as_str()) {
            protected_kept.push(m.clone());
        } else {
            remove.push(m.clone());
        }
    }
    let mut missing: Vec<Member> = input
        .declared
        .iter()
        .filter(|u| !present.contains(u.as_str()))
        .map(|u| Member {
            user_id: u.clone(),
            // A member declared by email is shown with it.
            email: input
                .resolved
                .iter()
                .find(|r| &r.user_id == u)
                .map(|r| r.email.clone()),
            name: None,
        })
        .collect();
    missing.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    missing.dedup_by(|a, b| a.user_id == b.user_id);

    let blocked = guard(input, remove.len(), current.len());
    let drift = !remove.is_empty() || !missing.is_empty();
    let mut resolved_emails = input.resolved.clone();
    resolved_emails.sort_by(|a, b| a.email.cmp(&b.email));
    OrgPlan {
        id: input.id.clone(),
        name: input.name.clone(),
        current_count: current.len(),
        desired_count: current.len() - remove.len() + missing.len(),
        remove,
        missing,
        protected_kept,
        blocked,
        drift,
        resolved_emails,
        current,
        protect: input.protect.clone(),
    }
}

/// The first guard that trips, if any: `allow_empty`, then `max_removals`.
fn guard(input: &OrgInput, removals: usize, current: usize) -> Option<Blocked> {
    if removals == 0 {
        return None;
    }
    if removals == current && !input.allow_empty {
        return Some(Blocked {
            guard: Guard::AllowEmpty,
            limit: None,
            allowed: None,
            removals,
            current,
            message: format!(
                "removing all {current} members would empty the organization; set `allow_empty: true` to allow it"
            ),
        });
    }
    let limit = input.max_removals?;
    let allowed = match limit {
        MaxRemovals::Count(n) => usize::try_from(n).unwrap_or(usize::MAX),
        // floor(current * p / 100), computed so that 25% of 4 is exactly 1.
        MaxRemovals::Percent(p) => ((current as f64) * p / 100.0 + 1e-9).floor() as usize,
    };
    if removals <= allowed {
        return None;
    }
    let message = match limit {
        MaxRemovals::Count(_) => format!("{removals} removals exceed max_removals {limit}"),
        MaxRemovals::Percent(_) => {
            format!(
                "{removals} removals exceed max_removals {limit} ({allowed} of {current} current members)"
            )
        }
    };
    Some(Blocked {
        guard: Guard::MaxRemovals,
        limit: Some(limit.to_string()),
        allowed: Some(allowed),
        removals,
        current,
        message,
    })
}

/// Plans every organization, in input order, and seals the plan with its digest.
pub fn plan(domain: &str, config_sha256: &str, created_at: &str, inputs: &[OrgInput]) -> Plan {
    let organizations: Vec<OrgPlan> = inputs.iter().map(plan_org).collect();
    let summary = Summary {
        remove: organizations
            .iter()
            .filter(|o| o.blocked.is_none())
            .map(|o| o.remove.len())
            .sum(),
        missing: organizations.iter().map(|o| o.missing.len()).sum(),
        protected_kept: organizations.iter().map(|o| o.protected_kept.len()).sum(),
        organizations_changed: organizations.iter().filter(|o| o.has_changes()).count(),
        blocked: organizations.iter().filter(|o| o.blocked.is_some()).count(),
        organizations: organizations.len(),
        drift: organizations.iter().any(OrgPlan::has_changes),
    };
    let mut p = Plan {
        format_version: FORMAT_VERSION,
        domain: domain.to_string(),
        config_sha256: config_sha256.to_string(),
        created_at: created_at.to_string(),
        organizations,
        summary,
        plan_sha256: None,
    };
    p.plan_sha256 = Some(p.digest());
    p
}

/// The pure step: desired + observed → plan. Every organization and email of the config is
/// looked up by key in the observation; one that is missing stops the run (nothing is planned),
/// so a gap can never turn a declared member into a removal.
pub fn plan_from(
    domain: &str,
    desired: &DesiredState,
    observed: Observed,
    created_at: &str,
) -> Result<Plan, ObserveError> {
    let Observed { mut orgs, emails } = observed;
    let mut inputs = Vec::with_capacity(desired.organizations.len());
    for d in &desired.organizations {
        let o = orgs
            .remove(&d.org)
            .ok_or_else(|| ObserveError::Incomplete(format!("organization `{}`", d.org)))?;
        let mut declared = Vec::with_capacity(d.members.len());
        let mut resolved = Vec::new();
        for m in &d.members {
            match &m.member {
                MemberRef::UserId(u) => declared.push(u.clone()),
                MemberRef::Email(e) => {
                    let u = emails
                        .get(e)
                        .ok_or_else(|| ObserveError::Incomplete(format!("the email `{e}`")))?;
                    declared.push(u.clone());
                    resolved.push(ResolvedEmail {
                        email: e.clone(),
                        user_id: u.clone(),
                    });
                }
            }
        }
        inputs.push(OrgInput {
            id: o.id,
            name: o.name,
            declared,
            resolved,
            protect: d.protect.clone(),
            max_removals: d.max_removals,
            allow_empty: d.allow_empty,
            current: o.members,
        });
    }
    Ok(plan(domain, &desired.sha256, created_at, &inputs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str) -> Member {
        Member {
            user_id: id.into(),
            email: Some(format!("{id}@example.com")),
            name: None,
        }
    }

    fn input(current: &[&str], declared: &[&str]) -> OrgInput {
        OrgInput {
            id: "org_1".into(),
            name: "acme".into(),
            declared: declared.iter().map(|s| s.to_string()).collect(),
            protect: vec![],
            max_removals: None,
            allow_empty: false,
            current: current.iter().map(|s| m(s)).collect(),
            resolved: vec![],
        }
    }

    fn ids(ms: &[Member]) -> Vec<&str> {
        ms.iter().map(|m| m.user_id.as_str()).collect()
    }

    #[test]
    fn remove_missing_and_protected_kept() {
        let mut i = input(&["a|3", "a|1", "a|2", "a|9"], &["a|1", "a|5", "a|4"]);
        i.protect = vec!["a|9".into(), "a|1".into()];
        let p = plan_org(&i);
        assert_eq!(ids(&p.remove), ["a|2", "a|3"], "sorted by user_id");
        assert_eq!(ids(&p.missing), ["a|4", "a|5"]);
        assert_eq!(
            ids(&p.protected_kept),
            ["a|9"],
            "a|1 is declared, so not kept by protection"
        );
        assert_eq!(p.current_count, 4);
        assert_eq!(p.desired_count, 4 - 2 + 2);
        assert_eq!(p.remove[0].email.as_deref(), Some("a|2@example.com"));
        assert_eq!(p.missing[0].email, None);
        assert!(p.blocked.is_none());
        assert!(p.has_changes());
    }

    #[test]
    fn user_ids_compare_byte_for_byte() {
        let p = plan_org(&input(&["auth0|ABC", "auth0|abc "], &["auth0|abc"]));
        assert_eq!(ids(&p.remove), ["auth0|ABC", "auth0|abc "]);
        assert_eq!(ids(&p.missing), ["auth0|abc"]);
    }

    #[test]
    fn nothing_to_do() {
        let p = plan_org(&input(&["a|1", "a|2"], &["a|2", "a|1"]));
        assert!(!p.has_changes());
        assert_eq!((p.current_count, p.desired_count), (2, 2));
    }

    #[test]
    fn max_removals_count_at_and_over() {
        let mut i = input(&["a|1", "a|2", "a|3", "a|4"], &["a|1"]);
        i.max_removals = Some(MaxRemovals::Count(3));
        assert!(plan_org(&i).blocked.is_none(), "3 removals, limit 3");
        i.max_removals = Some(MaxRemovals::Count(2));
        let b = plan_org(&i).blocked.unwrap();
        assert_eq!(b.guard, Guard::MaxRemovals);
        assert_eq!((b.removals, b.allowed, b.current), (3, Some(2), 4));
        assert_eq!(b.limit.as_deref(), Some("2"));
        assert_eq!(b.message, "3 removals exceed max_removals 2");
        i.max_removals = Some(MaxRemovals::Count(0));
        assert!(
            plan_org(&i).blocked.is_some(),
            "a limit of 0 blocks any removal"
        );
    }

    #[test]
    fn max_removals_percent_floors() {
        // 25% of 4 is 1; of 7 is 1.75 -> 1.
        let mut i = input(&["a|1", "a|2", "a|3", "a|4"], &["a|1", "a|2", "a|3"]);
        i.max_removals = Some(MaxRemovals::Percent(25.0));
        assert!(plan_org(&i).blocked.is_none(), "1 of 4 at 25%");
        let mut j = input(
            &["a|1", "a|2", "a|3", "a|4", "a|5", "a|6", "a|7"],
            &["a|1", "a|2", "a|3", "a|4", "a|5"],
        );
        j.max_removals = Some(MaxRemovals::Percent(25.0));
        let b = plan_org(&j).blocked.unwrap();
        assert_eq!((b.removals, b.allowed), (2, Some(1)));
        assert_eq!(
            b.message,
            "2 removals exceed max_removals 25% (1 of 7 current members)"
        );
        j.max_removals = Some(MaxRemovals::Percent(30.0));
        assert!(plan_org(&j).blocked.is_none(), "30% of 7 is 2.1 -> 2");
        j.max_removals = Some(MaxRemovals::Percent(12.5));
        assert_eq!(
            plan_org(&j).blocked.unwrap().limit.as_deref(),
            Some("12.5%")
        );
    }

    #[test]
    fn percent_limits_are_not_off_by_one_in_floating_point() {
        // 0.57% of 10,000 is exactly 57; naive floating point gives 56.999… and floors to 56.
        let mut i = input(&[], &[]);
        i.current = (0..10_000).map(|n| Member::id(format!("a|{n}"))).collect();
        i.declared = i.current[57..].iter().map(|m| m.user_id.clone()).collect();
        i.max_removals = Some(MaxRemovals::Percent(0.57));
        assert!(plan_org(&i).blocked.is_none(), "57 removals are allowed");
        i.declared = i.current[58..].iter().map(|m| m.user_id.clone()).collect();
        assert_eq!(plan_org(&i).blocked.unwrap().allowed, Some(57));
    }

    #[test]
    fn allow_empty_guards_emptying_and_comes_first() {
        let mut i = input(&["a|1", "a|2"], &[]);
        i.max_removals = Some(MaxRemovals::Count(1));
        let b = plan_org(&i).blocked.unwrap();
        assert_eq!(b.guard, Guard::AllowEmpty);
        assert_eq!(
            b.message,
            "removing all 2 members would empty the organization; set `allow_empty: true` to allow it"
        );
        i.allow_empty = true;
        assert_eq!(
            plan_org(&i).blocked.unwrap().guard,
            Guard::MaxRemovals,
            "then max_removals still applies"
        );
        i.max_removals = None;
        assert!(plan_org(&i).blocked.is_none());
    }

    #[test]
    fn a_protected_member_keeps_the_organization_from_emptying() {
        let mut i = input(&["a|1", "a|2"], &[]);
        i.protect = vec!["a|2".into()];
        let p = plan_org(&i);
        assert_eq!(ids(&p.remove), ["a|1"]);
        assert!(p.blocked.is_none());
    }

    #[test]
    fn an_empty_organization_is_not_blocked() {
        let p = plan_org(&input(&[], &["a|1"]));
        assert!(p.blocked.is_none());
        assert_eq!(ids(&p.missing), ["a|1"]);
    }

    fn sample() -> Plan {
        let mut a = input(&["a|1", "a|2", "a|3"], &["a|1"]);
        a.protect = vec!["a|3".into()];
        let mut b = input(&["b|1"], &[]);
        b.id = "org_2".into();
        let c = input(&["c|1"], &["c|1"]);
        plan(
            "travel0.us.auth0.com",
            "ab".repeat(32).as_str(),
            "2026-11-28T12:00:00Z",
            &[a, b, c],
        )
    }

    #[test]
    fn summary_totals() {
        let p = sample();
        assert_eq!(
            p.summary,
            Summary {
                remove: 1,
                missing: 0,
                protected_kept: 1,
                organizations_changed: 2,
                blocked: 1,
                organizations: 3,
                drift: true
            }
        );
        assert!(p.has_changes());
        assert_eq!(p.remove_blocked(), 1, "the emptied organization is blocked");
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["summary"]["remove"], 1);
        assert_eq!(v["summary"]["remove_blocked"], 1);
        // A plan read back (or saved before `remove_blocked` existed) reads, and its digest holds.
        let back: Plan = serde_json::from_value(v.clone()).unwrap();
        assert!(back.digest_matches());
        let mut old = v;
        old["summary"]
            .as_object_mut()
            .unwrap()
            .remove("remove_blocked");
        assert!(serde_json::from_value::<Plan>(old).is_ok());
    }

    #[test]
    fn json_round_trips_in_product_md_field_order() {
        let p = sample();
        let text = serde_json::to_string(&p).unwrap();
        let keys = [
            "format_version",
            "domain",
            "config_sha256",
            "created_at",
            "organizations",
            "summary",
            "plan_sha256",
        ];
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        let org_keys = [
            "\"id\"",
            "\"name\"",
            "\"current_count\"",
            "\"desired_count\"",
            "\"remove\"",
            "\"missing\"",
            "\"protected_kept\"",
            "\"blocked\"",
            "\"drift\"",
        ];
        let org = &text[text.find("\"organizations\"").unwrap()..];
        let positions: Vec<usize> = org_keys.iter().map(|k| org.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{org}");
        assert!(text.contains("\"blocked\":null"));
        assert!(text.contains(r#""blocked":{"guard":"allow_empty","removals":1,"current":1,"#));
        let back: Plan = serde_json::from_str(&text).unwrap();
        let mut expected = p.clone();
        for o in &mut expected.organizations {
            o.current.clear();
            o.protect.clear();
        }
        assert_eq!(back, expected);
    }

    #[test]
    fn the_digest_detects_edits() {
        let p = sample();
        assert!(p.digest_matches());
        let text = serde_json::to_string_pretty(&p).unwrap();
        let back: Plan = serde_json::from_str(&text).unwrap();
        assert!(back.digest_matches(), "pretty printing is not an edit");
        let edited: Plan = serde_json::from_str(&text.replace("\"b|1\"", "\"b|2\"")).unwrap();
        assert!(!edited.digest_matches());
        let mut unsealed = p.clone();
        unsealed.plan_sha256 = None;
        assert!(!unsealed.digest_matches());
    }
}

#[cfg(test)]
mod plan_from_tests {
    use super::*;
    use crate::config::{self, OrgRef};
    use crate::observe::ObservedOrg;

    fn config() -> DesiredState {
        config::from_str(
            "version: 1\norganizations:\n  - name: alpha\n    members: [\"a|1\"]\n  - name: beta\n    members: [\"b|1\", {email: b2@example.com}]\n  - name: gamma\n    members: [\"c|1\"]\n",
            "orgsync.yaml",
        )
        .unwrap()
    }

    fn observed(name: &str, id: &str, members: &[&str]) -> (OrgRef, ObservedOrg) {
        (
            OrgRef::Name(name.into()),
            ObservedOrg {
                id: id.into(),
                name: name.into(),
                members: members.iter().map(|m| Member::id(*m)).collect(),
            },
        )
    }

    #[test]
    fn observations_join_their_config_entry_by_key_whatever_the_order() {
        let observed = Observed {
            orgs: [
                observed("gamma", "org_g", &["c|1", "c|2"]),
                observed("beta", "org_b", &["b|1", "b|2"]),
                observed("alpha", "org_a", &["a|1"]),
            ]
            .into_iter()
            .collect(),
            emails: [("b2@example.com".to_string(), "b|2".to_string())].into(),
        };
        let plan = plan_from("example.auth0.com", &config(), observed, "now").unwrap();
        let removals: Vec<(&str, Vec<&str>)> = plan
            .organizations
            .iter()
            .map(|o| {
                (
                    o.name.as_str(),
                    o.remove.iter().map(|m| m.user_id.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            removals,
            [("alpha", vec![]), ("beta", vec![]), ("gamma", vec!["c|2"])]
        );
    }

    #[test]
    fn a_missing_organization_or_email_plans_nothing() {
        // alpha was never observed: beta's members must not be compared with alpha's.
        let without_alpha = Observed {
            orgs: [
                observed("beta", "org_b", &["b|1", "b|2"]),
                observed("gamma", "org_g", &["c|1"]),
            ]
            .into_iter()
            .collect(),
            emails: [("b2@example.com".to_string(), "b|2".to_string())].into(),
        };
        let e = plan_from("example.auth0.com", &config(), without_alpha, "now").unwrap_err();
        assert!(
            e.to_string().contains("organization `alpha` was not read"),
            "{e}"
        );
        // The email of a declared member was never resolved: it must not drop out.
        let without_email = Observed {
            orgs: [
                observed("alpha", "org_a", &["a|1"]),
                observed("beta", "org_b", &["b|1", "b|2"]),
                observed("gamma", "org_g", &["c|1"]),
            ]
            .into_iter()
            .collect(),
            emails: Default::default(),
        };
        let e = plan_from("example.auth0.com", &config(), without_email, "now").unwrap_err();
        assert!(e.to_string().contains("b2@example.com"), "{e}");
    }
}
