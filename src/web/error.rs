//! The web layer's errors: ONE table from the library's [`ErrorKind`] (plus the
//! few failures only the web layer has) to an HTTP status and a stable JSON
//! error code. API clients branch on `error.code`; the message is for people.
//!
//! Internal failures never leak their detail (no SQL, no paths, no stack
//! traces): the client sees "internal error" and the log has the rest.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::auth::User;
use super::i18n::Lang;

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

/// Every kind, for the catalogue of error sentences and the API description.
pub const ALL_KINDS: [WebErrorKind; 11] = [
    WebErrorKind::Core(ErrorKind::Invalid),
    WebErrorKind::Core(ErrorKind::NotFound),
    WebErrorKind::Core(ErrorKind::Conflict),
    WebErrorKind::Core(ErrorKind::Forbidden),
    WebErrorKind::Core(ErrorKind::Unauthorized),
    WebErrorKind::Core(ErrorKind::TooLarge),
    WebErrorKind::Core(ErrorKind::Integrity),
    WebErrorKind::Core(ErrorKind::Internal),
    WebErrorKind::RateLimited,
    WebErrorKind::Csrf,
    WebErrorKind::MethodNotAllowed,
];

/// Kind → (status, stable code): an exhaustive match, so a new kind does not
/// compile until it has its status. Every response error goes through it.
pub fn status_and_code(kind: WebErrorKind) -> (StatusCode, &'static str) {
    match kind {
        WebErrorKind::Core(k) => match k {
            ErrorKind::Invalid => (StatusCode::BAD_REQUEST, "invalid"),
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
            ErrorKind::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ErrorKind::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ErrorKind::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ErrorKind::Integrity => (StatusCode::INTERNAL_SERVER_ERROR, "integrity"),
            ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        },
        WebErrorKind::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        WebErrorKind::Csrf => (StatusCode::FORBIDDEN, "csrf"),
        WebErrorKind::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
    }
}

/// The JSON name of a library field (`Error::field`), where the API's body
/// names it otherwise: a party's name and code are inside `parties`.
pub fn json_field(field: &'static str) -> &'static str {
    match field {
        "party" => "parties[].name",
        "party_code" => "parties[].code",
        "party_email" => "parties[].email",
        "query" => "q",
        other => other,
    }
}

/// An error a handler returns; it renders as JSON (API) by default.
#[derive(Debug)]
pub struct WebError {
    pub kind: WebErrorKind,
    pub message: String,
    /// The input concerned, in the library's name (`Error::field`).
    pub field: Option<&'static str>,
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
    /// The JSON field the error concerns, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl WebError {
    pub fn new(kind: WebErrorKind, message: impl Into<String>) -> Self {
        WebError {
            kind,
            message: message.into(),
            field: None,
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
            field: None,
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
                field: self.field.map(|f| json_field(f).to_string()),
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
        // A field error names the field as the API's body does.
        let message = match (&e, e.field()) {
            (Error::Invalid { .. }, Some(f)) => {
                format!("invalid {}: {}", json_field(f), e.reason())
            }
            (Error::NotFound { .. }, Some(f)) => {
                format!("unknown {}: {}", json_field(f), e.reason())
            }
            _ => e.to_string(),
        };
        WebError {
            field: e.field(),
            ..WebError::new(WebErrorKind::Core(kind), message)
        }
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

// ------------------------------------------------------------ the error page

/// What an HTML error page says, kept on the response (an extension) so that
/// [`page_with_user`] can render it again with the caller's header.
#[derive(Debug, Clone)]
pub struct ErrorPageInfo {
    pub lang: Lang,
    pub status: u16,
    pub code: &'static str,
    /// The detail (English, as the library words it); shown on the English page.
    pub detail: String,
    pub retry_after: Option<u64>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    l: Lang,
    user: Option<User>,
    csrf: String,
    agency: String,
    status: u16,
    code: &'static str,
    /// The page's words for the error: `err_<code>` in the catalogue.
    message: &'static str,
    detail: Option<String>,
    /// Where "back" goes: the front page for a user, the public register else.
    back: &'static str,
}

impl ErrorPageInfo {
    pub fn of(e: &WebError, lang: Lang) -> Self {
        ErrorPageInfo {
            lang,
            status: e.status().as_u16(),
            code: e.code(),
            detail: e.public_message(),
            retry_after: e.retry_after,
        }
    }

    /// The page as HTML with its status (and `Retry-After`), for `user` or the public.
    pub fn render(&self, user: Option<User>, csrf: String, agency: String) -> Response {
        let l = self.lang;
        let back = if user.is_some() { "/" } else { "/avalik" };
        let page = ErrorPage {
            l,
            user,
            csrf,
            agency,
            status: self.status,
            code: self.code,
            message: l.t(&format!("err_{}", self.code)),
            // The library words its details in English: the Estonian page
            // shows its own sentence for the code.
            detail: (l == Lang::En && !self.detail.is_empty()).then(|| self.detail.clone()),
            back,
        };
        let mut r = match page.render() {
            Ok(body) => body.into_response(),
            Err(e) => {
                tracing::error!(error = %e, "template failed");
                return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
            }
        };
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                h.insert(header::RETRY_AFTER, v);
            }
        }
        *r.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        r.extensions_mut().insert(self.clone());
        r
    }
}

/// Middleware over every route: an HTML error page (marked by its
/// [`ErrorPageInfo`]) is rendered again with the caller's own header — the
/// logged-in user's navigation and logout, or the public's — and the agency.
/// A handler's error comes before its user is known (a bad form is refused by
/// its extractor), so this is the one place that can.
pub async fn page_with_user(
    axum::extract::State(state): axum::extract::State<super::WebState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = req.headers().clone();
    let resp = next.run(req).await;
    let Some(mut info) = resp.extensions().get::<ErrorPageInfo>().cloned() else {
        return resp;
    };
    // the request's language (`?lang=` or the cookie), whatever the handler knew
    info.lang = super::pages::lang_of(&headers);
    let p = super::principal(&state, &headers).await.ok().flatten();
    let (user, csrf) = match p {
        Some(p) => (Some(p.user), p.csrf.unwrap_or_default()),
        None => (None, String::new()),
    };
    let mut again = info.render(user, csrf, state.app.config.agency.name.clone());
    for v in resp.headers().get_all(header::SET_COOKIE) {
        again.headers_mut().append(header::SET_COOKIE, v.clone());
    }
    again
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_code_and_its_status() {
        let mut codes: Vec<_> = ALL_KINDS.iter().map(|k| status_and_code(*k).1).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), ALL_KINDS.len());
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
    fn a_field_error_names_the_json_field_not_a_flag() {
        let e = WebError::from(Error::invalid_field("party_code", "\"123\" is no code"));
        let body = e.body();
        assert_eq!(body.error.code, "invalid");
        assert_eq!(body.error.field.as_deref(), Some("parties[].code"));
        assert_eq!(
            body.error.message,
            "invalid parties[].code: \"123\" is no code"
        );
        assert!(!body.error.message.contains("--"));
        let e = WebError::from(Error::invalid_field(
            "received",
            "2030-01-01 is after the registration date",
        ));
        assert_eq!(e.body().error.field.as_deref(), Some("received"));
        assert_eq!(
            WebError::from(Error::invalid("bad")).body().error.field,
            None
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
