//! Real components for capsule tests: a clip made by the ffmpeg CLI, packaged by the real
//! packager to a freshly dealt 3-of-5 group key, and a [`Host`] whose licence answers are
//! issued in process with the real key shares and operator keys (the node's own issuing code),
//! so the capsule recovers the content key exactly as it does against a network.

use std::path::{Path, PathBuf};

use ddrm_capsule::av1::{Av1Decoder, Picture};
use ddrm_capsule::session::{segments_from, Host, Stop};
use ddrm_capsule::wire::{AskDraft, BadShare, Control, Event, PlayParams};
use k256::ecdsa::SigningKey;
use licence_net_protocol::threshold_crypto::SecretKeySet;
use licence_net_protocol::{
    address_of, AccessKind, Address, Attestation, GroupKey, LicencePolicy, LicenceResponse,
    PreparedCiphertext, B256,
};
use packager::PackageOptions;
use packager_format::{decode_packets, Container, ContentKey, Packet, TrackKind};
use tests::media::ffmpeg_decode_av1;

/// The account named as creator of every clip packaged here.
pub const CREATOR: Address = Address::repeat_byte(0xC1);
pub const NODES: usize = 5;
pub const THRESHOLD: usize = 3;
pub const WIDTH: usize = 320;
pub const HEIGHT: usize = 240;
pub const FPS: u32 = tests::media::CLIP_FPS;
pub const SECONDS: u32 = 3;

/// The licence network's keys, dealt in process.
pub struct Network {
    pub group: GroupKey,
    shares: SecretKeySet,
    operators: Vec<SigningKey>,
}

impl Network {
    pub fn deal() -> Self {
        let shares = SecretKeySet::random(THRESHOLD - 1, &mut rand07::rngs::OsRng);
        let operators: Vec<SigningKey> = (0..NODES)
            .map(|_| SigningKey::random(&mut rand_core::OsRng))
            .collect();
        let group = GroupKey::new(
            shares.public_keys(),
            NODES,
            THRESHOLD,
            operators
                .iter()
                .map(|k| address_of(k.verifying_key()))
                .collect(),
        )
        .expect("a consistent group");
        Self {
            group,
            shares,
            operators,
        }
    }

    /// What nodes `0..THRESHOLD` answer to `draft` for `account` under `policy`.
    fn answer(&self, draft: &AskDraft, policy: &LicencePolicy) -> Vec<LicenceResponse> {
        let ciphertext =
            PreparedCiphertext::decode(&draft.key_ciphertext, &CREATOR).expect("ciphertext");
        (0..THRESHOLD)
            .map(|i| {
                LicenceResponse::issue(
                    i as u32,
                    &self.shares.secret_key_share(i),
                    &self.operators[i],
                    ciphertext.ciphertext(),
                    draft.fields.signing_hash(),
                    &draft.fields.capsule_key,
                    policy.clone(),
                )
                .expect("issues")
            })
            .collect()
    }
}

/// A packaged test clip.
pub struct Clip {
    pub dir: tempfile::TempDir,
    pub network: Network,
    pub ddrm: PathBuf,
    pub key: ContentKey,
}

impl Clip {
    /// `SECONDS` s of `testsrc2` at `WIDTH`×`HEIGHT`, `FPS` fps, packaged (video becomes AV1).
    pub fn make() -> Self {
        Self::make_sized(WIDTH, HEIGHT, SECONDS)
    }

    /// `seconds` s of `testsrc2` at `width`×`height`, `FPS` fps, packaged.
    pub fn make_sized(width: usize, height: usize, seconds: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let source = tests::media::make(
            &dir.path().join("clip.mp4"),
            seconds,
            &format!("{width}x{height}"),
            &[
                "-map", "0:v", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            ],
        );
        let network = Network::deal();
        let ddrm = dir.path().join("clip.ddrm");
        let key_path = dir.path().join("clip.key");
        packager::package(
            &PackageOptions {
                input: source,
                output: ddrm.clone(),
                group_key: network.group.clone(),
                renderers: vec![[7; 32]],
                title: None,
                creator: "tester".into(),
                creator_account: CREATOR,
                as_data: false,
                lossless: false,
                export_key: Some(key_path.clone()),
                description: None,
                thumbnail: None,
                preview: None,
            },
            &mut |_| {},
        )
        .expect("packages");
        let key = ContentKey::from_hex(&std::fs::read_to_string(&key_path).unwrap()).unwrap();
        Self {
            dir,
            network,
            ddrm,
            key,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// FFmpeg's own decoding (libdav1d) of the packaged AV1 track, decrypted by the packager:
    /// the frames, each tightly packed 8-bit 4:2:0.
    pub fn reference_frames(&self) -> Vec<Vec<u8>> {
        let plain = self.path("plain.mkv");
        if !plain.exists() {
            packager::decrypt(&self.ddrm, &self.key, &plain).expect("decrypts");
        }
        ffmpeg_decode_av1(&plain, WIDTH, HEIGHT)
    }
}

/// The clip's video packets in decode order, decrypted with its content key.
pub fn video_packets(clip: &Clip) -> Vec<Packet> {
    let mut unlocked = Container::open(open(&clip.ddrm))
        .unwrap()
        .unlock(&clip.key)
        .unwrap();
    let header = unlocked.header().clone();
    let track = header
        .tracks
        .iter()
        .position(|t| t.kind == TrackKind::Video)
        .expect("a video track");
    let mut buf = Vec::new();
    let mut packets = Vec::new();
    for index in segments_from(&header, track, 0, true) {
        unlocked.segment(index, &mut buf).unwrap();
        packets.extend(decode_packets(&buf).unwrap());
    }
    packets
}

/// Decrypts the clip's video packets and decodes them with the capsule's decoder, handing each
/// picture to `each` in the order the decoder gives them out.
pub fn decode_packaged(clip: &Clip, mut each: impl FnMut(&Picture<'_>)) {
    let mut decoder = Av1Decoder::new().unwrap();
    for packet in video_packets(clip) {
        decoder.send(&packet.data, packet.pts).unwrap();
        while let Some(p) = decoder.picture() {
            each(&p);
        }
    }
    decoder.finish().unwrap();
    while let Some(p) = decoder.picture() {
        each(&p);
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The test host's clock: given the events reported so far, unix seconds.
pub type Clock<'a> = Box<dyn FnMut(&[Event]) -> u64 + 'a>;

/// A host for one native capsule run: real attestation signatures and licence answers, the
/// real clock unless `clock` is set, and a record of everything presented.
pub struct TestHost<'a> {
    network: &'a Network,
    pub params: PlayParams,
    runtime: SigningKey,
    /// Licence policy the nodes grant: `play_until` for rentals.
    pub play_until: Option<u64>,
    pub clock: Clock<'a>,
    pub events: Vec<Event>,
    pub frames: Vec<(Vec<u8>, i64)>,
    pub audio_samples: usize,
}

impl<'a> TestHost<'a> {
    pub fn new(network: &'a Network, start_ms: u64, audio: bool, video: bool) -> Self {
        Self {
            network,
            params: PlayParams {
                chain_id: 31_337,
                access_contract: Address::repeat_byte(0xAC),
                account: Address::repeat_byte(0xB0),
                group_key: network.group.to_json(),
                start_ms,
                audio,
                video,
            },
            runtime: SigningKey::random(&mut rand_core::OsRng),
            play_until: None,
            clock: Box::new(|_| unix_now()),
            events: Vec::new(),
            frames: Vec::new(),
            audio_samples: 0,
        }
    }

    /// Segment indices the capsule reported decrypting, in order.
    pub fn decrypted(&self) -> Vec<u32> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Decrypted { segment } => Some(*segment),
                _ => None,
            })
            .collect()
    }
}

impl Host for TestHost<'_> {
    fn params(&mut self) -> Result<PlayParams, Stop> {
        Ok(self.params.clone())
    }

    fn now(&mut self) -> u64 {
        (self.clock)(&self.events)
    }

    fn attest(&mut self, capsule_key: B256) -> Result<Attestation, Stop> {
        Ok(
            Attestation::sign(&self.runtime, B256::repeat_byte(7), capsule_key, unix_now())
                .unwrap(),
        )
    }

    fn ask(&mut self, draft: &AskDraft) -> Result<Vec<LicenceResponse>, Stop> {
        let policy = LicencePolicy {
            account: self.params.account,
            content_id: draft.fields.content_id,
            access: if self.play_until.is_some() {
                AccessKind::Timed
            } else {
                AccessKind::Perpetual
            },
            play_until: self.play_until,
            renew_after: unix_now() + 3600,
            issued_at: unix_now(),
            block_number: 1,
        };
        Ok(self.network.answer(draft, &policy))
    }

    fn more(&mut self, _bad: &[BadShare]) -> Result<Vec<LicenceResponse>, Stop> {
        panic!("every share issued in process is good; the capsule asked again")
    }

    fn present_audio(&mut self, interleaved: &[f32], _pts_us: i64) -> Result<(), Stop> {
        self.audio_samples += interleaved.len();
        Ok(())
    }

    fn present_video(&mut self, planes: &[u8], pts_us: i64) -> Result<(), Stop> {
        self.frames.push((planes.to_vec(), pts_us));
        Ok(())
    }

    fn control(&mut self, _position_us: i64) -> Result<Control, Stop> {
        Ok(Control::Continue)
    }

    fn report(&mut self, event: &Event) {
        self.events.push(event.clone());
    }
}

/// Opens the `.ddrm` for a session.
pub fn open(path: &Path) -> std::fs::File {
    std::fs::File::open(path).unwrap()
}
