//! `ddrm play`: parses, loads keys and files, and calls `player::play`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use stack::StackFile;

use super::args::{ChainArgs, LicenceNetworkArgs, OutputArgs, Resolve, SignerArgs};

/// Wall time after which the capsule is stopped, however long the content.
const CAPSULE_DEADLINE: Duration = Duration::from_secs(3600);
/// Folder, under the data directory, of compiled capsules (wasmtime's module cache).
const CAPSULE_CACHE: &str = "capsule-cache";
/// Memory the capsule may use.
const CAPSULE_MEMORY: usize = 1 << 30;

#[derive(Debug, Args)]
pub struct PlayArgs {
    /// The .ddrm to play: a file, or the CID of one in the content store.
    pub input: String,
    /// The buyer's wallet, which signs the licence request (required).
    #[command(flatten)]
    pub signer: SignerArgs,
    /// Write the decoded audio here (WAV, 32-bit float) instead of playing it: a test and
    /// benchmark tool. Without --audio-out and --video-out the audio plays on the default
    /// output device.
    #[arg(long, value_name = "OUT.wav")]
    pub audio_out: Option<PathBuf>,
    /// Write the decoded video here (YUV4MPEG2, 8-bit 4:2:0): a test and benchmark tool (no
    /// video window yet).
    #[arg(long, value_name = "OUT.y4m")]
    pub video_out: Option<PathBuf>,
    /// Start this many seconds into the content (only the segments from there are decrypted).
    #[arg(long, default_value_t = 0.0, value_name = "SECONDS")]
    pub start: f64,
    /// The chain the content is registered on (both required).
    #[command(flatten)]
    pub chain: ChainArgs,
    /// The licence network (group key and nodes required).
    #[command(flatten)]
    pub network: LicenceNetworkArgs,
    /// This install's runtime attestation key file: a TPM key's blobs (`ddrm up --tpm`), or a
    /// file key (created, mode 0600, when missing). Its id must be approved on chain
    /// [with --stack: the stack's].
    #[arg(long, value_name = "FILE", alias = "runtime-key-file")]
    pub runtime_key: Option<PathBuf>,
    #[command(flatten)]
    pub store: super::store::StoreArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl Resolve for PlayArgs {
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        self.signer.resolve(stack)?;
        self.chain.resolve(stack)?;
        self.network.resolve(stack)?;
        if let (None, Some(stack)) = (&self.runtime_key, stack) {
            self.runtime_key = Some(stack.runtime.key_file.clone());
        }
        self.store.resolve(stack)
    }
}

pub async fn play(args: PlayArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    if !(args.start.is_finite() && args.start >= 0.0) {
        anyhow::bail!("--start must be a non-negative number of seconds");
    }
    let licence_nodes = args.network.required_nodes()?;
    let wallet = args
        .signer
        .source()
        .signer()?
        .context("a wallet key is required: --private-key-file FILE or DDRM_PRIVATE_KEY")?
        .credential()
        .clone();
    let rpc = args.chain.rpc.required()?;
    let deployment = contracts_bindings::Deployment::load(&args.chain.deployment.required()?)?;
    let group_path = args.network.group_key.required()?;
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
    } else if let Ok(cid) = args.input.parse::<store::Cid>() {
        let store = store::open_store(&args.store.config()).await?;
        Box::new(player::play::StoreSource::open(store, cid).await?)
    } else {
        anyhow::bail!("{}: no such file, and not a CID", args.input);
    };

    // Compiled capsules are kept beside the store's data, so the next `ddrm play` starts at once.
    let host = Arc::new(player::Host::with_module_cache(
        &args.store.config().data_dir.join(CAPSULE_CACHE),
    )?);
    let opts = player::PlayOptions {
        source,
        wallet,
        runtime: Arc::new(runtime),
        rpc,
        deployment,
        group_key,
        licence_nodes,
        audio: false,
        video: false,
        start: Duration::from_secs_f64(args.start),
        capsule: player::bundled_capsule(),
        limits: player::RunLimits {
            memory_bytes: CAPSULE_MEMORY,
            timeout: CAPSULE_DEADLINE,
            ..player::RunLimits::default()
        },
    };
    let report = if args.audio_out.is_none() && args.video_out.is_none() {
        eprintln!(
            "playing to the default audio output (no video window yet: --video-out writes the \
             frames)"
        );
        player::speaker::play_aloud(host, opts).await?
    } else {
        let files = player::FileOutputs {
            audio_out: args.audio_out,
            video_out: args.video_out,
            on_first_output: Some(Box::new(move || {
                eprintln!(
                    "playing: first output {:.0} ms after start",
                    started.elapsed().as_secs_f64() * 1e3
                )
            })),
        };
        player::play(host, opts, files).await?
    };
    let elapsed = started.elapsed().as_secs_f64();
    print!(
        "{}",
        args.output.render(&report, |r| format!(
            "{}played in {elapsed:.2} s\n",
            r.describe()
        ))?
    );
    Ok(())
}
