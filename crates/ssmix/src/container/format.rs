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
pub const FORMAT_VERSION: u8 = 7;

/// The oldest format version this library reads. Versions 3 to 6 only added settings
/// and header forms that older encoders never wrote (`docs/FORMAT.md` §2), so an older
/// frame decodes exactly as before.
pub(crate) const OLDEST_READABLE_VERSION: u8 = 2;

/// Frame flag: a CRC-32 of the content follows the end block.
pub(crate) const FLAG_CHECKSUM: u8 = 0x01;
/// Frame flag: the header records the content size.
pub(crate) const FLAG_CONTENT_SIZE: u8 = 0x02;
/// Frame flag (version 5): the header names a level's standard model parameters
/// (one byte) instead of listing them.
const FLAG_STANDARD_PARAMS: u8 = 0x04;
/// Frame flag (version 5): the block size equals the content size and is not written.
const FLAG_ONE_BLOCK: u8 = 0x08;
/// Flags that only say how the header itself is laid out: `write` chooses them and
/// `parse` consumes them, so [`FrameHeader::flags`] never holds them.
const LAYOUT_FLAGS: u8 = FLAG_STANDARD_PARAMS | FLAG_ONE_BLOCK;

/// The flags a frame of `version` may set; any other bit set is an error.
fn known_flags(version: u8) -> u8 {
    if version >= 5 {
        FLAG_CHECKSUM | FLAG_CONTENT_SIZE | LAYOUT_FLAGS
    } else {
        FLAG_CHECKSUM | FLAG_CONTENT_SIZE
    }
}

/// The standard parameter list of `kind` at `level` (FORMAT.md §2) for a frame of
/// `version`, if the family has one: what `Preset::Default` (mixing model) and
/// `Preset::Baseline` use. The paper presets share one kind, so they always list their
/// parameters.
///
/// These lists are part of the format: a frame may name them by level, so each version
/// keeps the lists of the versions before it (`standard_lists_are_pinned` fails when
/// they change). Versions 6 and 7 turned on more of the mixing model's `flags` bits,
/// which older lists never set, with more mixers at levels 7–9 (version 6) and a larger
/// table, a slower mixer rate and a higher counter limit at level 9 (version 7), so an
/// older list is the current one with those undone (`mix::to_version_list`).
fn standard_params(version: u8, kind: ModelKind, level: u8) -> Option<Vec<u32>> {
    let level = crate::Level::new(level).ok()?;
    match kind {
        ModelKind::Mix => {
            let params = crate::model::config_for(level, crate::Preset::Default).params;
            Some(crate::model::mix::to_version_list(version, &params))
        }
        ModelKind::Baseline => {
            Some(crate::model::config_for(level, crate::Preset::Baseline).params)
        }
        ModelKind::Paper => None,
    }
}

/// The level whose current standard list equals `model`'s parameters, if any (the
/// asked-for level first: level 9 without its SSM input, for small content, is level
/// 8's list).
fn standard_level(model: &ModelConfig, asked: u8) -> Option<u8> {
    std::iter::once(asked)
        .chain(1..=9)
        .find(|&l| standard_params(FORMAT_VERSION, model.kind, l).as_ref() == Some(&model.params))
}

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
        let standard = standard_level(&self.model, self.level);
        let one_block = self.content_size == Some(self.block_size as u64);
        let mut flags = self.flags & !LAYOUT_FLAGS;
        if standard.is_some() {
            flags |= FLAG_STANDARD_PARAMS;
        }
        if one_block {
            flags |= FLAG_ONE_BLOCK;
        }
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT_VERSION);
        out.push(flags);
        if !one_block {
            put_varint(out, self.block_size as u64);
        }
        if let Some(size) = self.content_size {
            put_varint(out, size);
        }
        out.push(self.level);
        out.push(self.model.kind as u8);
        if let Some(level) = standard {
            out.push(level);
        } else {
            put_varint(out, self.model.params.len() as u64);
            for &p in &self.model.params {
                put_varint(out, u64::from(p));
            }
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
        if flags & !known_flags(version) != 0 {
            return Err(corrupt("reserved header flags are set"));
        }
        let one_block = flags & FLAG_ONE_BLOCK != 0;
        if one_block && flags & FLAG_CONTENT_SIZE == 0 {
            return Err(corrupt("one-block frame without a content size"));
        }
        let mut block_size = if one_block {
            0
        } else {
            r.varint_max(MAX_BLOCK_SIZE as u64, "block size too large")? as usize
        };
        let content_size = if flags & FLAG_CONTENT_SIZE != 0 {
            Some(r.varint()?)
        } else {
            None
        };
        if let (true, Some(size)) = (one_block, content_size) {
            if size > MAX_BLOCK_SIZE as u64 {
                return Err(corrupt("block size too large"));
            }
            block_size = size as usize;
        }
        if block_size == 0 {
            return Err(corrupt("block size is zero"));
        }
        let level = r.u8()?;
        if !(1..=9).contains(&level) {
            return Err(corrupt("level outside 1..=9"));
        }
        let kind = ModelKind::from_u8(r.u8()?)?;
        let params = if flags & FLAG_STANDARD_PARAMS != 0 {
            standard_params(version, kind, r.u8()?)
                .ok_or_else(|| corrupt("no standard model parameters of that kind and level"))?
        } else {
            let n_params = r.varint_max(MAX_PARAMS as u64, "too many model parameters")? as usize;
            let mut params = Vec::with_capacity(n_params);
            for _ in 0..n_params {
                params.push(r.varint_max(u64::from(u32::MAX), "model parameter too large")? as u32);
            }
            params
        };
        let body_end = r.position();
        let stored_crc = r.u32_le()?;
        if crc32fast::hash(&buf[MAGIC.len()..body_end]) != stored_crc {
            return Err(corrupt("header checksum mismatch"));
        }
        let header = FrameHeader {
            version,
            flags: flags & !LAYOUT_FLAGS,
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

    fn header(preset: crate::Preset, level: u8, content_size: Option<u64>) -> FrameHeader {
        FrameHeader {
            version: FORMAT_VERSION,
            flags: FLAG_CHECKSUM | content_size.map_or(0, |_| FLAG_CONTENT_SIZE),
            block_size: 1 << 20,
            content_size,
            level,
            model: crate::model::config_for(crate::Level::new(level).unwrap(), preset),
        }
    }

    fn round_trip(h: &FrameHeader) -> Vec<u8> {
        let mut buf = Vec::new();
        h.write(&mut buf);
        assert!(buf.len() <= MAX_HEADER_LEN);
        let (back, used) = FrameHeader::parse(&buf).unwrap();
        assert_eq!(&back, h);
        assert_eq!(used, buf.len());
        buf
    }

    #[test]
    fn header_round_trip_and_rejects_damage() {
        use crate::Preset;
        let mut custom = header(Preset::Default, 5, Some(12345));
        custom.model.params[1] += 1;
        let mut small_best = header(Preset::Default, 9, Some(1 << 20));
        small_best.model = small_best.model.for_content_size(1000);
        let mut headers = vec![custom, small_best];
        for level in [1, 5, 9] {
            for preset in [Preset::Default, Preset::Baseline, Preset::Paper] {
                headers.push(header(preset, level, Some(12345)));
                headers.push(header(preset, level, Some(1 << 20)));
                headers.push(header(preset, level, None));
            }
        }
        for h in &headers {
            let buf = round_trip(h);
            for i in 0..buf.len() {
                assert!(FrameHeader::parse(&buf[..i]).is_err());
                let mut bad = buf.clone();
                bad[i] ^= 0x10;
                assert!(FrameHeader::parse(&bad).is_err(), "flip at {i} accepted");
            }
        }
    }

    #[test]
    fn standard_parameters_and_one_block_shorten_the_header() {
        use crate::Preset;
        let len = |h: &FrameHeader| round_trip(h).len();
        // Level 5 with a content size of one block: flags, size, level, kind, one byte
        // naming the standard list.
        let one = header(Preset::Default, 5, Some(1 << 20));
        assert_eq!(len(&one), 4 + 2 + 3 + 3 + 4);
        let listed = len(&header(Preset::Default, 5, Some(12345)));
        assert_eq!(listed, 4 + 2 + 3 + 2 + 3 + 4);
        let mut custom = header(Preset::Default, 5, Some(12345));
        custom.model.params[1] += 1;
        assert!(len(&custom) > listed + 10);
        // Level 9 without its SSM input (small content) names level 8's list.
        let mut small = header(Preset::Default, 9, Some(1 << 20));
        small.model = small.model.for_content_size(1000);
        let mut buf = Vec::new();
        small.write(&mut buf);
        assert_eq!(buf.len(), len(&one));
        assert_eq!(
            &buf[buf.len() - 7..buf.len() - 4],
            &[9, ModelKind::Mix as u8, 8]
        );
        // The paper presets list theirs.
        assert!(len(&header(Preset::Paper, 5, Some(1 << 20))) > len(&one) + 10);
    }

    #[test]
    fn layout_flags_are_checked() {
        let h = header(crate::Preset::Default, 5, Some(1 << 20));
        let mut buf = Vec::new();
        h.write(&mut buf);
        let reseal = |b: &mut Vec<u8>| {
            let end = b.len() - 4;
            let crc = crc32fast::hash(&b[MAGIC.len()..end]);
            b[end..].copy_from_slice(&crc.to_le_bytes());
        };
        // A version-4 frame may not use the version-5 forms.
        let mut old = buf.clone();
        old[4] = 4;
        reseal(&mut old);
        assert!(FrameHeader::parse(&old).is_err());
        // A one-block frame needs its content size.
        let mut no_size = buf.clone();
        no_size[5] &= !FLAG_CONTENT_SIZE;
        reseal(&mut no_size);
        assert!(FrameHeader::parse(&no_size).is_err());
        // Standard lists exist for levels 1 to 9 of the mixing and baseline models only.
        for (kind, level) in [
            (ModelKind::Mix as u8, 0),
            (ModelKind::Mix as u8, 10),
            (2, 5),
        ] {
            let mut bad = buf.clone();
            let n = bad.len();
            bad[n - 6] = kind;
            bad[n - 5] = level;
            reseal(&mut bad);
            assert!(
                FrameHeader::parse(&bad).is_err(),
                "kind {kind} level {level}"
            );
        }
    }

    /// Frames name these lists by level, so they may not change without a new format
    /// version that keeps them for older frames (`standard_params`).
    #[test]
    fn standard_lists_are_pinned() {
        let crc = |version| {
            let mut all = Vec::new();
            for kind in [ModelKind::Mix, ModelKind::Baseline] {
                for level in 1..=9 {
                    for p in standard_params(version, kind, level).unwrap() {
                        all.extend_from_slice(&p.to_le_bytes());
                    }
                }
            }
            crc32fast::hash(&all)
        };
        assert_eq!(
            crc(5),
            3_765_097_163,
            "the version-5 standard lists changed: version-5 frames would decode wrongly"
        );
        assert_eq!(
            crc(6),
            2_856_594_296,
            "the version-6 standard lists changed: version-6 frames would decode wrongly"
        );
        assert_eq!(
            crc(FORMAT_VERSION),
            1_805_450_624,
            "the standard parameter lists changed: bump FORMAT_VERSION and keep the \
             older versions' lists for their frames"
        );
    }
}
