//! Estonian morphology for search: a word's lemma (base form) and the heads of a
//! compound, from an embedded lemma lexicon, pure and in memory.
//!
//! The lexicon (`lexicon/et/`, see SOURCES.txt there) maps 2.6 million folded
//! word forms to a rule that turns the form into its lemma: drop `strip` final
//! letters, add an ending ("identiteedi" → drop 2, add "t" → "identiteet";
//! "ohvri" → "ohver"; "teo" → "tegu"), and the lengths of the compound lemma's last
//! two heads ("lähisuhtevägivald" → "vägivald", "vald"). It was made at
//! development time by Vabamorf (estnltk) from the Estonian hunspell word list,
//! the law corpus and the case and verb forms Vabamorf synthesises for their lemmas;
//! an FST map (`tantivy-fst`) of 1.1 MB.
//!
//! A word that is not in it is analysed by rules that generalise:
//! 1. a compound: the longest known tail of at least 5 letters after a head of at
//!    least 3 ("kuriteoohvrile" → "kuriteo" + "ohvrile" → "kuriteoohver", head "ohver");
//! 2. else the suffix model: the rule that most lexicon forms with the same final
//!    letters (up to 7) follow (learned by the generator from the lexicon itself);
//! 3. else the word itself.
//!
//! Index and query go through the same function, so a form and its lemma meet at
//! one term even where the analysis is not linguistically exact.

use std::sync::LazyLock;

use tantivy_fst::raw::Fst;
use tantivy_fst::Map;

use super::analyzer::fold;

static FST: &[u8] = include_bytes!("../../lexicon/et/lexicon.fst");
static APPENDS: &str = include_str!("../../lexicon/et/appends.txt");

struct Lexicon {
    map: Map<&'static [u8]>,
    appends: Vec<&'static str>,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| Lexicon {
    map: Map::from(Fst::new(FST).expect("the embedded lexicon is a valid FST")),
    appends: APPENDS.lines().collect(),
});

/// Shortest tail of an unknown compound that is looked up as a word.
const MIN_TAIL: usize = 5;
/// Shortest head of an unknown compound.
const MIN_HEAD: usize = 3;
/// Longest suffix the suffix model knows.
const MAX_SUFFIX: usize = 7;
/// Longest word analysed (longer ones are left as they are).
const MAX_WORD: usize = 48;

/// A word's analysis: its lemma and the lemmas of its compound's parts: the
/// heads (longest first, at most two), then the modifiers before them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    pub lemma: String,
    pub heads: Vec<String>,
}

impl Analysis {
    fn plain(word: &str) -> Analysis {
        Analysis {
            lemma: word.to_string(),
            heads: Vec::new(),
        }
    }
}

/// Shortest compound part indexed as a head or a modifier.
const MIN_PART: usize = 4;

fn apply(word: &[char], rule: u64, appends: &[&str]) -> Option<Analysis> {
    let strip = (rule & 63) as usize;
    let append = appends.get(((rule >> 6) & 0xFF_FFFF) as usize)?;
    if strip > word.len() {
        return None;
    }
    let mut lemma: String = word[..word.len() - strip].iter().collect();
    lemma.push_str(append);
    let chars: Vec<char> = lemma.chars().collect();
    let n = chars.len();
    let mut heads = Vec::new();
    let mut cuts = Vec::new();
    for shift in [30, 36] {
        let len = ((rule >> shift) & 63) as usize;
        if len >= MIN_PART && len < n {
            heads.push(chars[n - len..].iter().collect());
            cuts.push(n - len);
        }
    }
    // The modifiers before the heads ("kindlustus" of "kindlustuskelmus"), each
    // as its own lemma ("terrori-" → "terror").
    let mut start = 0;
    for cut in cuts {
        if cut - start >= MIN_PART {
            let part: String = chars[start..cut].iter().collect();
            heads.push(lexical(&part).unwrap_or(part));
        }
        start = cut;
    }
    Some(Analysis { lemma, heads })
}

/// The lemma of a word by the lexicon and the suffix model only (no compound
/// split, no heads): a compound's modifier.
fn lexical(word: &str) -> Option<String> {
    let lex = &*LEXICON;
    let chars: Vec<char> = word.chars().collect();
    let key = fold(word);
    let rule = lex.map.get(key.as_bytes()).or_else(|| suffix_rule(&key))?;
    let strip = (rule & 63) as usize;
    let append = lex.appends.get(((rule >> 6) & 0xFF_FFFF) as usize)?;
    (strip <= chars.len()).then(|| {
        let mut l: String = chars[..chars.len() - strip].iter().collect();
        l.push_str(append);
        l
    })
}

/// The suffix model's rule for a folded word.
fn suffix_rule(key: &str) -> Option<u64> {
    let kchars: Vec<char> = key.chars().collect();
    let mut probe = String::with_capacity(MAX_SUFFIX * 2 + 1);
    for k in (1..=MAX_SUFFIX.min(kchars.len().saturating_sub(2))).rev() {
        probe.clear();
        probe.push('\u{1}');
        probe.extend(kchars[kchars.len() - k..].iter().rev());
        if let Some(rule) = LEXICON.map.get(probe.as_bytes()) {
            return Some(rule & 0x3FFF_FFFF);
        }
    }
    None
}

/// The analysis of one lowercase word (with or without diacritics).
pub fn analyse(word: &str) -> Analysis {
    let lex = &*LEXICON;
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 2 || chars.len() > MAX_WORD || !chars.iter().all(|c| c.is_alphabetic()) {
        return Analysis::plain(word);
    }
    let key = fold(word);
    if let Some(a) = lex
        .map
        .get(key.as_bytes())
        .and_then(|r| apply(&chars, r, &lex.appends))
    {
        return a;
    }
    let kchars: Vec<char> = key.chars().collect();
    // 1. an unknown compound: the longest known tail.
    if chars.len() >= MIN_HEAD + MIN_TAIL {
        for i in MIN_HEAD..=chars.len() - MIN_TAIL {
            let tail: String = kchars[i..].iter().collect();
            if let Some(rule) = lex.map.get(tail.as_bytes()) {
                if let Some(t) = apply(&chars[i..], rule, &lex.appends) {
                    let modifier: String = chars[..i].iter().collect();
                    let mut lemma = modifier.clone();
                    lemma.push_str(&t.lemma);
                    let mut heads = vec![t.lemma];
                    heads.extend(t.heads);
                    heads.truncate(3);
                    if i >= MIN_PART {
                        heads.push(lexical(&modifier).unwrap_or(modifier));
                    }
                    return Analysis { lemma, heads };
                }
            }
        }
    }
    // 2. the suffix model.
    if let Some(a) = suffix_rule(&key).and_then(|r| apply(&chars, r, &lex.appends)) {
        return a;
    }
    Analysis::plain(word)
}

/// The lemma of one lowercase word.
pub fn lemma(word: &str) -> String {
    analyse(word).lemma
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_meet_their_lemma_across_gradation_vowel_change_and_plural_stems() {
        let families: &[&[&str]] = &[
            &["identiteet", "identiteedi", "identiteeti", "identiteetide"],
            &["tegu", "teo", "teod", "tegusid"],
            &["ohver", "ohvri", "ohvrile", "ohvrite", "ohvreid"],
            &["vägivald", "vägivalla", "vägivalda", "vägivallast"],
            &["sõnumisaladus", "sõnumisaladuse", "sõnumisaladust"],
            &["teabenõue", "teabenõuded", "teabenõuet", "teabenõuetele"],
            &["kohus", "kohtu", "kohtule", "kohtutes"],
            &["seadus", "seaduse", "seadusi", "seadustele"],
        ];
        for family in families {
            for form in *family {
                assert_eq!(lemma(form), family[0], "{form}");
            }
        }
    }

    #[test]
    fn forms_without_diacritics_meet_the_folded_lemma() {
        for (typed, with) in [
            ("vagivalla", "vägivalla"),
            ("sonumisaladuse", "sõnumisaladuse"),
        ] {
            assert_eq!(fold(&lemma(typed)), fold(&lemma(with)), "{typed}");
        }
    }

    #[test]
    fn compounds_name_their_heads() {
        let a = analyse("lähisuhtevägivalla");
        assert_eq!(a.lemma, "lähisuhtevägivald");
        assert!(a.heads.contains(&"vägivald".to_string()), "{a:?}");
        // and the modifier, as its own lemma
        let a = analyse("kindlustuskelmuse");
        assert!(a.heads.contains(&"kelmus".to_string()), "{a:?}");
        assert!(a.heads.contains(&"kindlustus".to_string()), "{a:?}");
        // An unknown compound is split at its longest known tail.
        let a = analyse("kuriteoohvritele");
        assert!(a.heads.contains(&"ohver".to_string()), "{a:?}");
        assert_eq!(a.lemma, "kuriteoohver");
    }

    #[test]
    fn unknown_words_follow_the_suffix_model_consistently() {
        // made-up words inflected like real ones still meet
        assert_eq!(lemma("plumbiteedi"), lemma("plumbiteet"));
        // numbers, codes and odd input are left alone
        for w in ["", "a", "8-1/5424", "x2"] {
            assert_eq!(lemma(w), w);
        }
    }
}
