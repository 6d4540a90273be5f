//! Byte-level BPE training, incremental rather than the textbook quadratic loop.
//!
//! 1. The input is cut into chunks ([`super::pretok`]) and identical chunks are counted
//!    once: a "word" is a unique chunk with its count, stored as a run of token ids in
//!    one flat array, next to the ids of its adjacent pairs (so a merge finds the pairs
//!    it breaks without a hash lookup).
//! 2. Every adjacent pair gets an id, a weighted count and a sorted list of the words
//!    that contained it when it was created (stale entries are harmless: the word is
//!    rewritten unchanged). All pairs with a new token are created by the merge that
//!    made the token, so each list is written once, into one shared pool.
//! 3. A max-heap of `(count, pair)` with lazy invalidation picks the best pair: counts
//!    only ever fall for existing pairs, so a popped entry whose count is out of date is
//!    pushed back with the current count. Pairs below `min_count` can never be chosen
//!    and are never pushed.
//! 4. A merge rewrites only the words on the pair's list, adjusting the counts of the
//!    neighbouring pairs by the word's count, and pushes the new pairs it created.
//!
//! 5. A pair is merged only if it is far more frequent than chance given its tokens'
//!    own counts (a z-test in integers, [`significant`]); otherwise it is dropped for
//!    good. So random or already compressed data learns no tokens at all.
//!
//! Ties are broken by the smaller pair key, so the result depends neither on hash order
//! nor on the numbering of words and pairs.
//! Every word list entry comes from one pair creation and words are at most
//! [`pretok::MAX_CHUNK`] long, so the total work is linear in the input.

use std::collections::BinaryHeap;

use super::hash::ChunkTable;
use super::{Digits, MAX_VOCAB, Token, pretok};

/// A unique chunk: its tokens are `syms[start..start + len]`, and the pair of tokens
/// `i, i + 1` has id `pids[start + i]`.
#[derive(Clone, Copy)]
struct Word {
    start: u32,
    len: u32,
    count: u64,
}

const NONE: u32 = u32::MAX;

/// A token while training: there are at most [`MAX_VOCAB`] = 2^16, and half the
/// width of [`Token`] keeps more of the words in cache.
type Sym = u16;

/// Pair `(a, b)` as a 32-bit key ordered like `(a, b)`.
#[inline]
fn key(a: Sym, b: Sym) -> u32 {
    (u32::from(a) << 16) | u32::from(b)
}

/// A heap entry: the count, then the smaller key first, then the pair id (unique per
/// key, so it never decides).
#[inline]
fn entry(count: u64, key: u32, id: u32) -> u128 {
    (u128::from(count) << 64) | (u128::from(!key) << 32) | u128::from(id)
}

struct Trainer {
    syms: Vec<Sym>,
    pids: Vec<u32>,
    words: Vec<Word>,
    /// Per pair: weighted count, key, word list as a range of `pool`, and the last
    /// word appended while the list is built.
    counts: Vec<u64>,
    keys: Vec<u32>,
    lists: Vec<(u32, u32)>,
    last_word: Vec<u32>,
    pool: Vec<u32>,
    /// `(pair, word)` entries of the lists being built, in word order.
    pending: Vec<(u32, u32)>,
    /// Scratch for [`Trainer::flush_lists`].
    cursor: Vec<u32>,
    /// During a merge making `n`: token `x` -> id of the pair `(x, n)` / `(n, x)`.
    left_new: Vec<u32>,
    right_new: Vec<u32>,
}

impl Trainer {
    /// A new pair with count 0 and an empty list.
    #[inline]
    fn new_pair(&mut self, a: Sym, b: Sym) -> u32 {
        let id = self.counts.len() as u32;
        self.counts.push(0);
        self.keys.push(key(a, b));
        self.lists.push((0, 0));
        self.last_word.push(NONE);
        id
    }

    /// Adds an occurrence of pair `id` in word `w` (words come in increasing order).
    #[inline]
    fn add(&mut self, id: u32, w: u32, count: u64) {
        self.counts[id as usize] += count;
        let last = &mut self.last_word[id as usize];
        if *last != w {
            *last = w;
            self.pending.push((id, w));
        }
    }

    #[inline]
    fn sub(&mut self, id: u32, count: u64) {
        let c = &mut self.counts[id as usize];
        debug_assert!(*c >= count);
        *c = c.saturating_sub(count);
    }

    /// Moves the pending entries of pairs `first..` into `pool` (a stable counting sort
    /// by pair, so every list stays in word order).
    fn flush_lists(&mut self, first: u32) {
        let n = self.counts.len() - first as usize;
        self.cursor.clear();
        self.cursor.resize(n, 0);
        for &(id, _) in &self.pending {
            self.cursor[(id - first) as usize] += 1;
        }
        let mut at = self.pool.len() as u32;
        for (k, c) in self.cursor.iter_mut().enumerate() {
            let len = *c;
            self.lists[first as usize + k] = (at, len);
            *c = at;
            at += len;
        }
        self.pool.resize(at as usize, 0);
        for &(id, w) in &self.pending {
            let c = &mut self.cursor[(id - first) as usize];
            self.pool[*c as usize] = w;
            *c += 1;
        }
        self.pending.clear();
    }

    /// Bytes allocated by the trainer's vectors, with 1/2 extra for the vectors that
    /// grow while merging (a reallocation briefly holds the old and the new buffer).
    #[cfg(test)]
    fn peak_bytes(&self) -> usize {
        fn b<T>(v: &Vec<T>) -> usize {
            v.capacity() * std::mem::size_of::<T>()
        }
        let growing = b(&self.counts)
            + b(&self.keys)
            + b(&self.lists)
            + b(&self.last_word)
            + b(&self.pool)
            + b(&self.pending)
            + b(&self.cursor);
        b(&self.syms)
            + b(&self.pids)
            + b(&self.words)
            + b(&self.left_new)
            + b(&self.right_new)
            + growing * 3 / 2
    }

    /// The word lists of the byte pairs, straight from `pids` (what `add` and
    /// `flush_lists(0)` would build, in the same order, without the `pending` entries):
    /// one pass counts each pair once per word, a second one fills `pool`.
    fn initial_lists(&mut self) {
        let n = self.counts.len();
        let mut fill = vec![0u32; n];
        for (w, word) in self.words.iter().enumerate() {
            let base = word.start as usize;
            for &id in &self.pids[base..base + (word.len as usize).saturating_sub(1)] {
                let last = &mut self.last_word[id as usize];
                if *last != w as u32 {
                    *last = w as u32;
                    fill[id as usize] += 1;
                }
            }
        }
        let mut at = 0u32;
        for (id, f) in fill.iter_mut().enumerate() {
            self.lists[id] = (at, *f);
            let len = *f;
            *f = at;
            at += len;
        }
        self.pool = vec![0; at as usize];
        self.last_word.fill(NONE);
        for (w, word) in self.words.iter().enumerate() {
            let base = word.start as usize;
            for &id in &self.pids[base..base + (word.len as usize).saturating_sub(1)] {
                let last = &mut self.last_word[id as usize];
                if *last != w as u32 {
                    *last = w as u32;
                    let f = &mut fill[id as usize];
                    self.pool[*f as usize] = w as u32;
                    *f += 1;
                }
            }
        }
    }

    /// Replaces every `a b` in word `w` with `n`, left to right, updating pair counts
    /// and ids. Returns the number of replacements times the word's count (less than
    /// the pair's count for runs like `a a a`, whose two overlapping pairs make one
    /// merge).
    fn merge_word(&mut self, w: u32, a: Sym, b: Sym, n: Sym) -> u64 {
        let Word { start, len, count } = self.words[w as usize];
        let (base, len) = (start as usize, len as usize);
        // Many listed words no longer hold the pair: find the first match before
        // writing anything.
        let word = &self.syms[base..base + len];
        let Some(first) = word.windows(2).position(|p| p[0] == a && p[1] == b) else {
            return 0;
        };
        let mut out = first;
        let mut i = first;
        let mut merged = 0;
        // Invariant: `pids[base + out - 1]` is the pair of the last token written and
        // the token at `i`, so runs like `a b a b` and `a a a` are counted right.
        while i < len {
            let s = self.syms[base + i];
            if s == a && i + 1 < len && self.syms[base + i + 1] == b {
                if out > 0 {
                    let prev = self.syms[base + out - 1];
                    self.sub(self.pids[base + out - 1], count);
                    let mut id = self.left_new[usize::from(prev)];
                    if id == NONE {
                        id = self.new_pair(prev, n);
                        self.left_new[usize::from(prev)] = id;
                    }
                    self.add(id, w, count);
                    self.pids[base + out - 1] = id;
                }
                if i + 2 < len {
                    let next = self.syms[base + i + 2];
                    self.sub(self.pids[base + i + 1], count);
                    let mut id = self.right_new[usize::from(next)];
                    if id == NONE {
                        id = self.new_pair(n, next);
                        self.right_new[usize::from(next)] = id;
                    }
                    self.add(id, w, count);
                    self.pids[base + out] = id;
                }
                self.syms[base + out] = n;
                merged += count;
                i += 2;
            } else {
                self.syms[base + out] = s;
                self.pids[base + out] = self.pids[base + i];
                i += 1;
            }
            out += 1;
        }
        self.words[w as usize].len = out as u32;
        merged
    }
}

/// How many standard deviations (squared) a pair's count must exceed what chance
/// predicts.
const Z2: u128 = 36;

/// True if a pair seen `c` times is too frequent to be chance, given its tokens' counts
/// `na`, `nb` among `n` tokens: with `e = na * nb / n`, `c > e` and
/// `(c - e)^2 > Z2 * e` (a Poisson z-test), in exact integers. On random or already
/// compressed data this rejects nearly all merges (they would only cost vocabulary
/// bits); on text it rejects almost nothing.
fn significant(c: u64, na: u64, nb: u64, n: u64) -> bool {
    let (cn, e_n) = (
        u128::from(c) * u128::from(n),
        u128::from(na) * u128::from(nb),
    );
    cn > e_n && (cn - e_n) * (cn - e_n) > Z2 * e_n * u128::from(n)
}

/// Learns up to `max_merges` merges from `data`, stopping early once the best pair
/// occurs fewer than `min_count` times. Merge `i` creates token `256 + i` from the pair
/// of (earlier) tokens it returns.
pub(super) fn learn_merges(
    data: &[u8],
    max_merges: usize,
    min_count: u64,
    digits: Digits,
) -> Vec<(Token, Token)> {
    let caps = (
        super::chunk_cap(data.len()),
        super::chunk_byte_cap(data.len()),
    );
    learn_merges_capped(data, max_merges, min_count, caps, digits)
}

/// [`learn_merges`] counting at most `caps.0` distinct chunks of at most `caps.1` bytes
/// in all.
pub(super) fn learn_merges_capped(
    data: &[u8],
    max_merges: usize,
    min_count: u64,
    caps: (usize, usize),
    digits: Digits,
) -> Vec<(Token, Token)> {
    let max_merges = max_merges.min(MAX_VOCAB - 256);
    let mut merges = Vec::new();
    if max_merges == 0 || data.len() < 2 {
        return merges;
    }
    // Unique chunks of 2+ bytes, numbered in order of first occurrence.
    let mut table = ChunkTable::with_capacity(data.len() / 40);
    let mut chunk_counts: Vec<u32> = Vec::new();
    // Bounded tables: past the caps only chunks already seen are counted.
    let (cap, byte_cap) = caps;
    let mut bytes = 0;
    pretok::for_each_chunk(data, digits, |s, e| {
        if e - s >= 2 {
            let id = if table.len() < cap && bytes + (e - s) <= byte_cap {
                table.intern(data, s, e) as usize
            } else {
                match table.get(data, s, e) {
                    Some(id) => id as usize,
                    None => return,
                }
            };
            if id == chunk_counts.len() {
                chunk_counts.push(1);
                bytes += e - s;
            } else {
                chunk_counts[id] += 1;
            }
        }
    });

    // Words first, at their place in `data`; then the chunk table goes before the
    // per-position arrays are allocated, so the two never coexist (on incompressible
    // input the table is the largest structure of training).
    let mut words: Vec<Word> = (0..table.len() as u32)
        .map(|id| {
            let (s, len) = table.span(id);
            Word {
                start: s as u32,
                len: len as u32,
                count: u64::from(chunk_counts[id as usize]),
            }
        })
        .collect();
    #[cfg(test)]
    peak::note(table.peak_bytes() + 4 * chunk_counts.capacity() + 16 * words.capacity());
    drop(table);
    drop(chunk_counts);
    let total: usize = words.iter().map(|w| w.len as usize).sum();
    let mut t = Trainer {
        syms: Vec::with_capacity(total),
        pids: Vec::with_capacity(total),
        words: Vec::new(),
        counts: Vec::new(),
        keys: Vec::new(),
        lists: Vec::new(),
        last_word: Vec::new(),
        pool: Vec::new(),
        pending: Vec::new(),
        cursor: Vec::new(),
        left_new: vec![NONE; 256 + max_merges],
        right_new: vec![NONE; 256 + max_merges],
    };
    // Byte pair -> pair id.
    let mut byte_pair = vec![NONE; 1 << 16];
    for word in &mut words {
        let chunk = &data[word.start as usize..(word.start + word.len) as usize];
        word.start = t.syms.len() as u32;
        t.syms.extend(chunk.iter().map(|&b| Sym::from(b)));
        for p in chunk.windows(2) {
            let bp = (usize::from(p[0]) << 8) | usize::from(p[1]);
            let mut id = byte_pair[bp];
            if id == NONE {
                id = t.new_pair(Sym::from(p[0]), Sym::from(p[1]));
                byte_pair[bp] = id;
            }
            t.counts[id as usize] += word.count;
            t.pids.push(id);
        }
        // Keeps `pids` aligned with `syms`; the last slot of a word is never read.
        t.pids.push(NONE);
    }
    t.words = words;
    t.initial_lists();
    drop(byte_pair);

    let min_count = min_count.max(1);
    let mut heap: BinaryHeap<u128> = t
        .counts
        .iter()
        .zip(&t.keys)
        .enumerate()
        .filter(|&(_, (&c, _))| c >= min_count)
        .map(|(id, (&c, &k))| entry(c, k, id as u32))
        .collect();

    let mut unigram = vec![0u64; 256];
    for &b in data {
        unigram[usize::from(b)] += 1;
    }
    let mut n_total = data.len() as u64;
    #[cfg(test)]
    peak::note(t.peak_bytes() + heap.capacity() * 16 * 3 / 2);
    while merges.len() < max_merges {
        let Some(top) = heap.pop() else {
            break;
        };
        let (count, pk, id) = ((top >> 64) as u64, !((top >> 32) as u32), top as u32);
        let current = t.counts[id as usize];
        if current != count {
            if current >= min_count {
                heap.push(entry(current, pk, id));
            }
            continue;
        }
        if count < min_count {
            break;
        }
        let (a, b) = ((pk >> 16) as Sym, pk as Sym);
        // Skip pairs that are not much more frequent than chance: on random or already
        // compressed data such merges only cost vocabulary bits.
        if !significant(
            count,
            unigram[usize::from(a)],
            unigram[usize::from(b)],
            n_total,
        ) {
            t.lists[id as usize].1 = 0;
            continue;
        }
        let n = (256 + merges.len()) as Sym;
        merges.push((Token::from(a), Token::from(b)));
        let first_new = t.counts.len() as u32;
        let (ls, ll) = t.lists[id as usize];
        let mut merged = 0;
        for k in ls..ls + ll {
            let w = t.pool[k as usize];
            merged += t.merge_word(w, a, b, n);
        }
        unigram[usize::from(a)] -= merged;
        unigram[usize::from(b)] -= merged;
        unigram.push(merged);
        n_total -= merged;
        t.counts[id as usize] = 0;
        t.lists[id as usize].1 = 0;
        t.flush_lists(first_new);
        for new in first_new..t.counts.len() as u32 {
            let k = t.keys[new as usize];
            let (x, y) = (k >> 16, k & 0xFFFF);
            if y == u32::from(n) {
                t.left_new[x as usize] = NONE;
            } else {
                t.right_new[y as usize] = NONE;
            }
            let c = t.counts[new as usize];
            if c >= min_count {
                heap.push(entry(c, k, new));
            }
        }
        #[cfg(test)]
        peak::note(t.peak_bytes() + heap.capacity() * 16 * 3 / 2);
    }
    merges
}

/// Test-only accounting of the largest set of live training structures.
#[cfg(test)]
pub(super) mod peak {
    use std::cell::Cell;

    thread_local! {
        static PEAK: Cell<usize> = const { Cell::new(0) };
    }

    /// Records that `bytes` are allocated at once now.
    pub(in crate::tokenizer) fn note(bytes: usize) {
        PEAK.with(|p| p.set(p.get().max(bytes)));
    }

    /// The largest `note` since the last `take` (on this thread), and resets it.
    pub(in crate::tokenizer) fn take() -> usize {
        PEAK.with(|p| p.replace(0))
    }
}
