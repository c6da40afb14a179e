//! Every way playback can be refused or fail, each naming its cause.

use std::time::Duration;

use licence_net_protocol::{Address, B256, U256};

/// Why `play` refused or stopped. No output file is left behind in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    // --- the capsule itself, before it starts
    #[error("capsule integrity failure: its SHA-256 is {actual}, its manifest says {claimed}")]
    CapsuleTampered { claimed: B256, actual: B256 },
    #[error("the capsule manifest's signature is not valid for its publisher {0}")]
    ManifestSignature(Address),
    #[error("capsule not allowed: publisher {0} is not an allowed capsule publisher on chain")]
    PublisherNotAllowed(Address),
    #[error("capsule not allowed: capsule {0} is not registered on chain, or is revoked")]
    CapsuleNotRegistered(B256),
    #[error("capsule not allowed: content {content:#x} does not allow renderer {measurement}")]
    RendererNotAllowed { content: U256, measurement: B256 },
    #[error("the chain cannot be read, so nothing is played: {0}")]
    Chain(String),
    #[error("the capsule cannot be loaded: {0}")]
    CapsuleInstantiate(String),
    #[error("the capsule speaks interface version {0}, this host another")]
    CapsuleAbi(u32),

    // --- the licence
    #[error("no access: {0}")]
    NoAccess(String),
    #[error("rental expired: {0}")]
    RentalExpired(String),
    #[error("fewer than the needed licence nodes answered with a valid share: {0}")]
    NotEnoughNodes(String),
    #[error("the licence network refused: {0}")]
    LicenceRefused(String),

    // --- the file and the run
    #[error("integrity failure in the .ddrm: {0}")]
    Integrity(String),
    #[error("cannot read the .ddrm: {0}")]
    Source(String),
    #[error("bad input: {0}")]
    BadInput(String),
    #[error("cannot play: {0}")]
    Unsupported(String),
    #[error("the capsule misbehaved: {0}")]
    Capsule(String),
    #[error("the capsule ran past its deadline of {0:?} and was stopped")]
    CapsuleTimeout(Duration),
    #[error("the capsule tried to use more than {0} bytes of memory and was stopped: {1}")]
    CapsuleMemory(usize, String),
    #[error("the capsule trapped: {0}")]
    CapsuleTrap(String),
    #[error("the runtime attestation key failed: {0}")]
    Runtime(String),
    #[error("cannot write the output: {0}")]
    Output(String),
    #[error("no audio output device: {0}")]
    NoAudioDevice(String),
    #[error(transparent)]
    Host(#[from] crate::HostError),
}
