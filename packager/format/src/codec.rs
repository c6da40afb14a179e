//! The canonical byte encoding used by the header: little-endian integers, length-prefixed
//! strings and byte strings, count-prefixed lists. A decoder is strict: every length is bounded,
//! and bytes left over are an error, so one header has exactly one encoding.

use crate::FormatError;

pub(crate) struct Enc {
    pub(crate) buf: Vec<u8>,
}

impl Enc {
    pub(crate) fn new() -> Self {
        Self { buf: Vec::new() }
    }
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn fixed(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.count(v.len());
        self.buf.extend_from_slice(v);
    }
    pub(crate) fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    pub(crate) fn count(&mut self, n: usize) {
        // Lengths are validated against the limits before encoding; a u32 holds all of them.
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    /// A count-prefixed list, each item written by `item`.
    pub(crate) fn list<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) {
        self.count(items.len());
        for i in items {
            item(self, i);
        }
    }
}

pub(crate) struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(FormatError::Malformed {
                what,
                why: "runs past the end of the header",
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, FormatError> {
        Ok(self.take(1, what)?[0])
    }
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, FormatError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, FormatError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }
    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, FormatError> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    pub(crate) fn i64(&mut self, what: &'static str) -> Result<i64, FormatError> {
        let b = self.take(8, what)?;
        Ok(i64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    pub(crate) fn fixed20(&mut self, what: &'static str) -> Result<[u8; 20], FormatError> {
        Ok(self.take(20, what)?.try_into().expect("20 bytes"))
    }
    pub(crate) fn fixed32(&mut self, what: &'static str) -> Result<[u8; 32], FormatError> {
        Ok(self.take(32, what)?.try_into().expect("32 bytes"))
    }
    pub(crate) fn count(&mut self, what: &'static str, max: usize) -> Result<usize, FormatError> {
        let n = self.u32(what)? as usize;
        if n > max {
            return Err(FormatError::TooLarge {
                what,
                limit: max as u64,
                found: n as u64,
            });
        }
        Ok(n)
    }
    /// A count-prefixed list of at most `max` items, each read by `item`.
    pub(crate) fn list<T>(
        &mut self,
        what: &'static str,
        max: usize,
        mut item: impl FnMut(&mut Self) -> Result<T, FormatError>,
    ) -> Result<Vec<T>, FormatError> {
        let n = self.count(what, max)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(item(self)?);
        }
        Ok(out)
    }
    pub(crate) fn bytes(&mut self, what: &'static str, max: usize) -> Result<Vec<u8>, FormatError> {
        let n = self.count(what, max)?;
        Ok(self.take(n, what)?.to_vec())
    }
    pub(crate) fn str(&mut self, what: &'static str, max: usize) -> Result<String, FormatError> {
        let b = self.bytes(what, max)?;
        String::from_utf8(b).map_err(|_| FormatError::Malformed {
            what,
            why: "is not UTF-8",
        })
    }
    pub(crate) fn finish(self) -> Result<(), FormatError> {
        if self.pos != self.buf.len() {
            return Err(FormatError::Malformed {
                what: "header",
                why: "has bytes after its last field",
            });
        }
        Ok(())
    }
}
