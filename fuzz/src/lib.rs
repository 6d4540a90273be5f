//! The checks behind the fuzz targets.
//!
//! This file is compiled twice: as the `ssmix_fuzz` library used by `fuzz_targets/*.rs`,
//! and, through `#[path]`, inside `crates/ssmix/tests/fuzz_corpus.rs`, which replays the
//! saved corpus (`testdata/fuzz/<target>/`) through exactly these checks on stable Rust
//! as part of `cargo test`. Keep it free of anything but `ssmix`, `arbitrary` and `std`.

use std::io::{Read, Write};
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use ssmix::{Decoder, Encoder, Level, MIN_BLOCK_SIZE, Options};

/// Input size cap for the round trip, so that one case stays in the millisecond range.
pub const MAX_ROUNDTRIP_INPUT: usize = 64 << 10;

/// Memory limit for every decode of untrusted bytes.
pub const DECODE_MEMORY_LIMIT: u64 = 64 << 20;

/// A structured round-trip case.
#[derive(Debug, Arbitrary)]
pub struct RoundtripInput {
    /// Mapped to a level in 1..=9.
    pub level: u8,
    /// 0 = the default block size, else `MIN_BLOCK_SIZE + (block_size - 1) % 8192`.
    pub block_size: u16,
    /// Whether to write a content checksum.
    pub checksum: bool,
    /// Whether to declare the content size up front.
    pub declare_size: bool,
    /// Mapped to 1..=3 worker threads.
    pub threads: u8,
    /// Bytes per `write` call (0 is taken as 1).
    pub write_chunk: u16,
    /// Bytes per `read` call (0 is taken as 1).
    pub read_chunk: u16,
    /// The content.
    pub data: Vec<u8>,
}

impl RoundtripInput {
    /// Parses a case from raw fuzzer bytes the way `fuzz_target!` does.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        RoundtripInput::arbitrary_take_rest(Unstructured::new(bytes)).ok()
    }

    /// The options this case compresses with.
    pub fn options(&self) -> Options {
        let mut o = Options::new()
            .level(Level::new(self.level % 9 + 1).expect("1..=9"))
            .checksum(self.checksum)
            .threads(usize::from(self.threads % 3) + 1);
        if self.block_size != 0 {
            o = o.block_size(MIN_BLOCK_SIZE + usize::from(self.block_size - 1) % 8192);
        }
        o
    }
}

/// Compresses with the streaming encoder, checks the frame against one-shot compression
/// and a single-thread run, and decodes it back with the streaming decoder.
pub fn check_roundtrip(input: &RoundtripInput) {
    let data = &input.data[..input.data.len().min(MAX_ROUNDTRIP_INPUT)];
    let opts = input.options();
    let mut enc = Encoder::with_options(Vec::new(), &opts).expect("encoder options are valid");
    if input.declare_size {
        enc.set_content_size(data.len() as u64)
            .expect("set_content_size before writing");
    }
    for chunk in data.chunks(usize::from(input.write_chunk).max(1)) {
        enc.write_all(chunk).expect("write to a Vec");
    }
    let packed = enc.finish().expect("finish");

    if input.declare_size {
        let one_shot = ssmix::compress(data, &opts).expect("compress");
        assert!(
            one_shot == packed,
            "streaming and one-shot compression differ"
        );
    }
    let single = {
        let mut enc = Encoder::with_options(Vec::new(), &opts.clone().threads(1)).unwrap();
        if input.declare_size {
            enc.set_content_size(data.len() as u64).unwrap();
        }
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    };
    assert!(single == packed, "output depends on the thread count");

    let mut dec = Decoder::new(&packed[..]);
    let mut back = Vec::with_capacity(data.len());
    let mut buf = vec![0u8; usize::from(input.read_chunk).max(1)];
    loop {
        let n = dec.read(&mut buf).expect("decoding our own frame");
        if n == 0 {
            break;
        }
        back.extend_from_slice(&buf[..n]);
    }
    assert!(
        back == data,
        "round trip changed the data ({} bytes)",
        data.len()
    );

    let frames = ssmix::list(&packed[..]).expect("list our own frame");
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].content_size, data.len() as u64);
}

/// A valid two-block frame with a checksum, to patch in `check_decode`.
fn reference_frame() -> &'static [u8] {
    static FRAME: OnceLock<Vec<u8>> = OnceLock::new();
    FRAME.get_or_init(|| {
        let text = b"In the harbour the boats rocked gently; the lamp on the pier was lit at \
                     dusk, and the nets were spread on the shingle to dry. "
            .repeat(10);
        let opts = Options::new()
            .level(Level::new(3).unwrap())
            .block_size(MIN_BLOCK_SIZE);
        ssmix::compress(&text, &opts).expect("compress reference text")
    })
}

/// The header of a valid empty frame (everything before its end block and checksum).
fn empty_frame_header() -> &'static [u8] {
    static HEADER: OnceLock<Vec<u8>> = OnceLock::new();
    HEADER.get_or_init(|| {
        let frame = ssmix::compress(b"", &Options::new().checksum(false)).unwrap();
        frame[..frame.len() - 1].to_vec() // drop the end-block byte
    })
}

/// Builds the bytes to decode from a fuzzer input. The first byte picks how:
/// 0: the rest as is; 1: a valid header, then the rest; 2: the reference frame with the
/// rest read as (offset u16 LE, xor byte) patches; 3: a prefix of the reference frame
/// (length from the next two bytes), then the rest.
pub fn decode_input(data: &[u8]) -> Vec<u8> {
    let Some((&mode, rest)) = data.split_first() else {
        return Vec::new();
    };
    match mode % 4 {
        0 => rest.to_vec(),
        1 => [empty_frame_header(), rest].concat(),
        2 => {
            let mut frame = reference_frame().to_vec();
            for p in rest.chunks_exact(3) {
                let at = usize::from(u16::from_le_bytes([p[0], p[1]])) % frame.len();
                frame[at] ^= p[2];
            }
            frame
        }
        _ => {
            let frame = reference_frame();
            let (len, tail) = match rest {
                [a, b, tail @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), tail),
                _ => (0, rest),
            };
            [&frame[..len % (frame.len() + 1)], tail].concat()
        }
    }
}

/// Decodes hostile bytes every way the API offers, under a memory limit. It must not
/// panic; when decoding succeeds, the one-shot and streaming decoders and `list` must
/// agree about the content.
pub fn check_decode(data: &[u8]) {
    let input = decode_input(data);
    let opts = Options::new().memory_limit(DECODE_MEMORY_LIMIT);
    let one_shot = ssmix::decompress_with(&input, &opts);
    let listed = ssmix::list(&input[..]);

    let mut dec = Decoder::with_options(&input[..], &opts);
    let mut streamed = Vec::new();
    let mut buf = [0u8; 61];
    let streamed = loop {
        match dec.read(&mut buf) {
            Ok(0) => break Ok(streamed),
            Ok(n) => streamed.extend_from_slice(&buf[..n]),
            Err(e) => break Err(e),
        }
    };
    match (&one_shot, &streamed) {
        (Ok(a), Ok(b)) => assert!(a == b, "one-shot and streaming decoders disagree"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!(
            "one-shot and streaming decoders disagree: {:?} vs {:?}",
            a.as_ref().map(Vec::len),
            b.as_ref().map(Vec::len)
        ),
    }
    if let Ok(out) = &one_shot {
        let frames = listed.expect("list fails on a stream that decodes");
        let total: u64 = frames.iter().map(|f| f.content_size).sum();
        assert_eq!(
            total,
            out.len() as u64,
            "list and decode disagree on the content size"
        );
    }
}
