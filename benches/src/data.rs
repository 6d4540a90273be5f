//! Where the benchmark inputs live.
//!
//! The large corpora (`enwik8_1M`, `enwik8_3M`) sit outside the repository in
//! `../shared/data/` (relative to the repo root) and must never be copied in; small
//! corpora live in `testdata/`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The shared corpora used by default, in `../shared/data/` relative to the repo root.
pub const SHARED_FILES: [&str; 2] = ["enwik8_1M", "enwik8_3M"];

/// The repository root (the workspace directory this package was built from).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `../shared/data` relative to the repo root.
pub fn shared_data_dir() -> PathBuf {
    let root = repo_root();
    root.parent().unwrap_or(&root).join("shared").join("data")
}

/// `enwik8_1M` from the shared data directory, if present.
pub fn enwik8_1m() -> Option<PathBuf> {
    let p = shared_data_dir().join("enwik8_1M");
    p.is_file().then_some(p)
}

/// `path` relative to the repo root when it lies inside the repo or beside it
/// (`../shared/data/enwik8_1M`), so reports do not depend on where the checkout is.
pub fn display_path(path: &Path) -> String {
    let root = repo_root();
    if let Ok(rel) = path.strip_prefix(&root) {
        return rel.display().to_string();
    }
    if let Some(rel) = root.parent().and_then(|p| path.strip_prefix(p).ok()) {
        return Path::new("..").join(rel).display().to_string();
    }
    path.display().to_string()
}

/// Default inputs and the notes explaining anything that was missing.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Files to benchmark, in order.
    pub files: Vec<PathBuf>,
    /// Human-readable notes ("../shared is missing", ...).
    pub notes: Vec<String>,
}

/// The default input list: the shared corpora, then every regular file in `testdata/`.
pub fn default_inputs() -> io::Result<Inputs> {
    let mut inputs = Inputs::default();
    let shared = shared_data_dir();
    if shared.is_dir() {
        for name in SHARED_FILES {
            let p = shared.join(name);
            if p.is_file() {
                inputs.files.push(p);
            } else {
                inputs
                    .notes
                    .push(format!("{} is missing: skipped", p.display()));
            }
        }
    } else {
        inputs.notes.push(format!(
            "{} not found: enwik8_1M/enwik8_3M skipped (the shared corpora live beside the repo, never in it)",
            shared.display()
        ));
    }
    let testdata = repo_root().join("testdata");
    if testdata.is_dir() {
        inputs.files.extend(testdata_files(&testdata)?);
    } else {
        inputs.notes.push(format!(
            "{} not found: no small corpora",
            testdata.display()
        ));
    }
    Ok(inputs)
}

/// Whether a directory under `testdata/` holds fuzz corpora or crash files.
fn is_fuzz_dir(name: &str) -> bool {
    name.starts_with("fuzz") || name == "corpus" || name == "artifacts"
}

/// Every regular file under `dir`, sorted, except golden `*.ssmix` files, hidden files
/// and fuzz corpora (directories named `fuzz*`, `corpus`, `artifacts`).
pub fn testdata_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            // symlink_metadata: follow nothing, so a link cannot pull in files outside.
            let meta = fs::symlink_metadata(entry.path())?;
            if meta.is_dir() {
                if !is_fuzz_dir(&name) {
                    stack.push(entry.path());
                }
            } else if meta.is_file() && !name.ends_with(".ssmix") {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn testdata_walk_skips_golden_fuzz_and_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("fuzz/crashes")).unwrap();
        fs::create_dir_all(d.join("text")).unwrap();
        fs::write(d.join("a.txt"), b"a").unwrap();
        fs::write(d.join("a.txt.ssmix"), b"x").unwrap();
        fs::write(d.join(".gitkeep"), b"").unwrap();
        fs::write(d.join("fuzz/crashes/crash-1"), b"c").unwrap();
        fs::write(d.join("text/b.bin"), b"b").unwrap();
        let got = testdata_files(d).unwrap();
        assert_eq!(got, vec![d.join("a.txt"), d.join("text/b.bin")]);
    }

    #[test]
    fn shared_dir_is_beside_the_repo() {
        assert_eq!(
            shared_data_dir().parent().unwrap().parent(),
            repo_root().parent()
        );
        assert!(repo_root().join("Cargo.toml").is_file());
        assert_eq!(
            display_path(&shared_data_dir().join("enwik8_1M")),
            "../shared/data/enwik8_1M"
        );
        assert_eq!(display_path(&repo_root().join("testdata/a")), "testdata/a");
        assert_eq!(display_path(Path::new("rel/x")), "rel/x");
    }
}
