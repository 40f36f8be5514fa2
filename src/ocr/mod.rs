//! The OCR queue: scans are registered at once and read later.
//!
//! The register queues one `ocr_queue` row per scanned file
//! ([`crate::model::TextStatus::OcrPending`]) in the registering transaction.
//! A worker — a background task of `serve`, or `docgate ocr run` — claims due
//! items with a lease (`claimed_by`, `claimed_until`, `attempts`; `FOR UPDATE
//! SKIP LOCKED` on PostgreSQL, the write lock on SQLite), runs Tesseract on a
//! blocking thread ([`crate::extract::isolated`] over
//! [`crate::extract::ocr::ocr_file`]), and finishes the item in one
//! transaction with the register's [`crate::register::Register::text_arrived_in`]
//! — only while its lease still holds. A failed run is retried with
//! exponential back-off up to `ocr.max_attempts`, then the item and the file
//! are marked failed with the reason. A worker that dies between claim and
//! completion leaves its item to be claimed again once the lease expires.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::error::{Error, Result};
use crate::extract::ocr::{self as engine, OcrOptions};
use crate::ingest::thread::{self, Decision, Hints};
use crate::model::TextStatus;
use crate::register::TextArrival;
use crate::store::rows::{bind_all, Value};
use crate::store::{self, Store, Tx};

/// The actor of the queue's events.
pub const ACTOR: &str = "ocr";

/// The `[ocr]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OcrConfig {
    /// Run the OCR worker in `docgate serve` (scans are queued either way).
    pub enabled: bool,
    /// Tesseract's languages, `+`-separated.
    pub languages: String,
    /// Time limit of one child process (one page), such as "2m".
    #[serde(with = "crate::config::duration")]
    pub timeout: Duration,
    /// Most pages of a PDF read.
    pub max_pages: u32,
    /// Largest image given to Tesseract, pixels (width × height).
    pub max_pixels: u64,
    /// The long side of a rendered PDF page, pixels.
    pub max_side: u32,
    /// Address-space limit of each child process, MB.
    pub memory_mb: u64,
    /// How often `serve` looks for due items ("2s").
    #[serde(with = "crate::config::duration")]
    pub poll_interval: Duration,
    /// How long a claim holds ("30m"); an item whose worker died is claimed
    /// again after it.
    #[serde(with = "crate::config::duration")]
    pub lease: Duration,
    /// Runs of an item before it is marked failed.
    pub max_attempts: i64,
    /// The first retry's delay ("1m"); doubled for each further attempt.
    #[serde(with = "crate::config::duration")]
    pub backoff: Duration,
    /// Items claimed at once.
    pub batch: i64,
}

impl Default for OcrConfig {
    fn default() -> Self {
        OcrConfig {
            enabled: true,
            languages: "est+eng+rus".into(),
            timeout: Duration::from_secs(120),
            max_pages: 30,
            max_pixels: 40_000_000,
            max_side: 3508,
            memory_mb: 1024,
            poll_interval: Duration::from_secs(2),
            lease: Duration::from_secs(1800),
            max_attempts: 4,
            backoff: Duration::from_secs(60),
            batch: 4,
        }
    }
}

impl OcrConfig {
    /// Checks the values once at start (closed by default: a bad value refuses the start).
    pub fn validate(&self) -> Result<()> {
        if !engine::valid_languages(&self.languages) {
            return Err(Error::invalid(format!(
                "vigane ocr.languages {:?}: oodati Tesseracti mudelite nimesid, nt est+eng+rus (invalid OCR languages)",
                self.languages
            )));
        }
        let check = crate::config::check_duration;
        let (second, hour, day) = (
            Duration::from_secs(1),
            Duration::from_secs(3600),
            Duration::from_secs(86_400),
        );
        check("ocr.timeout", self.timeout, second, hour)?;
        check(
            "ocr.poll_interval",
            self.poll_interval,
            Duration::from_millis(10),
            hour,
        )?;
        check("ocr.lease", self.lease, second, day)?;
        check("ocr.backoff", self.backoff, second, 7 * day)?;
        let min_lease = self.timeout.saturating_mul(2);
        if self.lease < min_lease {
            let f = crate::config::duration::format;
            return Err(Error::invalid(format!(
                "vigane ocr.lease {}: peab olema vähemalt 2 × ocr.timeout ({}) (the lease must outlast a run)",
                f(self.lease),
                f(min_lease)
            )));
        }
        if self.max_attempts < 1 || self.batch < 1 || self.max_pages < 1 {
            return Err(Error::invalid(
                "vigane ocr: max_attempts, batch ja max_pages peavad olema vähemalt 1 (must be at least 1)",
            ));
        }
        Ok(())
    }

    pub fn options(&self) -> OcrOptions {
        OcrOptions {
            languages: self.languages.clone(),
            timeout: self.timeout.max(Duration::from_secs(1)),
            max_pages: self.max_pages.max(1),
            max_pixels: self.max_pixels,
            max_side: self.max_side.max(100),
            memory: self.memory_mb.saturating_mul(1024 * 1024),
            ..OcrOptions::default()
        }
    }

    fn lease(&self) -> Duration {
        self.lease.max(Duration::from_secs(1))
    }

    /// The whole run's limit on its blocking thread: inside the lease.
    fn run_limit(&self) -> Duration {
        (self.lease.max(Duration::from_secs(2)) * 9 / 10).max(Duration::from_secs(1))
    }

    /// The delay before attempt `attempts + 1`.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let shift = attempts.clamp(1, 20) as u32 - 1;
        self.backoff.saturating_mul(1u32 << shift)
    }
}

/// One queue item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OcrItem {
    pub id: i64,
    pub doc_id: i64,
    pub pos: i64,
    pub sha256: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub claimed_by: Option<String>,
    pub last_error: Option<String>,
    pub confidence: Option<i64>,
    pub created_at: String,
    pub done_at: Option<String>,
}

const COLS: &str = "id, doc_id, pos, sha256, state, attempts, next_attempt_at, claimed_by, last_error, confidence, created_at, done_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<OcrItem> {
    Ok(OcrItem {
        id: r.try_get("id")?,
        doc_id: r.try_get("doc_id")?,
        pos: r.try_get("pos")?,
        sha256: r.try_get("sha256")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        claimed_by: r.try_get("claimed_by")?,
        last_error: r.try_get("last_error")?,
        confidence: r.try_get("confidence")?,
        created_at: r.try_get("created_at")?,
        done_at: r.try_get("done_at")?,
    })
}

/// Queues a scanned file inside the registering transaction (the register calls it).
pub(crate) async fn enqueue_in(tx: &mut Tx, doc_id: i64, pos: i64, sha256: &str) -> Result<()> {
    let now = store::now_text();
    sqlx::query(
        "INSERT INTO ocr_queue (doc_id, pos, sha256, state, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, 'queued', 0, $4, $5)",
    )
    .bind(doc_id)
    .bind(pos)
    .bind(sha256)
    .bind(&now)
    .bind(&now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Claims up to `limit` due items for `worker` as of `now`: queued items whose
/// time has come, and running items whose lease expired. Each claim counts an
/// attempt; the lease is `(claimed_by, attempts)` until `now + lease`.
pub async fn claim(
    store: &Store,
    worker: &str,
    limit: i64,
    lease: Duration,
    now: jiff::Timestamp,
) -> Result<Vec<OcrItem>> {
    let until = store::ts_text(now + jiff::SignedDuration::try_from(lease).unwrap_or_default());
    let queue = store::lease::Queue {
        table: "ocr_queue",
        running: "running",
        columns: COLS,
    };
    let rows = store::lease::claim(
        store,
        &queue,
        None,
        worker,
        limit,
        &store::ts_text(now),
        &until,
    )
    .await?;
    rows.iter().map(from_row).collect()
}

/// Updates an item only while `item`'s lease holds; false when it was lost.
async fn update_held(tx: &mut Tx, item: &OcrItem, set: &str, binds: Vec<Value>) -> Result<bool> {
    let n = binds.len();
    let sql = format!(
        "UPDATE ocr_queue SET {set}, claimed_by = NULL, claimed_until = NULL WHERE id = ${} AND state = 'running' AND claimed_by = ${} AND attempts = ${}",
        n + 1,
        n + 2,
        n + 3
    );
    let done = bind_all(sqlx::query(&sql), binds)
        .bind(item.id)
        .bind(item.claimed_by.as_deref())
        .bind(item.attempts)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if done == 0 {
        tracing::warn!(
            "OCR item {} of document {}: the lease of {:?} (attempt {}) was lost; nothing changed",
            item.id,
            item.doc_id,
            item.claimed_by,
            item.attempts
        );
    }
    Ok(done == 1)
}

/// What happened to a claimed item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done,
    Retry,
    Failed,
    LeaseLost,
}

/// The summary of a pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pass {
    pub claimed: usize,
    pub done: usize,
    pub retried: usize,
    pub failed: usize,
    pub lease_lost: usize,
}

/// One pass: claims the items due at `now` and works them one after the other.
/// An error (the database, a crash point) ends the pass and leaves the item
/// in hand to its lease.
pub async fn run_once(app: &App, worker: &str, now: jiff::Timestamp) -> Result<Pass> {
    let cfg = &app.config.ocr;
    let items = claim(&app.store, worker, cfg.batch, cfg.lease(), now).await?;
    let mut pass = Pass {
        claimed: items.len(),
        ..Pass::default()
    };
    for item in items {
        match process(app, &item).await? {
            Outcome::Done => pass.done += 1,
            Outcome::Retry => pass.retried += 1,
            Outcome::Failed => pass.failed += 1,
            Outcome::LeaseLost => pass.lease_lost += 1,
        }
    }
    Ok(pass)
}

/// A worker's name: unique per process and run.
pub fn worker_name() -> String {
    format!(
        "ocr-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Works one claimed item to its end (done, retry, failed) under its lease.
pub async fn process(app: &App, item: &OcrItem) -> Result<Outcome> {
    let cfg = &app.config.ocr;
    let bytes = app.register.file_bytes(&item.sha256).await?;
    fail::fail_point!("ocr-after-claim", |_| Err(Error::internal(
        "failpoint ocr-after-claim"
    )));
    let opts = cfg.options();
    let result = crate::extract::isolated("tesseract", cfg.run_limit(), move || {
        engine::ocr_file(&bytes, &opts)
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    fail::fail_point!("ocr-before-complete", |_| Err(Error::internal(
        "failpoint ocr-before-complete"
    )));
    match result {
        Ok(text) => complete(app, item, text).await,
        Err(reason) if item.attempts >= cfg.max_attempts => fail(app, item, &reason).await,
        Err(reason) => {
            let next = jiff::Timestamp::now()
                + jiff::SignedDuration::try_from(cfg.backoff(item.attempts)).unwrap_or_default();
            let mut tx = app.register.begin().await?;
            let held = update_held(
                &mut tx,
                item,
                "state = 'queued', last_error = $1, next_attempt_at = $2",
                vec![
                    Value::from(reason.as_str()),
                    Value::from(store::ts_text(next).as_str()),
                ],
            )
            .await?;
            if !held {
                tx.rollback().await?;
                return Ok(Outcome::LeaseLost);
            }
            tx.commit().await?;
            tracing::warn!(
                "OCR of document {} file {} failed (attempt {}), retried at {next}: {reason}",
                item.doc_id,
                item.pos,
                item.attempts
            );
            Ok(Outcome::Retry)
        }
    }
}

/// The thread a scan's printed numbers point at (as in e-mail), never its own.
async fn thread_of(
    app: &App,
    doc_id: i64,
    thread_id: i64,
    text: &str,
) -> Result<(Decision, Vec<thread::Candidate>)> {
    let hints = Hints::new(Vec::new(), String::new(), text);
    let cands: Vec<_> = thread::candidates(&app.register, &hints)
        .await?
        .into_iter()
        .filter(|c| c.doc_id != doc_id && c.thread_id != thread_id)
        .collect();
    Ok((thread::decide(&cands), cands))
}

async fn complete(app: &App, item: &OcrItem, ocr: engine::OcrText) -> Result<Outcome> {
    let doc = app.register.get(item.doc_id).await?;
    let (decision, cands) = thread_of(app, doc.id, doc.thread_id, &ocr.text).await?;
    let join_thread = match &decision {
        Decision::Continue { reg_no, .. } => app
            .register
            .find_by_reg_no(reg_no)
            .await?
            .map(|d| (d.id, d.thread_id)),
        _ => None,
    };
    let (status, note) = if ocr.text.is_empty() {
        (
            TextStatus::NotExtracted,
            "OCR ei leidnud teksti (OCR found no text)".to_string(),
        )
    } else {
        (TextStatus::Extracted, ocr.note(&app.config.ocr.languages))
    };
    let confidence = ocr.confidence.map(|c| c.round() as i64);
    let mut tx = app.register.begin().await?;
    let held = update_held(
        &mut tx,
        item,
        "state = 'done', confidence = $1, done_at = $2, last_error = NULL",
        vec![
            Value::from(confidence),
            Value::from(store::now_text().as_str()),
        ],
    )
    .await?;
    if !held {
        tx.rollback().await?;
        return Ok(Outcome::LeaseLost);
    }
    let arrived = app
        .register
        .text_arrived_in(
            &mut tx,
            TextArrival {
                doc_id: item.doc_id,
                pos: item.pos,
                text: ocr.text,
                status,
                note,
                detail: serde_json::json!({
                    "ocr": true, "queue_item": item.id, "attempt": item.attempts,
                    "confidence": ocr.confidence.map(|c| (c * 10.0).round() / 10.0),
                    "words": ocr.words, "pages": ocr.pages, "ocr_pages": ocr.ocr_pages,
                    "skipped_pages": ocr.skipped_pages,
                }),
                join_thread,
            },
            ACTOR,
        )
        .await?;
    match &decision {
        Decision::Triage { candidates } => {
            thread::record_triage_in(app, &mut tx, item.doc_id, candidates).await?;
        }
        Decision::Continue { reg_no, rule } if !arrived.threaded => {
            // The document already has follow-ups of its own: the clerk decides.
            tracing::info!(
                "OCR: {} names {reg_no} ({rule}) but has its own thread",
                arrived.doc.reg_no
            );
            thread::record_triage_in(app, &mut tx, item.doc_id, &cands).await?;
        }
        _ => {}
    }
    tx.commit().await?;
    if arrived.personal_code {
        tracing::warn!(
            "OCR found a personal code in {}{}; it awaits the clerk's review",
            arrived.doc.reg_no,
            if arrived.restricted {
                " (restricted)"
            } else {
                ""
            }
        );
    }
    Ok(Outcome::Done)
}

/// The last attempt failed: the item and the file say why (nothing is lost;
/// `docgate ocr status` lists it).
async fn fail(app: &App, item: &OcrItem, reason: &str) -> Result<Outcome> {
    let mut tx = app.register.begin().await?;
    let held = update_held(
        &mut tx,
        item,
        "state = 'failed', last_error = $1, done_at = $2",
        vec![Value::from(reason), Value::from(store::now_text().as_str())],
    )
    .await?;
    if !held {
        tx.rollback().await?;
        return Ok(Outcome::LeaseLost);
    }
    app.register
        .text_arrived_in(
            &mut tx,
            TextArrival {
                doc_id: item.doc_id,
                pos: item.pos,
                text: String::new(),
                status: TextStatus::NotExtracted,
                note: format!(
                    "OCR ebaõnnestus {} katsel: {reason} (OCR failed)",
                    item.attempts
                ),
                detail: serde_json::json!({
                    "ocr": true, "queue_item": item.id, "attempt": item.attempts,
                    "failed": reason,
                }),
                join_thread: None,
            },
            ACTOR,
        )
        .await?;
    tx.commit().await?;
    tracing::error!(
        "OCR of document {} file {} failed for good after {} attempts: {reason}",
        item.doc_id,
        item.pos,
        item.attempts
    );
    Ok(Outcome::Failed)
}

/// The queue's state for `docgate ocr status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Status {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
    /// Items not done: queued, running and failed, oldest first (at most 100).
    pub open: Vec<OcrItem>,
}

pub async fn status(store: &Store) -> Result<Status> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM ocr_queue GROUP BY state")
            .fetch_all(&store.pool)
            .await?;
    let mut s = Status::default();
    for (state, n) in rows {
        match state.as_str() {
            "queued" => s.queued = n,
            "running" => s.running = n,
            "done" => s.done = n,
            "failed" => s.failed = n,
            _ => {}
        }
    }
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM ocr_queue WHERE state <> 'done' ORDER BY id LIMIT 100"
    ))
    .fetch_all(&store.pool)
    .await?;
    s.open = rows.iter().map(from_row).collect::<Result<_>>()?;
    Ok(s)
}

/// `serve`'s OCR worker: a pass every `ocr.poll_interval` (at once again
/// while items keep coming), until `shutdown`. An error is logged and the
/// item in hand is left to its lease.
pub async fn run(app: App, shutdown: CancellationToken) -> Result<()> {
    if !app.config.ocr.enabled {
        shutdown.cancelled().await;
        return Ok(());
    }
    work(app, shutdown).await
}

/// The worker loop itself (`docgate ocr run` runs it whatever `ocr.enabled` says).
pub async fn work(app: App, shutdown: CancellationToken) -> Result<()> {
    let worker = worker_name();
    use crate::periodic::{Every, Next};
    let mut every = Every::new("OCR worker", app.config.ocr.poll_interval);
    while every.tick(&shutdown).await {
        let round = run_once(&app, &worker, jiff::Timestamp::now()).await;
        every.done(round.map(|p| {
            if p.claimed == 0 {
                Next::Wait
            } else {
                Next::Again
            }
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_retry() {
        let c = OcrConfig {
            backoff: Duration::from_secs(60),
            ..OcrConfig::default()
        };
        let table = [(0, 60), (1, 60), (2, 120), (3, 240), (4, 480)];
        for (attempts, secs) in table {
            assert_eq!(c.backoff(attempts), Duration::from_secs(secs), "{attempts}");
        }
        // Never overflows.
        assert!(c.backoff(i64::MAX) >= c.backoff(20));
    }

    #[test]
    fn bad_settings_refuse_the_start_naming_the_key() {
        assert!(OcrConfig::default().validate().is_ok());
        let cases = [
            (
                OcrConfig {
                    languages: "est; rm -rf".into(),
                    ..OcrConfig::default()
                },
                "ocr.languages",
            ),
            (
                OcrConfig {
                    lease: Duration::from_secs(100),
                    timeout: Duration::from_secs(120),
                    ..OcrConfig::default()
                },
                "ocr.lease",
            ),
            (
                OcrConfig {
                    poll_interval: Duration::ZERO,
                    ..OcrConfig::default()
                },
                "ocr.poll_interval",
            ),
            (
                OcrConfig {
                    max_attempts: 0,
                    ..OcrConfig::default()
                },
                "max_attempts",
            ),
        ];
        for (c, key) in cases {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(key), "{key}: {e}");
        }
    }

    #[test]
    fn the_run_limit_is_inside_the_lease() {
        let c = OcrConfig::default();
        assert!(c.run_limit() < c.lease());
    }
}
