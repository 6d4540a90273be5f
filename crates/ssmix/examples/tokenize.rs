//! Measures the tokenizer on a file: training and encoding time, token count, stored
//! vocabulary size, and a cheap proxy for the total coded size.
//!
//! `cargo run --release -p ssmix --features internals --example tokenize -- FILE [VOCAB...] [--min-count N]`
//!
//! The proxy codes the token stream with an adaptive order-1 model (interpolated
//! Witten-Bell: order 1 escapes to an adaptive order 0, which escapes to uniform over the
//! vocabulary) and adds the stored vocabulary; f64 logs are fine here, nothing is coded.

use std::collections::HashMap;
use std::time::Instant;

use ssmix::tokenizer::{Token, Vocab, vocab_budget};

/// Ideal adaptive code length of `tokens` in bits.
fn order1_bits(tokens: &[Token], vocab_len: usize) -> f64 {
    let mut c0 = vec![0u32; vocab_len];
    let mut seen0 = 0u32;
    // context -> (total, distinct), (context, token) -> count
    let mut ctx: HashMap<Token, (u32, u32)> = HashMap::new();
    let mut pair: HashMap<(Token, Token), u32> = HashMap::new();
    let mut bits = 0.0;
    let mut prev: Token = 0;
    for (n0, &t) in tokens.iter().enumerate() {
        let n0 = n0 as u32;
        let tu = t as usize;
        // Order 0: Witten-Bell escape to uniform.
        let uniform = 1.0 / vocab_len as f64;
        let p0 =
            (f64::from(c0[tu]) + f64::from(seen0) * uniform) / (f64::from(n0 + seen0)).max(1.0);
        let p0 = if n0 == 0 { uniform } else { p0 };
        let (tot, distinct) = ctx.get(&prev).copied().unwrap_or((0, 0));
        let c = pair.get(&(prev, t)).copied().unwrap_or(0);
        let p = if tot == 0 {
            p0
        } else {
            (f64::from(c) + f64::from(distinct) * p0) / f64::from(tot + distinct)
        };
        bits -= p.log2();
        if c0[tu] == 0 {
            seen0 += 1;
        }
        c0[tu] += 1;
        let e = ctx.entry(prev).or_insert((0, 0));
        e.0 += 1;
        if c == 0 {
            e.1 += 1;
        }
        *pair.entry((prev, t)).or_insert(0) += 1;
        prev = t;
    }
    bits
}

/// CPU time of this thread in ms (Linux; the machine may be shared, wall time is noisy).
fn cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e6)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut min_count = ssmix::tokenizer::DEFAULT_MIN_COUNT;
    if let Some(i) = args.iter().position(|a| a == "--min-count") {
        min_count = args
            .get(i + 1)
            .ok_or("--min-count needs a value")?
            .parse()?;
        args.drain(i..i + 2);
    }
    let path = args
        .first()
        .ok_or("usage: tokenize FILE [VOCAB...] [--min-count N]")?
        .clone();
    let data = std::fs::read(&path)?;
    let mut sizes: Vec<usize> = args[1..]
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    if sizes.is_empty() {
        sizes.push(vocab_budget(data.len()));
    }
    println!(
        "{path}: {} bytes, min_count {min_count}, vocab_budget {}",
        data.len(),
        vocab_budget(data.len())
    );
    println!(
        "{:>7} {:>7} {:>15} {:>15} {:>9} {:>9} {:>10} {:>8} {:>10} {:>10} {:>8}",
        "budget",
        "vocab",
        "train_ms(cpu)",
        "enc_ms(cpu)",
        "tokens",
        "B/token",
        "vocab_B",
        "read_ms",
        "o1_tokB",
        "total_B",
        "bpb"
    );
    for &size in &sizes {
        let (t, c) = (Instant::now(), cpu_ms());
        let v = Vocab::train_with(&data, size, min_count);
        let train_ms = t.elapsed().as_secs_f64() * 1e3;
        let train_cpu = cpu_ms() - c;
        let (t, c) = (Instant::now(), cpu_ms());
        let tokens = v.encode(&data);
        let enc_ms = t.elapsed().as_secs_f64() * 1e3;
        let enc_cpu = cpu_ms() - c;
        let mut ser = Vec::new();
        v.write(&mut ser);
        let t = Instant::now();
        let (back, used) = Vocab::read(&ser)?;
        let read_ms = t.elapsed().as_secs_f64() * 1e3;
        assert!(used == ser.len() && back == v, "vocabulary round trip");
        let check: Vec<u8> = tokens
            .iter()
            .flat_map(|&t| v.token_bytes(t).iter().copied())
            .collect();
        assert!(check == data, "token round trip");
        let o1 = order1_bits(&tokens, v.len()) / 8.0;
        let total = o1 + ser.len() as f64;
        println!(
            "{:>7} {:>7} {:>15} {:>15} {:>9} {:>9.3} {:>10} {:>8.2} {:>10.0} {:>10.0} {:>8.4}",
            size,
            v.len(),
            format!("{train_ms:.1} ({train_cpu:.1})"),
            format!("{enc_ms:.1} ({enc_cpu:.1})"),
            tokens.len(),
            data.len() as f64 / tokens.len().max(1) as f64,
            ser.len(),
            read_ms,
            o1,
            total,
            total * 8.0 / data.len().max(1) as f64
        );
    }
    Ok(())
}
