//! Property tests of the range coder: random mixes of bits, symbols and uniform values
//! over random tables round-trip exactly, and decoding garbage never panics.

use proptest::prelude::*;

use super::{CumulativeTable, EntropyCoder, QuantizedCdf, RangeDecoder, RangeEncoder};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    /// A bit and its P(1) in units of 2^-16.
    Bit(bool, u32),
    /// A symbol of table `.0`; `.1` is reduced to a symbol with a nonzero frequency.
    Sym(usize, u32),
    /// A value and its range.
    Uni(u32, u32),
}

/// Frequencies (zeros allowed, but not all zero) turned into a cumulative table that
/// may total anything up to 2^32 - 1.
fn table() -> impl Strategy<Value = Vec<u32>> {
    let small = prop::collection::vec(prop_oneof![Just(0u32), 1u32..4, 1u32..100_000], 1..300);
    let huge = prop::collection::vec(prop_oneof![Just(1u32), 0u32..=u32::MAX / 4], 1..5);
    prop_oneof![small, huge].prop_map(|freqs| {
        let mut cum = vec![0u32];
        let mut acc = 0u64;
        for f in freqs {
            let f = u64::from(f).min(u64::from(u32::MAX) - acc);
            acc += f;
            cum.push(acc as u32);
        }
        if acc == 0 {
            *cum.last_mut().unwrap() = 1;
        }
        cum
    })
}

/// A quantised table over many symbols at 2^24 (mostly floors) or at 2^32 - 1.
fn quantized() -> impl Strategy<Value = Vec<u32>> {
    (
        prop::collection::vec(prop_oneof![3 => Just(0.0f32), 1 => 0.0f32..1.0], 1..5000),
        any::<bool>(),
    )
        .prop_map(|(probs, big)| {
            let mut q = QuantizedCdf::new();
            q.quantize(&probs, if big { u32::MAX } else { 1 << 24 });
            let mut cum = vec![0];
            for s in 0..probs.len() as u32 {
                cum.push(cum.last().unwrap() + q.freq(s));
            }
            cum
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), 1u32..=65_535).prop_map(|(b, p)| Op::Bit(b, p)),
        (0usize..3, any::<u32>()).prop_map(|(t, s)| Op::Sym(t, s)),
        (1u32..=u32::MAX).prop_flat_map(|n| (0..n).prop_map(move |v| Op::Uni(v, n))),
    ]
}

/// Maps a random symbol to one with a nonzero frequency.
fn valid_symbol(cum: &[u32], s: u32) -> u32 {
    let n = cum.len() - 1;
    let mut i = s as usize % n;
    while cum[i + 1] == cum[i] {
        i = (i + 1) % n;
    }
    i as u32
}

fn run<C: EntropyCoder>(
    c: &mut C,
    ops: &[Op],
    tables: &[Vec<u32>; 3],
) -> Result<Vec<Op>, crate::Error> {
    let mut out = Vec::with_capacity(ops.len());
    for &op in ops {
        out.push(match op {
            Op::Bit(b, p) => Op::Bit(c.code_bit(b, p)?, p),
            Op::Sym(t, s) => {
                let table = CumulativeTable { cum: &tables[t] };
                Op::Sym(t, c.code_symbol(s, &table)?)
            }
            Op::Uni(v, n) => Op::Uni(c.code_uniform(v, n)?, n),
        });
    }
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn round_trips(
        tables in (table(), table(), quantized()),
        ops in prop::collection::vec(op(), 0..2000),
    ) {
        let tables = [tables.0, tables.1, tables.2];
        let ops: Vec<Op> = ops
            .into_iter()
            .map(|op| match op {
                Op::Sym(t, s) => Op::Sym(t, valid_symbol(&tables[t], s)),
                other => other,
            })
            .collect();
        let mut enc = RangeEncoder::new();
        prop_assert_eq!(&run(&mut enc, &ops, &tables).unwrap(), &ops);
        let bytes = enc.finish();
        let mut dec = RangeDecoder::new(&bytes);
        prop_assert_eq!(&run(&mut dec, &ops, &tables).unwrap(), &ops);
        prop_assert!(!dec.overran());
    }

    #[test]
    fn garbage_never_panics(
        tables in (table(), table(), quantized()),
        ops in prop::collection::vec(op(), 0..500),
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let tables = [tables.0, tables.1, tables.2];
        let mut dec = RangeDecoder::new(&bytes);
        // Errors are fine; panics, hangs and out-of-range results are not.
        for &op in &ops {
            match op {
                Op::Bit(_, p) => {
                    let _ = dec.code_bit(false, p);
                }
                Op::Sym(t, _) => {
                    let table = CumulativeTable { cum: &tables[t] };
                    if let Ok(s) = dec.code_symbol(0, &table) {
                        let s = s as usize;
                        prop_assert!(s + 1 < tables[t].len() && tables[t][s + 1] > tables[t][s]);
                    }
                }
                Op::Uni(_, n) => {
                    if let Ok(v) = dec.code_uniform(0, n) {
                        prop_assert!(v < n);
                    }
                }
            }
        }
    }
}
