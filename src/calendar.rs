//! The Estonian working-day calendar.
//!
//! Working days are Monday to Friday except the days of rest of PTS §§ 1–2 (and § 4(2)).
//! The public holidays are those of the Public Holidays Act (PTS §§ 1–2), computed
//! from rules, never typed in per year:
//!
//! - fixed days: 1 January, 24 February, 1 May, 23 and 24 June, 20 August
//!   (a day off since 1998), 24 December (since 2005), 25 and 26 December;
//! - movable days: Good Friday (Easter − 2), Easter Sunday, Pentecost (Easter + 49),
//!   with Easter by the Gregorian computus (anonymous algorithm, Meeus/Jones/Butcher).
//!
//! There are no substitute days when a holiday falls on a weekend. Extra
//! non-working days (a future change in the law, a one-off day off) come from
//! configuration: see [`ExtraDay`].
//!
//! The rules are stated for the years 1998 to 2100 ([`FIRST_YEAR`], [`LAST_YEAR`]);
//! [`Calendar::holidays`] refuses other years. Day arithmetic that crosses those
//! bounds (a deadline in January 2101) applies the same rules.

use std::sync::Arc;

use jiff::civil::{Date, Weekday};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// First year the calendar is stated for (the Public Holidays Act of 1998).
pub const FIRST_YEAR: i16 = 1998;
/// Last year the calendar is stated for.
pub const LAST_YEAR: i16 = 2100;

/// Refuses a date outside the years the calendar is stated for
/// ([`FIRST_YEAR`]..=[`LAST_YEAR`]), naming the input and the date: a deadline
/// asked for such a base would rest on holidays the law does not state.
pub fn check_covered(field: &'static str, d: Date) -> Result<Date> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&d.year()) {
        Ok(d)
    } else {
        Err(Error::invalid_field(
            field,
            format!("{d}: töökalender hõlmab aastaid {FIRST_YEAR}–{LAST_YEAR} (the working-day calendar covers {FIRST_YEAR} to {LAST_YEAR})"),
        ))
    }
}

/// Years whose non-working weekdays are precomputed (beyond this, computed on demand).
const CACHE_FROM: i16 = 1900;
const CACHE_TO: i16 = 2300;

/// One public holiday or extra non-working day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub date: Date,
    pub name: String,
}

/// An extra non-working day from configuration. Either one `date`, or an
/// `every_year` day ("MM-DD") from the year `from` (inclusive) to `until` (inclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraDay {
    /// The name shown by `docgate holidays`.
    pub name: String,
    /// A single day, "YYYY-MM-DD".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    /// A day every year, "MM-DD".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_year: Option<String>,
    /// First year of an `every_year` day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i16>,
    /// Last year of an `every_year` day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i16>,
}

impl ExtraDay {
    pub fn on(date: Date, name: impl Into<String>) -> ExtraDay {
        ExtraDay {
            name: name.into(),
            date: Some(date),
            every_year: None,
            from: None,
            until: None,
        }
    }

    fn validate(&self) -> Result<()> {
        match (&self.date, &self.every_year) {
            (Some(d), None) => {
                crate::model::check_date("deadlines.extra_non_working_days", *d).map(|_| ())
            }
            (None, Some(md)) => parse_month_day(md).map(|_| ()),
            _ => Err(Error::invalid(format!(
                "invalid deadlines.extra_non_working_days entry {:?}: give either date or every_year",
                self.name
            ))),
        }
    }

    fn in_year(&self, year: i16) -> Option<Date> {
        if let Some(d) = self.date {
            return (d.year() == year).then_some(d);
        }
        let (m, d) = parse_month_day(self.every_year.as_deref()?).ok()?;
        if self.from.is_some_and(|f| year < f) || self.until.is_some_and(|u| year > u) {
            return None;
        }
        Date::new(year, m, d).ok()
    }
}

fn parse_month_day(s: &str) -> Result<(i8, i8)> {
    let bad = || {
        Error::invalid(format!(
            "invalid deadlines.extra_non_working_days every_year {s:?}: expected MM-DD"
        ))
    };
    let (m, d) = s.split_once('-').ok_or_else(bad)?;
    let m: i8 = m.parse().map_err(|_| bad())?;
    let d: i8 = d.parse().map_err(|_| bad())?;
    // 2000 is a leap year: accepts 02-29 (which then only applies in leap years).
    Date::new(2000, m, d).map_err(|_| bad())?;
    Ok((m, d))
}

/// Easter Sunday of `year` by the Gregorian computus (anonymous algorithm).
pub fn easter_sunday(year: i16) -> Date {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::new(year, month as i8, day as i8).expect("computus yields a valid date")
}

fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(jiff::Span::new().days(n))
        .expect("date within jiff's range")
}

/// The statutory public holidays of `year` (PTS §§ 1–2), in date order, whatever the year.
pub fn statutory_holidays(year: i16) -> Vec<Holiday> {
    let easter = easter_sunday(year);
    let fixed = |m: i8, d: i8| Date::new(year, m, d).expect("fixed holiday is a valid date");
    let mut v = vec![
        (fixed(1, 1), "uusaasta"),
        (fixed(2, 24), "iseseisvuspäev, Eesti Vabariigi aastapäev"),
        (add_days(easter, -2), "suur reede"),
        (easter, "ülestõusmispühade 1. püha"),
        (fixed(5, 1), "kevadpüha"),
        (add_days(easter, 49), "nelipühade 1. püha"),
        (fixed(6, 23), "võidupüha"),
        (fixed(6, 24), "jaanipäev"),
    ];
    if year >= 1998 {
        v.push((fixed(8, 20), "taasiseseisvumispäev"));
    }
    if year >= 2005 {
        v.push((fixed(12, 24), "jõululaupäev"));
    }
    v.push((fixed(12, 25), "esimene jõulupüha"));
    v.push((fixed(12, 26), "teine jõulupüha"));
    let mut out: Vec<Holiday> = v
        .into_iter()
        .map(|(date, name)| Holiday {
            date,
            name: name.to_string(),
        })
        .collect();
    out.sort_by_key(|h| h.date);
    out
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The working-day calendar: statutory holidays plus configured extra days.
#[derive(Debug, Clone)]
pub struct Calendar {
    extra: Arc<Vec<ExtraDay>>,
    /// Non-working weekdays (holidays and extra days that fall Monday to Friday)
    /// of the years CACHE_FROM..=CACHE_TO, sorted.
    off_weekdays: Arc<Vec<Date>>,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar::new(Vec::new()).expect("no extra days is valid")
    }
}

impl PartialEq for Calendar {
    fn eq(&self, other: &Self) -> bool {
        self.extra == other.extra
    }
}

impl Calendar {
    /// The calendar with the given extra non-working days.
    pub fn new(extra: Vec<ExtraDay>) -> Result<Calendar> {
        for e in &extra {
            e.validate()?;
        }
        let mut cal = Calendar {
            extra: Arc::new(extra),
            off_weekdays: Arc::new(Vec::new()),
        };
        let mut off = Vec::with_capacity(5000);
        for y in CACHE_FROM..=CACHE_TO {
            for h in cal.all_days(y) {
                if !is_weekend(h.date) {
                    off.push(h.date);
                }
            }
        }
        off.sort();
        off.dedup();
        cal.off_weekdays = Arc::new(off);
        Ok(cal)
    }

    /// The calendar with one more non-working day (used by tests and `--extra`).
    pub fn with_extra(&self, day: ExtraDay) -> Result<Calendar> {
        let mut extra = (*self.extra).clone();
        extra.push(day);
        Calendar::new(extra)
    }

    /// Statutory holidays and extra days of any year, in date order (no range check).
    fn all_days(&self, year: i16) -> Vec<Holiday> {
        let mut v = statutory_holidays(year);
        for e in self.extra.iter() {
            if let Some(date) = e.in_year(year) {
                if !v.iter().any(|h| h.date == date) {
                    v.push(Holiday {
                        date,
                        name: e.name.clone(),
                    });
                }
            }
        }
        v.sort_by_key(|h| h.date);
        v
    }

    /// Public holidays and extra non-working days of `year` (1998 to 2100).
    pub fn holidays(&self, year: i32) -> Result<Vec<Holiday>> {
        if !(i32::from(FIRST_YEAR)..=i32::from(LAST_YEAR)).contains(&year) {
            return Err(Error::invalid(format!(
                "invalid year {year}: the calendar covers {FIRST_YEAR} to {LAST_YEAR}"
            )));
        }
        Ok(self.all_days(year as i16))
    }

    /// The holiday's name when `date` is a public holiday or an extra day.
    pub fn holiday_name(&self, date: Date) -> Option<String> {
        self.all_days(date.year())
            .into_iter()
            .find(|h| h.date == date)
            .map(|h| h.name)
    }

    fn cached(&self, d: Date) -> bool {
        (CACHE_FROM..=CACHE_TO).contains(&d.year())
    }

    /// Monday to Friday and not a holiday.
    pub fn is_working_day(&self, d: Date) -> bool {
        if is_weekend(d) {
            return false;
        }
        if self.cached(d) {
            self.off_weekdays.binary_search(&d).is_err()
        } else {
            !self.all_days(d.year()).iter().any(|h| h.date == d)
        }
    }

    /// `d` itself when it is a working day, else the next working day.
    pub fn working_day_on_or_after(&self, d: Date) -> Date {
        let mut d = d;
        while !self.is_working_day(d) {
            d = add_days(d, 1);
        }
        d
    }

    /// The `n`th working day after `d` (`d` itself is never counted); `n` = 0 gives `d`.
    pub fn add_working_days(&self, d: Date, n: u32) -> Date {
        let mut d = d;
        let mut left = n;
        while left > 0 {
            d = add_days(d, 1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// The `n`th working day before `d`.
    pub fn sub_working_days(&self, d: Date, n: u32) -> Date {
        let mut d = d;
        let mut left = n;
        while left > 0 {
            d = add_days(d, -1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days in the interval (`a`, `b`]: how many working days `b` is after
    /// `a`; negative when `b` is before `a`. Constant time within the cached years.
    pub fn working_days_between(&self, a: Date, b: Date) -> i64 {
        if b < a {
            return -self.working_days_between(b, a);
        }
        if !(self.cached(a) && self.cached(b)) {
            let mut n = 0;
            let mut d = a;
            while d < b {
                d = add_days(d, 1);
                if self.is_working_day(d) {
                    n += 1;
                }
            }
            return n;
        }
        let weekdays = weekdays_upto(b) - weekdays_upto(a);
        // Non-working weekdays in (a, b].
        let lo = self.off_weekdays.partition_point(|x| *x <= a);
        let hi = self.off_weekdays.partition_point(|x| *x <= b);
        weekdays - (hi - lo) as i64
    }
}

/// Days since 1970-01-01.
fn epoch_day(d: Date) -> i64 {
    jiff::civil::date(1970, 1, 1)
        .until(d)
        .expect("date difference")
        .get_days() as i64
}

/// Number of Monday-to-Friday days in (1970-01-01 − k weeks, d], up to a constant:
/// only differences of this function are meaningful.
fn weekdays_upto(d: Date) -> i64 {
    // 1970-01-05 was a Monday. Shift so that day 0 is a Monday far in the past.
    let n = epoch_day(d) - 4 + 7 * 100_000; // days since a Monday, non-negative
    let weeks = n.div_euclid(7);
    let rem = n.rem_euclid(7); // 0 = Monday .. 6 = Sunday
    weeks * 5 + (rem + 1).min(5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn easter_known_years() {
        // Published Gregorian Easter dates.
        let known = [
            (1998, 4, 12),
            (2000, 4, 23),
            (2005, 3, 27),
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2038, 4, 25),
            (2049, 4, 18),
            (2100, 3, 28),
        ];
        for (y, m, d) in known {
            assert_eq!(easter_sunday(y), date(y, m, d), "easter {y}");
        }
    }

    #[test]
    fn easter_always_a_sunday_between_march_22_and_april_25() {
        for y in FIRST_YEAR..=LAST_YEAR {
            let e = easter_sunday(y);
            assert_eq!(e.weekday(), Weekday::Sunday, "{e}");
            assert!(e >= date(y, 3, 22) && e <= date(y, 4, 25), "{e}");
        }
    }

    #[test]
    fn holidays_2025_complete() {
        let cal = Calendar::default();
        let got: Vec<String> = cal
            .holidays(2025)
            .unwrap()
            .iter()
            .map(|h| h.date.to_string())
            .collect();
        assert_eq!(
            got,
            [
                "2025-01-01",
                "2025-02-24",
                "2025-04-18",
                "2025-04-20",
                "2025-05-01",
                "2025-06-08",
                "2025-06-23",
                "2025-06-24",
                "2025-08-20",
                "2025-12-24",
                "2025-12-25",
                "2025-12-26"
            ]
        );
    }

    #[test]
    fn christmas_eve_only_from_2005_and_august_20_from_1998() {
        let cal = Calendar::default();
        let y2004 = cal.holidays(2004).unwrap();
        assert!(!y2004.iter().any(|h| h.date == date(2004, 12, 24)));
        assert!(y2004.iter().any(|h| h.date == date(2004, 8, 20)));
        assert_eq!(y2004.len(), 11);
        let y2005 = cal.holidays(2005).unwrap();
        assert!(y2005.iter().any(|h| h.date == date(2005, 12, 24)));
        assert_eq!(y2005.len(), 12);
        // 2004-12-24 was a Friday and a working day.
        assert!(cal.is_working_day(date(2004, 12, 24)));
        assert!(!cal.is_working_day(date(2025, 12, 24)));
        assert!(cal
            .holidays(1998)
            .unwrap()
            .iter()
            .any(|h| h.date == date(1998, 8, 20)));
        assert!(
            !cal.is_working_day(date(1998, 8, 20)),
            "1998-08-20 was a Thursday off"
        );
    }

    #[test]
    fn years_outside_the_range_are_refused_with_the_input_named() {
        let cal = Calendar::default();
        let err = cal.holidays(1997).unwrap_err().to_string();
        assert!(err.contains("1997"), "{err}");
        assert!(cal.holidays(2101).is_err());
        assert!(cal.holidays(2100).is_ok());
    }

    #[test]
    fn no_substitute_days_for_weekend_holidays() {
        // 2027-12-25 and 26 are Saturday and Sunday: Monday 27th is a working day.
        let cal = Calendar::default();
        assert!(cal.is_working_day(date(2027, 12, 27)));
    }

    #[test]
    fn working_day_arithmetic() {
        let cal = Calendar::default();
        // Thursday 2025-04-17 + 1 working day: Friday is Good Friday, so Monday 21st.
        assert_eq!(
            cal.add_working_days(date(2025, 4, 17), 1),
            date(2025, 4, 21)
        );
        // Friday 2025-12-19 + 5: 22, 23, 29, 30, 31 (24-26 holidays, 27-28 weekend).
        assert_eq!(
            cal.add_working_days(date(2025, 12, 19), 5),
            date(2025, 12, 31)
        );
        assert_eq!(
            cal.working_days_between(date(2025, 12, 19), date(2025, 12, 31)),
            5
        );
        assert_eq!(
            cal.working_days_between(date(2025, 12, 31), date(2025, 12, 19)),
            -5
        );
        assert_eq!(
            cal.sub_working_days(date(2025, 12, 31), 5),
            date(2025, 12, 19)
        );
        assert_eq!(
            cal.working_day_on_or_after(date(2025, 6, 21)),
            date(2025, 6, 25)
        );
    }

    #[test]
    fn fast_count_matches_slow_count() {
        let cal = Calendar::default();
        let start = date(2023, 11, 20);
        for span in 0..800i64 {
            let b = add_days(start, span);
            let mut slow = 0;
            let mut d = start;
            while d < b {
                d = add_days(d, 1);
                if cal.is_working_day(d) {
                    slow += 1;
                }
            }
            assert_eq!(cal.working_days_between(start, b), slow, "{b}");
        }
    }

    #[test]
    fn extra_days_from_configuration() {
        let cal = Calendar::new(vec![
            ExtraDay::on(date(2030, 3, 5), "erakorraline puhkepäev"),
            ExtraDay {
                name: "uus püha".into(),
                date: None,
                every_year: Some("11-16".into()),
                from: Some(2031),
                until: None,
            },
        ])
        .unwrap();
        assert!(!cal.is_working_day(date(2030, 3, 5)));
        assert!(cal.is_working_day(date(2029, 3, 5)));
        assert!(!cal.is_working_day(date(2032, 11, 16)));
        assert!(cal.is_working_day(date(2030, 11, 15)));
        assert!(cal
            .holidays(2031)
            .unwrap()
            .iter()
            .any(|h| h.name == "uus püha"));
        let bad = Calendar::new(vec![ExtraDay {
            name: "x".into(),
            date: None,
            every_year: Some("13-01".into()),
            from: None,
            until: None,
        }])
        .unwrap_err()
        .to_string();
        assert!(bad.contains("13-01"), "{bad}");
    }
}
