//! The document list (dokumentide loetelu): functions and their series.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The example document list shipped in `config/series.toml`, used when no file is configured.
pub const BUILTIN: &str = include_str!("../config/series.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesList {
    pub default_series: String,
    /// The series where disposal registers its destruction acts (hävitamisaktid).
    #[serde(default)]
    pub acts_series: Option<String>,
    #[serde(rename = "function")]
    pub functions: Vec<Function>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Function {
    pub code: String,
    pub title: String,
    #[serde(default)]
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Series {
    pub code: String,
    pub title: String,
    /// How long its documents are kept and what happens then (free text is refused).
    pub retention: crate::lifecycle::retention::Retention,
    /// The restriction ground the register applies to this series' documents when
    /// they are registered without a restriction or a reason to be public.
    #[serde(default)]
    pub default_ground: Option<String>,
    /// Length of a default restriction, in years (at most the legal term of AvTS § 40).
    #[serde(default)]
    pub restriction_years: Option<u32>,
    /// The documents of this series hold personal data (AvTS § 40 lg 3 applies
    /// to their default restriction whatever the ground).
    #[serde(default)]
    pub personal_data: bool,
    /// The only grounds a document of this series may be restricted on; empty: any listed ground.
    #[serde(default)]
    pub allowed_grounds: Vec<String>,
    /// This series' own numbering pattern, overriding `numbering.pattern`.
    #[serde(default)]
    pub pattern: Option<String>,
}

impl SeriesList {
    pub fn parse(text: &str, source: &str) -> Result<SeriesList> {
        let list: SeriesList = toml::from_str(text).map_err(|e| {
            Error::invalid(format!("invalid document list {source}: {}", e.message()))
        })?;
        list.validate(source)?;
        Ok(list)
    }

    pub fn load(path: &Path) -> Result<SeriesList> {
        if path.as_os_str().is_empty() {
            return Self::parse(BUILTIN, "(built-in)");
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(format!("cannot read document list {}: {e}", path.display()))
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    fn validate(&self, source: &str) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        for s in self.all() {
            if s.code.trim().is_empty() || s.code.contains(char::is_whitespace) {
                return Err(Error::invalid(format!(
                    "invalid document list {source}: bad series code {:?}",
                    s.code
                )));
            }
            if !seen.insert(s.code.as_str()) {
                return Err(Error::invalid(format!(
                    "invalid document list {source}: series {} appears twice",
                    s.code
                )));
            }
            if let Some(g) = &s.default_ground {
                if g.trim().is_empty() || g.chars().count() > crate::model::limits::GROUND {
                    return Err(Error::invalid(format!(
                        "invalid document list {source}: series {} has an empty or too long default_ground",
                        s.code
                    )));
                }
            }
            if let Some(p) = &s.pattern {
                crate::numbering::Pattern::parse(p)?;
            }
        }
        if let Some(a) = &self.acts_series {
            if self.get(a).is_none() {
                return Err(Error::invalid(format!(
                    "invalid document list {source}: acts_series {a} is not a series"
                )));
            }
        }
        if self.get(&self.default_series).is_none() {
            return Err(Error::invalid(format!(
                "invalid document list {source}: default_series {} is not a series",
                self.default_series
            )));
        }
        Ok(())
    }

    /// Every default and allowed ground is one of `grounds`, and a default is allowed.
    pub fn check_grounds(&self, grounds: &crate::restriction::Grounds) -> Result<()> {
        for s in self.all() {
            for g in s.default_ground.iter().chain(&s.allowed_grounds) {
                grounds.require(
                    &format!("series {} default_ground/allowed_grounds", s.code),
                    g,
                )?;
            }
            if let Some(g) = &s.default_ground {
                s.check_ground(g)?;
            }
        }
        Ok(())
    }

    pub fn all(&self) -> impl Iterator<Item = &Series> {
        self.functions.iter().flat_map(|f| f.series.iter())
    }

    pub fn get(&self, code: &str) -> Option<&Series> {
        self.all().find(|s| s.code == code)
    }

    /// The series named, or the default; an unknown name is the user's error.
    pub fn resolve(&self, code: Option<&str>) -> Result<&Series> {
        match code {
            None => Ok(self.get(&self.default_series).expect("validated")),
            Some(c) => self.get(c).ok_or_else(|| {
                Error::invalid(format!("unknown series {c:?}: not in the document list"))
            }),
        }
    }
}

impl Series {
    /// Refuses a ground this series does not allow (`allowed_grounds`).
    pub fn check_ground(&self, ground: &str) -> Result<()> {
        let n = crate::restriction::normalize(ground);
        if self.allowed_grounds.is_empty()
            || self
                .allowed_grounds
                .iter()
                .any(|a| crate::restriction::normalize(a) == n)
        {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "alus {ground:?} pole sarjas {} lubatud (väli ground); lubatud: {} (the series does not allow this ground)",
                self.code,
                self.allowed_grounds.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_parses() {
        let l = SeriesList::parse(BUILTIN, "builtin").unwrap();
        assert_eq!(l.resolve(None).unwrap().code, "9-13");
        assert!(l.resolve(Some("9-14")).is_ok());
        let e = l.resolve(Some("99-1")).unwrap_err().to_string();
        assert!(e.contains("99-1"), "{e}");
        // The general correspondence has no default ground; the applications do.
        assert_eq!(l.resolve(None).unwrap().default_ground, None);
        assert_eq!(
            l.get("9-14").unwrap().default_ground.as_deref(),
            Some("AvTS § 35 lg 1 p 14")
        );
    }

    #[test]
    fn shipped_file_is_the_builtin() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/series.toml"))
                .unwrap();
        assert_eq!(text, BUILTIN);
    }
}
