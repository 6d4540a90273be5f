//! Scalar reference kernels: plain loops that spell out the format-defining operation order
//! (see the module docs of [`crate::kernels`]). [`super::simd`] must match them bit for bit.

use super::{
    ADAM_FLUSH_GRAD, ADAM_FLUSH_M, ADAM_FLUSH_V, AdamScalars, ENTROPY_MIN_P, SOFTMAX_CUTOFF,
    max_keep, tree8, tree8_max,
};
use crate::detmath::{exp, flush_below, ln};

/// The lane sum of `term(i)` for `i < n`: 8 accumulators, lane `i % 8`, zero-padded to a
/// multiple of 8, combined by [`tree8`].
#[inline(always)]
fn lane_sum(n: usize, mut term: impl FnMut(usize) -> f32) -> f32 {
    let mut acc = [0.0f32; 8];
    for c in 0..n.div_ceil(8) {
        for (l, a) in acc.iter_mut().enumerate() {
            let i = c * 8 + l;
            let t = if i < n { term(i) } else { 0.0 };
            *a += t;
        }
    }
    tree8(acc)
}

/// `Σ a[i]·b[i]` as a lane sum. Panics if the lengths differ.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot: length mismatch");
    lane_sum(a.len(), |i| a[i] * b[i])
}

/// `y[r] = dot(w[r·cols .. (r+1)·cols], x)` for the row-major `y.len() × cols` matrix `w`.
pub(crate) fn matvec(w: &[f32], cols: usize, x: &[f32], y: &mut [f32]) {
    assert_eq!(w.len(), y.len() * cols, "matvec: w is not rows × cols");
    assert_eq!(x.len(), cols, "matvec: x length != cols");
    for (r, out) in y.iter_mut().enumerate() {
        *out = dot(&w[r * cols..(r + 1) * cols], x);
    }
}

/// [`matvec`] for several inputs: `ys[t·R .. (t+1)·R] = w · xs[t·cols .. (t+1)·cols]` for
/// every `t`, with `R = w.len() / cols`.
pub(crate) fn matvec_batch(w: &[f32], cols: usize, xs: &[f32], ys: &mut [f32]) {
    assert!(
        cols > 0 && w.len().is_multiple_of(cols),
        "matvec_batch: w is not rows × cols"
    );
    let rows = w.len() / cols;
    let batch = xs.len() / cols;
    assert!(
        xs.len() == batch * cols && ys.len() == batch * rows,
        "matvec_batch: batch mismatch"
    );
    for t in 0..batch {
        matvec(
            w,
            cols,
            &xs[t * cols..(t + 1) * cols],
            &mut ys[t * rows..(t + 1) * rows],
        );
    }
}

/// `dx[c] += Σ_r w[r, c]·g[r]`, added one row at a time in increasing `r`
/// (`dx[c] = dx[c] + w[r, c]·g[r]`). `w` is `g.len() × cols`, row-major.
pub(crate) fn matvec_t_accumulate(w: &[f32], cols: usize, g: &[f32], dx: &mut [f32]) {
    assert_eq!(
        w.len(),
        g.len() * cols,
        "matvec_t_accumulate: w is not rows × cols"
    );
    assert_eq!(dx.len(), cols, "matvec_t_accumulate: dx length != cols");
    for (r, &gr) in g.iter().enumerate() {
        for (c, d) in dx.iter_mut().enumerate() {
            *d += w[r * cols + c] * gr;
        }
    }
}

/// `dxs[t·cols .. (t+1)·cols] = Σ_r w[r, ·]·gs[t·R + r]` for every `t` (`R = w.len() / cols`):
/// each output set to 0, then [`matvec_t_accumulate`].
pub(crate) fn matvec_t_batch(w: &[f32], cols: usize, gs: &[f32], dxs: &mut [f32]) {
    assert!(
        cols > 0 && w.len().is_multiple_of(cols),
        "matvec_t_batch: w is not rows × cols"
    );
    let rows = w.len() / cols;
    let batch = dxs.len() / cols;
    assert!(
        dxs.len() == batch * cols && gs.len() == batch * rows,
        "matvec_t_batch: batch mismatch"
    );
    for t in 0..batch {
        let dx = &mut dxs[t * cols..(t + 1) * cols];
        dx.fill(0.0);
        matvec_t_accumulate(w, cols, &gs[t * rows..(t + 1) * rows], dx);
    }
}

/// `dw[r, c] = dw[r, c] + g[r]·x[c]` for the row-major `g.len() × x.len()` matrix `dw`.
pub(crate) fn outer_accumulate(dw: &mut [f32], g: &[f32], x: &[f32]) {
    let cols = x.len();
    assert_eq!(
        dw.len(),
        g.len() * cols,
        "outer_accumulate: dw is not rows × cols"
    );
    for (r, &gr) in g.iter().enumerate() {
        for (c, &xc) in x.iter().enumerate() {
            let d = &mut dw[r * cols + c];
            *d += gr * xc;
        }
    }
}

/// Softmax in place:
/// 1. `m` = lane max of `v` (accumulators start at `-f32::MAX`, NaN never wins);
/// 2. `e[i] = if v[i] - m >= SOFTMAX_CUTOFF { exp(v[i] - m) } else { 0 }`, `s` = lane sum of e;
/// 3. `p[i] = e[i] · (1 / s)`.
///
/// If `s` is not positive (every logit NaN or -inf, or a +inf logit), the result is uniform
/// `1 / n`. Empty input is left alone.
pub(crate) fn softmax_in_place(v: &mut [f32]) {
    let n = v.len();
    if n == 0 {
        return;
    }
    let mut mx = [-f32::MAX; 8];
    for (i, &x) in v.iter().enumerate() {
        mx[i % 8] = max_keep(mx[i % 8], x);
    }
    let m = tree8_max(mx);
    let sum = lane_sum(n, |i| {
        let d = v[i] - m;
        let e = if d >= SOFTMAX_CUTOFF { exp(d) } else { 0.0 };
        v[i] = e;
        e
    });
    if sum > 0.0 {
        let inv = 1.0 / sum;
        for p in v.iter_mut() {
            *p *= inv;
        }
    } else {
        v.fill(1.0 / n as f32);
    }
}

/// [`softmax_in_place`] from `logits` into `probs` (same length).
pub(crate) fn softmax(logits: &[f32], probs: &mut [f32]) {
    probs.copy_from_slice(logits);
    softmax_in_place(probs);
}

/// Entropy in nats, `0 - s` where `s` is the lane sum of `p·ln(p)` over `p >= ENTROPY_MIN_P`
/// (smaller p, 0 and NaN contribute `+0`). Always `>= 0` for a probability vector.
pub(crate) fn entropy(p: &[f32]) -> f32 {
    let s = lane_sum(p.len(), |i| {
        let x = p[i];
        if x >= ENTROPY_MIN_P { x * ln(x) } else { 0.0 }
    });
    0.0 - s
}

/// One Adam step over a parameter slice, element by element as documented on
/// [`AdamScalars`]. All four slices must have the same length.
pub(crate) fn adam(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    s: &AdamScalars,
) {
    let n = params.len();
    assert!(
        grads.len() == n && m.len() == n && v.len() == n,
        "adam: length mismatch"
    );
    for i in 0..n {
        let g = flush_below(grads[i], ADAM_FLUSH_GRAD);
        let mi = flush_below(s.beta1 * m[i] + s.one_minus_beta1 * g, ADAM_FLUSH_M);
        let vi = flush_below(s.beta2 * v[i] + s.one_minus_beta2 * (g * g), ADAM_FLUSH_V);
        let d = vi.sqrt() * s.inv_sqrt_bc2 + s.eps;
        params[i] = flush_below(params[i] - s.step_size * (mi / d), ADAM_FLUSH_M);
        m[i] = mi;
        v[i] = vi;
    }
}

/// `Σ x[i]²` as a lane sum (the squared L2 norm; for gradient clipping).
pub(crate) fn sum_squares(x: &[f32]) -> f32 {
    lane_sum(x.len(), |i| x[i] * x[i])
}

/// `y[i] = y[i] + a·x[i]`.
pub(crate) fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "axpy: length mismatch");
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `x[i] = x[i]·a`.
pub(crate) fn scale(a: f32, x: &mut [f32]) {
    for xi in x.iter_mut() {
        *xi *= a;
    }
}
