//! The document model of the register: plain data, no IO.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which way a document travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Incoming,
    Outgoing,
    Internal,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Incoming => "incoming",
            Direction::Outgoing => "outgoing",
            Direction::Internal => "internal",
        }
    }
}

impl std::str::FromStr for Direction {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "incoming" | "in" | "sissetulev" => Ok(Direction::Incoming),
            "outgoing" | "out" | "väljaminev" => Ok(Direction::Outgoing),
            "internal" | "sisemine" => Ok(Direction::Internal),
            _ => Err(Error::invalid_field(
                "direction",
                format!("{s:?}: expected incoming, outgoing or internal"),
            )),
        }
    }
}

/// What an outgoing reply does to the deadline of the document it answers
/// (AvTS § 20: a request is answered by the information, a forwarding with the
/// requester told (§ 21), or a refusal; an acknowledgement answers nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyKind {
    /// lõppvastus: the answer itself; closes the deadline.
    Final,
    /// vahevastus: an acknowledgement or interim note; changes nothing.
    Interim,
    /// edastamine: forwarded to the competent body, the requester told (AvTS § 21); closes.
    Forwarding,
    /// täpsustamise palve: stops the clock until the answer arrives (AvTS § 18(2)).
    Clarification,
    /// keeldumine: a refusal (AvTS § 23); closes.
    Refusal,
}

impl ReplyKind {
    pub const ALL: [ReplyKind; 5] = [
        ReplyKind::Final,
        ReplyKind::Interim,
        ReplyKind::Forwarding,
        ReplyKind::Clarification,
        ReplyKind::Refusal,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyKind::Final => "final",
            ReplyKind::Interim => "interim",
            ReplyKind::Forwarding => "forwarding",
            ReplyKind::Clarification => "clarification",
            ReplyKind::Refusal => "refusal",
        }
    }
    /// The Estonian name.
    pub fn label_et(self) -> &'static str {
        match self {
            ReplyKind::Final => "lõppvastus",
            ReplyKind::Interim => "vahevastus",
            ReplyKind::Forwarding => "edastamine",
            ReplyKind::Clarification => "täpsustamise palve",
            ReplyKind::Refusal => "keeldumine",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            ReplyKind::Final => "final reply",
            ReplyKind::Interim => "interim reply",
            ReplyKind::Forwarding => "forwarding",
            ReplyKind::Clarification => "request for clarification",
            ReplyKind::Refusal => "refusal",
        }
    }
    /// Whether a reply of this kind ends the clock of the document it answers.
    pub fn closes(self) -> bool {
        matches!(
            self,
            ReplyKind::Final | ReplyKind::Forwarding | ReplyKind::Refusal
        )
    }
}

impl std::str::FromStr for ReplyKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_lowercase().as_str() {
            "final" | "lõppvastus" => Ok(ReplyKind::Final),
            "interim" | "vahevastus" => Ok(ReplyKind::Interim),
            "forwarding" | "edastamine" => Ok(ReplyKind::Forwarding),
            "clarification" | "täpsustamise palve" => Ok(ReplyKind::Clarification),
            "refusal" | "keeldumine" => Ok(ReplyKind::Refusal),
            _ => Err(Error::invalid(format!(
                "vigane vastuse liik {s:?}: lubatud final, interim, forwarding, clarification, refusal (invalid reply kind)"
            ))),
        }
    }
}

/// How a document arrived or left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Dhx,
    Post,
    Hand,
    Web,
    /// An e-invoice operator's export folder (`invoices.operator_folder`).
    EInvoice,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Dhx => "dhx",
            Channel::Post => "post",
            Channel::Hand => "hand",
            Channel::Web => "web",
            Channel::EInvoice => "einvoice",
        }
    }
}

impl std::str::FromStr for Channel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "email" | "e-mail" | "mail" => Ok(Channel::Email),
            "dhx" => Ok(Channel::Dhx),
            "post" => Ok(Channel::Post),
            "hand" => Ok(Channel::Hand),
            "web" => Ok(Channel::Web),
            "einvoice" | "e-arve" => Ok(Channel::EInvoice),
            _ => Err(Error::invalid_field(
                "channel",
                format!("{s:?}: expected email, dhx, post, hand, web or einvoice"),
            )),
        }
    }
}

/// Whether a party is an organisation (with a registry code) or a natural person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartyKind {
    Organisation,
    Person,
}

impl PartyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::Organisation => "organisation",
            PartyKind::Person => "person",
        }
    }
    /// Reads the stored form; anything but "organisation" is a person (the cautious reading).
    pub fn from_stored(s: &str) -> PartyKind {
        if s == "organisation" {
            PartyKind::Organisation
        } else {
            PartyKind::Person
        }
    }
}

/// The role a party plays for the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartyRole {
    Sender,
    Recipient,
}

impl PartyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            PartyRole::Sender => "sender",
            PartyRole::Recipient => "recipient",
        }
    }
    pub fn from_stored(s: &str) -> PartyRole {
        if s == "recipient" {
            PartyRole::Recipient
        } else {
            PartyRole::Sender
        }
    }
}

/// A sender or recipient. A person's name and personal code are personal data:
/// the public projection shows "eraisik" instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub kind: PartyKind,
    pub role: PartyRole,
    pub name: String,
    /// Registry code (organisation) or personal identification code (person).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Party {
    /// Builds a party the way `docgate register --party NAME --party-code CODE` does:
    /// an 8-digit code is an organisation's registry code, anything else makes the
    /// party a natural person (and the code their personal code, which must be valid).
    pub fn from_name_and_code(name: &str, code: Option<&str>, role: PartyRole) -> Result<Party> {
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::invalid_field("party", "the name is empty"));
        }
        let code = code.map(str::trim).filter(|c| !c.is_empty());
        let kind = match code {
            Some(c) if is_registry_code(c) => PartyKind::Organisation,
            Some(c) => {
                if !crate::personal_code::is_valid(c) {
                    return Err(Error::invalid_field(
                        "party_code",
                        format!("{c:?} is neither an 8-digit registry code nor a valid Estonian personal code"),
                    ));
                }
                PartyKind::Person
            }
            None => PartyKind::Person,
        };
        Ok(Party {
            kind,
            role,
            name: name.to_string(),
            code: code.map(str::to_string),
            email: None,
        })
    }

    /// What the public may see of this party (AvTS § 12(3¹)).
    pub fn public_name(&self) -> &str {
        match self.kind {
            PartyKind::Organisation => &self.name,
            PartyKind::Person => "eraisik",
        }
    }
}

/// An Estonian registry code: exactly 8 digits.
pub fn is_registry_code(s: &str) -> bool {
    s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An access restriction "asutusesiseseks kasutamiseks" (AvTS §§ 35-42).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restriction {
    /// Legal ground, e.g. "AvTS § 35 lg 1 p 12".
    pub ground: String,
    /// Holder of the information (the agency, or its unit).
    pub holder: String,
    pub begins: Date,
    pub ends: Date,
    /// Date of marking (§ 41(2)).
    pub marked: Date,
    /// Set once the restriction has been extended (§ 40 lg 1 allows it once).
    #[serde(default)]
    pub extended: bool,
    /// Restricted until the decision in this case (thread id) is adopted
    /// (§ 40 lg 2): lifted when a decision is registered in it. Left out of the
    /// serialized state when unset (state hashes of older documents stay the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_decision: Option<i64>,
}

/// Access of a document: public ("Avalik") or restricted ("AK").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Access {
    Avalik,
    AK,
}

/// A file of a document, stored content-addressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
}

/// A registered document, as the register holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub id: i64,
    pub reg_no: String,
    pub series: String,
    pub direction: Direction,
    pub channel: Channel,
    /// A deadline rule id of the loaded rules, or none.
    pub doc_type: Option<String>,
    /// The document's kind (config/document-kinds.toml) as registered; None for
    /// documents registered before kinds (shown by the kind their rule
    /// suggests, `Kinds::of`). Left out of the serialized state when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub title: String,
    /// The document's own public title, set by the clerk (None: the public sees
    /// the masked title). Left out of the serialized state when unset, so the
    /// state hashes of documents recorded before it existed stay the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_title: Option<String>,
    pub parties: Vec<Party>,
    /// The other party's own reference number ("Teie ... nr ...").
    pub their_ref: Option<String>,
    pub their_date: Option<Date>,
    /// Id of the thread's first document (its own id for a thread's start).
    pub thread_id: i64,
    /// The document this one continues, if any.
    pub parent_id: Option<i64>,
    /// Date received (incoming) or sent (outgoing).
    pub received: Option<Date>,
    /// When it was registered (UTC).
    pub registered_at: jiff::Timestamp,
    /// The registration date in Europe/Tallinn: the base date of the rules counted from registration (`base = "registered"`).
    pub registered: Date,
    pub responsible: Option<String>,
    pub unit: Option<String>,
    pub restriction: Option<Restriction>,
    pub files: Vec<FileRef>,
    /// RFC 5322 Message-ID of the source message or of the message we sent.
    pub message_id: Option<String>,
    /// Personal identification codes were found in its text.
    pub contains_personal_data: bool,
    /// A restriction ground proposed to the clerk (from detected personal data).
    pub proposed_ground: Option<String>,
    /// Set while the document waits in the clerk's inbox (ingested, not yet completed).
    pub needs_review: bool,
    /// An outgoing reply's kind (None: not given; it closes no deadline).
    /// Left out of the serialized state when unset (older state hashes stay valid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_kind: Option<ReplyKind>,
    /// When the document reached our server (the arrival time, UTC): the MTA's
    /// `Received:`, IMAP INTERNALDATE, the Maildir or drop-folder file, the DHX
    /// request. Left out of the serialized state when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<jiff::Timestamp>,
}

impl Document {
    pub fn access(&self) -> Access {
        if self.restriction.is_some() {
            Access::AK
        } else {
            Access::Avalik
        }
    }

    /// Restricted on the given day (a restriction past its end date no longer applies).
    pub fn is_restricted_on(&self, day: Date) -> bool {
        self.restriction.as_ref().is_some_and(|r| r.ends >= day)
    }
}

/// A file handed to the register, bytes and all.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
    /// Extracted text, if any.
    pub text: Option<String>,
    /// "ok", "not_extracted" (with a reason in `text_note`), or "none" for no text content.
    pub text_status: TextStatus,
    pub text_note: Option<String>,
    /// A data file of a signed container: the position of the container file
    /// (an earlier file of the same document) it was taken from.
    pub container: Option<usize>,
}

/// Outcome of text extraction for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextStatus {
    Extracted,
    NotExtracted,
    NoText,
    /// A scan whose text the OCR queue reads later (`crate::ocr`).
    OcrPending,
}

impl TextStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TextStatus::Extracted => "extracted",
            TextStatus::NotExtracted => "not_extracted",
            TextStatus::NoText => "no_text",
            TextStatus::OcrPending => "ocr_pending",
        }
    }
    pub fn parse(s: &str) -> TextStatus {
        match s {
            "extracted" => TextStatus::Extracted,
            "not_extracted" => TextStatus::NotExtracted,
            "ocr_pending" => TextStatus::OcrPending,
            _ => TextStatus::NoText,
        }
    }
}

impl NewFile {
    pub fn new(name: impl Into<String>, media_type: impl Into<String>, bytes: Vec<u8>) -> NewFile {
        NewFile {
            name: name.into(),
            media_type: media_type.into(),
            bytes,
            text: None,
            text_status: TextStatus::NoText,
            text_note: None,
            container: None,
        }
    }
}

/// How a new document is restricted at registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRestriction {
    pub ground: String,
    pub ends: Date,
    /// Defaults to the agency.
    pub holder: Option<String>,
    /// Defaults to the registration date.
    pub begins: Option<Date>,
    /// How it ends (§ 40): on `ends` (the default), until the decision, or by a
    /// death or birth year (then `ends` is computed).
    pub end_by: crate::restriction::EndBy,
}

/// A document to be registered.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub direction: Direction,
    pub channel: Channel,
    /// None means the configured default series.
    pub series: Option<String>,
    /// The deadline rule; None: the kind's default rule, if any.
    pub doc_type: Option<String>,
    /// The document kind (config/document-kinds.toml).
    pub kind: Option<String>,
    pub title: String,
    /// The public title chosen by the clerk, if any.
    pub public_title: Option<String>,
    pub parties: Vec<Party>,
    pub their_ref: Option<String>,
    pub their_date: Option<Date>,
    /// Registration number of the document this one continues.
    pub reply_to: Option<String>,
    pub received: Option<Date>,
    /// None means now.
    pub registered_at: Option<jiff::Timestamp>,
    pub responsible: Option<String>,
    pub unit: Option<String>,
    pub restriction: Option<NewRestriction>,
    pub files: Vec<NewFile>,
    /// The text of the letter itself (an e-mail body), if not a file.
    pub body: Option<String>,
    pub message_id: Option<String>,
    pub contains_personal_data: bool,
    pub proposed_ground: Option<String>,
    pub needs_review: bool,
    /// Registers the document as public on purpose, with this reason (written into
    /// the registration event): no default restriction is applied. Mutually
    /// exclusive with `restriction`.
    pub public_reason: Option<String>,
    /// Keys that make a source message unique (raw sha256, Message-ID...): a second
    /// registration with any of the same keys is refused as a duplicate.
    pub source_keys: Vec<String>,
    /// The kind of an outgoing reply (see [`ReplyKind`]).
    pub reply_kind: Option<ReplyKind>,
    /// The arrival time (UTC); `received` is its date in Europe/Tallinn when unset.
    pub received_at: Option<jiff::Timestamp>,
    /// A referral letter's terms (kind suunamiskiri): recorded with its number.
    pub referral: Option<crate::invoice::NewReferral>,
    /// The document read as an invoice (`Register::read_invoice`, before the transaction).
    pub invoice: Option<Box<crate::invoice::Received>>,
}

impl NewDocument {
    pub fn new(direction: Direction, channel: Channel, title: impl Into<String>) -> NewDocument {
        NewDocument {
            direction,
            channel,
            series: None,
            doc_type: None,
            kind: None,
            title: title.into(),
            public_title: None,
            parties: Vec::new(),
            their_ref: None,
            their_date: None,
            reply_to: None,
            received: None,
            registered_at: None,
            responsible: None,
            unit: None,
            restriction: None,
            files: Vec::new(),
            body: None,
            message_id: None,
            contains_personal_data: false,
            proposed_ground: None,
            needs_review: false,
            public_reason: None,
            source_keys: Vec::new(),
            reply_kind: None,
            received_at: None,
            referral: None,
            invoice: None,
        }
    }
}

/// One entry of the audit chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub at: String,
    pub doc_id: Option<i64>,
    pub kind: String,
    pub actor: String,
    pub detail: serde_json::Value,
    pub state_hash: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// The earliest date docgate accepts from any input.
pub const MIN_DATE: Date = jiff::civil::date(1900, 1, 1);
/// The latest date docgate accepts from any input.
pub const MAX_DATE: Date = jiff::civil::date(2300, 12, 31);

/// Parses a date given by a user, naming the input on error: "YYYY-MM-DD",
/// within [`MIN_DATE`]..=[`MAX_DATE`] (the one place of the bound).
pub fn parse_date(field: &'static str, s: &str) -> Result<Date> {
    let d = s.trim().parse::<Date>().map_err(|_| {
        Error::invalid_field(
            field,
            format!("{s:?} ei ole kuupäev kujul AAAA-KK-PP (not a date YYYY-MM-DD)"),
        )
    })?;
    check_date(field, d)
}

/// Refuses a date outside [`MIN_DATE`]..=[`MAX_DATE`], naming the input.
pub fn check_date(field: &'static str, d: Date) -> Result<Date> {
    if (MIN_DATE..=MAX_DATE).contains(&d) {
        Ok(d)
    } else {
        Err(Error::invalid_field(
            field,
            format!("{d}: kuupäev peab olema vahemikus {MIN_DATE} kuni {MAX_DATE} (the date must be within {MIN_DATE} to {MAX_DATE})"),
        ))
    }
}

/// The length limits of the register's free-text fields, in characters (the body
/// in bytes), checked by the register: the one place they are written down.
pub mod limits {
    use crate::error::{Error, Result};

    pub const TITLE: usize = 500;
    pub const PUBLIC_TITLE: usize = 500;
    pub const PARTY_NAME: usize = 200;
    pub const PARTY_EMAIL: usize = 254;
    pub const PARTY_CODE: usize = 100;
    pub const THEIR_REF: usize = 100;
    pub const RESPONSIBLE: usize = 100;
    pub const UNIT: usize = 100;
    pub const GROUND: usize = 200;
    pub const HOLDER: usize = 200;
    pub const REASON: usize = 2_000;
    pub const MESSAGE_ID: usize = 998;
    pub const FILE_NAME: usize = 255;
    /// The letter's text, in bytes (10 MB).
    pub const BODY_BYTES: usize = 10 * 1024 * 1024;

    /// Refuses `value` when it has more than `max` characters, naming the field.
    pub fn check(field: &'static str, value: &str, max: usize) -> Result<()> {
        // Only a text longer than `max` bytes can have more than `max` characters.
        if value.len() > max && value.chars().count() > max {
            return Err(Error::invalid_field(
                field,
                format!("it is longer than {max} characters"),
            ));
        }
        Ok(())
    }

    /// A reason a decision must give: trimmed, not empty, and bounded.
    pub fn reason(value: &str) -> Result<&str> {
        let reason = value.trim();
        if reason.is_empty() {
            return Err(Error::invalid_field(
                "reason",
                "it is empty (põhjus puudub)",
            ));
        }
        check("reason", reason, REASON)?;
        Ok(reason)
    }

    /// [`check`] for an optional field.
    pub fn check_opt(field: &'static str, value: Option<&str>, max: usize) -> Result<()> {
        value.map_or(Ok(()), |v| check(field, v, max))
    }

    /// `value` cut to at most `max` characters, ending in "…" when cut (for
    /// intake, which must register a message whatever its header says).
    pub fn truncate(value: &str, max: usize) -> String {
        if value.len() <= max || value.chars().count() <= max {
            return value.to_string();
        }
        let keep = max.saturating_sub(1);
        let end = value
            .char_indices()
            .nth(keep)
            .map_or(value.len(), |(i, _)| i);
        let mut out = value[..end].trim_end().to_string();
        out.push('…');
        out
    }

    /// `value` cut to at most `max` bytes on a character boundary.
    pub fn truncate_bytes(value: &mut String, max: usize) {
        if value.len() > max {
            let mut end = max;
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value.truncate(end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_field_and_count_characters() {
        assert!(limits::check("title", &"ä".repeat(500), limits::TITLE).is_ok());
        let e = limits::check("title", &"ä".repeat(501), limits::TITLE)
            .unwrap_err()
            .to_string();
        assert!(e.contains("title") && e.contains("500"), "{e}");
        assert!(!e.contains("--"), "{e}");
        let t = limits::truncate(&"Õ".repeat(1000), limits::TITLE);
        assert_eq!(t.chars().count(), 500);
        assert!(t.ends_with('…'));
        assert_eq!(limits::truncate("lühike", 500), "lühike");
        let mut b = "aä".repeat(10);
        limits::truncate_bytes(&mut b, 2);
        assert_eq!(b, "a"); // "ä" (bytes 1-2) is not cut in half
    }

    #[test]
    fn party_kind_from_code() {
        let org = Party::from_name_and_code(
            "Politsei- ja Piirivalveamet",
            Some("70008747"),
            PartyRole::Sender,
        )
        .unwrap();
        assert_eq!(org.kind, PartyKind::Organisation);
        let p = Party::from_name_and_code("Mari Maasikas", Some("49403136515"), PartyRole::Sender)
            .unwrap();
        assert_eq!(p.kind, PartyKind::Person);
        assert_eq!(p.public_name(), "eraisik");
        let e = Party::from_name_and_code("X", Some("12345"), PartyRole::Sender)
            .unwrap_err()
            .to_string();
        assert!(e.contains("12345"), "{e}");
    }
}
