//! `-l`: frame information read from headers, without decoding.

use std::fmt::Write as _;

use ssmix::FrameInfo;

use crate::args::human_size;

/// Column titles of the one-row-per-file table.
pub(crate) const HEADER: &str = "Frames  Blocks   Compressed  Uncompressed   Ratio  Bits/B  Lvl  \
    Block size      Memory  Check  Filename";

/// Totals over the frames of one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FileSummary {
    frames: u64,
    blocks: u64,
    compressed: u64,
    uncompressed: u64,
    levels: Vec<u8>,
    block_size: u64,
    memory: u64,
    checked: u64,
}

impl FileSummary {
    /// Sums `frames` (one file's worth).
    pub(crate) fn of(frames: &[FrameInfo]) -> Self {
        let mut s = FileSummary::default();
        for f in frames {
            s.add_frame(f);
        }
        s
    }

    fn add_frame(&mut self, f: &FrameInfo) {
        self.frames += 1;
        self.blocks += f.blocks;
        self.compressed += f.compressed_size;
        self.uncompressed += f.content_size;
        if !self.levels.contains(&f.level) {
            self.levels.push(f.level);
        }
        self.block_size = self.block_size.max(f.block_size);
        // Frames are decoded one after the other: the largest one sets the need.
        self.memory = self.memory.max(f.memory_needed);
        self.checked += u64::from(f.checksum);
    }

    /// Adds another file's totals (for the "total" row).
    pub(crate) fn merge(&mut self, other: &FileSummary) {
        self.frames += other.frames;
        self.blocks += other.blocks;
        self.compressed += other.compressed;
        self.uncompressed += other.uncompressed;
        for l in &other.levels {
            if !self.levels.contains(l) {
                self.levels.push(*l);
            }
        }
        self.block_size = self.block_size.max(other.block_size);
        self.memory = self.memory.max(other.memory);
        self.checked += other.checked;
    }

    /// One table row.
    pub(crate) fn row(&self, name: &str) -> String {
        let level = match self.levels.as_slice() {
            [] => "-".to_string(),
            [l] => l.to_string(),
            _ => "mix".to_string(),
        };
        let check = if self.frames == 0 {
            "-"
        } else if self.checked == self.frames {
            "CRC32"
        } else if self.checked == 0 {
            "none"
        } else {
            "mixed"
        };
        format!(
            "{:>6}  {:>6}  {:>11}  {:>12}  {:>6}  {:>6}  {:>3}  {:>10}  {:>10}  {:>5}  {}",
            self.frames,
            self.blocks,
            human_size(self.compressed),
            human_size(self.uncompressed),
            ratio(self.compressed, self.uncompressed),
            bits_per_byte(self.compressed, self.uncompressed),
            level,
            human_size(self.block_size),
            human_size(self.memory),
            check,
            name
        )
    }
}

/// Per-frame detail for `-lv`.
pub(crate) fn verbose_report(name: &str, frames: &[FrameInfo]) -> String {
    let total = FileSummary::of(frames);
    let mut s = format!("{name}\n");
    let _ = writeln!(s, "  frames:        {}", total.frames);
    let _ = writeln!(
        s,
        "  compressed:    {} ({} bytes)",
        human_size(total.compressed),
        total.compressed
    );
    let _ = writeln!(
        s,
        "  uncompressed:  {} ({} bytes)",
        human_size(total.uncompressed),
        total.uncompressed
    );
    let _ = writeln!(
        s,
        "  ratio:         {}",
        ratio(total.compressed, total.uncompressed)
    );
    let _ = writeln!(
        s,
        "  bits per byte: {}",
        bits_per_byte(total.compressed, total.uncompressed)
    );
    for (i, f) in frames.iter().enumerate() {
        let _ = writeln!(
            s,
            "  frame {}: format {}, level {}, {} block{} ({} stored), block size {} ({} bytes), \
             memory {} ({} bytes), check {}, {} -> {} bytes, ratio {}, {} bits per byte",
            i + 1,
            f.format_version,
            f.level,
            f.blocks,
            if f.blocks == 1 { "" } else { "s" },
            f.stored_blocks,
            human_size(f.block_size),
            f.block_size,
            human_size(f.memory_needed),
            f.memory_needed,
            if f.checksum { "CRC32" } else { "none" },
            f.compressed_size,
            f.content_size,
            ratio(f.compressed_size, f.content_size),
            bits_per_byte(f.compressed_size, f.content_size),
        );
    }
    s
}

/// Uncompressed / compressed, as zstd prints it.
fn ratio(compressed: u64, uncompressed: u64) -> String {
    if compressed == 0 {
        "-".into()
    } else {
        format!("{:.3}", uncompressed as f64 / compressed as f64)
    }
}

fn bits_per_byte(compressed: u64, uncompressed: u64) -> String {
    if uncompressed == 0 {
        "-".into()
    } else {
        format!("{:.3}", 8.0 * compressed as f64 / uncompressed as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssmix::{Level, Options};

    fn frames(parts: &[(&[u8], u8, bool)]) -> Vec<FrameInfo> {
        let mut packed = Vec::new();
        for (data, level, check) in parts {
            let opts = Options::new()
                .level(Level::new(*level).unwrap())
                .checksum(*check);
            packed.extend(ssmix::compress(data, &opts).unwrap());
        }
        ssmix::list(&packed[..]).unwrap()
    }

    #[test]
    fn aggregates_frames() {
        let f = frames(&[(b"hello hello hello", 3, true), (b"world", 3, true)]);
        let s = FileSummary::of(&f);
        assert_eq!(s.frames, 2);
        assert_eq!(s.uncompressed, 22);
        assert_eq!(s.compressed, f[0].compressed_size + f[1].compressed_size);
        let row = s.row("x.ssmix");
        assert!(row.ends_with("  CRC32  x.ssmix"), "{row}");
        assert!(row.contains("  3  "), "{row}");

        let mixed = FileSummary::of(&frames(&[(b"a", 1, true), (b"b", 9, false)]));
        let row = mixed.row("m");
        assert!(row.contains("mix"), "{row}");
        assert!(row.contains("mixed"), "{row}");

        let mut total = FileSummary::default();
        total.merge(&s);
        total.merge(&mixed);
        assert_eq!(total.frames, 4);
        assert_eq!(total.levels.len(), 3);
    }

    #[test]
    fn verbose_lists_every_frame() {
        let f = frames(&[(b"abc", 5, true), (b"", 5, false)]);
        let text = verbose_report("f.ssmix", &f);
        assert!(text.contains("frame 1:"), "{text}");
        assert!(text.contains("frame 2:"), "{text}");
        assert!(text.contains("check none"), "{text}");
        assert!(text.contains("bits per byte"), "{text}");
    }
}
