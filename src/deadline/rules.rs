//! The deadline rules (`config/deadlines.toml`, embedded as the default).

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The built-in rules file.
pub const DEFAULT_RULES: &str = include_str!("../../config/deadlines.toml");

/// How a term is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// The Nth working day after the base date.
    WorkingDays,
    /// Base date + N days, then the next working day if needed (HMS § 33).
    CalendarDays,
    /// The same day N months later or that month's last day (TsÜS § 136), then
    /// the next working day if needed (reading).
    Months,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::WorkingDays => "working days",
            Unit::CalendarDays => "calendar days",
            Unit::Months => "months",
        }
    }
}

/// What a rule's term counts from (`base` in the rules file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Base {
    /// The registration date (AvTS § 18(3); MSVS § 6).
    #[default]
    Registered,
    /// The day the document reached the agency: its arrival (GDPR Art. 12(3);
    /// HMS § 84(1); AvTS § 12(1) for registration itself).
    Received,
    /// The day the application was complete, with its documents: a `complete`
    /// deadline event (re)starts the term; until one is recorded, the arrival.
    Complete,
}

impl Base {
    pub fn as_str(self) -> &'static str {
        match self {
            Base::Registered => "registered",
            Base::Received => "received",
            Base::Complete => "complete",
        }
    }
    /// The base named in Estonian, as every trace names it.
    pub fn label_et(self) -> &'static str {
        match self {
            Base::Registered => "registreerimise päev",
            Base::Received => "saabumise päev",
            Base::Complete => "täieliku taotluse saabumise päev",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Base::Registered => "registration date",
            Base::Received => "date of arrival",
            Base::Complete => "date the complete application arrived",
        }
    }
}

/// An older term for procedures registered before a date (HMS § 5(5)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transitional {
    pub registered_before: Date,
    pub count: u32,
    pub unit: Unit,
    pub basis: String,
}

/// One deadline rule (a row of deadline-rules.csv).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub name_et: String,
    pub name_en: String,
    pub count: u32,
    pub unit: Unit,
    /// What the term counts from.
    #[serde(default)]
    pub base: Base,
    /// A human description of the base date, if the rules file gives one.
    #[serde(default)]
    pub base_note: String,
    pub basis: String,
    #[serde(default)]
    pub extension_total: Option<u32>,
    #[serde(default)]
    pub extension_unit: Option<Unit>,
    #[serde(default)]
    pub extension_basis: Option<String>,
    #[serde(default)]
    pub stoppable: bool,
    #[serde(default)]
    pub resume_count: Option<u32>,
    #[serde(default)]
    pub resume_unit: Option<Unit>,
    #[serde(default)]
    pub resume_basis: Option<String>,
    #[serde(default)]
    pub transitional: Vec<Transitional>,
    #[serde(default)]
    pub notes: String,
}

impl Rule {
    /// The term (count, unit, basis) for a procedure whose base date is `base`.
    pub fn term_for(&self, base: Date) -> (u32, Unit, String, bool) {
        // The earliest cut-off after `base` wins: that version was in force.
        let mut best: Option<&Transitional> = None;
        for t in &self.transitional {
            if base < t.registered_before
                && best.is_none_or(|b| t.registered_before < b.registered_before)
            {
                best = Some(t);
            }
        }
        match best {
            Some(t) => (t.count, t.unit, t.basis.clone(), true),
            None => (self.count, self.unit, self.basis.clone(), false),
        }
    }

    pub fn extension(&self) -> Option<(u32, Unit, String)> {
        Some((
            self.extension_total?,
            self.extension_unit.unwrap_or(self.unit),
            self.extension_basis
                .clone()
                .unwrap_or_else(|| self.basis.clone()),
        ))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    rule: Vec<Rule>,
}

/// All rules, by id.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet::parse(DEFAULT_RULES, "the built-in deadlines.toml").expect("built-in rules parse")
    }
}

impl RuleSet {
    /// Parses a rules file; `what` names it in errors.
    pub fn parse(text: &str, what: &str) -> Result<RuleSet> {
        let f: RulesFile = toml::from_str(text)
            .map_err(|e| Error::invalid(format!("invalid rules file {what}: {}", e.message())))?;
        let mut seen = std::collections::HashSet::new();
        for r in &f.rule {
            if !seen.insert(r.id.clone()) {
                return Err(Error::invalid(format!(
                    "invalid rules file {what}: rule {:?} appears twice",
                    r.id
                )));
            }
            if r.count == 0 {
                return Err(Error::invalid(format!(
                    "invalid rules file {what}: rule {:?} has count 0",
                    r.id
                )));
            }
            if r.extension_total.is_some() != r.extension_unit.is_some() {
                return Err(Error::invalid(format!(
                    "invalid rules file {what}: rule {:?} needs both extension_total and extension_unit",
                    r.id
                )));
            }
            if r.resume_count.is_some() && !r.stoppable {
                return Err(Error::invalid(format!(
                    "invalid rules file {what}: rule {:?} has resume_count but is not stoppable",
                    r.id
                )));
            }
        }
        if !seen.contains("registration") {
            return Err(Error::invalid(format!(
                "invalid rules file {what}: the rule \"registration\" is missing"
            )));
        }
        Ok(RuleSet { rules: f.rule })
    }

    /// Reads a rules file from disk.
    pub fn load(path: &std::path::Path) -> Result<RuleSet> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(format!("cannot read rules file {}: {e}", path.display()))
        })?;
        RuleSet::parse(&text, &path.display().to_string())
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The rule or an error naming the unknown id and the known ones.
    pub fn require(&self, id: &str) -> Result<&Rule> {
        self.get(id).ok_or_else(|| {
            let known: Vec<&str> = self.rules.iter().map(|r| r.id.as_str()).collect();
            Error::invalid(format!(
                "unknown rule {id:?}: expected one of {}",
                known.join(", ")
            ))
        })
    }

    pub fn all(&self) -> &[Rule] {
        &self.rules
    }
}
