//! The tamper-evident audit chain. Every change to a document is appended as an
//! event whose SHA-256 covers the previous event's hash, the event itself, and a
//! hash of the document's state after the change. The chain is also the change
//! feed: `seq` is contiguous and grows in commit order (appends are serialized).

use std::collections::HashMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::error::{Error, Result};
use crate::model::Event;
use crate::store::rows::{Rows, Value};
use crate::store::{Store, Tx};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of one event: pure, over every stored field and the previous hash.
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    prev_hash: &str,
    seq: i64,
    at: &str,
    doc_id: Option<i64>,
    kind: &str,
    actor: &str,
    detail: &str,
    state_hash: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev_hash,
        &seq.to_string(),
        at,
        &doc_id.map(|d| d.to_string()).unwrap_or_default(),
        kind,
        actor,
        detail,
        state_hash.unwrap_or(""),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The chain head as a transaction sees it, and the events appended through it. A
/// batch keeps one cursor, so the head row is read (and locked) once, and the
/// events and the head are written once per transaction, by [`flush`].
#[derive(Debug)]
pub struct ChainCursor {
    head: Option<(i64, String)>,
    dirty: bool,
    events: Rows,
}

impl Default for ChainCursor {
    fn default() -> ChainCursor {
        ChainCursor {
            head: None,
            dirty: false,
            events: Rows::new(
                "INSERT INTO events (seq, at, doc_id, kind, actor, detail, state_hash, prev_hash, hash)",
                9,
                "",
            ),
        }
    }
}

/// Appends an event inside the transaction and returns its seq. The chain head row
/// is locked first, so appends from every process are serialized.
pub(crate) async fn append_in(
    store: &Store,
    tx: &mut Tx,
    doc_id: Option<i64>,
    kind: &str,
    actor: &str,
    detail: &serde_json::Value,
    state_hash: Option<&str>,
) -> Result<i64> {
    let mut cursor = ChainCursor::default();
    let seq = append_with(
        store,
        tx,
        &mut cursor,
        doc_id,
        kind,
        actor,
        detail,
        state_hash,
    )
    .await?;
    flush(tx, &mut cursor).await?;
    Ok(seq)
}

/// Appends through a cursor (the event is written by [`flush`], which must run
/// before the transaction commits).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn append_with(
    store: &Store,
    tx: &mut Tx,
    cursor: &mut ChainCursor,
    doc_id: Option<i64>,
    kind: &str,
    actor: &str,
    detail: &serde_json::Value,
    state_hash: Option<&str>,
) -> Result<i64> {
    let (prev_seq, prev_hash) = match cursor.head.take() {
        Some(h) => h,
        None => {
            let head_sql = if store.is_postgres() {
                "SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE"
            } else {
                "SELECT seq, hash FROM chain_head WHERE id = 1"
            };
            sqlx::query_as(head_sql).fetch_one(&mut **tx).await?
        }
    };
    let seq = prev_seq + 1;
    let at = crate::store::now_text();
    let detail = serde_json::to_string(detail).map_err(|e| Error::internal(e.to_string()))?;
    let hash = event_hash(
        &prev_hash, seq, &at, doc_id, kind, actor, &detail, state_hash,
    );
    cursor.events.push([
        Value::from(seq),
        Value::from(at),
        Value::from(doc_id),
        Value::from(kind),
        Value::from(actor),
        Value::from(detail),
        Value::from(state_hash.map(str::to_string)),
        Value::from(prev_hash),
        Value::from(hash.clone()),
    ]);
    cursor.head = Some((seq, hash));
    cursor.dirty = true;
    Ok(seq)
}

/// Writes the events appended through the cursor and its position to the chain head.
pub(crate) async fn flush(tx: &mut Tx, cursor: &mut ChainCursor) -> Result<()> {
    cursor.events.insert(tx).await?;
    if let (true, Some((seq, hash))) = (cursor.dirty, &cursor.head) {
        sqlx::query("UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(hash)
            .execute(&mut **tx)
            .await?;
        cursor.dirty = false;
    }
    Ok(())
}

pub(crate) fn event_from_row(r: &sqlx::any::AnyRow) -> Result<Event> {
    let detail: String = r.try_get("detail")?;
    Ok(Event {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        doc_id: r.try_get("doc_id")?,
        kind: r.try_get("kind")?,
        actor: r.try_get("actor")?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
        state_hash: r.try_get("state_hash")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// What `docgate verify` found.
#[derive(Debug, Clone, Serialize, Default)]
pub struct VerifyReport {
    pub ok: bool,
    pub events: i64,
    pub documents: i64,
    pub files: i64,
    /// The first problem found in the chain, if any.
    pub first_broken_event: Option<i64>,
    pub problems: Vec<String>,
}

/// Checks the whole chain, every document's state against its last recorded state
/// hash, and every stored file against its hash.
pub async fn verify(reg: &crate::register::Register) -> Result<VerifyReport> {
    let store = reg.store();
    let mut report = VerifyReport::default();
    let mut last_state: HashMap<i64, String> = HashMap::new();
    // Documents destroyed by an approved disposal list: their files are not read.
    let mut destroyed: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let mut prev_hash = GENESIS.to_string();
    let mut expected_seq = 1i64;
    let mut after = 0i64;
    'outer: loop {
        let rows = sqlx::query(
            "SELECT seq, at, doc_id, kind, actor, detail, state_hash, prev_hash, hash FROM events WHERE seq > $1 ORDER BY seq LIMIT 5000",
        )
        .bind(after)
        .fetch_all(&store.pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let seq: i64 = r.try_get("seq")?;
            let at: String = r.try_get("at")?;
            let doc_id: Option<i64> = r.try_get("doc_id")?;
            let kind: String = r.try_get("kind")?;
            let actor: String = r.try_get("actor")?;
            let detail: String = r.try_get("detail")?;
            let state_hash: Option<String> = r.try_get("state_hash")?;
            let stored_prev: String = r.try_get("prev_hash")?;
            let stored_hash: String = r.try_get("hash")?;
            after = seq;
            report.events += 1;
            if seq != expected_seq {
                report.first_broken_event = Some(expected_seq);
                report.problems.push(format!(
                    "event {expected_seq} is missing from the audit chain (next is {seq})"
                ));
                break 'outer;
            }
            if stored_prev != prev_hash {
                report.first_broken_event = Some(seq);
                report
                    .problems
                    .push(format!("event {seq} does not link to the event before it"));
                break 'outer;
            }
            let h = event_hash(
                &prev_hash,
                seq,
                &at,
                doc_id,
                &kind,
                &actor,
                &detail,
                state_hash.as_deref(),
            );
            if h != stored_hash {
                report.first_broken_event = Some(seq);
                report.problems.push(format!(
                    "event {seq} ({kind}) was altered: its hash does not match"
                ));
                break 'outer;
            }
            if let (Some(d), Some(s)) = (doc_id, state_hash) {
                last_state.insert(d, s);
            }
            if kind == "destroyed" {
                // Disposal (src/lifecycle/disposal.rs): the document's bytes are gone by design.
                if let Some(d) = doc_id {
                    destroyed.insert(d);
                }
            }
            prev_hash = stored_hash;
            expected_seq += 1;
        }
    }
    if report.first_broken_event.is_none() {
        let (head_seq, head_hash): (i64, String) =
            sqlx::query_as("SELECT seq, hash FROM chain_head WHERE id = 1")
                .fetch_one(&store.pool)
                .await?;
        if head_seq != expected_seq - 1 || head_hash != prev_hash {
            report.first_broken_event = Some(expected_seq.min(head_seq.max(1)));
            report.problems.push(format!(
                "the audit chain ends at event {} but its head records event {head_seq}: events were deleted",
                expected_seq - 1
            ));
        }
    }
    // Documents against their last recorded state.
    let mut after_id = 0i64;
    loop {
        let docs = reg.load_page(after_id, 500).await?;
        if docs.is_empty() {
            break;
        }
        for (doc, body) in &docs {
            after_id = doc.id;
            report.documents += 1;
            let now = crate::register::state_hash(doc, body.as_deref());
            match last_state.remove(&doc.id) {
                None => report.problems.push(format!(
                    "document {} ({}) has no registration in the audit chain",
                    doc.reg_no, doc.id
                )),
                Some(s) if s != now => report.problems.push(format!(
                    "document {} was changed outside docgate: it no longer matches its last audit event",
                    doc.reg_no
                )),
                Some(_) => {}
            }
            if destroyed.contains(&doc.id) {
                continue;
            }
            for f in &doc.files {
                report.files += 1;
                match store.files.read_unverified(&store.pool, &f.sha256).await {
                    Ok(bytes) => {
                        let got = crate::store::files::sha256_hex_blocking(&bytes).await;
                        if got != f.sha256 {
                            report.problems.push(format!(
                                "file {} ({}) of document {} is corrupt: its bytes hash to {got}",
                                f.name, f.sha256, doc.reg_no
                            ));
                        }
                    }
                    Err(e) => report
                        .problems
                        .push(format!("file {} of document {}: {e}", f.name, doc.reg_no)),
                }
            }
        }
    }
    let mut missing: Vec<i64> = last_state.into_keys().collect();
    missing.sort_unstable();
    for id in missing {
        report.problems.push(format!(
            "document {id} is recorded in the audit chain but was deleted"
        ));
    }
    report.ok = report.problems.is_empty();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_covers_every_field() {
        let base = event_hash(GENESIS, 1, "t", Some(1), "registered", "a", "{}", Some("s"));
        let variants = [
            event_hash("1", 1, "t", Some(1), "registered", "a", "{}", Some("s")),
            event_hash(GENESIS, 2, "t", Some(1), "registered", "a", "{}", Some("s")),
            event_hash(GENESIS, 1, "u", Some(1), "registered", "a", "{}", Some("s")),
            event_hash(GENESIS, 1, "t", Some(2), "registered", "a", "{}", Some("s")),
            event_hash(GENESIS, 1, "t", None, "registered", "a", "{}", Some("s")),
            event_hash(GENESIS, 1, "t", Some(1), "edited", "a", "{}", Some("s")),
            event_hash(GENESIS, 1, "t", Some(1), "registered", "b", "{}", Some("s")),
            event_hash(
                GENESIS,
                1,
                "t",
                Some(1),
                "registered",
                "a",
                "{ }",
                Some("s"),
            ),
            event_hash(GENESIS, 1, "t", Some(1), "registered", "a", "{}", None),
            // Field boundaries are length-prefixed: moving a character between fields changes the hash.
            event_hash(GENESIS, 1, "t", Some(1), "registereda", "", "{}", Some("s")),
        ];
        for v in variants {
            assert_ne!(v, base);
        }
    }
}
