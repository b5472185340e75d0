//! Issue 21, parts 3-5: mistakes whose messages lead to the fix, an apply that checks before it
//! acts, and a plan a person can read. The real binary against the emulator over loopback.

use crate::support::*;
use orgsync_emulator::Options;

/// The demo's plan, as text and as Markdown.
fn example_plans(emu: &orgsync_emulator::Emulator, dir: &TempDir) -> (String, String) {
    let config = example_config();
    let plan = |format: &str| {
        let out = OrgSync::new(emu)
            .args(["plan", "-c", config.to_str().unwrap(), "--format", format])
            .cwd(dir.path())
            .run();
        out.success();
        out.stdout
    };
    (plan("text"), plan("markdown"))
}

#[test]
fn the_plan_has_a_legend_no_hunk_headers_and_names_the_limit_as_a_limit() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("readable");
    let (text, markdown) = example_plans(&emu, &dir);
    for (what, out) in [("text", &text), ("markdown", &markdown)] {
        assert!(
            !out.lines().any(|l| l.starts_with("@@")),
            "{what}: a hunk header says nothing about a membership:\n{out}"
        );
        assert!(
            out.contains(" … 8 unchanged members not shown\n"),
            "{what}: what the diff leaves out is said in words:\n{out}"
        );
        // initech: 6 removals, 11 members, 25%: the limit is 2, and it reads as the limit.
        assert!(
            out.contains("6 removals exceed the limit of 2 (max_removals: 25% of 11 current members, rounded down)"),
            "{what}:\n{out}"
        );
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
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("readable-none");
    // umbrella minus Albert: one removal, nothing missing, no invitations, no open doors.
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: umbrella\n    max_removals: 100%\n    members:\n      - \"auth0|64b0c0ffee0000000000001e\"\n      - \"auth0|64b0c0ffee0000000000001f\"\n      - \"auth0|64b0c0ffee00000000000021\"\n",
    );
    let out = OrgSync::new(&emu).args(["plan"]).cwd(dir.path()).run();
    out.success();
    assert!(
        out.stdout().contains("-auth0|64b0c0ffee00000000000020"),
        "{}",
        out.show()
    );
    assert!(!out.stdout().contains("Legend"), "{}", out.show());
}

#[test]
fn plan_help_says_what_exit_2_counts() {
    let out = OrgSync::bare().args(["plan", "--help"]).run();
    out.success();
    let help = out
        .stdout()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        help.contains("Exit 2 when the plan has drift as the config's `drift` setting counts it: `apply`, what apply would change (removals, blocked ones too, unknown declared user_ids, invitations it revokes); `members`, also missing members; `all` (the default), also undeclared pending invitations. Invited members never count."),
        "{help}"
    );
}

/// The example config, made to converge: initech unguarded, undeclared invitations revoked,
/// no declared non-member.
fn convergent_config(dir: &TempDir) -> std::path::PathBuf {
    let text = std::fs::read_to_string(example_config()).unwrap();
    let text = text
        .replace(
            "  - name: initech\n",
            "  - name: initech\n    max_removals: 100%\n",
        )
        .replace("defaults:\n", "defaults:\n  invitations: revoke\n")
        .lines()
        .filter(|l| !l.contains("auth0|64b0c0ffee0000000000abcd"))
        .collect::<Vec<_>>()
        .join("\n");
    dir.write("orgsync.yaml", &format!("{text}\n"))
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

#[test]
fn apply_without_a_delete_scope_refuses_before_any_delete_and_says_where_to_grant_it() {
    for (scope, what) in [
        ("delete:organization_members", "remove members"),
        ("delete:organization_invitations", "revoke invitations"),
    ] {
        let emu = background(tenant_with_client_lacking(scope), Options::default());
        let dir = TempDir::new("apply-scope");
        convergent_config(&dir);
        let audit = dir.path().join("audit.jsonl");
        let out = OrgSync::at(&emu.url())
            .envs(&[
                ("AUTH0_CLIENT_ID", "lacking"),
                ("AUTH0_CLIENT_SECRET", "lacking-secret"),
            ])
            .args(["apply", "--auto-approve", "--audit-log"])
            .arg(&audit)
            .cwd(dir.path())
            .run();
        out.failure();
        let err = out.stderr();
        assert!(
            err.contains(&format!(
                "error: refusing to apply: the token lacks `{scope}`"
            )) && err.contains(what)
                && err.contains("nothing was sent"),
            "{scope}: {}",
            out.show()
        );
        assert!(
            err.lines().any(|l| l.starts_with("hint: grant `")
                && l.contains(scope)
                && l.contains("`lacking`")
                && l.contains("Machine to Machine Applications")),
            "{scope}: {}",
            out.show()
        );
        let sent: Vec<_> = api_requests(&emu)
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect();
        assert!(sent.is_empty(), "{scope}: nothing is sent: {sent:?}");
        // The audit log says the run was attempted and refused.
        let lines = audit_lines(&audit);
        let summary = lines.last().expect("a summary line");
        assert_eq!(summary["event"], "summary", "{lines:?}");
        assert_eq!(summary["success"], false);
        assert!(
            summary["error"]
                .as_str()
                .unwrap_or_default()
                .contains(scope),
            "{summary}"
        );
    }
}

#[test]
fn a_refused_apply_without_a_terminal_writes_its_audit_summary() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-refused");
    convergent_config(&dir);
    let audit = dir.path().join("audit.jsonl");
    // stdin is not a terminal and there is no --auto-approve.
    let out = OrgSync::new(&emu)
        .args(["apply", "--audit-log"])
        .arg(&audit)
        .cwd(dir.path())
        .run();
    out.failure();
    assert!(
        out.stderr().contains("stdin is not a terminal"),
        "{}",
        out.show()
    );
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 1, "only the summary: {lines:?}");
    let summary = &lines[0];
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["success"], false);
    assert_eq!(summary["removed"], 0);
    assert!(
        summary["error"]
            .as_str()
            .unwrap_or_default()
            .contains("not a terminal"),
        "{summary}"
    );
    assert!(
        summary["plan_sha256"]
            .as_str()
            .is_some_and(|s| s.len() == 64),
        "{summary}"
    );
    assert!(api_requests(&emu).iter().all(|r| r.method == "GET"));
}

#[test]
fn the_saved_plan_listing_shows_emails_and_names_as_the_plan_did() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-saved-names");
    convergent_config(&dir);
    OrgSync::new(&emu)
        .args(["plan", "--out", "plan.json"])
        .cwd(dir.path())
        .run()
        .success();
    let out = OrgSync::new(&emu)
        .args(["apply", "plan.json", "-c", "orgsync.yaml"])
        .cwd(dir.path())
        .run();
    // Refused without a terminal, after the listing.
    out.failure();
    let text = out.stdout();
    for line in [
        "  - auth0|64b0c0ffee0000000000000c  dennis@acme.example  (Dennis Ritchie)",
        "  - auth0|64b0c0ffee00000000000020  albert@umbrella.example  (Albert Wesker)",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} not in:\n{}",
            out.show()
        );
    }
}

/// The example organizations' ids other than umbrella's.
const NOT_UMBRELLA: [&str; 2] = ["org_3hbVAMF8F3wVIcEJ", "org_SST1yp2pazgSiMYi"];
const UMBRELLA: &str = "org_cGR0immZcgIoQziO";

#[test]
fn export_org_suggests_the_name_the_tenant_has() {
    let emu = background(example_tenant(), Options::default());
    let out = OrgSync::new(&emu)
        .args(["export", "--org", "umbrela"])
        .run();
    out.failure();
    assert!(
        out.stderr()
            .contains("organization `umbrela` not found in the tenant; nothing was exported"),
        "{}",
        out.show()
    );
    assert!(
        out.stderr()
            .lines()
            .any(|l| l.starts_with("hint: did you mean `umbrella` (for `umbrela`)?")),
        "{}",
        out.show()
    );
}

#[test]
fn a_dash_for_out_or_o_means_stdout_not_a_file_named_dash() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("dash");
    let export = OrgSync::new(&emu)
        .args(["export", "-o", "-"])
        .cwd(dir.path())
        .run();
    export.success();
    assert!(
        export.stdout().contains("\norganizations:\n"),
        "{}",
        export.show()
    );
    assert!(!dir.path().join("-").exists(), "no file named `-`");
    std::fs::write(dir.path().join("orgsync.yaml"), export.stdout()).unwrap();

    let config = example_config();
    let plan = OrgSync::new(&emu)
        .args(["plan", "-c", config.to_str().unwrap(), "--out", "-"])
        .cwd(dir.path())
        .run();
    plan.success();
    assert!(!dir.path().join("-").exists(), "no file named `-`");
    // stdout is the JSON plan alone (`> plan.json`); the text plan went to stderr.
    let v: serde_json::Value = serde_json::from_str(plan.stdout())
        .unwrap_or_else(|e| panic!("stdout is not the JSON plan ({e}):\n{}", plan.show()));
    assert_eq!(v["format_version"], 1);
    assert!(
        plan.stderr().contains("\nPlan: 3 to remove"),
        "{}",
        plan.show()
    );
    // What stdout holds applies as a saved plan.
    std::fs::write(dir.path().join("plan.json"), plan.stdout()).unwrap();
    let check = OrgSync::new(&emu)
        .args(["apply", "plan.json", "-c", config.to_str().unwrap()])
        .cwd(dir.path())
        .run();
    assert!(
        check
            .stdout()
            .contains("re-checked against the config and the tenant"),
        "{}",
        check.show()
    );
}

#[test]
fn plan_org_plans_only_the_organizations_named() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("plan-org");
    let config = example_config();
    let out = OrgSync::new(&emu)
        // The example config names umbrella by its id: `--org` takes it as the config does.
        .args(["plan", "-c", config.to_str().unwrap(), "--org", UMBRELLA])
        .args(["--format", "json"])
        .cwd(dir.path())
        .run();
    out.success();
    let v: serde_json::Value = serde_json::from_str(out.stdout()).unwrap();
    let orgs: Vec<&str> = v["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(orgs, ["umbrella"]);
    for r in api_requests(&emu) {
        assert!(
            !NOT_UMBRELLA.iter().any(|id| r.path.contains(id)),
            "another organization was read: {} {}",
            r.method,
            r.path
        );
    }

    // A name the config does not have: refused before any request, with the closest one.
    let before = emu.requests().len();
    let typo = OrgSync::new(&emu)
        .args(["plan", "-c", config.to_str().unwrap()])
        .args(["--org", UMBRELLA, "--org", "acmee"])
        .cwd(dir.path())
        .run();
    typo.failure();
    assert!(
        typo.stderr()
            .contains("error: organization `acmee` not in the config; nothing was read"),
        "{}",
        typo.show()
    );
    assert!(
        typo.stderr()
            .contains("hint: did you mean `acme` (for `acmee`)?"),
        "{}",
        typo.show()
    );
    assert_eq!(emu.requests().len(), before, "nothing was requested");
}

#[test]
fn applying_a_subset_plan_touches_no_other_organization() {
    let emu = background(example_tenant(), Options::default());
    let dir = TempDir::new("apply-subset");
    convergent_config(&dir);
    OrgSync::new(&emu)
        .args(["plan", "--org", UMBRELLA, "--out", "plan.json"])
        .cwd(dir.path())
        .run()
        .success();
    let before = emu.requests().len();
    let out = OrgSync::new(&emu)
        .args(["apply", "plan.json", "-c", "orgsync.yaml", "--auto-approve"])
        .cwd(dir.path())
        .run();
    out.success();
    let during: Vec<_> = emu.requests().into_iter().skip(before).collect();
    let deletes: Vec<_> = during.iter().filter(|r| r.method == "DELETE").collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert!(deletes[0].path.contains(UMBRELLA), "{deletes:?}");
    for r in &during {
        assert!(
            !NOT_UMBRELLA.iter().any(|id| r.path.contains(id)),
            "apply of umbrella's plan reached another organization: {} {}",
            r.method,
            r.path
        );
    }
    // The others are as they were: a full plan still removes from acme.
    let after = OrgSync::new(&emu)
        .args(["plan", "--format", "json"])
        .cwd(dir.path())
        .run();
    after.success();
    let v: serde_json::Value = serde_json::from_str(after.stdout()).unwrap();
    let acme = v["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "acme")
        .unwrap();
    assert_eq!(acme["remove"].as_array().unwrap().len(), 2, "{acme}");
}
