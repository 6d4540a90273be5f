use super::*;
use crate::coder::{RangeDecoder, RangeEncoder};
use crate::model::ssm::GradMode;
use crate::{Options, Preset};

const PRESETS: [Preset; 4] = [
    Preset::Paper,
    Preset::PaperCountsOnly,
    Preset::PaperNgrams,
    Preset::PaperSsm,
];

fn text(len: usize) -> Vec<u8> {
    let words = [
        "the ",
        "state ",
        "space ",
        "model ",
        "of ",
        "[[",
        "]] ",
        "mixing ",
        "and ",
        "a ",
        "compression\n",
        "<page>",
        "</page>\n",
        "1999 ",
    ];
    let mut s = 12345u64;
    let mut out = Vec::new();
    while out.len() < len {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.extend_from_slice(words[(s >> 33) as usize % words.len()].as_bytes());
    }
    out.truncate(len);
    out
}

fn binary(len: usize) -> Vec<u8> {
    let mut s = 99u64;
    (0..len)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if i % 7 == 0 { 0 } else { (s >> 56) as u8 }
        })
        .collect()
}

#[test]
fn paper_presets_round_trip_small_inputs() {
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let inputs: [Vec<u8>; 5] = [
        Vec::new(),
        b"x".to_vec(),
        all_bytes,
        text(3000),
        binary(2000),
    ];
    for preset in PRESETS {
        let opts = Options::new().preset(preset);
        for data in &inputs {
            let packed = crate::compress(data, &opts).unwrap();
            assert_eq!(&crate::decompress(&packed).unwrap(), data, "{preset:?}");
        }
    }
}

#[test]
fn paper_compression_is_deterministic_and_learns() {
    let data = text(4000);
    for preset in PRESETS {
        let opts = Options::new().preset(preset);
        let a = crate::compress(&data, &opts).unwrap();
        let b = crate::compress(&data, &opts).unwrap();
        assert_eq!(a, b, "{preset:?}");
        assert!(a.len() < data.len() / 2, "{preset:?}: {}", a.len());
    }
}

/// Codes `tokens` and decodes them again with the model built from `params`.
fn model_round_trip(params: &[u32], v: usize, tokens: &[u32]) -> usize {
    let mut m = PaperModel::with_vocab_size(params, v).unwrap();
    let mut enc = RangeEncoder::new();
    for &t in tokens {
        assert_eq!(m.code(&mut enc, t).unwrap(), t);
    }
    let bytes = enc.finish();
    let mut m = PaperModel::with_vocab_size(params, v).unwrap();
    let mut dec = RangeDecoder::new(&bytes);
    for (i, &t) in tokens.iter().enumerate() {
        assert_eq!(m.code(&mut dec, 0).unwrap(), t, "token {i}");
    }
    bytes.len()
}

fn tokens(n: usize, v: u32) -> Vec<u32> {
    // Repeating phrases with noise: every order, the LZ table and recency get hits.
    let mut s = 7u64;
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if (s >> 60) == 0 {
                (s >> 20) as u32 % v
            } else {
                ((i % 97) as u32 * 31) % v
            }
        })
        .collect()
}

#[test]
fn cdf16_detached_and_tiny_tables_round_trip() {
    let toks = tokens(1500, 300);
    let mut p = PaperParams::reference(ALL_PARTS);
    let full = model_round_trip(&p.to_list(), 300, &toks);
    p.cdf_log = 16;
    model_round_trip(&p.to_list(), 300, &toks);
    p.ssm.grad_mode = GradMode::Detached;
    model_round_trip(&p.to_list(), 300, &toks);
    // The reference code's settings.
    let r = PaperParams::reference_code(ALL_PARTS);
    assert_eq!((r.scale_h0, r.ssm.grad_mode), (5.5, GradMode::Detached));
    assert_ne!(model_round_trip(&r.to_list(), 300, &toks), full);
    // Tables that stop growing early: the drop rule must keep both sides in step.
    let mut p = PaperParams::reference(PART_NGRAM | PART_LZ);
    p.ngram_log = 4;
    p.ngram_max_log = 5;
    p.lz_log = 8;
    model_round_trip(&p.to_list(), 300, &toks);
    assert!(full < toks.len(), "{full} bytes for {} tokens", toks.len());
}

#[test]
fn largest_vocabulary_and_token_ids_round_trip() {
    let mut p = PaperParams::reference(PART_NGRAM | PART_LZ | PART_RECENCY);
    p.vocab_cap = MAX_VOCAB as u32;
    let toks: Vec<u32> = [65_535, 0, 65_535, 65_535, 1, 65_535, 0, 65_535]
        .repeat(8)
        .into_iter()
        .collect();
    model_round_trip(&p.to_list(), MAX_VOCAB, &toks);
}

#[test]
fn rejects_bad_parameters() {
    let good = PaperParams::reference(ALL_PARTS).to_list();
    assert!(PaperModel::with_vocab_size(&good, 256).is_ok());
    let corrupt = |p: &[u32], v: usize| {
        matches!(
            PaperModel::with_vocab_size(p, v),
            Err(crate::Error::Corrupt(_))
        )
    };
    assert!(corrupt(&good, 0));
    assert!(corrupt(&good, 2049));
    assert!(corrupt(&good[..25], 256));
    assert!(corrupt(&[good.clone(), vec![0]].concat(), 256));
    // Every own parameter, and the SSM's dimensions, reject out-of-range values.
    for i in 0..N_OWN + 6 {
        for bad in [u32::MAX, 0x8000_0000] {
            let mut p = good.clone();
            p[i] = bad;
            assert!(corrupt(&p, 256), "param {i} = {bad}");
        }
    }
    for (i, bad) in [(1, 255), (2, 20), (3, 3), (4, 15), (4, 25), (5, 7), (5, 27)] {
        let mut p = good.clone();
        p[i] = bad;
        assert!(corrupt(&p, 256), "param {i} = {bad}");
    }
    for parts in 0..=ALL_PARTS {
        let p = PaperParams::reference(parts);
        assert_eq!(PaperParams::from_list(&p.to_list()).unwrap(), p);
    }
}

#[test]
fn bad_params_in_a_frame_are_corrupt() {
    // Compress with the paper preset, then change the vocabulary cap in the header
    // (fixing the header CRC) so that the stored vocabulary no longer fits.
    let data = text(3000);
    let packed = crate::compress(&data, &Options::new().preset(Preset::Paper)).unwrap();
    let (mut h, used) = crate::container::format::FrameHeader::parse(&packed).unwrap();
    h.model.params[1] = 256;
    let mut bad = Vec::new();
    h.write(&mut bad);
    bad.extend_from_slice(&packed[used..]);
    assert!(matches!(
        crate::decompress(&bad),
        Err(crate::Error::Corrupt(_))
    ));
    h.model.params[0] = 16;
    let mut bad = Vec::new();
    h.write(&mut bad);
    bad.extend_from_slice(&packed[used..]);
    assert!(matches!(
        crate::decompress(&bad),
        Err(crate::Error::Corrupt(_))
    ));
}

#[test]
fn decoding_garbage_never_panics() {
    let mut p = PaperParams::reference(PART_NGRAM | PART_LZ | PART_RECENCY);
    for cdf_log in [16, 24] {
        p.cdf_log = cdf_log;
        let mut s = 5u64;
        for _ in 0..5 {
            let bytes: Vec<u8> = (0..64)
                .map(|_| {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (s >> 56) as u8
                })
                .collect();
            let mut m = PaperModel::with_vocab_size(&p.to_list(), p.vocab_cap as usize).unwrap();
            let mut dec = RangeDecoder::new(&bytes);
            for _ in 0..3000 {
                match m.code(&mut dec, 0) {
                    Ok(t) => assert!(t < p.vocab_cap),
                    Err(_) => break,
                }
            }
        }
    }
}

#[test]
fn memory_estimate_covers_allocations() {
    let toks = tokens(20_000, 1792);
    let p = PaperParams::reference(PART_NGRAM | PART_LZ | PART_RECENCY);
    let mut m = PaperModel::with_vocab_size(&p.to_list(), 1792).unwrap();
    let mut enc = RangeEncoder::new();
    for &t in &toks {
        m.code(&mut enc, t).unwrap();
    }
    assert!((m.bytes_held() as u64) <= p.memory(toks.len()));
    assert!(p.memory(1 << 20) < 2 << 30);
}

#[test]
fn scale_and_biases_follow_the_reference() {
    // c = 1 biases of Table 3 (λ·ln(1 + 1/α)).
    let m = PaperModel::with_vocab_size(&PaperParams::reference(ALL_PARTS).to_list(), 256).unwrap();
    let expect = [0.360, 0.304, 0.284, 0.236, 0.212, 0.185, 0.145, 3.45, 6.91];
    for (k, &e) in expect.iter().enumerate() {
        let b = m.bias[k * COUNT_TABLE + 1];
        assert!((b - e).abs() < 0.005, "order {k}: {b} vs {e}");
        assert_eq!(m.bias[k * COUNT_TABLE], 0.0);
    }
    assert_eq!(m.rec_weight[0], RECENCY_LAMBDA);
}
