//! Cutting a track's packets into segments, and ordering segments of all tracks by time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use packager_format::{limits, Packet};

use super::{MediaError, MediaSegment};

/// A segment is closed early, even between keyframes, when it would grow past these.
const MAX_SEGMENT_BYTES: usize = limits::SEGMENT / 2;
const MAX_SEGMENT_PACKETS: usize = 1 << 16;
/// Longest segment in seconds when no keyframe comes.
const MAX_SEGMENT_SECONDS: i64 = 60;

/// Cuts one track's packets (in decode order) into segments.
pub(crate) struct Segmenter {
    track: u32,
    timescale: u32,
    video: bool,
    /// Target length in ticks.
    target: i64,
    max_ticks: i64,
    packets: Vec<Packet>,
    bytes: usize,
    start: i64,
    end: i64,
    /// End of the last closed segment, a lower bound for the next one's start.
    closed_end: Option<i64>,
}

impl Segmenter {
    pub(crate) fn new(track: u32, timescale: u32, video: bool, segment_seconds: f64) -> Self {
        let target = (segment_seconds * f64::from(timescale)).round().max(1.0) as i64;
        let max_ticks = (MAX_SEGMENT_SECONDS * i64::from(timescale))
            .max(target)
            .min(i64::from(u32::MAX / 2));
        Self {
            track,
            timescale,
            video,
            target,
            max_ticks,
            packets: Vec::new(),
            bytes: 0,
            start: 0,
            end: 0,
            closed_end: None,
        }
    }

    /// Adds a packet; returns the segment it closed, if any.
    pub(crate) fn push(&mut self, p: Packet) -> Result<Option<MediaSegment>, MediaError> {
        let mut closed = None;
        if !self.packets.is_empty() {
            let length = p.pts.max(p.dts).saturating_sub(self.start);
            let full = self.bytes + p.data.len() > MAX_SEGMENT_BYTES
                || self.packets.len() >= MAX_SEGMENT_PACKETS
                || self.end - self.start >= self.max_ticks;
            let at_boundary = if self.video {
                // Keyframes placed every `target` ticks land a little early or late: accept 90 %.
                p.keyframe && length * 10 >= self.target * 9
            } else {
                self.end - self.start >= self.target
            };
            if full || at_boundary {
                closed = self.close()?;
            }
        }
        if self.packets.is_empty() {
            self.start = p.pts;
            self.end = p.pts;
        }
        self.start = self.start.min(p.pts);
        self.end = self.end.max(p.pts.saturating_add(i64::from(p.duration)));
        self.bytes += p.data.len();
        self.packets.push(p);
        Ok(closed)
    }

    /// Closes the open segment, if any.
    pub(crate) fn finish(&mut self) -> Result<Option<MediaSegment>, MediaError> {
        self.close()
    }

    fn close(&mut self) -> Result<Option<MediaSegment>, MediaError> {
        if self.packets.is_empty() {
            return Ok(None);
        }
        let packets = std::mem::take(&mut self.packets);
        self.bytes = 0;
        let duration = u32::try_from(self.end - self.start).map_err(|_| MediaError::Segment {
            track: self.track,
            why: format!(
                "its duration {} does not fit 32 bits",
                self.end - self.start
            ),
        })?;
        self.closed_end = Some(self.end);
        Ok(Some(MediaSegment {
            track: self.track,
            pts: self.start,
            duration,
            keyframe: packets[0].keyframe,
            packets,
        }))
    }

    /// The earliest time (µs) the next segment this track emits can start at; `None` while
    /// nothing is known yet.
    pub(crate) fn lower_bound_us(&self) -> Option<i64> {
        let ticks = if self.packets.is_empty() {
            self.closed_end?
        } else {
            self.start
        };
        Some(ticks_to_us(ticks, self.timescale))
    }
}

pub(crate) fn ticks_to_us(ticks: i64, timescale: u32) -> i64 {
    let us = i128::from(ticks) * 1_000_000 / i128::from(timescale.max(1));
    i64::try_from(us).unwrap_or(if us < 0 { i64::MIN } else { i64::MAX })
}

/// Orders closed segments of all tracks by start time, releasing one only when no track can
/// still produce an earlier one.
pub(crate) struct Interleaver {
    heap: BinaryHeap<Reverse<Pending>>,
    bounds: Vec<Option<i64>>,
    seq: u64,
}

struct Pending {
    start_us: i64,
    track: u32,
    seq: u64,
    segment: MediaSegment,
}

impl Pending {
    fn key(&self) -> (i64, u32, u64) {
        (self.start_us, self.track, self.seq)
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl Interleaver {
    pub(crate) fn new(tracks: usize) -> Self {
        Self {
            heap: BinaryHeap::new(),
            bounds: vec![None; tracks],
            seq: 0,
        }
    }

    pub(crate) fn offer(&mut self, segment: MediaSegment, timescale: u32) {
        self.seq += 1;
        self.heap.push(Reverse(Pending {
            start_us: ticks_to_us(segment.pts, timescale),
            track: segment.track,
            seq: self.seq,
            segment,
        }));
    }

    /// Sets the earliest start a track's next segment can have (`None`: unknown yet).
    pub(crate) fn set_bound(&mut self, track: usize, bound_us: Option<i64>) {
        self.bounds[track] = bound_us;
    }

    /// Marks a track as done: it produces nothing more.
    pub(crate) fn finish_track(&mut self, track: usize) {
        self.bounds[track] = Some(i64::MAX);
    }

    /// The next segment that may be emitted now.
    pub(crate) fn pop_ready(&mut self) -> Option<MediaSegment> {
        let head = self.heap.peek()?;
        let mut limit = i64::MAX;
        for (track, bound) in self.bounds.iter().enumerate() {
            if track as u32 == head.0.track {
                continue;
            }
            limit = limit.min((*bound)?);
        }
        if head.0.start_us <= limit {
            self.heap.pop().map(|p| p.0.segment)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(pts: i64, duration: u32, keyframe: bool) -> Packet {
        Packet {
            pts,
            dts: pts,
            duration,
            keyframe,
            data: vec![0; 10],
        }
    }

    #[test]
    fn video_cuts_only_on_keyframes_after_target() {
        // 10 fps, timescale 1000, keyframes every 5 frames (0.5 s), target 2 s.
        let mut s = Segmenter::new(0, 1000, true, 2.0);
        let mut out = Vec::new();
        for i in 0..50 {
            if let Some(seg) = s.push(pkt(i * 100, 100, i % 5 == 0)).unwrap() {
                out.push(seg);
            }
        }
        out.extend(s.finish().unwrap());
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|g| g.keyframe && g.packets[0].keyframe));
        assert_eq!(
            out.iter().map(|g| (g.pts, g.duration)).collect::<Vec<_>>(),
            vec![(0, 2000), (2000, 2000), (4000, 1000)]
        );
    }

    #[test]
    fn audio_cuts_at_target() {
        let mut s = Segmenter::new(1, 48_000, false, 2.0);
        let mut out = Vec::new();
        for i in 0..200 {
            out.extend(s.push(pkt(i * 1024, 1024, true)).unwrap());
        }
        out.extend(s.finish().unwrap());
        // 94 packets reach 2 s (96 256 ticks): 200 packets = 94 + 94 + 12.
        assert_eq!(
            out.iter().map(|g| g.packets.len()).collect::<Vec<_>>(),
            vec![94, 94, 12]
        );
        assert_eq!(out[1].pts, 94 * 1024);
        assert_eq!(out[1].duration, 94 * 1024);
    }

    #[test]
    fn interleaver_orders_by_time_across_tracks() {
        let seg = |track, pts| MediaSegment {
            track,
            pts,
            duration: 1000,
            keyframe: true,
            packets: Vec::new(),
        };
        let mut il = Interleaver::new(2);
        // Track 1 runs ahead: its segments must wait for track 0.
        il.offer(seg(1, 0), 1000);
        il.set_bound(1, Some(1_000_000));
        il.offer(seg(1, 1000), 1000);
        il.set_bound(1, Some(2_000_000));
        assert!(il.pop_ready().is_none(), "track 0 has said nothing yet");
        il.set_bound(0, Some(0));
        assert_eq!(il.pop_ready().map(|s| (s.track, s.pts)), Some((1, 0)));
        assert!(il.pop_ready().is_none());
        il.offer(seg(0, 0), 1000);
        il.set_bound(0, Some(1_500_000));
        assert_eq!(il.pop_ready().map(|s| (s.track, s.pts)), Some((0, 0)));
        assert_eq!(il.pop_ready().map(|s| (s.track, s.pts)), Some((1, 1000)));
        il.finish_track(0);
        il.finish_track(1);
        assert!(il.pop_ready().is_none());
    }
}
