//! `docgate reply`: registers an outgoing reply as the follow-up of a document
//! and queues its e-mail in the same transaction.

use serde::Serialize;

use super::smtp::{from_address, new_message_id, MailAttachment, MailPayload};
use super::NewOutboxItem;
use crate::app::App;
use crate::error::{Error, Result};
use crate::model::*;

/// What `reply` did (a contract: `--json` prints this).
#[derive(Debug, Clone, Serialize)]
pub struct ReplyOutcome {
    pub reg_no: String,
    pub reply_to: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub outbox_id: i64,
    pub restricted: bool,
}

/// A file to attach.
pub struct ReplyFile {
    pub name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

fn same_address(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim();
        let s = match (s.rfind('<'), s.rfind('>')) {
            (Some(i), Some(j)) if i < j => &s[i + 1..j],
            _ => s,
        };
        s.to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

/// Registers the reply, ends the original's clock (the reply is a later outgoing
/// document of its thread), and queues the e-mail, all in one transaction. A reply
/// to a restricted document goes only to the document's party and is recorded as
/// a release (AvTS § 39(2)).
pub async fn reply(
    app: &App,
    reg_no: &str,
    body: String,
    files: Vec<ReplyFile>,
    to: Option<String>,
    actor: &str,
) -> Result<ReplyOutcome> {
    reply_titled(app, reg_no, None, None, body, files, to, actor).await
}

/// [`reply`] with its kind (`--reply-kind`): only a final reply, a forwarding
/// or a refusal ends the original's clock; see [`crate::model::ReplyKind`].
pub async fn reply_as(
    app: &App,
    reg_no: &str,
    kind: Option<crate::model::ReplyKind>,
    body: String,
    files: Vec<ReplyFile>,
    to: Option<String>,
    actor: &str,
) -> Result<ReplyOutcome> {
    reply_titled(app, reg_no, None, kind, body, files, to, actor).await
}

/// [`reply`] with the reply's own title (default "Vastus: {original title}"), as
/// the web application's composer gives it.
#[allow(clippy::too_many_arguments)]
pub async fn reply_titled(
    app: &App,
    reg_no: &str,
    title: Option<&str>,
    kind: Option<crate::model::ReplyKind>,
    body: String,
    files: Vec<ReplyFile>,
    to: Option<String>,
    actor: &str,
) -> Result<ReplyOutcome> {
    let orig = app.register.get_by_reg_no(reg_no).await?;
    let mut tx = app.register.begin().await?;
    let out = reply_in(app, &mut tx, &orig, title, kind, body, files, to, actor).await?;
    tx.commit().await?;
    Ok(out)
}

/// [`reply_titled`] inside the caller's transaction, to the document `orig`.
#[allow(clippy::too_many_arguments)]
pub async fn reply_in(
    app: &App,
    tx: &mut crate::store::Tx,
    orig: &Document,
    title: Option<&str>,
    kind: Option<crate::model::ReplyKind>,
    body: String,
    files: Vec<ReplyFile>,
    to: Option<String>,
    actor: &str,
) -> Result<ReplyOutcome> {
    let reg_no = orig.reg_no.as_str();
    if body.trim().is_empty() {
        return Err(Error::invalid_field("body", "the reply text is empty"));
    }
    let party_addrs: Vec<&Party> = orig
        .parties
        .iter()
        .filter(|p| p.email.as_deref().is_some_and(|e| !e.trim().is_empty()))
        .collect();
    let today = app.register.today();
    let restricted = orig.is_restricted_on(today);
    let to = match to {
        Some(t) => {
            let t = t.trim().to_string();
            if !t.contains('@') {
                return Err(Error::invalid_field(
                    "to",
                    format!("{t:?} is not an e-mail address"),
                ));
            }
            if restricted
                && !party_addrs
                    .iter()
                    .any(|p| same_address(p.email.as_deref().unwrap_or(""), &t))
            {
                return Err(Error::Forbidden(format!(
                    "document {reg_no} is restricted ({}): a reply goes only to the document's party, not to {t}",
                    orig.restriction.as_ref().map(|r| r.ground.as_str()).unwrap_or("AK")
                )));
            }
            t
        }
        None => party_addrs
            .iter()
            .find(|p| p.role == PartyRole::Sender)
            .or(party_addrs.first())
            .and_then(|p| p.email.clone())
            .ok_or_else(|| {
                Error::invalid_field(
                    "to",
                    format!(
                        "document {reg_no} has no party with an e-mail address: give the recipient"
                    ),
                )
            })?,
    };
    let party = party_addrs
        .iter()
        .find(|p| same_address(p.email.as_deref().unwrap_or(""), &to))
        .map(|p| (*p).clone());
    let from = from_address(app);
    let message_id = new_message_id(&from);

    let title = match title.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => t.to_string(),
        None => format!("Vastus: {}", orig.title),
    };
    let mut new = NewDocument::new(Direction::Outgoing, Channel::Email, title);
    new.series = Some(orig.series.clone());
    new.reply_to = Some(orig.reg_no.clone());
    new.reply_kind = kind;
    new.their_ref = orig.their_ref.clone();
    new.responsible = orig.responsible.clone();
    new.unit = orig.unit.clone();
    new.body = Some(body.clone());
    new.message_id = Some(message_id.clone());
    new.source_keys = vec![format!("msgid:{message_id}")];
    new.parties = vec![match party {
        Some(p) => Party {
            role: PartyRole::Recipient,
            ..p
        },
        None => Party {
            kind: PartyKind::Person,
            role: PartyRole::Recipient,
            name: to.clone(),
            code: None,
            email: Some(to.clone()),
        },
    }];
    if restricted {
        let r = orig.restriction.as_ref().expect("restricted");
        new.restriction = Some(NewRestriction {
            end_by: Default::default(),
            ground: r.ground.clone(),
            ends: r.ends,
            holder: Some(r.holder.clone()),
            begins: None,
        });
        new.contains_personal_data = orig.contains_personal_data;
    }
    new.files = files
        .into_iter()
        .map(|f| NewFile::new(f.name, f.media_type, f.bytes))
        .collect();

    let doc = app.register.register_in(tx, new, actor).await?;
    let subject = match &orig.their_ref {
        Some(r) if !r.trim().is_empty() => {
            format!(
                "Meie nr {} / Teie nr {}: {}",
                doc.reg_no,
                r.trim(),
                orig.title
            )
        }
        _ => format!("Meie nr {}: {}", doc.reg_no, orig.title),
    };
    let payload = MailPayload {
        from,
        to: vec![to.clone()],
        subject: subject.clone(),
        body,
        message_id: message_id.clone(),
        in_reply_to: orig.message_id.clone(),
        references: orig.message_id.clone().into_iter().collect(),
        attachments: doc
            .files
            .iter()
            .map(|f| MailAttachment {
                name: f.name.clone(),
                media_type: f.media_type.clone(),
                sha256: f.sha256.clone(),
            })
            .collect(),
    };
    let outbox_id = super::enqueue_in(
        tx,
        NewOutboxItem {
            doc_id: Some(doc.id),
            channel: "email".into(),
            recipient: to.clone(),
            payload: serde_json::to_value(&payload)
                .map_err(|e| Error::internal(format!("payload: {e}")))?,
            dedup_key: Some(format!("reply:{}", doc.id)),
            not_before: None,
        },
    )
    .await?;
    if restricted {
        app.register
            .record_release_in(
                tx,
                doc.id,
                &to,
                &format!("reply {} to the party of the document", doc.reg_no),
                "e-mail",
                actor,
            )
            .await?;
    }
    Ok(ReplyOutcome {
        reg_no: doc.reg_no,
        reply_to: orig.reg_no.clone(),
        to,
        subject,
        message_id,
        outbox_id,
        restricted,
    })
}
