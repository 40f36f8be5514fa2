//! Plain text of office files: `.docx`, `.xlsx` (OOXML), `.odt`, `.ods` (ODF) and `.rtf`.
//!
//! Everything here is untrusted input and bounded:
//! - a zip is refused with more than [`MAX_ZIP_ENTRIES`] entries;
//! - every entry read counts against one decompressed-size budget per file
//!   (`min(TextOptions::max_decompressed, MAX_OFFICE_DECOMPRESSED)`): an entry whose
//!   declared size exceeds what is left is refused before it is read, and the
//!   reader stops one byte after the declared size, so a size that lies is caught
//!   without decompressing the rest;
//! - XML: no document type declaration is honoured (no entity is declared or
//!   expanded beyond the five predefined ones and character references), nesting
//!   deeper than [`MAX_XML_DEPTH`] is refused;
//! - RTF: group nesting deeper than [`MAX_RTF_DEPTH`] is refused;
//! - the text is cut at [`MAX_TEXT_BYTES`], with a note.
//!
//! A paragraph, row or line break becomes a newline, a cell a tab, so words of
//! neighbouring paragraphs are never run together.

use std::io::Read;
use std::ops::ControlFlow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::FileText;

/// Largest decompressed size of all entries read from one office file.
pub const MAX_OFFICE_DECOMPRESSED: u64 = 64 * 1024 * 1024;
/// Most entries a zip-based office file may have.
pub const MAX_ZIP_ENTRIES: usize = 10_000;
/// Deepest XML element nesting accepted.
pub const MAX_XML_DEPTH: usize = 256;
/// Deepest RTF group nesting accepted.
pub const MAX_RTF_DEPTH: usize = 256;
/// Longest text kept (bytes of UTF-8); the rest is cut with a note.
pub const MAX_TEXT_BYTES: usize = 10 * 1024 * 1024;

/// The office formats that give text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeKind {
    Docx,
    Xlsx,
    Odt,
    Ods,
    Rtf,
}

const DOCX_MIME: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const ODT_MIME: &str = "application/vnd.oasis.opendocument.text";
const ODS_MIME: &str = "application/vnd.oasis.opendocument.spreadsheet";

/// The office format of a media type (without parameters, lower case).
pub fn kind_of_media_type(mt: &str) -> Option<OfficeKind> {
    match mt {
        DOCX_MIME => Some(OfficeKind::Docx),
        XLSX_MIME => Some(OfficeKind::Xlsx),
        ODT_MIME => Some(OfficeKind::Odt),
        ODS_MIME => Some(OfficeKind::Ods),
        "application/rtf" | "text/rtf" | "application/x-rtf" | "text/richtext" => {
            Some(OfficeKind::Rtf)
        }
        _ => None,
    }
}

/// The office format of a file: by its declared media type, else (for a generic or
/// missing type) by its name's extension (`crate::mime`), else by its content.
pub fn kind_of(name: &str, mt: &str, bytes: &[u8]) -> Option<OfficeKind> {
    if let Some(k) = kind_of_media_type(mt) {
        return Some(k);
    }
    let generic = matches!(
        mt,
        "" | "application/octet-stream"
            | "application/zip"
            | "application/x-zip-compressed"
            | "application/binary"
            | "application/msword"
            | "application/vnd.ms-excel"
            | "text/plain"
    );
    if !generic {
        return None;
    }
    let by_name = kind_of_media_type(&crate::mime::media_type_of(name, &[]));
    if by_name.is_some() {
        return by_name;
    }
    if mt == "text/plain" {
        return None;
    }
    kind_of_content(bytes)
}

/// The office format of a file by its content alone.
pub fn kind_of_content(bytes: &[u8]) -> Option<OfficeKind> {
    if bytes.starts_with(b"{\\rtf") {
        return Some(OfficeKind::Rtf);
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return None;
    }
    // ODF: the first entry is `mimetype`, stored, holding the media type.
    let head = &bytes[..bytes.len().min(200)];
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if has(b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet") {
        return Some(OfficeKind::Ods);
    }
    if has(b"mimetypeapplication/vnd.oasis.opendocument.text") {
        return Some(OfficeKind::Odt);
    }
    // OOXML: `[Content_Types].xml` and the main part's folder.
    let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return None;
    }
    let names: Vec<&str> = zip.file_names().collect();
    if !names.contains(&"[Content_Types].xml") {
        return None;
    }
    if names.iter().any(|n| n.starts_with("word/")) {
        Some(OfficeKind::Docx)
    } else if names.iter().any(|n| n.starts_with("xl/")) {
        Some(OfficeKind::Xlsx)
    } else {
        None
    }
}

/// The text of an office file of a known kind. `max_decompressed` is the caller's
/// budget (`TextOptions::max_decompressed`), capped at [`MAX_OFFICE_DECOMPRESSED`].
pub fn office_text(kind: OfficeKind, bytes: &[u8], max_decompressed: u64) -> FileText {
    let mut out = Out::new(MAX_TEXT_BYTES);
    let result = match kind {
        OfficeKind::Rtf => rtf_text(bytes, &mut out),
        _ => {
            let budget = max_decompressed.min(MAX_OFFICE_DECOMPRESSED);
            match Zip::open(bytes, budget) {
                Err(e) => Err(e),
                Ok(mut zip) => match kind {
                    OfficeKind::Docx => docx_text(&mut zip, &mut out),
                    OfficeKind::Xlsx => xlsx_text(&mut zip, &mut out),
                    OfficeKind::Odt => odf_text(&mut zip, &mut out, false),
                    OfficeKind::Ods => odf_text(&mut zip, &mut out, true),
                    OfficeKind::Rtf => unreachable!("handled above"),
                },
            }
        }
    };
    let what = match kind {
        OfficeKind::Docx => "docx",
        OfficeKind::Xlsx => "xlsx",
        OfficeKind::Odt => "odt",
        OfficeKind::Ods => "ods",
        OfficeKind::Rtf => "rtf",
    };
    match result {
        Err(reason) => FileText::not_extracted(format!(
            "{what}: teksti ei eraldatud: {reason} (text not extracted)"
        )),
        Ok(()) => {
            let truncated = out.truncated;
            let text = out.finish();
            let note = truncated.then(|| {
                format!(
                    "{what}: tekst lõigati {MAX_TEXT_BYTES} baidi juures (text truncated at {MAX_TEXT_BYTES} bytes)"
                )
            });
            FileText::extracted(text, note)
        }
    }
}

/// The text being built, bounded.
struct Out {
    s: String,
    max: usize,
    truncated: bool,
}

impl Out {
    fn new(max: usize) -> Out {
        Out {
            s: String::new(),
            max,
            truncated: false,
        }
    }

    /// Appends `t`; `Break` once the limit is reached.
    fn push(&mut self, t: &str) -> ControlFlow<()> {
        if self.truncated {
            return ControlFlow::Break(());
        }
        if self.s.len() + t.len() > self.max {
            let mut cut = self.max - self.s.len();
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            self.s.push_str(&t[..cut]);
            self.truncated = true;
            return ControlFlow::Break(());
        }
        self.s.push_str(t);
        ControlFlow::Continue(())
    }

    fn push_char(&mut self, c: char) -> ControlFlow<()> {
        let mut b = [0u8; 4];
        self.push(c.encode_utf8(&mut b))
    }

    /// A newline, unless the text is empty or already ends with one.
    fn newline(&mut self) -> ControlFlow<()> {
        let t = self.s.trim_end_matches([' ', '\t']).len();
        self.s.truncate(t);
        if self.s.is_empty() || self.s.ends_with('\n') {
            return ControlFlow::Continue(());
        }
        self.push("\n")
    }

    fn finish(self) -> String {
        let mut s = self.s;
        let t = s.trim_end().len();
        s.truncate(t);
        s
    }
}

/// A zip archive read under a decompressed-size budget.
struct Zip<'a> {
    archive: zip::ZipArchive<std::io::Cursor<&'a [u8]>>,
    left: u64,
    budget: u64,
}

impl<'a> Zip<'a> {
    fn open(bytes: &'a [u8], budget: u64) -> Result<Zip<'a>, String> {
        let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| format!("vigane zip-fail (invalid zip: {e})"))?;
        if archive.len() > MAX_ZIP_ENTRIES {
            return Err(format!(
                "zip-failis on {} kirjet, lubatud on kuni {MAX_ZIP_ENTRIES} (more than {MAX_ZIP_ENTRIES} zip entries)",
                archive.len()
            ));
        }
        Ok(Zip {
            archive,
            left: budget,
            budget,
        })
    }

    fn names(&self) -> Vec<String> {
        self.archive.file_names().map(str::to_string).collect()
    }

    /// The bytes of entry `name`, or `None` when it does not exist.
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, String> {
        let budget = self.budget;
        let over = || {
            format!(
                "lahtipakitud maht ületab {budget} baiti (decompressed size exceeds the budget of {budget} bytes)"
            )
        };
        let entry = match self.archive.by_name(name) {
            Ok(e) => e,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => {
                return Err(format!(
                    "zip-kirje {name} on vigane (invalid zip entry: {e})"
                ))
            }
        };
        let declared = entry.size();
        if declared > self.left {
            return Err(over());
        }
        // Read at most one byte past the declared size: more means the size lied.
        let mut buf = Vec::with_capacity(declared.min(1 << 20) as usize);
        entry
            .take(declared + 1)
            .read_to_end(&mut buf)
            .map_err(|e| {
                format!("zip-kirjet {name} ei saanud lugeda (unreadable zip entry: {e})")
            })?;
        if buf.len() as u64 > declared {
            return Err(format!(
                "zip-kirje {name} on suurem kui selle deklareeritud suurus {declared} baiti (entry larger than its declared size)"
            ));
        }
        self.left -= buf.len() as u64;
        Ok(Some(buf))
    }
}

/// One XML event, by local name.
enum X<'e> {
    Start(&'e BytesStart<'e>),
    Empty(&'e BytesStart<'e>),
    End(&'e [u8]),
    Text(&'e str),
}

/// Streams the XML `bytes` to `f`, with bounded depth and no entity beyond the
/// predefined ones. `f` returns `Break` to stop (text limit reached).
fn walk_xml(bytes: &[u8], mut f: impl FnMut(X<'_>) -> ControlFlow<()>) -> Result<(), String> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().check_end_names = false;
    let mut depth = 0usize;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("vigane XML (invalid XML: {e})"))?;
        let flow = match &ev {
            Event::Eof => return Ok(()),
            Event::Start(s) => {
                depth += 1;
                if depth > MAX_XML_DEPTH {
                    return Err(format!(
                        "XML on sügavamal kui {MAX_XML_DEPTH} taset (XML nested deeper than {MAX_XML_DEPTH})"
                    ));
                }
                f(X::Start(s))
            }
            Event::Empty(s) => f(X::Empty(s)),
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                f(X::End(e.local_name().into_inner()))
            }
            Event::Text(t) => {
                // Only the predefined entities and character references; anything
                // else is kept as written (no DTD is ever read).
                let s = match t.unescape() {
                    Ok(s) => s.into_owned(),
                    Err(_) => String::from_utf8_lossy(t.as_ref()).into_owned(),
                };
                f(X::Text(&s))
            }
            Event::CData(c) => f(X::Text(&String::from_utf8_lossy(c.as_ref()))),
            _ => ControlFlow::Continue(()),
        };
        if flow.is_break() {
            return Ok(());
        }
    }
}

fn local(s: &BytesStart<'_>) -> Vec<u8> {
    s.local_name().into_inner().to_vec()
}

/// An attribute's value by local name.
fn attr(s: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    s.attributes()
        .flatten()
        .find(|a| a.key.local_name().into_inner() == name)
        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
}

/// `.docx`: the body, then headers, footers, footnotes and endnotes.
fn docx_text(zip: &mut Zip<'_>, out: &mut Out) -> Result<(), String> {
    let Some(doc) = zip.read("word/document.xml")? else {
        return Err("word/document.xml puudub (no word/document.xml)".into());
    };
    wordml(&doc, out)?;
    let mut extra: Vec<String> = zip
        .names()
        .into_iter()
        .filter(|n| {
            let Some(rest) = n.strip_prefix("word/") else {
                return false;
            };
            !rest.contains('/')
                && rest.ends_with(".xml")
                && ["header", "footer", "footnotes", "endnotes"]
                    .iter()
                    .any(|p| rest.starts_with(p))
        })
        .collect();
    extra.sort_by_key(|n| natural_key(n));
    for name in extra {
        if out.truncated {
            break;
        }
        if let Some(part) = zip.read(&name)? {
            let _ = out.newline();
            wordml(&part, out)?;
        }
    }
    Ok(())
}

/// WordprocessingML text: `w:t` runs, `w:tab`, breaks, paragraph ends.
fn wordml(xml: &[u8], out: &mut Out) -> Result<(), String> {
    let mut in_t = false;
    walk_xml(xml, |x| match x {
        X::Start(s) => {
            in_t = local(s) == b"t";
            ControlFlow::Continue(())
        }
        X::Empty(s) => match local(s).as_slice() {
            b"tab" => out.push("\t"),
            b"br" | b"cr" => out.push("\n"),
            b"p" => out.newline(),
            _ => ControlFlow::Continue(()),
        },
        X::End(n) => {
            if n == b"t" {
                in_t = false;
            }
            match n {
                b"p" => out.newline(),
                b"tc" => out.push("\t"),
                b"tr" => out.newline(),
                _ => ControlFlow::Continue(()),
            }
        }
        X::Text(t) if in_t => out.push(t),
        X::Text(_) => ControlFlow::Continue(()),
    })
}

/// `.xlsx`: each worksheet in order, cells separated by tabs, rows by newlines.
fn xlsx_text(zip: &mut Zip<'_>, out: &mut Out) -> Result<(), String> {
    let mut shared: Vec<String> = Vec::new();
    if let Some(ss) = zip.read("xl/sharedStrings.xml")? {
        let mut cur = String::new();
        let mut in_t = false;
        let mut in_rph = false;
        walk_xml(&ss, |x| {
            match x {
                X::Start(s) => match local(s).as_slice() {
                    b"t" => in_t = true,
                    b"rPh" => in_rph = true,
                    _ => {}
                },
                X::End(b"t") => in_t = false,
                X::End(b"rPh") => in_rph = false,
                X::End(b"si") => shared.push(std::mem::take(&mut cur)),
                X::Empty(s) if local(s) == b"si" => shared.push(String::new()),
                X::Text(t) if in_t && !in_rph => {
                    if cur.len() + t.len() > MAX_TEXT_BYTES {
                        return ControlFlow::Break(());
                    }
                    cur.push_str(t)
                }
                _ => {}
            }
            ControlFlow::Continue(())
        })?;
    }
    let mut sheets: Vec<String> = zip
        .names()
        .into_iter()
        .filter(|n| {
            n.strip_prefix("xl/worksheets/sheet")
                .is_some_and(|r| r.ends_with(".xml") && !r.contains('/'))
        })
        .collect();
    if sheets.is_empty() {
        return Err("töölehti pole (no worksheets)".into());
    }
    sheets.sort_by_key(|n| natural_key(n));
    for name in sheets {
        if out.truncated {
            break;
        }
        let Some(xml) = zip.read(&name)? else {
            continue;
        };
        let _ = out.newline();
        let mut cell_type = String::new();
        let mut value = String::new();
        let mut in_v = false;
        let mut first_cell = true;
        walk_xml(&xml, |x| {
            match x {
                X::Start(s) => match local(s).as_slice() {
                    b"c" => {
                        cell_type = attr(s, b"t").unwrap_or_default();
                        value.clear();
                    }
                    b"v" | b"t" => in_v = true,
                    b"row" => first_cell = true,
                    _ => {}
                },
                X::Text(t) if in_v && value.len() + t.len() <= MAX_TEXT_BYTES => value.push_str(t),
                X::End(b"v") | X::End(b"t") => in_v = false,
                X::End(b"c") => {
                    let text = match cell_type.as_str() {
                        "s" => value
                            .trim()
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| shared.get(i))
                            .cloned()
                            .unwrap_or_default(),
                        "b" => match value.trim() {
                            "1" => "TRUE".to_string(),
                            _ => "FALSE".to_string(),
                        },
                        _ => value.clone(),
                    };
                    if !first_cell {
                        out.push("\t")?;
                    }
                    first_cell = false;
                    return out.push(&text);
                }
                X::End(b"row") => return out.newline(),
                _ => {}
            }
            ControlFlow::Continue(())
        })?;
    }
    Ok(())
}

/// `.odt` / `.ods`: `content.xml`; paragraphs and rows end lines, cells are tabs.
fn odf_text(zip: &mut Zip<'_>, out: &mut Out, sheet: bool) -> Result<(), String> {
    let Some(xml) = zip.read("content.xml")? else {
        return Err("content.xml puudub (no content.xml)".into());
    };
    let mut in_body = false;
    let mut para = 0usize;
    let mut cell_paras = 0usize;
    let mut first_cell = true;
    walk_xml(&xml, |x| match x {
        X::Start(s) => {
            match local(s).as_slice() {
                b"body" => in_body = true,
                b"p" | b"h" => {
                    para += 1;
                    if sheet {
                        cell_paras += 1;
                        if cell_paras > 1 {
                            return out.push(" ");
                        }
                    }
                }
                b"table-row" => first_cell = true,
                b"table-cell" | b"covered-table-cell" if sheet => {
                    cell_paras = 0;
                    if !first_cell {
                        first_cell = false;
                        return out.push("\t");
                    }
                    first_cell = false;
                }
                b"table" if sheet => return out.newline(),
                _ => {}
            }
            ControlFlow::Continue(())
        }
        X::Empty(s) => match local(s).as_slice() {
            b"tab" if para > 0 => out.push("\t"),
            b"line-break" if para > 0 => out.push("\n"),
            b"s" if para > 0 => {
                let n = attr(s, b"c")
                    .and_then(|c| c.parse::<usize>().ok())
                    .unwrap_or(1)
                    .clamp(1, 64);
                out.push(&" ".repeat(n))
            }
            b"table-cell" | b"covered-table-cell" if sheet => {
                if !first_cell {
                    first_cell = false;
                    return out.push("\t");
                }
                first_cell = false;
                ControlFlow::Continue(())
            }
            b"p" | b"h" if !sheet && in_body => out.newline(),
            _ => ControlFlow::Continue(()),
        },
        X::End(n) => match n {
            b"p" | b"h" => {
                para = para.saturating_sub(1);
                if sheet {
                    ControlFlow::Continue(())
                } else {
                    out.newline()
                }
            }
            b"table-row" if sheet => out.newline(),
            b"body" => {
                in_body = false;
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Continue(()),
        },
        X::Text(t) if in_body && para > 0 => out.push(t),
        X::Text(_) => ControlFlow::Continue(()),
    })
}

/// Sorts `sheet10.xml` after `sheet2.xml`.
fn natural_key(name: &str) -> (String, u64) {
    let stem = name.trim_end_matches(".xml");
    let digits = stem.len() - stem.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (base, num) = stem.split_at(stem.len() - digits);
    (base.to_string(), num.parse().unwrap_or(0))
}

/// RTF destinations whose content is not the letter's text.
const RTF_SKIP: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "objdata",
    "datastore",
    "themedata",
    "colorschememapping",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "latentstyles",
    "mmathpr",
    "filetbl",
    "revtbl",
    "pgdsctbl",
    "fldinst",
    "header",
    "headerl",
    "headerr",
    "headerf",
    "footer",
    "footerl",
    "footerr",
    "footerf",
    "bkmkstart",
    "bkmkend",
    "xe",
    "tc",
];

#[derive(Clone, Copy)]
struct RtfGroup {
    skip: bool,
    uc: usize,
}

/// A small RTF reader: text, paragraph breaks, `\'hh` in the document's code page
/// (`\ansicpg`, windows-1252 by default), `\uN`; tables and destinations skipped.
fn rtf_text(bytes: &[u8], out: &mut Out) -> Result<(), String> {
    if !bytes.starts_with(b"{\\rtf") {
        return Err("ei ole RTF (not RTF: no {\\rtf header)".into());
    }
    let mut enc: &'static encoding_rs::Encoding = encoding_rs::WINDOWS_1252;
    let mut stack: Vec<RtfGroup> = Vec::new();
    let mut cur = RtfGroup { skip: false, uc: 1 };
    let mut pending: Vec<u8> = Vec::new(); // bytes in the code page, not yet decoded
    let mut skip_chars = 0usize; // fallback characters after \uN
    let mut i = 0usize;
    // Set when a group has just opened: `\*` or a skipped destination word makes it skipped.
    let mut group_start = false;

    macro_rules! flush {
        () => {
            if !pending.is_empty() {
                let s = enc.decode_without_bom_handling(&pending).0.into_owned();
                pending.clear();
                if out.push(&s).is_break() {
                    return Ok(());
                }
            }
        };
    }
    macro_rules! emit {
        ($e:expr) => {{
            flush!();
            if !cur.skip && $e.is_break() {
                return Ok(());
            }
        }};
    }

    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'{' => {
                flush!();
                if stack.len() >= MAX_RTF_DEPTH {
                    return Err(format!(
                        "RTF-i rühmad on sügavamal kui {MAX_RTF_DEPTH} taset (RTF groups nested deeper than {MAX_RTF_DEPTH})"
                    ));
                }
                stack.push(cur);
                group_start = true;
                skip_chars = 0;
                i += 1;
            }
            b'}' => {
                flush!();
                if let Some(g) = stack.pop() {
                    cur = g;
                }
                group_start = false;
                skip_chars = 0;
                i += 1;
            }
            b'\\' => {
                i += 1;
                let Some(&c) = bytes.get(i) else { break };
                if c.is_ascii_alphabetic() {
                    let start = i;
                    while i < bytes.len() && bytes[i].is_ascii_alphabetic() && i - start < 32 {
                        i += 1;
                    }
                    let word = std::str::from_utf8(&bytes[start..i])
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    let nstart = i;
                    if i < bytes.len() && bytes[i] == b'-' {
                        i += 1;
                    }
                    while i < bytes.len() && bytes[i].is_ascii_digit() && i - nstart < 11 {
                        i += 1;
                    }
                    let param: Option<i64> = std::str::from_utf8(&bytes[nstart..i])
                        .ok()
                        .and_then(|s| s.parse().ok());
                    if i < bytes.len() && bytes[i] == b' ' {
                        i += 1;
                    }
                    let was_start = std::mem::replace(&mut group_start, false);
                    if was_start && RTF_SKIP.contains(&word.as_str()) {
                        flush!();
                        cur.skip = true;
                        continue;
                    }
                    if skip_chars > 0 && word != "u" {
                        // A control word as a \uN fallback counts as one character.
                        skip_chars -= 1;
                        continue;
                    }
                    match word.as_str() {
                        "par" | "line" | "sect" | "page" | "row" => {
                            emit!(if word == "line" {
                                out.push("\n")
                            } else {
                                out.newline()
                            })
                        }
                        "tab" => emit!(out.push("\t")),
                        "cell" => emit!(out.push("\t")),
                        "emdash" => emit!(out.push("—")),
                        "endash" => emit!(out.push("–")),
                        "bullet" => emit!(out.push("•")),
                        "lquote" => emit!(out.push("‘")),
                        "rquote" => emit!(out.push("’")),
                        "ldblquote" => emit!(out.push("“")),
                        "rdblquote" => emit!(out.push("”")),
                        "ansicpg" => {
                            if let Some(e) = param.and_then(|n| {
                                encoding_rs::Encoding::for_label(format!("windows-{n}").as_bytes())
                                    .or_else(|| {
                                        encoding_rs::Encoding::for_label(
                                            format!("cp{n}").as_bytes(),
                                        )
                                    })
                            }) {
                                enc = e;
                            }
                        }
                        "uc" => cur.uc = param.unwrap_or(1).clamp(0, 8) as usize,
                        "u" => {
                            if let Some(n) = param {
                                let n = if n < 0 { n + 65536 } else { n };
                                let ch = u32::try_from(n)
                                    .ok()
                                    .and_then(char::from_u32)
                                    .unwrap_or('\u{FFFD}');
                                emit!(out.push_char(ch));
                                skip_chars = cur.uc;
                            }
                        }
                        "bin" => {
                            let n = param.unwrap_or(0).max(0) as usize;
                            i = i.saturating_add(n).min(bytes.len());
                        }
                        _ => {}
                    }
                } else {
                    i += 1;
                    let was_start = std::mem::replace(&mut group_start, false);
                    match c {
                        b'*' if was_start => {
                            flush!();
                            cur.skip = true;
                        }
                        b'\'' => {
                            let hex = bytes.get(i..i + 2).and_then(|h| {
                                std::str::from_utf8(h)
                                    .ok()
                                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                            });
                            if let Some(v) = hex {
                                i += 2;
                                if skip_chars > 0 {
                                    skip_chars -= 1;
                                } else if !cur.skip {
                                    pending.push(v);
                                }
                            }
                        }
                        b'\\' | b'{' | b'}' => {
                            if skip_chars > 0 {
                                skip_chars -= 1;
                            } else {
                                let s = [c];
                                emit!(out.push(std::str::from_utf8(&s).unwrap_or_default()));
                            }
                        }
                        b'~' => emit!(out.push(" ")),
                        b'_' => emit!(out.push("-")),
                        b'\n' | b'\r' => emit!(out.newline()),
                        _ => {}
                    }
                }
            }
            b'\r' | b'\n' => i += 1,
            _ => {
                group_start = false;
                i += 1;
                if skip_chars > 0 {
                    skip_chars -= 1;
                    continue;
                }
                if cur.skip {
                    continue;
                }
                if b < 0x80 {
                    flush!();
                    if b == b'\t' {
                        emit!(out.push("\t"));
                    } else if b >= 0x20 {
                        let s = [b];
                        emit!(out.push(std::str::from_utf8(&s).unwrap_or_default()));
                    }
                } else {
                    pending.push(b);
                }
            }
        }
    }
    flush!();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TextStatus;

    fn rtf(s: &str) -> String {
        let ft = office_text(OfficeKind::Rtf, s.as_bytes(), MAX_OFFICE_DECOMPRESSED);
        assert_eq!(ft.status, TextStatus::Extracted, "{:?}", ft.note);
        ft.text.unwrap()
    }

    #[test]
    fn rtf_paragraphs_hex_escapes_in_the_code_page_and_unicode() {
        let t = rtf(
            r"{\rtf1\ansi\ansicpg1257{\fonttbl{\f0 Arial;}}{\colortbl;\red0\green0\blue0;}{\*\generator X;}{\info{\title Pealkiri}}\f0 S\'f5numisaladuse rikkumine\par Tiina Saar \u353?ahh\par}",
        );
        assert_eq!(t, "Sõnumisaladuse rikkumine\nTiina Saar šahh");
        // windows-1252 by default: 0xF5 is õ there too, 0xE4 ä.
        assert_eq!(rtf(r"{\rtf1\ansi k\'e4si}"), "käsi");
        // windows-1257: 0xD0 is Š (in 1252 it would be Ð).
        assert_eq!(rtf(r"{\rtf1\ansi\ansicpg1257 \'d0}"), "Š");
    }

    #[test]
    fn rtf_paragraph_ends_never_run_words_together() {
        let t = rtf(r"{\rtf1 kokkuv\'f5te\par\pard Patsient}");
        assert_eq!(t, "kokkuvõte\nPatsient");
    }

    #[test]
    fn rtf_nested_too_deep_is_not_extracted_with_the_limit_named() {
        let mut s = String::from(r"{\rtf1 ");
        s.push_str(&"{".repeat(100_000));
        s.push('x');
        s.push_str(&"}".repeat(100_001));
        let t0 = std::time::Instant::now();
        let ft = office_text(OfficeKind::Rtf, s.as_bytes(), MAX_OFFICE_DECOMPRESSED);
        assert!(t0.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(ft.status, TextStatus::NotExtracted);
        assert!(ft.note.unwrap().contains("nested deeper than 256"));
    }

    #[test]
    fn text_is_cut_at_the_limit_with_a_note() {
        let mut out = Out::new(10);
        assert!(out.push("Sõnumisaladus").is_break());
        assert!(out.truncated);
        assert!(out.s.len() <= 10);
        assert!("Sõnumisaladus".starts_with(&out.s));
    }

    #[test]
    fn natural_order_of_sheets() {
        let mut v = ["xl/worksheets/sheet10.xml", "xl/worksheets/sheet2.xml"];
        v.sort_by_key(|n| natural_key(n));
        assert_eq!(v[0], "xl/worksheets/sheet2.xml");
    }

    #[test]
    fn kinds_by_media_type_name_and_content() {
        assert_eq!(kind_of("a.bin", DOCX_MIME, b""), Some(OfficeKind::Docx));
        assert_eq!(kind_of("a.rtf", "text/rtf", b""), Some(OfficeKind::Rtf));
        assert_eq!(
            kind_of("a.ods", "application/octet-stream", b""),
            Some(OfficeKind::Ods)
        );
        assert_eq!(
            kind_of("a.xlsx", "application/octet-stream", b""),
            Some(OfficeKind::Xlsx)
        );
        assert_eq!(
            kind_of("x", "application/octet-stream", b"{\\rtf1 x}"),
            Some(OfficeKind::Rtf)
        );
        assert_eq!(kind_of("a.docx", "image/png", b""), None);
    }
}
