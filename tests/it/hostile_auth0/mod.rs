//! Safety promises under a hostile Auth0: the stateful fake of [`crate::support::fake_auth0`],
//! scripted per route to answer any status, any header value (`NaN`, `inf`, `1e30`, a reset in
//! 2100), any body, late, never, or after carrying a DELETE out; and the real emulator for saved
//! plans, audit logs and rate limits.
//!
//! Every run of the binary is bounded: a run that does not end in time is killed and the test
//! fails, so a regression fails CI instead of hanging it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::fake_auth0::*;
use crate::support::{
    ALL_SCOPES, OrgSync, Run, TempDir, audit_lines, background, client, member, org_with_members,
};
use orgsync_emulator::{Emulator, Options, ScriptedFault, Tenant, tenant::Organization as EmuOrg};
use serde_json::Value;

mod audit;
mod observation;
mod property;
mod saved_plans;
mod small;
mod waits;

/// Client credentials for `url`, instant retries.
fn creds(url: &str) -> OrgSync {
    OrgSync::at(url)
        .env("AUTH0_CLIENT_ID", CLIENT_ID)
        .env("AUTH0_CLIENT_SECRET", SECRET)
}

/// `orgsync ARGS` with [`creds`] for `url`, in `dir`.
fn run_in<I: IntoIterator<Item = A>, A: AsRef<std::ffi::OsStr>>(
    url: &str,
    dir: &std::path::Path,
    args: I,
) -> Run {
    creds(url).args(args).cwd(dir).run()
}

/// The same, with real waits (the "every wait ends" tests).
fn creds_real_waits(url: &str) -> OrgSync {
    creds(url).real_waits()
}

// ---------------------------------------------------------------------------------------------
// Emulator helpers.
// ---------------------------------------------------------------------------------------------

fn emu_tenant(orgs: Vec<EmuOrg>) -> Tenant {
    Tenant {
        clients: vec![client(CLIENT_ID, SECRET, ALL_SCOPES)],
        organizations: orgs,
        users: vec![],
    }
}

fn emu_deletes(emu: &Emulator) -> Vec<orgsync_emulator::RequestRecord> {
    emu.requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect()
}

fn emu_members(emu: &Emulator, name: &str) -> Vec<String> {
    emu.state()
        .organizations
        .into_iter()
        .find(|o| o.name == name)
        .map(|o| o.members)
        .unwrap_or_default()
}
