//! Byte-level BPE training, incremental rather than the textbook quadratic loop.
//!
//! 1. The input is cut into chunks ([`super::pretok`]) and identical chunks are counted
//!    once: a "word" is a unique chunk with its count, stored as a run of token ids in
//!    one flat array.
//! 2. Every adjacent pair gets an id, a weighted count and a list of the words that
//!    contain it (appended to, never cleaned eagerly; duplicates and stale entries are
//!    dropped when the list is used).
//! 3. A max-heap of `(count, pair)` with lazy invalidation picks the best pair: counts
//!    only ever fall for existing pairs, so a popped entry whose count is out of date is
//!    pushed back with the current count.
//! 4. A merge rewrites only the words on the pair's list, adjusting the counts of the
//!    neighbouring pairs by the word's count, and pushes the new pairs it created.
//!
//! 5. A pair is merged only if it is far more frequent than chance given its tokens'
//!    own counts (a z-test in integers, [`significant`]); otherwise it is dropped for
//!    good. So random or already compressed data learns no tokens at all.
//!
//! Ties are broken by the smaller pair key, so the result never depends on hash order.
//! Every word list entry comes from one pair creation and words are at most
//! [`pretok::MAX_CHUNK`] long, so the total work is linear in the input.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::Token;
use super::hash::FxMap;
use super::pretok;

/// A unique chunk: its tokens are `syms[start..start + len]`.
struct Word {
    start: u32,
    len: u32,
    count: u64,
}

struct Pair {
    key: u64,
    count: u64,
    /// Words that contained this pair when it was created or counted.
    words: Vec<u32>,
}

#[inline]
fn key(a: Token, b: Token) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

struct Trainer {
    syms: Vec<Token>,
    words: Vec<Word>,
    ids: FxMap<u64, u32>,
    pairs: Vec<Pair>,
    /// Pairs whose count rose during the current merge (all contain the new token).
    touched: Vec<u32>,
}

impl Trainer {
    #[inline]
    fn add(&mut self, a: Token, b: Token, w: u32, count: u64) {
        let k = key(a, b);
        let next_id = self.pairs.len() as u32;
        let id = *self.ids.entry(k).or_insert(next_id);
        if id == next_id {
            self.pairs.push(Pair {
                key: k,
                count: 0,
                words: Vec::new(),
            });
        }
        let p = &mut self.pairs[id as usize];
        p.count += count;
        if p.words.last() != Some(&w) {
            p.words.push(w);
        }
        self.touched.push(id);
    }

    #[inline]
    fn sub(&mut self, a: Token, b: Token, count: u64) {
        if let Some(&id) = self.ids.get(&key(a, b)) {
            let p = &mut self.pairs[id as usize];
            debug_assert!(p.count >= count);
            p.count = p.count.saturating_sub(count);
        }
    }

    /// Replaces every `a b` in word `w` with `n`, left to right, updating pair counts.
    /// Returns the number of replacements times the word's count (less than the pair's
    /// count for runs like `a a a`, whose two overlapping pairs make one merge).
    fn merge_word(&mut self, w: u32, a: Token, b: Token, n: Token) -> u64 {
        let Word { start, len, count } = self.words[w as usize];
        let (start, len) = (start as usize, len as usize);
        let mut out = 0;
        let mut i = 0;
        let mut merged = 0;
        while i < len {
            let s = self.syms[start + i];
            if s == a && i + 1 < len && self.syms[start + i + 1] == b {
                // `out - 1` already holds the rewritten left neighbour, so runs like
                // `a b a b` and `a a a` are counted right.
                if out > 0 {
                    let prev = self.syms[start + out - 1];
                    self.sub(prev, a, count);
                    self.add(prev, n, w, count);
                }
                if i + 2 < len {
                    let next = self.syms[start + i + 2];
                    self.sub(b, next, count);
                    self.add(n, next, w, count);
                }
                self.syms[start + out] = n;
                merged += count;
                i += 2;
            } else {
                self.syms[start + out] = s;
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
pub(super) fn learn_merges(data: &[u8], max_merges: usize, min_count: u64) -> Vec<(Token, Token)> {
    let mut merges = Vec::new();
    if max_merges == 0 || data.len() < 2 {
        return merges;
    }
    let mut counts: FxMap<&[u8], u32> = FxMap::default();
    pretok::for_each_chunk(data, |c| {
        if c.len() >= 2 {
            *counts.entry(c).or_insert(0) += 1;
        }
    });
    let mut uniq: Vec<(&[u8], u32)> = counts.into_iter().collect();
    // Sorted, so word ids (and so everything after) do not depend on hash order.
    uniq.sort_unstable_by(|x, y| x.0.cmp(y.0));

    let total: usize = uniq.iter().map(|(c, _)| c.len()).sum();
    let mut t = Trainer {
        syms: Vec::with_capacity(total),
        words: Vec::with_capacity(uniq.len()),
        ids: FxMap::default(),
        pairs: Vec::new(),
        touched: Vec::new(),
    };
    for (chunk, count) in &uniq {
        let start = t.syms.len() as u32;
        t.syms.extend(chunk.iter().map(|&b| Token::from(b)));
        t.words.push(Word {
            start,
            len: chunk.len() as u32,
            count: u64::from(*count),
        });
    }
    drop(uniq);
    for w in 0..t.words.len() {
        let Word { start, len, count } = t.words[w];
        for i in start..start + len - 1 {
            let (a, b) = (t.syms[i as usize], t.syms[i as usize + 1]);
            t.add(a, b, w as u32, count);
        }
    }
    t.touched.clear();
    let mut heap: BinaryHeap<(u64, Reverse<u64>, u32)> = t
        .pairs
        .iter()
        .enumerate()
        .map(|(id, p)| (p.count, Reverse(p.key), id as u32))
        .collect();

    let mut unigram = vec![0u64; 256];
    for &b in data {
        unigram[usize::from(b)] += 1;
    }
    let mut n_total = data.len() as u64;
    let min_count = min_count.max(1);
    let mut words = Vec::new();
    while merges.len() < max_merges {
        let Some((count, Reverse(pk), id)) = heap.pop() else {
            break;
        };
        let current = t.pairs[id as usize].count;
        if current != count {
            if current > 0 {
                heap.push((current, Reverse(pk), id));
            }
            continue;
        }
        if count < min_count {
            break;
        }
        let (a, b) = ((pk >> 32) as Token, pk as Token);
        // Skip pairs that are not much more frequent than chance: on random or already
        // compressed data such merges only cost vocabulary bits.
        if !significant(count, unigram[a as usize], unigram[b as usize], n_total) {
            t.pairs[id as usize].words = Vec::new();
            continue;
        }
        let n = (256 + merges.len()) as Token;
        merges.push((a, b));
        words.clear();
        words.append(&mut t.pairs[id as usize].words);
        words.sort_unstable();
        words.dedup();
        let mut merged = 0;
        for &w in &words {
            merged += t.merge_word(w, a, b, n);
        }
        unigram[a as usize] -= merged;
        unigram[b as usize] -= merged;
        unigram.push(merged);
        n_total -= merged;
        let p = &mut t.pairs[id as usize];
        p.count = 0;
        p.words = Vec::new();
        let mut touched = std::mem::take(&mut t.touched);
        touched.sort_unstable();
        touched.dedup();
        for &tid in &touched {
            let p = &t.pairs[tid as usize];
            if p.count > 0 {
                heap.push((p.count, Reverse(p.key), tid));
            }
        }
        touched.clear();
        t.touched = touched;
    }
    merges
}
