//! Auth0's error answers. [`ApiError`] is the typed error every Management API handler
//! returns, rendered as `{"statusCode","error","message","errorCode"?,"attributes"?}` with one
//! constructor per kind of refusal (401, 403 scope, 404, 400 query and body, 429, 5xx); the
//! token endpoint's OAuth bodies (`{"error","error_description"}`) and the 404 for unknown
//! routes are here too.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::json_response;

/// An Auth0 error answer: `{"statusCode","error","message","errorCode"?,"attributes"?}`.
#[derive(Debug)]
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) message: String,
    pub(super) error_code: Option<&'static str>,
    attributes: bool,
}

impl ApiError {
    pub(super) fn new(
        status: StatusCode,
        message: impl Into<String>,
        error_code: Option<&'static str>,
    ) -> Self {
        ApiError {
            status,
            message: message.into(),
            error_code,
            attributes: false,
        }
    }

    pub(super) fn unauthorized(message: &str) -> Self {
        ApiError {
            attributes: true,
            ..ApiError::new(StatusCode::UNAUTHORIZED, message, None)
        }
    }

    pub(super) fn insufficient_scope(scope: &str) -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            format!("Insufficient scope, expected any of: {scope}"),
            Some("insufficient_scope"),
        )
    }

    pub(super) fn org_not_found() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "No organization found by that id or name",
            None,
        )
    }

    pub(super) fn bad_query(message: String) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            message,
            Some("invalid_query_string"),
        )
    }

    pub(super) fn bad_body(message: String) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message, Some("invalid_body"))
    }

    pub(super) fn rate_limited(global: bool) -> Self {
        let message = if global {
            "Global limit has been reached"
        } else {
            "Too many requests to this endpoint"
        };
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            message,
            Some("too_many_requests"),
        )
    }

    pub(super) fn server(status: StatusCode) -> Self {
        let message = match status {
            StatusCode::SERVICE_UNAVAILABLE => "Service Unavailable",
            StatusCode::INTERNAL_SERVER_ERROR => "Internal Server Error",
            s => s.canonical_reason().unwrap_or("Error"),
        };
        ApiError::new(status, message, None)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::Map::new();
        body.insert("statusCode".into(), json!(self.status.as_u16()));
        body.insert(
            "error".into(),
            json!(self.status.canonical_reason().unwrap_or("Error")),
        );
        body.insert("message".into(), json!(self.message));
        if let Some(code) = self.error_code {
            body.insert("errorCode".into(), json!(code));
        }
        if self.attributes {
            body.insert("attributes".into(), json!({ "error": self.message }));
        }
        json_response(self.status, &serde_json::Value::Object(body))
    }
}

/// The token endpoint's error body: `{"error","error_description"}`.
pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

/// The router's fallback: any other path.
pub(super) async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "Not Found", None).into_response()
}
