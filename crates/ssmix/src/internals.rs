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

    /// Codes `bit` with P(1) = `p1` / 2^16 (`p1` in 1..65536).
    pub fn code_bit(&mut self, bit: bool, p1: u32) -> Result<bool> {
        self.0.code_bit(bit, p1)
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

    /// Decodes a bit coded with P(1) = `p1` / 2^16.
    pub fn decode_bit(&mut self, p1: u32) -> Result<bool> {
        self.0.code_bit(false, p1)
    }
}

/// The payload of one modeled block (vocabulary, token count, coded tokens) made with
/// the model family `kind` (as in the frame header) and its `params`; for measuring
/// models that no level selects yet.
pub fn block_payload(data: &[u8], kind: u8, params: &[u32]) -> Result<Vec<u8>> {
    let config = crate::model::ModelConfig {
        kind: crate::model::ModelKind::from_u8(kind)?,
        params: params.to_vec(),
    };
    config.validate()?;
    crate::container::block::model_block(data, &config)
}

/// Decodes a payload made by [`block_payload`] for content of `raw_len` bytes.
pub fn block_decode(payload: &[u8], raw_len: usize, kind: u8, params: &[u32]) -> Result<Vec<u8>> {
    let config = crate::model::ModelConfig {
        kind: crate::model::ModelKind::from_u8(kind)?,
        params: params.to_vec(),
    };
    config.validate()?;
    let mut out = Vec::with_capacity(raw_len);
    crate::container::block::read_modeled(
        payload,
        raw_len,
        &config,
        crate::FORMAT_VERSION,
        &mut out,
    )?;
    Ok(out)
}

/// The default parameters of model family `kind` at `level` (1..=9).
pub fn level_params(kind: u8, level: u8) -> Result<Vec<u32>> {
    Ok(match crate::model::ModelKind::from_u8(kind)? {
        crate::model::ModelKind::Baseline => {
            crate::model::baseline::BaselineParams::for_level(level).to_list()
        }
        crate::model::ModelKind::Mix => crate::model::mix::MixParams::for_level(level).to_list(),
        crate::model::ModelKind::Paper => crate::model::paper::PaperParams::reference(
            crate::model::paper::PART_SSM
                | crate::model::paper::PART_NGRAM
                | crate::model::paper::PART_LZ
                | crate::model::paper::PART_RECENCY,
        )
        .to_list(),
    })
}

/// Changes to a paper preset's model settings, for experiments (the presets' own values
/// are the defaults, `None`).
#[derive(Clone, Debug, Default)]
pub struct PaperTweaks {
    /// Cap on the learned vocabulary.
    pub vocab_cap: Option<u32>,
    /// log2 of the CDF total: 24, or 16 for the reference's rounding rule.
    pub cdf_log: Option<u32>,
    /// SSM gradients: `Some(true)` truncated BPTT through each chunk (the presets'
    /// default), `Some(false)` per-token-detached as the reference code.
    pub bptt: Option<bool>,
    /// `H0` of the entropy scale (presets 3.2, reference code 5.5).
    pub scale_h0: Option<f32>,
    /// The SSM's Adam learning rate (reference 0.002).
    pub lr: Option<f32>,
}

/// Compresses `data` with the model of `options` (a paper preset) changed by `tweaks`.
/// The output is a normal frame: [`crate::decompress`] reads it.
pub fn compress_paper(
    data: &[u8],
    options: &crate::Options,
    tweaks: &PaperTweaks,
) -> Result<Vec<u8>> {
    use crate::model::{self, ModelKind, paper::PaperParams};
    use std::io::Write;
    let mut config = model::config_for(options.get_level(), options.get_preset());
    if config.kind != ModelKind::Paper {
        return Err(crate::Error::InvalidOption(
            "paper tweaks need a paper preset".into(),
        ));
    }
    let mut p = PaperParams::from_list(&config.params)?;
    if let Some(v) = tweaks.vocab_cap {
        p.vocab_cap = v;
    }
    if let Some(c) = tweaks.cdf_log {
        p.cdf_log = c;
    }
    if let Some(bptt) = tweaks.bptt {
        p.ssm.grad_mode = if bptt {
            crate::model::ssm::GradMode::Bptt
        } else {
            crate::model::ssm::GradMode::Detached
        };
    }
    if let Some(h0) = tweaks.scale_h0 {
        p.scale_h0 = h0;
    }
    if let Some(lr) = tweaks.lr {
        p.ssm.lr = lr;
    }
    config.params = p.to_list();
    PaperParams::from_list(&config.params)
        .map_err(|_| crate::Error::InvalidOption("paper tweak out of range".into()))?;
    let mut enc = crate::Encoder::with_model(Vec::new(), options, config)?;
    enc.set_content_size(data.len() as u64)?;
    enc.write_all(data)?;
    enc.finish()
}

/// The paper preset's SSM (reference configuration) with entry points per stage, for the
/// criterion benches. Each call runs one stage on the model's own buffers.
pub struct SsmStages(crate::model::ssm::Ssm);

impl SsmStages {
    /// A fresh model for a vocabulary of `vocab_len` tokens; `bptt` selects truncated BPTT.
    pub fn new(vocab_len: usize, bptt: bool) -> Self {
        let mut cfg = crate::model::ssm::SsmConfig::reference();
        if bptt {
            cfg.grad_mode = crate::model::ssm::GradMode::Bptt;
        }
        SsmStages(crate::model::ssm::Ssm::new(cfg, vocab_len))
    }

    /// A fresh model of the reference shape but with `d_model`, `n_layers` (and
    /// `grad_mode` from `bptt`) changed, for a vocabulary of `vocab_len` tokens.
    pub fn with_dims(d_model: usize, n_layers: usize, vocab_len: usize, bptt: bool) -> Self {
        let mut cfg = crate::model::ssm::SsmConfig::reference();
        cfg.d_model = d_model;
        cfg.n_layers = n_layers;
        if bptt {
            cfg.grad_mode = crate::model::ssm::GradMode::Bptt;
        }
        SsmStages(crate::model::ssm::Ssm::new(cfg, vocab_len))
    }

    /// Tokens per training chunk.
    pub fn chunk_len(&self) -> usize {
        self.0.config().chunk
    }

    /// The complete online step (`observe`: inference, and training every chunk).
    pub fn observe(&mut self, token: u32) {
        self.0.observe(token);
    }

    /// The layers of one inference step.
    pub fn layers(&mut self, token: u32) {
        self.0.bench_layers(token);
    }

    /// The head of one inference step.
    pub fn head(&mut self) {
        self.0.bench_head();
    }

    /// One softmax over the vocabulary.
    pub fn softmax(&mut self) {
        self.0.bench_softmax();
    }

    /// Makes `tokens` (exactly [`SsmStages::chunk_len`]) the chunk to train on.
    pub fn load_chunk(&mut self, tokens: &[u32]) {
        self.0.bench_load_chunk(tokens);
    }

    /// One training forward pass over the loaded chunk.
    pub fn train_forward(&mut self) {
        self.0.bench_train_forward();
    }

    /// One training backward pass over the loaded chunk.
    pub fn train_backward(&mut self) {
        self.0.bench_train_backward();
    }

    /// Gradient clip and one Adam step over all parameters.
    pub fn adam(&mut self) {
        self.0.bench_adam();
    }
}

/// Codes `tokens` (each `< vocab_len`) with a fresh paper model whose components are the
/// `parts` bits (1 SSM, 2 n-grams, 4 LZ pairs, 8 recency; the count prior is always on)
/// and returns the coded size in bytes.
pub fn paper_code(parts: u32, vocab_len: usize, tokens: &[u32]) -> Result<usize> {
    use crate::model::TokenModel;
    let params = crate::model::paper::PaperParams::reference(parts).to_list();
    let mut m = crate::model::paper::PaperModel::with_vocab_size(&params, vocab_len)?;
    let mut enc = coder::RangeEncoder::new();
    for &t in tokens {
        m.code(&mut enc, t)?;
    }
    Ok(enc.finish().len())
}

pub use crate::model::mix::bench::{
    MixApm, MixBlock, MixCoder, MixCounter, MixLogistic, MixMixer, MixStates,
};

/// The scalars of one Adam step (see the kernels' documentation).
#[derive(Clone, Copy, Debug)]
pub struct AdamScalars(crate::kernels::AdamScalars);

impl AdamScalars {
    /// Scalars for step `t` from `β1^t` and `β2^t`.
    pub fn new(
        lr: f32,
        beta1: f32,
        beta2: f32,
        eps: f32,
        beta1_pow_t: f32,
        beta2_pow_t: f32,
    ) -> Self {
        AdamScalars(crate::kernels::AdamScalars::new(
            lr,
            beta1,
            beta2,
            eps,
            beta1_pow_t,
            beta2_pow_t,
        ))
    }
}

/// Wrappers with the kernels' signatures, one module per implementation.
macro_rules! kernel_wrappers {
    ($imp:ident) => {
        /// `Σ a[i]·b[i]`.
        pub fn dot(a: &[f32], b: &[f32]) -> f32 {
            crate::kernels::$imp::dot(a, b)
        }
        /// `y = W·x` for the row-major `y.len() × cols` matrix `w`.
        pub fn matvec(w: &[f32], cols: usize, x: &[f32], y: &mut [f32]) {
            crate::kernels::$imp::matvec(w, cols, x, y)
        }
        /// [`matvec`] for a batch of inputs.
        pub fn matvec_batch(w: &[f32], cols: usize, xs: &[f32], ys: &mut [f32]) {
            crate::kernels::$imp::matvec_batch(w, cols, xs, ys)
        }
        /// `dx += Wᵀ·g`.
        pub fn matvec_t_accumulate(w: &[f32], cols: usize, g: &[f32], dx: &mut [f32]) {
            crate::kernels::$imp::matvec_t_accumulate(w, cols, g, dx)
        }
        /// `dx = Wᵀ·g` for a batch.
        pub fn matvec_t_batch(w: &[f32], cols: usize, gs: &[f32], dxs: &mut [f32]) {
            crate::kernels::$imp::matvec_t_batch(w, cols, gs, dxs)
        }
        /// `dw += g·xᵀ`.
        pub fn outer_accumulate(dw: &mut [f32], g: &[f32], x: &[f32]) {
            crate::kernels::$imp::outer_accumulate(dw, g, x)
        }
        /// Softmax in place.
        pub fn softmax_in_place(v: &mut [f32]) {
            crate::kernels::$imp::softmax_in_place(v)
        }
        /// Softmax of `logits` into `probs`.
        pub fn softmax(logits: &[f32], probs: &mut [f32]) {
            crate::kernels::$imp::softmax(logits, probs)
        }
        /// Entropy in nats.
        pub fn entropy(p: &[f32]) -> f32 {
            crate::kernels::$imp::entropy(p)
        }
        /// One Adam step.
        pub fn adam(
            params: &mut [f32],
            grads: &[f32],
            m: &mut [f32],
            v: &mut [f32],
            s: &super::AdamScalars,
        ) {
            crate::kernels::$imp::adam(params, grads, m, v, &s.0)
        }
        /// `Σ x[i]²`.
        pub fn sum_squares(x: &[f32]) -> f32 {
            crate::kernels::$imp::sum_squares(x)
        }
        /// `y += a·x`.
        pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
            crate::kernels::$imp::axpy(a, x, y)
        }
        /// `x *= a`.
        pub fn scale(a: f32, x: &mut [f32]) {
            crate::kernels::$imp::scale(a, x)
        }
    };
}

/// The plain-loop reference kernels.
pub mod scalar_kernels {
    kernel_wrappers!(scalar);
}

/// The `wide` kernels the model uses (bit-identical to [`scalar_kernels`]).
pub mod simd_kernels {
    kernel_wrappers!(simd);
}
