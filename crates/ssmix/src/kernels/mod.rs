//! Hot numeric kernels of the SSM and its vocabulary head, bit-exact on every build.
//!
//! Each kernel exists twice with the same signature: [`scalar`] is the plain-loop reference,
//! [`simd`] the `wide::f32x8` version the model uses (re-exported here). Both perform the same
//! IEEE-754 operations in the same order, so their results are bit-identical (proptests check
//! `to_bits` equality; golden hashes freeze the bits, which are part of the compressed format).
//! Slices may have any length and alignment; lengths that are not multiples of 8 are handled
//! as defined below, identically in both versions.
//!
//! # Reduction order (format-defining)
//!
//! A **lane sum** `Σ_i t(i)` over `i < n` keeps 8 accumulators, all starting at `+0.0`.
//! Lane `l` adds the terms `i = l, l + 8, l + 16, …` in increasing `i`:
//! `acc[l] = acc[l] + t(i)`. The input is conceptually zero-padded to a multiple of 8: for the
//! padding positions of the last chunk the term is `+0.0` and is still added. The 8 lanes are
//! then combined by the fixed tree [`tree8`]:
//! `((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))`.
//!
//! A **lane max** works the same way with accumulators starting at `-f32::MAX`, the update
//! `acc = if x > acc { x } else { acc }` (padding lanes are skipped), and the same tree with
//! `max(a, b) = if b > a { b } else { a }`.
//!
//! Row-sequential accumulations ([`matvec_t_accumulate`], [`outer_accumulate`], [`axpy`]) add
//! into their output element by element in increasing row order; they have no horizontal
//! reduction, so lane layout does not matter for them.
//!
//! # Subnormals
//!
//! Results never depend on FTZ/DAZ as long as the inputs are normal or zero and of moderate
//! magnitude: [`softmax_in_place`] cuts probabilities below `e^-64 / n` to exactly 0 and
//! [`adam`] flushes tiny gradients, moments and parameters to 0 (thresholds in
//! [`AdamScalars`]).

pub(crate) mod scalar;
pub(crate) mod simd;

#[cfg(test)]
mod tests;

// The SSM (next step) calls these; until then only the tests do.
#[allow(unused_imports)]
pub(crate) use simd::{
    adam, axpy, dot, entropy, matvec, matvec_batch, matvec_t_accumulate, matvec_t_batch,
    outer_accumulate, scale, softmax, softmax_in_place, sum_squares,
};

/// Logits more than this many nats below the maximum get probability exactly 0 in
/// [`softmax_in_place`]: `e^-64 ≈ 1.6e-28`, so every non-zero probability stays a normal
/// float for vocabularies up to 2^24 entries.
pub(crate) const SOFTMAX_CUTOFF: f32 = -64.0;

/// [`entropy`] skips probabilities below this (as the reference implementation does).
pub(crate) const ENTROPY_MIN_P: f32 = 1e-10;

/// Gradients with `|g| < 2^-50` count as 0 in [`adam`] (so `(1-β2)·g²` stays normal).
pub(crate) const ADAM_FLUSH_GRAD: f32 = 8.881_784e-16;
/// First moments with `|m| < 2^-64` are set to 0 after each [`adam`] update; parameters too.
pub(crate) const ADAM_FLUSH_M: f32 = 5.421_011e-20;
/// Second moments below `2^-100` are set to 0 after each [`adam`] update.
pub(crate) const ADAM_FLUSH_V: f32 = 7.888_609e-31;

/// The fixed horizontal sum of 8 lane accumulators: `((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7))`.
#[inline(always)]
pub(crate) fn tree8(a: [f32; 8]) -> f32 {
    ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

/// `if b > a { b } else { a }`: the max used by lane maxima (keeps `a` on ties and NaN `b`).
#[inline(always)]
pub(crate) fn max_keep(a: f32, b: f32) -> f32 {
    if b > a { b } else { a }
}

/// The fixed horizontal max of 8 lane maxima, same tree shape as [`tree8`].
#[inline(always)]
pub(crate) fn tree8_max(a: [f32; 8]) -> f32 {
    max_keep(
        max_keep(max_keep(a[0], a[1]), max_keep(a[2], a[3])),
        max_keep(max_keep(a[4], a[5]), max_keep(a[6], a[7])),
    )
}

/// The per-step scalars of an Adam update, derived once per step so that every element uses
/// the same rounded values.
///
/// Per element (in this order, each line one rounded operation chain, left to right):
///
/// ```text
/// g  = if |g| < ADAM_FLUSH_GRAD { 0 } else { g }
/// m  = (beta1 * m) + (one_minus_beta1 * g);       m = flush(m, ADAM_FLUSH_M)
/// v  = (beta2 * v) + (one_minus_beta2 * (g * g)); v = flush(v, ADAM_FLUSH_V)
/// d  = (sqrt(v) * inv_sqrt_bc2) + eps
/// p  = p - (step_size * (m / d));                 p = flush(p, ADAM_FLUSH_M)
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct AdamScalars {
    /// β1.
    pub(crate) beta1: f32,
    /// β2.
    pub(crate) beta2: f32,
    /// `1 - β1`.
    pub(crate) one_minus_beta1: f32,
    /// `1 - β2`.
    pub(crate) one_minus_beta2: f32,
    /// `lr / (1 - β1^t)`.
    pub(crate) step_size: f32,
    /// `1 / sqrt(1 - β2^t)`.
    pub(crate) inv_sqrt_bc2: f32,
    /// ε, added to the corrected `sqrt(v)`.
    pub(crate) eps: f32,
}

impl AdamScalars {
    /// Derives the scalars for step t from `beta1_pow_t = β1^t` and `beta2_pow_t = β2^t`, which
    /// the caller keeps as running products (one multiplication per step, deterministic).
    /// Requires `β1^t, β2^t < 1` (t >= 1).
    pub(crate) fn new(
        lr: f32,
        beta1: f32,
        beta2: f32,
        eps: f32,
        beta1_pow_t: f32,
        beta2_pow_t: f32,
    ) -> Self {
        AdamScalars {
            beta1,
            beta2,
            one_minus_beta1: 1.0 - beta1,
            one_minus_beta2: 1.0 - beta2,
            step_size: lr / (1.0 - beta1_pow_t),
            inv_sqrt_bc2: 1.0 / (1.0 - beta2_pow_t).sqrt(),
            eps,
        }
    }
}
