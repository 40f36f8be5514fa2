//! Integration points with the other parts (text extraction, search, deadlines,
//! outbox). Each function here is the ONE place the web layer calls into them,
//! so that wiring a part in as it lands touches only this file.

use serde::Serialize;

use super::auth::User;
use super::error::WebResult;
use super::view::DocView;
use super::WebState;
use crate::model::{Channel, Document, NewDocument, NewFile, TextStatus};

/// A file handed to the register, with its text extracted where we can.
/// INTEGRATION: crate::extract (PDF, HTML, mail) when it lands; until then plain text only.
pub async fn new_file(name: String, media_type: String, bytes: Vec<u8>) -> NewFile {
    let mut f = NewFile::new(name, media_type.clone(), bytes);
    if media_type.starts_with("text/plain") {
        if let Ok(s) = std::str::from_utf8(&f.bytes) {
            f.text = Some(s.to_string());
            f.text_status = TextStatus::Extracted;
        }
    }
    f
}

/// What the outbox holds for a document, as the pages and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxView {
    pub id: i64,
    pub channel: String,
    pub recipient: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
}

pub async fn outbox_of(state: &WebState, doc_id: i64) -> WebResult<Vec<OutboxView>> {
    Ok(crate::outbox::for_document(&state.app.store, doc_id)
        .await?
        .into_iter()
        .map(|o| OutboxView {
            id: o.id,
            channel: o.channel,
            recipient: o.recipient,
            state: o.state,
            attempts: o.attempts,
            last_error: o.last_error,
            sent_at: o.sent_at,
        })
        .collect())
}

/// Registers an outgoing document and queues it for sending in ONE transaction
/// (e-mail or DHX; post and hand delivery queue nothing).
pub async fn register_and_send(
    state: &WebState,
    nd: NewDocument,
    user: &User,
) -> WebResult<(Document, Vec<OutboxView>)> {
    let channel = nd.channel;
    let parent_msgid = match &nd.reply_to {
        Some(r) => state
            .app
            .register
            .find_by_reg_no(r)
            .await?
            .and_then(|d| d.message_id),
        None => None,
    };
    let body = nd.body.clone().unwrap_or_default();
    let mut tx = state.app.register.begin().await?;
    let doc = state
        .app
        .register
        .register_in(&mut tx, nd, &user.name)
        .await?;
    let recipient = match channel {
        Channel::Email => doc
            .parties
            .iter()
            .find_map(|p| p.email.clone())
            .unwrap_or_default(),
        Channel::Dhx => doc
            .parties
            .iter()
            .find_map(|p| p.code.clone().filter(|c| crate::model::is_registry_code(c)))
            .unwrap_or_default(),
        _ => String::new(),
    };
    if matches!(channel, Channel::Email | Channel::Dhx) {
        if recipient.is_empty() {
            return Err(super::error::WebError::invalid(format!(
                "invalid recipient: the reply has no {} address; give one in recipient",
                if channel == Channel::Dhx {
                    "dhx (registry code)"
                } else {
                    "e-mail"
                }
            )));
        }
        crate::outbox::enqueue_in(
            &mut tx,
            crate::outbox::NewOutboxItem {
                doc_id: Some(doc.id),
                channel: channel.as_str().into(),
                recipient: recipient.clone(),
                payload: serde_json::json!({
                    "doc_id": doc.id,
                    "reg_no": doc.reg_no,
                    "subject": format!("{} (nr {})", doc.title, doc.reg_no),
                    "body": body,
                    "to": recipient,
                    "in_reply_to": parent_msgid,
                }),
                dedup_key: Some(format!("reply:{}", doc.id)),
                not_before: None,
            },
        )
        .await?;
    }
    tx.commit().await.map_err(crate::error::Error::from)?;
    let out = outbox_of(state, doc.id).await?;
    Ok((doc, out))
}

/// A document's deadline with the trace of how it was computed.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlineView {
    pub document_id: i64,
    /// False until the deadline part is wired in.
    pub available: bool,
    pub rule: Option<String>,
    pub due: Option<jiff::civil::Date>,
    /// "none" (no reply needed), "open", "due_soon", "overdue", "answered", "unknown".
    pub status: String,
    pub trace: Vec<String>,
}

/// INTEGRATION: crate::deadline (its per-document state and trace) when it lands.
pub async fn deadline_of(_state: &WebState, d: &Document) -> WebResult<DeadlineView> {
    Ok(DeadlineView {
        document_id: d.id,
        available: false,
        rule: d.doc_type.clone(),
        due: None,
        status: if d.doc_type.is_some() {
            "unknown"
        } else {
            "none"
        }
        .into(),
        trace: vec![],
    })
}

/// One open deadline on the dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct DueItem {
    pub document: DocView,
    pub due: jiff::civil::Date,
    /// Negative when overdue.
    pub days_left: i64,
    pub responsible: Option<String>,
    pub status: String,
}

/// Open deadlines that are overdue or due soon.
/// INTEGRATION: crate::deadline when it lands; until then none are known.
pub async fn overdue(_state: &WebState) -> WebResult<Vec<DueItem>> {
    Ok(vec![])
}

/// On-time replies per month ("YYYY-MM" → (on time, late)).
/// INTEGRATION: crate::deadline when it lands.
pub async fn on_time_by_month(
    _state: &WebState,
    _from: jiff::civil::Date,
    _to: jiff::civil::Date,
) -> WebResult<Option<std::collections::BTreeMap<String, (i64, i64)>>> {
    Ok(None)
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub document: DocView,
    /// HTML: the text around the match, escaped, with `<mark>` around the terms;
    /// none when the document is restricted and this user may not see it.
    pub snippet_html: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchOutcome {
    pub query: String,
    pub total: i64,
    pub items: Vec<SearchHit>,
}

/// Full-text search for a logged-in user.
/// INTEGRATION: crate::search (tantivy) when it lands; until then a database scan.
pub async fn search(
    state: &WebState,
    user: &User,
    q: &str,
    limit: i64,
    offset: i64,
) -> WebResult<SearchOutcome> {
    let q = q.trim();
    if q.is_empty() {
        return Err(super::error::WebError::invalid(
            "invalid q: the query is empty",
        ));
    }
    let unit = user.unit.clone().unwrap_or_default();
    let scope = if user.role.sees_all_restricted() {
        super::query::Scope::All
    } else {
        super::query::Scope::Staff {
            name: &user.name,
            unit: &unit,
        }
    };
    let (ids, total) = super::query::scan_search(state, q, scope, limit, offset).await?;
    let today = state.today();
    let mut items = Vec::new();
    for id in ids {
        let d = state.app.register.get(id).await?;
        let visible = state.can_see(user, &d).await?;
        let snippet_html = if visible {
            let text = format!(
                "{}\n{}",
                d.title,
                state.app.register.body(d.id).await?.unwrap_or_default()
            );
            Some(super::query::snippet(&text, q, 160))
        } else {
            None
        };
        items.push(SearchHit {
            document: DocView::new(&d, today, visible),
            snippet_html,
        });
    }
    Ok(SearchOutcome {
        query: q.to_string(),
        total,
        items,
    })
}

/// True once the deadline part is wired in.
pub fn deadlines_available() -> bool {
    false
}

/// Document types (deadline rules) offered in the inbox: (rule id, name).
/// INTEGRATION: crate::deadline's rule set when it lands.
pub fn doc_types(_state: &WebState) -> Vec<(String, String)> {
    [
        ("avts-teabenoue", "teabenõue"),
        ("msvs-selgitustaotlus", "märgukiri / selgitustaotlus"),
        ("msvs-edastamine", "pöördumise edastamine"),
        ("oas-huvitis", "vägivallakuriteo ohvri hüvitise taotlus"),
        (
            "oas-huvitis-el",
            "hüvitise taotlus teises ELi riigis elavalt ohvrilt",
        ),
        ("sus-otsus", "sotsiaalkaitse hüvitise otsus"),
        ("oas-vaimne-tervis", "vaimse tervise abi taotlus"),
        ("hms-vaie", "vaie"),
        ("sus-vaie", "vaie sotsiaalkaitses"),
        ("gdpr-paring", "andmesubjekti taotlus"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}
