//! Block parallelism and memory as a contract: how many blocks the streaming `Encoder`
//! and `Decoder` keep in flight, how the memory limit lowers the thread count (never the
//! output), the errors that state how much memory is needed, equal-length blocks for a
//! known content size, and errors surfacing at the same point for every thread count.

mod common;

use std::io::{Read, Write};

use common::Rng;
use ssmix::{Decoder, Encoder, Error, Level, MIN_BLOCK_SIZE, Options};

/// Blocks of the smallest size, each of random bytes, so every block is stored and
/// takes exactly `STORED_BLOCK` bytes in the frame: type, two 2-byte varints, content.
const BS: usize = MIN_BLOCK_SIZE;
const STORED_BLOCK: usize = 1 + 2 + 2 + BS;
const BLOCKS: usize = 24;

fn random_options(threads: usize) -> Options {
    Options::new()
        .level(Level::FASTEST)
        .block_size(BS)
        .threads(threads)
}

/// A frame of `BLOCKS` stored blocks and the length of its header.
fn stored_frame() -> (Vec<u8>, Vec<u8>, usize) {
    let data = Rng::new(7).bytes(BS * BLOCKS);
    let mut enc = Encoder::with_options(Vec::new(), &random_options(1)).unwrap();
    enc.write_all(&data).unwrap();
    let packed = enc.finish().unwrap();
    let info = &ssmix::list(&packed[..]).unwrap()[0];
    assert_eq!(info.blocks, BLOCKS as u64);
    assert_eq!(
        info.stored_blocks, BLOCKS as u64,
        "random blocks must be stored"
    );
    // Header, blocks, end block, CRC-32.
    let header = packed.len() - BLOCKS * STORED_BLOCK - 1 - 4;
    (data, packed, header)
}

/// Writes `data` block by block and returns, after each block, how many whole blocks
/// the inner writer had received.
fn blocks_written_after_each(data: &[u8], opts: &Options, header: usize) -> Vec<usize> {
    let mut enc = Encoder::with_options(Vec::new(), opts).unwrap();
    let mut seen = Vec::new();
    for chunk in data.chunks(BS) {
        enc.write_all(chunk).unwrap();
        let body = enc.get_ref().len() - header;
        assert_eq!(body % STORED_BLOCK, 0, "blocks are written whole");
        seen.push(body / STORED_BLOCK);
    }
    let packed = enc.finish().unwrap();
    assert_eq!(ssmix::decompress(&packed).unwrap(), data);
    seen
}

#[test]
fn encoder_keeps_at_most_threads_blocks_in_flight() {
    let (data, packed, header) = stored_frame();
    for threads in [1, 2, 3, 5] {
        let seen = blocks_written_after_each(&data, &random_options(threads), header);
        for (k, &written) in seen.iter().enumerate() {
            let submitted = k + 1;
            // One thread codes each block as it fills; N threads let N blocks run while
            // the next one fills, and write the oldest when a new one needs a slot.
            let expected = if threads == 1 {
                submitted
            } else {
                submitted.saturating_sub(threads)
            };
            assert_eq!(
                written, expected,
                "threads {threads}, after block {submitted}"
            );
        }
        let again = ssmix::compress(&data, &random_options(threads)).unwrap();
        assert_eq!(again, ssmix::compress(&data, &random_options(1)).unwrap());
    }
    let mut enc = Encoder::with_options(Vec::new(), &random_options(1)).unwrap();
    enc.write_all(&data).unwrap();
    assert_eq!(enc.finish().unwrap(), packed);
}

#[test]
fn memory_limit_lowers_encoder_threads_not_output() {
    let (data, packed, header) = stored_frame();
    let per_thread = random_options(1).memory_per_thread();
    // Room for two threads and a half: two are used of the four asked for.
    let opts = random_options(4).memory_limit(per_thread * 5 / 2);
    let seen = blocks_written_after_each(&data, &opts, header);
    assert_eq!(
        seen[BLOCKS - 1],
        BLOCKS - 2,
        "two blocks in flight: {seen:?}"
    );
    let mut enc = Encoder::with_options(Vec::new(), &opts).unwrap();
    enc.write_all(&data).unwrap();
    assert_eq!(enc.finish().unwrap(), packed);
    // Exactly one thread's worth is enough.
    let opts = random_options(4).memory_limit(per_thread);
    let seen = blocks_written_after_each(&data, &opts, header);
    assert_eq!(seen, (1..=BLOCKS).collect::<Vec<_>>());
}

#[test]
fn encoder_memory_error_states_the_need() {
    let opts = Options::new().level(Level::BEST).threads(2);
    let need = opts.memory_per_thread();
    assert!(need > 64 << 20, "level 9 with default blocks needs {need}");
    let limited = opts.clone().memory_limit(need - 1);
    let mut enc = Encoder::with_options(Vec::new(), &limited).unwrap();
    let err = enc.try_finish().unwrap_err();
    match err {
        Error::MemoryLimit { needed, limit } => {
            assert_eq!((needed, limit), (need, need - 1));
        }
        other => panic!("expected MemoryLimit, got {other:?}"),
    }
    assert!(err_text(&limited).contains(&need.to_string()));
    // A known small content needs small blocks and little memory: it fits.
    let packed = ssmix::compress(b"small input, small needs", &limited).unwrap();
    assert_eq!(
        ssmix::decompress(&packed).unwrap(),
        b"small input, small needs"
    );
}

/// The message of the error a streaming encoder with `opts` gives for a full block.
fn err_text(opts: &Options) -> String {
    let mut enc = Encoder::with_options(Vec::new(), opts).unwrap();
    let err = enc
        .write_all(&vec![b'x'; opts.get_block_size()])
        .unwrap_err();
    assert!(matches!(Error::from(err), Error::MemoryLimit { .. }));
    let mut enc = Encoder::with_options(Vec::new(), opts).unwrap();
    let err = enc
        .write_all(&vec![b'x'; opts.get_block_size()])
        .unwrap_err();
    err.to_string()
}

/// A reader that counts the bytes taken from it.
struct Counting<'a> {
    data: &'a [u8],
    taken: usize,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (&self.data[self.taken..]).read(buf)?;
        self.taken += n;
        Ok(n)
    }
}

/// Bytes a decoder with `opts` has taken from its reader when the first byte of
/// content comes out.
fn taken_at_first_byte(packed: &[u8], opts: &Options) -> usize {
    let mut dec = Decoder::with_options(
        Counting {
            data: packed,
            taken: 0,
        },
        opts,
    );
    let mut byte = [0u8; 1];
    assert_eq!(dec.read(&mut byte).unwrap(), 1);
    let taken = dec.get_ref().taken;
    let mut rest = Vec::new();
    dec.read_to_end(&mut rest).unwrap();
    assert_eq!(rest.len() + 1, BS * BLOCKS);
    taken
}

#[test]
fn decoder_reads_ahead_at_most_threads_blocks() {
    let (_, packed, header) = stored_frame();
    for (threads, blocks) in [(1, 1), (2, 3), (3, 4), (8, 9)] {
        let taken = taken_at_first_byte(&packed, &Options::new().threads(threads));
        assert_eq!(
            taken,
            header + blocks * STORED_BLOCK,
            "threads {threads}: one block out, the rest being decoded"
        );
    }
    // The memory limit allows two of the eight threads asked for.
    let need = ssmix::list(&packed[..]).unwrap()[0].memory_needed;
    let opts = Options::new().threads(8).memory_limit(need * 2 + need / 2);
    assert_eq!(
        taken_at_first_byte(&packed, &opts),
        header + 3 * STORED_BLOCK
    );
}

#[test]
fn decoder_memory_error_states_the_need() {
    let packed = ssmix::compress(&[b'a'; 50_000], &Options::new()).unwrap();
    let need = ssmix::list(&packed[..]).unwrap()[0].memory_needed;
    let limited = Options::new().threads(4).memory_limit(need - 1);
    let err = ssmix::decompress_with(&packed, &limited).unwrap_err();
    assert!(
        matches!(err, Error::MemoryLimit { needed, .. } if needed == need),
        "{err:?}"
    );
    assert!(err.to_string().contains(&need.to_string()), "{err}");
    // One thread's worth decodes, whatever the thread count asked for.
    let fits = Options::new().threads(4).memory_limit(need);
    assert_eq!(
        ssmix::decompress_with(&packed, &fits).unwrap(),
        [b'a'; 50_000]
    );
}

/// Text-like data that the models compress (modeled blocks, decoded on workers).
fn text(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "the", "block", "thread", "model", "learns", "a", "token", "and", "frame", "codes", "in",
        "order",
    ];
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        out.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes());
        out.push(if rng.below(9) == 0 { b'\n' } else { b' ' });
    }
    out.truncate(len);
    out
}

#[test]
fn modeled_blocks_decode_the_same_with_any_thread_count() {
    let data = text(40_000, 3);
    let opts = Options::new().level(Level::FASTEST).block_size(4096);
    let packed = ssmix::compress(&data, &opts).unwrap();
    let info = &ssmix::list(&packed[..]).unwrap()[0];
    assert_eq!(info.blocks, 10);
    assert_eq!(info.stored_blocks, 0);
    for threads in [1, 2, 3, 4, 0] {
        let opts = Options::new().threads(threads);
        assert_eq!(ssmix::decompress_with(&packed, &opts).unwrap(), data);
        // Small reads: blocks are handed out piecewise while others decode.
        let mut dec = Decoder::with_options(&packed[..], &opts);
        let mut back = Vec::new();
        let mut buf = [0u8; 777];
        loop {
            let n = dec.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            back.extend_from_slice(&buf[..n]);
        }
        assert_eq!(back, data, "threads {threads}");
    }
}

/// Damage anywhere: every thread count delivers the same content before the same error.
#[test]
fn errors_surface_at_the_same_point_for_every_thread_count() {
    let data = text(30_000, 4);
    let opts = Options::new().level(Level::FASTEST).block_size(2048);
    let mut packed = ssmix::compress(&data, &opts).unwrap();
    // Two frames, so read-ahead meets a frame boundary too.
    packed.extend(ssmix::compress(&data[..5000], &opts).unwrap());
    let mut rng = Rng::new(11);
    for case in 0..12 {
        let mut bad = packed.clone();
        let at = 30 + rng.below(bad.len() - 30);
        bad[at] ^= 1 << rng.below(8);
        if case % 3 == 0 {
            bad.truncate(at);
        }
        let mut reference: Option<(Vec<u8>, String)> = None;
        for threads in [1, 2, 3, 5] {
            let mut dec = Decoder::with_options(&bad[..], &Options::new().threads(threads));
            let mut out = Vec::new();
            let result = dec.read_to_end(&mut out).map_err(|e| e.to_string());
            let Err(message) = result else {
                panic!("case {case} (byte {at}): damage not detected with {threads} threads");
            };
            // A failed decoder stays failed.
            assert!(dec.read(&mut [0u8; 16]).is_err());
            match &reference {
                None => reference = Some((out, message)),
                Some((first, first_message)) => {
                    assert!(
                        out == *first,
                        "case {case}: {threads} threads delivered {} bytes, 1 thread {}",
                        out.len(),
                        first.len()
                    );
                    assert_eq!(&message, first_message, "case {case}, {threads} threads");
                }
            }
        }
    }
}

#[test]
fn known_size_is_cut_into_equal_blocks() {
    let data = text(10_000, 5);
    let opts = Options::new().level(Level::FASTEST).block_size(4096);
    let packed = ssmix::compress(&data, &opts).unwrap();
    let info = &ssmix::list(&packed[..]).unwrap()[0];
    // ⌈10000 / 4096⌉ = 3 blocks of ⌈10000 / 3⌉ = 3334 bytes, not 4096 + 4096 + 1808.
    assert_eq!((info.blocks, info.block_size), (3, 3334));
    assert_eq!(ssmix::decompress(&packed).unwrap(), data);
    // Streaming without a size: full blocks and a tail.
    let mut enc = Encoder::with_options(Vec::new(), &opts).unwrap();
    enc.write_all(&data).unwrap();
    let info = &ssmix::list(&enc.finish().unwrap()[..]).unwrap()[0];
    assert_eq!((info.blocks, info.block_size), (3, 4096));
    // Sizes that divide evenly, or fit in one block, keep their blocks.
    for (len, blocks, block_size) in [(8192, 2, 4096), (4096, 1, 4096), (100, 1, 100)] {
        let packed = ssmix::compress(&data[..len], &opts).unwrap();
        let info = &ssmix::list(&packed[..]).unwrap()[0];
        assert_eq!(
            (info.blocks, info.block_size),
            (blocks, block_size),
            "{len}"
        );
    }
}
