//! A runtime's attestation (JSON), with its TPM evidence (marshalled TPM structures) when it
//! has one, verified as a node does.
#![no_main]
use ddrm_fuzz::{MAX_INPUT, NOW};
use libfuzzer_sys::fuzz_target;
use licence_net_protocol::tpm::TpmPublic;
use licence_net_protocol::Attestation;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    // The raw TPM public area parser sees every input too.
    let _ = TpmPublic::parse(data);
    if let Ok(attestation) = serde_json::from_slice::<Attestation>(data) {
        let _ = attestation.verify(NOW);
        let _ = attestation.hash();
    }
});
