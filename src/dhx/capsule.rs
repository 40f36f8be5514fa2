//! Capsule 2.1 (`DecContainer`, namespace
//! `http://www.riik.ee/schemas/deccontainer/vers_2_1/`): a schema validator that
//! follows `Dvk_kapsel_vers_2_1_eng_est.xsd` (element order, occurrences, simple
//! types with libxml2's lexical rules), a typed model, a reader and a writer.
//!
//! `File/ZipBase64Content` is base64 of gzip (as in every real capsule): the reader
//! decodes it (bounded by a decompressed-size limit) and the writer encodes it.

use std::io::Read;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::xml::{self, Element};
use super::{Fault, FaultCode};

/// The capsule 2.1 namespace.
pub const NS: &str = "http://www.riik.ee/schemas/deccontainer/vers_2_1/";

// ---------------------------------------------------------------------------
// The schema, as tables
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum T {
    Str,
    DateTime,
    Date,
    Bool,
    Int,
    Guid,
    Phone,
    PostalCode,
    AccessCode,
    C(&'static [P]),
    /// `xs:sequence` of `xs:any processContents="skip"`.
    Any,
}

#[derive(Clone, Copy, Debug)]
struct P {
    n: &'static str,
    min: u8,
    many: bool,
    t: T,
}

const fn req(n: &'static str, t: T) -> P {
    P {
        n,
        min: 1,
        many: false,
        t,
    }
}
const fn opt(n: &'static str, t: T) -> P {
    P {
        n,
        min: 0,
        many: false,
        t,
    }
}
const fn many0(n: &'static str, t: T) -> P {
    P {
        n,
        min: 0,
        many: true,
        t,
    }
}
const fn many1(n: &'static str, t: T) -> P {
    P {
        n,
        min: 1,
        many: true,
        t,
    }
}

static DEC_PARTY: &[P] = &[
    req("OrganisationCode", T::Str),
    opt("StructuralUnit", T::Str),
    opt("PersonalIdCode", T::Str),
];
static TRANSPORT: &[P] = &[
    req("DecSender", T::C(DEC_PARTY)),
    many1("DecRecipient", T::C(DEC_PARTY)),
];
static ORGANISATION: &[P] = &[
    req("Name", T::Str),
    opt("OrganisationCode", T::Str),
    opt("StructuralUnit", T::Str),
    opt("PositionTitle", T::Str),
    opt("Residency", T::Str),
];
static PERSON: &[P] = &[
    req("Name", T::Str),
    opt("GivenName", T::Str),
    opt("Surname", T::Str),
    opt("PersonalIdCode", T::Str),
    opt("Residency", T::Str),
];
static POSTAL: &[P] = &[
    opt("Country", T::Str),
    opt("County", T::Str),
    opt("LocalGovernment", T::Str),
    opt("AdministrativeUnit", T::Str),
    opt("SmallPlace", T::Str),
    opt("LandUnit", T::Str),
    opt("Street", T::Str),
    opt("HouseNumber", T::Str),
    opt("BuildingPartNumber", T::Str),
    opt("PostalCode", T::PostalCode),
];
static CONTACT: &[P] = &[
    opt("Adit", T::Bool),
    opt("Phone", T::Phone),
    opt("Email", T::Str),
    opt("WebPage", T::Str),
    opt("MessagingAddress", T::Str),
    opt("PostalAddress", T::C(POSTAL)),
];
static INITIATOR: &[P] = &[
    opt("InitiatorRecordOriginalIdentifier", T::Str),
    opt("InitiatorRecordDate", T::DateTime),
    opt("Organisation", T::C(ORGANISATION)),
    opt("Person", T::C(PERSON)),
    req("ContactData", T::C(CONTACT)),
];
static ACTOR: &[P] = &[
    opt("Organisation", T::C(ORGANISATION)),
    opt("Person", T::C(PERSON)),
    opt("ContactData", T::C(CONTACT)),
];
static RECIPIENT: &[P] = &[
    opt("RecipientRecordGuid", T::Guid),
    opt("RecipientRecordOriginalIdentifier", T::Str),
    opt("MessageForRecipient", T::Str),
    opt("Organisation", T::C(ORGANISATION)),
    opt("Person", T::C(PERSON)),
    opt("ContactData", T::C(CONTACT)),
];
static RECORD_METADATA: &[P] = &[
    req("RecordGuid", T::Guid),
    req("RecordType", T::Str),
    req("RecordOriginalIdentifier", T::Str),
    req("RecordDateRegistered", T::DateTime),
    req("RecordTitle", T::Str),
    opt("RecordLanguage", T::Str),
    opt("RecordAbstract", T::Str),
    opt("ReplyDueDate", T::Date),
];
static RESTRICTION: &[P] = &[
    opt("RestrictionIdentifier", T::Str),
    req("RestrictionBeginDate", T::Date),
    req("RestrictionEndDate", T::Date),
    opt("RestrictionEndEvent", T::Str),
    opt("RestrictionInvalidSince", T::Date),
    req("RestrictionBasis", T::Str),
    req("InformationOwner", T::Str),
];
static ACCESS: &[P] = &[
    req("AccessConditionsCode", T::AccessCode),
    many0("AccessRestriction", T::C(RESTRICTION)),
];
static SIGNATURE: &[P] = &[
    opt("SignatureType", T::Str),
    opt("Signer", T::Str),
    opt("Verified", T::Str),
    opt("SignatureVerificationDate", T::DateTime),
];
static FILE: &[P] = &[
    req("FileGuid", T::Guid),
    opt("RecordMainComponent", T::Bool),
    req("FileName", T::Str),
    req("MimeType", T::Str),
    opt("FileSize", T::Int),
    req("ZipBase64Content", T::Str),
];
static DEC_METADATA: &[P] = &[
    req("DecId", T::Int),
    req("DecFolder", T::Str),
    req("DecReceiptDate", T::DateTime),
];
static ROOT: &[P] = &[
    req("Transport", T::C(TRANSPORT)),
    opt("Initiator", T::C(INITIATOR)),
    opt("RecordCreator", T::C(ACTOR)),
    opt("RecordSenderToDec", T::C(ACTOR)),
    many1("Recipient", T::C(RECIPIENT)),
    req("RecordMetadata", T::C(RECORD_METADATA)),
    req("Access", T::C(ACCESS)),
    many0("SignatureMetadata", T::C(SIGNATURE)),
    many1("File", T::C(FILE)),
    opt("RecordTypeSpecificMetadata", T::Any),
    opt("DecMetadata", T::C(DEC_METADATA)),
];

/// Every element name of capsule 2.1 (for coverage tests).
pub fn all_element_names() -> Vec<&'static str> {
    fn walk(ps: &'static [P], out: &mut Vec<&'static str>) {
        for p in ps {
            if !out.contains(&p.n) {
                out.push(p.n);
            }
            if let T::C(c) = p.t {
                walk(c, out);
            }
        }
    }
    let mut out = vec!["DecContainer"];
    walk(ROOT, &mut out);
    out
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

/// A schema violation: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    pub line: usize,
    /// Path of the offending element, e.g. `DecContainer/Transport/DecSender`.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: element {}: {}",
            self.line, self.path, self.message
        )
    }
}

fn in_ns(e: &Element) -> bool {
    e.ns.as_deref() == Some(NS)
}

fn err(e: &Element, path: &str, message: impl Into<String>) -> SchemaError {
    SchemaError {
        line: e.line,
        path: path.to_string(),
        message: message.into(),
    }
}

fn check_attrs(e: &Element, path: &str) -> Result<(), SchemaError> {
    for a in &e.attrs {
        let allowed = a.ns.as_deref() == Some(xml::XSI_NS)
            && (a.name == "schemaLocation" || a.name == "noNamespaceSchemaLocation");
        if !allowed {
            let name = match &a.ns {
                Some(ns) => format!("{{{ns}}}{}", a.name),
                None => a.name.clone(),
            };
            return Err(err(
                e,
                path,
                format!("the attribute {name:?} is not allowed"),
            ));
        }
    }
    Ok(())
}

/// Validates a parsed tree against capsule 2.1.
pub fn validate_tree(root: &Element) -> Result<(), SchemaError> {
    if !(in_ns(root) && root.name == "DecContainer") {
        return Err(err(
            root,
            &root.qualified(),
            format!("the root element must be {{{NS}}}DecContainer"),
        ));
    }
    check_attrs(root, "DecContainer")?;
    validate_complex(root, "DecContainer", ROOT)
}

fn validate_complex(e: &Element, path: &str, particles: &'static [P]) -> Result<(), SchemaError> {
    if e.has_non_ws_text() {
        return Err(err(
            e,
            path,
            "character content is not allowed here (element-only content)",
        ));
    }
    let kids: Vec<&Element> = e.elements().collect();
    let mut i = 0;
    for p in particles {
        let mut n = 0usize;
        while i < kids.len() && in_ns(kids[i]) && kids[i].name == p.n && (p.many || n == 0) {
            let child_path = format!("{path}/{}", p.n);
            validate_particle(kids[i], &child_path, p.t)?;
            n += 1;
            i += 1;
        }
        if n < p.min as usize {
            return Err(match kids.get(i) {
                Some(k) => err(
                    k,
                    &format!("{path}/{}", display_name(k)),
                    format!("this element is not expected; expected is {}", p.n),
                ),
                None => err(e, path, format!("missing child element {}", p.n)),
            });
        }
    }
    if let Some(k) = kids.get(i) {
        return Err(err(
            k,
            &format!("{path}/{}", display_name(k)),
            "this element is not expected here".to_string(),
        ));
    }
    Ok(())
}

fn display_name(e: &Element) -> String {
    if in_ns(e) {
        e.name.clone()
    } else {
        e.qualified()
    }
}

fn validate_particle(e: &Element, path: &str, t: T) -> Result<(), SchemaError> {
    check_attrs(e, path)?;
    match t {
        T::C(ps) => validate_complex(e, path, ps),
        T::Any => {
            if e.has_non_ws_text() {
                return Err(err(
                    e,
                    path,
                    "character content is not allowed here (element-only content)",
                ));
            }
            Ok(())
        }
        simple => {
            if e.elements().next().is_some() {
                return Err(err(
                    e,
                    path,
                    "element content is not allowed: the type is a simple type",
                ));
            }
            let v = e.text();
            check_simple(simple, &v).map_err(|m| err(e, path, format!("{m}: {v:?}")))
        }
    }
}

fn check_simple(t: T, raw: &str) -> Result<(), &'static str> {
    let collapsed = raw.trim_matches(xml::is_xml_ws);
    let ok = match t {
        T::Str => true,
        T::Guid => is_guid(raw),
        T::Phone => raw
            .chars()
            .all(|c| c.is_ascii_digit() || " +()-".contains(c)),
        T::AccessCode => raw == "Avalik" || raw == "AK",
        T::Bool => matches!(collapsed, "true" | "false" | "1" | "0"),
        T::Int => is_integer(collapsed),
        T::PostalCode => collapsed.len() == 5 && collapsed.bytes().all(|b| b.is_ascii_digit()),
        // libxml2 does not collapse whitespace around dates
        T::Date => is_date(raw),
        T::DateTime => is_date_time(raw),
        T::C(_) | T::Any => true,
    };
    if ok {
        Ok(())
    } else {
        Err(match t {
            T::Guid => "not a GUID",
            T::Phone => "not a phone number (digits, space, +, (, ), - only)",
            T::AccessCode => "not an access condition (Avalik or AK)",
            T::Bool => "not a boolean",
            T::PostalCode => "not a 5-digit postal code",
            T::Int => "not an integer",
            T::Date => "not a date (YYYY-MM-DD)",
            T::DateTime => "not a date and time (YYYY-MM-DDThh:mm:ss)",
            _ => "invalid value",
        })
    }
}

pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `xs:integer` as libxml2 reads it: sign, digits, at most 24 significant digits.
fn is_integer(s: &str) -> bool {
    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) && d.trim_start_matches('0').len() <= 24
}

fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Parses `-?YYYY-MM-DD` and returns the rest; checks the day against the month.
fn date_part(s: &str) -> Option<&str> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let dash = s.find('-')?;
    let ys = &s[..dash];
    if ys.len() < 4
        || !ys.bytes().all(|b| b.is_ascii_digit())
        || (ys.len() > 4 && ys.starts_with('0'))
    {
        return None;
    }
    let year: i128 = ys.parse().ok()?;
    if year == 0 {
        return None;
    }
    let year = if neg { -year } else { year };
    let rest = &s[dash + 1..];
    // Only ASCII is sliced below: a multibyte character there is no date.
    if rest.len() < 5 || !rest.as_bytes()[..5].is_ascii() {
        return None;
    }
    let month = digits(&rest[..2], 2)?;
    if &rest[2..3] != "-" {
        return None;
    }
    let day = digits(&rest[3..5], 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(&rest[5..])
}

fn days_in_month(year: i128, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn tz_ok(s: &str) -> bool {
    if s.is_empty() || s == "Z" {
        return true;
    }
    let Some(r) = s.strip_prefix(['+', '-']) else {
        return false;
    };
    if r.len() != 5 || !r.is_ascii() || &r[2..3] != ":" {
        return false;
    }
    match (digits(&r[..2], 2), digits(&r[3..], 2)) {
        (Some(h), Some(m)) => m <= 59 && (h < 14 || (h == 14 && m == 0)),
        _ => false,
    }
}

pub fn is_date(s: &str) -> bool {
    date_part(s).is_some_and(tz_ok)
}

pub fn is_date_time(s: &str) -> bool {
    let Some(rest) = date_part(s) else {
        return false;
    };
    let Some(t) = rest.strip_prefix('T') else {
        return false;
    };
    if t.len() < 8 || !t.as_bytes()[..8].is_ascii() {
        return false;
    }
    let (h, m, sec) = match (
        digits(&t[..2], 2),
        &t[2..3],
        digits(&t[3..5], 2),
        &t[5..6],
        digits(&t[6..8], 2),
    ) {
        (Some(h), ":", Some(m), ":", Some(s)) => (h, m, s),
        _ => return false,
    };
    let mut rest = &t[8..];
    let mut frac_nonzero = false;
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        frac_nonzero = f[..n].bytes().any(|b| b != b'0');
        rest = &f[n..];
    }
    let time_ok =
        (h < 24 && m <= 59 && sec <= 59) || (h == 24 && m == 0 && sec == 0 && !frac_nonzero);
    time_ok && tz_ok(rest)
}

// ---------------------------------------------------------------------------
// The typed model
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DecParty {
    pub organisation_code: String,
    pub structural_unit: Option<String>,
    pub personal_id_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Transport {
    pub dec_sender: DecParty,
    /// At least one.
    pub dec_recipients: Vec<DecParty>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Organisation {
    pub name: String,
    pub organisation_code: Option<String>,
    pub structural_unit: Option<String>,
    pub position_title: Option<String>,
    pub residency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub personal_id_code: Option<String>,
    pub residency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PostalAddress {
    pub country: Option<String>,
    pub county: Option<String>,
    pub local_government: Option<String>,
    pub administrative_unit: Option<String>,
    pub small_place: Option<String>,
    pub land_unit: Option<String>,
    pub street: Option<String>,
    pub house_number: Option<String>,
    pub building_part_number: Option<String>,
    /// Five digits.
    pub postal_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContactData {
    pub adit: Option<bool>,
    /// Digits, space, `+`, `(`, `)`, `-`.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub web_page: Option<String>,
    pub messaging_address: Option<String>,
    pub postal_address: Option<PostalAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Initiator {
    pub record_original_identifier: Option<String>,
    /// `xs:dateTime` lexical form.
    pub record_date: Option<String>,
    pub organisation: Option<Organisation>,
    pub person: Option<Person>,
    pub contact_data: ContactData,
}

/// RecordCreator and RecordSenderToDec.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Actor {
    pub organisation: Option<Organisation>,
    pub person: Option<Person>,
    pub contact_data: Option<ContactData>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Recipient {
    pub record_guid: Option<String>,
    /// The record's reference in the recipient's own system.
    pub record_original_identifier: Option<String>,
    pub message_for_recipient: Option<String>,
    pub organisation: Option<Organisation>,
    pub person: Option<Person>,
    pub contact_data: Option<ContactData>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecordMetadata {
    pub record_guid: String,
    pub record_type: String,
    pub record_original_identifier: String,
    /// `xs:dateTime` lexical form.
    pub record_date_registered: String,
    pub record_title: String,
    pub record_language: Option<String>,
    pub record_abstract: Option<String>,
    /// `xs:date` lexical form.
    pub reply_due_date: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AccessCode {
    #[default]
    Avalik,
    AK,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccessRestriction {
    pub identifier: Option<String>,
    pub begin_date: String,
    pub end_date: String,
    pub end_event: Option<String>,
    pub invalid_since: Option<String>,
    pub basis: String,
    pub information_owner: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Access {
    pub conditions_code: AccessCode,
    pub restrictions: Vec<AccessRestriction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SignatureMetadata {
    pub signature_type: Option<String>,
    pub signer: Option<String>,
    pub verified: Option<String>,
    pub verification_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CapsuleFile {
    pub guid: String,
    pub main_component: Option<bool>,
    pub name: String,
    pub mime_type: String,
    /// `xs:integer` lexical form, as the sender wrote it.
    pub size: Option<String>,
    /// The decompressed content.
    #[serde(skip)]
    pub content: Vec<u8>,
    /// Set when the gzip stream was truncated or corrupt: `content` then holds
    /// what could be decompressed. The schema does not care (xmllint accepts such
    /// capsules, and several official examples are like that); registering does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DecMetadata {
    pub dec_id: String,
    pub dec_folder: String,
    pub dec_receipt_date: String,
}

/// A whole capsule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Capsule {
    pub transport: Transport,
    pub initiator: Option<Initiator>,
    pub record_creator: Option<Actor>,
    pub record_sender_to_dec: Option<Actor>,
    /// At least one.
    pub recipients: Vec<Recipient>,
    pub record_metadata: RecordMetadata,
    pub access: Access,
    pub signatures: Vec<SignatureMetadata>,
    /// At least one.
    pub files: Vec<CapsuleFile>,
    /// Opaque content of `RecordTypeSpecificMetadata` (None: element absent).
    #[serde(skip)]
    pub record_type_specific_metadata: Option<Vec<Element>>,
    pub dec_metadata: Option<DecMetadata>,
}

/// Limits applied while reading.
#[derive(Debug, Clone)]
pub struct ReadLimits {
    /// Largest accepted capsule XML, in bytes.
    pub max_xml_bytes: u64,
    /// Largest total decompressed size of all files.
    pub max_decompressed_bytes: u64,
    /// The request's share of the endpoint's global budget: the XML tree and
    /// every decompressed byte are taken from it before they are allocated.
    /// None: no global budget (the CLI, the adapter poller).
    pub budget: Option<super::budget::Reservation>,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_xml_bytes: 50 * 1024 * 1024,
            max_decompressed_bytes: 200 * 1024 * 1024,
            budget: None,
        }
    }
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// Checks a capsule against the schema only (no content decoding).
pub fn validate(bytes: &[u8]) -> Result<(), Fault> {
    let root = xml::parse(bytes)
        .map_err(|e| Fault::validation(format!("capsule is not well-formed XML: {e}")))?;
    validate_tree(&root).map_err(|e| Fault::validation(format!("capsule is not valid: {e}")))
}

/// Reads a capsule: well-formedness, schema, then file contents (base64 of gzip).
pub fn read(bytes: &[u8], limits: &ReadLimits) -> Result<Capsule, Fault> {
    if bytes.len() as u64 > limits.max_xml_bytes {
        return Err(Fault::too_large(format!(
            "capsule is {} bytes, more than the limit of {} bytes",
            bytes.len(),
            limits.max_xml_bytes
        )));
    }
    // The tree costs about as much as the text it is parsed from.
    super::budget::take(limits.budget.as_ref(), bytes.len() as u64)?;
    let root = xml::parse(bytes)
        .map_err(|e| Fault::validation(format!("capsule is not well-formed XML: {e}")))?;
    validate_tree(&root).map_err(|e| Fault::validation(format!("capsule is not valid: {e}")))?;
    from_tree(&root, limits)
}

/// Reads a capsule given either as XML or as base64(gzip(XML)) (the DVK-style form,
/// single- or multi-line).
pub fn read_any(bytes: &[u8], limits: &ReadLimits) -> Result<Capsule, Fault> {
    read(&unwrap_any(bytes, limits)?, limits)
}

/// Returns the capsule XML of `bytes`, decoding base64(gzip(...)) when it is that.
pub fn unwrap_any(bytes: &[u8], limits: &ReadLimits) -> Result<Vec<u8>, Fault> {
    let trimmed = trim_ascii(bytes);
    if trimmed.starts_with(b"H4sI") {
        let s = std::str::from_utf8(trimmed)
            .map_err(|_| Fault::validation("capsule is neither XML nor base64"))?;
        let gz = b64_decode(s).map_err(|e| {
            Fault::validation(format!("the base64(gzip) capsule is not valid base64: {e}"))
        })?;
        gunzip_bounded_in(
            &gz,
            limits.max_xml_bytes,
            "the base64(gzip) capsule",
            limits.budget.as_ref(),
        )
    } else {
        Ok(bytes.to_vec())
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// Lenient base64: whitespace and line breaks ignored, padding optional.
pub fn b64_decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let clean: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(clean.as_bytes())
}

pub fn b64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes base64(gzip(x)) into x, refusing more than `max` decompressed bytes.
pub fn decode_zip_base64(s: &str, max: u64, what: &str) -> Result<Vec<u8>, Fault> {
    let gz =
        b64_decode(s).map_err(|e| Fault::validation(format!("{what} is not valid base64: {e}")))?;
    gunzip_bounded(&gz, max, what)
}

pub fn gunzip_bounded(gz: &[u8], max: u64, what: &str) -> Result<Vec<u8>, Fault> {
    gunzip_bounded_in(gz, max, what, None)
}

/// [`gunzip_bounded`], taking every byte of the output from `budget` first.
pub fn gunzip_bounded_in(
    gz: &[u8],
    max: u64,
    what: &str,
    budget: Option<&super::budget::Reservation>,
) -> Result<Vec<u8>, Fault> {
    match gunzip_lenient(gz, max, what, budget)? {
        (out, None) => Ok(out),
        (_, Some(e)) => Err(Fault::validation(e)),
    }
}

/// Like [`gunzip_bounded`] but a truncated or corrupt stream gives what could be
/// decompressed plus the error; only a missing gzip header, the size bound or
/// the global budget fail.
///
/// With a `budget` (the endpoint) it decompresses twice: first only counting
/// the output (a 64 KB buffer, so a bomb costs CPU, never memory, and meets the
/// size bound), then, with exactly that many bytes taken from the budget, into
/// a buffer of that size.
pub fn gunzip_lenient(
    gz: &[u8],
    max: u64,
    what: &str,
    budget: Option<&super::budget::Reservation>,
) -> Result<(Vec<u8>, Option<String>), Fault> {
    if !gz.starts_with(&[0x1f, 0x8b]) {
        return Err(Fault::validation(format!("{what} is not gzip-compressed")));
    }
    let too_large = || Fault::too_large(format!("{what} decompresses to more than {max} bytes"));
    let Some(budget) = budget else {
        let (out, error) = gunzip_into(gz, max, what, None);
        if out.len() as u64 > max {
            return Err(too_large());
        }
        return Ok((out, error));
    };
    // Pass 1: the size only.
    let mut size: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let mut dec = flate2::read::MultiGzDecoder::new(gz).take(max.saturating_add(1));
    loop {
        match dec.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => size += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if size > max {
        return Err(too_large());
    }
    // Pass 2: exactly `size` bytes, taken from the budget first.
    budget.take(size)?;
    let (out, error) = gunzip_into(gz, size, what, Some(size as usize));
    Ok((out, error))
}

/// Decompresses at most `max + 1` bytes of `gz` (into a buffer of `capacity`
/// when known), with the first error.
fn gunzip_into(
    gz: &[u8],
    max: u64,
    what: &str,
    capacity: Option<usize>,
) -> (Vec<u8>, Option<String>) {
    let mut out: Vec<u8> = Vec::with_capacity(capacity.unwrap_or(0));
    let mut dec = flate2::read::MultiGzDecoder::new(gz).take(max.saturating_add(1));
    let mut buf = vec![0u8; 64 * 1024];
    let mut error = None;
    loop {
        match dec.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if capacity.is_some() {
                    // Never past the counted size (the allocation was budgeted).
                    let room = out.capacity() - out.len();
                    out.extend_from_slice(&buf[..n.min(room)]);
                    if n > room {
                        break;
                    }
                } else {
                    out.extend_from_slice(&buf[..n]);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                error = Some(format!("{what} is not valid gzip: {e}"));
                break;
            }
        }
        if out.len() as u64 > max {
            break;
        }
    }
    (out, error)
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// base64(gzip(x)) on one line.
pub fn encode_zip_base64(bytes: &[u8]) -> String {
    b64_encode(&gzip(bytes))
}

fn t(e: &Element, name: &str) -> Option<String> {
    e.elements()
        .find(|c| c.name == name && in_ns(c))
        .map(|c| c.text())
}
fn tt(e: &Element, name: &str) -> String {
    t(e, name).unwrap_or_default()
}
fn c<'a>(e: &'a Element, name: &str) -> Option<&'a Element> {
    e.elements().find(|c| c.name == name && in_ns(c))
}
fn cs<'a>(e: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    e.elements().filter(move |c| c.name == name && in_ns(c))
}
fn b(e: &Element, name: &str) -> Option<bool> {
    t(e, name).map(|v| matches!(v.trim_matches(xml::is_xml_ws), "true" | "1"))
}

fn dec_party(e: &Element) -> DecParty {
    DecParty {
        organisation_code: tt(e, "OrganisationCode"),
        structural_unit: t(e, "StructuralUnit"),
        personal_id_code: t(e, "PersonalIdCode"),
    }
}
fn organisation(e: &Element) -> Organisation {
    Organisation {
        name: tt(e, "Name"),
        organisation_code: t(e, "OrganisationCode"),
        structural_unit: t(e, "StructuralUnit"),
        position_title: t(e, "PositionTitle"),
        residency: t(e, "Residency"),
    }
}
fn person(e: &Element) -> Person {
    Person {
        name: tt(e, "Name"),
        given_name: t(e, "GivenName"),
        surname: t(e, "Surname"),
        personal_id_code: t(e, "PersonalIdCode"),
        residency: t(e, "Residency"),
    }
}
fn contact(e: &Element) -> ContactData {
    ContactData {
        adit: b(e, "Adit"),
        phone: t(e, "Phone"),
        email: t(e, "Email"),
        web_page: t(e, "WebPage"),
        messaging_address: t(e, "MessagingAddress"),
        postal_address: c(e, "PostalAddress").map(|p| PostalAddress {
            country: t(p, "Country"),
            county: t(p, "County"),
            local_government: t(p, "LocalGovernment"),
            administrative_unit: t(p, "AdministrativeUnit"),
            small_place: t(p, "SmallPlace"),
            land_unit: t(p, "LandUnit"),
            street: t(p, "Street"),
            house_number: t(p, "HouseNumber"),
            building_part_number: t(p, "BuildingPartNumber"),
            postal_code: t(p, "PostalCode").map(|v| v.trim_matches(xml::is_xml_ws).to_string()),
        }),
    }
}
fn actor(e: &Element) -> Actor {
    Actor {
        organisation: c(e, "Organisation").map(organisation),
        person: c(e, "Person").map(person),
        contact_data: c(e, "ContactData").map(contact),
    }
}

/// Builds the typed capsule from a tree that passed [`validate_tree`].
pub fn from_tree(root: &Element, limits: &ReadLimits) -> Result<Capsule, Fault> {
    let tr = c(root, "Transport").ok_or_else(|| Fault::validation("capsule has no Transport"))?;
    let rm = c(root, "RecordMetadata")
        .ok_or_else(|| Fault::validation("capsule has no RecordMetadata"))?;
    let ac = c(root, "Access").ok_or_else(|| Fault::validation("capsule has no Access"))?;
    let mut budget = limits.max_decompressed_bytes;
    let mut files = Vec::new();
    for (i, f) in cs(root, "File").enumerate() {
        let name = tt(f, "FileName");
        let what = format!("File[{}] ({name:?}) ZipBase64Content", i + 1);
        let raw = tt(f, "ZipBase64Content");
        let (content, content_error) = if raw.trim().is_empty() {
            (Vec::new(), None)
        } else {
            let gz = b64_decode(&raw)
                .map_err(|e| Fault::validation(format!("{what} is not valid base64: {e}")))?;
            gunzip_lenient(&gz, budget, &what, limits.budget.as_ref())?
        };
        budget -= content.len() as u64;
        files.push(CapsuleFile {
            guid: tt(f, "FileGuid"),
            main_component: b(f, "RecordMainComponent"),
            name,
            mime_type: tt(f, "MimeType"),
            size: t(f, "FileSize").map(|v| v.trim_matches(xml::is_xml_ws).to_string()),
            content,
            content_error,
        });
    }
    Ok(Capsule {
        transport: Transport {
            dec_sender: c(tr, "DecSender").map(dec_party).unwrap_or_default(),
            dec_recipients: cs(tr, "DecRecipient").map(dec_party).collect(),
        },
        initiator: c(root, "Initiator").map(|e| Initiator {
            record_original_identifier: t(e, "InitiatorRecordOriginalIdentifier"),
            record_date: t(e, "InitiatorRecordDate"),
            organisation: c(e, "Organisation").map(organisation),
            person: c(e, "Person").map(person),
            contact_data: c(e, "ContactData").map(contact).unwrap_or_default(),
        }),
        record_creator: c(root, "RecordCreator").map(actor),
        record_sender_to_dec: c(root, "RecordSenderToDec").map(actor),
        recipients: cs(root, "Recipient")
            .map(|e| Recipient {
                record_guid: t(e, "RecipientRecordGuid"),
                record_original_identifier: t(e, "RecipientRecordOriginalIdentifier"),
                message_for_recipient: t(e, "MessageForRecipient"),
                organisation: c(e, "Organisation").map(organisation),
                person: c(e, "Person").map(person),
                contact_data: c(e, "ContactData").map(contact),
            })
            .collect(),
        record_metadata: RecordMetadata {
            record_guid: tt(rm, "RecordGuid"),
            record_type: tt(rm, "RecordType"),
            record_original_identifier: tt(rm, "RecordOriginalIdentifier"),
            record_date_registered: tt(rm, "RecordDateRegistered"),
            record_title: tt(rm, "RecordTitle"),
            record_language: t(rm, "RecordLanguage"),
            record_abstract: t(rm, "RecordAbstract"),
            reply_due_date: t(rm, "ReplyDueDate"),
        },
        access: Access {
            conditions_code: if tt(ac, "AccessConditionsCode") == "AK" {
                AccessCode::AK
            } else {
                AccessCode::Avalik
            },
            restrictions: cs(ac, "AccessRestriction")
                .map(|r| AccessRestriction {
                    identifier: t(r, "RestrictionIdentifier"),
                    begin_date: tt(r, "RestrictionBeginDate"),
                    end_date: tt(r, "RestrictionEndDate"),
                    end_event: t(r, "RestrictionEndEvent"),
                    invalid_since: t(r, "RestrictionInvalidSince"),
                    basis: tt(r, "RestrictionBasis"),
                    information_owner: tt(r, "InformationOwner"),
                })
                .collect(),
        },
        signatures: cs(root, "SignatureMetadata")
            .map(|s| SignatureMetadata {
                signature_type: t(s, "SignatureType"),
                signer: t(s, "Signer"),
                verified: t(s, "Verified"),
                verification_date: t(s, "SignatureVerificationDate"),
            })
            .collect(),
        files,
        record_type_specific_metadata: c(root, "RecordTypeSpecificMetadata")
            .map(|e| e.elements().cloned().collect()),
        dec_metadata: c(root, "DecMetadata").map(|d| DecMetadata {
            dec_id: tt(d, "DecId").trim_matches(xml::is_xml_ws).to_string(),
            dec_folder: tt(d, "DecFolder"),
            dec_receipt_date: tt(d, "DecReceiptDate"),
        }),
    })
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

struct W {
    out: String,
}

impl W {
    fn open(&mut self, n: &str) {
        self.out.push('<');
        self.out.push_str(n);
        self.out.push('>');
    }
    fn close(&mut self, n: &str) {
        self.out.push_str("</");
        self.out.push_str(n);
        self.out.push('>');
    }
    fn leaf(&mut self, n: &str, v: &str) {
        self.open(n);
        xml::escape_text(v, &mut self.out);
        self.close(n);
    }
    fn opt(&mut self, n: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.leaf(n, v);
        }
    }
    fn bool(&mut self, n: &str, v: Option<bool>) {
        if let Some(v) = v {
            self.leaf(n, if v { "true" } else { "false" });
        }
    }
    fn dec_party(&mut self, n: &str, p: &DecParty) {
        self.open(n);
        self.leaf("OrganisationCode", &p.organisation_code);
        self.opt("StructuralUnit", &p.structural_unit);
        self.opt("PersonalIdCode", &p.personal_id_code);
        self.close(n);
    }
    fn organisation(&mut self, o: &Option<Organisation>) {
        let Some(o) = o else { return };
        self.open("Organisation");
        self.leaf("Name", &o.name);
        self.opt("OrganisationCode", &o.organisation_code);
        self.opt("StructuralUnit", &o.structural_unit);
        self.opt("PositionTitle", &o.position_title);
        self.opt("Residency", &o.residency);
        self.close("Organisation");
    }
    fn person(&mut self, p: &Option<Person>) {
        let Some(p) = p else { return };
        self.open("Person");
        self.leaf("Name", &p.name);
        self.opt("GivenName", &p.given_name);
        self.opt("Surname", &p.surname);
        self.opt("PersonalIdCode", &p.personal_id_code);
        self.opt("Residency", &p.residency);
        self.close("Person");
    }
    fn contact(&mut self, c: &ContactData) {
        self.open("ContactData");
        self.bool("Adit", c.adit);
        self.opt("Phone", &c.phone);
        self.opt("Email", &c.email);
        self.opt("WebPage", &c.web_page);
        self.opt("MessagingAddress", &c.messaging_address);
        if let Some(p) = &c.postal_address {
            self.open("PostalAddress");
            self.opt("Country", &p.country);
            self.opt("County", &p.county);
            self.opt("LocalGovernment", &p.local_government);
            self.opt("AdministrativeUnit", &p.administrative_unit);
            self.opt("SmallPlace", &p.small_place);
            self.opt("LandUnit", &p.land_unit);
            self.opt("Street", &p.street);
            self.opt("HouseNumber", &p.house_number);
            self.opt("BuildingPartNumber", &p.building_part_number);
            self.opt("PostalCode", &p.postal_code);
            self.close("PostalAddress");
        }
        self.close("ContactData");
    }
    fn actor(&mut self, n: &str, a: &Option<Actor>) {
        let Some(a) = a else { return };
        self.open(n);
        self.organisation(&a.organisation);
        self.person(&a.person);
        if let Some(c) = &a.contact_data {
            self.contact(c);
        }
        self.close(n);
    }
}

/// Writes the capsule XML (files as base64 of gzip). The output is checked with
/// the same validator the reader uses; an invalid field (a malformed GUID or date
/// put into the model by hand) is refused with a `DHX.Validation` fault naming it.
pub fn write(c: &Capsule) -> Result<String, Fault> {
    let mut w = W {
        out: String::with_capacity(4096),
    };
    w.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.out.push_str("<DecContainer xmlns=\"");
    w.out.push_str(NS);
    w.out.push_str("\">");
    w.open("Transport");
    w.dec_party("DecSender", &c.transport.dec_sender);
    for r in &c.transport.dec_recipients {
        w.dec_party("DecRecipient", r);
    }
    w.close("Transport");
    if let Some(i) = &c.initiator {
        w.open("Initiator");
        w.opt(
            "InitiatorRecordOriginalIdentifier",
            &i.record_original_identifier,
        );
        w.opt("InitiatorRecordDate", &i.record_date);
        w.organisation(&i.organisation);
        w.person(&i.person);
        w.contact(&i.contact_data);
        w.close("Initiator");
    }
    w.actor("RecordCreator", &c.record_creator);
    w.actor("RecordSenderToDec", &c.record_sender_to_dec);
    for r in &c.recipients {
        w.open("Recipient");
        w.opt("RecipientRecordGuid", &r.record_guid);
        w.opt(
            "RecipientRecordOriginalIdentifier",
            &r.record_original_identifier,
        );
        w.opt("MessageForRecipient", &r.message_for_recipient);
        w.organisation(&r.organisation);
        w.person(&r.person);
        if let Some(cd) = &r.contact_data {
            w.contact(cd);
        }
        w.close("Recipient");
    }
    let m = &c.record_metadata;
    w.open("RecordMetadata");
    w.leaf("RecordGuid", &m.record_guid);
    w.leaf("RecordType", &m.record_type);
    w.leaf("RecordOriginalIdentifier", &m.record_original_identifier);
    w.leaf("RecordDateRegistered", &m.record_date_registered);
    w.leaf("RecordTitle", &m.record_title);
    w.opt("RecordLanguage", &m.record_language);
    w.opt("RecordAbstract", &m.record_abstract);
    w.opt("ReplyDueDate", &m.reply_due_date);
    w.close("RecordMetadata");
    w.open("Access");
    w.leaf(
        "AccessConditionsCode",
        match c.access.conditions_code {
            AccessCode::AK => "AK",
            AccessCode::Avalik => "Avalik",
        },
    );
    for r in &c.access.restrictions {
        w.open("AccessRestriction");
        w.opt("RestrictionIdentifier", &r.identifier);
        w.leaf("RestrictionBeginDate", &r.begin_date);
        w.leaf("RestrictionEndDate", &r.end_date);
        w.opt("RestrictionEndEvent", &r.end_event);
        w.opt("RestrictionInvalidSince", &r.invalid_since);
        w.leaf("RestrictionBasis", &r.basis);
        w.leaf("InformationOwner", &r.information_owner);
        w.close("AccessRestriction");
    }
    w.close("Access");
    for s in &c.signatures {
        w.open("SignatureMetadata");
        w.opt("SignatureType", &s.signature_type);
        w.opt("Signer", &s.signer);
        w.opt("Verified", &s.verified);
        w.opt("SignatureVerificationDate", &s.verification_date);
        w.close("SignatureMetadata");
    }
    for f in &c.files {
        w.open("File");
        w.leaf("FileGuid", &f.guid);
        w.bool("RecordMainComponent", f.main_component);
        w.leaf("FileName", &f.name);
        w.leaf("MimeType", &f.mime_type);
        w.opt("FileSize", &f.size);
        w.leaf("ZipBase64Content", &encode_zip_base64(&f.content));
        w.close("File");
    }
    if let Some(els) = &c.record_type_specific_metadata {
        w.open("RecordTypeSpecificMetadata");
        for e in els {
            xml::write_element(e, &mut w.out);
        }
        w.close("RecordTypeSpecificMetadata");
    }
    if let Some(d) = &c.dec_metadata {
        w.open("DecMetadata");
        w.leaf("DecId", &d.dec_id);
        w.leaf("DecFolder", &d.dec_folder);
        w.leaf("DecReceiptDate", &d.dec_receipt_date);
        w.close("DecMetadata");
    }
    w.out.push_str("</DecContainer>\n");
    validate(w.out.as_bytes()).map_err(|f| {
        Fault::validation(format!(
            "docgate would write an invalid capsule: {}",
            f.message
        ))
    })?;
    Ok(w.out)
}

/// The registry codes the capsule is addressed to (DecRecipient/OrganisationCode).
pub fn addressees(c: &Capsule) -> Vec<&str> {
    c.transport
        .dec_recipients
        .iter()
        .map(|r| r.organisation_code.trim())
        .collect()
}

/// `DHX.InvalidAddressee` unless `our_code` is among the DecRecipients.
pub fn check_addressee(c: &Capsule, our_code: &str) -> Result<(), Fault> {
    if addressees(c).contains(&our_code.trim()) {
        Ok(())
    } else {
        Err(Fault::new(
            FaultCode::InvalidAddressee,
            format!(
                "capsule is not addressed to {our_code}: DecRecipient/OrganisationCode is {}",
                addressees(c).join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (fuzz crash-35ffa9b4): a date or time with a multibyte
    /// character where a digit belongs was sliced inside the character and
    /// panicked; it is simply not a date.
    #[test]
    fn a_date_with_a_multibyte_character_is_refused_not_a_panic() {
        for s in [
            "2026-01-01T10:5\u{3fb}54",
            "2026-01-01T1\u{e9}:00:00",
            "2026-0\u{e9}-01",
            "2026-01-\u{e9}1",
            "2026-01-01+0\u{e9}:00",
            "2026-01-01T10:00:00+\u{e9}00:0",
        ] {
            assert!(!is_date(s) && !is_date_time(s), "{s}");
        }
        assert!(is_date_time("2026-01-01T10:05:54+02:00"));
        assert!(is_date("2026-01-01Z"));
    }

    #[test]
    fn lexical_types_follow_libxml2() {
        // expectations measured with xmllint 2.9.14
        for (v, ok) in [
            ("2012-11-11T19:18:03", true),
            ("2012-11-11T19:18:03.5+02:00", true),
            ("2012-02-30T00:00:00", false),
            ("2013-02-29T00:00:00", false),
            ("2000-02-29T00:00:00", true),
            ("1900-02-29T00:00:00", false),
            ("0000-01-01T00:00:00", false),
            ("-0001-01-01T00:00:00", true),
            ("-0004-02-29T00:00:00", true),
            ("-0001-02-29T00:00:00", false),
            ("12012-01-01T00:00:00", true),
            ("02012-01-01T01:01:01", false),
            ("2012-01-01T24:00:00", true),
            ("2012-01-01T24:00:00.0", true),
            ("2012-01-01T24:00:00.5", false),
            ("2012-01-01T24:00:01", false),
            ("2012-01-01T23:59:60", false),
            ("2012-01-01T23:59:59+14:00", true),
            ("2012-01-01T23:59:59+14:01", false),
            ("2012-01-01T01:01:01+13:60", false),
            (" 2012-01-01T01:01:01 ", false),
            ("2012-01-01T01:01:01.", false),
            ("2012-01-01T01:01:01z", false),
            ("2012-01-01T01:01:01+02", false),
        ] {
            assert_eq!(is_date_time(v), ok, "{v:?}");
        }
        for (v, ok) in [
            ("2012-11-23", true),
            ("2012-11-23Z", true),
            ("2012-11-23-14:00", true),
            ("2012-11-23-14:01", false),
            ("2012-11-31", false),
            (" 2012-11-23", false),
            ("2100-02-29", false),
            ("2012-11-23T00:00:00", false),
        ] {
            assert_eq!(is_date(v), ok, "{v:?}");
        }
        assert!(is_integer(&"9".repeat(24)));
        assert!(!is_integer(&"9".repeat(25)));
        assert!(is_integer(&format!("{}1", "0".repeat(30))));
        assert!(!is_integer("1.0"));
        assert!(check_simple(T::PostalCode, " 10999 ").is_ok());
        assert!(check_simple(T::PostalCode, "+1099").is_err());
        assert!(check_simple(T::AccessCode, "AK ").is_err());
        assert!(check_simple(T::Bool, " true ").is_ok());
        assert!(check_simple(T::Bool, "TRUE").is_err());
    }

    fn fixtures() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dhx/capsule")
    }

    #[test]
    fn element_list_covers_the_schema() {
        let xsd =
            std::fs::read_to_string(fixtures().join("Dvk_kapsel_vers_2_1_eng_est.xsd")).unwrap();
        let re = regex::Regex::new(r#"<xs:element[^>]*\bname="([A-Za-z0-9]+)""#).unwrap();
        let mut in_xsd: Vec<&str> = re
            .captures_iter(&xsd)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        in_xsd.sort();
        in_xsd.dedup();
        let mut ours = all_element_names();
        ours.sort();
        assert_eq!(ours, in_xsd);
    }

    #[test]
    fn reads_the_official_examples() {
        let lim = ReadLimits::default();
        let n2 = read(&std::fs::read(fixtures().join("Naide2.xml")).unwrap(), &lim).unwrap();
        assert_eq!(n2.transport.dec_sender.organisation_code, "70006317");
        assert_eq!(
            n2.record_metadata.reply_due_date.as_deref(),
            Some("2012-11-23")
        );
        assert_eq!(n2.access.conditions_code, AccessCode::AK);
        assert_eq!(
            n2.access.restrictions[0].basis,
            "Avaliku teabe seadus, § 35 (10)"
        );
        assert_eq!(
            n2.initiator
                .as_ref()
                .unwrap()
                .record_original_identifier
                .as_deref(),
            Some("213465")
        );
        assert_eq!(n2.files[0].size.as_deref(), Some("355690"));
        let k = read(
            &std::fs::read(fixtures().join("kapsel_21.xml")).unwrap(),
            &lim,
        )
        .unwrap();
        assert_eq!(addressees(&k), vec!["401", "10560025"]);
        assert!(k.files.iter().all(|f| !f.content.is_empty()));
        let b = read_any(
            &std::fs::read(fixtures().join("kapsel.gzip.base64.txt")).unwrap(),
            &lim,
        )
        .unwrap();
        assert_eq!(b.transport.dec_sender.organisation_code, "adit");
        assert!(n2.files[0]
            .content_error
            .as_deref()
            .unwrap()
            .contains("not valid gzip"));
        // reading and writing again gives the same model (the rewritten gzip is sound)
        for mut c in [n2, k, b] {
            let again = read(write(&c).unwrap().as_bytes(), &lim).unwrap();
            c.files.iter_mut().for_each(|f| f.content_error = None);
            assert_eq!(again, c);
        }
    }

    #[test]
    fn rejections_name_the_element() {
        let lim = ReadLimits::default();
        let f = read(
            &std::fs::read(fixtures().join("kapsel_21_wrong.xml")).unwrap(),
            &lim,
        )
        .unwrap_err();
        assert_eq!(f.code, FaultCode::Validation);
        assert!(
            f.message.contains("RecordCreator") && f.message.contains("Transport"),
            "{f}"
        );
        let f = read(
            &std::fs::read(fixtures().join("kapsel_21invalid.xml")).unwrap(),
            &lim,
        )
        .unwrap_err();
        assert!(
            f.message.contains("DecContainer/Transport") && f.message.contains("DecSender"),
            "{f}"
        );
        let f = read(b"test", &lim).unwrap_err();
        assert_eq!(f.code, FaultCode::Validation);
        assert!(f.message.contains("not well-formed"), "{f}");
    }

    #[test]
    fn billion_laughs_is_refused_without_expansion() {
        let mut bomb = String::from(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE DecContainer [\n<!ENTITY l0 \"lol\">\n",
        );
        for i in 1..10 {
            bomb.push_str(&format!(
                "<!ENTITY l{i} \"{}\">\n",
                format!("&l{};", i - 1).repeat(10)
            ));
        }
        bomb.push_str("]>\n<DecContainer xmlns=\"http://www.riik.ee/schemas/deccontainer/vers_2_1/\">&l9;</DecContainer>");
        let t0 = std::time::Instant::now();
        let f = read(bomb.as_bytes(), &ReadLimits::default()).unwrap_err();
        assert!(t0.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(f.code, FaultCode::Validation);
        assert!(f.message.contains("DOCTYPE"), "{f}");
    }

    #[test]
    fn gzip_content_is_bounded() {
        let mut c = read(
            &std::fs::read(fixtures().join("kapsel_21.xml")).unwrap(),
            &ReadLimits::default(),
        )
        .unwrap();
        c.files.truncate(1);
        c.files[0].content = vec![b'a'; 1_000_000];
        c.files[0].size = Some("1000000".into());
        let xml = write(&c).unwrap();
        assert!(xml.len() < 10_000, "compresses well: {}", xml.len());
        let lim = ReadLimits {
            max_xml_bytes: 1 << 20,
            max_decompressed_bytes: 999_999,
            ..Default::default()
        };
        let f = read(xml.as_bytes(), &lim).unwrap_err();
        assert_eq!(f.code, FaultCode::SizeLimitExceeded, "{f}");
        assert!(f.message.contains("ZipBase64Content"), "{f}");
        let lim = ReadLimits {
            max_xml_bytes: 1 << 20,
            max_decompressed_bytes: 1_000_000,
            ..Default::default()
        };
        assert_eq!(
            read(xml.as_bytes(), &lim).unwrap().files[0].content.len(),
            1_000_000
        );
        let f = read(
            xml.as_bytes(),
            &ReadLimits {
                max_xml_bytes: 100,
                max_decompressed_bytes: 1 << 30,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(f.code, FaultCode::SizeLimitExceeded);
        // bad base64 and non-gzip content are validation faults
        let bad = xml.replacen("<ZipBase64Content>H4sI", "<ZipBase64Content>H4s!", 1);
        let f = read(bad.as_bytes(), &ReadLimits::default()).unwrap_err();
        assert!(f.message.contains("base64"), "{f}");
        let notgz = xml.replacen("<ZipBase64Content>H4sI", "<ZipBase64Content>AAAA", 1);
        let f = read(notgz.as_bytes(), &ReadLimits::default()).unwrap_err();
        assert!(f.message.contains("gzip"), "{f}");
        c.files[0].content = b"hello".to_vec();
        let ok = write(&c).unwrap();
        let start = ok.find("<ZipBase64Content>").unwrap() + 18;
        let end = ok.find("</ZipBase64Content>").unwrap();
        let mut gz = b64_decode(&ok[start..end]).unwrap();
        gz.truncate(gz.len() - 6);
        let cut = format!("{}{}{}", &ok[..start], b64_encode(&gz), &ok[end..]);
        let r = read(cut.as_bytes(), &ReadLimits::default()).unwrap();
        assert_eq!(r.files[0].content, b"hello");
        assert!(r.files[0].content_error.is_some());
    }
}

/// Tests against xmllint (Debian libxml2-utils), the reference validator.
#[cfg(test)]
pub(crate) mod xmllint_tests {
    use super::*;
    use crate::dhx::xml::Node;
    use proptest::prelude::*;
    use std::path::{Path, PathBuf};

    pub fn xsd() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/dhx/capsule/Dvk_kapsel_vers_2_1_eng_est.xsd")
    }

    /// xmllint's verdict on each file (true: validates).
    pub fn xmllint_verdicts(files: &[PathBuf]) -> Vec<bool> {
        let out = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg("--nonet")
            .arg("--schema")
            .arg(xsd())
            .args(files)
            .output()
            .expect("xmllint is needed by the DHX tests: apt-get install libxml2-utils (.ci/setup/xmllint.sh)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        files
            .iter()
            .map(|f| {
                let name = f.to_string_lossy();
                if stderr.lines().any(|l| l == format!("{name} validates")) {
                    true
                } else {
                    assert!(
                        stderr
                            .lines()
                            .any(|l| l == format!("{name} fails to validate"))
                            || stderr.contains(&format!("{name}:")),
                        "no xmllint verdict for {name}: {stderr}"
                    );
                    false
                }
            })
            .collect()
    }

    fn ours(bytes: &[u8]) -> Result<Capsule, Fault> {
        read(bytes, &ReadLimits::default())
    }

    #[test]
    fn verdict_matches_xmllint_on_every_official_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dhx/capsule");
        let tmp = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            files.push(p.clone());
            if p.extension().is_some_and(|x| x == "txt") {
                // base64(gzip) capsules: compare on the decoded XML as well
                let xml = unwrap_any(&std::fs::read(&p).unwrap(), &ReadLimits::default()).unwrap();
                let q = tmp
                    .path()
                    .join(format!("{}.xml", p.file_name().unwrap().to_string_lossy()));
                std::fs::write(&q, xml).unwrap();
                files.push(q);
            }
        }
        files.sort();
        assert!(files.len() >= 13, "{files:?}");
        let verdicts = xmllint_verdicts(&files);
        let mut valid = 0;
        for (f, lint) in files.iter().zip(verdicts) {
            let r = ours(&std::fs::read(f).unwrap());
            assert_eq!(
                r.is_ok(),
                lint,
                "{}: ours {:?}, xmllint {}",
                f.display(),
                r.err(),
                lint
            );
            if let Err(fault) = r {
                assert_eq!(fault.code, FaultCode::Validation);
            }
            valid += lint as usize;
        }
        assert_eq!(valid, 7, "5 valid XML capsules + 2 decoded base64 ones");
        // and read_any accepts the base64 forms directly
        for n in ["kapsel.gzip.base64.txt", "kapsel_21_gzip_base64.txt"] {
            read_any(&std::fs::read(dir.join(n)).unwrap(), &ReadLimits::default()).unwrap();
        }
    }

    /// Values that exercise every simple type's edges.
    const TRICKY: &[&str] = &[
        "",
        " ",
        "x",
        "AK",
        "Avalik",
        "AK ",
        "true",
        "0",
        " 1 ",
        "yes",
        "12",
        "+12",
        "-0",
        "1.5",
        "10999",
        " 10999",
        "1099",
        "2012-11-23",
        "2012-11-23Z",
        "2012-02-30",
        "0000-01-01",
        "2012-11-23T10:00:00",
        "2012-11-23T24:00:00",
        "2012-11-23T10:00:00+15:00",
        " 2012-11-23",
        "25892e17-80f6-415f-9c65-7395632f0223",
        "25892E17-80F6-415F-9C65-7395632F022",
        "+372 (5) 5-5",
        "a1",
        "999999999999999999999999",
        "9999999999999999999999999",
        "2013-02-29T00:00:00",
    ];

    fn elements_mut(e: &mut Element) -> Vec<&mut Element> {
        e.children
            .iter_mut()
            .filter_map(|n| match n {
                Node::Element(e) => Some(e),
                Node::Text(_) => None,
            })
            .collect()
    }

    /// Every element path (as child-index lists) of a tree.
    fn paths(e: &Element, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        for (i, c) in e.elements().enumerate() {
            prefix.push(i);
            out.push(prefix.clone());
            paths(c, prefix, out);
            prefix.pop();
        }
    }

    fn at<'a>(e: &'a mut Element, path: &[usize]) -> &'a mut Element {
        match path.split_first() {
            None => e,
            Some((i, rest)) => at(elements_mut(e).into_iter().nth(*i).unwrap(), rest),
        }
    }

    fn node_index(parent: &Element, elem_index: usize) -> usize {
        let mut k = 0;
        for (ni, n) in parent.children.iter().enumerate() {
            if let Node::Element(_) = n {
                if k == elem_index {
                    return ni;
                }
                k += 1;
            }
        }
        unreachable!()
    }

    fn serialize(root: &Element) -> String {
        let mut s = String::new();
        xml::write_element(root, &mut s);
        s
    }

    /// Mutants of the official capsules: every element deleted, duplicated, moved
    /// past its next sibling, given an attribute or stray text, and every leaf given
    /// each tricky value. Our verdict must equal xmllint's on each one.
    #[test]
    fn verdict_matches_xmllint_on_mutants() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/dhx/capsule");
        let tmp = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        let mut n = 0;
        let mut emit = |s: String, files: &mut Vec<PathBuf>| {
            n += 1;
            let p = tmp.path().join(format!("m{n:05}.xml"));
            std::fs::write(&p, s).unwrap();
            files.push(p);
        };
        for name in ["Naide1.xml", "Naide2.xml", "Naide3.xml"] {
            let root = xml::parse(&std::fs::read(dir.join(name)).unwrap()).unwrap();
            let mut all = Vec::new();
            paths(&root, &mut Vec::new(), &mut all);
            for p in &all {
                let (last, parent_path) = p.split_last().unwrap();
                // delete
                let mut m = root.clone();
                let parent = at(&mut m, parent_path);
                let ni = node_index(parent, *last);
                parent.children.remove(ni);
                emit(serialize(&m), &mut files);
                // duplicate
                let mut m = root.clone();
                let parent = at(&mut m, parent_path);
                let ni = node_index(parent, *last);
                let dup = parent.children[ni].clone();
                parent.children.insert(ni, dup);
                emit(serialize(&m), &mut files);
                // swap with the next sibling element
                let mut m = root.clone();
                let parent = at(&mut m, parent_path);
                if parent.elements().count() > last + 1 {
                    let a = node_index(parent, *last);
                    let b = node_index(parent, last + 1);
                    parent.children.swap(a, b);
                    emit(serialize(&m), &mut files);
                }
                // attribute
                let mut m = root.clone();
                at(&mut m, p).attrs.push(xml::Attr {
                    ns: None,
                    name: "id".into(),
                    value: "1".into(),
                });
                emit(serialize(&m), &mut files);
                // wrong namespace
                let mut m = root.clone();
                at(&mut m, p).ns = Some("http://www.riik.ee/schemas/deccontainer/vers_2_0/".into());
                emit(serialize(&m), &mut files);
                let mut m = root.clone();
                let e = at(&mut m, p);
                if e.elements().next().is_some() {
                    // stray text in element-only content
                    e.children.insert(0, Node::Text("x".into()));
                    emit(serialize(&m), &mut files);
                } else if name == "Naide2.xml" {
                    // leaf: every tricky value, and a child element
                    for v in TRICKY {
                        let mut m = root.clone();
                        at(&mut m, p).children = vec![Node::Text((*v).to_string())];
                        emit(serialize(&m), &mut files);
                    }
                    let mut m = root.clone();
                    let e = at(&mut m, p);
                    let child = Element {
                        children: vec![],
                        attrs: vec![],
                        ..e.clone()
                    };
                    e.children.push(Node::Element(child));
                    emit(serialize(&m), &mut files);
                }
            }
        }
        assert!(files.len() > 1000, "{}", files.len());
        let verdicts = xmllint_verdicts(&files);
        let mut disagreements = Vec::new();
        let mut valid = 0;
        for (f, lint) in files.iter().zip(&verdicts) {
            let bytes = std::fs::read(f).unwrap();
            let r = validate(&bytes);
            if r.is_ok() != *lint {
                disagreements.push(format!(
                    "{}: ours {:?}, xmllint {lint}\n{}",
                    f.display(),
                    r.err(),
                    String::from_utf8_lossy(&bytes)
                ));
            }
            valid += *lint as usize;
        }
        assert!(
            valid > 100 && valid < files.len() - 100,
            "both verdicts are exercised: {valid}"
        );
        assert!(
            disagreements.is_empty(),
            "{} disagreements; first:\n{}",
            disagreements.len(),
            disagreements[0]
        );
    }

    // ---- the writer: random capsules always validate ----

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,24}",
            Just("<&>\"' ]]> &amp;".to_string()),
            Just(" \t\r\n".to_string()),
            "[a-zA-Z0-9 ]{1,12}",
        ]
    }
    fn otext() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(text())
    }
    fn date() -> impl Strategy<Value = String> {
        (
            1i32..=9999,
            1u32..=12,
            1u32..=31,
            prop_oneof![Just(""), Just("Z"), Just("+02:00"), Just("-14:00")],
        )
            .prop_map(|(y, m, d, tz)| {
                let d = d.min(days_in_month(y as i128, m));
                format!("{y:04}-{m:02}-{d:02}{tz}")
            })
    }
    fn date_time() -> impl Strategy<Value = String> {
        (
            date(),
            0u32..24,
            0u32..60,
            0u32..60,
            proptest::option::of(0u32..1000),
        )
            .prop_map(|(d, h, mi, s, frac)| {
                let (day, tz) = d.split_at(10);
                let frac = frac.map(|f| format!(".{f:03}")).unwrap_or_default();
                format!("{day}T{h:02}:{mi:02}:{s:02}{frac}{tz}")
            })
    }
    fn guid() -> impl Strategy<Value = String> {
        any::<u128>().prop_map(|u| uuid::Uuid::from_u128(u).to_string())
    }
    fn organisation() -> impl Strategy<Value = Organisation> {
        (text(), otext(), otext(), otext(), otext()).prop_map(
            |(name, organisation_code, structural_unit, position_title, residency)| Organisation {
                name,
                organisation_code,
                structural_unit,
                position_title,
                residency,
            },
        )
    }
    fn person() -> impl Strategy<Value = Person> {
        (text(), otext(), otext(), otext(), otext()).prop_map(
            |(name, given_name, surname, personal_id_code, residency)| Person {
                name,
                given_name,
                surname,
                personal_id_code,
                residency,
            },
        )
    }
    fn contact() -> impl Strategy<Value = ContactData> {
        (
            proptest::option::of(any::<bool>()),
            proptest::option::of("[0-9 +()-]{0,15}"),
            otext(),
            otext(),
            otext(),
            proptest::option::of((
                otext(),
                otext(),
                otext(),
                otext(),
                proptest::option::of("[0-9]{5}"),
            )),
        )
            .prop_map(|(adit, phone, email, web_page, messaging_address, pa)| {
                ContactData {
                    adit,
                    phone,
                    email,
                    web_page,
                    messaging_address,
                    postal_address: pa.map(
                        |(country, county, street, house_number, postal_code)| PostalAddress {
                            country,
                            county,
                            street,
                            house_number,
                            postal_code,
                            ..Default::default()
                        },
                    ),
                }
            })
    }
    fn actor() -> impl Strategy<Value = Actor> {
        (
            proptest::option::of(organisation()),
            proptest::option::of(person()),
            proptest::option::of(contact()),
        )
            .prop_map(|(organisation, person, contact_data)| Actor {
                organisation,
                person,
                contact_data,
            })
    }
    fn dec_party() -> impl Strategy<Value = DecParty> {
        (text(), otext(), otext()).prop_map(
            |(organisation_code, structural_unit, personal_id_code)| DecParty {
                organisation_code,
                structural_unit,
                personal_id_code,
            },
        )
    }
    fn recipient() -> impl Strategy<Value = Recipient> {
        (
            proptest::option::of(guid()),
            otext(),
            otext(),
            proptest::option::of(organisation()),
            proptest::option::of(person()),
            proptest::option::of(contact()),
        )
            .prop_map(
                |(
                    record_guid,
                    record_original_identifier,
                    message_for_recipient,
                    organisation,
                    person,
                    contact_data,
                )| Recipient {
                    record_guid,
                    record_original_identifier,
                    message_for_recipient,
                    organisation,
                    person,
                    contact_data,
                },
            )
    }
    fn restriction() -> impl Strategy<Value = AccessRestriction> {
        (
            otext(),
            date(),
            date(),
            otext(),
            proptest::option::of(date()),
            text(),
            text(),
        )
            .prop_map(
                |(
                    identifier,
                    begin_date,
                    end_date,
                    end_event,
                    invalid_since,
                    basis,
                    information_owner,
                )| AccessRestriction {
                    identifier,
                    begin_date,
                    end_date,
                    end_event,
                    invalid_since,
                    basis,
                    information_owner,
                },
            )
    }
    fn file() -> impl Strategy<Value = CapsuleFile> {
        (
            guid(),
            proptest::option::of(any::<bool>()),
            text(),
            text(),
            proptest::option::of(any::<u64>()),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(guid, main_component, name, mime_type, size, content)| {
                CapsuleFile {
                    guid,
                    main_component,
                    name,
                    mime_type,
                    size: size.map(|s| s.to_string()),
                    content,
                    content_error: None,
                }
            })
    }
    prop_compose! {
        pub fn capsule()(
            sender in dec_party(),
            recipients in proptest::collection::vec(dec_party(), 1..3),
            initiator in proptest::option::of((otext(), proptest::option::of(date_time()), proptest::option::of(organisation()), proptest::option::of(person()), contact())),
            creator in proptest::option::of(actor()),
            sender_to_dec in proptest::option::of(actor()),
            recs in proptest::collection::vec(recipient(), 1..3),
            meta in (guid(), text(), text(), date_time(), text(), otext(), otext(), proptest::option::of(date())),
            ak in any::<bool>(),
            restrictions in proptest::collection::vec(restriction(), 0..3),
            sigs in proptest::collection::vec((otext(), otext(), otext(), proptest::option::of(date_time())), 0..2),
            files in proptest::collection::vec(file(), 1..3),
            rtsm in proptest::option::of(proptest::collection::vec("[a-z]{1,8}", 0..3)),
            dec in proptest::option::of((any::<i64>(), text(), date_time())),
        ) -> Capsule {
            Capsule {
                transport: Transport { dec_sender: sender, dec_recipients: recipients },
                initiator: initiator.map(|(record_original_identifier, record_date, organisation, person, contact_data)| Initiator {
                    record_original_identifier, record_date, organisation, person, contact_data,
                }),
                record_creator: creator,
                record_sender_to_dec: sender_to_dec,
                recipients: recs,
                record_metadata: RecordMetadata {
                    record_guid: meta.0, record_type: meta.1, record_original_identifier: meta.2,
                    record_date_registered: meta.3, record_title: meta.4, record_language: meta.5,
                    record_abstract: meta.6, reply_due_date: meta.7,
                },
                access: Access { conditions_code: if ak { AccessCode::AK } else { AccessCode::Avalik }, restrictions },
                signatures: sigs.into_iter().map(|(signature_type, signer, verified, verification_date)| SignatureMetadata {
                    signature_type, signer, verified, verification_date,
                }).collect(),
                files,
                record_type_specific_metadata: rtsm.map(|names| names.iter().map(|n| {
                    xml::parse(format!("<x:{n} xmlns:x=\"urn:test:{n}\" a=\"1\"><y>t&amp;</y></x:{n}>").as_bytes()).unwrap()
                }).collect()),
                dec_metadata: dec.map(|(id, dec_folder, dec_receipt_date)| DecMetadata { dec_id: id.to_string(), dec_folder, dec_receipt_date }),
            }
        }
    }

    /// Drops characters XML cannot carry, as the writer does.
    fn xml_clean(c: &Capsule) -> Capsule {
        let s = serde_json::to_string(c).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&s).unwrap();
        fn walk(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::String(s) => *s = xml::xml_safe(s),
                serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
                serde_json::Value::Object(o) => o.values_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        let mut out: Capsule = serde_json::from_value(v).unwrap();
        for (a, b) in out.files.iter_mut().zip(&c.files) {
            a.content = b.content.clone();
        }
        out.record_type_specific_metadata = c.record_type_specific_metadata.clone();
        out
    }

    /// Random capsules (64 cases; more with PROPTEST_CASES): written, each validates
    /// with xmllint, and reads back to the same model. Runs on a thread with a big
    /// stack: the capsule strategy is deep.
    #[test]
    fn written_capsules_validate_with_xmllint_and_read_back() {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(|| {
                let cases = std::env::var("PROPTEST_CASES")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(64);
                let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
                    cases,
                    ..ProptestConfig::default()
                });
                runner
                    .run(&capsule(), |c| {
                        let xml = write(&c).unwrap();
                        let dir = tempfile::tempdir().unwrap();
                        let p = dir.path().join("c.xml");
                        std::fs::write(&p, &xml).unwrap();
                        prop_assert_eq!(xmllint_verdicts(&[p]), vec![true], "{}", xml);
                        let mut back = read(xml.as_bytes(), &ReadLimits::default()).unwrap();
                        // RecordTypeSpecificMetadata is opaque: compare it serialized
                        let ser = |els: &Option<Vec<Element>>| {
                            els.as_ref()
                                .map(|v| v.iter().map(serialize).collect::<Vec<_>>())
                        };
                        prop_assert_eq!(
                            ser(&back.record_type_specific_metadata),
                            ser(&c.record_type_specific_metadata)
                        );
                        back.record_type_specific_metadata =
                            c.record_type_specific_metadata.clone();
                        prop_assert_eq!(back, xml_clean(&c));
                        Ok(())
                    })
                    .unwrap();
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
