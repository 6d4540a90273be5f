//! Round trips through the public API: one-shot `compress`/`decompress`, the streaming
//! `Encoder`/`Decoder` with arbitrary write and read sizes, concatenated frames, and
//! output independence from the thread count.
//!
//! Case counts are modest so the suite stays fast once the real (slower) models land;
//! raise them with `PROPTEST_CASES=N` for a deeper run.

mod common;

use std::io::{Read, Write};

use common::{Rng, testdata};
use proptest::prelude::*;
use ssmix::{Decoder, Encoder, Level, MIN_BLOCK_SIZE, Options};

/// Inputs are capped at 64 KiB: enough for many tiny blocks, cheap enough for slow models.
const MAX_INPUT: usize = 64 << 10;

fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "compression",
    "model",
    "token",
    "state",
    "block",
    "frame",
    "a",
    "predicts",
    "next",
    "byte",
    "learning",
    "online",
    "ssmix",
    "Über",
    "данные",
    "数据",
    "\n",
    "{",
    "}",
    "fn",
    "let",
    "=",
    ";",
    "0",
    "42",
    "3.14159",
    "<p>",
    "</p>",
    "http://example.com/",
];

const CORPUS: &[&str] = &[
    "english.txt",
    "sample.txt",
    "source.c",
    "source_range.rs",
    "syslog.log",
    "nginx_access.log",
    "utf8_mixed.txt",
    "data.json",
    "data.csv",
    "structured.bin",
    "tiny.elf",
    "image.bmp",
    "image.png",
    "english.txt.gz",
    "english.txt.xz",
    "random.bin",
    "runs.bin",
];

/// Inputs of every shape that tends to break codecs: empty, one byte, all byte values,
/// long runs, run mixtures, random bytes, text-like token soup, and slices of the corpus.
fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(Vec::new()),
        1 => any::<u8>().prop_map(|b| vec![b]),
        1 => Just((0..=255u8).collect::<Vec<u8>>()),
        1 => Just((0..=255u8).rev().cycle().take(3000).collect::<Vec<u8>>()),
        2 => (any::<u8>(), 1..20_000usize).prop_map(|(b, n)| vec![b; n]),
        2 => prop::collection::vec((any::<u8>(), 1..400usize), 1..60)
            .prop_map(|runs| runs.into_iter().flat_map(|(b, n)| std::iter::repeat_n(b, n)).collect()),
        3 => prop::collection::vec(any::<u8>(), 0..4096),
        // Short inputs over two or three symbols: skewed statistics at the coder's edges.
        3 => prop::collection::vec(0..3u8, 0..24),
        1 => prop::collection::vec(any::<u8>(), 4096..MAX_INPUT),
        3 => prop::collection::vec(prop::sample::select(WORDS), 0..4000).prop_map(|w| {
            let mut s = w.join(" ").into_bytes();
            s.truncate(MAX_INPUT);
            s
        }),
        3 => (prop::sample::select(CORPUS), any::<u64>(), 1..MAX_INPUT).prop_map(|(name, at, len)| {
            let file = testdata(name);
            let start = (at % (file.len() as u64 + 1)) as usize;
            let end = (start + len).min(file.len());
            file[start..end].to_vec()
        }),
    ]
}

/// Random options: every level, block sizes from the minimum up (tiny blocks force
/// multi-block frames), checksum on and off, 1..=3 threads.
fn options() -> impl Strategy<Value = Options> {
    let block = prop_oneof![
        2 => Just(None),
        3 => Just(Some(MIN_BLOCK_SIZE)),
        2 => (MIN_BLOCK_SIZE..10_000usize).prop_map(Some),
        1 => Just(Some(65_536)),
    ];
    (1..=9u8, block, any::<bool>(), 1..=3usize).prop_map(|(level, block, checksum, threads)| {
        let mut o = Options::new()
            .level(Level::new(level).expect("1..=9"))
            .checksum(checksum)
            .threads(threads);
        if let Some(b) = block {
            o = o.block_size(b);
        }
        o
    })
}

fn expected_blocks(len: usize, block_size: usize) -> u64 {
    len.div_ceil(block_size) as u64
}

proptest! {
    #![proptest_config(config(48))]

    /// compress -> decompress is the identity, and `list` describes the frame.
    #[test]
    fn one_shot_round_trip(data in input(), opts in options()) {
        let packed = ssmix::compress(&data, &opts).expect("compress");
        let back = ssmix::decompress(&packed).expect("decompress");
        prop_assert!(back == data, "round trip changed {} bytes of input", data.len());

        let frames = ssmix::list(&packed[..]).expect("list");
        prop_assert_eq!(frames.len(), 1);
        let f = &frames[0];
        prop_assert_eq!(f.content_size, data.len() as u64);
        prop_assert_eq!(f.compressed_size, packed.len() as u64);
        prop_assert_eq!(f.blocks, expected_blocks(data.len(), opts.get_block_size()));
        prop_assert_eq!(f.level, opts.get_level().get());
        prop_assert_eq!(f.checksum, opts.get_checksum());

        // The memory the header asks for is enough, and one byte less is refused.
        let exact = Options::new().memory_limit(f.memory_needed);
        prop_assert!(ssmix::decompress_with(&packed, &exact).expect("decode at limit") == data);
        let short = Options::new().memory_limit(f.memory_needed - 1);
        let refused = matches!(
            ssmix::decompress_with(&packed, &short),
            Err(ssmix::Error::MemoryLimit { .. })
        );
        prop_assert!(refused, "decoder ignored a memory limit below the frame's need");
    }

    /// Streaming with arbitrary write and read sizes gives the same bytes as one-shot
    /// compression (with or without a declared content size) and decodes back.
    #[test]
    fn streaming_round_trip(
        data in input(),
        opts in options(),
        writes in prop::collection::vec(1..5000usize, 1..8),
        reads in prop::collection::vec(1..5000usize, 1..8),
        declare_size in any::<bool>(),
    ) {
        let mut enc = Encoder::with_options(Vec::new(), &opts).expect("encoder");
        if declare_size {
            enc.set_content_size(data.len() as u64).expect("content size");
        }
        let mut rest = &data[..];
        for &w in writes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at(w.min(rest.len()));
            enc.write_all(now).expect("write");
            rest = later;
        }
        enc.flush().expect("flush");
        enc.try_finish().expect("try_finish");
        enc.try_finish().expect("second try_finish is harmless");
        let packed = enc.finish().expect("finish");
        if declare_size {
            // `compress` declares the size too, so the frames must be identical.
            prop_assert!(packed == ssmix::compress(&data, &opts).expect("compress"));
        }

        let mut dec = Decoder::new(&packed[..]);
        let mut back = Vec::new();
        let mut buf = vec![0u8; 5000];
        for &r in reads.iter().cycle() {
            let n = dec.read(&mut buf[..r]).expect("read");
            if n == 0 {
                break;
            }
            back.extend_from_slice(&buf[..n]);
        }
        prop_assert!(back == data, "streaming round trip changed {} bytes of input", data.len());
        // A finished decoder keeps returning end-of-stream.
        prop_assert_eq!(dec.read(&mut buf).expect("read at end"), 0);
    }

    /// Concatenated frames decode to the concatenation of their contents, one-shot and
    /// streaming, and `list` sees every frame.
    #[test]
    fn concatenated_frames(parts in prop::collection::vec((input(), options()), 1..4)) {
        let mut packed = Vec::new();
        let mut expected = Vec::new();
        for (data, opts) in &parts {
            packed.extend(ssmix::compress(data, opts).expect("compress"));
            expected.extend_from_slice(data);
        }
        prop_assert!(ssmix::decompress(&packed).expect("decompress") == expected);
        let mut streamed = Vec::new();
        Decoder::new(&packed[..]).read_to_end(&mut streamed).expect("stream");
        prop_assert!(streamed == expected);
        let frames = ssmix::list(&packed[..]).expect("list");
        prop_assert_eq!(frames.len(), parts.len());
        for (f, (data, _)) in frames.iter().zip(&parts) {
            prop_assert_eq!(f.content_size, data.len() as u64);
        }
    }

    /// The compressed bytes never depend on the thread count (the output contract), and
    /// neither do the decompressed ones.
    #[test]
    fn output_independent_of_threads(data in input(), opts in options()) {
        let one = ssmix::compress(&data, &opts.clone().threads(1)).expect("1 thread");
        for threads in [2, 3, 0] {
            let many = ssmix::compress(&data, &opts.clone().threads(threads)).expect("threads");
            prop_assert!(one == many, "output with {} threads differs from 1 thread", threads);
            let back = ssmix::decompress_with(&one, &Options::new().threads(threads))
                .expect("decompress with threads");
            prop_assert!(back == data, "decoding with {} threads changed the content", threads);
        }
    }
}

/// Every corpus file round-trips at the default level with 16 KiB blocks (so the larger
/// files are multi-block), and the small text files at the extreme levels too.
#[test]
fn corpus_files_round_trip() {
    let mut names: Vec<&str> = CORPUS.to_vec();
    names.extend(["empty.bin", "one_byte.bin", "all_bytes.bin"]);
    for name in names {
        let data = testdata(name);
        let levels: &[u8] = match name {
            "english.txt" | "source.c" | "utf8_mixed.txt" => &[1, 5, 9],
            _ => &[5],
        };
        for &level in levels {
            let opts = Options::new()
                .level(Level::new(level).unwrap())
                .block_size(16 << 10)
                .threads(2);
            let packed = ssmix::compress(&data, &opts).expect("compress corpus file");
            let back = ssmix::decompress(&packed).expect("decompress corpus file");
            assert!(back == data, "{name} at level {level} did not round-trip");
        }
    }
}

/// Misuse of the encoder is an error, never a silently wrong frame.
#[test]
fn encoder_misuse_is_an_error() {
    // Fewer bytes than declared.
    let mut enc = Encoder::new(Vec::new()).unwrap();
    enc.set_content_size(10).unwrap();
    enc.write_all(b"short").unwrap();
    assert!(
        enc.finish().is_err(),
        "finish accepted fewer bytes than the declared size"
    );

    // More bytes than declared.
    let mut enc = Encoder::new(Vec::new()).unwrap();
    enc.set_content_size(3).unwrap();
    assert!(
        enc.write_all(b"too long").is_err(),
        "write accepted more than the declared size"
    );

    // Declaring the size after writing started.
    let mut enc = Encoder::new(Vec::new()).unwrap();
    enc.write_all(b"x").unwrap();
    assert!(enc.set_content_size(1).is_err());

    // Writing after finishing.
    let mut enc = Encoder::new(Vec::new()).unwrap();
    enc.write_all(b"abc").unwrap();
    enc.try_finish().unwrap();
    assert!(
        enc.write_all(b"more").is_err(),
        "write after try_finish accepted"
    );

    // Invalid levels never reach the encoder.
    assert!(Level::new(0).is_err() && Level::new(10).is_err());
}

/// A frame dropped without `finish` is incomplete, and the decoder says so.
#[test]
fn unfinished_frame_is_rejected() {
    let mut rng = Rng::new(7);
    let data = rng.bytes(3000);
    let mut sink = Vec::new();
    {
        let mut enc =
            Encoder::with_options(&mut sink, &Options::new().block_size(MIN_BLOCK_SIZE)).unwrap();
        enc.write_all(&data).unwrap();
        // dropped here without finish()
    }
    let err = ssmix::decompress(&sink).expect_err("unfinished frame decoded");
    assert!(err.is_data_error(), "unexpected error kind: {err}");
}

/// Regression: found by `cargo fuzz run roundtrip` (testdata/fuzz/roundtrip/crash-08e13da0…):
/// short, skewed inputs such as `[1, 0, 0, 0, 0]` compressed to frames the decoder
/// rejected with "coded tokens run past the end of the block". Every two-symbol input of
/// up to 10 bytes is checked.
#[test]
fn r_fuzz_short_skewed_inputs_round_trip() {
    let mut failures = Vec::new();
    for len in 1..=10usize {
        for mask in 0..(1u32 << len) {
            let data: Vec<u8> = (0..len).map(|i| ((mask >> i) & 1) as u8).collect();
            let packed = ssmix::compress(&data, &Options::new()).expect("compress");
            match ssmix::decompress(&packed) {
                Ok(back) if back == data => {}
                other => failures.push(format!("{data:?}: {:?}", other.map(|b| b.len()))),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} short inputs do not round-trip, e.g.:\n{}",
        failures.len(),
        failures
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
