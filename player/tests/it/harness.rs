//! A local stack for player tests: [`licence_net::testing::Network`] (anvil, the contracts, a
//! 3-of-5 licence network) with the dev publisher allowed and the bundled capsule registered,
//! an approved runtime key, the wasmtime host, and media packaged by the real packager.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use contracts_bindings::bindings::CapsuleRegistry;
use contracts_bindings::chain;
use contracts_bindings::ops::{self, HeaderFacts, Purchase};
use licence_net_protocol::{B256, U256};
use player::runtime::RuntimeKey;
use player::{
    bundled_capsule, CapsulePackage, FileOutputs, Host, PlayError, PlayOptions, PlayReport,
    RunLimits,
};

pub use licence_net::testing::*;

/// anvil account that rents.
pub const RENTER: usize = 5;
/// anvil account #9: the DEV capsule publisher.
pub const PUBLISHER: usize = 9;

/// Test files go in `network.dir`.
pub struct Stack {
    pub network: Network,
    pub runtime: Arc<RuntimeKey>,
    pub host: Arc<Host>,
}

/// Makes a test clip: `secs` seconds of a sine, stereo 48 kHz, FLAC.
pub fn make_audio(dir: &Path, secs: u32) -> PathBuf {
    tests::media::stereo_flac(&dir.join(format!("tone-{secs}s.flac")), secs)
}

/// How a [`Stack`] differs from the default one.
pub struct StackOptions {
    /// The runtime key plays use (approved on chain).
    pub runtime: RuntimeKey,
    /// More runtime ids to approve on chain.
    pub also_approve: Vec<alloy::primitives::Address>,
    /// Nodes refuse file-backed runtime keys.
    pub require_hardware_runtime: bool,
}

impl Stack {
    /// A stack whose runtime key is a file key in its folder.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let runtime = RuntimeKey::load_or_create(&dir.path().join("runtime.key")).unwrap();
        Self::start_in(
            dir,
            StackOptions {
                runtime,
                also_approve: Vec::new(),
                require_hardware_runtime: false,
            },
        )
        .await
    }

    /// A stack in `dir` as `opts` says.
    pub async fn start_in(dir: tempfile::TempDir, opts: StackOptions) -> Self {
        let StackOptions {
            runtime,
            also_approve,
            require_hardware_runtime,
        } = opts;
        let mut approve_runtimes = vec![runtime.address()];
        approve_runtimes.extend(also_approve);
        let network = Network::start_in(
            dir,
            NetworkOptions {
                approve_runtimes,
                register_capsules: Vec::new(),
                require_hardware_runtime,
            },
        )
        .await;
        let stack = Self {
            network,
            runtime: Arc::new(runtime),
            host: Arc::new(Host::new().unwrap()),
        };
        stack.register_bundled_capsule().await;
        stack
    }

    /// Allows the bundled capsule's publisher (the deployer's call) and registers the capsule
    /// (the publisher's).
    async fn register_bundled_capsule(&self) {
        assert_eq!(
            self.network.keys[PUBLISHER]
                .address()
                .to_string()
                .to_lowercase(),
            player::DEV_PUBLISHER_ADDRESS.to_lowercase(),
            "the DEV publisher is anvil account #9"
        );
        let capsule = bundled_capsule();
        let registry = self.network.dep.contracts.capsule_registry;
        let deployer = self.network.chain_as(DEPLOYER).await;
        chain::confirm(
            "setPublisher",
            CapsuleRegistry::new(registry, &deployer.provider)
                .setPublisher(capsule.publisher(), true)
                .send()
                .await,
        )
        .await
        .expect("setPublisher");
        let publisher = self.network.chain_as(PUBLISHER).await;
        chain::confirm(
            "registerCapsule",
            CapsuleRegistry::new(registry, &publisher.provider)
                .registerCapsule(capsule.measurement(), capsule.version())
                .send()
                .await,
        )
        .await
        .expect("registerCapsule");
    }

    /// Packages `input` with the real packager (lossless: FLAC stays FLAC) for this network,
    /// allowing `renderers`.
    pub fn package(&self, input: &Path, renderers: Vec<[u8; 32]>) -> PathBuf {
        self.package_as(input, renderers, true)
    }

    /// Packages `input` for this network allowing `renderers`: `lossless` keeps FLAC, else the
    /// playback profile (AV1, AAC-LC).
    pub fn package_as(&self, input: &Path, renderers: Vec<[u8; 32]>, lossless: bool) -> PathBuf {
        let output = input.with_extension("ddrm");
        let opts = packager::PackageOptions {
            input: input.to_path_buf(),
            output: output.clone(),
            group_key: self.network.group.clone(),
            renderers,
            title: Some("test tone".into()),
            creator: "player tests".into(),
            creator_account: self.network.creator(),
            as_data: false,
            lossless,
            export_key: None,
            description: None,
            thumbnail: None,
            preview: None,
        };
        packager::package(&opts, &mut |_| {}).expect("package");
        output
    }

    /// [`CREATOR`] mints the packaged file at [`PRICE`], allowing `renderers` on chain.
    /// Returns the content id.
    pub async fn mint_file(&self, ddrm: &Path, renderers: Vec<B256>) -> U256 {
        let facts = ops::read_ddrm_header(ddrm).unwrap();
        let content = facts.content_id;
        self.network
            .mint(CREATOR, HeaderFacts { renderers, ..facts }, PRICE)
            .await;
        content
    }

    /// `name` in the stack's folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.network.dir.path().join(name)
    }

    /// Options to play `ddrm` as `account` with `capsule` from `start` (audio only; [`Stack::play`]
    /// sets the tracks from its files).
    pub fn options(
        &self,
        ddrm: &Path,
        account: usize,
        capsule: CapsulePackage,
        start: Duration,
    ) -> PlayOptions {
        PlayOptions {
            source: Box::new(std::fs::File::open(ddrm).unwrap()),
            wallet: self.network.wallet(account),
            runtime: self.runtime.clone(),
            rpc: self.network.rpc.clone(),
            deployment: self.network.dep.clone(),
            group_key: self.network.group.clone(),
            licence_nodes: self.network.urls.clone(),
            audio: true,
            video: false,
            start,
            capsule,
            limits: RunLimits {
                memory_bytes: 256 << 20,
                timeout: Duration::from_secs(120),
                ..RunLimits::default()
            },
        }
    }

    /// Plays with `opts`, audio to `audio_out` (through `ddrm play`'s file outputs).
    pub async fn play(&self, opts: PlayOptions, audio_out: &Path) -> Result<PlayReport, PlayError> {
        let files = FileOutputs {
            audio_out: Some(audio_out.to_path_buf()),
            ..FileOutputs::default()
        };
        player::play(self.host.clone(), opts, files).await
    }

    /// Plays `ddrm` from its start as `account` with the bundled capsule, audio to `out`.
    pub async fn play_file(
        &self,
        ddrm: &Path,
        account: usize,
        out: &Path,
    ) -> Result<PlayReport, PlayError> {
        self.play(
            self.options(ddrm, account, bundled_capsule(), Duration::ZERO),
            out,
        )
        .await
    }

    /// A `secs` s 320x240 24 fps test pattern with a stereo 48 kHz sine, packaged for the
    /// bundled capsule (AV1 with a keyframe segment every ~2 s, AAC) and minted by [`CREATOR`]
    /// at [`PRICE`], renting for a tenth of it per `rent_period` seconds.
    pub async fn minted_film(&self, secs: u32, rent_period: u32) -> Clip {
        let capsule = bundled_capsule();
        let source = tests::media::make(
            &self.file(&format!("film-{secs}s.mp4")),
            secs,
            "320x240",
            &[
                "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt",
                "yuv420p", "-c:a", "aac", "-ac", "2", "-ar", "48000",
            ],
        );
        let ddrm = self.package_as(&source, vec![capsule.measurement().0], false);
        let facts = ops::read_ddrm_header(&ddrm).unwrap();
        let content = facts.content_id;
        let request = ops::MintRequest {
            header: HeaderFacts {
                renderers: vec![capsule.measurement()],
                ..facts
            },
            cid: "bafkreitestfilm".into(),
            payment_token: alloy::primitives::Address::ZERO,
            terms: ops::TermsInput {
                price: PRICE,
                rent_price: PRICE / U256::from(10u8),
                rent_period,
                ..Default::default()
            },
            split: vec![(self.network.keys[CREATOR].address(), 10_000)],
        };
        let creator = self.network.chain_as(CREATOR).await;
        ops::mint(&creator, &self.network.dep, &request)
            .await
            .expect("mint the film");
        Clip {
            source,
            ddrm,
            content,
        }
    }

    /// Packages a `secs` seconds clip for the bundled capsule and mints it.
    pub async fn minted_clip(&self, secs: u32) -> Clip {
        let capsule = bundled_capsule();
        let source = make_audio(self.network.dir.path(), secs);
        let ddrm = self.package(&source, vec![capsule.measurement().0]);
        let content = self.mint_file(&ddrm, vec![capsule.measurement()]).await;
        Clip {
            source,
            ddrm,
            content,
        }
    }
}

/// A clip packaged and minted allowing the bundled capsule.
pub struct Clip {
    pub source: PathBuf,
    pub ddrm: PathBuf,
    pub content: U256,
}

/// A [`Clip`] bought by [`BUYER`], on its stack.
pub struct Bought {
    pub stack: Stack,
    pub source: PathBuf,
    pub ddrm: PathBuf,
    pub content: U256,
}

impl Bought {
    /// Plays the clip from its start as `account` with the bundled capsule, audio to `out`.
    pub async fn play_as(&self, account: usize, out: &Path) -> Result<PlayReport, PlayError> {
        self.stack.play_file(&self.ddrm, account, out).await
    }
}

pub async fn bought_clip(secs: u32) -> Bought {
    bought_clip_on(Stack::start().await, secs).await
}

/// [`bought_clip`] on a given stack.
pub async fn bought_clip_on(stack: Stack, secs: u32) -> Bought {
    let Clip {
        source,
        ddrm,
        content,
    } = stack.minted_clip(secs).await;
    stack.network.purchase(BUYER, content, Purchase::Buy).await;
    Bought {
        stack,
        source,
        ddrm,
        content,
    }
}
