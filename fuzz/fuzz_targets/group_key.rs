//! A licence network's group key file (`group.pub`, JSON) and a key ciphertext against it.
#![no_main]
use ddrm_fuzz::{creator, MAX_INPUT};
use libfuzzer_sys::fuzz_target;
use licence_net_protocol::{GroupKey, PreparedCiphertext};

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        let _ = PreparedCiphertext::decode(data, &creator());
        return;
    };
    if let Ok(group) = GroupKey::from_json(text) {
        let again = GroupKey::from_json(&group.to_json()).expect("a written group key reads back");
        assert_eq!(again, group);
    }
});
