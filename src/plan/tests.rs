//! The unit tests of every planning rule, and of the join of config and tenant.

use super::*;
use crate::config::{DesiredState, Invitations, Rejoin};
use crate::observe::Observed;
use crate::reentry::{Doors, Invitation, RejoinRule};

mod rules {
    use super::*;

    fn m(id: &str) -> Member {
        Member {
            user_id: id.into(),
            email: Some(format!("{id}@example.com")),
            name: None,
            roles: None,
        }
    }

    pub(in crate::plan) fn input(current: &[&str], declared: &[&str]) -> OrgInput {
        OrgInput {
            id: "org_1".into(),
            name: "acme".into(),
            declared: declared.iter().map(|s| s.to_string()).collect(),
            protect: vec![],
            max_removals: None,
            allow_empty: false,
            current: current.iter().map(|s| m(s)).collect(),
            resolved: vec![],
            reentry: Default::default(),
            unknown: vec![],
            missing_emails: Default::default(),
            invitees: vec![],
            drift: Default::default(),
            unchecked_ids: 0,
        }
    }

    fn ids<M: std::borrow::Borrow<Member>>(ms: &[M]) -> Vec<&str> {
        ms.iter().map(|m| m.borrow().user_id.as_str()).collect()
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
        assert_eq!(
            b.message,
            "3 removals exceed the limit of 2 (max_removals: 2)"
        );
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
            "2 removals exceed the limit of 1 (max_removals: 25% of 7 current members, rounded down)"
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
                revoke_invitations: 0,
                invited: 0,
                undeclared_invitations: 0,
                can_rejoin: 0,
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
                connections: None,
                invitations: None,
                roles_read: false,
                id: id.into(),
                name: name.into(),
                members: members.iter().map(|m| Member::id(*m)).collect(),
            },
        )
    }

    #[test]
    fn observations_join_their_config_entry_by_key_whatever_the_order() {
        let observed = Observed {
            user_connections: Default::default(),
            user_emails: Default::default(),
            users_exist: Default::default(),
            unregistered: Default::default(),
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
            user_connections: Default::default(),
            user_emails: Default::default(),
            users_exist: Default::default(),
            unregistered: Default::default(),
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
            user_connections: Default::default(),
            user_emails: Default::default(),
            users_exist: Default::default(),
            unregistered: Default::default(),
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

    mod reentry_rules {
        use std::collections::HashMap;

        use super::super::*;
        use crate::reentry::EnabledConnection;

        fn conn(name: &str, auto: bool, signup: bool) -> EnabledConnection {
            EnabledConnection::named(name, auto, signup)
        }

        fn inv(id: &str, email: &str, expires: &str) -> Invitation {
            Invitation {
                id: id.into(),
                invitee_email: email.into(),
                inviter: Some("Bob".into()),
                created_at: Some("2026-12-01T00:00:00.000Z".into()),
                expires_at: Some(expires.into()),
                roles: vec![],
            }
        }

        /// acme: four members, `a|keep` declared; corp has auto-membership.
        fn input_with(connections: &[EnabledConnection]) -> OrgInput {
            let mut i = crate::plan::tests::rules::input(
                &["a|keep", "samlp|corp|x", "samlp|other|y", "auth0|db"],
                &["a|keep"],
            );
            i.max_removals = None;
            i.reentry = ReentryInput {
                doors: Some(Doors::from_connections(connections)),
                now: "2026-12-03T00:00:00Z".into(),
                invitations: Some(vec![]),
                roles_read: true,
                ..ReentryInput::default()
            };
            i
        }

        fn via(p: &OrgPlan, user: &str) -> (Option<String>, Option<RejoinRule>, bool) {
            let r = p.remove.iter().find(|r| r.user_id == user).unwrap();
            (r.can_rejoin_via.clone(), r.rejoin_by, r.rejoin_checked)
        }

        #[test]
        fn a_removal_through_an_auto_membership_connection_can_be_undone() {
            let mut i = input_with(&[conn("corp", true, false), conn("other", false, false)]);
            i.reentry.user_connections =
                HashMap::from([("auth0|db".to_string(), Some(vec!["corp".to_string()]))]);
            let p = plan_org(&i);
            let auto = Some(RejoinRule::AutoMembership);
            assert_eq!(via(&p, "samlp|corp|x"), (Some("corp".into()), auto, true));
            assert_eq!(via(&p, "samlp|other|y"), (None, None, true));
            // A database user whose identities were read: through corp.
            assert_eq!(via(&p, "auth0|db"), (Some("corp".into()), auto, true));
            assert_eq!(p.can_rejoin(), 2);
            assert_eq!(p.auto_membership, Some(vec!["corp".to_string()]));
            assert!(p.blocked.is_none(), "warn is the default");
        }

        #[test]
        fn unknown_connections_are_unchecked_unless_signup_is_open_to_anyone() {
            // auth0|db was not read (no read:users): unchecked.
            let p = plan_org(&input_with(&[conn("corp", true, false)]));
            assert_eq!(via(&p, "auth0|db"), (None, None, false));
            let mut i = input_with(&[conn("corp", true, false), conn("db", true, true)]);
            i.reentry.user_connections = HashMap::from([("auth0|db".to_string(), None)]);
            let p = plan_org(&i);
            assert_eq!(
                via(&p, "auth0|db"),
                (Some("db".into()), Some(RejoinRule::Signup), true)
            );
            // Without the doors read, nothing is checked.
            let mut i = input_with(&[]);
            i.reentry.doors = None;
            let p = plan_org(&i);
            assert!(p.remove.iter().all(|r| !r.rejoin_checked));
            assert_eq!(p.auto_membership, None);
        }

        #[test]
        fn rejoin_block_blocks_an_organization_whose_removals_could_be_undone() {
            let mut i = input_with(&[conn("corp", true, false)]);
            i.reentry.rejoin = Rejoin::Block;
            i.reentry.user_connections = HashMap::from([("auth0|db".to_string(), Some(vec![]))]);
            let p = plan_org(&i);
            let b = p.blocked.as_ref().unwrap();
            assert_eq!(b.guard, Guard::Rejoin);
            assert!(
                b.message.contains("1 of 3 removals could be undone"),
                "{}",
                b.message
            );
            assert!(b.message.contains("`corp`"), "{}", b.message);
            // A connection's name comes from the tenant: escaped in the message.
            let mut i = input_with(&[conn("corp", true, false)]);
            i.current[1].user_id = "samlp|co\u{1b}[2Jrp|x".into();
            i.reentry.doors = Some(Doors::from_connections(&[conn(
                "co\u{1b}[2Jrp",
                true,
                false,
            )]));
            i.reentry.rejoin = Rejoin::Block;
            i.reentry.user_connections = HashMap::from([("auth0|db".to_string(), Some(vec![]))]);
            let b = plan_org(&i).blocked.unwrap();
            assert!(!b.message.contains('\u{1b}'), "{}", b.message);
            // Nothing to undo: not blocked.
            let mut i = input_with(&[conn("corp", false, false)]);
            i.reentry.rejoin = Rejoin::Block;
            assert!(plan_org(&i).blocked.is_none());
            // Could not be checked: blocked, saying so.
            let mut i = input_with(&[]);
            i.reentry.doors = None;
            i.reentry.rejoin = Rejoin::Block;
            let p = plan_org(&i);
            let b = p.blocked.unwrap();
            assert_eq!(b.guard, Guard::Rejoin);
            assert!(b.message.contains("could not be checked"), "{}", b.message);
        }

        #[test]
        fn invitations_for_declared_members_are_kept_the_rest_are_drift() {
            let mut i = input_with(&[]);
            i.declared = vec!["a|keep".into(), "a|new".into(), "a|mail".into()];
            i.resolved = vec![ResolvedEmail {
                email: "New@Example.com".into(),
                user_id: "a|new".into(),
            }];
            i.current.retain(|m| m.user_id == "a|keep");
            i.reentry.declared_emails = vec!["mail@example.com".into()];
            i.reentry.invitations = Some(vec![
                inv("uinv_1", "a|keep@example.com", "2026-12-09T00:00:00.000Z"),
                inv("uinv_2", "new@example.com", "2026-12-09T00:00:00.000Z"),
                inv("uinv_3", "MAIL@example.com", "2026-12-09T00:00:00.000Z"),
                inv("uinv_4", "eve@evil.example", "2026-12-09T00:00:00.000Z"),
                inv("uinv_5", "old@evil.example", "2026-12-02T00:00:00.000Z"),
            ]);
            let p = plan_org(&i);
            let inv = p.invitations.as_ref().unwrap();
            let ids = |l: &[Invitation]| l.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&inv.keep), ["uinv_1", "uinv_3", "uinv_2"]);
            assert_eq!(ids(&inv.revoke), ["uinv_4"]);
            assert_eq!(ids(&inv.expired), ["uinv_5"]);
            assert!(p.drift && p.has_changes());
            assert!(p.invitations_to_revoke().is_empty(), "keep is the default");
            i.reentry.invitation_policy = Invitations::Revoke;
            let p = plan_org(&i);
            assert_eq!(ids(p.invitations_to_revoke()), ["uinv_4"]);
        }

        #[test]
        fn only_invitations_are_drift_and_a_blocked_organization_revokes_nothing() {
            let mut i = input_with(&[]);
            i.current.retain(|m| m.user_id == "a|keep");
            i.reentry.invitations = Some(vec![inv(
                "uinv_4",
                "eve@evil.example",
                "2026-12-09T00:00:00.000Z",
            )]);
            i.reentry.invitation_policy = Invitations::Revoke;
            let p = plan("d", "c", "2026-12-03T00:00:00Z", std::slice::from_ref(&i));
            assert!(p.summary.drift);
            assert_eq!(p.summary.undeclared_invitations, 1);
            assert_eq!(p.summary.revoke_invitations, 1);
            // A guard blocks the members' removals: the invitations stay too.
            let mut i = input_with(&[]);
            i.max_removals = Some(MaxRemovals::Count(1));
            i.reentry.invitations = Some(vec![inv(
                "uinv_4",
                "eve@evil.example",
                "2026-12-09T00:00:00.000Z",
            )]);
            i.reentry.invitation_policy = Invitations::Revoke;
            let p = plan_org(&i);
            let b = p.blocked.as_ref().unwrap();
            assert_eq!(b.invitations, 1);
            assert!(
                b.message.contains("(and 1 invitation it would revoke)"),
                "{}",
                b.message
            );
            assert!(p.invitations_to_revoke().is_empty());
        }

        #[test]
        fn what_could_not_be_checked_is_said_once_with_its_scope() {
            let mut a = input_with(&[]);
            a.reentry.doors = None;
            a.reentry.invitations = None;
            a.reentry.roles_read = false;
            let b = a.clone();
            let p = plan("d", "c", "t", &[a, b]);
            let scopes: Vec<&str> = p.not_checked.iter().map(|n| n.scope.as_str()).collect();
            assert_eq!(
                scopes,
                [
                    "read:organization_connections",
                    "read:organization_invitations",
                    "read:organization_member_roles"
                ]
            );
            let p = plan("d", "c", "t", &[input_with(&[])]);
            assert!(p.not_checked.is_empty());
        }

        #[test]
        fn an_unreadable_declared_email_revokes_no_invitation() {
            let desired = crate::config::from_str(
                "version: 1\ndefaults:\n  invitations: revoke\norganizations:\n  - name: acme\n    members: [\"auth0|new\"]\n",
                "orgsync.yaml",
            )
            .unwrap();
            let observed = |email: Option<Option<String>>| Observed {
                orgs: HashMap::from([(
                    crate::config::OrgRef::Name("acme".into()),
                    crate::observe::ObservedOrg {
                        id: "org_1".into(),
                        name: "acme".into(),
                        invitations: Some(vec![inv(
                            "uinv_1",
                            "new@acme.example",
                            "2036-01-01T00:00:00.000Z",
                        )]),
                        connections: Some(vec![]),
                        roles_read: true,
                        ..Default::default()
                    },
                )]),
                emails: HashMap::new(),
                user_connections: HashMap::new(),
                user_emails: HashMap::from([("auth0|new".to_string(), email)]),
                users_exist: Default::default(),
                unregistered: Default::default(),
            };
            let now = "2026-12-03T00:00:00Z";
            // Read: the invitation is the declared new hire's.
            let p = plan_from(
                "d",
                &desired,
                observed(Some(Some("new@acme.example".into()))),
                now,
            )
            .unwrap();
            let inv = p.organizations[0].invitations.as_ref().unwrap();
            assert_eq!((inv.keep.len(), inv.revoke.len()), (1, 0));
            // Not readable: it looks undeclared, and nothing is revoked.
            let p = plan_from("d", &desired, observed(None), now).unwrap();
            let o = &p.organizations[0];
            assert_eq!(o.undeclared_invitations(), 1);
            assert!(o.invitations_to_revoke().is_empty());
            assert!(p.not_checked.iter().any(|n| n.scope == "read:users"));
        }

        #[test]
        fn the_users_to_read_are_those_the_checks_need_each_once() {
            let mut i = input_with(&[conn("corp", true, false)]);
            i.declared.push("auth0|new".into());
            i.reentry.invitations = Some(vec![inv(
                "uinv_9",
                "who@example.com",
                "2026-12-09T00:00:00.000Z",
            )]);
            let p = plan("d", "c", "2026-12-03T00:00:00Z", &[i.clone(), i]);
            let (connections_of, emails_of) = p.users_to_read();
            // samlp users name their connection; only the database user is read.
            assert_eq!(connections_of, ["auth0|db"]);
            assert_eq!(emails_of, ["auth0|new"]);
        }
    }
}
