//! The API's error answer: an HTTP status and `{"error": CODE, "message": TEXT}`, from the
//! crate's [`Error`] (its kind decides the status) or from the service's own checks.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::{Error, ErrorKind};

/// An error answer of the API.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    /// A stable code for programs, e.g. `busy`, `forbidden_host`, `not_found`.
    pub code: &'static str,
    /// A sentence for people (never a secret).
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn busy(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "busy", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

/// The code and status for a crate error kind.
pub(crate) fn kind_code(kind: ErrorKind) -> (StatusCode, &'static str) {
    match kind {
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        ErrorKind::Busy => (StatusCode::CONFLICT, "busy"),
        ErrorKind::Timeout => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
        ErrorKind::Cancelled => (StatusCode::CONFLICT, "cancelled"),
        ErrorKind::CardRemoved => (StatusCode::CONFLICT, "card_removed"),
        ErrorKind::DeviceGone => (StatusCode::SERVICE_UNAVAILABLE, "device_gone"),
        ErrorKind::PaperJam => (StatusCode::SERVICE_UNAVAILABLE, "paper_jam"),
        ErrorKind::NoDocuments => (StatusCode::CONFLICT, "no_documents"),
        ErrorKind::CoverOpen => (StatusCode::SERVICE_UNAVAILABLE, "cover_open"),
        ErrorKind::MediaEmpty => (StatusCode::SERVICE_UNAVAILABLE, "media_empty"),
        ErrorKind::Unsupported => (StatusCode::UNPROCESSABLE_ENTITY, "unsupported"),
        ErrorKind::InvalidInput => (StatusCode::BAD_REQUEST, "invalid_input"),
        ErrorKind::Protocol => (StatusCode::BAD_GATEWAY, "protocol"),
        ErrorKind::Io => (StatusCode::INTERNAL_SERVER_ERROR, "io"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "backend"),
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let (status, code) = kind_code(e.kind());
        ApiError::new(status, code, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(json!({"error": self.code, "message": self.message})),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"buergerkoffer\""),
            );
        }
        r
    }
}

/// Parses a JSON body into `T` (unknown fields refused by `T`'s serde attributes), as a
/// `400 bad_request` with serde's message on failure.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("request body: {e}")))
}
