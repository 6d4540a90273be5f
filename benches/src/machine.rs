//! The machine, the date and the tool versions a report was made with.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// What a benchmark result depends on besides the code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Machine {
    /// CPU model name from `/proc/cpuinfo`.
    pub cpu: String,
    /// Logical CPUs listed in `/proc/cpuinfo`.
    pub logical_cpus: usize,
    /// CPUs this process may use (`available_parallelism`).
    pub available: usize,
    /// Total memory from `/proc/meminfo`, in MiB.
    pub mem_mib: Option<u64>,
    /// Kernel release.
    pub kernel: String,
}

impl Machine {
    /// Reads `/proc`; fields that cannot be read are left empty.
    pub fn detect() -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mut m = parse_cpuinfo(&cpuinfo);
        m.mem_mib = parse_memtotal_mib(&meminfo);
        m.available = std::thread::available_parallelism().map_or(1, |n| n.get());
        m.kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        m
    }

    /// One line for a report.
    pub fn summary(&self) -> String {
        let mem = self.mem_mib.map_or(String::new(), |m| {
            format!(", {:.1} GiB RAM", m as f64 / 1024.0)
        });
        format!(
            "{} ({} logical CPUs, {} available to this process{mem}), Linux {}",
            if self.cpu.is_empty() {
                "unknown CPU"
            } else {
                &self.cpu
            },
            self.logical_cpus,
            self.available,
            self.kernel
        )
    }
}

fn parse_cpuinfo(text: &str) -> Machine {
    let mut m = Machine::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "processor" => m.logical_cpus += 1,
            // x86 says "model name"; some ARM kernels only have "Hardware"/"CPU part".
            "model name" | "Hardware" if m.cpu.is_empty() => m.cpu = value.trim().to_string(),
            _ => {}
        }
    }
    m
}

fn parse_memtotal_mib(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// The current UTC time as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The first non-empty line a program prints for `args` (stdout, else stderr), or `None`
/// if it cannot be run. Standard input is closed so that tools like bzip2 do not wait.
pub fn first_output_line(program: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = [&out.stdout[..], &out.stderr[..]]
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// The short git commit of `repo`, with `-dirty` if it has uncommitted changes.
pub fn git_describe(repo: &Path) -> Option<String> {
    let head = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--short=12", "HEAD"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let mut s = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let dirty = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    if dirty {
        s.push_str("-dirty");
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
    }

    #[test]
    fn cpuinfo_and_meminfo() {
        let text = "processor\t: 0\nmodel name\t: Test CPU @ 3GHz\nflags\t: a b\n\n\
                    processor\t: 1\nmodel name\t: Test CPU @ 3GHz\n";
        let m = parse_cpuinfo(text);
        assert_eq!(m.cpu, "Test CPU @ 3GHz");
        assert_eq!(m.logical_cpus, 2);
        assert_eq!(
            parse_memtotal_mib("MemTotal:       24576000 kB\nMemFree: 1 kB\n"),
            Some(24_000)
        );
        assert_eq!(parse_memtotal_mib("nothing"), None);
    }

    #[test]
    fn first_line_of_a_real_program() {
        // `sh -c` exists on every machine this harness runs on.
        let line = first_output_line(Path::new("sh"), &["-c", "echo; echo ' hi '; echo x"]);
        assert_eq!(line.as_deref(), Some("hi"));
        assert_eq!(first_output_line(Path::new("/nonexistent/tool"), &[]), None);
    }
}
