//! Builds the Estonian lemma lexicon that `src/search/morph.rs` embeds, from the
//! TSV that `tools/et-lexicon/generate.py` writes (Vabamorf over the hunspell word
//! list and the corpus; see lexicon/et/SOURCES.txt):
//!
//! ```sh
//! cargo run --release --example build_et_lexicon -- /tmp/lexicon.tsv lexicon/et
//! ```
//!
//! Writes `lexicon.fst` (folded form → rule) and `appends.txt` (the rules' endings,
//! one a line). A rule is `strip | append << 6 | part1 << 30 | part2 << 36`.

use std::collections::HashMap;
use std::io::{BufRead, Write};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() == 3,
        "usage: build_et_lexicon LEXICON.tsv OUT_DIR"
    );
    let input = std::io::BufReader::new(std::fs::File::open(&args[1])?);
    let out = std::path::Path::new(&args[2]);
    let mut appends: Vec<String> = Vec::new();
    let mut ids: HashMap<String, u64> = HashMap::new();
    let mut rows: Vec<(Vec<u8>, u64)> = Vec::new();
    for line in input.lines() {
        let line = line?;
        let cols: Vec<&str> = line.split('\t').collect();
        anyhow::ensure!(cols.len() == 5, "bad row: {line:?}");
        let strip: u64 = cols[1].parse()?;
        let id = *ids.entry(cols[2].to_string()).or_insert_with(|| {
            appends.push(cols[2].to_string());
            appends.len() as u64 - 1
        });
        let (p1, p2): (u64, u64) = (cols[3].parse()?, cols[4].parse()?);
        anyhow::ensure!(strip < 64 && p1 < 64 && p2 < 64 && id < (1 << 24));
        rows.push((
            cols[0].as_bytes().to_vec(),
            strip | id << 6 | p1 << 30 | p2 << 36,
        ));
    }
    rows.sort();
    rows.dedup_by(|a, b| a.0 == b.0);
    let mut b = tantivy_fst::MapBuilder::new(std::io::BufWriter::new(std::fs::File::create(
        out.join("lexicon.fst"),
    )?))?;
    for (k, v) in &rows {
        b.insert(k, *v)?;
    }
    b.finish()?;
    let mut a = std::fs::File::create(out.join("appends.txt"))?;
    for s in &appends {
        writeln!(a, "{s}")?;
    }
    println!("{} keys, {} endings", rows.len(), appends.len());
    Ok(())
}
