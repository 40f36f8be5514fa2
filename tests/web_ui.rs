//! The clerk's desk in real headless Chromium (chromedriver), on the demo
//! register and on a seeded one: every page fits a 390 px and a 1366 px wide
//! screen for every role, axe-core finds no serious or critical accessibility
//! violation, an Estonian page shows no English string of the catalogue, and
//! search pages through all its results.

mod browser;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;

use browser::*;

/// The roles of the demo register: the public (no login) and three users.
const ROLES: [&str; 4] = ["public", "kati", "liis", "mari.tamm"];

/// The pages each role opens: fixed ones, plus a document and a public
/// document found on the register pages.
async fn pages_of(d: &Driver, url: &str, role: &str) -> Vec<String> {
    let mut pages = vec![
        "/avalik".to_string(),
        "/avalik?q=ohvriabi".to_string(),
        "/no-such-page".to_string(),
    ];
    d.goto(&format!("{url}/avalik")).await;
    let public = d.source().await;
    if let Some(c) = regex::Regex::new(r#"href="/avalik/dokument/(\d+)""#)
        .unwrap()
        .captures(&public)
    {
        pages.push(format!("/avalik/dokument/{}", &c[1]));
    }
    if role == "public" {
        pages.push("/login".into());
        return pages;
    }
    pages.extend(
        [
            "/inbox",
            "/documents",
            "/documents?sort=due&dir=asc",
            "/search",
            "/search?q=h%C3%BCvitis",
            "/dashboard",
            "/reports",
            "/documents/999999",
        ]
        .map(String::from),
    );
    d.goto(&format!("{url}/documents")).await;
    let list = d.source().await;
    if let Some(c) = regex::Regex::new(r#"href="/documents/(\d+)""#)
        .unwrap()
        .captures(&list)
    {
        pages.push(format!("/documents/{}", &c[1]));
        pages.push(format!("/documents/{}/reply", &c[1]));
    }
    pages
}

/// Starts chromedriver and the demo register; None when a service is missing
/// (which fails under DOCGATE_REQUIRE_SERVICES).
async fn demo() -> Option<(Driver, Server, String)> {
    let d = Driver::start().await?;
    let srv = start_server(true);
    let printed = std::fs::read_to_string(&srv.stdout).unwrap();
    Some((d, srv, printed))
}

/// Runs `check` on every page of every role at each width.
async fn walk<F, Fut>(d: &Driver, url: &str, printed: &str, widths: &[u32], mut check: F) -> usize
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut checked = 0;
    for role in ROLES {
        if role != "public" {
            d.log_in(url, role, &demo_password(printed, role)).await;
        }
        let pages = pages_of(d, url, role).await;
        for w in widths {
            d.window_size(*w, 900).await;
            for p in &pages {
                d.goto(&format!("{url}{p}")).await;
                check(format!("{role} {w}px {p}")).await;
                checked += 1;
            }
        }
        if role != "public" {
            d.goto(&format!("{url}/dashboard")).await;
            d.click("#logout").await;
            d.wait_url_ends_with("/login").await;
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_scrolls_sideways_at_390_or_1366_px_for_any_role() {
    let Some((d, srv, printed)) = demo().await else {
        return;
    };
    let failures = std::sync::Mutex::new(Vec::new());
    let n = walk(&d, &srv.url, &printed, &[1366, 390], |what| {
        let d = &d;
        let failures = &failures;
        async move {
            let v = d
                .execute(
                    "return [document.documentElement.scrollWidth, window.innerWidth, \
                     Array.from(document.querySelectorAll('td a[href^=\"/documents/\"], td a[href^=\"/avalik/dokument/\"]')) \
                       .filter(a => a.getClientRects().length > 1).map(a => a.textContent)];",
                    serde_json::json!([]),
                )
                .await;
            let (sw, iw) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
            if sw > iw {
                failures
                    .lock()
                    .unwrap()
                    .push(format!("{what}: scrollWidth {sw} > innerWidth {iw}"));
            }
            if v[2].as_array().is_some_and(|a| !a.is_empty()) {
                failures
                    .lock()
                    .unwrap()
                    .push(format!("{what}: registration numbers wrap: {}", v[2]));
            }
        }
    })
    .await;
    assert!(n >= 40, "only {n} pages checked");
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let _ = d.call("DELETE", &d.s(""), None).await;
}

/// axe-core's path (`.ci/setup/axe.sh` exports it as DOCGATE_TEST_AXE_JS).
fn axe_source() -> Option<String> {
    let path = std::env::var("DOCGATE_TEST_AXE_JS")
        .unwrap_or_else(|_| "/opt/docgate-axe/node_modules/axe-core/axe.min.js".into());
    if !Path::new(&path).is_file() {
        docgate::testing::missing_service("axe-core", ".ci/setup/axe.sh installs it (npm)");
        return None;
    }
    Some(std::fs::read_to_string(path).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_no_serious_or_critical_violation_on_any_page_for_any_role() {
    let Some(axe) = axe_source() else {
        return;
    };
    let Some((d, srv, printed)) = demo().await else {
        return;
    };
    // axe's source runs in the page, then axe.run reports the violations
    let script = format!(
        "const done = arguments[arguments.length - 1];\n{axe}\n;\
         axe.run(document, {{resultTypes: ['violations']}}).then(r => done({{passes: r.passes.length, found: r.violations\
           .filter(v => v.impact === 'serious' || v.impact === 'critical')\
           .map(v => v.impact + ' ' + v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))}}))\
           .catch(e => done({{passes: 0, found: ['axe failed: ' + e]}}));"
    );
    d.call(
        "POST",
        &d.s("/timeouts"),
        Some(serde_json::json!({"script": 60000})),
    )
    .await;
    let failures = std::sync::Mutex::new(Vec::new());
    let n = walk(&d, &srv.url, &printed, &[1366, 390], |what| {
        let d = &d;
        let failures = &failures;
        let script = &script;
        async move {
            let v = d.execute_async(script, serde_json::json!([])).await;
            // axe ran its rules on the page (it answers how many passed)
            assert!(
                v["passes"].as_i64().unwrap_or(0) > 10,
                "{what}: axe answered {v}"
            );
            let found: Vec<String> = v["found"]
                .as_array()
                .unwrap_or_else(|| panic!("{what}: axe answered {v}"))
                .iter()
                .map(|x| x.as_str().unwrap_or_default().to_string())
                .collect();
            for f in found {
                failures.lock().unwrap().push(format!("{what}: {f}"));
            }
        }
    })
    .await;
    assert!(n >= 40, "only {n} pages checked");
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let _ = d.call("DELETE", &d.s(""), None).await;
}

/// The catalogue's English strings that would give an English page away: not
/// also Estonian (e.g. "Register", "DHX"), and not the switch's own "English".
fn english_strings() -> Vec<String> {
    let et: BTreeSet<String> = docgate::web::i18n::TEXTS
        .iter()
        .flat_map(|(_, et, _)| et.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    docgate::web::i18n::TEXTS
        .iter()
        .filter(|(k, _, _)| *k != "lang_name")
        .map(|(_, _, en)| en.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|en| en.chars().count() >= 4)
        .filter(|en| {
            en.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .any(|w| !et.contains(&w.to_lowercase()))
        })
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estonian_pages_show_no_english_string_of_the_catalogue() {
    let english = english_strings();
    assert!(english.len() > 100, "{}", english.len());
    let Some((d, srv, printed)) = demo().await else {
        return;
    };
    let url = srv.url.clone();
    let failures = std::sync::Mutex::new(Vec::new());
    let n = walk(&d, &url, &printed, &[1366], |what| {
        let d = &d;
        let failures = &failures;
        let english = &english;
        let url = &url;
        async move {
            // the same page with ?lang=et
            let here = d.current_url().await;
            let sep = if here.contains('?') { '&' } else { '?' };
            d.goto(&format!("{here}{sep}lang=et")).await;
            assert!(here.starts_with(url.as_str()));
            let v = d
                .execute(
                    "return [document.documentElement.lang, document.body.innerText, \
                     Array.from(document.querySelectorAll('[title],[aria-label],[placeholder]')) \
                       .map(e => [e.title, e.getAttribute('aria-label') || '', e.placeholder || ''].join(' ')).join(' ')];",
                    serde_json::json!([]),
                )
                .await;
            assert_eq!(v[0], "et", "{what}: <html lang>");
            let text = format!("{} {}", v[1].as_str().unwrap(), v[2].as_str().unwrap());
            for en in english {
                let re = regex::Regex::new(&format!(r"(?i)\b{}\b", regex::escape(en))).unwrap();
                if let Some(m) = re.find(&text) {
                    let around: String = text[..m.start()]
                        .chars()
                        .rev()
                        .take(40)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .chain(text[m.start()..].chars().take(40))
                        .collect();
                    failures.lock().unwrap().push(format!(
                        "{what}: English {en:?} on an Estonian page: …{around}…"
                    ));
                }
            }
        }
    })
    .await;
    assert!(n >= 20, "only {n} pages checked");
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // and the switch returns to the same page, in English
    d.goto(&format!("{url}/avalik?q=ohvriabi")).await;
    d.click("#lang-switch").await;
    d.wait_url_ends_with("/avalik?q=ohvriabi&lang=en").await;
    let page = d.source().await;
    assert!(
        page.contains("<html lang=\"en\">"),
        "English after the switch"
    );
    let _ = d.call("DELETE", &d.s(""), None).await;
}

/// 56 documents that all hold one word, and a clerk; then `serve`.
fn seeded_server(n: usize) -> (Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut c = docgate(&data);
        c.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(s) = stdin {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "docgate {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["init"], None);
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let mut names = vec![];
    for i in 1..=n {
        let f = files.join(format!("kiri-{i:02}.txt"));
        std::fs::write(
            &f,
            format!("Mesilaste talvitumise kiri number {i}: mesilane ja taru."),
        )
        .unwrap();
        names.push(f.display().to_string());
    }
    let mut args = vec![
        "register",
        "--title",
        "Mesilaste talvitumine",
        "--public",
        "avalik teave",
    ];
    args.extend(names.iter().map(String::as_str));
    run(&args, None);
    let password = "mesilane-parool-42";
    run(
        &[
            "user",
            "add",
            "kati",
            "--role",
            "clerk",
            "--full-name",
            "Kati Kask",
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
    let port = docgate::testing::free_port();
    let out = dir.path().join("stdout.txt");
    let mut child = docgate(&data)
        .arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    wait_http(&url, &mut child, &out);
    (
        Server {
            child,
            url,
            _dir: dir,
            stdout: out,
        },
        password.to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_pages_through_all_56_results() {
    let Some(d) = Driver::start().await else {
        return;
    };
    let (srv, pw) = seeded_server(56);
    let url = &srv.url;
    d.log_in(url, "kati", &pw).await;
    let doc_ids = regex::Regex::new(r#"<li><a href="/documents/(\d+)""#).unwrap();
    for per_page in [20_usize, 50] {
        d.goto(&format!("{url}/search?q=mesilane&per_page={per_page}"))
            .await;
        let mut seen = BTreeSet::new();
        let mut pages = 0;
        loop {
            // the index may still be catching up right after start
            let page = d.wait_source(|p| p.contains("id=\"total\">56<")).await;
            assert!(page.contains("id=\"total\">56<"), "Leitud 56");
            let ids: Vec<String> = doc_ids
                .captures_iter(&page)
                .map(|c| c[1].to_string())
                .collect();
            assert!(!ids.is_empty() && ids.len() <= per_page, "{}", ids.len());
            for id in ids {
                assert!(seen.insert(id.clone()), "document {id} shown twice");
            }
            pages += 1;
            if !page.contains("id=\"next\"") {
                break;
            }
            d.click("#next").await;
            d.wait_source(|p| {
                p.contains(&format!("offset={}", pages * per_page)) || !p.contains("id=\"next\"")
            })
            .await;
            assert!(pages < 10);
        }
        assert_eq!(seen.len(), 56, "every result once ({per_page} per page)");
        assert_eq!(pages, 56_usize.div_ceil(per_page));
        // and back: the page before the last
        if pages > 1 {
            let start = (pages - 2) * per_page + 1;
            d.click("#prev").await;
            let want = format!("id=\"shown\">{start}–");
            let page = d.wait_source(|p| p.contains(&want)).await;
            assert!(page.contains(&want), "{want}");
        }
    }
    // an offset past the first page shows other documents than the first page
    d.goto(&format!("{url}/search?q=mesilane&per_page=50"))
        .await;
    let first: BTreeSet<String> = doc_ids
        .captures_iter(&d.source().await)
        .map(|c| c[1].to_string())
        .collect();
    d.goto(&format!("{url}/search?q=mesilane&per_page=50&offset=50"))
        .await;
    let second: BTreeSet<String> = doc_ids
        .captures_iter(&d.source().await)
        .map(|c| c[1].to_string())
        .collect();
    assert_eq!(second.len(), 6);
    assert!(first.is_disjoint(&second), "offset=50 shows the next 6");
    let _ = d.call("DELETE", &d.s(""), None).await;
}

// ------------------------------------------------------------ the register's order, on both backends

use axum::body::Body;
use axum::http::{header, Request};
use docgate::model::*;
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn page(router: &axum::Router, uri: &str, token: &str) -> String {
    let r = router
        .clone()
        .oneshot(
            Request::get(uri)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{uri}");
    String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

/// The registration numbers of a register page, in the order shown.
fn reg_nos(html: &str) -> Vec<String> {
    regex::Regex::new(r#"<td data-label="[^"]*" class="reg"><a href="/documents/\d+">([^<]+)</a>"#)
        .unwrap()
        .captures_iter(html)
        .map(|c| c[1].to_string())
        .collect()
}

#[tokio::test]
async fn register_sorts_by_number_date_deadline_and_party_and_pages_on_both_backends() {
    for backend in docgate::testing::backends() {
        let env = docgate::testing::TestEnv::new(backend).await;
        let app = env.app().await;
        let token =
            docgate::testing::user_with_token(&app, "kati", docgate::web::Role::Clerk, None).await;
        // (party, organisation?, registered day): registered in this order, so
        // the number order is the date order reversed below
        let rows = [
            ("Cesar OÜ", true, 10),
            ("Alfa AS", true, 12),
            ("Zorro Isik", false, 3),
            ("Bravo MTÜ", true, 7),
        ];
        let mut regs = vec![];
        for (name, org, day) in rows {
            let mut nd =
                NewDocument::new(Direction::Incoming, Channel::Post, format!("Kiri {name}"));
            nd.parties = vec![Party {
                kind: if org {
                    PartyKind::Organisation
                } else {
                    PartyKind::Person
                },
                role: PartyRole::Sender,
                name: name.into(),
                code: None,
                email: None,
            }];
            nd.doc_type = Some("avts-teabenoue".into());
            nd.public_reason = Some("avalik teave".into());
            nd.registered_at = Some(
                jiff::civil::date(2026, 3, day)
                    .at(10, 0, 0, 0)
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .unwrap()
                    .timestamp(),
            );
            regs.push(app.register.register(nd, "kati").await.unwrap().reg_no);
        }
        let router = docgate::web::router(app);
        let by = |idx: &[usize]| -> Vec<String> { idx.iter().map(|i| regs[*i].clone()).collect() };
        // number: the registration order
        let h = page(&router, "/documents?sort=reg_no&dir=asc", &token).await;
        assert_eq!(reg_nos(&h), by(&[0, 1, 2, 3]), "{backend}: by number");
        let h = page(&router, "/documents?sort=reg_no&dir=desc", &token).await;
        assert_eq!(
            reg_nos(&h),
            by(&[3, 2, 1, 0]),
            "{backend}: by number, descending"
        );
        // date: 3, 7, 10, 12 March
        let h = page(&router, "/documents?sort=registered&dir=asc", &token).await;
        assert_eq!(reg_nos(&h), by(&[2, 3, 0, 1]), "{backend}: by date");
        // deadline: counted from the registration date, so the same order
        let h = page(&router, "/documents?sort=due&dir=asc", &token).await;
        assert_eq!(reg_nos(&h), by(&[2, 3, 0, 1]), "{backend}: by deadline");
        assert_eq!(
            h.matches(r#"data-label="Tähtaeg" class="date">2026-"#)
                .count(),
            4,
            "{backend}: the deadline column"
        );
        // party: Alfa, Bravo, Cesar, then the person as "eraisik"
        let h = page(&router, "/documents?sort=party&dir=asc", &token).await;
        assert_eq!(reg_nos(&h), by(&[1, 3, 0, 2]), "{backend}: by party");
        // paging keeps the order: two to a page is not configurable here, so
        // the offset moves through the same order
        let h = page(
            &router,
            "/documents?sort=registered&dir=asc&offset=2",
            &token,
        )
        .await;
        assert_eq!(reg_nos(&h), by(&[0, 1]), "{backend}: offset 2");
        assert!(h.contains("rel=\"prev\""), "{backend}: a previous page");
        assert!(
            h.contains("sort=registered") && h.contains("dir=asc"),
            "{backend}: the pager keeps the order"
        );
        // the report per series, document type and official over the same documents
        let h = page(&router, "/reports?from=2026-03-01&to=2026-03-31", &token).await;
        for id in ["report-series", "report-type", "report-official"] {
            assert!(h.contains(&format!("id=\"{id}\"")), "{backend}: {id}");
        }
        assert!(
            h.contains("(avts-teabenoue)</td><td class=\"num\" data-label=\"Kokku\">4<"),
            "{backend}: four of the type, by its kind's name"
        );
        assert!(
            h.contains(">määramata</td>"),
            "{backend}: unassigned official"
        );
        assert!(h.contains(">märts 2026</td>"), "{backend}: months by name");
    }
}

#[tokio::test]
async fn lang_query_works_on_every_page_and_errors_have_the_callers_header() {
    for backend in docgate::testing::backends() {
        let env = docgate::testing::TestEnv::new(backend).await;
        let app = env.app().await;
        let token =
            docgate::testing::user_with_token(&app, "liis", docgate::web::Role::Lead, None).await;
        let router = docgate::web::router(app);
        let get = |uri: &str, token: Option<&str>| {
            let mut b = Request::get(uri);
            if let Some(t) = token {
                b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
            }
            router.clone().oneshot(b.body(Body::empty()).unwrap())
        };
        for (uri, who) in [
            ("/avalik", None),
            ("/login", None),
            ("/dashboard", Some(token.as_str())),
            ("/documents", Some(token.as_str())),
            ("/search?q=x", Some(token.as_str())),
            ("/reports", Some(token.as_str())),
        ] {
            let sep = if uri.contains('?') { '&' } else { '?' };
            let r = get(&format!("{uri}{sep}lang=en"), who).await.unwrap();
            assert_eq!(r.status(), 200, "{backend} {uri}");
            let kept = r
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .any(|v| v.to_str().unwrap().starts_with("lang=en;"));
            assert!(kept, "{backend} {uri}: the language is kept in its cookie");
            let body =
                String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec())
                    .unwrap();
            assert!(body.contains("<html lang=\"en\">"), "{backend} {uri}");
            // the switch goes to the same page in Estonian
            let path = uri.split('?').next().unwrap();
            assert!(
                body.contains(&format!("id=\"lang-switch\" href=\"{path}?")),
                "{backend} {uri}: {body}"
            );
            assert!(body.contains("lang=et\""), "{backend} {uri}");
        }
        // an error page: the user's own header, their language, a way back
        let r = get("/no-such-page?lang=en", Some(&token)).await.unwrap();
        assert_eq!(r.status(), 404);
        let body =
            String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        assert!(
            body.contains("id=\"logout\""),
            "{backend}: the user's header"
        );
        assert!(
            body.contains("There is no such page or document."),
            "{backend}"
        );
        assert!(body.contains("id=\"error-back\" href=\"/\""), "{backend}");
        let r = get("/documents/abc", Some(&token)).await.unwrap();
        assert_eq!(r.status(), 400);
        let body =
            String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        assert!(
            body.contains("<html lang=\"et\">") && body.contains("Päringus on viga"),
            "{backend}"
        );
        assert!(
            !body.contains("Logi sisse"),
            "{backend}: not the public's header"
        );
        // the public's error page goes back to the public register
        let r = get("/avalik/dokument/999999", None).await.unwrap();
        assert_eq!(r.status(), 404);
        let body =
            String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        assert!(
            body.contains("id=\"error-back\" href=\"/avalik\""),
            "{backend}"
        );
        assert!(
            body.contains("Sellist lehte ega dokumenti ei ole."),
            "{backend}"
        );
    }
}
