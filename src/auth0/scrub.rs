//! Secret scrubbing: the client secret and the token, in every form a server may echo them in
//! (as given, JSON-escaped, percent-encoded, form-encoded), replaced by `[redacted]` in every
//! text that leaves the client: each error (its causes included) and each logged transport
//! detail.

use std::sync::RwLock;

use super::credentials::Secret;
use super::encode;
use super::error::Error;

/// The forms of the secrets the client knows, longest first.
#[derive(Debug, Default)]
pub(super) struct Secrets(RwLock<Vec<String>>);

impl Secrets {
    /// Adds `secret`, with the forms a server may echo it in: as given, JSON-escaped and
    /// percent-encoded.
    pub(super) fn add(&self, secret: &Secret) {
        let mut secrets = self.0.write().unwrap_or_else(|e| e.into_inner());
        let s = secret.expose();
        // Too short to tell from ordinary text (see `crate::secrets::MIN_LEN`): replacing it
        // would mangle every message.
        if s.chars().count() < crate::secrets::MIN_LEN {
            return;
        }
        let json = serde_json::to_string(s).unwrap_or_default();
        let json = json.trim_matches('"').to_string();
        for form in [
            s.to_string(),
            json,
            encode(s),
            encode(s).replace("%20", "+"),
        ] {
            if !form.is_empty() && !secrets.contains(&form) {
                secrets.push(form);
            }
        }
        // Longest first, so a form containing another is replaced whole.
        secrets.sort_by_key(|f| std::cmp::Reverse(f.len()));
    }

    /// `text` with each secret replaced by `[redacted]`.
    pub(super) fn scrub_text(&self, text: &str) -> String {
        let secrets = self.0.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for s in secrets.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "[redacted]");
            }
        }
        out
    }

    /// `e` with each secret replaced by `[redacted]` in every text, its causes included: every
    /// error leaves the client through here.
    pub(super) fn scrub(&self, e: Error) -> Error {
        e.scrubbed(|t| self.scrub_text(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth0::error::{CallSite, Cause, TransportKind, parse_error_body};
    use reqwest::StatusCode;

    /// The error's text, its `Debug` and every cause's text.
    fn everything(e: &Error) -> String {
        let mut text = format!("{e} {e:?}");
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(&format!(" / {s} {s:?}"));
            source = s.source();
        }
        text
    }

    #[test]
    fn errors_leave_the_client_without_secrets() {
        let secret = "s3cr\"et/+ value";
        let secrets = Secrets::default();
        secrets.add(&Secret::new(secret));
        secrets.add(&Secret::new("tok.en-123"));
        // A token endpoint echoing the request, as JSON, as a form, and as given.
        let echoed = format!(
            r#"{{"error":"access_denied","error_description":"bad client_secret={} json={} raw={} token tok.en-123"}}"#,
            encode(secret),
            serde_json::to_string(secret).unwrap().replace('"', "'"),
            secret.replace('"', "'")
        );
        let body = serde_json::to_vec(&serde_json::json!({
            "error": "access_denied",
            "error_description": format!("{echoed} {secret}"),
            "message": format!("message with {}", serde_json::to_string(secret).unwrap()),
        }))
        .unwrap();
        let site = CallSite {
            method: "GET",
            path: "/api/v2/organizations".into(),
            organization: None,
        };
        let echo = || {
            Some(Cause::new(format!(
                "invalid type: string \"{secret}\" {}",
                String::from_utf8_lossy(&body)
            )))
        };
        let errors = [
            Error::Token {
                answer: parse_error_body(StatusCode::UNAUTHORIZED, &body),
            },
            Error::Api {
                site: site.clone(),
                answer: parse_error_body(StatusCode::BAD_REQUEST, &body),
            },
            Error::Decode {
                site: site.clone(),
                detail: format!("invalid type: string \"{secret}\""),
            },
            Error::Transport {
                site: site.clone(),
                kind: TransportKind::Other,
                attempts: Some(1),
                source: echo(),
            },
            Error::TokenTransport {
                kind: TransportKind::Connect,
                attempts: Some(3),
                source: echo(),
            },
            Error::TokenOther {
                detail: String::from_utf8_lossy(&body).into_owned(),
            },
            Error::TooManyIds { site, count: 11 },
        ];
        for e in errors {
            let needs_redaction = !matches!(e, Error::TooManyIds { .. });
            let text = everything(&secrets.scrub(e));
            assert!(!text.contains(secret), "{text}");
            assert!(!text.contains("tok.en-123"), "{text}");
            assert!(!text.contains(&encode(secret)), "{text}");
            assert!(!needs_redaction || text.contains("[redacted]"), "{text}");
        }
    }

    #[test]
    fn a_secret_too_short_to_tell_from_text_leaves_text_alone() {
        let secrets = Secrets::default();
        secrets.add(&Secret::new("t"));
        let text = "GET /api/v2/organizations failed: could not connect";
        assert_eq!(secrets.scrub_text(text), text);
    }

    #[test]
    fn every_cause_is_scrubbed() {
        let secrets = Secrets::default();
        secrets.add(&Secret::new("tok.en-123"));
        let chain = Cause::of(&Error::Transport {
            site: CallSite {
                method: "GET",
                path: "/x".into(),
                organization: None,
            },
            kind: TransportKind::Other,
            attempts: Some(1),
            source: Some(Cause::new("deep tok.en-123")),
        });
        let e = secrets.scrub(Error::TokenTransport {
            kind: TransportKind::Connect,
            attempts: Some(1),
            source: Some(chain),
        });
        let text = everything(&e);
        assert!(!text.contains("tok.en-123"), "{text}");
        assert!(text.contains("deep [redacted]"), "{text}");
    }
}
