//! The index as a projection of the database: generations on disk, the change
//! feed consumer, rebuilds and verification.
//!
//! Layout under `{data_dir}/search/`: `CURRENT` names the live generation
//! (`g1`, `g2`, …); each generation holds `staff/` and `public/`, two tantivy
//! indexes with the same schema. Each commit carries a JSON payload with the last
//! applied event `seq`, so that a restart resumes from the committed position. A
//! rebuild writes `gN.building/`, commits its progress (`after_id`) as it goes,
//! and is swapped in (by rewriting `CURRENT`) only when complete.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use serde::{Deserialize, Serialize};
use tantivy::collector::Count;
use tantivy::indexer::LogMergePolicy;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::analyzer;
use super::projection::{self, Source};
use super::query::{self, Caller, SearchRequest, SearchResults};
use super::schema::{date_key, Fields, KIND_FULL, KIND_MASKED, SCHEMA_VERSION};
use super::SearchConfig;
use crate::app::App;
use crate::error::{Error, Result};

/// Event kinds that never change what the index holds.
const SKIP_KINDS: &[&str] = &["viewed", "released"];

fn terr(what: &str) -> impl Fn(tantivy::TantivyError) -> Error + '_ {
    move |e| Error::internal(format!("search index: {what}: {e}"))
}

fn ioerr(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::io(what, e)
}

/// What a commit records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    pub v: u32,
    /// Every event up to this seq is applied.
    pub seq: i64,
    /// During a rebuild: every document up to this id is added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_id: Option<i64>,
    #[serde(default)]
    pub complete: bool,
}

fn read_payload(index: &Index) -> Result<Option<Payload>> {
    let metas = index.load_metas().map_err(terr("cannot read metadata"))?;
    Ok(metas
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str::<Payload>(p).ok()))
}

fn open_or_create(dir: &Path, fields: &Fields) -> Result<Index> {
    std::fs::create_dir_all(dir).map_err(ioerr(format!(
        "cannot create search index directory {}",
        dir.display()
    )))?;
    let exists = dir.join("meta.json").exists();
    let index = if exists {
        Index::open_in_dir(dir).map_err(terr("cannot open"))?
    } else {
        Index::create_in_dir(dir, fields.schema.clone()).map_err(terr("cannot create"))?
    };
    analyzer::register(index.tokenizers());
    Ok(index)
}

fn merge_policy() -> Box<LogMergePolicy> {
    let mut p = LogMergePolicy::default();
    // Merge a segment once a quarter of it is deleted: repeated updates of the same
    // documents must not grow the index without bound.
    p.set_del_docs_ratio_before_merge(0.25);
    p.set_min_num_segments(6);
    Box::new(p)
}

/// The two writers of a generation.
pub struct Writers {
    pub staff: IndexWriter,
    pub public: IndexWriter,
}

impl Writers {
    /// One indexing thread and 32 MiB: what the incremental indexer uses.
    pub fn open_default(g: &Gen) -> Result<Writers> {
        Writers::open(g, 1, 32 << 20).map_err(terr("cannot open a writer"))
    }

    fn open(
        g: &Gen,
        threads: usize,
        memory: usize,
    ) -> std::result::Result<Writers, tantivy::TantivyError> {
        let staff: IndexWriter = g.staff.writer_with_num_threads(threads, memory)?;
        let public: IndexWriter = g.public.writer_with_num_threads(threads, memory)?;
        staff.set_merge_policy(merge_policy());
        public.set_merge_policy(merge_policy());
        Ok(Writers { staff, public })
    }

    /// Removes every trace of the given documents and adds their new projections.
    pub fn apply(
        &self,
        f: &Fields,
        cfg: &SearchConfig,
        items: &[(i64, Option<Source>)],
        today: jiff::civil::Date,
    ) -> Result<()> {
        for (id, src) in items {
            let t = Term::from_field_u64(f.doc_id, *id as u64);
            self.staff.delete_term(t.clone());
            self.public.delete_term(t);
            if let Some(src) = src {
                self.add(f, cfg, src, today)?;
            }
        }
        Ok(())
    }

    /// Adds a document's projections (no delete: for rebuilds).
    pub fn add(
        &self,
        f: &Fields,
        cfg: &SearchConfig,
        src: &Source,
        today: jiff::civil::Date,
    ) -> Result<()> {
        self.add_filtered(f, cfg, src, today, true, true)
    }

    /// Commits both indexes with the payload (staff first: on resume the smaller
    /// position of the two is replayed, and replaying is idempotent).
    pub fn commit(&mut self, p: &Payload) -> Result<()> {
        let payload = serde_json::to_string(p).map_err(|e| Error::internal(e.to_string()))?;
        let e = terr("cannot commit");
        let mut c = self.staff.prepare_commit().map_err(&e)?;
        c.set_payload(&payload);
        c.commit().map_err(&e)?;
        let mut c = self.public.prepare_commit().map_err(&e)?;
        c.set_payload(&payload);
        c.commit().map_err(&e)?;
        Ok(())
    }

    /// Merges each index's segments into one (the end of a rebuild).
    pub fn merge_all(&mut self) -> Result<()> {
        let e = terr("cannot merge");
        for w in [&mut self.staff, &mut self.public] {
            let ids = w.index().searchable_segment_ids().map_err(&e)?;
            if ids.len() > 1 {
                w.merge(&ids).wait().map_err(&e)?;
            }
        }
        Ok(())
    }

    /// Waits for merges and removes files no longer used.
    pub fn finish(self) -> Result<()> {
        let e = terr("cannot finish merging");
        self.staff.wait_merging_threads().map_err(&e)?;
        self.public.wait_merging_threads().map_err(&e)?;
        Ok(())
    }
}

/// One generation of the index.
pub struct Gen {
    pub name: String,
    pub dir: PathBuf,
    pub staff: Index,
    pub public: Index,
    pub staff_reader: IndexReader,
    pub public_reader: IndexReader,
    pub writers: Mutex<Option<Writers>>,
}

impl Gen {
    fn open(dir: &Path, name: &str, fields: &Fields) -> Result<Gen> {
        let staff = open_or_create(&dir.join("staff"), fields)?;
        let public = open_or_create(&dir.join("public"), fields)?;
        let reader = |i: &Index| {
            i.reader_builder()
                .reload_policy(ReloadPolicy::Manual)
                .try_into()
                .map_err(terr("cannot open a reader"))
        };
        Ok(Gen {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            staff_reader: reader(&staff)?,
            public_reader: reader(&public)?,
            staff,
            public,
            writers: Mutex::new(None),
        })
    }

    /// The committed position: the smaller of the two indexes'.
    pub fn payload(&self) -> Result<Payload> {
        let s = read_payload(&self.staff)?.unwrap_or_default();
        let p = read_payload(&self.public)?.unwrap_or_default();
        Ok(if (p.seq, p.after_id) < (s.seq, s.after_id) {
            p
        } else {
            s
        })
    }

    fn reload(&self) -> Result<()> {
        self.staff_reader.reload().map_err(terr("cannot reload"))?;
        self.public_reader.reload().map_err(terr("cannot reload"))?;
        Ok(())
    }

    /// Takes the writers if this process can (false when another process holds them).
    fn ensure_writers(&self, threads: usize, memory: usize) -> Result<bool> {
        let mut w = self.writers.lock().expect("writers lock");
        if w.is_some() {
            return Ok(true);
        }
        match Writers::open(self, threads, memory) {
            Ok(ws) => {
                *w = Some(ws);
                Ok(true)
            }
            Err(tantivy::TantivyError::LockFailure(..)) => Ok(false),
            Err(e) => Err(terr("cannot open a writer")(e)),
        }
    }
}

/// What one catch-up did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CatchUp {
    /// Another process holds the writer: nothing was applied.
    pub skipped: bool,
    pub events: u64,
    pub documents: u64,
    pub seq: i64,
}

/// A search index opened for a data directory.
pub struct SearchIndex {
    pub root: PathBuf,
    pub cfg: SearchConfig,
    pub fields: Fields,
    gen: RwLock<Arc<Gen>>,
    update: tokio::sync::Mutex<()>,
}

fn read_current(root: &Path) -> Option<String> {
    std::fs::read_to_string(root.join("CURRENT"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn write_current(root: &Path, name: &str) -> Result<()> {
    let tmp = root.join("CURRENT.tmp");
    std::fs::write(&tmp, format!("{name}\n"))
        .map_err(ioerr(format!("cannot write {}", tmp.display())))?;
    let f = std::fs::File::open(&tmp).map_err(ioerr(format!("cannot open {}", tmp.display())))?;
    f.sync_all()
        .map_err(ioerr(format!("cannot sync {}", tmp.display())))?;
    std::fs::rename(&tmp, root.join("CURRENT"))
        .map_err(ioerr(format!("cannot replace {}/CURRENT", root.display())))?;
    if let Ok(d) = std::fs::File::open(root) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn gen_number(name: &str) -> Option<u64> {
    name.strip_prefix('g')
        .map(|s| s.trim_end_matches(".building"))
        .and_then(|s| s.parse().ok())
}

/// The search index directory of a data directory.
pub fn root_of(app: &App) -> PathBuf {
    if app.config.search.dir.as_os_str().is_empty() {
        app.config.data_dir.join("search")
    } else if app.config.search.dir.is_absolute() {
        app.config.search.dir.clone()
    } else {
        app.config.data_dir.join(&app.config.search.dir)
    }
}

/// Loads the projection sources of documents (None for a document no longer in the database).
pub async fn load_sources(app: &App, ids: &BTreeSet<i64>) -> Result<Vec<(i64, Option<Source>)>> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let doc = match app.register.get(id).await {
            Ok(d) => d,
            Err(Error::NotFound { .. }) => {
                out.push((id, None));
                continue;
            }
            Err(e) => return Err(e),
        };
        let body = app.register.body(id).await?;
        let file_texts = file_texts(app, &doc).await?;
        out.push((
            id,
            Some(Source {
                doc,
                body,
                file_texts,
            }),
        ));
    }
    Ok(out)
}

async fn file_texts(app: &App, doc: &crate::model::Document) -> Result<Vec<Option<String>>> {
    let mut v = Vec::with_capacity(doc.files.len());
    for f in &doc.files {
        v.push(app.register.file_text(&f.sha256).await?);
    }
    Ok(v)
}

async fn max_seq(app: &App) -> Result<i64> {
    let row: (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM events")
        .fetch_one(&app.store.pool)
        .await?;
    Ok(row.0.unwrap_or(0))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("search index task failed: {e}")))?
}

impl SearchIndex {
    /// Opens the live generation; builds the index from the database when there is
    /// none yet or when it was made by another schema version.
    pub async fn open(app: &App) -> Result<SearchIndex> {
        let root = root_of(app);
        std::fs::create_dir_all(&root)
            .map_err(ioerr(format!("cannot create {}", root.display())))?;
        let fields = Fields::new();
        let cfg = app.config.search.clone();
        let usable = match read_current(&root) {
            Some(name) if root.join(&name).is_dir() => {
                let g = Gen::open(&root.join(&name), &name, &fields)?;
                let p = g.payload()?;
                if p.v == SCHEMA_VERSION && p.complete {
                    Some(g)
                } else {
                    None
                }
            }
            _ => None,
        };
        let g = match usable {
            Some(g) => g,
            None => {
                rebuild(app, &root, &fields, &cfg, &|_| true).await?;
                let name = read_current(&root)
                    .ok_or_else(|| Error::internal("search index rebuild left no CURRENT"))?;
                Gen::open(&root.join(&name), &name, &fields)?
            }
        };
        Ok(SearchIndex {
            root,
            cfg,
            fields,
            gen: RwLock::new(Arc::new(g)),
            update: tokio::sync::Mutex::new(()),
        })
    }

    /// The process-wide handle of an app's index (the daemon's indexer and its web
    /// searches share it, and with it the writer).
    pub async fn shared(app: &App) -> Result<Arc<SearchIndex>> {
        static HANDLES: OnceLock<tokio::sync::Mutex<HashMap<PathBuf, Arc<SearchIndex>>>> =
            OnceLock::new();
        let root = root_of(app);
        let mut map = HANDLES
            .get_or_init(|| tokio::sync::Mutex::new(HashMap::new()))
            .lock()
            .await;
        if let Some(h) = map.get(&root) {
            return Ok(h.clone());
        }
        let h = Arc::new(SearchIndex::open(app).await?);
        map.insert(root, h.clone());
        Ok(h)
    }

    pub fn current(&self) -> Arc<Gen> {
        self.gen.read().expect("gen lock").clone()
    }

    /// Switches to another generation when a rebuild swapped one in.
    fn follow_current(&self) -> Result<()> {
        let name = match read_current(&self.root) {
            Some(n) => n,
            None => return Ok(()),
        };
        if name == self.current().name {
            return Ok(());
        }
        let g = Gen::open(&self.root.join(&name), &name, &self.fields)?;
        *self.gen.write().expect("gen lock") = Arc::new(g);
        Ok(())
    }

    /// Releases the writers (the daemon on shutdown).
    pub async fn close(&self) -> Result<()> {
        let _u = self.update.lock().await;
        let g = self.current();
        blocking(move || {
            let w = g.writers.lock().expect("writers lock").take();
            match w {
                Some(w) => w.finish(),
                None => Ok(()),
            }
        })
        .await
    }

    /// Applies every event after the committed position; then re-projects
    /// documents whose restriction has ended since they were indexed.
    pub async fn catch_up(&self, app: &App) -> Result<CatchUp> {
        let _u = self.update.lock().await;
        self.follow_current()?;
        let g = self.current();
        let g2 = g.clone();
        if !blocking(move || g2.ensure_writers(1, 32 << 20)).await? {
            g.reload()?;
            return Ok(CatchUp {
                skipped: true,
                seq: g.payload()?.seq,
                ..Default::default()
            });
        }
        let mut payload = g.payload()?;
        let mut out = CatchUp {
            seq: payload.seq,
            ..Default::default()
        };
        let today = app.register.today();
        loop {
            let events = app
                .register
                .events_after(payload.seq, self.cfg.batch_events as i64)
                .await?;
            // Only a contiguous run: a gap is a transaction not yet visible.
            let mut next = payload.seq + 1;
            let mut ids = BTreeSet::new();
            let mut n = 0u64;
            for e in &events {
                if e.seq != next {
                    break;
                }
                next += 1;
                n += 1;
                if let Some(id) = e.doc_id {
                    if !SKIP_KINDS.contains(&e.kind.as_str()) {
                        ids.insert(id);
                    }
                }
            }
            if n == 0 {
                break;
            }
            let sources = load_sources(app, &ids).await?;
            payload.seq = next - 1;
            payload.v = SCHEMA_VERSION;
            payload.complete = true;
            payload.after_id = None;
            out.events += n;
            out.documents += ids.len() as u64;
            out.seq = payload.seq;
            self.apply_and_commit(&g, sources, today, payload.clone())
                .await?;
            if (n as usize) < self.cfg.batch_events {
                break;
            }
        }
        // Restrictions that ended since indexing: the public may now see these.
        let expired = self.expired_restrictions(&g, today)?;
        if !expired.is_empty() {
            let sources = load_sources(app, &expired).await?;
            out.documents += expired.len() as u64;
            self.apply_and_commit(&g, sources, today, payload.clone())
                .await?;
        }
        g.reload()?;
        Ok(out)
    }

    async fn apply_and_commit(
        &self,
        g: &Arc<Gen>,
        sources: Vec<(i64, Option<Source>)>,
        today: jiff::civil::Date,
        payload: Payload,
    ) -> Result<()> {
        let g = g.clone();
        let fields = self.fields.clone();
        let cfg = self.cfg.clone();
        blocking(move || {
            let mut guard = g.writers.lock().expect("writers lock");
            let w = guard
                .as_mut()
                .ok_or_else(|| Error::internal("search index writer is not open"))?;
            w.apply(&fields, &cfg, &sources, today)?;
            w.commit(&payload)
        })
        .await
    }

    fn expired_restrictions(&self, g: &Gen, today: jiff::civil::Date) -> Result<BTreeSet<i64>> {
        let f = &self.fields;
        let searcher = g.staff_reader.searcher();
        let q = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_u64(f.restricted, 1),
                    IndexRecordOption::Basic,
                )) as Box<dyn Query>,
            ),
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    std::ops::Bound::Unbounded,
                    std::ops::Bound::Excluded(Term::from_field_i64(f.r_ends, date_key(today))),
                )),
            ),
        ]);
        let ids = collect_ids(&searcher, &q, f)?;
        Ok(ids.into_iter().collect())
    }

    /// Searches as `caller`. Does not catch up: see [`super::search`].
    pub fn search(&self, req: &SearchRequest, caller: &Caller) -> Result<SearchResults> {
        let g = self.current();
        let public = g.public_reader.searcher();
        match caller {
            Caller::Public => query::execute(
                &self.fields,
                &public,
                &public,
                req,
                query::Access::Public,
                self.cfg.snippet_chars,
            ),
            _ => {
                let staff = g.staff_reader.searcher();
                query::execute(
                    &self.fields,
                    &staff,
                    &public,
                    req,
                    query::staff_access(caller),
                    self.cfg.snippet_chars,
                )
            }
        }
    }

    /// Number of documents the staff index holds in full, and the public index holds.
    pub fn counts(&self) -> Result<(u64, u64)> {
        let g = self.current();
        let f = &self.fields;
        let s = g.staff_reader.searcher();
        let full = s
            .search(
                &TermQuery::new(
                    Term::from_field_text(f.kind, KIND_FULL),
                    IndexRecordOption::Basic,
                ),
                &Count,
            )
            .map_err(terr("cannot count"))?;
        let p = g.public_reader.searcher().num_docs();
        Ok((full as u64, p))
    }

    /// Bytes the live generation takes on disk.
    pub fn disk_size(&self) -> u64 {
        dir_size(&self.current().dir)
    }
}

/// Total size of the files under a directory.
pub fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_size(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// The doc ids of every document matching `q` (duplicates kept).
fn collect_ids(searcher: &tantivy::Searcher, q: &dyn Query, f: &Fields) -> Result<Vec<i64>> {
    let _ = f;
    let mut out = Vec::new();
    let weight = q
        .weight(tantivy::query::EnableScoring::disabled_from_searcher(
            searcher,
        ))
        .map_err(terr("cannot query"))?;
    for reader in searcher.segment_readers() {
        let col = reader
            .fast_fields()
            .u64("doc_id")
            .map_err(terr("cannot read doc ids"))?;
        let alive = reader.alive_bitset().cloned();
        weight
            .for_each_no_score(reader, &mut |docs| {
                for &d in docs {
                    if alive.as_ref().is_none_or(|a| a.is_alive(d)) {
                        if let Some(v) = col.first(d) {
                            out.push(v as i64);
                        }
                    }
                }
            })
            .map_err(terr("cannot query"))?;
    }
    Ok(out)
}

/// Progress of a rebuild.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReindexReport {
    pub generation: String,
    pub documents: u64,
    /// Documents already in the index from an interrupted rebuild.
    pub resumed_after_id: i64,
    pub seq: i64,
    pub seconds: f64,
    pub bytes: u64,
}

/// Builds a new generation from the database in bounded memory (pages of
/// documents, the writer's memory budget), committing progress so that an
/// interrupted rebuild resumes; swaps it in only when complete.
pub async fn rebuild(
    app: &App,
    root: &Path,
    fields: &Fields,
    cfg: &SearchConfig,
    progress: &(dyn Fn(u64) -> bool + Sync),
) -> Result<ReindexReport> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(root).map_err(ioerr(format!("cannot create {}", root.display())))?;
    // An interrupted rebuild to resume, or a new generation number.
    let mut building: Option<String> = None;
    let mut max_n = 0;
    for e in std::fs::read_dir(root)
        .map_err(ioerr(format!("cannot read {}", root.display())))?
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(n) = gen_number(&name) {
            max_n = max_n.max(n);
            if name.ends_with(".building") {
                building = Some(name);
            }
        }
    }
    // A rebuild left by another schema version cannot be resumed: start afresh.
    if let Some(b) = building.take() {
        let dir = root.join(&b);
        let same = ["staff", "public"].iter().all(|k| {
            let d = dir.join(k);
            !d.join("meta.json").exists()
                || Index::open_in_dir(&d).is_ok_and(|i| i.schema() == fields.schema)
        });
        if same {
            building = Some(b);
        } else {
            std::fs::remove_dir_all(&dir)
                .map_err(ioerr(format!("cannot remove {}", dir.display())))?;
        }
    }
    let bname = building.unwrap_or_else(|| format!("g{}.building", max_n + 1));
    let bdir = root.join(&bname);
    let g = Arc::new(Gen::open(&bdir, &bname, fields)?);
    let (ps, pp) = (
        read_payload(&g.staff)?.filter(|p| p.v == SCHEMA_VERSION),
        read_payload(&g.public)?.filter(|p| p.v == SCHEMA_VERSION),
    );
    let g2 = g.clone();
    let threads = cfg.rebuild_threads.max(1);
    let memory = (cfg.writer_memory_mb.max(16) << 20) / threads.max(1);
    let memory = memory.max(15 << 20) * threads;
    if !blocking(move || g2.ensure_writers(threads, memory)).await? {
        return Err(Error::Conflict(format!(
            "a rebuild of the search index is already running in {}",
            bdir.display()
        )));
    }
    let start_seq = match (&ps, &pp) {
        (Some(p), _) | (_, Some(p)) => p.seq,
        _ => max_seq(app).await?,
    };
    let staff_after = ps.as_ref().and_then(|p| p.after_id).unwrap_or(0);
    let public_after = pp.as_ref().and_then(|p| p.after_id).unwrap_or(0);
    let resumed = staff_after.min(public_after);
    let already_complete =
        ps.as_ref().is_some_and(|p| p.complete) && pp.as_ref().is_some_and(|p| p.complete);
    let today = app.register.today();
    let mut after = resumed;
    let mut added = 0u64;
    let mut since_commit = 0usize;
    if !already_complete {
        loop {
            let page = app.register.load_page(after, cfg.page_size as i64).await?;
            if page.is_empty() {
                break;
            }
            let mut sources = Vec::with_capacity(page.len());
            for (doc, body) in page {
                let file_texts = file_texts(app, &doc).await?;
                sources.push(Source {
                    doc,
                    body,
                    file_texts,
                });
            }
            after = sources.last().map(|s| s.doc.id).unwrap_or(after);
            added += sources.len() as u64;
            since_commit += sources.len();
            let commit = since_commit >= cfg.rebuild_commit_every;
            if commit {
                since_commit = 0;
            }
            let g3 = g.clone();
            let (f2, c2) = (fields.clone(), cfg.clone());
            let payload = Payload {
                v: SCHEMA_VERSION,
                seq: start_seq,
                after_id: Some(after),
                complete: false,
            };
            blocking(move || {
                let mut guard = g3.writers.lock().expect("writers lock");
                let w = guard.as_mut().expect("writers open");
                for s in &sources {
                    // Each index skips what an interrupted run already committed to it.
                    if s.doc.id > staff_after.min(public_after) {
                        w.add_filtered(
                            &f2,
                            &c2,
                            s,
                            today,
                            s.doc.id > staff_after,
                            s.doc.id > public_after,
                        )?;
                    }
                }
                if commit {
                    w.commit(&payload)?;
                }
                Ok(())
            })
            .await?;
            if !progress(added) {
                // Stopped (a test's stand-in for a crash): uncommitted work is lost.
                g.writers.lock().expect("writers lock").take();
                return Err(Error::internal("search index rebuild interrupted"));
            }
        }
        let g3 = g.clone();
        let payload = Payload {
            v: SCHEMA_VERSION,
            seq: start_seq,
            after_id: None,
            complete: true,
        };
        blocking(move || {
            let mut guard = g3.writers.lock().expect("writers lock");
            guard.as_mut().expect("writers open").commit(&payload)
        })
        .await?;
    }
    // Swap in: merge each index into one segment (a search then looks each term
    // up once, not once per segment: a third of a query's time at a million
    // documents), point CURRENT at it, drop the old generation.
    let final_name = bname.trim_end_matches(".building").to_string();
    let g3 = g.clone();
    blocking(move || {
        let w = g3.writers.lock().expect("writers lock").take();
        match w {
            Some(mut w) => {
                w.merge_all()?;
                w.finish()
            }
            None => Ok(()),
        }
    })
    .await?;
    drop(g);
    let fdir = root.join(&final_name);
    std::fs::rename(&bdir, &fdir).map_err(ioerr(format!(
        "cannot rename {} to {}",
        bdir.display(),
        fdir.display()
    )))?;
    let old = read_current(root);
    write_current(root, &final_name)?;
    if let Some(old) = old {
        if old != final_name {
            let _ = std::fs::remove_dir_all(root.join(old));
        }
    }
    Ok(ReindexReport {
        generation: final_name,
        documents: added,
        resumed_after_id: resumed,
        seq: start_seq,
        seconds: started.elapsed().as_secs_f64(),
        bytes: dir_size(&fdir),
    })
}

impl Writers {
    fn add_filtered(
        &self,
        f: &Fields,
        cfg: &SearchConfig,
        src: &Source,
        today: jiff::civil::Date,
        to_staff: bool,
        to_public: bool,
    ) -> Result<()> {
        let st = projection::staff(src, today);
        let pb = projection::public(src, today);
        let e = terr("cannot add a document");
        if to_staff {
            self.staff
                .add_document(projection::to_tantivy(
                    &st,
                    KIND_FULL,
                    f,
                    cfg.stored_text_chars,
                ))
                .map_err(&e)?;
            if pb.restricted {
                let mut masked = pb.clone();
                masked.responsible = st.responsible.clone();
                masked.unit = st.unit.clone();
                self.staff
                    .add_document(projection::to_tantivy(
                        &masked,
                        KIND_MASKED,
                        f,
                        cfg.stored_text_chars,
                    ))
                    .map_err(&e)?;
            }
        }
        // an unclassified document is not in the public index at all (access policy)
        if to_public && crate::access::public_level(&src.doc, today).is_some() {
            self.public
                .add_document(projection::to_tantivy(
                    &pb,
                    KIND_FULL,
                    f,
                    cfg.stored_text_chars,
                ))
                .map_err(&e)?;
        }
        Ok(())
    }
}

/// What `docgate verify` reports about the index.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SearchVerifyReport {
    pub ok: bool,
    /// Position of the index in the change feed, and the feed's end.
    pub indexed_seq: i64,
    pub database_seq: i64,
    pub documents_database: u64,
    pub documents_staff_index: u64,
    pub documents_public_index: u64,
    /// Ids in the database missing from an index (changes not yet applied excluded).
    pub missing: Vec<i64>,
    /// Ids in an index but not in the database.
    pub orphaned: Vec<i64>,
    /// Ids indexed more than once.
    pub duplicated: Vec<i64>,
    pub problems: Vec<String>,
}

/// Compares the index with the database.
pub async fn verify(app: &App) -> Result<SearchVerifyReport> {
    let h = SearchIndex::shared(app).await?;
    let cu = h.catch_up(app).await?;
    let g = h.current();
    let indexed_seq = g.payload()?.seq;
    let database_seq = max_seq(app).await?;
    let db_ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM documents ORDER BY id")
        .fetch_all(&app.store.pool)
        .await?;
    let db: HashSet<i64> = db_ids.into_iter().map(|r| r.0).collect();
    // Documents changed after the index's position may legitimately differ.
    let mut pending = HashSet::new();
    if cu.skipped || indexed_seq < database_seq {
        let mut s = indexed_seq;
        loop {
            let ev = app.register.events_after(s, 10_000).await?;
            if ev.is_empty() {
                break;
            }
            s = ev.last().map(|e| e.seq).unwrap_or(s);
            pending.extend(ev.iter().filter_map(|e| e.doc_id));
        }
    }
    let f = &h.fields;
    let staff_ids = collect_ids(
        &g.staff_reader.searcher(),
        &TermQuery::new(
            Term::from_field_text(f.kind, KIND_FULL),
            IndexRecordOption::Basic,
        ),
        f,
    )?;
    let public_ids = collect_ids(&g.public_reader.searcher(), &tantivy::query::AllQuery, f)?;
    let mut r = SearchVerifyReport {
        indexed_seq,
        database_seq,
        documents_database: db.len() as u64,
        documents_staff_index: staff_ids.len() as u64,
        documents_public_index: public_ids.len() as u64,
        ..Default::default()
    };
    let mut missing = BTreeSet::new();
    let mut orphaned = BTreeSet::new();
    let mut dup = BTreeSet::new();
    // the public index holds no unclassified document (the access policy)
    let unclassified: HashSet<i64> = app
        .register
        .list(&crate::register::ListFilter {
            needs_review: Some(true),
            ..Default::default()
        })
        .await?
        .iter()
        .map(|d| d.id)
        .collect();
    let public_db: HashSet<i64> = db.difference(&unclassified).copied().collect();
    for (name, ids, db) in [
        ("staff", &staff_ids, &db),
        ("public", &public_ids, &public_db),
    ] {
        let mut seen = HashSet::new();
        for &id in ids.iter() {
            if !seen.insert(id) {
                dup.insert(id);
            }
            if !db.contains(&id) && !pending.contains(&id) {
                orphaned.insert(id);
            }
        }
        for &id in db.iter() {
            if !seen.contains(&id) && !pending.contains(&id) {
                missing.insert(id);
                if missing.len() <= 20 {
                    r.problems.push(format!(
                        "document {id} is missing from the {name} search index"
                    ));
                }
            }
        }
    }
    for id in &orphaned {
        r.problems.push(format!(
            "document {id} is in the search index but not in the database"
        ));
    }
    for id in &dup {
        r.problems.push(format!(
            "document {id} is in the search index more than once"
        ));
    }
    r.missing = missing.into_iter().collect();
    r.orphaned = orphaned.into_iter().collect();
    r.duplicated = dup.into_iter().collect();
    r.ok = r.problems.is_empty();
    let _ = TantivyDocument::default()
        .get_first(f.doc_id)
        .map(|v| v.as_u64());
    Ok(r)
}
