//! Registration: the register's writes of new documents, one or a batch in
//! one transaction with their audit events.

use super::*;

impl Register {
    /// The numbering pattern of a series: its own, else the register's.
    pub(super) fn series_pattern(&self, own: Option<&str>) -> Result<Pattern> {
        Pattern::parse(own.unwrap_or(&self.config.numbering.pattern))
    }

    /// Registers one document in its own transaction.
    pub async fn register(&self, new: NewDocument, actor: &str) -> Result<Document> {
        let mut new = new;
        self.open_containers(&mut new).await?;
        let mut tx = self.begin().await?;
        let doc = self.register_in(&mut tx, new, actor).await?;
        // Crash windows (tests/faults.rs): rows and events written, not committed.
        fail::fail_point!("register-before-commit", |_| Err(Error::internal(
            "failpoint register-before-commit"
        )));
        tx.commit().await?;
        Ok(doc)
    }

    /// Opens every signed container among `new`'s files (ASiC-E, BDOC, ASiC-S,
    /// DDOC: `signature::is_container`) and puts each of its data files right
    /// after it as a file of the document of its own (name, media type, bytes,
    /// its own text, so its own personal-code scan), marked with the
    /// container's position; the container stays the original, byte for byte,
    /// with its signers as its text. A container whose structure is broken is
    /// refused with its reason (`Error::Invalid`; ingest quarantines it).
    /// Parsing runs isolated (blocking thread, `ingest.extract_timeout`),
    /// before any transaction. A document whose containers were opened already
    /// (a file marked as from a container) is left as it is. True when files
    /// were added.
    /// Then reads the document as an invoice when it is one
    /// ([`Register::read_invoice`]): every path that registers incoming files
    /// comes through here before its transaction.
    pub async fn open_containers(&self, new: &mut NewDocument) -> Result<bool> {
        let added = self.open_signed_containers(new).await?;
        self.read_invoice(new).await?;
        Ok(added)
    }

    pub(super) async fn open_signed_containers(&self, new: &mut NewDocument) -> Result<bool> {
        if new.files.iter().any(|f| f.container.is_some())
            || !new
                .files
                .iter()
                .any(|f| crate::signature::is_container(&f.name, &f.media_type))
        {
            return Ok(false);
        }
        let ic = &self.config.ingest;
        let mut out = Vec::with_capacity(new.files.len());
        let mut added = false;
        let mut files = std::mem::take(&mut new.files).into_iter();
        while let Some(mut f) = files.next() {
            if !crate::signature::is_container(&f.name, &f.media_type) {
                out.push(f);
                continue;
            }
            let bytes = Arc::new(std::mem::take(&mut f.bytes));
            let (b, name, opts) = (bytes.clone(), f.name.clone(), ic.text_options());
            let opened = crate::extract::isolated(
                &format!("signed container {}", f.name),
                ic.extract_timeout(),
                move || crate::signature::open_files(&name, &b, &opts),
            )
            .await;
            f.bytes = Arc::try_unwrap(bytes).unwrap_or_else(|a| (*a).clone());
            let why = match &opened {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(format!(
                    "allkirjastatud konteiner {} on vigane, {}: {e} (broken signed container)",
                    f.name,
                    e.code()
                )),
                Err(e) => Some(format!(
                    "allkirjastatud konteinerit {} ei saanud avada: {e} (signed container not opened)",
                    f.name
                )),
            };
            let Ok(Ok(opened)) = opened else {
                // The document keeps its files (the caller quarantines the original).
                out.push(f);
                out.extend(files);
                new.files = out;
                return Err(Error::invalid(why.unwrap_or_default()));
            };
            f.text = opened.text.text;
            f.text_status = opened.text.status;
            f.text_note = opened.text.note;
            let pos = out.len();
            out.push(f);
            for (d, t) in opened.data_files {
                let name = limits::truncate(d.name.trim(), limits::FILE_NAME);
                let name = if name.trim().is_empty() {
                    "andmefail".to_string()
                } else {
                    name
                };
                let mut file = NewFile::new(name, d.media_type, d.bytes);
                file.text = t.text;
                file.text_status = t.status;
                file.text_note = t.note;
                file.container = Some(pos);
                out.push(file);
                added = true;
            }
        }
        new.files = out;
        Ok(added)
    }

    /// Stores the files of documents ahead of their registration (from several
    /// threads when the files are local; registration then finds them stored) and
    /// gives their hashes in order, or None for the database store, which stores
    /// inside the registering transaction. The bytes move to the writer and back:
    /// they are never held twice in memory.
    /// `known`: the files' hashes (all files of all documents, in order) when the
    /// caller computed them from the same bytes.
    pub async fn store_files(
        &self,
        news: &mut [NewDocument],
        known: Option<Vec<String>>,
    ) -> Result<Option<Vec<String>>> {
        let taken: Vec<Vec<u8>> = news
            .iter_mut()
            .flat_map(|n| n.files.iter_mut().map(|f| std::mem::take(&mut f.bytes)))
            .collect();
        let (back, shas) = self.store.files.put_many_local(taken, known).await?;
        let mut back = back.into_iter();
        for f in news.iter_mut().flat_map(|n| n.files.iter_mut()) {
            f.bytes = back.next().unwrap_or_default();
        }
        Ok(shas)
    }

    /// Registers several documents in one transaction: all or nothing.
    pub async fn register_batch(
        &self,
        news: Vec<NewDocument>,
        actor: &str,
    ) -> Result<Vec<Document>> {
        // Write the files first, from several threads, before the transaction;
        // registration then finds them stored and reuses their hashes.
        let mut news = news;
        for n in news.iter_mut() {
            self.open_containers(n).await?;
        }
        let hashes = if news.len() > 1 {
            self.store_files(&mut news, None).await?
        } else {
            None
        };
        let refs: Vec<&NewDocument> = news.iter().collect();
        self.register_stored(&refs, hashes, actor).await
    }

    /// Registers several documents in one transaction (all or nothing) whose files
    /// [`Register::store_files`] stored already: `hashes` are the hashes it gave,
    /// in order (None: the files are stored inside the transaction).
    pub async fn register_stored(
        &self,
        news: &[&NewDocument],
        hashes: Option<Vec<String>>,
        actor: &str,
    ) -> Result<Vec<Document>> {
        let mut hashes = hashes.map(Vec::into_iter);
        // Crash windows (tests/faults.rs): the files stored, nothing written yet.
        fail::fail_point!("register-after-files", |_| Err(Error::internal(
            "failpoint register-after-files"
        )));
        let mut tx = self.begin().await?;
        let mut out = Vec::with_capacity(news.len());
        let mut pending = Pending::new(news.len());
        pending
            .look_up_keys(&mut tx, news.iter().flat_map(|n| n.source_keys.iter()))
            .await?;
        for new in news {
            let known: Option<Vec<String>> = hashes
                .as_mut()
                .map(|h| h.by_ref().take(new.files.len()).collect());
            out.push(
                self.register_with(&mut tx, &mut pending, new, known.as_deref(), actor)
                    .await?,
            );
        }
        pending.write(&mut tx).await?;
        for (d, new) in out.iter_mut().zip(news) {
            self.after_registration_in(&mut tx, d, new, actor).await?;
        }
        fail::fail_point!("register-before-commit", |_| Err(Error::internal(
            "failpoint register-before-commit"
        )));
        tx.commit().await?;
        Ok(out)
    }

    /// What a registration sets off in the same transaction: a referral's
    /// terms or an invoice are recorded; the document joins
    /// its file unit; a decision
    /// (kind "otsus" or "vastus") lifts the restrictions of its case that
    /// waited for it (AvTS § 40 lg 2).
    pub(super) async fn after_registration_in(
        &self,
        tx: &mut Tx,
        doc: &mut Document,
        new: &NewDocument,
        actor: &str,
    ) -> Result<()> {
        // A referral letter's terms, an invoice's reading (src/invoice/ledger.rs).
        if let Some(r) = &new.referral {
            self.record_referral_in(tx, doc, r, actor).await?;
        }
        if let Some(inv) = &new.invoice {
            self.record_invoice_in(tx, doc, inv, new.public_reason.is_some(), actor)
                .await?;
        }
        // Its file unit (toimik): src/lifecycle/file_unit.rs; a restricted case
        // file restricts a document that joins it without a restriction.
        if let Some(r) = self.assign_file_unit_in(tx, doc, actor).await? {
            doc.restriction = Some(r);
        }
        if matches!(doc.kind.as_deref(), Some(k) if DECISION_KINDS.contains(&k)) {
            self.lift_until_decision_in(tx, doc.thread_id, doc.id, &doc.reg_no, actor)
                .await?;
        }
        Ok(())
    }

    /// Checks a restriction against the grounds list, the series' allowed
    /// grounds and § 40 (`restriction::term`: personal data in the content,
    /// counted from `from`, the creation or receipt date), and marks it on `marked`.
    /// `thread_id`: the case an "until the decision" restriction waits for.
    pub(super) fn validate_restriction(
        &self,
        r: &NewRestriction,
        series: &crate::series::Series,
        personal_content: bool,
        from: Date,
        marked: Date,
        thread_id: i64,
    ) -> Result<(Restriction, &'static str)> {
        let ground = r.ground.trim();
        if ground.is_empty() {
            return Err(Error::invalid(format!(
                "juurdepääsupiirangu alus (väli ground) on tühi; lubatud: {} (the ground is empty)",
                self.vocab.grounds.ids().join(", ")
            )));
        }
        limits::check("restriction_ground", ground, limits::GROUND)?;
        limits::check_opt("restriction_holder", r.holder.as_deref(), limits::HOLDER)?;
        if r.end_by == crate::restriction::EndBy::Holder {
            // The holder's marking as sent (§ 38 lg 3): not checked, not shortened.
            return Ok((
                Restriction {
                    ground: ground.to_string(),
                    holder: r
                        .holder
                        .clone()
                        .filter(|h| !h.trim().is_empty())
                        .unwrap_or_else(|| "saatja".to_string()),
                    begins: r.begins.unwrap_or(from),
                    ends: r.ends,
                    marked,
                    extended: false,
                    until_decision: None,
                },
                crate::restriction::BASIS_HOLDER,
            ));
        }
        let g = self.vocab.grounds.require("ground", ground)?;
        series.check_ground(&g.id)?;
        let begins = r.begins.unwrap_or(from);
        let requested = match r.end_by {
            crate::restriction::EndBy::Date | crate::restriction::EndBy::UntilDecision => {
                Some(r.ends)
            }
            _ => None,
        };
        let term = crate::restriction::term(
            g,
            personal_content || series.personal_data,
            begins,
            r.end_by,
            requested,
        )?;
        Ok((
            Restriction {
                ground: g.id.clone(),
                holder: r
                    .holder
                    .clone()
                    .filter(|h| !h.trim().is_empty())
                    .unwrap_or_else(|| {
                        format!("{} ({})", self.config.agency.name, self.config.agency.unit)
                    }),
                begins,
                ends: term.ends,
                marked,
                extended: false,
                until_decision: (r.end_by == crate::restriction::EndBy::UntilDecision)
                    .then_some(thread_id),
            },
            term.basis,
        ))
    }

    /// Registers one document inside a transaction the caller commits.
    pub async fn register_in(
        &self,
        tx: &mut Tx,
        new: NewDocument,
        actor: &str,
    ) -> Result<Document> {
        let mut pending = Pending::new(1);
        let mut doc = self
            .register_with(tx, &mut pending, &new, None, actor)
            .await?;
        pending.write(tx).await?;
        self.after_registration_in(tx, &mut doc, &new, actor)
            .await?;
        Ok(doc)
    }

    /// Registers one document into `pending`: reads what it must (counters, the
    /// chain head, a parent) and queues its rows for [`Pending::write`].
    pub(super) async fn register_with(
        &self,
        tx: &mut Tx,
        pending: &mut Pending,
        new: &NewDocument,
        // The files' hashes when the batch already computed them.
        known_shas: Option<&[String]>,
        actor: &str,
    ) -> Result<Document> {
        // Validate everything before writing anything.
        let series = self.series.resolve(new.series.as_deref())?.clone();
        let mut title = new.title.trim().to_string();
        if title.is_empty() {
            title = new
                .files
                .first()
                .map(|f| f.name.clone())
                .unwrap_or_default();
        }
        if title.is_empty() {
            return Err(Error::invalid_field("title", "it is empty"));
        }
        let public_title = new
            .public_title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        limits::check("title", &title, limits::TITLE)?;
        limits::check_opt(
            "public_title",
            public_title.as_deref(),
            limits::PUBLIC_TITLE,
        )?;
        check_parties(&new.parties)?;
        if let Some(r) = &new.referral {
            r.validate()?;
            if new.direction != crate::model::Direction::Outgoing {
                return Err(Error::invalid(
                    "vigane suunamine: suunamiskiri on väljaminev dokument (a referral letter is outgoing)",
                ));
            }
        }
        limits::check_opt("their_ref", new.their_ref.as_deref(), limits::THEIR_REF)?;
        limits::check_opt(
            "responsible",
            new.responsible.as_deref(),
            limits::RESPONSIBLE,
        )?;
        limits::check_opt("unit", new.unit.as_deref(), limits::UNIT)?;
        limits::check_opt("message_id", new.message_id.as_deref(), limits::MESSAGE_ID)?;
        if new
            .body
            .as_ref()
            .is_some_and(|b| b.len() > limits::BODY_BYTES)
        {
            return Err(Error::invalid_field(
                "body",
                format!("it is longer than {} bytes", limits::BODY_BYTES),
            ));
        }
        let public_reason = match new.public_reason.as_deref().map(str::trim) {
            None => None,
            Some("") => {
                return Err(Error::invalid_field(
                    "public_reason",
                    "it is empty (a document registered as public needs a reason)",
                ))
            }
            Some(r) => {
                limits::check("public_reason", r, limits::REASON)?;
                if new.restriction.is_some() {
                    return Err(Error::invalid_field(
                        "public_reason",
                        "the document is also given a restriction (one or the other)",
                    ));
                }
                Some(r.to_string())
            }
        };
        for (i, f) in new.files.iter().enumerate() {
            if f.name.trim().is_empty() {
                return Err(Error::invalid("invalid file: its name is empty"));
            }
            limits::check("file_name", &f.name, limits::FILE_NAME)?;
            if let Some(c) = f.container {
                // A data file follows the container it came from.
                let from = new.files.get(c).filter(|_| c < i);
                if !from.is_some_and(|g| crate::signature::is_container(&g.name, &g.media_type)) {
                    return Err(Error::invalid(format!(
                        "invalid file {:?}: its container (file {c}) is not a signed container before it",
                        f.name
                    )));
                }
            }
            if f.bytes.len() as u64 > self.config.max_file_size {
                return Err(Error::TooLarge(format!(
                    "file {:?} is {} bytes, above max_file_size {}",
                    f.name,
                    f.bytes.len(),
                    self.config.max_file_size
                )));
            }
        }
        // Stored with whole seconds: the state hash must see what is read back.
        let registered_at_ts =
            store::whole_seconds(new.registered_at.unwrap_or_else(jiff::Timestamp::now));
        let registered_at = store::ts_text(registered_at_ts);
        let registered = self.local_date(registered_at_ts);
        // The arrival time, stored with whole seconds; its local date is the received date.
        let received_at = new.received_at.map(store::whole_seconds);
        let received = new
            .received
            .or_else(|| received_at.map(|t| self.local_date(t)));
        if let Some(t) = received_at {
            if t > registered_at_ts {
                return Err(Error::invalid_field(
                    "received_at",
                    format!("{t}: it is after the registration time {registered_at}"),
                ));
            }
        }
        if new.reply_kind.is_some() && new.direction != crate::model::Direction::Outgoing {
            return Err(Error::invalid_field(
                "reply_kind",
                "only an outgoing document is a reply (vastuse liik sobib ainult väljaminevale dokumendile)",
            ));
        }
        if new.reply_kind.is_some() && new.reply_to.is_none() {
            return Err(Error::invalid_field(
                "reply_kind",
                "it needs the document answered, reply_to (vastuse liik vajab vastatavat dokumenti)",
            ));
        }
        if let Some(rcv) = received {
            if rcv > registered {
                return Err(Error::invalid_field(
                    "received",
                    format!("{rcv} is after the registration date {registered}"),
                ));
            }
        }
        // Personal data and the restriction: decided here, for every caller.
        let class = crate::personal_data::classify(
            new,
            &title,
            &series,
            &self.vocab.grounds,
            self.victim_ground(),
            registered,
        )?;
        let contains_personal_data = class.contains_personal_data;
        let proposed_ground = class.proposed_ground;
        let restricted_by = class.default_restriction;
        // § 40 counts from the creation or receipt date.
        let from = new.received.unwrap_or(registered);
        let personal_content =
            contains_personal_data || crate::personal_data::has_person_party(&new.parties);
        let restriction = match (&new.restriction, &restricted_by) {
            (Some(r), _) => Some(self.validate_restriction(
                r,
                &series,
                personal_content,
                from,
                registered,
                0,
            )?),
            (None, Some(d)) => Some((
                Restriction {
                    ground: d.ground.clone(),
                    holder: format!("{} ({})", self.config.agency.name, self.config.agency.unit),
                    begins: d.begins,
                    ends: d.ends,
                    marked: registered,
                    extended: false,
                    until_decision: None,
                },
                d.term,
            )),
            (None, None) => None,
        };
        let (mut restriction, restriction_term) = match restriction {
            Some((r, t)) => (Some(r), Some(t)),
            None => (None, None),
        };
        let needs_review = new.needs_review
            || new
                .restriction
                .as_ref()
                .is_some_and(|r| r.end_by == crate::restriction::EndBy::Holder);
        let kind = match &new.kind {
            Some(k) => Some(self.vocab.kinds.require("kind", k)?),
            None => None,
        };
        let doc_type = match (&new.doc_type, kind) {
            (Some(t), _) => {
                self.vocab.require_rule("type", t)?;
                Some(t.clone())
            }
            (None, Some(k)) => k.rule.clone(),
            (None, None) => None,
        };
        let kind = kind.map(|k| k.id.clone());

        // Duplicates of a source message.
        pending.look_up_keys(tx, new.source_keys.iter()).await?;
        for key in &new.source_keys {
            if let Some(Some(id)) = pending.keys_seen.get(key) {
                return Err(Error::Conflict(format!(
                    "duplicate: {key} is already registered (document id {id})"
                )));
            }
        }

        // The number.
        let mut series = series;
        let (reg_no, thread_id, parent_id) = match &new.reply_to {
            Some(parent_no) => {
                let parent = match pending.by_reg_no.get(parent_no) {
                    Some(p) => *p,
                    None => self.find_doc_in(tx, parent_no).await?.ok_or_else(|| {
                        Error::invalid_field(
                            "reply_to",
                            format!("{parent_no:?}: no such registration number"),
                        )
                    })?,
                };
                let (root_reg_no, root_series): (String, String) =
                    match pending.by_id.get(&parent.1) {
                        Some(root) => root.clone(),
                        None => {
                            sqlx::query_as("SELECT reg_no, series FROM documents WHERE id = $1")
                                .bind(parent.1)
                                .fetch_one(&mut **tx)
                                .await?
                        }
                    };
                // A follow-up belongs to its thread's series: its number says so.
                if new.series.as_deref().is_some_and(|s| s != root_series) {
                    return Err(Error::invalid_field(
                        "series",
                        format!(
                            "{}: a follow-up of {parent_no} belongs to its thread's series {root_series}",
                            new.series.as_deref().unwrap_or_default()
                        ),
                    ));
                }
                series = self.series.resolve(Some(&root_series))?.clone();
                let n = pending
                    .counters
                    .next(&self.store, tx, &numbering::followup_key(&root_reg_no))
                    .await?;
                (
                    numbering::render_followup(&self.config.numbering.followup, &root_reg_no, n),
                    Some(parent.1),
                    Some(parent.0),
                )
            }
            None => {
                let pattern = self.series_pattern(series.pattern.as_deref())?;
                let year = registered.year();
                let seq = pending
                    .counters
                    .next(&self.store, tx, &pattern.counter_key(&series.code, year))
                    .await?;
                (pattern.render(&series.code, year, seq), None, None)
            }
        };

        // The id is known before the insert, so a thread's first document gets its
        // own id as thread id in the same row.
        let id = pending.next_id(&self.store, tx).await?;
        let thread_id = thread_id.unwrap_or(id);
        if let Some(r) = restriction.as_mut() {
            if r.until_decision.is_some() {
                r.until_decision = Some(thread_id);
            }
        }
        for key in &new.source_keys {
            if !pending.keys_taken.insert(key.clone()) {
                return Err(Error::Conflict(format!(
                    "duplicate: {key} is already registered"
                )));
            }
            pending
                .source_keys
                .push([Value::from(key.as_str()), Value::from(id)]);
        }
        for (pos, p) in new.parties.iter().enumerate() {
            pending.parties.push(party_row(id, pos, p));
        }
        let mut files = Vec::with_capacity(new.files.len());
        for (pos, f) in new.files.iter().enumerate() {
            let sha = match known_shas.and_then(|k| k.get(pos)) {
                Some(sha) => {
                    self.store.files.put_in(tx, sha, &f.bytes).await?;
                    sha.clone()
                }
                None => self.store.put_file_in(tx, &f.bytes).await?,
            };
            pending.doc_files.push([
                Value::from(id),
                Value::from(pos as i64),
                Value::from(f.name.as_str()),
                Value::from(f.media_type.as_str()),
                Value::from(f.bytes.len() as i64),
                Value::from(sha.as_str()),
                Value::from(f.text_status.as_str()),
                Value::from(&f.text_note),
                Value::from(f.container.map(|c| c as i64)),
            ]);
            if let Some(text) = &f.text {
                // The first text of a content wins, as with ON CONFLICT DO NOTHING.
                if pending.texts_seen.insert(sha.clone()) {
                    pending
                        .file_texts
                        .push([Value::from(sha.as_str()), Value::from(text.as_str())]);
                }
            }
            if f.text_status == TextStatus::OcrPending {
                // A scan: queued in this transaction, read later (never lost).
                crate::ocr::enqueue_in(tx, id, pos as i64, &sha).await?;
            }
            files.push(FileRef {
                name: f.name.clone(),
                media_type: f.media_type.clone(),
                size: f.bytes.len() as u64,
                sha256: sha,
            });
        }
        let doc = Document {
            id,
            reg_no: reg_no.clone(),
            series: series.code.clone(),
            direction: new.direction,
            channel: new.channel,
            doc_type,
            kind,
            title,
            public_title,
            parties: new.parties.clone(),
            their_ref: new.their_ref.clone(),
            their_date: new.their_date,
            thread_id,
            parent_id,
            received,
            registered_at: registered_at_ts,
            registered,
            responsible: new.responsible.clone(),
            unit: new.unit.clone(),
            restriction,
            files,
            message_id: new.message_id.clone(),
            contains_personal_data,
            proposed_ground,
            needs_review,
            reply_kind: new.reply_kind,
            received_at,
        };
        let detail = serde_json::json!({
            "reg_no": doc.reg_no,
            "series": doc.series,
            "direction": doc.direction,
            "channel": doc.channel,
            "files": doc.files.iter().map(|f| serde_json::json!({"name": f.name, "sha256": f.sha256, "size": f.size})).collect::<Vec<_>>(),
            "restricted": doc.restriction.is_some(),
            "reply_to": new.reply_to,
            "needs_review": doc.needs_review,
        });
        let mut detail = detail;
        if let Some(k) = doc.reply_kind {
            detail["reply_kind"] = serde_json::json!(k);
        }
        if let Some(r) = &doc.restriction {
            // The restriction's record: its ground, dates, the § 40 term and who chose it.
            detail["restriction"] = match (&new.restriction, &restricted_by) {
                (None, Some(d)) => serde_json::json!({
                    "ground": r.ground, "begins": r.begins, "ends": r.ends,
                    "term": d.term, "by": "default", "why": d.why,
                }),
                (Some(nr), _) if nr.end_by == crate::restriction::EndBy::Holder => {
                    serde_json::json!({
                        "ground": r.ground, "begins": r.begins, "ends": r.ends,
                        "term": restriction_term, "by": "holder",
                        "review": "saatja juurdepääsupiirang jäetud nagu saadetud; alus kontrollida (the sender's restriction kept as sent; check the ground)",
                    })
                }
                _ => serde_json::json!({
                    "ground": r.ground, "begins": r.begins, "ends": r.ends,
                    "term": restriction_term, "by": "caller", "until_decision": r.until_decision,
                }),
            };
        }
        if let Some(reason) = &public_reason {
            detail["public_reason"] = serde_json::json!(reason);
        }
        let sh = state_hash(&doc, new.body.as_deref());
        pending
            .documents
            .push_named(document_row(&doc, new.body.as_deref()));
        pending.by_reg_no.insert(reg_no.clone(), (id, thread_id));
        pending.by_id.insert(id, (reg_no, series.code.clone()));
        audit::append_with(
            &self.store,
            tx,
            &mut pending.cursor,
            Some(id),
            "registered",
            actor,
            &detail,
            Some(&sh),
        )
        .await?;
        Ok(doc)
    }

    /// (id, thread_id) of a registration number, inside a transaction.
    pub(super) async fn find_doc_in(
        &self,
        tx: &mut Tx,
        reg_no: &str,
    ) -> Result<Option<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT id, thread_id FROM documents WHERE reg_no = $1 \
             OR id IN (SELECT doc_id FROM reg_no_aliases WHERE reg_no = $2) ORDER BY id LIMIT 1",
        )
        .bind(reg_no)
        .bind(reg_no)
        .fetch_optional(&mut **tx)
        .await?)
    }
}

/// The length limits of the parties' fields.
pub(super) fn check_parties(parties: &[Party]) -> Result<()> {
    for p in parties {
        limits::check("party", &p.name, limits::PARTY_NAME)?;
        limits::check_opt("party_email", p.email.as_deref(), limits::PARTY_EMAIL)?;
        limits::check_opt("party_code", p.code.as_deref(), limits::PARTY_CODE)?;
    }
    Ok(())
}

pub(super) const PARTIES: &str = "INSERT INTO parties (doc_id, pos, kind, role, name, code, email)";

pub(super) async fn insert_parties_in(tx: &mut Tx, doc_id: i64, parties: &[Party]) -> Result<()> {
    let mut rows = Rows::new(PARTIES, 7, "");
    for (pos, p) in parties.iter().enumerate() {
        rows.push(party_row(doc_id, pos, p));
    }
    rows.insert(tx).await?;
    Ok(())
}

/// Where the ids of new documents come from.
pub(super) enum Ids {
    Unknown,
    /// SQLite: the next free id (the transaction holds the only write lock).
    Next(i64),
    /// PostgreSQL: ids taken from the identity sequence.
    Taken(VecDeque<i64>),
}

/// What the registrations of one transaction have read and not yet written: the
/// chain head, the counters, the next ids, the source keys looked up and taken,
/// this transaction's documents, and their rows, written with one statement per
/// table by [`Pending::write`].
pub(super) struct Pending {
    cursor: audit::ChainCursor,
    counters: store::Counters,
    ids: Ids,
    /// How many documents the transaction registers (PostgreSQL takes their ids at once).
    expected: usize,
    /// Source keys looked up in the register, with the document registered under each.
    keys_seen: HashMap<String, Option<i64>>,
    /// Source keys of this transaction's documents.
    keys_taken: HashSet<String>,
    /// This transaction's documents: number -> (id, thread id), id -> (number, series).
    by_reg_no: HashMap<String, (i64, i64)>,
    by_id: HashMap<i64, (String, String)>,
    /// Contents whose text is queued.
    texts_seen: HashSet<String>,
    documents: Rows,
    source_keys: Rows,
    parties: Rows,
    doc_files: Rows,
    file_texts: Rows,
}

impl Pending {
    pub(super) fn new(expected: usize) -> Pending {
        Pending {
            cursor: audit::ChainCursor::default(),
            counters: store::Counters::default(),
            ids: Ids::Unknown,
            expected: expected.max(1),
            keys_seen: HashMap::new(),
            keys_taken: HashSet::new(),
            by_reg_no: HashMap::new(),
            by_id: HashMap::new(),
            texts_seen: HashSet::new(),
            documents: Rows::named("documents", ""),
            source_keys: Rows::new(
                "INSERT INTO source_keys (key, doc_id)",
                2,
                "ON CONFLICT (key) DO NOTHING",
            ),
            parties: Rows::new(PARTIES, 7, ""),
            doc_files: Rows::new(
                "INSERT INTO doc_files (doc_id, pos, name, media_type, size, sha256, text_status, text_note, container_pos)",
                9,
                "",
            ),
            file_texts: Rows::new(
                "INSERT INTO file_texts (sha256, text)",
                2,
                "ON CONFLICT (sha256) DO NOTHING",
            ),
        }
    }

    /// Looks up the source keys not looked up yet, with one statement.
    pub(super) async fn look_up_keys<'a>(
        &mut self,
        tx: &mut Tx,
        keys: impl Iterator<Item = &'a String>,
    ) -> Result<()> {
        let mut ask: Vec<&String> = keys.filter(|k| !self.keys_seen.contains_key(*k)).collect();
        ask.sort_unstable();
        ask.dedup();
        for chunk in ask.chunks(MAX_PARAMS) {
            let sql = format!(
                "SELECT key, doc_id FROM source_keys WHERE key IN ({})",
                placeholders(is_sqlite(tx), 0, chunk.len())
            );
            let rows = bind_all(
                sqlx::query(&sql),
                chunk.iter().map(|k| Value::from(k.as_str())),
            )
            .fetch_all(&mut **tx)
            .await?;
            let mut found: HashMap<String, i64> = HashMap::with_capacity(rows.len());
            for r in &rows {
                found.insert(r.try_get("key")?, r.try_get("doc_id")?);
            }
            for k in chunk {
                let id = found.get(k.as_str()).copied();
                self.keys_seen.insert((*k).clone(), id);
            }
        }
        Ok(())
    }

    /// The id of the next new document.
    pub(super) async fn next_id(&mut self, store: &Store, tx: &mut Tx) -> Result<i64> {
        loop {
            match &mut self.ids {
                Ids::Next(next) => {
                    *next += 1;
                    return Ok(*next - 1);
                }
                Ids::Taken(ids) => {
                    if let Some(id) = ids.pop_front() {
                        return Ok(id);
                    }
                }
                Ids::Unknown => {}
            }
            if store.is_postgres() {
                let n = std::mem::replace(&mut self.expected, 1);
                let rows: Vec<(i64,)> = sqlx::query_as(&format!(
                    "SELECT nextval(pg_get_serial_sequence('documents', 'id')) FROM generate_series(1, {n}) ORDER BY 1"
                ))
                .fetch_all(&mut **tx)
                .await?;
                self.ids = Ids::Taken(rows.into_iter().map(|r| r.0).collect());
            } else {
                let (max,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM documents")
                    .fetch_one(&mut **tx)
                    .await?;
                self.ids = Ids::Next(max + 1);
            }
        }
    }

    /// Writes the queued rows, the audit events and the counters.
    pub(super) async fn write(&mut self, tx: &mut Tx) -> Result<()> {
        let numbers = &self.by_reg_no;
        self.documents.insert(tx).await.map_err(|e| match &e {
            sqlx::Error::Database(d) if d.message().to_lowercase().contains("unique") => {
                let mut nos: Vec<&String> = numbers.keys().collect();
                nos.sort_unstable();
                Error::Conflict(match nos.as_slice() {
                    [one] => format!("registration number {one} is already taken"),
                    _ => format!(
                        "one of the registration numbers {} is already taken",
                        nos.iter()
                            .map(|n| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
            }
            _ => Error::Database(e),
        })?;
        let keys = self.source_keys.len() as u64;
        if self.source_keys.insert(tx).await? != keys {
            return Err(Error::Conflict(
                "duplicate: a source key of these documents was registered meanwhile".into(),
            ));
        }
        self.parties.insert(tx).await?;
        self.doc_files.insert(tx).await?;
        self.file_texts.insert(tx).await?;
        audit::flush(tx, &mut self.cursor).await?;
        self.counters.flush(tx).await
    }
}
