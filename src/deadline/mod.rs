//! Reply deadlines: the rules (`config/deadlines.toml`), the pure engine that
//! explains each due date step by step, and (with the database) each document's
//! deadline state.

pub mod engine;
pub mod rules;
pub mod state;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use engine::{
    compute, compute_with, registration_due, ClockState, DeadlineEvent, EndKind, Outcome, Step,
};
pub use rules::{Base, Rule, RuleSet, Unit};

use crate::calendar::{Calendar, ExtraDay};
use crate::error::Result;

/// `[deadlines]` in docgate.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeadlineConfig {
    /// Rules file; empty: the built-in config/deadlines.toml.
    pub rules_file: PathBuf,
    /// Extra non-working days: `{ name, date }` or `{ name, every_year = "MM-DD", from, until }`.
    pub extra_non_working_days: Vec<ExtraDay>,
    /// `overdue` lists as "due soon" what is due within this many working days.
    pub due_soon_working_days: u32,
    /// The responsible official is reminded this many working days before the due date.
    pub reminder_working_days: u32,
    /// Hour (0-23, Europe/Tallinn) of the lead's daily digest, sent on working days.
    pub digest_hour: u8,
    /// Who gets the daily digest; empty: no digest.
    pub digest_to: String,
    /// E-mail address of each responsible official, by the name used in `responsible`.
    /// A `responsible` that is itself an address needs no entry.
    pub officials: BTreeMap<String, String>,
    /// Time between scheduler rounds ("1m").
    #[serde(with = "crate::config::duration")]
    pub scheduler_interval: std::time::Duration,
}

impl Default for DeadlineConfig {
    fn default() -> Self {
        DeadlineConfig {
            rules_file: PathBuf::new(),
            extra_non_working_days: Vec::new(),
            due_soon_working_days: 3,
            reminder_working_days: 2,
            digest_hour: 8,
            digest_to: String::new(),
            officials: BTreeMap::new(),
            scheduler_interval: std::time::Duration::from_secs(60),
        }
    }
}

impl DeadlineConfig {
    /// Checks `[deadlines]` at start (called by `Config::validate`).
    pub fn validate(&self) -> Result<()> {
        if self.digest_hour > 23 {
            return Err(crate::error::Error::invalid(format!(
                "invalid deadlines.digest_hour {}: 0 to 23",
                self.digest_hour
            )));
        }
        crate::config::check_duration(
            "deadlines.scheduler_interval",
            self.scheduler_interval,
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(86_400),
        )
    }

    pub fn calendar(&self) -> Result<Calendar> {
        Calendar::new(self.extra_non_working_days.clone())
    }

    pub fn rules(&self) -> Result<RuleSet> {
        if self.rules_file.as_os_str().is_empty() {
            Ok(RuleSet::default())
        } else {
            RuleSet::load(&self.rules_file)
        }
    }

    /// The e-mail address of a responsible official, if known.
    pub fn official_address(&self, responsible: &str) -> Option<String> {
        if let Some(a) = self.officials.get(responsible) {
            return Some(a.clone());
        }
        responsible.contains('@').then(|| responsible.to_string())
    }
}

#[cfg(test)]
mod tests;
