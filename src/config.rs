//! Configuration: one serde struct, `deny_unknown_fields` everywhere.
//!
//! Precedence: built-in defaults < the file (`--config`, `DOCGATE_CONFIG`, or
//! `./docgate.toml` when present) < `DOCGATE_*` environment variables < flags.
//! Environment keys map to TOML keys: `DOCGATE_DATA_DIR` is `data_dir`, and a
//! double underscore enters a section: `DOCGATE_WEB__LISTEN` is `web.listen`.
//! The whole result is validated once, at start.
//!
//! Durations are text with their unit, read by humantime: `poll_interval =
//! "500ms"`, `session = "12h"`, `retry_schedule = ["30s", "2m", "20m"]`
//! ([`duration`], [`durations`]); a bare number is refused, naming the key.

use std::path::PathBuf;
use std::time::Duration;

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
        let src = file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the environment".into());
        let cfg = deserialize(value, &format!(" ({src})"))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses a configuration file's text (no environment, no validation of paths).
    pub fn from_toml(text: &str) -> Result<Config> {
        let value = text
            .parse::<toml::Table>()
            .map_err(|e| Error::invalid(format!("invalid configuration: {}", e.message())))?;
        let cfg = deserialize(value, "")?;
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
        if self.max_connections == 0 {
            return Err(Error::invalid(
                "invalid max_connections 0: must be at least 1",
            ));
        }
        if self.max_file_size == 0 {
            return Err(Error::invalid(
                "invalid max_file_size 0: must be at least 1",
            ));
        }
        // Every section's own checks: whatever is read only when first used
        // (an IMAP account, the drop folder's channel, the adapter server) is
        // checked here too, so a bad key refuses the start, naming the key.
        self.ingest.validate()?;
        self.search.validate()?;
        self.deadlines.validate()?;
        self.outbox.validate()?;
        self.dhx.validate()?;
        self.web.validate()?;
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

/// The table as a [`Config`]; an error names the key it is about
/// (`invalid configuration: search.poll: …`).
fn deserialize(value: toml::Table, src: &str) -> Result<Config> {
    serde_path_to_error::deserialize(toml::Value::Table(value)).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().message().to_string();
        if path.is_empty() || path == "." {
            Error::invalid(format!("invalid configuration{src}: {msg}"))
        } else {
            Error::invalid(format!("invalid configuration{src}: {path}: {msg}"))
        }
    })
}

/// A duration of the configuration as humantime text (`#[serde(with =
/// "crate::config::duration")]`): "500ms", "30s", "5m", "12h", "1d". A bare
/// number is refused: its unit would be a guess.
pub mod duration {
    use std::time::Duration;

    use serde::{de, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    /// A duration as the configuration writes it, in its largest whole unit:
    /// "90d", "12h", "30m", "45s", "500ms" (humantime reads it back).
    pub fn format(d: Duration) -> String {
        let (s, ns) = (d.as_secs(), d.subsec_nanos());
        if ns == 0 {
            for (unit, n) in [("d", 86_400), ("h", 3600), ("m", 60)] {
                if s > 0 && s % n == 0 {
                    return format!("{}{unit}", s / n);
                }
            }
            return format!("{s}s");
        }
        if ns % 1_000_000 == 0 {
            return format!("{}ms", d.as_millis());
        }
        humantime_serde::re::humantime::format_duration(d).to_string()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(Visitor)
    }

    pub(super) struct Visitor;

    impl de::Visitor<'_> for Visitor {
        type Value = Duration;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a duration with its unit, such as \"500ms\", \"30s\", \"5m\" or \"12h\"")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            parse(v).map_err(E::custom)
        }
    }

    /// Parses humantime text ("1h 30m" too), with the reason of a refusal.
    pub fn parse(v: &str) -> Result<Duration, String> {
        humantime_serde::re::humantime::parse_duration(v.trim()).map_err(|e| {
            format!("invalid duration {v:?}: {e} (write it with its unit, such as \"500ms\", \"30s\", \"5m\" or \"12h\")")
        })
    }
}

/// A list of durations of the configuration (`#[serde(with = "crate::config::durations")]`),
/// each as [`duration`].
pub mod durations {
    use std::time::Duration;

    use serde::{de, ser::SerializeSeq, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ds: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(ds.len()))?;
        for d in ds {
            seq.serialize_element(&super::duration::format(*d))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        struct Seq;
        impl<'de> de::Visitor<'de> for Seq {
            type Value = Vec<Duration>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of durations with their units, such as [\"30s\", \"2m\"]")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Vec<Duration>, A::Error> {
                let mut out = Vec::new();
                while let Some(d) = a.next_element::<One>()? {
                    out.push(d.0);
                }
                Ok(out)
            }
        }
        struct One(Duration);
        impl<'de> de::Deserialize<'de> for One {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<One, D::Error> {
                d.deserialize_any(super::duration::Visitor).map(One)
            }
        }
        d.deserialize_seq(Seq)
    }
}

/// Refuses a duration outside `min..=max`, naming its key: a zero poll
/// interval, a session of no time, a timeout of a year.
pub fn check_duration(key: &str, d: Duration, min: Duration, max: Duration) -> Result<()> {
    if d < min || d > max {
        let f = duration::format;
        return Err(Error::invalid(format!(
            "invalid {key} {:?}: must be from {} to {}",
            f(d),
            f(min),
            f(max)
        )));
    }
    Ok(())
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
    fn durations_are_humantime_text_and_a_bare_number_is_refused_naming_the_key() {
        let cfg = Config::from_toml(
            "[search]\npoll = \"500ms\"\n[web]\nsession = \"8h\"\nsession_idle = \"1h 30m\"\n[dhx]\nretry_schedule = [\"10s\", \"2m\"]\n",
        )
        .unwrap();
        assert_eq!(cfg.search.poll, Duration::from_millis(500));
        assert_eq!(cfg.web.session, Duration::from_secs(8 * 3600));
        assert_eq!(cfg.web.session_idle, Duration::from_secs(90 * 60));
        assert_eq!(
            cfg.dhx.retry_schedule,
            vec![Duration::from_secs(10), Duration::from_secs(120)]
        );
        // A bare number: its unit would be a guess.
        let err = Config::from_toml("[search]\npoll = 1000")
            .unwrap_err()
            .to_string();
        assert!(err.contains("search.poll") && err.contains("unit"), "{err}");
        // A bad unit.
        let err = Config::from_toml("[ingest]\npoll_interval = \"5 parsecs\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ingest.poll_interval") && err.contains("parsecs"),
            "{err}"
        );
        let err = Config::from_toml("[dhx]\nretry_schedule = [\"1s\", 30]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("dhx.retry_schedule"), "{err}");
        // The old key names are unknown keys.
        let err = Config::from_toml("[web]\nsession_hours = 12")
            .unwrap_err()
            .to_string();
        assert!(err.contains("session_hours"), "{err}");
        // A zero or absurd duration is refused by validation, naming the key.
        for (toml, key) in [
            ("[search]\npoll = \"0s\"", "search.poll"),
            ("[web]\nsession = \"0s\"", "web.session"),
            ("[ingest]\npoll_interval = \"0ms\"", "ingest.poll_interval"),
            (
                "[deadlines]\nscheduler_interval = \"400d\"",
                "deadlines.scheduler_interval",
            ),
            ("[outbox.smtp]\npoll = \"0s\"", "outbox.smtp.poll"),
            ("[dhx]\nretry_schedule = [\"0s\"]", "dhx.retry_schedule[0]"),
            ("[ocr]\npoll_interval = \"0s\"", "ocr.poll_interval"),
            (
                "[invoices]\nvalidate_timeout = \"1h\"",
                "invoices.validate_timeout",
            ),
        ] {
            let err = Config::from_toml(toml).unwrap_err().to_string();
            assert!(err.contains(key), "{toml}: {err}");
        }
        // The environment and --set take a duration as text (its default is text).
        let cfg = Config::load_from(
            &Overrides {
                set: vec!["ocr.poll_interval=250ms".into()],
                ..Default::default()
            },
            &[("DOCGATE_WEB__SESSION".into(), "30s".into())],
        )
        .unwrap();
        assert_eq!(cfg.ocr.poll_interval, Duration::from_millis(250));
        assert_eq!(cfg.web.session, Duration::from_secs(30));
        let err = Config::load_from(
            &Overrides::default(),
            &[("DOCGATE_SEARCH__POLL".into(), "30".into())],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("search.poll"), "{err}");
        // Written back in the largest whole unit, read back the same.
        for (d, text) in [
            (Duration::from_secs(90 * 86_400), "90d"),
            (Duration::from_secs(12 * 3600), "12h"),
            (Duration::from_secs(90 * 60), "90m"),
            (Duration::from_secs(45), "45s"),
            (Duration::from_millis(1500), "1500ms"),
            (Duration::ZERO, "0s"),
        ] {
            assert_eq!(duration::format(d), text);
            assert_eq!(duration::parse(text), Ok(d));
        }
    }

    #[test]
    fn late_checks_are_in_validate_naming_the_key() {
        for (toml, key) in [
            (
                "[[ingest.imap]]\nname = \"a\"\nhost = \"imap.example.ee\"\nsecurity = \"plain\"",
                "ingest.imap.security",
            ),
            ("[[ingest.imap]]\nname = \"a\"\nhost = \"\"", "ingest.imap.host"),
            (
                "[[ingest.imap]]\nname = \"a\"\nhost = \"x.ee\"\n[[ingest.imap]]\nname = \"a\"\nhost = \"y.ee\"",
                "ingest.imap.name",
            ),
            ("[ingest]\ndrop_channel = \"pigeon\"", "ingest.drop_channel"),
            ("[dhx]\nadapter_server = \"EE/GOV\"", "dhx.adapter_server"),
            ("[dhx]\nadapter_url = \"ftp://x\"", "dhx.adapter_url"),
            ("[web]\nstaff_sees = [\"everyone\"]", "web.staff_sees"),
            ("[web]\nlisten = \"localhost\"", "web.listen"),
            ("[outbox.smtp]\nfrom = \"not an address\"", "outbox.smtp.from"),
            ("[deadlines]\ndigest_hour = 24", "deadlines.digest_hour"),
        ] {
            let err = Config::from_toml(toml).unwrap_err().to_string();
            assert!(err.contains(key), "{toml}: {err}");
        }
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
