//! The HTTP both forges share: one client with bounded waits and no redirects, the token in a
//! header marked sensitive, one retry of a call that may safely be repeated, and errors that
//! carry the API's own message with the token scrubbed out.
//!
//! Every call ends by the commenting phase's [`Deadline`] (`--timeout`): each request may take
//! at most what remains of it, connecting, waiting and reading included, and a retry's pause
//! too. Each answer's body is read through [`crate::bounded::read_answer`], at most
//! [`ANSWER_BYTES`] counted as it streams. Text from the server reaches a message only as the
//! API's own error message (token scrubbed); a refused redirect or next page is named by its
//! origin alone.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use tokio::time::Instant;

use crate::bounded::{ANSWER_BYTES, AnswerError, read_answer};
use crate::text::clean;

/// How long one request may take at most, connecting included (less when the phase's deadline
/// is nearer).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Before the one retry of a call that got a 5xx or no answer.
const RETRY_DELAY: Duration = Duration::from_millis(500);
/// The most of an error body kept when it has no message field.
const BODY_EXCERPT: usize = 300;

/// When the commenting phase must have ended: `--timeout` after it began.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadline {
    pub(super) at: Instant,
    /// The whole phase's time, for messages.
    pub(super) total: Duration,
}

impl Deadline {
    /// `total` from now.
    pub(super) fn after(total: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + total,
            total,
        }
    }

    /// What remains of it; zero once past.
    pub(super) fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Says that the phase ran out of time.
    pub(super) fn message(&self) -> String {
        format!(
            "no answer within the commenting phase's time (`--timeout` {} s)",
            self.total.as_secs_f64()
        )
    }
}

/// A client for one forge API.
pub(super) struct Http {
    client: reqwest::Client,
    /// The API's base URL, without a trailing slash.
    pub(super) base: Url,
    headers: HeaderMap,
    token: String,
    deadline: Deadline,
}

/// An answer with a success status.
pub(super) struct Answer {
    pub(super) headers: HeaderMap,
    pub(super) body: String,
}

/// A call that failed: no answer, or an error answer.
#[derive(Debug)]
pub(super) struct CallError {
    pub(super) method: Method,
    /// The URL's path (no host, no query).
    pub(super) path: String,
    /// None when no answer came.
    pub(super) status: Option<StatusCode>,
    /// The API's message (or what went wrong on the way), token scrubbed, made safe to print.
    pub(super) message: String,
    /// Whether a 403 says the rate limit ran out (`x-ratelimit-remaining: 0`).
    pub(super) rate_limited: bool,
    /// Why the call was stopped on orgsync's side, if it was: repeating it cannot help.
    pub(super) stopped: Option<Stopped>,
}

/// A call orgsync stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stopped {
    /// The commenting phase's time (`--timeout`) ran out.
    OutOfTime,
    /// The answer was larger than [`ANSWER_BYTES`].
    TooLarge,
}

impl CallError {
    /// The hint for a call orgsync stopped; `api_var` names the variable holding the API's URL.
    pub(super) fn stopped_hint(&self, api_var: &str) -> Option<String> {
        self.stopped.map(|s| match s {
            Stopped::OutOfTime => {
                "give the run more time with `--timeout SECONDS`, or check the forge's status"
                    .to_string()
            }
            Stopped::TooLarge => format!(
                "no honest answer is that large: check that {api_var} names the forge's API"
            ),
        })
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(
                f,
                "{} {} answered {}: {}",
                self.method,
                self.path,
                s.as_u16(),
                self.message
            ),
            None => write!(f, "{} {} failed: {}", self.method, self.path, self.message),
        }
    }
}

/// `value` as an API base URL: https, or plain http for a loopback host (tests, a local fake);
/// no user:password, query or fragment. `var` names where it came from.
pub(super) fn base_url(var: &str, value: &str) -> Result<Url, String> {
    let url = Url::parse(value.trim())
        .map_err(|e| format!("{var} is not a URL ({e}): `{}`", clean(value)))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{var} holds a user name or password; give the token in its own variable"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{var} must not have a query or fragment: `{}`",
            clean(value)
        ));
    }
    let loopback = url.host_str().is_some_and(is_loopback);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(format!(
                "{var} `{}`: use https (plain http only for loopback addresses)",
                clean(value)
            ));
        }
    }
    let mut url = url;
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Http {
    /// A client for `base` sending `headers` with each request and `auth` (the token's header,
    /// marked sensitive so it is never logged). `token` is what to scrub from any text.
    pub(super) fn new(
        base: Url,
        mut headers: HeaderMap,
        auth: (HeaderName, String),
        token: &str,
        var: &str,
        deadline: Deadline,
    ) -> Result<Http, String> {
        let mut value = HeaderValue::from_str(&auth.1)
            .map_err(|_| format!("{var} holds characters a header cannot carry"))?;
        value.set_sensitive(true);
        headers.insert(auth.0, value);
        crate::secrets::register(var, token);
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("orgsync/", env!("CARGO_PKG_VERSION")))
            // Never follow a redirect: the token stays with the configured API.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT.min(deadline.total))
            .connect_timeout(CONNECT_TIMEOUT.min(deadline.total));
        if base.host_str().is_some_and(is_loopback) {
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| format!("could not set up the HTTP client: {e}"))?;
        Ok(Http {
            client,
            base,
            headers,
            token: token.to_string(),
            deadline,
        })
    }

    /// `base` + `path` (which starts with `/` and is already percent-encoded).
    pub(super) fn url(&self, path_and_query: &str) -> String {
        format!(
            "{}{path_and_query}",
            self.base.as_str().trim_end_matches('/')
        )
    }

    /// Whether `url` (a next-page link from an answer) is on the same origin as the API, so
    /// the token may go there.
    pub(super) fn same_origin(&self, url: &str) -> bool {
        Url::parse(url).is_ok_and(|u| u.origin() == self.base.origin())
    }

    /// Text from the API, made safe to print: the token replaced, control characters escaped.
    fn scrub(&self, text: &str) -> String {
        let text = if self.token.chars().count() < crate::secrets::MIN_LEN {
            text.to_string()
        } else {
            text.replace(&self.token, "[redacted]")
        };
        clean(&text)
    }

    /// Sends one call; a 5xx or a lost answer is retried once, unless it is a POST (which
    /// could then post twice).
    pub(super) async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&str>,
    ) -> Result<Answer, CallError> {
        let path = Url::parse(url)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| url.to_string());
        let retries = if method == Method::POST { 0 } else { 1 };
        let mut attempt = 0;
        loop {
            let result = self.once(method.clone(), url, body).await;
            let retry = match &result {
                Err(e) => e.stopped.is_none() && e.status.is_none_or(|s| s.is_server_error()),
                Ok(_) => false,
            };
            if retry && attempt < retries && self.deadline.remaining() > RETRY_DELAY {
                attempt += 1;
                tokio::time::sleep(RETRY_DELAY).await;
                continue;
            }
            return result.map_err(|mut e| {
                e.path = path.clone();
                e
            });
        }
    }

    async fn once(
        &self,
        method: Method,
        url: &str,
        body: Option<&str>,
    ) -> Result<Answer, CallError> {
        let fail = |status: Option<StatusCode>, message: String, rate_limited: bool| CallError {
            method: method.clone(),
            path: String::new(),
            status,
            message,
            rate_limited,
            stopped: None,
        };
        let out_of_time = |status: Option<StatusCode>| CallError {
            stopped: Some(Stopped::OutOfTime),
            ..fail(status, self.deadline.message(), false)
        };
        let remaining = self.deadline.remaining();
        if remaining.is_zero() {
            return Err(out_of_time(None));
        }
        let mut request = self
            .client
            .request(method.clone(), url)
            .headers(self.headers.clone())
            .timeout(REQUEST_TIMEOUT.min(remaining));
        if let Some(b) = body {
            // The one place a body goes to the forge: the run's secrets are replaced first.
            request = request.json(&serde_json::json!({ "body": crate::secrets::scrub(b) }));
        }
        tracing::info!("{method} {}", self.scrub(url));
        let sent = tokio::time::timeout_at(self.deadline.at, request.send()).await;
        let mut response = match sent {
            Err(_) => return Err(out_of_time(None)),
            Ok(Err(e)) if e.is_timeout() && self.deadline.remaining().is_zero() => {
                return Err(out_of_time(None));
            }
            Ok(Err(e)) => {
                // The call's path is in the message already; the URL (with any query a next
                // link brought) stays out.
                let e = e.without_url();
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    text.push_str(": ");
                    text.push_str(&s.to_string());
                    source = s.source();
                }
                return Err(fail(None, self.scrub(&text), false));
            }
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        let headers = response.headers().clone();
        let read =
            tokio::time::timeout_at(self.deadline.at, read_answer(&mut response, ANSWER_BYTES))
                .await;
        let bytes = match read {
            Err(_) => return Err(out_of_time(Some(status))),
            Ok(Err(AnswerError::TooLarge { .. })) => {
                return Err(CallError {
                    stopped: Some(Stopped::TooLarge),
                    ..fail(
                        Some(status),
                        format!(
                            "the answer is larger than {}, more than any honest answer; orgsync stopped reading it and acted on nothing in it",
                            crate::bounded::human(ANSWER_BYTES as u64)
                        ),
                        false,
                    )
                });
            }
            Ok(Err(AnswerError::Transport(e)))
                if e.is_timeout() && self.deadline.remaining().is_zero() =>
            {
                return Err(out_of_time(Some(status)));
            }
            Ok(Err(e)) => {
                return Err(fail(Some(status), format!("{e}"), false));
            }
            Ok(Ok(b)) => b,
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        drop(bytes);
        if status.is_success() {
            return Ok(Answer {
                headers,
                body: text,
            });
        }
        let rate_limited = headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0");
        let message = if status.is_redirection() {
            format!(
                "a redirect{}, which orgsync does not follow (the token stays with the API it was configured for)",
                headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(|l| format!(" to {}", origin_of(l)))
                    .unwrap_or_default()
            )
        } else {
            // Scrubbed before `api_message` cuts it to an excerpt.
            api_message(&crate::secrets::scrub(&text))
        };
        Err(fail(Some(status), self.scrub(&message), rate_limited))
    }
}

/// The message of an error body: GitHub's `message` with its `errors` (each `message`, or
/// `field` and `code`), GitLab's `message` (a text, a list or an object of lists) or `error`;
/// else the start of the body.
fn api_message(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return excerpt(body);
    };
    let mut parts = Vec::new();
    for key in ["message", "error", "error_description"] {
        match v.get(key) {
            Some(serde_json::Value::String(s)) => parts.push(s.clone()),
            Some(other @ (serde_json::Value::Array(_) | serde_json::Value::Object(_))) => {
                parts.push(other.to_string());
            }
            _ => {}
        }
    }
    if let Some(errors) = v.get("errors").and_then(|e| e.as_array()) {
        for e in errors {
            if let Some(m) = e.get("message").and_then(|m| m.as_str()) {
                parts.push(m.to_string());
            } else if let Some(s) = e.as_str() {
                parts.push(s.to_string());
            } else {
                let field = e.get("field").and_then(|f| f.as_str()).unwrap_or("?");
                let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("invalid");
                parts.push(format!("{field}: {code}"));
            }
        }
    }
    if parts.is_empty() {
        excerpt(body)
    } else {
        parts.join("; ")
    }
}

fn excerpt(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return "(no body)".to_string();
    }
    let mut end = body.len().min(BODY_EXCERPT);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    if end < body.len() {
        format!("{}…", &body[..end])
    } else {
        body.to_string()
    }
}

/// Where a URL from an answer points, named safely: its origin (`scheme://host[:port]`) alone,
/// never its path or query (which may carry a token), or "an address that is not a URL".
pub(super) fn origin_of(url: &str) -> String {
    match Url::parse(url.trim()) {
        Ok(u) if u.host_str().is_some() => {
            format!("`{}`", clean(&u.origin().ascii_serialization()))
        }
        _ => "an address that is not a URL".to_string(),
    }
}

/// What a body that could not be decoded was, without any of its text (which may echo a
/// header or a token): not JSON at all, cut short, or JSON of another shape than `expected`.
pub(super) fn shape_error(e: &serde_json::Error, expected: &str) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => format!("JSON, but not {expected}"),
        Category::Eof => format!("cut short (JSON ends early; expected {expected})"),
        Category::Syntax | Category::Io => format!(
            "not JSON (line {}, column {}; expected {expected})",
            e.line(),
            e.column()
        ),
    }
}

/// The URL of the `rel="next"` page in a `Link` header.
pub(super) fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            let (url, params) = part.split_once(';')?;
            let is_next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| url.to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_https_or_loopback_http() {
        assert_eq!(
            base_url("V", "https://api.github.com/").unwrap().as_str(),
            "https://api.github.com/"
        );
        assert_eq!(
            base_url("V", "https://ghe.example/api/v3/")
                .unwrap()
                .as_str(),
            "https://ghe.example/api/v3"
        );
        assert!(base_url("V", "http://127.0.0.1:8080").is_ok());
        assert!(base_url("V", "http://[::1]:8080").is_ok());
        let e = base_url("V", "http://api.github.com").unwrap_err();
        assert!(e.contains("plain http only for loopback"), "{e}");
        let e = base_url("V", "https://me:hunter2@api.github.com").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(base_url("V", "not a url").is_err());
        assert!(base_url("V", "https://h/?x=1").is_err());
    }

    #[test]
    fn messages_come_from_the_api_body() {
        assert_eq!(
            api_message(
                r#"{"message":"Validation Failed","errors":[{"resource":"IssueComment","code":"custom","field":"body","message":"body is too long (maximum is 65536 characters)"}]}"#
            ),
            "Validation Failed; body is too long (maximum is 65536 characters)"
        );
        assert_eq!(
            api_message(r#"{"message":"404 Not found"}"#),
            "404 Not found"
        );
        assert_eq!(
            api_message(r#"{"message":{"note":["is too long"]}}"#),
            r#"{"note":["is too long"]}"#
        );
        assert_eq!(api_message(""), "(no body)");
        assert!(api_message(&"z".repeat(1000)).ends_with('…'));
    }

    #[test]
    fn refused_addresses_and_bad_bodies_are_named_without_their_text() {
        assert_eq!(
            origin_of("https://other.example/next?access_token=s3cret"),
            "`https://other.example`"
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9/x?t=s3cret"),
            "`http://127.0.0.1:9`"
        );
        assert_eq!(
            origin_of("/relative?t=s3cret"),
            "an address that is not a URL"
        );
        let e = serde_json::from_str::<Vec<serde_json::Value>>(r#""Bearer s3cret""#).unwrap_err();
        assert_eq!(shape_error(&e, "a list"), "JSON, but not a list");
        let e = serde_json::from_str::<Vec<serde_json::Value>>("<html>s3cret").unwrap_err();
        assert!(shape_error(&e, "a list").starts_with("not JSON (line 1, column 1"));
        let e = serde_json::from_str::<Vec<serde_json::Value>>(r#"["s3cret"#).unwrap_err();
        assert!(!shape_error(&e, "a list").contains("s3cret"));
    }

    #[test]
    fn the_next_link_is_found() {
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(
                r#"<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next", <https://api.github.com/x?page=9>; rel="last""#,
            ),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/x?page=3")
        );
        assert_eq!(next_link(&HeaderMap::new()), None);
    }
}
