//! Damaged input: every variant of a valid frame must decode to an error or to exactly
//! the original, never panic, hang or allocate past the memory limit.
//!
//! Variants per frame: every truncation, one bit flip per byte (all eight bits for short
//! frames), random byte overwrites, insertions and deletions, valid prefixes followed by
//! garbage, and trailing garbage. Decoding runs on a watched worker thread
//! ([`common::run_watched`]) with a per-case time budget; panics are caught and listed
//! with a reproducer file so one run reports every failing variant.
//!
//! `SSMIX_CORRUPT_SCALE=N` multiplies the number of random variants (default 1).

mod common;

use std::io::Read;
use std::sync::Arc;

use common::{Outcome, Rng, crc32, put_varint, run_watched, testdata, timed};
use ssmix::{Error, Level, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, Options};

/// The limit every corrupt decode runs under.
const MEMORY_LIMIT: u64 = 256 << 20;

fn scale() -> usize {
    std::env::var("SSMIX_CORRUPT_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn limited() -> Options {
    Options::new().memory_limit(MEMORY_LIMIT)
}

/// A valid frame to damage.
struct Frame {
    name: &'static str,
    original: Vec<u8>,
    packed: Vec<u8>,
    checksum: bool,
    /// The model is slow to build and run (the paper presets train an SSM).
    slow: bool,
}

fn frame(name: &'static str, original: Vec<u8>, opts: Options) -> Frame {
    let packed = ssmix::compress(&original, &opts).expect("compress");
    assert_eq!(ssmix::decompress(&packed).expect("valid frame"), original);
    Frame {
        name,
        original,
        packed,
        checksum: opts.get_checksum(),
        slow: matches!(
            opts.get_preset(),
            ssmix::Preset::Paper
                | ssmix::Preset::PaperCountsOnly
                | ssmix::Preset::PaperNgrams
                | ssmix::Preset::PaperSsm
        ),
    }
}

fn level(l: u8) -> Options {
    Options::new().level(Level::new(l).unwrap())
}

/// Small frames (corruption cost grows with frame size times variants) covering
/// single and multiple blocks, modeled and stored blocks, checksums on and off.
fn frames() -> Vec<Frame> {
    let english = testdata("english.txt");
    let mut rng = Rng::new(0xC0FFEE);
    vec![
        frame("english_l1", english[..1500].to_vec(), level(1)),
        frame(
            "source_c_l5_3blocks",
            testdata("source.c"),
            level(5).block_size(MIN_BLOCK_SIZE),
        ),
        frame(
            "utf8_l3_nocheck",
            testdata("utf8_mixed.txt")[..1300].to_vec(),
            level(3).block_size(MIN_BLOCK_SIZE).checksum(false),
        ),
        frame("random_stored_l2", rng.bytes(700), level(2)),
        frame(
            "runs_l9",
            testdata("runs.bin")[9000..10500].to_vec(),
            level(9),
        ),
        frame("one_byte_l4", vec![b'!'], level(4)),
        frame("empty_l6", Vec::new(), level(6)),
        frame("empty_nocheck_l7", Vec::new(), level(7).checksum(false)),
        // The other model families' decoders face the same damage (small inputs: the
        // paper model trains an SSM and is slow).
        frame(
            "english_baseline_l9",
            english[1500..2700].to_vec(),
            level(9).preset(ssmix::Preset::Baseline),
        ),
        frame(
            "english_paper",
            english[2700..3100].to_vec(),
            level(5).preset(ssmix::Preset::Paper),
        ),
    ]
}

/// Frames whose model is slow (`Frame::slow`) are checked on every `SLOW_STRIDE`-th
/// variant only, so the suite stays fast.
const SLOW_STRIDE: usize = 16;

/// Every damaged variant of `f.packed`, each with a description (a deterministic sample
/// for slow frames).
fn variants(f: &Frame) -> Vec<(String, Vec<u8>)> {
    let all = all_variants(f);
    if f.slow {
        all.into_iter().step_by(SLOW_STRIDE).collect()
    } else {
        all
    }
}

fn all_variants(f: &Frame) -> Vec<(String, Vec<u8>)> {
    let p = &f.packed;
    let mut out = Vec::new();
    let mut rng = Rng::new(p.len() as u64 ^ 0x5EED);
    for len in 0..p.len() {
        out.push((format!("truncated to {len}"), p[..len].to_vec()));
    }
    for pos in 0..p.len() {
        let bits: Vec<u8> = if p.len() <= 400 {
            (0..8).collect()
        } else {
            vec![(pos * 5 % 8) as u8]
        };
        for bit in bits {
            let mut v = p.clone();
            v[pos] ^= 1 << bit;
            out.push((format!("bit {bit} of byte {pos} flipped"), v));
        }
    }
    let n = 150 * scale();
    for k in 0..n {
        let mut v = p.clone();
        let what = match k % 5 {
            0 | 1 if !v.is_empty() => {
                let count = 1 + rng.below(4);
                for _ in 0..count {
                    let at = rng.below(v.len());
                    v[at] = rng.next_u64() as u8;
                }
                format!("{count} random bytes overwritten (#{k})")
            }
            2 => {
                let at = rng.below(v.len() + 1);
                let n = 1 + rng.below(16);
                let junk = rng.bytes(n);
                v.splice(at..at, junk.iter().copied());
                format!("{} bytes inserted at {at} (#{k})", junk.len())
            }
            3 if !v.is_empty() => {
                let at = rng.below(v.len());
                let len = 1 + rng.below((v.len() - at).min(16));
                v.drain(at..at + len);
                format!("{len} bytes deleted at {at} (#{k})")
            }
            _ => {
                let keep = rng.below(v.len() + 1);
                v.truncate(keep);
                let n = rng.below(600);
                v.extend(rng.bytes(n));
                format!("valid prefix of {keep} bytes then garbage (#{k})")
            }
        };
        if v != *p {
            out.push((what, v));
        }
    }
    // Trailing data after a complete frame.
    out.push(("frame + one zero byte".into(), [&p[..], &[0]].concat()));
    out.push(("frame + magic byte".into(), [&p[..], &[0xF5]].concat()));
    out.push((
        "frame + truncated copy of itself".into(),
        [&p[..], &p[..p.len() / 2]].concat(),
    ));
    out.push((
        "frame + garbage".into(),
        [&p[..], &rng.bytes(100)[..]].concat(),
    ));
    out
}

fn save_reproducer(frame: &str, idx: usize, data: &[u8]) -> String {
    let dir = std::env::temp_dir().join("ssmix-corrupt-failures");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{frame}-{idx}.ssmix"));
    let _ = std::fs::write(&path, data);
    path.display().to_string()
}

/// Decodes every variant of every frame (one-shot, plus streaming with odd read sizes and
/// `list` for a subset) and collects every violation before failing.
#[test]
fn damaged_frames_fail_cleanly() {
    let mut failures = Vec::new();
    let mut total = 0usize;
    let mut accepted = 0usize;
    for f in frames() {
        let vars = Arc::new(variants(&f));
        total += vars.len();
        let work = Arc::clone(&vars);
        let describe = |i: usize| format!("{}: {}", f.name, vars[i].0);
        run_watched(
            vars.len(),
            &describe,
            move |i| {
                let data = &work[i].1;
                // `list` must survive anything too (its answer is not checked here).
                let _ = ssmix::list(data.as_slice());
                let one_shot = ssmix::decompress_with(data, &limited()).map_err(|e| e.to_string());
                if i % 7 == 0 {
                    let mut dec = ssmix::Decoder::with_options(data.as_slice(), &limited());
                    let mut streamed = Vec::new();
                    let mut buf = [0u8; 13];
                    let streamed = loop {
                        match dec.read(&mut buf) {
                            Ok(0) => break Ok(streamed),
                            Ok(n) => streamed.extend_from_slice(&buf[..n]),
                            Err(e) => break Err(e.to_string()),
                        }
                    };
                    assert_eq!(
                        one_shot.is_ok(),
                        streamed.is_ok(),
                        "one-shot and streaming decoders disagree: {one_shot:?} vs {streamed:?}"
                    );
                }
                one_shot
            },
            |i, outcome| {
                let (desc, data) = &vars[i];
                let bad = match outcome {
                    Outcome::Err(_) => None,
                    Outcome::Ok(out) if out == f.original => {
                        accepted += 1;
                        None
                    }
                    // Without a checksum a flipped payload bit can decode to other bytes,
                    // but the CRC-protected header pins the length.
                    Outcome::Ok(out) if !f.checksum && out.len() == f.original.len() => {
                        accepted += 1;
                        None
                    }
                    Outcome::Ok(out) => Some(format!("decoded to {} wrong bytes", out.len())),
                    Outcome::Panic(msg) => Some(format!("PANIC: {msg}")),
                };
                if let Some(why) = bad {
                    let path = save_reproducer(f.name, i, data);
                    failures.push(format!("{}: {desc}: {why} (reproducer: {path})", f.name));
                }
            },
        );
    }
    eprintln!("{total} damaged variants decoded, {accepted} accepted as original/same length");
    assert!(
        failures.is_empty(),
        "{} of {total} damaged variants misbehaved; first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Truncation must always be detected: no strict prefix of a frame is a valid stream.
#[test]
fn every_truncation_is_an_error() {
    for f in frames() {
        let stride = if f.slow { SLOW_STRIDE / 4 } else { 1 };
        for len in (0..f.packed.len()).step_by(stride) {
            let res = timed(&format!("{} truncated to {len}", f.name), || {
                ssmix::decompress_with(&f.packed[..len], &limited())
            });
            match res {
                Err(e) => assert!(
                    e.is_data_error(),
                    "{}: truncation gave non-data error {e}",
                    f.name
                ),
                Ok(_) => panic!(
                    "{}: prefix of {len}/{} bytes decoded",
                    f.name,
                    f.packed.len()
                ),
            }
        }
    }
}

/// Pure garbage, with and without the magic number in front, is rejected.
#[test]
fn garbage_is_rejected() {
    let mut rng = Rng::new(99);
    let magic = &ssmix::compress(b"", &Options::new()).unwrap()[..4];
    for k in 0..1500 * scale() {
        let n = rng.below(300);
        let mut v = rng.bytes(n);
        if k % 2 == 1 {
            v.splice(0..0, magic.iter().copied());
        }
        if k % 4 == 3 {
            v.insert(4, 1); // the current format version, to get past the version check
        }
        let res = timed(&format!("garbage #{k}"), || {
            ssmix::decompress_with(&v, &limited())
        });
        assert!(res.is_err(), "garbage #{k} ({} bytes) decoded", v.len());
        let _ = ssmix::list(&v[..]);
    }
    assert!(matches!(ssmix::decompress(b""), Err(Error::Truncated)));
    assert!(matches!(
        ssmix::decompress(b"PK\x03\x04 not ssmix"),
        Err(Error::BadMagic)
    ));
}

/// The fields of a frame header (docs/FORMAT.md §2), parsed from a real frame so that
/// tests can forge headers with valid checksums. If the header layout changes, update
/// this and `write` to match. Flag bit 3 (the block size is the content size) is
/// dropped by `write` when a forged block size differs from the content size.
struct Header {
    magic: [u8; 4],
    version: u8,
    flags: u8,
    block_size: u64,
    content_size: Option<u64>,
    /// Level, model kind and the parameters (a standard list's level with flag bit 2,
    /// else their count and values), copied verbatim.
    rest: Vec<u8>,
}

impl Header {
    fn parse(frame: &[u8]) -> (Header, usize) {
        fn varint(b: &[u8], pos: &mut usize) -> u64 {
            let mut v = 0u64;
            for i in 0..10 {
                let byte = b[*pos];
                *pos += 1;
                v |= u64::from(byte & 0x7F) << (7 * i);
                if byte & 0x80 == 0 {
                    break;
                }
            }
            v
        }
        let mut pos = 4;
        let version = frame[pos];
        let flags = frame[pos + 1];
        pos += 2;
        let block_size = if flags & 8 != 0 {
            0
        } else {
            varint(frame, &mut pos)
        };
        let content_size = (flags & 2 != 0).then(|| varint(frame, &mut pos));
        let block_size = if flags & 8 != 0 {
            content_size.unwrap()
        } else {
            block_size
        };
        let rest_start = pos;
        pos += 2; // level, model kind
        if flags & 4 != 0 {
            pos += 1; // the standard list's level
        } else {
            let n = varint(frame, &mut pos);
            for _ in 0..n {
                varint(frame, &mut pos);
            }
        }
        let rest = frame[rest_start..pos].to_vec();
        let magic = [frame[0], frame[1], frame[2], frame[3]];
        let h = Header {
            magic,
            version,
            flags,
            block_size,
            content_size,
            rest,
        };
        let len = pos + 4;
        assert_eq!(
            h.write(),
            frame[..len],
            "Header::parse/write out of date with the format"
        );
        (h, len)
    }

    fn write(&self) -> Vec<u8> {
        let mut out = self.magic.to_vec();
        let one_block = self.flags & 8 != 0 && self.content_size == Some(self.block_size);
        let flags = if one_block {
            self.flags
        } else {
            self.flags & !8
        };
        out.extend_from_slice(&[self.version, flags]);
        if !one_block {
            put_varint(&mut out, self.block_size);
        }
        if let Some(c) = self.content_size {
            put_varint(&mut out, c);
        }
        out.extend_from_slice(&self.rest);
        let crc = crc32(&out[4..]);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }
}

/// A stored block header: type 1, raw length, payload length (docs/FORMAT.md §4).
fn stored_block_header(raw: u64, payload: u64) -> Vec<u8> {
    let mut b = vec![1u8];
    put_varint(&mut b, raw);
    put_varint(&mut b, payload);
    b
}

/// A header claiming the largest block size is refused under a small memory limit at
/// the header, before any block is read (the error is `MemoryLimit`, not a truncation);
/// without a limit the lying block lengths cost nothing until data arrives.
#[test]
fn huge_block_size_is_refused_before_allocating() {
    let valid = ssmix::compress(b"hello", &Options::new()).unwrap();
    let (mut h, _) = Header::parse(&valid);
    h.block_size = MAX_BLOCK_SIZE as u64;
    h.content_size = Some(MAX_BLOCK_SIZE as u64);
    let mut forged = h.write();
    forged.extend(stored_block_header(
        MAX_BLOCK_SIZE as u64,
        MAX_BLOCK_SIZE as u64,
    ));
    forged.extend_from_slice(b"only a few bytes of the promised gigabyte");

    let info = ssmix::list(&forged[..]);
    assert!(info.is_err(), "list accepted a truncated forged frame");

    for limit in [1u64 << 20, 64 << 20, MEMORY_LIMIT] {
        let res = timed(&format!("forged 1 GiB block, limit {limit}"), || {
            ssmix::decompress_with(&forged, &Options::new().memory_limit(limit))
        });
        match res {
            Err(Error::MemoryLimit { needed, limit: l }) => {
                assert_eq!(l, limit);
                assert!(
                    needed >= 2 * MAX_BLOCK_SIZE as u64,
                    "needed {needed} underestimates"
                );
            }
            other => panic!("limit {limit}: expected MemoryLimit, got {other:?}"),
        }
        // Streaming decoders refuse it the same way, through io::Error.
        let mut dec =
            ssmix::Decoder::with_options(&forged[..], &Options::new().memory_limit(limit));
        let err = dec
            .read(&mut [0u8; 64])
            .expect_err("streaming decoder accepted it");
        assert!(matches!(Error::from(err), Error::MemoryLimit { .. }));
    }

    // No limit: the lie is found when the data runs out, quickly.
    let res = timed(&"forged 1 GiB block, no limit", || {
        ssmix::decompress(&forged)
    });
    assert!(matches!(res, Err(Error::Truncated)), "got {res:?}");
}

/// Lengths in a header or block that exceed what the format allows are refused.
#[test]
fn impossible_sizes_are_refused() {
    let valid = ssmix::compress(b"hello hello", &Options::new()).unwrap();
    let (h, hlen) = Header::parse(&valid);

    // Block size beyond the format's maximum.
    let mut big = Header {
        block_size: MAX_BLOCK_SIZE as u64 + 1,
        ..clone_header(&h)
    }
    .write();
    big.extend_from_slice(&valid[hlen..]);
    let res = ssmix::decompress(&big);
    assert!(matches!(res, Err(Error::Corrupt(_))), "got {res:?}");

    // Block size zero.
    let mut zero = Header {
        block_size: 0,
        ..clone_header(&h)
    }
    .write();
    zero.extend_from_slice(&valid[hlen..]);
    assert!(ssmix::decompress(&zero).is_err());

    // A block longer than the frame's block size.
    let mut frame = Header {
        block_size: 1024,
        content_size: Some(2000),
        ..clone_header(&h)
    }
    .write();
    frame.extend(stored_block_header(2000, 2000));
    frame.extend(vec![b'x'; 2000]);
    frame.push(0);
    assert!(matches!(ssmix::decompress(&frame), Err(Error::Corrupt(_))));

    // Content size of 2^60 bytes with a tiny body: refused when the body ends.
    let mut liar = Header {
        content_size: Some(1 << 60),
        ..clone_header(&h)
    }
    .write();
    liar.extend_from_slice(&valid[hlen..]);
    let res = timed(&"content size 2^60", || {
        ssmix::decompress_with(&liar, &limited())
    });
    assert!(
        res.is_err(),
        "a frame shorter than its declared content size decoded"
    );

    // An unknown format version is named in the error.
    let mut v2 = Header {
        version: h.version.wrapping_add(1),
        ..clone_header(&h)
    }
    .write();
    v2.extend_from_slice(&valid[hlen..]);
    assert!(matches!(
        ssmix::decompress(&v2),
        Err(Error::UnsupportedVersion(_))
    ));
    // Version 1 (never released) is refused too: version 2 is the oldest one read.
    let mut v1 = Header {
        version: 1,
        ..clone_header(&h)
    }
    .write();
    v1.extend_from_slice(&valid[hlen..]);
    assert!(matches!(
        ssmix::decompress(&v1),
        Err(Error::UnsupportedVersion(1))
    ));

    // Reserved flag bits.
    let mut flags = Header {
        flags: h.flags | 0x80,
        ..clone_header(&h)
    }
    .write();
    flags.extend_from_slice(&valid[hlen..]);
    assert!(matches!(ssmix::decompress(&flags), Err(Error::Corrupt(_))));
}

fn clone_header(h: &Header) -> Header {
    Header {
        magic: h.magic,
        version: h.version,
        flags: h.flags,
        block_size: h.block_size,
        content_size: h.content_size,
        rest: h.rest.clone(),
    }
}

/// The memory limit is checked against what the header says the frame needs: exactly
/// that much is enough, one byte less is refused, and a failed limit check does not
/// depend on the data after the header.
#[test]
fn memory_limit_boundary() {
    for f in frames() {
        let info = ssmix::list(&f.packed[..]).unwrap();
        let need = info[0].memory_needed;
        assert!(
            need <= MEMORY_LIMIT,
            "{}: a tiny frame needs {need} bytes",
            f.name
        );
        let ok = ssmix::decompress_with(&f.packed, &Options::new().memory_limit(need));
        assert_eq!(ok.expect("decode at exactly the needed memory"), f.original);
        let short = ssmix::decompress_with(&f.packed, &Options::new().memory_limit(need - 1));
        assert!(
            matches!(short, Err(Error::MemoryLimit { needed, limit }) if needed == need && limit == need - 1),
            "{}: got {short:?}",
            f.name
        );
        let (_, hlen) = Header::parse(&f.packed);
        let head_only =
            ssmix::decompress_with(&f.packed[..hlen], &Options::new().memory_limit(need - 1));
        assert!(
            matches!(head_only, Err(Error::MemoryLimit { .. })),
            "{}: got {head_only:?}",
            f.name
        );
    }
}

/// The watchdog itself: a panicking case is reported as such (not as a test abort)...
#[test]
fn watchdog_reports_panics() {
    let mut seen = Vec::new();
    run_watched(
        3,
        &|i| format!("case {i}"),
        |i| {
            assert!(i != 1, "boom");
            Ok(vec![i as u8])
        },
        |i, outcome| seen.push((i, format!("{outcome:?}"))),
    );
    assert_eq!(seen.len(), 3);
    assert!(
        seen[1].1.contains("Panic") && seen[1].1.contains("boom"),
        "{seen:?}"
    );
    assert!(seen[2].1.starts_with("Ok"), "{seen:?}");
}

/// ...and a case that runs past the budget fails the test as a hang.
#[test]
#[should_panic(expected = "the decoder hangs")]
fn watchdog_catches_hangs() {
    run_watched(
        1,
        &|i| format!("case {i}"),
        |_| {
            std::thread::sleep(common::DECODE_BUDGET * 2);
            Ok(Vec::new())
        },
        |_, _| {},
    );
}
