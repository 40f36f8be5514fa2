//! The web application: the clerk's and lead's pages, the JSON API under
//! `/api/v1` with its OpenAPI document, users and sessions, and the public
//! register at `/avalik`.
//!
//! Entry points: [`router`] (the lead merges it with the DHX routes and binds
//! `web.listen`) and [`demo::load_demo`] (`docgate serve --demo`).
#![allow(
    clippy::field_reassign_with_default,
    clippy::type_complexity,
    clippy::unnecessary_sort_by
)]

pub mod api;
pub mod auth;
pub mod chart;
pub mod demo;
pub mod error;
pub mod headers;
pub mod i18n;
pub mod integrate;
pub mod openapi;
pub mod pages;
pub mod public;
pub mod query;
pub mod view;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue};
use axum::Router;
use serde::{Deserialize, Serialize};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::App;
use crate::error::Result;
use crate::model::Document;

pub use auth::{Role, User};
pub use demo::{load_demo, DemoLogin};
pub use error::{WebError, WebResult};

/// `[web]` in docgate.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Address the web application (and the API) listens on.
    pub listen: String,
    /// Mark the session cookie Secure (set when served over HTTPS).
    pub cookie_secure: bool,
    /// How long a login lasts, in hours.
    pub session_hours: u64,
    /// Which restricted documents staff see: any of "responsible" (they answer
    /// it), "unit" (their unit's), "cases" (threads where they answer a document).
    pub staff_sees: Vec<String>,
    /// Failed logins (per user name and per client address) before a lockout.
    pub login_max_failures: u32,
    /// Window in which failed logins are counted, in seconds.
    pub login_window_seconds: u64,
    /// Lockout after too many failed logins, in seconds.
    pub login_lockout_seconds: u64,
    /// Requests per minute one client address may make to the public register (0 = unlimited).
    pub public_rate_per_minute: u32,
    /// Burst the public register allows one client address.
    pub public_burst: u32,
    /// Largest request body, in bytes (uploads included).
    pub max_request_bytes: u64,
    /// Rows per page in lists.
    pub page_size: i64,
    /// A deadline within this many days counts as "due soon" on the dashboard.
    pub due_soon_days: i64,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: "127.0.0.1:8080".into(),
            cookie_secure: false,
            session_hours: 12,
            staff_sees: vec!["responsible".into(), "unit".into(), "cases".into()],
            login_max_failures: 5,
            login_window_seconds: 900,
            login_lockout_seconds: 300,
            public_rate_per_minute: 120,
            public_burst: 60,
            max_request_bytes: 64 * 1024 * 1024,
            page_size: 50,
            due_soon_days: 3,
        }
    }
}

/// Shared state of the web handlers.
#[derive(Clone)]
pub struct WebState(pub Arc<Inner>);

pub struct Inner {
    pub app: App,
    pub cfg: WebConfig,
    pub access: auth::StaffAccess,
    pub login_throttle: auth::Throttle,
    pub public_limiter: auth::RateLimiter,
}

impl std::ops::Deref for WebState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl WebState {
    pub fn new(app: App) -> Result<WebState> {
        let cfg = app.config.web.clone();
        let access = auth::StaffAccess::from_config(&cfg.staff_sees)?;
        Ok(WebState(Arc::new(Inner {
            login_throttle: auth::Throttle::new(
                cfg.login_max_failures,
                Duration::from_secs(cfg.login_window_seconds),
                Duration::from_secs(cfg.login_lockout_seconds),
            ),
            public_limiter: auth::RateLimiter::new(cfg.public_rate_per_minute, cfg.public_burst),
            access,
            cfg,
            app,
        })))
    }

    /// Today in the agency's time zone.
    pub fn today(&self) -> jiff::civil::Date {
        jiff::Timestamp::now()
            .to_zoned(self.app.config.timezone())
            .date()
    }

    /// Whether `user` may see the restricted content of `doc` (true for unrestricted ones).
    pub async fn can_see(&self, user: &User, doc: &Document) -> Result<bool> {
        if !view::restricted_now(doc, self.today()) {
            return Ok(true);
        }
        let quick = auth::may_see(user, doc, self.access, false);
        if quick || !self.access.cases || user.role.sees_all_restricted() {
            return Ok(quick);
        }
        let in_case = self
            .app
            .register
            .thread(doc.thread_id)
            .await?
            .iter()
            .any(|d| d.responsible.as_deref() == Some(user.name.as_str()));
        Ok(auth::may_see(user, doc, self.access, in_case))
    }

    /// Records a view or download of a restricted document (AvTS § 39(2)); no-op for public ones.
    pub async fn audit_access(
        &self,
        user: &User,
        doc: &Document,
        kind: &str,
        detail: serde_json::Value,
    ) -> Result<()> {
        if view::restricted_now(doc, self.today()) {
            self.app
                .register
                .record_event(Some(doc.id), kind, detail, &user.name)
                .await?;
        }
        Ok(())
    }
}

/// Who is calling: a session (with its CSRF token) or an API token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    /// Set for a browser session; API tokens need no CSRF token.
    pub csrf: Option<String>,
}

pub const SESSION_COOKIE: &str = "docgate_session";
pub const LOGIN_CSRF_COOKIE: &str = "docgate_login_csrf";

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// Finds the caller from the bearer token or the session cookie.
pub async fn principal(state: &WebState, headers: &HeaderMap) -> WebResult<Option<Principal>> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v
            .to_str()
            .map_err(|_| WebError::unauthorized("invalid authorization header"))?;
        let Some(token) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        else {
            return Err(WebError::unauthorized(
                "invalid authorization header: expected \"Bearer TOKEN\"",
            ));
        };
        return match auth::token_user(&state.app.store, token).await? {
            Some(user) => Ok(Some(Principal { user, csrf: None })),
            None => Err(WebError::unauthorized("invalid or revoked api token")),
        };
    }
    if let Some(sid) = cookie(headers, SESSION_COOKIE) {
        if let Some(s) = auth::session_user(&state.app.store, &sid).await? {
            return Ok(Some(Principal {
                user: s.user,
                csrf: Some(s.csrf),
            }));
        }
    }
    Ok(None)
}

impl FromRequestParts<WebState> for Principal {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> WebResult<Principal> {
        let p = principal(state, &parts.headers).await?.ok_or_else(|| {
            WebError::unauthorized("log in or send an api token (Authorization: Bearer TOKEN)")
        })?;
        // An unsafe API call with a session cookie is refused before its body is
        // read unless it carries the session's CSRF token (X-CSRF-Token).
        // (under a nested router the URI has lost its prefix: the original has it)
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map(|o| o.0.path().to_string())
            .unwrap_or_else(|| parts.uri.path().to_string());
        if !parts.method.is_safe() && path.starts_with("/api/") {
            api::require_csrf(&p, &parts.headers)?;
        }
        Ok(p)
    }
}

/// The caller, if any.
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequestParts<WebState> for MaybePrincipal {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> WebResult<MaybePrincipal> {
        Ok(MaybePrincipal(
            principal(state, &parts.headers).await.unwrap_or(None),
        ))
    }
}

/// The client's address (from the connection; unspecified under tests without one).
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
                .unwrap_or(IpAddr::from([0, 0, 0, 0])),
        ))
    }
}

/// The Content-Security-Policy of every response: nothing inline, nothing foreign.
pub const CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'";

/// The whole web application (pages, API, public register) with its security layers.
pub fn router(app: App) -> Router {
    let state = match WebState::new(app) {
        Ok(s) => s,
        Err(e) => {
            // The configuration is validated at start; a bad staff_sees ends up here.
            tracing::error!(error = %e, "invalid [web] configuration");
            let msg = e.to_string();
            return Router::new().fallback(move || {
                let msg = msg.clone();
                async move { WebError::internal(msg) }
            });
        }
    };
    router_with_state(state)
}

pub fn router_with_state(state: WebState) -> Router {
    let limit = usize::try_from(state.cfg.max_request_bytes).unwrap_or(usize::MAX);
    Router::new()
        .merge(pages::routes())
        .merge(public::routes())
        .nest("/api/v1", api::routes())
        .fallback(pages::not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_parsing() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; docgate_session=abc; lang=en"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "lang").as_deref(), Some("en"));
        assert_eq!(cookie(&h, "x"), None);
    }

    #[test]
    fn default_config_is_valid() {
        let c = WebConfig::default();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert!(c.listen.parse::<SocketAddr>().is_ok());
        assert!(auth::StaffAccess::from_config(&c.staff_sees).is_ok());
    }
}
