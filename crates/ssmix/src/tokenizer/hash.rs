//! A small deterministic hasher for the tokenizer's tables.
//!
//! `std`'s default hasher is seeded randomly per process. Nothing in the tokenizer
//! depends on iteration order anyway, but a fixed hasher keeps run times reproducible
//! and is several times faster on the short keys used here (pair ids, short chunks).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-rotate hashing in the style of rustc's FxHasher.
#[derive(Default, Clone, Copy)]
pub(super) struct FxHasher {
    hash: u64,
}

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash ^ word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The product's high bits depend on every input bit; hash tables index with the
        // low bits, so rotate the good bits down.
        self.hash.rotate_left(26)
    }
}

/// A `HashMap` with [`FxHasher`].
pub(super) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// 64x64 -> 128-bit multiply folded to 64 bits: every input bit reaches the middle bits.
#[inline]
fn fold_mul(x: u64, y: u64) -> u64 {
    let m = u128::from(x) * u128::from(y);
    (m as u64) ^ ((m >> 64) as u64)
}

#[inline]
fn word8(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

#[inline]
fn word4(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(
        b[at..at + 4].try_into().expect("4 bytes"),
    ))
}

/// A pre-tokenizer chunk as `(key, hash)`. For chunks of at most 8 bytes `key` is a
/// one-to-one function of the bytes given the length, so `(length, key)` identifies the
/// chunk. Reads whole (overlapping) words instead of a byte loop; longer chunks (at
/// most 32 bytes are read in full) only hash worse, never wrongly.
#[inline]
fn key_hash(c: &[u8]) -> (u64, u64) {
    const K0: u64 = 0xa076_1d64_78bd_642f;
    const K1: u64 = 0xe703_7ed1_a0b4_28db;
    const K2: u64 = 0x8ebc_6af0_9c88_c6e3;
    const K3: u64 = 0x5899_65cc_7537_4cc3;
    let n = c.len();
    let (a, b) = if n <= 3 {
        if n == 0 {
            (0, 0)
        } else {
            // Positions 0, n / 2 and n - 1 cover every byte.
            let v = u64::from(c[0]) | u64::from(c[n / 2]) << 8 | u64::from(c[n - 1]) << 16;
            (v, 0)
        }
    } else if n <= 8 {
        (word4(c, 0) | word4(c, n - 4) << 32, 0)
    } else if n <= 16 {
        (word8(c, 0), word8(c, n - 8))
    } else {
        (
            fold_mul(word8(c, 0) ^ K2, word8(c, 8) ^ K3),
            fold_mul(word8(c, n - 16) ^ K2, word8(c, n - 8) ^ K3),
        )
    };
    (a, fold_mul(a ^ K0 ^ (n as u64), b ^ K1))
}

/// `a == b` for short slices of the same length, with a few word compares instead of a
/// `memcmp` call.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0..=8 => a == b,
        9..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        17..=32 => {
            word8(a, 0) == word8(b, 0)
                && word8(a, 8) == word8(b, 8)
                && word8(a, n - 16) == word8(b, n - 16)
                && word8(a, n - 8) == word8(b, n - 8)
        }
        _ => a == b,
    }
}

/// Bits of a slot tag that hold the chunk length (chunks are at most 32 bytes; longer
/// keys share the top value and are always compared in full).
const LEN_BITS: u32 = 6;
const LEN_MASK: u32 = (1 << LEN_BITS) - 1;

/// One slot: the chunk's key (see [`key_hash`]), a tag (hash bits above, length
/// below) and `id + 1` (0 = empty).
#[derive(Clone, Copy, Default)]
struct Slot {
    key: u64,
    tag: u32,
    id1: u32,
}

/// Interns the pre-tokenizer chunks of one input: each distinct chunk gets an id,
/// `0, 1, ..` in order of first occurrence (so ids never depend on hashing).
///
/// Open addressing with linear probing. A slot holds enough of the chunk that a chunk
/// of up to 8 bytes is found with one memory access; longer ones are checked against
/// their first occurrence, kept as a range of the input (no owned or borrowed keys).
pub(super) struct ChunkTable {
    slots: Vec<Slot>,
    mask: usize,
    /// Chunk `id` is `data[spans[id].0..spans[id].0 + spans[id].1]` (inputs are below
    /// 4 GiB: blocks are at most `MAX_BLOCK_SIZE`).
    spans: Vec<(u32, u32)>,
}

impl ChunkTable {
    /// A table sized for about `expect` distinct chunks (it grows as needed).
    pub(super) fn with_capacity(expect: usize) -> ChunkTable {
        let cap = (expect.max(512) * 2).next_power_of_two();
        ChunkTable {
            slots: vec![Slot::default(); cap],
            mask: cap - 1,
            spans: Vec::with_capacity(expect),
        }
    }

    /// Number of distinct chunks.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Start and length in the input of chunk `id`.
    #[inline]
    pub(super) fn span(&self, id: u32) -> (usize, usize) {
        let (s, n) = self.spans[id as usize];
        (s as usize, n as usize)
    }

    /// The id of `data[start..end]`, or where to insert it: `Err((slot, key, tag))`.
    #[inline(always)]
    fn find(&self, data: &[u8], start: usize, end: usize) -> Result<u32, (usize, u64, u32)> {
        let chunk = &data[start..end];
        let n = chunk.len();
        let (key, h) = key_hash(chunk);
        let tag = (h as u32 & !LEN_MASK) | (n.min(LEN_MASK as usize) as u32);
        let mut i = (h >> 32) as usize & self.mask;
        loop {
            let slot = self.slots[i];
            if slot.id1 == 0 {
                return Err((i, key, tag));
            }
            if slot.tag == tag && slot.key == key {
                let id = slot.id1 - 1;
                if n <= 8 {
                    return Ok(id);
                }
                let (s, len) = self.spans[id as usize];
                if same_bytes(&data[s as usize..(s + len) as usize], chunk) {
                    return Ok(id);
                }
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The id of `data[start..end]` if it was interned.
    #[inline(always)]
    pub(super) fn get(&self, data: &[u8], start: usize, end: usize) -> Option<u32> {
        self.find(data, start, end).ok()
    }

    /// The id of `data[start..end]`, inserting it if new (then the id is `len() - 1`).
    /// `data` must be the same input on every call.
    #[inline(always)]
    pub(super) fn intern(&mut self, data: &[u8], start: usize, end: usize) -> u32 {
        let (i, key, tag) = match self.find(data, start, end) {
            Ok(id) => return id,
            Err(at) => at,
        };
        let id = self.spans.len() as u32;
        self.slots[i] = Slot {
            key,
            tag,
            id1: id + 1,
        };
        self.spans.push((start as u32, (end - start) as u32));
        if self.spans.len() * 2 > self.slots.len() {
            self.grow(data);
        }
        id
    }

    /// Bytes allocated, with 1/2 extra for the growth of both vectors (a reallocation
    /// briefly holds the old and the new buffer).
    #[cfg(test)]
    pub(super) fn peak_bytes(&self) -> usize {
        (self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.spans.capacity() * std::mem::size_of::<(u32, u32)>())
            * 3
            / 2
    }

    /// Doubles the slots, keeping the load at most 1/2.
    #[cold]
    fn grow(&mut self, data: &[u8]) {
        let cap = self.slots.len() * 2;
        let mut slots = vec![Slot::default(); cap];
        let mask = cap - 1;
        for &slot in self.slots.iter().filter(|s| s.id1 != 0) {
            let (s, n) = self.spans[slot.id1 as usize - 1];
            let h = key_hash(&data[s as usize..(s + n) as usize]).1;
            let mut i = (h >> 32) as usize & mask;
            while slots[i].id1 != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = slot;
        }
        self.slots = slots;
        self.mask = mask;
    }
}
