//! Round trip of one file as a single modeled block with a chosen model family, for
//! measuring models that no level selects yet.
//!
//! `cargo run --release -p ssmix --features internals --example modelrt -- FILE [LEVEL]`
//!
//! `SSMIX_KIND` picks the model family (1 = baseline, 3 = mix; default 3) and
//! `SSMIX_PARAMS` (comma-separated) overrides the level's parameters; with
//! `SSMIX_NODECODE` set, only the compressed size is measured (no round trip).

use ssmix::internals;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: modelrt FILE [LEVEL]")?;
    let level: u8 = args.next().map(|l| l.parse()).transpose()?.unwrap_or(5);
    let kind: u8 = std::env::var("SSMIX_KIND")
        .ok()
        .map(|k| k.parse())
        .transpose()?
        .unwrap_or(3);
    let params: Vec<u32> = match std::env::var("SSMIX_PARAMS") {
        Ok(s) => s
            .split(',')
            .map(|v| v.trim().parse())
            .collect::<Result<_, _>>()?,
        Err(_) => internals::level_params(kind, level)?,
    };
    let data = std::fs::read(&path)?;
    let t = Instant::now();
    let packed = internals::block_payload(&data, kind, &params)?;
    let tc = t.elapsed().as_secs_f64();
    let t = Instant::now();
    if std::env::var_os("SSMIX_NODECODE").is_none() {
        let back = internals::block_decode(&packed, data.len(), kind, &params)?;
        assert!(back == data, "round trip mismatch");
    }
    let td = t.elapsed().as_secs_f64();
    let kb = data.len() as f64 / 1000.0;
    println!(
        "{path}: kind {kind} params {params:?}: {} -> {} bytes, {:.4} bpb, compress {:.1} KB/s, decompress {:.1} KB/s",
        data.len(),
        packed.len(),
        packed.len() as f64 * 8.0 / data.len().max(1) as f64,
        kb / tc,
        kb / td
    );
    Ok(())
}
