//! Tests of reading: detection, bounds, problems, golden files, and
//! `parse(write(x)) == x` for every syntax.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::ToSpan;
use proptest::prelude::*;

use super::*;
use crate::invoice::arith;
use crate::invoice::write::{cii, earve, sample, to_xml, ubl};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The UBL schemas of the issue (`../shared/schemas`), else the repository's copy.
fn ubl_schema_dir() -> PathBuf {
    let shared = repo().join("../shared/schemas");
    if shared.join("ubl-2.1/maindoc/UBL-Invoice-2.1.xsd").is_file() {
        shared
    } else {
        repo().join("schemas")
    }
}

fn xsd_errors(syntax: Syntax, xml: &str, dir: &Path) -> Option<Vec<String>> {
    match crate::invoice::xsd::validate(syntax, xml.as_bytes(), dir, Duration::from_secs(60)) {
        Err(e) if e.contains("xmllint puudub") => {
            crate::testing::missing_service("xmllint", "apt-get install libxml2-utils");
            None
        }
        r => Some(r.unwrap_or_else(|e| panic!("could not validate: {e}"))),
    }
}

// ---------------------------------------------------------------------------
// detect

#[test]
fn detect_names_the_syntax_by_root_element_and_namespace() {
    let ubl_ns = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
    let cii_ns = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100";
    let table: Vec<(String, Option<Syntax>)> = vec![
        (format!("<Invoice xmlns=\"{ubl_ns}\"/>"), Some(Syntax::Ubl)),
        (
            format!("\u{FEFF}<?xml version=\"1.0\"?>\n<!-- arve -->\n<?pi x?>\n<ubl:Invoice xmlns:cbc='x' xmlns:ubl='{ubl_ns}'>"),
            Some(Syntax::Ubl),
        ),
        (
            format!("<rsm:CrossIndustryInvoice xmlns:rsm=\"{cii_ns}\" xmlns:ram=\"y\">"),
            Some(Syntax::Cii),
        ),
        ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><E_Invoice>".into(), Some(Syntax::EArve)),
        (
            "<!DOCTYPE E_Invoice [<!ENTITY a \"b\">]>\n<E_Invoice xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">".into(),
            Some(Syntax::EArve),
        ),
        // Wrong namespace, no namespace, another document, an undeclared prefix.
        ("<Invoice xmlns=\"urn:other\"/>".into(), None),
        ("<Invoice/>".into(), None),
        (format!("<CreditNote xmlns=\"{ubl_ns}\"/>"), None),
        (format!("<E_Invoice xmlns=\"{ubl_ns}\"/>"), None),
        ("<x:Invoice/>".into(), None),
        // Not XML, empty, truncated.
        ("%PDF-1.7".into(), None),
        ("".into(), None),
        ("<!-- never closed".into(), None),
        (format!("<Invoice xmlns=\"{ubl_ns}"), None),
    ];
    for (input, expected) in table {
        assert_eq!(detect(input.as_bytes()), expected, "{input:?}");
    }
    for s in [Syntax::Ubl, Syntax::Cii, Syntax::EArve] {
        assert_eq!(detect(to_xml(&sample(s)).as_bytes()), Some(s));
    }
}

#[test]
fn detect_looks_only_at_the_first_64_kib() {
    let comment = format!("<!--{}-->", "x".repeat(70 * 1024));
    let xml = format!("{comment}<E_Invoice/>");
    assert_eq!(detect(xml.as_bytes()), None);
    let xml = format!("<!--{}--><E_Invoice/>", "x".repeat(1024));
    assert_eq!(detect(xml.as_bytes()), Some(Syntax::EArve));
}

// ---------------------------------------------------------------------------
// bounds and errors

#[test]
fn what_is_not_an_invoice_is_an_error() {
    for (input, expect) in [
        (&b"%PDF-1.7 ..."[..], "not well-formed XML"),
        (b"<a><b></a>", "not well-formed XML"),
        (b"<Invoice/>", "unknown root element"),
        (
            b"<!DOCTYPE E_Invoice [<!ENTITY x \"y\">]><E_Invoice>&x;</E_Invoice>",
            "not well-formed XML",
        ),
        (b"\xff\xfe\x00<", "not"),
    ] {
        let e = parse(input).unwrap_err();
        assert!(e.contains(expect), "{input:?}: {e}");
        assert!(e.contains(" ("), "Estonian (English): {e}");
    }
}

#[test]
fn huge_long_and_deep_input_is_refused() {
    let huge = vec![b' '; MAX_BYTES + 1];
    assert!(parse(&huge).unwrap_err().contains("file too large"));
    let long = format!("<E_Invoice>{}</E_Invoice>", "\n".repeat(MAX_LINES + 1));
    assert!(parse(long.as_bytes())
        .unwrap_err()
        .contains("too many lines"));
    let deep = format!(
        "<E_Invoice>{}{}</E_Invoice>",
        "<a>".repeat(10_000),
        "</a>".repeat(10_000)
    );
    assert!(parse(deep.as_bytes())
        .unwrap_err()
        .contains("nested too deeply"));
    let ok = format!(
        "<E_Invoice>{}{}</E_Invoice>",
        "<a>".repeat(20),
        "</a>".repeat(20)
    );
    assert!(parse(ok.as_bytes()).is_ok());
}

#[test]
fn a_latin_1_e_arve_is_read_by_its_declared_encoding() {
    let mut xml = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><E_Invoice><Invoice><InvoiceParties><SellerParty><Name>P\xe4ikese O\xdc</Name></SellerParty></InvoiceParties></Invoice></E_Invoice>".to_vec();
    let p = parse(&xml).unwrap();
    assert_eq!(p.invoice.seller.name, "Päikese OÜ");
    xml.truncate(20);
    assert!(parse(&xml).is_err());
}

#[test]
fn missing_mandatory_fields_are_problems_and_the_invoice_is_still_read() {
    let ns = "xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\" xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\"";
    let p = parse(format!("<Invoice {ns}><cbc:IssueDate>1.12.2026</cbc:IssueDate><cbc:BuyerReference>SK-1</cbc:BuyerReference></Invoice>").as_bytes()).unwrap();
    assert_eq!(p.invoice.buyer_reference.as_deref(), Some("SK-1"));
    assert_eq!(p.invoice.issue_date, jiff::civil::date(1970, 1, 1));
    let all = p.problems.join("\n");
    for expect in [
        "arve number puudub (cbc:ID) (invoice number missing)",
        "arve kuupäev ei ole loetav kuupäev: \"1.12.2026\" (cbc:IssueDate) (issue date is not a valid date)",
        "valuuta puudub (cbc:DocumentCurrencyCode) (currency missing)",
        "müüja nimi puudub",
        "(seller name missing)",
        "(cac:LegalMonetaryTotal/cbc:PayableAmount) (amount due for payment missing)",
    ] {
        assert!(all.contains(expect), "{expect:?} not in\n{all}");
    }
    for s in [Syntax::Cii, Syntax::EArve] {
        let empty = match s {
            Syntax::Cii => format!("<rsm:CrossIndustryInvoice xmlns:rsm=\"{CII_NS}\"/>"),
            _ => "<E_Invoice><Invoice/></E_Invoice>".into(),
        };
        let p = parse(empty.as_bytes()).unwrap();
        let all = p.problems.join("\n");
        for expect in [
            "(invoice number missing)",
            "(issue date missing)",
            "(currency missing)",
            "(seller name missing)",
            "(total with VAT missing)",
        ] {
            assert!(all.contains(expect), "{s:?}: {expect:?} not in\n{all}");
        }
    }
}

#[test]
fn an_e_arve_with_two_invoices_reads_the_first_and_says_so() {
    let one = earve(&sample(Syntax::EArve));
    let start = one.find("<Invoice ").unwrap();
    let end = one.find("</Invoice>").unwrap() + "</Invoice>".len();
    let two = format!("{}{}{}", &one[..end], &one[start..end], &one[end..]);
    let p = parse(two.as_bytes()).unwrap();
    assert_eq!(p.invoice, sample(Syntax::EArve));
    assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
    assert!(p.problems[0].contains("2 invoices"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parse_and_detect_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = detect(&bytes);
        let _ = parse(&bytes);
    }

    #[test]
    fn parse_never_panics_on_a_damaged_invoice(
        syntax in prop::sample::select(vec![Syntax::Ubl, Syntax::Cii, Syntax::EArve]),
        cuts in prop::collection::vec((any::<prop::sample::Index>(), 0usize..40, "[<>/a-z0-9 .,&;-]{0,6}"), 1..4),
    ) {
        let mut xml = to_xml(&sample(syntax)).into_bytes();
        for (at, len, insert) in cuts {
            let at = at.index(xml.len());
            let end = (at + len).min(xml.len());
            xml.splice(at..end, insert.bytes());
        }
        if let Ok(p) = parse(&xml) {
            prop_assert!(p.problems.iter().all(|m| m.contains(" (")));
        }
        let _ = detect(&xml);
    }
}

// ---------------------------------------------------------------------------
// golden files

#[test]
fn golden_invoices_read_as_expected() {
    let dir = repo().join("fixtures/invoices");
    let bless = std::env::var_os("DOCGATE_BLESS").is_some_and(|v| v == "1");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    names.sort();
    let mut seen = std::collections::BTreeSet::new();
    for path in names {
        let bytes = std::fs::read(&path).unwrap();
        let parsed = parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let prefix = match parsed.invoice.syntax {
            Syntax::Ubl => "ubl-",
            Syntax::Cii => "cii-",
            Syntax::EArve => "e-arve-",
        };
        assert!(
            name.starts_with(prefix),
            "{name} is {:?}",
            parsed.invoice.syntax
        );
        assert_eq!(detect(&bytes), Some(parsed.invoice.syntax), "{name}");
        seen.insert(prefix);
        let json = serde_json::to_string_pretty(&parsed).unwrap() + "\n";
        let expected_path = path.with_extension("expected.json");
        if bless {
            std::fs::write(&expected_path, &json).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
            panic!(
                "{} is missing: run with DOCGATE_BLESS=1",
                expected_path.display()
            )
        });
        assert_eq!(
            json,
            expected,
            "{name} reads differently from {}; if that is right, run with DOCGATE_BLESS=1",
            expected_path.display()
        );
        // The sound samples have no problems and add up.
        if !name.contains("problems") {
            assert_eq!(parsed.problems, Vec::<String>::new(), "{name}");
            assert_eq!(
                arith::check(&parsed.invoice),
                Vec::<String>::new(),
                "{name}"
            );
        }
    }
    assert_eq!(seen.len(), 3, "a sample per syntax: {seen:?}");
}

#[test]
fn golden_ubl_and_cii_invoices_are_schema_valid() {
    let dir = repo().join("fixtures/invoices");
    for (name, syntax) in [
        ("ubl-hingeabi-2026-118.xml", Syntax::Ubl),
        ("cii-teraapia-2026-07.xml", Syntax::Cii),
    ] {
        let xml = std::fs::read_to_string(dir.join(name)).unwrap();
        if let Some(errors) = xsd_errors(syntax, &xml, &repo().join("schemas")) {
            assert_eq!(errors, Vec::<String>::new(), "{name}");
        }
    }
}

#[test]
fn the_golden_e_arve_samples_read_what_they_say() {
    let p =
        parse(&std::fs::read(repo().join("fixtures/invoices/e-arve-koolitus-km22.xml")).unwrap())
            .unwrap();
    let inv = p.invoice;
    assert_eq!(inv.lines.len(), 2);
    assert_eq!(
        inv.lines[1].id, "2",
        "a row without RowNo is numbered by position"
    );
    assert_eq!(inv.lines[0].vat_percent, Some(Decimal::from(22)));
    assert_eq!(inv.vat_total, Decimal::new(7161, 2));
    assert_eq!(inv.seller.vat_id.as_deref(), Some("EE101234567"));
    let p = parse(
        &std::fs::read(repo().join("fixtures/invoices/e-arve-turvakodu-2026-31.xml")).unwrap(),
    )
    .unwrap();
    assert_eq!(p.invoice.seller.name, "Õnneliku Päikese Turvakodu MTÜ");
    assert_eq!(p.invoice.buyer_reference.as_deref(), Some("SK-2026-0047"));
    assert_eq!(p.invoice.lines[0].unit_code.as_deref(), Some("ööpäev"));
    assert!(
        p.invoice
            .notes
            .iter()
            .any(|n| n.contains("suunamine SK-2026-0047")),
        "payment description kept: {:?}",
        p.invoice.notes
    );
}

// ---------------------------------------------------------------------------
// parse(write(x)) == x

/// A trimmed, non-empty text with Estonian letters and markup characters.
fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9ÕÄÖÜõäöüŠšŽž&<>\"' ./–-]{0,24}".prop_map(|s| {
        let t = s.trim().to_string();
        if t.is_empty() {
            "Õ".into()
        } else {
            t
        }
    })
}

fn date() -> impl Strategy<Value = jiff::civil::Date> {
    (0i64..3650).prop_map(|d| jiff::civil::date(2020, 1, 1).checked_add(d.days()).unwrap())
}

fn party() -> impl Strategy<Value = TradeParty> {
    (
        text(),
        prop::option::of("[0-9]{8}"),
        prop::option::of("EE[0-9]{9}"),
    )
        .prop_map(|(name, code, vat_id)| TradeParty { name, code, vat_id })
}

/// Arbitrary consistent invoices (amounts from [`arith::tests::consistent`])
/// with arbitrary texts, parties, references, notes and dates.
fn invoice(syntax: Syntax) -> impl Strategy<Value = EInvoice> {
    let texts = (
        text(),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::collection::vec(text(), 0..3),
        prop::sample::select(vec!["EUR", "USD", "SEK"]),
    );
    let dates = (
        date(),
        prop::option::of(date()),
        prop::option::of(date()),
        prop::option::of(date()),
    );
    let lines = prop::collection::vec(
        (
            text(),
            prop::option::of("[A-Z0-9]{1,3}"),
            prop::option::of(date()),
            prop::option::of(date()),
            any::<bool>(),
        ),
        5,
    );
    (
        arith::tests::consistent(),
        texts,
        dates,
        party(),
        party(),
        lines,
    )
        .prop_map(
            move |(
                mut inv,
                (number, br, or, notes, cur),
                (issue, due, ps, pe),
                seller,
                buyer,
                lines,
            )| {
                inv.syntax = syntax;
                inv.number = number;
                inv.buyer_reference = br;
                inv.order_reference = or;
                inv.notes = notes;
                inv.currency = cur.into();
                inv.issue_date = issue;
                inv.due_date = due;
                inv.period_start = ps;
                inv.period_end = pe;
                inv.seller = seller;
                inv.buyer = buyer;
                for (l, (desc, unit, s, e, no_vat)) in inv.lines.iter_mut().zip(lines) {
                    l.description = desc;
                    l.unit_code = unit;
                    l.period_start = s;
                    l.period_end = e;
                    if no_vat {
                        l.vat_percent = None;
                    }
                }
                inv
            },
        )
}

/// What an e-arve keeps of an invoice (see the `write` module).
fn earve_view(mut inv: EInvoice) -> EInvoice {
    inv.order_reference = None;
    inv.allowance_total = Decimal::ZERO;
    inv.charge_total = Decimal::ZERO;
    for v in &mut inv.vat {
        v.category = None;
    }
    for l in &mut inv.lines {
        l.period_start = None;
        l.period_end = None;
    }
    inv
}

#[test]
fn the_samples_read_back_as_themselves() {
    for s in [Syntax::Ubl, Syntax::Cii, Syntax::EArve] {
        let inv = sample(s);
        let p = parse(to_xml(&inv).as_bytes()).unwrap();
        assert_eq!(p.problems, Vec::<String>::new(), "{s:?}");
        assert_eq!(p.invoice, inv, "{s:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn ubl_reads_back_what_was_written(inv in invoice(Syntax::Ubl)) {
        let p = parse(ubl(&inv).as_bytes()).unwrap();
        prop_assert_eq!(p.problems, Vec::<String>::new());
        prop_assert_eq!(p.invoice, inv);
    }

    #[test]
    fn cii_reads_back_what_was_written(inv in invoice(Syntax::Cii)) {
        let p = parse(cii(&inv).as_bytes()).unwrap();
        prop_assert_eq!(p.problems, Vec::<String>::new());
        prop_assert_eq!(p.invoice, inv);
    }

    #[test]
    fn e_arve_reads_back_what_it_can_carry(inv in invoice(Syntax::EArve)) {
        let p = parse(earve(&inv).as_bytes()).unwrap();
        prop_assert_eq!(p.problems, Vec::<String>::new());
        prop_assert!(arith::check(&p.invoice).is_empty() || !inv.allowance_total.is_zero() || !inv.charge_total.is_zero());
        prop_assert_eq!(p.invoice, earve_view(inv));
    }
}

proptest! {
    // xmllint takes a while per document: a few cases.
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    #[test]
    fn written_ubl_and_cii_are_schema_valid(inv in invoice(Syntax::Ubl)) {
        if let Some(errors) = xsd_errors(Syntax::Ubl, &ubl(&inv), &ubl_schema_dir()) {
            prop_assert_eq!(errors, Vec::<String>::new());
        }
        if let Some(errors) = xsd_errors(Syntax::Cii, &cii(&inv), &repo().join("schemas")) {
            prop_assert_eq!(errors, Vec::<String>::new());
        }
    }
}

#[test]
fn the_sample_ubl_validates_against_the_shared_schemas() {
    if let Some(errors) = xsd_errors(Syntax::Ubl, &ubl(&sample(Syntax::Ubl)), &ubl_schema_dir()) {
        assert_eq!(errors, Vec::<String>::new());
    }
}
