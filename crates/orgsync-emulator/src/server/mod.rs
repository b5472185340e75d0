//! The emulator's HTTP side. This file owns the router, the state every handler shares
//! ([`Shared`]), the gate that runs around each request (added latency, injected faults, the
//! rate limits with their `x-ratelimit-*` headers, and the request log), and the few
//! response helpers the handlers share. Beside it, one file per concern: `auth` (token
//! endpoint, bearer checks), `organizations`, `members`, `users`, `admin` (the
//! `/__emulator/*` routes and test hooks), `roles` (member roles, effective roles, a role by
//! id), `faults` (latency and fault injection), `paging`
//! (query strings, offset and checkpoint pages, cursors) and `errors` (Auth0's error bodies).

mod admin;
mod auth;
mod errors;
mod faults;
mod members;
mod organizations;
pub(crate) mod paging;
mod reentry;
mod roles;
mod users;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use self::errors::ApiError;
use self::faults::{Outcome, SplitMix64};
use crate::jwt;
use crate::ratelimit::{Decision, Endpoint, Limiter, RateHeaders};
use crate::state::TenantState;
use crate::tenant::{Client, Tenant};
use crate::{Options, RequestRecord, ScriptedFault, lock, wall_now};
use orgsync_common::timefmt;

const JSON_UTF8: &str = "application/json; charset=utf-8";

/// Everything the handlers share.
pub(super) struct Shared {
    pub state: Mutex<TenantState>,
    clients: Vec<Client>,
    pub key: Vec<u8>,
    base_url: String,
    options: Options,
    limiter: Mutex<Limiter>,
    rng: Mutex<SplitMix64>,
    pub log: Mutex<Vec<RequestRecord>>,
    pub scripted: Mutex<Vec<ScriptedFault>>,
}

impl Shared {
    pub fn new(mut tenant: Tenant, options: Options, addr: SocketAddr) -> Shared {
        Shared {
            clients: std::mem::take(&mut tenant.clients),
            state: Mutex::new(TenantState::from_tenant(tenant)),
            key: jwt::random_key(),
            base_url: format!("http://{addr}"),
            limiter: Mutex::new(if options.enforce_rate_limits {
                Limiter::new(options.rate_limits)
            } else {
                Limiter::new(options.rate_limits).announce_only()
            }),
            rng: Mutex::new(SplitMix64(options.seed)),
            options,
            log: Mutex::new(Vec::new()),
            scripted: Mutex::new(Vec::new()),
        }
    }

    fn record(&self, mut rec: RequestRecord) {
        let mut log = lock(&self.log);
        rec.seq = log.len() as u64 + 1;
        log.push(rec);
    }
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route(
            "/api/v2/organizations",
            get(organizations::list_organizations),
        )
        .route(
            "/api/v2/organizations/name/{name}",
            get(organizations::get_organization_by_name),
        )
        .route(
            "/api/v2/organizations/{id}",
            get(organizations::get_organization),
        )
        .route(
            "/api/v2/organizations/{id}/members",
            get(members::list_members)
                .post(members::add_members)
                .delete(members::remove_members),
        )
        .route(
            "/api/v2/organizations/{id}/members/{user_id}/roles",
            get(roles::list_member_roles).post(roles::assign_member_roles),
        )
        .route(
            "/api/v2/organizations/{id}/members/{user_id}/effective-roles",
            get(roles::list_effective_roles),
        )
        .route("/api/v2/roles/{id}", get(roles::get_role))
        .route(
            "/api/v2/organizations/{id}/enabled_connections",
            get(reentry::list_enabled_connections),
        )
        .route(
            "/api/v2/organizations/{id}/invitations",
            get(reentry::list_invitations),
        )
        .route(
            "/api/v2/organizations/{id}/invitations/{invitation_id}",
            axum::routing::delete(reentry::revoke_invitation),
        )
        .route("/api/v2/users/{id}", get(reentry::get_user))
        .route("/api/v2/users-by-email", get(users::users_by_email))
        .route("/oauth/token", post(auth::token))
        .route(
            "/__emulator/requests",
            get(admin::requests_log).delete(admin::clear_requests_log),
        )
        .route("/__emulator/state", get(admin::state_view))
        .route("/__emulator/faults", post(admin::add_scripted_fault))
        .route("/__emulator/login", post(reentry::login))
        .route(
            "/__emulator/accept-invitation",
            post(reentry::accept_invitation),
        )
        .fallback(errors::not_found)
        .with_state(shared.clone());
    api.layer(middleware::from_fn_with_state(shared, gate))
}

/// Marks a response with what the request log should remember of it.
#[derive(Clone, Default)]
struct LogNote {
    members: Option<Vec<String>>,
    client_id: Option<String>,
}

/// Runs around every request: latency, faults, rate limits, and the request log.
async fn gate(State(sh): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let path_q = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let is_api = path.starts_with("/api/v2/") || path == "/api/v2";
    let is_token = path == "/oauth/token";
    if is_api || is_token {
        let d = sh.latency();
        if !d.is_zero() {
            // Tokio's timer rounds up to whole milliseconds (a 5 ms sleep lasts about 6); a
            // thread's sleep keeps benchmarks' latency what they set.
            let _ = tokio::task::spawn_blocking(move || std::thread::sleep(d)).await;
        }
    }
    let started = Instant::now();
    let fault = if is_api {
        sh.roll_fault(&method, &path)
    } else {
        None
    };
    let fault_name = fault.as_ref().map(|f| f.name().to_string());
    let mut drop_after = false;
    let mut resp = match fault.map(|f| f.outcome()) {
        // An injected 5xx carries the headers as any answer does (an injected 429 has none:
        // it stands for a server that sends none).
        Some(Outcome::Answer(mut r)) => {
            if r.status() != StatusCode::TOO_MANY_REQUESTS
                && let Some(h) = lock(&sh.limiter).peek(
                    rate_endpoint(&method, &path),
                    Instant::now(),
                    wall_now(),
                )
            {
                set_rate_headers(&mut r, h);
            }
            r
        }
        outcome => {
            drop_after = matches!(outcome, Some(Outcome::Drop));
            if is_api {
                let endpoint = rate_endpoint(&method, &path);
                let decision = lock(&sh.limiter).check(endpoint, Instant::now(), wall_now());
                match decision {
                    Decision::Limited { headers, global } => {
                        drop_after = false;
                        let mut r = ApiError::rate_limited(global).into_response();
                        set_rate_headers(&mut r, headers);
                        r
                    }
                    Decision::Allowed(headers) => {
                        let mut r = next.run(req).await;
                        if let Some(h) = headers {
                            set_rate_headers(&mut r, h);
                        }
                        r
                    }
                }
            } else {
                next.run(req).await
            }
        }
    };
    let note = resp
        .extensions_mut()
        .remove::<LogNote>()
        .unwrap_or_default();
    let status = if drop_after {
        0
    } else {
        resp.status().as_u16()
    };
    if is_api || is_token {
        sh.record(RequestRecord {
            seq: 0,
            method: method.to_string(),
            path: path_q,
            status,
            time: timefmt::rfc3339_millis(wall_now()),
            server_micros: started.elapsed().as_micros().try_into().unwrap_or(u64::MAX),
            members: note.members,
            client_id: note.client_id,
            fault: fault_name,
        });
    }
    if drop_after {
        resp = faults::dropped_connection();
    }
    resp
}

/// The buckets an /api/v2 request draws from: the members list's read or write bucket, the
/// invitation revocation bucket, or only the tenant-wide one.
fn rate_endpoint(method: &Method, path: &str) -> Endpoint {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", "v2", "organizations", _, "members"] if method == Method::GET => {
            Endpoint::MembersRead
        }
        ["api", "v2", "organizations", _, "members"] => Endpoint::MembersWrite,
        ["api", "v2", "organizations", _, "invitations", _] if method == Method::DELETE => {
            Endpoint::Invitations
        }
        _ => Endpoint::Other,
    }
}

fn set_rate_headers(resp: &mut Response, h: RateHeaders) {
    let headers = resp.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(h.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(h.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(h.reset));
}

fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, JSON_UTF8)], bytes).into_response()
}

fn no_content(note: LogNote) -> Response {
    let mut r = (StatusCode::NO_CONTENT, [(header::CONTENT_TYPE, JSON_UTF8)]).into_response();
    r.extensions_mut().insert(note);
    r
}

/// Notes for the request log which client's token (or credentials) the answer served.
fn with_client(mut r: Response, client_id: &str) -> Response {
    r.extensions_mut().insert(LogNote {
        members: None,
        client_id: Some(client_id.to_string()),
    });
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_draw_from_their_endpoint_bucket() {
        let org = "/api/v2/organizations/org_1";
        for (method, path, endpoint) in [
            (Method::GET, format!("{org}/members"), Endpoint::MembersRead),
            (
                Method::DELETE,
                format!("{org}/members"),
                Endpoint::MembersWrite,
            ),
            (
                Method::POST,
                format!("{org}/members"),
                Endpoint::MembersWrite,
            ),
            (
                Method::DELETE,
                format!("{org}/invitations/uinv_1"),
                Endpoint::Invitations,
            ),
            (
                Method::GET,
                format!("{org}/invitations/uinv_1"),
                Endpoint::Other,
            ),
            (Method::GET, format!("{org}/invitations"), Endpoint::Other),
            (
                Method::GET,
                format!("{org}/enabled_connections"),
                Endpoint::Other,
            ),
            (
                Method::GET,
                format!("{org}/members/auth0%7C1/roles"),
                Endpoint::Other,
            ),
            (Method::GET, org.to_string(), Endpoint::Other),
        ] {
            assert_eq!(rate_endpoint(&method, &path), endpoint, "{method} {path}");
        }
    }
}
