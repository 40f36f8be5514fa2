//! What each audience sees of a document: the full view (for whoever may see
//! it), the redacted view (a restricted document for a logged-in user without
//! access) and the public projection (AvTS § 12(3¹), (4¹): natural persons as
//! "eraisik", AK documents listed with ground and end date but nothing else).

use jiff::civil::Date;
use serde::Serialize;

use crate::model::{Document, FileRef, Party, PartyKind, Restriction};

/// The restriction as shown: ground and dates, never anything about the content.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RestrictionView {
    pub ground: String,
    pub holder: String,
    pub begins: Date,
    pub ends: Date,
    pub marked: Date,
    pub extended: bool,
}

impl From<&Restriction> for RestrictionView {
    fn from(r: &Restriction) -> Self {
        RestrictionView {
            ground: r.ground.clone(),
            holder: r.holder.clone(),
            begins: r.begins,
            ends: r.ends,
            marked: r.marked,
            extended: r.extended,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PartyView {
    pub kind: PartyKind,
    pub role: crate::model::PartyRole,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl PartyView {
    fn full(p: &Party) -> Self {
        PartyView {
            kind: p.kind,
            role: p.role,
            name: p.name.clone(),
            code: p.code.clone(),
            email: p.email.clone(),
        }
    }
    /// A natural person becomes "eraisik"; an organisation keeps its name and registry code.
    fn public(p: &Party) -> Self {
        match p.kind {
            PartyKind::Person => PartyView {
                kind: p.kind,
                role: p.role,
                name: "eraisik".into(),
                code: None,
                email: None,
            },
            PartyKind::Organisation => PartyView {
                kind: p.kind,
                role: p.role,
                name: p.name.clone(),
                code: p.code.clone(),
                email: None,
            },
        }
    }
}

/// A document as the API and the pages show it to a logged-in user.
/// `hidden` = restricted and this user may not see it: then title, their_ref,
/// files, personal data and proposals are withheld and persons are "eraisik".
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DocView {
    pub id: i64,
    pub reg_no: String,
    pub series: String,
    pub direction: crate::model::Direction,
    pub channel: crate::model::Channel,
    pub doc_type: Option<String>,
    pub title: Option<String>,
    pub parties: Vec<PartyView>,
    pub their_ref: Option<String>,
    pub their_date: Option<Date>,
    pub thread_id: i64,
    pub parent_id: Option<i64>,
    pub received: Option<Date>,
    pub registered_at: String,
    pub registered: Date,
    pub responsible: Option<String>,
    pub unit: Option<String>,
    pub access: &'static str,
    pub restriction: Option<RestrictionView>,
    pub files: Vec<FileRef>,
    pub contains_personal_data: Option<bool>,
    pub proposed_ground: Option<String>,
    pub needs_review: bool,
    pub hidden: bool,
}

/// True when the document is restricted today.
pub fn restricted_now(d: &Document, today: Date) -> bool {
    d.is_restricted_on(today)
}

impl DocView {
    pub fn new(d: &Document, today: Date, visible: bool) -> DocView {
        let restricted = restricted_now(d, today);
        let hidden = restricted && !visible;
        DocView {
            id: d.id,
            reg_no: d.reg_no.clone(),
            series: d.series.clone(),
            direction: d.direction,
            channel: d.channel,
            doc_type: d.doc_type.clone(),
            title: (!hidden).then(|| d.title.clone()),
            parties: d
                .parties
                .iter()
                .map(|p| {
                    if hidden {
                        PartyView::public(p)
                    } else {
                        PartyView::full(p)
                    }
                })
                .collect(),
            their_ref: if hidden { None } else { d.their_ref.clone() },
            their_date: if hidden { None } else { d.their_date },
            thread_id: d.thread_id,
            parent_id: d.parent_id,
            received: d.received,
            registered_at: d.registered_at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            registered: d.registered,
            responsible: d.responsible.clone(),
            unit: d.unit.clone(),
            access: if restricted { "AK" } else { "Avalik" },
            restriction: d
                .restriction
                .as_ref()
                .filter(|_| restricted)
                .map(RestrictionView::from),
            files: if hidden { vec![] } else { d.files.clone() },
            contains_personal_data: (!hidden).then_some(d.contains_personal_data),
            proposed_ground: if hidden {
                None
            } else {
                d.proposed_ground.clone()
            },
            needs_review: d.needs_review,
            hidden,
        }
    }
}

impl DocView {
    pub fn dir_key(&self) -> &'static str {
        self.direction.as_str()
    }
    pub fn channel_str(&self) -> &'static str {
        self.channel.as_str()
    }
    pub fn parties_line(&self) -> String {
        let mut v: Vec<&str> = self.parties.iter().map(|p| p.name.as_str()).collect();
        v.dedup();
        v.join("; ")
    }
    /// The title, or "restricted" in the page's language when hidden.
    pub fn title_text(&self, l: &super::i18n::Lang) -> String {
        match &self.title {
            Some(t) => t.clone(),
            None => format!("({})", l.t("hidden")),
        }
    }
}

/// The public register's projection of a document.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PublicDoc {
    pub reg_no: String,
    pub registered: Date,
    pub direction: crate::model::Direction,
    pub series: String,
    pub doc_type: Option<String>,
    /// None for an AK document.
    pub title: Option<String>,
    pub parties: Vec<PartyView>,
    pub their_ref: Option<String>,
    pub access: &'static str,
    /// Ground and end date of an AK document (§ 12(4) p 6... as the register shows them).
    pub restriction: Option<RestrictionView>,
    /// Files of an unrestricted document (downloadable); none for AK.
    pub files: Vec<FileRef>,
    pub thread_id: i64,
    pub id: i64,
}

impl PublicDoc {
    pub fn new(d: &Document, today: Date) -> PublicDoc {
        let restricted = restricted_now(d, today);
        PublicDoc {
            id: d.id,
            reg_no: d.reg_no.clone(),
            registered: d.registered,
            direction: d.direction,
            series: d.series.clone(),
            doc_type: d.doc_type.clone(),
            title: (!restricted).then(|| d.title.clone()),
            parties: d.parties.iter().map(PartyView::public).collect(),
            their_ref: if restricted {
                None
            } else {
                d.their_ref.clone()
            },
            access: if restricted { "AK" } else { "Avalik" },
            restriction: d
                .restriction
                .as_ref()
                .filter(|_| restricted)
                .map(RestrictionView::from),
            files: if restricted { vec![] } else { d.files.clone() },
            thread_id: d.thread_id,
        }
    }

    pub fn dir_key(&self) -> &'static str {
        self.direction.as_str()
    }

    /// The parties as one line ("eraisik; Politsei- ja Piirivalveamet").
    pub fn parties_line(&self) -> String {
        let mut v: Vec<&str> = self.parties.iter().map(|p| p.name.as_str()).collect();
        v.dedup();
        v.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn restricted_doc() -> Document {
        Document {
            id: 7,
            reg_no: "9-14/12".into(),
            series: "9-14".into(),
            direction: Direction::Incoming,
            channel: Channel::Email,
            doc_type: Some("oas-huvitis".into()),
            title: "Hüvitise taotlus, Mari Maasikas".into(),
            public_title: None,
            parties: vec![
                Party {
                    kind: PartyKind::Person,
                    role: PartyRole::Sender,
                    name: "Mari Maasikas".into(),
                    code: Some("49403136526".into()),
                    email: Some("mari@example.ee".into()),
                },
                Party {
                    kind: PartyKind::Organisation,
                    role: PartyRole::Recipient,
                    name: "Politsei- ja Piirivalveamet".into(),
                    code: Some("70008747".into()),
                    email: Some("ppa@politsei.ee".into()),
                },
            ],
            their_ref: Some("SECRET-REF".into()),
            their_date: None,
            thread_id: 7,
            parent_id: None,
            received: Some(date(2026, 3, 2)),
            registered_at: jiff::Timestamp::UNIX_EPOCH,
            registered: date(2026, 3, 2),
            responsible: Some("mari.tamm".into()),
            unit: Some("Ohvriabi".into()),
            restriction: Some(Restriction {
                ground: "AvTS § 35 lg 1 p 11".into(),
                holder: "Sotsiaalkindlustusamet".into(),
                begins: date(2026, 3, 2),
                ends: date(2101, 3, 2),
                marked: date(2026, 3, 2),
                extended: false,
            }),
            files: vec![FileRef {
                name: "taotlus.pdf".into(),
                media_type: "application/pdf".into(),
                size: 10,
                sha256: "ab".repeat(32),
            }],
            message_id: None,
            contains_personal_data: true,
            proposed_ground: Some("AvTS § 35 lg 1 p 11".into()),
            needs_review: false,
        }
    }
    use jiff::civil::date;

    #[test]
    fn public_projection_hides_restricted_content_and_persons() {
        let d = restricted_doc();
        let p = PublicDoc::new(&d, date(2026, 4, 1));
        let json = serde_json::to_string(&p).unwrap();
        for secret in [
            "Maasikas",
            "49403136526",
            "mari@",
            "SECRET-REF",
            "taotlus.pdf",
            "ppa@",
        ] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        assert!(json.contains("eraisik"));
        assert!(json.contains("Politsei- ja Piirivalveamet"));
        assert!(json.contains("AvTS § 35 lg 1 p 11"));
        assert!(json.contains("2101-03-02"));
        assert_eq!(p.access, "AK");
    }

    #[test]
    fn expired_restriction_is_public() {
        let mut d = restricted_doc();
        d.restriction.as_mut().unwrap().ends = date(2026, 3, 31);
        let p = PublicDoc::new(&d, date(2026, 4, 1));
        assert_eq!(p.access, "Avalik");
        assert_eq!(p.title.as_deref(), Some("Hüvitise taotlus, Mari Maasikas"));
        assert_eq!(p.files.len(), 1);
        // but persons stay "eraisik" in public
        assert!(!serde_json::to_string(&p).unwrap().contains("49403136526"));
    }

    #[test]
    fn redacted_view_for_users_without_access() {
        let d = restricted_doc();
        let hidden = DocView::new(&d, date(2026, 4, 1), false);
        let json = serde_json::to_string(&hidden).unwrap();
        for secret in ["Maasikas", "49403136526", "SECRET-REF", "taotlus.pdf"] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        assert!(hidden.hidden);
        let full = DocView::new(&d, date(2026, 4, 1), true);
        assert!(!full.hidden);
        assert!(serde_json::to_string(&full)
            .unwrap()
            .contains("49403136526"));
    }
}
