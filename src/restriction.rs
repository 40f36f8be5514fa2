//! Access restrictions as the Public Information Act counts them (pure): the
//! list of grounds (`config/restriction-grounds.toml`, AvTS §§ 34-35) and the
//! one computation of a restriction's term (AvTS § 40) and its extension.
//!
//! The register, DHX intake, the web forms and the scheduler all ask this
//! module; no other module computes how long a restriction lasts.

use std::path::Path;
use std::sync::OnceLock;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The grounds shipped in `config/restriction-grounds.toml`, used when no file is configured.
pub const BUILTIN: &str = include_str!("../config/restriction-grounds.toml");

/// § 40 lg 1: five years, from creation or receipt.
pub const GENERAL_YEARS: i16 = 5;
/// § 40 lg 3: 75 years for information with personal data.
pub const PERSONAL_YEARS: i16 = 75;
/// § 40 lg 3: 30 years after the person's death.
pub const AFTER_DEATH_YEARS: i16 = 30;
/// § 40 lg 3: 110 years from birth when the death is not known.
pub const FROM_BIRTH_YEARS: i16 = 110;
/// § 40 lg 1: an extension adds at most five years.
pub const EXTENSION_YEARS: i16 = 5;

/// The provisions the terms rest on.
pub const BASIS_GENERAL: &str = "AvTS § 40 lg 1";
pub const BASIS_PERSONAL: &str = "AvTS § 40 lg 3";
pub const BASIS_EXTENSION: &str = "AvTS § 40 lg 1";
pub const BASIS_HOLDER: &str = "AvTS § 38 lg 3";

/// One ground of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ground {
    /// The citation, e.g. "AvTS § 35 lg 1 p 11".
    pub id: String,
    /// A short description in Estonian.
    pub text: String,
    /// The longest term on this ground without personal data (years).
    pub max_years: i16,
    /// The ground itself concerns personal data (§ 40 lg 3 applies).
    pub personal_data: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroundsFile {
    ground: Vec<Ground>,
}

/// The accepted grounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grounds {
    grounds: Vec<Ground>,
}

/// A ground as compared: spaces collapsed, lower case, `^1`/`^2` as ¹/².
pub fn normalize(id: &str) -> String {
    id.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("^1", "¹")
        .replace("^2", "²")
        .to_lowercase()
}

impl Grounds {
    pub fn parse(text: &str, source: &str) -> Result<Grounds> {
        let f: GroundsFile = toml::from_str(text).map_err(|e| {
            Error::invalid(format!(
                "vigane aluste loetelu {source}: {} (invalid restriction grounds file)",
                e.message()
            ))
        })?;
        if f.ground.is_empty() {
            return Err(Error::invalid(format!(
                "vigane aluste loetelu {source}: ühtki alust pole (no grounds)"
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for g in &f.ground {
            if g.id.trim().is_empty() || g.text.trim().is_empty() {
                return Err(Error::invalid(format!(
                    "vigane aluste loetelu {source}: alusel {:?} puudub id või tekst (a ground needs an id and a text)",
                    g.id
                )));
            }
            if !(1..=FROM_BIRTH_YEARS).contains(&g.max_years) {
                return Err(Error::invalid(format!(
                    "vigane aluste loetelu {source}: alusel {:?} on max_years {} (expected 1 to {FROM_BIRTH_YEARS})",
                    g.id, g.max_years
                )));
            }
            if !seen.insert(normalize(&g.id)) {
                return Err(Error::invalid(format!(
                    "vigane aluste loetelu {source}: alus {:?} on kaks korda (a ground appears twice)",
                    g.id
                )));
            }
        }
        Ok(Grounds { grounds: f.ground })
    }

    /// The file at `path`, or the built-in list when the path is empty.
    pub fn load(path: &Path) -> Result<Grounds> {
        if path.as_os_str().is_empty() {
            return Ok(Self::builtin().clone());
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(format!(
                "aluste loetelu {} ei saa lugeda: {e} (cannot read the grounds file)",
                path.display()
            ))
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The built-in list.
    pub fn builtin() -> &'static Grounds {
        static B: OnceLock<Grounds> = OnceLock::new();
        B.get_or_init(|| Grounds::parse(BUILTIN, "(built-in)").expect("built-in grounds parse"))
    }

    pub fn all(&self) -> &[Ground] {
        &self.grounds
    }

    pub fn get(&self, id: &str) -> Option<&Ground> {
        let n = normalize(id);
        self.grounds.iter().find(|g| normalize(&g.id) == n)
    }

    /// The ground `id`, or an error naming the field and the valid grounds.
    pub fn require(&self, field: &str, id: &str) -> Result<&Ground> {
        self.get(id).ok_or_else(|| {
            Error::invalid(format!(
                "tundmatu juurdepääsupiirangu alus {id:?} (väli {field}); lubatud: {} (unknown restriction ground)",
                self.ids().join(", ")
            ))
        })
    }

    pub fn ids(&self) -> Vec<&str> {
        self.grounds.iter().map(|g| g.id.as_str()).collect()
    }
}

/// How a restriction ends (§ 40).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndBy {
    /// On a date: the one given, else the legal term.
    #[default]
    Date,
    /// When the decision in the case is adopted (§ 40 lg 2): lifted when a
    /// decision is registered in the case; the legal term is the backstop.
    UntilDecision,
    /// 30 years after the person's death (§ 40 lg 3).
    DeathYear(i16),
    /// 110 years from the person's birth, the death not known (§ 40 lg 3).
    BirthYear(i16),
    /// The holder's own restriction, received with the document (a DHX
    /// capsule's marking): its ground and end are kept as sent, neither checked
    /// against the list nor shortened (§ 38 lg 3: the receiver respects the
    /// holder's restriction); the document goes to review.
    Holder,
}

/// A restriction's term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Term {
    pub ends: Date,
    /// The latest end the law allows.
    pub max: Date,
    /// The provision of § 40 the end follows.
    pub basis: &'static str,
}

fn plus_years(d: Date, years: i16) -> Result<Date> {
    d.checked_add(jiff::Span::new().years(years)).map_err(|e| {
        Error::invalid(format!(
            "juurdepääsupiirangu lõpp on väljaspool lubatud kuupäevi: {e} (end date out of range)"
        ))
    })
}

fn end_of_year(year: i32) -> Result<Date> {
    let y = i16::try_from(year)
        .ok()
        .filter(|y| (1900..=2300).contains(y))
        .ok_or_else(|| {
            Error::invalid(format!(
                "juurdepääsupiirangu lõpp aastal {year} on väljaspool lubatud kuupäevi (end year out of range)"
            ))
        })?;
    Date::new(y, 12, 31).map_err(|e| Error::invalid(e.to_string()))
}

/// The term of a restriction on `ground` (§ 40), counted from `from` (the
/// creation or receipt date): for personal data (the ground's or the
/// content's) 75 years, or 30 years after death, or 110 years from birth;
/// otherwise 5 years, never beyond the ground's own maximum. `requested`: an
/// end date the caller asked for (with `EndBy::Date` or `UntilDecision`),
/// refused when it is before `from` or beyond the maximum.
pub fn term(
    ground: &Ground,
    personal_content: bool,
    from: Date,
    end_by: EndBy,
    requested: Option<Date>,
) -> Result<Term> {
    let personal = ground.personal_data || personal_content;
    if end_by == EndBy::Holder {
        let ends = requested.unwrap_or(from);
        return Ok(Term {
            ends,
            max: ends,
            basis: BASIS_HOLDER,
        });
    }
    let (max, basis) = match end_by {
        EndBy::DeathYear(y) | EndBy::BirthYear(y) => {
            if !personal {
                return Err(Error::invalid(format!(
                    "surma- või sünniaasta järgi lõpeb ainult isikuandmetega teabe piirang (AvTS § 40 lg 3); alus {:?} ja sisu isikuandmeteta (a death or birth year applies only to personal data)",
                    ground.id
                )));
            }
            let add = if matches!(end_by, EndBy::DeathYear(_)) {
                AFTER_DEATH_YEARS
            } else {
                FROM_BIRTH_YEARS
            };
            if i32::from(y) > i32::from(from.year()) + 1 && matches!(end_by, EndBy::BirthYear(_)) {
                return Err(Error::invalid(format!(
                    "sünniaasta {y} on pärast teabe saamist {from} (birth year after the information's date)"
                )));
            }
            (end_of_year(i32::from(y) + i32::from(add))?, BASIS_PERSONAL)
        }
        EndBy::Holder => unreachable!("handled above"),
        _ if personal => {
            let years = if ground.personal_data {
                PERSONAL_YEARS.min(ground.max_years)
            } else {
                PERSONAL_YEARS
            };
            (plus_years(from, years)?, BASIS_PERSONAL)
        }
        _ => (
            plus_years(from, GENERAL_YEARS.min(ground.max_years))?,
            BASIS_GENERAL,
        ),
    };
    let ends = match (end_by, requested) {
        // Until the decision: the earlier of the date asked for and the legal term.
        (EndBy::UntilDecision, Some(e)) if e >= from => e.min(max),
        (EndBy::Date | EndBy::UntilDecision | EndBy::Holder, Some(e)) => {
            if e < from {
                return Err(Error::invalid(format!(
                    "juurdepääsupiirangu lõpp {e} on enne algust {from} (the end is before the restriction begins)"
                )));
            }
            if e > max {
                return Err(Error::invalid(format!(
                    "juurdepääsupiirangu lõpp {e} ületab alusel {:?} lubatud tähtaja {max} ({basis}) (beyond the legal maximum)",
                    ground.id
                )));
            }
            e
        }
        _ => max,
    };
    Ok(Term { ends, max, basis })
}

/// Checks an extension (§ 40 lg 1: by up to five years, once, while the
/// restriction is in force) and answers the new end.
pub fn check_extension(
    ends: Date,
    already_extended: bool,
    new_end: Date,
    today: Date,
) -> Result<Date> {
    if today > ends {
        return Err(Error::invalid(format!(
            "juurdepääsupiirang lõppes {ends}: lõppenud piirangut ei saa pikendada ({BASIS_EXTENSION}) (the restriction has expired)"
        )));
    }
    if already_extended {
        return Err(Error::invalid(format!(
            "juurdepääsupiirangut on juba pikendatud ({BASIS_EXTENSION}) (already extended once)"
        )));
    }
    if new_end <= ends {
        return Err(Error::invalid(format!(
            "uus lõpp {new_end} peab olema pärast praegust lõppu {ends} (the new end must be after the current one)"
        )));
    }
    let max = plus_years(ends, EXTENSION_YEARS)?;
    if new_end > max {
        return Err(Error::invalid(format!(
            "pikendada saab kuni viis aastat, kuni {max} ({BASIS_EXTENSION}) (an extension is at most 5 years)"
        )));
    }
    Ok(new_end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn g(id: &str) -> &'static Ground {
        Grounds::builtin().get(id).unwrap()
    }

    #[test]
    fn builtin_list_has_every_point() {
        let b = Grounds::builtin();
        for p in 1..=19 {
            assert!(b.get(&format!("AvTS § 35 lg 1 p {p}")).is_some(), "p {p}");
        }
        for p in 1..=5 {
            assert!(
                b.get(&format!("AvTS § 35 lg 2 p {p}")).is_some(),
                "lg 2 p {p}"
            );
        }
        assert!(b.get("AvTS § 35 lg 1 p 5^1").is_some());
        assert!(b.get("avts  §  35 LG 1 p 11").is_some());
        assert!(b.get("lihtsalt niisama").is_none());
        let e = b
            .require("ground", "lihtsalt niisama")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ground") && e.contains("AvTS § 35 lg 1 p 11"),
            "{e}"
        );
    }

    #[test]
    fn terms_table() {
        let d = date;
        // (ground, personal content, from, end by, requested) -> (ends, basis)
        type Case = (
            &'static str,
            bool,
            Date,
            EndBy,
            Option<Date>,
            Date,
            &'static str,
        );
        let cases: Vec<Case> = vec![
            // § 40 lg 1: 5 years from receipt.
            (
                "AvTS § 35 lg 1 p 1",
                false,
                d(2026, 3, 2),
                EndBy::Date,
                None,
                d(2031, 3, 2),
                BASIS_GENERAL,
            ),
            // Personal data in the content: 75 years on any ground.
            (
                "AvTS § 35 lg 1 p 1",
                true,
                d(2026, 3, 2),
                EndBy::Date,
                None,
                d(2101, 3, 2),
                BASIS_PERSONAL,
            ),
            // A personal-data ground: 75 years.
            (
                "AvTS § 35 lg 1 p 12",
                false,
                d(2020, 1, 15),
                EndBy::Date,
                None,
                d(2095, 1, 15),
                BASIS_PERSONAL,
            ),
            // 29 February counts to 28 February.
            (
                "AvTS § 35 lg 1 p 11",
                false,
                d(2024, 2, 29),
                EndBy::Date,
                None,
                d(2099, 2, 28),
                BASIS_PERSONAL,
            ),
            // A shorter date asked for.
            (
                "AvTS § 35 lg 1 p 14",
                false,
                d(2026, 3, 2),
                EndBy::Date,
                Some(d(2030, 1, 1)),
                d(2030, 1, 1),
                BASIS_PERSONAL,
            ),
            // 30 years after death.
            (
                "AvTS § 35 lg 1 p 11",
                false,
                d(2026, 3, 2),
                EndBy::DeathYear(2020),
                None,
                d(2050, 12, 31),
                BASIS_PERSONAL,
            ),
            // 110 years from birth, the death unknown.
            (
                "AvTS § 35 lg 1 p 15",
                true,
                d(2026, 3, 2),
                EndBy::BirthYear(1950),
                None,
                d(2060, 12, 31),
                BASIS_PERSONAL,
            ),
            // Until the decision: the legal term is the backstop.
            (
                "AvTS § 35 lg 2 p 1",
                false,
                d(2026, 3, 2),
                EndBy::UntilDecision,
                None,
                d(2031, 3, 2),
                BASIS_GENERAL,
            ),
            (
                "AvTS § 35 lg 2 p 1",
                false,
                d(2026, 3, 2),
                EndBy::UntilDecision,
                Some(d(2300, 12, 31)),
                d(2031, 3, 2),
                BASIS_GENERAL,
            ),
            (
                "AvTS § 35 lg 2 p 1",
                false,
                d(2026, 3, 2),
                EndBy::UntilDecision,
                Some(d(2027, 1, 1)),
                d(2027, 1, 1),
                BASIS_GENERAL,
            ),
        ];
        for (ground, personal, from, end_by, req, ends, basis) in cases {
            let t = term(g(ground), personal, from, end_by, req).unwrap();
            assert_eq!(
                (t.ends, t.basis),
                (ends, basis),
                "{ground} {personal} {from} {end_by:?}"
            );
        }
    }

    #[test]
    fn terms_refused_table() {
        let d = date;
        for (ground, personal, end_by, req, want) in [
            // Beyond 5 years without personal data.
            (
                "AvTS § 35 lg 1 p 1",
                false,
                EndBy::Date,
                Some(d(2031, 3, 3)),
                "ületab",
            ),
            // Beyond 75 years.
            (
                "AvTS § 35 lg 1 p 11",
                false,
                EndBy::Date,
                Some(d(2101, 3, 3)),
                "ületab",
            ),
            // Before it begins.
            (
                "AvTS § 35 lg 1 p 11",
                false,
                EndBy::Date,
                Some(d(2026, 3, 1)),
                "enne algust",
            ),
            // A death year without personal data.
            (
                "AvTS § 35 lg 1 p 1",
                false,
                EndBy::DeathYear(2000),
                None,
                "isikuandmetega",
            ),
            // A birth year after the information's date.
            (
                "AvTS § 35 lg 1 p 11",
                false,
                EndBy::BirthYear(2030),
                None,
                "sünniaasta",
            ),
        ] {
            let e = term(g(ground), personal, d(2026, 3, 2), end_by, req)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{ground} {end_by:?}: {e}");
        }
    }

    #[test]
    fn ground_maximum_caps_the_general_term() {
        let short = Ground {
            id: "X § 1".into(),
            text: "lühike".into(),
            max_years: 2,
            personal_data: false,
        };
        let t = term(&short, false, date(2026, 1, 1), EndBy::Date, None).unwrap();
        assert_eq!(t.ends, date(2028, 1, 1));
        // Personal data in the content: § 40 lg 3 governs the information.
        let t = term(&short, true, date(2026, 1, 1), EndBy::Date, None).unwrap();
        assert_eq!(t.ends, date(2101, 1, 1));
    }

    #[test]
    fn extension_table() {
        let d = date;
        let ends = d(2030, 6, 30);
        // (extended, new end, today) -> Ok or the error's word
        for (extended, new_end, today, want) in [
            (false, d(2035, 6, 30), d(2030, 6, 30), Ok(())),
            (false, d(2031, 1, 1), d(2029, 1, 1), Ok(())),
            (false, d(2035, 7, 1), d(2030, 1, 1), Err("viis aastat")),
            (false, d(2032, 1, 1), d(2030, 7, 1), Err("lõppes")),
            (true, d(2032, 1, 1), d(2030, 1, 1), Err("juba pikendatud")),
            (false, d(2030, 6, 30), d(2030, 1, 1), Err("pärast praegust")),
        ] {
            match (check_extension(ends, extended, new_end, today), want) {
                (Ok(e), Ok(())) => assert_eq!(e, new_end),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{e}"),
                (got, want) => panic!("{new_end} {today}: got {got:?}, want {want:?}"),
            }
        }
    }

    proptest::proptest! {
        /// Whatever the ground, the date and the content, a term begins no
        /// earlier than `from` and ends within the law's maximum: 5 years
        /// (never beyond the ground's own) without personal data, 75 with it.
        #[test]
        fn term_stays_within_section_40(i in 0usize..64, personal: bool, days in 0i64..100_000) {
            let grounds = Grounds::builtin().all();
            let g = &grounds[i % grounds.len()];
            let from = date(1950, 1, 1).checked_add(jiff::Span::new().days(days)).unwrap();
            let t = term(g, personal, from, EndBy::Date, None).unwrap();
            proptest::prop_assert!(t.ends >= from);
            let years = if personal || g.personal_data { 75 } else { 5.min(g.max_years) };
            proptest::prop_assert!(t.ends <= from.checked_add(jiff::Span::new().years(years)).unwrap());
            proptest::prop_assert_eq!(t.basis, if personal || g.personal_data { BASIS_PERSONAL } else { BASIS_GENERAL });
            // A later end than the term is refused; the term itself is accepted.
            let later = t.ends.checked_add(jiff::Span::new().days(1)).unwrap();
            proptest::prop_assert!(term(g, personal, from, EndBy::Date, Some(later)).is_err());
            proptest::prop_assert!(term(g, personal, from, EndBy::Date, Some(t.ends)).is_ok());
        }
    }

    #[test]
    fn grounds_file_is_checked() {
        for (text, want) in [
            ("", "ground"),
            ("[[ground]]\nid = \"A\"\ntext = \"a\"\nmax_years = 0\npersonal_data = false\n", "max_years"),
            ("[[ground]]\nid = \"A\"\ntext = \"a\"\nmax_years = 5\npersonal_data = false\n[[ground]]\nid = \"a\"\ntext = \"b\"\nmax_years = 5\npersonal_data = false\n", "kaks korda"),
            ("[[ground]]\nid = \"A\"\ntext = \"a\"\nmax_years = 5\npersonal_data = false\nextra = 1\n", "extra"),
        ] {
            let e = Grounds::parse(text, "t").unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
