//! `play`: everything between a `.ddrm` and what the capsule presents, on the host side.
//!
//! [`start`] checks the capsule (bytes, manifest signature, chain), then runs it on a thread of
//! its own with the licence network behind the `ddrm` imports and a [`Presenter`] for what it
//! presents, and gives back a [`Playing`]: its [`Controller`] (pause, resume, seek, stop from
//! any thread or task) and its end ([`Playing::finished`], awaited without blocking the
//! runtime). [`play`] is `ddrm play`'s file outputs over it: what the capsule presents is
//! written to temporary files, renamed into place only when playback ended well, so a refusal
//! leaves no output file.
//!
//! [`gate`]: the licence network behind the capsule's licence imports; [`outputs`]: the WAV and
//! Y4M files a play writes (temporary until it ends well); [`source`]: a `.ddrm` read from a
//! content store by byte range.

mod gate;
mod outputs;
mod source;

pub use gate::NetworkGate;
use outputs::{Outputs, SharedOutputs};
pub use source::StoreSource;

use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contracts_bindings::{Chain, Deployment};
use ddrm_capsule::wire::{BadShare, Event, PlayParams, StopKind};
use licence_net_client::{ClientError, Gathered, LicenceClient, NodeProblem};
use licence_net_protocol::{
    address_of, Address, GroupKey, LicenceAsk, LicencePolicy, LicenceResponse, ShareFault, U256,
};
use packager_format::{ByteSource, Container};

use crate::capsule_host::{LicenceGate, Outcome, Presented, Presenter, Session};
use crate::control::Controller;
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
    /// Which tracks to play (a content without one plays the other); [`play`] sets them from
    /// the files asked for.
    pub audio: bool,
    pub video: bool,
    /// Where to start, from the beginning of the content.
    pub start: Duration,
    pub capsule: CapsulePackage,
    pub limits: RunLimits,
}

/// The files [`play`] writes (a test and benchmark tool: playing is presenting, see
/// [`start`]).
#[derive(Default)]
pub struct FileOutputs {
    /// WAV, 32-bit float.
    pub audio_out: Option<PathBuf>,
    /// YUV4MPEG2, 8-bit 4:2:0.
    pub video_out: Option<PathBuf>,
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

/// How a licensed run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    /// It played to the end.
    Finished,
    /// Its [`Controller`] stopped it.
    Stopped,
}

/// What was played.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlayReport {
    pub title: String,
    pub content_id: U256,
    pub ended: Ended,
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
    /// The output device the audio was played on ([`crate::speaker::play_aloud`]).
    pub audio_device: Option<String>,
    /// Frames of silence the device played while the capsule was late.
    pub audio_silence_frames: u64,
}

impl PlayReport {
    /// What was played and under which licence, for people.
    pub fn describe(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let p = &self.policy;
        let _ = writeln!(
            out,
            "{} {:?} (content {:#x})",
            match self.ended {
                Ended::Finished => "played",
                Ended::Stopped => "stopped playing",
            },
            self.title,
            self.content_id
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
        if let Some(device) = &self.audio_device {
            let rate = f64::from(self.sample_rate.max(1));
            let _ = writeln!(
                out,
                "audio: {:.2} s, {} Hz, {} channels played on {device}{}",
                self.audio_frames as f64 / rate,
                self.sample_rate,
                self.channels,
                match self.audio_silence_frames {
                    0 => String::new(),
                    n => format!(
                        " ({:.2} s of silence while the capsule was late)",
                        n as f64 / rate
                    ),
                }
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

/// A capsule session under way: control it with [`Playing::controller`], await its end with
/// [`Playing::finished`]. Dropping it unfinished stops the capsule at its next unit.
pub struct Playing {
    controller: Controller,
    done: Option<tokio::sync::oneshot::Receiver<Result<Outcome, PlayError>>>,
    chain: Chain,
    deployment: Deployment,
    account: Address,
    content_id: U256,
    title: String,
}

/// Starts playing `opts.source` to `presenter`: checks the capsule and the chain here, then
/// runs the capsule on a thread of its own (it blocks on the runtime only from there, for the
/// licence requests and store reads it makes). Needs a tokio runtime whose I/O is driven while
/// the capsule runs (a multi-threaded one, or a current-thread one blocked in `block_on`).
pub async fn start(
    host: Arc<Host>,
    opts: PlayOptions,
    presenter: Box<dyn Presenter>,
) -> Result<Playing, PlayError> {
    let verified = verify_package(&opts.capsule)?;
    let PlayOptions {
        source,
        wallet,
        runtime,
        rpc,
        deployment,
        group_key,
        licence_nodes,
        audio,
        video,
        start,
        limits,
        ..
    } = opts;
    // The source may block on the runtime (a store read): keep it off the async path.
    let container = tokio::task::spawn_blocking(move || Container::open(BoxSource(source)))
        .await
        .map_err(|e| PlayError::Source(e.to_string()))?
        .map_err(|e| PlayError::Integrity(e.to_string()))?;
    let content_id = U256::from_be_bytes(container.content_id().0);
    let title = container.header().metadata.title.clone();
    let chain = connect_chain(&rpc, &deployment).await?;
    check_on_chain(&chain, &deployment, &verified, content_id).await?;

    let account = address_of(wallet.verifying_key());
    let params = PlayParams {
        chain_id: deployment.chain_id,
        access_contract: deployment.contracts.access,
        account,
        group_key: group_key.to_json(),
        start_ms: u64::try_from(start.as_millis()).unwrap_or(u64::MAX),
        audio,
        video,
    };
    let client = LicenceClient::new(licence_nodes, group_key, NODE_TIMEOUT)
        .map_err(|e| PlayError::BadInput(e.to_string()))?;
    let controller = Controller::new();
    let session = Session {
        source: container.into_source().0,
        params,
        measurement: verified.measurement,
        runtime,
        wallet,
        gate: Box::new(NetworkGate::new(client)),
        presenter,
        control: controller.clone(),
    };
    let (done, outcome) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("ddrm-capsule".into())
        .spawn(move || {
            // Compiled here, once per process: the first compile takes seconds.
            let run = host
                .capsule_module(&verified)
                .map_err(PlayError::from)
                .and_then(|module| host.run_capsule(&module, session, &limits));
            let _ = done.send(run);
        })
        .map_err(|e| PlayError::Capsule(format!("cannot start the capsule's thread: {e}")))?;
    Ok(Playing {
        controller,
        done: Some(outcome),
        chain,
        deployment,
        account,
        content_id,
        title,
    })
}

impl Playing {
    /// Pause, resume, seek and stop; clones may go to other threads and tasks.
    pub fn controller(&self) -> Controller {
        self.controller.clone()
    }

    /// Waits for the capsule to end: the report of a licensed run that played to the end or
    /// was stopped, otherwise the refusal or failure, its cause named.
    pub async fn finished(mut self) -> Result<PlayReport, PlayError> {
        let done = self.done.take().expect("finished is called once");
        let outcome = done.await.unwrap_or_else(|_| {
            Err(PlayError::Capsule(
                "the capsule's thread ended without an outcome".into(),
            ))
        });
        let played = match licensed_run(outcome) {
            Ok(played) => played,
            Err(refusal) => {
                return Err(refusal
                    .explain(&self.chain, &self.deployment, self.account, self.content_id)
                    .await)
            }
        };
        let Presented {
            sample_rate,
            channels,
            audio_frames,
            video_frames,
        } = played.presented;
        Ok(PlayReport {
            title: std::mem::take(&mut self.title),
            content_id: self.content_id,
            ended: played.ended,
            policy: played.policy,
            nodes: played.nodes,
            bad_shares: played.bad_shares,
            decrypted: played.decrypted,
            audio_frames,
            sample_rate,
            channels,
            video_frames,
            audio_out: None,
            video_out: None,
            audio_device: None,
            audio_silence_frames: 0,
        })
    }
}

impl Drop for Playing {
    fn drop(&mut self) {
        if self.done.is_some() {
            self.controller.stop();
        }
    }
}

/// Plays `opts.source` into the files `files` names (the tracks played are those with a
/// file), through [`start`]; the files are renamed into place only when playback ended well.
pub async fn play(
    host: Arc<Host>,
    mut opts: PlayOptions,
    files: FileOutputs,
) -> Result<PlayReport, PlayError> {
    opts.audio = files.audio_out.is_some();
    opts.video = files.video_out.is_some();
    let outputs = Arc::new(Mutex::new(Outputs::new(
        files.audio_out.as_deref(),
        files.video_out.as_deref(),
    )?));
    let presenter = Box::new(SharedOutputs {
        outputs: outputs.clone(),
        on_first_output: files.on_first_output,
    });
    let result = match start(host, opts, presenter).await {
        Ok(playing) => playing.finished().await,
        Err(e) => Err(e),
    };
    let outs = take_outputs(outputs)?;
    match result {
        Ok(mut report) => {
            (report.audio_out, report.video_out) = outs.commit()?;
            Ok(report)
        }
        Err(e) => {
            outs.discard();
            Err(e)
        }
    }
}

/// The chain at `rpc`, checked to be the one `deployment` names, within the chain read timeout.
async fn connect_chain(rpc: &str, deployment: &Deployment) -> Result<Chain, PlayError> {
    let chain = tokio::time::timeout(crate::verify::CHAIN_READ_TIMEOUT, Chain::connect(rpc, None))
        .await
        .map_err(|_| PlayError::Chain(format!("{rpc}: no answer")))?
        .map_err(|e| PlayError::Chain(e.to_string()))?;
    deployment
        .check_chain(&chain)
        .map_err(|e| PlayError::Chain(e.to_string()))?;
    Ok(chain)
}

/// The outputs back from the presenter once the capsule has stopped.
fn take_outputs(outputs: Arc<Mutex<Outputs>>) -> Result<Outputs, PlayError> {
    Arc::try_unwrap(outputs)
        .map_err(|_| PlayError::Output("outputs still in use".into()))?
        .into_inner()
        .map_err(|_| PlayError::Output("output lock poisoned".into()))
}

/// What a licensed run that played to the end, or was stopped, gives the report.
struct Played {
    ended: Ended,
    policy: LicencePolicy,
    /// Nodes whose shares the capsule combined.
    nodes: Vec<u32>,
    bad_shares: Vec<BadShare>,
    /// Segment indices the capsule decrypted, in order.
    decrypted: Vec<u32>,
    presented: Presented,
}

/// The run's licence and segments when it played to the end (or was stopped by its
/// controller) under a licence; otherwise why it did not.
fn licensed_run(outcome: Result<Outcome, PlayError>) -> Result<Played, Refusal> {
    let outcome = outcome.map_err(Refusal::Failed)?;
    let ended = match (outcome.code, &outcome.failure, &outcome.stopped) {
        (0, _, _) => Ended::Finished,
        (_, None, Some((StopKind::Requested, _))) => Ended::Stopped,
        _ => {
            return Err(Refusal::Stopped(stop_error(
                outcome.failure,
                outcome.stopped,
            )))
        }
    };
    let Some((policy, nodes, bad_shares)) = outcome.licensed else {
        return Err(Refusal::Failed(PlayError::Capsule(
            "the capsule played without a licence".into(),
        )));
    };
    Ok(Played {
        ended,
        policy,
        nodes,
        bad_shares,
        decrypted: outcome.decrypted,
        presented: outcome.presented,
    })
}

/// Why a play produced nothing.
enum Refusal {
    /// The capsule could not run, or ran without a licence.
    Failed(PlayError),
    /// The capsule stopped: the cause the host or the capsule gave.
    Stopped(PlayError),
}

impl Refusal {
    /// The error to return. When the nodes said "no access" and `account`'s timed access has
    /// passed, that is named as the cause.
    async fn explain(
        self,
        chain: &Chain,
        deployment: &Deployment,
        account: Address,
        content_id: U256,
    ) -> PlayError {
        let err = match self {
            Refusal::Failed(err) => return err,
            Refusal::Stopped(err) => err,
        };
        if let PlayError::NoAccess(why) = &err {
            if let Some(expired) = rental_expiry(chain, deployment, account, content_id).await {
                return PlayError::RentalExpired(format!(
                    "timed access of {account} ended at {expired} (unix seconds); {why}"
                ));
            }
        }
        err
    }
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
        Some((StopKind::Host, m)) | Some((StopKind::Requested, m)) => PlayError::Capsule(m),
        None => PlayError::Capsule("the capsule stopped without saying why".into()),
    }
}
