//! Writing an [`EInvoice`] in each syntax (for tests, the demo and benchmarks),
//! and [`sample`], a realistic consistent invoice to start from.
//!
//! The UBL and CII writers produce documents valid against the UBL 2.1 and
//! CII D16B XSDs (element order as the schemas require; text escaped). They
//! carry every field of the model; [`crate::invoice::read::parse`] reads them
//! back to the same invoice. The e-arve 1.2 writer follows the element order
//! of the Pangaliit schema as published; it cannot carry (and so drops):
//!
//! - the VAT category of a breakdown row (e-arve `VAT` has none);
//! - the lines' service periods (e-arve `ItemEntry` has none);
//! - document-level allowances and charges (not written; read as zero);
//! - the order reference (BT-13) — only the EN 16931 extension holds one;
//!   the reader takes `PurchaseOrderRef` from it, the writer writes none.
//!
//! It writes the buyer reference (BT-10) as `InvoiceInformation/ContractNumber`,
//! the first note as `InvoiceContentText` and the others as
//! `AdditionalInformation/InformationContent`, the invoice number as the
//! payment description, and `TotalSum + Rounding − TotalToPay` carries the
//! prepaid amount.

use jiff::civil::Date;
use jiff::ToSpan;
use rust_decimal::Decimal;

use super::einvoice::{EInvoice, InvoiceLine, Syntax, TradeParty, VatBreakdown};
use super::read::{CAC, CBC, CII_NS, QDT, RAM, UBL_NS, UDT};

/// The invoice in its own syntax (`inv.syntax`).
pub fn to_xml(inv: &EInvoice) -> String {
    match inv.syntax {
        Syntax::Ubl => ubl(inv),
        Syntax::Cii => cii(inv),
        Syntax::EArve => earve(inv),
    }
}

/// Text escaped for element content and attribute values (the DHX writer's
/// escaping, `crate::dhx::xml::escape_attr`); characters XML 1.0 cannot hold
/// are left out.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    crate::dhx::xml::escape_attr(s, &mut out);
    out
}

/// A small indenting XML writer.
struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    fn new() -> Xml {
        Xml {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            depth: 0,
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn attrs(&mut self, attrs: &[(&str, &str)]) {
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            self.out.push_str(&escape(v));
            self.out.push('"');
        }
    }

    fn open_with(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        self.attrs(attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    fn open(&mut self, tag: &str) {
        self.open_with(tag, &[]);
    }

    fn close(&mut self, tag: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push_str(">\n");
    }

    fn leaf_with(&mut self, tag: &str, attrs: &[(&str, &str)], text: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        self.attrs(attrs);
        self.out.push('>');
        self.out.push_str(&escape(text));
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push_str(">\n");
    }

    fn leaf(&mut self, tag: &str, text: &str) {
        self.leaf_with(tag, &[], text);
    }

    fn opt(&mut self, tag: &str, text: Option<&str>) {
        if let Some(t) = text {
            self.leaf(tag, t);
        }
    }
}

fn dec(d: Decimal) -> String {
    d.to_string()
}

fn cii_date(d: Date) -> String {
    d.strftime("%Y%m%d").to_string()
}

/// The VAT category of a line: the breakdown row of its rate, else S or Z.
fn line_category(inv: &EInvoice, line: &InvoiceLine) -> String {
    let pct = line.vat_percent.unwrap_or(Decimal::ZERO);
    inv.vat
        .iter()
        .find(|v| v.percent == Some(pct) && v.category.is_some())
        .and_then(|v| v.category.clone())
        .unwrap_or_else(|| if pct.is_zero() { "Z" } else { "S" }.to_string())
}

// ---------------------------------------------------------------------------
// UBL 2.1

/// The invoice as a UBL 2.1 `Invoice` (EN 16931 CIUS-free core).
pub fn ubl(inv: &EInvoice) -> String {
    let mut x = Xml::new();
    x.open_with(
        "Invoice",
        &[("xmlns", UBL_NS), ("xmlns:cac", CAC), ("xmlns:cbc", CBC)],
    );
    x.leaf("cbc:CustomizationID", "urn:cen.eu:en16931:2017");
    x.leaf("cbc:ID", &inv.number);
    x.leaf("cbc:IssueDate", &inv.issue_date.to_string());
    if let Some(d) = inv.due_date {
        x.leaf("cbc:DueDate", &d.to_string());
    }
    x.leaf("cbc:InvoiceTypeCode", "380");
    for n in &inv.notes {
        x.leaf("cbc:Note", n);
    }
    x.leaf("cbc:DocumentCurrencyCode", &inv.currency);
    x.opt("cbc:BuyerReference", inv.buyer_reference.as_deref());
    ubl_period(&mut x, inv.period_start, inv.period_end);
    if let Some(o) = &inv.order_reference {
        x.open("cac:OrderReference");
        x.leaf("cbc:ID", o);
        x.close("cac:OrderReference");
    }
    x.open("cac:AccountingSupplierParty");
    ubl_party(&mut x, &inv.seller);
    x.close("cac:AccountingSupplierParty");
    x.open("cac:AccountingCustomerParty");
    ubl_party(&mut x, &inv.buyer);
    x.close("cac:AccountingCustomerParty");
    let cur: &[(&str, &str)] = &[("currencyID", &inv.currency)];
    x.open("cac:TaxTotal");
    x.leaf_with("cbc:TaxAmount", cur, &dec(inv.vat_total));
    for v in &inv.vat {
        x.open("cac:TaxSubtotal");
        x.leaf_with("cbc:TaxableAmount", cur, &dec(v.taxable));
        x.leaf_with("cbc:TaxAmount", cur, &dec(v.tax));
        x.open("cac:TaxCategory");
        x.opt("cbc:ID", v.category.as_deref());
        x.opt("cbc:Percent", v.percent.map(dec).as_deref());
        ubl_vat_scheme(&mut x);
        x.close("cac:TaxCategory");
        x.close("cac:TaxSubtotal");
    }
    x.close("cac:TaxTotal");
    x.open("cac:LegalMonetaryTotal");
    x.leaf_with("cbc:LineExtensionAmount", cur, &dec(inv.line_total));
    x.leaf_with("cbc:TaxExclusiveAmount", cur, &dec(inv.tax_exclusive));
    x.leaf_with("cbc:TaxInclusiveAmount", cur, &dec(inv.tax_inclusive));
    if !inv.allowance_total.is_zero() {
        x.leaf_with("cbc:AllowanceTotalAmount", cur, &dec(inv.allowance_total));
    }
    if !inv.charge_total.is_zero() {
        x.leaf_with("cbc:ChargeTotalAmount", cur, &dec(inv.charge_total));
    }
    if !inv.prepaid.is_zero() {
        x.leaf_with("cbc:PrepaidAmount", cur, &dec(inv.prepaid));
    }
    if !inv.rounding.is_zero() {
        x.leaf_with("cbc:PayableRoundingAmount", cur, &dec(inv.rounding));
    }
    x.leaf_with("cbc:PayableAmount", cur, &dec(inv.payable));
    x.close("cac:LegalMonetaryTotal");
    for l in &inv.lines {
        x.open("cac:InvoiceLine");
        x.leaf("cbc:ID", &l.id);
        let q = dec(l.quantity);
        match &l.unit_code {
            Some(u) => x.leaf_with("cbc:InvoicedQuantity", &[("unitCode", u)], &q),
            None => x.leaf("cbc:InvoicedQuantity", &q),
        }
        x.leaf_with("cbc:LineExtensionAmount", cur, &dec(l.net_amount));
        ubl_period(&mut x, l.period_start, l.period_end);
        x.open("cac:Item");
        x.leaf("cbc:Name", &l.description);
        if let Some(p) = l.vat_percent {
            x.open("cac:ClassifiedTaxCategory");
            x.leaf("cbc:ID", &line_category(inv, l));
            x.leaf("cbc:Percent", &dec(p));
            ubl_vat_scheme(&mut x);
            x.close("cac:ClassifiedTaxCategory");
        }
        x.close("cac:Item");
        x.open("cac:Price");
        x.leaf_with("cbc:PriceAmount", cur, &dec(l.unit_price));
        x.close("cac:Price");
        x.close("cac:InvoiceLine");
    }
    x.close("Invoice");
    x.out
}

fn ubl_vat_scheme(x: &mut Xml) {
    x.open("cac:TaxScheme");
    x.leaf("cbc:ID", "VAT");
    x.close("cac:TaxScheme");
}

fn ubl_period(x: &mut Xml, start: Option<Date>, end: Option<Date>) {
    if start.is_none() && end.is_none() {
        return;
    }
    x.open("cac:InvoicePeriod");
    x.opt("cbc:StartDate", start.map(|d| d.to_string()).as_deref());
    x.opt("cbc:EndDate", end.map(|d| d.to_string()).as_deref());
    x.close("cac:InvoicePeriod");
}

fn ubl_party(x: &mut Xml, p: &TradeParty) {
    x.open("cac:Party");
    x.open("cac:PartyName");
    x.leaf("cbc:Name", &p.name);
    x.close("cac:PartyName");
    if let Some(v) = &p.vat_id {
        x.open("cac:PartyTaxScheme");
        x.leaf("cbc:CompanyID", v);
        ubl_vat_scheme(x);
        x.close("cac:PartyTaxScheme");
    }
    x.open("cac:PartyLegalEntity");
    x.leaf("cbc:RegistrationName", &p.name);
    x.opt("cbc:CompanyID", p.code.as_deref());
    x.close("cac:PartyLegalEntity");
    x.close("cac:Party");
}

// ---------------------------------------------------------------------------
// CII D16B

/// The invoice as a UN/CEFACT CII D16B `CrossIndustryInvoice` (EN 16931-3-3).
pub fn cii(inv: &EInvoice) -> String {
    let mut x = Xml::new();
    x.open_with(
        "rsm:CrossIndustryInvoice",
        &[
            ("xmlns:rsm", CII_NS),
            ("xmlns:ram", RAM),
            ("xmlns:udt", UDT),
            ("xmlns:qdt", QDT),
        ],
    );
    x.open("rsm:ExchangedDocumentContext");
    x.open("ram:GuidelineSpecifiedDocumentContextParameter");
    x.leaf("ram:ID", "urn:cen.eu:en16931:2017");
    x.close("ram:GuidelineSpecifiedDocumentContextParameter");
    x.close("rsm:ExchangedDocumentContext");
    x.open("rsm:ExchangedDocument");
    x.leaf("ram:ID", &inv.number);
    x.leaf("ram:TypeCode", "380");
    cii_datetime(&mut x, "ram:IssueDateTime", inv.issue_date);
    for n in &inv.notes {
        x.open("ram:IncludedNote");
        x.leaf("ram:Content", n);
        x.close("ram:IncludedNote");
    }
    x.close("rsm:ExchangedDocument");
    x.open("rsm:SupplyChainTradeTransaction");
    let cur: &[(&str, &str)] = &[("currencyID", &inv.currency)];
    for l in &inv.lines {
        x.open("ram:IncludedSupplyChainTradeLineItem");
        x.open("ram:AssociatedDocumentLineDocument");
        x.leaf("ram:LineID", &l.id);
        x.close("ram:AssociatedDocumentLineDocument");
        x.open("ram:SpecifiedTradeProduct");
        x.leaf("ram:Name", &l.description);
        x.close("ram:SpecifiedTradeProduct");
        x.open("ram:SpecifiedLineTradeAgreement");
        x.open("ram:NetPriceProductTradePrice");
        x.leaf("ram:ChargeAmount", &dec(l.unit_price));
        x.close("ram:NetPriceProductTradePrice");
        x.close("ram:SpecifiedLineTradeAgreement");
        x.open("ram:SpecifiedLineTradeDelivery");
        let q = dec(l.quantity);
        match &l.unit_code {
            Some(u) => x.leaf_with("ram:BilledQuantity", &[("unitCode", u)], &q),
            None => x.leaf("ram:BilledQuantity", &q),
        }
        x.close("ram:SpecifiedLineTradeDelivery");
        x.open("ram:SpecifiedLineTradeSettlement");
        if let Some(p) = l.vat_percent {
            x.open("ram:ApplicableTradeTax");
            x.leaf("ram:TypeCode", "VAT");
            x.leaf("ram:CategoryCode", &line_category(inv, l));
            x.leaf("ram:RateApplicablePercent", &dec(p));
            x.close("ram:ApplicableTradeTax");
        }
        cii_period(&mut x, l.period_start, l.period_end);
        x.open("ram:SpecifiedTradeSettlementLineMonetarySummation");
        x.leaf("ram:LineTotalAmount", &dec(l.net_amount));
        x.close("ram:SpecifiedTradeSettlementLineMonetarySummation");
        x.close("ram:SpecifiedLineTradeSettlement");
        x.close("ram:IncludedSupplyChainTradeLineItem");
    }
    x.open("ram:ApplicableHeaderTradeAgreement");
    x.opt("ram:BuyerReference", inv.buyer_reference.as_deref());
    cii_party(&mut x, "ram:SellerTradeParty", &inv.seller);
    cii_party(&mut x, "ram:BuyerTradeParty", &inv.buyer);
    if let Some(o) = &inv.order_reference {
        x.open("ram:BuyerOrderReferencedDocument");
        x.leaf("ram:IssuerAssignedID", o);
        x.close("ram:BuyerOrderReferencedDocument");
    }
    x.close("ram:ApplicableHeaderTradeAgreement");
    x.open("ram:ApplicableHeaderTradeDelivery");
    x.close("ram:ApplicableHeaderTradeDelivery");
    x.open("ram:ApplicableHeaderTradeSettlement");
    x.leaf("ram:InvoiceCurrencyCode", &inv.currency);
    for v in &inv.vat {
        x.open("ram:ApplicableTradeTax");
        x.leaf("ram:CalculatedAmount", &dec(v.tax));
        x.leaf("ram:TypeCode", "VAT");
        x.leaf("ram:BasisAmount", &dec(v.taxable));
        x.opt("ram:CategoryCode", v.category.as_deref());
        x.opt("ram:RateApplicablePercent", v.percent.map(dec).as_deref());
        x.close("ram:ApplicableTradeTax");
    }
    cii_period(&mut x, inv.period_start, inv.period_end);
    if let Some(d) = inv.due_date {
        x.open("ram:SpecifiedTradePaymentTerms");
        cii_datetime(&mut x, "ram:DueDateDateTime", d);
        x.close("ram:SpecifiedTradePaymentTerms");
    }
    x.open("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    x.leaf("ram:LineTotalAmount", &dec(inv.line_total));
    if !inv.charge_total.is_zero() {
        x.leaf("ram:ChargeTotalAmount", &dec(inv.charge_total));
    }
    if !inv.allowance_total.is_zero() {
        x.leaf("ram:AllowanceTotalAmount", &dec(inv.allowance_total));
    }
    x.leaf("ram:TaxBasisTotalAmount", &dec(inv.tax_exclusive));
    x.leaf_with("ram:TaxTotalAmount", cur, &dec(inv.vat_total));
    if !inv.rounding.is_zero() {
        x.leaf("ram:RoundingAmount", &dec(inv.rounding));
    }
    x.leaf("ram:GrandTotalAmount", &dec(inv.tax_inclusive));
    if !inv.prepaid.is_zero() {
        x.leaf("ram:TotalPrepaidAmount", &dec(inv.prepaid));
    }
    x.leaf("ram:DuePayableAmount", &dec(inv.payable));
    x.close("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    x.close("ram:ApplicableHeaderTradeSettlement");
    x.close("rsm:SupplyChainTradeTransaction");
    x.close("rsm:CrossIndustryInvoice");
    x.out
}

fn cii_datetime(x: &mut Xml, tag: &str, d: Date) {
    x.open(tag);
    x.leaf_with("udt:DateTimeString", &[("format", "102")], &cii_date(d));
    x.close(tag);
}

fn cii_period(x: &mut Xml, start: Option<Date>, end: Option<Date>) {
    if start.is_none() && end.is_none() {
        return;
    }
    x.open("ram:BillingSpecifiedPeriod");
    if let Some(s) = start {
        cii_datetime(x, "ram:StartDateTime", s);
    }
    if let Some(e) = end {
        cii_datetime(x, "ram:EndDateTime", e);
    }
    x.close("ram:BillingSpecifiedPeriod");
}

fn cii_party(x: &mut Xml, tag: &str, p: &TradeParty) {
    x.open(tag);
    x.leaf("ram:Name", &p.name);
    if let Some(c) = &p.code {
        x.open("ram:SpecifiedLegalOrganization");
        x.leaf("ram:ID", c);
        x.close("ram:SpecifiedLegalOrganization");
    }
    if let Some(v) = &p.vat_id {
        x.open("ram:SpecifiedTaxRegistration");
        x.leaf_with("ram:ID", &[("schemeID", "VA")], v);
        x.close("ram:SpecifiedTaxRegistration");
    }
    x.close(tag);
}

// ---------------------------------------------------------------------------
// e-arve 1.2

/// The invoice as an Estonian e-arve 1.2 `E_Invoice` holding one `Invoice`.
pub fn earve(inv: &EInvoice) -> String {
    let mut x = Xml::new();
    x.open("E_Invoice");
    x.open("Header");
    x.leaf("Date", &inv.issue_date.to_string());
    x.leaf("FileId", &inv.number);
    x.leaf("Version", "1.2");
    x.close("Header");
    let buyer_code = inv.buyer.code.clone().unwrap_or_default();
    let seller_code = inv.seller.code.clone().unwrap_or_default();
    x.open_with(
        "Invoice",
        &[
            ("invoiceId", &inv.number),
            ("regNumber", &buyer_code),
            ("sellerRegnumber", &seller_code),
        ],
    );
    x.open("InvoiceParties");
    earve_party(&mut x, "SellerParty", &inv.seller);
    earve_party(&mut x, "BuyerParty", &inv.buyer);
    x.close("InvoiceParties");
    x.open("InvoiceInformation");
    x.open_with("Type", &[("type", "DEB")]);
    x.close("Type");
    x.opt("ContractNumber", inv.buyer_reference.as_deref());
    x.leaf("DocumentName", "Arve");
    x.leaf("InvoiceNumber", &inv.number);
    x.opt("InvoiceContentText", inv.notes.first().map(String::as_str));
    x.leaf("InvoiceDate", &inv.issue_date.to_string());
    if let Some(d) = inv.due_date {
        x.leaf("DueDate", &d.to_string());
    }
    if inv.period_start.is_some() || inv.period_end.is_some() {
        x.open("Period");
        x.opt(
            "StartDate",
            inv.period_start.map(|d| d.to_string()).as_deref(),
        );
        x.opt("EndDate", inv.period_end.map(|d| d.to_string()).as_deref());
        x.close("Period");
    }
    x.close("InvoiceInformation");
    x.open("InvoiceSumGroup");
    x.leaf("InvoiceSum", &dec(inv.line_total));
    if !inv.rounding.is_zero() {
        x.leaf("Rounding", &dec(inv.rounding));
    }
    for v in &inv.vat {
        earve_vat(&mut x, v, &inv.currency);
    }
    x.leaf("TotalVATSum", &dec(inv.vat_total));
    x.leaf("TotalSum", &dec(inv.tax_inclusive));
    x.leaf("TotalToPay", &dec(inv.payable));
    x.leaf("Currency", &inv.currency);
    x.close("InvoiceSumGroup");
    x.open("InvoiceItem");
    x.open("InvoiceItemGroup");
    for l in &inv.lines {
        x.open("ItemEntry");
        x.leaf("RowNo", &l.id);
        x.leaf("Description", &l.description);
        x.open("ItemDetailInfo");
        x.opt("ItemUnit", l.unit_code.as_deref());
        x.leaf("ItemAmount", &dec(l.quantity));
        x.leaf("ItemPrice", &dec(l.unit_price));
        x.close("ItemDetailInfo");
        x.leaf("ItemSum", &dec(l.net_amount));
        if let Some(p) = l.vat_percent {
            let tax = (l.net_amount * p / Decimal::ONE_HUNDRED).round_dp(2);
            x.open("VAT");
            x.leaf("VATRate", &dec(p));
            x.leaf("VATSum", &dec(tax));
            x.close("VAT");
            x.leaf("ItemTotal", &dec(l.net_amount + tax));
        }
        x.close("ItemEntry");
    }
    x.close("InvoiceItemGroup");
    x.close("InvoiceItem");
    for (i, n) in inv.notes.iter().enumerate().skip(1) {
        x.open_with(
            "AdditionalInformation",
            &[("extensionId", &format!("note{i}"))],
        );
        x.leaf("InformationName", "Märkus");
        x.leaf("InformationContent", n);
        x.close("AdditionalInformation");
    }
    x.open("PaymentInfo");
    x.leaf("Currency", &inv.currency);
    x.leaf("PaymentDescription", &inv.number);
    x.leaf("Payable", if inv.payable.is_zero() { "NO" } else { "YES" });
    if let Some(d) = inv.due_date {
        x.leaf("PayDueDate", &d.to_string());
    }
    x.leaf("PaymentTotalSum", &dec(inv.payable));
    x.leaf("PayerName", &inv.buyer.name);
    x.leaf("PaymentId", &inv.number);
    x.leaf("PayToAccount", "");
    x.leaf("PayToName", &inv.seller.name);
    x.close("PaymentInfo");
    x.close("Invoice");
    x.open("Footer");
    x.leaf("TotalNumberInvoices", "1");
    x.leaf("TotalAmount", &dec(inv.payable));
    x.close("Footer");
    x.close("E_Invoice");
    x.out
}

fn earve_party(x: &mut Xml, tag: &str, p: &TradeParty) {
    x.open(tag);
    x.leaf("Name", &p.name);
    x.opt("RegNumber", p.code.as_deref());
    x.opt("VATRegNumber", p.vat_id.as_deref());
    x.close(tag);
}

fn earve_vat(x: &mut Xml, v: &VatBreakdown, currency: &str) {
    x.open("VAT");
    x.leaf("SumBeforeVAT", &dec(v.taxable));
    x.leaf("VATRate", &dec(v.percent.unwrap_or(Decimal::ZERO)));
    x.leaf("VATSum", &dec(v.tax));
    x.leaf("Currency", currency);
    x.leaf("SumAfterVAT", &dec(v.taxable + v.tax));
    x.close("VAT");
}

// ---------------------------------------------------------------------------
// The sample

/// A psychologist's invoice to the Social Insurance Board: four counselling
/// sessions of 60.00 EUR in November 2026, VAT-exempt (category E, 0 %), due
/// 30 days after issue. It adds up; in e-arve it leaves out what e-arve cannot
/// carry (the VAT category and the line period), so that every sample reads
/// back as itself.
pub fn sample(syntax: Syntax) -> EInvoice {
    let issue_date = jiff::civil::date(2026, 12, 1);
    let due_date = issue_date.checked_add(30.days()).ok();
    let earve = syntax == Syntax::EArve;
    let (start, end) = (
        jiff::civil::date(2026, 11, 1),
        jiff::civil::date(2026, 11, 30),
    );
    let price = Decimal::new(6000, 2);
    let quantity = Decimal::from(4);
    let net = price * quantity;
    EInvoice {
        syntax,
        number: "2026-118".into(),
        issue_date,
        due_date,
        currency: "EUR".into(),
        seller: TradeParty {
            name: "Hingeabi OÜ".into(),
            code: Some("12345678".into()),
            vat_id: None,
        },
        buyer: TradeParty {
            name: "Sotsiaalkindlustusamet".into(),
            code: Some("70001975".into()),
            vat_id: None,
        },
        buyer_reference: Some("SK-2026-0042".into()),
        order_reference: None,
        period_start: Some(start),
        period_end: Some(end),
        notes: vec!["Ohvriabi suunamiskirja alusel osutatud nõustamine.".into()],
        lines: vec![InvoiceLine {
            id: "1".into(),
            description: "Psühholoogiline nõustamine".into(),
            quantity,
            unit_code: Some(if earve { "seanss" } else { "C62" }.into()),
            unit_price: price,
            net_amount: net,
            vat_percent: Some(Decimal::ZERO),
            period_start: (!earve).then_some(start),
            period_end: (!earve).then_some(end),
        }],
        vat: vec![VatBreakdown {
            category: (!earve).then(|| "E".to_string()),
            percent: Some(Decimal::ZERO),
            taxable: net,
            tax: Decimal::ZERO,
        }],
        line_total: net,
        allowance_total: Decimal::ZERO,
        charge_total: Decimal::ZERO,
        tax_exclusive: net,
        vat_total: Decimal::ZERO,
        tax_inclusive: net,
        prepaid: Decimal::ZERO,
        rounding: Decimal::ZERO,
        payable: net,
    }
}

/// Makes the invoice add up again after its lines were changed (a test that
/// takes [`sample`] and sets another quantity or price calls this): each line's
/// net amount is quantity × price rounded to cents, the VAT breakdown is
/// rebuilt per rate (a rate keeps the category it had; document allowances
/// and charges go to the first rate), and the totals follow (BR-CO-10…16).
pub fn recompute(inv: &mut EInvoice) {
    for l in &mut inv.lines {
        l.net_amount = (l.quantity * l.unit_price).round_dp(2);
    }
    inv.line_total = inv.lines.iter().map(|l| l.net_amount).sum();
    inv.tax_exclusive = inv.line_total - inv.allowance_total + inv.charge_total;
    let mut rates: Vec<Option<Decimal>> = Vec::new();
    for l in &inv.lines {
        if !rates.contains(&l.vat_percent) {
            rates.push(l.vat_percent);
        }
    }
    let old = std::mem::take(&mut inv.vat);
    inv.vat = rates
        .iter()
        .enumerate()
        .map(|(i, pct)| {
            let mut taxable: Decimal = inv
                .lines
                .iter()
                .filter(|l| l.vat_percent == *pct)
                .map(|l| l.net_amount)
                .sum();
            if i == 0 {
                taxable = taxable - inv.allowance_total + inv.charge_total;
            }
            let rate = pct.unwrap_or(Decimal::ZERO);
            VatBreakdown {
                category: old
                    .iter()
                    .find(|v| v.percent == Some(rate))
                    .and_then(|v| v.category.clone()),
                percent: Some(rate),
                taxable,
                tax: (taxable * rate / Decimal::ONE_HUNDRED).round_dp(2),
            }
        })
        .collect();
    inv.vat_total = inv.vat.iter().map(|v| v.tax).sum();
    inv.tax_inclusive = inv.tax_exclusive + inv.vat_total;
    inv.payable = inv.tax_inclusive - inv.prepaid + inv.rounding;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recompute_makes_a_changed_sample_add_up() {
        let mut inv = sample(Syntax::Ubl);
        inv.lines[0].quantity = Decimal::from(6);
        recompute(&mut inv);
        assert_eq!(crate::invoice::arith::check(&inv), Vec::<String>::new());
        assert_eq!(inv.payable, Decimal::new(36000, 2));
        assert_eq!(inv.vat[0].category.as_deref(), Some("E"));
        inv.lines.push(InvoiceLine {
            id: "2".into(),
            description: "Sõidukulu".into(),
            quantity: Decimal::ONE,
            unit_code: None,
            unit_price: Decimal::new(1000, 2),
            net_amount: Decimal::ZERO,
            vat_percent: Some(Decimal::from(24)),
            period_start: None,
            period_end: None,
        });
        recompute(&mut inv);
        assert_eq!(crate::invoice::arith::check(&inv), Vec::<String>::new());
        assert_eq!(inv.vat_total, Decimal::new(240, 2));
        assert_eq!(inv.payable, Decimal::new(37240, 2));
    }

    #[test]
    fn escape_handles_markup_and_control_characters() {
        assert_eq!(escape("a<b>&\"c'\u{1}\n"), "a&lt;b&gt;&amp;&quot;c'&#10;");
    }

    #[test]
    fn the_sample_adds_up_in_every_syntax() {
        for s in [Syntax::Ubl, Syntax::Cii, Syntax::EArve] {
            let inv = sample(s);
            assert_eq!(crate::invoice::arith::check(&inv), Vec::<String>::new());
            assert_eq!(inv.due_date, Some(jiff::civil::date(2026, 12, 31)));
        }
    }
}
