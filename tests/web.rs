//! Web application tests: the router through `tower::ServiceExt::oneshot`, the
//! leak test over the public register and the API, schemathesis against a live
//! `docgate serve`, and the end-to-end walk-through in real headless Chromium.

mod browser;

use std::path::Path;
use std::process::Command;

use browser::*;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use docgate::model::*;
use docgate::web::auth::Role;
use docgate::{App, Config};
use http_body_util::BodyExt;
use tower::ServiceExt;

// ------------------------------------------------------------ helpers

async fn app_with(dir: &Path, f: impl FnOnce(&mut Config)) -> App {
    let mut cfg = Config {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    };
    f(&mut cfg);
    App::open(cfg).await.unwrap()
}

async fn user(app: &App, name: &str, role: Role, unit: Option<&str>) -> String {
    docgate::testing::user_with_token(app, name, role, unit).await
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Resp {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not json ({e}): {}", self.body))
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

fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::empty()).unwrap()
}

fn json_req(method: &str, uri: &str, token: &str, body: serde_json::Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn person(name: &str, code: Option<&str>) -> Party {
    Party {
        kind: PartyKind::Person,
        role: PartyRole::Sender,
        name: name.into(),
        code: code.map(Into::into),
        email: Some(format!(
            "{}@example.ee",
            name.to_lowercase().replace(' ', ".")
        )),
    }
}

fn restricted_doc(title: &str, body: &str, responsible: Option<&str>) -> NewDocument {
    let mut nd = NewDocument::new(Direction::Incoming, Channel::Email, title);
    nd.parties = vec![person("Mari Maasikas", Some("49403136526"))];
    nd.body = Some(body.into());
    nd.responsible = responsible.map(Into::into);
    nd.restriction = Some(NewRestriction {
        end_by: Default::default(),
        ground: "AvTS § 35 lg 1 p 11".into(),
        ends: jiff::civil::date(2090, 1, 1),
        holder: None,
        begins: None,
    });
    nd.files = vec![NewFile::new(
        "taotlus.txt",
        "text/plain",
        b"salajane sisu".to_vec(),
    )];
    nd
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// Logs in through the form; returns the session cookie ("docgate_session=...").
async fn login(router: &axum::Router, name: &str, pw: &str) -> Resp {
    let r = send(router, get("/login", None)).await;
    let pre = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("docgate_login_csrf="))
        .unwrap();
    let token = cookie_value(&pre).split_once('=').unwrap().1.to_string();
    let body = format!("csrf={token}&name={name}&password={pw}");
    send(
        router,
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie_value(&pre))
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

// ------------------------------------------------------------ router tests

#[tokio::test]
async fn login_sets_strict_httponly_cookie_requires_csrf_and_throttles() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |c| c.web.login_max_failures = 3).await;
    user(&app, "kati", Role::Clerk, None).await;
    let router = docgate::web::router(app);

    // without the login CSRF cookie: refused
    let r = send(
        &router,
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("csrf=x&name=kati&password=parool-12345"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let ok = login(&router, "kati", "parool-12345").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let sc = ok
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("docgate_session="))
        .unwrap();
    assert!(
        sc.contains("HttpOnly") && sc.contains("SameSite=Strict"),
        "{sc}"
    );
    assert!(!sc.contains("Secure"), "{sc}");
    let session = cookie_value(&sc);

    // pages work with the session; forms without the CSRF token are refused
    let r = send(
        &router,
        Request::get("/inbox")
            .header(header::COOKIE, &session)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Sisendkast"));
    let r = send(
        &router,
        Request::post("/logout")
            .header(header::COOKIE, &session)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("csrf=wrong"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // an API write with the session but without X-CSRF-Token: refused with code csrf
    let r = send(
        &router,
        Request::post("/api/v1/users")
            .header(header::COOKIE, &session)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.json()["error"]["code"], "csrf", "{}", r.body);

    // anonymous page → login
    let r = send(&router, get("/documents", None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/login");

    // wrong passwords: 401, then throttled with 429 even for the right one
    for _ in 0..3 {
        let r = login(&router, "kati", "vale-parool").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = login(&router, "kati", "parool-12345").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn api_errors_are_json_with_stable_codes_and_roles_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |_| {}).await;
    let clerk = user(&app, "kati", Role::Clerk, None).await;
    let staff = user(&app, "jaan", Role::Staff, None).await;
    let lead = user(&app, "juht", Role::Lead, None).await;
    let router = docgate::web::router(app.clone());

    let r = send(&router, get("/api/v1/documents", None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"]["code"], "unauthorized");
    let r = send(&router, get("/api/v1/documents", Some("dg_nonsense"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // register with upload (multipart)
    let boundary = "XyZ";
    let meta = serde_json::json!({"direction":"incoming","channel":"email","title":"Teabenõue","series":"1-7",
        "parties":[{"name":"Toomas Tamm","role":"sender","email":"t@example.ee"}],
        "body":"Palun teavet. Isikukood 38507210218."});
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/json\r\n\r\n{meta}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../etc/passwd\"\r\nContent-Type: text/plain\r\n\r\nfaili sisu\r\n--{boundary}--\r\n"
    );
    let upload = |token: &str| {
        Request::post("/api/v1/documents")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let r = send(&router, upload(&staff)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "forbidden");
    let r = send(&router, upload(&clerk)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let doc = r.json();
    assert_eq!(
        doc["files"][0]["name"], "passwd",
        "directories stripped from file names"
    );
    assert_eq!(doc["contains_personal_data"], true);
    assert_eq!(doc["proposed_ground"], "AvTS § 35 lg 1 p 12");
    let id = doc["id"].as_i64().unwrap();
    let sha = doc["files"][0]["sha256"].as_str().unwrap().to_string();

    let r = send(&router, get("/api/v1/documents?series=1-7", Some(&clerk))).await;
    assert_eq!(r.json()["total"], 1);
    let r = send(&router, get("/api/v1/documents?series=9-13", Some(&clerk))).await;
    assert_eq!(r.json()["total"], 0);
    let traversal = format!("/api/v1/documents/{id}/files/..%2F..%2Fetc%2Fpasswd");
    let missing = format!("/api/v1/documents/{id}/files/{}", "0".repeat(64));
    for (uri, status, code) in [
        ("/api/v1/documents/999999", 404, "not_found"),
        ("/api/v1/documents/abc", 400, "invalid"),
        ("/api/v1/documents?limit=0", 400, "invalid"),
        (
            "/api/v1/documents?registered_from=2026-02-30",
            400,
            "invalid",
        ),
        ("/api/v1/nothing", 404, "not_found"),
        (traversal.as_str(), 400, "invalid"),
        (missing.as_str(), 404, "not_found"),
        ("/api/v1/search?q=%20", 400, "invalid"),
    ] {
        let r = send(&router, get(uri, Some(&clerk))).await;
        assert_eq!(r.status.as_u16(), status, "{uri}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], code, "{uri}");
        assert!(r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
    }
    let r = send(
        &router,
        get(&format!("/api/v1/documents/{id}/files/{sha}"), Some(&clerk)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, "faili sisu");
    assert!(r.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("attachment"));

    // edit, restrict, extend, lift
    let r = send(
        &router,
        json_req(
            "PATCH",
            &format!("/api/v1/documents/{id}"),
            &clerk,
            serde_json::json!({"responsible":"jaan","needs_review":false}),
        ),
    )
    .await;
    assert_eq!(r.json()["responsible"], "jaan", "{}", r.body);
    let r = send(
        &router,
        json_req(
            "PATCH",
            &format!("/api/v1/documents/{id}"),
            &clerk,
            serde_json::json!({"bogus":1}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = send(
        &router,
        json_req(
            "POST",
            &format!("/api/v1/documents/{id}/restriction"),
            &clerk,
            serde_json::json!({"ground":"AvTS § 35 lg 1 p 12","ends":"2030-01-01"}),
        ),
    )
    .await;
    assert_eq!(r.json()["access"], "AK", "{}", r.body);
    let r = send(
        &router,
        json_req(
            "POST",
            &format!("/api/v1/documents/{id}/restriction/extend"),
            &clerk,
            serde_json::json!({"ends":"2034-01-01","reason":"menetlus kestab","decision":"1-1/2"}),
        ),
    )
    .await;
    // AvTS § 40 lg 1: only the head of the agency (the lead) extends.
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = send(
        &router,
        json_req(
            "POST",
            &format!("/api/v1/documents/{id}/restriction/extend"),
            &lead,
            serde_json::json!({"ends":"2034-01-01","reason":"menetlus kestab","decision":"1-1/2"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        &router,
        json_req(
            "POST",
            &format!("/api/v1/documents/{id}/restriction/lift"),
            &clerk,
            serde_json::json!({"reason":""}),
        ),
    )
    .await;
    assert_eq!(r.json()["error"]["code"], "invalid");

    // reply registers a follow-up and queues the e-mail
    let r = send(
        &router,
        json_req(
            "POST",
            &format!("/api/v1/documents/{id}/reply"),
            &staff,
            serde_json::json!({"title":"Vastus","body":"Vastame teabenõudele."}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let rep = r.json();
    assert!(
        rep["document"]["reg_no"].as_str().unwrap().ends_with("-1"),
        "{rep}"
    );
    assert_eq!(rep["outbox"][0]["state"], "queued");
    assert_eq!(rep["outbox"][0]["recipient"], "t@example.ee");
    // what is queued is what the e-mail worker sends: a complete message
    let queued = docgate::outbox::get(&app.store, rep["outbox"][0]["id"].as_i64().unwrap())
        .await
        .unwrap()
        .expect("the outbox item");
    let mail: docgate::outbox::smtp::MailPayload =
        serde_json::from_value(queued.payload).expect("a payload the SMTP worker reads");
    assert_eq!(mail.to, ["t@example.ee"]);
    assert!(mail.body.contains("Vastame teabenõudele"), "{}", mail.body);
    assert!(!mail.message_id.is_empty() && !mail.from.is_empty());
    let r = send(
        &router,
        get(&format!("/api/v1/documents/{id}/thread"), Some(&clerk)),
    )
    .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 2);

    let r = send(&router, get("/api/v1/users", Some(&staff))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(&router, get("/api/v1/reports/monthly", Some(&clerk))).await;
    assert_eq!(
        r.json()["items"].as_array().unwrap().len(),
        12,
        "{}",
        r.body
    );

    // security headers on every response
    let r = send(&router, get("/avalik", None)).await;
    assert!(r.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert_eq!(r.headers[header::X_FRAME_OPTIONS], "DENY");
}

#[tokio::test]
async fn openapi_served_equals_schemas_file() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |_| {}).await;
    let router = docgate::web::router(app);
    let r = send(&router, get("/api/v1/openapi.json", None)).await;
    assert_eq!(r.status, StatusCode::OK);
    let kept: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    assert!(
        r.json() == kept,
        "schemas/openapi.json differs from /api/v1/openapi.json"
    );
}

#[tokio::test]
async fn restricted_access_is_limited_by_role_and_every_view_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |_| {}).await;
    let lead = user(&app, "liis", Role::Lead, None).await;
    let mari = user(&app, "mari", Role::Staff, Some("Tartu")).await;
    let jaan = user(&app, "jaan", Role::Staff, Some("Tallinn")).await;
    let d = app
        .register
        .register(
            restricted_doc("Hüvitise taotlus SALAJANE", "sisu SALAJANE", Some("mari")),
            "test",
        )
        .await
        .unwrap();
    let router = docgate::web::router(app.clone());
    let uri = format!("/api/v1/documents/{}", d.id);

    let r = send(&router, get(&uri, Some(&jaan))).await;
    let v = r.json();
    assert_eq!(v["document"]["hidden"], true);
    assert!(
        !r.body.contains("SALAJANE") && !r.body.contains("49403136526"),
        "{}",
        r.body
    );
    let sha = &d.files[0].sha256;
    let r = send(&router, get(&format!("{uri}/files/{sha}"), Some(&jaan))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    for t in [&mari, &lead] {
        let r = send(&router, get(&uri, Some(t))).await;
        assert!(r.body.contains("SALAJANE"), "{}", r.body);
    }
    let r = send(&router, get(&format!("{uri}/files/{sha}"), Some(&mari))).await;
    assert_eq!(r.body, "salajane sisu");

    let events = app.register.events(d.id).await.unwrap();
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.kind.as_str(), e.actor.as_str()))
        .collect();
    assert!(kinds.contains(&("viewed", "mari")), "{kinds:?}");
    assert!(kinds.contains(&("viewed", "liis")), "{kinds:?}");
    assert!(kinds.contains(&("downloaded", "mari")), "{kinds:?}");
    assert!(
        !kinds.iter().any(|k| k.1 == "jaan"),
        "no access, nothing seen, nothing recorded: {kinds:?}"
    );

    // a case: jaan answers a follow-up in the same thread → he now sees the thread
    let mut f = NewDocument::new(Direction::Outgoing, Channel::Email, "Vastus");
    f.reply_to = Some(d.reg_no.clone());
    f.responsible = Some("jaan".into());
    app.register.register(f, "test").await.unwrap();
    let r = send(&router, get(&uri, Some(&jaan))).await;
    assert_eq!(r.json()["document"]["hidden"], false);
}

#[tokio::test]
async fn public_register_is_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |c| {
        c.web.public_rate_per_minute = 1;
        c.web.public_burst = 3;
    })
    .await;
    let router = docgate::web::router(app);
    for _ in 0..3 {
        assert_eq!(
            send(&router, get("/avalik", None)).await.status,
            StatusCode::OK
        );
    }
    let r = send(&router, get("/avalik", None)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn request_bodies_over_the_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |c| c.web.max_request_bytes = 1024).await;
    let clerk = user(&app, "kati", Role::Clerk, None).await;
    let router = docgate::web::router(app);
    let big = serde_json::json!({"title": "x".repeat(5000)});
    let r = send(
        &router,
        json_req("PATCH", "/api/v1/documents/1", &clerk, big),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
}

/// Random restricted documents with unique markers in every restricted field:
/// none of the markers may appear on any public page, in any public file, or in
/// the API as seen by a staff member without access — while the markers of
/// unrestricted documents do appear (so the crawl really looks).
#[tokio::test]
async fn leak_test_public_pages_and_api_with_random_restricted_documents() {
    use rand::Rng;
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |c| {
        c.web.public_rate_per_minute = 0;
        c.web.page_size = 10;
    })
    .await;
    let outsider = user(&app, "outsider", Role::Staff, Some("Muu")).await;
    let mut rng = rand::thread_rng();
    let mut secret = vec![];
    let mut public = vec![];
    // unrestricted documents without a natural person as party: their text and
    // files are public (the access policy); with a person only the public title
    let mut open = vec![];
    for i in 0..25 {
        let m = format!("LEAK{:08x}", rng.gen::<u32>());
        let restricted = (rng.gen_bool(0.6) || i == 0) && i % 4 != 1 && i % 4 != 3;
        let with_person = restricted || i % 4 == 3 || (i % 4 != 1 && rng.gen());
        let mut nd = NewDocument::new(
            if rng.gen() {
                Direction::Incoming
            } else {
                Direction::Outgoing
            },
            if rng.gen() {
                Channel::Email
            } else {
                Channel::Dhx
            },
            format!("Pealkiri {m}T"),
        );
        nd.parties = vec![Party {
            kind: PartyKind::Organisation,
            role: PartyRole::Recipient,
            name: "Politsei- ja Piirivalveamet".into(),
            code: Some("70008747".into()),
            email: None,
        }];
        if with_person {
            nd.parties
                .insert(0, person(&format!("Isik {m}P"), Some("49403136526")));
        }
        nd.their_ref = Some(format!("{m}R"));
        nd.body = Some(format!("Keha {m}B"));
        nd.files = vec![NewFile::new(
            format!("{m}F.txt"),
            "text/plain",
            format!("fail {m}C").into_bytes(),
        )];
        nd.responsible = Some("keegi".into());
        if restricted {
            nd.restriction = Some(NewRestriction {
                end_by: Default::default(),
                ground: "AvTS § 35 lg 1 p 12".into(),
                ends: jiff::civil::date(2040, 1, 1),
                holder: None,
                begins: None,
            });
            secret.push(m);
        } else {
            // Public on purpose: a natural person would restrict it by default.
            nd.public_reason = Some("avalik teave".into());
            if !with_person {
                open.push(m.clone());
            }
            public.push(m);
        }
        app.register.register(nd, "test").await.unwrap();
    }
    let router = docgate::web::router(app.clone());
    let mut seen = String::new();
    // (offset in seen, the request whose answer starts there)
    let mut marks: Vec<(usize, String)> = vec![];
    let mut pages = vec!["/avalik".to_string()];
    for m in secret.iter().chain(public.iter()) {
        pages.push(format!("/avalik?q={m}"));
        pages.push(format!("/avalik?q={m}T"));
        pages.push(format!("/avalik?q={m}B"));
    }
    pages.push("/avalik?q=eraisik".into());
    pages.push("/avalik?q=Politsei".into());
    let link_re = regex::Regex::new(r#"href="(/avalik[^"]*)""#).unwrap();
    let mut i = 0;
    while i < pages.len() {
        let r = send(&router, get(&pages[i], None)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", pages[i]);
        // follow every link within the public register
        for cap in link_re.captures_iter(&r.body) {
            let link = cap[1].replace("&amp;", "&");
            if !pages.contains(&link) {
                pages.push(link);
            }
        }
        marks.push((seen.len(), pages[i].clone()));
        // the page echoes its own query in the search box and the pager links: leave those out
        let mut body = r.body.clone();
        if let Some(q) = pages[i]
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("q="))
        {
            body = body
                .replace(&format!("value=\"{q}\""), "")
                .replace(&format!("q={q}"), "");
        }
        seen.push_str(&body);
        i += 1;
        assert!(i < 2000, "crawl runaway");
    }
    assert!(
        pages.iter().any(|p| p.contains("/fail/")),
        "public files were linked"
    );
    // what the public register showed (natural persons are never named there)
    let public_len = seen.len();
    // the API as a staff member without access
    for uri in [
        "/api/v1/documents?limit=500".to_string(),
        "/api/v1/documents?restricted=true&limit=500".to_string(),
    ] {
        marks.push((seen.len(), uri.clone()));
        seen.push_str(&send(&router, get(&uri, Some(&outsider))).await.body);
    }
    for id in 1..=25 {
        for suffix in ["", "/thread", "/events", "/deadline"] {
            marks.push((seen.len(), format!("/api/v1/documents/{id}{suffix}")));
            seen.push_str(
                &send(
                    &router,
                    get(&format!("/api/v1/documents/{id}{suffix}"), Some(&outsider)),
                )
                .await
                .body,
            );
        }
    }
    for m in secret.iter().chain(public.iter()) {
        // the response echoes the query itself: leave that out
        let body = send(
            &router,
            get(&format!("/api/v1/search?q={m}"), Some(&outsider)),
        )
        .await
        .body
        .replace(&format!("\"query\":\"{m}\""), "");
        marks.push((seen.len(), format!("/api/v1/search?q={m}")));
        seen.push_str(&body);
    }
    for m in &secret {
        if let Some(at) = seen.find(m.as_str()) {
            let uri = marks
                .iter()
                .rev()
                .find(|(o, _)| *o <= at)
                .map_or("", |(_, u)| u.as_str());
            panic!(
                "restricted marker {m} leaked in {uri}: …{}…",
                &seen[at.saturating_sub(200)..(at + 40).min(seen.len())]
            );
        }
    }
    // Staff see unrestricted documents in full (a person's code included); the
    // public register never shows a natural person's code or name.
    if let Some(at) = seen[..public_len].find("49403136526") {
        let uri = marks
            .iter()
            .rev()
            .find(|(o, _)| *o <= at)
            .map_or("", |(_, u)| u.as_str());
        panic!(
            "a personal code leaked in {uri}: …{}…",
            &seen[at.saturating_sub(300)..(at + 40).min(seen.len())]
        );
    }
    assert!(
        !seen[..public_len].contains("Isik LEAK"),
        "a natural person's name leaked to the public register"
    );
    for m in &public {
        assert!(
            seen.contains(&format!("{m}T")),
            "public marker {m}T not shown: the crawl did not look"
        );
        let file_shown = seen[..public_len].contains(&format!("{m}F.txt"));
        assert_eq!(
            file_shown,
            open.contains(m),
            "{m}: files are public only without a natural person as party"
        );
    }
    assert!(seen.contains("eraisik"));
}

/// schemathesis (PyPI) against the live `docgate serve` with a clerk's token.
#[test]
fn schemathesis_conformance_against_live_server() {
    let Some(st) = find_tool(&["st", "schemathesis"]) else {
        docgate::testing::missing_service(
            "schemathesis (`st`)",
            ".ci/setup/browser.sh installs it (pip install schemathesis)",
        );
        return;
    };
    let srv = start_server(true);
    let data = srv._dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_docgate"))
        .arg("--data-dir")
        .arg(&data)
        .args(["token", "create", "kati", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = v["token"].as_str().unwrap().to_string();
    let report = srv._dir.path().join("st-report");
    let status = Command::new(&st)
        .arg("run")
        .arg(format!("{}/api/v1/openapi.json", srv.url))
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection",
        ])
        .args(["--max-examples", "25", "--workers", "1", "--phases", "examples,coverage,fuzzing"])
        .args(["--suppress-health-check", "all", "--max-failures", "20"])
        .arg("--no-color")
        .env("SCHEMATHESIS_HOOKS", "")
        .current_dir(report.parent().unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "schemathesis found failures (see its output above)"
    );
    let _ = &srv.stdout;
}

/// The walk-through in real headless Chromium on the demo register: log in,
/// complete an inbox item, search, reply, see the lead's dashboard, and find no
/// restricted content in the public register.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_walk_through_on_the_demo_register() {
    let Some(d) = Driver::start().await else {
        return;
    };
    let srv = start_server(true);
    let printed = std::fs::read_to_string(&srv.stdout).unwrap();
    let pw = |who: &str| -> String {
        printed
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{who} ")))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or_else(|| panic!("no login for {who} in: {printed}"))
            .to_string()
    };
    let url = &srv.url;

    // 1. log in as the clerk
    d.goto(&format!("{url}/")).await;
    assert!(d.current_url().await.ends_with("/login"));
    d.screenshot("01-login").await;
    d.type_in("#name", "kati").await;
    d.type_in("#password", &pw("kati")).await;
    d.click("#login-submit").await;
    d.wait_url_ends_with("/inbox").await;
    let inbox = d.source().await;
    let before: i64 = regex::Regex::new(r#"id="inbox-count">(\d+)<"#)
        .unwrap()
        .captures(&inbox)
        .unwrap()[1]
        .parse()
        .unwrap();
    assert!(before >= 3, "demo inbox has items");
    assert!(
        inbox.contains("Pakutud piirang"),
        "a proposed restriction is shown where personal codes were found"
    );
    d.screenshot("02-inbox").await;

    // 2. complete the first inbox item: responsible official, then Kinnita
    let first = regex::Regex::new(r#"id="inbox-(\d+)""#)
        .unwrap()
        .captures(&inbox)
        .unwrap()[1]
        .to_string();
    d.click(&format!(
        "#inbox-{first} select[name=responsible] option[value='mari.tamm']"
    ))
    .await;
    d.click(&format!(
        "#inbox-{first} select[name=doc_type] option[value='avts-teabenoue']"
    ))
    .await;
    d.click(&format!("#inbox-{first} button[type=submit]"))
        .await;
    let count_re = regex::Regex::new(r#"id="inbox-count">(\d+)<"#).unwrap();
    let count = |page: &str| -> Option<i64> { count_re.captures(page)?[1].parse().ok() };
    let inbox = d
        .wait_source(|p| count(p).is_some_and(|n| n != before))
        .await;
    let after = count(&inbox).unwrap();
    assert_eq!(after, before - 1, "the completed item left the inbox");
    d.goto(&format!("{url}/documents/{first}")).await;
    let page = d.source().await;
    assert!(
        page.contains("id=\"responsible\">Mari Tamm<"),
        "responsible set, shown by name"
    );
    assert!(
        page.contains("id=\"doc-type\">teabenõue<"),
        "the document type by its name"
    );
    assert!(
        page.contains("AvTS § 18(1)") && page.contains("class=\"deadline-"),
        "the deadline of an information request is shown with its trace"
    );
    d.screenshot("03-document-completed").await;

    // 3. search
    d.goto(&format!("{url}/search")).await;
    d.type_in("#q", "hüvitis").await;
    d.click("#search-submit").await;
    let hits = d.wait_source(|p| p.contains("<mark>")).await;
    assert!(hits.contains("<mark>"), "highlighted snippets");
    assert!(
        hits.contains("id=\"f-series\"") && hits.contains("id=\"f-type\""),
        "the search page has its filters"
    );
    d.screenshot("04-search").await;

    // 4. reply to the first search hit
    let hit = regex::Regex::new(r#"<ol class="hits" id="hits">\s*<li><a href="/documents/(\d+)""#)
        .unwrap()
        .captures(&hits)
        .unwrap()[1]
        .to_string();
    d.goto(&format!("{url}/documents/{hit}/reply")).await;
    d.type_in("#reply-body", "Teie taotlus on menetlusse võetud.")
        .await;
    // The form asks what the reply does to the deadline: an acknowledgement is interim.
    d.click("#reply-kind option[value=interim]").await;
    d.click("#reply-send").await;
    let doc = d
        .wait_source(|p| {
            p.contains("<strong>ootel</strong>") || p.contains("<strong>saadetud</strong>")
        })
        .await;
    assert!(d.current_url().await.contains("/documents/"));
    assert!(
        doc.contains("<strong>ootel</strong>") || doc.contains("<strong>saadetud</strong>"),
        "the reply is in the outbox (its state in Estonian)"
    );
    d.screenshot("05-reply-registered").await;
    d.click("#logout").await;
    d.wait_url_ends_with("/login").await;

    // 5. the lead's dashboard
    d.goto(&format!("{url}/login")).await;
    d.type_in("#name", "liis").await;
    d.type_in("#password", &pw("liis")).await;
    d.click("#login-submit").await;
    d.wait_url_ends_with("/dashboard").await;
    let dash = d.source().await;
    assert!(
        dash.contains("<svg") && dash.contains("on-time-chart"),
        "the chart is there"
    );
    d.screenshot("06-dashboard").await;
    d.goto(&format!("{url}/reports")).await;
    d.screenshot("07-reports").await;
    d.click("#logout").await;
    d.wait_url_ends_with("/login").await;

    // 6. the public register: no restricted content
    d.goto(&format!("{url}/avalik")).await;
    let public = d.source().await;
    d.screenshot("08-public").await;
    assert!(public.contains("eraisik") && public.contains("AvTS § 35"));
    d.goto(&format!("{url}/avalik?q=Maasikas")).await;
    let search = d.source().await;
    for secret in [
        "Maasikas",
        "49403136526",
        "Kaarel Kask",
        "Vägivallakuriteo ohvri hüvitise taotlus",
        "Liisa Lind",
        "RP-2026-4471",
    ] {
        assert!(!public.contains(secret), "{secret} on the public register");
        assert!(
            // the query itself is echoed in the search box and in the language switch's link
            !search
                .replace("value=\"Maasikas\"", "")
                .replace("q=Maasikas", "")
                .contains(secret),
            "{secret} found by public search"
        );
    }
    assert!(
        public.contains("Märgukiri ohvriabi vastuvõtuaegade kohta"),
        "public documents are listed"
    );
    let _ = d.call("DELETE", &d.s(""), None).await;
}

// ------------------------------------------------------------ the clerk's desk (issue #14)

/// Logs `who` in on the demo server (its password from the server's output).
async fn desk_login(d: &Driver, srv: &Server, who: &str) {
    let printed = std::fs::read_to_string(&srv.stdout).unwrap();
    let pw = printed
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{who} ")))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or_else(|| panic!("no login for {who} in: {printed}"))
        .to_string();
    d.goto(&format!("{}/login", srv.url)).await;
    d.type_in("#name", who).await;
    d.type_in("#password", &pw).await;
    d.click("#login-submit").await;
    d.wait_source(|p| p.contains("id=\"logout\"")).await;
}

/// The document id of the page the browser is on (`/documents/{id}…`).
async fn desk_doc_id(d: &Driver) -> String {
    let url = d.current_url().await;
    regex::Regex::new(r"/documents/(\d+)")
        .unwrap()
        .captures(&url)
        .unwrap_or_else(|| panic!("not a document page: {url}"))[1]
        .to_string()
}

/// Registers a letter with two files through `/documents/new` as the clerk, corrects
/// its title and party, then confirms an intake item into another series and
/// checks that its number and series agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_desk_registers_corrects_and_confirms_into_another_series() {
    let Some(d) = Driver::start().await else {
        return;
    };
    let srv = start_server(true);
    let url = &srv.url;
    desk_login(&d, &srv, "kati").await;
    let files = tempfile::tempdir().unwrap();
    let a = files.path().join("kiri.txt");
    let b = files.path().join("lisa.txt");
    std::fs::write(&a, "Palun teavet ohvriabi vastuvõtuaegade kohta.").unwrap();
    std::fs::write(&b, "Lisa: vastuvõtuajad 2026.").unwrap();

    // 1. register a letter with two files
    d.goto(&format!("{url}/documents/new")).await;
    d.type_in("#f-file", &format!("{}\n{}", a.display(), b.display()))
        .await;
    d.type_in("#f-title", "Küsimus vastuvõtuaegade kohta").await;
    d.type_in("#f-party_name", "Lõuna Vald").await;
    d.type_in("#f-party_code", "77000123").await;
    d.type_in("#f-party_email", "vald@example.ee").await;
    d.click("#f-series option[value='9-13']").await;
    d.click("#doc-submit").await;
    let page = d.wait_source(|p| p.contains("id=\"flash\"")).await;
    d.screenshot("desk-01-registered").await;
    let reg_no = regex::Regex::new(r#"id="reg-no">([^<]+)<"#)
        .unwrap()
        .captures(&page)
        .unwrap()[1]
        .to_string();
    assert!(reg_no.starts_with("9-13/"), "{reg_no}");
    assert!(
        page.contains(&format!("Registreeritud {reg_no}")),
        "the success says what happened"
    );
    assert!(
        page.contains("kiri.txt") && page.contains("lisa.txt"),
        "both files registered"
    );
    let id = desk_doc_id(&d).await;

    // 2. correct its title and party
    d.click("#edit-link").await;
    d.wait_url_ends_with(&format!("/documents/{id}/edit")).await;
    d.type_in("#f-title", "Küsimus ohvriabi vastuvõtuaegade kohta")
        .await;
    d.type_in("#f-party_name", "Lõuna Vallavalitsus").await;
    d.click("#doc-submit").await;
    let page = d.wait_source(|p| p.contains("id=\"flash\"")).await;
    d.screenshot("desk-02-corrected").await;
    assert!(
        page.contains("Küsimus ohvriabi vastuvõtuaegade kohta"),
        "title corrected"
    );
    assert!(page.contains("Lõuna Vallavalitsus"), "party corrected");
    assert!(page.contains(&format!("Andmed salvestatud: {reg_no}")));

    // 3. confirm an intake item into another series
    d.goto(&format!("{url}/inbox")).await;
    let inbox = d.source().await;
    let item = regex::Regex::new(r#"id="inbox-edit-(\d+)""#)
        .unwrap()
        .captures(&inbox)
        .expect("the demo inbox has items")[1]
        .to_string();
    d.goto(&format!("{url}/documents/{item}")).await;
    let before = d.source().await;
    let old_no = regex::Regex::new(r#"id="reg-no">([^<]+)<"#)
        .unwrap()
        .captures(&before)
        .unwrap()[1]
        .to_string();
    let target = if old_no.starts_with("9-16/") {
        "9-14"
    } else {
        "9-16"
    };
    d.goto(&format!("{url}/documents/{item}/edit")).await;
    d.click(&format!("#f-series option[value='{target}']"))
        .await;
    d.click("#doc-submit").await;
    let page = d
        .wait_source(|p| {
            p.contains("id=\"flash\"")
                || p.contains("id=\"form-errors\"")
                || p.contains("id=\"form-error\"")
        })
        .await;
    d.screenshot("desk-03-confirmed").await;
    assert!(
        page.contains("id=\"flash\""),
        "confirmed without errors: {page}"
    );
    let new_no = regex::Regex::new(r#"id="reg-no">([^<]+)<"#)
        .unwrap()
        .captures(&page)
        .unwrap()[1]
        .to_string();
    let series = regex::Regex::new(r#"id="series">([^<]+)<"#)
        .unwrap()
        .captures(&page)
        .unwrap()[1]
        .to_string();
    assert_eq!(series, target);
    assert!(
        new_no.starts_with(&format!("{target}/")),
        "number {new_no} agrees with series {series}"
    );
    assert!(page.contains(&format!("Kinnitatud {new_no}")));
    assert!(
        page.contains(&old_no),
        "the old number is shown as the former number"
    );
    let _ = d.call("DELETE", &d.s(""), None).await;
}

/// An interim notice leaves the deadline open, the extension is made from the
/// page with that notice, and a final answer closes the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_desk_interim_keeps_the_deadline_open_extension_and_final_answer() {
    let Some(d) = Driver::start().await else {
        return;
    };
    let srv = start_server(true);
    let url = &srv.url;
    desk_login(&d, &srv, "kati").await;
    let files = tempfile::tempdir().unwrap();
    let a = files.path().join("teabenoue.txt");
    std::fs::write(&a, "Palun väljastada ohvriabi statistika.").unwrap();
    d.goto(&format!("{url}/documents/new")).await;
    d.type_in("#f-file", &a.display().to_string()).await;
    d.type_in("#f-title", "Teabenõue ohvriabi statistika kohta")
        .await;
    d.type_in("#f-party_name", "Põhja Vald").await;
    d.type_in("#f-party_code", "77000124").await;
    d.type_in("#f-party_email", "pohja@example.ee").await;
    d.click("#f-series option[value='9-13']").await;
    d.click("#f-doc_type option[value='avts-teabenoue']").await;
    d.click("#doc-submit").await;
    d.wait_source(|p| p.contains("id=\"flash\"")).await;
    let id = desk_doc_id(&d).await;
    let state_of = |p: &str| -> String {
        regex::Regex::new(r#"id="deadline" class="deadline-([a-z_]+)""#)
            .unwrap()
            .captures(p)
            .map(|c| c[1].to_string())
            .unwrap_or_default()
    };
    let reply = |kind: &'static str, text: &'static str| {
        let d = &d;
        let id = id.clone();
        async move {
            d.goto(&format!("{url}/documents/{id}/reply")).await;
            d.type_in("#reply-body", text).await;
            d.click(&format!("#reply-kind option[value={kind}]")).await;
            d.click("#reply-send").await;
            d.wait_source(|p| p.contains("queued") || p.contains("sent"))
                .await;
            let reply_page = d.current_url().await;
            assert!(!reply_page.ends_with("/reply"), "the reply was registered");
        }
    };

    // 1. an interim notice: the deadline stays open
    reply(
        "interim",
        "Teie teabenõue on menetluses; vastame pikendatud tähtaja jooksul.",
    )
    .await;
    d.goto(&format!("{url}/documents/{id}")).await;
    let page = d.source().await;
    let st = state_of(&page);
    assert!(
        !st.is_empty() && st != "answered",
        "open after an interim notice: {st}"
    );

    // 2. extend the deadline from the page, naming that notice
    d.click("#deadline-controls summary").await;
    d.type_in(
        "#dl-extend-reason",
        "teabe väljaselgitamine nõuab mahukat otsingut",
    )
    .await;
    // The interim notice is the request's follow-up: its number is the request's plus "-n".
    let notice = regex::Regex::new(r#"<option value="(9-13/\d+-\d+)""#)
        .unwrap()
        .captures(&page)
        .expect("the interim notice is offered")[1]
        .to_string();
    d.click(&format!("#dl-extend-notice option[value='{notice}']"))
        .await;
    d.click("#dl-extend").await;
    let page = d.wait_source(|p| p.contains("id=\"flash\"")).await;
    d.screenshot("desk-04-extended").await;
    assert!(
        page.contains("tähtaeg pikendatud"),
        "the extension is confirmed"
    );
    assert!(
        page.contains("AvTS § 19"),
        "the trace cites the extension's basis"
    );
    assert_ne!(state_of(&page), "answered");

    // 3. the final answer closes the deadline
    reply("final", "Edastame soovitud statistika.").await;
    d.goto(&format!("{url}/documents/{id}")).await;
    let page = d.source().await;
    d.screenshot("desk-05-answered").await;
    assert_eq!(
        state_of(&page),
        "answered",
        "a final answer closes the deadline"
    );
    let _ = d.call("DELETE", &d.s(""), None).await;
}

#[tokio::test]
async fn api_metadata_edit_sets_series_direction_channel_and_dates() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with(dir.path(), |_| {}).await;
    let clerk = user(&app, "kati", Role::Clerk, None).await;
    let mut nd = NewDocument::new(Direction::Outgoing, Channel::Email, "Taotlus");
    nd.series = Some("9-13".into());
    nd.public_reason = Some("test".into());
    let d = app.register.register(nd, "test").await.unwrap();
    assert!(d.reg_no.starts_with("9-13/"), "{}", d.reg_no);
    let router = docgate::web::router(app.clone());
    let r = send(
        &router,
        json_req(
            "PATCH",
            &format!("/api/v1/documents/{}", d.id),
            &clerk,
            serde_json::json!({"series": "9-14", "direction": "incoming", "channel": "post",
                               "their_date": "2026-11-30", "received": "2026-12-01"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let after = app.register.get(d.id).await.unwrap();
    assert!(
        after.reg_no.starts_with("9-14/"),
        "renumbered: {}",
        after.reg_no
    );
    assert_eq!(after.series, "9-14");
    assert_eq!(after.direction, Direction::Incoming);
    assert_eq!(after.channel, Channel::Post);
    assert_eq!(after.their_date, Some(jiff::civil::date(2026, 11, 30)));
    assert_eq!(after.received, Some(jiff::civil::date(2026, 12, 1)));
    assert_eq!(
        app.register.aliases(d.id).await.unwrap(),
        vec![d.reg_no.clone()]
    );
    // A bad date names its field; an empty one clears it.
    let r = send(
        &router,
        json_req(
            "PATCH",
            &format!("/api/v1/documents/{}", d.id),
            &clerk,
            serde_json::json!({"their_date": "30.11.2026"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("their_date"), "{}", r.body);
    let r = send(
        &router,
        json_req(
            "PATCH",
            &format!("/api/v1/documents/{}", d.id),
            &clerk,
            serde_json::json!({"their_date": ""}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.register.get(d.id).await.unwrap().their_date, None);
}
