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
