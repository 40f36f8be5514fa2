//! The search-quality benchmark (see `docgate::search::quality`): the development
//! queries of `fixtures/search-quality/dev.tsv` over the whole et-laws corpus, with
//! today's analyser (lemma lexicon, compound parts, relaxed matching, typos), the
//! previous one (Snowball Estonian, all words only) and PostgreSQL's `simple`
//! full-text search; top-1, top-5 and MRR per kind of query.
//!
//! ```sh
//! cargo run --example search_quality -- [--corpus /work/shared/corpus/et-laws] \
//!     [--queries fixtures/search-quality/dev.tsv] [--pg postgres://postgres@127.0.0.1:5432/test] [--misses]
//! ```

use std::path::PathBuf;

use docgate::search::analyzer::set_snowball_only;
use docgate::search::quality::{build_index, load_et_laws, parse_cases, run, Doc, Report};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let corpus = PathBuf::from(arg("--corpus").unwrap_or_else(|| {
        std::env::var("DOCGATE_ET_LAWS").unwrap_or_else(|_| "/work/shared/corpus/et-laws".into())
    }));
    let queries = arg("--queries").unwrap_or_else(|| "fixtures/search-quality/dev.tsv".into());
    let pg = arg("--pg").or_else(|| std::env::var("DOCGATE_TEST_POSTGRES_URL").ok());
    let show_misses = std::env::args().any(|a| a == "--misses");
    let cases = parse_cases(&std::fs::read_to_string(&queries)?)?;
    let docs = load_et_laws(&corpus, |_| true)?;
    println!("{} documents, {} queries", docs.len(), cases.len());
    println!(
        "| analyser | kind | queries | top-1 % | top-5 % | MRR |\n|---|---|---:|---:|---:|---:|"
    );

    let mut reports = Vec::new();
    for (label, old) in [("old (Snowball)", true), ("new (lexicon)", false)] {
        set_snowball_only(old);
        let (f, index) = build_index(&docs)?;
        let report = run(&docs, &f, &index, &cases)?;
        print!("{}", report.table(label));
        reports.push((label, report));
    }
    set_snowball_only(false);
    if let Some(url) = pg {
        let report = postgres(&url, &docs, &cases).await?;
        print!("{}", report.table("PostgreSQL simple"));
        reports.push(("PostgreSQL simple", report));
    }
    if show_misses {
        for (label, r) in &reports {
            for (c, rank) in &r.misses {
                println!(
                    "{label}: miss {} {:?} -> {} at {rank:?}",
                    c.kind, c.query, c.expected
                );
            }
        }
    }
    Ok(())
}

/// PostgreSQL `simple` FTS over the same documents: `plainto_tsquery` (all words),
/// ranked by `ts_rank`, top 20.
async fn postgres(
    url: &str,
    docs: &[Doc],
    cases: &[docgate::search::quality::Case],
) -> anyhow::Result<Report> {
    use sqlx::Row;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    sqlx::query("DROP TABLE IF EXISTS search_quality")
        .execute(&pool)
        .await?;
    sqlx::query("CREATE TABLE search_quality (name TEXT PRIMARY KEY, tsv tsvector)")
        .execute(&pool)
        .await?;
    for d in docs {
        sqlx::query("INSERT INTO search_quality VALUES ($1, to_tsvector('simple', $2))")
            .bind(&d.name)
            .bind(format!("{}\n{}", d.title, d.body))
            .execute(&pool)
            .await?;
    }
    let mut report = Report::default();
    for c in cases {
        if !docs.iter().any(|d| d.name == c.expected) {
            continue;
        }
        let rows = sqlx::query("SELECT name FROM search_quality, plainto_tsquery('simple', $1) q WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC, name LIMIT 20")
            .bind(&c.query)
            .fetch_all(&pool)
            .await?;
        let rank = rows
            .iter()
            .position(|r| r.get::<String, _>("name") == c.expected)
            .map(|i| i + 1);
        report.add(c, rank);
    }
    sqlx::query("DROP TABLE search_quality")
        .execute(&pool)
        .await?;
    Ok(report)
}
