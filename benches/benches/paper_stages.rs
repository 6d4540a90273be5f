//! `--preset paper`: microseconds per token by stage, on enwik8-like tokens.
//!
//! Stages of the SSM (reference dimensions, the preset's vocabulary cap of 1,792):
//! `layers` and `head` of the inference step, one `softmax`, a training `forward` and
//! `backward` pass over a 32-token chunk and the `adam` step (clip + dense update). Per
//! token at the steady schedule (2 passes per chunk, the first one reusing the inference
//! steps): layers + head + softmax + (forward + 2·backward + 2·adam) / 32.
//!
//! Whole-model rows code 20,000 tokens with a fresh paper model per sample:
//! `counts` (count prior, softmax, CDF, range coder = mixing and coding),
//! `ngrams` (+ n-gram, LZ pair and recency terms), `full` (+ the SSM). Differences between
//! rows give the n-gram and SSM shares. Tokens come from the preset's tokenizer on the
//! first 256 KiB of `../shared/data/enwik8_1M` (generated text if absent).

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use ssmix::internals::{SsmStages, paper_code, tokenize};
use ssmix_benches::{data, textgen};

const VOCAB_CAP: usize = 1792;
const INPUT_LEN: usize = 256 << 10;
const MODEL_TOKENS: usize = 20_000;

fn tokens() -> (usize, Vec<u32>) {
    let bytes = match data::enwik8_1m().map(std::fs::read) {
        Some(Ok(mut b)) => {
            b.truncate(INPUT_LEN);
            b
        }
        _ => textgen::text_like(INPUT_LEN, 0x55_4d_49_58),
    };
    tokenize(&bytes, VOCAB_CAP)
}

fn ssm_stages(c: &mut Criterion) {
    let (v, toks) = tokens();
    let mut g = c.benchmark_group("paper_ssm_stage");
    g.throughput(Throughput::Elements(1));
    for bptt in [false, true] {
        let mode = if bptt { "bptt" } else { "detached" };
        let mut s = SsmStages::new(v, bptt);
        // Warm the weights up a little so the numbers are not those of a blank model.
        for &t in &toks[..4096] {
            s.observe(t);
        }
        let chunk = &toks[4096..4096 + s.chunk_len()];
        s.load_chunk(chunk);
        if !bptt {
            let mut i = 0;
            g.bench_function("layers", |b| {
                b.iter(|| {
                    i = (i + 1) % toks.len();
                    s.layers(black_box(toks[i]))
                })
            });
            g.bench_function("head", |b| b.iter(|| s.head()));
            g.bench_function("softmax", |b| b.iter(|| s.softmax()));
            g.bench_function("train_forward_chunk", |b| b.iter(|| s.train_forward()));
            g.bench_function("adam_step", |b| b.iter(|| s.adam()));
        }
        s.train_forward();
        g.bench_function(BenchmarkId::new("train_backward_chunk", mode), |b| {
            b.iter(|| s.train_backward())
        });
        // A separate model: `load_chunk` left `s` with a full chunk.
        let mut o = SsmStages::new(v, bptt);
        for &t in &toks[..4096] {
            o.observe(t);
        }
        let mut i = 4096;
        g.bench_function(BenchmarkId::new("observe", mode), |b| {
            b.iter(|| {
                i = if i + 1 < toks.len() { i + 1 } else { 4096 };
                o.observe(black_box(toks[i]))
            })
        });
    }
    g.finish();
}

fn model_rows(c: &mut Criterion) {
    let (v, toks) = tokens();
    let toks = &toks[..MODEL_TOKENS.min(toks.len())];
    let mut g = c.benchmark_group("paper_model_per_token");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(toks.len() as u64));
    for (name, parts) in [
        ("counts", 0),
        ("ngrams", 2 | 4 | 8),
        ("full", 1 | 2 | 4 | 8),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| paper_code(parts, v, black_box(toks)).expect("codes"))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = ssm_stages, model_rows
}
criterion_main!(benches);
