//! 4. Every wait ends (real waits: no --no-retry-delay).

use super::*;

fn plan_ends_under_headers(headers: &[(&str, String)]) {
    let fake = Fake::start(
        vec![forg(
            "org_alpha0000000001",
            "alpha",
            &["auth0|alpha0", "auth0|alpha1"],
        )],
        vec![],
    );
    let mut act = Act::default();
    for (k, v) in headers {
        act = act.header(k, v);
    }
    fake.rule("*", "/", false, None, act);
    let dir = TempDir::new("waits-end");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: alpha\n    members: [\"auth0|alpha0\"]\n",
    );
    let r = creds_real_waits(&fake.url())
        .args(["plan", "--timeout", "5"])
        .cwd(dir.path())
        .run();
    r.assert_no_panic();
    assert!(matches!(r.code, Some(0 | 1)), "{}", r.show());
}

#[test]
fn a_bucket_of_size_zero_does_not_stall_the_plan() {
    plan_ends_under_headers(&[
        ("x-ratelimit-limit", "0".into()),
        ("x-ratelimit-remaining", "0".into()),
    ]);
}

#[test]
fn a_reset_in_the_year_2100_does_not_stall_the_plan() {
    plan_ends_under_headers(&[
        ("x-ratelimit-limit", "10".into()),
        ("x-ratelimit-remaining", "0".into()),
        ("x-ratelimit-reset", "4102444800".into()),
    ]);
}

#[test]
fn a_reset_ten_minutes_ahead_does_not_stall_the_plan() {
    plan_ends_under_headers(&[
        ("x-ratelimit-limit", "10".into()),
        ("x-ratelimit-remaining", "0".into()),
        ("x-ratelimit-reset", (epoch_now() + 600).to_string()),
    ]);
}

fn rate_limited_apply_with_one_fault(status: u16) {
    let emu = background(
        emu_tenant(vec![org_with_members(
            "org_ratelimitedorg1",
            "limited",
            "r",
            30,
        )]),
        crate::support::rate_limited(4, 1.0),
    );
    emu.script_fault(ScriptedFault {
        method: "DELETE".into(),
        path: "/api/v2/organizations/org_ratelimitedorg1/members".into(),
        status,
        times: 1,
    });
    let dir = TempDir::new("rl-apply");
    let keep: Vec<String> = (0..5).map(|i| format!("\"auth0|r{i:04}\"")).collect();
    dir.write(
        "orgsync.yaml",
        &format!(
            "version: 1\ndefaults:\n  max_removals: 100%\norganizations:\n  - name: limited\n    members: [{}]\n",
            keep.join(", ")
        ),
    );
    let r = creds_real_waits(&emu.url())
        .args(["apply", "--auto-approve"])
        .cwd(dir.path())
        .limit(Duration::from_secs(120))
        .run();
    r.assert_no_panic();
    r.success();
    let expected: Vec<String> = (0..5).map(|i| format!("auth0|r{i:04}")).collect();
    assert_eq!(emu_members(&emu, "limited"), expected, "{}", r.show());
}

#[test]
fn a_rate_limited_apply_with_one_500_completes() {
    rate_limited_apply_with_one_fault(500);
}

#[test]
fn a_rate_limited_apply_with_one_503_completes() {
    rate_limited_apply_with_one_fault(503);
}

#[test]
fn a_rate_limited_apply_with_one_429_completes() {
    rate_limited_apply_with_one_fault(429);
}
