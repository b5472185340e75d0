//! The Auth0 Management API client: connection settings, credentials, paging, retries, rate-limit
//! pacing and typed errors.
//!
//! Retry and backoff live here and nowhere else (kube-rs keeps its `error_policy` apart from
//! `reconcile` the same way): commands ask for "the members of this organization" or "remove
//! these ten users" and get either the answer or an error that already carries the call, the
//! organization, what Auth0 said and a hint.
//!
//! Secrets: the token and the client secret live in [`Secret`], whose `Debug` prints
//! `[redacted]` and which has no `Display`; they are only ever written into the
//! `Authorization` header and the token request body, never into errors or logs. A server may
//! echo them back (a token endpoint answering 401 with the request body, say): every error the
//! client returns, its causes included, and every transport detail it logs, has them replaced
//! by `[redacted]` first. Requests to a loopback host (the emulator, `--sandbox`) never go
//! through a proxy (`HTTP_PROXY`, `ALL_PROXY`, …), which would otherwise see the plain-HTTP
//! secret and token.
//!
//! Untrusted input: numbers in an answer's headers are read by [`pacer::ServerLimits`] only;
//! every organization id put into a path must be an Auth0 organization id
//! ([`crate::ids::is_org_id`]), every name one of [`crate::ids::is_org_name`], else the call
//! fails unsent; organizations in answers with a malformed id are a decode error.
//!
//! Its files are in the code map (the crate's front page).

pub(crate) mod client;
pub(crate) mod credentials;
pub(crate) mod domain;
pub(crate) mod error;
pub(crate) mod members;
pub(crate) mod model;
pub(crate) mod organizations;
pub(crate) mod pacer;
pub(crate) mod paging;
pub(crate) mod reentry;
pub(crate) mod retry;
pub(crate) mod roles;
pub(crate) mod scrub;
pub(crate) mod token;

pub use client::{Client, PAGE_SIZE};
pub use credentials::{Credentials, MissingCredentials, Secret};
pub use domain::{Domain, DomainError};
pub use error::{ApiAnswer, CallSite, Cause, Error, TransportKind, one_line};
pub use model::{Organization, User};
pub use pacer::{Pacer, PacingTimeout, ServerLimits};
pub use paging::{LIST_BYTES, MEMBER_RECORDS, OFFSET_RECORDS, RUN_LIST_BYTES, Refused};
pub use reentry::UserDetails;
pub use retry::{CallRecord, ClientOptions, RetryPolicy, Stats};
pub use roles::{ADD_BATCH, EffectiveRole, is_role_id};

/// Percent-encodes a path segment or a query value: everything but RFC 3986's unreserved
/// characters (letters, digits, `-`, `.`, `_`, `~`), so `|` becomes `%7C`, as the live API
/// expects. Encoding `.` would not keep a segment from being `.` or `..`: URL parsing resolves
/// `%2E%2E` like `..`. What keeps them out of paths is the id checks ([`model::check_org_id`],
/// [`crate::ids::is_org_name`]), which run before any path is built into a URL.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn encoding() {
        assert_eq!(encode("auth0|abc"), "auth0%7Cabc");
        assert_eq!(encode("a+b@c.d"), "a%2Bb%40c.d");
        assert_eq!(encode("a b/c~_-"), "a%20b%2Fc~_-");
    }

    /// The reason `.` need not be encoded: the URL parser takes `%2E%2E` for `..` anyway.
    #[test]
    fn an_encoded_dot_segment_still_resolves() {
        let u = reqwest::Url::parse("http://h/api/v2/organizations/%2E%2E/members").unwrap();
        assert_eq!(u.path(), "/api/v2/members");
    }
}
