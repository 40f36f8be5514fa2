//! `docgate ocr run [--once]` and `docgate ocr status`: the OCR queue (`crate::ocr`).

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::app::App;
use crate::config::Config;
use crate::ocr;

use super::{print_json, EXIT_ERROR, EXIT_OK};

#[derive(Debug, Subcommand)]
pub enum OcrCommand {
    /// Read the queued scans (until Ctrl-C; with --once, what is due now, then exit).
    Run(RunArgs),
    /// The queue: items per state, and every item not done with its reason.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Work through the items due now and exit.
    #[arg(long)]
    pub once: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(long)]
    pub json: bool,
}

pub async fn run(cmd: OcrCommand, cfg: Config) -> anyhow::Result<i32> {
    let app = App::open(cfg)
        .await
        .context("registrit ei saa avada (cannot open the register)")?;
    match cmd {
        OcrCommand::Run(a) if a.once => {
            let worker = ocr::worker_name();
            let mut total = ocr::Pass::default();
            loop {
                let p = ocr::run_once(&app, &worker, jiff::Timestamp::now()).await?;
                if p.claimed == 0 {
                    break;
                }
                total.claimed += p.claimed;
                total.done += p.done;
                total.retried += p.retried;
                total.failed += p.failed;
                total.lease_lost += p.lease_lost;
            }
            if a.json {
                print_json(&total)?;
            } else {
                println!(
                    "loetud {}, korratakse hiljem {}, ebaõnnestus {}, üle võetud {} (done, retried later, failed, lease lost)",
                    total.done, total.retried, total.failed, total.lease_lost
                );
            }
            Ok(if total.failed > 0 {
                EXIT_ERROR
            } else {
                EXIT_OK
            })
        }
        OcrCommand::Run(_) => {
            let shutdown = tokio_util::sync::CancellationToken::new();
            let sd = shutdown.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                sd.cancel();
            });
            ocr::work(app, shutdown).await?;
            Ok(EXIT_OK)
        }
        OcrCommand::Status(a) => {
            let s = ocr::status(&app.store).await?;
            if a.json {
                print_json(&s)?;
                return Ok(EXIT_OK);
            }
            println!(
                "ootel {}, töös {}, valmis {}, ebaõnnestunud {} (queued, running, done, failed)",
                s.queued, s.running, s.done, s.failed
            );
            for it in &s.open {
                let reg_no = match app.register.get(it.doc_id).await {
                    Ok(d) => d.reg_no,
                    Err(_) => format!("dokument {}", it.doc_id),
                };
                println!(
                    "{reg_no} fail {}: {}, katseid {}{}",
                    it.pos,
                    match it.state.as_str() {
                        "queued" => "ootel",
                        "running" => "töös",
                        "failed" => "ebaõnnestus",
                        other => other,
                    },
                    it.attempts,
                    it.last_error
                        .as_ref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                );
            }
            Ok(EXIT_OK)
        }
    }
}
