//! A licence request as a node receives it (JSON `LicenceAsk`): the wallet's EIP-712 signature,
//! the attestation it binds, and the content key's ciphertext, checked as a node does before it
//! asks the chain anything.
#![no_main]
use ddrm_fuzz::{creator, MAX_INPUT, NOW};
use libfuzzer_sys::fuzz_target;
use licence_net_protocol::{key_commitment, LicenceAsk, PreparedCiphertext};

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let Ok(ask) = serde_json::from_slice::<LicenceAsk>(data) else {
        return;
    };
    let _ = ask.request.verify_signer();
    let _ = ask.request.request_hash();
    let _ = ask.attestation.verify(NOW);
    let _ = ask.attestation.hash();
    let _ = key_commitment(&ask.key_ciphertext);
    let _ = PreparedCiphertext::decode(&ask.key_ciphertext, &creator());
});
