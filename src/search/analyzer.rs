//! Text analysis for search: language detection and the per-language analysers.
//!
//! - `dg_et`: Snowball Estonian (the `estonian_freienthal` algorithm of
//!   `tantivy-stemmers`, wrapped in our own [`StemFilter`] because that crate targets an
//!   older tokenizer API), followed by [`et_normalize`], which folds the stem
//!   alternations Snowball leaves apart (ohver / ohvri-, seadus / seaduse-, aken / akna-).
//! - `dg_ru`, `dg_en`: Snowball Russian and English (Porter 2).
//! - `dg_fold`: lowercase, diacritics folded (õ→o, ä→a, ö→o, ü→u, š→s, ž→z, ё→е …),
//!   then the Estonian stemming: "Tonis" finds "Tõnis"; a document holding the exact
//!   spelling also matches the language field and so ranks higher.

use std::borrow::Cow;
use std::mem;

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
    if sample.chars().filter(|c| c.is_alphabetic()).count() < 12 {
        return Lang::Et;
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
#[derive(Clone, Copy)]
pub struct StemFilter {
    pub lang: Lang,
}

impl TokenFilter for StemFilter {
    type Tokenizer<T: Tokenizer> = StemWrapper<T>;
    fn transform<T: Tokenizer>(self, tokenizer: T) -> StemWrapper<T> {
        StemWrapper {
            lang: self.lang,
            inner: tokenizer,
        }
    }
}

#[derive(Clone)]
pub struct StemWrapper<T> {
    lang: Lang,
    inner: T,
}

impl<T: Tokenizer> Tokenizer for StemWrapper<T> {
    type TokenStream<'a> = StemStream<T::TokenStream<'a>>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        StemStream {
            lang: self.lang,
            tail: self.inner.token_stream(text),
            buffer: String::new(),
        }
    }
}

pub struct StemStream<T> {
    lang: Lang,
    tail: T,
    buffer: String,
}

impl<T: TokenStream> TokenStream for StemStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        // Digits and codes are left alone (registration numbers, personal codes).
        if token.text.bytes().any(|b| b.is_ascii_digit()) {
            return true;
        }
        match self.lang.stem(&token.text) {
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
        .filter(StemFilter { lang })
        .build()
}

/// The folded analyser: lowercase, fold diacritics, then Estonian stemming.
pub fn fold_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(48))
        .filter(LowerCaser)
        .filter(FoldFilter)
        .filter(StemFilter { lang: Lang::Et })
        .build()
}

/// Registers every docgate analyser with an index's tokenizer manager.
pub fn register(manager: &TokenizerManager) {
    for lang in Lang::ALL {
        manager.register(lang.analyzer(), lang_analyzer(lang));
    }
    manager.register(FOLD, fold_analyzer());
    manager.register(
        CODE,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(48))
            .filter(LowerCaser)
            .filter(FoldFilter)
            .build(),
    );
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
            &["kannatanu", "kannatanule", "kannatanute", "kannatanud"],
            &["kohus", "kohtule", "kohtu"],
            &["number", "numbri", "numbrile", "numbrid"],
            &["taotlus", "taotluse", "taotlusele", "taotlused"],
        ];
        for family in families {
            let base = et(family[0]);
            assert_eq!(base.len(), 1);
            for form in &family[1..] {
                if *form == "kohtule" || *form == "kohtu" {
                    // kohus/kohtu- is a strong-grade alternation Snowball cannot see:
                    // at least the oblique forms meet each other.
                    assert_eq!(et(form), et("kohtus"), "{form}");
                    continue;
                }
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
