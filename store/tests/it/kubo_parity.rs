//! The embedded store against a real kubo daemon: same CIDs, same bytes, same ranges.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::time::Duration;

use store::testing::KuboDaemon;
use store::{
    open_store, ByteRange, Cid, Codec, ContentStore, KuboStore, KuboTimeouts, StoreConfig,
    StoreError, CHUNK_SIZE,
};

use crate::support::{pseudo_random, write_file};

const SIZES: [usize; 5] = [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 50 * 1024 * 1024];

fn ranges_for(size: u64) -> Vec<ByteRange> {
    let c = CHUNK_SIZE as u64;
    let range = |offset: u64, length: Option<u64>| ByteRange { offset, length };
    let mut ranges = vec![
        ByteRange::FULL,
        range(0, Some(1)),
        range(size, None),
        range(size, Some(5)),
        range(size.saturating_sub(10), Some(100)),
        range(size / 2, Some(0)),
    ];
    if size > c {
        ranges.extend([range(c - 1, Some(3)), range(c, None), range(c - 1, Some(2))]);
    }
    if size > 3 * c {
        ranges.extend([
            range(size / 3, Some(c * 2 + 7)),
            range(174 * c - 2, Some(4)),
            range(size - c - 1, None),
        ]);
    }
    ranges
}

fn expected(data: &[u8], range: ByteRange) -> &[u8] {
    let start = range.offset as usize;
    let end = range.length.map_or(data.len(), |l| {
        start.saturating_add(l as usize).min(data.len())
    });
    &data[start..end]
}

/// The embedded store, its blocks under `dir`.
async fn embedded_store(dir: &Path) -> anyhow::Result<Arc<dyn ContentStore>> {
    Ok(open_store(&StoreConfig {
        data_dir: dir.join("data"),
        ipfs_api: None,
    })
    .await?)
}

/// `daemon` as a content store, opened as `--ipfs-api` opens it.
async fn kubo_store(daemon: &KuboDaemon) -> anyhow::Result<Arc<dyn ContentStore>> {
    Ok(open_store(&StoreConfig {
        data_dir: PathBuf::from("unused"),
        ipfs_api: Some(daemon.api_url().to_owned()),
    })
    .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_and_kubo_give_identical_cids_and_bytes() -> anyhow::Result<()> {
    let daemon = KuboDaemon::start()?;
    let dir = tempfile::tempdir()?;
    let (embedded, kubo) = (
        embedded_store(dir.path()).await?,
        kubo_store(&daemon).await?,
    );
    let stores: [(&str, &Arc<dyn ContentStore>); 2] = [("embedded", &embedded), ("kubo", &kubo)];

    for (seed, size) in SIZES.into_iter().enumerate() {
        let data = pseudo_random(size, seed as u64 + 1);
        let path = dir.path().join(format!("input-{size}.bin"));
        write_file(&path, &data)?;

        let from_embedded = embedded.add_file(&path).await?;
        let from_kubo = kubo.add_file(&path).await?;
        assert_eq!(from_embedded, from_kubo, "CIDs differ for {size} bytes");
        // The same as a person typing the command kubo documents.
        let path_text = path.to_str().expect("utf-8 temp path");
        let typed = daemon.run(&["add", "-Q", "--cid-version=1", path_text])?;
        assert_eq!(
            typed.trim(),
            from_embedded.to_string(),
            "ipfs add CLI, {size} bytes"
        );
        let expected_codec = if size <= CHUNK_SIZE {
            Codec::Raw
        } else {
            Codec::DagPb
        };
        assert_eq!(from_embedded.codec(), expected_codec, "{size} bytes");
        println!("{size} bytes -> {from_embedded}");

        let cid = from_embedded;
        for (name, store) in stores {
            assert_eq!(
                store.stat(cid).await?.size,
                size as u64,
                "{name} stat, {size} bytes"
            );
            assert!(store.has(cid).await?, "{name} has, {size} bytes");
            for range in ranges_for(size as u64) {
                let got = store.cat_to_vec(cid, range).await?;
                assert!(
                    got == expected(&data, range),
                    "{name}: {size} bytes, {range:?}: got {} bytes, expected {}",
                    got.len(),
                    expected(&data, range).len()
                );
            }
            let past_end = ByteRange {
                offset: size as u64 + 1,
                length: Some(1),
            };
            match store.cat(cid, past_end).await {
                Err(StoreError::RangeOutOfBounds {
                    offset,
                    size: s,
                    cid: c,
                }) => {
                    assert_eq!(
                        (offset, s, c),
                        (size as u64 + 1, size as u64, cid),
                        "{name}"
                    );
                }
                Err(other) => panic!("{name}: offset past end gave {other}"),
                Ok(_) => panic!("{name}: offset past end was accepted"),
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pins_and_presence_agree() -> anyhow::Result<()> {
    let daemon = KuboDaemon::start()?;
    let dir = tempfile::tempdir()?;
    let (embedded, kubo) = (
        embedded_store(dir.path()).await?,
        kubo_store(&daemon).await?,
    );
    let data = pseudo_random(3 * CHUNK_SIZE + 5, 99);
    let path = dir.path().join("pinned.bin");
    write_file(&path, &data)?;
    let never_added = Cid::for_block(Codec::Raw, b"never added anywhere");

    let mut cids = Vec::new();
    for store in [&embedded, &kubo] {
        let name = store.describe();
        let cid = store.add_file_pinned(&path).await?;
        assert!(store.is_pinned(cid).await?, "{name}");
        store.unpin(cid).await?;
        assert!(!store.is_pinned(cid).await?, "{name}");
        match store.unpin(cid).await {
            Err(StoreError::NotPinned { cid: c, .. }) => assert_eq!(c, cid, "{name}"),
            other => panic!("{name}: second unpin gave {other:?}"),
        }
        store.pin(cid).await?;
        assert!(store.is_pinned(cid).await?, "{name}");
        assert!(!store.has(never_added).await?, "{name}");
        let bytes = bytes::Bytes::from_static(b"small add");
        let small = store.add_bytes(bytes.clone()).await?;
        assert_eq!(
            store.cat_to_vec(small, ByteRange::FULL).await?,
            bytes,
            "{name}"
        );
        cids.push((cid, small));
    }
    assert_eq!(cids[0], cids[1]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_content_and_files_are_reported_alike() -> anyhow::Result<()> {
    let daemon = KuboDaemon::start()?;
    let dir = tempfile::tempdir()?;
    let embedded = embedded_store(dir.path()).await?;
    // A short search: the isolated node has no peers to find anything on.
    let timeouts = KuboTimeouts {
        request: Duration::from_secs(2),
        ..KuboTimeouts::default()
    };
    let kubo: Arc<dyn ContentStore> =
        Arc::new(KuboStore::connect(daemon.api_url(), timeouts).await?);
    let missing = Cid::for_block(Codec::DagPb, b"never added anywhere");
    let no_file = dir.path().join("no-such-file.bin");
    for store in [&embedded, &kubo] {
        let name = store.describe();
        match store.stat(missing).await {
            Err(StoreError::NotFound { cid, backend }) => {
                assert_eq!(cid, missing, "{name}");
                assert!(backend.starts_with(&name), "{backend}");
            }
            other => panic!("{name}: stat of missing content gave {other:?}"),
        }
        assert!(matches!(
            store.cat(missing, ByteRange::FULL).await,
            Err(StoreError::NotFound { .. })
        ));
        match store.add_file(&no_file).await {
            Err(StoreError::Io { path, .. }) => assert_eq!(path, no_file, "{name}"),
            other => panic!("{name}: adding a missing file gave {other:?}"),
        }
    }
    Ok(())
}
