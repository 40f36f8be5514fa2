//! Media types of files, in one place: by the file name's extension
//! (`mime_guess`'s table, plus the Estonian signed-container formats it does not
//! know), else by content (a PDF's magic), else `application/octet-stream`.

use std::borrow::Cow;

/// Signed containers (ETSI ASiC and the older Estonian formats), by extension.
const CONTAINERS: [(&str, &str); 6] = [
    ("asice", "application/vnd.etsi.asic-e+zip"),
    ("sce", "application/vnd.etsi.asic-e+zip"),
    ("bdoc", "application/vnd.etsi.asic-e+zip"),
    ("asics", "application/vnd.etsi.asic-s+zip"),
    ("scs", "application/vnd.etsi.asic-s+zip"),
    ("ddoc", "application/x-ddoc"),
];

/// The media type of a file named `name` with content `bytes`.
pub fn media_type_of(name: &str, bytes: &[u8]) -> Cow<'static, str> {
    let ext = std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if let Some((_, mt)) = CONTAINERS.iter().find(|(e, _)| *e == ext) {
        return Cow::Borrowed(mt);
    }
    if !ext.is_empty() {
        if let Some(mt) = mime_guess::from_ext(&ext).first_raw() {
            return Cow::Borrowed(mt);
        }
    }
    if bytes.starts_with(b"%PDF-") {
        return Cow::Borrowed("application/pdf");
    }
    Cow::Borrowed("application/octet-stream")
}

#[cfg(test)]
mod tests {
    use super::media_type_of;

    #[test]
    fn media_types_by_extension_then_content() {
        let table = [
            ("a.pdf", &b""[..], "application/pdf"),
            ("A.PDF", b"", "application/pdf"),
            ("kiri.txt", b"", "text/plain"),
            ("kiri.eml", b"", "message/rfc822"),
            ("leht.html", b"", "text/html"),
            ("pilt.jpg", b"", "image/jpeg"),
            ("pilt.png", b"", "image/png"),
            ("skann.tiff", b"", "image/tiff"),
            (
                "avaldus.docx",
                b"",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            (
                "avaldus.odt",
                b"",
                "application/vnd.oasis.opendocument.text",
            ),
            (
                "tabel.xlsx",
                b"",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            ("kiri.rtf", b"", "application/rtf"),
            ("leping.asice", b"", "application/vnd.etsi.asic-e+zip"),
            ("leping.bdoc", b"", "application/vnd.etsi.asic-e+zip"),
            ("leping.ddoc", b"", "application/x-ddoc"),
            ("nimeta", b"%PDF-1.7 ...", "application/pdf"),
            ("nimeta", b"tere", "application/octet-stream"),
            ("imelik.qqqzz", b"tere", "application/octet-stream"),
        ];
        for (name, bytes, want) in table {
            assert_eq!(media_type_of(name, bytes), want, "{name}");
        }
    }
}
