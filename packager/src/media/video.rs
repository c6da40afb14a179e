//! Video to AV1 with SVT-AV1 (`libsvtav1` through FFmpeg), 8-bit 4:2:0, a keyframe every
//! segment length so every segment can start on one.

use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::{codec, decoder, encoder, frame, picture, Dictionary, Rational, Rescale};
use packager_format::Packet;

use super::ffi;
use super::rotate::Rotation;
use super::thumbnail::FramePick;
use super::MediaError;

/// The AV1 encoder, and its settings: preset 10 is SVT-AV1's fast end that still compresses
/// well; CRF 35 gives about 0.5–1.5 Mbit/s at 720p for ordinary footage.
const ENCODER: &str = "libsvtav1";
const PRESET: &str = "10";
const CRF: &str = "35";
/// Timescale of transcoded video tracks.
pub(crate) const VIDEO_TIMESCALE: u32 = 90_000;
/// Largest output width: SVT-AV1's limit.
const MAX_DIMENSION: u32 = 16_384;
/// Frame rate assumed when the input does not state one.
const FALLBACK_FPS: Rational = Rational(25, 1);

pub(crate) struct VideoTranscoder {
    decoder: decoder::Video,
    in_tb: Rational,
    scaler: Option<(Pixel, u32, u32, scaling::Context)>,
    /// Picture size after scaling, before rotation.
    scaled: (u32, u32),
    rotation: Rotation,
    encoder: encoder::Video,
    enc_tb: Rational,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) fps: Rational,
    frame_ticks: i64,
    last_pts: Option<i64>,
    frames_in: u64,
    extradata: Vec<u8>,
    pub(crate) thumbnail: FramePick,
}

fn decode_err(reason: impl ToString) -> MediaError {
    MediaError::Decode {
        what: "the video stream".into(),
        reason: reason.to_string(),
    }
}

fn encode_err(reason: impl ToString) -> MediaError {
    MediaError::Encode {
        codec: ENCODER.into(),
        reason: reason.to_string(),
    }
}

impl VideoTranscoder {
    pub(crate) fn new(
        stream: &ffmpeg_next::format::stream::Stream<'_>,
        segment_seconds: f64,
    ) -> Result<Self, MediaError> {
        let params = stream.parameters();
        let id = params.id();
        let mut ctx = codec::Context::from_parameters(params).map_err(decode_err)?;
        if decoder::find(id).is_none() {
            return Err(MediaError::NoDecoder(format!("video codec {}", id.name())));
        }
        ctx.set_threading(codec::threading::Config::count(2));
        let mut decoder = ctx.decoder().video().map_err(decode_err)?;
        let in_tb = stream.time_base();
        decoder.set_packet_time_base(in_tb);

        let fps = [stream.avg_frame_rate(), stream.rate()]
            .into_iter()
            .find(|r| r.numerator() > 0 && r.denominator() > 0 && f64::from(*r) < 1000.0)
            .unwrap_or(FALLBACK_FPS);
        // Non-square pixels (anamorphic SD) are scaled to square ones, so any player shows the
        // right shape; AV1 4:2:0 wants even dimensions.
        let sar = decoder.aspect_ratio();
        let display_width = if sar.numerator() > 0 && sar.denominator() > 0 {
            (u64::from(decoder.width()) * sar.numerator() as u64 / sar.denominator() as u64)
                .min(u64::from(MAX_DIMENSION)) as u32
        } else {
            decoder.width()
        };
        let scaled = (display_width & !1, decoder.height() & !1);
        if scaled.0 == 0 || scaled.1 == 0 {
            return Err(decode_err("the stream has no picture size"));
        }
        let rotation = Rotation::of_stream(stream);
        let (width, height) = if rotation.swaps_sides() {
            (scaled.1, scaled.0)
        } else {
            scaled
        };
        let enc_tb = fps.invert();
        let gop = (segment_seconds * f64::from(fps)).round().max(1.0) as u32;

        let codec =
            encoder::find_by_name(ENCODER).ok_or_else(|| MediaError::NoEncoder(ENCODER.into()))?;
        let mut enc = codec::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(encode_err)?;
        enc.set_width(width);
        enc.set_height(height);
        enc.set_format(Pixel::YUV420P);
        enc.set_time_base(enc_tb);
        enc.set_frame_rate(Some(fps));
        enc.set_gop(gop);
        // Closed GOPs: SVT-AV1 then places real keyframes (not forward keyframes) on the cadence.
        enc.set_flags(codec::Flags::GLOBAL_HEADER | codec::Flags::CLOSED_GOP);
        let mut opts = Dictionary::new();
        opts.set("preset", PRESET);
        opts.set("crf", CRF);
        let encoder = enc.open_with(opts).map_err(encode_err)?;
        let extradata = ffi::context_extradata(&encoder);
        let frame_ticks = 1i64.rescale(enc_tb, Rational(1, VIDEO_TIMESCALE as i32));
        Ok(Self {
            decoder,
            in_tb,
            scaler: None,
            scaled,
            rotation,
            encoder,
            enc_tb,
            width,
            height,
            fps,
            frame_ticks: frame_ticks.max(1),
            last_pts: None,
            frames_in: 0,
            extradata,
            thumbnail: FramePick::new(in_tb),
        })
    }

    /// The sequence header OBU(s) SVT-AV1 put in the encoder's extradata.
    pub(crate) fn codec_private(&self) -> Vec<u8> {
        self.extradata.clone()
    }

    pub(crate) fn push(
        &mut self,
        packet: &ffmpeg_next::Packet,
        out: &mut Vec<Packet>,
    ) -> Result<(), MediaError> {
        if super::send_or_skip(&mut self.decoder, packet).map_err(decode_err)? {
            self.drain_decoder(out)?;
        }
        Ok(())
    }

    pub(crate) fn finish(&mut self, out: &mut Vec<Packet>) -> Result<(), MediaError> {
        self.decoder.send_eof().map_err(decode_err)?;
        self.drain_decoder(out)?;
        if self.frames_in == 0 {
            return Err(decode_err("no frame could be decoded"));
        }
        self.encoder.send_eof().map_err(encode_err)?;
        self.drain_encoder(out)
    }

    fn drain_decoder(&mut self, out: &mut Vec<Packet>) -> Result<(), MediaError> {
        let mut decoded = frame::Video::empty();
        loop {
            match self.decoder.receive_frame(&mut decoded) {
                Ok(()) => {}
                Err(ffmpeg_next::Error::Other { errno: EAGAIN }) | Err(ffmpeg_next::Error::Eof) => {
                    return Ok(())
                }
                Err(ffmpeg_next::Error::InvalidData) => continue,
                Err(e) => return Err(decode_err(e)),
            }
            let mut picture = self.convert(&decoded)?;
            let source_ts = decoded.timestamp().or(decoded.pts());
            if self.thumbnail.wants() {
                self.thumbnail.offer(&picture, source_ts);
            }
            let pts = match source_ts {
                Some(t) => t.rescale(self.in_tb, self.enc_tb),
                None => self.last_pts.map_or(0, |p| p + 1),
            };
            // The encoder needs strictly increasing timestamps.
            let pts = match self.last_pts {
                Some(last) if pts <= last => last + 1,
                _ => pts,
            };
            self.last_pts = Some(pts);
            picture.set_pts(Some(pts));
            // Let the encoder place keyframes on its own cadence, not on the source's I-frames.
            picture.set_kind(picture::Type::None);
            self.frames_in += 1;
            if let Err(ffmpeg_next::Error::Other { errno: EAGAIN }) =
                self.encoder.send_frame(&picture)
            {
                // The encoder's input is full: take its output, then it accepts the frame.
                self.drain_encoder(out)?;
                self.encoder.send_frame(&picture).map_err(encode_err)?;
            }
            self.drain_encoder(out)?;
        }
    }

    /// Scales/converts a decoded frame to 8-bit 4:2:0 at the encoder's size, rotated for display.
    fn convert(&mut self, decoded: &frame::Video) -> Result<frame::Video, MediaError> {
        let scaled = self.scale(decoded)?;
        Ok(self.rotation.apply(&scaled))
    }

    fn scale(&mut self, decoded: &frame::Video) -> Result<frame::Video, MediaError> {
        let (fmt, w, h) = (decoded.format(), decoded.width(), decoded.height());
        let (sw, sh) = self.scaled;
        if fmt == Pixel::YUV420P && w == sw && h == sh {
            let mut copy = decoded.clone();
            copy.set_pts(decoded.pts());
            return Ok(copy);
        }
        let reuse =
            matches!(&self.scaler, Some((f, sw, sh, _)) if *f == fmt && *sw == w && *sh == h);
        if !reuse {
            let ctx =
                scaling::Context::get(fmt, w, h, Pixel::YUV420P, sw, sh, scaling::Flags::BICUBIC)
                    .map_err(decode_err)?;
            self.scaler = Some((fmt, w, h, ctx));
        }
        let Some((_, _, _, scaler)) = self.scaler.as_mut() else {
            return Err(decode_err("no scaler"));
        };
        let mut converted = frame::Video::empty();
        scaler.run(decoded, &mut converted).map_err(decode_err)?;
        Ok(converted)
    }

    fn drain_encoder(&mut self, out: &mut Vec<Packet>) -> Result<(), MediaError> {
        let mut encoded = ffmpeg_next::Packet::empty();
        let to = Rational(1, VIDEO_TIMESCALE as i32);
        loop {
            match self.encoder.receive_packet(&mut encoded) {
                Ok(()) => {}
                Err(ffmpeg_next::Error::Other { errno: EAGAIN }) | Err(ffmpeg_next::Error::Eof) => {
                    return Ok(())
                }
                Err(e) => return Err(encode_err(e)),
            }
            let Some(data) = encoded.data() else { continue };
            let pts = encoded.pts().or(encoded.dts()).unwrap_or(0);
            let dts = encoded.dts().unwrap_or(pts);
            let duration = match encoded.duration() {
                d if d > 0 => d.rescale(self.enc_tb, to),
                _ => self.frame_ticks,
            };
            out.push(Packet {
                pts: pts.rescale(self.enc_tb, to),
                dts: dts.rescale(self.enc_tb, to),
                duration: u32::try_from(duration).unwrap_or(u32::MAX),
                keyframe: encoded.is_key(),
                data: data.to_vec(),
            });
        }
    }
}
