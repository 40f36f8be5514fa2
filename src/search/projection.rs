//! What the index holds of a document: the staff projection (everything) and the
//! public projection (AvTS § 12: no text or restricted metadata of AK documents,
//! "eraisik" for natural persons, no personal codes).

use std::sync::OnceLock;

use jiff::civil::Date;
use regex::Regex;
use tantivy::schema::Facet;
use tantivy::TantivyDocument;

use super::analyzer::{self, detect};
use super::schema::{date_key, Fields, KIND_FULL};
use crate::model::{Document, PartyKind};

/// What the public sees instead of a natural person's name.
pub const ERAISIK: &str = "eraisik";
/// What the public sees instead of a personal identification code.
pub const CODE_MASK: &str = "[isikukood]";
/// The public title of a restricted document.
pub const AK_TITLE: &str = "Asutusesiseseks kasutamiseks";

/// One document as it goes into an index.
#[derive(Debug, Clone, PartialEq)]
pub struct Projected {
    pub doc_id: i64,
    pub reg_no: String,
    pub title: String,
    pub body: Option<String>,
    pub attachments: Vec<String>,
    pub parties: Vec<String>,
    pub codes: Vec<String>,
    pub series: String,
    pub doc_type: Option<String>,
    pub direction: String,
    pub registered: Date,
    pub received: Option<Date>,
    pub restricted: bool,
    pub r_ends: Option<Date>,
    pub responsible: Option<String>,
    pub unit: Option<String>,
    pub thread_id: i64,
}

impl Projected {
    /// A bare incoming document of 1 January 2026 with a title and a text
    /// only, its own thread (the quality benchmark's and the plans' tests'
    /// corpora).
    pub fn text_only(
        doc_id: i64,
        reg_no: String,
        series: &str,
        title: String,
        body: String,
    ) -> Self {
        Projected {
            doc_id,
            reg_no,
            title,
            body: Some(body),
            attachments: Vec::new(),
            parties: Vec::new(),
            codes: Vec::new(),
            series: series.to_string(),
            doc_type: None,
            direction: "incoming".into(),
            registered: jiff::civil::date(2026, 1, 1),
            received: None,
            restricted: false,
            r_ends: None,
            responsible: None,
            unit: None,
            thread_id: doc_id,
        }
    }
}

/// The source of a projection: the document with its texts as the database holds them.
#[derive(Debug, Clone)]
pub struct Source {
    pub doc: Document,
    pub body: Option<String>,
    /// Extracted texts of the files, in file order (None: no text).
    pub file_texts: Vec<Option<String>>,
}

/// The staff projection: everything.
pub fn staff(src: &Source, today: Date) -> Projected {
    let d = &src.doc;
    let mut codes: Vec<String> = Vec::new();
    codes.extend(d.their_ref.clone());
    for p in &d.parties {
        codes.extend(p.code.clone());
        codes.extend(p.email.clone());
    }
    Projected {
        doc_id: d.id,
        reg_no: d.reg_no.clone(),
        title: d.title.clone(),
        body: src.body.clone(),
        attachments: src.file_texts.iter().flatten().cloned().collect(),
        parties: d.parties.iter().map(|p| p.name.clone()).collect(),
        codes,
        series: d.series.clone(),
        doc_type: d.doc_type.clone(),
        direction: d.direction.as_str().to_string(),
        registered: d.registered,
        received: d.received,
        restricted: d.is_restricted_on(today),
        r_ends: d.restriction.as_ref().map(|r| r.ends),
        responsible: d.responsible.clone(),
        unit: d.unit.clone(),
        thread_id: d.thread_id,
    }
}

fn code_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Any 11-digit number that could be a personal code (first digit 1-8), valid or not.
    RE.get_or_init(|| Regex::new(r"\b[1-8]\d{10}\b").expect("static regex"))
}

/// The stem of a name part that its inflected Estonian forms start with: a part of
/// more than four letters loses a final "as", "es", "is" or "us" ("Juurikas" →
/// "Juurik": "Juurika", "Juurikale") or a final vowel ("Tiina" → "Tiin":
/// "Tiinale", "Tiinat"); a shorter part is its own stem ("Saar": "Saare",
/// "Saarele", "Saarelt").
fn name_stem(part: &str) -> &str {
    let n = part.chars().count();
    if n <= 4 {
        return part;
    }
    let is = |c: char, set: &str| set.contains(c.to_lowercase().next().unwrap_or(c));
    let mut tail = part.char_indices().rev();
    let (Some((i, last)), Some((j, before))) = (tail.next(), tail.next()) else {
        return part;
    };
    if is(last, "s") && is(before, "aeiu") {
        &part[..j]
    } else if is(last, "aeiouõäöüy") {
        &part[..i]
    } else {
        part
    }
}

/// Replaces the natural persons' names and anything like a personal code. The
/// whole name and each part of at least three letters are masked with their
/// inflected forms: a word that starts with the part's stem ([`name_stem`]) and
/// goes on with letters.
pub fn mask_persons(text: &str, names: &[String]) -> String {
    let mut out = code_re().replace_all(text, CODE_MASK).into_owned();
    let mut alts: Vec<String> = Vec::new();
    for n in names {
        let parts: Vec<&str> = n
            .split(|c: char| !c.is_alphabetic())
            .filter(|p| !p.is_empty())
            .collect();
        // The whole name, its last part inflected ("Mari Maasikale").
        if let Some((last, first)) = parts.split_last() {
            if !first.is_empty() {
                let mut whole: Vec<String> = first.iter().map(|p| regex::escape(p)).collect();
                whole.push(regex::escape(name_stem(last)));
                alts.push(whole.join(r"[^\p{L}\d]+"));
            }
        }
        for p in parts {
            if p.chars().count() >= 3 {
                alts.push(regex::escape(name_stem(p)));
            }
        }
    }
    if alts.is_empty() {
        return out;
    }
    // Longest first so that the whole name wins over its parts.
    alts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    alts.dedup();
    let re = format!(r"(?i)\b(?:{})\p{{L}}*\b", alts.join("|"));
    if let Ok(re) = Regex::new(&re) {
        out = re.replace_all(&out, ERAISIK).into_owned();
    }
    out
}

/// The public projection (AvTS § 12(3¹), (4¹)), following the access policy
/// (`access::public_level`): an unclassified document has none (the indexer
/// leaves it out of the public index; what is returned here for its masked staff
/// copy holds nothing but the number and dates); a restricted document keeps
/// only its unrestricted register data (number, series, type, direction, dates,
/// the organisations); the title is always the public title; text only for a
/// document with no natural person as party; every natural person is "eraisik".
pub fn public(src: &Source, today: Date) -> Projected {
    use crate::access::{public_level, PublicLevel};
    let d = &src.doc;
    let level = public_level(d, today);
    let restricted = d.is_restricted_on(today) || level.is_none();
    let person_names: Vec<String> = d
        .parties
        .iter()
        .filter(|p| p.kind == PartyKind::Person)
        .map(|p| p.name.clone())
        .collect();
    let parties: Vec<String> = if level.is_none() {
        Vec::new()
    } else {
        d.parties
            .iter()
            .map(|p| p.public_name().to_string())
            .collect()
    };
    let codes: Vec<String> = d
        .parties
        .iter()
        .filter(|p| p.kind == PartyKind::Organisation)
        .filter_map(|p| p.code.clone())
        .collect();
    let (title, body, attachments) = match level {
        None | Some(PublicLevel::Listed) => (AK_TITLE.to_string(), None, Vec::new()),
        Some(PublicLevel::Titled) => (crate::access::public_title(d), None, Vec::new()),
        Some(PublicLevel::Open) => (
            crate::access::public_title(d),
            src.body.as_deref().map(|b| mask_persons(b, &person_names)),
            src.file_texts
                .iter()
                .zip(&d.files)
                .filter(|(_, f)| !crate::access::is_raw_mail(f))
                .filter_map(|(t, _)| t.as_ref())
                .map(|t| mask_persons(t, &person_names))
                .collect(),
        ),
    };
    Projected {
        doc_id: d.id,
        reg_no: d.reg_no.clone(),
        title,
        body,
        attachments,
        parties,
        codes: if restricted { Vec::new() } else { codes },
        series: d.series.clone(),
        doc_type: d.doc_type.clone(),
        direction: d.direction.as_str().to_string(),
        registered: d.registered,
        received: d.received,
        restricted,
        r_ends: None,
        responsible: None,
        unit: None,
        thread_id: d.thread_id,
    }
}

/// Cuts a string to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The text kept for snippets: no markup (a DHX capsule's XML, an e-mail's
/// HTML: tags, comments, declarations and CDATA marks removed, the text between
/// them kept) and no line breaks (a PDF's lines, joined by a space, never run
/// together: "kokkuvõte" / "Patsient" → "kokkuvõte Patsient"); runs of
/// whitespace become one space.
pub fn snippet_text(s: &str) -> String {
    static MARKUP: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?s)<!--.*?-->|<!\[CDATA\[|\]\]>|<[?!][^<>]{0,1000}>|</?[A-Za-z_][A-Za-z0-9_:.-]{0,100}(?:\s[^<>]{0,1000})?/?>",
        )
        .expect("markup pattern")
    });
    let stripped = MARKUP.replace_all(s, " ");
    let mut out = String::with_capacity(stripped.len());
    let mut space = false;
    for c in stripped.trim().chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// Builds the tantivy document of a projection.
pub fn to_tantivy(p: &Projected, kind: &str, f: &Fields, stored_chars: usize) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_u64(f.doc_id, p.doc_id as u64);
    doc.add_text(f.kind, kind);
    doc.add_text(f.reg_no, &p.reg_no);
    doc.add_text(f.code, &p.reg_no);
    doc.add_text(f.title_stored, &p.title);
    let head = format!("{}\n{}", p.title, p.body.as_deref().unwrap_or(""));
    let lang = detect(&head);
    doc.add_text(f.lang, lang.code());
    // The title field, then the text field: title, body, attachments (each in its
    // own language), parties and codes, one value each (tantivy leaves a gap in
    // the positions between values).
    doc.add_text(f.title, analyzer::tagged(lang, &p.title));
    doc.add_text(f.text, analyzer::tagged(lang, &p.title));
    let mut snip = String::new();
    if let Some(b) = &p.body {
        doc.add_text(f.text, analyzer::tagged(lang, b));
        snip.push_str(cut(b, stored_chars));
    }
    for a in &p.attachments {
        doc.add_text(f.text, analyzer::tagged(detect(a), a));
        if snip.len() < stored_chars {
            if !snip.is_empty() {
                snip.push_str("\n\n");
            }
            let room = stored_chars - snip.len();
            snip.push_str(cut(a, room));
        }
    }
    for t in p.parties.iter().chain(&p.codes).chain([&p.reg_no]) {
        doc.add_text(f.text, t);
    }
    let snip = snippet_text(&snip);
    if !snip.is_empty() {
        doc.add_text(f.snip, &snip);
    }
    for party in &p.parties {
        doc.add_text(f.party, party);
    }
    for c in &p.codes {
        doc.add_text(f.code, c);
    }
    doc.add_text(f.series, &p.series);
    doc.add_facet(f.facet, Facet::from_path(["series", p.series.as_str()]));
    if let Some(t) = &p.doc_type {
        doc.add_text(f.doc_type, t);
        doc.add_facet(f.facet, Facet::from_path(["type", t.as_str()]));
    }
    doc.add_text(f.direction, &p.direction);
    doc.add_facet(
        f.facet,
        Facet::from_path(["direction", p.direction.as_str()]),
    );
    doc.add_i64(f.registered, date_key(p.registered));
    if let Some(r) = p.received {
        doc.add_i64(f.received, date_key(r));
    }
    doc.add_u64(f.restricted, u64::from(p.restricted));
    if let Some(e) = p.r_ends {
        doc.add_i64(f.r_ends, date_key(e));
    }
    if let Some(r) = &p.responsible {
        doc.add_text(f.responsible, r);
    }
    if let Some(u) = &p.unit {
        doc.add_text(f.unit, u);
    }
    doc.add_u64(f.thread_id, p.thread_id as u64);
    let _ = KIND_FULL;
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_text_shows_no_markup_and_never_runs_lines_together() {
        let cases = [
            (
                "<?xml version=\"1.0\"?><Record><RecordTitle>Taotlus</RecordTitle>\n<Body a=\"1\">Palun <b>abi</b></Body></Record>",
                "Taotlus Palun abi",
            ),
            ("kokkuvõte\nPatsient\r\non 3 < 5 ja 7 > 2", "kokkuvõte Patsient on 3 < 5 ja 7 > 2"),
            ("<!-- märkus -->tekst<![CDATA[ sees ]]>", "tekst sees"),
            ("  tühikud\t\tja\n\nread  ", "tühikud ja read"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(snippet_text(input), want, "{input:?}");
        }
    }

    #[test]
    fn masks_names_and_codes() {
        let t = mask_persons(
            "Taotleja Mari Maasikas (isikukood 49403136515) ja MAASIKAS Mari; Marika jääb.",
            &["Mari Maasikas".to_string()],
        );
        // "Marika" starts with the part "Mari": masked too (the cautious side).
        assert_eq!(
            t,
            "Taotleja eraisik (isikukood [isikukood]) ja eraisik eraisik; eraisik jääb."
        );
    }

    #[test]
    fn name_stems() {
        for (part, stem) in [
            ("Saar", "Saar"),
            ("Juurikas", "Juurik"),
            ("Tiina", "Tiin"),
            ("Mari", "Mari"),
            ("Kask", "Kask"),
            ("Tamm", "Tamm"),
            ("Jüri", "Jüri"),
            ("Maasikas", "Maasik"),
            ("Kadri", "Kadr"),
            ("Andrus", "Andr"),
            ("Õunapuu", "Õunapu"),
            ("Kõrvits", "Kõrvits"),
            ("JUURIKAS", "JUURIK"),
        ] {
            assert_eq!(name_stem(part), stem, "{part}");
        }
    }

    /// (name, text, masked text)
    const INFLECTIONS: &[(&str, &str, &str)] = &[
        (
            "Mari Saar",
            "Kiri Saarele ja Saare perele, vastus Saarelt.",
            "Kiri eraisik ja eraisik perele, vastus eraisik.",
        ),
        (
            "Jüri Juurikas",
            "Juurika avaldus; makstud Juurikale.",
            "eraisik avaldus; makstud eraisik.",
        ),
        (
            "Tiina Tamm",
            "Tiinale helistati, Tiinat teavitati.",
            "eraisik helistati, eraisik teavitati.",
        ),
        (
            "Mari Maasikas",
            "Mari Maasikale saadeti otsus.",
            "eraisik saadeti otsus.",
        ),
        (
            "Mari-Liis Kask",
            "Mari-Liisale ja Kask",
            "eraisik-eraisik ja eraisik",
        ),
        (
            "Tiina Tamm",
            "Saarele ja Tallinnale",
            "Saarele ja Tallinnale",
        ),
        ("Jüri Juurikas", "JUURIKALE ja jüril", "eraisik ja eraisik"),
        (
            "Ann Org",
            "Orgu ja Anni; organisatsioon",
            "eraisik ja eraisik; eraisik",
        ),
        // A whole word only: a name's stem inside a code such as "Saar12x" is not a name.
        (
            "Mari Saar",
            "viide Saar12x ja Saarele",
            "viide Saar12x ja eraisik",
        ),
    ];

    #[test]
    fn masks_inflected_names() {
        for (name, text, want) in INFLECTIONS {
            assert_eq!(
                mask_persons(text, &[name.to_string()]),
                *want,
                "{name}: {text}"
            );
        }
    }

    const SUFFIXES: &[&str] = &[
        "", "le", "lt", "l", "ga", "t", "d", "st", "s", "sse", "ks", "ni", "na", "ta", "ni",
    ];

    fn words(s: &str) -> Vec<String> {
        s.split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn masked_text_holds_no_name_part_or_inflection(
            parts in proptest::collection::vec("[A-ZÕÄÖÜ][a-zõäöü]{2,9}", 1..4),
            filler in proptest::collection::vec("[a-zõäöü]{1,10}", 0..12),
            picks in proptest::collection::vec((0usize..8, 0usize..15, proptest::bool::ANY), 1..12),
        ) {
            // The mask words themselves are not names.
            for p in &parts {
                let stem = name_stem(p).to_lowercase();
                proptest::prop_assume!(!ERAISIK.starts_with(&stem) && !"isikukood".starts_with(&stem));
            }
            let mut text = Vec::new();
            for (i, (pi, si, upper)) in picks.iter().enumerate() {
                if let Some(f) = filler.get(i) {
                    text.push(f.clone());
                }
                let part = &parts[pi % parts.len()];
                let base = if SUFFIXES[*si].is_empty() { part.to_string() } else { format!("{}{}", name_stem(part), SUFFIXES[*si]) };
                text.push(if *upper { base.to_uppercase() } else { base });
            }
            let text = text.join(" ");
            let masked = mask_persons(&text, &[parts.join(" ")]);
            let out = words(&masked);
            for p in &parts {
                let lp = p.to_lowercase();
                let stem = name_stem(p).to_lowercase();
                for s in SUFFIXES {
                    let form = if s.is_empty() { lp.clone() } else { format!("{stem}{s}") };
                    proptest::prop_assert!(!out.contains(&form), "{form:?} left in {masked:?} (from {text:?})");
                }
            }
        }
    }
}
