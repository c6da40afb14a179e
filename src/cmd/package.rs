//! `ddrm package`, `ddrm inspect`, `ddrm decrypt`.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use licence_net_protocol::GroupKey;
use packager::{PackageOptions, Progress};
use packager_format::ContentKey;

use super::args::{GroupKeyArgs, OutputArgs, Resolve};

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The file to package: media (any container FFmpeg reads) or any other file.
    pub input: PathBuf,
    /// Where to write the .ddrm.
    #[arg(long, value_name = "FILE.ddrm")]
    pub out: PathBuf,
    #[command(flatten)]
    pub group_key: GroupKeyArgs,
    /// SHA-256 measurement (hex) of a renderer capsule allowed to play it; repeatable.
    /// [default: the player capsule bundled in this ddrm]
    #[arg(long = "renderer", value_name = "HEX")]
    pub renderers: Vec<String>,
    /// Title shown in catalogues (default: the input's file name).
    #[arg(long)]
    pub title: Option<String>,
    /// Creator name shown in catalogues.
    #[arg(long, default_value = "")]
    pub creator: String,
    /// A description shown on the content's page (in the clear, at most 4096 bytes).
    #[arg(long)]
    pub description: Option<String>,
    /// A PNG, JPEG or WebP picture shown in catalogues (in the clear, at most 1 MiB)
    /// [default for video: a frame of the first second; for audio: its cover art].
    #[arg(long, value_name = "IMAGE")]
    pub thumbnail: Option<PathBuf>,
    /// A clear preview anyone may see (at most 8 MiB): a picture of the first pages, a short
    /// MP4 or WebM clip, or an MP3, Ogg or WAV snippet.
    #[arg(long, value_name = "FILE")]
    pub preview: Option<PathBuf>,
    /// The account (0x address) that will register this content with `ddrm mint`. It is part of
    /// the content id and labels the key ciphertext: no other account can register the file,
    /// and the licence network decrypts it only for content that account registered.
    #[arg(long, value_name = "ADDRESS", env = "DDRM_CREATOR_ACCOUNT")]
    pub creator_account: licence_net_protocol::Address,
    /// Package as opaque data even if the input is media.
    #[arg(long)]
    pub data: bool,
    /// Transcode audio that needs it to FLAC instead of AAC-LC.
    #[arg(long)]
    pub lossless: bool,
    /// Also write the content key here (hex, mode 0600): your recovery key. Keep it secret.
    #[arg(long, value_name = "FILE")]
    pub export_key: Option<PathBuf>,
    /// Add the result to the content store, pin it, and print its CID.
    #[arg(long)]
    pub pin: bool,
    #[command(flatten)]
    pub store: super::store::StoreArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl Resolve for PackageArgs {
    fn resolve(&mut self, stack: Option<&stack::StackFile>) -> anyhow::Result<()> {
        self.group_key.resolve(stack)?;
        self.store.resolve(stack)
    }
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The .ddrm file.
    pub file: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The .ddrm file.
    pub file: PathBuf,
    /// The content key, 64 hex digits. Prefer --content-key-file or DDRM_CONTENT_KEY: a key on
    /// the command line shows in the process list.
    #[arg(
        long,
        env = "DDRM_CONTENT_KEY",
        hide_env_values = true,
        conflicts_with = "content_key_file"
    )]
    pub content_key: Option<String>,
    /// A file holding the content key (as written by `ddrm package --export-key`).
    #[arg(long, value_name = "FILE")]
    pub content_key_file: Option<PathBuf>,
    /// Where to write the result: the original bytes for data, Matroska for media.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn load_group_key(path: Option<&Path>) -> anyhow::Result<GroupKey> {
    let path = path.context(
        "missing group key: pass --group-key FILE (group.pub, made by `ddrm licence keygen`)",
    )?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read group key {}", path.display()))?;
    GroupKey::from_json(&text).with_context(|| format!("invalid group key {}", path.display()))
}

fn parse_renderer(s: &str) -> anyhow::Result<[u8; 32]> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    let mut out = [0u8; 32];
    hex::decode_to_slice(h, &mut out)
        .with_context(|| format!("--renderer {s}: expected 64 hex digits (a SHA-256)"))?;
    Ok(out)
}

/// Prints progress on standard error at most twice a second.
struct ProgressLine {
    last: Instant,
    started: Instant,
}

impl ProgressLine {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            last: now - Duration::from_secs(1),
            started: now,
        }
    }

    fn show(&mut self, p: Progress) {
        let now = Instant::now();
        let (done, total, unit) = match p {
            Progress::Bytes { done, total } => (done >> 20, total >> 20, "MiB"),
            Progress::Media { done_ms, total_ms } => (done_ms / 1000, total_ms / 1000, "s"),
        };
        let finished = done >= total;
        if !finished && now.duration_since(self.last) < Duration::from_millis(500) {
            return;
        }
        self.last = now;
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\rpackaging: {pct:3}% ({done}/{total} {unit}, {:.1} s)",
            self.started.elapsed().as_secs_f64()
        );
        if finished {
            let _ = writeln!(err);
        }
    }
}

pub async fn package(args: PackageArgs) -> anyhow::Result<()> {
    let opts = PackageOptions {
        input: args.input.clone(),
        output: args.out.clone(),
        group_key: load_group_key(args.group_key.group_key.as_deref())?,
        renderers: if args.renderers.is_empty() {
            vec![player::bundled_capsule().measurement().0]
        } else {
            args.renderers
                .iter()
                .map(|r| parse_renderer(r))
                .collect::<anyhow::Result<_>>()?
        },
        title: args.title.clone(),
        creator: args.creator.clone(),
        creator_account: args.creator_account,
        as_data: args.data,
        lossless: args.lossless,
        export_key: args.export_key.clone(),
        description: args.description.clone(),
        thumbnail: args.thumbnail.clone(),
        preview: args.preview.clone(),
    };
    let report = tokio::task::spawn_blocking(move || {
        let mut line = ProgressLine::new();
        packager::package(&opts, &mut |p| line.show(p))
    })
    .await??;
    let cid = if args.pin {
        Some(store::add_and_pin(&args.store.config(), &report.output).await?)
    } else {
        None
    };
    /// What `ddrm package` reports: the packaging, and the CID when it was pinned.
    #[derive(serde::Serialize)]
    struct Packaged<'a> {
        #[serde(flatten)]
        report: &'a packager::PackageReport,
        #[serde(skip_serializing_if = "Option::is_none")]
        cid: Option<String>,
    }
    let packaged = Packaged {
        report: &report,
        cid: cid.map(|c| c.to_string()),
    };
    print!(
        "{}",
        args.output.render(&packaged, |p| {
            let (r, mut out) = (p.report, String::new());
            let _ = writeln!(
                out,
                "packaged {} -> {}",
                args.input.display(),
                r.output.display()
            );
            let _ = writeln!(out, "content id      {}", r.content_id);
            let _ = writeln!(out, "creator account {}", r.creator_account);
            let _ = writeln!(out, "header digest   0x{}", hex::encode(r.header_digest));
            let _ = writeln!(out, "key commitment  0x{}", hex::encode(r.key_commitment));
            let _ = writeln!(
                out,
                "kind            {:?}, {}, {} segments, {} bytes",
                r.kind, r.mime_type, r.segments, r.output_bytes
            );
            for t in &r.tracks {
                let _ = writeln!(
                    out,
                    "track           {:?} {} ({} segments)",
                    t.kind, t.codec, t.segments
                );
            }
            if let Some(cid) = &p.cid {
                let _ = writeln!(out, "pinned          {cid}");
            }
            out
        })?
    );
    Ok(())
}

pub fn inspect(args: InspectArgs) -> anyhow::Result<()> {
    let r = packager::inspect(&args.file)?;
    print!("{}", args.output.render(&r, |r| describe(&args.file, r))?);
    Ok(())
}

/// `ddrm inspect`'s summary of a header, for people.
fn describe(file: &Path, r: &packager::InspectReport) -> String {
    let mut out = String::new();
    let h = &r.header;
    let _ = writeln!(out, "{}", file.display());
    let _ = writeln!(out, "content id      {}", r.content_id);
    let _ = writeln!(
        out,
        "format          .ddrm v{} ({:?})",
        r.format_version, h.kind
    );
    let _ = writeln!(out, "title           {}", h.metadata.title);
    let _ = writeln!(out, "creator         {}", h.metadata.creator);
    let _ = writeln!(
        out,
        "creator account {}",
        licence_net_protocol::Address::from(h.creator())
    );
    let _ = writeln!(out, "header digest   0x{}", hex::encode(r.header_digest));
    let _ = writeln!(out, "type            {}", h.metadata.mime_type);
    if h.metadata.duration_ms > 0 {
        let _ = writeln!(
            out,
            "duration        {:.3} s",
            h.metadata.duration_ms as f64 / 1000.0
        );
    }
    let _ = writeln!(out, "original size   {} bytes", h.metadata.original_size);
    let _ = writeln!(
        out,
        "file size       {} bytes ({} header)",
        r.file_bytes, r.header_bytes
    );
    for (i, t) in h.tracks.iter().enumerate() {
        let n = h.segments.iter().filter(|s| s.track as usize == i).count();
        let _ = match t.kind {
            packager_format::TrackKind::Video => writeln!(
                out,
                "track {i}         video {} {}x{} @ {}/{} fps, {n} segments",
                t.codec, t.width, t.height, t.frame_rate_num, t.frame_rate_den
            ),
            packager_format::TrackKind::Audio => writeln!(
                out,
                "track {i}         audio {} {} Hz, {} ch, {n} segments",
                t.codec, t.sample_rate, t.channels
            ),
            packager_format::TrackKind::Data => {
                writeln!(out, "track {i}         data, {n} segments")
            }
        };
    }
    for r in &h.renderers {
        let _ = writeln!(out, "renderer        0x{}", hex::encode(r));
    }
    let _ = writeln!(
        out,
        "licence group   0x{}",
        hex::encode(&h.key.group_key_id)
    );
    let _ = writeln!(out, "key commitment  0x{}", hex::encode(r.key_commitment));
    out
}

fn load_content_key(args: &DecryptArgs) -> anyhow::Result<ContentKey> {
    let text = match (&args.content_key, &args.content_key_file) {
        (Some(k), _) => zeroize::Zeroizing::new(k.clone()),
        (None, Some(f)) => zeroize::Zeroizing::new(
            std::fs::read_to_string(f)
                .with_context(|| format!("cannot read content key file {}", f.display()))?,
        ),
        (None, None) => anyhow::bail!(
            "missing content key: pass --content-key-file FILE (from `ddrm package --export-key`) \
             or set DDRM_CONTENT_KEY"
        ),
    };
    Ok(ContentKey::from_hex(&text)?)
}

pub fn decrypt(args: DecryptArgs) -> anyhow::Result<()> {
    let key = load_content_key(&args)?;
    let r = packager::decrypt(&args.file, &key, &args.out)?;
    print!(
        "{}",
        args.output.render(&r, |r| format!(
            "decrypted {} ({} segments, content id {}) -> {} ({} bytes)\n",
            args.file.display(),
            r.segments,
            r.content_id,
            r.output.display(),
            r.bytes_written
        ))?
    );
    Ok(())
}
