//! The inbox Maildir watched by `serve`: each message in `new/` is registered (or
//! quarantined) and only then moved to `cur/`. A crash between the commit and the
//! move leaves the message in `new/`; the next pass finds it a duplicate and moves it.
//! A message too large, or one that fails for a reason of its own, is set aside
//! in `quarantine/` beside `new/` (see [`super::fault`]).

use crate::periodic::{Every, Next};
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::error::{Error, Result};
use crate::model::Channel;

use super::fault::{self, Attempts, Bounded, Fault};
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
    match std::fs::rename(msg, &target) {
        Ok(()) => Ok(()),
        // Another process sharing the Maildir acknowledged it first (after its
        // own commit, or seeing the same duplicate): nothing left to do.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && target.exists() => Ok(()),
        Err(e) => Err(Error::io(
            format!("cannot move {} to {}", msg.display(), target.display()),
            e,
        )),
    }
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
    let limit = app.config.ingest.max_message_size;
    let raw = match fault::read_bounded(msg, limit).await? {
        Bounded::Whole(raw) => raw,
        Bounded::TooLarge { size, sha256 } => {
            // Never read whole: kept by metadata, the file set aside.
            let reason = format!(
                "kiri on liiga suur (message too large): {size} baiti/bytes, piir/limit {limit} (max_message_size)"
            );
            let id = fault::set_aside(app, maildir, msg, Some((size, sha256)), &reason).await?;
            return Ok(Outcome::Quarantined { id, reason });
        }
    };
    let source = msg.display().to_string();
    let arrival = delivery_time(msg);
    // In a task of its own: a panic while ingesting one message is that
    // message's fault, not the source's end.
    let a = app.clone();
    let o = tokio::spawn(async move {
        mail::ingest_message_at(&a, raw, &source, Channel::Email, arrival).await
    })
    .await
    .map_err(|e| fault::panic_error(&msg.display().to_string(), e))??;
    // Crash window (tests/faults.rs): committed, not yet acknowledged.
    fail::fail_point!("ingest-before-ack", |_| Err(Error::internal(
        "failpoint ingest-before-ack"
    )));
    acknowledge(maildir, msg)?;
    Ok(o)
}

/// One pass over `new/`; returns how many messages were handled. A message that
/// fails for a reason of its own is set aside in `quarantine/` (by metadata) and
/// the pass goes on; a transient fault (the database, the disk) ends the pass,
/// leaving the message in `new/` for the next one (the caller backs off).
pub async fn pass(app: &App, maildir: &Path, shutdown: &CancellationToken) -> Result<usize> {
    pass_with(app, maildir, shutdown, &mut Attempts::default()).await
}

/// [`pass`] counting transient failures per message across passes (`run` keeps
/// one [`Attempts`]), so that a message failing again and again is set aside.
pub async fn pass_with(
    app: &App,
    maildir: &Path,
    shutdown: &CancellationToken,
    attempts: &mut Attempts,
) -> Result<usize> {
    let mut n = 0;
    for msg in pending(maildir)? {
        if shutdown.is_cancelled() {
            break;
        }
        let key = msg.display().to_string();
        match process_one(app, maildir, &msg).await {
            Ok(o) => {
                tracing::info!("{}: {}", msg.display(), o.status());
                attempts.done(&key);
                n += 1;
            }
            Err(Error::NotFound { .. }) => attempts.done(&key),
            Err(e) => {
                if fault::classify(&e) == Fault::Transient && !attempts.failed(&key) {
                    // Ours (database down, disk): leave it in new/ and try again later.
                    tracing::error!("cannot ingest {} (will retry): {e}", msg.display());
                    return Err(e);
                }
                tracing::error!("setting {} aside: {e}", msg.display());
                fault::set_aside(app, maildir, &msg, None, &fault::reason_of(&e)).await?;
                attempts.done(&key);
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Watches the Maildir until shutdown (polling `new/`), backing off after a
/// transient fault.
pub async fn run(app: App, shutdown: CancellationToken) -> Result<()> {
    let md = super::maildir_path(&app.config);
    let interval = app.config.ingest.poll_interval;
    let mut attempts = Attempts::default();
    let mut every = Every::new(format!("maildir {}", md.display()), interval)
        .backoff(super::fault::backoff_from(interval));
    while every.tick(&shutdown).await {
        let pass = pass_with(&app, &md, &shutdown, &mut attempts).await;
        every.done(pass.map(|n| if n == 0 { Next::Wait } else { Next::Again }));
    }
    Ok(())
}
