//! File-system side of the CLI: atomic output files, clean-up on signals, terminal
//! checks and byte counting.

use std::fs::{self, File, FileTimes, Metadata};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use indicatif::ProgressBar;
use tempfile::NamedTempFile;

use crate::args::Mode;

/// The temporary output file being written, if any. The signal handler deletes it, so
/// an interrupted run leaves no partial file behind. Destructors do not run when the
/// process is killed by a signal, hence a global rather than relying on `Drop`.
static CURRENT_TEMP: Mutex<Option<PathBuf>> = Mutex::new(None);

fn current_temp() -> MutexGuard<'static, Option<PathBuf>> {
    // A panic while holding the lock must not stop the clean-up.
    CURRENT_TEMP.lock().unwrap_or_else(|e| e.into_inner())
}

/// Exit status after Ctrl-C where signals cannot be told apart (128 + SIGINT).
#[cfg(not(unix))]
const EXIT_INTERRUPTED: u8 = 130;

/// Removes the temporary output file (if any) and exits with `status`. Holds the lock
/// until exit, so the main thread cannot create or rename a temporary file in between.
fn clean_up_and_exit(status: i32) -> ! {
    let guard = current_temp();
    if let Some(path) = guard.as_ref() {
        let _ = fs::remove_file(path);
    }
    std::process::exit(status)
}

/// Installs the SIGINT/SIGTERM/SIGHUP handler that removes the temporary output file
/// and exits with 128 + the signal number (130 for SIGINT, 143 for SIGTERM, 129 for
/// SIGHUP), the status a shell shows for a process killed by that signal.
#[cfg(unix)]
pub(crate) fn install_signal_handler() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let spawned =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).and_then(|mut signals| {
            std::thread::Builder::new()
                .name("ssmix-signals".into())
                .spawn(move || {
                    if let Some(signal) = signals.forever().next() {
                        clean_up_and_exit(128 + signal);
                    }
                })
        });
    if let Err(e) = spawned {
        // Without the handler an interrupt may leave a hidden temporary file, but the
        // output itself is still never half-written under its final name.
        let _ = writeln!(io::stderr(), "ssmix: cannot install signal handler: {e}");
    }
}

/// Installs the Ctrl-C handler that removes the temporary output file and exits with
/// [`EXIT_INTERRUPTED`].
#[cfg(not(unix))]
pub(crate) fn install_signal_handler() {
    if let Err(e) = ctrlc::set_handler(|| clean_up_and_exit(i32::from(EXIT_INTERRUPTED))) {
        let _ = writeln!(io::stderr(), "ssmix: cannot install signal handler: {e}");
    }
}

/// An output file written under a temporary name in the target directory and renamed
/// into place only by [`AtomicOutput::commit`]. Dropped without commit, it is deleted.
#[derive(Debug)]
pub(crate) struct AtomicOutput {
    file: Option<NamedTempFile>,
    target: PathBuf,
}

impl AtomicOutput {
    /// Creates the temporary file next to `target`. Without `input` metadata (reading
    /// standard input) the file is created with mode 0666 minus the umask, as a plain
    /// `open` would; otherwise 0600 until the input's mode is copied at commit.
    pub(crate) fn create(target: &Path, input: Option<&Metadata>) -> io::Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .unwrap_or(target.as_os_str())
            .to_string_lossy();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        if input.is_none() {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o666));
        }
        #[cfg(not(unix))]
        let _ = input;
        // Create and register under the lock: a signal in between would otherwise leave
        // an unregistered file behind.
        let mut guard = current_temp();
        let file = builder.tempfile_in(dir)?;
        *guard = Some(file.path().to_path_buf());
        Ok(AtomicOutput {
            file: Some(file),
            target: target.to_path_buf(),
        })
    }

    /// The open temporary file.
    pub(crate) fn file(&self) -> &File {
        self.file
            .as_ref()
            .expect("present until commit or drop")
            .as_file()
    }

    /// Copies `input`'s permissions and times, optionally syncs, and renames the file
    /// to its target; without `overwrite` an existing target is an error.
    pub(crate) fn commit(
        mut self,
        input: Option<&Metadata>,
        overwrite: bool,
        sync: bool,
    ) -> io::Result<()> {
        let file = self
            .file
            .as_ref()
            .expect("present until commit or drop")
            .as_file();
        if let Some(meta) = input {
            file.set_permissions(meta.permissions())?;
            let mut times = FileTimes::new();
            if let Ok(t) = meta.accessed() {
                times = times.set_accessed(t);
            }
            if let Ok(t) = meta.modified() {
                times = times.set_modified(t);
            }
            file.set_times(times)?;
        }
        if sync {
            file.sync_all()?;
        }
        let mut guard = current_temp();
        let temp = self.file.take().expect("present until commit or drop");
        let result = if overwrite {
            temp.persist(&self.target)
        } else {
            temp.persist_noclobber(&self.target)
        };
        match result {
            Ok(_) => {
                *guard = None;
                Ok(())
            }
            Err(e) => {
                let _ = e.file.close();
                *guard = None;
                let err = e.error;
                if err.kind() == io::ErrorKind::AlreadyExists {
                    Err(io::Error::new(
                        err.kind(),
                        format!(
                            "{} already exists; use -f to overwrite",
                            self.target.display()
                        ),
                    ))
                } else {
                    Err(err)
                }
            }
        }
    }
}

impl Drop for AtomicOutput {
    fn drop(&mut self) {
        if let Some(temp) = self.file.take() {
            // Delete before unregistering, so no moment exists where the file is there
            // but the signal handler would not know about it.
            let mut guard = current_temp();
            let _ = temp.close();
            *guard = None;
        }
    }
}

/// Why a terminal refuses to take part, or `None` when it may. Compressed data is
/// binary: writing it to a terminal garbles the screen, and reading it from a
/// keyboard makes no sense, so both need `-f` (as gzip, xz and zstd do).
pub(crate) fn terminal_refusal(
    mode: Mode,
    reads_stdin: bool,
    writes_stdout: bool,
    stdin_is_tty: bool,
    stdout_is_tty: bool,
    force: bool,
) -> Option<&'static str> {
    if force {
        return None;
    }
    match mode {
        Mode::Compress if writes_stdout && stdout_is_tty => {
            Some("refusing to write compressed data to a terminal (use -f to force)")
        }
        Mode::Decompress | Mode::Test | Mode::List if reads_stdin && stdin_is_tty => {
            Some("refusing to read compressed data from a terminal (use -f to force)")
        }
        _ => None,
    }
}

/// True when `a` and `b` name the same existing file.
pub(crate) fn same_file(a: &Metadata, b: &Path) -> bool {
    let Ok(b) = fs::metadata(b) else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

/// A reader that counts bytes and advances an optional progress bar.
pub(crate) struct CountingReader<R> {
    inner: R,
    pub(crate) count: u64,
    bar: Option<ProgressBar>,
    /// Set once the whole input is read (the bar then shows that work goes on).
    at_end: bool,
}

impl<R> CountingReader<R> {
    pub(crate) fn new(inner: R, bar: Option<ProgressBar>) -> Self {
        CountingReader {
            inner,
            count: 0,
            bar,
            at_end: false,
        }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
            // Blocks are coded whole, so the last ones (all of a small file) are
            // still being coded when the input is exhausted: a bar frozen at 100 %
            // would look hung.
            let complete = n == 0 || bar.length().is_some_and(|len| self.count >= len);
            if complete && !buf.is_empty() && !self.at_end {
                self.at_end = true;
                crate::progress::finishing(bar);
            }
        }
        Ok(n)
    }
}

/// A writer that counts bytes and remembers whether the inner writer failed, so an
/// error can be attributed to the output rather than the input.
pub(crate) struct CountingWriter<W> {
    inner: W,
    pub(crate) count: u64,
    pub(crate) failed: bool,
}

impl<W: Write> CountingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        CountingWriter {
            inner,
            count: 0,
            failed: false,
        }
    }

    pub(crate) fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.inner.write(buf) {
            Ok(n) => {
                self.count += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.failed |= e.kind() != io::ErrorKind::Interrupted;
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|_| self.failed = true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_decisions() {
        use Mode::*;
        // (mode, reads_stdin, writes_stdout, stdin_tty, stdout_tty, force) -> refused?
        let cases = [
            (Compress, false, true, false, true, false, true),
            (Compress, false, true, false, true, true, false),
            (Compress, true, true, true, false, false, false),
            (Compress, false, false, false, true, false, false),
            (Decompress, true, true, true, false, false, true),
            (Decompress, true, true, true, false, true, false),
            (Decompress, true, true, false, true, false, false),
            (Decompress, false, true, false, true, false, false),
            (Test, true, false, true, false, false, true),
            (List, true, false, true, false, false, true),
            (List, false, false, true, true, false, false),
        ];
        for (mode, rin, wout, tin, tout, force, refused) in cases {
            let got = terminal_refusal(mode, rin, wout, tin, tout, force);
            assert_eq!(
                got.is_some(),
                refused,
                "{mode:?} {rin} {wout} {tin} {tout} {force}"
            );
            if let Some(msg) = got {
                assert!(msg.contains("-f"));
            }
        }
    }

    #[test]
    fn atomic_output_commits_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let out = AtomicOutput::create(&target, None).unwrap();
        out.file().write_all(b"abc").unwrap();
        let temp = current_temp().clone().unwrap();
        assert!(temp.exists());
        drop(out);
        assert!(!temp.exists());
        assert!(current_temp().is_none());
        assert!(!target.exists());

        let out = AtomicOutput::create(&target, None).unwrap();
        out.file().write_all(b"abc").unwrap();
        out.commit(None, false, true).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"abc");
        assert!(current_temp().is_none());

        let out = AtomicOutput::create(&target, None).unwrap();
        out.file().write_all(b"xyz").unwrap();
        let err = out.commit(None, false, false).unwrap_err();
        assert!(err.to_string().contains("-f"), "{err}");
        assert_eq!(fs::read(&target).unwrap(), b"abc");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
