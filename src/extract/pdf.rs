//! PDF text: lopdf first, through a quality gate; `pdftotext` (poppler-utils) as a
//! subprocess with a time limit when the gate fails; otherwise the file is marked
//! "text not extracted" with the reason. Never silently empty.
//!
//! The gate does not trust lopdf's text when
//! - a font on a page has no ToUnicode map and no standard single-byte encoding
//!   (WinAnsi, MacRoman, Standard) that maps its codes to Unicode — composite
//!   (Type0), Type3 and custom-encoded fonts without a ToUnicode map are guesses;
//! - or too few printable characters come out (a scan, or garbage).

use std::time::Duration;

use super::{FileText, TextOptions};

/// Fewer letters and digits than this in the whole document: not a text layer.
pub const MIN_ALNUM: usize = 16;
/// The gate's words for a readable PDF without a text layer (a scan).
pub const NO_TEXT_LAYER: &str = "no text layer";
/// Share of printable characters below which the text is garbage.
pub const MIN_PRINTABLE_RATIO: f64 = 0.85;

/// What lopdf gave and whether it passed the gate.
#[derive(Debug, Clone, PartialEq)]
pub enum LopdfOutcome {
    Trusted(String),
    Untrusted(String),
    Unreadable(String),
}

/// The text of a PDF (blocking; call inside [`super::isolated`]).
pub fn pdf_text(bytes: &[u8], opts: &TextOptions) -> FileText {
    let outcome = match super::catch("lopdf", || lopdf_text(bytes, opts.max_decompressed)) {
        Ok(o) => o,
        Err(e) => LopdfOutcome::Unreadable(e.to_string()),
    };
    let why = match outcome {
        LopdfOutcome::Trusted(t) => return FileText::extracted(t, None),
        LopdfOutcome::Untrusted(why) | LopdfOutcome::Unreadable(why) => why,
    };
    if opts.pdftotext {
        match pdftotext(bytes, opts.pdftotext_timeout) {
            Ok(t) => {
                if let Some(gate) = gate_text(&t) {
                    return FileText::not_extracted(format!(
                        "text not extracted: {why}; pdftotext: {gate}"
                    ));
                }
                return FileText::extracted(t, Some(format!("pdftotext (lopdf: {why})")));
            }
            Err(e) => {
                return FileText::not_extracted(format!("text not extracted: {why}; {e}"));
            }
        }
    }
    FileText::not_extracted(format!("text not extracted: {why}"))
}

/// lopdf's text with the quality gate applied.
pub fn lopdf_text(bytes: &[u8], max_decompressed: u64) -> LopdfOutcome {
    let doc = match lopdf::Document::load_mem(bytes) {
        Ok(d) => d,
        Err(e) => return LopdfOutcome::Unreadable(format!("lopdf cannot read the pdf: {e}")),
    };
    if doc.is_encrypted() {
        return LopdfOutcome::Unreadable("the pdf is encrypted".into());
    }
    let pages = doc.get_pages();
    if pages.is_empty() {
        return LopdfOutcome::Unreadable("the pdf has no pages".into());
    }
    for (&no, &page_id) in &pages {
        if let Ok(fonts) = doc.get_page_fonts(page_id) {
            for (name, font) in fonts {
                if !font_is_mappable(font) {
                    return LopdfOutcome::Untrusted(format!(
                        "font {} on page {no} has no ToUnicode map",
                        String::from_utf8_lossy(&name)
                    ));
                }
            }
        }
    }
    let mut text = String::new();
    let mut total_content: u64 = 0;
    for (&no, &page_id) in &pages {
        let content = match doc.get_page_content(page_id) {
            Ok(c) => c,
            Err(e) => return LopdfOutcome::Unreadable(format!("page {no}: {e}")),
        };
        total_content += content.len() as u64;
        if total_content > max_decompressed {
            return LopdfOutcome::Unreadable(format!(
                "decompressed page content exceeds {max_decompressed} bytes"
            ));
        }
        match page_text(&doc, page_id, &content) {
            Ok(t) => {
                text.push_str(&t);
                if !text.ends_with('\n') {
                    text.push('\n');
                }
            }
            Err(e) => return LopdfOutcome::Untrusted(format!("page {no}: {e}")),
        }
    }
    if let Some(g) = gate_text(&text) {
        return LopdfOutcome::Untrusted(g);
    }
    LopdfOutcome::Trusted(text.trim().to_string())
}

/// A page's text as its content stream shows it: the strings of `Tj`, `TJ`,
/// `'` and `"` decoded with the current font's encoding, a line break where
/// the text moves to another line (`Td`/`TD` downwards, `T*`, `'`, `"`, `Tm`,
/// `ET`) and a space where it moves along the same line, so that a PDF's lines
/// never run together ("kokkuvõte" + "Patsient"; lopdf's own `extract_text`
/// breaks only at `ET`).
/// `content` is the page's decoded content stream (read and bounded once by
/// the caller).
fn page_text(
    doc: &lopdf::Document,
    page_id: lopdf::ObjectId,
    content: &[u8],
) -> lopdf::Result<String> {
    let encodings: std::collections::BTreeMap<Vec<u8>, lopdf::Encoding> = doc
        .get_page_fonts(page_id)?
        .into_iter()
        .filter_map(|(name, font)| font.get_font_encoding(doc).ok().map(|e| (name, e)))
        .collect();
    let content = lopdf::content::Content::decode(content)?;
    let mut text = String::new();
    let mut encoding = None;
    fn line(text: &mut String) {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
    }
    fn space(text: &mut String) {
        if !text.is_empty() && !text.ends_with([' ', '\n']) {
            text.push(' ');
        }
    }
    fn strings(
        text: &mut String,
        encoding: &lopdf::Encoding,
        operands: &[lopdf::Object],
    ) -> lopdf::Result<()> {
        for o in operands {
            match o {
                lopdf::Object::String(bytes, _) => {
                    text.push_str(&lopdf::Document::decode_text(encoding, bytes)?)
                }
                lopdf::Object::Array(a) => strings(text, encoding, a)?,
                // a wide gap inside a TJ array is a space between words
                lopdf::Object::Integer(i) if *i < -100 => space(text),
                lopdf::Object::Real(r) if *r < -100.0 => space(text),
                _ => {}
            }
        }
        Ok(())
    }
    for op in &content.operations {
        match op.operator.as_str() {
            "Tf" => {
                encoding = op
                    .operands
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .and_then(|n| encodings.get(n));
            }
            "Tj" | "TJ" | "'" | "\"" => {
                if op.operator != "Tj" && op.operator != "TJ" {
                    line(&mut text);
                }
                if let Some(e) = encoding {
                    // `"` takes the spacings first, then the string
                    strings(&mut text, e, &op.operands)?;
                }
            }
            "Td" | "TD" => {
                let dy = op.operands.get(1).and_then(|o| o.as_float().ok());
                if dy.is_some_and(|dy| dy != 0.0) {
                    line(&mut text);
                } else {
                    space(&mut text);
                }
            }
            "T*" | "Tm" | "ET" => line(&mut text),
            _ => {}
        }
    }
    Ok(text)
}

fn font_is_mappable(font: &lopdf::Dictionary) -> bool {
    if font.has(b"ToUnicode") {
        return true;
    }
    let subtype = font
        .get(b"Subtype")
        .and_then(|o| o.as_name())
        .unwrap_or(b"");
    if subtype == b"Type0" || subtype == b"Type3" {
        return false;
    }
    matches!(
        font.get(b"Encoding").and_then(|o| o.as_name()),
        Ok(b"WinAnsiEncoding") | Ok(b"MacRomanEncoding") | Ok(b"StandardEncoding")
    )
}

/// None when the text looks like real text; else why not.
pub fn gate_text(text: &str) -> Option<String> {
    let mut total = 0usize;
    let mut printable = 0usize;
    let mut alnum = 0usize;
    for c in text.chars() {
        if c.is_whitespace() {
            continue;
        }
        total += 1;
        if c.is_alphanumeric() {
            alnum += 1;
        }
        if !c.is_control() && c != '\u{FFFD}' && !('\u{E000}'..='\u{F8FF}').contains(&c) {
            printable += 1;
        }
    }
    if alnum < MIN_ALNUM {
        return Some(format!(
            "{NO_TEXT_LAYER}, too few printable characters ({alnum} letters or digits)"
        ));
    }
    let ratio = printable as f64 / total as f64;
    if ratio < MIN_PRINTABLE_RATIO {
        return Some(format!(
            "too few printable characters ({:.0}%)",
            ratio * 100.0
        ));
    }
    None
}

/// Largest text `pdftotext` may write (more is an error, never a silent cut).
pub const MAX_PDFTOTEXT_OUTPUT: u64 = 64 * 1024 * 1024;

/// Runs `pdftotext -enc UTF-8 - -` with the bytes on stdin, a bounded child
/// process ([`super::subprocess::run`]) killed after `timeout`.
pub fn pdftotext(bytes: &[u8], timeout: Duration) -> Result<String, String> {
    let out = super::subprocess::run(
        "pdftotext",
        &["-q", "-enc", "UTF-8", "-", "-"],
        Some(bytes),
        None,
        &[],
        super::subprocess::Bounds::new(timeout, MAX_PDFTOTEXT_OUTPUT),
    )?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// A minimal one-page PDF with the given lines in Helvetica (WinAnsiEncoding),
/// or in a font without encoding and ToUnicode when `mappable` is false.
/// Used by tests, fixtures and the benchmark generator.
pub fn make_pdf(lines: &[&str], mappable: bool) -> Vec<u8> {
    let mut content = String::from("BT /F1 12 Tf 50 750 Td 14 TL\n");
    for l in lines {
        let esc = l
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        content.push_str(&format!("({esc}) Tj T*\n"));
    }
    content.push_str("ET\n");
    let font = if mappable {
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    } else {
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /Custom >>"
    };
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{}endstream", content.len(), content),
        font.to_string(),
    ];
    assemble(objs.iter().map(|o| o.as_bytes()))
}

/// [`make_pdf`] with each line in a text object of its own (BT … ET), as
/// word processors and invoicing programs write them: lopdf ends a line only
/// at ET, so this is the layout whose lines its text keeps apart.
pub fn make_pdf_blocks(lines: &[&str]) -> Vec<u8> {
    let mut content = String::new();
    for (i, l) in lines.iter().enumerate() {
        let esc = l
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        content.push_str(&format!(
            "BT /F1 12 Tf 50 {} Td ({esc}) Tj ET\n",
            750 - 14 * i as i64
        ));
    }
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{}endstream", content.len(), content),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
    ];
    assemble(objs.iter().map(|o| o.as_bytes()))
}

/// A PDF file of the given objects (numbered 1, 2, … in order; object 1 the
/// catalog) with its cross-reference table. Used by the generators of tests,
/// fixtures and benchmarks.
pub fn assemble<'a>(objs: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.into_iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let n = offsets.len() + 1;
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {n}\n0000000000 65535 f \n").as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {n} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TextStatus;

    #[test]
    fn trusted_pdf_text_comes_from_lopdf() {
        let pdf = make_pdf(
            &[
                "Avaldus kuriteoohvri hüvitise saamiseks",
                "isikukood 49403136515",
            ],
            true,
        );
        match lopdf_text(&pdf, u64::MAX) {
            LopdfOutcome::Trusted(t) => {
                assert!(t.contains("Avaldus kuriteoohvri"), "{t}");
                assert!(t.contains("49403136515"), "{t}");
            }
            other => panic!("expected trusted text, got {other:?}"),
        }
        let ft = pdf_text(&pdf, &TextOptions::default());
        assert_eq!(ft.status, TextStatus::Extracted);
        assert!(ft.note.is_none());
    }

    /// Regression: a PDF whose lines sit in one text object (moved by `Td`)
    /// gave "Ravikulude kokkuvõtePatsient: …" (lopdf breaks only at `ET`), and
    /// search snippets showed the words run together.
    #[test]
    fn pdf_lines_in_one_text_object_never_run_together() {
        let pdf = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/demo/files/ravikulud.pdf"
        ))
        .unwrap();
        let t = match lopdf_text(&pdf, u64::MAX) {
            LopdfOutcome::Trusted(t) => t,
            other => panic!("expected trusted text, got {other:?}"),
        };
        let lines: Vec<&str> = t.lines().map(str::trim).collect();
        assert_eq!(
            lines,
            [
                "Ravikulude kokkuvõte",
                "Patsient: Liisa Lind, isikukood 60506040220",
                "Traumapunkt 45.00 EUR",
                "Ravimid 28.40 EUR"
            ],
            "{t:?}"
        );
        // Lines in text objects of their own stay apart as before.
        let blocks = make_pdf_blocks(&["Esimene rida", "Teine rida"]);
        match lopdf_text(&blocks, u64::MAX) {
            LopdfOutcome::Trusted(t) => assert!(t.contains("rida\nTeine"), "{t:?}"),
            other => panic!("expected trusted text, got {other:?}"),
        }
    }

    #[test]
    fn font_without_tounicode_fails_the_gate() {
        let pdf = make_pdf(
            &["Some text that is long enough to pass the length gate"],
            false,
        );
        match lopdf_text(&pdf, u64::MAX) {
            LopdfOutcome::Untrusted(why) => assert!(why.contains("ToUnicode"), "{why}"),
            other => panic!("expected untrusted, got {other:?}"),
        }
        // Without the fallback the file is marked, never silently empty.
        let opts = TextOptions {
            pdftotext: false,
            ..Default::default()
        };
        let ft = pdf_text(&pdf, &opts);
        assert_eq!(ft.status, TextStatus::NotExtracted);
        assert!(ft.note.unwrap().contains("ToUnicode"));
    }

    #[test]
    fn untrusted_pdf_falls_back_to_pdftotext_when_installed() {
        if std::process::Command::new("pdftotext")
            .arg("-v")
            .output()
            .is_err()
        {
            crate::testing::missing_service("pdftotext", "apt-get install poppler-utils");
            return;
        }
        let pdf = make_pdf(
            &["Some text that is long enough to pass the length gate"],
            false,
        );
        let ft = pdf_text(&pdf, &TextOptions::default());
        assert_eq!(ft.status, TextStatus::Extracted, "{ft:?}");
        assert!(ft.text.unwrap().contains("long enough"));
        assert!(ft.note.unwrap().contains("pdftotext"));
    }

    #[test]
    fn empty_or_scanned_pdf_is_not_extracted() {
        let pdf = make_pdf(&[], true);
        let ft = pdf_text(&pdf, &TextOptions::default());
        assert_eq!(ft.status, TextStatus::NotExtracted, "{ft:?}");
        assert!(ft.note.unwrap().contains("too few printable"));
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        let ft = pdf_text(b"%PDF-1.4 garbage \x00\xff", &TextOptions::default());
        assert_eq!(ft.status, TextStatus::NotExtracted);
        assert!(ft.note.is_some());
    }

    #[test]
    fn gate_table() {
        assert!(gate_text("").is_some());
        assert!(gate_text("abc").is_some());
        assert!(
            gate_text("\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}abcdefghijklmnopq")
                .is_some()
        );
        assert!(gate_text("Avaldus kuriteoohvri hüvitise saamiseks").is_none());
    }
}
