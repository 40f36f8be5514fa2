//! Quarantine: input that cannot be registered is kept verbatim with its reason,
//! once (keyed by its SHA-256), and can be listed, shown and retried. Input too
//! large for a row, or that broke ingest, is kept by metadata: its bytes stay
//! where the source set them aside (`kept_at`, see [`super::fault`]).

use serde::Serialize;
use sqlx::Row;

use crate::app::App;
use crate::error::{Error, Result};
use crate::extract::mail::sha256_hex;
use crate::model::Channel;
use crate::store::Store;

use super::mail::{self, Outcome};

/// One quarantined item (without its bytes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub id: i64,
    pub source: String,
    pub reason: String,
    pub sha256: String,
    pub size: i64,
    pub created_at: String,
    pub attempts: i64,
    pub state: String,
    pub doc_id: Option<i64>,
    /// Where the bytes are kept when they are not in the row (a path, or the
    /// IMAP message left on the server).
    pub kept_at: Option<String>,
}

const COLS: &str = "id, source, reason, sha256, size, created_at, attempts, state, doc_id, kept_at";

fn item(r: &sqlx::any::AnyRow) -> Result<Item> {
    Ok(Item {
        id: r.try_get("id")?,
        source: r.try_get("source")?,
        reason: r.try_get("reason")?,
        sha256: r.try_get("sha256")?,
        size: r.try_get("size")?,
        created_at: r.try_get("created_at")?,
        attempts: r.try_get("attempts")?,
        state: r.try_get("state")?,
        doc_id: r.try_get("doc_id")?,
        kept_at: r.try_get("kept_at")?,
    })
}

/// Keeps `raw` with its reason; the same bytes twice are kept once. Returns the
/// id and whether it is new.
pub async fn put(store: &Store, source: &str, raw: Vec<u8>, reason: &str) -> Result<(i64, bool)> {
    let sha = sha256_hex(&raw);
    let size = raw.len() as i64;
    let mut tx = store.begin_write().await?;
    let res = sqlx::query(
        "INSERT INTO ingest_quarantine (source, reason, sha256, size, raw, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(source)
    .bind(reason)
    .bind(&sha)
    .bind(size)
    .bind(raw)
    .bind(crate::store::now_text())
    .execute(&mut *tx)
    .await?;
    let fresh = res.rows_affected() == 1;
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM ingest_quarantine WHERE sha256 = $1")
        .bind(&sha)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    if fresh {
        tracing::warn!("quarantined {source} as item {id}: {reason}");
    }
    Ok((id, fresh))
}

/// Keeps an item by metadata only: its source, SHA-256 (`unread:<source>` when
/// it was never downloaded), size, reason and where its bytes are kept; the
/// same hash twice is kept once. Returns the id and whether it is new.
pub async fn put_aside(
    store: &Store,
    source: &str,
    sha256: &str,
    size: u64,
    reason: &str,
    kept_at: &str,
) -> Result<(i64, bool)> {
    let mut tx = store.begin_write().await?;
    let res = sqlx::query(
        "INSERT INTO ingest_quarantine (source, reason, sha256, size, raw, created_at, kept_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(source)
    .bind(reason)
    .bind(sha256)
    .bind(i64::try_from(size).unwrap_or(i64::MAX))
    .bind(Vec::<u8>::new())
    .bind(crate::store::now_text())
    .bind(kept_at)
    .execute(&mut *tx)
    .await?;
    let fresh = res.rows_affected() == 1;
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM ingest_quarantine WHERE sha256 = $1")
        .bind(sha256)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    if fresh {
        tracing::warn!("set {source} aside as quarantine item {id} (kept at {kept_at}): {reason}");
    }
    Ok((id, fresh))
}

/// Items still held (not released by a successful retry), oldest first.
pub async fn list(store: &Store, all: bool) -> Result<Vec<Item>> {
    let w = if all { "" } else { "WHERE state = 'held'" };
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM ingest_quarantine {w} ORDER BY id"
    ))
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(item).collect()
}

pub async fn get(store: &Store, id: i64) -> Result<(Item, Vec<u8>)> {
    let row = sqlx::query(&format!(
        "SELECT {COLS}, raw FROM ingest_quarantine WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&store.pool)
    .await?
    .ok_or_else(|| Error::not_found(format!("quarantine item {id} not found")))?;
    let raw: Vec<u8> = row.try_get("raw")?;
    Ok((item(&row)?, raw))
}

/// Tries to register a quarantined item again (after the limits were raised, or a
/// fix). Registered or duplicate: the item is released. Still failing: its reason
/// is updated and it stays.
pub async fn retry(app: &App, id: i64) -> Result<Outcome> {
    let (it, mut raw) = get(&app.store, id).await?;
    if raw.is_empty() {
        // Kept by metadata: read the bytes where they were set aside.
        let kept = it.kept_at.clone().unwrap_or_default();
        raw = tokio::fs::read(&kept).await.map_err(|e| {
            Error::Conflict(format!(
                "quarantine item {id}: the bytes are kept at {kept:?} and cannot be read there ({e})"
            ))
        })?;
    }
    if it.state != "held" {
        return Err(Error::Conflict(format!(
            "quarantine item {id} was already released (document {})",
            it.doc_id.map(|d| d.to_string()).unwrap_or_default()
        )));
    }
    let name = it.source.rsplit('/').next().unwrap_or("item").to_string();
    let outcome = if mail::looks_like_mail(&name, &raw) || !name.contains('.') {
        retry_message(app, raw).await?
    } else {
        match mail::prepare_file(app, &name, raw, Channel::Post).await {
            Ok(p) => mail::register_prepared(app, p, &it.source).await?,
            Err((_, reason)) => Outcome::Quarantined { id, reason },
        }
    };
    let mut tx = app.store.begin_write().await?;
    match &outcome {
        Outcome::Registered { doc_id, .. } | Outcome::Duplicate { doc_id, .. } => {
            sqlx::query("UPDATE ingest_quarantine SET state = 'released', doc_id = $1, attempts = attempts + 1 WHERE id = $2")
                .bind(doc_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        Outcome::Quarantined { reason, .. } => {
            sqlx::query(
                "UPDATE ingest_quarantine SET reason = $1, attempts = attempts + 1 WHERE id = $2",
            )
            .bind(reason)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(match outcome {
        Outcome::Quarantined { reason, .. } => Outcome::Quarantined { id, reason },
        o => o,
    })
}

async fn retry_message(app: &App, raw: Vec<u8>) -> Result<Outcome> {
    match mail::prepare_mail(app, raw, None, Channel::Email).await {
        Ok(p) => mail::register_prepared(app, p, "quarantine").await,
        Err((_, reason)) => Ok(Outcome::Quarantined { id: 0, reason }),
    }
}
