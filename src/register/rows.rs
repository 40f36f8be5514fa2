//! The rows of the register's tables and the model's types, both ways.

use super::*;

pub(super) const DOC_COLS: &str = "id, reg_no, series, direction, channel, doc_type, kind, r_until_decision, title, public_title, their_ref, their_date, thread_id, parent_id, received, registered_at, registered, responsible, unit, r_ground, r_holder, r_begins, r_ends, r_marked, r_extended, message_id, personal_data, proposed_ground, needs_review, reply_kind, received_at";

pub(super) fn opt_date(s: Option<String>) -> Result<Option<Date>> {
    s.map(|s| {
        s.parse::<Date>()
            .map_err(|e| Error::internal(format!("bad stored date {s:?}: {e}")))
    })
    .transpose()
}

pub(super) fn doc_from_row(r: &sqlx::any::AnyRow) -> Result<Document> {
    let restriction = match r.try_get::<Option<String>, _>("r_ground")? {
        Some(ground) => Some(Restriction {
            ground,
            holder: r
                .try_get::<Option<String>, _>("r_holder")?
                .unwrap_or_default(),
            begins: opt_date(r.try_get("r_begins")?)?.unwrap_or_default(),
            ends: opt_date(r.try_get("r_ends")?)?.unwrap_or_default(),
            marked: opt_date(r.try_get("r_marked")?)?.unwrap_or_default(),
            extended: r.try_get::<i64, _>("r_extended")? != 0,
            until_decision: r.try_get("r_until_decision")?,
        }),
        None => None,
    };
    let direction: String = r.try_get("direction")?;
    let channel: String = r.try_get("channel")?;
    let registered: String = r.try_get("registered")?;
    let registered_at: String = r.try_get("registered_at")?;
    Ok(Document {
        id: r.try_get("id")?,
        reg_no: r.try_get("reg_no")?,
        series: r.try_get("series")?,
        direction: direction.parse()?,
        channel: channel.parse()?,
        doc_type: r.try_get("doc_type")?,
        kind: r.try_get("kind")?,
        title: r.try_get("title")?,
        public_title: r.try_get("public_title")?,
        parties: Vec::new(),
        their_ref: r.try_get("their_ref")?,
        their_date: opt_date(r.try_get("their_date")?)?,
        thread_id: r.try_get("thread_id")?,
        parent_id: r.try_get("parent_id")?,
        received: opt_date(r.try_get("received")?)?,
        registered_at: store::parse_ts(&registered_at)?,
        registered: opt_date(Some(registered))?.unwrap_or_default(),
        responsible: r.try_get("responsible")?,
        unit: r.try_get("unit")?,
        restriction,
        files: Vec::new(),
        message_id: r.try_get("message_id")?,
        contains_personal_data: r.try_get::<i64, _>("personal_data")? != 0,
        proposed_ground: r.try_get("proposed_ground")?,
        needs_review: r.try_get::<i64, _>("needs_review")? != 0,
        reply_kind: r
            .try_get::<Option<String>, _>("reply_kind")?
            .map(|k| k.parse())
            .transpose()?,
        received_at: r
            .try_get::<Option<String>, _>("received_at")?
            .map(|t| store::parse_ts(&t))
            .transpose()?,
    })
}

pub(super) fn party_row(doc_id: i64, pos: usize, p: &Party) -> [Value; 7] {
    [
        Value::from(doc_id),
        Value::from(pos as i64),
        Value::from(p.kind.as_str()),
        Value::from(p.role.as_str()),
        Value::from(p.name.as_str()),
        Value::from(&p.code),
        Value::from(&p.email),
    ]
}

pub(super) fn party_from_row(r: &sqlx::any::AnyRow) -> Result<Party> {
    let kind: String = r.try_get("kind")?;
    let role: String = r.try_get("role")?;
    Ok(Party {
        kind: PartyKind::from_stored(&kind),
        role: PartyRole::from_stored(&role),
        name: r.try_get("name")?,
        code: r.try_get("code")?,
        email: r.try_get("email")?,
    })
}

pub(super) fn file_from_row(r: &sqlx::any::AnyRow) -> Result<FileRef> {
    Ok(FileRef {
        name: r.try_get("name")?,
        media_type: r.try_get("media_type")?,
        size: r.try_get::<i64, _>("size")? as u64,
        sha256: r.try_get("sha256")?,
    })
}

/// A new document's row of `documents`: each column named beside its value,
/// so that the statement's columns and the values cannot drift apart
/// ([`Rows::push_named`]).
pub(super) fn document_row(doc: &Document, body: Option<&str>) -> [(&'static str, Value); 32] {
    let r = doc.restriction.as_ref();
    [
        ("id", Value::from(doc.id)),
        ("reg_no", Value::from(doc.reg_no.as_str())),
        ("series", Value::from(doc.series.as_str())),
        ("direction", Value::from(doc.direction.as_str())),
        ("channel", Value::from(doc.channel.as_str())),
        ("doc_type", Value::from(&doc.doc_type)),
        ("title", Value::from(doc.title.as_str())),
        ("public_title", Value::from(&doc.public_title)),
        ("their_ref", Value::from(&doc.their_ref)),
        (
            "their_date",
            Value::from(doc.their_date.map(|d| d.to_string())),
        ),
        ("thread_id", Value::from(doc.thread_id)),
        ("parent_id", Value::from(doc.parent_id)),
        ("received", Value::from(doc.received.map(|d| d.to_string()))),
        (
            "registered_at",
            Value::from(store::ts_text(doc.registered_at)),
        ),
        ("registered", Value::from(doc.registered.to_string())),
        ("responsible", Value::from(&doc.responsible)),
        ("unit", Value::from(&doc.unit)),
        ("r_ground", Value::from(r.map(|r| r.ground.clone()))),
        ("r_holder", Value::from(r.map(|r| r.holder.clone()))),
        ("r_begins", Value::from(r.map(|r| r.begins.to_string()))),
        ("r_ends", Value::from(r.map(|r| r.ends.to_string()))),
        ("r_marked", Value::from(r.map(|r| r.marked.to_string()))),
        ("r_extended", Value::from(0i64)),
        ("message_id", Value::from(&doc.message_id)),
        (
            "personal_data",
            Value::from(i64::from(doc.contains_personal_data)),
        ),
        ("proposed_ground", Value::from(&doc.proposed_ground)),
        ("needs_review", Value::from(i64::from(doc.needs_review))),
        ("kind", Value::from(&doc.kind)),
        (
            "r_until_decision",
            Value::from(r.and_then(|r| r.until_decision)),
        ),
        ("body", Value::from(body.map(str::to_string))),
        (
            "reply_kind",
            Value::from(doc.reply_kind.map(|k| k.as_str().to_string())),
        ),
        (
            "received_at",
            Value::from(doc.received_at.map(store::ts_text)),
        ),
    ]
}
