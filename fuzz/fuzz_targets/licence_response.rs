//! Licence nodes' responses as the capsule receives them: decoded, signature-checked, opened
//! with the capsule's key, verified and combined into the content key.
#![no_main]
use ddrm_fuzz::{ResponseCase, MAX_INPUT};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    if let Ok(case) = serde_json::from_slice::<ResponseCase>(data) {
        let _ = case.recover();
    }
});
