//! OCR (issue 17): scans are registered at once and read by the durable OCR
//! queue later — found by a word, checked for personal codes (restricted, the
//! clerk told), threaded by a printed registration number; a corrupt image
//! ends failed with its reason; a worker crash between claim and completion is
//! retried once the lease expires. The scans are generated here: a letter
//! drawn as a PDF and rendered to pixels by `pdftoppm`.
//! Runs on SQLite always and on PostgreSQL when DOCGATE_TEST_POSTGRES_URL is set.

use std::time::Duration;

use docgate::extract::ocr as engine;
use docgate::ingest;
use docgate::model::*;
use docgate::ocr;
use docgate::search::{self as search, Caller, SearchRequest};
use docgate::testing::{backends, TestEnv};
use docgate::App;

/// One test at a time: failpoints are process-wide, and Tesseract is heavy.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A valid Estonian personal code (check digit 5).
const CODE: &str = "49403136515";

/// True when Tesseract (est, eng, rus) and poppler-utils are here; with `CI`
/// set their absence fails the test, never skips it.
fn tools_present() -> bool {
    let langs = std::process::Command::new("tesseract")
        .arg("--list-langs")
        .output();
    let missing = match &langs {
        Err(e) => Some(format!("tesseract is not installed ({e})")),
        Ok(o) => {
            let l = String::from_utf8_lossy(&o.stdout);
            ["est", "eng", "rus"]
                .into_iter()
                .find(|x| !l.lines().any(|line| line.trim() == *x))
                .map(|x| format!("tesseract has no {x} model"))
        }
    }
    .or_else(|| {
        std::process::Command::new("pdftoppm")
            .arg("-v")
            .output()
            .err()
            .map(|e| format!("pdftoppm is not installed ({e})"))
    });
    match missing {
        None => true,
        Some(m) => {
            docgate::testing::missing_service(&m, "run .ci/setup/tesseract.sh");
            false
        }
    }
}

/// A letter "scanned" to PNG at 200 dpi.
fn scan_png(lines: &[&str]) -> Vec<u8> {
    engine::render_page(&engine::letter_pdf(lines), 200, true).expect("render the letter")
}

/// A letter "scanned" into an image-only PDF (no text layer).
fn scan_pdf(lines: &[&str]) -> Vec<u8> {
    let pgm = engine::render_page(&engine::letter_pdf(lines), 200, false).expect("render");
    let (w, h, px) = engine::parse_pgm(&pgm).expect("pdftoppm writes a PGM");
    engine::image_pdf(w, h, px)
}

/// Drops files into the drop folder and registers them as the daemon would.
async fn drop_files(app: &App, files: &[(&str, &[u8])]) -> Vec<Document> {
    ingest::init_dirs(&app.config).unwrap();
    let dir = ingest::drop_folder_path(&app.config);
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let sd = tokio_util::sync::CancellationToken::new();
    let n = ingest::dropfolder::pass(app, &dir, Duration::ZERO, &sd)
        .await
        .unwrap();
    assert_eq!(n, files.len());
    let mut out = Vec::new();
    for (name, _) in files {
        let stem = name.rsplit_once('.').unwrap().0.replace('_', " ");
        let docs = app.register.list(&Default::default()).await.unwrap();
        out.push(
            docs.into_iter()
                .find(|d| d.title == stem)
                .unwrap_or_else(|| panic!("{name} registered")),
        );
    }
    out
}

async fn hits(app: &App, q: &str) -> Vec<String> {
    let req = SearchRequest {
        query: q.to_string(),
        limit: 100,
        ..Default::default()
    };
    search::search(app, &req, &Caller::All)
        .await
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.reg_no)
        .collect()
}

fn later(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::now() + jiff::SignedDuration::from_secs(secs)
}

#[tokio::test]
async fn a_scanned_letter_is_registered_at_once_then_found_checked_and_restricted() {
    let _turn = TURN.lock().await;
    if !tools_present() {
        return;
    }
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let png = scan_png(&[
            "Sotsiaalkindlustusamet, ohvriabi",
            "AVALDUS",
            "Palun hüvitada ravikulud pärast rünnakut.",
            &format!("Taotleja Mari Maasikas, isikukood {CODE}"),
            "Tallinn, 3. detsember 2026",
        ]);
        let doc = drop_files(&app, &[("skann_avaldus.png", &png)])
            .await
            .remove(0);
        // Registered at once: the text is pending, the document not yet restricted.
        let st = app.register.file_text_status(doc.id).await.unwrap();
        assert_eq!(st[0].0, TextStatus::OcrPending, "{b}");
        assert!(st[0].1.as_deref().unwrap().starts_with("OCR ootel"), "{b}");
        assert!(doc.restriction.is_none(), "{b}: {:?}", doc.restriction);
        assert!(!doc.contains_personal_data, "{b}");
        assert!(hits(&app, "ravikulud").await.is_empty(), "{b}");
        let s = ocr::status(&app.store).await.unwrap();
        assert_eq!((s.queued, s.done), (1, 0), "{b}");

        let pass = ocr::run_once(&app, "w1", jiff::Timestamp::now())
            .await
            .unwrap();
        assert_eq!((pass.claimed, pass.done), (1, 1), "{b}: {pass:?}");

        let doc = app.register.get(doc.id).await.unwrap();
        let text = app
            .register
            .file_text(&doc.files[0].sha256)
            .await
            .unwrap()
            .expect("OCR text stored");
        assert!(text.contains(CODE), "{b}: {text}");
        let st = app.register.file_text_status(doc.id).await.unwrap();
        assert_eq!(st[0].0, TextStatus::Extracted, "{b}");
        let note = st[0].1.clone().unwrap();
        assert!(
            note.starts_with("OCR (Tesseract est+eng+rus): keskmine kindlus"),
            "{b}: {note}"
        );
        // Found by a word of the scan.
        assert_eq!(
            hits(&app, "ravikulud").await,
            vec![doc.reg_no.clone()],
            "{b}"
        );
        // The personal code: restricted as registration would (victim data, 75 years
        // from receipt), and the clerk is told.
        assert!(doc.contains_personal_data, "{b}");
        let r = doc.restriction.clone().expect("restricted");
        assert_eq!(r.ground, app.register.victim_ground(), "{b}");
        let received = doc.received.unwrap();
        assert_eq!(
            r.ends,
            received.checked_add(jiff::Span::new().years(75)).unwrap(),
            "{b}"
        );
        assert!(doc.needs_review, "{b}");
        let ev = app.register.events(doc.id).await.unwrap();
        let arrived = ev.iter().find(|e| e.kind == "text_arrived").expect("event");
        assert_eq!(arrived.detail["personal_code"], true, "{b}");
        assert_eq!(
            arrived.detail["restriction"]["term"], "AvTS § 40 lg 3",
            "{b}"
        );
        assert!(
            arrived.detail["by"]["confidence"].as_f64().unwrap() > 50.0,
            "{b}"
        );
        let s = ocr::status(&app.store).await.unwrap();
        assert_eq!((s.queued, s.running, s.done, s.failed), (0, 0, 1, 0), "{b}");
        // Nothing is left to do.
        let pass = ocr::run_once(&app, "w1", later(3600)).await.unwrap();
        assert_eq!(pass.claimed, 0, "{b}");
    }
}

#[tokio::test]
async fn a_registration_number_printed_on_an_image_only_pdf_threads_it() {
    let _turn = TURN.lock().await;
    if !tools_present() {
        return;
    }
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let mut out = NewDocument::new(Direction::Outgoing, Channel::Post, "Vastus taotlusele");
        out.public_reason = Some("test".into());
        let first = app.register.register(out, "clerk").await.unwrap();
        let pdf = scan_pdf(&[
            "Sotsiaalkindlustusamet",
            &format!("Teie kiri nr {}", first.reg_no),
            "Lisan nõutud arstitõendi koopia.",
        ]);
        let doc = drop_files(&app, &[("vastus_postiga.pdf", &pdf)])
            .await
            .remove(0);
        assert_eq!(doc.thread_id, doc.id, "{b}: a thread of its own at first");
        let st = app.register.file_text_status(doc.id).await.unwrap();
        assert_eq!(st[0].0, TextStatus::OcrPending, "{b}: {st:?}");

        let pass = ocr::run_once(&app, "w1", jiff::Timestamp::now())
            .await
            .unwrap();
        assert_eq!(pass.done, 1, "{b}: {pass:?}");
        let doc = app.register.get(doc.id).await.unwrap();
        assert_eq!(
            doc.thread_id, first.thread_id,
            "{b}: threaded by the printed number"
        );
        assert_eq!(doc.parent_id, Some(first.id), "{b}");
        let thread = app.register.thread(first.thread_id).await.unwrap();
        assert_eq!(thread.len(), 2, "{b}");
        assert_eq!(
            hits(&app, "arstitõendi").await,
            vec![doc.reg_no.clone()],
            "{b}"
        );
        // No personal code in it: not restricted by OCR.
        assert!(!doc.contains_personal_data, "{b}");

        // Numbers of two threads: never a guess — its own thread and the triage list.
        let mut other = NewDocument::new(Direction::Outgoing, Channel::Post, "Teine vastus");
        other.public_reason = Some("test".into());
        let other = app.register.register(other, "clerk").await.unwrap();
        let png = scan_png(&[
            &format!("Teie kirjad nr {} ja nr {}", first.reg_no, other.reg_no),
            "Palun ühendada menetlused.",
        ]);
        let two = drop_files(&app, &[("kaks_viidet.png", &png)])
            .await
            .remove(0);
        let pass = ocr::run_once(&app, "w1", jiff::Timestamp::now())
            .await
            .unwrap();
        assert_eq!(pass.done, 1, "{b}: {pass:?}");
        let two = app.register.get(two.id).await.unwrap();
        assert_eq!(two.thread_id, two.id, "{b}: not moved on a guess");
        let triage = ingest::thread::triage_list(&app).await.unwrap();
        assert!(triage.iter().any(|t| t.doc_id == two.id), "{b}: {triage:?}");
    }
}

#[tokio::test]
async fn a_corrupt_image_is_retried_then_failed_with_its_reason_not_lost() {
    let _turn = TURN.lock().await;
    if !tools_present() {
        return;
    }
    for b in backends() {
        let mut env = TestEnv::new(b).await;
        env.config.ocr.max_attempts = 2;
        env.config.ocr.backoff = std::time::Duration::from_secs(60);
        let app = env.app().await;
        // A PNG header that promises 200 × 100 pixels, then garbage: it passes
        // the size check and Tesseract refuses it.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&200u32.to_be_bytes());
        png.extend_from_slice(&100u32.to_be_bytes());
        png.extend_from_slice(&[8, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
        png.extend_from_slice(&[0x5a; 512]);
        let doc = drop_files(&app, &[("katkine_skann.png", &png)])
            .await
            .remove(0);

        let pass = ocr::run_once(&app, "w1", jiff::Timestamp::now())
            .await
            .unwrap();
        assert_eq!((pass.claimed, pass.retried), (1, 1), "{b}: {pass:?}");
        let s = ocr::status(&app.store).await.unwrap();
        assert_eq!(s.queued, 1, "{b}");
        let reason = s.open[0].last_error.clone().expect("a reason");
        assert!(reason.contains("tesseract"), "{b}: {reason}");
        // Not due before its back-off.
        let pass = ocr::run_once(&app, "w1", later(30)).await.unwrap();
        assert_eq!(pass.claimed, 0, "{b}");
        let pass = ocr::run_once(&app, "w1", later(61)).await.unwrap();
        assert_eq!((pass.claimed, pass.failed), (1, 1), "{b}: {pass:?}");

        let s = ocr::status(&app.store).await.unwrap();
        assert_eq!((s.queued, s.failed), (0, 1), "{b}");
        assert_eq!(s.open[0].state, "failed", "{b}");
        assert_eq!(s.open[0].attempts, 2, "{b}");
        assert!(
            s.open[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("tesseract"),
            "{b}"
        );
        // The file says so too, and the document is still there.
        let st = app.register.file_text_status(doc.id).await.unwrap();
        assert_eq!(st[0].0, TextStatus::NotExtracted, "{b}");
        assert!(
            st[0]
                .1
                .as_deref()
                .unwrap()
                .starts_with("OCR ebaõnnestus 2 katsel"),
            "{b}: {st:?}"
        );
        let pass = ocr::run_once(&app, "w1", later(100_000)).await.unwrap();
        assert_eq!(pass.claimed, 0, "{b}: a failed item is not retried forever");
    }
}

#[tokio::test]
async fn a_crash_between_claim_and_completion_is_retried_after_the_lease_expires() {
    let _turn = TURN.lock().await;
    if !tools_present() {
        return;
    }
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let lease = app.config.ocr.lease.as_secs() as i64;
        let png = scan_png(&["Kiri ohvriabile", "Tänan kiire abi eest."]);
        let doc = drop_files(&app, &[("tanukiri.png", &png)]).await.remove(0);

        for (point, action) in [
            ("ocr-after-claim", "return"),
            ("ocr-before-complete", "panic"),
        ] {
            fail::cfg(point, action).unwrap();
            let a = app.clone();
            let at = later(if point == "ocr-after-claim" {
                0
            } else {
                lease + 1
            });
            let run = tokio::spawn(async move { ocr::run_once(&a, "crashing", at).await }).await;
            fail::remove(point);
            match action {
                "return" => assert!(run.unwrap().is_err(), "{b} {point}"),
                _ => assert!(run.unwrap_err().is_panic(), "{b} {point}"),
            }
            let s = ocr::status(&app.store).await.unwrap();
            assert_eq!(s.running, 1, "{b} {point}: left to its lease");
        }
        // A second worker (another process on the same database) restarts.
        drop(app);
        let app = env.app().await;
        // While the lease holds, nobody takes the item.
        let pass = ocr::run_once(&app, "w2", later(lease)).await.unwrap();
        assert_eq!(pass.claimed, 0, "{b}");
        let pass = ocr::run_once(&app, "w2", later(2 * lease + 2))
            .await
            .unwrap();
        assert_eq!((pass.claimed, pass.done), (1, 1), "{b}: {pass:?}");
        let s = ocr::status(&app.store).await.unwrap();
        assert_eq!((s.running, s.done), (0, 1), "{b}");
        let ev = app.register.events(doc.id).await.unwrap();
        assert_eq!(
            ev.iter().filter(|e| e.kind == "text_arrived").count(),
            1,
            "{b}: the text arrived once"
        );
        assert_eq!(
            ev.iter().find(|e| e.kind == "text_arrived").unwrap().detail["by"]["attempt"],
            3,
            "{b}"
        );
        assert_eq!(hits(&app, "kiire").await, vec![doc.reg_no.clone()], "{b}");
    }
}

#[tokio::test]
async fn two_workers_never_claim_the_same_item() {
    let _turn = TURN.lock().await;
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let mut ids = Vec::new();
        for i in 0..6 {
            let mut d = NewDocument::new(Direction::Incoming, Channel::Post, format!("skann {i}"));
            // A distinct tiny PNG header each: queued, never read here.
            let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
            png.push(i as u8);
            let mut f = NewFile::new(format!("s{i}.png"), "image/png", png);
            f.text_status = TextStatus::OcrPending;
            d.files.push(f);
            ids.push(app.register.register(d, "clerk").await.unwrap().id);
        }
        let now = jiff::Timestamp::now();
        let lease = Duration::from_secs(60);
        let (a, b2) = tokio::join!(
            ocr::claim(&app.store, "wa", 6, lease, now),
            ocr::claim(&app.store, "wb", 6, lease, now)
        );
        let (a, b2) = (a.unwrap(), b2.unwrap());
        let mut all: Vec<i64> = a.iter().chain(b2.iter()).map(|i| i.doc_id).collect();
        all.sort();
        assert_eq!(all, ids, "{b}: each item claimed exactly once");
    }
}

fn docgate(env: &TestEnv, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_docgate"))
        .args(args)
        .env_remove("DOCGATE_CONFIG")
        .envs(env.env())
        .output()
        .unwrap()
}

fn json(o: &std::process::Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "{:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[tokio::test]
async fn ocr_status_and_run_once_on_the_command_line() {
    let _turn = TURN.lock().await;
    if !tools_present() {
        return;
    }
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let png = scan_png(&["Teade ohvriabile", "Kohtumine toimub neljapäeval."]);
        let doc = drop_files(&app, &[("teade.png", &png)]).await.remove(0);
        let s = json(&docgate(&env, &["ocr", "status", "--json"]));
        assert_eq!(
            (s["queued"].as_i64(), s["done"].as_i64()),
            (Some(1), Some(0)),
            "{b}: {s}"
        );
        assert_eq!(s["open"][0]["doc_id"], doc.id, "{b}");
        let human = docgate(&env, &["ocr", "status"]);
        assert!(
            String::from_utf8_lossy(&human.stdout).contains("ootel 1"),
            "{b}: Estonian first"
        );
        let r = json(&docgate(&env, &["ocr", "run", "--once", "--json"]));
        assert_eq!(
            (r["claimed"].as_i64(), r["done"].as_i64()),
            (Some(1), Some(1)),
            "{b}: {r}"
        );
        let s = json(&docgate(&env, &["ocr", "status", "--json"]));
        assert_eq!(
            (s["queued"].as_i64(), s["done"].as_i64()),
            (Some(0), Some(1)),
            "{b}: {s}"
        );
        assert_eq!(
            hits(&app, "neljapäeval").await,
            vec![doc.reg_no.clone()],
            "{b}"
        );
    }
}
