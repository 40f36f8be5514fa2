//! The store: one sqlx `AnyPool` over SQLite (embedded default, WAL) or PostgreSQL
//! (shared by several processes), its migrations, and the content-addressed file store.
//!
//! SQL here and in every module runs on both backends: `$n` placeholders, TEXT
//! dates and timestamps, INTEGER/BIGINT for every integer and flag.

pub mod files;
pub(crate) mod lease;
pub mod rows;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

use crate::config::Config;
use crate::error::{Error, Result};

pub use files::FileStore;

/// A write transaction.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    /// The register's connections: crate-private, so that nothing outside the
    /// crate writes rows except through the register.
    pub(crate) pool: AnyPool,
    pub backend: Backend,
    pub files: FileStore,
    /// SQLite: whether write transactions leave checkpointing to a
    /// [`Checkpointer`] ([`CKPT_DEFAULT`], [`CKPT_DEFERRED`], [`CKPT_RESTORED`]).
    checkpoints: Arc<AtomicU8>,
}

/// SQLite's automatic checkpoint after a commit (never changed in this process).
const CKPT_DEFAULT: u8 = 0;
/// Write transactions turn the automatic checkpoint off on their connection.
const CKPT_DEFERRED: u8 = 1;
/// Write transactions turn it back on (a connection may still have it off).
const CKPT_RESTORED: u8 = 2;
/// SQLite's default `wal_autocheckpoint`, in pages.
const AUTOCHECKPOINT_PAGES: u32 = 1000;
/// A checkpoint catches up fully (so that the next write restarts the WAL from
/// its beginning) at least once every this many commits.
const CATCH_UP_EVERY: u64 = 8;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// `PRAGMA synchronous` of `n` of the register's own connections, held at
    /// once so that more than one is opened (SQLite; the durability check).
    pub async fn synchronous_levels(&self, n: usize) -> Result<Vec<i64>> {
        let mut held = Vec::with_capacity(n);
        let mut levels = Vec::with_capacity(n);
        for _ in 0..n {
            let mut conn = self.pool.acquire().await?;
            let (v,): (i64,) = sqlx::query_as("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await?;
            levels.push(v);
            held.push(conn);
        }
        Ok(levels)
    }

    /// Connects (creating the SQLite file and the data directory when needed) and migrates.
    pub async fn open(cfg: &Config) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let url = cfg.database_url();
        let backend = if cfg.is_postgres() {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let pool = match backend {
            Backend::Sqlite => {
                let path = url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or(path);
                if let Some(parent) = std::path::Path::new(path).parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent).map_err(|e| {
                            Error::io(format!("cannot create directory {}", parent.display()), e)
                        })?;
                    }
                }
                // WAL is a property of the database file: set it once on a plain connection.
                {
                    use sqlx::ConnectOptions;
                    let opts =
                        sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
                            .map_err(|e| {
                                Error::invalid(format!("invalid database_url {url:?}: {e}"))
                            })?
                            .create_if_missing(true)
                            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                            .busy_timeout(Duration::from_secs(30));
                    let conn = opts.connect().await?;
                    sqlx::Connection::close(conn).await?;
                }
                AnyPoolOptions::new()
                    .max_connections(cfg.max_connections)
                    .acquire_timeout(Duration::from_secs(60))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            use sqlx::Executor;
                            // `synchronous = FULL`: every commit syncs the WAL before
                            // it returns, so nothing acknowledged after a commit (a
                            // Maildir rename, a drop-folder move, a DHX receipt) can
                            // roll back on a power loss. NORMAL syncs only at
                            // checkpoints.
                            conn.execute(
                                "PRAGMA busy_timeout = 30000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&format!("sqlite://{path}"))
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(cfg.max_connections)
                    .acquire_timeout(Duration::from_secs(60))
                    .connect(&url)
                    .await?
            }
        };
        match backend {
            Backend::Sqlite => SQLITE_MIGRATOR.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATOR.run(&pool).await?,
        }
        let files = if cfg.files_in_database() {
            FileStore::Database
        } else {
            let dir = cfg.files_dir();
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("cannot create directory {}", dir.display()), e))?;
            FileStore::Local(dir)
        };
        Ok(Store {
            pool,
            backend,
            files,
            checkpoints: Arc::new(AtomicU8::new(CKPT_DEFAULT)),
        })
    }

    /// SQLite: moves checkpoints off the commit path until [`Checkpointer::finish`].
    /// Write transactions no longer checkpoint when they commit (which copies
    /// the WAL into the database and syncs both, while the writer waits); the
    /// caller calls [`Checkpointer::committed`] after each commit instead, and
    /// a task of its own checkpoints (`PASSIVE`) on another connection while the
    /// next transaction is written. Durability is unchanged: each commit still
    /// syncs the WAL before it returns (`synchronous = FULL`, set on every pooled
    /// connection); only the copy into the database file moves. None on PostgreSQL.
    pub fn start_checkpointer(&self) -> Option<Checkpointer> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        self.checkpoints.store(CKPT_DEFERRED, Ordering::SeqCst);
        let shared = Arc::new(CkptShared {
            requested: AtomicU64::new(0),
            wake: tokio::sync::Notify::new(),
        });
        let (done_tx, done_rx) = tokio::sync::watch::channel(0u64);
        let (pool, s) = (self.pool.clone(), shared.clone());
        let task = tokio::spawn(async move {
            loop {
                s.wake.notified().await;
                let upto = s.requested.load(Ordering::SeqCst);
                if upto == u64::MAX {
                    break;
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!("background checkpoint failed: {e}");
                }
                let _ = done_tx.send(upto);
            }
        });
        Some(Checkpointer {
            store: self.clone(),
            shared,
            done: done_rx,
            commits: 0,
            task: Some(task),
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// Begins a write transaction. On SQLite it takes the database write lock first,
    /// so that concurrent writers queue on the busy timeout instead of failing.
    pub async fn begin_write(&self) -> Result<Tx> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Sqlite {
            sqlx::query("UPDATE write_lock SET n = n + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await?;
            // A per-connection setting: each write transaction sets it for the
            // connection it runs on, once a checkpointer was ever started.
            let pages = match self.checkpoints.load(Ordering::SeqCst) {
                CKPT_DEFERRED => Some(0),
                CKPT_RESTORED => Some(AUTOCHECKPOINT_PAGES),
                _ => None,
            };
            if let Some(pages) = pages {
                sqlx::query(&format!("PRAGMA wal_autocheckpoint = {pages}"))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        Ok(tx)
    }

    /// Stores bytes content-addressed inside the transaction; returns the sha256 hex.
    pub async fn put_file_in(&self, tx: &mut Tx, bytes: &[u8]) -> Result<String> {
        let sha = files::sha256_hex_blocking(bytes).await;
        self.files.put_in(tx, &sha, bytes).await?;
        Ok(sha)
    }

    /// Reads a stored file and checks it against its hash.
    pub async fn read_file(&self, sha256: &str) -> Result<Vec<u8>> {
        self.files.read(&self.pool, sha256).await
    }

    /// Next value of a named counter inside the transaction (atomic and gap-free:
    /// the row stays locked until commit, and a rollback returns the number).
    pub async fn next_counter_in(&self, tx: &mut Tx, key: &str) -> Result<i64> {
        let row: Option<(i64,)> =
            sqlx::query_as("UPDATE counters SET value = value + 1 WHERE key = $1 RETURNING value")
                .bind(key)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some((v,)) = row {
            return Ok(v);
        }
        // First use of the key: insert, or (when another transaction inserted it first)
        // fall back to the update, which then waits on that row's lock.
        let inserted = sqlx::query(
            "INSERT INTO counters (key, value) VALUES ($1, 1) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .execute(&mut **tx)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(1);
        }
        let (v,): (i64,) =
            sqlx::query_as("UPDATE counters SET value = value + 1 WHERE key = $1 RETURNING value")
                .bind(key)
                .fetch_one(&mut **tx)
                .await?;
        Ok(v)
    }
}

struct CkptShared {
    /// Commits made so far (u64::MAX: stop).
    requested: AtomicU64,
    wake: tokio::sync::Notify,
}

/// The background checkpointer of [`Store::start_checkpointer`].
pub struct Checkpointer {
    store: Store,
    shared: Arc<CkptShared>,
    /// The commits the last finished checkpoint covered.
    done: tokio::sync::watch::Receiver<u64>,
    commits: u64,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Checkpointer {
    /// Call after each commit: a checkpoint follows in the background. Every
    /// [`CATCH_UP_EVERY`] commits it waits until the checkpoint has copied the
    /// whole WAL, so that the next write transaction starts the WAL over
    /// instead of letting it grow.
    pub async fn committed(&mut self) {
        self.commits += 1;
        self.shared.requested.store(self.commits, Ordering::SeqCst);
        self.shared.wake.notify_one();
        if self.commits.is_multiple_of(CATCH_UP_EVERY) {
            let want = self.commits;
            let _ = self.done.wait_for(|d| *d >= want).await;
        }
    }

    /// Stops the task and gives commits their automatic checkpoint back.
    pub async fn finish(mut self) {
        self.stop().await;
    }

    async fn stop(&mut self) {
        self.store
            .checkpoints
            .store(CKPT_RESTORED, Ordering::SeqCst);
        self.shared.requested.store(u64::MAX, Ordering::SeqCst);
        self.shared.wake.notify_one();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.store
            .checkpoints
            .store(CKPT_RESTORED, Ordering::SeqCst);
        self.shared.requested.store(u64::MAX, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }
}

/// Named counters as one transaction uses them: a key is counted in the database on
/// its first use (which locks its row until commit), then on in memory, and
/// [`Counters::flush`] writes the last value back before the transaction commits.
/// Gap-free as [`Store::next_counter_in`]: a rollback discards the numbers.
#[derive(Debug, Default)]
pub struct Counters {
    /// Key -> (last value handed out, not yet written).
    values: HashMap<String, (i64, bool)>,
}

impl Counters {
    pub async fn next(&mut self, store: &Store, tx: &mut Tx, key: &str) -> Result<i64> {
        if let Some((v, dirty)) = self.values.get_mut(key) {
            *v += 1;
            *dirty = true;
            return Ok(*v);
        }
        let v = store.next_counter_in(tx, key).await?;
        self.values.insert(key.to_string(), (v, false));
        Ok(v)
    }

    /// Writes the counters counted on in memory.
    pub async fn flush(&mut self, tx: &mut Tx) -> Result<()> {
        for (key, (v, dirty)) in self.values.iter_mut() {
            if *dirty {
                sqlx::query("UPDATE counters SET value = $1 WHERE key = $2")
                    .bind(*v)
                    .bind(key.as_str())
                    .execute(&mut **tx)
                    .await?;
                *dirty = false;
            }
        }
        Ok(())
    }
}

/// The current time as stored: RFC 3339 UTC with whole seconds.
pub fn now_text() -> String {
    ts_text(jiff::Timestamp::now())
}

pub fn ts_text(ts: jiff::Timestamp) -> String {
    whole_seconds(ts).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A timestamp at the precision it is stored with.
pub fn whole_seconds(ts: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_second(ts.as_second()).unwrap_or(ts)
}

pub fn parse_ts(s: &str) -> Result<jiff::Timestamp> {
    s.parse::<jiff::Timestamp>()
        .map_err(|e| Error::internal(format!("bad stored timestamp {s:?}: {e}")))
}
