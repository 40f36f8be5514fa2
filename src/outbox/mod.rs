//! The durable outbox: messages (e-mail, DHX) queued in the database in the same
//! transaction as the document they belong to, claimed by workers with a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), and retried until sent or failed.
//!
//! A claim is a lease: the item's `claimed_by` (the worker) and `attempts` (which
//! claim) as [`claim`] returned them. `mark_*` change an item only while that
//! lease still holds, and write the status and its audit event (through the
//! register) in ONE transaction: a crash leaves the item either still claimable
//! or finished with exactly one event.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::error::Result;
use crate::register::Register;
use crate::store::{self, Store, Tx};

pub mod reply;
pub mod smtp;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// E-mail over SMTP (`[outbox.smtp]`).
    pub smtp: smtp::SmtpConfig,
}

impl OutboxConfig {
    /// Checks `[outbox]` at start (called by `Config::validate`).
    pub fn validate(&self) -> Result<()> {
        self.smtp.validate()
    }
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewOutboxItem {
    pub doc_id: Option<i64>,
    /// "email" or "dhx".
    pub channel: String,
    pub recipient: String,
    /// JSON understood by the channel's sender.
    pub payload: serde_json::Value,
    /// Queuing the same key twice is a no-op (returns the existing id).
    pub dedup_key: Option<String>,
    /// Earliest send time; None = now.
    pub not_before: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub id: i64,
    pub doc_id: Option<i64>,
    pub channel: String,
    pub recipient: String,
    pub payload: serde_json::Value,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub result: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    /// The worker holding the item's lease (with `attempts`, the lease token).
    #[serde(default)]
    pub claimed_by: Option<String>,
}

const COLS: &str = "id, doc_id, channel, recipient, payload, state, attempts, next_attempt_at, last_error, result, created_at, sent_at, claimed_by";

fn from_row(r: &sqlx::any::AnyRow) -> Result<OutboxItem> {
    let payload: String = r.try_get("payload")?;
    Ok(OutboxItem {
        id: r.try_get("id")?,
        doc_id: r.try_get("doc_id")?,
        channel: r.try_get("channel")?,
        recipient: r.try_get("recipient")?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_error: r.try_get("last_error")?,
        result: r.try_get("result")?,
        created_at: r.try_get("created_at")?,
        sent_at: r.try_get("sent_at")?,
        claimed_by: r.try_get("claimed_by")?,
    })
}

/// Queues a message inside the caller's transaction.
pub async fn enqueue_in(tx: &mut Tx, item: NewOutboxItem) -> Result<i64> {
    if let Some(k) = &item.dedup_key {
        let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM outbox WHERE dedup_key = $1")
            .bind(k)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some((id,)) = row {
            return Ok(id);
        }
    }
    let now = store::now_text();
    let next = item
        .not_before
        .map(store::ts_text)
        .unwrap_or_else(|| now.clone());
    let row = sqlx::query(
        "INSERT INTO outbox (doc_id, channel, recipient, payload, state, attempts, next_attempt_at, created_at, dedup_key) VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7) RETURNING id",
    )
    .bind(item.doc_id)
    .bind(&item.channel)
    .bind(&item.recipient)
    .bind(item.payload.to_string())
    .bind(next)
    .bind(now)
    .bind(&item.dedup_key)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// Claims up to `limit` due messages of a channel for `worker`, leasing them for
/// `lease`. A claimed message is not claimed again until its lease runs out, so a
/// crashed worker's messages are retried, and two workers never hold the same one.
pub async fn claim(
    store: &Store,
    channel: &str,
    worker: &str,
    limit: i64,
    lease: Duration,
) -> Result<Vec<OutboxItem>> {
    let until = store::ts_text(
        jiff::Timestamp::now() + jiff::SignedDuration::try_from(lease).unwrap_or_default(),
    );
    let queue = store::lease::Queue {
        table: "outbox",
        running: "sending",
        columns: COLS,
    };
    let rows = store::lease::claim(
        store,
        &queue,
        Some(("channel", channel)),
        worker,
        limit,
        &store::now_text(),
        &until,
    )
    .await?;
    rows.iter().map(from_row).collect()
}

/// The audit event a status change writes in its own transaction.
#[derive(Debug, Clone)]
pub struct OutboxEvent<'a> {
    pub kind: &'a str,
    pub detail: serde_json::Value,
    pub actor: &'a str,
}

/// Runs a status UPDATE that carries the lease condition ([`held`]), then the
/// event, then commits, all in one write transaction. Returns false, changing nothing,
/// when the lease was lost (another worker claimed the item meanwhile).
async fn finish<'q>(
    register: &Register,
    item: &OutboxItem,
    update: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    event: Option<OutboxEvent<'_>>,
) -> Result<bool> {
    let mut tx = register.begin().await?;
    let n = update.execute(&mut *tx).await?.rows_affected();
    if n == 0 {
        tx.rollback().await?;
        tracing::warn!(
            "outbox item {} ({}): the lease of {:?} (attempt {}) was lost to another worker; nothing changed",
            item.id,
            item.channel,
            item.claimed_by,
            item.attempts
        );
        return Ok(false);
    }
    // A crash here must leave nothing half-written (tests/faults.rs).
    fail::fail_point!("outbox-between-status-and-event", |_| Err(
        crate::error::Error::internal("failpoint outbox-between-status-and-event")
    ));
    if let Some(ev) = event {
        register
            .record_event_in(&mut tx, item.doc_id, ev.kind, ev.detail, ev.actor)
            .await?;
    }
    fail::fail_point!("outbox-before-commit", |_| Err(
        crate::error::Error::internal("failpoint outbox-before-commit")
    ));
    tx.commit().await?;
    Ok(true)
}

/// Marks a claimed item sent and records `event` in the same transaction.
/// False (nothing changed) when the claim's lease was lost.
pub async fn mark_sent(
    register: &Register,
    item: &OutboxItem,
    result: &str,
    event: Option<OutboxEvent<'_>>,
) -> Result<bool> {
    let sql = format!("UPDATE outbox SET state = 'sent', result = $1, sent_at = $2, claimed_by = NULL, claimed_until = NULL WHERE id = $3 AND {}", held(4));
    let q = sqlx::query(&sql)
        .bind(result)
        .bind(store::now_text())
        .bind(item.id)
        .bind(item.claimed_by.as_deref())
        .bind(item.attempts);
    finish(register, item, q, event).await
}

/// Puts a claimed item back in the queue after a temporary failure. False
/// (nothing changed) when the claim's lease was lost.
pub async fn mark_retry(
    register: &Register,
    item: &OutboxItem,
    error: &str,
    next_at: jiff::Timestamp,
) -> Result<bool> {
    let sql = format!("UPDATE outbox SET state = 'queued', last_error = $1, next_attempt_at = $2, claimed_by = NULL, claimed_until = NULL WHERE id = $3 AND {}", held(4));
    let q = sqlx::query(&sql)
        .bind(error)
        .bind(store::ts_text(next_at))
        .bind(item.id)
        .bind(item.claimed_by.as_deref())
        .bind(item.attempts);
    finish(register, item, q, None).await
}

/// Gives up on a claimed item (a permanent failure, or retries exhausted) and
/// records `event` in the same transaction. False (nothing changed) when the
/// claim's lease was lost.
pub async fn mark_failed(
    register: &Register,
    item: &OutboxItem,
    error: &str,
    event: Option<OutboxEvent<'_>>,
) -> Result<bool> {
    let sql = format!("UPDATE outbox SET state = 'failed', last_error = $1, claimed_by = NULL, claimed_until = NULL WHERE id = $2 AND {}", held(3));
    let q = sqlx::query(&sql)
        .bind(error)
        .bind(item.id)
        .bind(item.claimed_by.as_deref())
        .bind(item.attempts);
    finish(register, item, q, event).await
}

/// The lease condition, its two placeholders numbered from `n`: the item is
/// still being sent under the claim it came from (worker and attempt).
fn held(n: usize) -> String {
    format!(
        "state = 'sending' AND claimed_by = ${} AND attempts = ${}",
        n,
        n + 1
    )
}

pub async fn for_document(store: &Store, doc_id: i64) -> Result<Vec<OutboxItem>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM outbox WHERE doc_id = $1 ORDER BY id"
    ))
    .bind(doc_id)
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(store: &Store, id: i64) -> Result<Option<OutboxItem>> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM outbox WHERE id = $1"))
        .bind(id)
        .fetch_optional(&store.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}
