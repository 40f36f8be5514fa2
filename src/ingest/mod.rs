//! Ingest: mail and files reach the register by themselves, exactly once.
//!
//! - [`mail`]: a raw message to a [`NewDocument`] (extraction, parties, personal codes).
//! - [`thread`]: which earlier document a message continues (never a guess).
//! - [`quarantine`]: what cannot be registered, kept verbatim with its reason.
//! - [`fault`]: transient faults (back off, retry) vs. an item's own (set aside, go on).
//! - [`import`]: `docgate import PATH` and `docgate register FILE.eml`.
//! - [`maildir`], [`dropfolder`], [`imap`]: the `serve` sources; [`run`] starts them.
//!
//! Exactly once: every message carries source keys (`sha256:<raw>`, `msgid:<id>`);
//! the register refuses a second document with any of them, and a source is only
//! acknowledged (moved to `cur/`, `done/`, flagged \Seen) after the commit. So a
//! restart re-reads harmlessly.

pub mod dropfolder;
pub mod fault;
pub mod imap;
pub mod import;
pub mod mail;
pub mod maildir;
pub mod quarantine;
pub mod thread;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::extract::mail::Limits;
use crate::extract::TextOptions;

pub use import::{import_path, register_path, ImportItem, ImportOptions, ImportSummary};

/// The `[ingest]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Run the ingest sources in `docgate serve`.
    pub enabled: bool,
    /// The Maildir watched by `serve`; empty means `{data_dir}/inbox`.
    pub maildir: PathBuf,
    /// The drop folder for scanned post and other files; empty means `{data_dir}/drop`.
    pub drop_folder: PathBuf,
    /// Channel of documents from the drop folder.
    pub drop_channel: String,
    /// How often the Maildir and the drop folder are scanned ("1s").
    #[serde(with = "crate::config::duration")]
    pub poll_interval: Duration,
    /// Largest message, in bytes (larger ones are quarantined).
    pub max_message_size: u64,
    /// Most attachments a message may have.
    pub max_attachments: usize,
    /// Deepest MIME nesting (multiparts and nested messages).
    pub max_mime_depth: usize,
    /// Largest total decoded size of a message's parts, in bytes.
    pub max_decoded_size: u64,
    /// Time limit of one extractor run (a message's parsing, one file's text), such as "1m".
    #[serde(with = "crate::config::duration")]
    pub extract_timeout: Duration,
    /// Fall back to `pdftotext` (poppler-utils) when lopdf's text is not trusted.
    pub pdftotext: bool,
    /// Time limit of one `pdftotext` run ("20s").
    #[serde(with = "crate::config::duration")]
    pub pdftotext_timeout: Duration,
    /// Restriction ground proposed to the clerk when personal codes are found.
    pub personal_data_ground: String,
    /// Documents registered per transaction by `docgate import`.
    pub batch_size: usize,
    /// IMAP accounts (`[[ingest.imap]]`).
    pub imap: Vec<ImapAccount>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            enabled: true,
            maildir: PathBuf::new(),
            drop_folder: PathBuf::new(),
            drop_channel: "post".into(),
            poll_interval: Duration::from_secs(1),
            max_message_size: 150 * 1024 * 1024,
            max_attachments: 200,
            max_mime_depth: 20,
            max_decoded_size: 300 * 1024 * 1024,
            extract_timeout: Duration::from_secs(60),
            pdftotext: true,
            pdftotext_timeout: Duration::from_secs(20),
            personal_data_ground: "AvTS § 35 lg 1 p 11".into(),
            batch_size: 200,
            imap: Vec::new(),
        }
    }
}

/// How an IMAP account connects (`security`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImapSecurity {
    /// Implicit TLS (port 993).
    Tls,
    /// No encryption: allowed only to a loopback host.
    Plain,
}

/// What is done to a message on the server once it is registered (`after`):
/// flagged `\Seen` ("seen"), or moved to a folder ("move:FOLDER").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ImapAfter {
    Seen,
    Move(String),
}

impl TryFrom<String> for ImapAfter {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        match s.strip_prefix("move:") {
            _ if s == "seen" => Ok(ImapAfter::Seen),
            Some(f) if !f.trim().is_empty() => Ok(ImapAfter::Move(f.to_string())),
            _ => Err(format!(
                "invalid after {s:?}: expected \"seen\" or \"move:FOLDER\""
            )),
        }
    }
}

impl From<ImapAfter> for String {
    fn from(a: ImapAfter) -> String {
        match a {
            ImapAfter::Seen => "seen".into(),
            ImapAfter::Move(f) => format!("move:{f}"),
        }
    }
}

impl ImapAfter {
    /// The folder messages are moved to, if any.
    pub fn move_to(&self) -> Option<&str> {
        match self {
            ImapAfter::Seen => None,
            ImapAfter::Move(f) => Some(f),
        }
    }
}

/// One IMAP account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImapAccount {
    /// A name for logs, the state table and the lease.
    pub name: String,
    pub host: String,
    pub port: u16,
    /// "tls" (implicit TLS, port 993) or "plain" (allowed only to a loopback host).
    pub security: ImapSecurity,
    pub username: String,
    /// The password; or leave empty and set `password_env`.
    pub password: String,
    /// Environment variable holding the password.
    pub password_env: String,
    /// Folders to read.
    pub folders: Vec<String>,
    /// After commit: "seen" (flag \Seen) or "move:FOLDER".
    pub after: ImapAfter,
    /// Use IDLE when the server offers it (else poll).
    pub idle: bool,
    /// Poll interval (and IDLE re-check), such as "1m"; at most 20s apart
    /// while the account's lease is held.
    #[serde(with = "crate::config::duration")]
    pub poll: Duration,
    /// Extra trusted CA certificates (PEM) besides the built-in web roots; empty: none.
    pub ca_file: PathBuf,
}

impl Default for ImapAccount {
    fn default() -> Self {
        ImapAccount {
            name: "imap".into(),
            host: String::new(),
            port: 993,
            security: ImapSecurity::Tls,
            username: String::new(),
            password: String::new(),
            password_env: String::new(),
            folders: vec!["INBOX".into()],
            after: ImapAfter::Seen,
            idle: true,
            poll: Duration::from_secs(60),
            ca_file: PathBuf::new(),
        }
    }
}

impl IngestConfig {
    /// Checks `[ingest]` at start (called by `Config::validate`): the drop
    /// folder's channel, every IMAP account, the limits and the durations.
    pub fn validate(&self) -> Result<()> {
        self.drop_channel
            .parse::<crate::model::Channel>()
            .map_err(|_| {
                Error::invalid(format!(
                    "invalid ingest.drop_channel {:?}: expected email, dhx, post, hand, web or einvoice",
                    self.drop_channel
                ))
            })?;
        let mut names = std::collections::BTreeSet::new();
        for acc in &self.imap {
            imap::validate(acc)?;
            if !names.insert(acc.name.as_str()) {
                return Err(Error::invalid(format!(
                    "invalid ingest.imap.name {:?}: two accounts of one name would share one lease",
                    acc.name
                )));
            }
        }
        for (key, v) in [
            ("ingest.max_attachments", self.max_attachments as u64),
            ("ingest.max_mime_depth", self.max_mime_depth as u64),
            ("ingest.max_message_size", self.max_message_size),
            ("ingest.max_decoded_size", self.max_decoded_size),
            ("ingest.batch_size", self.batch_size as u64),
        ] {
            if v == 0 {
                return Err(Error::invalid(format!(
                    "invalid {key} 0: must be at least 1"
                )));
            }
        }
        let check = crate::config::check_duration;
        let (second, hour) = (Duration::from_secs(1), Duration::from_secs(3600));
        check(
            "ingest.poll_interval",
            self.poll_interval,
            Duration::from_millis(10),
            hour,
        )?;
        check("ingest.extract_timeout", self.extract_timeout, second, hour)?;
        check(
            "ingest.pdftotext_timeout",
            self.pdftotext_timeout,
            second,
            hour,
        )?;
        Ok(())
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_message_size: self.max_message_size,
            max_attachments: self.max_attachments,
            max_mime_depth: self.max_mime_depth,
            max_decoded_size: self.max_decoded_size,
        }
    }

    pub fn text_options(&self) -> TextOptions {
        TextOptions {
            pdftotext: self.pdftotext,
            pdftotext_timeout: self.pdftotext_timeout,
            max_decompressed: self.max_decoded_size,
        }
    }

    pub fn extract_timeout(&self) -> Duration {
        self.extract_timeout
    }
}

/// The Maildir `serve` watches.
pub fn maildir_path(cfg: &Config) -> PathBuf {
    if cfg.ingest.maildir.as_os_str().is_empty() {
        cfg.data_dir.join("inbox")
    } else {
        cfg.ingest.maildir.clone()
    }
}

/// The drop folder `serve` watches.
pub fn drop_folder_path(cfg: &Config) -> PathBuf {
    if cfg.ingest.drop_folder.as_os_str().is_empty() {
        cfg.data_dir.join("drop")
    } else {
        cfg.ingest.drop_folder.clone()
    }
}

/// Creates the inbox Maildir (`new/`, `cur/`, `tmp/`) and the drop folder (with
/// `done/`). Called by `docgate init`; safe to run twice.
pub fn init_dirs(cfg: &Config) -> Result<()> {
    let md = maildir_path(cfg);
    for sub in ["new", "cur", "tmp"] {
        mkdir(&md.join(sub))?;
    }
    let drop = drop_folder_path(cfg);
    mkdir(&drop.join("done"))?;
    Ok(())
}

fn mkdir(p: &Path) -> Result<()> {
    std::fs::create_dir_all(p)
        .map_err(|e| Error::io(format!("cannot create directory {}", p.display()), e))
}

/// Runs the configured ingest sources until `shutdown` fires: the Maildir, the
/// drop folder and every IMAP account. Each finishes the item in hand first.
pub async fn run(app: App, shutdown: CancellationToken) -> Result<()> {
    if !app.config.ingest.enabled {
        shutdown.cancelled().await;
        return Ok(());
    }
    init_dirs(&app.config)?;
    let mut set: tokio::task::JoinSet<Result<()>> = tokio::task::JoinSet::new();
    set.spawn(maildir::run(app.clone(), shutdown.clone()));
    set.spawn(dropfolder::run(app.clone(), shutdown.clone()));
    if !app.config.invoices.operator_folder.as_os_str().is_empty() {
        set.spawn(dropfolder::run_operator(app.clone(), shutdown.clone()));
    }
    for acc in app.config.ingest.imap.clone() {
        set.spawn(imap::run(app.clone(), acc, shutdown.clone()));
    }
    let mut first_err = None;
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!("ingest source stopped: {e}");
                first_err.get_or_insert(e);
                shutdown.cancel();
            }
            Err(e) => {
                tracing::error!("ingest source panicked: {e}");
                shutdown.cancel();
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
