//! `docgate import PATH`: a Maildir, an mbox file, or a folder of files, in
//! batches (one transaction per batch), with a progress bar on a terminal and a
//! summary. `docgate register FILE.eml` goes through [`register_path`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use serde::Serialize;

use crate::app::App;
use crate::error::{Error, Result};
use crate::extract::mail::sha256_hex;
use crate::model::{Channel, NewDocument};

use super::mail::{self, Outcome, Prepared, ACTOR};
use super::quarantine;
use super::thread::{self, Decision};

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Show a progress bar (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Channel of files that are not mail.
    pub file_channel: Channel,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            progress: false,
            file_channel: Channel::Post,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportItem {
    pub source: String,
    /// registered, duplicate, quarantined or failed.
    pub status: String,
    pub reg_no: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportSummary {
    pub registered: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub failed: u64,
    pub items: Vec<ImportItem>,
}

impl ImportSummary {
    fn add(&mut self, source: String, o: Result<Outcome>) {
        let item = match o {
            Ok(Outcome::Registered { reg_no, triage, .. }) => {
                self.registered += 1;
                ImportItem {
                    source,
                    status: "registered".into(),
                    reg_no: Some(reg_no),
                    reason: triage,
                }
            }
            Ok(Outcome::Duplicate { reg_no, .. }) => {
                self.duplicates += 1;
                ImportItem {
                    source,
                    status: "duplicate".into(),
                    reg_no: Some(reg_no),
                    reason: None,
                }
            }
            Ok(Outcome::Quarantined { reason, .. }) => {
                self.quarantined += 1;
                ImportItem {
                    source,
                    status: "quarantined".into(),
                    reg_no: None,
                    reason: Some(reason),
                }
            }
            Err(e) => {
                self.failed += 1;
                ImportItem {
                    source,
                    status: "failed".into(),
                    reg_no: None,
                    reason: Some(e.to_string()),
                }
            }
        };
        self.items.push(item);
    }
}

/// Where the items come from.
enum Sources {
    Files(Vec<PathBuf>),
    Mbox(PathBuf),
}

fn is_maildir(p: &Path) -> bool {
    p.join("cur").is_dir() || p.join("new").is_dir()
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("cannot read directory {}", dir.display()), e))?;
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            if name == "tmp" || name == "done" || name == super::fault::ASIDE_DIR {
                continue;
            }
            list_files(&p, out)?;
        } else if p.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

fn sources(path: &Path) -> Result<Sources> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::invalid(format!("cannot import {}: {e}", path.display())))?;
    if meta.is_dir() {
        let mut files = Vec::new();
        if is_maildir(path) {
            for sub in ["cur", "new"] {
                let d = path.join(sub);
                if d.is_dir() {
                    list_files(&d, &mut files)?;
                }
            }
        } else {
            list_files(path, &mut files)?;
        }
        return Ok(Sources::Files(files));
    }
    let mut head = [0u8; 5];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path)
            .map_err(|e| Error::invalid(format!("cannot import {}: {e}", path.display())))?;
        f.read(&mut head).unwrap_or(0)
    };
    if &head[..n] == b"From " {
        Ok(Sources::Mbox(path.to_path_buf()))
    } else {
        Ok(Sources::Files(vec![path.to_path_buf()]))
    }
}

/// One read item: its source name and bytes with their SHA-256 (or the read error).
type Raw = (String, std::result::Result<(Vec<u8>, String), String>);

/// Bytes read, with their hash (computed on the reader's thread).
fn hashed(bytes: Vec<u8>) -> (Vec<u8>, String) {
    let sha = sha256_hex(&bytes);
    (bytes, sha)
}

/// Prepared, quarantined or already known.
enum Step {
    Ready(Box<Prepared>),
    Done(Result<Outcome>),
}

/// Prepares an item that is not registered yet (the caller looked its hash up).
async fn prepare(
    app: &App,
    source: &str,
    bytes: Vec<u8>,
    sha: String,
    file_channel: Channel,
) -> Step {
    let name = source.rsplit('/').next().unwrap_or(source).to_string();
    let r = if mail::looks_like_mail(&name, &bytes) {
        mail::prepare_mail(app, bytes, Some(sha), Channel::Email).await
    } else {
        mail::prepare_file(app, &name, bytes, file_channel).await
    };
    match r {
        // The files are stored now, in parallel with the other items being
        // prepared, rather than while the batch waits to commit.
        Ok(mut p) => match app
            .register
            .store_files(
                std::slice::from_mut(&mut p.new),
                Some(std::mem::take(&mut p.hashes)),
            )
            .await
        {
            Ok(stored) => {
                p.stored = stored;
                Step::Ready(Box::new(p))
            }
            Err(e) => Step::Done(Err(e)),
        },
        Err((raw, reason)) => Step::Done(
            quarantine::put(&app.store, source, raw, &reason)
                .await
                .map(|(id, _)| Outcome::Quarantined { id, reason }),
        ),
    }
}

/// Read items looked up by their hash with one query, at most.
const LOOK_UP_AT_ONCE: usize = 64;

/// A read item after the look-up of its hash.
enum Looked {
    /// Not registered: its bytes and hash.
    New(Vec<u8>, String),
    /// Registered already, as this document (id and registration number).
    Known(i64, String),
}

/// Looks the read items up by their hash (`sha256:` source key), all with one
/// query, so that duplicates are neither parsed nor stored.
async fn look_up(app: &App, chunk: Vec<Raw>) -> Vec<(String, Result<Looked>)> {
    let keys: Vec<String> = chunk
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().map(|(_, sha)| format!("sha256:{sha}")))
        .collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let found = app.register.find_by_source_keys(&refs).await;
    chunk
        .into_iter()
        .map(|(source, r)| {
            let looked = match (r, &found) {
                (Err(e), _) => Err(Error::invalid(e)),
                (Ok(_), Err(e)) => Err(Error::internal(format!(
                    "cannot look up {source} in the register: {e}"
                ))),
                (Ok((bytes, sha)), Ok(found)) => match found.get(&format!("sha256:{sha}")) {
                    Some((id, reg_no)) => Ok(Looked::Known(*id, reg_no.clone())),
                    None => Ok(Looked::New(bytes, sha)),
                },
            };
            (source, looked)
        })
        .collect()
}

/// Items parsed, extracted and stored at the same time (storing a file waits on
/// the disk's fsync, not the CPU).
const PREPARE_AHEAD: usize = 32;

/// Prepared items waiting for the registering loop (about a batch: preparing goes
/// on while a batch commits).
const PREPARED_QUEUE: usize = 256;

/// The pending batch of an import.
struct Batch {
    items: Vec<(usize, String, Prepared, Decision)>,
    keys: HashSet<String>,
    msgids: HashSet<String>,
    /// SQLite: checkpoints after the batches' commits, off the commit path.
    checkpointer: Option<crate::store::Checkpointer>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            items: Vec::new(),
            keys: HashSet::new(),
            msgids: HashSet::new(),
            checkpointer: None,
        }
    }

    async fn committed(&mut self) {
        if let Some(c) = &mut self.checkpointer {
            c.committed().await;
        }
    }
}

/// Imports everything under `path`.
pub async fn import_path(app: &App, path: &Path, opts: &ImportOptions) -> Result<ImportSummary> {
    let src = sources(path)?;
    let (tx_raw, rx_raw) = tokio::sync::mpsc::channel::<Raw>(64);
    let total: Option<u64>;
    // A reader task streams the items so that memory stays bounded.
    let reader = match src {
        Sources::Files(files) => {
            total = Some(files.len() as u64);
            // One blocking thread reads and hashes every file (no hop to the
            // blocking pool per file).
            tokio::task::spawn_blocking(move || {
                for f in files {
                    let r = std::fs::read(&f)
                        .map(hashed)
                        .map_err(|e| format!("cannot read {}: {e}", f.display()));
                    if tx_raw.blocking_send((f.display().to_string(), r)).is_err() {
                        break;
                    }
                }
            })
        }
        Sources::Mbox(p) => {
            total = None;
            tokio::task::spawn_blocking(move || {
                let f = match std::fs::File::open(&p) {
                    Ok(f) => f,
                    Err(e) => {
                        let _ = tx_raw.blocking_send((
                            p.display().to_string(),
                            Err(format!("cannot read {}: {e}", p.display())),
                        ));
                        return;
                    }
                };
                let it =
                    mail_parser::mailbox::mbox::MessageIterator::new(std::io::BufReader::new(f));
                for (i, m) in it.enumerate() {
                    let src = format!("{}#{}", p.display(), i + 1);
                    let r = m
                        .map(|m| hashed(m.unwrap_contents()))
                        .map_err(|e| format!("cannot read {src}: {e}"));
                    if tx_raw.blocking_send((src, r)).is_err() {
                        break;
                    }
                }
            })
        }
    };

    let bar = if opts.progress && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let b = match total {
            Some(n) => indicatif::ProgressBar::new(n),
            None => indicatif::ProgressBar::new_spinner(),
        };
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {per_sec} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };

    let file_channel = opts.file_channel;
    let batch_size = app.config.ingest.batch_size.max(1);
    // Items are prepared in a task of their own, so that preparing goes on while
    // the loop below waits for a batch to commit, up to a queue of prepared items.
    let (tx_ready, mut rx_ready) =
        tokio::sync::mpsc::channel::<(usize, String, Step)>(PREPARED_QUEUE);
    let preparer_app = app.clone();
    let preparer = tokio::spawn(async move {
        let app = preparer_app;
        let looked_up = app.clone();
        let stream = tokio_stream_from(rx_raw)
            // The items read so far are looked up by their hash with one query.
            .ready_chunks(LOOK_UP_AT_ONCE)
            .then(move |chunk| {
                let app = looked_up.clone();
                async move { look_up(&app, chunk).await }
            })
            .flat_map(futures::stream::iter)
            .enumerate()
            .map(|(i, (source, r))| {
                let app = app.clone();
                let name = source.clone();
                // Spawned, so that parsing and extraction go on while the loop below
                // waits for a batch to commit (a plain future runs only when polled).
                let task = tokio::spawn(async move {
                    match r {
                        Ok(Looked::New(bytes, sha)) => {
                            prepare(&app, &source, bytes, sha, file_channel).await
                        }
                        Ok(Looked::Known(doc_id, reg_no)) => {
                            Step::Done(Ok(Outcome::Duplicate { doc_id, reg_no }))
                        }
                        Err(e) => Step::Done(Err(e)),
                    }
                });
                async move {
                    let step = task.await.unwrap_or_else(|e| {
                        Step::Done(Err(Error::internal(format!(
                            "preparing {name} failed: {e}"
                        ))))
                    });
                    (i, name, step)
                }
            })
            .buffered(PREPARE_AHEAD);
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            if tx_ready.send(item).await.is_err() {
                break;
            }
        }
    });

    let mut slots: Vec<Option<(String, Result<Outcome>)>> = Vec::new();
    let mut batch = Batch::new();
    // SQLite: batches commit without checkpointing; a task checkpoints meanwhile.
    batch.checkpointer = app.store.start_checkpointer();
    while let Some((i, source, step)) = rx_ready.recv().await {
        if slots.len() <= i {
            slots.resize_with(i + 1, || None);
        }
        match step {
            Step::Done(o) => slots[i] = Some((source, o)),
            Step::Ready(p) => {
                let p = *p;
                // A reply to a message of this batch, or the same keys twice: flush first.
                let refers = p.hints.message_ids.iter().any(|m| batch.msgids.contains(m));
                let clash = p.new.source_keys.iter().any(|k| batch.keys.contains(k));
                if refers || clash {
                    flush(app, &mut batch, &mut slots).await;
                }
                if clash {
                    match mail::duplicate_of(app, &p.new.source_keys).await {
                        Ok(Some((doc_id, reg_no))) => {
                            slots[i] = Some((source, Ok(Outcome::Duplicate { doc_id, reg_no })));
                            if let Some(b) = &bar {
                                b.inc(1);
                            }
                            continue;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            slots[i] = Some((source, Err(e)));
                            continue;
                        }
                    }
                }
                let decision = match thread::resolve(&app.register, &p.hints).await {
                    Ok(d) => d,
                    Err(e) => {
                        slots[i] = Some((source, Err(e)));
                        continue;
                    }
                };
                batch.keys.extend(p.new.source_keys.iter().cloned());
                if let Some(m) = &p.new.message_id {
                    batch.msgids.insert(m.clone());
                }
                batch.items.push((i, source, p, decision));
                if batch.items.len() >= batch_size {
                    flush(app, &mut batch, &mut slots).await;
                }
            }
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    flush(app, &mut batch, &mut slots).await;
    if let Some(c) = batch.checkpointer.take() {
        c.finish().await;
    }
    let _ = preparer.await;
    let _ = reader.await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut summary = ImportSummary::default();
    for (source, o) in slots.into_iter().flatten() {
        summary.add(source, o);
    }
    Ok(summary)
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Registers the batch in one transaction; when that fails (a duplicate raced in,
/// or one item is refused) each item is registered on its own instead.
async fn flush(app: &App, batch: &mut Batch, slots: &mut [Option<(String, Result<Outcome>)>]) {
    let items = std::mem::take(&mut batch.items);
    batch.keys.clear();
    batch.msgids.clear();
    if items.is_empty() {
        return;
    }
    // Batch only small items (a big one is better registered on its own).
    let simple = items.iter().all(|(_, _, p, d)| {
        !matches!(d, Decision::Triage { .. })
            && p.new.files.iter().map(|f| f.bytes.len()).sum::<usize>() < 8 * 1024 * 1024
    });
    let mut items = items;
    if simple {
        // The decisions go into the documents; the fields they change are kept,
        // so that a failed batch falls back on the items as they were prepared.
        let kept: Vec<_> = items
            .iter_mut()
            .map(|(_, _, p, d)| {
                let kept = (p.new.reply_to.clone(), p.new.their_ref.clone());
                apply_decision(&mut p.new, &p.hints.subject, d);
                kept
            })
            .collect();
        let hashes: Option<Vec<String>> = items
            .iter()
            .map(|(_, _, p, _)| p.stored.clone())
            .collect::<Option<Vec<Vec<String>>>>()
            .map(|h| h.concat());
        let news: Vec<&NewDocument> = items.iter().map(|(_, _, p, _)| &p.new).collect();
        match app.register.register_stored(&news, hashes, ACTOR).await {
            Ok(docs) => {
                batch.committed().await;
                for ((i, source, _, _), doc) in items.into_iter().zip(docs) {
                    slots[i] = Some((
                        source,
                        Ok(Outcome::Registered {
                            doc_id: doc.id,
                            reg_no: doc.reg_no,
                            triage: None,
                        }),
                    ));
                }
                return;
            }
            Err(e) => tracing::debug!("batch failed, registering one by one: {e}"),
        }
        for ((_, _, p, _), (reply_to, their_ref)) in items.iter_mut().zip(kept) {
            p.new.reply_to = reply_to;
            p.new.their_ref = their_ref;
        }
    }
    for (i, source, p, _) in items {
        let o = mail::register_prepared(app, p, &source).await;
        slots[i] = Some((source, o));
    }
    batch.committed().await;
}

fn apply_decision(n: &mut crate::model::NewDocument, subject: &str, d: &Decision) {
    if let Decision::Continue { reg_no, .. } = d {
        n.reply_to = Some(reg_no.clone());
    }
    if n.their_ref.is_none() {
        n.their_ref = thread::their_ref_in(subject, d);
    }
}

/// Registers one file the way `import` does: an `.eml` as a message, anything
/// else as a document with the file. For `docgate register FILE.eml`.
pub async fn register_path(app: &App, path: &Path, opts: &ImportOptions) -> Result<ImportItem> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let source = path.display().to_string();
    let o = mail::ingest_file(app, &name, bytes, &source, opts.file_channel).await;
    let mut s = ImportSummary::default();
    s.add(source, o);
    Ok(s.items.remove(0))
}
