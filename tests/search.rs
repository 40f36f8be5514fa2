//! Search: Estonian analysis on real law text, the public projection and the leak
//! property test, crash-resume, rebuilds, verify, segment GC and the command line.
//! Runs on SQLite always and on PostgreSQL when DOCGATE_TEST_POSTGRES_URL is set.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::Command;

use docgate::model::*;
use docgate::search::indexer::{self, Payload};
use docgate::search::projection::Source;
use docgate::search::{self as search, Allowed, Caller, SearchIndex, SearchRequest, Sort};
use docgate::testing::{backends, TestEnv};
use docgate::App;
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/search")
        .join(name)
}

fn letter(title: &str, body: &str) -> NewDocument {
    let mut d = NewDocument::new(Direction::Incoming, Channel::Email, title);
    d.body = Some(body.to_string());
    d
}

fn req(q: &str) -> SearchRequest {
    SearchRequest {
        query: q.to_string(),
        limit: 1000,
        ..Default::default()
    }
}

async fn find(app: &App, q: &str, caller: &Caller) -> Vec<String> {
    search::search(app, &req(q), caller)
        .await
        .unwrap_or_else(|e| panic!("search {q:?}: {e}"))
        .hits
        .into_iter()
        .map(|h| h.reg_no)
        .collect()
}

/// Registers the fixture letters; returns file name → reg no.
async fn register_fixtures(app: &App) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (i, name) in [
        "ohver.txt",
        "ohvrite.txt",
        "tonis-exact.txt",
        "tonis-plain.txt",
    ]
    .into_iter()
    .enumerate()
    {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        let d = app
            .register
            .register(letter(&format!("Kiri {}", i + 1), &text), "test")
            .await
            .unwrap();
        out.insert(name.to_string(), d.reg_no);
    }
    out
}

#[tokio::test]
async fn estonian_inflection_diacritics_and_compounds() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let r = register_fixtures(&app).await;
        let all = Caller::All;
        // Inflected queries find the base form, and the reverse.
        for q in ["ohvrile", "ohvrite", "ohvrid", "ohver"] {
            let hits = find(&app, q, &all).await;
            assert!(hits.contains(&r["ohver.txt"]), "{b}: {q} -> {hits:?}");
            assert!(hits.contains(&r["ohvrite.txt"]), "{b}: {q} -> {hits:?}");
            assert!(!hits.contains(&r["tonis-exact.txt"]), "{b}: {q}");
        }
        // Compounds need a prefix query.
        assert!(!find(&app, "ohvriabi", &all)
            .await
            .contains(&r["ohvrite.txt"]));
        assert_eq!(
            find(&app, "ohvriabi*", &all).await,
            vec![r["ohvrite.txt"].clone()]
        );
        assert_eq!(
            find(&app, "Ohvriabikeskus*", &all).await,
            vec![r["ohvrite.txt"].clone()]
        );
        // Typed without diacritics, "Tonis" finds both spellings; typed with
        // them, the exact spelling ranks first.
        let mut tonis = find(&app, "Tonis", &all).await;
        tonis.sort();
        let mut both = vec![r["tonis-plain.txt"].clone(), r["tonis-exact.txt"].clone()];
        both.sort();
        assert_eq!(tonis, both, "{b}");
        let tonis = find(&app, "Tõnis", &all).await;
        assert_eq!(
            tonis,
            vec![r["tonis-exact.txt"].clone(), r["tonis-plain.txt"].clone()],
            "{b}"
        );
        assert_eq!(
            find(&app, "psuhholoogilise", &all).await,
            vec![r["tonis-exact.txt"].clone()]
        );
        // Phrases, OR, NOT.
        assert_eq!(
            find(&app, "\"Tamm esitas\"", &all).await,
            vec![r["tonis-exact.txt"].clone()]
        );
        assert_eq!(
            find(&app, "\"esitas Tamm\"", &all).await,
            Vec::<String>::new()
        );
        assert_eq!(
            find(&app, "\"Tõnis Tamm\"", &all).await[0],
            r["tonis-exact.txt"]
        );
        assert_eq!(
            find(&app, "Tamm -psühholoogilise", &all).await,
            vec![r["tonis-plain.txt"].clone()]
        );
        let or = find(&app, "hüvitis OR kriisiabi", &all).await;
        assert_eq!(or.len(), 2, "{or:?}");
        // No document has both: relaxed matching lists those with one, marked.
        let and = search::search(&app, &req("hüvitis AND kriisiabi"), &all)
            .await
            .unwrap();
        assert_eq!(and.total, 0);
        assert_eq!(and.relaxed, 2, "{:?}", and.hits);
        assert!(and
            .hits
            .iter()
            .all(|h| h.matched == docgate::search::query::Matched::Some));
        // Snippets highlight the matched word.
        let res = search::search(&app, &req("ohvrile"), &all).await.unwrap();
        assert!(
            res.hits.iter().any(|h| h.snippet.contains("<b>ohver</b>")),
            "{:?}",
            res.hits
        );
        // Bad input is a clear error.
        let e = search::search(&app, &req("\"open"), &all)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("quote is not closed"), "{e}");
    }
}

fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(|w| w.to_lowercase())
        .collect()
}

#[tokio::test]
async fn real_law_text_inflected_and_folded_queries() {
    let env = TestEnv::new("sqlite").await;
    let app = env.app().await;
    let dir = fixture("et-laws");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt") && !p.ends_with("SOURCES.txt"))
        .collect();
    files.sort();
    let mut news = Vec::new();
    let mut texts = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let title = text.lines().next().unwrap_or("").to_string();
        news.push(letter(&title, &text));
        texts.push(words(&text));
    }
    let docs = app.register.register_batch(news, "test").await.unwrap();
    let by_reg: HashMap<String, usize> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.reg_no.clone(), i))
        .collect();
    let all = Caller::All;
    let hits_of =
        |hits: Vec<String>| -> BTreeSet<usize> { hits.into_iter().map(|r| by_reg[&r]).collect() };
    // Every section holding the base form is found by inflected queries, and
    // sections holding only inflected forms by the base form.
    for (query, forms) in [
        (
            "kannatanule",
            vec!["kannatanu", "kannatanut", "kannatanud", "kannatanule"],
        ),
        ("kannatanu", vec!["kannatanule", "kannatanut"]),
        ("seadustes", vec!["seadus", "seaduse"]),
    ] {
        let got = hits_of(find(&app, query, &all).await);
        let want: BTreeSet<usize> = texts
            .iter()
            .enumerate()
            .filter(|(_, w)| forms.iter().any(|f| w.contains(*f)))
            .map(|(i, _)| i)
            .collect();
        assert!(
            !want.is_empty(),
            "{query}: the corpus has none of {forms:?}"
        );
        let missed: Vec<_> = want
            .difference(&got)
            .map(|i| files[*i].display().to_string())
            .collect();
        assert!(missed.is_empty(), "{query} missed {missed:?}");
        // And the query found sections that do not contain it literally.
        assert!(got.iter().any(|i| !texts[*i].contains(query)), "{query}");
    }
    // Typed without diacritics: "väärkohtlemise" in KarS § 121.
    let got = hits_of(find(&app, "vaarkohtlemine", &all).await);
    let want: BTreeSet<usize> = texts
        .iter()
        .enumerate()
        .filter(|(_, w)| w.contains("väärkohtlemise") || w.contains("väärkohtlemine"))
        .map(|(i, _)| i)
        .collect();
    assert!(!want.is_empty());
    assert!(want.is_subset(&got), "want {want:?} got {got:?}");
    // Exact totals and pagination across pages.
    let total = search::search(&app, &req("karistatakse"), &all)
        .await
        .unwrap()
        .total;
    assert!(total > 100, "{total}");
    let mut seen = BTreeSet::new();
    let mut offset = 0;
    while offset < total as usize {
        let page = search::search(
            &app,
            &SearchRequest {
                query: "karistatakse".into(),
                limit: 37,
                offset,
                ..Default::default()
            },
            &all,
        )
        .await
        .unwrap();
        assert_eq!(page.total, total);
        // Past the all-words hits, relaxed matching fills the last page with
        // documents matching the word only within the typo distance.
        let mut relaxed = false;
        for h in page.hits {
            if h.matched == docgate::search::query::Matched::Some {
                relaxed = true;
                continue;
            }
            assert!(!relaxed, "an all-words hit after a relaxed one");
            assert!(seen.insert(h.reg_no));
        }
        offset += 37;
    }
    assert_eq!(seen.len() as u64, total);
}

#[tokio::test]
async fn attachment_text_from_the_mail_corpus_is_searchable() {
    let env = TestEnv::new("sqlite").await;
    let app = env.app().await;
    // A message of the mail corpus with attached messages (Dovecot test suite).
    let raw = std::fs::read(fixture("mail-015.eml")).unwrap();
    let mut d = letter("e-kiri manusega", "Vt manust.");
    let mut f = NewFile::new("015.eml", "message/rfc822", raw.clone());
    f.text = Some(String::from_utf8_lossy(&raw).into_owned());
    f.text_status = TextStatus::Extracted;
    d.files.push(f);
    let doc = app.register.register(d, "test").await.unwrap();
    let hits = find(&app, "proxmox", &Caller::All).await;
    assert_eq!(hits, vec![doc.reg_no.clone()]);
    // a raw e-mail (message/rfc822, *.eml) is never public: not its text either
    assert!(!find(&app, "mailserver", &Caller::Public)
        .await
        .contains(&doc.reg_no));
    assert!(find(&app, "mailserver", &Caller::All)
        .await
        .contains(&doc.reg_no));
}

fn restricted_letter(title: &str, body: &str, person: &str) -> NewDocument {
    let mut d = letter(title, body);
    d.parties.push(Party {
        kind: PartyKind::Person,
        role: PartyRole::Sender,
        name: person.to_string(),
        code: Some("49403136515".into()),
        email: None,
    });
    d.restriction = Some(NewRestriction {
        end_by: Default::default(),
        ground: "AvTS § 35 lg 1 p 11".into(),
        ends: jiff::civil::date(2090, 1, 1),
        holder: None,
        begins: None,
    });
    d
}

#[tokio::test]
async fn public_and_staff_projections() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let mut secret = restricted_letter(
            "Mari Maasikas taotlus",
            "Ohvriabi taotlus: Mari Maasikas, isikukood 49403136515, salajaneterminus.",
            "Mari Maasikas",
        );
        secret.responsible = Some("anna".into());
        let secret = app.register.register(secret, "test").await.unwrap();
        let mut open = letter(
            "Teabenõue",
            "Juhan Juurikas küsib statistikat, avalikterminus.",
        );
        open.parties.push(Party {
            kind: PartyKind::Person,
            role: PartyRole::Sender,
            name: "Juhan Juurikas".into(),
            code: None,
            email: None,
        });
        // Public on purpose: a natural person would restrict it by default.
        open.public_reason = Some("avalik teave".into());
        let open = app.register.register(open, "test").await.unwrap();
        let public = Caller::Public;
        // Restricted text, title, names and codes are not in the public projection.
        for q in [
            "salajaneterminus",
            "Maasikas",
            "Mari",
            "49403136515",
            "taotlus",
            "Juurikas",
        ] {
            let r = search::search(&app, &req(q), &public).await.unwrap();
            assert_eq!(r.total, 0, "{b}: public {q}: {:?}", r.hits);
        }
        // The restricted document is listed by its number, masked.
        let r = search::search(&app, &req(&secret.reg_no), &public)
            .await
            .unwrap();
        assert_eq!(r.total, 1, "{b}");
        assert_eq!(r.hits[0].title, "Asutusesiseseks kasutamiseks");
        assert!(r.hits[0].snippet.is_empty());
        assert!(r.hits[0].restricted);
        let r = search::search(&app, &req("eraisik"), &public)
            .await
            .unwrap();
        assert_eq!(r.total, 2, "{b}: both senders are natural persons");
        // A natural person is a party: the public finds the public title, not the text.
        let r = search::search(&app, &req("avalikterminus"), &public)
            .await
            .unwrap();
        assert_eq!(r.total, 0, "{b}: text of a document with a natural person");
        let r = search::search(&app, &req("Teabenõue"), &public)
            .await
            .unwrap();
        assert_eq!(r.total, 1);
        assert!(!r.hits[0].snippet.contains("Juurikas"));
        assert!(!r.hits[0].snippet.contains("avalikterminus"));
        // Staff: the responsible official sees it; another sees the masked view only.
        let anna = Caller::Staff(Allowed {
            user: Some("anna".into()),
            ..Default::default()
        });
        let peeter = Caller::Staff(Allowed {
            user: Some("peeter".into()),
            units: vec!["muu".into()],
            ..Default::default()
        });
        assert_eq!(
            find(&app, "salajaneterminus", &anna).await,
            vec![secret.reg_no.clone()]
        );
        assert_eq!(
            find(&app, "salajaneterminus", &peeter).await,
            Vec::<String>::new()
        );
        assert_eq!(
            find(&app, "salajaneterminus", &Caller::All).await,
            vec![secret.reg_no.clone()]
        );
        let by_doc = Caller::Staff(Allowed {
            docs: vec![secret.id],
            ..Default::default()
        });
        assert_eq!(
            find(&app, "Maasikas", &by_doc).await,
            vec![secret.reg_no.clone()]
        );
        // Staff see names in public documents; each document appears once.
        assert_eq!(
            find(&app, "Juurikas", &peeter).await,
            vec![open.reg_no.clone()]
        );
        let r = search::search(&app, &req(""), &peeter).await.unwrap();
        assert_eq!(r.total, 2);
        // Lifting the restriction reaches the public projection: the public
        // title (a natural person is a party, so not the text).
        app.register
            .lift_restriction(secret.id, "põhjus möödus", "test")
            .await
            .unwrap();
        assert_eq!(
            find(&app, "taotlus", &public).await,
            vec![secret.reg_no.clone()]
        );
        assert_eq!(
            find(&app, "salajaneterminus", &public).await,
            Vec::<String>::new()
        );
        assert_eq!(find(&app, "Maasikas", &public).await, Vec::<String>::new());
        // Filters: restricted or not, dates, sort.
        let mut r2 = req("");
        r2.restricted = Some(true);
        assert_eq!(
            search::search(&app, &r2, &Caller::All).await.unwrap().total,
            0
        );
        let mut r3 = req("");
        r3.from = Some(jiff::civil::date(2000, 1, 1));
        r3.to = Some(jiff::civil::date(2000, 12, 31));
        assert_eq!(
            search::search(&app, &r3, &Caller::All).await.unwrap().total,
            0
        );
        let mut r4 = req("");
        r4.sort = Sort::Newest;
        r4.facets = true;
        let res = search::search(&app, &r4, &Caller::All).await.unwrap();
        assert_eq!(res.hits.len(), 2);
        assert_eq!(res.facets["direction"]["incoming"], 2);
    }
}

// ------------------------------------------------------------ leak property test

#[derive(Debug, Clone)]
struct GenDoc {
    restricted: bool,
    secret: String,
    person: String,
    responsible: u8,
}

fn gen_doc() -> impl Strategy<Value = GenDoc> {
    (any::<bool>(), "[a-z]{6,10}", "[A-Z][a-z]{4,8}", 0u8..3).prop_map(
        |(restricted, s, p, responsible)| GenDoc {
            restricted,
            secret: format!("qx{s}"),
            person: format!("{p}son"),
            responsible,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]
    #[test]
    fn public_or_unauthorised_search_never_reveals_restricted_content(docs in prop::collection::vec(gen_doc(), 1..10)) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let env = TestEnv::new("sqlite").await;
            let app = env.app().await;
            let mut regs = Vec::new();
            for (i, g) in docs.iter().enumerate() {
                let body = format!("Kiri {i}: {} ja ühine sõna vahend.", g.secret);
                let mut d = if g.restricted {
                    restricted_letter(&format!("Pealkiri {}", g.secret), &body, &format!("Mart {}", g.person))
                } else {
                    let mut d = letter(&format!("Pealkiri {}", g.secret), &body);
                    d.parties.push(Party { kind: PartyKind::Person, role: PartyRole::Sender,
                        name: format!("Mart {}", g.person), code: None, email: None });
                    d.public_reason = Some("avalik teave".into());
                    d
                };
                d.responsible = Some(format!("user{}", g.responsible));
                regs.push(app.register.register(d, "test").await.unwrap());
            }
            let unauthorised = Caller::Staff(Allowed { user: Some("user0".into()), ..Default::default() });
            let visible = |g: &GenDoc, caller: &Caller| -> bool {
                match caller {
                    Caller::Public => !g.restricted,
                    Caller::Staff(_) => !g.restricted || g.responsible == 0,
                    Caller::All => true,
                }
            };
            for caller in [Caller::Public, unauthorised] {
                type Pred = Box<dyn Fn(&GenDoc) -> bool>;
                let mut queries: Vec<(String, Pred)> = Vec::new();
                let public = matches!(caller, Caller::Public);
                for g in &docs {
                    let s = g.secret.clone();
                    queries.push((s.clone(), Box::new({ let s = s.clone(); move |d: &GenDoc| d.secret == s })));
                    queries.push((format!("\"{s}\""), Box::new({ let s = s.clone(); move |d: &GenDoc| d.secret == s })));
                    queries.push((format!("pealkiri {s}"), Box::new({ let s = s.clone(); move |d: &GenDoc| d.secret == s })));
                    let p = s[..4].to_string();
                    queries.push((format!("{p}*"), Box::new(move |d: &GenDoc| d.secret.starts_with(&p))));
                    let person = g.person.clone();
                    queries.push((person.clone(), Box::new(move |d: &GenDoc| !public && d.person == person)));
                }
                // body text only: every unrestricted document here has a natural
                // person as party, so the public never finds its text
                queries.push(("vahend".into(), Box::new(move |_: &GenDoc| !public)));
                let listing = search::search(&app, &req(""), &caller).await.unwrap();
                prop_assert_eq!(listing.total as usize, docs.len(), "every document is listed");
                for (q, pred) in &queries {
                    let mut r = req(q);
                    r.facets = true;
                    let res = search::search(&app, &r, &caller).await.unwrap();
                    let expected = docs.iter().filter(|g| visible(g, &caller) && pred(g)).count();
                    prop_assert_eq!(res.total as usize, expected, "caller {:?} query {:?}", caller, q);
                    let facet_total: u64 = res.facets.get("direction").map(|m| m.values().sum()).unwrap_or(0);
                    prop_assert_eq!(facet_total, res.total);
                    for h in &res.hits {
                        let i = regs.iter().position(|d| d.reg_no == h.reg_no).unwrap();
                        for (j, g) in docs.iter().enumerate() {
                            let shown = format!("{} {}", h.title, h.snippet).to_lowercase();
                            if !visible(g, &caller) {
                                prop_assert!(!shown.contains(&g.secret), "secret of {} shown in hit {}", j, i);
                                prop_assert!(!shown.contains(&g.person.to_lowercase()));
                            }
                            if matches!(caller, Caller::Public) {
                                prop_assert!(!shown.contains(&g.person.to_lowercase()), "name shown publicly");
                            }
                        }
                    }
                }
            }
            Ok(())
        })?;
    }
}

// ------------------------------------------------------------ crash, rebuild, verify

#[tokio::test]
async fn crash_before_commit_resumes_with_exact_counts() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        for i in 0..30 {
            app.register
                .register(letter(&format!("kiri {i}"), "sisu tekst"), "test")
                .await
                .unwrap();
        }
        {
            // Index half of them and "crash": the writer goes away without a commit.
            let h = SearchIndex::open(&app).await.unwrap();
            assert_eq!(
                h.counts().unwrap(),
                (30, 30),
                "{b}: the first open builds from the database"
            );
            for i in 31..=45 {
                app.register
                    .register(letter(&format!("uus {i}"), "sisu tekst"), "test")
                    .await
                    .unwrap();
            }
            let g = h.current();
            let ids: BTreeSet<i64> = (31..=38).collect();
            let sources = indexer::load_sources(&app, &ids).await.unwrap();
            let w = docgate::search::indexer::Writers::open_default(&g).unwrap();
            w.apply(&h.fields, &h.cfg, &sources, app.register.today())
                .unwrap();
            drop(w); // no commit
        }
        let h = SearchIndex::open(&app).await.unwrap();
        assert_eq!(h.counts().unwrap(), (30, 30), "{b}");
        h.catch_up(&app).await.unwrap();
        assert_eq!(h.counts().unwrap(), (45, 45), "{b}");
        let again = h.catch_up(&app).await.unwrap();
        assert_eq!(again.events, 0);
        drop(h);
        let v = search::verify(&app).await.unwrap();
        assert!(v.ok, "{b}: {v:?}");
        assert_eq!(v.documents_staff_index, 45);
    }
}

#[tokio::test]
async fn interrupted_rebuild_resumes_and_verify_finds_differences() {
    let env = TestEnv::new("sqlite").await;
    let mut config = env.config.clone();
    config.search.page_size = 10;
    config.search.rebuild_commit_every = 10;
    let app = App::open(config).await.unwrap();
    for i in 0..95 {
        app.register
            .register(letter(&format!("kiri {i}"), "sisu"), "test")
            .await
            .unwrap();
    }
    let root = indexer::root_of(&app);
    let fields = docgate::search::schema::Fields::new();
    // Stop after 40 documents: 40 are committed, the rest is lost.
    let e = indexer::rebuild(&app, &root, &fields, &app.config.search, &|n| n < 45).await;
    assert!(e.is_err());
    assert!(std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(".building")));
    let r = search::reindex(&app, &|_| true).await.unwrap();
    assert!(r.resumed_after_id >= 40, "{r:?}");
    assert_eq!(r.documents as i64 + r.resumed_after_id, 95);
    let v = search::verify(&app).await.unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(
        (v.documents_staff_index, v.documents_public_index),
        (95, 95)
    );
    // Damage the index: one document removed, one foreign id added.
    let h = SearchIndex::shared(&app).await.unwrap();
    {
        let g = h.current();
        let mut guard = g.writers.lock().unwrap();
        let w = guard.as_mut().unwrap();
        let f = &h.fields;
        w.staff
            .delete_term(tantivy::Term::from_field_u64(f.doc_id, 7));
        let mut fake = tantivy::TantivyDocument::default();
        fake.add_u64(f.doc_id, 999_999);
        fake.add_text(f.kind, "full");
        w.staff.add_document(fake).unwrap();
        let p = g.payload().unwrap();
        w.commit(&Payload { ..p }).unwrap();
    }
    let v = search::verify(&app).await.unwrap();
    assert!(!v.ok);
    assert_eq!(v.missing, vec![7]);
    assert_eq!(v.orphaned, vec![999_999]);
    // A rebuild repairs it.
    search::reindex(&app, &|_| true).await.unwrap();
    let v = search::verify(&app).await.unwrap();
    assert!(v.ok, "{v:?}");
}

#[tokio::test]
async fn repeated_updates_keep_the_index_within_twice_its_fresh_size() {
    let env = TestEnv::new("sqlite").await;
    let app = env.app().await;
    let mut news = Vec::new();
    for i in 0..200 {
        let text = format!(
            "Kiri number {i}. Kuriteoohvrile hüvitise maksmise taotlus, ravikulud ja kahju {}.",
            "sõnad ".repeat(40)
        );
        news.push(letter(&format!("kiri {i}"), &text));
    }
    app.register.register_batch(news, "test").await.unwrap();
    let h = SearchIndex::open(&app).await.unwrap();
    let g = h.current();
    let ids: BTreeSet<i64> = (1..=200).collect();
    let sources: Vec<(i64, Option<Source>)> = indexer::load_sources(&app, &ids).await.unwrap();
    // 10,000 updates: every document re-indexed 50 times, one commit per round.
    {
        let mut w = docgate::search::indexer::Writers::open_default(&g).unwrap();
        let p = g.payload().unwrap();
        for _ in 0..50 {
            w.apply(&h.fields, &h.cfg, &sources, app.register.today())
                .unwrap();
            w.commit(&p).unwrap();
        }
        w.finish().unwrap();
    }
    let updated = h.disk_size();
    drop(g);
    drop(h);
    let r = search::reindex(&app, &|_| true).await.unwrap();
    let fresh = r.bytes;
    assert!(fresh > 0);
    assert!(
        updated <= 2 * fresh,
        "after 10,000 updates {updated} bytes, fresh {fresh} bytes"
    );
    let h = SearchIndex::open(&app).await.unwrap();
    assert_eq!(h.counts().unwrap(), (200, 200));
}

// ------------------------------------------------------------ command line

fn docgate(env: &TestEnv, data: &PathBuf, args: &[&str]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_docgate"));
    c.args(args).current_dir(env.dir.path());
    for (k, v) in env.env() {
        c.env(k, v);
    }
    c.env("DOCGATE_DATA_DIR", data);
    c.output().expect("run docgate")
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "docgate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

#[tokio::test]
async fn command_line_search_and_reindex_on_every_backend() {
    for b in backends() {
        let env = TestEnv::new(b).await;
        let data = env.config.data_dir.clone();
        let f = fixture("ohver.txt");
        let f = f.to_str().unwrap();
        json(&docgate(
            &env,
            &data,
            &["register", f, "--title", "Hüvitise taotlus", "--json"],
        ));
        let out = json(&docgate(&env, &data, &["search", "ohvrile", "--json"]));
        assert_eq!(out["total"], 1, "{b}: {out}");
        let hit = &out["hits"][0];
        assert_eq!(hit["reg_no"], "9-13/1");
        assert_eq!(hit["title"], "Hüvitise taotlus");
        assert!(hit["score"].as_f64().unwrap() > 0.0);
        assert!(hit["snippet"].as_str().unwrap().contains("<b>ohver</b>"));
        // A restricted registration: found by staff, not by the public.
        json(&docgate(
            &env,
            &data,
            &[
                "register",
                f,
                "--title",
                "Mari Maasikas",
                "--party",
                "Mari Maasikas",
                "--restrict",
                "AvTS § 35 lg 1 p 11",
                "--restrict-until",
                "2090-01-01",
                "--json",
            ],
        ));
        let out = json(&docgate(&env, &data, &["search", "ohver", "--json"]));
        assert_eq!(out["total"], 2);
        let out = json(&docgate(
            &env,
            &data,
            &["search", "ohver", "--public", "--json"],
        ));
        assert_eq!(out["total"], 1);
        let out = json(&docgate(
            &env,
            &data,
            &["search", "Maasikas", "--public", "--json"],
        ));
        assert_eq!(out["total"], 0);
        let out = json(&docgate(
            &env,
            &data,
            &[
                "search",
                "",
                "--series",
                "9-13",
                "--from",
                "2000-01-01",
                "--limit",
                "1",
                "--offset",
                "1",
                "--json",
            ],
        ));
        assert_eq!(out["total"], 2);
        assert_eq!(out["hits"].as_array().unwrap().len(), 1);
        let bad = docgate(&env, &data, &["search", "x", "--from", "eile"]);
        assert_eq!(bad.status.code(), Some(2), "a usage error");
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(err.contains("invalid --from: \"eile\""), "{err}");
        assert!(!err.contains("panicked"));
        let out = json(&docgate(&env, &data, &["reindex", "--json"]));
        assert_eq!(out["documents"], 2, "{out}");
        let out = json(&docgate(&env, &data, &["search", "ohvrile", "--json"]));
        assert_eq!(out["total"], 2);
        // A second process sharing the database keeps its own index in step.
        if b == "postgres" {
            let other = env.dir.path().join("other-data");
            let out = json(&docgate(&env, &other, &["search", "ohvrile", "--json"]));
            assert_eq!(out["total"], 2);
            json(&docgate(
                &env,
                &other,
                &["register", f, "--title", "kolmas", "--json"],
            ));
            let out = json(&docgate(&env, &data, &["search", "ohvrile", "--json"]));
            assert_eq!(
                out["total"], 3,
                "the first process catches up from the shared feed"
            );
        }
    }
}

/// Guards the upgrade of the index schema: a rebuild left half-done by another
/// schema version is discarded, not resumed into an index of the wrong schema.
#[tokio::test]
async fn rebuild_of_another_schema_version_is_started_afresh() {
    let env = TestEnv::new("sqlite").await;
    let app = env.app().await;
    for i in 0..5 {
        app.register
            .register(letter(&format!("ohvri kiri {i}"), "sisu"), "test")
            .await
            .unwrap();
    }
    let root = indexer::root_of(&app);
    // An interrupted rebuild by an older docgate: another schema.
    let old = root.join("g7.building").join("staff");
    std::fs::create_dir_all(&old).unwrap();
    let mut b = tantivy::schema::Schema::builder();
    b.add_text_field("body_et", tantivy::schema::TEXT);
    tantivy::Index::create_in_dir(&old, b.build()).unwrap();
    let r = search::reindex(&app, &|_| true).await.unwrap();
    assert_eq!(r.generation, "g8", "{r:?}");
    assert!(!root.join("g7.building").exists());
    let all = Caller::All;
    assert_eq!(find(&app, "ohver", &all).await.len(), 5);
}
