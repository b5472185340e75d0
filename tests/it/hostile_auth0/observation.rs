//! 1. Keyed, total observation: a read that fails or panics plans nothing and removes nobody.

use super::*;

const THREE_ORGS: &str = r#"version: 1
defaults:
  max_removals: 100%
organizations:
  - name: alpha
    allow_empty: true
    members: ["auth0|alpha0", "auth0|alpha1"]
  - name: beta
    allow_empty: true
    members: ["auth0|beta0", "auth0|beta1", "auth0|beta2"]
  - name: gamma
    allow_empty: true
    members: ["auth0|gamma0", "auth0|gamma1"]
"#;

fn three_org_fake() -> Fake {
    let mut alpha = forg(
        "org_alpha0000000001",
        "alpha",
        &["auth0|alpha0", "auth0|alpha1", "auth0|alpha2"],
    );
    // Not in the organization list: orgsync looks it up by name.
    alpha.listed = false;
    Fake::start(
        vec![
            alpha,
            forg(
                "org_beta00000000002",
                "beta",
                &["auth0|beta0", "auth0|beta1", "auth0|beta2", "auth0|beta3"],
            ),
            forg(
                "org_gamma0000000003",
                "gamma",
                &["auth0|gamma0", "auth0|gamma1", "auth0|gamma2"],
            ),
        ],
        vec![],
    )
}

/// Promise: an organization that cannot be read fails the whole run (plan and apply: exit 1,
/// no DELETE at all, the organization named, no panic); config and observed organizations are
/// matched by key, never by position.
fn unreadable_lookup_fails_the_whole_run(reset: &str) {
    let fake = three_org_fake();
    fake.rule(
        "GET",
        "/api/v2/organizations/name/alpha",
        true,
        None,
        Act::status(503)
            .header("x-ratelimit-limit", "10")
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", reset),
    );
    let dir = TempDir::new("keyed");
    dir.write("orgsync.yaml", THREE_ORGS);
    let env = creds(&fake.url());
    for args in [vec!["apply", "--auto-approve"], vec!["plan"]] {
        let r = env.clone().args(&args).cwd(dir.path()).run();
        assert!(
            fake.deletes().is_empty(),
            "{args:?} with reset {reset}: DELETEs were sent: {:?}\n{}",
            fake.deletes(),
            r.show()
        );
        r.code_for(1, format_args!("{args:?} with reset {reset}"));
        assert!(
            r.stderr.contains("alpha"),
            "{args:?}: stderr does not name the organization that could not be read:\n{}",
            r.show()
        );
        r.assert_no_panic();
    }
    // The declared members are all still there.
    assert_eq!(fake.members("org_beta00000000002").len(), 4);
}

#[test]
fn observation_is_keyed_and_total_when_a_lookup_says_reset_1e30() {
    unreadable_lookup_fails_the_whole_run("1e30");
}

#[test]
fn observation_is_keyed_and_total_when_a_lookup_says_reset_inf() {
    unreadable_lookup_fails_the_whole_run("inf");
}

/// Promise: a member declared by email is never removed because its lookup misbehaved
/// (`503` with `Retry-After: nan`): either it resolves after a retry, or the run fails.
fn email_lookup_with_nan_retry_after(real_waits: bool) {
    let fake = Fake::start(
        vec![forg(
            "org_alpha0000000001",
            "alpha",
            &["auth0|alpha0", "auth0|alpha1", "auth0|alpha2"],
        )],
        vec![],
    );
    fake.rule(
        "GET",
        "/api/v2/users-by-email",
        true,
        Some(1),
        Act::status(503).header("Retry-After", "nan"),
    );
    let dir = TempDir::new("email-nan");
    dir.write(
        "orgsync.yaml",
        "version: 1\norganizations:\n  - name: alpha\n    members:\n      - {email: alpha0@example.com}\n      - \"auth0|alpha1\"\n",
    );
    let env = if real_waits {
        creds_real_waits(&fake.url())
    } else {
        creds(&fake.url())
    };
    let r = env
        .clone()
        .args(["apply", "--auto-approve"])
        .cwd(dir.path())
        .run();
    for d in fake.deletes() {
        let ids = d.user_ids.unwrap_or_default();
        assert!(
            !ids.contains(&"auth0|alpha0".to_string())
                && !ids.contains(&"auth0|alpha1".to_string()),
            "a declared member was removed: {ids:?}\n{}",
            r.show()
        );
    }
    match r.code {
        Some(0) => assert_eq!(
            fake.members("org_alpha0000000001"),
            ["auth0|alpha0", "auth0|alpha1"],
            "{}",
            r.show()
        ),
        Some(1) => assert!(fake.deletes().is_empty(), "{}", r.show()),
        _ => panic!("unexpected exit:\n{}", r.show()),
    }
    r.assert_no_panic();
}

#[test]
fn an_email_lookup_answering_503_retry_after_nan_never_removes_the_declared_member() {
    email_lookup_with_nan_retry_after(true);
}

#[test]
fn an_email_lookup_answering_503_retry_after_nan_never_removes_the_declared_member_instant() {
    email_lookup_with_nan_retry_after(false);
}
