//! Notices to everyone who received a document when its restriction is set or
//! lifted (AvTS § 41 lg 4 on setting, § 42 lg 3 on lifting): one outbox item per
//! recipient, queued in the transaction that changes the restriction, each
//! recorded in the audit chain (`restriction_notice`).
//!
//! Recipients are read from the release log (`released` events: e-mail and
//! DHX releases of a restricted document) and from the document's own outbox
//! items (every e-mail and DHX send, restricted or not).

use std::collections::BTreeSet;

use sqlx::Row;

use crate::error::{Error, Result};
use crate::model::Document;
use crate::outbox::smtp::MailPayload;
use crate::outbox::NewOutboxItem;
use crate::register::Register;
use crate::store::Tx;

/// Who received a document, by channel: ("email", address) or ("dhx", registry code).
pub async fn recipients_in(tx: &mut Tx, doc_id: i64) -> Result<BTreeSet<(String, String)>> {
    let mut out = BTreeSet::new();
    let rows = sqlx::query(
        "SELECT detail FROM events WHERE doc_id = $1 AND kind = 'released' ORDER BY seq LIMIT 10000",
    )
    .bind(doc_id)
    .fetch_all(&mut **tx)
    .await?;
    for r in rows {
        let detail: String = r.try_get("detail")?;
        let v: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
        let to = v["to"].as_str().unwrap_or("").trim().to_string();
        let how = v["how"].as_str().unwrap_or("").to_lowercase();
        if let Some(c) = channel_of(&to, &how) {
            out.insert((c.to_string(), to));
        }
    }
    let rows = sqlx::query(
        "SELECT channel, recipient, payload FROM outbox WHERE doc_id = $1 AND channel IN ('email', 'dhx') ORDER BY id LIMIT 10000",
    )
    .bind(doc_id)
    .fetch_all(&mut **tx)
    .await?;
    for r in rows {
        let channel: String = r.try_get("channel")?;
        let recipient: String = r.try_get("recipient")?;
        let payload: String = r.try_get("payload")?;
        // Our own notices are not receipts of the document.
        if payload.contains("\"restriction_notice\"") {
            continue;
        }
        if channel == "email" {
            for a in recipient
                .split(',')
                .map(str::trim)
                .filter(|a| a.contains('@'))
            {
                out.insert(("email".into(), a.to_string()));
            }
        } else if !recipient.trim().is_empty() {
            out.insert(("dhx".into(), recipient.trim().to_string()));
        }
    }
    Ok(out)
}

/// The channel of a released-to recipient: an address is e-mail, an 8-digit code DHX.
fn channel_of(to: &str, how: &str) -> Option<&'static str> {
    if to.contains('@') {
        Some("email")
    } else if crate::model::is_registry_code(to) || how.contains("dhx") {
        (!to.is_empty()).then_some("dhx")
    } else {
        None
    }
}

/// The notice's text, Estonian first.
pub fn notice_text(doc: &Document, action: &str, agency: &str) -> (String, String) {
    let subject = match action {
        "restricted" => format!(
            "Juurdepääsupiirang: {} / Access restriction set",
            doc.reg_no
        ),
        _ => format!(
            "Juurdepääsupiirang lõpetatud: {} / Access restriction lifted",
            doc.reg_no
        ),
    };
    let body = match (action, &doc.restriction) {
        ("restricted", Some(r)) => format!(
            "Tere\n\n{agency} tunnistas teile edastatud dokumendi {} asutusesiseseks kasutamiseks (AK).\nAlus: {}\nKehtib kuni: {}\nTeabevaldaja: {}\n\nPalume piirangut arvestada (AvTS § 41 lg 4).\n\n--\nThe document {} you received has been restricted for internal use (ground {}, until {}).\n",
            doc.reg_no, r.ground, r.ends, r.holder, doc.reg_no, r.ground, r.ends
        ),
        _ => format!(
            "Tere\n\n{agency} lõpetas teile edastatud dokumendi {} juurdepääsupiirangu (AvTS § 42 lg 3).\n\n--\nThe access restriction of the document {} you received has been lifted.\n",
            doc.reg_no, doc.reg_no
        ),
    };
    (subject, body)
}

/// Queues a notice to each recipient of `doc` (its restriction just set or
/// lifted: `action` "restricted" or "lifted") and records each in the chain.
/// E-mail recipients get an e-mail (sent by the SMTP worker). DHX recipients
/// get an item on channel `dhx_notice` carrying the notice's text: the DHX
/// worker sends only registered capsules, so these wait in the outbox for the
/// clerk to send the notice as a registered letter.
pub async fn queue_in(
    reg: &Register,
    tx: &mut Tx,
    doc: &Document,
    action: &str,
    actor: &str,
) -> Result<usize> {
    let recipients = recipients_in(tx, doc.id).await?;
    if recipients.is_empty() {
        return Ok(0);
    }
    let cfg = reg.config();
    let from = if cfg.outbox.smtp.from.is_empty() {
        cfg.agency
            .own_addresses
            .first()
            .cloned()
            .unwrap_or_else(|| "docgate@localhost".into())
    } else {
        cfg.outbox.smtp.from.clone()
    };
    let (subject, body) = notice_text(doc, action, &cfg.agency.name);
    // One notice per change: the change's event is the last one of the document.
    let (seq,): (i64,) =
        sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM events WHERE doc_id = $1")
            .bind(doc.id)
            .fetch_one(&mut **tx)
            .await?;
    for (channel, to) in &recipients {
        let payload = if channel == "email" {
            let mut v = serde_json::to_value(MailPayload {
                from: from.clone(),
                to: vec![to.clone()],
                subject: subject.clone(),
                body: body.clone(),
                message_id: crate::outbox::smtp::new_message_id(&from),
                in_reply_to: None,
                references: doc.message_id.clone().into_iter().collect(),
                attachments: Vec::new(),
            })
            .map_err(|e| Error::internal(e.to_string()))?;
            v["kind"] = serde_json::json!("restriction_notice");
            v
        } else {
            serde_json::json!({
                "kind": "restriction_notice", "to": to, "reg_no": doc.reg_no,
                "action": action, "subject": subject, "body": body,
            })
        };
        let queue = if channel == "email" {
            "email"
        } else {
            "dhx_notice"
        };
        let id = crate::outbox::enqueue_in(
            tx,
            NewOutboxItem {
                doc_id: Some(doc.id),
                channel: queue.into(),
                recipient: to.clone(),
                payload,
                dedup_key: Some(format!(
                    "restriction-notice:{}:{seq}:{channel}:{to}",
                    doc.id
                )),
                not_before: None,
            },
        )
        .await?;
        reg.record_event_in(
            tx,
            Some(doc.id),
            "restriction_notice",
            serde_json::json!({
                "to": to, "channel": queue, "action": action, "outbox_id": id,
                "basis": if action == "restricted" { "AvTS § 41 lg 4" } else { "AvTS § 42 lg 3" },
            }),
            actor,
        )
        .await?;
    }
    Ok(recipients.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_of_table() {
        for (to, how, want) in [
            ("mari@example.ee", "e-mail", Some("email")),
            ("70008747", "dhx", Some("dhx")),
            ("70008747", "", Some("dhx")),
            ("Politsei", "dhx", Some("dhx")),
            ("Mari Maasikas", "käsitsi", None),
            ("", "dhx", None),
        ] {
            assert_eq!(channel_of(to, how), want, "{to} {how}");
        }
    }
}
