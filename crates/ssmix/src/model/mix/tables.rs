//! Building blocks of the mixing model: the logistic tables, bit-history states,
//! adaptive probability counters, the logistic mixer and the APM/SSE stage.
//!
//! Everything is integer arithmetic on tables built at start-up from deterministic code
//! (`detmath::exp` for the logistic curve, integer rules for the states), so every build
//! makes the same predictions.

use super::hw::{self, Cpu, Inputs};

/// Probabilities in this module are 12-bit: P(1) = p / 4096, p in 1..=4095.
pub(super) const PBITS: u32 = 12;
/// Stretched probabilities (logits scaled by 256) lie in -2047..=2047.
const ST_MAX: i32 = 2047;

/// `squash(x) = 4096 / (1 + e^(-x/256))` and its inverse `stretch`, as tables.
pub(super) struct Logistic {
    squash: Vec<u16>,
    stretch: Vec<i16>,
}

impl Logistic {
    pub(super) fn new() -> Self {
        let mut squash = Vec::with_capacity((2 * ST_MAX + 1) as usize);
        for x in -ST_MAX..=ST_MAX {
            let e = crate::detmath::exp(-(x as f32) / 256.0);
            let v = (4096.0 / (1.0 + e) + 0.5) as i32;
            squash.push(v.clamp(1, 4095) as u16);
        }
        // stretch(p) = the smallest x with squash(x) >= p, so stretch(squash(x)) <= x and
        // the map is monotone (the table is inverted by a scan, not by a logarithm).
        let mut stretch = vec![0i16; 1 << PBITS];
        let mut next = 0usize;
        for x in -ST_MAX..=ST_MAX {
            let v = usize::from(squash[(x + ST_MAX) as usize]);
            while next <= v {
                stretch[next] = x as i16;
                next += 1;
            }
        }
        for s in &mut stretch[next..] {
            *s = ST_MAX as i16;
        }
        Logistic { squash, stretch }
    }

    /// 12-bit probability of the logit `x` (clamped to ±2047).
    #[inline]
    pub(super) fn squash(&self, x: i32) -> i32 {
        i32::from(self.squash[(x.clamp(-ST_MAX, ST_MAX) + ST_MAX) as usize])
    }

    /// Logit of the 12-bit probability `p` (0..4096).
    #[inline]
    pub(super) fn stretch(&self, p: u32) -> i32 {
        i32::from(self.stretch[(p & 4095) as usize])
    }
}

/// Bit-history states: a state stands for a pair of counts `(n0, n1)` of the bits seen in
/// a context, and for the last bit when both counts are nonzero; state 0 means "never
/// seen". The pairs are bounded (`BOUND[min(n0, n1)]` caps the larger count, so only
/// lopsided histories keep large counts). Seeing a bit increments its count and discounts
/// the other one, so the state favours recent bits in contexts whose statistics change.
pub(super) struct States {
    /// Fixed-size tables (padded past the last state) so that a `u8` state indexes
    /// them without bounds checks in the per-decision loops.
    next: Box<[[u8; 2]; 256]>,
    /// Total count of a state, used to choose which bucket to replace.
    pub(super) weight: Box<[u8; 256]>,
    /// Per state: `(n0, n1)`, for the initial probability of a state's counter.
    pub(super) counts: Vec<(u8, u8)>,
    /// Per state: only one bit value has been seen (exactly one count is zero).
    pub(super) det: Box<[bool; 256]>,
}

/// The largest count allowed with a smaller count of 0, 1, 2 …; pairs with both counts
/// above `BOUND.len() − 1` are not states.
const BOUND: [u32; 7] = [30, 24, 16, 12, 10, 8, 7];
/// The last bit is part of the states with both counts nonzero and a total up to this.
const LAST_MAX: u32 = 8;

impl States {
    pub(super) fn new() -> Self {
        let ok = |n0: u32, n1: u32| {
            let (lo, hi) = (n0.min(n1), n0.max(n1));
            (lo as usize) < BOUND.len() && hi <= BOUND[lo as usize]
        };
        // States in order of total count, then n1, then last bit: (n0, n1, last).
        let mut list: Vec<(u32, u32, u32)> = Vec::new();
        for total in 0..=2 * BOUND[0] {
            for n1 in 0..=total {
                let n0 = total - n1;
                if !ok(n0, n1) {
                    continue;
                }
                if n0 > 0 && n1 > 0 && total <= LAST_MAX {
                    list.push((n0, n1, 0));
                    list.push((n0, n1, 1));
                } else {
                    list.push((n0, n1, 0));
                }
            }
        }
        debug_assert!(list.len() <= 256);
        let index = |n0: u32, n1: u32, last: u32| {
            let last = if n0 > 0 && n1 > 0 && n0 + n1 <= LAST_MAX {
                last
            } else {
                0
            };
            list.iter()
                .position(|&x| x == (n0, n1, last))
                .expect("normalized pairs are states") as u8
        };
        // The opposite count after a bit: small counts stay, larger ones roughly halve.
        let disc = |n: u32| if n > 2 { n / 2 + 1 } else { n };
        let step = |mine: u32, other: u32| {
            let mut mine = mine + 1;
            let mut other = disc(other);
            // Out of bounds: cap this count if it is the larger one, else lower the other.
            while !ok(mine, other) {
                if other <= mine && (other as usize) < BOUND.len() {
                    mine = BOUND[other as usize];
                } else {
                    other -= 1;
                }
            }
            (mine, other)
        };
        let mut next = Box::new([[0u8; 2]; 256]);
        let mut weight = Box::new([0u8; 256]);
        let mut det = Box::new([false; 256]);
        let mut counts = Vec::with_capacity(list.len());
        for (i, &(n0, n1, _)) in list.iter().enumerate() {
            let (a0, b1) = step(n0, n1);
            let (a1, b0) = step(n1, n0);
            next[i] = [index(a0, b1, 0), index(b0, a1, 1)];
            weight[i] = (n0 + n1) as u8;
            counts.push((n0 as u8, n1 as u8));
            det[i] = (n0 == 0) != (n1 == 0);
        }
        States {
            next,
            weight,
            counts,
            det,
        }
    }

    /// The number of states.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.counts.len()
    }

    #[inline]
    pub(super) fn next(&self, s: u8, bit: bool) -> u8 {
        self.next[usize::from(s)][usize::from(bit)]
    }
}

/// Reciprocals for the adaptive counters and counting APMs: `RECIP[n] = 2^16 / (n + 1.5)`.
pub(super) const RECIP: [u32; 1024] = {
    let mut r = [0; 1024];
    let mut n = 0;
    while n < 1024 {
        r[n] = (1 << 17) / (2 * n as u32 + 3);
        n += 1;
    }
    r
};

/// An adaptive probability: P(1) in the high 22 bits, a use count in the low 10. The
/// update rate is 1/(n + 1.5) until the count reaches the limit, so a counter learns fast
/// at first and then averages.
#[derive(Clone, Copy)]
pub(super) struct Counter(u32);

impl Counter {
    pub(super) const HALF: Counter = Counter(1 << 31);

    /// A counter at P(1) = `(n1 + 0.5) / (n0 + n1 + 1)`, count 0.
    pub(super) fn with_counts(n0: u8, n1: u8) -> Counter {
        let p = ((2 * u32::from(n1) + 1) << 21) / (2 * (u32::from(n0) + u32::from(n1)) + 2);
        Counter(p << 10)
    }

    /// 12-bit probability.
    #[inline]
    pub(super) fn p(self) -> u32 {
        // (At most 4095 already: 32 − 20 bits.)
        (self.0 >> 20).max(1)
    }

    #[inline]
    pub(super) fn update(&mut self, bit: bool, limit: u32) {
        let n = self.0 & 1023;
        let p = i64::from(self.0 >> 10);
        let target = i64::from(bit) << 22;
        let delta = ((target - p) * i64::from(RECIP[n as usize])) >> 16;
        // No clamp needed: RECIP < 2^16, so `delta` (rounded toward −∞) moves `p` toward
        // `target` by less than the distance, and `p` stays in 0..2^22.
        let p = (p + delta) as u32;
        debug_assert!(p < 1 << 22);
        self.0 = (p << 10) | if n < limit { n + 1 } else { n };
    }
}

/// Logistic mixing: `p = squash(Σ w_i · st_i / 2^16)` with one weight vector per
/// context, trained online to reduce the coding cost.
pub(super) struct Mixer {
    weights: Vec<i32>,
    /// The instruction set of the dot product and update loops.
    cpu: Cpu,
    n: usize,
    lr: i64,
    /// Offset of the selected weight vector.
    sel: usize,
    pr: i32,
}

impl Mixer {
    pub(super) fn new(n: usize, contexts: usize, lr: u32, init: i32) -> Self {
        Mixer {
            weights: vec![init; n * contexts],
            cpu: Cpu::detect(),
            n,
            lr: i64::from(lr),
            sel: 0,
            pr: 2048,
        }
    }

    /// Starts every weight set at `w` (the first `n` weights of each).
    pub(super) fn set_initial(&mut self, w: &[i32]) {
        for set in self.weights.chunks_exact_mut(self.n) {
            for (x, &v) in set.iter_mut().zip(w) {
                *x = v;
            }
        }
    }

    /// Weights allocated.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.weights.capacity()
    }

    /// Mixes `inputs` (stretched probabilities) with the weights of `ctx`; returns the
    /// logit.
    #[inline]
    pub(super) fn mix(&mut self, inputs: &[i32], ctx: usize, lg: &Logistic) -> i32 {
        self.sel = ctx * self.n;
        let w = &self.weights[self.sel..self.sel + self.n];
        let dot = self.cpu.dot(inputs, w);
        let x = (dot >> 16).clamp(-2047, 2047) as i32;
        self.pr = lg.squash(x);
        x
    }

    /// Trains the weights used by the last `mix` with the mixer's own learning rate.
    #[inline]
    pub(super) fn update(&mut self, inputs: &[i32], bit: bool) {
        self.update_rate(inputs, bit, self.lr);
    }

    /// `update` with the learning rate `lr` instead of the mixer's own.
    #[inline]
    pub(super) fn update_rate(&mut self, inputs: &[i32], bit: bool, lr: i64) {
        self.train(self.cpu.inputs(inputs), bit, lr);
    }

    /// `update_rate` of every mixer in `mixers` on the same `inputs` (checked once).
    #[inline]
    pub(super) fn update_all(mixers: &mut [Mixer], inputs: &[i32], bit: bool, lr: i64) {
        if let Some(first) = mixers.first() {
            let inputs = first.cpu.inputs(inputs);
            for m in mixers {
                m.train(inputs, bit, lr);
            }
        }
    }

    #[inline]
    fn train(&mut self, inputs: Inputs<'_>, bit: bool, lr: i64) {
        let err = ((i64::from(bit) << PBITS) - i64::from(self.pr)) * lr;
        let w = &mut self.weights[self.sel..self.sel + self.n];
        self.cpu.train(inputs, w, err);
    }
}

/// Adaptive probability map (secondary estimation): refines a probability given a
/// context, interpolating between bins spaced `2^shift` apart over the logit (33 bins
/// with the usual shift of 7).
pub(super) struct Apm {
    /// Entries: 16-bit probabilities (fixed-rate updates).
    t: Vec<u16>,
    /// Entries with counts (`set_counts`): a 22-bit probability and the updates seen.
    c: Vec<u32>,
    /// The lower bin of the last interpolation, and the upper bin's weight (0..2^shift).
    lo: usize,
    w: i32,
    rate: u32,
    /// Update both bins by their weights (else only the nearer one).
    interp: bool,
    /// Bins per context and the log2 of their spacing.
    bins: usize,
    shift: u32,
    /// Entries stay in edge..=65535-edge (in 65536ths).
    edge: i32,
    /// With counts: the most updates counted.
    limit: u32,
}

impl Apm {
    /// An APM with bins `2^shift` apart (`shift` in 5..=8).
    pub(super) fn new(contexts: usize, rate: u32, interp: bool, shift: u32, lg: &Logistic) -> Self {
        let bins = (4096 >> shift) + 1;
        let row: Vec<u16> = (0..bins as i32)
            .map(|j| (lg.squash((j << shift) - 2048) * 16) as u16)
            .collect();
        let t = row.repeat(contexts);
        Apm {
            t,
            c: Vec::new(),
            lo: 0,
            w: 0,
            rate,
            interp,
            bins,
            shift,
            edge: 16,
            limit: 0,
        }
    }

    /// Makes every entry count its updates and adapt at 1/(n + 1.5), starting at
    /// `n = init`, until `n = limit` (< 64); updates then always move both bins.
    pub(super) fn set_counts(&mut self, init: u32, limit: u32) {
        debug_assert!(init <= limit && limit < 64);
        self.c = self.t.iter().map(|&p| u32::from(p) << 16 | init).collect();
        self.t = Vec::new();
        self.limit = limit;
    }

    /// Lets entries come within `edge / 65536` of 0 and 1 (16 by default).
    pub(super) fn set_edge(&mut self, edge: i32) {
        self.edge = edge;
    }

    /// Prefetches the bins of context `ctx`, for a `refine` a little later: the row's
    /// first, middle and last entries lie in every cache line of the row (with the 17 or
    /// 33 bins in use, of at most 4 bytes, the three are at most 64 bytes apart).
    #[inline(always)]
    pub(super) fn prefetch(&self, ctx: usize) {
        let (base, last) = (ctx * self.bins, self.bins - 1);
        for k in [0, last / 2, last] {
            if self.c.is_empty() {
                hw::prefetch(&self.t, base + k);
            } else {
                hw::prefetch(&self.c, base + k);
            }
        }
    }

    /// The refined 16-bit probability of logit `st` in context `ctx`.
    #[inline(always)]
    pub(super) fn refine16(&mut self, st: i32, ctx: usize) -> i32 {
        let s = (st.clamp(-2047, 2047) + 2048) as usize;
        let (lo, w) = (s >> self.shift, (s & ((1 << self.shift) - 1)) as i32);
        let base = ctx * self.bins + lo;
        self.lo = base;
        self.w = w;
        let (a, b) = if self.c.is_empty() {
            (i32::from(self.t[base]), i32::from(self.t[base + 1]))
        } else {
            ((self.c[base] >> 16) as i32, (self.c[base + 1] >> 16) as i32)
        };
        (a * ((1 << self.shift) - w) + b * w) >> self.shift
    }

    /// The refined 12-bit probability of logit `st` in context `ctx`.
    #[inline(always)]
    pub(super) fn refine(&mut self, st: i32, ctx: usize) -> i32 {
        (self.refine16(st, ctx) >> 4).clamp(1, 4095)
    }

    /// Entries in the table.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.t.capacity().max(self.c.capacity() * 2)
    }

    #[inline(always)]
    pub(super) fn update(&mut self, bit: bool) {
        if !self.c.is_empty() {
            self.update_counts(bit);
            return;
        }
        let one = 1 << self.shift;
        let (lo, w) = (self.lo, self.w);
        let g = i32::from(bit) << 16;
        if self.interp {
            // The bins move by their interpolation weights w/2^shift and (2^shift - w)/2^shift.
            for (i, w) in [(lo, one - w), (lo + 1, w)] {
                let v = i32::from(self.t[i]);
                let v = v + (((g - v) * w) >> (self.rate + self.shift));
                self.t[i] = v.clamp(self.edge, 65535 - self.edge) as u16;
            }
        } else {
            let i = lo + usize::from(w >= one / 2);
            let v = i32::from(self.t[i]);
            let v = v + ((g - v) >> self.rate);
            self.t[i] = v.clamp(self.edge, 65535 - self.edge) as u16;
        }
    }

    // Always inlined: called 3+ times per decision, the call costs ~15% of its work.
    #[inline(always)]
    fn update_counts(&mut self, bit: bool) {
        let one = 1 << self.shift;
        let (lo, w) = (self.lo, self.w);
        // 22-bit probabilities: (target − p) · weight / 2^shift / (n + 1.5).
        let target = i64::from(bit) << 22;
        let (min, max) = (i64::from(self.edge) << 6, i64::from(65535 - self.edge) << 6);
        for (e, w) in self.c[lo..lo + 2].iter_mut().zip([one - w, w]) {
            let n = *e & 63;
            let p = i64::from(*e >> 10);
            let d = ((((target - p) * i64::from(w)) >> self.shift) * i64::from(RECIP[n as usize]))
                >> 16;
            let n = if w > 0 && n < self.limit { n + 1 } else { n };
            *e = ((p + d).clamp(min, max) as u32) << 10 | n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretch_inverts_squash() {
        let lg = Logistic::new();
        assert_eq!(lg.squash(0), 2048);
        for p in 1..4096u32 {
            let s = lg.stretch(p);
            assert!(lg.squash(s) >= p as i32, "p {p}");
            if p > 1 {
                assert!(lg.stretch(p - 1) <= s);
            }
        }
        for x in -2047..2047 {
            assert!(lg.squash(x) <= lg.squash(x + 1));
        }
    }

    #[test]
    fn counters_and_states_learn() {
        let mut c = Counter::HALF;
        for _ in 0..50 {
            c.update(true, 255);
        }
        assert!(c.p() > 4000, "{}", c.p());
        let st = States::new();
        assert_eq!(st.len(), 207);
        let mut s = 0;
        for _ in 0..40 {
            s = st.next(s, true);
        }
        assert_eq!(st.counts[usize::from(s)], (0, 30));
        s = st.next(s, false);
        assert_eq!(st.counts[usize::from(s)], (1, 16));
        // Every state's successors are states, and a bit never lowers its own count.
        for s in 0..st.len() {
            let (n0, n1) = st.counts[s];
            let s0 = usize::from(st.next(s as u8, false));
            let s1 = usize::from(st.next(s as u8, true));
            assert!(s0 < st.len() && s1 < st.len());
            assert!(st.counts[s0].0 >= n0 && st.counts[s1].1 >= n1);
        }
    }
}
