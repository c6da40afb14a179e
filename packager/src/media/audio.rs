//! Audio to AAC-LC (FFmpeg's native `aac` encoder) or FLAC, through swresample and a sample
//! FIFO that feeds the encoder the fixed frame size it asks for.

use ffmpeg_next::format::sample::Type as SampleType;
use ffmpeg_next::format::Sample;
use ffmpeg_next::software::resampling;
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::{codec, decoder, encoder, frame, ChannelLayout, Dictionary, Rational, Rescale};
use packager_format::Packet;

use super::audio_codec::flac_streaminfo;
use super::ffi;
use super::MediaError;

/// Which encoder the transcoder uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AudioTarget {
    Aac,
    Flac,
}

impl AudioTarget {
    pub(crate) fn codec(self) -> &'static str {
        match self {
            Self::Aac => "aac",
            Self::Flac => "flac",
        }
    }

    fn encode_err(self, reason: impl ToString) -> MediaError {
        MediaError::Encode {
            codec: self.codec().into(),
            reason: reason.to_string(),
        }
    }
}

/// AAC bit rate per channel, and the cap for the whole stream.
const AAC_BITS_PER_CHANNEL: usize = 64_000;
const AAC_MAX_BITS: usize = 320_000;
/// Sample rate used when the encoder does not take the input's.
const FALLBACK_RATE: u32 = 48_000;

pub(crate) struct AudioTranscoder {
    target: AudioTarget,
    decoder: decoder::Audio,
    in_tb: Rational,
    resampler: Option<(Sample, u64, u32, resampling::Context)>,
    encoder: encoder::Audio,
    pub(crate) rate: u32,
    pub(crate) channels: u16,
    layout: ChannelLayout,
    format: Sample,
    frame_size: usize,
    fifo: SampleFifo,
    next_pts: Option<i64>,
    extradata: Vec<u8>,
    frames_in: u64,
}

fn decode_err(reason: impl ToString) -> MediaError {
    MediaError::Decode {
        what: "the audio stream".into(),
        reason: reason.to_string(),
    }
}

/// The stream's decoder, refusing a stream without a sample rate or channel count.
fn open_decoder(
    stream: &ffmpeg_next::format::stream::Stream<'_>,
) -> Result<decoder::Audio, MediaError> {
    let params = stream.parameters();
    let id = params.id();
    if decoder::find(id).is_none() {
        return Err(MediaError::NoDecoder(format!("audio codec {}", id.name())));
    }
    let ctx = codec::Context::from_parameters(params).map_err(decode_err)?;
    let mut decoder = ctx.decoder().audio().map_err(decode_err)?;
    decoder.set_packet_time_base(stream.time_base());
    if decoder.rate() == 0 || decoder.channels() == 0 {
        return Err(decode_err(
            "the stream states no sample rate or channel count",
        ));
    }
    Ok(decoder)
}

/// The input's sample rate when the encoder takes it, else [`FALLBACK_RATE`].
fn output_rate(codec: &codec::Audio, in_rate: u32) -> u32 {
    match codec.rates() {
        Some(mut rates) => {
            if rates.any(|r| r == in_rate as i32) {
                in_rate
            } else {
                FALLBACK_RATE
            }
        }
        None => in_rate,
    }
}

/// The input's channel layout when the encoder and the player take it, else stereo.
fn output_layout(codec: &codec::Audio, target: AudioTarget, in_channels: u16) -> ChannelLayout {
    let wanted = ChannelLayout::default(i32::from(in_channels));
    let supported = codec
        .channel_layouts()
        .is_none_or(|mut layouts| layouts.any(|l| l == wanted));
    // The player decodes AAC with symphonia, which takes AAC-LC mono or stereo only:
    // surround sound is downmixed for AAC (and kept with `lossless`, as FLAC).
    let aac_ok = target != AudioTarget::Aac || in_channels <= 2;
    if supported && aac_ok {
        wanted
    } else {
        ChannelLayout::STEREO
    }
}

fn output_format(target: AudioTarget, in_format: Sample) -> Sample {
    match target {
        AudioTarget::Aac => Sample::F32(SampleType::Planar),
        // 16-bit sources stay 16-bit; anything wider or floating point becomes 24-bit.
        AudioTarget::Flac => match in_format {
            Sample::U8(_) | Sample::I16(_) => Sample::I16(SampleType::Packed),
            _ => Sample::I32(SampleType::Packed),
        },
    }
}

fn open_encoder(
    codec: ffmpeg_next::Codec,
    target: AudioTarget,
    rate: u32,
    layout: ChannelLayout,
    format: Sample,
) -> Result<encoder::Audio, MediaError> {
    let mut ctx = codec::Context::new_with_codec(codec);
    if format == Sample::I32(SampleType::Packed) {
        ffi::set_bits_per_raw_sample(&mut ctx, 24);
    }
    let mut enc = ctx.encoder().audio().map_err(|e| target.encode_err(e))?;
    let channels = layout.channels() as u16;
    enc.set_rate(rate as i32);
    enc.set_channel_layout(layout);
    enc.set_channels(i32::from(channels));
    enc.set_format(format);
    enc.set_time_base(Rational(1, rate as i32));
    if target == AudioTarget::Aac {
        enc.set_bit_rate((AAC_BITS_PER_CHANNEL * usize::from(channels)).min(AAC_MAX_BITS));
    }
    enc.open_with(Dictionary::new())
        .map_err(|e| target.encode_err(e))
}

/// AudioSpecificConfig (AAC) or the STREAMINFO body (FLAC), from the open encoder.
fn codec_private_of(encoder: &encoder::Audio, target: AudioTarget) -> Result<Vec<u8>, MediaError> {
    let raw = ffi::context_extradata(encoder);
    match target {
        AudioTarget::Aac => Ok(raw),
        AudioTarget::Flac => flac_streaminfo(&raw)
            .ok_or_else(|| target.encode_err("the FLAC encoder gave no STREAMINFO")),
    }
}

impl AudioTranscoder {
    pub(crate) fn new(
        stream: &ffmpeg_next::format::stream::Stream<'_>,
        target: AudioTarget,
    ) -> Result<Self, MediaError> {
        let decoder = open_decoder(stream)?;
        let in_tb = stream.time_base();
        let codec = encoder::find_by_name(target.codec())
            .ok_or_else(|| MediaError::NoEncoder(target.codec().into()))?;
        let audio_codec = codec.audio().map_err(|e| target.encode_err(e))?;
        let rate = output_rate(&audio_codec, decoder.rate());
        let layout = output_layout(&audio_codec, target, decoder.channels());
        let channels = layout.channels() as u16;
        let format = output_format(target, decoder.format());
        let encoder = open_encoder(codec, target, rate, layout, format)?;
        let extradata = codec_private_of(&encoder, target)?;
        let frame_size = encoder.frame_size() as usize;
        Ok(Self {
            target,
            decoder,
            in_tb,
            resampler: None,
            rate,
            channels,
            layout,
            format,
            frame_size,
            fifo: SampleFifo::new(format, channels),
            encoder,
            next_pts: None,
            extradata,
            frames_in: 0,
        })
    }

    /// AudioSpecificConfig (AAC) or the STREAMINFO body (FLAC).
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
            return Err(decode_err("no audio frame could be decoded"));
        }
        // Whatever the resampler still holds.
        if let Some((_, _, _, resampler)) = self.resampler.as_mut() {
            loop {
                let mut flushed = frame::Audio::new(self.format, 4096, self.layout);
                flushed.set_rate(self.rate);
                resampler.flush(&mut flushed).map_err(decode_err)?;
                if flushed.samples() == 0 {
                    break;
                }
                self.fifo.push(&flushed);
            }
        }
        self.encode_fifo(out, true)?;
        self.encoder
            .send_eof()
            .map_err(|e| self.target.encode_err(e))?;
        self.drain_encoder(out)
    }

    fn drain_decoder(&mut self, out: &mut Vec<Packet>) -> Result<(), MediaError> {
        let mut decoded = frame::Audio::empty();
        loop {
            match self.decoder.receive_frame(&mut decoded) {
                Ok(()) => {}
                Err(ffmpeg_next::Error::Other { errno: EAGAIN }) | Err(ffmpeg_next::Error::Eof) => {
                    return Ok(())
                }
                Err(ffmpeg_next::Error::InvalidData) => continue,
                Err(e) => return Err(decode_err(e)),
            }
            if decoded.samples() == 0 {
                continue;
            }
            if self.next_pts.is_none() {
                let start = decoded.timestamp().or(decoded.pts()).unwrap_or(0);
                self.next_pts = Some(start.rescale(self.in_tb, Rational(1, self.rate as i32)));
            }
            self.frames_in += 1;
            self.resample(&mut decoded)?;
            self.encode_fifo(out, false)?;
        }
    }

    fn resample(&mut self, decoded: &mut frame::Audio) -> Result<(), MediaError> {
        if decoded.channel_layout().is_empty() {
            decoded.set_channel_layout(ChannelLayout::default(i32::from(decoded.channels())));
        }
        let (fmt, layout, rate) = (decoded.format(), decoded.channel_layout(), decoded.rate());
        let reuse = matches!(&self.resampler, Some((f, l, r, _)) if *f == fmt && *l == layout.bits() && *r == rate);
        if !reuse {
            let ctx =
                resampling::Context::get(fmt, layout, rate, self.format, self.layout, self.rate)
                    .map_err(decode_err)?;
            self.resampler = Some((fmt, layout.bits(), rate, ctx));
        }
        let Some((_, _, _, resampler)) = self.resampler.as_mut() else {
            return Err(decode_err("no resampler"));
        };
        // Room for rate changes plus what the resampler buffered.
        let room = decoded.samples() * self.rate as usize / rate.max(1) as usize + 512;
        let mut converted = frame::Audio::new(self.format, room, self.layout);
        converted.set_rate(self.rate);
        resampler.run(decoded, &mut converted).map_err(decode_err)?;
        self.fifo.push(&converted);
        Ok(())
    }

    /// Encodes full frames from the FIFO; with `last`, also the short remainder.
    fn encode_fifo(&mut self, out: &mut Vec<Packet>, last: bool) -> Result<(), MediaError> {
        let size = if self.frame_size > 0 {
            self.frame_size
        } else {
            self.fifo.samples.max(1)
        };
        while self.fifo.samples >= size || (last && self.fifo.samples > 0) {
            let n = size.min(self.fifo.samples);
            let mut f = self.fifo.pop(n, self.layout);
            f.set_rate(self.rate);
            let pts = self.next_pts.unwrap_or(0);
            f.set_pts(Some(pts));
            self.next_pts = Some(pts + n as i64);
            if let Err(ffmpeg_next::Error::Other { errno: EAGAIN }) = self.encoder.send_frame(&f) {
                // The encoder's input is full: take its output, then it accepts the frame.
                self.drain_encoder(out)?;
                self.encoder
                    .send_frame(&f)
                    .map_err(|e| self.target.encode_err(e))?;
            }
            self.drain_encoder(out)?;
        }
        Ok(())
    }

    fn drain_encoder(&mut self, out: &mut Vec<Packet>) -> Result<(), MediaError> {
        let mut encoded = ffmpeg_next::Packet::empty();
        loop {
            match self.encoder.receive_packet(&mut encoded) {
                Ok(()) => {}
                Err(ffmpeg_next::Error::Other { errno: EAGAIN }) | Err(ffmpeg_next::Error::Eof) => {
                    return Ok(())
                }
                Err(e) => return Err(self.target.encode_err(e)),
            }
            let Some(data) = encoded.data() else { continue };
            if data.is_empty() {
                continue;
            }
            let pts = encoded.pts().or(encoded.dts()).unwrap_or(0);
            let duration = match encoded.duration() {
                d if d > 0 => d,
                _ => self.frame_size as i64,
            };
            out.push(Packet {
                pts,
                dts: encoded.dts().unwrap_or(pts),
                duration: u32::try_from(duration).unwrap_or(0),
                keyframe: true,
                data: data.to_vec(),
            });
        }
    }
}

/// Samples waiting for the encoder, one byte buffer per plane.
struct SampleFifo {
    format: Sample,
    planes: Vec<Vec<u8>>,
    /// Bytes per sample in one plane.
    unit: usize,
    samples: usize,
}

impl SampleFifo {
    fn new(format: Sample, channels: u16) -> Self {
        let (planes, unit) = if format.is_planar() {
            (usize::from(channels), format.bytes())
        } else {
            (1, format.bytes() * usize::from(channels))
        };
        Self {
            format,
            planes: vec![Vec::new(); planes],
            unit,
            samples: 0,
        }
    }

    fn push(&mut self, f: &frame::Audio) {
        let n = f.samples();
        if n == 0 {
            return;
        }
        let bytes = n * self.unit;
        for (i, plane) in self.planes.iter_mut().enumerate() {
            plane.extend_from_slice(&f.data(i)[..bytes]);
        }
        self.samples += n;
    }

    fn pop(&mut self, n: usize, layout: ChannelLayout) -> frame::Audio {
        let mut f = frame::Audio::new(self.format, n, layout);
        let bytes = n * self.unit;
        for (i, plane) in self.planes.iter_mut().enumerate() {
            f.data_mut(i)[..bytes].copy_from_slice(&plane[..bytes]);
            plane.drain(..bytes);
        }
        self.samples -= n;
        f
    }
}
