//! Content-addressed file storage: SHA-256 names, bytes exactly as received,
//! verified on every read. Local files under `{data_dir}/files/ab/<sha>`, or
//! the `blobs` table when several processes share PostgreSQL.
//!
//! A local file is written to a temporary name, fsynced, renamed, and its
//! directory fsynced, all before the transaction that refers to it commits: a
//! committed row never points at a missing or partial file.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use crate::error::{Error, Result};

use super::Tx;

/// Files written at once by [`FileStore::put_many_local`].
const WRITER_THREADS: usize = 8;

/// Files handed back by a batch write, with their hashes when they were stored locally.
pub type Written = (Vec<Vec<u8>>, Option<Vec<String>>);

#[derive(Debug, Clone)]
pub enum FileStore {
    Local(PathBuf),
    Database,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Hashes on a blocking thread when the input is large.
pub async fn sha256_hex_blocking(bytes: &[u8]) -> String {
    if bytes.len() < 1 << 20 {
        return sha256_hex(bytes);
    }
    let owned = bytes.to_vec();
    tokio::task::spawn_blocking(move || sha256_hex(&owned))
        .await
        .unwrap_or_default()
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl FileStore {
    pub fn local_path(dir: &Path, sha: &str) -> PathBuf {
        dir.join(&sha[0..2]).join(sha)
    }

    pub async fn put_in(&self, tx: &mut Tx, sha: &str, bytes: &[u8]) -> Result<()> {
        match self {
            FileStore::Database => {
                sqlx::query("INSERT INTO blobs (sha256, size, data) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
                    .bind(sha)
                    .bind(bytes.len() as i64)
                    .bind(bytes.to_vec())
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }
            FileStore::Local(dir) => {
                // A plain stat: cheaper than a hop to the blocking pool.
                if Self::local_path(dir, sha).exists() {
                    return Ok(());
                }
                let (dir, sha, data) = (dir.clone(), sha.to_string(), bytes.to_vec());
                tokio::task::spawn_blocking(move || -> Result<()> {
                    if let Some(p) = write_new(&dir, &sha, &data)? {
                        sync_dirs(&[p])?;
                    }
                    Ok(())
                })
                .await
                .map_err(|e| Error::internal(format!("file writer failed: {e}")))?
            }
        }
    }

    /// Writes many files at once from several threads (file creation and fsync wait
    /// on the disk, not the CPU): used before the transaction that registers them.
    /// Files already stored are skipped. Gives the bytes back, with their hashes in
    /// input order (none for the database store, which stores inside the transaction).
    /// `known`: the files' hashes when the caller computed them from the same bytes
    /// (one per file, in order); they are not computed again.
    pub async fn put_many_local(
        &self,
        files: Vec<Vec<u8>>,
        known: Option<Vec<String>>,
    ) -> Result<Written> {
        let FileStore::Local(dir) = self else {
            return Ok((files, None));
        };
        let dir = dir.clone();
        let known = known.filter(|k| k.len() == files.len());
        tokio::task::spawn_blocking(move || -> Result<Written> {
            let items: Vec<(&Vec<u8>, Option<&String>)> = match &known {
                Some(k) => files.iter().zip(k.iter().map(Some)).collect(),
                None => files.iter().map(|f| (f, None)).collect(),
            };
            let stored = in_threads(&items, |part| {
                part.iter()
                    .map(|(bytes, sha)| {
                        let sha = sha.cloned().unwrap_or_else(|| sha256_hex(bytes));
                        // A hash given for other bytes would store a file under a
                        // name its bytes do not have: the tests check every one.
                        debug_assert_eq!(sha, sha256_hex(bytes), "a given hash is not the file's");
                        let new = write_new(&dir, &sha, bytes)?;
                        Ok((sha, new))
                    })
                    .collect()
            })?;
            // Every rename is done: each directory is synced once, and the first
            // sync makes the others' renames durable as well.
            let mut dirs: Vec<&Path> = stored
                .iter()
                .filter_map(|(_, p)| p.as_deref()?.parent())
                .collect();
            dirs.sort_unstable();
            dirs.dedup();
            in_threads(&dirs, |part| part.iter().map(|d| sync_dir(d)).collect())?;
            let shas = stored.into_iter().map(|(sha, _)| sha).collect();
            Ok((files, Some(shas)))
        })
        .await
        .map_err(|e| Error::internal(format!("file writer failed: {e}")))?
    }

    /// Reads and verifies a file.
    pub async fn read(&self, pool: &AnyPool, sha: &str) -> Result<Vec<u8>> {
        if !is_sha256_hex(sha) {
            return Err(Error::invalid_field(
                "file",
                format!("{sha:?}: expected a sha256 hex digest"),
            ));
        }
        let bytes = self.read_unverified(pool, sha).await?;
        let got = sha256_hex_blocking(&bytes).await;
        if got != sha {
            return Err(Error::Integrity(format!(
                "file {sha} is corrupt: its bytes hash to {got}"
            )));
        }
        Ok(bytes)
    }

    pub async fn read_unverified(&self, pool: &AnyPool, sha: &str) -> Result<Vec<u8>> {
        match self {
            FileStore::Database => {
                let row: Option<(Vec<u8>,)> =
                    sqlx::query_as("SELECT data FROM blobs WHERE sha256 = $1")
                        .bind(sha)
                        .fetch_optional(pool)
                        .await?;
                row.map(|r| r.0).ok_or_else(|| {
                    Error::Integrity(format!("file {sha} is missing from the store"))
                })
            }
            FileStore::Local(dir) => {
                let path = Self::local_path(dir, sha);
                tokio::fs::read(&path).await.map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        Error::Integrity(format!(
                            "file {sha} is missing from the store ({})",
                            path.display()
                        ))
                    } else {
                        Error::io(format!("cannot read file {}", path.display()), e)
                    }
                })
            }
        }
    }
}

/// Writes a file under its hash unless it is already stored: a temporary name,
/// fsync, rename. Returns the new path, whose directory the caller must sync.
fn write_new(dir: &Path, sha: &str, bytes: &[u8]) -> Result<Option<PathBuf>> {
    use std::io::Write;
    let path = FileStore::local_path(dir, sha);
    if path.exists() {
        return Ok(None);
    }
    let parent = path.parent().expect("has parent");
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::io(format!("cannot create directory {}", parent.display()), e))?;
    let tmp = parent.join(format!(".{sha}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let io = |e| Error::io(format!("cannot store file {}", path.display()), e);
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(Some(path))
}

/// Makes renames durable: fsyncs each directory that holds one of `paths`.
fn sync_dirs(paths: &[PathBuf]) -> Result<()> {
    let mut dirs: Vec<&Path> = paths.iter().filter_map(|p| p.parent()).collect();
    dirs.sort();
    dirs.dedup();
    dirs.into_iter().try_for_each(sync_dir)
}

fn sync_dir(d: &Path) -> Result<()> {
    let f =
        std::fs::File::open(d).map_err(|e| Error::io(format!("cannot open {}", d.display()), e))?;
    f.sync_all()
        .map_err(|e| Error::io(format!("cannot sync {}", d.display()), e))
}

/// Runs `f` over up to [`WRITER_THREADS`] parts of `items` at once (on this
/// thread when there is only one part) and gives the results in input order.
fn in_threads<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&[T]) -> Result<Vec<R>> + Sync,
) -> Result<Vec<R>> {
    let chunk = items.len().div_ceil(WRITER_THREADS).max(4);
    if items.len() <= chunk {
        return f(items);
    }
    let f = &f;
    let results: Vec<Result<Vec<R>>> = std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || f(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::internal("file writer thread panicked")))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}
