//! `ssmix-bench`: compares ssmix with xz, zstd, bzip2 and brotli on real files.
//!
//! Every compressor runs as a child process on files (see `ssmix_benches::runner`), every
//! round trip is verified, and the results go to a Markdown report, CSV, JSON and an SVG
//! chart. See `docs/BENCHMARKS.md`.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;

use ssmix_benches::report::{CommandLine, FileResult, Report, Row, bits_per_byte, kb_per_sec};
use ssmix_benches::runner::{self, Codec, External, RssProbe};
use ssmix_benches::{chart, data, machine};

/// Benchmark ssmix against xz -9e, zstd --ultra -22, bzip2 -9 and brotli -q 11.
///
/// Without FILES: ../shared/data/enwik8_1M and enwik8_3M (beside the repo, if present)
/// and every regular file in testdata/ except golden *.ssmix files and fuzz corpora.
#[derive(Parser, Debug)]
#[command(name = "ssmix-bench", version)]
struct Args {
    /// Files to compress.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    /// ssmix levels to run, comma-separated (e.g. 1,5,9) [default: the default level, 5].
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = clap::value_parser!(u8).range(1..=9))]
    levels: Vec<u8>,

    /// ssmix preset, passed to the CLI as `--preset NAME`.
    #[arg(long, value_name = "NAME")]
    preset: Option<String>,

    /// Threads for ssmix (`-T N`); the reference tools always run single-threaded.
    #[arg(long, short = 'T', value_name = "N", default_value_t = 1)]
    threads: usize,

    /// Runs per measurement; the fastest time and the largest RSS are reported.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,

    /// Reference compressors, comma-separated; `none` for ssmix only.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "xz,zstd,bzip2,brotli"
    )]
    compare: Vec<String>,

    /// Call the ssmix library inside the harness instead of running the CLI (quick runs;
    /// times exclude process start-up and file I/O, RSS is the harness's own).
    #[arg(long)]
    in_process: bool,

    /// The ssmix CLI [default: `ssmix` next to this binary, built first with cargo].
    #[arg(long, value_name = "PATH")]
    ssmix_bin: Option<PathBuf>,

    /// Do not run `cargo build --release -p ssmix-cli` before benchmarking.
    #[arg(long)]
    no_build: bool,

    /// Write the Markdown report here [default: stdout].
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,

    /// Write CSV here [default: beside --out with extension .csv].
    #[arg(long, value_name = "PATH")]
    csv: Option<PathBuf>,

    /// Write JSON here [default: beside --out with extension .json].
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,

    /// Write an SVG chart of bits per byte against compress speed here.
    #[arg(long, value_name = "PATH")]
    chart: Option<PathBuf>,

    /// Directory for the scratch files [default: the system temp directory].
    #[arg(long, value_name = "DIR")]
    tmpdir: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ssmix-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Quotes an argument for display if the shell would split or expand it.
fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+%@".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn command_line() -> String {
    let mut parts = vec!["ssmix-bench".to_string()];
    parts.extend(
        std::env::args_os()
            .skip(1)
            .map(|a| shell_quote(&a.to_string_lossy())),
    );
    parts.join(" ")
}

/// `<target>/release/ssmix`, where `<target>` is the target directory holding this binary.
fn default_ssmix_bin() -> Result<(PathBuf, PathBuf)> {
    let exe = std::env::current_exe().context("locating the harness binary")?;
    let profile_dir = exe.parent().context("harness binary has no directory")?;
    let target = profile_dir
        .parent()
        .context("harness binary is not inside a cargo target directory")?;
    Ok((target.join("release").join("ssmix"), target.to_path_buf()))
}

/// Builds the release CLI into `target` so the benchmark never runs a stale binary.
fn build_cli(target: &Path) -> Result<()> {
    // `cargo run` sets CARGO to the cargo running us; otherwise use the one on PATH.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let manifest = data::repo_root().join("Cargo.toml");
    eprintln!("ssmix-bench: building the ssmix CLI (cargo build --release -p ssmix-cli)");
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", "ssmix-cli", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target)
        .status()
        .with_context(|| format!("running {}", cargo.to_string_lossy()))?;
    ensure!(
        status.success(),
        "cargo build --release -p ssmix-cli failed ({status}); fix the build, or pass \
         --no-build / --ssmix-bin PATH / --in-process"
    );
    Ok(())
}

fn ssmix_codecs(args: &Args, notes: &mut Vec<String>) -> Result<(Vec<Codec>, Option<String>)> {
    let levels = if args.levels.is_empty() {
        vec![ssmix::Level::DEFAULT.get()]
    } else {
        args.levels.clone()
    };
    let label = |level: u8| {
        let mut s = format!("ssmix -{level}");
        if let Some(p) = &args.preset {
            s.push_str(&format!(" --preset {p}"));
        }
        if args.threads != 1 {
            s.push_str(&format!(" -T{}", args.threads));
        }
        s
    };
    if args.in_process {
        let preset = match args.preset.as_deref() {
            None | Some("default") => ssmix::Preset::Default,
            Some("baseline") => ssmix::Preset::Baseline,
            Some("paper") => ssmix::Preset::Paper,
            Some(p) => {
                bail!("--in-process knows the presets default, baseline and paper, not `{p}`")
            }
        };
        notes.push(
            "ssmix ran in-process (--in-process): its times exclude process start-up and file \
             I/O, and its RSS is the harness process (input and output buffers included)"
                .into(),
        );
        let codecs = levels
            .iter()
            .map(|&l| {
                let options = ssmix::Options::new()
                    .level(ssmix::Level::new(l)?)
                    .preset(preset)
                    .threads(args.threads);
                Ok(Codec::InProcess {
                    name: format!("{} (in-process)", label(l)),
                    options,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let version = format!(
            "ssmix library linked into the harness (workspace version {})",
            env!("CARGO_PKG_VERSION")
        );
        return Ok((codecs, Some(version)));
    }
    let bin = match &args.ssmix_bin {
        Some(p) => p.clone(),
        None => {
            let (bin, target) = default_ssmix_bin()?;
            if !args.no_build {
                build_cli(&target)?;
            }
            bin
        }
    };
    ensure!(
        bin.is_file(),
        "ssmix CLI not found at {}: build it with `cargo build --release -p ssmix-cli`, pass \
         --ssmix-bin PATH, or use --in-process",
        bin.display()
    );
    let version = machine::first_output_line(&bin, &["--version"]);
    let codecs = levels
        .iter()
        .map(|&l| {
            let mut compress = vec!["-c".to_string(), format!("-{l}")];
            if let Some(p) = &args.preset {
                compress.extend(["--preset".to_string(), p.clone()]);
            }
            let threads = ["-T".to_string(), args.threads.to_string()];
            compress.extend(threads.clone());
            let mut decompress = vec!["-dc".to_string()];
            decompress.extend(threads);
            Codec::External(External {
                name: label(l),
                program: bin.clone(),
                compress_args: compress,
                decompress_args: decompress,
                extension: "ssmix".into(),
            })
        })
        .collect();
    Ok((codecs, version))
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn run() -> Result<ExitCode> {
    let args = Args::parse();
    let mut report = Report {
        command_line: command_line(),
        date: machine::utc_now(),
        machine: machine::Machine::detect(),
        git: machine::git_describe(&data::repo_root()),
        ..Report::default()
    };
    if cfg!(debug_assertions) {
        report
            .notes
            .push("the harness is a debug build: run it with `cargo run --release`".into());
    }

    let files = if args.files.is_empty() {
        let inputs = data::default_inputs().context("listing the default inputs")?;
        report.notes.extend(inputs.notes);
        inputs.files
    } else {
        args.files.clone()
    };
    for n in &report.notes {
        eprintln!("ssmix-bench: note: {n}");
    }
    ensure!(!files.is_empty(), "no input files (pass FILE arguments)");

    let (mut codecs, ssmix_version) = ssmix_codecs(&args, &mut report.notes)?;
    if let Some(v) = ssmix_version {
        report.versions.push(("ssmix".into(), v));
    }
    let wanted: Vec<String> = args
        .compare
        .iter()
        .filter(|c| !c.is_empty() && c.as_str() != "none")
        .cloned()
        .collect();
    let (others, skipped) = runner::competitors(&wanted)?;
    for n in &skipped {
        eprintln!("ssmix-bench: note: {n}");
    }
    report.notes.extend(skipped);
    for e in &others {
        let v = machine::first_output_line(&e.program, &["--version"])
            .unwrap_or_else(|| "unknown".into());
        report.versions.push((e.program.display().to_string(), v));
    }
    codecs.extend(others.into_iter().map(Codec::External));
    for c in &codecs {
        report.commands.push(match c {
            Codec::External(e) => CommandLine {
                compressor: e.name.clone(),
                compress: e.compress_command(),
                decompress: e.decompress_command(),
            },
            Codec::InProcess { name, options } => CommandLine {
                compressor: name.clone(),
                compress: format!("ssmix::compress(&data, &{options:?})"),
                decompress: "ssmix::decompress(&packed)".into(),
            },
        });
    }

    let probe = RssProbe::detect();
    if probe == RssProbe::Unavailable {
        eprintln!("ssmix-bench: note: {}", probe.describe());
    }
    report.settings = vec![
        ("ssmix threads".into(), args.threads.to_string()),
        ("runs per measurement".into(), args.runs.to_string()),
        ("memory".into(), probe.describe()),
    ];

    let scratch = match &args.tmpdir {
        Some(d) => tempfile::Builder::new().prefix("ssmix-bench").tempdir_in(d),
        None => tempfile::Builder::new().prefix("ssmix-bench").tempdir(),
    }
    .context("creating the scratch directory")?;

    for path in &files {
        let original = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let mut result = FileResult {
            path: data::display_path(path),
            size: original.len() as u64,
            rows: Vec::new(),
        };
        for codec in &codecs {
            let outcome =
                runner::measure(codec, path, &original, scratch.path(), args.runs, &probe);
            match &outcome {
                Ok(m) => eprintln!(
                    "ssmix-bench: {}: {:<24} {:>10} bytes {:>7} bpb {:>9} KB/s c {:>9} KB/s d",
                    result.name(),
                    codec.name(),
                    m.compressed_bytes,
                    bits_per_byte(m.compressed_bytes, result.size)
                        .map_or("-".into(), |b| format!("{b:.3}")),
                    format!("{:.1}", kb_per_sec(result.size, m.compress_secs)),
                    format!("{:.1}", kb_per_sec(result.size, m.decompress_secs)),
                ),
                Err(e) => eprintln!(
                    "ssmix-bench: ERROR: {}: {}: {e:#}",
                    result.name(),
                    codec.name()
                ),
            }
            result.rows.push(Row {
                compressor: codec.name().to_string(),
                result: outcome.map_err(|e| format!("{e:#}")),
            });
        }
        report.files.push(result);
    }

    let markdown = report.markdown();
    match &args.out {
        Some(p) => {
            write_file(p, &markdown)?;
            eprintln!("ssmix-bench: wrote {}", p.display());
        }
        None => print!("{markdown}"),
    }
    let beside_out = |ext: &str| args.out.as_ref().map(|p| p.with_extension(ext));
    if let Some(p) = args.csv.clone().or_else(|| beside_out("csv")) {
        write_file(&p, &report.csv())?;
        eprintln!("ssmix-bench: wrote {}", p.display());
    }
    if let Some(p) = args.json.clone().or_else(|| beside_out("json")) {
        write_file(&p, &report.json())?;
        eprintln!("ssmix-bench: wrote {}", p.display());
    }
    if let Some(p) = &args.chart {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        match chart::draw(p, &report.files) {
            Ok(()) => eprintln!("ssmix-bench: wrote {}", p.display()),
            Err(e) => eprintln!("ssmix-bench: no chart: {e:#}"),
        }
    }

    if report.has_failures() {
        eprintln!("ssmix-bench: ERROR: some compressors FAILED (see above); exit status 1");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("--levels"), "--levels");
        assert_eq!(shell_quote("1,5,9"), "1,5,9");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn args_parse() {
        let a = Args::try_parse_from(["x", "--levels", "1,5,9", "--compare", "none", "f"]).unwrap();
        assert_eq!(a.levels, vec![1, 5, 9]);
        assert_eq!(a.files, vec![PathBuf::from("f")]);
        assert_eq!(a.threads, 1);
        assert!(Args::try_parse_from(["x", "--levels", "10"]).is_err());
        assert!(Args::try_parse_from(["x", "--runs", "0"]).is_err());
    }
}
