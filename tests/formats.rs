//! Office files give text, bounded (issue 17): golden text of one file of each
//! format, the bombs, never a panic on arbitrary bytes, and a `.docx` attachment
//! through the real ingest path.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use docgate::extract::{file_text, FileText, TextOptions};
use docgate::model::{Channel, TextStatus};
use docgate::search::{self as search, Caller, SearchRequest};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/office")
        .join(name)
}

fn opts() -> TextOptions {
    TextOptions {
        pdftotext: false,
        ..Default::default()
    }
}

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

#[test]
fn each_office_format_gives_its_golden_text() {
    // Each fixture twice: under its own media type and as a generic attachment.
    for (name, mt) in [
        ("letter.docx", DOCX),
        (
            "letter.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("letter.odt", "application/vnd.oasis.opendocument.text"),
        (
            "letter.ods",
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("letter.rtf", "text/rtf"),
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let ft = file_text(name, mt, &bytes, &opts());
        assert_eq!(ft.status, TextStatus::Extracted, "{name}: {:?}", ft.note);
        let text = ft.text.unwrap();
        let golden = fixture(&format!("{name}.txt"));
        if std::env::var_os("DOCGATE_WRITE_GOLDEN").is_some() {
            std::fs::write(&golden, &text).unwrap();
        }
        let want = std::fs::read_to_string(&golden).unwrap();
        assert_eq!(text, want, "{name}");
        for word in ["Sõnumisaladuse rikkumine", "Tiina Saar", "38001010009"] {
            assert!(text.contains(word), "{name}: {word} missing in {text:?}");
        }
        assert!(!text.contains("kokkuvõtePatsient"), "{name}: {text:?}");
        // By content: a generic type and an unhelpful name give the same text.
        let generic = file_text("liide", "application/octet-stream", &bytes, &opts());
        assert_eq!(
            generic.text.as_deref(),
            Some(want.as_str()),
            "{name} by content"
        );
    }
}

/// Asserts a bounded refusal: not extracted, the reason names `limit`, quickly.
fn assert_refused(ft: &FileText, t0: Instant, limit: &str) {
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t0.elapsed()
    );
    assert_eq!(ft.status, TextStatus::NotExtracted, "{ft:?}");
    let note = ft.note.as_deref().unwrap_or_default();
    assert!(note.contains(limit), "{note}");
}

fn zip_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (n, b) in entries {
        w.start_file(*n, o).unwrap();
        w.write_all(b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const CT: &[u8] = b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>";

#[test]
fn a_2_gb_zip_bomb_is_refused_by_the_decompression_budget() {
    // 2 GiB of zeros streamed through deflate: only the compressed bytes exist.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    w.start_file("[Content_Types].xml", o).unwrap();
    w.write_all(CT).unwrap();
    w.start_file("word/document.xml", o).unwrap();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..2048 {
        w.write_all(&chunk).unwrap();
    }
    let bomb = w.finish().unwrap().into_inner();
    assert!(bomb.len() < 32 << 20, "bomb is {} bytes", bomb.len());
    let t0 = Instant::now();
    let ft = file_text("bomb.docx", DOCX, &bomb, &opts());
    assert_refused(&ft, t0, "decompressed size exceeds the budget");
}

#[test]
fn a_zip_with_100000_entries_is_refused() {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("[Content_Types].xml", o).unwrap();
    w.write_all(CT).unwrap();
    for i in 0..100_000 {
        w.start_file(format!("word/p{i}.xml"), o).unwrap();
    }
    let many = w.finish().unwrap().into_inner();
    let t0 = Instant::now();
    let ft = file_text("many.docx", DOCX, &many, &opts());
    assert_refused(&ft, t0, "more than 10000 zip entries");
}

/// A zip of one deflated entry whose headers declare `declared` bytes but which
/// holds `data` (written by hand: a zip writer never lies).
fn lying_zip(name: &str, data: &[u8], declared: u32) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    let comp = enc.finish().unwrap();
    let mut c = flate2::Crc::new();
    c.update(data);
    let crc = c.sum();
    let mut out = Vec::new();
    let n = name.as_bytes();
    // local file header
    out.extend_from_slice(b"PK\x03\x04");
    out.extend_from_slice(&20u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0x21, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(comp.len() as u32).to_le_bytes());
    out.extend_from_slice(&declared.to_le_bytes());
    out.extend_from_slice(&(n.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(n);
    out.extend_from_slice(&comp);
    let cd = out.len() as u32;
    // central directory
    out.extend_from_slice(b"PK\x01\x02");
    out.extend_from_slice(&20u16.to_le_bytes());
    out.extend_from_slice(&20u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0x21, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(comp.len() as u32).to_le_bytes());
    out.extend_from_slice(&declared.to_le_bytes());
    out.extend_from_slice(&(n.len() as u16).to_le_bytes());
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(n);
    let cd_len = out.len() as u32 - cd;
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[test]
fn an_entry_larger_than_its_declared_size_is_refused() {
    let mut content = b"<?xml version=\"1.0\"?><office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\"><office:body>".to_vec();
    content.extend(std::iter::repeat_n(b' ', 50 << 20));
    let zip = lying_zip("content.xml", &content, 100);
    let t0 = Instant::now();
    let ft = file_text(
        "valetab.odt",
        "application/vnd.oasis.opendocument.text",
        &zip,
        &opts(),
    );
    assert_refused(&ft, t0, "entry larger than its declared size");
    // The same entry honestly declared is read (the budget is not the reason).
    let honest = lying_zip("content.xml", b"<a/>", 4);
    let ft = file_text(
        "aus.odt",
        "application/vnd.oasis.opendocument.text",
        &honest,
        &opts(),
    );
    assert_eq!(ft.status, TextStatus::Extracted, "{ft:?}");
}

#[test]
fn xml_nested_100000_deep_is_refused() {
    let mut xml = String::from("<?xml version=\"1.0\"?><w:document xmlns:w=\"w\">");
    xml.push_str(&"<w:p>".repeat(100_000));
    xml.push_str(&"</w:p>".repeat(100_000));
    xml.push_str("</w:document>");
    let zip = zip_with(&[
        ("[Content_Types].xml", CT),
        ("word/document.xml", xml.as_bytes()),
    ]);
    let t0 = Instant::now();
    let ft = file_text("sygav.docx", DOCX, &zip, &opts());
    assert_refused(&ft, t0, "XML nested deeper than 256");
}

#[test]
fn rtf_with_100000_nested_groups_is_refused() {
    let mut rtf = String::from("{\\rtf1\\ansi ");
    rtf.push_str(&"{".repeat(100_000));
    rtf.push_str("Tiina");
    rtf.push_str(&"}".repeat(100_001));
    let t0 = Instant::now();
    let ft = file_text("sygav.rtf", "application/rtf", rtf.as_bytes(), &opts());
    assert_refused(&ft, t0, "RTF groups nested deeper than 256");
}

#[test]
fn an_entity_declared_in_a_dtd_is_never_expanded() {
    let xml = br#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "Sisestatud">]><w:document xmlns:w="w"><w:body><w:p><w:r><w:t>x &a; y</w:t></w:r></w:p></w:body></w:document>"#;
    let zip = zip_with(&[("[Content_Types].xml", CT), ("word/document.xml", xml)]);
    let ft = file_text("dtd.docx", DOCX, &zip, &opts());
    assert!(!ft.text.unwrap_or_default().contains("Sisestatud"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn office_extraction_never_panics_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        docx_head in any::<bool>(),
    ) {
        let mut b = bytes.clone();
        if docx_head {
            b.splice(0..0, b"PK\x03\x04".iter().copied());
        }
        for (name, mt) in [("x.docx", "application/octet-stream"), ("x.rtf", "application/octet-stream"), ("x.xlsx", "application/zip"), ("x.ods", "")] {
            let _ = file_text(name, mt, &b, &opts());
        }
        let mut rtf = b"{\\rtf1 ".to_vec();
        rtf.extend_from_slice(&bytes);
        let ft = file_text("x.rtf", "text/rtf", &rtf, &opts());
        prop_assert!(ft.status == TextStatus::Extracted || ft.note.is_some());
    }
}

fn mail_with_docx(docx: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(docx);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "From: Ohvriabi <info@ohvriabi.example>\r\nTo: dokumendid@sotsiaalkindlustusamet.ee\r\nSubject: Avaldus\r\nMessage-ID: <docx1@example.ee>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0200\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVt manust.\r\n--b1\r\nContent-Type: {DOCX}; name=\"avaldus.docx\"\r\nContent-Disposition: attachment; filename=\"avaldus.docx\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

#[tokio::test]
async fn a_docx_attachment_is_searchable_and_its_personal_code_restricts_the_letter() {
    let docx = std::fs::read(fixture("letter.docx")).unwrap();
    for b in docgate::testing::backends() {
        let env = docgate::testing::TestEnv::new(b).await;
        let app = env.app().await;
        let out = docgate::ingest::mail::ingest_message(
            &app,
            mail_with_docx(&docx),
            "test",
            Channel::Email,
        )
        .await
        .unwrap();
        let docgate::ingest::mail::Outcome::Registered { reg_no, .. } = out else {
            panic!("{b}: not registered: {out:?}");
        };
        // A word only in the attachment finds the letter.
        let hits = search::search(
            &app,
            &SearchRequest {
                query: "sõnumisaladuse".into(),
                limit: 10,
                ..Default::default()
            },
            &Caller::All,
        )
        .await
        .unwrap()
        .hits;
        assert_eq!(
            hits.iter().map(|h| h.reg_no.clone()).collect::<Vec<_>>(),
            vec![reg_no.clone()],
            "{b}"
        );
        let docs = app.register.list(&Default::default()).await.unwrap();
        let d = docs.iter().find(|d| d.reg_no == reg_no).unwrap();
        assert!(
            d.contains_personal_data,
            "{b}: code in the .docx not detected"
        );
        assert!(
            d.is_restricted_on(app.register.today()),
            "{b}: not restricted"
        );
        assert!(
            d.files.iter().any(|f| f.name == "avaldus.docx"),
            "{b}: no file in {:?}",
            d.files
        );
    }
}
