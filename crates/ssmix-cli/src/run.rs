//! Processing each input: choose the destination, check it, code, commit.

use std::fs::{self, File, Metadata};
use std::io::{self, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use ssmix::{Decoder, Encoder, Options};

use crate::args::{Config, Mode, human_size};
use crate::io::{AtomicOutput, CountingReader, CountingWriter, same_file, terminal_refusal};
use crate::list::{self, FileSummary};
use crate::progress;

/// Exit status when standard output is closed by its reader (`ssmix -dc big | head`):
/// 141 (128 + SIGPIPE), what a shell reports for gzip, xz and zstd in that case.
pub(crate) const EXIT_BROKEN_PIPE: u8 = 141;

/// How one input ended when it did not fail.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Done,
    /// Skipped with a warning (exit status 2 unless something failed).
    Skipped,
}

/// Where the output of one input goes.
#[derive(Debug)]
enum Dest {
    Stdout,
    File(PathBuf),
    /// `-t`: decoded and discarded.
    Discard,
}

/// Runs the whole command; returns the exit status.
pub(crate) fn run(cfg: &Config) -> u8 {
    let mut runner = Runner {
        cfg,
        stdout: BufWriter::with_capacity(1 << 17, io::stdout().lock()),
        list_total: FileSummary::default(),
        listed: 0,
    };
    let (mut warned, mut failed) = (false, false);
    for path in &cfg.files {
        let result = runner.process(path).and_then(|outcome| {
            runner.stdout.flush().context("(stdout)")?;
            Ok(outcome)
        });
        match result {
            Ok(Outcome::Done) => {}
            Ok(Outcome::Skipped) => warned = true,
            Err(e) if is_broken_pipe(&e) => return EXIT_BROKEN_PIPE,
            Err(e) => {
                failed = true;
                if cfg.quiet < 2 {
                    message(&format!("{e:#}"));
                }
            }
        }
    }
    if cfg.mode == Mode::List && runner.listed > 1 {
        let row = runner.list_total.row(&format!("{} files", runner.listed));
        let result = writeln!(runner.stdout, "{row}").and_then(|()| runner.stdout.flush());
        if let Err(e) = result {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return EXIT_BROKEN_PIPE;
            }
            failed = true;
        }
    }
    if failed {
        1
    } else if warned {
        2
    } else {
        0
    }
}

/// Prints `ssmix: TEXT` on stderr, ignoring failures (nowhere left to report them).
fn message(text: &str) {
    let _ = writeln!(io::stderr(), "ssmix: {text}");
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Turns a coding error into a message, adding a hint where there is an obvious fix.
fn explain(e: io::Error) -> anyhow::Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ssmix::Error>())
    {
        Some(&ssmix::Error::MemoryLimit { needed, limit }) => anyhow!(
            "needs {} of memory ({needed} bytes) for one thread but the limit (-M) is {} \
             ({limit} bytes); raise the limit with -M (compression also needs less at a \
             lower level or with a smaller block size, -B)",
            human_size(needed),
            human_size(limit)
        ),
        _ => anyhow::Error::new(e),
    }
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// `path` without `suffix`, or `None` if its file name does not end with it (or is
/// nothing but the suffix).
fn strip_suffix(path: &Path, suffix: &str) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(suffix).filter(|s| !s.is_empty())?;
    Some(path.with_file_name(stem))
}

fn has_suffix(path: &Path, suffix: &str) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(suffix))
}

struct Runner<'a> {
    cfg: &'a Config,
    stdout: BufWriter<io::StdoutLock<'static>>,
    list_total: FileSummary,
    listed: usize,
}

impl Runner<'_> {
    fn warn(&self, text: &str) {
        if self.cfg.quiet == 0 {
            message(text);
        }
    }

    fn process(&mut self, path: &Path) -> Result<Outcome> {
        let cfg = self.cfg;
        let is_stdin = path.as_os_str() == "-";
        let name = if is_stdin {
            "(stdin)".to_string()
        } else {
            path.display().to_string()
        };

        let (input, meta): (Box<dyn Read>, Option<Metadata>) = if is_stdin {
            (Box::new(io::stdin().lock()), None)
        } else {
            let meta = fs::metadata(path).with_context(|| name.clone())?;
            if meta.is_dir() {
                self.warn(&format!("{name}: is a directory -- skipped"));
                return Ok(Outcome::Skipped);
            }
            let file = File::open(path).with_context(|| name.clone())?;
            (Box::new(file), Some(meta))
        };

        let dest = match cfg.mode {
            Mode::Test | Mode::List => Dest::Discard,
            _ if cfg.to_stdout => Dest::Stdout,
            _ if cfg.output.is_some() => Dest::File(cfg.output.clone().unwrap_or_default()),
            _ if is_stdin => Dest::Stdout,
            Mode::Compress => {
                if has_suffix(path, &cfg.suffix) && !cfg.force {
                    self.warn(&format!(
                        "{name}: already has {} suffix -- skipped (use -f to compress anyway)",
                        cfg.suffix
                    ));
                    return Ok(Outcome::Skipped);
                }
                Dest::File(with_suffix(path, &cfg.suffix))
            }
            Mode::Decompress => match strip_suffix(path, &cfg.suffix) {
                Some(out) => Dest::File(out),
                None => {
                    self.warn(&format!(
                        "{name}: unknown suffix (expected {}) -- skipped (use -c or -o)",
                        cfg.suffix
                    ));
                    return Ok(Outcome::Skipped);
                }
            },
        };

        if let Some(refusal) = terminal_refusal(
            cfg.mode,
            is_stdin,
            matches!(dest, Dest::Stdout),
            io::stdin().is_terminal(),
            io::stdout().is_terminal(),
            cfg.force,
        ) {
            bail!("{name}: {refusal}");
        }

        if cfg.mode == Mode::List {
            return self.list(&name, input);
        }

        if let Dest::File(out) = &dest {
            if meta.as_ref().is_some_and(|m| same_file(m, out)) {
                bail!("{}: input and output are the same file", out.display());
            }
            if !cfg.force && fs::symlink_metadata(out).is_ok() {
                bail!("{}: already exists; use -f to overwrite", out.display());
            }
        }

        // Sizes are only trusted for regular files (a FIFO or device reports 0).
        let size = meta.as_ref().filter(|m| m.is_file()).map(Metadata::len);
        let bar = progress::bar(cfg.progress, &name, size);
        let mut reader = BufReader::with_capacity(1 << 16, CountingReader::new(input, bar.clone()));
        let start = Instant::now();
        let coded = match &dest {
            Dest::Stdout => {
                let mut w = CountingWriter::new(&mut self.stdout);
                code(cfg.mode, &cfg.options, &mut reader, &mut w, size)
                    .map_err(|e| attribute(e, w.failed, &name, "(stdout)"))
                    .map(|()| w.count)
            }
            Dest::Discard => {
                let mut w = CountingWriter::new(io::sink());
                code(cfg.mode, &cfg.options, &mut reader, &mut w, size)
                    .map_err(|e| attribute(e, false, &name, ""))
                    .map(|()| w.count)
            }
            Dest::File(out) => self.to_file(&mut reader, out, meta.as_ref(), size, &name),
        };
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        let written = coded?;

        if cfg.rm && !is_stdin && matches!(dest, Dest::File(_)) {
            fs::remove_file(path).with_context(|| format!("{name}: cannot remove input"))?;
        }
        if cfg.verbose > 0 {
            let read = reader.get_ref().count;
            let line = progress::summary(
                &name,
                read,
                written,
                cfg.mode == Mode::Compress,
                start.elapsed(),
            );
            let ok = if cfg.mode == Mode::Test { " (OK)" } else { "" };
            message(&format!("{line}{ok}"));
        }
        Ok(Outcome::Done)
    }

    /// Codes into a temporary file beside `out` and renames it into place; returns the
    /// bytes written.
    fn to_file<R: Read>(
        &self,
        reader: &mut BufReader<CountingReader<R>>,
        out: &Path,
        meta: Option<&Metadata>,
        size: Option<u64>,
        name: &str,
    ) -> Result<u64> {
        let out_name = out.display().to_string();
        let temp = AtomicOutput::create(out, meta)
            .with_context(|| format!("{out_name}: cannot create output"))?;
        let mut w = CountingWriter::new(BufWriter::with_capacity(1 << 17, temp.file()));
        code(self.cfg.mode, &self.cfg.options, reader, &mut w, size)
            .and_then(|()| w.flush())
            .map_err(|e| attribute(e, w.failed, name, &out_name))?;
        let written = w.count;
        drop(w.into_inner());
        // Sync before deleting the input: a crash must not lose both copies.
        let sync = self.cfg.rm && meta.is_some();
        temp.commit(meta, self.cfg.force, sync)
            .with_context(|| out_name.clone())?;
        Ok(written)
    }

    fn list(&mut self, name: &str, input: Box<dyn Read>) -> Result<Outcome> {
        let frames = ssmix::list(BufReader::new(input))
            .map_err(|e| explain(e.into()))
            .with_context(|| name.to_string())?;
        let summary = FileSummary::of(&frames);
        let out = &mut self.stdout;
        if self.cfg.verbose > 0 {
            write!(out, "{}", list::verbose_report(name, &frames)).context("(stdout)")?;
        } else {
            if self.listed == 0 {
                writeln!(out, "{}", list::HEADER).context("(stdout)")?;
            }
            writeln!(out, "{}", summary.row(name)).context("(stdout)")?;
        }
        self.list_total.merge(&summary);
        self.listed += 1;
        Ok(Outcome::Done)
    }
}

/// Names the file an error belongs to: the output if writing failed, else the input.
fn attribute(e: io::Error, output_failed: bool, input: &str, output: &str) -> anyhow::Error {
    let who = if output_failed { output } else { input };
    explain(e).context(who.to_string())
}

/// Compresses or decompresses `reader` into `writer` in bounded memory.
fn code<R: Read, W: Write>(
    mode: Mode,
    options: &Options,
    reader: &mut R,
    writer: &mut W,
    size: Option<u64>,
) -> io::Result<()> {
    match mode {
        Mode::Compress => {
            let mut enc = Encoder::with_options(writer, options)?;
            if let Some(size) = size {
                enc.set_content_size(size)?;
            }
            // The bar turns into a spinner when the input is exhausted
            // (`CountingReader`): the last blocks are coded after that.
            io::copy(reader, &mut enc)?;
            // Always finish: without it the frame has no end mark and checksum.
            enc.finish()?.flush()
        }
        Mode::Decompress | Mode::Test => {
            let mut dec = Decoder::with_options(reader, options);
            io::copy(&mut dec, writer)?;
            writer.flush()
        }
        Mode::List => unreachable!("listing does not code"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        assert_eq!(
            with_suffix(Path::new("a/b.txt"), ".ssmix"),
            Path::new("a/b.txt.ssmix")
        );
        assert_eq!(
            strip_suffix(Path::new("a/b.txt.ssmix"), ".ssmix").unwrap(),
            Path::new("a/b.txt")
        );
        assert_eq!(strip_suffix(Path::new("a/b.txt"), ".ssmix"), None);
        assert_eq!(strip_suffix(Path::new("a/.ssmix"), ".ssmix"), None);
        assert_eq!(
            strip_suffix(Path::new("x.zz"), ".zz").unwrap(),
            Path::new("x")
        );
        assert!(has_suffix(Path::new("dir/f.ssmix"), ".ssmix"));
        assert!(!has_suffix(Path::new("f.ssmix/g"), ".ssmix"));
    }

    #[test]
    fn code_round_trip_in_memory() {
        let opts = Options::new();
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut packed = Vec::new();
        code(
            Mode::Compress,
            &opts,
            &mut &data[..],
            &mut packed,
            Some(5000),
        )
        .unwrap();
        let mut back = Vec::new();
        code(Mode::Decompress, &opts, &mut &packed[..], &mut back, None).unwrap();
        assert_eq!(back, data);
        // A wrong size hint must fail rather than produce a bad frame.
        let err = code(
            Mode::Compress,
            &opts,
            &mut &data[..],
            &mut Vec::new(),
            Some(10),
        );
        assert!(err.is_err());
    }
}
