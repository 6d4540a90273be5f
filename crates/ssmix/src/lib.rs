//! Lossless compression by online learning.
//!
//! ssmix learns a model of each input while it codes it: a vocabulary of tokens is
//! learned from the data, models predict each next token from what came before, and an
//! arithmetic coder turns the predictions into bits. The decoder repeats the same
//! computation, bit for bit, so nothing but the compressed bytes is needed to decode.
//!
//! # Brief overview
//!
//! * [`compress`] and [`decompress`] work on byte slices.
//! * [`Encoder`] and [`Decoder`] stream through [`std::io::Write`] and [`std::io::Read`].
//! * [`Options`] sets the [`Level`], threads, block size, memory limit and checksum.
//! * [`list`] reads frame headers without decoding.
//! * Every failure is an [`Error`].
//!
//! # Threads and memory
//!
//! Input is cut into independent blocks ([`Options::block_size`], 8 MiB by default;
//! equal-length blocks when the size is known). [`Options::threads`] blocks are coded at
//! once, both ways; the bytes produced never depend on the thread count. Memory is
//! bounded by threads × [`Options::memory_per_thread`], whatever the input length, and
//! [`Options::memory_limit`] lowers the thread count to fit (or fails with
//! [`Error::MemoryLimit`], stating the need).
//!
//! ```
//! use ssmix::{Level, Options};
//! let text = b"It was the best of times, it was the worst of times.".repeat(20);
//! let packed = ssmix::compress(&text, &Options::new().level(Level::DEFAULT))?;
//! assert!(packed.len() < text.len());
//! assert_eq!(ssmix::decompress(&packed)?, text);
//! # Ok::<(), ssmix::Error>(())
//! ```

mod coder;
mod container;
// Used by the SSM model (next step); until then only by their own tests.
#[cfg_attr(not(test), allow(dead_code))]
mod detmath;
mod error;
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals;
#[cfg_attr(not(test), allow(dead_code))]
mod kernels;
mod model;
mod options;
#[cfg(test)]
mod testutil;
// Exposed (hidden, unstable) only for the fuzz crate, benches and examples.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod tokenizer;
#[cfg(not(feature = "internals"))]
mod tokenizer;

use std::io::{Read, Write};

pub use container::format::FORMAT_VERSION;
pub use container::{Decoder, Encoder, FrameInfo, list};
pub use error::{Error, Result};
pub use options::{Level, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, Options, Preset};

/// Compresses `data` into one frame.
///
/// ```
/// let packed = ssmix::compress(b"", &ssmix::Options::default())?;
/// assert_eq!(ssmix::decompress(&packed)?, b"");
/// # Ok::<(), ssmix::Error>(())
/// ```
pub fn compress(data: &[u8], options: &Options) -> Result<Vec<u8>> {
    let mut enc = Encoder::with_options(Vec::new(), options)?;
    enc.set_content_size(data.len() as u64)?;
    enc.write_all(data)?;
    enc.finish()
}

/// Decompresses every frame in `data` and returns the concatenated contents.
///
/// ```
/// let packed = ssmix::compress(b"ssmix", &ssmix::Options::default())?;
/// assert_eq!(ssmix::decompress(&packed)?, b"ssmix");
/// assert!(ssmix::decompress(b"not ssmix").is_err());
/// # Ok::<(), ssmix::Error>(())
/// ```
pub fn decompress(data: &[u8]) -> Result<Vec<u8>> {
    decompress_with(data, &Options::default())
}

/// Like [`decompress`], honouring [`Options::memory_limit`].
///
/// ```
/// use ssmix::{Error, Options};
/// let packed = ssmix::compress(b"data", &Options::default())?;
/// let err = ssmix::decompress_with(&packed, &Options::new().memory_limit(1000)).unwrap_err();
/// assert!(matches!(err, Error::MemoryLimit { .. }));
/// # Ok::<(), ssmix::Error>(())
/// ```
pub fn decompress_with(data: &[u8], options: &Options) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    Decoder::with_options(data, options).read_to_end(&mut out)?;
    Ok(out)
}

/// The README's examples, compiled and run as doctests so they cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
