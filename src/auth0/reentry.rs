//! The endpoints behind re-entry checks: an organization's enabled connections and pending
//! invitations (offset paging), a user's identities, revoking an invitation, and which scopes
//! the token carries (so that a read the token may not make is not sent at all).

use std::collections::HashSet;
use std::time::Instant;

use base64::Engine;
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::client::Client;
use super::encode;
use super::error::{CallSite, Error};
use super::model::check_org_id;
use super::paging::{Keyed, OFFSET_RECORDS, Refused};
use super::retry::CallRecord;
use crate::reentry::{ApiInvitation, EnabledConnection, is_invitation_id};

/// Records per offset page.
const OFFSET_PAGE: usize = 50;

/// What re-entry and invitation checks need of a user (`GET /users/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserDetails {
    /// Whether the user exists (a 404 says it does not).
    pub exists: bool,
    /// The connections of the user's identities.
    pub connections: Vec<String>,
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ApiUser {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    identities: Vec<Identity>,
}

#[derive(Debug, Deserialize)]
struct Identity {
    connection: String,
}

impl Client {
    /// The scopes the bearer token grants: what the token endpoint said it granted, else the
    /// token's JWT `scope` claim; `None` when neither says. Only decides which reads are worth
    /// sending: the API still judges every request.
    pub async fn granted_scopes(&self) -> Result<Option<HashSet<String>>, Error> {
        let token = self.bearer().await?;
        let said = self
            .token_scopes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(said.or_else(|| scopes_of(token.expose())))
    }

    /// `GET /organizations/{id}/enabled_connections`, every page.
    pub async fn enabled_connections(
        &self,
        org_id: &str,
        label: &str,
    ) -> Result<Vec<EnabledConnection>, Error> {
        self.offset_list(org_id, label, "enabled_connections").await
    }

    /// `GET /organizations/{id}/invitations`, every page.
    pub async fn invitations(
        &self,
        org_id: &str,
        label: &str,
    ) -> Result<Vec<ApiInvitation>, Error> {
        self.offset_list(org_id, label, "invitations").await
    }

    /// Whether a user exists, and its connections and email (`GET /users/{id}`); a user that
    /// does not exist (404) has neither.
    pub async fn user_details(&self, user_id: &str) -> Result<UserDetails, Error> {
        let path = format!("/api/v2/users/{}", encode(user_id));
        let site = CallSite {
            method: "GET",
            path: "/api/v2/users/{id}".into(),
            organization: None,
        };
        match self.get_json::<ApiUser>(&path, &site).await {
            Ok(u) => Ok(UserDetails {
                exists: true,
                connections: u.identities.into_iter().map(|i| i.connection).collect(),
                email: u.email,
            }),
            Err(e) if e.status() == Some(404) => Ok(UserDetails::default()),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /organizations/{id}/invitations/{invitation_id}`.
    pub async fn revoke_invitation(
        &self,
        org_id: &str,
        label: &str,
        invitation_id: &str,
    ) -> (Result<(), Error>, CallRecord) {
        let path = format!(
            "/api/v2/organizations/{}/invitations/{}",
            encode(org_id),
            encode(invitation_id)
        );
        let site = CallSite {
            method: "DELETE",
            path: path.clone(),
            organization: Some(label.to_string()),
        };
        if let Err(e) = check_org_id(org_id, &site) {
            return (Err(self.scrub(e)), CallRecord::unsent());
        }
        if !is_invitation_id(invitation_id) {
            let e = Error::InvalidId {
                site,
                detail: format!(
                    "invitation id {:?} is not an Auth0 invitation id (`uinv_` and letters or digits)",
                    crate::secrets::scrub(invitation_id)
                        .chars()
                        .take(60)
                        .collect::<String>()
                ),
            };
            return (Err(self.scrub(e)), CallRecord::unsent());
        }
        self.mutate(Method::DELETE, &path, None, &site, Instant::now())
            .await
    }

    /// An offset-paged list of an organization (`page`, `per_page`, `include_totals=true`):
    /// pages until one is short or `total` is reached. A list that fills every page up to
    /// record 1000 cannot be read completely, and is an error, never a silent cut.
    ///
    /// Offset pages shift when the list changes between two reads (an invitation sent after
    /// page 0 was read moves a record of page 0 onto page 1), so the records are a set keyed by
    /// id ([`Keyed`]): an id on two pages, totals that differ between pages, or a total the
    /// records read do not add up to, and the list is read again from page 0, at most
    /// [`READ_ATTEMPTS`](super::paging::READ_ATTEMPTS) times in all ([`Error::read_again`]),
    /// before the read fails. A record is never listed twice.
    async fn offset_list<T: DeserializeOwned + ListRecord>(
        &self,
        org_id: &str,
        label: &str,
        key: &str,
    ) -> Result<Vec<T>, Error> {
        let base = format!("/api/v2/organizations/{}/{key}", encode(org_id));
        let site = CallSite {
            method: "GET",
            path: base.clone(),
            organization: Some(label.to_string()),
        };
        check_org_id(org_id, &site).map_err(|e| self.scrub(e))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.offset_list_once(&base, key, &site).await {
                Err(e) if e.read_again(attempt, label, &key.replace('_', " ")) => {}
                other => return other.map_err(|e| self.scrub(e)),
            }
        }
    }

    /// One reading of an offset-paged list, from page 0.
    async fn offset_list_once<T: DeserializeOwned + ListRecord>(
        &self,
        base: &str,
        key: &str,
        site: &CallSite,
    ) -> Result<Vec<T>, Error> {
        let decode = |detail: String| Error::Decode {
            site: site.clone(),
            detail,
        };
        let refused = |refused: Refused| Error::List {
            site: site.clone(),
            refused,
        };
        let mut list = Keyed::new(OFFSET_RECORDS);
        let mut all = Vec::new();
        for page in 0..OFFSET_RECORDS / OFFSET_PAGE {
            let q = format!("{base}?page={page}&per_page={OFFSET_PAGE}&include_totals=true");
            let (items, answer) = self.list_page::<T>(&q, key, site, &mut list).await?;
            let total = answer.get("total").and_then(serde_json::Value::as_u64);
            list.note_total(total).map_err(refused)?;
            list.admit(&items, |t: &T| t.key()).map_err(refused)?;
            let n = items.len();
            all.extend(items);
            if n < OFFSET_PAGE || list.reached_total() {
                list.finish().map_err(refused)?;
                return Ok(all);
            }
        }
        Err(decode(format!(
            "more than {OFFSET_RECORDS} {} listed: offset paging cannot read them all",
            key.replace('_', " ")
        )))
    }
}

/// What a record of an offset-paged list is keyed by.
pub(super) trait ListRecord {
    /// The record's id.
    fn key(&self) -> &str;
}

impl ListRecord for ApiInvitation {
    fn key(&self) -> &str {
        &self.id
    }
}

impl ListRecord for EnabledConnection {
    fn key(&self) -> &str {
        &self.connection_id
    }
}

/// The `scope` claim of a JWT, without checking its signature (the API does that).
fn scopes_of(token: &str) -> Option<HashSet<String>> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let scope = claims.get("scope")?.as_str()?;
    Some(scope.split_whitespace().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(r#"{"alg":"RS256"}"#),
            e.encode(claims)
        )
    }

    #[test]
    fn scopes_come_from_the_tokens_claim_or_not_at_all() {
        let s = scopes_of(&jwt(r#"{"scope":"read:users  read:organizations"}"#)).unwrap();
        assert!(s.contains("read:users") && s.contains("read:organizations"));
        assert_eq!(s.len(), 2);
        assert_eq!(scopes_of(&jwt(r#"{"sub":"x"}"#)), None);
        assert_eq!(scopes_of(&jwt(r#"{"scope":7}"#)), None);
        assert_eq!(scopes_of("opaque-token"), None);
        assert_eq!(scopes_of("a.!!!.c"), None);
    }
}
