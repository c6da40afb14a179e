//! A capsule session through `player::start`, on the real stack: audio and video come
//! interleaved by presentation time; a seek decrypts only from the segments it needs; pause
//! holds presentation and resume goes on; a rental that ends mid-play stops at the next
//! segment.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use contracts_bindings::ops::Purchase;
use ddrm_capsule::wire::{Event, StopKind};
use packager_format::{Header, TrackKind};
use player::capsule_host::Presenter;
use player::{bundled_capsule, Controller, Ended, PlayError, Playing, RunLimits};

use crate::harness::*;

/// Length of the test film (seconds).
const FILM_SECONDS: u32 = 10;
/// Its frame duration: 24 fps.
const FRAME_US: i64 = 1_000_000 / 24;
/// An AAC frame: 1024 samples at 48 kHz.
const AAC_FRAME_US: i64 = 1024 * 1_000_000 / 48_000;
/// How far the start of any presentation may lie ahead of the latest presentation of the
/// other track: the capsule decodes next whichever track's next packet is earliest, so a
/// frame starts at most one audio frame after the last audio presented, and audio at most one
/// video frame after the last frame presented (both tracks decode without delay). Plus 1 ms
/// for rounding to microseconds.
const LEAD_BOUND_US: i64 = FRAME_US + 1_000;

/// One thing the capsule handed the host, in order.
#[derive(Debug, Clone)]
enum Entry {
    Audio { pts_us: i64, frames: usize },
    Video { pts_us: i64 },
    Event(Event),
    Waiting(bool),
}

type Log = Arc<Mutex<Vec<Entry>>>;

/// Records everything; sleeps `pace` per presentation (as a device would hold the capsule
/// back), so a test can act while the content plays.
struct Recorder {
    log: Log,
    pace: Duration,
}

impl Presenter for Recorder {
    fn audio(&mut self, interleaved: &[f32], pts_us: i64) -> io::Result<()> {
        self.log.lock().unwrap().push(Entry::Audio {
            pts_us,
            frames: interleaved.len() / 2,
        });
        std::thread::sleep(self.pace);
        Ok(())
    }
    fn video(&mut self, _planes: &[u8], pts_us: i64) -> io::Result<()> {
        self.log.lock().unwrap().push(Entry::Video { pts_us });
        std::thread::sleep(self.pace);
        Ok(())
    }
    fn event(&mut self, event: &Event) {
        self.log.lock().unwrap().push(Entry::Event(event.clone()));
    }
    fn waiting(&mut self, waiting: bool, _position_us: i64) {
        self.log.lock().unwrap().push(Entry::Waiting(waiting));
    }
}

/// A stack with the test film minted (renting per `rent_period` seconds) and `what` bought
/// by `account`.
async fn film(rent_period: u32, account: usize, what: Purchase) -> (Stack, Clip) {
    let stack = Stack::start().await;
    let clip = stack.minted_film(FILM_SECONDS, rent_period).await;
    stack.network.purchase(account, clip.content, what).await;
    (stack, clip)
}

/// Pauses and waits until the capsule says it is held.
async fn pause(controller: &Controller, log: &Log) {
    controller.pause();
    until(log, "the capsule waits", |e| {
        e.iter().any(|e| matches!(e, Entry::Waiting(true)))
    })
    .await;
}

/// Starts playing `clip` as `account`, audio and video, into a recorder pacing by `pace`.
async fn start(stack: &Stack, clip: &Clip, account: usize, pace: Duration) -> (Playing, Log) {
    start_with(stack, clip, account, pace, None).await
}

/// [`start`], under `limits` when given.
async fn start_with(
    stack: &Stack,
    clip: &Clip,
    account: usize,
    pace: Duration,
    limits: Option<RunLimits>,
) -> (Playing, Log) {
    let mut opts = stack.options(&clip.ddrm, account, bundled_capsule(), Duration::ZERO);
    opts.audio = true;
    opts.video = true;
    if let Some(limits) = limits {
        opts.limits = limits;
    }
    let log = Log::default();
    let recorder = Recorder {
        log: log.clone(),
        pace,
    };
    let playing = player::start(stack.host.clone(), opts, Box::new(recorder))
        .await
        .expect("the session starts");
    (playing, log)
}

/// Waits (without blocking the runtime) until `what` holds of the log; fails after a minute.
async fn until(log: &Log, why: &str, what: impl Fn(&[Entry]) -> bool) {
    let t0 = Instant::now();
    while !what(&log.lock().unwrap()) {
        assert!(t0.elapsed() < Duration::from_secs(60), "never: {why}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn count(entries: &[Entry], f: impl Fn(&Entry) -> bool) -> usize {
    entries.iter().filter(|e| f(e)).count()
}

fn is_video(e: &Entry) -> bool {
    matches!(e, Entry::Video { .. })
}

fn is_presentation(e: &Entry) -> bool {
    matches!(e, Entry::Video { .. } | Entry::Audio { .. })
}

fn video_pts(entries: &[Entry]) -> Vec<i64> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Video { pts_us } => Some(*pts_us),
            _ => None,
        })
        .collect()
}

fn decrypted(entries: &[Entry]) -> Vec<u32> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Event(Event::Decrypted { segment }) => Some(*segment),
            _ => None,
        })
        .collect()
}

fn track(header: &Header, kind: TrackKind) -> usize {
    header
        .tracks
        .iter()
        .position(|t| t.kind == kind)
        .unwrap_or_else(|| panic!("the film has a {kind:?} track"))
}

/// The track's segments (index, start in µs), in table order.
fn segments(header: &Header, track: usize) -> Vec<(u32, i64)> {
    let timescale = i128::from(header.tracks[track].timescale);
    header
        .segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.track as usize == track)
        .map(|(i, s)| (i as u32, (i128::from(s.pts) * 1_000_000 / timescale) as i64))
        .collect()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_and_video_come_interleaved_by_presentation_time() {
    let (stack, clip) = film(RENT_PERIOD, BUYER, Purchase::Buy).await;
    let (playing, log) = start(&stack, &clip, BUYER, Duration::ZERO).await;
    let report = playing.finished().await.expect("the buyer plays");
    assert_eq!(report.ended, Ended::Finished);
    let entries = log.lock().unwrap().clone();

    let frames = count(&entries, is_video);
    assert_eq!(frames, (FILM_SECONDS * 24) as usize, "every frame");
    assert_eq!(report.video_frames, frames as u64);
    let samples: usize = entries
        .iter()
        .map(|e| match e {
            Entry::Audio { frames, .. } => *frames,
            _ => 0,
        })
        .sum();
    let want = FILM_SECONDS as usize * 48_000;
    assert!(
        samples.abs_diff(want) <= 2048,
        "{samples} audio frames for {want}"
    );
    assert_eq!(report.audio_frames, samples as u64);

    // Each presentation starts no further ahead of the other track's latest than the bound.
    let (mut audio, mut video) = (None::<i64>, None::<i64>);
    let mut lead = 0;
    for e in &entries {
        match e {
            Entry::Audio { pts_us, .. } => {
                if let Some(v) = video {
                    lead = lead.max(pts_us - v);
                }
                audio = Some(*pts_us);
            }
            Entry::Video { pts_us } => {
                if let Some(a) = audio {
                    lead = lead.max(pts_us - a);
                }
                video = Some(*pts_us);
            }
            _ => {}
        }
    }
    println!("largest lead of one track over the other: {lead} µs (bound {LEAD_BOUND_US} µs, an AAC frame is {AAC_FRAME_US} µs)");
    assert!(
        lead <= LEAD_BOUND_US,
        "a track ran {lead} µs ahead of the other (bound {LEAD_BOUND_US} µs)"
    );
    // Both tracks from the start: the first presentations include both.
    let first: Vec<&Entry> = entries
        .iter()
        .filter(|e| is_presentation(e))
        .take(4)
        .collect();
    assert!(first.iter().any(|e| is_video(e)), "{first:?}");
    assert!(
        first.iter().any(|e| matches!(e, Entry::Audio { .. })),
        "{first:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seek_to_5_s_decrypts_from_the_keyframe_segment_before_it() {
    let (stack, clip) = film(RENT_PERIOD, BUYER, Purchase::Buy).await;
    let header = packager::inspect(&clip.ddrm).unwrap().header;
    let (v, a) = (
        track(&header, TrackKind::Video),
        track(&header, TrackKind::Audio),
    );
    let target_us: i64 = 5_000_000;
    let video_segments = segments(&header, v);
    let (keyframe_segment, keyframe_us) = video_segments
        .iter()
        .copied()
        .rfind(|&(i, pts)| pts <= target_us && header.segments[i as usize].is_keyframe())
        .expect("a keyframe segment at or before 5 s");
    assert!(
        keyframe_us > 0,
        "the film has a keyframe segment after its start, before 5 s: {video_segments:?}"
    );
    let audio_segments = segments(&header, a);
    let (audio_segment, _) = audio_segments
        .iter()
        .copied()
        .rfind(|&(_, pts)| pts <= target_us)
        .expect("an audio segment holding 5 s");
    let allowed: Vec<u32> = video_segments
        .iter()
        .filter(|(i, _)| *i >= keyframe_segment)
        .chain(audio_segments.iter().filter(|(i, _)| *i >= audio_segment))
        .map(|(i, _)| *i)
        .collect();

    let (playing, log) = start(&stack, &clip, BUYER, Duration::from_millis(5)).await;
    until(&log, "a first frame", |e| count(e, is_video) >= 1).await;
    playing
        .controller()
        .seek(Duration::from_micros(target_us as u64));
    let report = playing.finished().await.expect("the buyer plays");
    assert_eq!(report.ended, Ended::Finished);
    let entries = log.lock().unwrap().clone();

    let seeked = entries
        .iter()
        .position(
            |e| matches!(e, Entry::Event(Event::Seeked { to_us }) if *to_us == target_us as u64),
        )
        .expect("the capsule reports the seek");
    let before = &entries[..seeked];
    let after = &entries[seeked..];
    assert!(
        count(before, is_video) < (FILM_SECONDS * 24) as usize,
        "the seek came mid-play"
    );
    let after_seek = decrypted(after);
    println!(
        "decrypted before the seek {:?}, after {after_seek:?}; keyframe segment {keyframe_segment} at {keyframe_us} µs, audio segment {audio_segment}",
        decrypted(before)
    );
    assert!(
        after_seek.iter().all(|i| allowed.contains(i)),
        "after the seek only segments from the keyframe segment {keyframe_segment} (video) and \
         {audio_segment} (audio) on: {after_seek:?}"
    );
    let first_video = after_seek
        .iter()
        .find(|i| video_segments.iter().any(|(s, _)| s == *i));
    assert_eq!(first_video, Some(&keyframe_segment));
    let first_audio = after_seek
        .iter()
        .find(|i| audio_segments.iter().any(|(s, _)| s == *i));
    assert_eq!(first_audio, Some(&audio_segment));

    let first_frame = *video_pts(after).first().expect("frames after the seek");
    assert!(
        (target_us..target_us + FRAME_US).contains(&first_frame),
        "first frame after the seek at {first_frame} µs"
    );
    let first_audio = after
        .iter()
        .find_map(|e| match e {
            Entry::Audio { pts_us, .. } => Some(*pts_us),
            _ => None,
        })
        .expect("audio after the seek");
    assert!(
        (first_audio - target_us).abs() <= 1_000,
        "first audio after the seek at {first_audio} µs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_holds_presentation_and_resume_goes_on() {
    let (stack, clip) = film(RENT_PERIOD, BUYER, Purchase::Buy).await;
    let (playing, log) = start(&stack, &clip, BUYER, Duration::from_millis(5)).await;
    let controller: Controller = playing.controller();
    until(&log, "a first frame", |e| count(e, is_video) >= 1).await;
    pause(&controller, &log).await;
    assert!(controller.is_paused());
    let held = count(&log.lock().unwrap(), is_presentation);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        count(&log.lock().unwrap(), is_presentation),
        held,
        "nothing presented while paused"
    );
    controller.resume();
    let report = playing.finished().await.expect("plays to the end");
    assert_eq!(report.ended, Ended::Finished);
    let entries = log.lock().unwrap().clone();
    assert!(entries.iter().any(|e| matches!(e, Entry::Waiting(false))));
    assert!(count(&entries, is_presentation) > held, "resumed");
    // Resuming goes on where it held: every frame once, in order.
    let pts = video_pts(&entries);
    assert_eq!(pts.len(), (FILM_SECONDS * 24) as usize);
    assert!(pts.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rental_that_ends_mid_play_stops_at_the_next_segment() {
    // A 20 s rental: long enough to be granted, short enough to end while the test waits.
    let (stack, clip) = film(20, RENTER, Purchase::Rent(1)).await;
    let (playing, log) = start(&stack, &clip, RENTER, Duration::from_millis(5)).await;
    let controller = playing.controller();
    until(&log, "a first frame", |e| count(e, is_video) >= 1).await;
    pause(&controller, &log).await;
    let until_s = log
        .lock()
        .unwrap()
        .iter()
        .find_map(|e| match e {
            Entry::Event(Event::Licensed { policy, .. }) => policy.play_until,
            _ => None,
        })
        .expect("a rental's end in the licence");
    // Held until the rental is over by the host clock (the capsule's), then resumed.
    while unix_now() <= until_s {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before = log.lock().unwrap().len();
    let opened = decrypted(&log.lock().unwrap());
    controller.resume();
    let e = playing.finished().await.expect_err("the rental ended");
    assert!(matches!(e, PlayError::RentalExpired(_)), "{e}");
    let entries = log.lock().unwrap().clone();
    let after = &entries[before..];
    assert!(
        decrypted(after).is_empty(),
        "no segment decrypted once the rental ended: {:?} after {opened:?}",
        decrypted(after)
    );
    // What was already decrypted plays out, up to the next segment of each track.
    let header = packager::inspect(&clip.ddrm).unwrap().header;
    let video_segments = segments(&header, track(&header, TrackKind::Video));
    let next_video = video_segments
        .iter()
        .find(|(i, _)| {
            *i > *opened
                .iter()
                .filter(|i| video_segments.iter().any(|(s, _)| s == *i))
                .max()
                .unwrap()
        })
        .map(|(_, pts)| *pts)
        .unwrap_or(i64::MAX);
    let last_frame = *video_pts(&entries).iter().max().unwrap();
    assert!(
        last_frame < next_video,
        "frames stop before the next segment ({last_frame} µs, next segment at {next_video} µs)"
    );
    assert!(
        count(&entries, is_video) < (FILM_SECONDS * 24) as usize,
        "stopped before the end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_does_not_count_against_the_run_deadline() {
    let b = bought_clip(6).await;
    let clip = Clip {
        source: b.source.clone(),
        ddrm: b.ddrm.clone(),
        content: b.content,
    };
    // A deadline well above the run's own work (licence, 6 s of FLAC) and below the pause.
    let deadline = Duration::from_secs(6);
    let limits = RunLimits {
        memory_bytes: 256 << 20,
        timeout: deadline,
        ..RunLimits::default()
    };
    let (playing, log) = start_with(
        &b.stack,
        &clip,
        BUYER,
        Duration::from_millis(5),
        Some(limits),
    )
    .await;
    let controller = playing.controller();
    until(&log, "first audio", |e| count(e, is_presentation) >= 1).await;
    pause(&controller, &log).await;
    tokio::time::sleep(deadline + Duration::from_secs(1)).await;
    controller.resume();
    let report = playing
        .finished()
        .await
        .expect("plays to the end after a pause longer than the deadline");
    assert_eq!(report.ended, Ended::Finished);
    assert_eq!(report.audio_frames, 6 * 48_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_a_run_as_stopped_and_dropping_a_session_stops_it() {
    let (stack, clip) = film(RENT_PERIOD, BUYER, Purchase::Buy).await;
    let (playing, log) = start(&stack, &clip, BUYER, Duration::from_millis(5)).await;
    until(&log, "a first frame", |e| count(e, is_video) >= 1).await;
    playing.controller().stop();
    let report = playing.finished().await.expect("a stop is not a refusal");
    assert_eq!(report.ended, Ended::Stopped);
    assert!(report.video_frames < u64::from(FILM_SECONDS * 24));
    assert!(report.describe().starts_with("stopped playing"));

    let (playing, log) = start(&stack, &clip, BUYER, Duration::from_millis(5)).await;
    until(&log, "a first frame", |e| count(e, is_video) >= 1).await;
    drop(playing);
    until(&log, "the capsule stops once its session is dropped", |e| {
        e.iter().any(|e| {
            matches!(
                e,
                Entry::Event(Event::Stopped {
                    kind: StopKind::Requested,
                    ..
                })
            )
        })
    })
    .await;
    assert!(count(&log.lock().unwrap(), is_video) < (FILM_SECONDS * 24) as usize);
}

/// A server drives sessions from tokio tasks: starting one, awaiting its end and its controller
/// all move between threads (checked when this compiles).
#[test]
fn a_session_can_be_driven_from_tokio_tasks() {
    fn send<T: Send>(_: &T) {}
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Controller>();
    let _starts =
        |host: std::sync::Arc<player::Host>,
         opts: player::PlayOptions,
         presenter: Box<dyn Presenter>| { send(&player::start(host, opts, presenter)) };
    let _ends = |playing: Playing| send(&playing.finished());
}
