//! Unit tests of the container: round trips, every kind of tampering, and the committed test
//! vectors (regenerate with `DDRM_REGEN_VECTORS=1 cargo test -p packager-format vectors`).

use std::io::Cursor;

use crate::*;

fn key() -> ContentKey {
    let mut k = [0u8; 32];
    for (i, b) in k.iter_mut().enumerate() {
        *b = i as u8;
    }
    ContentKey::from_bytes(k)
}

fn salt() -> [u8; 32] {
    let mut s = [0u8; 32];
    for (i, b) in s.iter_mut().enumerate() {
        *b = 0x20 + i as u8;
    }
    s
}

fn base_header(kind: ContentKind, tracks: Vec<Track>) -> Header {
    Header {
        salt: vec![0; 32],
        creator_account: [0x11; 20],
        kind,
        metadata: Metadata {
            title: "Test vector".into(),
            creator: "ddrm".into(),
            mime_type: "application/octet-stream".into(),
            original_name: "vector.bin".into(),
            ..Metadata::default()
        },
        tracks,
        renderers: vec![[0xAB; 32]],
        key: KeyEnvelope {
            scheme: KEY_SCHEME_LABELLED_BLS12_381,
            group_key_id: vec![0xCD; 32],
            ciphertext: b"opaque key ciphertext for the test vector".to_vec(),
        },
        segments: vec![],
    }
}

/// The data vector: 2,500 bytes (i * 7 mod 251) in 1,000-byte segments.
fn data_vector() -> (Vec<u8>, Vec<u8>) {
    let plain: Vec<u8> = (0..2500u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut sealer = SegmentSealer::new(&key(), salt());
    let mut body = Vec::new();
    for (i, chunk) in plain.chunks(1000).enumerate() {
        let mut buf = chunk.to_vec();
        sealer
            .seal_next(
                0,
                (i * 1000) as i64,
                chunk.len() as u32,
                SEGMENT_KEYFRAME,
                &mut buf,
            )
            .unwrap();
        body.extend_from_slice(&buf);
    }
    let mut h = base_header(ContentKind::Data, vec![Track::data()]);
    h.metadata.original_size = plain.len() as u64;
    let head = sealer.finish(h).unwrap();
    let mut file = Vec::new();
    head.write_to(&mut file).unwrap();
    file.extend_from_slice(&body);
    (plain, file)
}

/// The media vector: an audio and a video track, two segments each, interleaved.
fn media_vector() -> (Vec<Vec<Packet>>, Vec<u8>) {
    let audio = Track {
        kind: TrackKind::Audio,
        codec: "aac".into(),
        timescale: 48000,
        sample_rate: 48000,
        channels: 2,
        width: 0,
        height: 0,
        frame_rate_num: 0,
        frame_rate_den: 0,
        bit_rate: 128_000,
        codec_private: vec![0x11, 0x90],
        language: "und".into(),
    };
    let video = Track {
        kind: TrackKind::Video,
        codec: "av1".into(),
        timescale: 24,
        width: 64,
        height: 36,
        frame_rate_num: 24,
        frame_rate_den: 1,
        sample_rate: 0,
        channels: 0,
        bit_rate: 500_000,
        codec_private: vec![0x81, 0x00, 0x0C, 0x00],
        language: "und".into(),
    };
    let mut segs = Vec::new();
    let mut sealer = SegmentSealer::new(&key(), salt());
    let mut body = Vec::new();
    for s in 0..2i64 {
        for track in [1u32, 0] {
            let packets: Vec<Packet> = (0..3i64)
                .map(|p| Packet {
                    pts: s * 3 + p,
                    dts: s * 3 + p,
                    duration: 1,
                    keyframe: p == 0 || track == 0,
                    data: vec![(track as u8) << 4 | (s * 3 + p) as u8; 5 + p as usize],
                })
                .collect();
            let mut buf = encode_packets(&packets);
            sealer
                .seal_next(track, s * 3, 3, SEGMENT_KEYFRAME, &mut buf)
                .unwrap();
            body.extend_from_slice(&buf);
            segs.push(packets);
        }
    }
    let mut h = base_header(ContentKind::Media, vec![audio, video]);
    h.metadata.mime_type = "video/mp4".into();
    h.metadata.duration_ms = 250;
    h.metadata.thumbnail = Some(Attachment {
        mime_type: "image/png".into(),
        bytes: vec![1, 2, 3],
    });
    h.metadata.extra = vec![
        ("genre".into(), "test".into()),
        ("year".into(), "2026".into()),
    ];
    let head = sealer.finish(h).unwrap();
    let mut file = Vec::new();
    head.write_to(&mut file).unwrap();
    file.extend_from_slice(&body);
    (segs, file)
}

fn decrypt_all(file: &[u8], key: &ContentKey) -> Result<Vec<Vec<u8>>, FormatError> {
    let mut u = Container::open(Cursor::new(file))?.unlock(key)?;
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for i in 0..u.header().segments.len() {
        u.segment(i, &mut buf)?;
        out.push(buf.clone());
    }
    Ok(out)
}

#[test]
fn data_round_trip() {
    let (plain, file) = data_vector();
    let segs = decrypt_all(&file, &key()).unwrap();
    assert_eq!(segs.concat(), plain);
    let c = Container::open(Cursor::new(&file)).unwrap();
    assert_eq!(c.header().segments.len(), 3);
    assert_eq!(c.header().segments[2].pts, 2000);
    assert_eq!(c.header().metadata.original_size, 2500);
}

#[test]
fn media_round_trip_and_random_access() {
    let (segs, file) = media_vector();
    let mut u = Container::open(Cursor::new(&file))
        .unwrap()
        .unlock(&key())
        .unwrap();
    let mut buf = Vec::new();
    // Out of order on purpose: any segment decrypts alone.
    for i in [3usize, 0, 2, 1] {
        let e = u.segment(i, &mut buf).unwrap();
        assert_eq!(decode_packets(&buf).unwrap(), segs[i]);
        assert_eq!(e.track, if i % 2 == 0 { 1 } else { 0 });
    }
}

#[test]
fn header_round_trips_canonically() {
    let (_, file) = media_vector();
    let head = EncodedHeader::read_from(&mut Cursor::new(&file)).unwrap();
    assert_eq!(head.header.encode().unwrap(), head.encoded);
    assert_eq!(
        content_id_for(
            head.header.creator(),
            header_digest_of(&head.header.encode().unwrap())
        ),
        head.content_id()
    );
    assert_eq!(head.header.content_id().unwrap(), head.content_id());
}

/// The content id formula, with the same inputs and expected id as the registry's forge test
/// (`ContentRegistry.t.sol` `test_content_id_test_vector`) and `contracts_bindings::ops`'s:
/// all hash exactly the same bytes.
#[test]
fn content_id_vector_matches_the_registry() {
    let creator: [u8; 20] = hex::decode("70997970C51812dc3A010C7d01b50e0d17dc79C8")
        .unwrap()
        .try_into()
        .unwrap();
    let digest: [u8; 32] = std::array::from_fn(|i| i as u8 + 1);
    assert_eq!(
        content_id_for(creator, digest).to_hex(),
        "0x03bee9abc75227d3754773e555f80ef0e2d8ee045222feff4adf1dbfd424a125"
    );
}

#[test]
fn the_creator_account_is_part_of_the_content_id() {
    let (_, file) = media_vector();
    let head = EncodedHeader::read_from(&mut Cursor::new(&file)).unwrap();
    let mut other = head.header.clone();
    other.creator_account = [0x33; 20];
    assert_ne!(other.content_id().unwrap(), head.content_id());
    other.creator_account = [0; 20];
    assert!(other.encode().is_err(), "a zero creator account is refused");
}

#[test]
fn every_flipped_bit_is_detected() {
    for (_, file) in [data_vector(), (vec![], media_vector().1)] {
        let data_start = EncodedHeader::read_from(&mut Cursor::new(&file))
            .unwrap()
            .data_start() as usize;
        // Every byte position, one bit each (cycling through the 8 bits).
        for pos in 0..file.len() {
            let mut f = file.clone();
            f[pos] ^= 1 << (pos % 8);
            let err = decrypt_all(&f, &key()).expect_err("tampering must be detected");
            if pos >= data_start {
                assert!(
                    matches!(err, FormatError::SegmentIntegrity { .. }),
                    "byte {pos}: {err}"
                );
            } else {
                // A header change is caught structurally or by the header tag.
                assert!(
                    !matches!(err, FormatError::SegmentIntegrity { .. }),
                    "byte {pos}: {err}"
                );
            }
        }
    }
}

#[test]
fn wrong_key_truncation_and_trailing_bytes() {
    let (_, file) = data_vector();
    let wrong = ContentKey::from_bytes([9; 32]);
    assert!(matches!(
        decrypt_all(&file, &wrong),
        Err(FormatError::HeaderIntegrity)
    ));
    for cut in [0, 5, 16, 40, file.len() - 1] {
        let err = decrypt_all(&file[..cut], &key()).unwrap_err();
        assert!(
            matches!(err, FormatError::Truncated { .. }),
            "cut {cut}: {err}"
        );
    }
    let mut longer = file.clone();
    longer.push(0);
    assert!(matches!(
        decrypt_all(&longer, &key()),
        Err(FormatError::TrailingBytes { extra: 1 })
    ));
    let mut not = file.clone();
    not[1] = b'X';
    assert!(matches!(
        decrypt_all(&not, &key()),
        Err(FormatError::NotDdrm)
    ));
}

#[test]
fn segments_cannot_be_swapped_or_spliced() {
    let (_, file) = media_vector();
    let head = EncodedHeader::read_from(&mut Cursor::new(&file)).unwrap();
    let ds = head.data_start() as usize;
    let s = &head.header.segments;
    // Segments 0 and 2 are both video, the same size: swapping them must fail.
    assert_eq!(s[0].size, s[2].size);
    let mut f = file.clone();
    let (a, b) = (ds + s[0].offset as usize, ds + s[2].offset as usize);
    let n = s[0].size as usize;
    let seg0 = file[a..a + n].to_vec();
    f[a..a + n].copy_from_slice(&file[b..b + n]);
    f[b..b + n].copy_from_slice(&seg0);
    assert!(matches!(
        decrypt_all(&f, &key()),
        Err(FormatError::SegmentIntegrity { index: 0, .. })
    ));
    // A segment from another file with the same key and table but another salt must fail.
    let mut other = SegmentSealer::new(&key(), [0x77; 32]);
    let mut buf = vec![0u8; s[0].plain_len()];
    other
        .seal_next(s[0].track, s[0].pts, s[0].duration, s[0].flags, &mut buf)
        .unwrap();
    let mut g = file.clone();
    g[a..a + n].copy_from_slice(&buf);
    assert!(matches!(
        decrypt_all(&g, &key()),
        Err(FormatError::SegmentIntegrity { index: 0, .. })
    ));
}

#[test]
fn limits_refuse_huge_lengths_before_allocating() {
    let (_, file) = data_vector();
    let mut f = file.clone();
    f[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        Container::open(Cursor::new(&f)),
        Err(FormatError::TooLarge { what: "header", .. })
    ));
}

#[test]
fn content_key_hex_and_debug_hide_nothing_they_should_not() {
    let k = key();
    assert_eq!(ContentKey::from_hex(&k.to_hex()).unwrap(), k);
    assert_eq!(format!("{k:?}"), "ContentKey(..)");
    assert!(ContentKey::from_hex("abc").is_err());
}

#[test]
fn vectors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    for (name, file, plain) in [
        ("v2-data", data_vector().1, data_vector().0),
        ("v2-media", media_vector().1, Vec::new()),
    ] {
        let head = EncodedHeader::read_from(&mut Cursor::new(&file)).unwrap();
        let meta = serde_json::json!({
            "file": format!("{name}.ddrm"),
            "content_key": format!("0x{}", hex::encode(key().as_bytes())),
            "salt": format!("0x{}", hex::encode(salt())),
            "creator_account": format!("0x{}", hex::encode(head.header.creator())),
            "header_digest": format!("0x{}", hex::encode(head.header_digest())),
            "content_id": head.content_id().to_hex(),
            "key_commitment": format!("0x{}", hex::encode(head.header.key_commitment())),
            "segments": head.header.segments.len(),
            "plaintext_sha256": if plain.is_empty() { serde_json::Value::Null } else {
                serde_json::Value::String(format!("0x{}", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&plain))))
            },
        });
        let json = serde_json::to_string_pretty(&meta).unwrap() + "\n";
        let ddrm_path = dir.join(format!("{name}.ddrm"));
        let json_path = dir.join(format!("{name}.json"));
        if std::env::var_os("DDRM_REGEN_VECTORS").is_some() {
            std::fs::write(&ddrm_path, &file).unwrap();
            std::fs::write(&json_path, &json).unwrap();
        }
        let committed = std::fs::read(&ddrm_path).unwrap_or_else(|e| {
            panic!("{}: {e}; regenerate with DDRM_REGEN_VECTORS=1 cargo test -p packager-format vectors", ddrm_path.display())
        });
        assert_eq!(
            committed, file,
            "{name}.ddrm is stale; regenerate with DDRM_REGEN_VECTORS=1"
        );
        assert_eq!(
            std::fs::read_to_string(&json_path).unwrap(),
            json,
            "{name}.json is stale"
        );
    }
}
