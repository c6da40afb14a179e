//! `play`: everything between a `.ddrm` and decoded output, on the host side. Checks the capsule
//! (bytes, manifest signature, chain), runs it with the licence network behind the `ddrm`
//! imports, writes what it presents to temporary files and renames them into place only when
//! playback ended well: a refusal leaves no output file.

use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contracts_bindings::{Chain, Deployment};
use ddrm_capsule::wire::{BadShare, Event, PlayParams, StopKind};
use licence_net_client::{ClientError, Gathered, LicenceClient, NodeProblem};
use licence_net_protocol::{
    address_of, GroupKey, LicenceAsk, LicencePolicy, LicenceResponse, ShareFault, U256,
};
use packager_format::{ByteSource, Container};

use crate::capsule_host::{LicenceGate, Presenter, Session};
use crate::runtime::RuntimeKey;
use crate::verify::{check_on_chain, verify_package};
use crate::{CapsulePackage, Host, PlayError, RunLimits};

/// Time allowed to each licence node.
pub const NODE_TIMEOUT: Duration = Duration::from_secs(5);

/// What to play and with what.
pub struct PlayOptions {
    /// The `.ddrm` bytes (a file, or a store reader by CID).
    pub source: Box<dyn ByteSource + Send>,
    pub wallet: k256::ecdsa::SigningKey,
    pub runtime: Arc<RuntimeKey>,
    pub rpc: String,
    pub deployment: Deployment,
    pub group_key: GroupKey,
    pub licence_nodes: Vec<String>,
    pub audio_out: Option<PathBuf>,
    pub video_out: Option<PathBuf>,
    /// Where to start, from the beginning of the content.
    pub start: Duration,
    pub capsule: CapsulePackage,
    pub limits: RunLimits,
    /// Called once, when the capsule presents its first sample or frame (e.g. to tell the
    /// user playback began).
    pub on_first_output: Option<Box<dyn FnOnce() + Send>>,
}

/// A wallet key from hex (64 digits, optionally `0x`); the intermediate bytes are wiped.
pub fn wallet_key_from_hex(text: &str) -> Result<k256::ecdsa::SigningKey, PlayError> {
    let text = text.trim();
    let bytes = zeroize::Zeroizing::new(
        hex::decode(text.strip_prefix("0x").unwrap_or(text))
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| PlayError::BadInput("a wallet key is 64 hex digits".into()))?,
    );
    k256::ecdsa::SigningKey::from_slice(&bytes)
        .map_err(|_| PlayError::BadInput("the wallet key is not a valid secp256k1 key".into()))
}

/// What was played.
#[derive(Debug, Clone)]
pub struct PlayReport {
    pub title: String,
    pub content_id: U256,
    pub policy: LicencePolicy,
    /// Nodes whose shares the capsule combined.
    pub nodes: Vec<u32>,
    /// Nodes whose shares the capsule rejected.
    pub bad_shares: Vec<BadShare>,
    /// Segment indices the capsule decrypted, in order.
    pub decrypted: Vec<u32>,
    pub audio_frames: u64,
    pub sample_rate: u32,
    pub channels: u16,
    pub video_frames: u64,
    pub audio_out: Option<PathBuf>,
    pub video_out: Option<PathBuf>,
}

impl PlayReport {
    /// What was played and under which licence, for people.
    pub fn describe(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let p = &self.policy;
        let _ = writeln!(
            out,
            "played {:?} (content {:#x})",
            self.title, self.content_id
        );
        let terms = match p.play_until {
            Some(until) => format!("timed access, playable until {until} (unix seconds)"),
            None => "perpetual access".to_string(),
        };
        let _ = writeln!(
            out,
            "licence: {terms}; account {}; renew after {}; read at block {}",
            p.account, p.renew_after, p.block_number
        );
        let _ = writeln!(out, "shares from licence nodes {:?}", self.nodes);
        for bad in &self.bad_shares {
            let _ = writeln!(
                out,
                "rejected share from node {}: {:?}",
                bad.node_index, bad.fault
            );
        }
        if let Some(path) = &self.audio_out {
            let secs = self.audio_frames as f64 / f64::from(self.sample_rate.max(1));
            let _ = writeln!(
                out,
                "audio: {:.2} s, {} Hz, {} channels -> {}",
                secs,
                self.sample_rate,
                self.channels,
                path.display()
            );
        }
        if let Some(path) = &self.video_out {
            let _ = writeln!(
                out,
                "video: {} frames -> {}",
                self.video_frames,
                path.display()
            );
        }
        let _ = writeln!(out, "segments decrypted: {}", self.decrypted.len());
        out
    }
}

/// Plays `opts.source`. Must run on a multi-threaded tokio runtime: the capsule runs on this
/// thread (`block_in_place`) while the licence requests it makes run on the runtime.
pub async fn play(host: &Host, opts: PlayOptions) -> Result<PlayReport, PlayError> {
    let verified = verify_package(&opts.capsule)?;
    let PlayOptions {
        source,
        wallet,
        runtime,
        rpc,
        deployment,
        group_key,
        licence_nodes,
        audio_out,
        video_out,
        start,
        limits,
        on_first_output,
        ..
    } = opts;
    // The source may block on the runtime (a store read): keep it off the async path.
    let container = tokio::task::block_in_place(|| Container::open(BoxSource(source)))
        .map_err(|e| PlayError::Integrity(e.to_string()))?;
    let content_id = U256::from_be_bytes(container.content_id().0);
    let title = container.header().metadata.title.clone();
    let chain = tokio::time::timeout(
        crate::verify::CHAIN_READ_TIMEOUT,
        Chain::connect(&rpc, None),
    )
    .await
    .map_err(|_| PlayError::Chain(format!("{rpc}: no answer")))?
    .map_err(|e| PlayError::Chain(e.to_string()))?;
    deployment
        .check_chain(&chain)
        .map_err(|e| PlayError::Chain(e.to_string()))?;
    check_on_chain(&chain, &deployment, &verified, content_id).await?;
    let module = host.capsule_module(&verified)?;

    let outputs = Arc::new(Mutex::new(Outputs::new(
        audio_out.as_deref(),
        video_out.as_deref(),
    )?));
    let account = address_of(wallet.verifying_key());
    let params = PlayParams {
        chain_id: deployment.chain_id,
        access_contract: deployment.contracts.access,
        account,
        group_key: group_key.to_json(),
        start_ms: u64::try_from(start.as_millis()).unwrap_or(u64::MAX),
        audio: audio_out.is_some(),
        video: video_out.is_some(),
    };
    let client = LicenceClient::new(licence_nodes, group_key, NODE_TIMEOUT)
        .map_err(|e| PlayError::BadInput(e.to_string()))?;
    let gate = NetworkGate::new(client);
    let session = Session {
        source: container.into_source().0,
        params,
        measurement: verified.measurement,
        runtime,
        wallet,
        gate: Box::new(gate),
        presenter: Box::new(SharedOutputs {
            outputs: outputs.clone(),
            on_first_output,
        }),
    };
    let outcome = tokio::task::block_in_place(|| host.run_capsule(&module, session, &limits));
    let outs = Arc::try_unwrap(outputs)
        .map_err(|_| PlayError::Output("outputs still in use".into()))?
        .into_inner()
        .map_err(|_| PlayError::Output("output lock poisoned".into()))?;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            outs.discard();
            return Err(e);
        }
    };
    if outcome.code != 0 {
        outs.discard();
        let err = stop_error(outcome.failure, outcome.stopped);
        if let PlayError::NoAccess(why) = &err {
            if let Some(expired) = rental_expiry(&chain, &deployment, account, content_id).await {
                return Err(PlayError::RentalExpired(format!(
                    "timed access of {account} ended at {expired} (unix seconds); {why}"
                )));
            }
        }
        return Err(err);
    }
    let Some((policy, nodes, bad_shares)) = outcome.licensed else {
        outs.discard();
        return Err(PlayError::Capsule(
            "the capsule played without a licence".into(),
        ));
    };
    let (audio_frames, video_frames) = (outs.audio_frames, outs.video_frames);
    let (sample_rate, channels) = (outs.sample_rate, outs.channels);
    let (audio_out, video_out) = outs.commit()?;
    Ok(PlayReport {
        title,
        content_id,
        policy,
        nodes,
        bad_shares,
        decrypted: outcome.decrypted,
        audio_frames,
        sample_rate,
        channels,
        video_frames,
        audio_out,
        video_out,
    })
}

/// When the nodes said "no access": the end of `account`'s timed access if it had one that has
/// passed (by the chain's clock), to name the cause. `None` when it never had one or the chain
/// cannot tell within the timeout.
async fn rental_expiry(
    chain: &Chain,
    deployment: &Deployment,
    account: licence_net_protocol::Address,
    content: U256,
) -> Option<u64> {
    use alloy::providers::Provider;
    let access =
        contracts_bindings::bindings::Access::new(deployment.contracts.access, &chain.provider);
    let read = async {
        let until = access.expiresAt(account, content).call().await.ok()?;
        let block = chain
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .ok()??;
        let now = block.header.timestamp;
        (until != 0 && until <= now).then_some(until)
    };
    tokio::time::timeout(crate::verify::CHAIN_READ_TIMEOUT, read)
        .await
        .ok()
        .flatten()
}

/// A boxed byte source as a [`ByteSource`].
struct BoxSource(Box<dyn ByteSource + Send>);

impl ByteSource for BoxSource {
    fn len(&mut self) -> io::Result<u64> {
        self.0.len()
    }
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_exact_at(offset, buf)
    }
}

/// The error for a run that did not finish: the host's own cause first, else the capsule's.
fn stop_error(failure: Option<PlayError>, stopped: Option<(StopKind, String)>) -> PlayError {
    if let Some(f) = failure {
        return f;
    }
    match stopped {
        Some((StopKind::Integrity, m)) => PlayError::Integrity(m),
        Some((StopKind::RentalExpired, m)) => PlayError::RentalExpired(m),
        Some((StopKind::NotEnoughShares, m)) => PlayError::NotEnoughNodes(m),
        Some((StopKind::BadInput, m)) => PlayError::BadInput(m),
        Some((StopKind::Unsupported, m)) => PlayError::Unsupported(m),
        Some((StopKind::Host, m)) => PlayError::Capsule(m),
        None => PlayError::Capsule("the capsule stopped without saying why".into()),
    }
}

/// The licence network behind the `licence_ask` / `licence_more` imports.
pub struct NetworkGate {
    client: LicenceClient,
    handle: tokio::runtime::Handle,
    gathered: Option<Gathered>,
}

impl NetworkGate {
    /// A gate over `client`, blocking on the current tokio runtime from the capsule's thread.
    pub fn new(client: LicenceClient) -> Self {
        Self {
            client,
            handle: tokio::runtime::Handle::current(),
            gathered: None,
        }
    }
}

fn client_error(e: ClientError) -> PlayError {
    let text = e.to_string();
    match &e {
        ClientError::NotEnough {
            failures,
            answered,
            needed,
            ..
        } => {
            let refused = |code: &str| {
                failures.iter().any(
                    |f| matches!(&f.problem, NodeProblem::Refused { code: c, .. } if c == code),
                )
            };
            if refused("no_access") {
                PlayError::NoAccess(text)
            } else if answered < needed {
                PlayError::NotEnoughNodes(text)
            } else {
                PlayError::LicenceRefused(text)
            }
        }
        _ => PlayError::LicenceRefused(text),
    }
}

impl LicenceGate for NetworkGate {
    fn ask(&mut self, ask: &LicenceAsk) -> Result<Vec<LicenceResponse>, PlayError> {
        let gathered = self
            .handle
            .block_on(self.client.gather(ask))
            .map_err(client_error)?;
        let responses = gathered.responses.clone();
        self.gathered = Some(gathered);
        Ok(responses)
    }

    fn more(&mut self, bad: &[ShareFault]) -> Result<Vec<LicenceResponse>, PlayError> {
        let gathered = self
            .gathered
            .as_mut()
            .ok_or_else(|| PlayError::Capsule("asked for more shares before asking".into()))?;
        gathered.report(bad);
        self.handle.block_on(gathered.rest());
        if gathered.responses.len() < gathered.needed {
            let failures = gathered
                .failures
                .iter()
                .map(|f| format!("\n  - {f}"))
                .collect::<String>();
            return Err(PlayError::NotEnoughNodes(format!(
                "{} usable shares of {} needed{failures}",
                gathered.responses.len(),
                gathered.needed
            )));
        }
        Ok(gathered.responses.clone())
    }
}

struct SharedOutputs {
    outputs: Arc<Mutex<Outputs>>,
    on_first_output: Option<Box<dyn FnOnce() + Send>>,
}

impl SharedOutputs {
    fn presented(&mut self) {
        if let Some(tell) = self.on_first_output.take() {
            tell();
        }
    }
}

impl Presenter for SharedOutputs {
    fn audio(&mut self, interleaved: &[f32]) -> io::Result<()> {
        self.outputs
            .lock()
            .expect("outputs lock")
            .audio(interleaved)?;
        self.presented();
        Ok(())
    }
    fn video(&mut self, planes: &[u8], pts_us: i64) -> io::Result<()> {
        self.outputs
            .lock()
            .expect("outputs lock")
            .video(planes, pts_us)?;
        self.presented();
        Ok(())
    }
    fn event(&mut self, event: &Event) {
        self.outputs.lock().expect("outputs lock").event(event)
    }
}

/// Output files, written to temporary files beside their destination.
struct Outputs {
    audio: Option<(tempfile::NamedTempFile, PathBuf)>,
    video: Option<(tempfile::NamedTempFile, PathBuf)>,
    audio_started: bool,
    video_header: Option<String>,
    video_frame_len: usize,
    sample_rate: u32,
    channels: u16,
    audio_frames: u64,
    video_frames: u64,
}

fn temp_beside(path: &Path) -> Result<(tempfile::NamedTempFile, PathBuf), PlayError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file = tempfile::Builder::new()
        .prefix(".ddrm-play-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| PlayError::Output(format!("{}: {e}", path.display())))?;
    Ok((file, path.to_path_buf()))
}

/// Size of the WAV header written before the samples (RIFF + fmt with extension size + data).
const WAV_HEADER: u64 = 46;

impl Outputs {
    fn new(audio: Option<&Path>, video: Option<&Path>) -> Result<Self, PlayError> {
        Ok(Self {
            audio: audio.map(temp_beside).transpose()?,
            video: video.map(temp_beside).transpose()?,
            audio_started: false,
            video_header: None,
            video_frame_len: 0,
            sample_rate: 0,
            channels: 0,
            audio_frames: 0,
            video_frames: 0,
        })
    }

    fn event(&mut self, event: &Event) {
        match event {
            Event::Audio {
                sample_rate,
                channels,
                ..
            } => {
                self.sample_rate = *sample_rate;
                self.channels = *channels;
            }
            Event::Video {
                width,
                height,
                frame_rate_num,
                frame_rate_den,
                ..
            } => {
                self.video_header = Some(format!(
                    "YUV4MPEG2 W{width} H{height} F{frame_rate_num}:{frame_rate_den} Ip A1:1 C420jpeg\n"
                ));
                let (w, h) = (*width as usize, *height as usize);
                self.video_frame_len = w * h + 2 * (w.div_ceil(2) * h.div_ceil(2));
            }
            _ => {}
        }
    }

    fn audio(&mut self, interleaved: &[f32]) -> io::Result<()> {
        let Some((file, _)) = self.audio.as_mut() else {
            return Err(io::Error::other("no audio output was asked for"));
        };
        if self.channels == 0 {
            return Err(io::Error::other("audio before its format"));
        }
        if !self.audio_started {
            file.write_all(&[0u8; WAV_HEADER as usize])?;
            self.audio_started = true;
        }
        let mut bytes = Vec::with_capacity(interleaved.len() * 4);
        for s in interleaved {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        file.write_all(&bytes)?;
        self.audio_frames += (interleaved.len() / usize::from(self.channels)) as u64;
        Ok(())
    }

    fn video(&mut self, planes: &[u8], _pts_us: i64) -> io::Result<()> {
        let (Some((file, _)), Some(header)) = (self.video.as_mut(), self.video_header.as_ref())
        else {
            return Err(io::Error::other(
                "video without an output or before its format",
            ));
        };
        if planes.len() != self.video_frame_len {
            return Err(io::Error::other("a video frame of the wrong size"));
        }
        if self.video_frames == 0 {
            file.write_all(header.as_bytes())?;
        }
        file.write_all(b"FRAME\n")?;
        file.write_all(planes)?;
        self.video_frames += 1;
        Ok(())
    }

    /// Drops the temporary files: nothing is left behind.
    fn discard(self) {}

    /// Finishes the files and renames them into place.
    fn commit(mut self) -> Result<(Option<PathBuf>, Option<PathBuf>), PlayError> {
        let out = |e: io::Error| PlayError::Output(e.to_string());
        if let Some((file, _)) = self.audio.as_mut() {
            if !self.audio_started {
                return Err(PlayError::Unsupported(
                    "the content has no audio to write".into(),
                ));
            }
            let f = file.as_file_mut();
            let data_len = f.seek(SeekFrom::End(0)).map_err(out)? - WAV_HEADER;
            f.seek(SeekFrom::Start(0)).map_err(out)?;
            f.write_all(&wav_header(self.sample_rate, self.channels, data_len))
                .map_err(out)?;
            f.sync_all().map_err(out)?;
        }
        if let Some((file, _)) = self.video.as_mut() {
            if self.video_frames == 0 {
                return Err(PlayError::Unsupported(
                    "the content has no video to write".into(),
                ));
            }
            file.as_file_mut().sync_all().map_err(out)?;
        }
        let persist = |slot: Option<(tempfile::NamedTempFile, PathBuf)>| {
            slot.map(|(file, path)| {
                file.persist(&path)
                    .map(|_| path.clone())
                    .map_err(|e| PlayError::Output(format!("{}: {}", path.display(), e.error)))
            })
            .transpose()
        };
        Ok((persist(self.audio.take())?, persist(self.video.take())?))
    }
}

/// A WAV header for 32-bit float samples (WAVE_FORMAT_IEEE_FLOAT, with the fact-less 18-byte
/// `fmt ` chunk).
fn wav_header(rate: u32, channels: u16, data_len: u64) -> [u8; WAV_HEADER as usize] {
    let data_len = u32::try_from(data_len).unwrap_or(u32::MAX);
    let block_align = channels * 4;
    let mut h = [0u8; WAV_HEADER as usize];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(data_len.saturating_add(WAV_HEADER as u32 - 8)).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&18u32.to_le_bytes());
    h[20..22].copy_from_slice(&3u16.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&32u16.to_le_bytes());
    h[36..38].copy_from_slice(&0u16.to_le_bytes());
    h[38..42].copy_from_slice(b"data");
    h[42..46].copy_from_slice(&data_len.to_le_bytes());
    h
}

/// A `.ddrm` in a content store, read by byte range as the capsule asks (never whole).
pub struct StoreSource {
    store: Arc<dyn packager_store::ContentStore>,
    cid: packager_store::Cid,
    size: u64,
    handle: tokio::runtime::Handle,
}

impl StoreSource {
    /// Looks the file up in `store`. Reads block on `handle`'s runtime, so they must happen
    /// outside async code (as `play` arranges).
    pub async fn open(
        store: Arc<dyn packager_store::ContentStore>,
        cid: packager_store::Cid,
    ) -> Result<Self, PlayError> {
        let stat = store
            .stat(cid)
            .await
            .map_err(|e| PlayError::Source(format!("{cid}: {e}")))?;
        Ok(Self {
            store,
            cid,
            size: stat.size,
            handle: tokio::runtime::Handle::current(),
        })
    }
}

impl ByteSource for StoreSource {
    fn len(&mut self) -> io::Result<u64> {
        Ok(self.size)
    }

    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let range = packager_store::ByteRange {
            offset,
            length: Some(buf.len() as u64),
        };
        let bytes = self
            .handle
            .block_on(self.store.cat_to_vec(self.cid, range))
            .map_err(io::Error::other)?;
        if bytes.len() != buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{}: short read at {offset}", self.cid),
            ));
        }
        buf.copy_from_slice(&bytes);
        Ok(())
    }
}
