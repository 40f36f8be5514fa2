//! Ingest commands: `import`, `quarantine list|show|retry`, `triage`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::app::App;
use crate::config::Config;
use crate::ingest::{self, quarantine, ImportOptions};

use super::{print_json, EXIT_ERROR, EXIT_OK};

#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// Import a Maildir, an mbox file or a folder of files (each message once).
    Import(ImportArgs),
    /// Messages and files that could not be registered, kept verbatim.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
    /// Ingested documents whose thread could not be decided (the clerk's triage list).
    Triage(JsonArg),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A Maildir, an mbox file, a folder of files, or one file.
    pub path: PathBuf,
    /// Channel of files that are not mail (default post).
    #[arg(long, default_value = "post")]
    pub channel: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonArg {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// List the held items.
    List(QuarantineListArgs),
    /// Show an item with its reason; --raw prints its bytes as kept.
    Show(QuarantineShowArgs),
    /// Try to register an item again.
    Retry(QuarantineRetryArgs),
}

#[derive(Debug, Args)]
pub struct QuarantineListArgs {
    /// Include released items.
    #[arg(long)]
    pub all: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct QuarantineShowArgs {
    pub id: i64,
    /// Write the kept bytes to stdout.
    #[arg(long)]
    pub raw: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct QuarantineRetryArgs {
    pub id: i64,
    #[arg(long)]
    pub json: bool,
}

async fn open(cfg: Config) -> anyhow::Result<App> {
    App::open(cfg).await.context("cannot open the register")
}

pub async fn run(cmd: IngestCommand, cfg: Config) -> anyhow::Result<i32> {
    match cmd {
        IngestCommand::Import(a) => {
            let app = open(cfg).await?;
            let opts = ImportOptions {
                progress: !a.json,
                file_channel: a.channel.parse()?,
            };
            let s = ingest::import_path(&app, &a.path, &opts).await?;
            if a.json {
                print_json(&s)?;
            } else {
                for it in s.items.iter().filter(|i| i.status != "registered") {
                    println!(
                        "{}: {}{}",
                        it.source,
                        it.status,
                        it.reason
                            .as_ref()
                            .or(it.reg_no.as_ref())
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    );
                }
                println!(
                    "registered {}, duplicates {}, quarantined {}, failed {}",
                    s.registered, s.duplicates, s.quarantined, s.failed
                );
            }
            Ok(if s.failed > 0 { EXIT_ERROR } else { EXIT_OK })
        }
        IngestCommand::Quarantine(q) => quarantine_cmd(q, cfg).await,
        IngestCommand::Triage(a) => {
            let app = open(cfg).await?;
            let list = ingest::thread::triage_list(&app).await?;
            if a.json {
                print_json(&list)?;
            } else {
                for t in &list {
                    let doc = app.register.get(t.doc_id).await?;
                    println!("{} {}: {}", doc.reg_no, doc.title, t.candidates);
                }
                if list.is_empty() {
                    println!("the triage list is empty");
                }
            }
            Ok(EXIT_OK)
        }
    }
}

async fn quarantine_cmd(q: QuarantineCommand, cfg: Config) -> anyhow::Result<i32> {
    let app = open(cfg).await?;
    match q {
        QuarantineCommand::List(a) => {
            let items = quarantine::list(&app.store, a.all).await?;
            if a.json {
                print_json(&items)?;
            } else {
                for i in &items {
                    println!(
                        "{}\t{}\t{} bytes\t{}\t{}",
                        i.id, i.created_at, i.size, i.source, i.reason
                    );
                }
                if items.is_empty() {
                    println!("the quarantine is empty");
                }
            }
        }
        QuarantineCommand::Show(a) => {
            let (item, raw) = quarantine::get(&app.store, a.id).await?;
            if a.raw {
                use std::io::Write;
                std::io::stdout().write_all(&raw)?;
            } else if a.json {
                print_json(&item)?;
            } else {
                println!("id:       {}", item.id);
                println!("source:   {}", item.source);
                println!("reason:   {}", item.reason);
                println!("size:     {} bytes", item.size);
                println!("sha256:   {}", item.sha256);
                println!("kept:     {}", item.created_at);
                println!("state:    {}", item.state);
                println!("attempts: {}", item.attempts);
                if let Some(k) = &item.kept_at {
                    // Kept by metadata: the bytes are there, not in the row.
                    println!("hoitakse (kept at): {k}");
                }
                let head = String::from_utf8_lossy(&raw[..raw.len().min(600)]).to_string();
                println!("--- first bytes (sanitised) ---");
                println!(
                    "{}",
                    head.chars()
                        .map(|c| if c.is_control() && c != '\n' { '.' } else { c })
                        .collect::<String>()
                );
            }
        }
        QuarantineCommand::Retry(a) => {
            let o = quarantine::retry(&app, a.id).await?;
            if a.json {
                print_json(&o)?;
            } else {
                match &o {
                    ingest::mail::Outcome::Registered { reg_no, .. } => {
                        println!("registered as {reg_no}")
                    }
                    ingest::mail::Outcome::Duplicate { reg_no, .. } => {
                        println!("already registered as {reg_no}")
                    }
                    ingest::mail::Outcome::Quarantined { reason, .. } => {
                        println!("still quarantined: {reason}")
                    }
                }
            }
            if matches!(o, ingest::mail::Outcome::Quarantined { .. }) {
                return Ok(EXIT_ERROR);
            }
        }
    }
    Ok(EXIT_OK)
}
