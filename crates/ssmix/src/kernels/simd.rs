//! `wide::f32x8` kernels, bit-identical to [`super::scalar`] (same operations, same order; see
//! the module docs of [`crate::kernels`] for the reduction order).
//!
//! Only lane-wise `+ - * /`, `sqrt`, ordered comparisons with `select`, bit casts and
//! `f32x8::transpose` (pure data movement) are used: their results do not depend on whether
//! `wide` was compiled for SSE2, AVX or AVX2+FMA. Horizontal sums go through `to_array` and
//! [`tree8`] (or a transpose and the same tree lane-wise), never `reduce_add`.

use wide::f32x8;

use super::{
    ADAM_FLUSH_GRAD, ADAM_FLUSH_M, ADAM_FLUSH_V, AdamScalars, ENTROPY_MIN_P, SOFTMAX_CUTOFF, tree8,
    tree8_max,
};
use crate::detmath::{exp_x8, flush_below_x8, ln_x8};

/// Loads the first 8 elements of `s` (any alignment).
#[inline(always)]
fn load(s: &[f32]) -> f32x8 {
    let a: [f32; 8] = s[..8].try_into().expect("8 elements");
    f32x8::new(a)
}

/// Loads `s` (fewer than 8 elements) and fills the remaining lanes with `pad`.
#[inline(always)]
fn load_pad(s: &[f32], pad: f32) -> f32x8 {
    let mut a = [pad; 8];
    a[..s.len()].copy_from_slice(s);
    f32x8::new(a)
}

/// Stores `v` into the first 8 elements of `d`.
#[inline(always)]
fn store(d: &mut [f32], v: f32x8) {
    d[..8].copy_from_slice(v.as_array());
}

/// Stores the first `d.len()` (fewer than 8) lanes of `v` into `d`.
#[inline(always)]
fn store_part(d: &mut [f32], v: f32x8) {
    let n = d.len();
    d.copy_from_slice(&v.as_array()[..n]);
}

/// The 8 lane accumulators of `Σ a[i]·b[i]` (zero-padded tail). `a.len() == b.len()`.
#[inline(always)]
fn dot_lanes(a: &[f32], b: &[f32]) -> f32x8 {
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut acc = f32x8::ZERO;
    for (x, y) in ca.zip(cb) {
        acc += load(x) * load(y);
    }
    if !ra.is_empty() {
        acc += load_pad(ra, 0.0) * load_pad(rb, 0.0);
    }
    acc
}

/// Lane-wise [`tree8`] over 8 vectors: lane j of the result is `tree8` of `t[0..8][j]`.
#[inline(always)]
fn tree8_lanes(t: [f32x8; 8]) -> f32x8 {
    ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]))
}

/// `Σ a[i]·b[i]` as a lane sum. Panics if the lengths differ.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot: length mismatch");
    tree8(dot_lanes(a, b).to_array())
}

/// `y[r] = dot(w[r·cols .. (r+1)·cols], x)` for the row-major `y.len() × cols` matrix `w`.
///
/// Eight rows at a time: their lane accumulators are transposed so that one lane-wise
/// [`tree8`] yields 8 outputs (the same additions as 8 separate `tree8` calls).
pub(crate) fn matvec(w: &[f32], cols: usize, x: &[f32], y: &mut [f32]) {
    assert_eq!(w.len(), y.len() * cols, "matvec: w is not rows × cols");
    assert_eq!(x.len(), cols, "matvec: x length != cols");
    if cols == 0 {
        y.fill(0.0);
        return;
    }
    if cols == 32 {
        return matvec_fixed::<4>(w, x, y);
    }
    let mut yb = y.chunks_exact_mut(8);
    let mut wb = w.chunks_exact(8 * cols);
    for (out, rows) in (&mut yb).zip(&mut wb) {
        let acc: [f32x8; 8] = std::array::from_fn(|j| dot_lanes(&rows[j * cols..][..cols], x));
        store(out, tree8_lanes(f32x8::transpose(acc)));
    }
    for (out, row) in yb
        .into_remainder()
        .iter_mut()
        .zip(wb.remainder().chunks_exact(cols))
    {
        *out = tree8(dot_lanes(row, x).to_array());
    }
}

/// [`matvec`] for several inputs: `ys[t·R .. (t+1)·R] = w · xs[t·cols .. (t+1)·cols]` for
/// every `t`, with `R = w.len() / cols`; bit-identical to one [`matvec`] per `t`.
///
/// For `cols == 32` the loop runs over blocks of 8 rows outside and inputs inside, so each
/// block (1 KB) stays in L1 while every input uses it: `w` is read from memory once per
/// call instead of once per input.
#[inline(never)]
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
    if cols != 32 || !rows.is_multiple_of(8) {
        for t in 0..batch {
            matvec(
                w,
                cols,
                &xs[t * cols..(t + 1) * cols],
                &mut ys[t * rows..(t + 1) * rows],
            );
        }
        return;
    }
    for (blk, rows8) in w.chunks_exact(8 * 32).enumerate() {
        for t in 0..batch {
            let x = &xs[t * 32..t * 32 + 32];
            let xv: [f32x8; 4] = std::array::from_fn(|k| load(&x[8 * k..]));
            let acc: [f32x8; 8] = std::array::from_fn(|j| {
                let row = &rows8[j * 32..j * 32 + 32];
                let mut a = f32x8::ZERO;
                for (k, xk) in xv.iter().enumerate() {
                    a += load(&row[8 * k..]) * *xk;
                }
                a
            });
            store(
                &mut ys[t * rows + 8 * blk..],
                tree8_lanes(f32x8::transpose(acc)),
            );
        }
    }
}

/// [`matvec`] for `cols == 8·K`, with `x` held in registers.
#[inline(always)]
fn matvec_fixed<const K: usize>(w: &[f32], x: &[f32], y: &mut [f32]) {
    let cols = 8 * K;
    let xv: [f32x8; K] = std::array::from_fn(|k| load(&x[8 * k..]));
    let row_lanes = |row: &[f32]| {
        let mut acc = f32x8::ZERO;
        for (k, xk) in xv.iter().enumerate() {
            acc += load(&row[8 * k..]) * *xk;
        }
        acc
    };
    let mut yb = y.chunks_exact_mut(8);
    let mut wb = w.chunks_exact(8 * cols);
    for (out, rows) in (&mut yb).zip(&mut wb) {
        let acc: [f32x8; 8] = std::array::from_fn(|j| row_lanes(&rows[j * cols..][..cols]));
        store(out, tree8_lanes(f32x8::transpose(acc)));
    }
    for (out, row) in yb
        .into_remainder()
        .iter_mut()
        .zip(wb.remainder().chunks_exact(cols))
    {
        *out = tree8(row_lanes(row).to_array());
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
    // Column blocks of 32, 8 and the rest; each block's accumulators stay in registers over
    // all rows. Blocking does not change the per-element order of additions.
    if cols == 32 {
        return matvec_t_fixed::<4>(w, g, dx);
    }
    let full = cols / 8 * 8;
    let mut c0 = 0;
    while c0 + 32 <= full {
        t_block::<4>(w, cols, g, &mut dx[c0..c0 + 32], c0);
        c0 += 32;
    }
    while c0 + 8 <= full {
        t_block::<1>(w, cols, g, &mut dx[c0..c0 + 8], c0);
        c0 += 8;
    }
    if c0 < cols {
        let width = cols - c0;
        let mut acc = load_pad(&dx[c0..], 0.0);
        for (r, &gr) in g.iter().enumerate() {
            let row = &w[r * cols + c0..][..width];
            acc += load_pad(row, 0.0) * f32x8::splat(gr);
        }
        store_part(&mut dx[c0..], acc);
    }
}

/// [`matvec_t_accumulate`] for `cols == 8·K`: whole rows, accumulators in registers.
#[inline(always)]
fn matvec_t_fixed<const K: usize>(w: &[f32], g: &[f32], dx: &mut [f32]) {
    let mut acc: [f32x8; K] = std::array::from_fn(|k| load(&dx[8 * k..]));
    for (row, &gr) in w.chunks_exact(8 * K).zip(g) {
        let gv = f32x8::splat(gr);
        for (a, wk) in acc.iter_mut().zip(row.chunks_exact(8)) {
            *a += load(wk) * gv;
        }
    }
    for (d, a) in dx.chunks_exact_mut(8).zip(&acc) {
        store(d, *a);
    }
}

#[inline(always)]
fn t_block<const K: usize>(w: &[f32], cols: usize, g: &[f32], dx: &mut [f32], c0: usize) {
    let mut acc: [f32x8; K] = std::array::from_fn(|k| load(&dx[8 * k..]));
    for (r, &gr) in g.iter().enumerate() {
        let gv = f32x8::splat(gr);
        let row = &w[r * cols + c0..][..8 * K];
        for (k, a) in acc.iter_mut().enumerate() {
            *a += load(&row[8 * k..]) * gv;
        }
    }
    for (k, a) in acc.iter().enumerate() {
        store(&mut dx[8 * k..8 * k + 8], *a);
    }
}

/// Rows per block of [`matvec_t_batch`]: 64 rows of 32 floats = 8 KB, held in L1 while
/// every input of the batch uses them.
const T_BATCH_ROWS: usize = 64;

/// [`super::scalar::matvec_t_batch`], bit-identical: for `cols == 32` the rows are walked in
/// blocks (outer) and inputs inside, each input's accumulators reloaded per block, which
/// keeps every output's additions in increasing row order.
#[inline(never)]
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
    dxs.fill(0.0);
    if cols != 32 {
        for t in 0..batch {
            matvec_t_accumulate(
                w,
                cols,
                &gs[t * rows..(t + 1) * rows],
                &mut dxs[t * cols..(t + 1) * cols],
            );
        }
        return;
    }
    let mut r0 = 0;
    while r0 < rows {
        let r1 = (r0 + T_BATCH_ROWS).min(rows);
        let wb = &w[r0 * 32..r1 * 32];
        for t in 0..batch {
            matvec_t_fixed::<4>(
                wb,
                &gs[t * rows + r0..t * rows + r1],
                &mut dxs[t * 32..t * 32 + 32],
            );
        }
        r0 = r1;
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
    if cols == 0 {
        return;
    }
    for (row, &gr) in dw.chunks_exact_mut(cols).zip(g) {
        axpy(gr, x, row);
    }
}

/// Softmax in place; see [`super::scalar::softmax_in_place`] for the definition.
pub(crate) fn softmax_in_place(v: &mut [f32]) {
    let n = v.len();
    if n == 0 {
        return;
    }
    // Lane max; padding lanes hold -MAX, which never replaces an accumulator.
    let mut mx = f32x8::splat(-f32::MAX);
    let mut ch = v.chunks_exact(8);
    for c in &mut ch {
        let x = load(c);
        mx = x.simd_gt(mx).select(x, mx);
    }
    if !ch.remainder().is_empty() {
        let x = load_pad(ch.remainder(), -f32::MAX);
        mx = x.simd_gt(mx).select(x, mx);
    }
    let m = f32x8::splat(tree8_max(mx.to_array()));
    let cut = f32x8::splat(SOFTMAX_CUTOFF);
    let mut acc = f32x8::ZERO;
    let mut ch = v.chunks_exact_mut(8);
    for c in &mut ch {
        let d = load(c) - m;
        let e = d.simd_ge(cut).select(exp_x8(d), f32x8::ZERO);
        store(c, e);
        acc += e;
    }
    let rest = ch.into_remainder();
    if !rest.is_empty() {
        let d = load_pad(rest, 0.0) - m;
        let e = d.simd_ge(cut).select(exp_x8(d), f32x8::ZERO);
        store_part(rest, e);
        // Zero the padding lanes: the tail of the lane sum adds +0.0 there.
        let mut a = e.to_array();
        a[rest.len()..].fill(0.0);
        acc += f32x8::new(a);
    }
    let sum = tree8(acc.to_array());
    if sum > 0.0 {
        scale(1.0 / sum, v);
    } else {
        v.fill(1.0 / n as f32);
    }
}

/// [`softmax_in_place`] from `logits` into `probs` (same length).
pub(crate) fn softmax(logits: &[f32], probs: &mut [f32]) {
    probs.copy_from_slice(logits);
    softmax_in_place(probs);
}

/// Entropy in nats; see [`super::scalar::entropy`].
pub(crate) fn entropy(p: &[f32]) -> f32 {
    let min_p = f32x8::splat(ENTROPY_MIN_P);
    let term = |x: f32x8| x.simd_ge(min_p).select(x * ln_x8(x), f32x8::ZERO);
    let mut acc = f32x8::ZERO;
    let ch = p.chunks_exact(8);
    let rest = ch.remainder();
    for c in ch {
        acc += term(load(c));
    }
    if !rest.is_empty() {
        // Padding 0 is below ENTROPY_MIN_P, so it adds +0.0 as the definition requires.
        acc += term(load_pad(rest, 0.0));
    }
    0.0 - tree8(acc.to_array())
}

/// One Adam step over a parameter slice; see [`AdamScalars`] for the per-element formula.
#[inline(never)]
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
    let full = n / 8 * 8;
    let (p_main, p_rest) = params.split_at_mut(full);
    let (g_main, g_rest) = grads.split_at(full);
    let (m_main, m_rest) = m.split_at_mut(full);
    let (v_main, v_rest) = v.split_at_mut(full);
    for (((p, g), m), v) in p_main
        .chunks_exact_mut(8)
        .zip(g_main.chunks_exact(8))
        .zip(m_main.chunks_exact_mut(8))
        .zip(v_main.chunks_exact_mut(8))
    {
        let (pn, mn, vn) = adam_lanes(load(p), load(g), load(m), load(v), s);
        store(p, pn);
        store(m, mn);
        store(v, vn);
    }
    if !p_rest.is_empty() {
        let (pn, mn, vn) = adam_lanes(
            load_pad(p_rest, 0.0),
            load_pad(g_rest, 0.0),
            load_pad(m_rest, 0.0),
            load_pad(v_rest, 0.0),
            s,
        );
        store_part(p_rest, pn);
        store_part(m_rest, mn);
        store_part(v_rest, vn);
    }
}

/// The Adam formula of [`AdamScalars`] on 8 lanes: returns the new (param, m, v).
#[inline(always)]
fn adam_lanes(p: f32x8, g: f32x8, m: f32x8, v: f32x8, s: &AdamScalars) -> (f32x8, f32x8, f32x8) {
    let g = flush_below_x8(g, ADAM_FLUSH_GRAD);
    let m = f32x8::splat(s.beta1) * m + f32x8::splat(s.one_minus_beta1) * g;
    let m = flush_below_x8(m, ADAM_FLUSH_M);
    let v = f32x8::splat(s.beta2) * v + f32x8::splat(s.one_minus_beta2) * (g * g);
    let v = flush_below_x8(v, ADAM_FLUSH_V);
    let d = v.sqrt() * f32x8::splat(s.inv_sqrt_bc2) + f32x8::splat(s.eps);
    let p = p - f32x8::splat(s.step_size) * (m / d);
    (flush_below_x8(p, ADAM_FLUSH_M), m, v)
}

/// `Σ x[i]²` as a lane sum.
#[inline(never)]
pub(crate) fn sum_squares(x: &[f32]) -> f32 {
    tree8(dot_lanes(x, x).to_array())
}

/// `y[i] = y[i] + a·x[i]`.
pub(crate) fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "axpy: length mismatch");
    let av = f32x8::splat(a);
    let mut yc = y.chunks_exact_mut(8);
    let mut xc = x.chunks_exact(8);
    for (yi, xi) in (&mut yc).zip(&mut xc) {
        store(yi, load(yi) + av * load(xi));
    }
    let yr = yc.into_remainder();
    if !yr.is_empty() {
        store_part(yr, load_pad(yr, 0.0) + av * load_pad(xc.remainder(), 0.0));
    }
}

/// `x[i] = x[i]·a`.
pub(crate) fn scale(a: f32, x: &mut [f32]) {
    let av = f32x8::splat(a);
    let mut xc = x.chunks_exact_mut(8);
    for xi in &mut xc {
        store(xi, load(xi) * av);
    }
    let xr = xc.into_remainder();
    if !xr.is_empty() {
        store_part(xr, load_pad(xr, 0.0) * av);
    }
}
