//! What scrubbing costs: `cargo run --release --example scrub_bench` writes 64 MiB of plan-like
//! text (lines of `user_id  email  (name)`) through the scrubbing writer, in the small writes
//! `writeln!` makes, with no secret registered and with four (a 64-character client secret,
//! a JWT-sized token, a GitHub and a GitLab token, in all their forms), and prints MiB/s.

use std::io::Write;
use std::sync::RwLock;
use std::time::Instant;

use orgsync::secrets::{Registry, Scrubbing};

fn main() {
    let secrets = [
        "Zq8vN2xK4pL7mR1tW9yB3cF6hJ0dG5sA8eU2iO4nM7qV1zX3wT6kP9rY0bC5gH2j".to_string(),
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.sig",
            "eyJzdWIiOiJjbGllbnQifQ".repeat(20)
        ),
        "ghs_16C7e42F292c6912E7710c838347Ae178B4a".to_string(),
        "glpat-xxxxxxxxxxxxxxxxxxxx".to_string(),
    ];
    let line =
        b"-auth0|6507f1f77bcf86cd79943901  jane.doe@example.com  (Jane Doe, Bearer of news)\n";
    let total = 64 * 1024 * 1024;
    for (label, registered) in [("no secret", 0), ("4 secrets", secrets.len())] {
        let mut registry = Registry::default();
        for s in &secrets[..registered] {
            registry.add(s);
        }
        let registry: &'static RwLock<Registry> = Box::leak(Box::new(RwLock::new(registry)));
        let mut best = f64::MAX;
        for _ in 0..3 {
            let mut w = Scrubbing::with_registry(std::io::sink(), registry);
            let started = Instant::now();
            let mut written = 0;
            while written < total {
                // As `writeln!` writes: the text, then the newline.
                w.write_all(&line[..line.len() - 1]).unwrap();
                w.write_all(b"\n").unwrap();
                written += line.len();
            }
            w.flush().unwrap();
            best = best.min(started.elapsed().as_secs_f64());
        }
        println!(
            "{label}: 64 MiB in {best:.3} s (best of 3), {:.0} MiB/s",
            64.0 / best
        );
    }
}
