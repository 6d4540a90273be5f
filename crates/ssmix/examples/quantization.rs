//! Measures what quantising a dense float distribution to integer frequencies costs.
//!
//! `cargo run --release -p ssmix --features internals --example quantization -- FILE [VOCAB] [MAX_TOKENS]`
//!
//! Tokenizes FILE with a vocabulary of at most VOCAB tokens (default 256), predicts every
//! token with a dense float model (adaptive order-1 counts smoothed with order 0, computed
//! as f32 probabilities over the whole vocabulary, like a neural model's output), and
//! reports bits per token: ideal (-log2 p in f64), exact cost of the quantised
//! frequencies at several totals, and the real size from the range coder (verified by
//! decoding). f64 `log2` is fine here: this only measures, it does not code.

use std::time::Instant;

use ssmix::internals::{QuantizedCdf, RangeDecoder, RangeEncoder, tokenize};

/// Adaptive order-1 token counts smoothed with adaptive order-0 counts.
struct DenseModel {
    /// Order-0 counts plus 1/2, as floats.
    base: Vec<f32>,
    base_sum: f64,
    /// Sparse order-1 counts per previous token, and their totals.
    succ: Vec<Vec<(u32, u32)>>,
    succ_total: Vec<u32>,
}

/// Weight of the order-0 distribution against the order-1 counts.
const ALPHA: f64 = 2.0;

impl DenseModel {
    fn new(v: usize) -> Self {
        DenseModel {
            base: vec![0.5; v],
            base_sum: 0.5 * v as f64,
            succ: vec![Vec::new(); v],
            succ_total: vec![0; v],
        }
    }

    /// Writes P(next token | previous token) for every token into `out`.
    fn predict(&self, prev: Option<u32>, out: &mut [f32]) {
        let (list, n1): (&[(u32, u32)], f64) = match prev {
            Some(p) => (
                &self.succ[p as usize],
                f64::from(self.succ_total[p as usize]),
            ),
            None => (&[], 0.0),
        };
        let k0 = (ALPHA / (self.base_sum * (n1 + ALPHA))) as f32;
        for (o, &b) in out.iter_mut().zip(&self.base) {
            *o = b * k0;
        }
        let k1 = (1.0 / (n1 + ALPHA)) as f32;
        for &(t, c) in list {
            out[t as usize] += c as f32 * k1;
        }
    }

    fn update(&mut self, prev: Option<u32>, t: u32) {
        self.base[t as usize] += 1.0;
        self.base_sum += 1.0;
        if let Some(p) = prev {
            let list = &mut self.succ[p as usize];
            match list.iter_mut().find(|e| e.0 == t) {
                Some(e) => e.1 += 1,
                None => list.push((t, 1)),
            }
            self.succ_total[p as usize] += 1;
        }
    }
}

const TOTALS: [(&str, u32); 3] = [("2^16", 1 << 16), ("2^24", 1 << 24), ("2^32-1", u32::MAX)];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: quantization FILE [VOCAB] [MAX_TOKENS]";
    let path = args.next().ok_or(usage)?;
    let max_vocab: usize = args.next().map(|v| v.parse()).transpose()?.unwrap_or(256);
    let max_tokens: usize = args
        .next()
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(usize::MAX);
    let data = std::fs::read(&path)?;
    let t0 = Instant::now();
    let (v, mut tokens) = tokenize(&data, max_vocab);
    tokens.truncate(max_tokens);
    let n = tokens.len();
    if n == 0 {
        return Err("no tokens".into());
    }
    if v as u64 > u64::from(TOTALS[0].1) {
        return Err("vocabulary larger than the smallest total".into());
    }

    let mut model = DenseModel::new(v);
    let mut probs = vec![0.0f32; v];
    let mut cdf = QuantizedCdf::new();
    let mut ideal = 0.0f64;
    let mut exact = [0.0f64; TOTALS.len()];
    let mut encoders: Vec<RangeEncoder> = TOTALS.iter().map(|_| RangeEncoder::new()).collect();
    let mut prev = None;
    for &t in &tokens {
        model.predict(prev, &mut probs);
        let sum: f64 = probs.iter().map(|&p| f64::from(p)).sum();
        ideal -= (f64::from(probs[t as usize]) / sum).log2();
        for (k, &(_, total)) in TOTALS.iter().enumerate() {
            cdf.quantize(&probs, total);
            exact[k] -= (f64::from(cdf.freq(t)) / f64::from(total)).log2();
            encoders[k].encode(t, &cdf)?;
        }
        model.update(prev, t);
        prev = Some(t);
    }
    let coded: Vec<Vec<u8>> = encoders.into_iter().map(RangeEncoder::finish).collect();
    let encode_secs = t0.elapsed().as_secs_f64();

    // Decode every stream again to prove the quantised tables round-trip.
    let mut model = DenseModel::new(v);
    let mut decoders: Vec<RangeDecoder<'_>> = coded.iter().map(|c| RangeDecoder::new(c)).collect();
    let mut prev = None;
    for (i, &t) in tokens.iter().enumerate() {
        model.predict(prev, &mut probs);
        for (k, &(name, total)) in TOTALS.iter().enumerate() {
            cdf.quantize(&probs, total);
            let got = decoders[k].decode(&cdf)?;
            if got != t {
                return Err(
                    format!("total {name}: token {i} decoded as {got}, expected {t}").into(),
                );
            }
        }
        model.update(prev, t);
        prev = Some(t);
    }

    let which = if n < max_tokens { "all" } else { "first" };
    println!(
        "{path}: {} bytes, vocabulary {v}, {which} {n} tokens, encode pass {encode_secs:.1} s",
        data.len()
    );
    println!(
        "dense model: order-1 counts + {ALPHA} x order-0, f32 probabilities over all {v} tokens"
    );
    println!();
    println!(
        "{:<16} {:>12} {:>14} {:>11}",
        "cost", "bits/token", "total bytes", "overhead"
    );
    let per_token = |bits: f64| bits / n as f64;
    println!(
        "{:<16} {:>12.5} {:>14.0} {:>11}",
        "ideal -log2 p",
        per_token(ideal),
        ideal / 8.0,
        "-"
    );
    for (k, &(name, _)) in TOTALS.iter().enumerate() {
        let rows = [
            (format!("{name} exact"), exact[k]),
            (format!("{name} coded"), coded[k].len() as f64 * 8.0),
        ];
        for (label, bits) in rows {
            let over = (bits / ideal - 1.0) * 100.0;
            println!(
                "{label:<16} {:>12.5} {:>14.0} {over:>10.3}%",
                per_token(bits),
                bits / 8.0
            );
        }
    }
    Ok(())
}
