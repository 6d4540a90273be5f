//! One block: learn a vocabulary, tokenize, model and code the tokens (FORMAT.md §4).

use super::format::{BLOCK_MODELED, BLOCK_STORED, ByteReader, put_varint};
use crate::coder::{RangeDecoder, RangeEncoder};
use crate::error::{Result, corrupt};
use crate::model::{self, ModelConfig, TokenModel};
use crate::tokenizer::{Token, Vocab};

/// Compresses `data` (one block, non-empty) and appends the block to `out`. Falls back to
/// a stored block when modelling does not make it smaller.
pub(crate) fn write_block(data: &[u8], config: &ModelConfig, out: &mut Vec<u8>) -> Result<()> {
    debug_assert!(!data.is_empty());
    match model_block_within(data, config, data.len())? {
        Some(payload) if payload.len() < data.len() => {
            out.push(BLOCK_MODELED);
            put_varint(out, data.len() as u64);
            put_varint(out, payload.len() as u64);
            out.extend_from_slice(&payload);
        }
        _ => {
            out.push(BLOCK_STORED);
            put_varint(out, data.len() as u64);
            put_varint(out, data.len() as u64);
            out.extend_from_slice(data);
        }
    }
    Ok(())
}

/// The payload of a modeled block: vocabulary and coded tokens (FORMAT.md §4).
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
pub(crate) fn model_block(data: &[u8], config: &ModelConfig) -> Result<Vec<u8>> {
    Ok(model_block_within(data, config, usize::MAX)?.unwrap_or_default())
}

/// Tokens coded between two checks of the payload's length against its limit.
const CHECK_EVERY: usize = 1024;
/// Room in the payload buffer beyond the limit: what `CHECK_EVERY` tokens can add past
/// it (at most ~24 bytes per token: 16 binary decisions of >= 1/4096), so the buffer
/// is allocated once.
pub(super) const PAYLOAD_SLACK: usize = 64 << 10;

/// [`model_block`], or `None` once the payload reaches `limit` bytes: it only grows, so
/// the block would be stored anyway (the output is the same, sooner and with a payload
/// buffer of at most one block).
fn model_block_within(data: &[u8], config: &ModelConfig, limit: usize) -> Result<Option<Vec<u8>>> {
    let vocab = config.train_vocab(data);
    // 16-bit ids: the token stream is the largest buffer of a block on incompressible
    // input (one token per byte).
    let mut tokens = vocab.encode_u16(data);
    tokens.shrink_to_fit();
    let mut payload = Vec::with_capacity(data.len().min(limit) + PAYLOAD_SLACK);
    vocab.write(&mut payload);
    let mut enc = RangeEncoder::with_output(payload);
    let done = match AnyModel::new(config, &vocab, data.len())? {
        AnyModel::Baseline(mut m) => encode_tokens(&mut *m, &mut enc, &tokens, limit)?,
        AnyModel::Paper(mut m) => encode_tokens(&mut *m, &mut enc, &tokens, limit)?,
        AnyModel::Mix(mut m) => encode_tokens(&mut *m, &mut enc, &tokens, limit)?,
    };
    Ok(done.then(|| enc.finish()))
}

/// Decodes the payload of a modeled block of a frame of format `version` into `out`,
/// which must end up `raw_len` longer. Before version 5 the payload holds the token count;
/// from version 5 tokens are decoded until the block's `raw_len` bytes are out (every
/// token is at least one byte, so at most `raw_len` tokens).
pub(crate) fn read_modeled(
    payload: &[u8],
    raw_len: usize,
    config: &ModelConfig,
    version: u8,
    out: &mut Vec<u8>,
) -> Result<()> {
    let (vocab, used) = Vocab::read(payload)?;
    let mut r = ByteReader::new(&payload[used..]);
    let n_tokens = if version < 5 {
        Some(r.varint_max(raw_len as u64, "more tokens than bytes in block")?)
    } else {
        None
    };
    let mut dec = RangeDecoder::new(r.rest());
    let end = out.len() + raw_len;
    match AnyModel::new(config, &vocab, raw_len)? {
        AnyModel::Baseline(mut m) => decode_tokens(&mut *m, &mut dec, &vocab, n_tokens, end, out)?,
        AnyModel::Paper(mut m) => decode_tokens(&mut *m, &mut dec, &vocab, n_tokens, end, out)?,
        AnyModel::Mix(mut m) => decode_tokens(&mut *m, &mut dec, &vocab, n_tokens, end, out)?,
    }
    if dec.overran() {
        return Err(corrupt("coded tokens run past the end of the block"));
    }
    if out.len() != end {
        return Err(corrupt("block decodes to fewer bytes than declared"));
    }
    Ok(())
}

/// The models a frame can name. Matched once per block, so the per-token loops below
/// are monomorphic.
// One value per block: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum AnyModel {
    Baseline(Box<model::baseline::BaselineModel>),
    Paper(Box<model::paper::PaperModel>),
    Mix(Box<model::mix::MixModel>),
}

impl AnyModel {
    fn new(config: &ModelConfig, vocab: &Vocab, raw_len: usize) -> Result<Self> {
        Ok(match config.kind {
            model::ModelKind::Baseline => AnyModel::Baseline(Box::new(
                model::baseline::BaselineModel::new(&config.params, vocab)?,
            )),
            model::ModelKind::Paper => AnyModel::Paper(Box::new(model::paper::PaperModel::new(
                &config.params,
                vocab,
            )?)),
            model::ModelKind::Mix => AnyModel::Mix(Box::new(model::mix::MixModel::new(
                &config.params,
                vocab,
                raw_len,
            )?)),
        })
    }
}

/// Codes `tokens`; false (and stops) once the output has reached `limit` bytes.
fn encode_tokens<M: TokenModel>(
    m: &mut M,
    enc: &mut RangeEncoder,
    tokens: &[u16],
    limit: usize,
) -> Result<bool> {
    for part in tokens.chunks(CHECK_EVERY) {
        for &t in part {
            m.code(enc, Token::from(t))?;
        }
        if enc.len() >= limit {
            return Ok(false);
        }
    }
    Ok(true)
}

fn decode_tokens<M: TokenModel>(
    m: &mut M,
    dec: &mut RangeDecoder<'_>,
    vocab: &Vocab,
    n_tokens: Option<u64>,
    end: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    let mut left = n_tokens;
    loop {
        match &mut left {
            Some(0) => break,
            Some(n) => *n -= 1,
            None if out.len() >= end => break,
            None => {}
        }
        let t = m.code(dec, 0)?;
        let bytes = vocab.token_bytes(t);
        // An empty token would never bring the block to its end.
        if bytes.is_empty() || out.len() + bytes.len() > end {
            return Err(corrupt("block decodes to more bytes than declared"));
        }
        out.extend_from_slice(bytes);
        if dec.overran() {
            return Err(corrupt("coded tokens run past the end of the block"));
        }
    }
    Ok(())
}
