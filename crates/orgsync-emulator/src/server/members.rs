//! The members endpoints of an organization: the list in all three shapes (a bare offset
//! page, the offset page with totals, checkpoint pages with `next`), with `fields` /
//! `include_fields` projection and the roles scope it may need; `POST` (add) and `DELETE`
//! (remove) with Auth0's validation of the `{"members":[…]}` body.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::json;

use super::errors::ApiError;
use super::paging::{Paging, Shape, encode_cursor, offset_page, parse_paging, shape};
use super::users::picture_url;
use super::{LogNote, Shared, json_response, no_content, with_client};
use crate::lock;
use crate::state::{Membership, TenantState};
use crate::tenant::Role;

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

/// `GET /api/v2/organizations/{id}/members`.
pub(super) async fn list_members(
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
            offset_page("members", &page, start, limit, totals, org.listed_len())
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
    Ok(with_client(resp, &claims.azp))
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

/// `POST /api/v2/organizations/{id}/members`.
pub(super) async fn add_members(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    change_members(&sh, &headers, &id, &body, Change::Add)
}

/// `DELETE /api/v2/organizations/{id}/members`.
pub(super) async fn remove_members(
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
    if let (Change::Add, Some(gone)) = (
        change,
        ids.iter().find(|u| st.deleted_users.contains(u.as_str())),
    ) {
        return Err(ApiError::bad_body(format!(
            "One or more users do not exist: {gone}"
        )));
    }
    match change {
        Change::Add => st.add_members(idx, &ids, Instant::now()),
        Change::Remove => st.remove_members(idx, &ids, Instant::now(), sh.options.removal_delay),
    }
    Ok(no_content(LogNote {
        members: Some(ids),
        client_id: Some(claims.azp),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
