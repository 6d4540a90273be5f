//! A range coder in the style of LZMA's, widened from a 32-bit to a 56-bit window.
//!
//! `low` and `range` live in 56 bits; a byte is shifted out whenever `range` drops below
//! 2^48, so `range / total` keeps at least 16 bits of precision even for a frequency
//! total of 2^32. Carries are propagated with LZMA's cache-and-pending-0xFF scheme, so
//! the encoder never has to revisit bytes it has written. Past the end of its input the
//! decoder reads zero bytes, which lets the encoder drop trailing zeros.

use super::{Distribution, EntropyCoder, PROB_BITS};
use crate::error::{Result, corrupt};

const WINDOW_BITS: u32 = 56;
const TOP: u64 = 1 << WINDOW_BITS;
const BOTTOM: u64 = 1 << (WINDOW_BITS - 8);
/// How far past its input a decoder of a valid stream may read: the dropped flush bytes
/// plus the held-back cache byte.
const FLUSH_SLACK: usize = (WINDOW_BITS / 8 + 1) as usize;

/// Encodes into a growing byte vector.
pub(crate) struct RangeEncoder {
    low: u64,
    range: u64,
    cache: u8,
    /// Bytes held back: the cache byte plus a run of 0xFF bytes a carry may still change.
    pending: u64,
    /// The first byte out of the window is always zero; it is not written.
    first: bool,
    out: Vec<u8>,
}

impl Default for RangeEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl RangeEncoder {
    pub(crate) fn new() -> Self {
        Self::with_output(Vec::new())
    }

    /// Appends the coded bytes to `out`.
    pub(crate) fn with_output(out: Vec<u8>) -> Self {
        RangeEncoder {
            low: 0,
            range: TOP - 1,
            cache: 0,
            pending: 1,
            first: true,
            out,
        }
    }

    fn shift_low(&mut self) {
        let window = self.low & (TOP - 1);
        if window < (0xFF << (WINDOW_BITS - 8)) || self.low >= TOP {
            let carry = (self.low >> WINDOW_BITS) as u8;
            let mut byte = self.cache;
            while self.pending > 0 {
                if self.first {
                    self.first = false;
                } else {
                    self.out.push(byte.wrapping_add(carry));
                }
                byte = 0xFF;
                self.pending -= 1;
            }
            self.cache = (window >> (WINDOW_BITS - 8)) as u8;
        }
        self.pending += 1;
        self.low = (window << 8) & (TOP - 1);
    }

    #[inline]
    fn normalize(&mut self) {
        while self.range < BOTTOM {
            self.range <<= 8;
            self.shift_low();
        }
    }

    #[inline]
    fn encode(&mut self, start: u32, size: u32, total: u32) {
        debug_assert!(size > 0 && u64::from(start) + u64::from(size) <= u64::from(total));
        let r = self.range / u64::from(total);
        self.low += r * u64::from(start);
        self.range = r * u64::from(size);
        self.normalize();
    }

    /// Bytes output so far; the finished output is at least this long.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// Flushes the coder and returns the output. Trailing zero bytes are dropped: the
    /// decoder supplies them.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        // Pick the value in [low, low + range) with the most trailing zero bits.
        let high = self.low + self.range - 1;
        let mut mask: u64 = (1 << WINDOW_BITS) - 1;
        while mask != 0 {
            let v = (self.low + mask) & !mask;
            if v <= high {
                self.low = v;
                break;
            }
            mask >>= 1;
        }
        // Bytes already pending (the cache byte and a run of 0xFF that a carry may turn
        // into 0x00) belong to the body: only bytes the flush itself produces may go.
        let body = self.out.len() + self.pending as usize - usize::from(self.first);
        for _ in 0..(WINDOW_BITS / 8 + 1) {
            self.shift_low();
        }
        // Only flush bytes are dropped, so a valid stream never makes the decoder read
        // more than `FLUSH_SLACK` bytes past its end (see `RangeDecoder::overran`).
        while self.out.len() > body && self.out.last() == Some(&0) {
            self.out.pop();
        }
        self.out
    }
}

impl EntropyCoder for RangeEncoder {
    #[inline]
    fn code_bit(&mut self, bit: bool, p1: u32) -> Result<bool> {
        debug_assert!(p1 > 0 && p1 < (1 << PROB_BITS));
        let bound = (self.range >> PROB_BITS) * u64::from(p1);
        if bit {
            self.range = bound;
        } else {
            self.low += bound;
            self.range -= bound;
        }
        self.normalize();
        Ok(bit)
    }

    #[inline]
    fn code_symbol<D: Distribution>(&mut self, symbol: u32, dist: &D) -> Result<u32> {
        let (start, size) = dist.interval(symbol);
        self.encode(start, size, dist.total());
        Ok(symbol)
    }

    #[inline]
    fn code_uniform(&mut self, value: u32, n: u32) -> Result<u32> {
        debug_assert!(value < n);
        self.encode(value, 1, n);
        Ok(value)
    }
}

/// Decodes from a byte slice.
pub(crate) struct RangeDecoder<'a> {
    code: u64,
    range: u64,
    input: &'a [u8],
    pos: usize,
}

impl<'a> RangeDecoder<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        let mut d = RangeDecoder {
            code: 0,
            range: TOP - 1,
            input,
            pos: 0,
        };
        for _ in 0..WINDOW_BITS / 8 {
            d.code = (d.code << 8) | u64::from(d.next_byte());
        }
        d
    }

    #[inline]
    fn next_byte(&mut self) -> u8 {
        let b = self.input.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    #[inline]
    fn normalize(&mut self) {
        while self.range < BOTTOM {
            self.range <<= 8;
            self.code = (self.code << 8) | u64::from(self.next_byte());
        }
    }

    /// True if the decoder has read more than a few bytes past the end of its input,
    /// which no valid stream needs.
    pub(crate) fn overran(&self) -> bool {
        self.pos > self.input.len() + FLUSH_SLACK
    }
}

impl EntropyCoder for RangeDecoder<'_> {
    #[inline]
    fn code_bit(&mut self, _bit: bool, p1: u32) -> Result<bool> {
        let bound = (self.range >> PROB_BITS) * u64::from(p1);
        let bit = if self.code < bound {
            self.range = bound;
            true
        } else {
            self.code -= bound;
            self.range -= bound;
            false
        };
        self.normalize();
        Ok(bit)
    }

    #[inline]
    fn code_symbol<D: Distribution>(&mut self, _symbol: u32, dist: &D) -> Result<u32> {
        let total = dist.total();
        let r = self.range / u64::from(total);
        let target = self.code / r;
        if target >= u64::from(total) {
            return Err(corrupt("arithmetic code out of range"));
        }
        let (symbol, start, size) = dist.find(target as u32);
        self.code -= r * u64::from(start);
        self.range = r * u64::from(size);
        self.normalize();
        Ok(symbol)
    }

    #[inline]
    fn code_uniform(&mut self, _value: u32, n: u32) -> Result<u32> {
        let r = self.range / u64::from(n);
        let v = self.code / r;
        if v >= u64::from(n) {
            return Err(corrupt("arithmetic code out of range"));
        }
        self.code -= r * v;
        self.range = r;
        self.normalize();
        Ok(v as u32)
    }
}

/// A distribution given by an explicit cumulative table; `cum[i]..cum[i+1]` is symbol
/// `i`'s interval. Simple and O(log n) to search; models with sparse predictions use
/// their own [`Distribution`] types.
#[cfg(test)]
pub(crate) struct CumulativeTable<'a> {
    pub(crate) cum: &'a [u32],
}

#[cfg(test)]
impl Distribution for CumulativeTable<'_> {
    fn total(&self) -> u32 {
        *self.cum.last().expect("non-empty table")
    }
    fn interval(&self, symbol: u32) -> (u32, u32) {
        let s = symbol as usize;
        (self.cum[s], self.cum[s + 1] - self.cum[s])
    }
    fn find(&self, target: u32) -> (u32, u32, u32) {
        // Last index with cum[i] <= target; zero-width symbols are skipped naturally.
        let i = self.cum.partition_point(|&c| c <= target) - 1;
        (i as u32, self.cum[i], self.cum[i + 1] - self.cum[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testutil::splitmix;

    #[derive(Clone, Copy, Debug)]
    enum Op {
        Bit(bool, u32),
        Sym(u32),
        Uni(u32, u32),
    }

    fn run<C: EntropyCoder>(c: &mut C, ops: &[Op], cum: &[u32]) -> Vec<Op> {
        let table = CumulativeTable { cum };
        ops.iter()
            .map(|&op| match op {
                Op::Bit(b, p) => Op::Bit(c.code_bit(b, p).unwrap(), p),
                Op::Sym(s) => Op::Sym(c.code_symbol(s, &table).unwrap()),
                Op::Uni(v, n) => Op::Uni(c.code_uniform(v, n).unwrap(), n),
            })
            .collect()
    }

    fn random_ops(seed: u64, n: usize, cum: &[u32]) -> Vec<Op> {
        let mut s = seed;
        let nsym = cum.len() as u32 - 1;
        (0..n)
            .map(|_| match splitmix(&mut s) % 3 {
                0 => {
                    let p = (splitmix(&mut s) % 65535) as u32 + 1;
                    // Mostly follow p, sometimes go against it.
                    let b = (splitmix(&mut s) % 65536) < u64::from(p);
                    Op::Bit(b, p)
                }
                1 => loop {
                    let sym = (splitmix(&mut s) % u64::from(nsym)) as u32;
                    if cum[sym as usize + 1] > cum[sym as usize] {
                        break Op::Sym(sym);
                    }
                },
                _ => {
                    let n = (splitmix(&mut s) % u64::from(u32::MAX)) as u32 + 1;
                    Op::Uni((splitmix(&mut s) % u64::from(n)) as u32, n)
                }
            })
            .collect()
    }

    fn same(a: &[Op], b: &[Op]) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    #[test]
    fn round_trips_mixed_operations() {
        // Extreme tables: 2^24 total with floors of 1, and a 2^32-1 total.
        let mut big = vec![0u32];
        for i in 0..16384u32 {
            let f = if i % 7 == 0 { 1 } else { 1000 };
            big.push(big.last().unwrap() + f);
        }
        let huge = vec![0, 1, u32::MAX / 2, u32::MAX - 1, u32::MAX];
        for (seed, cum) in [(1u64, &big), (2, &huge), (3, &vec![0, 1, 2, 2, 5])] {
            let ops = random_ops(seed, 20_000, cum);
            let mut enc = RangeEncoder::new();
            assert!(same(&run(&mut enc, &ops, cum), &ops));
            let bytes = enc.finish();
            let mut dec = RangeDecoder::new(&bytes);
            assert!(same(&run(&mut dec, &ops, cum), &ops), "seed {seed}");
            assert!(!dec.overran());
        }
    }

    #[test]
    fn empty_and_tiny_streams() {
        assert!(RangeEncoder::new().finish().is_empty());
        let mut enc = RangeEncoder::new();
        enc.code_bit(true, 60000).unwrap();
        let bytes = enc.finish();
        assert!(bytes.len() <= 1, "{bytes:?}");
        let mut dec = RangeDecoder::new(&bytes);
        assert!(dec.code_bit(false, 60000).unwrap());
    }

    #[test]
    fn cost_is_close_to_information() {
        // 100k bits with p = 0.9: ideal cost is 100k * H(0.9) bits.
        let mut enc = RangeEncoder::new();
        let mut s = 7;
        let p1 = (0.9 * 65536.0) as u32;
        let mut ideal = 0.0f64;
        for _ in 0..100_000 {
            let bit = !splitmix(&mut s).is_multiple_of(10);
            let p = if bit {
                p1 as f64 / 65536.0
            } else {
                1.0 - p1 as f64 / 65536.0
            };
            ideal -= p.log2();
            enc.code_bit(bit, p1).unwrap();
        }
        let actual = enc.finish().len() as f64 * 8.0;
        assert!(
            actual < ideal * 1.0005 + 64.0,
            "actual {actual} ideal {ideal}"
        );
    }

    #[test]
    fn garbage_never_panics() {
        let cum = [0u32, 3, 3, 10, 11];
        let table = CumulativeTable { cum: &cum };
        let mut s = 11;
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..16).map(|_| splitmix(&mut s) as u8).collect();
            let mut dec = RangeDecoder::new(&bytes);
            for _ in 0..100 {
                if dec.code_symbol(0, &table).is_err() {
                    break;
                }
                let _ = dec.code_bit(false, 1234);
            }
        }
    }
}
