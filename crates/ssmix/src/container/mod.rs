//! Frames and blocks: the streaming [`Encoder`] and [`Decoder`] (format: `docs/FORMAT.md`).

pub(crate) mod block;
pub(crate) mod format;

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::mpsc;

use format::{
    BLOCK_END, BLOCK_MODELED, BLOCK_STORED, FLAG_CHECKSUM, FLAG_CONTENT_SIZE, FrameHeader, MAGIC,
    MAX_HEADER_LEN,
};

use crate::error::{Error, Result, corrupt};
use crate::model::{self, ModelConfig};
use crate::options::Options;

/// Working memory one encoder thread needs for a frame: the input block and a spare
/// one (filled while the others are coded), plus the larger of
/// - the tokenizer: training or splitting the block (`tokenizer::work_memory`);
/// - coding: the 16-bit tokens (2 bytes per input byte at most), the coded payload (at
///   most a block and its slack: coding stops once it is as long as the block, which is
///   then stored) and the model.
pub(crate) fn encode_memory(block_size: usize, model: &ModelConfig) -> u64 {
    let block = block_size as u64;
    let model = model::memory_estimate(model, block_size);
    let tokenize = crate::tokenizer::work_memory(block_size);
    let code = 2 * block + block + block::PAYLOAD_SLACK as u64 + model;
    2 * block + tokenize.max(code)
}

/// Working memory one decoder thread needs for a frame: the compressed block (at most
/// a block: a longer payload is stored instead) and the decompressed one, the
/// vocabulary reader and the model. Tokens are turned into bytes as they are decoded,
/// so the decoder keeps no token list and never trains a tokenizer.
pub(crate) fn decode_memory(block_size: usize, model: &ModelConfig) -> u64 {
    let block = block_size as u64;
    2 * block + crate::tokenizer::READ_MEMORY + model::memory_estimate(model, block_size)
}

/// The number of threads (at most `wanted`, at least 1) whose blocks fit in `limit`
/// together, each needing `per_thread` bytes; an error if not even one fits. Fewer
/// threads never change the output, only the speed.
fn threads_within(wanted: usize, per_thread: u64, limit: Option<u64>) -> Result<usize> {
    let wanted = wanted.max(1);
    match limit {
        None => Ok(wanted),
        Some(limit) if per_thread > limit => Err(Error::MemoryLimit {
            needed: per_thread,
            limit,
        }),
        Some(limit) => Ok(wanted.min((limit / per_thread.max(1)).max(1) as usize)),
    }
}

/// The worker threads of one encoder or frame: a rayon pool of exactly the allowed
/// number of threads, built once. A private pool (not rayon's global one) means a
/// caller that itself runs on a rayon pool can never deadlock waiting for its blocks.
fn block_pool(threads: usize) -> Result<Option<rayon::ThreadPool>> {
    if threads <= 1 {
        return Ok(None);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("ssmix-block-{i}"))
        .build()
        .map(Some)
        .map_err(|e| Error::Io(std::io::Error::other(e)))
}

/// A block being coded on a worker; its result (or the worker's panic) arrives here.
#[derive(Debug)]
struct BlockJob(mpsc::Receiver<std::thread::Result<Result<Vec<u8>>>>);

/// Hands block work to the pool. A panic is caught on the worker and resumed by
/// [`join_block`], as if the block had been coded on the calling thread.
fn spawn_block<F>(pool: &rayon::ThreadPool, work: F) -> BlockJob
where
    F: FnOnce() -> Result<Vec<u8>> + Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    pool.spawn(move || {
        // The receiver is gone only if the encoder or decoder was dropped meanwhile.
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)));
    });
    BlockJob(rx)
}

/// Waits for a block.
fn join_block(job: BlockJob) -> Result<Vec<u8>> {
    match job.0.recv() {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => Err(Error::Io(std::io::Error::other("a block worker stopped"))),
    }
}

/// A streaming compressor: bytes written to it come out compressed in the inner writer.
///
/// Input is cut into blocks of [`Options::block_size`] bytes, each compressed on its
/// own. With [`Options::threads`] `= N`, up to N blocks are compressed at once on
/// worker threads while the next one fills, and blocks are written in input order, so
/// memory stays bounded by the block size and thread count (never by the input length)
/// and the output never depends on N. Call [`Encoder::finish`] at the end: dropping an
/// encoder without finishing leaves a truncated frame, which decoders reject.
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
    /// The block being filled; never longer than the block size.
    pending: Vec<u8>,
    crc: crc32fast::Hasher,
    consumed: u64,
    /// Threads asked for; the memory limit may allow fewer (decided at the header,
    /// when the block size is final).
    wanted_threads: usize,
    memory_limit: Option<u64>,
    threads: usize,
    /// Blocks being compressed, oldest first; at most `threads` of them.
    jobs: VecDeque<BlockJob>,
    /// The workers, with more than one thread (built with the header).
    pool: Option<rayon::ThreadPool>,
}

impl<W: Write> Encoder<W> {
    /// An encoder with default [`Options`].
    pub fn new(writer: W) -> Result<Self> {
        Self::with_options(writer, &Options::default())
    }

    /// An encoder with the given options.
    ///
    /// With [`Options::memory_limit`], the encoder uses as many of the requested threads
    /// as fit in the limit (each needs [`Options::memory_per_thread`], or less when the
    /// content size is known); if not even one fits, the first write or
    /// [`Encoder::finish`] fails with [`Error::MemoryLimit`] saying how much is needed.
    pub fn with_options(writer: W, options: &Options) -> Result<Self> {
        let config = model::config_for(options.get_level(), options.get_preset());
        Self::with_model(writer, options, config)
    }

    /// An encoder with the given options and an explicit model configuration (for
    /// experiments through `internals`).
    pub(crate) fn with_model(writer: W, options: &Options, config: ModelConfig) -> Result<Self> {
        let flags = if options.get_checksum() {
            FLAG_CHECKSUM
        } else {
            0
        };
        Ok(Encoder {
            writer,
            header: FrameHeader {
                version: format::FORMAT_VERSION,
                flags,
                block_size: options.get_block_size(),
                content_size: None,
                level: options.get_level().get(),
                model: config,
            },
            header_written: false,
            finished: false,
            pending: Vec::new(),
            crc: crc32fast::Hasher::new(),
            consumed: 0,
            wanted_threads: options.effective_threads(),
            memory_limit: options.get_memory_limit(),
            threads: 1,
            jobs: VecDeque::new(),
            pool: None,
        })
    }

    /// Records the total input size in the frame header. Must be called before the
    /// first write; [`Encoder::finish`] fails if a different amount was written.
    ///
    /// Knowing the size lets small inputs declare (and need) less decoder memory, and
    /// splits the content into blocks of equal length (`n = ⌈size / block size⌉` blocks
    /// of `⌈size / n⌉` bytes) instead of full blocks and a short tail: a short last
    /// block compresses worse and, with several threads, leaves the others idle.
    pub fn set_content_size(&mut self, size: u64) -> Result<()> {
        if self.header_written || self.consumed > 0 {
            return Err(Error::InvalidOption(
                "content size set after writing started".into(),
            ));
        }
        self.header.content_size = Some(size);
        self.header.flags |= FLAG_CONTENT_SIZE;
        self.header.block_size = balanced_block_size(size, self.header.block_size);
        self.header.model = self.header.model.for_content_size(size);
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

    /// Writes the header before the first block (or the end), once the block size is
    /// final, and decides how many threads the memory limit allows.
    fn write_header(&mut self) -> Result<()> {
        if !self.header_written {
            let per_thread = encode_memory(self.header.block_size, &self.header.model);
            self.threads = threads_within(self.wanted_threads, per_thread, self.memory_limit)?;
            self.pool = block_pool(self.threads)?;
            let mut buf = Vec::with_capacity(MAX_HEADER_LEN);
            self.header.write(&mut buf);
            self.writer.write_all(&buf)?;
            self.header_written = true;
        }
        Ok(())
    }

    /// Compresses the pending block: on this thread with one thread, else on a worker
    /// once fewer than `threads` blocks are in flight (writing finished ones meanwhile).
    fn submit_block(&mut self) -> Result<()> {
        self.write_header()?;
        if self.pending.is_empty() {
            return Ok(());
        }
        if self.pool.is_none() {
            let mut out = Vec::new();
            block::write_block(&self.pending, &self.header.model, &mut out)?;
            self.pending.clear();
            self.writer.write_all(&out)?;
            return Ok(());
        }
        while self.jobs.len() >= self.threads {
            self.write_oldest()?;
        }
        let data = std::mem::take(&mut self.pending);
        let config = self.header.model.clone();
        if let Some(pool) = &self.pool {
            self.jobs.push_back(spawn_block(pool, move || {
                let mut out = Vec::new();
                block::write_block(&data, &config, &mut out)?;
                Ok(out)
            }));
        }
        Ok(())
    }

    /// Waits for the oldest block in flight and writes it.
    fn write_oldest(&mut self) -> Result<()> {
        if let Some(job) = self.jobs.pop_front() {
            let out = join_block(job)?;
            self.writer.write_all(&out)?;
        }
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
        self.submit_block()?;
        while !self.jobs.is_empty() {
            self.write_oldest()?;
        }
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

/// The block length for content of `size` bytes cut into blocks of at most
/// `block_size`: the same number of blocks, of equal length (the last may be shorter by
/// less than one byte per block). Depends only on the size and the option, never on the
/// thread count.
fn balanced_block_size(size: u64, block_size: usize) -> usize {
    let size = size.max(1);
    let blocks = size.div_ceil(block_size as u64);
    size.div_ceil(blocks).min(block_size as u64) as usize
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
        let bs = self.header.block_size;
        let mut rest = buf;
        while !rest.is_empty() {
            let (now, later) = rest.split_at(rest.len().min(bs - self.pending.len()));
            self.pending.extend_from_slice(now);
            rest = later;
            if self.pending.len() == bs {
                self.submit_block()?;
            }
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
    /// An error was returned; the position in the input is unknown, so decoding stops.
    Failed,
}

#[derive(Debug)]
struct FrameState {
    header: FrameHeader,
    crc: crc32fast::Hasher,
    produced: u64,
    /// Blocks decoded at once: the requested threads, fewer if the memory limit says so.
    threads: usize,
    /// The workers, with more than one thread.
    pool: Option<rayon::ThreadPool>,
    /// False once the end block (or a read error) is queued: nothing more is read from
    /// this frame.
    reading: bool,
}

/// A block (or the frame's end) read from the input, in input order.
#[derive(Debug)]
enum Slot {
    /// Decoded content (or the error reading or decoding it).
    Ready(Result<Vec<u8>>),
    /// Being decoded on a worker thread.
    Running(BlockJob),
    /// The end block, with the stored checksum if the frame has one.
    End(Option<u32>),
}

/// A streaming decompressor: reading from it yields the decompressed content.
///
/// Memory is bounded by the frame's block size, its model and the thread count, not by
/// the input length. With [`Options::threads`] `= N`, up to N blocks are read ahead
/// and decoded at once on worker threads (fewer if [`Options::memory_limit`] allows
/// fewer); the content comes out in order and is the same for every N. Errors are
/// reported at the point in the content where they occur, as with one thread.
/// Concatenated frames decode to the concatenation of their contents. Wrap unbuffered
/// readers (files, sockets) in a [`std::io::BufReader`].
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
    threads: usize,
    /// Blocks read ahead, oldest first; at most the frame's thread count.
    slots: VecDeque<Slot>,
    out: Vec<u8>,
    out_pos: usize,
    payload: Vec<u8>,
}

impl<R: Read> Decoder<R> {
    /// A decoder with no memory limit, on the calling thread.
    pub fn new(reader: R) -> Self {
        Self::with_options(reader, &Options::default())
    }

    /// A decoder that honours [`Options::memory_limit`] and [`Options::threads`].
    ///
    /// A frame whose per-thread memory need ([`FrameInfo::memory_needed`]) exceeds the
    /// limit is refused with [`Error::MemoryLimit`] before anything is allocated for
    /// it; otherwise as many threads as fit in the limit are used.
    pub fn with_options(reader: R, options: &Options) -> Self {
        Decoder {
            reader,
            state: State::Header { first: true },
            memory_limit: options.get_memory_limit(),
            threads: options.effective_threads(),
            slots: VecDeque::new(),
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

    /// Decodes until `out` holds data or the stream ends. After an error, every later
    /// call fails too.
    fn fill(&mut self) -> Result<()> {
        self.out_pos = 0;
        let result = self.fill_inner();
        if result.is_err() {
            self.state = State::Failed;
            self.slots.clear();
            self.out.clear();
        }
        result
    }

    fn fill_inner(&mut self) -> Result<()> {
        self.out.clear();
        while self.out.is_empty() {
            match &mut self.state {
                State::Done => return Ok(()),
                State::Failed => {
                    return Err(Error::Io(io::Error::other(
                        "the decoder stopped at an earlier error",
                    )));
                }
                State::Header { first } => {
                    let first = *first;
                    match read_header(&mut self.reader, first)? {
                        None => self.state = State::Done,
                        Some(header) => {
                            let per_thread = decode_memory(header.block_size, &header.model);
                            let threads =
                                threads_within(self.threads, per_thread, self.memory_limit)?;
                            self.state = State::Blocks(Box::new(FrameState {
                                header,
                                crc: crc32fast::Hasher::new(),
                                produced: 0,
                                threads,
                                pool: block_pool(threads)?,
                                reading: true,
                            }));
                        }
                    }
                }
                State::Blocks(frame) => {
                    let spare = std::mem::take(&mut self.out);
                    read_ahead(
                        &mut self.reader,
                        frame,
                        &mut self.slots,
                        &mut self.payload,
                        spare,
                    );
                    match self.slots.pop_front() {
                        Some(Slot::End(stored)) => {
                            finish_frame(frame, stored)?;
                            self.state = State::Header { first: false };
                        }
                        Some(Slot::Ready(result)) => self.out = result?,
                        Some(Slot::Running(job)) => self.out = join_block(job)?,
                        None => return Err(corrupt("frame ended without an end block")),
                    }
                    if let State::Blocks(frame) = &mut self.state {
                        frame.crc.update(&self.out);
                        frame.produced += self.out.len() as u64;
                        if let Some(size) = frame.header.content_size
                            && frame.produced > size
                        {
                            return Err(corrupt("frame holds more data than its header says"));
                        }
                        // Keep every worker busy while the caller consumes this block.
                        if frame.threads > 1 {
                            read_ahead(
                                &mut self.reader,
                                frame,
                                &mut self.slots,
                                &mut self.payload,
                                Vec::new(),
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Reads blocks until `frame.threads` are queued or the frame's end is reached. With one
/// thread the block is decoded here, into `spare`; with more, modeled blocks go to
/// worker threads. A read error is queued in place of the block, so the blocks before
/// it are still delivered first, exactly as with one thread.
fn read_ahead<R: Read>(
    r: &mut R,
    frame: &mut FrameState,
    slots: &mut VecDeque<Slot>,
    payload: &mut Vec<u8>,
    mut spare: Vec<u8>,
) {
    while frame.reading && slots.len() < frame.threads {
        let slot = match read_block(r, frame, payload, &mut spare) {
            Ok(slot) => slot,
            Err(e) => Slot::Ready(Err(e)),
        };
        frame.reading = matches!(slot, Slot::Ready(Ok(_)) | Slot::Running(_));
        slots.push_back(slot);
        spare = Vec::new();
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
                corrupt("trailing garbage after the last frame (bytes that do not start a frame)")
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

/// Reads the next block of `frame` (or its end and checksum). Modeled blocks are decoded
/// into `out` with one thread, else handed to a worker thread.
fn read_block<R: Read>(
    r: &mut R,
    frame: &FrameState,
    payload: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<Slot> {
    let kind = read_u8(r)?;
    if kind == BLOCK_END {
        let stored = if frame.header.has_checksum() {
            let mut b = [0u8; 4];
            r.read_exact(&mut b)?;
            Some(u32::from_le_bytes(b))
        } else {
            None
        };
        return Ok(Slot::End(stored));
    }
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
            read_payload(r, payload_len, out)?;
            Ok(Slot::Ready(Ok(std::mem::take(out))))
        }
        BLOCK_MODELED => match &frame.pool {
            None => {
                read_payload(r, payload_len, payload)?;
                out.clear();
                block::read_modeled(
                    payload,
                    raw_len as usize,
                    &frame.header.model,
                    frame.header.version,
                    out,
                )?;
                Ok(Slot::Ready(Ok(std::mem::take(out))))
            }
            Some(pool) => {
                let mut payload = Vec::new();
                read_payload(r, payload_len, &mut payload)?;
                let config = frame.header.model.clone();
                let version = frame.header.version;
                Ok(Slot::Running(spawn_block(pool, move || {
                    let mut out = Vec::new();
                    block::read_modeled(&payload, raw_len as usize, &config, version, &mut out)?;
                    Ok(out)
                })))
            }
        },
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

/// Checks the end of a frame whose blocks have all been delivered.
fn finish_frame(frame: &FrameState, stored: Option<u32>) -> Result<()> {
    if let Some(size) = frame.header.content_size
        && frame.produced != size
    {
        return Err(corrupt("frame holds less data than its header says"));
    }
    if let Some(expected) = stored {
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
    /// Memory a decoder needs for this frame per thread, in bytes (two block buffers,
    /// the vocabulary and the model; FORMAT.md §2). Decoding with N threads needs up to
    /// N times this.
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
            format_version: header.version,
            memory_needed: decode_memory(header.block_size, &header.model),
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
