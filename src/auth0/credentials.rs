//! How orgsync authenticates: [`Credentials`] read from the environment (a ready token, or a
//! client id and secret), and [`Secret`], the wrapper that keeps tokens and client secrets out
//! of `Debug` output and has no `Display`.

/// A value that must never be printed: tokens and client secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How orgsync authenticates.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A ready access token (`AUTH0_API_TOKEN` or `AUTH0_ACCESS_TOKEN`).
    Token(Secret),
    /// Client credentials, exchanged for a token at `POST /oauth/token`.
    Client {
        client_id: String,
        client_secret: Secret,
    },
}

/// Credentials that could not be found in the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no Auth0 credentials: {0}")]
pub struct MissingCredentials(pub String);

impl Credentials {
    /// Reads credentials from environment variables via `get` (so tests need no real env).
    /// A given token wins over client credentials, as in terraform-provider-auth0.
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, MissingCredentials> {
        let non_empty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        if let Some(t) = non_empty("AUTH0_API_TOKEN").or_else(|| non_empty("AUTH0_ACCESS_TOKEN")) {
            crate::secrets::register(
                "the Auth0 token (AUTH0_API_TOKEN or AUTH0_ACCESS_TOKEN)",
                &t,
            );
            return Ok(Credentials::Token(Secret::new(t.trim())));
        }
        match (non_empty("AUTH0_CLIENT_ID"), non_empty("AUTH0_CLIENT_SECRET")) {
            (Some(id), Some(secret)) => {
                crate::secrets::register("AUTH0_CLIENT_SECRET", &secret);
                Ok(Credentials::Client { client_id: id, client_secret: Secret::new(secret) })
            }
            (Some(_), None) => Err(MissingCredentials("AUTH0_CLIENT_ID is set but AUTH0_CLIENT_SECRET is not".into())),
            (None, Some(_)) => Err(MissingCredentials("AUTH0_CLIENT_SECRET is set but AUTH0_CLIENT_ID is not".into())),
            (None, None) => Err(MissingCredentials(
                "set AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (client credentials), or AUTH0_API_TOKEN".into(),
            )),
        }
    }

    /// The client id, when known (for audit records).
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Credentials::Client { client_id, .. } => Some(client_id),
            Credentials::Token(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_from_env() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(matches!(
            Credentials::from_env(env(&[("AUTH0_API_TOKEN", "t"), ("AUTH0_CLIENT_ID", "c")])),
            Ok(Credentials::Token(_))
        ));
        assert!(matches!(
            Credentials::from_env(env(&[("AUTH0_ACCESS_TOKEN", "t")])),
            Ok(Credentials::Token(_))
        ));
        assert!(matches!(
            Credentials::from_env(env(&[
                ("AUTH0_CLIENT_ID", "c"),
                ("AUTH0_CLIENT_SECRET", "s")
            ])),
            Ok(Credentials::Client { .. })
        ));
        let e = Credentials::from_env(env(&[("AUTH0_CLIENT_ID", "c")])).unwrap_err();
        assert!(e.to_string().contains("AUTH0_CLIENT_SECRET is not"));
        let e = Credentials::from_env(env(&[])).unwrap_err();
        assert!(
            e.to_string()
                .contains("AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET")
        );
        assert!(e.to_string().contains("AUTH0_API_TOKEN"));
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Credentials::Client {
            client_id: "id".into(),
            client_secret: Secret::new("hunter2"),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{:?}", Credentials::Token(Secret::new("tok-123"))).contains("tok-123"));
    }
}
