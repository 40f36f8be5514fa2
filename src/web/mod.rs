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
pub mod forms;
pub mod headers;
pub mod i18n;
pub mod integrate;
pub mod invoices;
pub mod openapi;
pub mod pages;
pub mod public;
pub mod query;
pub mod routes;
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
    /// Address the web application (and the API) listens on, IP:PORT.
    pub listen: SocketAddr,
    /// Mark the session and login cookies Secure (set when served over HTTPS;
    /// requests through a trusted proxy that says https get Secure cookies anyway).
    pub cookie_secure: bool,
    /// How long a login lasts at most ("12h").
    #[serde(with = "crate::config::duration")]
    pub session: Duration,
    /// A login ends after this long without a request ("30m").
    #[serde(with = "crate::config::duration")]
    pub session_idle: Duration,
    /// Reverse proxies (IP addresses or CIDR blocks) whose `Forwarded` /
    /// `X-Forwarded-For` / `X-Forwarded-Proto` headers are believed. Empty: none.
    pub trusted_proxies: Vec<String>,
    /// Which restricted documents staff see: any of "responsible" (they answer
    /// it), "unit" (their unit's), "cases" (threads where they answer a document).
    pub staff_sees: Vec<String>,
    /// Failed logins (per user name and per client address) before a lockout.
    pub login_max_failures: u32,
    /// Window in which failed logins are counted ("15m").
    #[serde(with = "crate::config::duration")]
    pub login_window: Duration,
    /// Lockout after too many failed logins ("5m").
    #[serde(with = "crate::config::duration")]
    pub login_lockout: Duration,
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
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            cookie_secure: false,
            session: Duration::from_secs(12 * 3600),
            session_idle: Duration::from_secs(30 * 60),
            trusted_proxies: vec![],
            staff_sees: vec!["responsible".into(), "unit".into(), "cases".into()],
            login_max_failures: 5,
            login_window: Duration::from_secs(900),
            login_lockout: Duration::from_secs(300),
            public_rate_per_minute: 120,
            public_burst: 60,
            max_request_bytes: 64 * 1024 * 1024,
            page_size: 50,
            due_soon_days: 3,
        }
    }
}

impl WebConfig {
    /// Checks the keys of sessions and client addresses (called by `Config::validate`).
    pub fn validate(&self) -> Result<()> {
        // The access policy's configuration: a bad entry refuses the start, not every request.
        crate::access::StaffAccess::from_config(&self.staff_sees)?;
        auth::TrustedProxies::parse(&self.trusted_proxies)?;
        let check = crate::config::check_duration;
        let (second, day) = (Duration::from_secs(1), Duration::from_secs(86_400));
        check("web.session", self.session, second, 90 * day)?;
        check("web.session_idle", self.session_idle, second, 90 * day)?;
        check("web.login_window", self.login_window, second, day)?;
        check("web.login_lockout", self.login_lockout, second, day)?;
        Ok(())
    }

    /// The session lifetime and idle timeout.
    pub fn session_policy(&self) -> auth::SessionPolicy {
        auth::SessionPolicy::new(self.session, self.session_idle)
    }
}

/// Shared state of the web handlers.
#[derive(Clone)]
pub struct WebState(pub Arc<Inner>);

pub struct Inner {
    pub app: App,
    pub cfg: WebConfig,
    pub access: crate::access::StaffAccess,
    pub login_throttle: auth::LoginThrottle,
    pub public_limiter: auth::RateLimiter,
    pub proxies: auth::TrustedProxies,
    pub sessions: auth::SessionPolicy,
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
        let access = crate::access::StaffAccess::from_config(&cfg.staff_sees)?;
        Ok(WebState(Arc::new(Inner {
            proxies: auth::TrustedProxies::parse(&cfg.trusted_proxies)?,
            sessions: cfg.session_policy(),
            login_throttle: auth::LoginThrottle::new(
                cfg.login_max_failures,
                cfg.login_window,
                cfg.login_lockout,
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

    /// The thread facts the access policy needs about `doc` for `user`.
    pub async fn facts(&self, user: &User, doc: &Document) -> Result<crate::access::Facts> {
        // only the "cases" rule asks, and only for a staff member
        let in_my_case = self.access.cases
            && user.role == Role::Staff
            && (doc.needs_review || view::restricted_now(doc, self.today()))
            && self
                .app
                .register
                .thread(doc.thread_id)
                .await?
                .iter()
                .any(|d| d.responsible.as_deref() == Some(user.name.as_str()));
        Ok(crate::access::Facts { in_my_case })
    }

    /// How much of `doc` the caller (None: the public) sees: [`crate::access::sight`].
    pub async fn sight(&self, user: Option<&User>, doc: &Document) -> Result<crate::access::Sight> {
        use crate::access::{sight, Facts, Principal};
        Ok(match user {
            None => sight(
                Principal::Anonymous,
                doc,
                Facts::default(),
                self.access,
                self.today(),
            ),
            Some(u) => {
                let facts = self.facts(u, doc).await?;
                sight(Principal::User(u), doc, facts, self.access, self.today())
            }
        })
    }

    /// Whether `user` may see `doc` in full (the access policy's [`crate::access::Sight::Full`]).
    pub async fn can_see(&self, user: &User, doc: &Document) -> Result<bool> {
        Ok(self.sight(Some(user), doc).await? == crate::access::Sight::Full)
    }

    /// The search's caller for `user` (None: the public), built by
    /// [`crate::access::search_caller`] from the same policy as [`Self::sight`].
    pub async fn search_caller(&self, user: Option<&User>) -> Result<crate::search::query::Caller> {
        use crate::access::{search_caller, Principal, SearchFacts, Sight};
        let Some(u) = user else {
            return Ok(search_caller(
                Principal::Anonymous,
                self.access,
                SearchFacts::default(),
            ));
        };
        if u.role.sees_all_restricted() && !u.disabled {
            return Ok(search_caller(
                Principal::User(u),
                self.access,
                SearchFacts::default(),
            ));
        }
        let my_threads = self.app.register.threads_of_responsible(&u.name).await?;
        let unit_spellings = match u.unit.as_deref().filter(|s| !s.is_empty()) {
            Some(unit) if self.access.unit => query::unit_spellings(self, unit).await?,
            _ => Vec::new(),
        };
        let unclassified = self
            .app
            .register
            .list(&crate::register::ListFilter {
                needs_review: Some(true),
                ..Default::default()
            })
            .await?;
        let today = self.today();
        let hidden_unclassified = unclassified
            .iter()
            .filter(|d| {
                let facts = crate::access::Facts {
                    in_my_case: my_threads.contains(&d.thread_id),
                };
                crate::access::sight(Principal::User(u), d, facts, self.access, today)
                    != Sight::Full
            })
            .map(|d| d.id)
            .collect();
        Ok(search_caller(
            Principal::User(u),
            self.access,
            SearchFacts {
                my_threads,
                unit_spellings,
                hidden_unclassified,
            },
        ))
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
            None => Err(WebError::unauthorized(
                "invalid, expired or revoked api token, or a disabled user",
            )),
        };
    }
    if let Some(sid) = cookie(headers, SESSION_COOKIE) {
        if let Some(s) = auth::session_user(&state.app.store, &sid, &state.sessions).await? {
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

/// Where the request came from: the connection's peer, or the client a trusted
/// proxy (`web.trusted_proxies`) names; the one source of client addresses for
/// the public rate limit, the login throttle and the audit trail, and of whether
/// the request reached us over TLS.
pub fn client_of(state: &WebState, parts: &Parts) -> auth::Client {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    state.proxies.client(peer, &parts.headers)
}

impl FromRequestParts<WebState> for auth::Client {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(client_of(state, parts))
    }
}

/// The client's address (see [`client_of`]; unspecified under tests without a connection).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<WebState> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> std::result::Result<Self, Self::Rejection> {
        Ok(ClientIp(client_of(state, parts).ip))
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

/// The web layer's route table: pages, the public register and the API.
fn web_routes() -> routes::Routes {
    routes::Routes::new()
        .merge(pages::routes())
        .merge(public::routes())
        .nest("/api/v1", api::routes())
}

/// Routes the daemon's router adds beside the web layer's (`serve::http_router`):
/// the health check and the DHX endpoint.
pub const OTHER_ROUTES: [(&str, &str); 2] = [("GET", "/healthz"), ("POST", "/dhx")];

/// Every route of the full HTTP router as `(METHOD, path)` (axum's `{param}`
/// placeholders): the web layer's table as it was built, plus [`OTHER_ROUTES`].
pub fn route_list() -> Vec<(&'static str, String)> {
    let mut v = web_routes().list().to_vec();
    v.extend(OTHER_ROUTES.iter().map(|(m, p)| (*m, p.to_string())));
    v
}

pub fn router_with_state(state: WebState) -> Router {
    let limit = usize::try_from(state.cfg.max_request_bytes).unwrap_or(usize::MAX);
    let errors = axum::middleware::from_fn_with_state(state.clone(), error::page_with_user);
    web_routes()
        .into_router()
        .fallback(pages::not_found)
        .with_state(state)
        .layer(errors)
        .layer(axum::middleware::from_fn(i18n::from_query))
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
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(crate::access::StaffAccess::from_config(&c.staff_sees).is_ok());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn session_and_proxy_keys_are_validated_naming_the_key() {
        for (f, key) in [
            (
                (|c: &mut WebConfig| c.trusted_proxies = vec!["10.0.0.0/33".into()])
                    as fn(&mut WebConfig),
                "web.trusted_proxies",
            ),
            (
                |c: &mut WebConfig| c.session = Duration::ZERO,
                "web.session",
            ),
            (
                |c: &mut WebConfig| c.staff_sees = vec!["everyone".into()],
                "web.staff_sees",
            ),
            (
                |c: &mut WebConfig| c.session_idle = Duration::ZERO,
                "web.session_idle",
            ),
            (
                |c: &mut WebConfig| c.login_lockout = Duration::from_secs(86_400 * 365),
                "web.login_lockout",
            ),
        ] {
            let mut c = WebConfig::default();
            f(&mut c);
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
    }
}
