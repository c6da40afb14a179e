//! Sign-In with Ethereum: the message text a browser posts, its signature and its timestamps.
#![no_main]
use ddrm_fuzz::MAX_INPUT;
use libfuzzer_sys::fuzz_target;
use market_api::siwe::{parse_rfc3339, parse_signature, SiweMessage};

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = SiweMessage::parse(text);
    let _ = parse_signature(text);
    let _ = parse_rfc3339(text);
});
