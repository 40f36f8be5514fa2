//! `docgate dhx ...`: state document exchange.
//!
//! Exit codes: 0 ok, 1 error, 4 an invalid capsule (`check`, `import`) with the
//! fault code and message.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{print_json, EXIT_OK};
use crate::app::App;
use crate::config::Config;
use crate::dhx::{capsule, incoming, send, Fault, FaultCode};

/// Exit code of an invalid capsule.
pub const EXIT_INVALID: i32 = 4;

#[derive(Debug, Subcommand)]
pub enum DhxCommand {
    /// Check a capsule (XML, or base64 of gzip) against capsule 2.1: exit 0 valid, 4 invalid.
    Check(CheckArgs),
    /// Write the capsule of a registered document to stdout.
    Capsule(CapsuleArgs),
    /// Register a capsule file as an incoming document (channel DHX).
    Import(ImportArgs),
    /// Send a document over DHX: one delivery per addressee, through the outbox.
    Send(SendArgs),
    /// Show the DHX deliveries of a document.
    Status(StatusArgs),
    /// The DHX address book (X-Road global configuration and intermediaries).
    Addresses(AddressesArgs),
    /// List the quarantined (rejected) incoming DHX requests.
    Quarantine(JsonArgs),
    /// Run only the DHX part of the daemon: the POST /dhx endpoint and the sender.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default: dhx.listen, else 127.0.0.1:8081; port 0:
    /// any free port; the address is printed). Only dhx.allowed_clients or, with
    /// dhx.tls, a verified client certificate may call it.
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    pub file: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CapsuleArgs {
    pub reg_no: String,
    /// Addressees (default: the sender of the DHX document it answers).
    #[arg(long, value_delimiter = ',')]
    pub to: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    pub file: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    pub reg_no: String,
    /// Registry codes, comma-separated (default: the sender of the DHX document it answers).
    #[arg(long, value_delimiter = ',')]
    pub to: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    pub reg_no: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AddressesArgs {
    /// Refresh from the global configuration now, whatever the cache age.
    #[arg(long)]
    pub refresh: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    #[arg(long)]
    pub json: bool,
}

async fn open(cfg: Config) -> anyhow::Result<App> {
    App::open(cfg).await.context("cannot open the register")
}

fn read_file(p: &PathBuf) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
}

fn report_fault(f: &Fault, json: bool, file: &std::path::Path) -> anyhow::Result<i32> {
    if json {
        print_json(
            &serde_json::json!({"valid": false, "file": file, "fault_code": f.code.as_str(), "message": f.message}),
        )?;
    } else {
        eprintln!("{}: {}: {}", file.display(), f.code.as_str(), f.message);
    }
    Ok(EXIT_INVALID)
}

pub async fn run(cmd: DhxCommand, cfg: Config) -> anyhow::Result<i32> {
    match cmd {
        DhxCommand::Check(a) => {
            let bytes = read_file(&a.file)?;
            let limits = cfg.dhx.read_limits();
            match capsule::read_any(&bytes, &limits) {
                Ok(c) => {
                    let warnings: Vec<String> = c
                        .files
                        .iter()
                        .filter_map(|f| f.content_error.clone())
                        .collect();
                    if a.json {
                        print_json(&serde_json::json!({
                            "valid": true,
                            "file": a.file,
                            "sender": c.transport.dec_sender.organisation_code,
                            "recipients": capsule::addressees(&c),
                            "title": c.record_metadata.record_title,
                            "files": c.files.iter().map(|f| serde_json::json!({"name": f.name, "size": f.content.len()})).collect::<Vec<_>>(),
                            "warnings": warnings,
                        }))?;
                    } else {
                        println!(
                            "{}: valid capsule 2.1 ({} file(s), from {})",
                            a.file.display(),
                            c.files.len(),
                            c.transport.dec_sender.organisation_code
                        );
                        for w in warnings {
                            println!("  warning: {w}");
                        }
                    }
                    Ok(EXIT_OK)
                }
                Err(f) => report_fault(&f, a.json, &a.file),
            }
        }
        DhxCommand::Capsule(a) => {
            let app = open(cfg).await?;
            let doc = app.register.get_by_reg_no(&a.reg_no).await?;
            let (c, _) = send::build_capsule(&app, &doc, &a.to).await?;
            let xml = capsule::write(&c).map_err(crate::error::Error::from)?;
            print!("{xml}");
            Ok(EXIT_OK)
        }
        DhxCommand::Import(a) => {
            let bytes = read_file(&a.file)?;
            let app = open(cfg).await?;
            let limits = app.config.dhx.read_limits();
            let xml = match capsule::unwrap_any(&bytes, &limits) {
                Ok(x) => x,
                Err(f) => return report_fault(&f, a.json, &a.file),
            };
            let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&xml));
            match incoming::receive(&app, Some("import"), &format!("sha256:{sha}"), &xml, "cli")
                .await
            {
                Ok(r) => {
                    if a.json {
                        print_json(&r)?;
                    } else {
                        println!("registered {} from {}", r.reg_no, a.file.display());
                        for n in &r.notes {
                            println!("  note: {n}");
                        }
                    }
                    Ok(EXIT_OK)
                }
                // A duplicate is a conflict (exit 6), the receiver's failure ours (1).
                Err(f) if f.is_server() || f.code == FaultCode::Duplicate => {
                    Err(anyhow::Error::from(crate::error::Error::from(f))
                        .context(a.file.display().to_string()))
                }
                Err(f) => report_fault(&f, a.json, &a.file),
            }
        }
        DhxCommand::Send(a) => {
            let app = open(cfg).await?;
            let queued = send::enqueue(&app, &a.reg_no, &a.to, "cli").await?;
            if a.json {
                print_json(&serde_json::json!({"reg_no": a.reg_no, "queued": queued}))?;
            } else {
                for q in &queued {
                    println!(
                        "queued {} for {} (consignment {}, outbox {})",
                        a.reg_no, q.to, q.consignment_id, q.outbox_id
                    );
                }
            }
            Ok(EXIT_OK)
        }
        DhxCommand::Status(a) => {
            let app = open(cfg).await?;
            let items = send::status(&app, &a.reg_no).await?;
            if a.json {
                print_json(&items)?;
            } else if items.is_empty() {
                println!("{}: no DHX deliveries", a.reg_no);
            } else {
                for i in &items {
                    println!(
                        "{} -> {}: {} (attempts {}){}",
                        a.reg_no,
                        i.recipient,
                        i.state,
                        i.attempts,
                        i.result
                            .as_deref()
                            .or(i.last_error.as_deref())
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    );
                }
            }
            Ok(EXIT_OK)
        }
        DhxCommand::Addresses(a) => {
            let app = open(cfg).await?;
            let (list, problems) = crate::dhx::addressbook::list(&app, a.refresh).await?;
            if a.json {
                print_json(&serde_json::json!({"addresses": list, "problems": problems}))?;
            } else {
                for p in &problems {
                    eprintln!("warning: {p}");
                }
                for x in &list {
                    match &x.intermediary_code {
                        Some(im) => println!("{}\t{}\tvia {im}", x.code, x.name),
                        None => {
                            println!("{}\t{}\t{}/{}", x.code, x.name, x.member_class, x.subsystem)
                        }
                    }
                }
            }
            Ok(EXIT_OK)
        }
        DhxCommand::Serve(a) => {
            let app = open(cfg).await?;
            app.config.dhx.validate_listener()?;
            let listen = a
                .listen
                .or(app.config.dhx.listen)
                .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 8081)));
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let addr = listener.local_addr()?;
            println!("listening on {addr}");
            eprintln!(
                "docgate: DHX endpoint {}://{addr}/dhx (data {})",
                if app.config.dhx.tls.is_some() {
                    "https"
                } else {
                    "http"
                },
                app.config.data_dir.display()
            );
            let shutdown = tokio_util::sync::CancellationToken::new();
            let sd = shutdown.clone();
            tokio::spawn(async move {
                super::core::wait_for_signal().await;
                sd.cancel();
            });
            let worker = tokio::spawn(send::run(app.clone(), shutdown.clone()));
            let r = crate::dhx::listen::serve(app, listener, shutdown.clone()).await;
            shutdown.cancel();
            r.context("the DHX endpoint failed")?;
            worker.await.context("the DHX sender panicked")??;
            Ok(EXIT_OK)
        }
        DhxCommand::Quarantine(a) => {
            let app = open(cfg).await?;
            let q = incoming::quarantined_rows(&app).await?;
            if a.json {
                print_json(&q)?;
            } else {
                for r in &q {
                    println!(
                        "{}\t{}\t{} bytes ({} kept)\t{}×\t{}",
                        r.id, r.fault_code, r.size, r.kept_bytes, r.seen_count, r.reason
                    );
                }
            }
            Ok(EXIT_OK)
        }
    }
}
