//! `decrypt`: the creator's recovery path with the content key (data bit for bit, media
//! remuxed into Matroska); every segment verifies before any plaintext is written.

use super::*;
use crate::output::AtomicOutput;

/// The result of [`decrypt`].
#[derive(Debug, Serialize)]
pub struct DecryptReport {
    pub output: PathBuf,
    pub content_id: ContentId,
    pub kind: ContentKind,
    pub bytes_written: u64,
    pub segments: usize,
}

/// Decrypts `input` with the content key into `output`. Every segment is verified before any
/// plaintext is written; data comes back bit for bit, media as Matroska.
pub fn decrypt(
    input: &Path,
    key: &ContentKey,
    output: &Path,
) -> Result<DecryptReport, PackageError> {
    let fmt_err = PackageError::format_at(input);
    let file = File::open(input).map_err(|source| PackageError::Input {
        path: input.to_path_buf(),
        source,
    })?;
    let mut unlocked = Container::open(file)
        .and_then(|c| c.unlock(key))
        .map_err(fmt_err)?;
    unlocked.verify_all().map_err(fmt_err)?;
    let content_id = unlocked.content_id();
    let kind = unlocked.header().kind;
    let segments = unlocked.header().segments.len();
    let mut out = AtomicOutput::new(output)?;
    match kind {
        ContentKind::Data => {
            let mut buf = Vec::new();
            for i in 0..segments {
                unlocked.segment(i, &mut buf).map_err(fmt_err)?;
                out.write_all(&buf)?;
            }
            zeroize::Zeroize::zeroize(&mut buf);
        }
        ContentKind::Media => {
            let header = unlocked.header().clone();
            let mut buf = Vec::new();
            let mut iter = (0..segments).map(|i| {
                let entry = unlocked
                    .segment(i, &mut buf)
                    .map_err(media::MediaError::sink)?;
                let packets =
                    packager_format::decode_packets(&buf).map_err(media::MediaError::sink)?;
                Ok((entry, packets))
            });
            media::remux(&header, &mut iter, out.temp_path())?;
        }
    }
    let bytes_written = out.commit()?;
    Ok(DecryptReport {
        output: output.to_path_buf(),
        content_id,
        kind,
        bytes_written,
        segments,
    })
}
