//! OCR throughput: `cargo run --example bench_ocr -- [PAGES] [DPI]`
//!
//! Generates PAGES one-page Estonian letters, "scans" each to a gray PNG at DPI
//! (default 300, as a scanner would) and to an image-only PDF, then reads them
//! one after the other with the OCR engine of the queue
//! (`extract::ocr::ocr_file`: Tesseract est+eng+rus, one thread per page, as
//! the worker runs it) and prints pages per second for each kind, the mean
//! confidence and the share of the letters' words read exactly. The time is
//! spent in the Tesseract and poppler child processes, so the Cargo profile
//! does not change it.
use std::time::Instant;

use docgate::extract::ocr::{self, OcrOptions};

const WORDS: &[&str] = &[
    "ohvriabi",
    "hüvitis",
    "avaldus",
    "taotlus",
    "rünnak",
    "ravikulud",
    "tõend",
    "kohus",
    "politsei",
    "menetlus",
    "nõustamine",
    "tervis",
    "otsus",
    "kahju",
    "perekond",
    "elukoht",
    "töövõime",
    "päevaraha",
    "tähtaeg",
    "lisadokument",
    "õigusabi",
    "kannatanu",
    "šokk",
    "žürii",
];

fn letter(i: usize) -> Vec<String> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1);
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut lines = vec![
        "Sotsiaalkindlustusamet, ohvriabi osakond".to_string(),
        format!("Avaldus nr {}", 1000 + i),
    ];
    for _ in 0..24 {
        let n = 5 + (next() % 5) as usize;
        let words: Vec<&str> = (0..n)
            .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
            .collect();
        lines.push(words.join(" "));
    }
    lines
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let pages: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let dpi: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(300);
    let opts = OcrOptions::default();
    let mut pngs = Vec::new();
    let mut pdfs = Vec::new();
    let mut expected = Vec::new();
    for i in 0..pages {
        let lines = letter(i);
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let pdf = ocr::letter_pdf(&refs);
        pngs.push(ocr::render_page(&pdf, dpi, true).expect("pdftoppm"));
        let pgm = ocr::render_page(&pdf, dpi, false).expect("pdftoppm");
        let (w, h, px) = ocr::parse_pgm(&pgm).expect("pgm");
        pdfs.push(ocr::image_pdf(w, h, px));
        expected.push(lines.join(" "));
    }
    println!(
        "{pages} pages, {dpi} dpi, languages {}, one Tesseract thread",
        opts.languages
    );
    for (kind, inputs) in [("PNG scan", &pngs), ("image-only PDF", &pdfs)] {
        let t0 = Instant::now();
        let (mut conf, mut words, mut exact, mut total) = (0.0, 0usize, 0usize, 0usize);
        for (input, want) in inputs.iter().zip(&expected) {
            let r = ocr::ocr_file(input, &opts).expect("ocr");
            conf += r.confidence.unwrap_or(0.0) * r.words as f64;
            words += r.words;
            let got: std::collections::HashSet<&str> = r.text.split_whitespace().collect();
            for w in want.split_whitespace() {
                total += 1;
                if got.contains(w) {
                    exact += 1;
                }
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        println!(
            "{kind:>15}: {:.2} pages/s ({:.2} s/page), mean confidence {:.1}%, words read exactly {:.1}%",
            inputs.len() as f64 / secs,
            secs / inputs.len() as f64,
            conf / words.max(1) as f64,
            100.0 * exact as f64 / total.max(1) as f64
        );
    }
}
