//! The emulator's own test surface, outside `/api/v2`: the `/__emulator/*` routes (the
//! request log, read and cleared; the tenant's state; scripted faults) and the state hooks
//! that [`crate::Emulator`]'s methods call (the state view, members added or removed as if by
//! someone else). None of it is logged, delayed, faulted or rate limited.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{Shared, json_response};
use crate::state::Membership;
use crate::{OrgView, ScriptedFault, StateView, lock};

impl Shared {
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
}

/// `GET /__emulator/requests`.
pub(super) async fn requests_log(State(sh): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &*lock(&sh.log))
}

/// `DELETE /__emulator/requests`.
pub(super) async fn clear_requests_log(State(sh): State<Arc<Shared>>) -> Response {
    lock(&sh.log).clear();
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /__emulator/state`.
pub(super) async fn state_view(State(sh): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &sh.state_view())
}

/// `POST /__emulator/faults`: a [`ScriptedFault`] as JSON.
pub(super) async fn add_scripted_fault(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<ScriptedFault>(&body) {
        Ok(f) => {
            lock(&sh.scripted).push(f);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("bad fault: {e}")).into_response(),
    }
}
