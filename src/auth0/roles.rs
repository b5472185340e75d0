//! The endpoints restore needs: adding members back (`POST …/members`, at most 10 ids), a
//! member's direct roles assigned (`POST …/members/{user_id}/roles`), a member's effective roles
//! with where each comes from (`GET …/members/{user_id}/effective-roles`, checkpoint paging,
//! scope `read:organization_member_effective_roles`), and a role by id (`GET /roles/{id}`).
//! Shapes as Auth0's OpenAPI description gives them (`sources` is `direct` or `groups`; `group`
//! is read as `groups` too, as Auth0's prose spells it).

use std::time::Instant;

use reqwest::Method;
use serde::Deserialize;

use super::client::Client;
use super::encode;
use super::error::{CallSite, Error};
use super::model::check_org_id;
use super::paging::{Keyed, MEMBER_RECORDS};
use super::retry::CallRecord;
use crate::member::Role;

/// Auth0 accepts at most this many user_ids per `POST …/members` call.
pub const ADD_BATCH: usize = super::client::MEMBERS_PER_CALL;

/// A member's role with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EffectiveRole {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub sources: Vec<String>,
}

impl EffectiveRole {
    /// Assigned to the member directly.
    pub fn direct(&self) -> bool {
        self.sources.iter().any(|s| s == "direct")
    }

    /// Held through an enterprise group.
    pub fn from_group(&self) -> bool {
        self.sources.iter().any(|s| s == "groups" || s == "group")
    }

    pub fn role(&self) -> Role {
        Role {
            id: self.id.clone(),
            name: self.name.clone(),
        }
    }
}

/// Whether `id` may go into a path as a user_id: not empty, not `.` or `..`, no control
/// characters, at most 300 bytes (the rest is percent-encoded).
fn is_user_id(id: &str) -> bool {
    !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= 300
        && !id.chars().any(char::is_control)
}

/// Whether `id` is a role id: `rol_` and letters or digits.
pub fn is_role_id(id: &str) -> bool {
    id.strip_prefix("rol_").is_some_and(|r| {
        !r.is_empty() && r.len() <= 64 && r.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

fn invalid(site: &CallSite, detail: String) -> Error {
    Error::InvalidId {
        site: site.clone(),
        detail,
    }
}

impl Client {
    /// `POST /api/v2/organizations/{id}/members` with 1 to 10 user_ids.
    pub async fn add_members(
        &self,
        org_id: &str,
        label: &str,
        user_ids: &[String],
    ) -> (Result<(), Error>, CallRecord) {
        self.members_call(Method::POST, org_id, label, user_ids)
            .await
    }

    /// `POST /api/v2/organizations/{id}/members/{user_id}/roles` with role ids.
    pub async fn assign_member_roles(
        &self,
        org_id: &str,
        label: &str,
        user_id: &str,
        role_ids: &[String],
    ) -> (Result<(), Error>, CallRecord) {
        let path = format!(
            "/api/v2/organizations/{}/members/{}/roles",
            encode(org_id),
            encode(user_id)
        );
        let site = CallSite {
            method: "POST",
            path: "/api/v2/organizations/{id}/members/{user_id}/roles".into(),
            organization: Some(label.to_string()),
        };
        if let Err(e) = check_org_id(org_id, &site) {
            return (Err(self.scrub(e)), CallRecord::unsent());
        }
        if !is_user_id(user_id) {
            let e = invalid(&site, "a user_id orgsync will not put into a URL".into());
            return (Err(self.scrub(e)), CallRecord::unsent());
        }
        if role_ids.is_empty() || role_ids.len() > 50 || !role_ids.iter().all(|r| is_role_id(r)) {
            let e = invalid(
                &site,
                format!("{} role ids, or one that is not `rol_…`", role_ids.len()),
            );
            return (Err(self.scrub(e)), CallRecord::unsent());
        }
        let body = serde_json::json!({ "roles": role_ids });
        self.mutate(Method::POST, &path, Some(&body), &site, Instant::now())
            .await
    }

    /// A member's effective roles, every page, each with its sources.
    pub async fn effective_roles(
        &self,
        org_id: &str,
        label: &str,
        user_id: &str,
    ) -> Result<Vec<EffectiveRole>, Error> {
        let base = format!(
            "/api/v2/organizations/{}/members/{}/effective-roles",
            encode(org_id),
            encode(user_id)
        );
        let site = CallSite {
            method: "GET",
            path: "/api/v2/organizations/{id}/members/{user_id}/effective-roles".into(),
            organization: Some(label.to_string()),
        };
        check_org_id(org_id, &site).map_err(|e| self.scrub(e))?;
        if !is_user_id(user_id) {
            let e = invalid(&site, "a user_id orgsync will not put into a URL".into());
            return Err(self.scrub(e));
        }
        let mut all = Vec::new();
        let mut list = Keyed::new(MEMBER_RECORDS);
        self.paginate(
            &base,
            "roles",
            "",
            &site,
            &mut list,
            |r: &EffectiveRole| &r.id,
            |page: Vec<EffectiveRole>| {
                all.extend(page);
                true
            },
        )
        .await?;
        Ok(all)
    }

    /// A role by id (`GET /api/v2/roles/{id}`, scope `read:roles`); None when it does not
    /// exist (404).
    pub async fn role(&self, role_id: &str) -> Result<Option<Role>, Error> {
        let site = CallSite {
            method: "GET",
            path: "/api/v2/roles/{id}".into(),
            organization: None,
        };
        if !is_role_id(role_id) {
            return Err(self.scrub(invalid(&site, "a role id that is not `rol_…`".into())));
        }
        let path = format!("/api/v2/roles/{}", encode(role_id));
        match self.get_json::<Role>(&path, &site).await {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_go_into_paths() {
        assert!(is_role_id("rol_abc123"));
        for bad in ["rol_", "rol_a/b", "..", "role_x", "rol_a%2F"] {
            assert!(!is_role_id(bad), "{bad}");
        }
        assert!(is_user_id("auth0|64b0"));
        for bad in ["", ".", "..", "a\nb"] {
            assert!(!is_user_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn sources_as_the_spec_and_the_prose_spell_them() {
        let r: EffectiveRole = serde_json::from_str(
            r#"{"id":"rol_1","name":"a","description":null,"sources":["groups"]}"#,
        )
        .unwrap();
        assert!(r.from_group() && !r.direct());
        let r: EffectiveRole =
            serde_json::from_str(r#"{"id":"rol_1","name":"a","sources":["direct","group"]}"#)
                .unwrap();
        assert!(r.from_group() && r.direct());
    }
}
