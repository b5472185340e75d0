//! `orgsync apply`: the real binary against the emulator over loopback.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::*;
use orgsync_emulator::{Emulator, Options, ScriptedFault};
use serde_json::Value;

/// Declared members plus protected members present in the tenant, per organization name.
fn expected_state(s: &Scenario) -> Vec<(String, BTreeSet<String>)> {
    let desired = orgsync::config::load(&s.join("orgsync.yaml")).unwrap();
    s.emu()
        .state()
        .organizations
        .iter()
        .map(|o| {
            let d = desired
                .organizations
                .iter()
                .find(|d| d.org.to_string() == o.name || d.org.to_string() == o.id)
                .unwrap();
            let declared: BTreeSet<String> = d
                .members
                .iter()
                .filter_map(|m| m.user_id().map(str::to_string))
                .collect();
            let keep: BTreeSet<String> = o
                .members
                .iter()
                .filter(|m| {
                    declared.contains(*m)
                        || d.protect.iter().any(|p| p.user_id() == Some(m.as_str()))
                })
                .cloned()
                .collect();
            (o.name.clone(), keep)
        })
        .collect()
}

fn state_sets(emu: &Emulator) -> Vec<(String, BTreeSet<String>)> {
    emu.state()
        .organizations
        .into_iter()
        .map(|o| (o.name, o.members.into_iter().collect()))
        .collect()
}

/// The members of organization `name` in the emulator now.
fn members_of(emu: &Emulator, name: &str) -> Vec<String> {
    let orgs = emu.state().organizations;
    orgs.into_iter().find(|o| o.name == name).unwrap().members
}

/// The member removals the tenant received (invitation revocations aside).
fn deletes(emu: &Emulator) -> Vec<orgsync_emulator::RequestRecord> {
    emu.requests()
        .into_iter()
        .filter(|r| r.method == "DELETE" && r.path.ends_with("/members"))
        .collect()
}

/// The example tenant's organizations.
const ACME: &str = "org_3hbVAMF8F3wVIcEJ";
const INITECH: &str = "org_SST1yp2pazgSiMYi";
const UMBRELLA: &str = "org_cGR0immZcgIoQziO";
/// The new hire (invited to acme, not a member) and Albert Wesker (umbrella, removed).
const NEW_HIRE: &str = "auth0|64b0c0ffee0000000000abcd";
const ALBERT: &str = "auth0|64b0c0ffee00000000000020";

/// Emulator options under which a removal shows in member lists only after `ms`.
fn removal_delayed(ms: u64) -> Options {
    let removal_delay = Duration::from_millis(ms);
    Options {
        removal_delay,
        ..Options::default()
    }
}

/// The user_ids the member removals carried, in the order sent.
fn deleted_ids(emu: &Emulator) -> Vec<String> {
    deletes(emu)
        .into_iter()
        .flat_map(|r| r.members.unwrap_or_default())
        .collect()
}

/// A fault: `times` answers of `status` to DELETEs of organization `org`'s members.
fn delete_fault(org: &str, status: u16, times: u32) -> ScriptedFault {
    fault(
        "DELETE",
        &format!("/api/v2/organizations/{org}/members"),
        status,
        times,
    )
}

#[test]
fn apply_then_plan_shows_no_changes() {
    let s = Scenario::convergent("apply-idem");
    let expected = expected_state(&s);
    s.run(APPLY)
        .success()
        .stdout_has("Apply: 9 removed, 0 not removed");
    assert_eq!(state_sets(s.emu()), expected);
    s.run(["plan", "--detailed-exitcode"]).success();
    // A second apply has nothing to do and sends no DELETE.
    let before = deletes(s.emu()).len();
    s.run(APPLY).success().stdout_has("Nothing to remove");
    assert_eq!(deletes(s.emu()).len(), before);
}

#[test]
fn thirty_seven_removals_go_out_as_10_10_10_7() {
    let tenant = demo_tenant(vec![
        org_with_members("org_manymanymanyman1", "many", "u", 40),
        org_with_members("org_otherotherothe2", "other", "o", 2),
    ]);
    let kept = ["auth0|u0000", "auth0|u0017", "auth0|u0039"];
    let s = Scenario::new("apply-37").tenant(tenant).config(
        r#"
        version: 1
        defaults:
          max_removals: 100%
        organizations:
          - name: many
            members: ["auth0|u0000", "auth0|u0017", "auth0|u0039"]
          - name: other
            members: ["auth0|o0000", "auth0|o0001"]
        "#,
    );
    s.run(APPLY).success();
    let calls = deletes(s.emu());
    let batches: Vec<Vec<String>> = calls.iter().flat_map(|r| r.members.clone()).collect();
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 10, 7]);
    let many = "/api/v2/organizations/org_manymanymanyman1/members";
    assert!(calls.iter().all(|r| r.path == many && r.status == 204));
    // Stable order: sorted by user_id, each id once.
    let sent = batches.concat();
    let sorted: Vec<String> = sent
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(sent, sorted);
    assert_eq!(sent.len(), 37);
    assert!(!sent.iter().any(|u| kept.contains(&u.as_str())));
    // No other mutating call reached the tenant.
    let api = api_requests(s.emu());
    assert!(
        api.iter()
            .all(|r| r.method == "GET" || r.method == "DELETE")
    );
    assert_eq!(s.emu().state().organizations[0].members, kept);
}

#[test]
fn a_blocked_organization_is_untouched_and_the_others_proceed() {
    let s = Scenario::new("apply-guard").example_config();
    let before = s.emu().state();
    // The blocked guard reaches stderr too, with a hint (`apply > log` still shows it).
    assert_run!(s.run(APPLY), @r"
        success: false
        exit_code: 1
        ----- stdout -----
        organization acme (org_3hbVAMF8F3wVIcEJ): 2 to remove, 0 missing, 1 invited, 1 protected kept, 1 undeclared invitation
         … 8 unchanged members not shown
         auth0|64b0c0ffee00000000000009  frances@acme.example  (Frances Allen)
         auth0|64b0c0ffee0000000000000a  ken@acme.example  (Ken Thompson)
         auth0|64b0c0ffee0000000000000b  margaret@acme.example  (Margaret Hamilton)
        -auth0|64b0c0ffee0000000000000c  dennis@acme.example  (Dennis Ritchie)
          ^ can rejoin: logging in through `Username-Password-Authentication` makes them a member again (auto-membership)
        -auth0|64b0c0ffee0000000000000d  john@acme.example  (John Backus)
          ^ can rejoin: logging in through `Username-Password-Authentication` makes them a member again (auto-membership)
          auto-membership on login: `Username-Password-Authentication`
          ~ auth0|64b0c0ffee0000000000abcd  new.hire@acme.example  [invited: uinv_QgvJkBqqSEpJOkhG, expires 2036-11-27; a member once they accept]
          ? invitation uinv_Thi6GHLTtKPq6iLo for contractor@elsewhere.example, by Dennis Ritchie, sent 2026-11-28, expires 2036-11-28  [undeclared: kept (`invitations: keep`)]
            invitation uinv_QgvJkBqqSEpJOkhG for new.hire@acme.example, by Grace Hopper, sent 2026-11-27, expires 2036-11-27  [declared]

        organization initech (org_SST1yp2pazgSiMYi): 0 to remove (6 blocked), 0 missing, 1 protected kept
          blocked by max_removals: 6 removals exceed the limit of 2 (max_removals: 25% of 11 current members, rounded down); nothing will be removed here
         … 2 unchanged members not shown
         auth0|64b0c0ffee00000000000015  samir@initech.example  (Samir Nagheenanajar)
         auth0|64b0c0ffee00000000000016  michael@initech.example  (Michael Bolton)
         auth0|64b0c0ffee00000000000017  joanna@initech.example  (Joanna Smith)
        -auth0|64b0c0ffee00000000000018  bill@initech.example  (Bill Lumbergh)
        -auth0|64b0c0ffee00000000000019  milton@initech.example  (Milton Waddams)
        -auth0|64b0c0ffee0000000000001a  tom@initech.example  (Tom Smykowski)
        -auth0|64b0c0ffee0000000000001b  nina@initech.example  (Nina Wells)
        -auth0|64b0c0ffee0000000000001c  bob@initech.example  (Bob Porter)
        -auth0|64b0c0ffee0000000000001d  bobs@initech.example  (Bob Slydell)

        organization umbrella (org_cGR0immZcgIoQziO): 1 to remove, 0 missing
         auth0|64b0c0ffee0000000000001e  jill@umbrella.example  (Jill Valentine)
         auth0|64b0c0ffee0000000000001f  chris@umbrella.example  (Chris Redfield)
        -auth0|64b0c0ffee00000000000020  albert@umbrella.example  (Albert Wesker)
         auth0|64b0c0ffee00000000000021  claire@umbrella.example  (Claire Redfield)

        1 organization unchanged.
        Plan: 3 to remove, 6 blocked, 0 missing, 1 invited, 2 protected kept, 1 undeclared invitation (kept), in 3 of 4 organizations.
        Re-entry: 2 removals could be undone by the member on their own (the `^ can rejoin` lines); removing them does not keep them out.
        Blocked: 1 organization exceeds a guard; its 6 removals will not be applied.
        Legend: `-` removed by apply (unless blocked); `~` declared and invited: a member once they accept (no drift); `?` pending invitation for someone the config does not declare; `^` how the removed member above could rejoin on their own.
        note: roles members hold through a group were not recorded: the token lacks `read:organization_member_effective_roles` (direct roles are recorded as the plan read them)

        organization acme (org_3hbVAMF8F3wVIcEJ): removed 2
        organization initech (org_SST1yp2pazgSiMYi): blocked, nothing removed: 6 removals exceed the limit of 2 (max_removals: 25% of 11 current members, rounded down)
        organization umbrella (org_cGR0immZcgIoQziO): removed 1
        Apply: 3 removed, 0 not removed, 0 already gone, in 2 DELETE calls; 1 organization blocked by a guard.

        ----- stderr -----
        error: apply did not complete: 1 organization blocked by a guard
        hint: the account above names each guard; review the removals, then raise `max_removals`, set `allow_empty: true` or `rejoin: warn` in the config if they are meant
        ");
    assert_eq!(
        members_of(s.emu(), "initech"),
        members_of_view(&before, "initech")
    );
    assert!(deletes(s.emu()).iter().all(|r| !r.path.contains(INITECH)));
    // The break-glass account is still in every organization it was in.
    let breakglass = "auth0|64b0c0ffee00000000000001".to_string();
    for o in &s.emu().state().organizations {
        let was = before.organizations.iter().find(|b| b.id == o.id).unwrap();
        if was.members.contains(&breakglass) {
            assert!(o.members.contains(&breakglass), "{}", o.name);
        }
    }
}

fn members_of_view(view: &orgsync_emulator::StateView, name: &str) -> Vec<String> {
    let org = view.organizations.iter().find(|o| o.name == name).unwrap();
    org.members.clone()
}

#[test]
fn allow_empty_guard_blocks_emptying() {
    let tenant = demo_tenant(vec![
        org_with_members("org_emptyemptyempt1", "empty-me", "e", 3),
        org_with_members("org_fineinefinefin2", "fine", "f", 3),
    ]);
    let s = Scenario::new("apply-empty").tenant(tenant).config(
        r#"
        version: 1
        defaults:
          max_removals: 100%
        organizations:
          - name: empty-me
            members: []
          - name: fine
            members: ["auth0|f0000", "auth0|f0001"]
        "#,
    );
    assert_run!(s.run(APPLY), @r"
        success: false
        exit_code: 1
        ----- stdout -----
        organization empty-me (org_emptyemptyempt1): 0 to remove (3 blocked), 0 missing
          blocked by allow_empty: removing all 3 members would empty the organization; set `allow_empty: true` to allow it; nothing will be removed here
        -auth0|e0000  e0@example.com  (User e0)
        -auth0|e0001  e1@example.com  (User e1)
        -auth0|e0002  e2@example.com  (User e2)

        organization fine (org_fineinefinefin2): 1 to remove, 0 missing
         auth0|f0000  f0@example.com  (User f0)
         auth0|f0001  f1@example.com  (User f1)
        -auth0|f0002  f2@example.com  (User f2)

        Plan: 1 to remove, 3 blocked, 0 missing, 0 protected kept, in 2 of 2 organizations.
        Not checked: whether removed members can rejoin through auto-membership or signup (the token lacks `read:organization_connections`).
        Not checked: pending invitations (the token lacks `read:organization_invitations`).
        Blocked: 1 organization exceeds a guard; its 3 removals will not be applied.
        note: roles members hold through a group were not recorded: the token lacks `read:organization_member_effective_roles` (direct roles are recorded as the plan read them)

        organization empty-me (org_emptyemptyempt1): blocked, nothing removed: removing all 3 members would empty the organization; set `allow_empty: true` to allow it
        organization fine (org_fineinefinefin2): removed 1
        Apply: 1 removed, 0 not removed, 0 already gone, in 1 DELETE call; 1 organization blocked by a guard.

        ----- stderr -----
        error: apply did not complete: 1 organization blocked by a guard
        hint: the account above names each guard; review the removals, then raise `max_removals`, set `allow_empty: true` or `rejoin: warn` in the config if they are meant
        ");
    let state = s.emu().state();
    assert_eq!(state.organizations[0].members.len(), 3);
    assert_eq!(
        state.organizations[1].members,
        ["auth0|f0000", "auth0|f0001"]
    );
}

#[test]
fn without_a_terminal_apply_refuses_unless_auto_approved() {
    let s = Scenario::new("apply-tty").example_config();
    assert_stderr!(s.run(["apply"]), @r"
        success: false
        exit_code: 1
        ----- stderr -----
        error: refusing to remove members without confirmation: stdin is not a terminal
        hint: review what is listed above, then run again with `--auto-approve`
        ");
    assert!(deletes(s.emu()).is_empty());
}

/// `orgsync plan --out plan.json` in the scenario: the plan's path.
fn saved_plan(s: &Scenario) -> std::path::PathBuf {
    s.run(["plan", "--out", "plan.json"]).success();
    s.join("plan.json")
}

#[test]
fn a_saved_plan_removes_only_what_it_lists_and_reports_members_already_gone() {
    let s = Scenario::convergent("apply-saved");
    let plan = read_json(saved_plan(&s));
    // After the plan: someone joins acme (not in the plan), someone listed goes on their own.
    s.emu().add_members(ACME, &[NEW_HIRE]);
    s.emu().remove_members(UMBRELLA, &[ALBERT]);
    let out = s.run(["apply", "plan.json", "--auto-approve"]);
    out.success().stdout_has(format!("already gone: {ALBERT}"));
    out.stdout_has("Apply: 8 removed, 0 not removed, 1 already gone");
    // A member added after the plan stays.
    assert!(members_of(s.emu(), "acme").contains(&NEW_HIRE.to_string()));
    // Every DELETE carried only user_ids the plan listed.
    let orgs = plan["organizations"].as_array().unwrap();
    let listed: BTreeSet<&str> = orgs.iter().flat_map(|o| user_ids(&o["remove"])).collect();
    for u in deleted_ids(s.emu()) {
        assert!(listed.contains(u.as_str()), "{u} was not in the plan");
    }
}

#[test]
fn saved_plans_are_refused_when_edited_versioned_elsewhere_or_for_another_config() {
    let s = Scenario::convergent("apply-refuse");
    let plan = std::fs::read_to_string(saved_plan(&s)).unwrap();
    let edited = plan.replace(
        "auth0|64b0c0ffee0000000000000c",
        "auth0|64b0c0ffee00000000000002",
    );
    s.write("edited.json", &edited);
    let out = s.run(["apply", "edited.json", "--auto-approve"]);
    out.failure().stderr_has("was edited after it was made");

    s.write(
        "v2.json",
        &plan.replace("\"format_version\": 1", "\"format_version\": 2"),
    );
    let out = s.run(["apply", "v2.json", "--auto-approve"]);
    out.failure().stderr_has("format_version 2");

    let config = std::fs::read_to_string(s.join("orgsync.yaml")).unwrap();
    s.write(
        "other.yaml",
        &config.replace("max_removals: 25%", "max_removals: 30%"),
    );
    let out = s.run(["apply", "plan.json", "--auto-approve", "-c", "other.yaml"]);
    out.failure()
        .stderr_has("differs from the plan's config_sha256");

    // The same plan against another tenant (another emulator: another domain).
    let other = background(example_tenant(), Options::default());
    let out = OrgSync::new(&other).args(["apply", "plan.json", "--auto-approve"]);
    out.cwd(s.path())
        .run()
        .failure()
        .stderr_has("the plan was made for");

    let none = deletes(s.emu()).is_empty() && deletes(&other).is_empty();
    assert!(none, "no refused plan removed anyone");
    // With the matching config, the plan applies.
    s.run(["apply", "plan.json", "--auto-approve", "-c", "orgsync.yaml"])
        .success();
}

#[test]
fn a_failing_organization_does_not_stop_the_others_and_a_rerun_converges() {
    let s = Scenario::convergent("apply-partial");
    let expected = expected_state(&s);
    s.emu().script_fault(delete_fault(INITECH, 500, 3));
    let out = s.run(APPLY_AUDITED);
    let wants = format!("organization initech ({INITECH}): removed 0, NOT removed 6");
    out.failure().stdout_has(wants);
    out.stdout_has("Apply: 3 removed, 6 not removed");
    for u in ["18", "19", "1a", "1b", "1c", "1d"] {
        out.stdout_has(format!("not removed: auth0|64b0c0ffee000000000000{u}: "));
    }
    assert_eq!(members_of(s.emu(), "initech").len(), 11);
    let acme = expected.iter().find(|(n, _)| n == "acme").unwrap();
    assert_eq!(members_of(s.emu(), "acme").len(), acme.1.len());

    s.run(APPLY).success();
    assert_eq!(state_sets(s.emu()), expected);
    // The audit log recorded the failed call with its status and attempts.
    let lines = s.audit();
    let failed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "delete" && l["status"] == 500)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["attempts"], 3);
    assert_eq!(lines.last().unwrap()["event"], "summary");
    assert_eq!(lines.last().unwrap()["success"], false);
}

#[test]
fn wait_reports_convergence_under_a_removal_delay() {
    let s = Scenario::convergent("apply-wait").options(removal_delayed(3000));
    let out = s.run(["apply", "--auto-approve", "--wait=20"]);
    let visible = out.success().stdout().matches("removals visible").count();
    assert_eq!(visible, 3, "{}", out.show());
    // After the last DELETE, the wait re-read some organization more than once: the removals
    // were still listed at first (3 changed organizations, so more than 3 reads).
    let log = s.emu().requests();
    let last_delete = log.iter().rposition(|r| r.method == "DELETE").unwrap();
    let reads = log[last_delete..]
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/members"))
        .count();
    assert!(reads > 3, "{reads}");
}

#[test]
fn the_audit_log_matches_the_tenant_call_by_call_and_holds_no_secret() {
    let s = Scenario::convergent("apply-audit");
    let emu = s.emu();
    let token = emu.token_for("demo").unwrap();
    let out = OrgSync::with_token(emu, &token)
        .args(APPLY_AUDITED)
        .arg("-vv");
    let out = out.cwd(s.path()).run();
    out.success();
    let log = std::fs::read_to_string(s.join("audit.jsonl")).unwrap();
    assert!(!log.contains(&token) && !out.all().contains(&token));
    let lines = s.audit();
    let calls: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "delete" && l["invitation_id"].is_null())
        .collect();
    let tenant_calls: Vec<_> = deletes(emu)
        .into_iter()
        .filter(|r| r.status == 204)
        .collect();
    assert_eq!(calls.len(), tenant_calls.len());
    for a in &calls {
        let ids: Vec<String> = serde_json::from_value(a["user_ids"].clone()).unwrap();
        let sent = tenant_calls
            .iter()
            .any(|t| t.members.as_ref() == Some(&ids));
        assert!(sent, "{ids:?}");
        assert_eq!(a["status"], 204);
        assert_eq!(a["domain"], emu.url());
        assert!(a["organization_id"].as_str().unwrap().starts_with("org_"));
        assert!(a["organization_name"].is_string());
        assert!(a["duration_ms"].is_u64());
        assert_eq!(a["attempts"], 1);
        assert_eq!(a["plan_sha256"].as_str().unwrap().len(), 64);
    }
    let summary = lines.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["removed"], 9);
    assert_eq!(summary["success"], true);
    // Every request of the run is counted, reads included; none was sent twice.
    assert_eq!(summary["requests"], emu.requests().len());
    assert_eq!(summary["retries"], 0);
}

#[test]
fn with_client_credentials_the_audit_log_records_the_client_id_and_not_the_secret() {
    let s = Scenario::convergent("apply-audit-cc");
    s.run(APPLY_AUDITED).success();
    let log = std::fs::read_to_string(s.join("audit.jsonl")).unwrap();
    assert!(!log.contains("demo-secret"));
    let lines = s.audit();
    assert!(!lines.is_empty() && lines.iter().all(|l| l["client_id"] == "demo"));
}

#[test]
fn the_audit_log_counts_the_attempts_of_a_call_that_is_not_retried() {
    let s = Scenario::convergent("apply-attempts");
    // A 404 is final: one attempt, recorded as one.
    s.emu().script_fault(delete_fault(UMBRELLA, 404, 1));
    s.run(APPLY_AUDITED).failure();
    let lines = s.audit();
    let failed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "delete" && l["status"] == 404)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["attempts"], 1);
    assert!(failed[0]["error"].as_str().unwrap().contains("404"));
}

#[test]
fn a_run_that_cannot_read_the_tenant_still_leaves_a_summary() {
    let s = Scenario::new("apply-read-fails").config(
        "
        version: 1
        organizations:
          - name: no-such-org
            members: []
            allow_empty: true
        ",
    );
    s.run(APPLY_AUDITED).failure();
    let lines = s.audit();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let summary = &lines[0];
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["success"], false);
    assert_eq!(summary["removed"], 0);
    assert_eq!(summary["plan_sha256"], Value::Null);
    assert_eq!(summary["client_id"], "demo");
    // The lookup and the token request.
    assert_eq!(summary["requests"], s.emu().requests().len());
    let error = summary["error"].as_str().unwrap();
    assert!(error.contains("no-such-org"), "{summary}");
    assert!(deletes(s.emu()).is_empty());
}

#[test]
fn a_plan_saved_against_a_sandbox_applies_against_the_same_sandbox() {
    let s = Scenario::convergent("apply-sandbox-saved");
    s.sandbox(["plan", "--out", "plan.json"]).success();
    let plan = read_json(s.join("plan.json"));
    let domain = plan["domain"].as_str().unwrap();
    assert!(domain.starts_with("sandbox:"), "{domain}");
    // A second plan of the same tenant file names the same sandbox.
    let again = json_of(s.sandbox(["plan", "--format", "json"]).success());
    assert_eq!(again["domain"], domain);
    // Without --sandbox, the plan's sandbox domain says what to pass.
    let no_sandbox = s.run_bare(["apply", "plan.json", "--auto-approve"]);
    no_sandbox
        .failure()
        .stderr_has("pass `--sandbox TENANT.yaml`");
    let out = s.sandbox(["apply", "plan.json", "--auto-approve"]);
    out.success().stdout_has("Apply: 9 removed");
}

#[test]
fn a_plans_domain_is_not_trusted_with_credentials_and_a_config_given_as_the_plan_gets_a_hint() {
    let s = Scenario::convergent("apply-plan-domain");
    saved_plan(&s);
    // No --domain, no AUTH0_DOMAIN: a plan file is not trusted with where credentials go.
    // Only Auth0's own domains are taken from it; this one (the emulator) gets nothing, not
    // even the token request.
    let before = s.emu().requests().len();
    let creds = OrgSync::bare()
        .demo()
        .args(["apply", "plan.json", "--auto-approve"]);
    let creds = creds.cwd(s.path());
    assert_error!(creds.clone().no_retry_delay().run(), @r"
        error: the plan was made for `http://[EMULATOR]`, and no --domain or AUTH0_DOMAIN was given
        hint: orgsync sends credentials only to a domain you name or to Auth0's own (`TENANT.REGION.auth0.com`): pass `--domain http://[EMULATOR]` if that is the tenant
        ");
    assert_eq!(s.emu().requests().len(), before);
    // Named, it applies.
    let out = s.run(["apply", "plan.json", "--auto-approve"]);
    out.success();
    assert!(!deletes(s.emu()).is_empty(), "{}", out.show());
    // Another domain is still refused.
    let other = creds.args(["--domain", "travel0.us.auth0.com"]).run();
    other.failure().stderr_has("the plan was made for");
    // The config passed where the plan goes.
    assert_error!(s.run_bare(["apply", "orgsync.yaml"]), @r"
        error: `orgsync.yaml` is not a JSON plan: expected value at line 1 column 1
        hint: `orgsync.yaml` looks like a config: pass it with `-c orgsync.yaml` (`orgsync apply -c orgsync.yaml`), and a saved plan (from `orgsync plan --out PLAN.json`) as the argument
        ");
}

#[test]
fn wait_never_takes_the_next_argument_as_its_value() {
    let s = Scenario::new("apply-wait-arg");
    assert_error!(s.run_bare(["apply", "--wait", "stale.json"]), @"error: cannot read the plan `stale.json`: No such file or directory (os error 2)");
}

#[test]
fn wait_waits_the_full_time_and_fails_when_removals_never_show() {
    let s = Scenario::convergent("apply-wait-timeout").options(removal_delayed(30_000));
    let out = s.run(["apply", "--auto-approve", "--wait=5"]);
    out.code(1).stdout_has("removals NOT yet visible");
    let wants = "error: apply did not complete: removals not yet visible after --wait=5 s";
    out.stderr_has(wants).stderr_has("hint: ");
    assert!(out.took >= Duration::from_secs(5), "{}", out.show());
}

#[test]
fn a_forbidden_delete_reaches_stderr_with_the_scope_to_grant() {
    let s = Scenario::convergent("apply-403");
    let out = s.cmd(APPLY).read_only().run();
    // The token's granted scopes are known before anything is sent: refused then, not by a
    // 403 per DELETE.
    assert_stderr!(out, @r"
        success: false
        exit_code: 1
        ----- stderr -----
        error: refusing to apply: the token lacks `delete:organization_members` (apply needs `delete:organization_members` to remove members); nothing was sent
        hint: grant `delete:organization_members` to the application `read-only` in the Auth0 Dashboard (Applications > APIs > Auth0 Management API > Machine to Machine Applications), then run apply again
        ");
    assert_reads_only(s.emu());
}
