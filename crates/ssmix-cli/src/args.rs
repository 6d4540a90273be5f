//! Command-line flags (clap derive) and their translation into a [`Config`].

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser};
use ssmix::{Level, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, Options, Preset};

/// What to do with each input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Compress,
    Decompress,
    Test,
    List,
}

/// The parsed command line, as clap sees it.
#[derive(Parser, Debug)]
#[command(
    name = "ssmix",
    about = "Compress or decompress files with online-learned models",
    long_about = "Compress or decompress FILEs in the .ssmix format (in place by default).\n\n\
        `ssmix FILE` writes FILE.ssmix and keeps FILE; `ssmix -d FILE.ssmix` writes FILE. \
        With no FILE, or when FILE is -, read standard input and write standard output.",
    disable_version_flag = true,
    args_override_self = true
)]
struct Cli {
    /// Files to process; none or - means standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Compress (the default).
    #[arg(short = 'z', long = "compress", help_heading = "Operation")]
    compress: bool,
    /// Decompress.
    #[arg(
        short = 'd',
        long = "decompress",
        alias = "uncompress",
        help_heading = "Operation"
    )]
    decompress: bool,
    /// Test integrity: decode fully and verify the checksum, write nothing.
    #[arg(short = 't', long = "test", help_heading = "Operation")]
    test: bool,
    /// List frame information (one row per file; with -v, per frame).
    #[arg(short = 'l', long = "list", help_heading = "Operation")]
    list: bool,

    /// Write to standard output; keep input files.
    #[arg(
        short = 'c',
        long = "stdout",
        alias = "to-stdout",
        help_heading = "Output"
    )]
    stdout: bool,
    /// Write to FILE (only with a single input).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        conflicts_with = "stdout",
        help_heading = "Output"
    )]
    output: Option<PathBuf>,
    /// Keep input files (the default; accepted for gzip compatibility).
    #[arg(short = 'k', long = "keep", help_heading = "Output")]
    keep: bool,
    /// Delete each input file after its output was written completely.
    #[arg(long = "rm", help_heading = "Output")]
    rm: bool,
    /// Overwrite existing files; read/write compressed data from/to a terminal;
    /// compress files that already have the suffix.
    #[arg(short = 'f', long = "force", help_heading = "Output")]
    force: bool,
    /// Use suffix SUF instead of .ssmix.
    #[arg(
        short = 'S',
        long = "suffix",
        value_name = "SUF",
        default_value = ".ssmix",
        help_heading = "Output"
    )]
    suffix: String,

    /// Level 1: fastest compression.
    #[arg(short = '1', help_heading = "Compression")]
    l1: bool,
    #[arg(short = '2', hide = true)]
    l2: bool,
    #[arg(short = '3', hide = true)]
    l3: bool,
    #[arg(short = '4', hide = true)]
    l4: bool,
    #[arg(short = '5', hide = true)]
    l5: bool,
    #[arg(short = '6', hide = true)]
    l6: bool,
    #[arg(short = '7', hide = true)]
    l7: bool,
    #[arg(short = '8', hide = true)]
    l8: bool,
    /// Level 9: strongest compression.
    #[arg(short = '9', help_heading = "Compression")]
    l9: bool,
    /// Same as -1.
    #[arg(long = "fast", help_heading = "Compression")]
    fast: bool,
    /// Same as -9.
    #[arg(long = "best", help_heading = "Compression")]
    best: bool,
    /// Model preset: default (ssmix's own model, sized by the level); baseline (the PPM
    /// reference model, fast, sized by the level); paper (StateSMix
    /// reproduction: online SSM + n-grams + LZ pair + recency, slow, ignores the level);
    /// paper-counts, paper-ngrams, paper-ssm (its ablations: count prior only, n-grams +
    /// counts, SSM + counts).
    #[arg(
        long = "preset",
        value_name = "NAME",
        default_value = "default",
        value_parser = parse_preset,
        help_heading = "Compression"
    )]
    preset: Preset,
    /// Worker threads (0 = one per core): blocks compressed or decompressed at once.
    /// Memory grows with it; the output never depends on it.
    #[arg(
        short = 'T',
        long = "threads",
        value_name = "N",
        default_value_t = 1,
        help_heading = "Compression"
    )]
    threads: usize,
    /// Block size, e.g. 4M (K, M, G, KiB, MiB, GiB; powers of 1024); default 8M. Blocks
    /// are coded independently: larger ones compress better, smaller ones give threads
    /// more to share. A file of known size is cut into equal blocks no larger than this.
    #[arg(short = 'B', long = "block-size", value_name = "SIZE", value_parser = parse_size, help_heading = "Compression")]
    block_size: Option<u64>,
    /// Memory limit, e.g. 512M (0 = none). Fewer threads are used to stay within it
    /// (the output is the same); if one thread needs more, compression fails and
    /// decompression refuses the frame, saying how much is needed.
    #[arg(short = 'M', long = "memlimit", alias = "memory", value_name = "SIZE", value_parser = parse_size, help_heading = "Compression")]
    memlimit: Option<u64>,
    /// Do not store a content checksum.
    #[arg(long = "no-check", help_heading = "Compression")]
    no_check: bool,

    /// Verbose: a summary line per file (sizes, ratio, bits per byte, speed).
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count, help_heading = "Messages")]
    verbose: u8,
    /// Quiet: no warnings or progress; twice: no error messages either.
    #[arg(short = 'q', long = "quiet", action = ArgAction::Count, help_heading = "Messages")]
    quiet: u8,
    /// Never show a progress bar.
    #[arg(long = "no-progress", help_heading = "Messages")]
    no_progress: bool,
    /// Print the version and the format version.
    #[arg(short = 'V', long = "version", help_heading = "Messages")]
    version: bool,
}

/// Everything the rest of the program needs, validated.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) mode: Mode,
    pub(crate) files: Vec<PathBuf>,
    pub(crate) to_stdout: bool,
    pub(crate) output: Option<PathBuf>,
    pub(crate) rm: bool,
    pub(crate) force: bool,
    pub(crate) suffix: String,
    pub(crate) options: Options,
    pub(crate) verbose: u8,
    pub(crate) quiet: u8,
    pub(crate) progress: bool,
}

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Request {
    Run(Box<Config>),
    Version,
}

/// Parses `args` (including the program name). Help and usage errors come back as
/// clap errors so the caller chooses the exit code.
pub(crate) fn parse<I, T>(args: I) -> Result<Request, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = Cli::command()
        .after_help(after_help())
        .try_get_matches_from(args)?;
    let cli = Cli::from_arg_matches(&matches)?;
    if cli.version {
        return Ok(Request::Version);
    }
    config(&cli, &matches)
        .map(|c| Request::Run(Box::new(c)))
        .map_err(|e| Cli::command().error(clap::error::ErrorKind::ValueValidation, e))
}

/// Levels with the memory each thread needs at the default block size, and the exit
/// statuses.
fn after_help() -> String {
    // Consecutive levels that need the same memory share a line: "-5 … -7  105 MiB".
    let mut groups: Vec<(u8, u8, u64)> = Vec::new();
    for level in (1..=9).filter_map(|l| Level::new(l).ok()) {
        let need = Options::new().level(level).memory_per_thread();
        match groups.last_mut() {
            Some((_, last, n)) if *n == need => *last = level.get(),
            _ => groups.push((level.get(), level.get(), need)),
        }
    }
    let lines: Vec<String> = groups
        .iter()
        .map(|&(first, last, need)| {
            let levels = if first == last {
                format!("-{first}")
            } else {
                format!("-{first} … -{last}")
            };
            format!("  {levels:<8}  {}", human_size(need))
        })
        .collect();
    format!(
        "Levels: -1 (fastest) ... -9 (strongest), default 5; the last one given wins.\n\
         Memory per thread at the default block size (-T N needs N times it; files smaller \
         than a block need less):\n{}\n\
         Exit status: 0 success, 1 error, 2 warning (a file was skipped), \
         141 output pipe closed, 130 interrupted (SIGINT), 143 terminated (SIGTERM).",
        lines.join("\n")
    )
}

/// The id among `ids` given last on the command line, if any.
fn last_given<'a>(matches: &ArgMatches, ids: &[&'a str]) -> Option<&'a str> {
    ids.iter()
        .filter(|id| matches.get_flag(id))
        .filter_map(|id| {
            matches
                .indices_of(id)
                .and_then(Iterator::max)
                .map(|i| (i, *id))
        })
        .max()
        .map(|(_, id)| id)
}

fn config(cli: &Cli, matches: &ArgMatches) -> Result<Config> {
    let mode = match last_given(matches, &["compress", "decompress", "test", "list"]) {
        Some("decompress") => Mode::Decompress,
        Some("test") => Mode::Test,
        Some("list") => Mode::List,
        _ => Mode::Compress,
    };
    let level_ids = [
        "l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "l9", "fast", "best",
    ];
    let level = match last_given(matches, &level_ids) {
        None => Level::DEFAULT,
        Some("fast") => Level::FASTEST,
        Some("best") => Level::BEST,
        Some(id) => Level::new(id[1..].parse()?)?,
    };
    let mut options = Options::new()
        .level(level)
        .preset(cli.preset)
        .threads(cli.threads)
        .checksum(!cli.no_check);
    if let Some(bs) = cli.block_size {
        if bs < MIN_BLOCK_SIZE as u64 || bs > MAX_BLOCK_SIZE as u64 {
            bail!(
                "block size {bs} is outside {} .. {}",
                human_size(MIN_BLOCK_SIZE as u64),
                human_size(MAX_BLOCK_SIZE as u64)
            );
        }
        options = options.block_size(bs as usize);
    }
    match cli.memlimit {
        None | Some(0) => {}
        Some(limit) => options = options.memory_limit(limit),
    }
    if cli.suffix.is_empty() || cli.suffix.contains('/') {
        bail!("invalid suffix {:?}", cli.suffix);
    }
    let files = if cli.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        cli.files.clone()
    };
    if cli.output.is_some() {
        if files.len() != 1 {
            bail!("-o needs exactly one input file");
        }
        if matches!(mode, Mode::Test | Mode::List) {
            bail!("-o cannot be used with -t or -l");
        }
    }
    let _ = cli.keep; // Keeping inputs is the default; -k exists for gzip habits.
    Ok(Config {
        mode,
        files,
        to_stdout: cli.stdout || cli.output.as_deref().is_some_and(|o| o.as_os_str() == "-"),
        output: cli.output.clone().filter(|o| o.as_os_str() != "-"),
        rm: cli.rm,
        force: cli.force,
        suffix: cli.suffix.clone(),
        options,
        verbose: cli.verbose,
        quiet: cli.quiet,
        progress: !cli.no_progress && cli.quiet == 0,
    })
}

/// The preset names of `--preset`.
pub(crate) const PRESETS: [(&str, Preset); 6] = [
    ("default", Preset::Default),
    ("baseline", Preset::Baseline),
    ("paper", Preset::Paper),
    ("paper-counts", Preset::PaperCountsOnly),
    ("paper-ngrams", Preset::PaperNgrams),
    ("paper-ssm", Preset::PaperSsm),
];

/// Parses a preset name (see [`PRESETS`]).
pub(crate) fn parse_preset(s: &str) -> Result<Preset, String> {
    PRESETS
        .iter()
        .find(|(name, _)| *name == s)
        .map(|&(_, p)| p)
        .ok_or_else(|| {
            let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
            format!("unknown preset {s:?} (use one of: {})", names.join(", "))
        })
}

/// Parses a size such as `1000`, `64K`, `4MiB` or `1g`. All units are powers of 1024
/// (as in xz): K = KB = Ki = KiB = 1024.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    if digits.is_empty() {
        return Err(format!(
            "{s:?} is not a size (expected e.g. 512K, 64M, 2GiB)"
        ));
    }
    let number: u64 = digits.parse().map_err(|_| format!("{s:?} is too large"))?;
    let unit = unit.trim();
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "ki" | "kib" => 10,
        "m" | "mb" | "mi" | "mib" => 20,
        "g" | "gb" | "gi" | "gib" => 30,
        "t" | "tb" | "ti" | "tib" => 40,
        _ => {
            return Err(format!(
                "unknown size unit {unit:?} (use K, M, G, KiB, MiB or GiB)"
            ));
        }
    };
    number
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Formats a byte count with binary units: `512 B`, `1.50 KiB`, `16.0 MiB`.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.2} {}", UNITS[unit])
    } else if value < 100.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Config {
        match parse(std::iter::once("ssmix").chain(args.iter().copied())) {
            Ok(Request::Run(c)) => *c,
            other => panic!("unexpected parse result for {args:?}: {other:?}"),
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("3MiB"), Ok(3 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert!(parse_size("").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("17179869184G").is_err());
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.50 KiB");
        assert_eq!(human_size(16 << 20), "16.0 MiB");
        assert_eq!(human_size(1 << 30), "1.00 GiB");
    }

    #[test]
    fn last_level_wins() {
        assert_eq!(run(&[]).options.get_level(), Level::DEFAULT);
        assert_eq!(run(&["-1", "-9"]).options.get_level().get(), 9);
        assert_eq!(run(&["-9", "-1"]).options.get_level().get(), 1);
        assert_eq!(run(&["-1", "-9", "-1"]).options.get_level().get(), 1);
        assert_eq!(run(&["-3", "--best"]).options.get_level().get(), 9);
        assert_eq!(run(&["--best", "--fast"]).options.get_level().get(), 1);
        assert_eq!(run(&["-9kd", "x"]).options.get_level().get(), 9);
        assert_eq!(run(&["-9kd", "x"]).mode, Mode::Decompress);
    }

    #[test]
    fn presets() {
        assert_eq!(run(&[]).options.get_preset(), Preset::Default);
        for (name, preset) in PRESETS {
            assert_eq!(run(&["--preset", name]).options.get_preset(), preset);
        }
        assert_eq!(
            run(&["--preset=paper-ssm", "-9"]).options.get_preset(),
            Preset::PaperSsm
        );
        assert!(parse_preset("Paper").is_err());
        assert!(parse(["ssmix", "--preset", "nope"]).is_err());
    }

    #[test]
    fn modes_and_defaults() {
        let c = run(&[]);
        assert_eq!(c.mode, Mode::Compress);
        assert_eq!(c.files, vec![PathBuf::from("-")]);
        assert_eq!(c.suffix, ".ssmix");
        assert!(c.options.get_checksum());
        assert_eq!(run(&["-d", "-t"]).mode, Mode::Test);
        assert_eq!(run(&["-lv"]).mode, Mode::List);
        assert_eq!(run(&["-lv"]).verbose, 1);
        assert_eq!(run(&["-d", "-z"]).mode, Mode::Compress);
        let c = run(&["-T", "0", "-M", "64M", "-B", "1M", "--no-check", "-qq"]);
        assert_eq!(c.options.get_threads(), 0);
        assert_eq!(c.options.get_memory_limit(), Some(64 << 20));
        assert_eq!(c.options.get_block_size(), 1 << 20);
        assert!(!c.options.get_checksum());
        assert_eq!(c.quiet, 2);
        assert!(!c.progress);
        assert_eq!(run(&["-M", "0"]).options.get_memory_limit(), None);
        assert!(run(&["-o", "-", "x"]).to_stdout);
    }

    #[test]
    fn rejects_bad_combinations() {
        let bad =
            |args: &[&str]| parse(std::iter::once("ssmix").chain(args.iter().copied())).is_err();
        assert!(bad(&["-o", "out", "a", "b"]));
        assert!(bad(&["-c", "-o", "out", "a"]));
        assert!(bad(&["-t", "-o", "out", "a"]));
        assert!(bad(&["-B", "10"]));
        assert!(bad(&["-B", "2G"]));
        assert!(bad(&["-S", ""]));
        assert!(bad(&["-M", "lots"]));
        assert!(bad(&["--nonsense"]));
    }
}
