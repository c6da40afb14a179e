//! The bundled capsule plays what a buyer bought; seeking decrypts no earlier segment.

use std::time::Duration;

use player::bundled_capsule;
use tests::media::{ffmpeg_decode_f32, read_wav_f32, snr_db};

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_plays_flac_bit_exact_with_ffmpeg() {
    let b = bought_clip(6).await;
    let out = b.stack.file("out.wav");
    let report = b.play_as(BUYER, &out).await.expect("the buyer plays");
    assert_eq!(report.content_id, b.content);
    assert_eq!(report.nodes.len(), THRESHOLD);
    assert_eq!(report.policy.play_until, None, "bought: perpetual");
    assert!(report.describe().contains("perpetual access"));

    let (rate, channels, got) = read_wav_f32(&out);
    assert_eq!((rate, channels), (48_000, 2));
    let want = ffmpeg_decode_f32(&b.source, 48_000, 2);
    assert_eq!(got.len(), want.len(), "every sample, no more");
    let snr = snr_db(&want, &got);
    assert!(snr.is_infinite(), "FLAC decodes bit-exact (SNR {snr} dB)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeking_decrypts_only_from_the_segment_containing_the_start() {
    let b = bought_clip(20).await;
    let header = packager::inspect(&b.ddrm).unwrap().header;
    let audio: Vec<(usize, i64)> = header
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.pts))
        .collect();
    assert!(
        audio.len() >= 3,
        "a 20 s clip has several segments: {audio:?}"
    );
    let timescale = i64::from(header.tracks[0].timescale);
    let start_s = 12;
    let containing = audio
        .iter()
        .filter(|(_, pts)| *pts <= start_s * timescale)
        .map(|(i, _)| *i as u32)
        .next_back()
        .unwrap();

    let out = b.stack.file("seek.wav");
    let report = b
        .stack
        .play(
            b.stack.options(
                &b.ddrm,
                BUYER,
                bundled_capsule(),
                Duration::from_secs(start_s as u64),
            ),
            &out,
        )
        .await
        .expect("seeked playback");
    assert_eq!(report.decrypted.first(), Some(&containing));
    assert!(
        report.decrypted.iter().all(|&i| i >= containing),
        "no earlier segment decrypted: {:?}",
        report.decrypted
    );

    let (_, _, got) = read_wav_f32(&out);
    let want = ffmpeg_decode_f32(&b.source, 48_000, 2);
    let from = (start_s as usize) * 48_000 * 2;
    assert_eq!(
        got.len(),
        want.len() - from,
        "plays from exactly {start_s} s"
    );
    assert!(snr_db(&want[from..], &got).is_infinite());
}
