//! Benchmark of `overdue` and `report` over a large register (SQLite by default).
//!
//!     cargo run --release --example bench_deadlines -- [--docs 1000000] [--dir DIR] [--database-url URL]
//!
//! Registers `--docs` documents through the register (threads of an incoming
//! letter with a document type and, except 0.5% of old ones and 15% of the last two
//! months, an outgoing reply),
//! builds the deadline projection, then times `overdue` (the indexed query plus
//! working-day arithmetic, as the command runs it) and `report` for one year.
//! An existing register in DIR is reused when it already has enough documents.

#![allow(clippy::field_reassign_with_default)]

use std::time::Instant;

use docgate::deadline::state::{self, Engine};
use docgate::model::*;
use docgate::{App, Config};
use jiff::civil::date;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

const TYPES: &[&str] = &[
    "avts-teabenoue",
    "msvs-selgitustaotlus",
    "oas-huvitis",
    "oas-vaimne-tervis",
    "sus-otsus",
    "hms-vaie",
    "gdpr-paring",
];
const SERIES: &[&str] = &["9-13", "9-14", "9-15"];

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = arg(&args, "--docs")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = arg(&args, "--dir").unwrap_or_else(|| "bench-data/deadlines".into());
    let mut cfg = Config::default();
    cfg.data_dir = dir.clone().into();
    if let Some(u) = arg(&args, "--database-url") {
        cfg.database_url = u;
    }
    let app = App::open(cfg).await?;
    let eng = Engine::from_app(&app)?;
    let have = app.register.count(&Default::default()).await? as usize;
    let start_day = date(2023, 1, 2);
    let days = 3 * 365;
    if have < n {
        let t = Instant::now();
        let mut i = have;
        let mut batch = Vec::with_capacity(1000);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ have as u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        while i < n {
            // Each thread: an incoming letter, then maybe a reply.
            let day = start_day
                .checked_add(jiff::Span::new().days((i * days / n) as i64))
                .unwrap();
            let ts = day
                .at(9, 0, 0, 0)
                .to_zoned(jiff::tz::TimeZone::UTC)
                .unwrap()
                .timestamp();
            let r = rnd();
            let mut d = NewDocument::new(Direction::Incoming, Channel::Email, format!("kiri {i}"));
            d.series = Some(SERIES[(r % 3) as usize].into());
            d.doc_type = Some(TYPES[((r >> 8) % TYPES.len() as u64) as usize].into());
            d.responsible = Some(format!("ametnik{:02}", (r >> 16) % 30));
            d.registered_at = Some(ts);
            if (r >> 24) % 20 == 0 {
                d.received = Some(day.checked_sub(jiff::Span::new().days(4)).unwrap());
            }
            batch.push(d);
            i += 1;
            // Older letters are nearly all answered (0.5% forgotten), the last
            // two months 85%: a realistic backlog for `overdue`.
            let recent = (i * days / n) + 60 > days;
            let answered = if recent {
                (r >> 32) % 100 < 85
            } else {
                (r >> 48) % 200 != 0
            };
            if answered && i < n {
                // The reply: 1..25 days later (some late), registered in the same batch.
                let later = 1 + ((r >> 40) % 25) as i64;
                let rts = ts + jiff::SignedDuration::from_hours(24 * later);
                if rts < jiff::Timestamp::now() {
                    let mut rep = NewDocument::new(Direction::Outgoing, Channel::Email, "Vastus");
                    rep.registered_at = Some(rts);
                    rep.reply_to = Some(String::new()); // filled after the parent is numbered
                    batch.push(rep);
                    i += 1;
                }
            }
            if batch.len() >= 1000 || i >= n {
                let mut tx = app.register.begin().await?;
                let mut last_parent = String::new();
                for mut d in batch.drain(..) {
                    if d.reply_to.is_some() {
                        d.reply_to = Some(last_parent.clone());
                    }
                    let doc = app.register.register_in(&mut tx, d, "bench").await?;
                    if doc.direction == Direction::Incoming {
                        last_parent = doc.reg_no;
                    }
                }
                tx.commit().await?;
                if i % 50_000 < 1000 {
                    eprintln!(
                        "registered {i} documents ({:.0}/s)",
                        (i - have) as f64 / t.elapsed().as_secs_f64()
                    );
                }
            }
        }
        eprintln!(
            "registered {} documents in {:.1} s",
            n - have,
            t.elapsed().as_secs_f64()
        );
    }
    let t = Instant::now();
    let k = state::sync(&app, &eng).await?;
    eprintln!(
        "deadline projection: {k} documents recomputed in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let total = app.register.count(&Default::default()).await?;
    let (open,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM deadlines WHERE state = 'open'")
        .fetch_one(&docgate::testing::raw_pool(&app).await)
        .await?;

    let as_of = date(2025, 12, 31);
    let mut times = Vec::new();
    let mut lines = (0, 0);
    for _ in 0..7 {
        let t = Instant::now();
        let (o, s) = state::overdue(&app, &eng, as_of, None).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        lines = (o.len(), s.len());
    }
    let overdue_ms = median_ms(times);
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        state::overdue(&app, &eng, as_of, Some("ametnik07")).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let overdue_one_ms = median_ms(times);
    let mut times = Vec::new();
    let mut nlines = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let r = docgate::report::build(&app, date(2025, 1, 1), date(2025, 12, 31), as_of).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        nlines = r.lines.len();
    }
    let report_ms = median_ms(times);
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        docgate::report::build(&app, date(2023, 1, 1), date(2025, 12, 31), as_of).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let report_all_ms = median_ms(times);
    println!("documents: {total}, open deadlines: {open}");
    println!(
        "overdue (all officials): {overdue_ms:.1} ms median of 7 ({} overdue, {} due soon)",
        lines.0, lines.1
    );
    println!("overdue --responsible: {overdue_one_ms:.1} ms median of 7");
    println!("report one year: {report_ms:.1} ms median of 3 ({nlines} lines)");
    println!("report three years: {report_all_ms:.1} ms median of 3");
    Ok(())
}
