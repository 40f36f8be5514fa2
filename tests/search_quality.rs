//! The search-quality benchmark as a test with a floor (see `docgate::search::quality`):
//! the development queries whose expected section is in the repository's part of
//! the law corpus (`fixtures/search/et-laws`, the Penal Code), on an index of
//! that part. A drop in the analysis or the matching fails CI.

use std::path::Path;

use docgate::search::quality::{build_index, load_et_laws, parse_cases, run};

/// Floors on the repository's corpus: top-5 overall and for each kind of query.
const FLOOR_ALL_TOP5: f64 = 95.0;
const FLOOR_KIND_TOP5: f64 = 90.0;

#[test]
fn search_quality_stays_above_its_floor_on_the_dev_set() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases = parse_cases(
        &std::fs::read_to_string(root.join("fixtures/search-quality/dev.tsv")).unwrap(),
    )
    .unwrap();
    let docs = load_et_laws(&root.join("fixtures/search/et-laws"), |_| true).unwrap();
    assert!(docs.len() > 500, "corpus: {} files", docs.len());
    let (f, index) = build_index(&docs).unwrap();
    let report = run(&docs, &f, &index, &cases).unwrap();
    eprintln!("{}", report.table("new"));
    for (case, rank) in &report.misses {
        eprintln!(
            "miss: {} {:?} -> {} at {rank:?}",
            case.kind, case.query, case.expected
        );
    }
    let all = report.kinds["all"];
    assert!(all.queries >= 80, "only {} queries ran", all.queries);
    assert!(
        all.top5_pct() >= FLOOR_ALL_TOP5,
        "top-5 {:.1}% under {FLOOR_ALL_TOP5}%",
        all.top5_pct()
    );
    for kind in ["base", "other", "nodiac", "compound", "typo"] {
        let k = report.kinds[kind];
        assert!(
            k.top5_pct() >= FLOOR_KIND_TOP5,
            "{kind}: top-5 {:.1}% under {FLOOR_KIND_TOP5}%",
            k.top5_pct()
        );
    }
}

/// The ids (1-based positions in `docs`) of a query's ranked hits, and how many
/// of them match all the words.
fn ranked(docs: &[docgate::search::quality::Doc], q: &str) -> (Vec<u64>, usize) {
    use docgate::search::query::{rank, Access, SearchRequest};
    use tantivy::schema::Value;
    let (f, index) = build_index(docs).unwrap();
    let searcher = index.reader().unwrap().searcher();
    let req = SearchRequest {
        query: q.into(),
        limit: 10,
        ..SearchRequest::default()
    };
    let r = rank(&f, &searcher, &searcher, &req, Access::Public).unwrap();
    let ids = r
        .top
        .iter()
        .map(|(_, a)| {
            let d: tantivy::TantivyDocument = searcher.doc(*a).unwrap();
            d.get_first(f.doc_id).and_then(|v| v.as_u64()).unwrap()
        })
        .collect();
    (ids, r.all_hits)
}

fn doc(title: &str, body: &str) -> docgate::search::quality::Doc {
    docgate::search::quality::Doc {
        name: title.into(),
        title: title.into(),
        body: body.into(),
    }
}

#[test]
fn compound_head_matches_below_the_exact_word() {
    let docs = [
        doc("Teade", "Lähisuhtevägivalla ohvrile anti nõu."),
        doc("Teatis", "Vägivald koolis, palun sekkuge."),
        doc("Muu", "Kirjas on juttu muust."),
    ];
    assert_eq!(ranked(&docs, "vägivald"), (vec![2, 1], 2));
    assert_eq!(ranked(&docs, "vagivalda"), (vec![2, 1], 2));
}

#[test]
fn whole_word_prefix_matches_the_words_forms() {
    let docs = [
        doc("Sõnumisaladuse rikkumine", "Kirja avati loata."),
        doc("Muu", "Saladus on see, mida ei räägita."),
    ];
    assert_eq!(ranked(&docs, "sõnumisaladus*").0, vec![1]);
    assert_eq!(ranked(&docs, "sõnumisaladus").0, vec![1]);
}

#[test]
fn typos_are_tolerated_by_length_and_never_rank_above_an_exact_match() {
    let docs = [
        doc("Kiri", "Ohvriabi keskus vastas."),
        doc("Märge", "Ohvirabi keskus, kirjaviga tekstis."),
        doc("Muu", "Kiri muust."),
    ];
    // one edit in a word of 8 letters: found, after the document that has the
    // typed spelling exactly
    assert_eq!(ranked(&docs, "ohvirabi"), (vec![2, 1], 1));
    // two edits need 9 letters
    assert_eq!(ranked(&docs, "ohvriaabii").0, vec![1]);
    assert_eq!(ranked(&docs, "ohhvriaabi").0, vec![1]);
    assert_eq!(ranked(&docs, "ovriabj").0, Vec::<u64>::new());
    // no typo tolerance under 5 letters
    let docs = [doc("Kiri", "Maja on suur.")];
    assert_eq!(ranked(&docs, "maia").0, Vec::<u64>::new());
    // relaxed: the document with more of the words first, all-words hits before it
    let docs = [
        doc("A", "taotlus hüvitis"),
        doc("B", "taotlus"),
        doc("C", "taotlus hüvitis kahju"),
    ];
    let (ids, all) = ranked(&docs, "taotlus hüvitis kahju");
    assert_eq!((ids[0], all), (3, 1));
    assert_eq!(ids[1..], [1, 2]);
}
