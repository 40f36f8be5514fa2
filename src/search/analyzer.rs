//! Text analysis for search: language detection and the per-language analysers.
//!
//! - `dg_et`: Snowball Estonian (the `estonian_freienthal` algorithm of
//!   `tantivy-stemmers`, wrapped in our own [`StemFilter`] because that crate targets an
//!   older tokenizer API), followed by [`et_normalize`], which folds the stem
//!   alternations Snowball leaves apart (ohver / ohvri-, seadus / seaduse-, aken / akna-).
//! - `dg_ru`, `dg_en`: Snowball Russian and English (Porter 2).
//! - `dg_fold`: lowercase, diacritics folded (õ→o, ä→a, ö→o, ü→u, š→s, ž→z, ё→е …),
//!   then the Estonian stemming (parties, snippets).
//!
//! The text fields (`text`, `title`) are analysed by [`TextTokenizer`], whose
//! stemmer follows each value's detected language (a mark at the start of the
//! value names it, see [`tagged`]): it puts at every position the *folded* stem ("Tõnis" → "tonis"), and beside it,
//! at the same position, the *exact* stem when diacritics make the two differ
//! ("tõnis"). A query word is then one term of one field ([`word_terms`]):
//! "Tonis" finds "Tõnis", and a query typed with diacritics also matches the exact
//! term, so the exact spelling ranks higher.

use std::borrow::Cow;
use std::mem;
use std::rc::Rc;

use tantivy::tokenizer::{
    LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, Token, TokenFilter, TokenStream,
    Tokenizer, TokenizerManager,
};

/// The analysis languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Et,
    Ru,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Et, Lang::Ru, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Et => "et",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// Name of the tantivy analyser for this language.
    pub fn analyzer(self) -> &'static str {
        match self {
            Lang::Et => "dg_et",
            Lang::Ru => "dg_ru",
            Lang::En => "dg_en",
        }
    }

    fn stem(self, word: &str) -> Cow<'_, str> {
        match self {
            // An ASCII word (typed without diacritics, or folded by the snippet
            // analyser) is the folded term of its analysis, which is cached.
            Lang::Et if !snowball_only() && word.is_ascii() => {
                Cow::Owned(word_analysis(word, Lang::Et).folded.clone())
            }
            Lang::Et if !snowball_only() => {
                let lemma = super::morph::lemma(word);
                // A word typed without diacritics gives a folded term.
                Cow::Owned(if word.is_ascii() { fold(&lemma) } else { lemma })
            }
            Lang::Et => {
                let s = tantivy_stemmers::algorithms::estonian_freienthal(word);
                match et_normalize(&s) {
                    Some(n) => Cow::Owned(n),
                    None => Cow::Owned(s.into_owned()),
                }
            }
            Lang::Ru => tantivy_stemmers::algorithms::russian(word),
            Lang::En => tantivy_stemmers::algorithms::english_porter_2(word),
        }
    }
}

static SNOWBALL_ONLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether Estonian is analysed by the previous analyser (Snowball with
/// [`et_normalize`], no compound heads) instead of the lemma lexicon of
/// [`super::morph`]: only the search-quality benchmark turns it on, to compare the
/// two in one process. An index is analysed by one of them only.
pub fn snowball_only() -> bool {
    SNOWBALL_ONLY.load(std::sync::atomic::Ordering::Relaxed)
}

/// See [`snowball_only`] (the quality benchmark's comparison only).
#[doc(hidden)]
pub fn set_snowball_only(on: bool) {
    SNOWBALL_ONLY.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// The mark before a compound head's term ("~vagivald"): a term the tokenizer
/// never makes of typed text, so a head matches only where a query asks for it.
pub const HEAD_MARK: char = '~';

/// Name of the folded analyser.
pub const FOLD: &str = "dg_fold";
/// Name of the analyser of codes and numbers (registration numbers, references):
/// lowercase words, no stemming.
pub const CODE: &str = "dg_code";

/// Detects the language of a text among Estonian, Russian and English; Estonian
/// (the agency's language) when unsure or when the text is too short to tell.
pub fn detect(text: &str) -> Lang {
    // A kilobyte (a few hundred words) is plenty for trigram detection and keeps
    // it cheap: detection is a large share of indexing time.
    let mut end = text.len().min(1024);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let sample = &text[..end];
    let (mut letters, mut cyrillic, mut estonian) = (0usize, 0usize, 0usize);
    for c in sample.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        cyrillic += usize::from(matches!(c, '\u{400}'..='\u{4FF}'));
        estonian += usize::from(matches!(c, 'õ' | 'ä' | 'ö' | 'ü' | 'Õ' | 'Ä' | 'Ö' | 'Ü'));
    }
    if letters < 12 {
        return Lang::Et;
    }
    // The plain cases without trigrams (detection was a large share of the
    // indexing time): Estonian's own letters are about 4% of an Estonian text's
    // and next to none of an English one's (a name or two); Russian is Cyrillic.
    if estonian >= 4 && estonian * 100 >= letters * 2 && cyrillic == 0 {
        return Lang::Et;
    }
    if cyrillic * 10 >= letters * 9 {
        return Lang::Ru;
    }
    let detector = whatlang::Detector::with_allowlist(vec![
        whatlang::Lang::Est,
        whatlang::Lang::Rus,
        whatlang::Lang::Eng,
    ]);
    match detector.detect(sample) {
        Some(info) if info.lang() == whatlang::Lang::Rus => Lang::Ru,
        Some(info) if info.lang() == whatlang::Lang::Eng && info.confidence() > 0.5 => Lang::En,
        _ => Lang::Et,
    }
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'õ' | 'ä' | 'ö' | 'ü' | 'y')
}

/// Folds the stem alternations that Snowball Estonian leaves apart, so that the
/// nominative and the oblique stem meet: "ohver" and "ohvri(le)" → "ohvr",
/// "seadus", "seaduse(ga)" and "seadus(tes)" → "sead", "aken"/"akna" → "akn".
/// Applied to index and query alike, so it only has to be consistent, not
/// linguistically exact. Returns None when nothing changes.
pub fn et_normalize(stem: &str) -> Option<String> {
    let mut w: Vec<char> = stem.chars().collect();
    let orig = w.len();
    if w.iter().any(|c| !c.is_alphabetic()) || orig < 4 {
        return None;
    }
    // 1. -se (genitive of -s/-ne nouns as Snowball leaves it): seaduse → seadu.
    if w.len() > 4 && w.ends_with(&['s', 'e']) {
        w.truncate(w.len() - 2);
    } else if w.len() > 4 && w[w.len() - 1] == 's' && is_vowel(w[w.len() - 2]) {
        // 2. a final -s after a vowel: seadus → seadu, hüvitis → hüviti.
        w.truncate(w.len() - 1);
    }
    // 3. one final vowel of a longer stem: ohvri → ohvr, seadu → sead, kooli → kool.
    if w.len() > 4 && is_vowel(w[w.len() - 1]) {
        w.truncate(w.len() - 1);
    }
    // 4. syncope of -er/-el/-en/-ar/-al/-em after a consonant: ohver → ohvr, aken → akn.
    let n = w.len();
    if n >= 4
        && matches!(w[n - 1], 'r' | 'l' | 'n' | 'm')
        && matches!(w[n - 2], 'e' | 'a')
        && !is_vowel(w[n - 3])
    {
        w.remove(n - 2);
    }
    if w.len() == orig {
        None
    } else {
        Some(w.into_iter().collect())
    }
}

/// Folds one lowercase character: Estonian and a few other diacritics to their base letter.
pub fn fold_char(c: char) -> char {
    match c {
        'õ' | 'ö' | 'ó' | 'ò' | 'ô' | 'ø' => 'o',
        'ä' | 'á' | 'à' | 'â' | 'å' | 'ã' => 'a',
        'ü' | 'ú' | 'ù' | 'û' => 'u',
        'š' => 's',
        'ž' => 'z',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ё' => 'е',
        other => other,
    }
}

/// Lowercases and folds a whole string (query prefixes, tests).
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(fold_char)
        .collect()
}

/// A token filter folding diacritics (expects lowercase input).
#[derive(Clone, Copy, Default)]
pub struct FoldFilter;

impl TokenFilter for FoldFilter {
    type Tokenizer<T: Tokenizer> = FoldWrapper<T>;
    fn transform<T: Tokenizer>(self, tokenizer: T) -> FoldWrapper<T> {
        FoldWrapper { inner: tokenizer }
    }
}

#[derive(Clone)]
pub struct FoldWrapper<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for FoldWrapper<T> {
    type TokenStream<'a> = FoldStream<T::TokenStream<'a>>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        FoldStream {
            tail: self.inner.token_stream(text),
        }
    }
}

pub struct FoldStream<T> {
    tail: T,
}

impl<T: TokenStream> TokenStream for FoldStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        if !token.text.is_ascii() {
            token.text = token.text.chars().map(fold_char).collect();
        }
        true
    }
    fn token(&self) -> &Token {
        self.tail.token()
    }
    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// A token filter stemming with a Snowball algorithm (expects lowercase input).
/// Our own wrapper: `tantivy-stemmers` ships one for an older tokenizer API.
///
/// With `only_prefixes`, a word is stemmed only when it begins with one of them:
/// the snippet analyser stems just the words that may meet a highlighted stem.
#[derive(Clone)]
pub struct StemFilter {
    pub lang: Lang,
    pub only_prefixes: Option<std::sync::Arc<[String]>>,
}

impl StemFilter {
    pub fn new(lang: Lang) -> StemFilter {
        StemFilter {
            lang,
            only_prefixes: None,
        }
    }
}

impl TokenFilter for StemFilter {
    type Tokenizer<T: Tokenizer> = StemWrapper<T>;
    fn transform<T: Tokenizer>(self, tokenizer: T) -> StemWrapper<T> {
        StemWrapper {
            filter: self,
            inner: tokenizer,
        }
    }
}

#[derive(Clone)]
pub struct StemWrapper<T> {
    filter: StemFilter,
    inner: T,
}

impl<T: Tokenizer> Tokenizer for StemWrapper<T> {
    type TokenStream<'a> = StemStream<'a, T::TokenStream<'a>>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        StemStream {
            filter: &self.filter,
            tail: self.inner.token_stream(text),
            buffer: String::new(),
        }
    }
}

pub struct StemStream<'a, T> {
    filter: &'a StemFilter,
    tail: T,
    buffer: String,
}

impl<T: TokenStream> TokenStream for StemStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        // Digits and codes are left alone (registration numbers, personal codes).
        if token.text.bytes().any(|b| b.is_ascii_digit()) {
            return true;
        }
        if let Some(prefixes) = &self.filter.only_prefixes {
            if !prefixes.iter().any(|p| token.text.starts_with(p.as_str())) {
                return true;
            }
        }
        match self.filter.lang.stem(&token.text) {
            Cow::Owned(s) => token.text = s,
            Cow::Borrowed(s) => {
                if s.len() != token.text.len() {
                    self.buffer.clear();
                    self.buffer.push_str(s);
                    mem::swap(&mut token.text, &mut self.buffer);
                }
            }
        }
        true
    }
    fn token(&self) -> &Token {
        self.tail.token()
    }
    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// The analyser of one language field.
pub fn lang_analyzer(lang: Lang) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .filter(StemFilter::new(lang))
        .build()
}

/// The folded analyser: lowercase, fold diacritics, then Estonian stemming.
pub fn fold_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .filter(FoldFilter)
        .filter(StemFilter::new(Lang::Et))
        .build()
}

/// The folded analyser for highlighting `terms` (folded Estonian stems): a word
/// is stemmed only when it shares its first letters with one of the terms, since
/// stemming only changes the end of a word; the others cannot become a term and
/// are left as they are. Snippets are analysed at query time, and stemming every
/// word of twenty texts was most of a search's time.
pub fn snippet_analyzer<'a>(terms: impl IntoIterator<Item = &'a String>) -> TextAnalyzer {
    let prefixes: Vec<String> = terms
        .into_iter()
        .map(|t| {
            // A lemma may differ from its forms from the second letter on
            // ("tuba" / "toa"): the first letter is what they surely share.
            t.chars().take(1).collect()
        })
        .collect();
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .filter(FoldFilter)
        .filter(StemFilter {
            lang: Lang::Et,
            only_prefixes: Some(prefixes.into()),
        })
        .build()
}

/// Registers every docgate analyser with an index's tokenizer manager.
pub fn register(manager: &TokenizerManager) {
    for lang in Lang::ALL {
        manager.register(lang.analyzer(), lang_analyzer(lang));
    }
    manager.register(FOLD, fold_analyzer());
    manager.register(TEXT, TextTokenizer::default());
    manager.register(
        CODE,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(48))
            .filter(LowerCaser)
            .filter(FoldFilter)
            .build(),
    );
}

/// The analyser under [`text_tokens`]: words, lowercased, over-long ones dropped.
pub fn base_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .build()
}

/// The index terms of one lowercase word in `lang`: the folded stem, and the
/// exact stem when it differs. Words with digits (numbers, codes) are not stemmed.
pub fn word_terms(word: &str, lang: Lang) -> (String, Option<String>) {
    let w = word_analysis(word, lang);
    (w.folded.clone(), w.exact.clone())
}

/// The terms of one lowercase word: see [`word_terms`], and the compound heads'
/// terms ([`HEAD_MARK`] and the folded lemma of each head).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordTerms {
    pub folded: String,
    pub exact: Option<String>,
    pub heads: Vec<String>,
}

/// Words analysed per thread before the cache of [`word_analysis`] starts over.
const ANALYSIS_CACHE: usize = 1 << 16;

/// The cache's map: a fast hash of the word (these keys are the index's own
/// words, not an attacker's choice of many colliding ones: the map is bounded
/// and starts over when full), each analysis shared with the tokens that use it.
type Analyses = std::collections::HashMap<String, Rc<WordTerms>, rustc_hash::FxBuildHasher>;

thread_local! {
    /// The analyses of the words this thread met last ([`ANALYSIS_CACHE`] at
    /// most): a text's words repeat (Zipf), and the lexicon look-ups of a word
    /// (its form, for an unknown word its possible compound splits, and again
    /// for the exact stem of a word with diacritics) cost more than a hash
    /// look-up. One map per language and analyser, which the quality benchmark
    /// switches in one process.
    static ANALYSES: std::cell::RefCell<[Analyses; 6]> = std::cell::RefCell::new(Default::default());
}

/// The terms of one lowercase word in `lang` (see [`WordTerms`]).
pub fn word_analysis(word: &str, lang: Lang) -> Rc<WordTerms> {
    let at = lang as usize * 2 + usize::from(snowball_only());
    if let Some(w) = ANALYSES.with(|c| c.borrow()[at].get(word).cloned()) {
        return w;
    }
    let w = Rc::new(analyse_word(word, lang));
    ANALYSES.with(|c| {
        let c = &mut c.borrow_mut()[at];
        if c.len() >= ANALYSIS_CACHE {
            c.clear();
        }
        c.insert(word.to_string(), w.clone());
    });
    w
}

fn analyse_word(word: &str, lang: Lang) -> WordTerms {
    let folded_src: Cow<'_, str> = if word.is_ascii() {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(word.chars().map(fold_char).collect())
    };
    if word.bytes().any(|b| b.is_ascii_digit()) {
        let exact = (folded_src != word).then(|| word.to_string());
        return WordTerms {
            folded: folded_src.into_owned(),
            exact,
            heads: Vec::new(),
        };
    }
    let mut heads = Vec::new();
    let folded = if lang == Lang::Et && !snowball_only() {
        let a = super::morph::analyse(&folded_src);
        heads = a
            .heads
            .iter()
            .map(|h| {
                let mut t = String::with_capacity(h.len() + 1);
                t.push(HEAD_MARK);
                t.push_str(&fold(h));
                t
            })
            .collect();
        fold(&a.lemma)
    } else {
        lang.stem(&folded_src).into_owned()
    };
    if folded_src == word {
        return WordTerms {
            folded,
            exact: None,
            heads,
        };
    }
    let exact = lang.stem(word);
    let exact = (exact != folded.as_str()).then(|| exact.into_owned());
    WordTerms {
        folded,
        exact,
        heads,
    }
}

/// Name of the analyser of the text fields (`text`, `title`).
pub const TEXT: &str = "dg_text";

impl Lang {
    /// The mark that starts a text field's value and names its language
    /// (a private-use character: the tokenizer drops it like any other non-word).
    fn tag(self) -> char {
        match self {
            Lang::Et => '\u{E000}',
            Lang::Ru => '\u{E001}',
            Lang::En => '\u{E002}',
        }
    }
}

/// A text field's value: `text` marked with its language for [`TextTokenizer`].
pub fn tagged(lang: Lang, text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 3);
    s.push(lang.tag());
    s.push_str(text);
    s
}

/// The analyser of the text fields: the words of a [`tagged`] value, at every
/// position the folded stem in the value's language, and beside it, at the same
/// position, the exact stem where diacritics make the two differ (see the module
/// documentation). An untagged value is Estonian. Tantivy's indexing threads run
/// it, so the stemming is spread over them.
#[derive(Clone)]
pub struct TextTokenizer {
    base: TextAnalyzer,
}

impl Default for TextTokenizer {
    fn default() -> Self {
        TextTokenizer {
            base: base_analyzer(),
        }
    }
}

impl Tokenizer for TextTokenizer {
    type TokenStream<'a> = TextStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> TextStream<'a> {
        let (lang, skip) = match text.chars().next() {
            Some(c) => match Lang::ALL.into_iter().find(|l| l.tag() == c) {
                Some(l) => (l, c.len_utf8()),
                None => (Lang::Et, 0),
            },
            None => (Lang::Et, 0),
        };
        TextStream {
            inner: self.base.token_stream(&text[skip..]),
            lang,
            skip,
            pending: Vec::new(),
            token: Token::default(),
        }
    }
}

pub struct TextStream<'a> {
    inner: tantivy::tokenizer::BoxTokenStream<'a>,
    lang: Lang,
    skip: usize,
    /// The exact stem and the compound heads still to give at the current position.
    pending: Vec<String>,
    token: Token,
}

impl TokenStream for TextStream<'_> {
    fn advance(&mut self) -> bool {
        if let Some(t) = self.pending.pop() {
            self.token.text = t;
            return true;
        }
        if !self.inner.advance() {
            return false;
        }
        let t = self.inner.token();
        let w = word_analysis(&t.text, self.lang);
        self.token.offset_from = t.offset_from + self.skip;
        self.token.offset_to = t.offset_to + self.skip;
        self.token.position = t.position;
        self.token.position_length = 1;
        // The token's buffer is reused: most words have neither an exact stem
        // nor heads, and cost no allocation.
        self.token.text.clear();
        self.token.text.push_str(&w.folded);
        self.pending.extend(w.heads.iter().rev().cloned());
        self.pending.extend(w.exact.iter().cloned());
        true
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// The tokens an analyser makes of a text (tests, query building).
pub fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn et(text: &str) -> Vec<String> {
        tokens(&mut lang_analyzer(Lang::Et), text)
    }

    #[test]
    fn estonian_inflections_meet_their_base_form() {
        let families: &[&[&str]] = &[
            &["ohver", "ohvri", "ohvrile", "ohvrite", "ohvrid", "ohvrit"],
            &["seadus", "seaduse", "seadusega", "seadustes", "seaduste"],
            &["hüvitis", "hüvitise", "hüvitiste", "hüvitist"],
            &["kannatanu", "kannatanule", "kannatanute", "kannatanut"],
            &["kohus", "kohtule", "kohtu"],
            &["number", "numbri", "numbrile", "numbrid"],
            &["taotlus", "taotluse", "taotlusele", "taotlused"],
        ];
        for family in families {
            let base = et(family[0]);
            assert_eq!(base.len(), 1);
            for form in &family[1..] {
                assert_eq!(et(form), base, "{form} vs {}", family[0]);
            }
        }
    }

    #[test]
    fn different_words_stay_apart() {
        assert_ne!(et("ohver"), et("ohvriabi"));
        assert_ne!(et("seadus"), et("kohus"));
        assert_ne!(et("maja"), et("maks"));
    }

    #[test]
    fn folding_maps_estonian_diacritics() {
        assert_eq!(fold("Tõnis Šõrm ÄÖÜ žürii"), "tonis sorm aou zurii");
        let mut f = fold_analyzer();
        assert_eq!(tokens(&mut f, "Tõnis"), tokens(&mut f, "Tonis"));
        assert_eq!(
            tokens(&mut f, "kõrvaldamine"),
            tokens(&mut f, "korvaldamine")
        );
        assert_eq!(tokens(&mut f, "ÕIGUS"), tokens(&mut f, "oigus"));
    }

    #[test]
    fn russian_and_english_stem() {
        let mut ru = lang_analyzer(Lang::Ru);
        assert_eq!(tokens(&mut ru, "заявления"), tokens(&mut ru, "заявление"));
        let mut en = lang_analyzer(Lang::En);
        assert_eq!(tokens(&mut en, "victims"), tokens(&mut en, "victim"));
        assert_eq!(
            tokens(&mut en, "applications"),
            tokens(&mut en, "application")
        );
    }

    fn text(t: &str, lang: Lang) -> Vec<(usize, String)> {
        let mut tk = TextTokenizer::default();
        let value = tagged(lang, t);
        let mut stream = tk.token_stream(&value);
        let mut out = Vec::new();
        while stream.advance() {
            let tok = stream.token();
            out.push((tok.position, tok.text.clone()));
        }
        out
    }

    #[test]
    fn text_tokens_hold_the_folded_stem_and_beside_it_the_exact_one() {
        assert_eq!(
            text("Tõnis ohvrile", Lang::Et),
            vec![
                (0, "tonis".to_string()),
                (0, "tõnis".to_string()),
                (1, et("ohvrile")[0].clone())
            ]
        );
        // The folded stem is the stem of the folded word, so that a query typed
        // without diacritics meets it.
        for (with, without) in [("Tõnis", "Tonis"), ("hüvitisele", "huvitisele")] {
            assert_eq!(
                word_terms(&with.to_lowercase(), Lang::Et).0,
                word_terms(&without.to_lowercase(), Lang::Et).0
            );
        }
        assert_eq!(
            word_terms("заявления", Lang::Ru).0,
            word_terms("заявление", Lang::Ru).0
        );
        assert_eq!(word_terms("victims", Lang::En).0, "victim");
        assert_eq!(word_terms("5424", Lang::Et), ("5424".to_string(), None));
        // the language mark chooses the stemmer; no mark is Estonian
        assert_eq!(
            text("заявления", Lang::Ru),
            vec![(0, word_terms("заявление", Lang::Ru).0)]
        );
        assert_eq!(text("victims", Lang::En), vec![(0, "victim".to_string())]);
        let mut tk = TextTokenizer::default();
        let mut plain = tk.token_stream("ohvrile");
        assert!(plain.advance());
        assert_eq!(plain.token().text, et("ohvrile")[0]);
    }

    #[test]
    fn snippet_analyzer_meets_the_terms_as_the_folded_analyser_does() {
        let text = "Tõnis Tamm esitas ohvrile hüvitise taotluse; ohvriabi seadusega kooskõlas.";
        let terms: Vec<String> = ["tonis ohvrile huvitis seaduses"]
            .iter()
            .flat_map(|q| tokens(&mut fold_analyzer(), q))
            .collect();
        let full = tokens(&mut fold_analyzer(), text);
        let lazy = tokens(&mut snippet_analyzer(&terms), text);
        assert_eq!(full.len(), lazy.len());
        for (f, l) in full.iter().zip(&lazy) {
            // Every word that is a term for the full analyser is one for the lazy one.
            assert_eq!(terms.contains(f), terms.contains(l), "{f} / {l}");
        }
        assert!(
            lazy.iter().filter(|t| terms.contains(t)).count() >= 4,
            "{lazy:?}"
        );
    }

    #[test]
    fn numbers_are_not_stemmed() {
        assert_eq!(et("8-1/5424"), vec!["8", "1", "5424"]);
        assert_eq!(et("38001085718"), vec!["38001085718"]);
    }

    #[test]
    fn language_detection() {
        assert_eq!(
            detect("Palun hüvitada kuriteoohvrile tekitatud kahju vastavalt ohvriabi seadusele."),
            Lang::Et
        );
        assert_eq!(
            detect("Прошу возместить ущерб, причинённый жертве преступления, в соответствии с законом."),
            Lang::Ru
        );
        assert_eq!(
            detect("Please compensate the damage caused to the victim of the crime under the act."),
            Lang::En
        );
        assert_eq!(detect("ok"), Lang::Et);
    }
}
