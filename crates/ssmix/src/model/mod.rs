//! Token models: they predict the next token and learn from it.
//!
//! A model sees the tokens of one block in order. For each token it builds a prediction
//! from what it has seen, codes the token through an [`EntropyCoder`], and then updates
//! itself with the token. Because the encoder and the decoder call the same
//! [`TokenModel::code`], they make the same predictions in the same order.

use crate::coder::EntropyCoder;
use crate::error::{Error, Result};
use crate::tokenizer::{Digits, Token, Vocab};

/// A model of a token sequence.
pub(crate) trait TokenModel {
    /// Predicts the next token, codes `token` with that prediction (when decoding
    /// `token` is ignored and the decoded token is returned), then learns from it.
    fn code<C: EntropyCoder>(&mut self, coder: &mut C, token: Token) -> Result<Token>;
}

/// Which model family a frame uses. The numeric values are written into frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ModelKind {
    /// PPM over tokens with SEE escapes (see `baseline`, FORMAT.md §7.1).
    Baseline = 1,
    /// The StateSMix reproduction (see `paper`).
    Paper = 2,
    /// Binary decomposition of tokens with logistic mixing (see `mix`, FORMAT.md §7.6).
    Mix = 3,
}

impl ModelKind {
    pub(crate) fn from_u8(v: u8) -> Result<Self> {
        match v {
            1 => Ok(ModelKind::Baseline),
            2 => Ok(ModelKind::Paper),
            3 => Ok(ModelKind::Mix),
            _ => Err(Error::Corrupt("unknown model kind")),
        }
    }
}

/// Everything the decoder needs to rebuild the model of a frame, written in the header.
///
/// `params` is the model's own ordered list of integer settings; each model family
/// validates its list when a frame is read (see `docs/FORMAT.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ModelConfig {
    pub(crate) kind: ModelKind,
    pub(crate) params: Vec<u32>,
}

impl ModelConfig {
    /// Checks the parameters when a frame header is read, so that a bad header is
    /// refused before any block is decoded (and before memory is estimated from it).
    pub(crate) fn validate(&self) -> Result<()> {
        match self.kind {
            ModelKind::Baseline => baseline::BaselineParams::from_list(&self.params).map(|_| ()),
            ModelKind::Mix => mix::MixParams::from_list(&self.params).map(|_| ()),
            ModelKind::Paper => paper::PaperParams::from_list(&self.params).map(|_| ()),
        }
    }
}

impl ModelConfig {
    /// The settings an encoder uses for content of `size` bytes (an encoder choice, not
    /// part of the format: the result is stored in the header like any other setting).
    /// See `mix::for_content_size`: small content leaves out the SSM input and takes
    /// level 2's settings at level 1.
    pub(crate) fn for_content_size(&self, size: u64) -> ModelConfig {
        match self.kind {
            ModelKind::Mix => ModelConfig {
                kind: self.kind,
                params: mix::for_content_size(&self.params, size),
            },
            _ => self.clone(),
        }
    }

    /// The vocabulary budget the encoder uses for a block of `len` bytes. Not part of
    /// the format (the vocabulary is stored in each block); the mixing model codes a
    /// token bit by bit and does better with smaller vocabularies.
    pub(crate) fn vocab_budget(&self, len: usize) -> usize {
        let budget = crate::tokenizer::vocab_budget(len);
        match self.kind {
            ModelKind::Baseline => budget,
            ModelKind::Mix => budget.min(mix::vocab_budget(len, &self.params)),
            ModelKind::Paper => paper::PaperParams::from_list(&self.params)
                .map_or(budget, |p| budget.min(p.vocab_cap as usize)),
        }
    }

    /// How the encoder's tokenizer cuts digits (not part of the format either). The
    /// mixing model predicts numbers better digit by digit; see `mix::DIGITS`.
    pub(crate) fn digits(&self) -> Digits {
        match self.kind {
            ModelKind::Mix => mix::DIGITS,
            ModelKind::Baseline | ModelKind::Paper => Digits::Runs,
        }
    }

    /// The vocabulary the encoder learns for a block `data` of this model: its budget
    /// (`vocab_budget`) and digit cutting (`digits`).
    pub(crate) fn train_vocab(&self, data: &[u8]) -> Vocab {
        Vocab::train_digits(data, self.vocab_budget(data.len()), self.digits())
    }
}

/// The most parameters any model family may store.
pub(crate) const MAX_PARAMS: usize = 64;

pub(crate) mod baseline;
pub(crate) mod mix;
pub(crate) mod paper;
pub(crate) mod ssm;

/// The model configuration for a level and preset: the mixing model (kind 3) for
/// [`crate::Preset::Default`], the PPM baseline (kind 1) for [`crate::Preset::Baseline`],
/// the StateSMix reproduction (kind 2) for the paper presets, which ignore the level (the
/// frame records it all the same).
pub(crate) fn config_for(level: crate::Level, preset: crate::Preset) -> ModelConfig {
    use crate::Preset;
    use paper::{PART_LZ, PART_NGRAM, PART_RECENCY, PART_SSM, PaperParams};
    let paper = |parts| ModelConfig {
        kind: ModelKind::Paper,
        params: PaperParams::reference(parts).to_list(),
    };
    match preset {
        Preset::Default => ModelConfig {
            kind: ModelKind::Mix,
            params: mix::MixParams::for_level(level.get()).to_list(),
        },
        Preset::Baseline => ModelConfig {
            kind: ModelKind::Baseline,
            params: baseline::BaselineModel::params(level),
        },
        Preset::Paper => paper(PART_SSM | PART_NGRAM | PART_LZ | PART_RECENCY),
        Preset::PaperCountsOnly => paper(0),
        Preset::PaperNgrams => paper(PART_NGRAM),
        Preset::PaperSsm => paper(PART_SSM),
    }
}

/// Upper bound on the bytes a model of `config` needs for a block of `block_size`
/// bytes, checked against memory limits before anything is allocated.
pub(crate) fn memory_estimate(config: &ModelConfig, block_size: usize) -> u64 {
    match config.kind {
        // Invalid parameters allocate nothing: `BaselineModel::new` rejects them.
        ModelKind::Baseline => baseline::BaselineParams::from_list(&config.params)
            .map_or(0, |p| p.memory(crate::tokenizer::MAX_VOCAB)),
        ModelKind::Mix => mix::MixParams::from_list(&config.params).map_or(0, |p| {
            p.for_block(block_size).memory(crate::tokenizer::MAX_VOCAB)
        }),
        ModelKind::Paper => {
            paper::PaperParams::from_list(&config.params).map_or(0, |p| p.memory(block_size))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Level, Preset};

    #[test]
    fn small_content_leaves_out_the_ssm_input() {
        let l9 = config_for(Level::new(9).unwrap(), Preset::Default);
        let l5 = config_for(Level::new(5).unwrap(), Preset::Default);
        assert!(
            l9.params.len() > l5.params.len(),
            "level 9 has the SSM input"
        );
        let small = l9.for_content_size(mix::SSM_MIN_CONTENT - 1);
        // The SSM settings go, and with them the tree head's flag: level 8's list.
        let l8 = config_for(Level::new(8).unwrap(), Preset::Default);
        assert_eq!(small.params, l8.params);
        assert!(small.validate().is_ok());
        assert_eq!(l9.for_content_size(mix::SSM_MIN_CONTENT), l9);
        assert_eq!(l5.for_content_size(0), l5);
        let paper = config_for(Level::new(5).unwrap(), Preset::Paper);
        assert_eq!(paper.for_content_size(0), paper);
    }

    #[test]
    fn small_content_at_level_1_takes_level_2_settings() {
        let level = |l| config_for(Level::new(l).unwrap(), Preset::Default);
        let (l1, l2) = (level(1), level(2));
        assert_eq!(l1.for_content_size(0), l2);
        assert_eq!(l1.for_content_size(mix::FAST_MIN_CONTENT - 1), l2);
        assert_eq!(l1.for_content_size(mix::FAST_MIN_CONTENT), l1);
        // Only level 1's own list is replaced: a custom list stays as it is.
        let mut custom = l1.clone();
        custom.params[1] -= 1;
        assert_eq!(custom.for_content_size(0), custom);
        for l in 2..=8 {
            assert_eq!(level(l).for_content_size(0), level(l));
        }
    }
}
