//! The access policy, end to end: the leak property test (every route of the
//! router × every role × every subset of `web.staff_sees` × document states,
//! with generated secret markers), the intake test (a letter with a personal
//! code is invisible to the public until a clerk confirms it) and the
//! regressions of issue 13's staff leaks. On SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request};
use docgate::access::StaffAccess;
use docgate::model::*;
use docgate::testing::{backends, TestEnv};
use docgate::web::auth::{self, Role};
use docgate::App;
use http_body_util::BodyExt;
use proptest::prelude::*;
use tower::ServiceExt;

// ------------------------------------------------------------ helpers

struct Resp {
    status: u16,
    /// Every header value, joined.
    headers: String,
    body: String,
}

async fn send(router: &axum::Router, method: &str, uri: &str, token: Option<&str>) -> Resp {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = if method == "GET" {
        Body::empty()
    } else if uri.starts_with("/api/") {
        b = b.header(header::CONTENT_TYPE, "application/json");
        // never a valid body: the walk must not change what it checks
        Body::from(r#"{"x_invalid":1}"#)
    } else {
        b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        Body::from("csrf=x")
    };
    let r = router.clone().oneshot(b.body(body).unwrap()).await.unwrap();
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
        .collect::<Vec<_>>()
        .join("\n");
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn user(app: &App, name: &str, role: Role, unit: Option<&str>) -> String {
    docgate::testing::user_with_token(app, name, role, unit).await
}

/// A valid personal code made from `seed` (born 1980-01-01..).
fn personal_code(seed: u32) -> String {
    let serial = seed % 1000;
    let s = format!("3800101{serial:03}");
    let mut d = [0u8; 10];
    for (i, c) in s.bytes().enumerate() {
        d[i] = c - b'0';
    }
    let code = format!("{s}{}", docgate::personal_code::check_digit(&d));
    assert!(docgate::personal_code::is_valid(&code), "{code}");
    code
}

/// An app whose `web.staff_sees` is `access` (same database and files).
fn with_access(app: &App, access: StaffAccess) -> App {
    let mut a = app.clone();
    let mut c = (*a.config).clone();
    c.web.staff_sees = access.to_config();
    c.web.public_rate_per_minute = 0;
    a.config = Arc::new(c);
    a
}

const COMMON: &str = "tavasõna";

// ------------------------------------------------------------ the fixture

/// The document states under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    /// Confirmed by a clerk, not restricted, only organisations as parties.
    Public,
    /// Confirmed, not restricted, a natural person as party.
    Person,
    /// Restricted (AK), a natural person as party.
    Ak,
    /// The e-mail reply a clerk sent to the AK document (restricted with it).
    AkReply,
    /// Not yet classified.
    Unclassified,
    /// Restricted, the start of a thread ...
    ThreadAk,
    /// ... and an unrestricted document in that restricted thread.
    InRestrictedThread,
}

/// The secrets of one document.
#[derive(Debug, Clone, Default)]
struct Secrets {
    /// A word of the title (public in the public title where the title is public).
    title: String,
    /// Person's surname, personal code and e-mail (never public).
    person: Vec<String>,
    /// Body text, file bytes, file name, their reference, reasons.
    content: Vec<String>,
    /// A content marker that is public where the document is open to the public.
    open_content: Vec<String>,
    /// An organisation's name (hidden only while unclassified).
    org: Option<String>,
}

struct Fixture {
    docs: BTreeMap<State, (Document, Secrets)>,
    tokens: BTreeMap<&'static str, String>,
}

#[derive(Debug, Clone)]
struct Markers(Vec<String>);

fn markers() -> impl Strategy<Value = Markers> {
    // consonant-only words: no stem or language rule changes them
    proptest::collection::vec("[bcdfghjklmnpqrstvwxz]{12}", 40).prop_map(Markers)
}

async fn build(env: &TestEnv, m: &Markers) -> (App, Fixture) {
    let app = env.app().await;
    let mut next = m.0.iter().cloned();
    let mut mk = move || next.next().expect("enough markers");
    let mut tokens = BTreeMap::new();
    tokens.insert(
        "admin",
        user(&app, "adm", Role::Admin, Some("Ohvriabi")).await,
    );
    tokens.insert("clerk", user(&app, "kati", Role::Clerk, None).await);
    tokens.insert("lead", user(&app, "liis", Role::Lead, None).await);
    tokens.insert(
        "staff-responsible",
        user(&app, "mari", Role::Staff, Some("Ohvriabi")).await,
    );
    tokens.insert(
        "staff-same-unit",
        user(&app, "jaan", Role::Staff, Some("ohvriabi")).await,
    );
    tokens.insert(
        "staff-other",
        user(&app, "peeter", Role::Staff, Some("Muu")).await,
    );
    let restriction = || NewRestriction {
        end_by: Default::default(),
        ground: "AvTS § 35 lg 1 p 11".into(),
        ends: jiff::civil::date(2090, 1, 1),
        holder: None,
        begins: None,
    };
    let mut docs = BTreeMap::new();
    for state in [
        State::Public,
        State::Person,
        State::Ak,
        State::Unclassified,
        State::ThreadAk,
    ] {
        let mut s = Secrets {
            title: mk(),
            ..Default::default()
        };
        let body = mk();
        let file_text = mk();
        let file_name = mk();
        let their_ref = mk();
        let mut nd = NewDocument::new(
            Direction::Incoming,
            Channel::Email,
            format!("Avaldus {} {COMMON}", s.title),
        );
        nd.body = Some(format!("{COMMON} {body} lõpp"));
        nd.their_ref = Some(their_ref.clone());
        nd.files = vec![NewFile::new(
            format!("{file_name}.txt"),
            "text/plain",
            format!("{COMMON} {file_text}").into_bytes(),
        )];
        nd.responsible = Some("mari".into());
        nd.unit = Some("Ohvriabi".into());
        if state == State::Public {
            nd.parties = vec![Party {
                kind: PartyKind::Organisation,
                role: PartyRole::Sender,
                name: "Politsei- ja Piirivalveamet".into(),
                code: Some("70008747".into()),
                email: Some("ppa@politsei.ee".into()),
            }];
            s.open_content = vec![body, file_text, file_name, their_ref];
        } else {
            let (first, last) = (mk(), mk());
            let code = personal_code(state as u32 * 7 + 101);
            let email = format!("{}@example.ee", mk());
            nd.title = format!("{} {first} {last}, isikukood {code}", nd.title);
            nd.parties = vec![Party {
                kind: PartyKind::Person,
                role: PartyRole::Sender,
                name: format!("{first} {last}"),
                code: Some(code.clone()),
                email: Some(email.clone()),
            }];
            s.person = vec![first, last, code, email];
            s.content = vec![body, file_text, file_name, their_ref];
            if state == State::Person {
                // public on purpose: the register restricts a person's letter by default
                nd.public_reason = Some("avalik teave".into());
            }
        }
        match state {
            State::Ak | State::ThreadAk => nd.restriction = Some(restriction()),
            State::Unclassified => {
                let org = mk();
                nd.parties.push(Party {
                    kind: PartyKind::Organisation,
                    role: PartyRole::Recipient,
                    name: format!("{org} OÜ"),
                    code: Some("10000000".into()),
                    email: None,
                });
                s.org = Some(org);
                nd.needs_review = true;
                nd.proposed_ground = Some("AvTS § 35 lg 1 p 12".into());
                nd.contains_personal_data = true;
            }
            _ => {}
        }
        let d = app.register.register(nd, "kati").await.unwrap();
        docs.insert(state, (d, s));
    }
    // An unclassified document stays unclassified when the register restricts it.
    let u = &docs[&State::Unclassified].0;
    assert!(u.needs_review, "unclassified fixture");
    assert!(u.restriction.is_some(), "restricted by default: {u:?}");
    // a reason on the AK document (an extension) and its deadline trace
    let ak = docs[&State::Ak].0.clone();
    let reason = mk();
    app.register
        .extend_restriction(
            ak.id,
            &docgate::register::Extension {
                new_end: jiff::civil::date(2095, 1, 1),
                decision: "1-1/1".into(),
                reason: format!("pikendus {reason}"),
                role: Role::Lead,
            },
            "kati",
        )
        .await
        .unwrap();
    docs.get_mut(&State::Ak).unwrap().1.content.push(reason);
    // the clerk's e-mail reply to the AK document: an outbox recipient
    let out = docgate::outbox::reply::reply(
        &app,
        &ak.reg_no,
        format!("Vastus {COMMON}"),
        vec![],
        None,
        "kati",
    )
    .await
    .unwrap();
    let reply = app.register.get_by_reg_no(&out.reg_no).await.unwrap();
    let ak_secrets = docs[&State::Ak].1.clone();
    docs.insert(State::AkReply, (reply, ak_secrets));
    // an unrestricted document in the restricted thread (organisation party)
    let head = docs[&State::ThreadAk].0.clone();
    let mut nd = NewDocument::new(Direction::Incoming, Channel::Post, format!("Lisa {COMMON}"));
    nd.reply_to = Some(head.reg_no.clone());
    nd.parties = vec![Party {
        kind: PartyKind::Organisation,
        role: PartyRole::Sender,
        name: "Prokuratuur".into(),
        code: Some("70000906".into()),
        email: None,
    }];
    nd.body = Some(format!("{COMMON} lisa"));
    let y = app.register.register(nd, "kati").await.unwrap();
    assert_eq!(y.thread_id, head.thread_id);
    assert!(y.restriction.is_none());
    docs.insert(State::InRestrictedThread, (y, Secrets::default()));
    let d = app.register.get(ak.id).await.unwrap();
    docs.get_mut(&State::Ak).unwrap().0 = d;
    (app, Fixture { docs, tokens })
}

// ------------------------------------------------------------ the oracle

/// Whether `role` sees a document in `state` in full, written out from the
/// issue's rules (independently of `docgate::access`).
fn sees_in_full(role: &str, access: StaffAccess, state: State) -> bool {
    use State::*;
    // The unclassified letter names a person with a code, so the register restricted
    // it by default: it is AK as well as unclassified, and both rules apply.
    let ak = matches!(state, Ak | AkReply | ThreadAk | Unclassified);
    match role {
        "clerk" | "lead" => true,
        "anonymous" => false,
        "admin" => matches!(state, Public | Person | InRestrictedThread),
        // responsible for every fixture document but the one in the thread, unit "Ohvriabi"
        "staff-responsible" => !ak || access.responsible || access.unit || access.cases,
        // the same unit (spelt in lower case), responsible for nothing
        "staff-same-unit" => match state {
            Unclassified => false,
            _ if ak => access.unit,
            _ => true,
        },
        "staff-other" => !(ak || state == Unclassified),
        other => panic!("unknown role {other}"),
    }
}

/// The markers `role` must not see anywhere.
fn forbidden(fx: &Fixture, role: &str, access: StaffAccess) -> Vec<(State, String)> {
    let mut out = Vec::new();
    for (state, (_, s)) in &fx.docs {
        if sees_in_full(role, access, *state) {
            continue;
        }
        let mut m: Vec<String> = s.person.clone();
        m.extend(s.content.iter().cloned());
        if role != "anonymous" && *state == State::Public {
            // every logged-in user sees a public document in full
            continue;
        }
        let public_open = role == "anonymous" && *state == State::Public;
        let public_title = role == "anonymous" && matches!(state, State::Public | State::Person);
        if !public_open {
            m.extend(s.open_content.iter().cloned());
        }
        if !public_title && !s.title.is_empty() {
            m.push(s.title.clone());
        }
        if *state == State::Unclassified {
            m.extend(s.org.clone());
        }
        out.extend(m.into_iter().filter(|x| !x.is_empty()).map(|x| (*state, x)));
    }
    out
}

/// Every concrete request of the route list for the fixture.
fn requests(fx: &Fixture) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let routes = docgate::web::route_list();
    assert!(routes.iter().any(|(m, p)| *m == "GET" && p == "/avalik"));
    assert!(routes
        .iter()
        .any(|(m, p)| *m == "GET" && p == "/api/v1/overdue"));
    assert!(routes.iter().any(|(m, p)| *m == "POST" && p == "/dhx"));
    assert!(routes.iter().any(|(m, p)| *m == "GET" && p == "/healthz"));
    for (method, path) in routes {
        let query = match path.as_str() {
            "/search" | "/api/v1/search" | "/avalik" | "/avalik/" => {
                vec![format!("?q={}", urlencode(COMMON)), String::new()]
            }
            "/api/v1/documents" | "/documents" => vec!["?limit=100".into(), String::new()],
            _ => vec![String::new()],
        };
        let mut paths = vec![];
        if path.contains("{id}") {
            for (d, _) in fx.docs.values() {
                let p = path.replace("{id}", &d.id.to_string());
                if p.contains("{sha256}") {
                    for f in &d.files {
                        paths.push(p.replace("{sha256}", &f.sha256));
                    }
                    // another document's file under this document
                    for (o, _) in fx.docs.values() {
                        if let Some(f) = o.files.first() {
                            paths.push(p.replace("{sha256}", &f.sha256));
                        }
                    }
                } else {
                    paths.push(p);
                }
            }
        } else {
            paths.push(path.replace("{code}", "en"));
        }
        for p in paths {
            for q in &query {
                out.push((method, format!("{p}{q}")));
            }
        }
    }
    out
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

const ROLES: [&str; 7] = [
    "anonymous",
    "admin",
    "clerk",
    "lead",
    "staff-responsible",
    "staff-other",
    "staff-same-unit",
];

async fn leak_check(backend: &str, m: &Markers) {
    let env = TestEnv::new(backend).await;
    let (app, fx) = build(&env, m).await;
    let reqs = requests(&fx);
    let mut checked = 0usize;
    let mut seen_full = 0usize;
    for access in StaffAccess::all_subsets() {
        let router = docgate::serve::http_router(with_access(&app, access));
        for role in ROLES {
            let token = (role != "anonymous").then(|| fx.tokens[role].as_str());
            let bad = forbidden(&fx, role, access);
            for (method, uri) in &reqs {
                let r = send(&router, method, uri, token).await;
                assert!(
                    r.status < 500 || uri == "/dhx",
                    "{backend} {role} {method} {uri}: {}",
                    r.status
                );
                for (state, marker) in &bad {
                    assert!(
                        !r.body.contains(marker.as_str()) && !r.headers.contains(marker.as_str()),
                        "{backend}: {role} with staff_sees {access:?} sees {marker:?} of the {state:?} document in {method} {uri} ({}):\n{}",
                        r.status,
                        r.body.chars().take(3000).collect::<String>()
                    );
                }
                checked += 1;
            }
            // the test can fail: whoever may see a document does see its secrets
            if role != "anonymous" {
                for (state, (d, s)) in &fx.docs {
                    if sees_in_full(role, access, *state)
                        && !s.title.is_empty()
                        && *state != State::AkReply
                    {
                        let r = send(
                            &router,
                            "GET",
                            &format!("/api/v1/documents/{}", d.id),
                            token,
                        )
                        .await;
                        assert!(r.body.contains(&s.title), "{role} {state:?}: {}", r.body);
                        seen_full += 1;
                    }
                }
            } else {
                let (d, s) = &fx.docs[&State::Person];
                let r = send(&router, "GET", &format!("/avalik/dokument/{}", d.id), None).await;
                assert!(r.body.contains(&s.title), "public title: {}", r.body);
            }
        }
    }
    assert!(checked > 1000, "{checked}");
    assert!(seen_full > 50, "{seen_full}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1, failure_persistence: None, ..ProptestConfig::default() })]

    /// No marker the policy forbids appears in any answer of any route, for any
    /// role and any `web.staff_sees`.
    #[test]
    fn no_route_leaks_what_the_policy_forbids(m in markers()) {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        rt.block_on(async {
            for backend in backends() {
                leak_check(backend, &m).await;
            }
        });
    }
}

// ------------------------------------------------------------ the two policies agree

/// `WebState::sight` (pages, API) and the search's access clause
/// (`access::search_caller`) answer the same for every `web.staff_sees` subset:
/// a user finds a document by a word only in its full text exactly when the
/// policy lets them see it in full.
#[tokio::test(flavor = "multi_thread")]
async fn page_policy_and_search_policy_agree_for_every_staff_sees_subset() {
    // fixed markers: consonant words that differ in every position's letter
    let m = Markers(
        (0..40usize)
            .map(|i| {
                let c = |k: usize| "bcdfghjklmnpqrstvwxz".as_bytes()[k % 20] as char;
                format!("zqx{}{}{}{}vvk", c(i), c(i / 20), c(i + 7), c(i * 3))
            })
            .collect(),
    );
    for backend in backends() {
        let env = TestEnv::new(backend).await;
        let (app, fx) = build(&env, &m).await;
        let mut agreed = 0;
        for access in StaffAccess::all_subsets() {
            let a = with_access(&app, access);
            let state = docgate::web::WebState::new(a.clone()).unwrap();
            for role in ROLES.iter().filter(|r| **r != "anonymous") {
                let u = auth::token_user(&app.store, &fx.tokens[role])
                    .await
                    .unwrap()
                    .unwrap();
                let caller = state.search_caller(Some(&u)).await.unwrap();
                for (st, (d, s)) in &fx.docs {
                    // a word only the full text holds (the body of the letter)
                    let Some(word) = s.content.first().or(s.open_content.first()) else {
                        continue;
                    };
                    if *st == State::AkReply {
                        continue;
                    }
                    let req = docgate::search::SearchRequest {
                        query: word.clone(),
                        ..Default::default()
                    };
                    let res = docgate::search::search(&a, &req, &caller).await.unwrap();
                    let found = res.hits.iter().any(|h| h.doc_id == d.id);
                    let full = state.can_see(&u, d).await.unwrap();
                    assert_eq!(
                        found, full,
                        "{backend} {role} {access:?} {st:?}: search finds {found}, pages see {full}"
                    );
                    assert_eq!(
                        full,
                        sees_in_full(role, access, *st),
                        "{role} {access:?} {st:?}"
                    );
                    agreed += 1;
                }
            }
        }
        assert!(agreed > 200, "{agreed}");
    }
}

// ------------------------------------------------------------ the intake test

fn raw_mail(subject: &str, body: &str, msgid: &str) -> String {
    format!(
        "From: Jüri Juurikas <jyri@example.ee>\r\nTo: dokumendid@ska.ee\r\nSubject: {subject}\r\nMessage-ID: <{msgid}>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0200\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

/// A letter with a personal code dropped into the Maildir and into the drop
/// folder is not on /avalik, not in public search and not behind its file URL
/// until a clerk confirms it; confirmed as AK it is listed with masked metadata.
#[tokio::test(flavor = "multi_thread")]
async fn intake_is_invisible_to_the_public_until_a_clerk_confirms_it() {
    for backend in backends() {
        let env = TestEnv::new(backend).await;
        let mut cfg = env.config.clone();
        cfg.web.public_rate_per_minute = 0;
        let app = App::open(cfg).await.unwrap();
        docgate::ingest::init_dirs(&app.config).unwrap();
        let clerk = user(&app, "kati", Role::Clerk, None).await;
        let maildir = docgate::ingest::maildir_path(&app.config);
        let drop = docgate::ingest::drop_folder_path(&app.config);
        let code = "38001010009";
        std::fs::write(
            maildir.join("new/1.test"),
            raw_mail(
                "Avaldus: Jüri Juurikas, isikukood 38001010009",
                &format!("Mind rünnati. Isikukood {code}. ohvriabisõna maildirsisu"),
                "intake-1@example.ee",
            ),
        )
        .unwrap();
        std::fs::write(
            drop.join("skann.txt"),
            format!("Skaneeritud kiri ohvriabisõna dropsisu, isikukood {code}"),
        )
        .unwrap();
        let sd = tokio_util::sync::CancellationToken::new();
        docgate::ingest::maildir::pass(&app, &maildir, &sd)
            .await
            .unwrap();
        docgate::ingest::dropfolder::pass(&app, &drop, std::time::Duration::ZERO, &sd)
            .await
            .unwrap();
        let docs = app.register.list(&Default::default()).await.unwrap();
        assert_eq!(docs.len(), 2, "{docs:?}");
        let router = docgate::serve::http_router(app.clone());
        let secrets = ["Juurikas", "Jüri", code, "maildirsisu", "dropsisu", "jyri@"];
        let check_public = |docs: Vec<Document>, router: axum::Router, invisible: bool| async move {
            let mut uris = vec![
                "/avalik".to_string(),
                "/avalik?q=ohvriabis%C3%B5na".to_string(),
                "/avalik?q=maildirsisu".to_string(),
                "/avalik?q=dropsisu".to_string(),
                "/avalik?q=Juurikas".to_string(),
            ];
            for d in &docs {
                uris.push(format!("/avalik/dokument/{}", d.id));
                for f in &d.files {
                    uris.push(format!("/avalik/dokument/{}/fail/{}", d.id, f.sha256));
                }
            }
            for uri in uris {
                let mut r = send(&router, "GET", &uri, None).await;
                // the search form shows the query back: that is not a leak
                if let Some((_, q)) = uri.split_once("?q=") {
                    r.body = r.body.replace(q, "");
                }
                for s in secrets {
                    assert!(
                        !r.body.contains(s) && !r.headers.contains(s),
                        "{s} in {uri}: {}",
                        r.body
                    );
                }
                for d in &docs {
                    if invisible {
                        assert!(!r.body.contains(&d.reg_no), "{} listed in {uri}", d.reg_no);
                    }
                }
                if invisible && uri.starts_with("/avalik/dokument/") {
                    assert_eq!(r.status, 404, "{uri}");
                }
            }
        };
        check_public(docs.clone(), router.clone(), true).await;
        // the clerk confirms both as AK (the inbox's "complete" with a restriction)
        for d in &docs {
            let r = router
                .clone()
                .oneshot(
                    Request::builder()
                        .method("PATCH")
                        .uri(format!("/api/v1/documents/{}", d.id))
                        .header(header::AUTHORIZATION, format!("Bearer {clerk}"))
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(r#"{"needs_review":false}"#))
                        .unwrap(),
                )
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            if d.restriction.is_none() {
                app.register
                    .restrict(
                        d.id,
                        NewRestriction {
                            end_by: Default::default(),
                            ground: "AvTS § 35 lg 1 p 12".into(),
                            ends: jiff::civil::date(2100, 1, 1),
                            holder: None,
                            begins: None,
                        },
                        "kati",
                    )
                    .await
                    .unwrap();
            }
        }
        let docs = app.register.list(&Default::default()).await.unwrap();
        assert!(docs
            .iter()
            .all(|d| !d.needs_review && d.restriction.is_some()));
        check_public(docs.clone(), router.clone(), false).await;
        let list = send(&router, "GET", "/avalik", None).await;
        for d in &docs {
            assert!(
                list.body.contains(&d.reg_no),
                "{} not listed: {}",
                d.reg_no,
                list.body
            );
            let r = send(&router, "GET", &format!("/avalik/dokument/{}", d.id), None).await;
            assert_eq!(r.status, 200);
            let ground = &d.restriction.as_ref().unwrap().ground;
            assert!(r.body.contains(ground.as_str()), "{ground}: {}", r.body);
            for f in &d.files {
                let r = send(
                    &router,
                    "GET",
                    &format!("/avalik/dokument/{}/fail/{}", d.id, f.sha256),
                    None,
                )
                .await;
                assert_eq!(r.status, 403, "AK file");
            }
        }
    }
}

// ------------------------------------------------------------ staff leaks (issue 13)

/// An AK document with a person, a deadline (a request for information received
/// long ago, so overdue) and a stopped clock with a free-text reason.
async fn overdue_ak(app: &App, title: &str, person: &str, reason: &str) -> Document {
    let ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 60);
    let mut nd = NewDocument::new(Direction::Incoming, Channel::Email, title);
    // a request for information (overdue by now), or a compensation claim whose clock may stop
    let rule = if reason.is_empty() {
        "avts-teabenoue"
    } else {
        "oas-huvitis"
    };
    nd.doc_type = Some(rule.into());
    nd.received = Some(ago.to_zoned(app.config.timezone()).date());
    nd.registered_at = Some(ago);
    nd.responsible = Some("mari".into());
    nd.unit = Some("Ohvriabi".into());
    nd.parties = vec![Party {
        kind: PartyKind::Person,
        role: PartyRole::Sender,
        name: person.into(),
        code: Some("38001010009".into()),
        email: Some("juurikas@example.ee".into()),
    }];
    nd.restriction = Some(NewRestriction {
        end_by: Default::default(),
        ground: "AvTS § 35 lg 1 p 11".into(),
        ends: jiff::civil::date(2090, 1, 1),
        holder: None,
        begins: None,
    });
    let d = app.register.register(nd, "kati").await.unwrap();
    if !reason.is_empty() {
        let eng = docgate::deadline::state::Engine::from_app(app).unwrap();
        docgate::deadline::state::record(
            app,
            &eng,
            &d.reg_no,
            docgate::deadline::engine::DeadlineEvent::ClockStopped {
                on: app.register.today(),
                reason: reason.into(),
            },
            "kati",
        )
        .await
        .unwrap();
    }
    d
}

/// `GET /api/v1/overdue` and the dashboard show a document the caller may not
/// see only as a masked row: no title, person, code or e-mail.
#[tokio::test(flavor = "multi_thread")]
async fn overdue_api_and_dashboard_do_not_leak_hidden_documents() {
    for backend in backends() {
        let env = TestEnv::new(backend).await;
        let app = env.app().await;
        let other = user(&app, "peeter", Role::Staff, Some("Muu")).await;
        let admin = user(&app, "adm", Role::Admin, None).await;
        let clerk = user(&app, "kati", Role::Clerk, None).await;
        let d = overdue_ak(&app, "Salajaneüleajapealkiri", "Jüri Juurikas", "").await;
        let router = docgate::serve::http_router(app.clone());
        let secrets = [
            "Salajaneüleajapealkiri",
            "Juurikas",
            "38001010009",
            "juurikas@",
        ];
        for (who, t) in [("staff-other", &other), ("admin", &admin)] {
            for uri in ["/api/v1/overdue", "/dashboard"] {
                let r = send(&router, "GET", uri, Some(t)).await;
                assert_eq!(r.status, 200, "{who} {uri}: {}", r.body);
                for s in secrets {
                    assert!(!r.body.contains(s), "{who} sees {s} in {uri}: {}", r.body);
                }
            }
            let r = send(&router, "GET", "/api/v1/overdue", Some(t)).await;
            assert!(
                r.body.contains(&d.reg_no),
                "masked row expected: {}",
                r.body
            );
        }
        let r = send(&router, "GET", "/api/v1/overdue", Some(&clerk)).await;
        assert!(r.body.contains("Salajaneüleajapealkiri"), "{}", r.body);
    }
}

/// The deadline trace (API and page) of a hidden document has no free-text reasons.
#[tokio::test(flavor = "multi_thread")]
async fn deadline_trace_hides_reasons_of_hidden_documents() {
    for backend in backends() {
        let env = TestEnv::new(backend).await;
        let app = env.app().await;
        let other = user(&app, "peeter", Role::Staff, Some("Muu")).await;
        let clerk = user(&app, "kati", Role::Clerk, None).await;
        let d = overdue_ak(&app, "Pealkiri", "Jüri Juurikas", "peatamisepõhjussalajane").await;
        let router = docgate::serve::http_router(app.clone());
        for uri in [
            format!("/api/v1/documents/{}/deadline", d.id),
            format!("/documents/{}", d.id),
        ] {
            let r = send(&router, "GET", &uri, Some(&other)).await;
            assert_eq!(r.status, 200, "{uri}: {}", r.body);
            assert!(
                !r.body.contains("peatamisepõhjussalajane"),
                "{uri}: {}",
                r.body
            );
            let r = send(&router, "GET", &uri, Some(&clerk)).await;
            assert!(
                r.body.contains("peatamisepõhjussalajane"),
                "clerk {uri}: {}",
                r.body
            );
        }
    }
}

/// The outbox recipient (and error) is not shown on a hidden document's page or API.
#[tokio::test(flavor = "multi_thread")]
async fn outbox_recipient_hidden_on_hidden_documents() {
    for backend in backends() {
        let env = TestEnv::new(backend).await;
        let app = env.app().await;
        let other = user(&app, "peeter", Role::Staff, Some("Muu")).await;
        let clerk = user(&app, "kati", Role::Clerk, None).await;
        let d = overdue_ak(&app, "Pealkiri", "Jüri Juurikas", "").await;
        let router = docgate::serve::http_router(app.clone());
        let r = router
            .clone()
            .oneshot(
                Request::builder()
                    .method("POST")
                    .uri(format!("/api/v1/documents/{}/reply", d.id))
                    .header(header::AUTHORIZATION, format!("Bearer {clerk}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(r#"{"title":"Vastus","body":"Tere"}"#))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let reply_id = v["document"]["id"].as_i64().unwrap();
        assert_eq!(v["outbox"][0]["recipient"], "juurikas@example.ee");
        let uri = format!("/documents/{reply_id}");
        let r = send(&router, "GET", &uri, Some(&other)).await;
        assert_eq!(r.status, 200);
        assert!(!r.body.contains("juurikas@example.ee"), "{}", r.body);
        assert!(r.body.contains("peidetud"), "{}", r.body);
        let r = send(&router, "GET", &uri, Some(&clerk)).await;
        assert!(r.body.contains("juurikas@example.ee"), "{}", r.body);
    }
}

/// A staff member who replies (by post) to an unrestricted document in a
/// restricted thread does not become responsible and gains no access to the case.
#[tokio::test(flavor = "multi_thread")]
async fn reply_in_restricted_thread_does_not_grant_the_case() {
    for backend in backends() {
        let env = TestEnv::new(backend).await;
        let app = env.app().await;
        let other = user(&app, "peeter", Role::Staff, Some("Muu")).await;
        let head = overdue_ak(&app, "Juhtumisaladus", "Jüri Juurikas", "").await;
        let mut nd = NewDocument::new(Direction::Incoming, Channel::Post, "Lisa");
        nd.reply_to = Some(head.reg_no.clone());
        let y = app.register.register(nd, "kati").await.unwrap();
        assert!(y.restriction.is_none());
        let router = docgate::serve::http_router(app.clone());
        let r = router
            .clone()
            .oneshot(
                Request::builder()
                    .method("POST")
                    .uri(format!("/api/v1/documents/{}/reply", y.id))
                    .header(header::AUTHORIZATION, format!("Bearer {other}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(
                        r#"{"title":"Vastus","body":"Tere","channel":"post"}"#,
                    ))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let thread = app.register.thread(head.thread_id).await.unwrap();
        assert!(
            thread
                .iter()
                .all(|d| d.responsible.as_deref() != Some("peeter")),
            "{thread:?}"
        );
        for uri in [
            format!("/api/v1/documents/{}", head.id),
            format!("/documents/{}", head.id),
            format!("/api/v1/documents/{}/thread", y.id),
            "/api/v1/search?q=Juhtumisaladus".into(),
        ] {
            let r = send(&router, "GET", &uri, Some(&other)).await;
            assert!(
                !r.body.contains("Juhtumisaladus") || uri.contains("q="),
                "{uri}: {}",
                r.body
            );
            assert!(!r.body.contains("Juurikas"), "{uri}: {}", r.body);
        }
        let r = send(
            &router,
            "GET",
            "/api/v1/search?q=Juhtumisaladus",
            Some(&other),
        )
        .await;
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert!(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["document"]["hidden"] == true),
            "{}",
            r.body
        );
    }
}

/// A DHX reply to a restricted document goes only to its party organisations
/// (another registry code is refused) and is recorded as a release.
#[tokio::test(flavor = "multi_thread")]
async fn dhx_reply_to_restricted_document_only_to_parties_and_recorded_as_release() {
    for backend in backends() {
        let env = TestEnv::new(backend).await;
        let mut cfg = env.config.clone();
        cfg.agency.registry_code = "70001975".into();
        let app = App::open(cfg).await.unwrap();
        let clerk = user(&app, "kati", Role::Clerk, None).await;
        let mut nd = NewDocument::new(Direction::Incoming, Channel::Dhx, "Politsei päring");
        nd.parties = vec![Party {
            kind: PartyKind::Organisation,
            role: PartyRole::Sender,
            name: "Politsei- ja Piirivalveamet".into(),
            code: Some("70008747".into()),
            email: None,
        }];
        nd.restriction = Some(NewRestriction {
            end_by: Default::default(),
            ground: "AvTS § 35 lg 1 p 11".into(),
            ends: jiff::civil::date(2090, 1, 1),
            holder: None,
            begins: None,
        });
        let d = app.register.register(nd, "kati").await.unwrap();
        let router = docgate::serve::http_router(app.clone());
        let reply = |to: &str| {
            Request::builder()
                .method("POST")
                .uri(format!("/api/v1/documents/{}/reply", d.id))
                .header(header::AUTHORIZATION, format!("Bearer {clerk}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!(
                    r#"{{"title":"Vastus","body":"Tere","channel":"dhx","recipient":"{to}"}}"#
                )))
                .unwrap()
        };
        let before = app.register.list(&Default::default()).await.unwrap().len();
        let r = router.clone().oneshot(reply("10000000")).await.unwrap();
        assert_eq!(r.status().as_u16(), 403, "a non-party is refused");
        assert_eq!(
            app.register.list(&Default::default()).await.unwrap().len(),
            before
        );
        let r = router.clone().oneshot(reply("70008747")).await.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let id = v["document"]["id"].as_i64().unwrap();
        let events = app.register.events(id).await.unwrap();
        let rel: Vec<_> = events.iter().filter(|e| e.kind == "released").collect();
        assert_eq!(rel.len(), 1, "{events:?}");
        assert_eq!(rel[0].detail["to"], "70008747");
        assert_eq!(rel[0].detail["how"], "dhx");
    }
}

/// The dashboard and `GET /api/v1/overdue` page the open deadlines with their
/// exact total (the dashboard 50 at a time, the most overdue first) and count
/// them per official; staff see only their own.
#[tokio::test(flavor = "multi_thread")]
async fn dashboard_and_overdue_api_page_the_open_deadlines_with_their_total() {
    for backend in backends() {
        let env = TestEnv::new(backend).await;
        let app = env.app().await;
        let lead = user(&app, "liis", Role::Lead, None).await;
        let staff = user(&app, "jaan", Role::Staff, Some("Ohvriabi")).await;
        let mut docs = Vec::new();
        for i in 0..53 {
            let mut nd = NewDocument::new(
                Direction::Incoming,
                Channel::Email,
                format!("Teabenõue number {i}"),
            );
            nd.doc_type = Some("avts-teabenoue".into());
            let ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * (40 + i));
            nd.received = Some(ago.to_zoned(app.config.timezone()).date());
            nd.registered_at = Some(ago);
            nd.responsible = Some(if i < 3 { "jaan" } else { "mari" }.into());
            docs.push(nd);
        }
        app.register.register_batch(docs, "kati").await.unwrap();
        let router = docgate::serve::http_router(app.clone());
        let rows = |body: &str| body.matches("<tr class=\"overdue\"").count();

        let r = send(&router, "GET", "/dashboard", Some(&lead)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains(r#"id="due-total">53<"#), "{}", r.body);
        assert_eq!(rows(&r.body), 50, "{backend}: one page");
        assert!(r.body.contains("id=\"due-next\""));
        assert!(!r.body.contains("id=\"due-prev\""));
        // The most overdue first: the oldest request (number 52) heads the page.
        let first = r.body.find("Teabenõue number 52").unwrap();
        let later = r.body.find("Teabenõue number 10").unwrap();
        assert!(first < later);
        // The per-official table from the counts.
        assert!(
            r.body.contains(">50</td>") && r.body.contains(">3</td>"),
            "{}",
            r.body
        );
        let r = send(&router, "GET", "/dashboard?offset=50", Some(&lead)).await;
        assert_eq!(rows(&r.body), 3, "{backend}: the rest");
        assert!(r.body.contains("id=\"due-prev\"") && !r.body.contains("id=\"due-next\""));
        let r = send(&router, "GET", "/dashboard?official=jaan", Some(&lead)).await;
        assert!(r.body.contains(r#"id="due-total">3<"#), "{}", r.body);
        // Staff: their own only, whatever they ask.
        let r = send(&router, "GET", "/dashboard?official=mari", Some(&staff)).await;
        assert!(r.body.contains(r#"id="due-total">3<"#), "{}", r.body);
        assert_eq!(rows(&r.body), 3);
        // The API: a page and the exact total; bounds refused.
        let r = send(
            &router,
            "GET",
            "/api/v1/overdue?limit=20&offset=40",
            Some(&lead),
        )
        .await;
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["total"], 53, "{}", r.body);
        assert_eq!(v["items"].as_array().unwrap().len(), 13);
        let r = send(&router, "GET", "/api/v1/overdue?official=jaan", Some(&lead)).await;
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["total"], 3, "{}", r.body);
        let r = send(&router, "GET", "/api/v1/overdue?limit=501", Some(&lead)).await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
}
