//! `orgsync emulator`'s arguments: the emulated tenant's rate limits, latency and faults, each
//! number range-checked so nothing downstream can overflow.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use orgsync_emulator::{BucketConfig, FaultKind, Tier};

use super::whole_in;

/// `--token-ttl`: seconds (Auth0's longest token lifetime is 30 days).
const TOKEN_TTL_RANGE: (u64, u64) = (1, 2_592_000);
/// `--latency-ms`, `--jitter-ms`: at most a minute.
const LATENCY_MAX_MS: u64 = 60_000;
/// `--removal-delay-ms`: at most an hour.
const REMOVAL_DELAY_MAX_MS: u64 = 3_600_000;
/// Burst and rate of an emulator bucket.
const BUCKET_SIZE_MAX: u32 = 1_000_000;
const BUCKET_RATE_RANGE: (f64, f64) = (0.01, 1_000_000.0);

fn parse_token_ttl(s: &str) -> Result<u64, String> {
    whole_in(s, TOKEN_TTL_RANGE.0, TOKEN_TTL_RANGE.1, "seconds")
}

fn parse_latency_ms(s: &str) -> Result<u64, String> {
    whole_in(s, 0, LATENCY_MAX_MS, "milliseconds")
}

fn parse_removal_delay_ms(s: &str) -> Result<u64, String> {
    whole_in(s, 0, REMOVAL_DELAY_MAX_MS, "milliseconds")
}

/// `orgsync emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Tenant file (YAML): clients, organizations with their members, extra users.
    #[arg(long, value_name = "TENANT.yaml")]
    pub tenant: PathBuf,
    /// Address to listen on; port 0 picks any free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Every bucket as Auth0 publishes it for a plan: `free` (tenant-wide `2/2` only),
    /// `essentials` and `professional` (tenant-wide `10/150/min`, members read `40/500/min`,
    /// write `20/200/min`, invitations `20/200/min`), `enterprise` (tenant-wide `50/16`, the
    /// same endpoint buckets). Where Auth0's tables disagree one is picked: an older page gives
    /// self-service plans 16/s tenant-wide, and a second "members read" row says `20/200/min`;
    /// the invitations bucket is published for Enterprise only and assumed for the others. The
    /// `--*-limit` flags override single buckets.
    #[arg(long, value_name = "TIER", default_value = "enterprise", value_parser = parse_tier)]
    pub tier: Tier,
    /// Tenant-wide Management API bucket as BURST/PER_SECOND (refilled continuously), e.g.
    /// `50/16`, or BURST/PER_MINUTE/min (refilled once a second), e.g. `10/150/min`. Default:
    /// the `--tier`'s (Enterprise: `50/16`).
    #[arg(long, value_name = "BURST/RATE", value_parser = parse_bucket)]
    pub rate_limit: Option<BucketConfig>,
    /// Bucket for reading organization members, as BURST/PER_SECOND or BURST/PER_MINUTE/min.
    /// Default: the `--tier`'s (Enterprise: `40/500/min`).
    #[arg(long, value_name = "BURST/RATE", value_parser = parse_bucket)]
    pub members_read_limit: Option<BucketConfig>,
    /// Bucket for adding and removing organization members, as BURST/PER_SECOND or
    /// BURST/PER_MINUTE/min. Default: the `--tier`'s (Enterprise: `20/200/min`).
    #[arg(long, value_name = "BURST/RATE", value_parser = parse_bucket)]
    pub members_write_limit: Option<BucketConfig>,
    /// Bucket for revoking invitations, as BURST/PER_SECOND or BURST/PER_MINUTE/min. Default:
    /// the `--tier`'s (Enterprise: `20/200/min`).
    #[arg(long, value_name = "BURST/RATE", value_parser = parse_bucket)]
    pub invitations_limit: Option<BucketConfig>,
    /// Announce the limits in the `x-ratelimit-*` headers of every answer, but never refuse a
    /// request with 429 (for tests and demos that need raw speed).
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Latency added to every API request, in milliseconds (0 to 60000).
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = parse_latency_ms)]
    pub latency_ms: u64,
    /// Random extra latency per request, up to this many milliseconds (seeded; 0 to 60000).
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = parse_latency_ms)]
    pub jitter_ms: u64,
    /// How long removed members keep appearing in member lists, in milliseconds (0 to
    /// 3600000).
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = parse_removal_delay_ms)]
    pub removal_delay_ms: u64,
    /// Share of API requests answered with a fault, from 0 to 1.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = parse_share)]
    pub fault_rate: f64,
    /// Faults to inject: any of `500`, `503`, `429` (without rate-limit headers), `drop` (drop:
    /// the request is carried out, then the connection is cut before the answer).
    #[arg(long, value_name = "KIND", value_delimiter = ',', default_value = "500,503,drop", value_parser = parse_fault)]
    pub faults: Vec<FaultKind>,
    /// Seed for latency jitter and fault injection.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Lifetime of issued access tokens, in seconds (1 to 2592000, Auth0's 30 days).
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400, value_parser = parse_token_ttl)]
    pub token_ttl: u64,
}

fn parse_bucket(s: &str) -> Result<BucketConfig, String> {
    let (bucket, per_minute) = match s.strip_suffix("/min") {
        Some(rest) => (rest, true),
        None => (s, false),
    };
    let (size, rate) = bucket.split_once('/').ok_or_else(|| {
        format!("expected BURST/PER_SECOND like `50/16` or BURST/PER_MINUTE/min like `40/500/min`, got `{s}`")
    })?;
    let size: u32 = size
        .trim()
        .parse()
        .map_err(|_| format!("burst `{size}` is not a whole number"))?;
    let rate: f64 = rate
        .trim()
        .parse()
        .map_err(|_| format!("rate `{rate}` is not a number"))?;
    let (lo, hi) = BUCKET_RATE_RANGE;
    if size == 0
        || size > BUCKET_SIZE_MAX
        || !(rate == 0.0 || rate.is_finite() && (lo..=hi).contains(&rate))
    {
        return Err(format!(
            "burst must be 1 to {BUCKET_SIZE_MAX} and the rate 0 (no refill) or {lo} to {hi}, got `{s}`"
        ));
    }
    Ok(BucketConfig {
        size,
        refill_per_sec: if per_minute { rate / 60.0 } else { rate },
        every_second: per_minute,
    })
}

fn parse_tier(s: &str) -> Result<Tier, String> {
    Tier::parse(s).ok_or_else(|| {
        format!("unknown tier `{s}`: use `free`, `essentials`, `professional` or `enterprise`")
    })
}

fn parse_share(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{s}` is not between 0 and 1"))
    }
}

fn parse_fault(s: &str) -> Result<FaultKind, String> {
    FaultKind::parse(s)
        .ok_or_else(|| format!("unknown fault `{s}`: use `500`, `503`, `429` or `drop`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;
    use crate::cli::tests::parse;

    #[test]
    fn buckets_per_second_and_per_minute() {
        assert_eq!(
            parse_bucket("50/16"),
            Ok(BucketConfig {
                size: 50,
                refill_per_sec: 16.0,
                every_second: false,
            })
        );
        assert_eq!(
            parse_bucket("40/600/min"),
            Ok(BucketConfig {
                size: 40,
                refill_per_sec: 10.0,
                every_second: true,
            })
        );
        assert!(parse_bucket("40").is_err());
        assert!(parse_bucket("0/5").is_err());
        assert!(parse_bucket("40/x/min").is_err());
    }

    #[test]
    fn emulator_numbers_out_of_range_are_refused() {
        for bad in [
            &[
                "emulator",
                "--tenant",
                "t.yaml",
                "--token-ttl",
                "18446744073709551615",
            ],
            &["emulator", "--tenant", "t.yaml", "--token-ttl", "0"],
            &[
                "emulator",
                "--tenant",
                "t.yaml",
                "--latency-ms",
                "18446744073709551615",
            ],
            &["emulator", "--tenant", "t.yaml", "--jitter-ms", "60001"],
            &[
                "emulator",
                "--tenant",
                "t.yaml",
                "--removal-delay-ms",
                "3600001",
            ],
            &["emulator", "--tenant", "t.yaml", "--rate-limit", "4/1e-300"],
            &["emulator", "--tenant", "t.yaml", "--rate-limit", "4/1e300"],
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("out of range") || e.contains("not a") || e.contains("must be"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn emulator_numbers_in_range_are_taken() {
        let Command::Emulator(e) = parse(&[
            "emulator",
            "--tenant",
            "t.yaml",
            "--token-ttl",
            "2592000",
            "--latency-ms",
            "60000",
            "--jitter-ms",
            "0",
            "--removal-delay-ms",
            "3600000",
            "--rate-limit",
            "4/0",
            "--tier",
            "free",
        ])
        .unwrap()
        .command
        else {
            panic!()
        };
        assert_eq!(
            (e.token_ttl, e.latency_ms, e.removal_delay_ms),
            (2_592_000, 60_000, 3_600_000)
        );
        assert_eq!(e.tier, Tier::Free);
    }

    #[test]
    fn an_unknown_tier_is_refused() {
        let e = parse(&["emulator", "--tenant", "t.yaml", "--tier", "gold"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown tier `gold`"), "{e}");
    }
}
