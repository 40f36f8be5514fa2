//! Server time of the register list, the dashboard and search at N documents.
//!
//! cargo run --release --example bench_web -- --docs 1000000 --data /tmp/bench-web [--reps 20] [--check]
//!
//! Fills an empty data directory through `Register::register_batch` (batches of
//! 1,000; a quarter restricted; the incoming two thirds are compensation
//! applications with a 30-day deadline counted from a received date up to 59
//! days back; parties: a sixth none, a third a natural person, the rest one of
//! 200 organisations), then times each page through the router
//! (`tower::ServiceExt::oneshot`, no network) and prints the median and p95:
//! the API list, the dashboard, search, the public register, and the HTML
//! register page in its default order and sorted by deadline and by party,
//! both directions, on the first page, the page at offset 500,000, the last
//! page and the middle of the documents without a key (the most walked).
//! `--check` then compares those sorted pages with the reference order
//! (`Register::list_by_subquery`, a full sort per page).

use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use docgate::model::*;
use docgate::web::auth::{self, NewUser, Role};
use docgate::{App, Config};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: i64 = arg("--docs", "100000").parse()?;
    let reps: usize = arg("--reps", "20").parse()?;
    let dir = std::path::PathBuf::from(arg("--data", "./bench-data/web"));
    let cfg = Config {
        data_dir: dir.clone(),
        ..Default::default()
    };
    let app = App::open(cfg).await?;
    let have = app.register.count(&Default::default()).await?;
    if have < n {
        eprintln!(
            "registering {} documents into {} ...",
            n - have,
            dir.display()
        );
        let start = Instant::now();
        let mut i = have;
        while i < n {
            let batch: Vec<NewDocument> = (i..(i + 1000).min(n))
                .map(|k| {
                    let mut d = NewDocument::new(
                        if k % 3 == 0 {
                            Direction::Outgoing
                        } else {
                            Direction::Incoming
                        },
                        Channel::Email,
                        format!("Kiri {k} ohvriabi hüvitise taotluse kohta"),
                    );
                    d.body = Some(format!(
                        "Taotlus number {k}. Palun hüvitist ravikulude eest."
                    ));
                    d.responsible = Some(format!("ametnik{}", k % 12));
                    d.needs_review = k % 97 == 0;
                    if k % 3 != 0 {
                        // a deadline for the register's deadline order
                        d.doc_type = Some("oas-huvitis".into());
                        d.received = jiff::Zoned::now()
                            .date()
                            .checked_sub(jiff::Span::new().days(k % 60))
                            .ok();
                    }
                    // varied first parties for the register's party order
                    match k % 6 {
                        0 => {}
                        1 | 3 => d.parties.push(Party {
                            kind: PartyKind::Person,
                            role: PartyRole::Sender,
                            name: format!("Isik {}", k % 1000),
                            code: None,
                            email: None,
                        }),
                        _ => d.parties.push(Party {
                            kind: PartyKind::Organisation,
                            role: PartyRole::Sender,
                            name: format!("Asutus {:03}", (k * 7) % 200),
                            code: None,
                            email: None,
                        }),
                    }
                    if k % 4 == 0 {
                        d.restriction = Some(NewRestriction {
                            end_by: Default::default(),
                            ground: "AvTS § 35 lg 1 p 12".into(),
                            ends: jiff::civil::date(2035, 1, 1),
                            holder: None,
                            begins: None,
                        });
                    }
                    d
                })
                .collect();
            i += batch.len() as i64;
            app.register.register_batch(batch, "bench").await?;
            if i % 50_000 == 0 {
                eprintln!("  {i} ({:.0} s)", start.elapsed().as_secs_f64());
            }
        }
    }
    if auth::find_user(&app.store, "bench").await?.is_none() {
        auth::create_user(
            &app.store,
            &NewUser {
                name: "bench".into(),
                full_name: "Bench".into(),
                role: Role::Lead,
                unit: None,
                email: None,
                password: "bench-password".into(),
            },
        )
        .await?;
    }
    let token = auth::create_token(&app.store, "bench", "bench").await?;
    let router = docgate::web::router(app.clone());
    println!(
        "documents: {}",
        app.register.count(&Default::default()).await?
    );
    let deep = n / 2;
    let last = (n - 50).max(0);
    let mut pages: Vec<(String, String)> = [
        (
            "register list (API, first page + exact count)",
            "/api/v1/documents?limit=50",
        ),
        (
            "register list (API, filtered: 83,334 of 1M match)",
            "/api/v1/documents?direction=outgoing&responsible=ametnik3&limit=50",
        ),
        (
            "dashboard (inbox count, deadlines, 12-month chart)",
            "/dashboard",
        ),
        (
            "dashboard, one official's deadlines",
            "/dashboard?official=ametnik3",
        ),
        (
            "dashboard, the deadlines at offset 100,000",
            "/dashboard?offset=100000",
        ),
        (
            "overdue list (API, first 100 + exact count)",
            "/api/v1/overdue",
        ),
        ("search (API)", "/api/v1/search?q=ravikulude&limit=20"),
        ("public register", "/avalik"),
        ("register page (HTML, default order)", "/documents"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    // the middle of the documents without a key (read from the nearer end:
    // the most documents walked): the third without a deadline, the sixth
    // without a party
    for (sort, by, worst) in [
        ("due", "deadline", n * 5 / 6),
        ("party", "party", n * 11 / 12),
    ] {
        for dir in ["asc", "desc"] {
            for (at, offset) in [
                ("first page", 0),
                ("offset", deep),
                ("last page", last),
                ("offset", worst),
            ] {
                let name = if at == "offset" {
                    format!("register page by {by}, {dir}, offset {offset}")
                } else {
                    format!("register page by {by}, {dir}, {at}")
                };
                pages.push((
                    name,
                    format!("/documents?sort={sort}&dir={dir}&offset={offset}"),
                ));
            }
        }
    }
    for (name, uri) in &pages {
        let mut times = vec![];
        for _ in 0..reps {
            let req = Request::get(uri)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())?;
            let t = Instant::now();
            let r = router.clone().oneshot(req).await?;
            let status = r.status();
            let _ = r.into_body().collect().await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(
                status.is_success() || status.is_redirection(),
                "{uri}: {status}"
            );
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{name:<60} median {:>8.1} ms   p95 {:>8.1} ms",
            times[times.len() / 2],
            times[(times.len() * 95 / 100).min(times.len() - 1)]
        );
    }
    if std::env::args().any(|a| a == "--check") {
        use docgate::register::{ListFilter, ListOrder};
        for order in [ListOrder::Due, ListOrder::Party] {
            for desc in [false, true] {
                let worst = if order == ListOrder::Due {
                    n * 5 / 6
                } else {
                    n * 11 / 12
                };
                for offset in [0, deep, last, worst] {
                    let f = ListFilter {
                        order,
                        newest_first: desc,
                        limit: Some(50),
                        offset: Some(offset),
                        ..Default::default()
                    };
                    let ids = |docs: Vec<Document>| docs.iter().map(|d| d.id).collect::<Vec<_>>();
                    let got = ids(app.register.list(&f).await?);
                    let want = ids(app.register.list_by_subquery(&f).await?);
                    anyhow::ensure!(
                        got == want && got.len() == 50,
                        "{order:?} desc={desc} offset {offset}: {got:?} != {want:?}"
                    );
                    println!("checked: {order:?} desc={desc} offset {offset}: same 50 documents as the reference order");
                }
            }
        }
    }
    Ok(())
}
