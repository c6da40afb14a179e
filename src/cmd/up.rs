//! `ddrm up`: wires the `stack` library to the player's runtime key and bundled capsule.

use std::path::PathBuf;

use clap::Args;
use stack::up::{CapsuleToRegister, RunningStack, StopSignals, UpOptions};
use stack::RuntimeEntry;

use super::args::{DurationArg, Resolve, SignerArgs};

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Where the stack keeps its keys, logs, store and stack.json
    /// [default: $XDG_DATA_HOME/ddrm/stack or ~/.local/share/ddrm/stack].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use this chain (HTTP JSON-RPC URL, with anvil's funded dev accounts) instead of starting
    /// anvil.
    #[arg(long, value_name = "URL")]
    pub rpc: Option<String>,
    /// Use this kubo node's RPC API instead of the embedded store.
    #[arg(long, value_name = "URL")]
    pub ipfs_api: Option<String>,
    /// Once up, run the whole journey on a generated sample and print each step.
    #[arg(long)]
    pub demo: bool,
    /// With --demo: stop the stack after the demo instead of staying up.
    #[arg(long, requires = "demo")]
    pub exit: bool,
    /// How long each licence node reuses a fetched chain head (e.g. 500ms; 0: every request
    /// reads the head). A rental's end is seen up to this long after its block.
    #[arg(
        long,
        alias = "head-ttl-ms",
        default_value_t = DurationArg(licence_net::commands::DEFAULT_HEAD_TTL)
    )]
    pub head_ttl: DurationArg,
    /// Keep this install's runtime key in the TPM 2.0 reached through this TSS TCTI (e.g.
    /// device:/dev/tpmrm0) instead of a file.
    #[arg(long, value_name = "TCTI", conflicts_with = "swtpm")]
    pub tpm: Option<String>,
    /// Keep the runtime key in a software TPM (swtpm) that the stack starts, with its state in
    /// the data directory: the TPM code path without TPM hardware (its state is a file).
    #[arg(long)]
    pub swtpm: bool,
    /// Licence nodes refuse file-backed runtime keys: only TPM-held keys play.
    #[arg(long)]
    pub require_hardware_runtime: bool,
    /// Where wallets read the tokens' metadata: the base of both contracts' ERC-1155 `uri()`
    /// (the default is `ddrm serve`'s own address; it must end in `/`).
    #[arg(long, value_name = "URL", default_value = DEFAULT_METADATA_BASE)]
    pub metadata_base: String,
}

/// `ddrm serve`'s metadata endpoints at its default address.
pub const DEFAULT_METADATA_BASE: &str = "http://127.0.0.1:8080/v1/metadata/";

/// The file name of the file-backed runtime attestation key in the data directory.
pub const RUNTIME_KEY_FILE: &str = "runtime.key";
/// The file name of the TPM-held runtime key's blobs in the data directory.
pub const TPM_RUNTIME_KEY_FILE: &str = "runtime-tpm.json";

/// Starts the stack; its licence nodes log in `log_format` too.
pub async fn up(args: UpArgs, log_format: super::logging::LogFormat) -> anyhow::Result<()> {
    // Caught from here on: a Ctrl-C while starting stops what has started.
    let mut signals = StopSignals::new()?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(stack::up::default_data_dir);
    std::fs::create_dir_all(&data_dir)?;
    // A software TPM lives as long as this command.
    let swtpm = if args.swtpm {
        Some(player::runtime::SwTpm::start(&data_dir.join("swtpm"))?)
    } else {
        None
    };
    let tcti = args.tpm.clone().or(swtpm.as_ref().map(|t| t.tcti()));
    let (key_file, runtime) = match &tcti {
        Some(tcti) => {
            let path = data_dir.join(TPM_RUNTIME_KEY_FILE);
            let key = player::runtime::RuntimeKey::load_or_create_tpm(tcti, &path)?;
            (path, key)
        }
        None => {
            let path = data_dir.join(RUNTIME_KEY_FILE);
            let key = player::runtime::RuntimeKey::load_or_create(&path)?;
            (path, key)
        }
    };
    let runtime_entry = RuntimeEntry::new(key_file, runtime.address(), runtime.kind());
    drop(runtime);
    let capsule = player::bundled_capsule();
    let opts = UpOptions {
        data_dir,
        rpc: args.rpc.clone(),
        ipfs_api: args.ipfs_api.clone(),
        ddrm_exe: std::env::current_exe()?,
        runtime: runtime_entry,
        capsule: Some(CapsuleToRegister {
            measurement: capsule.measurement(),
            version: capsule.version(),
            publisher: capsule.publisher(),
        }),
        head_ttl: args.head_ttl.0,
        require_hardware_runtime: args.require_hardware_runtime,
        node_log_format: Some(log_format.name().to_string()),
        metadata_base: Some(args.metadata_base.clone()),
    };
    let mut say = |line: &str| println!("{line}");
    let stack = tokio::select! {
        s = RunningStack::start(&opts, &mut say) => s?,
        sig = signals.recv() => anyhow::bail!("{sig} while starting: stopped what had started"),
    };
    println!("stack.json: {}", stack.stack_path().display());
    let mut result = Ok(());
    if args.demo {
        println!("demo:");
        let work = stack.file().data_dir.join("demo");
        let mut player = DemoPlay;
        let demo = stack::demo::run(
            stack.file(),
            capsule.measurement().0,
            &work,
            Some(&mut player as &mut dyn stack::demo::DemoPlayer),
            &mut say,
        );
        result = tokio::select! {
            r = demo => r.map(|_| ()).map_err(anyhow::Error::from),
            sig = signals.recv() => Err(anyhow::anyhow!("{sig} during the demo")),
        };
    }
    if result.is_ok() && !args.exit {
        println!(
            "up: use `--stack {}` with any ddrm command; Ctrl-C stops the stack",
            stack.stack_path().display()
        );
        let sig = signals.recv().await;
        println!("{sig}: stopping");
    }
    for s in stack.stop() {
        println!(
            "stopped {} (pid {}){}",
            s.name,
            s.pid,
            if s.graceful {
                ""
            } else {
                ", killed after the grace period"
            }
        );
    }
    result
}

/// The demo's play step: `ddrm play` itself, with everything taken from the stack.
struct DemoPlay;

impl stack::demo::DemoPlayer for DemoPlay {
    fn play<'a>(
        &'a mut self,
        stack: &'a stack::StackFile,
        ddrm: &'a std::path::Path,
        wallet_key: &'a str,
        out_dir: &'a std::path::Path,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<String>, String>> + 'a>>
    {
        Box::pin(async move {
            let audio = out_dir.join("sample.wav");
            let video = out_dir.join("sample.y4m");
            let mut args = super::play::PlayArgs {
                input: ddrm.display().to_string(),
                signer: SignerArgs {
                    private_key: Some(wallet_key.parse().map_err(|e| format!("{e:?}"))?),
                    private_key_file: None,
                },
                audio_out: Some(audio.clone()),
                video_out: Some(video.clone()),
                start: 0.0,
                chain: Default::default(),
                network: Default::default(),
                runtime_key: None,
                store: Default::default(),
                output: Default::default(),
            };
            args.resolve(Some(stack)).map_err(|e| format!("{e:#}"))?;
            super::play::play(args)
                .await
                .map_err(|e| format!("{e:#}"))?;
            Ok(vec![
                format!("decoded audio: {}", audio.display()),
                format!("decoded video: {}", video.display()),
            ])
        })
    }
}
