//! The tokenizer, learned from the input itself: byte-level BPE.
//!
//! Tokens `0..=255` are the single bytes, so every input (binary, random, already
//! compressed, empty) round-trips. Longer tokens are learned per block by
//! [`Vocab::train`] (`train.rs`: chunked, incremental BPE) and numbered `256..` in
//! lexicographic order of their bytes, which makes the vocabulary cheap to store
//! (`serial.rs`: sorted front coding through the range coder). The decoder needs only the
//! token strings; the merge ranks used by [`Vocab::encode`] stay on the encoder's side.
#![cfg_attr(not(feature = "internals"), allow(unreachable_pub))]

mod encode;
mod hash;
mod pretok;
mod serial;
mod train;

#[cfg(test)]
mod tests;

use hash::FxMap;
pub use pretok::Digits;

/// An upper bound on the memory `Vocab::read` uses: its bit models (~0.5 MB) and at
/// most `MAX_VOCAB` tokens of at most `MAX_TOKEN_LEN` bytes (2 MB), plus their index.
pub(crate) const READ_MEMORY: u64 = 4 << 20;

/// Upper bound on the bytes the tokenizer allocates for a block of `len` bytes while
/// [`Vocab::train`] runs, or while `Vocab::encode_u16` runs (its tokens included); the
/// input itself is not counted. Part of the per-thread memory of a frame.
///
/// Training holds a chunk table and the distinct chunks (phase 1), then per-position
/// arrays over the distinct chunks' bytes, word lists and per-pair arrays (phase 2);
/// encoding holds a chunk table, its cache and the tokens. [`chunk_cap`] and
/// [`chunk_byte_cap`] keep all of them linear in `len` with small factors. Measured
/// peaks (`tests::train_memory_is_an_upper_bound`, which checks this bound on text,
/// random bytes, zeros, distinct short and long chunks, and text followed by those, from
/// 10 KB to 8 MiB): at most 8.5 bytes per input byte at 2 MB and 7.2 at 8 MiB (text
/// followed by distinct chunks; text alone 3.2–5.5, random 4.4–4.5, zeros 1.8), and
/// 5.4 MB in all at 300 KB (the caps' constant terms).
pub(crate) fn work_memory(len: usize) -> u64 {
    WORK_BYTES_PER_INPUT_BYTE * len as u64 + WORK_FIXED_BYTES
}

/// See [`work_memory`].
const WORK_BYTES_PER_INPUT_BYTE: u64 = 8;
/// See [`work_memory`]: the tables of the 65,536 byte pairs and the caps' constant terms.
const WORK_FIXED_BYTES: u64 = 4 << 20;

/// The most distinct chunks training counts, and encoding caches, for an input of
/// `len` bytes: `len / 32 + 4096`, together with [`chunk_byte_cap`]. They bound the
/// tokenizer's tables on input with little repetition (random bytes have a distinct
/// chunk every 8 bytes); text stays far below (enwik8: one per 40..55 bytes from
/// 1 MB on, one per 20 at 64 KB, every file of `testdata/` below both caps). Past the
/// caps, training still counts the chunks it has seen but no new ones, and encoding
/// splits new chunks without caching them (the same tokens).
fn chunk_cap(len: usize) -> usize {
    len / 32 + 4096
}

/// The most bytes of distinct chunks training counts and encoding caches (see
/// [`chunk_cap`]): `len / 4 + 65536`.
fn chunk_byte_cap(len: usize) -> usize {
    len / 4 + 65536
}

/// A token id, `0..vocab.len()`.
pub type Token = u32;

/// The largest vocabulary a block may declare.
pub const MAX_VOCAB: usize = 1 << 16;

/// The longest token, in bytes (tokens never cross a pre-tokenizer chunk).
pub const MAX_TOKEN_LEN: usize = pretok::MAX_CHUNK;

/// One BPE merge, in rank order: `left` and `right` next to each other become `result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Merge {
    left: Token,
    right: Token,
    result: Token,
}

/// A learned vocabulary: token ids to byte strings, plus what encoding needs.
#[derive(Clone)]
pub struct Vocab {
    /// All token strings, concatenated in id order.
    bytes: Vec<u8>,
    /// `bytes[ends[t - 1]..ends[t]]` is token `t` (with `ends[-1]` = 0).
    ends: Vec<u32>,
    /// The merges in rank order, for a trained vocabulary. A vocabulary read from a
    /// stream derives them when it is asked to encode.
    merges: Option<Vec<Merge>>,
    /// How training cut digits; encoding cuts them the same way.
    digits: Digits,
}

impl std::fmt::Debug for Vocab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vocab")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Vocab {
    /// Two vocabularies are equal when they map the same ids to the same bytes.
    fn eq(&self, other: &Self) -> bool {
        self.ends == other.ends && self.bytes == other.bytes
    }
}

/// Default early stop: a merge must occur at least this often to be learned. On text the
/// budget ([`vocab_budget`]) binds first; this is the floor for small or odd inputs,
/// where the proxy measurements show merges seen 2..3 times never pay for their
/// vocabulary entry.
pub const DEFAULT_MIN_COUNT: u64 = 4;

impl Vocab {
    /// The 256 single-byte tokens.
    pub fn bytes_only() -> Vocab {
        Vocab {
            bytes: (0..=255u8).collect(),
            ends: (1..=256).collect(),
            merges: Some(Vec::new()),
            digits: Digits::Runs,
        }
    }

    /// Learns a vocabulary of at most `max_tokens` tokens (at least the 256 bytes) from
    /// `data`.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn train(data: &[u8], max_tokens: usize) -> Vocab {
        Self::train_with(data, max_tokens, DEFAULT_MIN_COUNT)
    }

    /// Like [`Vocab::train`], stopping once the best pair occurs fewer than `min_count`
    /// times.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn train_with(data: &[u8], max_tokens: usize, min_count: u64) -> Vocab {
        Self::train_cut(data, max_tokens, min_count, Digits::Runs)
    }

    /// Like [`Vocab::train`], with the pre-tokenizer cutting digits as `digits` says
    /// (encoding with the result cuts them the same way).
    pub fn train_digits(data: &[u8], max_tokens: usize, digits: Digits) -> Vocab {
        Self::train_cut(data, max_tokens, DEFAULT_MIN_COUNT, digits)
    }

    fn train_cut(data: &[u8], max_tokens: usize, min_count: u64, digits: Digits) -> Vocab {
        let max_merges = max_tokens.clamp(256, MAX_VOCAB) - 256;
        let merges = train::learn_merges(data, max_merges, min_count, digits);
        let mut v = Self::from_merges(&merges);
        v.digits = digits;
        v
    }

    /// Builds the canonical vocabulary from merges in training numbering (merge `i`
    /// makes token `256 + i`): strings sorted, duplicates (two merges can spell the same
    /// string) folded into one id.
    fn from_merges(merges: &[(Token, Token)]) -> Vocab {
        // Training-numbered token strings, as ranges into `raw`.
        let mut raw: Vec<u8> = (0..=255u8).collect();
        let mut spans: Vec<(u32, u32)> = (0..256).map(|i| (i, i + 1)).collect();
        for &(a, b) in merges {
            let start = raw.len() as u32;
            for t in [a, b] {
                let (s, e) = spans[t as usize];
                raw.extend_from_within(s as usize..e as usize);
            }
            spans.push((start, raw.len() as u32));
        }
        let text = |t: usize| &raw[spans[t].0 as usize..spans[t].1 as usize];
        let mut order: Vec<usize> = (256..spans.len()).collect();
        order.sort_unstable_by(|&x, &y| text(x).cmp(text(y)).then(x.cmp(&y)));

        let mut v = Vocab::bytes_only();
        let mut canon: Vec<Token> = (0..spans.len() as Token).collect();
        let mut last: Option<usize> = None;
        for &t in &order {
            if last.is_none_or(|l| text(l) != text(t)) {
                v.push(text(t));
                last = Some(t);
            }
            canon[t] = (v.len() - 1) as Token;
        }
        v.merges = Some(
            merges
                .iter()
                .enumerate()
                .map(|(i, &(a, b))| Merge {
                    left: canon[a as usize],
                    right: canon[b as usize],
                    result: canon[256 + i],
                })
                .collect(),
        );
        v
    }

    /// Appends a token.
    fn push(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
        self.ends.push(self.bytes.len() as u32);
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Always false: the 256 byte tokens are always there.
    #[cfg_attr(not(feature = "internals"), allow(dead_code))]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of token `t`. Panics if `t >= len()`.
    #[inline]
    pub fn token_bytes(&self, t: Token) -> &[u8] {
        let t = t as usize;
        let start = if t == 0 { 0 } else { self.ends[t - 1] as usize };
        &self.bytes[start..self.ends[t] as usize]
    }

    /// Merges for encoding: the trained ones, or for a vocabulary that was read, one
    /// split per token into two shorter tokens, shortest tokens first. Any rank order
    /// in which parts come before wholes round-trips; only the token counts differ.
    fn derive_merges(&self) -> Vec<Merge> {
        let mut index: FxMap<&[u8], Token> = FxMap::default();
        for t in 0..self.len() as Token {
            index.insert(self.token_bytes(t), t);
        }
        let mut order: Vec<Token> = (256..self.len() as Token).collect();
        order.sort_by_key(|&t| (self.token_bytes(t).len(), t));
        let mut merges = Vec::with_capacity(order.len());
        for t in order {
            let s = self.token_bytes(t);
            // Longest left part first; a BPE-trained token always has some split.
            for k in (1..s.len()).rev() {
                if let (Some(&l), Some(&r)) = (index.get(&s[..k]), index.get(&s[k..])) {
                    merges.push(Merge {
                        left: l,
                        right: r,
                        result: t,
                    });
                    break;
                }
            }
        }
        merges
    }
}

/// The largest vocabulary [`vocab_budget`] asks for. Beyond this the proxy gains little
/// and a neural model pays for every token in its embedding and output layers.
pub const MAX_BUDGET: usize = 1 << 15;

/// The vocabulary size to aim for on an input of `len` bytes: `256 + len^0.75 / 4`,
/// at most [`MAX_BUDGET`].
///
/// Chosen with `examples/tokenize.rs`, which adds the stored vocabulary to the ideal
/// code length of the token stream under an adaptive order-1 model (Witten-Bell
/// escapes to order 0, then to uniform). On enwik8 prefixes the proxy's optimum is at
/// about 384..512 tokens at 10 KB (this rule: 506), 768 at 30 KB (818), 1.5K at 100 KB
/// (1.6K), 3K at 300 KB (3.4K), 6K..8K at 1 MB (8.0K) and 16K at 3 MB (18K): the
/// optimal number of merges grows like `len^0.75`. Around the optimum the proxy is
/// flat (within 0.5% over a factor of ~2 in vocabulary size), so a neural model that
/// prefers fewer, longer tokens can take up to twice this budget at little cost; much
/// beyond that the stored vocabulary outweighs the gain. Data without structure
/// (random, already compressed) gets no merges whatever the budget: training keeps
/// only pairs far more frequent than chance (see `train.rs`).
///
/// Integer arithmetic (`len^0.75 = sqrt(len) * sqrt(sqrt(len))`) keeps the choice the
/// same on every machine.
pub fn vocab_budget(len: usize) -> usize {
    let len = len as u64;
    let merges = len.isqrt() * len.isqrt().isqrt() / 4;
    (256 + merges).min(MAX_BUDGET as u64) as usize
}
