//! Measures the emulator at tenant scale: loading 1,000 organizations x 1,000 members
//! (1,000,000 memberships) from YAML and from Rust, peak memory, and the server time of
//! 100-member checkpoint pages.
//!
//! Run: `cargo run --release --example emulator_scale`

use std::fmt::Write as _;
use std::time::Instant;

use orgsync_emulator::tenant::{Client, Member, Organization};
use orgsync_emulator::{Emulator, Options, Tenant};

const ORGS: usize = 1_000;
const MEMBERS: usize = 1_000;
const PAGES: usize = 2_000;

fn tenant_yaml() -> String {
    let mut y = String::with_capacity(ORGS * MEMBERS * 90);
    y.push_str("clients:\n  - {client_id: bench, client_secret: s, scopes: [read:organizations, read:organization_members]}\norganizations:\n");
    for o in 0..ORGS {
        let _ = writeln!(y, "  - id: org_{o:016}\n    name: org-{o}\n    members:");
        for m in 0..MEMBERS {
            let _ = writeln!(
                y,
                "      - {{user_id: 'auth0|{o:06}{m:06}', email: u{o}x{m}@example.com, name: User {m}}}"
            );
        }
    }
    y
}

fn rss_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The same tenant built in Rust, as the benchmarks and tests do.
    let tenant = Tenant {
        clients: vec![Client {
            client_id: "bench".into(),
            client_secret: "s".into(),
            scopes: vec![
                "read:organizations".into(),
                "read:organization_members".into(),
            ],
            global: true,
        }],
        organizations: (0..ORGS)
            .map(|o| Organization {
                id: format!("org_{o:016}"),
                name: format!("org-{o}"),
                members: (0..MEMBERS)
                    .map(|m| Member {
                        user_id: format!("auth0|{o:06}{m:06}"),
                        email: Some(format!("u{o}x{m}@example.com")),
                        name: Some(format!("User {m}")),
                        roles: vec![],
                        connection: None,
                    })
                    .collect(),
                ..Organization::default()
            })
            .collect(),
        users: vec![],
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let t = Instant::now();
    let emu = rt.block_on(Emulator::start(tenant, Options::default()))?;
    let start = t.elapsed();
    let rss_running = rss_mib("VmRSS:");
    let peak_running = rss_mib("VmHWM:");

    let (round_trip, server) = rt.block_on(async {
        let http = reqwest::Client::new();
        let tok: serde_json::Value = http
            .post(format!("{}/oauth/token", emu.url()))
            .json(&serde_json::json!({"grant_type": "client_credentials", "client_id": "bench", "client_secret": "s", "audience": emu.audience()}))
            .send()
            .await?
            .json()
            .await?;
        let token = tok["access_token"].as_str().unwrap_or_default().to_string();
        emu.clear_requests();
        let t = Instant::now();
        let mut from: Option<String> = None;
        for i in 0..PAGES {
            let org = i % ORGS;
            let mut url = format!("{}/api/v2/organizations/org_{org:016}/members?take=100", emu.url());
            if let Some(c) = from.take().filter(|_| i % 10 != 0) {
                url.push_str("&from=");
                url.push_str(&c);
            }
            let page: serde_json::Value = http.get(url).bearer_auth(&token).send().await?.json().await?;
            from = page["next"].as_str().map(str::to_string);
        }
        let round_trip = t.elapsed() / PAGES as u32;
        let mut micros: Vec<u64> = emu.requests().iter().map(|r| r.server_micros).collect();
        micros.sort_unstable();
        Ok::<_, Box<dyn std::error::Error>>((round_trip, micros))
    })?;
    drop(emu);
    drop(rt);

    // The subcommand's path: the same tenant as an 81 MB YAML file.
    let dir = std::env::temp_dir().join(format!("orgsync-emulator-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("tenant.yaml");
    std::fs::write(&path, tenant_yaml())?;
    let size = std::fs::metadata(&path)?.len();
    let t = Instant::now();
    let tenant = Tenant::load(&path)?;
    let yaml_load = t.elapsed();
    drop(tenant);
    std::fs::remove_dir_all(&dir)?;

    let pct = |p: f64| server[((server.len() as f64 - 1.0) * p) as usize];
    println!(
        "emulator scale: {ORGS} organizations x {MEMBERS} members = {} memberships",
        ORGS * MEMBERS
    );
    println!(
        "  start from a Rust Tenant:       {:>8.2} s",
        start.as_secs_f64()
    );
    println!(
        "  RSS while serving:              {rss_running:>8.0} MiB (peak while building {peak_running:.0} MiB)"
    );
    println!(
        "  parse the same as YAML ({:.0} MiB): {:>6.2} s",
        size as f64 / 1048576.0,
        yaml_load.as_secs_f64()
    );
    println!("  100-member checkpoint pages:    {PAGES} requests");
    println!(
        "    server time p50 / p99 / max:  {} / {} / {} us",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "    round trip mean (loopback):   {:>8.0} us",
        round_trip.as_secs_f64() * 1e6
    );
    Ok(())
}
