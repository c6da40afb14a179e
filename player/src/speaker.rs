//! The default audio output: a [`Presenter`] that plays what the capsule presents on the
//! machine's default output device (cpal: ALSA on Linux, CoreAudio, WASAPI), paced by it.
//!
//! The capsule pushes samples into a queue that holds at most [`AHEAD`] of audio: a full
//! queue holds the capsule back, so it decodes at the device's pace. The device's callback
//! takes from the queue; it starts once [`PREBUFFER`] is queued (or the content ends). When
//! the queue runs dry before the end, the callback waits up to [`STALL`] for the capsule
//! before playing silence: a device that asks faster than real time (a file sink) records
//! exactly what was presented, and a real one hears a gap only when the capsule stalls. A
//! cpal stream may not move between threads, so it lives on a thread of its own.

use std::collections::VecDeque;
use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use ddrm_capsule::wire::Event;

use crate::capsule_host::Presenter;
use crate::play::{start, PlayOptions, PlayReport};
use crate::{Host, PlayError};

/// Most audio queued ahead of the device.
pub const AHEAD: Duration = Duration::from_millis(250);
/// Audio queued before the device starts.
pub const PREBUFFER: Duration = Duration::from_millis(100);
/// How long the device's callback waits for a late capsule before playing silence.
pub const STALL: Duration = Duration::from_millis(500);

/// The default output device, opened for one play.
pub struct Speaker {
    shared: Arc<Shared>,
    name: String,
    start: mpsc::Sender<Format>,
    /// The device thread's answer to a start: whether the stream plays.
    started: Arc<Mutex<mpsc::Receiver<Result<(), String>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Clone, Copy)]
struct Format {
    sample_rate: u32,
    channels: u16,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    changed: Condvar,
}

#[derive(Default)]
struct Queue {
    samples: VecDeque<f32>,
    format: Option<Format>,
    /// The stream was asked for.
    starting: bool,
    /// No more samples will come.
    ended: bool,
    /// Stop the stream now.
    closing: bool,
    /// The run is paused: the device plays silence and keeps the queue.
    paused: bool,
    /// The device's first error: the stream stopped.
    failed: Option<String>,
    /// Device callbacks so far, and frames they took from the queue (not silence).
    callbacks: u64,
    played_frames: u64,
    silent_frames: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Samples in `d` of audio in `format`.
fn samples_in(d: Duration, format: Format) -> usize {
    (d.as_micros() * u128::from(format.sample_rate) / 1_000_000) as usize
        * usize::from(format.channels)
}

/// What a play to the speaker did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Played {
    /// Frames the device took from the capsule's audio.
    pub frames: u64,
    /// Frames of silence it played while the capsule was late.
    pub silent_frames: u64,
}

impl Speaker {
    /// Opens the default output device (before anything is asked of the licence network): a
    /// machine without one (headless, no sound card or sound server) is named as such.
    pub fn open() -> Result<Self, PlayError> {
        let host = cpal::default_host();
        let headless = |why: String| {
            PlayError::NoAudioDevice(format!(
                "{why} ({} audio); on a headless machine write the decoded audio with \
                 --audio-out FILE instead",
                host.id().name()
            ))
        };
        let device = host
            .default_output_device()
            .ok_or_else(|| headless("there is no default output device".into()))?;
        // Opening its configuration opens the device: a default that leads nowhere fails here.
        device.default_output_config().map_err(|e| {
            headless(match e {
                cpal::DefaultStreamConfigError::DeviceNotAvailable => {
                    "the default output device does not exist or cannot be opened".into()
                }
                e => format!("the default output device cannot be opened: {e}"),
            })
        })?;
        let name = device.name().unwrap_or_else(|_| "default".into());
        let shared = Arc::new(Shared::default());
        let (start, formats) = mpsc::channel::<Format>();
        let (answer, started) = mpsc::channel();
        let on_device = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ddrm-speaker".into())
            .spawn(move || device_thread(device, on_device, formats, answer))
            .map_err(|e| PlayError::Output(format!("cannot start the audio thread: {e}")))?;
        Ok(Self {
            shared,
            name,
            start,
            started: Arc::new(Mutex::new(started)),
            thread: Some(thread),
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The presenter that feeds this speaker (audio only: frames are refused).
    pub fn presenter(&self) -> Box<dyn Presenter> {
        Box::new(Feed {
            shared: self.shared.clone(),
            start: self.start.clone(),
            started: self.started.clone(),
        })
    }

    /// After the run: plays out what is queued, then closes the device. Blocks until the
    /// audio has been played.
    pub fn finish(mut self) -> Result<Played, PlayError> {
        let mut q = self.shared.lock();
        q.ended = true;
        self.shared.changed.notify_all();
        if q.format.is_some() && !q.starting {
            // Shorter than the prebuffer: start now.
            q.starting = true;
            let format = q.format.expect("checked");
            drop(q);
            start_stream(&self.start, &self.started, format).map_err(PlayError::Output)?;
            q = self.shared.lock();
        }
        if q.starting {
            // Until the queue is empty and the device has taken two more periods, so the last
            // samples have left the queue for the device.
            while !q.samples.is_empty() && !q.closing {
                q = wait(&self.shared, q, STALL);
            }
            let until = q.callbacks + 2;
            while q.callbacks < until && !q.closing {
                q = wait(&self.shared, q, STALL);
            }
        }
        q.closing = true;
        let played = Played {
            frames: q.played_frames,
            silent_frames: q.silent_frames,
        };
        let failed = q.failed.take();
        drop(q);
        self.close();
        match failed {
            Some(e) => Err(PlayError::Output(format!("the audio output failed: {e}"))),
            None => Ok(played),
        }
    }

    fn close(&mut self) {
        self.shared.lock().closing = true;
        self.shared.changed.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.close();
    }
}

fn wait<'a>(
    shared: &'a Shared,
    q: MutexGuard<'a, Queue>,
    at_most: Duration,
) -> MutexGuard<'a, Queue> {
    shared
        .changed
        .wait_timeout(q, at_most)
        .unwrap_or_else(|p| p.into_inner())
        .0
}

/// Asks the device thread for a stream in `format` and waits for its answer.
fn start_stream(
    start: &mpsc::Sender<Format>,
    started: &Mutex<mpsc::Receiver<Result<(), String>>>,
    format: Format,
) -> Result<(), String> {
    start
        .send(format)
        .map_err(|_| "the audio thread has stopped".to_string())?;
    started
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .recv()
        .map_err(|_| "the audio thread has stopped".to_string())?
}

/// Owns the cpal stream: builds it in the first format asked for, plays it, and keeps it
/// until closed.
fn device_thread(
    device: cpal::Device,
    shared: Arc<Shared>,
    formats: mpsc::Receiver<Format>,
    answer: mpsc::Sender<Result<(), String>>,
) {
    let format = loop {
        match formats.recv_timeout(Duration::from_millis(100)) {
            Ok(f) => break f,
            Err(mpsc::RecvTimeoutError::Timeout) if !shared.lock().closing => {}
            Err(_) => return,
        }
    };
    let config = cpal::StreamConfig {
        channels: format.channels,
        sample_rate: cpal::SampleRate(format.sample_rate),
        buffer_size: cpal::BufferSize::Default,
    };
    let on_data = shared.clone();
    let on_error = shared.clone();
    let stream = device
        .build_output_stream::<f32, _, _>(
            &config,
            move |out: &mut [f32], _| fill(&on_data, out),
            move |e| {
                let mut q = on_error.lock();
                q.failed.get_or_insert_with(|| e.to_string());
                q.closing = true;
                on_error.changed.notify_all();
            },
            None,
        )
        .map_err(|e| {
            format!(
                "the output device cannot play {} Hz, {} channels of 32-bit float: {e}",
                format.sample_rate, format.channels
            )
        })
        .and_then(|s| s.play().map(|()| s).map_err(|e| e.to_string()));
    let stream = match stream {
        Ok(s) => {
            let _ = answer.send(Ok(()));
            s
        }
        Err(e) => {
            let _ = answer.send(Err(e));
            return;
        }
    };
    let mut q = shared.lock();
    while !q.closing {
        q = shared.changed.wait(q).unwrap_or_else(|p| p.into_inner());
    }
    drop(q);
    drop(stream);
}

/// The device's callback: the queued samples, waiting up to [`STALL`] for a late capsule,
/// then silence (counted as a gap); while paused, and after the end until the stream closes,
/// silence.
fn fill(shared: &Shared, out: &mut [f32]) {
    let mut q = shared.lock();
    let channels = q.format.map_or(1, |f| usize::from(f.channels));
    let mut done = 0;
    while done < out.len() && !q.paused {
        if q.samples.is_empty() && !q.ended && !q.closing {
            let (next, timeout) = shared
                .changed
                .wait_timeout(q, STALL)
                .unwrap_or_else(|p| p.into_inner());
            q = next;
            if timeout.timed_out() && q.samples.is_empty() {
                break;
            }
            continue;
        }
        let n = q.samples.len().min(out.len() - done);
        if n == 0 {
            break;
        }
        for (o, s) in out[done..done + n].iter_mut().zip(q.samples.drain(..n)) {
            *o = s;
        }
        done += n;
        q.played_frames += (n / channels) as u64;
    }
    out[done..].fill(0.0);
    if !q.ended && !q.paused {
        q.silent_frames += ((out.len() - done) / channels) as u64;
    }
    q.callbacks += 1;
    shared.changed.notify_all();
}

/// What the capsule presents, into the speaker's queue.
struct Feed {
    shared: Arc<Shared>,
    start: mpsc::Sender<Format>,
    started: Arc<Mutex<mpsc::Receiver<Result<(), String>>>>,
}

impl Presenter for Feed {
    fn audio(&mut self, interleaved: &[f32], _pts_us: i64) -> io::Result<()> {
        let mut q = self.shared.lock();
        let format = q
            .format
            .ok_or_else(|| io::Error::other("audio before its format"))?;
        // Held back while the device has enough.
        while q.samples.len() >= samples_in(AHEAD, format) && q.starting && !q.closing {
            q = wait(&self.shared, q, STALL);
        }
        if q.closing {
            let why = q.failed.clone().unwrap_or_else(|| "it was closed".into());
            return Err(io::Error::other(format!("the audio output stopped: {why}")));
        }
        q.samples.extend(interleaved);
        self.shared.changed.notify_all();
        if !q.starting && q.samples.len() >= samples_in(PREBUFFER, format) {
            q.starting = true;
            drop(q);
            start_stream(&self.start, &self.started, format).map_err(io::Error::other)?;
        }
        Ok(())
    }

    fn video(&mut self, _planes: &[u8], _pts_us: i64) -> io::Result<()> {
        Err(io::Error::other("the speaker plays audio only"))
    }

    fn waiting(&mut self, waiting: bool, _position_us: i64) {
        self.shared.lock().paused = waiting;
        self.shared.changed.notify_all();
    }

    fn event(&mut self, event: &Event) {
        if let Some((sample_rate, channels)) = event.audio_format() {
            self.shared.lock().format = Some(Format {
                sample_rate,
                channels,
            });
        }
        match event {
            Event::Seeked { .. } => {
                // What was queued from before the seek is not played.
                self.shared.lock().samples.clear();
            }
            Event::Finished { .. } | Event::Stopped { .. } => {
                self.shared.lock().ended = true;
                self.shared.changed.notify_all();
            }
            _ => {}
        }
    }
}

/// Plays `opts.source`'s audio on the default output device, through [`start`]: the device is
/// opened first (a machine without one is refused before any licence is asked for), the run
/// is paced by it, and this returns once the audio has been played.
pub async fn play_aloud(host: Arc<Host>, mut opts: PlayOptions) -> Result<PlayReport, PlayError> {
    opts.audio = true;
    opts.video = false;
    let speaker = tokio::task::spawn_blocking(Speaker::open)
        .await
        .map_err(|e| PlayError::Output(e.to_string()))??;
    let name = speaker.name().to_string();
    let result = match start(host, opts, speaker.presenter()).await {
        Ok(playing) => playing.finished().await,
        Err(e) => Err(e),
    };
    let finished = tokio::task::spawn_blocking(move || speaker.finish())
        .await
        .map_err(|e| PlayError::Output(e.to_string()))?;
    // The run's own cause first (a refusal), then the device's.
    let mut report = result?;
    let played = finished?;
    if played.frames == 0 {
        return Err(PlayError::Unsupported(
            "the content has no audio to play".into(),
        ));
    }
    report.audio_device = Some(name);
    report.audio_silence_frames = played.silent_frames;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(samples: &[f32]) -> Shared {
        let s = Shared::default();
        {
            let mut q = s.lock();
            q.format = Some(Format {
                sample_rate: 48_000,
                channels: 2,
            });
            q.samples.extend(samples);
        }
        s
    }

    /// Frames played from the queue and frames of silence counted as gaps.
    fn counts(s: &Shared) -> (u64, u64) {
        let q = s.lock();
        (q.played_frames, q.silent_frames)
    }

    #[test]
    fn the_device_takes_what_is_queued_and_plays_silence_while_paused_or_after_the_end() {
        let s = shared(&[0.5; 8]);
        let mut out = [1.0f32; 4];
        fill(&s, &mut out);
        assert_eq!(out, [0.5; 4]);
        assert_eq!(counts(&s), (2, 0));

        // Paused: silence, the queue kept, no gap counted.
        s.lock().paused = true;
        fill(&s, &mut out);
        assert_eq!(out, [0.0; 4]);
        assert_eq!(s.lock().samples.len(), 4);
        assert_eq!(s.lock().silent_frames, 0);

        // Resumed to the end: the rest, then silence that is not a gap.
        s.lock().paused = false;
        s.lock().ended = true;
        let mut longer = [1.0f32; 8];
        fill(&s, &mut longer);
        assert_eq!(longer, [0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(counts(&s), (4, 0));
    }

    #[test]
    fn a_late_capsule_is_waited_for_then_counted_as_a_gap() {
        let s = shared(&[]);
        let mut out = [1.0f32; 4];
        let t0 = std::time::Instant::now();
        fill(&s, &mut out);
        assert!(t0.elapsed() >= STALL, "waited {:?}", t0.elapsed());
        assert_eq!(out, [0.0; 4]);
        assert_eq!(s.lock().silent_frames, 2);
    }
}
