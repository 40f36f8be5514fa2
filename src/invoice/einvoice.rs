//! The e-invoice as docgate keeps it (pure data, no IO): what EN 16931 calls
//! the core invoice model, read from any of the three syntaxes docgate takes
//! (UBL 2.1, UN/CEFACT CII D16B, Estonian e-arve 1.2). Amounts are exact
//! decimals (`rust_decimal`), serialized as strings ("120.00").

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The syntax an e-invoice came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Syntax {
    /// OASIS UBL 2.1 `Invoice` (EN 16931-3-2).
    #[serde(rename = "ubl-2.1")]
    Ubl,
    /// UN/CEFACT Cross Industry Invoice D16B (EN 16931-3-3).
    #[serde(rename = "cii-d16b")]
    Cii,
    /// The Estonian e-arve 1.2 (`E_Invoice`, EVS 923).
    #[serde(rename = "e-arve-1.2")]
    EArve,
}

impl Syntax {
    pub fn as_str(self) -> &'static str {
        match self {
            Syntax::Ubl => "ubl-2.1",
            Syntax::Cii => "cii-d16b",
            Syntax::EArve => "e-arve-1.2",
        }
    }
}

impl std::str::FromStr for Syntax {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "ubl-2.1" => Ok(Syntax::Ubl),
            "cii-d16b" => Ok(Syntax::Cii),
            "e-arve-1.2" => Ok(Syntax::EArve),
            _ => Err(format!("unknown e-invoice syntax {s:?}")),
        }
    }
}

/// The seller or the buyer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeParty {
    pub name: String,
    /// The legal registration (registry) code: UBL `PartyLegalEntity/CompanyID`,
    /// CII `SpecifiedLegalOrganization/ID`, e-arve `RegNumber`.
    pub code: Option<String>,
    /// The VAT identifier (EE…), if given.
    pub vat_id: Option<String>,
}

/// One invoice line (EN 16931 BG-25).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub id: String,
    /// The item's name and description, joined.
    pub description: String,
    /// Invoiced quantity (BT-129).
    pub quantity: Decimal,
    /// Its unit (UN/ECE Rec 20 code such as "HUR" for hours, or e-arve's free text).
    pub unit_code: Option<String>,
    /// Net price per unit (BT-146).
    pub unit_price: Decimal,
    /// Line net amount (BT-131).
    pub net_amount: Decimal,
    /// VAT rate of the line in percent (BT-152), if given.
    pub vat_percent: Option<Decimal>,
    /// The line's service period (BG-26), if given.
    pub period_start: Option<Date>,
    pub period_end: Option<Date>,
}

/// One VAT breakdown row (EN 16931 BG-23).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatBreakdown {
    /// VAT category code (BT-118): S, Z, E, AE, O…
    pub category: Option<String>,
    pub percent: Option<Decimal>,
    /// Taxable amount (BT-116).
    pub taxable: Decimal,
    /// Tax amount (BT-117).
    pub tax: Decimal,
}

/// An e-invoice as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EInvoice {
    pub syntax: Syntax,
    /// Invoice number (BT-1).
    pub number: String,
    /// Issue date (BT-2).
    pub issue_date: Date,
    /// Payment due date (BT-9), if given.
    pub due_date: Option<Date>,
    /// Invoice currency (BT-5), ISO 4217.
    pub currency: String,
    pub seller: TradeParty,
    pub buyer: TradeParty,
    /// Buyer reference (BT-10): where the buyer asks its reference (our
    /// referral number) to be quoted.
    pub buyer_reference: Option<String>,
    /// Purchase order reference (BT-13).
    pub order_reference: Option<String>,
    /// The invoicing period (BG-14), if given.
    pub period_start: Option<Date>,
    pub period_end: Option<Date>,
    /// Free-text notes of the invoice (BT-22), in order.
    pub notes: Vec<String>,
    pub lines: Vec<InvoiceLine>,
    pub vat: Vec<VatBreakdown>,
    /// Sum of the line net amounts (BT-106).
    pub line_total: Decimal,
    /// Document-level allowances (BT-107) and charges (BT-108); zero when absent.
    pub allowance_total: Decimal,
    pub charge_total: Decimal,
    /// Total without VAT (BT-109).
    pub tax_exclusive: Decimal,
    /// Total VAT (BT-110); zero when absent.
    pub vat_total: Decimal,
    /// Total with VAT (BT-112).
    pub tax_inclusive: Decimal,
    /// Paid in advance (BT-113); zero when absent.
    pub prepaid: Decimal,
    /// Rounding (BT-114); zero when absent.
    pub rounding: Decimal,
    /// Amount due for payment (BT-115).
    pub payable: Decimal,
}

impl EInvoice {
    /// Every free text of the invoice, for finding a referral number or a
    /// person in it: the references, the notes and the line descriptions.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.buyer_reference
            .iter()
            .chain(self.order_reference.iter())
            .map(String::as_str)
            .chain(self.notes.iter().map(String::as_str))
            .chain(self.lines.iter().map(|l| l.description.as_str()))
    }

    /// The earliest and latest service date the invoice names: its period, its
    /// lines' periods; None when it names none.
    pub fn service_span(&self) -> Option<(Date, Date)> {
        let dates: Vec<Date> = self
            .period_start
            .iter()
            .chain(self.period_end.iter())
            .chain(
                self.lines
                    .iter()
                    .flat_map(|l| l.period_start.iter().chain(l.period_end.iter())),
            )
            .copied()
            .collect();
        Some((*dates.iter().min()?, *dates.iter().max()?))
    }

    /// The invoice as a reader sees it, in Estonian: the heading facts, the
    /// lines and the totals (the document's text instead of the markup).
    pub fn readable_et(&self) -> String {
        let mut t = format!("Arve nr {}\nKuupäev: {}", self.number, self.issue_date);
        if let Some(d) = self.due_date {
            t.push_str(&format!("\nMaksetähtaeg: {d}"));
        }
        let party = |p: &TradeParty| {
            let mut s = p.name.clone();
            if let Some(c) = &p.code {
                s.push_str(&format!(", registrikood {c}"));
            }
            if let Some(v) = &p.vat_id {
                s.push_str(&format!(", KMKR {v}"));
            }
            s
        };
        t.push_str(&format!(
            "\nMüüja: {}\nOstja: {}",
            party(&self.seller),
            party(&self.buyer)
        ));
        if let Some(r) = &self.buyer_reference {
            t.push_str(&format!("\nOstja viide: {r}"));
        }
        if let Some(r) = &self.order_reference {
            t.push_str(&format!("\nTellimuse viide: {r}"));
        }
        if let (Some(a), Some(b)) = (self.period_start, self.period_end) {
            t.push_str(&format!("\nPeriood: {a} – {b}"));
        }
        for n in &self.notes {
            t.push_str(&format!("\nMärkus: {n}"));
        }
        t.push_str("\nRead:");
        for l in &self.lines {
            t.push_str(&format!(
                "\n{}. {}: {} {} × {} = {} {}",
                l.id,
                l.description,
                l.quantity.normalize(),
                l.unit_code.as_deref().unwrap_or(""),
                l.unit_price,
                l.net_amount,
                self.currency
            ));
        }
        t.push_str(&format!(
            "\nSumma käibemaksuta: {}\nKäibemaks: {}\nSumma käibemaksuga: {}\nTasuda: {} {}",
            self.tax_exclusive, self.vat_total, self.tax_inclusive, self.payable, self.currency
        ));
        t
    }

    /// Total invoiced quantity over the lines.
    pub fn total_quantity(&self) -> Decimal {
        self.lines.iter().map(|l| l.quantity).sum()
    }
}
