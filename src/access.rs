//! THE access policy: who may see which document, field, file and thread.
//!
//! Pure functions over (principal, document, thread facts, `web.staff_sees`,
//! today). Every page, API route, list, dashboard, trace, outbox view, search and
//! export asks [`sight`] (through `web::WebState::sight`); the search's access
//! clause is built by [`search_caller`] from the same rules, and the public
//! search projection (`search::projection::public`) follows [`public_level`].
//! ARCHITECTURE.md "Access model" describes the rules in words.

use jiff::civil::Date;

use crate::error::{Error, Result};
use crate::model::{Document, FileRef, PartyKind};
use crate::search::query::{Allowed, Caller};
use crate::web::auth::{Role, User};

/// Who is asking.
#[derive(Debug, Clone, Copy)]
pub enum Principal<'a> {
    /// The public register: no login.
    Anonymous,
    /// A logged-in user (session or API token).
    User(&'a User),
}

/// Which rules give a staff member access to a restricted document (`web.staff_sees`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StaffAccess {
    pub responsible: bool,
    pub unit: bool,
    pub cases: bool,
}

impl StaffAccess {
    pub fn from_config(list: &[String]) -> Result<StaffAccess> {
        let mut a = StaffAccess::default();
        for s in list {
            match s.as_str() {
                "responsible" => a.responsible = true,
                "unit" => a.unit = true,
                "cases" => a.cases = true,
                other => {
                    return Err(Error::invalid(format!(
                    "invalid web.staff_sees entry {other:?}: expected responsible, unit or cases"
                )))
                }
            }
        }
        Ok(a)
    }

    /// All 8 subsets of `web.staff_sees` (for tests and documentation).
    pub fn all_subsets() -> Vec<StaffAccess> {
        (0..8u8)
            .map(|b| StaffAccess {
                responsible: b & 1 != 0,
                unit: b & 2 != 0,
                cases: b & 4 != 0,
            })
            .collect()
    }

    /// The configuration entries of this subset.
    pub fn to_config(self) -> Vec<String> {
        let mut v = Vec::new();
        if self.responsible {
            v.push("responsible".to_string());
        }
        if self.unit {
            v.push("unit".to_string());
        }
        if self.cases {
            v.push("cases".to_string());
        }
        v
    }
}

/// What the policy needs to know about a document's thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// One of the thread's documents names the user as responsible (a "case" of theirs).
    pub in_my_case: bool,
}

/// How much of a document its principal sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    /// Everything: title, parties, codes, e-mails, references, text, files,
    /// events, deadline trace, outbox recipient and error.
    Full,
    /// A logged-in user without access to a restricted document: register data
    /// only (number, series, type, dates, ground and end date, organisations;
    /// persons as "eraisik"); no title, personal data, text, files, events,
    /// trace reasons or outbox recipients.
    Masked,
    /// A logged-in user who may not see an unclassified document: only that it
    /// awaits classification (number and dates), no title, party or content.
    Awaiting,
    /// The public register.
    Public(PublicLevel),
    /// Not there at all for this principal (the public and an unclassified
    /// document): not listed, not found, 404.
    Invisible,
}

/// What the public sees of a classified document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PublicLevel {
    /// Restricted (AK): register data only, persons as "eraisik", no title.
    Listed,
    /// Unrestricted but with a natural person as party: the public title and
    /// register data; no text, no files.
    Titled,
    /// Unrestricted and no natural person as party: public title, public
    /// (masked) text and files (never a raw `.eml`).
    Open,
}

/// A field of a document that only some principals see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The raw title.
    Title,
    /// The public title (persons and codes masked).
    PublicTitle,
    /// Party names of natural persons.
    PersonNames,
    /// Organisations' names and registry codes.
    Organisations,
    /// Personal codes and e-mail addresses of the parties.
    CodesAndEmails,
    /// Their reference and date.
    TheirRef,
    /// Ground, holder and dates of the restriction (public register data).
    Restriction,
    /// Free-text reasons (of lifting or extending a restriction, of a proposal).
    RestrictionReasons,
    /// The free-text reasons in the deadline trace.
    TraceReasons,
    /// Outbox recipient and the SMTP / DHX error.
    OutboxRecipient,
    /// The audit events of the document.
    Events,
    /// The letter's text and the files' texts.
    Text,
}

/// True when an unclassified document: arrived and not yet confirmed by a clerk.
pub fn unclassified(d: &Document) -> bool {
    d.needs_review
}

fn has_person_party(d: &Document) -> bool {
    d.parties.iter().any(|p| p.kind == PartyKind::Person)
}

/// Whether the user is the document's responsible official.
fn is_responsible(u: &User, d: &Document) -> bool {
    d.responsible.as_deref() == Some(u.name.as_str())
}

/// Whether `web.staff_sees` gives a staff member access to a restricted document
/// (clerks and leads always; admin never: it is not a content role).
pub fn may_see(user: &User, doc: &Document, access: StaffAccess, in_my_case: bool) -> bool {
    if user.disabled {
        return false;
    }
    match user.role {
        Role::Clerk | Role::Lead => true,
        Role::Admin => false,
        Role::Staff => {
            if access.responsible && is_responsible(user, doc) {
                return true;
            }
            if access.unit {
                if let (Some(u), Some(d)) = (&user.unit, &doc.unit) {
                    if !u.is_empty() && u.eq_ignore_ascii_case(d) {
                        return true;
                    }
                }
            }
            access.cases && in_my_case
        }
    }
}

/// What the public sees of a classified document (see [`PublicLevel`]).
pub fn public_level(d: &Document, today: Date) -> Option<PublicLevel> {
    if unclassified(d) {
        None
    } else if d.is_restricted_on(today) {
        Some(PublicLevel::Listed)
    } else if has_person_party(d) {
        Some(PublicLevel::Titled)
    } else {
        Some(PublicLevel::Open)
    }
}

/// THE rule: how much of `d` the principal sees.
pub fn sight(
    p: Principal<'_>,
    d: &Document,
    facts: Facts,
    access: StaffAccess,
    today: Date,
) -> Sight {
    let u = match p {
        Principal::Anonymous => {
            return match public_level(d, today) {
                Some(l) => Sight::Public(l),
                None => Sight::Invisible,
            }
        }
        Principal::User(u) => u,
    };
    if u.disabled {
        return if unclassified(d) {
            Sight::Awaiting
        } else {
            Sight::Masked
        };
    }
    let restricted = d.is_restricted_on(today);
    let ak_ok = !restricted || may_see(u, d, access, facts.in_my_case);
    if unclassified(d) {
        // Only the clerks and leads who classify it, and the responsible official
        // once one is named (and, if it is also restricted, allowed by staff_sees).
        let ok = match u.role {
            Role::Clerk | Role::Lead => true,
            Role::Staff => is_responsible(u, d) && ak_ok,
            Role::Admin => false,
        };
        return if ok { Sight::Full } else { Sight::Awaiting };
    }
    if ak_ok {
        Sight::Full
    } else {
        Sight::Masked
    }
}

/// Whether a principal with `sight` sees `field`.
pub fn may_see_field(sight: Sight, field: Field) -> bool {
    use Field::*;
    match sight {
        Sight::Full => true,
        Sight::Masked => matches!(field, Organisations | Restriction),
        Sight::Awaiting | Sight::Invisible => false,
        Sight::Public(level) => match field {
            PublicTitle => level >= PublicLevel::Titled,
            Text | TheirRef => level == PublicLevel::Open,
            Organisations | Restriction => true,
            Title | PersonNames | CodesAndEmails | RestrictionReasons | TraceReasons
            | OutboxRecipient | Events => false,
        },
    }
}

/// True for a raw e-mail message (message/rfc822 or `*.eml`): never public.
pub fn is_raw_mail(f: &FileRef) -> bool {
    f.media_type.trim().eq_ignore_ascii_case("message/rfc822")
        || f.name.trim().to_ascii_lowercase().ends_with(".eml")
}

/// Whether a principal with `sight` may download file `f` of the document.
pub fn may_download(sight: Sight, f: &FileRef) -> bool {
    match sight {
        Sight::Full => true,
        Sight::Public(PublicLevel::Open) => !is_raw_mail(f),
        _ => false,
    }
}

/// The files a principal with `sight` is shown.
pub fn visible_files(sight: Sight, d: &Document) -> Vec<FileRef> {
    d.files
        .iter()
        .filter(|f| may_download(sight, f))
        .cloned()
        .collect()
}

/// The title the public (and anyone shown a public view) sees: the clerk's own
/// public title when set, else the title; person names and anything like a
/// personal code masked in either. Never the raw title.
pub fn public_title(doc: &Document) -> String {
    let person_names: Vec<String> = doc
        .parties
        .iter()
        .filter(|p| p.kind == PartyKind::Person)
        .map(|p| p.name.clone())
        .collect();
    let title = doc.public_title.as_deref().unwrap_or(&doc.title);
    crate::search::projection::mask_persons(title, &person_names)
}

/// Whether the principal sees a thread at all: the thread view lists its
/// documents, each as [`sight`] allows; the public never sees threads.
pub fn may_see_thread(p: Principal<'_>) -> bool {
    matches!(p, Principal::User(u) if !u.disabled)
}

/// What the search's access needs from the database, gathered by the web layer.
#[derive(Debug, Clone, Default)]
pub struct SearchFacts {
    /// The threads the user answers a document of (used only when `cases` is on).
    pub my_threads: Vec<i64>,
    /// Every spelling of the user's unit among the documents (units compare
    /// without regard to case, the index compares exactly).
    pub unit_spellings: Vec<String>,
    /// The unclassified documents whose [`sight`] for this principal is not
    /// [`Sight::Full`]: the search leaves them out entirely.
    pub hidden_unclassified: Vec<i64>,
}

/// The search's access for a principal, built from the same rules as [`sight`]:
/// its access clause lets a staff member find a restricted document in full
/// exactly where [`may_see`] allows, and leaves out the unclassified documents
/// the caller may not see. The public searches the public index, which holds no
/// unclassified document ([`public_level`]).
pub fn search_caller(p: Principal<'_>, access: StaffAccess, facts: SearchFacts) -> Caller {
    match p {
        Principal::Anonymous => Caller::Public,
        Principal::User(u) if !u.disabled && matches!(u.role, Role::Clerk | Role::Lead) => {
            Caller::All
        }
        Principal::User(u) => {
            let mut allowed = Allowed::default();
            if u.role == Role::Staff && !u.disabled {
                if access.responsible {
                    allowed.user = Some(u.name.clone());
                }
                if access.unit && u.unit.as_ref().is_some_and(|s| !s.is_empty()) {
                    allowed.units = facts.unit_spellings;
                }
                if access.cases {
                    allowed.threads = facts.my_threads;
                }
            }
            allowed.exclude = facts.hidden_unclassified;
            Caller::Staff(allowed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Party, PartyRole, Restriction};
    use jiff::civil::date;

    fn user(role: Role, name: &str, unit: Option<&str>) -> User {
        User {
            id: 1,
            name: name.into(),
            full_name: name.into(),
            role,
            unit: unit.map(Into::into),
            email: None,
            disabled: false,
        }
    }

    fn doc(responsible: Option<&str>, unit: Option<&str>) -> Document {
        Document {
            id: 1,
            kind: None,
            reg_no: "9-13/1".into(),
            series: "9-13".into(),
            direction: crate::model::Direction::Incoming,
            channel: crate::model::Channel::Email,
            doc_type: None,
            title: "t".into(),
            public_title: None,
            parties: vec![],
            their_ref: None,
            their_date: None,
            thread_id: 1,
            parent_id: None,
            received: None,
            registered_at: jiff::Timestamp::UNIX_EPOCH,
            registered: date(2026, 1, 5),
            responsible: responsible.map(Into::into),
            unit: unit.map(Into::into),
            restriction: None,
            files: vec![],
            message_id: None,
            contains_personal_data: false,
            proposed_ground: None,
            needs_review: false,
            reply_kind: None,
            received_at: None,
        }
    }

    fn restricted(mut d: Document) -> Document {
        d.restriction = Some(Restriction {
            ground: "AvTS § 35 lg 1 p 11".into(),
            holder: "SKA".into(),
            begins: date(2026, 1, 5),
            ends: date(2101, 1, 5),
            marked: date(2026, 1, 5),
            extended: false,
            until_decision: None,
        });
        d
    }

    const ALL: StaffAccess = StaffAccess {
        responsible: true,
        unit: true,
        cases: true,
    };

    #[test]
    #[allow(clippy::type_complexity)]
    fn visibility_table() {
        let d = doc(Some("mari"), Some("Ohvriabi Tartu"));
        // (role, name, unit, in_my_case, access, expected)
        let none = StaffAccess::default();
        let cases: &[(Role, &str, Option<&str>, bool, StaffAccess, bool)] = &[
            (Role::Clerk, "kati", None, false, none, true),
            (Role::Lead, "liis", None, false, none, true),
            (Role::Admin, "adm", None, false, ALL, false),
            (
                Role::Admin,
                "mari",
                Some("Ohvriabi Tartu"),
                true,
                ALL,
                false,
            ),
            (Role::Staff, "mari", None, false, ALL, true),
            (Role::Staff, "mari", None, false, none, false),
            (
                Role::Staff,
                "jaan",
                Some("ohvriabi tartu"),
                false,
                ALL,
                true,
            ),
            (
                Role::Staff,
                "jaan",
                Some("Ohvriabi Tallinn"),
                false,
                ALL,
                false,
            ),
            (Role::Staff, "jaan", None, true, ALL, true),
            (
                Role::Staff,
                "jaan",
                None,
                true,
                StaffAccess {
                    cases: false,
                    ..ALL
                },
                false,
            ),
        ];
        for (role, name, unit, case, access, want) in cases {
            let u = user(*role, name, *unit);
            assert_eq!(
                may_see(&u, &d, *access, *case),
                *want,
                "{role:?} {name} {unit:?} {case}"
            );
        }
        let mut u = user(Role::Clerk, "kati", None);
        u.disabled = true;
        assert!(!may_see(&u, &d, ALL, true));
    }

    #[test]
    fn staff_access_parses_and_rejects_unknown() {
        assert_eq!(
            StaffAccess::from_config(&["responsible".into(), "unit".into(), "cases".into()])
                .unwrap(),
            ALL
        );
        let e = StaffAccess::from_config(&["everyone".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("everyone"), "{e}");
        for s in StaffAccess::all_subsets() {
            assert_eq!(StaffAccess::from_config(&s.to_config()).unwrap(), s);
        }
    }

    #[test]
    fn unclassified_is_seen_only_by_clerks_leads_and_the_responsible_official() {
        let today = date(2026, 3, 1);
        let mut d = doc(Some("mari"), Some("Ohvriabi"));
        d.needs_review = true;
        for access in StaffAccess::all_subsets() {
            let s = |u: &User| {
                sight(
                    Principal::User(u),
                    &d,
                    Facts { in_my_case: true },
                    access,
                    today,
                )
            };
            assert_eq!(s(&user(Role::Clerk, "kati", None)), Sight::Full);
            assert_eq!(s(&user(Role::Lead, "liis", None)), Sight::Full);
            assert_eq!(
                s(&user(Role::Admin, "adm", Some("Ohvriabi"))),
                Sight::Awaiting
            );
            assert_eq!(s(&user(Role::Staff, "mari", None)), Sight::Full);
            assert_eq!(
                s(&user(Role::Staff, "jaan", Some("Ohvriabi"))),
                Sight::Awaiting
            );
            assert_eq!(
                sight(Principal::Anonymous, &d, Facts::default(), access, today),
                Sight::Invisible
            );
        }
        // unclassified and restricted: the responsible official only when staff_sees allows it
        let d = restricted(d);
        let mari = user(Role::Staff, "mari", None);
        for access in StaffAccess::all_subsets() {
            let want = if access.responsible || access.cases {
                Sight::Full
            } else {
                Sight::Awaiting
            };
            assert_eq!(
                sight(
                    Principal::User(&mari),
                    &d,
                    Facts { in_my_case: true },
                    access,
                    today
                ),
                want,
                "{access:?}"
            );
        }
    }

    #[test]
    fn public_levels_follow_classification_restriction_and_persons() {
        let today = date(2026, 3, 1);
        let mut d = doc(None, None);
        assert_eq!(public_level(&d, today), Some(PublicLevel::Open));
        d.parties.push(Party {
            kind: PartyKind::Person,
            role: PartyRole::Sender,
            name: "Jüri Juurikas".into(),
            code: Some("38001010009".into()),
            email: None,
        });
        assert_eq!(public_level(&d, today), Some(PublicLevel::Titled));
        let mut r = restricted(d.clone());
        assert_eq!(public_level(&r, today), Some(PublicLevel::Listed));
        r.needs_review = true;
        assert_eq!(public_level(&r, today), None);
        let s = Sight::Public(PublicLevel::Titled);
        assert!(may_see_field(s, Field::PublicTitle));
        assert!(!may_see_field(s, Field::Title));
        assert!(!may_see_field(s, Field::Text));
        assert!(!may_see_field(Sight::Masked, Field::TraceReasons));
        assert!(!may_see_field(Sight::Masked, Field::OutboxRecipient));
        assert!(may_see_field(Sight::Full, Field::OutboxRecipient));
    }

    #[test]
    fn public_title_masks_persons_and_codes() {
        let mut d = doc(None, None);
        d.title = "Avaldus: Jüri Juurikas, isikukood 38001010009".into();
        d.parties.push(Party {
            kind: PartyKind::Person,
            role: PartyRole::Sender,
            name: "Jüri Juurikas".into(),
            code: None,
            email: None,
        });
        let t = public_title(&d);
        assert!(!t.contains("Juurikas") && !t.contains("Jüri"), "{t}");
        assert!(!t.contains("38001010009"), "{t}");
        assert!(t.starts_with("Avaldus:"), "{t}");
        // The clerk's own public title wins, and is masked all the same.
        d.public_title = Some("Hüvitise taotlus (Juurikas 38001010009)".into());
        let t = public_title(&d);
        assert!(t.starts_with("Hüvitise taotlus"), "{t}");
        assert!(!t.contains("Juurikas") && !t.contains("38001010009"), "{t}");
    }

    #[test]
    fn raw_mail_is_never_public() {
        let eml = FileRef {
            name: "message.eml".into(),
            media_type: "application/octet-stream".into(),
            size: 1,
            sha256: "a".repeat(64),
        };
        let rfc = FileRef {
            name: "kiri".into(),
            media_type: "message/rfc822".into(),
            ..eml.clone()
        };
        let pdf = FileRef {
            name: "a.pdf".into(),
            media_type: "application/pdf".into(),
            ..eml.clone()
        };
        let open = Sight::Public(PublicLevel::Open);
        assert!(!may_download(open, &eml));
        assert!(!may_download(open, &rfc));
        assert!(may_download(open, &pdf));
        assert!(!may_download(Sight::Public(PublicLevel::Titled), &pdf));
        assert!(may_download(Sight::Full, &eml));
        assert!(!may_download(Sight::Masked, &pdf));
    }

    #[test]
    fn search_caller_follows_staff_sees() {
        let u = user(Role::Staff, "jaan", Some("Ohvriabi"));
        for access in StaffAccess::all_subsets() {
            let facts = SearchFacts {
                my_threads: vec![3],
                unit_spellings: vec!["Ohvriabi".into(), "OHVRIABI".into()],
                hidden_unclassified: vec![9],
            };
            let Caller::Staff(a) = search_caller(Principal::User(&u), access, facts) else {
                panic!("staff caller expected")
            };
            assert_eq!(a.exclude, vec![9]);
            assert_eq!(a.user.is_some(), access.responsible);
            assert_eq!(!a.units.is_empty(), access.unit);
            assert_eq!(!a.threads.is_empty(), access.cases);
        }
        let adm = user(Role::Admin, "adm", Some("Ohvriabi"));
        let facts = SearchFacts {
            my_threads: vec![3],
            unit_spellings: vec!["Ohvriabi".into()],
            hidden_unclassified: vec![],
        };
        let c = search_caller(Principal::User(&adm), ALL, facts);
        assert_eq!(c, Caller::Staff(Allowed::default()));
        let clerk = user(Role::Clerk, "kati", None);
        assert_eq!(
            search_caller(
                Principal::User(&clerk),
                ALL,
                SearchFacts {
                    hidden_unclassified: vec![1],
                    ..Default::default()
                }
            ),
            Caller::All
        );
    }
}
