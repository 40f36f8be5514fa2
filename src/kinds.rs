//! Document kinds (dokumendi liigid, AvTS § 12 lg 3 p 5): the vocabulary of
//! `config/document-kinds.toml` (pure), with Estonian and English names and
//! each kind's default deadline rule.

use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The kinds shipped in `config/document-kinds.toml`, used when no file is configured.
pub const BUILTIN: &str = include_str!("../config/document-kinds.toml");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kind {
    pub id: String,
    /// The Estonian name.
    pub et: String,
    /// The English name.
    pub en: String,
    /// The deadline rule a document of this kind gets when none is given.
    #[serde(default)]
    pub rule: Option<String>,
    /// Deadline rules whose older documents (before kinds) show as this kind.
    #[serde(default)]
    pub doc_types: Vec<String>,
}

impl Kind {
    /// The name in `lang` ("en", else Estonian).
    pub fn name(&self, lang: &str) -> &str {
        if lang == "en" {
            &self.en
        } else {
            &self.et
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KindsFile {
    kind: Vec<Kind>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kinds {
    kinds: Vec<Kind>,
}

impl Kinds {
    pub fn parse(text: &str, source: &str) -> Result<Kinds> {
        let f: KindsFile = toml::from_str(text).map_err(|e| {
            Error::invalid(format!(
                "vigane dokumendiliikide loetelu {source}: {} (invalid document kinds file)",
                e.message()
            ))
        })?;
        if f.kind.is_empty() {
            return Err(Error::invalid(format!(
                "vigane dokumendiliikide loetelu {source}: ühtki liiki pole (no kinds)"
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for k in &f.kind {
            if k.id.trim().is_empty()
                || k.id.contains(char::is_whitespace)
                || k.et.trim().is_empty()
                || k.en.trim().is_empty()
            {
                return Err(Error::invalid(format!(
                    "vigane dokumendiliikide loetelu {source}: liigil {:?} on vigane id või puudub nimi (a kind needs an id without spaces and both names)",
                    k.id
                )));
            }
            if !seen.insert(k.id.to_lowercase()) {
                return Err(Error::invalid(format!(
                    "vigane dokumendiliikide loetelu {source}: liik {:?} on kaks korda (a kind appears twice)",
                    k.id
                )));
            }
        }
        Ok(Kinds { kinds: f.kind })
    }

    pub fn load(path: &Path) -> Result<Kinds> {
        if path.as_os_str().is_empty() {
            return Ok(Self::builtin().clone());
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(format!(
                "dokumendiliikide loetelu {} ei saa lugeda: {e} (cannot read the kinds file)",
                path.display()
            ))
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn builtin() -> &'static Kinds {
        static B: OnceLock<Kinds> = OnceLock::new();
        B.get_or_init(|| Kinds::parse(BUILTIN, "(built-in)").expect("built-in kinds parse"))
    }

    /// Every kind's default rule is one of `rules` (the loaded deadline rules).
    pub fn check_rules<'a>(&self, rules: impl Fn(&str) -> bool + 'a) -> Result<()> {
        for k in &self.kinds {
            if let Some(r) = &k.rule {
                if !rules(r) {
                    return Err(Error::invalid(format!(
                        "dokumendiliigi {:?} tähtaja reegel {r:?} puudub laaditud reeglitest (the kind's rule is not a loaded deadline rule)",
                        k.id
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn all(&self) -> &[Kind] {
        &self.kinds
    }

    pub fn get(&self, id: &str) -> Option<&Kind> {
        let id = id.trim().to_lowercase();
        self.kinds.iter().find(|k| k.id.to_lowercase() == id)
    }

    /// The kind `id`, or an error naming the field and the valid kinds.
    pub fn require(&self, field: &str, id: &str) -> Result<&Kind> {
        self.get(id).ok_or_else(|| {
            Error::invalid(format!(
                "tundmatu dokumendi liik {id:?} (väli {field}); lubatud: {} (unknown document kind)",
                self.ids().join(", ")
            ))
        })
    }

    pub fn ids(&self) -> Vec<&str> {
        self.kinds.iter().map(|k| k.id.as_str()).collect()
    }

    /// The kind of a document: its own, else the one its deadline rule suggests
    /// (documents registered before kinds), else "kiri" when that kind exists.
    pub fn of<'a>(&'a self, kind: Option<&str>, doc_type: Option<&str>) -> Option<&'a Kind> {
        if let Some(k) = kind.and_then(|k| self.get(k)) {
            return Some(k);
        }
        if let Some(t) = doc_type {
            if let Some(k) = self
                .kinds
                .iter()
                .find(|k| k.doc_types.iter().any(|d| d == t))
            {
                return Some(k);
            }
        }
        self.get("kiri")
    }
}

/// The kinds the process loaded (`App::open` installs them; the built-in list
/// until then): the web views name a document's kind from it.
static LOADED: std::sync::RwLock<Option<std::sync::Arc<Kinds>>> = std::sync::RwLock::new(None);

/// Makes `kinds` the process's loaded kinds.
pub fn install(kinds: std::sync::Arc<Kinds>) {
    if let Ok(mut l) = LOADED.write() {
        *l = Some(kinds);
    }
}

/// The process's loaded kinds.
pub fn loaded() -> std::sync::Arc<Kinds> {
    LOADED
        .read()
        .ok()
        .and_then(|l| l.clone())
        .unwrap_or_else(|| std::sync::Arc::new(Kinds::builtin().clone()))
}

/// A document's kind as the views show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindView {
    pub id: String,
    pub et: String,
    pub en: String,
}

impl KindView {
    /// The kind of a document (`Kinds::of` over the loaded kinds).
    pub fn of(kind: Option<&str>, doc_type: Option<&str>) -> Option<KindView> {
        loaded().of(kind, doc_type).map(|k| KindView {
            id: k.id.clone(),
            et: k.et.clone(),
            en: k.en.clone(),
        })
    }

    /// The name in the page's language (`Lang::code`).
    pub fn name(&self, lang: &str) -> &str {
        if lang == "en" {
            &self.en
        } else {
            &self.et
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_kinds_have_the_issue_vocabulary() {
        let k = Kinds::builtin();
        for id in [
            "avaldus",
            "taotlus",
            "teabenõue",
            "märgukiri",
            "selgitustaotlus",
            "kiri",
            "vastus",
            "otsus",
            "suunamiskiri",
            "arve",
            "leping",
            "vaie",
            "volikiri",
        ] {
            assert!(k.get(id).is_some(), "{id}");
        }
        let rules = crate::deadline::RuleSet::default();
        k.check_rules(|r| rules.get(r).is_some()).unwrap();
    }

    #[test]
    fn kind_of_a_document_table() {
        let k = Kinds::builtin();
        for (kind, doc_type, want) in [
            (Some("vaie"), None, "vaie"),
            (Some("TEABENÕUE"), Some("hms-vaie"), "teabenõue"),
            (None, Some("avts-teabenoue"), "teabenõue"),
            (None, Some("oas-huvitis"), "taotlus"),
            (None, Some("sus-vaie"), "vaie"),
            (None, Some("registration"), "kiri"),
            (None, None, "kiri"),
        ] {
            assert_eq!(
                k.of(kind, doc_type).unwrap().id,
                want,
                "{kind:?} {doc_type:?}"
            );
        }
        assert_eq!(
            k.get("teabenõue").unwrap().name("en"),
            "Information request"
        );
        assert_eq!(k.get("teabenõue").unwrap().name("et"), "Teabenõue");
    }

    #[test]
    fn unknown_kind_names_the_valid_ones() {
        let e = Kinds::builtin()
            .require("kind", "lihtsalt niisama")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("kind") && e.contains("teabenõue") && e.contains("volikiri"),
            "{e}"
        );
    }

    #[test]
    fn kind_rule_must_be_loaded() {
        let k = Kinds::parse(
            "[[kind]]\nid = \"x\"\net = \"X\"\nen = \"X\"\nrule = \"pole-olemas\"\n",
            "t",
        )
        .unwrap();
        assert!(k.check_rules(|_| false).is_err());
        assert!(Kinds::parse("[[kind]]\nid = \"a b\"\net = \"X\"\nen = \"X\"\n", "t").is_err());
    }
}
