//! Results as Markdown (for people), CSV and JSON (for comparing runs).
//!
//! Units: sizes in bytes; speeds in KB/s of *uncompressed* data for both directions,
//! with KB = 1000 bytes (as zstd's benchmark uses MB = 10^6); RSS in MiB in the Markdown,
//! KiB in CSV/JSON (what GNU time reports).

use std::fmt::Write as _;

use crate::machine::Machine;
use crate::runner::Measurement;

/// One compressor on one file.
#[derive(Clone, Debug)]
pub struct Row {
    /// Compressor label, e.g. `xz -9e`.
    pub compressor: String,
    /// The measurement, or the error message if the run or its round trip failed.
    pub result: Result<Measurement, String>,
}

/// All compressors on one input file.
#[derive(Clone, Debug)]
pub struct FileResult {
    /// The input path as given.
    pub path: String,
    /// Input size in bytes.
    pub size: u64,
    /// One row per compressor, in run order.
    pub rows: Vec<Row>,
}

impl FileResult {
    /// The file name without directories.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// Commands used for one compressor.
#[derive(Clone, Debug)]
pub struct CommandLine {
    /// Compressor label.
    pub compressor: String,
    /// How it compresses, as a shell line.
    pub compress: String,
    /// How it decompresses, as a shell line.
    pub decompress: String,
}

/// A whole benchmark run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The harness command line.
    pub command_line: String,
    /// When the run started (UTC).
    pub date: String,
    /// The machine.
    pub machine: Machine,
    /// Git commit of the repository, `-dirty` if modified.
    pub git: Option<String>,
    /// `(tool, version line)` pairs.
    pub versions: Vec<(String, String)>,
    /// The command of every compressor.
    pub commands: Vec<CommandLine>,
    /// Settings worth recording (`runs`, `threads`, how RSS is measured, ...).
    pub settings: Vec<(String, String)>,
    /// Skipped tools, missing inputs and other remarks.
    pub notes: Vec<String>,
    /// Results per input file.
    pub files: Vec<FileResult>,
}

/// Compressed bits per input byte; `None` for an empty input.
pub fn bits_per_byte(compressed: u64, original: u64) -> Option<f64> {
    (original > 0).then(|| compressed as f64 * 8.0 / original as f64)
}

/// Throughput in KB/s (1000 bytes) of `bytes` uncompressed bytes in `secs`.
pub fn kb_per_sec(bytes: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        bytes as f64 / 1000.0 / secs
    } else {
        f64::INFINITY
    }
}

/// About three significant digits, without scientific notation.
fn speed(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

/// Escapes `|` and newlines so a message stays in one Markdown table cell.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl Report {
    /// Whether any compressor failed (including a failed round trip).
    pub fn has_failures(&self) -> bool {
        self.files
            .iter()
            .flat_map(|f| &f.rows)
            .any(|r| r.result.is_err())
    }

    /// The report as Markdown: header, one table per input file, commands, notes.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# ssmix benchmark results\n");
        let _ = writeln!(s, "- Command: `{}`", self.command_line);
        let _ = writeln!(s, "- Date: {}", self.date);
        let _ = writeln!(s, "- Machine: {}", self.machine.summary());
        if let Some(g) = &self.git {
            let _ = writeln!(s, "- Commit: {g}");
        }
        for (k, v) in &self.settings {
            let _ = writeln!(s, "- {k}: {v}");
        }
        if !self.versions.is_empty() {
            let _ = writeln!(s, "- Versions:");
            for (tool, v) in &self.versions {
                let _ = writeln!(s, "  - {tool}: {v}");
            }
        }
        let _ = writeln!(
            s,
            "\nSpeeds are KB/s (1 KB = 1000 bytes) of uncompressed data, best of the runs, wall \
             time of the whole process (start-up and file I/O included); bits per byte = \
             8 x compressed / original. Every round trip is verified byte for byte; a failure \
             is marked FAILED."
        );
        for f in &self.files {
            let _ = writeln!(s, "\n## {} ({} bytes)\n", f.name(), f.size);
            let _ = writeln!(s, "`{}`\n", f.path);
            let _ = writeln!(
                s,
                "| compressor | compressed bytes | bits/byte | compress KB/s | decompress KB/s | peak RSS MiB (c / d) |"
            );
            let _ = writeln!(s, "|---|--:|--:|--:|--:|--:|");
            for r in &f.rows {
                match &r.result {
                    Ok(m) => {
                        let bpb = bits_per_byte(m.compressed_bytes, f.size)
                            .map_or("-".into(), |b| format!("{b:.3}"));
                        let _ = writeln!(
                            s,
                            "| {} | {} | {bpb} | {} | {} | {} / {} |",
                            r.compressor,
                            m.compressed_bytes,
                            speed(kb_per_sec(f.size, m.compress_secs)),
                            speed(kb_per_sec(f.size, m.decompress_secs)),
                            mib(m.compress_rss_kib),
                            mib(m.decompress_rss_kib),
                        );
                    }
                    Err(_) => {
                        let _ = writeln!(s, "| {} | **FAILED** | | | | |", r.compressor);
                    }
                }
            }
            for r in &f.rows {
                if let Err(e) = &r.result {
                    let _ = writeln!(s, "\n**FAILED: {}**: {}", r.compressor, md_cell(e));
                }
            }
        }
        if !self.commands.is_empty() {
            let _ = writeln!(s, "\n## Commands\n");
            let _ = writeln!(s, "| compressor | compress | decompress |");
            let _ = writeln!(s, "|---|---|---|");
            for c in &self.commands {
                let _ = writeln!(
                    s,
                    "| {} | `{}` | `{}` |",
                    c.compressor,
                    md_cell(&c.compress),
                    md_cell(&c.decompress)
                );
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(s, "\n## Notes\n");
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }

    /// One CSV line per (file, compressor); failed rows have `status` = the error.
    pub fn csv(&self) -> String {
        let mut s = String::from(
            "file,size,compressor,compressed_bytes,bits_per_byte,compress_secs,decompress_secs,\
             compress_kb_per_s,decompress_kb_per_s,compress_rss_kib,decompress_rss_kib,status\n",
        );
        for f in &self.files {
            for r in &f.rows {
                let _ = write!(
                    s,
                    "{},{},{},",
                    csv_field(&f.path),
                    f.size,
                    csv_field(&r.compressor)
                );
                match &r.result {
                    Ok(m) => {
                        let _ = writeln!(
                            s,
                            "{},{},{:.6},{:.6},{:.3},{:.3},{},{},ok",
                            m.compressed_bytes,
                            bits_per_byte(m.compressed_bytes, f.size)
                                .map_or(String::new(), |b| format!("{b:.6}")),
                            m.compress_secs,
                            m.decompress_secs,
                            kb_per_sec(f.size, m.compress_secs),
                            kb_per_sec(f.size, m.decompress_secs),
                            m.compress_rss_kib.map_or(String::new(), |v| v.to_string()),
                            m.decompress_rss_kib
                                .map_or(String::new(), |v| v.to_string()),
                        );
                    }
                    Err(e) => {
                        let _ = writeln!(s, ",,,,,,,,{}", csv_field(&format!("FAILED: {e}")));
                    }
                }
            }
        }
        s
    }

    /// The whole report (metadata and every measurement) as a JSON object.
    pub fn json(&self) -> String {
        let mut s = String::from("{\n");
        let _ = writeln!(s, "  \"command_line\": {},", json_str(&self.command_line));
        let _ = writeln!(s, "  \"date\": {},", json_str(&self.date));
        let m = &self.machine;
        let _ = writeln!(
            s,
            "  \"machine\": {{\"cpu\": {}, \"logical_cpus\": {}, \"available_cpus\": {}, \"mem_mib\": {}, \"kernel\": {}}},",
            json_str(&m.cpu),
            m.logical_cpus,
            m.available,
            m.mem_mib.map_or("null".into(), |v| v.to_string()),
            json_str(&m.kernel)
        );
        let _ = writeln!(
            s,
            "  \"git\": {},",
            self.git.as_deref().map_or("null".into(), json_str)
        );
        let pairs = |v: &[(String, String)]| {
            v.iter()
                .map(|(k, v)| format!("{}: {}", json_str(k), json_str(v)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(s, "  \"versions\": {{{}}},", pairs(&self.versions));
        let _ = writeln!(s, "  \"settings\": {{{}}},", pairs(&self.settings));
        let commands: Vec<String> = self
            .commands
            .iter()
            .map(|c| {
                format!(
                    "{{\"compressor\": {}, \"compress\": {}, \"decompress\": {}}}",
                    json_str(&c.compressor),
                    json_str(&c.compress),
                    json_str(&c.decompress)
                )
            })
            .collect();
        let _ = writeln!(s, "  \"commands\": [{}],", commands.join(", "));
        let notes: Vec<String> = self.notes.iter().map(|n| json_str(n)).collect();
        let _ = writeln!(s, "  \"notes\": [{}],", notes.join(", "));
        let _ = writeln!(s, "  \"results\": [");
        let mut rows = Vec::new();
        for f in &self.files {
            for r in &f.rows {
                let mut o = format!(
                    "    {{\"file\": {}, \"size\": {}, \"compressor\": {}, ",
                    json_str(&f.path),
                    f.size,
                    json_str(&r.compressor)
                );
                match &r.result {
                    Ok(m) => {
                        let opt = |v: Option<u64>| v.map_or("null".into(), |v| v.to_string());
                        let _ = write!(
                            o,
                            "\"ok\": true, \"compressed_bytes\": {}, \"bits_per_byte\": {}, \
                             \"compress_secs\": {:.6}, \"decompress_secs\": {:.6}, \
                             \"compress_rss_kib\": {}, \"decompress_rss_kib\": {}}}",
                            m.compressed_bytes,
                            bits_per_byte(m.compressed_bytes, f.size)
                                .map_or("null".into(), |b| format!("{b:.6}")),
                            m.compress_secs,
                            m.decompress_secs,
                            opt(m.compress_rss_kib),
                            opt(m.decompress_rss_kib)
                        );
                    }
                    Err(e) => {
                        let _ = write!(o, "\"ok\": false, \"error\": {}}}", json_str(e));
                    }
                }
                rows.push(o);
            }
        }
        let _ = writeln!(s, "{}", rows.join(",\n"));
        s.push_str("  ]\n}\n");
        s
    }
}

/// Quotes a CSV field if it contains a comma, quote or line break (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let ok = Measurement {
            compressed_bytes: 250,
            compress_secs: 0.5,
            decompress_secs: 0.25,
            compress_rss_kib: Some(2048),
            decompress_rss_kib: None,
        };
        Report {
            command_line: "ssmix-bench --levels 1".into(),
            date: "2026-01-01 00:00:00 UTC".into(),
            files: vec![FileResult {
                path: "dir/a,b.txt".into(),
                size: 1000,
                rows: vec![
                    Row {
                        compressor: "ssmix -1".into(),
                        result: Ok(ok),
                    },
                    Row {
                        compressor: "xz -9e".into(),
                        result: Err("ROUND TRIP FAILED | \"x\"".into()),
                    },
                ],
            }],
            ..Report::default()
        }
    }

    #[test]
    fn markdown_rows() {
        let r = sample();
        let md = r.markdown();
        assert!(md.contains("## a,b.txt (1000 bytes)"));
        // 250 bytes of 1000 = 2 bits/byte; 1000 bytes in 0.5 s = 2 KB/s; 0.25 s = 4 KB/s.
        assert!(
            md.contains("| ssmix -1 | 250 | 2.000 | 2.00 | 4.00 | 2.0 / - |"),
            "{md}"
        );
        assert!(
            md.contains("**FAILED: xz -9e**: ROUND TRIP FAILED \\| \"x\""),
            "{md}"
        );
        assert!(r.has_failures());
    }

    #[test]
    fn csv_and_json_are_well_formed() {
        let r = sample();
        let csv = r.csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with(
            "\"dir/a,b.txt\",1000,ssmix -1,250,2.000000,0.500000,0.250000,2.000,4.000,2048,,ok"
        ));
        assert!(
            lines[2].ends_with(",\"FAILED: ROUND TRIP FAILED | \"\"x\"\"\""),
            "{}",
            lines[2]
        );
        let json = r.json();
        assert!(json.contains("\"bits_per_byte\": 2.000000"));
        assert!(json.contains("\"error\": \"ROUND TRIP FAILED | \\\"x\\\"\""));
        assert_eq!(json.matches('{').count(), json.matches('}').count());
    }

    #[test]
    fn escaping() {
        assert_eq!(json_str("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(bits_per_byte(1, 0), None);
        assert_eq!(speed(1234.5), "1234");
        assert_eq!(speed(12.345), "12.3");
    }
}
