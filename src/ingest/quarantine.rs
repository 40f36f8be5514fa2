//! Quarantine: input that cannot be registered is kept verbatim with its reason,
//! once (keyed by its SHA-256), and can be listed, shown and retried.

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
}

const COLS: &str = "id, source, reason, sha256, size, created_at, attempts, state, doc_id";

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
    })
}

/// Keeps `raw` with its reason; the same bytes twice are kept once. Returns the
/// id and whether it is new.
pub async fn put(store: &Store, source: &str, raw: &[u8], reason: &str) -> Result<(i64, bool)> {
    let sha = sha256_hex(raw);
    let mut tx = store.begin_write().await?;
    let res = sqlx::query(
        "INSERT INTO ingest_quarantine (source, reason, sha256, size, raw, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(source)
    .bind(reason)
    .bind(&sha)
    .bind(raw.len() as i64)
    .bind(raw.to_vec())
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
    let (it, raw) = get(&app.store, id).await?;
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
