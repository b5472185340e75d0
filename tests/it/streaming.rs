//! A saved plan applied with `--auto-approve` streams: each organization's DELETEs start when
//! its own re-read is final, while others are still read. Every other apply reads the whole
//! tenant first. Either way only what both plans remove goes, and a failed read sends nothing.

use orgsync_emulator::fixtures::{demo_tenant, org_with_members};
use orgsync_emulator::ratelimit::{BucketConfig, RateLimits};
use orgsync_emulator::{Options, RequestRecord, ScriptedFault};

use crate::support::*;

const ORGS: usize = 6;

fn org_id(i: usize) -> String {
    format!("org_streamstream{i:04}")
}

/// Six organizations of four members (`auth0|o{i}m0000`..); the config keeps three of each.
/// Member reads come from a bucket of two tokens refilled 10 times a second, so reading them
/// all takes over half a second.
fn scenario(tag: &str) -> Scenario {
    let orgs = (0..ORGS)
        .map(|i| org_with_members(&org_id(i), &format!("team{i}"), &format!("o{i}m"), 4))
        .collect();
    let slow_reads = BucketConfig {
        size: 2,
        refill_per_sec: 10.0,
        every_second: false,
    };
    let options = Options {
        rate_limits: RateLimits {
            members_read: Some(slow_reads),
            ..RateLimits::enterprise()
        },
        ..Options::default()
    };
    let mut config = String::from("version: 1\ndefaults:\n  max_removals: 1\norganizations:\n");
    for i in 0..ORGS {
        config += &format!("  - name: team{i}\n    members:\n");
        for m in 0..3 {
            config += &format!("      - \"auth0|o{i}m{m:04}\"\n");
        }
    }
    Scenario::new(tag)
        .tenant(demo_tenant(orgs))
        .options(options)
        .file("orgsync.yaml", &config)
}

fn member_reads(log: &[RequestRecord]) -> Vec<u64> {
    let read = |r: &&RequestRecord| r.method == "GET" && r.path.contains("/members");
    log.iter().filter(read).map(|r| r.seq).collect()
}

fn deletes(log: &[RequestRecord]) -> Vec<&RequestRecord> {
    log.iter().filter(|r| r.method == "DELETE").collect()
}

/// `plan --out plan.json`, then the emulator's log cleared.
fn saved_plan(s: &Scenario) {
    s.cmd(["plan", "--out", "plan.json"])
        .real_waits()
        .run()
        .success();
    s.emu().clear_requests();
}

/// `apply plan.json --auto-approve --audit-log a.jsonl`, with real waits.
fn apply_saved(s: &Scenario) -> OrgSync {
    let args = ["apply", "plan.json", "--auto-approve", "--audit-log"];
    s.cmd(args).arg("a.jsonl").real_waits()
}

#[test]
fn a_saved_plan_applied_without_a_prompt_sends_deletes_before_the_last_read() {
    let s = scenario("stream-order");
    saved_plan(&s);
    apply_saved(&s).run().success();
    let log = s.emu().requests();
    let first_delete = deletes(&log).first().map(|r| r.seq).unwrap();
    let last_read = *member_reads(&log).last().unwrap();
    assert!(first_delete < last_read, "{first_delete} < {last_read}");
    assert_eq!(deletes(&log).len(), ORGS, "one DELETE per organization");
    s.run(["audit", "verify", "a.jsonl"]).success();
    let start = &audit_lines(&s.join("a.jsonl"))[0];
    assert_eq!(
        (start["event"].as_str(), start["streamed"].as_bool()),
        (Some("start"), Some(true))
    );
    assert_eq!(start["removals"], ORGS);
}

#[test]
fn an_apply_without_a_saved_plan_reads_every_organization_first() {
    let s = scenario("stream-phased");
    s.cmd(["apply", "--auto-approve"])
        .real_waits()
        .run()
        .success();
    let log = s.emu().requests();
    let first_delete = deletes(&log).first().map(|r| r.seq).unwrap();
    assert!(member_reads(&log).iter().all(|r| *r < first_delete));
    assert_eq!(deletes(&log).len(), ORGS);
}

#[test]
fn an_organization_that_cannot_be_read_sends_nothing_and_the_others_are_applied() {
    let s = scenario("stream-fail");
    saved_plan(&s);
    s.emu().script_fault(ScriptedFault {
        method: "GET".into(),
        path: format!("/api/v2/organizations/{}/members", org_id(3)),
        status: 500,
        times: 100,
    });
    let r = apply_saved(&s).run();
    r.code(1)
        .stdout_has("team3 (org_streamstream0003): blocked, nothing removed: not read");
    let wanted: Vec<String> = (0..ORGS)
        .filter(|i| *i != 3)
        .map(|i| format!("auth0|o{i}m0003"))
        .collect();
    assert_eq!(all_sent(&s.emu().requests()), wanted);
    s.run(["audit", "verify", "a.jsonl"]).success();
}

#[test]
fn a_member_gone_since_the_plan_is_reported_and_not_sent() {
    let s = scenario("stream-narrow");
    saved_plan(&s);
    s.emu().remove_members(&org_id(1), &["auth0|o1m0003"]);
    s.cmd(["apply", "plan.json", "--auto-approve"])
        .real_waits()
        .run()
        .success();
    let log = s.emu().requests();
    assert_eq!(deletes(&log).len(), ORGS - 1);
    let sent = all_sent(&log);
    assert!(!sent.contains(&"auth0|o1m0003".to_string()));
}

/// The user_ids of every DELETE, sorted.
fn all_sent(log: &[RequestRecord]) -> Vec<String> {
    let mut sent: Vec<String> = deletes(log)
        .iter()
        .flat_map(|d| d.members.clone().unwrap_or_default())
        .collect();
    sent.sort();
    sent
}

#[test]
fn sigint_mid_stream_stops_reads_and_calls_and_the_log_accounts_for_every_organization() {
    let s = scenario("stream-sigint");
    saved_plan(&s);
    let child = apply_saved(&s).spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while deletes(&s.emu().requests()).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no DELETE within 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let pid = child.pid().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status();
    assert!(killed.is_ok_and(|k| k.success()));
    let r = child.wait(std::time::Duration::from_secs(60));
    r.code(130)
        .stdout_has("not read, nothing sent: the run was interrupted");
    s.run(["audit", "verify", "a.jsonl"]).success();
    let lines = audit_lines(&s.join("a.jsonl"));
    assert_eq!(
        lines.last().map(|l| l["event"].clone()),
        Some("summary".into())
    );
}
