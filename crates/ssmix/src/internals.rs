//! Internal building blocks for the examples, benches and fuzz targets, behind the
//! `internals` feature. Not part of the stable API: anything here may change.

use crate::coder::{self, EntropyCoder};
use crate::error::Result;
use crate::tokenizer::Vocab;

/// Learns a vocabulary of at most `max_tokens` tokens from `data` and splits `data`
/// with it. Returns the vocabulary size and the tokens.
pub fn tokenize(data: &[u8], max_tokens: usize) -> (usize, Vec<u32>) {
    let vocab = Vocab::train(data, max_tokens);
    let tokens = vocab.encode(data);
    (vocab.len(), tokens)
}

/// Integer frequencies quantised from float probabilities (see `coder::quantize`).
#[derive(Clone, Debug, Default)]
pub struct QuantizedCdf(coder::QuantizedCdf);

impl QuantizedCdf {
    /// An empty table.
    pub fn new() -> Self {
        QuantizedCdf(coder::QuantizedCdf::new())
    }

    /// Quantises `probs` to frequencies summing to `total`, each at least 1.
    pub fn quantize(&mut self, probs: &[f32], total: u32) {
        self.0.quantize(probs, total);
    }

    /// The frequency of `symbol`.
    pub fn freq(&self, symbol: u32) -> u32 {
        self.0.freq(symbol)
    }

    /// The sum of all frequencies.
    pub fn total(&self) -> u32 {
        coder::Distribution::total(&self.0)
    }
}

/// The range encoder.
#[derive(Default)]
pub struct RangeEncoder(coder::RangeEncoder);

impl RangeEncoder {
    /// An encoder with empty output.
    pub fn new() -> Self {
        Self::default()
    }

    /// Codes `symbol` with the frequencies of `cdf`.
    pub fn encode(&mut self, symbol: u32, cdf: &QuantizedCdf) -> Result<()> {
        self.0.code_symbol(symbol, &cdf.0).map(drop)
    }

    /// Flushes and returns the coded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.0.finish()
    }
}

/// The range decoder.
pub struct RangeDecoder<'a>(coder::RangeDecoder<'a>);

impl<'a> RangeDecoder<'a> {
    /// A decoder reading `input`.
    pub fn new(input: &'a [u8]) -> Self {
        RangeDecoder(coder::RangeDecoder::new(input))
    }

    /// Decodes a symbol coded with the frequencies of `cdf`.
    pub fn decode(&mut self, cdf: &QuantizedCdf) -> Result<u32> {
        self.0.code_symbol(0, &cdf.0)
    }
}
