//! The market API's path parameters and query strings, decoded by axum's own `Query` and
//! checked by the handlers' validators. Input: the path parameter, a newline, the query.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > 8192 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (param, query) = text.split_once('\n').unwrap_or((text, ""));
    market_api::reads::fuzzing::read_request(param, query);
});
