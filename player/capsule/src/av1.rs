//! AV1 decoding: a safe interface over rav1d, the Rust port of dav1d, which its 1.1 release
//! exposes only through dav1d's C-style API. This module and `abi` are the capsule's only
//! `unsafe` code; everything unsafe stays behind [`Av1Decoder`] and [`Picture`].
//!
//! Settings: one thread and a frame delay of one (`wasm32-wasip1` has no threads, and the
//! capsule runs on one), no logger (nothing about the stream goes to stderr), frames of at most
//! 8192 × 8192 pixels (rav1d's own limit on 32-bit targets, applied on every target).
//! Film grain is applied, as dav1d and FFmpeg do by default.
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

use rav1d::include::dav1d::data::Dav1dData;
use rav1d::include::dav1d::dav1d::{Dav1dContext, Dav1dLogger, Dav1dSettings};
use rav1d::include::dav1d::headers::DAV1D_PIXEL_LAYOUT_I420;
use rav1d::include::dav1d::picture::Dav1dPicture;
use rav1d::src::lib::{
    dav1d_close, dav1d_data_create, dav1d_data_unref, dav1d_default_settings, dav1d_get_picture,
    dav1d_open, dav1d_picture_unref, dav1d_send_data,
};
use rav1d::Dav1dResult;

/// Largest picture accepted, in pixels.
pub const MAX_PIXELS: u32 = 8192 * 8192;
/// Rounds of send/receive one packet may take before the decoder is deemed stuck.
const MAX_ROUNDS: usize = 1024;

/// Why decoding failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Av1Error {
    #[error("the AV1 decoder could not start (error {0})")]
    Open(i32),
    #[error("the AV1 decoder rejected the stream (error {0})")]
    Decode(i32),
    #[error("the AV1 decoder made no progress on a packet")]
    Stuck,
    #[error("an empty AV1 packet")]
    EmptyPacket,
    #[error("AV1 pictures must be 8-bit 4:2:0; this one is {bits}-bit, layout {layout}")]
    Format { bits: i32, layout: u32 },
    #[error("an AV1 picture of {width} × {height}")]
    Size { width: i32, height: i32 },
}

/// What a dav1d call returned: done, "call the other side first", or an error.
enum Status {
    Done,
    Again,
    Failed(i32),
}

fn status(r: Dav1dResult) -> Status {
    match r.0 {
        0 => Status::Done,
        // Errors are negative errno values of the target (rav1d uses `libc`'s), which the
        // standard library maps to kinds on every target, WASI included.
        e if std::io::Error::from_raw_os_error(-e).kind() == std::io::ErrorKind::WouldBlock => {
            Status::Again
        }
        e => Status::Failed(e),
    }
}

/// A single-threaded AV1 decoder. Feed it temporal units in decode order with
/// [`Av1Decoder::send`]; take pictures, in presentation order, with [`Av1Decoder::picture`].
pub struct Av1Decoder {
    ctx: Option<Dav1dContext>,
    ready: VecDeque<Held>,
}

impl Av1Decoder {
    pub fn new() -> Result<Self, Av1Error> {
        let mut settings = MaybeUninit::<Dav1dSettings>::uninit();
        // SAFETY: `dav1d_default_settings` writes a whole `Dav1dSettings` to the pointer, which
        // is valid and writable; after it the value is initialized.
        let mut settings = unsafe {
            dav1d_default_settings(NonNull::new_unchecked(settings.as_mut_ptr()));
            settings.assume_init()
        };
        settings.n_threads = 1;
        settings.max_frame_delay = 1;
        settings.frame_size_limit = MAX_PIXELS;
        // SAFETY: no callback, so nothing is ever called with the (absent) cookie.
        settings.logger = unsafe { Dav1dLogger::new(None, None) };
        let mut ctx: Option<Dav1dContext> = None;
        // SAFETY: both pointers are to live locals; `dav1d_open` reads `settings` and writes
        // the context handle (or `None`) to `ctx`.
        let r = unsafe {
            dav1d_open(
                Some(NonNull::from(&mut ctx)),
                Some(NonNull::from(&mut settings)),
            )
        };
        match (status(r), ctx) {
            (Status::Done, Some(ctx)) => Ok(Self {
                ctx: Some(ctx),
                ready: VecDeque::new(),
            }),
            (_, _) => Err(Av1Error::Open(r.0)),
        }
    }

    fn ctx(&self) -> Dav1dContext {
        self.ctx.expect("open until dropped")
    }

    /// Decodes one packet (a temporal unit of OBUs) stamped `pts`; the pictures it completes
    /// wait for [`Av1Decoder::picture`].
    pub fn send(&mut self, packet: &[u8], pts: i64) -> Result<(), Av1Error> {
        if packet.is_empty() {
            return Err(Av1Error::EmptyPacket);
        }
        let mut data = Data::copy_of(packet)?;
        data.0.m.timestamp = pts;
        for _ in 0..MAX_ROUNDS {
            // SAFETY: the context is open; `data` is a live `Dav1dData` made by
            // `dav1d_data_create`, which `dav1d_send_data` reads and updates.
            let r = unsafe { dav1d_send_data(Some(self.ctx()), Some(NonNull::from(&mut data.0))) };
            match status(r) {
                Status::Done | Status::Again => {}
                Status::Failed(e) => return Err(Av1Error::Decode(e)),
            }
            self.pull()?;
            if data.0.sz == 0 {
                return Ok(());
            }
        }
        Err(Av1Error::Stuck)
    }

    /// Takes every picture the decoder has ready.
    fn pull(&mut self) -> Result<(), Av1Error> {
        loop {
            let mut raw = MaybeUninit::<Dav1dPicture>::uninit();
            // SAFETY: the context is open; `dav1d_get_picture` writes a whole picture (an empty
            // one when it has none) to the pointer, which is valid and writable.
            let r = unsafe {
                dav1d_get_picture(
                    Some(self.ctx()),
                    Some(NonNull::new_unchecked(raw.as_mut_ptr())),
                )
            };
            // SAFETY: written by the call above in every case.
            let picture = Held(unsafe { raw.assume_init() });
            match status(r) {
                Status::Done => {
                    check(&picture.0)?;
                    self.ready.push_back(picture);
                }
                Status::Again => return Ok(()),
                Status::Failed(e) => return Err(Av1Error::Decode(e)),
            }
        }
    }

    /// The next decoded picture, if one is ready. It borrows the decoder: its pixels live in the
    /// decoder's picture pool.
    pub fn picture(&mut self) -> Option<Picture<'_>> {
        self.ready.pop_front().map(|held| Picture {
            held,
            _pool: PhantomData,
        })
    }

    /// After the last packet: has the decoder give out what it still holds.
    pub fn finish(&mut self) -> Result<(), Av1Error> {
        self.pull()
    }
}

impl Drop for Av1Decoder {
    fn drop(&mut self) {
        self.ready.clear();
        // SAFETY: `ctx` came from `dav1d_open` and is closed only here; `dav1d_close` takes it
        // out of the option.
        unsafe { dav1d_close(Some(NonNull::from(&mut self.ctx))) };
    }
}

/// Input the decoder owns a copy of (rav1d's own allocation), released on drop.
struct Data(Dav1dData);

impl Data {
    fn copy_of(bytes: &[u8]) -> Result<Self, Av1Error> {
        let mut data = Data(Dav1dData::default());
        // SAFETY: `data.0` is a live, writable `Dav1dData`; on success the returned pointer is
        // the start of a fresh allocation of exactly `bytes.len()` bytes that `data.0` refers to.
        let ptr = unsafe { dav1d_data_create(Some(NonNull::from(&mut data.0)), bytes.len()) };
        if ptr.is_null() {
            return Err(Av1Error::Open(-1));
        }
        // SAFETY: `ptr` is valid for `bytes.len()` writable bytes, not overlapping `bytes`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len()) };
        Ok(data)
    }
}

impl Drop for Data {
    fn drop(&mut self) {
        // SAFETY: `self.0` is a live `Dav1dData` (possibly already empty).
        unsafe { dav1d_data_unref(Some(NonNull::from(&mut self.0))) };
    }
}

/// A picture reference from `dav1d_get_picture`, released on drop.
struct Held(Dav1dPicture);

impl Drop for Held {
    fn drop(&mut self) {
        // SAFETY: `self.0` is a live picture from `dav1d_get_picture` (possibly empty); unref
        // releases its reference once, while the context is still open (see `Picture`).
        unsafe { dav1d_picture_unref(Some(NonNull::from(&mut self.0))) };
    }
}

fn check(p: &Dav1dPicture) -> Result<(), Av1Error> {
    let params = &p.p;
    if params.bpc != 8 || params.layout != DAV1D_PIXEL_LAYOUT_I420 {
        return Err(Av1Error::Format {
            bits: params.bpc,
            layout: params.layout,
        });
    }
    let pixels = i64::from(params.w) * i64::from(params.h);
    if params.w <= 0
        || params.h <= 0
        || pixels > i64::from(MAX_PIXELS)
        || p.data.iter().any(Option::is_none)
    {
        return Err(Av1Error::Size {
            width: params.w,
            height: params.h,
        });
    }
    Ok(())
}

/// A decoded 8-bit 4:2:0 picture (checked when it was taken from the decoder). It cannot outlive
/// the decoder, whose picture pool holds its pixels.
pub struct Picture<'a> {
    held: Held,
    _pool: PhantomData<&'a Av1Decoder>,
}

impl Picture<'_> {
    pub fn width(&self) -> u32 {
        self.held.0.p.w as u32
    }

    pub fn height(&self) -> u32 {
        self.held.0.p.h as u32
    }

    /// The `pts` of the packet that carried this picture.
    pub fn pts(&self) -> i64 {
        self.held.0.m.timestamp
    }

    /// Bytes of the tightly packed Y, U and V planes.
    pub fn packed_len(&self) -> usize {
        let (w, h) = (self.width() as usize, self.height() as usize);
        w * h + 2 * (w.div_ceil(2) * h.div_ceil(2))
    }

    /// Writes the Y, U and V planes tightly packed (no row padding) into `out`, replacing its
    /// contents.
    pub fn write_packed(&self, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(self.packed_len());
        let (w, h) = (self.width() as usize, self.height() as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        for (plane, (pw, ph)) in [(0, (w, h)), (1, (cw, ch)), (2, (cw, ch))] {
            let base = self.held.0.data[plane]
                .expect("checked")
                .cast::<u8>()
                .as_ptr();
            let stride = self.held.0.stride[usize::from(plane > 0)];
            for row in 0..ph {
                // SAFETY: dav1d's picture layout: plane `plane` has `ph` rows of at least `pw`
                // bytes (8-bit pixels), row `r` starting at `base + r * stride`; the picture is
                // alive and not written while `self` holds it (single-threaded decoder).
                let line =
                    unsafe { std::slice::from_raw_parts(base.offset(row as isize * stride), pw) };
                out.extend_from_slice(line);
            }
        }
    }
}
