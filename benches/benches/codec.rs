//! Whole-codec throughput: `ssmix::compress` and `ssmix::decompress` per level.
//!
//! Inputs: 256 KiB of generated text-like data (always) and the first 256 KiB of
//! `../shared/data/enwik8_1M` (when present). Short on purpose (10 samples, ~2 s per
//! benchmark) so `cargo bench -p ssmix-benches` finishes in a few minutes; use the
//! `ssmix-bench` harness for ratios and comparisons with other tools.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use ssmix::{Level, Options};
use ssmix_benches::{data, textgen};

const INPUT_LEN: usize = 256 << 10;
const LEVELS: [u8; 3] = [1, 5, 9];

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut v = vec![("text256k", textgen::text_like(INPUT_LEN, 0x55_4d_49_58))];
    match data::enwik8_1m().map(std::fs::read) {
        Some(Ok(mut bytes)) => {
            bytes.truncate(INPUT_LEN);
            v.push(("enwik8_256k", bytes));
        }
        Some(Err(e)) => eprintln!("note: cannot read enwik8_1M ({e}): skipped"),
        None => eprintln!(
            "note: {} not found: enwik8 benches skipped",
            data::shared_data_dir().join("enwik8_1M").display()
        ),
    }
    v
}

fn options(level: u8) -> Options {
    Options::new()
        .level(Level::new(level).expect("level in 1..=9"))
        .threads(1)
}

fn compress(c: &mut Criterion) {
    let mut group = c.benchmark_group("compress");
    // Flat: 10 samples of equal size, not the linear 1+2+..+10 iterations, so a slow
    // level costs ~10 runs, not 55.
    group.sampling_mode(SamplingMode::Flat);
    for (name, input) in inputs() {
        group.throughput(Throughput::Bytes(input.len() as u64));
        for level in LEVELS {
            let opts = options(level);
            group.bench_with_input(BenchmarkId::new(name, level), &input, |b, input| {
                b.iter(|| ssmix::compress(black_box(input), &opts).expect("compress"))
            });
        }
    }
    group.finish();
}

fn decompress(c: &mut Criterion) {
    let mut group = c.benchmark_group("decompress");
    // Flat sampling, as in `compress`.
    group.sampling_mode(SamplingMode::Flat);
    for (name, input) in inputs() {
        group.throughput(Throughput::Bytes(input.len() as u64));
        for level in LEVELS {
            let packed = ssmix::compress(&input, &options(level)).expect("compress");
            assert_eq!(
                ssmix::decompress(&packed).expect("decompress"),
                input,
                "round trip"
            );
            group.bench_with_input(BenchmarkId::new(name, level), &packed, |b, packed| {
                b.iter(|| ssmix::decompress(black_box(packed)).expect("decompress"))
            });
        }
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = compress, decompress
}
criterion_main!(benches);
