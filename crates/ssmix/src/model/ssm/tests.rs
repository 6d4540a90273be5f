use super::init::Rng;
use super::*;

fn fnv(hash: &mut u64, values: &[f32]) {
    for v in values {
        for b in v.to_bits().to_le_bytes() {
            *hash ^= u64::from(b);
            *hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
}
const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;

fn tiny(mode: GradMode) -> SsmConfig {
    SsmConfig {
        d_model: 8,
        n_layers: 2,
        d_state: 4,
        expand: 2,
        conv: 4,
        chunk: 5,
        grad_mode: mode,
        ..SsmConfig::reference()
    }
}

/// Pseudo-random tokens below `v` (xorshift, fixed seed).
fn tokens(len: usize, v: u32, seed: u64) -> Vec<Token> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 33) % u64::from(v)) as Token
        })
        .collect()
}

/// Values the recurrence carried into each position, recorded by an unperturbed run and
/// replayed in the detached check (where they are constants).
#[derive(Default)]
struct Rec {
    h: Vec<Vec<f64>>,
    conv: Vec<Vec<f64>>,
}

fn silu64(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

fn ln64(x: &[f64], g: &[f64], b: &[f64]) -> Vec<f64> {
    let n = x.len() as f64;
    let mu = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / n;
    let r = 1.0 / (var + f64::from(LN_EPS)).sqrt();
    (0..x.len())
        .map(|i| (x[i] - mu) * r * g[i] + b[i])
        .collect()
}

fn mv64(w: &[f64], x: &[f64], rows: usize) -> Vec<f64> {
    let c = x.len();
    (0..rows)
        .map(|r| (0..c).map(|j| w[r * c + j] * x[j]).sum())
        .collect()
}

/// An independent f64 implementation of the training loss of `s`'s chunk: mean
/// label-smoothed cross-entropy of positions `0..n-1` from the chunk-start state.
/// With `frozen`, `h_{t-1}` and the conv history come from `frozen` (the detached loss);
/// otherwise they are recorded into `rec`.
fn mirror_loss(s: &Ssm, w: &[f64], frozen: Option<&Rec>, rec: &mut Rec) -> (f64, f64) {
    let Dims {
        d, e, n, k, p, v, ..
    } = s.dims;
    let km = k - 1;
    let lay = &s.lay;
    let mut h: Vec<f64> = s.start.h.iter().map(|&x| f64::from(x)).collect();
    let mut conv: Vec<f64> = s.start.conv.iter().map(|&x| f64::from(x)).collect();
    let ls = f64::from(s.cfg.label_smoothing);
    let npos = s.chunk.len() - 1;
    let (mut loss, mut plain) = (0.0, 0.0);
    for t in 0..npos {
        let (hp, cp) = match frozen {
            Some(f) => (f.h[t].clone(), f.conv[t].clone()),
            None => {
                rec.h.push(h.clone());
                rec.conv.push(conv.clone());
                (h.clone(), conv.clone())
            }
        };
        let tok = s.chunk[t] as usize;
        let mut x: Vec<f64> = w[lay.emb + tok * d..lay.emb + (tok + 1) * d].to_vec();
        for (l, o) in lay.layers.iter().enumerate() {
            let u = ln64(&x, &w[o.ln_g..o.ln_g + d], &w[o.ln_b..o.ln_b + d]);
            let xz = mv64(&w[o.in_w..o.in_w + 2 * e * d], &u, 2 * e);
            let mut xc = vec![0.0; e];
            for i in 0..e {
                let base = l * e * km + i * km;
                let mut s0 = w[o.conv_b + i];
                for j in 0..k {
                    let xv = if j < km { cp[base + j] } else { xz[i] };
                    s0 += xv * w[o.conv_w + i * k + j];
                }
                xc[i] = silu64(s0);
                for j in 0..km {
                    conv[base + j] = if j + 1 < km {
                        conv[base + j + 1]
                    } else {
                        xz[i]
                    };
                }
            }
            let proj = mv64(&w[o.xp_w..o.xp_w + p * e], &xc, p);
            let mut gy = vec![0.0; e];
            for i in 0..e {
                let z = proj[2 * n] * w[o.dt_w + i] + w[o.dt_b + i];
                let dl = if z > 30.0 { z } else { z.exp().ln_1p() };
                let mut y = w[o.d + i] * xc[i];
                for j in 0..n {
                    let ij = l * e * n + i * n + j;
                    let a = -(w[o.a_log + i * n + j].min(f64::from(A_LOG_MAX))).exp();
                    let hn = (dl * a).exp() * hp[ij] + dl * xc[i] * proj[j];
                    h[ij] = hn;
                    y += hn * proj[n + j];
                }
                gy[i] = y * silu64(xz[e + i]);
            }
            let out = mv64(&w[o.out_w..o.out_w + d * e], &gy, d);
            for r in 0..d {
                x[r] += out[r];
            }
        }
        let u = ln64(
            &x,
            &w[lay.lnf_g..lay.lnf_g + d],
            &w[lay.lnf_b..lay.lnf_b + d],
        );
        let logits = mv64(&w[lay.head..lay.head + v * d], &u, v);
        let mx = logits.iter().cloned().fold(f64::MIN, f64::max);
        let lse = mx + logits.iter().map(|z| (z - mx).exp()).sum::<f64>().ln();
        let target = s.chunk[t + 1] as usize;
        for (kk, z) in logits.iter().enumerate() {
            let q = ls / v as f64 + if kk == target { 1.0 - ls } else { 0.0 };
            loss -= q * (z - lse);
        }
        plain -= logits[target] - lse;
    }
    (loss / npos as f64, plain / npos as f64)
}

/// Compares the analytic gradient of `mode` with central differences of the f64 mirror.
/// Returns (max |analytic - numeric| / max |numeric|, max |numeric|).
fn gradient_check(mode: GradMode) -> (f64, f64) {
    let v = 11;
    let mut s = Ssm::new(tiny(mode), v);
    // Larger weights than the init so every path carries a signal.
    let mut rng = Rng::new(7);
    for x in s.w.iter_mut() {
        *x += 0.3 * rng.normal();
    }
    s.recompute_a();
    for x in s.start.h.iter_mut().chain(s.start.conv.iter_mut()) {
        *x = 0.5 * rng.normal();
    }
    s.chunk = tokens(5, v as u32, 3);
    let loss32 = s.accumulate_gradients(false);
    let w64: Vec<f64> = s.w.iter().map(|&x| f64::from(x)).collect();
    let mut rec = Rec::default();
    let (_, plain) = mirror_loss(&s, &w64, None, &mut rec);
    assert!(
        (f64::from(loss32) - plain).abs() < 1e-5 * plain.abs().max(1.0),
        "f32 loss {loss32} vs f64 {plain}"
    );
    let frozen = if mode == GradMode::Detached {
        Some(&rec)
    } else {
        None
    };
    let step = 1e-6;
    let mut numeric = vec![0.0f64; w64.len()];
    let mut wp = w64.clone();
    for i in 0..w64.len() {
        let mut scratch = Rec::default();
        wp[i] = w64[i] + step;
        let (lp, _) = mirror_loss(&s, &wp, frozen, &mut scratch);
        wp[i] = w64[i] - step;
        let (lm, _) = mirror_loss(&s, &wp, frozen, &mut scratch);
        wp[i] = w64[i];
        numeric[i] = (lp - lm) / (2.0 * step);
    }
    let max_n = numeric.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let mut max_err = 0.0f64;
    for (i, (&a, &nm)) in s.g.iter().zip(&numeric).enumerate() {
        let err = (f64::from(a) - nm).abs();
        // Per element: relative to its own size, with a floor at the overall scale.
        assert!(
            err <= 1e-3 * nm.abs() + 2e-5 * max_n,
            "{mode:?}: param {i}: analytic {a} numeric {nm}"
        );
        max_err = max_err.max(err);
    }
    (max_err / max_n, max_n)
}

#[test]
fn ssm_gradient_check_detached() {
    let (rel, max_n) = gradient_check(GradMode::Detached);
    eprintln!("detached gradient check: max error {rel:.3e} of max |grad| {max_n:.3e}");
    assert!(rel < 1e-5);
}

#[test]
fn ssm_gradient_check_bptt() {
    let (rel, max_n) = gradient_check(GradMode::Bptt);
    eprintln!("bptt gradient check: max error {rel:.3e} of max |grad| {max_n:.3e}");
    assert!(rel < 1e-5);
}

/// The detached gradient is not the gradient of the chunk loss: the two modes differ.
#[test]
fn ssm_modes_differ() {
    let mut gs = Vec::new();
    for mode in [GradMode::Detached, GradMode::Bptt] {
        let mut s = Ssm::new(tiny(mode), 11);
        s.chunk = tokens(5, 11, 3);
        s.accumulate_gradients(false);
        gs.push(s.g.clone());
    }
    assert_ne!(gs[0], gs[1]);
}

fn run(cfg: SsmConfig, v: usize, toks: &[Token]) -> (Ssm, u64) {
    let mut s = Ssm::new(cfg, v);
    let mut h = FNV_OFFSET;
    for &t in toks {
        fnv(&mut h, s.logits());
        s.observe(t);
    }
    fnv(&mut h, s.logits());
    (s, h)
}

#[test]
fn ssm_position_zero_is_uniform() {
    let s = Ssm::new(SsmConfig::reference(), 40);
    assert_eq!(s.logits().len(), 40);
    assert!(s.logits().iter().all(|&x| x == 0.0));
}

#[test]
fn ssm_deterministic() {
    let toks = tokens(150, 40, 11);
    for mode in [GradMode::Detached, GradMode::Bptt] {
        let cfg = SsmConfig {
            grad_mode: mode,
            ..SsmConfig::reference()
        };
        let (a, ha) = run(cfg.clone(), 40, &toks);
        let (b, hb) = run(cfg, 40, &toks);
        assert_eq!(ha, hb);
        assert_eq!(a.w, b.w);
    }
}

#[test]
fn ssm_golden_init() {
    let s = Ssm::new(SsmConfig::reference(), 256);
    assert_eq!(s.w.len(), 19_776 + 64 * 256, "reference parameter count");
    let mut h = FNV_OFFSET;
    fnv(&mut h, &s.w);
    eprintln!("ssm init hash {h:#018x}");
    assert_eq!(
        h, GOLDEN_INIT,
        "initial parameters changed: the format would change"
    );
}

#[test]
fn ssm_golden_logits() {
    let toks = tokens(100, 64, 5);
    let mut got = [0u64; 2];
    for (slot, mode) in got.iter_mut().zip([GradMode::Detached, GradMode::Bptt]) {
        let cfg = SsmConfig {
            grad_mode: mode,
            ..SsmConfig::reference()
        };
        *slot = run(cfg, 64, &toks).1;
        eprintln!("ssm logits hash {mode:?}: {slot:#018x}");
    }
    assert_eq!(
        got, GOLDEN_LOGITS,
        "trained logits changed: the format would change"
    );
}

const GOLDEN_INIT: u64 = 0x44a9_ff1a_b052_71b2;
const GOLDEN_LOGITS: [u64; 2] = [0x0331_3cbc_f455_5838, 0xb469_ea1a_1c47_5253];

/// Mean cross-entropy (nats) of the model's predictions over `toks[from..]`.
fn mean_ce(cfg: SsmConfig, v: usize, toks: &[Token], from: usize) -> f64 {
    let mut s = Ssm::new(cfg, v);
    let mut ce = 0.0;
    for (i, &t) in toks.iter().enumerate() {
        if i >= from {
            let lg: Vec<f64> = s.logits().iter().map(|&x| f64::from(x)).collect();
            let mx = lg.iter().cloned().fold(f64::MIN, f64::max);
            let lse = mx + lg.iter().map(|z| (z - mx).exp()).sum::<f64>().ln();
            ce += lse - lg[t as usize];
        }
        s.observe(t);
    }
    ce / (toks.len() - from) as f64
}

#[test]
fn ssm_learns_a_periodic_sequence() {
    let v = 50;
    let pattern = [3, 17, 42, 8, 8, 29, 0];
    let toks: Vec<Token> = (0..640).map(|i| pattern[i % 7]).collect();
    for mode in [GradMode::Detached, GradMode::Bptt] {
        let cfg = SsmConfig {
            grad_mode: mode,
            ..SsmConfig::reference()
        };
        let ce = mean_ce(cfg, v, &toks, 512);
        eprintln!("{mode:?}: cross-entropy over tokens 512..640: {ce:.4} nats (ln V = 3.912)");
        assert!(ce < 0.25 * (v as f64).ln(), "{mode:?}: {ce}");
    }
}

#[test]
fn ssm_flush_trains_partial_chunk() {
    let toks = tokens(37, 30, 9);
    let (mut s, _) = run(SsmConfig::reference(), 30, &toks);
    let before = s.logits().to_vec();
    let w = s.w.clone();
    s.flush();
    assert_ne!(s.w, w);
    assert_ne!(s.logits(), &before[..]);
    // A single pending token is not trained.
    let (mut s, _) = run(SsmConfig::reference(), 30, &toks[..33]);
    let w = s.w.clone();
    s.flush();
    assert_eq!(s.w, w);
}

#[test]
fn ssm_config_params_roundtrip() {
    let mut cfg = SsmConfig::reference();
    cfg.grad_mode = GradMode::Bptt;
    cfg.seed = 0xDEAD_BEEF_0123_4567;
    let p = cfg.to_params();
    assert_eq!(p.len(), N_PARAMS);
    assert_eq!(SsmConfig::from_params(&p).unwrap(), cfg);
    let bad = |i: usize, x: u32| {
        let mut q = p.clone();
        q[i] = x;
        SsmConfig::from_params(&q)
    };
    assert!(matches!(bad(0, 0), Err(Error::Corrupt(_))));
    assert!(matches!(bad(5, 1), Err(Error::Corrupt(_))));
    assert!(matches!(bad(2, 100_000), Err(Error::Corrupt(_))));
    assert!(matches!(bad(6, 65), Err(Error::Corrupt(_))));
    assert!(matches!(bad(7, 31), Err(Error::Corrupt(_))));
    assert!(matches!(
        bad(11, f32::NAN.to_bits()),
        Err(Error::Corrupt(_))
    ));
    assert!(matches!(bad(12, 1.0f32.to_bits()), Err(Error::Corrupt(_))));
    assert!(matches!(
        bad(16, (-1.0f32).to_bits()),
        Err(Error::Corrupt(_))
    ));
    assert!(matches!(bad(17, 2), Err(Error::Corrupt(_))));
    assert!(SsmConfig::from_params(&p[..19]).is_err());
}

#[test]
fn ssm_rng_normals() {
    let mut r = Rng::new(1);
    let n = 100_000;
    let xs: Vec<f64> = (0..n).map(|_| f64::from(r.normal())).collect();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
    assert!(
        mean.abs() < 0.02 && (var - 1.0).abs() < 0.02,
        "mean {mean} var {var}"
    );
}

#[test]
fn ssm_schedule() {
    let c = SsmConfig::reference();
    let it: Vec<u32> = [0, 9, 10, 29, 30, 1000]
        .iter()
        .map(|&i| c.iters_for(i))
        .collect();
    assert_eq!(it, [8, 8, 4, 4, 2, 2]);
}

/// CPU seconds of the calling thread (utime + stime from /proc; Linux only, else 0). The
/// machine is shared, so tokens per CPU second are the stabler speed figure.
fn thread_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return 0.0;
    };
    let after = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0);
    ticks / 100.0
}

/// Speed and compression probe (release): `cargo test --release -p ssmix ssm_probe --
/// --ignored --nocapture`. `SSM_PROBE_V=8192` restricts the speed runs to one vocabulary
/// size, `SSM_PROBE_BITS=0` skips the enwik8 run, `SSM_PROBE_MODE=bptt|detached` one mode.
#[test]
#[ignore]
fn ssm_probe() {
    use std::time::Instant;
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let modes: Vec<GradMode> = match env("SSM_PROBE_MODE").as_str() {
        "bptt" => vec![GradMode::Bptt],
        "detached" => vec![GradMode::Detached],
        _ => vec![GradMode::Detached, GradMode::Bptt],
    };
    let vs: Vec<usize> = match env("SSM_PROBE_V").parse() {
        Ok(v) => vec![v],
        Err(_) => vec![4096, 8192, 16384],
    };
    for &mode in &modes {
        for &v in &vs {
            let cfg = SsmConfig {
                grad_mode: mode,
                ..SsmConfig::reference()
            };
            let toks = tokens(3000, v as u32, 1);
            let mut s = Ssm::new(cfg, v);
            // Skip the 8- and 4-iteration chunks: measure the steady 2-iteration regime.
            for &t in &toks[..30 * 32] {
                s.observe(t);
            }
            let (t0, c0) = (Instant::now(), thread_cpu_seconds());
            for &t in &toks[30 * 32..] {
                s.observe(t);
            }
            let (dt, dc) = (t0.elapsed().as_secs_f64(), thread_cpu_seconds() - c0);
            let n = (toks.len() - 30 * 32) as f64;
            eprintln!(
                "{mode:?} V={v}: {:.0} tok/s wall, {:.0} tok/CPU-s (steady state, {n} tokens)",
                n / dt,
                n / dc
            );
        }
    }
    let path = "/work/shared/data/enwik8_1M";
    let Ok(data) = std::fs::read(path) else {
        eprintln!("{path} missing");
        return;
    };
    if env("SSM_PROBE_BITS") == "0" {
        return;
    }
    let toks: Vec<Token> = data[..200_000].iter().map(|&b| Token::from(b)).collect();
    for &mode in &modes {
        let cfg = SsmConfig {
            grad_mode: mode,
            ..SsmConfig::reference()
        };
        let (t0, c0) = (Instant::now(), thread_cpu_seconds());
        let ce = mean_ce(cfg, 256, &toks, 0);
        let (dt, dc) = (t0.elapsed().as_secs_f64(), thread_cpu_seconds() - c0);
        eprintln!(
            "{mode:?} enwik8 first 200K bytes as byte tokens: {:.4} bits/token, {:.0} tok/s wall, {:.0} tok/CPU-s",
            ce / std::f64::consts::LN_2,
            toks.len() as f64 / dt,
            toks.len() as f64 / dc
        );
    }
}

#[test]
fn ssm_memory_estimate_covers_allocation() {
    let cfg = SsmConfig::reference();
    let v = 16_384;
    let s = Ssm::new(cfg.clone(), v);
    assert_eq!(s.config(), &cfg);
    let est = cfg.memory_estimate(v);
    let live = 4 * (4 * s.w.len() + s.probs.len() + s.logits.len()) as u64;
    assert!(
        est >= live && est < 2 * live,
        "estimate {est}, main buffers {live}"
    );
}

/// The batched head gradient equals the plain per-element sum over positions, bit for bit,
/// for the 4-vector, 1-vector and scalar-tail paths.
#[test]
fn ssm_head_gradient_matches_plain_sum() {
    let mut rng = Rng::new(5);
    for d in [32usize, 12, 8, 3] {
        let (v, npos) = (13, 7);
        let dl: Vec<f32> = (0..npos * v).map(|_| rng.normal()).collect();
        let fu: Vec<f32> = (0..npos * d).map(|_| rng.normal()).collect();
        let mut got = vec![1.0f32; v * d];
        backward::head_gradient(&mut got, &dl, &fu, v, d);
        for r in 0..v {
            for c in 0..d {
                let mut acc = 0.0f32;
                for t in 0..npos {
                    acc += dl[t * v + r] * fu[t * d + c];
                }
                assert_eq!(got[r * d + c].to_bits(), acc.to_bits(), "d {d} r {r} c {c}");
            }
        }
    }
}

/// Reusing the inference steps as the first training pass changes no bit, for every
/// iteration count (1 needs the saved pre-last-token state) and a final partial chunk.
#[test]
fn ssm_first_pass_reuse_is_exact() {
    let toks = tokens(75, 48, 9);
    for iters in [[1, 1, 1], [3, 2, 1], [8, 4, 2]] {
        for mode in [GradMode::Detached, GradMode::Bptt] {
            let cfg = SsmConfig {
                grad_mode: mode,
                iters,
                until: [1, 2],
                ..SsmConfig::reference()
            };
            let mut hashes = [0u64; 2];
            for (h, no_reuse) in hashes.iter_mut().zip([false, true]) {
                let mut s = Ssm::new(cfg.clone(), 48);
                s.no_reuse = no_reuse;
                *h = FNV_OFFSET;
                for &t in &toks {
                    fnv(h, s.logits());
                    s.observe(t);
                }
                s.flush();
                fnv(h, s.logits());
                fnv(h, &s.w);
            }
            assert_eq!(hashes[0], hashes[1], "iters {iters:?} {mode:?}");
        }
    }
}

/// `hidden()` is the head's input: the logits are the head applied to it, also right
/// after a chunk is trained (chunk 5, so tokens 5 and 10 end one).
#[test]
fn ssm_hidden_is_the_head_input() {
    let cfg = tiny(GradMode::Bptt);
    let v = 30;
    let mut s = Ssm::new(cfg, v);
    assert_eq!(s.hidden().len(), 8);
    assert!(s.hidden().iter().all(|&x| x == 0.0));
    let mut logits = vec![0.0; v];
    for (i, t) in tokens(12, v as u32, 9).into_iter().enumerate() {
        s.observe(t);
        let d = s.dims.d;
        crate::kernels::matvec(
            &s.w[s.lay.head..s.lay.head + v * d],
            d,
            s.hidden(),
            &mut logits,
        );
        let same = logits
            .iter()
            .zip(s.logits())
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "token {i}");
        assert!(s.hidden().iter().any(|&x| x != 0.0));
    }
}

/// Side rows (`Ssm::with_side`) start at 0 and leave the other parameters' layout and
/// initialisation alone, so the first chunk predicts as without them; a side row's
/// gradient is that of an embedding row seen at the same positions, bit for bit.
#[test]
fn ssm_side_rows_act_as_a_second_embedding() {
    let cfg = tiny(GradMode::Bptt);
    let (v, rows, none) = (30, 5, SIDE_NONE);
    let mut a = Ssm::with_side(cfg.clone(), v, rows);
    let mut b = Ssm::new(cfg.clone(), v);
    assert_eq!(a.w[..b.w.len()], b.w[..]);
    assert_eq!(a.w.len(), b.w.len() + rows * cfg.d_model);
    // Token 3 with side rows 2 and 4, four times (the chunk is 5): not yet trained.
    for _ in 0..4 {
        a.observe_with(3, codes(&[2, none, 4]));
        b.observe(3);
        let same = a.logits().iter().zip(b.logits());
        assert!(same.into_iter().all(|(x, y)| x.to_bits() == y.to_bits()));
    }
    a.accumulate_gradients(false);
    let d = a.dims.d;
    let emb = &a.g[a.lay.emb + 3 * d..a.lay.emb + 4 * d];
    assert!(emb.iter().any(|&x| x != 0.0));
    for r in [2, 4] {
        let side = &a.g[a.lay.side + r * d..a.lay.side + (r + 1) * d];
        let same = side
            .iter()
            .zip(emb)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "row {r}");
    }
    for r in [0, 1, 3] {
        assert!(
            a.g[a.lay.side + r * d..a.lay.side + (r + 1) * d]
                .iter()
                .all(|&x| x == 0.0)
        );
    }
    // Trained, the side rows move the prediction.
    let mut a = Ssm::with_side(cfg.clone(), v, rows);
    let mut b = Ssm::new(cfg, v);
    for t in tokens(40, v as u32, 3) {
        a.observe_with(t, codes(&[(t % 5) as u16]));
        b.observe(t);
    }
    assert_ne!(a.logits(), b.logits());
}

/// Side codes: `c` in the first slots, the rest none.
fn codes(c: &[u16]) -> [u16; SIDE_CODES] {
    let mut all = [SIDE_NONE; SIDE_CODES];
    all[..c.len()].copy_from_slice(c);
    all
}

/// Loss weights (`Ssm::observe_weighted`): all 1 trains exactly as without weights, a
/// weight scales its position's gradient, and weights change the training.
#[test]
fn ssm_loss_weights_scale_positions() {
    let cfg = tiny(GradMode::Bptt);
    let v = 30;
    let toks = tokens(40, v as u32, 5);
    let mut a = Ssm::new(cfg.clone(), v);
    let mut b = Ssm::new(cfg.clone(), v);
    for &t in &toks {
        a.observe_weighted(t, codes(&[]), Some(1.0));
        b.observe(t);
    }
    assert!(
        a.w.iter()
            .zip(&b.w)
            .all(|(x, y)| x.to_bits() == y.to_bits())
    );
    // One chunk short of training: the gradient of weight 2 everywhere is twice that of 1
    // (exact: scaling by 2 commutes with every rounding).
    let n = cfg.chunk - 1;
    let mut one = Ssm::new(cfg.clone(), v);
    let mut two = Ssm::new(cfg.clone(), v);
    for &t in &toks[..n] {
        one.observe_weighted(t, codes(&[]), Some(1.0));
        two.observe_weighted(t, codes(&[]), Some(2.0));
    }
    one.accumulate_gradients(false);
    two.accumulate_gradients(false);
    assert!(one.g.iter().any(|&x| x != 0.0));
    assert!(
        one.g
            .iter()
            .zip(&two.g)
            .all(|(x, y)| (2.0 * x).to_bits() == y.to_bits())
    );
    // Unequal weights train differently.
    let mut c = Ssm::new(cfg, v);
    for (i, &t) in toks.iter().enumerate() {
        c.observe_weighted(t, codes(&[]), Some(if i % 3 == 0 { 0.1 } else { 1.0 }));
    }
    assert_ne!(c.logits(), b.logits());
}
