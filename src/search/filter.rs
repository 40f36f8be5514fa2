//! Metadata filters as cached bitsets of each segment.
//!
//! A filter such as "series 9-13" matches a fifth of the register: intersecting
//! the words' posting lists with its posting list costs a skip-list seek and often
//! a block decode per candidate, more than the words themselves. Segments never
//! change, so each segment's documents meeting a set of filters are computed once
//! from their posting lists into a bitset, kept in a bounded cache (as Lucene's
//! query cache keeps filter clauses), and a candidate of the words' lists is then
//! checked with one bit. The first search with a filter pays for the bitset (a
//! fraction of a millisecond per million documents).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use tantivy::index::SegmentId;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyScorer, EnableScoring, Explanation, Occur, Query, Scorer, Weight,
};
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader, TERMINATED};

/// A segment's documents as bits.
pub struct Bits {
    words: Vec<u64>,
    max_doc: DocId,
}

impl Bits {
    fn of(scorer: &mut dyn Scorer, max_doc: DocId) -> Bits {
        let mut words = vec![0u64; (max_doc as usize).div_ceil(64)];
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            words[doc as usize / 64] |= 1 << (doc % 64);
            doc = scorer.advance();
        }
        Bits { words, max_doc }
    }

    #[inline]
    pub fn contains(&self, doc: DocId) -> bool {
        doc < self.max_doc && self.words[doc as usize / 64] & (1 << (doc % 64)) != 0
    }

    /// The set as 64-bit words, document `d` at bit `d % 64` of word `d / 64`.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The first document from `from` on, or TERMINATED.
    fn next_from(&self, from: DocId) -> DocId {
        if from >= self.max_doc {
            return TERMINATED;
        }
        let mut i = from as usize / 64;
        let mut w = self.words[i] & (!0u64 << (from % 64));
        loop {
            if w != 0 {
                return (i * 64) as DocId + w.trailing_zeros();
            }
            i += 1;
            if i >= self.words.len() {
                return TERMINATED;
            }
            w = self.words[i];
        }
    }

    fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

/// The cache of filter bitsets: segment and filters → bits, least recently used
/// dropped beyond the budget.
struct Cache {
    entries: HashMap<(SegmentId, String), (Arc<Bits>, u64)>,
    bytes: usize,
    clock: u64,
}

/// Memory the cache may hold: 256 filters of a million-document segment.
const CACHE_BYTES: usize = 32 << 20;

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(|| {
        Mutex::new(Cache {
            entries: HashMap::new(),
            bytes: 0,
            clock: 0,
        })
    })
}

impl Cache {
    fn get(&mut self, key: &(SegmentId, String)) -> Option<Arc<Bits>> {
        self.clock += 1;
        let now = self.clock;
        self.entries.get_mut(key).map(|(b, used)| {
            *used = now;
            b.clone()
        })
    }

    fn put(&mut self, key: (SegmentId, String), bits: Arc<Bits>) {
        self.clock += 1;
        self.bytes += bits.bytes();
        if let Some((old, _)) = self.entries.insert(key, (bits, self.clock)) {
            self.bytes -= old.bytes();
        }
        while self.bytes > CACHE_BYTES && self.entries.len() > 1 {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((b, _)) = self.entries.remove(&oldest) {
                self.bytes -= b.bytes();
            }
        }
    }
}

/// A query matching the documents that meet every filter: their posting lists,
/// computed once per segment into a cached bitset. In an intersection it answers
/// whether a candidate of the words' lists passes with one bit. It scores nothing.
pub struct FilterQuery {
    key: String,
    postings: Box<dyn Query>,
}

impl FilterQuery {
    /// The documents every one of `postings` matches. The queries' own
    /// description is the cache key (with the segment).
    pub fn new(postings: Vec<Box<dyn Query>>) -> FilterQuery {
        let key = format!("{postings:?}");
        let postings: Box<dyn Query> = if postings.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(BooleanQuery::new(
                postings.into_iter().map(|q| (Occur::Must, q)).collect(),
            ))
        };
        FilterQuery { key, postings }
    }

    /// The documents of `reader`'s segment that meet every filter (cached).
    pub fn segment_bits(&self, reader: &SegmentReader) -> tantivy::Result<Arc<Bits>> {
        cached_bits(&self.key, reader, || {
            let disabled = EnableScoring::disabled_from_schema(reader.schema());
            self.postings.weight(disabled)?.scorer(reader, 1.0)
        })
    }
}

impl Clone for FilterQuery {
    fn clone(&self) -> Self {
        FilterQuery {
            key: self.key.clone(),
            postings: self.postings.box_clone(),
        }
    }
}

impl std::fmt::Debug for FilterQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FilterQuery({})", self.key)
    }
}

impl Query for FilterQuery {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let disabled = EnableScoring::disabled_from_schema(scoring.schema());
        Ok(Box::new(FilterWeight {
            key: self.key.clone(),
            postings: self.postings.weight(disabled)?,
        }))
    }
}

struct FilterWeight {
    key: String,
    postings: Box<dyn Weight>,
}

impl FilterWeight {
    fn bits(&self, reader: &SegmentReader) -> tantivy::Result<Arc<Bits>> {
        cached_bits(&self.key, reader, || self.postings.scorer(reader, 1.0))
    }
}

/// The bits of `reader`'s segment under `key`: from the cache, or computed by
/// the scorer `postings` makes (only on a miss) and cached.
fn cached_bits(
    key: &str,
    reader: &SegmentReader,
    postings: impl FnOnce() -> tantivy::Result<Box<dyn Scorer>>,
) -> tantivy::Result<Arc<Bits>> {
    let key = (reader.segment_id(), key.to_string());
    if let Some(b) = cache().lock().expect("filter cache lock").get(&key) {
        return Ok(b);
    }
    let mut scorer = postings()?;
    let bits = Arc::new(Bits::of(scorer.as_mut(), reader.max_doc()));
    cache()
        .lock()
        .expect("filter cache lock")
        .put(key, bits.clone());
    Ok(bits)
}

impl Weight for FilterWeight {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let bits = self.bits(reader)?;
        let first = bits.next_from(0);
        if first == TERMINATED {
            return Ok(Box::new(EmptyScorer));
        }
        Ok(Box::new(BitsScorer { bits, doc: first }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if self.bits(reader)?.contains(doc) {
            Ok(Explanation::new("metadata filter", 0.0))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not meet the filter"
            )))
        }
    }
}

struct BitsScorer {
    bits: Arc<Bits>,
    doc: DocId,
}

impl DocSet for BitsScorer {
    fn advance(&mut self) -> DocId {
        if self.doc != TERMINATED {
            self.doc = self.bits.next_from(self.doc + 1);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if target > self.doc {
            self.doc = self.bits.next_from(target);
        }
        self.doc
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        if target >= self.bits.max_doc {
            SeekDangerResult::SeekLowerBound(TERMINATED)
        } else if self.bits.contains(target) {
            self.doc = target;
            SeekDangerResult::Found
        } else {
            SeekDangerResult::SeekLowerBound(target + 1)
        }
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.bits.max_doc
    }

    /// Dearer than any list: never the lead of an intersection.
    fn cost(&self) -> u64 {
        u64::from(self.bits.max_doc) * 2 + 1
    }
}

impl Scorer for BitsScorer {
    fn score(&mut self) -> Score {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::Count;
    use tantivy::query::{BooleanQuery, Occur, RangeQuery, TermQuery};
    use tantivy::schema::{IndexRecordOption, Schema, FAST, INDEXED, STRING};
    use tantivy::{doc, Index, Term};

    #[test]
    fn filter_query_matches_exactly_the_documents_meeting_every_condition() {
        let mut b = Schema::builder();
        let series = b.add_text_field("series", STRING | FAST);
        let flag = b.add_u64_field("flag", INDEXED | FAST);
        let day = b.add_i64_field("day", INDEXED | FAST);
        let word = b.add_text_field("word", STRING);
        let index = Index::create_in_ram(b.build());
        let mut w: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        let docs: Vec<(&str, u64, i64, &str)> = (0..300i64)
            .map(|i| {
                let s = if i % 4 == 0 { "9-13" } else { "9-14" };
                let t = if i % 3 == 0 { "kolm" } else { "muu" };
                (s, (i % 2) as u64, i, t)
            })
            .collect();
        for (s, f, d, t) in &docs {
            w.add_document(doc!(series => *s, flag => *f, day => *d, word => *t))
                .unwrap();
        }
        w.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let s = |v: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(series, v),
                IndexRecordOption::Basic,
            ))
        };
        let odd = || -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_u64(flag, 1),
                IndexRecordOption::Basic,
            ))
        };
        let range = || -> Box<dyn Query> {
            Box::new(RangeQuery::new(
                std::ops::Bound::Included(Term::from_field_i64(day, 10)),
                std::ops::Bound::Included(Term::from_field_i64(day, 119)),
            ))
        };
        type Row<'a> = (&'a str, u64, i64, &'a str);
        type Expect = Box<dyn Fn(&Row<'_>) -> bool>;
        let cases = || -> Vec<(Vec<Box<dyn Query>>, Expect)> {
            vec![
                (vec![], Box::new(|_| true)),
                (vec![s("9-13")], Box::new(|d| d.0 == "9-13")),
                (vec![s("no-such-series")], Box::new(|_| false)),
                (
                    vec![s("9-13"), odd()],
                    Box::new(|d| d.0 == "9-13" && d.1 == 1),
                ),
                (
                    vec![s("9-14"), odd()],
                    Box::new(|d| d.0 == "9-14" && d.1 == 1),
                ),
                (vec![range()], Box::new(|d| (10..=119).contains(&d.2))),
                (
                    vec![range(), s("9-13")],
                    Box::new(|d| (10..=119).contains(&d.2) && d.0 == "9-13"),
                ),
            ]
        };
        // Twice: the second time from the cache.
        for (filters, expect) in cases().into_iter().chain(cases()) {
            let name = format!("{filters:?}");
            let copy = || filters.iter().map(|q| q.box_clone()).collect::<Vec<_>>();
            let alone = searcher.search(&FilterQuery::new(copy()), &Count).unwrap();
            assert_eq!(alone, docs.iter().filter(|d| expect(d)).count(), "{name}");
            // In an intersection with a list, as the search uses it.
            let both = BooleanQuery::new(vec![
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(word, "kolm"),
                        IndexRecordOption::Basic,
                    )) as Box<dyn Query>,
                ),
                (Occur::Must, Box::new(FilterQuery::new(copy()))),
            ]);
            assert_eq!(
                searcher.search(&both, &Count).unwrap(),
                docs.iter().filter(|d| d.3 == "kolm" && expect(d)).count(),
                "{name} and kolm"
            );
        }
    }
}
