//! The organization endpoints: the list (offset or checkpoint pages, in creation order), one
//! organization by id, and one by name, each answering Auth0's organization JSON (`id`,
//! `name`, and `display_name`, `branding`, `metadata` when set).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::json;

use super::errors::ApiError;
use super::paging::{Shape, encode_cursor, offset_page, parse_paging, shape};
use super::{Shared, json_response, with_client};
use crate::lock;
use crate::state::{Org, TenantState};

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

fn org_out(o: &Org) -> OrgOut<'_> {
    OrgOut {
        id: &o.id,
        name: &o.name,
        display_name: o.display_name.as_deref(),
        branding: o.branding.as_ref(),
        metadata: o.metadata.as_ref(),
    }
}

/// `GET /api/v2/organizations`.
pub(super) async fn list_organizations(
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
            offset_page("organizations", &page, start, limit, totals, st.orgs.len())
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
    Ok(with_client(resp, &claims.azp))
}

/// `GET /api/v2/organizations/{id}`.
pub(super) async fn get_organization(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    one_organization(&sh, &headers, |st| st.org_by_id.get(&id).copied())
}

/// `GET /api/v2/organizations/name/{name}`.
pub(super) async fn get_organization_by_name(
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
    Ok(with_client(
        json_response(StatusCode::OK, &org_out(&st.orgs[i])),
        &claims.azp,
    ))
}
