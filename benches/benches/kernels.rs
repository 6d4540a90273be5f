//! Per-kernel and per-token benches: every numeric kernel (scalar reference and `wide`
//! version side by side), the SSM's inference and training stages, the range coder, the
//! tokenizer, the mixing model's building blocks and the whole per-token step of the
//! default preset at levels 1, 5 and 9.
//!
//! Sizes are those the models use: vocabularies of 512..2048 tokens and SSM widths of
//! 16..64 (`S` = V 512 × D 16, `M` = V 1024 × D 32, `L` = V 2048 × D 64; batches are a
//! training chunk's 31 positions). Short on purpose (~0.5 s per benchmark) so
//! `cargo bench -p ssmix-benches --bench kernels` finishes in a few minutes; filter with
//! e.g. `-- kernel_matvec`.
//!
//! Text inputs are the start of `../shared/data/enwik8_1M` when present, generated
//! text-like data otherwise.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use ssmix::internals::{
    AdamScalars, MixApm, MixBlock, MixCounter, MixLogistic, MixMixer, MixStates, QuantizedCdf,
    RangeEncoder, SsmStages, scalar_kernels, simd_kernels, tokenize,
};
use ssmix::tokenizer::Vocab;
use ssmix_benches::{data, textgen};

/// (name, vocabulary, d_model).
const SIZES: [(&str, usize, usize); 3] = [("S", 512, 16), ("M", 1024, 32), ("L", 2048, 64)];
/// Positions of one training chunk (the reference chunk of 32 tokens predicts 31).
const BATCH: usize = 31;
/// Calls per iteration of the tiny mixing-model blocks (a call is a few ns).
const CALLS: usize = 1024;

/// Deterministic pseudo-random floats in `[-scale, scale)`.
fn floats(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// `len` bytes of text: enwik8 when available, generated otherwise.
fn text(len: usize) -> Vec<u8> {
    match data::enwik8_1m().map(std::fs::read) {
        Some(Ok(mut b)) if b.len() >= len => {
            b.truncate(len);
            b
        }
        _ => textgen::text_like(len, 0x55_4d_49_58),
    }
}

/// The scalar and the SIMD version of one kernel, as function pointers of one type.
struct Pair<F> {
    scalar: F,
    simd: F,
}

/// Runs `f` once per implementation under `<impl>/<size>`.
fn both<F: Copy>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    size: &str,
    pair: &Pair<F>,
    mut f: impl FnMut(&mut criterion::Bencher<'_>, F),
) {
    for (name, k) in [("scalar", pair.scalar), ("simd", pair.simd)] {
        g.bench_function(BenchmarkId::new(name, size), |b| f(b, k));
    }
}

type Dot = fn(&[f32], &[f32]) -> f32;
type Mat = fn(&[f32], usize, &[f32], &mut [f32]);
type Outer = fn(&mut [f32], &[f32], &[f32]);
type InPlace = fn(&mut [f32]);
type Softmax = fn(&[f32], &mut [f32]);
type Reduce = fn(&[f32]) -> f32;
type Adam = fn(&mut [f32], &[f32], &mut [f32], &mut [f32], &AdamScalars);
type Axpy = fn(f32, &[f32], &mut [f32]);
type Scale = fn(f32, &mut [f32]);

macro_rules! pair {
    ($name:ident : $ty:ty) => {
        Pair::<$ty> {
            scalar: scalar_kernels::$name,
            simd: simd_kernels::$name,
        }
    };
}

fn kernels_linear(c: &mut Criterion) {
    // dot: one row of a matvec (length d_model, and d_inner = 2·d_model).
    let mut g = c.benchmark_group("kernel_dot");
    let p = pair!(dot: Dot);
    for n in [16, 32, 64, 128] {
        let (a, x) = (floats(n, 1, 1.0), floats(n, 2, 1.0));
        g.throughput(Throughput::Elements(n as u64));
        both(&mut g, &n.to_string(), &p, |b, k| {
            b.iter(|| k(black_box(&a), black_box(&x)))
        });
    }
    g.finish();

    // The head: V × D matrix times one input, and times a chunk of inputs.
    let mut g = c.benchmark_group("kernel_matvec");
    let p = pair!(matvec: Mat);
    for (s, v, d) in SIZES {
        let (w, x, mut y) = (floats(v * d, 3, 0.1), floats(d, 4, 1.0), vec![0.0; v]);
        g.throughput(Throughput::Elements((v * d) as u64));
        both(&mut g, s, &p, |b, k| {
            b.iter(|| k(black_box(&w), d, black_box(&x), &mut y))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("kernel_matvec_batch");
    let p = pair!(matvec_batch: Mat);
    for (s, v, d) in SIZES {
        let (w, xs) = (floats(v * d, 5, 0.1), floats(BATCH * d, 6, 1.0));
        let mut ys = vec![0.0; BATCH * v];
        g.throughput(Throughput::Elements((BATCH * v * d) as u64));
        both(&mut g, s, &p, |b, k| {
            b.iter(|| k(black_box(&w), d, black_box(&xs), &mut ys))
        });
    }
    g.finish();

    // Head input gradient: dx (D) += Wᵀ (D × V) · dlogits (V).
    let mut g = c.benchmark_group("kernel_matvec_t_accumulate");
    let p = pair!(matvec_t_accumulate: Mat);
    for (s, v, d) in SIZES {
        let (w, gr, mut dx) = (floats(v * d, 7, 0.1), floats(v, 8, 1e-3), vec![0.0; d]);
        g.throughput(Throughput::Elements((v * d) as u64));
        both(&mut g, s, &p, |b, k| {
            b.iter(|| k(black_box(&w), d, black_box(&gr), &mut dx))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("kernel_matvec_t_batch");
    let p = pair!(matvec_t_batch: Mat);
    for (s, v, d) in SIZES {
        let (w, gs) = (floats(v * d, 9, 0.1), floats(BATCH * v, 10, 1e-3));
        let mut dxs = vec![0.0; BATCH * d];
        g.throughput(Throughput::Elements((BATCH * v * d) as u64));
        both(&mut g, s, &p, |b, k| {
            b.iter(|| k(black_box(&w), d, black_box(&gs), &mut dxs))
        });
    }
    g.finish();

    // Head weight gradient: dW (V × D) += dlogits (V) · xᵀ (D).
    let mut g = c.benchmark_group("kernel_outer_accumulate");
    let p = pair!(outer_accumulate: Outer);
    for (s, v, d) in SIZES {
        let (gr, x, mut dw) = (floats(v, 11, 1e-3), floats(d, 12, 1.0), vec![0.0; v * d]);
        g.throughput(Throughput::Elements((v * d) as u64));
        both(&mut g, s, &p, |b, k| {
            b.iter(|| k(&mut dw, black_box(&gr), black_box(&x)))
        });
    }
    g.finish();
}

fn kernels_vocab(c: &mut Criterion) {
    // Over the vocabulary: softmax, entropy.
    let mut g = c.benchmark_group("kernel_softmax_in_place");
    let p = pair!(softmax_in_place: InPlace);
    for (s, v, _) in SIZES {
        let logits = floats(v, 13, 8.0);
        let mut buf = logits.clone();
        g.throughput(Throughput::Elements(v as u64));
        // Reloads the logits each call (a copy of V floats, ~1% of the softmax).
        both(&mut g, s, &p, |b, k| {
            b.iter(|| {
                buf.copy_from_slice(&logits);
                k(black_box(&mut buf))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("kernel_softmax");
    let p = pair!(softmax: Softmax);
    for (s, v, _) in SIZES {
        let (logits, mut probs) = (floats(v, 14, 8.0), vec![0.0; v]);
        g.throughput(Throughput::Elements(v as u64));
        both(&mut g, s, &p, |b, k| {
            b.iter(|| k(black_box(&logits), &mut probs))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("kernel_entropy");
    let p = pair!(entropy: Reduce);
    for (s, v, _) in SIZES {
        let mut probs = floats(v, 15, 8.0);
        simd_kernels::softmax_in_place(&mut probs);
        g.throughput(Throughput::Elements(v as u64));
        both(&mut g, s, &p, |b, k| b.iter(|| k(black_box(&probs))));
    }
    g.finish();
}

fn kernels_params(c: &mut Criterion) {
    // Over all parameters (≈ embedding + head = 2·V·D): Adam, the clip's norm and scale,
    // axpy.
    let sizes = SIZES.map(|(s, v, d)| (s, 2 * v * d));
    let adam_s = AdamScalars::new(0.002, 0.9, 0.999, 1e-8, 0.9f32.powi(10), 0.999f32.powi(10));
    let mut g = c.benchmark_group("kernel_adam");
    let p = pair!(adam: Adam);
    for (s, n) in sizes {
        let (mut w, gr) = (floats(n, 16, 0.1), floats(n, 17, 1e-2));
        let (mut m, mut v) = (floats(n, 18, 1e-3), floats(n, 19, 1e-5));
        for x in &mut v {
            *x = x.abs();
        }
        g.throughput(Throughput::Elements(n as u64));
        both(&mut g, s, &p, |b, k| {
            b.iter(|| k(&mut w, black_box(&gr), &mut m, &mut v, &adam_s))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("kernel_sum_squares");
    let p = pair!(sum_squares: Reduce);
    for (s, n) in sizes {
        let x = floats(n, 20, 1.0);
        g.throughput(Throughput::Elements(n as u64));
        both(&mut g, s, &p, |b, k| b.iter(|| k(black_box(&x))));
    }
    g.finish();

    let mut g = c.benchmark_group("kernel_axpy");
    let p = pair!(axpy: Axpy);
    for (s, n) in sizes {
        let (x, mut y) = (floats(n, 21, 1.0), floats(n, 22, 1.0));
        g.throughput(Throughput::Elements(n as u64));
        // a = 0 keeps y bounded however long the bench runs (same instructions).
        both(&mut g, s, &p, |b, k| {
            b.iter(|| k(black_box(0.0), black_box(&x), &mut y))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("kernel_scale");
    let p = pair!(scale: Scale);
    for (s, n) in sizes {
        let mut x = floats(n, 23, 1.0);
        g.throughput(Throughput::Elements(n as u64));
        both(&mut g, s, &p, |b, k| b.iter(|| k(black_box(1.0), &mut x)));
    }
    g.finish();
}

fn ssm(c: &mut Criterion) {
    // (name, d_model, layers, vocabulary, BPTT): level 9's SSM input, the paper preset's
    // shape, and a wide one.
    let configs = [
        ("d16x1_v512_bptt", 16, 1, 512, true),
        ("d32x2_v2048_detached", 32, 2, 2048, false),
        ("d64x2_v2048_bptt", 64, 2, 2048, true),
    ];
    let bytes = text(256 << 10);
    let mut g = c.benchmark_group("ssm");
    g.throughput(Throughput::Elements(1));
    for (name, d, l, v, bptt) in configs {
        let (_, toks) = tokenize(&bytes, v);
        let mut s = SsmStages::with_dims(d, l, v, bptt);
        // Warm the weights up so the numbers are not those of a blank model.
        for &t in &toks[..2048] {
            s.observe(t);
        }
        let mut i = 2048;
        g.bench_function(BenchmarkId::new("observe", name), |b| {
            b.iter(|| {
                i = if i + 1 < toks.len() { i + 1 } else { 2048 };
                s.observe(black_box(toks[i]))
            })
        });
        let mut s = SsmStages::with_dims(d, l, v, bptt);
        for &t in &toks[..2048] {
            s.observe(t);
        }
        let mut j = 0;
        g.bench_function(BenchmarkId::new("forward_layers", name), |b| {
            b.iter(|| {
                j = (j + 1) % toks.len();
                s.layers(black_box(toks[j]))
            })
        });
        g.bench_function(BenchmarkId::new("forward_head", name), |b| {
            b.iter(|| s.head())
        });
        let chunk = s.chunk_len();
        s.load_chunk(&toks[4096..4096 + chunk]);
        g.bench_function(BenchmarkId::new("train_forward_chunk", name), |b| {
            b.iter(|| s.train_forward())
        });
        s.train_forward();
        g.bench_function(BenchmarkId::new("train_backward_chunk", name), |b| {
            b.iter(|| s.train_backward())
        });
        g.bench_function(BenchmarkId::new("adam_step", name), |b| b.iter(|| s.adam()));
    }
    g.finish();
}

fn coder(c: &mut Criterion) {
    let mut g = c.benchmark_group("range_coder");
    // Bits with skewed, varying probabilities (as the mixing model codes them).
    let probs: Vec<u32> = floats(4096, 24, 1.0)
        .iter()
        .map(|&x| ((x * 0.49 + 0.5) * 65536.0) as u32)
        .map(|p| p.clamp(1, 65535))
        .collect();
    let bits: Vec<bool> = floats(4096, 25, 1.0)
        .iter()
        .zip(&probs)
        .map(|(&u, &p)| (u * 0.5 + 0.5) * 65536.0 < p as f32)
        .collect();
    g.throughput(Throughput::Elements(bits.len() as u64));
    g.bench_function("code_bit", |b| {
        b.iter(|| {
            let mut enc = RangeEncoder::new();
            for (&bit, &p) in bits.iter().zip(&probs) {
                enc.code_bit(bit, p).expect("codes");
            }
            enc.finish()
        })
    });
    for v in [512usize, 2048] {
        let mut probs = floats(v, 26, 6.0);
        simd_kernels::softmax_in_place(&mut probs);
        let mut cdf = QuantizedCdf::new();
        cdf.quantize(&probs, 1 << 24);
        let syms: Vec<u32> = floats(4096, 27, 1.0)
            .iter()
            .map(|&x| ((x * 0.5 + 0.5) * v as f32) as u32 % v as u32)
            .collect();
        g.throughput(Throughput::Elements(syms.len() as u64));
        g.bench_function(BenchmarkId::new("code_symbol", v), |b| {
            b.iter(|| {
                let mut enc = RangeEncoder::new();
                for &s in &syms {
                    enc.encode(s, &cdf).expect("codes");
                }
                enc.finish()
            })
        });
    }
    g.finish();
}

fn tokenizer(c: &mut Criterion) {
    let bytes = text(100_000);
    let budget = ssmix::tokenizer::vocab_budget(bytes.len());
    let mut g = c.benchmark_group("tokenizer");
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("train_100k", |b| {
        b.iter(|| Vocab::train(black_box(&bytes), budget))
    });
    let vocab = Vocab::train(&bytes, budget);
    g.bench_function("encode_100k", |b| {
        b.iter(|| vocab.encode(black_box(&bytes)))
    });
    g.finish();
}

fn mix_tables(c: &mut Criterion) {
    let mut g = c.benchmark_group("mix_tables");
    g.throughput(Throughput::Elements(CALLS as u64));
    let bits: Vec<bool> = floats(CALLS, 28, 1.0).iter().map(|&x| x > 0.3).collect();
    let logits: Vec<i32> = floats(CALLS, 29, 2047.0)
        .iter()
        .map(|&x| x as i32)
        .collect();
    let lg = MixLogistic::new();
    g.bench_function("logistic_squash", |b| {
        b.iter(|| {
            let mut acc = 0i32;
            for &x in &logits {
                acc = acc.wrapping_add(lg.squash(black_box(x)));
            }
            acc
        })
    });
    g.bench_function("logistic_stretch", |b| {
        b.iter(|| {
            let mut acc = 0i32;
            for &x in &logits {
                acc = acc.wrapping_add(lg.stretch(black_box(x as u32 & 4095)));
            }
            acc
        })
    });
    let st = MixStates::new();
    g.bench_function("states_next", |b| {
        b.iter(|| {
            let mut s = 0u8;
            for &bit in &bits {
                s = st.next(s, black_box(bit));
            }
            s
        })
    });
    let mut ctr = MixCounter::new();
    g.bench_function("counter_update", |b| {
        b.iter(|| {
            for &bit in &bits {
                ctr.update(black_box(bit), 1020);
            }
            ctr.p()
        })
    });
    let mut apm = MixApm::new(1 << 12, 4, true);
    g.bench_function("apm_refine_update", |b| {
        b.iter(|| {
            let mut acc = 0i32;
            for (i, (&bit, &x)) in bits.iter().zip(&logits).enumerate() {
                acc = acc.wrapping_add(apm.refine(black_box(x), i & 4095));
                apm.update(bit);
            }
            acc
        })
    });
    // A layer-1 mixer of level 5's width: 15 contexts × 3 inputs + 4, 256 weight sets.
    let n = 49;
    let inputs: Vec<i32> = floats(n * 64, 30, 2047.0)
        .iter()
        .map(|&x| x as i32)
        .collect();
    let mut mixer = MixMixer::new(n, 256, 6, 4096);
    g.bench_function(BenchmarkId::new("mixer_mix_update", n), |b| {
        b.iter(|| {
            let mut acc = 0i32;
            for (i, &bit) in bits.iter().enumerate() {
                let x = &inputs[(i % 64) * n..(i % 64 + 1) * n];
                acc = acc.wrapping_add(mixer.mix(black_box(x), i & 255));
                mixer.update_rate(x, bit, 6);
            }
            acc
        })
    });
    g.finish();
}

fn per_token(c: &mut Criterion) {
    let bytes = text(64 << 10);
    let mut g = c.benchmark_group("mix_per_token");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    for level in [1u8, 5, 9] {
        let block = MixBlock::new(&bytes, level);
        g.throughput(Throughput::Elements(block.tokens() as u64));
        g.bench_function(BenchmarkId::new("code_64k", level), |b| {
            b.iter_batched_ref(
                || block.model().expect("model"),
                |m| block.code(m).expect("codes"),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(500))
}

criterion_group! {
    name = benches;
    config = config();
    targets = kernels_linear, kernels_vocab, kernels_params, ssm, coder, tokenizer, mix_tables,
        per_token
}
criterion_main!(benches);
