//! Referrals (suunamiskirjad) as data: the terms of a referral letter (pure),
//! its number (`{prefix}-{yyyy}-{nnnn}`) and finding quoted numbers in text.

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a referral counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralUnit {
    /// Sessions (seansid, vastuvõtud).
    Sessions,
    /// Hours (tunnid).
    Hours,
}

impl ReferralUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            ReferralUnit::Sessions => "sessions",
            ReferralUnit::Hours => "hours",
        }
    }
    /// The Estonian word (plural) shown to people.
    pub fn et(self) -> &'static str {
        match self {
            ReferralUnit::Sessions => "seanssi",
            ReferralUnit::Hours => "tundi",
        }
    }
    /// An invoice line's quantity in this unit: UN/ECE Rec 20 codes (HUR, MIN,
    /// C62, H87, EA) and e-arve's free-text units; no unit counts as this one.
    /// None: the line's unit cannot be counted in this one.
    pub fn convert(self, quantity: Decimal, unit_code: Option<&str>) -> Option<Decimal> {
        let u = unit_code
            .map(|u| u.trim().to_lowercase())
            .unwrap_or_default();
        let u = u.trim_end_matches('.');
        let hours = matches!(
            u,
            "hur" | "h" | "t" | "tund" | "tundi" | "tunnid" | "hour" | "hours"
        );
        let minutes = matches!(u, "min" | "minut" | "minutit" | "minutes");
        let pieces = matches!(
            u,
            "c62"
                | "h87"
                | "ea"
                | "e48"
                | "tk"
                | "kord"
                | "korda"
                | "seanss"
                | "seanssi"
                | "seansid"
                | "vastuvõtt"
                | "vastuvõttu"
                | "session"
                | "sessions"
        );
        match self {
            _ if u.is_empty() => Some(quantity),
            ReferralUnit::Hours if hours => Some(quantity),
            ReferralUnit::Hours if minutes => Some(quantity / Decimal::from(60)),
            ReferralUnit::Sessions if pieces => Some(quantity),
            _ => None,
        }
    }
}

impl std::str::FromStr for ReferralUnit {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_lowercase().as_str() {
            "sessions" | "session" | "seansid" | "seanss" => Ok(ReferralUnit::Sessions),
            "hours" | "hour" | "tunnid" | "tund" => Ok(ReferralUnit::Hours),
            _ => Err(Error::invalid(format!(
                "vigane suunamise ühik {s:?}: sessions või hours (invalid referral unit: sessions or hours)"
            ))),
        }
    }
}

/// The terms of a new referral (the register gives it its number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewReferral {
    /// The provider's 8-digit registry code.
    pub provider_code: String,
    pub provider_name: String,
    /// The person referred (a party of the letter, so it is restricted).
    pub person_name: String,
    pub person_code: Option<String>,
    pub service: String,
    pub unit: ReferralUnit,
    pub units: Decimal,
    pub unit_price_limit: Option<Decimal>,
    pub total_limit: Option<Decimal>,
    pub valid_from: Date,
    pub valid_to: Date,
}

impl NewReferral {
    /// Every term present and sane; the message names the term.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, why: &str| {
            Err(Error::invalid(format!("vigane suunamise {field}: {why}")))
        };
        if !crate::model::is_registry_code(self.provider_code.trim()) {
            return bad(
                "teenuseosutaja (provider)",
                &format!(
                    "{:?} ei ole 8-kohaline registrikood (not an 8-digit registry code)",
                    self.provider_code
                ),
            );
        }
        if self.provider_name.trim().is_empty() {
            return bad("teenuseosutaja nimi (provider name)", "tühi (empty)");
        }
        if self.person_name.trim().is_empty() {
            return bad("isik (person)", "nimi on tühi (the name is empty)");
        }
        if let Some(c) = &self.person_code {
            if !crate::personal_code::is_valid(c.trim()) {
                return bad(
                    "isikukood (person code)",
                    &format!("{c:?} ei ole kehtiv isikukood (not a valid personal code)"),
                );
            }
        }
        if self.service.trim().is_empty() {
            return bad("teenus (service)", "tühi (empty)");
        }
        for (field, v) in [
            ("ühikute arv (units)", Some(self.units)),
            ("ühiku hinna piir (unit price limit)", self.unit_price_limit),
            ("summa piir (total limit)", self.total_limit),
        ] {
            if let Some(v) = v {
                if v <= Decimal::ZERO || v > Decimal::from(10_000_000) {
                    return bad(
                        field,
                        &format!("{v} peab olema positiivne (must be positive)"),
                    );
                }
            }
        }
        if self.unit_price_limit.is_none() && self.total_limit.is_none() {
            return bad(
                "hinnapiir (price limit)",
                "anna ühiku hinna piir või summa piir (give a unit price limit or a total limit)",
            );
        }
        if self.valid_to < self.valid_from {
            return bad(
                "kehtivus (validity)",
                &format!(
                    "lõpp {} on enne algust {} (ends before it begins)",
                    self.valid_to, self.valid_from
                ),
            );
        }
        for (f, s, max) in [
            (
                "teenuseosutaja nimi (provider name)",
                &self.provider_name,
                300,
            ),
            ("isik (person)", &self.person_name, 300),
            ("teenus (service)", &self.service, 500),
        ] {
            if s.chars().count() > max {
                return bad(
                    f,
                    &format!("pikem kui {max} märki (longer than {max} characters)"),
                );
            }
        }
        Ok(())
    }
}

/// A registered referral, with what its invoices used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Referral {
    pub doc_id: i64,
    pub reg_no: String,
    pub number: String,
    pub provider: crate::invoice::einvoice::TradeParty,
    pub person: String,
    #[serde(skip)]
    pub person_code: Option<String>,
    pub service: String,
    pub unit: ReferralUnit,
    pub units: Decimal,
    pub unit_price_limit: Option<Decimal>,
    pub total_limit: Option<Decimal>,
    pub valid_from: Date,
    pub valid_to: Date,
    /// Counted over the referral's invoices that are not rejected.
    pub units_used: Decimal,
    pub units_remaining: Decimal,
    pub amount_used: Decimal,
    pub invoices: Vec<String>,
}

/// The referral number `{prefix}-{year}-{seq:04}`.
pub fn number(prefix: &str, year: i16, seq: i64) -> String {
    format!("{prefix}-{year}-{seq:04}")
}

/// Every referral number with this prefix quoted in `text`, in order, once
/// each (case and the separators `-`, ` `, `/` and `_` as people type them).
pub fn find_numbers(prefix: &str, text: &str) -> Vec<String> {
    // One prefix per process (the configured one): its pattern is compiled once.
    static RE: std::sync::Mutex<Option<(String, regex::Regex)>> = std::sync::Mutex::new(None);
    let re = {
        let mut cached = RE.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some((p, re)) if p == prefix => re.clone(),
            _ => {
                let built = regex::RegexBuilder::new(&format!(
                    r"\b{}[\s\-_/]?(\d{{4}})[\s\-_/](\d{{1,6}})(?:\D|$)",
                    regex::escape(prefix)
                ))
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build();
                let Ok(re) = built else { return Vec::new() };
                *cached = Some((prefix.to_string(), re.clone()));
                re
            }
        }
    };
    let mut out: Vec<String> = Vec::new();
    // Bounded: a text past 1 MB is read no further for numbers.
    let text = match text.char_indices().nth(1 << 20) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    for c in re.captures_iter(text) {
        let (Some(y), Some(n)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let (Ok(y), Ok(n)) = (y.as_str().parse::<i16>(), n.as_str().parse::<i64>()) else {
            continue;
        };
        let num = number(prefix, y, n);
        if !out.contains(&num) {
            out.push(num);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_are_found_as_people_quote_them() {
        let cases: &[(&str, &[&str])] = &[
            ("Viide: SUUN-2026-0012", &["SUUN-2026-0012"]),
            ("suunamiskiri suun-2026-12, arve", &["SUUN-2026-0012"]),
            ("SUUN 2026/7 ja SUUN-2026-0007", &["SUUN-2026-0007"]),
            ("XSUUN-2026-0001", &[]),
            ("SUUN-26-0001", &[]),
            ("SUUN-2026-00012345", &[]),
            // Text a PDF reader glued together.
            ("Viide: SUUN-2026-0001Tasuda 120,00", &["SUUN-2026-0001"]),
            ("no number here", &[]),
            (
                "(SUUN-2025-0003)(SUUN-2026-0004)",
                &["SUUN-2025-0003", "SUUN-2026-0004"],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(find_numbers("SUUN", text), *want, "{text}");
        }
    }

    #[test]
    fn units_convert_between_invoice_codes_and_the_referral() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        use ReferralUnit::*;
        assert_eq!(Hours.convert(d("90"), Some("MIN")), Some(d("1.5")));
        assert_eq!(Hours.convert(d("2"), Some("HUR")), Some(d("2")));
        assert_eq!(Hours.convert(d("2"), Some("C62")), None);
        assert_eq!(Sessions.convert(d("4"), Some("C62")), Some(d("4")));
        assert_eq!(Sessions.convert(d("4"), Some("tk")), Some(d("4")));
        assert_eq!(Sessions.convert(d("4"), Some("HUR")), None);
        assert_eq!(Sessions.convert(d("4"), None), Some(d("4")));
    }

    proptest! {
        #[test]
        fn a_written_number_is_found_again(year in 1990i16..2100, seq in 1i64..999_999, pre in "[a-z ]{0,20}", post in "[a-z ]{0,20}") {
            let n = number("SUUN", year, seq);
            // Before the number a word ends (XSUUN is not a number); after it,
            // text a PDF reader glued on is tolerated.
            prop_assert_eq!(find_numbers("SUUN", &format!("{pre} {n}{post}")), vec![n]);
        }

        #[test]
        fn finding_never_panics(text in "\\PC{0,400}") {
            let _ = find_numbers("SUUN", &text);
        }
    }
}
