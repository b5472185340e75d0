//! The emulator's HTTP side: routing, the request gate (latency, faults, rate limits, the
//! request log), token checks, and one handler per endpoint.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{
    STANDARD_NO_PAD_INDIFFERENT, URL_SAFE_NO_PAD, URL_SAFE_NO_PAD_INDIFFERENT,
};
use serde::Serialize;
use serde_json::json;

use super::jwt::{self, Claims, JwtError};
use super::ratelimit::{Decision, Endpoint, Limiter, RateHeaders};
use super::state::{Membership, TenantState};
use super::tenant::{Client, Role, Tenant};
use super::{FaultKind, Options, OrgView, RequestRecord, ScriptedFault, StateView, lock, wall_now};
use orgsync_common::timefmt;

const JSON_UTF8: &str = "application/json; charset=utf-8";
/// Auth0 refuses offset paging past this many records.
const OFFSET_CAP: u64 = 1000;
/// Checkpoint cursors encode a join time; the emulator's clock for joins starts here
/// (2026-01-01T00:00:00Z) and advances one millisecond per join.
const JOIN_EPOCH_MICROS: u64 = 1_767_225_600_000_000;

/// Everything the handlers share.
pub(super) struct Shared {
    pub state: Mutex<TenantState>,
    clients: Vec<Client>,
    pub key: Vec<u8>,
    base_url: String,
    options: Options,
    limiter: Mutex<Limiter>,
    rng: Mutex<SplitMix64>,
    pub log: Mutex<Vec<super::RequestRecord>>,
    pub scripted: Mutex<Vec<ScriptedFault>>,
}

impl Shared {
    pub fn new(mut tenant: Tenant, options: Options, addr: SocketAddr) -> Shared {
        Shared {
            clients: std::mem::take(&mut tenant.clients),
            state: Mutex::new(TenantState::from_tenant(tenant)),
            key: jwt::random_key(),
            base_url: format!("http://{addr}"),
            limiter: Mutex::new(Limiter::new(options.rate_limits)),
            rng: Mutex::new(SplitMix64(options.seed)),
            options,
            log: Mutex::new(Vec::new()),
            scripted: Mutex::new(Vec::new()),
        }
    }

    pub fn state_view(&self) -> StateView {
        let mut st = lock(&self.state);
        let now = Instant::now();
        let mut organizations = Vec::with_capacity(st.orgs.len());
        for i in 0..st.orgs.len() {
            st.orgs[i].settle(now);
            let o = &st.orgs[i];
            let uid = |m: &Membership| st.users[m.user as usize].user_id.clone();
            organizations.push(OrgView {
                id: o.id.clone(),
                name: o.name.clone(),
                members: o.current_members().map(uid).collect(),
                pending_removal: o.pending_removals().map(uid).collect(),
            });
        }
        StateView { organizations }
    }

    pub fn add_members(&self, org_id: &str, ids: &[String]) {
        let mut st = lock(&self.state);
        if let Some(&i) = st.org_by_id.get(org_id) {
            st.add_members(i, ids, Instant::now());
        }
    }

    pub fn remove_members(&self, org_id: &str, ids: &[String]) {
        let mut st = lock(&self.state);
        if let Some(&i) = st.org_by_id.get(org_id) {
            st.remove_members(i, ids, Instant::now(), Duration::ZERO);
        }
    }

    fn audience(&self) -> String {
        format!("{}/api/v2/", self.base_url)
    }

    pub fn token_for(&self, client_id: &str) -> Option<String> {
        let client = self.clients.iter().find(|c| c.client_id == client_id)?;
        Some(self.issue(client).0)
    }

    fn issue(&self, client: &Client) -> (String, Claims) {
        let now = epoch_secs();
        let claims = Claims {
            iss: format!("{}/", self.base_url),
            sub: format!("{}@clients", client.client_id),
            aud: self.audience(),
            iat: now,
            exp: now + self.options.token_ttl.as_secs(),
            azp: client.client_id.clone(),
            scope: client.scopes.join(" "),
            gty: "client-credentials".into(),
        };
        (jwt::sign(&claims, &self.key), claims)
    }

    /// Checks the bearer token and the scope an endpoint needs, as Auth0 does.
    fn authorize(&self, headers: &HeaderMap, scopes: &[&str]) -> Result<Claims, ApiError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("Invalid token"))?;
        let claims = jwt::verify(token, &self.key).map_err(|e| match e {
            JwtError::Malformed => ApiError::unauthorized("Invalid token"),
            JwtError::BadSignature => {
                ApiError::unauthorized("Invalid signature received for JSON Web Token validation")
            }
        })?;
        if claims.aud != self.audience() {
            return Err(ApiError::unauthorized("Invalid token"));
        }
        if claims.exp <= epoch_secs() {
            return Err(ApiError::unauthorized(
                "Expired token received for JSON Web Token validation",
            ));
        }
        if let Some(c) = self.clients.iter().find(|c| c.client_id == claims.azp)
            && !c.global
        {
            return Err(ApiError::unauthorized("Client is not global"));
        }
        let granted: Vec<&str> = claims.scope.split(' ').collect();
        for needed in scopes {
            if !granted.contains(needed) {
                return Err(ApiError::insufficient_scope(needed));
            }
        }
        Ok(claims)
    }

    /// Draws the fault (if any) for one /api/v2 request: scripted faults first, then the
    /// seeded random ones.
    fn roll_fault(&self, method: &Method, path: &str) -> Option<Fault> {
        {
            let mut scripted = lock(&self.scripted);
            if let Some(pos) = scripted.iter().position(|f| {
                f.times > 0 && f.method.eq_ignore_ascii_case(method.as_str()) && f.path == path
            }) {
                let f = &mut scripted[pos];
                f.times -= 1;
                let status = f.status;
                if f.times == 0 {
                    scripted.remove(pos);
                }
                return Some(Fault::Scripted(status));
            }
        }
        if self.options.fault_rate <= 0.0 || self.options.fault_kinds.is_empty() {
            return None;
        }
        let mut rng = lock(&self.rng);
        if rng.next_f64() >= self.options.fault_rate {
            return None;
        }
        let kinds = &self.options.fault_kinds;
        Some(Fault::Random(
            kinds[(rng.next_u64() % kinds.len() as u64) as usize],
        ))
    }

    fn latency(&self) -> Duration {
        let jitter = self.options.latency_jitter;
        if jitter.is_zero() {
            return self.options.latency;
        }
        let r = lock(&self.rng).next_f64();
        self.options.latency + jitter.mul_f64(r)
    }

    fn record(&self, mut rec: RequestRecord) {
        let mut log = lock(&self.log);
        rec.seq = log.len() as u64 + 1;
        log.push(rec);
    }
}

enum Fault {
    Random(FaultKind),
    Scripted(u16),
}

/// A small seeded generator (SplitMix64): repeatable fault and jitter sequences.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn epoch_secs() -> u64 {
    timefmt::unix_micros(wall_now()) / 1_000_000
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/api/v2/organizations", get(list_organizations))
        .route(
            "/api/v2/organizations/name/{name}",
            get(get_organization_by_name),
        )
        .route("/api/v2/organizations/{id}", get(get_organization))
        .route(
            "/api/v2/organizations/{id}/members",
            get(list_members).post(add_members).delete(remove_members),
        )
        .route("/api/v2/users-by-email", get(users_by_email))
        .route("/oauth/token", post(token))
        .route(
            "/__emulator/requests",
            get(requests_log).delete(clear_requests_log),
        )
        .route("/__emulator/state", get(state_view))
        .route("/__emulator/faults", post(add_scripted_fault))
        .fallback(not_found)
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
    let mut fault_name = None;
    let mut drop_after = false;
    let mut resp = match fault {
        Some(Fault::Random(FaultKind::Status500)) => {
            fault_name = Some("500".to_string());
            ApiError::server(StatusCode::INTERNAL_SERVER_ERROR).into_response()
        }
        Some(Fault::Random(FaultKind::Status503)) => {
            fault_name = Some("503".to_string());
            ApiError::server(StatusCode::SERVICE_UNAVAILABLE).into_response()
        }
        Some(Fault::Random(FaultKind::Status429)) => {
            fault_name = Some("429".to_string());
            ApiError::rate_limited(true).into_response()
        }
        Some(Fault::Scripted(status)) if status != 0 => {
            fault_name = Some("scripted".to_string());
            match StatusCode::from_u16(status) {
                Ok(StatusCode::TOO_MANY_REQUESTS) => ApiError::rate_limited(true).into_response(),
                Ok(s) => ApiError::server(s).into_response(),
                Err(_) => ApiError::server(StatusCode::INTERNAL_SERVER_ERROR).into_response(),
            }
        }
        other => {
            if matches!(
                other,
                Some(Fault::Random(FaultKind::Drop)) | Some(Fault::Scripted(0))
            ) {
                fault_name = Some("drop".to_string());
                drop_after = true;
            }
            if is_api {
                let endpoint =
                    if path.ends_with("/members") && path.starts_with("/api/v2/organizations/") {
                        if method == Method::GET {
                            Endpoint::MembersRead
                        } else {
                            Endpoint::MembersWrite
                        }
                    } else {
                        Endpoint::Other
                    };
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
        // Headers may go out; the body never completes, so the client sees a broken
        // connection after the request was carried out.
        resp = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, JSON_UTF8)
            .body(Body::new(BrokenBody))
            .unwrap_or_default();
    }
    resp
}

fn set_rate_headers(resp: &mut Response, h: RateHeaders) {
    let headers = resp.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(h.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(h.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(h.reset));
}

/// A body that fails at once: hyper aborts the connection mid-answer.
struct BrokenBody;

impl http_body::Body for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "emulated connection drop",
        ))))
    }
}

/// An Auth0 error answer: `{"statusCode","error","message","errorCode"?,"attributes"?}`.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    message: String,
    error_code: Option<&'static str>,
    attributes: bool,
}

impl ApiError {
    fn new(
        status: StatusCode,
        message: impl Into<String>,
        error_code: Option<&'static str>,
    ) -> Self {
        ApiError {
            status,
            message: message.into(),
            error_code,
            attributes: false,
        }
    }

    fn unauthorized(message: &str) -> Self {
        ApiError {
            attributes: true,
            ..ApiError::new(StatusCode::UNAUTHORIZED, message, None)
        }
    }

    fn insufficient_scope(scope: &str) -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            format!("Insufficient scope, expected any of: {scope}"),
            Some("insufficient_scope"),
        )
    }

    fn org_not_found() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "No organization found by that id or name",
            None,
        )
    }

    fn bad_query(message: String) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            message,
            Some("invalid_query_string"),
        )
    }

    fn bad_body(message: String) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message, Some("invalid_body"))
    }

    fn rate_limited(global: bool) -> Self {
        let message = if global {
            "Global limit has been reached"
        } else {
            "Too many requests to this endpoint"
        };
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            message,
            Some("too_many_requests"),
        )
    }

    fn server(status: StatusCode) -> Self {
        let message = match status {
            StatusCode::SERVICE_UNAVAILABLE => "Service Unavailable",
            StatusCode::INTERNAL_SERVER_ERROR => "Internal Server Error",
            s => s.canonical_reason().unwrap_or("Error"),
        };
        ApiError::new(status, message, None)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::Map::new();
        body.insert("statusCode".into(), json!(self.status.as_u16()));
        body.insert(
            "error".into(),
            json!(self.status.canonical_reason().unwrap_or("Error")),
        );
        body.insert("message".into(), json!(self.message));
        if let Some(code) = self.error_code {
            body.insert("errorCode".into(), json!(code));
        }
        if self.attributes {
            body.insert("attributes".into(), json!({ "error": self.message }));
        }
        json_response(self.status, &serde_json::Value::Object(body))
    }
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

fn with_note(mut r: Response, claims: &Claims) -> Response {
    r.extensions_mut().insert(LogNote {
        members: None,
        client_id: Some(claims.azp.clone()),
    });
    r
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "Not Found", None).into_response()
}

// ---------------------------------------------------------------------------------------
// Query strings

/// Parsed and range-checked paging parameters.
#[derive(Debug, Default)]
struct Paging {
    page: Option<u64>,
    per_page: Option<u64>,
    include_totals: bool,
    from: Option<String>,
    take: Option<u64>,
    fields: Option<String>,
    include_fields: bool,
}

const PARAM_DOCS: &[(&str, &str)] = &[
    (
        "page",
        "Page index of the results to return. First page is 0.",
    ),
    ("per_page", "Number of results per page. Defaults to 50."),
    (
        "include_totals",
        "When true, return results inside an object that also contains the start and limit.  When false (default), a direct array of results is returned.",
    ),
    ("from", "Optional Id from which to start selection."),
    ("take", "Number of results per page. Defaults to 50."),
    (
        "fields",
        "Comma-separated list of fields to include or exclude (based on value provided for include_fields) in the result. Leave empty to retrieve all fields.",
    ),
    (
        "include_fields",
        "Whether specified fields are to be included (true) or excluded (false). Defaults to true.",
    ),
];

fn query_error(param: &str, what: &str) -> ApiError {
    let doc = PARAM_DOCS
        .iter()
        .find(|(p, _)| *p == param)
        .map(|(_, d)| *d)
        .unwrap_or("");
    ApiError::bad_query(format!(
        "Query validation error: '{what}' on property {param} ({doc})."
    ))
}

fn parse_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    match raw {
        None | Some("") => Ok(Vec::new()),
        Some(q) => serde_urlencoded::from_str::<Vec<(String, String)>>(q).map_err(|_| {
            ApiError::bad_query("Query validation error: 'Invalid query string'.".into())
        }),
    }
}

fn int_param(name: &str, value: &str, min: u64, max: u64) -> Result<u64, ApiError> {
    let n: i64 = value
        .parse()
        .map_err(|_| query_error(name, "Expected type integer but found type string"))?;
    if n < min as i64 {
        return Err(query_error(
            name,
            &format!("Value {n} is less than minimum of {min}"),
        ));
    }
    if n > max as i64 {
        return Err(query_error(
            name,
            &format!("Value {n} exceeds maximum of {max}"),
        ));
    }
    Ok(n as u64)
}

fn bool_param(name: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(query_error(
            name,
            "Expected type boolean but found type string",
        )),
    }
}

/// Parses the paging parameters that list endpoints share; `allow_fields` for members.
fn parse_paging(raw: Option<&str>, allow_fields: bool) -> Result<Paging, ApiError> {
    let mut p = Paging {
        include_fields: true,
        ..Paging::default()
    };
    for (k, v) in parse_pairs(raw)? {
        match k.as_str() {
            "page" => p.page = Some(int_param("page", &v, 0, 1000)?),
            "per_page" => p.per_page = Some(int_param("per_page", &v, 1, 100)?),
            "take" => p.take = Some(int_param("take", &v, 1, 100)?),
            "include_totals" => p.include_totals = bool_param("include_totals", &v)?,
            "from" => p.from = Some(v),
            "fields" if allow_fields => p.fields = Some(v),
            "include_fields" if allow_fields => {
                p.include_fields = bool_param("include_fields", &v)?
            }
            other => {
                return Err(ApiError::bad_query(format!(
                    "Query validation error: 'Additional properties not allowed: {other}'."
                )));
            }
        }
    }
    Ok(p)
}

/// How an Auth0 list endpoint answers: offset pages (a bare array, or with `include_totals`
/// an object with `start`, `limit` and `total`), or checkpoint pages.
enum Shape {
    /// No `from`/`take`: `limit` records from `start`; `totals` for `include_totals=true`.
    Offset {
        start: u64,
        limit: u64,
        totals: bool,
    },
    /// `from` or `take` present: checkpoint paging; `per_page` is ignored.
    Checkpoint { after: Option<u64>, take: u64 },
}

fn shape(p: &Paging) -> Result<Shape, ApiError> {
    if p.from.is_some() || p.take.is_some() {
        let after = match &p.from {
            Some(c) if !c.is_empty() => {
                Some(decode_cursor(c).ok_or_else(|| query_error("from", "Invalid checkpoint"))?)
            }
            _ => None,
        };
        return Ok(Shape::Checkpoint {
            after,
            take: p.take.unwrap_or(50),
        });
    }
    let limit = p.per_page.unwrap_or(50);
    let page = p.page.unwrap_or(0);
    let start = page * limit;
    if start >= OFFSET_CAP {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "Requesting page {page} exceeds the allowed maximum of 1000 records. To fetch results beyond 1000, use the checkpoint pagination method."
            ),
            Some("invalid_paging"),
        ));
    }
    // A page straddling the cap is cut at record 1000 (an assumption).
    let limit_in_cap = limit.min(OFFSET_CAP - start);
    Ok(Shape::Offset {
        start,
        limit: limit_in_cap,
        totals: p.include_totals,
    })
}

/// Cursor for the entry joined at `seq` with `id`: base64 of `"<joined-at>UTC,<id>"`, the
/// format live tenants use today.
fn encode_cursor(seq: u64, id: &str) -> String {
    let t = timefmt::Utc::from_unix_micros(JOIN_EPOCH_MICROS + seq * 1000);
    let text = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}UTC,{id}",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.micros
    );
    URL_SAFE_NO_PAD.encode(text)
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD_INDIFFERENT
        .decode(cursor)
        .or_else(|_| STANDARD_NO_PAD_INDIFFERENT.decode(cursor))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (when, id) = text.split_once("UTC,")?;
    if id.is_empty() {
        return None;
    }
    let micros = parse_timestamp_micros(when)?;
    let since = micros.checked_sub(JOIN_EPOCH_MICROS)?;
    Some(since / 1000)
}

/// Parses `YYYY-MM-DD HH:MM:SS.ffffff` to microseconds since the epoch.
fn parse_timestamp_micros(s: &str) -> Option<u64> {
    let (date, time) = s.split_once(' ')?;
    let mut d = date.splitn(3, '-');
    let (y, m, day): (i64, u32, u32) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':');
    let (hh, mm, ss): (u64, u64, u64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || hh > 23
        || mm > 59
        || ss > 60
        || frac.len() > 6
    {
        return None;
    }
    let frac_micros: u64 = format!("{frac:0<6}").parse().ok()?;
    let days = timefmt::days_from_civil(y, m, day);
    let secs = u64::try_from(days).ok()? * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(secs * 1_000_000 + frac_micros)
}

// ---------------------------------------------------------------------------------------
// Token endpoint

#[derive(serde::Deserialize, Default)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    audience: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

async fn token(State(sh): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let parsed: Option<TokenRequest> = if is_json {
        serde_json::from_slice(&body).ok()
    } else {
        serde_urlencoded::from_bytes(&body).ok()
    };
    let Some(req) = parsed else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid request body",
        );
    };
    match req.grant_type.as_deref() {
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing required parameter: grant_type",
            );
        }
        Some("client_credentials") => {}
        Some(other) => {
            return oauth_error(
                StatusCode::FORBIDDEN,
                "unsupported_grant_type",
                &format!("Unsupported grant type: {other}"),
            );
        }
    }
    let client = sh.clients.iter().find(|c| {
        Some(c.client_id.as_str()) == req.client_id.as_deref()
            && Some(c.client_secret.as_str()) == req.client_secret.as_deref()
    });
    let Some(client) = client else {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    };
    match req.audience.as_deref() {
        None => {
            return oauth_error(
                StatusCode::FORBIDDEN,
                "access_denied",
                "No audience parameter was provided, and no default audience has been configured",
            );
        }
        Some(aud) if aud.trim_end_matches('/') != sh.audience().trim_end_matches('/') => {
            return oauth_error(
                StatusCode::FORBIDDEN,
                "access_denied",
                &format!("Service not enabled within domain: {aud}"),
            );
        }
        Some(_) => {}
    }
    let (token, claims) = sh.issue(client);
    let mut r = json_response(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "expires_in": sh.options.token_ttl.as_secs(),
            "scope": claims.scope,
            "token_type": "Bearer",
        }),
    );
    r.extensions_mut().insert(LogNote {
        members: None,
        client_id: Some(client.client_id.clone()),
    });
    r
}

// ---------------------------------------------------------------------------------------
// Organizations

#[derive(Serialize)]
struct OrgOut<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    branding: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a serde_json::Value>,
}

fn org_out(o: &super::state::Org) -> OrgOut<'_> {
    OrgOut {
        id: &o.id,
        name: &o.name,
        display_name: o.display_name.as_deref(),
        branding: o.branding.as_ref(),
        metadata: o.metadata.as_ref(),
    }
}

async fn list_organizations(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let claims = sh.authorize(&headers, &["read:organizations"])?;
    let paging = parse_paging(q.as_deref(), false)?;
    let st = lock(&sh.state);
    let resp = match shape(&paging)? {
        Shape::Offset {
            start,
            limit,
            totals,
        } => {
            let page: Vec<OrgOut> = st
                .orgs
                .iter()
                .skip(start as usize)
                .take(limit as usize)
                .map(org_out)
                .collect();
            if !totals {
                return Ok(with_note(json_response(StatusCode::OK, &page), &claims));
            }
            json_response(
                StatusCode::OK,
                &json!({ "organizations": page, "start": start, "limit": limit, "total": st.orgs.len() }),
            )
        }
        Shape::Checkpoint { after, take } => {
            // Organizations are listed in creation order (ascending `seq`).
            let first = after.map_or(0, |s| st.orgs.partition_point(|o| o.seq <= s));
            let page: Vec<OrgOut> = st
                .orgs
                .iter()
                .skip(first)
                .take(take as usize)
                .map(org_out)
                .collect();
            let last = first + page.len();
            if page.is_empty() || last >= st.orgs.len() {
                json_response(StatusCode::OK, &json!({ "organizations": page }))
            } else {
                let o = &st.orgs[last - 1];
                json_response(
                    StatusCode::OK,
                    &json!({ "organizations": page, "next": encode_cursor(o.seq, &o.id) }),
                )
            }
        }
    };
    Ok(with_note(resp, &claims))
}

async fn get_organization(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    one_organization(&sh, &headers, |st| st.org_by_id.get(&id).copied())
}

async fn get_organization_by_name(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    one_organization(&sh, &headers, |st| st.org_by_name.get(&name).copied())
}

/// One organization, found by `find`, or Auth0's 404.
fn one_organization(
    sh: &Shared,
    headers: &HeaderMap,
    find: impl FnOnce(&TenantState) -> Option<usize>,
) -> Result<Response, ApiError> {
    let claims = sh.authorize(headers, &["read:organizations"])?;
    let st = lock(&sh.state);
    let i = find(&st).ok_or_else(ApiError::org_not_found)?;
    Ok(with_note(
        json_response(StatusCode::OK, &org_out(&st.orgs[i])),
        &claims,
    ))
}

// ---------------------------------------------------------------------------------------
// Members

/// Which member fields an answer carries.
#[derive(Clone, Copy)]
struct Projection {
    user_id: bool,
    email: bool,
    picture: bool,
    name: bool,
    roles: bool,
}

impl Projection {
    fn from_paging(p: &Paging) -> Projection {
        let all = Projection {
            user_id: true,
            email: true,
            picture: true,
            name: true,
            roles: false,
        };
        let Some(fields) = p.fields.as_deref().filter(|f| !f.trim().is_empty()) else {
            return all;
        };
        let listed: Vec<&str> = fields.split(',').map(str::trim).collect();
        let has = |f: &str| listed.contains(&f);
        if p.include_fields {
            Projection {
                user_id: has("user_id"),
                email: has("email"),
                picture: has("picture"),
                name: has("name"),
                roles: has("roles"),
            }
        } else {
            Projection {
                user_id: !has("user_id"),
                email: !has("email"),
                picture: !has("picture"),
                name: !has("name"),
                roles: false,
            }
        }
    }
}

#[derive(Serialize)]
struct MemberOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    picture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<&'a [Role]>,
}

fn member_out<'a>(st: &'a TenantState, m: &'a Membership, p: Projection) -> MemberOut<'a> {
    let u = &st.users[m.user as usize];
    MemberOut {
        user_id: p.user_id.then_some(u.user_id.as_str()),
        email: if p.email { u.email.as_deref() } else { None },
        picture: p.picture.then(|| {
            picture_url(
                u.email
                    .as_deref()
                    .or(u.name.as_deref())
                    .unwrap_or(&u.user_id),
            )
        }),
        name: if p.name {
            u.name.as_deref().or(u.email.as_deref())
        } else {
            None
        },
        roles: p.roles.then(|| m.roles.as_deref().unwrap_or(&[])),
    }
}

/// Auth0's default avatar: a CDN image named by the user's initials.
fn picture_url(seed: &str) -> String {
    let initials: String = seed
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .take(2)
        .collect::<String>()
        .to_lowercase();
    format!(
        "https://cdn.auth0.com/avatars/{}.png",
        if initials.is_empty() { "na" } else { &initials }
    )
}

async fn list_members(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let paging = parse_paging(q.as_deref(), true)?;
    let projection = Projection::from_paging(&paging);
    let mut scopes = vec!["read:organization_members"];
    if projection.roles {
        scopes.push("read:organization_member_roles");
    }
    let claims = sh.authorize(&headers, &scopes)?;
    let shape = shape(&paging)?;
    let mut st = lock(&sh.state);
    let now = Instant::now();
    let idx = *st.org_by_id.get(&id).ok_or_else(ApiError::org_not_found)?;
    st.orgs[idx].settle(now);
    let st = &*st;
    let org = &st.orgs[idx];
    let resp = match shape {
        Shape::Offset {
            start,
            limit,
            totals,
        } => {
            let page: Vec<MemberOut> = org
                .listed_after(None)
                .skip(start as usize)
                .take(limit as usize)
                .map(|(_, m)| member_out(st, m, projection))
                .collect();
            if !totals {
                return Ok(with_note(json_response(StatusCode::OK, &page), &claims));
            }
            json_response(
                StatusCode::OK,
                &json!({ "members": page, "start": start, "limit": limit, "total": org.listed_len() }),
            )
        }
        Shape::Checkpoint { after, take } => {
            let mut last = None;
            let page: Vec<MemberOut> = org
                .listed_after(after)
                .take(take as usize)
                .map(|(seq, m)| {
                    last = Some((*seq, m.user));
                    member_out(st, m, projection)
                })
                .collect();
            match last {
                // `next` is on every non-empty page, even a short last one [real].
                Some((seq, user)) => json_response(
                    StatusCode::OK,
                    &json!({ "members": page, "next": encode_cursor(seq, &st.users[user as usize].user_id) }),
                ),
                None => json_response(StatusCode::OK, &json!({ "members": [] })),
            }
        }
    };
    Ok(with_note(resp, &claims))
}

/// Validates a `{"members":[…]}` body as Auth0 does.
fn parse_members_body(body: &[u8], verb: &str) -> Result<Vec<String>, ApiError> {
    let doc = format!("List of user IDs to {verb} the organization.");
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_body("Invalid request payload JSON format".into()))?;
    let obj = value.as_object().ok_or_else(|| {
        ApiError::bad_body(format!(
            "Payload validation error: 'Expected type object but found type {}'.",
            json_type(&value)
        ))
    })?;
    if let Some(extra) = obj.keys().find(|k| *k != "members") {
        return Err(ApiError::bad_body(format!(
            "Payload validation error: 'Additional properties not allowed: {extra}'."
        )));
    }
    let members = obj.get("members").ok_or_else(|| {
        ApiError::bad_body("Payload validation error: 'Missing required property: members'.".into())
    })?;
    let list = members.as_array().ok_or_else(|| {
        ApiError::bad_body(format!(
            "Payload validation error: 'Expected type array but found type {}' on property members ({doc}).",
            json_type(members)
        ))
    })?;
    if list.is_empty() {
        return Err(ApiError::bad_body(format!(
            "Payload validation error: 'Too few items (0), minimum 1' on property members ({doc})."
        )));
    }
    if list.len() > 10 {
        return Err(ApiError::bad_body(format!(
            "Payload validation error: 'Too many items ({}), maximum 10' on property members ({doc}).",
            list.len()
        )));
    }
    let mut ids = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        match item.as_str() {
            Some(s) if !s.is_empty() => ids.push(s.to_string()),
            Some(_) => {
                return Err(ApiError::bad_body(format!(
                    "Payload validation error: 'String is too short (0 chars), minimum 1' on property members[{i}]."
                )));
            }
            None => {
                return Err(ApiError::bad_body(format!(
                    "Payload validation error: 'Expected type string but found type {}' on property members[{i}].",
                    json_type(item)
                )));
            }
        }
    }
    Ok(ids)
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

async fn add_members(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    change_members(&sh, &headers, &id, &body, Change::Add)
}

async fn remove_members(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    change_members(&sh, &headers, &id, &body, Change::Remove)
}

#[derive(Clone, Copy)]
enum Change {
    Add,
    Remove,
}

/// POST or DELETE `/organizations/{id}/members`: scope, body rules, 404, then the change.
fn change_members(
    sh: &Shared,
    headers: &HeaderMap,
    id: &str,
    body: &[u8],
    change: Change,
) -> Result<Response, ApiError> {
    let (scope, verb) = match change {
        Change::Add => ("create:organization_members", "add to"),
        Change::Remove => ("delete:organization_members", "remove from"),
    };
    let claims = sh.authorize(headers, &[scope])?;
    let ids = parse_members_body(body, verb)?;
    let mut st = lock(&sh.state);
    let idx = *st.org_by_id.get(id).ok_or_else(ApiError::org_not_found)?;
    match change {
        Change::Add => st.add_members(idx, &ids, Instant::now()),
        Change::Remove => st.remove_members(idx, &ids, Instant::now(), sh.options.removal_delay),
    }
    Ok(no_content(LogNote {
        members: Some(ids),
        client_id: Some(claims.azp),
    }))
}

// ---------------------------------------------------------------------------------------
// Users

async fn users_by_email(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let claims = sh.authorize(&headers, &["read:users"])?;
    let mut email = None;
    for (k, v) in parse_pairs(q.as_deref())? {
        match k.as_str() {
            "email" => email = Some(v),
            "fields" | "include_fields" => {}
            other => {
                return Err(ApiError::bad_query(format!(
                    "Query validation error: 'Additional properties not allowed: {other}'."
                )));
            }
        }
    }
    let email = email.ok_or_else(|| {
        ApiError::bad_query("Query validation error: 'Missing required property: email'.".into())
    })?;
    let st = lock(&sh.state);
    // Matching is case-sensitive, as Auth0 documents for this endpoint.
    let users: Vec<serde_json::Value> = st
        .by_email
        .get(&email)
        .map(|ids| {
            ids.iter()
                .map(|&i| user_json(&st.users[i as usize]))
                .collect()
        })
        .unwrap_or_default();
    Ok(with_note(json_response(StatusCode::OK, &users), &claims))
}

fn user_json(u: &super::state::User) -> serde_json::Value {
    let (provider, rest) = u.user_id.split_once('|').unwrap_or(("auth0", &u.user_id));
    let (connection, id) = match provider {
        "auth0" => ("Username-Password-Authentication", rest),
        "samlp" | "waad" | "adfs" | "oidc" | "okta" => {
            rest.split_once('|').unwrap_or((provider, rest))
        }
        p => (p, rest),
    };
    json!({
        "created_at": "2026-01-01T00:00:00.000Z",
        "email": u.email,
        "email_verified": true,
        "identities": [{
            "connection": connection,
            "user_id": id,
            "provider": provider,
            "isSocial": !matches!(provider, "auth0" | "samlp" | "waad" | "adfs" | "oidc" | "okta"),
        }],
        "name": u.name.as_deref().or(u.email.as_deref()).unwrap_or(&u.user_id),
        "picture": picture_url(u.email.as_deref().unwrap_or(&u.user_id)),
        "updated_at": "2026-01-01T00:00:00.000Z",
        "user_id": u.user_id,
    })
}

// ---------------------------------------------------------------------------------------
// Test endpoints, outside /api/v2

async fn requests_log(State(sh): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &*lock(&sh.log))
}

async fn clear_requests_log(State(sh): State<Arc<Shared>>) -> Response {
    lock(&sh.log).clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn state_view(State(sh): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &sh.state_view())
}

async fn add_scripted_fault(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<ScriptedFault>(&body) {
        Ok(f) => {
            lock(&sh.scripted).push(f);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("bad fault: {e}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_looks_like_auth0s() {
        let c = encode_cursor(42, "auth0|6410784d38b3e02b77fdd660");
        assert_eq!(decode_cursor(&c), Some(42));
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(&c).unwrap()).unwrap();
        assert_eq!(
            text,
            "2026-01-01 00:00:00.042000UTC,auth0|6410784d38b3e02b77fdd660"
        );
        // A cursor recorded from a live tenant decodes (it predates every emulator join).
        assert_eq!(
            decode_cursor(
                "MjAyMy0wMy0xNCAxMzozNjoxMy44MjkwMDBVVEMsYXV0aDB8NjQxMDc4NGQzOGIzZTAyYjc3ZmRkNjYw"
            ),
            None
        );
        assert_eq!(decode_cursor("not base64 !"), None);
        assert_eq!(
            decode_cursor(&URL_SAFE_NO_PAD.encode("2026-01-01 00:00:00.001000UTC,")),
            None
        );
    }

    #[test]
    fn offset_paging_is_capped_at_1000_records() {
        let p = |q: &str| shape(&parse_paging(Some(q), true).unwrap());
        assert!(matches!(
            p("page=9&per_page=100"),
            Ok(Shape::Offset {
                start: 900,
                limit: 100,
                totals: false
            })
        ));
        let err = p("page=10&per_page=100").err().unwrap();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.error_code, Some("invalid_paging"));
        assert!(
            err.message
                .starts_with("Requesting page 10 exceeds the allowed maximum of 1000 records.")
        );
        // Straddling the cap: cut at 1000.
        assert!(matches!(
            p("page=33&per_page=30&include_totals=true"),
            Ok(Shape::Offset {
                start: 990,
                limit: 10,
                totals: true
            })
        ));
        // per_page is ignored once take/from is present.
        assert!(matches!(
            p("per_page=5&take=7"),
            Ok(Shape::Checkpoint {
                after: None,
                take: 7
            })
        ));
    }

    #[test]
    fn query_ranges_are_checked() {
        for q in [
            "take=0",
            "take=101",
            "per_page=0",
            "per_page=101",
            "page=-1",
            "page=1001",
            "take=abc",
            "include_totals=yes",
            "bogus=1",
        ] {
            let err = parse_paging(Some(q), true)
                .err()
                .unwrap_or_else(|| panic!("{q} accepted"));
            assert_eq!(err.error_code, Some("invalid_query_string"), "{q}");
        }
    }

    #[test]
    fn members_body_rules() {
        assert_eq!(
            parse_members_body(br#"{"members":["a|1"]}"#, "remove from").unwrap(),
            ["a|1"]
        );
        for body in [
            &b"{}"[..],
            br#"{"members":[]}"#,
            br#"{"members":"a|1"}"#,
            br#"{"members":[1]}"#,
            br#"{"members":["a|1"],"x":1}"#,
            b"not json",
            br#"{"members":["1","2","3","4","5","6","7","8","9","10","11"]}"#,
        ] {
            let err = parse_members_body(body, "remove from").unwrap_err();
            assert_eq!(
                err.error_code,
                Some("invalid_body"),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn splitmix_is_repeatable() {
        let mut a = SplitMix64(7);
        let mut b = SplitMix64(7);
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let f = SplitMix64(1).next_f64();
        assert!((0.0..1.0).contains(&f));
    }
}
