//! `orgsync emulator`: serve a local emulated Auth0 tenant until killed.

use std::time::Duration;

use orgsync_emulator::{self as emulator, RateLimits, Tenant};

use super::runtime;
use crate::cli::EmulatorArgs;
use crate::error::{Exit, Failure};

pub fn run(args: EmulatorArgs) -> Result<Exit, Failure> {
    let tenant = Tenant::load(&args.tenant).map_err(|e| Failure {
        error: Box::new(e),
        hint: Some("see docs/emulator.md for the tenant file format".into()),
    })?;
    let documented = RateLimits::tier(args.tier);
    let options = emulator::Options {
        rate_limits: RateLimits {
            global: args.rate_limit.or(documented.global),
            members_read: args.members_read_limit.or(documented.members_read),
            members_write: args.members_write_limit.or(documented.members_write),
            invitations: args.invitations_limit.or(documented.invitations),
        },
        enforce_rate_limits: !args.no_rate_limit,
        latency: Duration::from_millis(args.latency_ms),
        latency_jitter: Duration::from_millis(args.jitter_ms),
        removal_delay: Duration::from_millis(args.removal_delay_ms),
        fault_rate: args.fault_rate,
        fault_kinds: args.faults,
        seed: args.seed,
        token_ttl: Duration::from_secs(args.token_ttl),
    };
    runtime()?.block_on(emulator::serve(tenant, args.listen, options))?;
    Ok(Exit::Success)
}
