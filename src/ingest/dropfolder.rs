//! The drop folder: scanned post and other files (PDF, text, `.eml`, capsule
//! XML). Each file becomes an incoming document (channel `post` or as
//! configured), or a quarantine item, and is then moved to `done/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::error::{Error, Result};
use crate::model::Channel;

use super::mail::{self, Outcome};

/// Files ready in the folder: not hidden, not partial, unchanged for a moment.
pub fn pending(dir: &Path, settle: Duration) -> Result<Vec<PathBuf>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("cannot read {}", dir.display()), e)),
    };
    let now = SystemTime::now();
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || name.ends_with(".part") || name.ends_with(".tmp") {
                return false;
            }
            let Ok(meta) = e.metadata() else { return false };
            meta.is_file()
                && meta
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_none_or(|age| age >= settle)
        })
        .map(|e| e.path())
        .collect();
    v.sort();
    Ok(v)
}

fn move_to_done(dir: &Path, file: &Path) -> Result<()> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let done = dir.join("done");
    std::fs::create_dir_all(&done)
        .map_err(|e| Error::io(format!("cannot create {}", done.display()), e))?;
    let mut target = done.join(&name);
    let mut n = 1;
    while target.exists() {
        target = done.join(format!("{n}-{name}"));
        n += 1;
    }
    std::fs::rename(file, &target)
        .map_err(|e| Error::io(format!("cannot move {} to done/", file.display()), e))
}

pub async fn process_one(app: &App, dir: &Path, file: &Path, channel: Channel) -> Result<Outcome> {
    let bytes = tokio::fs::read(file)
        .await
        .map_err(|e| Error::io(format!("cannot read {}", file.display()), e))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    // The file's arrival: its modification time (when it was written into the folder).
    let arrival = std::fs::metadata(file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| jiff::Timestamp::try_from(m).ok());
    let o = mail::ingest_file_at(
        app,
        &name,
        bytes,
        &file.display().to_string(),
        channel,
        arrival,
    )
    .await?;
    move_to_done(dir, file)?;
    Ok(o)
}

pub async fn pass(
    app: &App,
    dir: &Path,
    settle: Duration,
    shutdown: &CancellationToken,
) -> Result<usize> {
    let channel: Channel = app.config.ingest.drop_channel.parse()?;
    let mut n = 0;
    for f in pending(dir, settle)? {
        if shutdown.is_cancelled() {
            break;
        }
        let o = process_one(app, dir, &f, channel).await?;
        tracing::info!("{}: {}", f.display(), o.status());
        n += 1;
    }
    Ok(n)
}

pub async fn run(app: App, shutdown: CancellationToken) -> Result<()> {
    let dir = super::drop_folder_path(&app.config);
    let interval = Duration::from_millis(app.config.ingest.poll_interval_ms.max(50));
    loop {
        if shutdown.is_cancelled() {
            return Ok(());
        }
        let busy = match pass(&app, &dir, Duration::from_secs(2), &shutdown).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::error!("drop folder {}: {e}", dir.display());
                false
            }
        };
        if !busy && super::sleep_or_shutdown(interval, &shutdown).await {
            return Ok(());
        }
    }
}
