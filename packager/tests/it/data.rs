//! Data packaging: bit-for-bit round trips, tamper detection with no output left behind, and
//! the content key never written in the clear.

use std::path::{Path, PathBuf};

use licence_net_protocol::{Address, GroupKey};

/// The account named as creator of every file packaged here.
const CREATOR: Address = Address::repeat_byte(0xC1);
use packager::{PackageError, PackageOptions};
use packager_format::{ContentKey, FormatError};

struct Fixture {
    dir: tempfile::TempDir,
    group: GroupKey,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let dealt = licence_net::dealer::deal(5, 3, &dir.path().join("keys")).unwrap();
        Self {
            dir,
            group: dealt.group,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `len` pseudo-random bytes to `name`.
    fn input(&self, name: &str, len: usize) -> PathBuf {
        let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ len as u64;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Packaging `input` as data to `out`, its content key exported to `key_out`.
    fn options(&self, input: &Path, out: &str, key_out: &str) -> PackageOptions {
        PackageOptions {
            input: input.to_path_buf(),
            output: self.path(out),
            group_key: self.group.clone(),
            renderers: vec![[7; 32]],
            title: None,
            creator: "tester".into(),
            creator_account: CREATOR,
            as_data: true,
            lossless: false,
            export_key: Some(self.path(key_out)),
            description: None,
            thumbnail: None,
            preview: None,
        }
    }

    fn package(&self, input: &Path, out: &str, key_out: &str) -> packager::PackageReport {
        packager::package(&self.options(input, out, key_out), &mut |_| {}).unwrap()
    }

    /// `len` bytes of input packaged to `in.ddrm`, its key exported to `in.key`; the input's path.
    fn packaged(&self, len: usize) -> PathBuf {
        let input = self.input("in.bin", len);
        self.package(&input, "in.ddrm", "in.key");
        input
    }

    fn key(&self, key_out: &str) -> ContentKey {
        ContentKey::from_hex(&std::fs::read_to_string(self.path(key_out)).unwrap()).unwrap()
    }

    /// Names of files in the fixture directory (no temporaries may be left behind).
    fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

#[test]
fn data_files_round_trip_bit_for_bit() {
    let f = Fixture::new();
    for (i, len) in [0usize, 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 12_345]
        .into_iter()
        .enumerate()
    {
        let input = f.input(&format!("in{i}.bin"), len);
        let r = f.package(&input, &format!("in{i}.ddrm"), &format!("in{i}.key"));
        assert_eq!(r.segments, len.div_ceil(1 << 20));
        assert_eq!(r.input_bytes, len as u64);
        let out = f.path(&format!("in{i}.out"));
        let d = packager::decrypt(
            &f.path(&format!("in{i}.ddrm")),
            &f.key(&format!("in{i}.key")),
            &out,
        )
        .unwrap();
        assert_eq!(d.bytes_written, len as u64);
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(&input).unwrap(),
            "size {len}"
        );
        let shown = packager::inspect(&f.path(&format!("in{i}.ddrm"))).unwrap();
        assert_eq!(shown.content_id, r.content_id);
        assert_eq!(shown.header.renderers, vec![[7; 32]]);
        assert_eq!(shown.header.key.group_key_id, f.group.id().to_vec());
    }
}

#[test]
fn a_flipped_bit_anywhere_is_named_and_nothing_is_written() {
    let f = Fixture::new();
    let input = f.input("in.bin", 2 * (1 << 20) + 100);
    f.package(&input, "in.ddrm", "in.key");
    let key = f.key("in.key");
    let good = std::fs::read(f.path("in.ddrm")).unwrap();
    let data_start = packager::inspect(&f.path("in.ddrm")).unwrap().header_bytes as usize;
    let before = f.files();
    // Positions in the preamble, header body, header tag, and in each of the three segments
    // (start, middle, tag at the end).
    let mut positions = vec![0, 9, 20, 100, data_start - 17, data_start - 1];
    positions.extend([
        data_start,
        data_start + 500_000,
        data_start + (1 << 20) + 15,
    ]);
    positions.extend([data_start + (1 << 20) + 16 + 7, good.len() - 1]);
    for pos in positions {
        let mut bad = good.clone();
        bad[pos] ^= 0x10;
        std::fs::write(f.path("bad.ddrm"), &bad).unwrap();
        let err = packager::decrypt(&f.path("bad.ddrm"), &key, &f.path("bad.out")).unwrap_err();
        let PackageError::Format { source, .. } = &err else {
            panic!("byte {pos}: unexpected error {err}");
        };
        if pos >= data_start {
            let seg = ((pos - data_start) / ((1 << 20) + 16)) as u64;
            assert!(
                matches!(source, FormatError::SegmentIntegrity { index, .. } if *index == seg),
                "byte {pos}: {err}"
            );
            assert!(err.to_string().contains(&format!("segment {seg}")), "{err}");
        } else {
            assert!(
                !matches!(source, FormatError::SegmentIntegrity { .. }),
                "byte {pos}: {err}"
            );
        }
        let mut expected = before.clone();
        expected.push("bad.ddrm".into());
        expected.sort();
        assert_eq!(
            f.files(),
            expected,
            "byte {pos}: output or temporary file left behind"
        );
    }
}

#[test]
fn wrong_key_truncation_and_missing_files_fail_cleanly() {
    let f = Fixture::new();
    let input = f.packaged(300_000);
    let wrong = ContentKey::from_bytes([1; 32]);
    let err = packager::decrypt(&f.path("in.ddrm"), &wrong, &f.path("o")).unwrap_err();
    assert!(err.to_string().contains("content key is wrong"), "{err}");

    let bytes = std::fs::read(f.path("in.ddrm")).unwrap();
    std::fs::write(f.path("short.ddrm"), &bytes[..bytes.len() - 1]).unwrap();
    let err = packager::decrypt(&f.path("short.ddrm"), &f.key("in.key"), &f.path("o")).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");

    let err = packager::inspect(&f.path("nope.ddrm")).unwrap_err();
    assert!(err.to_string().contains("nope.ddrm"), "{err}");
    let err = packager::inspect(&input).unwrap_err();
    assert!(err.to_string().contains("not a .ddrm file"), "{err}");
    assert!(!f.path("o").exists());
}

#[test]
fn the_content_key_never_appears_in_the_file_and_its_export_is_private() {
    let f = Fixture::new();
    let input = f.packaged(50_000);
    let key = f.key("in.key");
    let file = std::fs::read(f.path("in.ddrm")).unwrap();
    assert!(!file.windows(32).any(|w| w == key.as_bytes()));
    let hex = key.to_hex();
    assert!(!file.windows(64).any(|w| w == hex.as_bytes()));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(f.path("in.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // The same export path is never overwritten, and a refused run leaves no .ddrm behind.
    let opts = f.options(&input, "again.ddrm", "in.key");
    let err = packager::package(&opts, &mut |_| {}).unwrap_err();
    assert!(matches!(err, PackageError::Exists { .. }), "{err}");
    assert!(!f.path("again.ddrm").exists());
}

#[test]
fn the_key_ciphertext_decrypts_to_the_content_key_with_three_shares() {
    let f = Fixture::new();
    f.packaged(10);
    let h = packager::inspect(&f.path("in.ddrm")).unwrap().header;
    assert_eq!(h.creator(), CREATOR.into_array());
    let ct = licence_net_protocol::PreparedCiphertext::decode(&h.key.ciphertext, &CREATOR)
        .unwrap()
        .ciphertext()
        .clone();
    let shares: Vec<_> = (1..=3)
        .map(|i| {
            let s =
                licence_net::KeyShareFile::load(&f.path(&format!("keys/node-{i}.share")), &f.group)
                    .unwrap();
            (s.index, s.share.decrypt_share_no_verify(&ct))
        })
        .collect();
    let k = f
        .group
        .public_key_set()
        .decrypt(shares.iter().map(|(i, s)| (*i, s)), &ct)
        .unwrap();
    assert_eq!(k.as_slice(), f.key("in.key").as_bytes());
}

#[test]
fn a_creators_thumbnail_and_description_travel_in_the_clear_header_and_bad_ones_are_refused() {
    let f = Fixture::new();
    let input = f.input("book.pdf", 10_000);
    let png = f.path("cover.png");
    let mut picture = b"\x89PNG\r\n\x1a\n".to_vec();
    picture.extend_from_slice(&[1; 100]);
    std::fs::write(&png, &picture).unwrap();
    let wav = f.path("first-page.wav");
    let mut sound = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
    sound.extend_from_slice(&[0; 64]);
    std::fs::write(&wav, &sound).unwrap();
    let mut opts = f.options(&input, "book.ddrm", "book.key");
    opts.thumbnail = Some(png.clone());
    opts.preview = Some(wav);
    opts.description = Some("A short book.".into());
    packager::package(&opts, &mut |_| {}).unwrap();
    let shown = packager::inspect(&f.path("book.ddrm")).unwrap();
    let thumbnail = shown
        .header
        .metadata
        .thumbnail
        .expect("the creator's thumbnail");
    assert_eq!(thumbnail.mime_type, "image/png");
    assert_eq!(thumbnail.bytes, picture);
    let preview = shown
        .header
        .metadata
        .preview
        .expect("the creator's preview");
    assert_eq!(
        (preview.mime_type.as_str(), preview.bytes),
        ("audio/wav", sound)
    );
    assert_eq!(
        shown.header.metadata.extra,
        vec![("description".to_owned(), "A short book.".to_owned())]
    );

    let text = f.path("cover.txt");
    std::fs::write(&text, "not a picture").unwrap();
    let huge = f.path("huge.png");
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(packager::MAX_THUMBNAIL as usize + 1, 0);
    std::fs::write(&huge, big).unwrap();
    let long = "x".repeat(packager::MAX_DESCRIPTION + 1);
    for (i, (thumbnail, preview, description, why)) in [
        (Some(text.clone()), None, None, "not a PNG, JPEG or WebP"),
        (Some(huge), None, None, "larger than"),
        (
            None,
            Some(text),
            None,
            "is not a picture (PNG, JPEG, WebP), a clip",
        ),
        (None, None, Some(long), "longer than"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut opts = f.options(&input, &format!("bad{i}.ddrm"), &format!("bad{i}.key"));
        opts.thumbnail = thumbnail;
        opts.preview = preview;
        opts.description = description;
        let e = packager::package(&opts, &mut |_| {}).unwrap_err();
        assert!(
            matches!(&e, PackageError::Invalid(m) if m.contains(why)),
            "{e}"
        );
        assert!(!f.path(&format!("bad{i}.ddrm")).exists());
    }
}

/// A device or FIFO named as the output (`--out /dev/null`) is written in place and never
/// replaced; packaging into one is refused before any work, as a `.ddrm` is read back.
#[test]
fn a_fifo_output_is_streamed_into_not_replaced_and_packaging_into_one_is_refused() {
    use std::os::unix::fs::FileTypeExt;
    let f = Fixture::new();
    let input = f.packaged(300_000);
    let fifo = f.path("out.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo (coreutils) runs");
    assert!(made.success());
    let reading = fifo.clone();
    let reader = std::thread::spawn(move || std::fs::read(&reading).unwrap());
    let d = packager::decrypt(&f.path("in.ddrm"), &f.key("in.key"), &fifo).unwrap();
    assert_eq!(d.bytes_written, 300_000);
    assert_eq!(reader.join().unwrap(), std::fs::read(&input).unwrap());
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());

    let before = f.files();
    let err =
        packager::package(&f.options(&input, "out.fifo", "again.key"), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(f.files(), before, "nothing written or left behind");
}
