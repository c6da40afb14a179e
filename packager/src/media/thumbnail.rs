//! The clear thumbnail: a PNG of a video frame about one second in (the first frame of a
//! shorter clip), or else the cover art an audio file carries.

use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::{codec, decoder, encoder, frame, Rational, Rescale};
use packager_format::{limits, Attachment};

use super::MediaError;

/// Widest thumbnail, in pixels.
const THUMBNAIL_WIDTH: u32 = 320;

/// Keeps the first decoded frame, replaced by the first one at or after one second.
pub(crate) struct FramePick {
    at: i64,
    frame: Option<frame::Video>,
    done: bool,
}

impl FramePick {
    /// `tb`: the time base of the timestamps that [`FramePick::offer`] gets.
    pub(crate) fn new(tb: Rational) -> Self {
        Self {
            at: 1i64.rescale(Rational(1, 1), tb),
            frame: None,
            done: false,
        }
    }

    pub(crate) fn wants(&self) -> bool {
        !self.done
    }

    pub(crate) fn offer(&mut self, f: &frame::Video, ts: Option<i64>) {
        if self.done {
            return;
        }
        let late_enough = ts.is_some_and(|t| t >= self.at);
        if self.frame.is_none() || late_enough {
            self.frame = Some(f.clone());
        }
        self.done = late_enough;
    }

    pub(crate) fn png(&self) -> Option<Attachment> {
        self.frame.as_ref().and_then(|f| png(f).ok())
    }
}

/// Decodes a copied video stream just until it has its thumbnail frame.
pub(crate) struct CopyThumbnailer {
    decoder: Option<decoder::Video>,
    pub(crate) pick: FramePick,
}

impl CopyThumbnailer {
    /// `None` when this FFmpeg has no decoder for the stream: the content simply gets no
    /// thumbnail.
    pub(crate) fn new(stream: &ffmpeg_next::format::stream::Stream<'_>) -> Self {
        let tb = stream.time_base();
        let decoder = codec::Context::from_parameters(stream.parameters())
            .ok()
            .and_then(|c| c.decoder().video().ok())
            .map(|mut d| {
                d.set_packet_time_base(tb);
                d
            });
        Self {
            decoder,
            pick: FramePick::new(tb),
        }
    }

    pub(crate) fn push(&mut self, packet: Option<&ffmpeg_next::Packet>) {
        if !self.pick.wants() {
            self.decoder = None;
            return;
        }
        let Some(dec) = self.decoder.as_mut() else {
            return;
        };
        let sent = match packet {
            Some(p) => dec.send_packet(p),
            None => dec.send_eof(),
        };
        if sent.is_err() {
            return;
        }
        let mut f = frame::Video::empty();
        while dec.receive_frame(&mut f).is_ok() {
            let ts = f.timestamp().or(f.pts());
            self.pick.offer(&f, ts);
        }
    }
}

/// Cover art (an attached picture stream's one packet) as a thumbnail, if it is a JPEG or PNG
/// of acceptable size.
pub(crate) fn cover_art(id: codec::Id, bytes: &[u8]) -> Option<Attachment> {
    let mime_type = match id {
        codec::Id::MJPEG => "image/jpeg",
        codec::Id::PNG => "image/png",
        _ => return None,
    };
    (!bytes.is_empty() && bytes.len() <= limits::THUMBNAIL).then(|| Attachment {
        mime_type: mime_type.into(),
        bytes: bytes.to_vec(),
    })
}

/// A PNG of `f` scaled to at most [`THUMBNAIL_WIDTH`] pixels wide.
pub(crate) fn png(f: &frame::Video) -> Result<Attachment, MediaError> {
    let err = |e: ffmpeg_next::Error| MediaError::Encode {
        codec: "png".into(),
        reason: e.to_string(),
    };
    let (w, h) = (f.width(), f.height());
    let tw = w.clamp(2, THUMBNAIL_WIDTH);
    let th = ((u64::from(h) * u64::from(tw) / u64::from(w.max(1))) as u32).max(2);
    let mut scaler = scaling::Context::get(
        f.format(),
        w,
        h,
        Pixel::RGB24,
        tw,
        th,
        scaling::Flags::BICUBIC,
    )
    .map_err(err)?;
    let mut rgb = frame::Video::empty();
    scaler.run(f, &mut rgb).map_err(err)?;
    let codec = encoder::find(codec::Id::PNG).ok_or_else(|| MediaError::NoEncoder("png".into()))?;
    let mut enc = codec::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(err)?;
    enc.set_width(tw);
    enc.set_height(th);
    enc.set_format(Pixel::RGB24);
    enc.set_time_base(Rational(1, 1));
    let mut enc = enc.open().map_err(err)?;
    rgb.set_pts(Some(0));
    enc.send_frame(&rgb).map_err(err)?;
    enc.send_eof().map_err(err)?;
    let mut bytes = Vec::new();
    let mut p = ffmpeg_next::Packet::empty();
    loop {
        match enc.receive_packet(&mut p) {
            Ok(()) => bytes.extend_from_slice(p.data().unwrap_or(&[])),
            Err(ffmpeg_next::Error::Eof) | Err(ffmpeg_next::Error::Other { errno: EAGAIN }) => {
                break
            }
            Err(e) => return Err(err(e)),
        }
    }
    Ok(Attachment {
        mime_type: "image/png".into(),
        bytes,
    })
}
