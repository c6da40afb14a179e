//! Symphonia verification of a packaged audio track.

use std::panic::{catch_unwind, AssertUnwindSafe};

use packager_format::{Packet, Track};

use super::audio_codec::{make_decoder, to_symphonia_packet};
use super::MediaError;

pub(crate) fn verify_audio_track(
    track_index: u32,
    track: &Track,
    packets: &mut dyn Iterator<Item = Packet>,
) -> Result<u64, MediaError> {
    let mut decoder = make_decoder(track).map_err(|source| MediaError::AudioCodec {
        track: track_index,
        source,
    })?;
    let fail = |packet: u64, reason: String| MediaError::AudioDecode {
        track: track_index,
        packet,
        reason,
    };
    let mut frames = 0u64;
    let mut count = 0u64;
    for packet in packets {
        let sp = to_symphonia_packet(0, &packet);
        // Symphonia is not hardened against every malformed input: a panic in a decoder is a
        // failed verification, not a crash of the packager.
        let decoded = catch_unwind(AssertUnwindSafe(|| {
            decoder.decode(&sp).map(|buf| buf.frames() as u64)
        }));
        match decoded {
            Ok(Ok(n)) => frames += n,
            Ok(Err(e)) => return Err(fail(count, e.to_string())),
            Err(_) => return Err(fail(count, "the decoder panicked".into())),
        }
        count += 1;
    }
    if count == 0 {
        return Err(fail(0, "the track has no packets".into()));
    }
    if decoder.finalize().verify_ok == Some(false) {
        return Err(fail(
            count - 1,
            "the decoded audio does not match the MD5 in STREAMINFO".into(),
        ));
    }
    Ok(frames)
}
