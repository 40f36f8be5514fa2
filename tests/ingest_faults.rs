//! Nothing lost under faults in ingest (issue 19 point 1): a poison item first in
//! sorted order does not block the items after it (Maildir, drop folder, IMAP
//! against the real Dovecot); oversized input is quarantined by metadata, its
//! bytes set aside rather than held or copied into a row; a transient fault is
//! retried without quarantining. Every test runs on SQLite and PostgreSQL.

use std::path::Path;
use std::time::Duration;

use docgate::extract::mail::sha256_hex;
use docgate::ingest::fault::{Attempts, MAX_TRANSIENT};
use docgate::ingest::{self, quarantine};
use docgate::testing::{backends, TestEnv};
use tokio_util::sync::CancellationToken;

/// Failpoints are process-wide: the tests of this file take turns.
static FAILPOINTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The size limit the tests set (messages and files).
const LIMIT: u64 = 64 * 1024;

fn msg(subject: &str, id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: saatja@example.ee\r\nTo: dokumendid@example.ee\r\nSubject: {subject}\r\n\
         Date: Mon, 2 Mar 2026 10:00:00 +0200\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A message over [`LIMIT`].
fn big_msg(id: &str) -> Vec<u8> {
    let line = "Suur kiri, mille pikkus ületab piiri. ".repeat(3);
    let body: String = std::iter::repeat_n(format!("{line}\r\n"), 1000).collect();
    let raw = msg("Suur kiri", id, &body);
    assert!(raw.len() as u64 > LIMIT);
    raw
}

async fn env(b: &str) -> TestEnv {
    let mut env = TestEnv::new(b).await;
    env.config.ingest.max_message_size = LIMIT;
    env.config.max_file_size = LIMIT;
    env
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

async fn held(app: &docgate::App) -> Vec<quarantine::Item> {
    quarantine::list(&app.store, false).await.unwrap()
}

async fn raw_len(app: &docgate::App, id: i64) -> usize {
    quarantine::get(&app.store, id).await.unwrap().1.len()
}

fn maildir(data: &Path) -> std::path::PathBuf {
    let md = data.join("inbox");
    for s in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(md.join(s)).unwrap();
    }
    md
}

#[tokio::test(flavor = "multi_thread")]
async fn maildir_poison_first_in_sorted_order_does_not_block_the_messages_after_it() {
    let _turn = FAILPOINTS.lock().await;
    for b in backends() {
        let env = env(b).await;
        let app = env.app().await;
        let md = maildir(&env.config.data_dir);
        // Sorted first: a message that breaks ingest, then one over the limit.
        std::fs::write(
            md.join("new/1700000001.poison.test"),
            msg("poison", "poison@x.ee", "x"),
        )
        .unwrap();
        let big = big_msg("big@x.ee");
        std::fs::write(md.join("new/1700000002.big.test"), &big).unwrap();
        for i in 3..6 {
            std::fs::write(
                md.join(format!("new/170000000{i}.ok.test")),
                msg(&format!("Avaldus {i}"), &format!("ok-{i}@x.ee"), "sisu"),
            )
            .unwrap();
        }
        fail::cfg("ingest-poison", "return").unwrap();
        let n = ingest::maildir::pass(&app, &md, &CancellationToken::new()).await;
        fail::remove("ingest-poison");
        assert_eq!(n.unwrap(), 5, "{b}: every message handled in one pass");
        assert_eq!(app.register.count(&Default::default()).await.unwrap(), 3);
        assert!(names(&md.join("new")).is_empty(), "{b}");
        assert_eq!(names(&md.join("cur")).len(), 3, "{b}");
        assert_eq!(
            names(&md.join("quarantine")),
            ["1700000001.poison.test", "1700000002.big.test"],
            "{b}: both set aside"
        );
        let items = held(&app).await;
        assert_eq!(items.len(), 2, "{b}: {items:?}");
        let poison = items.iter().find(|i| i.source.contains("poison")).unwrap();
        assert!(
            poison.reason.contains("failpoint ingest-poison"),
            "{b}: {poison:?}"
        );
        let big_item = items.iter().find(|i| i.source.contains("big")).unwrap();
        assert!(big_item.reason.contains("too large"), "{b}: {big_item:?}");
        assert_eq!(big_item.size, big.len() as i64, "{b}");
        assert_eq!(big_item.sha256, sha256_hex(&big), "{b}");
        // By metadata: the bytes are in the file set aside, not in the row.
        assert_eq!(raw_len(&app, big_item.id).await, 0, "{b}");
        let kept = big_item.kept_at.clone().expect("kept_at");
        assert_eq!(std::fs::read(&kept).unwrap(), big, "{b}");
        // Once the limit is raised, the clerk's retry registers it from there.
        drop(app);
        let mut cfg = env.config.clone();
        cfg.ingest.max_message_size = 1024 * 1024;
        cfg.max_file_size = 1024 * 1024;
        let app = docgate::App::open(cfg).await.unwrap();
        let o = quarantine::retry(&app, big_item.id).await.unwrap();
        assert_eq!(o.status(), "registered", "{b}: {o:?}");
        // And the next pass finds nothing left to do.
        let n = ingest::maildir::pass(&app, &md, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(n, 0, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn drop_folder_poison_that_panics_and_an_oversized_file_are_set_aside_and_the_rest_registered(
) {
    let _turn = FAILPOINTS.lock().await;
    for b in backends() {
        let env = env(b).await;
        let app = env.app().await;
        let drop = env.config.data_dir.join("drop");
        std::fs::create_dir_all(&drop).unwrap();
        std::fs::write(drop.join("0_poison.txt"), "mürgine sisu").unwrap();
        let big = vec![b'%'; LIMIT as usize + 1];
        std::fs::write(drop.join("1_big.pdf"), &big).unwrap();
        std::fs::write(drop.join("2_avaldus.txt"), "avalduse tekst").unwrap();
        std::fs::write(drop.join("3_kaebus.txt"), "kaebuse tekst").unwrap();
        // The poison item panics inside ingest (a bug one input hits).
        fail::cfg("ingest-poison", "panic").unwrap();
        let n =
            ingest::dropfolder::pass(&app, &drop, Duration::ZERO, &CancellationToken::new()).await;
        fail::remove("ingest-poison");
        assert_eq!(n.unwrap(), 4, "{b}");
        assert_eq!(app.register.count(&Default::default()).await.unwrap(), 2);
        assert_eq!(names(&drop.join("done")).len(), 2, "{b}");
        assert_eq!(
            names(&drop.join("quarantine")),
            ["0_poison.txt", "1_big.pdf"],
            "{b}"
        );
        let items = held(&app).await;
        assert_eq!(items.len(), 2, "{b}: {items:?}");
        let poison = items.iter().find(|i| i.source.contains("poison")).unwrap();
        assert!(poison.reason.contains("panicked"), "{b}: {poison:?}");
        let big_item = items.iter().find(|i| i.source.contains("big")).unwrap();
        assert_eq!(
            (big_item.size, raw_len(&app, big_item.id).await),
            (big.len() as i64, 0),
            "{b}: by metadata"
        );
        assert_eq!(big_item.sha256, sha256_hex(&big), "{b}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transient_fault_is_retried_without_quarantining_and_never_stops_the_source() {
    let _turn = FAILPOINTS.lock().await;
    for b in backends() {
        let env = env(b).await;
        let app = env.app().await;
        let md = maildir(&env.config.data_dir);
        let sd = CancellationToken::new();
        std::fs::write(
            md.join("new/1700000001.a.test"),
            msg("transient", "t1@x.ee", "x"),
        )
        .unwrap();
        std::fs::write(md.join("new/1700000002.b.test"), msg("ok", "t2@x.ee", "y")).unwrap();
        // The database is "down" for this message: the pass ends, nothing is
        // quarantined, the message stays in new/.
        fail::cfg("ingest-transient", "return").unwrap();
        let mut attempts = Attempts::default();
        let e = ingest::maildir::pass_with(&app, &md, &sd, &mut attempts).await;
        assert!(e.is_err(), "{b}: the transient fault is reported");
        assert!(held(&app).await.is_empty(), "{b}: not quarantined");
        assert_eq!(names(&md.join("new")).len(), 2, "{b}");
        // The database is back: the retry registers both.
        fail::remove("ingest-transient");
        let n = ingest::maildir::pass_with(&app, &md, &sd, &mut attempts)
            .await
            .unwrap();
        assert_eq!(n, 2, "{b}");
        assert_eq!(app.register.count(&Default::default()).await.unwrap(), 2);
        assert!(held(&app).await.is_empty(), "{b}");

        // A message that fails "transiently" on every try is set aside after
        // MAX_TRANSIENT tries, and the messages after it go through.
        std::fs::write(
            md.join("new/1700000003.c.test"),
            msg("transient again", "t3@x.ee", "z"),
        )
        .unwrap();
        std::fs::write(
            md.join("new/1700000004.d.test"),
            msg("ok 2", "t4@x.ee", "w"),
        )
        .unwrap();
        fail::cfg("ingest-transient", "return").unwrap();
        let mut results = Vec::new();
        for _ in 0..MAX_TRANSIENT {
            results.push(
                ingest::maildir::pass_with(&app, &md, &sd, &mut attempts)
                    .await
                    .is_ok(),
            );
        }
        fail::remove("ingest-transient");
        let mut expected = vec![false; MAX_TRANSIENT as usize - 1];
        expected.push(true);
        assert_eq!(results, expected, "{b}");
        assert_eq!(app.register.count(&Default::default()).await.unwrap(), 3);
        let items = held(&app).await;
        assert_eq!(items.len(), 1, "{b}: {items:?}");
        assert!(items[0].reason.contains("database"), "{b}: {items:?}");
        assert!(names(&md.join("new")).is_empty(), "{b}");
    }
}

// ---------------------------------------------------------------- Dovecot

const IMAP_PORT: u16 = 10143;

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
        name: format!("faults-{folder}"),
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
async fn imap_poison_and_oversized_messages_are_quarantined_and_the_rest_registered() {
    let _turn = FAILPOINTS.lock().await;
    if !dovecot_up() {
        return;
    }
    for b in backends() {
        let env = env(b).await;
        let app = env.app().await;
        let folder = format!("F{}", uuid::Uuid::new_v4().simple());
        let acc = account(&folder);
        let mut s = ingest::imap::connect(&acc).await.unwrap();
        s.create(&folder).await.unwrap();
        let big = big_msg(&format!("big-{folder}@x.ee"));
        let mut mails = vec![
            msg("poison", &format!("poison-{folder}@x.ee"), "x"),
            big.clone(),
        ];
        for i in 0..2 {
            mails.push(msg(
                &format!("Avaldus {i}"),
                &format!("ok-{i}-{folder}@x.ee"),
                "sisu",
            ));
        }
        for m in mails {
            s.append(&folder, None, None, m).await.unwrap();
        }
        fail::cfg("ingest-poison", "return").unwrap();
        let p =
            ingest::imap::sync_folder(&app, &acc, &mut s, &folder, None, &CancellationToken::new())
                .await;
        fail::remove("ingest-poison");
        let p = p.unwrap();
        // The oversized one was never downloaded.
        assert_eq!(
            (p.fetched, p.registered, p.quarantined),
            (3, 2, 2),
            "{b}: {p:?}"
        );
        assert_eq!(app.register.count(&Default::default()).await.unwrap(), 2);
        // Every message acknowledged, so none blocks the next pass.
        s.select(&folder).await.unwrap();
        assert_eq!(s.uid_search("UNSEEN").await.unwrap().len(), 0, "{b}");
        let items = held(&app).await;
        assert_eq!(items.len(), 2, "{b}: {items:?}");
        let big_item = items
            .iter()
            .find(|i| i.reason.contains("too large"))
            .unwrap();
        assert_eq!(big_item.size, big.len() as i64, "{b}: RFC822.SIZE");
        assert!(big_item.sha256.starts_with("unread:imap:"), "{b}");
        assert_eq!(raw_len(&app, big_item.id).await, 0, "{b}: by metadata");
        assert!(
            big_item.kept_at.as_deref().unwrap_or("").contains("UID 2"),
            "{b}: {big_item:?}"
        );
        let poison = items.iter().find(|i| i.reason.contains("poison")).unwrap();
        assert!(
            raw_len(&app, poison.id).await > 0,
            "{b}: a small one is kept whole"
        );
        let p =
            ingest::imap::sync_folder(&app, &acc, &mut s, &folder, None, &CancellationToken::new())
                .await
                .unwrap();
        assert_eq!(p.fetched, 0, "{b}");
        let _ = s.delete(&folder).await;
        let _ = s.logout().await;
    }
}

// ---------------------------------------------------------------- growth

/// Issue 19 point 10: a reference many documents share (a law's number in a
/// subject) gave every later message that cites it a candidate per document,
/// each loaded whole, and a triage entry listing them all. The look-up is now
/// bounded and decides the same.
#[tokio::test]
async fn a_reference_many_documents_share_gives_a_bounded_candidate_list_and_the_same_decision() {
    use docgate::ingest::thread::{self, Decision, Hints, REF_CANDIDATES};
    use docgate::model::{Channel, Direction, NewDocument};
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let reg = &app.register;
        let with_ref = |title: String, reply_to: Option<String>| {
            let mut n = NewDocument::new(Direction::Incoming, Channel::Email, title);
            n.their_ref = Some("2019/881".into());
            n.reply_to = reply_to;
            n
        };
        // More documents than the bound, all in one thread.
        let first = reg
            .register(with_ref("viide 0".into(), None), "t")
            .await
            .unwrap();
        for i in 1..(REF_CANDIDATES + 5) {
            reg.register(
                with_ref(format!("viide {i}"), Some(first.reg_no.clone())),
                "t",
            )
            .await
            .unwrap();
        }
        let hints = Hints::new(Vec::new(), "Määrus 2019/881 kohta".into(), "");
        let cands = thread::candidates(reg, &hints).await.unwrap();
        assert_eq!(cands.len() as i64, REF_CANDIDATES, "{b}: bounded");
        assert!(
            matches!(thread::decide(&cands), Decision::Continue { .. }),
            "{b}: one thread is continued"
        );
        // One more, in a thread of its own: past the bound, and still triage.
        reg.register(with_ref("viide teises asjas".into(), None), "t")
            .await
            .unwrap();
        let cands = thread::candidates(reg, &hints).await.unwrap();
        assert_eq!(cands.len() as i64, REF_CANDIDATES + 1, "{b}");
        assert!(
            matches!(thread::decide(&cands), Decision::Triage { .. }),
            "{b}: the other thread is seen, never a guess"
        );
    }
}
