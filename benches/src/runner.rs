//! Runs one compressor on one file: compress, decompress, time both, measure peak memory
//! and verify the round trip byte for byte.
//!
//! Every compressor, ssmix included, runs as a child process that reads the input file
//! named on its command line and writes to stdout redirected into a regular file in a
//! scratch directory, so all pay the same process start-up and file I/O costs. The input
//! is read once by the harness before timing, so every tool finds it in the page cache.
//!
//! Peak RSS comes from GNU time (`/usr/bin/time -f %M`, Debian package `time`), which
//! reads `ru_maxrss` from `wait4` for exactly that child. std cannot return a child's
//! rusage, `getrusage(RUSAGE_CHILDREN)` reports the maximum over *all* children waited
//! for so far (so the second tool would inherit the first one's peak), and polling
//! `/proc/PID/status` misses short-lived children; GNU time is exact and needs no unsafe.
//! Without it the RSS columns are left empty.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail, ensure};

/// The GNU time binary used to read each child's peak RSS.
pub const GNU_TIME: &str = "/usr/bin/time";

/// How the peak resident set size of a run is measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RssProbe {
    /// Wrap each child in GNU time (`time -f %M -o FILE`).
    GnuTime(PathBuf),
    /// No probe available: RSS is not reported.
    Unavailable,
}

impl RssProbe {
    /// Uses [`GNU_TIME`] if it runs and prints a number for `%M`.
    pub fn detect() -> RssProbe {
        let time = PathBuf::from(GNU_TIME);
        let ok = tempfile::tempdir().ok().is_some_and(|dir| {
            let out = dir.path().join("rss");
            Command::new(&time)
                .arg("-o")
                .arg(&out)
                .args(["-f", "%M", "true"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
                && read_rss_file(&out).is_some()
        });
        if ok {
            RssProbe::GnuTime(time)
        } else {
            RssProbe::Unavailable
        }
    }

    /// A description for the report.
    pub fn describe(&self) -> String {
        match self {
            RssProbe::GnuTime(p) => format!(
                "peak RSS of each child process from `{} -f %M`",
                p.display()
            ),
            RssProbe::Unavailable => {
                format!("{GNU_TIME} not found (Debian package `time`): peak RSS not measured")
            }
        }
    }
}

fn read_rss_file(path: &Path) -> Option<u64> {
    // On failure GNU time also writes "Command exited with non-zero status N" first.
    let text = fs::read_to_string(path).ok()?;
    text.lines().last()?.trim().parse().ok()
}

/// A compressor run as a child process: `program ARGS... INPUT > OUTPUT`.
#[derive(Clone, Debug)]
pub struct External {
    /// Row label, e.g. `xz -9e`.
    pub name: String,
    /// The executable.
    pub program: PathBuf,
    /// Arguments for compressing to stdout; the input path is appended.
    pub compress_args: Vec<String>,
    /// Arguments for decompressing to stdout; the compressed path is appended.
    pub decompress_args: Vec<String>,
    /// Suffix of the compressed file, e.g. `xz`.
    pub extension: String,
}

impl External {
    fn shell(&self, args: &[String], input: &str, output: &str) -> String {
        let name = self.program.file_name().map_or_else(
            || self.program.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        format!("{name} {} {input} > {output}", args.join(" "))
    }

    /// The compress command as a shell line, for the report.
    pub fn compress_command(&self) -> String {
        self.shell(
            &self.compress_args,
            "FILE",
            &format!("FILE.{}", self.extension),
        )
    }

    /// The decompress command as a shell line, for the report.
    pub fn decompress_command(&self) -> String {
        self.shell(
            &self.decompress_args,
            &format!("FILE.{}", self.extension),
            "FILE.out",
        )
    }
}

/// A reference compressor the harness compares against.
struct Competitor {
    program: &'static str,
    name: &'static str,
    compress: &'static [&'static str],
    decompress: &'static [&'static str],
    extension: &'static str,
}

/// The strongest settings of the usual tools, all single-threaded (ssmix is compared at
/// `-T 1` by default): xz `-T1` is its single-threaded mode, and zstd's `-T1` still runs
/// I/O in a second thread, so it gets `--single-thread`.
const COMPETITORS: [Competitor; 4] = [
    Competitor {
        program: "xz",
        name: "xz -9e",
        compress: &["-9e", "-T1", "-c"],
        decompress: &["-d", "-T1", "-c"],
        extension: "xz",
    },
    Competitor {
        program: "zstd",
        name: "zstd --ultra -22",
        compress: &["--ultra", "-22", "--single-thread", "-q", "-c"],
        decompress: &["-d", "-q", "-c"],
        extension: "zst",
    },
    Competitor {
        program: "bzip2",
        name: "bzip2 -9",
        compress: &["-9", "-c"],
        decompress: &["-d", "-c"],
        extension: "bz2",
    },
    Competitor {
        program: "brotli",
        name: "brotli -q 11",
        compress: &["-q", "11", "-c"],
        decompress: &["-d", "-c"],
        extension: "br",
    },
];

/// Names accepted by [`competitors`].
pub const COMPETITOR_NAMES: [&str; 4] = ["xz", "zstd", "bzip2", "brotli"];

/// The reference compressors named in `wanted` that are on `PATH`, plus a note for each
/// one that is not.
pub fn competitors(wanted: &[String]) -> Result<(Vec<External>, Vec<String>)> {
    let mut found = Vec::new();
    let mut notes = Vec::new();
    for w in wanted {
        let c = COMPETITORS
            .iter()
            .find(|c| c.program == w.as_str())
            .ok_or_else(|| {
                anyhow!(
                    "unknown compressor `{w}` (known: {})",
                    COMPETITOR_NAMES.join(", ")
                )
            })?;
        match find_on_path(c.program) {
            Some(program) => found.push(External {
                name: c.name.to_string(),
                program,
                compress_args: c.compress.iter().map(|s| s.to_string()).collect(),
                decompress_args: c.decompress.iter().map(|s| s.to_string()).collect(),
                extension: c.extension.to_string(),
            }),
            None => notes.push(format!(
                "`{}` is not on PATH: {} skipped",
                c.program, c.name
            )),
        }
    }
    Ok((found, notes))
}

/// The first executable file called `name` in `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// What is measured for one compressor on one file.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// Size of the compressed output in bytes.
    pub compressed_bytes: u64,
    /// Fastest compress wall time over the runs, in seconds.
    pub compress_secs: f64,
    /// Fastest decompress wall time over the runs, in seconds.
    pub decompress_secs: f64,
    /// Largest peak RSS of the compress runs, in KiB.
    pub compress_rss_kib: Option<u64>,
    /// Largest peak RSS of the decompress runs, in KiB.
    pub decompress_rss_kib: Option<u64>,
}

/// A compressor under test.
#[derive(Clone, Debug)]
pub enum Codec {
    /// A child process (ssmix CLI or a reference tool).
    External(External),
    /// The ssmix library called inside the harness (`--in-process`).
    InProcess {
        /// Row label.
        name: String,
        /// Options passed to `ssmix::compress`.
        options: ssmix::Options,
    },
}

impl Codec {
    /// The row label.
    pub fn name(&self) -> &str {
        match self {
            Codec::External(e) => &e.name,
            Codec::InProcess { name, .. } => name,
        }
    }
}

/// Index of the first byte where `a` and `b` differ (`min(len)` if one is a prefix).
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => Some(i),
        None if a.len() != b.len() => Some(a.len().min(b.len())),
        None => None,
    }
}

fn verify(original: &[u8], decoded: &[u8], what: &str) -> Result<()> {
    if let Some(at) = first_difference(original, decoded) {
        bail!(
            "ROUND TRIP FAILED for {what}: output differs from the input at byte {at} \
             (input {} bytes, output {} bytes)",
            original.len(),
            decoded.len()
        );
    }
    Ok(())
}

/// Runs `program args... input > output` (through GNU time if available) and returns the
/// wall time in seconds and the peak RSS in KiB.
fn run_child(
    probe: &RssProbe,
    program: &Path,
    args: &[String],
    input: &Path,
    output: &Path,
    rss_file: &Path,
) -> Result<(f64, Option<u64>)> {
    let out = File::create(output).with_context(|| format!("creating {}", output.display()))?;
    let mut cmd = match probe {
        RssProbe::GnuTime(time) => {
            let mut c = Command::new(time);
            c.arg("-o").arg(rss_file).args(["-f", "%M"]).arg(program);
            c
        }
        RssProbe::Unavailable => Command::new(program),
    };
    cmd.args(args)
        .arg(input)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::piped());
    let start = Instant::now();
    let result = cmd
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    let secs = start.elapsed().as_secs_f64();
    if !result.status.success() {
        bail!(
            "`{} {} {}` failed ({}): {}",
            program.display(),
            args.join(" "),
            input.display(),
            result.status,
            String::from_utf8_lossy(&result.stderr).trim()
        );
    }
    let rss = match probe {
        RssProbe::GnuTime(_) => Some(read_rss_file(rss_file).with_context(|| {
            format!(
                "reading peak RSS written by {GNU_TIME} to {}",
                rss_file.display()
            )
        })?),
        RssProbe::Unavailable => None,
    };
    Ok((secs, rss))
}

/// Peak RSS of this process since the last reset, in KiB (`VmHWM`).
fn vm_hwm_kib() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets `VmHWM` to the current RSS (Linux >= 4.0); false if the kernel refuses.
fn reset_hwm() -> bool {
    fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/clear_refs")
        .and_then(|mut f| f.write_all(b"5"))
        .is_ok()
}

fn max_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Compresses and decompresses `input` (whose bytes are `original`) `runs` times with
/// `codec`, using `scratch` for the output files, and verifies every round trip and that
/// every run produced the same compressed bytes.
pub fn measure(
    codec: &Codec,
    input: &Path,
    original: &[u8],
    scratch: &Path,
    runs: u32,
    probe: &RssProbe,
) -> Result<Measurement> {
    ensure!(runs >= 1, "runs must be at least 1");
    let mut best: Option<Measurement> = None;
    let mut first_output: Option<Vec<u8>> = None;
    for _ in 0..runs {
        let (compressed, m) = match codec {
            Codec::External(e) => measure_external(e, input, original, scratch, probe)?,
            Codec::InProcess { options, .. } => measure_in_process(options, original)?,
        };
        match &first_output {
            None => first_output = Some(compressed),
            Some(first) => ensure!(
                *first == compressed,
                "{} is nondeterministic: two runs on {} gave different compressed bytes",
                codec.name(),
                input.display()
            ),
        }
        best = Some(match best {
            None => m,
            Some(b) => Measurement {
                compressed_bytes: b.compressed_bytes,
                compress_secs: b.compress_secs.min(m.compress_secs),
                decompress_secs: b.decompress_secs.min(m.decompress_secs),
                compress_rss_kib: max_opt(b.compress_rss_kib, m.compress_rss_kib),
                decompress_rss_kib: max_opt(b.decompress_rss_kib, m.decompress_rss_kib),
            },
        });
    }
    best.ok_or_else(|| anyhow!("no run"))
}

fn measure_external(
    e: &External,
    input: &Path,
    original: &[u8],
    scratch: &Path,
    probe: &RssProbe,
) -> Result<(Vec<u8>, Measurement)> {
    let packed = scratch.join(format!("input.{}", e.extension));
    let unpacked = scratch.join("input.out");
    let rss_file = scratch.join("rss.txt");
    let (c_secs, c_rss) = run_child(
        probe,
        &e.program,
        &e.compress_args,
        input,
        &packed,
        &rss_file,
    )?;
    let (d_secs, d_rss) = run_child(
        probe,
        &e.program,
        &e.decompress_args,
        &packed,
        &unpacked,
        &rss_file,
    )?;
    let compressed = fs::read(&packed).with_context(|| format!("reading {}", packed.display()))?;
    let decoded = fs::read(&unpacked).with_context(|| format!("reading {}", unpacked.display()))?;
    verify(
        original,
        &decoded,
        &format!("{} on {}", e.name, input.display()),
    )?;
    // Free the scratch space before the next tool (inputs can be large).
    fs::remove_file(&packed)?;
    fs::remove_file(&unpacked)?;
    let m = Measurement {
        compressed_bytes: compressed.len() as u64,
        compress_secs: c_secs,
        decompress_secs: d_secs,
        compress_rss_kib: c_rss,
        decompress_rss_kib: d_rss,
    };
    Ok((compressed, m))
}

fn measure_in_process(options: &ssmix::Options, original: &[u8]) -> Result<(Vec<u8>, Measurement)> {
    // RSS here is the whole harness process, including the input buffer it holds.
    let can_reset = reset_hwm();
    let start = Instant::now();
    let compressed = ssmix::compress(original, options).context("ssmix::compress")?;
    let c_secs = start.elapsed().as_secs_f64();
    let c_rss = if can_reset { vm_hwm_kib() } else { None };
    let can_reset = reset_hwm();
    let start = Instant::now();
    let decoded = ssmix::decompress(&compressed).context("ssmix::decompress")?;
    let d_secs = start.elapsed().as_secs_f64();
    let d_rss = if can_reset { vm_hwm_kib() } else { None };
    verify(original, &decoded, "ssmix (in-process)")?;
    let m = Measurement {
        compressed_bytes: compressed.len() as u64,
        compress_secs: c_secs,
        decompress_secs: d_secs,
        compress_rss_kib: c_rss,
        decompress_rss_kib: d_rss,
    };
    Ok((compressed, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"abc", b"ab"), Some(2));
        assert_eq!(first_difference(b"", b"x"), Some(0));
        assert!(
            verify(b"abc", b"abx", "t")
                .unwrap_err()
                .to_string()
                .contains("byte 2")
        );
    }

    /// A fake "compressor" (cat) round-trips; a corrupting one must be caught.
    #[test]
    fn external_round_trip_is_verified() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.txt");
        let data = crate::textgen::text_like(5000, 1);
        fs::write(&input, &data).unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let probe = RssProbe::detect();
        let cat = External {
            name: "cat".into(),
            program: find_on_path("cat").unwrap(),
            compress_args: vec![],
            decompress_args: vec![],
            extension: "cat".into(),
        };
        let m = measure(
            &Codec::External(cat.clone()),
            &input,
            &data,
            scratch.path(),
            2,
            &probe,
        )
        .unwrap();
        assert_eq!(m.compressed_bytes, 5000);
        if probe != RssProbe::Unavailable {
            assert!(m.compress_rss_kib.unwrap() > 0);
        }
        // `head -c 4000` as the "decompressor" truncates the output.
        let bad = External {
            name: "truncating".into(),
            program: find_on_path("head").unwrap(),
            compress_args: vec!["-c".into(), "100000".into()],
            decompress_args: vec!["-c".into(), "4000".into()],
            ..cat
        };
        let err = measure(
            &Codec::External(bad),
            &input,
            &data,
            scratch.path(),
            1,
            &probe,
        )
        .unwrap_err();
        assert!(err.to_string().contains("ROUND TRIP FAILED"), "{err}");
    }

    #[test]
    fn in_process_round_trip() {
        let data = crate::textgen::text_like(20_000, 2);
        let codec = Codec::InProcess {
            name: "ssmix".into(),
            options: ssmix::Options::new(),
        };
        let scratch = tempfile::tempdir().unwrap();
        let m = measure(
            &codec,
            Path::new("mem"),
            &data,
            scratch.path(),
            1,
            &RssProbe::Unavailable,
        )
        .unwrap();
        assert!(m.compressed_bytes > 0);
        assert!(m.compress_secs > 0.0);
    }

    #[test]
    fn failing_tool_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        fs::write(&input, b"x").unwrap();
        let fail = External {
            name: "false".into(),
            program: find_on_path("false").unwrap(),
            compress_args: vec![],
            decompress_args: vec![],
            extension: "f".into(),
        };
        let err = measure(
            &Codec::External(fail),
            &input,
            b"x",
            dir.path(),
            1,
            &RssProbe::detect(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("failed"), "{err}");
    }
}
