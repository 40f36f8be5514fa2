//! Capsule throughput: `cargo run --release --example bench_dhx -- [N] [FILE_KB]`
//! writes N capsules with one FILE_KB file each, then reads (validates, gunzips)
//! them back, and prints capsules per second for each direction.
use std::time::Instant;

use docgate::dhx::capsule::{self, ReadLimits};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(500);
    let kb: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    let base = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/dhx/capsule/Naide2.xml"
    ))
    .expect("fixture");
    let mut c = capsule::read(&base, &ReadLimits::default()).expect("official example");
    let mut x: u64 = 88172645463325252;
    let content: Vec<u8> = (0..kb * 1024)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 4 == 0 {
                (x >> 56) as u8
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect();
    c.files[0].content = content;
    c.files[0].size = Some((kb * 1024).to_string());
    let t0 = Instant::now();
    let mut xmls = Vec::with_capacity(n);
    for i in 0..n {
        c.record_metadata.record_original_identifier = format!("1-1/{i}");
        xmls.push(capsule::write(&c).expect("write"));
    }
    let w = t0.elapsed();
    let t1 = Instant::now();
    for x in &xmls {
        capsule::read(x.as_bytes(), &ReadLimits::default()).expect("read");
    }
    let r = t1.elapsed();
    let bytes: usize = xmls.iter().map(|x| x.len()).sum();
    println!(
        "{n} capsules, {kb} KiB file each ({} KiB XML): write {:.0}/s ({:.1} MiB/s of content), read {:.0}/s ({:.1} MiB/s)",
        bytes / n / 1024,
        n as f64 / w.as_secs_f64(),
        (n * kb) as f64 / 1024.0 / w.as_secs_f64(),
        n as f64 / r.as_secs_f64(),
        (n * kb) as f64 / 1024.0 / r.as_secs_f64()
    );
}
