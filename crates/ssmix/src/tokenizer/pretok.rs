//! Pre-tokenization: splitting the input into chunks that tokens never cross.
//!
//! GPT-2-like rules on bytes: a chunk is an optional leading space followed by a run of
//! letters (ASCII letters and every byte >= 0x80, so UTF-8 sequences stay inside words),
//! of digits, or of other symbols; or a run of whitespace. A whitespace run followed by a
//! non-space gives its last space to the next chunk (`"\n  foo"` -> `"\n "`, `" foo"`).
//! Chunks are cut at [`MAX_CHUNK`] bytes so that binary data (long runs of one class)
//! cannot make training quadratic, and so that token lengths stay bounded.

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

/// Calls `f` with every chunk of `data`, in order. The chunks concatenate to `data`.
#[inline]
pub(super) fn for_each_chunk<'a>(data: &'a [u8], mut f: impl FnMut(&'a [u8])) {
    let n = data.len();
    let class = |i: usize| CLASS[usize::from(data[i])];
    let mut i = 0;
    while i < n {
        let start = i;
        let limit = n.min(start + MAX_CHUNK);
        let c = class(i);
        if data[i] == b' ' && i + 1 < n && class(i + 1) != SPACE {
            let k = class(i + 1);
            i += 2;
            while i < limit && class(i) == k {
                i += 1;
            }
        } else {
            i += 1;
            while i < limit && class(i) == c {
                i += 1;
            }
            // Leave the last space of a whitespace run to the word that follows it.
            if c == SPACE && i < n && i - start > 1 && class(i) != SPACE && data[i - 1] == b' ' {
                i -= 1;
            }
        }
        f(&data[start..i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(data: &[u8]) -> Vec<&[u8]> {
        let mut v = Vec::new();
        for_each_chunk(data, |c| v.push(c));
        v
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
