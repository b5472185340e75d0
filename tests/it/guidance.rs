//! Issue 21, parts 3-5: mistakes whose messages lead to the fix, an apply that checks before it
//! acts, and a plan a person can read. The real binary against the emulator over loopback.

use crate::support::*;

/// The demo's plan in `format`, from a scenario with the example config.
fn example_plan(s: &Scenario, format: &str) -> String {
    s.run(["plan", "--format", format]).success().stdout.clone()
}

#[test]
fn the_plan_has_a_legend_no_hunk_headers_and_names_the_limit_as_a_limit() {
    let s = Scenario::example("readable");
    let (text, markdown) = (example_plan(&s, "text"), example_plan(&s, "markdown"));
    for (what, out) in [("text", &text), ("markdown", &markdown)] {
        let hunk = out.lines().any(|l| l.starts_with("@@"));
        assert!(
            !hunk,
            "{what}: a hunk header says nothing about a membership:\n{out}"
        );
        let unchanged = out.contains(" … 8 unchanged members not shown\n");
        assert!(
            unchanged,
            "{what}: what the diff leaves out is said in words:\n{out}"
        );
        // initech: 6 removals, 11 members, 25%: the limit is 2, and it reads as the limit.
        let limit = "6 removals exceed the limit of 2 (max_removals: 25% of 11 current members, rounded down)";
        assert!(out.contains(limit), "{what}:\n{out}");
        assert!(!out.contains("exceed max_removals"), "{what}:\n{out}");
        let legends: Vec<&str> = out.lines().filter(|l| l.contains("Legend: ")).collect();
        assert_eq!(legends.len(), 1, "{what}: one legend line:\n{out}");
        for marker in ["`~` declared and invited", "`^` how the removed member"] {
            assert!(legends[0].contains(marker), "{what}: {}", legends[0]);
        }
    }
    // The text marks undeclared invitations `?`, and says so; Markdown lists them in words.
    let legend = text.lines().find(|l| l.starts_with("Legend: ")).unwrap();
    assert!(legend.contains("`?` pending invitation"), "{legend}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("? invitation"))
    );
}

#[test]
fn a_plan_without_markers_has_no_legend() {
    // umbrella minus Albert: one removal, nothing missing, no invitations, no open doors.
    let s = Scenario::new("readable-none").config(
        r#"
        version: 1
        organizations:
          - name: umbrella
            max_removals: 100%
            members:
              - "auth0|64b0c0ffee0000000000001e"
              - "auth0|64b0c0ffee0000000000001f"
              - "auth0|64b0c0ffee00000000000021"
        "#,
    );
    assert_run!(s.run(["plan"]), @r"
        success: true
        exit_code: 0
        ----- stdout -----
        organization umbrella (org_cGR0immZcgIoQziO): 1 to remove, 0 missing
         auth0|64b0c0ffee0000000000001e  jill@umbrella.example  (Jill Valentine)
         auth0|64b0c0ffee0000000000001f  chris@umbrella.example  (Chris Redfield)
        -auth0|64b0c0ffee00000000000020  albert@umbrella.example  (Albert Wesker)
         auth0|64b0c0ffee00000000000021  claire@umbrella.example  (Claire Redfield)

        Plan: 1 to remove, 0 missing, 0 protected kept, in 1 of 1 organization.

        ----- stderr -----
        ");
}

#[test]
fn plan_help_says_what_exit_2_counts() {
    let out = OrgSync::bare().args(["plan", "--help"]).run();
    let help = out.success().stdout().split_whitespace();
    let help = help.collect::<Vec<_>>().join(" ");
    assert!(
        help.contains("Exit 2 when the plan has drift as the config's `drift` setting counts it: `apply`, what apply would change (removals, blocked ones too, unknown declared user_ids, invitations it revokes); `members`, also missing members; `all` (the default), also undeclared pending invitations. Invited members never count."),
        "{help}"
    );
}

/// The example tenant with one more client: the demo's scopes without `without`.
fn tenant_with_client_lacking(without: &str) -> orgsync_emulator::Tenant {
    let mut tenant = example_tenant();
    let mut client = tenant.clients[0].clone();
    client.client_id = "lacking".into();
    client.client_secret = "lacking-secret".into();
    client.scopes.retain(|s| s != without);
    tenant.clients.push(client);
    tenant
}

/// `apply --auto-approve --audit-log audit.jsonl` as client `lacking`, without `scope`.
fn apply_lacking(scope: &str) -> (Scenario, Run) {
    let s = Scenario::new("apply-scope")
        .tenant(tenant_with_client_lacking(scope))
        .convergent_example_config();
    let out = s.cmd(APPLY_AUDITED).env("AUTH0_CLIENT_ID", "lacking");
    let out = out.env("AUTH0_CLIENT_SECRET", "lacking-secret").run();
    (s, out)
}

/// Nothing but reads reached the tenant, and the audit log's summary says the run was refused
/// for `scope`.
fn assert_refused_for(s: &Scenario, scope: &str) {
    assert_reads_only(s.emu());
    let lines = s.audit();
    let summary = lines.last().expect("a summary line");
    assert_eq!(summary["event"], "summary", "{lines:?}");
    assert_eq!(summary["success"], false);
    let error = summary["error"].as_str().unwrap_or_default();
    assert!(error.contains(scope), "{summary}");
}

#[test]
fn apply_without_a_delete_scope_refuses_before_any_delete_and_says_where_to_grant_it() {
    let (s, out) = apply_lacking("delete:organization_members");
    assert_stderr!(out, @r"
        success: false
        exit_code: 1
        ----- stderr -----
        error: refusing to apply: the token lacks `delete:organization_members` (apply needs `delete:organization_members` to remove members); nothing was sent
        hint: grant `delete:organization_members` to the application `lacking` in the Auth0 Dashboard (Applications > APIs > Auth0 Management API > Machine to Machine Applications), then run apply again
        ");
    assert_refused_for(&s, "delete:organization_members");
}

#[test]
fn apply_without_the_invitation_delete_scope_refuses_before_any_delete() {
    let (s, out) = apply_lacking("delete:organization_invitations");
    assert_stderr!(out, @r"
        success: false
        exit_code: 1
        ----- stderr -----
        error: refusing to apply: the token lacks `delete:organization_invitations` (apply needs `delete:organization_invitations` to revoke invitations (`invitations: revoke`)); nothing was sent
        hint: grant `delete:organization_invitations` to the application `lacking` in the Auth0 Dashboard (Applications > APIs > Auth0 Management API > Machine to Machine Applications), then run apply again
        ");
    assert_refused_for(&s, "delete:organization_invitations");
}

#[test]
fn a_refused_apply_without_a_terminal_writes_its_audit_summary() {
    let s = Scenario::convergent("apply-refused");
    // stdin is not a terminal and there is no --auto-approve.
    let out = s.run(["apply", "--audit-log", "audit.jsonl"]);
    out.failure().stderr_has("stdin is not a terminal");
    let lines = s.audit();
    assert_eq!(lines.len(), 1, "only the summary: {lines:?}");
    let summary = &lines[0];
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["success"], false);
    assert_eq!(summary["removed"], 0);
    let error = summary["error"].as_str().unwrap_or_default();
    assert!(error.contains("not a terminal"), "{summary}");
    let sha = summary["plan_sha256"].as_str();
    assert!(sha.is_some_and(|s| s.len() == 64), "{summary}");
    assert_reads_only(s.emu());
}

#[test]
fn the_saved_plan_listing_shows_emails_and_names_as_the_plan_did() {
    let s = Scenario::convergent("apply-saved-names");
    s.run(["plan", "--out", "plan.json"]).success();
    // Refused without a terminal, after the listing.
    let out = s.run(["apply", "plan.json", "-c", "orgsync.yaml"]);
    out.failure();
    for line in [
        "  - auth0|64b0c0ffee0000000000000c  dennis@acme.example  (Dennis Ritchie)",
        "  - auth0|64b0c0ffee00000000000020  albert@umbrella.example  (Albert Wesker)",
    ] {
        let listed = out.stdout().lines().any(|l| l == line);
        assert!(listed, "{line:?} not in:\n{}", out.show());
    }
}

/// The example organizations' ids other than umbrella's.
const NOT_UMBRELLA: [&str; 2] = ["org_3hbVAMF8F3wVIcEJ", "org_SST1yp2pazgSiMYi"];
const UMBRELLA: &str = "org_cGR0immZcgIoQziO";

#[test]
fn export_org_suggests_the_name_the_tenant_has() {
    let s = Scenario::new("export-typo");
    assert_error!(s.run(["export", "--org", "umbrela"]), @r"
        error: organization `umbrela` not found in the tenant; nothing was exported
        hint: did you mean `umbrella` (for `umbrela`)? `--org` takes organization names (not ids) as the tenant spells them; `orgsync export` without `--org` exports every organization
        ");
}

#[test]
fn a_dash_for_out_or_o_means_stdout_not_a_file_named_dash() {
    let s = Scenario::new("dash");
    let export = s.run(["export", "-o", "-"]);
    export.success().stdout_has("\norganizations:\n");
    assert!(!s.join("-").exists(), "no file named `-`");
    s.write("orgsync.yaml", export.stdout());

    let config = example_config();
    let plan = s.cmd(["plan", "--out", "-", "-c"]).arg(&config).run();
    assert!(!s.join("-").exists(), "no file named `-`");
    // stdout is the JSON plan alone (`> plan.json`); the text plan went to stderr.
    assert_eq!(json_of(plan.success())["format_version"], 1);
    plan.stderr_has("\nPlan: 3 to remove");
    // What stdout holds applies as a saved plan.
    s.write("plan.json", plan.stdout());
    let check = s.cmd(["apply", "plan.json", "-c"]).arg(&config).run();
    check.stdout_has("re-checked against the config and the tenant");
}

#[test]
fn plan_org_plans_only_the_organizations_named() {
    let s = Scenario::example("plan-org");
    // The example config names umbrella by its id: `--org` takes it as the config does.
    let out = s.run(["plan", "--org", UMBRELLA, "--format", "json"]);
    let v = json_of(out.success());
    assert_eq!(v["organizations"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["organizations"][0]["name"], "umbrella");
    for r in api_requests(s.emu()) {
        let other = NOT_UMBRELLA.iter().any(|id| r.path.contains(id));
        assert!(
            !other,
            "another organization was read: {} {}",
            r.method, r.path
        );
    }
    // A name the config does not have: refused before any request, with the closest one.
    let before = s.emu().requests().len();
    assert_error!(s.run(["plan", "--org", UMBRELLA, "--org", "acmee"]), @r"
        error: organization `acmee` not in the config; nothing was read
        hint: did you mean `acme` (for `acmee`)? `--org` takes an organization as the config names it (its `name`, or its `id`)
        ");
    assert_eq!(s.emu().requests().len(), before, "nothing was requested");
}

#[test]
fn applying_a_subset_plan_touches_no_other_organization() {
    let s = Scenario::convergent("apply-subset");
    s.run(["plan", "--org", UMBRELLA, "--out", "plan.json"])
        .success();
    let before = s.emu().requests().len();
    s.run(["apply", "plan.json", "-c", "orgsync.yaml", "--auto-approve"])
        .success();
    let during: Vec<_> = s.emu().requests().into_iter().skip(before).collect();
    let deletes: Vec<_> = during.iter().filter(|r| r.method == "DELETE").collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert!(deletes[0].path.contains(UMBRELLA), "{deletes:?}");
    for r in &during {
        let other = NOT_UMBRELLA.iter().any(|id| r.path.contains(id));
        assert!(
            !other,
            "apply of umbrella's plan reached another organization: {} {}",
            r.method, r.path
        );
    }
    // The others are as they were: a full plan still removes from acme.
    let v = json_of(s.run(["plan", "--format", "json"]).success());
    let orgs = v["organizations"].as_array().unwrap();
    let acme = orgs.iter().find(|o| o["name"] == "acme").unwrap();
    assert_eq!(acme["remove"].as_array().unwrap().len(), 2, "{acme}");
}
