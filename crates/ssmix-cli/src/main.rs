//! The `ssmix` command-line tool: gzip/xz/zstd-style front end to the `ssmix` library.
//!
//! `main` only parses flags, installs the signal handler and maps the outcome to an
//! exit status; the work lives in [`run`].

mod args;
mod io;
mod list;
mod progress;
mod run;

use std::process::ExitCode;

use args::Request;

fn main() -> ExitCode {
    fix_malloc_mmap_threshold();
    let request = match args::parse(std::env::args_os()) {
        Ok(request) => request,
        Err(e) => {
            let _ = e.print();
            // Help and similar displays succeed; usage errors are errors (1), not
            // clap's default 2, which ssmix reserves for warnings.
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match request {
        Request::Version => {
            println!("{}", version());
            ExitCode::SUCCESS
        }
        Request::Run(config) => {
            io::install_signal_handler();
            ExitCode::from(run::run(&config))
        }
    }
}

/// Keeps allocations of 1 MiB and more (model tables, block buffers) in their own
/// mappings, returned to the system when freed. By default glibc raises this threshold
/// after freeing a large mapping, so later tables come from the heap and fragment it:
/// peak memory then crept up with the number of blocks (71 → 125 MB from a 20 MB to a
/// 2 GB stream at `-1 -T2`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn fix_malloc_mmap_threshold() -> bool {
    // SAFETY: `mallopt` only changes allocator tuning and is safe to call at any time;
    // this runs once at start-up, before any other thread exists.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_malloc_mmap_threshold() -> bool {
    true
}

/// `ssmix X.Y.Z (format version N)`.
fn version() -> String {
    format!(
        "ssmix {} (format version {})",
        env!("CARGO_PKG_VERSION"),
        ssmix::FORMAT_VERSION
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn malloc_threshold_is_accepted() {
        assert!(super::fix_malloc_mmap_threshold());
    }
}
