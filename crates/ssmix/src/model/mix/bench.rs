//! Thin wrappers around the mixing model's building blocks (`tables.rs`) and a whole
//! `MixModel`, for the criterion benches (`internals` feature, re-exported by
//! `crate::internals`). Each call forwards to the real code, so the benches measure it.

use super::tables::{Apm, Counter, Logistic, Mixer, States};
use super::{MixModel, MixParams};
use crate::coder::RangeEncoder;
use crate::error::Result;
use crate::model::TokenModel;
use crate::tokenizer::{Token, Vocab};

/// The logistic tables (`squash` / `stretch`).
pub struct MixLogistic(Logistic);

impl Default for MixLogistic {
    fn default() -> Self {
        Self::new()
    }
}

impl MixLogistic {
    /// Builds the tables.
    pub fn new() -> Self {
        MixLogistic(Logistic::new())
    }

    /// 12-bit probability of the logit `x`.
    #[inline]
    pub fn squash(&self, x: i32) -> i32 {
        self.0.squash(x)
    }

    /// Logit of the 12-bit probability `p`.
    #[inline]
    pub fn stretch(&self, p: u32) -> i32 {
        self.0.stretch(p)
    }
}

/// The bit-history state machine.
pub struct MixStates(States);

impl Default for MixStates {
    fn default() -> Self {
        Self::new()
    }
}

impl MixStates {
    /// Builds the state table.
    pub fn new() -> Self {
        MixStates(States::new())
    }

    /// The successor of state `s` after `bit`.
    #[inline]
    pub fn next(&self, s: u8, bit: bool) -> u8 {
        self.0.next(s, bit)
    }
}

/// An adaptive probability counter.
pub struct MixCounter {
    c: Counter,
}

impl Default for MixCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl MixCounter {
    /// A counter at P(1) = 1/2.
    pub fn new() -> Self {
        MixCounter { c: Counter::HALF }
    }

    /// Learns `bit` (count limit `limit`, at most 1023).
    #[inline]
    pub fn update(&mut self, bit: bool, limit: u32) {
        self.c.update(bit, limit);
    }

    /// The 12-bit probability of a 1.
    #[inline]
    pub fn p(&self) -> u32 {
        self.c.p()
    }
}

/// An adaptive probability map (secondary estimation) with its own logistic tables.
pub struct MixApm {
    apm: Apm,
}

impl MixApm {
    /// `contexts` rows adapting at rate `2^-rate`; `interp`: updates move both
    /// interpolated bins (format `flags` bit 4).
    pub fn new(contexts: usize, rate: u32, interp: bool) -> Self {
        MixApm {
            apm: Apm::new(contexts, rate, interp, 7, &Logistic::new()),
        }
    }

    /// The refined probability of logit `st` in context `ctx` (`< contexts`).
    #[inline]
    pub fn refine(&mut self, st: i32, ctx: usize) -> i32 {
        self.apm.refine(st, ctx)
    }

    /// Learns `bit` for the bin chosen by the last `refine`.
    #[inline]
    pub fn update(&mut self, bit: bool) {
        self.apm.update(bit);
    }
}

/// A logistic mixer with its logistic tables.
pub struct MixMixer {
    m: Mixer,
    lg: Logistic,
}

impl MixMixer {
    /// `n` inputs, `contexts` weight sets, learning rate `lr`, initial weight `init`.
    pub fn new(n: usize, contexts: usize, lr: u32, init: i32) -> Self {
        MixMixer {
            m: Mixer::new(n, contexts, lr, init),
            lg: Logistic::new(),
        }
    }

    /// Mixes `inputs` (stretched probabilities, `n` of them) with weight set `ctx`.
    #[inline]
    pub fn mix(&mut self, inputs: &[i32], ctx: usize) -> i32 {
        self.m.mix(inputs, ctx, &self.lg)
    }

    /// Trains the weights of the last `mix` on `bit` with learning rate `lr`.
    #[inline]
    pub fn update_rate(&mut self, inputs: &[i32], bit: bool, lr: i64) {
        self.m.update_rate(inputs, bit, lr);
    }
}

/// One block as the default preset codes it: the level's mixing-model settings, the
/// vocabulary learned from the block and its tokens.
pub struct MixBlock {
    params: Vec<u32>,
    vocab: Vocab,
    tokens: Vec<Token>,
    raw_len: usize,
}

impl MixBlock {
    /// Tokenises `data` as a level-`level` block would be (same vocabulary budget).
    pub fn new(data: &[u8], level: u8) -> Self {
        let config = crate::model::ModelConfig {
            kind: crate::model::ModelKind::Mix,
            params: MixParams::for_level(level).to_list(),
        };
        let params = super::for_content_size(&config.params, data.len() as u64);
        let vocab = config.train_vocab(data);
        let tokens = vocab.encode(data);
        MixBlock {
            params,
            vocab,
            tokens,
            raw_len: data.len(),
        }
    }

    /// Number of tokens.
    pub fn tokens(&self) -> usize {
        self.tokens.len()
    }

    /// Vocabulary size.
    pub fn vocab_len(&self) -> usize {
        self.vocab.len()
    }

    /// A fresh model for this block.
    pub fn model(&self) -> Result<MixCoder> {
        Ok(MixCoder(Box::new(MixModel::new(
            &self.params,
            &self.vocab,
            self.raw_len,
        )?)))
    }

    /// Codes every token with `model` (fresh from [`MixBlock::model`]) and a range
    /// encoder; returns the coded size in bytes.
    pub fn code(&self, model: &mut MixCoder) -> Result<usize> {
        let mut enc = RangeEncoder::new();
        for &t in &self.tokens {
            model.0.code(&mut enc, t)?;
        }
        Ok(enc.finish().len())
    }
}

/// A mixing model made by [`MixBlock::model`].
pub struct MixCoder(Box<MixModel>);
