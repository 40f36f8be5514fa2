//! Referrals and the invoices that follow them (issue #20).
//!
//! - `einvoice`: the e-invoice model (pure data).
//! - `read`: recognizing and parsing UBL 2.1, CII D16B and e-arve 1.2 (pure).
//! - `xsd`: validation against the syntax's XSD with xmllint (a bounded child process).
//! - `arith`: the line, VAT and total arithmetic (pure).
//! - `write`: writing an `EInvoice` in each syntax (tests, demo, benchmarks).

pub mod arith;
pub mod einvoice;
pub mod read;
pub mod write;
pub mod xsd;

pub use einvoice::{EInvoice, InvoiceLine, Syntax, TradeParty, VatBreakdown};
pub use read::{detect, parse, Parsed};
