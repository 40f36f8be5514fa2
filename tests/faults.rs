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
