//! Integration tests of the `ssmix` binary (one test binary; a fresh temp dir per test).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::thread::sleep;
use std::time::{Duration, SystemTime};

use assert_cmd::{Command, cargo::cargo_bin, cargo::cargo_bin_cmd};
use predicates::prelude::*;
use tempfile::TempDir;

/// The binary, run inside `dir`, with stdin empty (never the test runner's terminal).
fn ssmix(dir: &Path) -> Command {
    let mut cmd = cargo_bin_cmd!("ssmix");
    cmd.current_dir(dir).write_stdin(Vec::<u8>::new());
    cmd
}

/// Deterministic pseudo-random bytes (xorshift), for test inputs.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Deterministic English-like text.
fn text(n: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "the", "model", "learns", "while", "it", "codes", "each", "token", "and", "then",
        "predicts", "next", "byte", "from", "context", "again",
    ];
    let mut out = Vec::with_capacity(n + 16);
    for (i, r) in noise(n, seed).into_iter().enumerate() {
        if out.len() >= n {
            break;
        }
        out.extend_from_slice(WORDS[usize::from(r) % 16].as_bytes());
        out.push(if i % 13 == 12 { b'\n' } else { b' ' });
    }
    out.truncate(n);
    out
}

/// Sorted file names in `dir` (hidden temporary files included).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn setup(files: &[(&str, &[u8])]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in files {
        fs::write(dir.path().join(name), data).unwrap();
    }
    dir
}

fn compressed(data: &[u8]) -> Vec<u8> {
    ssmix::compress(data, &ssmix::Options::default()).unwrap()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn round_trips_files() {
    let all_bytes: Vec<u8> = (0..=255u8)
        .cycle()
        .take(256 * 40)
        .chain(noise(3000, 5))
        .collect();
    let cases: [(&str, Vec<u8>); 4] = [
        ("text.txt", text(50_000, 1)),
        ("binary.bin", all_bytes),
        ("empty", Vec::new()),
        ("one", vec![b'x']),
    ];
    for (name, data) in &cases {
        let dir = setup(&[(name, data)]);
        let d = dir.path();
        ssmix(d).arg(name).assert().success().stdout("").stderr("");
        let packed = d.join(format!("{name}.ssmix"));
        assert_eq!(fs::read(d.join(name)).unwrap(), *data, "input must be kept");
        assert_eq!(
            ssmix::decompress(&fs::read(&packed).unwrap()).unwrap(),
            *data
        );
        fs::rename(d.join(name), d.join("original")).unwrap();
        ssmix(d)
            .args(["-d", &format!("{name}.ssmix")])
            .assert()
            .success()
            .stderr("");
        assert_eq!(fs::read(d.join(name)).unwrap(), *data, "{name}");
        assert!(packed.exists(), "-d keeps its input too");
        assert_eq!(names(d).len(), 3, "no stray files: {:?}", names(d));
    }
}

/// Every file of the committed corpus (text, source code, logs, an executable, images,
/// already-compressed data, random bytes, empty and one-byte files, all 256 byte values)
/// round-trips through files and through pipes, at the fastest and default levels.
#[test]
fn corpus_round_trips_through_files_and_pipes() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut files: Vec<PathBuf> = fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "ssmix"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "corpus too small: {files:?}");
    for path in &files {
        let data = fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        for level in ["-1", "-5"] {
            // Files: FILE -> FILE.ssmix -> FILE.
            let dir = setup(&[(name, &data)]);
            let d = dir.path();
            ssmix(d).args([level, name]).assert().success();
            fs::remove_file(d.join(name)).unwrap();
            ssmix(d)
                .args(["-d", &format!("{name}.ssmix")])
                .assert()
                .success();
            assert_eq!(
                fs::read(d.join(name)).unwrap(),
                data,
                "{name} {level} via files"
            );
            // Pipes: stdin -> stdout both ways.
            let packed = ssmix(d)
                .arg(level)
                .write_stdin(data.clone())
                .assert()
                .success()
                .get_output()
                .stdout
                .clone();
            let out = ssmix(d).arg("-d").write_stdin(packed).assert().success();
            assert_eq!(out.get_output().stdout, data, "{name} {level} via pipes");
        }
    }
}

#[test]
fn pipes_both_ways() {
    let data = text(30_000, 2);
    let dir = tempfile::tempdir().unwrap();
    let packed = ssmix(dir.path())
        .write_stdin(data.clone())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(ssmix::decompress(&packed).unwrap(), data);
    let out = ssmix(dir.path())
        .args(["-d", "-"])
        .write_stdin(packed)
        .assert()
        .success();
    assert_eq!(out.get_output().stdout, data);
    assert!(names(dir.path()).is_empty(), "pipes create no files");
}

#[test]
fn stdout_flag_keeps_input_and_concatenates() {
    let (a, b) = (text(10_000, 3), noise(2000, 4));
    let dir = setup(&[("a", &a), ("b", &b)]);
    let d = dir.path();
    let out = ssmix(d).args(["-c", "a"]).assert().success();
    assert_eq!(ssmix::decompress(&out.get_output().stdout).unwrap(), a);
    assert_eq!(names(d), ["a", "b"], "-c writes no file");

    // Several inputs with -c: concatenated frames, which -d decodes as one stream.
    let both = ssmix(d)
        .args(["-c", "a", "b"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(ssmix::list(&both[..]).unwrap().len(), 2);
    let out = ssmix(d)
        .args(["-dc", "-"])
        .write_stdin(both)
        .assert()
        .success();
    assert_eq!(out.get_output().stdout, [a.clone(), b.clone()].concat());

    // -dc of several files concatenates their contents.
    ssmix(d).args(["a", "b"]).assert().success();
    let out = ssmix(d)
        .args(["-dc", "b.ssmix", "a.ssmix"])
        .assert()
        .success();
    assert_eq!(out.get_output().stdout, [b, a].concat());
}

#[test]
fn concatenated_frames_decode_to_concatenation() {
    let (a, b) = (text(5000, 6), text(7000, 7));
    let joined = [compressed(&a), compressed(&b)].concat();
    let dir = setup(&[("joined.ssmix", &joined)]);
    ssmix(dir.path())
        .args(["-d", "joined.ssmix"])
        .assert()
        .success();
    assert_eq!(
        fs::read(dir.path().join("joined")).unwrap(),
        [a, b].concat()
    );
    ssmix(dir.path())
        .args(["-t", "joined.ssmix"])
        .assert()
        .success();
}

#[test]
fn output_flag() {
    let data = text(8000, 8);
    let dir = setup(&[("in.txt", &data)]);
    let d = dir.path();
    fs::create_dir(d.join("sub")).unwrap();
    ssmix(d)
        .args(["-o", "sub/packed", "in.txt"])
        .assert()
        .success();
    assert_eq!(names(&d.join("sub")), ["packed"]);
    ssmix(d)
        .args(["-d", "-o", "back", "sub/packed"])
        .assert()
        .success();
    assert_eq!(fs::read(d.join("back")).unwrap(), data);
    // Reading stdin into a named file.
    ssmix(d)
        .args(["-o", "from-stdin.ssmix"])
        .write_stdin(data.clone())
        .assert()
        .success();
    assert_eq!(
        ssmix::decompress(&fs::read(d.join("from-stdin.ssmix")).unwrap()).unwrap(),
        data
    );
    // One output, several inputs: refused before doing anything.
    ssmix(d)
        .args(["-o", "x", "in.txt", "back"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("exactly one input"));
    assert!(!d.join("x").exists());
}

#[test]
fn keep_is_accepted_and_keeps() {
    let dir = setup(&[("k.txt", b"keep me, keep me, keep me")]);
    ssmix(dir.path()).args(["-k", "k.txt"]).assert().success();
    ssmix(dir.path())
        .args(["-dkc", "k.txt.ssmix"])
        .assert()
        .success()
        .stdout("keep me, keep me, keep me");
    assert_eq!(names(dir.path()), ["k.txt", "k.txt.ssmix"]);
}

#[test]
fn rm_deletes_input_only_after_success() {
    let data = text(20_000, 9);
    let dir = setup(&[("r.txt", &data)]);
    let d = dir.path();
    ssmix(d).args(["--rm", "r.txt"]).assert().success();
    assert_eq!(names(d), ["r.txt.ssmix"]);
    ssmix(d)
        .args(["-d", "--rm", "r.txt.ssmix"])
        .assert()
        .success();
    assert_eq!(names(d), ["r.txt"]);
    assert_eq!(fs::read(d.join("r.txt")).unwrap(), data);

    // A corrupt input: decoding fails, the input stays, no output appears.
    let mut bad = compressed(&data);
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    bad.truncate(bad.len() - 3);
    fs::write(d.join("bad.ssmix"), &bad).unwrap();
    ssmix(d)
        .args(["-d", "--rm", "bad.ssmix"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.ssmix: "));
    assert_eq!(fs::read(d.join("bad.ssmix")).unwrap(), bad);
    assert_eq!(names(d), ["bad.ssmix", "r.txt"]);

    // With -c the input is never deleted.
    ssmix(d).args(["-c", "--rm", "r.txt"]).assert().success();
    assert!(d.join("r.txt").exists());
}

#[test]
fn refuses_to_overwrite_without_force() {
    let data = text(6000, 10);
    let dir = setup(&[("f.txt", &data), ("f.txt.ssmix", b"precious")]);
    let d = dir.path();
    ssmix(d)
        .arg("f.txt")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("-f"));
    assert_eq!(fs::read(d.join("f.txt.ssmix")).unwrap(), b"precious");
    assert_eq!(names(d), ["f.txt", "f.txt.ssmix"]);
    ssmix(d).args(["-f", "f.txt"]).assert().success();
    assert_eq!(
        ssmix::decompress(&fs::read(d.join("f.txt.ssmix")).unwrap()).unwrap(),
        data
    );

    // Same for decompression and -o.
    ssmix(d).args(["-d", "f.txt.ssmix"]).assert().code(1);
    ssmix(d)
        .args(["-o", "f.txt", "f.txt.ssmix", "-d"])
        .assert()
        .code(1);
    ssmix(d).args(["-df", "f.txt.ssmix"]).assert().success();
    assert_eq!(fs::read(d.join("f.txt")).unwrap(), data);
}

#[test]
fn input_and_output_the_same_file_is_an_error() {
    let dir = setup(&[("same", b"abcabcabc")]);
    ssmix(dir.path())
        .args(["-f", "-o", "same", "same"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("same file"));
    assert_eq!(fs::read(dir.path().join("same")).unwrap(), b"abcabcabc");
}

#[test]
fn test_mode_good_and_corrupt() {
    let data = text(40_000, 11);
    let good = compressed(&data);
    let mut flipped = good.clone();
    let last = flipped.len() - 2;
    flipped[last] ^= 1; // inside the CRC-32 trailer
    let mut middle = good.clone();
    let mid = middle.len() / 2;
    middle[mid] ^= 0x10;
    let truncated = good[..good.len() - 10].to_vec();
    let dir = setup(&[
        ("good.ssmix", &good),
        ("crc.ssmix", &flipped),
        ("mid.ssmix", &middle),
        ("cut.ssmix", &truncated),
        ("junk.ssmix", b"this is not ssmix data at all"),
    ]);
    let d = dir.path();
    ssmix(d)
        .args(["-t", "good.ssmix"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    for bad in ["crc.ssmix", "mid.ssmix", "cut.ssmix", "junk.ssmix"] {
        ssmix(d)
            .args(["-t", bad])
            .assert()
            .code(1)
            .stderr(predicate::str::contains(bad));
    }
    ssmix(d)
        .args(["-t", "crc.ssmix"])
        .assert()
        .stderr(predicate::str::contains("checksum"));
    // Errors on one file do not stop the others; status is still 1.
    ssmix(d)
        .args(["-tv", "cut.ssmix", "good.ssmix"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("good.ssmix").and(predicate::str::contains("OK")));
    assert_eq!(names(d).len(), 5, "-t writes nothing");
}

#[test]
fn corrupt_or_truncated_input_leaves_no_output() {
    let data = text(30_000, 12);
    let good = compressed(&data);
    let dir = setup(&[
        ("cut.ssmix", &good[..good.len() / 2]),
        ("junk.ssmix", &noise(5000, 13)),
    ]);
    let d = dir.path();
    for f in ["cut.ssmix", "junk.ssmix"] {
        ssmix(d)
            .args(["-d", f])
            .assert()
            .code(1)
            .stderr(predicate::str::starts_with(format!("ssmix: {f}: ")));
    }
    assert_eq!(
        names(d),
        ["cut.ssmix", "junk.ssmix"],
        "no partial or temporary files"
    );
}

#[test]
fn list_shows_one_row_per_file() {
    let a = text(20_000, 14);
    let dir = setup(&[("a.txt", &a), ("b.txt", b"bbbbbbbbbbbbbbbbbbbbbbbb")]);
    let d = dir.path();
    ssmix(d).args(["-3", "a.txt", "b.txt"]).assert().success();
    let out = ssmix(d)
        .args(["-l", "a.txt.ssmix", "b.txt.ssmix"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    for col in [
        "Compressed",
        "Uncompressed",
        "Ratio",
        "Bits/B",
        "Blocks",
        "Lvl",
        "Block size",
        "Memory",
        "Check",
    ] {
        assert!(lines[0].contains(col), "missing {col}: {out}");
    }
    assert!(
        lines[1].ends_with("a.txt.ssmix") && lines[1].contains("CRC32"),
        "{out}"
    );
    assert!(lines[1].contains("  3  "), "level 3 shown: {out}");
    assert!(lines[2].ends_with("b.txt.ssmix"), "{out}");
    assert!(lines[3].ends_with("2 files"), "{out}");

    let out = ssmix(d)
        .args(["-lv", "a.txt.ssmix"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("frame 1:") && out.contains(&format!("-> {} bytes", a.len())),
        "{out}"
    );

    // Listing from a pipe works; garbage is an error for that file only.
    ssmix(d)
        .arg("-l")
        .write_stdin(compressed(b"piped"))
        .assert()
        .success()
        .stdout(predicate::str::contains("(stdin)"));
    fs::write(d.join("junk"), b"junk").unwrap();
    ssmix(d)
        .args(["-l", "junk", "b.txt.ssmix"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("b.txt.ssmix"))
        .stderr(predicate::str::contains("junk: "));
}

/// The level recorded in a compressed file.
fn level_of(bytes: &[u8]) -> u8 {
    ssmix::list(bytes).unwrap()[0].level
}

#[test]
fn levels_are_accepted_and_last_wins() {
    let data = text(10_000, 15);
    let dir = setup(&[("l.txt", &data)]);
    let d = dir.path();
    let cases: [(&[&str], u8); 7] = [
        (&[], 5),
        (&["-1"], 1),
        (&["-9"], 9),
        (&["--fast"], 1),
        (&["--best"], 9),
        (&["-1", "-9"], 9),
        (&["-9", "--fast", "-4"], 4),
    ];
    for (flags, level) in cases {
        let out = ssmix(d)
            .args(flags)
            .args(["-c", "l.txt"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_eq!(level_of(&out), level, "{flags:?}");
        assert_eq!(ssmix::decompress(&out).unwrap(), data);
    }
}

#[test]
fn paper_presets_round_trip_and_differ() {
    let data = text(3_000, 21);
    let dir = setup(&[("p.txt", &data)]);
    let d = dir.path();
    let mut outputs = Vec::new();
    for preset in [
        "default",
        "paper",
        "paper-counts",
        "paper-ngrams",
        "paper-ssm",
    ] {
        let out = ssmix(d)
            .args(["--preset", preset, "-c", "p.txt"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_eq!(ssmix::decompress(&out).unwrap(), data, "{preset}");
        assert!(!outputs.contains(&out), "{preset} repeats another preset");
        outputs.push(out);
    }
    // The decoder needs no flag: the frame names its model.
    std::fs::write(d.join("p.txt.ssmix"), &outputs[1]).unwrap();
    ssmix(d)
        .args(["-d", "-c", "p.txt.ssmix"])
        .assert()
        .success()
        .stdout(data.clone());
    let err = ssmix(d)
        .args(["--preset", "statesmix", "-c", "p.txt"])
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&err);
    assert!(err.contains("unknown preset"), "{err}");
    let help = ssmix(d)
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8_lossy(&help);
    assert!(
        help.contains("--preset") && help.contains("paper-ngrams"),
        "{help}"
    );
}

#[test]
fn threads_do_not_change_output() {
    let data = text(12_000, 16);
    let dir = setup(&[("t.txt", &data)]);
    let d = dir.path();
    let one = ssmix(d)
        .args(["-B", "1K", "-c", "t.txt"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let two = ssmix(d)
        .args(["-T", "2", "-B", "1K", "-c", "t.txt"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let all = ssmix(d)
        .args(["-T0", "-B1K", "-c", "t.txt"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(one, two);
    assert_eq!(one, all);
    assert_eq!(ssmix::decompress(&two).unwrap(), data);
    // Decompression through pipes gives the same content with any thread count.
    for threads in ["1", "2", "3", "0"] {
        let out = ssmix(d)
            .args(["-d", "-T", threads])
            .write_stdin(one.clone())
            .assert()
            .success();
        assert!(out.get_output().stdout == data, "-d -T {threads}");
    }
}

#[test]
fn memory_limit_too_small_for_compression_says_how_much_is_needed() {
    let dir = setup(&[("m.txt", &text(50_000, 19))]);
    let d = dir.path();
    // Level 9 from a pipe (size unknown: full default blocks) needs hundreds of MiB.
    ssmix(d)
        .args(["-9", "-M", "64M"])
        .write_stdin(text(50_000, 19))
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("needs ")
                .and(predicate::str::contains("MiB of memory"))
                .and(predicate::str::contains("-M")),
        );
    // The same limit with more threads than fit: fewer threads, same output.
    let one = ssmix(d)
        .args(["-1", "-c", "m.txt"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let limited = ssmix(d)
        .args(["-1", "-T", "8", "-M", "40M", "-c", "m.txt"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(one, limited);
}

#[test]
fn help_states_memory_per_level() {
    let dir = setup(&[]);
    let out = ssmix(dir.path()).arg("--help").assert().success();
    let help = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(help.contains("Memory per thread"), "{help}");
    assert!(help.contains("-9 ") && help.contains(" MiB"), "{help}");
    assert!(help.contains("143 terminated (SIGTERM)"), "{help}");
}

#[test]
fn trailing_garbage_is_an_error_that_says_so() {
    let data = text(3000, 20);
    let mut packed = compressed(&data);
    packed.extend_from_slice(b"garbage");
    let dir = setup(&[("g.ssmix", &packed)]);
    ssmix(dir.path())
        .args(["-t", "g.ssmix"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "g.ssmix: compressed data is corrupt: trailing garbage after the last frame",
        ));
}

#[test]
fn block_size_flag() {
    let data = text(10_000, 17);
    let dir = setup(&[("b.txt", &data)]);
    let d = dir.path();
    let out = ssmix(d)
        .args(["-B", "2KiB", "-c", "b.txt"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let info = &ssmix::list(&out[..]).unwrap()[0];
    // A file's size is known: five equal blocks of 2000 bytes rather than 4 × 2048 + 1808.
    assert_eq!(info.block_size, 2000);
    assert_eq!(info.blocks, 5);
    assert_eq!(ssmix::decompress(&out).unwrap(), data);
    ssmix(d)
        .args(["-B", "100", "b.txt"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("block size"));
    ssmix(d).args(["-B", "12X", "b.txt"]).assert().code(1);
}

#[test]
fn memory_limit_too_small_for_decompression() {
    let data = text(5000, 18);
    let dir = setup(&[("m.ssmix", &compressed(&data))]);
    let d = dir.path();
    ssmix(d)
        .args(["-d", "-M", "1K", "m.ssmix"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("m.ssmix: ").and(predicate::str::contains("memory")));
    assert_eq!(names(d), ["m.ssmix"], "no output after a refused frame");
    ssmix(d)
        .args(["-t", "--memlimit", "1KiB", "m.ssmix"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("memory"));
    // A generous limit works; 0 means none.
    ssmix(d)
        .args(["-t", "-M", "4G", "m.ssmix"])
        .assert()
        .success();
    ssmix(d)
        .args(["-t", "-M", "0", "m.ssmix"])
        .assert()
        .success();
}

#[test]
fn no_check_omits_the_checksum() {
    let dir = setup(&[("n.txt", b"no checksum here, no checksum")]);
    let out = ssmix(dir.path())
        .args(["--no-check", "-c", "n.txt"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(!ssmix::list(&out[..]).unwrap()[0].checksum);
    assert_eq!(
        ssmix::decompress(&out).unwrap(),
        b"no checksum here, no checksum"
    );
}

#[test]
fn verbose_prints_bits_per_byte() {
    let dir = setup(&[("v.txt", &text(9000, 19))]);
    let d = dir.path();
    ssmix(d).args(["-v", "v.txt"]).assert().success().stderr(
        predicate::str::is_match(
            r"v\.txt: 9000 -> \d+ bytes, ratio [\d.]+, [\d.]+ bits per byte, .* KB/s\n$",
        )
        .unwrap(),
    );
    ssmix(d)
        .args(["-dvc", "v.txt.ssmix"])
        .assert()
        .success()
        .stderr(predicate::str::contains("bits per byte"));
}

#[test]
fn already_suffixed_input_is_skipped() {
    let data = compressed(b"already packed");
    let dir = setup(&[("x.ssmix", &data), ("y.txt", b"plain plain plain")]);
    let d = dir.path();
    ssmix(d)
        .args(["x.ssmix", "y.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "x.ssmix: already has .ssmix suffix",
        ));
    assert_eq!(
        names(d),
        ["x.ssmix", "y.txt", "y.txt.ssmix"],
        "the other file was still done"
    );
    // -q silences the warning but not the status.
    ssmix(d).args(["-q", "x.ssmix"]).assert().code(2).stderr("");
    // -f compresses it anyway.
    ssmix(d).args(["-f", "x.ssmix"]).assert().success();
    assert!(d.join("x.ssmix.ssmix").exists());
    // -S changes the suffix.
    ssmix(d).args(["-S", ".sx", "y.txt"]).assert().success();
    ssmix(d).args(["-S", ".sx", "y.txt.sx"]).assert().code(2);
    fs::remove_file(d.join("y.txt")).unwrap();
    ssmix(d)
        .args(["-d", "-S", ".sx", "y.txt.sx"])
        .assert()
        .success();
    assert_eq!(fs::read(d.join("y.txt")).unwrap(), b"plain plain plain");
}

#[test]
fn unknown_suffix_on_decompress_is_skipped() {
    let dir = setup(&[
        ("data.bin", &compressed(b"x")),
        ("ok.ssmix", &compressed(b"ok")),
    ]);
    let d = dir.path();
    ssmix(d)
        .args(["-d", "data.bin"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown suffix"));
    ssmix(d)
        .args(["-dq", "data.bin"])
        .assert()
        .code(2)
        .stderr("");
    // A warning and an error: the error wins (status 1); the good file is still done.
    ssmix(d)
        .args(["-d", "data.bin", "missing.ssmix", "ok.ssmix"])
        .assert()
        .code(1);
    assert_eq!(fs::read(d.join("ok")).unwrap(), b"ok");
    // With -c the name does not matter.
    ssmix(d)
        .args(["-dc", "data.bin"])
        .assert()
        .success()
        .stdout("x");
}

#[test]
fn missing_files_and_directories() {
    let dir = setup(&[("a", b"aaaa")]);
    let d = dir.path();
    fs::create_dir(d.join("sub")).unwrap();
    ssmix(d)
        .args(["nope", "a"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("ssmix: nope: "));
    assert!(
        d.join("a.ssmix").exists(),
        "errors on one file do not stop the others"
    );
    ssmix(d)
        .arg("sub")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("directory"));
    ssmix(d).args(["-qq", "nope"]).assert().code(1).stderr("");
}

#[cfg(unix)]
#[test]
fn mode_and_mtime_are_copied() {
    use std::os::unix::fs::PermissionsExt;
    let dir = setup(&[("p.txt", &text(3000, 20))]);
    let d = dir.path();
    let input = d.join("p.txt");
    fs::set_permissions(&input, fs::Permissions::from_mode(0o640)).unwrap();
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    fs::File::options()
        .write(true)
        .open(&input)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    ssmix(d).arg("p.txt").assert().success();
    let meta = fs::metadata(d.join("p.txt.ssmix")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    assert_eq!(meta.modified().unwrap(), mtime);
    fs::remove_file(&input).unwrap();
    ssmix(d).args(["-d", "p.txt.ssmix"]).assert().success();
    let meta = fs::metadata(&input).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    assert_eq!(meta.modified().unwrap(), mtime);
}

#[test]
fn broken_pipe_exits_quietly_with_141() {
    let data = text(1 << 20, 21);
    let dir = setup(&[("big.ssmix", &compressed(&data))]);
    let mut child = StdCommand::new(cargo_bin!("ssmix"))
        .current_dir(dir.path())
        .args(["-dc", "big.ssmix"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, as `| head -c0` would
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "", "no message on a closed pipe");
}

#[test]
fn help_version_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ssmix(d)
        .arg("-h")
        .assert()
        .success()
        .stdout(predicate::str::contains("--memlimit"));
    ssmix(d)
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit status"));
    ssmix(d).arg("-V").assert().success().stdout(
        predicate::str::is_match(r"^ssmix \d+\.\d+\.\d+ \(format version \d+\)\n$").unwrap(),
    );
    ssmix(d).arg("--version").assert().success();
    ssmix(d).arg("--no-such-flag").assert().code(1);
    ssmix(d).args(["-T", "many"]).assert().code(1);
}

/// `script` (util-linux) gives the command a pseudo-terminal for stdin and stdout.
fn script_available() -> bool {
    StdCommand::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn in_terminal(dir: &Path, args: &str) -> std::process::Output {
    let cmd = format!("{} {args}", cargo_bin!("ssmix").display());
    StdCommand::new("script")
        .current_dir(dir)
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn refuses_terminals_without_force() {
    if !script_available() {
        eprintln!("skipped: util-linux `script` not available (decision covered by unit tests)");
        return;
    }
    let dir = setup(&[("t.txt", b"terminal text terminal text")]);
    let d = dir.path();
    let out = in_terminal(d, "-c t.txt");
    assert_eq!(out.status.code(), Some(1));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("to a terminal") && shown.contains("-f"),
        "{shown}"
    );
    // Decompressing to a terminal is fine; reading compressed data from one is not.
    fs::write(d.join("t.txt.ssmix"), compressed(b"terminal text")).unwrap();
    let out = in_terminal(d, "-dc t.txt.ssmix");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("terminal text"));
    for args in ["-d", "-t", "-l"] {
        let out = in_terminal(d, args);
        assert_eq!(out.status.code(), Some(1), "{args}");
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(
            shown.contains("from a terminal") && shown.contains("-f"),
            "{args}: {shown}"
        );
    }
    // -f allows compressed output to the terminal.
    let out = in_terminal(d, "-cf t.txt");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(names(d), ["t.txt", "t.txt.ssmix"]);
}

fn kill(pid: u32, signal: &str) {
    let ok = StdCommand::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {signal} {pid}");
}

/// Waits up to ten seconds for `cond`.
fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..1000 {
        if cond() {
            return true;
        }
        sleep(Duration::from_millis(10));
    }
    false
}

/// Interrupts a run that is reading a pipe kept open, so it is certainly mid-way.
/// The exit status is 128 + the signal number, as a shell shows for a killed process.
fn interrupt_mid_stream(signal: &str, status_code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let mut child = StdCommand::new(cargo_bin!("ssmix"))
        .current_dir(&d)
        .args(["-o", "out.ssmix"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&text(100_000, 22)).unwrap();
    assert!(
        wait_for(|| names(&d).len() == 1),
        "temporary file should appear"
    );
    let temp = names(&d)[0].clone();
    assert!(
        temp.starts_with(".out.ssmix."),
        "hidden temp beside the target: {temp}"
    );
    kill(child.id(), signal);
    let status = child.wait().unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(status_code), "{signal}");
    assert!(
        names(&d).is_empty(),
        "temporary file removed: {:?}",
        names(&d)
    );
}

#[test]
fn sigint_removes_partial_output() {
    interrupt_mid_stream("-INT", 130);
}

#[test]
fn sigterm_removes_partial_output() {
    interrupt_mid_stream("-TERM", 143);
}

#[test]
fn ctrl_c_during_large_file_keeps_input_and_removes_temp() {
    let data = text(20 << 20, 23);
    let dir = setup(&[("big.txt", &data)]);
    let d: PathBuf = dir.path().to_path_buf();
    let mut child = StdCommand::new(cargo_bin!("ssmix"))
        .current_dir(&d)
        .args(["--rm", "-9", "big.txt"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    sleep(Duration::from_millis(150));
    if child.try_wait().unwrap().is_some() {
        eprintln!("skipped: compression finished before the signal");
        return;
    }
    kill(child.id(), "-INT");
    let status = child.wait().unwrap();
    if status.success() {
        eprintln!("skipped: compression finished before the signal arrived");
        return;
    }
    assert_eq!(status.code(), Some(130));
    assert_eq!(names(&d), ["big.txt"], "input kept, no partial output");
    assert_eq!(
        fs::metadata(d.join("big.txt")).unwrap().len(),
        data.len() as u64
    );
}

#[test]
fn progress_bar_only_on_a_terminal_and_not_with_quiet() {
    if !script_available() {
        eprintln!("skipped: util-linux `script` not available");
        return;
    }
    let dir = setup(&[("big.txt", &text(1 << 20, 24))]);
    let d = dir.path();
    let out = in_terminal(d, "big.txt");
    assert_eq!(out.status.code(), Some(0));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("big.txt") && shown.contains("MiB"),
        "bar expected: {shown:?}"
    );
    let out = in_terminal(d, "-qf big.txt");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "-q hides the bar");
    let out = in_terminal(d, "--no-progress -f big.txt");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "--no-progress hides the bar"
    );
    // Not a terminal (every other test): stderr stays empty.
    ssmix(d)
        .args(["-f", "big.txt"])
        .assert()
        .success()
        .stderr("");
}
