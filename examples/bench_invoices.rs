//! Invoice benchmark (not a test): reading, XSD validation and registration of
//! UBL 2.1 e-invoices against referrals, through the register as any intake
//! path does it (`Register::register`: read, xmllint, match, check, record).
//!
//! cargo run --release --example bench_invoices -- [--invoices 2000] [--referrals 200]
//!     [--data /tmp/bench-invoices] [--pg postgres://postgres@127.0.0.1:5432/test]
//!
//! Prints, per stage, the rate and the p50/p99 of one invoice: parsing
//! (`invoice::read::parse`, pure), validating (`invoice::xsd::validate`,
//! one xmllint child process), and registering (the whole path, one
//! transaction per invoice, the referral's other invoices counted in it).

use std::time::Instant;

use docgate::invoice::{write, NewReferral, ReferralUnit, Syntax};
use docgate::model::{Channel, Direction, NewDocument, NewFile, Party, PartyKind, PartyRole};
use docgate::{App, Config};
use rust_decimal::Decimal;

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

fn report(stage: &str, mut ms: Vec<f64>, total_s: f64) {
    let n = ms.len();
    println!(
        "{stage:<10} {n:>6} invoices  {:>8.1}/s  p50 {:>7.3} ms  p99 {:>7.3} ms",
        n as f64 / total_s,
        pct(&mut ms, 0.5),
        pct(&mut ms, 0.99)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = arg("--invoices")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2000);
    let nr: usize = arg("--referrals")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200);
    let data = arg("--data").unwrap_or_else(|| "/tmp/bench-invoices".into());
    let _ = std::fs::remove_dir_all(&data);
    let mut cfg = Config {
        data_dir: data.clone().into(),
        ..Config::default()
    };
    if let Some(url) = arg("--pg") {
        cfg.database_url = url;
    }
    let app = App::open(cfg).await?;
    let today = app.register.today();
    let day = |n: i64| today.checked_add(jiff::Span::new().days(n)).unwrap();

    // The referrals: providers 10000000 + i % 20, one person each.
    let t = Instant::now();
    for i in 0..nr {
        let code = format!("{}", 10_000_000 + (i % 20));
        let mut letter = NewDocument::new(Direction::Outgoing, Channel::Email, "Suunamiskiri");
        letter.kind = Some("suunamiskiri".into());
        letter.parties = vec![
            Party {
                kind: PartyKind::Organisation,
                role: PartyRole::Recipient,
                name: format!("Teenus {i} OÜ"),
                code: Some(code.clone()),
                email: Some(format!("arved{i}@example.ee")),
            },
            Party::from_name_and_code(&format!("Isik Number{i}"), None, PartyRole::Recipient)?,
        ];
        letter.referral = Some(NewReferral {
            provider_code: code,
            provider_name: format!("Teenus {i} OÜ"),
            person_name: format!("Isik Number{i}"),
            person_code: None,
            service: ["psühholoogiline nõustamine", "turvakodu", "traumateraapia"][i % 3].into(),
            unit: ReferralUnit::Sessions,
            units: Decimal::from(1_000),
            unit_price_limit: Some(Decimal::from(60)),
            total_limit: None,
            valid_from: day(-90),
            valid_to: day(90),
        });
        app.register.register(letter, "bench").await?;
    }
    println!(
        "{nr} referrals registered in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let numbers: Vec<(String, String)> = app
        .register
        .referrals(10_000)
        .await?
        .into_iter()
        .map(|r| (r.number, r.provider.code.unwrap_or_default()))
        .collect();

    let invoices: Vec<String> = (0..n)
        .map(|i| {
            let (number, code) = &numbers[i % numbers.len()];
            let mut inv = write::sample(Syntax::Ubl);
            inv.number = format!("B-{i}");
            inv.seller.code = Some(code.clone());
            inv.buyer_reference = Some(number.clone());
            inv.issue_date = day(-2);
            inv.due_date = Some(day(28));
            inv.period_start = Some(day(-30));
            inv.period_end = Some(day(-3));
            write::ubl(&inv)
        })
        .collect();

    // Parsing alone.
    let t = Instant::now();
    let mut ms = Vec::with_capacity(n);
    for x in &invoices {
        let s = Instant::now();
        let p = docgate::invoice::read::parse(x.as_bytes()).map_err(anyhow::Error::msg)?;
        assert!(docgate::invoice::arith::check(&p.invoice).is_empty());
        ms.push(s.elapsed().as_secs_f64() * 1e3);
    }
    report("parse", ms, t.elapsed().as_secs_f64());

    // XSD validation alone (xmllint), on a sample of at most 200.
    let schemas = app.config.invoices.schemas();
    let k = n.min(200);
    let t = Instant::now();
    let mut ms = Vec::with_capacity(k);
    for x in invoices.iter().take(k) {
        let s = Instant::now();
        let errs = docgate::invoice::xsd::validate(
            Syntax::Ubl,
            x.as_bytes(),
            &schemas,
            std::time::Duration::from_secs(30),
        )
        .map_err(anyhow::Error::msg)?;
        assert!(errs.is_empty(), "{errs:?}");
        ms.push(s.elapsed().as_secs_f64() * 1e3);
    }
    report("xmllint", ms, t.elapsed().as_secs_f64());

    // The whole registration path.
    let t = Instant::now();
    let mut ms = Vec::with_capacity(n);
    for (i, x) in invoices.into_iter().enumerate() {
        let mut nd = NewDocument::new(Direction::Incoming, Channel::Email, format!("Arve B-{i}"));
        nd.files.push(NewFile::new(
            format!("arve-{i}.xml"),
            "application/xml",
            x.into_bytes(),
        ));
        nd.source_keys = vec![format!("bench:{i}")];
        let s = Instant::now();
        app.register.register(nd, "bench").await?;
        ms.push(s.elapsed().as_secs_f64() * 1e3);
    }
    report("register", ms, t.elapsed().as_secs_f64());
    let all = app.register.invoices(None, 10_000).await?;
    let matched = all.iter().filter(|v| v.referral.is_some()).count();
    let clean = all.iter().filter(|v| v.checks.iter().all(|c| c.ok)).count();
    println!(
        "{} invoices: {matched} matched, {clean} passing every check",
        all.len()
    );
    Ok(())
}
