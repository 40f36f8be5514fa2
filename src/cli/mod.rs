//! The command line: global flags, the subcommands, exit codes.
//!
//! Exit codes (a contract), one per kind of failure ([`exit_code`]):
//! 0 ok; 1 our own failure (database, disk); 2 usage: a wrong argument, value
//! or configuration; 3 verification failed (tampering, a bad hash); 4 an
//! invalid DHX capsule (`dhx validate`); 5 not found; 6 conflict (a duplicate,
//! a stale edit); 7 not allowed. Every `--json` prints exactly one JSON
//! document on stdout.
//!
//! The library names the input an error concerns by its own field name
//! (`reply_to`); this edge renders it as the flag (`--reply-to`).

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
pub const EXIT_NOT_FOUND: i32 = 5;
pub const EXIT_CONFLICT: i32 = 6;
pub const EXIT_FORBIDDEN: i32 = 7;

/// The exit code of a library error kind: an exhaustive match, so a new kind
/// does not compile until it has its code.
pub fn exit_code(kind: crate::error::ErrorKind) -> i32 {
    use crate::error::ErrorKind;
    match kind {
        ErrorKind::Invalid | ErrorKind::TooLarge => EXIT_USAGE,
        ErrorKind::NotFound => EXIT_NOT_FOUND,
        ErrorKind::Conflict => EXIT_CONFLICT,
        ErrorKind::Forbidden | ErrorKind::Unauthorized => EXIT_FORBIDDEN,
        ErrorKind::Integrity => EXIT_VERIFY,
        ErrorKind::Internal => EXIT_ERROR,
    }
}

/// The flag of a library field: `reply_to` is `--reply-to`; a configuration
/// key (dotted) stays as it is.
pub fn flag_of(field: &str) -> String {
    if field.contains('.') {
        field.to_string()
    } else if field == "query" {
        // `search QUERY`: an argument, not a flag.
        "query".to_string()
    } else {
        format!("--{}", field.replace('_', "-"))
    }
}

/// One line for a library error, its field as the flag.
pub fn render_error(e: &crate::error::Error) -> String {
    use crate::error::Error;
    match (e, e.field()) {
        (Error::Invalid { .. }, Some(f)) => format!("invalid {}: {}", flag_of(f), e.reason()),
        (Error::NotFound { .. }, Some(f)) => format!("unknown {}: {}", flag_of(f), e.reason()),
        _ => e.to_string(),
    }
}

/// The message and exit code of a failed command: the context chain joined on
/// one line, each library error rendered with flags, and the code of the first
/// library error in the chain (1 when there is none: a failure of the edge's own).
pub fn failure(e: &anyhow::Error) -> (String, i32) {
    let mut code = None;
    let mut parts: Vec<String> = vec![];
    for c in e.chain() {
        match c.downcast_ref::<crate::error::Error>() {
            Some(le) => {
                code.get_or_insert(exit_code(le.kind()));
                parts.push(render_error(le));
            }
            None => parts.push(c.to_string()),
        }
    }
    (parts.join(": "), code.unwrap_or(EXIT_ERROR))
}

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
            eprintln!("docgate: {}", render_error(&e));
            return exit_code(e.kind());
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
            let (msg, code) = failure(&e);
            eprintln!("docgate: {msg}");
            code
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

    #[test]
    fn errors_render_fields_as_flags_and_exit_by_kind() {
        use crate::error::Error;
        let e = anyhow::Error::from(Error::invalid_field(
            "reply_to",
            "\"9-1/9\": no such number",
        ))
        .context("cannot register");
        let (msg, code) = failure(&e);
        assert_eq!(
            msg,
            "cannot register: invalid --reply-to: \"9-1/9\": no such number"
        );
        assert_eq!(code, EXIT_USAGE);
        let (msg, code) = failure(&anyhow::Error::from(Error::not_found("no document 9-1/9")));
        assert_eq!((msg.as_str(), code), ("no document 9-1/9", EXIT_NOT_FOUND));
        let (_, code) = failure(&anyhow::Error::from(Error::Conflict("dup".into())));
        assert_eq!(code, EXIT_CONFLICT);
        let (_, code) = failure(&anyhow::Error::from(Error::Integrity("hash".into())));
        assert_eq!(code, EXIT_VERIFY);
        let (_, code) = failure(&anyhow::anyhow!("the edge's own failure"));
        assert_eq!(code, EXIT_ERROR);
        assert_eq!(
            flag_of("deadlines.extra_non_working_days"),
            "deadlines.extra_non_working_days"
        );
        assert_eq!(flag_of("as_of"), "--as-of");
    }
}
