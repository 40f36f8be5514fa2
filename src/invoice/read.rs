//! Recognizing and reading an e-invoice (pure: bytes in, [`EInvoice`] out).
//!
//! [`detect`] names the syntax from the root element alone (the first 64 KiB,
//! past a BOM, the XML declaration, comments, processing instructions and a
//! DOCTYPE). [`parse`] reads the whole invoice with `roxmltree` (no DTD, a node
//! limit, at most 16 MiB, 10,000 lines and 64 levels of nesting). It fails only
//! when the bytes cannot be read as an invoice at all (not XML, an unknown
//! root); a missing or unreadable mandatory field is a *problem* (Estonian
//! first, English in parentheses, naming the element) and the invoice is still
//! returned with a default in its place (an empty text, 1970-01-01, zero), so
//! the clerk sees what could be read.
//!
//! # Mapping (EN 16931 business terms)
//!
//! | field | BT | UBL 2.1 `Invoice` | CII D16B `CrossIndustryInvoice` | e-arve 1.2 `E_Invoice/Invoice` |
//! |---|---|---|---|---|
//! | number | BT-1 | `cbc:ID` | `rsm:ExchangedDocument/ram:ID` | `InvoiceInformation/InvoiceNumber` |
//! | issue_date | BT-2 | `cbc:IssueDate` | `…/ram:IssueDateTime/udt:DateTimeString` (format 102) | `InvoiceInformation/InvoiceDate` |
//! | due_date | BT-9 | `cbc:DueDate`, else `cac:PaymentMeans/cbc:PaymentDueDate` | `…Settlement/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime` | `InvoiceInformation/DueDate`, else `PaymentInfo/PayDueDate` |
//! | currency | BT-5 | `cbc:DocumentCurrencyCode` | `…Settlement/ram:InvoiceCurrencyCode` | `InvoiceSumGroup/Currency`, else `PaymentInfo/Currency` |
//! | buyer_reference | BT-10 | `cbc:BuyerReference` | `…Agreement/ram:BuyerReference` | `InvoiceInformation/ContractNumber` (e-arve has no BT-10; the contract number is where a buyer's reference is quoted) |
//! | order_reference | BT-13 | `cac:OrderReference/cbc:ID` | `…Agreement/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID` | `PurchaseOrderRef` of the e-arve EN 16931 extension, anywhere under `Invoice` (read only, not written) |
//! | period_start/end | BG-14 | `cac:InvoicePeriod/cbc:StartDate`, `cbc:EndDate` | `…Settlement/ram:BillingSpecifiedPeriod/ram:StartDateTime`, `ram:EndDateTime` | `InvoiceInformation/Period/StartDate`, `EndDate` (also `PeriodStartDate`, `PeriodEndDate`) |
//! | notes | BT-22 | `cbc:Note` | `rsm:ExchangedDocument/ram:IncludedNote/ram:Content` | `InvoiceInformation/InvoiceContentText`, `InvoiceInformation/Extension/InformationContent`, `AdditionalInformation/InformationContent`, and `PaymentInfo/PaymentDescription` when it is more than the invoice number |
//! | seller.name | BT-27 | `cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName`, else `cac:PartyName/cbc:Name` | `…Agreement/ram:SellerTradeParty/ram:Name` | `InvoiceParties/SellerParty/Name` |
//! | seller.code | BT-30 | `…/cac:PartyLegalEntity/cbc:CompanyID` | `…/ram:SpecifiedLegalOrganization/ram:ID` | `…/SellerParty/RegNumber` |
//! | seller.vat_id | BT-31 | `…/cac:PartyTaxScheme/cbc:CompanyID` | `…/ram:SpecifiedTaxRegistration/ram:ID` (schemeID VA first) | `…/SellerParty/VATRegNumber` |
//! | buyer.* | BT-44, BT-47, BT-48 | `cac:AccountingCustomerParty/cac:Party/…` as the seller | `ram:BuyerTradeParty/…` | `InvoiceParties/BuyerParty/…` |
//! | lines[].id | BT-126 | `cac:InvoiceLine/cbc:ID` | `ram:AssociatedDocumentLineDocument/ram:LineID` | `ItemEntry/RowNo`, else its position (1, 2, …) |
//! | lines[].description | BT-153, BT-154 | `cac:Item/cbc:Name` and `cbc:Description`, joined with " – " | `ram:SpecifiedTradeProduct/ram:Name` and `ram:Description` | `ItemEntry/Description` |
//! | lines[].quantity, unit_code | BT-129, BT-130 | `cbc:InvoicedQuantity`, its `@unitCode` | `ram:SpecifiedLineTradeDelivery/ram:BilledQuantity`, `@unitCode` | `ItemDetailInfo/ItemAmount`, `ItemUnit` (free text); without `ItemDetailInfo` 1 × `ItemSum` |
//! | lines[].unit_price | BT-146 | `cac:Price/cbc:PriceAmount` ÷ `cac:Price/cbc:BaseQuantity` | `ram:NetPriceProductTradePrice/ram:ChargeAmount` ÷ `ram:BasisQuantity` | `ItemDetailInfo/ItemPrice` |
//! | lines[].net_amount | BT-131 | `cbc:LineExtensionAmount` | `ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount` | `ItemSum` (else quantity × price) |
//! | lines[].vat_percent | BT-152 | `cac:Item/cac:ClassifiedTaxCategory/cbc:Percent` | `ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:RateApplicablePercent` | `ItemEntry/VAT/VATRate` |
//! | lines[].period_* | BG-26 | `cac:InvoiceLine/cac:InvoicePeriod` | `ram:SpecifiedLineTradeSettlement/ram:BillingSpecifiedPeriod` | — (e-arve has no line period) |
//! | vat[] | BG-23 | `cac:TaxTotal/cac:TaxSubtotal` (`cbc:TaxableAmount`, `cbc:TaxAmount`, `cac:TaxCategory/cbc:ID`, `cbc:Percent`) | `…Settlement/ram:ApplicableTradeTax` (`ram:BasisAmount`, `ram:CalculatedAmount`, `ram:CategoryCode`, `ram:RateApplicablePercent`) | `InvoiceSumGroup/VAT` (`SumBeforeVAT`, `VATSum`, `VATRate`; no category) |
//! | line_total | BT-106 | `cac:LegalMonetaryTotal/cbc:LineExtensionAmount` | `…/ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:LineTotalAmount` | `InvoiceSumGroup/InvoiceSum` (else the sum of the lines) |
//! | allowance_total, charge_total | BT-107, BT-108 | `cbc:AllowanceTotalAmount`, `cbc:ChargeTotalAmount` | `ram:AllowanceTotalAmount`, `ram:ChargeTotalAmount` | — (zero) |
//! | tax_exclusive | BT-109 | `cbc:TaxExclusiveAmount` | `ram:TaxBasisTotalAmount` | `TotalSum − TotalVATSum` |
//! | vat_total | BT-110 | `cac:TaxTotal/cbc:TaxAmount` (in the invoice currency) | `ram:TaxTotalAmount` (in the invoice currency) | `TotalVATSum` (else the sum of `VAT/VATSum`) |
//! | tax_inclusive | BT-112 | `cbc:TaxInclusiveAmount` | `ram:GrandTotalAmount` | `TotalSum` |
//! | prepaid | BT-113 | `cbc:PrepaidAmount` | `ram:TotalPrepaidAmount` | `TotalSum + Rounding − TotalToPay` |
//! | rounding | BT-114 | `cbc:PayableRoundingAmount` | `ram:RoundingAmount` | `InvoiceSumGroup/Rounding` |
//! | payable | BT-115 | `cbc:PayableAmount` | `ram:DuePayableAmount` | `TotalToPay` (else `TotalSum + Rounding`) |
//!
//! The e-arve 1.2 structure follows the Pangaliit schema `e-invoice_ver1.2.xsd`
//! (EVS 923:2014) as its published element names and order show:
//! `E_Invoice(Header, Invoice+, Footer)`, `Invoice(InvoiceParties,
//! InvoiceInformation, InvoiceSumGroup{1,2}, InvoiceItem, AdditionalInformation*,
//! AttachmentFile?, PaymentInfo)`. Only the first `Invoice` of a file is read (a
//! problem says so when there are more), and only the first `InvoiceSumGroup`.
//! `PaymentInfo/PaymentId` (the payment reference number, viitenumber) has no
//! field in the model and is not read.

use std::str::FromStr;

use jiff::civil::Date;
use roxmltree::{Document, Node, ParsingOptions};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::einvoice::{EInvoice, InvoiceLine, Syntax, TradeParty, VatBreakdown};

/// UBL 2.1 `Invoice` document namespace.
pub const UBL_NS: &str = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2";
/// UBL common basic components (`cbc:`).
pub const CBC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";
/// UBL common aggregate components (`cac:`).
pub const CAC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
/// CII D16B root namespace (`rsm:`).
pub const CII_NS: &str = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100";
/// CII reusable aggregate business information entities (`ram:`).
pub const RAM: &str =
    "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100";
/// CII unqualified data types (`udt:`).
pub const UDT: &str = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100";
/// CII qualified data types (`qdt:`).
pub const QDT: &str = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100";
/// e-arve has no namespace.
const NONE: &str = "";

/// The largest invoice [`parse`] reads.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;
/// The most lines an invoice may have.
pub const MAX_LINES: usize = 10_000;
/// The deepest element nesting an invoice may have (real ones need about 10).
pub const MAX_DEPTH: usize = 64;
/// roxmltree's node limit (elements, attributes, texts).
const MAX_NODES: u32 = 1_000_000;
/// How much of the file [`detect`] looks at.
const DETECT_WINDOW: usize = 64 * 1024;

/// An invoice as read, with what was missing or unreadable in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parsed {
    pub invoice: EInvoice,
    /// Each problem in Estonian, English in parentheses, naming the element.
    pub problems: Vec<String>,
    /// Every text value of the file, one a line, without the markup (at most
    /// 1 MB): what search and personal-data detection read of an e-invoice.
    #[serde(skip)]
    pub values: String,
}

/// The syntax of an e-invoice by its root element's local name and namespace,
/// looking only at the first 64 KiB; None when it is not one docgate reads.
pub fn detect(bytes: &[u8]) -> Option<Syntax> {
    let window = &bytes[..bytes.len().min(DETECT_WINDOW)];
    let window = window.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(window);
    let (local, ns) = root_start_tag(window)?;
    classify(&local, ns.as_deref())
}

fn classify(local: &str, ns: Option<&str>) -> Option<Syntax> {
    match (local, ns.unwrap_or("")) {
        ("Invoice", UBL_NS) => Some(Syntax::Ubl),
        ("CrossIndustryInvoice", CII_NS) => Some(Syntax::Cii),
        ("E_Invoice", "") => Some(Syntax::EArve),
        _ => None,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The root element's local name and namespace, read from its start tag.
fn root_start_tag(b: &[u8]) -> Option<(String, Option<String>)> {
    let mut i = 0;
    loop {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        let rest = b.get(i..)?;
        if rest.starts_with(b"<?") {
            i += find(rest, b"?>")? + 2;
        } else if rest.starts_with(b"<!--") {
            i += find(rest, b"-->")? + 3;
        } else if rest.starts_with(b"<!") {
            // A DOCTYPE, possibly with an internal subset in brackets.
            let mut depth = 0usize;
            let mut j = 2;
            loop {
                match *rest.get(j)? {
                    b'[' => depth += 1,
                    b']' => depth = depth.saturating_sub(1),
                    b'>' if depth == 0 => break,
                    _ => {}
                }
                j += 1;
            }
            i += j + 1;
        } else if rest.starts_with(b"<") {
            break;
        } else {
            return None;
        }
    }
    let tag = b.get(i + 1..)?;
    let is_delim = |c: u8| c.is_ascii_whitespace() || c == b'>' || c == b'/';
    let name_end = tag.iter().position(|&c| is_delim(c))?;
    let qname = std::str::from_utf8(&tag[..name_end]).ok()?;
    if qname.is_empty() {
        return None;
    }
    let (prefix, local) = match qname.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, qname),
    };
    let wanted = match prefix {
        Some(p) => format!("xmlns:{p}"),
        None => "xmlns".to_string(),
    };
    let mut k = name_end;
    let mut ns = None;
    loop {
        while tag.get(k).is_some_and(|c| c.is_ascii_whitespace()) {
            k += 1;
        }
        match *tag.get(k)? {
            b'>' | b'/' => break,
            _ => {}
        }
        let name_start = k;
        while tag
            .get(k)
            .is_some_and(|&c| c != b'=' && !c.is_ascii_whitespace() && c != b'>')
        {
            k += 1;
        }
        let attr = std::str::from_utf8(&tag[name_start..k]).ok()?;
        while tag.get(k).is_some_and(|c| c.is_ascii_whitespace()) {
            k += 1;
        }
        if *tag.get(k)? != b'=' {
            return None;
        }
        k += 1;
        while tag.get(k).is_some_and(|c| c.is_ascii_whitespace()) {
            k += 1;
        }
        let quote = *tag.get(k)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        k += 1;
        let len = tag.get(k..)?.iter().position(|&c| c == quote)?;
        let value = std::str::from_utf8(&tag[k..k + len]).ok()?;
        k += len + 1;
        if attr == wanted {
            ns = Some(value.to_string());
        }
    }
    // A prefix must be declared; an undeclared default namespace is none.
    if prefix.is_some() && ns.is_none() {
        return None;
    }
    Some((local.to_string(), ns.filter(|s| !s.is_empty())))
}

/// Reads an e-invoice. Err (Estonian, English in parentheses) only when it
/// cannot be read as an invoice at all; what is missing or unreadable in a
/// readable invoice is in [`Parsed::problems`].
pub fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "fail on liiga suur: {} baiti, lubatud kuni {MAX_BYTES} (file too large: {} bytes, at most {MAX_BYTES})",
            bytes.len(),
            bytes.len()
        ));
    }
    let lines = bytes.iter().filter(|&&c| c == b'\n').count() + 1;
    if lines > MAX_LINES {
        return Err(format!(
            "failis on liiga palju ridu: {lines}, lubatud kuni {MAX_LINES} (too many lines: {lines}, at most {MAX_LINES})"
        ));
    }
    let text = decode(bytes)?;
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(&text, opts)
        .map_err(|e| format!("fail ei ole korrektne XML: {e} (not well-formed XML: {e})"))?;
    let root = doc.root_element();
    check_depth(root)?;
    let tag = root.tag_name();
    let syntax = classify(tag.name(), tag.namespace()).ok_or_else(|| {
        let ns = tag.namespace().unwrap_or("");
        format!(
            "tundmatu juurelement {{{ns}}}{} — ei ole UBL 2.1, CII D16B ega e-arve 1.2 arve (unknown root element {{{ns}}}{}: not a UBL 2.1, CII D16B or e-arve 1.2 invoice)",
            tag.name(),
            tag.name()
        )
    })?;
    let mut r = Reader::default();
    let invoice = match syntax {
        Syntax::Ubl => r.ubl(root),
        Syntax::Cii => r.cii(root),
        Syntax::EArve => r.earve(root),
    };
    let mut values = String::new();
    for t in root.descendants().filter_map(|n| n.text()) {
        let t = t.trim();
        if t.is_empty() || values.len() + t.len() > 1 << 20 {
            continue;
        }
        values.push_str(t);
        values.push('\n');
    }
    Ok(Parsed {
        invoice,
        problems: r.problems,
        values,
    })
}

/// UTF-8 (with or without BOM), else the encoding of a UTF-16 BOM or of the
/// XML declaration.
fn decode(bytes: &[u8]) -> Result<String, String> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(body) {
        return Ok(s.to_string());
    }
    let encoding = encoding_rs::Encoding::for_bom(bytes)
        .map(|(e, _)| e)
        .or_else(|| declared_encoding(bytes).and_then(encoding_rs::Encoding::for_label))
        .ok_or_else(|| {
            "fail ei ole UTF-8 ega nimeta oma kodeeringut (not UTF-8 and no encoding declared)"
                .to_string()
        })?;
    let (text, _, had_errors) = encoding.decode(bytes);
    if had_errors {
        return Err(format!(
            "fail ei ole loetav kodeeringus {} (not readable as {})",
            encoding.name(),
            encoding.name()
        ));
    }
    Ok(text.into_owned())
}

fn declared_encoding(bytes: &[u8]) -> Option<&[u8]> {
    let head = &bytes[..bytes.len().min(200)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = find(head, b"?>")?;
    let decl = &head[..end];
    let at = find(decl, b"encoding")? + b"encoding".len();
    let rest = &decl[at..];
    let q = rest.iter().position(|&c| c == b'"' || c == b'\'')?;
    let quote = rest[q];
    let value = &rest[q + 1..];
    let len = value.iter().position(|&c| c == quote)?;
    Some(&value[..len])
}

fn check_depth(root: Node) -> Result<(), String> {
    let mut stack = vec![(root, 1usize)];
    while let Some((n, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(format!(
                "XML on liiga sügavalt pesastatud (üle {MAX_DEPTH} taseme) (XML nested too deeply: over {MAX_DEPTH} levels)"
            ));
        }
        stack.extend(
            n.children()
                .filter(Node::is_element)
                .map(|c| (c, depth + 1)),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Tree helpers.

fn kids<'a, 'i>(
    n: Node<'a, 'i>,
    ns: &'static str,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(move |c| {
        c.is_element()
            && c.tag_name().name() == name
            && c.tag_name().namespace().unwrap_or("") == ns
    })
}

fn kid<'a, 'i>(n: Node<'a, 'i>, ns: &'static str, name: &'static str) -> Option<Node<'a, 'i>> {
    kids(n, ns, name).next()
}

/// The element at a path of (namespace, local name) steps, the first at each step.
fn at<'a, 'i>(n: Node<'a, 'i>, path: &[(&'static str, &'static str)]) -> Option<Node<'a, 'i>> {
    path.iter()
        .try_fold(n, |cur, (ns, name)| kid(cur, ns, name))
}

/// An element's text (all its text descendants), trimmed.
fn text(n: Node) -> String {
    let s: String = n
        .descendants()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect();
    s.trim().to_string()
}

fn opt_text(n: Option<Node>) -> Option<String> {
    n.map(text).filter(|s| !s.is_empty())
}

/// A value quoted in a problem, at most 40 characters.
fn quote(s: &str) -> String {
    let mut q: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        q.push('…');
    }
    q
}

fn parse_decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    if s.is_empty() || s.contains(['e', 'E', '_']) {
        return None;
    }
    Decimal::from_str(s).ok()
}

/// An xs:date (`2026-12-01`, optionally with a time zone).
fn parse_iso_date(s: &str) -> Option<Date> {
    let (day, tz) = (s.get(..10)?, s.get(10..)?);
    if !(tz.is_empty() || tz.starts_with(['Z', '+', '-'])) {
        return None;
    }
    Date::from_str(day).ok()
}

/// A UN/CEFACT date of format 102 (`20261201`).
fn parse_102(s: &str) -> Option<Date> {
    if s.len() != 8 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let y: i16 = s[..4].parse().ok()?;
    let m: i8 = s[4..6].parse().ok()?;
    let d: i8 = s[6..8].parse().ok()?;
    Date::new(y, m, d).ok()
}

/// The placeholder issue date of an invoice without a readable one.
fn no_date() -> Date {
    jiff::civil::date(1970, 1, 1)
}

#[derive(Default)]
struct Reader {
    problems: Vec<String>,
}

/// How a field is named in a problem: its element and its name in Estonian and English.
#[derive(Clone, Copy)]
struct Field<'s> {
    elem: &'s str,
    et: &'s str,
    en: &'s str,
}

fn f<'s>(elem: &'s str, et: &'s str, en: &'s str) -> Field<'s> {
    Field { elem, et, en }
}

impl Reader {
    fn problem(&mut self, p: String) {
        self.problems.push(p);
    }

    fn missing(&mut self, fl: Field) {
        self.problem(format!(
            "{} puudub ({}) ({} missing)",
            fl.et, fl.elem, fl.en
        ));
    }

    fn required_text(&mut self, n: Option<Node>, fl: Field) -> String {
        opt_text(n).unwrap_or_else(|| {
            self.missing(fl);
            String::new()
        })
    }

    fn date_with(
        &mut self,
        n: Option<Node>,
        fl: Field,
        required: bool,
        parse: fn(&str) -> Option<Date>,
    ) -> Option<Date> {
        let Some(s) = opt_text(n) else {
            if required {
                self.missing(fl);
            }
            return None;
        };
        let d = parse(&s);
        if d.is_none() {
            self.problem(format!(
                "{} ei ole loetav kuupäev: \"{}\" ({}) ({} is not a valid date)",
                fl.et,
                quote(&s),
                fl.elem,
                fl.en
            ));
        }
        d
    }

    fn date(&mut self, n: Option<Node>, fl: Field) -> Option<Date> {
        self.date_with(n, fl, false, parse_iso_date)
    }

    /// A CII `udt:DateTimeString` of format 102 inside `n`.
    fn cii_date(&mut self, n: Option<Node>, fl: Field, required: bool) -> Option<Date> {
        let s = n.and_then(|n| kid(n, UDT, "DateTimeString"));
        if let Some(format) = s.and_then(|s| s.attribute("format")) {
            if format != "102" {
                self.problem(format!(
                    "{}: kuupäeva vorming {} ei ole toetatud, oodati 102 ({}) ({}: date format {} is not supported, 102 expected)",
                    fl.et,
                    quote(format),
                    fl.elem,
                    fl.en,
                    quote(format)
                ));
                return None;
            }
        }
        self.date_with(s, fl, required, parse_102)
    }

    fn amount(&mut self, n: Option<Node>, fl: Field) -> Option<Decimal> {
        let s = opt_text(n)?;
        let d = parse_decimal(&s);
        if d.is_none() {
            self.problem(format!(
                "{} ei ole loetav arv: \"{}\" ({}) ({} is not a valid number)",
                fl.et,
                quote(&s),
                fl.elem,
                fl.en
            ));
        }
        d
    }

    fn required_amount(&mut self, n: Option<Node>, fl: Field) -> Decimal {
        if opt_text(n).is_none() {
            self.missing(fl);
            return Decimal::ZERO;
        }
        self.amount(n, fl).unwrap_or(Decimal::ZERO)
    }

    fn optional_amount(&mut self, n: Option<Node>, fl: Field) -> Decimal {
        self.amount(n, fl).unwrap_or(Decimal::ZERO)
    }

    /// The first of `nodes` whose `currencyID` is the invoice currency, else the first.
    fn in_currency<'a, 'i>(nodes: Vec<Node<'a, 'i>>, currency: &str) -> Option<Node<'a, 'i>> {
        nodes
            .iter()
            .find(|n| n.attribute("currencyID") == Some(currency))
            .or(nodes.first())
            .copied()
    }

    fn unit_price(&mut self, amount: Decimal, base: Option<Decimal>) -> Decimal {
        match base {
            Some(b) if !b.is_zero() => amount.checked_div(b).unwrap_or(amount),
            _ => amount,
        }
    }

    // -----------------------------------------------------------------------
    // UBL 2.1

    fn ubl(&mut self, root: Node) -> EInvoice {
        let number = self.required_text(
            kid(root, CBC, "ID"),
            f("cbc:ID", "arve number", "invoice number"),
        );
        let issue_date = self
            .date_with(
                kid(root, CBC, "IssueDate"),
                f("cbc:IssueDate", "arve kuupäev", "issue date"),
                true,
                parse_iso_date,
            )
            .unwrap_or_else(no_date);
        let due_date = match kid(root, CBC, "DueDate") {
            Some(n) => self.date(Some(n), f("cbc:DueDate", "maksetähtaeg", "due date")),
            None => {
                let n =
                    kids(root, CAC, "PaymentMeans").find_map(|pm| kid(pm, CBC, "PaymentDueDate"));
                self.date(
                    n,
                    f(
                        "cac:PaymentMeans/cbc:PaymentDueDate",
                        "maksetähtaeg",
                        "due date",
                    ),
                )
            }
        };
        let currency = self.required_text(
            kid(root, CBC, "DocumentCurrencyCode"),
            f("cbc:DocumentCurrencyCode", "valuuta", "currency"),
        );
        let buyer_reference = opt_text(kid(root, CBC, "BuyerReference"));
        let order_reference = opt_text(at(root, &[(CAC, "OrderReference"), (CBC, "ID")]));
        let period = kid(root, CAC, "InvoicePeriod");
        let period_start = self.date(
            period.and_then(|p| kid(p, CBC, "StartDate")),
            f(
                "cac:InvoicePeriod/cbc:StartDate",
                "arveldusperioodi algus",
                "invoicing period start",
            ),
        );
        let period_end = self.date(
            period.and_then(|p| kid(p, CBC, "EndDate")),
            f(
                "cac:InvoicePeriod/cbc:EndDate",
                "arveldusperioodi lõpp",
                "invoicing period end",
            ),
        );
        let notes = kids(root, CBC, "Note")
            .map(text)
            .filter(|s| !s.is_empty())
            .collect();
        let seller = self.ubl_party(
            at(root, &[(CAC, "AccountingSupplierParty"), (CAC, "Party")]),
            "cac:AccountingSupplierParty",
            "müüja",
            "seller",
        );
        let buyer = self.ubl_party(
            at(root, &[(CAC, "AccountingCustomerParty"), (CAC, "Party")]),
            "cac:AccountingCustomerParty",
            "ostja",
            "buyer",
        );
        let lines = kids(root, CAC, "InvoiceLine")
            .enumerate()
            .map(|(i, l)| self.ubl_line(l, i + 1))
            .collect();

        let tax_totals: Vec<Node> = kids(root, CAC, "TaxTotal").collect();
        let tax_amounts: Vec<Node> = tax_totals
            .iter()
            .filter_map(|t| kid(*t, CBC, "TaxAmount"))
            .collect();
        let vat_total = self.optional_amount(
            Self::in_currency(tax_amounts, &currency),
            f(
                "cac:TaxTotal/cbc:TaxAmount",
                "käibemaks kokku",
                "invoice total VAT amount",
            ),
        );
        let mut vat = Vec::new();
        for (i, st) in tax_totals
            .iter()
            .flat_map(|t| kids(*t, CAC, "TaxSubtotal"))
            .enumerate()
        {
            let n = i + 1;
            let taxable = self.required_amount(
                kid(st, CBC, "TaxableAmount"),
                f(
                    "cac:TaxSubtotal/cbc:TaxableAmount",
                    &format!("käibemaksu rea {n} maksustatav summa"),
                    &format!("VAT breakdown {n} taxable amount"),
                ),
            );
            let tax = self.required_amount(
                kid(st, CBC, "TaxAmount"),
                f(
                    "cac:TaxSubtotal/cbc:TaxAmount",
                    &format!("käibemaksu rea {n} maksusumma"),
                    &format!("VAT breakdown {n} tax amount"),
                ),
            );
            let cat = kid(st, CAC, "TaxCategory");
            let category = opt_text(cat.and_then(|c| kid(c, CBC, "ID")));
            let percent = self.amount(
                cat.and_then(|c| kid(c, CBC, "Percent")),
                f(
                    "cac:TaxCategory/cbc:Percent",
                    &format!("käibemaksu rea {n} määr"),
                    &format!("VAT breakdown {n} rate"),
                ),
            );
            vat.push(VatBreakdown {
                category,
                percent,
                taxable,
                tax,
            });
        }

        let lmt = kid(root, CAC, "LegalMonetaryTotal");
        let m = |name: &'static str| lmt.and_then(|t| kid(t, CBC, name));
        let line_total = self.required_amount(
            m("LineExtensionAmount"),
            f(
                "cac:LegalMonetaryTotal/cbc:LineExtensionAmount",
                "ridade summa",
                "sum of invoice line net amounts",
            ),
        );
        let tax_exclusive = self.required_amount(
            m("TaxExclusiveAmount"),
            f(
                "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount",
                "summa käibemaksuta",
                "total without VAT",
            ),
        );
        let tax_inclusive = self.required_amount(
            m("TaxInclusiveAmount"),
            f(
                "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount",
                "summa käibemaksuga",
                "total with VAT",
            ),
        );
        let allowance_total = self.optional_amount(
            m("AllowanceTotalAmount"),
            f(
                "cac:LegalMonetaryTotal/cbc:AllowanceTotalAmount",
                "allahindlused kokku",
                "sum of allowances",
            ),
        );
        let charge_total = self.optional_amount(
            m("ChargeTotalAmount"),
            f(
                "cac:LegalMonetaryTotal/cbc:ChargeTotalAmount",
                "lisatasud kokku",
                "sum of charges",
            ),
        );
        let prepaid = self.optional_amount(
            m("PrepaidAmount"),
            f(
                "cac:LegalMonetaryTotal/cbc:PrepaidAmount",
                "ettemaks",
                "paid amount",
            ),
        );
        let rounding = self.optional_amount(
            m("PayableRoundingAmount"),
            f(
                "cac:LegalMonetaryTotal/cbc:PayableRoundingAmount",
                "ümardus",
                "rounding amount",
            ),
        );
        let payable = self.required_amount(
            m("PayableAmount"),
            f(
                "cac:LegalMonetaryTotal/cbc:PayableAmount",
                "tasumisele kuuluv summa",
                "amount due for payment",
            ),
        );
        EInvoice {
            syntax: Syntax::Ubl,
            number,
            issue_date,
            due_date,
            currency,
            seller,
            buyer,
            buyer_reference,
            order_reference,
            period_start,
            period_end,
            notes,
            lines,
            vat,
            line_total,
            allowance_total,
            charge_total,
            tax_exclusive,
            vat_total,
            tax_inclusive,
            prepaid,
            rounding,
            payable,
        }
    }

    fn ubl_party(&mut self, p: Option<Node>, elem: &str, et: &str, en: &str) -> TradeParty {
        let legal = p.and_then(|p| kid(p, CAC, "PartyLegalEntity"));
        let name = opt_text(legal.and_then(|l| kid(l, CBC, "RegistrationName")))
            .or_else(|| opt_text(p.and_then(|p| at(p, &[(CAC, "PartyName"), (CBC, "Name")]))));
        let name = name.unwrap_or_else(|| {
            self.missing(f(
                &format!("{elem}/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"),
                &format!("{et} nimi"),
                &format!("{en} name"),
            ));
            String::new()
        });
        let code = opt_text(legal.and_then(|l| kid(l, CBC, "CompanyID")));
        let schemes: Vec<Node> = p
            .map(|p| kids(p, CAC, "PartyTaxScheme").collect())
            .unwrap_or_default();
        let vat_scheme = schemes
            .iter()
            .find(|s| {
                opt_text(at(**s, &[(CAC, "TaxScheme"), (CBC, "ID")])).as_deref() == Some("VAT")
            })
            .or(schemes.first());
        let vat_id = opt_text(vat_scheme.and_then(|s| kid(*s, CBC, "CompanyID")));
        TradeParty { name, code, vat_id }
    }

    fn ubl_line(&mut self, l: Node, pos: usize) -> InvoiceLine {
        let id = opt_text(kid(l, CBC, "ID")).unwrap_or_else(|| {
            self.missing(f(
                "cac:InvoiceLine/cbc:ID",
                &format!("rea {pos} number"),
                &format!("line {pos} identifier"),
            ));
            pos.to_string()
        });
        let qn = kid(l, CBC, "InvoicedQuantity");
        let quantity = self.required_amount(
            qn,
            f(
                "cac:InvoiceLine/cbc:InvoicedQuantity",
                &format!("rea {id} kogus"),
                &format!("line {id} quantity"),
            ),
        );
        let unit_code = qn
            .and_then(|q| q.attribute("unitCode"))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from);
        let net_amount = self.required_amount(
            kid(l, CBC, "LineExtensionAmount"),
            f(
                "cac:InvoiceLine/cbc:LineExtensionAmount",
                &format!("rea {id} summa"),
                &format!("line {id} net amount"),
            ),
        );
        let period = kid(l, CAC, "InvoicePeriod");
        let period_start = self.date(
            period.and_then(|p| kid(p, CBC, "StartDate")),
            f(
                "cac:InvoiceLine/cac:InvoicePeriod/cbc:StartDate",
                &format!("rea {id} perioodi algus"),
                &format!("line {id} period start"),
            ),
        );
        let period_end = self.date(
            period.and_then(|p| kid(p, CBC, "EndDate")),
            f(
                "cac:InvoiceLine/cac:InvoicePeriod/cbc:EndDate",
                &format!("rea {id} perioodi lõpp"),
                &format!("line {id} period end"),
            ),
        );
        let item = kid(l, CAC, "Item");
        let description = join_description(
            opt_text(item.and_then(|i| kid(i, CBC, "Name"))),
            item.map(|i| kids(i, CBC, "Description").map(text).collect())
                .unwrap_or_default(),
        );
        let vat_percent = self.amount(
            item.and_then(|i| at(i, &[(CAC, "ClassifiedTaxCategory"), (CBC, "Percent")])),
            f(
                "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent",
                &format!("rea {id} käibemaksumäär"),
                &format!("line {id} VAT rate"),
            ),
        );
        let price = kid(l, CAC, "Price");
        let amount = self.required_amount(
            price.and_then(|p| kid(p, CBC, "PriceAmount")),
            f(
                "cac:InvoiceLine/cac:Price/cbc:PriceAmount",
                &format!("rea {id} ühikuhind"),
                &format!("line {id} unit price"),
            ),
        );
        let base = self.amount(
            price.and_then(|p| kid(p, CBC, "BaseQuantity")),
            f(
                "cac:Price/cbc:BaseQuantity",
                &format!("rea {id} hinna baaskogus"),
                &format!("line {id} price base quantity"),
            ),
        );
        let unit_price = self.unit_price(amount, base);
        InvoiceLine {
            id,
            description,
            quantity,
            unit_code,
            unit_price,
            net_amount,
            vat_percent,
            period_start,
            period_end,
        }
    }

    // -----------------------------------------------------------------------
    // CII D16B

    fn cii(&mut self, root: Node) -> EInvoice {
        let doc = kid(root, CII_NS, "ExchangedDocument");
        let number = self.required_text(
            doc.and_then(|d| kid(d, RAM, "ID")),
            f(
                "rsm:ExchangedDocument/ram:ID",
                "arve number",
                "invoice number",
            ),
        );
        let issue_date = self
            .cii_date(
                doc.and_then(|d| kid(d, RAM, "IssueDateTime")),
                f(
                    "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString",
                    "arve kuupäev",
                    "issue date",
                ),
                true,
            )
            .unwrap_or_else(no_date);
        let notes = doc
            .map(|d| {
                kids(d, RAM, "IncludedNote")
                    .flat_map(|n| kids(n, RAM, "Content"))
                    .map(text)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let tx = kid(root, CII_NS, "SupplyChainTradeTransaction");
        let agr = tx.and_then(|t| kid(t, RAM, "ApplicableHeaderTradeAgreement"));
        let set = tx.and_then(|t| kid(t, RAM, "ApplicableHeaderTradeSettlement"));
        let buyer_reference = opt_text(agr.and_then(|a| kid(a, RAM, "BuyerReference")));
        let order_reference = opt_text(agr.and_then(|a| {
            at(
                a,
                &[
                    (RAM, "BuyerOrderReferencedDocument"),
                    (RAM, "IssuerAssignedID"),
                ],
            )
        }));
        let seller = self.cii_party(
            agr.and_then(|a| kid(a, RAM, "SellerTradeParty")),
            "ram:SellerTradeParty",
            "müüja",
            "seller",
        );
        let buyer = self.cii_party(
            agr.and_then(|a| kid(a, RAM, "BuyerTradeParty")),
            "ram:BuyerTradeParty",
            "ostja",
            "buyer",
        );
        let currency = self.required_text(
            set.and_then(|s| kid(s, RAM, "InvoiceCurrencyCode")),
            f(
                "ram:ApplicableHeaderTradeSettlement/ram:InvoiceCurrencyCode",
                "valuuta",
                "currency",
            ),
        );
        let period = set.and_then(|s| kid(s, RAM, "BillingSpecifiedPeriod"));
        let period_start = self.cii_date(
            period.and_then(|p| kid(p, RAM, "StartDateTime")),
            f(
                "ram:BillingSpecifiedPeriod/ram:StartDateTime",
                "arveldusperioodi algus",
                "invoicing period start",
            ),
            false,
        );
        let period_end = self.cii_date(
            period.and_then(|p| kid(p, RAM, "EndDateTime")),
            f(
                "ram:BillingSpecifiedPeriod/ram:EndDateTime",
                "arveldusperioodi lõpp",
                "invoicing period end",
            ),
            false,
        );
        let due = set.and_then(|s| {
            kids(s, RAM, "SpecifiedTradePaymentTerms").find_map(|t| kid(t, RAM, "DueDateDateTime"))
        });
        let due_date = self.cii_date(
            due,
            f(
                "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime",
                "maksetähtaeg",
                "due date",
            ),
            false,
        );
        let mut vat = Vec::new();
        let taxes: Vec<Node> = set
            .map(|s| kids(s, RAM, "ApplicableTradeTax").collect())
            .unwrap_or_default();
        for (i, t) in taxes.into_iter().enumerate() {
            let n = i + 1;
            let taxable = self.required_amount(
                kid(t, RAM, "BasisAmount"),
                f(
                    "ram:ApplicableTradeTax/ram:BasisAmount",
                    &format!("käibemaksu rea {n} maksustatav summa"),
                    &format!("VAT breakdown {n} taxable amount"),
                ),
            );
            let tax = self.required_amount(
                kid(t, RAM, "CalculatedAmount"),
                f(
                    "ram:ApplicableTradeTax/ram:CalculatedAmount",
                    &format!("käibemaksu rea {n} maksusumma"),
                    &format!("VAT breakdown {n} tax amount"),
                ),
            );
            let category = opt_text(kid(t, RAM, "CategoryCode"));
            let percent = self.amount(
                kid(t, RAM, "RateApplicablePercent"),
                f(
                    "ram:ApplicableTradeTax/ram:RateApplicablePercent",
                    &format!("käibemaksu rea {n} määr"),
                    &format!("VAT breakdown {n} rate"),
                ),
            );
            vat.push(VatBreakdown {
                category,
                percent,
                taxable,
                tax,
            });
        }
        let lines = tx
            .map(|t| kids(t, RAM, "IncludedSupplyChainTradeLineItem").collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, l)| self.cii_line(l, i + 1))
            .collect();
        let sum = set.and_then(|s| kid(s, RAM, "SpecifiedTradeSettlementHeaderMonetarySummation"));
        let m = |name: &'static str| sum.and_then(|s| kid(s, RAM, name));
        const S: &str = "ram:SpecifiedTradeSettlementHeaderMonetarySummation";
        let line_total = self.required_amount(
            m("LineTotalAmount"),
            f(
                &format!("{S}/ram:LineTotalAmount"),
                "ridade summa",
                "sum of invoice line net amounts",
            ),
        );
        let charge_total = self.optional_amount(
            m("ChargeTotalAmount"),
            f(
                &format!("{S}/ram:ChargeTotalAmount"),
                "lisatasud kokku",
                "sum of charges",
            ),
        );
        let allowance_total = self.optional_amount(
            m("AllowanceTotalAmount"),
            f(
                &format!("{S}/ram:AllowanceTotalAmount"),
                "allahindlused kokku",
                "sum of allowances",
            ),
        );
        let tax_exclusive = self.required_amount(
            m("TaxBasisTotalAmount"),
            f(
                &format!("{S}/ram:TaxBasisTotalAmount"),
                "summa käibemaksuta",
                "total without VAT",
            ),
        );
        let tax_totals: Vec<Node> = sum
            .map(|s| kids(s, RAM, "TaxTotalAmount").collect())
            .unwrap_or_default();
        let vat_total = self.optional_amount(
            Self::in_currency(tax_totals, &currency),
            f(
                &format!("{S}/ram:TaxTotalAmount"),
                "käibemaks kokku",
                "invoice total VAT amount",
            ),
        );
        let rounding = self.optional_amount(
            m("RoundingAmount"),
            f(
                &format!("{S}/ram:RoundingAmount"),
                "ümardus",
                "rounding amount",
            ),
        );
        let tax_inclusive = self.required_amount(
            m("GrandTotalAmount"),
            f(
                &format!("{S}/ram:GrandTotalAmount"),
                "summa käibemaksuga",
                "total with VAT",
            ),
        );
        let prepaid = self.optional_amount(
            m("TotalPrepaidAmount"),
            f(
                &format!("{S}/ram:TotalPrepaidAmount"),
                "ettemaks",
                "paid amount",
            ),
        );
        let payable = self.required_amount(
            m("DuePayableAmount"),
            f(
                &format!("{S}/ram:DuePayableAmount"),
                "tasumisele kuuluv summa",
                "amount due for payment",
            ),
        );
        EInvoice {
            syntax: Syntax::Cii,
            number,
            issue_date,
            due_date,
            currency,
            seller,
            buyer,
            buyer_reference,
            order_reference,
            period_start,
            period_end,
            notes,
            lines,
            vat,
            line_total,
            allowance_total,
            charge_total,
            tax_exclusive,
            vat_total,
            tax_inclusive,
            prepaid,
            rounding,
            payable,
        }
    }

    fn cii_party(&mut self, p: Option<Node>, elem: &str, et: &str, en: &str) -> TradeParty {
        let legal = p.and_then(|p| kid(p, RAM, "SpecifiedLegalOrganization"));
        let name = opt_text(p.and_then(|p| kid(p, RAM, "Name")))
            .or_else(|| opt_text(legal.and_then(|l| kid(l, RAM, "TradingBusinessName"))))
            .unwrap_or_else(|| {
                self.missing(f(
                    &format!("{elem}/ram:Name"),
                    &format!("{et} nimi"),
                    &format!("{en} name"),
                ));
                String::new()
            });
        let code = opt_text(legal.and_then(|l| kid(l, RAM, "ID")));
        let regs: Vec<Node> = p
            .map(|p| {
                kids(p, RAM, "SpecifiedTaxRegistration")
                    .filter_map(|r| kid(r, RAM, "ID"))
                    .collect()
            })
            .unwrap_or_default();
        let vat = regs
            .iter()
            .find(|r| r.attribute("schemeID") == Some("VA"))
            .or(regs.first());
        let vat_id = opt_text(vat.copied());
        TradeParty { name, code, vat_id }
    }

    fn cii_line(&mut self, l: Node, pos: usize) -> InvoiceLine {
        let id = opt_text(at(
            l,
            &[(RAM, "AssociatedDocumentLineDocument"), (RAM, "LineID")],
        ))
        .unwrap_or_else(|| {
            self.missing(f(
                "ram:AssociatedDocumentLineDocument/ram:LineID",
                &format!("rea {pos} number"),
                &format!("line {pos} identifier"),
            ));
            pos.to_string()
        });
        let product = kid(l, RAM, "SpecifiedTradeProduct");
        let description = join_description(
            opt_text(product.and_then(|p| kid(p, RAM, "Name"))),
            product
                .map(|p| kids(p, RAM, "Description").map(text).collect())
                .unwrap_or_default(),
        );
        let price = at(
            l,
            &[
                (RAM, "SpecifiedLineTradeAgreement"),
                (RAM, "NetPriceProductTradePrice"),
            ],
        );
        let amount = self.required_amount(
            price.and_then(|p| kid(p, RAM, "ChargeAmount")),
            f(
                "ram:NetPriceProductTradePrice/ram:ChargeAmount",
                &format!("rea {id} ühikuhind"),
                &format!("line {id} unit price"),
            ),
        );
        let base = self.amount(
            price.and_then(|p| kid(p, RAM, "BasisQuantity")),
            f(
                "ram:NetPriceProductTradePrice/ram:BasisQuantity",
                &format!("rea {id} hinna baaskogus"),
                &format!("line {id} price base quantity"),
            ),
        );
        let unit_price = self.unit_price(amount, base);
        let qn = at(
            l,
            &[(RAM, "SpecifiedLineTradeDelivery"), (RAM, "BilledQuantity")],
        );
        let quantity = self.required_amount(
            qn,
            f(
                "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity",
                &format!("rea {id} kogus"),
                &format!("line {id} quantity"),
            ),
        );
        let unit_code = qn
            .and_then(|q| q.attribute("unitCode"))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from);
        let ls = kid(l, RAM, "SpecifiedLineTradeSettlement");
        let vat_percent = self.amount(
            ls.and_then(|s| {
                at(
                    s,
                    &[(RAM, "ApplicableTradeTax"), (RAM, "RateApplicablePercent")],
                )
            }),
            f(
                "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:RateApplicablePercent",
                &format!("rea {id} käibemaksumäär"),
                &format!("line {id} VAT rate"),
            ),
        );
        let period = ls.and_then(|s| kid(s, RAM, "BillingSpecifiedPeriod"));
        let period_start = self.cii_date(
            period.and_then(|p| kid(p, RAM, "StartDateTime")),
            f(
                "ram:SpecifiedLineTradeSettlement/ram:BillingSpecifiedPeriod/ram:StartDateTime",
                &format!("rea {id} perioodi algus"),
                &format!("line {id} period start"),
            ),
            false,
        );
        let period_end = self.cii_date(
            period.and_then(|p| kid(p, RAM, "EndDateTime")),
            f(
                "ram:SpecifiedLineTradeSettlement/ram:BillingSpecifiedPeriod/ram:EndDateTime",
                &format!("rea {id} perioodi lõpp"),
                &format!("line {id} period end"),
            ),
            false,
        );
        let net_amount = self.required_amount(
            ls.and_then(|s| {
                at(
                    s,
                    &[
                        (RAM, "SpecifiedTradeSettlementLineMonetarySummation"),
                        (RAM, "LineTotalAmount"),
                    ],
                )
            }),
            f(
                "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
                &format!("rea {id} summa"),
                &format!("line {id} net amount"),
            ),
        );
        InvoiceLine {
            id,
            description,
            quantity,
            unit_code,
            unit_price,
            net_amount,
            vat_percent,
            period_start,
            period_end,
        }
    }

    // -----------------------------------------------------------------------
    // e-arve 1.2

    fn earve(&mut self, root: Node) -> EInvoice {
        let invoices: Vec<Node> = kids(root, NONE, "Invoice").collect();
        if invoices.len() > 1 {
            self.problem(format!(
                "failis on {} arvet, loeti ainult esimene (Invoice) (the file holds {} invoices; only the first was read)",
                invoices.len(),
                invoices.len()
            ));
        }
        let inv = match invoices.first() {
            Some(i) => *i,
            None => {
                self.missing(f("E_Invoice/Invoice", "arve", "invoice"));
                root
            }
        };
        let parties = kid(inv, NONE, "InvoiceParties");
        let seller = self.earve_party(
            parties.and_then(|p| kid(p, NONE, "SellerParty")),
            "InvoiceParties/SellerParty",
            "müüja",
            "seller",
        );
        let buyer = self.earve_party(
            parties.and_then(|p| kid(p, NONE, "BuyerParty")),
            "InvoiceParties/BuyerParty",
            "ostja",
            "buyer",
        );
        let info = kid(inv, NONE, "InvoiceInformation");
        let i = |name: &'static str| info.and_then(|n| kid(n, NONE, name));
        let number = self.required_text(
            i("InvoiceNumber"),
            f(
                "InvoiceInformation/InvoiceNumber",
                "arve number",
                "invoice number",
            ),
        );
        let issue_date = self
            .date_with(
                i("InvoiceDate"),
                f(
                    "InvoiceInformation/InvoiceDate",
                    "arve kuupäev",
                    "issue date",
                ),
                true,
                parse_iso_date,
            )
            .unwrap_or_else(no_date);
        let payment = kid(inv, NONE, "PaymentInfo");
        let p = |name: &'static str| payment.and_then(|n| kid(n, NONE, name));
        let due_date = match i("DueDate") {
            Some(n) => self.date(
                Some(n),
                f("InvoiceInformation/DueDate", "maksetähtaeg", "due date"),
            ),
            None => self.date(
                p("PayDueDate"),
                f("PaymentInfo/PayDueDate", "maksetähtaeg", "due date"),
            ),
        };
        let period = i("Period");
        let pd = |a: &'static str, b: &'static str| {
            period.and_then(|p| kid(p, NONE, a).or_else(|| kid(p, NONE, b)))
        };
        let period_start = self.date(
            pd("StartDate", "PeriodStartDate"),
            f(
                "InvoiceInformation/Period/StartDate",
                "arveldusperioodi algus",
                "invoicing period start",
            ),
        );
        let period_end = self.date(
            pd("EndDate", "PeriodEndDate"),
            f(
                "InvoiceInformation/Period/EndDate",
                "arveldusperioodi lõpp",
                "invoicing period end",
            ),
        );
        let buyer_reference = opt_text(i("ContractNumber"));
        let order_reference = opt_text(
            inv.descendants()
                .find(|d| d.is_element() && d.tag_name().name() == "PurchaseOrderRef"),
        );
        let mut notes: Vec<String> = Vec::new();
        notes.extend(opt_text(i("InvoiceContentText")));
        if let Some(info) = info {
            notes.extend(
                kids(info, NONE, "Extension")
                    .filter_map(|e| opt_text(kid(e, NONE, "InformationContent"))),
            );
        }
        notes.extend(
            kids(inv, NONE, "AdditionalInformation")
                .filter_map(|e| opt_text(kid(e, NONE, "InformationContent"))),
        );
        if let Some(desc) = opt_text(p("PaymentDescription")) {
            let known = desc == number
                || notes.contains(&desc)
                || buyer_reference.as_deref() == Some(desc.as_str());
            if !known {
                notes.push(desc);
            }
        }

        let sum = kid(inv, NONE, "InvoiceSumGroup");
        let s = |name: &'static str| sum.and_then(|n| kid(n, NONE, name));
        let currency = opt_text(s("Currency"))
            .or_else(|| opt_text(p("Currency")))
            .unwrap_or_else(|| {
                self.missing(f(
                    "InvoiceSumGroup/Currency, PaymentInfo/Currency",
                    "valuuta",
                    "currency",
                ));
                String::new()
            });
        let mut vat = Vec::new();
        let rows: Vec<Node> = sum
            .map(|s| kids(s, NONE, "VAT").collect())
            .unwrap_or_default();
        for (k, v) in rows.into_iter().enumerate() {
            let n = k + 1;
            let taxable = self.required_amount(
                kid(v, NONE, "SumBeforeVAT"),
                f(
                    "InvoiceSumGroup/VAT/SumBeforeVAT",
                    &format!("käibemaksu rea {n} maksustatav summa"),
                    &format!("VAT breakdown {n} taxable amount"),
                ),
            );
            let tax = self.required_amount(
                kid(v, NONE, "VATSum"),
                f(
                    "InvoiceSumGroup/VAT/VATSum",
                    &format!("käibemaksu rea {n} maksusumma"),
                    &format!("VAT breakdown {n} tax amount"),
                ),
            );
            let percent = self.amount(
                kid(v, NONE, "VATRate"),
                f(
                    "InvoiceSumGroup/VAT/VATRate",
                    &format!("käibemaksu rea {n} määr"),
                    &format!("VAT breakdown {n} rate"),
                ),
            );
            vat.push(VatBreakdown {
                category: None,
                percent,
                taxable,
                tax,
            });
        }
        let mut lines = Vec::new();
        let entries: Vec<Node> = kid(inv, NONE, "InvoiceItem")
            .map(|item| {
                kids(item, NONE, "InvoiceItemGroup")
                    .flat_map(|g| kids(g, NONE, "ItemEntry"))
                    .collect()
            })
            .unwrap_or_default();
        for (k, e) in entries.into_iter().enumerate() {
            lines.push(self.earve_line(e, k + 1));
        }
        let line_total = match s("InvoiceSum") {
            Some(n) => self.required_amount(
                Some(n),
                f(
                    "InvoiceSumGroup/InvoiceSum",
                    "ridade summa",
                    "sum of invoice line net amounts",
                ),
            ),
            None => lines.iter().map(|l: &InvoiceLine| l.net_amount).sum(),
        };
        let rounding = self.optional_amount(
            s("Rounding"),
            f("InvoiceSumGroup/Rounding", "ümardus", "rounding amount"),
        );
        let vat_total = match s("TotalVATSum") {
            Some(n) => self.optional_amount(
                Some(n),
                f(
                    "InvoiceSumGroup/TotalVATSum",
                    "käibemaks kokku",
                    "invoice total VAT amount",
                ),
            ),
            None => vat.iter().map(|v| v.tax).sum(),
        };
        let tax_inclusive = self.required_amount(
            s("TotalSum"),
            f(
                "InvoiceSumGroup/TotalSum",
                "summa käibemaksuga",
                "total with VAT",
            ),
        );
        let to_pay = self.amount(
            s("TotalToPay"),
            f(
                "InvoiceSumGroup/TotalToPay",
                "tasumisele kuuluv summa",
                "amount due for payment",
            ),
        );
        let payable = to_pay.unwrap_or(tax_inclusive + rounding);
        EInvoice {
            syntax: Syntax::EArve,
            number,
            issue_date,
            due_date,
            currency,
            seller,
            buyer,
            buyer_reference,
            order_reference,
            period_start,
            period_end,
            notes,
            lines,
            vat,
            line_total,
            allowance_total: Decimal::ZERO,
            charge_total: Decimal::ZERO,
            tax_exclusive: tax_inclusive - vat_total,
            vat_total,
            tax_inclusive,
            prepaid: tax_inclusive + rounding - payable,
            rounding,
            payable,
        }
    }

    fn earve_party(&mut self, p: Option<Node>, elem: &str, et: &str, en: &str) -> TradeParty {
        let name = opt_text(p.and_then(|p| kid(p, NONE, "Name"))).unwrap_or_else(|| {
            self.missing(f(
                &format!("{elem}/Name"),
                &format!("{et} nimi"),
                &format!("{en} name"),
            ));
            String::new()
        });
        TradeParty {
            name,
            code: opt_text(p.and_then(|p| kid(p, NONE, "RegNumber"))),
            vat_id: opt_text(p.and_then(|p| kid(p, NONE, "VATRegNumber"))),
        }
    }

    fn earve_line(&mut self, e: Node, pos: usize) -> InvoiceLine {
        let id = opt_text(kid(e, NONE, "RowNo")).unwrap_or_else(|| pos.to_string());
        let description = opt_text(kid(e, NONE, "Description")).unwrap_or_else(|| {
            self.missing(f(
                "ItemEntry/Description",
                &format!("rea {id} kirjeldus"),
                &format!("line {id} description"),
            ));
            String::new()
        });
        let detail = kid(e, NONE, "ItemDetailInfo");
        let unit_code = opt_text(detail.and_then(|d| kid(d, NONE, "ItemUnit")));
        let sum = self.amount(
            kid(e, NONE, "ItemSum"),
            f(
                "ItemEntry/ItemSum",
                &format!("rea {id} summa"),
                &format!("line {id} net amount"),
            ),
        );
        let quantity = self.amount(
            detail.and_then(|d| kid(d, NONE, "ItemAmount")),
            f(
                "ItemDetailInfo/ItemAmount",
                &format!("rea {id} kogus"),
                &format!("line {id} quantity"),
            ),
        );
        let price = self.amount(
            detail.and_then(|d| kid(d, NONE, "ItemPrice")),
            f(
                "ItemDetailInfo/ItemPrice",
                &format!("rea {id} ühikuhind"),
                &format!("line {id} unit price"),
            ),
        );
        let (quantity, unit_price, net_amount) = match (quantity, price, sum) {
            (Some(q), Some(p), Some(s)) => (q, p, s),
            (Some(q), Some(p), None) => (q, p, (q * p).round_dp(2)),
            (None, None, Some(s)) if detail.is_none() => (Decimal::ONE, s, s),
            (q, p, s) => {
                self.missing(f(
                    "ItemEntry/ItemDetailInfo",
                    &format!("rea {id} kogus, ühikuhind või summa"),
                    &format!("line {id} quantity, unit price or net amount"),
                ));
                (
                    q.unwrap_or(Decimal::ZERO),
                    p.unwrap_or(Decimal::ZERO),
                    s.unwrap_or(Decimal::ZERO),
                )
            }
        };
        let vat_percent = self.amount(
            at(e, &[(NONE, "VAT"), (NONE, "VATRate")]),
            f(
                "ItemEntry/VAT/VATRate",
                &format!("rea {id} käibemaksumäär"),
                &format!("line {id} VAT rate"),
            ),
        );
        InvoiceLine {
            id,
            description,
            quantity,
            unit_code,
            unit_price,
            net_amount,
            vat_percent,
            period_start: None,
            period_end: None,
        }
    }
}

/// An item's name and descriptions as one text (BT-153 – BT-154).
fn join_description(name: Option<String>, descriptions: Vec<String>) -> String {
    name.into_iter()
        .chain(descriptions)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" – ")
}

#[cfg(test)]
mod tests;
