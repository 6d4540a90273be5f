//! The baseline model: adaptive token frequencies.

use super::TokenModel;
use crate::coder::{Distribution, EntropyCoder};
use crate::error::{Result, corrupt};
use crate::tokenizer::{Token, Vocab};

/// Order-0 adaptive frequencies in a Fenwick tree.
pub(crate) struct BaselineModel {
    tree: Vec<u32>,
    freq: Vec<u32>,
    total: u32,
    size_pow2: usize,
}

const INCREMENT: u32 = 24;
const LIMIT: u32 = 1 << 22;

impl BaselineModel {
    pub(crate) fn new(params: &[u32], vocab: &Vocab) -> Result<Self> {
        let vocab_len = vocab.len();
        if !params.is_empty() {
            return Err(corrupt("baseline model takes no parameters"));
        }
        let mut m = BaselineModel {
            tree: vec![0; vocab_len + 1],
            freq: vec![0; vocab_len],
            total: 0,
            size_pow2: vocab_len.next_power_of_two(),
        };
        for t in 0..vocab_len {
            m.add(t, 1);
        }
        Ok(m)
    }

    pub(crate) fn params() -> Vec<u32> {
        Vec::new()
    }

    fn add(&mut self, t: usize, delta: u32) {
        self.freq[t] += delta;
        self.total += delta;
        let mut i = t + 1;
        while i < self.tree.len() {
            self.tree[i] += delta;
            i += i & i.wrapping_neg();
        }
    }

    fn rescale(&mut self) {
        let n = self.freq.len();
        self.tree.iter_mut().for_each(|x| *x = 0);
        let old = std::mem::take(&mut self.freq);
        self.freq = vec![0; n];
        self.total = 0;
        for (t, f) in old.into_iter().enumerate() {
            self.add(t, f.div_ceil(2));
        }
    }
}

impl Distribution for BaselineModel {
    fn total(&self) -> u32 {
        self.total
    }
    fn interval(&self, symbol: u32) -> (u32, u32) {
        let mut i = symbol as usize;
        let mut cum = 0;
        while i > 0 {
            cum += self.tree[i];
            i &= i - 1;
        }
        (cum, self.freq[symbol as usize])
    }
    fn find(&self, target: u32) -> (u32, u32, u32) {
        let mut pos = 0usize;
        let mut rem = target;
        let mut step = self.size_pow2;
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() && self.tree[next] <= rem {
                pos = next;
                rem -= self.tree[next];
            }
            step >>= 1;
        }
        (pos as u32, target - rem, self.freq[pos])
    }
}

impl TokenModel for BaselineModel {
    fn code<C: EntropyCoder>(&mut self, coder: &mut C, token: Token) -> Result<Token> {
        let t = coder.code_symbol(token, &*self)?;
        self.add(t as usize, INCREMENT);
        if self.total > LIMIT {
            self.rescale();
        }
        Ok(t)
    }
}
