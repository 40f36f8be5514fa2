//! OCR of scans and photos: Tesseract (`tesseract-ocr` with the `est`, `eng`
//! and `rus` models) and, for an image-only PDF, `pdfinfo`/`pdftotext`/
//! `pdftoppm` (poppler-utils), each a bounded child process of
//! [`super::subprocess::run`] (time, memory, output and file-size limits).
//!
//! Registration never waits for it: [`is_candidate`] tells the extractor that a
//! file is a scan (an image, or a PDF without a text layer), the file is marked
//! [`crate::model::TextStatus::OcrPending`] and the OCR queue (`crate::ocr`)
//! reads it later with [`ocr_file`]. Blocking: call inside
//! [`super::isolated`].
//!
//! Bounds: the input's size, the image's pixel count (read from its header
//! before Tesseract sees it), a page budget for PDFs (each page rendered to at
//! most `max_side` pixels on its long side), a time limit per child process,
//! an address-space limit per child and the text's length.

use std::path::Path;
use std::time::Duration;

use super::subprocess::{self, Bounds};

/// The note of a file whose text awaits OCR (Estonian first).
pub const PENDING_NOTE: &str = "OCR ootel: tekst tuvastatakse taustal (OCR pending)";

/// Largest OCR text kept, bytes (as office text is cut at 10 MB).
pub const MAX_TEXT: usize = 10 * 1024 * 1024;

/// The bounds of one OCR run.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrOptions {
    /// Tesseract's languages, `+`-separated model names (`est+eng+rus`).
    pub languages: String,
    /// Time limit of one child process (one page's Tesseract run), seconds.
    pub timeout: Duration,
    /// Largest input file, bytes.
    pub max_bytes: u64,
    /// Most pages of a PDF read (the rest are named in the note).
    pub max_pages: u32,
    /// Largest image (width × height) given to Tesseract.
    pub max_pixels: u64,
    /// The long side of a rendered PDF page, pixels (A4 at 300 dpi is 3508).
    pub max_side: u32,
    /// Address-space limit of each child process, bytes.
    pub memory: u64,
}

impl Default for OcrOptions {
    fn default() -> Self {
        OcrOptions {
            languages: "est+eng+rus".into(),
            timeout: Duration::from_secs(120),
            max_bytes: 64 * 1024 * 1024,
            max_pages: 30,
            max_pixels: 40_000_000,
            max_side: 3508,
            memory: 1024 * 1024 * 1024,
        }
    }
}

/// True when `languages` is a safe list of Tesseract model names.
pub fn valid_languages(languages: &str) -> bool {
    !languages.is_empty()
        && languages.len() <= 100
        && languages.split('+').all(|l| {
            !l.is_empty()
                && l.len() <= 32
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// What kind of scan a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanKind {
    Png,
    Jpeg,
    Tiff,
    Pdf,
}

/// The image formats read by OCR, by their magic bytes (the content decides,
/// not the name).
pub fn image_kind(bytes: &[u8]) -> Option<ScanKind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ScanKind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ScanKind::Jpeg)
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some(ScanKind::Tiff)
    } else {
        None
    }
}

/// Whether a file goes to the OCR queue: an image (PNG, JPEG, TIFF) by its
/// content, or a PDF whose text layer failed the quality gate (`pdf_gate_failed`).
pub fn is_candidate(bytes: &[u8], pdf_gate_failed: bool) -> Option<ScanKind> {
    if bytes.starts_with(b"%PDF-") {
        return pdf_gate_failed.then_some(ScanKind::Pdf);
    }
    image_kind(bytes)
}

/// Text read by OCR.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrText {
    pub text: String,
    /// Mean word confidence, 0–100 (Tesseract's per-word confidence), over the
    /// OCR'd words; None when no word was recognised.
    pub confidence: Option<f64>,
    /// Words recognised by OCR.
    pub words: usize,
    /// Pages (1 for an image) read, pages read by OCR, pages over the budget.
    pub pages: u32,
    pub ocr_pages: u32,
    pub skipped_pages: u32,
}

impl OcrText {
    /// The file's note: marked as OCR with its confidence (Estonian first).
    pub fn note(&self, languages: &str) -> String {
        let conf = self
            .confidence
            .map(|c| format!("{c:.0}%"))
            .unwrap_or_else(|| "–".into());
        let mut s = format!(
            "OCR (Tesseract {languages}): keskmine kindlus {conf}, {} lk / mean confidence {conf}, {} page(s)",
            self.ocr_pages, self.ocr_pages
        );
        if self.skipped_pages > 0 {
            s.push_str(&format!(
                "; {} lk jäi lugemata (lehekülgede piir) / {} page(s) over the page budget not read",
                self.skipped_pages, self.skipped_pages
            ));
        }
        s
    }
}

/// The words of Tesseract's TSV output as text (a line per line, a blank line
/// between paragraphs), the mean confidence and the word count (pure).
pub fn parse_tsv(tsv: &str) -> (String, f64, usize) {
    let mut text = String::new();
    let mut last: Option<(u32, u32, u32, u32)> = None;
    let mut sum = 0.0;
    let mut n = 0usize;
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.splitn(12, '\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let word = cols[11].trim();
        let Ok(conf) = cols[10].trim().parse::<f64>() else {
            continue;
        };
        if word.is_empty() || conf < 0.0 {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<u32>().unwrap_or(0);
        let key = (num(1), num(2), num(3), num(4));
        match last {
            Some(k) if k == key => text.push(' '),
            Some(k) if (k.0, k.1, k.2) == (key.0, key.1, key.2) => text.push('\n'),
            Some(_) => text.push_str("\n\n"),
            None => {}
        }
        last = Some(key);
        text.push_str(word);
        sum += conf.min(100.0);
        n += 1;
    }
    let mean = if n > 0 { sum / n as f64 } else { 0.0 };
    (text, mean, n)
}

/// Reads a scan: an image by Tesseract, a PDF page by page (a page with a
/// text layer by `pdftotext`, a page without by `pdftoppm` + Tesseract).
/// Err with the reason when the input is refused or a tool fails.
pub fn ocr_file(bytes: &[u8], opts: &OcrOptions) -> Result<OcrText, String> {
    if !valid_languages(&opts.languages) {
        return Err(format!("invalid OCR languages {:?}", opts.languages));
    }
    if bytes.len() as u64 > opts.max_bytes {
        return Err(format!(
            "file is {} bytes, above the OCR limit of {} bytes",
            bytes.len(),
            opts.max_bytes
        ));
    }
    let dir = tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
    if bytes.starts_with(b"%PDF-") {
        return ocr_pdf(bytes, dir.path(), opts);
    }
    let kind = image_kind(bytes).ok_or("not a PNG, JPEG, TIFF or PDF file")?;
    check_pixels(bytes, opts)?;
    let ext = match kind {
        ScanKind::Png => "png",
        ScanKind::Jpeg => "jpg",
        ScanKind::Tiff => "tif",
        ScanKind::Pdf => "pdf",
    };
    let input = dir.path().join(format!("scan.{ext}"));
    std::fs::write(&input, bytes).map_err(|e| format!("cannot write the scan: {e}"))?;
    let (text, conf, words) = tesseract(&input, dir.path(), opts)?;
    Ok(finish(vec![(text, Some((conf, words)))], 1, 0))
}

/// Width × height from the image's header, refused above `max_pixels`.
fn check_pixels(bytes: &[u8], opts: &OcrOptions) -> Result<(), String> {
    let size = imagesize::blob_size(bytes).map_err(|e| format!("the image cannot be read: {e}"))?;
    let px = (size.width as u64).saturating_mul(size.height as u64);
    if px == 0 {
        return Err("the image is empty (0 pixels)".into());
    }
    if px > opts.max_pixels {
        return Err(format!(
            "the image is {}×{} pixels, above the OCR limit of {} pixels",
            size.width, size.height, opts.max_pixels
        ));
    }
    Ok(())
}

fn bounds(opts: &OcrOptions, max_output: u64) -> Bounds {
    Bounds {
        timeout: opts.timeout,
        max_output,
        memory: Some(opts.memory),
        // A rendered page is at most max_side² bytes of gray plus headers.
        max_file: Some((opts.max_side as u64).pow(2).saturating_mul(2) + (1 << 20)),
    }
}

/// Tesseract on one image file: (text, mean confidence, words).
fn tesseract(input: &Path, dir: &Path, opts: &OcrOptions) -> Result<(String, f64, usize), String> {
    let input = input.to_string_lossy();
    let out = subprocess::run(
        "tesseract",
        &[&input, "stdout", "-l", &opts.languages, "--psm", "3", "tsv"],
        None,
        Some(dir),
        // One thread: the machine is shared, and OpenMP threads do not pay off per page.
        &[("OMP_THREAD_LIMIT", "1")],
        bounds(opts, (MAX_TEXT as u64) * 4),
    )?;
    Ok(parse_tsv(&String::from_utf8_lossy(&out)))
}

fn ocr_pdf(bytes: &[u8], dir: &Path, opts: &OcrOptions) -> Result<OcrText, String> {
    let input = dir.join("scan.pdf");
    std::fs::write(&input, bytes).map_err(|e| format!("cannot write the scan: {e}"))?;
    let input_s = input.to_string_lossy().to_string();
    let info = subprocess::run(
        "pdfinfo",
        &[&input_s],
        None,
        Some(dir),
        &[],
        bounds(opts, 1 << 20),
    )?;
    let info = String::from_utf8_lossy(&info);
    let pages: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or("pdfinfo gives no page count")?;
    if pages == 0 {
        return Err("the pdf has no pages".into());
    }
    let read = pages.min(opts.max_pages);
    let side = opts.max_side.to_string();
    let mut parts = Vec::new();
    for p in 1..=read {
        let ps = p.to_string();
        let layer = subprocess::run(
            "pdftotext",
            &["-q", "-enc", "UTF-8", "-f", &ps, "-l", &ps, &input_s, "-"],
            None,
            Some(dir),
            &[],
            bounds(opts, super::pdf::MAX_PDFTOTEXT_OUTPUT),
        )?;
        let layer = String::from_utf8_lossy(&layer).trim().to_string();
        if super::pdf::gate_text(&layer).is_none() {
            parts.push((layer, None));
            continue;
        }
        let stem = dir.join(format!("page{p}"));
        let stem_s = stem.to_string_lossy().to_string();
        subprocess::run(
            "pdftoppm",
            &[
                "-q",
                "-f",
                &ps,
                "-l",
                &ps,
                "-r",
                "300",
                "-scale-to",
                &side,
                "-gray",
                "-png",
                "-singlefile",
                &input_s,
                &stem_s,
            ],
            None,
            Some(dir),
            &[],
            bounds(opts, 1 << 20),
        )?;
        let png = stem.with_extension("png");
        let (text, conf, words) = tesseract(&png, dir, opts)?;
        let _ = std::fs::remove_file(&png);
        parts.push((text, Some((conf, words))));
    }
    Ok(finish(parts, pages, pages - read))
}

/// Joins the pages' texts (a form feed between pages) and averages the OCR'd
/// words' confidence, weighted by words.
fn finish(parts: Vec<(String, Option<(f64, usize)>)>, pages: u32, skipped: u32) -> OcrText {
    let mut text = String::new();
    let (mut sum, mut words, mut ocr_pages) = (0.0, 0usize, 0u32);
    for (i, (t, ocr)) in parts.iter().enumerate() {
        if i > 0 {
            text.push_str("\n\x0c\n");
        }
        text.push_str(t.trim());
        if let Some((conf, n)) = ocr {
            ocr_pages += 1;
            sum += conf * *n as f64;
            words += n;
        }
    }
    if text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    OcrText {
        text: text.trim().to_string(),
        confidence: (words > 0).then(|| sum / words as f64),
        words,
        pages,
        ocr_pages,
        skipped_pages: skipped,
    }
}

/// A one-page letter as a PDF whose text is drawn in Helvetica (WinAnsi, so
/// õ, ä, ö, ü, š and ž print): rendered by `pdftoppm` it becomes a "scan".
/// For tests and the benchmark.
pub fn letter_pdf(lines: &[&str]) -> Vec<u8> {
    let mut content = b"BT /F1 14 Tf 60 760 Td 20 TL\n".to_vec();
    for l in lines {
        let (enc, _, _) = encoding_rs::WINDOWS_1252.encode(l);
        content.push(b'(');
        for &b in enc.iter() {
            if matches!(b, b'(' | b')' | b'\\') {
                content.push(b'\\');
            }
            content.push(b);
        }
        content.extend_from_slice(b") Tj T*\n");
    }
    content.extend_from_slice(b"ET\n");
    let font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";
    pdf_with(vec![
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
        stream(b"", &content),
        font.to_vec(),
    ])
}

/// An image-only PDF (no text layer) of an 8-bit gray image (`width` ×
/// `height` bytes of `gray`), one A4 page. For tests and the benchmark.
pub fn image_pdf(width: u32, height: u32, gray: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = z.write_all(gray);
    let data = z.finish().unwrap_or_default();
    let content = b"q 595 0 0 842 0 0 cm /Im1 Do Q\n";
    pdf_with(vec![
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /XObject << /Im1 5 0 R >> >> >>".to_vec(),
        stream(b"", content),
        stream(
            format!(
                "/Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode "
            )
            .as_bytes(),
            &data,
        ),
    ])
}

/// A binary PGM (`P5`, as `pdftoppm -gray` writes it) to (width, height, pixels).
pub fn parse_pgm(pgm: &[u8]) -> Option<(u32, u32, &[u8])> {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while i < pgm.len() && pgm[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while i < pgm.len() && !pgm[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(std::str::from_utf8(pgm.get(start..i)?).ok()?);
    }
    if fields[0] != "P5" || fields[3] != "255" {
        return None;
    }
    let (w, h): (u32, u32) = (fields[1].parse().ok()?, fields[2].parse().ok()?);
    let data = pgm.get(i + 1..)?;
    (data.len() as u64 >= w as u64 * h as u64).then(|| (w, h, &data[..(w * h) as usize]))
}

fn stream(dict: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = b"<< ".to_vec();
    v.extend_from_slice(dict);
    v.extend_from_slice(format!("/Length {} >>\nstream\n", data.len()).as_bytes());
    v.extend_from_slice(data);
    v.extend_from_slice(b"\nendstream");
    v
}

/// A PDF of the catalog, one page tree and `objs` (objects 3, 4, …).
fn pdf_with(objs: Vec<Vec<u8>>) -> Vec<u8> {
    let head: [&[u8]; 2] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    ];
    super::pdf::assemble(head.into_iter().chain(objs.iter().map(Vec::as_slice)))
}

/// Renders page 1 of a PDF to a gray image by `pdftoppm` at `dpi`: PNG bytes
/// (`png`) or a PGM. For tests and the benchmark.
pub fn render_page(pdf: &[u8], dpi: u32, png: bool) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, pdf).map_err(|e| e.to_string())?;
    let stem = dir.path().join("out");
    let (input_s, stem_s, dpi_s) = (
        input.to_string_lossy().to_string(),
        stem.to_string_lossy().to_string(),
        dpi.to_string(),
    );
    let mut args = vec!["-q", "-r", &dpi_s, "-gray", "-singlefile"];
    if png {
        args.push("-png");
    }
    args.extend([input_s.as_str(), stem_s.as_str()]);
    subprocess::run(
        "pdftoppm",
        &args,
        None,
        Some(dir.path()),
        &[],
        Bounds::new(Duration::from_secs(60), 1 << 20),
    )?;
    let out = stem.with_extension(if png { "png" } else { "pgm" });
    std::fs::read(&out).map_err(|e| format!("pdftoppm wrote no image: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_become_lines_and_paragraphs() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t\n\
5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t90\tLugupeetud\n\
5\t1\t1\t1\t1\t2\t0\t0\t1\t1\t80\tohver\n\
5\t1\t1\t1\t2\t1\t0\t0\t1\t1\t70\tTallinn\n\
5\t1\t2\t1\t1\t1\t0\t0\t1\t1\t60\t49403136515\n\
5\t1\t2\t1\t1\t2\t0\t0\t1\t1\t-1\t \n";
        let (text, mean, n) = parse_tsv(tsv);
        assert_eq!(text, "Lugupeetud ohver\nTallinn\n\n49403136515");
        assert_eq!(n, 4);
        assert!((mean - 75.0).abs() < 1e-9, "{mean}");
    }

    #[test]
    fn tsv_without_words_is_empty() {
        assert_eq!(parse_tsv(""), (String::new(), 0.0, 0));
        assert_eq!(parse_tsv("level\n5\tbroken"), (String::new(), 0.0, 0));
    }

    #[test]
    fn language_lists_are_checked() {
        for ok in ["est", "est+eng+rus", "chi_sim"] {
            assert!(valid_languages(ok), "{ok}");
        }
        for bad in ["", "est+", "-l", "est eng", "../x", "EST", "est;rm"] {
            assert!(!valid_languages(bad), "{bad}");
        }
    }

    #[test]
    fn candidates_by_content() {
        assert_eq!(
            is_candidate(b"\x89PNG\r\n\x1a\nxx", false),
            Some(ScanKind::Png)
        );
        assert_eq!(
            is_candidate(&[0xFF, 0xD8, 0xFF, 0xE0], false),
            Some(ScanKind::Jpeg)
        );
        assert_eq!(is_candidate(b"II*\0....", false), Some(ScanKind::Tiff));
        assert_eq!(is_candidate(b"%PDF-1.4", true), Some(ScanKind::Pdf));
        assert_eq!(is_candidate(b"%PDF-1.4", false), None);
        assert_eq!(is_candidate(b"GIF89a", false), None);
    }

    #[test]
    fn a_corrupt_image_is_refused_with_a_reason() {
        let e = ocr_file(b"\x89PNG\r\n\x1a\ngarbage", &OcrOptions::default()).unwrap_err();
        assert!(e.contains("cannot be read"), "{e}");
    }

    #[test]
    fn an_image_over_the_pixel_limit_is_refused_before_tesseract() {
        // A PNG header claiming 100000 × 100000 pixels.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0, 0]);
        let e = ocr_file(&png, &OcrOptions::default()).unwrap_err();
        assert!(e.contains("above the OCR limit"), "{e}");
    }

    #[test]
    fn pgm_is_parsed() {
        let mut pgm = b"P5\n3 2\n255\n".to_vec();
        pgm.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(parse_pgm(&pgm), Some((3, 2, &[1u8, 2, 3, 4, 5, 6][..])));
        assert_eq!(parse_pgm(b"P6\n1 1\n255\n\0\0\0"), None);
        assert_eq!(parse_pgm(b"P5\n3 2\n255\n\0"), None);
    }
}
