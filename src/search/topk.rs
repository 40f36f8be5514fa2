//! The top of a ranked search and its exact count in one pass, for the query
//! shape nearly every search has: a conjunction of words (each a weighted union
//! of terms in the text field: its stems, usually one, and the compound-part
//! terms `~part` weighted below them), the metadata filters as a cached bitset,
//! and the words' optional boosts (exact spelling, title, codes).
//!
//! tantivy answers that shape with a generic intersection that scores every
//! match, seeks every boost's list for it and hands it to two collectors. Here
//! the rarest word's list drives; a candidate is checked against the filter's bit
//! first, then the other words' lists; it is counted; and it is scored only when
//! it can still enter the page: once the page is full, a candidate whose upper
//! bound (the words' block-max scores plus the boosts' maxima) does not beat the
//! page's lowest score is counted and passed by, and the boosts' lists are
//! sought for a candidate, the largest maximum first, only while its bound
//! (its words' scores plus the boosts' maxima not yet replaced by their
//! scores) still beats it. When every word is a union of several terms (a
//! single word that also occurs as a compound part), the smallest union drives:
//! its lists are read term at a time into a window of [`WINDOW`] documents'
//! bits and frequencies, without a branch per document (as Lucene's bulk
//! boolean scorer reads them), the filter applied to the window's bits 64
//! documents at a time; each candidate is scored, only when it can still enter
//! the page, as the sum of its terms (what tantivy's union scores), and the
//! lists' block maxima in the window bound it. The relaxed plan ([`run_some`])
//! reads every word's lists a window at a time too, into score accumulators.
//! The scores are tantivy's BM25 with the
//! same statistics and boosts as the generic plan, so both plans give the same
//! page and the same count (a test compares them on random corpora).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::BlockSegmentPostings;
use tantivy::query::{Bm25StatisticsProvider, Bm25Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentReader, Term, TERMINATED};

use super::filter::{Bits, FilterQuery};
use crate::error::{Error, Result};

/// Terms that add to a match's score, with their boosts.
pub type Boosts = Vec<(Term, f32)>;

/// A query the one-pass plan can answer.
pub struct Plan {
    /// The words every match must hold: each a union of weighted terms (its
    /// stems, one usually, sometimes one per language, weight 1; its compound
    /// parts' terms below them), scored as the sum of the terms it holds.
    pub must: Vec<Vec<(Term, Score)>>,
    /// Optional terms that add to a match's score, with their boosts.
    pub boosts: Boosts,
    /// The metadata filters (none: every document).
    pub filter: Option<FilterQuery>,
}

/// A page entry: ordered so that the heap's top is the entry a better one evicts
/// (the lowest score; among equal scores the latest document).
#[derive(Clone, Copy)]
struct Entry {
    score: Score,
    seg: u32,
    doc: DocId,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    /// Greater = worse: a lower score, then a later address.
    fn cmp(&self, o: &Self) -> Ordering {
        o.score
            .total_cmp(&self.score)
            .then((self.seg, self.doc).cmp(&(o.seg, o.doc)))
    }
}

/// The page of `k` best entries.
struct Page {
    k: usize,
    heap: BinaryHeap<Entry>,
}

impl Page {
    /// The page's hits, best first, from `offset`.
    fn hits(self, offset: usize, limit: usize) -> Vec<(Score, DocAddress)> {
        let mut top: Vec<Entry> = self.heap.into_vec();
        top.sort();
        top.into_iter()
            .skip(offset)
            .take(limit)
            .map(|e| (e.score, DocAddress::new(e.seg, e.doc)))
            .collect()
    }

    /// The score a candidate must beat once the page is full.
    fn threshold(&self) -> Option<Score> {
        (self.heap.len() >= self.k).then(|| self.heap.peek().map_or(Score::MIN, |e| e.score))
    }

    fn push(&mut self, e: Entry) {
        if self.heap.len() < self.k {
            self.heap.push(e);
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if e < *worst {
                *worst = e;
            }
        }
    }
}

/// A term's list in one segment with what scores it: the position in the
/// current block of 128 documents (as tantivy's `SegmentPostings` walks it;
/// past the end every document reads TERMINATED).
struct Cursor<'w> {
    block: BlockSegmentPostings,
    cur: usize,
    bm25: &'w Bm25Weight,
    norms: FieldNormReader,
}

const BLOCK: usize = 128;

impl<'w> Cursor<'w> {
    fn open(
        reader: &SegmentReader,
        term: &Term,
        bm25: &'w Bm25Weight,
    ) -> Result<Option<Cursor<'w>>> {
        let field = term.field();
        let inv = reader.inverted_index(field).map_err(search_err)?;
        let Some(block) = inv
            .read_block_postings(term, IndexRecordOption::WithFreqs)
            .map_err(|e| Error::internal(format!("search failed: cannot read postings: {e}")))?
        else {
            return Ok(None);
        };
        if block.doc_freq() == 0 {
            return Ok(None);
        }
        Ok(Some(Cursor {
            block,
            cur: 0,
            bm25,
            norms: reader.get_fieldnorms_reader(field).map_err(search_err)?,
        }))
    }

    #[inline]
    fn doc(&self) -> DocId {
        self.block.doc(self.cur)
    }

    /// The first document from `target` on (the cursor never moves back).
    #[inline]
    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc() >= target {
            return self.doc();
        }
        self.cur = (self.cur + 1).min(BLOCK - 1);
        if self.doc() >= target {
            return self.doc();
        }
        self.cur = self.block.seek(target);
        self.doc()
    }

    #[inline]
    fn score(&self, doc: DocId) -> Score {
        self.bm25
            .score(self.norms.fieldnorm_id(doc), self.block.freq(self.cur))
    }

    /// The highest score of the current block (see [`run`] on when it is exact).
    fn block_max(&mut self) -> Score {
        self.block.block_max_score(&self.norms, self.bm25)
    }

    /// Calls `f` with each document before `hi` from the cursor's on, the
    /// cursor standing on it, and leaves the cursor on the first from `hi`.
    #[inline]
    fn drain_before(&mut self, hi: DocId, f: impl FnMut(DocId, &Self)) {
        self.drain_blocks_before(hi, |_| {}, f);
    }

    /// [`Cursor::drain_before`], calling `block` first in each block that
    /// holds a document before `hi` (the cursor in that block).
    #[inline]
    fn drain_blocks_before(
        &mut self,
        hi: DocId,
        mut block: impl FnMut(&mut Self),
        mut f: impl FnMut(DocId, &Self),
    ) {
        loop {
            let n = self.block.block_len();
            if n == 0 {
                return;
            }
            if self.cur < n {
                if self.block.doc(self.cur) >= hi {
                    return;
                }
                block(self);
                while self.cur < n {
                    let d = self.block.doc(self.cur);
                    if d >= hi {
                        return;
                    }
                    f(d, self);
                    self.cur += 1;
                }
            }
            self.block.advance();
            self.cur = 0;
        }
    }

    /// The last document of the current block.
    fn block_last(&self) -> DocId {
        match self.block.block_len() {
            0 => TERMINATED,
            n => self.block.doc(n - 1),
        }
    }
}

/// A term's BM25 weight with `stats`, boosted.
fn term_weight(stats: &dyn Bm25StatisticsProvider, t: &Term, boost: Score) -> Result<Bm25Weight> {
    Ok(Bm25Weight::for_terms(stats, std::slice::from_ref(t))
        .map_err(search_err)?
        .boost_by(boost))
}

/// The weights of boosted terms.
fn weights(stats: &dyn Bm25StatisticsProvider, ts: &[(Term, Score)]) -> Result<Vec<Bm25Weight>> {
    ts.iter().map(|(t, b)| term_weight(stats, t, *b)).collect()
}

fn search_err(e: tantivy::TantivyError) -> Error {
    Error::internal(format!("search failed: {e}"))
}

/// Runs `plan` on `searcher`, scoring with `stats` (`own_stats`: the searcher's
/// own statistics): the page of `limit` (score, address) pairs from `offset`,
/// best first, and the exact number of matches.
pub fn run(
    plan: &Plan,
    searcher: &Searcher,
    stats: &dyn Bm25StatisticsProvider,
    limit: usize,
    offset: usize,
    own_stats: bool,
) -> Result<(Vec<(Score, DocAddress)>, u64)> {
    let must_w = plan
        .must
        .iter()
        .map(|g| weights(stats, g))
        .collect::<Result<Vec<_>>>()?;
    let boost_w = weights(stats, &plan.boosts)?;
    let k = (limit + offset).max(1);
    let mut page = Page {
        k,
        heap: BinaryHeap::with_capacity(k + 1),
    };
    let mut total = 0u64;
    // tantivy keeps, for each block of a list, the (length, frequency) pair that
    // scores highest with the segment's own average length: the bound is exact
    // only when that is the average the scores use, i.e. one segment scored with
    // its own statistics. Otherwise every candidate is scored.
    let bounds = own_stats && searcher.segment_readers().len() == 1;
    'segments: for (seg, reader) in searcher.segment_readers().iter().enumerate() {
        // Each word's cursors: a word none of whose terms is in the segment
        // leaves it without matches.
        let mut must: Vec<Vec<Cursor>> = Vec::with_capacity(must_w.len());
        for (g, ws) in plan.must.iter().zip(&must_w) {
            let mut group = Vec::with_capacity(g.len());
            for ((t, _), w) in g.iter().zip(ws) {
                if let Some(c) = Cursor::open(reader, t, w)? {
                    group.push(c);
                }
            }
            if group.is_empty() {
                continue 'segments;
            }
            must.push(group);
        }
        // The lead is the rarest word of a single term; failing one, the word
        // whose terms' lists are the shortest together (a union).
        let df = |g: &Vec<Cursor>| g.iter().map(|c| u64::from(c.block.doc_freq())).sum::<u64>();
        let lead_at = (0..must.len())
            .filter(|&i| must[i].len() == 1)
            .min_by_key(|&i| df(&must[i]))
            .or_else(|| (0..must.len()).min_by_key(|&i| df(&must[i])));
        let Some(lead_at) = lead_at else {
            // A plan without words: nothing matches.
            continue 'segments;
        };
        let mut lead = must.swap_remove(lead_at);
        let others = &mut must;
        others.sort_by_key(df);
        let mut boosts = Vec::with_capacity(boost_w.len());
        for ((t, _), w) in plan.boosts.iter().zip(&boost_w) {
            if let Some(c) = Cursor::open(reader, t, w)? {
                boosts.push(c);
            }
        }
        let bits = match &plan.filter {
            Some(f) => Some(f.segment_bits(reader).map_err(search_err)?),
            None => None,
        };
        let alive = reader.alive_bitset();
        let boost_max: Vec<Score> = boosts.iter().map(|b| b.bm25.max_score()).collect();
        let boosts_max: Score = boost_max.iter().sum();
        let mut boost_order: Vec<usize> = (0..boosts.len()).collect();
        boost_order.sort_by(|&a, &b| boost_max[b].total_cmp(&boost_max[a]));
        let mut boost_sc = vec![0.0 as Score; boosts.len()];
        let keep = |d: DocId| {
            bits.as_ref().is_none_or(|b| b.contains(d)) & alive.is_none_or(|a| a.is_alive(d))
        };
        // The rarest word's list, a block of 128 documents at a time: first the
        // block's candidates that pass the filter (without a branch per document:
        // a fifth pass a series filter, in no order a branch predictor could
        // learn), then each candidate against the other words. A union lead is
        // merged into blocks of up to 128 candidates that pass the filter, each
        // scored as it is merged.
        let single = lead.len() == 1;
        // A single list's block, or a union's window (and its lists' bits).
        let len = if single { BLOCK } else { WINDOW };
        let mut docs = vec![0 as DocId; len];
        let mut cand = vec![0u16; len];
        let mut lead_win: Vec<WinList> = if single {
            Vec::new()
        } else {
            lead.iter().map(|_| WinList::new()).collect()
        };
        let mut held = WinBits::default();
        let mut lo: DocId = 0;
        loop {
            let (m, lead_max) = if single {
                let lead = &mut lead[0];
                let n = lead.block.docs().len();
                if n == 0 {
                    break;
                }
                docs[..n].copy_from_slice(lead.block.docs());
                let mut m = 0;
                for (i, &d) in docs[..n].iter().enumerate() {
                    cand[m] = i as u16;
                    m += usize::from(keep(d));
                }
                (m, if bounds { lead.block_max() } else { Score::MAX })
            } else {
                // A union: its terms' lists read a window of documents at a
                // time, term at a time (see [`WinList`]), the filter applied
                // to the window's bits; a candidate is scored (the sum of its
                // terms' scores, in the terms' order) only when it can still
                // enter the page, and the sum of the lists' maxima in the
                // window bounds it.
                let first = lead.iter().map(Cursor::doc).min().unwrap_or(TERMINATED);
                if first == TERMINATED {
                    break;
                }
                lo = first - first % 64;
                let hi = lo.saturating_add(WINDOW as DocId);
                held.clear();
                let mut bound = 0.0 as Score;
                for (c, w) in lead.iter_mut().zip(lead_win.iter_mut()) {
                    w.fill(c, lo, hi, bounds);
                    held.or(&w.bits);
                    bound += w.max;
                }
                held.filter(bits.as_deref(), lo);
                let mut m = 0;
                held.each(|j| {
                    let d = lo + j as DocId;
                    docs[m] = d;
                    cand[m] = m as u16;
                    m += usize::from(alive.is_none_or(|a| a.is_alive(d)));
                });
                if m == 0 {
                    if hi == TERMINATED {
                        break;
                    }
                    continue;
                }
                (m, bound)
            };
            // A union's bound is its lists' maxima in the window (the term's
            // maximum where the blocks' are not exact); a single list's is its
            // block's (see `bounds`).
            let threshold = page.threshold().filter(|_| bounds || !single);
            if others.is_empty() && threshold.is_some_and(|t| lead_max + boosts_max <= t) {
                // No document of this block can enter the page: count them.
                total += m as u64;
                if single {
                    lead[0].block.advance();
                }
                continue;
            }
            // Block-max bound of the other words, valid up to `others_end`
            // (None: not computed yet in this block).
            let mut others_end: Option<DocId> = None;
            let mut others_max: Score = Score::MAX;
            'cands: for &i in &cand[..m] {
                let i = usize::from(i);
                let doc = docs[i];
                for g in others.iter_mut() {
                    let mut found = false;
                    for c in g.iter_mut() {
                        found |= c.seek(doc) == doc;
                    }
                    if !found {
                        continue 'cands;
                    }
                }
                total += 1;
                if let Some(threshold) = page.threshold().filter(|_| bounds) {
                    if others_end.is_none_or(|end| doc > end) {
                        let mut end = TERMINATED;
                        others_max = 0.0;
                        for g in others.iter_mut() {
                            if let [c] = &mut g[..] {
                                end = end.min(c.block_last());
                                others_max += c.block_max();
                            } else {
                                // Cursors of a word of several terms may stand in
                                // other blocks: their global maxima bound them.
                                others_max += g.iter().map(|c| c.bm25.max_score()).sum::<Score>();
                            }
                        }
                        others_end = Some(end);
                    }
                    if lead_max + others_max + boosts_max <= threshold {
                        continue;
                    }
                }
                let mut score = if single {
                    let l = &lead[0];
                    l.bm25.score(l.norms.fieldnorm_id(doc), l.block.freq(i))
                } else {
                    let j = (doc - lo) as usize;
                    let mut s = 0.0 as Score;
                    for (c, w) in lead.iter().zip(&lead_win) {
                        if w.bits.has(j) {
                            s += w.score(c, lo, j);
                        }
                    }
                    s
                };
                for c in others.iter().flatten() {
                    if c.doc() == doc {
                        score += c.score(doc);
                    }
                }
                // The boosts, the largest maximum first, each maximum replaced
                // by the boost's score as it is sought: once the page is full,
                // a candidate that cannot beat it is passed by (a margin for
                // the rounding of sums in another order). Summed in the plan's
                // order.
                match page.threshold() {
                    Some(t) => {
                        let mut bound = score + boosts_max;
                        if bound + bound.abs() * 1e-5 <= t {
                            continue;
                        }
                        for &b in &boost_order {
                            let c = &mut boosts[b];
                            let s = if c.seek(doc) == doc {
                                c.score(doc)
                            } else {
                                0.0
                            };
                            boost_sc[b] = s;
                            bound += s - boost_max[b];
                            if bound + bound.abs() * 1e-5 <= t {
                                continue 'cands;
                            }
                        }
                    }
                    None => {
                        for (c, s) in boosts.iter_mut().zip(boost_sc.iter_mut()) {
                            *s = if c.seek(doc) == doc {
                                c.score(doc)
                            } else {
                                0.0
                            };
                        }
                    }
                }
                for s in &boost_sc {
                    score += s;
                }
                page.push(Entry {
                    score,
                    seg: seg as u32,
                    doc,
                });
            }
            if single {
                lead[0].block.advance();
            }
        }
    }
    Ok((page.hits(offset, limit), total))
}

/// One word of a relaxed search (see [`run_some`]).
pub struct SomeWord {
    /// The terms that match the word (its stems, its compound parts below them),
    /// scored as their sum, as in [`Plan::must`].
    pub terms: Vec<(Term, Score)>,
    /// Terms that add to the word's score where it matched (exact spelling,
    /// title, codes).
    pub boosts: Boosts,
    /// Groups of terms that each add a constant where any of them is found
    /// (the word's own spellings in the text and in the title), matched or not.
    pub near: Vec<(Vec<Term>, Score)>,
}

/// A relaxed search the one-pass plan can answer: the documents that hold some
/// of the words but not all of them (their matches are the all-words search's).
pub struct SomePlan {
    pub words: Vec<SomeWord>,
    /// Added for each word a document matches.
    pub matched: Score,
    /// The metadata filters (none: every document).
    pub filter: Option<FilterQuery>,
}

/// Runs a relaxed search (`plan`) on `searcher`, scoring with `stats`: each
/// document that holds any of the words' terms (or their near spellings),
/// passes the filter and does not match every word is counted, and scored as
/// the sum over the words of (where the word matched) its terms' and boosts'
/// BM25 plus [`SomePlan::matched`], plus the constants of its near groups
/// found — what tantivy's boolean plan of the same query gives (a test
/// compares them). The page of `limit` from `offset`, best first, and the count.
///
/// The count needs every list decoded, so the lists are read term at a time,
/// a window of [`WINDOW`] documents at a time (as Lucene's bulk boolean
/// scorer does): each list's documents in the window that pass the filter
/// add their score to the window's accumulators and set their word's bit;
/// then the documents of some words but not all are counted and offered to
/// the page from the bits, without a seek or a merge per document. Windows
/// where no list has a document are skipped.
pub fn run_some(
    plan: &SomePlan,
    searcher: &Searcher,
    stats: &dyn Bm25StatisticsProvider,
    limit: usize,
    offset: usize,
) -> Result<(Vec<(Score, DocAddress)>, u64)> {
    let mut word_w = Vec::with_capacity(plan.words.len());
    for w in &plan.words {
        let near = w
            .near
            .iter()
            .map(|(g, _)| g.iter().map(|t| term_weight(stats, t, 1.0)).collect())
            .collect::<Result<Vec<Vec<_>>>>()?;
        word_w.push((weights(stats, &w.terms)?, weights(stats, &w.boosts)?, near));
    }
    let k = (limit + offset).max(1);
    let mut page = Page {
        k,
        heap: BinaryHeap::with_capacity(k + 1),
    };
    let mut total = 0u64;
    struct Word<'w> {
        /// Its terms' and boosts' lists, each with the near group its term is
        /// also in (a word's own spelling is often one of its terms, in the
        /// title one of its boosts: each list is read once).
        terms: Vec<(Cursor<'w>, Option<usize>)>,
        boosts: Vec<(Cursor<'w>, Option<usize>)>,
        /// Its near groups: the lists of their terms that are not the word's,
        /// the constant, and the window's documents that hold the group.
        near: Vec<(Vec<Cursor<'w>>, Score, WinBits)>,
    }
    // The window's accumulators: the score so far and the current word's, and
    // the documents some word (or a near spelling) holds, every word holds,
    // the current word holds, and one near group holds.
    let mut acc = vec![0.0 as Score; WINDOW];
    let mut wacc = vec![0.0 as Score; WINDOW];
    let (mut any, mut every) = (WinBits::default(), WinBits::default());
    let (mut held, mut touched) = (WinBits::default(), WinBits::default());
    for (seg, reader) in searcher.segment_readers().iter().enumerate() {
        let bits = match &plan.filter {
            Some(f) => Some(f.segment_bits(reader).map_err(search_err)?),
            None => None,
        };
        let pass = |d: DocId| bits.as_ref().is_none_or(|b| b.contains(d));
        let alive = reader.alive_bitset();
        let mut words = Vec::with_capacity(plan.words.len());
        for (w, (tw, bw, nw)) in plan.words.iter().zip(&word_w) {
            let mut word = Word {
                terms: Vec::new(),
                boosts: Vec::new(),
                near: Vec::new(),
            };
            // The near group a term of the word's is also in.
            let near_of = |t: &Term| w.near.iter().position(|(g, _)| g.contains(t));
            for ((t, _), wt) in w.terms.iter().zip(tw) {
                if let Some(c) = Cursor::open(reader, t, wt)? {
                    word.terms.push((c, near_of(t)));
                }
            }
            for ((t, _), wt) in w.boosts.iter().zip(bw) {
                if let Some(c) = Cursor::open(reader, t, wt)? {
                    word.boosts.push((c, near_of(t)));
                }
            }
            for (gi, ((g, c), gw)) in w.near.iter().zip(nw).enumerate() {
                let mut cs = Vec::new();
                for (t, wt) in g.iter().zip(gw) {
                    let own = w.terms.iter().chain(&w.boosts).any(|(o, _)| o == t)
                        && near_of(t) == Some(gi);
                    if !own {
                        cs.extend(Cursor::open(reader, t, wt)?);
                    }
                }
                word.near.push((cs, *c, WinBits::default()));
            }
            words.push(word);
        }
        loop {
            // The next window: from the first document any list still holds
            // (boosts bring no documents of their own, except as near
            // spellings).
            let first = words
                .iter()
                .flat_map(|w| {
                    w.terms
                        .iter()
                        .chain(w.boosts.iter().filter(|(_, g)| g.is_some()))
                        .map(|(c, _)| c)
                        .chain(w.near.iter().flat_map(|(g, _, _)| g))
                })
                .map(Cursor::doc)
                .min()
                .unwrap_or(TERMINATED);
            if first == TERMINATED {
                break;
            }
            let lo = first - first % 64;
            let hi = lo.saturating_add(WINDOW as DocId);
            any.clear();
            every.clear();
            for (i, w) in words.iter_mut().enumerate() {
                let Word {
                    terms,
                    boosts,
                    near,
                } = w;
                held.clear();
                for (_, _, found) in near.iter_mut() {
                    found.clear();
                }
                // The word's terms, in order (each document's sum in the
                // order of the document-at-a-time plans), each also setting
                // the bits of the near group it is in.
                for (c, also) in terms.iter_mut() {
                    let mut found = also.map(|g| &mut near[g].2);
                    c.drain_before(hi, |d, c| {
                        if pass(d) {
                            let j = (d - lo) as usize;
                            wacc[j] += c.score(d);
                            held.set(j);
                            if let Some(f) = found.as_deref_mut() {
                                f.set(j);
                            }
                        }
                    });
                }
                // Its boosts where it matched, then the constant.
                for (b, also) in boosts.iter_mut() {
                    // A boost's list may hold documents the word's do not.
                    b.seek(lo);
                    let mut found = also.map(|g| &mut near[g].2);
                    b.drain_before(hi, |d, b| {
                        let j = (d - lo) as usize;
                        if held.has(j) {
                            wacc[j] += b.score(d);
                        }
                        if let Some(f) = found.as_deref_mut().filter(|_| pass(d)) {
                            f.set(j);
                        }
                    });
                }
                held.each(|j| wacc[j] += plan.matched);
                touched.copy_from(&held);
                // Its near groups: a constant where any of a group's terms is.
                for (g, c, found) in near.iter_mut() {
                    for n in g.iter_mut() {
                        n.drain_before(hi, |d, _| {
                            if pass(d) {
                                found.set((d - lo) as usize);
                            }
                        });
                    }
                    found.each(|j| wacc[j] += *c);
                    touched.or(found);
                }
                touched.each(|j| {
                    acc[j] += wacc[j];
                    wacc[j] = 0.0;
                });
                any.or(&touched);
                if i == 0 {
                    every.copy_from(&held);
                } else {
                    every.and(&held);
                }
            }
            // The documents of some words but not all: counted and offered.
            any.each(|j| {
                let doc = lo + j as DocId;
                if !every.has(j) && alive.is_none_or(|a| a.is_alive(doc)) {
                    total += 1;
                    page.push(Entry {
                        score: acc[j],
                        seg: seg as u32,
                        doc,
                    });
                }
                acc[j] = 0.0;
            });
            if hi == TERMINATED {
                break;
            }
        }
    }
    Ok((page.hits(offset, limit), total))
}

/// A list's documents in the current window (a union lead's, see [`run`]):
/// their bits and frequencies, read without a branch per document, and a
/// bound of their scores; a document is scored only when it can still enter
/// the page.
struct WinList {
    bits: WinBits,
    tf: Box<[u32; WINDOW]>,
    /// No document of the list in the window scores more.
    max: Score,
}

impl WinList {
    fn new() -> Self {
        WinList {
            bits: WinBits::default(),
            tf: Box::new([0; WINDOW]),
            max: 0.0,
        }
    }

    /// Reads `c`'s documents from the window's first, `lo`, to `hi` (the
    /// cursor is left on the first from `hi`). `bounds`: the blocks' maxima
    /// are exact (see [`run`]); else the term's maximum bounds them.
    fn fill(&mut self, c: &mut Cursor, lo: DocId, hi: DocId, bounds: bool) {
        self.bits.clear();
        self.max = 0.0;
        let (bits, tf, max) = (&mut self.bits, &mut self.tf, &mut self.max);
        c.drain_blocks_before(
            hi,
            |c| {
                let m = if bounds {
                    c.block_max()
                } else {
                    c.bm25.max_score()
                };
                *max = max.max(m);
            },
            |d, c| {
                let j = (d - lo) as usize;
                bits.set(j);
                tf[j] = c.block.freq(c.cur);
            },
        );
    }

    /// The score of the window's document `j` (one the list holds).
    #[inline]
    fn score(&self, c: &Cursor, lo: DocId, j: usize) -> Score {
        c.bm25
            .score(c.norms.fieldnorm_id(lo + j as DocId), self.tf[j])
    }
}

/// The documents of a window: a relaxed search's (see [`run_some`]) and a
/// union lead's (see [`WinList`]).
const WINDOW: usize = 4096;
/// A window's bits in 64-bit words.
const WIN_WORDS: usize = WINDOW / 64;

/// A window's documents as bits, with a summary of its non-zero words, so
/// that clearing and walking it cost what it holds, not the window's size.
struct WinBits {
    words: [u64; WIN_WORDS],
    /// Bit `i`: word `i` may be non-zero.
    nz: u64,
}

impl Default for WinBits {
    fn default() -> Self {
        WinBits {
            words: [0; WIN_WORDS],
            nz: 0,
        }
    }
}

impl WinBits {
    #[inline]
    fn set(&mut self, j: usize) {
        self.words[j / 64] |= 1 << (j % 64);
        self.nz |= 1 << (j / 64);
    }

    #[inline]
    fn has(&self, j: usize) -> bool {
        self.words[j / 64] & (1 << (j % 64)) != 0
    }

    fn clear(&mut self) {
        let mut m = self.nz;
        while m != 0 {
            self.words[m.trailing_zeros() as usize] = 0;
            m &= m - 1;
        }
        self.nz = 0;
    }

    fn copy_from(&mut self, o: &WinBits) {
        self.clear();
        self.or(o);
    }

    fn or(&mut self, o: &WinBits) {
        let mut m = o.nz;
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            self.words[i] |= o.words[i];
            m &= m - 1;
        }
        self.nz |= o.nz;
    }

    fn and(&mut self, o: &WinBits) {
        let mut m = self.nz;
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            self.words[i] &= o.words[i];
            m &= m - 1;
        }
        self.nz &= o.nz;
    }

    /// Keeps the documents that pass the filter `bits` (none: all), the
    /// window starting at `lo` (a multiple of 64).
    fn filter(&mut self, bits: Option<&Bits>, lo: DocId) {
        let Some(bits) = bits else {
            return;
        };
        let words = bits.words();
        let base = lo as usize / 64;
        let mut m = self.nz;
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            self.words[i] &= words.get(base + i).copied().unwrap_or(0);
            if self.words[i] == 0 {
                self.nz &= !(1 << i);
            }
            m &= m - 1;
        }
    }

    /// Calls `f` with each set bit's index, in order.
    #[inline]
    fn each(&self, mut f: impl FnMut(usize)) {
        let mut m = self.nz;
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            let mut w = self.words[i];
            while w != 0 {
                f(i * 64 + w.trailing_zeros() as usize);
                w &= w - 1;
            }
            m &= m - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::analyzer;
    use super::super::analyzer::HEAD_MARK;
    use super::super::projection::{to_tantivy, Projected};
    use super::super::query::{parse, rank, rank_with, Access, Ranked, SearchRequest, TextFields};
    use super::super::schema::{Fields, KIND_FULL};
    use proptest::prelude::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};
    use tantivy::schema::Value;
    use tantivy::{Index, Searcher, Term};

    /// Inflected forms, diacritics and a code, so that words meet their stems,
    /// exact-spelling and title boosts; compounds whose parts are words of the
    /// list too ("vägivald" of "lähisuhtevägivalla", "ohver" of
    /// "kuriteoohvritele"), so that words are unions with compound-part terms.
    const WORDS: [&str; 27] = [
        "ohver",
        "ohvrile",
        "ohvrite",
        "seadus",
        "seaduse",
        "kohus",
        "kohtu",
        "Tõnis",
        "Tonis",
        "hüvitis",
        "hüvitise",
        "avaldus",
        "politsei",
        "menetlus",
        "kahju",
        "õigus",
        "riik",
        "taotlus",
        "otsus",
        "tähtaeg",
        "9-13/77",
        "lähenemiskeeld",
        "lähisuhtevägivalla",
        "vägivald",
        "kuriteoohvritele",
        "kindlustuskelmuse",
        "kelmus",
    ];
    const SERIES: [&str; 3] = ["9-13", "9-14", "9-15"];

    fn text(rng: &mut StdRng, n: usize) -> String {
        (0..n)
            .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// An index of `docs` random documents in several commits (several
    /// segments), some documents deleted; merged into one segment when `merge`.
    fn corpus(seed: u64, docs: usize, merge: bool) -> (Fields, Index) {
        corpus_of(seed, docs, merge, 40)
    }

    /// [`corpus`] with texts of 1 to `max_len` - 1 words.
    fn corpus_of(seed: u64, docs: usize, merge: bool, max_len: usize) -> (Fields, Index) {
        let f = Fields::new();
        let index = Index::create_in_ram(f.schema.clone());
        analyzer::register(index.tokenizers());
        let mut w: tantivy::IndexWriter = index.writer_with_num_threads(1, 20_000_000).unwrap();
        w.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        let mut rng = StdRng::seed_from_u64(seed);
        for i in 0..docs {
            let len = rng.gen_range(1..max_len);
            let (title, body) = (text(&mut rng, 3), text(&mut rng, len));
            let series = SERIES[rng.gen_range(0..SERIES.len())];
            let p =
                Projected::text_only(i as i64 + 1, format!("9-13/{}", i + 1), series, title, body);
            w.add_document(to_tantivy(&p, KIND_FULL, &f, 1000)).unwrap();
            if i % 97 == 96 {
                w.commit().unwrap();
            }
            if i % 13 == 5 {
                w.delete_term(Term::from_field_u64(
                    f.doc_id,
                    rng.gen_range(1..=i as u64 + 1),
                ));
            }
        }
        w.commit().unwrap();
        if merge {
            let ids = index.searchable_segment_ids().unwrap();
            if ids.len() > 1 {
                w.merge(&ids).wait().unwrap();
            }
            w.wait_merging_threads().unwrap();
        }
        (f, index)
    }

    fn same_page(a: &Ranked, b: &Ranked, what: &str) {
        assert_eq!(a.total, b.total, "{what}: totals");
        assert_eq!(a.top.len(), b.top.len(), "{what}: page lengths");
        let close = |x: f32, y: f32| (x - y).abs() <= 1e-4 * x.abs().max(1.0);
        for (i, ((sa, _), (sb, _))) in a.top.iter().zip(&b.top).enumerate() {
            assert!(close(*sa, *sb), "{what}: score {i}: {sa} against {sb}");
        }
        // Documents whose score is clear of the page's last one are the same.
        if let Some((last, _)) = a.top.last() {
            let clear = |r: &Ranked| {
                let mut v: Vec<_> = r
                    .top
                    .iter()
                    .filter(|(s, _)| !close(*s, *last))
                    .map(|(_, d)| *d)
                    .collect();
                v.sort();
                v
            };
            assert_eq!(clear(a), clear(b), "{what}: documents");
        }
    }

    /// The one-pass answer to a public search, checked against the generic
    /// plan's: the same page, all-words hits and relaxed count.
    fn public_as_generic(f: &Fields, searcher: &Searcher, req: &SearchRequest) -> Ranked {
        let fast = rank(f, searcher, searcher, req, Access::Public).unwrap();
        let generic = rank_with(f, searcher, searcher, req, Access::Public, false).unwrap();
        same_page(&fast, &generic, &format!("{req:?}"));
        assert_eq!(fast.all_hits, generic.all_hits, "{req:?}: all-words hits");
        assert_eq!(fast.relaxed, generic.relaxed, "{req:?}: relaxed count");
        fast
    }

    /// Whether the one-pass plan answered, and whether its words held a
    /// compound part's term.
    fn check(f: &Fields, searcher: &Searcher, stats: &Searcher, rng: &mut StdRng) -> (bool, bool) {
        let n = rng.gen_range(1..=3);
        let query = text(rng, n);
        check_query(f, searcher, stats, rng, query)
    }

    fn check_query(
        f: &Fields,
        searcher: &Searcher,
        stats: &Searcher,
        rng: &mut StdRng,
        query: String,
    ) -> (bool, bool) {
        let req = SearchRequest {
            query: query.clone(),
            series: rng
                .gen_bool(0.6)
                .then(|| SERIES[rng.gen_range(0..SERIES.len())].to_string()),
            limit: rng.gen_range(0..25),
            offset: rng.gen_range(0..8),
            ..Default::default()
        };
        let access = || {
            if std::ptr::eq(searcher, stats) {
                Access::Public
            } else {
                Access::Full
            }
        };
        let fast = rank(f, searcher, stats, &req, access()).unwrap();
        let generic = rank_with(f, searcher, stats, &req, access(), false).unwrap();
        assert!(!generic.one_pass);
        same_page(&fast, &generic, &format!("{req:?}"));
        // Relaxed hits (some of the words) fill a short page alike.
        assert_eq!(fast.all_hits, generic.all_hits, "{req:?}: all-words hits");
        assert_eq!(fast.relaxed, generic.relaxed, "{req:?}: relaxed count");
        let parts = parse(&req.query)
            .unwrap()
            .map(|n| TextFields::new(f, searcher).plan_terms(&n).unwrap())
            .into_iter()
            .flatten()
            .flat_map(|(must, _)| must.into_iter().flatten())
            .any(|(t, _)| t.value().as_str().is_some_and(|s| s.starts_with(HEAD_MARK)));
        (fast.one_pass, fast.one_pass && parts)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        /// The one-pass plan gives the generic plan's count and page: on one
        /// segment scored with its own statistics (block-max pruning on), on
        /// several segments with deletions, and scored with another index's
        /// statistics (a staff search scored as the public index).
        #[test]
        fn one_pass_plan_gives_the_generic_plans_page_and_count(seed in any::<u64>(), merge in any::<bool>()) {
            let (f, index) = corpus(seed, 700, merge);
            let searcher = index.reader().unwrap().searcher();
            let (_, other) = corpus(seed ^ 1, 150, true);
            let other_searcher = other.reader().unwrap().searcher();
            let mut rng = StdRng::seed_from_u64(seed);
            let (mut one_pass, mut parts) = (0, 0);
            for _ in 0..30 {
                for stats in [&searcher, &other_searcher] {
                    let (o, p) = check(&f, &searcher, stats, &mut rng);
                    one_pass += usize::from(o);
                    parts += usize::from(p);
                }
            }
            // Most of these queries have the one-pass shape, some with compound
            // parts' terms: the comparison is real.
            prop_assert!(one_pass >= 45, "only {one_pass} of 60 queries took the one-pass plan");
            prop_assert!(parts >= 5, "only {parts} of 60 one-pass queries had compound parts");
        }
    }

    /// Short texts, so that two or three words seldom meet in one document
    /// while each is in many: the page is filled with relaxed hits, deep pages
    /// too, and the relaxed plan's pruning (the words that cannot lift a
    /// document onto the full page bring no candidates) gives the generic
    /// plan's page and count.
    #[test]
    fn relaxed_pages_pruned_by_the_words_maxima_give_the_generic_plans_page_and_count() {
        let mut full = 0;
        for (seed, merge) in [(11, true), (12, false), (13, true), (14, true)] {
            let (f, index) = corpus_of(seed, 900, merge, 6);
            let searcher = index.reader().unwrap().searcher();
            let mut rng = StdRng::seed_from_u64(seed);
            for i in 0..60 {
                let n = 2 + i % 2;
                let query = text(&mut rng, n);
                let req = SearchRequest {
                    query,
                    series: rng
                        .gen_bool(0.5)
                        .then(|| SERIES[rng.gen_range(0..SERIES.len())].to_string()),
                    limit: rng.gen_range(1..25),
                    offset: rng.gen_range(0..40),
                    ..Default::default()
                };
                let fast = public_as_generic(&f, &searcher, &req);
                full += usize::from(fast.top.len() == req.limit && fast.top.len() > fast.all_hits);
            }
        }
        // Most pages are filled with relaxed hits: the comparison is real.
        assert!(full >= 120, "only {full} of 240 pages full of relaxed hits");
    }

    /// A segment of many thousand documents is read a window at a time by
    /// the relaxed plan and by a union's: pages and counts across windows,
    /// with deletions, are the generic plan's (words that are compound parts,
    /// so that unions drive, and random queries, relaxed ones among them).
    #[test]
    fn windows_of_a_large_segment_give_the_generic_plans_page_and_count() {
        let (mut relaxed, mut unions) = (0, 0);
        // Short texts (words seldom meet: relaxed pages), and longer ones
        // (scores spread by frequency and length: windows after the first
        // are passed by on their bound, and must not be wrongly).
        for (seed, max_len) in [(21, 3), (22, 3), (23, 12)] {
            let (f, index) = corpus_of(seed, 12_000, true, max_len);
            let searcher = index.reader().unwrap().searcher();
            assert_eq!(searcher.segment_readers().len(), 1);
            assert!(searcher.segment_readers()[0].max_doc() as usize > 2 * super::WINDOW);
            let mut rng = StdRng::seed_from_u64(seed);
            for i in 0..40 {
                let query = match i % 4 {
                    0 => ["vägivald", "ohver", "kelmus", "vägivald ohver"][i / 4 % 4].to_string(),
                    n => text(&mut rng, n),
                };
                let (one_pass, parts) =
                    check_query(&f, &searcher, &searcher, &mut rng, query.clone());
                assert!(one_pass || query.contains('/'), "{query}");
                unions += usize::from(parts);
                // A deep, long page: three words seldom meet in these short
                // texts, so that relaxed hits fill it.
                let req = SearchRequest {
                    query,
                    limit: 100,
                    offset: rng.gen_range(0..60),
                    ..Default::default()
                };
                let fast = public_as_generic(&f, &searcher, &req);
                relaxed += usize::from(fast.top.len() > fast.all_hits);
            }
        }
        assert!(unions >= 20, "only {unions} queries with unions");
        assert!(relaxed >= 5, "only {relaxed} relaxed queries");
    }

    /// Words that are also compound parts, alone (a union drives the plan) and
    /// together with other words: the one-pass plan answers them, as the
    /// generic plan does, and an exact match ranks above the compound.
    #[test]
    fn one_pass_plan_takes_words_that_are_compound_parts() {
        for (seed, merge) in [(1, true), (2, false), (3, true)] {
            let (f, index) = corpus(seed, 700, merge);
            let searcher = index.reader().unwrap().searcher();
            let mut rng = StdRng::seed_from_u64(seed);
            for q in [
                "vägivald",
                "ohver",
                "vägivald ohver",
                "kelmus seadus",
                "kelmus vägivald ohvrile",
            ] {
                for _ in 0..4 {
                    let (one_pass, parts) =
                        check_query(&f, &searcher, &searcher, &mut rng, q.into());
                    assert!(one_pass && parts, "{q}: one pass {one_pass}, parts {parts}");
                }
            }
        }
        // "vägivald" itself above "lähisuhtevägivalla".
        let (f, index) = corpus(4, 0, true);
        let mut w: tantivy::IndexWriter = index.writer_with_num_threads(1, 20_000_000).unwrap();
        for (i, body) in ["lähisuhtevägivalla kohus", "vägivald kohus"]
            .iter()
            .enumerate()
        {
            let p = Projected::text_only(
                i as i64 + 1,
                format!("9-13/{}", i + 1),
                "9-13",
                "avaldus".into(),
                body.to_string(),
            );
            w.add_document(to_tantivy(&p, KIND_FULL, &f, 1000)).unwrap();
        }
        w.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let req = SearchRequest {
            query: "vägivald".into(),
            ..Default::default()
        };
        let r = rank(&f, &searcher, &searcher, &req, Access::Public).unwrap();
        assert!(r.one_pass);
        assert_eq!(r.total, 2);
        let first: tantivy::TantivyDocument = searcher.doc(r.top[0].1).unwrap();
        let id = first.get_first(f.doc_id).and_then(|v| v.as_u64());
        assert_eq!(id, Some(2), "the exact word first: {:?}", r.top);
        assert!(r.top[0].0 > r.top[1].0);
    }
}
