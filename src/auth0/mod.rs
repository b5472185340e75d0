//! The Auth0 Management API client: connection settings, credentials, paging, retries, rate-limit
//! pacing and typed errors.
//!
//! Retry and backoff live here and nowhere else (kube-rs keeps its `error_policy` apart from
//! `reconcile` the same way): commands ask for "the members of this organization" or "remove
//! these ten users" and get either the answer or an error that already carries the call, the
//! organization, what Auth0 said and a hint.
//!
//! Secrets: the token and the client secret live in [`Secret`], whose `Debug` prints
//! `[redacted]` and which has no `Display`; they are only ever written into the
//! `Authorization` header and the token request body, never into errors or logs. A server may
//! echo them back (a token endpoint answering 401 with the request body, say): every error the
//! client returns, and every transport detail it logs, has them replaced by `[redacted]` first.
//! Requests to a loopback host (the emulator, `--sandbox`) never go through a proxy
//! (`HTTP_PROXY`, `ALL_PROXY`, …), which would otherwise see the plain-HTTP secret and token.
//!
//! Untrusted input: numbers in an answer's headers are read by [`pacer::ServerLimits`] only;
//! every organization id put into a path must be an Auth0 organization id
//! ([`crate::ids::is_org_id`]), every name one of [`crate::ids::is_org_name`], else the call
//! fails unsent; organizations in answers with a malformed id are a decode error.

mod error;
mod pacer;

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use error::{ApiAnswer, CallSite, Error};
pub use pacer::{Pacer, PacingTimeout, ServerLimits};

use crate::member::Member;

/// Largest answer body orgsync reads; a page of 100 members is about 20 KiB.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Members per checkpoint page: the API's maximum.
pub const PAGE_SIZE: usize = 100;

/// A value that must never be printed: tokens and client secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where the tenant is: `https://{host}` for a bare host, or a loopback `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    base: reqwest::Url,
}

/// A `--domain` / `AUTH0_DOMAIN` value orgsync refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Auth0 domain `{value}`: {reason}")]
pub struct DomainError {
    pub value: String,
    pub reason: String,
}

/// The domain as given, with any `user:password@` replaced by `[redacted]@`, for messages.
fn without_userinfo(value: &str) -> (String, bool) {
    let (scheme, rest) = match value.find("://") {
        Some(i) => value.split_at(i + 3),
        None => ("", value),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rfind('@') {
        Some(at) => (
            format!("{scheme}[redacted]@{}{tail}", &authority[at + 1..]),
            true,
        ),
        None => (value.to_string(), false),
    }
}

const CREDENTIALS_IN_DOMAIN: &str = "credentials (`user:password@`) do not belong in the domain; use AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET";

impl Domain {
    /// Parses a bare host (`travel0.us.auth0.com`, HTTPS) or a URL. Plain `http://` is accepted
    /// only for loopback hosts (the emulator); a path, query or credentials in the URL are refused.
    /// The error never repeats credentials given in the URL.
    pub fn parse(value: &str) -> Result<Domain, DomainError> {
        let (shown, has_userinfo) = without_userinfo(value.trim());
        let err = |reason: &str| DomainError {
            value: shown.clone(),
            reason: reason.to_string(),
        };
        let v = value.trim();
        if v.is_empty() {
            return Err(err("it is empty"));
        }
        if has_userinfo {
            return Err(err(CREDENTIALS_IN_DOMAIN));
        }
        let with_scheme = if v.contains("://") {
            v.to_string()
        } else {
            format!("https://{v}")
        };
        let url = reqwest::Url::parse(&with_scheme).map_err(|e| err(&e.to_string()))?;
        let host = url.host_str().ok_or_else(|| err("it has no host"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err(CREDENTIALS_IN_DOMAIN));
        }
        if url.path() != "/" && !url.path().is_empty()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(err(
                "give the host only, without a path (orgsync adds /api/v2/)",
            ));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => {
                return Err(err(
                    "plain http is only accepted for loopback addresses (the emulator); use https or a bare host",
                ));
            }
            other => return Err(err(&format!("unsupported scheme `{other}`"))),
        }
        Ok(Domain { base: url })
    }

    /// How plans name the tenant: the host (with a port if not the default) for HTTPS, the
    /// whole URL for a loopback emulator.
    pub fn name(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match (self.base.scheme(), self.base.port()) {
            ("https", None) => host.to_string(),
            ("https", Some(p)) => format!("{host}:{p}"),
            _ => self.base.as_str().trim_end_matches('/').to_string(),
        }
    }

    /// `https://host` (no trailing slash).
    pub fn origin(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    /// The Management API audience: `https://host/api/v2/`.
    pub fn audience(&self) -> String {
        format!("{}/api/v2/", self.origin())
    }

    fn is_https(&self) -> bool {
        self.base.scheme() == "https"
    }

    fn is_loopback(&self) -> bool {
        self.base.host_str().is_some_and(is_loopback)
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// How orgsync authenticates.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A ready access token (`AUTH0_API_TOKEN` or `AUTH0_ACCESS_TOKEN`).
    Token(Secret),
    /// Client credentials, exchanged for a token at `POST /oauth/token`.
    Client {
        client_id: String,
        client_secret: Secret,
    },
}

/// Credentials that could not be found in the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no Auth0 credentials: {0}")]
pub struct MissingCredentials(pub String);

impl Credentials {
    /// Reads credentials from environment variables via `get` (so tests need no real env).
    /// A given token wins over client credentials, as in terraform-provider-auth0.
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, MissingCredentials> {
        let non_empty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        if let Some(t) = non_empty("AUTH0_API_TOKEN").or_else(|| non_empty("AUTH0_ACCESS_TOKEN")) {
            return Ok(Credentials::Token(Secret::new(t.trim())));
        }
        match (non_empty("AUTH0_CLIENT_ID"), non_empty("AUTH0_CLIENT_SECRET")) {
            (Some(id), Some(secret)) => Ok(Credentials::Client { client_id: id, client_secret: Secret::new(secret) }),
            (Some(_), None) => Err(MissingCredentials("AUTH0_CLIENT_ID is set but AUTH0_CLIENT_SECRET is not".into())),
            (None, Some(_)) => Err(MissingCredentials("AUTH0_CLIENT_SECRET is set but AUTH0_CLIENT_ID is not".into())),
            (None, None) => Err(MissingCredentials(
                "set AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (client credentials), or AUTH0_API_TOKEN".into(),
            )),
        }
    }

    /// The client id, when known (for audit records).
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Credentials::Client { client_id, .. } => Some(client_id),
            Credentials::Token(_) => None,
        }
    }
}

/// How persistent the client is.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts for a call answered 5xx or lost in transport (the first one included).
    pub max_attempts: u32,
    /// First backoff; doubles each attempt, with jitter.
    pub base_delay: Duration,
    /// Longest single wait.
    pub max_delay: Duration,
    /// Give up on a call (429s included) once this much time has passed since its first attempt.
    pub deadline: Duration,
    /// Skip the waits (tests): `ORGSYNC_TEST_NO_RETRY_DELAY=1`.
    pub instant: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            deadline: Duration::from_secs(120),
            instant: false,
        }
    }
}

/// Settings of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub retry: RetryPolicy,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for one whole request and answer.
    pub request_timeout: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// A cap on requests per second below the tenant's limit (`--max-rps`).
    pub max_rps: Option<f64>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            concurrency: 8,
            max_rps: None,
        }
    }
}

/// An organization as the API describes it. An `id` that is not an Auth0 organization id
/// ([`crate::ids::is_org_id`]) does not decode: it would go into request paths.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Organization {
    #[serde(deserialize_with = "org_id")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

fn org_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    if crate::ids::is_org_id(&id) {
        Ok(id)
    } else {
        Err(serde::de::Error::custom(not_an_org_id(&id)))
    }
}

/// Why `id` is refused, with the id escaped and cut.
fn not_an_org_id(id: &str) -> String {
    format!(
        "organization id {} is not an Auth0 organization id (`org_` and 1 to 46 letters or digits)",
        escaped(id)
    )
}

/// A value from outside for a message: escaped (quotes, control characters) and cut to 60
/// characters.
fn escaped(s: &str) -> String {
    let cut: String = s.chars().take(60).collect();
    let mut e = format!("{cut:?}");
    if cut.len() < s.len() {
        e.push('…');
    }
    e
}

/// A user as `users-by-email` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    pub user_id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// Counters of what the client did, for reports, tests and benchmarks.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
}

/// The result of one mutating call, for the audit log.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub status: Option<u16>,
    pub attempts: u32,
    pub duration: Duration,
}

/// A Management API client for one tenant.
pub struct Client {
    http: reqwest::Client,
    domain: Domain,
    credentials: Credentials,
    token: tokio::sync::Mutex<Option<Secret>>,
    options: ClientOptions,
    pacer: Pacer,
    slots: Arc<tokio::sync::Semaphore>,
    /// The client secret and the token, in the forms a server may echo them, for scrubbing.
    secrets: std::sync::RwLock<Vec<String>>,
    pub stats: Stats,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("domain", &self.domain)
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// The answer of one attempt.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Client {
    /// Builds a client. TLS certificate checks are always on; redirects are never followed, so
    /// the `Authorization` header can only go to the configured domain.
    pub fn new(
        domain: Domain,
        credentials: Credentials,
        options: ClientOptions,
    ) -> Result<Client, Error> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("orgsync/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .https_only(domain.is_https())
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout);
        if domain.is_loopback() {
            // Plain HTTP to the emulator: a proxy from the environment would see the secret.
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| Error::TokenTransport {
            detail: format!("cannot set up HTTPS: {e}"),
        })?;
        let mut secrets = Vec::new();
        match &credentials {
            Credentials::Token(t) => add_secret(&mut secrets, t),
            Credentials::Client { client_secret, .. } => add_secret(&mut secrets, client_secret),
        }
        Ok(Client {
            secrets: std::sync::RwLock::new(secrets),
            http,
            pacer: Pacer::new(options.max_rps),
            slots: Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1))),
            domain,
            credentials,
            token: tokio::sync::Mutex::new(None),
            options,
            stats: Stats::default(),
        })
    }

    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The refill rate the pacer works with, if a rate limit was reported (reports, benchmarks).
    pub fn measured_rate(&self) -> Option<f64> {
        self.pacer.rate()
    }

    /// Requests sent so far, the token request and retries included.
    pub fn requests_sent(&self) -> u64 {
        self.stats.requests.load(Ordering::Relaxed)
    }

    /// Requests sent again after a 429, a 5xx or a lost connection.
    pub fn retries(&self) -> u64 {
        self.stats.retries.load(Ordering::Relaxed)
    }

    /// `text` with the client secret and the token replaced by `[redacted]`.
    fn scrub_text(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        scrub_with(text, &secrets)
    }

    /// `e` with the client secret and the token replaced by `[redacted]` in every text: every
    /// error leaves the client through here.
    fn scrub(&self, e: Error) -> Error {
        e.scrubbed(|t| self.scrub_text(t))
    }

    /// The bearer token: the given one, or one fetched once with client credentials.
    async fn bearer(&self) -> Result<Secret, Error> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref() {
            return Ok(t.clone());
        }
        let token = match &self.credentials {
            Credentials::Token(t) => t.clone(),
            Credentials::Client {
                client_id,
                client_secret,
            } => self
                .fetch_token(client_id, client_secret)
                .await
                .map_err(|e| self.scrub(e))?,
        };
        add_secret(
            &mut self.secrets.write().unwrap_or_else(|e| e.into_inner()),
            &token,
        );
        *cached = Some(token.clone());
        Ok(token)
    }

    async fn fetch_token(&self, client_id: &str, client_secret: &Secret) -> Result<Secret, Error> {
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: String,
        }
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret.expose(),
            "audience": self.domain.audience(),
        });
        let url = format!("{}/oauth/token", self.domain.origin());
        let mut attempt = 0;
        let started = Instant::now();
        loop {
            attempt += 1;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                client_id,
                attempt,
                "requesting an access token with client credentials"
            );
            let sent = self.http.post(&url).json(&body).send().await;
            let answer = match sent {
                Ok(resp) => read_answer(resp).await,
                Err(e) => Err(transport_detail(&e)),
            };
            match answer {
                Ok(a) if a.status.is_success() => {
                    let t: TokenAnswer =
                        serde_json::from_slice(&a.body).map_err(|e| Error::TokenTransport {
                            detail: format!("the token endpoint's answer is not a token: {e}"),
                        })?;
                    return Ok(Secret::new(t.access_token));
                }
                Ok(a) if retryable(a.status) && attempt < self.options.retry.max_attempts => {
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    self.wait_before_retry(attempt, &a.headers, started).await;
                }
                Ok(a) => {
                    return Err(Error::Token {
                        answer: parse_error_body(a.status, &a.body),
                    });
                }
                Err(detail) if attempt < self.options.retry.max_attempts => {
                    let _ = detail;
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    self.wait_before_retry(attempt, &HeaderMap::new(), started)
                        .await;
                }
                Err(detail) => return Err(Error::TokenTransport { detail }),
            }
        }
    }

    /// Sends one call with retries: 429 waits for the limit to reset (until the deadline), 5xx
    /// and transport failures are retried up to `max_attempts`, other answers are returned.
    async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
        site: &CallSite,
    ) -> Result<(Answer, CallRecord), Error> {
        let mut attempts = 0;
        self.call_counting(method, path_and_query, body, site, &mut attempts)
            .await
    }

    /// [`Client::call`], telling how many attempts were sent even when it fails (for the
    /// audit log). Its errors have the secrets scrubbed.
    async fn call_counting(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
        site: &CallSite,
        attempts: &mut u32,
    ) -> Result<(Answer, CallRecord), Error> {
        self.call_unscrubbed(method, path_and_query, body, site, attempts)
            .await
            .map_err(|e| self.scrub(e))
    }

    async fn call_unscrubbed(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
        site: &CallSite,
        attempts: &mut u32,
    ) -> Result<(Answer, CallRecord), Error> {
        let token = self.bearer().await?;
        let url = format!("{}{}", self.domain.origin(), path_and_query);
        let started = Instant::now();
        let mut failures: u32 = 0;
        loop {
            let permit = self.slots.acquire().await.map_err(|_| Error::Transport {
                site: site.clone(),
                detail: "the client was shut down".into(),
            })?;
            // `--timeout` bounds the request including its wait for a rate-limit token.
            let budget = self.options.request_timeout;
            let paced = Instant::now();
            let ticket = self
                .pacer
                .acquire(self.options.retry.instant, budget)
                .await
                .map_err(|e| Error::RateLimitWait {
                    site: site.clone(),
                    detail: e.to_string(),
                })?;
            let in_flight = InFlight {
                pacer: &self.pacer,
                ticket: Some(ticket),
            };
            *attempts += 1;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let left = budget
                .saturating_sub(paced.elapsed())
                .max(Duration::from_millis(1));
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(token.expose())
                .timeout(left);
            if let Some(b) = body {
                req = req.json(b);
            }
            let result = match req.send().await {
                Ok(resp) => read_answer(resp).await,
                Err(e) => Err(transport_detail(&e)),
            };
            drop(permit);
            let result = result.map_err(|d| self.scrub_text(&d));
            match &result {
                Ok(a) => {
                    tracing::info!(method = %method, path = %path_and_query, status = a.status.as_u16(), attempt = *attempts, "request")
                }
                Err(detail) => {
                    tracing::info!(method = %method, path = %path_and_query, attempt = *attempts, error = %detail, "request failed")
                }
            }
            match result {
                Ok(a) => {
                    in_flight.answered(&a.headers, a.status == StatusCode::TOO_MANY_REQUESTS);
                    let record = CallRecord {
                        status: Some(a.status.as_u16()),
                        attempts: *attempts,
                        duration: started.elapsed(),
                    };
                    if a.status == StatusCode::TOO_MANY_REQUESTS {
                        self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                        if started.elapsed() < self.options.retry.deadline {
                            self.stats.retries.fetch_add(1, Ordering::Relaxed);
                            self.wait_before_retry(*attempts, &a.headers, started).await;
                            continue;
                        }
                        return Err(api_error(site, &a));
                    }
                    if a.status.is_server_error() {
                        failures += 1;
                        if failures < self.options.retry.max_attempts
                            && started.elapsed() < self.options.retry.deadline
                        {
                            self.stats.retries.fetch_add(1, Ordering::Relaxed);
                            self.wait_before_retry(failures, &a.headers, started).await;
                            continue;
                        }
                        return Err(api_error(site, &a));
                    }
                    if !a.status.is_success() {
                        return Err(api_error(site, &a));
                    }
                    return Ok((a, record));
                }
                Err(detail) => {
                    in_flight.answered(&HeaderMap::new(), false);
                    failures += 1;
                    if failures < self.options.retry.max_attempts
                        && started.elapsed() < self.options.retry.deadline
                    {
                        self.stats.retries.fetch_add(1, Ordering::Relaxed);
                        self.wait_before_retry(failures, &HeaderMap::new(), started)
                            .await;
                        continue;
                    }
                    return Err(Error::Transport {
                        site: site.clone(),
                        detail: format!("{detail} (after {} attempts)", *attempts),
                    });
                }
            }
        }
    }

    /// Waits before retry number `n`: `Retry-After`, else until `x-ratelimit-reset`, else a
    /// capped exponential backoff with jitter; never past the call's deadline.
    async fn wait_before_retry(&self, n: u32, headers: &HeaderMap, started: Instant) {
        if self.options.retry.instant {
            return;
        }
        let policy = &self.options.retry;
        let wait = server_wait(headers, SystemTime::now(), policy.max_delay).unwrap_or_else(|| {
            let exp = policy
                .base_delay
                .saturating_mul(1u32 << n.saturating_sub(1).min(16));
            let capped = exp.min(policy.max_delay);
            // Full jitter on the upper half keeps concurrent callers from retrying in step.
            capped.mul_f64(0.5 + 0.5 * jitter())
        });
        let left = policy.deadline.saturating_sub(started.elapsed());
        tokio::time::sleep(wait.min(policy.max_delay).min(left)).await;
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        site: &CallSite,
    ) -> Result<T, Error> {
        let (a, _) = self.call(Method::GET, path_and_query, None, site).await?;
        serde_json::from_slice(&a.body).map_err(|e| {
            self.scrub(Error::Decode {
                site: site.clone(),
                detail: e.to_string(),
            })
        })
    }

    /// `GET /api/v2/organizations/{id}`.
    pub async fn organization_by_id(&self, id: &str) -> Result<Organization, Error> {
        let path = format!("/api/v2/organizations/{}", encode_path(id));
        let site = CallSite {
            method: "GET",
            path: path.clone(),
            organization: Some(id.to_string()),
        };
        check_org_id(id, &site).map_err(|e| self.scrub(e))?;
        self.get_json(&path, &site).await
    }

    /// `GET /api/v2/organizations/name/{name}`.
    pub async fn organization_by_name(&self, name: &str) -> Result<Organization, Error> {
        let path = format!("/api/v2/organizations/name/{}", encode_path(name));
        let site = CallSite {
            method: "GET",
            path: path.clone(),
            organization: Some(name.to_string()),
        };
        if !crate::ids::is_org_name(name) {
            return Err(self.scrub(Error::InvalidId {
                site,
                detail: format!(
                    "organization name {} is not an Auth0 organization name (1 to 50 lowercase letters, digits, `_` or `-`)",
                    escaped(name)
                ),
            }));
        }
        self.get_json(&path, &site).await
    }

    /// Walks a checkpoint-paged list (`take=100`, then `from=next`), handing each page to
    /// `on_page`, which returns whether to go on. The list ends at a page shorter than `take`
    /// (the last page: live tenants fill every other page), a page without `next`, or an empty
    /// page; so a list of fewer than 100 costs one request. A `next` seen before is an error,
    /// never a loop.
    async fn paginate<T: DeserializeOwned>(
        &self,
        base: &str,
        key: &str,
        extra_query: &str,
        site: &CallSite,
        on_page: impl FnMut(Vec<T>) -> bool,
    ) -> Result<(), Error> {
        self.paginate_unscrubbed(base, key, extra_query, site, on_page)
            .await
            .map_err(|e| self.scrub(e))
    }

    async fn paginate_unscrubbed<T: DeserializeOwned>(
        &self,
        base: &str,
        key: &str,
        extra_query: &str,
        site: &CallSite,
        mut on_page: impl FnMut(Vec<T>) -> bool,
    ) -> Result<(), Error> {
        let decode = |detail: String| Error::Decode {
            site: site.clone(),
            detail,
        };
        let mut seen_cursors = HashSet::new();
        let mut from: Option<String> = None;
        loop {
            let mut q = format!("{base}?{extra_query}take={PAGE_SIZE}");
            if let Some(c) = &from {
                q.push_str("&from=");
                q.push_str(&encode_query(c));
            }
            // `{"<key>": [...], "next": "..."}`, the items under a key that depends on the list.
            let mut page: serde_json::Map<String, Value> = self.get_json(&q, site).await?;
            let items = page
                .remove(key)
                .ok_or_else(|| decode(format!("missing field `{key}`")))?;
            let items: Vec<T> =
                serde_json::from_value(items).map_err(|e| decode(format!("`{key}`: {e}")))?;
            let next = match page.remove("next") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s),
                Some(other) => return Err(decode(format!("`next` is not a string: {other}"))),
            };
            let n = items.len();
            if !on_page(items) || n < PAGE_SIZE {
                return Ok(());
            }
            match next {
                Some(next) if !next.is_empty() => {
                    if !seen_cursors.insert(next.clone()) {
                        return Err(Error::RepeatedCursor { site: site.clone() });
                    }
                    from = Some(next);
                }
                _ => return Ok(()),
            }
        }
    }

    /// Every organization of the tenant, in the API's order.
    pub async fn organizations(&self) -> Result<Vec<Organization>, Error> {
        let mut all = Vec::new();
        self.organizations_while(|page| {
            all.extend(page);
            true
        })
        .await?;
        Ok(all)
    }

    /// Pages through the organization list while `on_page` returns true.
    pub async fn organizations_while(
        &self,
        on_page: impl FnMut(Vec<Organization>) -> bool,
    ) -> Result<(), Error> {
        let site = CallSite {
            method: "GET",
            path: "/api/v2/organizations".into(),
            organization: None,
        };
        self.paginate("/api/v2/organizations", "organizations", "", &site, on_page)
            .await
    }

    /// Every member of an organization, read with checkpoint paging, which has no 1000-record
    /// cap. `on_page` is told how many members each page brought.
    pub async fn members(
        &self,
        org_id: &str,
        label: &str,
        mut on_page: impl FnMut(usize),
    ) -> Result<Vec<Member>, Error> {
        let base = format!("/api/v2/organizations/{}/members", encode_path(org_id));
        let site = CallSite {
            method: "GET",
            path: base.clone(),
            organization: Some(label.to_string()),
        };
        check_org_id(org_id, &site).map_err(|e| self.scrub(e))?;
        let mut all = Vec::new();
        self.paginate(
            &base,
            "members",
            "fields=user_id%2Cemail%2Cname&include_fields=true&",
            &site,
            |page: Vec<Member>| {
                on_page(page.len());
                all.extend(page);
                true
            },
        )
        .await?;
        Ok(all)
    }

    /// `GET /api/v2/users-by-email?email=…` (exact, case-sensitive match).
    pub async fn users_by_email(&self, email: &str) -> Result<Vec<User>, Error> {
        let path = format!("/api/v2/users-by-email?email={}", encode_query(email));
        let site = CallSite {
            method: "GET",
            path: "/api/v2/users-by-email".into(),
            organization: None,
        };
        self.get_json(&path, &site).await
    }

    /// `DELETE /api/v2/organizations/{id}/members` with at most 10 user_ids.
    pub async fn remove_members(
        &self,
        org_id: &str,
        label: &str,
        user_ids: &[String],
    ) -> (Result<(), Error>, CallRecord) {
        let path = format!("/api/v2/organizations/{}/members", encode_path(org_id));
        let site = CallSite {
            method: "DELETE",
            path: path.clone(),
            organization: Some(label.to_string()),
        };
        let started = Instant::now();
        if let Err(e) = check_org_id(org_id, &site) {
            let record = CallRecord {
                status: None,
                attempts: 0,
                duration: Duration::ZERO,
            };
            return (Err(self.scrub(e)), record);
        }
        if user_ids.is_empty() || user_ids.len() > 10 {
            let err = Error::Decode {
                site,
                detail: format!(
                    "refusing to send {} user_ids in one call (1 to 10)",
                    user_ids.len()
                ),
            };
            return (
                Err(err),
                CallRecord {
                    status: None,
                    attempts: 0,
                    duration: Duration::ZERO,
                },
            );
        }
        let body = serde_json::json!({ "members": user_ids });
        let mut attempts = 0;
        match self
            .call_counting(Method::DELETE, &path, Some(&body), &site, &mut attempts)
            .await
        {
            Ok((_, record)) => (Ok(()), record),
            Err(e) => {
                let record = CallRecord {
                    status: e.status(),
                    attempts,
                    duration: started.elapsed(),
                };
                (Err(e), record)
            }
        }
    }
}

/// A request the pacer let through: its ticket goes back to the pacer with the answer, or
/// with none if the call is dropped first (a cancelled task), so the pacer never counts it in
/// flight forever.
struct InFlight<'a> {
    pacer: &'a Pacer,
    ticket: Option<pacer::Ticket>,
}

impl InFlight<'_> {
    fn answered(mut self, headers: &HeaderMap, limited: bool) {
        if let Some(t) = self.ticket.take() {
            self.pacer.observe(t, headers, limited);
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.ticket.take() {
            self.pacer.observe(t, &HeaderMap::new(), false);
        }
    }
}

/// Fails unless `id` is an Auth0 organization id, before it goes into a path.
fn check_org_id(id: &str, site: &CallSite) -> Result<(), Error> {
    if crate::ids::is_org_id(id) {
        Ok(())
    } else {
        Err(Error::InvalidId {
            site: site.clone(),
            detail: not_an_org_id(id),
        })
    }
}

/// Adds `secret` to the texts to scrub, with the forms a server may echo it in: as given,
/// JSON-escaped and percent-encoded.
fn add_secret(secrets: &mut Vec<String>, secret: &Secret) {
    let s = secret.expose();
    if s.is_empty() {
        return;
    }
    let json = serde_json::to_string(s).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    for form in [
        s.to_string(),
        json,
        encode_query(s),
        encode_query(s).replace("%20", "+"),
    ] {
        if !form.is_empty() && !secrets.contains(&form) {
            secrets.push(form);
        }
    }
    // Longest first, so a form containing another is replaced whole.
    secrets.sort_by_key(|f| std::cmp::Reverse(f.len()));
}

/// `text` with each of `secrets` replaced by `[redacted]`.
fn scrub_with(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "[redacted]");
        }
    }
    out
}

/// Reads an answer's body, refusing one larger than [`MAX_BODY_BYTES`].
async fn read_answer(mut resp: reqwest::Response) -> Result<Answer, String> {
    let status = resp.status();
    let headers = resp.headers().clone();
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(format!(
            "the answer is larger than {} MiB",
            MAX_BODY_BYTES >> 20
        ));
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(format!(
                        "the answer is larger than {} MiB",
                        MAX_BODY_BYTES >> 20
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(transport_detail(&e)),
        }
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// A transport failure in words, without the URL's query (which never holds secrets anyway).
fn transport_detail(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the connection broke while reading the answer"
    } else if e.is_redirect() {
        "the server answered with a redirect, which orgsync does not follow"
    } else {
        "the request failed"
    };
    let mut detail = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    detail
}

fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

fn api_error(site: &CallSite, a: &Answer) -> Error {
    if a.status.is_redirection() {
        return Error::Decode {
            site: site.clone(),
            detail: format!(
                "a {} redirect, which orgsync does not follow (the Authorization header stays with the configured domain)",
                a.status.as_u16()
            ),
        };
    }
    Error::Api {
        site: site.clone(),
        answer: parse_error_body(a.status, &a.body),
    }
}

/// Reads Auth0's error body (`message`/`errorCode`, or OAuth's `error`/`error_description`).
fn parse_error_body(status: StatusCode, body: &[u8]) -> ApiAnswer {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let message = s("message")
        .or_else(|| s("error_description"))
        .or_else(|| s("error"))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let error_code = s("errorCode").or_else(|| v.get("error_description").and_then(|_| s("error")));
    ApiAnswer {
        status: status.as_u16(),
        error_code,
        message,
    }
}

/// How long the server asked to wait: `Retry-After` seconds, else until `x-ratelimit-reset`;
/// at most `cap`. The numbers are read by [`ServerLimits::parse`]: any it does not trust
/// (NaN, infinite, negative, absurd) count as not sent.
fn server_wait(headers: &HeaderMap, now: SystemTime, cap: Duration) -> Option<Duration> {
    let limits = ServerLimits::parse(headers, now, cap);
    if let Some(wait) = limits.retry_after {
        return Some(wait);
    }
    let until = limits.reset?.duration_since(now).unwrap_or(Duration::ZERO);
    Some(until.min(cap))
}

/// A number in 0..1 from the standard library's random hasher keys.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Percent-encodes a path segment (`|` becomes `%7C`, as the live API expects). `.` is
/// encoded too, so a segment is never `.` or `..`, which URL normalisation would resolve.
fn encode_path(s: &str) -> String {
    encode(s, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~')
    })
}

/// Percent-encodes a query value.
fn encode_query(s: &str) -> String {
    encode(s, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
    })
}

fn encode(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::RETRY_AFTER;

    #[test]
    fn domains() {
        let d = Domain::parse("travel0.us.auth0.com").unwrap();
        assert_eq!(d.origin(), "https://travel0.us.auth0.com");
        assert_eq!(d.audience(), "https://travel0.us.auth0.com/api/v2/");
        assert_eq!(d.name(), "travel0.us.auth0.com");
        assert_eq!(
            Domain::parse("https://travel0.us.auth0.com/")
                .unwrap()
                .name(),
            "travel0.us.auth0.com"
        );
        let local = Domain::parse("http://127.0.0.1:4000").unwrap();
        assert_eq!(local.origin(), "http://127.0.0.1:4000");
        assert_eq!(local.name(), "http://127.0.0.1:4000");
        assert!(Domain::parse("http://localhost:4000").is_ok());
        assert!(Domain::parse("http://[::1]:4000").is_ok());
        for bad in [
            "",
            "http://travel0.us.auth0.com",
            "http://10.0.0.1",
            "ftp://x",
            "https://x/api/v2",
            "https://u:p@x",
            "https://x?y=1",
        ] {
            assert!(Domain::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn credentials_from_env() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(matches!(
            Credentials::from_env(env(&[("AUTH0_API_TOKEN", "t"), ("AUTH0_CLIENT_ID", "c")])),
            Ok(Credentials::Token(_))
        ));
        assert!(matches!(
            Credentials::from_env(env(&[("AUTH0_ACCESS_TOKEN", "t")])),
            Ok(Credentials::Token(_))
        ));
        assert!(matches!(
            Credentials::from_env(env(&[
                ("AUTH0_CLIENT_ID", "c"),
                ("AUTH0_CLIENT_SECRET", "s")
            ])),
            Ok(Credentials::Client { .. })
        ));
        let e = Credentials::from_env(env(&[("AUTH0_CLIENT_ID", "c")])).unwrap_err();
        assert!(e.to_string().contains("AUTH0_CLIENT_SECRET is not"));
        let e = Credentials::from_env(env(&[])).unwrap_err();
        assert!(
            e.to_string()
                .contains("AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET")
        );
        assert!(e.to_string().contains("AUTH0_API_TOKEN"));
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Credentials::Client {
            client_id: "id".into(),
            client_secret: Secret::new("hunter2"),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{:?}", Credentials::Token(Secret::new("tok-123"))).contains("tok-123"));
    }

    const CAP: Duration = Duration::from_secs(30);

    #[test]
    fn waits_follow_retry_after_then_reset() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut h = HeaderMap::new();
        assert_eq!(server_wait(&h, now, CAP), None);
        h.insert("x-ratelimit-reset", "1003".parse().unwrap());
        assert_eq!(server_wait(&h, now, CAP), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, "1".parse().unwrap());
        assert_eq!(server_wait(&h, now, CAP), Some(Duration::from_secs(1)));
    }

    #[test]
    fn untrusted_waits_never_panic_and_are_capped() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        for bad in ["nan", "NaN", "inf", "-inf", "-5", "1e30", "x"] {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, bad.parse().unwrap());
            let w = server_wait(&h, now, CAP);
            assert!(w.is_none_or(|w| w <= CAP), "{bad}: {w:?}");
            let mut h = HeaderMap::new();
            h.insert("x-ratelimit-reset", bad.parse().unwrap());
            let w = server_wait(&h, now, CAP);
            assert!(w.is_none_or(|w| w <= CAP), "{bad}: {w:?}");
        }
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset", "4102444800".parse().unwrap());
        assert_eq!(server_wait(&h, now, CAP), Some(CAP));
    }

    fn offline_client(credentials: Credentials) -> Client {
        let domain = Domain::parse("http://127.0.0.1:9").unwrap();
        Client::new(domain, credentials, ClientOptions::default()).unwrap()
    }

    #[test]
    fn errors_leave_the_client_without_secrets() {
        let secret = "s3cr\"et/+ value";
        let c = offline_client(Credentials::Client {
            client_id: "id".into(),
            client_secret: Secret::new(secret),
        });
        add_secret(&mut c.secrets.write().unwrap(), &Secret::new("tok.en-123"));
        // A token endpoint echoing the request, as JSON, as a form, and as given.
        let echoed = format!(
            r#"{{"error":"access_denied","error_description":"bad client_secret={} json={} raw={} token tok.en-123"}}"#,
            encode_query(secret),
            serde_json::to_string(secret).unwrap().replace('"', "'"),
            secret.replace('"', "'")
        );
        let body = serde_json::to_vec(&serde_json::json!({
            "error": "access_denied",
            "error_description": format!("{echoed} {secret}"),
            "message": format!("message with {}", serde_json::to_string(secret).unwrap()),
        }))
        .unwrap();
        let site = CallSite {
            method: "GET",
            path: "/api/v2/organizations".into(),
            organization: None,
        };
        let errors = [
            Error::Token {
                answer: parse_error_body(StatusCode::UNAUTHORIZED, &body),
            },
            Error::Api {
                site: site.clone(),
                answer: parse_error_body(StatusCode::BAD_REQUEST, &body),
            },
            Error::Decode {
                site: site.clone(),
                detail: format!("invalid type: string \"{secret}\""),
            },
            Error::Transport {
                site,
                detail: format!("the request failed: tok.en-123 {secret}"),
            },
            Error::TokenTransport {
                detail: String::from_utf8_lossy(&body).into_owned(),
            },
        ];
        for e in errors {
            let text = format!("{} {:?}", c.scrub(e), ());
            assert!(!text.contains(secret), "{text}");
            assert!(!text.contains("tok.en-123"), "{text}");
            assert!(!text.contains(&encode_query(secret)), "{text}");
            assert!(text.contains("[redacted]"), "{text}");
        }
    }

    #[test]
    fn a_domain_with_credentials_is_refused_without_echoing_them() {
        for bad in [
            "https://user:hunter2@travel0.us.auth0.com",
            "user:hunter2@travel0.us.auth0.com",
            "https://user:hunter2@travel0.us.auth0.com:99999999",
            "http://user:hunter2@127.0.0.1:4000",
            "https://hunter2@host/path",
        ] {
            let e = Domain::parse(bad).unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(!text.contains("hunter2"), "{text}");
            assert!(text.contains("[redacted]@"), "{text}");
            assert!(text.contains("credentials"), "{text}");
        }
    }

    #[test]
    fn ids_are_checked_before_they_go_into_a_path() {
        let c = offline_client(Credentials::Token(Secret::new("token-1234567890")));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            for bad in ["..", ".", "org_a/../b", "", "org_x%2F", "../members"] {
                let e = c.members(bad, "acme", |_| {}).await.unwrap_err();
                assert!(matches!(e, Error::InvalidId { .. }), "{bad}: {e}");
                assert!(
                    e.to_string().contains("is not an Auth0 organization id"),
                    "{e}"
                );
                let e = c.organization_by_id(bad).await.unwrap_err();
                assert!(matches!(e, Error::InvalidId { .. }), "{bad}: {e}");
                let (r, record) = c.remove_members(bad, "acme", &["auth0|1".into()]).await;
                assert!(matches!(r, Err(Error::InvalidId { .. })), "{bad}");
                assert_eq!(record.attempts, 0);
            }
            for bad in ["..", "Acme", "a/b", ""] {
                let e = c.organization_by_name(bad).await.unwrap_err();
                assert!(matches!(e, Error::InvalidId { .. }), "{bad}: {e}");
            }
        });
        // Nothing was sent (127.0.0.1:9 would have refused it anyway).
        assert_eq!(c.requests_sent(), 0);
    }

    #[test]
    fn organizations_with_a_malformed_id_do_not_decode() {
        let e = serde_json::from_str::<Organization>(r#"{"id":"..","name":"acme"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains(r#"organization id "..""#), "{e}");
        let e = serde_json::from_str::<Organization>("{\"id\":\"org_\\u001b[31m\",\"name\":\"a\"}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\\u{1b}"), "escaped: {e}");
        assert!(
            serde_json::from_str::<Organization>(r#"{"id":"org_abc123","name":"acme"}"#).is_ok()
        );
    }

    #[test]
    fn loopback_domains_are_known() {
        assert!(
            Domain::parse("http://127.0.0.1:4000")
                .unwrap()
                .is_loopback()
        );
        assert!(
            Domain::parse("http://localhost:4000")
                .unwrap()
                .is_loopback()
        );
        assert!(!Domain::parse("travel0.us.auth0.com").unwrap().is_loopback());
    }

    #[test]
    fn error_bodies_parse() {
        let a = parse_error_body(StatusCode::FORBIDDEN, br#"{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: x","errorCode":"insufficient_scope"}"#);
        assert_eq!(a.error_code.as_deref(), Some("insufficient_scope"));
        assert_eq!(a.message, "Insufficient scope, expected any of: x");
        let o = parse_error_body(
            StatusCode::UNAUTHORIZED,
            br#"{"error":"access_denied","error_description":"Unauthorized"}"#,
        );
        assert_eq!(
            (o.error_code.as_deref(), o.message.as_str()),
            (Some("access_denied"), "Unauthorized")
        );
        let n = parse_error_body(StatusCode::BAD_GATEWAY, b"<html>");
        assert_eq!(n.message, "Bad Gateway");
    }

    #[test]
    fn encoding() {
        assert_eq!(encode_path("auth0|abc"), "auth0%7Cabc");
        assert_eq!(encode_path(".."), "%2E%2E");
        assert_eq!(encode_path("."), "%2E");
        assert_eq!(encode_query("a+b@c.d"), "a%2Bb%40c.d");
    }
}
