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
use crate::periodic::{Every, Next};

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
    process_group(app, dir, file, &[], channel).await
}

/// Reads a file whole, or says how large it is when it is over `limit`.
async fn read_limited(app: &App, file: &Path) -> Result<Bounded> {
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
    fault::read_bounded(file, limit).await
}

/// One document from `file` and its `companions` (an operator's PDF beside its
/// XML invoice); every file is moved to `done/` once registered.
pub async fn process_group(
    app: &App,
    dir: &Path,
    file: &Path,
    companions: &[PathBuf],
    channel: Channel,
) -> Result<Outcome> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let limit = app
        .config
        .max_file_size
        .max(app.config.ingest.max_message_size);
    let bytes = match read_limited(app, file).await? {
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
    let mut extra = Vec::new();
    let mut alone = Vec::new();
    for c in companions {
        match read_limited(app, c).await? {
            Bounded::Whole(b) => extra.push((
                c.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                b,
            )),
            // A companion too large goes its own way (set aside on its turn).
            Bounded::TooLarge { .. } => alone.push(c.clone()),
        }
    }
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
        mail::ingest_files_at(&a, &name, bytes, extra, &source, channel, arrival).await
    })
    .await
    .map_err(|e| fault::panic_error(&file.display().to_string(), e))??;
    // Crash window (tests/faults.rs): committed, not yet moved to done/.
    fail::fail_point!("ingest-before-ack", |_| Err(Error::internal(
        "failpoint ingest-before-ack"
    )));
    move_to_done(dir, file)?;
    for c in companions.iter().filter(|c| !alone.contains(c)) {
        move_to_done(dir, c)?;
    }
    Ok(o)
}

/// The files of an operator's export as documents: each XML file with the PDFs
/// of the same name beside it; every other file alone (pure).
pub fn pair_invoices(files: &[PathBuf]) -> Vec<(PathBuf, Vec<PathBuf>)> {
    let ext = |p: &Path| {
        p.extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().to_lowercase())
            .unwrap_or_default()
    };
    let xml_stems: Vec<String> = files
        .iter()
        .filter(|f| ext(f) == "xml")
        .map(|f| stem(f))
        .collect();
    let mut out = Vec::new();
    for f in files {
        match ext(f).as_str() {
            "xml" => out.push((
                f.clone(),
                files
                    .iter()
                    .filter(|c| ext(c) == "pdf" && stem(c) == stem(f))
                    .cloned()
                    .collect(),
            )),
            "pdf" if xml_stems.contains(&stem(f)) => {}
            _ => out.push((f.clone(), Vec::new())),
        }
    }
    out
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
    pass_folder(app, dir, channel, false, settle, shutdown, attempts).await
}

/// [`pass_with`] over any folder: `pair` registers each XML file with the PDFs
/// of its name as one document (an e-invoice operator's export).
pub async fn pass_folder(
    app: &App,
    dir: &Path,
    channel: Channel,
    pair: bool,
    settle: Duration,
    shutdown: &CancellationToken,
    attempts: &mut Attempts,
) -> Result<usize> {
    let files = pending(dir, settle)?;
    let groups = if pair {
        pair_invoices(&files)
    } else {
        files.into_iter().map(|f| (f, Vec::new())).collect()
    };
    let mut n = 0;
    for (f, companions) in groups {
        if shutdown.is_cancelled() {
            break;
        }
        let key = f.display().to_string();
        match process_group(app, dir, &f, &companions, channel).await {
            Ok(o) => {
                tracing::info!("{}: {}", f.display(), o.status());
                attempts.done(&key);
                n += 1;
            }
            Err(Error::NotFound { .. }) => attempts.done(&key),
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
    let channel: Channel = app.config.ingest.drop_channel.parse()?;
    run_folder(app, dir, channel, false, shutdown).await
}

/// The e-invoice operator's export folder (`invoices.operator_folder`): XML
/// invoices with their PDFs, channel `einvoice`.
pub async fn run_operator(app: App, shutdown: CancellationToken) -> Result<()> {
    let dir = app.config.invoices.operator_folder.clone();
    std::fs::create_dir_all(dir.join("done"))
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    run_folder(app, dir, Channel::EInvoice, true, shutdown).await
}

async fn run_folder(
    app: App,
    dir: PathBuf,
    channel: Channel,
    pair: bool,
    shutdown: CancellationToken,
) -> Result<()> {
    let interval = app.config.ingest.poll_interval;
    let mut attempts = Attempts::default();
    let mut every = Every::new(format!("drop folder {}", dir.display()), interval)
        .backoff(super::fault::backoff_from(interval));
    let settle = Duration::from_secs(2);
    while every.tick(&shutdown).await {
        let pass = pass_folder(&app, &dir, channel, pair, settle, &shutdown, &mut attempts).await;
        every.done(pass.map(|n| if n == 0 { Next::Wait } else { Next::Again }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operators_xml_takes_the_pdf_of_its_name() {
        let p = |s: &str| PathBuf::from(format!("/x/{s}"));
        let files = vec![
            p("arve-1.PDF"),
            p("arve-1.xml"),
            p("arve-2.xml"),
            p("kiri.pdf"),
            p("muu.txt"),
        ];
        assert_eq!(
            pair_invoices(&files),
            vec![
                (p("arve-1.xml"), vec![p("arve-1.PDF")]),
                (p("arve-2.xml"), vec![]),
                (p("kiri.pdf"), vec![]),
                (p("muu.txt"), vec![]),
            ]
        );
    }
}
