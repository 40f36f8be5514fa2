//! The web session of the router tests (`desk_forms.rs`, `invoices.rs`):
//! log in through the form, keep the cookie and the page's CSRF token, send
//! pages and forms.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use docgate::testing::TEST_PASSWORD;
use http_body_util::BodyExt;
use tower::ServiceExt;

pub struct Resp {
    pub status: StatusCode,
    pub location: String,
    pub body: String,
}

pub async fn send(router: &axum::Router, req: Request<Body>) -> Resp {
    let r = router.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A logged-in browser: the session cookie and the page's CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

pub async fn login(router: &axum::Router, name: &str) -> Session {
    let r = router
        .clone()
        .oneshot(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let pre = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("docgate_login_csrf="))
        .unwrap();
    let token = pre.split_once('=').unwrap().1.to_string();
    let r = router
        .clone()
        .oneshot(
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, &pre)
                .body(Body::from(format!(
                    "csrf={token}&name={name}&password={TEST_PASSWORD}"
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("docgate_session="))
        .unwrap_or_else(|| panic!("{name} could not log in: {}", r.status()));
    let page = send(
        router,
        Request::get("/search")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let csrf = regex::Regex::new(r#"name="csrf" value="([^"]+)""#)
        .unwrap()
        .captures(&page.body)
        .unwrap_or_else(|| panic!("no csrf on the page: {}", page.body))[1]
        .to_string();
    Session { cookie, csrf }
}

pub fn page(s: &Session, uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, &s.cookie)
        .body(Body::empty())
        .unwrap()
}

pub fn form(s: &Session, uri: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let mut body = format!("csrf={}", s.csrf);
    for (k, v) in fields {
        body.push_str(&format!("&{k}={}", docgate::web::pages::urlencode(v)));
    }
    Request::post(uri)
        .header(header::COOKIE, &s.cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}
