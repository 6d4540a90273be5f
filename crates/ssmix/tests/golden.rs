//! Golden files: committed `.ssmix` frames that pin both directions of the format.
//!
//! * Decoding: every `testdata/golden/*.ssmix` must decode to exactly its original.
//! * Encoding: compressing the original with the recorded options must reproduce the
//!   golden bytes. The model is the format, so any change to tokenizer, model, mixer or
//!   coder arithmetic shows up here first.
//!
//! When a change to the bitstream is intended, bump `FORMAT_VERSION` in
//! `crates/ssmix/src/container/format.rs` and regenerate with
//!
//! ```text
//! SSMIX_REGEN_GOLDEN=1 cargo test -p ssmix --test golden
//! ```
//!
//! which rewrites `testdata/golden/*.ssmix`, `MANIFEST.tsv` and `SHA256SUMS` (check the
//! latter with `cd testdata/golden && sha256sum -c SHA256SUMS`).

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;

use common::{sha256_hex, testdata, testdata_dir};
use ssmix::{Level, Options, Preset};

const REGEN_ENV: &str = "SSMIX_REGEN_GOLDEN";
const REGEN_CMD: &str = "SSMIX_REGEN_GOLDEN=1 cargo test -p ssmix --test golden";

/// One golden frame: which input, compressed with which options.
struct Case {
    name: &'static str,
    input: &'static str,
    level: u8,
    block_size: Option<usize>,
    checksum: bool,
    preset: Preset,
}

/// The golden set. Small inputs keep the files (and the test) small while covering
/// every level family, multi-block frames, no-checksum frames, non-ASCII text, an
/// incompressible (stored) block and the empty frame.
const CASES: &[Case] = &[
    // Content under 32 KiB: level 1 codes it with level 2's settings.
    Case {
        name: "english_l1",
        input: "english.txt",
        level: 1,
        block_size: None,
        checksum: true,
        preset: Preset::Default,
    },
    // Level 1's own settings: content under 32 KiB takes level 2's (see english_l1).
    Case {
        name: "nginx_l1",
        input: "nginx_access.log",
        level: 1,
        block_size: None,
        checksum: true,
        preset: Preset::Default,
    },
    Case {
        name: "english_l5",
        input: "english.txt",
        level: 5,
        block_size: None,
        checksum: true,
        preset: Preset::Default,
    },
    Case {
        name: "english_l9",
        input: "english.txt",
        level: 9,
        block_size: None,
        checksum: true,
        preset: Preset::Default,
    },
    // Level 9 with its SSM input: only content of 32 KiB or more uses it.
    Case {
        name: "data_csv_l9",
        input: "data.csv",
        level: 9,
        block_size: None,
        checksum: true,
        preset: Preset::Default,
    },
    Case {
        name: "source_c_l5_bs1k_nocheck",
        input: "source.c",
        level: 5,
        block_size: Some(1024),
        checksum: false,
        preset: Preset::Default,
    },
    Case {
        name: "utf8_mixed_l3_bs2k",
        input: "utf8_mixed.txt",
        level: 3,
        block_size: Some(2048),
        checksum: true,
        preset: Preset::Default,
    },
    Case {
        name: "structured_l7",
        input: "structured.bin",
        level: 7,
        block_size: None,
        checksum: true,
        preset: Preset::Default,
    },
    Case {
        name: "all_bytes_l5",
        input: "all_bytes.bin",
        level: 5,
        block_size: None,
        checksum: true,
        preset: Preset::Default,
    },
    Case {
        name: "one_byte_l2",
        input: "one_byte.bin",
        level: 2,
        block_size: None,
        checksum: true,
        preset: Preset::Default,
    },
    Case {
        name: "english_baseline_l5",
        input: "english.txt",
        level: 5,
        block_size: None,
        checksum: true,
        preset: Preset::Baseline,
    },
    Case {
        name: "syslog_baseline_l9_bs8k",
        input: "syslog.log",
        level: 9,
        block_size: Some(8192),
        checksum: true,
        preset: Preset::Baseline,
    },
    Case {
        name: "empty_l5",
        input: "empty.bin",
        level: 5,
        block_size: None,
        checksum: true,
        preset: Preset::Default,
    },
];

impl Case {
    fn options(&self) -> Options {
        let mut o = Options::new()
            .level(Level::new(self.level).expect("case level in 1..=9"))
            .checksum(self.checksum)
            .preset(self.preset);
        if let Some(bs) = self.block_size {
            o = o.block_size(bs);
        }
        o
    }

    fn file(&self) -> String {
        format!("{}.ssmix", self.name)
    }

    fn block_size_field(&self) -> String {
        self.block_size
            .map_or_else(|| "default".to_string(), |b| b.to_string())
    }
}

fn golden_dir() -> PathBuf {
    testdata_dir().join("golden")
}

/// A row of `MANIFEST.tsv`.
struct Entry {
    file: String,
    input: String,
    level: String,
    block_size: String,
    checksum: String,
    content_sha256: String,
    ssmix_sha256: String,
}

const MANIFEST_HEADER: &str =
    "# file\tinput\tlevel\tblock_size\tchecksum\tcontent_sha256\tssmix_sha256";

fn read_manifest() -> Vec<Entry> {
    let path = golden_dir().join("MANIFEST.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; create it with `{REGEN_CMD}`",
            path.display()
        )
    });
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 7, "malformed MANIFEST.tsv line: {l:?}");
            Entry {
                file: f[0].into(),
                input: f[1].into(),
                level: f[2].into(),
                block_size: f[3].into(),
                checksum: f[4].into(),
                content_sha256: f[5].into(),
                ssmix_sha256: f[6].into(),
            }
        })
        .collect()
}

fn entry_for<'a>(manifest: &'a [Entry], case: &Case) -> &'a Entry {
    let entry = manifest
        .iter()
        .find(|e| e.file == case.file())
        .unwrap_or_else(|| {
            panic!(
                "{} is missing from MANIFEST.tsv; regenerate with `{REGEN_CMD}`",
                case.file()
            )
        });
    let recorded = (
        &*entry.input,
        &*entry.level,
        &*entry.block_size,
        &*entry.checksum,
    );
    let wanted = (
        case.input,
        &*case.level.to_string(),
        &*case.block_size_field(),
        if case.checksum { "1" } else { "0" },
    );
    assert_eq!(
        recorded,
        wanted,
        "MANIFEST.tsv options for {} differ from golden.rs; regenerate with `{REGEN_CMD}`",
        case.file()
    );
    entry
}

fn regenerating() -> bool {
    std::env::var_os(REGEN_ENV).is_some_and(|v| v != "0")
}

/// Writes every golden file and both manifests. Runs only with `SSMIX_REGEN_GOLDEN=1`.
fn regenerate() {
    let dir = golden_dir();
    std::fs::create_dir_all(&dir).expect("create testdata/golden");
    for old in std::fs::read_dir(&dir).expect("list testdata/golden") {
        let path = old.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "ssmix") {
            std::fs::remove_file(&path).expect("remove old golden");
        }
    }
    let mut manifest = format!(
        "# Golden frames: written by `{REGEN_CMD}`; do not edit by hand.\n{MANIFEST_HEADER}\n"
    );
    let mut sums = String::new();
    for case in CASES {
        let original = testdata(case.input);
        let packed = ssmix::compress(&original, &case.options()).expect("compress golden input");
        assert_eq!(
            ssmix::decompress(&packed).expect("decode fresh golden"),
            original
        );
        std::fs::write(dir.join(case.file()), &packed).expect("write golden");
        let (content, frame) = (sha256_hex(&original), sha256_hex(&packed));
        writeln!(
            manifest,
            "{}\t{}\t{}\t{}\t{}\t{content}\t{frame}",
            case.file(),
            case.input,
            case.level,
            case.block_size_field(),
            u8::from(case.checksum)
        )
        .unwrap();
        writeln!(sums, "{frame}  {}", case.file()).unwrap();
        writeln!(sums, "{content}  ../{}", case.input).unwrap();
    }
    std::fs::write(dir.join("MANIFEST.tsv"), manifest).expect("write MANIFEST.tsv");
    std::fs::write(dir.join("SHA256SUMS"), sums).expect("write SHA256SUMS");
    eprintln!(
        "regenerated {} golden frames in {}",
        CASES.len(),
        dir.display()
    );
}

/// Pins decoding: each committed frame decodes to its original, whose hash matches the
/// manifest (so a changed input file is reported as such, not as a codec bug).
#[test]
fn golden_frames_decode_to_their_originals() {
    if regenerating() {
        regenerate();
    }
    let manifest = read_manifest();
    assert_eq!(
        manifest.len(),
        CASES.len(),
        "MANIFEST.tsv and golden.rs list different cases; regenerate with `{REGEN_CMD}`"
    );
    for case in CASES {
        let entry = entry_for(&manifest, case);
        let original = testdata(case.input);
        assert_eq!(
            sha256_hex(&original),
            entry.content_sha256,
            "testdata/{} changed since the goldens were made; if intended, regenerate with \
             `{REGEN_CMD}`",
            case.input
        );
        let path = golden_dir().join(case.file());
        let frame = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e} (run `{REGEN_CMD}`)", path.display()));
        assert_eq!(
            sha256_hex(&frame),
            entry.ssmix_sha256,
            "{} differs from MANIFEST.tsv",
            case.file()
        );
        let decoded = ssmix::decompress(&frame).unwrap_or_else(|e| {
            panic!(
                "golden {} no longer decodes: {e}. If the format version was bumped on purpose, \
                 regenerate goldens with `{REGEN_CMD}`; otherwise this is a decoder regression",
                case.file()
            )
        });
        assert!(
            decoded == original,
            "golden {} decodes to different bytes",
            case.file()
        );
        // The same through the streaming decoder, one small read at a time.
        let mut dec = ssmix::Decoder::new(&frame[..]);
        let mut streamed = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = std::io::Read::read(&mut dec, &mut buf).expect("streaming golden decode");
            if n == 0 {
                break;
            }
            streamed.extend_from_slice(&buf[..n]);
        }
        assert!(
            streamed == original,
            "golden {} streams to different bytes",
            case.file()
        );
        // Headers must describe the frame.
        let info = ssmix::list(&frame[..]).expect("list golden");
        assert_eq!(info.len(), 1);
        assert_eq!(info[0].content_size, original.len() as u64);
        assert_eq!(info[0].compressed_size, frame.len() as u64);
        assert_eq!(info[0].level, case.level);
        assert_eq!(info[0].checksum, case.checksum);
    }
}

/// Pins encoding: the compressor must reproduce every golden frame byte for byte, with
/// any thread count.
#[test]
fn compressor_reproduces_golden_frames() {
    if regenerating() {
        return; // the decode test rewrites them; comparing against a half-written set races
    }
    let manifest = read_manifest();
    for case in CASES {
        let entry = entry_for(&manifest, case);
        let original = testdata(case.input);
        for threads in [1, 3] {
            let packed = ssmix::compress(&original, &case.options().threads(threads))
                .expect("compress golden input");
            let hash = sha256_hex(&packed);
            assert!(
                hash == entry.ssmix_sha256,
                "{} (threads {threads}): compressor output sha256 {hash} != recorded {} \
                 ({} bytes now): the bitstream changed: bump FORMAT_VERSION in \
                 container/format.rs and regenerate goldens with `{REGEN_CMD}`",
                case.file(),
                entry.ssmix_sha256,
                packed.len()
            );
        }
    }
}

/// The hash used by the manifests is the real SHA-256 (FIPS 180-4 test vectors).
#[test]
fn sha256_matches_reference_vectors() {
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    assert_eq!(
        sha256_hex(&vec![b'a'; 1_000_000]),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );
}

/// Frames written by earlier format versions (copied from the goldens of each release
/// into `testdata/golden/v<N>/`, never regenerated) still decode: every version since 2
/// only added settings that older encoders never wrote.
#[test]
fn older_version_frames_still_decode() {
    const OLD: &[(u8, &str, &str)] = &[
        (2, "english_l1.ssmix", "english.txt"),
        (2, "english_l5.ssmix", "english.txt"),
        (2, "data_csv_l9.ssmix", "data.csv"),
        (2, "structured_l7.ssmix", "structured.bin"),
        (2, "utf8_mixed_l3_bs2k.ssmix", "utf8_mixed.txt"),
        (2, "english_baseline_l5.ssmix", "english.txt"),
        (3, "english_l1.ssmix", "english.txt"),
        (3, "english_l5.ssmix", "english.txt"),
        (3, "english_l9.ssmix", "english.txt"),
        (3, "data_csv_l9.ssmix", "data.csv"),
        (3, "structured_l7.ssmix", "structured.bin"),
        (3, "utf8_mixed_l3_bs2k.ssmix", "utf8_mixed.txt"),
        (3, "english_baseline_l5.ssmix", "english.txt"),
        (4, "english_l1.ssmix", "english.txt"),
        (4, "english_l5.ssmix", "english.txt"),
        (4, "english_l9.ssmix", "english.txt"),
        (4, "data_csv_l9.ssmix", "data.csv"),
        (4, "structured_l7.ssmix", "structured.bin"),
        (4, "utf8_mixed_l3_bs2k.ssmix", "utf8_mixed.txt"),
        (4, "english_baseline_l5.ssmix", "english.txt"),
        (5, "english_l1.ssmix", "english.txt"),
        (5, "english_l5.ssmix", "english.txt"),
        (5, "english_l9.ssmix", "english.txt"),
        (5, "data_csv_l9.ssmix", "data.csv"),
        (5, "structured_l7.ssmix", "structured.bin"),
        (5, "utf8_mixed_l3_bs2k.ssmix", "utf8_mixed.txt"),
        (5, "english_baseline_l5.ssmix", "english.txt"),
        (6, "english_l1.ssmix", "english.txt"),
        (6, "english_l5.ssmix", "english.txt"),
        (6, "english_l9.ssmix", "english.txt"),
        (6, "data_csv_l9.ssmix", "data.csv"),
        (6, "structured_l7.ssmix", "structured.bin"),
        (6, "utf8_mixed_l3_bs2k.ssmix", "utf8_mixed.txt"),
        (6, "english_baseline_l5.ssmix", "english.txt"),
        (6, "nginx_l1.ssmix", "nginx_access.log"),
    ];
    for &(version, file, input) in OLD {
        let path = golden_dir().join(format!("v{version}")).join(file);
        let frame =
            std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let info = ssmix::list(&frame[..]).expect("list an older frame");
        assert_eq!(info[0].format_version, version, "v{version}/{file}");
        let decoded = ssmix::decompress(&frame)
            .unwrap_or_else(|e| panic!("version-{version} frame {file} no longer decodes: {e}"));
        assert!(
            decoded == testdata(input),
            "v{version}/{file} decodes to different bytes"
        );
    }
}
