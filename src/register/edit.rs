//! Later acts on registered documents: metadata corrections, restrictions and
//! their lifting, and the audit events of acts recorded elsewhere.

use super::read::fill_on;
use super::write::{check_parties, insert_parties_in};
use super::*;

impl Register {
    /// Restricts a document that has no restriction of its own with a ground,
    /// holder and end it inherits (from its case file, its referral): from its
    /// own date, marked today, with a `restricted` event naming where it came
    /// from (`why`: the kind and its identifier) and the notices § 41 lg 4 asks
    /// for. None when the document was already restricted (it keeps its own).
    pub(crate) async fn inherit_restriction_from_in(
        &self,
        tx: &mut Tx,
        doc_id: i64,
        (ground, holder, ends): (String, String, jiff::civil::Date),
        (why, from): (&str, &str),
        actor: &str,
    ) -> Result<Option<crate::model::Restriction>> {
        let (mut doc, body) = self.load_in(tx, doc_id).await?;
        if doc.restriction.is_some() {
            return Ok(None);
        }
        let restriction = crate::model::Restriction {
            ground,
            holder,
            begins: doc.received.unwrap_or(doc.registered),
            ends,
            marked: self.today(),
            extended: false,
            until_decision: None,
        };
        let mut detail = serde_json::json!({
            "ground": restriction.ground, "begins": restriction.begins, "ends": restriction.ends,
            "holder": restriction.holder, "why": why,
        });
        detail[why] = serde_json::Value::from(from);
        doc.restriction = Some(restriction.clone());
        self.save_in(tx, &doc, body.as_deref(), "restricted", detail, actor)
            .await?;
        crate::restriction_notice::queue_in(self, tx, &doc, "restricted", actor).await?;
        Ok(Some(restriction))
    }

    pub(crate) async fn load_in(&self, tx: &mut Tx, id: i64) -> Result<(Document, Option<String>)> {
        let sql = format!("SELECT {DOC_COLS}, body FROM documents WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| Error::not_found(format!("document {id} not found")))?;
        let mut doc = doc_from_row(&row)?;
        let body: Option<String> = row.try_get("body")?;
        fill_on(tx, std::slice::from_mut(&mut doc)).await?;
        Ok((doc, body))
    }

    /// Writes the mutable metadata columns of `doc` and appends an event with its new state.
    pub(crate) async fn save_in(
        &self,
        tx: &mut Tx,
        doc: &Document,
        body: Option<&str>,
        kind: &str,
        detail: serde_json::Value,
        actor: &str,
    ) -> Result<()> {
        let r = doc.restriction.as_ref();
        sqlx::query(
            "UPDATE documents SET title = $1, doc_type = $2, their_ref = $3, their_date = $4, received = $5, responsible = $6, unit = $7, \
             r_ground = $8, r_holder = $9, r_begins = $10, r_ends = $11, r_marked = $12, r_extended = $13, needs_review = $14, series = $15, public_title = $16, kind = $17, r_until_decision = $18 WHERE id = $19",
        )
        .bind(&doc.title)
        .bind(&doc.doc_type)
        .bind(&doc.their_ref)
        .bind(doc.their_date.map(|d| d.to_string()))
        .bind(doc.received.map(|d| d.to_string()))
        .bind(&doc.responsible)
        .bind(&doc.unit)
        .bind(r.map(|r| r.ground.clone()))
        .bind(r.map(|r| r.holder.clone()))
        .bind(r.map(|r| r.begins.to_string()))
        .bind(r.map(|r| r.ends.to_string()))
        .bind(r.map(|r| r.marked.to_string()))
        .bind(i64::from(r.is_some_and(|r| r.extended)))
        .bind(i64::from(doc.needs_review))
        .bind(&doc.series)
        .bind(&doc.public_title)
        .bind(&doc.kind)
        .bind(r.and_then(|r| r.until_decision))
        .bind(doc.id)
        .execute(&mut **tx)
        .await?;
        let sh = state_hash(doc, body);
        audit::append_in(
            &self.store,
            tx,
            Some(doc.id),
            kind,
            actor,
            &detail,
            Some(&sh),
        )
        .await?;
        Ok(())
    }

    /// Edits metadata (not the number, the files or the restriction).
    pub async fn update(&self, id: i64, patch: MetadataPatch, actor: &str) -> Result<Document> {
        let mut tx = self.begin().await?;
        let (mut doc, body) = self.load_in(&mut tx, id).await?;
        let mut changed: Vec<&str> = Vec::new();
        if let Some(t) = patch.title {
            let t = t.trim().to_string();
            if t.is_empty() {
                return Err(Error::invalid_field("title", "it is empty"));
            }
            limits::check("title", &t, limits::TITLE)?;
            if t != doc.title {
                doc.title = t;
                changed.push("title");
            }
        }
        if let Some(t) = patch.public_title {
            let t = t.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
            limits::check_opt("public_title", t.as_deref(), limits::PUBLIC_TITLE)?;
            if t != doc.public_title {
                doc.public_title = t;
                changed.push("public_title");
            }
        }
        if let Some(t) = patch.doc_type {
            if let Some(t) = &t {
                self.vocab.require_rule("type", t)?;
            }
            if t != doc.doc_type {
                doc.doc_type = t;
                changed.push("doc_type");
            }
        }
        if let Some(k) = patch.kind {
            let k = match k {
                Some(k) => Some(self.vocab.kinds.require("kind", &k)?.id.clone()),
                None => None,
            };
            if k != doc.kind {
                doc.kind = k;
                changed.push("kind");
            }
        }
        let mut renumbered = None;
        if let Some(s) = patch.series {
            let s = self.series.resolve(Some(&s))?.clone();
            if s.code != doc.series {
                let old = self.renumber_in(&mut tx, &mut doc, &s).await?;
                renumbered = Some(serde_json::json!({"from": old, "to": doc.reg_no}));
                doc.series = s.code;
                changed.push("series");
                changed.push("reg_no");
            }
        }
        if let Some(v) = patch.direction.filter(|v| *v != doc.direction) {
            doc.direction = v;
            changed.push("direction");
        }
        if let Some(v) = patch.channel.filter(|v| *v != doc.channel) {
            doc.channel = v;
            changed.push("channel");
        }
        if changed.contains(&"direction") || changed.contains(&"channel") {
            sqlx::query("UPDATE documents SET direction = $1, channel = $2 WHERE id = $3")
                .bind(doc.direction.as_str())
                .bind(doc.channel.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        macro_rules! set {
            ($field:ident, $name:literal) => {
                if let Some(v) = patch.$field {
                    if v != doc.$field {
                        doc.$field = v;
                        changed.push($name);
                    }
                }
            };
        }
        if let Some(v) = &patch.their_ref {
            limits::check_opt("their_ref", v.as_deref(), limits::THEIR_REF)?;
        }
        if let Some(v) = &patch.responsible {
            limits::check_opt("responsible", v.as_deref(), limits::RESPONSIBLE)?;
        }
        if let Some(v) = &patch.unit {
            limits::check_opt("unit", v.as_deref(), limits::UNIT)?;
        }
        if let Some(p) = &patch.parties {
            check_parties(p)?;
        }
        set!(their_ref, "their_ref");
        set!(their_date, "their_date");
        set!(received, "received");
        set!(responsible, "responsible");
        set!(unit, "unit");
        set!(needs_review, "needs_review");
        if let Some(parties) = patch.parties {
            if parties != doc.parties {
                sqlx::query("DELETE FROM parties WHERE doc_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                insert_parties_in(&mut tx, id, &parties).await?;
                doc.parties = parties;
                changed.push("parties");
            }
        }
        if changed.is_empty() {
            return Ok(doc);
        }
        let mut detail = serde_json::json!({ "fields": changed });
        if let Some(r) = renumbered {
            detail["renumbered"] = r;
        }
        self.save_in(&mut tx, &doc, body.as_deref(), "edited", detail, actor)
            .await?;
        tx.commit().await?;
        Ok(doc)
    }

    /// Gives `doc` the next number of `series` (the counter of its registration
    /// year) and keeps its old number as an alias; returns the old number. Only a
    /// thread's only document moves: a follow-up's number is its thread's
    /// (`{parent}-{n}`), and a case with follow-ups keeps the numbers it has.
    pub(super) async fn renumber_in(
        &self,
        tx: &mut Tx,
        doc: &mut Document,
        series: &crate::series::Series,
    ) -> Result<String> {
        if doc.parent_id.is_some() {
            return Err(Error::invalid_field(
                "series",
                format!(
                    "{}: a follow-up belongs to its thread's series {}",
                    series.code, doc.series
                ),
            ));
        }
        let (others,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM documents WHERE thread_id = $1 AND id <> $2")
                .bind(doc.thread_id)
                .bind(doc.id)
                .fetch_one(&mut **tx)
                .await?;
        if others > 0 {
            return Err(Error::invalid_field(
                "series",
                format!(
                    "{}: {} already has follow-ups numbered in series {}",
                    series.code, doc.reg_no, doc.series
                ),
            ));
        }
        let pattern = self.series_pattern(series.pattern.as_deref())?;
        let year = doc.registered.year();
        let seq = self
            .store
            .next_counter_in(tx, &pattern.counter_key(&series.code, year))
            .await?;
        let new_no = pattern.render(&series.code, year, seq);
        sqlx::query("INSERT INTO reg_no_aliases (reg_no, doc_id) VALUES ($1, $2)")
            .bind(&doc.reg_no)
            .bind(doc.id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE documents SET reg_no = $1 WHERE id = $2")
            .bind(&new_no)
            .bind(doc.id)
            .execute(&mut **tx)
            .await?;
        Ok(std::mem::replace(&mut doc.reg_no, new_no))
    }

    /// Sets an access restriction (AvTS § 35, marked per § 41 on today's
    /// date): a ground of the list the series allows, with the term of § 40
    /// counted from the document's creation or receipt date (not today).
    pub async fn restrict(&self, id: i64, r: NewRestriction, actor: &str) -> Result<Document> {
        let mut tx = self.begin().await?;
        let (mut doc, body) = self.load_in(&mut tx, id).await?;
        let today = self.today();
        let series = self.series.resolve(Some(&doc.series))?.clone();
        let from = doc.received.unwrap_or(doc.registered);
        let personal =
            doc.contains_personal_data || crate::personal_data::has_person_party(&doc.parties);
        let (restriction, term) =
            self.validate_restriction(&r, &series, personal, from, today, doc.thread_id)?;
        let detail = serde_json::json!({"ground": restriction.ground, "begins": restriction.begins, "ends": restriction.ends, "holder": restriction.holder, "term": term, "until_decision": restriction.until_decision, "previous": doc.restriction});
        doc.restriction = Some(restriction);
        self.save_in(&mut tx, &doc, body.as_deref(), "restricted", detail, actor)
            .await?;
        crate::restriction_notice::queue_in(self, &mut tx, &doc, "restricted", actor).await?;
        tx.commit().await?;
        Ok(doc)
    }

    /// Extends a restriction (AvTS § 40 lg 1: by the head of the agency, by up
    /// to five years, once, while it is in force): needs the lead's role and the
    /// decision's reference, both recorded in the chain.
    pub async fn extend_restriction(
        &self,
        id: i64,
        ext: &Extension,
        actor: &str,
    ) -> Result<Document> {
        if ext.role != crate::web::Role::Lead {
            return Err(Error::Forbidden(format!(
                "juurdepääsupiirangut pikendab ainult juht (roll lead); {actor} on {} (only the lead may extend a restriction)",
                ext.role.as_str()
            )));
        }
        let decision = ext.decision.trim();
        if decision.is_empty() {
            return Err(Error::invalid(
                "pikendamiseks on vaja otsuse viidet (väli decision) (an extension needs the decision's reference)",
            ));
        }
        limits::check("decision", decision, limits::THEIR_REF)?;
        let reason = limits::reason(&ext.reason)?;
        let mut tx = self.begin().await?;
        let (mut doc, body) = self.load_in(&mut tx, id).await?;
        let Some(mut r) = doc.restriction.clone() else {
            return Err(Error::invalid(format!(
                "dokument {} pole piiratud: pole midagi pikendada (not restricted)",
                doc.reg_no
            )));
        };
        let new_end =
            crate::restriction::check_extension(r.ends, r.extended, ext.new_end, self.today())?;
        let detail = serde_json::json!({"reason": reason, "decision": decision, "from": r.ends, "to": new_end, "basis": crate::restriction::BASIS_EXTENSION});
        r.ends = new_end;
        r.extended = true;
        doc.restriction = Some(r);
        self.save_in(
            &mut tx,
            &doc,
            body.as_deref(),
            "restriction_extended",
            detail,
            actor,
        )
        .await?;
        tx.commit().await?;
        Ok(doc)
    }

    /// Lifts a restriction (§ 42) for a reason, which is required; the lifting and
    /// its reason are recorded in the chain, and everyone who received the
    /// document is told (a notice in the outbox).
    pub async fn lift_restriction(&self, id: i64, reason: &str, actor: &str) -> Result<Document> {
        let mut tx = self.begin().await?;
        let doc = self.lift_restriction_in(&mut tx, id, reason, actor).await?;
        tx.commit().await?;
        Ok(doc)
    }

    /// [`Register::lift_restriction`] inside the caller's transaction.
    pub async fn lift_restriction_in(
        &self,
        tx: &mut Tx,
        id: i64,
        reason: &str,
        actor: &str,
    ) -> Result<Document> {
        let reason = limits::reason(reason)?;
        let (mut doc, body) = self.load_in(tx, id).await?;
        let Some(r) = doc.restriction.take() else {
            return Err(Error::invalid(format!(
                "document {} is not restricted: nothing to lift",
                doc.reg_no
            )));
        };
        let detail = serde_json::json!({"reason": reason, "ground": r.ground, "ends": r.ends});
        self.save_in(
            tx,
            &doc,
            body.as_deref(),
            "restriction_lifted",
            detail,
            actor,
        )
        .await?;
        crate::restriction_notice::queue_in(self, tx, &doc, "lifted", actor).await?;
        Ok(doc)
    }

    /// Lifts the "until the decision" restrictions (§ 40 lg 2) waiting for the
    /// case `thread_id`, inside the transaction that registers its decision.
    pub(super) async fn lift_until_decision_in(
        &self,
        tx: &mut Tx,
        thread_id: i64,
        decision_id: i64,
        decision_reg_no: &str,
        actor: &str,
    ) -> Result<usize> {
        let ids: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM documents WHERE r_until_decision = $1 AND id <> $2 ORDER BY id",
        )
        .bind(thread_id)
        .bind(decision_id)
        .fetch_all(&mut **tx)
        .await?;
        for (id,) in &ids {
            self.lift_restriction_in(
                tx,
                *id,
                &format!("otsus võeti vastu ({decision_reg_no}), AvTS § 40 lg 2"),
                actor,
            )
            .await?;
        }
        Ok(ids.len())
    }

    /// Appends an event that does not change the document (a view, a release, a deadline event).
    pub async fn record_event(
        &self,
        doc_id: Option<i64>,
        kind: &str,
        detail: serde_json::Value,
        actor: &str,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let seq = self
            .record_event_in(&mut tx, doc_id, kind, detail, actor)
            .await?;
        tx.commit().await?;
        Ok(seq)
    }

    pub async fn record_event_in(
        &self,
        tx: &mut Tx,
        doc_id: Option<i64>,
        kind: &str,
        detail: serde_json::Value,
        actor: &str,
    ) -> Result<i64> {
        audit::append_in(&self.store, tx, doc_id, kind, actor, &detail, None).await
    }

    /// Records a release of a restricted document: to whom, why, how, when, what (AvTS § 39(2)).
    pub async fn record_release(
        &self,
        doc_id: i64,
        to_whom: &str,
        why: &str,
        how: &str,
        actor: &str,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let seq = self
            .record_release_in(&mut tx, doc_id, to_whom, why, how, actor)
            .await?;
        tx.commit().await?;
        Ok(seq)
    }

    pub async fn record_release_in(
        &self,
        tx: &mut Tx,
        doc_id: i64,
        to_whom: &str,
        why: &str,
        how: &str,
        actor: &str,
    ) -> Result<i64> {
        let detail = serde_json::json!({"to": to_whom, "why": why, "how": how});
        audit::append_in(
            &self.store,
            tx,
            Some(doc_id),
            "released",
            actor,
            &detail,
            None,
        )
        .await
    }
    /// The extracted text of a registered file arrived later (the OCR queue),
    /// inside the caller's transaction (which also closes its queue item): the
    /// file's text and status, the personal-code check and the default
    /// restriction exactly as registration decides them
    /// (`personal_data::classify`), the clerk's review flag, an optional move
    /// into the thread the text names, and one `text_arrived` event with the
    /// new state (which re-indexes the document).
    pub(crate) async fn text_arrived_in(
        &self,
        tx: &mut Tx,
        a: TextArrival,
        actor: &str,
    ) -> Result<TextArrived> {
        let (mut doc, body) = self.load_in(tx, a.doc_id).await?;
        let file = doc.files.get(a.pos as usize).cloned().ok_or_else(|| {
            Error::not_found(format!("document {} has no file {}", doc.reg_no, a.pos))
        })?;
        sqlx::query(
            "UPDATE doc_files SET text_status = $1, text_note = $2 WHERE doc_id = $3 AND pos = $4",
        )
        .bind(a.status.as_str())
        .bind(&a.note)
        .bind(doc.id)
        .bind(a.pos)
        .execute(&mut **tx)
        .await?;
        if !a.text.is_empty() {
            sqlx::query("INSERT INTO file_texts (sha256, text) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING")
                .bind(&file.sha256)
                .bind(&a.text)
                .execute(&mut **tx)
                .await?;
        }
        let mut detail = serde_json::json!({
            "file": file.name, "pos": a.pos, "sha256": file.sha256,
            "text_status": a.status.as_str(), "note": a.note, "by": a.detail,
        });
        // Personal data: the one rule of registration, over the new text.
        let personal_code = crate::personal_data::has_personal_code([a.text.as_str()]);
        let mut restricted = false;
        if personal_code {
            let series = self.series.resolve(Some(&doc.series))?.clone();
            let mut probe = NewDocument::new(doc.direction, doc.channel, doc.title.clone());
            probe.parties = doc.parties.clone();
            probe.received = doc.received;
            probe.proposed_ground = doc.proposed_ground.clone();
            let mut f = NewFile::new(file.name.clone(), file.media_type.clone(), Vec::new());
            f.text = Some(a.text.clone());
            probe.files.push(f);
            let class = crate::personal_data::classify(
                &probe,
                &doc.title,
                &series,
                &self.vocab.grounds,
                self.victim_ground(),
                doc.registered,
            )?;
            doc.contains_personal_data = true;
            doc.proposed_ground = doc.proposed_ground.take().or(class.proposed_ground);
            if let (None, Some(d)) = (&doc.restriction, &class.default_restriction) {
                let r = Restriction {
                    ground: d.ground.clone(),
                    holder: format!("{} ({})", self.config.agency.name, self.config.agency.unit),
                    begins: d.begins,
                    ends: d.ends,
                    marked: self.today(),
                    extended: false,
                    until_decision: None,
                };
                detail["restriction"] = serde_json::json!({
                    "ground": r.ground, "begins": r.begins, "ends": r.ends,
                    "term": d.term, "by": "default", "why": d.why,
                });
                doc.restriction = Some(r);
                restricted = true;
            }
            // The clerk is told: the document returns to the review list.
            doc.needs_review = true;
            detail["personal_code"] = serde_json::json!(true);
            sqlx::query(
                "UPDATE documents SET personal_data = 1, proposed_ground = $1 WHERE id = $2",
            )
            .bind(&doc.proposed_ground)
            .bind(doc.id)
            .execute(&mut **tx)
            .await?;
        }
        // A number printed on the scan: the document joins that thread while it
        // is still alone in its own (its number stays; numbers are never reused).
        let mut threaded = false;
        if let Some((parent_id, thread_id)) = a.join_thread {
            let (others,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM documents WHERE thread_id = $1 AND id <> $2")
                    .bind(doc.thread_id)
                    .bind(doc.id)
                    .fetch_one(&mut **tx)
                    .await?;
            if others == 0 && doc.thread_id == doc.id && thread_id != doc.id {
                sqlx::query("UPDATE documents SET thread_id = $1, parent_id = $2 WHERE id = $3")
                    .bind(thread_id)
                    .bind(parent_id)
                    .bind(doc.id)
                    .execute(&mut **tx)
                    .await?;
                doc.thread_id = thread_id;
                doc.parent_id = Some(parent_id);
                detail["thread"] =
                    serde_json::json!({"thread_id": thread_id, "parent_id": parent_id});
                threaded = true;
            }
        }
        self.save_in(tx, &doc, body.as_deref(), "text_arrived", detail, actor)
            .await?;
        Ok(TextArrived {
            doc,
            personal_code,
            restricted,
            threaded,
        })
    }
}

/// Text of a registered file that arrived after registration (see
/// [`Register::text_arrived_in`]).
#[derive(Debug, Clone)]
pub(crate) struct TextArrival {
    pub doc_id: i64,
    /// The file's position in the document.
    pub pos: i64,
    pub text: String,
    pub status: TextStatus,
    pub note: String,
    /// Who produced the text, for the event (the OCR queue item, its confidence).
    pub detail: serde_json::Value,
    /// (parent id, thread id) of the document the text names, when it continues a thread.
    pub join_thread: Option<(i64, i64)>,
}

/// What [`Register::text_arrived_in`] did.
#[derive(Debug, Clone)]
pub(crate) struct TextArrived {
    pub doc: Document,
    /// The new text holds a personal code.
    pub personal_code: bool,
    /// The document was restricted because of it.
    pub restricted: bool,
    /// The document joined the thread asked for.
    pub threaded: bool,
}
