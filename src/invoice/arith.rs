//! Does the invoice add up? The EN 16931 calculation rules on the model (pure).
//!
//! - each line: quantity (BT-129) × unit price (BT-146) = net amount (BT-131),
//!   within 0.01 (EN 16931 rounds amounts to 2 decimals);
//! - BR-CO-10: Σ line net amounts = BT-106;
//! - BR-CO-13: BT-109 = BT-106 − BT-107 + BT-108;
//! - BR-CO-14: BT-110 = Σ breakdown tax amounts (BT-117);
//! - each breakdown row: taxable (BT-116) × rate (BT-119) / 100 = tax (BT-117), within 0.01;
//! - Σ breakdown taxable amounts (BT-116) = BT-109 (the per-category rules
//!   BR-S-08, BR-E-08… summed), when there is a breakdown;
//! - BR-CO-15: BT-112 = BT-109 + BT-110;
//! - BR-CO-16: BT-115 = BT-112 − BT-113 + BT-114.
//!
//! Sums are compared rounded to 2 decimals (so an e-arve's 4-decimal line sums
//! add up to its 2-decimal totals). Each failure is one message, Estonian first
//! and English in parentheses, naming the line or total and both figures.

use rust_decimal::Decimal;

use super::einvoice::EInvoice;

/// The rounding tolerance of a product (a cent).
fn cent() -> Decimal {
    Decimal::new(1, 2)
}

fn r2(d: Decimal) -> Decimal {
    d.round_dp(2)
}

/// Every arithmetic failure of the invoice; empty when it adds up.
pub fn check(inv: &EInvoice) -> Vec<String> {
    let mut out = Vec::new();
    for l in &inv.lines {
        let Some(qp) = l.quantity.checked_mul(l.unit_price) else {
            out.push(format!(
                "rida {id}: kogus × ühikuhind on liiga suur arv (line {id}: quantity × unit price overflows)",
                id = l.id
            ));
            continue;
        };
        if (qp - l.net_amount).abs() > cent() {
            out.push(format!(
                "rida {id}: kogus {q} × ühikuhind {p} = {qp}, aga rea summa on {n} (line {id}: quantity {q} × unit price {p} = {qp}, but the line net amount is {n})",
                id = l.id,
                q = l.quantity,
                p = l.unit_price,
                qp = r2(qp),
                n = l.net_amount
            ));
        }
    }
    let sum_lines: Decimal = inv.lines.iter().map(|l| l.net_amount).sum();
    if r2(sum_lines) != r2(inv.line_total) {
        out.push(format!(
            "ridade summad kokku {s}, aga arve ridade summa on {t} (BR-CO-10: sum of line net amounts {s} ≠ BT-106 sum of invoice line net amounts {t})",
            s = r2(sum_lines),
            t = inv.line_total
        ));
    }
    let te = inv.line_total - inv.allowance_total + inv.charge_total;
    if r2(te) != r2(inv.tax_exclusive) {
        out.push(format!(
            "summa käibemaksuta on {x}, aga ridade summa {lt} − allahindlused {a} + lisatasud {c} = {te} (BR-CO-13: BT-109 total without VAT {x} ≠ BT-106 {lt} − BT-107 {a} + BT-108 {c} = {te})",
            x = inv.tax_exclusive,
            lt = inv.line_total,
            a = inv.allowance_total,
            c = inv.charge_total,
            te = r2(te)
        ));
    }
    let sum_tax: Decimal = inv.vat.iter().map(|v| v.tax).sum();
    if r2(sum_tax) != r2(inv.vat_total) {
        out.push(format!(
            "käibemaks kokku on {vt}, aga käibemaksu jaotuse summa on {s} (BR-CO-14: BT-110 invoice total VAT {vt} ≠ sum of BT-117 VAT category tax amounts {s})",
            vt = inv.vat_total,
            s = r2(sum_tax)
        ));
    }
    for (i, v) in inv.vat.iter().enumerate() {
        let Some(pct) = v.percent else { continue };
        let expected = v.taxable * pct / Decimal::ONE_HUNDRED;
        if (expected - v.tax).abs() > cent() {
            out.push(format!(
                "käibemaksu rida {n} ({pct} %): maksustatav summa {t} × {pct} % = {e}, aga maks on {tax} (VAT breakdown {n}: BT-116 taxable amount {t} × BT-119 rate {pct} % = {e}, but BT-117 tax amount is {tax})",
                n = i + 1,
                t = v.taxable,
                e = r2(expected),
                tax = v.tax
            ));
        }
    }
    if !inv.vat.is_empty() {
        let sum_taxable: Decimal = inv.vat.iter().map(|v| v.taxable).sum();
        if r2(sum_taxable) != r2(inv.tax_exclusive) {
            out.push(format!(
                "käibemaksu jaotuse maksustatavad summad kokku {s}, aga summa käibemaksuta on {x} (sum of BT-116 VAT category taxable amounts {s} ≠ BT-109 total without VAT {x})",
                s = r2(sum_taxable),
                x = inv.tax_exclusive
            ));
        }
    }
    let ti = inv.tax_exclusive + inv.vat_total;
    if r2(ti) != r2(inv.tax_inclusive) {
        out.push(format!(
            "summa käibemaksuga on {x}, aga {te} + käibemaks {vt} = {ti} (BR-CO-15: BT-112 total with VAT {x} ≠ BT-109 {te} + BT-110 {vt} = {ti})",
            x = inv.tax_inclusive,
            te = inv.tax_exclusive,
            vt = inv.vat_total,
            ti = r2(ti)
        ));
    }
    let pay = inv.tax_inclusive - inv.prepaid + inv.rounding;
    if r2(pay) != r2(inv.payable) {
        out.push(format!(
            "tasumisele kuuluv summa on {x}, aga {ti} − ettemaks {pp} + ümardus {r} = {pay} (BR-CO-16: BT-115 amount due {x} ≠ BT-112 {ti} − BT-113 paid {pp} + BT-114 rounding {r} = {pay})",
            x = inv.payable,
            ti = inv.tax_inclusive,
            pp = inv.prepaid,
            r = inv.rounding,
            pay = r2(pay)
        ));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::invoice::einvoice::{InvoiceLine, Syntax, VatBreakdown};
    use crate::invoice::write::sample;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn the_sample_adds_up() {
        assert!(check(&sample(Syntax::Ubl)).is_empty());
    }

    /// (what is changed, the change, a text every failure list must contain)
    #[test]
    fn each_broken_figure_is_named_with_both_figures() {
        type Edit = fn(&mut EInvoice);
        let table: Vec<(&str, Edit, &[&str])> = vec![
            (
                "line quantity",
                |i| i.lines[0].quantity = d("5"),
                &["line 1", "quantity 5 × unit price 60.00 = 300.00", "240.00"],
            ),
            (
                "line price",
                |i| i.lines[0].unit_price = d("59.50"),
                &["line 1", "238.00", "240.00"],
            ),
            (
                "line net",
                |i| i.lines[0].net_amount = d("250.00"),
                &["line 1", "BR-CO-10"],
            ),
            (
                "line total",
                |i| i.line_total = d("200.00"),
                &["BR-CO-10", "BT-106 sum of invoice line net amounts 200.00"],
            ),
            (
                "allowance",
                |i| i.allowance_total = d("10.00"),
                &["BR-CO-13", "BT-107 10.00"],
            ),
            (
                "charge",
                |i| i.charge_total = d("10.00"),
                &["BR-CO-13", "BT-108 10.00"],
            ),
            (
                "tax exclusive",
                |i| i.tax_exclusive = d("241.00"),
                &["BR-CO-13", "241.00"],
            ),
            (
                "vat total",
                |i| i.vat_total = d("1.00"),
                &["BR-CO-14", "BR-CO-15"],
            ),
            (
                "vat row tax",
                |i| i.vat[0].tax = d("5.00"),
                &["VAT breakdown 1", "BR-CO-14"],
            ),
            (
                "vat row rate",
                |i| i.vat[0].percent = Some(d("22")),
                &["VAT breakdown 1", "52.80", "0"],
            ),
            (
                "vat row taxable",
                |i| i.vat[0].taxable = d("100.00"),
                &["BT-116", "100.00"],
            ),
            (
                "tax inclusive",
                |i| i.tax_inclusive = d("250.00"),
                &["BR-CO-15", "BR-CO-16"],
            ),
            (
                "prepaid",
                |i| i.prepaid = d("40.00"),
                &["BR-CO-16", "BT-113 paid 40.00"],
            ),
            (
                "rounding",
                |i| i.rounding = d("0.40"),
                &["BR-CO-16", "BT-114 rounding 0.40"],
            ),
            (
                "payable",
                |i| i.payable = d("200.00"),
                &["BR-CO-16", "200.00", "240.00"],
            ),
        ];
        for (what, edit, expect) in table {
            let mut inv = sample(Syntax::Ubl);
            edit(&mut inv);
            let msgs = check(&inv);
            let all = msgs.join("\n");
            for e in expect {
                assert!(all.contains(e), "{what}: {e:?} not in\n{all}");
            }
            assert!(
                msgs.iter().all(|m| m.contains(" (") && m.ends_with(')')),
                "{what}: Estonian (English): {all}"
            );
        }
    }

    #[test]
    fn a_cent_of_rounding_is_tolerated_in_products() {
        let mut inv = sample(Syntax::Ubl);
        // 3 × 33.333 = 99.999 → 100.00
        inv.lines[0].quantity = d("3");
        inv.lines[0].unit_price = d("33.333");
        inv.lines[0].net_amount = d("100.00");
        for v in [&mut inv.line_total, &mut inv.tax_exclusive] {
            *v = d("100.00");
        }
        inv.vat[0].taxable = d("100.00");
        inv.tax_inclusive = d("100.00");
        inv.payable = d("100.00");
        assert_eq!(check(&inv), Vec::<String>::new());
    }

    prop_compose! {
        fn money(lo: i64, hi: i64)(c in lo..hi) -> Decimal { Decimal::new(c, 2) }
    }

    /// A consistent invoice: 1–5 lines at VAT rates 0, 9, 13, 22 or 24 %,
    /// allowances, charges, prepaid amount and rounding.
    pub(crate) fn consistent() -> impl Strategy<Value = EInvoice> {
        let line = (
            1i64..50,
            money(100, 100_000),
            prop::sample::select(vec![0u32, 9, 13, 22, 24]),
        );
        (
            prop::collection::vec(line, 1..5),
            money(0, 5_000),
            money(0, 5_000),
            money(0, 2_000),
            money(-4, 5),
        )
            .prop_map(|(lines, allowance, charge, prepaid, rounding)| {
                let mut inv = sample(Syntax::Ubl);
                inv.lines = lines
                    .iter()
                    .enumerate()
                    .map(|(i, (q, p, pct))| InvoiceLine {
                        id: (i + 1).to_string(),
                        description: format!("Teenus {}", i + 1),
                        quantity: Decimal::from(*q),
                        unit_code: Some("HUR".into()),
                        unit_price: *p,
                        net_amount: Decimal::from(*q) * *p,
                        vat_percent: Some(Decimal::from(*pct)),
                        period_start: None,
                        period_end: None,
                    })
                    .collect();
                inv.line_total = inv.lines.iter().map(|l| l.net_amount).sum();
                // Allowances and charges at the rate of the first line.
                let allowance = allowance.min(inv.line_total);
                inv.allowance_total = allowance;
                inv.charge_total = charge;
                inv.tax_exclusive = inv.line_total - allowance + charge;
                let mut rates: Vec<Decimal> =
                    inv.lines.iter().filter_map(|l| l.vat_percent).collect();
                rates.sort();
                rates.dedup();
                let first_rate = inv.lines[0].vat_percent.unwrap_or_default();
                inv.vat = rates
                    .into_iter()
                    .map(|pct| {
                        let mut taxable: Decimal = inv
                            .lines
                            .iter()
                            .filter(|l| l.vat_percent == Some(pct))
                            .map(|l| l.net_amount)
                            .sum();
                        if pct == first_rate {
                            taxable = taxable - allowance + charge;
                        }
                        VatBreakdown {
                            category: Some(if pct.is_zero() { "Z" } else { "S" }.into()),
                            percent: Some(pct),
                            taxable,
                            tax: (taxable * pct / Decimal::ONE_HUNDRED).round_dp(2),
                        }
                    })
                    .collect();
                inv.vat_total = inv.vat.iter().map(|v| v.tax).sum();
                inv.tax_inclusive = inv.tax_exclusive + inv.vat_total;
                let prepaid = prepaid.min(inv.tax_inclusive);
                inv.prepaid = prepaid;
                inv.rounding = rounding;
                inv.payable = inv.tax_inclusive - prepaid + rounding;
                inv
            })
    }

    /// A figure to perturb and the text a failure naming it contains.
    fn perturb(inv: &mut EInvoice, which: usize, delta: Decimal) -> String {
        let n_lines = inv.lines.len();
        let n_vat = inv.vat.len();
        let which = which % (3 * n_lines + 2 * n_vat + 9);
        if which < 3 * n_lines {
            let l = &mut inv.lines[which / 3];
            match which % 3 {
                0 => l.quantity += Decimal::ONE,
                1 => l.unit_price += delta,
                _ => l.net_amount += delta,
            }
            return format!("line {}", l.id);
        }
        let which = which - 3 * n_lines;
        if which < 2 * n_vat {
            let v = &mut inv.vat[which / 2];
            return if which.is_multiple_of(2) {
                v.tax += delta;
                format!("VAT breakdown {}", which / 2 + 1)
            } else {
                v.taxable += delta;
                "BT-116".into()
            };
        }
        let (field, name) = match which - 2 * n_vat {
            0 => (&mut inv.line_total, "BT-106"),
            1 => (&mut inv.allowance_total, "BT-107"),
            2 => (&mut inv.charge_total, "BT-108"),
            3 => (&mut inv.tax_exclusive, "BT-109"),
            4 => (&mut inv.vat_total, "BT-110"),
            5 => (&mut inv.tax_inclusive, "BT-112"),
            6 => (&mut inv.prepaid, "BT-113"),
            7 => (&mut inv.rounding, "BT-114"),
            _ => (&mut inv.payable, "BT-115"),
        };
        *field += delta;
        name.into()
    }

    proptest! {
        #[test]
        fn a_consistent_invoice_adds_up(inv in consistent()) {
            prop_assert_eq!(check(&inv), Vec::<String>::new());
        }

        #[test]
        fn perturbing_any_one_figure_is_named(
            inv in consistent(),
            which in 0usize..1000,
            cents in 5i64..100_000,
            negative in any::<bool>(),
        ) {
            let mut inv = inv;
            let delta = Decimal::new(if negative { -cents } else { cents }, 2);
            let name = perturb(&mut inv, which, delta);
            let msgs = check(&inv);
            prop_assert!(
                msgs.iter().any(|m| m.contains(&name)),
                "{} not named in {:?}", name, msgs
            );
        }
    }
}
