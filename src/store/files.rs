//! Content-addressed file storage: SHA-256 names, bytes exactly as received,
//! verified on every read. Local files under `{data_dir}/files/ab/cd/<sha>`, or
//! the `blobs` table when several processes share PostgreSQL.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use crate::error::{Error, Result};

use super::Tx;

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
        dir.join(&sha[0..2]).join(&sha[2..4]).join(sha)
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
                let path = Self::local_path(dir, sha);
                if tokio::fs::try_exists(&path).await.unwrap_or(false) {
                    return Ok(());
                }
                let parent = path.parent().expect("has parent").to_path_buf();
                let tmp = parent.join(format!(".{sha}.{}.tmp", uuid::Uuid::new_v4().simple()));
                let data = bytes.to_vec();
                let p2 = path.clone();
                // Write, fsync and rename before the transaction commits: a committed
                // row never points at a missing file. A rollback leaves an orphan, harmless.
                tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                    use std::io::Write;
                    std::fs::create_dir_all(&parent)?;
                    let mut f = std::fs::File::create(&tmp)?;
                    f.write_all(&data)?;
                    f.sync_all()?;
                    std::fs::rename(&tmp, &p2)?;
                    Ok(())
                })
                .await
                .map_err(|e| Error::internal(format!("file writer failed: {e}")))?
                .map_err(|e| Error::io(format!("cannot store file {}", path.display()), e))
            }
        }
    }

    /// Reads and verifies a file.
    pub async fn read(&self, pool: &AnyPool, sha: &str) -> Result<Vec<u8>> {
        if !is_sha256_hex(sha) {
            return Err(Error::invalid(format!(
                "invalid file id {sha:?}: expected a sha256 hex digest"
            )));
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
