//! The web layer's errors: ONE table from the library's [`ErrorKind`] (plus the
//! few failures only the web layer has) to an HTTP status and a stable JSON
//! error code. API clients branch on `error.code`; the message is for people.
//!
//! Internal failures never leak their detail (no SQL, no paths, no stack
//! traces): the client sees "internal error" and the log has the rest.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::{Error, ErrorKind};

/// What went wrong, as the web layer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebErrorKind {
    /// A library error kind.
    Core(ErrorKind),
    /// Too many requests from this client (public register, login throttling).
    RateLimited,
    /// A form or unsafe API call without the right CSRF token.
    Csrf,
    /// No route, or a method the route does not have.
    MethodNotAllowed,
}

/// The table: kind → (status, stable code). Every response error goes through it.
pub const TABLE: &[(WebErrorKind, u16, &str)] = &[
    (WebErrorKind::Core(ErrorKind::Invalid), 400, "invalid"),
    (WebErrorKind::Core(ErrorKind::NotFound), 404, "not_found"),
    (WebErrorKind::Core(ErrorKind::Conflict), 409, "conflict"),
    (WebErrorKind::Core(ErrorKind::Forbidden), 403, "forbidden"),
    (
        WebErrorKind::Core(ErrorKind::Unauthorized),
        401,
        "unauthorized",
    ),
    (WebErrorKind::Core(ErrorKind::TooLarge), 413, "too_large"),
    (WebErrorKind::Core(ErrorKind::Integrity), 500, "integrity"),
    (WebErrorKind::Core(ErrorKind::Internal), 500, "internal"),
    (WebErrorKind::RateLimited, 429, "rate_limited"),
    (WebErrorKind::Csrf, 403, "csrf"),
    (WebErrorKind::MethodNotAllowed, 405, "method_not_allowed"),
];

/// Looks a kind up in [`TABLE`].
pub fn status_and_code(kind: WebErrorKind) -> (StatusCode, &'static str) {
    let (_, status, code) = TABLE
        .iter()
        .find(|(k, _, _)| *k == kind)
        .copied()
        .unwrap_or((kind, 500, "internal"));
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        code,
    )
}

/// An error a handler returns; it renders as JSON (API) by default.
#[derive(Debug)]
pub struct WebError {
    pub kind: WebErrorKind,
    pub message: String,
    /// Seconds the client should wait (429).
    pub retry_after: Option<u64>,
}

/// The JSON body of every API error.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

impl WebError {
    pub fn new(kind: WebErrorKind, message: impl Into<String>) -> Self {
        WebError {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn invalid(m: impl Into<String>) -> Self {
        Self::new(WebErrorKind::Core(ErrorKind::Invalid), m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(WebErrorKind::Core(ErrorKind::NotFound), m)
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self::new(WebErrorKind::Core(ErrorKind::Forbidden), m)
    }
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::new(WebErrorKind::Core(ErrorKind::Unauthorized), m)
    }
    pub fn too_large(m: impl Into<String>) -> Self {
        Self::new(WebErrorKind::Core(ErrorKind::TooLarge), m)
    }
    pub fn internal(m: impl Into<String>) -> Self {
        Self::new(WebErrorKind::Core(ErrorKind::Internal), m)
    }
    pub fn csrf() -> Self {
        Self::new(
            WebErrorKind::Csrf,
            "invalid or missing csrf token: reload the form and try again",
        )
    }
    pub fn rate_limited(retry_after: u64) -> Self {
        WebError {
            kind: WebErrorKind::RateLimited,
            message: format!("too many requests: try again in {retry_after} s"),
            retry_after: Some(retry_after),
        }
    }

    pub fn status(&self) -> StatusCode {
        status_and_code(self.kind).0
    }
    pub fn code(&self) -> &'static str {
        status_and_code(self.kind).1
    }

    /// The message a client may see: our own failures say only "internal error".
    pub fn public_message(&self) -> String {
        match self.kind {
            WebErrorKind::Core(ErrorKind::Internal) => "internal error".into(),
            WebErrorKind::Core(ErrorKind::Integrity) => {
                "stored data failed its integrity check: the administrator has been told".into()
            }
            _ => self.message.clone(),
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code().into(),
                message: self.public_message(),
            },
        }
    }
}

impl std::fmt::Display for WebError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message)
    }
}

impl From<Error> for WebError {
    fn from(e: Error) -> Self {
        let kind = e.kind();
        if !e.is_user_error() {
            tracing::error!(error = %e, "request failed");
        }
        WebError::new(WebErrorKind::Core(kind), e.to_string())
    }
}

impl From<sqlx::Error> for WebError {
    fn from(e: sqlx::Error) -> Self {
        Error::from(e).into()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut resp = (status, axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = axum::http::HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

pub type WebResult<T> = std::result::Result<T, WebError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_kind_is_in_the_table_once_with_a_distinct_code() {
        let kinds = [
            ErrorKind::Invalid,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::Forbidden,
            ErrorKind::Unauthorized,
            ErrorKind::TooLarge,
            ErrorKind::Integrity,
            ErrorKind::Internal,
        ];
        for k in kinds {
            let n = TABLE
                .iter()
                .filter(|(t, _, _)| *t == WebErrorKind::Core(k))
                .count();
            assert_eq!(n, 1, "{k:?}");
        }
        let mut codes: Vec<_> = TABLE.iter().map(|(_, _, c)| *c).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), TABLE.len());
        assert_eq!(
            status_and_code(WebErrorKind::Core(ErrorKind::NotFound)),
            (StatusCode::NOT_FOUND, "not_found")
        );
        assert_eq!(
            status_and_code(WebErrorKind::RateLimited).0,
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[test]
    fn internal_errors_do_not_leak_detail() {
        let e: WebError = Error::internal("disk /srv/secret/path exploded").into();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.body().error.message, "internal error");
        let e: WebError = Error::invalid("invalid date \"x\"").into();
        assert_eq!(e.body().error.code, "invalid");
        assert!(e.body().error.message.contains("\"x\""));
    }
}
