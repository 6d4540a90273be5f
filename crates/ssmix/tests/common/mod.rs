//! Helpers shared by the integration tests: test data paths, SHA-256, a tiny seeded PRNG
//! and a decode-with-deadline wrapper.
//!
//! Each test binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The repository's `testdata/` directory.
pub(crate) fn testdata_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// Reads `testdata/<name>`, with a message that names the file on failure.
pub(crate) fn testdata(name: &str) -> Vec<u8> {
    let path = testdata_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// SplitMix64: a seeded generator for deterministic test variants.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`); the modulo bias is irrelevant for tests.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// Longest a single decode of a small test frame may take before we call it a hang.
/// Generous: the suite runs on a loaded 2-core machine and real models are slow.
pub(crate) const DECODE_BUDGET: Duration = Duration::from_secs(2);

/// Runs `f` and fails the test if it took longer than [`DECODE_BUDGET`].
pub(crate) fn timed<T>(what: &dyn std::fmt::Display, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(
        took <= DECODE_BUDGET,
        "{what}: took {took:?} (budget {DECODE_BUDGET:?}): a hang?"
    );
    out
}

/// SHA-256 (FIPS 180-4), so golden manifests can be checked with `sha256sum` without a
/// hashing dependency.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Lower-case hex of [`sha256`].
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    sha256(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// CRC-32/ISO-HDLC (the zlib/gzip CRC, which the frame header uses), bit by bit: test
/// code that forges headers needs it, and an independent implementation is a check too.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Appends `v` as an unsigned LEB128 varint (the format's integer encoding).
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// What a decode attempt did, as seen from outside the decoder.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Decoded to these bytes.
    Ok(Vec<u8>),
    /// Returned an error (its message).
    Err(String),
    /// Panicked (the panic message).
    Panic(String),
}

/// Runs `f(i)` for `i in 0..n` on a worker thread, one after another, handing each
/// outcome to `check` on the calling thread. A call that does not return within
/// [`DECODE_BUDGET`] fails the test as a hang (the stuck worker is abandoned; the test
/// process exits anyway), and a panic is caught and reported as [`Outcome::Panic`]
/// instead of aborting the whole run, so every bad variant can be listed.
pub(crate) fn run_watched<F, C>(n: usize, describe: &dyn Fn(usize) -> String, f: F, mut check: C)
where
    F: Fn(usize) -> Result<Vec<u8>, String> + Send + 'static,
    C: FnMut(usize, Outcome),
{
    use std::sync::mpsc;
    enum Msg {
        Start,
        Done(Outcome),
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for i in 0..n {
            if tx.send(Msg::Start).is_err() {
                return;
            }
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(i)));
            let outcome = match res {
                Ok(Ok(v)) => Outcome::Ok(v),
                Ok(Err(e)) => Outcome::Err(e),
                Err(p) => Outcome::Panic(
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "non-string panic payload".into()),
                ),
            };
            if tx.send(Msg::Done(outcome)).is_err() {
                return;
            }
        }
    });
    for i in 0..n {
        match rx.recv_timeout(DECODE_BUDGET) {
            Ok(Msg::Start) => {}
            _ => panic!("worker stopped before case {}", describe(i)),
        }
        let start = Instant::now();
        match rx.recv_timeout(DECODE_BUDGET) {
            Ok(Msg::Done(outcome)) => check(i, outcome),
            Ok(Msg::Start) => unreachable!("protocol: Start without Done"),
            Err(_) => panic!(
                "{}: no result after {:?} (budget {DECODE_BUDGET:?}): the decoder hangs",
                describe(i),
                start.elapsed()
            ),
        }
    }
}
