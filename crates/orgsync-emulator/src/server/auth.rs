//! Who may call: the token endpoint (`POST /oauth/token`, client credentials in a JSON or
//! form body, with Auth0's OAuth error bodies), issuing the HS256 access tokens, and the
//! bearer-token check every Management API handler runs first (signature, audience, expiry,
//! global client, and the scopes the endpoint needs).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::json;

use super::errors::{ApiError, oauth_error};
use super::{Shared, json_response, with_client};
use crate::jwt::{self, Claims, JwtError};
use crate::tenant::Client;
use crate::{epoch_secs, wall_now};

impl Shared {
    /// The audience tokens must carry: `http://ADDR/api/v2/`.
    fn audience(&self) -> String {
        format!("{}/api/v2/", self.base_url)
    }

    fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    pub fn token_for(&self, client_id: &str) -> Option<String> {
        let client = self.client(client_id)?;
        Some(self.issue(client).0)
    }

    fn issue(&self, client: &Client) -> (String, Claims) {
        let now = epoch_secs(wall_now());
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
    pub(super) fn authorize(
        &self,
        headers: &HeaderMap,
        scopes: &[&str],
    ) -> Result<Claims, ApiError> {
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
        if claims.exp <= epoch_secs(wall_now()) {
            return Err(ApiError::unauthorized(
                "Expired token received for JSON Web Token validation",
            ));
        }
        if let Some(c) = self.client(&claims.azp)
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
}

#[derive(serde::Deserialize, Default)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    audience: Option<String>,
}

/// `POST /oauth/token`: the client-credentials grant.
pub(super) async fn token(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
    let r = json_response(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "expires_in": sh.options.token_ttl.as_secs(),
            "scope": claims.scope,
            "token_type": "Bearer",
        }),
    );
    with_client(r, &client.client_id)
}
