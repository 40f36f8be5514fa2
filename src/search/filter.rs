//! Metadata filters read from fast fields (columns) as candidates are matched.
//!
//! A filter such as "series 9-13" matches a fifth of the register: intersecting
//! the words' posting lists with its posting list costs a skip-list seek and often
//! a block decode per candidate, more than the words themselves. When the query
//! has words, their (short) lists drive and each candidate's series, type,
//! direction, restriction and date are read from columns instead, as Lucene does
//! with doc values for a sparse lead query. Without words the filters stay posting
//! lists (see `query::rank`), which are then the short side.

use tantivy::columnar::Column;
use tantivy::query::{EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader, TERMINATED};

use super::query::Allowed;
use super::schema::{KIND_FULL, KIND_MASKED};

/// One condition on a single-valued fast field.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// A text (STRING | FAST) field equals the value.
    Str { field: String, value: String },
    /// A u64 field equals the value.
    U64 { field: String, value: u64 },
    /// An i64 field lies in the inclusive range.
    I64Range {
        field: String,
        lo: Option<i64>,
        hi: Option<i64>,
    },
    /// A staff member's view of the staff index: public documents in full,
    /// restricted ones in full where allowed and masked elsewhere (the same rule
    /// as `query::access_clause`, read from columns).
    Visible(Allowed),
}

/// The column names the visibility condition reads.
const KIND: &str = "kind";
const RESTRICTED: &str = "restricted";
const RESPONSIBLE: &str = "responsible";
const UNIT: &str = "unit";
const THREAD: &str = "thread_id";
const DOC: &str = "doc_id";

/// [`Cond::Visible`] resolved for one segment.
struct Visibility {
    kind: Column<u64>,
    /// Ordinals of "full" and "masked" in this segment (None: absent).
    full: Option<u64>,
    masked: Option<u64>,
    restricted: Column<u64>,
    responsible: Option<(Column<u64>, u64)>,
    units: Option<(Column<u64>, Vec<u64>)>,
    thread: Column<u64>,
    threads: Vec<u64>,
    doc: Column<u64>,
    docs: Vec<u64>,
}

impl Visibility {
    fn resolve(a: &Allowed, reader: &SegmentReader) -> tantivy::Result<Option<Visibility>> {
        let ff = reader.fast_fields();
        let Some(kind) = ff.str(KIND)? else {
            return Ok(None);
        };
        let ord_of = |col: &tantivy::columnar::StrColumn, v: &str| col.dictionary().term_ord(v);
        let responsible = match (&a.user, ff.str(RESPONSIBLE)?) {
            (Some(u), Some(col)) => ord_of(&col, u)?.map(|o| (col.ords().clone(), o)),
            _ => None,
        };
        let units = match ff.str(UNIT)? {
            Some(col) if !a.units.is_empty() => {
                let mut ords = Vec::new();
                for u in &a.units {
                    ords.extend(ord_of(&col, u)?);
                }
                Some((col.ords().clone(), ords))
            }
            _ => None,
        };
        let mut threads: Vec<u64> = a.threads.iter().map(|t| *t as u64).collect();
        threads.sort_unstable();
        let mut docs: Vec<u64> = a.docs.iter().map(|d| *d as u64).collect();
        docs.sort_unstable();
        Ok(Some(Visibility {
            full: ord_of(&kind, KIND_FULL)?,
            masked: ord_of(&kind, KIND_MASKED)?,
            kind: kind.ords().clone(),
            restricted: ff.u64(RESTRICTED)?,
            responsible,
            units,
            thread: ff.u64(THREAD)?,
            threads,
            doc: ff.u64(DOC)?,
            docs,
        }))
    }

    #[inline]
    fn allowed(&self, doc: DocId) -> bool {
        let has = |col: &Column<u64>, set: &[u64]| {
            !set.is_empty()
                && col
                    .first(doc)
                    .is_some_and(|v| set.binary_search(&v).is_ok())
        };
        self.responsible
            .as_ref()
            .is_some_and(|(c, o)| c.first(doc) == Some(*o))
            || self
                .units
                .as_ref()
                .is_some_and(|(c, os)| c.first(doc).is_some_and(|v| os.contains(&v)))
            || has(&self.thread, &self.threads)
            || has(&self.doc, &self.docs)
    }

    #[inline]
    fn holds(&self, doc: DocId) -> bool {
        let kind = self.kind.first(doc);
        if kind.is_some() && kind == self.full {
            self.restricted.first(doc) == Some(0) || self.allowed(doc)
        } else if kind.is_some() && kind == self.masked {
            !self.allowed(doc)
        } else {
            false
        }
    }
}

/// A condition resolved for one segment.
enum SegCond {
    Ord(Column<u64>, u64),
    U64(Column<u64>, u64),
    I64(Column<i64>, i64, i64),
    Visible(Box<Visibility>),
}

impl SegCond {
    #[inline]
    fn holds(&self, doc: DocId) -> bool {
        match self {
            SegCond::Ord(c, ord) | SegCond::U64(c, ord) => c.first(doc) == Some(*ord),
            SegCond::I64(c, lo, hi) => c.first(doc).is_some_and(|v| v >= *lo && v <= *hi),
            SegCond::Visible(v) => v.holds(doc),
        }
    }
}

/// The conditions resolved for one segment; None when no document of it can meet them.
fn resolve(conds: &[Cond], reader: &SegmentReader) -> tantivy::Result<Option<Vec<SegCond>>> {
    let ff = reader.fast_fields();
    let mut out = Vec::with_capacity(conds.len());
    for c in conds {
        let sc = match c {
            Cond::Str { field, value } => {
                let Some(col) = ff.str(field)? else {
                    return Ok(None);
                };
                let Some(ord) = col.dictionary().term_ord(value)? else {
                    return Ok(None);
                };
                SegCond::Ord(col.ords().clone(), ord)
            }
            Cond::U64 { field, value } => SegCond::U64(ff.u64(field)?, *value),
            Cond::I64Range { field, lo, hi } => SegCond::I64(
                ff.i64(field)?,
                lo.unwrap_or(i64::MIN),
                hi.unwrap_or(i64::MAX),
            ),
            Cond::Visible(a) => match Visibility::resolve(a, reader)? {
                Some(v) => SegCond::Visible(Box::new(v)),
                None => return Ok(None),
            },
        };
        out.push(sc);
    }
    Ok(Some(out))
}

/// A query matching the documents that meet every condition, read from columns.
/// In an intersection it is never the lead: it only answers whether a candidate
/// of the words' lists meets the conditions (`seek_danger`), before that
/// candidate is scored. It scores nothing.
#[derive(Debug, Clone)]
pub struct FilterQuery {
    pub conds: Vec<Cond>,
}

impl Query for FilterQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(FilterWeight {
            conds: self.conds.clone(),
        }))
    }
}

struct FilterWeight {
    conds: Vec<Cond>,
}

impl Weight for FilterWeight {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(match resolve(&self.conds, reader)? {
            None => Box::new(EmptyScorer),
            Some(conds) => Box::new(FilterScorer::new(conds, reader.max_doc())),
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut s = self.scorer(reader, 1.0)?;
        if s.seek(doc) == doc {
            Ok(Explanation::new("metadata filter", 0.0))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not meet the filter"
            )))
        }
    }
}

struct FilterScorer {
    conds: Vec<SegCond>,
    doc: DocId,
    max_doc: DocId,
}

impl FilterScorer {
    fn new(conds: Vec<SegCond>, max_doc: DocId) -> FilterScorer {
        let mut s = FilterScorer {
            conds,
            doc: 0,
            max_doc,
        };
        s.doc = s.scan(0);
        s
    }

    #[inline]
    fn holds(&self, doc: DocId) -> bool {
        self.conds.iter().all(|c| c.holds(doc))
    }

    /// The first document from `from` on that meets the conditions.
    fn scan(&self, from: DocId) -> DocId {
        (from..self.max_doc)
            .find(|d| self.holds(*d))
            .unwrap_or(TERMINATED)
    }
}

impl DocSet for FilterScorer {
    fn advance(&mut self) -> DocId {
        if self.doc != TERMINATED {
            self.doc = self.scan(self.doc + 1);
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if target > self.doc {
            self.doc = if target >= self.max_doc {
                TERMINATED
            } else {
                self.scan(target)
            };
        }
        self.doc
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        if target >= self.max_doc {
            return SeekDangerResult::SeekLowerBound(TERMINATED);
        }
        if self.holds(target) {
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
        self.max_doc
    }

    /// Dearer than any list: never the lead of an intersection.
    fn cost(&self) -> u64 {
        u64::from(self.max_doc) * 2 + 1
    }
}

impl Scorer for FilterScorer {
    fn score(&mut self) -> Score {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::Count;
    use tantivy::query::{BooleanQuery, Occur, TermQuery};
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
        let s = |v: &str| Cond::Str {
            field: "series".into(),
            value: v.into(),
        };
        let odd = Cond::U64 {
            field: "flag".into(),
            value: 1,
        };
        let range = Cond::I64Range {
            field: "day".into(),
            lo: Some(10),
            hi: Some(119),
        };
        type Row<'a> = (&'a str, u64, i64, &'a str);
        type Expect = Box<dyn Fn(&Row<'_>) -> bool>;
        let cases: Vec<(Vec<Cond>, Expect)> = vec![
            (vec![], Box::new(|_| true)),
            (vec![s("9-13")], Box::new(|d| d.0 == "9-13")),
            (vec![s("no-such-series")], Box::new(|_| false)),
            (
                vec![s("9-13"), odd.clone()],
                Box::new(|d| d.0 == "9-13" && d.1 == 1),
            ),
            (
                vec![s("9-14"), odd],
                Box::new(|d| d.0 == "9-14" && d.1 == 1),
            ),
            (vec![range.clone()], Box::new(|d| (10..=119).contains(&d.2))),
            (
                vec![range, s("9-13")],
                Box::new(|d| (10..=119).contains(&d.2) && d.0 == "9-13"),
            ),
        ];
        for (conds, expect) in cases {
            let alone = searcher
                .search(
                    &FilterQuery {
                        conds: conds.clone(),
                    },
                    &Count,
                )
                .unwrap();
            assert_eq!(
                alone,
                docs.iter().filter(|d| expect(d)).count(),
                "{conds:?}"
            );
            // In an intersection with a list, as the search uses it.
            let both = BooleanQuery::new(vec![
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(word, "kolm"),
                        IndexRecordOption::Basic,
                    )) as Box<dyn Query>,
                ),
                (
                    Occur::Must,
                    Box::new(FilterQuery {
                        conds: conds.clone(),
                    }),
                ),
            ]);
            assert_eq!(
                searcher.search(&both, &Count).unwrap(),
                docs.iter().filter(|d| d.3 == "kolm" && expect(d)).count(),
                "{conds:?} and kolm"
            );
        }
    }
}
