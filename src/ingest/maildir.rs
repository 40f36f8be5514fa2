//! The inbox Maildir watched by `serve`: each message in `new/` is registered (or
//! quarantined) and only then moved to `cur/`. A crash between the commit and the
//! move leaves the message in `new/`; the next pass finds it a duplicate and moves it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::error::{Error, Result};
use crate::model::Channel;

use super::mail::{self, Outcome};

/// Messages waiting in `new/`, oldest name first.
pub fn pending(maildir: &Path) -> Result<Vec<PathBuf>> {
    let new = maildir.join("new");
    let rd = match std::fs::read_dir(&new) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("cannot read {}", new.display()), e)),
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .map(|n| n.to_string_lossy().starts_with('.'))
                .unwrap_or(true)
        })
        .collect();
    v.sort();
    Ok(v)
}

/// Moves a message from `new/` to `cur/` with the Seen flag (Maildir convention).
pub fn acknowledge(maildir: &Path, msg: &Path) -> Result<()> {
    let name = msg
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let base = name.split(":2,").next().unwrap_or(&name);
    let target = maildir.join("cur").join(format!("{base}:2,S"));
    std::fs::rename(msg, &target).map_err(|e| {
        Error::io(
            format!("cannot move {} to {}", msg.display(), target.display()),
            e,
        )
    })
}

/// Ingests one message file and acknowledges it after the commit.
/// The Maildir delivery time: the seconds at the start of the file's name
/// (`1700000000.M1P2.host`, set by the delivering MTA), else the file's mtime.
pub fn delivery_time(msg: &Path) -> Option<jiff::Timestamp> {
    let name = msg.file_name()?.to_string_lossy().into_owned();
    let secs = name.split('.').next().and_then(|s| s.parse::<i64>().ok());
    if let Some(t) = secs.and_then(|s| jiff::Timestamp::from_second(s).ok()) {
        return Some(t);
    }
    let m = std::fs::metadata(msg).ok()?.modified().ok()?;
    jiff::Timestamp::try_from(m).ok()
}

pub async fn process_one(app: &App, maildir: &Path, msg: &Path) -> Result<Outcome> {
    let raw = match tokio::fs::read(msg).await {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::not_found(format!("{} vanished", msg.display())))
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", msg.display()), e)),
    };
    let source = msg.display().to_string();
    let o = mail::ingest_message_at(app, raw, &source, Channel::Email, delivery_time(msg)).await?;
    acknowledge(maildir, msg)?;
    Ok(o)
}

/// One pass over `new/`; returns how many messages were handled.
pub async fn pass(app: &App, maildir: &Path, shutdown: &CancellationToken) -> Result<usize> {
    let mut n = 0;
    for msg in pending(maildir)? {
        if shutdown.is_cancelled() {
            break;
        }
        match process_one(app, maildir, &msg).await {
            Ok(o) => {
                tracing::info!("{}: {}", msg.display(), o.status());
                n += 1;
            }
            Err(Error::NotFound(_)) => {}
            Err(e) => {
                // Ours (database down, disk): leave it in new/ and try again later.
                tracing::error!("cannot ingest {}: {e}", msg.display());
                return Err(e);
            }
        }
    }
    Ok(n)
}

/// Watches the Maildir until shutdown (polling `new/`).
pub async fn run(app: App, shutdown: CancellationToken) -> Result<()> {
    let md = super::maildir_path(&app.config);
    let interval = Duration::from_millis(app.config.ingest.poll_interval_ms.max(50));
    loop {
        if shutdown.is_cancelled() {
            return Ok(());
        }
        let busy = match pass(&app, &md, &shutdown).await {
            Ok(n) => n > 0,
            Err(_) => false,
        };
        if !busy && super::sleep_or_shutdown(interval, &shutdown).await {
            return Ok(());
        }
    }
}
