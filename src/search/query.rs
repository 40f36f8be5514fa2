//! Queries: the query language, filters, access control and the search itself.
//!
//! Query language: words (all must match by default), `"phrases"`, `prefix*`,
//! `AND`, `OR`, `NOT` (or `-word`), parentheses. Each word is looked up in every
//! text field with that field's analyser (title, body and attachment text in
//! Estonian, Russian and English, the folded field, parties and codes).
//!
//! Access control is part of the query: the public searches the public index; a
//! staff member searches the staff index where each restricted document exists
//! twice, full and masked, and the access clause lets exactly one of the two match.
//! Scores always use the public index's statistics, so that no score depends on
//! text the caller may not see.

use std::collections::BTreeMap;
use std::ops::Bound;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{
    AllQuery, Bm25StatisticsProvider, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery,
    FuzzyTermQuery, Occur, PhraseQuery, Query, RangeQuery, RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use super::analyzer::{self, fold, fold_analyzer, tokens, Lang};
use super::filter::FilterQuery;
use super::schema::{date_key, key_date, Fields, KIND_FULL, KIND_MASKED};
use super::topk::{self, Boosts};
use crate::error::{Error, Result};
use crate::model::Direction;

/// Who is searching: access control is applied inside the search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Caller {
    /// The public register (no login): the public projection only.
    Public,
    /// A staff member: restricted documents only where allowed, otherwise masked.
    Staff(Allowed),
    /// Clerk or lead: everything.
    All,
}

/// Which restricted documents a staff member may see in full: those they are
/// responsible for, those of their units, threads or single documents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Allowed {
    pub user: Option<String>,
    pub units: Vec<String>,
    pub threads: Vec<i64>,
    pub docs: Vec<i64>,
    /// Documents this caller may not find at all (the unclassified documents it
    /// may not see): built by `access::search_caller`, like the rest.
    pub exclude: Vec<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Relevance,
    Newest,
    Oldest,
}

/// A search: free text plus filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchRequest {
    pub query: String,
    pub series: Option<String>,
    pub doc_type: Option<String>,
    pub direction: Option<Direction>,
    /// Words of a party's name (as the caller may see it).
    pub party: Option<String>,
    /// Registration date range, inclusive.
    pub from: Option<Date>,
    pub to: Option<Date>,
    /// Only restricted (true) or only public (false) documents.
    pub restricted: Option<bool>,
    pub sort: Sort,
    pub limit: usize,
    pub offset: usize,
    /// Count the hits per series, type and direction.
    pub facets: bool,
    /// Only documents whose reply deadline is in this state (staff only).
    pub deadline: Option<DeadlineFilter>,
    /// The documents the deadline filter allows, resolved from the database by
    /// [`crate::search::search`] before the index is asked.
    #[serde(skip)]
    pub only_docs: Option<Vec<u64>>,
}

/// A deadline-state filter of a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineFilter {
    /// The clock runs (overdue or not).
    Open,
    /// Open and due within the configured number of working days.
    DueSoon,
    /// Open and past its due date.
    Overdue,
    /// Answered (the deadline ended).
    Answered,
    /// The clock is stopped.
    Stopped,
}

impl std::str::FromStr for Sort {
    type Err = Error;
    fn from_str(s: &str) -> Result<Sort> {
        Ok(match s {
            "relevance" => Sort::Relevance,
            "newest" => Sort::Newest,
            "oldest" => Sort::Oldest,
            other => {
                return Err(Error::invalid_field(
                    "sort",
                    format!("{other:?}: expected relevance, newest or oldest"),
                ))
            }
        })
    }
}

impl std::str::FromStr for DeadlineFilter {
    type Err = Error;
    fn from_str(s: &str) -> Result<DeadlineFilter> {
        Ok(match s {
            "open" => DeadlineFilter::Open,
            "due_soon" | "due-soon" => DeadlineFilter::DueSoon,
            "overdue" => DeadlineFilter::Overdue,
            "answered" => DeadlineFilter::Answered,
            "stopped" => DeadlineFilter::Stopped,
            other => {
                return Err(Error::invalid_field(
                    "deadline",
                    format!("{other:?}: expected open, due_soon, overdue, answered or stopped"),
                ))
            }
        })
    }
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            query: String::new(),
            series: None,
            doc_type: None,
            direction: None,
            party: None,
            from: None,
            to: None,
            restricted: None,
            sort: Sort::Relevance,
            limit: 20,
            offset: 0,
            facets: false,
            deadline: None,
            only_docs: None,
        }
    }
}

/// The weight of a compound's head against the word itself: "vägivald" finds
/// "lähisuhtevägivalla", below a document that says "vägivald".
pub const HEAD_BOOST: f32 = 0.3;

/// One word of the one-pass plan: the union of its terms, each with its weight
/// (1 for a stem, [`HEAD_BOOST`] for a compound-head term).
pub type WordTerms = Vec<(Term, f32)>;

/// Score added for each query word a relaxed ("some") hit matches exactly, and
/// for each it matches only within the typo distance: more words first, an
/// exact word above a misspelt one.
const WORD_EXACT: f32 = 3.0;
const WORD_TYPO: f32 = 2.0;
/// Added when a misspelt word is found in the title.
const WORD_TITLE: f32 = 1.0;

/// Typo tolerance of a relaxed search: the edits allowed in a word of this
/// many letters (one from 5, two from 9).
pub fn typo_distance(letters: usize) -> u8 {
    match letters {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// The shortest stem of a typed prefix that a prefix query also tries.
const MIN_PREFIX_STEM: usize = 4;

/// Largest page.
pub const MAX_LIMIT: usize = 1000;

/// Largest number of hits skipped: past it a search is refused (the collector
/// holds offset + limit hits, so the offset must not be the caller's to choose).
pub const MAX_OFFSET: usize = 10_000;

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;

/// Deepest nesting of parentheses and `NOT`s in a query.
pub const MAX_QUERY_DEPTH: usize = 16;

/// Refuses a page past [`MAX_LIMIT`] or [`MAX_OFFSET`], naming the field: the one
/// check every search entry point (web, API, public register, CLI) goes through.
pub fn check_page(req: &SearchRequest) -> Result<()> {
    if req.limit > MAX_LIMIT {
        return Err(Error::invalid_field(
            "limit",
            format!("{}: at most {MAX_LIMIT}", req.limit),
        ));
    }
    if req.offset > MAX_OFFSET {
        return Err(Error::invalid_field(
            "offset",
            format!("{}: at most {MAX_OFFSET}", req.offset),
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub doc_id: i64,
    pub reg_no: String,
    pub title: String,
    pub score: f32,
    /// HTML: the text escaped, matches in `<b>`.
    pub snippet: String,
    pub registered: Option<Date>,
    pub restricted: bool,
    /// Whether the document matched all the query's words or, filling a page that
    /// all-words hits leave short, only some of them.
    #[serde(default)]
    pub matched: Matched,
}

/// How a hit matched the query's words (see [`rank_with`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Matched {
    #[default]
    All,
    Some,
}

impl Matched {
    /// The Estonian label shown beside a hit.
    pub fn label_et(self) -> &'static str {
        match self {
            Matched::All => "kõik sõnad",
            Matched::Some => "osa sõnu",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// Exact number of documents matching all the words.
    pub total: u64,
    /// Documents matching only some of the words, counted when the page reaches
    /// past the all-words hits (0 otherwise): the hits after `total` are these.
    #[serde(default)]
    pub relaxed: u64,
    pub hits: Vec<Hit>,
    /// facet ("series", "type", "direction") → value → count; empty unless asked for.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facets: BTreeMap<String, BTreeMap<String, u64>>,
}

// ---------------------------------------------------------------- parsing

/// The parsed query language.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Word(String),
    Prefix(String),
    Phrase(String),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Word(String),
    Phrase(String),
}

fn lex(q: &str) -> Result<Vec<Tok>> {
    let mut out = Vec::new();
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if c == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if c == '"' || c == '“' || c == '”' || c == '„' {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && !matches!(chars[j], '"' | '“' | '”') {
                j += 1;
            }
            if j >= chars.len() {
                return Err(Error::invalid_field(
                    "query",
                    format!("{q:?}: a quote is not closed"),
                ));
            }
            out.push(Tok::Phrase(chars[start..j].iter().collect()));
            i = j + 1;
        } else if (c == '-' || c == '+')
            && i + 1 < chars.len()
            && !chars[i + 1].is_whitespace()
            && (i == 0 || chars[i - 1].is_whitespace() || chars[i - 1] == '(')
        {
            if c == '-' {
                out.push(Tok::Not);
            }
            i += 1;
        } else {
            let start = i;
            while i < chars.len()
                && !chars[i].is_whitespace()
                && !matches!(chars[i], '(' | ')' | '"')
            {
                i += 1;
            }
            let w: String = chars[start..i].iter().collect();
            out.push(match w.as_str() {
                "AND" | "&&" => Tok::And,
                "OR" | "||" => Tok::Or,
                "NOT" => Tok::Not,
                _ => Tok::Word(w),
            });
        }
    }
    Ok(out)
}

/// A recursive-descent parser whose recursion the input cannot deepen past
/// [`MAX_QUERY_DEPTH`]: every parenthesis and `NOT` is counted before the parser
/// descends into it.
struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    q: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    /// One level deeper, or an error past [`MAX_QUERY_DEPTH`] (before recursing).
    fn descend(&mut self) -> Result<()> {
        if self.depth >= MAX_QUERY_DEPTH {
            return Err(Error::invalid_field(
                "query",
                format!(
                    "{:?}: parentheses and NOT are nested more than {MAX_QUERY_DEPTH} deep",
                    self.q
                ),
            ));
        }
        self.depth += 1;
        Ok(())
    }
    fn or(&mut self) -> Result<Option<Node>> {
        let mut parts = Vec::new();
        if let Some(n) = self.and()? {
            parts.push(n);
        }
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            if let Some(n) = self.and()? {
                parts.push(n);
            }
        }
        Ok(match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Node::Or(parts)),
        })
    }
    fn and(&mut self) -> Result<Option<Node>> {
        let mut parts = Vec::new();
        loop {
            match self.peek() {
                None | Some(Tok::Or) | Some(Tok::RParen) => break,
                Some(Tok::And) => {
                    self.pos += 1;
                }
                _ => {
                    if let Some(n) = self.unary()? {
                        parts.push(n);
                    }
                }
            }
        }
        Ok(match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Node::And(parts)),
        })
    }
    fn unary(&mut self) -> Result<Option<Node>> {
        match self.peek().cloned() {
            Some(Tok::Not) => {
                self.pos += 1;
                self.descend()?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(inner.map(|n| Node::Not(Box::new(n))))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                self.descend()?;
                let inner = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(Error::invalid_field(
                        "query",
                        format!("{:?}: a parenthesis is not closed", self.q),
                    ));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Tok::Phrase(p)) => {
                self.pos += 1;
                Ok(Some(Node::Phrase(p)))
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                if let Some(p) = w.strip_suffix('*') {
                    let p = p.trim_end_matches('*');
                    if p.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
                        return Err(Error::invalid_field(
                            "query",
                            format!(
                                "{:?}: the prefix {w:?} is too short (at least two letters)",
                                self.q
                            ),
                        ));
                    }
                    Ok(Some(Node::Prefix(p.to_string())))
                } else {
                    Ok(Some(Node::Word(w)))
                }
            }
            Some(Tok::RParen) => Err(Error::invalid_field(
                "query",
                format!("{:?}: unexpected ')'", self.q),
            )),
            _ => Ok(None),
        }
    }
}

/// Parses the query language; None for an empty query (match everything).
/// Refuses queries longer than [`MAX_QUERY_CHARS`] or nested deeper than
/// [`MAX_QUERY_DEPTH`].
pub fn parse(q: &str) -> Result<Option<Node>> {
    let chars = q.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(Error::invalid_field(
            "query",
            format!("{chars} characters, at most {MAX_QUERY_CHARS}"),
        ));
    }
    let mut p = Parser {
        toks: lex(q)?,
        pos: 0,
        depth: 0,
        q,
    };
    let n = p.or()?;
    if p.pos < p.toks.len() {
        return Err(Error::invalid_field(
            "query",
            format!("{q:?}: unexpected ')'"),
        ));
    }
    Ok(n)
}

// ---------------------------------------------------------------- building

/// Builds tantivy queries from the parsed language against one index: a word is
/// the folded stem in `text` (one posting list, whatever the language: the stems
/// of the three languages that do not occur in the index are left out), with the
/// exact stem, the title and codes as optional boosts.
pub struct TextFields<'s> {
    text: Field,
    title: Field,
    code: Field,
    searcher: &'s Searcher,
}

/// The clauses of one word: what it must match, and what adds to its score.
struct WordQuery {
    recall: Box<dyn Query>,
    boosts: Vec<Box<dyn Query>>,
}

impl WordQuery {
    fn into_query(self) -> Box<dyn Query> {
        if self.boosts.is_empty() {
            return self.recall;
        }
        let mut clauses = vec![(Occur::Must, self.recall)];
        clauses.extend(self.boosts.into_iter().map(|b| (Occur::Should, b)));
        Box::new(BooleanQuery::new(clauses))
    }
}

fn term_query(term: Term, boost: f32) -> Box<dyn Query> {
    let q = TermQuery::new(term, IndexRecordOption::WithFreqs);
    if boost == 1.0 {
        Box::new(q)
    } else {
        Box::new(BoostQuery::new(Box::new(q), boost))
    }
}

fn any_of(mut qs: Vec<Box<dyn Query>>) -> Option<Box<dyn Query>> {
    match qs.len() {
        0 => None,
        1 => qs.pop(),
        _ => Some(Box::new(BooleanQuery::new(
            qs.into_iter().map(|q| (Occur::Should, q)).collect(),
        ))),
    }
}

fn push_new(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

impl<'s> TextFields<'s> {
    pub fn new(f: &Fields, searcher: &'s Searcher) -> TextFields<'s> {
        TextFields {
            text: f.text,
            title: f.title,
            code: f.code,
            searcher,
        }
    }

    /// Whether `field` holds `text` in the searched index (a term absent from it
    /// can only cost a dictionary look-up and a branch of a union).
    fn occurs(&self, field: Field, text: &str) -> Result<bool> {
        Ok(self
            .searcher
            .doc_freq(&Term::from_field_text(field, text))
            .map_err(|e| Error::internal(format!("search failed: {e}")))?
            > 0)
    }

    /// The terms of one word: what it must match (the folded stems that occur
    /// in the index), what adds to its score (exact stems, title, codes), and
    /// the compound-head terms that also match it, scored below the word itself
    /// ([`HEAD_BOOST`]).
    fn word_terms_heads(&self, word: &str) -> Result<(Vec<Term>, Boosts, Vec<Term>)> {
        let (mut folded, mut exact, mut heads) = (Vec::new(), Vec::new(), Vec::new());
        for lang in Lang::ALL {
            let w = analyzer::word_analysis(word, lang);
            push_new(&mut folded, w.folded.clone());
            exact.extend(w.exact.clone());
        }
        // The word as a compound's head: "vägivald" finds "lähisuhtevägivalla".
        for f in &folded {
            let mut t = String::with_capacity(f.len() + 1);
            t.push(analyzer::HEAD_MARK);
            t.push_str(f);
            if self.occurs(self.text, &t)? {
                heads.push(Term::from_field_text(self.text, &t));
            }
        }
        exact.retain(|e| !folded.contains(e));
        exact.dedup();
        let mut recall = Vec::new();
        let mut boosts = Vec::new();
        let mut found = Vec::new();
        for t in &folded {
            if self.occurs(self.text, t)? {
                recall.push(Term::from_field_text(self.text, t));
                found.push(t.as_str());
            }
        }
        if recall.is_empty() {
            return Ok((recall, boosts, heads));
        }
        for t in &exact {
            if self.occurs(self.text, t)? {
                boosts.push((Term::from_field_text(self.text, t), 1.0));
                found.push(t.as_str());
            }
        }
        // The title is part of the text: only terms found there can be in it.
        for t in found {
            if self.occurs(self.title, t)? {
                boosts.push((Term::from_field_text(self.title, t), 2.0));
            }
        }
        if word.bytes().any(|b| b.is_ascii_digit()) {
            let code = fold(word);
            if self.occurs(self.code, &code)? {
                boosts.push((Term::from_field_text(self.code, &code), 2.0));
            }
        }
        Ok((recall, boosts, heads))
    }

    /// The number of documents that hold `word` itself (any of its stems' terms,
    /// not its compound parts), summed over its terms.
    fn word_doc_freq(&self, word: &str) -> Result<u64> {
        let (recall, _, _) = self.word_terms_heads(word)?;
        let mut n = 0;
        for t in &recall {
            n += self
                .searcher
                .doc_freq(t)
                .map_err(|e| Error::internal(format!("search failed: {e}")))?;
        }
        Ok(n)
    }

    fn word_query(&self, word: &str) -> Result<WordQuery> {
        let (recall, boosts, heads) = self.word_terms_heads(word)?;
        let recall = recall
            .into_iter()
            .map(|t| term_query(t, 1.0))
            .chain(heads.into_iter().map(|t| term_query(t, HEAD_BOOST)))
            .collect();
        Ok(WordQuery {
            recall: any_of(recall).unwrap_or_else(|| Box::new(EmptyQuery)),
            boosts: boosts.into_iter().map(|(t, b)| term_query(t, b)).collect(),
        })
    }

    /// The one-pass plan's terms of a query (see [`super::topk`]): a word, or
    /// words that must all match, each the union of its stems' terms and its
    /// compound-head terms (weighted [`HEAD_BOOST`]), as [`Self::word_query`]
    /// builds it. None for any other shape (phrases, prefixes, OR, NOT, a word
    /// found nowhere).
    pub fn plan_terms(&self, n: &Node) -> Result<Option<(Vec<WordTerms>, Boosts)>> {
        let parts: &[Node] = match n {
            Node::And(parts) => parts,
            _ => std::slice::from_ref(n),
        };
        let (mut must, mut boosts) = (Vec::new(), Vec::new());
        for p in parts {
            let (Node::Word(w) | Node::Phrase(w)) = p else {
                return Ok(None);
            };
            let words = Self::words(w);
            match words.len() {
                0 => continue,
                1 => {}
                _ => return Ok(None),
            }
            let (recall, b, heads) = self.word_terms_heads(&words[0])?;
            let group: Vec<(Term, f32)> = recall
                .into_iter()
                .map(|t| (t, 1.0))
                .chain(heads.into_iter().map(|t| (t, HEAD_BOOST)))
                .collect();
            if group.is_empty() {
                return Ok(None);
            }
            must.push(group);
            boosts.extend(b);
        }
        Ok((!must.is_empty()).then_some((must, boosts)))
    }

    fn phrase_query(&self, words: &[String]) -> Result<Option<Box<dyn Query>>> {
        let mut seqs: Vec<Vec<String>> = Vec::new();
        for lang in Lang::ALL {
            let seq: Vec<String> = words
                .iter()
                .map(|w| analyzer::word_terms(w, lang).0)
                .collect();
            if !seqs.contains(&seq) {
                seqs.push(seq);
            }
        }
        let mut alternatives = Vec::new();
        for seq in seqs {
            let mut all = true;
            for t in &seq {
                all = all && self.occurs(self.text, t)?;
            }
            if all {
                alternatives.push(Box::new(PhraseQuery::new(
                    seq.iter()
                        .map(|t| Term::from_field_text(self.text, t))
                        .collect(),
                )) as Box<dyn Query>);
            }
        }
        Ok(Some(
            any_of(alternatives).unwrap_or_else(|| Box::new(EmptyQuery)),
        ))
    }

    /// The words of a query word or phrase as the text fields split them.
    fn words(text: &str) -> Vec<String> {
        tokens(&mut analyzer::base_analyzer(), text)
    }

    fn prefix_query(&self, p: &str) -> Result<Box<dyn Query>> {
        let folded = fold(p);
        let mut variants = vec![folded.clone()];
        // The text holds stems: "ohvriabikeskus*" must meet "ohvriabikesk". A
        // prefix is no word, though: a stem shorter than four letters ("qxam" →
        // "qx") would match far more than was typed, and is not used.
        for lang in Lang::ALL {
            let stem = analyzer::word_terms(&folded, lang).0;
            if stem.chars().count() >= MIN_PREFIX_STEM {
                push_new(&mut variants, stem);
            }
        }
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for v in &variants {
            let pat = format!("{}.*", regex::escape(v));
            let q = RegexQuery::from_pattern(&pat, self.text)
                .map_err(|e| Error::invalid_field("query", format!("prefix {p:?}: {e}")))?;
            should.push((Occur::Should, Box::new(q)));
        }
        Ok(Box::new(BooleanQuery::new(should)))
    }

    /// The relaxed query of one word: the word itself (its BM25 and
    /// [`WORD_EXACT`]), or a word within [`typo_distance`] of it ([`WORD_TYPO`],
    /// [`WORD_TITLE`] more in the title). Without `typos`, only the word's own
    /// spellings get those (what the typo look-up's distance 0 gives them), and
    /// no term dictionary is searched for its neighbours.
    fn relaxed_word(&self, word: &str, typos: bool) -> Result<Box<dyn Query>> {
        let exact = self.word_query(word)?.into_query();
        let mut should: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Should, exact.box_clone()),
            (
                Occur::Should,
                Box::new(ConstScoreQuery::new(exact, WORD_EXACT)),
            ),
        ];
        let dist = typo_distance(word.chars().count());
        if dist > 0 && !word.bytes().any(|b| b.is_ascii_digit()) {
            let variants = Self::near_variants(word);
            let near = |field: Field| -> Option<Box<dyn Query>> {
                any_of(
                    variants
                        .iter()
                        .map(|v| {
                            let term = Term::from_field_text(field, v);
                            if typos {
                                Box::new(FuzzyTermQuery::new(term, dist, true)) as Box<dyn Query>
                            } else {
                                Box::new(TermQuery::new(term, IndexRecordOption::Basic))
                            }
                        })
                        .collect(),
                )
            };
            if let Some(q) = near(self.text) {
                should.push((Occur::Should, Box::new(ConstScoreQuery::new(q, WORD_TYPO))));
            }
            // Misspelt words all score alike: one in the title ranks higher.
            if let Some(q) = near(self.title) {
                should.push((Occur::Should, Box::new(ConstScoreQuery::new(q, WORD_TITLE))));
            }
        }
        Ok(Box::new(BooleanQuery::new(should)))
    }

    /// The one-pass form of [`Self::relaxed_word`] without typos (see
    /// [`topk::run_some`]): the same terms, boosts and constants.
    fn some_word(&self, word: &str) -> Result<topk::SomeWord> {
        let (recall, boosts, heads) = self.word_terms_heads(word)?;
        let terms = recall
            .into_iter()
            .map(|t| (t, 1.0))
            .chain(heads.into_iter().map(|t| (t, HEAD_BOOST)))
            .collect();
        let mut near = Vec::new();
        if typo_distance(word.chars().count()) > 0 && !word.bytes().any(|b| b.is_ascii_digit()) {
            let variants = Self::near_variants(word);
            for (field, score) in [(self.text, WORD_TYPO), (self.title, WORD_TITLE)] {
                let terms = variants
                    .iter()
                    .map(|v| Term::from_field_text(field, v))
                    .collect();
                near.push((terms, score));
            }
        }
        Ok(topk::SomeWord {
            terms,
            boosts,
            near,
        })
    }

    /// The spellings of a word that its typo look-up starts from: its Estonian
    /// lemma and the word folded.
    fn near_variants(word: &str) -> Vec<String> {
        let mut variants = Vec::new();
        push_new(&mut variants, analyzer::word_terms(word, Lang::Et).0);
        push_new(&mut variants, fold(word));
        variants
    }

    /// The query of a word or a phrase: None when it holds no words.
    fn words_query(&self, text: &str) -> Result<Option<WordQuery>> {
        let words = Self::words(text);
        Ok(match words.len() {
            0 => None,
            1 => Some(self.word_query(&words[0])?),
            _ => self.phrase_query(&words)?.map(|recall| WordQuery {
                recall,
                boosts: Vec::new(),
            }),
        })
    }

    /// Builds the tantivy query of a node; None when nothing searchable is left.
    pub fn build(&self, n: &Node) -> Result<Option<Box<dyn Query>>> {
        Ok(match n {
            Node::Word(w) | Node::Phrase(w) => self.words_query(w)?.map(WordQuery::into_query),
            Node::Prefix(p) => Some(self.prefix_query(p)?),
            Node::Or(parts) => {
                let mut should = Vec::new();
                for p in parts {
                    if let Some(q) = self.build(p)? {
                        should.push(q);
                    }
                }
                any_of(should)
            }
            Node::And(parts) => {
                // Words are flattened into this level: their recall terms as MUST
                // clauses (tantivy intersects plain term lists fastest), their
                // boosts as SHOULD clauses, which only score what matched.
                let mut clauses = Vec::new();
                let mut boosts = Vec::new();
                let mut positive = false;
                for p in parts {
                    match p {
                        Node::Not(inner) => {
                            if let Some(q) = self.build(inner)? {
                                clauses.push((Occur::MustNot, q));
                            }
                        }
                        Node::Word(w) | Node::Phrase(w) => {
                            if let Some(wq) = self.words_query(w)? {
                                positive = true;
                                clauses.push((Occur::Must, wq.recall));
                                boosts.extend(wq.boosts.into_iter().map(|b| (Occur::Should, b)));
                            }
                        }
                        _ => {
                            if let Some(q) = self.build(p)? {
                                positive = true;
                                clauses.push((Occur::Must, q));
                            }
                        }
                    }
                }
                if clauses.is_empty() {
                    None
                } else {
                    if !positive {
                        clauses.push((Occur::Must, Box::new(AllQuery)));
                    }
                    clauses.extend(boosts);
                    Some(Box::new(BooleanQuery::new(clauses)))
                }
            }
            Node::Not(inner) => self.build(inner)?.map(|q| {
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
                    (Occur::MustNot, q),
                ])) as Box<dyn Query>
            }),
        })
    }
}

/// The folded terms to highlight in snippets (positive words only).
pub fn highlight_terms(n: &Node, out: &mut BTreeMap<String, f32>) {
    match n {
        Node::Word(w) | Node::Phrase(w) => {
            for t in tokens(&mut fold_analyzer(), w) {
                out.insert(t, 1.0);
            }
        }
        Node::Prefix(_) | Node::Not(_) => {}
        Node::And(ps) | Node::Or(ps) => {
            for p in ps {
                highlight_terms(p, out);
            }
        }
    }
}

fn term_q(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

fn u64_q(field: Field, value: u64) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_u64(field, value),
        IndexRecordOption::Basic,
    ))
}

fn all_of(qs: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        qs.into_iter().map(|q| (Occur::Must, q)).collect(),
    ))
}

/// The clause that lets a caller see exactly one projection of each document.
/// Only meaningful on the staff index.
pub fn access_clause(f: &Fields, a: &Allowed) -> Box<dyn Query> {
    let mut allowed: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if let Some(u) = &a.user {
        allowed.push((Occur::Should, term_q(f.responsible, u)));
    }
    if !a.units.is_empty() {
        allowed.push((
            Occur::Should,
            Box::new(TermSetQuery::new(
                a.units.iter().map(|u| Term::from_field_text(f.unit, u)),
            )),
        ));
    }
    if !a.threads.is_empty() {
        allowed.push((
            Occur::Should,
            Box::new(TermSetQuery::new(
                a.threads
                    .iter()
                    .map(|t| Term::from_field_u64(f.thread_id, *t as u64)),
            )),
        ));
    }
    if !a.docs.is_empty() {
        allowed.push((
            Occur::Should,
            Box::new(TermSetQuery::new(
                a.docs
                    .iter()
                    .map(|d| Term::from_field_u64(f.doc_id, *d as u64)),
            )),
        ));
    }
    let public_full = all_of(vec![term_q(f.kind, KIND_FULL), u64_q(f.restricted, 0)]);
    let mut options: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, public_full)];
    if allowed.is_empty() {
        options.push((Occur::Should, term_q(f.kind, KIND_MASKED)));
    } else {
        let allowed_q: Box<dyn Query> = Box::new(BooleanQuery::new(allowed));
        options.push((
            Occur::Should,
            all_of(vec![
                term_q(f.kind, KIND_FULL),
                u64_q(f.restricted, 1),
                allowed_q.box_clone(),
            ]),
        ));
        options.push((
            Occur::Should,
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, term_q(f.kind, KIND_MASKED)),
                (Occur::MustNot, allowed_q),
            ])),
        ));
    }
    let clause: Box<dyn Query> = Box::new(BooleanQuery::new(options));
    if a.exclude.is_empty() {
        return clause;
    }
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, clause),
        (
            Occur::MustNot,
            Box::new(TermSetQuery::new(
                a.exclude
                    .iter()
                    .map(|d| Term::from_field_u64(f.doc_id, *d as u64)),
            )),
        ),
    ]))
}

/// What a caller may see of the index searched.
#[derive(Clone)]
pub enum Access {
    /// The public index: everything in it.
    Public,
    /// The staff index, every document in full (clerks and leads).
    Full,
    /// The staff index for a staff member: [`access_clause`].
    Staff(Allowed),
}

/// The access of `caller` on the staff index.
pub fn staff_access(caller: &Caller) -> Access {
    match caller {
        Caller::All | Caller::Public => Access::Full,
        Caller::Staff(a) => Access::Staff(a.clone()),
    }
}

/// The filters of a request, validated once: the metadata filters, which become
/// cached bitsets when the query has words (see [`super::filter`]), and the
/// filters that are always queries (party, the deadline's documents).
pub struct Filters {
    pub meta: Vec<Box<dyn Query>>,
    pub queries: Vec<Box<dyn Query>>,
}

/// The filters of a request as seen with `access`.
pub fn filters(f: &Fields, req: &SearchRequest, access: Access) -> Result<Filters> {
    let mut out = Filters {
        meta: Vec::new(),
        queries: Vec::new(),
    };
    match access {
        Access::Public => {}
        Access::Full => out.meta.push(term_q(f.kind, KIND_FULL)),
        Access::Staff(a) => out.meta.push(access_clause(f, &a)),
    }
    if let Some(v) = &req.series {
        out.meta.push(term_q(f.series, v));
    }
    if let Some(v) = &req.doc_type {
        out.meta.push(term_q(f.doc_type, v));
    }
    if let Some(d) = req.direction {
        out.meta.push(term_q(f.direction, d.as_str()));
    }
    if let Some(r) = req.restricted {
        out.meta.push(u64_q(f.restricted, u64::from(r)));
    }
    match (&req.deadline, &req.only_docs) {
        (_, Some(ids)) => out.queries.push(Box::new(TermSetQuery::new(
            ids.iter().map(|i| Term::from_field_u64(f.doc_id, *i)),
        ))),
        (Some(d), None) => {
            return Err(Error::internal(format!(
                "deadline filter {d:?} was not resolved to documents"
            )))
        }
        (None, None) => {}
    }
    if let Some(p) = &req.party {
        let toks = tokens(&mut fold_analyzer(), p);
        match toks.len() {
            0 => {
                return Err(Error::invalid_field(
                    "party",
                    format!("{p:?}: no words in it"),
                ))
            }
            1 => out.queries.push(Box::new(TermQuery::new(
                Term::from_field_text(f.party, &toks[0]),
                IndexRecordOption::Basic,
            ))),
            _ => out.queries.push(Box::new(PhraseQuery::new(
                toks.iter()
                    .map(|t| Term::from_field_text(f.party, t))
                    .collect(),
            ))),
        }
    }
    if let (Some(a), Some(b)) = (req.from, req.to) {
        if a > b {
            return Err(Error::invalid_field(
                "from",
                format!("{a} is after the end of the range, {b}"),
            ));
        }
    }
    if req.from.is_some() || req.to.is_some() {
        let bound = |d: Option<Date>| match d {
            Some(d) => Bound::Included(Term::from_field_i64(f.registered, date_key(d))),
            None => Bound::Unbounded,
        };
        out.meta
            .push(Box::new(RangeQuery::new(bound(req.from), bound(req.to))));
    }
    Ok(out)
}

/// BM25 statistics taken from the public index only, so that no score depends on
/// text the caller may not see. Where the public index holds no tokens of a field
/// (every document restricted), a nominal average length keeps scores meaningful.
struct PublicStats<'a>(&'a Searcher);

impl Bm25StatisticsProvider for PublicStats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let n = Bm25StatisticsProvider::total_num_tokens(self.0, field)?;
        Ok(if n == 0 {
            self.total_num_docs()? * 100
        } else {
            n
        })
    }
    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(Bm25StatisticsProvider::total_num_docs(self.0)?.max(1))
    }
    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        self.0.doc_freq(term)
    }
}

/// The ranked page of a search: what the index answers before any stored field
/// is read.
pub struct Ranked {
    /// Exact number of matching documents.
    pub total: u64,
    /// The page: score (0 when sorted by date) and address.
    pub top: Vec<(f32, DocAddress)>,
    pub facets: Option<tantivy::collector::FacetCounts>,
    /// Whether the one-pass plan of [`topk`] answered (else tantivy's generic plan).
    pub one_pass: bool,
    /// How many of `top` match all the words: the rest match some of them.
    pub all_hits: usize,
    /// Documents matching only some of the words (0 unless the page reached them).
    pub relaxed: u64,
    node: Option<Node>,
}

/// Ranks a search on `searcher`, scoring with `stats` (the public index's searcher).
pub fn rank(
    f: &Fields,
    searcher: &Searcher,
    stats: &Searcher,
    req: &SearchRequest,
    access: Access,
) -> Result<Ranked> {
    rank_with(f, searcher, stats, req, access, true)
}

/// [`rank`], with `one_pass` false: through tantivy's generic boolean plan only,
/// never the one-pass plan of [`topk`] (what the two are compared against in
/// tests and the benchmark).
///
/// Relaxed matching: when the words of a relevance search (words only, no
/// phrase, OR, NOT or prefix) match all together fewer documents than the page
/// reaches, the page is filled with documents that match some of them, within
/// the same access and filters, ranked by how many words match (exactly, then
/// within the typo distance: typo candidates are looked up for a word that the
/// public index holds in fewer documents than the page reaches) and by BM25;
/// [`Ranked::all_hits`] says where they start and [`Ranked::relaxed`] counts them.
pub fn rank_with(
    f: &Fields,
    searcher: &Searcher,
    stats: &Searcher,
    req: &SearchRequest,
    access: Access,
    one_pass: bool,
) -> Result<Ranked> {
    let mut ranked = rank_all(f, searcher, stats, req, access.clone(), one_pass)?;
    ranked.all_hits = ranked.top.len();
    let want = req.offset + req.limit;
    if analyzer::snowball_only()
        || req.sort != Sort::Relevance
        || req.limit == 0
        || ranked.total as usize >= want
    {
        return Ok(ranked);
    }
    let Some(node) = &ranked.node else {
        return Ok(ranked);
    };
    let Some(words) = relaxable_words(node) else {
        return Ok(ranked);
    };
    let tf = TextFields::new(f, searcher);
    let public = TextFields::new(f, stats);
    // Typo candidates only for a word found in fewer documents than the page
    // reaches: a word that alone fills the page is no misspelling to correct,
    // and a Levenshtein automaton over a large term dictionary, with the posting
    // lists of every term it accepts (a common word's neighbours are common
    // too), would cost milliseconds. Counted in the public index, as scores are,
    // so that no hidden text decides it.
    let mut typos = Vec::with_capacity(words.len());
    for w in &words {
        typos.push(public.word_doc_freq(w)? < want as u64);
    }
    let offset = req.offset.saturating_sub(ranked.total as usize);
    let limit = want - (ranked.total as usize).max(req.offset);
    let mut filters = filters(f, req, access)?;
    if one_pass && !typos.contains(&true) && filters.queries.is_empty() {
        // Terms only (no typo look-up): the one-pass plan of `topk::run_some`.
        let mut some = Vec::with_capacity(words.len());
        for w in &words {
            some.push(tf.some_word(w)?);
        }
        let meta = std::mem::take(&mut filters.meta);
        let plan = topk::SomePlan {
            words: some,
            matched: WORD_EXACT,
            filter: (!meta.is_empty()).then(|| FilterQuery::new(meta)),
        };
        let (top, count) = topk::run_some(&plan, searcher, &PublicStats(stats), limit, offset)?;
        ranked.top.extend(top);
        ranked.relaxed = count;
        return Ok(ranked);
    }
    let mut should = Vec::new();
    for (w, typos) in words.iter().zip(typos) {
        should.push((Occur::Should, tf.relaxed_word(w, typos)?));
    }
    let all = tf.build(node)?.unwrap_or_else(|| Box::new(EmptyQuery));
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
        (Occur::Must, Box::new(BooleanQuery::new(should))),
        (Occur::MustNot, all),
    ];
    if !filters.meta.is_empty() {
        clauses.push((Occur::Must, Box::new(FilterQuery::new(filters.meta))));
    }
    clauses.extend(filters.queries.into_iter().map(|q| {
        (
            Occur::Must,
            Box::new(ConstScoreQuery::new(q, 0.0)) as Box<dyn Query>,
        )
    }));
    let query = BooleanQuery::new(clauses);
    let top = TopDocs::with_limit(limit.max(1))
        .and_offset(offset)
        .order_by_score();
    let (some, count) = searcher
        .search_with_statistics_provider(&query, &(top, Count), &PublicStats(stats))
        .map_err(|e| Error::internal(format!("search failed: {e}")))?;
    ranked.top.extend(some.into_iter().take(limit));
    ranked.relaxed = count as u64;
    Ok(ranked)
}

/// The words of a query that relaxed matching may take apart: a word, or words
/// that must all match; None for any other shape (phrases, OR, NOT, prefixes).
fn relaxable_words(n: &Node) -> Option<Vec<String>> {
    let parts: &[Node] = match n {
        Node::And(parts) => parts,
        _ => std::slice::from_ref(n),
    };
    let mut out = Vec::new();
    for p in parts {
        // A phrase asks for its words together: it is not taken apart.
        let Node::Word(w) = p else {
            return None;
        };
        // A word of several ("9-13/5") is searched as a phrase: likewise.
        let words = TextFields::words(w);
        if words.len() > 1 {
            return None;
        }
        for word in words {
            push_new(&mut out, word);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The all-words page and its exact count, without relaxed hits: the same
/// answer PostgreSQL's full-text search gives (the benchmark's like-for-like
/// measure beside [`rank`]).
pub fn rank_all_words(
    f: &Fields,
    searcher: &Searcher,
    stats: &Searcher,
    req: &SearchRequest,
    access: Access,
) -> Result<Ranked> {
    rank_all(f, searcher, stats, req, access, true)
}

fn rank_all(
    f: &Fields,
    searcher: &Searcher,
    stats: &Searcher,
    req: &SearchRequest,
    access: Access,
    one_pass: bool,
) -> Result<Ranked> {
    check_page(req)?;
    let node = parse(&req.query)?;
    let mut filters = filters(f, req, access)?;
    let stats_p = PublicStats(stats);
    if one_pass && req.sort == Sort::Relevance && !req.facets && filters.queries.is_empty() {
        if let Some(n) = &node {
            if let Some((must, boosts)) = TextFields::new(f, searcher).plan_terms(n)? {
                let meta = std::mem::take(&mut filters.meta);
                let plan = topk::Plan {
                    must,
                    boosts,
                    filter: (!meta.is_empty()).then(|| FilterQuery::new(meta)),
                };
                let own = std::ptr::eq(searcher, stats);
                let (top, total) =
                    topk::run(&plan, searcher, &stats_p, req.limit, req.offset, own)?;
                return Ok(Ranked {
                    total,
                    top,
                    facets: None,
                    one_pass: true,
                    all_hits: 0,
                    relaxed: 0,
                    node,
                });
            }
        }
    }
    let text_q: Option<Box<dyn Query>> = match &node {
        None => None,
        Some(n) => Some(
            TextFields::new(f, searcher)
                .build(n)?
                .unwrap_or_else(|| Box::new(EmptyQuery)),
        ),
    };
    let constant = |q: Box<dyn Query>| -> (Occur, Box<dyn Query>) {
        (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)))
    };
    // With words, the words' lists drive and the metadata is read from columns for
    // each candidate; without, the metadata's posting lists are the query.
    let query: Box<dyn Query> = match text_q {
        Some(t) if filters.meta.is_empty() && filters.queries.is_empty() => t,
        Some(t) => {
            let mut clauses = vec![(Occur::Must, t)];
            if !filters.meta.is_empty() {
                clauses.push((Occur::Must, Box::new(FilterQuery::new(filters.meta))));
            }
            clauses.extend(filters.queries.into_iter().map(constant));
            Box::new(BooleanQuery::new(clauses))
        }
        None => {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(AllQuery))];
            clauses.extend(
                filters
                    .meta
                    .into_iter()
                    .chain(filters.queries)
                    .map(constant),
            );
            Box::new(BooleanQuery::new(clauses))
        }
    };

    let facet_c = || {
        let mut c = FacetCollector::for_field("facet");
        for k in ["/series", "/type", "/direction"] {
            c.add_facet(k);
        }
        c
    };
    let stats = &stats_p;
    let map_err = |e: tantivy::TantivyError| Error::internal(format!("search failed: {e}"));
    let limit = req.limit.max(1);
    let (top, total, facets): (Vec<(f32, DocAddress)>, usize, _) = match req.sort {
        Sort::Relevance => {
            let top = TopDocs::with_limit(limit)
                .and_offset(req.offset)
                .order_by_score();
            if req.facets {
                let (t, c, fc) = searcher
                    .search_with_statistics_provider(&query, &(top, Count, facet_c()), stats)
                    .map_err(map_err)?;
                (t, c, Some(fc))
            } else {
                let (t, c) = searcher
                    .search_with_statistics_provider(&query, &(top, Count), stats)
                    .map_err(map_err)?;
                (t, c, None)
            }
        }
        Sort::Newest | Sort::Oldest => {
            let order = if req.sort == Sort::Newest {
                Order::Desc
            } else {
                Order::Asc
            };
            let top = TopDocs::with_limit(limit)
                .and_offset(req.offset)
                .order_by_fast_field::<i64>("registered", order);
            let (t, c, fc) = if req.facets {
                let (t, c, fc) = searcher
                    .search(&query, &(top, Count, facet_c()))
                    .map_err(map_err)?;
                (t, c, Some(fc))
            } else {
                let (t, c) = searcher.search(&query, &(top, Count)).map_err(map_err)?;
                (t, c, None)
            };
            (t.into_iter().map(|(_, a)| (0.0, a)).collect(), c, fc)
        }
    };
    Ok(Ranked {
        total: total as u64,
        top: if req.limit == 0 { Vec::new() } else { top },
        facets,
        one_pass: false,
        all_hits: 0,
        relaxed: 0,
        node,
    })
}

/// Runs a search on `searcher` (see [`rank`]) and reads its page's stored fields
/// and snippets.
pub fn execute(
    f: &Fields,
    searcher: &Searcher,
    stats: &Searcher,
    req: &SearchRequest,
    access: Access,
    snippet_chars: usize,
) -> Result<SearchResults> {
    let ranked = rank(f, searcher, stats, req, access)?;
    let mut terms = BTreeMap::new();
    if let Some(n) = &ranked.node {
        highlight_terms(n, &mut terms);
    }
    let snippets = SnippetGenerator::new(
        terms.clone(),
        analyzer::snippet_analyzer(terms.keys()),
        f.snip,
        snippet_chars,
    );
    let mut hits = Vec::with_capacity(ranked.top.len());
    for (i, (score, addr)) in ranked.top.into_iter().enumerate() {
        let doc: TantivyDocument = searcher
            .doc(addr)
            .map_err(|e| Error::internal(format!("cannot read search hit: {e}")))?;
        let s = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        // No snippet asked for (snippet_chars 0): skip the analysis of the text,
        // the largest part of a query's time.
        let text = if snippet_chars == 0 {
            String::new()
        } else {
            s(f.snip)
        };
        let snippet = if text.is_empty() {
            String::new()
        } else {
            let sn = snippets.snippet(snippet_window(&text, &terms, snippet_chars));
            if sn.highlighted().is_empty() {
                html_escape(first_chars(&text, snippet_chars))
            } else {
                sn.to_html()
            }
        };
        hits.push(Hit {
            doc_id: doc
                .get_first(f.doc_id)
                .and_then(|v| v.as_u64())
                .unwrap_or_default() as i64,
            reg_no: s(f.reg_no),
            title: s(f.title_stored),
            score,
            snippet,
            registered: doc
                .get_first(f.registered)
                .and_then(|v| v.as_i64())
                .and_then(key_date),
            restricted: doc.get_first(f.restricted).and_then(|v| v.as_u64()) == Some(1),
            matched: if i < ranked.all_hits {
                Matched::All
            } else {
                Matched::Some
            },
        });
    }
    let mut facets = BTreeMap::new();
    if let Some(fc) = ranked.facets {
        for k in ["series", "type", "direction"] {
            let mut m = BTreeMap::new();
            for (facet, count) in fc.get(format!("/{k}").as_str()) {
                let label = facet
                    .to_path()
                    .last()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                m.insert(label, count);
            }
            facets.insert(k.to_string(), m);
        }
    }
    Ok(SearchResults {
        total: ranked.total,
        relaxed: ranked.relaxed,
        hits,
        facets,
    })
}

/// The part of `text` around the first place where a highlight term appears
/// (compared folded, as a substring), wide enough for the snippet; the whole
/// text when none is found there (a stem such as "ohvr" is not a substring of
/// "ohver"). Spares stemming whole documents for every hit: the snippet
/// analyser then reads a few hundred characters instead of kilobytes.
fn snippet_window<'a>(text: &'a str, terms: &BTreeMap<String, f32>, chars: usize) -> &'a str {
    let width = chars.max(1) * 2;
    if text.len() <= width * 3 {
        return text;
    }
    let mut folded: Vec<(usize, char)> = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        for l in c.to_lowercase() {
            folded.push((i, analyzer::fold_char(l)));
        }
    }
    let first = terms
        .keys()
        .filter_map(|t| {
            let t: Vec<char> = t.chars().collect();
            if t.is_empty() {
                return None;
            }
            folded
                .windows(t.len())
                .position(|w| w.iter().map(|x| x.1).eq(t.iter().copied()))
        })
        .min();
    let Some(pos) = first else {
        return text;
    };
    let at = folded[pos].0;
    let mut start = at.saturating_sub(width);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + width * 2).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    &text[start..end]
}

fn first_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod window_tests {
    use super::*;

    #[test]
    fn snippet_window_is_around_the_first_folded_match_or_the_whole_text() {
        let long = format!("{} Tõnis ohvrile {}", "a ".repeat(2000), "b ".repeat(2000));
        let mut terms = BTreeMap::new();
        terms.insert("tonis".to_string(), 1.0);
        let w = snippet_window(&long, &terms, 50);
        assert!(w.contains("Tõnis ohvrile"), "{w}");
        assert!(w.len() < 400 && w.len() < long.len(), "{}", w.len());
        // a stem that is no substring of the text: the whole text
        let mut stem = BTreeMap::new();
        stem.insert("ohvr".to_string(), 1.0);
        let other = format!("{} ohver {}", "a ".repeat(2000), "b ".repeat(2000));
        assert_eq!(snippet_window(&other, &stem, 50).len(), other.len());
        // short texts are returned whole
        assert_eq!(snippet_window("lühike tekst", &terms, 50), "lühike tekst");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Node {
        Node::Word(s.into())
    }

    #[test]
    fn parses_the_query_language() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("ohver").unwrap(), Some(w("ohver")));
        assert_eq!(
            parse("ohver hüvitis").unwrap(),
            Some(Node::And(vec![w("ohver"), w("hüvitis")]))
        );
        assert_eq!(
            parse("a OR b AND c").unwrap(),
            Some(Node::Or(vec![w("a"), Node::And(vec![w("b"), w("c")])]))
        );
        assert_eq!(
            parse("ohver -politsei").unwrap(),
            Some(Node::And(vec![
                w("ohver"),
                Node::Not(Box::new(w("politsei")))
            ]))
        );
        assert_eq!(
            parse("NOT (a OR b)").unwrap(),
            Some(Node::Not(Box::new(Node::Or(vec![w("a"), w("b")]))))
        );
        assert_eq!(
            parse("\"kuriteo ohver\" ohvriabi*").unwrap(),
            Some(Node::And(vec![
                Node::Phrase("kuriteo ohver".into()),
                Node::Prefix("ohvriabi".into())
            ]))
        );
        assert_eq!(parse("8-1/5424").unwrap(), Some(w("8-1/5424")));
    }

    #[test]
    fn bad_queries_are_clear_errors() {
        for (q, needle) in [
            ("\"open", "quote is not closed"),
            ("(a OR b", "parenthesis is not closed"),
            ("a)", "unexpected ')'"),
            ("o*", "too short"),
            (&"(".repeat(17), "nested more than 16 deep"),
            (&"NOT ".repeat(17), "nested more than 16 deep"),
        ] {
            let e = parse(q).unwrap_err().to_string();
            assert!(e.contains(needle), "{q}: {e}");
            assert!(e.starts_with("invalid query"), "{e}");
        }
    }

    #[test]
    fn query_depth_and_length_are_bounded() {
        // 16 levels parse; 17 are refused, whatever mixes them.
        let ok = format!("{}ohver{}", "(".repeat(16), ")".repeat(16));
        assert_eq!(parse(&ok).unwrap(), Some(w("ohver")));
        let ok = format!("{}ohver{}", "(NOT ".repeat(8), ")".repeat(8));
        assert!(parse(&ok).unwrap().is_some());
        let deep = format!("{}ohver{}", "(NOT ".repeat(9), ")".repeat(9));
        assert!(parse(&deep).is_err());
        // 5,000 nested parentheses: an invalid query, not a stack overflow
        let bomb = format!("{}a{}", "(".repeat(5000), ")".repeat(5000));
        let e = parse(&bomb).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Invalid);
        let long = "a ".repeat(MAX_QUERY_CHARS / 2 + 1);
        let e = parse(&long).unwrap_err().to_string();
        assert!(e.contains("at most 1000"), "{e}");
        assert!(parse(&"a ".repeat(MAX_QUERY_CHARS / 2)).is_ok());
    }

    #[test]
    fn search_page_is_capped_naming_the_field() {
        let mut r = SearchRequest {
            offset: MAX_OFFSET,
            limit: MAX_LIMIT,
            ..Default::default()
        };
        check_page(&r).unwrap();
        r.offset = 1_000_000_000;
        let e = check_page(&r).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Invalid);
        assert!(e.to_string().contains("invalid offset"), "{e}");
        r.offset = 0;
        r.limit = MAX_LIMIT + 1;
        assert!(check_page(&r)
            .unwrap_err()
            .to_string()
            .contains("invalid limit"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Any input up to 5,000 characters: a tree or an invalid-query error,
        /// never a panic or a stack overflow.
        #[test]
        fn parser_never_panics_on_arbitrary_input(
            q in proptest::string::string_regex("(?s)[()\"“”„ a-zA-ZõäöüÕ*+&|\\-]{0,5000}|.{0,5000}").unwrap(),
            nest in 0usize..40,
        ) {
            for input in [q.clone(), format!("{}{q}{}", "(".repeat(nest), ")".repeat(nest)),
                          format!("{}{q}", "NOT ".repeat(nest))] {
                match parse(&input) {
                    Ok(_) => {}
                    Err(e) => proptest::prop_assert_eq!(e.kind(), crate::error::ErrorKind::Invalid),
                }
            }
        }
    }
}
