//! What crosses the sandbox boundary, as JSON. The host and the capsule both use these types.

use licence_net_protocol::{
    Address, Attestation, Bytes, LicencePolicy, RequestFields, ResponseFault, ShareFault,
};
use serde::{Deserialize, Serialize};

/// Largest JSON message either side accepts from the other.
pub const MAX_MESSAGE: usize = 1 << 20;

/// What the host tells the capsule to do (import `params`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayParams {
    pub chain_id: u64,
    /// The Access contract (EIP-712 verifying contract of licence requests).
    pub access_contract: Address,
    /// The buyer's account: the wallet that signs the request.
    pub account: Address,
    /// The licence network's group key file (JSON); the capsule checks it is the one the
    /// content's key is wrapped to.
    pub group_key: String,
    /// Where to start playing, in milliseconds from the start.
    pub start_ms: u64,
    pub audio: bool,
    pub video: bool,
}

/// A licence request for the host's wallet to sign and send (import `licence_ask`). The host
/// signs `fields` (it shows the user what they sign) and posts
/// `LicenceAsk { request, attestation, key_ciphertext }` to the nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskDraft {
    pub fields: RequestFields,
    pub attestation: Attestation,
    pub key_ciphertext: Bytes,
}

/// A node's response the capsule could not use (import `licence_more`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BadShare {
    pub node_index: u32,
    pub fault: Fault,
}

/// [`ResponseFault`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    WrongRequest,
    UnknownNode,
    BadSignature,
    CannotOpen,
    InvalidShare,
    WrongPolicy,
}

impl From<&ResponseFault> for Fault {
    fn from(f: &ResponseFault) -> Self {
        match f {
            ResponseFault::WrongRequest => Self::WrongRequest,
            ResponseFault::UnknownNode => Self::UnknownNode,
            ResponseFault::BadSignature => Self::BadSignature,
            ResponseFault::CannotOpen => Self::CannotOpen,
            ResponseFault::InvalidShare => Self::InvalidShare,
            ResponseFault::WrongPolicy => Self::WrongPolicy,
        }
    }
}

impl From<Fault> for ResponseFault {
    fn from(f: Fault) -> Self {
        match f {
            Fault::WrongRequest => Self::WrongRequest,
            Fault::UnknownNode => Self::UnknownNode,
            Fault::BadSignature => Self::BadSignature,
            Fault::CannotOpen => Self::CannotOpen,
            Fault::InvalidShare => Self::InvalidShare,
            Fault::WrongPolicy => Self::WrongPolicy,
        }
    }
}

impl From<&ShareFault> for BadShare {
    fn from(f: &ShareFault) -> Self {
        Self {
            node_index: f.node_index,
            fault: Fault::from(&f.fault),
        }
    }
}

impl From<&BadShare> for ShareFault {
    fn from(b: &BadShare) -> Self {
        Self {
            node_index: b.node_index,
            fault: b.fault.into(),
        }
    }
}

/// Why the capsule stopped. The host maps each to its own typed error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// The `.ddrm` bytes failed a structural or authentication check.
    Integrity,
    /// The licence's play-until time has passed (by the host clock).
    RentalExpired,
    /// Fewer valid shares than the threshold.
    NotEnoughShares,
    /// The host refused or failed a call (its own error says why).
    Host,
    /// The group key does not match the content, or another unusable input.
    BadInput,
    /// A track the capsule cannot decode.
    Unsupported,
    /// The host asked to stop ([`Control::Stop`]): not a failure.
    Requested,
}

/// What the host wants next (import `control`, asked between units: before each packet the
/// capsule decodes and each segment it opens). A host that pauses keeps the call waiting until
/// it resumes, seeks or stops; the capsule decides what a seek decrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Control {
    /// Go on with the next unit.
    Continue,
    /// Play from `to_us` (microseconds from the start of the content): video decrypts from the
    /// keyframe segment at or before it and audio from the segment holding it; what decodes
    /// before it is not presented.
    Seek { to_us: u64 },
    /// Stop now: the run ends with [`StopKind::Requested`].
    Stop,
}

/// Events the capsule reports to the host (import `report`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// The licence was granted: the policy the capsule enforces and the nodes whose shares it used.
    Licensed {
        policy: LicencePolicy,
        nodes: Vec<u32>,
        bad_shares: Vec<BadShare>,
    },
    /// The format of the audio to come.
    Audio {
        codec: String,
        sample_rate: u32,
        channels: u16,
    },
    /// The format of the video frames to come (8-bit 4:2:0 planar, tightly packed): sent before
    /// the first frame presented and again whenever the decoded picture size changes;
    /// `width` and `height` are the decoded picture's, the frame rate the track's.
    Video {
        codec: String,
        width: u32,
        height: u32,
        frame_rate_num: u32,
        frame_rate_den: u32,
    },
    /// A segment was decrypted (index into the segment table).
    Decrypted { segment: u32 },
    /// A seek took effect: what is presented next starts at (or, for video, within a frame
    /// after) `to_us`; anything the host still holds from before is stale.
    Seeked { to_us: u64 },
    /// Playback stopped before the end, and why.
    Stopped { kind: StopKind, message: String },
    /// Playback reached the end.
    Finished {
        audio_frames: u64,
        video_frames: u64,
    },
}

impl Event {
    /// The sample rate and channel count an [`Event::Audio`] announces.
    pub fn audio_format(&self) -> Option<(u32, u16)> {
        match self {
            Self::Audio {
                sample_rate,
                channels,
                ..
            } => Some((*sample_rate, *channels)),
            _ => None,
        }
    }
}
