use proptest::prelude::*;

use super::*;
use crate::error::Error;

fn concat(v: &Vocab, tokens: &[Token]) -> Vec<u8> {
    tokens
        .iter()
        .flat_map(|&t| v.token_bytes(t).iter().copied())
        .collect()
}

fn sample_text() -> Vec<u8> {
    let mut s = Vec::new();
    for i in 0..400 {
        s.extend_from_slice(
            format!(
                "<page>\n  <title>Entry {i}</title>\n  <text>The quick brown fox {} jumps over \
                 the lazy dog; [[link|{}]] &amp; more text.</text>\n</page>\n",
                i * 7919 % 1000,
                ["alpha", "beta", "gamma", "delta"][i % 4]
            )
            .as_bytes(),
        );
    }
    s
}

use crate::testutil::splitmix;

fn serialize(v: &Vocab) -> Vec<u8> {
    let mut out = Vec::new();
    v.write(&mut out);
    out
}

#[test]
fn learns_and_round_trips_text() {
    let data = sample_text();
    let v = Vocab::train(&data, 1000);
    assert!(v.len() > 300 && v.len() <= 1000, "{}", v.len());
    let tokens = v.encode(&data);
    assert_eq!(concat(&v, &tokens), data);
    assert!(tokens.len() * 2 < data.len(), "{} tokens", tokens.len());
    // Ids 256.. are sorted, distinct, multi-byte and bounded.
    for t in 257..v.len() as Token {
        assert!(v.token_bytes(t - 1) < v.token_bytes(t));
    }
    for t in 256..v.len() as Token {
        let len = v.token_bytes(t).len();
        assert!((2..=MAX_TOKEN_LEN).contains(&len));
    }
}

#[test]
fn single_digits_learn_no_digit_tokens() {
    let data = sample_text();
    let runs = Vocab::train(&data, 1000);
    let has_digit = |v: &Vocab| {
        (256..v.len() as Token).any(|t| v.token_bytes(t).iter().any(u8::is_ascii_digit))
    };
    assert!(has_digit(&runs), "the sample has frequent numbers");
    let v = Vocab::train_digits(&data, 1000, Digits::Single);
    assert!(!has_digit(&v));
    assert!(v.len() > 300, "{}", v.len());
    let tokens = v.encode(&data);
    assert_eq!(concat(&v, &tokens), data);
    // A copy read from a stream (merges derived from the strings, digits cut as runs)
    // holds the same strings and still splits the data losslessly.
    let (back, _) = Vocab::read(&serialize(&v)).unwrap();
    assert_eq!(back, v);
    assert_eq!(concat(&back, &back.encode(&data)), data);
}

#[test]
fn all_byte_values_and_empty_input() {
    let v = Vocab::bytes_only();
    for b in 0..=255u8 {
        assert_eq!(v.token_bytes(Token::from(b)), [b]);
    }
    let all: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let trained = Vocab::train(&all, 4096);
    for b in 0..=255u8 {
        assert_eq!(trained.token_bytes(Token::from(b)), [b]);
    }
    assert_eq!(concat(&trained, &trained.encode(&all)), all);
    let empty = Vocab::train(b"", 4096);
    assert_eq!(empty.len(), 256);
    assert!(empty.encode(b"").is_empty());
    assert_eq!(serialize(&empty), [0]);
    assert_eq!(Vocab::read(&[0]).unwrap(), (Vocab::bytes_only(), 1));
}

#[test]
fn budget_grows_with_input() {
    assert_eq!(vocab_budget(0), 256);
    assert_eq!(vocab_budget(100), 256 + 7);
    assert!((7_000..9_000).contains(&vocab_budget(1_000_000)));
    let mut last = 0;
    for shift in 0..40 {
        let b = vocab_budget(1usize << shift);
        assert!(b >= last && b <= MAX_BUDGET);
        last = b;
    }
    assert_eq!(vocab_budget(usize::MAX), MAX_BUDGET);
}

#[test]
fn training_is_deterministic() {
    let data = sample_text();
    let a = serialize(&Vocab::train(&data, 2000));
    let b = serialize(&Vocab::train(&data, 2000));
    assert_eq!(a, b);
}

#[test]
fn respects_budget_and_min_count() {
    let data = sample_text();
    let v = Vocab::train_with(&data, 300, 1);
    assert!(v.len() <= 300);
    let small = Vocab::train_with(&data, 60_000, 1_000_000);
    assert_eq!(small.len(), 256);
    let all = Vocab::train_with(&data, 60_000, 2);
    assert!(all.len() > v.len());
}

#[test]
fn serialization_round_trips_and_encodes_the_same() {
    let data = sample_text();
    let v = Vocab::train(&data, 3000);
    let mut bytes = serialize(&v);
    bytes.extend_from_slice(b"trailing");
    let (back, used) = Vocab::read(&bytes).unwrap();
    assert_eq!(used, bytes.len() - 8);
    assert_eq!(back, v);
    // A vocabulary that was read derives its own merges and still round-trips.
    let tokens = back.encode(&data);
    assert_eq!(concat(&back, &tokens), data);
    // Every truncation is an error.
    for cut in 0..used {
        assert!(Vocab::read(&bytes[..cut]).is_err(), "cut {cut}");
    }
}

#[test]
fn serialized_vocab_is_compact() {
    let data = sample_text();
    let v = Vocab::train_with(&data, 60_000, 2);
    let bytes = serialize(&v);
    let chars: usize = (256..v.len() as Token)
        .map(|t| v.token_bytes(t).len())
        .sum();
    // Well under a byte per token character.
    assert!(
        bytes.len() * 2 < chars,
        "{} bytes for {} token bytes",
        bytes.len(),
        chars
    );
}

#[test]
fn random_binary_round_trips() {
    let mut s = 5;
    let data: Vec<u8> = (0..50_000).map(|_| splitmix(&mut s) as u8).collect();
    let v = Vocab::train(&data, 4096);
    // Pairs of random bytes are no more frequent than chance: (next to) nothing is
    // worth a merge.
    assert!(v.len() <= 260, "{}", v.len());
    assert_eq!(concat(&v, &v.encode(&data)), data);
    // Random bytes inside structured data still round-trip.
    let mut mixed = sample_text();
    mixed.extend_from_slice(&data[..5000]);
    mixed.extend_from_slice(&sample_text()[..3000]);
    let v = Vocab::train_with(&mixed, 4096, 2);
    assert!(v.len() > 256);
    assert_eq!(concat(&v, &v.encode(&mixed)), mixed);
    let (back, _) = Vocab::read(&serialize(&v)).unwrap();
    assert_eq!(back, v);
}

#[test]
fn read_rejects_oversized_counts() {
    let mut bytes = Vec::new();
    serial_varint(&mut bytes, (MAX_VOCAB - 255) as u64);
    bytes.extend_from_slice(&[1, 0]);
    assert!(matches!(Vocab::read(&bytes), Err(Error::Corrupt(_))));
    // Body length past the end.
    assert!(matches!(
        Vocab::read(&[3, 100, 1, 2]),
        Err(Error::Truncated)
    ));
}

fn serial_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn check_read(bytes: &[u8]) {
    if let Ok((v, used)) = Vocab::read(bytes) {
        assert!(used <= bytes.len());
        assert!(v.len() >= 256 && v.len() <= MAX_VOCAB);
        for t in 256..v.len() as Token {
            let b = v.token_bytes(t);
            assert!((2..=MAX_TOKEN_LEN).contains(&b.len()));
            if t > 256 {
                assert!(v.token_bytes(t - 1) < b);
            }
        }
        // Whatever decodes must also work for encoding.
        let sample = b"some text 123 \x00\xff";
        assert_eq!(concat(&v, &v.encode(sample)), sample);
    }
}

proptest! {
    #[test]
    fn any_bytes_round_trip(data in proptest::collection::vec(any::<u8>(), 0..3000),
                            budget in 256usize..2000) {
        let v = Vocab::train_with(&data, budget, 2);
        prop_assert!(v.len() <= budget.max(256));
        prop_assert_eq!(concat(&v, &v.encode(&data)), data.clone());
        let (back, used) = Vocab::read(&serialize(&v)).unwrap();
        prop_assert_eq!(used, serialize(&v).len());
        prop_assert!(back == v);
    }

    #[test]
    fn repetitive_bytes_round_trip(unit in proptest::collection::vec(any::<u8>(), 1..20),
                                   reps in 1usize..200, budget in 256usize..2000) {
        let data: Vec<u8> = unit.iter().copied().cycle().take(unit.len() * reps).collect();
        let v = Vocab::train_with(&data, budget, 2);
        prop_assert_eq!(concat(&v, &v.encode(&data)), data.clone());
        let (back, _) = Vocab::read(&serialize(&v)).unwrap();
        prop_assert!(back == v);
    }

    #[test]
    fn read_never_panics_on_garbage(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_read(&data);
    }

    #[test]
    fn read_never_panics_on_damaged_vocab(flips in proptest::collection::vec(any::<u32>(), 1..4),
                                          cut in any::<u16>()) {
        let data = sample_text();
        let mut bytes = serialize(&Vocab::train(&data[..6000], 600));
        for f in flips {
            let n = bytes.len() as u32 * 8;
            bytes[(f % n / 8) as usize] ^= 1 << (f % 8);
        }
        let keep = usize::from(cut) % (bytes.len() + 1);
        check_read(&bytes[..keep]);
        check_read(&bytes);
    }
}

#[test]
fn read_decodes_random_bodies_safely() {
    // A well-formed header in front of a random body drives the decoder through the
    // models rather than stopping at the first varint.
    let mut s = 99;
    let mut ok = 0;
    for _ in 0..300 {
        let n = splitmix(&mut s) % 3000 + 1;
        let body_len = (splitmix(&mut s) % 400) as usize;
        let mut bytes = Vec::new();
        serial_varint(&mut bytes, n);
        serial_varint(&mut bytes, body_len as u64);
        bytes.extend((0..body_len).map(|_| splitmix(&mut s) as u8));
        if Vocab::read(&bytes).is_ok() {
            ok += 1;
        }
        check_read(&bytes);
    }
    // Most random bodies are rejected (they run past their end) but some decode.
    assert!(ok < 300, "{ok}");
}

/// Inputs for the memory bounds: pseudo-text with a large vocabulary of words, random
/// bytes, zeros, and distinct 3-byte chunks (`abc1def2…`: letters then a digit, the
/// most distinct chunks per byte the pre-tokenizer lets through in bulk).
fn memory_inputs(len: usize) -> Vec<(&'static str, Vec<u8>)> {
    let mut s = 0x5EED_u64;
    let mut text = Vec::with_capacity(len + 16);
    while text.len() < len {
        let r = splitmix(&mut s);
        // Zipf-like: short common words and a long tail of rare ones.
        let n = 1 + (r % 4) as usize + usize::from(r >> 60 == 0) * (r >> 8 & 7) as usize;
        let word = (r >> 16) % (1 + (r >> 40) % 50_000);
        for k in 0..n {
            text.push(b'a' + ((word >> (3 * k)) % 26) as u8);
        }
        text.push(if r >> 58 == 1 { b'\n' } else { b' ' });
    }
    text.truncate(len);
    let random: Vec<u8> = (0..len).map(|_| splitmix(&mut s) as u8).collect();
    // Alternating 3-byte runs of "letters" (ASCII letters and bytes >= 0x80) and of
    // symbols: a distinct chunk every 3 bytes.
    let letters: Vec<u8> = (0..=255u8)
        .filter(|&b| b.is_ascii_alphabetic() || b >= 0x80)
        .collect();
    let symbols: Vec<u8> = (0..=255u8)
        .filter(|&b| !b.is_ascii_alphanumeric() && b < 0x80 && !b.is_ascii_whitespace())
        .filter(|&b| b != 0x0B)
        .collect();
    let mut triples = Vec::with_capacity(len + 6);
    while triples.len() < len {
        let r = splitmix(&mut s);
        for k in 0..3 {
            triples.push(letters[(r >> (8 * k)) as usize % letters.len()]);
        }
        for k in 3..6 {
            triples.push(symbols[(r >> (8 * k)) as usize % symbols.len()]);
        }
    }
    triples.truncate(len);
    // Long distinct chunks: 31 "letters" and a symbol, the most bytes per distinct chunk.
    let mut long = Vec::with_capacity(len + 32);
    while long.len() < len {
        for _ in 0..31 {
            long.push(letters[splitmix(&mut s) as usize % letters.len()]);
        }
        long.push(b'!');
    }
    long.truncate(len);
    // Text first (merges learned), then distinct chunks: encoding's cache at its cap.
    let mut mixed = text[..len / 2].to_vec();
    mixed.extend_from_slice(&triples[..len - len / 2]);
    let mut mixed_long = text[..len / 2].to_vec();
    mixed_long.extend_from_slice(&long[..len - len / 2]);
    vec![
        ("text", text),
        ("random", random),
        ("zeros", vec![0; len]),
        ("triples", triples),
        ("long", long),
        ("text+triples", mixed),
        ("text+long", mixed_long),
    ]
}

#[test]
fn train_memory_is_an_upper_bound() {
    for len in [10_000, 100_000, 300_000, 2_000_000, 8 << 20] {
        for (name, data) in memory_inputs(len) {
            let _ = train::peak::take();
            let v = Vocab::train(&data, vocab_budget(len));
            let train_peak = train::peak::take() as u64;
            let tokens = v.encode_u16(&data);
            let encode_peak = train::peak::take() as u64;
            assert_eq!(tokens.len(), v.encode(&data).len());
            let peak = train_peak.max(encode_peak);
            let bound = work_memory(len);
            println!(
                "{name} {len}: train {:.2} B/byte, encode {:.2} B/byte",
                train_peak as f64 / len as f64,
                encode_peak as f64 / len as f64
            );
            println!(
                "{name} {len}: peak {peak} B = {:.2} B/byte, vocab {}, bound {bound}",
                peak as f64 / len as f64,
                v.len()
            );
            // The caps do not bind on text of realistic vocabulary size.
            if name == "text" && len >= 2_000_000 {
                let max = vocab_budget(len) - 256;
                let capped = train::learn_merges(&data, max, DEFAULT_MIN_COUNT, Digits::Runs);
                let free = train::learn_merges_capped(
                    &data,
                    max,
                    DEFAULT_MIN_COUNT,
                    (usize::MAX, usize::MAX),
                    Digits::Runs,
                );
                assert_eq!(capped, free, "{name} {len}");
            }
            assert!(peak > 0, "accounting ran");
            assert!(
                peak <= bound,
                "{name} {len}: training peak {peak} > bound {bound}"
            );
        }
    }
}
