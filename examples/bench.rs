//! Benchmarks orgsync at tenant scale: requests against the minimum a correct client needs, wall
//! time against the bound the rate limit and latency allow, 429 answers, peak memory; and the
//! offline path (validate, pure plan) on 10,000 organizations and 1,000,000 members.
//!
//! Run: `cargo build --release && cargo run --release --example bench`
//!
//! The real `orgsync` binary (target/release/orgsync) runs against an in-process emulator with
//! a tenant-wide bucket of 50 and 160 tokens/s and 5 ms of latency per request: Auth0's
//! Enterprise limits (50, 16/s) with the rate scaled by ten so the whole run takes minutes.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use orgsync_emulator::tenant::{Client, Member, Organization};
use orgsync_emulator::{BucketConfig, Emulator, Options, RateLimits, Tenant};

const BURST: u32 = 50;
const REFILL: f64 = 160.0;
const LATENCY: Duration = Duration::from_millis(5);

struct Scenario {
    name: &'static str,
    orgs: usize,
    members: usize,
    /// Share of each organization's members to remove (apply scenarios).
    remove_share: Option<f64>,
}

fn tenant(s: &Scenario) -> Tenant {
    Tenant {
        clients: vec![Client {
            client_id: "bench".into(),
            client_secret: "bench-secret".into(),
            scopes: [
                "read:organizations",
                "read:organization_members",
                "delete:organization_members",
            ]
            .iter()
            .map(|x| x.to_string())
            .collect(),
            global: true,
        }],
        organizations: (0..s.orgs)
            .map(|o| Organization {
                id: format!("org_{o:016}"),
                name: format!("org-{o}"),
                members: (0..s.members)
                    .map(|m| Member {
                        user_id: format!("auth0|{o:05}{m:07}"),
                        email: Some(format!("u{m}@o{o}.example")),
                        ..Member::default()
                    })
                    .collect(),
                ..Organization::default()
            })
            .collect(),
        users: vec![],
    }
}

/// Members each organization keeps (the rest are removed).
fn kept(s: &Scenario) -> usize {
    match s.remove_share {
        Some(share) => s.members - (s.members as f64 * share).round() as usize,
        None => s.members,
    }
}

fn config(s: &Scenario) -> String {
    let keep = kept(s);
    let mut y = String::with_capacity(s.orgs * keep * 30);
    y.push_str("version: 1\norganizations:\n");
    for o in 0..s.orgs {
        y.push_str(&format!(
            "  - name: org-{o}\n    max_removals: 100%\n    members:\n"
        ));
        for m in 0..keep {
            y.push_str(&format!("      - \"auth0|{o:05}{m:07}\"\n"));
        }
    }
    y
}

/// The fewest API requests a correct client needs (the token request aside).
fn minimum(s: &Scenario) -> (u64, u64) {
    let n = s.orgs as u64;
    let resolve = if n == 1 { 1 } else { n.min(n.div_ceil(100)) };
    let member_pages = s.members as u64 / 100 + 1;
    let removals = (s.members - kept(s)) as u64;
    let deletes = if s.remove_share.is_some() {
        n * removals.div_ceil(10)
    } else {
        0
    };
    let total = resolve + n * member_pages + deletes;
    // The longest chain of requests that must follow one another.
    let resolve_chain = if n == 1 { 1 } else { resolve };
    let chain = 1 + resolve_chain + member_pages + removals.div_ceil(10);
    (total, chain)
}

fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/release/examples/bench -> target/release/orgsync
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("orgsync"))
        .unwrap_or_default()
}

/// Runs the binary, sampling its peak resident memory until it exits.
fn run(
    args: &[&str],
    envs: &[(&str, &str)],
    cwd: &Path,
) -> (std::process::ExitStatus, Duration, f64, String) {
    let started = Instant::now();
    let mut child = Command::new(binary())
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(cwd)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run target/release/orgsync (cargo build --release first)");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0.0f64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path)
            && let Some(kb) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    (status, took, peak_kb / 1024.0, err)
}

fn main() {
    if !binary().exists() {
        eprintln!("build the release binary first: cargo build --release");
        std::process::exit(1);
    }
    let scenarios = [
        Scenario {
            name: "plan 1,000 orgs x 20",
            orgs: 1000,
            members: 20,
            remove_share: None,
        },
        Scenario {
            name: "plan 50 orgs x 2,000",
            orgs: 50,
            members: 2000,
            remove_share: None,
        },
        Scenario {
            name: "plan 1 org x 100,000",
            orgs: 1,
            members: 100_000,
            remove_share: None,
        },
        Scenario {
            name: "apply 200 orgs x 100, 5% removed",
            orgs: 200,
            members: 100,
            remove_share: Some(0.05),
        },
    ];
    println!(
        "emulator: bucket {BURST}, refill {REFILL}/s, latency {} ms; orgsync release binary\n",
        LATENCY.as_millis()
    );
    println!(
        "{:<34} {:>8} {:>8} {:>6} {:>8} {:>8} {:>6} {:>5} {:>9}",
        "scenario",
        "requests",
        "minimum",
        "ratio",
        "wall s",
        "bound s",
        "ratio",
        "429s",
        "peak RSS"
    );
    for s in &scenarios {
        let dir = std::env::temp_dir().join(format!("orgsync-bench-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join("orgsync.yaml"), config(s));
        let options = Options {
            rate_limits: RateLimits {
                global: Some(BucketConfig {
                    size: BURST,
                    refill_per_sec: REFILL,
                    every_second: false,
                }),
                ..RateLimits::default()
            },
            latency: LATENCY,
            ..Options::default()
        };
        let emu = match Emulator::start_background(tenant(s), options) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("emulator: {e}");
                std::process::exit(1);
            }
        };
        let url = emu.url();
        let envs = [
            ("AUTH0_DOMAIN", url.as_str()),
            ("AUTH0_CLIENT_ID", "bench"),
            ("AUTH0_CLIENT_SECRET", "bench-secret"),
        ];
        let args: Vec<&str> = if s.remove_share.is_some() {
            vec!["apply", "--auto-approve", "-q"]
        } else {
            vec!["plan", "--format", "json", "-q"]
        };
        let (status, took, rss, err) = run(&args, &envs, &dir);
        if !status.success() {
            eprintln!("{}: orgsync failed: {err}", s.name);
        }
        let log = emu.requests();
        let api: Vec<_> = log
            .iter()
            .filter(|r| r.path.starts_with("/api/v2/"))
            .collect();
        let limited = api.iter().filter(|r| r.status == 429).count();
        let (min, chain) = minimum(s);
        let bound = ((api.len() as f64 - f64::from(BURST)) / REFILL)
            .max(chain as f64 * LATENCY.as_secs_f64());
        let bound_min =
            ((min as f64 - f64::from(BURST)) / REFILL).max(chain as f64 * LATENCY.as_secs_f64());
        println!(
            "{:<34} {:>8} {:>8} {:>6.2} {:>8.2} {:>8.2} {:>6.2} {:>5} {:>6.0} MiB",
            s.name,
            api.len(),
            min,
            api.len() as f64 / min as f64,
            took.as_secs_f64(),
            bound_min,
            took.as_secs_f64() / bound_min,
            limited,
            rss
        );
        let _ = std::io::stdout().flush();
        let _ = bound;
        drop(emu);
        let _ = std::fs::remove_dir_all(&dir);
    }
    offline();
}

/// validate and the pure plan on 10,000 organizations x 100 members, and the growth with size.
fn offline() {
    println!("\noffline: validate (the release binary) and the pure plan (in process)");
    println!("validate runs 3 times: a shared machine's speed varies from run to run");
    println!(
        "{:<34} {:>10} {:>19} {:>12} {:>12}",
        "config", "YAML MiB", "validate best/worst", "peak RSS", "plan s"
    );
    for orgs in [2_500usize, 5_000, 10_000] {
        let s = Scenario {
            name: "",
            orgs,
            members: 100,
            remove_share: None,
        };
        let dir =
            std::env::temp_dir().join(format!("orgsync-bench-offline-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let yaml = config(&s);
        let path = dir.join("orgsync.yaml");
        let _ = std::fs::write(&path, &yaml);
        let mut times = Vec::new();
        let mut rss = 0.0f64;
        for _ in 0..3 {
            let (status, took, peak, err) = run(&["validate", "-c", "orgsync.yaml"], &[], &dir);
            if !status.success() {
                eprintln!("validate failed: {err}");
            }
            times.push(took.as_secs_f64());
            rss = rss.max(peak);
        }
        let best = times.iter().copied().fold(f64::INFINITY, f64::min);
        let worst = times.iter().copied().fold(0.0, f64::max);
        // The pure plan: desired from the file, observed = everyone declared plus one extra each.
        let desired = match orgsync::config::load(&path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{e}");
                return;
            }
        };
        let inputs: Vec<orgsync::plan::OrgInput> = desired
            .organizations
            .iter()
            .enumerate()
            .map(|(o, d)| {
                let declared: Vec<String> = d
                    .members
                    .iter()
                    .filter_map(|m| m.user_id().map(str::to_string))
                    .collect();
                let mut current: Vec<orgsync::plan::Member> = declared
                    .iter()
                    .map(|u| orgsync::plan::Member::id(u.clone()))
                    .collect();
                current.push(orgsync::plan::Member::id(format!("auth0|extra{o}")));
                orgsync::plan::OrgInput {
                    reentry: Default::default(),
                    id: format!("org_{o:016}"),
                    name: d.org.to_string(),
                    declared,
                    protect: d
                        .protect
                        .iter()
                        .filter_map(|p| p.user_id().map(str::to_string))
                        .collect(),
                    max_removals: d.max_removals,
                    allow_empty: d.allow_empty,
                    current,
                    resolved: vec![],
                    unknown: vec![],
                    missing_emails: Default::default(),
                    invitees: vec![],
                    drift: Default::default(),
                    unchecked_ids: 0,
                }
            })
            .collect();
        let t = Instant::now();
        let plan = orgsync::plan::plan("bench", &desired.sha256, "now", &inputs);
        let plan_time = t.elapsed();
        assert_eq!(plan.summary.remove, orgs);
        println!(
            "{:<34} {:>10.1} {:>11.2} / {:<5.2} {:>8.0} MiB {:>12.2}",
            format!("{orgs} orgs x 100 = {} members", orgs * 100),
            yaml.len() as f64 / 1048576.0,
            best,
            worst,
            rss,
            plan_time.as_secs_f64()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
