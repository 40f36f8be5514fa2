//! Container verifications per second on this machine: every container of the
//! shared corpus's `valid-containers/` opened and verified (structure, digests,
//! signature values, chains, OCSP, time-stamps) under its test trust anchors,
//! `ROUNDS` times, on one thread.
//!
//! ```sh
//! nice cargo run --release --example bench_signatures -- ../shared/corpus/asice 5
//! ```

use std::time::Instant;

use docgate::signature::{self, TrustStore};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(
        args.next()
            .unwrap_or_else(|| "../shared/corpus/asice".into()),
    );
    let rounds: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(5);
    let trust = TrustStore::from_dir(&dir.join("certs"))?;
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir.join("valid-containers"))? {
        let p = e?.path();
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if !name.ends_with(".pdf") {
            files.push((name, std::fs::read(&p)?));
        }
    }
    files.sort();
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    let mut signatures = 0usize;
    let t0 = Instant::now();
    for _ in 0..rounds {
        for (name, b) in &files {
            if let Ok(c) = signature::verify(name, b, &trust) {
                signatures += c.signatures.len();
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let n = files.len() * rounds;
    println!(
        "{n} container verifications ({} containers x {rounds}, {:.1} MB each round, {} signatures) in {secs:.2} s: {:.1} containers/s, {:.1} signatures/s",
        files.len(),
        bytes as f64 / 1e6,
        signatures,
        n as f64 / secs,
        signatures as f64 / secs
    );
    Ok(())
}
