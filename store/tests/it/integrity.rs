//! The embedded store never returns wrong bytes: tampered blocks are reported by CID.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};

use futures::TryStreamExt;
use store::{ByteRange, Cid, Codec, ContentStore, EmbeddedStore, StoreError, CHUNK_SIZE};

use crate::support::pseudo_random;

fn flip_byte(path: &std::path::Path, at: u64) -> anyhow::Result<()> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let mut byte = [0u8; 1];
    file.seek(SeekFrom::Start(at))?;
    std::io::Read::read_exact(&mut file, &mut byte)?;
    byte[0] ^= 0x01;
    file.seek(SeekFrom::Start(at))?;
    file.write_all(&byte)?;
    Ok(())
}

#[tokio::test]
async fn tampered_leaf_is_an_integrity_error_naming_the_block() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = EmbeddedStore::open(dir.path())?;
    let data = pseudo_random(3 * CHUNK_SIZE, 7);
    let root = store.add_bytes(data.clone().into()).await?;
    let second_leaf = Cid::for_block(Codec::Raw, &data[CHUNK_SIZE..2 * CHUNK_SIZE]);
    let leaf_path = store.block_path(&second_leaf);
    flip_byte(&leaf_path, 1000)?;

    // Ranges that do not touch the tampered leaf are still served: reads touch only the
    // leaves they need.
    let first = ByteRange {
        offset: 0,
        length: Some(CHUNK_SIZE as u64),
    };
    assert_eq!(store.cat_to_vec(root, first).await?, &data[..CHUNK_SIZE]);
    let third = ByteRange {
        offset: 2 * CHUNK_SIZE as u64,
        length: None,
    };
    assert_eq!(
        store.cat_to_vec(root, third).await?,
        &data[2 * CHUNK_SIZE..]
    );

    // A range over it yields the good bytes before it, then the error, never the bad bytes.
    let across = ByteRange {
        offset: CHUNK_SIZE as u64 - 10,
        length: Some(20),
    };
    let mut stream = store.cat(root, across).await?;
    let mut good = Vec::new();
    let error = loop {
        match stream.try_next().await {
            Ok(Some(chunk)) => good.extend_from_slice(&chunk),
            Ok(None) => panic!("stream ended without reporting the tampered block"),
            Err(e) => break e,
        }
    };
    assert_eq!(good, &data[CHUNK_SIZE - 10..CHUNK_SIZE]);
    match &error {
        StoreError::Corrupted { cid, path } => {
            assert_eq!(*cid, second_leaf);
            assert_eq!(path, &leaf_path);
        }
        other => panic!("expected Corrupted, got {other}"),
    }
    assert!(
        error.to_string().contains(&second_leaf.to_string()),
        "{error}"
    );
    Ok(())
}

#[tokio::test]
async fn tampered_root_and_truncated_small_file_are_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = EmbeddedStore::open(dir.path())?;

    let root = store
        .add_bytes(pseudo_random(CHUNK_SIZE + 1, 8).into())
        .await?;
    flip_byte(&store.block_path(&root), 3)?;
    match store.stat(root).await {
        Err(StoreError::Corrupted { cid, .. }) => assert_eq!(cid, root),
        other => panic!("expected Corrupted, got {other:?}"),
    }

    let small = store.add_bytes(pseudo_random(5000, 9).into()).await?;
    let path = store.block_path(&small);
    let file = OpenOptions::new().write(true).open(&path)?;
    file.set_len(4000)?;
    match store.cat_to_vec(small, ByteRange::FULL).await {
        Err(StoreError::Corrupted { cid, .. }) => assert_eq!(cid, small),
        other => panic!("expected Corrupted, got {other:?}"),
    }
    // A re-add repairs it: the block is rewritten when its length differs.
    let again = store.add_bytes(pseudo_random(5000, 9).into()).await?;
    assert_eq!(again, small);
    assert_eq!(store.cat_to_vec(small, ByteRange::FULL).await?.len(), 5000);
    Ok(())
}
