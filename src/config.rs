//! Configuration: one serde struct, `deny_unknown_fields` everywhere.
//!
//! Precedence: built-in defaults < the file (`--config`, `DOCGATE_CONFIG`, or
//! `./docgate.toml` when present) < `DOCGATE_*` environment variables < flags.
//! Environment keys map to TOML keys: `DOCGATE_DATA_DIR` is `data_dir`, and a
//! double underscore enters a section: `DOCGATE_WEB__LISTEN` is `web.listen`.
//! The whole result is validated once, at start.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the database (SQLite), files, indexes and the inbox live.
    pub data_dir: PathBuf,
    /// Empty: SQLite at `{data_dir}/docgate.db`. Or `sqlite://PATH`, or `postgres://…`.
    pub database_url: String,
    /// Largest number of database connections per process.
    pub max_connections: u32,
    /// Where stored files go: "auto" (local files with SQLite, the database with
    /// PostgreSQL, so that every process sharing it sees them), "local" or "database".
    pub file_store: FileStore,
    /// The agency that keeps this register.
    pub agency: AgencyConfig,
    /// Registration-number patterns.
    pub numbering: NumberingConfig,
    /// The document list (functions and series). Empty: the built-in example.
    pub series_file: PathBuf,
    /// The document kinds. Empty: the built-in config/document-kinds.toml.
    pub kinds_file: PathBuf,
    /// The accepted restriction grounds. Empty: the built-in config/restriction-grounds.toml.
    pub grounds_file: PathBuf,
    /// Maximum size of one registered file, in bytes.
    pub max_file_size: u64,
    pub ingest: crate::ingest::IngestConfig,
    pub search: crate::search::SearchConfig,
    pub deadlines: crate::deadline::DeadlineConfig,
    pub outbox: crate::outbox::OutboxConfig,
    pub dhx: crate::dhx::DhxConfig,
    pub web: crate::web::WebConfig,
    pub ocr: crate::ocr::OcrConfig,
    pub signatures: crate::signature::SignaturesConfig,
    pub invoices: crate::invoice::InvoicesConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgencyConfig {
    pub name: String,
    /// The agency's 8-digit registry code (DHX address).
    pub registry_code: String,
    /// The unit that holds restricted information by default.
    pub unit: String,
    /// The agency's own e-mail addresses: mail from them is registered as outgoing.
    pub own_addresses: Vec<String>,
    /// The agency's own mail domains (e.g. "sotsiaalkindlustusamet.ee"): a letter
    /// from an address of one of them (or of an official in `deadlines.officials`)
    /// is outgoing, or internal when every party is ours.
    pub email_domains: Vec<String>,
    /// The register's journaling address (staff put it in Bcc).
    pub register_address: String,
    /// Time zone of registration dates and deadlines.
    pub timezone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NumberingConfig {
    /// Default pattern of a thread's first document. Placeholders: `{series}`,
    /// `{seq}`, `{yy}`, `{yyyy}`. With a year placeholder the sequence restarts yearly.
    pub pattern: String,
    /// Pattern of a follow-up in a thread: `{parent}` is the thread's first number.
    pub followup: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            max_connections: 8,
            file_store: FileStore::Auto,
            agency: AgencyConfig::default(),
            numbering: NumberingConfig::default(),
            series_file: PathBuf::new(),
            kinds_file: PathBuf::new(),
            grounds_file: PathBuf::new(),
            max_file_size: 200 * 1024 * 1024,
            ingest: Default::default(),
            search: Default::default(),
            deadlines: Default::default(),
            outbox: Default::default(),
            dhx: Default::default(),
            web: Default::default(),
            ocr: Default::default(),
            signatures: Default::default(),
            invoices: Default::default(),
        }
    }
}

impl Default for AgencyConfig {
    fn default() -> Self {
        AgencyConfig {
            name: "Sotsiaalkindlustusamet".into(),
            registry_code: "70001975".into(),
            unit: "Ohvriabi".into(),
            own_addresses: vec!["info@sotsiaalkindlustusamet.ee".into()],
            email_domains: vec!["sotsiaalkindlustusamet.ee".into()],
            register_address: "dokumendid@sotsiaalkindlustusamet.ee".into(),
            timezone: "Europe/Tallinn".into(),
        }
    }
}

impl Default for NumberingConfig {
    fn default() -> Self {
        NumberingConfig {
            pattern: "{series}/{seq}".into(),
            followup: "{parent}-{n}".into(),
        }
    }
}

/// Where stored files go (`file_store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FileStore {
    /// Local files with SQLite, the database with PostgreSQL.
    #[default]
    Auto,
    Local,
    Database,
}

impl std::str::FromStr for FileStore {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(FileStore::Auto),
            "local" => Ok(FileStore::Local),
            "database" => Ok(FileStore::Database),
            _ => Err(Error::invalid(format!(
                "invalid file_store {s:?}: expected auto, local or database"
            ))),
        }
    }
}

/// Overrides given on the command line (the highest precedence).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    /// `key=value` pairs, keys dotted (`web.listen=127.0.0.1:9000`).
    pub set: Vec<String>,
}

impl Config {
    /// Loads the configuration with the documented precedence, then validates it.
    pub fn load(ov: &Overrides) -> Result<Config> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(ov, &env)
    }

    /// As [`Config::load`], with the environment given (for tests).
    pub fn load_from(ov: &Overrides, env: &[(String, String)]) -> Result<Config> {
        let env_file = env
            .iter()
            .find(|(k, _)| k == "DOCGATE_CONFIG")
            .map(|(_, v)| PathBuf::from(v));
        let file = ov.config_file.clone().or(env_file).or_else(|| {
            let p = PathBuf::from("docgate.toml");
            p.exists().then_some(p)
        });
        let mut value = match &file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::invalid(format!("cannot read config file {}: {e}", path.display()))
                })?;
                text.parse::<toml::Table>().map_err(|e| {
                    Error::invalid(format!("invalid config file {}: {e}", path.display()))
                })?
            }
            None => toml::Table::new(),
        };
        for (k, v) in env {
            let Some(rest) = k.strip_prefix("DOCGATE_") else {
                continue;
            };
            // Not configuration: the file's path, the tests' settings (`TEST_*`,
            // `REQUIRE_SERVICES`, read by `testing`) and the log filter.
            if rest == "CONFIG"
                || rest.starts_with("TEST_")
                || rest == "REQUIRE_SERVICES"
                || rest == "LOG"
            {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
            set_path(&mut value, &path, v, &format!("environment variable {k}"))?;
        }
        if let Some(d) = &ov.data_dir {
            value.insert(
                "data_dir".into(),
                toml::Value::String(d.to_string_lossy().into()),
            );
        }
        if let Some(u) = &ov.database_url {
            value.insert("database_url".into(), toml::Value::String(u.clone()));
        }
        for kv in &ov.set {
            let (k, v) = kv.split_once('=').ok_or_else(|| {
                Error::invalid(format!("invalid override {kv:?}: expected KEY=VALUE"))
            })?;
            let path: Vec<String> = k.split('.').map(str::to_string).collect();
            set_path(&mut value, &path, v, &format!("override {k}"))?;
        }
        let cfg: Config = Config::deserialize(toml::Value::Table(value)).map_err(|e| {
            let src = file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "the environment".into());
            Error::invalid(format!("invalid configuration ({src}): {}", e.message()))
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses a configuration file's text (no environment, no validation of paths).
    pub fn from_toml(text: &str) -> Result<Config> {
        let cfg: Config = toml::from_str(text)
            .map_err(|e| Error::invalid(format!("invalid configuration: {}", e.message())))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<()> {
        if !(self.database_url.is_empty()
            || self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return Err(Error::invalid(format!(
                "invalid database_url {:?}: expected sqlite://PATH or postgres://…",
                self.database_url
            )));
        }
        if self.agency.email_domains.len() > 100 {
            return Err(Error::invalid(format!(
                "invalid agency.email_domains: {} domains, at most 100",
                self.agency.email_domains.len()
            )));
        }
        for d in &self.agency.email_domains {
            let ok = !d.is_empty()
                && d.len() <= 253
                && d.contains('.')
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if !ok {
                return Err(Error::invalid(format!(
                    "invalid agency.email_domains entry {d:?}: expected a domain such as \"sotsiaalkindlustusamet.ee\" (no @)"
                )));
            }
        }
        if jiff::tz::TimeZone::get(&self.agency.timezone).is_err() {
            return Err(Error::invalid(format!(
                "invalid agency.timezone {:?}",
                self.agency.timezone
            )));
        }
        if !crate::model::is_registry_code(&self.agency.registry_code) {
            return Err(Error::invalid(format!(
                "invalid agency.registry_code {:?}: expected 8 digits",
                self.agency.registry_code
            )));
        }
        crate::numbering::Pattern::parse(&self.numbering.pattern)?;
        if !self.numbering.followup.contains("{parent}") || !self.numbering.followup.contains("{n}")
        {
            return Err(Error::invalid(format!(
                "invalid numbering.followup {:?}: it must contain {{parent}} and {{n}}",
                self.numbering.followup
            )));
        }
        self.web.validate()?;
        if self.max_connections == 0 {
            return Err(Error::invalid(
                "invalid max_connections 0: must be at least 1",
            ));
        }
        self.dhx.validate()?;
        self.ocr.validate()?;
        self.signatures.validate()?;
        self.invoices.validate()?;
        Ok(())
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    /// The effective database URL.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("docgate.db").display())
        } else {
            self.database_url.clone()
        }
    }

    /// True when files are kept in the database rather than in `{data_dir}/files`.
    pub fn files_in_database(&self) -> bool {
        match self.file_store {
            FileStore::Database => true,
            FileStore::Local => false,
            FileStore::Auto => self.is_postgres(),
        }
    }

    pub fn files_dir(&self) -> PathBuf {
        self.data_dir.join("files")
    }

    pub fn timezone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.agency.timezone).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

/// The type of the field at `path`, from the defaults: a text field takes the
/// value as it is written (`DOCGATE_AGENCY__REGISTRY_CODE=70001975` is the
/// text "70001975", not a number), any other field takes it as a TOML value.
/// None for a field the defaults leave out (an unset option).
fn field_is_text(path: &[String]) -> Option<bool> {
    static DEFAULTS: std::sync::LazyLock<Option<toml::Value>> =
        std::sync::LazyLock::new(|| toml::Value::try_from(Config::default()).ok());
    let mut cur = DEFAULTS.as_ref()?;
    for p in path {
        cur = cur.as_table()?.get(p)?;
    }
    Some(cur.is_str())
}

/// Sets `path` in `table` to `raw`, typed by the field it sets ([`field_is_text`]);
/// a field without a default is parsed as a TOML value when it is one, else
/// taken as text.
fn set_path(table: &mut toml::Table, path: &[String], raw: &str, what: &str) -> Result<()> {
    let (last, parents) = path
        .split_last()
        .ok_or_else(|| Error::invalid(format!("invalid {what}: empty key")))?;
    let mut cur = table;
    for p in parents {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry
            .as_table_mut()
            .ok_or_else(|| Error::invalid(format!("invalid {what}: {p} is not a section")))?;
    }
    let value = match field_is_text(path) {
        Some(true) => toml::Value::String(raw.to_string()),
        _ => parse_scalar(raw),
    };
    cur.insert(last.clone(), value);
    Ok(())
}

fn parse_scalar(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").unwrap_or(toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_file_parses_and_equals_defaults() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/docgate.toml"))
                .unwrap();
        let cfg = Config::from_toml(&text).unwrap();
        assert_eq!(cfg, Config::default());
    }

    #[test]
    fn environment_values_are_typed_by_the_field_they_set() {
        let env = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        // A text field of digits stays text (it used to become a number and fail).
        let cfg = Config::load_from(
            &Overrides::default(),
            &env("DOCGATE_AGENCY__REGISTRY_CODE", "70001975"),
        )
        .unwrap();
        assert_eq!(cfg.agency.registry_code, "70001975");
        // A number field takes a number, a boolean field a boolean.
        let cfg =
            Config::load_from(&Overrides::default(), &env("DOCGATE_MAX_CONNECTIONS", "7")).unwrap();
        assert_eq!(cfg.max_connections, 7);
        let cfg = Config::load_from(
            &Overrides {
                set: vec!["ingest.enabled=false".into(), "agency.name=12345".into()],
                ..Default::default()
            },
            &[],
        )
        .unwrap();
        assert!(!cfg.ingest.enabled);
        assert_eq!(cfg.agency.name, "12345");
        // A number field given text is refused.
        assert!(Config::load_from(
            &Overrides::default(),
            &env("DOCGATE_MAX_CONNECTIONS", "many")
        )
        .is_err());
    }

    #[test]
    fn unknown_key_is_an_error_naming_the_key() {
        let err = Config::from_toml("data_dirr = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("data_dirr"), "{err}");
        let err = Config::from_toml("[web]\nlisten_addr = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen_addr"), "{err}");
    }

    #[test]
    fn precedence_file_env_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "data_dir = \"/from/file\"\nmax_connections = 3\n").unwrap();
        let ov = Overrides {
            config_file: Some(file.clone()),
            ..Default::default()
        };
        let env = vec![("DOCGATE_MAX_CONNECTIONS".to_string(), "5".to_string())];
        let cfg = Config::load_from(&ov, &env).unwrap();
        assert_eq!(cfg.data_dir, PathBuf::from("/from/file"));
        assert_eq!(cfg.max_connections, 5);
        let env = vec![("DOCGATE_DATA_DIR".to_string(), "/from/env".to_string())];
        let ov2 = Overrides {
            config_file: Some(file),
            data_dir: Some(PathBuf::from("/from/flag")),
            ..Default::default()
        };
        assert_eq!(
            Config::load_from(&ov2, &env).unwrap().data_dir,
            PathBuf::from("/from/flag")
        );
        let err = Config::load_from(
            &Overrides::default(),
            &[("DOCGATE_NO_SUCH_KEY".into(), "1".into())],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no_such_key"), "{err}");
    }

    #[test]
    fn the_tests_require_services_variable_is_not_configuration() {
        let env = vec![
            ("DOCGATE_REQUIRE_SERVICES".to_string(), "1".to_string()),
            (
                "DOCGATE_TEST_POSTGRES_URL".to_string(),
                "postgres://x/y".to_string(),
            ),
        ];
        Config::load_from(&Overrides::default(), &env)
            .expect("DOCGATE_REQUIRE_SERVICES and DOCGATE_TEST_* are not config keys");
    }

    /// The variables `.ci/setup/*.sh` export to the tests (through
    /// /tmp/docgate-ci.env) reach every docgate process the tests start: each
    /// must be a test setting (`DOCGATE_TEST_*`), never a config key, or every
    /// command would refuse to start in CI (as `DOCGATE_AXE_JS` once did).
    #[test]
    fn ci_setup_variables_are_not_configuration() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/setup");
        let mut env = Vec::new();
        for e in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            for (i, _) in text.match_indices("DOCGATE_") {
                let name: String = text[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                env.push((name, "x".to_string()));
            }
        }
        assert!(
            !env.is_empty(),
            "no DOCGATE_ variable found in {}",
            dir.display()
        );
        for (k, v) in env {
            if let Err(e) = Config::load_from(&Overrides::default(), &[(k.clone(), v)]) {
                panic!("{k} from .ci/setup is read as configuration: {e}");
            }
        }
    }
}
