//! Organization member roles, as restore needs them: a member's roles (`GET`, offset pages or a
//! bare array, scope `read:organization_member_roles`; `POST` assigns, scope
//! `create:organization_member_roles`, body `{"roles":[role_id, …]}`, 1 to 50 ids), a member's
//! effective roles with each role's `sources` (`direct`, `groups`; checkpoint pages, scope
//! `read:organization_member_effective_roles`), and a role by id (`GET /roles/{id}`, scope
//! `read:roles`). Shapes follow Auth0's OpenAPI description (the subset in
//! `tests/fixtures/auth0-oas/`). A role deleted from the tenant is a 404 by id and a 400 when
//! assigned; a member who is not one is a 404.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::errors::ApiError;
use super::paging::{Shape, encode_cursor, offset_page, parse_paging, shape};
use super::{LogNote, Shared, json_response, no_content, with_client};
use crate::lock;
use crate::state::AssignError;
use crate::tenant::Role;

/// Auth0's cap on role ids per assignment.
const ROLES_PER_CALL: usize = 50;

fn not_a_member() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "The user is not a member of the organization.",
        None,
    )
}

/// The organization's index, and the member's direct and group roles.
fn member_roles(
    sh: &Shared,
    org_id: &str,
    user_id: &str,
) -> Result<(Vec<Role>, Vec<Role>), ApiError> {
    let mut st = lock(&sh.state);
    let idx = *st
        .org_by_id
        .get(org_id)
        .ok_or_else(ApiError::org_not_found)?;
    st.orgs[idx].settle(Instant::now());
    let m = st.membership_mut(idx, user_id).ok_or_else(not_a_member)?;
    Ok((
        m.roles.as_deref().unwrap_or(&[]).to_vec(),
        m.group_roles.as_deref().unwrap_or(&[]).to_vec(),
    ))
}

/// `GET /api/v2/organizations/{id}/members/{user_id}/roles`: the member's direct roles.
pub(super) async fn list_member_roles(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, user_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let claims = sh.authorize(&headers, &["read:organization_member_roles"])?;
    let paging = parse_paging(q.as_deref(), false)?;
    if paging.from.is_some() || paging.take.is_some() {
        return Err(ApiError::bad_query(
            "Query validation error: this list has offset paging only (page, per_page).".into(),
        ));
    }
    let Shape::Offset {
        start,
        limit,
        totals,
    } = shape(&paging)?
    else {
        return Err(ApiError::bad_query("Query validation error".into()));
    };
    let (direct, _) = member_roles(&sh, &id, &user_id)?;
    let page: Vec<&Role> = direct
        .iter()
        .skip(start as usize)
        .take(limit as usize)
        .collect();
    Ok(with_client(
        offset_page("roles", &page, start, limit, totals, direct.len()),
        &claims.azp,
    ))
}

/// `POST /api/v2/organizations/{id}/members/{user_id}/roles`.
pub(super) async fn assign_member_roles(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, user_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let claims = sh.authorize(&headers, &["create:organization_member_roles"])?;
    let ids = parse_roles_body(&body)?;
    let mut st = lock(&sh.state);
    let idx = *st.org_by_id.get(&id).ok_or_else(ApiError::org_not_found)?;
    st.orgs[idx].settle(Instant::now());
    match st.assign_roles(idx, &user_id, &ids) {
        Ok(()) => Ok(no_content(LogNote {
            members: Some(vec![user_id]),
            client_id: Some(claims.azp),
        })),
        Err(AssignError::NotAMember) => Err(not_a_member()),
        Err(AssignError::NoSuchRole(r)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("One or more of the specified roles do not exist: {r}"),
            Some("invalid_body"),
        )),
    }
}

/// Validates a `{"roles":[…]}` body as Auth0 does.
fn parse_roles_body(body: &[u8]) -> Result<Vec<String>, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_body("Invalid request payload JSON format".into()))?;
    let obj = value.as_object().ok_or_else(|| {
        ApiError::bad_body("Payload validation error: 'Expected type object'.".into())
    })?;
    if let Some(extra) = obj.keys().find(|k| *k != "roles") {
        return Err(ApiError::bad_body(format!(
            "Payload validation error: 'Additional properties not allowed: {extra}'."
        )));
    }
    let list = obj.get("roles").and_then(|r| r.as_array()).ok_or_else(|| {
        ApiError::bad_body(
            "Payload validation error: 'Missing required property: roles' (an array of role ids)."
                .into(),
        )
    })?;
    if list.is_empty() || list.len() > ROLES_PER_CALL {
        return Err(ApiError::bad_body(format!(
            "Payload validation error: 'roles' must have 1 to {ROLES_PER_CALL} items ({}).",
            list.len()
        )));
    }
    list.iter()
        .enumerate()
        .map(|(i, r)| match r.as_str() {
            Some(s) if !s.is_empty() => Ok(s.to_string()),
            _ => Err(ApiError::bad_body(format!(
                "Payload validation error: 'Expected a role id' on property roles[{i}]."
            ))),
        })
        .collect()
}

/// `GET /api/v2/organizations/{id}/members/{user_id}/effective-roles`: every role the member
/// has, each with where it comes from (`direct`, `groups`, or both); checkpoint pages.
pub(super) async fn list_effective_roles(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, user_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let claims = sh.authorize(&headers, &["read:organization_member_effective_roles"])?;
    let paging = parse_paging(q.as_deref(), false)?;
    if paging.page.is_some() || paging.per_page.is_some() || paging.include_totals {
        return Err(ApiError::bad_query(
            "Query validation error: this list has checkpoint paging only (from, take).".into(),
        ));
    }
    let (direct, groups) = member_roles(&sh, &id, &user_id)?;
    let mut all: Vec<(Role, Vec<&str>)> = direct.into_iter().map(|r| (r, vec!["direct"])).collect();
    for g in groups {
        match all.iter_mut().find(|(r, _)| r.id == g.id) {
            Some((_, sources)) => sources.push("groups"),
            None => all.push((g, vec!["groups"])),
        }
    }
    let after = match &paging.from {
        Some(c) if !c.is_empty() => match shape(&paging)? {
            Shape::Checkpoint { after, .. } => after.unwrap_or(0),
            Shape::Offset { .. } => 0,
        },
        _ => 0,
    };
    let take = paging.take.unwrap_or(50) as usize;
    let page: Vec<serde_json::Value> = all
        .iter()
        .enumerate()
        .skip(after as usize)
        .take(take)
        .map(|(_, (r, sources))| {
            json!({ "id": r.id, "name": r.name, "description": null, "sources": sources })
        })
        .collect();
    let end = after as usize + page.len();
    let mut answer = json!({ "roles": page });
    if end < all.len() {
        answer["next"] = json!(encode_cursor(end as u64, &all[end - 1].0.id));
    }
    Ok(with_client(
        json_response(StatusCode::OK, &answer),
        &claims.azp,
    ))
}

/// `GET /api/v2/roles/{id}`.
pub(super) async fn get_role(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let claims = sh.authorize(&headers, &["read:roles"])?;
    let st = lock(&sh.state);
    let role = st.roles.get(&id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "The role does not exist.",
            Some("inexistent_role"),
        )
    })?;
    Ok(with_client(
        json_response(StatusCode::OK, &json!({ "id": role.id, "name": role.name })),
        &claims.azp,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_body_rules() {
        assert_eq!(
            parse_roles_body(br#"{"roles":["rol_1"]}"#).unwrap(),
            ["rol_1"]
        );
        for body in [
            &b"{}"[..],
            br#"{"roles":[]}"#,
            br#"{"roles":"rol_1"}"#,
            br#"{"roles":[1]}"#,
            br#"{"roles":["rol_1"],"x":1}"#,
            b"not json",
        ] {
            assert!(
                parse_roles_body(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
