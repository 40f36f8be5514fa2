#![no_main]
//! The capsule reader never panics, whatever the bytes: it accepts or gives a fault;
//! an accepted capsule writes back to a capsule the reader accepts again.
use docgate::dhx::capsule::{self, ReadLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ReadLimits { max_xml_bytes: 1 << 20, max_decompressed_bytes: 1 << 20, ..Default::default() };
    if let Ok(c) = capsule::read_any(data, &limits) {
        if let Ok(xml) = capsule::write(&c) {
            capsule::read(xml.as_bytes(), &ReadLimits { max_xml_bytes: 1 << 24, max_decompressed_bytes: 1 << 22, ..Default::default() })
                .expect("a written capsule reads back");
        }
    }
});
