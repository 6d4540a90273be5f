//! Scalar-vs-SIMD bit equality (proptest), behaviour checks, golden hashes and timings.

use proptest::prelude::*;

use super::{AdamScalars, SOFTMAX_CUTOFF, scalar, simd};

/// Same bits, or both NaN (NaN payloads are not part of the contract: x86 propagates the
/// payload of one operand and the compiler may swap operands of a commutative operation).
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn assert_same(what: &str, a: &[f32], b: &[f32]) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        prop_assert!(
            same(*x, *y),
            "{}[{}]: scalar {:e} ({:#x}) != simd {:e} ({:#x})",
            what,
            i,
            x,
            x.to_bits(),
            y,
            y.to_bits()
        );
    }
    Ok(())
}

/// Mostly ordinary values, some exact zeros of both signs, tiny, huge and non-finite ones.
fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        20 => -4.0f32..4.0,
        2 => Just(0.0f32),
        2 => Just(-0.0f32),
        1 => -1.0e-30f32..1.0e-30,
        1 => -1.0e4f32..1.0e4,
        1 => any::<u32>().prop_map(f32::from_bits),
    ]
}

fn finite_value() -> impl Strategy<Value = f32> {
    prop_oneof![
        20 => -4.0f32..4.0,
        2 => Just(0.0f32),
        2 => Just(-0.0f32),
        1 => -1.0e-30f32..1.0e-30,
        1 => -100.0f32..100.0,
    ]
}

fn vec_of(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec(value(), len)
}

/// (rows, cols, w) with random shape.
fn matrix() -> impl Strategy<Value = (usize, usize, Vec<f32>)> {
    (0usize..21, 0usize..45)
        .prop_flat_map(|(r, c)| (Just(r), Just(c), proptest::collection::vec(value(), r * c)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn dot_and_sum_squares_bits((a, b) in (0usize..90).prop_flat_map(|n| (vec_of(n..n + 1), vec_of(n..n + 1)))) {
        assert_same("dot", &[scalar::dot(&a, &b)], &[simd::dot(&a, &b)])?;
        assert_same("sum_squares", &[scalar::sum_squares(&a)], &[simd::sum_squares(&a)])?;
    }

    #[test]
    fn matvec_bits((rows, cols, w) in matrix(), seed in any::<u64>()) {
        let x = SplitMix64(seed).vec(cols, -2.0, 2.0);
        let mut ys = vec![f32::NAN; rows];
        let mut yv = vec![f32::NAN; rows];
        scalar::matvec(&w, cols, &x, &mut ys);
        simd::matvec(&w, cols, &x, &mut yv);
        assert_same("matvec", &ys, &yv)?;
        // Every row equals a stand-alone dot product.
        for r in 0..rows {
            prop_assert!(same(ys[r], scalar::dot(&w[r * cols..(r + 1) * cols], &x)));
        }
    }

    #[test]
    fn matvec_cols32_bits(rows in 0usize..40, seed in any::<u64>()) {
        let mut rng = SplitMix64(seed);
        let w = rng.vec(rows * 32, -1.0, 1.0);
        let x = rng.vec(32, -3.0, 3.0);
        let mut ys = vec![0.0; rows];
        let mut yv = vec![0.0; rows];
        scalar::matvec(&w, 32, &x, &mut ys);
        simd::matvec(&w, 32, &x, &mut yv);
        assert_same("matvec32", &ys, &yv)?;
    }

    #[test]
    fn matvec_batch_bits(rows8 in 0usize..6, extra in 0usize..3, cols in prop_oneof![Just(32usize), 1usize..40], batch in 0usize..5, seed in any::<u64>()) {
        let rows = 8 * rows8 + extra;
        let mut rng = SplitMix64(seed);
        let w = rng.vec(rows * cols, -1.0, 1.0);
        let xs = rng.vec(batch * cols, -3.0, 3.0);
        let mut ys = vec![f32::NAN; batch * rows];
        let mut yv = vec![f32::NAN; batch * rows];
        scalar::matvec_batch(&w, cols, &xs, &mut ys);
        simd::matvec_batch(&w, cols, &xs, &mut yv);
        assert_same("matvec_batch", &ys, &yv)?;
        // Each input's block equals a stand-alone matvec.
        for t in 0..batch {
            let mut one = vec![0.0; rows];
            scalar::matvec(&w, cols, &xs[t * cols..(t + 1) * cols], &mut one);
            assert_same("matvec_batch row", &one, &yv[t * rows..(t + 1) * rows])?;
        }
    }

    #[test]
    fn matvec_t_batch_bits(rows in 0usize..150, cols in prop_oneof![Just(32usize), 1usize..40], batch in 0usize..4, seed in any::<u64>()) {
        let mut rng = SplitMix64(seed);
        let w = rng.vec(rows * cols, -1.0, 1.0);
        let gs = rng.vec(batch * rows, -3.0, 3.0);
        let mut ds = vec![f32::NAN; batch * cols];
        let mut dv = vec![f32::NAN; batch * cols];
        scalar::matvec_t_batch(&w, cols, &gs, &mut ds);
        simd::matvec_t_batch(&w, cols, &gs, &mut dv);
        assert_same("matvec_t_batch", &ds, &dv)?;
    }

    #[test]
    fn matvec_t_and_outer_bits((rows, cols, w) in matrix(), seed in any::<u64>()) {
        let mut rng = SplitMix64(seed);
        let g = rng.vec(rows, -1.0, 1.0);
        let x = rng.vec(cols, -1.0, 1.0);
        let dx0 = rng.vec(cols, -1.0, 1.0);
        let (mut ds, mut dv) = (dx0.clone(), dx0);
        scalar::matvec_t_accumulate(&w, cols, &g, &mut ds);
        simd::matvec_t_accumulate(&w, cols, &g, &mut dv);
        assert_same("matvec_t_accumulate", &ds, &dv)?;
        let (mut ws, mut wv) = (w.clone(), w);
        scalar::outer_accumulate(&mut ws, &g, &x);
        simd::outer_accumulate(&mut wv, &g, &x);
        assert_same("outer_accumulate", &ws, &wv)?;
    }

    #[test]
    fn axpy_scale_bits((x, y) in (0usize..50).prop_flat_map(|n| (vec_of(n..n + 1), vec_of(n..n + 1))), a in value()) {
        let (mut ys, mut yv) = (y.clone(), y);
        scalar::axpy(a, &x, &mut ys);
        simd::axpy(a, &x, &mut yv);
        assert_same("axpy", &ys, &yv)?;
        scalar::scale(a, &mut ys);
        simd::scale(a, &mut yv);
        assert_same("scale", &ys, &yv)?;
    }

    #[test]
    fn softmax_entropy_bits(logits in vec_of(0..70), spread in 0.0f32..200.0) {
        let logits: Vec<f32> = logits.iter().map(|x| x * spread).collect();
        let mut ps = vec![0.0; logits.len()];
        let mut pv = vec![0.0; logits.len()];
        scalar::softmax(&logits, &mut ps);
        simd::softmax(&logits, &mut pv);
        assert_same("softmax", &ps, &pv)?;
        assert_same("entropy", &[scalar::entropy(&ps)], &[simd::entropy(&pv)])?;
        // Arbitrary vectors too (negative, NaN, > 1).
        assert_same("entropy raw", &[scalar::entropy(&logits)], &[simd::entropy(&logits)])?;
    }

    #[test]
    fn softmax_is_a_distribution(logits in proptest::collection::vec(finite_value(), 1..70), spread in 0.0f32..200.0) {
        let logits: Vec<f32> = logits.iter().map(|x| x * spread).collect();
        let mut p = vec![0.0; logits.len()];
        simd::softmax(&logits, &mut p);
        let total: f64 = p.iter().map(|&x| f64::from(x)).sum();
        prop_assert!((total - 1.0).abs() < 1e-5, "sum {}", total);
        let mx = logits.iter().cloned().fold(f32::MIN, f32::max);
        for (&l, &q) in logits.iter().zip(&p) {
            prop_assert!(q == 0.0 || q >= f32::MIN_POSITIVE, "subnormal probability {:e}", q);
            prop_assert!((q == 0.0) == (l - mx < SOFTMAX_CUTOFF));
        }
        let h = simd::entropy(&p);
        let h_ref: f64 = p.iter().filter(|&&q| q >= 1e-10).map(|&q| -f64::from(q) * f64::from(q).ln()).sum();
        prop_assert!(h >= 0.0 && (f64::from(h) - h_ref).abs() < 1e-5 * (1.0 + h_ref), "{} vs {}", h, h_ref);
    }

    #[test]
    fn adam_bits(n in 0usize..70, seed in any::<u64>(), big in any::<bool>()) {
        let mut rng = SplitMix64(seed);
        let gscale = if big { 1e3 } else { 1e-2 };
        let mut ps = rng.vec(n, -1.0, 1.0);
        let mut ms = rng.vec(n, -1e-3, 1e-3);
        let mut vs = rng.vec(n, 0.0, 1e-5);
        // Include exact zeros and flush-range values.
        for (i, p) in ps.iter_mut().enumerate() {
            if i % 7 == 3 { *p = 1e-25; }
        }
        let (mut pv, mut mv, mut vv) = (ps.clone(), ms.clone(), vs.clone());
        let (mut b1t, mut b2t) = (1.0f32, 1.0f32);
        for step in 0..3 {
            b1t *= 0.9;
            b2t *= 0.999;
            let s = AdamScalars::new(0.002, 0.9, 0.999, 1e-8, b1t, b2t);
            let mut g = rng.vec(n, -gscale, gscale);
            if step == 1 {
                g.iter_mut().step_by(3).for_each(|x| *x = 1e-17);
            }
            scalar::adam(&mut ps, &g, &mut ms, &mut vs, &s);
            simd::adam(&mut pv, &g, &mut mv, &mut vv, &s);
            assert_same("adam p", &ps, &pv)?;
            assert_same("adam m", &ms, &mv)?;
            assert_same("adam v", &vs, &vv)?;
        }
        for x in ps.iter().chain(&ms).chain(&vs) {
            prop_assert!(*x == 0.0 || x.abs() >= f32::MIN_POSITIVE);
        }
    }
}

#[test]
fn kernels_match_f64_math() {
    let mut rng = SplitMix64(7);
    let (rows, cols) = (37, 32);
    let w = rng.vec(rows * cols, -1.0, 1.0);
    let x = rng.vec(cols, -1.0, 1.0);
    let mut y = vec![0.0; rows];
    simd::matvec(&w, cols, &x, &mut y);
    for r in 0..rows {
        let want: f64 = (0..cols)
            .map(|c| f64::from(w[r * cols + c]) * f64::from(x[c]))
            .sum();
        assert!((f64::from(y[r]) - want).abs() < 1e-5, "row {r}");
    }
    let g = rng.vec(rows, -1.0, 1.0);
    let mut dx = vec![0.5; cols];
    simd::matvec_t_accumulate(&w, cols, &g, &mut dx);
    for c in 0..cols {
        let want: f64 = 0.5
            + (0..rows)
                .map(|r| f64::from(w[r * cols + c]) * f64::from(g[r]))
                .sum::<f64>();
        assert!((f64::from(dx[c]) - want).abs() < 1e-5, "col {c}");
    }
    let ss: f64 = w.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    assert!((f64::from(simd::sum_squares(&w)) - ss).abs() < 1e-4 * ss);
    // Softmax of equal logits is uniform, its entropy ln(n).
    let mut p = vec![3.0f32; 1000];
    super::softmax_in_place(&mut p);
    assert!(p.iter().all(|&q| (q - 1e-3).abs() < 1e-9));
    assert!((simd::entropy(&p) - 1000f32.ln()).abs() < 1e-5);
    // Degenerate inputs give a defined distribution.
    let mut p = vec![f32::NAN; 5];
    simd::softmax_in_place(&mut p);
    assert_eq!(p, vec![0.2; 5]);
    let mut p = vec![f32::NEG_INFINITY, 1.0, f32::NAN];
    simd::softmax_in_place(&mut p);
    assert_eq!(p, vec![0.0, 1.0, 0.0]);
}

#[test]
fn adam_matches_textbook() {
    // One step from m = v = 0: the update is lr·sign(g) (up to eps).
    let s = AdamScalars::new(0.002, 0.9, 0.999, 1e-8, 0.9, 0.999);
    let mut p = vec![1.0f32, -1.0, 0.5, 0.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let g = vec![0.3f32, -0.2, 0.0, 1e-20, 5.0, -5.0, 1e-3, -1e-3, 0.7];
    let (mut m, mut v) = (vec![0.0; 9], vec![0.0; 9]);
    let p0 = p.clone();
    simd::adam(&mut p, &g, &mut m, &mut v, &s);
    for i in 0..9 {
        let want = if g[i].abs() < super::ADAM_FLUSH_GRAD {
            0.0
        } else {
            0.002 * g[i].signum()
        };
        assert!(
            ((p0[i] - p[i]) - want).abs() < 1e-6,
            "i={i}: {} vs {want}",
            p0[i] - p[i]
        );
    }
    assert_eq!(
        m[3], 0.0,
        "a gradient below the flush threshold counts as 0"
    );
}

/// SplitMix64 (Steele, Lea, Flood 2014): the fixed pseudo-random source of the golden tests.
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next_u64(&mut self) -> u64 {
        crate::testutil::splitmix(&mut self.0)
    }
    /// Uniform in [lo, hi): 24 random bits scaled exactly to [0, 1), then `lo + (hi - lo)·u`.
    pub(crate) fn f32(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 * (1.0 / 16_777_216.0);
        lo + (hi - lo) * u
    }
    pub(crate) fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.f32(lo, hi)).collect()
    }
}

#[test]
fn splitmix64_reference_values() {
    // First outputs for seed 0 (from the reference C implementation).
    let mut r = SplitMix64(0);
    assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
    assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
}

fn fnv(hash: &mut u64, values: &[f32]) {
    for v in values {
        for b in v.to_bits().to_le_bytes() {
            *hash ^= u64::from(b);
            *hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
}

/// The kernel set under test: the scalar or the SIMD module.
#[derive(Clone, Copy, Debug)]
enum Impl {
    Scalar,
    Simd,
}

/// Runs every kernel on fixed pseudo-random inputs and hashes all outputs, one hash per kernel.
fn golden_run(which: Impl) -> [u64; 8] {
    macro_rules! k {
        ($f:ident($($a:expr),*)) => {
            match which {
                Impl::Scalar => scalar::$f($($a),*),
                Impl::Simd => super::$f($($a),*),
            }
        };
    }
    let mut h = [0xCBF2_9CE4_8422_2325u64; 8];
    let mut rng = SplitMix64(0x55AA_1234);
    for cols in [32usize, 37, 8, 5] {
        let rows = 1003;
        let w = rng.vec(rows * cols, -0.5, 0.5);
        let x = rng.vec(cols, -2.0, 2.0);
        let g = rng.vec(rows, -1.0, 1.0);
        let mut y = vec![0.0; rows];
        k!(matvec(&w, cols, &x, &mut y));
        fnv(&mut h[0], &y);
        fnv(&mut h[0], &[k!(dot(&w[..cols * 3], &w[cols..cols * 4]))]);
        let mut dx = rng.vec(cols, -1.0, 1.0);
        k!(matvec_t_accumulate(&w, cols, &g, &mut dx));
        fnv(&mut h[1], &dx);
        let mut dw = w.clone();
        k!(outer_accumulate(&mut dw, &g, &x));
        fnv(&mut h[2], &dw);
    }
    for (n, spread) in [(16_387usize, 12.0f32), (1000, 100.0), (77, 1.0), (5, 3.0)] {
        let logits = rng.vec(n, -spread, spread);
        let mut p = vec![0.0; n];
        k!(softmax(&logits, &mut p));
        fnv(&mut h[3], &p);
        fnv(&mut h[4], &[k!(entropy(&p))]);
    }
    let n = 10_007;
    let mut p = rng.vec(n, -0.1, 0.1);
    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
    let (mut b1t, mut b2t) = (1.0f32, 1.0f32);
    for _ in 0..5 {
        b1t *= 0.9;
        b2t *= 0.999;
        let s = AdamScalars::new(0.002, 0.9, 0.999, 1e-8, b1t, b2t);
        let g = rng.vec(n, -0.05, 0.05);
        k!(adam(&mut p, &g, &mut m, &mut v, &s));
    }
    fnv(&mut h[5], &p);
    fnv(&mut h[5], &m);
    fnv(&mut h[5], &v);
    fnv(
        &mut h[6],
        &[k!(sum_squares(&p)), k!(sum_squares(&p[..n - 3]))],
    );
    let mut y = rng.vec(n - 1, -1.0, 1.0);
    k!(axpy(0.37, &p[1..], &mut y));
    k!(scale(-1.73, &mut y));
    fnv(&mut h[7], &y);
    h
}

/// Frozen bits of every kernel (part of the compressed format). A different build, target
/// or `wide` version that changes even one bit of any output fails here.
/// matvec (+dot), matvec_t_accumulate, outer_accumulate, softmax, entropy, adam,
/// sum_squares, axpy + scale.
const GOLDEN: [u64; 8] = [
    0x9020_e1e8_3f52_b340,
    0x703d_3678_5280_7407,
    0x2291_87cf_0817_91a6,
    0x5732_93d0_3991_80f7,
    0xea41_ecfa_8400_ae7d,
    0x24bc_b503_c50d_8653,
    0xe89e_4f65_d4c5_b5a0,
    0xa2bb_c978_a980_b8e5,
];

#[test]
fn kernels_golden_hashes() {
    eprintln!(
        "built with avx={} avx2={} fma={}",
        cfg!(target_feature = "avx"),
        cfg!(target_feature = "avx2"),
        cfg!(target_feature = "fma")
    );
    let s = golden_run(Impl::Scalar);
    let v = golden_run(Impl::Simd);
    for (i, (a, b)) in s.iter().zip(&v).enumerate() {
        eprintln!("kernels golden [{i}]: scalar {a:#018x} simd {b:#018x}");
    }
    assert_eq!(s, v, "scalar and SIMD kernels differ");
    assert_eq!(
        s, GOLDEN,
        "kernel golden hashes changed: the format would change"
    );
}

/// Timings (release): `cargo test --release -p ssmix kernels_bench -- --ignored --nocapture`.
#[test]
#[ignore = "timing, run on demand"]
fn kernels_bench() {
    use std::hint::black_box;
    use std::time::Instant;
    // Best of 7 batches: the machine is shared, the minimum is the least disturbed figure.
    fn time(name: &str, iters: u32, mut f: impl FnMut()) {
        f();
        let mut best = f64::INFINITY;
        for _ in 0..7 {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            best = best.min(t.elapsed().as_nanos() as f64 / f64::from(iters));
        }
        eprintln!("{name:<40} {best:>12.0} ns/call");
    }
    let mut rng = SplitMix64(1);
    let (v, d) = (16_384usize, 32usize);
    let w = rng.vec(v * d, -0.1, 0.1);
    let x = rng.vec(d, -1.0, 1.0);
    let mut y = vec![0.0; v];
    time("matvec 16384x32 scalar", 40, || {
        scalar::matvec(black_box(&w), d, &x, &mut y)
    });
    time("matvec 16384x32 simd", 40, || {
        simd::matvec(black_box(&w), d, &x, &mut y)
    });
    let small = 4096;
    let mut ys = vec![0.0; small];
    time("matvec 4096x32 (fits L2) scalar", 100, || {
        scalar::matvec(black_box(&w[..small * d]), d, &x, &mut ys)
    });
    time("matvec 4096x32 (fits L2) simd", 100, || {
        simd::matvec(black_box(&w[..small * d]), d, &x, &mut ys)
    });
    let g = rng.vec(v, -1.0, 1.0);
    let mut dx = vec![0.0; d];
    time("matvec_t_accumulate 16384x32 scalar", 40, || {
        scalar::matvec_t_accumulate(black_box(&w), d, &g, &mut dx)
    });
    time("matvec_t_accumulate 16384x32 simd", 40, || {
        simd::matvec_t_accumulate(black_box(&w), d, &g, &mut dx)
    });
    let mut dw = vec![0.0; v * d];
    time("outer_accumulate 16384x32 scalar", 40, || {
        scalar::outer_accumulate(&mut dw, &g, black_box(&x))
    });
    time("outer_accumulate 16384x32 simd", 40, || {
        simd::outer_accumulate(&mut dw, &g, black_box(&x))
    });
    let logits = rng.vec(v, -10.0, 10.0);
    let mut p = vec![0.0; v];
    time("softmax 16384 scalar", 40, || {
        scalar::softmax(black_box(&logits), &mut p)
    });
    time("softmax 16384 simd", 40, || {
        simd::softmax(black_box(&logits), &mut p)
    });
    time("entropy 16384 scalar", 40, || {
        black_box(scalar::entropy(black_box(&p)));
    });
    time("entropy 16384 simd", 40, || {
        black_box(simd::entropy(black_box(&p)));
    });
    let n = 600_000;
    let mut prm = rng.vec(n, -0.1, 0.1);
    let grads = rng.vec(n, -0.01, 0.01);
    let (mut m, mut vv) = (vec![0.0; n], vec![0.0; n]);
    let s = AdamScalars::new(0.002, 0.9, 0.999, 1e-8, 0.9, 0.999);
    time("adam 600K scalar", 10, || {
        scalar::adam(&mut prm, black_box(&grads), &mut m, &mut vv, &s)
    });
    time("adam 600K simd", 10, || {
        simd::adam(&mut prm, black_box(&grads), &mut m, &mut vv, &s)
    });
    time("sum_squares 600K scalar", 10, || {
        black_box(scalar::sum_squares(black_box(&grads)));
    });
    time("sum_squares 600K simd", 10, || {
        black_box(simd::sum_squares(black_box(&grads)));
    });
}
