//! Faults while ingesting one item, and what a source does about them.
//!
//! - **Transient** (ours, for now: the database, the disk): the item stays where
//!   it is, the source backs off and tries again; nothing is quarantined.
//! - **Permanent** (the item itself: refused, too large, or it broke ingest): the
//!   item is set aside with its reason (by metadata, its bytes kept as a file, not
//!   in a row) and the source goes on with the next item.
//!
//! An item that fails transiently [`MAX_TRANSIENT`] times in a row is treated as
//! permanent, so no single item stops a source for good. Inputs are stat-ed (and
//! read no further than their limit) before they are read whole: an oversized
//! one is hashed as a stream and never held in memory.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::app::App;
use crate::error::{Error, Result};

use super::quarantine;

/// Transient failures of one item before it is set aside as permanent.
pub const MAX_TRANSIENT: u32 = 5;

/// The first back-off after a transient failure; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The name of the folder (beside `new/`, `done/`) where a source keeps what it set aside.
pub const ASIDE_DIR: &str = "quarantine";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Try again later (back off); the item is not to blame.
    Transient,
    /// The item is to blame: set it aside with the reason and go on.
    Permanent,
}

/// Which kind of fault an error of one item's ingest is.
pub fn classify(e: &Error) -> Fault {
    use std::io::ErrorKind as K;
    match e {
        Error::Database(_) | Error::Migrate(_) => Fault::Transient,
        Error::Io { source, .. } => match source.kind() {
            K::PermissionDenied | K::InvalidData | K::InvalidInput | K::UnexpectedEof => {
                Fault::Permanent
            }
            // EISDIR, EFBIG and the like have no stable kind yet: by errno.
            _ if matches!(
                source.raw_os_error(),
                Some(libc::EISDIR) | Some(libc::EFBIG)
            ) =>
            {
                Fault::Permanent
            }
            _ => Fault::Transient,
        },
        _ => Fault::Permanent,
    }
}

/// Transient failures per item (by its source name).
#[derive(Debug, Default)]
pub struct Attempts {
    failures: HashMap<String, u32>,
}

/// The back-off of a source polled every `interval` after a failed pass:
/// [`FIRST_BACKOFF`] doubling to [`MAX_BACKOFF`], never shorter than the interval.
pub(crate) fn backoff_from(interval: Duration) -> crate::periodic::Backoff {
    crate::periodic::Backoff {
        first: FIRST_BACKOFF.max(interval),
        max: MAX_BACKOFF.max(interval),
    }
}

impl Attempts {
    /// Records a transient failure of `item`; true when it has failed
    /// [`MAX_TRANSIENT`] times and is to be set aside.
    pub fn failed(&mut self, item: &str) -> bool {
        let n = self.failures.entry(item.to_string()).or_insert(0);
        *n += 1;
        if *n >= MAX_TRANSIENT {
            self.failures.remove(item);
            true
        } else {
            false
        }
    }

    /// The item is handled (registered, duplicate or set aside).
    pub fn done(&mut self, item: &str) {
        self.failures.remove(item);
    }
}

/// An input file read no further than its limit.
#[derive(Debug)]
pub enum Bounded {
    /// Within the limit: its bytes.
    Whole(Vec<u8>),
    /// Over the limit: its size and SHA-256 (hashed as a stream, never held).
    TooLarge { size: u64, sha256: String },
}

/// Reads `path` whole only when it is at most `limit` bytes (stat first, then
/// reading at most `limit + 1` bytes, for a file still growing). A missing file
/// is [`Error::NotFound`].
pub async fn read_bounded(path: &Path, limit: u64) -> Result<Bounded> {
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || read_bounded_blocking(&p, limit))
        .await
        .map_err(|e| Error::internal(format!("reading {}: {e}", path.display())))?
}

fn read_error(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::not_found(format!("{} vanished", path.display()))
    } else {
        Error::io(format!("cannot read {}", path.display()), e)
    }
}

fn read_bounded_blocking(path: &Path, limit: u64) -> Result<Bounded> {
    let mut f = std::fs::File::open(path).map_err(|e| read_error(path, e))?;
    let size = f.metadata().map_err(|e| read_error(path, e))?.len();
    if size <= limit {
        let mut buf = Vec::with_capacity(size as usize);
        (&mut f)
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| read_error(path, e))?;
        if buf.len() as u64 <= limit {
            return Ok(Bounded::Whole(buf));
        }
    }
    let (size, sha256) = hash_file(path)?;
    Ok(Bounded::TooLarge { size, sha256 })
}

/// The size and SHA-256 of a file, read as a stream.
pub fn hash_file(path: &Path) -> Result<(u64, String)> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path).map_err(|e| read_error(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| read_error(path, e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((size, hex::encode(h.finalize())))
}

/// Where a file set aside from `dir` goes: `dir/quarantine/NAME` (a free name).
fn aside_path(dir: &Path, file: &Path) -> Result<PathBuf> {
    let aside = dir.join(ASIDE_DIR);
    std::fs::create_dir_all(&aside)
        .map_err(|e| Error::io(format!("cannot create {}", aside.display()), e))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "item".into());
    let mut target = aside.join(&name);
    let mut n = 1;
    while target.exists() {
        target = aside.join(format!("{n}-{name}"));
        n += 1;
    }
    Ok(target)
}

/// Sets a file aside: a quarantine row by metadata (source, size, SHA-256,
/// reason, where the bytes are kept), then the file moved into `dir/quarantine/`.
/// `known`: the size and hash when the caller has them (else the file is hashed
/// as a stream). Returns the quarantine item's id.
pub async fn set_aside(
    app: &App,
    dir: &Path,
    file: &Path,
    known: Option<(u64, String)>,
    reason: &str,
) -> Result<i64> {
    let (d, f) = (dir.to_path_buf(), file.to_path_buf());
    let (size, sha256, target) = tokio::task::spawn_blocking(move || -> Result<_> {
        let (size, sha) = match known {
            Some(k) => k,
            None => hash_file(&f)?,
        };
        Ok((size, sha, aside_path(&d, &f)?))
    })
    .await
    .map_err(|e| Error::internal(format!("setting {} aside: {e}", file.display())))??;
    let source = file.display().to_string();
    let kept = target.display().to_string();
    let (id, _) = quarantine::put_aside(&app.store, &source, &sha256, size, reason, &kept).await?;
    // The row first: a crash here leaves the file in place, and the next pass
    // finds the same row (by its hash) and moves it.
    match std::fs::rename(file, &target) {
        Ok(()) => Ok(id),
        // Another process sharing the folder moved it first.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(id),
        Err(e) => Err(Error::io(
            format!("cannot move {} to {}", file.display(), target.display()),
            e,
        )),
    }
}

/// The reason an item is set aside after an error (Estonian, then English).
pub fn reason_of(e: &Error) -> String {
    format!("ei saanud registreerida (cannot register): {e}")
}

/// The message of a panic caught while one item was ingested.
pub fn panic_error(what: &str, e: tokio::task::JoinError) -> Error {
    let msg = match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into()),
        Err(e) => e.to_string(),
    };
    Error::internal(format!("ingest of {what} panicked: {msg}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_and_disk_are_transient_the_item_is_permanent() {
        let db = Error::Database(sqlx::Error::PoolTimedOut);
        assert_eq!(classify(&db), Fault::Transient);
        let disk = Error::io("x", std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert_eq!(classify(&disk), Fault::Transient);
        let denied = Error::io(
            "x",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(classify(&denied), Fault::Permanent);
        let dir = Error::io("x", std::io::Error::from_raw_os_error(libc::EISDIR));
        assert_eq!(classify(&dir), Fault::Permanent);
        assert_eq!(classify(&Error::invalid("bad")), Fault::Permanent);
        assert_eq!(classify(&Error::internal("bug")), Fault::Permanent);
    }

    #[test]
    fn an_item_failing_transiently_is_given_up_after_the_limit() {
        let mut a = Attempts::default();
        for _ in 1..MAX_TRANSIENT {
            assert!(!a.failed("x"));
        }
        assert!(a.failed("x"));
        assert!(!a.failed("x"), "counted afresh once given up");
        a.done("x");
        assert!(!a.failed("y"));
    }

    #[test]
    fn a_sources_backoff_is_never_shorter_than_its_interval() {
        let b = backoff_from(Duration::from_millis(100));
        assert_eq!((b.first, b.max), (FIRST_BACKOFF, MAX_BACKOFF));
        let b = backoff_from(Duration::from_secs(2));
        assert_eq!((b.first, b.max), (Duration::from_secs(2), MAX_BACKOFF));
        let b = backoff_from(Duration::from_secs(600));
        assert_eq!(
            (b.first, b.max),
            (Duration::from_secs(600), Duration::from_secs(600))
        );
    }

    #[test]
    fn a_file_over_the_limit_is_hashed_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m");
        let bytes = vec![7u8; 10_000];
        std::fs::write(&p, &bytes).unwrap();
        match read_bounded_blocking(&p, 10_000).unwrap() {
            Bounded::Whole(b) => assert_eq!(b, bytes),
            other => panic!("{other:?}"),
        }
        match read_bounded_blocking(&p, 9_999).unwrap() {
            Bounded::TooLarge { size, sha256 } => {
                assert_eq!(size, 10_000);
                assert_eq!(sha256, crate::extract::mail::sha256_hex(&bytes));
            }
            other => panic!("{other:?}"),
        }
        let gone = read_bounded_blocking(&dir.path().join("nope"), 10).unwrap_err();
        assert!(matches!(gone, Error::NotFound { .. }), "{gone}");
    }
}
