//! Capsule <-> register document, as pure functions.
//!
//! Outgoing (a document of ours -> capsule):
//! - `RecordMetadata`: RecordOriginalIdentifier = our reg_no, RecordTitle = title,
//!   RecordDateRegistered = registered_at (UTC), RecordType = "Kiri" (or the
//!   document type), RecordGuid = a stable GUID derived from agency + reg_no,
//!   ReplyDueDate = the deadline we ask for (if any);
//! - `Access`: AK with one AccessRestriction (ground -> RestrictionBasis, holder ->
//!   InformationOwner, begin/end dates), or Avalik;
//! - `File`: every file with FileSize and content; size and sha256 are checked
//!   against the register's record of the file before it leaves;
//! - `Recipient/RecipientRecordOriginalIdentifier` = their_ref (the addressee's own
//!   reference of the letter we answer);
//! - `Initiator` = the thread's source record as the other side knows it.
//!
//! Incoming (capsule -> a new document): the reverse. RecordOriginalIdentifier and
//! the date of RecordDateRegistered become their_ref / their_date, AK becomes a
//! restriction, ReplyDueDate the deadline, and the identifiers that name one of our
//! documents (RecipientRecordOriginalIdentifier, InitiatorRecordOriginalIdentifier)
//! put the new document in that document's thread.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::capsule::{self, AccessCode, Capsule, CapsuleFile};
use super::Fault;
use crate::model::limits;
use crate::model::{
    Channel, Direction, Document, FileRef, NewDocument, NewFile, NewRestriction, Party, PartyKind,
    PartyRole,
};

/// The record type written for letters.
pub const DEFAULT_RECORD_TYPE: &str = "Kiri";

/// A GUID derived from a name (stable: the same document gives the same RecordGuid).
pub fn stable_guid(name: &str) -> String {
    let h = Sha256::digest(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x50; // version 5-like
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    uuid::Uuid::from_bytes(b).to_string()
}

/// An addressee of an outgoing capsule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addressee {
    pub code: String,
    pub name: Option<String>,
}

/// What an outgoing capsule needs besides the document itself.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    pub our_code: String,
    pub our_name: String,
    pub addressees: Vec<Addressee>,
    /// Source record of the thread, as the other side numbered it: (identifier, date).
    pub initiator: Option<(String, Option<Date>)>,
    /// Deadline we ask the addressee to answer by.
    pub reply_due: Option<Date>,
    /// Text of the letter when the document has no files (an e-mail body).
    pub body: Option<String>,
}

/// A file of the document with its bytes, as read from the store.
#[derive(Debug, Clone)]
pub struct FileWithBytes {
    pub file: FileRef,
    pub bytes: Vec<u8>,
}

fn utc_datetime(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Builds the capsule of an outgoing document. Files are checked against the
/// register's size and sha256 (a mismatch is an error: nothing corrupt leaves).
pub fn document_to_capsule(
    doc: &Document,
    files: &[FileWithBytes],
    out: &Outgoing,
) -> Result<Capsule, Fault> {
    if out.addressees.is_empty() {
        return Err(Fault::validation(
            "no addressee: give at least one registry code",
        ));
    }
    let mut cfiles = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if f.bytes.len() as u64 != f.file.size {
            return Err(Fault::validation(format!(
                "file {:?} of {} is {} bytes, the register says {}",
                f.file.name,
                doc.reg_no,
                f.bytes.len(),
                f.file.size
            )));
        }
        let sha = hex::encode(Sha256::digest(&f.bytes));
        if sha != f.file.sha256 {
            return Err(Fault::validation(format!(
                "file {:?} of {} does not match its sha256 {}",
                f.file.name, doc.reg_no, f.file.sha256
            )));
        }
        cfiles.push(CapsuleFile {
            guid: stable_guid(&format!(
                "file:{}:{}:{}:{}",
                out.our_code, doc.reg_no, i, f.file.sha256
            )),
            main_component: Some(i == 0),
            name: f.file.name.clone(),
            mime_type: f.file.media_type.clone(),
            size: Some(f.bytes.len().to_string()),
            content: f.bytes.clone(),
            content_error: None,
        });
    }
    if cfiles.is_empty() {
        // The capsule needs a file: the letter's text.
        let text = out
            .body
            .clone()
            .filter(|b| !b.trim().is_empty())
            .unwrap_or_else(|| doc.title.clone());
        let bytes = text.into_bytes();
        cfiles.push(CapsuleFile {
            guid: stable_guid(&format!("file:{}:{}:body", out.our_code, doc.reg_no)),
            main_component: Some(true),
            name: "kiri.txt".into(),
            mime_type: "text/plain; charset=utf-8".into(),
            size: Some(bytes.len().to_string()),
            content: bytes,
            content_error: None,
        });
    }
    let our_org = capsule::Organisation {
        name: out.our_name.clone(),
        organisation_code: Some(out.our_code.clone()),
        structural_unit: doc.unit.clone(),
        ..Default::default()
    };
    let access = match &doc.restriction {
        Some(r) => capsule::Access {
            conditions_code: AccessCode::AK,
            restrictions: vec![capsule::AccessRestriction {
                identifier: None,
                begin_date: r.begins.to_string(),
                end_date: r.ends.to_string(),
                end_event: None,
                invalid_since: None,
                basis: r.ground.clone(),
                information_owner: r.holder.clone(),
            }],
        },
        None => capsule::Access {
            conditions_code: AccessCode::Avalik,
            restrictions: vec![],
        },
    };
    let single = out.addressees.len() == 1;
    let recipients = out
        .addressees
        .iter()
        .map(|a| {
            let party_name = doc
                .parties
                .iter()
                .find(|p| p.code.as_deref() == Some(a.code.as_str()))
                .map(|p| p.name.clone());
            let named_party = party_name.is_some();
            capsule::Recipient {
                // their_ref belongs to the counterpart: the only addressee, or the one named as a party
                record_original_identifier: if single || named_party {
                    doc.their_ref.clone()
                } else {
                    None
                },
                organisation: Some(capsule::Organisation {
                    name: a
                        .name
                        .clone()
                        .or(party_name)
                        .unwrap_or_else(|| a.code.clone()),
                    organisation_code: Some(a.code.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let c = Capsule {
        transport: capsule::Transport {
            dec_sender: capsule::DecParty {
                organisation_code: out.our_code.clone(),
                ..Default::default()
            },
            dec_recipients: out
                .addressees
                .iter()
                .map(|a| capsule::DecParty {
                    organisation_code: a.code.clone(),
                    ..Default::default()
                })
                .collect(),
        },
        initiator: out.initiator.as_ref().map(|(id, date)| capsule::Initiator {
            record_original_identifier: Some(id.clone()),
            record_date: date.map(|d| format!("{d}T00:00:00")),
            ..Default::default()
        }),
        record_creator: Some(capsule::Actor {
            organisation: Some(our_org.clone()),
            person: doc.responsible.as_ref().map(|r| capsule::Person {
                name: r.clone(),
                ..Default::default()
            }),
            contact_data: None,
        }),
        record_sender_to_dec: Some(capsule::Actor {
            organisation: Some(our_org),
            person: None,
            contact_data: None,
        }),
        recipients,
        record_metadata: capsule::RecordMetadata {
            record_guid: stable_guid(&format!("record:{}:{}", out.our_code, doc.reg_no)),
            record_type: DEFAULT_RECORD_TYPE.into(),
            record_original_identifier: doc.reg_no.clone(),
            record_date_registered: utc_datetime(doc.registered_at),
            record_title: doc.title.clone(),
            record_language: None,
            record_abstract: None,
            reply_due_date: out.reply_due.map(|d| d.to_string()),
        },
        access,
        signatures: vec![],
        files: cfiles,
        record_type_specific_metadata: None,
        dec_metadata: None,
    };
    Ok(c)
}

/// The register-side view of an incoming capsule.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub doc: NewDocument,
    /// Identifiers in the capsule that may be our registration numbers (the
    /// document it answers): the first that exists becomes `reply_to`.
    pub reply_candidates: Vec<String>,
    /// ReplyDueDate: the deadline the sender asks for.
    pub reply_due: Option<Date>,
    pub record_guid: String,
    pub record_type: String,
    pub sender_code: String,
    /// Things the clerk should look at (clamped restriction, ...).
    pub notes: Vec<String>,
}

/// The date part of an `xs:date` / `xs:dateTime` lexical value (time zone dropped).
pub fn lexical_date(what: &str, s: &str) -> Result<Date, Fault> {
    let s = s.trim();
    let day = s.get(..10).unwrap_or(s);
    day.parse::<Date>()
        .ok()
        .and_then(|d| crate::model::check_date("date", d).ok())
        .ok_or_else(|| {
            Fault::validation(format!(
                "{what} {s:?} is not a date docgate can register (years {} to {})",
                crate::model::MIN_DATE.year(),
                crate::model::MAX_DATE.year()
            ))
        })
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Maps an incoming capsule to a new document (channel DHX, incoming, waiting for
/// the clerk). `today` is the registration date (restrictions are dated from it
/// when the capsule has no begin date). Faults name the capsule element.
pub fn capsule_to_new_document(c: &Capsule, today: Date) -> Result<Incoming, Fault> {
    let m = &c.record_metadata;
    let mut notes = Vec::new();
    let mut doc = NewDocument::new(Direction::Incoming, Channel::Dhx, m.record_title.trim());
    if doc.title.is_empty() {
        doc.title = "(pealkirjata)".into();
        notes.push("RecordTitle is empty".into());
    }
    // Fields beyond the register's limits are cut, with a note, never refused.
    let clip = |what: &str, v: String, max: usize, notes: &mut Vec<String>| {
        let c = limits::truncate(&v, max);
        if c != v {
            notes.push(format!("{what} is longer than {max} characters: shortened"));
        }
        c
    };
    doc.title = clip(
        "RecordTitle",
        std::mem::take(&mut doc.title),
        limits::TITLE,
        &mut notes,
    );
    doc.their_ref = Some(m.record_original_identifier.trim().to_string())
        .filter(|s| !s.is_empty())
        .map(|r| clip("RecordOriginalIdentifier", r, limits::THEIR_REF, &mut notes));
    doc.their_date = Some(lexical_date(
        "RecordMetadata/RecordDateRegistered",
        &m.record_date_registered,
    )?);
    doc.needs_review = true;

    // The sender.
    let sender_code = c.transport.dec_sender.organisation_code.trim().to_string();
    let org = c
        .record_sender_to_dec
        .as_ref()
        .and_then(|a| a.organisation.as_ref())
        .or_else(|| {
            c.record_creator
                .as_ref()
                .and_then(|a| a.organisation.as_ref())
        });
    let person = c
        .record_sender_to_dec
        .as_ref()
        .and_then(|a| a.person.as_ref())
        .or_else(|| c.record_creator.as_ref().and_then(|a| a.person.as_ref()));
    let sender = match (
        org,
        person,
        nonempty(&c.transport.dec_sender.personal_id_code),
    ) {
        (Some(o), _, None) if !o.name.trim().is_empty() => Party {
            kind: PartyKind::Organisation,
            role: PartyRole::Sender,
            name: o.name.trim().to_string(),
            code: Some(sender_code.clone()),
            email: None,
        },
        (_, Some(p), pic) if !p.name.trim().is_empty() && (pic.is_some() || org.is_none()) => {
            Party {
                kind: PartyKind::Person,
                role: PartyRole::Sender,
                name: p.name.trim().to_string(),
                code: pic.or_else(|| nonempty(&p.personal_id_code)),
                email: None,
            }
        }
        _ => Party {
            kind: PartyKind::Organisation,
            role: PartyRole::Sender,
            name: sender_code.clone(),
            code: Some(sender_code.clone()),
            email: None,
        },
    };
    doc.parties.push(sender);
    for r in &c.recipients {
        if let Some(o) = &r.organisation {
            if !o.name.trim().is_empty() {
                doc.parties.push(Party {
                    kind: PartyKind::Organisation,
                    role: PartyRole::Recipient,
                    name: o.name.trim().to_string(),
                    code: nonempty(&o.organisation_code),
                    email: None,
                });
            }
        } else if let Some(p) = &r.person {
            if !p.name.trim().is_empty() {
                doc.parties.push(Party {
                    kind: PartyKind::Person,
                    role: PartyRole::Recipient,
                    name: p.name.trim().to_string(),
                    code: nonempty(&p.personal_id_code),
                    email: None,
                });
            }
        }
    }

    for p in &mut doc.parties {
        p.name = clip(
            "a party's name",
            std::mem::take(&mut p.name),
            limits::PARTY_NAME,
            &mut notes,
        );
    }

    // Access: the sender's restriction is kept as sent, ground and end date
    // (AvTS § 38 lg 3: the receiver respects the holder's restriction; it is
    // neither checked against our grounds nor shortened), and the document goes
    // to review. Without one ("Avalik") the register applies its defaults
    // (series ground, personal data, natural persons).
    if c.access.conditions_code == AccessCode::AK {
        let rs = &c.access.restrictions;
        doc.needs_review = true;
        let restriction = if rs.is_empty() {
            // No ground and no end date: the sender's marking "AK" as sent; the
            // longest term (AvTS § 40 lg 3) until the clerk checks it.
            notes.push(
                "saatja märkis AK ilma AccessRestriction'ita: alus ja lõpp kontrollida (AK without AccessRestriction: check the ground and the end)".into(),
            );
            NewRestriction {
                end_by: crate::restriction::EndBy::Holder,
                ground: "AK".into(),
                ends: today
                    .checked_add(jiff::Span::new().years(crate::restriction::PERSONAL_YEARS))
                    .unwrap_or(today),
                holder: None,
                begins: Some(today),
            }
        } else {
            let mut begins = None::<Date>;
            let mut ends = None::<Date>;
            let mut grounds: Vec<String> = Vec::new();
            let mut holder = None;
            for (i, r) in rs.iter().enumerate() {
                let b = lexical_date(
                    &format!("AccessRestriction[{}]/RestrictionBeginDate", i + 1),
                    &r.begin_date,
                )?;
                let e = lexical_date(
                    &format!("AccessRestriction[{}]/RestrictionEndDate", i + 1),
                    &r.end_date,
                )?;
                begins = Some(begins.map_or(b, |x| x.min(b)));
                ends = Some(ends.map_or(e, |x| x.max(e)));
                let g = r.basis.trim().to_string();
                if !g.is_empty() && !grounds.contains(&g) {
                    grounds.push(g);
                }
                if holder.is_none() && !r.information_owner.trim().is_empty() {
                    holder = Some(r.information_owner.trim().to_string());
                }
            }
            let ground = if grounds.is_empty() {
                notes.push(
                    "saatja piirangul pole alust: alus kontrollida (the sender's restriction has no ground: check it)".into(),
                );
                "AK".to_string()
            } else {
                grounds.join("; ")
            };
            let begins = begins.unwrap_or(today);
            let ends = ends.unwrap_or(today).max(begins);
            NewRestriction {
                end_by: crate::restriction::EndBy::Holder,
                ground,
                ends,
                holder,
                begins: Some(begins),
            }
        };
        doc.restriction = Some(restriction);
    }

    // Files, checked against FileSize.
    for (i, f) in c.files.iter().enumerate() {
        let what = format!("File[{}] ({:?})", i + 1, f.name);
        if let Some(e) = &f.content_error {
            return Err(Fault::validation(e.clone()));
        }
        if let Some(size) = &f.size {
            let declared: Option<u64> = size.trim_start_matches('+').parse().ok();
            if declared != Some(f.content.len() as u64) {
                return Err(Fault::validation(format!(
                    "{what} FileSize says {size} bytes but ZipBase64Content holds {} bytes",
                    f.content.len()
                )));
            }
        }
        let name = if f.name.trim().is_empty() {
            format!("fail{}", i + 1)
        } else {
            f.name.trim().to_string()
        };
        let mime = if f.mime_type.trim().is_empty() {
            "application/octet-stream".to_string()
        } else {
            f.mime_type.trim().to_string()
        };
        doc.files.push(NewFile::new(name, mime, f.content.clone()));
    }

    // A message for us.
    let body: Vec<String> = c
        .recipients
        .iter()
        .filter_map(|r| nonempty(&r.message_for_recipient))
        .chain(nonempty(&m.record_abstract))
        .collect();
    if !body.is_empty() {
        doc.body = Some(body.join("\n\n"));
    }

    let mut reply_candidates: Vec<String> = Vec::new();
    for r in &c.recipients {
        if let Some(id) = nonempty(&r.record_original_identifier) {
            if !reply_candidates.contains(&id) {
                reply_candidates.push(id);
            }
        }
    }
    if let Some(id) = c
        .initiator
        .as_ref()
        .and_then(|i| nonempty(&i.record_original_identifier))
    {
        if !reply_candidates.contains(&id) {
            reply_candidates.push(id);
        }
    }
    let reply_due = match &m.reply_due_date {
        Some(d) => Some(lexical_date("RecordMetadata/ReplyDueDate", d)?),
        None => None,
    };
    Ok(Incoming {
        doc,
        reply_candidates,
        reply_due,
        record_guid: m.record_guid.clone(),
        record_type: m.record_type.clone(),
        sender_code,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Restriction;
    use proptest::prelude::*;

    /// What the register would make of a new document (for pure round trips).
    fn as_registered(
        n: &NewDocument,
        reg_no: &str,
        at: jiff::Timestamp,
    ) -> (Document, Vec<FileWithBytes>) {
        let today = at.to_zoned(jiff::tz::TimeZone::UTC).date();
        let files: Vec<FileWithBytes> = n
            .files
            .iter()
            .map(|f| FileWithBytes {
                file: FileRef {
                    name: f.name.clone(),
                    media_type: f.media_type.clone(),
                    size: f.bytes.len() as u64,
                    sha256: hex::encode(Sha256::digest(&f.bytes)),
                },
                bytes: f.bytes.clone(),
            })
            .collect();
        let doc = Document {
            id: 1,
            kind: None,
            reg_no: reg_no.into(),
            series: "1-1".into(),
            direction: n.direction,
            channel: n.channel,
            doc_type: None,
            title: n.title.clone(),
            public_title: None,
            parties: n.parties.clone(),
            their_ref: n.their_ref.clone(),
            their_date: n.their_date,
            thread_id: 1,
            parent_id: None,
            received: n.received,
            registered_at: at,
            registered: today,
            responsible: n.responsible.clone(),
            unit: n.unit.clone(),
            restriction: n.restriction.as_ref().map(|r| Restriction {
                ground: r.ground.clone(),
                holder: r.holder.clone().unwrap_or_else(|| "Agency".into()),
                begins: r.begins.unwrap_or(today),
                ends: r.ends,
                marked: today,
                extended: false,
                until_decision: None,
            }),
            files: files.iter().map(|f| f.file.clone()).collect(),
            message_id: None,
            contains_personal_data: false,
            proposed_ground: None,
            needs_review: false,
            reply_kind: None,
            received_at: None,
        };
        (doc, files)
    }

    fn fixture(name: &str) -> Vec<u8> {
        crate::dhx::fixture(&format!("capsule/{name}"))
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn official_example_maps_to_a_document() {
        let mut c = capsule::read(&fixture("Naide2.xml"), &Default::default()).unwrap();
        // the example's gzip is a placeholder: its FileSize does not match
        let f = capsule_to_new_document(&c, d("2026-11-25")).unwrap_err();
        assert!(f.message.contains("File[1]"), "{f}");
        c.files[0].content = vec![7u8; 355690];
        c.files[0].content_error = None;
        let inc = capsule_to_new_document(&c, d("2026-11-25")).unwrap();
        assert_eq!(inc.doc.title, "Kodaniku ettepanek");
        assert_eq!(inc.doc.their_ref.as_deref(), Some("1.3P-41"));
        assert_eq!(inc.doc.their_date, Some(d("2012-11-15")));
        assert_eq!(inc.reply_due, Some(d("2012-11-23")));
        assert_eq!(inc.reply_candidates, vec!["213465".to_string()]);
        let r = inc.doc.restriction.as_ref().unwrap();
        assert_eq!(r.ground, "Avaliku teabe seadus, § 35 (10)");
        assert_eq!((r.begins, r.ends), (Some(d("2012-11-15")), d("2017-11-15")));
        assert_eq!(r.holder.as_deref(), Some("Riigi Infosüsteemi Amet"));
        assert_eq!(inc.doc.parties[0].name, "Riigi Infosüsteemi Amet");
        assert_eq!(inc.doc.parties[0].code.as_deref(), Some("70006317"));
        assert_eq!(inc.doc.parties[1].role, PartyRole::Recipient);
        assert_eq!(
            inc.doc.body.as_deref(),
            Some("Edastame ekslikult adresseeritud dokumendi.\n\nKodaniku ettepanek seoses ....")
        );
        assert_eq!(inc.doc.channel, Channel::Dhx);
        assert!(inc.doc.needs_review);
    }

    #[test]
    fn fields_beyond_the_registers_limits_are_shortened_with_a_note() {
        let mut c = capsule::read(&fixture("Naide2.xml"), &Default::default()).unwrap();
        c.files[0].size = None;
        c.files[0].content_error = None;
        c.record_metadata.record_title = "Pealkiri ".repeat(200);
        c.record_metadata.record_original_identifier = "9".repeat(150);
        let inc = capsule_to_new_document(&c, d("2026-11-25")).unwrap();
        assert_eq!(inc.doc.title.chars().count(), limits::TITLE);
        assert!(inc.doc.title.ends_with('…'));
        assert_eq!(
            inc.doc.their_ref.as_deref().map(|r| r.chars().count()),
            Some(limits::THEIR_REF)
        );
        assert!(
            inc.notes.iter().any(|n| n.contains("RecordTitle")),
            "{:?}",
            inc.notes
        );
        assert!(
            inc.notes
                .iter()
                .any(|n| n.contains("RecordOriginalIdentifier")),
            "{:?}",
            inc.notes
        );
        // Unclassified, as every intake.
        assert!(inc.doc.needs_review);
    }

    #[test]
    fn sender_restriction_is_kept_as_sent_and_flagged_for_review() {
        let mut c = capsule::read(&fixture("Naide2.xml"), &Default::default()).unwrap();
        c.files[0].size = None;
        c.files[0].content_error = None;
        // AvTS § 38 lg 3: the holder's end date is not shortened by us.
        c.access.restrictions[0].end_date = "2099-01-01".into();
        let inc = capsule_to_new_document(&c, d("2026-11-25")).unwrap();
        let r = inc.doc.restriction.clone().unwrap();
        assert_eq!(r.ends, d("2099-01-01"));
        assert_eq!(r.end_by, crate::restriction::EndBy::Holder);
        assert!(inc.doc.needs_review);
        // No ground: the sender's marking "AK" as sent, never an invented one.
        c.access.restrictions[0].basis = "  ".into();
        let inc = capsule_to_new_document(&c, d("2026-11-25")).unwrap();
        let r = inc.doc.restriction.unwrap();
        assert_eq!((r.ground.as_str(), r.ends), ("AK", d("2099-01-01")));
        assert!(!r.ground.contains("alus märkimata"));
        assert!(
            inc.notes.iter().any(|n| n.contains("alus")),
            "{:?}",
            inc.notes
        );
        // No AccessRestriction at all.
        c.access.restrictions.clear();
        let inc = capsule_to_new_document(&c, d("2026-11-25")).unwrap();
        let r = inc.doc.restriction.unwrap();
        assert_eq!(r.ground, "AK");
        assert_eq!(r.ends, d("2101-11-25"));
        assert!(inc.doc.needs_review);
    }

    fn doc_strategy(
    ) -> impl Strategy<Value = (NewDocument, Option<String>, Option<Date>, Vec<String>)> {
        (
            "[a-zA-ZõäöüÕÄÖÜ0-9][\\PC]{0,39}",
            proptest::option::of("[A-Z0-9./-]{1,12}"),
            proptest::option::of(("AvTS § 35 lg 1 p (1[1-6]|[1-9])", 0i64..1000, 1i64..1500)),
            proptest::collection::vec(
                (
                    "[a-zA-Z0-9 _.-]{1,20}",
                    proptest::collection::vec(any::<u8>(), 0..500),
                ),
                0..3,
            ),
            proptest::option::of(0i64..200),
            proptest::collection::vec("[0-9]{8}", 1..3),
            proptest::option::of("\\PC{1,30}"),
        )
            .prop_map(
                |(title, their_ref, restr, files, due, codes, responsible)| {
                    let mut n = NewDocument::new(Direction::Outgoing, Channel::Dhx, title);
                    n.their_ref = their_ref;
                    n.responsible = responsible;
                    n.restriction = restr.map(|(ground, b, len)| {
                        let begins = d("2024-01-01")
                            .checked_add(jiff::Span::new().days(b))
                            .unwrap();
                        NewRestriction {
                            end_by: Default::default(),
                            ground,
                            begins: Some(begins),
                            ends: begins.checked_add(jiff::Span::new().days(len)).unwrap(),
                            holder: Some("Sotsiaalkindlustusamet".into()),
                        }
                    });
                    n.files = files
                        .into_iter()
                        .map(|(name, bytes)| NewFile::new(name, "application/pdf", bytes))
                        .collect();
                    let due = due.map(|x| {
                        d("2026-01-01")
                            .checked_add(jiff::Span::new().days(x))
                            .unwrap()
                    });
                    (n, Some("Sotsiaalkindlustusamet".to_string()), due, codes)
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        /// Document -> capsule -> XML -> capsule -> new document keeps every mapped
        /// field; the XML validates with xmllint.
        #[test]
        fn document_round_trips_through_a_capsule((n, our_name, due, codes) in doc_strategy()) {
            let at: jiff::Timestamp = "2026-03-04T05:06:07Z".parse().unwrap();
            let (doc, files) = as_registered(&n, "7.1-2/42", at);
            let out = Outgoing {
                our_code: "70001975".into(),
                our_name: our_name.unwrap(),
                addressees: codes.iter().map(|c| Addressee { code: c.clone(), name: Some(format!("Asutus {c}")) }).collect(),
                initiator: Some(("PPA-1/77".into(), Some(d("2026-02-01")))),
                reply_due: due,
                body: Some("Tere".into()),
            };
            let c = document_to_capsule(&doc, &files, &out).unwrap();
            let xml = capsule::write(&c).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("c.xml");
            std::fs::write(&p, &xml).unwrap();
            prop_assert_eq!(capsule::xmllint_tests::xmllint_verdicts(&[p]), vec![true]);
            let back = capsule::read(xml.as_bytes(), &Default::default()).unwrap();
            capsule::check_addressee(&back, &codes[0]).unwrap();
            let inc = capsule_to_new_document(&back, d("2026-03-04")).unwrap();
            let want_title = crate::dhx::xml::xml_safe(&doc.title);
            prop_assert_eq!(inc.doc.title.trim(), want_title.trim());
            prop_assert_eq!(inc.doc.their_ref.as_deref(), Some("7.1-2/42"));
            prop_assert_eq!(inc.doc.their_date, Some(d("2026-03-04")));
            prop_assert_eq!(inc.reply_due, due);
            prop_assert_eq!(&inc.sender_code, "70001975");
            prop_assert_eq!(inc.doc.parties[0].name.as_str(), "Sotsiaalkindlustusamet");
            // their_ref travels as the addressee's RecipientRecordOriginalIdentifier,
            // the thread's source record as the Initiator
            let mut want = Vec::new();
            if codes.len() == 1 { want.extend(doc.their_ref.clone()); }
            if !want.contains(&"PPA-1/77".to_string()) { want.push("PPA-1/77".into()); }
            prop_assert_eq!(&inc.reply_candidates, &want);
            match (&doc.restriction, &inc.doc.restriction) {
                (None, None) => {}
                (Some(a), Some(b)) => {
                    prop_assert_eq!(&a.ground, &b.ground);
                    prop_assert_eq!(Some(a.begins), b.begins);
                    prop_assert_eq!(a.ends, b.ends);
                    prop_assert_eq!(Some(&a.holder), b.holder.as_ref());
                }
                (a, b) => prop_assert!(false, "restriction {:?} came back as {:?}", a, b),
            }
            if files.is_empty() {
                prop_assert_eq!(inc.doc.files.len(), 1);
                prop_assert_eq!(&inc.doc.files[0].bytes, b"Tere");
            } else {
                prop_assert_eq!(inc.doc.files.len(), files.len());
                for (i, (a, b)) in files.iter().zip(&inc.doc.files).enumerate() {
                    prop_assert_eq!(&a.bytes, &b.bytes);
                    // A blank name comes back as the mapping's "fail{n}".
                    let name = match a.file.name.trim() {
                        "" => format!("fail{}", i + 1),
                        n => n.to_string(),
                    };
                    prop_assert_eq!(name, b.name.clone());
                }
            }
        }
    }

    /// Capsule -> new document -> registered document -> capsule keeps the record.
    #[test]
    fn capsule_round_trips_through_the_register() {
        let mut c = capsule::read(&fixture("kapsel_21.xml"), &Default::default()).unwrap();
        for f in &mut c.files {
            f.content = format!("sisu {}", f.name).into_bytes();
            f.size = Some(f.content.len().to_string());
            f.content_error = None;
        }
        c.access = capsule::Access {
            conditions_code: AccessCode::AK,
            restrictions: vec![capsule::AccessRestriction {
                begin_date: "2026-01-01".into(),
                end_date: "2030-01-01".into(),
                basis: "AvTS § 35 lg 1 p 12".into(),
                information_owner: "Politsei- ja Piirivalveamet".into(),
                ..Default::default()
            }],
        };
        c.record_metadata.reply_due_date = Some("2026-12-01".into());
        let inc = capsule_to_new_document(&c, d("2026-11-25")).unwrap();
        let at: jiff::Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
        let (doc, files) = as_registered(&inc.doc, "8-1/5424", at);
        let back = document_to_capsule(
            &doc,
            &files,
            &Outgoing {
                our_code: "401".into(),
                our_name: "Meie".into(),
                addressees: vec![Addressee {
                    code: inc.sender_code.clone(),
                    name: None,
                }],
                initiator: None,
                reply_due: inc.reply_due,
                body: None,
            },
        )
        .unwrap();
        assert_eq!(
            back.record_metadata.record_title,
            c.record_metadata.record_title
        );
        assert_eq!(
            back.record_metadata.reply_due_date,
            c.record_metadata.reply_due_date
        );
        assert_eq!(back.access, c.access);
        assert_eq!(
            back.transport.dec_recipients[0].organisation_code,
            c.transport.dec_sender.organisation_code
        );
        // their number of the record comes back as their RecipientRecordOriginalIdentifier
        assert_eq!(
            back.recipients[0].record_original_identifier.as_deref(),
            Some(c.record_metadata.record_original_identifier.as_str())
        );
        let names = |c: &Capsule| {
            c.files
                .iter()
                .map(|f| {
                    (
                        f.name.clone(),
                        f.mime_type.clone(),
                        f.size.clone(),
                        f.content.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&back), names(&c));
        capsule::write(&back).unwrap();
    }

    #[test]
    fn corrupt_files_are_refused_in_both_directions() {
        let n = {
            let mut n = NewDocument::new(Direction::Outgoing, Channel::Dhx, "x");
            n.files
                .push(NewFile::new("a.pdf", "application/pdf", b"abc".to_vec()));
            n
        };
        let (doc, mut files) = as_registered(&n, "1/1", jiff::Timestamp::now());
        let out = Outgoing {
            our_code: "1".into(),
            our_name: "A".into(),
            addressees: vec![Addressee {
                code: "2".into(),
                name: None,
            }],
            ..Default::default()
        };
        files[0].bytes = b"abd".to_vec();
        let f = document_to_capsule(&doc, &files, &out).unwrap_err();
        assert!(f.message.contains("sha256"), "{f}");
        files[0].bytes = b"abcd".to_vec();
        let f = document_to_capsule(&doc, &files, &out).unwrap_err();
        assert!(f.message.contains("4 bytes"), "{f}");
        let f = document_to_capsule(
            &doc,
            &[],
            &Outgoing {
                addressees: vec![],
                ..out
            },
        )
        .unwrap_err();
        assert!(f.message.contains("addressee"), "{f}");
    }
}
