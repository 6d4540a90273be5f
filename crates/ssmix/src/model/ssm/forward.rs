//! The forward pass of one token, keeping the activations the backward pass needs.

use super::{Dims, LN_EPS, Layout, STATE_FLUSH};
use crate::detmath::{
    exp, exp_x8, flush_below, flush_below_x8, silu, silu_x8, softplus, softplus_x8,
};
use crate::kernels::matvec;
use wide::f32x8;

/// The recurrent state: scan state `h` (`L × E × N`) and the last `K-1` pre-convolution
/// inputs per channel (`L × E × (K-1)`, oldest first).
pub(super) struct State {
    pub(super) h: Vec<f32>,
    pub(super) conv: Vec<f32>,
}

impl State {
    pub(super) fn new(d: &Dims) -> Self {
        State {
            h: vec![0.0; d.l * d.e * d.n],
            conv: vec![0.0; d.l * d.e * (d.k - 1)],
        }
    }

    pub(super) fn floats(d: &Dims) -> usize {
        d.l * d.e * d.n + d.l * d.e * (d.k - 1)
    }

    pub(super) fn copy_from(&mut self, o: &State) {
        self.h.copy_from_slice(&o.h);
        self.conv.copy_from_slice(&o.conv);
    }
}

/// Activations of up to `cap` positions. Per-layer arrays are indexed
/// `(position · L + layer) · width`.
pub(super) struct Acts {
    /// Normalised LayerNorm input (`D`) and its `1/σ` (1).
    pub(super) xhat: Vec<f32>,
    pub(super) rstd: Vec<f32>,
    /// LayerNorm output = in-projection input (`D`).
    pub(super) u: Vec<f32>,
    /// In-projection output `[x_s | z]` (`2E`).
    pub(super) xz: Vec<f32>,
    /// Convolution window, oldest first (`E × K`).
    pub(super) win: Vec<f32>,
    /// Convolution output before SiLU (`E`) and after (`E`).
    pub(super) pre: Vec<f32>,
    pub(super) xc: Vec<f32>,
    /// `[B | C | dt_in]` (`P`).
    pub(super) proj: Vec<f32>,
    /// softplus input and Δ (`E` each).
    pub(super) dtp: Vec<f32>,
    pub(super) delta: Vec<f32>,
    /// `exp(Δ·A)`, the state before and after the step (`E × N` each).
    pub(super) da: Vec<f32>,
    pub(super) hprev: Vec<f32>,
    pub(super) h: Vec<f32>,
    /// Scan output `y` (`E`) and gated output `y·SiLU(z)` (`E`).
    pub(super) y: Vec<f32>,
    pub(super) gy: Vec<f32>,
    /// Final LayerNorm: normalised input, `1/σ`, output (`D`, 1, `D` per position).
    pub(super) fxhat: Vec<f32>,
    pub(super) frstd: Vec<f32>,
    pub(super) fu: Vec<f32>,
    /// Residual stream scratch (`D`).
    x: Vec<f32>,
}

impl Acts {
    pub(super) fn new(d: &Dims, cap: usize) -> Self {
        let pl = cap * d.l;
        Acts {
            xhat: vec![0.0; pl * d.d],
            rstd: vec![0.0; pl],
            u: vec![0.0; pl * d.d],
            xz: vec![0.0; pl * 2 * d.e],
            win: vec![0.0; pl * d.e * d.k],
            pre: vec![0.0; pl * d.e],
            xc: vec![0.0; pl * d.e],
            proj: vec![0.0; pl * d.p],
            dtp: vec![0.0; pl * d.e],
            delta: vec![0.0; pl * d.e],
            da: vec![0.0; pl * d.e * d.n],
            hprev: vec![0.0; pl * d.e * d.n],
            h: vec![0.0; pl * d.e * d.n],
            y: vec![0.0; pl * d.e],
            gy: vec![0.0; pl * d.e],
            fxhat: vec![0.0; cap * d.d],
            frstd: vec![0.0; cap],
            fu: vec![0.0; cap * d.d],
            x: vec![0.0; d.d],
        }
    }

    /// Floats stored per position (for memory estimates).
    pub(super) fn floats_per_position(d: &Dims) -> usize {
        d.l * (2 * d.d + 1 + 2 * d.e + d.e * d.k + 6 * d.e + d.p + 3 * d.e * d.n) + 2 * d.d + 1
    }
}

/// LayerNorm of `x`: writes `xhat = (x - μ)/σ` and `u = xhat·g + b`, returns `1/σ`.
pub(super) fn layer_norm(x: &[f32], g: &[f32], b: &[f32], xhat: &mut [f32], u: &mut [f32]) -> f32 {
    let n = x.len() as f32;
    let mut s = 0.0f32;
    for &v in x {
        s += v;
    }
    let mu = s / n;
    let mut q = 0.0f32;
    for &v in x {
        let c = v - mu;
        q += c * c;
    }
    let rstd = 1.0 / (q / n + LN_EPS).sqrt();
    for i in 0..x.len() {
        let xh = (x[i] - mu) * rstd;
        xhat[i] = xh;
        u[i] = xh * g[i] + b[i];
    }
    rstd
}

/// Runs the model on `token` (plus the rows of its `side` codes) from `state` (which it
/// advances), records the activations as position `t` of `acts` and writes the head
/// logits to `logits` (`V`) if given (training computes the logits of a whole chunk at
/// once with [`crate::kernels::matvec_batch`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn step(
    dm: &Dims,
    lay: &Layout,
    w: &[f32],
    a_neg: &[f32],
    state: &mut State,
    token: usize,
    side: &[u16],
    acts: &mut Acts,
    t: usize,
    logits: Option<&mut [f32]>,
) {
    let Dims {
        d,
        e,
        n,
        k,
        p,
        l: nl,
        ..
    } = *dm;
    let km = k - 1;
    acts.x
        .copy_from_slice(&w[lay.emb + token * d..lay.emb + (token + 1) * d]);
    // Side codes (`Ssm::with_side`): their rows are added in order.
    for &c in side.iter().filter(|&&c| c != super::SIDE_NONE) {
        let r = lay.side + usize::from(c) * d;
        for (x, &y) in acts.x.iter_mut().zip(&w[r..r + d]) {
            *x += y;
        }
    }
    for (l, o) in lay.layers.iter().enumerate() {
        let pl = t * nl + l;
        let xhat = &mut acts.xhat[pl * d..(pl + 1) * d];
        let u = &mut acts.u[pl * d..(pl + 1) * d];
        acts.rstd[pl] = layer_norm(
            &acts.x,
            &w[o.ln_g..o.ln_g + d],
            &w[o.ln_b..o.ln_b + d],
            xhat,
            u,
        );
        let xz = &mut acts.xz[pl * 2 * e..(pl + 1) * 2 * e];
        matvec(&w[o.in_w..o.in_w + 2 * e * d], d, u, xz);

        // Causal depthwise convolution over [carried K-1 inputs, x_s], then SiLU.
        let buf = &mut state.conv[l * e * km..(l + 1) * e * km];
        let win = &mut acts.win[pl * e * k..(pl + 1) * e * k];
        let pre = &mut acts.pre[pl * e..(pl + 1) * e];
        let xc = &mut acts.xc[pl * e..(pl + 1) * e];
        for i in 0..e {
            let wi = &mut win[i * k..(i + 1) * k];
            let bi = &mut buf[i * km..(i + 1) * km];
            wi[..km].copy_from_slice(bi);
            wi[km] = xz[i];
            let cw = &w[o.conv_w + i * k..o.conv_w + (i + 1) * k];
            let mut s = w[o.conv_b + i];
            for j in 0..k {
                s += wi[j] * cw[j];
            }
            pre[i] = s;
            xc[i] = silu(s);
            if km > 0 {
                bi.copy_within(1.., 0);
                bi[km - 1] = xz[i];
            }
        }

        let proj = &mut acts.proj[pl * p..(pl + 1) * p];
        matvec(&w[o.xp_w..o.xp_w + p * e], e, xc, proj);
        let dt_in = proj[2 * n];

        // Selective scan.
        let dtp = &mut acts.dtp[pl * e..(pl + 1) * e];
        let delta = &mut acts.delta[pl * e..(pl + 1) * e];
        let hs = &mut state.h[l * e * n..(l + 1) * e * n];
        let en = pl * e * n..(pl + 1) * e * n;
        let da = &mut acts.da[en.clone()];
        let hprev = &mut acts.hprev[en.clone()];
        let hout = &mut acts.h[en];
        let y = &mut acts.y[pl * e..(pl + 1) * e];
        let gy = &mut acts.gy[pl * e..(pl + 1) * e];
        let a = &a_neg[l * e * n..(l + 1) * e * n];
        let (b, c) = (&proj[..n], &proj[n..2 * n]);
        hprev.copy_from_slice(hs);
        let dt_w = &w[o.dt_w..o.dt_w + e];
        let dt_b = &w[o.dt_b..o.dt_b + e];
        let d_skip = &w[o.d..o.d + e];
        let z = &xz[e..2 * e];
        if e % 8 == 0 && n % 8 == 0 {
            scan_x8(
                n, dt_in, dt_w, dt_b, a, b, c, d_skip, xc, z, dtp, delta, da, hs, y, gy,
            );
        } else {
            scan_scalar(
                n, dt_in, dt_w, dt_b, a, b, c, d_skip, xc, z, dtp, delta, da, hs, y, gy,
            );
        }
        hout.copy_from_slice(hs);

        // out = out_w · gy, residual add.
        for r in 0..d {
            let row = &w[o.out_w + r * e..o.out_w + (r + 1) * e];
            acts.x[r] += crate::kernels::dot(row, gy);
        }
    }
    let fxhat = &mut acts.fxhat[t * d..(t + 1) * d];
    let fu = &mut acts.fu[t * d..(t + 1) * d];
    acts.frstd[t] = layer_norm(
        &acts.x,
        &w[lay.lnf_g..lay.lnf_g + d],
        &w[lay.lnf_b..lay.lnf_b + d],
        fxhat,
        fu,
    );
    if let Some(logits) = logits {
        matvec(&w[lay.head..lay.head + dm.v * d], d, fu, logits);
    }
}

/// One selective-scan step of a layer (scalar reference of [`scan_x8`]):
/// `Δ_i = softplus(dt_in·dt_w_i + dt_b_i)`, `da = exp(Δ_i·A_ij)`,
/// `h_ij = flush(da_ij·h_ij + (Δ_i·xc_i)·B_j)`, `y_i = (Σ_j h_ij·C_j) + D_i·xc_i` with the sum
/// over `j` ascending from `+0`, `gy_i = y_i·SiLU(z_i)`.
#[allow(clippy::too_many_arguments)]
pub(super) fn scan_scalar(
    n: usize,
    dt_in: f32,
    dt_w: &[f32],
    dt_b: &[f32],
    a: &[f32],
    b: &[f32],
    c: &[f32],
    d_skip: &[f32],
    xc: &[f32],
    z: &[f32],
    dtp: &mut [f32],
    delta: &mut [f32],
    da: &mut [f32],
    hs: &mut [f32],
    y: &mut [f32],
    gy: &mut [f32],
) {
    let e = xc.len();
    for i in 0..e {
        let zi = dt_in * dt_w[i] + dt_b[i];
        dtp[i] = zi;
        let dl = softplus(zi);
        delta[i] = dl;
        for j in 0..n {
            da[i * n + j] = exp(dl * a[i * n + j]);
        }
        let dx = dl * xc[i];
        let mut acc = 0.0f32;
        for j in 0..n {
            let ij = i * n + j;
            let hn = flush_below(da[ij] * hs[ij] + dx * b[j], STATE_FLUSH);
            hs[ij] = hn;
            acc += hn * c[j];
        }
        let yi = acc + d_skip[i] * xc[i];
        y[i] = yi;
        gy[i] = yi * silu(z[i]);
    }
}

/// [`scan_scalar`] for `E` and `N` multiples of 8, bit-identical to it: channel-wise
/// quantities run 8 channels per vector; the per-channel sum over `j` is formed from
/// 8×8 transposed blocks of products, so each lane still adds its channel's terms in
/// ascending `j`.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(super) fn scan_x8(
    n: usize,
    dt_in: f32,
    dt_w: &[f32],
    dt_b: &[f32],
    a: &[f32],
    b: &[f32],
    c: &[f32],
    d_skip: &[f32],
    xc: &[f32],
    z: &[f32],
    dtp: &mut [f32],
    delta: &mut [f32],
    da: &mut [f32],
    hs: &mut [f32],
    y: &mut [f32],
    gy: &mut [f32],
) {
    let e = xc.len();
    let ld = |s: &[f32], i: usize| f32x8::new(s[i..i + 8].try_into().expect("8 lanes"));
    let st = |s: &mut [f32], i: usize, v: f32x8| s[i..i + 8].copy_from_slice(v.as_array());
    let dt_in_v = f32x8::splat(dt_in);
    for i0 in (0..e).step_by(8) {
        let zi = dt_in_v * ld(dt_w, i0) + ld(dt_b, i0);
        st(dtp, i0, zi);
        let dl = softplus_x8(zi);
        st(delta, i0, dl);
        let xcv = ld(xc, i0);
        let dx = (dl * xcv).to_array();
        let dla = dl.to_array();
        let mut acc = f32x8::ZERO;
        for j0 in (0..n).step_by(8) {
            let bv = ld(b, j0);
            let cv = ld(c, j0);
            let prods: [f32x8; 8] = std::array::from_fn(|q| {
                let ij = (i0 + q) * n + j0;
                let dav = exp_x8(f32x8::splat(dla[q]) * ld(a, ij));
                st(da, ij, dav);
                let hn = flush_below_x8(dav * ld(hs, ij) + f32x8::splat(dx[q]) * bv, STATE_FLUSH);
                st(hs, ij, hn);
                hn * cv
            });
            for t in f32x8::transpose(prods) {
                acc += t;
            }
        }
        let yv = acc + ld(d_skip, i0) * xcv;
        st(y, i0, yv);
        st(gy, i0, yv * silu_x8(ld(z, i0)));
    }
}
