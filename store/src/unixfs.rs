//! UnixFS v1 files as kubo builds them with `ipfs add --cid-version=1`: 256 KiB chunks
//! stored as raw blocks, joined by dag-pb nodes of at most 174 links in a balanced tree.
//!
//! The protobuf messages are few and small, so they are encoded and decoded by hand here:
//!
//! ```text
//! PBNode { Links = 2: repeated PBLink; Data = 1: bytes }   // links are written first
//! PBLink { Hash = 1: bytes; Name = 2: string; Tsize = 3: uint64 }
//! UnixFS Data { Type = 1: enum (Raw 0, File 2, ...); Data = 2: bytes;
//!               filesize = 3: uint64; blocksizes = 4: repeated uint64 }
//! ```

use std::io::{self, Read};
use std::path::Path;

use crate::cid::{take_varint, Cid, Codec};
use crate::error::StoreError;

/// Bytes per leaf: kubo's default chunker, `size-262144`.
pub const CHUNK_SIZE: usize = 262_144;
/// Links per dag-pb node in kubo's balanced layout.
pub const MAX_LINKS: usize = 174;

const WIRE_VARINT: u64 = 0;
const WIRE_I64: u64 = 1;
const WIRE_LEN: u64 = 2;
const WIRE_I32: u64 = 5;

/// UnixFS `Data.Type` values this crate reads as file content.
const UNIXFS_RAW: u64 = 0;
const UNIXFS_FILE: u64 = 2;

/// Receives every block an import produces, children before parents.
pub(crate) type PutBlock<'a> = dyn FnMut(&Cid, &[u8]) -> Result<(), StoreError> + 'a;

/// A link to a finished subtree, with what its parent must record about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    pub cid: Cid,
    /// Encoded size of the subtree's blocks (dag-pb `Tsize`).
    pub tsize: u64,
    /// File bytes the subtree holds (UnixFS `blocksizes` entry).
    pub file_size: u64,
}

/// Chunks `reader` and builds the balanced DAG, handing each block to `put`.
/// Holds one chunk and at most `MAX_LINKS` links per tree level in memory.
pub(crate) fn import(
    reader: &mut dyn Read,
    source: &Path,
    put: &mut PutBlock<'_>,
) -> Result<Cid, StoreError> {
    let mut chunk = vec![0u8; CHUNK_SIZE];
    let mut layout = BalancedLayout::default();
    let mut leaves = 0u64;
    loop {
        let filled = read_full(reader, &mut chunk).map_err(|e| StoreError::io(source, e))?;
        // An empty input still yields one (empty) raw leaf, as in kubo.
        if filled == 0 && leaves > 0 {
            break;
        }
        let bytes = &chunk[..filled];
        let cid = Cid::for_block(Codec::Raw, bytes);
        put(&cid, bytes)?;
        let size = filled as u64;
        layout.push_leaf(
            Link {
                cid,
                tsize: size,
                file_size: size,
            },
            put,
        )?;
        leaves += 1;
        if filled < CHUNK_SIZE {
            break;
        }
    }
    let root = layout.finish(put)?;
    Ok(root.cid)
}

fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Kubo's balanced layout, built bottom-up as leaves stream in: a level is sealed into a
/// parent node as soon as it holds `MAX_LINKS` links. This gives the same tree as kubo's
/// top-down filling, because both keep every leaf at the same depth and fill nodes from the
/// left.
#[derive(Debug, Default)]
pub(crate) struct BalancedLayout {
    /// Unsealed links per level; level 0 holds leaves.
    levels: Vec<Vec<Link>>,
}

impl BalancedLayout {
    pub(crate) fn push_leaf(
        &mut self,
        leaf: Link,
        put: &mut PutBlock<'_>,
    ) -> Result<(), StoreError> {
        self.push(0, leaf, put)
    }

    fn push(&mut self, level: usize, link: Link, put: &mut PutBlock<'_>) -> Result<(), StoreError> {
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        self.levels[level].push(link);
        if self.levels[level].len() == MAX_LINKS {
            let links = std::mem::take(&mut self.levels[level]);
            let parent = seal(&links, put)?;
            self.push(level + 1, parent, put)?;
        }
        Ok(())
    }

    /// Seals the partly filled levels and returns the root. The root of a single leaf is that
    /// leaf itself; a pushed leaf is required.
    pub(crate) fn finish(mut self, put: &mut PutBlock<'_>) -> Result<Link, StoreError> {
        let mut level = 0;
        while level < self.levels.len() {
            let nothing_above = self.levels[level + 1..].iter().all(Vec::is_empty);
            if nothing_above && self.levels[level].len() == 1 {
                if let Some(root) = self.levels[level].pop() {
                    return Ok(root);
                }
            }
            if !self.levels[level].is_empty() {
                let links = std::mem::take(&mut self.levels[level]);
                let parent = seal(&links, put)?;
                self.push(level + 1, parent, put)?;
            }
            level += 1;
        }
        Err(StoreError::Task(
            "balanced layout finished without any leaf".into(),
        ))
    }
}

fn seal(links: &[Link], put: &mut PutBlock<'_>) -> Result<Link, StoreError> {
    let bytes = encode_file_node(links);
    let cid = Cid::for_block(Codec::DagPb, &bytes);
    put(&cid, &bytes)?;
    Ok(Link {
        cid,
        tsize: bytes.len() as u64 + links.iter().map(|l| l.tsize).sum::<u64>(),
        file_size: links.iter().map(|l| l.file_size).sum(),
    })
}

/// The dag-pb bytes of a UnixFS file node over `links`, byte for byte as kubo writes them:
/// each link with an empty name, then the UnixFS data (type, filesize, blocksizes).
pub(crate) fn encode_file_node(links: &[Link]) -> Vec<u8> {
    let mut unixfs = Vec::with_capacity(8 + links.len() * 5);
    put_varint_field(&mut unixfs, 1, UNIXFS_FILE);
    put_varint_field(
        &mut unixfs,
        3,
        links.iter().map(|l| l.file_size).sum::<u64>(),
    );
    for link in links {
        put_varint_field(&mut unixfs, 4, link.file_size);
    }

    let mut node = Vec::with_capacity(links.len() * 48 + unixfs.len() + 4);
    let mut encoded_link = Vec::with_capacity(48);
    for link in links {
        encoded_link.clear();
        put_bytes_field(&mut encoded_link, 1, &link.cid.to_bytes());
        put_bytes_field(&mut encoded_link, 2, b"");
        put_varint_field(&mut encoded_link, 3, link.tsize);
        put_bytes_field(&mut node, 2, &encoded_link);
    }
    put_bytes_field(&mut node, 1, &unixfs);
    node
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_varint_field(out: &mut Vec<u8>, field: u64, value: u64) {
    put_varint(out, field << 3 | WIRE_VARINT);
    put_varint(out, value);
}

fn put_bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, field << 3 | WIRE_LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A decoded dag-pb node.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PbNode<'a> {
    pub links: Vec<PbLink>,
    pub data: Option<&'a [u8]>,
}

/// A decoded dag-pb link (its name is not needed to read files).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PbLink {
    pub cid: Cid,
    pub tsize: Option<u64>,
}

/// The parts of a UnixFS `Data` message needed to read a file.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct FileData<'a> {
    /// Bytes held by the node itself, before those of its children.
    pub data: &'a [u8],
    pub filesize: Option<u64>,
    pub blocksizes: Vec<u64>,
}

/// A protobuf field: its number and its value.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

fn take_field<'a>(input: &mut &'a [u8]) -> Result<(u64, Field<'a>), String> {
    let key = take_varint(input).ok_or("truncated field key")?;
    let number = key >> 3;
    let field = match key & 7 {
        WIRE_VARINT => Field::Varint(take_varint(input).ok_or("truncated varint")?),
        WIRE_LEN => {
            let len = take_varint(input).ok_or("truncated length")?;
            let len = usize::try_from(len)
                .ok()
                .filter(|&len| len <= input.len())
                .ok_or("length past end of block")?;
            let (bytes, rest) = input.split_at(len);
            *input = rest;
            Field::Bytes(bytes)
        }
        wire @ (WIRE_I64 | WIRE_I32) => {
            let len = if wire == WIRE_I64 { 8 } else { 4 };
            if input.len() < len {
                return Err("truncated fixed-width field".into());
            }
            *input = &input[len..];
            Field::Fixed
        }
        other => return Err(format!("unsupported protobuf wire type {other}")),
    };
    Ok((number, field))
}

/// Decodes a dag-pb block, which admits only `Data` (1) and `Links` (2).
pub(crate) fn decode_pb_node(block: &[u8]) -> Result<PbNode<'_>, String> {
    let mut input = block;
    let mut node = PbNode::default();
    while !input.is_empty() {
        match take_field(&mut input)? {
            (1, Field::Bytes(data)) => node.data = Some(data),
            (2, Field::Bytes(link)) => node.links.push(decode_pb_link(link)?),
            (number, _) => return Err(format!("unexpected dag-pb field {number}")),
        }
    }
    Ok(node)
}

fn decode_pb_link(mut input: &[u8]) -> Result<PbLink, String> {
    let mut cid = None;
    let mut tsize = None;
    while !input.is_empty() {
        match take_field(&mut input)? {
            (1, Field::Bytes(hash)) => {
                cid = Some(Cid::from_bytes(hash).map_err(|e| format!("link hash: {e}"))?)
            }
            (2, Field::Bytes(_name)) => {}
            (3, Field::Varint(size)) => tsize = Some(size),
            (number, _) => return Err(format!("unexpected dag-pb link field {number}")),
        }
    }
    Ok(PbLink {
        cid: cid.ok_or("link without a hash")?,
        tsize,
    })
}

/// Decodes a UnixFS `Data` message that must describe file content (type File or Raw).
pub(crate) fn decode_file_data(mut input: &[u8]) -> Result<FileData<'_>, String> {
    let mut kind = None;
    let mut file = FileData::default();
    while !input.is_empty() {
        match take_field(&mut input)? {
            (1, Field::Varint(t)) => kind = Some(t),
            (2, Field::Bytes(data)) => file.data = data,
            (3, Field::Varint(size)) => file.filesize = Some(size),
            (4, Field::Varint(size)) => file.blocksizes.push(size),
            (4, Field::Bytes(mut packed)) => {
                while !packed.is_empty() {
                    let size = take_varint(&mut packed).ok_or("truncated packed blocksizes")?;
                    file.blocksizes.push(size);
                }
            }
            // hashType, fanout, mode, mtime: not needed to read a file.
            _ => {}
        }
    }
    match kind {
        Some(UNIXFS_FILE | UNIXFS_RAW) => Ok(file),
        Some(other) => Err(format!("UnixFS type {other} is not a file")),
        None => Err("UnixFS data without a type".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect_import(data: &[u8]) -> (Cid, Vec<(Cid, Vec<u8>)>) {
        let mut blocks = Vec::new();
        let root = import(&mut &data[..], Path::new("test"), &mut |cid, bytes| {
            blocks.push((*cid, bytes.to_vec()));
            Ok(())
        })
        .expect("import into memory");
        (root, blocks)
    }

    #[test]
    fn matches_kubo_for_small_files() {
        // Reference CIDs printed by `ipfs add --cid-version=1` (kubo 0.38.1).
        let (empty, blocks) = collect_import(b"");
        assert_eq!(
            empty.to_string(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
        assert_eq!(blocks.len(), 1);
        let (one, _) = collect_import(b"a");
        assert_eq!(
            one.to_string(),
            "bafkreigks6arfsq3xxfpvqrrwonchxcnu6do76auprhhfomao6c273sixm"
        );
    }

    #[test]
    fn matches_kubo_for_two_chunks_of_zeros() {
        let data = vec![0u8; CHUNK_SIZE + 1];
        let (root, blocks) = collect_import(&data);
        assert_eq!(
            root.to_string(),
            "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki"
        );
        // Two leaves, then the root.
        assert_eq!(blocks.len(), 3);
        assert_eq!(blocks[2].0, root);
        let root_bytes = &blocks[2].1;
        // Layout of kubo's root block: 2 links (0x12 0x2c ...) then Data (0x0a 0x0c ...).
        assert_eq!(root_bytes.len(), 0x68);
        assert_eq!(&root_bytes[..4], &[0x12, 0x2c, 0x0a, 0x24]);
        assert_eq!(
            &root_bytes[root_bytes.len() - 14..],
            &[0x0a, 0x0c, 0x08, 0x02, 0x18, 0x81, 0x80, 0x10, 0x20, 0x80, 0x80, 0x10, 0x20, 0x01]
        );
    }

    #[test]
    fn node_round_trips_through_decoder() {
        let links: Vec<Link> = (0..3u8)
            .map(|i| Link {
                cid: Cid::for_block(Codec::Raw, &[i]),
                tsize: 1000 + u64::from(i),
                file_size: 900 + u64::from(i),
            })
            .collect();
        let bytes = encode_file_node(&links);
        let node = decode_pb_node(&bytes).expect("decodes");
        let got: Vec<(Cid, Option<u64>)> = node.links.iter().map(|l| (l.cid, l.tsize)).collect();
        let want: Vec<(Cid, Option<u64>)> = links.iter().map(|l| (l.cid, Some(l.tsize))).collect();
        assert_eq!(got, want);
        let file = decode_file_data(node.data.expect("has data")).expect("file data");
        assert_eq!(file.filesize, Some(900 + 901 + 902));
        assert_eq!(file.blocksizes, vec![900, 901, 902]);
        assert!(file.data.is_empty());
    }

    #[test]
    fn decoder_rejects_garbage_and_non_files() {
        assert!(decode_pb_node(&[0x12, 0x05, 0x0a]).is_err());
        assert!(decode_pb_node(&[0x18, 0x01]).is_err());
        // UnixFS type Directory (1).
        let err = decode_file_data(&[0x08, 0x01]).expect_err("directory refused");
        assert!(err.contains("not a file"), "{err}");
        assert!(decode_file_data(&[0x18, 0x05]).is_err());
    }

    /// Depth of the tree under `root` and the link count of each node, root first, in
    /// depth-first order.
    fn shape(root: Cid, blocks: &[(Cid, Vec<u8>)]) -> (usize, Vec<usize>) {
        fn walk(cid: Cid, blocks: &[(Cid, Vec<u8>)], depth: usize, out: &mut Vec<usize>) -> usize {
            if cid.codec() == Codec::Raw {
                return depth;
            }
            let bytes = &blocks
                .iter()
                .find(|(c, _)| *c == cid)
                .expect("block was put")
                .1;
            let node = decode_pb_node(bytes).expect("decodes");
            out.push(node.links.len());
            let depths: Vec<usize> = node
                .links
                .iter()
                .map(|l| walk(l.cid, blocks, depth + 1, out))
                .collect();
            assert!(
                depths.windows(2).all(|w| w[0] == w[1]),
                "leaves at one depth"
            );
            depths[0]
        }
        let mut counts = Vec::new();
        let depth = walk(root, blocks, 0, &mut counts);
        (depth, counts)
    }

    fn layout_of(leaves: usize) -> (usize, Vec<usize>) {
        let mut blocks = Vec::new();
        let mut put = |cid: &Cid, bytes: &[u8]| {
            blocks.push((*cid, bytes.to_vec()));
            Ok(())
        };
        let mut layout = BalancedLayout::default();
        for i in 0..leaves {
            let cid = Cid::for_block(Codec::Raw, &(i as u64).to_le_bytes());
            let link = Link {
                cid,
                tsize: 10,
                file_size: 10,
            };
            layout.push_leaf(link, &mut put).expect("push");
        }
        let root = layout.finish(&mut put).expect("finish");
        assert_eq!(root.file_size, 10 * leaves as u64);
        shape(root.cid, &blocks)
    }

    #[test]
    fn balanced_layout_shapes() {
        assert_eq!(layout_of(1), (0, vec![]));
        assert_eq!(layout_of(2), (1, vec![2]));
        assert_eq!(layout_of(MAX_LINKS), (1, vec![MAX_LINKS]));
        assert_eq!(layout_of(MAX_LINKS + 1), (2, vec![2, MAX_LINKS, 1]));
        let mut full_then_one = vec![2];
        full_then_one.push(MAX_LINKS);
        full_then_one.extend(std::iter::repeat_n(MAX_LINKS, MAX_LINKS));
        full_then_one.extend([1, 1]);
        assert_eq!(layout_of(MAX_LINKS * MAX_LINKS + 1), (3, full_then_one));
        let (depth, counts) = layout_of(MAX_LINKS * MAX_LINKS);
        assert_eq!(depth, 2);
        assert_eq!(counts.len(), 1 + MAX_LINKS);
        assert!(counts.iter().all(|&c| c == MAX_LINKS));
    }

    #[test]
    fn tsize_counts_node_bytes_and_children() {
        let mut blocks = Vec::new();
        let mut put = |cid: &Cid, bytes: &[u8]| {
            blocks.push((*cid, bytes.len()));
            Ok(())
        };
        let leaf = |i: u8| Link {
            cid: Cid::for_block(Codec::Raw, &[i]),
            tsize: 7,
            file_size: 7,
        };
        let mut layout = BalancedLayout::default();
        layout.push_leaf(leaf(0), &mut put).expect("push");
        layout.push_leaf(leaf(1), &mut put).expect("push");
        let root = layout.finish(&mut put).expect("finish");
        let root_len = blocks.iter().find(|(c, _)| *c == root.cid).expect("root").1;
        assert_eq!(root.tsize, root_len as u64 + 14);
    }
}

/// What the fuzzer drives (`fuzz/`, feature `fuzzing`): a block as the store reads one back,
/// decoded as a dag-pb node and, when it has data, as UnixFS file data.
#[cfg(feature = "fuzzing")]
pub fn fuzz_block(block: &[u8]) {
    if let Ok(node) = decode_pb_node(block) {
        if let Some(data) = node.data {
            let _ = decode_file_data(data);
        }
    }
}
