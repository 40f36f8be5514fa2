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

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{
    AllQuery, Bm25StatisticsProvider, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, Occur,
    PhraseQuery, Query, RangeQuery, RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use super::analyzer::{self, fold, fold_analyzer, tokens, Lang, CODE, FOLD};
use super::schema::{date_key, key_date, Fields, KIND_FULL, KIND_MASKED};
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
                return Err(Error::invalid(format!(
                    "invalid sort {other:?}: expected relevance, newest or oldest"
                )))
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
                return Err(Error::invalid(format!(
                    "invalid deadline filter {other:?}: expected open, due_soon, overdue, answered or stopped"
                )))
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

/// Largest page.
pub const MAX_LIMIT: usize = 1000;

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
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// Exact number of matching documents.
    pub total: u64,
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
                return Err(Error::invalid(format!(
                    "invalid search query {q:?}: a quote is not closed"
                )));
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

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    q: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
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
                Ok(self.unary()?.map(|n| Node::Not(Box::new(n))))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(Error::invalid(format!(
                        "invalid search query {:?}: a parenthesis is not closed",
                        self.q
                    )));
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
                        return Err(Error::invalid(format!(
                            "invalid search query {:?}: the prefix {w:?} is too short (at least two letters)",
                            self.q
                        )));
                    }
                    Ok(Some(Node::Prefix(p.to_string())))
                } else {
                    Ok(Some(Node::Word(w)))
                }
            }
            Some(Tok::RParen) => Err(Error::invalid(format!(
                "invalid search query {:?}: unexpected ')'",
                self.q
            ))),
            _ => Ok(None),
        }
    }
}

/// Parses the query language; None for an empty query (match everything).
pub fn parse(q: &str) -> Result<Option<Node>> {
    let mut p = Parser {
        toks: lex(q)?,
        pos: 0,
        q,
    };
    let n = p.or()?;
    if p.pos < p.toks.len() {
        return Err(Error::invalid(format!(
            "invalid search query {q:?}: unexpected ')'"
        )));
    }
    Ok(n)
}

// ---------------------------------------------------------------- building

/// The text fields a word is looked up in, with their analysers and boosts.
pub struct TextFields {
    fields: Vec<(Field, TextAnalyzer, f32)>,
    fold: Field,
    party: Field,
    code: Field,
}

impl TextFields {
    /// The text fields of `f`, built once: building twelve analysers (stemmers
    /// included) for every query cost more than running the query. The schema
    /// is fixed, so the fields are the same for every index of this program.
    pub fn cached(f: &Fields) -> &'static TextFields {
        static CACHE: std::sync::OnceLock<TextFields> = std::sync::OnceLock::new();
        let tf = CACHE.get_or_init(|| TextFields::new(f));
        debug_assert!(tf.fold == f.fold && tf.code == f.code);
        tf
    }

    pub fn new(f: &Fields) -> TextFields {
        let mut fields = Vec::new();
        for lang in Lang::ALL {
            let i = Fields::lang_idx(lang);
            fields.push((f.title[i], analyzer::lang_analyzer(lang), 2.0));
            fields.push((f.body[i], analyzer::lang_analyzer(lang), 1.0));
            fields.push((f.att[i], analyzer::lang_analyzer(lang), 0.7));
        }
        let tm = tantivy::tokenizer::TokenizerManager::default();
        analyzer::register(&tm);
        let code_an = tm.get(CODE).expect("registered");
        fields.push((f.fold, fold_analyzer(), 0.4));
        fields.push((f.party, tm.get(FOLD).expect("registered"), 1.5));
        fields.push((f.code, code_an, 2.0));
        TextFields {
            fields,
            fold: f.fold,
            party: f.party,
            code: f.code,
        }
    }

    fn text_query(&self, text: &str) -> Option<Box<dyn Query>> {
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut seen: HashSet<(Field, Vec<String>)> = HashSet::new();
        for (field, an, boost) in &self.fields {
            let toks = tokens(&mut an.clone(), text);
            if toks.is_empty() || !seen.insert((*field, toks.clone())) {
                continue;
            }
            let q: Box<dyn Query> = if toks.len() == 1 {
                Box::new(TermQuery::new(
                    Term::from_field_text(*field, &toks[0]),
                    IndexRecordOption::WithFreqs,
                ))
            } else {
                Box::new(PhraseQuery::new(
                    toks.iter()
                        .map(|t| Term::from_field_text(*field, t))
                        .collect(),
                ))
            };
            should.push((Occur::Should, Box::new(BoostQuery::new(q, *boost))));
        }
        if should.is_empty() {
            None
        } else {
            Some(Box::new(BooleanQuery::new(should)))
        }
    }

    fn prefix_query(&self, p: &str) -> Result<Box<dyn Query>> {
        let folded = fold(p);
        let mut variants = vec![folded.clone()];
        // The folded field holds stems: "ohvriabikeskus*" must meet "ohvriabikesk".
        let stemmed = tokens(&mut fold_analyzer(), &folded);
        if stemmed.len() == 1 && stemmed[0] != folded {
            variants.push(stemmed[0].clone());
        }
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for v in &variants {
            let pat = format!("{}.*", regex::escape(v));
            for field in [self.fold, self.party, self.code] {
                let q = RegexQuery::from_pattern(&pat, field).map_err(|e| {
                    Error::invalid(format!("invalid search query: prefix {p:?}: {e}"))
                })?;
                should.push((Occur::Should, Box::new(q)));
            }
        }
        Ok(Box::new(BooleanQuery::new(should)))
    }

    /// Builds the tantivy query of a node; None when nothing searchable is left.
    pub fn build(&self, n: &Node) -> Result<Option<Box<dyn Query>>> {
        Ok(match n {
            Node::Word(w) | Node::Phrase(w) => self.text_query(w),
            Node::Prefix(p) => Some(self.prefix_query(p)?),
            Node::Or(parts) => {
                let mut should = Vec::new();
                for p in parts {
                    if let Some(q) = self.build(p)? {
                        should.push((Occur::Should, q));
                    }
                }
                if should.is_empty() {
                    None
                } else {
                    Some(Box::new(BooleanQuery::new(should)))
                }
            }
            Node::And(parts) => {
                let mut clauses = Vec::new();
                let mut positive = false;
                for p in parts {
                    match p {
                        Node::Not(inner) => {
                            if let Some(q) = self.build(inner)? {
                                clauses.push((Occur::MustNot, q));
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

    /// The folded terms to highlight in snippets (positive words only).
    pub fn highlight_terms(&self, n: &Node, out: &mut BTreeMap<String, f32>) {
        match n {
            Node::Word(w) | Node::Phrase(w) => {
                for t in tokens(&mut fold_analyzer(), w) {
                    out.insert(t, 1.0);
                }
            }
            Node::Prefix(_) | Node::Not(_) => {}
            Node::And(ps) | Node::Or(ps) => {
                for p in ps {
                    self.highlight_terms(p, out);
                }
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
pub fn access_clause(f: &Fields, caller: &Caller) -> Box<dyn Query> {
    match caller {
        Caller::All | Caller::Public => term_q(f.kind, KIND_FULL),
        Caller::Staff(a) => {
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
            Box::new(BooleanQuery::new(options))
        }
    }
}

/// The filter clauses of a request.
pub fn filter_clauses(f: &Fields, req: &SearchRequest) -> Result<Vec<Box<dyn Query>>> {
    let mut out: Vec<Box<dyn Query>> = Vec::new();
    if let Some(s) = &req.series {
        out.push(term_q(f.series, s));
    }
    if let Some(t) = &req.doc_type {
        out.push(term_q(f.doc_type, t));
    }
    if let Some(d) = req.direction {
        out.push(term_q(f.direction, d.as_str()));
    }
    if let Some(r) = req.restricted {
        out.push(u64_q(f.restricted, u64::from(r)));
    }
    match (&req.deadline, &req.only_docs) {
        (_, Some(ids)) => out.push(Box::new(TermSetQuery::new(
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
                return Err(Error::invalid(format!(
                    "invalid party filter {p:?}: no words in it"
                )))
            }
            1 => out.push(Box::new(TermQuery::new(
                Term::from_field_text(f.party, &toks[0]),
                IndexRecordOption::Basic,
            ))),
            _ => out.push(Box::new(PhraseQuery::new(
                toks.iter()
                    .map(|t| Term::from_field_text(f.party, t))
                    .collect(),
            ))),
        }
    }
    if let (Some(a), Some(b)) = (req.from, req.to) {
        if a > b {
            return Err(Error::invalid(format!(
                "invalid date range: --from {a} is after --to {b}"
            )));
        }
    }
    if req.from.is_some() || req.to.is_some() {
        let lo = match req.from {
            Some(d) => Bound::Included(Term::from_field_i64(f.registered, date_key(d))),
            None => Bound::Unbounded,
        };
        let hi = match req.to {
            Some(d) => Bound::Included(Term::from_field_i64(f.registered, date_key(d))),
            None => Bound::Unbounded,
        };
        out.push(Box::new(RangeQuery::new(lo, hi)));
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

/// Runs a search on `searcher`, scoring with `stats` (the public index's searcher).
/// `access` is the access clause (None on the public index, which holds nothing else).
pub fn execute(
    f: &Fields,
    searcher: &Searcher,
    stats: &Searcher,
    req: &SearchRequest,
    access: Option<Box<dyn Query>>,
    snippet_chars: usize,
) -> Result<SearchResults> {
    if req.limit > MAX_LIMIT {
        return Err(Error::invalid(format!(
            "invalid limit {}: at most {MAX_LIMIT}",
            req.limit
        )));
    }
    let tf = TextFields::cached(f);
    let node = parse(&req.query)?;
    let text_q: Box<dyn Query> = match &node {
        None => Box::new(AllQuery),
        Some(n) => match tf.build(n)? {
            Some(q) => q,
            None => Box::new(EmptyQuery),
        },
    };
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text_q)];
    let mut filters = filter_clauses(f, req)?;
    filters.extend(access);
    for q in filters {
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0))));
    }
    let query = BooleanQuery::new(clauses);

    let mut facet_c = FacetCollector::for_field("facet");
    for k in ["/series", "/type", "/direction"] {
        facet_c.add_facet(k);
    }
    let stats = &PublicStats(stats);
    let map_err = |e: tantivy::TantivyError| Error::internal(format!("search failed: {e}"));
    let limit = req.limit.max(1);
    let (addrs, total, facet_counts): (Vec<(f32, DocAddress)>, usize, _) = match req.sort {
        Sort::Relevance => {
            let top = TopDocs::with_limit(limit)
                .and_offset(req.offset)
                .order_by_score();
            if req.facets {
                let (t, c, fc) = searcher
                    .search_with_statistics_provider(&query, &(top, Count, facet_c), stats)
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
                    .search(&query, &(top, Count, facet_c))
                    .map_err(map_err)?;
                (t, c, Some(fc))
            } else {
                let (t, c) = searcher.search(&query, &(top, Count)).map_err(map_err)?;
                (t, c, None)
            };
            (t.into_iter().map(|(_, a)| (0.0, a)).collect(), c, fc)
        }
    };
    let addrs = if req.limit == 0 { Vec::new() } else { addrs };

    let mut terms = BTreeMap::new();
    if let Some(n) = &node {
        tf.highlight_terms(n, &mut terms);
    }
    let snippets = SnippetGenerator::new(terms.clone(), fold_analyzer(), f.snip, snippet_chars);
    let mut hits = Vec::with_capacity(addrs.len());
    for (score, addr) in addrs {
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
        });
    }
    let mut facets = BTreeMap::new();
    if let Some(fc) = facet_counts {
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
        total: total as u64,
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
        ] {
            let e = parse(q).unwrap_err().to_string();
            assert!(e.contains(needle), "{q}: {e}");
            assert!(e.starts_with("invalid search query"), "{e}");
        }
    }
}
