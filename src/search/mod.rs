//! Full-text search over the register: a tantivy index that is a projection of the
//! database, fed from the audit chain (`events`, the change feed), with Estonian,
//! Russian and English analysis, a folded field for queries typed without
//! diacritics, and access control inside the query.
//!
//! - [`analyzer`]: languages, stemming, folding.
//! - [`schema`]: the fields.
//! - [`projection`]: what the staff and the public index hold of a document.
//! - [`indexer`]: generations on disk, catch-up from the change feed, rebuilds, verify.
//! - [`query`]: the query language, filters, access control, snippets.

pub mod analyzer;
pub mod filter;
pub mod indexer;
pub mod morph;
pub mod projection;
pub mod quality;
pub mod query;
pub mod schema;
pub mod topk;

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use indexer::{CatchUp, ReindexReport, SearchIndex, SearchVerifyReport};
pub use query::{Allowed, Caller, Hit, SearchRequest, SearchResults, Sort};

use crate::app::App;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Index directory; empty: `{data_dir}/search` (relative paths are under data_dir).
    pub dir: PathBuf,
    /// How often the daemon polls the change feed ("1s").
    #[serde(with = "crate::config::duration")]
    pub poll: std::time::Duration,
    /// Events applied per commit when catching up.
    pub batch_events: usize,
    /// Memory budget of the rebuild's index writer, in MiB (bounded memory).
    pub writer_memory_mb: usize,
    /// Indexing threads of a rebuild.
    pub rebuild_threads: usize,
    /// Documents read from the database per page during a rebuild.
    pub page_size: usize,
    /// A rebuild commits its progress (so that it can resume) every this many documents.
    pub rebuild_commit_every: usize,
    /// Text kept per document for snippets, in bytes.
    pub stored_text_chars: usize,
    /// Length of a snippet, in characters.
    pub snippet_chars: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            dir: PathBuf::new(),
            poll: std::time::Duration::from_secs(1),
            batch_events: 2000,
            writer_memory_mb: 128,
            rebuild_threads: 2,
            page_size: 500,
            rebuild_commit_every: 20_000,
            stored_text_chars: 16_384,
            snippet_chars: 200,
        }
    }
}

impl SearchConfig {
    /// Checks `[search]` at start (called by `Config::validate`).
    pub fn validate(&self) -> Result<()> {
        crate::config::check_duration(
            "search.poll",
            self.poll,
            std::time::Duration::from_millis(10),
            std::time::Duration::from_secs(3600),
        )?;
        for (key, v) in [
            ("search.batch_events", self.batch_events),
            ("search.writer_memory_mb", self.writer_memory_mb),
            ("search.rebuild_threads", self.rebuild_threads),
            ("search.page_size", self.page_size),
            ("search.rebuild_commit_every", self.rebuild_commit_every),
        ] {
            if v == 0 {
                return Err(crate::error::Error::invalid(format!(
                    "invalid {key} 0: must be at least 1"
                )));
            }
        }
        Ok(())
    }
}

/// The daemon's indexer: keeps this process's index in step with the change feed
/// until `shutdown`. Each docgate process sharing a database keeps its own index.
pub async fn run(app: App, shutdown: CancellationToken) -> Result<()> {
    let h = SearchIndex::shared(&app).await?;
    let mut every = crate::periodic::Every::new("search index catch-up", app.config.search.poll);
    while every.tick(&shutdown).await {
        every.done(h.catch_up(&app).await.map(|_| crate::periodic::Next::Wait));
    }
    h.close().await
}

/// Searches as `caller`, first applying what the change feed holds (unless another
/// process keeps the index, in which case it searches what that one committed).
/// A page past [`query::MAX_LIMIT`] / [`query::MAX_OFFSET`] or a query past the
/// parser's length and depth limits is refused as invalid before the index is asked.
pub async fn search(app: &App, req: &SearchRequest, caller: &Caller) -> Result<SearchResults> {
    query::check_page(req)?;
    query::parse(&req.query)?;
    let mut req = req.clone();
    if let Some(d) = req.deadline {
        if matches!(caller, Caller::Public) {
            return Err(crate::error::Error::invalid_field(
                "deadline",
                "the public register has no deadline states",
            ));
        }
        req.only_docs = Some(crate::deadline::state::docs_with(app, d).await?);
    }
    let req = &req;
    let h = SearchIndex::shared(app).await?;
    h.catch_up(app).await?;
    let h2: Arc<SearchIndex> = h.clone();
    let (req, caller) = (req.clone(), caller.clone());
    tokio::task::spawn_blocking(move || h2.search(&req, &caller))
        .await
        .map_err(|e| crate::error::Error::internal(format!("search task failed: {e}")))?
}

/// `docgate reindex`: rebuilds the index from the database into a new generation
/// (resuming an interrupted rebuild), swaps it in, then applies the events that
/// arrived meanwhile.
pub async fn reindex(app: &App, progress: &(dyn Fn(u64) -> bool + Sync)) -> Result<ReindexReport> {
    let root = indexer::root_of(app);
    let fields = schema::Fields::new();
    let mut report = indexer::rebuild(app, &root, &fields, &app.config.search, progress).await?;
    let h = SearchIndex::shared(app).await?;
    let cu = h.catch_up(app).await?;
    report.seq = cu.seq.max(report.seq);
    Ok(report)
}

/// Documents missing from the index, or in it but absent from the database
/// (`docgate verify` calls this).
pub async fn verify(app: &App) -> Result<SearchVerifyReport> {
    indexer::verify(app).await
}
