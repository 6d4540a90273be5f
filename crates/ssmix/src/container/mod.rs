//! Frames and blocks: the streaming [`Encoder`] and [`Decoder`] (format: `docs/FORMAT.md`).

pub(crate) mod block;
pub(crate) mod format;

use std::io::{self, Read, Write};

use format::{
    BLOCK_END, BLOCK_MODELED, BLOCK_STORED, FLAG_CHECKSUM, FLAG_CONTENT_SIZE, FrameHeader, MAGIC,
    MAX_HEADER_LEN,
};

use crate::error::{Error, Result, corrupt};
use crate::model::{self, ModelConfig};
use crate::options::Options;

/// Working memory a decoder (or one encoder thread) needs for a frame: the compressed
/// and decompressed block plus the model.
pub(crate) fn frame_memory(block_size: usize, model: &ModelConfig) -> u64 {
    2 * block_size as u64
        + crate::tokenizer::READ_MEMORY
        + model::memory_estimate(model, block_size)
}

fn check_limit(needed: u64, limit: Option<u64>) -> Result<()> {
    match limit {
        Some(limit) if needed > limit => Err(Error::MemoryLimit { needed, limit }),
        _ => Ok(()),
    }
}

/// A streaming compressor: bytes written to it come out compressed in the inner writer.
///
/// Input is cut into blocks of [`Options::block_size`] bytes, each compressed on its
/// own, so memory stays bounded by the block size and thread count. Call
/// [`Encoder::finish`] at the end: dropping an encoder without finishing leaves a
/// truncated frame, which decoders reject.
///
/// ```
/// use std::io::Write;
/// let mut enc = ssmix::Encoder::new(Vec::new())?;
/// enc.write_all(b"streaming text, streaming text")?;
/// let packed = enc.finish()?;
/// assert_eq!(ssmix::decompress(&packed)?, b"streaming text, streaming text");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Encoder<W: Write> {
    writer: W,
    header: FrameHeader,
    header_written: bool,
    finished: bool,
    pending: Vec<u8>,
    crc: crc32fast::Hasher,
    consumed: u64,
    threads: usize,
    /// Built on the first flush that has several blocks to compress, then reused.
    pool: Option<rayon::ThreadPool>,
}

impl<W: Write> Encoder<W> {
    /// An encoder with default [`Options`].
    pub fn new(writer: W) -> Result<Self> {
        Self::with_options(writer, &Options::default())
    }

    /// An encoder with the given options.
    pub fn with_options(writer: W, options: &Options) -> Result<Self> {
        let config = model::config_for(options.get_level(), options.get_preset());
        Self::with_model(writer, options, config)
    }

    /// An encoder with the given options and an explicit model configuration (for
    /// experiments through `internals`).
    pub(crate) fn with_model(writer: W, options: &Options, config: ModelConfig) -> Result<Self> {
        let block_size = options.get_block_size();
        let mut threads = options.effective_threads().max(1);
        if let Some(limit) = options.get_memory_limit() {
            let per_thread = frame_memory(block_size, &config);
            check_limit(per_thread, Some(limit))?;
            // Fewer threads, never a different output.
            threads = threads.min((limit / per_thread).max(1) as usize);
        }
        let flags = if options.get_checksum() {
            FLAG_CHECKSUM
        } else {
            0
        };
        Ok(Encoder {
            writer,
            header: FrameHeader {
                flags,
                block_size,
                content_size: None,
                level: options.get_level().get(),
                model: config,
            },
            header_written: false,
            finished: false,
            pending: Vec::new(),
            crc: crc32fast::Hasher::new(),
            consumed: 0,
            threads,
            pool: None,
        })
    }

    /// Records the total input size in the frame header. Must be called before the
    /// first write; [`Encoder::finish`] fails if a different amount was written.
    /// Knowing the size lets small inputs declare (and need) less decoder memory.
    pub fn set_content_size(&mut self, size: u64) -> Result<()> {
        if self.header_written || self.consumed > 0 {
            return Err(Error::InvalidOption(
                "content size set after writing started".into(),
            ));
        }
        self.header.content_size = Some(size);
        self.header.flags |= FLAG_CONTENT_SIZE;
        // No block can be longer than the content: a smaller stated block size lowers
        // the memory the frame asks decoders for (and the models size their tables by
        // it), without changing how the content is cut into blocks.
        self.header.block_size = self.header.block_size.min(size.max(1) as usize);
        Ok(())
    }

    /// A reference to the inner writer.
    pub fn get_ref(&self) -> &W {
        &self.writer
    }

    /// A mutable reference to the inner writer. Writing to it directly corrupts the frame.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.writer
    }

    fn write_header(&mut self) -> Result<()> {
        if !self.header_written {
            let mut buf = Vec::with_capacity(MAX_HEADER_LEN);
            self.header.write(&mut buf);
            self.writer.write_all(&buf)?;
            self.header_written = true;
        }
        Ok(())
    }

    /// Compresses whole blocks from `pending`; with `all`, the partial tail too.
    fn flush_blocks(&mut self, all: bool) -> Result<()> {
        self.write_header()?;
        let bs = self.header.block_size;
        let n_full = self.pending.len() / bs;
        let take = if all { self.pending.len() } else { n_full * bs };
        if take == 0 {
            return Ok(());
        }
        let chunks: Vec<&[u8]> = self.pending[..take].chunks(bs).collect();
        if self.threads > 1 && chunks.len() > 1 && self.pool.is_none() {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .build()
                .map_err(|e| Error::Io(io::Error::other(e)))?;
            self.pool = Some(pool);
        }
        let config = &self.header.model;
        let encode = |chunk: &&[u8]| -> Result<Vec<u8>> {
            let mut out = Vec::new();
            block::write_block(chunk, config, &mut out)?;
            Ok(out)
        };
        let blocks: Vec<Result<Vec<u8>>> = match &self.pool {
            Some(pool) if chunks.len() > 1 => {
                use rayon::prelude::*;
                pool.install(|| chunks.par_iter().map(encode).collect())
            }
            _ => chunks.iter().map(encode).collect(),
        };
        for b in blocks {
            self.writer.write_all(&b?)?;
        }
        self.pending.drain(..take);
        Ok(())
    }

    /// Finishes the frame (remaining data, end block, checksum) without consuming the
    /// encoder. Further writes fail. Calling it twice is harmless.
    pub fn try_finish(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        if let Some(size) = self.header.content_size
            && size != self.consumed
        {
            return Err(Error::InvalidOption(format!(
                "content size was set to {size} but {} bytes were written",
                self.consumed
            )));
        }
        self.flush_blocks(true)?;
        let mut tail = vec![BLOCK_END];
        if self.header.has_checksum() {
            tail.extend_from_slice(&self.crc.clone().finalize().to_le_bytes());
        }
        self.writer.write_all(&tail)?;
        self.writer.flush()?;
        self.finished = true;
        Ok(())
    }

    /// Finishes the frame and returns the inner writer.
    pub fn finish(mut self) -> Result<W> {
        self.try_finish()?;
        Ok(self.writer)
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.finished {
            return Err(io::Error::other("write after finish"));
        }
        if let Some(size) = self.header.content_size
            && self.consumed + buf.len() as u64 > size
        {
            return Err(
                Error::InvalidOption("more data written than the content size".into()).into(),
            );
        }
        self.crc.update(buf);
        self.consumed += buf.len() as u64;
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= self.header.block_size * self.threads {
            self.flush_blocks(false)?;
        }
        Ok(buf.len())
    }

    /// Flushes the inner writer. Buffered input stays buffered until a block fills
    /// up (cutting a block early would cost ratio); [`Encoder::finish`] writes it all.
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// What the decoder is doing between calls to `read`.
#[derive(Debug)]
enum State {
    /// Expecting a frame header; `first` is true before any frame has been read.
    Header { first: bool },
    /// Inside a frame.
    Blocks(Box<FrameState>),
    /// All frames read.
    Done,
}

#[derive(Debug)]
struct FrameState {
    header: FrameHeader,
    crc: crc32fast::Hasher,
    produced: u64,
}

/// A streaming decompressor: reading from it yields the decompressed content.
///
/// Reads one block at a time, so memory is bounded by the frame's block size and model,
/// not by the input length. Concatenated frames decode to the concatenation of their
/// contents. Wrap unbuffered readers (files, sockets) in a [`std::io::BufReader`].
///
/// ```
/// use std::io::Read;
/// let packed = ssmix::compress(b"abcabcabc", &ssmix::Options::default())?;
/// let mut out = Vec::new();
/// ssmix::Decoder::new(&packed[..]).read_to_end(&mut out)?;
/// assert_eq!(out, b"abcabcabc");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Decoder<R: Read> {
    reader: R,
    state: State,
    memory_limit: Option<u64>,
    out: Vec<u8>,
    out_pos: usize,
    payload: Vec<u8>,
}

impl<R: Read> Decoder<R> {
    /// A decoder with no memory limit.
    pub fn new(reader: R) -> Self {
        Self::with_options(reader, &Options::default())
    }

    /// A decoder that honours [`Options::memory_limit`].
    pub fn with_options(reader: R, options: &Options) -> Self {
        Decoder {
            reader,
            state: State::Header { first: true },
            memory_limit: options.get_memory_limit(),
            out: Vec::new(),
            out_pos: 0,
            payload: Vec::new(),
        }
    }

    /// A reference to the inner reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// Returns the inner reader. Data already read from it but not yet decoded is lost.
    pub fn into_inner(self) -> R {
        self.reader
    }

    /// Decodes until `out` holds data or the stream ends.
    fn fill(&mut self) -> Result<()> {
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() {
            match &mut self.state {
                State::Done => return Ok(()),
                State::Header { first } => {
                    let first = *first;
                    match read_header(&mut self.reader, first)? {
                        None => self.state = State::Done,
                        Some(header) => {
                            check_limit(
                                frame_memory(header.block_size, &header.model),
                                self.memory_limit,
                            )?;
                            self.state = State::Blocks(Box::new(FrameState {
                                header,
                                crc: crc32fast::Hasher::new(),
                                produced: 0,
                            }));
                        }
                    }
                }
                State::Blocks(frame) => {
                    let kind = read_u8(&mut self.reader)?;
                    if kind == BLOCK_END {
                        finish_frame(&mut self.reader, frame)?;
                        self.state = State::Header { first: false };
                        continue;
                    }
                    read_block(
                        &mut self.reader,
                        kind,
                        frame,
                        &mut self.payload,
                        &mut self.out,
                    )?;
                    frame.crc.update(&self.out);
                    frame.produced += self.out.len() as u64;
                    if let Some(size) = frame.header.content_size
                        && frame.produced > size
                    {
                        return Err(corrupt("frame holds more data than its header says"));
                    }
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.out_pos == self.out.len() {
            self.fill()?;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

fn read_u8<R: Read>(r: &mut R) -> Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn read_varint<R: Read>(r: &mut R, max: u64, what: &'static str) -> Result<u64> {
    let mut buf = Vec::with_capacity(10);
    loop {
        let b = read_u8(r)?;
        buf.push(b);
        if b & 0x80 == 0 || buf.len() == 10 {
            break;
        }
    }
    format::ByteReader::new(&buf).varint_max(max, what)
}

/// Reads a frame header. At a frame boundary after the first frame, a clean end of
/// input returns `None`.
fn read_header<R: Read>(r: &mut R, first: bool) -> Result<Option<FrameHeader>> {
    let mut buf = Vec::with_capacity(MAX_HEADER_LEN);
    let mut byte = [0u8; 1];
    // The magic: a clean EOF before its first byte ends the stream.
    while buf.len() < MAGIC.len() {
        let n = loop {
            match r.read(&mut byte) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        };
        if n == 0 {
            // Mismatching bytes were rejected as they arrived, so a partial magic here
            // is a true prefix: the input was cut short.
            return if buf.is_empty() && !first {
                Ok(None)
            } else {
                Err(Error::Truncated)
            };
        }
        buf.push(byte[0]);
        if !MAGIC.starts_with(&buf) {
            return Err(if first {
                Error::BadMagic
            } else {
                corrupt("trailing data after the last frame")
            });
        }
    }
    loop {
        match FrameHeader::parse(&buf) {
            Ok((header, _)) => return Ok(Some(header)),
            Err(Error::Truncated) if buf.len() < MAX_HEADER_LEN => {
                buf.push(read_u8(r)?);
            }
            Err(Error::Truncated) => return Err(corrupt("frame header too long")),
            Err(e) => return Err(e),
        }
    }
}

fn read_block<R: Read>(
    r: &mut R,
    kind: u8,
    frame: &FrameState,
    payload: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let block_size = frame.header.block_size as u64;
    let raw_len = read_varint(r, block_size, "block longer than the frame's block size")?;
    if raw_len == 0 {
        return Err(corrupt("empty block"));
    }
    let payload_len = read_varint(r, raw_len, "block payload longer than its content")?;
    match kind {
        BLOCK_STORED => {
            if payload_len != raw_len {
                return Err(corrupt("stored block with mismatched lengths"));
            }
            read_payload(r, payload_len, out)
        }
        BLOCK_MODELED => {
            read_payload(r, payload_len, payload)?;
            block::read_modeled(payload, raw_len as usize, &frame.header.model, out)
        }
        _ => Err(corrupt("unknown block type")),
    }
}

/// Reads exactly `len` bytes into `buf` (replacing its contents), growing it only as
/// data actually arrives, so a lying length cannot force a large allocation.
fn read_payload<R: Read>(r: &mut R, len: u64, buf: &mut Vec<u8>) -> Result<()> {
    buf.clear();
    let got = r.by_ref().take(len).read_to_end(buf)?;
    if got as u64 != len {
        return Err(Error::Truncated);
    }
    Ok(())
}

fn finish_frame<R: Read>(r: &mut R, frame: &FrameState) -> Result<()> {
    if let Some(size) = frame.header.content_size
        && frame.produced != size
    {
        return Err(corrupt("frame holds less data than its header says"));
    }
    if frame.header.has_checksum() {
        let mut b = [0u8; 4];
        r.read_exact(&mut b)?;
        let expected = u32::from_le_bytes(b);
        let actual = frame.crc.clone().finalize();
        if expected != actual {
            return Err(Error::ChecksumMismatch { expected, actual });
        }
    }
    Ok(())
}

/// What [`list`] reports about one frame, read from headers without decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FrameInfo {
    /// Bytes of content the frame decodes to.
    pub content_size: u64,
    /// Bytes the frame takes, header and trailer included.
    pub compressed_size: u64,
    /// Number of blocks.
    pub blocks: u64,
    /// Blocks stored uncompressed (incompressible data).
    pub stored_blocks: u64,
    /// The frame's block size.
    pub block_size: u64,
    /// The level the frame was written with.
    pub level: u8,
    /// Whether a content checksum is present.
    pub checksum: bool,
    /// The format version.
    pub format_version: u8,
    /// Memory a decoder needs for this frame, in bytes.
    pub memory_needed: u64,
}

/// Lists the frames of a compressed stream by reading their headers and skipping
/// their payloads; nothing is decoded and checksums are not verified.
///
/// ```
/// let packed = ssmix::compress(&[7u8; 5000], &ssmix::Options::default())?;
/// let frames = ssmix::list(&packed[..])?;
/// assert_eq!(frames.len(), 1);
/// assert_eq!(frames[0].content_size, 5000);
/// # Ok::<(), ssmix::Error>(())
/// ```
pub fn list<R: Read>(reader: R) -> Result<Vec<FrameInfo>> {
    let mut r = CountingReader {
        inner: reader,
        count: 0,
    };
    let mut frames = Vec::new();
    loop {
        let start = r.count;
        let Some(header) = read_header(&mut r, frames.is_empty())? else {
            return Ok(frames);
        };
        let mut info = FrameInfo {
            content_size: 0,
            compressed_size: 0,
            blocks: 0,
            stored_blocks: 0,
            block_size: header.block_size as u64,
            level: header.level,
            checksum: header.has_checksum(),
            format_version: format::FORMAT_VERSION,
            memory_needed: frame_memory(header.block_size, &header.model),
        };
        loop {
            let kind = read_u8(&mut r)?;
            if kind == BLOCK_END {
                break;
            }
            if kind != BLOCK_STORED && kind != BLOCK_MODELED {
                return Err(corrupt("unknown block type"));
            }
            let raw = read_varint(&mut r, header.block_size as u64, "block too long")?;
            let len = read_varint(&mut r, raw, "block payload longer than its content")?;
            let skipped = io::copy(&mut (&mut r).take(len), &mut io::sink())?;
            if skipped != len {
                return Err(Error::Truncated);
            }
            info.blocks += 1;
            info.stored_blocks += u64::from(kind == BLOCK_STORED);
            info.content_size += raw;
        }
        if header.has_checksum() {
            let mut b = [0u8; 4];
            r.read_exact(&mut b)?;
        }
        info.compressed_size = r.count - start;
        frames.push(info);
    }
}

struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}
