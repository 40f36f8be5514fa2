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
    // Every pooled connection: hold several at once so that more than one is opened.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut conn = store.pool.acquire().await.unwrap();
        let (v,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(v, SYNCHRONOUS_FULL, "pooled connection");
        held.push(conn);
    }
    drop(held);
    // A write transaction, also after the import's checkpointer moved checkpoints
    // off the commit path.
    let mut tx = store.begin_write().await.unwrap();
    let (v,): (i64,) = sqlx::query_as("PRAGMA synchronous")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(v, SYNCHRONOUS_FULL, "write transaction");
    tx.commit().await.unwrap();
    let mut ckpt = store.start_checkpointer().expect("a checkpointer on SQLite");
    // Enough commits for the checkpointer to wait for a full catch-up once.
    for _ in 0..8 {
        let mut tx = store.begin_write().await.unwrap();
        let (v,): (i64,) = sqlx::query_as("PRAGMA synchronous")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(v, SYNCHRONOUS_FULL, "write transaction under the checkpointer");
        tx.commit().await.unwrap();
        ckpt.committed().await;
    }
    ckpt.finish().await;
    // The checkpointer left the WAL copied into the database file.
    let (busy, _log, _done): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(busy, 0, "checkpoint not blocked");
}
