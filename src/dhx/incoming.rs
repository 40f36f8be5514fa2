//! Receiving a capsule into the register: the one path shared by the DHX
//! endpoint, `docgate dhx import` and the adapter poller. Everything (the
//! document, the receipt row, the audit event) is written in one transaction, so a
//! failure registers nothing; a rejected request is quarantined verbatim.

use serde::Serialize;
use sqlx::Row;

use super::{capsule, mapping, Fault, FaultCode};
use crate::app::App;
use crate::error::Error;
use crate::model::Document;
use crate::store;

/// A registered incoming capsule.
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    pub doc_id: i64,
    pub reg_no: String,
    pub receipt_id: String,
    pub reply_to: Option<String>,
    pub reply_due: Option<String>,
    pub notes: Vec<String>,
}

/// Maps a register error into the DHX fault the sender sees.
pub fn fault_of(e: &Error) -> Fault {
    match e {
        Error::Conflict(m) => Fault::new(FaultCode::Duplicate, m.clone()),
        Error::TooLarge(m) => Fault::too_large(m.clone()),
        Error::Invalid { .. } | Error::NotFound { .. } => Fault::validation(e.to_string()),
        other => Fault::new(FaultCode::Server, format!("the receiver failed: {other}")),
    }
}

/// The receipt of an already received consignment.
pub async fn find_received(
    app: &App,
    client: &str,
    consignment_id: &str,
) -> Result<Option<(i64, String)>, Error> {
    let row = sqlx::query(
        "SELECT doc_id, receipt_id FROM dhx_received WHERE client = $1 AND consignment_id = $2",
    )
    .bind(client)
    .bind(consignment_id)
    .fetch_optional(&app.store.pool)
    .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("doc_id")?, r.try_get("receipt_id")?)),
        None => None,
    })
}

/// The DHX sender (registry code) of a document received over DHX, if any.
pub async fn sender_of(app: &App, doc_id: i64) -> Result<Option<String>, Error> {
    let row =
        sqlx::query("SELECT sender_code FROM dhx_received WHERE doc_id = $1 ORDER BY id LIMIT 1")
            .bind(doc_id)
            .fetch_optional(&app.store.pool)
            .await?;
    Ok(match row {
        Some(r) => r.try_get("sender_code")?,
        None => None,
    })
}

/// Registers a capsule received from `client` as consignment `consignment_id`.
/// `client` None: the capsule's DecSender stands in for the X-Road client.
pub async fn receive(
    app: &App,
    client: Option<&str>,
    consignment_id: &str,
    capsule_xml: &[u8],
    actor: &str,
) -> Result<Received, Fault> {
    receive_with(
        app,
        client,
        consignment_id,
        capsule_xml,
        actor,
        app.config.dhx.read_limits(),
    )
    .await
}

/// [`receive`] with the reading limits given (the endpoint's carry the
/// request's share of the global budget).
pub async fn receive_with(
    app: &App,
    client: Option<&str>,
    consignment_id: &str,
    capsule_xml: &[u8],
    actor: &str,
    limits: capsule::ReadLimits,
) -> Result<Received, Fault> {
    super::budget::take(limits.budget.as_ref(), capsule_xml.len() as u64)?;
    let xml = capsule_xml.to_vec();
    let c = tokio::task::spawn_blocking(move || capsule::read(&xml, &limits))
        .await
        .map_err(|e| Fault::new(FaultCode::Server, format!("capsule reader failed: {e}")))??;
    let client = match client {
        Some(c) => c.to_string(),
        None => format!(
            "DecSender/{}",
            c.transport.dec_sender.organisation_code.trim()
        ),
    };
    if let Some((_, receipt)) = find_received(app, &client, consignment_id)
        .await
        .map_err(|e| fault_of(&e))?
    {
        return Err(Fault::new(
            FaultCode::Duplicate,
            format!("consignment {consignment_id:?} from {client} was already received (receiptId {receipt})"),
        ));
    }
    let our_code = app.config.agency.registry_code.trim();
    if our_code.is_empty() {
        return Err(Fault::new(
            FaultCode::Server,
            "the receiver has no agency.registry_code configured",
        ));
    }
    capsule::check_addressee(&c, our_code)?;
    let today = app.register.today();
    let mut inc = mapping::capsule_to_new_document(&c, today)?;
    // Thread: the first identifier that is one of our registration numbers.
    let mut reply_to = None;
    for cand in &inc.reply_candidates {
        if let Some(d) = app
            .register
            .find_by_reg_no(cand)
            .await
            .map_err(|e| fault_of(&e))?
        {
            reply_to = Some(d.reg_no);
            break;
        }
    }
    inc.doc.reply_to = reply_to.clone();
    // The time of receipt: now, when our endpoint (or the poll) has the capsule.
    let now = jiff::Timestamp::now();
    inc.doc.received_at = Some(now);
    inc.doc.received = Some(app.register.local_date(now));
    inc.doc
        .source_keys
        .push(format!("dhx:{client}:{consignment_id}"));
    // Signed containers among the files are opened as in every other channel
    // (their data files become files of the document); a container whose
    // structure is broken is refused with its reason, so the sender's DHX gets
    // a validation fault and the capsule is quarantined.
    app.register
        .open_containers(&mut inc.doc)
        .await
        .map_err(|e| fault_of(&e))?;
    let capsule_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(capsule_xml));
    let reply_due = inc.reply_due.map(|d| d.to_string());
    let notes = inc.notes.clone();
    let doc: Document = async {
        let mut tx = app.register.begin().await?;
        let doc = app.register.register_in(&mut tx, inc.doc, actor).await?;
        sqlx::query(
            "INSERT INTO dhx_received (client, consignment_id, doc_id, receipt_id, record_guid, sender_code, reply_due, capsule_sha256, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&client)
        .bind(consignment_id)
        .bind(doc.id)
        .bind(&doc.reg_no)
        .bind(&inc.record_guid)
        .bind(&inc.sender_code)
        .bind(&reply_due)
        .bind(&capsule_sha)
        .bind(store::now_text())
        .execute(&mut *tx)
        .await?;
        app.register
            .record_event_in(
                &mut tx,
                Some(doc.id),
                "dhx_received",
                serde_json::json!({
                    "client": client,
                    "consignment_id": consignment_id,
                    "sender": inc.sender_code,
                    "record_guid": inc.record_guid,
                    "record_type": inc.record_type,
                    "reply_due": reply_due,
                    "capsule_sha256": capsule_sha,
                    "notes": notes,
                }),
                actor,
            )
            .await?;
        // Crash window (tests/faults.rs): the document, the receipt row and the
        // event written, not committed.
        fail::fail_point!("dhx-receive-before-commit", |_| Err(Error::internal(
            "failpoint dhx-receive-before-commit"
        )));
        tx.commit().await?;
        Ok::<_, Error>(doc)
    }
    .await
    .map_err(|e| fault_of(&e))?;
    Ok(Received {
        doc_id: doc.id,
        reg_no: doc.reg_no.clone(),
        receipt_id: doc.reg_no,
        reply_to,
        reply_due,
        notes,
    })
}

/// Keeps a rejected request with its reason: one row per SHA-256 of the
/// request (`sha256`, or computed from `raw`), a repeat only counted
/// (`seen_count`, `last_seen_at`); at most `dhx.quarantine_keep_bytes` of the
/// body kept (its true size is `raw_size`), and no body at all once the stored
/// bodies reach `dhx.quarantine_max_bytes` (then the hash, size, reason and time
/// only). Concurrent rejects may pass the limit by one body each.
pub async fn quarantine(
    app: &App,
    client: Option<&str>,
    consignment_id: Option<&str>,
    fault: &Fault,
    raw: Option<&[u8]>,
    raw_size: u64,
    sha256: Option<&str>,
) -> Result<i64, Error> {
    let sha = match (sha256, raw) {
        (Some(s), _) => Some(s.to_string()),
        (None, Some(r)) => Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(r))),
        (None, None) => None,
    };
    let cfg = &app.config.dhx;
    let now = store::now_text();
    let mut kept: Option<Vec<u8>> = None;
    if let Some(r) = raw {
        let keep = (r.len() as u64).min(cfg.quarantine_keep_bytes) as usize;
        let used: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(kept_bytes), 0) AS BIGINT) AS used FROM dhx_quarantine",
        )
        .fetch_one(&app.store.pool)
        .await?
        .try_get("used")?;
        if keep > 0 && (used.max(0) as u64).saturating_add(keep as u64) <= cfg.quarantine_max_bytes
        {
            kept = Some(r[..keep].to_vec());
        }
    }
    let kept_bytes = kept.as_ref().map_or(0, |k| k.len() as i64);
    let row = sqlx::query(
        "INSERT INTO dhx_quarantine (received_at, client, consignment_id, fault_code, reason, raw, raw_size, raw_sha256, kept_bytes, seen_count, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $1) ON CONFLICT (raw_sha256) DO UPDATE SET seen_count = dhx_quarantine.seen_count + 1, last_seen_at = excluded.last_seen_at RETURNING id",
    )
    .bind(&now)
    .bind(client)
    .bind(consignment_id)
    .bind(fault.code.as_str())
    .bind(&fault.message)
    .bind(kept)
    .bind(raw_size as i64)
    .bind(sha)
    .bind(kept_bytes)
    .fetch_one(&app.store.pool)
    .await?;
    Ok(row.try_get("id")?)
}

/// One quarantined request, as `docgate dhx quarantine` lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Quarantined {
    pub id: i64,
    pub fault_code: String,
    pub reason: String,
    /// The request's true size, in bytes.
    pub size: i64,
    /// Bytes of it stored (0: metadata only).
    pub kept_bytes: i64,
    pub sha256: Option<String>,
    /// How many times this request came.
    pub seen_count: i64,
    pub received_at: String,
    pub last_seen_at: Option<String>,
}

/// Quarantined requests with their counters, newest first.
pub async fn quarantined_rows(app: &App) -> Result<Vec<Quarantined>, Error> {
    let rows = sqlx::query(
        "SELECT id, fault_code, reason, raw_size, kept_bytes, raw_sha256, seen_count, received_at, last_seen_at FROM dhx_quarantine ORDER BY id DESC",
    )
    .fetch_all(&app.store.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Quarantined {
                id: r.try_get("id")?,
                fault_code: r.try_get("fault_code")?,
                reason: r.try_get("reason")?,
                size: r.try_get("raw_size")?,
                kept_bytes: r.try_get("kept_bytes")?,
                sha256: r.try_get("raw_sha256")?,
                seen_count: r.try_get("seen_count")?,
                received_at: r.try_get("received_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
            })
        })
        .collect()
}

/// Quarantined requests, newest first: (id, fault code, reason, raw size).
pub async fn quarantined(app: &App) -> Result<Vec<(i64, String, String, i64)>, Error> {
    let rows =
        sqlx::query("SELECT id, fault_code, reason, raw_size FROM dhx_quarantine ORDER BY id DESC")
            .fetch_all(&app.store.pool)
            .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("fault_code")?,
                r.try_get("reason")?,
                r.try_get("raw_size")?,
            ))
        })
        .collect()
}
