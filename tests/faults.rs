//! Nothing lost under faults (issue 19): durable commits, the atomic outbox with
//! its lease check, and crash points between the steps of a delivery.

use docgate::testing::{backends, TestEnv};

/// SQLite's `PRAGMA synchronous` values: 1 = NORMAL, 2 = FULL.
const SYNCHRONOUS_FULL: i64 = 2;

#[tokio::test]
async fn sqlite_commits_are_durable_synchronous_full() {
    let env = TestEnv::new("sqlite").await;
    let app = env.app().await;
    let store = &app.store;
    // Every pooled connection: several held at once, so that more than one is opened.
    for v in store.synchronous_levels(3).await.unwrap() {
        assert_eq!(v, SYNCHRONOUS_FULL, "pooled connection");
    }
    // A write transaction, also after the import's checkpointer moved checkpoints
    // off the commit path.
    let mut tx = store.begin_write().await.unwrap();
    let (v,): (i64,) = sqlx::query_as("PRAGMA synchronous")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(v, SYNCHRONOUS_FULL, "write transaction");
    tx.commit().await.unwrap();
    let mut ckpt = store
        .start_checkpointer()
        .expect("a checkpointer on SQLite");
    // Enough commits for the checkpointer to wait for a full catch-up once.
    for _ in 0..8 {
        let mut tx = store.begin_write().await.unwrap();
        let (v,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(
            v, SYNCHRONOUS_FULL,
            "write transaction under the checkpointer"
        );
        tx.commit().await.unwrap();
        ckpt.committed().await;
    }
    ckpt.finish().await;
    // The checkpointer left the WAL copied into the database file.
    let (busy, _log, _done): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&docgate::testing::raw_pool(&app).await)
        .await
        .unwrap();
    assert_eq!(busy, 0, "checkpoint not blocked");
}

// ------------------------------------------------------------ atomic outbox

use std::time::Duration;

use docgate::model::{Channel, Direction, NewDocument, NewFile};
use docgate::outbox::{self, NewOutboxItem, OutboxEvent, OutboxItem};

/// Failpoints are process-wide: the outbox tests take turns.
static FAILPOINTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A registered letter with one queued e-mail; returns (doc id, outbox id).
async fn letter_with_email(app: &docgate::App) -> (i64, i64) {
    let mut d = NewDocument::new(Direction::Incoming, Channel::Post, "kiri");
    d.files
        .push(NewFile::new("vastus.txt", "text/plain", b"sisu".to_vec()));
    let mut tx = app.register.begin().await.unwrap();
    let doc = app.register.register_in(&mut tx, d, "t").await.unwrap();
    let id = outbox::enqueue_in(
        &mut tx,
        NewOutboxItem {
            doc_id: Some(doc.id),
            channel: "email".into(),
            recipient: "mari@example.ee".into(),
            payload: serde_json::json!({}),
            dedup_key: None,
            not_before: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (doc.id, id)
}

/// Claims the one due e-mail for `worker` with a lease that runs out at once
/// (another worker may take it over a second later).
async fn claim_one(app: &docgate::App, worker: &str) -> Option<OutboxItem> {
    let mut items = outbox::claim(&app.store, "email", worker, 10, Duration::ZERO)
        .await
        .unwrap();
    assert!(items.len() <= 1);
    items.pop()
}

async fn events_of(app: &docgate::App, doc_id: i64, kind: &str) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM events WHERE doc_id = $1 AND kind = $2")
            .bind(doc_id)
            .bind(kind)
            .fetch_one(&docgate::testing::raw_pool(app).await)
            .await
            .unwrap();
    n
}

fn sent_event(item: &OutboxItem) -> Option<OutboxEvent<'static>> {
    Some(OutboxEvent {
        kind: "outbox_sent",
        detail: serde_json::json!({"outbox_id": item.id, "result": "250 ok"}),
        actor: "outbox",
    })
}

/// A lease that ran out becomes claimable on the next whole second.
async fn let_lease_run_out() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

#[tokio::test]
async fn outbox_crash_between_status_and_event_leaves_nothing_half_written() {
    let _turn = FAILPOINTS.lock().await;
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let (doc, id) = letter_with_email(&app).await;
        let item = claim_one(&app, "w1").await.expect("due");
        // Crash (an error, then a panic) at each point between the status
        // update and the commit.
        for (point, action) in [
            ("outbox-between-status-and-event", "return"),
            ("outbox-between-status-and-event", "panic"),
            ("outbox-before-commit", "return"),
            ("outbox-before-commit", "panic"),
        ] {
            fail::cfg(point, action).unwrap();
            let (register, it) = (app.register.clone(), item.clone());
            let run = tokio::spawn(async move {
                outbox::mark_sent(&register, &it, "250 ok", sent_event(&it)).await
            })
            .await;
            fail::remove(point);
            match action {
                "return" => assert!(run.unwrap().is_err(), "{b} {point}: the crash is reported"),
                _ => assert!(run.unwrap_err().is_panic(), "{b} {point}"),
            }
        }
        // Restart: a new process on the same register.
        drop(app);
        let app = env.app().await;
        let now = outbox::get(&app.store, id).await.unwrap().unwrap();
        assert_eq!(now.state, "sending", "{b}: not sent");
        assert_eq!(
            events_of(&app, doc, "outbox_sent").await,
            0,
            "{b}: no event"
        );
        // Still claimable once its lease runs out; then sent with exactly one event.
        let_lease_run_out().await;
        let again = claim_one(&app, "w2").await.expect("{b}: claimable again");
        assert_eq!(again.id, id);
        assert!(
            outbox::mark_sent(&app.register, &again, "250 ok", sent_event(&again))
                .await
                .unwrap()
        );
        // The crashed worker coming back late cannot record a second delivery.
        assert!(
            !outbox::mark_sent(&app.register, &item, "250 ok", sent_event(&item))
                .await
                .unwrap()
        );
        drop(app);
        let app = env.app().await;
        let now = outbox::get(&app.store, id).await.unwrap().unwrap();
        assert_eq!(now.state, "sent", "{b}");
        assert_eq!(
            events_of(&app, doc, "outbox_sent").await,
            1,
            "{b}: exactly one event"
        );
    }
}

#[tokio::test]
async fn outbox_worker_whose_lease_was_taken_over_cannot_mark_the_item() {
    let _turn = FAILPOINTS.lock().await;
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let (doc, id) = letter_with_email(&app).await;
        let first = claim_one(&app, "w1").await.expect("due");
        let_lease_run_out().await;
        let second = claim_one(&app, "w2").await.expect("taken over");
        assert_eq!((second.id, second.attempts), (id, 2), "{b}");
        // w1 lost its lease: no mark of it changes anything.
        let r = &app.register;
        assert!(!outbox::mark_sent(r, &first, "250 ok", sent_event(&first))
            .await
            .unwrap());
        let failed = OutboxEvent {
            kind: "outbox_failed",
            detail: serde_json::json!({"outbox_id": id}),
            actor: "outbox",
        };
        assert!(!outbox::mark_failed(r, &first, "550", Some(failed.clone()))
            .await
            .unwrap());
        assert!(
            !outbox::mark_retry(r, &first, "421", jiff::Timestamp::now())
                .await
                .unwrap()
        );
        let now = outbox::get(&app.store, id).await.unwrap().unwrap();
        assert_eq!(now.state, "sending", "{b}");
        assert_eq!(now.claimed_by.as_deref(), Some("w2"), "{b}");
        assert_eq!(events_of(&app, doc, "outbox_sent").await, 0, "{b}");
        assert_eq!(events_of(&app, doc, "outbox_failed").await, 0, "{b}");
        // The holder can.
        assert!(outbox::mark_failed(r, &second, "550", Some(failed))
            .await
            .unwrap());
        let now = outbox::get(&app.store, id).await.unwrap().unwrap();
        assert_eq!(now.state, "failed", "{b}");
        assert_eq!(events_of(&app, doc, "outbox_failed").await, 1, "{b}");
        // And only once.
        assert!(
            !outbox::mark_sent(r, &second, "250 ok", sent_event(&second))
                .await
                .unwrap()
        );
    }
}

// ------------------------------------------- crash windows of the intake paths

mod dhx_peer;

use docgate::ingest;
use tokio_util::sync::CancellationToken;

/// Runs `f` in a task of its own with the failpoint `point` set to `action`
/// ("return": the step fails; "panic": the task dies there), and checks that
/// the crash was seen.
async fn crash_at<F, T>(point: &str, action: &str, f: F)
where
    F: std::future::Future<Output = docgate::error::Result<T>> + Send + 'static,
    T: Send + 'static + std::fmt::Debug,
{
    fail::cfg(point, action).unwrap();
    let run = tokio::spawn(f).await;
    fail::remove(point);
    match (action, run) {
        ("return", Ok(Err(e))) => assert!(
            e.to_string().contains(&format!("failpoint {point}")),
            "{point}: {e}"
        ),
        // A panic kills the task, or ingest's own task per item, which
        // reports it as that item's error.
        ("panic", Err(e)) => assert!(e.is_panic(), "{point}: the task died"),
        ("panic", Ok(Err(e))) => assert!(e.to_string().contains("panicked"), "{point}: {e}"),
        (_, Ok(Ok(_))) => panic!("{point} {action}: no crash"),
        (_, Ok(Err(e))) => panic!("{point} {action}: {e}"),
        (_, Err(e)) => panic!("{point} {action}: {e}"),
    }
}

const CRASHES: [&str; 2] = ["return", "panic"];

async fn documents(app: &docgate::App) -> i64 {
    app.register.count(&Default::default()).await.unwrap()
}

async fn events(app: &docgate::App) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM events")
        .fetch_one(&docgate::testing::raw_pool(app).await)
        .await
        .unwrap();
    n
}

/// The audit chain, every document's state and every stored file check out.
async fn verified(app: &docgate::App, what: &str) {
    let v = docgate::audit::verify(&app.register).await.unwrap();
    assert!(v.ok, "{what}: {:?}", v.problems);
}

fn letter(title: &str) -> NewDocument {
    let mut d = NewDocument::new(Direction::Incoming, Channel::Post, title);
    d.files.push(NewFile::new(
        "kiri.txt",
        "text/plain",
        format!("sisu: {title}").into_bytes(),
    ));
    d
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_crash_after_files_or_before_commit_leaves_nothing_and_registers_once_after_restart(
) {
    let _turn = FAILPOINTS.lock().await;
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let (docs0, events0) = (documents(&app).await, events(&app).await);
        for point in ["register-after-files", "register-before-commit"] {
            for action in CRASHES {
                let reg = app.register.clone();
                crash_at(point, action, async move {
                    reg.register_batch(vec![letter("üks"), letter("kaks")], "t")
                        .await
                })
                .await;
            }
        }
        // The single registration's own window.
        for action in CRASHES {
            let reg = app.register.clone();
            crash_at("register-before-commit", action, async move {
                reg.register(letter("kolm"), "t").await
            })
            .await;
        }
        // Restart: nothing of the crashed registrations, no number used up
        // where anyone can see it, the chain intact.
        drop(app);
        let app = env.app().await;
        assert_eq!(documents(&app).await, docs0, "{b}: no document");
        assert_eq!(events(&app).await, events0, "{b}: no event");
        verified(&app, b).await;
        // The same registrations again: each once, with its files.
        let out = app
            .register
            .register_batch(vec![letter("üks"), letter("kaks")], "t")
            .await
            .unwrap();
        let one = app.register.register(letter("kolm"), "t").await.unwrap();
        assert_eq!(documents(&app).await, docs0 + 3, "{b}");
        let mut numbers: Vec<String> = out.iter().map(|d| d.reg_no.clone()).collect();
        numbers.push(one.reg_no.clone());
        numbers.dedup();
        assert_eq!(numbers.len(), 3, "{b}: three numbers {numbers:?}");
        for d in out.iter().chain([&one]) {
            let d = app.register.get(d.id).await.unwrap();
            assert_eq!(d.files.len(), 1, "{b}: {}", d.reg_no);
        }
        verified(&app, b).await;
    }
}

fn mail(subject: &str, id: &str) -> Vec<u8> {
    format!(
        "From: saatja@example.ee\r\nTo: dokumendid@example.ee\r\nSubject: {subject}\r\n\
         Date: Mon, 2 Mar 2026 10:00:00 +0200\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nTere, {subject}.\r\n"
    )
    .into_bytes()
}

fn entries(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |r| r.count())
}

#[tokio::test(flavor = "multi_thread")]
async fn maildir_crash_before_commit_or_acknowledgement_registers_each_message_once_after_restart()
{
    let _turn = FAILPOINTS.lock().await;
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let md = env.dir.path().join("inbox");
        for s in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(md.join(s)).unwrap();
        }
        // One message a crash window: before the commit, between the commit
        // and the move to cur/. (An error before the commit is no crash:
        // ingest quarantines the message with it, so that window dies.)
        let windows = [
            (
                "register-before-commit",
                "1700000001.M1P1.host",
                &CRASHES[1..],
            ),
            ("ingest-before-ack", "1700000002.M1P1.host", &CRASHES[..]),
        ];
        for (i, (point, name, actions)) in windows.iter().enumerate() {
            let msg = md.join("new").join(name);
            std::fs::write(&msg, mail(&format!("Kiri {i}"), &format!("crash-{i}@x"))).unwrap();
            for &action in *actions {
                let (a, m, f) = (app.clone(), md.clone(), msg.clone());
                crash_at(point, action, async move {
                    ingest::maildir::process_one(&a, &m, &f).await
                })
                .await;
                assert!(msg.exists(), "{b} {point} {action}: still in new/");
            }
        }
        let committed = documents(&app).await;
        assert_eq!(committed, 1, "{b}: only the message past its commit");
        // Restart: one pass takes both; the committed one is seen as itself.
        drop(app);
        let app = env.app().await;
        ingest::maildir::pass(&app, &md, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(documents(&app).await, 2, "{b}: each message once");
        assert_eq!(entries(&md.join("new")), 0, "{b}: new/ empty");
        assert_eq!(entries(&md.join("cur")), 2, "{b}: both acknowledged");
        assert!(
            ingest::quarantine::list(&app.store, false)
                .await
                .unwrap()
                .is_empty(),
            "{b}: nothing set aside"
        );
        verified(&app, b).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn drop_folder_crash_before_commit_or_the_move_to_done_registers_each_file_once_after_restart(
) {
    let _turn = FAILPOINTS.lock().await;
    for b in backends() {
        let env = TestEnv::new(b).await;
        let app = env.app().await;
        let dir = env.dir.path().join("drop");
        std::fs::create_dir_all(&dir).unwrap();
        let channel: Channel = app.config.ingest.drop_channel.parse().unwrap();
        let windows = [
            ("register-before-commit", "taotlus-1.txt", &CRASHES[1..]),
            ("ingest-before-ack", "taotlus-2.txt", &CRASHES[..]),
        ];
        for (point, name, actions) in windows {
            let file = dir.join(name);
            std::fs::write(&file, format!("Taotlus {name}").as_bytes()).unwrap();
            for &action in actions {
                let (a, d, f) = (app.clone(), dir.clone(), file.clone());
                crash_at(point, action, async move {
                    ingest::dropfolder::process_one(&a, &d, &f, channel).await
                })
                .await;
                assert!(file.exists(), "{b} {point} {action}: still in the folder");
            }
        }
        assert_eq!(
            documents(&app).await,
            1,
            "{b}: only the file past its commit"
        );
        drop(app);
        let app = env.app().await;
        ingest::dropfolder::pass(&app, &dir, Duration::ZERO, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(documents(&app).await, 2, "{b}: each file once");
        assert_eq!(entries(&dir.join("done")), 2, "{b}: both moved to done/");
        assert!(!dir.join("taotlus-1.txt").exists() && !dir.join("taotlus-2.txt").exists());
        verified(&app, b).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dhx_crash_before_commit_or_before_the_servers_mark_registers_each_capsule_once() {
    let _turn = FAILPOINTS.lock().await;
    for b in backends() {
        let peer = std::sync::Arc::new(std::sync::Mutex::new(dhx_peer::AdapterPeer::default()));
        let batch = vec![
            dhx_peer::capsule_with_dvk_id("70001975", "Kiri üks", "6001"),
            dhx_peer::capsule_with_dvk_id("70001975", "Kiri kaks", "6002"),
        ];
        // The server hands the same two out until they are marked received.
        for _ in 0..6 {
            peer.lock().unwrap().batches.push_back(batch.clone());
        }
        let (url, server) = dhx_peer::start_adapter_peer(peer.clone()).await;
        let mut env = TestEnv::new(b).await;
        env.config.agency.registry_code = "70001975".into();
        env.config.dhx.adapter_url = url;
        let app = env.app().await;
        let client = docgate::dhx::poll::client(&app).unwrap();

        // Before the commit: a failure of this side, so neither quarantined
        // nor acknowledged (the server keeps them).
        fail::cfg("dhx-receive-before-commit", "return").unwrap();
        let r = docgate::dhx::poll::poll_once(&app, &client, 10).await;
        fail::remove("dhx-receive-before-commit");
        let r = r.unwrap();
        assert_eq!((r.deferred, r.quarantined), (2, 0), "{b}: {r:?}");
        assert!(
            r.acknowledged.is_empty() && r.registered.is_empty(),
            "{b}: {r:?}"
        );
        assert!(peer.lock().unwrap().marked.is_empty(), "{b}: not marked");
        // The process dies there, too.
        let a = app.clone();
        crash_at("dhx-receive-before-commit", "panic", async move {
            let c = docgate::dhx::poll::client(&a).unwrap();
            docgate::dhx::poll::poll_once(&a, &c, 10).await
        })
        .await;
        assert_eq!(documents(&app).await, 0, "{b}: nothing registered");
        // Registered, then the crash before the server is told.
        for action in CRASHES {
            let a = app.clone();
            crash_at("dhx-poll-before-mark", action, async move {
                let c = docgate::dhx::poll::client(&a).unwrap();
                docgate::dhx::poll::poll_once(&a, &c, 10).await
            })
            .await;
        }
        assert!(peer.lock().unwrap().marked.is_empty(), "{b}: not marked");
        assert_eq!(documents(&app).await, 2, "{b}: registered once");
        // Restart: handed out again, both duplicates, acknowledged once.
        drop(app);
        let app = env.app().await;
        let r = docgate::dhx::poll::poll_once(&app, &client, 10)
            .await
            .unwrap();
        assert_eq!((r.received, r.duplicates), (2, 2), "{b}: {r:?}");
        assert_eq!(r.acknowledged, ["6001", "6002"], "{b}");
        assert_eq!(
            peer.lock().unwrap().marked,
            vec![vec!["6001".to_string(), "6002".into()]],
            "{b}"
        );
        assert_eq!(documents(&app).await, 2, "{b}: each capsule once");
        verified(&app, b).await;
        server.abort();
    }
}
