#![no_main]
//! The search query parser never panics, whatever the text: it gives a query tree,
//! nothing, or an error that names the problem.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(q) = std::str::from_utf8(data) {
        let _ = docgate::search::query::parse(q);
    }
});
