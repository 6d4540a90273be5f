//! The online Mamba-style selective state-space model (StateSMix §4–5, reproducing the
//! released C code where paper and code differ).
//!
//! Per token: embedding → `n_layers` × (pre-norm LayerNorm, in-projection to `[x_s | z]`,
//! causal depthwise convolution with a carried buffer, SiLU, projection to `B, C, dt`,
//! selective scan `h = exp(Δ·A)·h + Δ·B·x`, `y = h·C + D·x`, gate `y·SiLU(z)`,
//! out-projection, residual) → final LayerNorm → head logits over the vocabulary.
//!
//! The model is trained online: tokens are collected in chunks; a full chunk is trained
//! with a few Adam steps on the label-smoothed next-token cross-entropy, each step
//! restarting from the recurrent state saved at the chunk start (see [`Ssm::observe`]).
//! Gradients either treat the previous state as a constant at every token
//! ([`GradMode::Detached`], as the reference code does) or flow through the whole chunk
//! ([`GradMode::Bptt`], truncated BPTT as the paper describes).
//!
//! Every float is computed with `+ - * /`, `sqrt`, [`crate::detmath`] and
//! [`crate::kernels`] in a fixed order, so encoder and decoder see identical bits.

// Wired into the container together with the paper preset; until then only tests use it.
#![cfg_attr(not(test), allow(dead_code))]

mod backward;
mod forward;
mod init;
#[cfg(test)]
mod tests;

use crate::detmath;
use crate::error::{Error, Result};
use crate::kernels::{self, AdamScalars};
use crate::tokenizer::Token;

use forward::{Acts, State};

/// LayerNorm ε (reference value).
const LN_EPS: f32 = 1e-5;
/// `A_log` is clamped to this before `A = -exp(A_log)` (reference value).
const A_LOG_MAX: f32 = 30.0;
/// Recurrent state and Adam's running powers below this magnitude are set to 0, so no
/// value that feeds a probability is ever subnormal (FTZ/DAZ hosts would differ there).
const STATE_FLUSH: f32 = 7.888_609e-31; // 2^-100

/// How gradients flow through the recurrence during training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GradMode {
    /// The reference behaviour: the previous state `h_{t-1}` and the convolution history
    /// are constants at every token (no backpropagation through time).
    Detached = 0,
    /// Exact gradients through the chunk's recurrence (state detached at chunk starts).
    Bptt = 1,
}

/// Shape, schedule and optimiser settings of an [`Ssm`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SsmConfig {
    /// Width of the residual stream (reference 32).
    pub(crate) d_model: usize,
    /// Number of SSM layers (reference 2).
    pub(crate) n_layers: usize,
    /// State size per channel (reference 16).
    pub(crate) d_state: usize,
    /// Inner width = `expand · d_model` (reference 2).
    pub(crate) expand: usize,
    /// Convolution kernel length (reference 4).
    pub(crate) conv: usize,
    /// Tokens per training chunk (reference 32).
    pub(crate) chunk: usize,
    /// Adam steps per chunk: `iters[0]` for chunks `< until[0]`, `iters[1]` for chunks
    /// `< until[1]`, `iters[2]` after (reference 8 / 4 / 2, until 10 / 30).
    pub(crate) iters: [u32; 3],
    /// Chunk indices where the iteration count changes (see `iters`).
    pub(crate) until: [u32; 2],
    /// Adam learning rate (reference 0.002).
    pub(crate) lr: f32,
    /// Adam β1 (reference 0.9).
    pub(crate) beta1: f32,
    /// Adam β2 (reference 0.999).
    pub(crate) beta2: f32,
    /// Adam ε (reference 1e-8).
    pub(crate) eps: f32,
    /// Label smoothing of the training target (reference 0.12).
    pub(crate) label_smoothing: f32,
    /// Global L2 gradient-norm clip (reference 5.0).
    pub(crate) clip: f32,
    /// Gradient flow through the recurrence.
    pub(crate) grad_mode: GradMode,
    /// Seed of the parameter initialisation.
    pub(crate) seed: u64,
}

/// Side codes per token of a model with side rows ([`Ssm::with_side`]).
pub(crate) const SIDE_CODES: usize = 11;
/// A side code slot that adds no row.
pub(crate) const SIDE_NONE: u16 = u16::MAX;

/// Number of entries of [`SsmConfig::to_params`].
pub(crate) const N_PARAMS: usize = 20;

impl SsmConfig {
    /// The reference configuration (StateSMix paper preset, per-token-detached gradients).
    pub(crate) fn reference() -> Self {
        SsmConfig {
            d_model: 32,
            n_layers: 2,
            d_state: 16,
            expand: 2,
            conv: 4,
            chunk: 32,
            iters: [8, 4, 2],
            until: [10, 30],
            lr: 0.002,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            label_smoothing: 0.12,
            clip: 5.0,
            grad_mode: GradMode::Detached,
            seed: 123_456_789_012_345,
        }
    }

    /// Inner (channel) width.
    pub(crate) fn d_inner(&self) -> usize {
        self.expand * self.d_model
    }

    /// Adam steps for the chunk with 0-based index `chunk_index`.
    pub(crate) fn iters_for(&self, chunk_index: u64) -> u32 {
        if chunk_index < u64::from(self.until[0]) {
            self.iters[0]
        } else if chunk_index < u64::from(self.until[1]) {
            self.iters[1]
        } else {
            self.iters[2]
        }
    }

    /// The configuration as the integer list stored in a frame header (floats as their
    /// IEEE-754 bits, the seed as low and high halves).
    pub(crate) fn to_params(&self) -> Vec<u32> {
        let u = |x: usize| x as u32;
        vec![
            u(self.d_model),
            u(self.n_layers),
            u(self.d_state),
            u(self.expand),
            u(self.conv),
            u(self.chunk),
            self.iters[0],
            self.until[0],
            self.iters[1],
            self.until[1],
            self.iters[2],
            self.lr.to_bits(),
            self.beta1.to_bits(),
            self.beta2.to_bits(),
            self.eps.to_bits(),
            self.label_smoothing.to_bits(),
            self.clip.to_bits(),
            self.grad_mode as u32,
            self.seed as u32,
            (self.seed >> 32) as u32,
        ]
    }

    /// Reads and validates a list written by [`SsmConfig::to_params`].
    pub(crate) fn from_params(p: &[u32]) -> Result<Self> {
        if p.len() != N_PARAMS {
            return Err(Error::Corrupt("bad SSM parameter count"));
        }
        let dim = |v: u32, lo: u32, hi: u32| -> Result<usize> {
            if (lo..=hi).contains(&v) {
                Ok(v as usize)
            } else {
                Err(Error::Corrupt("SSM dimension out of range"))
            }
        };
        let real = |bits: u32, lo: f32, hi: f32| -> Result<f32> {
            let x = f32::from_bits(bits);
            // Written so that NaN fails too.
            if x >= lo && x <= hi {
                Ok(x)
            } else {
                Err(Error::Corrupt("SSM setting out of range"))
            }
        };
        let below_one = 1.0 - f32::EPSILON / 2.0;
        let cfg = SsmConfig {
            d_model: dim(p[0], 1, 512)?,
            n_layers: dim(p[1], 1, 16)?,
            d_state: dim(p[2], 1, 256)?,
            expand: dim(p[3], 1, 8)?,
            conv: dim(p[4], 1, 16)?,
            chunk: dim(p[5], 2, 1024)?,
            iters: [p[6], p[8], p[10]],
            until: [p[7], p[9]],
            lr: real(p[11], f32::MIN_POSITIVE, 1.0)?,
            beta1: real(p[12], 0.0, below_one)?,
            beta2: real(p[13], 0.0, below_one)?,
            eps: real(p[14], f32::MIN_POSITIVE, 1.0)?,
            label_smoothing: real(p[15], 0.0, below_one)?,
            clip: real(p[16], f32::MIN_POSITIVE, 1e30)?,
            grad_mode: match p[17] {
                0 => GradMode::Detached,
                1 => GradMode::Bptt,
                _ => return Err(Error::Corrupt("unknown SSM gradient mode")),
            },
            seed: u64::from(p[18]) | (u64::from(p[19]) << 32),
        };
        if cfg.iters.iter().any(|&i| i > 64) || cfg.until[0] > cfg.until[1] {
            return Err(Error::Corrupt("bad SSM training schedule"));
        }
        if cfg.d_inner() * cfg.d_state > 1 << 16 {
            return Err(Error::Corrupt("SSM state too large"));
        }
        Ok(cfg)
    }

    /// Upper bound on the bytes an [`Ssm`] of this configuration allocates for a
    /// vocabulary of `vocab_len` tokens (checked against memory limits before building).
    pub(crate) fn memory_estimate(&self, vocab_len: usize) -> u64 {
        let dims = Dims::new(self, vocab_len);
        let params = Layout::new(&dims).total as u64;
        let floats = 4 * params // weights, gradients, Adam m and v
            + (dims.c as u64) * dims.v as u64 // per-position probabilities
            + (dims.c as u64 + 1) * Acts::floats_per_position(&dims) as u64
            + 4 * State::floats(&dims) as u64
            + 2 * dims.v as u64 + dims.d as u64 // logits, their softmax, the hidden vector
            // Backward scratch: per-position head input gradients, BPTT state and
            // convolution gradients, and the per-layer vectors.
            + (dims.c * dims.d + State::floats(&dims) + 8 * dims.e + 4 * dims.d + dims.p) as u64;
        4 * floats + 4 * dims.c as u64 + 4096
    }
}

/// The sizes every routine needs, as `usize`.
#[derive(Clone, Copy, Debug)]
struct Dims {
    /// d_model.
    d: usize,
    /// d_inner.
    e: usize,
    /// d_state.
    n: usize,
    /// Conv kernel length.
    k: usize,
    /// Width of the x-projection: `2·d_state + 1`.
    p: usize,
    /// Layers.
    l: usize,
    /// Vocabulary size.
    v: usize,
    /// Chunk length.
    c: usize,
    /// Rows of the side-code embedding (0: none; see [`Ssm::with_side`]).
    s: usize,
}

impl Dims {
    fn new(cfg: &SsmConfig, vocab_len: usize) -> Self {
        Dims {
            d: cfg.d_model,
            e: cfg.d_inner(),
            n: cfg.d_state,
            k: cfg.conv,
            p: 2 * cfg.d_state + 1,
            l: cfg.n_layers,
            v: vocab_len,
            c: cfg.chunk,
            s: 0,
        }
    }
}

/// Offsets of one layer's parameters in the flat parameter vector. Matrices are row-major
/// `out × in`, so [`kernels::matvec`] applies them.
#[derive(Clone, Copy, Debug)]
struct LayerOff {
    ln_g: usize,
    ln_b: usize,
    /// `2E × D`: rows `0..E` give `x_s`, rows `E..2E` give `z`.
    in_w: usize,
    /// `E × K`, tap `K-1` multiplies the current token.
    conv_w: usize,
    conv_b: usize,
    /// `P × E`: rows `0..N` give B, `N..2N` give C, row `2N` gives dt_in.
    xp_w: usize,
    dt_w: usize,
    dt_b: usize,
    /// `E × N`.
    a_log: usize,
    d: usize,
    /// `D × E`.
    out_w: usize,
}

/// Where each parameter lives in the one contiguous parameter vector (so Adam and the
/// gradient clip run over a single slice).
#[derive(Clone, Debug)]
struct Layout {
    /// `V × D`, row per token.
    emb: usize,
    layers: Vec<LayerOff>,
    lnf_g: usize,
    lnf_b: usize,
    /// `V × D`, row per token (token-major, so `matvec` yields the logits).
    head: usize,
    /// `S × D`, row per side code (after everything else, so a model without side codes
    /// keeps its layout and initialisation).
    side: usize,
    total: usize,
}

impl Layout {
    fn new(dm: &Dims) -> Self {
        let Dims {
            d,
            e,
            n,
            k,
            p,
            l,
            v,
            ..
        } = *dm;
        let mut at = 0usize;
        let mut take = |len: usize| {
            let o = at;
            at += len;
            o
        };
        let emb = take(v * d);
        let layers = (0..l)
            .map(|_| LayerOff {
                ln_g: take(d),
                ln_b: take(d),
                in_w: take(2 * e * d),
                conv_w: take(e * k),
                conv_b: take(e),
                xp_w: take(p * e),
                dt_w: take(e),
                dt_b: take(e),
                a_log: take(e * n),
                d: take(e),
                out_w: take(d * e),
            })
            .collect();
        let lnf_g = take(d);
        let lnf_b = take(d);
        let head = take(v * d);
        let side = take(dm.s * d);
        Layout {
            emb,
            layers,
            lnf_g,
            lnf_b,
            head,
            side,
            total: at,
        }
    }
}

/// The online SSM: call [`Ssm::logits`] for the prediction of the next token, then
/// [`Ssm::observe`] with the actual token.
pub(crate) struct Ssm {
    cfg: SsmConfig,
    dims: Dims,
    lay: Layout,
    /// All parameters, laid out by `lay`.
    w: Vec<f32>,
    /// `A = -exp(min(A_log, 30))` per layer (`L × E × N`), recomputed after each step.
    a_neg: Vec<f32>,
    /// Gradients (same layout as `w`).
    g: Vec<f32>,
    /// Adam moments.
    m: Vec<f32>,
    v: Vec<f32>,
    /// β1^t and β2^t of the global Adam step counter.
    beta1_pow: f32,
    beta2_pow: f32,
    /// Adam steps taken.
    steps: u64,
    /// Chunks trained.
    chunks: u64,
    /// The state after the last observed token.
    live: State,
    /// The state at the start of the current chunk.
    start: State,
    /// The state a training pass runs on.
    work: State,
    /// Activations of one training pass (`chunk` positions).
    acts: Acts,
    /// Activations of the inference step (one position).
    inf: Acts,
    /// Per position of a training pass: head logits, then probabilities, then the
    /// gradient of the loss with respect to the logits (`chunk × V`).
    probs: Vec<f32>,
    /// Backward scratch.
    bw: backward::Scratch,
    /// Prediction for the next token, as logits and as `softmax(logits)`.
    logits: Vec<f32>,
    cur_probs: Vec<f32>,
    /// The final hidden vector (final LayerNorm output) the prediction came from (`D`).
    hidden: Vec<f32>,
    /// Tokens of the current chunk.
    chunk: Vec<Token>,
    /// Side codes of the chunk's tokens (with side rows only; see [`Ssm::with_side`]).
    chunk_side: Vec<[u16; SIDE_CODES]>,
    /// Loss weights of the chunk's tokens as targets (empty: all 1).
    chunk_w: Vec<f32>,
    /// Tests: recompute the first training pass instead of reusing the inference steps.
    #[cfg(test)]
    no_reuse: bool,
}

impl Ssm {
    /// A freshly initialised model for a vocabulary of `vocab_len` tokens.
    pub(crate) fn new(cfg: SsmConfig, vocab_len: usize) -> Self {
        Self::with_side(cfg, vocab_len, 0)
    }

    /// A freshly initialised model with `side_rows` extra embedding rows: each token comes
    /// with [`SIDE_CODES`] side codes (row indices, see [`Ssm::observe_with`]) whose rows
    /// are added to the token's embedding. The rows start at 0 and are trained with the
    /// rest; with `side_rows == 0` this is [`Ssm::new`].
    pub(crate) fn with_side(cfg: SsmConfig, vocab_len: usize, side_rows: usize) -> Self {
        assert!(vocab_len >= 1, "empty vocabulary");
        let mut dims = Dims::new(&cfg, vocab_len);
        dims.s = side_rows;
        let lay = Layout::new(&dims);
        let mut w = vec![0.0f32; lay.total];
        init::init_params(&dims, &lay, cfg.seed, &mut w);
        let mut s = Ssm {
            a_neg: vec![0.0; dims.l * dims.e * dims.n],
            g: vec![0.0; lay.total],
            m: vec![0.0; lay.total],
            v: vec![0.0; lay.total],
            beta1_pow: 1.0,
            beta2_pow: 1.0,
            steps: 0,
            chunks: 0,
            live: State::new(&dims),
            start: State::new(&dims),
            work: State::new(&dims),
            acts: Acts::new(&dims, dims.c),
            inf: Acts::new(&dims, 1),
            probs: vec![0.0; dims.c * dims.v],
            bw: backward::Scratch::new(&dims),
            logits: vec![0.0; dims.v],
            cur_probs: vec![1.0 / dims.v as f32; dims.v],
            hidden: vec![0.0; dims.d],
            chunk: Vec::with_capacity(dims.c),
            chunk_side: Vec::with_capacity(if side_rows > 0 { dims.c } else { 0 }),
            chunk_w: Vec::new(),
            #[cfg(test)]
            no_reuse: false,
            cfg,
            dims,
            lay,
            w,
        };
        s.recompute_a();
        s
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &SsmConfig {
        &self.cfg
    }

    /// Logits of the next token (all zero before the first token).
    pub(crate) fn logits(&self) -> &[f32] {
        &self.logits
    }

    /// `softmax(logits())` (the kernel's softmax; uniform before the first token).
    pub(crate) fn next_probs(&self) -> &[f32] {
        &self.cur_probs
    }

    /// The final hidden vector (output of the final LayerNorm, the head's input) of the
    /// prediction for the next token: `d_model` floats, zero before the first token.
    pub(crate) fn hidden(&self) -> &[f32] {
        &self.hidden
    }

    /// Runs the model on `token` (which must be `< vocab_len`): advances the state and sets
    /// [`Ssm::logits`] to the prediction of the following token. Every `chunk` tokens it
    /// trains on the chunk and replaces state and logits by the post-training ones.
    pub(crate) fn observe(&mut self, token: Token) {
        self.observe_with(token, [SIDE_NONE; SIDE_CODES]);
    }

    /// [`Ssm::observe`] with the token's side codes (each `< side_rows`; ignored without
    /// side rows).
    pub(crate) fn observe_with(&mut self, token: Token, side: [u16; SIDE_CODES]) {
        self.observe_weighted(token, side, None);
    }

    /// [`Ssm::observe_with`] with the token's weight in the training loss as a target
    /// (`None`: 1; use the same choice for every token of a model).
    pub(crate) fn observe_weighted(
        &mut self,
        token: Token,
        side: [u16; SIDE_CODES],
        weight: Option<f32>,
    ) {
        if let Some(w) = weight {
            if self.chunk_w.capacity() == 0 {
                self.chunk_w.reserve_exact(self.dims.c);
            }
            self.chunk_w.push(w);
        }
        let side_on = self.dims.s > 0;
        if side_on {
            debug_assert!(
                side.iter()
                    .all(|&c| c == SIDE_NONE || usize::from(c) < self.dims.s)
            );
            self.chunk_side.push(side);
        }
        let sides: &[u16] = if side_on { &side } else { &[] };
        if self.chunk.is_empty() {
            self.start.copy_from(&self.live);
        }
        // The first training pass over this chunk would repeat this step exactly (same
        // weights, same state, same token), so record its activations and logits as that
        // pass's position `t` and skip the pass (see `accumulate_gradients`).
        let t = self.chunk.len();
        if self.cfg.iters_for(self.chunks) == 1 {
            // With one pass, `train_chunk` needs the state before the chunk's last token.
            self.work.copy_from(&self.live);
        }
        forward::step(
            &self.dims,
            &self.lay,
            &self.w,
            &self.a_neg,
            &mut self.live,
            token as usize,
            sides,
            &mut self.acts,
            t,
            Some(&mut self.logits),
        );
        let d = self.dims.d;
        self.hidden
            .copy_from_slice(&self.acts.fu[t * d..(t + 1) * d]);
        let v = self.dims.v;
        kernels::softmax(&self.logits, &mut self.cur_probs);
        self.probs[t * v..(t + 1) * v].copy_from_slice(&self.cur_probs);
        self.chunk.push(token);
        if self.chunk.len() == self.dims.c {
            self.train_chunk();
            self.chunk.clear();
            self.chunk_side.clear();
            self.chunk_w.clear();
        }
    }

    /// Trains on a final partial chunk of at least 2 tokens, as the reference does at the
    /// end of its input. Only the state after the last token changes.
    pub(crate) fn flush(&mut self) {
        if self.chunk.len() >= 2 {
            self.train_chunk();
        }
        self.chunk.clear();
        self.chunk_side.clear();
        self.chunk_w.clear();
    }

    /// Trains on the collected chunk (reference `train_chunk`).
    fn train_chunk(&mut self) {
        let iters = self.cfg.iters_for(self.chunks);
        self.chunks += 1;
        if iters == 0 {
            return;
        }
        #[cfg(test)]
        let reuse = !self.no_reuse;
        #[cfg(not(test))]
        let reuse = true;
        for it in 0..iters {
            self.accumulate_gradients(reuse && it == 0);
            self.clip_gradients();
            self.adam_step();
        }
        // `work` holds the state after the last pass over tokens 0..n-2 (pre-update
        // weights); one step with the updated weights on the final token gives the new
        // live state and prediction.
        let last = *self.chunk.last().expect("chunk has >= 2 tokens") as usize;
        forward::step(
            &self.dims,
            &self.lay,
            &self.w,
            &self.a_neg,
            &mut self.work,
            last,
            self.chunk_side.last().map_or(&[], |s| &s[..]),
            &mut self.inf,
            0,
            Some(&mut self.logits),
        );
        self.hidden.copy_from_slice(&self.inf.fu[..self.dims.d]);
        kernels::softmax(&self.logits, &mut self.cur_probs);
        std::mem::swap(&mut self.live, &mut self.work);
    }

    /// One forward/backward pass over the chunk from the chunk-start state: sets `g` to
    /// the gradient of the mean label-smoothed cross-entropy over positions `0..n-1`
    /// (predicting tokens `1..n`) and returns that mean loss (plain, not smoothed, in nats).
    ///
    /// With `recorded` the forward pass is skipped: `observe` already ran it with the
    /// current weights and left the activations in `acts` and the probabilities in `probs`.
    fn accumulate_gradients(&mut self, recorded: bool) -> f32 {
        let n = self.chunk.len();
        let npos = n - 1;
        let v = self.dims.v;
        self.g.fill(0.0);
        let inv_n = 1.0 / npos as f32;
        let smooth = self.cfg.label_smoothing / v as f32;
        let hit = 1.0 - self.cfg.label_smoothing;
        let mut loss = 0.0f32;
        if !recorded {
            self.forward_chunk(npos);
        }
        for t in 0..npos {
            let out = &mut self.probs[t * v..(t + 1) * v];
            if !recorded {
                kernels::softmax_in_place(out);
            }
            let target = self.chunk[t + 1] as usize;
            loss -= detmath::ln(out[target]);
            // d(loss)/d(logit) = p - q with q = smooth + hit·onehot, averaged over positions.
            let scale = self.chunk_w.get(t + 1).map_or(inv_n, |&w| w * inv_n);
            for p in out.iter_mut() {
                *p = (*p - smooth) * scale;
            }
            out[target] -= hit * scale;
        }
        backward::backward(self, npos);
        loss * inv_n
    }

    /// Runs positions `0..npos` of the chunk from the chunk-start state into `work`, `acts`
    /// and (logits) `probs`.
    fn forward_chunk(&mut self, npos: usize) {
        self.work.copy_from(&self.start);
        for t in 0..npos {
            forward::step(
                &self.dims,
                &self.lay,
                &self.w,
                &self.a_neg,
                &mut self.work,
                self.chunk[t] as usize,
                self.chunk_side.get(t).map_or(&[], |s| &s[..]),
                &mut self.acts,
                t,
                None,
            );
        }
        // The head for all positions at once: each block of head rows is read from memory
        // once per pass instead of once per position.
        let (v, d) = (self.dims.v, self.dims.d);
        kernels::matvec_batch(
            &self.w[self.lay.head..self.lay.head + v * d],
            d,
            &self.acts.fu[..npos * d],
            &mut self.probs[..npos * v],
        );
    }

    /// Scales the gradient down to the global L2 norm `clip` if it is longer.
    fn clip_gradients(&mut self) {
        let norm = kernels::sum_squares(&self.g).sqrt();
        if norm > self.cfg.clip {
            kernels::scale(self.cfg.clip / norm, &mut self.g);
        }
    }

    /// One dense Adam step over all parameters (as the reference: including embedding and
    /// head rows whose gradient is zero), then `A` is recomputed.
    ///
    /// Cost: `2·V·D + 19,776` elements per step at reference dims, ≈ 11% of the time at
    /// V = 8192. Only the embedding rows of the chunk's tokens have a gradient, so a lazy
    /// sparse update could skip most of the embedding, but it changes the result (moments
    /// of untouched rows still decay and move their weights), so it would be a new format.
    fn adam_step(&mut self) {
        self.steps += 1;
        self.beta1_pow = detmath::flush_below(self.beta1_pow * self.cfg.beta1, STATE_FLUSH);
        self.beta2_pow = detmath::flush_below(self.beta2_pow * self.cfg.beta2, STATE_FLUSH);
        let s = AdamScalars::new(
            self.cfg.lr,
            self.cfg.beta1,
            self.cfg.beta2,
            self.cfg.eps,
            self.beta1_pow,
            self.beta2_pow,
        );
        kernels::adam(&mut self.w, &self.g, &mut self.m, &mut self.v, &s);
        self.recompute_a();
    }

    /// `A = -exp(min(A_log, 30))` for every layer.
    fn recompute_a(&mut self) {
        let en = self.dims.e * self.dims.n;
        for (l, lo) in self.lay.layers.iter().enumerate() {
            let src = &self.w[lo.a_log..lo.a_log + en];
            for (a, &x) in self.a_neg[l * en..(l + 1) * en].iter_mut().zip(src) {
                let x = if x < A_LOG_MAX { x } else { A_LOG_MAX };
                *a = 0.0 - detmath::exp(x);
            }
        }
    }
}

/// Stage-by-stage entry points for the criterion benches (`internals` feature): each runs
/// one stage of the per-token work on the model's real buffers.
#[cfg(feature = "internals")]
impl Ssm {
    /// Layers of one inference step on `token` (no head).
    pub(crate) fn bench_layers(&mut self, token: Token) {
        forward::step(
            &self.dims,
            &self.lay,
            &self.w,
            &self.a_neg,
            &mut self.live,
            token as usize,
            &[],
            &mut self.inf,
            0,
            None,
        );
    }

    /// The head of one inference step (`V × D` matvec).
    pub(crate) fn bench_head(&mut self) {
        let (v, d) = (self.dims.v, self.dims.d);
        kernels::matvec(
            &self.w[self.lay.head..self.lay.head + v * d],
            d,
            &self.inf.fu[..d],
            &mut self.logits,
        );
    }

    /// Softmax of the current logits (as `observe` computes for `probs`).
    pub(crate) fn bench_softmax(&mut self) {
        kernels::softmax(&self.logits, &mut self.cur_probs);
    }

    /// Makes `tokens` (a full chunk) the current chunk, without training.
    pub(crate) fn bench_load_chunk(&mut self, tokens: &[Token]) {
        assert_eq!(tokens.len(), self.dims.c, "a full chunk");
        self.chunk.clear();
        self.chunk.extend_from_slice(tokens);
        self.start.copy_from(&self.live);
    }

    /// A training forward pass over the chunk (layers, batched head, softmax).
    pub(crate) fn bench_train_forward(&mut self) {
        let npos = self.chunk.len() - 1;
        self.forward_chunk(npos);
        let v = self.dims.v;
        for t in 0..npos {
            kernels::softmax_in_place(&mut self.probs[t * v..(t + 1) * v]);
        }
    }

    /// A training backward pass over the chunk (loss gradient, layers, head gradient and
    /// head input gradients), on the probabilities left by the last forward pass.
    pub(crate) fn bench_train_backward(&mut self) {
        self.accumulate_gradients(true);
    }

    /// Gradient clip and one dense Adam step.
    pub(crate) fn bench_adam(&mut self) {
        self.clip_gradients();
        self.adam_step();
    }
}
