//! `inspect`: a `.ddrm`'s header, without any key.

use super::*;

/// What `ddrm inspect` shows: the header, read and checked without any key.
#[derive(Debug, Serialize)]
pub struct InspectReport {
    pub content_id: ContentId,
    #[serde(serialize_with = "hex32::serialize")]
    pub header_digest: [u8; 32],
    pub format_version: u16,
    pub file_bytes: u64,
    pub header_bytes: u64,
    #[serde(serialize_with = "hex32::serialize")]
    pub key_commitment: [u8; 32],
    #[serde(flatten)]
    pub header: Header,
}

/// Reads the header of a `.ddrm` and checks its structure against the file length.
pub fn inspect(path: &Path) -> Result<InspectReport, PackageError> {
    let file = File::open(path).map_err(|source| PackageError::Input {
        path: path.to_path_buf(),
        source,
    })?;
    let c = Container::open(file).map_err(PackageError::format_at(path))?;
    Ok(InspectReport {
        content_id: c.content_id(),
        header_digest: c.header_digest(),
        format_version: packager_format::VERSION,
        file_bytes: c.head.file_len(),
        header_bytes: c.head.data_start(),
        key_commitment: c.header().key_commitment(),
        header: c.head.header.clone(),
    })
}
