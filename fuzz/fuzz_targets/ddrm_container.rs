//! A whole `.ddrm` file as a player opens it: preamble, header, tag, then (under the test
//! vectors' key) every segment decrypted and its packets decoded.
#![no_main]
use std::io::Cursor;

use ddrm_fuzz::vector_key;
use libfuzzer_sys::fuzz_target;
use packager_format::{decode_packets, Container, ContentKey};

fuzz_target!(|data: &[u8]| {
    let Ok(container) = Container::open(Cursor::new(data)) else {
        return;
    };
    let Ok(mut unlocked) = container.unlock(&ContentKey::from_bytes(vector_key())) else {
        return;
    };
    let mut buf = Vec::new();
    for i in 0..unlocked.header().segments.len() {
        if unlocked.segment(i, &mut buf).is_ok() {
            let _ = decode_packets(&buf);
        }
    }
});
