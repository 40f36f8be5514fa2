//! Referrals and the invoices that follow them (issue #20).
//!
//! - `einvoice`: the e-invoice model (pure data).
//! - `read`: recognizing and parsing UBL 2.1, CII D16B and e-arve 1.2 (pure).
//! - `xsd`: validation against the syntax's XSD with xmllint (a bounded child process).
//! - `arith`: the line, VAT and total arithmetic (pure).
//! - `write`: writing an `EInvoice` in each syntax (tests, demo, benchmarks).
//! - `referral`: a referral's terms and number (pure).
//! - `checks`: matching an invoice to its referral and checking it (pure).
//! - `ledger`: the register's side (`impl Register`): reading an incoming
//!   document as an invoice, recording referrals and invoices in the
//!   registering transaction, decisions, and the reads.
//! - `process`: the lead's approval or rejection (with the letter).
//! - `config`: the `[invoices]` section.

pub mod arith;
pub mod checks;
pub mod config;
pub mod einvoice;
pub mod ledger;
pub mod process;
pub mod read;
pub mod referral;
pub mod write;
pub mod xsd;

pub use config::InvoicesConfig;
pub use einvoice::{EInvoice, InvoiceLine, Syntax, TradeParty, VatBreakdown};
pub use ledger::{InvoiceView, Received, SpendRow};
pub use read::{detect, parse, Parsed};
pub use referral::{NewReferral, Referral, ReferralUnit};
