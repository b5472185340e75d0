//! The bearer token: the given one, or one fetched with client credentials through the retry
//! loop (and fetched again once when Auth0 refuses it as expired).

use reqwest::Method;
use serde::Deserialize;

use super::client::Client;
use super::credentials::{Credentials, Secret};
use super::error::{Error, TransportKind, parse_error_body};
use super::retry::{Failed, Outgoing};

impl Client {
    /// The bearer token: the given one, or one fetched once with client credentials.
    pub(super) async fn bearer(&self) -> Result<Secret, Error> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref() {
            return Ok(t.clone());
        }
        let token = match &self.credentials {
            Credentials::Token(t) => t.clone(),
            Credentials::Client {
                client_id,
                client_secret,
            } => {
                let (token, scopes) = self
                    .fetch_token(client_id, client_secret)
                    .await
                    .map_err(|e| self.scrub(e))?;
                if let Some(scopes) = scopes {
                    let granted = scopes.split_whitespace().map(str::to_string).collect();
                    *self.token_scopes.lock().unwrap_or_else(|e| e.into_inner()) = Some(granted);
                }
                // Each token obtained is a secret of the run from now on (a given one was
                // registered where it was read).
                crate::secrets::register("the access token from /oauth/token", token.expose());
                token
            }
        };
        self.transport.secrets.add(&token);
        *cached = Some(token.clone());
        Ok(token)
    }

    /// `POST /oauth/token` with client credentials, through the retry loop (unpaced).
    async fn fetch_token(
        &self,
        client_id: &str,
        client_secret: &Secret,
    ) -> Result<(Secret, Option<String>), Error> {
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: String,
            #[serde(default)]
            scope: Option<String>,
        }
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret.expose(),
            "audience": self.transport.domain.audience(),
        });
        tracing::info!(
            client_id,
            "requesting an access token with client credentials"
        );
        let out = Outgoing {
            method: Method::POST,
            path: "/oauth/token",
            body: Some(&body),
            bearer: None,
        };
        let (a, _) = self
            .transport
            .send(&out, &mut 0)
            .await
            .map_err(|failed| match failed {
                Failed::Answer(a) => Error::Token {
                    answer: parse_error_body(a.status, &a.body),
                },
                Failed::Lost {
                    kind,
                    attempts,
                    cause,
                } => Error::TokenTransport {
                    kind,
                    attempts: Some(attempts),
                    source: cause,
                },
                // Neither happens to an unpaced request; said as they are all the same.
                Failed::Paced(e) => Error::TokenOther {
                    detail: e.to_string(),
                },
                Failed::ShutDown => Error::TokenTransport {
                    kind: TransportKind::ShutDown,
                    attempts: None,
                    source: None,
                },
            })?;
        let t: TokenAnswer = serde_json::from_slice(&a.body).map_err(|e| Error::TokenOther {
            // serde_json's text inline, as in `Decode` (see there).
            detail: format!("the token endpoint's answer is not a token: {e}"),
        })?;
        Ok((Secret::new(t.access_token), t.scope))
    }

    /// Forgets `expired` as the bearer token, unless another call has renewed it already, so
    /// the next [`Client::bearer`] fetches a new one.
    pub(super) async fn renew(&self, expired: &Secret) {
        let mut cached = self.token.lock().await;
        if cached
            .as_ref()
            .is_some_and(|t| t.expose() == expired.expose())
        {
            *cached = None;
        }
    }

    /// Gets the access token now (with client credentials, fetches it), so that failing to get
    /// one is told as that, before any call that would need it; a given token is not checked.
    pub async fn authenticate(&self) -> Result<(), Error> {
        self.bearer().await.map(drop)
    }
}
