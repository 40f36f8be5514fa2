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
//! page's lowest score is counted and passed by. When every word is a union of
//! several terms (a single word that also occurs as a compound part), the
//! smallest union drives: its lists are merged a block of candidates at a time,
//! each candidate scored as the sum of its terms (what tantivy's union scores),
//! and the block's best score bounds it. The scores are tantivy's BM25 with the
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

    /// The next document (TERMINATED past the end).
    #[inline]
    fn next(&mut self) -> DocId {
        self.cur += 1;
        if self.cur >= self.block.block_len() {
            self.block.advance();
            self.cur = 0;
        }
        self.doc()
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

    /// The last document of the current block.
    fn block_last(&self) -> DocId {
        match self.block.block_len() {
            0 => TERMINATED,
            n => self.block.doc(n - 1),
        }
    }
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
    let weight = |t: &Term, boost: Score| {
        Ok(Bm25Weight::for_terms(stats, std::slice::from_ref(t))
            .map_err(search_err)?
            .boost_by(boost))
    };
    let must_w = plan
        .must
        .iter()
        .map(|g| {
            g.iter()
                .map(|(t, b)| weight(t, *b))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let boost_w = plan
        .boosts
        .iter()
        .map(|(t, b)| weight(t, *b))
        .collect::<Result<Vec<_>>>()?;
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
        let boosts_max: Score = boosts.iter().map(|b| b.bm25.max_score()).sum();
        let keep = |d: DocId| {
            bits.as_ref().is_none_or(|b| b.contains(d)) & alive.is_none_or(|a| a.is_alive(d))
        };
        // The rarest word's list, a block of 128 documents at a time: first the
        // block's candidates that pass the filter (without a branch per document:
        // a fifth pass a series filter, in no order a branch predictor could
        // learn), then each candidate against the other words. A union lead is
        // merged into blocks of up to 128 candidates that pass the filter, each
        // scored as it is merged.
        let mut docs = [0 as DocId; BLOCK];
        let mut cand = [0u8; BLOCK];
        let mut lead_sc = [0 as Score; BLOCK];
        let single = lead.len() == 1;
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
                    cand[m] = i as u8;
                    m += usize::from(keep(d));
                }
                (m, if bounds { lead.block_max() } else { Score::MAX })
            } else {
                let mut m = 0;
                let mut best: Score = 0.0;
                // A one-word query: a candidate whose terms' block maxima cannot
                // beat the page is counted without being scored.
                let prune_at = page.threshold().filter(|_| bounds && others.is_empty());
                while m < BLOCK {
                    let doc = lead.iter().map(Cursor::doc).min().unwrap_or(TERMINATED);
                    if doc == TERMINATED {
                        break;
                    }
                    let mut pass = keep(doc);
                    if let (true, Some(t)) = (pass, prune_at) {
                        let mut bound = boosts_max;
                        for c in lead.iter_mut() {
                            if c.doc() == doc {
                                bound += c.block_max();
                            }
                        }
                        if bound <= t {
                            total += 1;
                            pass = false;
                        }
                    }
                    let mut score: Score = 0.0;
                    for c in lead.iter_mut() {
                        if c.doc() == doc {
                            if pass {
                                score += c.score(doc);
                            }
                            c.next();
                        }
                    }
                    if pass {
                        docs[m] = doc;
                        cand[m] = m as u8;
                        lead_sc[m] = score;
                        best = best.max(score);
                        m += 1;
                    }
                }
                if m == 0 {
                    break;
                }
                (m, best)
            };
            let threshold = page.threshold().filter(|_| bounds);
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
                    lead_sc[i]
                };
                for c in others.iter().flatten() {
                    if c.doc() == doc {
                        score += c.score(doc);
                    }
                }
                for b in boosts.iter_mut() {
                    if b.seek(doc) == doc {
                        score += b.score(doc);
                    }
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
/// The count comes from bitsets: each word's lists are decoded into the set of
/// the documents that hold it, and the documents in any set (or a near list)
/// but not in all of them are counted against the filter's bitset. The page is
/// a union of the words' lists walked in document order with MaxScore
/// pruning: once the page is full, the words whose most (their weights, the
/// constant and their near groups' constants, smallest first) cannot lift a
/// document past the page's lowest score together no longer bring candidates;
/// their lists are only sought for the candidates the others bring. A common
/// word's list (its BM25 weight is the lowest) is so mostly skipped.
pub fn run_some(
    plan: &SomePlan,
    searcher: &Searcher,
    stats: &dyn Bm25StatisticsProvider,
    limit: usize,
    offset: usize,
) -> Result<(Vec<(Score, DocAddress)>, u64)> {
    let weight = |t: &Term, boost: Score| {
        Ok(Bm25Weight::for_terms(stats, std::slice::from_ref(t))
            .map_err(search_err)?
            .boost_by(boost))
    };
    let weights = |ts: &[(Term, Score)]| -> Result<Vec<Bm25Weight>> {
        ts.iter().map(|(t, b)| weight(t, *b)).collect()
    };
    let mut word_w = Vec::with_capacity(plan.words.len());
    for w in &plan.words {
        let near = w
            .near
            .iter()
            .map(|(g, _)| g.iter().map(|t| weight(t, 1.0)).collect::<Result<Vec<_>>>())
            .collect::<Result<Vec<_>>>()?;
        word_w.push((weights(&w.terms[..])?, weights(&w.boosts[..])?, near));
    }
    // The most a word adds to a document's score: its terms' and boosts'
    // weights (a BM25 score stays below its weight: `upper`), the constant
    // where it matched, and its near groups' constants.
    let word_max: Vec<Score> = plan
        .words
        .iter()
        .zip(&word_w)
        .map(|(w, (tw, bw, _))| {
            tw.iter().chain(bw).map(upper).sum::<Score>()
                + plan.matched
                + w.near.iter().map(|(_, c)| *c).sum::<Score>()
        })
        .collect();
    // The words from the least they can add to the most.
    let mut by_max: Vec<usize> = (0..plan.words.len()).collect();
    by_max.sort_by(|&a, &b| word_max[a].total_cmp(&word_max[b]));
    let k = (limit + offset).max(1);
    let mut page = Page {
        k,
        heap: BinaryHeap::with_capacity(k + 1),
    };
    let mut total = 0u64;
    struct Word<'w> {
        terms: Vec<Cursor<'w>>,
        boosts: Vec<Cursor<'w>>,
        near: Vec<(Vec<Cursor<'w>>, Score)>,
    }
    for (seg, reader) in searcher.segment_readers().iter().enumerate() {
        let bits = match &plan.filter {
            Some(f) => Some(f.segment_bits(reader).map_err(search_err)?),
            None => None,
        };
        let alive = reader.alive_bitset();
        total += count_some(plan, reader, bits.as_deref(), alive)?;
        let mut words = Vec::with_capacity(plan.words.len());
        for (w, (tw, bw, nw)) in plan.words.iter().zip(&word_w) {
            let mut word = Word {
                terms: Vec::new(),
                boosts: Vec::new(),
                near: Vec::new(),
            };
            for ((t, _), wt) in w.terms.iter().zip(tw) {
                word.terms.extend(Cursor::open(reader, t, wt)?);
            }
            for ((t, _), wt) in w.boosts.iter().zip(bw) {
                word.boosts.extend(Cursor::open(reader, t, wt)?);
            }
            for ((g, c), gw) in w.near.iter().zip(nw) {
                let mut cs = Vec::new();
                for (t, wt) in g.iter().zip(gw) {
                    cs.extend(Cursor::open(reader, t, wt)?);
                }
                if !cs.is_empty() {
                    word.near.push((cs, *c));
                }
            }
            words.push(word);
        }
        // The words that bring candidates: all of them until the page is full,
        // then those after the longest run (in `by_max`) whose maxima together
        // do not beat the page's lowest score.
        let mut essential = vec![true; words.len()];
        let mut at_threshold: Option<Score> = None;
        let mut doc: DocId = 0;
        loop {
            let threshold = page.threshold();
            if threshold != at_threshold {
                at_threshold = threshold;
                if let Some(t) = threshold {
                    let mut sum: Score = 0.0;
                    for &i in &by_max {
                        sum += word_max[i];
                        // A margin for the rounding of sums in another order.
                        essential[i] = sum + sum.abs() * 1e-5 > t;
                    }
                }
            }
            // The next candidate: the first document from `doc` on in an
            // essential word's lists.
            let mut next = TERMINATED;
            for (w, _) in words.iter_mut().zip(&essential).filter(|(_, e)| **e) {
                for c in w
                    .terms
                    .iter_mut()
                    .chain(w.near.iter_mut().flat_map(|(g, _)| g.iter_mut()))
                {
                    next = next.min(c.seek(doc));
                }
            }
            if next == TERMINATED {
                break;
            }
            doc = next;
            let pass = bits.as_ref().is_none_or(|b| b.contains(doc))
                && alive.is_none_or(|a| a.is_alive(doc));
            if pass {
                let mut all = true;
                let mut score: Score = 0.0;
                for w in words.iter_mut() {
                    let mut matched = false;
                    let mut s: Score = 0.0;
                    for c in w.terms.iter_mut() {
                        if c.seek(doc) == doc {
                            matched = true;
                            s += c.score(doc);
                        }
                    }
                    if matched {
                        for b in w.boosts.iter_mut() {
                            if b.seek(doc) == doc {
                                s += b.score(doc);
                            }
                        }
                        s += plan.matched;
                    }
                    all &= matched;
                    for (g, c) in w.near.iter_mut() {
                        let mut found = false;
                        for n in g.iter_mut() {
                            found |= n.seek(doc) == doc;
                        }
                        if found {
                            s += *c;
                        }
                    }
                    score += s;
                }
                if !all {
                    page.push(Entry {
                        score,
                        seg: seg as u32,
                        doc,
                    });
                }
            }
            doc += 1;
        }
    }
    Ok((page.hits(offset, limit), total))
}

/// The documents of one segment that hold some of the plan's words (or a near
/// spelling) but not all of them, pass `bits` and are alive: each word's lists
/// decoded into a bitset of its documents, then counted word by word of the
/// sets (see [`run_some`]).
fn count_some(
    plan: &SomePlan,
    reader: &SegmentReader,
    bits: Option<&Bits>,
    alive: Option<&tantivy::fastfield::AliveBitSet>,
) -> Result<u64> {
    let n = (reader.max_doc() as usize).div_ceil(64);
    let mut any = vec![0u64; n];
    let mut every: Option<Vec<u64>> = None;
    let mut set = vec![0u64; n];
    for w in &plan.words {
        set.iter_mut().for_each(|x| *x = 0);
        for (t, _) in &w.terms {
            or_postings(reader, t, &mut set)?;
        }
        for (g, _) in &w.near {
            for t in g {
                or_postings(reader, t, &mut any)?;
            }
        }
        for (a, s) in any.iter_mut().zip(&set) {
            *a |= s;
        }
        match &mut every {
            None => every = Some(set.clone()),
            Some(e) => {
                for (e, s) in e.iter_mut().zip(&set) {
                    *e &= s;
                }
            }
        }
    }
    let every = every.unwrap_or_else(|| vec![0u64; n]);
    let mut count = 0u64;
    for (i, (a, e)) in any.iter().zip(&every).enumerate() {
        let mut m = a & !e;
        if let Some(b) = bits {
            m &= b.words().get(i).copied().unwrap_or(0);
        }
        if m == 0 {
            continue;
        }
        match alive {
            None => count += u64::from(m.count_ones()),
            Some(alive) => {
                while m != 0 {
                    let d = (i * 64) as DocId + m.trailing_zeros();
                    count += u64::from(alive.is_alive(d));
                    m &= m - 1;
                }
            }
        }
    }
    Ok(count)
}

/// Sets the bit of every document of `term`'s list in `set`.
fn or_postings(reader: &SegmentReader, term: &Term, set: &mut [u64]) -> Result<()> {
    let inv = reader.inverted_index(term.field()).map_err(search_err)?;
    let Some(mut block) = inv
        .read_block_postings(term, IndexRecordOption::Basic)
        .map_err(|e| Error::internal(format!("search failed: cannot read postings: {e}")))?
    else {
        return Ok(());
    };
    loop {
        let docs = block.docs();
        if docs.is_empty() {
            return Ok(());
        }
        for &d in docs {
            if let Some(w) = set.get_mut(d as usize / 64) {
                *w |= 1 << (d % 64);
            }
        }
        block.advance();
    }
}

/// An upper bound of every score of a term weighted by `w`: its weight (BM25's
/// term-frequency factor tf / (tf + norm) stays below 1; with the shortest
/// norm and the largest frequency it rounds to 1).
fn upper(w: &Bm25Weight) -> Score {
    w.score(0, u32::MAX)
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
                let fast = rank(&f, &searcher, &searcher, &req, Access::Public).unwrap();
                let generic =
                    rank_with(&f, &searcher, &searcher, &req, Access::Public, false).unwrap();
                same_page(&fast, &generic, &format!("{req:?}"));
                assert_eq!(fast.all_hits, generic.all_hits, "{req:?}: all-words hits");
                assert_eq!(fast.relaxed, generic.relaxed, "{req:?}: relaxed count");
                full += usize::from(fast.top.len() == req.limit && fast.top.len() > fast.all_hits);
            }
        }
        // Most pages are filled with relaxed hits: the comparison is real.
        assert!(full >= 120, "only {full} of 240 pages full of relaxed hits");
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
