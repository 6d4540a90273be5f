//! Storing a vocabulary: sorted front coding through the range coder.
//!
//! Only the token strings are stored (the decoder never encodes), and because ids
//! `256..` are in lexicographic order, each string is coded relative to the one before
//! it: how many bytes to drop from the end of the previous string, how many new bytes
//! follow, and the new bytes. All three go through adaptive binary models:
//!
//! * `drop` (0..=len(prev)) and the new length are 6-bit binary trees, with the previous
//!   length (resp. the kept prefix length) as context;
//! * bytes are 8-bit binary trees with the previous byte as context; the first new byte
//!   must be larger than the byte it replaces (sorted order), so the bits that bound
//!   forces are not coded at all.
//!
//! Layout: varint `n` (multi-byte tokens), and if `n > 0`: varint body length, body.
//! Coding a vocabulary of distinct sorted strings this way skips the `log2(n!)` bits a
//! rank-ordered merge list would spend on the order of the merges.

use super::{MAX_TOKEN_LEN, MAX_VOCAB, Token, Vocab};
use crate::coder::{EntropyCoder, RangeDecoder, RangeEncoder};
use crate::error::{Error, Result, corrupt};

/// Bit models adapt with rate `1 / (n + 1.5)` after `n` observations, down to
/// `1 / (LIMIT + 1.5)`: fast at first (most contexts see few bits), stable later.
const LIMIT: usize = 30;
/// `65536 / (n + 1.5)`.
const RECIP: [i32; LIMIT + 1] = {
    let mut t = [0; LIMIT + 1];
    let mut n = 0;
    while n <= LIMIT {
        t[n] = 131072 / (2 * n as i32 + 3);
        n += 1;
    }
    t
};

/// An adaptive binary model: P(1) in units of 2^-16 and how often it was used.
#[derive(Clone, Copy)]
struct Bit {
    p: u16,
    n: u8,
}

const NEW: Bit = Bit { p: 1 << 15, n: 0 };
const LEN_BITS: u32 = 6;
const LEN_CTX: usize = 16;
const BYTE_CTX: usize = 257;

struct Model {
    drop: Vec<Bit>,
    len: Vec<Bit>,
    first: Vec<Bit>,
    rest: Vec<Bit>,
}

#[inline]
fn bit<C: EntropyCoder>(c: &mut C, m: &mut Bit, b: bool) -> Result<bool> {
    let b = c.code_bit(b, u32::from(m.p))?;
    let p = i32::from(m.p);
    let target = if b { 65535 } else { 0 };
    let p = p + (((target - p) * RECIP[usize::from(m.n)]) >> 16);
    m.p = p.clamp(32, 65504) as u16;
    if usize::from(m.n) < LIMIT {
        m.n += 1;
    }
    Ok(b)
}

/// Codes `value` (`nbits` wide) in the binary tree `probs[1..1 << nbits]`.
fn tree<C: EntropyCoder>(c: &mut C, probs: &mut [Bit], nbits: u32, value: u32) -> Result<u32> {
    let mut node = 1usize;
    for k in (0..nbits).rev() {
        let b = bit(c, &mut probs[node], (value >> k) & 1 == 1)?;
        node = 2 * node + usize::from(b);
    }
    Ok(node as u32 - (1 << nbits))
}

/// Codes a byte `value >= lo` in the tree `probs[1..256]`, leaving out forced bits.
fn byte_at_least<C: EntropyCoder>(c: &mut C, probs: &mut [Bit], lo: u8, value: u8) -> Result<u8> {
    let mut node = 1usize;
    let mut tight = true;
    for k in (0..8).rev() {
        let lb = (lo >> k) & 1 == 1;
        let b = if tight && lb {
            true
        } else {
            bit(c, &mut probs[node], (value >> k) & 1 == 1)?
        };
        tight &= b == lb;
        node = 2 * node + usize::from(b);
    }
    Ok((node - 256) as u8)
}

impl Model {
    fn new() -> Self {
        Model {
            drop: vec![NEW; LEN_CTX << LEN_BITS],
            len: vec![NEW; LEN_CTX << LEN_BITS],
            first: vec![NEW; BYTE_CTX * 256],
            rest: vec![NEW; BYTE_CTX * 256],
        }
    }

    /// Codes one token given the previous one. The encoder passes the token in `cur`;
    /// the decoder passes an empty `cur` and gets the token back in it.
    fn code<C: EntropyCoder>(&mut self, c: &mut C, prev: &[u8], cur: &mut Vec<u8>) -> Result<()> {
        let want = std::mem::take(cur);
        let keep_enc = prev.iter().zip(&want).take_while(|(a, b)| a == b).count();
        let lctx = prev.len().min(LEN_CTX - 1) << LEN_BITS;
        let drop = if prev.is_empty() {
            0
        } else {
            tree(
                c,
                &mut self.drop[lctx..lctx + (1 << LEN_BITS)],
                LEN_BITS,
                (prev.len() - keep_enc) as u32,
            )? as usize
        };
        if drop > prev.len() {
            return Err(corrupt("vocabulary: prefix longer than previous token"));
        }
        let keep = prev.len() - drop;
        // A new token has at least 2 bytes and at least one byte after the kept prefix.
        let min_new = if keep == 0 { 2 } else { 1 };
        let pctx = keep.min(LEN_CTX - 1) << LEN_BITS;
        let extra = want.len().saturating_sub(keep + min_new) as u32;
        let extra = tree(
            c,
            &mut self.len[pctx..pctx + (1 << LEN_BITS)],
            LEN_BITS,
            extra,
        )?;
        let total = keep + min_new + extra as usize;
        if total > MAX_TOKEN_LEN {
            return Err(corrupt("vocabulary: token too long"));
        }
        cur.extend_from_slice(&prev[..keep]);
        let mut ctx = if keep == 0 {
            256
        } else {
            usize::from(prev[keep - 1])
        };
        // Sorted order: the first new byte exceeds the byte it replaces.
        let lo = match prev.get(keep) {
            None => 0,
            Some(255) => return Err(corrupt("vocabulary: tokens out of order")),
            Some(&b) => b + 1,
        };
        let v = want.get(keep).copied().unwrap_or(0);
        let b = byte_at_least(c, &mut self.first[ctx * 256..(ctx + 1) * 256], lo, v)?;
        cur.push(b);
        ctx = usize::from(b);
        for i in keep + 1..total {
            let v = u32::from(want.get(i).copied().unwrap_or(0));
            let b = tree(c, &mut self.rest[ctx * 256..(ctx + 1) * 256], 8, v)? as u8;
            cur.push(b);
            ctx = usize::from(b);
        }
        Ok(())
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint from `input[*pos..]`, at most `max`.
fn get_varint(input: &[u8], pos: &mut usize, max: u64) -> Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let &byte = input.get(*pos).ok_or(Error::Truncated)?;
        *pos += 1;
        v |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return if v <= max {
                Ok(v)
            } else {
                Err(corrupt("vocabulary: size out of range"))
            };
        }
    }
    Err(corrupt("vocabulary: overlong varint"))
}

impl Vocab {
    /// Appends the serialised vocabulary to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let n = self.len() - 256;
        put_varint(out, n as u64);
        if n == 0 {
            return;
        }
        let mut enc = RangeEncoder::new();
        let mut m = Model::new();
        let mut cur = Vec::with_capacity(MAX_TOKEN_LEN);
        for t in 256..self.len() as Token {
            cur.clear();
            cur.extend_from_slice(self.token_bytes(t));
            let prev = if t == 256 {
                &[][..]
            } else {
                self.token_bytes(t - 1)
            };
            m.code(&mut enc, prev, &mut cur)
                .expect("encoding cannot fail");
            debug_assert_eq!(cur, self.token_bytes(t));
        }
        let body = enc.finish();
        put_varint(out, body.len() as u64);
        out.extend_from_slice(&body);
    }

    /// Reads a vocabulary written by [`Vocab::write`]; returns it and the bytes used.
    pub fn read(input: &[u8]) -> Result<(Vocab, usize)> {
        let mut pos = 0;
        let n = get_varint(input, &mut pos, (MAX_VOCAB - 256) as u64)? as usize;
        let mut v = Vocab::bytes_only();
        if n == 0 {
            return Ok((v, pos));
        }
        v.merges = None;
        let body_len = get_varint(input, &mut pos, u64::MAX)?;
        let rest = input.len() - pos;
        if body_len > rest as u64 {
            return Err(Error::Truncated);
        }
        let body = &input[pos..pos + body_len as usize];
        let mut dec = RangeDecoder::new(body);
        let mut m = Model::new();
        let mut prev = Vec::with_capacity(MAX_TOKEN_LEN);
        let mut cur = Vec::with_capacity(MAX_TOKEN_LEN);
        for _ in 0..n {
            cur.clear();
            m.code(&mut dec, &prev, &mut cur)?;
            if dec.overran() {
                return Err(corrupt("vocabulary: coded data runs past its end"));
            }
            v.push(&cur);
            std::mem::swap(&mut prev, &mut cur);
        }
        Ok((v, pos + body_len as usize))
    }
}
