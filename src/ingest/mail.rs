//! One raw message (or dropped file) to a [`NewDocument`], and the common path
//! every source takes: duplicate check, extraction in isolation, threading,
//! registration, or quarantine with the reason.

use std::sync::Arc;

use serde::Serialize;

use crate::app::App;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::extract::mail::{parse_mail_hashed, sha256_hex, MailAddr, ParsedMail};
use crate::extract::{self, FileText};
use crate::model::limits;
use crate::model::*;

use super::thread::{self, Decision, Hints};
use super::{quarantine, IngestConfig};

pub const ACTOR: &str = "ingest";

/// The largest original kept in a quarantine row; a larger one is kept by
/// metadata, its bytes set aside by the source.
pub const QUARANTINE_ROW_MAX: usize = 8 * 1024 * 1024;

/// What happened to one source item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Registered {
        doc_id: i64,
        reg_no: String,
        /// Set when the threading candidates disagreed (the clerk's triage list).
        #[serde(skip_serializing_if = "Option::is_none")]
        triage: Option<String>,
    },
    Duplicate {
        doc_id: i64,
        reg_no: String,
    },
    Quarantined {
        id: i64,
        reason: String,
    },
}

impl Outcome {
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Registered { .. } => "registered",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::Quarantined { .. } => "quarantined",
        }
    }
}

/// A message ready to register: the document and the threading hints.
#[derive(Debug)]
pub struct Prepared {
    pub new: NewDocument,
    pub hints: Hints,
    pub sha256: String,
    /// The SHA-256 of each of `new.files`, in order, computed while preparing
    /// (the files are not hashed again when they are stored).
    pub hashes: Vec<String>,
    /// The hashes of the files once [`crate::register::Register::store_files`]
    /// stored them ahead of registration.
    pub stored: Option<Vec<String>>,
}

/// Why an item goes to quarantine.
pub type Reject = String;

/// Whether an address is the agency's own: one of `agency.own_addresses`, the
/// register's address, an address of `agency.email_domains`, or an official's
/// address (`deadlines.officials`).
pub fn is_own(cfg: &Config, email: &str) -> bool {
    let e = email.trim().to_ascii_lowercase();
    if e.is_empty() {
        return false;
    }
    let domain = e.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    cfg.agency
        .own_addresses
        .iter()
        .any(|a| a.trim().eq_ignore_ascii_case(&e))
        || cfg.agency.register_address.trim().eq_ignore_ascii_case(&e)
        || cfg
            .agency
            .email_domains
            .iter()
            .any(|d| d.trim().eq_ignore_ascii_case(domain))
        || cfg
            .deadlines
            .officials
            .values()
            .any(|a| a.trim().eq_ignore_ascii_case(&e))
}

/// The official (by the name used in `responsible`) whose address this is.
fn official_of(cfg: &Config, email: &str) -> Option<String> {
    cfg.deadlines
        .officials
        .iter()
        .find(|(_, a)| a.trim().eq_ignore_ascii_case(email.trim()))
        .map(|(n, _)| n.clone())
}

/// A party from a mail address, a natural person unless known otherwise (the
/// cautious reading), clipped to the register's limits so that no header can
/// keep a message from being registered.
fn party(a: &MailAddr, role: PartyRole) -> Party {
    let name = a.name.clone().unwrap_or_else(|| a.email.clone());
    Party {
        kind: PartyKind::Person,
        role,
        name: limits::truncate(&name, limits::PARTY_NAME),
        code: None,
        email: Some(a.email.clone()).filter(|e| e.chars().count() <= limits::PARTY_EMAIL),
    }
}

/// Builds the document from a parsed message (pure apart from the config).
pub fn document_from_mail(
    cfg: &Config,
    p: &ParsedMail,
    raw: Vec<u8>,
    texts: Vec<FileText>,
    attachments: Vec<(String, String, Vec<u8>)>,
    channel: Channel,
    today: jiff::civil::Date,
) -> (NewDocument, Hints) {
    // A letter from our own address, domain or official is ours: outgoing (sent
    // by that official, to the others) or internal (every party is ours).
    let outgoing = !p.from.is_empty() && p.from.iter().all(|a| is_own(cfg, &a.email));
    let reg = cfg.agency.register_address.to_ascii_lowercase();
    let mut seen = Vec::new();
    let mut recipients: Vec<&MailAddr> = Vec::new();
    let mut own_recipients: Vec<&MailAddr> = Vec::new();
    if outgoing {
        for a in p.to.iter().chain(p.cc.iter()).chain(p.bcc.iter()) {
            let k = a.email.to_ascii_lowercase();
            if k == reg || seen.contains(&k) {
                continue;
            }
            seen.push(k);
            if is_own(cfg, &a.email) {
                own_recipients.push(a);
            } else {
                recipients.push(a);
            }
        }
    }
    let internal = outgoing && recipients.is_empty() && !own_recipients.is_empty();
    let direction = if internal {
        Direction::Internal
    } else if outgoing {
        Direction::Outgoing
    } else {
        Direction::Incoming
    };
    let parties: Vec<Party> = if internal {
        own_recipients
            .iter()
            .map(|a| party(a, PartyRole::Recipient))
            .collect()
    } else if outgoing {
        recipients
            .iter()
            .map(|a| party(a, PartyRole::Recipient))
            .collect()
    } else {
        p.from.iter().map(|a| party(a, PartyRole::Sender)).collect()
    };
    // The official who sent it answers for it.
    let sent_by = if outgoing {
        p.from.iter().find_map(|a| official_of(cfg, &a.email))
    } else {
        None
    };
    let title = if !p.subject.trim().is_empty() {
        p.subject.trim().to_string()
    } else if let Some(a) = attachments.first() {
        a.0.clone()
    } else if let Some(f) = p.from.first() {
        format!("E-kiri ({})", f.email)
    } else {
        "E-kiri (teema puudub)".to_string()
    };
    // A long subject is cut, never a reason to lose the message (the original is kept).
    let title = limits::truncate(&title, limits::TITLE);
    let tz = cfg.timezone();
    let date = p
        .date_timestamp()
        .map(|t| t.to_zoned(tz.clone()).date())
        // A Date header outside the dates docgate accepts is not a document date:
        // the letter is kept, dated as received today.
        .filter(|d| crate::model::check_date("date", *d).is_ok())
        .map(|d| d.min(today));

    let mut new = NewDocument::new(direction, channel, title);
    new.parties = parties;
    new.responsible = sent_by;
    // The arrival (AvTS § 12(1)): the topmost Received: of our own MTA, never the
    // sender's Date header; a source adds its own time when there is none
    // ([`prepare_mail_at`]). Sent mail is dated by its Date header.
    new.received_at = p
        .received_timestamp()
        .filter(|t| crate::model::check_date("received", t.to_zoned(tz.clone()).date()).is_ok());
    new.received = if outgoing { date } else { None };
    new.their_date = if outgoing { None } else { date };
    new.message_id = p
        .message_id
        .clone()
        .filter(|m| m.chars().count() <= limits::MESSAGE_ID);
    // Unclassified until a clerk confirms it: the register restricts it by default.
    new.needs_review = true;
    new.source_keys.push(format!("sha256:{}", p.sha256));
    if let Some(id) = &p.message_id {
        new.source_keys.push(format!("msgid:{id}"));
    }
    new.body = (!p.body.is_empty()).then(|| {
        let mut b = p.body.clone();
        limits::truncate_bytes(&mut b, limits::BODY_BYTES);
        b
    });

    // The original message first, then the attachments.
    let mut eml = NewFile::new("message.eml", "message/rfc822", raw);
    eml.text_status = TextStatus::NoText;
    eml.text_note = Some("the original message; its text is the document's body".into());
    new.files.push(eml);
    for ((name, mt, bytes), t) in attachments.into_iter().zip(texts) {
        let mut f = NewFile::new(limits::truncate(&name, limits::FILE_NAME), mt, bytes);
        f.text = t.text;
        f.text_status = t.status;
        f.text_note = t.note;
        new.files.push(f);
    }

    let hints = Hints::new(
        p.in_reply_to
            .iter()
            .chain(p.references.iter().rev())
            .cloned()
            .collect(),
        p.subject.clone(),
        &p.body,
    );
    (new, hints)
}

/// Extracts the text of a file in isolation (a panic or hang marks it, never crashes).
pub async fn isolated_file_text(
    ic: &IngestConfig,
    name: String,
    media_type: String,
    bytes: Arc<Vec<u8>>,
) -> FileText {
    let opts = ic.text_options();
    let b = bytes.clone();
    let what = format!("text extraction of {name}");
    match extract::isolated(&what, ic.extract_timeout(), move || {
        extract::file_text(&name, &media_type, &b, &opts)
    })
    .await
    {
        Ok(t) => t,
        Err(e) => FileText::not_extracted(format!("text not extracted: {e}")),
    }
}

/// Parses and extracts a raw message (`sha256`: the hex SHA-256 of `raw` when
/// the caller has it). `Err` carries the raw bytes back with the quarantine reason.
pub async fn prepare_mail(
    app: &App,
    raw: Vec<u8>,
    sha256: Option<String>,
    channel: Channel,
) -> std::result::Result<Prepared, (Vec<u8>, Reject)> {
    prepare_mail_at(app, raw, sha256, channel, None).await
}

/// Keeps an arrival time no later than now (a skewed clock or a hostile header
/// must not put the arrival after the registration) and inside the dates docgate counts.
fn arrival_or(
    app: &App,
    header: Option<jiff::Timestamp>,
    source: Option<jiff::Timestamp>,
) -> Option<jiff::Timestamp> {
    let now = jiff::Timestamp::now();
    header
        .or(source)
        .map(|t| t.min(now))
        .filter(|t| crate::model::check_date("arrival", app.register.local_date(*t)).is_ok())
}

/// [`prepare_mail`] with the source's own arrival time (IMAP INTERNALDATE, the
/// Maildir file's delivery time), used when the message has no `Received:` date.
pub async fn prepare_mail_at(
    app: &App,
    raw: Vec<u8>,
    sha256: Option<String>,
    channel: Channel,
    arrival: Option<jiff::Timestamp>,
) -> std::result::Result<Prepared, (Vec<u8>, Reject)> {
    let ic = &app.config.ingest;
    let limits = ic.limits();
    let raw = Arc::new(raw);
    let r2 = raw.clone();
    let parsed = extract::isolated("mail parser", ic.extract_timeout(), move || {
        parse_mail_hashed(&r2, &limits, sha256)
    })
    .await;
    let raw_back = |raw: Arc<Vec<u8>>| Arc::try_unwrap(raw).unwrap_or_else(|a| (*a).clone());
    let mut parsed = match parsed {
        Err(e) => return Err((raw_back(raw), e.to_string())),
        Ok(Err(rej)) => return Err((raw_back(raw), rej.to_string())),
        Ok(Ok(p)) => p,
    };
    let mut texts = Vec::with_capacity(parsed.attachments.len());
    let mut files = Vec::with_capacity(parsed.attachments.len());
    let mut hashes = Vec::with_capacity(parsed.attachments.len() + 1);
    hashes.push(parsed.sha256.clone());
    for a in std::mem::take(&mut parsed.attachments) {
        let text_type = a.media_type_for_text();
        hashes.push(a.sha256);
        let bytes = Arc::new(a.bytes);
        let t = isolated_file_text(ic, a.name.clone(), text_type, bytes.clone()).await;
        texts.push(t);
        files.push((a.name, a.media_type, raw_back(bytes)));
    }
    let sha = parsed.sha256.clone();
    let (mut new, hints) = document_from_mail(
        &app.config,
        &parsed,
        raw_back(raw),
        texts,
        files,
        channel,
        app.register.today(),
    );
    new.received_at = arrival_or(app, new.received_at, arrival);
    if new.direction == Direction::Incoming {
        // The received date is the arrival's date in Europe/Tallinn (none: unknown).
        new.received = new.received_at.map(|t| app.register.local_date(t));
    }
    let hashes = match open_containers(app, &mut new, hashes).await {
        Ok(h) => h,
        Err(reason) => return Err((std::mem::take(&mut new.files[0].bytes), reason)),
    };
    Ok(Prepared {
        new,
        hints,
        sha256: sha,
        hashes,
        stored: None,
    })
}

/// A dropped file (not a message) as a document with one file.
pub async fn prepare_file(
    app: &App,
    name: &str,
    bytes: Vec<u8>,
    channel: Channel,
) -> std::result::Result<Prepared, (Vec<u8>, Reject)> {
    prepare_file_at(app, name, bytes, channel, None).await
}

/// [`prepare_file`] with the file's arrival time (the drop folder's file time);
/// without one the document's arrival is unknown ("saabumisaeg teadmata").
pub async fn prepare_file_at(
    app: &App,
    name: &str,
    bytes: Vec<u8>,
    channel: Channel,
    arrival: Option<jiff::Timestamp>,
) -> std::result::Result<Prepared, (Vec<u8>, Reject)> {
    let ic = &app.config.ingest;
    if bytes.is_empty() {
        return Err((bytes, format!("empty file {name}")));
    }
    if bytes.len() as u64 > app.config.max_file_size {
        let n = bytes.len();
        return Err((
            bytes,
            format!(
                "file too large: {n} bytes, the limit is {} (max_file_size)",
                app.config.max_file_size
            ),
        ));
    }
    let sha = sha256_hex(&bytes);
    let mt = crate::mime::media_type_of(name, &bytes).into_owned();
    let bytes = Arc::new(bytes);
    let t = isolated_file_text(ic, name.to_string(), mt.clone(), bytes.clone()).await;
    let bytes = Arc::try_unwrap(bytes).unwrap_or_else(|a| (*a).clone());
    let stem = std::path::Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().replace(['_'], " "))
        .unwrap_or_else(|| name.to_string());
    let mut new = NewDocument::new(
        Direction::Incoming,
        channel,
        limits::truncate(stem.trim(), limits::TITLE),
    );
    new.received_at = arrival_or(app, None, arrival);
    new.received = new.received_at.map(|t| app.register.local_date(t));
    // Unclassified until a clerk confirms it: the register restricts it by default.
    new.needs_review = true;
    new.source_keys.push(format!("sha256:{sha}"));
    let hints = Hints::new(
        Vec::new(),
        new.title.clone(),
        t.text.as_deref().unwrap_or_default(),
    );
    let mut f = NewFile::new(
        limits::truncate(
            &crate::extract::mail::sanitize_name(name),
            limits::FILE_NAME,
        ),
        mt,
        bytes,
    );
    f.text = t.text;
    f.text_status = t.status;
    f.text_note = t.note;
    new.files.push(f);
    let hashes = match open_containers(app, &mut new, vec![sha.clone()]).await {
        Ok(h) => h,
        Err(reason) => return Err((std::mem::take(&mut new.files[0].bytes), reason)),
    };
    Ok(Prepared {
        hints,
        new,
        hashes,
        sha256: sha,
        stored: None,
    })
}

/// The register opens the signed containers among the files (their data files
/// become files of the document); the files' hashes follow. A container whose
/// structure is broken is the quarantine reason.
async fn open_containers(
    app: &App,
    new: &mut NewDocument,
    hashes: Vec<String>,
) -> std::result::Result<Vec<String>, Reject> {
    match app.register.open_containers(new).await {
        Ok(false) => Ok(hashes),
        Ok(true) => Ok(new.files.iter().map(|f| sha256_hex(&f.bytes)).collect()),
        Err(e) => Err(e.to_string()),
    }
}

/// The document a duplicate key points at.
pub async fn duplicate_of(app: &App, keys: &[String]) -> Result<Option<(i64, String)>> {
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut found = app.register.find_by_source_keys(&refs).await?;
    Ok(keys.iter().find_map(|k| found.remove(k)))
}

/// Threads and registers a prepared item in its own transaction (with its triage
/// row when the candidates disagree). A duplicate is reported, not an error.
pub async fn register_prepared(app: &App, mut p: Prepared, source: &str) -> Result<Outcome> {
    if let Some((doc_id, reg_no)) = duplicate_of(app, &p.new.source_keys).await? {
        return Ok(Outcome::Duplicate { doc_id, reg_no });
    }
    let decision = thread::resolve(&app.register, &p.hints).await?;
    let mut triage = None;
    match &decision {
        Decision::Continue { reg_no, .. } => p.new.reply_to = Some(reg_no.clone()),
        Decision::Triage { candidates } => {
            triage = Some(thread::describe(candidates));
        }
        Decision::New => {}
    }
    if p.new.their_ref.is_none() {
        p.new.their_ref = thread::their_ref_in(&p.hints.subject, &decision);
    }
    let keys = p.new.source_keys.clone();
    // Crash windows for the tests (tests/ingest_faults.rs): a transient fault (the
    // database gone) and an item that breaks ingest (a bug that one input hits).
    fail::fail_point!(
        "ingest-transient",
        p.new.title.contains("transient"),
        |_| Err(Error::Database(sqlx::Error::PoolTimedOut))
    );
    fail::fail_point!("ingest-poison", p.new.title.contains("poison"), |_| Err(
        Error::internal("failpoint ingest-poison")
    ));
    // Files above max_file_size cannot be registered: quarantine the original
    // (a large one by metadata: the source sets it aside, see `fault`).
    let max = app.config.max_file_size;
    if let Some(big) = p.new.files.iter().find(|f| f.bytes.len() as u64 > max) {
        let reason = format!(
            "cannot register: file {:?} is {} bytes, above max_file_size {max}",
            big.name,
            big.bytes.len()
        );
        if p.new.files[0].bytes.len() > QUARANTINE_ROW_MAX {
            return Err(Error::TooLarge(reason));
        }
        let raw = std::mem::take(&mut p.new.files[0].bytes);
        let (id, _) = quarantine::put(&app.store, source, raw, &reason).await?;
        return Ok(Outcome::Quarantined { id, reason });
    }
    // Keep a copy of a small original so an unexpected refusal can still be
    // quarantined; a larger one's refusal goes back to the source, which sets the
    // input aside by metadata (`fault::set_aside`).
    let raw_for_quarantine = p
        .new
        .files
        .first()
        .filter(|f| f.bytes.len() <= QUARANTINE_ROW_MAX)
        .map(|f| f.bytes.clone());
    let mut tx = app.register.begin().await?;
    let res = app.register.register_in(&mut tx, p.new, ACTOR).await;
    match res {
        Ok(doc) => {
            if let Decision::Triage { candidates } = &decision {
                thread::record_triage_in(app, &mut tx, doc.id, candidates).await?;
            }
            // Crash window (tests/faults.rs): the registering transaction's commit.
            fail::fail_point!("register-before-commit", |_| Err(Error::internal(
                "failpoint register-before-commit"
            )));
            tx.commit().await?;
            Ok(Outcome::Registered {
                doc_id: doc.id,
                reg_no: doc.reg_no,
                triage,
            })
        }
        Err(Error::Conflict(msg)) => {
            drop(tx);
            match duplicate_of(app, &keys).await? {
                Some((doc_id, reg_no)) => Ok(Outcome::Duplicate { doc_id, reg_no }),
                None => Err(Error::Conflict(msg)),
            }
        }
        Err(e) if e.is_user_error() && raw_for_quarantine.is_some() => {
            drop(tx);
            let raw = raw_for_quarantine.unwrap_or_default();
            let (id, _) =
                quarantine::put(&app.store, source, raw, &format!("cannot register: {e}")).await?;
            Ok(Outcome::Quarantined {
                id,
                reason: format!("cannot register: {e}"),
            })
        }
        Err(e) => Err(e),
    }
}

/// The path every source takes for one raw message.
pub async fn ingest_message(
    app: &App,
    raw: Vec<u8>,
    source: &str,
    channel: Channel,
) -> Result<Outcome> {
    ingest_message_at(app, raw, source, channel, None).await
}

/// [`ingest_message`] with the source's arrival time (see [`prepare_mail_at`]).
pub async fn ingest_message_at(
    app: &App,
    raw: Vec<u8>,
    source: &str,
    channel: Channel,
    arrival: Option<jiff::Timestamp>,
) -> Result<Outcome> {
    let sha = sha256_hex(&raw);
    if let Some((doc_id, reg_no)) = duplicate_of(app, &[format!("sha256:{sha}")]).await? {
        return Ok(Outcome::Duplicate { doc_id, reg_no });
    }
    match prepare_mail_at(app, raw, Some(sha), channel, arrival).await {
        Ok(p) => register_prepared(app, p, source).await,
        Err((raw, reason)) => quarantine_or_refuse(app, source, raw, reason).await,
    }
}

/// The path of a dropped or imported file: `.eml` is read as mail, anything else
/// becomes a document with the file.
pub async fn ingest_file(
    app: &App,
    name: &str,
    bytes: Vec<u8>,
    source: &str,
    channel: Channel,
) -> Result<Outcome> {
    ingest_file_at(app, name, bytes, source, channel, None).await
}

/// [`ingest_file`] with the file's arrival time.
pub async fn ingest_file_at(
    app: &App,
    name: &str,
    bytes: Vec<u8>,
    source: &str,
    channel: Channel,
    arrival: Option<jiff::Timestamp>,
) -> Result<Outcome> {
    if looks_like_mail(name, &bytes) {
        return ingest_message_at(app, bytes, source, Channel::Email, arrival).await;
    }
    let sha = sha256_hex(&bytes);
    if let Some((doc_id, reg_no)) = duplicate_of(app, &[format!("sha256:{sha}")]).await? {
        return Ok(Outcome::Duplicate { doc_id, reg_no });
    }
    match prepare_file_at(app, name, bytes, channel, arrival).await {
        Ok(p) => register_prepared(app, p, source).await,
        Err((raw, reason)) => quarantine_or_refuse(app, source, raw, reason).await,
    }
}

/// [`ingest_file_at`] for a file with its companions, registered as one
/// document: an e-invoice operator's XML invoice and its PDF. The first file is
/// the document's (its hash the duplicate key); the companions follow it.
pub async fn ingest_files_at(
    app: &App,
    name: &str,
    bytes: Vec<u8>,
    companions: Vec<(String, Vec<u8>)>,
    source: &str,
    channel: Channel,
    arrival: Option<jiff::Timestamp>,
) -> Result<Outcome> {
    if companions.is_empty() {
        return ingest_file_at(app, name, bytes, source, channel, arrival).await;
    }
    let sha = sha256_hex(&bytes);
    if let Some((doc_id, reg_no)) = duplicate_of(app, &[format!("sha256:{sha}")]).await? {
        return Ok(Outcome::Duplicate { doc_id, reg_no });
    }
    match prepare_file_at(app, name, bytes, channel, arrival).await {
        Ok(mut p) => {
            let ic = &app.config.ingest;
            for (n, b) in companions {
                let mt = crate::mime::media_type_of(&n, &b).into_owned();
                let b = Arc::new(b);
                let t = isolated_file_text(ic, n.clone(), mt.clone(), b.clone()).await;
                let b = Arc::try_unwrap(b).unwrap_or_else(|a| (*a).clone());
                let mut f = NewFile::new(
                    limits::truncate(&crate::extract::mail::sanitize_name(&n), limits::FILE_NAME),
                    mt,
                    b,
                );
                f.text = t.text;
                f.text_status = t.status;
                f.text_note = t.note;
                p.new.files.push(f);
            }
            register_prepared(app, p, source).await
        }
        Err((raw, reason)) => quarantine_or_refuse(app, source, raw, reason).await,
    }
}

/// Quarantines a refused item with its bytes in the row when they are small; a
/// larger one is refused ([`Error::TooLarge`]) so that the source sets it aside
/// by metadata.
async fn quarantine_or_refuse(
    app: &App,
    source: &str,
    raw: Vec<u8>,
    reason: String,
) -> Result<Outcome> {
    if raw.len() > QUARANTINE_ROW_MAX {
        return Err(Error::TooLarge(reason));
    }
    let (id, _) = quarantine::put(&app.store, source, raw, &reason).await?;
    Ok(Outcome::Quarantined { id, reason })
}

/// A `.eml` file, or a file that is not a known document type and starts with
/// header fields (Maildir names such as `1700000000.M1P2.host:2,S` have no
/// meaningful extension).
pub fn looks_like_mail(name: &str, bytes: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".eml") {
        return true;
    }
    const DOCS: &[&str] = &[
        "pdf", "txt", "xml", "html", "htm", "doc", "docx", "odt", "ods", "rtf", "xls", "xlsx",
        "csv", "jpg", "jpeg", "png", "gif", "tif", "tiff", "asice", "bdoc", "ddoc", "zip",
    ];
    let base = lower.split(":2,").next().unwrap_or(&lower);
    if let Some(ext) = std::path::Path::new(base).extension() {
        if DOCS.contains(&ext.to_string_lossy().as_ref()) {
            return false;
        }
    }
    let head = &bytes[..bytes.len().min(1024)];
    let first = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    if first.starts_with(b"From ") {
        return true; // an mbox-style envelope line
    }
    let colon = first.iter().position(|&b| b == b':');
    matches!(colon, Some(c) if c > 0 && first[..c].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_is_recognised_by_name_or_headers() {
        assert!(looks_like_mail("a.eml", b"x"));
        assert!(looks_like_mail(
            "1700000000.M1P2.host:2,S",
            b"Return-Path: <a@b>\r\n"
        ));
        assert!(looks_like_mail("1.host", b"From: a@b.ee\r\n"));
        assert!(!looks_like_mail("scan.pdf", b"%PDF-1.4"));
        assert!(!looks_like_mail("notes.txt", b"Subject: not mail"));
        assert!(!looks_like_mail("blob", b"\x00\x01binary"));
    }
}
