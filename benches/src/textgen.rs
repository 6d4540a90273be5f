//! Deterministic text-like inputs.
//!
//! Random bytes are incompressible and repeated strings are trivially compressible; neither
//! exercises a context-mixing model the way prose does. [`text_like`] writes sentences of
//! pseudo-words drawn from a Zipf-like distribution, with punctuation, paragraphs, numbers
//! and a little wiki markup, so that tokenizer, n-gram and mixer paths all see realistic
//! statistics. The output depends only on `len` and `seed`, on every machine.

/// SplitMix64: small, well-mixed, and trivially reproducible.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`); the modulo bias is irrelevant for test data.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SYLLABLES: [&str; 24] = [
    "the", "an", "in", "er", "on", "at", "es", "or", "ti", "al", "ar", "st", "re", "de", "ing",
    "com", "pro", "ca", "ma", "li", "ve", "ro", "se", "ne",
];

const VOCAB_SIZE: usize = 1500;

/// Builds the vocabulary and the cumulative Zipf weights (weight of rank r = 1/(r+1)).
fn vocabulary(rng: &mut SplitMix64) -> (Vec<String>, Vec<u64>) {
    let mut words = Vec::with_capacity(VOCAB_SIZE);
    for _ in 0..VOCAB_SIZE {
        let syllables = 1 + rng.below(3) + rng.below(2);
        let mut w = String::new();
        for _ in 0..syllables {
            w.push_str(SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize]);
        }
        words.push(w);
    }
    let mut cumulative = Vec::with_capacity(VOCAB_SIZE);
    let mut total = 0u64;
    for rank in 0..VOCAB_SIZE as u64 {
        total += 1_000_000 / (rank + 1);
        cumulative.push(total);
    }
    (words, cumulative)
}

fn pick<'a>(rng: &mut SplitMix64, words: &'a [String], cumulative: &[u64]) -> &'a str {
    let total = *cumulative.last().expect("vocabulary is not empty");
    let x = rng.below(total);
    // First rank whose cumulative weight exceeds x.
    let rank = cumulative.partition_point(|&c| c <= x);
    &words[rank]
}

/// Returns exactly `len` bytes of deterministic English-like ASCII text.
///
/// ```
/// let a = ssmix_benches::textgen::text_like(1000, 7);
/// assert_eq!(a.len(), 1000);
/// assert_eq!(a, ssmix_benches::textgen::text_like(1000, 7));
/// ```
pub fn text_like(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix64(seed);
    let (words, cumulative) = vocabulary(&mut rng);
    let mut out = Vec::with_capacity(len + 256);
    while out.len() < len {
        let sentences = 2 + rng.below(6);
        for _ in 0..sentences {
            let n_words = 4 + rng.below(14);
            for i in 0..n_words {
                if i > 0 {
                    out.push(b' ');
                }
                match rng.below(40) {
                    0 => out.extend_from_slice(rng.below(3000).to_string().as_bytes()),
                    1 => {
                        out.extend_from_slice(b"[[");
                        out.extend_from_slice(pick(&mut rng, &words, &cumulative).as_bytes());
                        out.extend_from_slice(b"]]");
                    }
                    _ => {
                        let w = pick(&mut rng, &words, &cumulative).as_bytes();
                        let start = out.len();
                        out.extend_from_slice(w);
                        if i == 0 {
                            out[start] = out[start].to_ascii_uppercase();
                        }
                    }
                }
                if i + 1 < n_words && rng.below(9) == 0 {
                    out.push(b',');
                }
            }
            out.extend_from_slice(if rng.below(12) == 0 { b"? " } else { b". " });
        }
        out.pop();
        out.extend_from_slice(b"\n\n");
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_length_and_deterministic() {
        for len in [0, 1, 17, 4096, 100_000] {
            let a = text_like(len, 1);
            assert_eq!(a.len(), len);
            assert_eq!(a, text_like(len, 1));
        }
        assert_ne!(text_like(4096, 1), text_like(4096, 2));
    }

    #[test]
    fn looks_like_text() {
        let t = text_like(200_000, 3);
        assert!(t.iter().all(|&b| b == b'\n' || (0x20..0x7f).contains(&b)));
        let spaces = t.iter().filter(|&&b| b == b' ').count();
        // Words average a handful of letters: spaces are 10-25% of prose.
        assert!(spaces > t.len() / 10 && spaces < t.len() / 4, "{spaces}");
        assert!(t.windows(2).any(|w| w == b"\n\n"));
        assert!(t.windows(2).any(|w| w == b"[["));
        // Zipf: the commonest word is far more frequent than a rare one, but text is varied.
        let distinct: std::collections::HashSet<&[u8]> = t.split(|&b| b == b' ').collect();
        assert!(distinct.len() > 500, "{}", distinct.len());
    }
}
