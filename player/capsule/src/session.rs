//! The capsule's work over the [`Host`] it is given. Platform independent: the wasm build drives
//! it through the sandbox imports (`abi`), and native tests can drive it directly.
//!
//! Audio and video are played together: the capsule always decodes next the packet of
//! whichever track is behind in presentation time, and asks the host between packets whether
//! to go on, seek or stop ([`Host::control`]; a host pauses by not answering yet), so a host
//! can present both in sync.
//!
//! The content key exists only between [`recover_content_key`] and the end of [`play`], inside
//! this module: in a [`ContentKey`] (zeroized on drop) and the container's segment sealer.
//! Decrypted segment plaintext (compressed packets) is wiped after parsing; only decoded samples
//! and frames go to the host.

use licence_net_protocol::{
    recover_content_key, AccessKind, Attestation, CapsuleSecret, Expected, GroupKey, LicencePolicy,
    LicenceResponse, OpenShare, PreparedCiphertext, RequestFields, B256, U256,
};
use packager_format::audio_codec::{make_decoder, to_symphonia_packet};
use packager_format::{
    decode_packets, ByteSource, Container, ContentKey, FormatError, Header, Packet, SegmentEntry,
    TrackKind, Unlocked, KEY_SCHEME_LABELLED_BLS12_381,
};
use std::collections::VecDeque;

use rand_core::RngCore;
use symphonia::core::audio::SampleBuffer;
use zeroize::Zeroize;

use crate::av1::{self, Av1Decoder};
use crate::wire::{AskDraft, BadShare, Control, Event, PlayParams, StopKind};

/// How long a licence request stays valid (seconds); well under the nodes' limit.
pub const REQUEST_LIFETIME: u64 = 120;

/// What the capsule may ask of its host: its whole authority.
pub trait Host {
    /// What to play, for whom, against which network.
    fn params(&mut self) -> Result<PlayParams, Stop>;
    /// The host clock, unix seconds.
    fn now(&mut self) -> u64;
    /// The runtime's attestation that this capsule holds `capsule_key`.
    fn attest(&mut self, capsule_key: B256) -> Result<Attestation, Stop>;
    /// Has the wallet sign the request and the network answer it: sealed responses.
    fn ask(&mut self, draft: &AskDraft) -> Result<Vec<LicenceResponse>, Stop>;
    /// Reports unusable responses and waits for the other nodes: all usable responses so far.
    fn more(&mut self, bad: &[BadShare]) -> Result<Vec<LicenceResponse>, Stop>;
    /// Decoded audio: interleaved `f32` samples in the announced format; `pts_us` is the
    /// presentation time of the first, in microseconds from the start of the content.
    fn present_audio(&mut self, interleaved: &[f32], pts_us: i64) -> Result<(), Stop>;
    /// One decoded video frame, in presentation order: 8-bit Y, U, V planes (4:2:0), tightly
    /// packed — `width × height` bytes of Y, then `⌈width/2⌉ × ⌈height/2⌉` of U and of V, in
    /// the size the last [`Event::Video`] announced; `pts_us` is its presentation time in
    /// microseconds from the start of the content.
    fn present_video(&mut self, planes: &[u8], pts_us: i64) -> Result<(), Stop>;
    /// Asked between units (before each packet decoded, which may first open a segment):
    /// what to do next. `position_us` is the presentation time of that next unit. A host that
    /// pauses answers only when it resumes (or seeks, or stops).
    fn control(&mut self, position_us: i64) -> Result<Control, Stop>;
    /// Something the user should know.
    fn report(&mut self, event: &Event);
}

/// Why playback stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub kind: StopKind,
    pub message: String,
}

impl Stop {
    pub fn new(kind: StopKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    fn integrity(e: FormatError) -> Self {
        Self::new(StopKind::Integrity, e.to_string())
    }
}

/// What a finished run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Played {
    /// Segment indices decrypted, in order.
    pub decrypted: Vec<u32>,
    pub audio_frames: u64,
    pub video_frames: u64,
}

/// Plays the `.ddrm` in `source` for the host: the capsule's one entry point.
pub fn play<H: Host, S: ByteSource>(host: &mut H, source: S) -> Result<Played, Stop> {
    let result = run(host, source);
    match &result {
        Ok(p) => host.report(&Event::Finished {
            audio_frames: p.audio_frames,
            video_frames: p.video_frames,
        }),
        Err(stop) => host.report(&Event::Stopped {
            kind: stop.kind,
            message: stop.message.clone(),
        }),
    }
    result
}

fn run<H: Host, S: ByteSource>(host: &mut H, source: S) -> Result<Played, Stop> {
    let params = host.params()?;
    let container = Container::open(source).map_err(Stop::integrity)?;
    let content_id = U256::from_be_bytes(container.content_id().0);
    let (key, policy) = licence(host, &params, container.header(), content_id)?;
    check_time(&policy, host.now())?;
    let mut unlocked = container.unlock(&key).map_err(Stop::integrity)?;
    drop(key);

    let header = unlocked.header().clone();
    let track_of = |kind: TrackKind| header.tracks.iter().position(|t| t.kind == kind);
    let start_us = params.start_ms.saturating_mul(1000);
    let mut lanes: Vec<Lane> = Vec::new();
    if let Some(t) = track_of(TrackKind::Audio).filter(|_| params.audio) {
        lanes.push(Audio::lane(host, &header, t, start_us)?);
    }
    if let Some(t) = track_of(TrackKind::Video).filter(|_| params.video) {
        lanes.push(Video::lane(&header, t, start_us)?);
    }
    let mut played = Played::default();
    let mut opened = Opened {
        unlocked: &mut unlocked,
        policy: &policy,
        buf: Vec::new(),
    };
    // Whichever track is behind in presentation time goes next (the first listed on a tie).
    while let Some((position, next)) = lanes
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Some((l.queue.next_us(&header)?, i)))
        .min()
    {
        match host.control(position)? {
            Control::Continue => {}
            Control::Seek { to_us } => {
                for lane in &mut lanes {
                    lane.seek(&header, to_us)?;
                }
                host.report(&Event::Seeked { to_us });
                continue;
            }
            Control::Stop => {
                return Err(Stop::new(
                    StopKind::Requested,
                    "the host asked the capsule to stop",
                ))
            }
        }
        let lane = &mut lanes[next];
        if let Some(packet) = lane.queue.pop(host, &mut opened, &mut played)? {
            lane.presented += lane.media.decode(host, packet)?;
        }
        if lane.queue.at_end() {
            lane.presented += lane.media.finish(host)?;
        }
    }
    for lane in &lanes {
        match lane.kind {
            TrackKind::Audio => played.audio_frames = lane.presented,
            _ => played.video_frames = lane.presented,
        }
    }
    Ok(played)
}

/// Builds the request, has the host carry it, recovers the content key from the sealed shares
/// (asking once more when some are bad) and returns it with the policy to enforce.
fn licence<H: Host>(
    host: &mut H,
    params: &PlayParams,
    header: &Header,
    content_id: U256,
) -> Result<(ContentKey, LicencePolicy), Stop> {
    let bad_input = |m: String| Stop::new(StopKind::BadInput, m);
    if header.key.scheme != KEY_SCHEME_LABELLED_BLS12_381 {
        return Err(bad_input(format!(
            "unknown key scheme {}",
            header.key.scheme
        )));
    }
    let group = GroupKey::from_json(&params.group_key)
        .map_err(|e| bad_input(format!("the licence network's group key: {e}")))?;
    if group.id().as_slice() != header.key.group_key_id.as_slice() {
        return Err(bad_input(
            "the content's key is wrapped to another licence network than the group key given"
                .into(),
        ));
    }
    // Checked for the creator the header names: the nodes check it for the creator the chain
    // names, so a header naming another creator than the registration gets nothing.
    let creator = licence_net_protocol::Address::from(header.creator());
    let ciphertext = PreparedCiphertext::decode(&header.key.ciphertext, &creator)
        .map_err(|e| Stop::new(StopKind::Integrity, format!("key ciphertext: {e}")))?;

    let secret = CapsuleSecret::generate();
    let capsule_key = secret.public_key();
    let attestation = host.attest(capsule_key)?;
    if attestation.capsule_key != capsule_key {
        return Err(Stop::new(
            StopKind::Host,
            "the host attested another capsule key",
        ));
    }
    let mut nonce = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut nonce);
    let fields = RequestFields {
        chain_id: params.chain_id,
        access_contract: params.access_contract,
        content_id,
        key_commitment: B256::from(header.key_commitment()),
        capsule_key,
        attestation_hash: attestation.hash(),
        nonce: B256::from(nonce),
        expiry: host.now() + REQUEST_LIFETIME,
    };
    let expected = Expected {
        request_hash: fields.signing_hash(),
        account: params.account,
        content_id,
    };
    let draft = AskDraft {
        fields,
        attestation,
        key_ciphertext: header.key.ciphertext.clone().into(),
    };
    let mut responses = host.ask(&draft)?;
    let mut asked_again = false;
    loop {
        match recover_content_key(&group, &ciphertext, &expected, &responses, &secret) {
            Ok(recovered) => {
                let mut bytes: [u8; 32] = recovered.key.as_slice().try_into().map_err(|_| {
                    Stop::new(StopKind::Integrity, "the recovered key is not 32 bytes")
                })?;
                let key = ContentKey::from_bytes(bytes);
                bytes.zeroize();
                let nodes: Vec<u32> = recovered.shares.iter().map(|(i, _)| *i as u32).collect();
                let used: Vec<&LicenceResponse> = responses
                    .iter()
                    .filter(|r| nodes.contains(&r.node_index))
                    .collect();
                let policy = most_restrictive(&used);
                host.report(&Event::Licensed {
                    policy: policy.clone(),
                    nodes,
                    bad_shares: recovered.faults.iter().map(BadShare::from).collect(),
                });
                return Ok((key, policy));
            }
            Err(e) if !asked_again && !e.faults.is_empty() => {
                asked_again = true;
                let bad: Vec<BadShare> = e.faults.iter().map(BadShare::from).collect();
                responses = host.more(&bad)?;
            }
            Err(e) => {
                return Err(Stop::new(
                    StopKind::NotEnoughShares,
                    format!("licence refused: {e}"),
                ))
            }
        }
    }
}

/// The policy that allows the least among the shares used: the earliest end, the earliest
/// renewal. (Nodes read the chain at slightly different blocks.)
fn most_restrictive(used: &[&LicenceResponse]) -> LicencePolicy {
    let mut policy = used[0].policy.clone();
    for r in &used[1..] {
        let p = &r.policy;
        if p.access == AccessKind::Timed {
            policy.access = AccessKind::Timed;
        }
        policy.play_until = match (policy.play_until, p.play_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        policy.renew_after = policy.renew_after.min(p.renew_after);
    }
    policy
}

/// A rental's end is enforced here, against the host clock, before every segment.
fn check_time(policy: &LicencePolicy, now: u64) -> Result<(), Stop> {
    match policy.play_until {
        Some(until) if now >= until => Err(Stop::new(
            StopKind::RentalExpired,
            format!("the rental ended at {until} (unix seconds); the clock says {now}"),
        )),
        _ => Ok(()),
    }
}

/// The segments of `track` to decrypt to start at `start` (track timescale): from the last one
/// starting at or before it (a keyframe one when `keyframe`), in table order.
pub fn segments_from(header: &Header, track: usize, start: i64, keyframe: bool) -> Vec<usize> {
    let all: Vec<(usize, &SegmentEntry)> = header
        .segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.track as usize == track)
        .collect();
    let first = all
        .iter()
        .rposition(|(_, s)| s.pts <= start && (!keyframe || s.is_keyframe()))
        .unwrap_or(0);
    all[first..].iter().map(|(i, _)| *i).collect()
}

/// What opening a segment needs: the unlocked container, the policy checked before each
/// segment, and the plaintext buffer (wiped after every segment).
struct Opened<'a, S: ByteSource> {
    unlocked: &'a mut Unlocked<S>,
    policy: &'a LicencePolicy,
    buf: Vec<u8>,
}

impl<S: ByteSource> Opened<'_, S> {
    /// Decrypts segment `index` after checking the licence's time, records it, and returns
    /// its packets; the plaintext is wiped.
    fn open<H: Host>(
        &mut self,
        host: &mut H,
        index: usize,
        played: &mut Played,
    ) -> Result<Vec<Packet>, Stop> {
        check_time(self.policy, host.now())?;
        let result = self
            .unlocked
            .segment(index, &mut self.buf)
            .and_then(|_| decode_packets(&self.buf));
        self.buf.zeroize();
        let packets = result.map_err(Stop::integrity)?;
        played.decrypted.push(index as u32);
        host.report(&Event::Decrypted {
            segment: index as u32,
        });
        Ok(packets)
    }
}

fn to_ticks_us(us: u64, timescale: u32) -> i64 {
    i64::try_from(u128::from(us) * u128::from(timescale) / 1_000_000).unwrap_or(i64::MAX)
}

fn ticks_to_us(ticks: i64, timescale: u32) -> i64 {
    let us = i128::from(ticks) * 1_000_000 / i128::from(timescale);
    i64::try_from(us).unwrap_or(if us < 0 { i64::MIN } else { i64::MAX })
}

/// One track's packets still to decode: the segments left to decrypt (from the one a start or
/// seek needs) and the packets of the segment open now, wiped when dropped or discarded.
struct Queue {
    track: usize,
    timescale: u32,
    /// Decrypt from a keyframe segment (video) or from the segment holding the start (audio).
    keyframe: bool,
    segments: Vec<usize>,
    next_segment: usize,
    packets: VecDeque<Packet>,
}

impl Queue {
    fn new(header: &Header, track: usize, keyframe: bool, start_us: u64) -> Self {
        let mut q = Self {
            track,
            timescale: header.tracks[track].timescale,
            keyframe,
            segments: Vec::new(),
            next_segment: 0,
            packets: VecDeque::new(),
        };
        q.restart(header, start_us);
        q
    }

    /// Drops what is queued and starts again from the segment `start_us` needs.
    fn restart(&mut self, header: &Header, start_us: u64) {
        self.wipe();
        let start = to_ticks_us(start_us, self.timescale);
        self.segments = segments_from(header, self.track, start, self.keyframe);
        self.next_segment = 0;
    }

    fn wipe(&mut self) {
        for p in self.packets.iter_mut() {
            p.data.zeroize();
        }
        self.packets.clear();
    }

    /// The presentation time (µs) of the next packet, or of the next segment's start when
    /// none is open; `None` at the track's end.
    fn next_us(&self, header: &Header) -> Option<i64> {
        let ticks = match self.packets.front() {
            Some(p) => p.pts,
            None => header.segments[*self.segments.get(self.next_segment)?].pts,
        };
        Some(ticks_to_us(ticks, self.timescale))
    }

    /// The next packet, decrypting the next segment when none is open; `None` at the end.
    fn pop<H: Host, S: ByteSource>(
        &mut self,
        host: &mut H,
        opened: &mut Opened<'_, S>,
        played: &mut Played,
    ) -> Result<Option<Packet>, Stop> {
        while self.packets.is_empty() {
            let Some(&index) = self.segments.get(self.next_segment) else {
                return Ok(None);
            };
            self.next_segment += 1;
            self.packets = opened.open(host, index, played)?.into();
        }
        Ok(self.packets.pop_front())
    }

    fn at_end(&self) -> bool {
        self.packets.is_empty() && self.next_segment >= self.segments.len()
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        self.wipe();
    }
}

/// A track being played: the packets still to decode, and what decodes and presents them.
struct Lane {
    queue: Queue,
    media: Box<dyn Media>,
    kind: TrackKind,
    /// Frames presented (audio: one sample per channel).
    presented: u64,
}

impl Lane {
    /// Starts again from `to_us`: the queue from the segment it needs, a reset decoder, and
    /// nothing presented before it.
    fn seek(&mut self, header: &Header, to_us: u64) -> Result<(), Stop> {
        self.queue.restart(header, to_us);
        self.media.restart(to_us)
    }
}

/// A track's decoder and presentation.
trait Media {
    /// Readies to decode from a segment start and present from `to_us` on.
    fn restart(&mut self, to_us: u64) -> Result<(), Stop>;
    /// Decodes `packet` and presents what is ready: the frames presented.
    fn decode(&mut self, host: &mut dyn Host, packet: Packet) -> Result<u64, Stop>;
    /// Once the track has no more packets: presents what the decoder still holds.
    fn finish(&mut self, _host: &mut dyn Host) -> Result<u64, Stop> {
        Ok(0)
    }
}

/// The audio track's decoder and where presentation starts.
struct Audio {
    timescale: u32,
    decoder: Box<dyn symphonia::core::codecs::Decoder>,
    sample_rate: u32,
    channels: usize,
    /// Samples before this (track timescale) are decoded but not presented.
    start: i64,
    out: Option<SampleBuffer<f32>>,
}

impl Audio {
    fn lane<H: Host>(
        host: &mut H,
        header: &Header,
        track: usize,
        start_us: u64,
    ) -> Result<Lane, Stop> {
        let t = &header.tracks[track];
        let unsupported = |m: String| Stop::new(StopKind::Unsupported, m);
        let decoder = make_decoder(t).map_err(|e| unsupported(e.to_string()))?;
        if t.sample_rate == 0 || t.channels == 0 || t.timescale == 0 {
            return Err(unsupported("audio track without rate or channels".into()));
        }
        host.report(&Event::Audio {
            codec: t.codec.clone(),
            sample_rate: t.sample_rate,
            channels: t.channels,
        });
        Ok(Lane {
            queue: Queue::new(header, track, false, start_us),
            kind: TrackKind::Audio,
            presented: 0,
            media: Box::new(Self {
                timescale: t.timescale,
                decoder,
                sample_rate: t.sample_rate,
                channels: usize::from(t.channels),
                start: to_ticks_us(start_us, t.timescale),
                out: None,
            }),
        })
    }
}

impl Media for Audio {
    fn restart(&mut self, to_us: u64) -> Result<(), Stop> {
        self.decoder.reset();
        self.start = to_ticks_us(to_us, self.timescale);
        Ok(())
    }

    /// Presents the packet's samples from the start time on.
    fn decode(&mut self, host: &mut dyn Host, mut packet: Packet) -> Result<u64, Stop> {
        let unsupported = |m: String| Stop::new(StopKind::Unsupported, m);
        let result = self.decoder.decode(&to_symphonia_packet(0, &packet));
        packet.data.zeroize();
        let decoded = match result {
            Ok(d) => d,
            // A damaged frame is skipped, as players do; the segment itself authenticated.
            Err(symphonia::core::errors::Error::DecodeError(_)) => return Ok(0),
            Err(e) => return Err(unsupported(format!("audio decoder: {e}"))),
        };
        let channels = self.channels;
        if decoded.spec().channels.count() != channels {
            return Err(unsupported("the decoder's channel count changed".into()));
        }
        let needed = decoded.capacity() as u64;
        if self
            .out
            .as_ref()
            .is_none_or(|b| (b.capacity() as u64) < needed * channels as u64)
        {
            self.out = Some(SampleBuffer::new(needed, *decoded.spec()));
        }
        let sb = self.out.as_mut().expect("allocated above");
        sb.copy_interleaved_ref(decoded);
        let samples = sb.samples();
        // Drop what lies before the start (and encoder priming, at negative times).
        let timescale = self.timescale;
        let skip_ticks = (self.start - packet.pts).max(0);
        let skip_frames = usize::try_from(
            i128::from(skip_ticks) * i128::from(self.sample_rate) / i128::from(timescale),
        )
        .unwrap_or(usize::MAX)
        .min(samples.len() / channels);
        let kept = &samples[skip_frames * channels..];
        if kept.is_empty() {
            return Ok(0);
        }
        let pts_us = ticks_to_us(packet.pts, timescale)
            + i64::try_from(skip_frames as u64 * 1_000_000 / u64::from(self.sample_rate))
                .unwrap_or(i64::MAX);
        host.present_audio(kept, pts_us)?;
        Ok((kept.len() / channels) as u64)
    }
}

/// The AV1 configuration OBUs of a track's codec private data: the sequence header OBUs as the
/// packager writes them, or the OBUs after an `av1C` record's four-byte head.
fn config_obus(codec_private: &[u8]) -> &[u8] {
    match codec_private {
        // av1C: marker bit and version 1 in the first byte.
        [0x81, _, _, _, rest @ ..] => rest,
        obus => obus,
    }
}

/// The video track's decoder (a fresh one after every seek) and the frames it presents from
/// the start time on, announcing the picture format before the first frame and again whenever
/// it changes.
struct Video {
    timescale: u32,
    decoder: Av1Decoder,
    codec: String,
    config: Vec<u8>,
    frame_rate: (u32, u32),
    /// Frames before this (track timescale) are decoded but not presented.
    start: i64,
    announced: Option<(u32, u32)>,
    planes: Vec<u8>,
}

fn decode_err(e: av1::Av1Error) -> Stop {
    Stop::new(StopKind::Unsupported, format!("video decoder: {e}"))
}

impl Video {
    fn lane(header: &Header, track: usize, start_us: u64) -> Result<Lane, Stop> {
        let t = &header.tracks[track];
        let unsupported = |m: String| Stop::new(StopKind::Unsupported, m);
        if t.codec != "av1" {
            return Err(unsupported(format!("video codec {}", t.codec)));
        }
        if t.timescale == 0 {
            return Err(unsupported("video track without a timescale".into()));
        }
        let mut video = Self {
            timescale: t.timescale,
            decoder: Av1Decoder::new().map_err(decode_err)?,
            codec: t.codec.clone(),
            config: config_obus(&t.codec_private).to_vec(),
            frame_rate: (t.frame_rate_num, t.frame_rate_den),
            start: 0,
            announced: None,
            planes: Vec::new(),
        };
        video.begin(start_us)?;
        Ok(Lane {
            queue: Queue::new(header, track, true, start_us),
            media: Box::new(video),
            kind: TrackKind::Video,
            presented: 0,
        })
    }

    /// Readies the decoder to decode from a keyframe and present from `start_us`.
    fn begin(&mut self, start_us: u64) -> Result<(), Stop> {
        self.start = to_ticks_us(start_us, self.timescale);
        if !self.config.is_empty() {
            self.decoder
                .send(&self.config, self.start)
                .map_err(decode_err)?;
        }
        Ok(())
    }

    /// Presents the frames the decoder has ready: how many.
    fn present(&mut self, host: &mut dyn Host) -> Result<u64, Stop> {
        let mut presented = 0;
        while let Some(picture) = self.decoder.picture() {
            if picture.pts() < self.start {
                continue;
            }
            let size = (picture.width(), picture.height());
            if self.announced != Some(size) {
                host.report(&Event::Video {
                    codec: self.codec.clone(),
                    width: size.0,
                    height: size.1,
                    frame_rate_num: self.frame_rate.0,
                    frame_rate_den: self.frame_rate.1,
                });
                self.announced = Some(size);
            }
            picture.write_packed(&mut self.planes);
            let pts_us = ticks_to_us(picture.pts(), self.timescale);
            drop(picture);
            host.present_video(&self.planes, pts_us)?;
            presented += 1;
        }
        Ok(presented)
    }
}

impl Media for Video {
    fn restart(&mut self, to_us: u64) -> Result<(), Stop> {
        self.decoder = Av1Decoder::new().map_err(decode_err)?;
        self.begin(to_us)
    }

    /// Decodes the packet and presents the frames ready.
    fn decode(&mut self, host: &mut dyn Host, mut packet: Packet) -> Result<u64, Stop> {
        let sent = self.decoder.send(&packet.data, packet.pts);
        packet.data.zeroize();
        sent.map_err(decode_err)?;
        self.present(host)
    }

    fn finish(&mut self, host: &mut dyn Host) -> Result<u64, Stop> {
        self.decoder.finish().map_err(decode_err)?;
        self.present(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use licence_net_protocol::Address;
    use packager_format::SEGMENT_KEYFRAME;

    fn policy(play_until: Option<u64>, renew_after: u64) -> LicencePolicy {
        LicencePolicy {
            account: Address::repeat_byte(1),
            content_id: U256::from(7u64),
            access: if play_until.is_some() {
                AccessKind::Timed
            } else {
                AccessKind::Perpetual
            },
            play_until,
            renew_after,
            issued_at: 1_000,
            block_number: 5,
        }
    }

    #[test]
    fn a_rental_stops_at_its_end_by_the_host_clock() {
        check_time(&policy(None, 9), u64::MAX).unwrap();
        check_time(&policy(Some(2_000), 9), 1_999).unwrap();
        let stop = check_time(&policy(Some(2_000), 9), 2_000).unwrap_err();
        assert_eq!(stop.kind, StopKind::RentalExpired);
    }

    #[test]
    fn segments_start_at_the_one_holding_the_start_time() {
        let seg = |track: u32, pts: i64, key: bool| SegmentEntry {
            track,
            offset: 0,
            size: 16,
            pts,
            duration: 100,
            flags: if key { SEGMENT_KEYFRAME } else { 0 },
        };
        let header = Header {
            salt: vec![0; 32],
            creator_account: [0xC1; 20],
            kind: packager_format::ContentKind::Media,
            metadata: Default::default(),
            tracks: Vec::new(),
            renderers: Vec::new(),
            key: packager_format::KeyEnvelope {
                scheme: KEY_SCHEME_LABELLED_BLS12_381,
                group_key_id: vec![0; 32],
                ciphertext: Vec::new(),
            },
            // Interleaved: video (track 0) keyframes every other segment, audio (track 1).
            segments: vec![
                seg(0, 0, true),
                seg(1, 0, true),
                seg(0, 100, false),
                seg(1, 100, true),
                seg(0, 200, true),
                seg(1, 200, true),
                seg(0, 300, false),
                seg(1, 300, true),
            ],
        };
        assert_eq!(segments_from(&header, 1, 0, false), vec![1, 3, 5, 7]);
        assert_eq!(segments_from(&header, 1, 250, false), vec![5, 7]);
        assert_eq!(segments_from(&header, 0, 150, true), vec![0, 2, 4, 6]);
        assert_eq!(segments_from(&header, 0, 350, true), vec![4, 6]);
        assert_eq!(segments_from(&header, 0, 350, false), vec![6]);
    }

    #[test]
    fn the_most_restrictive_policy_wins() {
        let r = |p: LicencePolicy| LicenceResponse {
            node_index: 0,
            request_hash: B256::ZERO,
            sealed_share: licence_net_protocol::SealedShare {
                ephemeral_key: B256::ZERO,
                ciphertext: Default::default(),
            },
            policy: p,
            signature: Default::default(),
        };
        let (a, b, c) = (
            r(policy(None, 50)),
            r(policy(Some(900), 70)),
            r(policy(Some(800), 90)),
        );
        let p = most_restrictive(&[&a, &b, &c]);
        assert_eq!(p.play_until, Some(800));
        assert_eq!(p.renew_after, 50);
        assert_eq!(p.access, AccessKind::Timed);
    }
}
