//! What crosses the sandbox boundary (JSON): the host reads the capsule's licence drafts, bad
//! shares and events; the capsule reads its parameters and the host's controls.
#![no_main]
use ddrm_capsule::wire::{AskDraft, BadShare, Control, Event, PlayParams, MAX_MESSAGE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_MESSAGE {
        return;
    }
    let _ = serde_json::from_slice::<AskDraft>(data);
    let _ = serde_json::from_slice::<Vec<BadShare>>(data);
    let _ = serde_json::from_slice::<Event>(data);
    let _ = serde_json::from_slice::<PlayParams>(data);
    let _ = serde_json::from_slice::<Control>(data);
});
