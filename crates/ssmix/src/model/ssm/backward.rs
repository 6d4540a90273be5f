//! The backward pass over a chunk, in reverse position order.
//!
//! In [`GradMode::Detached`] (the reference) the state before each token and the
//! convolution history are constants: no gradient reaches earlier positions through the
//! recurrence. In [`GradMode::Bptt`] the gradients of `h_{t-1}` and of the earlier
//! convolution inputs are carried back through the whole chunk.

use super::{A_LOG_MAX, Dims, GradMode, Ssm};
use crate::detmath::{sigmoid, sigmoid_x8, silu, silu_x8};
use crate::kernels::{matvec_t_accumulate, matvec_t_batch, outer_accumulate};
use wide::f32x8;

/// Preallocated buffers of the backward pass.
pub(super) struct Scratch {
    /// Gradient of the residual stream (`D`) and of a LayerNorm output (`D`).
    dx: Vec<f32>,
    du: Vec<f32>,
    /// Gradient of the final LayerNorm output at every position of the chunk (`C × D`).
    du_head: Vec<f32>,
    /// Gradient of the gated output (`E`), of `[x_s | z]` (`2E`), of the conv output (`E`).
    dgy: Vec<f32>,
    dxz: Vec<f32>,
    dxc: Vec<f32>,
    /// Gradient of `[B | C | dt_in]` (`P`).
    dproj: Vec<f32>,
    /// BPTT: gradient of the state before the current position (`L × E × N`).
    dh: Vec<f32>,
    /// BPTT: pending gradient of earlier conv inputs (`L × (K-1) × E`); row 0 belongs to
    /// the position being processed, row `r` to `r` positions before it.
    dconv: Vec<f32>,
}

impl Scratch {
    pub(super) fn new(d: &Dims) -> Self {
        Scratch {
            dx: vec![0.0; d.d],
            du: vec![0.0; d.d],
            du_head: vec![0.0; d.c * d.d],
            dgy: vec![0.0; d.e],
            dxz: vec![0.0; 2 * d.e],
            dxc: vec![0.0; d.e],
            dproj: vec![0.0; d.p],
            dh: vec![0.0; d.l * d.e * d.n],
            dconv: vec![0.0; d.l * (d.k - 1) * d.e],
        }
    }
}

/// LayerNorm backward: accumulates the gain and bias gradients and adds the input gradient
/// to `dx`.
#[allow(clippy::too_many_arguments)]
fn layer_norm_backward(
    du: &[f32],
    xhat: &[f32],
    rstd: f32,
    gain: &[f32],
    dgain: &mut [f32],
    dbias: &mut [f32],
    dx: &mut [f32],
) {
    let nf = du.len() as f32;
    let mut s1 = 0.0f32;
    let mut s2 = 0.0f32;
    for i in 0..du.len() {
        let dxh = du[i] * gain[i];
        dgain[i] += du[i] * xhat[i];
        dbias[i] += du[i];
        s1 += dxh;
        s2 += dxh * xhat[i];
    }
    let m1 = s1 / nf;
    let m2 = s2 / nf;
    for i in 0..du.len() {
        let dxh = du[i] * gain[i];
        dx[i] += rstd * ((dxh - m1) - xhat[i] * m2);
    }
}

/// d SiLU(x) / dx = σ(x)·(1 + x·(1 - σ(x))).
#[inline]
fn silu_grad(x: f32) -> f32 {
    let s = sigmoid(x);
    s * (1.0 + x * (1.0 - s))
}

/// Sets the head gradient `dw[r] = Σ_t dl[t][r]·fu[t]` (`t` ascending, starting from 0)
/// for the `V × D` head, `dl` the `T × V` logit gradients and `fu` the `T × D` head inputs.
///
/// One pass over `dw` for all positions instead of one outer product per position: the
/// gradient matrix is written once rather than read and written `T` times. Each element is
/// an independent chain of `+`, so the SIMD and the scalar tail give the same bits.
#[inline(never)]
pub(super) fn head_gradient(dw: &mut [f32], dl: &[f32], fu: &[f32], v: usize, d: usize) {
    let npos = dl.len() / v;
    assert!(dw.len() == v * d && dl.len() == npos * v && fu.len() == npos * d);
    let blocks = d / 8;
    for (r, row) in dw.chunks_exact_mut(d).enumerate() {
        if blocks == 4 {
            head_row::<4>(row, dl, fu, r, v, d);
        } else {
            for b in 0..blocks {
                head_row::<1>(&mut row[8 * b..8 * b + 8], dl, &fu[8 * b..], r, v, d);
            }
            for c in 8 * blocks..d {
                let mut acc = 0.0f32;
                for t in 0..npos {
                    acc += dl[t * v + r] * fu[t * d + c];
                }
                row[c] = acc;
            }
        }
    }
}

/// `out[c] = Σ_t dl[t·v + r]·fu[t·d + c]` for `c < 8K`, `K` vectors held in registers.
#[inline(always)]
fn head_row<const K: usize>(out: &mut [f32], dl: &[f32], fu: &[f32], r: usize, v: usize, d: usize) {
    let npos = dl.len() / v;
    let mut acc = [f32x8::ZERO; K];
    for t in 0..npos {
        let gv = f32x8::splat(dl[t * v + r]);
        let x = &fu[t * d..];
        for (k, a) in acc.iter_mut().enumerate() {
            let xv: [f32; 8] = x[8 * k..8 * k + 8].try_into().expect("8 lanes");
            *a += gv * f32x8::new(xv);
        }
    }
    for (k, a) in acc.iter().enumerate() {
        out[8 * k..8 * k + 8].copy_from_slice(a.as_array());
    }
}

/// Adds the gradient of the loss whose logit gradients are in `s.probs` (positions
/// `0..npos`) to `s.g`, walking positions backwards.
#[inline(never)]
pub(super) fn backward(s: &mut Ssm, npos: usize) {
    let Dims {
        d,
        e,
        n,
        k,
        p,
        l: nl,
        v,
        ..
    } = s.dims;
    let km = k - 1;
    let bptt = s.cfg.grad_mode == GradMode::Bptt;
    let (w, g, acts, bw, lay) = (&s.w, &mut s.g, &s.acts, &mut s.bw, &s.lay);
    bw.dh.fill(0.0);
    bw.dconv.fill(0.0);
    head_gradient(
        &mut g[lay.head..lay.head + v * d],
        &s.probs[..npos * v],
        &acts.fu[..npos * d],
        v,
        d,
    );
    // Head input gradients of all positions in one pass over the head.
    matvec_t_batch(
        &w[lay.head..lay.head + v * d],
        d,
        &s.probs[..npos * v],
        &mut bw.du_head[..npos * d],
    );
    for t in (0..npos).rev() {
        // Final LayerNorm.
        bw.du.copy_from_slice(&bw.du_head[t * d..(t + 1) * d]);
        bw.dx.fill(0.0);
        {
            let (gg, gb) = g[lay.lnf_g..lay.lnf_b + d].split_at_mut(d);
            layer_norm_backward(
                &bw.du,
                &acts.fxhat[t * d..(t + 1) * d],
                acts.frstd[t],
                &w[lay.lnf_g..lay.lnf_g + d],
                gg,
                gb,
                &mut bw.dx,
            );
        }

        for (l, o) in lay.layers.iter().enumerate().rev() {
            let pl = t * nl + l;
            let gy = &acts.gy[pl * e..(pl + 1) * e];
            let y = &acts.y[pl * e..(pl + 1) * e];
            let xz = &acts.xz[pl * 2 * e..(pl + 1) * 2 * e];
            let xc = &acts.xc[pl * e..(pl + 1) * e];
            let proj = &acts.proj[pl * p..(pl + 1) * p];
            let dtp = &acts.dtp[pl * e..(pl + 1) * e];
            let delta = &acts.delta[pl * e..(pl + 1) * e];
            let en = pl * e * n..(pl + 1) * e * n;
            let da = &acts.da[en.clone()];
            let hprev = &acts.hprev[en.clone()];
            let hs = &acts.h[en];
            let a = &s.a_neg[l * e * n..(l + 1) * e * n];
            let dh = &mut bw.dh[l * e * n..(l + 1) * e * n];

            // Out-projection: out = out_w · gy.
            outer_accumulate(&mut g[o.out_w..o.out_w + d * e], &bw.dx, gy);
            bw.dgy.fill(0.0);
            matvec_t_accumulate(&w[o.out_w..o.out_w + d * e], e, &bw.dx, &mut bw.dgy);

            // Gate, y = h·C + D·xc, and the scan step h = exp(Δ·A)·h_prev + (Δ·xc)·B.
            let (b, c) = (&proj[..n], &proj[n..2 * n]);
            let dt_in = proj[2 * n];
            bw.dproj.fill(0.0);
            // dt_w, dt_b, A_log and D are adjacent in the layout.
            let (g_dtw, rest) = g[o.dt_w..o.d + e].split_at_mut(e);
            let (g_dtb, rest) = rest.split_at_mut(e);
            let (g_alog, g_d) = rest.split_at_mut(e * n);
            let sv = ScanVals {
                n,
                bptt,
                dt_in,
                dgy: &bw.dgy,
                y,
                z: &xz[e..2 * e],
                xc,
                w_d: &w[o.d..o.d + e],
                w_dtw: &w[o.dt_w..o.dt_w + e],
                w_alog: &w[o.a_log..o.a_log + e * n],
                delta,
                dtp,
                a,
                b,
                c,
                hs,
                hprev,
                da,
            };
            let sg = ScanGrads {
                dh,
                g_d,
                g_alog,
                g_dtw,
                g_dtb,
                dxz_z: &mut bw.dxz[e..2 * e],
                dproj: &mut bw.dproj,
                dxc: &mut bw.dxc,
            };
            if e % 8 == 0 && n % 8 == 0 {
                scan_backward_x8(&sv, sg);
            } else {
                scan_backward_scalar(&sv, sg);
            }

            // x-projection: proj = xp_w · xc.
            outer_accumulate(&mut g[o.xp_w..o.xp_w + p * e], &bw.dproj, xc);
            matvec_t_accumulate(&w[o.xp_w..o.xp_w + p * e], e, &bw.dproj, &mut bw.dxc);

            // SiLU and the causal convolution.
            let pre = &acts.pre[pl * e..(pl + 1) * e];
            let win = &acts.win[pl * e * k..(pl + 1) * e * k];
            let dconv = &mut bw.dconv[l * km * e..(l + 1) * km * e];
            for i in 0..e {
                let dpre = bw.dxc[i] * silu_grad(pre[i]);
                g[o.conv_b + i] += dpre;
                for j in 0..k {
                    let gi = o.conv_w + i * k + j;
                    g[gi] += dpre * win[i * k + j];
                }
                let cw = &w[o.conv_w + i * k..o.conv_w + (i + 1) * k];
                let mut dxs = dpre * cw[km];
                if bptt && km > 0 {
                    // Row 0 holds what later positions sent to this one; shift so that
                    // row r belongs to position t-1-r, then add this position's taps:
                    // window slot j multiplied the input of position t-(K-1-j).
                    dxs += dconv[i];
                    for r in 0..km - 1 {
                        dconv[r * e + i] = dconv[(r + 1) * e + i];
                    }
                    dconv[(km - 1) * e + i] = 0.0;
                    for r in 0..km {
                        let j = km - 1 - r;
                        dconv[r * e + i] += dpre * cw[j];
                    }
                }
                bw.dxz[i] = dxs;
            }

            // In-projection and the layer's LayerNorm; the residual keeps dx.
            let u = &acts.u[pl * d..(pl + 1) * d];
            outer_accumulate(&mut g[o.in_w..o.in_w + 2 * e * d], &bw.dxz, u);
            bw.du.fill(0.0);
            matvec_t_accumulate(&w[o.in_w..o.in_w + 2 * e * d], d, &bw.dxz, &mut bw.du);
            let (gg, gb) = g[o.ln_g..o.ln_b + d].split_at_mut(d);
            layer_norm_backward(
                &bw.du,
                &acts.xhat[pl * d..(pl + 1) * d],
                acts.rstd[pl],
                &w[o.ln_g..o.ln_g + d],
                gg,
                gb,
                &mut bw.dx,
            );
        }

        let tok = s.chunk[t] as usize;
        let row = &mut g[lay.emb + tok * d..lay.emb + (tok + 1) * d];
        for (r, &x) in row.iter_mut().zip(&bw.dx) {
            *r += x;
        }
        if let Some(codes) = s.chunk_side.get(t) {
            for &c in codes.iter().filter(|&&c| c != super::SIDE_NONE) {
                let r = lay.side + usize::from(c) * d;
                for (r, &x) in g[r..r + d].iter_mut().zip(&bw.dx) {
                    *r += x;
                }
            }
        }
    }
}

/// Inputs of the backward scan step of one layer at one position.
pub(super) struct ScanVals<'a> {
    pub(super) n: usize,
    pub(super) bptt: bool,
    pub(super) dt_in: f32,
    /// Gradient of the gated output `y·SiLU(z)` (`E`).
    pub(super) dgy: &'a [f32],
    pub(super) y: &'a [f32],
    pub(super) z: &'a [f32],
    pub(super) xc: &'a [f32],
    pub(super) w_d: &'a [f32],
    pub(super) w_dtw: &'a [f32],
    pub(super) w_alog: &'a [f32],
    pub(super) delta: &'a [f32],
    pub(super) dtp: &'a [f32],
    pub(super) a: &'a [f32],
    pub(super) b: &'a [f32],
    pub(super) c: &'a [f32],
    pub(super) hs: &'a [f32],
    pub(super) hprev: &'a [f32],
    pub(super) da: &'a [f32],
}

/// Outputs of the backward scan step: `dh` is read and replaced (BPTT), the `g_*` are
/// accumulated, `dxz_z`, `dxc` and `dproj[2N]` set, `dproj[..2N]` accumulated.
pub(super) struct ScanGrads<'a> {
    pub(super) dh: &'a mut [f32],
    pub(super) g_d: &'a mut [f32],
    pub(super) g_alog: &'a mut [f32],
    pub(super) g_dtw: &'a mut [f32],
    pub(super) g_dtb: &'a mut [f32],
    pub(super) dxz_z: &'a mut [f32],
    pub(super) dproj: &'a mut [f32],
    pub(super) dxc: &'a mut [f32],
}

/// Backward of the gate, `y = h·C + D·xc` and the scan step
/// `h = exp(Δ·A)·h_prev + (Δ·xc)·B` (scalar reference of [`scan_backward_x8`]). Channels
/// ascending; per channel `j` ascending; sums over channels (`dproj`, `d dt_in`) add in
/// ascending channel order, sums over `j` (`dΔ`, `d(Δ·xc)`) start at `+0` and add in
/// ascending `j`.
pub(super) fn scan_backward_scalar(v: &ScanVals<'_>, o: ScanGrads<'_>) {
    let n = v.n;
    let e = v.xc.len();
    let mut d_dt_in = 0.0f32;
    for i in 0..e {
        let z = v.z[i];
        let dy = v.dgy[i] * silu(z);
        o.dxz_z[i] = v.dgy[i] * v.y[i] * silu_grad(z);
        o.g_d[i] += dy * v.xc[i];
        let mut dxc = dy * v.w_d[i];
        let dl = v.delta[i];
        let dxi = dl * v.xc[i];
        let mut ddelta = 0.0f32;
        let mut d_dx = 0.0f32;
        for j in 0..n {
            let ij = i * n + j;
            let dhij = dy * v.c[j] + o.dh[ij];
            o.dproj[n + j] += dy * v.hs[ij];
            // exp(Δ·A): d/d(Δ·A) = exp(Δ·A).
            let dexp = dhij * v.hprev[ij] * v.da[ij];
            ddelta += dexp * v.a[ij];
            // dA/dA_log = A below the clamp, 0 above it.
            if v.w_alog[ij] < A_LOG_MAX {
                o.g_alog[ij] += dexp * dl * v.a[ij];
            }
            d_dx += dhij * v.b[j];
            o.dproj[j] += dhij * dxi;
            o.dh[ij] = if v.bptt { dhij * v.da[ij] } else { 0.0 };
        }
        ddelta += d_dx * v.xc[i];
        dxc += d_dx * dl;
        let ddtp = ddelta * sigmoid(v.dtp[i]);
        o.g_dtw[i] += ddtp * v.dt_in;
        o.g_dtb[i] += ddtp;
        d_dt_in += ddtp * v.w_dtw[i];
        o.dxc[i] = dxc;
    }
    o.dproj[2 * n] = d_dt_in;
}

/// [`scan_backward_scalar`] for `E` and `N` multiples of 8, bit-identical to it: 8
/// channels per vector for per-channel values, 8 `j` per vector inside a channel, and
/// 8×8 transposes so that the per-channel sums over `j` keep their ascending order.
#[inline(never)]
pub(super) fn scan_backward_x8(v: &ScanVals<'_>, o: ScanGrads<'_>) {
    let n = v.n;
    let e = v.xc.len();
    let ld = |s: &[f32], i: usize| f32x8::new(s[i..i + 8].try_into().expect("8 lanes"));
    let st = |s: &mut [f32], i: usize, x: f32x8| s[i..i + 8].copy_from_slice(x.as_array());
    let one = f32x8::splat(1.0);
    let a_max = f32x8::splat(A_LOG_MAX);
    let mut d_dt_in = 0.0f32;
    for i0 in (0..e).step_by(8) {
        let zv = ld(v.z, i0);
        let dgy = ld(v.dgy, i0);
        let xcv = ld(v.xc, i0);
        let dy = dgy * silu_x8(zv);
        let sg = sigmoid_x8(zv);
        st(
            o.dxz_z,
            i0,
            dgy * ld(v.y, i0) * (sg * (one + zv * (one - sg))),
        );
        st(o.g_d, i0, ld(o.g_d, i0) + dy * xcv);
        let dl = ld(v.delta, i0);
        let dxi = (dl * xcv).to_array();
        let (dya, dla) = (dy.to_array(), dl.to_array());
        let mut ddelta = f32x8::ZERO;
        let mut d_dx = f32x8::ZERO;
        for j0 in (0..n).step_by(8) {
            let bv = ld(v.b, j0);
            let cv = ld(v.c, j0);
            let mut p_delta = [f32x8::ZERO; 8];
            let mut p_dx = [f32x8::ZERO; 8];
            for q in 0..8 {
                let ij = (i0 + q) * n + j0;
                let dyq = f32x8::splat(dya[q]);
                let dav = ld(v.da, ij);
                let av = ld(v.a, ij);
                let dhij = dyq * cv + ld(o.dh, ij);
                st(o.dproj, n + j0, ld(o.dproj, n + j0) + dyq * ld(v.hs, ij));
                let dexp = dhij * ld(v.hprev, ij) * dav;
                p_delta[q] = dexp * av;
                let ga = ld(o.g_alog, ij);
                let upd = ga + dexp * f32x8::splat(dla[q]) * av;
                st(
                    o.g_alog,
                    ij,
                    ld(v.w_alog, ij).simd_lt(a_max).select(upd, ga),
                );
                p_dx[q] = dhij * bv;
                st(o.dproj, j0, ld(o.dproj, j0) + dhij * f32x8::splat(dxi[q]));
                st(o.dh, ij, if v.bptt { dhij * dav } else { f32x8::ZERO });
            }
            for t in f32x8::transpose(p_delta) {
                ddelta += t;
            }
            for t in f32x8::transpose(p_dx) {
                d_dx += t;
            }
        }
        let ddelta = ddelta + d_dx * xcv;
        let dxc = dy * ld(v.w_d, i0) + d_dx * dl;
        let ddtp = ddelta * sigmoid_x8(ld(v.dtp, i0));
        st(o.g_dtw, i0, ld(o.g_dtw, i0) + ddtp * f32x8::splat(v.dt_in));
        st(o.g_dtb, i0, ld(o.g_dtb, i0) + ddtp);
        for t in (ddtp * ld(v.w_dtw, i0)).to_array() {
            d_dt_in += t;
        }
        st(o.dxc, i0, dxc);
    }
    o.dproj[2 * n] = d_dt_in;
}
