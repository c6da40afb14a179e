//! `ddrm play`: parses, loads keys and files, and calls `player::play`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use zeroize::Zeroizing;

/// Wall time after which the capsule is stopped, however long the content.
const CAPSULE_DEADLINE: Duration = Duration::from_secs(3600);
/// Folder, under the data directory, of compiled capsules (wasmtime's module cache).
const CAPSULE_CACHE: &str = "capsule-cache";
/// Memory the capsule may use.
const CAPSULE_MEMORY: usize = 1 << 30;

/// A wallet key as typed; its Debug output never shows it.
#[derive(Clone)]
pub struct WalletKey(Zeroizing<String>);

impl std::str::FromStr for WalletKey {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(Zeroizing::new(s.to_owned())))
    }
}

impl std::fmt::Debug for WalletKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Args)]
pub struct PlayArgs {
    /// The .ddrm to play: a file, or the CID of one in the content store.
    pub input: String,
    /// Hex private key of the buyer's wallet, which signs the licence request. Prefer the
    /// DDRM_WALLET_KEY environment variable, which keeps it out of the process list.
    #[arg(long, env = "DDRM_WALLET_KEY", hide_env_values = true)]
    pub wallet_key: WalletKey,
    /// Write the decoded audio here (WAV, 32-bit float).
    #[arg(long, value_name = "OUT.wav")]
    pub audio_out: Option<PathBuf>,
    /// Write the decoded video here (YUV4MPEG2, 8-bit 4:2:0).
    #[arg(long, value_name = "OUT.y4m")]
    pub video_out: Option<PathBuf>,
    /// Start this many seconds into the content (only the segments from there are decrypted).
    #[arg(long, default_value_t = 0.0, value_name = "SECONDS")]
    pub start: f64,
    /// RPC endpoint of the chain the content is registered on.
    #[arg(long)]
    pub rpc: Option<String>,
    /// deployment.json written by `ddrm chain deploy`.
    #[arg(long)]
    pub deployment: Option<PathBuf>,
    /// The licence network's group key file (group.pub).
    #[arg(long)]
    pub group_key: Option<PathBuf>,
    /// Base URL of a licence node; repeat for each node.
    #[arg(long = "licence-node", value_name = "URL")]
    pub licence_nodes: Vec<String>,
    /// This install's runtime attestation key file: a TPM key's blobs (`ddrm up --tpm`), or a
    /// file key (created, mode 0600, when missing). Its id must be approved on chain.
    #[arg(long, value_name = "FILE")]
    pub runtime_key: Option<PathBuf>,
    #[command(flatten)]
    pub store: super::store::StoreArgs,
}

pub async fn play(args: PlayArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    if args.audio_out.is_none() && args.video_out.is_none() {
        anyhow::bail!("nothing to play into: give --audio-out and/or --video-out");
    }
    if !(args.start.is_finite() && args.start >= 0.0) {
        anyhow::bail!("--start must be a non-negative number of seconds");
    }
    if args.licence_nodes.is_empty() {
        anyhow::bail!("--licence-node is required, once per node (or --stack)");
    }
    let wallet = player::play::wallet_key_from_hex(&args.wallet_key.0)?;
    let rpc = super::required(args.rpc, "--rpc")?;
    let deployment =
        contracts_bindings::Deployment::load(&super::required(args.deployment, "--deployment")?)?;
    let group_path = super::required(args.group_key, "--group-key")?;
    let group_key = licence_net_protocol::GroupKey::from_json(
        &std::fs::read_to_string(&group_path)
            .with_context(|| format!("reading {}", group_path.display()))?,
    )?;
    let runtime_path = super::required(args.runtime_key, "--runtime-key")?;
    let runtime = player::runtime::RuntimeKey::load_or_create(&runtime_path)?;
    // Said plainly on every play: what holds the runtime key (README, "Honest limits").
    match runtime.tcti() {
        Some(tcti) => eprintln!(
            "runtime key: held by the TPM at {tcti} (tpm2-p256, id {})",
            runtime.address()
        ),
        None => eprintln!(
            "runtime key: a file ({}), local development only: this machine's owner could use it \
             outside the capsule{}",
            runtime_path.display(),
            if std::path::Path::new("/dev/tpmrm0").exists() {
                " (this machine has a TPM: `ddrm up --tpm device:/dev/tpmrm0` keeps the key in it)"
            } else {
                " (no TPM on this machine: /dev/tpmrm0 does not exist)"
            }
        ),
    }

    let path = PathBuf::from(&args.input);
    let source: Box<dyn packager_format::ByteSource + Send> = if path.exists() {
        Box::new(std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?)
    } else if let Ok(cid) = args.input.parse::<packager_store::Cid>() {
        let store = packager_store::open_store(&args.store.config()).await?;
        Box::new(player::play::StoreSource::open(store, cid).await?)
    } else {
        anyhow::bail!("{}: no such file, and not a CID", args.input);
    };

    // Compiled capsules are kept beside the store's data, so the next `ddrm play` starts at once.
    let host = player::Host::with_module_cache(&args.store.config().data_dir.join(CAPSULE_CACHE))?;
    let report = player::play(
        &host,
        player::PlayOptions {
            source,
            wallet,
            runtime: Arc::new(runtime),
            rpc,
            deployment,
            group_key,
            licence_nodes: args.licence_nodes,
            audio_out: args.audio_out,
            video_out: args.video_out,
            start: Duration::from_secs_f64(args.start),
            capsule: player::bundled_capsule(),
            limits: player::RunLimits {
                memory_bytes: CAPSULE_MEMORY,
                timeout: CAPSULE_DEADLINE,
                ..player::RunLimits::default()
            },
            on_first_output: Some(Box::new(move || {
                eprintln!(
                    "playing: first output {:.0} ms after start",
                    started.elapsed().as_secs_f64() * 1e3
                )
            })),
        },
    )
    .await?;
    print!("{}", report.describe());
    println!("played in {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
