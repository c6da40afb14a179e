//! The packaging pass: demux once, copy or transcode each selected stream, cut segments, and
//! hand them to the caller interleaved by time.

use std::path::Path;

use ffmpeg_next::format::stream::Disposition;
use ffmpeg_next::{codec, media, Rational, Rescale};
use packager_format::{Attachment, Packet, Track, TrackKind};

use super::audio::{AudioTarget, AudioTranscoder};
use super::audio_codec::{flac_streaminfo, parse_adts};
use super::ffi;
use super::probe::{fits_profile, open_input};
use super::rotate::Rotation;
use super::segment::{ticks_to_us, Interleaver, Segmenter};
use super::thumbnail::{cover_art, CopyThumbnailer};
use super::video::{VideoTranscoder, VIDEO_TIMESCALE};
use super::{init, MediaError, MediaOptions, MediaProbe, MediaSegment, MediaSummary};

/// Damaged stretches the demuxer may skip before the input is declared unreadable.
const MAX_DAMAGED_READS: u32 = 1000;
/// How often (in media time) progress is reported.
const PROGRESS_STEP_MS: u64 = 1000;

/// One selected input stream and what becomes of it.
struct Job {
    stream_index: usize,
    in_tb: Rational,
    track: Track,
    work: Work,
    segmenter: Segmenter,
    bytes: u64,
    first_pts: Option<i64>,
    end_pts: i64,
    /// Subtracted from every output timestamp (track ticks): the input's start time.
    shift: i64,
}

enum Work {
    Copy(Copy),
    Video(Box<VideoTranscoder>),
    Audio(Box<AudioTranscoder>),
}

/// Packet-for-packet copy with timestamps rescaled to the track's timescale.
struct Copy {
    audio: bool,
    /// Video only: decodes the first second for the thumbnail.
    thumbnailer: Option<Box<CopyThumbnailer>>,
    /// Duration of a packet whose container does not say, in track ticks.
    default_duration: i64,
    /// AAC in ADTS frames: strip each header, take the AudioSpecificConfig from the first.
    adts: bool,
    last_end: i64,
}

/// Transcodes what does not fit the profile, copies what does, and cuts segments; calls `sink`
/// for each segment, interleaved across tracks by time, and `progress(done_ms, total_ms)` about
/// once per second of media.
pub fn package_media(
    input: &Path,
    probe: &MediaProbe,
    opts: &MediaOptions,
    progress: &mut dyn FnMut(u64, u64),
    sink: &mut dyn FnMut(MediaSegment) -> Result<(), MediaError>,
) -> Result<MediaSummary, MediaError> {
    init()?;
    if !(opts.segment_seconds.is_finite() && (0.1..=60.0).contains(&opts.segment_seconds)) {
        return Err(MediaError::BadOptions(format!(
            "segment length {} s is not between 0.1 and 60",
            opts.segment_seconds
        )));
    }
    let mut ictx = open_input(input)?;
    let mut jobs = make_jobs(&ictx, input, probe, opts)?;
    align_starts(&ictx, &mut jobs);
    let cover = pump(
        &mut ictx,
        input,
        &mut jobs,
        probe.duration_ms,
        progress,
        sink,
    )?;
    Ok(summarise(&mut jobs, cover, probe, progress))
}

/// One job per selected track (video first, then audio), numbered in that order.
fn make_jobs(
    ictx: &ffmpeg_next::format::context::Input,
    input: &Path,
    probe: &MediaProbe,
    opts: &MediaOptions,
) -> Result<Vec<Job>, MediaError> {
    let mut jobs = Vec::new();
    for (selected, kind) in [
        (&probe.video, TrackKind::Video),
        (&probe.audio, TrackKind::Audio),
    ] {
        let Some(sel) = selected else { continue };
        let stream = ictx
            .stream(sel.index)
            .ok_or_else(|| MediaError::Unreadable {
                path: input.to_path_buf(),
                reason: format!("stream {} is gone", sel.index),
            })?;
        let track_no = jobs.len() as u32;
        jobs.push(make_job(&stream, kind, track_no, opts)?);
    }
    if jobs.is_empty() {
        return Err(MediaError::NoMediaStreams {
            path: input.to_path_buf(),
        });
    }
    Ok(jobs)
}

/// Inputs that start late (MPEG-TS starts at 1.4 s) are moved to start at 0, all tracks
/// alike. Encoder priming (a start before 0) is kept: decoders need it.
fn align_starts(ictx: &ffmpeg_next::format::context::Input, jobs: &mut [Job]) {
    let start_us = jobs
        .iter()
        .filter_map(|j| {
            let s = ictx.stream(j.stream_index)?;
            let t = s.start_time();
            (t != ffmpeg_next::ffi::AV_NOPTS_VALUE)
                .then(|| t.rescale(j.in_tb, Rational(1, 1_000_000)))
        })
        .min()
        .unwrap_or(0)
        .max(0);
    for job in jobs {
        job.shift = start_us.rescale(
            Rational(1, 1_000_000),
            Rational(1, job.track.timescale as i32),
        );
    }
}

/// Reads every packet, works it through its track's job and hands finished segments to `sink`
/// in presentation order across tracks; returns the cover art of an audio file, if any (one
/// packet of an attached-picture stream).
fn pump(
    ictx: &mut ffmpeg_next::format::context::Input,
    input: &Path,
    jobs: &mut [Job],
    total_ms: u64,
    progress: &mut dyn FnMut(u64, u64),
    sink: &mut dyn FnMut(MediaSegment) -> Result<(), MediaError>,
) -> Result<Option<Attachment>, MediaError> {
    let cover_stream = ictx
        .streams()
        .find(|s| {
            s.parameters().medium() == media::Type::Video
                && s.disposition().contains(Disposition::ATTACHED_PIC)
        })
        .map(|s| (s.index(), s.parameters().id()));
    let mut cover = None;
    let mut reported_ms = 0u64;
    progress(0, total_ms);
    let mut interleaver = Interleaver::new(jobs.len());
    let mut out = Vec::new();
    let mut damaged = 0u32;
    loop {
        let mut packet = ffmpeg_next::Packet::empty();
        match packet.read(ictx) {
            Ok(()) => {}
            Err(ffmpeg_next::Error::Eof) => break,
            // A damaged stretch: the demuxer resynchronises, within bounds.
            Err(ffmpeg_next::Error::InvalidData) if damaged < MAX_DAMAGED_READS => {
                damaged += 1;
                continue;
            }
            Err(e) => {
                return Err(MediaError::Unreadable {
                    path: input.to_path_buf(),
                    reason: e.to_string(),
                })
            }
        }
        let Some(j) = jobs.iter().position(|j| j.stream_index == packet.stream()) else {
            if let Some((index, id)) = cover_stream {
                if cover.is_none() && packet.stream() == index {
                    cover = cover_art(id, packet.data().unwrap_or(&[]));
                }
            }
            continue;
        };
        let job = &mut jobs[j];
        if let Some(ts) = packet.pts().or(packet.dts()) {
            let ms = u64::try_from(ts.rescale(job.in_tb, Rational(1, 1000))).unwrap_or(0);
            if ms >= reported_ms + PROGRESS_STEP_MS {
                reported_ms = ms;
                // A container's stated duration can be short of the last packet.
                progress(if total_ms > 0 { ms.min(total_ms) } else { ms }, total_ms);
            }
        }
        out.clear();
        job.work_packet(&packet, &mut out)?;
        job.take(&mut out, &mut interleaver)?;
        interleaver.set_bound(j, job.segmenter.lower_bound_us());
        while let Some(seg) = interleaver.pop_ready() {
            sink(seg)?;
        }
    }
    for (j, job) in jobs.iter_mut().enumerate() {
        out.clear();
        job.finish_work(&mut out)?;
        job.take(&mut out, &mut interleaver)?;
        if let Some(seg) = job.segmenter.finish()? {
            interleaver.offer(seg, job.track.timescale);
        }
        interleaver.finish_track(j);
    }
    while let Some(seg) = interleaver.pop_ready() {
        sink(seg)?;
    }
    Ok(cover)
}

/// The tracks as packaged, the playing time, and a thumbnail (a picked video frame, else the
/// cover art).
fn summarise(
    jobs: &mut [Job],
    cover: Option<Attachment>,
    probe: &MediaProbe,
    progress: &mut dyn FnMut(u64, u64),
) -> MediaSummary {
    let mut duration_ms = 0u64;
    let mut tracks = Vec::with_capacity(jobs.len());
    let mut thumbnail = None;
    for job in jobs {
        job.finalize_track();
        if let Some(first) = job.first_pts {
            // Encoder priming (negative timestamps) is not playing time; a late start is not either.
            let ms = ticks_to_us(job.end_pts - first.max(0), job.track.timescale) / 1000;
            duration_ms = duration_ms.max(u64::try_from(ms).unwrap_or(0));
        }
        if thumbnail.is_none() {
            thumbnail = match &job.work {
                Work::Video(v) => v.thumbnail.png(),
                Work::Copy(Copy {
                    thumbnailer: Some(t),
                    ..
                }) => t.pick.png(),
                _ => None,
            };
        }
        tracks.push(job.track.clone());
    }
    if thumbnail.is_none() {
        thumbnail = cover;
    }
    if duration_ms == 0 {
        duration_ms = probe.duration_ms;
    }
    let end_ms = duration_ms.max(probe.duration_ms);
    progress(end_ms, end_ms);
    MediaSummary {
        tracks,
        duration_ms,
        mime_type: probe.mime_type.clone(),
        thumbnail,
    }
}

fn make_job(
    stream: &ffmpeg_next::format::stream::Stream<'_>,
    kind: TrackKind,
    track_no: u32,
    opts: &MediaOptions,
) -> Result<Job, MediaError> {
    let params = ffi::stream_params(&stream.parameters());
    let in_tb = stream.time_base();
    // A rotated picture is turned upright, which needs a re-encode.
    let copy = fits_profile(&params)
        && !(kind == TrackKind::Video && Rotation::of_stream(stream) != Rotation::None);
    let mut track = Track {
        kind,
        ..Track::data()
    };
    track.language = stream
        .metadata()
        .get("language")
        .filter(|l| *l != "und")
        .unwrap_or("")
        .to_string();
    let work = match (kind, copy) {
        (TrackKind::Video, true) => copy_video(stream, &params, &mut track),
        (TrackKind::Video, false) => transcode_video(stream, opts, &mut track)?,
        (_, true) => copy_audio(&params, &mut track),
        (_, false) => transcode_audio(stream, opts, &mut track)?,
    };
    if track.timescale == 0 {
        return Err(MediaError::Decode {
            what: format!("stream {}", stream.index()),
            reason: "no sample rate".into(),
        });
    }
    let segmenter = Segmenter::new(
        track_no,
        track.timescale,
        kind == TrackKind::Video,
        opts.segment_seconds,
    );
    Ok(Job {
        stream_index: stream.index(),
        in_tb,
        track,
        work,
        segmenter,
        bytes: 0,
        first_pts: None,
        end_pts: 0,
        shift: 0,
    })
}

/// An AV1 video track kept as it is: its time base, size, frame rate and configuration OBUs.
fn copy_video(
    stream: &ffmpeg_next::format::stream::Stream<'_>,
    params: &ffi::StreamParams,
    track: &mut Track,
) -> Work {
    let in_tb = stream.time_base();
    track.codec = "av1".into();
    track.timescale = if in_tb.numerator() == 1 && in_tb.denominator() > 0 {
        in_tb.denominator() as u32
    } else {
        VIDEO_TIMESCALE
    };
    track.width = params.width;
    track.height = params.height;
    let fps = [stream.avg_frame_rate(), stream.rate()]
        .into_iter()
        .find(|r| r.numerator() > 0 && r.denominator() > 0)
        .unwrap_or(Rational(0, 1));
    track.frame_rate_num = fps.numerator().max(0) as u32;
    track.frame_rate_den = fps.denominator().max(0) as u32;
    // av1C (marker bit set) carries 4 bytes of summary before the config OBUs.
    track.codec_private = match params.extradata.first() {
        Some(b) if b & 0x80 != 0 && params.extradata.len() >= 4 => params.extradata[4..].to_vec(),
        _ => params.extradata.clone(),
    };
    let default_duration = if fps.numerator() > 0 {
        1i64.rescale(fps.invert(), Rational(1, track.timescale as i32))
    } else {
        0
    };
    Work::Copy(Copy {
        audio: false,
        thumbnailer: Some(Box::new(CopyThumbnailer::new(stream))),
        default_duration,
        adts: false,
        last_end: 0,
    })
}

/// Any other video, transcoded to AV1 (upright).
fn transcode_video(
    stream: &ffmpeg_next::format::stream::Stream<'_>,
    opts: &MediaOptions,
    track: &mut Track,
) -> Result<Work, MediaError> {
    let v = VideoTranscoder::new(stream, opts.segment_seconds)?;
    track.codec = "av1".into();
    track.timescale = VIDEO_TIMESCALE;
    track.width = v.width;
    track.height = v.height;
    track.frame_rate_num = v.fps.numerator() as u32;
    track.frame_rate_den = v.fps.denominator() as u32;
    track.codec_private = v.codec_private();
    Ok(Work::Video(Box::new(v)))
}

/// An AAC or FLAC audio track kept as it is (AAC in ADTS frames is unwrapped as it goes).
fn copy_audio(params: &ffi::StreamParams, track: &mut Track) -> Work {
    let flac = params.id == codec::Id::FLAC;
    track.codec = if flac { "flac" } else { "aac" }.into();
    track.timescale = params.sample_rate;
    track.sample_rate = params.sample_rate;
    track.channels = params.channels;
    track.codec_private = if flac {
        flac_streaminfo(&params.extradata).unwrap_or_default()
    } else {
        params.extradata.clone()
    };
    let default_duration = if params.id == codec::Id::AAC { 1024 } else { 0 };
    Work::Copy(Copy {
        audio: true,
        thumbnailer: None,
        default_duration,
        adts: params.id == codec::Id::AAC && params.extradata.is_empty(),
        last_end: 0,
    })
}

/// Any other audio, transcoded to AAC (or FLAC when lossless).
fn transcode_audio(
    stream: &ffmpeg_next::format::stream::Stream<'_>,
    opts: &MediaOptions,
    track: &mut Track,
) -> Result<Work, MediaError> {
    let target = if opts.lossless {
        AudioTarget::Flac
    } else {
        AudioTarget::Aac
    };
    let a = AudioTranscoder::new(stream, target)?;
    track.codec = target.codec().into();
    track.timescale = a.rate;
    track.sample_rate = a.rate;
    track.channels = a.channels;
    track.codec_private = a.codec_private();
    Ok(Work::Audio(Box::new(a)))
}

impl Job {
    fn work_packet(
        &mut self,
        packet: &ffmpeg_next::Packet,
        out: &mut Vec<Packet>,
    ) -> Result<(), MediaError> {
        match &mut self.work {
            Work::Copy(c) => {
                if let Some(t) = c.thumbnailer.as_mut() {
                    t.push(Some(packet));
                }
                let Some(mut data) = packet.data().filter(|d| !d.is_empty()) else {
                    return Ok(());
                };
                if c.adts {
                    let adts_err = |why: &str| MediaError::Decode {
                        what: "the AAC stream".into(),
                        reason: why.into(),
                    };
                    let h = parse_adts(data)
                        .ok_or_else(|| adts_err("a packet is not one ADTS frame"))?;
                    if self.track.codec_private.is_empty() {
                        self.track.codec_private = h.asc.to_vec();
                    } else if self.track.codec_private != h.asc {
                        return Err(adts_err("the ADTS configuration changes mid-stream"));
                    }
                    data = &data[h.header_len..];
                }
                let to = Rational(1, self.track.timescale as i32);
                let pts = packet
                    .pts()
                    .or(packet.dts())
                    .map_or(c.last_end, |t| t.rescale(self.in_tb, to));
                let dts = packet.dts().map_or(pts, |t| t.rescale(self.in_tb, to));
                let duration = match packet.duration() {
                    d if d > 0 => d.rescale(self.in_tb, to),
                    _ => c.default_duration,
                };
                c.last_end = pts + duration;
                out.push(Packet {
                    pts,
                    dts,
                    duration: u32::try_from(duration.max(0)).unwrap_or(u32::MAX),
                    keyframe: c.audio || packet.is_key(),
                    data: data.to_vec(),
                });
                Ok(())
            }
            Work::Video(v) => v.push(packet, out),
            Work::Audio(a) => a.push(packet, out),
        }
    }

    fn finish_work(&mut self, out: &mut Vec<Packet>) -> Result<(), MediaError> {
        match &mut self.work {
            Work::Copy(c) => {
                if let Some(t) = c.thumbnailer.as_mut() {
                    t.push(None);
                }
                Ok(())
            }
            Work::Video(v) => v.finish(out),
            Work::Audio(a) => a.finish(out),
        }
    }

    /// Moves produced packets into the segmenter, offering closed segments to the interleaver.
    fn take(&mut self, out: &mut Vec<Packet>, il: &mut Interleaver) -> Result<(), MediaError> {
        for mut p in out.drain(..) {
            p.pts -= self.shift;
            p.dts -= self.shift;
            self.bytes += p.data.len() as u64;
            self.first_pts = Some(self.first_pts.map_or(p.pts, |f| f.min(p.pts)));
            self.end_pts = self.end_pts.max(p.pts + i64::from(p.duration));
            if let Some(seg) = self.segmenter.push(p)? {
                il.offer(seg, self.track.timescale);
            }
        }
        Ok(())
    }

    /// Fills in what is only known at the end: the average bit rate.
    fn finalize_track(&mut self) {
        if let Some(first) = self.first_pts {
            let ticks = (self.end_pts - first).max(1) as u128;
            self.track.bit_rate = u64::try_from(
                u128::from(self.bytes) * 8 * u128::from(self.track.timescale) / ticks,
            )
            .unwrap_or(u64::MAX);
        }
    }
}
