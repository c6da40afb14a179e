//! `package`: a file in, a `.ddrm` out (media through [`crate::media`], anything else in
//! 1 MiB chunks).

use super::*;
use crate::output::{write_private_new, AtomicOutput};
use packager_format::Attachment;

/// What to package and how.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    pub input: PathBuf,
    pub output: PathBuf,
    /// The licence network's group key: the content key is wrapped to it.
    pub group_key: GroupKey,
    /// Measurements of the renderer capsules allowed to play the content.
    pub renderers: Vec<[u8; 32]>,
    /// Shown in catalogues; defaults to the input's file stem.
    pub title: Option<String>,
    /// The creator's name, shown in catalogues.
    pub creator: String,
    /// The account that will register the content on chain: it is part of the content id and
    /// labels the key ciphertext, so no other account can register the file or an alias of it.
    pub creator_account: Address,
    /// Package as data even when the input is media.
    pub as_data: bool,
    /// Transcode audio to FLAC rather than AAC-LC.
    pub lossless: bool,
    /// Also write the content key (hex, mode 0600) here: the creator's recovery key.
    pub export_key: Option<PathBuf>,
    /// Shown on the content's page (in the clear, at most [`MAX_DESCRIPTION`] bytes); kept in
    /// the header's extra metadata under [`DESCRIPTION_KEY`].
    pub description: Option<String>,
    /// A PNG, JPEG or WebP picture (at most [`MAX_THUMBNAIL`]) shown in catalogues, in place
    /// of the one picked from the media.
    pub thumbnail: Option<PathBuf>,
    /// A clear preview anyone may see (at most [`MAX_PREVIEW`]): a picture (of the first
    /// pages, say), a short clip (MP4, WebM) or a snippet of sound (MP3, Ogg, WAV).
    pub preview: Option<PathBuf>,
}

/// Largest preview a creator may give, in bytes.
pub const MAX_PREVIEW: u64 = 8 * 1024 * 1024;

/// The extra-metadata key of a content's description.
pub const DESCRIPTION_KEY: &str = "description";
/// Longest description, in bytes.
pub const MAX_DESCRIPTION: usize = 4096;
/// Largest thumbnail a creator may give, in bytes.
pub const MAX_THUMBNAIL: u64 = 1024 * 1024;

/// The result of [`package`], printed by `ddrm package --json` (and sent by a packaging child,
/// [`crate::job`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageReport {
    pub output: PathBuf,
    pub content_id: ContentId,
    /// Registered on chain beside the content id (`ContentRegistry.register` recomputes the id).
    #[serde(with = "hex32")]
    pub header_digest: [u8; 32],
    pub creator_account: Address,
    #[serde(with = "hex32")]
    pub key_commitment: [u8; 32],
    pub kind: ContentKind,
    pub mime_type: String,
    pub duration_ms: u64,
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub segments: usize,
    pub tracks: Vec<TrackSummary>,
    /// Audio frames decoded by symphonia per audio track during verification.
    pub verified_audio_frames: Vec<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrackSummary {
    pub kind: TrackKind,
    pub codec: String,
    pub segments: usize,
}

/// Packages `opts.input` into `opts.output`.
pub fn package(
    opts: &PackageOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<PackageReport, PackageError> {
    let input_len = check_request(opts)?;
    let key = fresh_key();
    let mut salt = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let header = data_header(opts, input_len, &key, salt)?;

    let probe = if opts.as_data {
        None
    } else {
        media::probe(&opts.input)?
    };
    let out = AtomicOutput::new(&opts.output)?;
    let (head, out, verified) = match probe {
        None => {
            let (head, out) = package_data(opts, header, &key, salt, out, progress)?;
            (head, out, Vec::new())
        }
        Some(probe) => package_media(opts, header, &key, salt, &probe, out, progress)?,
    };
    let report = report(opts, &head, input_len, verified);
    if let Some(k) = &opts.export_key {
        let hex = key.to_hex();
        write_private_new(k, format!("{}\n", &*hex).as_bytes())?;
    }
    out.commit()?;
    Ok(report)
}

/// Refuses what cannot be packaged before any work: an input that is not a regular file, a
/// recovery key file that exists, a zero creator account. Returns the input's length.
fn check_request(opts: &PackageOptions) -> Result<u64, PackageError> {
    let input_meta = std::fs::metadata(&opts.input).map_err(|source| PackageError::Input {
        path: opts.input.clone(),
        source,
    })?;
    if !input_meta.is_file() {
        return Err(PackageError::Invalid(format!(
            "{} is not a regular file",
            opts.input.display()
        )));
    }
    if let Some(k) = &opts.export_key {
        if k.exists() {
            return Err(PackageError::Exists { path: k.clone() });
        }
    }
    if outfile::writes_in_place(&opts.output) {
        return Err(PackageError::Invalid(format!(
            "{} is not a regular file: a .ddrm is written whole and read back to verify it; \
             package to a file",
            opts.output.display()
        )));
    }
    if opts.creator_account == Address::ZERO {
        return Err(PackageError::Invalid(
            "the creator account must not be the zero address".into(),
        ));
    }
    if opts
        .description
        .as_ref()
        .is_some_and(|d| d.len() > MAX_DESCRIPTION)
    {
        return Err(PackageError::Invalid(format!(
            "the description is longer than {MAX_DESCRIPTION} bytes"
        )));
    }
    Ok(input_meta.len())
}

/// A kind of clear attachment a creator may give.
struct AttachmentKind {
    what: &'static str,
    max: u64,
    /// Its MIME type from its first bytes; `None`: not of this kind.
    sniff: fn(&[u8]) -> Option<&'static str>,
    /// The types it may be, as a refusal names them.
    kinds: &'static str,
}

const THUMBNAIL: AttachmentKind = AttachmentKind {
    what: "thumbnail",
    max: MAX_THUMBNAIL,
    sniff: image_type,
    kinds: "a PNG, JPEG or WebP image",
};

const PREVIEW: AttachmentKind = AttachmentKind {
    what: "preview",
    max: MAX_PREVIEW,
    sniff: preview_type,
    kinds: "a picture (PNG, JPEG, WebP), a clip (MP4, WebM) or a sound (MP3, Ogg, WAV)",
};

/// The attachment at `path`, when given: at most `kind.max` bytes of a type `kind.sniff`
/// recognises by its signature (the file's name is not trusted).
fn read_attachment(
    path: Option<&Path>,
    kind: &AttachmentKind,
) -> Result<Option<Attachment>, PackageError> {
    let Some(path) = path else { return Ok(None) };
    let AttachmentKind {
        what,
        max,
        sniff,
        kinds,
    } = kind;
    let max = *max;
    let input = |source| PackageError::Input {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(input)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(input)?;
    if bytes.len() as u64 > max {
        return Err(PackageError::Invalid(format!(
            "the {what} {} is larger than {max} bytes",
            path.display()
        )));
    }
    let mime_type = sniff(&bytes).ok_or_else(|| {
        PackageError::Invalid(format!("the {what} {} is not {kinds}", path.display()))
    })?;
    Ok(Some(Attachment {
        mime_type: mime_type.into(),
        bytes,
    }))
}

/// The MIME type of a preview by its first bytes: a picture ([`image_type`]), an MP4 or WebM
/// clip, or MP3, Ogg or WAV sound.
pub fn preview_type(bytes: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
    image_type(bytes).or(if at(4, b"ftyp") {
        Some("video/mp4")
    } else if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("video/webm")
    } else if at(0, b"ID3") || (bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0) {
        Some("audio/mpeg")
    } else if at(0, b"OggS") {
        Some("audio/ogg")
    } else if at(0, b"RIFF") && at(8, b"WAVE") {
        Some("audio/wav")
    } else {
        None
    })
}

/// The MIME type of a PNG, JPEG or WebP image by its first bytes.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The header of `opts.input` as a data file, with `key` wrapped to the group key for the
/// creator's account. Media packaging fills in the kind, tracks and media metadata later.
fn data_header(
    opts: &PackageOptions,
    input_len: u64,
    key: &ContentKey,
    salt: [u8; 32],
) -> Result<Header, PackageError> {
    let name = opts
        .input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let title = opts.title.clone().unwrap_or_else(|| {
        opts.input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let ciphertext = opts
        .group_key
        .encrypt(&opts.creator_account, key.as_bytes())
        .map_err(|e| PackageError::Invalid(e.to_string()))?;
    Ok(Header {
        salt: salt.to_vec(),
        creator_account: opts.creator_account.into_array(),
        kind: ContentKind::Data,
        metadata: Metadata {
            title,
            creator: opts.creator.clone(),
            mime_type: guess_mime(&opts.input).to_string(),
            original_size: input_len,
            original_name: name,
            thumbnail: read_attachment(opts.thumbnail.as_deref(), &THUMBNAIL)?,
            preview: read_attachment(opts.preview.as_deref(), &PREVIEW)?,
            extra: opts
                .description
                .iter()
                .map(|d| (DESCRIPTION_KEY.to_owned(), d.clone()))
                .collect(),
            ..Metadata::default()
        },
        tracks: vec![Track::data()],
        renderers: opts.renderers.clone(),
        key: KeyEnvelope {
            scheme: KEY_SCHEME_LABELLED_BLS12_381,
            group_key_id: opts.group_key.id().to_vec(),
            ciphertext,
        },
        segments: Vec::new(),
    })
}

/// What [`package`] made, from the sealed header.
fn report(
    opts: &PackageOptions,
    head: &EncodedHeader,
    input_len: u64,
    verified_audio_frames: Vec<u64>,
) -> PackageReport {
    let header = &head.header;
    PackageReport {
        output: opts.output.clone(),
        content_id: head.content_id(),
        header_digest: head.header_digest(),
        creator_account: opts.creator_account,
        key_commitment: header.key_commitment(),
        kind: header.kind,
        mime_type: header.metadata.mime_type.clone(),
        duration_ms: header.metadata.duration_ms,
        input_bytes: input_len,
        output_bytes: head.file_len(),
        segments: header.segments.len(),
        tracks: track_summaries(header),
        verified_audio_frames,
    }
}

fn track_summaries(header: &Header) -> Vec<TrackSummary> {
    header
        .tracks
        .iter()
        .enumerate()
        .map(|(i, t)| TrackSummary {
            kind: t.kind,
            codec: t.codec.clone(),
            segments: header
                .segments
                .iter()
                .filter(|s| s.track as usize == i)
                .count(),
        })
        .collect()
}

fn fresh_key() -> ContentKey {
    let mut k = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(k.as_mut());
    ContentKey::from_bytes(*k)
}

/// The segment table of a data file of `len` bytes: 1 MiB chunks, pts = byte offset.
fn data_table(len: u64) -> Result<Vec<SegmentEntry>, PackageError> {
    let chunk = DATA_CHUNK as u64;
    let count = len.div_ceil(chunk);
    if count > packager_format::limits::SEGMENTS as u64 {
        return Err(PackageError::Invalid(format!(
            "input of {len} bytes is over the largest data file a .ddrm holds ({} bytes)",
            packager_format::limits::SEGMENTS as u64 * chunk
        )));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut offset = 0u64;
    for i in 0..count {
        let plain = chunk.min(len - i * chunk);
        let size = (plain as usize + TAG_LEN) as u32;
        out.push(SegmentEntry {
            track: 0,
            offset,
            size,
            pts: (i * chunk) as i64,
            duration: plain as u32,
            flags: SEGMENT_KEYFRAME,
        });
        offset += u64::from(size);
    }
    Ok(out)
}

/// Data files: the table is known from the length, so the header goes first and the chunks
/// stream after it in one pass.
fn package_data(
    opts: &PackageOptions,
    mut header: Header,
    key: &ContentKey,
    salt: [u8; 32],
    mut out: AtomicOutput,
    progress: &mut dyn FnMut(Progress),
) -> Result<(EncodedHeader, AtomicOutput), PackageError> {
    let total = header.metadata.original_size;
    header.segments = data_table(total)?;
    let mut sealer = SegmentSealer::new(key, salt);
    let head = sealer
        .seal_planned(&header)
        .map_err(PackageError::format_at(&opts.output))?;
    out.write_all(&head.encoded)?;
    out.write_all(&head.tag)?;

    let input = File::open(&opts.input).map_err(|source| PackageError::Input {
        path: opts.input.clone(),
        source,
    })?;
    let mut input = BufReader::with_capacity(DATA_CHUNK, input);
    let mut buf = Vec::with_capacity(DATA_CHUNK + TAG_LEN);
    let mut done = 0u64;
    for planned in &header.segments {
        buf.clear();
        buf.resize(planned.plain_len(), 0);
        input
            .read_exact(&mut buf)
            .map_err(|_| PackageError::InputChanged(opts.input.clone()))?;
        let entry = sealer
            .seal_next(0, planned.pts, planned.duration, planned.flags, &mut buf)
            .map_err(PackageError::format_at(&opts.output))?;
        debug_assert_eq!(&entry, planned);
        out.write_all(&buf)?;
        done += planned.duration as u64;
        if done.is_multiple_of(64 * DATA_CHUNK as u64) || done == total {
            progress(Progress::Bytes { done, total });
        }
    }
    if input
        .read(&mut [0u8; 1])
        .map_err(|source| PackageError::Input {
            path: opts.input.clone(),
            source,
        })?
        != 0
    {
        return Err(PackageError::InputChanged(opts.input.clone()));
    }
    Ok((head, out))
}

/// Media: segments come out as transcoding goes, so they are spooled (sealed) beside the
/// output and the file is assembled once the table is known.
fn package_media(
    opts: &PackageOptions,
    mut header: Header,
    key: &ContentKey,
    salt: [u8; 32],
    probe: &media::MediaProbe,
    mut out: AtomicOutput,
    progress: &mut dyn FnMut(Progress),
) -> Result<(EncodedHeader, AtomicOutput, Vec<u64>), PackageError> {
    let spool_err = |source| PackageError::Output {
        path: opts.output.clone(),
        source,
    };
    let mut spool = tempfile::tempfile_in(out.dir()).map_err(spool_err)?;
    let mut sealer = SegmentSealer::new(key, salt);
    let mopts = media::MediaOptions {
        lossless: opts.lossless,
        ..media::MediaOptions::default()
    };
    let mut sink_error = None;
    let summary = {
        let mut sink = |seg: media::MediaSegment| -> Result<(), media::MediaError> {
            let mut buf = packager_format::encode_packets(&seg.packets);
            let flags = if seg.keyframe { SEGMENT_KEYFRAME } else { 0 };
            let sealed = sealer
                .seal_next(seg.track, seg.pts, seg.duration, flags, &mut buf)
                .map_err(PackageError::format_at(&opts.output))
                .and_then(|_| spool.write_all(&buf).map_err(spool_err));
            sealed.map_err(|e| {
                let msg = e.to_string();
                sink_error = Some(e);
                media::MediaError::sink(msg)
            })
        };
        let mut on_progress = |done_ms, total_ms| progress(Progress::Media { done_ms, total_ms });
        media::package_media(&opts.input, probe, &mopts, &mut on_progress, &mut sink)
    };
    let summary = match (summary, sink_error) {
        (_, Some(e)) => return Err(e),
        (r, None) => r?,
    };
    header.kind = ContentKind::Media;
    header.tracks = summary.tracks;
    header.metadata.duration_ms = summary.duration_ms;
    header.metadata.mime_type = summary.mime_type;
    // A creator's own thumbnail wins over the one picked from the media.
    if header.metadata.thumbnail.is_none() {
        header.metadata.thumbnail = summary.thumbnail;
    }
    let head = sealer
        .finish(header)
        .map_err(PackageError::format_at(&opts.output))?;
    out.write_all(&head.encoded)?;
    out.write_all(&head.tag)?;
    std::io::Seek::rewind(&mut spool).map_err(spool_err)?;
    out.copy_from(&mut spool)?;
    drop(spool);

    // Read the packaged file back and decode every audio track with symphonia.
    let file = out.reopen()?;
    let mut unlocked = Container::open(file)
        .and_then(|c| c.unlock(key))
        .map_err(PackageError::format_at(&opts.output))?;
    let mut verified = Vec::new();
    for (t, track) in unlocked.header().tracks.clone().iter().enumerate() {
        if track.kind != TrackKind::Audio {
            continue;
        }
        let mut read_error = None;
        let mut packets = TrackPackets::new(&mut unlocked, t as u32)
            .map_while(|p| p.map_err(|e| read_error = Some(e)).ok());
        let frames = media::verify_audio_track(t as u32, track, &mut packets);
        if let Some(source) = read_error {
            return Err(PackageError::format_at(&opts.output)(source));
        }
        verified.push(frames?);
    }
    Ok((head, out, verified))
}

/// Iterates over the decrypted packets of one track, in table order.
struct TrackPackets<'a, S: packager_format::ByteSource> {
    unlocked: &'a mut packager_format::Unlocked<S>,
    track: u32,
    next_segment: usize,
    pending: std::vec::IntoIter<packager_format::Packet>,
    buf: Vec<u8>,
}

impl<'a, S: packager_format::ByteSource> TrackPackets<'a, S> {
    fn new(unlocked: &'a mut packager_format::Unlocked<S>, track: u32) -> Self {
        Self {
            unlocked,
            track,
            next_segment: 0,
            pending: Vec::new().into_iter(),
            buf: Vec::new(),
        }
    }
}

impl<S: packager_format::ByteSource> Iterator for TrackPackets<'_, S> {
    type Item = Result<packager_format::Packet, FormatError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(p) = self.pending.next() {
                return Some(Ok(p));
            }
            let segs = &self.unlocked.header().segments;
            let i = (self.next_segment..segs.len()).find(|&i| segs[i].track == self.track)?;
            self.next_segment = i + 1;
            let packets = self
                .unlocked
                .segment(i, &mut self.buf)
                .and_then(|_| packager_format::decode_packets(&self.buf));
            match packets {
                Ok(p) => self.pending = p.into_iter(),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// A MIME type from the file extension, for data files.
pub fn guess_mime(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "epub" => "application/epub+zip",
        "zip" => "application/zip",
        "json" => "application/json",
        "csv" => "text/csv",
        "txt" | "md" => "text/plain",
        "html" | "htm" => "text/html",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gltf" => "model/gltf+json",
        "glb" => "model/gltf-binary",
        "wasm" => "application/wasm",
        "tar" => "application/x-tar",
        "gz" | "tgz" => "application/gzip",
        "parquet" => "application/vnd.apache.parquet",
        _ => "application/octet-stream",
    }
}
