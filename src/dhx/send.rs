//! Sending over DHX: `enqueue` builds the capsule once, stores it in the file
//! store and queues one outbox item per addressee (channel "dhx", a consignmentId
//! fixed per item); `run` is the worker that delivers them with a finite retry
//! schedule. The outcome shows on the document: the outbox row and an audit event
//! (`dhx_delivered` with the receiptId, or `dhx_failed` with the fault code).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::client::{self, Client};
use super::mapping::{self, Addressee, FileWithBytes, Outgoing};
use super::soap::SendOutcome;
use super::{capsule, incoming, FaultCode, CHANNEL};
use crate::app::App;
use crate::error::{Error, Result};
use crate::model::{Channel, Direction, Document};
use crate::outbox::{self, NewOutboxItem, OutboxItem};
use crate::periodic::{Every, Next};

/// The outbox payload of one DHX delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payload {
    pub consignment_id: String,
    pub capsule_sha256: String,
    pub to: String,
    pub reg_no: String,
}

/// One queued delivery, as `docgate dhx send` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct Queued {
    pub outbox_id: i64,
    pub to: String,
    pub consignment_id: String,
}

/// Finds the DHX document this one answers: the incoming DHX documents of its
/// thread, nearest first.
async fn dhx_origin(app: &App, doc: &Document) -> Result<Option<(Document, String)>> {
    let thread = app.register.thread(doc.thread_id).await?;
    let mut cands: Vec<&Document> = thread
        .iter()
        .filter(|d| {
            d.id != doc.id && d.direction == Direction::Incoming && d.channel == Channel::Dhx
        })
        .collect();
    // the parent first, then the latest
    cands.sort_by_key(|d| (Some(d.id) != doc.parent_id, std::cmp::Reverse(d.id)));
    for d in cands {
        if let Some(code) = incoming::sender_of(app, d.id).await? {
            return Ok(Some((d.clone(), code)));
        }
    }
    Ok(None)
}

/// Builds the capsule of a document (for `docgate dhx capsule` and sending).
/// `to` empty: the sender of the DHX document it answers.
pub async fn build_capsule(
    app: &App,
    doc: &Document,
    to: &[String],
) -> Result<(capsule::Capsule, Vec<Addressee>)> {
    let origin = dhx_origin(app, doc).await?;
    let mut addressees: Vec<Addressee> = to
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .map(|code| Addressee { name: None, code })
        .collect();
    if addressees.is_empty() {
        match &origin {
            Some((_, code)) => addressees.push(Addressee { code: code.clone(), name: None }),
            None => {
                return Err(Error::invalid_field(
                    "to",
                    format!(
                        "no addressee for {}: give the addressee's registry code (it does not answer a document received over DHX)",
                        doc.reg_no
                    ),
                ))
            }
        }
    }
    for a in &mut addressees {
        if let Some(name) = super::addressbook::name_of(app, &a.code).await? {
            a.name = Some(name);
        }
    }
    let mut files = Vec::new();
    for f in &doc.files {
        let bytes = app.register.file_bytes(&f.sha256).await?;
        files.push(FileWithBytes {
            file: f.clone(),
            bytes,
        });
    }
    let mut doc = doc.clone();
    let mut initiator = None;
    if let Some((orig, _)) = &origin {
        if doc.their_ref.is_none() {
            doc.their_ref = orig.their_ref.clone();
        }
        if let Some(r) = &orig.their_ref {
            initiator = Some((r.clone(), orig.their_date));
        }
    }
    let out = Outgoing {
        our_code: app.config.agency.registry_code.clone(),
        our_name: app.config.agency.name.clone(),
        addressees: addressees.clone(),
        initiator,
        reply_due: None,
        body: app.register.body(doc.id).await?,
    };
    let c = mapping::document_to_capsule(&doc, &files, &out).map_err(Error::from)?;
    Ok((c, addressees))
}

/// Queues `reg_no` for delivery to each addressee (one item each). Queuing the
/// same capsule to the same addressee again returns the existing item.
pub async fn enqueue(app: &App, reg_no: &str, to: &[String], actor: &str) -> Result<Vec<Queued>> {
    if app.config.agency.registry_code.trim().is_empty() {
        return Err(Error::invalid(
            "agency.registry_code is not configured: it is our DHX address",
        ));
    }
    let doc = app.register.get_by_reg_no(reg_no).await?;
    let (c, addressees) = build_capsule(app, &doc, to).await?;
    let xml = capsule::write(&c).map_err(Error::from)?;
    let mut tx = app.register.begin().await?;
    let sha = app.store.put_file_in(&mut tx, xml.as_bytes()).await?;
    let mut out = Vec::new();
    for a in &addressees {
        let consignment_id = uuid::Uuid::new_v4().to_string();
        let payload = Payload {
            consignment_id: consignment_id.clone(),
            capsule_sha256: sha.clone(),
            to: a.code.clone(),
            reg_no: doc.reg_no.clone(),
        };
        let id = outbox::enqueue_in(
            &mut tx,
            NewOutboxItem {
                doc_id: Some(doc.id),
                channel: CHANNEL.into(),
                recipient: a.code.clone(),
                payload: serde_json::to_value(&payload)
                    .map_err(|e| Error::internal(e.to_string()))?,
                dedup_key: Some(format!("dhx:{}:{}:{}", doc.id, a.code, sha)),
                not_before: None,
            },
        )
        .await?;
        // an existing item keeps its own consignmentId
        let existing: Option<(String,)> =
            sqlx::query_as("SELECT payload FROM outbox WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let consignment_id = existing
            .and_then(|(p,)| serde_json::from_str::<Payload>(&p).ok())
            .map(|p| p.consignment_id)
            .unwrap_or(consignment_id);
        // AvTS § 39(2): sending a restricted document is a release, recorded with
        // the send (a party organisation or not: every release is on record).
        if doc.is_restricted_on(app.register.today()) {
            let party = doc
                .parties
                .iter()
                .any(|p| p.code.as_deref() == Some(a.code.as_str()));
            app.register
                .record_release_in(
                    &mut tx,
                    doc.id,
                    &a.code,
                    &if party {
                        format!("{} sent to the party of the document", doc.reg_no)
                    } else {
                        format!("{} sent to a non-party", doc.reg_no)
                    },
                    "dhx",
                    actor,
                )
                .await?;
        }
        app.register
            .record_event_in(&mut tx, Some(doc.id), "dhx_queued", serde_json::json!({"to": a.code, "consignment_id": consignment_id, "outbox_id": id, "capsule_sha256": sha}), actor)
            .await?;
        out.push(Queued {
            outbox_id: id,
            to: a.code.clone(),
            consignment_id,
        });
    }
    tx.commit().await?;
    Ok(out)
}

/// The next retry delay after `attempts` failed attempts, or None when exhausted.
pub fn retry_delay(schedule: &[Duration], attempts: i64) -> Option<Duration> {
    let i = usize::try_from(attempts.max(1) - 1).ok()?;
    schedule.get(i).copied()
}

/// Delivers one claimed item.
pub async fn deliver(app: &App, http: &Client, item: &OutboxItem) -> Result<()> {
    let payload: Payload = match serde_json::from_value(item.payload.clone()) {
        Ok(p) => p,
        Err(e) => {
            return outbox::mark_failed(
                &app.register,
                item,
                &format!("unreadable dhx payload: {e}"),
                None,
            )
            .await
            .map(|_| ())
        }
    };
    let cfg = &app.config.dhx;
    let xml = match app.store.read_file(&payload.capsule_sha256).await {
        Ok(x) => x,
        Err(e) => {
            return outbox::mark_failed(
                &app.register,
                item,
                &format!("capsule {} unreadable: {e}", payload.capsule_sha256),
                None,
            )
            .await
            .map(|_| ())
        }
    };
    let route = super::addressbook::route_of(app, &payload.to)
        .await?
        .unwrap_or_else(|| super::addressbook::Route {
            member_class: cfg.default_recipient_class.clone(),
            member_code: payload.to.clone(),
            subsystem: "DHX".into(),
            recipient: None,
        });
    let header = client::header_for(
        cfg,
        &app.config.agency.registry_code,
        &route.member_code,
        &route.member_class,
        &route.subsystem,
    );
    let outcome = http
        .send_document(
            &header,
            &payload.consignment_id,
            route.recipient.as_deref(),
            &xml,
        )
        .await;
    let detail = |extra: serde_json::Value| {
        let mut v = serde_json::json!({"to": payload.to, "consignment_id": payload.consignment_id, "outbox_id": item.id, "attempt": item.attempts});
        if let (Some(o), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        v
    };
    let temporary = match outcome {
        Ok(SendOutcome::Receipt(r)) => {
            let event = outbox::OutboxEvent {
                kind: "dhx_delivered",
                detail: detail(serde_json::json!({"receipt_id": r})),
                actor: "dhx",
            };
            let res = format!("delivered: receiptId {r}");
            outbox::mark_sent(&app.register, item, &res, Some(event)).await?;
            return Ok(());
        }
        Ok(SendOutcome::Fault(f)) if f.code == FaultCode::Duplicate => {
            // an earlier attempt got through: the receiver has it exactly once
            let event = outbox::OutboxEvent {
                kind: "dhx_delivered",
                detail: detail(serde_json::json!({"duplicate": true, "message": f.message})),
                actor: "dhx",
            };
            let res = format!("delivered earlier: {f}");
            outbox::mark_sent(&app.register, item, &res, Some(event)).await?;
            return Ok(());
        }
        Ok(SendOutcome::Fault(f)) => {
            let event = outbox::OutboxEvent {
                kind: "dhx_failed",
                detail: detail(
                    serde_json::json!({"fault_code": f.code.as_str(), "message": f.message}),
                ),
                actor: "dhx",
            };
            outbox::mark_failed(&app.register, item, &f.to_string(), Some(event)).await?;
            return Ok(());
        }
        Ok(SendOutcome::SoapFault(m)) => m,
        Err(e) => e,
    };
    match retry_delay(&cfg.retry_schedule, item.attempts) {
        Some(d) => {
            let next =
                jiff::Timestamp::now() + jiff::SignedDuration::try_from(d).unwrap_or_default();
            outbox::mark_retry(&app.register, item, &temporary, next)
                .await
                .map(|_| ())
        }
        None => {
            let msg = format!("gave up after {} attempts: {temporary}", item.attempts);
            let event = outbox::OutboxEvent {
                kind: "dhx_failed",
                detail: detail(serde_json::json!({"fault_code": null, "message": msg})),
                actor: "dhx",
            };
            outbox::mark_failed(&app.register, item, &msg, Some(event)).await?;
            Ok(())
        }
    }
}

/// Claims and delivers due items once; returns how many were handled.
pub async fn run_once(app: &App, http: &Client, worker: &str) -> Result<usize> {
    let lease = app.config.dhx.request_timeout + Duration::from_secs(30);
    let items = outbox::claim(&app.store, CHANNEL, worker, 8, lease).await?;
    for item in &items {
        if let Err(e) = deliver(app, http, item).await {
            tracing::error!("dhx: delivering outbox item {} failed: {e}", item.id);
        }
    }
    Ok(items.len())
}

/// The DHX outbox worker of `docgate serve`. Without a security server URL it
/// only waits for shutdown (items stay queued).
pub async fn run(app: App, shutdown: CancellationToken) -> Result<()> {
    let cfg = app.config.dhx.clone();
    if cfg.security_server_url.trim().is_empty() {
        tracing::info!("dhx: no security_server_url: the DHX sender is off");
        shutdown.cancelled().await;
        return Ok(());
    }
    let http =
        Client::new(&cfg.security_server_url, cfg.request_timeout).map_err(Error::internal)?;
    let worker = format!(
        "dhx-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let mut every = Every::new("dhx outbox worker", cfg.poll_interval);
    while every.tick(&shutdown).await {
        let handled = run_once(&app, &http, &worker).await;
        every.done(handled.map(|n| if n == 0 { Next::Wait } else { Next::Again }));
    }
    Ok(())
}

/// The DHX deliveries of a document (outbox rows).
pub async fn status(app: &App, reg_no: &str) -> Result<Vec<OutboxItem>> {
    let doc = app.register.get_by_reg_no(reg_no).await?;
    Ok(outbox::for_document(&app.store, doc.id)
        .await?
        .into_iter()
        .filter(|i| i.channel == CHANNEL)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_schedule_is_finite() {
        let s = [30, 120, 1200].map(Duration::from_secs);
        assert_eq!(retry_delay(&s, 1), Some(Duration::from_secs(30)));
        assert_eq!(retry_delay(&s, 3), Some(Duration::from_secs(1200)));
        assert_eq!(retry_delay(&s, 4), None);
        assert_eq!(retry_delay(&[], 1), None);
    }
}
