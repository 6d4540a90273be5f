//! The SSM input of the mixing model: an online-trained selective SSM ([`Ssm`]) predicts
//! the next token over the whole vocabulary, and each binary decision of the token tree
//! gets the SSM's conditional probability of its 1-branch as one more mixer input.
//!
//! Per token: softmax of the SSM's logits (`kernels::softmax`, fixed reduction order),
//! each probability quantised to an integer weight `q = ⌊p·2^24⌋ + 1` (never 0, so every
//! branch has a finite logit), and integer prefix sums in the tree's order (token ranks,
//! see `mod.rs`). A decision whose 0-branch holds the ranks `lo..mid` and 1-branch
//! `mid..hi` then costs O(1):
//! `P(1) = S(mid..hi) / S(lo..hi)`, given to the mixer as the logit
//! `256·ln(S1 / S0)` rounded and clamped to ±2047 (`detmath::ln`, exact integer sums, one
//! IEEE division). After the token is coded the SSM observes it (and trains every
//! `chunk` tokens).
//!
//! With `FLAG_SSM_TREE` a tree-shaped head adds a second input per decision: a small
//! logistic unit per tree node on the SSM's final hidden vector and three of the
//! decision's other stretches, trained online (see `TreeHead`).
//!
//! Specified in `docs/FORMAT.md` §7.14a.

use crate::detmath;
use crate::error::{Result, corrupt};
use crate::kernels;
use crate::model::ssm::{GradMode, N_PARAMS, SIDE_CODES, SIDE_NONE, Ssm, SsmConfig};
use crate::tokenizer::Token;

/// Largest vocabulary the SSM input accepts: its cost and memory grow with `V·d_model`
/// and the encoder's mixing-model vocabulary is at most 512 (`VOCAB_BUDGET`).
pub(crate) const SSM_MAX_VOCAB: usize = 4096;

/// Scale of the quantised probabilities (2^24): with `V ≤ 4096` the sum stays below 2^25.
const Q_SCALE: f32 = 16_777_216.0;

/// The SSM's settings as stored after the mixing model's own parameters.
pub(crate) type SsmList = [u32; N_PARAMS];

/// The SSM input a level uses, if any: only level 9, whose speed budget (≥ 20 KB/s) it
/// fits. It is the reference SSM (`SsmConfig::reference`, width 32) as one layer, with a
/// 1.5× higher learning rate (0.003), half the label smoothing (0.06) and gradients
/// through each chunk (BPTT).
///
/// Earlier measurements (before the retuning below; enwik8_1M, `ssmix -N -c`, user time;
/// without the SSM every level coded ~1.850 bpb at ~500 KB/s): width 16 at level 9: 1.8395
/// bpb, 52 KB/s each way; width 8 at level 8: 1.8434, 86 KB/s; width 8, state 8, Adam steps
/// 2/1/1, rate 0.01 at level 7: 1.8447, 144 KB/s (too little gain for the speed at levels
/// 7–8). At level 9 (modelrt, BPTT, rate 0.006): one layer of width 32: 1.8359 at ~35 KB/s;
/// two layers of width 32: 1.8364 at ~21 KB/s. Width 16 left most of level 9's time budget
/// to the context models. On the first 300 KB at level 5's settings wider states, shorter
/// chunks, more Adam steps, no label smoothing, an APM or mixer weight sets selected by the
/// SSM's logit, and a second (linear) SSM input each moved the result by at most ±0.002
/// bpb.
///
/// Retuned on level 9's context settings (then with mixer rate 4 and without the word
/// trigram; modelrt, enwik8_1M, bytes; user seconds on
/// a loaded 2-core machine, where width 16 took 17.2 s and level 8 alone 4.9 s): width 16
/// 215,839; rate 0.004 215,736; label smoothing 0.06 215,800; two layers 215,858; width
/// 32 215,639, with rate 0.004 215,379, 0.003 215,269 (21.9 s), 0.002 215,317, and label
/// smoothing 0.06 215,196 (22.6 s); width 40 215,099 (31.6 s); width 48 215,000, with
/// label smoothing 0.06 214,903 (37.2 s, ~2.2× width 16); width 64 215,147 (50.7 s);
/// width 48 without BPTT 215,792. State 8, chunk 16 and a third Adam step moved it by
/// less than 40 bytes. On the format-4 model (flags bits 6–11) width 48 codes 213,083
/// bytes at 28 KB/s and width 32 213,224 at 46 KB/s on an idle machine: width 32 keeps
/// level 9 well above its 20 KB/s floor for 0.07% more.
///
/// Level 9 also gives the SSM the markup state as side codes (`FLAG_SSM_SIDE`, see
/// [`side_codes`]). Measured before them (first 300 KB, 67,158 bytes): Adam β1 0.8, β2
/// 0.99 or 0.995 and more early Adam steps (8 / 4 steps until chunk 30 / 300) all within
/// ±15 bytes.
pub(crate) fn level_config(level: u8) -> Option<SsmList> {
    if level != 9 {
        return None;
    }
    let mut cfg = SsmConfig::reference();
    cfg.d_model = 32;
    cfg.n_layers = 1;
    cfg.lr = 0.003;
    cfg.label_smoothing = 0.06;
    cfg.grad_mode = GradMode::Bptt;
    Some(
        cfg.to_params()
            .try_into()
            .expect("SsmConfig::to_params has N_PARAMS entries"),
    )
}

/// Side-code rows of the SSM's embedding with `FLAG_SSM_SIDE` (see [`side_codes`]).
pub(super) const SIDE_ROWS: usize = 64 + 256 + 64;

/// The SSM's side codes (`FLAG_SSM_SIDE`) for the markup state after a token, as rows of
/// its side embedding: the markup summary (`MarkupState::small`, rows `0..64`), the
/// whole markup state (`MarkupState::code`, hashed to rows `64..320`) and the field
/// (`MarkupState::field`, hashed to rows `320..384`).
///
/// First 300 KB of enwik8 at level 9 (modelrt, 67,158 bytes without): the summary alone
/// 67,010; with the whole state hashed to 64 rows 66,934; with the field too 66,927; the
/// state hashed to 256 rows 66,901 (to 1,024 rows 66,913, the field to 256 rows 66,919).
/// Tried and left out: the token's coding cost by the whole model (the sum of `16 −`
/// bit length of each coded bit's probability, 8 classes: alone 67,145, with the
/// summary 67,006, with the three codes −6 bytes), the same with the match's outcome
/// (67,003 with the summary), the line's first byte class (66,981 with the summary), the
/// column (67,003), the sentence's first word or the previous word hashed to 64 rows
/// (±4 bytes with the three codes), and width 48 with the three codes (66,879 for 1.6×
/// the time).
#[inline]
pub(super) fn side_codes(small: usize, code: u64, field: u64) -> [u16; SIDE_CODES] {
    use super::PHI;
    let mut c = [SIDE_NONE; SIDE_CODES];
    c[0] = (small & 63) as u16;
    c[1] = 64 + (code.wrapping_mul(PHI) >> 56) as u16;
    c[2] = 320 + (field.wrapping_mul(PHI) >> 58) as u16;
    c
}

/// Side-code rows `FLAG_SSM_SIDE2` adds after [`SIDE_ROWS`] (see [`ModelCodes`]).
pub(super) const SIDE_ROWS_MORE: usize = 64 + 256 + 512 + 32 + 16 + 512 + 512 + 64;

/// What the context model knows after a token, as `FLAG_SSM_SIDE2`'s side codes (slots
/// `3..11`; see [`ModelCodes::codes`]). Ranks and tokens are below 512 with the
/// encoder's vocabulary budget; larger ones share rows (taken mod 512).
pub(super) struct ModelCodes {
    /// `MoreText::selector` (number and bracket state, 64 values).
    pub(super) selector: usize,
    /// The byte above the next one (`MoreText::above`'s middle byte).
    pub(super) above: u8,
    /// The short match finder's expected rank, if it has a match.
    pub(super) expected: Option<u32>,
    /// The short finder's length class (`min(len_idx, 15)`), plus 16 if the long finder
    /// has a match.
    pub(super) len_class: usize,
    /// The position in the word (as the word-position mixer's selector, 16 values).
    pub(super) word_pos: usize,
    /// The token that followed this token the last time.
    pub(super) follower: u32,
    /// The rank the longest token context with a run of at least 2 predicts, if any.
    pub(super) run: Option<u32>,
    /// The classes of the last three bytes (6 bits).
    pub(super) shape: u32,
}

impl ModelCodes {
    /// Writes the codes into `c[3..]` (rows after [`SIDE_ROWS`], each code its own rows).
    ///
    /// First 300 KB of enwik8 at level 9 (modelrt, 66,245 bytes without; each code
    /// alone): the selector 66,214, the byte above 66,235, the expected rank 66,196, the
    /// length class 66,246, the word position 66,209, the follower 66,230, the run rank
    /// 66,229, the byte classes 66,217; all eight 66,144. On enwik8_1M (with
    /// `FLAG_SSM_WEIGHT`): the selector, expected rank, word position and byte classes
    /// 203,832 bytes, all but the length class 203,763, all eight 203,735. Left out: the
    /// three predicted tokens sharing one table of 512 rows (+19 bytes on 300 KB), the
    /// long finder's expected rank as a ninth code (enwik8_1M −31 for 512 rows more).
    #[inline]
    pub(super) fn codes(&self, c: &mut [u16; SIDE_CODES]) {
        let base = SIDE_ROWS as u16;
        c[3] = base + (self.selector & 63) as u16;
        c[4] = base + 64 + u16::from(self.above);
        c[5] = self
            .expected
            .map_or(SIDE_NONE, |e| base + 320 + (e & 511) as u16);
        c[6] = base + 832 + (self.len_class & 31) as u16;
        c[7] = base + 864 + (self.word_pos & 15) as u16;
        c[8] = base + 880 + (self.follower & 511) as u16;
        c[9] = self
            .run
            .map_or(SIDE_NONE, |r| base + 1392 + (r & 511) as u16);
        c[10] = base + 1904 + (self.shape & 63) as u16;
    }
}

/// The weight of a token as a target in the SSM's training loss with `FLAG_SSM_WEIGHT`,
/// given the whole model's probability `p` of it (the product of its coded bits'
/// probabilities): `0.1 + 0.9·(1 − p)`, so the SSM learns most where the context
/// model is wrong.
///
/// First 300 KB of enwik8 at level 9 (modelrt, 66,245 bytes without): floors 0.02
/// 66,189, 0.1 66,186, 0.3 66,196; `(1 − p)²` (floor 0.1) 66,187; the token's cost in
/// bits / 16 (capped at 1, floor 0.1) 66,203. With `FLAG_SSM_SIDE2` (four codes): floor
/// 0.05 66,117, 0.1 66,123, 0.2 66,135 (66,152 without). enwik8_1M with the four codes:
/// 203,989 → 203,832 bytes.
#[inline]
pub(super) fn loss_weight(p: f32) -> f32 {
    0.1 + 0.9 * (1.0 - p)
}

/// The scale of the tree head's update with `FLAG_SSM_WEIGHT`, given the probability `p`
/// the model gave the coded bit: `0.2 + 1.6·(1 − p)` (f32, in this order).
///
/// First 300 KB of enwik8 at level 9 with both new flags (66,117 bytes with scale 1):
/// `f + 2(1 − f)(1 − p)` with `f` = 0 66,101, 0.05 66,084, 0.2 66,084, 0.5 66,099.
/// enwik8_1M: 203,735 → 203,708.
#[inline]
pub(super) fn tree_weight(p: f32) -> f32 {
    0.2 + 1.6 * (1.0 - p)
}

/// Validates a stored SSM setting list.
pub(crate) fn parse(list: &SsmList) -> Result<SsmConfig> {
    SsmConfig::from_params(list)
}

/// The optional parts of the SSM input (`flags` bits).
#[derive(Clone, Copy, Default)]
pub(crate) struct Parts {
    /// `FLAG_SSM_TREE`: the tree head.
    pub(crate) tree: bool,
    /// `FLAG_SSM_SIDE`: the markup side codes.
    pub(crate) side: bool,
    /// `FLAG_SSM_SIDE2` (with `side`): the context model's side codes.
    pub(crate) side2: bool,
    /// `FLAG_SSM_WEIGHT`: the loss weighted by the model's error.
    pub(crate) weight: bool,
}

impl Parts {
    /// Rows of the SSM's side embedding: none without side codes, [`SIDE_ROWS`] for the
    /// markup codes and [`SIDE_ROWS_MORE`] more for the context model's.
    fn side_rows(self) -> usize {
        match (self.side, self.side2) {
            (false, _) => 0,
            (true, false) => SIDE_ROWS,
            (true, true) => SIDE_ROWS + SIDE_ROWS_MORE,
        }
    }
}

/// Upper bound on the bytes the SSM input allocates (vocabulary at most `SSM_MAX_VOCAB`),
/// with the optional `parts`.
pub(crate) fn memory(list: &SsmList, parts: Parts) -> u64 {
    let Parts {
        tree, side, weight, ..
    } = parts;
    parse(list).map_or(0, |cfg| {
        let head = if tree {
            TreeHead::memory(cfg.d_model, tree_nodes(SSM_MAX_VOCAB))
        } else {
            0
        };
        // Weights, gradients and Adam's two moments per side row, and the chunk's codes.
        let side = if side {
            16 * (parts.side_rows() * cfg.d_model) as u64 + 2 * (SIDE_CODES * cfg.chunk) as u64
        } else {
            0
        };
        // The chunk's loss weights.
        let weight = if weight { 4 * cfg.chunk as u64 } else { 0 };
        cfg.memory_estimate(SSM_MAX_VOCAB) + 8 * SSM_MAX_VOCAB as u64 + 64 + head + side + weight
    })
}

/// Features of a tree-head unit besides the SSM's hidden vector: the node's order-0
/// stretch, the SSM's prefix-sum stretch and the match model's stretch (scaled by 256
/// as mixer inputs). More were measured and left out (enwik8_1M level 9, modelrt): the
/// match confidence as a fourth 212,785 bytes (−9), all mixer inputs 212,882 (+88).
pub(super) const TREE_FEATURES: usize = 3;

/// Learning rate of the tree head's units (enwik8_1M level 9, modelrt, with the three
/// features: 0.06 212,796 bytes, 0.1 212,794; with the order-0 feature alone: 0.002
/// 213,191, 0.01 213,168, 0.03 213,080, 0.08 212,970).
const TREE_LR: f32 = 0.1;

/// The tree-shaped head (`FLAG_SSM_TREE`): one logistic unit per internal node of the
/// token tree (indexed like the model's `order0` counters, `(1 << depth) | prefix`) on
/// the SSM's final hidden vector `h` (`D`), a bias and the features `x`
/// (`TREE_FEATURES`, each stretch / 256): `z = dot(w, h) + b + dot(u, x)`
/// (`kernels::dot`, lane sums, added in this order). After each coded decision plain
/// SGD: with `g = (TREE_LR·scale)·(bit − σ(z))` (`scale` 1 unless `FLAG_SSM_WEIGHT`),
/// `w += g·h`, `b += g`, `u += g·x` (`kernels::axpy`, `detmath::sigmoid`). Weights
/// start at 0.
struct TreeHead {
    /// Per node `D + 1 + TREE_FEATURES` weights: `w`, `b`, `u`.
    w: Vec<f32>,
    d: usize,
    /// The current decision's node, features and logit (`tree_stretch`).
    node: usize,
    x: [f32; TREE_FEATURES],
    z: f32,
}

impl TreeHead {
    fn new(d: usize, nodes: usize) -> Self {
        TreeHead {
            w: vec![0.0; nodes * (d + 1 + TREE_FEATURES)],
            d,
            node: 0,
            x: [0.0; TREE_FEATURES],
            z: 0.0,
        }
    }

    /// Bytes [`TreeHead::new`] allocates.
    fn memory(d: usize, nodes: usize) -> u64 {
        4 * (nodes * (d + 1 + TREE_FEATURES)) as u64
    }
}

/// The SSM, its per-token prefix sums and its optional tree head.
pub(super) struct SsmInput {
    ssm: Ssm,
    /// `cum[r]` = sum of the quantised probabilities of the ranks `< r` (`V + 1` entries).
    cum: Vec<u32>,
    /// The tree head (no nodes without `FLAG_SSM_TREE`).
    tree: TreeHead,
}

impl SsmInput {
    /// A fresh SSM input for `vocab` tokens (error if `vocab > SSM_MAX_VOCAB`), with the
    /// tree head if `parts.tree`, with side codes ([`SIDE_ROWS`], and
    /// [`SIDE_ROWS_MORE`] with `parts.side2`) if `parts.side`.
    pub(super) fn new(list: &SsmList, vocab: usize, parts: Parts) -> Result<Self> {
        let tree = parts.tree;
        let cfg = parse(list)?;
        if vocab == 0 || vocab > SSM_MAX_VOCAB {
            return Err(corrupt(
                "vocabulary too large for the mixing model's SSM input",
            ));
        }
        let nodes = if tree { tree_nodes(vocab) } else { 0 };
        let d = cfg.d_model;
        Ok(SsmInput {
            ssm: Ssm::with_side(cfg, vocab, parts.side_rows()),
            cum: vec![0; vocab + 1],
            tree: TreeHead::new(d, nodes),
        })
    }

    /// The tree head's logit (scaled by 256, in −2047..=2047) that the bit at tree node
    /// `node` is 1, given the decision's features (see `TREE_FEATURES`). Call once per
    /// coded decision, then [`SsmInput::learn`] with its bit.
    #[inline]
    pub(super) fn tree_stretch(&mut self, node: usize, feats: [i32; TREE_FEATURES]) -> i32 {
        let t = &mut self.tree;
        let (d, s) = (t.d, t.d + 1 + TREE_FEATURES);
        let row = &t.w[node * s..(node + 1) * s];
        for (x, f) in t.x.iter_mut().zip(feats) {
            *x = f as f32 * (1.0 / 256.0);
        }
        let z =
            kernels::dot(&row[..d], self.ssm.hidden()) + row[d] + kernels::dot(&row[d + 1..], &t.x);
        t.node = node;
        t.z = z;
        round_clamp(256.0 * z)
    }

    /// Trains the tree head on the coded `bit` of the last [`SsmInput::tree_stretch`],
    /// its step scaled by `scale` (1 without `FLAG_SSM_WEIGHT`: `TREE_LR·1` is exact).
    #[inline]
    pub(super) fn learn(&mut self, bit: bool, scale: f32) {
        let t = &mut self.tree;
        let (d, s) = (t.d, t.d + 1 + TREE_FEATURES);
        let row = &mut t.w[t.node * s..(t.node + 1) * s];
        let err = (if bit { 1.0 } else { 0.0 }) - detmath::sigmoid(t.z);
        let g = TREE_LR * scale * err;
        let (w, rest) = row.split_at_mut(d);
        kernels::axpy(g, self.ssm.hidden(), w);
        rest[0] += g;
        kernels::axpy(g, &t.x, &mut rest[1..]);
    }

    /// Computes the prefix sums of the SSM's prediction for the next token. Call once per
    /// token, before its first [`SsmInput::stretch`].
    /// The sums run over the tree's order: rank `r` is token `unrank[r]`.
    pub(super) fn prepare(&mut self, unrank: &[Token]) {
        // The SSM keeps `softmax(logits)` (`kernels::softmax`) for its own training.
        let probs = self.ssm.next_probs();
        let mut acc = 0u32;
        for (c, &t) in self.cum[1..].iter_mut().zip(unrank) {
            let p = probs[t as usize];
            // `as` saturates (p ≤ 1 up to rounding, so q ≤ 2^24 + 1).
            acc += (p * Q_SCALE) as u32 + 1;
            *c = acc;
        }
    }

    /// The SSM's logit (scaled by 256, in −2047..=2047) that the next token is in
    /// `mid..hi` rather than `lo..mid` (`lo < mid < hi ≤ V`).
    #[inline]
    pub(super) fn stretch(&self, lo: usize, mid: usize, hi: usize) -> i32 {
        let s0 = self.cum[mid] - self.cum[lo];
        let s1 = self.cum[hi] - self.cum[mid];
        // |x| ≤ 256·ln(2^25) < 4500.
        round_clamp(256.0 * detmath::ln(s1 as f32 / s0 as f32))
    }

    /// Learns the coded token, with its side codes (ignored without side rows) and its
    /// weight in the loss as a target (`FLAG_SSM_WEIGHT`; `None` for all tokens without).
    pub(super) fn observe(&mut self, t: Token, side: [u16; SIDE_CODES], weight: Option<f32>) {
        self.ssm.observe_weighted(t, side, weight);
    }
}

/// Nodes of the token tree for `vocab` tokens: `2^bits`, `bits` those of a token id
/// (as the mixing model's `bits_for`).
fn tree_nodes(vocab: usize) -> usize {
    1 << (usize::BITS - vocab.saturating_sub(1).leading_zeros()).max(1)
}

/// `x` rounded half away from zero (an f32 add and a truncating conversion, no libm)
/// and clamped to ±2047; `as` saturates, so any float (NaN → 0) is safe.
#[inline]
fn round_clamp(x: f32) -> i32 {
    let h = if x < 0.0 { -0.5 } else { 0.5 };
    ((x + h) as i32).clamp(-2047, 2047)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{round_trip, small_params};
    use super::super::{MixModel, MixParams};
    use super::*;
    use crate::testutil::splitmix;
    use crate::tokenizer::MAX_VOCAB;

    fn parts(tree: bool, side: bool) -> Parts {
        Parts {
            tree,
            side,
            ..Parts::default()
        }
    }

    fn small_list() -> SsmList {
        let mut cfg = SsmConfig::reference();
        cfg.d_model = 8;
        cfg.n_layers = 1;
        cfg.d_state = 4;
        cfg.chunk = 8;
        cfg.grad_mode = GradMode::Detached;
        cfg.to_params().try_into().unwrap()
    }

    /// P(1) of a decision from the float probabilities, for comparison.
    fn float_p1(probs: &[f32], lo: usize, mid: usize, hi: usize) -> f64 {
        let s0: f64 = probs[lo..mid].iter().map(|&p| f64::from(p)).sum();
        let s1: f64 = probs[mid..hi].iter().map(|&p| f64::from(p)).sum();
        s1 / (s0 + s1)
    }

    #[test]
    fn prefix_sums_match_the_softmax() {
        let v = 300;
        let mut s = SsmInput::new(&small_list(), v, parts(false, false)).unwrap();
        let mut seed = 11;
        for _ in 0..100 {
            let t = (splitmix(&mut seed) % v as u64) as Token;
            s.observe(t, [SIDE_NONE; SIDE_CODES], None);
        }
        let ident: Vec<Token> = (0..v as Token).collect();
        let reversed: Vec<Token> = ident.iter().rev().copied().collect();
        s.prepare(&reversed);
        let rev = s.cum.clone();
        s.prepare(&ident);
        // In reversed order the first rank is the last id, and the totals agree.
        assert_eq!(rev[1], s.cum[v] - s.cum[v - 1]);
        assert_eq!(rev[v], s.cum[v]);
        let total = s.cum[v];
        // The quantised weights sum to 2^24 (each floor loses < 1, each token adds 1).
        let total = i64::from(total);
        assert!((total - (1 << 24)).abs() <= v as i64, "{total}");
        assert!(s.cum.windows(2).all(|w| w[1] > w[0]));
        // Every decision's logit agrees with the float probabilities.
        for (lo, mid, hi) in [(0, 256, 300), (0, 128, 256), (256, 288, 300), (5, 6, 7)] {
            let p = float_p1(s.ssm.next_probs(), lo, mid, hi);
            let st = s.stretch(lo, mid, hi);
            let want = (256.0 * (p / (1.0 - p)).ln()).clamp(-2047.0, 2047.0);
            assert!(
                (f64::from(st) - want).abs() < 3.0,
                "{lo} {mid} {hi}: {st} vs {want}"
            );
        }
    }

    #[test]
    fn uniform_before_the_first_token_and_deterministic() {
        let v = 10;
        let ident: Vec<Token> = (0..v as Token).collect();
        let mut a = SsmInput::new(&small_list(), v, parts(false, false)).unwrap();
        a.prepare(&ident);
        // Uniform: 2 ids against 3 ids.
        let want = (256.0 * (1.5f64).ln()).round() as i32;
        assert!((a.stretch(0, 2, 5) - want).abs() <= 1);
        assert_eq!(a.stretch(0, 5, 10), 0);
        let mut b = SsmInput::new(&small_list(), v, parts(false, false)).unwrap();
        let mut seed = 5;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let t = (splitmix(&mut seed) % 3) as Token;
            a.observe(t, [SIDE_NONE; SIDE_CODES], None);
            b.observe(t, [SIDE_NONE; SIDE_CODES], None);
            a.prepare(&ident);
            b.prepare(&ident);
            assert_eq!(a.cum, b.cum);
            seen.insert(a.stretch(0, 1, 10));
        }
        // It learns: only ids 0..3 occur, so the SSM moves away from uniform.
        assert!(a.stretch(0, 3, 10) < -300, "{}", a.stretch(0, 3, 10));
        assert!(seen.len() > 10);
    }

    #[test]
    fn rejects_bad_settings_and_vocabularies() {
        let good = small_list();
        assert!(SsmInput::new(&good, SSM_MAX_VOCAB, parts(false, false)).is_ok());
        assert!(SsmInput::new(&good, SSM_MAX_VOCAB + 1, parts(true, true)).is_err());
        assert!(SsmInput::new(&good, 0, parts(true, true)).is_err());
        let mut bad = good;
        bad[0] = 0;
        assert!(SsmInput::new(&bad, 256, parts(true, true)).is_err());
        assert_eq!(memory(&bad, parts(true, true)), 0);
        assert!(memory(&good, parts(true, false)) > memory(&good, parts(false, false)));
        assert!(memory(&good, parts(false, false)) > 0);
        let all = Parts {
            side2: true,
            weight: true,
            ..parts(true, true)
        };
        assert!(memory(&good, all) > memory(&good, parts(true, true)));
        // Through the mixing model's parameter list: 10 entries (off) or 10 + N_PARAMS.
        let mut p = MixParams::for_level(5);
        p.ssm = Some(good);
        let list = p.to_list();
        assert_eq!(list.len(), 10 + N_PARAMS);
        assert_eq!(MixParams::from_list(&list).unwrap(), p);
        assert!(MixParams::from_list(&list[..list.len() - 1]).is_err());
        let mut bad_list = list.clone();
        bad_list[10] = 0;
        assert!(MixParams::from_list(&bad_list).is_err());
        bad_list[10] = 600;
        assert!(MixParams::from_list(&bad_list).is_err());
        assert!(
            p.memory(MAX_VOCAB)
                > MixParams::for_level(5).memory(MAX_VOCAB) + memory(&good, parts(false, false))
        );
        assert!(MixModel::with_vocab_size(&list, SSM_MAX_VOCAB + 1).is_err());
    }

    #[test]
    fn tree_head_learns_and_is_deterministic() {
        let v = 300;
        let mut a = SsmInput::new(&small_list(), v, parts(true, false)).unwrap();
        let mut b = SsmInput::new(&small_list(), v, parts(true, false)).unwrap();
        assert_eq!(a.tree.w.len(), 512 * (8 + 1 + TREE_FEATURES));
        let ident: Vec<Token> = (0..v as Token).collect();
        let mut seed = 3;
        let mut first = None;
        for i in 0..400 {
            let t = (splitmix(&mut seed) % v as u64) as Token;
            for s in [&mut a, &mut b] {
                s.prepare(&ident);
            }
            // Node 1 (the root) always codes 1, node 3 always 0 (its feature says 1).
            let sa = a.tree_stretch(1, [100, -50, 0]);
            assert_eq!(sa, b.tree_stretch(1, [100, -50, 0]));
            first.get_or_insert(sa);
            a.learn(true, 1.0);
            b.learn(true, 1.0);
            let s3 = a.tree_stretch(3, [0, 0, 300]);
            assert_eq!(s3, b.tree_stretch(3, [0, 0, 300]));
            a.learn(false, 1.0);
            b.learn(false, 1.0);
            if i == 399 {
                assert!(sa > 500, "{sa}");
                assert!(s3 < -500, "{s3}");
            }
            a.observe(t, [SIDE_NONE; SIDE_CODES], None);
            b.observe(t, [SIDE_NONE; SIDE_CODES], None);
        }
        // All weights start at 0.
        assert_eq!(first, Some(0));
        assert_eq!(
            a.tree.w.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            b.tree.w.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        // Untouched nodes stay 0.
        let s = 8 + 1 + TREE_FEATURES;
        assert!(a.tree.w[2 * s..3 * s].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn mixing_model_round_trips_with_the_tree_head() {
        let mut params = params_with_ssm();
        params[9] |= super::super::FLAG_SSM_TREE;
        let p = MixParams::from_list(&params).unwrap();
        assert!(
            p.memory(MAX_VOCAB)
                > MixParams::from_list(&params_with_ssm())
                    .unwrap()
                    .memory(MAX_VOCAB)
        );
        round_trips_deterministically(&params, 17, 1200, &[3, 300, 4096]);
        let toks: Vec<u32> = (0..3000)
            .map(|i| ((i * 7) % 50 + (i / 300) % 3) as u32)
            .collect();
        let with = round_trip(&params, 256, &toks);
        assert_ne!(with, round_trip(&params_with_ssm(), 256, &toks));
        // Without the SSM input the flag does nothing.
        assert_eq!(
            round_trip(&params[..10], 256, &toks),
            round_trip(&params_with_ssm()[..10], 256, &toks)
        );
    }

    #[test]
    fn mixing_model_round_trips_with_model_codes_and_loss_weights() {
        use super::super::{FLAG_SSM_SIDE, FLAG_SSM_SIDE2, FLAG_SSM_TREE, FLAG_SSM_WEIGHT};
        let base = params_with_ssm();
        let with = |flags: u32| {
            let mut p = base.clone();
            p[9] |= flags;
            p
        };
        let side = with(FLAG_SSM_TREE | FLAG_SSM_SIDE);
        let all = with(FLAG_SSM_TREE | FLAG_SSM_SIDE | FLAG_SSM_SIDE2 | FLAG_SSM_WEIGHT);
        let mem = |p: &[u32]| MixParams::from_list(p).unwrap().memory(MAX_VOCAB);
        assert!(mem(&all) > mem(&side));
        round_trips_deterministically(&all, 23, 1200, &[3, 300, 4096]);
        // Text with markup, numbers and repeats, so that every code occurs.
        let text = b"[[a|b]] 12, 345 {{x|y=7}} the cat sat. the cat sat. (1) [2]\n";
        let toks: Vec<u32> = text
            .iter()
            .cycle()
            .take(3000)
            .map(|&b| u32::from(b))
            .collect();
        let a = round_trip(&all, 256, &toks);
        let b = round_trip(&side, 256, &toks);
        assert_ne!(a, b);
        assert_ne!(
            a,
            round_trip(
                &with(FLAG_SSM_TREE | FLAG_SSM_SIDE | FLAG_SSM_SIDE2),
                256,
                &toks
            )
        );
        assert_ne!(
            a,
            round_trip(
                &with(FLAG_SSM_TREE | FLAG_SSM_SIDE | FLAG_SSM_WEIGHT),
                256,
                &toks
            )
        );
        // Without the SSM input the flags do nothing.
        assert_eq!(
            round_trip(&all[..10], 256, &toks),
            round_trip(&base[..10], 256, &toks)
        );
    }

    /// Round-trips `n` random tokens for each vocabulary size twice and checks that both
    /// runs agree; returns the random state for the caller's next draws.
    fn round_trips_deterministically(params: &[u32], seed: u64, n: usize, vocabs: &[usize]) -> u64 {
        let mut s = seed;
        for &v in vocabs {
            let toks: Vec<u32> = (0..n)
                .map(|_| (splitmix(&mut s) % v as u64) as u32)
                .collect();
            let a = round_trip(params, v, &toks);
            assert_eq!(a, round_trip(params, v, &toks), "deterministic, V = {v}");
        }
        s
    }

    fn params_with_ssm() -> Vec<u32> {
        let mut p = MixParams::from_list(&small_params()).unwrap();
        p.ssm = Some(small_list());
        p.to_list()
    }

    #[test]
    fn mixing_model_round_trips_with_the_ssm_input() {
        let params = params_with_ssm();
        round_trip(&params, 1, &[0; 20]);
        round_trip(&params, 2, &[1, 0, 1, 1, 0]);
        let mut s = round_trips_deterministically(&params, 9, 1500, &[3, 256, 300, 4096]);
        // A sequence the SSM can learn but the context models see only at order 1:
        // a token followed by itself plus one, with random starts. The SSM input changes
        // the code, and both sides agree on it.
        let toks: Vec<u32> = (0..3000)
            .map(|i| {
                if i % 2 == 0 {
                    (splitmix(&mut s) % 200) as u32
                } else {
                    0
                }
            })
            .collect();
        let toks: Vec<u32> = toks.chunks(2).flat_map(|c| [c[0], c[0] + 1]).collect();
        let with = round_trip(&params, 256, &toks);
        let without = round_trip(&params[..10], 256, &toks);
        assert_ne!(with, without);
    }
}
