//! The register's side of referrals and invoices (`impl Register`): reading an
//! incoming document as an invoice before its transaction, recording the
//! referral or the invoice (matched and checked) in the registering
//! transaction, the lead's decision, and the reads behind `invoice` and
//! `referrals`. Only the register writes these tables.

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::checks::{self, Check, Evidence, Match, Method, Usage};
use super::config::PaymentTerm;
use super::einvoice::{EInvoice, TradeParty};
use super::referral::{NewReferral, Referral, ReferralUnit};
use crate::error::{Error, Result};
use crate::lifecycle::parse_stored_date;
use crate::model::{Direction, Document, NewDocument, Party, PartyKind, PartyRole};
use crate::register::Register;
use crate::store::Tx;

/// The deadline rule of an invoice's payment term (config/deadlines.toml).
pub const PAYMENT_RULE: &str = "arve-maksetahtaeg";
/// The document kind of an invoice and of a referral letter.
pub const INVOICE_KIND: &str = "arve";
pub const REFERRAL_KIND: &str = "suunamiskiri";
/// Audit-chain kinds.
pub const KIND_REFERRAL: &str = "referral_registered";
pub const KIND_INVOICE: &str = "invoice_received";
pub const KIND_LINKED: &str = "invoice_linked";
pub const KIND_APPROVED: &str = "invoice_approved";
pub const KIND_REJECTED: &str = "invoice_rejected";

/// What a PDF invoice's text tells.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PdfFacts {
    pub number: Option<String>,
    pub total: Option<Decimal>,
    pub due_date: Option<Date>,
    /// The text read (bounded), for matching.
    #[serde(skip)]
    pub text: String,
}

/// An incoming document read as an invoice, before its transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// "ubl-2.1", "cii-d16b", "e-arve-1.2" or "pdf".
    pub syntax: String,
    pub invoice: Option<EInvoice>,
    pub pdf: Option<PdfFacts>,
    /// Syntax and XSD errors, for the clerk.
    pub errors: Vec<String>,
}

/// An invoice as `invoice show` gives it (a contract of `--json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvoiceView {
    pub reg_no: String,
    pub title: String,
    pub syntax: String,
    pub number: Option<String>,
    pub seller: TradeParty,
    pub issue_date: Option<Date>,
    pub due_date: Option<Date>,
    /// The payment deadline: `due_date`, or the agency's term from receipt.
    pub payment_due: Option<Date>,
    pub currency: Option<String>,
    pub total: Option<Decimal>,
    /// The referral number it is linked to.
    pub referral: Option<String>,
    pub match_method: Option<String>,
    /// Referral numbers that fit when it could not be linked.
    pub candidates: Vec<String>,
    /// open, overdue (open past its payment deadline), approved or rejected.
    pub state: String,
    pub checks: Vec<Check>,
    pub errors: Vec<String>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    #[serde(skip)]
    pub doc_id: i64,
    #[serde(skip)]
    pub data: Option<EInvoice>,
}

/// One row of the spend report: per provider, service and month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendRow {
    pub month: String,
    pub provider: String,
    pub provider_code: String,
    pub service: String,
    pub invoices: i64,
    pub units: Decimal,
    pub amount: Decimal,
    /// What the referrals behind these invoices allow in all.
    pub referred_units: Decimal,
    pub referred_limit: Option<Decimal>,
}

fn dec(s: Option<String>) -> Option<Decimal> {
    s.and_then(|s| s.parse().ok())
}

fn opt_date(s: Option<String>) -> Result<Option<Date>> {
    s.map(|s| parse_stored_date(&s)).transpose()
}

const REF_COLS: &str = "r.doc_id, d.reg_no, r.number, r.provider_code, r.provider_name, r.person_name, r.person_code, r.service, r.unit, r.units, r.unit_price_limit, r.total_limit, r.valid_from, r.valid_to";

fn referral_from_row(r: &sqlx::any::AnyRow) -> Result<Referral> {
    let units: Decimal = dec(r.try_get("units")?).unwrap_or_default();
    Ok(Referral {
        doc_id: r.try_get("doc_id")?,
        reg_no: r.try_get("reg_no")?,
        number: r.try_get("number")?,
        provider: TradeParty {
            name: r.try_get("provider_name")?,
            code: Some(r.try_get("provider_code")?),
            vat_id: None,
        },
        person: r.try_get("person_name")?,
        person_code: r.try_get("person_code")?,
        service: r.try_get("service")?,
        unit: r
            .try_get::<String, _>("unit")?
            .parse()
            .unwrap_or(ReferralUnit::Sessions),
        units,
        unit_price_limit: dec(r.try_get("unit_price_limit")?),
        total_limit: dec(r.try_get("total_limit")?),
        valid_from: parse_stored_date(&r.try_get::<String, _>("valid_from")?)?,
        valid_to: parse_stored_date(&r.try_get::<String, _>("valid_to")?)?,
        units_used: Decimal::ZERO,
        units_remaining: units,
        amount_used: Decimal::ZERO,
        invoices: Vec::new(),
    })
}

/// Largest text of a PDF invoice read for its facts.
const PDF_TEXT: usize = 256 * 1024;

/// The facts a PDF invoice's text gives: its number, total and due date.
pub fn pdf_facts(text: &str) -> PdfFacts {
    let text: String = text.chars().take(PDF_TEXT).collect();
    let re = |p: &str| {
        regex::RegexBuilder::new(p)
            .case_insensitive(true)
            .build()
            .ok()
    };
    let number = re(r"\b(?:arve|invoice)\s*(?:nr|number|no)?\.?\s*[:#]?\s*([A-Za-z0-9][A-Za-z0-9\-/_.]{0,39}[A-Za-z0-9])")
        .and_then(|r| r.captures(&text).and_then(|c| c.get(1)).map(|m| m.as_str().to_string()));
    let total = re(r"\b(?:tasuda|kokku tasuda|summa kokku|kokku|total)\b[^0-9\n]{0,30}(\d{1,9}(?:[ \u{a0}]\d{3})*[.,]\d{2})")
        .and_then(|r| {
            r.captures_iter(&text)
                .filter_map(|c| c.get(1))
                .last()
                .and_then(|m| m.as_str().replace([' ', '\u{a0}'], "").replace(',', ".").parse().ok())
        });
    let due_date = re(r"\b(?:maksetähtaeg|tasuda hiljemalt|due date)\b[^0-9\n]{0,20}(\d{1,2})\.(\d{1,2})\.(\d{4})")
        .and_then(|r| r.captures(&text))
        .and_then(|c| {
            let n = |i: usize| c.get(i)?.as_str().parse::<i16>().ok();
            Date::new(n(3)?, n(2)? as i8, n(1)? as i8).ok()
        });
    PdfFacts {
        number,
        total,
        due_date,
        text,
    }
}

fn invoice_word(text: &str) -> bool {
    let t = text.to_lowercase();
    t.split(|c: char| !c.is_alphanumeric())
        .any(|w| matches!(w, "arve" | "arvet" | "arvel" | "invoice" | "e-arve"))
}

impl Register {
    /// Reads an incoming document as an invoice, before its transaction: an
    /// XML file that is an e-invoice (parsed, then validated against its XSD
    /// by xmllint on a blocking thread), else a document of kind "arve", or
    /// one whose text names an invoice and quotes a referral number, by its
    /// text. Sets the kind, the payment-term rule and (for a title that is a
    /// file name) the title; adds the seller as the sender when the document
    /// has no party.
    pub async fn read_invoice(&self, new: &mut NewDocument) -> Result<()> {
        if new.invoice.is_some() || new.direction != Direction::Incoming || new.referral.is_some() {
            return Ok(());
        }
        let cfg = &self.config().invoices;
        let xml = new.files.iter().position(|f| {
            (f.name.to_ascii_lowercase().ends_with(".xml") || f.media_type.contains("xml"))
                && super::read::detect(&f.bytes).is_some()
        });
        let received = if let Some(pos) = xml {
            let bytes = new.files[pos].bytes.clone();
            let (dir, limit) = (cfg.schemas(), cfg.validate_timeout());
            let read = crate::extract::isolated("e-invoice", limit + limit, move || {
                let syntax = super::read::detect(&bytes);
                let parsed = super::read::parse(&bytes);
                let xsd = syntax.map(|s| super::xsd::validate(s, &bytes, &dir, limit));
                (syntax, parsed, xsd)
            })
            .await;
            let mut errors = Vec::new();
            let (syntax, invoice) = match read {
                Ok((syntax, parsed, xsd)) => {
                    let invoice = match parsed {
                        Ok(p) => {
                            errors.extend(p.problems);
                            // The file's text: the invoice as read, then every
                            // value of the file (search and personal-data
                            // detection read all of it), not the markup.
                            let f = &mut new.files[pos];
                            f.text = Some(format!("{}\n\n{}", p.invoice.readable_et(), p.values));
                            f.text_status = crate::model::TextStatus::Extracted;
                            f.text_note = None;
                            Some(p.invoice)
                        }
                        Err(e) => {
                            errors.push(e);
                            None
                        }
                    };
                    match xsd {
                        Some(Ok(xs)) => errors.extend(xs.into_iter().map(|e| format!("XSD: {e}"))),
                        Some(Err(why)) => errors.push(format!(
                            "XSD-skeemi järgi ei kontrollitud: {why} (not validated against the XSD)"
                        )),
                        None => {}
                    }
                    (syntax.map(|s| s.as_str()).unwrap_or("xml"), invoice)
                }
                Err(e) => {
                    errors.push(format!(
                        "e-arvet ei saanud lugeda: {e} (e-invoice not read)"
                    ));
                    ("xml", None)
                }
            };
            Received {
                syntax: syntax.to_string(),
                invoice,
                pdf: None,
                errors,
            }
        } else {
            // A PDF invoice: only a document of kind arve, or one with a PDF,
            // is read further (every other letter stops here, cheaply).
            if new.kind.as_deref() != Some(INVOICE_KIND)
                && !new.files.iter().any(|f| f.media_type == "application/pdf")
            {
                return Ok(());
            }
            let mut text = new.body.clone().unwrap_or_default();
            for f in &new.files {
                if let Some(t) = &f.text {
                    text.push('\n');
                    text.push_str(t);
                }
                if text.len() > PDF_TEXT {
                    break;
                }
            }
            let is_invoice = new.kind.as_deref() == Some(INVOICE_KIND)
                || (invoice_word(&format!("{} {text}", new.title))
                    && !super::referral::find_numbers(&cfg.referral_prefix, &text).is_empty());
            if !is_invoice {
                return Ok(());
            }
            let facts = pdf_facts(&format!("{}\n{text}", new.title));
            Received {
                syntax: "pdf".into(),
                invoice: None,
                errors: vec![
                    "masinloetav e-arve puudub: andmed loeti arve tekstist, read ja käibemaks kontrollige käsitsi (no machine-readable e-invoice: facts read from the text; check the lines and VAT by hand)".into(),
                ],
                pdf: Some(facts),
            }
        };
        if matches!(new.kind.as_deref(), None | Some("kiri")) {
            new.kind = Some(INVOICE_KIND.into());
        }
        if new.doc_type.is_none() && self.vocab().require_rule("type", PAYMENT_RULE).is_ok() {
            new.doc_type = Some(PAYMENT_RULE.into());
        }
        if let Some(inv) = &received.invoice {
            let t = new.title.trim().to_ascii_lowercase();
            if t.is_empty() || t.ends_with(".xml") || t.ends_with(".pdf") {
                new.title = format!("Arve nr {} ({})", inv.number, inv.seller.name);
            }
            if new.parties.is_empty() && !inv.seller.name.trim().is_empty() {
                let code = inv
                    .seller
                    .code
                    .clone()
                    .filter(|c| crate::model::is_registry_code(c));
                new.parties.push(Party {
                    kind: PartyKind::Organisation,
                    role: PartyRole::Sender,
                    name: inv.seller.name.trim().chars().take(300).collect(),
                    code,
                    email: None,
                });
            }
        }
        new.invoice = Some(Box::new(received));
        Ok(())
    }

    /// Records a referral's terms for the document just registered, with its
    /// number and an audit event. Inside the registering transaction.
    pub(crate) async fn record_referral_in(
        &self,
        tx: &mut Tx,
        doc: &Document,
        r: &NewReferral,
        actor: &str,
    ) -> Result<String> {
        r.validate()?;
        let year = doc.registered.year();
        let prefix = &self.config().invoices.referral_prefix;
        let seq = self
            .store()
            .next_counter_in(tx, &format!("referral:{prefix}:{year}"))
            .await?;
        let number = super::referral::number(prefix, year, seq);
        sqlx::query(
            "INSERT INTO referrals (doc_id, number, provider_code, provider_name, person_name, person_code, service, unit, units, unit_price_limit, total_limit, valid_from, valid_to) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(doc.id)
        .bind(&number)
        .bind(r.provider_code.trim())
        .bind(r.provider_name.trim())
        .bind(r.person_name.trim())
        .bind(r.person_code.as_deref().map(str::trim))
        .bind(r.service.trim())
        .bind(r.unit.as_str())
        .bind(r.units.normalize().to_string())
        .bind(r.unit_price_limit.map(|d| d.normalize().to_string()))
        .bind(r.total_limit.map(|d| d.normalize().to_string()))
        .bind(r.valid_from.to_string())
        .bind(r.valid_to.to_string())
        .execute(&mut **tx)
        .await?;
        // The person is in the document's parties (restricted), not in the chain.
        self.record_event_in(
            tx,
            Some(doc.id),
            KIND_REFERRAL,
            serde_json::json!({
                "number": number,
                "provider": r.provider_code.trim(),
                "service": r.service.trim(),
                "unit": r.unit.as_str(),
                "units": r.units.normalize().to_string(),
                "unit_price_limit": r.unit_price_limit.map(|d| d.normalize().to_string()),
                "total_limit": r.total_limit.map(|d| d.normalize().to_string()),
                "valid_from": r.valid_from.to_string(),
                "valid_to": r.valid_to.to_string(),
            }),
            actor,
        )
        .await?;
        Ok(number)
    }

    /// The referrals quoted by `numbers` or of the seller `seller_code`.
    async fn referral_candidates_in(
        &self,
        tx: &mut Tx,
        numbers: &[String],
        seller_code: Option<&str>,
    ) -> Result<Vec<Referral>> {
        let mut out: Vec<Referral> = Vec::new();
        for n in numbers.iter().take(20) {
            let row = sqlx::query(&format!(
                "SELECT {REF_COLS} FROM referrals r JOIN documents d ON d.id = r.doc_id WHERE r.number = $1"
            ))
            .bind(n)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(row) = row {
                out.push(referral_from_row(&row)?);
            }
        }
        if let Some(code) = seller_code {
            let rows = sqlx::query(&format!(
                "SELECT {REF_COLS} FROM referrals r JOIN documents d ON d.id = r.doc_id WHERE r.provider_code = $1 ORDER BY r.doc_id DESC LIMIT 500"
            ))
            .bind(code)
            .fetch_all(&mut **tx)
            .await?;
            for row in rows {
                let r = referral_from_row(&row)?;
                if !out.iter().any(|o| o.doc_id == r.doc_id) {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    /// What a referral's other invoices (not rejected) used.
    async fn usage_in(&self, tx: &mut Tx, referral: i64, except: i64) -> Result<Usage> {
        let rows = sqlx::query(
            "SELECT quantity, total FROM invoices WHERE referral_doc_id = $1 AND state <> 'rejected' AND doc_id <> $2",
        )
        .bind(referral)
        .bind(except)
        .fetch_all(&mut **tx)
        .await?;
        let mut u = Usage::default();
        for r in rows {
            u.units += dec(r.try_get("quantity")?).unwrap_or_default();
            u.amount += dec(r.try_get("total")?).unwrap_or_default();
        }
        Ok(u)
    }

    /// Matches and checks an invoice; `forced`: the referral chosen by hand.
    /// Returns (match, referral, checks, units in the referral's unit, seller).
    async fn evaluate_in(
        &self,
        tx: &mut Tx,
        doc_id: i64,
        rec: &Received,
        forced: Option<Referral>,
    ) -> Result<(
        Match,
        Option<Referral>,
        Vec<Check>,
        Decimal,
        TradeParty,
        Vec<String>,
    )> {
        let prefix = self.config().invoices.referral_prefix.clone();
        let ev = match (&rec.invoice, &rec.pdf) {
            (Some(inv), _) => Evidence::of_invoice(inv, &prefix),
            (None, Some(p)) => Evidence::of_text(&p.text, &prefix, None),
            (None, None) => Evidence::default(),
        };
        let (matched, refs) = match forced {
            Some(r) => (
                Match::Matched {
                    doc_id: r.doc_id,
                    method: Method::Manual,
                },
                vec![r],
            ),
            None => {
                let refs = self
                    .referral_candidates_in(tx, &ev.numbers, ev.seller_code.as_deref())
                    .await?;
                (checks::find(&ev, &refs), refs)
            }
        };
        let referral = match &matched {
            Match::Matched { doc_id, .. } => refs.iter().find(|r| r.doc_id == *doc_id).cloned(),
            _ => None,
        };
        let candidates: Vec<String> = match &matched {
            Match::Ambiguous(ids) => ids
                .iter()
                .filter_map(|id| {
                    refs.iter()
                        .find(|r| r.doc_id == *id)
                        .map(|r| r.number.clone())
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut seller = rec
            .invoice
            .as_ref()
            .map(|i| i.seller.clone())
            .unwrap_or_default();
        if rec.invoice.is_none() {
            if let Some(r) = &referral {
                // A PDF invoice's seller is the provider of the referral it quotes.
                seller = r.provider.clone();
            }
        }
        let number = rec
            .invoice
            .as_ref()
            .map(|i| i.number.clone())
            .or_else(|| rec.pdf.as_ref().and_then(|p| p.number.clone()))
            .filter(|n| !n.trim().is_empty());
        let duplicate = match (
            &number,
            seller
                .code
                .as_deref()
                .or(Some(seller.name.as_str()))
                .filter(|s| !s.is_empty()),
        ) {
            (Some(n), Some(_)) => {
                let row: Option<(String,)> = sqlx::query_as(
                    "SELECT d.reg_no FROM invoices i JOIN documents d ON d.id = i.doc_id WHERE i.number = $1 AND (i.seller_code = $2 OR (i.seller_code IS NULL AND i.seller_name = $3)) AND i.doc_id <> $4 ORDER BY i.doc_id LIMIT 1",
                )
                .bind(n)
                .bind(seller.code.as_deref().unwrap_or(""))
                .bind(&seller.name)
                .bind(doc_id)
                .fetch_optional(&mut **tx)
                .await?;
                row.map(|r| r.0)
            }
            _ => None,
        };
        let usage = match &referral {
            Some(r) => self.usage_in(tx, r.doc_id, doc_id).await?,
            None => Usage::default(),
        };
        let (checks, units) = match &rec.invoice {
            Some(inv) => {
                let checks = checks::run(
                    inv,
                    &matched,
                    referral.as_ref().map(|r| (r, usage)),
                    &candidates,
                    duplicate.as_deref(),
                );
                let units = match &referral {
                    Some(r) => inv
                        .lines
                        .iter()
                        .filter_map(|l| r.unit.convert(l.quantity, l.unit_code.as_deref()))
                        .sum(),
                    None => inv.total_quantity(),
                };
                (checks, units)
            }
            None => {
                let mut c = vec![checks::match_check(
                    &matched,
                    referral.as_ref(),
                    &candidates,
                )];
                if let Some(n) = &number {
                    c.push(checks::duplicate_check(n, duplicate.as_deref()));
                }
                (c, Decimal::ZERO)
            }
        };
        Ok((matched, referral, checks, units, seller, candidates))
    }

    /// Records the invoice read from the document just registered: matched,
    /// checked, its payment term a deadline event. Inside the registering
    /// transaction.
    pub(crate) async fn record_invoice_in(
        &self,
        tx: &mut Tx,
        doc: &mut Document,
        rec: &Received,
        public_on_purpose: bool,
        actor: &str,
    ) -> Result<()> {
        let (matched, referral, checks, units, seller, candidates) =
            self.evaluate_in(tx, doc.id, rec, None).await?;
        // An invoice of a restricted referral tells what the referral tells
        // (that a person received the service): it is restricted alike.
        if let (Some(r), false) = (&referral, public_on_purpose) {
            if let Some(restriction) = self
                .inherit_referral_restriction_in(tx, doc.id, r, actor)
                .await?
            {
                doc.restriction = Some(restriction);
            }
        }
        let cfg = &self.config().invoices;
        let received = doc.received.unwrap_or(doc.registered);
        let inv_due = rec
            .invoice
            .as_ref()
            .and_then(|i| i.due_date)
            .or_else(|| rec.pdf.as_ref().and_then(|p| p.due_date));
        let by_days = received
            .checked_add(jiff::Span::new().days(i64::from(cfg.payment_term_days)))
            .map_err(|e| Error::internal(format!("payment term: {e}")))?;
        let (payment_due, why) = match (cfg.payment_term, inv_due) {
            (PaymentTerm::InvoiceDueDate, Some(d)) => {
                (d, "arvel märgitud maksetähtaeg".to_string())
            }
            _ => (
                by_days,
                format!("{} kalendripäeva saabumisest", cfg.payment_term_days),
            ),
        };
        let inv = rec.invoice.as_ref();
        let number = inv
            .map(|i| i.number.clone())
            .or_else(|| rec.pdf.as_ref().and_then(|p| p.number.clone()))
            .filter(|n| !n.trim().is_empty());
        let total = inv
            .map(|i| i.payable)
            .or_else(|| rec.pdf.as_ref().and_then(|p| p.total));
        let data = match (inv, &rec.pdf) {
            (Some(i), _) => {
                Some(serde_json::to_string(i).map_err(|e| Error::internal(e.to_string()))?)
            }
            (None, Some(p)) => Some(
                serde_json::to_string(&serde_json::json!({"pdf": p, "text": p.text}))
                    .map_err(|e| Error::internal(e.to_string()))?,
            ),
            _ => None,
        };
        sqlx::query(
            "INSERT INTO invoices (doc_id, syntax, number, seller_code, seller_name, issue_date, due_date, payment_due, currency, total, quantity, referral_doc_id, match_method, candidates, state, checks, errors, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'open', $15, $16, $17)",
        )
        .bind(doc.id)
        .bind(&rec.syntax)
        .bind(&number)
        .bind(seller.code.clone().filter(|c| !c.is_empty()))
        .bind(Some(seller.name.clone()).filter(|n| !n.is_empty()))
        .bind(inv.map(|i| i.issue_date.to_string()))
        .bind(inv_due.map(|d| d.to_string()))
        .bind(payment_due.to_string())
        .bind(inv.map(|i| i.currency.clone()))
        .bind(total.map(|t| t.normalize().to_string()))
        .bind(units.normalize().to_string())
        .bind(referral.as_ref().map(|r| r.doc_id))
        .bind(match &matched {
            Match::Matched { method, .. } => Some(method.as_str()),
            _ => None,
        })
        .bind(to_json(&candidates))
        .bind(to_json(&checks))
        .bind(to_json(&rec.errors))
        .bind(data)
        .execute(&mut **tx)
        .await?;
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect();
        self.record_event_in(
            tx,
            Some(doc.id),
            KIND_INVOICE,
            serde_json::json!({
                "syntax": rec.syntax,
                "number": number,
                "seller": seller.code,
                "referral": referral.as_ref().map(|r| r.number.clone()),
                "candidates": candidates,
                "failed_checks": failed,
                "errors": rec.errors.len(),
                "payment_due": payment_due.to_string(),
            }),
            actor,
        )
        .await?;
        self.record_event_in(
            tx,
            Some(doc.id),
            crate::deadline::state::KIND_PAYMENT_TERM,
            serde_json::json!({
                "on": doc.registered.max(received).to_string(),
                "due": payment_due.to_string(),
                "reason": why,
            }),
            actor,
        )
        .await?;
        Ok(())
    }

    /// Links an invoice to the referral numbered `number` by hand and checks
    /// it again against it.
    pub async fn link_invoice(
        &self,
        reg_no: &str,
        number: &str,
        actor: &str,
    ) -> Result<InvoiceView> {
        let mut tx = self.begin().await?;
        let view = self.invoice_in(&mut tx, reg_no).await?;
        if view.state != "open" && view.state != "overdue" {
            return Err(Error::Conflict(format!(
                "arve {reg_no} on juba {} (the invoice was decided already)",
                view.state
            )));
        }
        let r = self
            .referral_candidates_in(&mut tx, &[number.trim().to_string()], None)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::not_found(format!("suunamist {number:?} ei ole (no such referral)"))
            })?;
        let rec = self.received_in(&mut tx, view.doc_id).await?;
        let (_, referral, checks, units, _, _) = self
            .evaluate_in(&mut tx, view.doc_id, &rec, Some(r))
            .await?;
        let referral = referral.ok_or_else(|| Error::internal("linked referral lost"))?;
        sqlx::query("UPDATE invoices SET referral_doc_id = $1, match_method = 'manual', candidates = '[]', checks = $2, quantity = $3 WHERE doc_id = $4")
            .bind(referral.doc_id)
            .bind(serde_json::to_string(&checks).map_err(|e| Error::internal(e.to_string()))?)
            .bind(units.normalize().to_string())
            .bind(view.doc_id)
            .execute(&mut *tx)
            .await?;
        self.inherit_referral_restriction_in(&mut tx, view.doc_id, &referral, actor)
            .await?;
        self.record_event_in(
            &mut tx,
            Some(view.doc_id),
            KIND_LINKED,
            serde_json::json!({"referral": referral.number}),
            actor,
        )
        .await?;
        let out = self.invoice_in(&mut tx, reg_no).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Restricts an invoice that has no restriction with its referral's (the
    /// referral letter names the person): the referral's ground and end, from
    /// the invoice's own date, with a `restricted` event naming the referral
    /// and the notices § 41 lg 4 asks for. None when nothing changed.
    async fn inherit_referral_restriction_in(
        &self,
        tx: &mut Tx,
        doc_id: i64,
        referral: &Referral,
        actor: &str,
    ) -> Result<Option<crate::model::Restriction>> {
        let (letter, _) = self.load_in(tx, referral.doc_id).await?;
        let Some(r) = letter.restriction else {
            return Ok(None);
        };
        self.inherit_restriction_from_in(
            tx,
            doc_id,
            (r.ground, r.holder, r.ends),
            ("referral", &referral.number),
            actor,
        )
        .await
    }

    /// The invoice as it was read (for checking it again).
    async fn received_in(&self, tx: &mut Tx, doc_id: i64) -> Result<Received> {
        let row = sqlx::query("SELECT syntax, data, errors FROM invoices WHERE doc_id = $1")
            .bind(doc_id)
            .fetch_one(&mut **tx)
            .await?;
        let syntax: String = row.try_get("syntax")?;
        let data: Option<String> = row.try_get("data")?;
        let errors: Vec<String> =
            serde_json::from_str(&row.try_get::<String, _>("errors")?).unwrap_or_default();
        let (invoice, pdf) = if syntax == "pdf" {
            let v: serde_json::Value = data
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or_default();
            let mut p: PdfFacts = serde_json::from_value(v["pdf"].clone()).unwrap_or_default();
            p.text = v["text"].as_str().unwrap_or_default().to_string();
            (None, Some(p))
        } else {
            (
                data.as_deref().and_then(|d| serde_json::from_str(d).ok()),
                None,
            )
        };
        Ok(Received {
            syntax,
            invoice,
            pdf,
            errors,
        })
    }

    /// Approves or rejects an open invoice: its state, an audit event and the
    /// end of its payment deadline, in the caller's transaction.
    pub(crate) async fn decide_invoice_in(
        &self,
        tx: &mut Tx,
        reg_no: &str,
        approve: bool,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<InvoiceView> {
        let view = self.invoice_in(tx, reg_no).await?;
        if view.state != "open" && view.state != "overdue" {
            return Err(Error::Conflict(format!(
                "arve {reg_no} on juba {} (the invoice was decided already)",
                view.state
            )));
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if !approve && reason.is_none() {
            return Err(Error::invalid(
                "tagasilükkamise põhjus (reason) on puudu (a rejection needs a reason)",
            ));
        }
        if let Some(r) = reason {
            crate::model::limits::check("reason", r, crate::model::limits::REASON)?;
        }
        let today = self.today();
        let now = jiff::Timestamp::now().to_string();
        let state = if approve { "approved" } else { "rejected" };
        sqlx::query("UPDATE invoices SET state = $1, decided_by = $2, decided_at = $3, reason = $4 WHERE doc_id = $5")
            .bind(state)
            .bind(actor)
            .bind(&now)
            .bind(reason)
            .bind(view.doc_id)
            .execute(&mut **tx)
            .await?;
        self.record_event_in(
            tx,
            Some(view.doc_id),
            if approve {
                KIND_APPROVED
            } else {
                KIND_REJECTED
            },
            serde_json::json!({"reason": reason, "number": view.number}),
            actor,
        )
        .await?;
        self.record_event_in(
            tx,
            Some(view.doc_id),
            crate::deadline::state::KIND_ENDED,
            serde_json::json!({"on": today.to_string(), "how": "processed", "reg_no": reg_no}),
            actor,
        )
        .await?;
        self.invoice_in(tx, reg_no).await
    }

    async fn invoice_in(&self, tx: &mut Tx, reg_no: &str) -> Result<InvoiceView> {
        self.invoice_on(tx, reg_no).await
    }

    /// One invoice by its document's registration number, on `conn`.
    async fn invoice_on(
        &self,
        conn: &mut sqlx::AnyConnection,
        reg_no: &str,
    ) -> Result<InvoiceView> {
        let row = sqlx::query(&format!("{INV_SELECT} WHERE d.reg_no = $1"))
            .bind(reg_no)
            .fetch_optional(conn)
            .await?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "arvet {reg_no:?} ei ole registris (no invoice with this registration number)"
                ))
            })?;
        invoice_from_row(&row, self.today())
    }

    /// One invoice (`invoice show`).
    pub async fn invoice(&self, reg_no: &str) -> Result<InvoiceView> {
        let mut conn = self.store().pool.acquire().await?;
        self.invoice_on(&mut conn, reg_no).await
    }

    /// The invoice of a document, if it is one (the document page).
    pub async fn invoice_of(&self, doc_id: i64) -> Result<Option<InvoiceView>> {
        let row = sqlx::query(&format!("{INV_SELECT} WHERE i.doc_id = $1"))
            .bind(doc_id)
            .fetch_optional(&self.store().pool)
            .await?;
        row.as_ref()
            .map(|r| invoice_from_row(r, self.today()))
            .transpose()
    }

    /// Invoices by state (`open` excludes the overdue ones), newest first, at most `limit`.
    pub async fn invoices(&self, state: Option<&str>, limit: i64) -> Result<Vec<InvoiceView>> {
        let today = self.today().to_string();
        let (cond, bind_today) = match state {
            None => ("1 = 1", false),
            Some("open") => ("i.state = 'open' AND i.payment_due >= $1", true),
            Some("overdue") => ("i.state = 'open' AND i.payment_due < $1", true),
            Some("approved") => ("i.state = 'approved'", false),
            Some("rejected") => ("i.state = 'rejected'", false),
            Some(s) => {
                return Err(Error::invalid(format!(
                    "vigane arve olek {s:?}: open, overdue, approved või rejected (invalid state)"
                )))
            }
        };
        let sql = format!(
            "{INV_SELECT} WHERE {cond} ORDER BY i.payment_due, i.doc_id LIMIT {}",
            limit.clamp(1, 10_000)
        );
        let mut q = sqlx::query(&sql);
        if bind_today {
            q = q.bind(today);
        }
        let rows = q.fetch_all(&self.store().pool).await?;
        let t = self.today();
        rows.iter().map(|r| invoice_from_row(r, t)).collect()
    }

    /// How many invoices are open and how many of them are past their payment
    /// term (`as_of`): two counts on the `(state, payment_due)` index.
    pub async fn invoice_counts(&self, as_of: Date) -> Result<(i64, i64)> {
        let (open, overdue): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN payment_due < $1 THEN 1 ELSE 0 END), 0) AS BIGINT) FROM invoices WHERE state = 'open'",
        )
        .bind(as_of.to_string())
        .fetch_one(&self.store().pool)
        .await?;
        Ok((open - overdue, overdue))
    }

    /// Every referral with the units and amount its invoices used (not rejected).
    pub async fn referrals(&self, limit: i64) -> Result<Vec<Referral>> {
        let rows = sqlx::query(&format!(
            "SELECT {REF_COLS} FROM referrals r JOIN documents d ON d.id = r.doc_id ORDER BY r.doc_id DESC LIMIT {}",
            limit.clamp(1, 10_000)
        ))
        .fetch_all(&self.store().pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.with_usage(referral_from_row(row)?).await?);
        }
        Ok(out)
    }

    /// The referral a document is, with its usage.
    pub async fn referral_of(&self, doc_id: i64) -> Result<Option<Referral>> {
        let row = sqlx::query(&format!(
            "SELECT {REF_COLS} FROM referrals r JOIN documents d ON d.id = r.doc_id WHERE r.doc_id = $1"
        ))
        .bind(doc_id)
        .fetch_optional(&self.store().pool)
        .await?;
        match row {
            Some(row) => Ok(Some(self.with_usage(referral_from_row(&row)?).await?)),
            None => Ok(None),
        }
    }

    /// A referral with the units and amount its invoices (not rejected) used.
    async fn with_usage(&self, mut r: Referral) -> Result<Referral> {
        {
            let used = sqlx::query(
                "SELECT d.reg_no, i.quantity, i.total, i.state FROM invoices i JOIN documents d ON d.id = i.doc_id WHERE i.referral_doc_id = $1 ORDER BY i.doc_id",
            )
            .bind(r.doc_id)
            .fetch_all(&self.store().pool)
            .await?;
            for u in used {
                r.invoices.push(u.try_get("reg_no")?);
                if u.try_get::<String, _>("state")? != "rejected" {
                    r.units_used += dec(u.try_get("quantity")?).unwrap_or_default();
                    r.amount_used += dec(u.try_get("total")?).unwrap_or_default();
                }
            }
            r.units_remaining = (r.units - r.units_used).max(Decimal::ZERO);
        }
        Ok(r)
    }

    /// The referral numbered `number`.
    pub async fn referral(&self, number: &str) -> Result<Referral> {
        let row = sqlx::query(&format!(
            "SELECT {REF_COLS} FROM referrals r JOIN documents d ON d.id = r.doc_id WHERE r.number = $1 OR d.reg_no = $1"
        ))
        .bind(number)
        .fetch_optional(&self.store().pool)
        .await?
        .ok_or_else(|| Error::not_found(format!("suunamist {number:?} ei ole (no such referral)")))?;
        self.with_usage(referral_from_row(&row)?).await
    }

    /// Spend per provider, service and month (of the invoice's issue date) in
    /// `[from, to]`, against the referrals behind it; rejected invoices left out.
    pub async fn spend(&self, from: Date, to: Date) -> Result<Vec<SpendRow>> {
        let rows = sqlx::query(
            "SELECT i.issue_date, i.quantity, i.total, i.referral_doc_id, r.provider_name, r.provider_code, r.service, r.units, r.total_limit, i.seller_name, i.seller_code FROM invoices i LEFT JOIN referrals r ON r.doc_id = i.referral_doc_id WHERE i.state <> 'rejected' AND i.issue_date >= $1 AND i.issue_date <= $2 ORDER BY i.issue_date",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.store().pool)
        .await?;
        let mut map: std::collections::BTreeMap<(String, String, String), (SpendRow, Vec<i64>)> =
            Default::default();
        for r in rows {
            let issue: String = r.try_get("issue_date")?;
            let month = issue.get(..7).unwrap_or(&issue).to_string();
            let provider: Option<String> = r.try_get("provider_name")?;
            let seller: Option<String> = r.try_get("seller_name")?;
            let code: Option<String> = r
                .try_get::<Option<String>, _>("provider_code")?
                .or(r.try_get("seller_code")?);
            let service: String = r
                .try_get::<Option<String>, _>("service")?
                .unwrap_or_else(|| "(suunamiseta / no referral)".into());
            let provider = provider.or(seller).unwrap_or_default();
            let key = (month.clone(), provider.clone(), service.clone());
            let e = map.entry(key).or_insert_with(|| {
                (
                    SpendRow {
                        month,
                        provider,
                        provider_code: code.unwrap_or_default(),
                        service,
                        invoices: 0,
                        units: Decimal::ZERO,
                        amount: Decimal::ZERO,
                        referred_units: Decimal::ZERO,
                        referred_limit: None,
                    },
                    Vec::new(),
                )
            });
            e.0.invoices += 1;
            e.0.units += dec(r.try_get("quantity")?).unwrap_or_default();
            e.0.amount += dec(r.try_get("total")?).unwrap_or_default();
            if let Some(id) = r.try_get::<Option<i64>, _>("referral_doc_id")? {
                if !e.1.contains(&id) {
                    e.1.push(id);
                    e.0.referred_units += dec(r.try_get("units")?).unwrap_or_default();
                    if let Some(l) = dec(r.try_get("total_limit")?) {
                        e.0.referred_limit = Some(e.0.referred_limit.unwrap_or_default() + l);
                    }
                }
            }
        }
        Ok(map.into_values().map(|v| v.0).collect())
    }
}

const INV_SELECT: &str = "SELECT i.doc_id, d.reg_no, d.title, i.syntax, i.number, i.seller_code, i.seller_name, i.issue_date, i.due_date, i.payment_due, i.currency, i.total, i.match_method, i.candidates, i.state, i.checks, i.errors, i.data, i.decided_by, i.reason, r.number AS referral_number FROM invoices i JOIN documents d ON d.id = i.doc_id LEFT JOIN referrals r ON r.doc_id = i.referral_doc_id";

fn invoice_from_row(r: &sqlx::any::AnyRow, today: Date) -> Result<InvoiceView> {
    let payment_due = opt_date(r.try_get("payment_due")?)?;
    let mut state: String = r.try_get("state")?;
    if state == "open" && payment_due.is_some_and(|d| d < today) {
        state = "overdue".into();
    }
    let json = |col: &str| -> Result<String> { Ok(r.try_get::<String, _>(col)?) };
    let syntax: String = r.try_get("syntax")?;
    let data: Option<String> = r.try_get("data")?;
    Ok(InvoiceView {
        doc_id: r.try_get("doc_id")?,
        reg_no: r.try_get("reg_no")?,
        title: r.try_get("title")?,
        number: r.try_get("number")?,
        seller: TradeParty {
            name: r
                .try_get::<Option<String>, _>("seller_name")?
                .unwrap_or_default(),
            code: r.try_get("seller_code")?,
            vat_id: None,
        },
        issue_date: opt_date(r.try_get("issue_date")?)?,
        due_date: opt_date(r.try_get("due_date")?)?,
        payment_due,
        currency: r.try_get("currency")?,
        total: dec(r.try_get("total")?),
        referral: r.try_get("referral_number")?,
        match_method: r.try_get("match_method")?,
        candidates: serde_json::from_str(&json("candidates")?).unwrap_or_default(),
        state,
        checks: serde_json::from_str(&json("checks")?).unwrap_or_default(),
        errors: serde_json::from_str(&json("errors")?).unwrap_or_default(),
        decided_by: r.try_get("decided_by")?,
        reason: r.try_get("reason")?,
        data: if syntax == "pdf" {
            None
        } else {
            data.as_deref().and_then(|d| serde_json::from_str(d).ok())
        },
        syntax,
    })
}

/// A value as the JSON text of a JSON column.
fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_text_gives_number_total_and_due_date() {
        let t = "Hingeabi OÜ\nARVE nr 2026-118\nViide: SUUN-2026-0003\nKokku 200,00\nKäibemaks 0,00\nTasuda 240,00 EUR\nMaksetähtaeg: 5.01.2027";
        let f = pdf_facts(t);
        assert_eq!(f.number.as_deref(), Some("2026-118"));
        assert_eq!(f.total, Some("240.00".parse().unwrap()));
        assert_eq!(f.due_date, Some(jiff::civil::date(2027, 1, 5)));
        let none = pdf_facts("Tere, saadan teile kirja.");
        assert_eq!((none.number, none.total, none.due_date), (None, None, None));
    }

    #[test]
    fn invoice_words_are_whole_words() {
        assert!(invoice_word("Arve nr 5"));
        assert!(invoice_word("see on e-arve"));
        assert!(!invoice_word("arvestus ja arvamus"));
    }
}
