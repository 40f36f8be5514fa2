//! Ingest with real things: the shared mail corpus, golden parses, the register on
//! SQLite (and PostgreSQL when DOCGATE_TEST_POSTGRES_URL is set), a real
//! `docgate serve` killed with SIGKILL mid-Maildir, and a real Dovecot.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use docgate::config::Config;
use docgate::extract::mail::{parse_mail, Limits};
use docgate::ingest::mail::{document_from_mail, Outcome};
use docgate::ingest::{self, quarantine, ImportOptions};
use docgate::model::*;
use docgate::App;

const BIN: &str = env!("CARGO_BIN_EXE_docgate");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ingest")
}

fn corpus_dir() -> PathBuf {
    // A copy of ../shared/corpus/mail (with its SOURCES.txt and COPYING files) lives
    // in fixtures so the tests run from a clean clone; DOCGATE_TEST_MAIL_CORPUS
    // points at another copy.
    std::env::var_os("DOCGATE_TEST_MAIL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| fixtures().join("corpus"))
}

fn config(dir: &Path) -> Config {
    let mut c = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    c.ingest.poll_interval = std::time::Duration::from_millis(100);
    c
}

async fn app(dir: &Path) -> App {
    App::open(config(dir)).await.expect("open app")
}

fn msg(from: &str, to: &str, subject: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Mon, 2 Mar 2026 10:00:00 +0200\r\n\
         Message-ID: <{id}>\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

// ---------------------------------------------------------------- golden files

fn golden_of(raw: &[u8]) -> serde_json::Value {
    let cfg = Config::default();
    match parse_mail(raw, &Limits::default()) {
        Err(e) => serde_json::json!({"quarantine": e.to_string()}),
        Ok(mut p) => {
            let atts = std::mem::take(&mut p.attachments);
            let opts = docgate::extract::TextOptions {
                pdftotext: false,
                ..Default::default()
            };
            let texts: Vec<_> = atts
                .iter()
                .map(|a| {
                    docgate::extract::file_text(&a.name, &a.media_type_for_text(), &a.bytes, &opts)
                })
                .collect();
            let mail = serde_json::to_value(&p).unwrap();
            let files: Vec<_> = atts
                .iter()
                .map(|a| (a.name.clone(), a.media_type.clone(), a.bytes.clone()))
                .collect();
            let meta: Vec<_> = atts
                .iter()
                .map(|a| serde_json::json!({"name": a.name, "media_type": a.media_type, "size": a.size, "sha256": a.sha256, "is_message": a.is_message}))
                .collect();
            let (doc, hints) = document_from_mail(
                &cfg,
                &p,
                raw.to_vec(),
                texts,
                files,
                Channel::Email,
                "2026-06-01".parse().unwrap(),
            );
            // What the register decides about it (the one place that decides).
            let series =
                docgate::series::SeriesList::parse(docgate::series::BUILTIN, "built-in").unwrap();
            let class = docgate::personal_data::classify(
                &doc,
                &doc.title,
                series.resolve(None).unwrap(),
                docgate::restriction::Grounds::builtin(),
                &cfg.ingest.personal_data_ground,
                "2026-06-01".parse().unwrap(),
            )
            .unwrap();
            serde_json::json!({
                "mail": mail,
                "attachments": meta,
                "document": {
                    "direction": doc.direction,
                    "channel": doc.channel,
                    "title": doc.title,
                    "parties": doc.parties,
                    "received": doc.received.map(|d| d.to_string()),
                    "received_at": doc.received_at.map(|t| t.to_string()),
                    "their_date": doc.their_date.map(|d| d.to_string()),
                    "message_id": doc.message_id,
                    "contains_personal_data": class.contains_personal_data,
                    "proposed_ground": class.proposed_ground,
                    "default_restriction": class.default_restriction,
                    "needs_review": doc.needs_review,
                    "source_keys": doc.source_keys,
                    "body": doc.body,
                    "files": doc.files.iter().map(|f| serde_json::json!({
                        "name": f.name, "media_type": f.media_type, "size": f.bytes.len(),
                        "text_status": f.text_status, "text_note": f.text_note,
                        "text": f.text.as_ref().map(|t| t.chars().take(200).collect::<String>()),
                    })).collect::<Vec<_>>(),
                },
                "thread_hints": {"message_ids": hints.message_ids, "subject": hints.subject},
            })
        }
    }
}

/// Every fixtures/ingest/*.eml against its .json (UPDATE_GOLDEN=1 rewrites them).
#[test]
fn golden_parses_of_fixtures() {
    let mut n = 0;
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    names.sort();
    for p in names {
        let raw = std::fs::read(&p).unwrap();
        let got = golden_of(&raw);
        let gp = p.with_extension("json");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&gp, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        }
        let want: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&gp).unwrap_or_else(|_| {
                panic!(
                    "missing golden file {} (run with UPDATE_GOLDEN=1)",
                    gp.display()
                )
            }))
            .unwrap();
        assert_eq!(got, want, "golden mismatch for {}", p.display());
        n += 1;
    }
    assert!(n >= 5, "expected the fixtures, found {n}");
}

/// Facts the golden files hold, asserted by name so a wrong golden cannot hide them.
#[test]
fn fixtures_decode_charsets_attachments_and_personal_codes() {
    let g = golden_of(&std::fs::read(fixtures().join("cp1257-personal-code.eml")).unwrap());
    assert_eq!(
        g["mail"]["subject"],
        "Avaldus kuriteoohvri hüvitise saamiseks"
    );
    assert_eq!(g["mail"]["from"][0]["name"], "Tõnu Šõja");
    assert!(g["mail"]["body"]
        .as_str()
        .unwrap()
        .contains("Šõja tänav 5, Žžu"));
    assert_eq!(g["document"]["contains_personal_data"], true);
    assert_eq!(g["document"]["proposed_ground"], "AvTS § 35 lg 1 p 11");
    assert_eq!(g["document"]["needs_review"], true);
    // Restricted by default for 75 years from its receipt (AvTS § 40 lg 3).
    assert_eq!(
        g["document"]["default_restriction"]["ground"],
        "AvTS § 35 lg 1 p 11"
    );
    // The fixture has no Received: (no arrival time), and the sender's Date is not
    // the receipt: counted from the registration date given (2026-06-01).
    assert_eq!(g["document"]["default_restriction"]["ends"], "2101-06-01");
    assert_eq!(
        g["document"]["default_restriction"]["term"],
        "AvTS § 40 lg 3"
    );
    assert_eq!(g["document"]["direction"], "incoming");

    let g = golden_of(&std::fs::read(fixtures().join("koi8r-html-only.eml")).unwrap());
    assert_eq!(g["mail"]["subject"], "Заявление");
    assert_eq!(g["mail"]["body_kind"], "html");
    let body = g["mail"]["body"].as_str().unwrap();
    assert!(
        body.contains("Здравствуйте") && !body.contains('<') && !body.contains("alert"),
        "{body}"
    );

    let g =
        golden_of(&std::fs::read(fixtures().join("multipart-charsets-pdf-nested.eml")).unwrap());
    assert_eq!(
        g["mail"]["subject"],
        "Teie 9-13/1610 šž vastus, meie nr 7.1-2/55"
    );
    assert_eq!(g["mail"]["cc"][0]["name"], "Jüri šža");
    assert_eq!(g["mail"]["body"], "Vastus põhjalikult. šž");
    let files = g["document"]["files"].as_array().unwrap();
    assert_eq!(files[0]["name"], "message.eml");
    assert_eq!(files[1]["name"], "avaldus.pdf");
    assert_eq!(files[1]["text_status"], "extracted");
    assert!(files[1]["text"].as_str().unwrap().contains("37605030299"));
    assert_eq!(files[2]["name"], "ru.txt");
    assert_eq!(files[2]["text"], "Привет");
    assert_eq!(files[3]["media_type"], "message/rfc822");
    assert_eq!(
        g["document"]["contains_personal_data"], true,
        "code found in the PDF"
    );

    let g = golden_of(&std::fs::read(fixtures().join("garbage-binary.eml")).unwrap());
    assert!(g["quarantine"]
        .as_str()
        .unwrap()
        .starts_with("not a mail message"));
}

// ---------------------------------------------------------------- the corpus

fn copy_corpus(to: &Path) -> usize {
    let mut n = 0;
    for sub in ["rfc", "malformed", "thirdparty"] {
        let dir = corpus_dir().join(sub);
        for e in std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("the mail corpus {} is missing: {e}", dir.display()))
        {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "eml") {
                let name = format!("{sub}-{}", p.file_name().unwrap().to_string_lossy());
                std::fs::copy(&p, to.join(name)).unwrap();
                n += 1;
            }
        }
    }
    n
}

#[tokio::test]
async fn corpus_every_message_is_registered_or_quarantined_with_a_reason() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let n = copy_corpus(input.path());
    assert!(n >= 50, "corpus has {n} messages");
    let app = app(data.path()).await;
    let s = ingest::import_path(&app, input.path(), &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(s.items.len(), n, "every message has an outcome");
    assert_eq!(
        s.failed,
        0,
        "{:#?}",
        s.items
            .iter()
            .filter(|i| i.status == "failed")
            .collect::<Vec<_>>()
    );
    assert_eq!(s.registered + s.duplicates + s.quarantined, n as u64);
    assert!(s.registered >= 25, "{s:?}");
    assert!(s.quarantined >= 1);
    for it in &s.items {
        match it.status.as_str() {
            "registered" | "duplicate" => assert!(it.reg_no.is_some(), "{it:?}"),
            "quarantined" => assert!(
                it.reason.as_deref().is_some_and(|r| !r.is_empty()),
                "{it:?}"
            ),
            other => panic!("unexpected status {other}"),
        }
    }
    // Quarantined means kept verbatim.
    let held = quarantine::list(&app.store, false).await.unwrap();
    let distinct: std::collections::HashSet<Vec<u8>> = s
        .items
        .iter()
        .filter(|i| i.status == "quarantined")
        .map(|i| std::fs::read(&i.source).unwrap())
        .collect();
    assert_eq!(held.len(), distinct.len(), "identical inputs are kept once");
    for q in &held {
        let (_, raw) = quarantine::get(&app.store, q.id).await.unwrap();
        let name = q.source.rsplit('/').next().unwrap();
        assert_eq!(
            raw,
            std::fs::read(input.path().join(name)).unwrap(),
            "{name} kept verbatim"
        );
    }
    // Every registered document is in the clerk's inbox with its original message.
    let docs = app
        .register
        .list(&docgate::register::ListFilter::default())
        .await
        .unwrap();
    assert_eq!(docs.len() as u64, s.registered);
    for d in &docs {
        assert!(d.needs_review);
        assert_eq!(d.files[0].name, "message.eml");
    }
    // The outcome per file is stable: compare with the golden list.
    let mut got: Vec<(String, String)> = s
        .items
        .iter()
        .map(|i| {
            (
                i.source.rsplit('/').next().unwrap().to_string(),
                match &i.reason {
                    Some(r) if i.status == "quarantined" => format!("quarantined: {r}"),
                    _ => i.status.clone(),
                },
            )
        })
        .collect();
    got.sort();
    let gp = fixtures().join("corpus-outcomes.json");
    let got_json = serde_json::to_value(&got).unwrap();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&gp, serde_json::to_string_pretty(&got_json).unwrap() + "\n").unwrap();
    }
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&gp).unwrap()).unwrap();
    assert_eq!(got_json, want);

    // Importing again registers nothing twice.
    let again = ingest::import_path(&app, input.path(), &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(again.registered, 0, "{again:?}");
    assert_eq!(again.duplicates, s.registered + s.duplicates);
    assert_eq!(
        again.quarantined, s.quarantined,
        "quarantined again, but kept once"
    );
    assert!(held.len() as u64 <= s.quarantined);
    assert_eq!(
        quarantine::list(&app.store, false).await.unwrap().len(),
        held.len()
    );
}

// ---------------------------------------------------------------- threading, journaling

#[tokio::test]
async fn threading_follows_message_ids_numbers_and_refs_and_never_guesses() {
    let data = tempfile::tempdir().unwrap();
    let app = app(data.path()).await;
    let ing = |raw: Vec<u8>| {
        let app = app.clone();
        async move {
            ingest::mail::ingest_message(&app, raw, "test", Channel::Email)
                .await
                .unwrap()
        }
    };
    // Outgoing by journaling: staff wrote from an own address, the register got a Bcc.
    let o = ing(msg(
        "Ametnik <info@sotsiaalkindlustusamet.ee>",
        "Mari Maasikas <mari@example.ee>, info@sotsiaalkindlustusamet.ee",
        "Teabenõue",
        "out-1@ska.ee",
        "Bcc: dokumendid@sotsiaalkindlustusamet.ee\r\n",
        "Lugupeetud Mari",
    ))
    .await;
    let Outcome::Registered {
        doc_id,
        reg_no: first,
        ..
    } = o
    else {
        panic!("{o:?}")
    };
    let d = app.register.get(doc_id).await.unwrap();
    assert_eq!(d.direction, Direction::Outgoing);
    assert_eq!(d.parties.len(), 1, "{:?}", d.parties);
    assert_eq!(d.parties[0].role, PartyRole::Recipient);
    assert_eq!(d.parties[0].email.as_deref(), Some("mari@example.ee"));
    assert_eq!(d.message_id.as_deref(), Some("out-1@ska.ee"));

    // Rule 1: our Message-ID in In-Reply-To.
    let o = ing(msg(
        "mari@example.ee",
        "info@sotsiaalkindlustusamet.ee",
        "Re: Teabenõue",
        "r1@example.ee",
        "In-Reply-To: <out-1@ska.ee>\r\nReferences: <out-1@ska.ee>\r\n",
        "Vastus",
    ))
    .await;
    let Outcome::Registered {
        doc_id: r1,
        reg_no,
        triage,
    } = o
    else {
        panic!("{o:?}")
    };
    assert_eq!(reg_no, format!("{first}-1"));
    assert!(triage.is_none());
    let r1d = app.register.get(r1).await.unwrap();
    assert_eq!(r1d.direction, Direction::Incoming);
    assert_eq!(r1d.thread_id, doc_id);
    assert_eq!(r1d.parties[0].role, PartyRole::Sender);

    // Rule 2: our number in the subject, no headers.
    let o = ing(msg(
        "mari@example.ee",
        "info@sotsiaalkindlustusamet.ee",
        &format!("Teie {first} täiendus, meie nr 44-2/7"),
        "r2@example.ee",
        "",
        "Lisa",
    ))
    .await;
    let Outcome::Registered {
        doc_id: r2, reg_no, ..
    } = o
    else {
        panic!("{o:?}")
    };
    assert_eq!(reg_no, format!("{first}-2"));
    assert_eq!(
        app.register.get(r2).await.unwrap().their_ref.as_deref(),
        Some("44-2/7")
    );

    // Rule 3: their reference that we recorded.
    let o = ing(msg(
        "mari@example.ee",
        "x@y.ee",
        "Seoses 44-2/7",
        "r3@example.ee",
        "",
        "veel",
    ))
    .await;
    let Outcome::Registered { reg_no, .. } = o else {
        panic!("{o:?}")
    };
    assert_eq!(reg_no, format!("{first}-3"));

    // Nothing matches: a new thread.
    let o = ing(msg(
        "jaan@example.ee",
        "x@y.ee",
        "Uus avaldus",
        "n1@example.ee",
        "",
        "Tere",
    ))
    .await;
    let Outcome::Registered {
        doc_id: other,
        reg_no: other_no,
        ..
    } = o
    else {
        panic!("{o:?}")
    };
    assert!(!other_no.contains(&format!("{first}-")));
    assert_eq!(app.register.get(other).await.unwrap().thread_id, other);

    // Disagreeing candidates: In-Reply-To says one thread, the subject another.
    let o = ing(msg(
        "mari@example.ee",
        "x@y.ee",
        &format!("Teie {other_no}"),
        "d1@example.ee",
        "In-Reply-To: <out-1@ska.ee>\r\n",
        "segane",
    ))
    .await;
    let Outcome::Registered {
        doc_id: t,
        reg_no,
        triage,
    } = o
    else {
        panic!("{o:?}")
    };
    assert!(triage.is_some(), "triage expected");
    assert!(
        !reg_no.contains('-') || !reg_no.starts_with(&format!("{first}-")),
        "{reg_no}"
    );
    let td = app.register.get(t).await.unwrap();
    assert_eq!(td.thread_id, t, "a new thread, never merged on a guess");
    let list = ingest::thread::triage_list(&app).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].doc_id, t);
    assert_eq!(list[0].candidates.as_array().unwrap().len(), 2);

    // A copy of the same message (other Received line, same Message-ID) is a duplicate.
    let mut copy = b"Received: from relay2\r\n".to_vec();
    copy.extend(msg(
        "jaan@example.ee",
        "x@y.ee",
        "Uus avaldus",
        "n1@example.ee",
        "",
        "Tere",
    ));
    let o = ing(copy).await;
    assert_eq!(
        o,
        Outcome::Duplicate {
            doc_id: other,
            reg_no: other_no
        }
    );
}

// ---------------------------------------------------------------- drop folder

#[tokio::test]
async fn drop_folder_files_become_post_documents_and_move_to_done() {
    let data = tempfile::tempdir().unwrap();
    let app = app(data.path()).await;
    ingest::init_dirs(&app.config).unwrap();
    let drop = ingest::drop_folder_path(&app.config);
    let pdf = docgate::extract::pdf::make_pdf(
        &["Kiri politseilt isikukood 49403136515 ohvri kohta"],
        true,
    );
    std::fs::write(drop.join("skann_politsei.pdf"), &pdf).unwrap();
    std::fs::write(
        drop.join("kiri.eml"),
        msg(
            "a@b.ee",
            "c@d.ee",
            "Salvestatud kiri",
            "drop1@b.ee",
            "",
            "x",
        ),
    )
    .unwrap();
    std::fs::write(drop.join("empty.txt"), b"").unwrap();
    let sd = tokio_util::sync::CancellationToken::new();
    let n = ingest::dropfolder::pass(&app, &drop, Duration::ZERO, &sd)
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert!(drop.join("done/skann_politsei.pdf").exists());
    assert!(drop.join("done/empty.txt").exists());
    assert!(!drop.join("skann_politsei.pdf").exists());
    let docs = app.register.list(&Default::default()).await.unwrap();
    assert_eq!(docs.len(), 2);
    let post = docs.iter().find(|d| d.channel == Channel::Post).unwrap();
    assert_eq!(post.title, "skann politsei");
    assert!(post.contains_personal_data);
    let st = app.register.file_text_status(post.id).await.unwrap();
    assert_eq!(st[0].0, TextStatus::Extracted);
    let mail = docs.iter().find(|d| d.channel == Channel::Email).unwrap();
    assert_eq!(mail.title, "Salvestatud kiri");
    let q = quarantine::list(&app.store, false).await.unwrap();
    assert_eq!(q.len(), 1);
    assert!(q[0].reason.contains("empty file"), "{}", q[0].reason);
}

// ---------------------------------------------------------------- CLI: import, quarantine

fn docgate(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("DOCGATE_DATABASE_URL")
        .output()
        .expect("run docgate")
}

#[test]
fn cli_import_json_summary_and_quarantine_list_show_retry() {
    let data = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let md = input.path().join("Maildir");
    for s in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(md.join(s)).unwrap();
    }
    std::fs::write(
        md.join("new/1.host"),
        msg("a@b.ee", "c@d.ee", "Esimene", "m1@b.ee", "", "üks"),
    )
    .unwrap();
    std::fs::write(
        md.join("cur/2.host:2,S"),
        msg(
            "a@b.ee",
            "c@d.ee",
            "Teine",
            "m2@b.ee",
            "",
            &"x".repeat(3000),
        ),
    )
    .unwrap();
    std::fs::write(
        md.join("new/3.host"),
        msg("a@b.ee", "c@d.ee", "Kolmas (koopia)", "m1@b.ee", "", "üks"),
    )
    .unwrap();

    // A small size limit quarantines the long message.
    let out = docgate(
        data.path(),
        &[
            "--set",
            "ingest.max_message_size=2000",
            "import",
            md.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["registered"], 1, "{s}");
    assert_eq!(s["duplicates"], 1, "{s}");
    assert_eq!(s["quarantined"], 1, "{s}");
    let items = s["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    for k in ["source", "status", "reg_no", "reason"] {
        assert!(items[0].get(k).is_some(), "item has {k}");
    }
    let q = items.iter().find(|i| i["status"] == "quarantined").unwrap();
    assert!(q["reason"].as_str().unwrap().contains("max_message_size"));

    let out = docgate(data.path(), &["quarantine", "list", "--json"]);
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let id = list[0]["id"].as_i64().unwrap().to_string();

    let out = docgate(data.path(), &["quarantine", "show", &id]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("max_message_size"),
        "{text}"
    );
    let out = docgate(data.path(), &["quarantine", "show", &id, "--raw"]);
    assert_eq!(
        out.stdout,
        std::fs::read(md.join("cur/2.host:2,S")).unwrap(),
        "kept verbatim"
    );

    // Still too large under the same limit: stays, exit 1.
    let out = docgate(
        data.path(),
        &[
            "--set",
            "ingest.max_message_size=2000",
            "quarantine",
            "retry",
            &id,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    // With the default limit the retry registers it and releases the item.
    let out = docgate(data.path(), &["quarantine", "retry", &id, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(o["status"], "registered", "{o}");
    let out = docgate(data.path(), &["quarantine", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(list.as_array().unwrap().is_empty());

    let out = docgate(data.path(), &["quarantine", "show", "999"]);
    assert_eq!(out.status.code(), Some(5), "not found");
    assert!(String::from_utf8_lossy(&out.stderr).contains("quarantine item 999 not found"));
    let out = docgate(data.path(), &["import", "/no/such/path"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/path"));
}

#[tokio::test]
async fn mbox_import_and_register_path() {
    let data = tempfile::tempdir().unwrap();
    let app = app(data.path()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut mbox = Vec::new();
    for i in 0..3 {
        mbox.extend_from_slice(b"From someone@example.ee Mon Mar  2 10:00:00 2026\n");
        mbox.extend(msg(
            "a@b.ee",
            "c@d.ee",
            &format!("Mbox {i}"),
            &format!("mb{i}@b.ee"),
            "",
            "sisu\n>From here",
        ));
        mbox.extend_from_slice(b"\n");
    }
    let p = dir.path().join("box.mbox");
    std::fs::write(&p, &mbox).unwrap();
    let s = ingest::import_path(&app, &p, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(s.registered, 3, "{s:?}");
    let eml = dir.path().join("one.eml");
    std::fs::write(
        &eml,
        msg("a@b.ee", "c@d.ee", "Üksik", "single@b.ee", "", "x"),
    )
    .unwrap();
    let it = ingest::register_path(&app, &eml, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(it.status, "registered");
    let again = ingest::register_path(&app, &eml, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(again.status, "duplicate");
    assert_eq!(again.reg_no, it.reg_no);
}

// ---------------------------------------------------------------- kill -9 of a real serve

fn count_dir(p: &Path) -> usize {
    std::fs::read_dir(p).map(|r| r.count()).unwrap_or(0)
}

fn spawn_serve(data: &Path) -> std::process::Child {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args([
            "--set",
            "ingest.poll_interval=100ms",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("DOCGATE_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn docgate serve")
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_killed_with_sigkill_mid_maildir_registers_every_message_once() {
    const N: usize = 2000;
    let data = tempfile::tempdir().unwrap();
    let inbox = data.path().join("inbox");
    for s in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(inbox.join(s)).unwrap();
    }
    for i in 0..N {
        // Written to tmp/ and renamed into new/, as a delivery agent does.
        let raw = msg(
            "saatja@example.ee",
            "dokumendid@sotsiaalkindlustusamet.ee",
            &format!("Avaldus {i}"),
            &format!("kill-{i}@example.ee"),
            "",
            &format!("Sisu {i}"),
        );
        let name = format!("{:010}.{i}.test", 1_700_000_000 + i);
        std::fs::write(inbox.join("tmp").join(&name), raw).unwrap();
        std::fs::rename(inbox.join("tmp").join(&name), inbox.join("new").join(&name)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    // Kill twice at different points, then let it finish.
    for kill_after in [150usize, 900] {
        let mut child = spawn_serve(data.path());
        while count_dir(&inbox.join("cur")) < kill_after {
            assert!(Instant::now() < deadline, "serve made no progress");
            if let Ok(Some(st)) = child.try_wait() {
                panic!("serve exited early: {st}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let mut child = spawn_serve(data.path());
    while count_dir(&inbox.join("new")) > 0 {
        assert!(
            Instant::now() < deadline,
            "serve did not finish the Maildir"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A clean stop on SIGTERM.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let st = child.wait().unwrap();
    assert!(st.success(), "serve exit on SIGTERM: {st}");
    assert_eq!(count_dir(&inbox.join("cur")), N);

    let app = app(data.path()).await;
    let n = app.register.count(&Default::default()).await.unwrap();
    assert_eq!(n, N as i64, "every message registered exactly once");
    let (distinct,): (i64,) = sqlx::query_as("SELECT COUNT(DISTINCT message_id) FROM documents")
        .fetch_one(&docgate::testing::raw_pool(&app).await)
        .await
        .unwrap();
    assert_eq!(distinct, N as i64);
    assert!(quarantine::list(&app.store, true).await.unwrap().is_empty());
}

// ---------------------------------------------------------------- memory

#[test]
fn a_100_mb_message_stays_within_a_small_multiple_of_its_size() {
    use base64::Engine;
    let data = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let att: Vec<u8> = (0..75_000_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&att);
    let mut raw = String::from(
        "From: a@b.ee\r\nTo: c@d.ee\r\nSubject: Suur\r\nMessage-ID: <big@b.ee>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsuur lisa\r\n\
         --B\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    for chunk in b64.as_bytes().chunks(76) {
        raw.push_str(std::str::from_utf8(chunk).unwrap());
        raw.push_str("\r\n");
    }
    raw.push_str("--B--\r\n");
    let size = raw.len() as u64;
    assert!(size >= 100_000_000, "{size}");
    let p = dir.path().join("big.eml");
    std::fs::write(&p, raw.as_bytes()).unwrap();
    drop(raw);
    drop(b64);
    let child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data.path())
        .args(["import", p.to_str().unwrap(), "--json"])
        .env_remove("DOCGATE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let mut status = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    assert_eq!(r, pid);
    let out = child.wait_with_output().ok();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "import failed: {out:?}"
    );
    let peak = ru.ru_maxrss as u64 * 1024;
    eprintln!("100 MB message: peak RSS {} MB", peak / 1_000_000);
    assert!(peak < 5 * size, "peak RSS {peak} for a {size}-byte message");
    // And it is there, attachment bytes intact.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let app = app(data.path()).await;
        let docs = app.register.list(&Default::default()).await.unwrap();
        assert_eq!(docs.len(), 1);
        let f = docs[0].files.iter().find(|f| f.name == "big.bin").unwrap();
        assert_eq!(f.size, att.len() as u64);
        assert_eq!(f.sha256, docgate::extract::mail::sha256_hex(&att));
    });
}

// ---------------------------------------------------------------- Dovecot

const IMAP_PORT: u16 = 10143;
const IMAPS_PORT: u16 = 10993;

fn dovecot_up() -> bool {
    let up = std::net::TcpStream::connect(("127.0.0.1", IMAP_PORT)).is_ok();
    if !up {
        docgate::testing::missing_service(
            &format!("Dovecot on 127.0.0.1:{IMAP_PORT}"),
            "run .ci/setup/dovecot.sh",
        );
    }
    up
}

fn account(folder: &str) -> docgate::ingest::ImapAccount {
    docgate::ingest::ImapAccount {
        name: format!("test-{folder}"),
        host: "127.0.0.1".into(),
        port: IMAP_PORT,
        security: docgate::ingest::ImapSecurity::Plain,
        username: "docgate".into(),
        password: "docgate-test".into(),
        folders: vec![folder.into()],
        poll: std::time::Duration::from_secs(1),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dovecot_messages_are_ingested_acknowledged_and_never_twice() {
    if !dovecot_up() {
        return;
    }
    use futures::StreamExt;
    let folder = format!("T{}", uuid::Uuid::new_v4().simple());
    let acc = account(&folder);
    let mut s = ingest::imap::connect(&acc).await.unwrap();
    s.create(&folder).await.unwrap();
    for i in 0..3 {
        s.append(
            &folder,
            None,
            None,
            msg(
                "a@b.ee",
                "c@d.ee",
                &format!("IMAP {i}"),
                &format!("imap-{folder}-{i}@b.ee"),
                "",
                "tere",
            ),
        )
        .await
        .unwrap();
    }
    let data = tempfile::tempdir().unwrap();
    let sd = tokio_util::sync::CancellationToken::new();
    {
        let app = app(data.path()).await;
        let p = ingest::imap::sync_folder(&app, &acc, &mut s, &folder, None, &sd)
            .await
            .unwrap();
        assert_eq!((p.fetched, p.registered), (3, 3), "{p:?}");
        // Acknowledged: every message is \Seen.
        s.select(&folder).await.unwrap();
        let seen = s.uid_search("SEEN").await.unwrap();
        assert_eq!(seen.len(), 3);
        // Unchanged mailbox: no downloads.
        let p = ingest::imap::sync_folder(&app, &acc, &mut s, &folder, None, &sd)
            .await
            .unwrap();
        assert_eq!(p.fetched, 0);
    }
    // "Restart": a new App on the same data; still nothing to fetch.
    let app = app(data.path()).await;
    let p = ingest::imap::sync_folder(&app, &acc, &mut s, &folder, None, &sd)
        .await
        .unwrap();
    assert_eq!(p.fetched, 0);
    // Even when the progress is lost, nothing is registered twice.
    sqlx::query("DELETE FROM ingest_imap_state")
        .execute(&docgate::testing::raw_pool(&app).await)
        .await
        .unwrap();
    let p = ingest::imap::sync_folder(&app, &acc, &mut s, &folder, None, &sd)
        .await
        .unwrap();
    assert_eq!((p.fetched, p.registered, p.duplicates), (3, 0, 3));
    assert_eq!(app.register.count(&Default::default()).await.unwrap(), 3);

    // The daemon loop with IDLE picks up a new message and moves it after commit.
    let mut acc2 = acc.clone();
    acc2.after = docgate::ingest::ImapAfter::Move(format!("{folder}.done"));
    s.create(format!("{folder}.done")).await.unwrap();
    let task = tokio::spawn(ingest::imap::run(app.clone(), acc2, sd.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.append(
        &folder,
        None,
        None,
        msg(
            "a@b.ee",
            "c@d.ee",
            "IMAP uus",
            &format!("imap-{folder}-new@b.ee"),
            "",
            "uus",
        ),
    )
    .await
    .unwrap();
    let t0 = Instant::now();
    while app.register.count(&Default::default()).await.unwrap() < 4 {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "new IMAP message not ingested"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sd.cancel();
    task.await.unwrap().unwrap();
    s.select(format!("{folder}.done")).await.unwrap();
    let moved = s.uid_search("ALL").await.unwrap();
    assert_eq!(moved.len(), 1, "moved after commit");
    let fetched: Vec<_> = s.uid_fetch("1:*", "(UID)").await.unwrap().collect().await;
    assert_eq!(fetched.len(), 1);
    let _ = s.logout().await;
}

#[tokio::test]
async fn dovecot_tls_login_with_the_servers_certificate_and_plain_refused_off_loopback() {
    let mut acc = account("INBOX");
    acc.host = "imap.example.ee".into();
    let e = ingest::imap::validate(&acc).unwrap_err().to_string();
    assert!(e.contains("loopback"), "{e}");
    if !dovecot_up() {
        return;
    }
    let mut acc = account("INBOX");
    acc.security = docgate::ingest::ImapSecurity::Tls;
    acc.host = "localhost".into();
    acc.port = IMAPS_PORT;
    acc.ca_file = "/var/lib/docgate-dovecot/cert.pem".into();
    let mut s = ingest::imap::connect(&acc).await.expect("tls login");
    s.select("INBOX").await.unwrap();
    let _ = s.logout().await;
    // Without trusting the certificate the handshake fails with a clear error.
    acc.ca_file = PathBuf::new();
    let e = match ingest::imap::connect(&acc).await {
        Ok(_) => panic!("an untrusted certificate was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("tls"), "{e}");
}

#[tokio::test]
async fn mailbox_lease_is_exclusive_until_it_expires() {
    let data = tempfile::tempdir().unwrap();
    let app = app(data.path()).await;
    let st = &app.store;
    assert!(
        ingest::imap::acquire_lease(st, "imap:x", "a", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        !ingest::imap::acquire_lease(st, "imap:x", "b", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        ingest::imap::acquire_lease(st, "imap:x", "a", Duration::from_secs(60))
            .await
            .unwrap(),
        "renewal"
    );
    ingest::imap::release_lease(st, "imap:x", "a")
        .await
        .unwrap();
    assert!(
        ingest::imap::acquire_lease(st, "imap:x", "b", Duration::from_secs(0))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        ingest::imap::acquire_lease(st, "imap:x", "a", Duration::from_secs(60))
            .await
            .unwrap(),
        "expired lease taken over"
    );
}

// ---------------------------------------------------------------- PostgreSQL

async fn pg_app(dir: &Path) -> Option<App> {
    let url = docgate::testing::fresh_postgres_database().await?;
    let mut c = config(dir);
    c.database_url = url;
    Some(App::open(c).await.expect("open app on postgres"))
}

#[tokio::test]
async fn postgres_import_dedup_lease_and_quarantine() {
    let data = tempfile::tempdir().unwrap();
    let Some(app) = pg_app(data.path()).await else {
        return;
    };
    let input = tempfile::tempdir().unwrap();
    let n = copy_corpus(input.path());
    let s = ingest::import_path(&app, input.path(), &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(s.failed, 0, "{s:?}");
    assert_eq!((s.registered + s.duplicates + s.quarantined) as usize, n);
    let again = ingest::import_path(&app, input.path(), &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(again.registered, 0);
    assert!(!quarantine::list(&app.store, false)
        .await
        .unwrap()
        .is_empty());
    // Two processes sharing PostgreSQL: the lease admits one holder.
    let st = &app.store;
    assert!(
        ingest::imap::acquire_lease(st, "imap:pg", "p1", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        !ingest::imap::acquire_lease(st, "imap:pg", "p2", Duration::from_secs(60))
            .await
            .unwrap()
    );
    // Triage and threading queries run on PostgreSQL too.
    let o = ingest::mail::ingest_message(
        &app,
        msg("a@b.ee", "c@d.ee", "pg", "pg-1@b.ee", "", "x"),
        "t",
        Channel::Email,
    )
    .await
    .unwrap();
    assert_eq!(o.status(), "registered");
}

// ---------------------------------------------------------------- closed intake

/// The end of a default restriction on personal data: 75 years from `from` (AvTS § 40 lg 3).
fn personal_data_end(from: jiff::civil::Date) -> jiff::civil::Date {
    from.checked_add(jiff::Span::new().years(75)).unwrap()
}

#[tokio::test]
async fn a_letter_with_a_personal_code_from_the_maildir_or_drop_folder_is_unclassified_and_restricted(
) {
    for b in docgate::testing::backends() {
        let env = docgate::testing::TestEnv::new(b).await;
        let app = env.app().await;
        ingest::init_dirs(&app.config).unwrap();
        let sd = tokio_util::sync::CancellationToken::new();

        // A Maildir message: the code only in its body; the sender an organisation's
        // address (a mail sender is a person unless known otherwise).
        let maildir = ingest::maildir_path(&app.config);
        std::fs::write(
            maildir.join("new/1700000000.M1P1.host"),
            msg(
                "Ohvriabi <info@ohvriabi.example>",
                "dokumendid@sotsiaalkindlustusamet.ee",
                "Avaldus",
                "intake1@example.ee",
                "",
                "Ohver: isikukood 49403136515.",
            ),
        )
        .unwrap();
        assert_eq!(
            ingest::maildir::pass(&app, &maildir, &sd).await.unwrap(),
            1,
            "{b}"
        );
        // A scanned letter in the drop folder: the code in its extracted text.
        let drop = ingest::drop_folder_path(&app.config);
        let pdf =
            docgate::extract::pdf::make_pdf(&["Kiri ohvri kohta isikukood 37605030299"], true);
        std::fs::write(drop.join("skann.pdf"), &pdf).unwrap();
        assert_eq!(
            ingest::dropfolder::pass(&app, &drop, Duration::ZERO, &sd)
                .await
                .unwrap(),
            1,
            "{b}"
        );

        let docs = app.register.list(&Default::default()).await.unwrap();
        assert_eq!(docs.len(), 2, "{b}");
        for d in &docs {
            let what = format!("{b}: {} ({:?})", d.title, d.channel);
            assert!(d.needs_review, "{what}: unclassified");
            assert!(d.contains_personal_data, "{what}");
            assert_eq!(
                d.proposed_ground.as_deref(),
                Some("AvTS § 35 lg 1 p 11"),
                "{what}"
            );
            let r = d
                .restriction
                .as_ref()
                .unwrap_or_else(|| panic!("{what}: not restricted"));
            assert_eq!(r.ground, "AvTS § 35 lg 1 p 11", "{what}");
            let received = d.received.unwrap();
            assert_eq!(r.ends, personal_data_end(received), "{what}");
            assert!(d.is_restricted_on(app.register.today()), "{what}");
            // The restriction's record cites the term of § 40.
            let ev = app.register.events(d.id).await.unwrap();
            let reg = &ev[0];
            assert_eq!(reg.kind, "registered", "{what}");
            assert_eq!(
                reg.detail["restriction"]["term"], "AvTS § 40 lg 3",
                "{what}"
            );
            assert_eq!(reg.detail["restriction"]["by"], "default", "{what}");
            assert_eq!(reg.detail["restriction"]["why"], "personal_code", "{what}");
        }
        let mail = docs.iter().find(|d| d.channel == Channel::Email).unwrap();
        // Received when the Maildir got it (1700000000 = 15 Nov 2023 in Tallinn),
        // not on its Date header's day: 75 years from then.
        assert_eq!(
            mail.restriction.as_ref().unwrap().ends,
            jiff::civil::date(2098, 11, 15),
            "{b}"
        );
    }
}

#[tokio::test]
async fn a_10_mb_subject_is_registered_with_a_truncated_title() {
    for b in docgate::testing::backends() {
        let env = docgate::testing::TestEnv::new(b).await;
        let app = env.app().await;
        let subject = "Pikk teema ".repeat(1024 * 1024); // 11 MB
        let raw = msg(
            "a@example.ee",
            "dokumendid@sotsiaalkindlustusamet.ee",
            &subject,
            "long-subject@example.ee",
            "",
            "sisu",
        );
        let out = ingest::mail::ingest_message(&app, raw, "test", Channel::Email)
            .await
            .unwrap();
        let Outcome::Registered { doc_id, .. } = out else {
            panic!("{b}: not registered: {out:?}");
        };
        let d = app.register.get(doc_id).await.unwrap();
        assert_eq!(d.title.chars().count(), limits::TITLE, "{b}");
        assert!(d.title.starts_with("Pikk teema Pikk teema"), "{b}");
        assert!(d.title.ends_with('…'), "{b}");
        assert!(d.needs_review, "{b}");
    }
}

// ------------------------------------------- issue 16 B: arrival dates, own mail

/// The received date is the arrival: our MTA's topmost Received:, the Maildir
/// delivery time, the drop folder's file time; never the sender's Date header.
/// A document without an arrival time is not registered "in time".
#[tokio::test]
async fn received_dates_are_arrival_dates_and_unknown_arrival_is_not_on_time() {
    use docgate::deadline::state::{self, Engine};
    for b in docgate::testing::backends() {
        let env = docgate::testing::TestEnv::new(b).await;
        let app = env.app().await;
        let eng = Engine::from_app(&app).unwrap();
        // 1. Topmost Received: 3 March 2025 22:30 UTC = 4 March 00:30 in Tallinn;
        //    the Date header (20 February) is only their date.
        let raw = std::fs::read(fixtures().join("received-topmost.eml")).unwrap();
        let o = ingest::mail::ingest_message(&app, raw, "test", Channel::Email)
            .await
            .unwrap();
        let Outcome::Registered { reg_no, .. } = o else {
            panic!("{b}: {o:?}")
        };
        let d = app.register.get_by_reg_no(&reg_no).await.unwrap();
        assert_eq!(
            d.received_at.map(|t| t.to_string()).as_deref(),
            Some("2025-03-03T22:30:00Z"),
            "{b}"
        );
        assert_eq!(d.received, Some("2025-03-04".parse().unwrap()), "{b}");
        assert_eq!(d.their_date, Some("2025-02-20".parse().unwrap()), "{b}");
        let x = state::explain_reg_no(&app, &eng, &reg_no).await.unwrap();
        assert!(x.registered_late && !x.arrival_unknown, "{b}: {x:?}");
        assert!(x.registration_line().contains("HILINENUD"), "{b}");

        // 2. No Received: and no source time (an imported .eml): arrival unknown.
        let raw = std::fs::read(fixtures().join("received-none.eml")).unwrap();
        let o = ingest::mail::ingest_message(&app, raw, "test", Channel::Email)
            .await
            .unwrap();
        let Outcome::Registered { reg_no, .. } = o else {
            panic!("{b}: {o:?}")
        };
        let d = app.register.get_by_reg_no(&reg_no).await.unwrap();
        assert_eq!((d.received, d.received_at), (None, None), "{b}");
        let x = state::explain_reg_no(&app, &eng, &reg_no).await.unwrap();
        assert!(x.arrival_unknown && x.registered_late, "{b}: {x:?}");
        assert!(
            x.registration_line().contains("saabumisaeg teadmata"),
            "{b}"
        );
        assert!(
            x.registration_trace[0]
                .step
                .contains("saabumisaeg teadmata"),
            "{b}"
        );

        // 3. The same letter without Received: from the Maildir: the delivery time
        //    in the file name (1700000000 = 2023-11-14 22:13:20 UTC, 15 Nov in Tallinn).
        ingest::init_dirs(&app.config).unwrap();
        let maildir = ingest::maildir_path(&app.config);
        let raw = String::from_utf8(std::fs::read(fixtures().join("received-none.eml")).unwrap())
            .unwrap()
            .replace("received-none@", "received-maildir@");
        std::fs::write(maildir.join("new/1700000000.M9P9.host"), raw).unwrap();
        let sd = tokio_util::sync::CancellationToken::new();
        assert_eq!(ingest::maildir::pass(&app, &maildir, &sd).await.unwrap(), 1);
        let id = app
            .register
            .find_by_source_key("msgid:received-maildir@example.ee")
            .await
            .unwrap()
            .expect("registered");
        let d = app.register.get(id).await.unwrap();
        assert_eq!(
            d.received_at.map(|t| t.as_second()),
            Some(1_700_000_000),
            "{b}"
        );
        assert_eq!(d.received, Some("2023-11-15".parse().unwrap()), "{b}");

        // 4. A file in the drop folder: its file time.
        let drop = ingest::drop_folder_path(&app.config);
        std::fs::create_dir_all(&drop).unwrap();
        let f = drop.join("skaneeritud-kiri.txt");
        std::fs::write(&f, "Paberkiri").unwrap();
        let when =
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_750_000_000);
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(when)
            .unwrap();
        let o = ingest::dropfolder::process_one(&app, &drop, &f, Channel::Post)
            .await
            .unwrap();
        let Outcome::Registered { reg_no, .. } = o else {
            panic!("{b}: {o:?}")
        };
        let d = app.register.get_by_reg_no(&reg_no).await.unwrap();
        assert_eq!(
            d.received_at.map(|t| t.as_second()),
            Some(1_750_000_000),
            "{b}"
        );
    }
}

/// A letter an official sends from their own mailbox with the register in Bcc
/// is outgoing (sent by that official, to the To: recipient), not incoming
/// from "eraisik"; a letter between colleagues is internal.
#[tokio::test]
async fn own_mail_from_an_officials_mailbox_bcc_to_the_register_is_outgoing_or_internal() {
    for b in docgate::testing::backends() {
        let mut env = docgate::testing::TestEnv::new(b).await;
        env.config
            .deadlines
            .officials
            .insert("jaan.oja".into(), "jaan.oja@ohvriabi.example".into());
        let app = env.app().await;
        let raw = |from: &str, to: &str, id: &str| {
            msg(
                from,
                to,
                "Teie taotlus",
                id,
                "Bcc: dokumendid@sotsiaalkindlustusamet.ee\r\n",
                "Vastame teie taotlusele.",
            )
        };
        // 1. From an address of our domain to a victim, Bcc the register.
        let o = ingest::mail::ingest_message(
            &app,
            raw(
                "Mari Tamm <mari.tamm@sotsiaalkindlustusamet.ee>",
                "Kadri Saar <kadri.saar@example.ee>",
                "own1@x",
            ),
            "test",
            Channel::Email,
        )
        .await
        .unwrap();
        let Outcome::Registered { reg_no, .. } = o else {
            panic!("{b}: {o:?}")
        };
        let d = app.register.get_by_reg_no(&reg_no).await.unwrap();
        assert_eq!(d.direction, Direction::Outgoing, "{b}");
        assert_eq!(d.parties.len(), 1, "{b}: {:?}", d.parties);
        assert_eq!(d.parties[0].role, PartyRole::Recipient, "{b}");
        assert_eq!(
            d.parties[0].email.as_deref(),
            Some("kadri.saar@example.ee"),
            "{b}"
        );
        // 2. From an official's own address on another domain: outgoing, and the
        //    official answers for it.
        let o = ingest::mail::ingest_message(
            &app,
            raw(
                "Jaan Oja <jaan.oja@ohvriabi.example>",
                "kadri.saar@example.ee",
                "own2@x",
            ),
            "test",
            Channel::Email,
        )
        .await
        .unwrap();
        let Outcome::Registered { reg_no, .. } = o else {
            panic!("{b}: {o:?}")
        };
        let d = app.register.get_by_reg_no(&reg_no).await.unwrap();
        assert_eq!(d.direction, Direction::Outgoing, "{b}");
        assert_eq!(d.responsible.as_deref(), Some("jaan.oja"), "{b}");
        // 3. Between colleagues only: internal.
        let o = ingest::mail::ingest_message(
            &app,
            raw(
                "mari.tamm@sotsiaalkindlustusamet.ee",
                "Jaan Oja <jaan.oja@ohvriabi.example>",
                "own3@x",
            ),
            "test",
            Channel::Email,
        )
        .await
        .unwrap();
        let Outcome::Registered { reg_no, .. } = o else {
            panic!("{b}: {o:?}")
        };
        let d = app.register.get_by_reg_no(&reg_no).await.unwrap();
        assert_eq!(d.direction, Direction::Internal, "{b}");
        // 4. A stranger's letter stays incoming from its sender.
        let o = ingest::mail::ingest_message(
            &app,
            raw(
                "kadri.saar@example.ee",
                "dokumendid@sotsiaalkindlustusamet.ee",
                "own4@x",
            ),
            "test",
            Channel::Email,
        )
        .await
        .unwrap();
        let Outcome::Registered { reg_no, .. } = o else {
            panic!("{b}: {o:?}")
        };
        let d = app.register.get_by_reg_no(&reg_no).await.unwrap();
        assert_eq!(d.direction, Direction::Incoming, "{b}");
        assert_eq!(d.parties[0].role, PartyRole::Sender, "{b}");
    }
}

#[test]
fn email_domains_are_validated_naming_the_entry() {
    let mut c = Config::default();
    c.agency.email_domains = vec!["@sotsiaalkindlustusamet.ee".into()];
    let e = c.validate().unwrap_err().to_string();
    assert!(
        e.contains("agency.email_domains") && e.contains("@sotsiaalkindlustusamet.ee"),
        "{e}"
    );
}
