//! Restore: an exact undo of one run's removals, planned against the config and the tenant,
//! and carried out through the same write-ahead [`Ledger`](super::Ledger) as the removals were.
//!
//! [`read_run`] reads what a run removed from the audit log (its `delete` lines with outcome
//! `removed`, and each member's recorded roles), one line at a time with a cap per line.
//! [`plan()`] keeps, of those, the members the current config declares and the tenant does not
//! have (a member the config does not declare is reported, and the command refuses: Git stays
//! the source of truth, so the next apply cannot remove them again); users deleted since are not
//! restorable; roles that no longer exist are not assigned, the rest are. [`execute()`] sends
//! `POST …/members` (at most 10 ids per call), then `POST …/members/{user_id}/roles` for each
//! member added back, each call's `intent` written and synced before it is sent and its
//! outcome (`event: "restore"`) after. Only direct roles are assigned: roles a member held
//! through a group come back with the group.

pub(crate) mod execute;
pub(crate) mod plan;
pub(crate) mod read;

pub use execute::*;
pub use plan::*;
pub use read::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::Role;
    use crate::plan::Plan;

    fn write_log(lines: &[serde_json::Value]) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "orgsync-restore-{}-{}",
            std::process::id(),
            crate::apply::audit::new_run_id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text + "not json\n").unwrap();
        (dir, path)
    }

    fn role(id: &str) -> Role {
        Role {
            id: id.into(),
            name: format!("name-{id}"),
        }
    }

    #[test]
    fn the_plan_adds_only_declared_absent_members_with_roles_that_exist() {
        use crate::plan::{Member, OrgPlan, UnknownUser};
        let removed = |u: &str, roles: &[&str]| Removed {
            user_id: u.into(),
            roles: Some(roles.iter().map(|r| role(r)).collect()),
            group_roles: Some(vec![role("rol_g")]),
            ..Removed::default()
        };
        let run = RunRecord {
            run_id: "r".into(),
            organizations: vec![
                RunOrg {
                    id: "org_a".into(),
                    name: "a".into(),
                    removed: vec![
                        removed("u1", &["rol_x", "rol_gone"]),
                        removed("u2", &["rol_x"]),
                        removed("u3", &[]),
                        removed("u4", &[]),
                        removed("u5", &["rol_x"]),
                    ],
                },
                RunOrg {
                    id: "org_b".into(),
                    name: "b".into(),
                    removed: vec![removed("u9", &[])],
                },
            ],
            ..RunRecord::default()
        };
        let mut back = Member::id("u2");
        back.roles = Some(vec![]);
        let fresh = Plan {
            format_version: 1,
            domain: "d".into(),
            config_sha256: "c".into(),
            created_at: "t".into(),
            organizations: vec![OrgPlan {
                id: "org_a".into(),
                name: "a".into(),
                missing: vec![Member::id("u1")],
                current: vec![back, Member::id("u5")],
                unknown_users: vec![UnknownUser {
                    user_id: "u3".into(),
                    entry: "orgsync.yaml:1:1".into(),
                    list: "members".into(),
                    did_you_mean: None,
                }],
                ..OrgPlan::default()
            }],
            summary: Default::default(),
            not_checked: vec![],
            provenance: None,
            plan_sha256: None,
        };
        let exists = |id: &str| Some(id != "rol_gone");
        let p = plan(&run, &fresh, &Filter::default(), &exists);
        let a = &p.organizations[0];
        // u1: added, with the role that exists; the gone one said.
        assert_eq!(a.add[0].user_id, "u1");
        assert!(!a.add[0].already_member);
        assert_eq!(a.add[0].roles, [role("rol_x")]);
        assert_eq!(a.add[0].group_roles, [role("rol_g")]);
        assert_eq!(a.roles_gone[0].0, role("rol_gone"));
        // u2: a member again without its role: only the role.
        assert_eq!(a.add[1].user_id, "u2");
        assert!(a.add[1].already_member);
        // u3 deleted, u5 back (roles not read): not restored; u4 undeclared.
        let not: Vec<&str> = a.not_restored.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(not, ["u3", "u5"]);
        assert_eq!(a.undeclared, ["u4"]);
        // An organization the config does not name: all undeclared.
        assert_eq!(p.organizations[1].undeclared, ["u9"]);
        assert_eq!(
            (p.members(), p.role_assignments(), p.undeclared()),
            (1, 2, 2)
        );
        // Narrowed: only u1, in org a.
        let only = Filter {
            orgs: vec!["a".into()],
            users: vec!["u1".into()],
        };
        let p = plan(&run, &fresh, &only, &exists);
        assert_eq!(p.organizations.len(), 1);
        assert_eq!(p.undeclared(), 0);
        assert_eq!(p.members(), 1);
        // Roles not checkable: assigned as recorded, and said.
        let p = plan(&run, &fresh, &only, &|_| None);
        assert!(!p.roles_checked);
        assert_eq!(p.organizations[0].add[0].roles.len(), 2);
    }

    #[test]
    fn a_run_is_read_from_its_removed_lines_only() {
        use serde_json::json;
        let role = json!({"id": "rol_a", "name": "admin"});
        let (dir, path) = write_log(&[
            json!({"run_id": "r1", "event": "start", "time": "t0", "domain": "d"}),
            json!({"run_id": "r1", "event": "intent", "organization_id": "org_a", "user_ids": ["u1", "u2"]}),
            json!({"run_id": "r2", "event": "start", "domain": "d"}),
            json!({"run_id": "r1", "event": "delete", "outcome": "removed", "organization_id": "org_a", "organization_name": "a",
                   "user_ids": ["u1", "u2"], "roles": [{"user_id": "u1", "roles": [role]}], "group_roles": [{"user_id": "u2", "roles": [role]}]}),
            json!({"run_id": "r1", "event": "delete", "outcome": "failed", "organization_id": "org_a", "user_ids": ["u3"]}),
            json!({"run_id": "r1", "event": "delete", "outcome": "unknown", "organization_id": "org_a", "user_ids": ["u4"], "error": "lost"}),
            json!({"run_id": "r3", "event": "start", "command": "restore"}),
        ]);
        let run = read_run(&path, "r1").unwrap();
        assert_eq!(run.domain, "d");
        assert_eq!(run.organizations.len(), 1);
        let removed = &run.organizations[0].removed;
        assert_eq!(removed.len(), 2);
        assert_eq!(removed[0].roles.as_ref().unwrap()[0].name, "admin");
        assert_eq!(removed[1].roles, Some(vec![]));
        assert_eq!(removed[1].group_roles.as_ref().unwrap()[0].id, "rol_a");
        assert_eq!(run.unknown, [("u4".to_string(), "lost".to_string())]);
        let e = read_run(&path, "nope").unwrap_err();
        assert!(e.to_string().contains("r1, r2"), "{e}");
        assert!(matches!(
            read_run(&path, "r2"),
            Err(ReadRunError::NothingRemoved { .. })
        ));
        assert!(matches!(
            read_run(&path, "r3"),
            Err(ReadRunError::IsARestore { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
