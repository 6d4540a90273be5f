//! Pre-tokenization: splitting the input into chunks that tokens never cross.
//!
//! GPT-2-like rules on bytes: a chunk is an optional leading space followed by a run of
//! letters (ASCII letters and every byte >= 0x80, so UTF-8 sequences stay inside words),
//! of digits, or of other symbols; or a run of whitespace. A whitespace run followed by a
//! non-space gives its last space to the next chunk (`"\n  foo"` -> `"\n "`, `" foo"`).
//! Chunks are cut at [`MAX_CHUNK`] bytes so that binary data (long runs of one class)
//! cannot make training quadratic, and so that token lengths stay bounded.
//!
//! [`Digits`] changes how digits are cut (an encoder choice: the decoder only reads the
//! stored token strings, so every mode round-trips with any vocabulary).

/// How the pre-tokenizer cuts digits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Digits {
    /// A run of digits is one chunk, with the space before it (GPT-2-like; the PPM
    /// baseline and the StateSMix reproduction use this).
    #[default]
    Runs,
    /// Every digit is a chunk of its own and takes no space, so no token holds a
    /// digit: a model that sees numbers byte by byte can predict them better than one
    /// that sees a few frequent numbers as tokens (the mixing model uses this).
    Single,
}

/// The longest chunk, and so the longest token.
pub(super) const MAX_CHUNK: usize = 32;

const LETTER: u8 = 0;
const DIGIT: u8 = 1;
const SPACE: u8 = 2;
const OTHER: u8 = 3;

const CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphabetic() || c >= 0x80 {
            LETTER
        } else if c.is_ascii_digit() {
            DIGIT
        } else if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C) {
            SPACE
        } else {
            OTHER
        };
        b += 1;
    }
    t
};

/// Calls `f(start, end)` with every chunk `data[start..end]`, in order. The chunks
/// concatenate to `data`. `digits` says how digits are cut.
#[inline]
pub(super) fn for_each_chunk(data: &[u8], digits: Digits, mut f: impl FnMut(usize, usize)) {
    let n = data.len();
    let class = |i: usize| CLASS[usize::from(data[i])];
    // Whether a space may join the chunk that starts with a byte of class `k`.
    let takes_space = |k: u8| k != SPACE && (k != DIGIT || digits == Digits::Runs);
    let mut i = 0;
    while i < n {
        let start = i;
        let limit = n.min(start + MAX_CHUNK);
        let c = class(i);
        if data[i] == b' ' && i + 1 < n && takes_space(class(i + 1)) {
            let k = class(i + 1);
            i += 2;
            while i < limit && class(i) == k {
                i += 1;
            }
        } else {
            i += 1;
            if c != DIGIT || digits != Digits::Single {
                while i < limit && class(i) == c {
                    i += 1;
                }
            }
            // Leave the last space of a whitespace run to the word that follows it.
            if c == SPACE && i < n && i - start > 1 && takes_space(class(i)) && data[i - 1] == b' '
            {
                i -= 1;
            }
        }
        f(start, i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(data: &[u8]) -> Vec<&[u8]> {
        chunks_with(data, Digits::Runs)
    }

    fn chunks_with(data: &[u8], digits: Digits) -> Vec<&[u8]> {
        let mut v = Vec::new();
        for_each_chunk(data, digits, |s, e| v.push(&data[s..e]));
        v
    }

    #[test]
    fn digit_modes() {
        let data = b"in 1984,  42x 7\n 05";
        let want: [&[&[u8]]; 2] = [
            &[
                b"in", b" 1984", b",", b" ", b" 42", b"x", b" 7", b"\n", b" 05",
            ],
            &[
                b"in", b" ", b"1", b"9", b"8", b"4", b",", b"  ", b"4", b"2", b"x", b" ", b"7",
                b"\n ", b"0", b"5",
            ],
        ];
        for (digits, want) in [Digits::Runs, Digits::Single].into_iter().zip(want) {
            assert_eq!(chunks_with(data, digits), want, "{digits:?}");
        }
        // Digits never change the chunks of text without them.
        let text = b"Hello world, it's\n\n  <page> x";
        assert_eq!(chunks_with(text, Digits::Single), chunks(text));
    }

    #[test]
    fn splits_like_gpt2() {
        let got = chunks(b"Hello world, it's 2024!\n\n  <page> x");
        let want: Vec<&[u8]> = vec![
            b"Hello", b" world", b",", b" it", b"'", b"s", b" 2024", b"!", b"\n\n ", b" <",
            b"page", b">", b" x",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn caps_long_runs() {
        let data = vec![0xAAu8; 100];
        let got = chunks(&data);
        assert_eq!(
            got.iter().map(|c| c.len()).collect::<Vec<_>>(),
            vec![32, 32, 32, 4]
        );
        let spaces = vec![b' '; 40];
        assert!(chunks(&spaces).iter().all(|c| c.len() <= MAX_CHUNK));
    }
}
