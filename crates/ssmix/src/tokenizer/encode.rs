//! Encoding: BPE by merge rank, once per unique chunk.
//!
//! The input is cut into the same chunks as in training. Each distinct chunk is
//! tokenized once (the lowest-ranked adjacent pair is merged until none is left) and its
//! tokens are cached, so on text the work is dominated by one hash lookup per chunk.

use std::borrow::Cow;

use super::hash::FxMap;
use super::{Merge, Token, Vocab, pretok};

const NO_RANK: u32 = u32::MAX;

struct Encoder<'a> {
    /// Pair key -> (rank, result).
    ranks: FxMap<u64, (u32, Token)>,
    /// Chunk -> its tokens, as a range of `store`.
    cache: FxMap<&'a [u8], (u32, u32)>,
    store: Vec<Token>,
    work: Vec<Token>,
    work_ranks: Vec<u32>,
}

impl Encoder<'_> {
    #[inline]
    fn rank(&self, a: Token, b: Token) -> (u32, Token) {
        self.ranks
            .get(&((u64::from(a) << 32) | u64::from(b)))
            .copied()
            .unwrap_or((NO_RANK, 0))
    }

    /// Tokenizes one chunk into `self.work`.
    fn bpe(&mut self, chunk: &[u8]) {
        let mut w = std::mem::take(&mut self.work);
        let mut r = std::mem::take(&mut self.work_ranks);
        w.clear();
        w.extend(chunk.iter().map(|&b| Token::from(b)));
        r.clear();
        r.extend(w.windows(2).map(|p| self.rank(p[0], p[1]).0));
        loop {
            // Leftmost lowest rank: the same result as training's left-to-right merge.
            let mut best = NO_RANK;
            let mut at = 0;
            for (i, &x) in r.iter().enumerate() {
                if x < best {
                    best = x;
                    at = i;
                }
            }
            if best == NO_RANK {
                break;
            }
            w[at] = self.rank(w[at], w[at + 1]).1;
            w.remove(at + 1);
            r.remove(at);
            if at > 0 {
                r[at - 1] = self.rank(w[at - 1], w[at]).0;
            }
            if at < r.len() {
                r[at] = self.rank(w[at], w[at + 1]).0;
            }
        }
        self.work = w;
        self.work_ranks = r;
    }
}

impl Vocab {
    /// Splits `data` into tokens.
    pub fn encode(&self, data: &[u8]) -> Vec<Token> {
        let mut out = Vec::new();
        self.encode_into(data, &mut out);
        out
    }

    /// Splits `data` into tokens, replacing the contents of `out` (its capacity is
    /// reused).
    pub fn encode_into(&self, data: &[u8], out: &mut Vec<Token>) {
        out.clear();
        let merges: Cow<'_, [Merge]> = match &self.merges {
            Some(m) => Cow::Borrowed(m),
            None => Cow::Owned(self.derive_merges()),
        };
        if merges.is_empty() {
            out.extend(data.iter().map(|&b| Token::from(b)));
            return;
        }
        let mut ranks = FxMap::default();
        ranks.reserve(merges.len());
        for (i, m) in merges.iter().enumerate() {
            let k = (u64::from(m.left) << 32) | u64::from(m.right);
            // Two merges can never share a pair, but keep the first rank if they did.
            ranks.entry(k).or_insert((i as u32, m.result));
        }
        let mut enc = Encoder {
            ranks,
            cache: FxMap::default(),
            store: Vec::new(),
            work: Vec::new(),
            work_ranks: Vec::new(),
        };
        pretok::for_each_chunk(data, |chunk| {
            if chunk.len() == 1 {
                out.push(Token::from(chunk[0]));
                return;
            }
            if let Some(&(s, e)) = enc.cache.get(chunk) {
                out.extend_from_slice(&enc.store[s as usize..e as usize]);
                return;
            }
            enc.bpe(chunk);
            let s = enc.store.len() as u32;
            enc.store.extend_from_slice(&enc.work);
            enc.cache.insert(chunk, (s, enc.store.len() as u32));
            out.extend_from_slice(&enc.work);
        });
    }
}
