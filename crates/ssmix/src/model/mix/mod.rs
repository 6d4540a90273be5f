//! The mixing model: each token is coded as a path of binary decisions, and every
//! decision is predicted by several models whose predictions are mixed, in the style of
//! lpaq/paq.
//!
//! * **Tree.** A token is coded as the `nbits = ceil(log2 V)` bits of its rank in byte
//!   order, most significant first (a balanced binary tree over the sorted tokens, so it
//!   works like a trie over bytes; ranks past `V - 1` are never reachable, so a decision
//!   whose 1-branch holds only such ranks is not coded).
//! * **Context models.** For each context of the `orders` mask (the last `k` tokens,
//!   the last `k` bytes, the current word, word bigrams and trigram, two sparse token
//!   contexts, an indirect context, and text structure: the line start, the classes of
//!   the last bytes, the markup state of MediaWiki / XML text, the sentence's first word),
//!   a hashed table of 16-byte buckets holds bit-history states: every 4 decisions a
//!   bucket is looked up for (context, tree node) and its 15 slots hold the states of the
//!   next 4 levels of the subtree. A state maps to a probability through an adaptive
//!   counter per context.
//! * **Run model**: per context, the token that last followed it and how often in a row;
//!   while the path agrees, its bit is predicted with a counter per (count, bit).
//! * **Order 0**: an adaptive counter per tree node.
//! * **Match model**: the last `match_min` tokens are hashed to the position after their
//!   last occurrence; while the following tokens keep agreeing, the token that followed
//!   is predicted, bit by bit, with a confidence learned per match length.
//! * **Mixers**: up to five logistic mixers whose weight sets are selected by different
//!   small contexts (tree node and match state; contexts seen, or the position in the
//!   word and the second-last byte; last byte; previous token; active runs or the text
//!   shape), with `FLAG_MIX2` two more (markup summary or word position, by tree node)
//!   and with `FLAG_SEL` a third (number and bracket state, by tree node), combined by a
//!   final mixer (two, averaged, with `FLAG_MIX2`), then three APM stages (tree node;
//!   previous token; previous two tokens), averaged; with `FLAG_SSE`, four more APMs refine that average
//!   and a small mixer learns to combine them all.
//!
//! The format is specified in `docs/FORMAT.md` §7.6–7.14.
//!
//! All arithmetic is integer (the logistic table is built once from `detmath::exp`).

#[cfg(feature = "internals")]
pub(crate) mod bench;
mod hw;
mod ssm_input;
mod tables;
mod text;

use super::TokenModel;
use crate::coder::EntropyCoder;
use crate::error::{Result, corrupt};
use crate::model::ssm::{SIDE_CODES, SIDE_NONE};
use crate::tokenizer::{Digits, MAX_VOCAB, Token, Vocab};
use ssm_input::{SsmInput, SsmList};
use tables::{Apm, Counter, Logistic, Mixer, PBITS, States};
use text::{DistText, MarkupState, MoreText, TopicText};

/// The most context orders a model may use: the 31 `orders` kinds and `FLAG_FIELD`'s and
/// `FLAG_MORE_CTX`'s contexts could make 42 (`FLAG_TOPIC`'s take the places of two of
/// `FLAG_MORE_CTX`'s); levels 7–9 use 32 (22 before `FLAG_MORE_CTX`, `FLAG_FIELD`'s
/// included), which is the cap (more buy little and cost time per decision).
pub(crate) const MAX_ORDERS: usize = 22 + N_MORE;
/// Context kinds beyond the token and byte orders (bit numbers of `orders`).
const KIND_WORD: u32 = 17;
const KIND_BIGRAM: u32 = 18;
const KIND_SPARSE: u32 = 19;
const KIND_SPARSE2: u32 = 20;
const KIND_WORD3: u32 = 21;
/// The two tokens that followed the previous token the last times it occurred (an
/// indirect context), and the previous token.
const KIND_INDIRECT: u32 = 22;
/// Line structure: the column (capped at 8), the line's first byte and the last byte.
const KIND_COLUMN: u32 = 23;
/// The classes (letter, digit, space, other) of the last 8 bytes, and the last byte.
const KIND_SHAPE: u32 = 24;
/// The current word and the classes of the last 6 bytes.
const KIND_WORD_SHAPE: u32 = 25;
/// The current word and the word before the previous one (a skipping bigram).
const KIND_WORD_SKIP: u32 = 26;
/// The previous word and the last byte.
const KIND_PREV_WORD: u32 = 27;
/// The markup state (`text::MarkupState::code`: brackets, tags, emphasis, the line's
/// first byte), the classes of the last 4 bytes and the last byte (enwik8_1M: level 5
/// 215,733 → 212,935 bytes, level 8 214,068 → 211,453).
const KIND_MARKUP: u32 = 28;
/// The markup state, the last byte and the current word (level 8 with `KIND_MARKUP`:
/// 211,453 → 210,929 bytes; level 5 212,935 → 212,584, which its speed budget does not
/// allow).
const KIND_MARKUP_WORD: u32 = 29;
/// The markup state and the last two bytes (level 8 with the kinds 28, 29 and
/// `FLAG_MARKUP_MIXER`'s APM contexts: 210,328 → 210,182 bytes).
const KIND_MARKUP2: u32 = 30;
/// The first word of the current sentence and the current word (level 8 with the
/// kinds 28–30: 210,182 → 209,995 bytes).
const KIND_SENTENCE: u32 = 31;
/// The highest context kind.
const MAX_KIND: u32 = 31;
/// `FLAG_FIELD`'s context (not an `orders` bit): the markup field name
/// (`text::MarkupState::field`), the markup summary, the last byte and the current word.
const KIND_FIELD: u32 = 32;
/// `FLAG_MORE_CTX`'s contexts (not `orders` bits), after `KIND_FIELD`, in this order
/// (`text::MoreText` keeps their state). Gains: enwik8_1M level 8, each alone on top of
/// the 23 contexts (208,161 bytes) or as stated. Bytes 2–3 (the last byte skipped):
/// −46 with the kinds 34–40.
const KIND_SPARSE_BYTES: u32 = 33;
/// The innermost three open brackets and the nesting depth, with the current word: −173.
const KIND_NEST_WORD: u32 = 34;
/// The digits so far of the current number, with the previous word: −241.
const KIND_NUM_WORD: u32 = 35;
/// The last 3 bytes and the markup summary: −54.
const KIND_MARKUP_BYTES3: u32 = 36;
/// The current number's digits, the byte before it and the markup summary: −472 on top
/// of the kinds 34–36 and 40 and the byte above with the last byte (207,629 bytes).
const KIND_NUM_MARKUP: u32 = 37;
/// The open brackets (as in `KIND_NEST_WORD`) and the last two bytes: −69 with the same.
const KIND_NEST_BYTES: u32 = 38;
/// The markup field name and summary, the current number's length and first two
/// digits: −347 with the kinds 33–38 and 40 (207,060 bytes).
const KIND_FIELD_NUM: u32 = 39;
/// The byte above (the same column of the previous line) and the one after it, the
/// column (capped at `COLUMN_CAP`) and the last byte: −100. (The byte above and the last
/// byte alone: −49, and +24 with the others.)
const KIND_ABOVE: u32 = 40;
/// The previous number's digits and the current number's: −29 with the others.
const KIND_NUM_PREV: u32 = 41;
/// Bytes 3–4: −32 with the others.
const KIND_SPARSE_BYTES2: u32 = 42;
/// The number of `FLAG_MORE_CTX` contexts (kinds 33..33 + N_MORE).
const N_MORE: usize = 10;
/// `FLAG_TOPIC`'s contexts (not `orders` bits), after `FLAG_MORE_CTX`'s (`text::TopicText`
/// keeps their state). The topic (the last heading, or the page title before the
/// page's first heading) with the current word. Gains: enwik8_1M level 8, on top of the
/// format-6 contexts (204,869 bytes): −368 alone; the last heading alone −334, with the
/// last 2 bytes instead of the word −162.
const KIND_TOPIC: u32 = 43;
/// The page title with the current word: −218 alone, −130 with `KIND_TOPIC`.
const KIND_TITLE: u32 = 44;
/// `FLAG_DIST`'s context (not an `orders` bit), last: the bytes since the last markup
/// byte (capped at 31) and that byte, the class of the bytes since the last punctuation
/// (`text::DistText`), and the last byte.
const KIND_DIST: u32 = 45;
/// The number of `FLAG_TOPIC` contexts (kinds 43..43 + N_TOPIC; they take the places of
/// `FLAG_MORE_CTX`'s `KIND_MARKUP_BYTES3` and `KIND_NEST_BYTES`).
const N_TOPIC: usize = 2;
/// Columns are counted up to this in the `KIND_COLUMN` context (enwik8_1M level 5, with a
/// development switch: a cap of 4 1.7478 bpb, 8 1.7474, 16 1.7478, 64 1.7494).
const COLUMN_CAP: u32 = 8;
/// Token orders are numbers of tokens, 1..=MAX_ORDER_LEN; byte orders numbers of
/// bytes, 1..=MAX_ORDER_LEN.
const MAX_ORDER_LEN: u32 = 8;
/// Inputs of the mixer: four per order (bit history, deterministic history, unseen
/// history, run), order 0, novelty, two for the match model (and `MATCH_EXTRA` more)
/// and a bias; `FLAG_DIRECT` adds one per order and the SSM input two (the mixers'
/// stride is the inputs in use).
const MAX_INPUTS: usize = 4 * MAX_ORDERS + 5 + MATCH_EXTRA;
/// Match inputs beyond the short finder's two: the long finder's two
/// (`FLAG_LONG_MATCH`) and the four of the match contexts (`FLAG_MATCH_CTX`).
const MATCH_EXTRA: usize = 6;
/// The encoder's vocabulary budget for this model (see `ModelConfig::vocab_budget`):
/// on enwik8_1M (level 5), 512 tokens code 1.850 bits per byte, 1024 1.859, 2048 1.887
/// and the default ~8K 1.958.
pub(crate) const VOCAB_BUDGET: usize = 512;
/// The encoder's vocabulary budget for a block of `len` bytes with the level's
/// parameter list `params`: merges pay for their stored bytes only on long inputs (a
/// bit-by-bit model learns short strings quickly), so small blocks get few of them
/// (level 5: testdata/runs.bin 605 → 241 bytes, image.bmp 3289 → 813, source.c 970 →
/// 836 against 512 tokens).
///
/// Models with byte contexts up to order 4 (levels 5–9) see across token boundaries
/// anyway, and below ~768 KB merges cost them more than they gain (a first merge also
/// makes every token one decision longer and shifts the byte ranks in the tree): they
/// get none below [`MERGE_START`] bytes, then a budget growing 4× faster up to the
/// general rule, which it meets at ~700 KB (so enwik8_1M and larger keep their
/// vocabulary). Level 5, no merges against the general rule: enwik8 prefixes of 64 KB
/// 17,491 → 17,208 bytes, 128 KB 31,482 → 31,036, 256 KB 57,895 → 57,611, 512 KB
/// 112,071 → 111,681 (level 8: 110,916 → 110,393), 768 KB 164,074 → 163,935, but 1 MB
/// 210,831 → 211,438 and enwik8_3M level 8 601,178 → 604,539; testdata/nginx_access.log
/// 3,082 → 2,991, syslog.log 3,746 → 3,679, image.png 15,346 → 15,030, image.bmp 687 →
/// 463, runs.bin 170 → 180. Levels 1–3 keep the general rule (enwik8 512 KB without
/// merges: level 1 121,376 → 126,188, level 3 116,363 → 117,982; level 4 115,981 →
/// 115,897).
pub(crate) fn vocab_budget(len: usize, params: &[u32]) -> usize {
    let budget = (256 + (len >> 12)).min(VOCAB_BUDGET);
    let byte_order_4 = MixParams::from_list(params).is_ok_and(|p| p.orders >> 12 & 1 == 1);
    if byte_order_4 {
        budget.min(256 + (len.saturating_sub(MERGE_START) >> 10))
    } else {
        budget
    }
}

/// How the encoder's tokenizer cuts digits for the mixing model, at every level (an
/// encoder choice: the vocabulary is stored in each block, so frames stay readable by
/// every decoder). Every digit its own chunk, so no merge holds a digit, against
/// digit runs with their leading space (as the PPM baseline and the StateSMix
/// reproduction keep): enwik8_1M level 1 230,337 → 230,280 bytes, level 2 224,278 →
/// 224,186, level 3 219,936 → 219,865, level 4 219,687 → 219,600, level 5 210,831 →
/// 210,734, level 8 205,141 → 205,012, level 9 204,708 → 204,570, enwik8_3M level 8
/// 591,882 → 591,108. Levels 5–9 learn no merges below 512 KB, so smaller files do not
/// change there; at levels 1 / 3 / 4 (`ssmix -L`) testdata/syslog.log 4,418 → 4,386 /
/// 3,993 → 3,955 / 3,930 → 3,887, nginx_access.log 3,563 → 3,569 / 3,290 → 3,288 /
/// 3,242 → 3,207, but data.csv 5,609 → 5,643 / 5,337 → 5,349 / 5,249 → 5,266 (other
/// files ±1). Left out: digit runs as chunks without the space before them (numbers
/// whole, never joined to other bytes): enwik8_1M level 1 / 5 / 8 230,339 / 210,838 /
/// 205,072.
pub(crate) const DIGITS: Digits = Digits::Single;

/// Below this many bytes, levels with byte contexts up to order 4 learn no merges (see
/// [`vocab_budget`]).
const MERGE_START: usize = 1 << 19;

/// Token ids have at most 16 bits.
const MAX_BITS: usize = 16;
/// Decisions per bucket lookup (a bucket holds the 15 nodes of a 4-level subtree).
const GROUP: usize = 4;
/// Longest match verified when a match is found.
const MAX_LEN: u32 = 15;
/// Match lengths are counted up to this.
const LEN_CAP: u32 = 65535;
/// Match length classes (1..=15 exact, then by powers of two).
const N_LEN: usize = 28;

/// The model's settings, stored in the frame header as an ordered list of integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MixParams {
    /// Bit `k` set (k in 1..=8): use the context of the last `k` tokens; bit `8 + k`
    /// set: the context of the last `k` bytes of text; bit 17: the current word (the
    /// letters since the last non-letter); bits 18..=31 the other `KIND_*` contexts. At
    /// most `MAX_ORDERS` bits.
    pub(crate) orders: u32,
    /// The hashed context table has 2^table_log buckets of 16 bytes.
    pub(crate) table_log: u32,
    /// The match model's hash table has 2^match_log entries; 0 disables the match model.
    pub(crate) match_log: u32,
    /// The match model remembers the last 2^hist_log tokens.
    pub(crate) hist_log: u32,
    /// Tokens hashed to find a match.
    pub(crate) match_min: u32,
    /// Mixer learning rate.
    pub(crate) lr: u32,
    /// Count limit of the adaptive counters (higher: slower, steadier).
    pub(crate) limit: u32,
    /// The second and third APM stages (and the four of `FLAG_SSE`) have 2^apm_log
    /// contexts each.
    pub(crate) apm_log: u32,
    /// Layer-1 mixers (weight-set selectors) in use, 1..=5 (1..=7 with `FLAG_MIX2`, 1..=8
    /// with `FLAG_SEL` too; `max_mixers`); with more than one, a final mixer combines them.
    pub(crate) mixers: u32,
    /// Optional parts: `FLAG_RUNS` (the run model), `FLAG_APM2`, `FLAG_APM3`,
    /// `FLAG_DET` (the deterministic-history inputs), and the variants of the other
    /// `FLAG_*` constants.
    pub(crate) flags: u32,
    /// The SSM input's settings (`SsmConfig::to_params`), stored after the 8 entries
    /// above; `None` (a list of 8) disables it. See `ssm_input.rs`.
    pub(crate) ssm: Option<SsmList>,
}

/// `flags` bit: the run model is in use.
const FLAG_RUNS: u32 = 1;
/// `flags` bit: the second APM stage is in use.
const FLAG_APM2: u32 = 2;
/// `flags` bit: the third APM stage is in use.
const FLAG_APM3: u32 = 4;
/// `flags` bit: per order, a second input that repeats the bit-history input when the
/// history has seen only one bit value (enwik8_1M level 5: 1.7818 → 1.7776 bpb).
const FLAG_DET: u32 = 8;
/// `flags` bit: an APM update moves both bins it interpolated between, each by its
/// interpolation weight (not only the nearer one), and the per-node APM adapts at 2^-5
/// instead of 2^-6 (enwik8_1M level 5: 1.7474 → 1.7457 bpb).
const FLAG_APM_INTERP: u32 = 16;
/// `flags` bit: the fifth first-layer mixer selects its weights by the classes of the
/// last 4 bytes (and the match state) instead of the number of active runs (enwik8_1M
/// level 5: 1.7420 → 1.7375 bpb).
const FLAG_SHAPE_MIXER: u32 = 32;
/// `flags` bit: context-map inputs in the style of paq8's ContextMap2 (enwik8_1M: level 5
/// 1.7375 → 1.7325 bpb, level 8 1.7335 → 1.7279):
/// * the run counters are also indexed by the depth class of the decision (the token's
///   first, second, 3rd–5th, later decisions) and by whether the order's bit history has
///   seen both bit values (level 5 alone: 217,193 → 216,920 bytes);
/// * the bit-history inputs are scaled by 3/4, which slows their weights' learning
///   relative to the other inputs (−139 bytes in the combination);
/// * a novelty input: an adaptive counter per (orders whose bit history is nonempty,
///   tree node), an order 0 that knows how new the context is (−222 bytes).
const FLAG_CTX_MAPS: u32 = 64;
/// `flags` bit: per order, an input that is 256 when the order's bit history at this
/// node is empty (the bit-history input is 0 then), so the mixer learns a separate weight
/// for "this context is new" (paq8's unknown-context indicator). One more input per
/// order (~+25% instructions at level 5; enwik8_1M level 5 with `FLAG_CTX_MAPS`
/// 216,561 → 216,326 bytes).
const FLAG_UNSEEN: u32 = 128;
/// `flags` bit: a stronger final stage. Four more hashed APMs with the tree node —
/// the match state (expected bit and length class), the last two bytes, the current
/// word, the classes of the last 8 bytes with the last byte — refine the average of the
/// first three (a chain); a final SSE mixer (weights by tree depth and match state)
/// combines the stretched mixer and APM outputs, and its output is averaged with the
/// plain average of them all. Every APM has 17 bins (2^8 apart), and the path stays
/// 16-bit: entries and the coded probability come within 4/65536 of 0 and 1.
/// enwik8_1M: level 5 217,193 → 216,140 bytes, level 8 216,683 → 215,577. It costs
/// ~35% more CPU time at level 5 (+15% instructions on 50 KB of enwik8), more than
/// level 5's speed budget, so level 5 leaves it out.
const FLAG_SSE: u32 = 256;
/// `flags` bit: every APM entry counts its updates and adapts at 1/(n + 1.5), from
/// n = 6 until n = 30 (instead of a fixed rate of 2^-4 … 2^-6), with 22-bit entries.
/// enwik8_1M: level 5 217,193 → 217,078 bytes, level 8 216,683 → 216,530; with FLAG_SSE
/// level 5 216,140 → 215,904, level 8 215,577 → 215,294, level 9 216,089 → 214,881.
const FLAG_APM_COUNTS: u32 = 512;
/// `flags` bit: text-structure weight-set selectors. The second first-layer mixer
/// selects by the position in the current word (its length, or the class of the last
/// byte outside words), the second-last byte's top 3 bits, the depth and the share of
/// contexts seen (4 classes), instead of contexts seen × depth; the third adds the share
/// of contexts seen to last byte × depth class, and the fourth the depth class to the
/// previous token (enwik8_1M level 5, with `FLAG_FINAL_MIX`: the second mixer
/// 217,193 → 216,555 bytes, the third and fourth 216,406).
const FLAG_TEXT_MIXERS: u32 = 1024;
/// `flags` bit: the final mixer selects its weights by tree place × match state (not
/// the place only) and learns at rate 1 instead of 2, and each APM stage weighs twice
/// the mixer's output in the final average (without `FLAG_SSE`, whose SSE mixer learns
/// the weights instead; enwik8_1M level 5: rate 1 217,193 → 217,138
/// bytes, the APM weights 217,115; with `FLAG_TEXT_MIXERS`: 216,533 → 216,358).
const FLAG_FINAL_MIX: u32 = 2048;
/// `flags` bit: the bit-history input of an order whose history at this decision is
/// empty (state 0) is the prediction of an adaptive prior, a counter per (order, whether
/// the previous order's history is nonempty, tree node) with count limit 1023, instead
/// of the order's state-0 counter (or 0 with `FLAG_UNSEEN`): a PPM-like estimate for a
/// new context. enwik8_1M: level 5 215,733 → 215,289 bytes, level 8 214,068 → 213,817;
/// enwik8_3M level 8 618,297 → 617,859 (one counter per (order, node): level 8 213,857,
/// 617,946). testdata/image.png at level 5 15,646 → 15,683 (+0.2%), source.c 744 → 734.
/// ~+7% instructions at level 5 (modelrt, callgrind, first 60 KB of enwik8).
const FLAG_NEW_PRIOR: u32 = 1 << 16;
/// The count limit of the `FLAG_NEW_PRIOR` counters (`limit` itself: 1 more byte per
/// 20 KB on enwik8_1M).
const PRIOR_LIMIT: u32 = 1023;
/// `flags` bit: direct slot probabilities (zpaq's CM next to the bit histories). Every
/// bucket has 8 u16 entries beside it (its slots 1..=7, the first three levels of its
/// subtree), a 12-bit probability and a 4-bit count, adapting at 1/(c + 1.5) with the
/// effective count `c = DIRECT_COUNT[count]`; each order gets its entry's stretched
/// probability as one more input (0 for an empty history or a slot past 7).
/// enwik8_3M level 8 with `FLAG_NEW_PRIOR`: 617,859 → 615,030 bytes with all 15 slots
/// (twice the table memory), 616,886 with slots 1..=7 and a table of 2^23 buckets (the
/// same memory as 2^24 without; 2^23 buckets without either flag: 618,297 → 619,592).
/// enwik8_1M with `FLAG_NEW_PRIOR`: level 8 213,817 → 213,291, level 7 (both flags
/// against neither) 214,226 → 213,424. One more input per order: level 9 is slower.
const FLAG_DIRECT: u32 = 1 << 17;
/// Direct entries per bucket (slot 0 is unused).
const DIRECT_SLOTS: usize = 8;
/// The effective count of a direct entry's count field: slower is better, as far as the
/// 12-bit probability allows (enwik8_1M level 8 with the priors: these 213,126 bytes,
/// half of them 213,213; with a simpler prior, the counts 0..=15 themselves 213,482 and
/// 0..=7 213,743).
const DIRECT_COUNT: [usize; 16] = [0, 2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 30, 38, 48, 60, 80];
/// `flags` bit (with the SSM input only): a tree-shaped head on the SSM, one logistic
/// unit per tree node on the SSM's final hidden vector, a bias and the decision's
/// order-0, SSM prefix-sum and match stretches, trained online per decision, as one more
/// mixer input (`ssm_input.rs`, `TreeHead`). enwik8_1M level 9 (modelrt): 213,224 →
/// 212,794 bytes at about the same speed. Measured and left out: the unit on the hidden
/// vector and order 0 only 213,080; it replacing the prefix-sum input 213,106; the SSM
/// body trained on the tree loss without the dense head (its rows then trained with the
/// body's Adam) 213,509 at width 32, 213,369 at 48, 213,491 at 64; both losses on the
/// body 213,407.
const FLAG_SSM_TREE: u32 = 4096;
/// `flags` bit: the markup state (`text::MarkupState`) in the mixing. With
/// `FLAG_TEXT_MIXERS`, the third first-layer mixer selects its weights by the markup
/// summary (`MarkupState::small`, 64 values), the last byte's high 4 bits and the depth
/// class, instead of last byte × depth class × contexts seen (enwik8_1M with
/// `KIND_MARKUP`: level 5 212,935 → 212,597 bytes, level 8 211,453 → 211,035); with
/// `FLAG_SSE`, the last three extra APMs hash the markup state into their contexts.
const FLAG_MARKUP_MIXER: u32 = 32768;
/// `flags` bit: match-context inputs in the style of paq8's match model context map.
/// Two contexts, (the expected token of the match, its length class) and (the expected
/// token, the previous token), each hashed with the 4-level subtree into a table of
/// 2^(match_log − 2) entries holding an adaptive counter and a bit-history state (mapped
/// by a counter per state), give four inputs. They learn how far the prediction holds
/// in this situation, and after a mismatch in the token, which token comes instead
/// (without a match, the expected token is "none": an order 0 and order 1 over nodes).
/// With `FLAG_SSE`, the match-state APM's context also holds the expected token.
/// enwik8_1M, measured with an entry hashed per node (the blocks cost ~130 bytes):
/// level 5 215,733 → 214,726 bytes (counters alone 214,872, with tables of 2^(match_log
/// − 1) entries 214,462), level 8 214,068 → 213,073 (counters alone 213,204, without the
/// APM context 213,102). Tried and left out: a third context (expected token, last two
/// tokens) +11 bytes, counter limits 60 / 1023 −20 / +5, exact lengths instead of
/// classes +139, the last two bytes instead of the previous token +68, the order-2
/// context's agreement with the expected bit as a context +4, no inputs without a match
/// +114 (level 5).
const FLAG_MATCH_CTX: u32 = 8192;
/// `flags` bit: a second, long match finder over the last `LONG_MIN` tokens with its
/// own table (2^match_log entries), verifying up to `LONG_VERIFY` tokens, so that a long
/// repeat is followed even where the short finder points elsewhere. Two more inputs
/// (its counter by length and expected bit, and a confidence by length); with
/// `FLAG_MATCH_CTX` its expected token, when it has one, is that of the match contexts.
/// enwik8_1M: level 5 215,733 → 215,620 bytes, with `FLAG_MATCH_CTX` 214,726 → 214,608;
/// level 8 with `FLAG_MATCH_CTX` 213,073 → 212,967 (entries hashed per node). Tried and
/// left out (development switches): following the match on after a single mismatch
/// (recovery, −15 bytes at level 8), the long finder's state in the mixer and APM
/// selectors (+13), the match input split in two by the expected bit (paq8px; −18 at
/// level 5, −3 at level 8), the match counters also by the order-2 context's agreement
/// (+41 at level 5).
const FLAG_LONG_MATCH: u32 = 16384;
/// `flags` bit (with the SSM input and the markup state only): the markup state as side
/// codes in the SSM's input. Each token's embedding gets three more learned rows added,
/// for the markup state after the token (`ssm_input::side_codes`): state the tokens show
/// only over long spans, which a 32-wide SSM does not learn to track by itself. See
/// `ssm_input::side_codes` for the measurements.
const FLAG_SSM_SIDE: u32 = 1 << 21;
/// `flags` bit: one context more, `KIND_FIELD` (the name of the template, link or tag
/// the text is in, or of the template argument being given), after the `orders` ones.
/// enwik8_1M level 8: 208,439 → 208,197 bytes on top of the 22 contexts; levels 7–9
/// take it instead of the word trigram (kind 21, whose removal alone gives 208,410, the
/// least loss of the kinds 19 and 21–27: 208,461 … 208,668): level 7 208,695 → 208,414,
/// level 8 → 208,164, level 9 207,921 → 207,644. Tried: the field and the word only
/// 208,281, with the full markup state 208,413, with the previous word too 208,436.
/// Non-wiki text loses a little (level 8: testdata/source.c 743 → 745 bytes,
/// nginx_access.log 3,057 → 3,059).
const FLAG_FIELD: u32 = 1 << 18;
/// `flags` bit: `N_MORE` contexts more (`KIND_SPARSE_BYTES` … `KIND_SPARSE_BYTES2`:
/// numbers, open brackets, the byte above, sparse bytes, with words and the markup
/// state), after the `orders` ones and `KIND_FIELD`; the layer-1 mixers then start from
/// smaller weights. enwik8_1M: level 7 208,411 → 206,719 bytes, level 8 208,161 →
/// 206,478, level 9 207,641 → 206,200 (+12% time); enwik8_3M level 8 601,178 → 596,009,
/// level 9 599,367 → 594,998. See the kinds for each one's share. Tried and left out
/// (level 8, alone): the markup state with the last 2 tokens (+48) or the markup summary
/// with the last 3 (+40), the position in the word with the previous word and the last
/// byte (+37), the word with the byte before it and the previous word (+62); with the
/// others: the word with the byte above (+3), the `|` count of the line with its first
/// byte and the last byte (+48), the word bigram with the markup summary (+46), the
/// number's length, first digits and lead byte with the previous word (+16), the number
/// with the field name (−9, not worth a context); without the column context (kind 23)
/// +11 to +16, without the previous word (kind 27) +106.
const FLAG_MORE_CTX: u32 = 1 << 19;

/// `flags` bit: a stronger mixing network. `mixers` may be up to 7 (`N_SETS_MIX2`): the
/// sixth layer-1 mixer selects its weights by the markup summary × the tree node, the
/// seventh by the position in the word × the tree node (the node itself: the other
/// selectors see only its depth past depth 7); with more than five mixers, a second
/// final mixer, selected like the third layer-1 mixer, is averaged with the first in the
/// logit domain. enwik8_1M level 8 (modelrt, SSMIX_NODECODE): 208,161 → 206,623 bytes
/// (the markup mixer alone 207,179, the word-position one alone 207,592, the second
/// final mixer alone 207,950; the three 206,580 with equal initial final weights). Tried
/// and left out, each as a sixth mixer: the order-2 bytes (12 bits) −104 bytes, the
/// markup code × depth −106, the word bucket × depth class −17, the field × depth class
/// +18, match length class × expected bit × depth +124, the previous token × depth +60,
/// last byte × node −254, the token order 2 × node +114, the field × node −771 (as an
/// eighth mixer on top of the two kept, −72); a new weight set started from the first
/// mixer's (+103), final-mixer rates of 1/2, 4→1 or 2→1/2 (±32), the second final
/// mixer by markup × depth (−167) or node (−135).
const FLAG_MIX2: u32 = 1 << 20;
/// `flags` bit (with `FLAG_MORE_CTX`): the number and bracket state of `MoreText` as a
/// weight-set selector (`MoreText::selector`, 64 values). With `FLAG_MIX2`, `mixers` may
/// be 8 (`N_SETS`): the eighth layer-1 mixer selects its weights by it × the tree node;
/// with `FLAG_SSE`, the SSE mixer's sets are also chosen by its top 3 bits. enwik8_1M
/// (modelrt, SSMIX_NODECODE): level 8 205,141 → 204,993 bytes (the eighth mixer alone
/// 205,013, the SSE sets by all 64 values alone 205,105, with the mixer 204,992), level 9
/// 204,708 → 204,574, level 7 205,348 → 205,203; enwik8_3M level 8 591,882 → 591,476;
/// +5% time at level 8. Small binary files lose a little (level 8: testdata/image.png
/// 14,211 → 14,236, structured.bin 3,990 → 4,000; with all 64 values in the SSE sets
/// 14,246 and 4,003; starting the eighth mixer's final weight at 0 too: 14,218 and 3,991,
/// but enwik8_1M +23, at half the others' +9). Tried and left out, on top of the kept:
/// the field name × node as a ninth mixer (+2; as the eighth alone −24), the byte above's
/// class × depth as a ninth (+4); in the selector, the numbers' first digit instead of the
/// byte before them (+11), outside numbers nothing (+85) or the byte above (+60); the
/// number state in an SSE APM's context (+0 to +11), the bracket state in one (+64); the
/// second final mixer by the number state × node (+182), the first final mixer × 4 number
/// classes (−6), APM2's context with the selector (+34), the eighth mixer by the selector
/// × `place` instead of the node (+23).
const FLAG_SEL: u32 = 1 << 22;
/// `flags` bit: a block of up to 2^b bytes gets a context table of up to 2^(b+3)
/// buckets instead of 2^(b+2) (`MixParams::for_block`; never more than `table_log`), so
/// blocks smaller than the level's table collide less. Every level sets it (version 7).
/// enwik8_1M (2^20 bytes) at level 8 of format 6 (`flags` 6287359 with this bit): 2^22
/// buckets 204,869 bytes, 2^23 204,452 (2^24 with `FLAG_ROOMIER` and `table_log` 24
/// 204,334; 2^25, through a development switch, 204,308). The first 60 KB of enwik8 at
/// levels 1 / 5 / 8: 17,961 → 17,950 / 16,474 → 16,432 / 16,331 → 16,231; 500 KB from
/// enwik8_3M at level 5 / 8: 109,411 → 109,344 / 106,847 → 106,689; testdata/image.png
/// 16,669 → 16,647 / 15,030 → 14,988 / 14,236 → 14,186, nginx_access.log ±1, source.c
/// −1 … −8. It costs memory only where the table was capped (a block below 2^(table_log
/// − 2) bytes): the level's bound (§7.6) does not change.
const FLAG_ROOMY: u32 = 1 << 23;
/// `flags` bit: with `FLAG_ROOMY`, the context table of a block of up to 2^b bytes has
/// up to 2^(b+4) buckets (never more than `table_log`). Level 9, with 2^24 buckets:
/// enwik8_1M 202,482 → 202,317 bytes (+2% time; peak memory 546 → 841 MB).
const FLAG_ROOMIER: u32 = 1 << 28;

/// `flags` bit (with the SSM input and `FLAG_SSM_SIDE`): eight more side codes for the
/// SSM, from what the context model knows after a token (`ssm_input::ModelCodes`: the
/// number/bracket selector, the byte above, the match's expected token and length
/// class, the word position, the token's last follower, the run model's prediction, the
/// byte classes), in 2,192 more rows of the SSM's side embedding. Like the markup
/// codes, state the SSM would not learn by itself. enwik8_1M level 9 (modelrt,
/// SSMIX_NODECODE): 204,446 → 203,883 bytes, with `FLAG_SSM_WEIGHT` 203,708; enwik8_3M
/// with both: 589,712 → 587,851; both cost +13% instructions at level 9 (callgrind,
/// first 100 KB) and +11% user time (`ssmix -9`, enwik8_1M: 32.4 → 36.0 s, loaded
/// machine). See `ssm_input::ModelCodes::codes` for each code's share.
const FLAG_SSM_SIDE2: u32 = 1 << 24;
/// `flags` bit (with the SSM input): the SSM's training loss weights each target token
/// by the whole model's error on it (`ssm_input::loss_weight`), so that the SSM learns
/// what the context model does not know (the mixer needs it least where the context
/// model is sure); the tree head's updates likewise by the model's error on each bit
/// (`ssm_input::tree_weight`). enwik8_1M level 9 (modelrt): the loss weights alone
/// 204,446 → 204,241 bytes, with `FLAG_SSM_SIDE2` 203,883 → 203,735 (with four of its
/// codes 203,989 → 203,832), and the tree head's weights 203,708; SSM rate 0.0025 /
/// 0.004 with both flags (without the tree head's weights) +4 / +80 bytes. Tried and left out (first 300
/// KB, level 9, 66,245 bytes without either flag): a final head per node on the SSM's
/// hidden vector and the final mixer's logit as an SSE-mixer input +5 bytes (replacing
/// the logit +123 at the slowest rate tried), the tree head with the order-1, -2 and -4
/// and first match-context stretches as features +6, the first layer-1 mixer's sets
/// also by the SSM's top probability (4 classes) −26 (enwik8_1M with both flags −13).
const FLAG_SSM_WEIGHT: u32 = 1 << 25;

/// `flags` bit: the context `KIND_DIST` in place of `FLAG_MORE_CTX`'s `KIND_NUM_PREV`.
/// Levels 7–9 (the same speed); enwik8_1M level 8 (modelrt, SSMIX_NODECODE) with
/// `FLAG_TOPIC`: 204,257 → 204,193 bytes. In a development build (with `FLAG_TOPIC`'s
/// contexts there: 204,402 bytes): 204,341 in place of kind 41, 204,340 in place of
/// kind 33 (but testdata/image.bmp 398 → 415 bytes), and with kinds 41 and 42 in place of
/// 36 and 38: 204,387 in place of kind 33, 204,355 as a 33rd context, 204,442 in place of
/// `KIND_ABOVE`; alone on the format-6 contexts, one more: 204,869 → 204,783.
const FLAG_DIST: u32 = 1 << 27;
/// `flags` bit: the `N_TOPIC` contexts `KIND_TOPIC` and `KIND_TITLE` (what the page and
/// the section are about, `text::TopicText`) in place of `FLAG_MORE_CTX`'s
/// `KIND_MARKUP_BYTES3` and `KIND_NEST_BYTES` (so levels 7–9 stay at 32 contexts, at the
/// same speed). enwik8_1M level 8 (modelrt, SSMIX_NODECODE): 204,869 → 204,257 bytes
/// (−0.30%). In place of kinds 41 and 42 instead: 204,296, but the binary files of
/// `testdata/` lose more without the sparse bytes (level 8 image.png 14,236 → 14,316,
/// image.bmp 392 → 416; in place of 36 and 38 14,216 and 398 in a development build);
/// as two more contexts (34) ~−60 more than in place of 41 and 42. Tried and left
/// out (each alone on top of the format-6 contexts, level 8, 204,869): the previous two words
/// stemmed (English suffixes cut) with the word (+5), the previous word stemmed with
/// the word (+13), the word that followed the previous word the last time (a
/// word-level indirect context) with the word (−4), the one after the previous two
/// words (+67), the distances since the last space and newline with the last byte
/// (−11), since the last markup byte and punctuation (+2 … −10), the line type (by its
/// first two bytes) and words in the line with the last byte (−17) or the word (+15),
/// the line's first word with the word (−116 alone, −17 with the topic), the last
/// heading with the previous word and the word (−3); on top of the topic: the topic
/// with the last 2 bytes (−54); on top of both contexts: the title with the last 2
/// bytes (+20), the topic with the last byte (−29), with the markup summary (+47) or
/// the line type (+18), the title with the previous word and the word (+26), the topic
/// with the previous word and the last byte (+51), the title and the last heading
/// together with the word (+51), the word's case with the previous word (+35).
const FLAG_TOPIC: u32 = 1 << 26;

/// All valid `flags` bits.
const FLAGS_ALL: u32 = FLAG_MORE_CTX
    | FLAG_ROOMY
    | FLAG_ROOMIER
    | FLAG_SSM_SIDE2
    | FLAG_SSM_WEIGHT
    | FLAG_TOPIC
    | FLAG_DIST
    | FLAG_SEL
    | FLAG_FIELD
    | FLAG_SSM_SIDE
    | FLAG_MIX2
    | FLAG_DIRECT
    | FLAG_NEW_PRIOR
    | FLAG_RUNS
    | FLAG_APM2
    | FLAG_APM3
    | FLAG_DET
    | FLAG_APM_INTERP
    | FLAG_SHAPE_MIXER
    | FLAG_CTX_MAPS
    | FLAG_UNSEEN
    | FLAG_SSE
    | FLAG_APM_COUNTS
    | FLAG_TEXT_MIXERS
    | FLAG_FINAL_MIX
    | FLAG_SSM_TREE
    | FLAG_MARKUP_MIXER
    | FLAG_MATCH_CTX
    | FLAG_LONG_MATCH;

const TABLE_LOG: std::ops::RangeInclusive<u32> = 8..=26;
const MATCH_LOG: std::ops::RangeInclusive<u32> = 8..=26;
const HIST_LOG: std::ops::RangeInclusive<u32> = 12..=28;
const APM_LOG: std::ops::RangeInclusive<u32> = 8..=24;

impl MixParams {
    /// The default settings for a level in `1..=9`.
    pub(crate) fn for_level(level: u8) -> Self {
        let l = usize::from(level.clamp(1, 9)) - 1;
        let level_is_9 = l == 8;
        // Bits 1..=8: token orders; 8 + k: the last k bytes; 17..=27: the current word,
        // the word bigram, the two sparse token contexts, the word trigram, the indirect,
        // column, shape, word-and-shape, skipping-bigram and previous-word contexts.
        // Level 5, enwik8_1M: adding the indirect, column and shape contexts to the
        // format-2 set 1.7680 → 1.7494 bpb; without token order 3 1.7493; the column
        // capped at 8 1.7474; then the interpolated APM updates 1.7457 and the
        // word-and-shape context 1.7418. More contexts at level 7 (token orders 5, 6)
        // gained nothing, so levels 7–9 add word contexts instead. Levels 1–4 use the
        // sparse token contexts, which binary data needs (testdata/image.png at level 1:
        // 17,323 bytes with byte order 1 and the word and shape contexts, 16,655 with
        // the sparse contexts instead of byte order 1; xz -9e 16,700).
        // Flags (bits): levels 2–9 take the context-map inputs (6; level 3: 1.7732 →
        // 1.7681 bpb) and the text-structure and final-mix selectors (10, 11); levels 5–9
        // the APM counts (9); levels 6–9 the extended final stage (8), which is too slow
        // for level 5's 250 KB/s; levels 7–9 the unseen-history inputs (7), one input
        // more per order (level 5 would drop to ~250 KB/s). Level 1 keeps its format-3
        // flags: bits 6 and 9 gain 0.6% there but bring it down to ~1.0 MB/s.
        // The markup contexts (bits 28–31, with flags bit 15), enwik8_1M: level 5 takes
        // bits 28 and 29 instead of the column context (bit 23), which gained least
        // there (215,733 → 212,146 bytes with bit 15; keeping the column 212,032 with one
        // context more); level 6 adds bits 28 and 29, levels 7–9 all four (level 8
        // 214,068 → 209,995, enwik8_3M 618,297 → 608,320 with bits 28, 29 and 15).
        // Levels 7–9 trade the word trigram (bit 21) for flags bit 18's field context.
        const fn ctx(tokens: u32, bytes: u32, other: u32) -> u32 {
            tokens << 1 | bytes << 9 | other << 17
        }
        let orders = [
            ctx(0b11, 0, 0b1000_1101),
            ctx(0b11, 0, 0b1000_1101),
            ctx(0b11, 0b11, 0b1100_0111),
            ctx(0b1011, 0b11, 0b1110_0111),
            ctx(0b1011, 0b1111, 0b1_1001_1011_0111),
            ctx(0b1011, 0b1111, 0b1_1001_1111_0111),
            ctx(0b1011, 0b10_1111, 0b111_1111_1110_0111),
            ctx(0b1011, 0b10_1111, 0b111_1111_1110_0111),
            ctx(0b1011, 0b10_1111, 0b111_1111_1110_0111),
        ][l];
        MixParams {
            orders,
            // With FLAG_DIRECT's entries (16 bytes per bucket), levels 8–9 halve the table
            // (the same memory; enwik8_3M level 8: 2^24 buckets without 618,297 bytes, 2^23
            // with 616,886) and level 7 keeps 2^23 buckets (+144 MiB; enwik8_3M level 7:
            // 620,382 → 617,507 bytes, with 2^22 buckets 620,429).
            // Level 9 takes 2^24 buckets, and with `FLAG_ROOMIER` a block of 1 MiB uses
            // them all (enwik8_1M 202,482 → 202,317 bytes, 546 → 841 MB peak, +2% time).
            table_log: [19, 19, 20, 20, 22, 22, 23, 23, 24][l],
            match_log: [18, 18, 19, 19, 20, 20, 20, 22, 22][l],
            hist_log: 22,
            match_min: 3,
            // Levels 7–9 were searched one setting at a time on the format-3 model
            // (modelrt, SSMIX_NODECODE, enwik8_1M at level 8, 216,683 bytes): mixer rate 5
            // −63 bytes, counter limit 40 −327 (with rate 4), APM stages of 2^20 contexts
            // −17; token orders 3, 5–8, byte orders 5, 7, 8 and the second sparse context
            // at most −11 each. With flags bits 6–11 those gains are gone (level 8 214,068
            // → 214,074 bytes, level 9 213,224 → 213,331 with rate 5 and limit 40), and
            // `FLAG_SSE`'s extra APMs make 2^20 contexts cost ~430 MiB, so the rate, the
            // limit and the APM sizes stay.
            // Level 9 (with the SSM input) learns its mixers at rate 5 with counter limit
            // 511 (version 7; enwik8_1M 204,034 → 203,952 bytes, enwik8_3M 589,712 →
            // 589,505; rate 5 alone 203,970, rate 4 203,984, limit 511 alone 204,016).
            lr: if level_is_9 { 5 } else { 6 },
            limit: if level_is_9 { 511 } else { 255 },
            apm_log: [16, 16, 16, 16, 16, 16, 16, 18, 18][l],
            mixers: [1, 2, 3, 3, 5, 5, 8, 8, 8][l],
            // Bits 10 and 11 (text mixers, final mix), enwik8_1M: level 2 227,066 →
            // 224,997 bytes (testdata/image.png 16,468 → 16,246), level 3 221,644 →
            // 220,441 bytes, level 5 217,193 → 216,358, level 8 216,683 → 215,818.
            // Bit 16 (new-context priors) at levels 5–9, bit 17 (direct entries) at 7–9, bit
            // 12 (the SSM's tree head) only where the SSM input is (level 9), bit 15 (markup
            // mixing) at 5–9, bits 13 and 14 (match contexts, long match finder) at 5–9
            // (enwik8_1M on their own: level 5 215,733 → 214,739 bytes, level 8 214,068 →
            // 213,077, level 9 213,224 → 212,366; enwik8_3M level 8 618,297 → 615,153);
            // bit 18 (the field context) and bit 19 (more contexts) at 7–9; bit 20 (two
            // more layer-1 mixers by tree node, a second final mixer) at 7–9 with `mixers`
            // 7 (enwik8_1M: level 7 208,411 → 206,837 bytes, level 8 208,161 → 206,623,
            // level 9 207,641 → 206,206; enwik8_3M level 8 601,178 → 596,291; +13% CPU at
            // level 8, +2% at level 9; testdata/image.png at level 8 14,986 → 15,074); bit
            // 21 (the markup state in the SSM's input) at 9; bit 22 (the number state as a
            // selector: an eighth layer-1 mixer, `mixers` 8, and the SSE mixer's sets) at 7–9;
            // bits 24 and 25 (the context model's side codes for the SSM, its loss weighted
            // by the model's error) at 9; bit 23 (a roomier table for small blocks) at every
            // level; bits 26 and 27 (the topic and title contexts, the distance context, in
            // place of three of bit 19's contexts) at 7–9 (enwik8_1M level 8 204,452 →
            // 203,683 bytes, level 9 203,952 → 203,208; enwik8_3M level 8 590,680 → 587,984;
            // the same speed); bit 28 (the table filled from 1 MiB blocks) at 9.
            flags: [
                17, 3167, 3167, 3167, 126591, 126847, 207613951, 207613951, 528482303,
            ][l] | FLAG_ROOMY,
            ssm: ssm_input::level_config(level.clamp(1, 9)),
        }
    }

    /// The list stored in the frame header.
    pub(crate) fn to_list(self) -> Vec<u32> {
        let mut v = vec![
            self.orders,
            self.table_log,
            self.match_log,
            self.hist_log,
            self.match_min,
            self.lr,
            self.limit,
            self.apm_log,
            self.mixers,
            self.flags,
        ];
        if let Some(s) = self.ssm {
            v.extend_from_slice(&s);
        }
        v
    }

    /// Parses and validates a list read from a frame header.
    pub(crate) fn from_list(list: &[u32]) -> Result<Self> {
        let (list, ssm) = match list.len() {
            N_BASE_PARAMS => (list, None),
            n if n == N_BASE_PARAMS + SSM_LEN => {
                let (base, rest) = list.split_at(N_BASE_PARAMS);
                let Ok(s) = SsmList::try_from(rest) else {
                    return Err(corrupt("mixing model needs 10 or 30 parameters"));
                };
                ssm_input::parse(&s)?;
                (base, Some(s))
            }
            _ => return Err(corrupt("mixing model needs 10 or 30 parameters")),
        };
        let &[
            orders,
            table_log,
            match_log,
            hist_log,
            match_min,
            lr,
            limit,
            apm_log,
            mixers,
            flags,
        ] = list
        else {
            return Err(corrupt("mixing model needs 10 or 30 parameters"));
        };
        let p = MixParams {
            orders,
            table_log,
            match_log,
            hist_log,
            match_min,
            lr,
            limit,
            apm_log,
            mixers,
            flags,
            ssm,
        };
        let ok = orders & !(((1 << MAX_KIND) - 1) << 1) == 0
            && p.n_orders() as usize <= MAX_ORDERS
            && TABLE_LOG.contains(&table_log)
            && (match_log == 0 || MATCH_LOG.contains(&match_log))
            && HIST_LOG.contains(&hist_log)
            && (1..=MAX_ORDER_LEN).contains(&match_min)
            && (1..=1024).contains(&lr)
            && (1..=1023).contains(&limit)
            && APM_LOG.contains(&apm_log)
            && (1..=p.max_mixers() as u32).contains(&mixers)
            && flags & !FLAGS_ALL == 0;
        if ok {
            Ok(p)
        } else {
            Err(corrupt("mixing model parameter out of range"))
        }
    }

    /// The settings a block of `raw_len` bytes actually uses: tables no larger than the
    /// block can fill, so small inputs touch little memory. Both sides know `raw_len`
    /// (the block header), so this is deterministic. Inputs of 1 MiB and more keep the
    /// level's sizes (a block of `2^b` bytes uses at most `2^(b+2)` buckets, `2^(b+3)`
    /// with `FLAG_ROOMY`).
    pub(crate) fn for_block(self, raw_len: usize) -> Self {
        let bits = usize::BITS - raw_len.max(1).saturating_sub(1).leading_zeros();
        let fit = |log: u32, want: u32, range: std::ops::RangeInclusive<u32>| {
            log.min(want.max(*range.start()))
        };
        let table_room =
            2 + u32::from(self.flags & FLAG_ROOMY != 0) + u32::from(self.flags & FLAG_ROOMIER != 0);
        MixParams {
            table_log: fit(self.table_log, bits + table_room, TABLE_LOG),
            match_log: if self.match_log == 0 {
                0
            } else {
                fit(self.match_log, bits + 1, MATCH_LOG)
            },
            hist_log: fit(self.hist_log, bits, HIST_LOG),
            apm_log: fit(self.apm_log, bits + 1, APM_LOG),
            ..self
        }
    }

    /// The weight sets of the final mixer.
    fn final_sets(self) -> usize {
        if self.flags & FLAG_FINAL_MIX != 0 {
            FINAL_SETS * 4
        } else {
            FINAL_SETS
        }
    }

    /// The weight sets of the five layer-1 mixers.
    fn layer1_sets(self) -> usize {
        self.set_counts().iter().sum()
    }

    /// The weight sets of each layer-1 mixer.
    fn set_counts(self) -> [usize; N_SETS] {
        let base = if self.flags & FLAG_TEXT_MIXERS != 0 {
            [SET0, SET1_TEXT, SET2_TEXT, SET3_TEXT, SET4]
        } else {
            [SET0, SET1, SET2, SET3, SET4]
        };
        let mut c = [0; N_SETS];
        c[..N_SETS_BASE].copy_from_slice(&base);
        if self.flags & FLAG_MIX2 != 0 {
            for (n, x) in c[N_SETS_BASE..]
                .iter_mut()
                .zip([SET5, SET6, SET7])
                .take((self.mixers as usize).saturating_sub(N_SETS_BASE))
            {
                *n = x;
            }
        }
        c
    }

    /// The weight sets of `FLAG_MIX2`'s second final mixer (selected like layer-1 mixer
    /// 2), none without it.
    fn final2_sets(self) -> usize {
        if self.flags & FLAG_MIX2 != 0 && self.mixers as usize > N_SETS_BASE {
            self.set_counts()[2]
        } else {
            0
        }
    }

    /// The weight sets of `FLAG_SSE`'s mixer (by depth and match state; with `FLAG_SEL`
    /// also by `MoreText::selector`'s top 3 bits).
    fn sse_sets(self) -> usize {
        if self.flags & FLAG_SEL != 0 {
            SSE_SETS * (NUM_SELS >> 3)
        } else {
            SSE_SETS
        }
    }

    /// The most layer-1 mixers these flags allow, which is also the final mixers' input
    /// count: `N_SETS_BASE`, with `FLAG_MIX2` `N_SETS_MIX2`, with `FLAG_SEL` too `N_SETS`.
    fn max_mixers(self) -> usize {
        if self.flags & FLAG_MIX2 != 0 && self.flags & FLAG_SEL != 0 {
            N_SETS
        } else if self.flags & FLAG_MIX2 != 0 {
            N_SETS_MIX2
        } else {
            N_SETS_BASE
        }
    }

    /// The number of contexts: the `orders` bits, `FLAG_FIELD`'s, `FLAG_MORE_CTX`'s and
    /// `FLAG_TOPIC`'s (which replace one of `FLAG_MORE_CTX`'s).
    fn n_orders(self) -> u32 {
        self.orders.count_ones()
            + u32::from(self.flags & FLAG_FIELD != 0)
            + if self.flags & FLAG_MORE_CTX != 0 {
                self.n_more() as u32
            } else {
                0
            }
            + if self.flags & FLAG_TOPIC != 0 {
                N_TOPIC as u32
            } else {
                0
            }
            + u32::from(self.flags & FLAG_DIST != 0)
    }

    /// Whether `FLAG_MORE_CTX`'s kind `k` is in use: not with `FLAG_TOPIC` if it is
    /// `KIND_MARKUP_BYTES3` or `KIND_NEST_BYTES`, nor with `FLAG_DIST` if it is
    /// `KIND_NUM_PREV` (their contexts take those places).
    fn more_kind(self, k: u32) -> bool {
        !(self.flags & FLAG_TOPIC != 0 && (k == KIND_MARKUP_BYTES3 || k == KIND_NEST_BYTES)
            || self.flags & FLAG_DIST != 0 && k == KIND_NUM_PREV)
    }

    /// The number of `FLAG_MORE_CTX` contexts in use (`more_kind`).
    fn n_more(self) -> usize {
        (KIND_SPARSE_BYTES..KIND_SPARSE_BYTES + N_MORE as u32)
            .filter(|&k| self.more_kind(k))
            .count()
    }

    /// Upper bound on the bytes a model with these settings allocates for a vocabulary
    /// of `vocab` tokens.
    pub(crate) fn memory(self, vocab: usize) -> u64 {
        let nodes = 1u64 << bits_for(vocab);
        let n_orders = u64::from(self.n_orders());
        // (64 bytes more to align the buckets to cache lines.)
        let table = (16u64 << self.table_log) + 64;
        let on = |f: u32, n: u64| if self.flags & f != 0 { n } else { 0 };
        let matcher = if self.match_log > 0 {
            (4u64 << self.match_log)
                + (2u64 << self.hist_log)
                + on(FLAG_LONG_MATCH, (4u64 << self.match_log) + 8 * N_LEN as u64)
                + on(
                    FLAG_MATCH_CTX,
                    (16u64 << (self.match_log - 2)) + 2 * 256 * 4,
                )
        } else {
            0
        };
        let runs = on(FLAG_RUNS, 4u64 << self.table_log);
        let direct = on(FLAG_DIRECT, (2 * DIRECT_SLOTS as u64) << self.table_log);
        let counters = (n_orders * 256
            + nodes
            + 2 * N_LEN as u64
            + (MAX_ORDERS * RUN_COUNTERS) as u64
            + on(FLAG_CTX_MAPS, (MAX_ORDERS as u64 + 1) * nodes)
            + on(FLAG_NEW_PRIOR, 2 * n_orders * nodes))
            * 4;
        // Inputs: MAX_INPUTS less the match inputs of flags not set, and one more per order
        // with FLAG_DIRECT.
        let n_in = (MAX_INPUTS - MATCH_EXTRA) as u64
            + on(FLAG_LONG_MATCH, 2)
            + on(FLAG_MATCH_CTX, 4)
            + on(FLAG_DIRECT, MAX_ORDERS as u64);
        let mixer = (n_in * self.layer1_sets() as u64
            + (self.max_mixers() * (self.final_sets() + self.final2_sets())) as u64)
            * 4
            + on(FLAG_SSE, ((N_APMX + 5) * self.sse_sets() * 4) as u64);
        // APM entries: 33 bins of 2 bytes per context, or 17 with FLAG_SSE (which adds
        // N_APMX hashed APMs), 4 bytes each with FLAG_APM_COUNTS.
        let (bins, entry) = (
            if self.flags & FLAG_SSE != 0 { 17 } else { 33 },
            if self.flags & FLAG_APM_COUNTS != 0 {
                4
            } else {
                2
            },
        );
        let apms = (nodes
            + on(FLAG_APM2, 1 << self.apm_log)
            + on(FLAG_APM3, 1 << self.apm_log)
            + on(FLAG_SSE, (N_APMX as u64) << self.apm_log))
            * bins
            * entry;
        // Logistic and state tables; the 4 KiB of the reciprocal table (now a static
        // `tables::RECIP`) stay in the bound, which FORMAT.md §7.6 states.
        let tables = 4096 * 2 * 2 + 256 * 6 + 1024 * 4 + vocab as u64 * 9;
        // Token tails and lengths, ranks and followers.
        let tables = tables + vocab as u64 * 12;
        let ssm = self.ssm.map_or(0, |s| {
            // Every layer-1 weight set has one more weight, two with the tree head.
            let parts = self.ssm_parts();
            let tree = parts.tree;
            ssm_input::memory(&s, parts)
                + (self.layer1_sets() * 4 * (1 + usize::from(tree))) as u64
                + SSM_INPUT_BYTES
        });
        table
            + runs
            + direct
            + matcher
            + counters
            + mixer
            + apms
            + tables
            + ssm
            + on(FLAG_MORE_CTX, std::mem::size_of::<MoreText>() as u64)
            + on(FLAG_TOPIC, std::mem::size_of::<TopicText>() as u64)
            + std::mem::size_of::<MixModel>() as u64
    }

    /// The SSM input's optional parts by `flags` (`FLAG_SSM_SIDE2` only with
    /// `FLAG_SSM_SIDE`).
    fn ssm_parts(&self) -> ssm_input::Parts {
        let side = self.flags & FLAG_SSM_SIDE != 0;
        ssm_input::Parts {
            tree: self.flags & FLAG_SSM_TREE != 0,
            side,
            side2: side && self.flags & FLAG_SSM_SIDE2 != 0,
            weight: self.flags & FLAG_SSM_WEIGHT != 0,
        }
    }
}

/// Content shorter than this is compressed without the SSM input (an encoder choice:
/// at level 9 the input's settings cost ~50 header bytes, more than it saves there).
pub(crate) const SSM_MIN_CONTENT: u64 = 32 << 10;

/// The `flags` bits that format version 6 added (19–22); version-5 standard lists never
/// set them.
const FLAGS_SINCE_V6: u32 = !((1 << 19) - 1);
/// The `flags` bits that format version 7 added (23 …); version-6 standard lists never
/// set them.
const FLAGS_SINCE_V7: u32 = !((1 << 23) - 1);
/// The most layer-1 mixers of a version-5 list (`FLAG_MIX2` allows more).
const MIXERS_V5: u32 = 5;

/// Turns a current standard list into the list of the same level in format `version`
/// (`container/format.rs: standard_params`): version 7 added `flags` bit 23 at every
/// level, bits 26 and 27 at levels 7–9, and at level 9 (the list with the SSM input)
/// bits 24, 25 and 28, a table of 2^24 buckets, mixer rate 5 and counter limit 511;
/// version 6 added bits 19–22 and, with bits 20 and 22, more mixers at levels 7–9; the
/// other settings are those of version 5.
pub(crate) fn to_version_list(version: u8, params: &[u32]) -> Vec<u32> {
    let (since, mixers_cap) = match version {
        ..=5 => (FLAGS_SINCE_V6, MIXERS_V5),
        6 => (FLAGS_SINCE_V7, u32::MAX),
        _ => return params.to_vec(),
    };
    let Ok(mut p) = MixParams::from_list(params) else {
        return params.to_vec();
    };
    if p.ssm.is_some() {
        p.table_log = 23;
        p.lr = 6;
        p.limit = 255;
    }
    p.flags &= !since;
    p.mixers = p.mixers.min(mixers_cap);
    p.to_list()
}

/// Content shorter than this is compressed at level 1 with level 2's settings (an
/// encoder choice): level 1 leaves out the context-map inputs, the APM counts and a
/// mixer to run at 1 MB/s, which matters on long inputs only. On the files of
/// `testdata/` under 32 KiB level 2's list is 1–6% smaller (golden/MANIFEST.tsv 1125 →
/// 1112 bytes, sample.txt 3434 → 3252, source.c 834 → 787) except all_bytes.bin (+10
/// bytes); between 32 and 64 KiB it would still gain 4–6% (nginx_access.log 3563 →
/// 3380) at 0.06 → 0.10 s, but those inputs keep level 1's speed.
pub(crate) const FAST_MIN_CONTENT: u64 = 32 << 10;

/// The settings an encoder uses for content of `size` bytes: `params`, except that
/// small content leaves out the SSM input (below `SSM_MIN_CONTENT`) and level 1's list
/// becomes level 2's (below `FAST_MIN_CONTENT`). Either way the header names a standard
/// list with one byte.
pub(crate) fn for_content_size(params: &[u32], size: u64) -> Vec<u32> {
    if size < FAST_MIN_CONTENT && params == MixParams::for_level(1).to_list() {
        return MixParams::for_level(2).to_list();
    }
    if size < SSM_MIN_CONTENT {
        // Level 9 without its SSM input is level 8 (a one-byte standard list in the
        // header; level 9's own mixer rate and counter limit are tuned with the SSM).
        if params == MixParams::for_level(9).to_list() {
            return MixParams::for_level(8).to_list();
        }
        return without_ssm(params);
    }
    params.to_vec()
}

/// `params` without the SSM input's settings and its tree head's flag (unchanged if it has neither).
pub(crate) fn without_ssm(params: &[u32]) -> Vec<u32> {
    let mut list = params[..params.len().min(N_BASE_PARAMS)].to_vec();
    // The tree head is part of the SSM input; clearing its bit changes nothing else and
    // keeps level 9's list equal to level 8's (a one-byte standard list in the header).
    if let Some(flags) = list.get_mut(N_BASE_PARAMS - 1) {
        *flags &= !(FLAG_SSM_TREE | FLAG_SSM_SIDE | FLAG_SSM_SIDE2 | FLAG_SSM_WEIGHT);
    }
    list
}

/// Bits of a token id for a vocabulary of `vocab` tokens (at least 1).
fn bits_for(vocab: usize) -> u32 {
    (usize::BITS - vocab.saturating_sub(1).leading_zeros()).max(1)
}

/// Entries of the list before the SSM input's settings.
const N_BASE_PARAMS: usize = 10;
/// Entries of the SSM input's settings list.
const SSM_LEN: usize = crate::model::ssm::N_PARAMS;
/// Size of the SSM input's own struct (it is boxed).
const SSM_INPUT_BYTES: u64 = std::mem::size_of::<SsmInput>() as u64;

/// One hashed match finder: the hash of the last `min` tokens → the position after
/// their last occurrence, and the match it follows.
struct Finder {
    table: Vec<u32>,
    table_shift: u32,
    min: usize,
    /// Longest match verified when a match is found.
    verify: usize,
    /// Position in the history of the predicted token, valid when `len > 0`.
    ptr: usize,
    len: u32,
}

impl Finder {
    /// A finder with 2^`log` entries, or none (`log` = 0).
    fn new(log: u32, min: usize, verify: usize) -> Self {
        Finder {
            table: vec![0; if log > 0 { 1 << log } else { 0 }],
            table_shift: 64 - log.max(1),
            min,
            verify,
            ptr: 0,
            len: 0,
        }
    }

    /// The table slot of the last `min` tokens before `pos` in the ring `hist` (index mask
    /// `m`), if the finder is on and has seen that many tokens; prefetched, for `update`.
    #[inline]
    fn slot(&self, hist: &[u16], m: usize, pos: usize) -> Option<usize> {
        if self.table.is_empty() || pos < self.min {
            return None;
        }
        let mut h = 0u64;
        for i in 1..=self.min {
            h = (h ^ u64::from(hist[(pos - i) & m]) ^ 0x100).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        let slot = (h >> self.table_shift) as usize;
        hw::prefetch(&self.table, slot);
        Some(slot)
    }

    /// Follows the match with `t`, the token just stored at `pos - 1` of the ring `hist`
    /// (index mask `m`), and looks for a new match if there is none (`slot`: see `slot`).
    #[inline]
    fn update(&mut self, hist: &[u16], m: usize, pos: usize, t: Token, slot: Option<usize>) {
        if self.table.is_empty() {
            return;
        }
        if self.len > 0 && u32::from(hist[self.ptr & m]) == t {
            self.len = (self.len + 1).min(LEN_CAP);
            self.ptr += 1;
        } else {
            self.len = 0;
        }
        let Some(slot) = slot else {
            return;
        };
        if self.len == 0 {
            let cand = self.table[slot] as usize;
            // A candidate whose context has been overwritten in the ring is useless.
            if cand > 0 && pos - cand + 2 * self.verify <= m {
                let mut l = 0;
                while l < self.verify
                    && l < cand
                    && hist[(cand - 1 - l) & m] == hist[(pos - 1 - l) & m]
                {
                    l += 1;
                }
                if l >= self.min {
                    self.len = l as u32;
                    self.ptr = cand;
                }
            }
        }
        self.table[slot] = pos as u32;
    }
}

/// What a finder predicts for the current token.
#[derive(Clone, Copy, Default)]
struct MatchIn {
    /// The expected token's rank, if the finder has a match.
    expected: Option<u32>,
    /// The length class (`N_LEN` classes).
    len_idx: usize,
    /// The match state of the selectors (0: none, 1..=3 by length).
    state: usize,
}

/// The match inputs of a token, prepared when the token before it is learned (so that
/// the first match-context blocks can be prefetched).
#[derive(Clone, Copy, Default)]
struct MatchPrep {
    /// What the short and the long finder predict.
    sm: MatchIn,
    lm: MatchIn,
    /// `FLAG_MATCH_CTX`: the match contexts' token-level hashes, and the expected token's
    /// part of the match-state APM context (`FLAG_SSE`).
    mctx: [u64; 2],
    mctx_e: u64,
}

/// The match model: the token history, the short finder (`match_min` tokens) and, with
/// `FLAG_LONG_MATCH`, a long one; with `FLAG_MATCH_CTX`, the match-context counters.
struct Matcher {
    hist: Vec<u16>,
    hist_mask: usize,
    /// Tokens seen.
    pos: usize,
    short: Finder,
    /// `FLAG_LONG_MATCH`: the last `LONG_MIN` tokens (no table without the flag).
    long: Finder,
    /// Counters by (length, expected bit), of the short and the long finder.
    counters: Vec<Counter>,
    long_counters: Vec<Counter>,
    /// `FLAG_MATCH_CTX`: two hashed tables of 2^(match_log − 2) entries each, for the
    /// contexts (expected token, length class) and (expected token, previous token),
    /// in blocks of 16 entries per (context, 4-level subtree) like the context table
    /// (fewer cache misses: enwik8_1M level 5 ~0.91× the speed of format 4 instead of
    /// ~0.85× with an entry hashed per node, for +131 bytes); an entry is an adaptive
    /// counter and a bit-history state, the states mapped to probabilities by one counter
    /// set per context.
    ctx: Vec<(Counter, u8)>,
    state_map: Vec<[Counter; 256]>,
    /// Shift of a hash to a block of the match-context tables (2^(match_log − 6) blocks).
    ctx_shift: u32,
    /// The finders' table slots for the last token (`push`), used by `update`.
    slots: [Option<usize>; 2],
}

/// Tokens hashed by the long finder (`FLAG_LONG_MATCH`; enwik8_1M level 8 with
/// `FLAG_MATCH_CTX`: 5 tokens 213,033 bytes, 6 212,972, 8 213,004, 12 213,024).
const LONG_MIN: usize = 6;
/// Longest match the long finder verifies.
const LONG_VERIFY: usize = 32;

impl Matcher {
    fn new(p: &MixParams, init: &[Counter; 256]) -> Self {
        let on = p.match_log > 0;
        let long = on && p.flags & FLAG_LONG_MATCH != 0;
        let ctx_log = if on && p.flags & FLAG_MATCH_CTX != 0 {
            p.match_log - 2
        } else {
            0
        };
        let ctx = if ctx_log > 0 { 2 << ctx_log } else { 0 };
        Matcher {
            hist: vec![0; if on { 1 << p.hist_log } else { 0 }],
            hist_mask: (1usize << p.hist_log) - 1,
            pos: 0,
            short: Finder::new(p.match_log, p.match_min as usize, MAX_LEN as usize),
            long: Finder::new(if long { p.match_log } else { 0 }, LONG_MIN, LONG_VERIFY),
            counters: vec![Counter::HALF; 2 * N_LEN],
            long_counters: vec![Counter::HALF; if long { 2 * N_LEN } else { 0 }],
            ctx: vec![(Counter::HALF, 0); ctx],
            state_map: vec![*init; if ctx > 0 { 2 } else { 0 }],
            ctx_shift: 68 - ctx_log.max(5),
            slots: [None; 2],
        }
    }

    /// Stores `t`, the token just coded, and prefetches the finders' table entries for
    /// it; `update` finishes (after the model's other work on the token, so that the
    /// entries arrive meanwhile).
    fn push(&mut self, t: Token) {
        if self.hist.is_empty() {
            return;
        }
        let m = self.hist_mask;
        self.hist[self.pos & m] = t as u16;
        self.pos += 1;
        self.slots = [
            self.short.slot(&self.hist, m, self.pos),
            self.long.slot(&self.hist, m, self.pos),
        ];
    }

    /// Learns `t`, the token `push`ed last, and looks for the next matches.
    fn update(&mut self, t: Token) {
        if self.hist.is_empty() {
            return;
        }
        let m = self.hist_mask;
        self.short.update(&self.hist, m, self.pos, t, self.slots[0]);
        self.long.update(&self.hist, m, self.pos, t, self.slots[1]);
    }

    /// What `f` predicts, with token ranks from `rank`.
    #[inline]
    fn input(&self, f: &Finder, rank: &[u32]) -> MatchIn {
        let len = f.len;
        MatchIn {
            expected: (len > 0).then(|| rank[usize::from(self.hist[f.ptr & self.hist_mask])]),
            len_idx: if len < 16 {
                len as usize
            } else {
                (12 + (31 - len.leading_zeros()) as usize).min(N_LEN - 1)
            },
            state: match len {
                0 => 0,
                1..=4 => 1,
                5..=15 => 2,
                _ => 3,
            },
        }
    }
}

/// The mixing model (see the module docs).
pub(crate) struct MixModel {
    p: MixParams,
    vocab: u32,
    nbits: u32,
    lg: Logistic,
    states: States,
    /// Context kinds in use (bit numbers of `orders`).
    orders: Vec<u32>,
    /// Per token: its last (up to) 8 bytes, and its length.
    tails: Vec<u64>,
    lens: Vec<u8>,
    /// The last 8 bytes of text, most recent in the low byte.
    text: u64,
    /// Hash of the letters of the current word (0 after a non-letter).
    word: u64,
    /// Hash of the previous word.
    prev_word: u64,
    /// Hash of the word before the previous word.
    word3: u64,
    /// Per token: the last two tokens that followed it (`KIND_INDIRECT`).
    followers: Vec<u32>,
    /// Bytes since the last newline (capped) and the line's first byte (`KIND_COLUMN`).
    column: u32,
    line_first: u8,
    /// The classes of the last 16 bytes, 2 bits each, the latest in the low bits.
    shape: u32,
    /// Letters since the last non-letter (`FLAG_TEXT_MIXERS`).
    word_len: u32,
    /// The markup state, kept when a markup context or `FLAG_MARKUP_MIXER` is in use.
    markup: Option<MarkupState>,
    /// `FLAG_MORE_CTX`'s text state (None without the flag).
    more: Option<Box<MoreText>>,
    /// `FLAG_TOPIC`'s text state (None without the flag).
    topic: Option<Box<TopicText>>,
    /// `FLAG_DIST`'s text state (None without the flag).
    dist: Option<DistText>,
    /// Hashed buckets: `[check, 15 states]`, from `table[table_off]` on (64 bytes more
    /// are allocated, so that the buckets a lookup probes share one cache line).
    table: Vec<u8>,
    table_off: usize,
    table_shift: u32,
    /// The orders' bucket hashes for the subtree of the next group of decisions
    /// (`prefetch_buckets`).
    next_h: [u64; MAX_ORDERS],
    /// The match inputs of the current token (`prepare_match`).
    mprep: MatchPrep,
    /// The match-context block offsets of the next group's subtree (`prefetch_mctx`).
    mctx_next: [usize; 2],
    /// Per order, the counters mapping a state to a probability.
    state_counters: Vec<[Counter; 256]>,
    order0: Vec<Counter>,
    /// Counters by (orders with a nonempty bit history, tree node) (`FLAG_CTX_MAPS`).
    novelty: Vec<Counter>,
    matcher: Matcher,
    mixers: [Mixer; N_SETS],
    final_mixer: Mixer,
    apm1: Apm,
    apm2: Apm,
    apm3: Apm,
    apm_mask: usize,
    /// The APMs of `FLAG_SSE` (see `N_APMX`) and its final mixer.
    apmx: [Apm; N_APMX],
    sse_mixer: Mixer,
    /// The SSM input (`MixParams::ssm`), an extra mixer input before the bias.
    ssm: Option<Box<SsmInput>>,
    /// The SSM input has its tree head (`FLAG_SSM_TREE`).
    ssm_tree: bool,
    /// The SSM input takes side codes (`FLAG_SSM_SIDE`), the context model's too
    /// (`FLAG_SSM_SIDE2`), and weights its loss (`FLAG_SSM_WEIGHT`).
    ssm_side: bool,
    ssm_side2: bool,
    ssm_weight: bool,
    /// The last tokens, most recent first.
    history: [u32; MAX_ORDER_LEN as usize],
    /// Context hashes of the orders for the current token.
    ctx_hash: [u64; MAX_ORDERS],
    /// Bucket offsets of the orders for the current group of decisions.
    bucket: [usize; MAX_ORDERS],
    /// Tokens coded so far.
    n_tokens: u32,
    /// Run table: per hashed context, the last token seen (its rank, 16 bits), how often
    /// in a row (8 bits) and a check byte.
    runs: Vec<u32>,
    run_shift: u32,
    run_idx: [usize; MAX_ORDERS],
    /// The rank predicted by each context's run and the run's count class (0: none).
    run_rank: [u32; MAX_ORDERS],
    run_class: [u8; MAX_ORDERS],
    /// Per order, counters by (count class, expected bit), with `FLAG_CTX_MAPS` also by
    /// the depth class and whether the bit history has seen both values.
    run_counters: Vec<[Counter; RUN_COUNTERS]>,
    /// Token → its position in the coding tree, and back.
    rank: Vec<u32>,
    unrank: Vec<u32>,
    /// Per (order, previous order's history nonempty, tree node): the prediction for a
    /// new (empty) bit history (`FLAG_NEW_PRIOR`).
    priors: Vec<Counter>,
    /// Per slot: a direct adaptive probability (12 bits) and count (4 bits).
    direct: Vec<u16>,
    /// `FLAG_MIX2`'s second final mixer (no weights without it).
    final2: Mixer,
}

/// Count classes of the run model (0 = no run).
const RUN_CLASSES: usize = 16;
/// Run counters per order: (count class, expected bit) × 4 depth classes × 2 (history
/// uncertain); without `FLAG_CTX_MAPS` only the first `2 * RUN_CLASSES` are used.
const RUN_COUNTERS: usize = 2 * RUN_CLASSES * 8;

/// Layer-1 mixers (weight sets selected by different contexts), at most; without
/// `FLAG_SEL` at most `N_SETS_MIX2`, without `FLAG_MIX2` at most `N_SETS_BASE`.
const N_SETS: usize = 8;
const N_SETS_MIX2: usize = 7;
const N_SETS_BASE: usize = 5;
/// Tree nodes told apart by `FLAG_MIX2`'s layer-1 mixers (the vocabulary budget keeps
/// the tree at 9 levels, 512 nodes; deeper nodes share sets).
const NODE_SETS: usize = 1024;
/// Weight sets of `FLAG_MIX2`'s layer-1 mixers: markup summary (64) × node, word
/// position (16) × node.
const SET5: usize = 64 * NODE_SETS;
const SET6: usize = 16 * NODE_SETS;
/// Weight sets of `FLAG_SEL`'s layer-1 mixer: the number and bracket state (64) × node.
const SET7: usize = NUM_SELS * NODE_SETS;
/// Values of `MoreText::selector` (`FLAG_SEL`).
const NUM_SELS: usize = 64;

impl MixModel {
    /// A fresh model for `vocab`, with `params` as read from the frame header.
    pub(crate) fn new(params: &[u32], vocab: &Vocab, raw_len: usize) -> Result<Self> {
        let mut tails = Vec::with_capacity(vocab.len());
        let mut lens = Vec::with_capacity(vocab.len());
        for t in 0..vocab.len() as Token {
            let b = vocab.token_bytes(t);
            tails.push(
                b[b.len().saturating_sub(8)..]
                    .iter()
                    .fold(0u64, |a, &x| a << 8 | u64::from(x)),
            );
            lens.push(b.len().min(8) as u8);
        }
        let mut m = Self::with_tails(params, tails, lens, raw_len)?;
        // Code the rank of the token in byte order, so that the tree is a trie over bytes
        // (a single byte sits next to the tokens it begins).
        let mut order: Vec<Token> = (0..vocab.len() as Token).collect();
        order.sort_by(|&a, &b| vocab.token_bytes(a).cmp(vocab.token_bytes(b)));
        for (r, &t) in order.iter().enumerate() {
            m.rank[t as usize] = r as u32;
        }
        m.unrank = order;
        // Again with the ranks (the first token has no match, so nothing changes).
        m.prepare_match();
        Ok(m)
    }

    /// A model for `vocab` tokens where token `t` stands for the two bytes of `t`.
    #[cfg(test)]
    pub(crate) fn with_vocab_size(params: &[u32], vocab: usize) -> Result<Self> {
        let v = vocab.min(MAX_VOCAB + 1);
        Self::with_tails(params, (0..v as u64).collect(), vec![2; v], usize::MAX)
    }

    fn with_tails(params: &[u32], tails: Vec<u64>, lens: Vec<u8>, raw_len: usize) -> Result<Self> {
        let p = MixParams::from_list(params)?.for_block(raw_len);
        let vocab = tails.len();
        if vocab == 0 || vocab > MAX_VOCAB {
            return Err(corrupt("vocabulary size out of range for the mixing model"));
        }
        let nbits = bits_for(vocab);
        let lg = Logistic::new();
        let more = p.flags & FLAG_MORE_CTX != 0;
        let topic = p.flags & FLAG_TOPIC != 0;
        let orders: Vec<u32> = (1..=MAX_KIND)
            .filter(|k| p.orders >> k & 1 == 1)
            .chain((p.flags & FLAG_FIELD != 0).then_some(KIND_FIELD))
            .chain(
                (KIND_SPARSE_BYTES..KIND_SPARSE_BYTES + N_MORE as u32)
                    .filter(|&k| more && p.more_kind(k)),
            )
            .chain((KIND_TOPIC..KIND_TOPIC + N_TOPIC as u32).filter(|_| topic))
            .chain((p.flags & FLAG_DIST != 0).then_some(KIND_DIST))
            .collect();
        // The hashed APMs adapt at rate 2^-4 (enwik8_1M level 5: rate 7 1.7733 bpb, 6
        // 1.7710, 5 1.7690, 4 1.7677, 3 1.7704); the per-node one at 2^-6 (level 1, where it
        // is alone: 4 1.8578, 6 1.8542, 7 1.8553).
        let arate = 4;
        let on = |f: u32, n: usize| if p.flags & f != 0 { n } else { 0 };
        let interp = p.flags & FLAG_APM_INTERP != 0;
        // Small initial weights: with a dozen or more inputs, larger ones start far
        // overconfident (16384: 1.7818 bpb at level 5, 4096: 1.7796). With FLAG_MORE_CTX's
        // ten inputs more, 1536 (enwik8_1M level 8: 4096 206,642 bytes, 2048 206,487,
        // 1536 206,478, 1024 206,484; small inputs lose less: testdata/source.c 760 →
        // 743, syslog.log 3,713 → 3,685).
        let init = if more { 1536 } else { 4096 };
        let states = States::new();
        let mut init_counters = [Counter::HALF; 256];
        for (c, &(n0, n1)) in init_counters.iter_mut().zip(&states.counts) {
            *c = Counter::with_counts(n0, n1);
        }
        let sse = p.flags & FLAG_SSE != 0;
        let counts = p.flags & FLAG_APM_COUNTS != 0;
        // With FLAG_SSE every APM has 17 bins (2^8 apart) and lets its entries come
        // within P16_EDGE/65536 of 0 and 1 for the 16-bit final path.
        let shift = if sse { 8 } else { 7 };
        let mk = |n: usize, rate: u32| {
            let mut a = Apm::new(n, rate, interp, shift, &lg);
            if sse {
                a.set_edge(P16_EDGE);
            }
            if counts && n > 0 {
                a.set_counts(APM_COUNT_INIT, APM_COUNT_LIMIT);
            }
            a
        };
        let apm1 = mk(1 << nbits, if interp { 5 } else { 6 });
        let apm2 = mk(on(FLAG_APM2, 1 << p.apm_log), arate);
        let apm3 = mk(on(FLAG_APM3, 1 << p.apm_log), arate);
        let apmx = std::array::from_fn(|_| mk(if sse { 1 << p.apm_log } else { 0 }, arate));
        // The final mixer's inputs: the mixer's and every APM's probability, and a bias.
        let n_final = 2
            + usize::from(p.flags & FLAG_APM2 != 0)
            + usize::from(p.flags & FLAG_APM3 != 0)
            + N_APMX
            + 1;
        let sse_mixer = Mixer::new(
            n_final,
            if sse { p.sse_sets() } else { 0 },
            2,
            65536 / (n_final as i32 - 1),
        );
        let ssm_tree = p.ssm.is_some() && p.flags & FLAG_SSM_TREE != 0;
        let n_ssm = usize::from(p.ssm.is_some()) + usize::from(ssm_tree);
        // Inputs actually used (the weight vectors' stride): per order, the bit history
        // and the optional deterministic, unseen and run inputs; order 0, the optional
        // novelty input, match (2), SSM, bias.
        let per_order = 1
            + usize::from(p.flags & FLAG_DET != 0)
            + usize::from(p.flags & FLAG_UNSEEN != 0)
            + usize::from(p.flags & FLAG_RUNS != 0);
        let ctx_maps = p.flags & FLAG_CTX_MAPS != 0;
        let ssm = match &p.ssm {
            Some(s) => Some(Box::new(SsmInput::new(s, vocab, p.ssm_parts())?)),
            None => None,
        };
        let matcher = Matcher::new(&p, &init_counters);
        let match_extra = if matcher.long.table.is_empty() { 0 } else { 2 }
            + if matcher.ctx.is_empty() { 0 } else { 4 };
        let n_inputs = orders.len() * per_order + 4 + match_extra + usize::from(ctx_maps) + n_ssm;
        let final_lr = if p.flags & FLAG_FINAL_MIX != 0 { 1 } else { 2 };
        let orders_len = orders.len();
        let mut final_mixer = Mixer::new(
            p.max_mixers(),
            p.final_sets(),
            final_lr,
            65536 / p.mixers as i32,
        );
        let mut final2 = Mixer::new(
            p.max_mixers(),
            p.final2_sets(),
            final_lr,
            65536 / p.mixers as i32,
        );
        if p.flags & FLAG_MIX2 != 0 && p.mixers as usize > N_SETS_BASE {
            // The new mixers' many sets learn slowly, so the final mixers start by trusting
            // them half as much as the first five (equal weights: enwik8_1M level 8 206,580
            // bytes but testdata/image.png 15,124; the new ones at 0: 206,769 and 15,028;
            // these: 206,623 and 15,074).
            let mut w = [65536 / 12; N_SETS];
            w[..N_SETS_BASE].fill(65536 / 6);
            final_mixer.set_initial(&w);
            final2.set_initial(&w);
        }
        let n_inputs = n_inputs + on(FLAG_DIRECT, orders_len);
        let mut m = MixModel {
            vocab: vocab as u32,
            nbits,
            states,
            state_counters: vec![init_counters; orders.len()],
            orders,
            tails,
            lens,
            text: 0,
            word: 0,
            prev_word: 0,
            word3: 0,
            followers: vec![0; vocab],
            column: 0,
            line_first: 0,
            shape: 0,
            word_len: 0,
            more: more.then(|| Box::new(MoreText::new())),
            topic: topic.then(|| Box::new(TopicText::new())),
            dist: (p.flags & FLAG_DIST != 0).then(DistText::new),
            markup: (p.orders >> KIND_MARKUP != 0
                || p.flags & (FLAG_MARKUP_MIXER | FLAG_FIELD) != 0)
                .then(|| MarkupState::new(p.flags & FLAG_FIELD != 0)),
            table: vec![0; (16 << p.table_log) + 64],
            table_off: 0,
            table_shift: 64 - p.table_log,
            next_h: [0; MAX_ORDERS],
            mprep: MatchPrep::default(),
            mctx_next: [0; 2],
            order0: vec![Counter::HALF; 1 << nbits],
            novelty: vec![
                Counter::HALF;
                if ctx_maps {
                    (MAX_ORDERS + 1) << nbits
                } else {
                    0
                }
            ],
            matcher,
            mixers: p.set_counts().map(|n| Mixer::new(n_inputs, n, p.lr, init)),
            final_mixer,
            apm1,
            apm2,
            apm3,
            apm_mask: (1 << p.apm_log) - 1,
            apmx,
            sse_mixer,
            ssm,
            ssm_tree,
            ssm_side: p.ssm.is_some() && p.flags & FLAG_SSM_SIDE != 0,
            ssm_side2: p.ssm.is_some() && p.ssm_parts().side2,
            ssm_weight: p.ssm.is_some() && p.ssm_parts().weight,
            lg,
            history: [0; MAX_ORDER_LEN as usize],
            ctx_hash: [0; MAX_ORDERS],
            bucket: [0; MAX_ORDERS],
            n_tokens: 0,
            runs: vec![0; on(FLAG_RUNS, 1 << p.table_log)],
            run_shift: 64 - p.table_log,
            run_idx: [0; MAX_ORDERS],
            run_rank: [0; MAX_ORDERS],
            run_class: [0; MAX_ORDERS],
            run_counters: vec![[Counter::HALF; RUN_COUNTERS]; MAX_ORDERS],
            rank: (0..vocab as u32).collect(),
            unrank: (0..vocab as u32).collect(),
            priors: vec![Counter::HALF; on(FLAG_NEW_PRIOR, orders_len << (nbits + 1))],
            direct: vec![0; on(FLAG_DIRECT, DIRECT_SLOTS << p.table_log)],
            final2,
            p,
        };
        m.table_off = m.table.as_ptr().addr().wrapping_neg() % 64;
        m.prefetch_buckets(1);
        m.prepare_match();
        Ok(m)
    }

    /// Hashes the contexts of every order from the history.
    fn hash_contexts(&mut self) {
        let mut g = 0u64;
        let mut j = 0;
        for (k, &t) in self.history.iter().enumerate() {
            g = (g ^ u64::from(t + 1)).wrapping_mul(PHI);
            g ^= g >> 29;
            if j < self.orders.len() && self.orders[j] == k as u32 + 1 {
                self.ctx_hash[j] = (g ^ ((k as u64 + 1) << 58)).wrapping_mul(MIXC);
                j += 1;
            }
        }
        // The markup state, once for the three contexts that hash it, and the parts of
        // the markup and `FLAG_MORE_CTX` states that several contexts use.
        let mk = self.markup.as_ref().map_or(0, MarkupState::code);
        let (small, field) = self
            .markup
            .as_ref()
            .map_or((0, 0), |m| (m.small() as u64, m.field()));
        let (num, nest) = self
            .more
            .as_ref()
            .map_or((0, 0), |m| (m.number(), m.nest()));
        for &o in &self.orders[j..] {
            let x = match o {
                KIND_WORD => self.word,
                KIND_BIGRAM => self.prev_word.wrapping_mul(MIXC) ^ self.word,
                KIND_SPARSE => {
                    u64::from(self.history[1]) << 16 | u64::from(self.history[2]) | 1 << 40
                }
                KIND_SPARSE2 => {
                    u64::from(self.history[0]) << 16 | u64::from(self.history[2]) | 1 << 40
                }
                KIND_WORD3 => {
                    self.word3.wrapping_mul(PHI) ^ self.prev_word.wrapping_mul(MIXC) ^ self.word
                }
                KIND_INDIRECT => {
                    let prev = self.history[0];
                    u64::from(prev) << 32 | u64::from(self.followers[prev as usize])
                }
                KIND_COLUMN => {
                    u64::from(self.column) << 16
                        | u64::from(self.line_first) << 8
                        | (self.text & 255)
                }
                KIND_SHAPE => u64::from(self.shape & 0xffff) << 8 | (self.text & 255),
                KIND_WORD_SHAPE => self.word ^ u64::from(self.shape & 0xfff) << 50,
                KIND_WORD_SKIP => self.word3.wrapping_mul(PHI) ^ self.word,
                KIND_PREV_WORD => self.prev_word.wrapping_mul(PHI) ^ (self.text & 255),
                KIND_MARKUP => mk << 16 | u64::from(self.shape & 0xff) << 8 | (self.text & 255),
                KIND_SENTENCE => {
                    let first = self.markup.as_ref().map_or(0, MarkupState::sentence);
                    first.wrapping_mul(PHI) ^ self.word.wrapping_mul(MIXC).rotate_left(17)
                }
                KIND_MARKUP2 => mk << 16 | (self.text & 0xffff),
                KIND_MARKUP_WORD => {
                    (mk << 8 | (self.text & 255)).wrapping_mul(PHI)
                        ^ self.word.wrapping_mul(MIXC).rotate_left(17)
                }
                KIND_FIELD if self.markup.is_some() => {
                    (field ^ small << 8 ^ (self.text & 255)).wrapping_mul(PHI)
                        ^ self.word.wrapping_mul(MIXC).rotate_left(17)
                }
                KIND_FIELD => 0,
                KIND_SPARSE_BYTES => self.text >> 8 & 0xffff,
                KIND_SPARSE_BYTES2 => self.text >> 16 & 0xffff,
                KIND_NEST_WORD => {
                    (nest << 1 | 1).wrapping_mul(PHI) ^ self.word.wrapping_mul(MIXC).rotate_left(17)
                }
                KIND_NUM_WORD => {
                    num.wrapping_mul(PHI) ^ self.prev_word.wrapping_mul(MIXC).rotate_left(23)
                }
                KIND_MARKUP_BYTES3 => small << 24 | (self.text & 0xff_ffff),
                KIND_NUM_MARKUP => {
                    let lead = self.more.as_ref().map_or(0, |m| m.num_lead());
                    num.wrapping_mul(PHI) ^ (small << 8 | u64::from(lead)).wrapping_mul(MIXC)
                }
                KIND_NEST_BYTES => nest << 16 | (self.text & 0xffff),
                KIND_FIELD_NUM => {
                    let shape = self.more.as_ref().map_or(0, |m| m.num_shape());
                    (field ^ small << 8 ^ shape << 16).wrapping_mul(PHI)
                }
                KIND_ABOVE => {
                    let above = self
                        .more
                        .as_ref()
                        .map_or(0, |m| m.above(COLUMN_CAP as usize));
                    above << 8 | (self.text & 255)
                }
                KIND_NUM_PREV => {
                    let prev = self.more.as_ref().map_or(0, |m| m.prev_number());
                    (num ^ prev.rotate_left(31)).wrapping_mul(PHI)
                }
                KIND_TOPIC | KIND_TITLE => {
                    let t = self.topic.as_ref().map_or(0, |t| {
                        if o == KIND_TOPIC {
                            t.topic()
                        } else {
                            t.title()
                        }
                    });
                    (t | 1 << 50).wrapping_mul(PHI) ^ self.word.wrapping_mul(MIXC).rotate_left(17)
                }
                KIND_DIST => self.dist.as_ref().map_or(0, DistText::code) << 8 | (self.text & 255),
                16 => self.text,
                _ => self.text & ((1 << (8 * (o - MAX_ORDER_LEN))) - 1),
            };
            let g = (x ^ (u64::from(o) << 58)).wrapping_mul(PHI);
            self.ctx_hash[j] = (g ^ (g >> 29)).wrapping_mul(MIXC);
            j += 1;
        }
    }

    /// Hashes the orders' contexts with the subtree at `node` (into `next_h`) and
    /// prefetches their buckets, for the next `find_buckets` a little later.
    fn prefetch_buckets(&mut self, node: u32) {
        let n = self.orders.len();
        let nh = u64::from(node).wrapping_mul(NODEC);
        let table = &self.table[self.table_off..];
        let out = &mut self.next_h[..n];
        for (h, &ch) in out.iter_mut().zip(&self.ctx_hash[..n]) {
            *h = (ch ^ nh).wrapping_mul(PHI);
            hw::prefetch(table, (*h >> self.table_shift) as usize * 16);
        }
    }

    /// Finds (or makes) the bucket of every order for the subtree hashed by the last
    /// `prefetch_buckets`.
    fn find_buckets(&mut self) {
        let n = self.orders.len();
        let table_shift = self.table_shift;
        let table = &mut self.table[self.table_off..];
        let weight = &self.states.weight;
        let hashes = &self.next_h[..n];
        for (out, &h) in self.bucket[..n].iter_mut().zip(hashes) {
            let idx = (h >> table_shift) as usize;
            let check = (h >> 8) as u8;
            let mut found = None;
            let mut victim = idx;
            let mut victim_weight = u8::MAX;
            for probe in 0..3 {
                let b = idx ^ probe;
                let base = b * 16;
                if table[base] == check {
                    found = Some(base);
                    break;
                }
                let w = weight[usize::from(table[base + 1])];
                if w < victim_weight {
                    victim_weight = w;
                    victim = b;
                }
            }
            *out = found.unwrap_or_else(|| {
                let base = victim * 16;
                table[base..base + 16].fill(0);
                table[base] = check;
                base
            });
        }
    }
}

impl MixModel {
    /// The position in the current word (16 values): its length, else the class of the
    /// last byte (a mixer selector, and a side code of `FLAG_SSM_SIDE2`).
    #[inline]
    fn word_pos(&self) -> usize {
        if self.word_len > 0 {
            3 + self.word_len.min(12) as usize
        } else {
            (self.shape & 3) as usize
        }
    }

    /// `FLAG_SSM_SIDE2`'s codes after token `t` (all its state updated; the runs of
    /// the next token are read here, the same values `code` reads again).
    fn model_codes(&mut self, t: Token) -> ssm_input::ModelCodes {
        self.read_runs();
        // The longest token context (they come first, shortest first) with a run of 2+.
        let n_tok = self
            .orders
            .iter()
            .take_while(|&&o| o <= MAX_ORDER_LEN)
            .count();
        let run = (0..n_tok)
            .rev()
            .find(|&i| self.run_class[i] > 1)
            .map(|i| self.run_rank[i]);
        let (selector, above) = self
            .more
            .as_ref()
            .map_or((0, 0), |m| (m.selector(), m.above(COLUMN_CAP as usize)));
        let MatchPrep { sm, lm, .. } = self.mprep;
        ssm_input::ModelCodes {
            selector,
            above: (above >> 8) as u8,
            expected: sm.expected,
            len_class: sm.len_idx.min(15) + if lm.expected.is_some() { 16 } else { 0 },
            word_pos: self.word_pos(),
            follower: self.followers[t as usize] & 0xffff,
            run,
            shape: self.shape,
        }
    }

    /// Reads the orders' run entries (`run_idx`, hashed and prefetched when the last
    /// token was learned; as late as possible, so that they have arrived). Before the
    /// first token every entry is 0, which is run class 0 and rank 0, the initial state.
    fn read_runs(&mut self) {
        if self.runs.is_empty() {
            return;
        }
        let n = self.orders.len();
        let (idx, hashes) = (&self.run_idx[..n], &self.ctx_hash[..n]);
        let (ranks, classes) = (&mut self.run_rank[..n], &mut self.run_class[..n]);
        for i in 0..n {
            let e = self.runs[idx[i]];
            let (rank, count) = if e & 255 == (hashes[i] >> 8) as u32 & 255 {
                (e >> 16, e >> 8 & 255)
            } else {
                (0, 0)
            };
            ranks[i] = rank;
            classes[i] = match count {
                0..=11 => count as u8,
                12..=15 => 12,
                16..=31 => 13,
                32..=63 => 14,
                _ => 15,
            };
        }
    }

    /// Prepares the match inputs of the next token (`mprep`) and prefetches its first
    /// match-context blocks.
    fn prepare_match(&mut self) {
        let sm = self.matcher.input(&self.matcher.short, &self.rank);
        let lm = self.matcher.input(&self.matcher.long, &self.rank);
        // The match contexts' token-level hashes (FLAG_MATCH_CTX): the expected token of
        // the long finder if it has one, else of the short one, with its length class,
        // and with the previous token.
        let use_mctx = !self.matcher.ctx.is_empty();
        let (mctx, mctx_e) = if use_mctx {
            let pm = if lm.expected.is_some() { &lm } else { &sm };
            let e = pm.expected.map_or(0, |e| u64::from(e) + 1);
            let lc = MATCH_CTX_LEN[pm.len_idx] | u64::from(lm.expected.is_some()) << 6;
            (
                [
                    (e << 8 | lc).wrapping_mul(MIXC) ^ 5,
                    (e << 20 | u64::from(self.history[0])).wrapping_mul(PHI) ^ 6,
                ],
                sm.expected.map_or(0, |e| u64::from(e) << 8),
            )
        } else {
            ([0; 2], 0)
        };
        self.mprep = MatchPrep {
            sm,
            lm,
            mctx,
            mctx_e,
        };
        if use_mctx {
            self.prefetch_mctx(1);
        }
    }

    /// `prefetch_buckets(node)`, and `prefetch_mctx(node)` with the match contexts.
    #[inline]
    fn prefetch_next_group(&mut self, node: u32, mctx: bool) {
        self.prefetch_buckets(node);
        if mctx {
            self.prefetch_mctx(node);
        }
    }

    /// The match-context blocks of the subtree at `node` (into `mctx_next`), a
    /// block of 16 entries per (context, subtree) like the buckets; prefetched (entries
    /// 1, 8 and 15 touch every cache line the block's entries 1..=15 lie in).
    fn prefetch_mctx(&mut self, node: u32) {
        let nh = u64::from(node).wrapping_mul(NODEC);
        let ctx = &self.matcher.ctx;
        let half = ctx.len() / 2;
        let out = &mut self.mctx_next;
        for (c, (b, &h)) in out.iter_mut().zip(&self.mprep.mctx).enumerate() {
            *b = c * half + (((h ^ nh).wrapping_mul(PHI) >> self.matcher.ctx_shift) as usize) * 16;
            for i in [1, 8, 15] {
                hw::prefetch(ctx, *b + i);
            }
        }
    }
}

/// Where in the tree a decision is, for `MixModel::order_inputs`.
struct OrderIn<'a> {
    /// Slot of the decision in the orders' buckets.
    local: usize,
    /// Decisions left after this one.
    rem: u32,
    /// Depth of the decision in the tree.
    depth: u32,
    run_class: &'a [u8; MAX_ORDERS],
    node: usize,
}

impl MixModel {
    /// Writes the per-order inputs of a decision (bit history, and the optional
    /// deterministic, unseen and run inputs) to `inputs`, the slots' states to `states`
    /// and the run counters used to `run_used`; returns the inputs written and the
    /// orders whose bit history is nonempty.
    #[inline(always)]
    fn order_inputs<const CTX_MAPS: bool, const UNSEEN: bool, const PRIOR: bool>(
        &self,
        at: &OrderIn<'_>,
        (inputs, states, run_used, prior_idx): (
            &mut [i32],
            &mut [u8; MAX_ORDERS],
            &mut [u8; MAX_ORDERS],
            &mut [u32; MAX_ORDERS],
        ),
    ) -> (usize, usize) {
        let use_det = self.p.flags & FLAG_DET != 0;
        let use_runs = self.p.flags & FLAG_RUNS != 0;
        let mut k = 0;
        let mut seen = 0;
        let use_direct = self.p.flags & FLAG_DIRECT != 0;
        // Whether the previous order's bit history is nonempty (none before the first).
        let mut prev_seen = false;
        // Depth classes of the run counters (like paq8's bit-position classes).
        let depth_class = if CTX_MAPS {
            [0, 1, 2, 2, 2, 3, 3, 3][(at.depth as usize).min(7)]
        } else {
            0
        };
        // Every per-order array sliced to the same length, so `i` needs no bounds checks.
        let n = self.orders.len();
        let (bucket, counters) = (&self.bucket[..n], &self.state_counters[..n]);
        let (run_rank, run_counters) = (&self.run_rank[..n], &self.run_counters[..n]);
        let (run_class, states) = (&at.run_class[..n], &mut states[..n]);
        let (run_used, prior_idx) = (&mut run_used[..n], &mut prior_idx[..n]);
        let det = &self.states.det;
        let table = &self.table[self.table_off..];
        for i in 0..n {
            let s = table[bucket[i] + at.local];
            states[i] = s;
            let su = usize::from(s);
            let mut st = if PRIOR && s == 0 {
                let j = (i << 1 | usize::from(prev_seen)) << self.nbits | at.node;
                prior_idx[i] = j as u32;
                self.lg.stretch(self.priors[j].p())
            } else if UNSEEN && s == 0 {
                0
            } else {
                self.lg.stretch(counters[i][su].p())
            };
            if PRIOR {
                prev_seen = s != 0;
            }
            if CTX_MAPS {
                st = st * 3 / 4;
            }
            inputs[k] = st;
            k += 1;
            if use_det {
                inputs[k] = if det[su] { st } else { 0 };
                k += 1;
            }
            if UNSEEN {
                inputs[k] = if s == 0 { 256 } else { 0 };
                k += 1;
            }
            if use_direct {
                inputs[k] = if s == 0 || at.local >= DIRECT_SLOTS {
                    0
                } else {
                    let e = self.direct[bucket[i] / 2 + at.local];
                    let d = self.lg.stretch(u32::from(e >> 4));
                    if CTX_MAPS { d * 3 / 4 } else { d }
                };
                k += 1;
            }
            if use_runs {
                let c = usize::from(run_class[i]);
                inputs[k] = if c > 0 {
                    let e = (run_rank[i] >> at.rem) & 1;
                    let mut j = c * 2 + e as usize;
                    if CTX_MAPS {
                        let uncertain = s != 0 && !det[su];
                        j = j << 3 | usize::from(uncertain) << 2 | depth_class;
                    }
                    run_used[i] = j as u8;
                    self.lg.stretch(run_counters[i][j].p())
                } else {
                    0
                };
                k += 1;
            }
            seen += usize::from(s != 0);
        }
        (k, seen)
    }

    /// Trains the orders' state counters (or priors), direct entries (`DIRECT`: this
    /// decision has a direct slot) and bit histories with the coded `bit`.
    #[inline(always)]
    fn learn_orders<const PRIOR: bool, const DIRECT: bool>(
        &mut self,
        (slot_state, prior_idx, local, bit, state_limit): (&[u8], &[u32], usize, bool, u32),
    ) {
        let n = slot_state.len();
        let buckets = &self.bucket[..n];
        let counters = &mut self.state_counters[..n];
        let prior_idx = &prior_idx[..n];
        let table = &mut self.table[self.table_off..];
        for (i, &s) in slot_state.iter().enumerate() {
            // With the priors, a state-0 counter is never read, so it is not updated.
            if PRIOR && s == 0 {
                self.priors[prior_idx[i] as usize].update(bit, PRIOR_LIMIT);
            } else {
                counters[i][usize::from(s)].update(bit, state_limit);
            }
            if DIRECT {
                // A new slot starts at 1/2 with count 0 (its entry may be stale).
                let e = &mut self.direct[buckets[i] / 2 + local];
                let (p, n) = if s == 0 {
                    (2048, 0)
                } else {
                    (i64::from(*e >> 4), usize::from(*e & 15))
                };
                let t = if bit { 4095 } else { 1 };
                let r = i64::from(tables::RECIP[DIRECT_COUNT[n]]);
                let p = (p + (((t - p) * r + (1 << 15)) >> 16)).clamp(1, 4095);
                *e = (p as u16) << 4 | (n + usize::from(n < 15)) as u16;
            }
            table[buckets[i] + local] = self.states.next(s, bit);
        }
    }
}

const PHI: u64 = 0x9E37_79B9_7F4A_7C15;
const MIXC: u64 = 0xD6E8_FEB8_6659_FD93;
const NODEC: u64 = 0x2545_F491_4F6C_DD1D;

/// The length classes of the match contexts (`FLAG_MATCH_CTX`), by `MatchIn::len_idx`:
/// 0, 1–2, 3, 4–5, 6–8, 9–15, 16–31, 32 and more.
const MATCH_CTX_LEN: [u64; N_LEN] = {
    let mut t = [7u64; N_LEN];
    let head = [0, 1, 1, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 6];
    let mut i = 0;
    while i < head.len() {
        t[i] = head[i];
        i += 1;
    }
    t
};

/// Weight sets of the layer-1 mixers.
const SET0: usize = (128 + MAX_BITS) * 4;
const SET1: usize = (MAX_ORDERS + 1) * MAX_BITS;
const SET2: usize = 256 * 4;
const SET3: usize = 1024;
const SET4: usize = 256 * 4;
/// With `FLAG_TEXT_MIXERS`: (word position 16 × second-last byte 8 × depth × seen 4),
/// (last byte × depth class 4 × seen 4), (previous token 1024 × depth class 4).
const SET1_TEXT: usize = 16 * 8 * MAX_BITS * 4;
const SET2_TEXT: usize = 256 * 4 * 4;
const SET3_TEXT: usize = 1024 * 4;
/// Weight sets of the final mixer.
const FINAL_SETS: usize = 128 + MAX_BITS;
/// Weight sets of the `FLAG_SSE` final mixer: by tree depth and match state.
const SSE_SETS: usize = MAX_BITS * 4;
/// The extra APMs of `FLAG_SSE`, each over (context, tree node): the match state (the
/// expected bit and the length class), the last two bytes, the current word, and the
/// classes of the last 8 bytes with the last byte.
const N_APMX: usize = 4;
/// With `FLAG_SSE`, APM entries and the coded probability stay within this many 65536ths
/// of 0 and 1 (instead of 16 and 32).
const P16_EDGE: i32 = 4;
/// With `FLAG_APM_COUNTS`, an APM entry starts as if it had seen this many updates and
/// adapts at 1/(n + 1.5) up to this limit.
const APM_COUNT_INIT: u32 = 6;
const APM_COUNT_LIMIT: u32 = 30;

impl TokenModel for MixModel {
    fn code<C: EntropyCoder>(&mut self, coder: &mut C, token: Token) -> Result<Token> {
        let n_orders = self.orders.len();
        let token = self.rank.get(token as usize).copied().unwrap_or(0);
        let MatchPrep { sm, lm, mctx_e, .. } = self.mprep;
        let expected = sm.expected;
        let match_state = sm.state;
        let mlen_idx = sm.len_idx;
        let mut match_ok = expected.is_some();
        let use_long = !self.matcher.long.table.is_empty();
        let mut long_ok = lm.expected.is_some();
        let use_mctx = !self.matcher.ctx.is_empty();
        let mut mctx_base = [0usize; 2];
        let prev = self.history[0];
        let prev2 = self.history[1];
        let last_byte = (self.text & 255) as usize;
        let mut value = 0u32;
        let mut local = 1usize;
        // Room for the SSM input and its tree head's (`FLAG_SSM_TREE`) and the direct
        // entries' (`FLAG_DIRECT`).
        let mut inputs = [0i32; MAX_INPUTS + 2 + MAX_ORDERS];
        if let Some(s) = &mut self.ssm {
            s.prepare(&self.unrank);
        }
        self.read_runs();
        let mut slot_state = [0u8; MAX_ORDERS];
        let mut outs = [0i32; N_SETS];
        let mut run_class = self.run_class;
        let mut run_used = [0u8; MAX_ORDERS];
        let mut prior_idx = [0u32; MAX_ORDERS];
        let lr0 = i64::from(self.p.lr);
        // A faster start: 4× the rate at first, 2× after 16K tokens, → 1×.
        let lr_eff = lr0 + lr0 * 3 * 16384 / (16384 + i64::from(self.n_tokens));
        let n_mix = self.p.mixers as usize;
        let use_runs = self.p.flags & FLAG_RUNS != 0;
        let use_apm2 = self.p.flags & FLAG_APM2 != 0;
        let use_apm3 = self.p.flags & FLAG_APM3 != 0;
        let shape_mixer = self.p.flags & FLAG_SHAPE_MIXER != 0;
        let use_prior = self.p.flags & FLAG_NEW_PRIOR != 0;
        let use_direct = self.p.flags & FLAG_DIRECT != 0;
        let ctx_maps = self.p.flags & FLAG_CTX_MAPS != 0;
        let use_unseen = self.p.flags & FLAG_UNSEEN != 0;
        let text_mixers = self.p.flags & FLAG_TEXT_MIXERS != 0;
        // The APM outputs weigh `apm_w` each against the mixer's 1 in the final average.
        let final_mix = self.p.flags & FLAG_FINAL_MIX != 0;
        let apm_w = if final_mix { 2 } else { 1 };
        let word_pos = self.word_pos();
        let byte2_hi = (self.text >> 13 & 7) as usize;
        let prev_sel = (self.rank[prev as usize] >> self.nbits.saturating_sub(10)) as usize;
        let o2h = (u64::from(prev) << 16 ^ u64::from(prev2)).wrapping_mul(MIXC);
        // FLAG_MARKUP_MIXER: the markup summary (64 values; with FLAG_TEXT_MIXERS).
        let markup_sel = match &self.markup {
            Some(mk) if self.p.flags & FLAG_MARKUP_MIXER != 0 => Some(mk.small()),
            _ => None,
        };
        let use_sse = self.p.flags & FLAG_SSE != 0;
        let ssm_tree = self.ssm_tree;
        // FLAG_SSM_WEIGHT: the model's probability of the token (its coded bits').
        let ssm_weight = self.ssm_weight;
        let mut p_tok = 1.0f32;
        // The token-level parts of the extra APMs' contexts (FLAG_SSE).
        let sse_ctx = if use_sse {
            let shape = u64::from(self.shape & 0xffff) << 8 | (self.text & 255);
            // FLAG_MARKUP_MIXER: the three also see the markup state (enwik8_1M level 8
            // with the four markup contexts: 210,536 → 210,328 bytes).
            let mk = match &self.markup {
                Some(m) if self.p.flags & FLAG_MARKUP_MIXER != 0 => m.code() << 40,
                _ => 0,
            };
            [
                ((self.text & 0xffff) ^ mk).wrapping_mul(MIXC) ^ 2,
                (self.word ^ mk).wrapping_mul(MIXC) ^ 3,
                (shape ^ mk).wrapping_mul(PHI) ^ 4,
            ]
        } else {
            [0; 3]
        };
        let mix2 = self.p.flags & FLAG_MIX2 != 0 && n_mix > N_SETS_BASE;
        // FLAG_SEL's selector (0 without it; the eighth mixer's sets exist only with it).
        let num_sel = match &self.more {
            Some(m) if self.p.flags & FLAG_SEL != 0 => m.selector(),
            _ => 0,
        };
        for depth in 0..self.nbits {
            let rem = self.nbits - 1 - depth;
            let node = (1 << depth) | value;
            if (depth as usize).is_multiple_of(GROUP) {
                self.find_buckets();
                local = 1;
                if use_mctx {
                    mctx_base = self.mctx_next;
                }
            }
            // The last decision of a group hashes the next group's subtree and prefetches
            // its entries as soon as its bit is known (before learning from it).
            let group_end = depth as usize % GROUP == GROUP - 1 && depth + 1 < self.nbits;
            // Ids >= V are unreachable: when the 1-branch holds only those, the bit is 0.
            if ((value << 1) | 1) << rem >= self.vocab {
                value <<= 1;
                local <<= 1;
                for (c, &r) in run_class.iter_mut().zip(&self.run_rank) {
                    if (r >> rem) & 1 != 0 {
                        *c = 0;
                    }
                }
                if let Some(e) = expected {
                    match_ok &= (e >> rem) & 1 == 0;
                }
                if let Some(e) = lm.expected {
                    long_ok &= (e >> rem) & 1 == 0;
                }
                if group_end {
                    self.prefetch_next_group(node << 1, use_mctx);
                }
                continue;
            }
            // The hashed APMs' contexts first, so that their rows arrive during the mixing.
            let actx = ((u64::from(prev) << 16 | u64::from(node)).wrapping_mul(PHI) >> 40) as usize
                & self.apm_mask;
            if use_apm2 {
                self.apm2.prefetch(actx);
            }
            let a3ctx = if use_apm3 {
                let c = ((o2h ^ u64::from(node)).wrapping_mul(PHI) >> 40) as usize & self.apm_mask;
                self.apm3.prefetch(c);
                c
            } else {
                0
            };
            let mut xctx = [0usize; N_APMX];
            if use_sse {
                let mc = match expected {
                    Some(e) if match_ok => {
                        (mlen_idx * 2 + ((e >> rem) & 1) as usize + 1) as u64 | mctx_e
                    }
                    _ => 0,
                };
                let nh = u64::from(node).wrapping_mul(NODEC);
                let hx = [mc << 32 | 1, sse_ctx[0], sse_ctx[1], sse_ctx[2]];
                for ((c, a), &h) in xctx.iter_mut().zip(&self.apmx).zip(&hx) {
                    *c = ((h ^ nh).wrapping_mul(PHI) >> 40) as usize & self.apm_mask;
                    a.prefetch(*c);
                }
            }
            let place = if depth < 7 {
                node as usize
            } else {
                128 + depth as usize
            };
            let ms = if match_ok { match_state } else { 0 };
            let d = depth as usize;
            // The layer-1 mixers' weight sets that do not depend on the contexts seen (the
            // others are set after the order inputs).
            let mut sets = [0usize; N_SETS];
            if n_mix > 1 {
                let sel4 = if shape_mixer {
                    (self.shape & 255) as usize * 4 + ms
                } else {
                    run_class[..n_orders].iter().filter(|&&c| c > 0).count() * 4 + ms
                };
                let base = if text_mixers {
                    let s2 = markup_sel.map_or(0, |mk| (mk * 16 + (last_byte >> 4)) * 4 + d.min(3));
                    [place * 4 + ms, 0, s2, prev_sel * 4 + d.min(3), sel4]
                } else {
                    [place * 4 + ms, 0, last_byte * 4 + d.min(3), prev_sel, sel4]
                };
                sets[..N_SETS_BASE].copy_from_slice(&base);
                if mix2 {
                    // The tree node itself (not capped at depth 7 like `place`), by the
                    // markup summary and by the position in the word.
                    let nd = node as usize & (NODE_SETS - 1);
                    sets[N_SETS_BASE] = markup_sel.unwrap_or(0) * NODE_SETS + nd;
                    sets[N_SETS_BASE + 1] = word_pos * NODE_SETS + nd;
                    sets[N_SETS_MIX2] = num_sel * NODE_SETS + nd;
                }
            }
            let oi = OrderIn {
                local,
                rem,
                depth,
                run_class: &run_class,
                node: node as usize,
            };
            let out = (
                &mut inputs[..],
                &mut slot_state,
                &mut run_used,
                &mut prior_idx,
            );
            // The optional inputs are const parameters, so levels without them run the
            // loop they ran before (level 1: +6% instructions with runtime checks).
            let (mut k, seen) = match (ctx_maps, use_unseen, use_prior) {
                (false, false, false) => self.order_inputs::<false, false, false>(&oi, out),
                (true, false, false) => self.order_inputs::<true, false, false>(&oi, out),
                (false, true, false) => self.order_inputs::<false, true, false>(&oi, out),
                (true, true, false) => self.order_inputs::<true, true, false>(&oi, out),
                (false, false, true) => self.order_inputs::<false, false, true>(&oi, out),
                (true, false, true) => self.order_inputs::<true, false, true>(&oi, out),
                (false, true, true) => self.order_inputs::<false, true, true>(&oi, out),
                (true, true, true) => self.order_inputs::<true, true, true>(&oi, out),
            };
            let o0 = node as usize;
            let o0_st = self.lg.stretch(self.order0[o0].p());
            inputs[k] = o0_st;
            k += 1;
            let mut nov = 0;
            if ctx_maps {
                nov = seen << self.nbits | o0;
                inputs[k] = self.lg.stretch(self.novelty[nov].p());
                k += 1;
            }
            let mut match_idx = None;
            let (mi, mi2) = match expected {
                Some(e) if match_ok => {
                    let bit = (e >> rem) & 1;
                    let i = mlen_idx * 2 + bit as usize;
                    match_idx = Some(i);
                    let conf = (mlen_idx as i32 + 1) * 32;
                    (
                        self.lg.stretch(self.matcher.counters[i].p()),
                        if bit == 1 { conf } else { -conf },
                    )
                }
                _ => (0, 0),
            };
            inputs[k] = mi;
            k += 1;
            inputs[k] = mi2;
            k += 1;
            let mut long_idx = None;
            if use_long {
                let (li, li2) = match lm.expected {
                    Some(e) if long_ok => {
                        let bit = (e >> rem) & 1;
                        let i = lm.len_idx * 2 + bit as usize;
                        long_idx = Some(i);
                        let conf = (lm.len_idx as i32 + 1) * 32;
                        (
                            self.lg.stretch(self.matcher.long_counters[i].p()),
                            if bit == 1 { conf } else { -conf },
                        )
                    }
                    _ => (0, 0),
                };
                inputs[k] = li;
                inputs[k + 1] = li2;
                k += 2;
            }
            let mut mctx_idx = [0usize; 2];
            if use_mctx {
                for (c, (j, &b)) in mctx_idx.iter_mut().zip(&mctx_base).enumerate() {
                    *j = b + local;
                    let (counter, s) = self.matcher.ctx[*j];
                    inputs[k] = self.lg.stretch(counter.p());
                    inputs[k + 1] = self
                        .lg
                        .stretch(self.matcher.state_map[c][usize::from(s)].p());
                    k += 2;
                }
            }
            if let Some(s) = &mut self.ssm {
                // Ranks: 0-branch lo..mid, 1-branch mid..hi (clipped to V).
                let lo = (value << 1) << rem;
                let mid = lo + (1 << rem);
                let hi = (lo + (2 << rem)).min(self.vocab);
                let ps = s.stretch(lo as usize, mid as usize, hi as usize);
                inputs[k] = ps;
                k += 1;
                if ssm_tree {
                    inputs[k] = s.tree_stretch(o0, [o0_st, ps, mi]);
                    k += 1;
                }
            }
            inputs[k] = 256;
            k += 1;
            let n_in = k;
            let st = if n_mix > 1 {
                // The sets that depend on the contexts seen.
                if text_mixers {
                    let seen4 = seen * 4 / (n_orders + 1);
                    sets[1] = ((word_pos * 8 + byte2_hi) * MAX_BITS + d) * 4 + seen4;
                    if markup_sel.is_none() {
                        sets[2] = (last_byte * 4 + d.min(3)) * 4 + seen4;
                    }
                } else {
                    sets[1] = seen * MAX_BITS + d;
                }
                for ((o, m), &set) in outs.iter_mut().zip(&mut self.mixers).zip(&sets).take(n_mix) {
                    *o = m.mix(&inputs[..n_in], set, &self.lg);
                }
                let fsel = if final_mix { place * 4 + ms } else { place };
                let f1 = self.final_mixer.mix(&outs[..n_mix], fsel, &self.lg);
                if mix2 {
                    // A second final mixer selected like the third layer-1 mixer, averaged
                    // in the logit domain.
                    let f2 = self.final2.mix(&outs[..n_mix], sets[2], &self.lg);
                    (f1 + f2) >> 1
                } else {
                    f1
                }
            } else {
                self.mixers[0].mix(&inputs[..n_in], place * 4 + ms, &self.lg)
            };
            let p_mix = self.lg.squash(st);
            let mut sse_in = [0i32; N_APMX + 5];
            let mut n_sse = 0;
            let p16 = if !use_sse {
                let a1 = self.apm1.refine(st, o0);
                let mut sum = p_mix + apm_w * a1;
                let mut cnt = 1 + apm_w;
                if use_apm2 {
                    sum += apm_w * self.apm2.refine(st, actx);
                    cnt += apm_w;
                }
                if use_apm3 {
                    sum += apm_w * self.apm3.refine(st, a3ctx);
                    cnt += apm_w;
                }
                let p = (sum + cnt / 2) / cnt;
                ((p as u32) << (16 - PBITS)).clamp(32, 65535 - 32)
            } else {
                // 16-bit probabilities: the mixer's, then the APMs'.
                let mut ps = [0i32; N_APMX + 4];
                ps[0] = p_mix << (16 - PBITS);
                ps[1] = self.apm1.refine16(st, o0);
                let mut np = 2;
                if use_apm2 {
                    ps[np] = self.apm2.refine16(st, actx);
                    np += 1;
                }
                if use_apm3 {
                    ps[np] = self.apm3.refine16(st, a3ctx);
                    np += 1;
                }
                // The extra APMs refine the first stage's average (a chain: enwik8_1M
                // level 5 216,922 → 216,749 bytes against refining `st`).
                let first: i32 = ps[..np].iter().sum();
                let x = self
                    .lg
                    .stretch(((first / np as i32) >> (16 - PBITS)) as u32);
                for (a, &ctx) in self.apmx.iter_mut().zip(&xctx) {
                    ps[np] = a.refine16(x, ctx);
                    np += 1;
                }
                for (i, &q) in sse_in.iter_mut().zip(&ps[..np]) {
                    *i = self.lg.stretch((q >> (16 - PBITS)) as u32);
                }
                sse_in[np] = 256;
                n_sse = np + 1;
                let s2 = self.sse_mixer.mix(
                    &sse_in[..n_sse],
                    (num_sel >> 3) * SSE_SETS + depth as usize * 4 + ms,
                    &self.lg,
                );
                // Half the learned mix, half the plain average (the mix alone: 216,213
                // bytes at level 5, the average alone 216,510, both 215,915).
                let all: i32 = ps[..np].iter().sum();
                let p = ((self.lg.squash(s2) << (16 - PBITS)) + all / np as i32) / 2;
                (p as u32).clamp(P16_EDGE as u32, 65536 - P16_EDGE as u32)
            };
            let bit = coder.code_bit((token >> rem) & 1 == 1, p16)?;
            let mut p_bit = 1.0f32;
            if ssm_weight {
                // f32 products of exact values (p16 < 2^16); may underflow to 0, harmlessly.
                p_bit = (if bit { p16 } else { 65536 - p16 }) as f32 * (1.0 / 65536.0);
                p_tok *= p_bit;
            }
            if group_end {
                self.prefetch_next_group(node << 1 | u32::from(bit), use_mctx);
            }

            // Learn.
            let limit = self.p.limit;
            // A state's counter pools many contexts, so it averages over a longer window
            // (limit 255 → 1020: enwik8_1M level 5 1.7685 → 1.7677 bpb).
            let state_limit = (4 * limit).min(1023);
            let direct_slot = use_direct && local < DIRECT_SLOTS;
            let sl = &slot_state[..n_orders];
            let learn = (sl, &prior_idx[..n_orders], local, bit, state_limit);
            // Const parameters again: the per-order checks leave the loop.
            match (use_prior, direct_slot) {
                (false, false) => self.learn_orders::<false, false>(learn),
                (true, false) => self.learn_orders::<true, false>(learn),
                (false, true) => self.learn_orders::<false, true>(learn),
                (true, true) => self.learn_orders::<true, true>(learn),
            }
            self.order0[o0].update(bit, limit);
            if ctx_maps {
                self.novelty[nov].update(bit, limit);
            }
            if use_runs {
                let run_rank = &self.run_rank[..n_orders];
                let run_counters = &mut self.run_counters[..n_orders];
                let (classes, used) = (&mut run_class[..n_orders], &run_used[..n_orders]);
                for i in 0..n_orders {
                    if classes[i] > 0 {
                        run_counters[i][usize::from(used[i])].update(bit, limit);
                        if (run_rank[i] >> rem) & 1 != u32::from(bit) {
                            classes[i] = 0;
                        }
                    }
                }
            }
            if let Some(i) = match_idx {
                self.matcher.counters[i].update(bit, limit);
                match_ok = (expected.unwrap_or(0) >> rem) & 1 == u32::from(bit);
            }
            if let Some(i) = long_idx {
                self.matcher.long_counters[i].update(bit, limit);
                long_ok = (lm.expected.unwrap_or(0) >> rem) & 1 == u32::from(bit);
            }
            if use_mctx {
                for (c, &j) in mctx_idx.iter().enumerate() {
                    let (counter, s) = &mut self.matcher.ctx[j];
                    counter.update(bit, limit);
                    self.matcher.state_map[c][usize::from(*s)].update(bit, state_limit);
                    *s = self.states.next(*s, bit);
                }
            }
            if ssm_tree && let Some(s) = &mut self.ssm {
                // FLAG_SSM_WEIGHT: scaled by the model's error on the bit.
                let scale = if ssm_weight {
                    ssm_input::tree_weight(p_bit)
                } else {
                    1.0
                };
                s.learn(bit, scale);
            }
            Mixer::update_all(&mut self.mixers[..n_mix], &inputs[..n_in], bit, lr_eff);
            if n_mix > 1 {
                self.final_mixer.update(&outs[..n_mix], bit);
                if mix2 {
                    self.final2.update(&outs[..n_mix], bit);
                }
            }
            self.apm1.update(bit);
            if use_apm2 {
                self.apm2.update(bit);
            }
            if use_apm3 {
                self.apm3.update(bit);
            }
            if use_sse {
                for a in &mut self.apmx {
                    a.update(bit);
                }
                self.sse_mixer.update(&sse_in[..n_sse], bit);
            }
            value = (value << 1) | u32::from(bit);
            local = (local << 1) | usize::from(bit);
        }
        debug_assert!(value < self.vocab);
        let t = self.unrank[value as usize];
        // First, so that the finders' entries arrive during the work below.
        self.matcher.push(t);
        self.n_tokens = self.n_tokens.saturating_add(1);
        let f = &mut self.followers[self.history[0] as usize];
        *f = *f << 16 | t;
        self.history.copy_within(0..MAX_ORDER_LEN as usize - 1, 1);
        self.history[0] = t;
        let len = u32::from(self.lens[t as usize]);
        let tail = self.tails[t as usize];
        self.text = if len >= 8 {
            tail
        } else {
            self.text << (8 * len) | tail
        };
        for i in (0..len).rev() {
            let b = (tail >> (8 * i)) as u8;
            if b == b'\n' {
                self.column = 0;
                self.line_first = 0;
            } else {
                if self.column == 0 {
                    self.line_first = b;
                }
                self.column = (self.column + 1).min(COLUMN_CAP);
            }
            if let Some(mk) = &mut self.markup {
                mk.update(b, self.word);
            }
            if let Some(m) = &mut self.more {
                m.update(b);
            }
            if let Some(t) = &mut self.topic {
                t.update(b, self.word);
            }
            if let Some(d) = &mut self.dist {
                d.update(b);
            }
            let class = match b {
                b'a'..=b'z' | b'A'..=b'Z' => 0,
                b'0'..=b'9' => 1,
                b' ' | b'\n' => 2,
                _ => 3,
            };
            self.shape = self.shape << 2 | class;
            if b.is_ascii_alphabetic() {
                self.word_len = self.word_len.saturating_add(1);
                self.word =
                    (self.word ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x100_0000_01B3);
            } else {
                if self.word != 0 {
                    self.word3 = self.prev_word;
                    self.prev_word = self.word;
                }
                self.word = 0;
                self.word_len = 0;
            }
        }
        let use_runs = self.p.flags & FLAG_RUNS != 0;
        if use_runs {
            let r = value;
            for i in 0..n_orders {
                let e = &mut self.runs[self.run_idx[i]];
                let check = (self.ctx_hash[i] >> 8) as u32 & 255;
                *e = if *e & 255 == check && *e >> 16 == r {
                    let c = (*e >> 8 & 255).min(254) + 1;
                    r << 16 | c << 8 | check
                } else {
                    r << 16 | 1 << 8 | check
                };
            }
        }
        self.hash_contexts();
        if use_runs {
            for (idx, &h) in self.run_idx[..n_orders]
                .iter_mut()
                .zip(&self.ctx_hash[..n_orders])
            {
                *idx = (h.wrapping_mul(PHI) >> self.run_shift) as usize;
                hw::prefetch(&self.runs, *idx);
            }
        }
        self.prefetch_buckets(1);
        // (The run entries are read at the start of the next token, `read_runs`.)
        self.matcher.update(t);
        self.prepare_match();
        if self.ssm.is_some() {
            // FLAG_SSM_SIDE: the markup state after the token.
            let mut side = match &self.markup {
                Some(m) if self.ssm_side => ssm_input::side_codes(m.small(), m.code(), m.field()),
                _ => [SIDE_NONE; SIDE_CODES],
            };
            if self.ssm_side2 {
                self.model_codes(t).codes(&mut side);
            }
            let w = self.ssm_weight.then(|| ssm_input::loss_weight(p_tok));
            if let Some(s) = &mut self.ssm {
                s.observe(t, side, w);
            }
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coder::{RangeDecoder, RangeEncoder};

    use crate::testutil::splitmix;

    /// Level 5 with small tables; shared with `ssm_input`'s tests.
    pub(super) fn small_params() -> Vec<u32> {
        let mut p = MixParams::for_level(5);
        p.table_log = 12;
        p.match_log = 12;
        p.hist_log = 14;
        p.apm_log = 10;
        p.to_list()
    }

    /// Codes `tokens` and decodes them again; shared with `ssm_input`'s tests.
    pub(super) fn round_trip(params: &[u32], vocab: usize, tokens: &[u32]) -> Vec<u8> {
        let mut m = MixModel::with_vocab_size(params, vocab).unwrap();
        let mut enc = RangeEncoder::new();
        for &t in tokens {
            assert_eq!(m.code(&mut enc, t).unwrap(), t);
        }
        let bytes = enc.finish();
        let mut m = MixModel::with_vocab_size(params, vocab).unwrap();
        let mut dec = RangeDecoder::new(&bytes);
        for (i, &t) in tokens.iter().enumerate() {
            assert_eq!(m.code(&mut dec, 0).unwrap(), t, "token {i}");
        }
        assert!(!dec.overran());
        bytes
    }

    /// The whole model codes the same bytes with the AVX2 mixer loops (where the CPU has
    /// them) and with the scalar reference loops, at every level's settings.
    #[test]
    fn avx2_and_scalar_mixers_code_the_same_bytes() {
        let mut seed = 7u64;
        let tokens: Vec<u32> = (0..6000u32)
            .map(|i| ((i * i / 7 + i / 13) % 300) ^ (splitmix(&mut seed) % 3) as u32)
            .collect();
        for level in [1, 5, 7] {
            let params = MixParams::for_level(level).to_list();
            let fast = round_trip(&params, 300, &tokens);
            hw::tests::FORCE_SCALAR.set(true);
            let scalar = round_trip(&params, 300, &tokens);
            hw::tests::FORCE_SCALAR.set(false);
            assert!(
                fast == scalar,
                "level {level}: AVX2 and scalar mixers differ"
            );
        }
    }

    #[test]
    fn round_trips_small_and_odd_vocabularies() {
        let params = small_params();
        round_trip(&params, 1, &[0; 50]);
        round_trip(&params, 2, &[1, 0, 1, 1, 0]);
        round_trip(&params, 256, &(0..256).collect::<Vec<_>>());
        round_trip(&params, 300, &[]);
        // Without the optional parts (run model, APM2, APM3) and with only some of them;
        // the context-map inputs without the run model, the unseen inputs with it.
        for flags in [
            0,
            FLAG_RUNS,
            FLAG_APM3,
            FLAG_CTX_MAPS,
            FLAG_UNSEEN | FLAG_RUNS,
            FLAG_SSE,
            FLAG_APM_COUNTS,
            FLAG_SSE | FLAG_APM_COUNTS | FLAG_APM_INTERP,
            FLAG_NEW_PRIOR,
            FLAG_DIRECT,
            FLAG_NEW_PRIOR | FLAG_DIRECT | FLAG_UNSEEN | FLAG_CTX_MAPS | FLAG_RUNS,
            FLAG_MARKUP_MIXER,
            FLAG_MARKUP_MIXER | FLAG_TEXT_MIXERS | FLAG_SSE,
            FLAG_MATCH_CTX,
            FLAG_LONG_MATCH,
            FLAG_MATCH_CTX | FLAG_LONG_MATCH | FLAG_SSE,
        ] {
            let mut p = MixParams::from_list(&params).unwrap();
            p.flags = flags;
            let toks: Vec<u32> = (0..3000).map(|i| (i * i / 7 % 300) as u32).collect();
            let a = round_trip(&p.to_list(), 300, &toks);
            assert!(a.len() < 3000, "flags {flags}: {} bytes", a.len());
        }
        // FLAG_MIX2 with six and seven mixers, with and without the markup state, and a
        // tree deeper than its node sets.
        for (mixers, clear) in [(6, 0), (7, FLAG_MARKUP_MIXER | FLAG_TEXT_MIXERS), (7, 0)] {
            let mut p = MixParams::from_list(&params).unwrap();
            p.mixers = mixers;
            p.flags = (p.flags | FLAG_MIX2) & !clear;
            let toks: Vec<u32> = (0..3000).map(|i| (i * i / 7 % 300) as u32).collect();
            let a = round_trip(&p.to_list(), 300, &toks);
            assert!(a.len() < 3000, "mixers {mixers}: {} bytes", a.len());
            let toks: Vec<u32> = (0..3000).map(|i| (i * 7919 % 60_000) as u32).collect();
            round_trip(&p.to_list(), 60_000, &toks);
        }
        let all: Vec<u32> = (0..MAX_VOCAB as u32)
            .rev()
            .chain([65_535, 0, 65_535])
            .collect();
        round_trip(&params, MAX_VOCAB, &all);
        let mut s = 7;
        for v in [3usize, 257, 1000, 8191, 8193] {
            let toks: Vec<u32> = (0..5000)
                .map(|_| (splitmix(&mut s) % v as u64) as u32)
                .collect();
            round_trip(&params, v, &toks);
        }
    }

    #[test]
    fn learns_repeats_and_is_deterministic() {
        let mut s = 3;
        let phrase: Vec<u32> = (0..500).map(|_| (splitmix(&mut s) % 4000) as u32).collect();
        let tokens: Vec<u32> = phrase.iter().cycle().take(20_000).copied().collect();
        let params = MixParams::for_level(5).to_list();
        let a = round_trip(&params, 4000, &tokens);
        let b = round_trip(&params, 4000, &tokens);
        assert_eq!(a, b);
        // 500 random tokens of 12 bits, then repeats: far below 12 bits per token.
        let bits = a.len() as f64 * 8.0 / tokens.len() as f64;
        assert!(bits < 1.0, "{bits} bits/token");
        // Random tokens stay near their entropy.
        let rnd: Vec<u32> = (0..20_000)
            .map(|_| (splitmix(&mut s) % 4096) as u32)
            .collect();
        let r = round_trip(&params, 4096, &rnd);
        let bits = r.len() as f64 * 8.0 / rnd.len() as f64;
        assert!(bits < 12.3, "{bits} bits/token on random");
    }

    /// A long repeat whose short contexts also occur in the noise before it: the short
    /// finder follows the latest occurrence of the last 3 tokens, the long finder the
    /// repeat, and the match contexts learn from both.
    #[test]
    fn long_finder_and_match_contexts_find_long_repeats() {
        let mut s = 11;
        let mut rnd =
            |n: usize| -> Vec<u32> { (0..n).map(|_| (splitmix(&mut s) % 16) as u32).collect() };
        let phrase = rnd(2000);
        let mut tokens = phrase.clone();
        tokens.extend(rnd(6000));
        // The repeat with every 25th token changed: after each change the short finder
        // finds the 3 tokens before in the noise, the long one the repeat.
        tokens.extend(
            phrase
                .iter()
                .enumerate()
                .map(|(i, &t)| if i % 25 == 24 { t ^ 5 } else { t }),
        );
        let mut p = MixParams::from_list(&small_params()).unwrap();
        let flags = p.flags & !(FLAG_LONG_MATCH | FLAG_MATCH_CTX);
        let mut sizes = [0usize; 3];
        for (n, f) in sizes
            .iter_mut()
            .zip([0, FLAG_LONG_MATCH, FLAG_LONG_MATCH | FLAG_MATCH_CTX])
        {
            p.flags = flags | f;
            *n = round_trip(&p.to_list(), 16, &tokens).len();
        }
        let [plain, long, both] = sizes;
        // The noise costs ~4 bits a token either way; the repeat ~300 bytes without a
        // match.
        assert!(
            long + 100 < plain,
            "long {long}, plain {plain}, both {both}"
        );
        assert!(both <= long + 10, "both {both}, long {long}");
    }

    #[test]
    fn rejects_bad_parameters() {
        let good = MixParams::for_level(5).to_list();
        assert!(MixModel::with_vocab_size(&good, 256).is_ok());
        assert!(MixModel::with_vocab_size(&good, 0).is_err());
        assert!(MixModel::with_vocab_size(&good, MAX_VOCAB + 1).is_err());
        assert!(MixModel::with_vocab_size(&good[..9], 256).is_err());
        for i in 0..good.len() {
            // (Bit 0 makes `1 << 30` an invalid `orders`: bit 30 alone is a context kind.)
            for bad in [u32::MAX, 1 << 30 | 1] {
                let mut p = good.clone();
                p[i] = bad;
                let r = MixParams::from_list(&p);
                assert!(
                    matches!(r, Err(crate::Error::Corrupt(_))),
                    "param {i} = {bad}"
                );
            }
        }
        // Order bit 0 and more than MAX_ORDERS orders are invalid.
        let mut p = MixParams::for_level(5);
        p.orders = 1;
        assert!(MixParams::from_list(&p.to_list()).is_err());
        // All 31 kinds and both flags' contexts are too many; 22 kinds and both are not.
        p.flags |= FLAG_FIELD | FLAG_MORE_CTX;
        p.orders = u32::MAX - 1;
        assert!(MixParams::from_list(&p.to_list()).is_err());
        p.orders = ((1 << (MAX_ORDERS - N_MORE)) - 1) << 1;
        assert!(MixParams::from_list(&p.to_list()).is_err());
        p.orders = ((1 << (MAX_ORDERS - N_MORE - 1)) - 1) << 1;
        assert!(MixParams::from_list(&p.to_list()).is_ok());
        p.flags &= !(FLAG_FIELD | FLAG_MORE_CTX);
        // Bits 1..=MAX_KIND (= 31) are kinds, so no higher bit is left to reject.
        p.orders = 1 << MAX_KIND;
        assert!(MixParams::from_list(&p.to_list()).is_ok());
        p.mixers = 0;
        assert!(MixParams::from_list(&p.to_list()).is_err());
        p.mixers = N_SETS as u32 + 1;
        assert!(MixParams::from_list(&p.to_list()).is_err());
        // More than five mixers only with FLAG_MIX2, more than seven only with FLAG_SEL too.
        p.mixers = N_SETS_MIX2 as u32;
        assert!(MixParams::from_list(&p.to_list()).is_err());
        p.flags |= FLAG_MIX2;
        assert!(MixParams::from_list(&p.to_list()).is_ok());
        p.mixers = N_SETS as u32;
        assert!(MixParams::from_list(&p.to_list()).is_err());
        p.flags |= FLAG_SEL;
        assert!(MixParams::from_list(&p.to_list()).is_ok());
        p.mixers = N_SETS as u32 + 1;
        assert!(MixParams::from_list(&p.to_list()).is_err());
        for level in 1..=9 {
            let p = MixParams::for_level(level);
            assert_eq!(MixParams::from_list(&p.to_list()).unwrap(), p);
        }
    }

    #[test]
    fn decoding_garbage_never_panics() {
        let params = small_params();
        let mut s = 5;
        for v in [2usize, 256, 16_384] {
            for _ in 0..10 {
                let bytes: Vec<u8> = (0..64).map(|_| splitmix(&mut s) as u8).collect();
                let mut m = MixModel::with_vocab_size(&params, v).unwrap();
                let mut dec = RangeDecoder::new(&bytes);
                for _ in 0..2000 {
                    let t = m.code(&mut dec, 0).unwrap();
                    assert!((t as usize) < v);
                }
            }
        }
    }

    #[test]
    fn memory_estimate_covers_allocations() {
        for level in 1..=9 {
            let p = MixParams::for_level(level);
            // Without the SSM input (it refuses V > 4096; ssm_input.rs tests its bound).
            let m = MixModel::with_vocab_size(&p.to_list()[..10], MAX_VOCAB).unwrap();
            let used = m.table.capacity()
                + m.more
                    .as_ref()
                    .map_or(0, |_| std::mem::size_of::<MoreText>())
                + m.direct.capacity() * 2
                + m.runs.capacity() * 4
                + m.run_counters.capacity() * RUN_COUNTERS * 4
                + (m.rank.capacity() + m.unrank.capacity()) * 4
                + m.matcher.hist.capacity() * 2
                + (m.matcher.short.table.capacity() + m.matcher.long.table.capacity()) * 4
                + m.matcher.ctx.capacity() * 8
                + (m.state_counters.capacity() * 256
                    + m.order0.capacity()
                    + m.novelty.capacity()
                    + m.priors.capacity()
                    + m.matcher.counters.capacity()
                    + m.matcher.long_counters.capacity()
                    + m.matcher.state_map.capacity() * 256)
                    * 4
                + (m.mixers.iter().map(Mixer::len).sum::<usize>()
                    + m.final_mixer.len()
                    + m.final2.len()
                    + m.sse_mixer.len())
                    * 4
                + (m.apm1.len()
                    + m.apm2.len()
                    + m.apm3.len()
                    + m.apmx.iter().map(Apm::len).sum::<usize>())
                    * 2;
            assert!((used as u64) <= p.memory(MAX_VOCAB), "level {level}");
            // The stride is the inputs in use, at most MAX_INPUTS (+ MAX_ORDERS with
            // FLAG_DIRECT, +1 with the SSM input).
            assert!(m.mixers[0].len() <= (MAX_INPUTS + MAX_ORDERS) * SET0);
        }
    }
}
