//! Seeded, bit-reproducible parameter initialisation.
//!
//! xorshift64 uniforms and Marsaglia's polar method for normals: it needs only `+ - * /`,
//! `sqrt` (correctly rounded by IEEE-754) and [`detmath::ln`], so every build draws the
//! same parameters. Draw order as the reference: embedding, then per layer in-projection,
//! conv weights, x-projection, dt weights, dt biases, out-projection, then the head.

use super::{Dims, Layout};
use crate::detmath;

/// Standard deviation of the weight matrices.
const WEIGHT_STD: f32 = 0.02;
/// Standard deviation of the dt biases.
const DT_BIAS_STD: f32 = 0.1;

/// xorshift64 with Marsaglia's polar normals.
pub(super) struct Rng {
    s: u64,
    spare: Option<f32>,
}

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        // xorshift64 must not start at 0.
        Rng {
            s: if seed == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                seed
            },
            spare: None,
        }
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.s;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.s = x;
        x
    }

    /// Uniform on [-1, 1) with 24 random bits (exact in f32).
    fn uniform_pm1(&mut self) -> f32 {
        let b = (self.next_u64() >> 40) as u32; // 24 bits
        b as f32 * (1.0 / 8_388_608.0) - 1.0
    }

    /// A standard normal sample.
    pub(super) fn normal(&mut self) -> f32 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = self.uniform_pm1();
            let v = self.uniform_pm1();
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = ((-2.0 * detmath::ln(s)) / s).sqrt();
                self.spare = Some(v * f);
                return u * f;
            }
        }
    }

    fn fill(&mut self, out: &mut [f32], std: f32) {
        for x in out {
            *x = self.normal() * std;
        }
    }
}

/// Writes the initial parameters into `w` (laid out by `lay`).
pub(super) fn init_params(dm: &Dims, lay: &Layout, seed: u64, w: &mut [f32]) {
    let Dims {
        d, e, n, k, p, v, ..
    } = *dm;
    let mut rng = Rng::new(seed);
    rng.fill(&mut w[lay.emb..lay.emb + v * d], WEIGHT_STD);
    for o in &lay.layers {
        w[o.ln_g..o.ln_g + d].fill(1.0);
        w[o.ln_b..o.ln_b + d].fill(0.0);
        rng.fill(&mut w[o.in_w..o.in_w + 2 * e * d], WEIGHT_STD);
        rng.fill(&mut w[o.conv_w..o.conv_w + e * k], WEIGHT_STD);
        w[o.conv_b..o.conv_b + e].fill(0.0);
        rng.fill(&mut w[o.xp_w..o.xp_w + p * e], WEIGHT_STD);
        rng.fill(&mut w[o.dt_w..o.dt_w + e], WEIGHT_STD);
        rng.fill(&mut w[o.dt_b..o.dt_b + e], DT_BIAS_STD);
        // A_log[i][j] = ln(j + 1): A runs from -1 to -N in every channel.
        for i in 0..e {
            for j in 0..n {
                w[o.a_log + i * n + j] = detmath::ln((j + 1) as f32);
            }
        }
        w[o.d..o.d + e].fill(1.0);
        rng.fill(&mut w[o.out_w..o.out_w + d * e], WEIGHT_STD);
    }
    w[lay.lnf_g..lay.lnf_g + d].fill(1.0);
    w[lay.lnf_b..lay.lnf_b + d].fill(0.0);
    rng.fill(&mut w[lay.head..lay.head + v * d], WEIGHT_STD);
}
