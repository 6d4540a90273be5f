//! Replays the saved fuzz corpus (`testdata/fuzz/<target>/`) through the same checks the
//! fuzz targets run (`fuzz/src/lib.rs`, included below), so every input the fuzzer found
//! interesting, and every crash it ever found, is re-checked by `cargo test` on stable
//! Rust without cargo-fuzz.
//!
//! To add a crash: copy the artifact (`fuzz/artifacts/<target>/crash-*`) into
//! `testdata/fuzz/<target>/` under a descriptive name. To refresh the corpus, see
//! `testdata/README.md`.

mod common;

#[allow(unreachable_pub, dead_code)]
#[path = "../../../fuzz/src/lib.rs"]
mod fuzz_checks;

use std::path::PathBuf;

use common::{Outcome, run_watched, testdata_dir};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = testdata_dir().join("fuzz").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every file of `target`'s corpus under the hang watchdog and reports
/// all failures together.
fn replay(target: &str, min_files: usize, check: fn(&[u8])) {
    let files = corpus(target);
    assert!(
        files.len() >= min_files,
        "only {} files in testdata/fuzz/{target}: the corpus went missing",
        files.len()
    );
    let inputs: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("read corpus file"))
        .collect();
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let mut failures = Vec::new();
    run_watched(
        inputs.len(),
        &|i| names[i].clone(),
        move |i| {
            check(&inputs[i]);
            Ok(Vec::new())
        },
        |i, outcome| {
            if let Outcome::Panic(msg) = outcome {
                failures.push(format!("{}: {msg}", names[i]));
            }
        },
    );
    assert!(
        failures.is_empty(),
        "{} corpus files fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn decode_corpus_replays_cleanly() {
    replay("decode", 10, fuzz_checks::check_decode);
}

#[test]
fn roundtrip_corpus_replays_cleanly() {
    replay("roundtrip", 10, |bytes| {
        // Inputs `arbitrary` cannot parse are skipped by the fuzz target too.
        if let Some(input) = fuzz_checks::RoundtripInput::from_bytes(bytes) {
            fuzz_checks::check_roundtrip(&input);
        }
    });
}
