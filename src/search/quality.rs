//! The search-quality benchmark: known-item queries over a corpus of law sections
//! (`fixtures/search-quality/dev.tsv`, the et-laws corpus), each with the one
//! document that should come first; top-1, top-5 and MRR per kind of query.
//! Run by `examples/search_quality.rs` (figures in BENCHMARKS.md) and, on the
//! corpus part kept in the repository, by `tests/search_quality.rs` with a floor.
//!
//! The index is built the way the register builds it (the staff projection's
//! `to_tantivy`, the same schema and analysers) in memory, and searched with
//! [`super::query::rank`] as the public register searches.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use tantivy::{Index, TantivyDocument};

use super::analyzer;
use super::projection::{to_tantivy, Projected};
use super::query::{rank, Access, SearchRequest};
use super::schema::{Fields, KIND_FULL};
use crate::error::{Error, Result};

/// One query of the set.
#[derive(Debug, Clone)]
pub struct Case {
    pub kind: String,
    pub query: String,
    /// The expected document's name (a corpus file name).
    pub expected: String,
}

/// Largest query set read.
const MAX_CASES: usize = 10_000;

/// Parses a query set: `kind \t query \t expected`, `#` comments and blank lines.
pub fn parse_cases(tsv: &str) -> Result<Vec<Case>> {
    let mut out = Vec::new();
    for (i, line) in tsv.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 3 || cols.iter().any(|c| c.trim().is_empty()) {
            return Err(Error::invalid(format!(
                "päringute failis vigane rida {} (invalid query set line): {line:?}",
                i + 1
            )));
        }
        if out.len() == MAX_CASES {
            return Err(Error::invalid(format!(
                "päringute failis on üle {MAX_CASES} päringu (too many queries)"
            )));
        }
        out.push(Case {
            kind: cols[0].to_string(),
            query: cols[1].to_string(),
            expected: cols[2].to_string(),
        });
    }
    Ok(out)
}

/// A corpus document: its name, title and text.
#[derive(Debug, Clone)]
pub struct Doc {
    pub name: String,
    pub title: String,
    pub body: String,
}

/// Reads the et-laws files of `dir` whose names `keep` accepts: line 2 (the
/// section heading) is the title, the rest the text.
pub fn load_et_laws(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<Doc>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::invalid(format!("cannot read corpus {}: {e}", dir.display())))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt") && n != "SOURCES.txt" && keep(n))
        .collect();
    names.sort();
    let mut docs = Vec::with_capacity(names.len());
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name))
            .map_err(|e| Error::invalid(format!("cannot read corpus file {name}: {e}")))?;
        let mut lines = text.lines().skip(1);
        let title = lines.next().unwrap_or_default().trim().to_string();
        let body = lines.collect::<Vec<_>>().join("\n");
        docs.push(Doc { name, title, body });
    }
    Ok(docs)
}

/// An in-memory index of `docs` (doc ids 1..), analysed as the register does.
pub fn build_index(docs: &[Doc]) -> Result<(Fields, Index)> {
    let f = Fields::new();
    let index = Index::create_in_ram(f.schema.clone());
    analyzer::register(index.tokenizers());
    let err = |e: tantivy::TantivyError| Error::internal(format!("index: {e}"));
    let mut w: tantivy::IndexWriter<TantivyDocument> =
        index.writer_with_num_threads(1, 50_000_000).map_err(err)?;
    for (i, d) in docs.iter().enumerate() {
        let p = Projected::text_only(
            i as i64 + 1,
            d.name.clone(),
            "1-1",
            d.title.clone(),
            d.body.clone(),
        );
        w.add_document(to_tantivy(&p, KIND_FULL, &f, 16_384))
            .map_err(err)?;
    }
    w.commit().map_err(err)?;
    Ok((f, index))
}

/// The figures of one kind of query.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    pub queries: usize,
    pub top1: usize,
    pub top5: usize,
    pub rr: f64,
}

impl Figures {
    pub fn add_rank(&mut self, rank: Option<usize>) {
        self.queries += 1;
        if let Some(r) = rank {
            self.top1 += usize::from(r == 1);
            self.top5 += usize::from(r <= 5);
            self.rr += 1.0 / r as f64;
        }
    }
    pub fn top1_pct(&self) -> f64 {
        pct(self.top1, self.queries)
    }
    pub fn top5_pct(&self) -> f64 {
        pct(self.top5, self.queries)
    }
    pub fn mrr(&self) -> f64 {
        if self.queries == 0 {
            0.0
        } else {
            self.rr / self.queries as f64
        }
    }
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

/// Per kind ("all" for the whole set), and the cases that missed the top 5.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub kinds: BTreeMap<String, Figures>,
    pub misses: Vec<(Case, Option<usize>)>,
}

impl Report {
    pub fn add(&mut self, case: &Case, rank: Option<usize>) {
        self.kinds
            .entry(case.kind.clone())
            .or_default()
            .add_rank(rank);
        self.kinds.entry("all".into()).or_default().add_rank(rank);
        if rank.is_none_or(|r| r > 5) {
            self.misses.push((case.clone(), rank));
        }
    }

    /// A table: kind, queries, top-1 %, top-5 %, MRR.
    pub fn table(&self, label: &str) -> String {
        let mut s = String::new();
        for (k, f) in &self.kinds {
            s.push_str(&format!(
                "| {label} | {k} | {} | {:.1} | {:.1} | {:.3} |\n",
                f.queries,
                f.top1_pct(),
                f.top5_pct(),
                f.mrr()
            ));
        }
        s
    }
}

/// How many hits are looked at for the reciprocal rank.
pub const DEPTH: usize = 20;

/// Runs the cases whose expected document is in `docs` against the index.
pub fn run(docs: &[Doc], f: &Fields, index: &Index, cases: &[Case]) -> Result<Report> {
    let ids: HashMap<&str, u64> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.as_str(), i as u64 + 1))
        .collect();
    let reader = index
        .reader()
        .map_err(|e| Error::internal(format!("index: {e}")))?;
    let searcher = reader.searcher();
    let mut report = Report::default();
    for case in cases {
        let Some(&want) = ids.get(case.expected.as_str()) else {
            continue;
        };
        let req = SearchRequest {
            query: case.query.clone(),
            limit: DEPTH,
            ..SearchRequest::default()
        };
        let ranked = rank(f, &searcher, &searcher, &req, Access::Public)?;
        let mut found = None;
        for (i, (_, addr)) in ranked.top.iter().enumerate() {
            let doc: TantivyDocument = searcher
                .doc(*addr)
                .map_err(|e| Error::internal(format!("index: {e}")))?;
            use tantivy::schema::Value;
            let id = doc.get_first(f.doc_id).and_then(|v| v.as_u64());
            if id == Some(want) {
                found = Some(i + 1);
                break;
            }
        }
        report.add(case, found);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_count_ranks() {
        let mut f = Figures::default();
        for r in [Some(1), Some(3), Some(7), None] {
            f.add_rank(r);
        }
        assert_eq!((f.queries, f.top1, f.top5), (4, 1, 2));
        assert!((f.mrr() - (1.0 + 1.0 / 3.0 + 1.0 / 7.0) / 4.0).abs() < 1e-9);
    }

    #[test]
    fn query_set_lines_are_checked() {
        let cases = parse_cases("# c\n\nbase\tohver\tkars-1.txt\n").unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].expected, "kars-1.txt");
        let e = parse_cases("base\tohver\n").unwrap_err().to_string();
        assert!(e.contains("rida 1"), "{e}");
    }
}
