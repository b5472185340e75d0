//! A local, faithful stand-in for the parts of the Auth0 Management API that orgsync uses.
//!
//! Every other part of orgsync is tested against this emulator over real HTTP on loopback, so
//! it answers the way live tenants do in the recordings under `tests/fixtures/auth0-recordings/`
//! and as Auth0's documentation describes: the same status codes, JSON shapes, error bodies, paging
//! rules and rate-limit headers. Where Auth0's behaviour is undocumented the emulator makes an
//! assumption and names it (see `docs/emulator.md` and [`ASSUMPTIONS`]).
//!
//! It is its own crate, beside the product (like dropshot's test servers): the integration tests
//! use it as a dev-dependency, and `orgsync emulator` and `--sandbox` use it through the
//! product's default `emulator` feature, so a build without that feature carries no HTTP server.
//! Inside: an in-memory [`state::TenantState`], one small handler per endpoint in `server`, and
//! a typed error that renders Auth0's JSON error bodies.

pub mod fixtures;
pub mod jwt;
pub mod ratelimit;
mod server;
pub mod state;
pub mod tenant;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

pub use ratelimit::{BucketConfig, RateLimits, Tier};
pub use tenant::{Tenant, TenantError};

/// Behaviours of the emulator that are assumptions rather than documented Auth0 behaviour.
pub const ASSUMPTIONS: &[&str] = &[
    "more than 10 ids in a POST/DELETE members body answers 400 invalid_body",
    "removing a user who is not a member answers 204 and changes nothing",
    "an offset page that starts at or past record 1000 answers 400 invalid_paging; a page straddling 1000 is cut at 1000",
    "an undecodable `from` cursor answers 400 invalid_query_string",
    "POST members with an unknown user_id creates a bare user and adds it",
    "the organizations list has `next` only when more organizations follow",
    "an endpoint bucket's 429 says \"Too many requests to this endpoint\" (the tenant-wide one says \"Global limit has been reached\")",
    "a missing Authorization header answers 401 \"Invalid token\"",
    "the x-ratelimit-* headers are on every /api/v2 answer that a configured bucket applies to (by default all of them), injected 500s and 503s included; an injected 429 fault has none, by design",
    "the invitation list includes expired invitations until they are revoked or accepted",
    "revoking an invitation that does not exist answers 404 \"The invitation does not exist\" (errorCode inexistent_invitation)",
    "GET /users/{id} for an unknown user answers 404 \"The user does not exist.\" (errorCode inexistent_user)",
    "listing enabled connections or invitations draws only from the tenant-wide bucket; revoking an invitation also from the invitations bucket",
    "the invitations bucket (published for Enterprise: burst 20, 200/min) is the same on Essentials and Professional",
    "a connection's strategy is `auth0` for Username-Password-Authentication, the name for a social connection, else `samlp`, unless the tenant file says",
    "a per-minute bucket adds its tokens at each whole second of the wall clock, and its x-ratelimit-reset is the second at which the next whole token comes",
];

/// How the emulator behaves beyond its data: limits, latency, consistency, faults.
#[derive(Debug, Clone)]
pub struct Options {
    /// Token buckets; by default a production Enterprise tenant's documented limits
    /// ([`RateLimits::enterprise`]).
    pub rate_limits: RateLimits,
    /// Whether the buckets refuse requests (429) when empty. Off, the `x-ratelimit-*` headers
    /// are still sent on every answer, describing full buckets: for tests that need raw speed.
    pub enforce_rate_limits: bool,
    /// Added to every /api/v2 and /oauth/token request before it is handled.
    pub latency: Duration,
    /// A seeded random extra latency in `0..jitter`.
    pub latency_jitter: Duration,
    /// How long a removed member keeps appearing in member lists (Auth0: 5-10 s).
    pub removal_delay: Duration,
    /// Share of /api/v2 requests (0.0..=1.0) answered by a fault instead of the handler.
    pub fault_rate: f64,
    /// Which faults to draw from when one is injected.
    pub fault_kinds: Vec<FaultKind>,
    /// Seed for latency jitter and fault injection, for repeatable runs.
    pub seed: u64,
    /// Lifetime of issued access tokens.
    pub token_ttl: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rate_limits: RateLimits::enterprise(),
            enforce_rate_limits: true,
            latency: Duration::ZERO,
            latency_jitter: Duration::ZERO,
            removal_delay: Duration::ZERO,
            fault_rate: 0.0,
            fault_kinds: vec![FaultKind::Status500, FaultKind::Status503, FaultKind::Drop],
            seed: 0,
            token_ttl: Duration::from_secs(86_400),
        }
    }
}

/// An injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 500 Internal Server Error; the request is not carried out.
    Status500,
    /// 503 Service Unavailable; the request is not carried out.
    Status503,
    /// The request IS carried out, then the connection is dropped before the answer's body:
    /// the hardest case for a client, which cannot know whether its removal happened.
    Drop,
    /// 429 with Auth0's body but no `x-ratelimit-*` headers; the request is not carried out.
    Status429,
}

impl FaultKind {
    /// Parses `500`, `503`, `429` or `drop`.
    pub fn parse(s: &str) -> Option<FaultKind> {
        match s {
            "500" => Some(FaultKind::Status500),
            "503" => Some(FaultKind::Status503),
            "drop" => Some(FaultKind::Drop),
            "429" => Some(FaultKind::Status429),
            _ => None,
        }
    }
}

/// A fault scripted for the next matching requests (tests of partial failure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptedFault {
    /// HTTP method to match, e.g. `DELETE`.
    pub method: String,
    /// Matches requests whose path (without query) equals this.
    pub path: String,
    /// The status to answer (e.g. 500, 429), or 0 to drop the connection after handling.
    pub status: u16,
    /// How many matching requests fail.
    pub times: u32,
}

/// One request as the emulator saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Order of arrival, from 1.
    pub seq: u64,
    pub method: String,
    /// Path with query string, as sent.
    pub path: String,
    /// Status answered; 0 when the connection was dropped.
    pub status: u16,
    /// RFC 3339 UTC with milliseconds.
    pub time: String,
    /// Server time spent answering, in microseconds (added latency excluded).
    #[serde(default)]
    pub server_micros: u64,
    /// The user_ids of a POST/DELETE members body that parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
    /// The client whose token authenticated the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The injected fault, if any: `500`, `503`, `drop`, `scripted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// The tenant as it is now, for tests and `GET /__emulator/state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateView {
    pub organizations: Vec<OrgView>,
}

/// One organization's members, in join order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgView {
    pub id: String,
    pub name: String,
    /// Members, removals accepted but not yet visible excluded.
    pub members: Vec<String>,
    /// Removed members that member lists still show (eventual consistency).
    pub pending_removal: Vec<String>,
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Present when the emulator owns its runtime (started from synchronous code).
    runtime: Option<tokio::runtime::Runtime>,
}

impl Emulator {
    /// Starts an emulator on `127.0.0.1:0` (any free port) in the current Tokio runtime.
    pub async fn start(tenant: Tenant, options: Options) -> io::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        Emulator::start_on(listener, tenant, options).await
    }

    /// Starts an emulator on an already bound listener.
    pub async fn start_on(
        listener: tokio::net::TcpListener,
        tenant: Tenant,
        options: Options,
    ) -> io::Result<Emulator> {
        tenant
            .check()
            .map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(server::Shared::new(tenant, options, addr));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let app = server::router(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Emulator {
            addr,
            shared,
            shutdown: Some(tx),
            runtime: None,
        })
    }

    /// Starts an emulator on its own background runtime, for synchronous callers (tests that
    /// run the `orgsync` binary). Must not be called from inside a Tokio runtime.
    pub fn start_background(tenant: Tenant, options: Options) -> io::Result<Emulator> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let mut emulator = runtime.block_on(Emulator::start(tenant, options))?;
        emulator.runtime = Some(runtime);
        Ok(emulator)
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: what `--domain` takes to talk to this emulator.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in order of arrival.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log).clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// The tenant's organizations and members as they are now.
    pub fn state(&self) -> StateView {
        self.shared.state_view()
    }

    /// Makes the next `times` requests matching `method` and `path` fail.
    pub fn script_fault(&self, fault: ScriptedFault) {
        lock(&self.shared.scripted).push(fault);
    }

    /// Adds users to an organization as if someone else did (tests of drift between plan
    /// and apply). Unknown organization ids are ignored.
    pub fn add_members(&self, org_id: &str, user_ids: &[&str]) {
        self.shared.add_members(org_id, &owned(user_ids));
    }

    /// Removes users from an organization as if someone else did, immediately.
    pub fn remove_members(&self, org_id: &str, user_ids: &[&str]) {
        self.shared.remove_members(org_id, &owned(user_ids));
    }

    /// Deletes an organization (test hook for replaying recordings; orgsync never does this).
    pub fn delete_organization(&self, org_id: &str) -> bool {
        lock(&self.shared.state).delete_organization(org_id)
    }

    /// Deletes a user, as Auth0 does: out of every organization, `GET /users/{id}` answers
    /// 404 and adding them back is refused (test hook).
    pub fn delete_user(&self, user_id: &str) {
        lock(&self.shared.state).delete_user(user_id, std::time::Instant::now());
    }

    /// Deletes a role from the tenant, and from every member that held it (test hook).
    pub fn delete_role(&self, role_id: &str) -> bool {
        lock(&self.shared.state).delete_role(role_id)
    }

    /// Sets the roles a member holds through an enterprise group (test hook); false when the
    /// user is not a member.
    pub fn set_group_roles(&self, org_id: &str, user_id: &str, roles: Vec<tenant::Role>) -> bool {
        let mut st = lock(&self.shared.state);
        let Some(&o) = st.org_by_id.get(org_id) else {
            return false;
        };
        for r in &roles {
            st.roles.entry(r.id.clone()).or_insert_with(|| r.clone());
        }
        match st.membership_mut(o, user_id) {
            Some(m) => {
                m.group_roles = (!roles.is_empty()).then(|| roles.into_boxed_slice());
                true
            }
            None => false,
        }
    }

    /// A member's direct roles in an organization, None when not a member (test hook).
    pub fn roles_of(&self, org_id: &str, user_id: &str) -> Option<Vec<tenant::Role>> {
        let mut st = lock(&self.shared.state);
        let o = *st.org_by_id.get(org_id)?;
        st.membership_mut(o, user_id)
            .map(|m| m.roles.as_deref().unwrap_or(&[]).to_vec())
    }

    /// Sets a member's roles in an organization (test hook: orgsync never assigns roles).
    pub fn set_roles(&self, org_id: &str, user_id: &str, roles: Vec<tenant::Role>) -> bool {
        lock(&self.shared.state).set_roles(org_id, user_id, roles)
    }

    /// Issues a token for a client of the tenant, as POST /oauth/token would.
    pub fn token_for(&self, client_id: &str) -> Option<String> {
        self.shared.token_for(client_id)
    }

    /// Signs arbitrary claims with this emulator's key (tests of expired or scoped tokens).
    pub fn sign(&self, claims: &jwt::Claims) -> String {
        jwt::sign(claims, &self.shared.key)
    }

    /// The audience its tokens carry: `http://ADDR/api/v2/`.
    pub fn audience(&self) -> String {
        format!("{}/api/v2/", self.url())
    }

    /// Stops the server and waits for it to close its listener.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

fn owned(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// Runs `orgsync emulator`: serves `tenant` on `listen`, prints the ready line, and serves
/// until interrupted.
pub async fn serve(tenant: Tenant, listen: SocketAddr, options: Options) -> io::Result<()> {
    use std::io::Write;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let emulator = Emulator::start_on(listener, tenant, options).await?;
    {
        let mut out = io::stdout().lock();
        writeln!(out, "orgsync emulator listening on {}", emulator.url())?;
        out.flush()?;
    }
    shutdown_signal().await;
    emulator.stop();
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Locks a mutex, recovering the data if a handler panicked while holding it: the emulator's
/// state stays usable for the test that is reading it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wall-clock now; a seam kept in one place.
pub(crate) fn wall_now() -> SystemTime {
    SystemTime::now()
}

/// Whole seconds since the Unix epoch at `t` (0 before it): token times and the per-second
/// ticks of rate-limit buckets.
pub(crate) fn epoch_secs(t: SystemTime) -> u64 {
    orgsync_common::timefmt::unix_micros(t) / 1_000_000
}
