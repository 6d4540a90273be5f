//! Compression level, preset and the options builder.

use crate::error::{Error, Result};

/// A compression level from 1 (fastest) to 9 (strongest).
///
/// Levels choose model sizes, context orders and training effort. Every choice a level
/// makes is written into the frame header, so the defaults behind a level may change in
/// later releases without breaking files written before.
///
/// ```
/// use ssmix::Level;
/// assert_eq!(Level::default(), Level::DEFAULT);
/// assert_eq!(Level::new(9)?.get(), 9);
/// assert!(Level::new(10).is_err());
/// # Ok::<(), ssmix::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level(u8);

impl Level {
    /// Level 1: the fastest.
    pub const FASTEST: Level = Level(1);
    /// Level 5: the default, balancing ratio and speed.
    pub const DEFAULT: Level = Level(5);
    /// Level 9: the strongest.
    pub const BEST: Level = Level(9);

    /// Makes a level; `level` must be in `1..=9`.
    pub fn new(level: u8) -> Result<Level> {
        if (1..=9).contains(&level) {
            Ok(Level(level))
        } else {
            Err(Error::InvalidOption(format!(
                "level {level} is outside 1..=9"
            )))
        }
    }

    /// The level as a number in `1..=9`.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Default for Level {
    fn default() -> Self {
        Level::DEFAULT
    }
}

/// A family of models. [`Preset::Default`] uses ssmix's own levels.
///
/// ```
/// use ssmix::{Options, Preset};
/// let opts = Options::new().preset(Preset::Default);
/// assert_eq!(opts.get_preset(), Preset::Default);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Preset {
    /// ssmix's own model, sized by the [`Level`]: token contexts, a match model and
    /// learned logistic mixing.
    #[default]
    Default,
    /// The reference baseline: adaptive token frequencies (PPM-style, orders 0–2, up to
    /// 0–4 at level 9). Fast; the yardstick the learning models are measured against.
    Baseline,
    /// A reproduction of the StateSMix model (Tacconelli 2026): an online-trained Mamba-style
    /// state-space model plus nine sparse n-gram orders, an LZ pair predictor, a recency
    /// bias and a count prior, mixed in the logits with an entropy-dependent scale. Uses
    /// ssmix's own tokenizer (vocabulary capped for speed) and a 2^24 CDF. Ignores the
    /// [`Level`] (which is still recorded). Slow: tens of KB/s.
    Paper,
    /// The [`Preset::Paper`] ablation with only the count prior (a unigram model).
    PaperCountsOnly,
    /// The [`Preset::Paper`] ablation with the n-gram orders and the count prior (no SSM,
    /// LZ pair or recency terms).
    PaperNgrams,
    /// The [`Preset::Paper`] ablation with the SSM and the count prior (no n-gram, LZ pair or
    /// recency terms).
    PaperSsm,
}

/// Options for compression and decompression, built with chained setters.
///
/// Decompression reads every model setting from the frame; of these options it only
/// uses [`Options::memory_limit`] and [`Options::threads`].
///
/// ```
/// use ssmix::{Level, Options};
/// let opts = Options::new()
///     .level(Level::new(3)?)
///     .threads(2)
///     .block_size(4 << 20)
///     .memory_limit(1 << 30)
///     .checksum(true);
/// let packed = ssmix::compress(b"hello hello hello", &opts)?;
/// assert_eq!(ssmix::decompress(&packed)?, b"hello hello hello");
/// # Ok::<(), ssmix::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    level: Level,
    preset: Preset,
    threads: usize,
    block_size: Option<usize>,
    memory_limit: Option<u64>,
    checksum: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            level: Level::DEFAULT,
            preset: Preset::Default,
            threads: 1,
            block_size: None,
            memory_limit: None,
            checksum: true,
        }
    }
}

/// The smallest block size accepted by [`Options::block_size`].
pub const MIN_BLOCK_SIZE: usize = 1 << 10;
/// The largest block size accepted by [`Options::block_size`] and by the decoder.
pub const MAX_BLOCK_SIZE: usize = 1 << 30;

impl Options {
    /// Default options: level 5, one thread, checksum on, no memory limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the compression level.
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Sets the model preset.
    pub fn preset(mut self, preset: Preset) -> Self {
        self.preset = preset;
        self
    }

    /// Sets the number of worker threads; `0` means one per available core.
    ///
    /// Blocks are the unit of parallelism: up to this many blocks are compressed or
    /// decompressed at once, so memory grows with it (see [`Options::memory_limit`]).
    /// The compressed and the decompressed bytes never depend on this value.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Sets the size of the independent blocks the input is cut into. Larger blocks
    /// compress better and need more memory; the value is clamped to
    /// [`MIN_BLOCK_SIZE`]`..=`[`MAX_BLOCK_SIZE`]. Unset means the level's default.
    pub fn block_size(mut self, bytes: usize) -> Self {
        self.block_size = Some(bytes.clamp(MIN_BLOCK_SIZE, MAX_BLOCK_SIZE));
        self
    }

    /// Caps the memory the codec may use, in bytes.
    ///
    /// Each thread needs the per-thread memory of the frame ([`Options::memory_per_thread`]
    /// when compressing, [`crate::FrameInfo::memory_needed`] when decompressing). Both
    /// sides use as many of the requested [`Options::threads`] as fit in the limit (never
    /// changing the output) and fail with [`crate::Error::MemoryLimit`], which states the
    /// need, when not even one thread fits; the decoder refuses such a frame before
    /// allocating anything for it.
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// Turns the CRC-32 of the content on (the default) or off.
    pub fn checksum(mut self, on: bool) -> Self {
        self.checksum = on;
        self
    }

    /// The configured level.
    pub fn get_level(&self) -> Level {
        self.level
    }

    /// The configured preset.
    pub fn get_preset(&self) -> Preset {
        self.preset
    }

    /// The configured thread count (`0` = all cores).
    pub fn get_threads(&self) -> usize {
        self.threads
    }

    /// The block size in effect: the configured one or the level's default.
    pub fn get_block_size(&self) -> usize {
        self.block_size.unwrap_or(DEFAULT_BLOCK_SIZE)
    }

    /// The memory one compression thread needs with these options, in bytes: input
    /// blocks, the tokenizer's work or the tokens, the compressed block and the model
    /// (the level's tables, sized for the block). Decoding needs less (no tokenizer, no
    /// token list): [`crate::FrameInfo::memory_needed`] reports a frame's figure. An
    /// encoder told the content size may need less (blocks no longer than the content).
    ///
    /// ```
    /// use ssmix::{Level, Options};
    /// let small = Options::new().level(Level::FASTEST).memory_per_thread();
    /// let large = Options::new().level(Level::BEST).memory_per_thread();
    /// assert!(small < large);
    /// ```
    pub fn memory_per_thread(&self) -> u64 {
        let config = crate::model::config_for(self.level, self.preset);
        crate::container::encode_memory(self.get_block_size(), &config)
    }

    /// The memory limit, if any.
    pub fn get_memory_limit(&self) -> Option<u64> {
        self.memory_limit
    }

    /// Whether a content checksum is written.
    pub fn get_checksum(&self) -> bool {
        self.checksum
    }

    /// The number of threads to actually use.
    pub(crate) fn effective_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// Default block size, the same at every level so that levels differ only in their
/// models. Blocks are independent, so this is the grain of parallelism and the price of
/// it: on enwik8_3M at level 5, halving the block from 3 MB to 1.5 MB costs 3.7 % in
/// size. 8 MiB keeps that cost small while a 12 MB file of known size is cut into two
/// equal blocks of 6 MB, which two threads code in about half the time
/// (`Encoder::set_content_size`).
pub(crate) const DEFAULT_BLOCK_SIZE: usize = 8 << 20;
