//! The progress bar and the `-v` summary line.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar on stderr for `name`, or `None` when it should not be shown (stderr
/// not a terminal, `-q`, `--no-progress`). `total` is the input size when known.
pub(crate) fn bar(enabled: bool, name: &str, total: Option<u64>) -> Option<ProgressBar> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let target = ProgressDrawTarget::stderr_with_hz(4);
    let (bar, template) = match total {
        Some(len) => (
            ProgressBar::with_draw_target(Some(len), target),
            "{msg} {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
        ),
        None => (
            ProgressBar::with_draw_target(None, target),
            "{spinner} {msg} {binary_bytes} {binary_bytes_per_sec} {elapsed}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(name.to_string());
    bar.enable_steady_tick(Duration::from_millis(250));
    Some(bar)
}

/// Switches `bar` to a spinner once all input is read: the last blocks (with `-T N`,
/// up to N of them) are still being coded, which can take seconds per block.
pub(crate) fn finishing(bar: &ProgressBar) {
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {msg}: input read ({binary_bytes}), coding the last blocks {elapsed}",
    ) {
        bar.set_style(style);
    }
}

/// The `-v` line: sizes, ratio (uncompressed / compressed), bits per byte
/// (8 × compressed / uncompressed) and speed in KB/s (1000 bytes) of uncompressed data.
pub(crate) fn summary(
    name: &str,
    bytes_in: u64,
    bytes_out: u64,
    compressing: bool,
    elapsed: Duration,
) -> String {
    let (compressed, uncompressed) = if compressing {
        (bytes_out, bytes_in)
    } else {
        (bytes_in, bytes_out)
    };
    let ratio = if compressed == 0 {
        "-".to_string()
    } else {
        format!("{:.3}", uncompressed as f64 / compressed as f64)
    };
    let bpb = if uncompressed == 0 {
        "-".to_string()
    } else {
        format!("{:.3}", 8.0 * compressed as f64 / uncompressed as f64)
    };
    let secs = elapsed.as_secs_f64();
    let speed = if secs > 0.0 {
        uncompressed as f64 / secs / 1000.0
    } else {
        0.0
    };
    format!(
        "{name}: {bytes_in} -> {bytes_out} bytes, ratio {ratio}, {bpb} bits per byte, \
         {secs:.2} s, {speed:.1} KB/s"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line() {
        let s = summary("a", 1000, 250, true, Duration::from_secs(2));
        assert_eq!(
            s,
            "a: 1000 -> 250 bytes, ratio 4.000, 2.000 bits per byte, 2.00 s, 0.5 KB/s"
        );
        let s = summary("a.ssmix", 250, 1000, false, Duration::from_millis(500));
        assert!(s.contains("ratio 4.000, 2.000 bits per byte"), "{s}");
        assert!(s.contains("2.0 KB/s"), "{s}");
        let s = summary("e", 0, 20, true, Duration::ZERO);
        assert!(s.contains("ratio 0.000, - bits per byte"), "{s}");
    }
}
