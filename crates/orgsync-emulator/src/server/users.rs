//! `GET /api/v2/users-by-email` (case-sensitive matching, Auth0's user JSON with one
//! identity derived from the `provider|id` user id) and Auth0's default avatar URL, which
//! member lists use too.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::errors::ApiError;
use super::paging::{parse_pairs, unknown_param};
use super::{Shared, json_response, with_client};
use crate::lock;
use crate::state::User;
use crate::tenant::ENTERPRISE_STRATEGIES as ENTERPRISE;

/// `GET /api/v2/users-by-email?email=…`.
pub(super) async fn users_by_email(
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
            other => return Err(unknown_param(other)),
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
    Ok(with_client(
        json_response(StatusCode::OK, &users),
        &claims.azp,
    ))
}

/// A user as Auth0 describes one, with the identity of the connection they log in through
/// (the tenant file's `connection`, else derived from the user_id).
pub(super) fn user_json(u: &User) -> serde_json::Value {
    let (provider, rest) = u.user_id.split_once('|').unwrap_or(("auth0", &u.user_id));
    let id = match provider {
        p if ENTERPRISE.contains(&p) => rest.split_once('|').map_or(rest, |(_, id)| id),
        _ => rest,
    };
    let connection = u.connection();
    json!({
        "created_at": "2026-01-01T00:00:00.000Z",
        "email": u.email,
        "email_verified": true,
        "identities": [{
            "connection": connection,
            "user_id": id,
            "provider": provider,
            "isSocial": provider != "auth0" && !ENTERPRISE.contains(&provider),
        }],
        "name": u.name.as_deref().or(u.email.as_deref()).unwrap_or(&u.user_id),
        "picture": picture_url(u.email.as_deref().unwrap_or(&u.user_id)),
        "updated_at": "2026-01-01T00:00:00.000Z",
        "user_id": u.user_id,
    })
}

/// Auth0's default avatar: a CDN image named by the user's initials.
pub(super) fn picture_url(seed: &str) -> String {
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
