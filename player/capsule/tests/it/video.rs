//! AV1 video in the capsule: every frame matches FFmpeg's decoding of the same packaged track;
//! seeking decodes from the keyframe segment and presents from the start time; the rental clock
//! and the `video` flag are honoured.

use ddrm_capsule::session::{self, segments_from};
use ddrm_capsule::wire::{Event, StopKind};
use packager_format::{decode_packets, Container, Header, TrackKind};
use tests::media::{psnr_db, yuv420p_len};

use crate::support::{
    decode_packaged, open, unix_now, Clip, TestHost, FPS, HEIGHT, SECONDS, WIDTH,
};

/// Smallest PSNR accepted per frame (the decoders are expected to agree bit for bit).
const MIN_PSNR: f64 = 40.0;

fn video_track(header: &Header) -> usize {
    header
        .tracks
        .iter()
        .position(|t| t.kind == TrackKind::Video)
        .expect("a video track")
}

fn header_of(clip: &Clip) -> Header {
    Container::open(open(&clip.ddrm)).unwrap().header().clone()
}

/// Asserts `frames` (packed planes) match `reference` one for one from `first`.
fn assert_match(frames: &[Vec<u8>], reference: &[Vec<u8>], first: usize) {
    assert_eq!(
        frames.len(),
        reference.len() - first,
        "frame count against FFmpeg's decoding from frame {first}"
    );
    for (i, frame) in frames.iter().enumerate() {
        let db = psnr_db(frame, &reference[first + i]);
        assert!(db >= MIN_PSNR, "frame {}: PSNR {db:.2} dB", first + i);
    }
}

#[test]
fn the_decoder_matches_ffmpeg_on_every_frame_of_the_packaged_track() {
    let clip = Clip::make();
    let reference = clip.reference_frames();
    assert_eq!(
        reference.len(),
        (SECONDS * FPS) as usize,
        "FFmpeg's frame count"
    );

    let header = header_of(&clip);
    assert_eq!(header.tracks[video_track(&header)].codec, "av1");
    let mut frames = Vec::new();
    let mut pts = Vec::new();
    decode_packaged(&clip, |p| {
        assert_eq!((p.width() as usize, p.height() as usize), (WIDTH, HEIGHT));
        let mut planes = Vec::new();
        p.write_packed(&mut planes);
        assert_eq!(planes.len(), yuv420p_len(WIDTH, HEIGHT));
        assert_eq!(planes.len(), p.packed_len());
        pts.push(p.pts());
        frames.push(planes);
    });

    assert_match(&frames, &reference, 0);
    assert!(
        pts.windows(2).all(|w| w[0] < w[1]),
        "pictures come out in presentation order: {pts:?}"
    );
    let exact = frames
        .iter()
        .zip(&reference)
        .filter(|(a, b)| a == b)
        .count();
    assert_eq!(exact, frames.len(), "rav1d and libdav1d agree bit for bit");
}

#[test]
fn a_session_presents_every_frame_as_ffmpeg_decodes_it() {
    let clip = Clip::make();
    let reference = clip.reference_frames();
    let mut host = TestHost::new(&clip.network, 0, true, true);
    let played = session::play(&mut host, open(&clip.ddrm)).expect("plays");

    let frames: Vec<Vec<u8>> = host.frames.iter().map(|(f, _)| f.clone()).collect();
    assert_match(&frames, &reference, 0);
    assert_eq!(played.video_frames, reference.len() as u64);
    let pts: Vec<i64> = host.frames.iter().map(|(_, t)| *t).collect();
    assert_eq!(pts[0], 0);
    for (i, t) in pts.iter().enumerate() {
        let expected = i as i64 * 1_000_000 / i64::from(FPS);
        assert!((t - expected).abs() <= 1_000, "frame {i} at {t} µs");
    }
    // The format is announced once, before the first frame, with the decoded size.
    let formats: Vec<&Event> = host
        .events
        .iter()
        .filter(|e| matches!(e, Event::Video { .. }))
        .collect();
    assert_eq!(formats.len(), 1);
    match formats[0] {
        Event::Video {
            codec,
            width,
            height,
            frame_rate_num,
            frame_rate_den,
        } => {
            assert_eq!(codec, "av1");
            assert_eq!((*width as usize, *height as usize), (WIDTH, HEIGHT));
            assert_eq!(*frame_rate_num, FPS * *frame_rate_den);
        }
        _ => unreachable!(),
    }
    assert!(matches!(
        host.events.last(),
        Some(Event::Finished { video_frames, .. }) if *video_frames == reference.len() as u64
    ));
    // Every video segment was decrypted once, in order.
    let header = header_of(&clip);
    let track = video_track(&header);
    let all: Vec<u32> = segments_from(&header, track, 0, false)
        .into_iter()
        .map(|i| i as u32)
        .collect();
    assert_eq!(host.decrypted(), all);
}

/// Plays from `start_ms` and checks the first frame presented is the first at or after it, the
/// rest follow as FFmpeg decodes them, and decryption starts at the keyframe segment holding
/// the start time.
fn seek(clip: &Clip, reference: &[Vec<u8>], start_ms: u64) -> Vec<u32> {
    let mut host = TestHost::new(&clip.network, start_ms, false, true);
    session::play(&mut host, open(&clip.ddrm)).expect("plays");

    let first = (start_ms as usize * FPS as usize).div_ceil(1000);
    let (_, first_pts) = host.frames[0];
    assert!(
        first_pts >= start_ms as i64 * 1000,
        "first frame at {first_pts} µs"
    );
    assert_eq!(first_pts, first as i64 * 1_000_000 / i64::from(FPS));
    let frames: Vec<Vec<u8>> = host.frames.iter().map(|(f, _)| f.clone()).collect();
    assert_match(&frames, reference, first);

    let header = header_of(clip);
    let track = video_track(&header);
    let start = start_ms as i64 * i64::from(header.tracks[track].timescale) / 1000;
    let holding = header
        .segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.track as usize == track && s.is_keyframe() && s.pts <= start)
        .map(|(i, _)| i)
        .next_back()
        .expect("a keyframe segment at or before the start");
    let decrypted = host.decrypted();
    assert_eq!(decrypted[0] as usize, holding, "decryption starts there");
    assert!(
        decrypted.iter().all(|&i| i as usize >= holding),
        "no segment before it is decrypted: {decrypted:?}"
    );
    decrypted
}

#[test]
fn seeking_decodes_from_the_keyframe_segment_and_presents_from_the_start_time() {
    let clip = Clip::make();
    let reference = clip.reference_frames();
    let header = header_of(&clip);
    let track = video_track(&header);
    let video: Vec<usize> = segments_from(&header, track, 0, false);
    assert!(video.len() >= 2, "the clip spans several segments");

    seek(&clip, &reference, 1_500);
    // Past the first segment: it is never decrypted.
    let later = seek(&clip, &reference, 2_500);
    assert!(!later.contains(&(video[0] as u32)), "{later:?}");
}

#[test]
fn a_rental_that_ends_mid_play_stops_before_the_next_segment() {
    let clip = Clip::make();
    let until = unix_now() + 1_000;
    let mut host = TestHost::new(&clip.network, 0, false, true);
    host.play_until = Some(until);
    // The clock reaches the rental's end once the first segment is decrypted.
    host.clock = Box::new(move |events| {
        if events.iter().any(|e| matches!(e, Event::Decrypted { .. })) {
            until
        } else {
            until - 100
        }
    });
    let stop = session::play(&mut host, open(&clip.ddrm)).expect_err("stops");
    assert_eq!(stop.kind, StopKind::RentalExpired);
    assert_eq!(host.decrypted().len(), 1, "only the first segment");
    let in_first = {
        let mut unlocked = Container::open(open(&clip.ddrm))
            .unwrap()
            .unlock(&clip.key)
            .unwrap();
        let mut buf = Vec::new();
        unlocked
            .segment(host.decrypted()[0] as usize, &mut buf)
            .unwrap();
        decode_packets(&buf).unwrap().len()
    };
    assert_eq!(
        host.frames.len(),
        in_first,
        "the first segment's frames, no more"
    );
    assert!(matches!(
        host.events.last(),
        Some(Event::Stopped {
            kind: StopKind::RentalExpired,
            ..
        })
    ));
}

#[test]
fn without_the_video_flag_no_video_segment_is_decrypted() {
    let clip = Clip::make();
    let mut host = TestHost::new(&clip.network, 0, true, false);
    let played = session::play(&mut host, open(&clip.ddrm)).expect("plays");
    assert_eq!(played.video_frames, 0);
    assert!(host.frames.is_empty());
    assert!(host.decrypted().is_empty(), "the clip has only video");
    assert!(!host.events.iter().any(|e| matches!(e, Event::Video { .. })));
}
