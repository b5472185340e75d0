//! Organization endpoints: an organization by id or by name, and the organization list (whole,
//! or read until a caller has seen enough).

use super::client::Client;
use super::encode;
use super::error::{CallSite, Error};
use super::model::{Organization, check_org_id, check_org_name};
use super::paging::{Keyed, MEMBER_RECORDS};

impl Client {
    /// `GET /api/v2/organizations/{id}`.
    pub async fn organization_by_id(&self, id: &str) -> Result<Organization, Error> {
        self.organization("/api/v2/organizations/", id, check_org_id)
            .await
    }

    /// `GET /api/v2/organizations/name/{name}`.
    pub async fn organization_by_name(&self, name: &str) -> Result<Organization, Error> {
        self.organization("/api/v2/organizations/name/", name, check_org_name)
            .await
    }

    /// One organization at `prefix` + `key`, once `check` has accepted the key for a path.
    async fn organization(
        &self,
        prefix: &str,
        key: &str,
        check: fn(&str, &CallSite) -> Result<(), Error>,
    ) -> Result<Organization, Error> {
        let path = format!("{prefix}{}", encode(key));
        let site = CallSite {
            method: "GET",
            path: path.clone(),
            organization: Some(key.to_string()),
        };
        check(key, &site).map_err(|e| self.scrub(e))?;
        self.get_json(&path, &site).await
    }

    /// Every organization of the tenant, in the API's order.
    pub async fn organizations(&self) -> Result<Vec<Organization>, Error> {
        let mut all = Vec::new();
        self.organizations_while(|page| {
            all.extend(page);
            true
        })
        .await?;
        Ok(all)
    }

    /// Pages through the organization list while `on_page` returns true; each organization
    /// once (an id listed twice fails the read), at most [`MEMBER_RECORDS`] of them.
    pub async fn organizations_while(
        &self,
        on_page: impl FnMut(Vec<Organization>) -> bool,
    ) -> Result<(), Error> {
        let site = CallSite {
            method: "GET",
            path: "/api/v2/organizations".into(),
            organization: None,
        };
        let mut list = Keyed::new(MEMBER_RECORDS);
        self.paginate(
            "/api/v2/organizations",
            "organizations",
            "",
            &site,
            &mut list,
            |o: &Organization| &o.id,
            on_page,
        )
        .await
    }
}
