//! Encoding: BPE by merge rank, once per unique chunk.
//!
//! The input is cut into the same chunks as in training. Each distinct chunk is
//! tokenized once (the lowest-ranked adjacent pair is merged until none is left) and its
//! tokens are cached, so on text the work is dominated by one hash lookup per chunk.

use std::borrow::Cow;

use super::hash::ChunkTable;
use super::{Merge, Token, Vocab, pretok};

const NO_RANK: u32 = u32::MAX;

/// Pair -> merge rank, open addressing over one `u64` per slot (`key << 32 | rank + 1`,
/// 0 = empty); small enough to stay in cache, unlike a general hash map.
struct RankTable {
    slots: Vec<u64>,
    shift: u32,
}

impl RankTable {
    /// Tokens are below [`super::MAX_VOCAB`] = 2^16, so a pair fits in 32 bits.
    #[inline]
    fn key(a: Token, b: Token) -> u32 {
        debug_assert!(a < 1 << 16 && b < 1 << 16);
        (a << 16) | b
    }

    fn new(merges: &[Merge]) -> RankTable {
        let cap = (merges.len() * 2).max(16).next_power_of_two();
        let mut t = RankTable {
            slots: vec![0; cap],
            shift: 64 - cap.trailing_zeros(),
        };
        for (rank, m) in merges.iter().enumerate() {
            let key = Self::key(m.left, m.right);
            let mask = t.slots.len() - 1;
            let mut i = t.home(key);
            loop {
                let slot = t.slots[i];
                if slot == 0 {
                    t.slots[i] = (u64::from(key) << 32) | (rank as u64 + 1);
                    break;
                }
                // Two merges can never share a pair, but keep the first rank if they did.
                if (slot >> 32) as u32 == key {
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        t
    }

    #[inline]
    fn home(&self, key: u32) -> usize {
        (u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The rank of merging `a b`, or `NO_RANK`.
    #[inline]
    fn rank(&self, a: Token, b: Token) -> u32 {
        let key = Self::key(a, b);
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                return NO_RANK;
            }
            if (slot >> 32) as u32 == key {
                return slot as u32 - 1;
            }
            i = (i + 1) & mask;
        }
    }
}

struct Encoder<'m> {
    ranks: RankTable,
    merges: &'m [Merge],
    /// Chunk id (in the chunk table) -> its tokens, as a range of `store`.
    cached: Vec<(u32, u32)>,
    store: Vec<Token>,
}

impl Encoder<'_> {
    /// Tokenizes one chunk (at most [`pretok::MAX_CHUNK`] bytes) onto `self.store`.
    fn bpe(&mut self, chunk: &[u8]) {
        debug_assert!((2..=pretok::MAX_CHUNK).contains(&chunk.len()));
        let mut w = [0 as Token; pretok::MAX_CHUNK];
        let mut r = [NO_RANK; pretok::MAX_CHUNK];
        let mut n = chunk.len();
        for (x, &b) in w.iter_mut().zip(chunk) {
            *x = Token::from(b);
        }
        for i in 0..n - 1 {
            r[i] = self.ranks.rank(w[i], w[i + 1]);
        }
        loop {
            // Leftmost lowest rank: the same result as training's left-to-right merge.
            let mut best = NO_RANK;
            let mut at = 0;
            for (i, &x) in r[..n - 1].iter().enumerate() {
                if x < best {
                    best = x;
                    at = i;
                }
            }
            if best == NO_RANK {
                break;
            }
            w[at] = self.merges[best as usize].result;
            n -= 1;
            for i in at + 1..n {
                w[i] = w[i + 1];
            }
            for i in at..n - 1 {
                r[i] = r[i + 1];
            }
            if at > 0 {
                r[at - 1] = self.ranks.rank(w[at - 1], w[at]);
            }
            if at + 1 < n {
                r[at] = self.ranks.rank(w[at], w[at + 1]);
            }
        }
        self.store.extend_from_slice(&w[..n]);
    }
}

impl Vocab {
    /// Splits `data` into tokens.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn encode(&self, data: &[u8]) -> Vec<Token> {
        let mut out = Vec::new();
        self.encode_into(data, &mut out);
        out
    }

    /// Splits `data` into tokens, replacing the contents of `out` (its capacity is
    /// reused).
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn encode_into(&self, data: &[u8], out: &mut Vec<Token>) {
        self.encode_as(data, out, |t| t);
    }

    /// [`Vocab::encode`] with 16-bit tokens (ids are below [`super::MAX_VOCAB`] =
    /// 2^16): half the memory for the token stream of a block.
    pub(crate) fn encode_u16(&self, data: &[u8]) -> Vec<u16> {
        let mut out = Vec::new();
        self.encode_as(data, &mut out, |t| t as u16);
        out
    }

    fn encode_as<T: Copy>(&self, data: &[u8], out: &mut Vec<T>, conv: impl Fn(Token) -> T) {
        out.clear();
        let merges: Cow<'_, [Merge]> = match &self.merges {
            Some(m) => Cow::Borrowed(m),
            None => Cow::Owned(self.derive_merges()),
        };
        if merges.is_empty() {
            out.extend(data.iter().map(|&b| conv(Token::from(b))));
            return;
        }
        let mut enc = Encoder {
            ranks: RankTable::new(&merges),
            merges: &merges,
            cached: Vec::new(),
            store: Vec::new(),
        };
        let mut table = ChunkTable::with_capacity(data.len() / 40);
        let (cap, byte_cap) = (
            super::chunk_cap(data.len()),
            super::chunk_byte_cap(data.len()),
        );
        let mut cached_bytes = 0;
        out.reserve(data.len() / 3);
        pretok::for_each_chunk(data, self.digits, |start, end| {
            if end - start == 1 {
                out.push(conv(Token::from(data[start])));
                return;
            }
            // Bounded cache (as training's tables): past the caps, a chunk not seen
            // yet is split on its own each time (the same tokens).
            let id = if table.len() < cap && cached_bytes + (end - start) <= byte_cap {
                table.intern(data, start, end) as usize
            } else if let Some(id) = table.get(data, start, end) {
                id as usize
            } else {
                let s = enc.store.len();
                enc.bpe(&data[start..end]);
                out.extend(enc.store[s..].iter().map(|&t| conv(t)));
                enc.store.truncate(s);
                return;
            };
            if let Some(&(s, e)) = enc.cached.get(id) {
                // Most chunks are one or two tokens: a loop beats a `memcpy` call.
                for &t in &enc.store[s as usize..e as usize] {
                    out.push(conv(t));
                }
                return;
            }
            let s = enc.store.len();
            enc.bpe(&data[start..end]);
            cached_bytes += end - start;
            enc.cached.push((s as u32, enc.store.len() as u32));
            out.extend(enc.store[s..].iter().map(|&t| conv(t)));
        });
        #[cfg(test)]
        super::train::peak::note(
            table.peak_bytes()
                + (out.capacity() * std::mem::size_of::<T>()
                    + enc.store.capacity() * 4
                    + enc.cached.capacity() * 8)
                    * 3
                    / 2
                + enc.ranks.slots.capacity() * 8,
        );
    }
}
