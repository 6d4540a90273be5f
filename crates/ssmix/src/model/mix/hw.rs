//! The mixing model's hardware-specific code: the mixer's dot product and weight update
//! with AVX2 intrinsics, chosen at run time.
//!
//! This is the only module of the library with `unsafe`: calling a `#[target_feature]`
//! function and loading vectors from slices cannot be done in safe Rust. All the
//! arithmetic is integer and exact (see `avx2::train_small` for the one rewritten formula), so
//! the AVX2 loops return the same bits as the scalar reference in any order; the tests
//! check that bit for bit. It also holds `prefetch`, the cache hint the model gives for the
//! table entries of its next decisions (an intrinsic that needs `unsafe` too).

#![allow(unsafe_code)]

/// The instruction set of the mixer loops, detected once when a mixer is built.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cpu {
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx2: bool,
}

/// Mixer inputs, and whether the AVX2 update's 32-bit formula holds for them (all within
/// ±2^15): checked once, then shared by every mixer trained on the same inputs.
#[derive(Clone, Copy)]
pub(super) struct Inputs<'a> {
    x: &'a [i32],
    small: bool,
}

impl Cpu {
    /// The best variant this CPU runs.
    pub(super) fn detect() -> Cpu {
        #[cfg(test)]
        if tests::FORCE_SCALAR.get() {
            return Cpu::scalar();
        }
        #[cfg(target_arch = "x86_64")]
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        Cpu { avx2 }
    }

    /// The portable loops only (the reference the tests compare against).
    #[cfg(test)]
    pub(super) fn scalar() -> Cpu {
        Cpu { avx2: false }
    }

    /// `Σ x_i · w_i` over the shorter of the two slices.
    #[inline]
    pub(super) fn dot(self, x: &[i32], w: &[i32]) -> i64 {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is true only when `detect` found AVX2 on this CPU.
            return unsafe { avx2::dot(x, w) };
        }
        dot_scalar(x, w)
    }

    /// `x`, checked for `train` (the check is done only for the AVX2 loop, which needs it).
    #[inline]
    pub(super) fn inputs(self, x: &[i32]) -> Inputs<'_> {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is true only when `detect` found AVX2 on this CPU.
            let small = unsafe { avx2::small(x) };
            return Inputs { x, small };
        }
        Inputs { x, small: false }
    }

    /// `w_i += (x_i · err) >> 14`, clamped to ±2^22, over the shorter of the two slices.
    #[inline]
    pub(super) fn train(self, x: Inputs<'_>, w: &mut [i32], err: i64) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 && x.small && err.unsigned_abs() < 1 << 28 {
            // SAFETY: `avx2` is true only when `detect` found AVX2 on this CPU. (`train_small`
            // is exact for these operands, see there.)
            unsafe { avx2::train_small(x.x, w, err) };
            return;
        }
        train_scalar(x.x, w, err);
    }
}

/// Asks the CPU to bring the cache line of `s[i]` into the cache ahead of its use. Only a
/// hint: it changes no value, and an out-of-bounds `i` is harmless (nothing useful is
/// fetched). A no-op on targets other than x86_64.
#[inline(always)]
pub(super) fn prefetch<T>(s: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let p = s.as_ptr().wrapping_add(i);
        // SAFETY: SSE is part of the x86_64 baseline, so `prefetcht0` exists on every
        // x86_64 CPU; it reads and writes nothing architecturally and never faults, at any
        // address (and `wrapping_add` makes no claim about `p`).
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (s, i);
}

/// The dot product of the mixer (the reference; also the source of the AVX2 copy).
#[inline(always)]
pub(super) fn dot_scalar(x: &[i32], w: &[i32]) -> i64 {
    let mut dot = 0i64;
    for (&x, &w) in x.iter().zip(w) {
        dot += i64::from(x) * i64::from(w);
    }
    dot
}

/// The weight update of the mixer (the reference; also the source of the AVX2 copy).
#[inline(always)]
pub(super) fn train_scalar(x: &[i32], w: &mut [i32], err: i64) {
    for (&x, w) in x.iter().zip(w) {
        let d = (i64::from(x) * err) >> 14;
        *w = (i64::from(*w) + d).clamp(-(1 << 22), 1 << 22) as i32;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The loops with AVX2 intrinsics, 8 lanes per instruction; the last `n % 8` lanes
    //! with masked loads and stores (masked-off lanes read as 0 and are not written).

    use std::arch::x86_64::{
        __m256i, _mm_add_epi64, _mm_cvtsi128_si64, _mm_unpackhi_epi64, _mm256_add_epi32,
        _mm256_add_epi64, _mm256_castsi256_si128, _mm256_cmpgt_epi32, _mm256_extracti128_si256,
        _mm256_loadu_si256, _mm256_maskload_epi32, _mm256_maskstore_epi32, _mm256_max_epi32,
        _mm256_min_epi32, _mm256_mul_epi32, _mm256_mullo_epi32, _mm256_or_si256, _mm256_set1_epi32,
        _mm256_setzero_si256, _mm256_srai_epi32, _mm256_srli_epi64, _mm256_storeu_si256,
        _mm256_testz_si256,
    };

    /// `MASKS[8 - r..16 - r]` selects the first `r` lanes.
    static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

    /// Loads the `s.len() < 8` lanes of `s`, zeros elsewhere, and the mask of those lanes.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn load_tail(s: &[i32]) -> (__m256i, __m256i) {
        let r = s.len().min(8);
        // SAFETY: `8 - r..16 - r` lies in MASKS (16 entries) and the load reads 8 of them;
        // the masked load reads only the lanes whose mask is set, `s[..r]`, which is in
        // bounds. AVX2 is enabled on this function.
        unsafe {
            let m = _mm256_loadu_si256(MASKS.as_ptr().add(8 - r).cast());
            (_mm256_maskload_epi32(s.as_ptr(), m), m)
        }
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn load(s: &[i32; 8]) -> __m256i {
        // SAFETY: reads the 32 bytes of `s`; unaligned load.
        unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
    }

    /// Σ x_i · w_i: the products of the even and odd lanes in 64 bits (`vpmuldq`
    /// sign-extends the low half of each 64-bit lane), so no preconditions.
    #[target_feature(enable = "avx2")]
    pub(super) fn dot(x: &[i32], w: &[i32]) -> i64 {
        let n = x.len().min(w.len());
        let ((xc, xr), (wc, wr)) = (x[..n].as_chunks::<8>(), w[..n].as_chunks::<8>());
        let prod = |a: __m256i, b: __m256i, acc: __m256i| {
            let even = _mm256_mul_epi32(a, b);
            let odd = _mm256_mul_epi32(_mm256_srli_epi64::<32>(a), _mm256_srli_epi64::<32>(b));
            _mm256_add_epi64(acc, _mm256_add_epi64(even, odd))
        };
        let mut acc = _mm256_setzero_si256();
        for (x, w) in xc.iter().zip(wc) {
            acc = prod(load(x), load(w), acc);
        }
        if !xr.is_empty() {
            acc = prod(load_tail(xr).0, load_tail(wr).0, acc);
        }
        let s = _mm_add_epi64(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256::<1>(acc),
        );
        _mm_cvtsi128_si64(_mm_add_epi64(s, _mm_unpackhi_epi64(s, s)))
    }

    /// Whether every `x_i` lies within ±2^15 (from the lane-wise minima and maxima).
    #[target_feature(enable = "avx2")]
    pub(super) fn small(x: &[i32]) -> bool {
        let (mut lo, mut hi) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let mut bounds = |x: __m256i| {
            lo = _mm256_min_epi32(lo, x);
            hi = _mm256_max_epi32(hi, x);
        };
        let (xc, xr) = x.as_chunks::<8>();
        for x in xc {
            bounds(load(x));
        }
        if !xr.is_empty() {
            bounds(load_tail(xr).0);
        }
        let out = _mm256_or_si256(
            _mm256_cmpgt_epi32(_mm256_set1_epi32(-(1 << 15)), lo),
            _mm256_cmpgt_epi32(hi, _mm256_set1_epi32(1 << 15)),
        );
        _mm256_testz_si256(out, out) == 1
    }

    /// `train_scalar` in 32-bit lanes, for `|x_i| ≤ 2^15` (`small`) and `|err| < 2^28`:
    /// with `err = eh·2^14 + el`, `0 ≤ el < 2^14`, `(x·err) >> 14 = x·eh + ((x·el) >> 14)`
    /// exactly, since `x·eh·2^14` is a multiple of 2^14, and `|x·eh| < 2^29`,
    /// `|x·el| < 2^29`, so `|d| < 2^29 + 2^15`. `w` is first clamped to ±2^30, which
    /// changes no result (beyond ±2^30, `w + d` is beyond ±2^22 either way) and keeps
    /// `w + d` inside an i32. The mixers' operands are far inside (`|x| ≤ 2047`,
    /// `|err| ≤ 2^24`).
    #[target_feature(enable = "avx2")]
    pub(super) fn train_small(x: &[i32], w: &mut [i32], err: i64) {
        debug_assert!(small(x) && err.unsigned_abs() < 1 << 28);
        let n = x.len().min(w.len());
        let (x, w) = (&x[..n], &mut w[..n]);
        let eh = _mm256_set1_epi32((err >> 14) as i32);
        let el = _mm256_set1_epi32((err & 0x3fff) as i32);
        let (wmin, wmax) = (_mm256_set1_epi32(-(1 << 22)), _mm256_set1_epi32(1 << 22));
        let (wlo, whi) = (_mm256_set1_epi32(-(1 << 30)), _mm256_set1_epi32(1 << 30));
        let step = |xv: __m256i, wv: __m256i| {
            let wv = _mm256_min_epi32(_mm256_max_epi32(wv, wlo), whi);
            let d = _mm256_add_epi32(
                _mm256_mullo_epi32(xv, eh),
                _mm256_srai_epi32::<14>(_mm256_mullo_epi32(xv, el)),
            );
            _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(wv, d), wmin), wmax)
        };
        let (xc, xr) = x.as_chunks::<8>();
        let (wc, wr) = w.as_chunks_mut::<8>();
        for (x, w) in xc.iter().zip(wc) {
            let v = step(load(x), load(w));
            // SAFETY: writes the 32 bytes of `w`; unaligned store.
            unsafe { _mm256_storeu_si256(w.as_mut_ptr().cast(), v) };
        }
        if !xr.is_empty() {
            let (wv, m) = load_tail(wr);
            let v = step(load_tail(xr).0, wv);
            // SAFETY: the masked store writes only the lanes whose mask is set,
            // `wr[..wr.len()]` (`wr.len() < 8`, the mask of `load_tail(wr)`), in bounds.
            unsafe { _mm256_maskstore_epi32(wr.as_mut_ptr(), m, v) };
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use proptest::prelude::*;
    use std::cell::Cell;

    use super::*;

    thread_local! {
        /// Makes `Cpu::detect` return the scalar loops on this thread (for comparing whole
        /// models built both ways).
        pub(in crate::model::mix) static FORCE_SCALAR: Cell<bool> = const { Cell::new(false) };
    }

    /// Mixer inputs: mostly stretched probabilities, often the extremes, rarely beyond
    /// ±2^15 (the 64-bit fallback; rare, so most cases take the fast path).
    fn input() -> impl Strategy<Value = i32> {
        prop_oneof![
            64 => -2047i32..=2047,
            1 => -(1i32 << 16)..=1 << 16,
            8 => Just(2047),
            8 => Just(-2047),
            8 => Just(0),
        ]
    }

    /// Weights: anywhere in the clamped range, often at its ends (and rarely outside, to
    /// exercise the fallback).
    fn weight() -> impl Strategy<Value = i32> {
        prop_oneof![
            16 => -(1i32 << 22)..=1 << 22,
            1 => any::<i32>(),
            1 => Just(1 << 22),
            1 => Just(-(1 << 22)),
            1 => -4096i32..=4096,
        ]
    }

    /// Errors times learning rates: (±4096) · (1..=4 · 1024), and small ones.
    fn error() -> impl Strategy<Value = i64> {
        prop_oneof![
            4 => -(1i64 << 24)..=1 << 24,
            2 => -4096i64..=4096,
            1 => -(1i64 << 32)..=1 << 32,
            1 => Just(1i64 << 24),
            1 => Just(-(1i64 << 24)),
        ]
    }

    fn case() -> impl Strategy<Value = (Vec<i32>, Vec<i32>, i64)> {
        (1usize..=80).prop_flat_map(|n| {
            (
                prop::collection::vec(input(), n),
                prop::collection::vec(weight(), n),
                error(),
            )
        })
    }

    proptest! {
        #[test]
        fn dispatched_equals_scalar((x, w, err) in case()) {
            let cpu = Cpu::detect();
            prop_assert_eq!(cpu.dot(&x, &w), dot_scalar(&x, &w));
            prop_assert_eq!(Cpu::scalar().dot(&x, &w), dot_scalar(&x, &w));
            let mut a = w.clone();
            let mut b = w.clone();
            cpu.train(cpu.inputs(&x), &mut a, err);
            // Weights beyond ±2^30 (never a mixer's) clamp the same way.
            let mut big: Vec<i32> = w.iter().map(|&v| v.wrapping_mul(512)).collect();
            let mut big_ref = big.clone();
            cpu.train(cpu.inputs(&x), &mut big, err);
            train_scalar(&x, &mut big_ref, err);
            prop_assert_eq!(&big, &big_ref);
            train_scalar(&x, &mut b, err);
            prop_assert_eq!(&a, &b);
            // Uneven lengths: only the common prefix is used or changed.
            let mut c = w.clone();
            cpu.train(cpu.inputs(&x[..x.len() / 2]), &mut c, err);
            prop_assert_eq!(&c[..x.len() / 2], &b[..x.len() / 2]);
            prop_assert_eq!(&c[x.len() / 2..], &w[x.len() / 2..]);
            prop_assert_eq!(cpu.dot(&x[..x.len() / 2], &w), dot_scalar(&x[..x.len() / 2], &w));
        }
    }

    #[test]
    fn prefetch_changes_nothing() {
        let v: Vec<u32> = (0..1000).collect();
        // In bounds, at the ends, and far out of bounds: only a hint, never a fault.
        for i in [0, 1, 999, 1000, 1 << 20, usize::MAX / 8] {
            prefetch(&v, i);
        }
        prefetch::<u8>(&[], 0);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u32));
    }

    #[test]
    fn extremes_and_reference_values() {
        let cpu = Cpu::detect();
        let x = vec![2047; 68];
        let w = vec![1 << 22; 68];
        assert_eq!(cpu.dot(&x, &w), 68 * 2047 * (1i64 << 22));
        let neg: Vec<i32> = w.iter().map(|&v| -v).collect();
        assert_eq!(cpu.dot(&x, &neg), -68 * 2047 * (1i64 << 22));
        let mut a = vec![0; 68];
        // Rounds toward −∞ like the scalar shift, and clamps at ±2^22.
        cpu.train(cpu.inputs(&[-1, 1, 2047, -2047]), &mut a, 1);
        assert_eq!(&a[..4], &[-1, 0, 0, -1]);
        cpu.train(cpu.inputs(&[2047, -2047, 3]), &mut a, 1 << 26);
        assert_eq!(&a[..3], &[1 << 22, -(1 << 22), 3 << 12]);
    }
}
