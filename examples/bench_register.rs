//! Registration throughput on SQLite and PostgreSQL, single documents and batches.
//!
//! cargo run --release --example bench_register -- [--single N] [--batched N] [--batch-size B]
//! PostgreSQL is measured when DOCGATE_TEST_POSTGRES_URL is set.

use std::time::Instant;

use docgate::model::*;
use docgate::testing::{backends, TestEnv};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn doc(i: usize) -> NewDocument {
    let mut d = NewDocument::new(
        Direction::Incoming,
        Channel::Email,
        format!("Hüvitise taotlus nr {i}"),
    );
    d.doc_type = Some("oas-huvitis".into());
    d.parties.push(Party {
        kind: PartyKind::Person,
        role: PartyRole::Sender,
        name: format!("Taotleja {i}"),
        code: None,
        email: Some(format!("t{i}@example.ee")),
    });
    let body =
        format!("Lugupeetud Sotsiaalkindlustusamet. Taotlen hüvitist, juhtum {i}. ").repeat(20);
    let mut f = NewFile::new(
        format!("taotlus-{i}.txt"),
        "text/plain",
        body.clone().into_bytes(),
    );
    f.text = Some(body);
    f.text_status = TextStatus::Extracted;
    d.files.push(f);
    d.source_keys.push(format!("bench:{i}"));
    d
}

#[tokio::main]
async fn main() {
    let single = arg("--single", 1000);
    let batched = arg("--batched", 20000);
    let batch_size = arg("--batch-size", 500);
    println!("| backend | mode | documents | seconds | documents/s |");
    println!("|---|---|---:|---:|---:|");
    for b in backends() {
        let mut env = TestEnv::new(b).await;
        if let Ok(fs) = std::env::var("BENCH_FILE_STORE") {
            env.config.file_store = fs
                .parse()
                .expect("BENCH_FILE_STORE: auto, local or database");
        }
        let app = env.app().await;
        let t = Instant::now();
        for i in 0..single {
            app.register.register(doc(i), "bench").await.unwrap();
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "| {b} | single (one transaction each) | {single} | {s:.2} | {:.0} |",
            single as f64 / s
        );
        let t = Instant::now();
        let mut i = single;
        while i < single + batched {
            let n = batch_size.min(single + batched - i);
            let docs: Vec<NewDocument> = (i..i + n).map(doc).collect();
            app.register.register_batch(docs, "bench").await.unwrap();
            i += n;
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "| {b} | batch of {batch_size} | {batched} | {s:.2} | {:.0} |",
            batched as f64 / s
        );
        let t = Instant::now();
        let report = docgate::audit::verify(&app.register).await.unwrap();
        assert!(report.ok, "{:?}", report.problems);
        println!(
            "| {b} | verify (chain + {} files) | {} | {:.2} | {:.0} |",
            report.files,
            report.documents,
            t.elapsed().as_secs_f64(),
            report.documents as f64 / t.elapsed().as_secs_f64()
        );
    }
}
