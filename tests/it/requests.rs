//! Request counts: orgsync spends the fewest requests a correct client needs.

use crate::support::*;
use orgsync_emulator::{Options, Tenant};

fn tenant(orgs: usize, members: usize) -> Tenant {
    demo_tenant(
        (0..orgs)
            .map(|o| {
                org_with_members(
                    &format!("org_{o:016}"),
                    &format!("org-{o}"),
                    &format!("o{o}x"),
                    members,
                )
            })
            .collect(),
    )
}

fn config(names: impl Iterator<Item = String>) -> String {
    let mut y = String::from("version: 1\norganizations:\n");
    for n in names {
        y.push_str(&format!(
            "  - name: {n}\n    members: []\n    allow_empty: true\n"
        ));
    }
    y
}

/// How many of `paths` contain `needle`.
fn count(paths: &[String], needle: &str) -> usize {
    paths.iter().filter(|p| p.contains(needle)).count()
}

/// API requests (the token request excluded) of one `orgsync plan`.
fn plan_requests(t: Tenant, yaml: &str) -> Vec<String> {
    // Counting requests, not pacing: the limits are announced, not enforced.
    let options = Options {
        enforce_rate_limits: false,
        ..Options::default()
    };
    let dir = Scenario::new("requests").tenant(t).options(options);
    dir.write("orgsync.yaml", yaml);
    dir.run(["plan", "--format", "json"]).success();
    let emu = dir.emu();
    api_requests(emu).into_iter().map(|r| r.path).collect()
}

#[test]
fn the_example_tenant_costs_one_list_page_and_one_page_per_organization() {
    // The read-only client: members only, as before the re-entry checks.
    let s = Scenario::example("requests-example");
    s.cmd(["plan"]).read_only().run().success();
    let paths = api_paths(s.emu());
    // min(4 lookups, 1 list page) + 4 organizations of fewer than 100 members.
    assert_eq!(paths.len(), 5, "{paths:#?}");
    assert_eq!(paths[0], "/api/v2/organizations?take=100");
    assert_eq!(count(&paths, "/members?"), 4);
}

#[test]
fn the_example_tenant_with_the_re_entry_scopes_costs_one_read_of_each_door() {
    let s = Scenario::example("requests-example-doors");
    s.run(["plan"]).success();
    let paths = api_paths(s.emu());
    let count = |needle: &str| count(&paths, needle);
    // The list page; per organization its members (roles in the same requests), its enabled
    // connections and its invitations; then acme's two removed database users (acme has an
    // auto-membership connection), its missing new hire and the break-glass account (protected
    // everywhere, a member of acme only), each checked to exist (a typo'd declared or protected
    // user_id blocks its organization), the new hire's email read in the same request.
    assert_eq!(count("/api/v2/organizations?take=100"), 1);
    assert_eq!(count("/members?fields=user_id%2Cemail%2Cname%2Croles"), 4);
    assert_eq!(count("/enabled_connections?"), 4);
    assert_eq!(count("/invitations?"), 4);
    assert_eq!(count("/api/v2/users/"), 4);
    assert_eq!(paths.len(), 17, "{paths:#?}");
}

#[test]
fn one_organization_is_one_lookup() {
    let paths = plan_requests(tenant(3, 5), &config(["org-1".to_string()].into_iter()));
    assert_eq!(
        paths,
        [
            "/api/v2/organizations/name/org-1",
            "/api/v2/organizations/org_0000000000000001/members?fields=user_id%2Cemail%2Cname%2Croles&include_fields=true&take=100"
        ]
    );
}

#[test]
fn many_organizations_are_resolved_by_pages_of_100() {
    // 250 organizations named: 3 list pages (100, 100, 50) instead of 250 lookups.
    let paths = plan_requests(
        tenant(250, 3),
        &config((0..250).map(|o| format!("org-{o}"))),
    );
    assert_eq!(count(&paths, "/api/v2/organizations?"), 3);
    assert_eq!(count(&paths, "/members?"), 250);
    assert_eq!(paths.len(), 253);
}

#[test]
fn a_few_organizations_in_a_large_tenant_stop_paging_early() {
    // Two organizations at the end of a 1,000-organization list: two pages, then two lookups
    // (never the ten pages of the whole list).
    let paths = plan_requests(
        tenant(1000, 1),
        &config(["org-998".to_string(), "org-999".to_string()].into_iter()),
    );
    assert_eq!(count(&paths, "/api/v2/organizations?"), 2, "{paths:#?}");
    assert_eq!(count(&paths, "/api/v2/organizations/name/"), 2);
    assert_eq!(paths.len(), 2 + 2 + 2);
}

#[test]
fn member_pages_stop_at_the_first_short_page() {
    // 250 members: pages of 100, 100, 50; the short page ends the list.
    let paths = plan_requests(tenant(1, 250), &config(["org-0".to_string()].into_iter()));
    assert_eq!(count(&paths, "/members?"), 3);
    // 200 members: two full pages, then the empty page that proves the end.
    let paths = plan_requests(tenant(1, 200), &config(["org-0".to_string()].into_iter()));
    assert_eq!(count(&paths, "/members?"), 3);
    // 99 members: one request.
    let paths = plan_requests(tenant(1, 99), &config(["org-0".to_string()].into_iter()));
    assert_eq!(count(&paths, "/members?"), 1);
}

/// Plans `orgs` organizations of `members` against a tenant-wide bucket, with real waits (the
/// pacing is under test), and checks that no answer after the first was a 429. `pages` is the
/// member pages each organization needs.
fn plan_under_a_limit(
    bucket: orgsync_emulator::BucketConfig,
    orgs: usize,
    members: usize,
    pages: usize,
) {
    use orgsync_emulator::RateLimits;
    let options = Options {
        rate_limits: RateLimits {
            global: Some(bucket),
            ..RateLimits::default()
        },
        ..Options::default()
    };
    let emu = background(tenant(orgs, members), options);
    let dir = TempDir::new("requests-paced");
    dir.write(
        "orgsync.yaml",
        &config((0..orgs).map(|o| format!("org-{o}"))),
    );
    let url = emu.url();
    let out = OrgSync::bare()
        .envs(&[
            ("AUTH0_DOMAIN", url.as_str()),
            ("AUTH0_CLIENT_ID", "demo"),
            ("AUTH0_CLIENT_SECRET", "demo-secret"),
        ])
        .args(["plan", "--format", "json"])
        .cwd(dir.path())
        .run();
    out.success();
    let reqs = api_requests(&emu);
    // 1 list page, then the member pages.
    assert_eq!(reqs.len(), 1 + orgs * pages);
    let limited = reqs.iter().skip(1).filter(|r| r.status == 429).count();
    assert!(
        limited == 0,
        "{limited} answers were 429 after the first: {:?}",
        reqs.iter()
            .map(|r| format!("{} {}", r.time, r.status))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_rate_limited_tenant_gets_no_429_once_the_first_answer_showed_the_limit() {
    let bucket = orgsync_emulator::BucketConfig {
        size: 10,
        refill_per_sec: 50.0,
        every_second: false,
    };
    plan_under_a_limit(bucket, 30, 250, 3);
}

#[test]
fn a_bucket_refilled_once_a_second_gets_no_429_either() {
    // Like Essentials' tenant-wide 10 and 150 a minute, scaled: a burst of 4, 4 tokens at each
    // whole second. A client crediting refills continuously spends tokens not there yet.
    let bucket = orgsync_emulator::BucketConfig {
        size: 4,
        refill_per_sec: 4.0,
        every_second: true,
    };
    plan_under_a_limit(bucket, 12, 20, 1);
}

#[test]
fn max_rps_spaces_requests() {
    // One lookup and three member pages: four requests, at 20 a second at most.
    let s = Scenario::new("requests-max-rps").tenant(tenant(1, 250));
    s.write("orgsync.yaml", &config((0..1).map(|o| format!("org-{o}"))));
    s.cmd(["plan", "--max-rps", "20"])
        .real_waits()
        .run()
        .success();
    // Arrival times on the emulator's clock, in ms of the day.
    const DAY: u64 = 24 * 3600 * 1000;
    let times: Vec<u64> = api_requests(s.emu())
        .iter()
        .map(|r| {
            let t = &r.time; // 2026-11-28T12:00:00.123Z
            let field = |range: std::ops::Range<usize>| t[range].parse::<u64>().unwrap();
            ((field(11..13) * 60 + field(14..16)) * 60 + field(17..19)) * 1000 + field(20..23)
        })
        .collect();
    assert_eq!(times.len(), 4, "{times:?}");
    // Three intervals of 50 ms: 150 ms from first to last (unpaced, they take a few ms). The
    // margin allows for the first request reaching the emulator late on a busy machine.
    let span = (times[3] + DAY - times[0]) % DAY;
    assert!(span >= 130, "{span} ms: {times:?}");
}
