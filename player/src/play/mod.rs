//! `play`: everything between a `.ddrm` and decoded output, on the host side. Checks the capsule
//! (bytes, manifest signature, chain), runs it with the licence network behind the `ddrm`
//! imports, writes what it presents to temporary files and renames them into place only when
//! playback ended well: a refusal leaves no output file.
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
    address_of, GroupKey, LicenceAsk, LicencePolicy, LicenceResponse, ShareFault, U256,
};
use packager_format::{ByteSource, Container};

use crate::capsule_host::{LicenceGate, Outcome, Presenter, Session};
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
#[derive(Debug, Clone, serde::Serialize)]
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
    let chain = connect_chain(&rpc, &deployment).await?;
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
    let session = Session {
        source: container.into_source().0,
        params,
        measurement: verified.measurement,
        runtime,
        wallet,
        gate: Box::new(NetworkGate::new(client)),
        presenter: Box::new(SharedOutputs {
            outputs: outputs.clone(),
            on_first_output,
        }),
    };
    let outcome = tokio::task::block_in_place(|| host.run_capsule(&module, session, &limits));
    let outs = take_outputs(outputs)?;
    let played = match licensed_run(outcome) {
        Ok(played) => played,
        Err(refusal) => {
            outs.discard();
            return Err(refusal
                .explain(&chain, &deployment, account, content_id)
                .await);
        }
    };
    report(title, content_id, played, outs)
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

/// What a run that played to the end under a licence gives the report.
struct Played {
    policy: LicencePolicy,
    /// Nodes whose shares the capsule combined.
    nodes: Vec<u32>,
    bad_shares: Vec<BadShare>,
    /// Segment indices the capsule decrypted, in order.
    decrypted: Vec<u32>,
}

/// The run's licence and segments when it played to the end under a licence; otherwise why
/// it did not.
fn licensed_run(outcome: Result<Outcome, PlayError>) -> Result<Played, Refusal> {
    let outcome = outcome.map_err(Refusal::Failed)?;
    if outcome.code != 0 {
        return Err(Refusal::Stopped(stop_error(
            outcome.failure,
            outcome.stopped,
        )));
    }
    let Some((policy, nodes, bad_shares)) = outcome.licensed else {
        return Err(Refusal::Failed(PlayError::Capsule(
            "the capsule played without a licence".into(),
        )));
    };
    Ok(Played {
        policy,
        nodes,
        bad_shares,
        decrypted: outcome.decrypted,
    })
}

/// The report of a play that ended well; the outputs are renamed into place.
fn report(
    title: String,
    content_id: U256,
    played: Played,
    outs: Outputs,
) -> Result<PlayReport, PlayError> {
    let (audio_frames, video_frames) = (outs.audio_frames, outs.video_frames);
    let (sample_rate, channels) = (outs.sample_rate, outs.channels);
    let (audio_out, video_out) = outs.commit()?;
    Ok(PlayReport {
        title,
        content_id,
        policy: played.policy,
        nodes: played.nodes,
        bad_shares: played.bad_shares,
        decrypted: played.decrypted,
        audio_frames,
        sample_rate,
        channels,
        video_frames,
        audio_out,
        video_out,
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
        account: licence_net_protocol::Address,
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
        Some((StopKind::Host, m)) => PlayError::Capsule(m),
        None => PlayError::Capsule("the capsule stopped without saying why".into()),
    }
}
