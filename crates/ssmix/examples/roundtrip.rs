//! Compresses and decompresses a file, printing size, bits per byte and speed.
//!
//! `cargo run --release -p ssmix --example roundtrip -- FILE [LEVEL]`

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: roundtrip FILE [LEVEL]")?;
    let level = args.next().map(|l| l.parse()).transpose()?.unwrap_or(5);
    let data = std::fs::read(&path)?;
    let opts = ssmix::Options::new().level(ssmix::Level::new(level)?);
    let t = Instant::now();
    let packed = ssmix::compress(&data, &opts)?;
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
