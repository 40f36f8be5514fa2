//! Search benchmark (not a test): indexing rate, query latency, index size, and the
//! same corpus and queries in PostgreSQL full-text search (tsvector + GIN, ts_rank).
//!
//! cargo run --release --example bench_search -- --docs 1000000 [--queries 500]
//!     [--corpus /work/shared/corpus/et-laws] [--pg postgres://postgres@127.0.0.1:5432/test]
//!     [--dump per-query.tsv]
//!
//! Documents: ~2 KB of real Estonian law text fragments with synthetic metadata.
//! `--index DIR` keeps the index in DIR and reuses it on the next run (queries only);
//! `--profile-rank N` then runs only the ranked measure, N times (for a profiler);
//! `--only-words N` keeps only the queries of N words (with `--profile-rank`);
//! `--typos` swaps two letters of each query's first word (the typo look-up's cost).

use std::time::Instant;

use docgate::search::analyzer;
use docgate::search::projection::{to_tantivy, Projected};
use docgate::search::query::{execute, rank, rank_all_words, rank_with, Access, SearchRequest};
use docgate::search::schema::{Fields, KIND_FULL};
use rand::{rngs::StdRng, Rng, SeedableRng};
use tantivy::Index;

const SERIES: [&str; 5] = ["9-13", "9-14", "9-15", "9-16", "9-17"];

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let n: usize = arg("--docs")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let nq: usize = arg("--queries")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(500);
    let corpus = arg("--corpus").unwrap_or_else(|| "/work/shared/corpus/et-laws".into());
    let pg = arg("--pg").or_else(|| std::env::var("DOCGATE_TEST_POSTGRES_URL").ok());
    let mut frags: Vec<String> = Vec::new();
    for e in std::fs::read_dir(&corpus)?.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "txt") && !p.ends_with("SOURCES.txt") {
            let t = std::fs::read_to_string(&p)?;
            for line in t.lines().skip(1) {
                if line.len() > 40 {
                    frags.push(line.to_string());
                }
            }
        }
    }
    let mut vocab: Vec<String> = frags
        .iter()
        .flat_map(|f| f.split(|c: char| !c.is_alphabetic()))
        .filter(|w| w.chars().count() >= 5)
        .map(|w| w.to_lowercase())
        .collect();
    vocab.sort();
    vocab.dedup();
    eprintln!("{} fragments, {} words", frags.len(), vocab.len());
    let mut rng = StdRng::seed_from_u64(42);
    let make = |i: usize, rng: &mut StdRng| -> Projected {
        let mut body = String::new();
        while body.len() < 1900 {
            body.push_str(&frags[rng.gen_range(0..frags.len())]);
            body.push(' ');
        }
        let day = jiff::civil::date(2020, 1, 1)
            .checked_add(jiff::Span::new().days(rng.gen_range(0..2000)))
            .unwrap();
        Projected {
            doc_id: i as i64 + 1,
            reg_no: format!("{}/{}", SERIES[i % 5], i + 1),
            title: frags[rng.gen_range(0..frags.len())]
                .chars()
                .take(80)
                .collect(),
            body: Some(body),
            attachments: Vec::new(),
            parties: vec!["Politsei- ja Piirivalveamet".into()],
            codes: Vec::new(),
            series: SERIES[i % 5].to_string(),
            doc_type: Some("teabenoue".into()),
            direction: "incoming".into(),
            registered: day,
            received: Some(day),
            restricted: false,
            r_ends: None,
            responsible: None,
            unit: None,
            thread_id: i as i64 + 1,
        }
    };

    // ---- docgate (tantivy)
    // --index DIR keeps the index there and reuses it on the next run (query
    // measurements only; indexing is measured when it is built).
    let tmp = tempfile::tempdir()?;
    let dir = arg("--index").map(std::path::PathBuf::from);
    let dir = dir.as_deref().unwrap_or(tmp.path());
    let f = Fields::new();
    let reuse = dir.join("meta.json").exists();
    let index = if reuse {
        Index::open_in_dir(dir)?
    } else {
        std::fs::create_dir_all(dir)?;
        Index::create_in_dir(dir, f.schema.clone())?
    };
    analyzer::register(index.tokenizers());
    // The corpus is generated either way: the queries come after it from the same seed.
    let w: Option<tantivy::IndexWriter> = if reuse {
        println!("docs: {n} (index reused from {})", dir.display());
        None
    } else {
        Some(index.writer_with_num_threads(2, 512 << 20)?)
    };
    let t0 = Instant::now();
    for i in 0..n {
        let p = make(i, &mut rng);
        if let Some(w) = &w {
            w.add_document(to_tantivy(&p, KIND_FULL, &f, 16_384))?;
        }
    }
    if let Some(mut w) = w {
        w.commit()?;
        // As `docgate reindex` ends: the segments merged into one.
        let t1 = Instant::now();
        // A merge the writer's policy started after the commit may still hold
        // some segments: the merge of all of them is tried again once it ends.
        let mut ids = index.searchable_segment_ids()?;
        let segments = ids.len();
        let mut tries = 0;
        while ids.len() > 1 {
            match w.merge(&ids).wait() {
                Ok(_) => break,
                Err(e) if tries < 120 => {
                    tries += 1;
                    eprintln!(
                        "merge of {} segments not yet possible ({e}); again in 1 s",
                        ids.len()
                    );
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    ids = index.searchable_segment_ids()?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        // The merged-away segments' files are deleted only by a garbage
        // collection; without it the size below counted them too.
        w.garbage_collect_files().wait()?;
        w.wait_merging_threads()?;
        let merge = t1.elapsed().as_secs_f64();
        let secs = t0.elapsed().as_secs_f64();
        println!("docs: {n}");
        println!(
            "indexing: {:.1} s, {:.0} docs/s (2 threads; includes merging the {} segments of the commit into one, {:.1} s)",
            secs,
            n as f64 / secs,
            segments,
            merge
        );
    }
    // The live segments' files only: a merge leaves the merged-away segments'
    // files until a later garbage collection.
    let live: Vec<String> = index
        .searchable_segment_ids()?
        .iter()
        .map(|id| id.uuid_string())
        .collect();
    let mut size = 0u64;
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if live.iter().any(|id| name.starts_with(id.as_str())) {
            size += e.metadata()?.len();
        }
    }
    println!(
        "index size: {:.1} MiB (live segments; the folder holds {:.1} MiB)",
        size as f64 / 1048576.0,
        docgate::search::indexer::dir_size(dir) as f64 / 1048576.0
    );
    let reader = index.reader()?;
    let searcher = reader.searcher();
    let queries: Vec<(String, String)> = (0..nq)
        .map(|_| {
            let k = rng.gen_range(1..=3);
            let q: Vec<&str> = (0..k)
                .map(|_| vocab[rng.gen_range(0..vocab.len())].as_str())
                .collect();
            (q.join(" "), SERIES[rng.gen_range(0..5)].to_string())
        })
        .collect();
    // --typos: the same queries with two neighbouring letters of each query's
    // first word swapped (the typo look-up's cost; drawn after the queries, so
    // the corpus and queries stay those of the other runs).
    let queries: Vec<(String, String)> = if std::env::args().any(|a| a == "--typos") {
        queries
            .into_iter()
            .map(|(q, s)| {
                let mut words: Vec<String> = q.split(' ').map(str::to_string).collect();
                let mut c: Vec<char> = words[0].chars().collect();
                let i = rng.gen_range(1..c.len() - 1);
                c.swap(i, i + 1);
                words[0] = c.into_iter().collect();
                (words.join(" "), s)
            })
            .collect()
    } else {
        queries
    };
    // --only-words N: only the queries of N words (for a profiler).
    let queries: Vec<(String, String)> = match arg("--only-words") {
        Some(k) => {
            let k: usize = k.parse()?;
            queries
                .into_iter()
                .filter(|(q, _)| q.split(' ').count() == k)
                .collect()
        }
        None => queries,
    };
    let req = |q: &str, s: &str| SearchRequest {
        query: q.to_string(),
        series: Some(s.to_string()),
        limit: 20,
        ..Default::default()
    };
    // Four measures of the same queries: the ranked page (ids, scores and the
    // exact count: what PostgreSQL is asked for below), the same through
    // tantivy's generic boolean plan (mode 3), the page with each hit's
    // registration number and title read from the index's store, and the same
    // with highlighted snippets (what `docgate search` prints).
    // Which queries' pages are filled with relaxed hits (their latencies are
    // also given apart for the ranked measure).
    let mut relaxed_q = Vec::with_capacity(queries.len());
    let (mut one_pass, mut filled) = (0, 0);
    for (q, s) in &queries {
        let r = rank(&f, &searcher, &searcher, &req(q, s), Access::Public)?;
        one_pass += usize::from(r.one_pass);
        filled += usize::from(r.top.len() > r.all_hits);
        relaxed_q.push(r.top.len() > r.all_hits);
    }
    println!(
        "queries answered by the one-pass plan: {one_pass} of {}; pages filled with relaxed (some-words) hits: {filled}",
        queries.len()
    );
    let by_kind = std::cell::RefCell::new((Vec::new(), Vec::new()));
    let measure = |mode: u8| -> anyhow::Result<(f64, f64, u64)> {
        let mut lat = Vec::new();
        let mut totals = 0u64;
        for (q, s) in &queries {
            let r = req(q, s);
            let t = Instant::now();
            let total = match mode {
                0 => rank(&f, &searcher, &searcher, &r, Access::Public)?.total,
                3 => rank_with(&f, &searcher, &searcher, &r, Access::Public, false)?.total,
                4 => rank_all_words(&f, &searcher, &searcher, &r, Access::Public)?.total,
                1 => execute(&f, &searcher, &searcher, &r, Access::Public, 0)?.total,
                _ => execute(&f, &searcher, &searcher, &r, Access::Public, 200)?.total,
            };
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
            totals += total;
        }
        if mode == 0 {
            // --dump FILE: each query's latency, words, series and counts
            // (tab-separated), to see which queries sit at the median.
            if let Some(path) = arg("--dump") {
                let mut out = String::new();
                for ((q, s), l) in queries.iter().zip(&lat) {
                    let r = rank(&f, &searcher, &searcher, &req(q, s), Access::Public)?;
                    out.push_str(&format!(
                        "{l:.4}\t{}\t{}\t{s}\t{q}\t{}\t{}\t{}\n",
                        q.split(' ').count(),
                        r.one_pass,
                        r.total,
                        r.relaxed,
                        r.top.len() - r.all_hits
                    ));
                }
                std::fs::write(path, out)?;
            }
            let mut k = by_kind.borrow_mut();
            k.0 = lat
                .iter()
                .zip(&relaxed_q)
                .filter(|(_, r)| !**r)
                .map(|(l, _)| *l)
                .collect();
            k.1 = lat
                .iter()
                .zip(&relaxed_q)
                .filter(|(_, r)| **r)
                .map(|(l, _)| *l)
                .collect();
        }
        Ok((pct(&mut lat, 0.5), pct(&mut lat, 0.99), totals))
    };
    // --profile-rank N: only the ranked measure, N passes (for a profiler).
    if let Some(passes) = arg("--profile-rank") {
        for _ in 0..passes.parse::<usize>()? {
            measure(0)?;
        }
        return Ok(());
    }
    // One warm-up pass of each measure, as PostgreSQL's cache is warm from
    // loading (a reused index's stored fields may not be in the page cache).
    for mode in [0, 4, 3, 1, 2] {
        measure(mode)?;
    }
    let (p50, p99, totals) = measure(0)?;
    println!("docgate query (1-3 terms + series filter, top 20 ids + exact count): p50 {p50:.3} ms, p99 {p99:.2} ms (sum of totals {totals})");
    {
        let mut k = by_kind.borrow_mut();
        let (all, some) = &mut *k;
        let (na, ns) = (all.len(), some.len());
        if na > 0 && ns > 0 {
            println!(
                "  of which pages of all-words hits only ({na}): p50 {:.3} ms, p99 {:.2} ms; pages filled with relaxed hits ({ns}): p50 {:.3} ms, p99 {:.2} ms",
                pct(all, 0.5),
                pct(all, 0.99),
                pct(some, 0.5),
                pct(some, 0.99)
            );
        }
    }
    // The same answer as PostgreSQL's (the all-words page and its count, no
    // relaxed hits): like for like.
    let (p50a, p99a, totals_a) = measure(4)?;
    println!("docgate all-words page + exact count only (what PostgreSQL answers): p50 {p50a:.3} ms, p99 {p99a:.2} ms (sum of totals {totals_a})");
    let (p50g, p99g, totals_g) = measure(3)?;
    println!("docgate query through tantivy's generic boolean plan (same measure): p50 {p50g:.3} ms, p99 {p99g:.2} ms (sum of totals {totals_g})");
    let (p50h, p99h, _) = measure(1)?;
    println!(
        "docgate query + reg. no. and title of the 20 hits: p50 {p50h:.3} ms, p99 {p99h:.2} ms"
    );
    let (p50s, p99s, _) = measure(2)?;
    println!("docgate query + reg. no., title and snippets: p50 {p50s:.3} ms, p99 {p99s:.2} ms");

    // ---- PostgreSQL full-text search
    if let Some(url) = pg {
        let rt = tokio::runtime::Runtime::new()?;
        rt.block_on(async {
            use sqlx::Row;
            let pool = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(&url).await?;
            sqlx::query("DROP TABLE IF EXISTS bench_search").execute(&pool).await?;
            sqlx::query("CREATE TABLE bench_search (id BIGINT PRIMARY KEY, series TEXT NOT NULL, body TEXT NOT NULL, tsv tsvector)").execute(&pool).await?;
            let t = Instant::now();
            // The same corpus again from the same seed, 2,000 rows a statement
            // (generated here as for docgate, not kept in memory).
            let mut again = StdRng::seed_from_u64(42);
            for start in (0..n).step_by(2000) {
                let chunk: Vec<Projected> = (start..(start + 2000).min(n)).map(|i| make(i, &mut again)).collect();
                let ids: Vec<i64> = (start..start + chunk.len()).map(|i| i as i64).collect();
                let series: Vec<String> = chunk.iter().map(|p| p.series.clone()).collect();
                let texts: Vec<String> = chunk.iter().map(|p| p.body.clone().unwrap_or_default()).collect();
                sqlx::query("INSERT INTO bench_search (id, series, body, tsv) SELECT i, s, b, to_tsvector('simple', b) FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[]) AS u(i, s, b)")
                    .bind(&ids).bind(&series).bind(&texts).execute(&pool).await?;
            }
            sqlx::query("CREATE INDEX bench_search_tsv ON bench_search USING GIN (tsv)").execute(&pool).await?;
            sqlx::query("ANALYZE bench_search").execute(&pool).await?;
            let load = t.elapsed().as_secs_f64();
            let sz: i64 = sqlx::query("SELECT pg_total_relation_size('bench_search')::BIGINT AS s").fetch_one(&pool).await?.try_get("s")?;
            println!("postgres load + GIN: {load:.1} s, {:.0} docs/s, size {:.1} MiB", n as f64 / load, sz as f64 / 1048576.0);
            // Per query: the all-words page and count's time (PostgreSQL's
            // own answer) and, where a fill was run, the fill's. The fill is
            // run where PostgreSQL's own all-words page is short (the answer
            // docgate gives, asked of PostgreSQL) and where docgate's is (the
            // same queries as docgate's, PostgreSQL timed only on those). A
            // warm-up pass first, as for docgate.
            let mut lat = Vec::new();
            let mut lat_r = Vec::new();
            let mut lat_same = Vec::new();
            let mut pg_filled = 0;
            let mut pg_fill_rows = 0;
            for pass in 0..2 {
            lat.clear();
            lat_r.clear();
            lat_same.clear();
            pg_filled = 0;
            pg_fill_rows = 0;
            for ((q, s), &dg_filled) in queries.iter().zip(&relaxed_q) {
                let words: Vec<&str> = q.split(' ').collect();
                let t = Instant::now();
                let rows = sqlx::query("SELECT id, ts_rank(tsv, q) AS r FROM bench_search, plainto_tsquery('simple', $1) q WHERE tsv @@ q AND series = $2 ORDER BY r DESC LIMIT 20")
                    .bind(q).bind(s).fetch_all(&pool).await?;
                let _n: i64 = sqlx::query("SELECT COUNT(*)::BIGINT AS n FROM bench_search, plainto_tsquery('simple', $1) q WHERE tsv @@ q AND series = $2")
                    .bind(q).bind(s).fetch_one(&pool).await?.try_get("n")?;
                let all_words = t.elapsed().as_secs_f64() * 1000.0;
                lat.push(all_words);
                let own = rows.len() < 20 && words.len() > 1;
                let mut fill_ms = 0.0;
                if own || dg_filled {
                    // $3.. are the words; the OR of their queries, and the
                    // number each document holds.
                    let any: Vec<String> = (0..words.len()).map(|i| format!("plainto_tsquery('simple', ${})", i + 3)).collect();
                    let held: Vec<String> = (0..words.len()).map(|i| format!("(tsv @@ plainto_tsquery('simple', ${}))::int", i + 3)).collect();
                    let sql = format!(
                        "SELECT id, {held} AS m, ts_rank(tsv, w.q) AS r FROM bench_search, (SELECT {any} AS q) w WHERE tsv @@ w.q AND series = $2 AND NOT tsv @@ plainto_tsquery('simple', $1) ORDER BY m DESC, r DESC LIMIT {}",
                        20usize.saturating_sub(rows.len()).max(1),
                        held = held.join(" + "),
                        any = any.join(" || "),
                    );
                    let mut fill = sqlx::query(&sql).bind(q).bind(s);
                    for w in &words {
                        fill = fill.bind(*w);
                    }
                    let t = Instant::now();
                    let got = fill.fetch_all(&pool).await?.len();
                    fill_ms = t.elapsed().as_secs_f64() * 1000.0;
                    if own {
                        pg_filled += 1;
                        pg_fill_rows += got;
                    }
                }
                lat_r.push(all_words + if own { fill_ms } else { 0.0 });
                lat_same.push(all_words + if dg_filled { fill_ms } else { 0.0 });
            }
            let _ = pass;
            }
            let (pp50, pp99) = (pct(&mut lat, 0.5), pct(&mut lat, 0.99));
            println!("postgres query (same queries, ts_rank top 20 + exact count): p50 {pp50:.2} ms, p99 {pp99:.2} ms");
            let (rp50, rp99) = (pct(&mut lat_r, 0.5), pct(&mut lat_r, 0.99));
            println!("postgres asked docgate's answer (all-words page + count; where fewer than 20, filled with some-words hits by words held, then ts_rank; {pg_filled} of {} queries filled, with {pg_fill_rows} hits): p50 {rp50:.2} ms, p99 {rp99:.2} ms", queries.len());
            println!("ratio postgres/docgate, the answer docgate gives asked of both: p50 {:.1}x, p99 {:.1}x", rp50 / p50, rp99 / p99);
            let (sp50, sp99) = (pct(&mut lat_same, 0.5), pct(&mut lat_same, 0.99));
            println!("postgres asked the same, filling only the {filled} queries docgate fills: p50 {sp50:.2} ms, p99 {sp99:.2} ms");
            println!("ratio postgres/docgate, the answer docgate gives, filled where docgate fills: p50 {:.1}x, p99 {:.1}x", sp50 / p50, sp99 / p99);
            println!("ratio postgres/docgate, ids + count (docgate's page filled with relaxed hits where the words together are fewer): p50 {:.1}x, p99 {:.1}x", pp50 / p50, pp99 / p99);
            println!("ratio postgres/docgate, like for like (all-words page + count only): p50 {:.1}x, p99 {:.1}x", pp50 / p50a, pp99 / p99a);
            println!("ratio postgres/docgate with reg. no. and title: p50 {:.1}x, p99 {:.1}x", pp50 / p50h, pp99 / p99h);
            println!("ratio postgres/docgate with snippets: p50 {:.1}x, p99 {:.1}x", pp50 / p50s, pp99 / p99s);
            sqlx::query("DROP TABLE bench_search").execute(&pool).await?;
            anyhow::Ok(())
        })?;
    }
    Ok(())
}
