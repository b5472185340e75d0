//! Member endpoints: an organization's members (checkpoint paging), users by email, and member
//! removal (at most [`MEMBERS_PER_CALL`] ids a call).

use std::time::Instant;

use reqwest::Method;

use super::client::{Client, MEMBERS_PER_CALL};
use super::encode;
use super::error::{CallSite, Error};
use super::model::{User, check_org_id};
use super::paging::{Keyed, MEMBER_RECORDS};
use super::retry::CallRecord;
use crate::member::Member;

impl Client {
    /// Every member of an organization, read with checkpoint paging, which has no 1000-record
    /// cap; `with_roles` reads each member's roles in the same requests (`fields=…,roles`, scope
    /// `read:organization_member_roles`). `on_page` is told how many members each page brought.
    ///
    /// The members are a set keyed by user_id: a user_id on two pages means the list moved
    /// while it was read, and it is read again from the start
    /// ([`READ_ATTEMPTS`](super::paging::READ_ATTEMPTS) times in all, [`Error::read_again`])
    /// before the read fails; at most [`MEMBER_RECORDS`] members and
    /// [`LIST_BYTES`](super::paging::LIST_BYTES) of answers.
    pub async fn members(
        &self,
        org_id: &str,
        label: &str,
        with_roles: bool,
        mut on_page: impl FnMut(usize),
    ) -> Result<Vec<Member>, Error> {
        let base = format!("/api/v2/organizations/{}/members", encode(org_id));
        let site = CallSite {
            method: "GET",
            path: base.clone(),
            organization: Some(label.to_string()),
        };
        check_org_id(org_id, &site).map_err(|e| self.scrub(e))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut all = Vec::new();
            let mut list = Keyed::new(MEMBER_RECORDS);
            let read = self
                .paginate(
                    &base,
                    "members",
                    if with_roles {
                        "fields=user_id%2Cemail%2Cname%2Croles&include_fields=true&"
                    } else {
                        "fields=user_id%2Cemail%2Cname&include_fields=true&"
                    },
                    &site,
                    &mut list,
                    |m: &Member| &m.user_id,
                    |page: Vec<Member>| {
                        on_page(page.len());
                        all.extend(page);
                        true
                    },
                )
                .await;
            match read {
                Ok(()) => return Ok(all),
                Err(e) if e.read_again(attempt, label, "member") => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// `GET /api/v2/users-by-email?email=…` (exact, case-sensitive match).
    pub async fn users_by_email(&self, email: &str) -> Result<Vec<User>, Error> {
        let path = format!("/api/v2/users-by-email?email={}", encode(email));
        let site = CallSite {
            method: "GET",
            path: "/api/v2/users-by-email".into(),
            organization: None,
        };
        self.get_json(&path, &site).await
    }

    /// `DELETE /api/v2/organizations/{id}/members` with at most 10 user_ids.
    pub async fn remove_members(
        &self,
        org_id: &str,
        label: &str,
        user_ids: &[String],
    ) -> (Result<(), Error>, CallRecord) {
        self.members_call(Method::DELETE, org_id, label, user_ids)
            .await
    }

    /// `POST` or `DELETE /api/v2/organizations/{id}/members` with 1 to 10 user_ids (the most
    /// Auth0 documents); ids checked before anything is sent.
    pub(super) async fn members_call(
        &self,
        method: Method,
        org_id: &str,
        label: &str,
        user_ids: &[String],
    ) -> (Result<(), Error>, CallRecord) {
        let path = format!("/api/v2/organizations/{}/members", encode(org_id));
        let site = CallSite {
            method: if method == Method::POST {
                "POST"
            } else {
                "DELETE"
            },
            path: path.clone(),
            organization: Some(label.to_string()),
        };
        let started = Instant::now();
        if let Err(e) = check_org_id(org_id, &site) {
            return (Err(self.scrub(e)), CallRecord::unsent());
        }
        if user_ids.is_empty() || user_ids.len() > MEMBERS_PER_CALL {
            let err = Error::TooManyIds {
                site,
                count: user_ids.len(),
            };
            return (Err(err), CallRecord::unsent());
        }
        let body = serde_json::json!({ "members": user_ids });
        self.mutate(method, &path, Some(&body), &site, started)
            .await
    }
}
