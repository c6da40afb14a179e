//! Issue 2's journey: keys, package a clip, pin it to a real kubo, inspect it, fetch it back
//! by CID from kubo and from the embedded store, decrypt it; and the failures a user can cause.

use tests::{Journey, KuboDaemon};

const DDRM: &str = env!("CARGO_BIN_EXE_ddrm");
/// The account named as the content's creator (these journeys register nothing on chain).
const CREATOR: &str = "0x00000000000000000000000000000000000000c1";

#[test]
fn package_pin_inspect_fetch_decrypt_with_kubo_and_embedded_store() {
    let j = Journey::new(DDRM);
    let kubo = KuboDaemon::start().expect("a kubo daemon (the setup script builds it)");
    j.ddrm([
        "licence",
        "keygen",
        "--nodes",
        "5",
        "--threshold",
        "3",
        "--out",
        "keys",
    ])
    .ok();
    let clip = j.make_clip("clip.mp4", 4, stack::demo::H264_AAC);

    let packaged = j
        .ddrm([
            "package",
            clip.to_str().unwrap(),
            "--out",
            "clip.ddrm",
            "--creator-account",
            CREATOR,
            "--group-key",
            "keys/group.pub",
            "--title",
            "Clip",
            "--export-key",
            "clip.key",
            "--pin",
            "--ipfs-api",
            kubo.api_url(),
            "--json",
        ])
        .ok()
        .json();
    let cid = packaged["cid"].as_str().expect("a CID").to_string();
    let content_id = packaged["content_id"].as_str().unwrap().to_string();
    assert_eq!(packaged["kind"], "media");
    let codecs: Vec<&str> = packaged["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["codec"].as_str().unwrap())
        .collect();
    assert_eq!(codecs, ["av1", "aac"]);

    // inspect: no key needed; the content id is 0x-prefixed hex of 32 bytes.
    let shown = j.ddrm(["inspect", "clip.ddrm", "--json"]).ok().json();
    assert_eq!(shown["content_id"], content_id.as_str());
    assert!(content_id.starts_with("0x") && content_id.len() == 66);
    assert_eq!(shown["metadata"]["title"], "Clip");

    // Back from kubo by CID: the same bytes; the embedded store computes the same CID.
    let from_kubo = j
        .ddrm(["store", "cat", &cid, "--ipfs-api", kubo.api_url()])
        .ok()
        .output
        .stdout;
    assert_eq!(from_kubo, std::fs::read(j.path("clip.ddrm")).unwrap());
    let embedded = j.ddrm(["store", "add", "clip.ddrm"]).ok().stdout();
    assert_eq!(embedded.trim(), cid);
    let range = j
        .ddrm(["store", "cat", &cid, "--offset", "16", "--length", "100"])
        .ok()
        .output
        .stdout;
    assert_eq!(range, from_kubo[16..116]);

    // Decrypt with the creator's key: Matroska that ffprobe reads, with the same codecs.
    std::fs::write(j.path("fetched.ddrm"), &from_kubo).unwrap();
    j.ddrm([
        "decrypt",
        "fetched.ddrm",
        "--content-key-file",
        "clip.key",
        "--out",
        "clip.mkv",
    ])
    .ok();
    let probe = j.ffprobe(&j.path("clip.mkv"));
    let names: Vec<&str> = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["av1", "aac"]);
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((duration - 4.0).abs() < 0.1, "duration {duration}");
}

#[test]
fn user_mistakes_get_clear_errors_and_leave_nothing_behind() {
    let j = Journey::new(DDRM);
    j.ddrm(["licence", "keygen", "--out", "keys"]).ok();
    std::fs::write(j.path("doc.pdf"), b"%PDF-1.4 not much of a document\n").unwrap();

    // No group key.
    let err = j.ddrm(["package", "doc.pdf", "--out", "doc.ddrm"]).fails();
    assert!(err.contains("--creator-account"), "{err}");
    let err = j
        .ddrm([
            "package",
            "doc.pdf",
            "--out",
            "doc.ddrm",
            "--creator-account",
            CREATOR,
        ])
        .fails();
    assert!(err.contains("missing group key"), "{err}");
    assert!(!j.path("doc.ddrm").exists());

    // A data file packages and decrypts bit for bit.
    let r = j
        .ddrm([
            "package",
            "doc.pdf",
            "--out",
            "doc.ddrm",
            "--creator-account",
            CREATOR,
            "--group-key",
            "keys/group.pub",
            "--export-key",
            "doc.key",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(r["kind"], "data");
    assert_eq!(r["mime_type"], "application/pdf");

    // A flipped bit in the last segment: an integrity error naming the segment, no output.
    let mut bytes = std::fs::read(j.path("doc.ddrm")).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    std::fs::write(j.path("bad.ddrm"), &bytes).unwrap();
    let err = j
        .ddrm([
            "decrypt",
            "bad.ddrm",
            "--content-key-file",
            "doc.key",
            "--out",
            "doc.out",
        ])
        .fails();
    assert!(err.contains("integrity error in segment 0"), "{err}");
    assert!(!j.path("doc.out").exists());

    // A wrong key, a missing key, a key on the command line that is not hex.
    std::fs::write(j.path("wrong.key"), "11".repeat(32)).unwrap();
    let err = j
        .ddrm([
            "decrypt",
            "doc.ddrm",
            "--content-key-file",
            "wrong.key",
            "--out",
            "doc.out",
        ])
        .fails();
    assert!(err.contains("integrity error in the header"), "{err}");
    let err = j.ddrm(["decrypt", "doc.ddrm", "--out", "doc.out"]).fails();
    assert!(err.contains("missing content key"), "{err}");
    let err = j
        .ddrm([
            "decrypt",
            "doc.ddrm",
            "--content-key",
            "zz",
            "--out",
            "doc.out",
        ])
        .fails();
    assert!(err.contains("64 hex digits"), "{err}");
    assert!(!j.path("doc.out").exists());

    // Not a .ddrm at all; a truncated one.
    let err = j.ddrm(["inspect", "doc.pdf"]).fails();
    assert!(err.contains("not a .ddrm file"), "{err}");
    std::fs::write(j.path("short.ddrm"), &bytes[..40]).unwrap();
    let err = j.ddrm(["inspect", "short.ddrm"]).fails();
    assert!(err.contains("truncated"), "{err}");

    // The good file still decrypts, and the key file was never overwritten by a second run.
    j.ddrm([
        "decrypt",
        "doc.ddrm",
        "--content-key-file",
        "doc.key",
        "--out",
        "doc.out",
    ])
    .ok();
    assert_eq!(
        std::fs::read(j.path("doc.out")).unwrap(),
        std::fs::read(j.path("doc.pdf")).unwrap()
    );
    let err = j
        .ddrm([
            "package",
            "doc.pdf",
            "--out",
            "doc2.ddrm",
            "--creator-account",
            CREATOR,
            "--group-key",
            "keys/group.pub",
            "--export-key",
            "doc.key",
        ])
        .fails();
    assert!(err.contains("already exists"), "{err}");
    assert!(!j.path("doc2.ddrm").exists());
}
