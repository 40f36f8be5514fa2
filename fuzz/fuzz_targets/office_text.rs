#![no_main]
//! Office text extraction (docx, xlsx, odt, ods, rtf) never panics and stays within
//! its decompression budget, whatever the bytes.
use docgate::extract::office::{office_text, OfficeKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let kinds = [OfficeKind::Docx, OfficeKind::Xlsx, OfficeKind::Odt, OfficeKind::Ods, OfficeKind::Rtf];
    let kind = kinds[data[0] as usize % kinds.len()];
    let _ = office_text(kind, &data[1..], 1 << 20);
});
