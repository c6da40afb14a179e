//! `ddrm up --demo`: the whole journey on a running stack, on a generated audio-and-video sample:
//! package, pin, mint with an 80/20 royalty split, buy from another account, play, and the
//! royalties each holder can claim.

use std::path::{Path, PathBuf};
use std::process::Command;

use alloy::primitives::{Address, U256};
use contracts_bindings::ops::{self, Purchase, TermsInput};
use contracts_bindings::{Chain, ChainError, Deployment};

use crate::file::{DevAccount, StackFile};

/// Length of the generated sample, in seconds.
pub const SAMPLE_SECONDS: u32 = 4;
/// Price of a perpetual access token in the demo, in whole ELA.
pub const DEMO_PRICE: &str = "1";
/// The royalty split: creator, producer (basis points of 10000).
pub const DEMO_SPLIT: [(&str, u16); 2] = [("creator", 8_000), ("producer", 2_000)];

/// Errors of the demo, each naming the step.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("making the sample with the ffmpeg CLI failed: {0} (apt-get install ffmpeg)")]
    Sample(String),
    #[error("the stack file: {0}")]
    Stack(String),
    #[error("package: {0}")]
    Package(#[from] packager::PackageError),
    #[error("pin: {0}")]
    Pin(#[from] store::StoreError),
    #[error("{step}: {source}")]
    Chain {
        step: &'static str,
        source: Box<ChainError>,
    },
    #[error("the stack has no dev account {0:?}")]
    Account(&'static str),
    #[error("play: {0}")]
    Play(String),
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub ddrm: PathBuf,
    pub cid: String,
    pub content_id: U256,
    /// (label, address, claimable in wei) per royalty holder.
    pub claimable: Vec<(String, Address, U256)>,
}

/// Plays a `.ddrm` for a wallet on the stack; returns the lines to print. The binary passes
/// the player here, so this crate stays free of the wasm host.
pub trait DemoPlayer {
    fn play<'a>(
        &'a mut self,
        stack: &'a StackFile,
        ddrm: &'a Path,
        wallet_key: &'a str,
        out_dir: &'a Path,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<String>, String>> + 'a>>;
}

fn chain_err(step: &'static str) -> impl FnOnce(ChainError) -> DemoError {
    move |source| DemoError::Chain {
        step,
        source: Box::new(source),
    }
}

/// Makes a test clip with the ffmpeg CLI: input 0 is a `testsrc2` pattern of `size` at 24 fps,
/// input 1 a 440 Hz sine, both `seconds` long; `extra` chooses streams and codecs.
/// Frames per second of [`make_test_clip`]'s video.
pub const TEST_CLIP_FPS: u32 = 24;

pub fn make_test_clip(
    path: &Path,
    seconds: u32,
    size: &str,
    extra: &[&str],
) -> Result<(), DemoError> {
    let d = seconds.to_string();
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(format!(
            "testsrc2=duration={d}:size={size}:rate={TEST_CLIP_FPS}"
        ))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=f=440:d={d}"))
        .args(extra)
        .arg(path)
        .status()
        .map_err(|e| DemoError::Sample(e.to_string()))?;
    if !status.success() {
        return Err(DemoError::Sample(format!("ffmpeg exited with {status}")));
    }
    Ok(())
}

/// The ffmpeg codec arguments of the demo's sample, H.264 + AAC (in MP4): what a creator
/// typically has, and what tests package as "a film".
pub const H264_AAC: &[&str] = &[
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "aac",
    "-shortest",
];

/// The demo's sample: H.264 + AAC in MP4.
pub fn make_sample(path: &Path, seconds: u32) -> Result<(), DemoError> {
    make_test_clip(path, seconds, "320x240", H264_AAC)
}

/// Runs the journey in `work_dir` on `stack`, telling `progress` each step.
pub async fn run(
    stack: &StackFile,
    renderer: [u8; 32],
    work_dir: &Path,
    player: Option<&mut dyn DemoPlayer>,
    progress: &mut dyn FnMut(&str),
) -> Result<DemoReport, DemoError> {
    std::fs::create_dir_all(work_dir).map_err(|e| DemoError::Sample(e.to_string()))?;
    let out = package_sample(stack, renderer, work_dir, progress).await?;
    let cid = store::add_and_pin(&stack.store_config(), &out).await?;
    progress(&format!("3. pin: {cid}"));

    let dep = stack
        .deployment()
        .map_err(|e| DemoError::Stack(e.to_string()))?;
    let content_id = mint_sample(stack, &dep, &out, &cid.to_string(), progress).await?;
    let buyer = account(stack, "buyer")?;
    buy_sample(stack, &dep, content_id, progress).await?;

    match player {
        Some(p) => {
            progress("6. play (as the buyer, in the attested capsule):");
            let lines = p
                .play(stack, &out, &buyer.private_key, work_dir)
                .await
                .map_err(DemoError::Play)?;
            for l in lines {
                progress(&format!("   {l}"));
            }
        }
        None => progress("6. play: skipped (no player in this build)"),
    }

    let claimable = royalties(stack, &dep, content_id, progress).await?;
    Ok(DemoReport {
        ddrm: out,
        cid: cid.to_string(),
        content_id,
        claimable,
    })
}

fn account<'a>(stack: &'a StackFile, label: &'static str) -> Result<&'a DevAccount, DemoError> {
    stack
        .dev_accounts
        .get(label)
        .ok_or(DemoError::Account(label))
}

/// Steps 1 and 2: the sample clip, packaged for the stack's licence network with `renderer`.
async fn package_sample(
    stack: &StackFile,
    renderer: [u8; 32],
    work_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, DemoError> {
    let sample = work_dir.join("sample.mp4");
    make_sample(&sample, SAMPLE_SECONDS)?;
    progress(&format!(
        "1. sample: {} ({SAMPLE_SECONDS} s test pattern with a 440 Hz tone)",
        sample.display()
    ));

    let out = work_dir.join("sample.ddrm");
    let _ = std::fs::remove_file(&out);
    let opts = packager::PackageOptions {
        input: sample,
        output: out.clone(),
        group_key: stack.group_key().map_err(DemoError::Stack)?,
        renderers: vec![renderer],
        title: Some("ddrm demo".into()),
        creator: "ddrm up --demo".into(),
        creator_account: account(stack, "creator")?.address,
        as_data: false,
        lossless: false,
        export_key: None,
        description: None,
        thumbnail: None,
        preview: None,
    };
    let report = tokio::task::spawn_blocking(move || packager::package(&opts, &mut |_| {}))
        .await
        .map_err(|e| DemoError::Sample(e.to_string()))??;
    let tracks: Vec<String> = report.tracks.iter().map(|t| t.codec.clone()).collect();
    progress(&format!(
        "2. package: {} ({}, {} segments, content id {})",
        out.display(),
        tracks.join(" + "),
        report.segments,
        report.content_id
    ));
    Ok(out)
}

/// Step 4: the creator registers the content with an 80/20 split; returns its id.
async fn mint_sample(
    stack: &StackFile,
    dep: &Deployment,
    ddrm: &Path,
    cid: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<U256, DemoError> {
    let (creator, producer) = (account(stack, "creator")?, account(stack, "producer")?);
    let as_creator = Chain::connect(
        &stack.chain.rpc,
        Some(creator.signer().map_err(chain_err("mint"))?),
    )
    .await
    .map_err(chain_err("mint"))?;
    let header = ops::read_ddrm_header(ddrm).map_err(chain_err("mint"))?;
    let content_id = header.content_id;
    let price = contracts_bindings::units::parse_amount(DEMO_PRICE, 18)
        .map_err(|e| chain_err("mint")(e.into()))?;
    let mint = ops::MintRequest {
        header,
        cid: cid.to_owned(),
        payment_token: Address::ZERO,
        terms: TermsInput {
            price,
            resale_royalty_bps: 1_000,
            ..TermsInput::default()
        },
        split: vec![
            (creator.address, DEMO_SPLIT[0].1),
            (producer.address, DEMO_SPLIT[1].1),
        ],
    };
    let minted = ops::mint(&as_creator, dep, &mint)
        .await
        .map_err(chain_err("mint"))?;
    progress(&format!(
        "4. mint: content {} at {DEMO_PRICE} ELA, royalty split 80 % creator {} / 20 % producer {} (block {})",
        contracts_bindings::units::content_id_hex(content_id),
        creator.address,
        producer.address,
        minted.block
    ));
    Ok(content_id)
}

/// Step 5: the buyer buys the content.
async fn buy_sample(
    stack: &StackFile,
    dep: &Deployment,
    content_id: U256,
    progress: &mut dyn FnMut(&str),
) -> Result<(), DemoError> {
    let buyer = account(stack, "buyer")?;
    let as_buyer = Chain::connect(
        &stack.chain.rpc,
        Some(buyer.signer().map_err(chain_err("buy"))?),
    )
    .await
    .map_err(chain_err("buy"))?;
    let bought = ops::purchase(&as_buyer, dep, content_id, Purchase::Buy)
        .await
        .map_err(chain_err("buy"))?;
    progress(&format!(
        "5. buy: {} paid {} (block {}), access {}",
        buyer.address,
        bought.token.format(bought.paid),
        bought.block,
        if bought.has_access { "granted" } else { "none" }
    ));
    Ok(())
}

/// Step 7: what each royalty holder can claim.
async fn royalties(
    stack: &StackFile,
    dep: &Deployment,
    content_id: U256,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<(String, Address, U256)>, DemoError> {
    let reader = Chain::connect(&stack.chain.rpc, None)
        .await
        .map_err(chain_err("royalties"))?;
    let mut claimable = Vec::new();
    progress("7. royalties accrued (claimable with `ddrm royalty claim`):");
    for (label, _) in DEMO_SPLIT {
        let who = account(stack, label)?;
        let b = ops::royalty_balance(&reader, dep, who.address, content_id)
            .await
            .map_err(chain_err("royalties"))?;
        progress(&format!(
            "   {label:<8} {} holds {} shares, claimable {}",
            who.address,
            b.shares,
            b.token.format(b.claimable)
        ));
        claimable.push((label.to_owned(), who.address, b.claimable));
    }
    Ok(claimable)
}
