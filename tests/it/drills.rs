//! Reliability drills, seeded and repeatable: faults, crashes and eventual consistency. Each
//! prints a tally (`cargo test --test it drills:: -- --nocapture` shows it).

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use crate::support::*;
use orgsync_emulator::{Emulator, FaultKind, Options, RequestRecord, Tenant};
use serde_json::Value;

const ORGS: usize = 20;
const MEMBERS: usize = 30;
const KEEP: usize = 25;

fn drill_tenant() -> Tenant {
    demo_tenant(
        (0..ORGS)
            .map(|o| {
                org_with_members(
                    &format!("org_drill{o:011}"),
                    &format!("team-{o}"),
                    &format!("t{o:02}x"),
                    MEMBERS,
                )
            })
            .collect(),
    )
}

/// Everyone keeps the first 25 members; one is protected in every organization.
fn drill_config(dir: &TempDir) {
    let mut y = String::from(
        "version: 1\ndefaults:\n  max_removals: 100%\n  protect: [\"auth0|t00x0029\"]\norganizations:\n",
    );
    for o in 0..ORGS {
        y.push_str(&format!("  - name: team-{o}\n    members:\n"));
        for m in 0..KEEP {
            y.push_str(&format!("      - \"auth0|t{o:02}x{m:04}\"\n"));
        }
    }
    dir.write("orgsync.yaml", &y);
}

fn expected() -> Vec<BTreeSet<String>> {
    (0..ORGS)
        .map(|o| {
            let mut keep: BTreeSet<String> =
                (0..KEEP).map(|m| format!("auth0|t{o:02}x{m:04}")).collect();
            if o == 0 {
                keep.insert("auth0|t00x0029".into());
            }
            keep
        })
        .collect()
}

/// Users the plan removes: everyone past the first 25, but the protected one.
fn planned() -> HashSet<String> {
    (0..ORGS)
        .flat_map(|o| (KEEP..MEMBERS).map(move |m| format!("auth0|t{o:02}x{m:04}")))
        .filter(|u| u != "auth0|t00x0029")
        .collect()
}

fn state(emu: &Emulator) -> Vec<BTreeSet<String>> {
    emu.state()
        .organizations
        .into_iter()
        .map(|o| o.members.into_iter().collect())
        .collect()
}

/// The drill tenant's emulator with `options`, and a dir holding the drill config.
fn drill(tag: &str, options: Options) -> (Emulator, TempDir) {
    let dir = TempDir::new(tag);
    drill_config(&dir);
    (background(drill_tenant(), options), dir)
}

/// The user_ids of each DELETE in `requests` that the tenant answered `status` (any, if None).
fn deletes(requests: &[RequestRecord], status: Option<u16>) -> Vec<Vec<String>> {
    let deleted = requests.iter().filter(|r| r.method == "DELETE");
    let answered = deleted.filter(|r| status.is_none_or(|s| r.status == s));
    answered
        .map(|r| r.members.clone().unwrap_or_default())
        .collect()
}

/// The user_ids of each audit line of `event` (all of them, or with `only_ok` those whose
/// DELETE was answered 204).
fn audited(lines: &[Value], event: &str, only_ok: bool) -> Vec<Vec<String>> {
    let of_event = lines.iter().filter(|l| l["event"] == event);
    let kept = of_event.filter(|l| !only_ok || l["status"] == 204);
    let ids = |l: &Value| {
        l["user_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_string())
            .collect()
    };
    kept.map(ids).collect()
}

#[test]
fn fifty_seeded_runs_with_faults_end_exactly_at_the_declared_state() {
    let (mut faults, mut requests, mut reruns, mut wrong) = (0usize, 0usize, 0usize, 0usize);
    let (mut retries, mut apply_runs) = (0u64, 0usize);
    for seed in 0..50u64 {
        let options = Options {
            fault_rate: 0.10,
            fault_kinds: vec![
                FaultKind::Status500,
                FaultKind::Status503,
                FaultKind::Drop,
                FaultKind::Status429,
            ],
            latency_jitter: Duration::from_millis(2),
            seed,
            // Faults, not rate limits, are the drill: the limits are announced, not enforced.
            enforce_rate_limits: false,
            ..Options::default()
        };
        let (emu, dir) = drill("drill", options);
        let mut runs = 1;
        loop {
            let out = apply_audited(&emu, &dir, &[]);
            if out.code == Some(0) {
                break;
            }
            assert!(
                runs < 6,
                "seed {seed}: apply did not converge in 5 runs:\n{}",
                out.show()
            );
            runs += 1;
        }
        reruns += runs - 1;
        apply_runs += runs;
        assert_eq!(
            state(&emu),
            expected(),
            "seed {seed}: the tenant is not the declared state"
        );
        let log = emu.requests();
        faults += log.iter().filter(|r| r.fault.is_some()).count();
        requests += log
            .iter()
            .filter(|r| r.path.starts_with("/api/v2/"))
            .count();
        wrong += deletes(&log, None)
            .concat()
            .iter()
            .filter(|u| !planned().contains(*u))
            .count();
        // One audit line per successful DELETE, with the same user_ids.
        let lines = audit_lines(&dir.path().join("audit.jsonl"));
        let (audited_ok, tenant_ok) = (audited(&lines, "delete", true), deletes(&log, Some(204)));
        assert_eq!(audited_ok.len(), tenant_ok.len(), "seed {seed}");
        for ids in &audited_ok {
            assert!(
                tenant_ok.contains(ids),
                "seed {seed}: audited {ids:?} not in the tenant's log"
            );
        }
        // Each run ends with a summary, also one that failed before removing anything; the
        // last one says the tenant converged.
        let summaries: Vec<&Value> = lines.iter().filter(|l| l["event"] == "summary").collect();
        assert_eq!(
            summaries.len(),
            runs,
            "seed {seed}: a summary for every run"
        );
        retries += summaries
            .iter()
            .map(|l| l["retries"].as_u64().unwrap())
            .sum::<u64>();
        let last = lines
            .last()
            .map(|l| (l["event"].clone(), l["success"].clone()));
        assert_eq!(
            last,
            Some((Value::from("summary"), Value::from(true))),
            "seed {seed}"
        );
    }
    eprintln!(
        "fault drill: 50 seeds, {apply_runs} apply runs ({reruns} reruns needed), {requests} API \
         requests, {faults} injected faults, {retries} retries (from the runs' audit \
         summaries), wrong removals = {wrong}"
    );
    assert_eq!(wrong, 0);
    assert!(faults > 100, "faults were injected: {faults}");
    assert!(retries > 0, "the client retried");
}

#[test]
fn sigkill_during_removals_leaves_whole_audit_lines_and_a_rerun_converges() {
    let mut killed_mid_run = 0;
    for seed in 0..10u64 {
        // Slow enough that a kill lands among the DELETEs.
        let latency = Duration::from_millis(20);
        let (emu, dir) = drill(
            "crash",
            Options {
                latency,
                seed,
                ..Options::default()
            },
        );
        let audit = dir.path().join("audit.jsonl");
        let apply =
            OrgSync::new(&emu)
                .real_waits()
                .args(["apply", "--auto-approve", "--audit-log"]);
        let child = apply.arg(&audit).cwd(dir.path()).spawn();
        // A seeded moment once the removals have begun.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while deletes(&emu.requests(), None).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(seed * 4));
        killed_mid_run += usize::from(child.kill().code().is_none());
        // Every line parses: no torn line.
        let lines = audit_lines(&audit);
        let events = ["start", "intent", "delete", "summary"];
        assert!(
            lines
                .iter()
                .all(|l| events.contains(&l["event"].as_str().unwrap_or("")))
        );
        // Write-ahead: every DELETE the tenant received before the kill has its intent line.
        let intents = audited(&lines, "intent", false);
        for ids in deletes(&emu.requests(), None) {
            assert!(
                intents.contains(&ids),
                "seed {seed}: a DELETE of {ids:?} reached the tenant with no intent recorded"
            );
        }
        apply_audited(&emu, &dir, &[]).code_for(0, format_args!("seed {seed}"));
        assert_eq!(state(&emu), expected(), "seed {seed}");
        audit_lines(&audit);
    }
    eprintln!(
        "crash drill: 10 seeded SIGKILLs, {killed_mid_run} of them before apply finished; every audit line whole; every rerun converged"
    );
    assert!(
        killed_mid_run >= 5,
        "the kills should land during the run: {killed_mid_run}"
    );
}

/// The drill tenant with removals seen in lists 3 s late (rate limits announced, not
/// enforced), applied once: the emulator, the dir, and the users removed.
fn applied_with_removal_delay(tag: &str) -> (Emulator, TempDir, HashSet<String>) {
    let removal_delay = Duration::from_millis(3000);
    let options = Options {
        removal_delay,
        enforce_rate_limits: false,
        ..Options::default()
    };
    let (emu, dir) = drill(tag, options);
    let first = apply_audited(&emu, &dir, &[]);
    first.code_for(
        0,
        "apply does not fail because lists still show the removed",
    );
    let removed = deletes(&emu.requests(), None)
        .concat()
        .into_iter()
        .collect();
    (emu, dir, removed)
}

/// Right after: the lists still show the removed members, so a plan reports them again.
#[test]
fn eventual_consistency_is_not_mistaken_for_failure() {
    let (emu, dir, removed) = applied_with_removal_delay("consistency");
    assert_eq!(removed, planned());
    let plan = OrgSync::new(&emu).args(["plan", "--detailed-exitcode", "--format", "json"]);
    let plan = plan.cwd(dir.path()).run();
    plan.code(2);
    let v: Value = serde_json::from_str(plan.stdout()).unwrap();
    assert_eq!(v["summary"]["remove"], planned().len());
}

/// A second apply during the delay may re-send DELETEs, for the same users only, audited.
#[test]
fn a_second_apply_during_the_delay_resends_only_the_same_users_audited() {
    let (emu, dir, removed) = applied_with_removal_delay("consistency-again");
    let before = emu.requests().len();
    apply_audited(&emu, &dir, &[]).success();
    let resent: HashSet<String> = deletes(&emu.requests()[before..], None)
        .concat()
        .into_iter()
        .collect();
    assert!(resent.is_subset(&removed), "{resent:?}");
    let audited = audited(
        &audit_lines(&dir.path().join("audit.jsonl")),
        "delete",
        false,
    );
    assert_eq!(audited.len(), deletes(&emu.requests(), None).len());
}

/// `--wait` sees the removals through the delay.
#[test]
fn apply_with_wait_sees_the_removals_through() {
    let (emu, dir, _) = applied_with_removal_delay("consistency-wait");
    let apply = OrgSync::new(&emu).args(["apply", "--auto-approve", "--wait=10"]);
    apply.cwd(dir.path()).run().success();
    let after = OrgSync::new(&emu)
        .args(["plan", "--detailed-exitcode"])
        .cwd(dir.path())
        .run();
    after.code_for(0, "converged");
    assert_eq!(state(&emu), expected());
}
