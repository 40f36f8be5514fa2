#![no_main]
//! The sendDocument parser never panics: the first line of the input is taken as
//! the Content-Type, the rest as the HTTP body.
use docgate::dhx::capsule::ReadLimits;
use docgate::dhx::soap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (ct, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        None => (None, data),
    };
    let limits = ReadLimits { max_xml_bytes: 1 << 20, max_decompressed_bytes: 1 << 20, ..Default::default() };
    let _ = soap::parse_send_document(ct, body, &limits);
    let _ = soap::parse_send_response(ct, body);
});
