//! Small steps the plan, apply, restore and error tests share: a run's JSON, the read-only
//! client, the example tenant as a sandbox file, the audit log of a scenario.

use std::path::Path;

use orgsync_emulator::Emulator;
use serde_json::Value;

use super::{OrgSync, Run, Scenario, api_requests, audit_lines};

/// The repository's example tenant file, for `--sandbox`.
pub const EXAMPLE_TENANT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tenant.yaml");

/// `apply --auto-approve`.
pub const APPLY: [&str; 2] = ["apply", "--auto-approve"];

/// `apply --auto-approve --audit-log audit.jsonl`.
pub const APPLY_AUDITED: [&str; 4] = ["apply", "--auto-approve", "--audit-log", "audit.jsonl"];

/// A run's stdout as JSON, whatever its exit code; else fails showing the run.
#[track_caller]
pub fn json_of(run: &Run) -> Value {
    serde_json::from_str(run.stdout()).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.show()))
}

/// The JSON file at `path`.
#[track_caller]
pub fn read_json(path: impl AsRef<Path>) -> Value {
    let path = path.as_ref();
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The `user_id`s of a JSON list of members (a plan's `remove`, `missing`, …).
pub fn user_ids(list: &Value) -> Vec<&str> {
    let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
    list.iter().filter_map(|m| m["user_id"].as_str()).collect()
}

/// Asserts that the tenant's API received reads only (no DELETE, no POST).
#[track_caller]
pub fn assert_reads_only(emu: &Emulator) {
    let writes: Vec<String> = api_requests(emu)
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "the tenant received writes: {writes:?}");
}

impl OrgSync {
    /// As the example tenant's `read-only` client (read scopes only, no `read:users`).
    pub fn read_only(self) -> OrgSync {
        self.env("AUTH0_CLIENT_ID", "read-only")
            .env("AUTH0_CLIENT_SECRET", "read-only-secret")
    }
}

impl Scenario {
    /// A scenario with the example config.
    pub fn example(tag: &str) -> Scenario {
        Scenario::new(tag).example_config()
    }

    /// A scenario with the example config made to converge.
    pub fn convergent(tag: &str) -> Scenario {
        Scenario::new(tag).convergent_example_config()
    }

    /// The lines of `audit.jsonl` in the scenario's directory.
    pub fn audit(&self) -> Vec<Value> {
        audit_lines(&self.join("audit.jsonl"))
    }

    /// Runs `orgsync ARGS --sandbox examples/tenant.yaml`, with no domain and no credentials.
    pub fn sandbox<I: IntoIterator<Item = A>, A: AsRef<std::ffi::OsStr>>(&self, args: I) -> Run {
        let args: Vec<std::ffi::OsString> =
            args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        self.run_bare(args.iter().map(|a| a.as_os_str()).chain([
            std::ffi::OsStr::new("--sandbox"),
            std::ffi::OsStr::new(EXAMPLE_TENANT),
        ]))
    }
}

impl OrgSync {
    /// As the example tenant's `demo` client (every scope), by client credentials.
    pub fn demo(self) -> OrgSync {
        self.env("AUTH0_CLIENT_ID", "demo")
            .env("AUTH0_CLIENT_SECRET", "demo-secret")
    }
}

/// A loopback URL nothing listens on (a port bound, then freed).
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("a bound address").port();
    format!("http://127.0.0.1:{port}")
}

/// Asserts a failed [`Run`](super::Run): exit code 1, nothing on stdout, and stderr whole
/// (under [`insta_settings`](super::insta_settings)) against an inline snapshot:
/// `assert_error!(run, @"error: …")`.
macro_rules! assert_error {
    ($run:expr, @$snap:literal $(,)?) => {{
        let run: &$crate::support::Run = &$run;
        run.failure();
        assert!(run.stdout().is_empty(), "stdout is not empty:\n{}", run.show());
        $crate::support::insta_settings().bind(|| {
            insta::assert_snapshot!(run.stderr(), @$snap);
        });
    }};
}
pub(crate) use assert_error;

impl OrgSync {
    /// Against `emu` with `token` as AUTH0_API_TOKEN (no client credentials).
    pub fn with_token(emu: &Emulator, token: &str) -> OrgSync {
        OrgSync::at(&emu.url()).env("AUTH0_API_TOKEN", token)
    }
}

/// A token `emu` signed for client `demo` with the two read scopes, expired `secs_ago` seconds
/// ago (issued an hour before that).
pub fn expired_token(emu: &Emulator, secs_ago: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();
    emu.sign(&orgsync_emulator::jwt::Claims {
        iss: format!("{}/", emu.url()),
        sub: "demo@clients".into(),
        aud: emu.audience(),
        iat: now - secs_ago - 3600,
        exp: now - secs_ago,
        azp: "demo".into(),
        scope: "read:organizations read:organization_members".into(),
        gty: "client-credentials".into(),
    })
}

/// A scripted fault: `times` answers of `status` (0: the connection dropped) to `method path`.
pub fn fault(method: &str, path: &str, status: u16, times: u32) -> orgsync_emulator::ScriptedFault {
    orgsync_emulator::ScriptedFault {
        method: method.into(),
        path: path.into(),
        status,
        times,
    }
}

/// `name: FIELD` for each organization of a JSON plan, in the plan's order.
pub fn per_org(plan: &Value, field: &str) -> Vec<String> {
    let orgs = plan["organizations"].as_array().map(Vec::as_slice);
    let orgs = orgs.unwrap_or_default().iter();
    orgs.map(|o| format!("{}: {}", o["name"].as_str().unwrap_or("?"), o[field]))
        .collect()
}

impl Scenario {
    /// Creates the directory `name` in the scenario's directory (for a directory config).
    pub fn mkdir(self, name: &str) -> Scenario {
        let dir = self.join(name);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        self
    }
}

/// The string field `key` of each object in a JSON list (`id`s of invitations, `name`s of roles).
pub fn strs<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
    list.iter().filter_map(|m| m[key].as_str()).collect()
}

/// The object of a JSON list whose `key` is `value`; else fails showing the list.
#[track_caller]
pub fn find_in<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    let found = list
        .as_array()
        .and_then(|l| l.iter().find(|m| m[key] == value));
    found.unwrap_or_else(|| panic!("no {key} {value:?} in {list:#}"))
}

/// The paths of the requests that reached the Management API, in order.
pub fn api_paths(emu: &Emulator) -> Vec<String> {
    api_requests(emu).into_iter().map(|r| r.path).collect()
}

/// Emulator options with a tenant-wide rate-limit bucket of `size`, refilled continuously at
/// `refill_per_sec`.
pub fn rate_limited(size: u32, refill_per_sec: f64) -> orgsync_emulator::Options {
    use orgsync_emulator::{BucketConfig, Options, RateLimits};
    let bucket = BucketConfig {
        size,
        refill_per_sec,
        every_second: false,
    };
    let rate_limits = RateLimits {
        global: Some(bucket),
        ..RateLimits::default()
    };
    Options {
        rate_limits,
        ..Options::default()
    }
}
