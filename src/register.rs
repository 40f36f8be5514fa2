//! The register: the only writer of documents. Every write happens in one
//! transaction that also appends to the audit chain.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::audit;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::limits;
use crate::model::*;
use crate::numbering::{self, Pattern};
use crate::series::SeriesList;
use crate::store::rows::{bind_all, is_sqlite, placeholders, Rows, Value, MAX_PARAMS};
use crate::store::{self, Store, Tx};

#[derive(Clone)]
pub struct Register {
    store: Store,
    config: Arc<Config>,
    series: Arc<SeriesList>,
    /// The agency's time zone, looked up once (it dates every registration).
    tz: jiff::tz::TimeZone,
    vocab: Vocab,
}

/// The vocabularies the register checks input against, loaded once at start.
#[derive(Clone)]
pub struct Vocab {
    pub kinds: Arc<crate::kinds::Kinds>,
    pub grounds: Arc<crate::restriction::Grounds>,
    /// The ids of the loaded deadline rules (`deadlines.rules_file` or the built-in).
    pub rules: Arc<Vec<String>>,
}

impl Vocab {
    /// Loads the configured kinds, grounds and deadline rules and checks that
    /// they agree with each other and with the document list.
    pub fn load(config: &Config, series: &SeriesList) -> Result<Vocab> {
        let kinds = crate::kinds::Kinds::load(&config.kinds_file)?;
        let grounds = crate::restriction::Grounds::load(&config.grounds_file)?;
        let rules: Vec<String> = config
            .deadlines
            .rules()?
            .all()
            .iter()
            .map(|r| r.id.clone())
            .collect();
        kinds.check_rules(|r| rules.iter().any(|x| x == r))?;
        series.check_grounds(&grounds)?;
        grounds.require(
            "ingest.personal_data_ground",
            &config.ingest.personal_data_ground,
        )?;
        Ok(Vocab {
            kinds: Arc::new(kinds),
            grounds: Arc::new(grounds),
            rules: Arc::new(rules),
        })
    }

    /// A deadline rule of the loaded rules, or an error naming the field and the valid ones.
    pub fn require_rule(&self, field: &str, id: &str) -> Result<()> {
        if self.rules.iter().any(|r| r == id) {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "tundmatu tähtaja reegel {id:?} (väli {field}); lubatud: {} (unknown deadline rule)",
                self.rules.join(", ")
            )))
        }
    }
}

/// Filters of the document list; every field is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ListFilter {
    pub series: Option<String>,
    pub direction: Option<Direction>,
    pub doc_type: Option<String>,
    pub responsible: Option<String>,
    pub needs_review: Option<bool>,
    pub registered_from: Option<Date>,
    pub registered_to: Option<Date>,
    pub thread_id: Option<i64>,
    pub restricted: Option<bool>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    /// Newest first when true (the default order is oldest first); with
    /// `order`, descending.
    pub newest_first: bool,
    /// What the list is ordered by (the register page's sorting).
    pub order: ListOrder,
}

/// The orders of the document list; each breaks ties by id in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// Registration order (the id).
    #[default]
    Id,
    /// The registration number: series, then the running number (index `documents_series`).
    RegNo,
    /// The registration date (index `documents_registered`).
    Registered,
    /// The reply deadline (`deadlines.due`); documents without one last.
    Due,
    /// The first party's name as the public register shows it: natural persons
    /// all as "eraisik", so the order reveals no hidden name.
    Party,
}

impl ListOrder {
    /// The `ORDER BY` clause, descending when `desc`. For `Due` and `Party` this
    /// is the reference form (a correlated subquery, a full sort at every page);
    /// `Register::list` reads those orders through indexes instead (`keyed`)
    /// and gives exactly the documents and order this clause gives.
    pub fn sql(self, desc: bool) -> String {
        let d = if desc { "DESC" } else { "ASC" };
        match self {
            ListOrder::Id => format!("ORDER BY id {d}"),
            ListOrder::RegNo => format!("ORDER BY series {d}, id {d}"),
            ListOrder::Registered => format!("ORDER BY registered {d}, id {d}"),
            ListOrder::Due => format!(
                "ORDER BY (SELECT dl.due FROM deadlines dl WHERE dl.doc_id = documents.id) {d} NULLS LAST, id {d}"
            ),
            ListOrder::Party => format!(
                "ORDER BY (SELECT CASE WHEN p.kind = 'person' THEN 'eraisik' ELSE p.name END FROM parties p \
                 WHERE p.doc_id = documents.id ORDER BY p.pos LIMIT 1) {d} NULLS LAST, id {d}"
            ),
        }
    }

    /// For the orders by a key of another table (`Due`, `Party`): where the key
    /// is (`Keyed`). None for the orders by a column of `documents`.
    fn keyed(self) -> Option<Keyed> {
        match self {
            ListOrder::Due => Some(Keyed {
                table: "deadlines k",
                alias: "k",
                key: "k.due",
                has_key: "k.due IS NOT NULL",
            }),
            ListOrder::Party => Some(Keyed {
                table: "parties p",
                alias: "p",
                key: PARTY_KEY,
                has_key: "p.pos = 0",
            }),
            _ => None,
        }
    }
}

/// A list order by a key of another table with one row per document (at
/// most) that has it: an index on (`key`, doc_id) restricted to `has_key`
/// (migration 0018: `deadlines_due_doc`, `parties_first_sort`) yields the
/// documents with a key in key order (backwards for descending); the documents
/// without one come after them, by id (NULLS LAST in both directions).
struct Keyed {
    /// The table and its alias, as in `FROM`.
    table: &'static str,
    alias: &'static str,
    /// The sort key, exactly the index's expression.
    key: &'static str,
    /// The condition of the rows that hold a document's key (the index's `WHERE`).
    has_key: &'static str,
}

/// With filters, the keyed list first tries the page among this many first keys
/// (20 times the page's end, within these bounds): see `Register::list_keyed`.
const KEYED_WALK_MIN: i64 = 2_000;
const KEYED_WALK_MAX: i64 = 100_000;

/// The first party's sort key: the index expression of `parties_first_sort`
/// (migration 0018), on the parties row `p`.
const PARTY_KEY: &str = "CASE WHEN p.kind = 'person' THEN 'eraisik' ELSE p.name END";

/// An edit of a document's metadata: `None` leaves a field as it is; for the
/// optional fields, `Some(None)` clears them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MetadataPatch {
    pub title: Option<String>,
    /// The public title; `Some(None)` clears it (the public then sees the masked title).
    pub public_title: Option<Option<String>>,
    pub doc_type: Option<Option<String>>,
    /// The document kind (config/document-kinds.toml).
    pub kind: Option<Option<String>>,
    pub their_ref: Option<Option<String>>,
    pub their_date: Option<Option<Date>>,
    pub received: Option<Option<Date>>,
    pub responsible: Option<Option<String>>,
    pub unit: Option<Option<String>>,
    pub parties: Option<Vec<Party>>,
    pub needs_review: Option<bool>,
    /// A new series: a thread's only document gets a new number in it, the old
    /// number kept as an alias (`reg_no_aliases`); a follow-up keeps its thread's series.
    pub series: Option<String>,
    pub direction: Option<Direction>,
    pub channel: Option<Channel>,
}

const DOC_COLS: &str = "id, reg_no, series, direction, channel, doc_type, kind, r_until_decision, title, public_title, their_ref, their_date, thread_id, parent_id, received, registered_at, registered, responsible, unit, r_ground, r_holder, r_begins, r_ends, r_marked, r_extended, message_id, personal_data, proposed_ground, needs_review, reply_kind, received_at";

/// The hash of a document's state as the audit chain records it.
pub fn state_hash(doc: &Document, body: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(doc).unwrap_or_default());
    h.update(b"\n");
    h.update(body.unwrap_or("").as_bytes());
    hex::encode(h.finalize())
}

fn opt_date(s: Option<String>) -> Result<Option<Date>> {
    s.map(|s| {
        s.parse::<Date>()
            .map_err(|e| Error::internal(format!("bad stored date {s:?}: {e}")))
    })
    .transpose()
}

fn doc_from_row(r: &sqlx::any::AnyRow) -> Result<Document> {
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

impl Register {
    pub fn new(
        store: Store,
        config: Arc<Config>,
        series: Arc<SeriesList>,
        vocab: Vocab,
    ) -> Register {
        let tz = config.timezone();
        Register {
            store,
            config,
            series,
            tz,
            vocab,
        }
    }

    /// The kinds, grounds and deadline rules the register checks input against.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn series(&self) -> &SeriesList {
        &self.series
    }

    pub async fn begin(&self) -> Result<Tx> {
        self.store.begin_write().await
    }

    /// The registration date of a moment: its calendar date in the agency's time zone.
    pub fn local_date(&self, ts: jiff::Timestamp) -> Date {
        ts.to_zoned(self.tz.clone()).date()
    }

    pub fn today(&self) -> Date {
        self.local_date(jiff::Timestamp::now())
    }

    /// Registers one document in its own transaction.
    pub async fn register(&self, new: NewDocument, actor: &str) -> Result<Document> {
        let mut new = new;
        self.open_containers(&mut new).await?;
        let mut tx = self.begin().await?;
        let doc = self.register_in(&mut tx, new, actor).await?;
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
    /// Parsing runs isolated (blocking thread, `ingest.extract_timeout_secs`),
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

    async fn open_signed_containers(&self, new: &mut NewDocument) -> Result<bool> {
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
        tx.commit().await?;
        Ok(out)
    }

    /// What a registration sets off in the same transaction: a referral's
    /// terms or an invoice are recorded; the document joins
    /// its file unit; a decision
    /// (kind "otsus" or "vastus") lifts the restrictions of its case that
    /// waited for it (AvTS § 40 lg 2).
    async fn after_registration_in(
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
    fn validate_restriction(
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
        limits::check("restriction ground", ground, limits::GROUND)?;
        limits::check_opt("restriction holder", r.holder.as_deref(), limits::HOLDER)?;
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

    /// The ground for victim data where the series has none (`ingest.personal_data_ground`).
    pub fn victim_ground(&self) -> &str {
        let g = self.config.ingest.personal_data_ground.trim();
        if g.is_empty() {
            crate::personal_data::VICTIM_DATA_GROUND
        } else {
            g
        }
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
    async fn register_with(
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
            return Err(Error::invalid("invalid title: it is empty"));
        }
        let public_title = new
            .public_title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        limits::check("title", &title, limits::TITLE)?;
        limits::check_opt(
            "public title",
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
        limits::check_opt(
            "their reference",
            new.their_ref.as_deref(),
            limits::THEIR_REF,
        )?;
        limits::check_opt(
            "responsible",
            new.responsible.as_deref(),
            limits::RESPONSIBLE,
        )?;
        limits::check_opt("unit", new.unit.as_deref(), limits::UNIT)?;
        limits::check_opt("message id", new.message_id.as_deref(), limits::MESSAGE_ID)?;
        if new
            .body
            .as_ref()
            .is_some_and(|b| b.len() > limits::BODY_BYTES)
        {
            return Err(Error::invalid(format!(
                "invalid body: it is longer than {} bytes",
                limits::BODY_BYTES
            )));
        }
        let public_reason = match new.public_reason.as_deref().map(str::trim) {
            None => None,
            Some("") => {
                return Err(Error::invalid(
                    "invalid public reason: it is empty (a document registered as public needs a reason)",
                ))
            }
            Some(r) => {
                limits::check("public reason", r, limits::REASON)?;
                if new.restriction.is_some() {
                    return Err(Error::invalid(
                        "invalid public reason: the document is also given a restriction (one or the other)",
                    ));
                }
                Some(r.to_string())
            }
        };
        for (i, f) in new.files.iter().enumerate() {
            if f.name.trim().is_empty() {
                return Err(Error::invalid("invalid file: its name is empty"));
            }
            limits::check("file name", &f.name, limits::FILE_NAME)?;
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
                return Err(Error::invalid(format!(
                    "invalid received_at {t}: it is after the registration time {registered_at}"
                )));
            }
        }
        if new.reply_kind.is_some() && new.direction != crate::model::Direction::Outgoing {
            return Err(Error::invalid(
                "invalid --reply-kind: only an outgoing document is a reply (vastuse liik sobib ainult väljaminevale dokumendile)",
            ));
        }
        if new.reply_kind.is_some() && new.reply_to.is_none() {
            return Err(Error::invalid(
                "invalid --reply-kind: it needs --reply-to, the document answered (vastuse liik vajab vastatavat dokumenti)",
            ));
        }
        if let Some(rcv) = received {
            if rcv > registered {
                return Err(Error::invalid(format!(
                    "invalid --received {rcv}: it is after the registration date {registered}"
                )));
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
                        Error::invalid(format!(
                            "unknown --reply-to {parent_no:?}: no such registration number"
                        ))
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
                    return Err(Error::invalid(format!(
                        "invalid --series {}: a follow-up of {parent_no} belongs to its thread's series {root_series}",
                        new.series.as_deref().unwrap_or_default()
                    )));
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
                let pattern = Pattern::parse(
                    series
                        .pattern
                        .as_deref()
                        .unwrap_or(&self.config.numbering.pattern),
                )?;
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
        let r = doc.restriction.as_ref();
        pending.documents.push([
            Value::from(id),
            Value::from(doc.reg_no.as_str()),
            Value::from(doc.series.as_str()),
            Value::from(doc.direction.as_str()),
            Value::from(doc.channel.as_str()),
            Value::from(&doc.doc_type),
            Value::from(doc.title.as_str()),
            Value::from(&doc.public_title),
            Value::from(&doc.their_ref),
            Value::from(doc.their_date.map(|d| d.to_string())),
            Value::from(thread_id),
            Value::from(parent_id),
            Value::from(doc.received.map(|d| d.to_string())),
            Value::from(registered_at),
            Value::from(registered.to_string()),
            Value::from(&doc.responsible),
            Value::from(&doc.unit),
            Value::from(r.map(|r| r.ground.clone())),
            Value::from(r.map(|r| r.holder.clone())),
            Value::from(r.map(|r| r.begins.to_string())),
            Value::from(r.map(|r| r.ends.to_string())),
            Value::from(r.map(|r| r.marked.to_string())),
            Value::from(0i64),
            Value::from(&doc.message_id),
            Value::from(i64::from(doc.contains_personal_data)),
            Value::from(&doc.proposed_ground),
            Value::from(i64::from(doc.needs_review)),
            Value::from(&doc.kind),
            Value::from(r.and_then(|r| r.until_decision)),
            Value::from(&new.body),
            Value::from(doc.reply_kind.map(|k| k.as_str().to_string())),
            Value::from(doc.received_at.map(store::ts_text)),
        ]);
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
    async fn find_doc_in(&self, tx: &mut Tx, reg_no: &str) -> Result<Option<(i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT id, thread_id FROM documents WHERE reg_no = $1 \
             OR id IN (SELECT doc_id FROM reg_no_aliases WHERE reg_no = $2) ORDER BY id LIMIT 1",
        )
        .bind(reg_no)
        .bind(reg_no)
        .fetch_optional(&mut **tx)
        .await?)
    }

    pub async fn find_by_source_key(&self, key: &str) -> Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT doc_id FROM source_keys WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.store.pool)
            .await?;
        Ok(row.map(|r| r.0))
    }

    /// The documents registered under any of `keys`, with one statement per
    /// [`MAX_PARAMS`] keys: key -> (document id, registration number); keys not
    /// registered are absent.
    pub async fn find_by_source_keys(
        &self,
        keys: &[&str],
    ) -> Result<HashMap<String, (i64, String)>> {
        let mut found = HashMap::new();
        let sqlite = !self.store.is_postgres();
        for chunk in keys.chunks(MAX_PARAMS) {
            let sql = format!(
                "SELECT s.key, s.doc_id, d.reg_no FROM source_keys s JOIN documents d ON d.id = s.doc_id WHERE s.key IN ({})",
                placeholders(sqlite, 0, chunk.len())
            );
            let rows = bind_all(sqlx::query(&sql), chunk.iter().map(|k| Value::from(*k)))
                .fetch_all(&self.store.pool)
                .await?;
            for r in &rows {
                found.insert(
                    r.try_get("key")?,
                    (r.try_get("doc_id")?, r.try_get("reg_no")?),
                );
            }
        }
        Ok(found)
    }

    async fn fill(&self, docs: &mut [Document]) -> Result<()> {
        if docs.is_empty() {
            return Ok(());
        }
        let mut conn = self.store.pool.acquire().await?;
        fill_on(&mut conn, docs).await
    }

    async fn query_docs(
        &self,
        where_sql: &str,
        binds: Vec<Value>,
        tail: &str,
    ) -> Result<Vec<Document>> {
        let sql = format!("SELECT {DOC_COLS} FROM documents {where_sql} {tail}");
        let q = bind_all(sqlx::query(&sql), binds);
        let rows = q.fetch_all(&self.store.pool).await?;
        let mut docs = rows.iter().map(doc_from_row).collect::<Result<Vec<_>>>()?;
        self.fill(&mut docs).await?;
        Ok(docs)
    }

    pub async fn get(&self, id: i64) -> Result<Document> {
        self.query_docs("WHERE id = $1", vec![Value::from(id)], "")
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(format!("document {id} not found")))
    }

    /// The document with this number, or the one that had it before it moved to
    /// another series (`reg_no_aliases`).
    pub async fn find_by_reg_no(&self, reg_no: &str) -> Result<Option<Document>> {
        if let Some(d) = self
            .query_docs(
                "WHERE reg_no = $1",
                vec![Value::from(reg_no.to_string())],
                "",
            )
            .await?
            .pop()
        {
            return Ok(Some(d));
        }
        Ok(self
            .query_docs(
                "WHERE id IN (SELECT doc_id FROM reg_no_aliases WHERE reg_no = $1)",
                vec![Value::from(reg_no.to_string())],
                "",
            )
            .await?
            .pop())
    }

    pub async fn get_by_reg_no(&self, reg_no: &str) -> Result<Document> {
        self.find_by_reg_no(reg_no)
            .await?
            .ok_or_else(|| Error::not_found(format!("unknown registration number {reg_no:?}")))
    }

    pub async fn find_by_message_id(&self, message_id: &str) -> Result<Vec<Document>> {
        self.query_docs(
            "WHERE message_id = $1",
            vec![Value::from(message_id.to_string())],
            "ORDER BY id",
        )
        .await
    }

    /// The threading look-up of another party's reference: the first `limit`
    /// documents recorded with it as (id, reg_no, thread_id), oldest first, plus
    /// one in another thread when those share one. Light rows, bounded: a
    /// reference many documents share (a law's number) costs neither full loads
    /// nor a candidate list that grows with the register, and the decision
    /// (one thread or several) is the same as over all of them.
    pub async fn their_ref_candidates(
        &self,
        their_ref: &str,
        limit: i64,
    ) -> Result<Vec<(i64, String, i64)>> {
        let mut rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT id, reg_no, thread_id FROM documents WHERE their_ref = $1 ORDER BY id LIMIT $2",
        )
        .bind(their_ref.to_string())
        .bind(limit)
        .fetch_all(&self.store.pool)
        .await?;
        if rows.len() as i64 == limit && rows.iter().all(|r| r.2 == rows[0].2) {
            let other: Option<(i64, String, i64)> = sqlx::query_as(
                "SELECT id, reg_no, thread_id FROM documents WHERE their_ref = $1 AND thread_id <> $2 ORDER BY id LIMIT 1",
            )
            .bind(their_ref.to_string())
            .bind(rows[0].2)
            .fetch_optional(&self.store.pool)
            .await?;
            rows.extend(other);
        }
        Ok(rows)
    }

    pub async fn find_by_their_ref(&self, their_ref: &str) -> Result<Vec<Document>> {
        self.query_docs(
            "WHERE their_ref = $1",
            vec![Value::from(their_ref.to_string())],
            "ORDER BY id",
        )
        .await
    }

    pub async fn thread(&self, thread_id: i64) -> Result<Vec<Document>> {
        self.query_docs(
            "WHERE thread_id = $1",
            vec![Value::from(thread_id)],
            "ORDER BY id",
        )
        .await
    }

    /// The threads in which `name` is responsible for some document (their case).
    pub async fn threads_of_responsible(&self, name: &str) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT DISTINCT thread_id FROM documents WHERE responsible = $1 ORDER BY thread_id",
        )
        .bind(name.to_string())
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>("thread_id").map_err(Error::from))
            .collect()
    }

    fn filter_sql(f: &ListFilter) -> (String, Vec<Value>) {
        let (clauses, binds) = Self::filter_clauses(f, "");
        let w = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        (w, binds)
    }

    /// The list's filters as conditions on the columns of `documents`, each
    /// column prefixed with `t` (a table alias and a dot, or nothing).
    fn filter_clauses(f: &ListFilter, t: &str) -> (Vec<String>, Vec<Value>) {
        let mut clauses: Vec<String> = Vec::new();
        let mut binds = Vec::new();
        let mut push = |clause: &str, b: Value, binds: &mut Vec<Value>| {
            binds.push(b);
            clauses.push(clause.replace('?', &format!("${}", binds.len())));
        };
        if let Some(s) = &f.series {
            push(
                &format!("{t}series = ?"),
                Value::from(s.clone()),
                &mut binds,
            );
        }
        if let Some(d) = f.direction {
            push(
                &format!("{t}direction = ?"),
                Value::from(d.as_str()),
                &mut binds,
            );
        }
        if let Some(ty) = &f.doc_type {
            push(
                &format!("{t}doc_type = ?"),
                Value::from(ty.clone()),
                &mut binds,
            );
        }
        if let Some(r) = &f.responsible {
            push(
                &format!("{t}responsible = ?"),
                Value::from(r.clone()),
                &mut binds,
            );
        }
        if let Some(n) = f.needs_review {
            push(
                &format!("{t}needs_review = ?"),
                Value::from(i64::from(n)),
                &mut binds,
            );
        }
        if let Some(d) = f.registered_from {
            push(
                &format!("{t}registered >= ?"),
                Value::from(d.to_string()),
                &mut binds,
            );
        }
        if let Some(d) = f.registered_to {
            push(
                &format!("{t}registered <= ?"),
                Value::from(d.to_string()),
                &mut binds,
            );
        }
        if let Some(th) = f.thread_id {
            push(&format!("{t}thread_id = ?"), Value::from(th), &mut binds);
        }
        match f.restricted {
            Some(true) => clauses.push(format!("{t}r_ground IS NOT NULL")),
            Some(false) => clauses.push(format!("{t}r_ground IS NULL")),
            None => {}
        }
        (clauses, binds)
    }

    pub async fn list(&self, f: &ListFilter) -> Result<Vec<Document>> {
        match f.order.keyed() {
            Some(keyed) => self.list_keyed(f, keyed).await,
            None => self.list_by_subquery(f).await,
        }
    }

    /// A page of the list in an order by another table's key (`ListOrder::keyed`),
    /// exactly what `ListOrder::sql` gives: first the documents with a key, in
    /// key order through the key's index; when the page reaches past them, the
    /// documents without one, by id (NULLS LAST in both directions).
    ///
    /// Without filters the offset is skipped inside the index alone (covering
    /// for deadlines; an index step without reading the row for parties) and
    /// only the page's rows join their documents. With filters, the first
    /// `KEYED_WALK_MAX` keys at most are tried first: when the page is among them,
    /// the walk stops there (a filter most documents pass: "incoming", an
    /// official); otherwise the planner chooses between walking the index and
    /// sorting the filtered documents (a selective filter is served by its own
    /// index and a sort of what it matches). The documents without a key are
    /// read in id order, each checked against the key's table. Only a page that
    /// starts past the keyed documents counts them and the documents (to know
    /// where the rest begins and ends) and reads from the nearer end: a page
    /// deep among them costs a probe per document walked from that end (at
    /// worst, in the middle of them, half the documents).
    ///
    /// Relies on every `deadlines` and `parties` row belonging to a document
    /// (documents are never deleted: destruction keeps the metadata).
    async fn list_keyed(&self, f: &ListFilter, k: Keyed) -> Result<Vec<Document>> {
        let d = if f.newest_first { "DESC" } else { "ASC" };
        let offset = f.offset.unwrap_or(0).max(0);
        // No limit: the largest one (SQLite needs a LIMIT for an OFFSET).
        let limit = f.limit.map_or(i64::MAX, |l| l.max(0));
        let cols = DOC_COLS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let (clauses, binds) = Self::filter_clauses(f, "d.");
        let and_filters: String = clauses.iter().map(|c| format!("{c} AND ")).collect();
        let Keyed {
            table,
            alias: a,
            key,
            has_key,
        } = k;
        // The keyed rows in key order, as (doc_id, sort_key).
        let walk = |lim: i64, off: i64| {
            format!(
                "SELECT {a}.doc_id, {key} AS sort_key FROM {table} WHERE {has_key} \
                 ORDER BY {key} {d}, {a}.doc_id {d} LIMIT {lim} OFFSET {off}"
            )
        };
        let fetch = |sql: String, binds: Vec<Value>| async move {
            let rows = bind_all(sqlx::query(&sql), binds)
                .fetch_all(&self.store.pool)
                .await?;
            rows.iter().map(doc_from_row).collect::<Result<Vec<_>>>()
        };
        let mut docs = None;
        if clauses.is_empty() {
            docs = Some(
                fetch(
                    format!(
                        "SELECT {cols} FROM ({}) s JOIN documents d ON d.id = s.doc_id \
                         ORDER BY s.sort_key {d}, s.doc_id {d}",
                        walk(limit, offset)
                    ),
                    vec![],
                )
                .await?,
            );
        } else if limit > 0 {
            let end = offset.saturating_add(limit);
            let cap = end.saturating_mul(20).clamp(KEYED_WALK_MIN, KEYED_WALK_MAX);
            if end <= cap {
                let page = fetch(
                    format!(
                        "SELECT {cols} FROM ({}) s JOIN documents d ON d.id = s.doc_id \
                         WHERE {} ORDER BY s.sort_key {d}, s.doc_id {d} LIMIT {limit} OFFSET {offset}",
                        walk(cap, 0),
                        clauses.join(" AND ")
                    ),
                    binds.clone(),
                )
                .await?;
                // A full page among the first keys is the page (the keys after
                // them come after it); a short one may miss later keys.
                if page.len() as i64 == limit {
                    docs = Some(page);
                }
            }
        }
        let mut docs = match docs {
            Some(docs) => docs,
            None => {
                fetch(
                    format!(
                        "SELECT {cols} FROM {table} JOIN documents d ON d.id = {a}.doc_id \
                         WHERE {and_filters}{has_key} ORDER BY {key} {d}, {a}.doc_id {d} \
                         LIMIT {limit} OFFSET {offset}"
                    ),
                    binds.clone(),
                )
                .await?
            }
        };
        let rest = limit.saturating_sub(docs.len() as i64);
        if rest > 0 {
            let count = |sql: String| {
                let binds = binds.clone();
                async move {
                    let row = bind_all(sqlx::query(&sql), binds)
                        .fetch_one(&self.store.pool)
                        .await?;
                    Ok::<i64, Error>(row.try_get::<i64, _>("n")?)
                }
            };
            let unkeyed = |dir: &str, lim: i64, off: i64| {
                format!(
                    "SELECT {cols} FROM documents d WHERE {and_filters}NOT EXISTS \
                     (SELECT 1 FROM {table} WHERE {a}.doc_id = d.id AND {has_key}) \
                     ORDER BY d.id {dir} LIMIT {lim} OFFSET {off}"
                )
            };
            if docs.is_empty() && offset > 0 {
                // The page starts past the keyed documents: after `offset - keyed`
                // of the others, read from the nearer end of their id order (a
                // page near the end of the list walks only the documents after it).
                let (keyed, total) = if clauses.is_empty() {
                    (
                        count(format!("SELECT COUNT(*) AS n FROM {table} WHERE {has_key}")).await?,
                        count("SELECT COUNT(*) AS n FROM documents".to_string()).await?,
                    )
                } else {
                    let w = clauses.join(" AND ");
                    (
                        count(format!(
                            "SELECT COUNT(*) AS n FROM {table} JOIN documents d ON d.id = {a}.doc_id \
                             WHERE {w} AND {has_key}"
                        ))
                        .await?,
                        count(format!("SELECT COUNT(*) AS n FROM documents d WHERE {w}")).await?,
                    )
                };
                let others = total.saturating_sub(keyed).max(0);
                let skip = offset.saturating_sub(keyed).max(0);
                let take = rest.min(others.saturating_sub(skip).max(0));
                if take > 0 {
                    let sql = if skip > others / 2 {
                        let back = if f.newest_first { "ASC" } else { "DESC" };
                        unkeyed(back, take, others - skip - take)
                    } else {
                        unkeyed(d, take, skip)
                    };
                    let mut page = fetch(sql, binds.clone()).await?;
                    if skip > others / 2 {
                        page.reverse();
                    }
                    docs.extend(page);
                }
            } else {
                docs.extend(fetch(unkeyed(d, rest, 0), binds.clone()).await?);
            }
        }
        self.fill(&mut docs).await?;
        Ok(docs)
    }

    /// The reference form of `list` for every order (`ListOrder::sql`: the
    /// correlated subqueries for `Due` and `Party`); tests compare `list` with it.
    #[doc(hidden)]
    pub async fn list_by_subquery(&self, f: &ListFilter) -> Result<Vec<Document>> {
        let (w, binds) = Self::filter_sql(f);
        let mut tail = f.order.sql(f.newest_first);
        if let Some(l) = f.limit {
            tail.push_str(&format!(" LIMIT {}", l.max(0)));
            if let Some(o) = f.offset {
                tail.push_str(&format!(" OFFSET {}", o.max(0)));
            }
        } else if let Some(o) = f.offset {
            // An offset needs a limit on SQLite; the largest one means none.
            tail.push_str(&format!(" LIMIT {} OFFSET {}", i64::MAX, o.max(0)));
        }
        self.query_docs(&w, binds, &tail).await
    }

    pub async fn count(&self, f: &ListFilter) -> Result<i64> {
        let (w, binds) = Self::filter_sql(f);
        let sql = format!("SELECT COUNT(*) AS n FROM documents {w}");
        let q = bind_all(sqlx::query(&sql), binds);
        let row = q.fetch_one(&self.store.pool).await?;
        Ok(row.try_get::<i64, _>("n")?)
    }

    /// A page of documents with their bodies, in id order after `after_id` (for verify and rebuilds).
    pub async fn load_page(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(Document, Option<String>)>> {
        let sql = format!(
            "SELECT {DOC_COLS}, body FROM documents WHERE id > $1 ORDER BY id LIMIT {limit}"
        );
        let rows = sqlx::query(&sql)
            .bind(after_id)
            .fetch_all(&self.store.pool)
            .await?;
        let mut docs = rows.iter().map(doc_from_row).collect::<Result<Vec<_>>>()?;
        let bodies = rows
            .iter()
            .map(|r| r.try_get::<Option<String>, _>("body"))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        self.fill(&mut docs).await?;
        Ok(docs.into_iter().zip(bodies).collect())
    }

    /// For each file of a document, in order: the position of the signed
    /// container it was taken from (None: a file received as such).
    pub async fn container_positions(&self, doc_id: i64) -> Result<Vec<Option<usize>>> {
        let rows: Vec<(Option<i64>,)> =
            sqlx::query_as("SELECT container_pos FROM doc_files WHERE doc_id = $1 ORDER BY pos")
                .bind(doc_id)
                .fetch_all(&self.store.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|r| r.0.and_then(|p| usize::try_from(p).ok()))
            .collect())
    }

    pub async fn body(&self, id: i64) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT body FROM documents WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.store.pool)
                .await?;
        Ok(row.and_then(|r| r.0))
    }

    pub async fn file_text(&self, sha256: &str) -> Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT text FROM file_texts WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(&self.store.pool)
                .await?;
        Ok(row.map(|r| r.0))
    }

    /// The text status of each file of a document, in file order: (status, note).
    pub async fn file_text_status(&self, doc_id: i64) -> Result<Vec<(TextStatus, Option<String>)>> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT text_status, text_note FROM doc_files WHERE doc_id = $1 ORDER BY pos",
        )
        .bind(doc_id)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(s, n)| (TextStatus::parse(&s), n))
            .collect())
    }

    pub async fn file_bytes(&self, sha256: &str) -> Result<Vec<u8>> {
        self.store.read_file(sha256).await
    }

    pub async fn events(&self, doc_id: i64) -> Result<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT seq, at, doc_id, kind, actor, detail, state_hash, prev_hash, hash FROM events WHERE doc_id = $1 ORDER BY seq",
        )
        .bind(doc_id)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter().map(audit::event_from_row).collect()
    }

    /// Events after `seq` in order (the change feed), at most `limit`.
    pub async fn events_after(&self, seq: i64, limit: i64) -> Result<Vec<Event>> {
        let rows = sqlx::query(&format!(
            "SELECT seq, at, doc_id, kind, actor, detail, state_hash, prev_hash, hash FROM events WHERE seq > $1 ORDER BY seq LIMIT {limit}"
        ))
        .bind(seq)
        .fetch_all(&self.store.pool)
        .await?;
        rows.iter().map(audit::event_from_row).collect()
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
                return Err(Error::invalid("invalid title: it is empty"));
            }
            limits::check("title", &t, limits::TITLE)?;
            if t != doc.title {
                doc.title = t;
                changed.push("title");
            }
        }
        if let Some(t) = patch.public_title {
            let t = t.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
            limits::check_opt("public title", t.as_deref(), limits::PUBLIC_TITLE)?;
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
            limits::check_opt("their reference", v.as_deref(), limits::THEIR_REF)?;
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
    async fn renumber_in(
        &self,
        tx: &mut Tx,
        doc: &mut Document,
        series: &crate::series::Series,
    ) -> Result<String> {
        if doc.parent_id.is_some() {
            return Err(Error::invalid(format!(
                "invalid series {}: a follow-up belongs to its thread's series {}",
                series.code, doc.series
            )));
        }
        let (others,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM documents WHERE thread_id = $1 AND id <> $2")
                .bind(doc.thread_id)
                .bind(doc.id)
                .fetch_one(&mut **tx)
                .await?;
        if others > 0 {
            return Err(Error::invalid(format!(
                "invalid series {}: {} already has follow-ups numbered in series {}",
                series.code, doc.reg_no, doc.series
            )));
        }
        let pattern = Pattern::parse(
            series
                .pattern
                .as_deref()
                .unwrap_or(&self.config.numbering.pattern),
        )?;
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

    /// The numbers a document had before it moved to another series (oldest first).
    pub async fn aliases(&self, id: i64) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT reg_no FROM reg_no_aliases WHERE doc_id = $1 ORDER BY reg_no")
                .bind(id)
                .fetch_all(&self.store.pool)
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// The documents holding a file with this SHA-256 (the clerk is told of a
    /// duplicate upload instead of registering it twice).
    pub async fn documents_with_file(&self, sha256: &str) -> Result<Vec<Document>> {
        self.query_docs(
            "WHERE id IN (SELECT doc_id FROM doc_files WHERE sha256 = $1)",
            vec![Value::from(sha256.to_ascii_lowercase())],
            "ORDER BY id",
        )
        .await
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
        let reason = ext.reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid(
                "pikendamiseks on vaja põhjust (väli reason) (an extension needs a reason)",
            ));
        }
        limits::check("reason", reason, limits::REASON)?;
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
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid(
                "invalid lifting of a restriction: a reason is required",
            ));
        }
        limits::check("reason", reason, limits::REASON)?;
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

    /// Restrictions ending within `days` days of `today` (still in force), soonest
    /// first, at most `limit` of them (the dashboard shows a few, the CLI many).
    pub async fn expiring(&self, today: Date, days: u32, limit: u32) -> Result<Vec<Document>> {
        if days > 36_600 {
            return Err(Error::invalid(format!(
                "päevade arv (within_days) {days} on liiga suur, kõige rohkem 36600 (at most 36600 days)"
            )));
        }
        let limit = limit.clamp(1, 10_000);
        let until = today
            .checked_add(jiff::Span::new().days(i64::from(days)))
            .map_err(|e| Error::invalid(e.to_string()))?;
        let sql = format!(
            "SELECT {DOC_COLS} FROM documents WHERE r_ground IS NOT NULL AND r_ends >= $1 AND r_ends <= $2 ORDER BY r_ends, id LIMIT {limit}"
        );
        let rows = sqlx::query(&sql)
            .bind(today.to_string())
            .bind(until.to_string())
            .fetch_all(&self.store.pool)
            .await?;
        let mut docs = rows.iter().map(doc_from_row).collect::<Result<Vec<_>>>()?;
        self.fill(&mut docs).await?;
        Ok(docs)
    }

    /// Lifts the "until the decision" restrictions (§ 40 lg 2) waiting for the
    /// case `thread_id`, inside the transaction that registers its decision.
    async fn lift_until_decision_in(
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

/// The kinds whose registration is the decision of a case (AvTS § 40 lg 2).
pub const DECISION_KINDS: &[&str] = &["otsus", "vastus"];

/// An extension of a restriction (AvTS § 40 lg 1).
#[derive(Debug, Clone)]
pub struct Extension {
    pub new_end: Date,
    /// The reference of the head's (lead's) decision.
    pub decision: String,
    pub reason: String,
    /// The role of the one extending (the session's, or the CLI actor's in `users`).
    pub role: crate::web::Role,
}

/// The length limits of the parties' fields.
fn check_parties(parties: &[Party]) -> Result<()> {
    for p in parties {
        limits::check("party name", &p.name, limits::PARTY_NAME)?;
        limits::check_opt("party e-mail", p.email.as_deref(), limits::PARTY_EMAIL)?;
        limits::check_opt("party code", p.code.as_deref(), limits::PARTY_CODE)?;
    }
    Ok(())
}

const PARTIES: &str = "INSERT INTO parties (doc_id, pos, kind, role, name, code, email)";

fn party_row(doc_id: i64, pos: usize, p: &Party) -> [Value; 7] {
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

async fn insert_parties_in(tx: &mut Tx, doc_id: i64, parties: &[Party]) -> Result<()> {
    let mut rows = Rows::new(PARTIES, 7, "");
    for (pos, p) in parties.iter().enumerate() {
        rows.push(party_row(doc_id, pos, p));
    }
    rows.insert(tx).await?;
    Ok(())
}

/// Where the ids of new documents come from.
enum Ids {
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
struct Pending {
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
    fn new(expected: usize) -> Pending {
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
            documents: Rows::new(
                "INSERT INTO documents (id, reg_no, series, direction, channel, doc_type, title, public_title, their_ref, their_date, thread_id, parent_id, received, registered_at, registered, responsible, unit, r_ground, r_holder, r_begins, r_ends, r_marked, r_extended, message_id, personal_data, proposed_ground, needs_review, kind, r_until_decision, body, reply_kind, received_at)",
                32,
                "",
            ),
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
    async fn look_up_keys<'a>(
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
    async fn next_id(&mut self, store: &Store, tx: &mut Tx) -> Result<i64> {
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
    async fn write(&mut self, tx: &mut Tx) -> Result<()> {
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

fn party_from_row(r: &sqlx::any::AnyRow) -> Result<Party> {
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

fn file_from_row(r: &sqlx::any::AnyRow) -> Result<FileRef> {
    Ok(FileRef {
        name: r.try_get("name")?,
        media_type: r.try_get("media_type")?,
        size: r.try_get::<i64, _>("size")? as u64,
        sha256: r.try_get("sha256")?,
    })
}

/// Loads the parties and files of `docs` on one connection (pool or transaction).
async fn fill_on(conn: &mut sqlx::AnyConnection, docs: &mut [Document]) -> Result<()> {
    if docs.is_empty() {
        return Ok(());
    }
    let in_list = docs
        .iter()
        .map(|d| d.id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let idx: std::collections::HashMap<i64, usize> =
        docs.iter().enumerate().map(|(i, d)| (d.id, i)).collect();
    let rows = sqlx::query(&format!(
        "SELECT doc_id, kind, role, name, code, email FROM parties WHERE doc_id IN ({in_list}) ORDER BY doc_id, pos"
    ))
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        if let Some(&i) = idx.get(&r.try_get::<i64, _>("doc_id")?) {
            docs[i].parties.push(party_from_row(r)?);
        }
    }
    let rows = sqlx::query(&format!(
        "SELECT doc_id, name, media_type, size, sha256 FROM doc_files WHERE doc_id IN ({in_list}) ORDER BY doc_id, pos"
    ))
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        if let Some(&i) = idx.get(&r.try_get::<i64, _>("doc_id")?) {
            docs[i].files.push(file_from_row(r)?);
        }
    }
    Ok(())
}
