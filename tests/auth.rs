//! Sessions, tokens, throttles and client addresses (issue 13), through the
//! router and the `docgate` binary, on SQLite and PostgreSQL.

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use docgate::testing::{backends, TestEnv};
use docgate::web::auth::{self, Role, SessionPolicy};
use docgate::App;
use http_body_util::BodyExt;
use tower::ServiceExt;

const PASSWORD: &str = docgate::testing::TEST_PASSWORD;

// ------------------------------------------------------------ helpers

async fn env_with(backend: &str, f: impl FnOnce(&mut docgate::Config)) -> (TestEnv, App) {
    let mut env = TestEnv::new(backend).await;
    f(&mut env.config);
    let app = env.app().await;
    (env, app)
}

async fn add_user(app: &App, name: &str, role: Role) {
    docgate::testing::add_user(app, name, role, None).await;
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Resp {
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with(&format!("{name}=")))
    }
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

async fn send(router: &axum::Router, req: Request<Body>) -> Resp {
    let r = router.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A request as it arrives from the TCP peer `peer`, with extra headers.
fn from_peer(
    mut b: axum::http::request::Builder,
    peer: &str,
    headers: &[(&str, &str)],
    body: Body,
) -> Request<Body> {
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut req = b.body(body).unwrap();
    let addr: SocketAddr = format!("{peer}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    req
}

fn get_from(uri: &str, peer: &str, headers: &[(&str, &str)]) -> Request<Body> {
    from_peer(Request::get(uri), peer, headers, Body::empty())
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// Fetches the login form and posts it from `peer`; returns the form and the answer.
async fn login_from(
    router: &axum::Router,
    name: &str,
    pw: &str,
    peer: &str,
    headers: &[(&str, &str)],
) -> (Resp, Resp) {
    let form = send(router, get_from("/login", peer, headers)).await;
    let pre = form.set_cookie("docgate_login_csrf").expect("login cookie");
    let pair = cookie_pair(&pre);
    let token = pair.split_once('=').unwrap().1.to_string();
    let mut hs = headers.to_vec();
    hs.push(("content-type", "application/x-www-form-urlencoded"));
    hs.push(("cookie", &pair));
    let r = send(
        router,
        from_peer(
            Request::post("/login"),
            peer,
            &hs,
            Body::from(format!("csrf={token}&name={name}&password={pw}")),
        ),
    )
    .await;
    (form, r)
}

/// Logs in from 127.0.0.1; returns "docgate_session=…".
async fn session_of(router: &axum::Router, name: &str) -> String {
    let (_, r) = login_from(router, name, PASSWORD, "127.0.0.1", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    cookie_pair(&r.set_cookie("docgate_session").expect("session cookie"))
}

fn with_session(uri: &str, session: &str) -> Request<Body> {
    get_from(uri, "127.0.0.1", &[("cookie", session)])
}

fn with_token(uri: &str, token: &str) -> Request<Body> {
    get_from(
        uri,
        "127.0.0.1",
        &[("authorization", &format!("Bearer {token}"))],
    )
}

fn docgate(env: &TestEnv, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_docgate"))
        .args(args)
        .env_remove("DOCGATE_CONFIG")
        .envs(env.env())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn sessions_in_store(app: &App) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM web_sessions")
        .fetch_one(&docgate::testing::raw_pool(app).await)
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

async fn exec(app: &App, sql: &str, value: &str) {
    sqlx::query(sql)
        .bind(value.to_string())
        .execute(&docgate::testing::raw_pool(app).await)
        .await
        .unwrap();
}

fn ago(minutes: i64) -> String {
    auth::format_time(
        jiff::Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_mins(minutes))
            .unwrap(),
    )
}

// ------------------------------------------------------------ throttling

#[tokio::test]
async fn login_success_of_another_user_does_not_reset_the_address_failures() {
    for backend in backends() {
        let (_env, app) = env_with(backend, |c| c.web.login_max_failures = 3).await;
        add_user(&app, "jaan", Role::Staff).await;
        let router = docgate::web::router(app);
        let a = "198.51.100.7";
        // the attacker fails N-1 times from A, guessing names
        for name in ["kati", "mari"] {
            let (_, r) = login_from(&router, name, "vale-parool", a, &[]).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{backend}");
        }
        // a legitimate user logs in from A
        let (_, r) = login_from(&router, "jaan", PASSWORD, a, &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{backend}: {}", r.body);
        // the attacker's next failure still locks A
        let (_, r) = login_from(&router, "liis", "vale-parool", a, &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{backend}");
        let (_, r) = login_from(&router, "jaan", PASSWORD, a, &[]).await;
        assert_eq!(
            r.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{backend}: A is locked"
        );
        assert!(r.headers.contains_key(header::RETRY_AFTER));
        // the lock is the address's: jaan logs in from elsewhere
        let (_, r) = login_from(&router, "jaan", PASSWORD, "198.51.100.8", &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{backend}");
    }
}

#[tokio::test]
async fn parallel_wrong_passwords_get_no_more_guesses_than_sequential_ones() {
    for backend in backends() {
        let (_env, app) = env_with(backend, |c| c.web.login_max_failures = 3).await;
        add_user(&app, "kati", Role::Clerk).await;
        let router = docgate::web::router(app);
        // every request fetches its own form first, then all posts race
        let mut posts = vec![];
        for i in 0..12 {
            let form = send(&router, get_from("/login", "198.51.100.9", &[])).await;
            let pair = cookie_pair(&form.set_cookie("docgate_login_csrf").unwrap());
            let token = pair.split_once('=').unwrap().1.to_string();
            let req = from_peer(
                Request::post("/login"),
                "198.51.100.9",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("cookie", &pair),
                ],
                Body::from(format!("csrf={token}&name=kati&password=vale-{i}")),
            );
            posts.push(router.clone().oneshot(req));
        }
        let answers = futures::future::join_all(posts).await;
        let guessed = answers
            .iter()
            .filter(|r| r.as_ref().unwrap().status() == StatusCode::UNAUTHORIZED)
            .count();
        let refused = answers
            .iter()
            .filter(|r| r.as_ref().unwrap().status() == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert!(guessed <= 3, "{backend}: {guessed} guesses got through");
        assert_eq!(guessed + refused, 12, "{backend}");
    }
}

// ------------------------------------------------------------ client addresses

#[tokio::test]
async fn spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    for backend in backends() {
        let (_env, app) = env_with(backend, |c| {
            c.web.public_burst = 2;
            c.web.public_rate_per_minute = 1;
            c.web.trusted_proxies = vec!["10.0.0.0/8".into()];
            c.web.login_max_failures = 2;
        })
        .await;
        let router = docgate::web::router(app);
        let peer = "203.0.113.9";
        // the login throttle counts the peer, whatever address it claims
        for (i, name) in ["a1", "a2"].iter().enumerate() {
            let spoof = format!("192.0.2.{}", 100 + i);
            let (_, r) = login_from(
                &router,
                name,
                "vale-parool",
                peer,
                &[("x-forwarded-for", &spoof)],
            )
            .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{backend}");
        }
        let (_, r) = login_from(
            &router,
            "a3",
            "vale-parool",
            peer,
            &[("x-forwarded-for", "192.0.2.200")],
        )
        .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{backend}");
        let mut statuses = vec![];
        for i in 0..4 {
            let spoof = format!("192.0.2.{i}");
            let fwd = format!("for={spoof}");
            let r = send(
                &router,
                get_from(
                    "/avalik",
                    peer,
                    &[("x-forwarded-for", &spoof), ("forwarded", &fwd)],
                ),
            )
            .await;
            statuses.push(r.status);
        }
        assert_eq!(
            statuses,
            [
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::TOO_MANY_REQUESTS
            ],
            "{backend}: every spoofed address shares the peer's bucket"
        );
    }
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_get_separate_rate_limit_keys() {
    for backend in backends() {
        let (_env, app) = env_with(backend, |c| {
            c.web.public_burst = 2;
            c.web.public_rate_per_minute = 1;
            c.web.trusted_proxies = vec!["10.0.0.0/8".into(), "192.0.2.1".into()];
        })
        .await;
        let router = docgate::web::router(app);
        let proxy = "10.1.2.3";
        // client 1 (X-Forwarded-For) uses up its burst ...
        for want in [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS,
        ] {
            let r = send(
                &router,
                get_from(
                    "/avalik",
                    proxy,
                    &[("x-forwarded-for", "6.6.6.6, 198.51.100.1, 192.0.2.1")],
                ),
            )
            .await;
            assert_eq!(r.status, want, "{backend}: client 1");
        }
        // ... client 2 behind the same proxy has its own (Forwarded, then X-Forwarded-For)
        let r = send(
            &router,
            get_from(
                "/avalik",
                proxy,
                &[("forwarded", "for=\"198.51.100.2:5555\";proto=https")],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{backend}: client 2");
        let r = send(
            &router,
            get_from("/avalik", proxy, &[("x-forwarded-for", "198.51.100.2")]),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{backend}: client 2 again");
        // and the proxy itself, without forwarding headers, is a third client
        let r = send(&router, get_from("/avalik", proxy, &[])).await;
        assert_eq!(r.status, StatusCode::OK, "{backend}: the proxy");
    }
}

// ------------------------------------------------------------ Secure cookies

type Headers<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn cookies_are_secure_with_cookie_secure_or_behind_an_https_proxy() {
    for backend in backends() {
        // (cookie_secure, peer, headers, Secure expected)
        let cases: &[(bool, &str, Headers, bool)] = &[
            (false, "127.0.0.1", &[], false),
            (true, "127.0.0.1", &[], true),
            (false, "10.0.0.5", &[("x-forwarded-proto", "https")], true),
            (
                false,
                "10.0.0.5",
                &[("forwarded", "for=198.51.100.1;proto=https")],
                true,
            ),
            (false, "10.0.0.5", &[("x-forwarded-proto", "http")], false),
            // an untrusted peer cannot claim https
            (
                false,
                "203.0.113.9",
                &[("x-forwarded-proto", "https")],
                false,
            ),
            (
                false,
                "203.0.113.9",
                &[("forwarded", "for=198.51.100.1;proto=https")],
                false,
            ),
        ];
        for (i, (secure, peer, headers, want)) in cases.iter().enumerate() {
            let (_env, app) = env_with(backend, |c| {
                c.web.cookie_secure = *secure;
                c.web.trusted_proxies = vec!["10.0.0.0/8".into()];
            })
            .await;
            add_user(&app, "kati", Role::Clerk).await;
            let router = docgate::web::router(app);
            let (form, r) = login_from(&router, "kati", PASSWORD, peer, headers).await;
            assert_eq!(
                r.status,
                StatusCode::SEE_OTHER,
                "{backend} case {i}: {}",
                r.body
            );
            let pre = form.set_cookie("docgate_login_csrf").unwrap();
            let sc = r.set_cookie("docgate_session").unwrap();
            for c in [&pre, &sc] {
                assert!(
                    c.contains("HttpOnly") && c.contains("SameSite=Strict"),
                    "{c}"
                );
                assert_eq!(c.contains("; Secure"), *want, "{backend} case {i}: {c}");
            }
        }
    }
}

// ------------------------------------------------------------ session expiry

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_and_the_lifetime_and_are_deleted() {
    for backend in backends() {
        let (_env, app) = env_with(backend, |c| {
            c.web.session = Duration::from_secs(12 * 3600);
            c.web.session_idle = Duration::from_secs(30 * 60);
        })
        .await;
        add_user(&app, "kati", Role::Clerk).await;
        let router = docgate::web::router(app.clone());

        // idle 31 minutes (stored time written back): refused, deleted, to the login form
        let s = session_of(&router, "kati").await;
        assert_eq!(
            send(&router, with_session("/documents", &s)).await.status,
            StatusCode::OK
        );
        exec(&app, "UPDATE web_sessions SET last_seen_at = $1", &ago(31)).await;
        let r = send(&router, with_session("/documents", &s)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{backend}");
        assert_eq!(r.location(), "/login");
        assert_eq!(
            sessions_in_store(&app).await,
            0,
            "{backend}: expired session deleted"
        );

        // busy, but logged in 13 hours ago: over the absolute lifetime
        let s = session_of(&router, "kati").await;
        exec(
            &app,
            "UPDATE web_sessions SET created_at = $1",
            &ago(13 * 60),
        )
        .await;
        let r = send(&router, with_session("/api/v1/me", &s)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{backend}");
        assert_eq!(sessions_in_store(&app).await, 0, "{backend}");

        // past its stored end
        let s = session_of(&router, "kati").await;
        exec(&app, "UPDATE web_sessions SET expires_at = $1", &ago(1)).await;
        let r = send(&router, with_session("/documents", &s)).await;
        assert_eq!(r.location(), "/login", "{backend}");

        // with a manipulated clock: each request moves the idle timeout on
        let s = session_of(&router, "kati").await;
        let sid = s.split_once('=').unwrap().1;
        let policy =
            SessionPolicy::new(Duration::from_secs(12 * 3600), Duration::from_secs(30 * 60));
        let t0 = jiff::Timestamp::now();
        let at = |m: i64| t0.checked_add(jiff::SignedDuration::from_mins(m)).unwrap();
        for m in [20, 45, 70] {
            let live = auth::session_user_at(&app.store, sid, &policy, at(m))
                .await
                .unwrap();
            assert!(
                live.is_some(),
                "{backend}: used every 25 minutes, live at +{m}"
            );
        }
        assert!(auth::session_user_at(&app.store, sid, &policy, at(101))
            .await
            .unwrap()
            .is_none());
        assert_eq!(sessions_in_store(&app).await, 0, "{backend}");
        // a live session is not ended by the sweep at the next login
        let s = session_of(&router, "kati").await;
        session_of(&router, "kati").await;
        assert_eq!(
            send(&router, with_session("/documents", &s)).await.status,
            StatusCode::OK
        );
    }
}

// ------------------------------------------------------------ tokens

#[tokio::test]
async fn tokens_expire_and_revoked_or_expired_tokens_are_refused_at_once() {
    for backend in backends() {
        let (env, app) = env_with(backend, |_| {}).await;
        add_user(&app, "kati", Role::Clerk).await;
        let router = docgate::web::router(app.clone());

        let o = docgate(
            &env,
            &[
                "token",
                "create",
                "kati",
                "--label",
                "skript",
                "--expires-in-days",
                "5",
                "--json",
            ],
        );
        assert!(o.status.success(), "{backend}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        let token = v["token"].as_str().unwrap().to_string();
        let id = v["id"].as_i64().unwrap();
        let expires: jiff::Timestamp = v["expires_at"].as_str().unwrap().parse().unwrap();
        let days = expires.duration_since(jiff::Timestamp::now()).as_secs_f64() / 86400.0;
        assert!((4.99..=5.0).contains(&days), "{backend}: {days}");
        assert_eq!(
            send(&router, with_token("/api/v1/me", &token)).await.status,
            StatusCode::OK
        );

        // the default is 90 days; the plain output is the token alone on stdout
        let o = docgate(&env, &["token", "create", "kati"]);
        assert!(o.status.success(), "{backend}: {}", stderr(&o));
        let plain = stdout(&o).trim().to_string();
        assert!(plain.starts_with("dg_") && !plain.contains('\n'), "{plain}");
        assert!(stderr(&o).contains("token id"), "{}", stderr(&o));
        let d90 = auth::token_user_at(
            &app.store,
            &plain,
            jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_hours(89 * 24))
                .unwrap(),
        )
        .await
        .unwrap();
        assert!(d90.is_some(), "{backend}: live on day 89");
        let d91 = auth::token_user_at(
            &app.store,
            &plain,
            jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_hours(91 * 24))
                .unwrap(),
        )
        .await
        .unwrap();
        assert!(d91.is_none(), "{backend}: expired on day 91");

        // list: every field but never the token
        let o = docgate(&env, &["token", "list", "--json"]);
        assert!(o.status.success(), "{backend}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(
            !out.contains(&token) && !out.contains(&plain),
            "{backend}: list shows a token"
        );
        let list: serde_json::Value = serde_json::from_str(&out).unwrap();
        let row = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"].as_i64() == Some(id))
            .unwrap();
        assert_eq!(row["user"], "kati");
        assert_eq!(row["label"], "skript");
        assert_eq!(row["revoked"], false);
        assert_eq!(row["expires_at"], v["expires_at"]);
        assert!(row["created_at"].as_str().unwrap().ends_with('Z'));

        // revoke: exit 0, refused on the very next request
        let o = docgate(&env, &["token", "revoke", &id.to_string()]);
        assert!(o.status.success(), "{backend}: {}", stderr(&o));
        let r = send(&router, with_token("/api/v1/me", &token)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{backend}: {}", r.body);
        let o = docgate(&env, &["token", "list", "--json"]);
        let list: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert!(list
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"].as_i64() == Some(id) && t["revoked"] == true));
        // unknown id: exit 5 (not found) naming it
        let o = docgate(&env, &["token", "revoke", "987654"]);
        assert_eq!(o.status.code(), Some(5), "{backend}");
        assert!(stderr(&o).contains("987654"), "{}", stderr(&o));

        // an expired token (stored end in the past, or unreadable): refused at once
        assert_eq!(
            send(&router, with_token("/api/v1/me", &plain)).await.status,
            StatusCode::OK
        );
        exec(
            &app,
            "UPDATE web_tokens SET expires_at = $1 WHERE revoked = 0",
            &ago(1),
        )
        .await;
        assert_eq!(
            send(&router, with_token("/api/v1/me", &plain)).await.status,
            StatusCode::UNAUTHORIZED,
            "{backend}"
        );
        exec(
            &app,
            "UPDATE web_tokens SET expires_at = $1 WHERE revoked = 0",
            "",
        )
        .await;
        assert_eq!(
            send(&router, with_token("/api/v1/me", &plain)).await.status,
            StatusCode::UNAUTHORIZED,
            "{backend}"
        );
        // bad lifetimes are refused
        let o = docgate(&env, &["token", "create", "kati", "--expires-in-days", "0"]);
        assert_eq!(o.status.code(), Some(2), "{backend}");
    }
}

// ------------------------------------------------------------ disabling users

#[tokio::test]
async fn disabled_user_session_and_token_stop_on_the_next_request() {
    for backend in backends() {
        let (env, app) = env_with(backend, |_| {}).await;
        add_user(&app, "kati", Role::Clerk).await;
        add_user(&app, "jaan", Role::Staff).await;
        let token = auth::create_token(&app.store, "kati", "t").await.unwrap();
        let router = docgate::web::router(app.clone());
        let s = session_of(&router, "kati").await;
        let other = session_of(&router, "jaan").await;
        assert_eq!(
            send(&router, with_session("/documents", &s)).await.status,
            StatusCode::OK
        );
        assert_eq!(
            send(&router, with_token("/api/v1/me", &token)).await.status,
            StatusCode::OK
        );

        let o = docgate(&env, &["user", "disable", "kati"]);
        assert!(o.status.success(), "{backend}: {}", stderr(&o));
        let r = send(&router, with_session("/documents", &s)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{backend}");
        assert_eq!(r.location(), "/login");
        let r = send(&router, with_session("/api/v1/me", &s)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{backend}");
        let r = send(&router, with_token("/api/v1/me", &token)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{backend}");
        let (_, r) = login_from(&router, "kati", PASSWORD, "127.0.0.1", &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{backend}: no login");
        assert!(
            r.body.contains("Vale kasutajanimi või parool"),
            "{}",
            r.body
        );
        // others are untouched
        assert_eq!(
            send(&router, with_session("/documents", &other))
                .await
                .status,
            StatusCode::OK
        );
        let o = docgate(&env, &["user", "list", "--json"]);
        let users: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert!(users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "kati" && u["disabled"] == true));

        // enable: the token works again, the old session stays ended
        let o = docgate(&env, &["user", "enable", "kati"]);
        assert!(o.status.success(), "{backend}: {}", stderr(&o));
        assert_eq!(
            send(&router, with_token("/api/v1/me", &token)).await.status,
            StatusCode::OK
        );
        assert_eq!(
            send(&router, with_session("/documents", &s))
                .await
                .location(),
            "/login"
        );
        session_of(&router, "kati").await;

        let o = docgate(&env, &["user", "disable", "nosuchuser"]);
        assert_eq!(o.status.code(), Some(5), "{backend}");
        assert!(stderr(&o).contains("nosuchuser"), "{}", stderr(&o));
    }
}

// ------------------------------------------------------------ configuration

#[test]
fn a_bad_trusted_proxy_refuses_to_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_docgate"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--set", r#"web.trusted_proxies=["10.0.0.0/33"]"#, "serve"])
        .env_remove("DOCGATE_CONFIG")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "a configuration error is a usage error"
    );
    let e = stderr(&o);
    assert!(
        e.contains("web.trusted_proxies") && e.contains("10.0.0.0/33"),
        "{e}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_docgate"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--set", "web.session_idle=0s", "serve"])
        .env_remove("DOCGATE_CONFIG")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "a configuration error is a usage error"
    );
    assert!(stderr(&o).contains("web.session_idle"), "{}", stderr(&o));
}

// ------------------------------------------------------------ migration

/// Runs every migration of `backend` before 0009 on a fresh database, adds a
/// token and a session the old way, then 0009: returns the token's expiry and
/// the session's last request.
async fn legacy_rows_after_0009(url: &str, backend: &str) -> (String, String) {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let name = |p: &std::path::PathBuf| p.file_name().unwrap().to_string_lossy().into_owned();
    for f in files.iter().filter(|p| name(p).as_str() < "0009") {
        sqlx::raw_sql(&std::fs::read_to_string(f).unwrap())
            .execute(&mut conn)
            .await
            .unwrap();
    }
    for sql in [
        "INSERT INTO web_users (name, full_name, role, password_hash, disabled, created_at) \
         VALUES ('vana', 'Vana', 'staff', 'x', 0, '2026-01-10T08:00:00Z')",
        "INSERT INTO web_tokens (user_id, label, token_hash, created_at, revoked) \
         VALUES (1, 'old', 'abc', '2026-01-10T08:00:00Z', 0)",
        "INSERT INTO web_sessions (id_hash, user_id, csrf, created_at, expires_at) \
         VALUES ('s', 1, 'c', '2026-01-10T08:00:00Z', '2026-01-10T20:00:00Z')",
    ] {
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    }
    let f = files.iter().find(|p| name(p).starts_with("0009")).unwrap();
    sqlx::raw_sql(&std::fs::read_to_string(f).unwrap())
        .execute(&mut conn)
        .await
        .unwrap();
    let t = sqlx::query("SELECT expires_at FROM web_tokens")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let s = sqlx::query("SELECT last_seen_at FROM web_sessions")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    (t.try_get(0).unwrap(), s.try_get(0).unwrap())
}

#[tokio::test]
async fn migration_0009_gives_old_tokens_an_expiry_and_old_sessions_a_last_request() {
    for backend in backends() {
        let url = if backend == "sqlite" {
            "sqlite::memory:".to_string()
        } else {
            docgate::testing::fresh_postgres_database().await.unwrap()
        };
        assert_eq!(
            legacy_rows_after_0009(&url, backend).await,
            (
                "2026-04-10T08:00:00Z".to_string(),
                "2026-01-10T08:00:00Z".to_string()
            ),
            "{backend}"
        );
    }
}
