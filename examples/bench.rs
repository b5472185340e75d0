//! Benchmarks orgsync at tenant scale, under the rate limits users meet: requests against the
//! minimum a correct client needs, 429 answers, wall time against the bound the buckets allow,
//! peak memory; and the offline path (validate, pure plan) on 10,000 organizations and
//! 1,000,000 members.
//!
//! Run: `cargo build --release --locked && cargo run --release --locked --example bench`
//! (`--help` for the options: which tiers, which scenarios, another binary to compare).
//!
//! The real `orgsync` binary (target/release/orgsync, or `--binary`) runs against an
//! in-process emulator with the buckets Auth0 publishes for a plan (`--tier`, default:
//! `enterprise` then `free`, at their real rates, so a run takes minutes) and 25 ms (+0-10 ms)
//! of latency per request.
//!
//! **The bound.** Each bucket needs at least `(requests it takes - its burst) / its refill rate`
//! seconds (a per-minute bucket adds its tokens once a second: whole seconds); the longest chain
//! of requests that must follow one another needs `chain x latency`. The bound is the largest of
//! these, for the minimum request counts, and the table names the bucket that sets it. It is
//! the bound of a client that keeps every bucket busy from its first token to its last. The
//! apply scenarios apply a saved plan with `--auto-approve` (made first, untimed; the buckets
//! then refill), which streams: each organization's DELETEs start when its re-read is final.
//! An apply without a saved plan reads every organization before its first DELETE and cannot
//! reach that bound: its row is measured against `phased` (the reads' bound, then the
//! writes').

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use orgsync_emulator::tenant::{Client, Invitation, Member, Organization};
use orgsync_emulator::{BucketConfig, Emulator, Options, RateLimits, Tenant, Tier};

const LATENCY_MS: u64 = 25;
const JITTER_MS: u64 = 10;

struct Scenario {
    name: &'static str,
    orgs: usize,
    members: usize,
    /// One more organization with this many members (the large one).
    big: Option<usize>,
    /// Share of each organization's members to remove (apply scenarios).
    remove_share: Option<f64>,
    /// Pending invitations per organization, each revoked (`invitations: revoke`).
    invitations: usize,
    /// Run under the free tier too without `--all` (at 2 requests a second, the large
    /// scenarios take many minutes there).
    free: bool,
    /// An apply without a saved plan (it reads the whole tenant first: bound by `phased`);
    /// other apply scenarios apply a saved plan with `--auto-approve`, as the CI recipes do.
    unsaved: bool,
}

impl Scenario {
    /// Members of each organization, the big one last.
    fn sizes(&self) -> Vec<usize> {
        let mut v = vec![self.members; self.orgs];
        v.extend(self.big);
        v
    }
}

fn tenant(s: &Scenario) -> Tenant {
    let mut scopes = vec![
        "read:organizations",
        "read:organization_members",
        "delete:organization_members",
    ];
    if s.invitations > 0 {
        scopes.extend([
            "read:organization_invitations",
            "delete:organization_invitations",
        ]);
    }
    Tenant {
        clients: vec![Client {
            client_id: "bench".into(),
            client_secret: "bench-secret".into(),
            scopes: scopes.iter().map(|x| x.to_string()).collect(),
            global: true,
        }],
        organizations: s
            .sizes()
            .into_iter()
            .enumerate()
            .map(|(o, members)| Organization {
                id: format!("org_{o:016}"),
                name: format!("org-{o}"),
                members: (0..members)
                    .map(|m| Member {
                        user_id: format!("auth0|{o:05}{m:07}"),
                        email: Some(format!("u{m}@o{o}.example")),
                        ..Member::default()
                    })
                    .collect(),
                invitations: (0..s.invitations)
                    .map(|i| Invitation {
                        invitee_email: format!("invitee{i}@o{o}.example"),
                        id: None,
                        roles: vec![],
                        created_at: None,
                        expires_at: None,
                        inviter: None,
                    })
                    .collect(),
                ..Organization::default()
            })
            .collect(),
        users: vec![],
    }
}

/// Members an organization of `members` keeps (the rest are removed).
fn kept(s: &Scenario, members: usize) -> usize {
    match s.remove_share {
        Some(share) => members - (members as f64 * share).round() as usize,
        None => members,
    }
}

fn config(s: &Scenario) -> String {
    let mut y = String::with_capacity(s.orgs * s.members * 30);
    y.push_str("version: 1\norganizations:\n");
    for (o, members) in s.sizes().into_iter().enumerate() {
        y.push_str(&format!("  - name: org-{o}\n    max_removals: 100%\n"));
        if s.invitations > 0 {
            y.push_str("    invitations: revoke\n");
        }
        y.push_str("    members:\n");
        for m in 0..kept(s, members) {
            y.push_str(&format!("      - \"auth0|{o:05}{m:07}\"\n"));
        }
    }
    y
}

/// The fewest requests a correct client needs, by bucket (the token request aside).
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    /// Member list pages.
    read: u64,
    /// DELETE …/members calls.
    write: u64,
    /// DELETE …/invitations/{id} calls.
    invitations: u64,
    /// Everything else (organization lookups, invitation lists).
    other: u64,
}

impl Counts {
    fn total(&self) -> u64 {
        self.read + self.write + self.invitations + self.other
    }

    /// What the emulator's log shows, by the bucket each request drew from.
    fn of_log(log: &[orgsync_emulator::RequestRecord]) -> Counts {
        let mut c = Counts::default();
        for r in log.iter().filter(|r| r.path.starts_with("/api/v2/")) {
            let path = r.path.split('?').next().unwrap_or_default();
            let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            match (r.method.as_str(), parts.as_slice()) {
                ("GET", ["api", "v2", "organizations", _, "members"]) => c.read += 1,
                (_, ["api", "v2", "organizations", _, "members"]) => c.write += 1,
                ("DELETE", ["api", "v2", "organizations", _, "invitations", _]) => {
                    c.invitations += 1
                }
                _ => c.other += 1,
            }
        }
        c
    }
}

/// The minimum, and the longest chain of requests that must follow one another.
fn minimum(s: &Scenario) -> (Counts, u64) {
    let n = s.sizes().len() as u64;
    let resolve = if n == 1 { 1 } else { n.min(n.div_ceil(100)) };
    let mut c = Counts {
        other: resolve,
        ..Counts::default()
    };
    let mut chain = 0;
    for members in s.sizes() {
        let pages = members as u64 / 100 + 1;
        let deletes = if s.remove_share.is_some() {
            ((members - kept(s, members)) as u64).div_ceil(10)
        } else {
            0
        };
        c.read += pages;
        c.write += deletes;
        if s.invitations > 0 {
            // One page of the invitation list, then each revoked.
            c.other += 1;
            c.invitations += s.invitations as u64;
        }
        let inv_chain = if s.invitations > 0 {
            1 + s.invitations as u64
        } else {
            0
        };
        chain = chain.max(pages + deletes + inv_chain);
    }
    (c, 1 + resolve + chain)
}

/// Seconds a bucket needs for `n` requests beyond its burst.
fn bucket_secs(b: Option<BucketConfig>, n: u64) -> f64 {
    let Some(b) = b else { return 0.0 };
    let beyond = n.saturating_sub(u64::from(b.size)) as f64;
    if beyond == 0.0 || b.refill_per_sec <= 0.0 {
        return 0.0;
    }
    let secs = beyond / b.refill_per_sec;
    if b.every_second {
        // Tokens come at whole seconds: the last one needed comes at the tick that brings it.
        secs.ceil()
    } else {
        secs
    }
}

/// The multi-bucket bound for `c` under `limits`, and the bucket (or latency) that sets it.
fn bound(limits: &RateLimits, c: &Counts, chain: u64, latency: Duration) -> (f64, &'static str) {
    [
        (bucket_secs(limits.global, c.total()), "tenant"),
        (bucket_secs(limits.members_read, c.read), "read"),
        (bucket_secs(limits.members_write, c.write), "write"),
        (bucket_secs(limits.invitations, c.invitations), "invit."),
        (chain as f64 * latency.as_secs_f64(), "latency"),
    ]
    .into_iter()
    .fold((0.0, "latency"), |a, b| if b.0 > a.0 { b } else { a })
}

fn default_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/release/examples/bench -> target/release/orgsync
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("orgsync"))
        .unwrap_or_default()
}

/// Runs the binary, sampling its peak resident memory until it exits; its stderr goes to a
/// file (read when it has exited: a pipe left unread would block a verbose run).
fn run(
    binary: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
    cwd: &Path,
    limit: Option<Duration>,
) -> (std::process::ExitStatus, Duration, f64, String) {
    let stderr_path = cwd.join("orgsync.stderr");
    let stderr = match std::fs::File::create(&stderr_path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("could not create {}: {e}", stderr_path.display());
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    let mut child = match Command::new(binary)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(cwd)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "could not run {}: {e} (cargo build --release first)",
                binary.display()
            );
            std::process::exit(1);
        }
    };
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
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if limit.is_some_and(|l| started.elapsed() > l) => {
                eprintln!(
                    "stopping {} after {:.0} s (--limit-secs)",
                    binary.display(),
                    started.elapsed().as_secs_f64()
                );
                let _ = child.kill();
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("waiting for {}: {e}", binary.display());
                std::process::exit(1);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed();
    let err = std::fs::read(&stderr_path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    (status, took, peak_kb / 1024.0, err)
}

struct Args {
    tiers: Vec<Tier>,
    only: Option<String>,
    all: bool,
    binary: PathBuf,
    tenant_limit: Option<BucketConfig>,
    offline: bool,
    /// Run orgsync with `-vv` and keep its stderr here (the pacer's decisions).
    log: Option<PathBuf>,
    /// Stop a run that takes longer than this.
    limit: Option<Duration>,
}

const HELP: &str = "bench [--tier TIER,...] [--only TEXT] [--all] [--binary PATH] [--tenant-limit BURST/RATE] [--no-offline] [--log FILE] [--limit-secs N]
  --tier          tiers to run under, in order (free, essentials, professional, enterprise); default enterprise,free
  --only          only the scenarios whose name contains TEXT (of those --all would run, with --all)
  --all           every scenario under every tier (the large ones take many minutes on the free tier)
  --binary        the orgsync binary to measure (default: target/release/orgsync beside this example)
  --tenant-limit  override the tenant-wide bucket, BURST/PER_SECOND (the issue's observation: 20/20)
  --no-offline    skip the offline validate/plan table
  --log FILE      run orgsync with -vv and write its stderr to FILE (the last scenario's)
  --limit-secs N  stop a run of orgsync after N seconds (its row then says so)";

fn args() -> Args {
    let mut a = Args {
        tiers: vec![Tier::Enterprise, Tier::Free],
        only: None,
        all: false,
        binary: default_binary(),
        tenant_limit: None,
        offline: true,
        log: None,
        limit: None,
    };
    let mut it = std::env::args().skip(1);
    let fail = |m: String| -> ! {
        eprintln!("{m}\n{HELP}");
        std::process::exit(2)
    };
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .unwrap_or_else(|| fail(format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--tier" => {
                a.tiers = value("--tier")
                    .split(',')
                    .map(|t| Tier::parse(t).unwrap_or_else(|| fail(format!("unknown tier {t}"))))
                    .collect()
            }
            "--only" => a.only = Some(value("--only")),
            "--all" => a.all = true,
            "--binary" => a.binary = PathBuf::from(value("--binary")),
            "--tenant-limit" => {
                let v = value("--tenant-limit");
                let parsed = v.split_once('/').and_then(|(b, r)| {
                    let size: u32 = b.parse().ok().filter(|b| (1..=100_000).contains(b))?;
                    let rate: f64 = r
                        .parse()
                        .ok()
                        .filter(|r: &f64| (0.01..=100_000.0).contains(r))?;
                    Some(BucketConfig {
                        size,
                        refill_per_sec: rate,
                        every_second: false,
                    })
                });
                a.tenant_limit = Some(parsed.unwrap_or_else(|| {
                    fail(format!(
                        "--tenant-limit: expected BURST/PER_SECOND, got {v}"
                    ))
                }));
            }
            "--no-offline" => a.offline = false,
            "--log" => a.log = Some(PathBuf::from(value("--log"))),
            "--limit-secs" => {
                let v = value("--limit-secs");
                let secs: u64 = v
                    .parse()
                    .ok()
                    .filter(|s| (1..=86_400).contains(s))
                    .unwrap_or_else(|| fail(format!("--limit-secs: 1 to 86400, got {v}")));
                a.limit = Some(Duration::from_secs(secs));
            }
            "-h" | "--help" => {
                println!("{HELP}");
                std::process::exit(0);
            }
            other => fail(format!("unknown argument {other}")),
        }
    }
    a
}

fn describe_limits(l: &RateLimits) -> String {
    let b = |name: &str, c: Option<BucketConfig>| {
        c.map(|c| {
            if c.every_second {
                format!("{name} {}/{:.0}/min", c.size, c.refill_per_sec * 60.0)
            } else {
                format!("{name} {}/{}", c.size, c.refill_per_sec)
            }
        })
    };
    [
        b("tenant", l.global),
        b("read", l.members_read),
        b("write", l.members_write),
        b("invitations", l.invitations),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}

fn main() {
    let a = args();
    if !a.binary.exists() {
        eprintln!(
            "{} does not exist: build the release binary first (cargo build --release --locked)",
            a.binary.display()
        );
        std::process::exit(1);
    }
    let scenarios = [
        Scenario {
            name: "plan 1,000 orgs x 20",
            orgs: 1000,
            members: 20,
            big: None,
            remove_share: None,
            invitations: 0,
            free: false,
            unsaved: false,
        },
        Scenario {
            name: "plan 100 orgs x 20",
            orgs: 100,
            members: 20,
            big: None,
            remove_share: None,
            invitations: 0,
            free: true,
            unsaved: false,
        },
        Scenario {
            name: "apply 60x150 + 1x2,000, 10% removed",
            orgs: 60,
            members: 150,
            big: Some(2000),
            remove_share: Some(0.10),
            invitations: 0,
            free: false,
            unsaved: false,
        },
        Scenario {
            name: "apply 60x150 + 1x2,000, no saved plan",
            orgs: 60,
            members: 150,
            big: Some(2000),
            remove_share: Some(0.10),
            invitations: 0,
            free: false,
            unsaved: true,
        },
        Scenario {
            name: "apply 20 orgs x 100, 10% removed",
            orgs: 20,
            members: 100,
            big: None,
            remove_share: Some(0.10),
            invitations: 0,
            free: true,
            unsaved: false,
        },
        Scenario {
            name: "apply 20x40, 10% + 3 invitations",
            orgs: 20,
            members: 40,
            big: None,
            remove_share: Some(0.10),
            invitations: 3,
            free: true,
            unsaved: false,
        },
        Scenario {
            name: "plan 50 orgs x 2,000",
            orgs: 50,
            members: 2000,
            big: None,
            remove_share: None,
            invitations: 0,
            free: false,
            unsaved: false,
        },
        Scenario {
            name: "plan 1 org x 100,000",
            orgs: 1,
            members: 100_000,
            big: None,
            remove_share: None,
            invitations: 0,
            free: false,
            unsaved: false,
        },
        Scenario {
            name: "apply 200 orgs x 100, 5% removed",
            orgs: 200,
            members: 100,
            big: None,
            remove_share: Some(0.05),
            invitations: 0,
            free: false,
            unsaved: false,
        },
    ];
    let latency = Duration::from_millis(LATENCY_MS);
    println!(
        "orgsync release binary {}; emulator latency {LATENCY_MS} ms + 0-{JITTER_MS} ms",
        a.binary.display()
    );
    println!(
        "bound = max over buckets of (requests it takes - burst) / refill (per-minute buckets: whole seconds), and chain x latency; for the minimum requests"
    );
    println!(
        "phased = the bound when every member list is read before the first DELETE (plan, then apply)"
    );
    for tier in &a.tiers {
        let mut limits = tier.limits();
        if let Some(t) = a.tenant_limit {
            limits.global = Some(t);
        }
        println!("\n{} tier: {}", tier.name(), describe_limits(&limits));
        println!(
            "{:<36} {:>8} {:>8} {:>5} {:>5} {:>8} {:>8} {:>5} {:>7} {:>8} {:>8}",
            "scenario",
            "requests",
            "minimum",
            "ratio",
            "429s",
            "wall s",
            "bound s",
            "ratio",
            "binding",
            "phased s",
            "peak RSS"
        );
        for s in &scenarios {
            if a.only
                .as_ref()
                .is_some_and(|o| !s.name.contains(o.as_str()))
            {
                continue;
            }
            let default_set = match tier {
                Tier::Free => s.free,
                _ => !matches!(
                    s.name,
                    "plan 50 orgs x 2,000"
                        | "plan 1 org x 100,000"
                        | "apply 200 orgs x 100, 5% removed"
                ),
            };
            if !a.all && !default_set {
                continue;
            }
            measure(&a, s, &limits, latency);
        }
    }
    if a.offline {
        offline(&a.binary);
    }
}

fn measure(a: &Args, s: &Scenario, limits: &RateLimits, latency: Duration) {
    let dir = std::env::temp_dir().join(format!("orgsync-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("orgsync.yaml"), config(s));
    let options = Options {
        rate_limits: *limits,
        latency,
        latency_jitter: Duration::from_millis(JITTER_MS),
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
    let saved = s.remove_share.is_some() && !s.unsaved;
    if saved {
        // The saved plan, untimed; then the buckets refill before the apply is timed.
        let plan = ["plan", "--out", "plan.json", "-q"];
        let (status, _, _, err) = run(&a.binary, &plan, &envs, &dir, a.limit);
        if !status.success() {
            eprintln!("{}: orgsync plan failed: {err}", s.name);
        }
        std::thread::sleep(refill_time(limits));
        emu.clear_requests();
    }
    let mut args: Vec<&str> = if saved {
        vec!["apply", "plan.json", "--auto-approve"]
    } else if s.remove_share.is_some() {
        vec!["apply", "--auto-approve"]
    } else {
        vec!["plan", "--format", "json"]
    };
    args.push(if a.log.is_some() { "-vv" } else { "-q" });
    let (status, took, rss, err) = run(&a.binary, &args, &envs, &dir, a.limit);
    if let Some(log) = &a.log {
        let _ = std::fs::write(log, &err);
    }
    if !status.success() {
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        eprintln!(
            "{}: orgsync failed: {}",
            s.name,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let log = emu.requests();
    let api: Vec<_> = log
        .iter()
        .filter(|r| r.path.starts_with("/api/v2/"))
        .cloned()
        .collect();
    let limited = api.iter().filter(|r| r.status == 429).count();
    let sent = Counts::of_log(&api);
    let (min, chain) = minimum(s);
    let (bound_s, binding) = bound(limits, &min, chain, latency);
    // Plan first (reads and lookups), then the removals and revocations.
    let plan_part = Counts {
        write: 0,
        invitations: 0,
        ..min
    };
    let apply_part = Counts {
        read: 0,
        other: 0,
        ..min
    };
    let phased =
        bound(limits, &plan_part, chain, latency).0 + bound(limits, &apply_part, 0, latency).0;
    // An apply without a saved plan reads everything first: its bound is the phased one.
    let (bound_s, binding) = if s.unsaved {
        (phased, "phased")
    } else {
        (bound_s, binding)
    };
    let stopped = a.limit.is_some_and(|l| took > l);
    println!(
        "{:<36} {:>8} {:>8} {:>5.2} {:>5} {:>8.1} {:>8.1} {:>5.2} {:>7} {:>8.1} {:>4.0} MiB{}",
        s.name,
        sent.total(),
        min.total(),
        sent.total() as f64 / min.total() as f64,
        limited,
        took.as_secs_f64(),
        bound_s,
        took.as_secs_f64() / bound_s.max(1e-9),
        binding,
        phased,
        rss,
        if stopped { "  STOPPED, unfinished" } else { "" }
    );
    if sent.read != min.read
        || sent.write != min.write
        || sent.invitations != min.invitations
        || sent.other != min.other
    {
        println!(
            "  (sent read/write/invitations/other {}/{}/{}/{}, minimum {}/{}/{}/{})",
            sent.read,
            sent.write,
            sent.invitations,
            sent.other,
            min.read,
            min.write,
            min.invitations,
            min.other
        );
    }
    let _ = std::io::stdout().flush();
    drop(emu);
    let _ = std::fs::remove_dir_all(&dir);
}

/// How long every bucket of `limits` takes to refill from empty, and a second more.
fn refill_time(limits: &RateLimits) -> Duration {
    let secs = [
        limits.global,
        limits.members_read,
        limits.members_write,
        limits.invitations,
    ]
    .into_iter()
    .flatten()
    .filter(|b| b.refill_per_sec > 0.0)
    .map(|b| f64::from(b.size) / b.refill_per_sec)
    .fold(0.0, f64::max);
    Duration::from_secs_f64(secs.min(120.0) + 1.0)
}

/// validate and the pure plan on 10,000 organizations x 100 members, and the growth with size.
fn offline(binary: &Path) {
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
            big: None,
            remove_share: None,
            invitations: 0,
            free: false,
            unsaved: false,
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
            let (status, took, peak, err) =
                run(binary, &["validate", "-c", "orgsync.yaml"], &[], &dir, None);
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
