//! Constants and low-level field codecs of the frame format (normative text:
//! `docs/FORMAT.md`).

use crate::error::{Error, Result, corrupt};
use crate::model::{MAX_PARAMS, ModelConfig, ModelKind};
use crate::options::MAX_BLOCK_SIZE;

/// Frame magic. The first byte, 0xF5, is neither ASCII nor valid anywhere in UTF-8, so
/// text sniffers never take a frame for text (FORMAT.md §2).
pub(crate) const MAGIC: [u8; 4] = [0xF5, b'S', b'M', b'X'];
/// The format version this library writes and reads (`docs/FORMAT.md`). It changes
/// whenever the compressed bytes for the same input and options change.
///
/// ```
/// let frame = ssmix::compress(b"x", &ssmix::Options::default())?;
/// assert_eq!(ssmix::list(&frame[..])?[0].format_version, ssmix::FORMAT_VERSION);
/// # Ok::<(), ssmix::Error>(())
/// ```
pub const FORMAT_VERSION: u8 = 4;

/// The oldest format version this library reads. Versions 3 and 4 only added settings
/// that older encoders never wrote (`docs/FORMAT.md` §2), so a version-2 or version-3
/// frame decodes exactly as before.
pub(crate) const OLDEST_READABLE_VERSION: u8 = 2;

/// Frame flag: a CRC-32 of the content follows the end block.
pub(crate) const FLAG_CHECKSUM: u8 = 0x01;
/// Frame flag: the header records the content size.
pub(crate) const FLAG_CONTENT_SIZE: u8 = 0x02;
/// Flags this version understands; any other bit set is an error.
pub(crate) const KNOWN_FLAGS: u8 = FLAG_CHECKSUM | FLAG_CONTENT_SIZE;

/// Block types (FORMAT.md §3).
pub(crate) const BLOCK_END: u8 = 0;
pub(crate) const BLOCK_STORED: u8 = 1;
pub(crate) const BLOCK_MODELED: u8 = 2;

/// Largest header we accept, a bound for the reader (FORMAT.md §2).
pub(crate) const MAX_HEADER_LEN: usize = 4 + 2 + 10 + 10 + 1 + 1 + 2 + MAX_PARAMS * 5 + 4;

/// Appends `v` as an unsigned LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A cursor over a byte slice whose reads fail with [`Error::Truncated`] past the end.
pub(crate) struct ByteReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        ByteReader { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or(Error::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() - self.pos < n {
            return Err(Error::Truncated);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn u32_le(&mut self) -> Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a LEB128 varint of at most 10 bytes; rejects overlong and overflowing forms
    /// so that every value has exactly one encoding.
    pub(crate) fn varint(&mut self) -> Result<u64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8()?;
            let low = u64::from(b & 0x7F);
            if i == 9 && b > 1 {
                return Err(corrupt("varint overflows 64 bits"));
            }
            v |= low << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(corrupt("overlong varint"));
                }
                return Ok(v);
            }
        }
        Err(corrupt("varint longer than 10 bytes"))
    }

    /// A varint that must not exceed `max`.
    pub(crate) fn varint_max(&mut self, max: u64, what: &'static str) -> Result<u64> {
        let v = self.varint()?;
        if v > max {
            return Err(corrupt(what));
        }
        Ok(v)
    }
}

/// The frame header (FORMAT.md §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    /// The format version the frame was written with (`write` always writes
    /// `FORMAT_VERSION`).
    pub(crate) version: u8,
    pub(crate) flags: u8,
    pub(crate) block_size: usize,
    pub(crate) content_size: Option<u64>,
    pub(crate) level: u8,
    pub(crate) model: ModelConfig,
}

impl FrameHeader {
    pub(crate) fn has_checksum(&self) -> bool {
        self.flags & FLAG_CHECKSUM != 0
    }

    /// Serialises the header, magic included.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT_VERSION);
        out.push(self.flags);
        put_varint(out, self.block_size as u64);
        if let Some(size) = self.content_size {
            put_varint(out, size);
        }
        out.push(self.level);
        out.push(self.model.kind as u8);
        put_varint(out, self.model.params.len() as u64);
        for &p in &self.model.params {
            put_varint(out, u64::from(p));
        }
        let crc = crc32fast::hash(&out[start + MAGIC.len()..]);
        out.extend_from_slice(&crc.to_le_bytes());
    }

    /// Parses a header from `buf` (starting at the magic). Returns the header and the
    /// number of bytes it took. [`Error::Truncated`] means `buf` holds only part of it.
    pub(crate) fn parse(buf: &[u8]) -> Result<(FrameHeader, usize)> {
        let mut r = ByteReader::new(buf);
        let magic = r.bytes(MAGIC.len())?;
        if magic != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = r.u8()?;
        if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::UnsupportedVersion(version));
        }
        let flags = r.u8()?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(corrupt("reserved header flags are set"));
        }
        let block_size = r.varint_max(MAX_BLOCK_SIZE as u64, "block size too large")? as usize;
        if block_size == 0 {
            return Err(corrupt("block size is zero"));
        }
        let content_size = if flags & FLAG_CONTENT_SIZE != 0 {
            Some(r.varint()?)
        } else {
            None
        };
        let level = r.u8()?;
        if !(1..=9).contains(&level) {
            return Err(corrupt("level outside 1..=9"));
        }
        let kind = ModelKind::from_u8(r.u8()?)?;
        let n_params = r.varint_max(MAX_PARAMS as u64, "too many model parameters")? as usize;
        let mut params = Vec::with_capacity(n_params);
        for _ in 0..n_params {
            params.push(r.varint_max(u64::from(u32::MAX), "model parameter too large")? as u32);
        }
        let body_end = r.position();
        let stored_crc = r.u32_le()?;
        if crc32fast::hash(&buf[MAGIC.len()..body_end]) != stored_crc {
            return Err(corrupt("header checksum mismatch"));
        }
        let header = FrameHeader {
            version,
            flags,
            block_size,
            content_size,
            level,
            model: ModelConfig { kind, params },
        };
        header.model.validate()?;
        Ok((header, r.position()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_canonical() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            let mut r = ByteReader::new(&buf);
            assert_eq!(r.varint().unwrap(), v);
            assert_eq!(r.position(), buf.len());
        }
        assert!(ByteReader::new(&[0x80, 0x00]).varint().is_err());
        assert!(ByteReader::new(&[0xFF; 11]).varint().is_err());
        assert!(matches!(
            ByteReader::new(&[0x80]).varint(),
            Err(Error::Truncated)
        ));
    }

    #[test]
    fn header_round_trip_and_rejects_damage() {
        let h = FrameHeader {
            version: FORMAT_VERSION,
            flags: FLAG_CHECKSUM | FLAG_CONTENT_SIZE,
            block_size: 1 << 20,
            content_size: Some(12345),
            level: 5,
            model: crate::model::config_for(crate::Level::DEFAULT, crate::Preset::Default),
        };
        let mut buf = Vec::new();
        h.write(&mut buf);
        assert!(buf.len() <= MAX_HEADER_LEN);
        let (back, used) = FrameHeader::parse(&buf).unwrap();
        assert_eq!(back, h);
        assert_eq!(used, buf.len());
        for i in 0..buf.len() {
            assert!(FrameHeader::parse(&buf[..i]).is_err());
            let mut bad = buf.clone();
            bad[i] ^= 0x10;
            assert!(FrameHeader::parse(&bad).is_err(), "flip at {i} accepted");
        }
    }
}
