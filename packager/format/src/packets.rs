//! The plaintext of a media segment: the compressed packets of one track, in decode order.
//!
//! ```text
//! u32 count
//! count × { i64 pts, i64 dts, u32 duration, u8 flags (bit 0 keyframe), u32 len, len bytes }
//! ```
//! All integers little-endian; timestamps in the track's timescale.

use crate::codec::{Dec, Enc};
use crate::{limits, FormatError};

/// One compressed access unit (a video frame, an audio frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub pts: i64,
    pub dts: i64,
    pub duration: u32,
    pub keyframe: bool,
    pub data: Vec<u8>,
}

/// Encodes packets as one segment's plaintext.
pub fn encode_packets(packets: &[Packet]) -> Vec<u8> {
    let mut e = Enc::new();
    e.buf
        .reserve(4 + packets.iter().map(|p| 25 + p.data.len()).sum::<usize>());
    e.count(packets.len());
    for p in packets {
        e.i64(p.pts);
        e.i64(p.dts);
        e.u32(p.duration);
        e.u8(u8::from(p.keyframe));
        e.bytes(&p.data);
    }
    e.buf
}

/// Decodes one segment's plaintext into its packets, strictly.
pub fn decode_packets(plain: &[u8]) -> Result<Vec<Packet>, FormatError> {
    let mut d = Dec::new(plain);
    let n = d.count("packet count", limits::PACKETS)?;
    let mut out = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let pts = d.i64("packet pts")?;
        let dts = d.i64("packet dts")?;
        let duration = d.u32("packet duration")?;
        let keyframe = match d.u8("packet flags")? {
            0 => false,
            1 => true,
            _ => {
                return Err(FormatError::Malformed {
                    what: "packet flags",
                    why: "set reserved bits",
                })
            }
        };
        let data = d.bytes("packet data", limits::SEGMENT)?;
        out.push(Packet {
            pts,
            dts,
            duration,
            keyframe,
            data,
        });
    }
    d.finish().map_err(|_| FormatError::Malformed {
        what: "segment",
        why: "has bytes after its last packet",
    })?;
    Ok(out)
}
