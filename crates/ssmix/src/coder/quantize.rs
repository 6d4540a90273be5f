//! Turning a dense float distribution into integer frequencies for the range coder.
//!
//! Neural models end in a probability for every token of the vocabulary. The coder needs
//! integer frequencies with a fixed total in which every token has at least 1 (or a
//! token the model thought impossible could not be coded). [`QuantizedCdf::quantize`]
//! does that with a handful of `f64` multiplies, divisions and additions per token, in a
//! fixed order, so the compressor and the decompressor get the same table everywhere.
//!
//! The method: tokens whose share of the total would be below 1 get exactly 1; the rest
//! of the total is shared among the other tokens in proportion to their probabilities,
//! rounded to nearest (at least 1); whatever rounding leaves over or takes too much goes
//! to the most probable token, where it distorts the least. If that token cannot absorb
//! it, every token gets 1 plus its floored share instead, which always fits.

// The neural models that use this are not merged yet; tests and `internals` use it now.
#![cfg_attr(not(any(test, feature = "internals")), allow(dead_code))]

use super::Distribution;

/// Integer frequencies with a fixed total (up to
/// `u32::MAX`), as a prefix-sum table: O(1) intervals for
/// encoding, binary search for decoding. Reused from token to token without allocating.
#[derive(Clone, Debug, Default)]
pub(crate) struct QuantizedCdf {
    /// `cum[i]..cum[i + 1]` is symbol `i`'s interval; `cum[n]` is the total.
    cum: Vec<u32>,
}

impl QuantizedCdf {
    /// An empty table; call [`QuantizedCdf::quantize`] before coding with it.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Number of symbols.
    pub(crate) fn len(&self) -> usize {
        self.cum.len().saturating_sub(1)
    }

    /// The frequency of `symbol`.
    pub(crate) fn freq(&self, symbol: u32) -> u32 {
        let s = symbol as usize;
        self.cum[s + 1] - self.cum[s]
    }

    /// Replaces the table with frequencies for `probs` that add up to exactly `total`,
    /// every one at least 1.
    ///
    /// `probs` should sum to about 1; only ratios matter. Negative, NaN and infinite
    /// entries count as 0, and if nothing positive is left the result is uniform.
    ///
    /// # Panics
    ///
    /// If `probs` is empty or longer than `total` (the floors would not fit). Both are
    /// fixed by the model's configuration, not by the data.
    pub(crate) fn quantize(&mut self, probs: &[f32], total: u32) {
        let n = probs.len();
        assert!(
            n >= 1 && n as u64 <= u64::from(total),
            "{n} symbols cannot fit a total of {total}"
        );
        self.cum.resize(n + 1, 0);
        let t = u64::from(total);

        let clean = |p: f32| {
            if p.is_finite() && p > 0.0 {
                f64::from(p)
            } else {
                0.0
            }
        };
        let mut sum = 0.0f64;
        let (mut best, mut best_p) = (0usize, -1.0f64);
        for (i, &p) in probs.iter().enumerate() {
            let p = clean(p);
            sum += p;
            if p > best_p {
                (best, best_p) = (i, p);
            }
        }
        if !(sum > 0.0 && sum.is_finite()) {
            self.uniform(total);
            return;
        }

        // Tokens below one unit of the total get the floor; the rest share what is left.
        let threshold = sum / t as f64;
        let (mut floored, mut floored_mass) = (0u64, 0.0f64);
        for &p in probs {
            let p = clean(p);
            if p < threshold {
                floored += 1;
                floored_mass += p;
            }
        }
        let rest = sum - floored_mass;
        let scale = if rest > 0.0 {
            (t - floored) as f64 / rest
        } else {
            0.0
        };
        let mut assigned = 0u64;
        for (c, &p) in self.cum[1..].iter_mut().zip(probs) {
            let p = clean(p);
            // `as` saturates, and f64 products of values below 2^33 are exact enough.
            let f = if p < threshold {
                1
            } else {
                ((p * scale + 0.5) as u64).clamp(1, t)
            };
            assigned += f;
            *c = f as u32;
        }
        let fixed = u64::from(self.cum[best + 1]) as i64 + (t as i64 - assigned as i64);
        if fixed >= 1 {
            self.cum[best + 1] = fixed as u32;
        } else {
            // Rounding took more than the top token has: use 1 + floor(share), whose
            // floors can only sum to at most the total.
            let spare = (t - n as u64) as f64 / sum;
            let mut assigned = 0u64;
            for (c, &p) in self.cum[1..].iter_mut().zip(probs) {
                let f = 1 + (clean(p) * spare) as u64;
                assigned += f;
                *c = f as u32;
            }
            let left = t.saturating_sub(assigned);
            self.cum[best + 1] += left as u32;
            if assigned > t {
                // Not reachable with IEEE arithmetic (see the module docs); stay valid.
                self.uniform(total);
                return;
            }
        }
        self.prefix_sums();
        debug_assert_eq!(self.cum[n], total);
    }

    /// Every symbol gets `total / n`; the remainder goes to the first symbols.
    fn uniform(&mut self, total: u32) {
        let n = self.len() as u32;
        let (q, r) = (total / n, total % n);
        for (i, c) in self.cum[1..].iter_mut().enumerate() {
            *c = q + u32::from((i as u32) < r);
        }
        self.prefix_sums();
    }

    /// Turns the frequencies in `cum[1..]` into prefix sums.
    fn prefix_sums(&mut self) {
        self.cum[0] = 0;
        let mut acc = 0u32;
        for c in &mut self.cum[1..] {
            acc += *c;
            *c = acc;
        }
    }
}

impl Distribution for QuantizedCdf {
    #[inline]
    fn total(&self) -> u32 {
        self.cum[self.cum.len() - 1]
    }
    #[inline]
    fn interval(&self, symbol: u32) -> (u32, u32) {
        let s = symbol as usize;
        (self.cum[s], self.cum[s + 1] - self.cum[s])
    }
    #[inline]
    fn find(&self, target: u32) -> (u32, u32, u32) {
        // The first symbol whose interval ends above the target.
        let s = self.cum[1..].partition_point(|&c| c <= target);
        (s as u32, self.cum[s], self.cum[s + 1] - self.cum[s])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coder::{EntropyCoder, RangeDecoder, RangeEncoder};
    use proptest::prelude::*;

    fn check(q: &QuantizedCdf, n: usize, total: u32) {
        assert_eq!(q.len(), n);
        assert_eq!(q.total(), total);
        for s in 0..n as u32 {
            assert!(q.freq(s) >= 1, "symbol {s} has no room");
            let (start, f) = q.interval(s);
            assert_eq!(q.find(start), (s, start, f));
            assert_eq!(q.find(start + f - 1), (s, start, f));
        }
    }

    #[test]
    fn exact_totals_and_floors_on_edge_cases() {
        let mut q = QuantizedCdf::new();
        let cases: Vec<Vec<f32>> = vec![
            vec![1.0],
            vec![0.0; 5],
            vec![f32::NAN, -1.0, f32::INFINITY, 0.0],
            vec![1.0, 0.0, 0.0, 0.0],
            vec![1e-30; 1000],
            (0..65_536)
                .map(|i| if i == 7 { 1.0 } else { 0.0 })
                .collect(),
            (0..65_536).map(|i| 1.0 / (i as f32 + 1.0)).collect(),
            vec![0.5, 0.5 - 1e-7, 1e-7],
        ];
        for probs in &cases {
            for total in [probs.len() as u32, 1 << 16, 1 << 24, u32::MAX] {
                if probs.len() as u64 > u64::from(total) {
                    continue;
                }
                q.quantize(probs, total);
                check(&q, probs.len(), total);
            }
        }
        // Total equal to the vocabulary: every symbol exactly 1.
        q.quantize(&[0.9, 0.05, 0.05], 3);
        assert_eq!((q.freq(0), q.freq(1), q.freq(2)), (1, 1, 1));
    }

    #[test]
    fn follows_the_probabilities() {
        let mut q = QuantizedCdf::new();
        q.quantize(&[0.5, 0.25, 0.125, 0.125], 1 << 16);
        assert_eq!(
            [q.freq(0), q.freq(1), q.freq(2), q.freq(3)],
            [32768, 16384, 8192, 8192]
        );
        // A softmax-like distribution over 16K symbols loses little at 2^24.
        let probs: Vec<f32> = (0..16_384).map(|i| 0.5f32.powi(i.min(60)) / 2.0).collect();
        q.quantize(&probs, 1 << 24);
        let cost: f64 = probs
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                f64::from(p) * -(f64::from(q.freq(i as u32)) / f64::from(1 << 24)).log2()
            })
            .sum();
        let ideal: f64 = probs
            .iter()
            .map(|&p| f64::from(p) * -f64::from(p).max(1e-300).log2())
            .sum();
        assert!(cost < ideal + 0.01, "cost {cost} vs ideal {ideal}");
    }

    proptest! {
        #[test]
        fn totals_floors_and_round_trip(
            probs in prop::collection::vec(prop_oneof![Just(0.0f32), 0.0f32..1.0, 0.0f32..1e-6], 1..3000),
            total_kind in 0..3u8,
            picks in prop::collection::vec(any::<prop::sample::Index>(), 1..200),
        ) {
            let total = match total_kind {
                0 => 1 << 16,
                1 => 1 << 24,
                _ => u32::MAX,
            };
            let mut q = QuantizedCdf::new();
            q.quantize(&probs, total);
            check(&q, probs.len(), total);
            let symbols: Vec<u32> = picks.iter().map(|i| i.index(probs.len()) as u32).collect();
            let mut enc = RangeEncoder::new();
            for &s in &symbols {
                enc.code_symbol(s, &q).unwrap();
            }
            let bytes = enc.finish();
            let mut dec = RangeDecoder::new(&bytes);
            for &s in &symbols {
                prop_assert_eq!(dec.code_symbol(0, &q).unwrap(), s);
            }
        }

        #[test]
        fn deterministic(probs in prop::collection::vec(any::<f32>(), 1..500)) {
            let (mut a, mut b) = (QuantizedCdf::new(), QuantizedCdf::new());
            a.quantize(&probs, 1 << 24);
            b.quantize(&[0.25, 0.75], 1 << 10);
            b.quantize(&probs, 1 << 24);
            prop_assert_eq!(&a.cum, &b.cum);
            check(&a, probs.len(), 1 << 24);
        }
    }
}
