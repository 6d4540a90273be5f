//! An SVG chart of bits per byte against compression speed.
//!
//! One panel per input file; x is compress KB/s on a log scale (the tools span four
//! orders of magnitude), y is bits per byte, so better is down and to the right. Each
//! compressor keeps its colour in every panel.

use std::path::Path;

use anyhow::{Result, anyhow, ensure};
use plotters::prelude::*;

use crate::report::{FileResult, bits_per_byte, kb_per_sec};

const WIDTH: u32 = 900;
const PANEL_HEIGHT: u32 = 420;
/// Rough width of one label character and height of one label line, in pixels.
const LABEL_CHAR_WIDTH: i32 = 7;
const LABEL_LINE: i32 = 15;

/// A plotted point: compressor, speed (KB/s), bits per byte.
type Point = (String, f64, f64);

fn points(f: &FileResult) -> Vec<Point> {
    f.rows
        .iter()
        .filter_map(|r| {
            let m = r.result.as_ref().ok()?;
            let bpb = bits_per_byte(m.compressed_bytes, f.size)?;
            let speed = kb_per_sec(f.size, m.compress_secs);
            (speed.is_finite() && speed > 0.0).then(|| (r.compressor.clone(), speed, bpb))
        })
        .collect()
}

/// Draws the chart for every file with at least one successful measurement into `path`.
pub fn draw(path: &Path, files: &[FileResult]) -> Result<()> {
    let panels: Vec<(&FileResult, Vec<Point>)> = files
        .iter()
        .map(|f| (f, points(f)))
        .filter(|(_, p)| !p.is_empty())
        .collect();
    ensure!(!panels.is_empty(), "no successful measurement to plot");
    // Colour by compressor, stable across panels.
    let mut names: Vec<&str> = Vec::new();
    for (_, pts) in &panels {
        for (n, _, _) in pts {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let root =
        SVGBackend::new(path, (WIDTH, PANEL_HEIGHT * panels.len() as u32)).into_drawing_area();
    root.fill(&WHITE)
        .map_err(|e| anyhow!("drawing {}: {e}", path.display()))?;
    let areas = root.split_evenly((panels.len(), 1));
    for (area, (f, pts)) in areas.iter().zip(&panels) {
        draw_panel(area, f, pts, &names).map_err(|e| anyhow!("drawing {}: {e}", path.display()))?;
    }
    root.present()
        .map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
    Ok(())
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    f: &FileResult,
    pts: &[Point],
    names: &[&str],
) -> Result<(), Box<dyn std::error::Error>> {
    let (lo, hi) = pts.iter().fold((f64::INFINITY, 0f64), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let ymax = pts.iter().fold(1f64, |m, p| m.max(p.2)) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{} ({} bytes)", f.name(), f.size),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        // Room on the right for the labels of the fastest points.
        .build_cartesian_2d((lo / 2.0..hi * 6.0).log_scale(), 0f64..ymax)?;
    chart
        .configure_mesh()
        .x_desc("compress speed, KB/s (log scale)")
        .y_desc("bits per byte")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    // Labels go up-right of their point; a label that would overlap one already placed
    // moves down a line, so coinciding points stay readable.
    let mut placed: Vec<(i32, i32, i32)> = Vec::new();
    for (name, x, y) in pts {
        let idx = names.iter().position(|n| n == name).unwrap_or(0);
        let color = Palette99::pick(idx).to_rgba();
        let (px, py) = chart.backend_coord(&(*x, *y));
        let width = LABEL_CHAR_WIDTH * name.chars().count() as i32;
        let mut dy = -LABEL_LINE;
        while placed.iter().any(|&(lx, ly, lw)| {
            px + 8 < lx + lw && lx < px + 8 + width && (py + dy - ly).abs() < LABEL_LINE
        }) {
            dy += LABEL_LINE;
        }
        placed.push((px + 8, py + dy, width));
        chart.draw_series(std::iter::once(
            EmptyElement::at((*x, *y))
                + Circle::new((0, 0), 5, color.filled())
                + Text::new(
                    name.clone(),
                    (8, dy),
                    ("sans-serif", 13).into_font().color(&color),
                ),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Row;
    use crate::runner::Measurement;

    #[test]
    fn writes_an_svg_with_every_label() {
        let m = |bytes, secs| Measurement {
            compressed_bytes: bytes,
            compress_secs: secs,
            decompress_secs: secs,
            compress_rss_kib: None,
            decompress_rss_kib: None,
        };
        let f = FileResult {
            path: "x/enwik".into(),
            size: 1_000_000,
            rows: vec![
                Row {
                    compressor: "ssmix -9".into(),
                    result: Ok(m(200_000, 20.0)),
                },
                Row {
                    compressor: "zstd --ultra -22".into(),
                    result: Ok(m(260_000, 0.4)),
                },
                Row {
                    compressor: "broken".into(),
                    result: Err("failed".into()),
                },
            ],
        };
        let empty = FileResult {
            path: "empty".into(),
            size: 0,
            rows: vec![],
        };
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("c.svg");
        draw(&out, &[f, empty]).unwrap();
        let svg = std::fs::read_to_string(&out).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("ssmix -9") && svg.contains("zstd --ultra -22"));
        assert!(!svg.contains("broken"));
        assert!(svg.contains("enwik (1000000 bytes)"));
        assert!(draw(&out, &[]).is_err());
    }
}
