//! The ways back into an organization: its enabled connections (with auto-membership and
//! signup), its pending invitations (list, revoke), a user by id with the identities that say
//! which connection they log in through; and the admin routes that act as a person does
//! (`/__emulator/login`, `/__emulator/accept-invitation`).

use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::errors::ApiError;
use super::paging::{Shape, parse_paging, shape, unknown_param};
use super::users::user_json;
use super::{LogNote, Shared, json_response, no_content, with_client};
use crate::state::{LoginRule, PendingInvitation, TenantState};
use crate::tenant::derived_id;
use crate::{lock, wall_now};
use orgsync_common::timefmt;

/// An offset page of an organization's list: `(start, limit, include_totals)`. These lists
/// have no checkpoint paging; `sort` is taken for invitations only.
fn offset(q: Option<&str>, sortable: bool) -> Result<(u64, u64, bool), ApiError> {
    let mut rest = Vec::new();
    for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sort", v)) if sortable => {
                if v != "created_at:-1" && v != "created_at%3A-1" {
                    return Err(ApiError::bad_query(format!(
                        "Query validation error: 'sort' must be created_at:-1 (the emulator's only order), got {v}"
                    )));
                }
            }
            Some(("from" | "take", _)) => {
                return Err(unknown_param(pair.split('=').next().unwrap_or(pair)));
            }
            _ => rest.push(pair),
        }
    }
    let paging = parse_paging(Some(&rest.join("&")), true)?;
    match shape(&paging)? {
        Shape::Offset {
            start,
            limit,
            totals,
        } => Ok((start, limit, totals)),
        Shape::Checkpoint { .. } => Err(unknown_param("take")),
    }
}

/// The index of organization `id` in `st`, looked up under the same lock its data is read
/// with (a lookup under an earlier lock could be stale).
fn org_index(st: &TenantState, id: &str) -> Result<usize, ApiError> {
    st.org_by_id
        .get(id)
        .copied()
        .ok_or_else(ApiError::org_not_found)
}

/// `GET /api/v2/organizations/{id}/enabled_connections`.
pub(super) async fn list_enabled_connections(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let claims = sh.authorize(&headers, &["read:organization_connections"])?;
    let (start, limit, totals) = offset(q.as_deref(), false)?;
    let st = lock(&sh.state);
    let all = &st.orgs[org_index(&st, &id)?].connections;
    let page: Vec<serde_json::Value> = all
        .iter()
        .skip(start as usize)
        .take(limit as usize)
        .map(|c| {
            json!({
                "connection_id": derived_id("con_", &c.connection),
                "assign_membership_on_login": c.assign_membership_on_login,
                "is_signup_enabled": c.is_signup_enabled,
                "show_as_button": c.show_as_button,
                "connection": {"name": c.connection, "strategy": c.strategy()},
            })
        })
        .collect();
    let body = if totals {
        // `limit` is the number of entries on the page, as go-auth0's recording shows.
        json!({"enabled_connections": page, "start": start, "limit": page.len(), "total": all.len()})
    } else {
        json!(page)
    };
    Ok(with_client(
        json_response(StatusCode::OK, &body),
        &claims.azp,
    ))
}

fn time(micros: u64) -> String {
    timefmt::rfc3339_millis(UNIX_EPOCH + Duration::from_micros(micros))
}

fn invitation_json(sh: &Shared, org_id: &str, i: &PendingInvitation) -> serde_json::Value {
    let mut v = json!({
        "id": i.id,
        "organization_id": org_id,
        "inviter": {"name": i.inviter.as_deref().unwrap_or("Admin")},
        "invitee": {"email": i.invitee_email},
        "invitation_url": format!("{}/login?invitation={}&organization={org_id}", sh.base_url, i.id),
        "created_at": time(i.created_at),
        "expires_at": time(i.expires_at),
        "client_id": "emulator-login-app",
        "ticket_id": derived_id("", &i.id),
    });
    // `roles` only when the invitation has some, as the recordings show.
    if !i.roles.is_empty() {
        v["roles"] = json!(i.roles.iter().map(|r| r.id.clone()).collect::<Vec<_>>());
    }
    v
}

/// `GET /api/v2/organizations/{id}/invitations` (newest first; expired ones too).
pub(super) async fn list_invitations(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let claims = sh.authorize(&headers, &["read:organization_invitations"])?;
    let (start, limit, totals) = offset(q.as_deref(), true)?;
    let st = lock(&sh.state);
    let org = &st.orgs[org_index(&st, &id)?];
    let page: Vec<serde_json::Value> = org
        .invitations
        .iter()
        .skip(start as usize)
        .take(limit as usize)
        .map(|i| invitation_json(&sh, &org.id, i))
        .collect();
    // With include_totals: `start` and `limit`, and no `total` [sdk].
    let body = if totals {
        json!({"invitations": page, "start": start, "limit": page.len()})
    } else {
        json!(page)
    };
    Ok(with_client(
        json_response(StatusCode::OK, &body),
        &claims.azp,
    ))
}

/// `DELETE /api/v2/organizations/{id}/invitations/{invitation_id}`.
pub(super) async fn revoke_invitation(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, invitation)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let claims = sh.authorize(&headers, &["delete:organization_invitations"])?;
    let mut st = lock(&sh.state);
    let idx = org_index(&st, &id)?;
    if !st.revoke_invitation(idx, &invitation) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "The invitation does not exist",
            Some("inexistent_invitation"),
        ));
    }
    Ok(no_content(LogNote {
        members: None,
        client_id: Some(claims.azp),
    }))
}

/// `GET /api/v2/users/{id}`.
pub(super) async fn get_user(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let claims = sh.authorize(&headers, &["read:users"])?;
    let st = lock(&sh.state);
    let user = st
        .user_index
        .get(&id)
        .filter(|_| !st.deleted_users.contains(&id))
        .map(|&i| user_json(&st.users[i as usize]))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "The user does not exist.",
                Some("inexistent_user"),
            )
        })?;
    Ok(with_client(
        json_response(StatusCode::OK, &user),
        &claims.azp,
    ))
}

#[derive(Deserialize)]
struct Login {
    user_id: String,
    /// The organization's id or name.
    organization: String,
    connection: String,
}

fn admin_error(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(status, &json!({"error": message.into()}))
}

/// `POST /__emulator/login {"user_id", "organization", "connection"}`: a person logs in to the
/// organization through the connection; with auto-membership they become a member.
pub(super) async fn login(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(l) = serde_json::from_slice::<Login>(&body) else {
        return admin_error(
            StatusCode::BAD_REQUEST,
            "expected {\"user_id\", \"organization\", \"connection\"}",
        );
    };
    if !crate::tenant::is_user_id(&l.user_id) {
        return admin_error(StatusCode::BAD_REQUEST, "malformed user_id");
    }
    let mut st = lock(&sh.state);
    let Some(idx) = st
        .org_by_id
        .get(&l.organization)
        .or_else(|| st.org_by_name.get(&l.organization))
        .copied()
    else {
        return admin_error(StatusCode::NOT_FOUND, "no such organization");
    };
    let rule = st.login(idx, &l.user_id, &l.connection, Instant::now());
    json_response(
        StatusCode::OK,
        &json!({
            "added": rule == LoginRule::AutoMembership,
            "rule": rule,
            "user_id": l.user_id,
            "organization": st.orgs[idx].id,
            "connection": l.connection,
        }),
    )
}

#[derive(Deserialize)]
struct Accept {
    invitation: String,
}

/// `POST /__emulator/accept-invitation {"invitation"}`: the invitee accepts; they become a
/// member with the invitation's roles, and the invitation is gone.
pub(super) async fn accept_invitation(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(a) = serde_json::from_slice::<Accept>(&body) else {
        return admin_error(StatusCode::BAD_REQUEST, "expected {\"invitation\"}");
    };
    let now_micros = timefmt::unix_micros(wall_now());
    let result = lock(&sh.state).accept_invitation(&a.invitation, Instant::now(), now_micros);
    match result {
        Ok(accepted) => json_response(StatusCode::OK, &accepted),
        Err(why @ "the invitation has expired") => admin_error(StatusCode::GONE, why),
        Err(why) => admin_error(StatusCode::NOT_FOUND, why),
    }
}
