//! What each audience sees of a document, as the access policy
//! ([`crate::access::sight`]) decides: the full view, the masked view (a
//! restricted document for a logged-in user without access), the "awaiting
//! classification" view (an unclassified document for a user who may not see
//! it) and the public projection (AvTS § 12(3¹), (4¹): the public title,
//! natural persons as "eraisik", AK documents listed with ground and end date
//! but nothing else, text and files only where the policy allows).

use jiff::civil::Date;
use serde::Serialize;

use crate::access::{self, Field, PublicLevel, Sight};
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
/// `hidden` = the user does not see it in full (see [`Sight`]): then title,
/// their_ref, files, personal data and proposals are withheld and persons are
/// "eraisik"; `awaiting` = an unclassified document the user may not see: no
/// party or type either.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DocView {
    pub id: i64,
    pub reg_no: String,
    pub series: String,
    pub direction: crate::model::Direction,
    pub channel: crate::model::Channel,
    pub doc_type: Option<String>,
    /// The document kind with its names (config/document-kinds.toml).
    pub kind: Option<crate::kinds::KindView>,
    pub title: Option<String>,
    /// The clerk's own public title, when set (shown to those who see the document in full).
    pub public_title: Option<String>,
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
    pub awaiting: bool,
    /// The responsible official's full name (the users table), for the pages.
    #[serde(skip)]
    pub responsible_name: Option<String>,
    /// The reply deadline (the `deadlines` projection), for the register's column.
    #[serde(skip)]
    pub due: Option<Date>,
}

/// True when the document is restricted today.
pub fn restricted_now(d: &Document, today: Date) -> bool {
    d.is_restricted_on(today)
}

impl DocView {
    /// The id of the document's kind, or "" (for the forms).
    pub fn kind_id(&self) -> &str {
        self.kind.as_ref().map_or("", |k| k.id.as_str())
    }

    /// The view of `d` for a user with `sight` (a public sight is shown as masked).
    pub fn new(d: &Document, today: Date, sight: Sight) -> DocView {
        let restricted = restricted_now(d, today);
        let full = sight == Sight::Full;
        let awaiting = matches!(sight, Sight::Awaiting | Sight::Invisible);
        DocView {
            id: d.id,
            reg_no: d.reg_no.clone(),
            series: d.series.clone(),
            direction: d.direction,
            channel: d.channel,
            doc_type: if awaiting { None } else { d.doc_type.clone() },
            kind: if awaiting {
                None
            } else {
                crate::kinds::KindView::of(d.kind.as_deref(), d.doc_type.as_deref())
            },
            title: full.then(|| d.title.clone()),
            public_title: if full { d.public_title.clone() } else { None },
            parties: if awaiting {
                vec![]
            } else {
                d.parties
                    .iter()
                    .map(|p| {
                        if full {
                            PartyView::full(p)
                        } else {
                            PartyView::public(p)
                        }
                    })
                    .collect()
            },
            their_ref: if full { d.their_ref.clone() } else { None },
            their_date: if full { d.their_date } else { None },
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
                .filter(|_| restricted && access::may_see_field(sight, Field::Restriction))
                .map(RestrictionView::from),
            files: access::visible_files(sight, d),
            contains_personal_data: full.then_some(d.contains_personal_data),
            proposed_ground: if full {
                d.proposed_ground.clone()
            } else {
                None
            },
            needs_review: d.needs_review,
            hidden: !full,
            awaiting,
            responsible_name: None,
            due: None,
        }
    }

    /// The responsible official as people know them: the full name, else the login.
    pub fn responsible_text(&self) -> &str {
        self.responsible_name
            .as_deref()
            .or(self.responsible.as_deref())
            .unwrap_or("")
    }
}

/// Officials' full names by login (the users table), to show people by name.
#[derive(Debug, Clone, Default)]
pub struct Officials(pub std::collections::HashMap<String, String>);

impl Officials {
    pub async fn load(state: &super::WebState) -> crate::error::Result<Officials> {
        Ok(Officials(
            super::auth::list_users(&state.app.store)
                .await?
                .into_iter()
                .map(|u| (u.name, u.full_name))
                .collect(),
        ))
    }
    /// `login`'s full name, else the login itself.
    pub fn name<'a>(&'a self, login: &'a str) -> &'a str {
        self.0
            .get(login)
            .map(String::as_str)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(login)
    }
    /// Fills in the views' responsible officials' names.
    pub fn name_all(&self, views: &mut [DocView]) {
        for v in views {
            v.responsible_name = v.responsible.as_deref().map(|r| self.name(r).to_string());
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
    /// The title, or "restricted" / "awaiting classification" in the page's language when hidden.
    pub fn title_text(&self, l: &super::i18n::Lang) -> String {
        match &self.title {
            Some(t) => t.clone(),
            None if self.awaiting => format!("({})", l.t("awaiting")),
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
    /// The document kind with its names (AvTS § 12 lg 3 p 5).
    pub kind: Option<crate::kinds::KindView>,
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
    /// The public view of a classified document at `level` (see [`PublicLevel`]):
    /// the public title (never the raw one), text-bearing fields and files only
    /// where the policy allows, never a raw `.eml`.
    pub fn new(d: &Document, level: PublicLevel, today: Date) -> PublicDoc {
        let sight = Sight::Public(level);
        let restricted = restricted_now(d, today);
        PublicDoc {
            id: d.id,
            reg_no: d.reg_no.clone(),
            registered: d.registered,
            direction: d.direction,
            series: d.series.clone(),
            doc_type: d.doc_type.clone(),
            kind: crate::kinds::KindView::of(d.kind.as_deref(), d.doc_type.as_deref()),
            title: access::may_see_field(sight, Field::PublicTitle)
                .then(|| access::public_title(d)),
            parties: d.parties.iter().map(PartyView::public).collect(),
            their_ref: if access::may_see_field(sight, Field::TheirRef) {
                d.their_ref.clone()
            } else {
                None
            },
            access: if restricted { "AK" } else { "Avalik" },
            restriction: d
                .restriction
                .as_ref()
                .filter(|_| restricted)
                .map(RestrictionView::from),
            files: access::visible_files(sight, d),
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
            kind: None,
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
                until_decision: None,
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
            reply_kind: None,
            received_at: None,
        }
    }
    use jiff::civil::date;

    fn public(d: &Document, today: Date) -> PublicDoc {
        PublicDoc::new(
            d,
            access::public_level(d, today).expect("classified"),
            today,
        )
    }

    #[test]
    fn public_projection_hides_restricted_content_and_persons() {
        let d = restricted_doc();
        let p = public(&d, date(2026, 4, 1));
        let json = serde_json::to_string(&p).unwrap();
        for secret in [
            "Maasikas",
            "49403136526",
            "mari@",
            "SECRET-REF",
            "taotlus.pdf",
            "ppa@",
            "Hüvitise",
        ] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        assert!(json.contains("eraisik"));
        assert!(json.contains("Politsei- ja Piirivalveamet"));
        assert!(json.contains("AvTS § 35 lg 1 p 11"));
        assert!(json.contains("2101-03-02"));
        assert_eq!(p.access, "AK");
    }

    /// Was `expired_restriction_is_public`, which expected the person's name in
    /// the public title: the public sees the public title (persons masked) and,
    /// with a natural person as party, neither files nor their reference.
    #[test]
    fn expired_restriction_shows_the_public_title_without_the_persons_name() {
        let mut d = restricted_doc();
        d.restriction.as_mut().unwrap().ends = date(2026, 3, 31);
        let p = public(&d, date(2026, 4, 1));
        assert_eq!(p.access, "Avalik");
        let title = p.title.as_deref().unwrap();
        assert!(
            title.starts_with("Hüvitise taotlus, ") && title.contains("eraisik"),
            "{title}"
        );
        assert!(p.files.is_empty(), "a natural person is a party: no files");
        let json = serde_json::to_string(&p).unwrap();
        for secret in ["Mari", "Maasikas", "49403136526", "SECRET-REF"] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        // without a natural person as party: files (never a raw .eml) and their reference
        d.parties.retain(|p| p.kind == PartyKind::Organisation);
        d.files.push(FileRef {
            name: "message.eml".into(),
            media_type: "message/rfc822".into(),
            size: 10,
            sha256: "cd".repeat(32),
        });
        let p = public(&d, date(2026, 4, 1));
        assert_eq!(p.files.len(), 1);
        assert_eq!(p.files[0].name, "taotlus.pdf");
        assert_eq!(p.their_ref.as_deref(), Some("SECRET-REF"));
    }

    #[test]
    fn public_title_never_shows_jueri_juurikas_or_his_code() {
        let mut d = restricted_doc();
        d.restriction = None;
        d.title = "Avaldus: Jüri Juurikas, isikukood 38001010009".into();
        d.parties[0].name = "Jüri Juurikas".into();
        let p = public(&d, date(2026, 4, 1));
        let json = serde_json::to_string(&p).unwrap();
        for secret in ["Jüri", "Juurikas", "38001010009"] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        assert!(p.title.as_deref().unwrap().starts_with("Avaldus:"));
    }

    #[test]
    fn redacted_view_for_users_without_access() {
        let d = restricted_doc();
        let hidden = DocView::new(&d, date(2026, 4, 1), Sight::Masked);
        let json = serde_json::to_string(&hidden).unwrap();
        for secret in ["Maasikas", "49403136526", "SECRET-REF", "taotlus.pdf"] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        assert!(hidden.hidden);
        assert!(json.contains("Politsei- ja Piirivalveamet"));
        let awaiting = DocView::new(&d, date(2026, 4, 1), Sight::Awaiting);
        let json = serde_json::to_string(&awaiting).unwrap();
        for secret in ["Maasikas", "Politsei", "oas-huvitis", "Hüvitise"] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        assert!(awaiting.awaiting && awaiting.hidden);
        let full = DocView::new(&d, date(2026, 4, 1), Sight::Full);
        assert!(!full.hidden);
        assert!(serde_json::to_string(&full)
            .unwrap()
            .contains("49403136526"));
    }
}
