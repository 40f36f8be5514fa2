//! The `[invoices]` section: where the XSDs are, which payment term applies,
//! the referral number's prefix and the e-invoice operator's export folder.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which payment term an invoice's deadline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PaymentTerm {
    /// The invoice's own due date (BT-9); `payment_term_days` from receipt when it has none.
    #[default]
    InvoiceDueDate,
    /// Always `payment_term_days` calendar days from receipt.
    Days,
}

/// The `[invoices]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InvoicesConfig {
    /// The folder holding `ubl-2.1/` (and any other syntax's schemas docgate
    /// ships). Empty: the repository's `schemas/` ([`InvoicesConfig::schemas`]).
    pub schema_dir: PathBuf,
    /// Which term the payment deadline is.
    pub payment_term: PaymentTerm,
    /// The agency's payment term in calendar days from receipt.
    pub payment_term_days: u32,
    /// The referral number's prefix: numbers are `{prefix}-{yyyy}-{nnnn}`.
    pub referral_prefix: String,
    /// Time limit of one XSD validation (xmllint), such as "30s".
    #[serde(with = "crate::config::duration")]
    pub validate_timeout: Duration,
    /// The e-invoice operator's export folder (XML invoices with their PDFs),
    /// watched by `serve`; empty: none.
    pub operator_folder: PathBuf,
}

impl Default for InvoicesConfig {
    fn default() -> Self {
        InvoicesConfig {
            schema_dir: PathBuf::new(),
            payment_term: PaymentTerm::InvoiceDueDate,
            payment_term_days: 30,
            referral_prefix: "SUUN".into(),
            validate_timeout: Duration::from_secs(30),
            operator_folder: PathBuf::new(),
        }
    }
}

impl InvoicesConfig {
    /// At start: the term and the prefix are usable.
    pub fn validate(&self) -> Result<()> {
        if !self.schema_dir.as_os_str().is_empty() && !self.schema_dir.join("ubl-2.1").is_dir() {
            return Err(Error::invalid(format!(
                "invalid invoices.schema_dir {}: selles pole kausta ubl-2.1 (it holds no ubl-2.1 folder)",
                self.schema_dir.display()
            )));
        }
        if self.payment_term_days == 0 || self.payment_term_days > 365 {
            return Err(Error::invalid(format!(
                "invalid invoices.payment_term_days {}: maksetähtaeg peab olema 1–365 päeva (the payment term must be 1 to 365 days)",
                self.payment_term_days
            )));
        }
        let p = &self.referral_prefix;
        if p.len() < 2 || p.len() > 8 || !p.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::invalid(format!(
                "invalid invoices.referral_prefix {p:?}: 2–8 suurtähte A–Z (2 to 8 capital letters A to Z)"
            )));
        }
        crate::config::check_duration(
            "invoices.validate_timeout",
            self.validate_timeout,
            Duration::from_secs(1),
            Duration::from_secs(600),
        )?;
        Ok(())
    }

    /// Where the XSDs are.
    pub fn schemas(&self) -> PathBuf {
        if self.schema_dir.as_os_str().is_empty() {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas"))
        } else {
            self.schema_dir.clone()
        }
    }

    pub fn validate_timeout(&self) -> Duration {
        self.validate_timeout
    }
}
