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

/// Hash of a pre-tokenizer chunk (at most 32 bytes are read in full; longer keys only
/// hash worse, never wrongly). Reads whole (overlapping) words instead of a byte loop;
/// the length is mixed in, so the overlaps cannot make two keys collide by design.
#[inline]
pub(super) fn hash_chunk(c: &[u8]) -> u32 {
    const K0: u64 = 0xa076_1d64_78bd_642f;
    const K1: u64 = 0xe703_7ed1_a0b4_28db;
    const K2: u64 = 0x8ebc_6af0_9c88_c6e3;
    const K3: u64 = 0x5899_65cc_7537_4cc3;
    let n = c.len();
    let (a, b) = if n <= 3 {
        if n == 0 {
            (0, 0)
        } else {
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
    let h = fold_mul(a ^ K0 ^ (n as u64), b ^ K1);
    (h ^ (h >> 32)) as u32
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
        0 => true,
        // Positions 0, n / 2 and n - 1 cover every byte.
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=8 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
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

/// Interns the pre-tokenizer chunks of one input: each distinct chunk gets an id,
/// `0, 1, ..` in order of first occurrence (so ids never depend on hashing).
///
/// Open addressing with linear probing over one `u64` per slot (hash tag and id), so a
/// lookup is one hash, usually one cache line and one byte comparison; chunks are kept
/// as ranges of the input rather than owned or borrowed keys.
pub(super) struct ChunkTable {
    /// `0` = empty, else `(hash << 32) | (id + 1)`.
    slots: Vec<u64>,
    mask: usize,
    /// Chunk `id` is `data[spans[id].0..spans[id].0 + spans[id].1]`.
    spans: Vec<(usize, u32)>,
}

impl ChunkTable {
    /// A table sized for about `expect` distinct chunks (it grows as needed).
    pub(super) fn with_capacity(expect: usize) -> ChunkTable {
        let cap = (expect.max(16) * 2).next_power_of_two();
        ChunkTable {
            slots: vec![0; cap],
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
        (s, n as usize)
    }

    /// The id of `data[start..end]`, inserting it if new (then the id is `len() - 1`).
    /// `data` must be the same input on every call.
    #[inline(always)]
    pub(super) fn intern(&mut self, data: &[u8], start: usize, end: usize) -> u32 {
        let chunk = &data[start..end];
        let h = hash_chunk(chunk);
        let mut i = h as usize & self.mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                break;
            }
            if (slot >> 32) as u32 == h {
                let id = (slot as u32) - 1;
                let (s, n) = self.spans[id as usize];
                if same_bytes(&data[s..s + n as usize], chunk) {
                    return id;
                }
            }
            i = (i + 1) & self.mask;
        }
        let id = self.spans.len() as u32;
        self.slots[i] = (u64::from(h) << 32) | u64::from(id + 1);
        self.spans.push((start, (end - start) as u32));
        if self.spans.len() * 2 > self.slots.len() {
            self.grow();
        }
        id
    }

    /// Doubles the slots, keeping load at most 1/2 (the tags hold enough hash bits).
    #[cold]
    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        let mut slots = vec![0u64; cap];
        let mask = cap - 1;
        for &slot in self.slots.iter().filter(|&&s| s != 0) {
            let mut i = (slot >> 32) as usize & mask;
            while slots[i] != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = slot;
        }
        self.slots = slots;
        self.mask = mask;
    }
}
