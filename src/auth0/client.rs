//! The [`Client`]: one tenant's Management API, as the commands use it. It owns the settings,
//! the bearer token (handled in [`token`](super::token)) and the calls every endpoint goes
//! through: one call with its error wording, JSON reads with a byte cap, paging, and writes.
//! Every error it returns has gone through the secret scrubbing. The endpoints are `impl
//! Client` blocks by area: [`organizations`](super::organizations), [`members`](super::members),
//! [`roles`](super::roles) and [`reentry`](super::reentry).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::credentials::{Credentials, Secret};
use super::domain::Domain;
use super::encode;
use super::error::{CallSite, Error, TransportKind, parse_error_body};
use super::pacer::Pacer;
use super::paging::{Keyed, Refused};
use super::retry::{Answer, CallRecord, ClientOptions, Failed, Outgoing, Stats, Transport};
use super::scrub::Secrets;

/// Members per checkpoint page: the API's maximum.
pub const PAGE_SIZE: usize = 100;

/// User_ids per call that adds or removes members: the most Auth0 documents.
pub const MEMBERS_PER_CALL: usize = 10;

/// A Management API client for one tenant: the endpoints orgsync uses, over a [`Transport`]
/// that sends, retries and paces.
pub struct Client {
    pub(super) transport: Transport,
    pub(super) credentials: Credentials,
    pub(super) token: tokio::sync::Mutex<Option<Secret>>,
    /// The scopes the token endpoint said it granted (its `scope` field), when it said.
    pub(super) token_scopes: std::sync::Mutex<Option<HashSet<String>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("domain", &self.transport.domain)
            .field("credentials", &self.credentials)
            .finish()
    }
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
        let http = builder
            .build()
            .map_err(|source| Error::ClientSetup { source })?;
        let secrets = Secrets::default();
        match &credentials {
            Credentials::Token(t) => secrets.add(t),
            Credentials::Client { client_secret, .. } => secrets.add(client_secret),
        }
        Ok(Client {
            transport: Transport {
                secrets,
                http,
                pacer: Pacer::new(options.max_rps),
                slots: Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1))),
                domain,
                options,
                stats: Stats::default(),
            },
            credentials,
            token: tokio::sync::Mutex::new(None),
            token_scopes: std::sync::Mutex::new(None),
        })
    }

    pub fn domain(&self) -> &Domain {
        &self.transport.domain
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The scrubbed error: every error leaves the client through here.
    pub(super) fn scrub(&self, e: Error) -> Error {
        self.transport.secrets.scrub(e)
    }

    /// Requests sent so far, the token request and retries included.
    pub fn requests_sent(&self) -> u64 {
        self.transport.stats.requests.load(Ordering::Relaxed)
    }

    /// Requests sent again after a 429, a 5xx or a lost connection.
    pub fn retries(&self) -> u64 {
        self.transport.stats.retries.load(Ordering::Relaxed)
    }

    /// Sends one API call through the retry loop (see [`super::retry`]), telling how many
    /// attempts were sent even when it fails (for the audit log). Its errors have the secrets
    /// scrubbed.
    pub(super) async fn call(
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
        let first = self
            .send_as(&token, &method, path_and_query, body, attempts)
            .await;
        let expired = match first {
            Err(Failed::Answer(a)) if is_expired(&a) => a,
            other => return other.map_err(|f| call_error(site, f)),
        };
        if matches!(self.credentials, Credentials::Token(_)) {
            return Err(expired_error(site, &expired, true));
        }
        // A fetched token ran out mid-run: fetch a new one, once, and send again (a 401 means
        // the call was not carried out, so this holds for a DELETE too).
        tracing::info!("the access token expired; requesting a new one");
        self.renew(&token).await;
        let token = self.bearer().await?;
        match self
            .send_as(&token, &method, path_and_query, body, attempts)
            .await
        {
            Err(Failed::Answer(a)) if is_expired(&a) => Err(expired_error(site, &a, false)),
            other => other.map_err(|f| call_error(site, f)),
        }
    }

    async fn send_as(
        &self,
        token: &Secret,
        method: &Method,
        path_and_query: &str,
        body: Option<&Value>,
        attempts: &mut u32,
    ) -> Result<(Answer, CallRecord), Failed> {
        let out = Outgoing {
            method: method.clone(),
            path: path_and_query,
            body,
            bearer: Some(token),
        };
        self.transport.send(&out, attempts).await
    }

    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        site: &CallSite,
    ) -> Result<T, Error> {
        Ok(self.get_json_sized(path_and_query, site).await?.0)
    }

    /// One page of a list read over pages: the answer read (its bytes counted against `list`'s
    /// caps), the records under `key` decoded, and the rest of the answer (`next`, `total`)
    /// returned beside them. Admitting the records by id is the caller's, once it has checked
    /// what the rest says.
    pub(super) async fn list_page<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        key: &str,
        site: &CallSite,
        list: &mut Keyed,
    ) -> Result<(Vec<T>, serde_json::Map<String, Value>), Error> {
        let decode = |detail: String| Error::Decode {
            site: site.clone(),
            detail,
        };
        let (mut answer, bytes): (serde_json::Map<String, Value>, usize) =
            self.get_json_sized(path_and_query, site).await?;
        list.count_bytes(bytes, &self.transport.stats.list_bytes)
            .map_err(|refused| Error::List {
                site: site.clone(),
                refused,
            })?;
        let items = answer
            .remove(key)
            .ok_or_else(|| decode(format!("missing field `{key}`")))?;
        let items: Vec<T> =
            serde_json::from_value(items).map_err(|e| decode(format!("`{key}`: {e}")))?;
        Ok((items, answer))
    }

    /// Like [`Client::get_json`], with the answer's size in bytes (for a list's byte cap).
    pub(super) async fn get_json_sized<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        site: &CallSite,
    ) -> Result<(T, usize), Error> {
        let (a, _) = self
            .call(Method::GET, path_and_query, None, site, &mut 0)
            .await?;
        let value = serde_json::from_slice(&a.body).map_err(|e| {
            self.scrub(Error::Decode {
                site: site.clone(),
                detail: e.to_string(),
            })
        })?;
        Ok((value, a.body.len()))
    }

    /// Walks a checkpoint-paged list (`take=100`, then `from=next`), handing each page to
    /// `on_page`, which returns whether to go on. The list ends at a page shorter than `take`
    /// (the last page: live tenants fill every other page), a page without `next`, or an empty
    /// page; so a list of fewer than 100 costs one request. A `next` seen before is an error,
    /// never a loop. Every record is admitted by its id into `list` ([`Keyed`]), which counts
    /// the records and bytes against its caps: an id seen twice or a cap passed ends the walk
    /// with [`Error::List`] before `on_page` sees the page.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn paginate<T: DeserializeOwned>(
        &self,
        base: &str,
        key: &str,
        extra_query: &str,
        site: &CallSite,
        list: &mut Keyed,
        id: impl Fn(&T) -> &str,
        on_page: impl FnMut(Vec<T>) -> bool,
    ) -> Result<(), Error> {
        self.paginate_unscrubbed(base, key, extra_query, site, list, id, on_page)
            .await
            .map_err(|e| self.scrub(e))
    }

    #[allow(clippy::too_many_arguments)]
    async fn paginate_unscrubbed<T: DeserializeOwned>(
        &self,
        base: &str,
        key: &str,
        extra_query: &str,
        site: &CallSite,
        list: &mut Keyed,
        id: impl Fn(&T) -> &str,
        mut on_page: impl FnMut(Vec<T>) -> bool,
    ) -> Result<(), Error> {
        let decode = |detail: String| Error::Decode {
            site: site.clone(),
            detail,
        };
        let refused = |refused: Refused| Error::List {
            site: site.clone(),
            refused,
        };
        let mut seen_cursors = HashSet::new();
        let mut from: Option<String> = None;
        loop {
            let mut q = format!("{base}?{extra_query}take={PAGE_SIZE}");
            if let Some(c) = &from {
                q.push_str("&from=");
                q.push_str(&encode(c));
            }
            // `{"<key>": [...], "next": "..."}`, the items under a key that depends on the list.
            let (items, mut page) = self.list_page::<T>(&q, key, site, list).await?;
            let next = match page.remove("next") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s),
                Some(other) => {
                    return Err(decode(format!("`next` is not a string: {other}")));
                }
            };
            let n = items.len();
            // A full page whose cursor was seen before is a loop: said as that, before its
            // records (the same ones again) are taken for a list that moved.
            let next = next.filter(|c| n == PAGE_SIZE && !c.is_empty());
            if let Some(c) = &next
                && !seen_cursors.insert(c.clone())
            {
                return Err(Error::RepeatedCursor { site: site.clone() });
            }
            list.admit(&items, &id).map_err(refused)?;
            if !on_page(items) {
                return Ok(());
            }
            match next {
                Some(next) => from = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// One mutating call (a DELETE or a POST) through the retry loop, with the record of how it
    /// went (for the audit log) whether it succeeded or not.
    pub(super) async fn mutate(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        site: &CallSite,
        started: Instant,
    ) -> (Result<(), Error>, CallRecord) {
        let mut attempts = 0;
        match self.call(method, path, body, site, &mut attempts).await {
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

/// Whether an answer is Auth0's refusal of an expired token ("Expired token received for JSON
/// Web Token validation"; it sends no error code for it).
fn is_expired(a: &Answer) -> bool {
    a.status == reqwest::StatusCode::UNAUTHORIZED
        && parse_error_body(a.status, &a.body)
            .message
            .starts_with("Expired token")
}

fn expired_error(site: &CallSite, a: &Answer, given: bool) -> Error {
    Error::TokenExpired {
        site: site.clone(),
        answer: Box::new(parse_error_body(a.status, &a.body)),
        given,
    }
}

/// The error for how a call ended.
fn call_error(site: &CallSite, failed: Failed) -> Error {
    match failed {
        Failed::Answer(a) => api_error(site, &a),
        Failed::Lost {
            kind,
            attempts,
            cause,
        } => Error::Transport {
            site: site.clone(),
            kind,
            attempts: Some(attempts),
            source: cause,
        },
        Failed::Paced(e) => Error::RateLimitWait {
            site: site.clone(),
            detail: e.to_string(),
        },
        Failed::ShutDown => Error::Transport {
            site: site.clone(),
            kind: TransportKind::ShutDown,
            attempts: None,
            source: None,
        },
    }
}

/// The error for an answer the loop ended with.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn offline_client(credentials: Credentials) -> Client {
        let domain = Domain::parse("http://127.0.0.1:9").unwrap();
        Client::new(domain, credentials, ClientOptions::default()).unwrap()
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
                let e = c.members(bad, "acme", false, |_| {}).await.unwrap_err();
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
            // An invitation id from an answer goes into a DELETE's path only when well formed.
            for bad in [
                "uinv_../x",
                "..",
                "uinv_a%2F",
                "uinv_",
                "org_abc",
                "uinv_a/b",
            ] {
                let (r, record) = c.revoke_invitation("org_abc", "acme", bad).await;
                assert!(matches!(r, Err(Error::InvalidId { .. })), "{bad}");
                assert_eq!(record.attempts, 0);
            }
            let (r, _) = c.revoke_invitation("..", "acme", "uinv_abc").await;
            assert!(matches!(r, Err(Error::InvalidId { .. })));
            for bad in ["..", "org_a/../b"] {
                let e = c.enabled_connections(bad, "acme").await.unwrap_err();
                assert!(matches!(e, Error::InvalidId { .. }), "{bad}: {e}");
                let e = c.invitations(bad, "acme").await.unwrap_err();
                assert!(matches!(e, Error::InvalidId { .. }), "{bad}: {e}");
            }
        });
        // Nothing was sent (127.0.0.1:9 would have refused it anyway).
        assert_eq!(c.requests_sent(), 0);
    }
}
