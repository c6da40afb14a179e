//! A decrypted media segment's packet table (`decode_packets`): authenticated, but written by
//! whoever packaged the file, so the capsule parses it as untrusted.
#![no_main]
use libfuzzer_sys::fuzz_target;
use packager_format::{decode_packets, encode_packets};

fuzz_target!(|data: &[u8]| {
    if let Ok(packets) = decode_packets(data) {
        let again = encode_packets(&packets);
        assert_eq!(decode_packets(&again).expect("re-decodes"), packets);
    }
});
