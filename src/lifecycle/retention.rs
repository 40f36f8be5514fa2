//! Retention from the document list (ISO 15489-1:2016 § 5.2; MoReq2010
//! disposal scheduling): a period (years, or "alaline" = permanent), the event
//! that starts it, and the appraisal (destroy, or transfer to the National
//! Archives). Pure: when a file unit's period ends is computed from its facts.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The longest period the document list may give, in years.
pub const MAX_YEARS: u32 = 500;

/// A series' retention as `config/series.toml` gives it:
/// `retention = { period = 10, trigger = "registration_year", appraisal = "destroy" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RetentionRepr")]
pub struct Retention {
    pub period: Period,
    pub trigger: Trigger,
    pub appraisal: Appraisal,
}

/// How long: a number of years, or permanently ("alaline").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Years(u32),
    Permanent,
}

/// What starts the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The end of the calendar year of the last registration in the file unit.
    RegistrationYear,
    /// The closing of the file unit.
    FileUnitClosed,
    /// A decision (a document of kind "otsus") registered in the file unit.
    Decision,
    /// The last document of the threads (cases) in the file unit.
    ThreadLast,
}

/// What happens when the period ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Appraisal {
    Destroy,
    Transfer,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::RegistrationYear => "registration_year",
            Trigger::FileUnitClosed => "file_unit_closed",
            Trigger::Decision => "decision",
            Trigger::ThreadLast => "thread_last",
        }
    }

    /// Estonian first, English second.
    pub fn label(self) -> &'static str {
        match self {
            Trigger::RegistrationYear => {
                "registreerimisaasta lõpp (end of the year of registration)"
            }
            Trigger::FileUnitClosed => "toimiku sulgemine (file unit closed)",
            Trigger::Decision => "otsuse tegemine (decision registered)",
            Trigger::ThreadLast => "asja viimane dokument (last document of the case)",
        }
    }

    pub fn parse(s: &str) -> Option<Trigger> {
        [
            Trigger::RegistrationYear,
            Trigger::FileUnitClosed,
            Trigger::Decision,
            Trigger::ThreadLast,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

impl Appraisal {
    pub fn as_str(self) -> &'static str {
        match self {
            Appraisal::Destroy => "destroy",
            Appraisal::Transfer => "transfer",
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Years(n) => write!(f, "{n} aastat"),
            Period::Permanent => f.write_str("alaline"),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Period::Years(n) => s.serialize_u32(*n),
            Period::Permanent => s.serialize_str("alaline"),
        }
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Period, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum P {
            Years(i64),
            Text(String),
        }
        match P::deserialize(d)? {
            P::Years(n) if (1..=i64::from(MAX_YEARS)).contains(&n) => Ok(Period::Years(n as u32)),
            P::Years(n) => Err(serde::de::Error::custom(format!(
                "retention period {n} must be 1-{MAX_YEARS} years, or \"alaline\""
            ))),
            P::Text(t) if t == "alaline" => Ok(Period::Permanent),
            P::Text(t) => Err(serde::de::Error::custom(format!(
                "retention period {t:?} must be a number of years or \"alaline\" (permanent)"
            ))),
        }
    }
}

/// What the document list may write: the old free text is refused with a message that says what to write.
#[derive(Deserialize)]
#[serde(untagged)]
enum RetentionRepr {
    Text(String),
    Table(RetentionTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionTable {
    period: Period,
    trigger: Trigger,
    appraisal: Appraisal,
}

impl TryFrom<RetentionRepr> for Retention {
    type Error = String;
    fn try_from(r: RetentionRepr) -> Result<Retention, String> {
        match r {
            RetentionRepr::Text(t) => Err(format!(
                "säilitustähtaeg {t:?} on vabatekst, mida ei loeta; kirjuta retention = {{ period = 10, trigger = \"registration_year\", appraisal = \"destroy\" }} \
                 (period: aastad või \"alaline\"; trigger: registration_year | file_unit_closed | decision | thread_last; appraisal: destroy | transfer) \
                 (free-text retention is no longer read: give period, trigger and appraisal)"
            )),
            RetentionRepr::Table(t) => {
                let r = Retention {
                    period: t.period,
                    trigger: t.trigger,
                    appraisal: t.appraisal,
                };
                r.check()?;
                Ok(r)
            }
        }
    }
}

impl Retention {
    /// A permanent period cannot end in destruction.
    pub fn check(&self) -> Result<(), String> {
        if self.period == Period::Permanent && self.appraisal == Appraisal::Destroy {
            return Err(
                "alaline säilitustähtaeg ei sobi hävitamisega (a permanent period cannot end in destruction: appraisal = \"transfer\")"
                    .into(),
            );
        }
        Ok(())
    }
}

/// What a file unit's period can start from (each None until it happened).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnitFacts {
    /// The registration date of its last document.
    pub last_registered: Option<Date>,
    /// When the file unit was closed.
    pub closed: Option<Date>,
    /// The registration date of its last decision.
    pub last_decision: Option<Date>,
    /// The registration date of the last document of the threads it holds.
    pub thread_last: Option<Date>,
}

/// When a file unit's period started and ends (the first day it may be disposed of).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PeriodEnd {
    pub trigger: Trigger,
    pub started: Date,
    pub ends: Date,
}

/// The end of the period, or None while it cannot end: permanent, or the
/// trigger has not happened. `years`: the file unit's own period, if any.
pub fn period_end(r: &Retention, years: Option<u32>, f: &UnitFacts) -> Option<PeriodEnd> {
    let n = match (years, r.period) {
        (Some(y), _) => y,
        (None, Period::Years(y)) => y,
        (None, Period::Permanent) => return None,
    };
    let started = match r.trigger {
        // The period runs from the day after the end of the year: 1 January.
        Trigger::RegistrationYear => Date::new(f.last_registered?.year().checked_add(1)?, 1, 1)
            .ok()?
            .yesterday()
            .ok()?,
        Trigger::FileUnitClosed => f.closed?,
        Trigger::Decision => f.last_decision?,
        Trigger::ThreadLast => f.thread_last.or(f.last_registered)?,
    };
    let ends = started
        .checked_add(jiff::Span::new().years(i64::from(n)))
        .ok()?
        .tomorrow()
        .ok()?;
    Some(PeriodEnd {
        trigger: r.trigger,
        started,
        ends,
    })
}

/// Whether the period has ended on `as_of`.
pub fn is_due(r: &Retention, years: Option<u32>, f: &UnitFacts, as_of: Date) -> Option<PeriodEnd> {
    period_end(r, years, f).filter(|e| e.ends <= as_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn ret(period: Period, trigger: Trigger) -> Retention {
        Retention {
            period,
            trigger,
            appraisal: Appraisal::Destroy,
        }
    }

    #[test]
    fn period_ends_by_trigger_table() {
        let facts = UnitFacts {
            last_registered: Some(date(2015, 6, 3)),
            closed: Some(date(2016, 2, 29)),
            last_decision: Some(date(2015, 9, 1)),
            thread_last: Some(date(2016, 1, 10)),
        };
        let y = Period::Years(10);
        // (trigger, started, first day it may be disposed of)
        let table = [
            (
                Trigger::RegistrationYear,
                date(2015, 12, 31),
                date(2026, 1, 1),
            ),
            (Trigger::FileUnitClosed, date(2016, 2, 29), date(2026, 3, 1)),
            (Trigger::Decision, date(2015, 9, 1), date(2025, 9, 2)),
            (Trigger::ThreadLast, date(2016, 1, 10), date(2026, 1, 11)),
        ];
        for (t, started, ends) in table {
            let e = period_end(&ret(y, t), None, &facts).unwrap();
            assert_eq!((e.trigger, e.started, e.ends), (t, started, ends), "{t:?}");
            assert!(is_due(&ret(y, t), None, &facts, ends).is_some());
            assert!(is_due(&ret(y, t), None, &facts, ends.yesterday().unwrap()).is_none());
        }
    }

    #[test]
    fn no_end_without_its_trigger_or_when_permanent() {
        let open = UnitFacts {
            last_registered: Some(date(2000, 1, 1)),
            ..UnitFacts::default()
        };
        assert_eq!(
            period_end(&ret(Period::Years(1), Trigger::FileUnitClosed), None, &open),
            None
        );
        assert_eq!(
            period_end(&ret(Period::Years(1), Trigger::Decision), None, &open),
            None
        );
        assert_eq!(
            period_end(
                &ret(Period::Permanent, Trigger::RegistrationYear),
                None,
                &open
            ),
            None
        );
        // A file unit's own period applies even where the series keeps permanently.
        assert!(period_end(
            &ret(Period::Permanent, Trigger::RegistrationYear),
            Some(5),
            &open
        )
        .is_some());
        // An empty unit has nothing to start from.
        assert_eq!(
            period_end(
                &ret(Period::Years(1), Trigger::RegistrationYear),
                None,
                &UnitFacts::default()
            ),
            None
        );
    }

    #[derive(Deserialize)]
    struct S {
        retention: Retention,
    }

    #[test]
    fn free_text_retention_is_refused_with_what_to_write() {
        let e = toml::from_str::<S>(r#"retention = "10 aastat""#)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("vabatekst") && e.contains("period = 10"), "{e}");
        let ok: S = toml::from_str(
            r#"retention = { period = "alaline", trigger = "file_unit_closed", appraisal = "transfer" }"#,
        )
        .unwrap();
        assert_eq!(ok.retention.period, Period::Permanent);
        let perm_destroy = toml::from_str::<S>(
            r#"retention = { period = "alaline", trigger = "decision", appraisal = "destroy" }"#,
        );
        assert!(perm_destroy.is_err());
        for bad in [
            r#"retention = { period = 0, trigger = "decision", appraisal = "destroy" }"#,
            r#"retention = { period = 5, trigger = "someday", appraisal = "destroy" }"#,
            r#"retention = { period = 5, trigger = "decision", appraisal = "keep" }"#,
            r#"retention = { period = 5, trigger = "decision", appraisal = "destroy", x = 1 }"#,
        ] {
            assert!(toml::from_str::<S>(bad).is_err(), "{bad}");
        }
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (1990i16..2200, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| date(y, m, d))
    }

    proptest! {
        /// The period ends after it starts, at least `years` years later, and
        /// once due a unit stays due.
        #[test]
        fn a_period_ends_after_it_starts_and_stays_ended(
            years in 1u32..100, a in any_date(), b in any_date(), as_of in any_date(), later in 0i64..5000,
            t in 0usize..4,
        ) {
            let trigger = [Trigger::RegistrationYear, Trigger::FileUnitClosed, Trigger::Decision, Trigger::ThreadLast][t];
            let f = UnitFacts { last_registered: Some(a), closed: Some(b), last_decision: Some(b), thread_last: Some(b) };
            let r = ret(Period::Years(years), trigger);
            let e = period_end(&r, None, &f).unwrap();
            prop_assert!(e.ends > e.started);
            prop_assert!(e.ends.year() - e.started.year() >= years as i16);
            if is_due(&r, None, &f, as_of).is_some() {
                let l = as_of.checked_add(jiff::Span::new().days(later)).unwrap();
                prop_assert!(is_due(&r, None, &f, l).is_some());
            }
        }
    }
}
