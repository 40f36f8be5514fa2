//! The drop folder: scanned post and other files (PDF, text, `.eml`, capsule
//! XML). Each file becomes an incoming document (channel `post` or as
//! configured), or a quarantine item, and is then moved to `done/`. A file too
//! large, or one that fails for a reason of its own, is set aside in
//! `quarantine/` (see [`super::fault`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::error::{Error, Result};
use crate::model::Channel;

use super::fault::{self, Attempts, Bounded, Fault};
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
    match std::fs::rename(file, &target) {
        Ok(()) => Ok(()),
        // Another process sharing the folder moved it first.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(
            format!("cannot move {} to done/", file.display()),
            e,
        )),
    }
}

pub async fn process_one(app: &App, dir: &Path, file: &Path, channel: Channel) -> Result<Outcome> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let ic = &app.config.ingest;
    let limit = if name.to_ascii_lowercase().ends_with(".eml") {
        ic.max_message_size
    } else {
        app.config.max_file_size.max(ic.max_message_size)
    };
    let bytes = match fault::read_bounded(file, limit).await? {
        Bounded::Whole(b) => b,
        Bounded::TooLarge { size, sha256 } => {
            // Never read whole: kept by metadata, the file set aside.
            let reason = format!(
                "fail on liiga suur (file too large): {size} baiti/bytes, piir/limit {limit}"
            );
            let id = fault::set_aside(app, dir, file, Some((size, sha256)), &reason).await?;
            return Ok(Outcome::Quarantined { id, reason });
        }
    };
    // The file's arrival: its modification time (when it was written into the folder).
    let arrival = std::fs::metadata(file)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| jiff::Timestamp::try_from(m).ok());
    let source = file.display().to_string();
    // In a task of its own: a panic while ingesting one file is that file's
    // fault, not the source's end.
    let a = app.clone();
    let o = tokio::spawn(async move {
        mail::ingest_file_at(&a, &name, bytes, &source, channel, arrival).await
    })
    .await
    .map_err(|e| fault::panic_error(&file.display().to_string(), e))??;
    move_to_done(dir, file)?;
    Ok(o)
}

/// One pass over the folder; returns how many files were handled. A file that
/// fails for a reason of its own is set aside in `quarantine/` (by metadata) and
/// the pass goes on; a transient fault ends the pass, leaving the file in place.
pub async fn pass(
    app: &App,
    dir: &Path,
    settle: Duration,
    shutdown: &CancellationToken,
) -> Result<usize> {
    pass_with(app, dir, settle, shutdown, &mut Attempts::default()).await
}

/// [`pass`] counting transient failures per file across passes.
pub async fn pass_with(
    app: &App,
    dir: &Path,
    settle: Duration,
    shutdown: &CancellationToken,
    attempts: &mut Attempts,
) -> Result<usize> {
    let channel: Channel = app.config.ingest.drop_channel.parse()?;
    let mut n = 0;
    for f in pending(dir, settle)? {
        if shutdown.is_cancelled() {
            break;
        }
        let key = f.display().to_string();
        match process_one(app, dir, &f, channel).await {
            Ok(o) => {
                tracing::info!("{}: {}", f.display(), o.status());
                attempts.done(&key);
                n += 1;
            }
            Err(Error::NotFound(_)) => attempts.done(&key),
            Err(e) => {
                if fault::classify(&e) == Fault::Transient && !attempts.failed(&key) {
                    tracing::error!("cannot ingest {} (will retry): {e}", f.display());
                    return Err(e);
                }
                tracing::error!("setting {} aside: {e}", f.display());
                fault::set_aside(app, dir, &f, None, &fault::reason_of(&e)).await?;
                attempts.done(&key);
                n += 1;
            }
        }
    }
    Ok(n)
}

pub async fn run(app: App, shutdown: CancellationToken) -> Result<()> {
    let dir = super::drop_folder_path(&app.config);
    let interval = Duration::from_millis(app.config.ingest.poll_interval_ms.max(50));
    let mut attempts = Attempts::default();
    loop {
        if shutdown.is_cancelled() {
            return Ok(());
        }
        let wait =
            match pass_with(&app, &dir, Duration::from_secs(2), &shutdown, &mut attempts).await {
                Ok(n) => {
                    attempts.reset_backoff();
                    (n == 0).then_some(interval)
                }
                Err(e) => {
                    tracing::error!("drop folder {}: {e}", dir.display());
                    Some(attempts.backoff().max(interval))
                }
            };
        if let Some(wait) = wait {
            if super::sleep_or_shutdown(wait, &shutdown).await {
                return Ok(());
            }
        }
    }
}
