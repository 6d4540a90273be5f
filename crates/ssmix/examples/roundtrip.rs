//! Compresses and decompresses a file, printing size, bits per byte and speed.
//!
//! `cargo run --release -p ssmix --example roundtrip -- FILE [LEVEL] [--preset NAME]
//! [--vocab-cap N] [--cdf16] [--bptt | --detached] [--h0 X] [--lr X]`
//!
//! Presets: `default`, `paper`, `paper-counts`, `paper-ngrams`, `paper-ssm`. The other
//! flags change a paper preset's settings (they need the `internals` feature):
//! `--detached --h0 5.5` gives the reference code's settings.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: roundtrip FILE [LEVEL] [--preset NAME] [--vocab-cap N] [--cdf16] [--bptt | --detached] [--h0 X] [--lr X]";
    let mut path = None;
    let mut level = 5;
    let mut preset = ssmix::Preset::Default;
    let mut tweaks = Tweaks::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--preset" => {
                preset = match args.next().as_deref() {
                    Some("default") => ssmix::Preset::Default,
                    Some("paper") => ssmix::Preset::Paper,
                    Some("paper-counts") => ssmix::Preset::PaperCountsOnly,
                    Some("paper-ngrams") => ssmix::Preset::PaperNgrams,
                    Some("paper-ssm") => ssmix::Preset::PaperSsm,
                    _ => return Err(usage.into()),
                }
            }
            "--vocab-cap" => tweaks.vocab_cap = Some(args.next().ok_or(usage)?.parse()?),
            "--cdf16" => tweaks.cdf16 = true,
            "--bptt" => tweaks.bptt = Some(true),
            "--detached" => tweaks.bptt = Some(false),
            "--h0" => tweaks.scale_h0 = Some(args.next().ok_or(usage)?.parse()?),
            "--lr" => tweaks.lr = Some(args.next().ok_or(usage)?.parse()?),
            _ if path.is_none() => path = Some(a),
            _ => level = a.parse()?,
        }
    }
    let path = path.ok_or(usage)?;
    let data = std::fs::read(&path)?;
    let opts = ssmix::Options::new()
        .level(ssmix::Level::new(level)?)
        .preset(preset);
    let t = Instant::now();
    let packed = tweaks.compress(&data, &opts)?;
    let tc = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let back = ssmix::decompress(&packed)?;
    let td = t.elapsed().as_secs_f64();
    assert!(back == data, "round trip mismatch");
    let kb = data.len() as f64 / 1000.0;
    println!(
        "{path}: {} -> {} bytes, {:.4} bpb, compress {:.1} KB/s, decompress {:.1} KB/s",
        data.len(),
        packed.len(),
        packed.len() as f64 * 8.0 / data.len().max(1) as f64,
        kb / tc,
        kb / td
    );
    Ok(())
}

#[derive(Default)]
struct Tweaks {
    vocab_cap: Option<u32>,
    cdf16: bool,
    bptt: Option<bool>,
    scale_h0: Option<f32>,
    lr: Option<f32>,
}

impl Tweaks {
    #[cfg(feature = "internals")]
    fn compress(&self, data: &[u8], opts: &ssmix::Options) -> ssmix::Result<Vec<u8>> {
        if self.vocab_cap.is_none()
            && !self.cdf16
            && self.bptt.is_none()
            && self.scale_h0.is_none()
            && self.lr.is_none()
        {
            return ssmix::compress(data, opts);
        }
        let t = ssmix::internals::PaperTweaks {
            vocab_cap: self.vocab_cap,
            cdf_log: self.cdf16.then_some(16),
            bptt: self.bptt,
            scale_h0: self.scale_h0,
            lr: self.lr,
        };
        ssmix::internals::compress_paper(data, opts, &t)
    }

    #[cfg(not(feature = "internals"))]
    fn compress(&self, data: &[u8], opts: &ssmix::Options) -> ssmix::Result<Vec<u8>> {
        if self.vocab_cap.is_some()
            || self.cdf16
            || self.bptt.is_some()
            || self.scale_h0.is_some()
            || self.lr.is_some()
        {
            return Err(ssmix::Error::InvalidOption(
                "--vocab-cap, --cdf16, --bptt, --detached, --h0 and --lr need --features internals"
                    .into(),
            ));
        }
        ssmix::compress(data, opts)
    }
}
