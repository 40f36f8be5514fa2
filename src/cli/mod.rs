//! The command line: global flags, the subcommands, exit codes.
//!
//! Exit codes (a contract): 0 ok, 1 error, 2 usage, 3 verification failed.
//! Every `--json` prints exactly one JSON document on stdout.

pub mod archive;
pub mod core;
pub mod deadline;
pub mod dhx;
pub mod ingest;
pub mod invoice;
pub mod lifecycle;
pub mod ocr;
pub mod restrictions;
pub mod search;
pub mod web;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, Overrides};

pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_VERIFY: i32 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "docgate",
    version,
    about = "Document register and correspondence gateway of an Estonian public agency"
)]
pub struct Cli {
    /// Configuration file (default: ./docgate.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (overrides data_dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… (overrides database_url).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Override any configuration key: --set web.listen=127.0.0.1:9000 (repeatable).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Command {
    #[command(flatten)]
    Core(core::CoreCommand),
    #[command(flatten)]
    Deadline(deadline::DeadlineCommand),
    #[command(flatten)]
    Ingest(ingest::IngestCommand),
    /// State document exchange (DHX): capsules, sending, receiving, address book.
    #[command(subcommand)]
    Dhx(dhx::DhxCommand),
    /// OCR of scans and photos: the background queue.
    #[command(subcommand)]
    Ocr(ocr::OcrCommand),
    #[command(flatten)]
    Search(search::SearchCommand),
    #[command(flatten)]
    Web(web::WebCommand),
    /// Access restrictions: expiring, set, extend, lift.
    #[command(subcommand)]
    Restrictions(restrictions::RestrictionsCommand),
    /// The records lifecycle: file units, retention, disposal, holds.
    #[command(flatten)]
    Lifecycle(lifecycle::LifecycleCommand),
    /// Archival transfer and a person's data export.
    #[command(flatten)]
    Archive(archive::ArchiveCommand),
    /// Referrals and the invoices that follow them.
    #[command(flatten)]
    Invoice(invoice::InvoiceCommand),
}

impl Cli {
    /// True for the long-running commands (`serve`, `dhx serve`).
    pub fn is_daemon(&self) -> bool {
        matches!(
            self.command,
            Command::Core(core::CoreCommand::Serve(_)) | Command::Dhx(dhx::DhxCommand::Serve(_))
        )
    }

    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            set: self.set.clone(),
        }
    }
}

/// Runs a parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let cfg = match Config::load(&cli.overrides()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("docgate: {e}");
            return EXIT_ERROR;
        }
    };
    let res = match cli.command {
        Command::Core(c) => core::run(c, cfg).await,
        Command::Deadline(c) => deadline::run(c, cfg).await,
        Command::Ingest(c) => ingest::run(c, cfg).await,
        Command::Dhx(c) => dhx::run(c, cfg).await,
        Command::Ocr(c) => ocr::run(c, cfg).await,
        Command::Search(c) => search::run(c, cfg).await,
        Command::Web(c) => web::run(c, cfg).await,
        Command::Restrictions(c) => restrictions::run(c, cfg).await,
        Command::Lifecycle(c) => lifecycle::run(c, cfg).await,
        Command::Archive(c) => archive::run(c, cfg).await,
        Command::Invoice(c) => invoice::run(c, cfg).await,
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            // One line: the context chain joined.
            let msg = e
                .chain()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            eprintln!("docgate: {msg}");
            EXIT_ERROR
        }
    }
}

/// Prints one JSON document on stdout.
pub fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let s = serde_json::to_string_pretty(v)?;
    println!("{s}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Clap's own consistency checks (unique argument ids, valid defaults)
    /// over every subcommand: a clash otherwise shows only when the command runs.
    #[test]
    fn every_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
