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

/// `ssmix X.Y.Z (format version N)`. The library exposes the format version only
/// through [`ssmix::list`], so it is read from a freshly written empty frame.
fn version() -> String {
    let format = ssmix::compress(b"", &ssmix::Options::new())
        .ok()
        .and_then(|frame| ssmix::list(&frame[..]).ok())
        .and_then(|frames| frames.first().map(|f| f.format_version.to_string()))
        .unwrap_or_else(|| "?".into());
    format!(
        "ssmix {} (format version {format})",
        env!("CARGO_PKG_VERSION")
    )
}
