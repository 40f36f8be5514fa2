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
    /// How often the Maildir and the drop folder are scanned, in milliseconds.
    pub poll_interval_ms: u64,
    /// Largest message, in bytes (larger ones are quarantined).
    pub max_message_size: u64,
    /// Most attachments a message may have.
    pub max_attachments: usize,
    /// Deepest MIME nesting (multiparts and nested messages).
    pub max_mime_depth: usize,
    /// Largest total decoded size of a message's parts, in bytes.
    pub max_decoded_size: u64,
    /// Time limit of one extractor run (a message's parsing, one file's text), seconds.
    pub extract_timeout_secs: u64,
    /// Fall back to `pdftotext` (poppler-utils) when lopdf's text is not trusted.
    pub pdftotext: bool,
    /// Time limit of one `pdftotext` run, seconds.
    pub pdftotext_timeout_secs: u64,
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
            poll_interval_ms: 1000,
            max_message_size: 150 * 1024 * 1024,
            max_attachments: 200,
            max_mime_depth: 20,
            max_decoded_size: 300 * 1024 * 1024,
            extract_timeout_secs: 60,
            pdftotext: true,
            pdftotext_timeout_secs: 20,
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
    /// Poll interval (and IDLE re-check), seconds.
    pub poll_secs: u64,
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
            poll_secs: 60,
            ca_file: PathBuf::new(),
        }
    }
}

impl IngestConfig {
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
            pdftotext_timeout: Duration::from_secs(self.pdftotext_timeout_secs),
            max_decompressed: self.max_decoded_size,
        }
    }

    pub fn extract_timeout(&self) -> Duration {
        Duration::from_secs(self.extract_timeout_secs.max(1))
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

/// Sleeps `d` unless shutdown comes first; true when shutting down.
pub(crate) async fn sleep_or_shutdown(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(d) => shutdown.is_cancelled(),
    }
}
