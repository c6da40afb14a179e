//! The few FFmpeg fields `ffmpeg-next` has no safe accessor for: codec extradata, a stream's
//! profile and pixel/sample format, and filling a stream's codec parameters for the muxer.
//!
//! This is the only module of the packager that uses `unsafe`. Every function reads or writes
//! plain fields of a live `AVCodecParameters` / `AVCodecContext` that the safe wrapper owns, and
//! allocates extradata the way FFmpeg requires (`av_mallocz` with input padding) so FFmpeg can
//! free it.
#![allow(unsafe_code)]

use ffmpeg_next::ffi;
use ffmpeg_next::{codec, media};

/// Facts about one stream's codec parameters.
#[derive(Debug, Clone)]
pub(crate) struct StreamParams {
    pub medium: media::Type,
    pub id: codec::Id,
    /// `AV_PROFILE_*` value, or a negative number when unknown.
    pub profile: i32,
    /// Raw `AVPixelFormat` (video) or `AVSampleFormat` (audio) number; -1 when unknown.
    pub format: i32,
    pub width: u32,
    pub height: u32,
    pub sample_rate: u32,
    pub channels: u16,
    pub extradata: Vec<u8>,
}

/// Reads the fields of a stream's codec parameters.
pub(crate) fn stream_params(params: &codec::Parameters) -> StreamParams {
    // SAFETY: `params` wraps a valid AVCodecParameters for as long as it lives; extradata,
    // when non-null, points to `extradata_size` readable bytes (FFmpeg invariant).
    unsafe {
        let p = &*params.as_ptr();
        let channels = if p.ch_layout.nb_channels > 0 {
            p.ch_layout.nb_channels
        } else {
            #[allow(deprecated)]
            p.channels
        };
        StreamParams {
            medium: params.medium(),
            id: params.id(),
            profile: p.profile,
            format: p.format,
            width: u32::try_from(p.width).unwrap_or(0),
            height: u32::try_from(p.height).unwrap_or(0),
            sample_rate: u32::try_from(p.sample_rate).unwrap_or(0),
            channels: u16::try_from(channels).unwrap_or(0),
            extradata: copy_bytes(p.extradata, p.extradata_size),
        }
    }
}

/// The extradata an opened encoder produced (e.g. with `GLOBAL_HEADER`).
pub(crate) fn context_extradata(ctx: &codec::Context) -> Vec<u8> {
    // SAFETY: `ctx` wraps a valid AVCodecContext; extradata is null or `extradata_size` bytes.
    unsafe {
        let c = &*ctx.as_ptr();
        copy_bytes(c.extradata, c.extradata_size)
    }
}

/// Sets `bits_per_raw_sample` on an encoder before it is opened (FLAC: 16 or 24 bits).
pub(crate) fn set_bits_per_raw_sample(ctx: &mut codec::Context, bits: u32) {
    // SAFETY: plain integer field of a valid, not yet opened AVCodecContext.
    unsafe {
        (*ctx.as_mut_ptr()).bits_per_raw_sample = i32::try_from(bits).unwrap_or(0);
    }
}

/// What a muxer needs to know about one output stream.
pub(crate) struct MuxParams<'a> {
    pub medium: media::Type,
    pub id: codec::Id,
    pub width: u32,
    pub height: u32,
    pub sample_rate: u32,
    pub channels: u16,
    pub bit_rate: u64,
    pub extradata: &'a [u8],
}

/// Codec parameters for a stream copy into a muxer, built from a track description.
pub(crate) fn mux_parameters(m: &MuxParams<'_>) -> Result<codec::Parameters, ffmpeg_next::Error> {
    let mut params = codec::Parameters::new();
    params.set_medium(m.medium);
    params.set_id(m.id);
    params.set_bit_rate(i64::try_from(m.bit_rate).unwrap_or(0));
    let extradata_size =
        i32::try_from(m.extradata.len()).map_err(|_| ffmpeg_next::Error::InvalidData)?;
    // SAFETY: `params` owns a freshly allocated AVCodecParameters. Extradata is allocated with
    // av_mallocz (zeroed padding included), as avcodec_parameters_free expects to free it.
    unsafe {
        let p = &mut *params.as_mut_ptr();
        p.width = i32::try_from(m.width).unwrap_or(0);
        p.height = i32::try_from(m.height).unwrap_or(0);
        p.sample_rate = i32::try_from(m.sample_rate).unwrap_or(0);
        if m.medium == media::Type::Video {
            p.format = ffi::AVPixelFormat::AV_PIX_FMT_YUV420P as i32;
        }
        if m.channels > 0 {
            ffi::av_channel_layout_default(&mut p.ch_layout, i32::from(m.channels));
            #[allow(deprecated)]
            {
                p.channels = i32::from(m.channels);
                p.channel_layout = p.ch_layout.u.mask;
            }
        }
        if !m.extradata.is_empty() {
            let padded = m.extradata.len() + ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize;
            let buf = ffi::av_mallocz(padded).cast::<u8>();
            if buf.is_null() {
                return Err(ffmpeg_next::Error::Other {
                    errno: libc_enomem(),
                });
            }
            std::ptr::copy_nonoverlapping(m.extradata.as_ptr(), buf, m.extradata.len());
            p.extradata = buf;
            p.extradata_size = extradata_size;
        }
    }
    Ok(params)
}

fn libc_enomem() -> i32 {
    12
}

/// # Safety
/// `ptr` is null or points to at least `len` readable bytes.
unsafe fn copy_bytes(ptr: *const u8, len: i32) -> Vec<u8> {
    match usize::try_from(len) {
        Ok(n) if n > 0 && !ptr.is_null() => std::slice::from_raw_parts(ptr, n).to_vec(),
        _ => Vec::new(),
    }
}
