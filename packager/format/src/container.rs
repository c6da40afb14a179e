//! Reading and writing whole containers.
//!
//! File layout: `preamble (16) | header body | header tag (16) | sealed segments`. The segments
//! tile the rest of the file exactly, in table order, so every byte of a file is covered by the
//! header tag or by a segment tag.

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::header::{
    content_id_for, header_digest_of, ContentId, Header, SegmentEntry, PREAMBLE_LEN, TAG_LEN,
};
use crate::seal::{ContentKey, Sealer};
use crate::FormatError;

/// Random-access reads of a container's bytes: a file, a memory buffer, or the capsule host.
pub trait ByteSource {
    /// Total length in bytes.
    fn len(&mut self) -> io::Result<u64>;
    /// Whether the source holds no bytes.
    fn is_empty(&mut self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Fills `buf` from `offset`; a short source is an `UnexpectedEof` error.
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
}

impl<T: Read + Seek> ByteSource for T {
    fn len(&mut self) -> io::Result<u64> {
        self.seek(SeekFrom::End(0))
    }
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.seek(SeekFrom::Start(offset))?;
        self.read_exact(buf)
    }
}

/// A parsed header with the exact bytes it was read from.
#[derive(Debug, Clone)]
pub struct EncodedHeader {
    pub header: Header,
    /// Preamble + body, as in the file.
    pub encoded: Vec<u8>,
    pub tag: [u8; TAG_LEN],
}

impl EncodedHeader {
    /// Encodes `header` and seals it with `sealer`.
    pub fn seal(header: Header, sealer: &Sealer) -> Result<Self, FormatError> {
        let encoded = header.encode()?;
        let tag = sealer.header_tag(&encoded);
        Ok(Self {
            header,
            encoded,
            tag,
        })
    }

    /// Reads preamble, body and tag from the start of a stream. Checks structure, not the tag
    /// (that needs the content key).
    pub fn read_from(r: &mut impl Read) -> Result<Self, FormatError> {
        let mut pre = [0u8; PREAMBLE_LEN];
        read_full(r, &mut pre, "preamble")?;
        let body_len = Header::parse_preamble(&pre)?;
        let mut encoded = Vec::with_capacity(PREAMBLE_LEN + body_len);
        encoded.extend_from_slice(&pre);
        encoded.resize(PREAMBLE_LEN + body_len, 0);
        read_full(r, &mut encoded[PREAMBLE_LEN..], "header")?;
        let mut tag = [0u8; TAG_LEN];
        read_full(r, &mut tag, "header tag")?;
        let header = Header::decode(&encoded)?;
        Ok(Self {
            header,
            encoded,
            tag,
        })
    }

    pub fn content_id(&self) -> ContentId {
        content_id_for(self.header.creator_account, self.header_digest())
    }

    /// The digest of the encoded header, registered on chain beside the content id.
    pub fn header_digest(&self) -> [u8; 32] {
        header_digest_of(&self.encoded)
    }

    /// Offset of the first segment byte in the file.
    pub fn data_start(&self) -> u64 {
        (self.encoded.len() + TAG_LEN) as u64
    }

    /// Total file length this header describes.
    pub fn file_len(&self) -> u64 {
        self.data_start() + self.header.data_len()
    }

    /// Writes preamble, body and tag.
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.encoded)?;
        w.write_all(&self.tag)
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8], what: &'static str) -> Result<(), FormatError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FormatError::Truncated { what },
        _ => FormatError::Io(e),
    })
}

/// An opened container whose structure has been checked against its length.
pub struct Container<S: ByteSource> {
    source: S,
    pub head: EncodedHeader,
}

impl<S: ByteSource> Container<S> {
    /// Reads and checks the header; the file must be exactly as long as the header says.
    pub fn open(mut source: S) -> Result<Self, FormatError> {
        let len = source.len()?;
        let head = {
            let mut r = SourceReader {
                source: &mut source,
                pos: 0,
            };
            EncodedHeader::read_from(&mut r)?
        };
        let expected = head.file_len();
        if len < expected {
            return Err(FormatError::Truncated {
                what: "segment data",
            });
        }
        if len > expected {
            return Err(FormatError::TrailingBytes {
                extra: len - expected,
            });
        }
        Ok(Self { source, head })
    }

    pub fn header(&self) -> &Header {
        &self.head.header
    }

    pub fn content_id(&self) -> ContentId {
        self.head.content_id()
    }

    /// The digest of the encoded header, registered on chain beside the content id.
    pub fn header_digest(&self) -> [u8; 32] {
        self.head.header_digest()
    }

    /// Gives back the byte source (e.g. to hand it on after reading the clear header).
    pub fn into_source(self) -> S {
        self.source
    }

    /// Verifies the header tag under `key`; the result decrypts segments.
    pub fn unlock(self, key: &ContentKey) -> Result<Unlocked<S>, FormatError> {
        let sealer = Sealer::new(key, &self.head.header.salt32());
        sealer.verify_header(&self.head.encoded, &self.head.tag)?;
        Ok(Unlocked {
            container: self,
            sealer,
        })
    }

    /// Reads the sealed bytes of segment `index`.
    pub fn read_sealed(
        &mut self,
        index: usize,
        buf: &mut Vec<u8>,
    ) -> Result<SegmentEntry, FormatError> {
        let entry = *self
            .head
            .header
            .segments
            .get(index)
            .ok_or(FormatError::NoSuchSegment(index))?;
        buf.clear();
        buf.resize(entry.size as usize, 0);
        self.source
            .read_exact_at(self.head.data_start() + entry.offset, buf)?;
        Ok(entry)
    }
}

/// A container whose header tag verified: segments can be decrypted one at a time, in any order.
pub struct Unlocked<S: ByteSource> {
    container: Container<S>,
    sealer: Sealer,
}

impl<S: ByteSource> Unlocked<S> {
    pub fn header(&self) -> &Header {
        self.container.header()
    }

    pub fn content_id(&self) -> ContentId {
        self.container.content_id()
    }

    /// The digest of the encoded header, registered on chain beside the content id.
    pub fn header_digest(&self) -> [u8; 32] {
        self.container.header_digest()
    }

    /// Reads, verifies and decrypts segment `index` into `buf` (reused across calls).
    pub fn segment(
        &mut self,
        index: usize,
        buf: &mut Vec<u8>,
    ) -> Result<SegmentEntry, FormatError> {
        let entry = self.container.read_sealed(index, buf)?;
        self.sealer.open_segment(index as u64, &entry, buf)?;
        Ok(entry)
    }

    /// Verifies every segment without keeping any plaintext: a whole-file integrity check.
    pub fn verify_all(&mut self) -> Result<(), FormatError> {
        let mut buf = Vec::new();
        for i in 0..self.header().segments.len() {
            self.segment(i, &mut buf)?;
        }
        zeroize::Zeroize::zeroize(&mut buf);
        Ok(())
    }
}

struct SourceReader<'a, S: ByteSource> {
    source: &'a mut S,
    pos: u64,
}

impl<S: ByteSource> Read for SourceReader<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.source.len()?;
        let n = (len.saturating_sub(self.pos)).min(buf.len() as u64) as usize;
        self.source.read_exact_at(self.pos, &mut buf[..n])?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Seals segments one after another and keeps the table; the header is written last, by the
/// caller, through [`SegmentSealer::finish`].
///
/// Sealing does not depend on the header, so a writer that knows the table in advance can write
/// the header first and stream the segments after it, and one that does not can spool them: both
/// give byte-identical files.
pub struct SegmentSealer {
    sealer: Sealer,
    salt: [u8; 32],
    table: Vec<SegmentEntry>,
    next_offset: u64,
}

impl SegmentSealer {
    pub fn new(key: &ContentKey, salt: [u8; 32]) -> Self {
        Self {
            sealer: Sealer::new(key, &salt),
            salt,
            table: Vec::new(),
            next_offset: 0,
        }
    }

    /// Seals `buf` (plaintext in, sealed bytes out) as the next segment of `track`.
    pub fn seal_next(
        &mut self,
        track: u32,
        pts: i64,
        duration: u32,
        flags: u8,
        buf: &mut Vec<u8>,
    ) -> Result<SegmentEntry, FormatError> {
        crate::limits::check_len("segment", buf.len(), crate::limits::SEGMENT)?;
        let index = self.table.len() as u64;
        let mut entry = SegmentEntry {
            track,
            offset: self.next_offset,
            size: (buf.len() + TAG_LEN) as u32,
            pts,
            duration,
            flags,
        };
        self.sealer.seal_segment(index, &entry, buf);
        entry.size = buf.len() as u32;
        self.next_offset += u64::from(entry.size);
        self.table.push(entry);
        Ok(entry)
    }

    /// The segment table so far.
    pub fn table(&self) -> &[SegmentEntry] {
        &self.table
    }

    /// Completes `header` (its salt and table are set here) and seals it.
    pub fn finish(self, mut header: Header) -> Result<EncodedHeader, FormatError> {
        header.salt = self.salt.to_vec();
        header.segments = self.table;
        EncodedHeader::seal(header, &self.sealer)
    }

    /// Seals a header for a table known in advance (`header.segments` already filled), so the
    /// caller can write it before the segments. The table the segments then produce must match.
    pub fn seal_planned(&self, header: &Header) -> Result<EncodedHeader, FormatError> {
        let mut h = header.clone();
        h.salt = self.salt.to_vec();
        EncodedHeader::seal(h, &self.sealer)
    }
}
