//! Text extraction from mail and files (owned by the ingest work).
//!
//! Every extractor is pure (bytes in, text out) and is run through [`isolated`]
//! so that a panic or a hang in a parser cannot take the daemon down:
//! the work runs on a blocking thread, a panic is caught and a time limit bounds it.

pub mod html;
pub mod mail;
pub mod ocr;
pub mod office;
pub mod pdf;
pub mod subprocess;

use std::time::Duration;

use crate::model::TextStatus;

/// Why an isolated extractor gave no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsolationError {
    #[error("{0} panicked: {1}")]
    Panicked(String, String),
    #[error("{0} took longer than {1} s and was abandoned")]
    TimedOut(String, u64),
}

/// Runs `f` on a blocking thread, catching a panic and bounding it by `limit`.
///
/// A timed-out extractor keeps its thread until it ends by itself (a thread
/// cannot be killed), but its result is dropped and the caller moves on.
pub async fn isolated<T, F>(what: &str, limit: Duration, f: F) -> Result<T, IsolationError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let handle = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
    });
    match tokio::time::timeout(limit, handle).await {
        Err(_) => Err(IsolationError::TimedOut(what.to_string(), limit.as_secs())),
        Ok(Err(join)) => Err(IsolationError::Panicked(what.to_string(), join.to_string())),
        Ok(Ok(Err(payload))) => Err(IsolationError::Panicked(
            what.to_string(),
            panic_message(&payload),
        )),
        Ok(Ok(Ok(v))) => Ok(v),
    }
}

/// Runs `f` on the current thread catching a panic (for code that is already on a
/// blocking thread and bounded by an outer [`isolated`] call).
pub fn catch<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, IsolationError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|p| IsolationError::Panicked(what.to_string(), panic_message(&p)))
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Text of a file with the outcome: the text, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct FileText {
    pub text: Option<String>,
    pub status: TextStatus,
    pub note: Option<String>,
}

impl FileText {
    pub fn extracted(text: String, note: Option<String>) -> FileText {
        FileText {
            text: Some(text),
            status: TextStatus::Extracted,
            note,
        }
    }
    pub fn not_extracted(note: impl Into<String>) -> FileText {
        FileText {
            text: None,
            status: TextStatus::NotExtracted,
            note: Some(note.into()),
        }
    }
    /// A scan: its text comes later from the OCR queue.
    pub fn ocr_pending() -> FileText {
        FileText {
            text: None,
            status: TextStatus::OcrPending,
            note: Some(ocr::PENDING_NOTE.to_string()),
        }
    }
    pub fn none() -> FileText {
        FileText {
            text: None,
            status: TextStatus::NoText,
            note: None,
        }
    }
}

/// Options of file text extraction.
#[derive(Debug, Clone)]
pub struct TextOptions {
    /// Fall back to `pdftotext` (poppler-utils) when lopdf's text is not trusted.
    pub pdftotext: bool,
    /// Time limit of one `pdftotext` run.
    pub pdftotext_timeout: Duration,
    /// Largest decompressed content a PDF page may have before it is skipped.
    pub max_decompressed: u64,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            pdftotext: true,
            pdftotext_timeout: Duration::from_secs(20),
            max_decompressed: 256 * 1024 * 1024,
        }
    }
}

/// The text of a file by its media type and name. Blocking: call inside [`isolated`].
pub fn file_text(name: &str, media_type: &str, bytes: &[u8], opts: &TextOptions) -> FileText {
    let lower = name.to_ascii_lowercase();
    let full = media_type.to_ascii_lowercase();
    let mut params = full.split(';');
    let mt = params.next().unwrap_or_default().trim().to_string();
    // A declared charset wins over guessing (a windows-1251 attachment is not UTF-8
    // and not windows-1257).
    let declared = params
        .filter_map(|p| p.trim().strip_prefix("charset="))
        .map(|c| c.trim_matches('"'))
        .find_map(|c| encoding_rs::Encoding::for_label(c.as_bytes()));
    let decode = |b: &[u8]| match declared {
        Some(enc) => enc.decode(b).0.into_owned(),
        None => decode_text_bytes(b),
    };
    if mt == "application/pdf" || lower.ends_with(".pdf") || bytes.starts_with(b"%PDF-") {
        let ft = pdf::pdf_text(bytes, opts);
        // A readable PDF without a text layer is a scan: OCR reads it later.
        let scan = ft.status == TextStatus::NotExtracted
            && ft
                .note
                .as_deref()
                .is_some_and(|n| n.contains(pdf::NO_TEXT_LAYER));
        if ocr::is_candidate(bytes, scan).is_some() {
            return FileText::ocr_pending();
        }
        return ft;
    }
    // Signed containers: the signers and the data files' own text.
    if crate::signature::is_container(name, &mt) {
        return crate::signature::container_text(name, bytes, opts);
    }
    // Before the text branch: `text/rtf` is RTF, not plain text.
    if let Some(kind) = office::kind_of(name, &mt, bytes) {
        return office::office_text(kind, bytes, opts.max_decompressed);
    }
    if mt == "text/html" || lower.ends_with(".html") || lower.ends_with(".htm") {
        let s = decode(bytes);
        return FileText::extracted(html::html_to_text(&s), None);
    }
    if mt.starts_with("text/")
        || lower.ends_with(".txt")
        || lower.ends_with(".csv")
        || lower.ends_with(".xml")
    {
        return FileText::extracted(decode(bytes), None);
    }
    if mt == "message/rfc822" || lower.ends_with(".eml") {
        return match mail::parse_body_only(bytes) {
            Some(t) => FileText::extracted(t, None),
            None => FileText::not_extracted("the attached message could not be read"),
        };
    }
    if ocr::image_kind(bytes).is_some() {
        return FileText::ocr_pending();
    }
    if mt.starts_with("image/") {
        return FileText::not_extracted(format!(
            "image: text not extracted (OCR reads PNG, JPEG and TIFF, not {media_type})"
        ));
    }
    FileText::not_extracted(format!("text not extracted: no extractor for {media_type}"))
}

/// Bytes of a text file to a string: UTF-8 when valid, else windows-1257 (the
/// legacy charset of Estonian correspondence), never silently lossy.
pub fn decode_text_bytes(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1257.decode(bytes).0.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_extractor_is_an_error_not_a_crash() {
        let r: Result<(), _> = isolated("test extractor", Duration::from_secs(5), || {
            panic!("boom in parser")
        })
        .await;
        let e = r.unwrap_err();
        assert!(matches!(e, IsolationError::Panicked(..)), "{e}");
        assert!(e.to_string().contains("boom in parser"), "{e}");
    }

    #[tokio::test]
    async fn a_hanging_extractor_times_out() {
        let t0 = std::time::Instant::now();
        let r = isolated("slow extractor", Duration::from_millis(200), || {
            std::thread::sleep(Duration::from_secs(3));
            1
        })
        .await;
        assert!(matches!(r, Err(IsolationError::TimedOut(..))), "{r:?}");
        assert!(t0.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_good_extractor_returns_its_value() {
        let r = isolated("ok", Duration::from_secs(5), || 41 + 1).await;
        assert_eq!(r, Ok(42));
    }

    #[test]
    fn text_bytes_fall_back_to_windows_1257() {
        assert_eq!(decode_text_bytes("Tõnu".as_bytes()), "Tõnu");
        // "Šõ" in windows-1257 is 0xD0 0xF5.
        assert_eq!(decode_text_bytes(b"\xD0\xF5ja"), "Šõja");
    }

    #[test]
    fn unknown_binary_is_marked_not_extracted() {
        let t = file_text(
            "x.bin",
            "application/octet-stream",
            &[0, 1, 2],
            &TextOptions::default(),
        );
        assert_eq!(t.status, TextStatus::NotExtracted);
        assert!(t.note.unwrap().contains("text not extracted"));
    }
}
