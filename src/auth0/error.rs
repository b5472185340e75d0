//! Typed errors of the Management API client, each with the context a person needs to act:
//! which call, which organization, what Auth0 said, and a hint; the causes (a refused
//! connection, the JSON that did not decode) as [`Cause`] chains, so the top-level printer
//! prints each on its own `caused by:` line, with the client's secrets already scrubbed.

use std::fmt;

use reqwest::StatusCode;
use serde_json::Value;

/// Where a failed call was going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSite {
    pub method: &'static str,
    /// Path without the query string.
    pub path: String,
    /// The organization the call was about, as the config names it.
    pub organization: Option<String>,
}

impl fmt::Display for CallSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{} {}`", self.method, self.path)?;
        if let Some(org) = &self.organization {
            write!(f, " (organization `{org}`)")?;
        }
        Ok(())
    }
}

/// An error answer from Auth0, as its JSON body states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiAnswer {
    pub status: u16,
    /// Auth0's `errorCode` (`insufficient_scope`, `invalid_body`, …), often absent.
    pub error_code: Option<String>,
    /// Auth0's `message` (or the OAuth `error_description`).
    pub message: String,
}

impl fmt::Display for ApiAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(code) = &self.error_code {
            write!(f, " {code}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// One cause of an error as its text, with its own cause: a chain the top-level printer prints
/// one `caused by:` line per link.
///
/// The errors of reqwest and serde_json are not kept as they are, because their text can hold
/// a secret and a source cannot be scrubbed once it is an opaque error: reqwest's names the
/// request's URL, whose query can carry a value a server sent (the paging cursor), and
/// serde_json's quotes the answer it could not read, which a server may have made echo the
/// token or the client secret. Each link keeps the text only, so every link goes through the
/// client's scrubbing like any other text of the error.
///
/// One pointer wide, so an [`Error`] holding one stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause(Box<Link>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Link {
    text: String,
    next: Option<Cause>,
}

impl Cause {
    /// A cause with no cause of its own.
    pub fn new(text: impl Into<String>) -> Cause {
        Cause(Box::new(Link {
            text: text.into(),
            next: None,
        }))
    }

    /// `e` and each of its sources, as text.
    pub fn of(e: &dyn std::error::Error) -> Cause {
        let mut texts = vec![e.to_string()];
        let mut source = e.source();
        while let Some(s) = source {
            texts.push(s.to_string());
            source = s.source();
        }
        Cause::chain(texts).expect("one text at least")
    }

    /// The sources of `e`, without `e` itself: for a reqwest error, whose own text names the
    /// URL and whose kind orgsync says in its own words.
    pub fn sources_of(e: &dyn std::error::Error) -> Option<Cause> {
        e.source().map(Cause::of)
    }

    /// Links `texts`, the first caused by the second and so on.
    fn chain(texts: Vec<String>) -> Option<Cause> {
        texts.into_iter().rev().fold(None, |next, text| {
            Some(Cause(Box::new(Link { text, next })))
        })
    }

    /// The same chain with each text passed through `scrub`.
    pub(super) fn scrubbed(self, scrub: &impl Fn(&str) -> String) -> Cause {
        let Link { text, next } = *self.0;
        Cause(Box::new(Link {
            text: scrub(&text),
            next: next.map(|n| n.scrubbed(scrub)),
        }))
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.text)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .next
            .as_ref()
            .map(|n| n as &(dyn std::error::Error + 'static))
    }
}

/// What left a request without an answer, derived once from the transport's error
/// (`retry::Lost::of`); printed in orgsync's own words, never reqwest's (whose text names the
/// URL, and a URL's query may hold a cursor a server sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// No connection.
    Connect,
    /// The TLS handshake failed: a server that speaks no TLS (a plain-HTTP server behind a
    /// bare host, say), or a certificate refused. Not retried.
    Tls,
    /// No answer in time.
    Timeout,
    /// The connection broke while the answer was read.
    Body,
    /// A redirect, which orgsync does not follow.
    Redirect,
    /// An answer larger than the cap, in bytes.
    TooLarge { cap: u64 },
    /// The client was shut down: not sent.
    ShutDown,
    /// Any other failure of the request.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportKind::Connect => f.write_str("could not connect"),
            TransportKind::Tls => f.write_str("the TLS handshake failed"),
            TransportKind::Timeout => f.write_str("timed out"),
            TransportKind::Body => f.write_str("the connection broke while reading the answer"),
            TransportKind::Redirect => {
                f.write_str("the server answered with a redirect, which orgsync does not follow")
            }
            TransportKind::TooLarge { cap } => {
                fmt::Display::fmt(&crate::bounded::AnswerError::TooLarge { cap: *cap }, f)
            }
            TransportKind::ShutDown => f.write_str("the client was shut down"),
            TransportKind::Other => f.write_str("the request failed"),
        }
    }
}

/// ` (after N attempts)`, or nothing when no request was sent.
fn after(attempts: &Option<u32>) -> String {
    match attempts {
        Some(n) => format!(
            " (after {})",
            crate::text::plural(*n as usize, "attempt", "attempts")
        ),
        None => String::new(),
    }
}

/// Everything that can go wrong talking to the Management API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request did not get an answer: connection refused, reset, timed out.
    #[error("{site} failed: {kind}{}", after(.attempts))]
    Transport {
        site: CallSite,
        kind: TransportKind,
        /// Requests sent before giving up; `None` when none was (the client shut down).
        attempts: Option<u32>,
        source: Option<Cause>,
    },
    /// Auth0 answered with an error status.
    #[error("{site} was refused: {answer}")]
    Api { site: CallSite, answer: ApiAnswer },
    /// An answer that is not what the API documents (bad JSON, wrong shape, too large).
    #[error("{site} returned an answer orgsync cannot read: {detail}")]
    ///
    /// serde_json's text stays in `detail`, not in a source: it has no cause of its own, it
    /// is what is wrong, and most callers print this error inside a longer message (one line
    /// per organization) that shows no sources.
    Decode { site: CallSite, detail: String },
    /// The token endpoint refused the client credentials.
    #[error("getting an access token failed: {answer}")]
    Token { answer: ApiAnswer },
    /// The token endpoint could not be reached.
    #[error("getting an access token failed: {kind}{}", after(.attempts))]
    TokenTransport {
        kind: TransportKind,
        /// Requests sent before giving up; `None` when none was (the client shut down).
        attempts: Option<u32>,
        source: Option<Cause>,
    },
    /// The token endpoint answered nonsense (its answer is not a token), or, which never
    /// happens to the unpaced token request, the pacer refused to send it.
    #[error("getting an access token failed: {detail}")]
    TokenOther { detail: String },
    /// Auth0 refused the token as expired: a given token (`AUTH0_API_TOKEN`) that has run
    /// out, or, with client credentials, one fetched anew after an expired one and refused too.
    #[error("{site} was refused: {answer}")]
    TokenExpired {
        site: CallSite,
        /// Boxed, to keep every [`Error`] small.
        answer: Box<ApiAnswer>,
        /// The token was given (`AUTH0_API_TOKEN`), not fetched with client credentials.
        given: bool,
    },
    /// The HTTP client could not be built (its TLS setup failed); nothing was sent.
    #[error("cannot set up the HTTP client")]
    ClientSetup {
        /// Kept as it is: a builder error has no URL, body or secret in it.
        source: reqwest::Error,
    },
    /// Checkpoint paging returned a cursor it had already returned.
    #[error("{site}: the API returned the same `next` cursor twice; stopping instead of looping")]
    RepeatedCursor { site: CallSite },
    /// The request got no rate-limit token within `--timeout`, and was not sent.
    #[error("{site} was not sent: {detail}")]
    RateLimitWait { site: CallSite, detail: String },
    /// An id or name that does not follow Auth0's grammar would have gone into the path; the
    /// request was not sent.
    #[error("{site} was not sent: {detail}")]
    InvalidId { site: CallSite, detail: String },
    /// A list read over pages was refused: past a cap, or it moved while it was read (an id
    /// on two pages, a total that does not add up) every time it was read.
    #[error("{site}: {refused}")]
    List {
        site: CallSite,
        refused: super::paging::Refused,
    },
    /// A member removal was asked with no user_ids or more than the API takes; it was not sent.
    #[error("{site} was not sent: refusing to send {count} user_ids in one call (1 to 10)")]
    TooManyIds { site: CallSite, count: usize },
}

impl crate::error::Hinted for Error {
    fn next_step(&self) -> Option<String> {
        self.hint()
    }
}

impl Error {
    /// Whether a list read that failed with this error on its `attempt`-th reading (from 1)
    /// is read again from the start: the list moved while it was read (an id on two pages, a
    /// total that did not add up) and [`READ_ATTEMPTS`](super::paging::READ_ATTEMPTS) are not
    /// used up. A re-read is logged, naming `label` and the `what` list.
    pub(super) fn read_again(&self, attempt: usize, label: &str, what: &str) -> bool {
        match self {
            Error::List { refused, .. }
                if refused.moved() && attempt < super::paging::READ_ATTEMPTS =>
            {
                tracing::info!(
                    "{label}: the {what} list changed while it was read ({refused}); reading it again"
                );
                true
            }
            _ => false,
        }
    }

    /// A hint a person can act on, where there is an obvious one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Api { answer, .. } => api_hint(answer),
            Error::Token { answer } => match answer.status {
                401 => Some("check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET: the tenant does not know this pair".into()),
                // Auth0 says this when the audience orgsync asks for (`https://DOMAIN/api/v2/`)
                // is no API of the tenant: the domain is not exactly the tenant's own.
                403 if answer.message.starts_with("Service not enabled within domain") => Some(
                    "the domain orgsync was given is not this tenant's own: the token's audience is `DOMAIN/api/v2/`, so AUTH0_DOMAIN must be exactly the tenant's domain (the canonical TENANT.REGION.auth0.com, not a custom domain; for the emulator the address it prints, 127.0.0.1 rather than localhost)"
                        .into(),
                ),
                403 => Some(
                    "authorize the application for the Auth0 Management API (Applications > APIs > Auth0 Management API > Machine to Machine Applications)"
                        .into(),
                ),
                _ => None,
            },
            Error::Transport {
                kind: TransportKind::Tls,
                ..
            }
            | Error::TokenTransport {
                kind: TransportKind::Tls,
                ..
            } => Some(
                "the server at this domain does not speak TLS (or refused it): a bare host means https; if it serves plain HTTP, as the emulator does, write the domain as `http://HOST:PORT` (allowed for loopback only)"
                    .into(),
            ),
            Error::Transport { .. } | Error::TokenTransport { .. } | Error::TokenOther { .. } => {
                Some("check the domain and the network; orgsync retried before giving up".into())
            }
            Error::TokenExpired { given: true, .. } => Some(
                "AUTH0_API_TOKEN has expired: get a new one (Auth0 dashboard > Applications > APIs > Auth0 Management API > API Explorer), or set AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET instead of it so orgsync fetches and renews its own"
                    .into(),
            ),
            Error::TokenExpired { given: false, .. } => Some(
                "the tenant refused as expired a token orgsync had just fetched: check this machine's clock, and the token lifetime of the Auth0 Management API"
                    .into(),
            ),
            Error::ClientSetup { .. } => Some(
                "orgsync could not set up TLS on this machine (the causes above say why); please report it with the message above".into(),
            ),
            Error::TooManyIds { .. } => Some(
                "this is a bug in orgsync (it removes 1 to 10 members per call); please report it with the message above".into(),
            ),
            Error::RateLimitWait { .. } => Some(
                "the tenant's rate limit stayed exhausted, or its rate-limit headers do not add up (a clock far off?); try again later, raise --timeout, or lower --max-rps".into(),
            ),
            Error::InvalidId { .. } => Some(
                "the tenant (or the config) gave an id orgsync will not put into a URL; check the organization in the Auth0 dashboard".into(),
            ),
            Error::List { refused, .. } if refused.moved() => Some(
                "the tenant changed while orgsync read it (invitations sent or members added meanwhile?): run again; nothing was acted on"
                    .into(),
            ),
            Error::List { .. } => Some(
                "the server sent more than an Auth0 tenant holds: check that AUTH0_DOMAIN is the tenant's Management API"
                    .into(),
            ),
            Error::Decode { .. } | Error::RepeatedCursor { .. } => None,
        }
    }

    /// The same error with every text passed through `scrub` (the client replaces its secrets
    /// there): what a server sent back, the call site, every detail.
    pub(crate) fn scrubbed(self, scrub: impl Fn(&str) -> String) -> Error {
        let site = |s: CallSite| CallSite {
            method: s.method,
            path: scrub(&s.path),
            organization: s.organization.as_deref().map(&scrub),
        };
        let answer = |a: ApiAnswer| ApiAnswer {
            status: a.status,
            error_code: a.error_code.as_deref().map(&scrub),
            message: scrub(&a.message),
        };
        let cause = |c: Option<Cause>| c.map(|c| c.scrubbed(&scrub));
        match self {
            // The kind is orgsync's own words (and a number): only the causes hold a server's text.
            Error::Transport {
                site: s,
                kind,
                attempts,
                source,
            } => Error::Transport {
                site: site(s),
                kind,
                attempts,
                source: cause(source),
            },
            Error::TokenExpired {
                site: s,
                answer: a,
                given,
            } => Error::TokenExpired {
                site: site(s),
                answer: Box::new(answer(*a)),
                given,
            },
            Error::Api { site: s, answer: a } => Error::Api {
                site: site(s),
                answer: answer(a),
            },
            Error::Decode { site: s, detail } => Error::Decode {
                site: site(s),
                detail: scrub(&detail),
            },
            Error::Token { answer: a } => Error::Token { answer: answer(a) },
            Error::TokenTransport {
                kind,
                attempts,
                source,
            } => Error::TokenTransport {
                kind,
                attempts,
                source: cause(source),
            },
            Error::TokenOther { detail } => Error::TokenOther {
                detail: scrub(&detail),
            },
            // A builder error: no URL, body or secret in it.
            Error::ClientSetup { source } => Error::ClientSetup { source },
            Error::TooManyIds { site: s, count } => Error::TooManyIds {
                site: site(s),
                count,
            },
            Error::RepeatedCursor { site: s } => Error::RepeatedCursor { site: site(s) },
            Error::List { site: s, refused } => Error::List {
                site: site(s),
                refused: match refused {
                    super::paging::Refused::Repeated { id } => {
                        super::paging::Refused::Repeated { id: scrub(&id) }
                    }
                    other => other,
                },
            },
            Error::RateLimitWait { site: s, detail } => Error::RateLimitWait {
                site: site(s),
                detail: scrub(&detail),
            },
            Error::InvalidId { site: s, detail } => Error::InvalidId {
                site: site(s),
                detail: scrub(&detail),
            },
        }
    }

    /// The HTTP status of an error answer, if the API gave one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { answer, .. } | Error::Token { answer } => Some(answer.status),
            Error::TokenExpired { answer, .. } => Some(answer.status),
            _ => None,
        }
    }

    /// Whether getting an access token failed (the token endpoint refused the credentials or
    /// could not be reached): then no call was made, whatever call asked for the token.
    pub fn is_token(&self) -> bool {
        matches!(
            self,
            Error::Token { .. } | Error::TokenTransport { .. } | Error::TokenOther { .. }
        )
    }
}

/// An error and each of its causes on one line (`error: cause: cause`), for the printers that
/// put an error inside a longer message (one line per organization), where the top-level
/// printer's `caused by:` lines do not reach. The client's errors are scrubbed causes and all.
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        line.push_str(": ");
        line.push_str(&s.to_string());
        source = s.source();
    }
    line
}

/// Reads Auth0's error body (`message`/`errorCode`, or OAuth's `error`/`error_description`).
pub(super) fn parse_error_body(status: StatusCode, body: &[u8]) -> ApiAnswer {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let message = s("message")
        .or_else(|| s("error_description"))
        .or_else(|| s("error"))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let error_code = s("errorCode").or_else(|| v.get("error_description").and_then(|_| s("error")));
    ApiAnswer {
        status: status.as_u16(),
        error_code,
        message,
    }
}

fn api_hint(answer: &ApiAnswer) -> Option<String> {
    let m = answer.message.as_str();
    match (answer.status, answer.error_code.as_deref()) {
        (403, Some("insufficient_scope")) => {
            let scopes = m.split_once("expected any of:").map(|(_, s)| s.trim()).unwrap_or("the missing scope");
            Some(format!(
                "grant the scope `{scopes}` to the application in the Auth0 dashboard (Applications > APIs > Auth0 Management API > Machine to Machine Applications), then get a new token"
            ))
        }
        (401, _) if m.contains("Invalid signature") => Some(
            "the token was issued by another tenant or was altered: check that AUTH0_DOMAIN matches the tenant that issued AUTH0_API_TOKEN"
                .into(),
        ),
        (401, _) if m.contains("Client is not global") => Some(
            "the application behind this token is not a global client; use a Machine to Machine application authorized for the Management API"
                .into(),
        ),
        (401, _) if m.contains("Expired") => Some("the token has expired: get a new one, or use client credentials (AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET) so orgsync fetches its own".into()),
        (401, _) => Some("the token was not accepted: check AUTH0_API_TOKEN, or use AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET".into()),
        (404, _) => Some("check the organization's name or id in the config and that AUTH0_DOMAIN is the right tenant".into()),
        (429, _) => Some("the tenant's rate limit was still exhausted when orgsync gave up waiting; try again later or lower --max-rps".into()),
        (400, _) => Some("this is likely a bug in orgsync; please report it with the message above".into()),
        (s, _) if s >= 500 => Some("Auth0 had a server error; orgsync retried before giving up. Try again later".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: Option<&str>, message: &str) -> Error {
        Error::Api {
            site: CallSite {
                method: "GET",
                path: "/api/v2/organizations/org_1/members".into(),
                organization: Some("acme".into()),
            },
            answer: ApiAnswer {
                status,
                error_code: code.map(str::to_string),
                message: message.into(),
            },
        }
    }

    #[test]
    fn messages_name_the_call_and_the_answer() {
        let e = api(
            403,
            Some("insufficient_scope"),
            "Insufficient scope, expected any of: read:organization_members",
        );
        assert_eq!(
            e.to_string(),
            "`GET /api/v2/organizations/org_1/members` (organization `acme`) was refused: 403 insufficient_scope: Insufficient scope, expected any of: read:organization_members"
        );
        assert!(
            e.hint()
                .unwrap()
                .contains("grant the scope `read:organization_members`")
        );
    }

    #[test]
    fn each_401_has_its_own_hint() {
        let sig = api(
            401,
            None,
            "Invalid signature received for JSON Web Token validation",
        )
        .hint()
        .unwrap();
        assert!(sig.contains("another tenant or was altered"));
        let global = api(401, None, "Client is not global").hint().unwrap();
        assert!(global.contains("not a global client"));
        let invalid = api(401, None, "Invalid token").hint().unwrap();
        assert!(invalid.contains("not accepted"));
    }

    #[test]
    fn error_bodies_parse() {
        let a = parse_error_body(StatusCode::FORBIDDEN, br#"{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: x","errorCode":"insufficient_scope"}"#);
        assert_eq!(a.error_code.as_deref(), Some("insufficient_scope"));
        assert_eq!(a.message, "Insufficient scope, expected any of: x");
        let o = parse_error_body(
            StatusCode::UNAUTHORIZED,
            br#"{"error":"access_denied","error_description":"Unauthorized"}"#,
        );
        assert_eq!(
            (o.error_code.as_deref(), o.message.as_str()),
            (Some("access_denied"), "Unauthorized")
        );
        let n = parse_error_body(StatusCode::BAD_GATEWAY, b"<html>");
        assert_eq!(n.message, "Bad Gateway");
    }

    #[test]
    fn causes_are_a_chain_of_sources() {
        let e = Error::Transport {
            site: CallSite {
                method: "GET",
                path: "/api/v2/organizations".into(),
                organization: None,
            },
            kind: TransportKind::Connect,
            attempts: Some(3),
            source: Cause::chain(vec!["tcp connect error".into(), "refused".into()]),
        };
        assert_eq!(
            e.to_string(),
            "`GET /api/v2/organizations` failed: could not connect (after 3 attempts)"
        );
        let mut causes = Vec::new();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            causes.push(s.to_string());
            source = s.source();
        }
        assert_eq!(causes, ["tcp connect error", "refused"]);
        assert_eq!(
            one_line(&e),
            "`GET /api/v2/organizations` failed: could not connect (after 3 attempts): tcp connect error: refused"
        );
    }

    #[test]
    fn a_transport_kind_reads_as_its_text_did_and_picks_its_hint() {
        let kinds = [
            (TransportKind::Connect, "could not connect"),
            (TransportKind::Tls, "the TLS handshake failed"),
            (TransportKind::Timeout, "timed out"),
            (
                TransportKind::Body,
                "the connection broke while reading the answer",
            ),
            (
                TransportKind::Redirect,
                "the server answered with a redirect, which orgsync does not follow",
            ),
            (TransportKind::ShutDown, "the client was shut down"),
            (TransportKind::Other, "the request failed"),
        ];
        for (kind, text) in kinds {
            assert_eq!(kind.to_string(), text);
            let e = Error::TokenTransport {
                kind,
                attempts: Some(1),
                source: None,
            };
            assert_eq!(
                e.to_string(),
                format!("getting an access token failed: {text} (after 1 attempt)")
            );
            let hint = e.hint().unwrap_or_default();
            assert_eq!(
                hint.contains("does not speak TLS"),
                kind == TransportKind::Tls,
                "{hint}"
            );
        }
        let cap = TransportKind::TooLarge { cap: 1024 };
        assert_eq!(
            cap.to_string(),
            crate::bounded::AnswerError::TooLarge { cap: 1024 }.to_string()
        );
        let shut = Error::Transport {
            site: CallSite {
                method: "GET",
                path: "/x".into(),
                organization: None,
            },
            kind: TransportKind::ShutDown,
            attempts: None,
            source: None,
        };
        assert_eq!(
            shut.to_string(),
            "`GET /x` failed: the client was shut down"
        );
    }
}
