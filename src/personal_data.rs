//! Personal data at registration (pure): finding personal codes in a new
//! document, and the access restriction the register applies by default when
//! the caller gave none (closed intake, AvTS §§ 35, 40).
//!
//! The register calls these once per registration; no other module decides
//! whether a document holds personal data or proposes a ground.

use jiff::civil::Date;
use serde::Serialize;

use crate::error::Result;
use crate::model::{NewDocument, Party, PartyKind};
use crate::restriction::{EndBy, Grounds};
use crate::series::Series;

/// The ground proposed for data on a victim of an offence (AvTS § 35 lg 1 p 11)
/// when the series has none (`ingest.personal_data_ground` by default).
pub const VICTIM_DATA_GROUND: &str = "AvTS § 35 lg 1 p 11";

/// True when any of the texts (title, body, the files' extracted text) holds a
/// valid Estonian personal code.
pub fn has_personal_code<'a>(texts: impl IntoIterator<Item = &'a str>) -> bool {
    texts.into_iter().any(crate::personal_code::contains_any)
}

/// True when a party is a natural person.
pub fn has_person_party(parties: &[Party]) -> bool {
    parties.iter().any(|p| p.kind == PartyKind::Person)
}

/// Why the register restricted a document by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// The series' default ground (the document list).
    Series,
    /// A personal code in the title, the body or a file's text.
    PersonalCode,
    /// A natural person is a party.
    PersonParty,
}

/// The restriction the register applies when the caller gave none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DefaultRestriction {
    pub ground: String,
    pub begins: Date,
    pub ends: Date,
    /// The provision of § 40 the end date follows.
    pub term: &'static str,
    pub why: Why,
}

/// What the register knows when it decides a default restriction.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The accepted grounds (their maxima and personal-data flags).
    pub grounds: &'a Grounds,
    /// The series' default ground and its configured length in years.
    pub series_ground: Option<&'a str>,
    pub series_years: Option<u32>,
    /// The series says its documents hold personal data.
    pub series_personal: bool,
    /// The ground for victim data when the series has none.
    pub victim_ground: &'a str,
    pub personal_code: bool,
    pub person_party: bool,
    /// The receipt date when known, else the registration date: the term counts from it.
    pub from: Date,
}

/// The default restriction, or None when the document may be public: a series'
/// default ground applies always; otherwise a personal code or a natural-person
/// party restricts it on the victim-data ground. The end date is the term of
/// `restriction::term` from `from` (the content's personal data, the series'
/// `personal_data`, the ground's maximum), or the series' own length when shorter.
pub fn default_restriction(f: &Facts<'_>) -> Result<Option<DefaultRestriction>> {
    let (ground, why) = match f.series_ground.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => (g, Why::Series),
        None if f.personal_code => (f.victim_ground, Why::PersonalCode),
        None if f.person_party => (f.victim_ground, Why::PersonParty),
        None => return Ok(None),
    };
    let g = f.grounds.require("ground", ground)?;
    let personal = f.personal_code || f.person_party || (why == Why::Series && f.series_personal);
    let term = crate::restriction::term(g, personal, f.from, EndBy::Date, None)?;
    let ends = match (why, f.series_years) {
        (Why::Series, Some(y)) if y > 0 => f
            .from
            .checked_add(jiff::Span::new().years(i16::try_from(y).unwrap_or(i16::MAX)))
            .map_or(term.ends, |e| e.min(term.ends)),
        _ => term.ends,
    };
    Ok(Some(DefaultRestriction {
        ground: g.id.clone(),
        begins: f.from,
        ends,
        term: term.basis,
        why,
    }))
}

/// What the register decides about a new document's personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub contains_personal_data: bool,
    pub proposed_ground: Option<String>,
    /// The restriction applied because the caller gave none (and no public reason).
    pub default_restriction: Option<DefaultRestriction>,
}

/// The register's one decision on personal data: personal codes in the title
/// (`title`: as the register will store it), the body and every file's text;
/// the proposed ground (the caller's, else the series' default, else
/// `victim_ground` when there is personal data or a natural person); and the
/// default restriction unless the caller gave a restriction or a public reason.
/// `registered`: the registration date (the term counts from the receipt date
/// when known).
pub fn classify(
    new: &NewDocument,
    title: &str,
    series: &Series,
    grounds: &Grounds,
    victim_ground: &str,
    registered: Date,
) -> Result<Classification> {
    let personal_code = has_personal_code(
        std::iter::once(title)
            .chain(new.body.as_deref())
            .chain(new.files.iter().filter_map(|f| f.text.as_deref())),
    );
    let person_party = has_person_party(&new.parties);
    let contains_personal_data = new.contains_personal_data || personal_code;
    let series_ground = series
        .default_ground
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty());
    let proposed_ground = new.proposed_ground.clone().or_else(|| {
        match series_ground {
            Some(g) => Some(g),
            None => (contains_personal_data || person_party).then_some(victim_ground),
        }
        .map(str::to_string)
    });
    let explicit = new.restriction.is_some()
        || new
            .public_reason
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty());
    let default_restriction = if explicit {
        None
    } else {
        default_restriction(&Facts {
            grounds,
            series_ground,
            series_years: series.restriction_years,
            series_personal: series.personal_data,
            victim_ground,
            personal_code: contains_personal_data,
            person_party,
            from: new.received.unwrap_or(registered),
        })?
    };
    Ok(Classification {
        contains_personal_data,
        proposed_ground,
        default_restriction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PartyRole;
    use jiff::civil::date;

    fn facts() -> Facts<'static> {
        Facts {
            grounds: Grounds::builtin(),
            series_ground: None,
            series_years: None,
            series_personal: false,
            victim_ground: VICTIM_DATA_GROUND,
            personal_code: false,
            person_party: false,
            from: date(2026, 3, 2),
        }
    }

    #[test]
    fn default_restriction_table() {
        let d = date;
        // (series ground, series years, code, person, from) -> (ground, ends, term, why)
        /// (ground, end date, § 40 term, why)
        type Want = Option<(&'static str, Date, &'static str, Why)>;
        let cases: Vec<(Facts, Want)> = vec![
            (facts(), None),
            (
                Facts {
                    personal_code: true,
                    ..facts()
                },
                Some((
                    VICTIM_DATA_GROUND,
                    d(2101, 3, 2),
                    "AvTS § 40 lg 3",
                    Why::PersonalCode,
                )),
            ),
            (
                Facts {
                    person_party: true,
                    from: d(2025, 12, 30),
                    ..facts()
                },
                Some((
                    VICTIM_DATA_GROUND,
                    d(2100, 12, 30),
                    "AvTS § 40 lg 3",
                    Why::PersonParty,
                )),
            ),
            (
                Facts {
                    series_ground: Some("AvTS § 35 lg 1 p 1"),
                    ..facts()
                },
                Some((
                    "AvTS § 35 lg 1 p 1",
                    d(2031, 3, 2),
                    "AvTS § 40 lg 1",
                    Why::Series,
                )),
            ),
            (
                // The series' ground wins over the victim-data ground.
                Facts {
                    series_ground: Some("AvTS § 35 lg 1 p 14"),
                    personal_code: true,
                    person_party: true,
                    ..facts()
                },
                Some((
                    "AvTS § 35 lg 1 p 14",
                    d(2101, 3, 2),
                    "AvTS § 40 lg 3",
                    Why::Series,
                )),
            ),
            (
                // Series 9-17: ground p 1, but the series holds personal data: 75 years.
                Facts {
                    series_ground: Some("AvTS § 35 lg 1 p 1"),
                    series_personal: true,
                    ..facts()
                },
                Some((
                    "AvTS § 35 lg 1 p 1",
                    d(2101, 3, 2),
                    "AvTS § 40 lg 3",
                    Why::Series,
                )),
            ),
            (
                // A personal code on a non-personal series ground: § 40 lg 3.
                Facts {
                    series_ground: Some("AvTS § 35 lg 1 p 1"),
                    personal_code: true,
                    ..facts()
                },
                Some((
                    "AvTS § 35 lg 1 p 1",
                    d(2101, 3, 2),
                    "AvTS § 40 lg 3",
                    Why::Series,
                )),
            ),
            (
                // A series' own shorter length.
                Facts {
                    series_ground: Some("AvTS § 35 lg 1 p 12"),
                    series_years: Some(5),
                    ..facts()
                },
                Some((
                    "AvTS § 35 lg 1 p 12",
                    d(2031, 3, 2),
                    "AvTS § 40 lg 3",
                    Why::Series,
                )),
            ),
            (
                // Never beyond the legal maximum.
                Facts {
                    series_ground: Some("AvTS § 35 lg 1 p 1"),
                    series_years: Some(75),
                    ..facts()
                },
                Some((
                    "AvTS § 35 lg 1 p 1",
                    d(2031, 3, 2),
                    "AvTS § 40 lg 1",
                    Why::Series,
                )),
            ),
            (
                // 29 February counts to the last day of February.
                Facts {
                    personal_code: true,
                    from: d(2024, 2, 29),
                    ..facts()
                },
                Some((
                    VICTIM_DATA_GROUND,
                    d(2099, 2, 28),
                    "AvTS § 40 lg 3",
                    Why::PersonalCode,
                )),
            ),
        ];
        for (f, want) in cases {
            let got = default_restriction(&f).unwrap();
            match (got, want) {
                (None, None) => {}
                (Some(g), Some((ground, ends, term, why))) => {
                    assert_eq!(
                        (g.ground.as_str(), g.ends, g.term, g.why, g.begins),
                        (ground, ends, term, why, f.from),
                        "{f:?}"
                    );
                }
                (g, w) => panic!("{f:?}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn detects_codes_and_persons() {
        assert!(has_personal_code(["pealkiri", "isikukood 49403136515"]));
        assert!(!has_personal_code(["arve 12345678901", "telefon 5551234"]));
        let org = Party::from_name_and_code("PPA", Some("70008747"), PartyRole::Sender).unwrap();
        let person = Party::from_name_and_code("Mari Maasikas", None, PartyRole::Sender).unwrap();
        assert!(!has_person_party(std::slice::from_ref(&org)));
        assert!(has_person_party(&[org, person]));
    }
}
