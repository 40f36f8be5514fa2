//! Ingest benchmark: a generated Maildir of N messages (2–50 KB, 10% with a PDF
//! attachment) imported into a fresh SQLite register, against the bare mail-parser
//! parse rate over the same files in the same run (the ceiling).
//!
//! cargo run --release --example bench_ingest -- [--messages 100000] [--dir /tmp/bench-ingest]
//!
//! With `--corpus et-laws` the messages are real Estonian law text (sections of
//! `/work/shared/corpus/et-laws`, or `--corpus-dir DIR`, joined to 2–50 KB,
//! subject the first section's heading, 10% with the PDF), imported in steps of
//! `--step` messages (default 2,000) into one register, each step timed: the
//! import rate as the register grows.
//!
//! cargo run --release --example bench_ingest -- --corpus et-laws --messages 8000
//!
//! With `--bin PATH` the import runs as a `docgate import` child process and its
//! peak RSS is measured with wait4; otherwise the same code (`ingest::import_path`)
//! runs in this process and the peak RSS is this process's.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use base64::Engine;
use rand::{Rng, SeedableRng};

const WORDS: &[&str] = &[
    "avaldus",
    "hüvitis",
    "ohvriabi",
    "kuriteoohver",
    "psühholoogiline",
    "abi",
    "teenus",
    "saatekiri",
    "arve",
    "politsei",
    "prokuratuur",
    "kohus",
    "omavalitsus",
    "selgitustaotlus",
    "märgukiri",
    "teabenõue",
    "vastus",
    "lisa",
    "tähtaeg",
    "Tallinn",
    "Tartu",
    "Pärnu",
    "õigus",
    "küsimus",
    "palun",
    "teavitame",
    "seoses",
    "menetlus",
    "otsus",
    "ja",
    "ning",
];

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn generate(dir: &Path, n: usize) -> std::io::Result<(u64, usize)> {
    for s in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(dir.join(s))?;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let pdf = docgate::extract::pdf::make_pdf(
        &[
            "Avaldus kuriteoohvri huvitise saamiseks",
            "Taotleja andmed ja asjaolud on toodud allpool",
            "Kuupaev 01.03.2026",
        ],
        true,
    );
    let pdf_b64 = base64::engine::general_purpose::STANDARD.encode(&pdf);
    let mut total = 0u64;
    let mut pdfs = 0;
    for i in 0..n {
        let target = rng.gen_range(2_000..50_000usize);
        let with_pdf = i % 10 == 0;
        let mut body = String::with_capacity(target);
        while body.len() < target.saturating_sub(if with_pdf { pdf_b64.len() } else { 0 }) {
            for _ in 0..12 {
                body.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
                body.push(' ');
            }
            body.push_str("\r\n");
        }
        let mut m = format!(
            "Return-Path: <saatja{i}@example.ee>\r\nFrom: Saatja {i} <saatja{i}@example.ee>\r\n\
             To: dokumendid@sotsiaalkindlustusamet.ee\r\nSubject: Avaldus {i}\r\n\
             Date: Mon, 2 Mar 2026 10:00:00 +0200\r\nMessage-ID: <bench-{i}@example.ee>\r\nMIME-Version: 1.0\r\n"
        );
        if with_pdf {
            pdfs += 1;
            m.push_str("Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n--BB\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
            m.push_str(&body);
            m.push_str("\r\n--BB\r\nContent-Type: application/pdf; name=\"avaldus.pdf\"\r\nContent-Disposition: attachment; filename=\"avaldus.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
            for c in pdf_b64.as_bytes().chunks(76) {
                m.push_str(std::str::from_utf8(c).unwrap());
                m.push_str("\r\n");
            }
            m.push_str("--BB--\r\n");
        } else {
            m.push_str("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
            m.push_str(&body);
        }
        total += m.len() as u64;
        let name = format!("{}.{i}.bench", 1_700_000_000 + i);
        let mut f = std::fs::File::create(dir.join("new").join(name))?;
        f.write_all(m.as_bytes())?;
    }
    Ok((total, pdfs))
}

/// The law sections of the corpus, in name order (each a heading line, then text).
fn law_sections(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    names.sort();
    let mut v = Vec::with_capacity(names.len());
    for p in names {
        let t = std::fs::read_to_string(&p)?;
        if !t.trim().is_empty() {
            v.push(t.replace("\r\n", "\n"));
        }
    }
    Ok(v)
}

/// Messages of law text: `steps` Maildirs of `step` messages each.
fn generate_laws(
    work: &Path,
    corpus: &Path,
    n: usize,
    step: usize,
) -> std::io::Result<(u64, usize)> {
    let sections = law_sections(corpus)?;
    assert!(
        !sections.is_empty(),
        "no .txt sections in {}",
        corpus.display()
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let pdf = docgate::extract::pdf::make_pdf(
        &[
            "Avaldus kuriteoohvri huvitise saamiseks",
            "Taotleja andmed ja asjaolud on toodud allpool",
            "Kuupaev 01.03.2026",
        ],
        true,
    );
    let pdf_b64 = base64::engine::general_purpose::STANDARD.encode(&pdf);
    let (mut total, mut pdfs) = (0u64, 0usize);
    for i in 0..n {
        let dir = work.join(format!("Maildir-{}", i / step));
        if i % step == 0 {
            for s in ["new", "cur", "tmp"] {
                std::fs::create_dir_all(dir.join(s))?;
            }
        }
        let target = rng.gen_range(2_000..50_000usize);
        let with_pdf = i % 10 == 0;
        let first = rng.gen_range(0..sections.len());
        let subject = sections[first]
            .lines()
            .next()
            .unwrap_or("Seadus")
            .trim()
            .to_string();
        let mut body = String::with_capacity(target + 4096);
        let mut k = first;
        while body.len() < target {
            for line in sections[k % sections.len()].lines() {
                body.push_str(line);
                body.push_str("\r\n");
            }
            body.push_str("\r\n");
            k += 1;
        }
        let mut m = format!(
            "Return-Path: <saatja{i}@example.ee>\r\nFrom: Saatja {i} <saatja{i}@example.ee>\r\n\
             To: dokumendid@sotsiaalkindlustusamet.ee\r\nSubject: =?utf-8?B?{}?=\r\n\
             Date: Mon, 2 Mar 2026 10:00:00 +0200\r\nMessage-ID: <law-{i}@example.ee>\r\nMIME-Version: 1.0\r\n",
            base64::engine::general_purpose::STANDARD.encode(subject.as_bytes())
        );
        if with_pdf {
            pdfs += 1;
            m.push_str("Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n--BB\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
            m.push_str(&body);
            m.push_str("\r\n--BB\r\nContent-Type: application/pdf; name=\"avaldus.pdf\"\r\nContent-Disposition: attachment; filename=\"avaldus.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
            for c in pdf_b64.as_bytes().chunks(76) {
                m.push_str(std::str::from_utf8(c).unwrap());
                m.push_str("\r\n");
            }
            m.push_str("--BB--\r\n");
        } else {
            m.push_str("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
            m.push_str(&body);
        }
        total += m.len() as u64;
        let name = format!("{}.{i}.bench", 1_700_000_000 + i);
        std::fs::write(dir.join("new").join(name), m.as_bytes())?;
    }
    Ok((total, pdfs))
}

/// `--corpus et-laws`: imports the steps one after another into one register
/// and prints each step's rate.
fn laws(args: &[String], n: usize, work: &Path) -> anyhow::Result<()> {
    let step: usize = arg(args, "--step")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2_000);
    let corpus = PathBuf::from(
        arg(args, "--corpus-dir").unwrap_or_else(|| "/work/shared/corpus/et-laws".into()),
    );
    let t = Instant::now();
    let (bytes, pdfs) = generate_laws(work, &corpus, n, step)?;
    eprintln!(
        "generated {n} messages of law text ({:.1} MB, {pdfs} with a PDF) in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let cfg = docgate::Config {
            data_dir: work.join("data"),
            ..Default::default()
        };
        let app = docgate::App::open(cfg).await?;
        let (mut done, mut first_rate, mut triage) = (0usize, None, 0u64);
        let t_all = Instant::now();
        for k in 0..n.div_ceil(step) {
            let dir = work.join(format!("Maildir-{k}"));
            let t = Instant::now();
            let s = docgate::ingest::import_path(&app, &dir, &Default::default()).await?;
            let secs = t.elapsed().as_secs_f64();
            let m = (s.registered + s.duplicates + s.quarantined + s.failed) as usize;
            done += m;
            triage += s.items.iter().filter(|i| i.reason.is_some() && i.status == "registered").count() as u64;
            let rate = m as f64 / secs;
            let first = *first_rate.get_or_insert(rate);
            println!(
                "messages {:>7}..{:>7}: {rate:>6.0} msg/s ({:.0}% of the first step), registered {} quarantined {} failed {}",
                done - m,
                done,
                100.0 * rate / first,
                s.registered,
                s.quarantined,
                s.failed
            );
        }
        println!(
            "docgate import of law text: {done} messages in {:.1} s = {:.0} msg/s, {triage} to triage, peak RSS {:.0} MB",
            t_all.elapsed().as_secs_f64(),
            done as f64 / t_all.elapsed().as_secs_f64(),
            peak_rss_self() as f64 / 1e6
        );
        anyhow::Ok(())
    })
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn peak_rss_self() -> u64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_maxrss as u64 * 1024
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = arg(&args, "--messages")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let work = PathBuf::from(arg(&args, "--dir").unwrap_or_else(|| "/tmp/bench-ingest".into()));
    let _ = std::fs::remove_dir_all(&work);
    match arg(&args, "--corpus").as_deref() {
        None => {}
        Some("et-laws") => return laws(&args, n, &work),
        Some(other) => anyhow::bail!("unknown --corpus {other:?} (known: et-laws)"),
    }
    let maildir = work.join("Maildir");
    let data = work.join("data");
    let t = Instant::now();
    let (bytes, pdfs) = generate(&maildir, n)?;
    eprintln!(
        "generated {n} messages ({:.1} MB, {pdfs} with a PDF) in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    // docgate import.
    let (secs, rss, summary) = if let Some(bin) = arg(&args, "--bin") {
        // The summary goes to a file: a pipe nobody reads while we wait4 for
        // the child would fill up and stall it.
        let summary_path = work.join("import-summary.json");
        let t = Instant::now();
        let child = std::process::Command::new(bin)
            .arg("--data-dir")
            .arg(&data)
            .args(["import", maildir.to_str().unwrap(), "--json"])
            .stdout(std::fs::File::create(&summary_path)?)
            .spawn()?;
        let pid = child.id() as i32;
        let mut status = 0;
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our child; status and ru are valid for writes.
        unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        let secs = t.elapsed().as_secs_f64();
        let out = std::fs::read(&summary_path)?;
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap_or_default();
        (
            secs,
            ru.ru_maxrss as u64 * 1024,
            format!(
                "registered {} duplicates {} quarantined {} failed {}",
                v["registered"], v["duplicates"], v["quarantined"], v["failed"]
            ),
        )
    } else {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let (secs, s) = rt.block_on(async {
            let cfg = docgate::Config {
                data_dir: data.clone(),
                ..Default::default()
            };
            let app = docgate::App::open(cfg).await?;
            let t = Instant::now();
            let s = docgate::ingest::import_path(&app, &maildir, &Default::default()).await?;
            anyhow::Ok((t.elapsed().as_secs_f64(), s))
        })?;
        (
            secs,
            peak_rss_self(),
            format!(
                "registered {} duplicates {} quarantined {} failed {}",
                s.registered, s.duplicates, s.quarantined, s.failed
            ),
        )
    };
    println!("docgate import: {summary}");
    println!(
        "docgate import: {n} messages in {secs:.1} s = {:.0} msg/s, {:.1} MB/s, peak RSS {:.0} MB",
        n as f64 / secs,
        bytes as f64 / 1e6 / secs,
        rss as f64 / 1e6
    );

    // The ceiling: bare mail-parser over the same files (read + parse, one thread).
    let t = Instant::now();
    let parser = mail_parser::MessageParser::default();
    let mut parts = 0usize;
    for f in files(&maildir).iter().chain(files_cur(&maildir).iter()) {
        let raw = std::fs::read(f)?;
        if let Some(m) = parser.parse(&raw) {
            parts += m.parts.len();
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "mail-parser alone: {n} messages in {secs:.2} s = {:.0} msg/s, {:.1} MB/s ({parts} parts)",
        n as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
    Ok(())
}

fn files_cur(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join("cur"))
        .map(|r| r.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}
