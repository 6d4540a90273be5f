//! Deterministic f32 math: `exp`, `ln`, `ln_1p`, `softplus`, `sigmoid`, `silu`.
//!
//! Every number that feeds a probability must have the same bits in the compressor and the
//! decompressor, on every machine and SIMD level. std's transcendental functions do not promise
//! that (their precision is documented as platform dependent) and `wide`'s `exp`/`ln` use
//! `mul_add`, which is fused on FMA builds only. So these functions use nothing but IEEE-754
//! `+ - * /`, ordered comparisons with lane selects, and integer bit manipulation of the float
//! representation; there is no `floor`, no float-to-int conversion, no FMA. Rounding to an
//! integer uses the "magic number" trick: for |t| < 2^22, `(t + 1.5·2^23) - 1.5·2^23` is `t`
//! rounded to nearest-even, and the low mantissa bits of `t + 1.5·2^23` hold that integer.
//!
//! Each function exists once, generic over [`Lanes`], and is instantiated for `f32` (the scalar
//! reference) and for `f32x8` (lane-wise, the `_x8` functions). Both instantiations execute the
//! same operations in the same order, so they produce identical bits; the tests check this
//! bitwise and a golden hash over a fixed input grid freezes the results (the output is part of
//! the file format).
//!
//! Domains: all functions are total. Inputs are clamped to a documented range first, with
//! clamps written as `if x > lo { x } else { lo }` so that NaN becomes the *lower* bound
//! ("NaN behaves like -inf"). No function returns NaN, an infinity or a subnormal for any
//! input, and subnormal inputs give the same result as with DAZ (treated as 0). The
//! algorithms are Cephes' `expf`/`logf` (S. L. Moshier), accurate to a few ulp.
//!
//! Assumed floating-point environment: round-to-nearest-even, no flush-to-zero (FTZ) and no
//! denormals-are-zero (DAZ). [`fp_env_is_ieee`] checks this at run time.

use std::ops::{Add, Div, Mul, Sub};

use wide::{f32x8, u32x8};

/// `1.5 · 2^23`: adding it to |t| < 2^22 rounds t to an integer (ties to even).
const MAGIC: f32 = 12_582_912.0;
/// `127 - bits(MAGIC)` (wrapping): turns `bits(t + MAGIC)` into the biased exponent `k + 127`.
const EXP_BIAS_ADJ: u32 = 127u32.wrapping_sub(0x4B40_0000);

/// Lower input clamp of [`exp`]: `exp(-87) ≈ 1.65e-38` is still a normal float.
pub(crate) const EXP_MIN_ARG: f32 = -87.0;
/// Upper input clamp of [`exp`]: `exp(88) ≈ 1.65e38` is below `f32::MAX`.
pub(crate) const EXP_MAX_ARG: f32 = 88.0;
/// Input clamp of [`sigmoid`] (both signs) and lower clamp of [`silu`]:
/// `sigmoid(-80) ≈ 1.8e-35` stays normal, `sigmoid(x) == 1.0` in f32 from x ≈ 17 on.
pub(crate) const SIGMOID_MAX_ARG: f32 = 80.0;

const LOG2E: f32 = std::f32::consts::LOG2_E;
// ln 2 split in a high part with 9 significant bits (so k·LN2_HI is exact for |k| <= 2^15) and
// the rest (Cephes' C1, C2).
// Constants keep the digits Cephes publishes; Rust rounds literals correctly, so the f32 value
// is the same on every build (clippy would shorten them to the round-trip digits).
#[allow(clippy::excessive_precision)]
const LN2_HI: f32 = 0.693_359_375;
const LN2_LO: f32 = -2.121_944_4e-4;

// Cephes expf: e^r ≈ 1 + r + r²·P(r) on |r| <= ln2/2.
const EXP_P0: f32 = 1.987_569_1e-4;
const EXP_P1: f32 = 1.398_199_9e-3;
const EXP_P2: f32 = 8.333_452e-3;
const EXP_P3: f32 = 4.166_579_6e-2;
const EXP_P4: f32 = 1.666_666_5e-1;
#[allow(clippy::excessive_precision)]
const EXP_P5: f32 = 5.000_000_1e-1;

// Cephes logf: ln(1+f) ≈ f - f²/2 + f³·L(f) on sqrt(1/2)-1 <= f < sqrt(2)-1.
const LOG_L0: f32 = 7.037_683_6e-2;
const LOG_L1: f32 = -1.151_461e-1;
const LOG_L2: f32 = 1.167_699_9e-1;
const LOG_L3: f32 = -1.242_014_1e-1;
const LOG_L4: f32 = 1.424_932_3e-1;
const LOG_L5: f32 = -1.666_805_8e-1;
const LOG_L6: f32 = 2.000_071_4e-1;
const LOG_L7: f32 = -2.499_999_4e-1;
#[allow(clippy::excessive_precision)]
const LOG_L8: f32 = 3.333_333_1e-1;
const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// `MAGIC + 126`: subtracting it from `MAGIC + biased_exponent` gives the exponent of a
/// mantissa in [0.5, 1).
const MAGIC_PLUS_126: f32 = 12_583_038.0;

/// The operations the deterministic functions are built from, for `f32` and `f32x8`.
///
/// Implementations must map each method to the same IEEE-754 operation per lane; that is what
/// makes the scalar and SIMD instantiations bit-identical.
pub(crate) trait Lanes:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self>
{
    /// Every lane set to `v`.
    fn splat(v: f32) -> Self;
    /// Per lane `if a > b { t } else { f }` (ordered: false if a or b is NaN).
    fn if_gt(a: Self, b: Self, t: Self, f: Self) -> Self;
    /// Per lane `if a < b { t } else { f }` (ordered: false if a or b is NaN).
    fn if_lt(a: Self, b: Self, t: Self, f: Self) -> Self;
    /// Per lane `|x|` by clearing the sign bit.
    fn abs(self) -> Self;
    /// For `s = t + MAGIC` with `t` an integer k in -126..=127: the float `2^k`, built from
    /// the bits `(k + 127) << 23`.
    fn pow2_from_magic(s: Self) -> Self;
    /// For a positive normal float `x = m · 2^e` with m in [0.5, 1): returns `(m, MAGIC + e + 126)`
    /// (the second as a float, exact), using only bit operations.
    fn split_mantissa(x: Self) -> (Self, Self);
}

impl Lanes for f32 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn if_gt(a: Self, b: Self, t: Self, f: Self) -> Self {
        if a > b { t } else { f }
    }
    #[inline(always)]
    fn if_lt(a: Self, b: Self, t: Self, f: Self) -> Self {
        if a < b { t } else { f }
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f32::from_bits(self.to_bits() & 0x7FFF_FFFF)
    }
    #[inline(always)]
    fn pow2_from_magic(s: Self) -> Self {
        f32::from_bits(s.to_bits().wrapping_add(EXP_BIAS_ADJ) << 23)
    }
    #[inline(always)]
    fn split_mantissa(x: Self) -> (Self, Self) {
        let b = x.to_bits();
        let m = f32::from_bits((b & 0x007F_FFFF) | 0x3F00_0000);
        let e = f32::from_bits(0x4B40_0000 | (b >> 23));
        (m, e)
    }
}

impl Lanes for f32x8 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        f32x8::splat(v)
    }
    #[inline(always)]
    fn if_gt(a: Self, b: Self, t: Self, f: Self) -> Self {
        a.simd_gt(b).select(t, f)
    }
    #[inline(always)]
    fn if_lt(a: Self, b: Self, t: Self, f: Self) -> Self {
        a.simd_lt(b).select(t, f)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f32x8::from_bits(self.to_bits() & u32x8::splat(0x7FFF_FFFF))
    }
    #[inline(always)]
    fn pow2_from_magic(s: Self) -> Self {
        f32x8::from_bits((s.to_bits() + u32x8::splat(EXP_BIAS_ADJ)) << 23)
    }
    #[inline(always)]
    fn split_mantissa(x: Self) -> (Self, Self) {
        let b = x.to_bits();
        let m = f32x8::from_bits((b & u32x8::splat(0x007F_FFFF)) | u32x8::splat(0x3F00_0000));
        let e = f32x8::from_bits(u32x8::splat(0x4B40_0000) | (b >> 23));
        (m, e)
    }
}

/// `0` where `|x| < threshold`, else `x`.
#[inline(always)]
fn flush<T: Lanes>(x: T, threshold: f32) -> T {
    T::if_lt(x.abs(), T::splat(threshold), T::splat(0.0), x)
}

/// `lo <= result <= hi`; NaN becomes `lo`.
#[inline(always)]
fn clamp<T: Lanes>(x: T, lo: f32, hi: f32) -> T {
    let lo = T::splat(lo);
    let hi = T::splat(hi);
    let x = T::if_gt(x, lo, x, lo);
    T::if_lt(x, hi, x, hi)
}

/// Cephes `expf`: x = k·ln2 + r, e^r by a degree-7 polynomial, times 2^k from exponent bits.
#[inline(always)]
fn exp_impl<T: Lanes>(x: T) -> T {
    let x = clamp(x, EXP_MIN_ARG, EXP_MAX_ARG);
    let t = x * T::splat(LOG2E);
    let s = t + T::splat(MAGIC);
    let k = s - T::splat(MAGIC);
    let r = x - k * T::splat(LN2_HI);
    let r = r - k * T::splat(LN2_LO);
    let z = r * r;
    let mut y = T::splat(EXP_P0);
    y = y * r + T::splat(EXP_P1);
    y = y * r + T::splat(EXP_P2);
    y = y * r + T::splat(EXP_P3);
    y = y * r + T::splat(EXP_P4);
    y = y * r + T::splat(EXP_P5);
    let y = (y * z + r) + T::splat(1.0);
    y * T::pow2_from_magic(s)
}

/// Cephes `logf`: x = m·2^e with m in [sqrt(1/2), sqrt(2)), ln(m) by polynomial, + e·ln2.
#[inline(always)]
fn ln_impl<T: Lanes>(x: T) -> T {
    let x = clamp(x, f32::MIN_POSITIVE, f32::MAX);
    let (m, e) = T::split_mantissa(x);
    let e = e - T::splat(MAGIC_PLUS_126);
    let one = T::splat(1.0);
    // m < sqrt(1/2): use 2m - 1 and e - 1 (both exact).
    let f = T::if_lt(m, T::splat(SQRT_HALF), (m + m) - one, m - one);
    let e = T::if_lt(m, T::splat(SQRT_HALF), e - one, e);
    let z = f * f;
    let mut y = T::splat(LOG_L0);
    y = y * f + T::splat(LOG_L1);
    y = y * f + T::splat(LOG_L2);
    y = y * f + T::splat(LOG_L3);
    y = y * f + T::splat(LOG_L4);
    y = y * f + T::splat(LOG_L5);
    y = y * f + T::splat(LOG_L6);
    y = y * f + T::splat(LOG_L7);
    y = y * f + T::splat(LOG_L8);
    let y = (y * f) * z;
    let y = y + e * T::splat(LN2_LO);
    let y = y - z * T::splat(0.5);
    let r = f + y;
    r + e * T::splat(LN2_HI)
}

/// ln(1 + y) for y >= 0: `u = 1 + y` loses the low bits of y; `(y - (u - 1)) / u` adds them
/// back (u - 1 is exact), which keeps the relative error small for tiny y.
#[inline(always)]
fn ln_1p_impl<T: Lanes>(y: T) -> T {
    // Subnormal y count as 0, so the result never is subnormal (and DAZ cannot matter).
    let y = flush(clamp(y, 0.0, f32::MAX), f32::MIN_POSITIVE);
    let u = T::splat(1.0) + y;
    let c = y - (u - T::splat(1.0));
    ln_impl(u) + c / u
}

/// softplus(x) = max(x, 0) + ln(1 + e^-|x|), free of cancellation on both sides.
#[inline(always)]
fn softplus_impl<T: Lanes>(x: T) -> T {
    let x = clamp(x, -f32::MAX, f32::MAX);
    let zero = T::splat(0.0);
    let e = exp_impl(zero - x.abs());
    let pos = T::if_gt(x, zero, x, zero);
    pos + ln_1p_impl(e)
}

#[inline(always)]
fn sigmoid_impl<T: Lanes>(x: T) -> T {
    let x = clamp(x, -SIGMOID_MAX_ARG, SIGMOID_MAX_ARG);
    let one = T::splat(1.0);
    one / (one + exp_impl(T::splat(0.0) - x))
}

#[inline(always)]
fn silu_impl<T: Lanes>(x: T) -> T {
    // |x| < 2^-125 gives 0: x·sigmoid(x) ≈ x/2 would be subnormal.
    let x = flush(
        clamp(x, -SIGMOID_MAX_ARG, f32::MAX),
        2.0 * f32::MIN_POSITIVE,
    );
    x * sigmoid_impl(x)
}

/// e^x. Input clamped to [[`EXP_MIN_ARG`], [`EXP_MAX_ARG`]] = [-87, 88] (NaN -> -87), so the
/// result is a normal float in [1.65e-38, 1.65e38]. Max relative error about 1.2e-7
/// (measured, see tests). `exp(0) == 1` exactly.
#[inline]
pub(crate) fn exp(x: f32) -> f32 {
    exp_impl(x)
}

/// Lane-wise [`exp`], bit-identical to it.
#[inline]
pub(crate) fn exp_x8(x: f32x8) -> f32x8 {
    exp_impl(x)
}

/// Natural logarithm. Input clamped to [`f32::MIN_POSITIVE`, `f32::MAX`]: 0, negatives,
/// subnormals and NaN give `ln(MIN_POSITIVE) ≈ -87.336`, +inf gives `ln(MAX) ≈ 88.723`.
/// Max relative error about 1e-7 on positive normal floats; `ln(1) == 0` exactly.
#[inline]
pub(crate) fn ln(x: f32) -> f32 {
    ln_impl(x)
}

/// Lane-wise [`ln`], bit-identical to it.
#[inline]
pub(crate) fn ln_x8(x: f32x8) -> f32x8 {
    ln_impl(x)
}

/// ln(1 + y), accurate for tiny y (relative error about 1e-7). Input clamped to
/// [0, `f32::MAX`] (negative and NaN give 0); subnormal y count as 0.
#[inline]
pub(crate) fn ln_1p(y: f32) -> f32 {
    ln_1p_impl(y)
}

/// Lane-wise [`ln_1p`], bit-identical to it.
#[inline]
pub(crate) fn ln_1p_x8(y: f32x8) -> f32x8 {
    ln_1p_impl(y)
}

/// softplus(x) = ln(1 + e^x), computed as `max(x, 0) + ln_1p(exp(-|x|))`. Input clamped to
/// ±`f32::MAX` (NaN -> -MAX). For x <= -87 the result is `exp(-87) ≈ 1.65e-38` (the exp
/// clamp), never 0 or subnormal; for x >= 88 it is x. Relative error about 2e-7.
#[inline]
pub(crate) fn softplus(x: f32) -> f32 {
    softplus_impl(x)
}

/// Lane-wise [`softplus`], bit-identical to it.
#[inline]
pub(crate) fn softplus_x8(x: f32x8) -> f32x8 {
    softplus_impl(x)
}

/// Logistic sigmoid `1 / (1 + e^-x)`. Input clamped to ±[`SIGMOID_MAX_ARG`] = ±80 (NaN -> -80),
/// so the result lies in [1.8e-35, 1]. Relative error about 2e-7.
#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    sigmoid_impl(x)
}

/// Lane-wise [`sigmoid`], bit-identical to it.
#[inline]
pub(crate) fn sigmoid_x8(x: f32x8) -> f32x8 {
    sigmoid_impl(x)
}

/// SiLU `x · sigmoid(x)`. Input clamped to [-80, `f32::MAX`] (NaN -> -80), so the most
/// negative-side result is `silu(-80) ≈ -1.4e-33` instead of a subnormal; |x| < 2^-125
/// (where x/2 would be subnormal) gives 0.
#[inline]
pub(crate) fn silu(x: f32) -> f32 {
    silu_impl(x)
}

/// Lane-wise [`silu`], bit-identical to it.
#[inline]
pub(crate) fn silu_x8(x: f32x8) -> f32x8 {
    silu_impl(x)
}

/// `0.0` if `|x| < threshold`, else `x` (NaN passes). Keeps state out of the subnormal range,
/// where a host process with FTZ/DAZ enabled would compute different bits.
#[inline]
pub(crate) fn flush_below(x: f32, threshold: f32) -> f32 {
    if x.abs() < threshold { 0.0 } else { x }
}

/// Lane-wise [`flush_below`], bit-identical to it.
#[inline]
pub(crate) fn flush_below_x8(x: f32x8, threshold: f32) -> f32x8 {
    Lanes::if_lt(Lanes::abs(x), f32x8::splat(threshold), f32x8::splat(0.0), x)
}

/// Checks the floating-point environment these functions assume: round-to-nearest-even and
/// IEEE subnormals (no FTZ/DAZ, which a host process can switch on per thread, e.g. code
/// built with `-ffast-math`). A codec can call this once per block and refuse to run
/// otherwise, turning a silent mismatch into an error.
pub(crate) fn fp_env_is_ieee() -> bool {
    use std::hint::black_box;
    let one = black_box(1.0f32);
    // Ties to even: 1 + 2^-24 is a tie and rounds down; 1 + 3·2^-24 rounds up to 1 + 2^-22.
    let ties = one + black_box(f32::EPSILON * 0.5) == 1.0
        && one + black_box(f32::EPSILON * 1.5) == 1.0 + 2.0 * f32::EPSILON;
    let down = black_box(-1.0f32) - black_box(f32::EPSILON * 0.75) == -1.0 - f32::EPSILON;
    // FTZ: a result below MIN_POSITIVE stays subnormal. DAZ: a subnormal input is not zero.
    let ftz_off = black_box(f32::MIN_POSITIVE) * black_box(0.5) != 0.0;
    let daz_off = black_box(f32::from_bits(1)) != 0.0;
    ties && down && ftz_off && daz_off
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Pair = (fn(f32) -> f32, fn(f32x8) -> f32x8);
    const FUNCS: [(&str, Pair); 6] = [
        ("exp", (exp, exp_x8)),
        ("ln", (ln, ln_x8)),
        ("ln_1p", (ln_1p, ln_1p_x8)),
        ("softplus", (softplus, softplus_x8)),
        ("sigmoid", (sigmoid, sigmoid_x8)),
        ("silu", (silu, silu_x8)),
    ];

    const SPECIAL: [f32; 22] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        1.0e-45,
        -1.0e-45,
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -87.0,
        -87.5,
        88.0,
        88.5,
        80.0,
        -80.0,
        0.5,
        std::f32::consts::LN_2,
        1.0e30,
    ];

    /// Runs the SIMD version on 8 inputs and checks each lane against the scalar bits.
    fn check_lanes(name: &str, f: Pair, xs: [f32; 8]) {
        let v = (f.1)(f32x8::new(xs)).to_array();
        for (x, got) in xs.iter().zip(v) {
            let want = (f.0)(*x);
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{name}({x:e}): simd {got:e} != scalar {want:e}"
            );
            assert!(want.is_finite(), "{name}({x:e}) = {want:e} is not finite");
            let subnormal = want != 0.0 && want.abs() < f32::MIN_POSITIVE;
            assert!(!subnormal, "{name}({x:e}) = {want:e} is subnormal");
            // DAZ would read a subnormal input as 0: the result must not depend on that.
            if *x != 0.0 && x.abs() < f32::MIN_POSITIVE {
                assert_eq!(
                    want.to_bits(),
                    (f.0)(0.0).to_bits(),
                    "{name}({x:e}) != {name}(0)"
                );
            }
        }
    }

    #[test]
    fn special_values_simd_equals_scalar_and_are_finite() {
        for (name, f) in FUNCS {
            for chunk in SPECIAL.chunks(8) {
                let mut xs = [0.25f32; 8];
                xs[..chunk.len()].copy_from_slice(chunk);
                check_lanes(name, f, xs);
            }
        }
    }

    #[test]
    fn exact_values() {
        assert_eq!(exp(0.0).to_bits(), 1.0f32.to_bits());
        assert_eq!(ln(1.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(ln_1p(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(exp(f32::NAN), exp(EXP_MIN_ARG));
        assert_eq!(ln(0.0), ln(f32::MIN_POSITIVE));
        assert_eq!(ln(-5.0), ln(f32::MIN_POSITIVE));
        assert_eq!(ln(f32::INFINITY), ln(f32::MAX));
        assert_eq!(softplus(1000.0), 1000.0);
        assert_eq!(sigmoid(100.0), 1.0);
        assert_eq!(flush_below(1e-30, 1e-20), 0.0);
        assert_eq!(flush_below(-3.0, 1e-20), -3.0);
        assert!(fp_env_is_ieee());
    }

    /// Max relative error vs an f64 reference over `n` evenly spaced points of [lo, hi].
    fn max_rel_err(f: fn(f32) -> f32, r: fn(f64) -> f64, lo: f32, hi: f32, n: usize) -> f64 {
        let mut worst = 0.0f64;
        for i in 0..=n {
            let x = lo + (hi - lo) * (i as f32 / n as f32);
            let want = r(x as f64);
            let got = f(x) as f64;
            let err = ((got - want) / want).abs();
            if want != 0.0 && err > worst {
                worst = err;
            }
        }
        worst
    }

    fn softplus_ref(x: f64) -> f64 {
        x.max(0.0) + (-x.abs()).exp().ln_1p()
    }
    fn sigmoid_ref(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    #[test]
    fn accuracy_against_f64() {
        let n = 400_000;
        let cases: [(&str, f64, f64); 8] = [
            ("exp", max_rel_err(exp, f64::exp, -87.0, 88.0, n), 2e-7),
            ("ln near 1", max_rel_err(ln, f64::ln, 0.5, 2.0, n), 2e-7),
            ("ln wide", max_rel_err(ln, f64::ln, 1e-6, 1e6, n), 2e-7),
            ("ln_1p", max_rel_err(ln_1p, f64::ln_1p, 0.0, 4.0, n), 2e-7),
            (
                "softplus",
                max_rel_err(softplus, softplus_ref, -80.0, 100.0, n),
                3e-7,
            ),
            (
                "sigmoid",
                max_rel_err(sigmoid, sigmoid_ref, -80.0, 80.0, n),
                3e-7,
            ),
            (
                "silu",
                max_rel_err(silu, |x| x * sigmoid_ref(x), -80.0, 80.0, n),
                3e-7,
            ),
            (
                "exp small",
                max_rel_err(exp, f64::exp, -1e-3, 1e-3, n),
                2e-7,
            ),
        ];
        for (name, err, bound) in cases {
            eprintln!("{name}: max relative error {err:.3e}");
            assert!(
                err < bound,
                "{name}: max relative error {err:e} >= {bound:e}"
            );
        }
        // Tiny and huge ln arguments, exercising every exponent.
        let mut x = f32::MIN_POSITIVE;
        while x < f32::MAX / 3.0 {
            let want = (x as f64).ln();
            let err = ((ln(x) as f64 - want) / want).abs();
            assert!(err < 2e-7, "ln({x:e}) rel err {err:e}");
            x *= 2.999;
        }
        // Near 1, where ln(x) is tiny: still relative accuracy.
        for k in 1..2000u32 {
            for x in [
                f32::from_bits(1.0f32.to_bits() + k),
                f32::from_bits(1.0f32.to_bits() - k),
            ] {
                let want = (x as f64).ln();
                let err = ((ln(x) as f64 - want) / want).abs();
                assert!(err < 2e-7, "ln({x:e}) rel err {err:e}");
            }
        }
        // ln_1p keeps relative accuracy for tiny arguments.
        for y in [1e-30f32, 1e-20, 1e-10, 1e-8, 3e-7, 1e-5] {
            let want = (y as f64).ln_1p();
            let err = ((ln_1p(y) as f64 - want) / want).abs();
            assert!(err < 2e-7, "ln_1p({y:e}) rel err {err:e}");
        }
    }

    fn any_f32() -> impl Strategy<Value = f32> {
        prop_oneof![
            4 => -100.0f32..100.0,
            2 => -1.0f32..1.0,
            1 => proptest::sample::select(SPECIAL.to_vec()),
            2 => any::<u32>().prop_map(f32::from_bits),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn simd_bits_equal_scalar_bits(xs in proptest::array::uniform8(any_f32())) {
            for (name, f) in FUNCS {
                check_lanes(name, f, xs);
            }
            let t = xs[0].abs();
            let a = flush_below_x8(f32x8::new(xs), t).to_array();
            for (x, got) in xs.iter().zip(a) {
                prop_assert_eq!(got.to_bits(), flush_below(*x, t).to_bits());
            }
        }

        #[test]
        fn monotone_where_expected(a in -90.0f32..90.0, b in -90.0f32..90.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(exp(lo) <= exp(hi));
            prop_assert!(sigmoid(lo) <= sigmoid(hi));
            prop_assert!(softplus(lo) <= softplus(hi));
            let (plo, phi) = (lo.abs() + 1e-3, hi.abs() + 2e-3);
            if plo <= phi {
                prop_assert!(ln(plo) <= ln(phi));
            }
        }
    }

    /// FNV-1a 64 over the little-endian bytes of each value's bits.
    pub(crate) fn fnv1a(hash: &mut u64, values: &[f32]) {
        for v in values {
            for b in v.to_bits().to_le_bytes() {
                *hash ^= u64::from(b);
                *hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
            }
        }
    }

    /// The fixed input grid of the golden test: a dense sweep of [-100, 100], a log-spaced
    /// sweep of positive magnitudes of both signs, and the special values.
    fn golden_grid() -> Vec<f32> {
        let mut xs: Vec<f32> = (0..=20_000).map(|i| -100.0 + i as f32 * 0.01).collect();
        let mut m = 1.0e-40f32;
        while m < 1.0e38 {
            xs.push(m);
            xs.push(-m);
            m *= 1.37;
        }
        xs.extend_from_slice(&SPECIAL);
        while !xs.len().is_multiple_of(8) {
            xs.push(0.125);
        }
        xs
    }

    /// Golden hashes: these freeze the exact bits of every function (they are part of the
    /// compressed format). A build whose results differ in even one bit fails here.
    #[test]
    fn golden_hashes() {
        let xs = golden_grid();
        let mut got = [0u64; 6];
        for ((name, f), slot) in FUNCS.iter().zip(&mut got) {
            let scalar: Vec<f32> = xs.iter().map(|x| (f.0)(*x)).collect();
            let simd: Vec<f32> = xs
                .chunks_exact(8)
                .flat_map(|c| (f.1)(f32x8::new(c.try_into().unwrap())).to_array())
                .collect();
            let (mut hs, mut hv) = (FNV_OFFSET, FNV_OFFSET);
            fnv1a(&mut hs, &scalar);
            fnv1a(&mut hv, &simd);
            assert_eq!(hs, hv, "{name}: scalar and SIMD hashes differ");
            eprintln!("detmath golden {name}: {hs:#018x}");
            *slot = hs;
        }
        assert_eq!(
            got, GOLDEN,
            "detmath golden hashes changed: the format would change"
        );
    }

    pub(crate) const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;

    /// exp, ln, ln_1p, softplus, sigmoid, silu over [`golden_grid`].
    const GOLDEN: [u64; 6] = [
        0xb23e_5554_4581_ba4f,
        0xb5fb_0747_dcb8_418b,
        0x1e64_3c87_0091_2767,
        0x5fa3_c6df_f590_b23d,
        0x20a0_3198_1ea5_3aed,
        0xac7d_0b03_1fe0_7b03,
    ];
}
