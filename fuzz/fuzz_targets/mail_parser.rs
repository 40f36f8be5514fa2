#![no_main]
//! The mail parser never panics and stays within its limits, whatever the bytes:
//! it gives a parsed message or a rejection with its reason.
use docgate::extract::mail::{parse_mail, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(m) = parse_mail(data, &limits) {
        let _ = docgate::extract::mail::to_golden_json(&m);
    }
});
