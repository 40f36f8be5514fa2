//! Matching an invoice to its referral and checking it against it (pure).
//!
//! Matching never guesses: a quoted referral number that exists links the
//! invoice; else the provider, the person and the period must single out one
//! referral; several that fit are shown as candidates and nothing is linked.

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::einvoice::EInvoice;
use super::referral::Referral;

/// How an invoice was linked to its referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The referral number quoted in the buyer or order reference, or in the text.
    Number,
    /// The one referral of this provider, person and period.
    ProviderPersonPeriod,
    /// Linked by hand (`invoice link`).
    Manual,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Number => "number",
            Method::ProviderPersonPeriod => "provider_person_period",
            Method::Manual => "manual",
        }
    }
}

/// The outcome of matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Matched {
        doc_id: i64,
        method: Method,
    },
    /// Several referrals fit: their document ids, for the clerk to choose.
    Ambiguous(Vec<i64>),
    NotFound,
}

/// What an invoice tells about its referral.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub seller_code: Option<String>,
    /// Referral numbers quoted, references first.
    pub numbers: Vec<String>,
    /// Personal codes found in the invoice's texts.
    pub person_codes: Vec<String>,
    /// The invoice's texts, lower-cased with single spaces, for names.
    pub text: String,
    /// The service dates, else the issue date.
    pub span: Option<(Date, Date)>,
}

fn normalize(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Evidence {
    /// The evidence of an e-invoice; `prefix`: the referral number's prefix.
    pub fn of_invoice(inv: &EInvoice, prefix: &str) -> Evidence {
        let mut numbers = Vec::new();
        let mut text = String::new();
        for t in inv.texts() {
            for n in super::referral::find_numbers(prefix, t) {
                if !numbers.contains(&n) {
                    numbers.push(n);
                }
            }
            text.push_str(t);
            text.push('\n');
        }
        Evidence {
            seller_code: inv.seller.code.clone().filter(|c| !c.trim().is_empty()),
            numbers,
            person_codes: crate::personal_code::find_all(&text),
            text: normalize(&text),
            span: inv
                .service_span()
                .or(Some((inv.issue_date, inv.issue_date))),
        }
    }

    /// The evidence of an invoice known only by its text (a PDF).
    pub fn of_text(text: &str, prefix: &str, seller_code: Option<String>) -> Evidence {
        Evidence {
            seller_code,
            numbers: super::referral::find_numbers(prefix, text),
            person_codes: crate::personal_code::find_all(text),
            text: normalize(text),
            span: None,
        }
    }

    fn names_person(&self, r: &Referral) -> bool {
        r.person_code
            .as_ref()
            .is_some_and(|c| self.person_codes.iter().any(|p| p == c))
            || {
                let n = normalize(&r.person);
                !n.is_empty() && self.text.contains(&n)
            }
    }

    fn in_period(&self, r: &Referral) -> bool {
        match self.span {
            Some((a, b)) => a <= r.valid_to && b >= r.valid_from,
            None => true,
        }
    }
}

/// Links the evidence to one of `referrals` (those quoted by number and those
/// of the seller), or says why not.
pub fn find(ev: &Evidence, referrals: &[Referral]) -> Match {
    let quoted: Vec<&Referral> = referrals
        .iter()
        .filter(|r| ev.numbers.contains(&r.number))
        .collect();
    match quoted.as_slice() {
        [one] => {
            return Match::Matched {
                doc_id: one.doc_id,
                method: Method::Number,
            }
        }
        [] => {}
        many => return Match::Ambiguous(many.iter().map(|r| r.doc_id).collect()),
    }
    let Some(seller) = &ev.seller_code else {
        return Match::NotFound;
    };
    let fitting: Vec<&Referral> = referrals
        .iter()
        .filter(|r| &r.provider.code.clone().unwrap_or_default() == seller && ev.in_period(r))
        .collect();
    let named: Vec<&Referral> = fitting
        .iter()
        .copied()
        .filter(|r| ev.names_person(r))
        .collect();
    match (named.as_slice(), fitting.as_slice()) {
        ([one], _) => Match::Matched {
            doc_id: one.doc_id,
            method: Method::ProviderPersonPeriod,
        },
        ([], []) => Match::NotFound,
        ([], all) => Match::Ambiguous(all.iter().map(|r| r.doc_id).collect()),
        (many, _) => Match::Ambiguous(many.iter().map(|r| r.doc_id).collect()),
    }
}

/// One check of an invoice: `invoice show`'s `checks[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// Why, in Estonian.
    pub reason: String,
    /// The same in English (the web application's second language).
    #[serde(default)]
    pub reason_en: String,
}

impl Check {
    /// The reason in English (`en`) or in Estonian.
    pub fn reason_in(&self, en: bool) -> &str {
        if en && !self.reason_en.is_empty() {
            &self.reason_en
        } else {
            &self.reason
        }
    }
}

/// A message written "Estonian (English)" as its two halves; one without a
/// final parenthesised English half is Estonian only (both halves the same).
pub fn split_bilingual(text: &str) -> (String, String) {
    let t = text.trim_end();
    if let Some(body) = t.strip_suffix(')') {
        // The '(' that opens the final group, nested parentheses counted.
        let mut depth = 0usize;
        for (i, c) in body.char_indices().rev() {
            match c {
                ')' => depth += 1,
                '(' if depth == 0 => {
                    let et = body[..i].trim_end();
                    if !et.is_empty() {
                        return (et.to_string(), body[i + 1..].to_string());
                    }
                    break;
                }
                '(' => depth -= 1,
                _ => {}
            }
        }
    }
    (t.to_string(), t.to_string())
}

fn check(name: &str, ok: bool, text: String) -> Check {
    let (reason, reason_en) = split_bilingual(&text);
    Check {
        name: name.into(),
        ok,
        reason,
        reason_en,
    }
}

/// What the referral's other invoices (not rejected) used before this one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub units: Decimal,
    pub amount: Decimal,
}

fn money(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

/// The checks of an e-invoice: its arithmetic and number always; against the
/// referral when one is linked (`referral`, with what its other invoices used).
pub fn run(
    inv: &EInvoice,
    matched: &Match,
    referral: Option<(&Referral, Usage)>,
    referral_names: &[String],
    duplicate_of: Option<&str>,
) -> Vec<Check> {
    let mut out = vec![match_check(matched, referral.map(|r| r.0), referral_names)];
    if let Some((r, used)) = referral {
        out.extend(referral_checks(inv, r, used));
    }
    let arith = super::arith::check(inv);
    out.push(if arith.is_empty() {
        check(
            "arithmetic",
            true,
            "read, käibemaks ja summad klapivad (lines, VAT and totals add up)".into(),
        )
    } else {
        let (et, en): (Vec<String>, Vec<String>) = arith.iter().map(|m| split_bilingual(m)).unzip();
        Check {
            name: "arithmetic".into(),
            ok: false,
            reason: et.join("; "),
            reason_en: en.join("; "),
        }
    });
    out.push(duplicate_check(&inv.number, duplicate_of));
    out
}

/// The check "referral": linked, or why not (with the candidates' numbers).
pub fn match_check(matched: &Match, referral: Option<&Referral>, names: &[String]) -> Check {
    match (matched, referral) {
        (Match::Matched { method, .. }, Some(r)) => check(
            "referral",
            true,
            match method {
                Method::Number => format!(
                    "suunamine {n}, arvel viidatud numbri järgi (referral {n}, by the number quoted)",
                    n = r.number
                ),
                Method::ProviderPersonPeriod => format!(
                    "suunamine {n}, teenuseosutaja, isiku ja perioodi järgi (referral {n}, by provider, person and period)",
                    n = r.number
                ),
                Method::Manual => format!(
                    "suunamine {n}, seotud käsitsi (referral {n}, linked by hand)",
                    n = r.number
                ),
            },
        ),
        (Match::Ambiguous(_), _) => check(
            "referral",
            false,
            format!(
                "sobib mitu suunamist: {}; valige õige (several referrals fit: choose one)",
                names.join(", ")
            ),
        ),
        _ => check(
            "referral",
            false,
            "suunamist ei leitud: arvel pole suunamise numbrit ning teenuseosutaja, isiku ja perioodi järgi ei sobi ükski (no referral found: no referral number quoted, and none fits the provider, person and period)".into(),
        ),
    }
}

/// The check "duplicate": no other invoice of this seller has this number.
pub fn duplicate_check(number: &str, duplicate_of: Option<&str>) -> Check {
    match duplicate_of {
        None => check(
            "duplicate",
            true,
            format!("arve number {number} on selle müüja juures esimest korda (first invoice with this number from this seller)"),
        ),
        Some(reg) => check(
            "duplicate",
            false,
            format!("sama müüja arve number {number} on juba registreeritud: {reg} (duplicate invoice number for this seller)"),
        ),
    }
}

fn referral_checks(inv: &EInvoice, r: &Referral, used: Usage) -> Vec<Check> {
    let mut out = Vec::new();
    let seller = inv.seller.code.clone().unwrap_or_default();
    let provider = r.provider.code.clone().unwrap_or_default();
    out.push(if seller == provider {
        check(
            "provider",
            true,
            format!("müüja {} ({seller}) on suunatud teenuseosutaja (the seller is the provider referred to)", inv.seller.name),
        )
    } else {
        check(
            "provider",
            false,
            format!(
                "müüja {} ({}) ei ole suunatud teenuseosutaja {} ({provider}) (the seller is not the provider referred to)",
                inv.seller.name,
                if seller.is_empty() { "registrikoodita / no registry code" } else { &seller },
                r.provider.name
            ),
        )
    });
    out.push(match inv.service_span() {
        Some((a, b)) if a >= r.valid_from && b <= r.valid_to => check(
            "period",
            true,
            format!("teenus {a}…{b} on suunamise kehtivuse {}…{} sees (within the referral's period)", r.valid_from, r.valid_to),
        ),
        Some((a, b)) => check(
            "period",
            false,
            format!("teenus {a}…{b} ei ole suunamise kehtivuse {}…{} sees (service dates outside the referral's period)", r.valid_from, r.valid_to),
        ),
        None => check(
            "period",
            false,
            "arvel pole teenuse kuupäevi (arve periood ega rea periood); kontrollige käsitsi (the invoice names no service dates: check by hand)".into(),
        ),
    });
    // Units, counted in the referral's unit over all its invoices.
    let mut units = Decimal::ZERO;
    let mut foreign = Vec::new();
    for l in &inv.lines {
        match r.unit.convert(l.quantity, l.unit_code.as_deref()) {
            Some(q) => units += q,
            None => foreign.push(format!(
                "rida {} ühik {}",
                l.id,
                l.unit_code.as_deref().unwrap_or("-")
            )),
        }
    }
    let total_units = used.units + units;
    out.push(if !foreign.is_empty() {
        check(
            "units",
            false,
            format!(
                "{} ei ole arvestatav suunamise ühikus {} (a line's unit is not the referral's)",
                foreign.join(", "),
                r.unit.et()
            ),
        )
    } else if total_units <= r.units {
        check(
            "units",
            true,
            format!(
                "sellel arvel {} {u}, suunamise arvetel kokku {} {u}, suunatud {} {u} (within the referred units: {} of {})",
                units.normalize(),
                total_units.normalize(),
                r.units.normalize(),
                total_units.normalize(),
                r.units.normalize(),
                u = r.unit.et()
            ),
        )
    } else {
        check(
            "units",
            false,
            format!(
                "ühikuid üle: suunatud {} {u}, varasemad arved {} {u}, see arve {} {u}, kokku {} {u} (over the referred units)",
                r.units.normalize(),
                used.units.normalize(),
                units.normalize(),
                total_units.normalize(),
                u = r.unit.et()
            ),
        )
    });
    let eur = inv.currency.eq_ignore_ascii_case("EUR");
    if let Some(limit) = r.unit_price_limit {
        let over: Vec<String> = inv
            .lines
            .iter()
            .filter_map(|l| {
                // The price per referral unit: a line in minutes is priced per hour.
                let per = r.unit.convert(Decimal::ONE, l.unit_code.as_deref())?;
                if per.is_zero() {
                    return None;
                }
                let price = l.unit_price / per;
                (price > limit).then(|| format!("rida {}: {} {}", l.id, money(price), inv.currency))
            })
            .collect();
        out.push(if !eur {
            check(
                "unit_price",
                false,
                format!(
                    "arve valuuta on {}, piir on eurodes (the limit is in euros)",
                    inv.currency
                ),
            )
        } else if over.is_empty() {
            check(
                "unit_price",
                true,
                format!(
                    "ühiku hind kuni {} EUR (unit prices within the limit)",
                    money(limit)
                ),
            )
        } else {
            check(
                "unit_price",
                false,
                format!(
                    "ühiku hind üle piiri {} EUR: {} (unit price over the limit)",
                    money(limit),
                    over.join(", ")
                ),
            )
        });
    }
    if let Some(limit) = r.total_limit {
        let total = used.amount + inv.payable;
        out.push(if !eur {
            check("total", false, format!("arve valuuta on {}, piir on eurodes (the limit is in euros)", inv.currency))
        } else if total <= limit {
            check(
                "total",
                true,
                format!("summa {} EUR, kokku suunamise arvetel {} EUR piirist {} EUR (within the total limit)", money(inv.payable), money(total), money(limit)),
            )
        } else {
            check(
                "total",
                false,
                format!(
                    "summa üle piiri: piir {} EUR, varasemad arved {} EUR, see arve {} EUR, kokku {} EUR (over the total limit)",
                    money(limit),
                    money(used.amount),
                    money(inv.payable),
                    money(total)
                ),
            )
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::einvoice::TradeParty;
    use crate::invoice::referral::ReferralUnit;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }
    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn referral(
        id: i64,
        number: &str,
        provider: &str,
        person: &str,
        from: &str,
        to: &str,
    ) -> Referral {
        Referral {
            doc_id: id,
            reg_no: format!("9-3/{id}"),
            number: number.into(),
            provider: TradeParty {
                name: "Hingeabi OÜ".into(),
                code: Some(provider.into()),
                vat_id: None,
            },
            person: person.into(),
            person_code: None,
            service: "psühholoogiline nõustamine".into(),
            unit: ReferralUnit::Sessions,
            units: d("10"),
            unit_price_limit: Some(d("60")),
            total_limit: Some(d("600")),
            valid_from: date(from),
            valid_to: date(to),
            units_used: Decimal::ZERO,
            units_remaining: d("10"),
            amount_used: Decimal::ZERO,
            invoices: vec![],
        }
    }

    fn ev(seller: &str, numbers: &[&str], text: &str, span: (&str, &str)) -> Evidence {
        Evidence {
            seller_code: Some(seller.into()),
            numbers: numbers.iter().map(|s| s.to_string()).collect(),
            person_codes: crate::personal_code::find_all(text),
            text: normalize(text),
            span: Some((date(span.0), date(span.1))),
        }
    }

    #[test]
    fn bilingual_messages_split_at_their_final_english_group() {
        let cases = [
            (
                "müüja X (12345678) on suunatud (the seller is referred)",
                ("müüja X (12345678) on suunatud", "the seller is referred"),
            ),
            ("rida 1 (a (b) c)", ("rida 1", "a (b) c")),
            (
                "ainult eesti keeles",
                ("ainult eesti keeles", "ainult eesti keeles"),
            ),
            ("(only a group)", ("(only a group)", "(only a group)")),
        ];
        for (text, (et, en)) in cases {
            assert_eq!(
                split_bilingual(text),
                (et.to_string(), en.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn matching_table() {
        let rs = vec![
            referral(
                1,
                "SUUN-2026-0001",
                "12345678",
                "Tiina Saar",
                "2026-10-01",
                "2026-12-31",
            ),
            referral(
                2,
                "SUUN-2026-0002",
                "12345678",
                "Mart Kask",
                "2026-10-01",
                "2026-12-31",
            ),
            referral(
                3,
                "SUUN-2026-0003",
                "87654321",
                "Tiina Saar",
                "2026-10-01",
                "2026-12-31",
            ),
            referral(
                4,
                "SUUN-2026-0004",
                "12345678",
                "Tiina Saar",
                "2025-01-01",
                "2025-06-30",
            ),
        ];
        let nov = ("2026-11-01", "2026-11-30");
        let cases: Vec<(Evidence, Match)> = vec![
            // The quoted number wins over everything else.
            (
                ev("99999999", &["SUUN-2026-0002"], "", nov),
                Match::Matched {
                    doc_id: 2,
                    method: Method::Number,
                },
            ),
            // Provider + person + period: the 2025 referral is out of the period.
            (
                ev("12345678", &[], "klient tiina  SAAR", nov),
                Match::Matched {
                    doc_id: 1,
                    method: Method::ProviderPersonPeriod,
                },
            ),
            // No person named: both of the provider's referrals are candidates, none guessed.
            (
                ev("12345678", &[], "nõustamine", nov),
                Match::Ambiguous(vec![1, 2]),
            ),
            // An unknown quoted number falls back to the provider, person and period.
            (
                ev("12345678", &["SUUN-2026-0099"], "Mart Kask", nov),
                Match::Matched {
                    doc_id: 2,
                    method: Method::ProviderPersonPeriod,
                },
            ),
            // A provider without referrals.
            (ev("11111111", &[], "Tiina Saar", nov), Match::NotFound),
            // Two numbers quoted: ambiguous.
            (
                ev("12345678", &["SUUN-2026-0001", "SUUN-2026-0002"], "", nov),
                Match::Ambiguous(vec![1, 2]),
            ),
        ];
        for (i, (e, want)) in cases.into_iter().enumerate() {
            assert_eq!(find(&e, &rs), want, "case {i}");
        }
    }

    #[test]
    fn units_over_the_referral_fail_with_the_figures() {
        let r = referral(
            1,
            "SUUN-2026-0001",
            "12345678",
            "Tiina Saar",
            "2026-10-01",
            "2026-12-31",
        );
        let mut inv = crate::invoice::write::sample(crate::invoice::Syntax::Ubl);
        inv.seller.code = Some("12345678".into());
        let q = inv.total_quantity();
        let used = Usage {
            units: d("10") - q + Decimal::ONE,
            amount: Decimal::ZERO,
        };
        let m = Match::Matched {
            doc_id: 1,
            method: Method::Number,
        };
        let checks = run(&inv, &m, Some((&r, used)), &[], None);
        let units = checks.iter().find(|c| c.name == "units").unwrap();
        assert!(!units.ok, "{units:?}");
        assert!(units.reason.contains("ühikuid üle"), "{}", units.reason);
        let used = Usage {
            units: d("10") - q,
            amount: Decimal::ZERO,
        };
        let checks = run(&inv, &m, Some((&r, used)), &[], None);
        assert!(checks.iter().find(|c| c.name == "units").unwrap().ok);
    }
}
