//! Render tests: snapshots of text and Markdown plans, and the diff on its own.

use super::*;
use similar::DiffOp;

use super::diff::sorted_diff;
use super::text::{BOLD, CYAN, RED, RED_BOLD, RESET, YELLOW};
use crate::plan::{MaxRemovals, OrgInput, plan};

fn member(id: &str, email: &str, name: &str) -> Member {
    Member {
        user_id: id.into(),
        email: Some(email.into()),
        name: Some(name.into()),
        roles: None,
    }
}

fn small() -> Plan {
    let acme = OrgInput {
        unknown: vec![],
        missing_emails: Default::default(),
        invitees: vec![],
        drift: Default::default(),
        unchecked_ids: 0,
        reentry: crate::plan::ReentryInput::checked(),
        resolved: vec![],
        id: "org_3hbVAMF8F3wVIcEJ".into(),
        name: "acme".into(),
        declared: vec![
            "auth0|02".into(),
            "auth0|03".into(),
            "auth0|05".into(),
            "auth0|06".into(),
            "auth0|07".into(),
            "auth0|08".into(),
        ],
        protect: vec!["auth0|01".into()],
        max_removals: Some(MaxRemovals::Percent(50.0)),
        allow_empty: false,
        current: vec![
            member("auth0|01", "breakglass@acme.example", "Break Glass"),
            member("auth0|02", "ada@acme.example", "Ada Lovelace"),
            member("auth0|03", "grace@acme.example", "Grace Hopper"),
            member("auth0|04", "alan@acme.example", "Alan Turing"),
            member("auth0|05", "edsger@acme.example", "Edsger Dijkstra"),
            member("auth0|06", "barbara@acme.example", "Barbara Liskov"),
            member("auth0|07", "donald@acme.example", "Donald Knuth"),
            member("auth0|08", "frances@acme.example", "Frances Allen"),
        ],
    };
    let globex = OrgInput {
        unknown: vec![],
        missing_emails: Default::default(),
        invitees: vec![],
        drift: Default::default(),
        unchecked_ids: 0,
        reentry: crate::plan::ReentryInput::checked(),
        resolved: vec![],
        id: "org_Wz2uMwAVQmfRb03I".into(),
        name: "globex".into(),
        declared: vec!["auth0|11".into(), "google-oauth2|12".into()],
        protect: vec![],
        max_removals: None,
        allow_empty: false,
        current: vec![member("auth0|11", "hedy@globex.example", "Hedy Lamarr")],
    };
    let initech = OrgInput {
        unknown: vec![],
        missing_emails: Default::default(),
        invitees: vec![],
        drift: Default::default(),
        unchecked_ids: 0,
        reentry: crate::plan::ReentryInput::checked(),
        resolved: vec![],
        id: "org_SST1yp2pazgSiMYi".into(),
        name: "initech".into(),
        declared: vec!["auth0|21".into()],
        protect: vec![],
        max_removals: None,
        allow_empty: false,
        current: vec![member("auth0|21", "peter@initech.example", "Peter Gibbons")],
    };
    plan(
        "travel0.us.auth0.com",
        &"0".repeat(64),
        "2026-11-28T12:00:00Z",
        &[acme, globex, initech],
    )
}

fn render(p: &Plan, color: bool) -> String {
    let mut buf = Vec::new();
    text(p, &TextOptions { color }, &mut buf).unwrap();
    String::from_utf8(buf).unwrap()
}

#[test]
fn small_plan_text() {
    insta::assert_snapshot!(render(&small(), false));
}

#[test]
fn small_plan_text_in_colour() {
    let out = render(&small(), true);
    assert!(
        out.contains("\x1b[31m-auth0|04  alan@acme.example  (Alan Turing)\x1b[0m"),
        "{out}"
    );
    assert!(
        out.contains("\x1b[33m!google-oauth2|12  (declared, not a member)\x1b[0m"),
        "{out}"
    );
    // Without colour the same lines, markers included.
    let plain = render(&small(), false);
    assert_eq!(
        out.replace(BOLD, "")
            .replace(RED_BOLD, "")
            .replace(RED, "")
            .replace(YELLOW, "")
            .replace(CYAN, "")
            .replace(RESET, ""),
        plain
    );
}

#[test]
fn blocked_organization_text() {
    let input = OrgInput {
        unknown: vec![],
        missing_emails: Default::default(),
        invitees: vec![],
        drift: Default::default(),
        unchecked_ids: 0,
        reentry: crate::plan::ReentryInput::checked(),
        resolved: vec![],
        id: "org_1".into(),
        name: "initech".into(),
        declared: vec!["auth0|1".into()],
        protect: vec![],
        max_removals: Some(MaxRemovals::Count(1)),
        allow_empty: false,
        current: (1..=4)
            .map(|i| {
                member(
                    &format!("auth0|{i}"),
                    &format!("u{i}@initech.example"),
                    &format!("User {i}"),
                )
            })
            .collect(),
    };
    let p = plan("d", &"0".repeat(64), "t", &[input]);
    insta::assert_snapshot!(render(&p, false));
}

#[test]
fn no_changes_text() {
    let input = OrgInput {
        unknown: vec![],
        missing_emails: Default::default(),
        invitees: vec![],
        drift: Default::default(),
        unchecked_ids: 0,
        reentry: crate::plan::ReentryInput::checked(),
        resolved: vec![],
        id: "org_1".into(),
        name: "acme".into(),
        declared: vec!["auth0|1".into()],
        protect: vec![],
        max_removals: None,
        allow_empty: false,
        current: vec![member("auth0|1", "a@acme.example", "A")],
    };
    let out = render(
        &plan(
            "d",
            "x",
            "t",
            &[
                input.clone(),
                OrgInput {
                    reentry: crate::plan::ReentryInput::checked(),
                    resolved: vec![],
                    id: "org_2".into(),
                    ..input
                },
            ],
        ),
        false,
    );
    assert_eq!(
        out,
        "No changes: the membership of 2 organizations matches the configuration.\nPlan: 0 to remove, 0 missing, 0 protected kept, in 0 of 2 organizations.\n"
    );
}

#[test]
fn summary_line_counts() {
    let p = small();
    assert_eq!(
        summary_line(&p),
        "Plan: 1 to remove, 1 missing, 1 protected kept, in 2 of 3 organizations."
    );
    let one = plan("d", "x", "t", &[]);
    assert_eq!(
        summary_line(&one),
        "Plan: 0 to remove, 0 missing, 0 protected kept, in 0 of 0 organizations."
    );
}

#[test]
fn small_plan_markdown() {
    let mut buf = Vec::new();
    markdown(&small(), GITHUB_COMMENT_LIMIT, &mut buf).unwrap();
    insta::assert_snapshot!(String::from_utf8(buf).unwrap());
}

/// acme with an auto-membership SSO connection, database signup, and invitations.
fn with_doors() -> Plan {
    use crate::reentry::{Doors, EnabledConnection, Invitation};
    let conn = |name: &str, signup: bool| EnabledConnection::named(name, true, signup);
    let inv = |id: &str, email: &str, expires: &str| Invitation {
        id: id.into(),
        invitee_email: email.into(),
        inviter: Some("Grace Hopper".into()),
        created_at: Some("2026-11-20T09:00:00.000Z".into()),
        expires_at: Some(expires.into()),
        roles: vec![],
    };
    let acme = OrgInput {
        unknown: vec![],
        missing_emails: Default::default(),
        invitees: vec![],
        drift: Default::default(),
        unchecked_ids: 0,
        id: "org_3hbVAMF8F3wVIcEJ".into(),
        name: "acme".into(),
        declared: vec!["auth0|02".into()],
        protect: vec![],
        max_removals: None,
        allow_empty: false,
        current: vec![
            member("auth0|02", "ada@acme.example", "Ada Lovelace"),
            member("samlp|acme-sso|alan", "alan@acme.example", "Alan Turing"),
            member("auth0|04", "edsger@acme.example", "Edsger Dijkstra"),
        ],
        resolved: vec![],
        reentry: crate::plan::ReentryInput {
            doors: Some(Doors::from_connections(&[
                conn("acme-sso", false),
                conn("Username-Password-Authentication", true),
            ])),
            invitations: Some(vec![
                inv(
                    "uinv_0001",
                    "eve@elsewhere.example",
                    "2026-12-20T09:00:00.000Z",
                ),
                inv("uinv_0002", "ada@acme.example", "2026-12-20T09:00:00.000Z"),
                inv(
                    "uinv_0003",
                    "old@elsewhere.example",
                    "2026-11-27T09:00:00.000Z",
                ),
            ]),
            invitation_policy: crate::config::Invitations::Revoke,
            roles_read: true,
            now: "2026-11-28T12:00:00Z".into(),
            ..Default::default()
        },
    };
    plan(
        "travel0.us.auth0.com",
        &"0".repeat(64),
        "2026-11-28T12:00:00Z",
        &[acme],
    )
}

#[test]
fn doors_and_invitations_text() {
    insta::assert_snapshot!(render(&with_doors(), false));
}

#[test]
fn doors_and_invitations_markdown() {
    let mut buf = Vec::new();
    markdown(&with_doors(), GITHUB_COMMENT_LIMIT, &mut buf).unwrap();
    insta::assert_snapshot!(String::from_utf8(buf).unwrap());
}

/// 40 organizations, 3,000 removals: far over GitHub's limit.
fn large() -> Plan {
    let inputs: Vec<OrgInput> = (0..40)
        .map(|o| OrgInput {
            unknown: vec![],
            missing_emails: Default::default(),
            invitees: vec![],
            drift: Default::default(),
            unchecked_ids: 0,
            reentry: crate::plan::ReentryInput::checked(),
            resolved: vec![],
            id: format!("org_large{o:011}"),
            name: format!("team-{o:02}"),
            declared: (0..25).map(|m| format!("auth0|{o:02}{m:04}")).collect(),
            protect: vec![],
            max_removals: if o % 10 == 9 {
                Some(MaxRemovals::Percent(10.0))
            } else {
                None
            },
            allow_empty: false,
            current: (0..100)
                .map(|m| {
                    member(
                        &format!("auth0|{o:02}{m:04}"),
                        &format!("user{m}@team{o}.example"),
                        &format!("User {o}-{m}"),
                    )
                })
                .collect(),
        })
        .collect();
    plan(
        "travel0.us.auth0.com",
        &"0".repeat(64),
        "2026-11-28T12:00:00Z",
        &inputs,
    )
}

#[test]
fn large_plan_markdown_is_cut_under_githubs_limit() {
    let p = large();
    assert_eq!(p.summary.remove, 2700, "what apply removes");
    assert_eq!(p.remove_blocked(), 300);
    let mut buf = Vec::new();
    markdown(&p, GITHUB_COMMENT_LIMIT, &mut buf).unwrap();
    let md = String::from_utf8(buf).unwrap();
    assert!(
        md.chars().count() <= GITHUB_COMMENT_LIMIT,
        "{} characters",
        md.chars().count()
    );
    // The summary is whole: one table row per organization.
    assert_eq!(md.lines().filter(|l| l.starts_with("| `team-")).count(), 40);
    assert!(md.contains(
        "**Plan: 2700 to remove, 300 blocked, 0 missing, 0 protected kept, in 40 of 40 organizations.**"
    ));
    assert!(md.contains(
        "> **2700 members will lose access**: apply removes them from 36 organizations."
    ));
    assert!(md.contains(
        "> **4 organizations blocked by a removal guard**: their 300 removals will not be applied."
    ));
    assert!(md.contains("| `team-09` | 0 (75 blocked) | 0 | 0 | **max_removals**"));
    // Every organization keeps its section; the diffs that do not fit are cut, and say so.
    let shown = md.matches("<details>").count();
    assert_eq!(shown, 40);
    assert_eq!(
        md.matches("</details>").count(),
        shown,
        "every section is closed"
    );
    assert_eq!(
        md.matches("```").count(),
        2 * shown,
        "every code block is closed"
    );
    assert!(md.contains("_Cut to stay under GitHub's 65536-character comment limit: "));
    assert!(!md.contains("were left out"));
    insta::assert_snapshot!(md);
}

#[test]
fn one_organization_over_the_limit_keeps_as_much_of_its_diff_as_fits() {
    let p = plan(
        "travel0.us.auth0.com",
        &"0".repeat(64),
        "2026-11-28T12:00:00Z",
        &[OrgInput {
            unknown: vec![],
            missing_emails: Default::default(),
            invitees: vec![],
            drift: Default::default(),
            unchecked_ids: 0,
            reentry: crate::plan::ReentryInput::checked(),
            resolved: vec![],
            id: "org_huge".into(),
            name: "huge".into(),
            declared: vec!["auth0|00000".into()],
            protect: vec![],
            max_removals: None,
            allow_empty: false,
            current: (0..1501)
                .map(|m| {
                    member(
                        &format!("auth0|{m:05}"),
                        &format!("user{m}@huge.example"),
                        &format!("User {m}"),
                    )
                })
                .collect(),
        }],
    );
    assert_eq!(p.summary.remove, 1500);
    let mut buf = Vec::new();
    markdown(&p, GITHUB_COMMENT_LIMIT, &mut buf).unwrap();
    let md = String::from_utf8(buf).unwrap();
    assert!(md.len() <= GITHUB_COMMENT_LIMIT, "{}", md.len());
    assert!(
        md.len() > 60_000,
        "most of the diff is kept: {} bytes",
        md.len()
    );
    let shown = md.lines().filter(|l| l.starts_with("-auth0|")).count();
    assert!(shown > 1000, "{shown}");
    assert!(
        md.contains(&format!(
            "diff lines shown, {} not shown; the JSON plan",
            plural(1500 - shown, "removal", "removals")
        )),
        "{}",
        &md[md.len() - 500..]
    );
    assert_eq!(md.matches("```").count(), 2, "the code block is closed");
    assert!(md.trim_end().ends_with("</details>"));
}

#[test]
fn the_merge_diff_matches_a_general_diff() {
    use similar::{Algorithm, capture_diff_slices};
    let old = ["a|1", "a|2", "a|3", "a|5", "a|6", "a|8", "a|9"];
    let new = ["a|0", "a|2", "a|3", "a|4", "a|6", "a|7", "a|9"];
    let kept = |ops: &[DiffOp]| -> Vec<(usize, usize)> {
        ops.iter()
            .filter_map(|op| match *op {
                DiffOp::Equal {
                    old_index,
                    new_index,
                    len,
                } => Some((0..len).map(move |k| (old_index + k, new_index + k))),
                _ => None,
            })
            .flatten()
            .collect()
    };
    assert_eq!(
        kept(&sorted_diff(&old, &new)),
        kept(&capture_diff_slices(Algorithm::Myers, &old, &new))
    );
}

#[test]
fn names_cannot_forge_lines_or_send_escape_codes() {
    let m = Member {
        user_id: "auth0|1".into(),
        email: Some("e@x.example".into()),
        name: Some("Eve\n-auth0|2\u{1b}[31m\u{202E}".into()),
        roles: None,
    };
    let d = describe(&m);
    assert!(
        !d.contains('\n') && !d.contains('\u{1b}') && !d.contains('\u{202E}'),
        "{d:?}"
    );
    assert!(d.contains("\\u{a}-auth0|2"), "{d}");
}

#[test]
fn json_output() {
    let mut buf = Vec::new();
    json(&small(), &mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert!(text.ends_with("}\n"));
    let back: Plan = serde_json::from_str(&text).unwrap();
    assert!(back.digest_matches());
    insta::assert_snapshot!(text);
}
