//! Entropy coding: an integer-only range coder for binary decisions and for large
//! alphabets.
//!
//! Models never talk to the encoder or the decoder directly: they call the methods of
//! [`EntropyCoder`], which both implement. The encoder codes the symbol it is given and
//! returns it; the decoder ignores that argument and returns the symbol it decoded. So a
//! model runs the *same* code when compressing and decompressing, which is what keeps the
//! two sides in step.

use crate::error::Result;

/// A discrete distribution over symbols `0..n`, given as integer frequencies.
///
/// Every symbol that can occur must have a frequency of at least 1 (the probability
/// floor); the total must fit in a `u32`. The coder keeps at least 2^48 of range, so even a
/// total near 2^32 loses under 2^-16 bit per symbol to rounding.
pub(crate) trait Distribution {
    /// Sum of all frequencies, at least 1.
    fn total(&self) -> u32;
    /// `(cumulative frequency below symbol, frequency of symbol)`, for encoding.
    fn interval(&self, symbol: u32) -> (u32, u32);
    /// The symbol whose interval contains `target` (`target < total()`), with its interval,
    /// as `(symbol, cumulative, frequency)`, for decoding.
    fn find(&self, target: u32) -> (u32, u32, u32);
}

/// Probabilities of binary decisions are 16-bit: `p1` is P(bit = 1) in units of 2^-16,
/// and must lie in `1..=65535`.
pub(crate) const PROB_BITS: u32 = 16;

/// What a model needs from an entropy coder. See the module docs.
pub(crate) trait EntropyCoder {
    /// Codes one binary decision with P(1) = `p1` / 2^16.
    fn code_bit(&mut self, bit: bool, p1: u32) -> Result<bool>;
    /// Codes `symbol` from `dist`.
    fn code_symbol<D: Distribution>(&mut self, symbol: u32, dist: &D) -> Result<u32>;
    /// Codes a value uniformly distributed in `0..n` (`n >= 1`).
    #[cfg_attr(not(test), allow(dead_code))]
    fn code_uniform(&mut self, value: u32, n: u32) -> Result<u32>;
}

#[cfg(test)]
mod proptests;
mod quantize;
mod range;

#[cfg_attr(not(any(test, feature = "internals")), allow(unused_imports))]
pub(crate) use quantize::QuantizedCdf;
#[cfg(test)]
pub(crate) use range::CumulativeTable;
pub(crate) use range::{RangeDecoder, RangeEncoder};
