//! Sparse token n-gram counts (StateSMix §6): a direct table for the bigram and hashed
//! tables for longer contexts, all keeping successor lists of `(token, count)` pairs in
//! one shared arena.
//!
//! Memory follows use instead of the reference's fixed 48-byte slots: a hashed table is an
//! array of 8-byte slots (40 bits of the context hash, 24 bits of list id) that doubles
//! when half full, up to a hard cap of slots; each context's list is a header (arena
//! offset, length) and a power-of-two chunk of 4-byte `(u16 token, u16 count)` entries.
//! Once a table is at its cap, the reference's rule applies: an insertion that finds no
//! free slot among 8 linear probes is dropped.

/// Linear probes before an insertion is dropped (reference `8`).
const PROBES: usize = 8;
/// List ids live in the low 24 bits of a slot; 0 marks an empty slot.
const ID_BITS: u32 = 24;
const ID_MASK: u64 = (1 << ID_BITS) - 1;
/// The most contexts one hashed table can hold.
pub(crate) const MAX_LISTS: u32 = (1 << ID_BITS) - 1;
/// Counts saturate here (they are 16-bit, as in the reference).
pub(crate) const MAX_COUNT: u32 = u16::MAX as u32;
const NONE: u32 = u32::MAX;
/// Chunk size classes 2^0 ..= 2^16 (a context can have every token as a successor).
const CLASSES: usize = 17;

/// A successor entry: token in the low 16 bits, count in the high 16.
#[inline]
pub(crate) fn entry_token(e: u32) -> u32 {
    e & 0xFFFF
}
#[inline]
pub(crate) fn entry_count(e: u32) -> u32 {
    e >> 16
}

/// Where a context's successor list lives in the [`Arena`]; `len == 0` means no list yet.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ListHead {
    off: u32,
    len: u32,
}

/// Capacity of a list of `len >= 1` entries.
#[inline]
fn cap_of(len: u32) -> u32 {
    len.next_power_of_two()
}

/// Power-of-two chunks of successor entries with one free list per size class. Grows on
/// demand (amortised doubling) up to `u32::MAX` entries; past that, new entries are
/// dropped.
pub(crate) struct Arena {
    mem: Vec<u32>,
    free: [u32; CLASSES],
}

impl Arena {
    pub(crate) fn new() -> Self {
        Arena {
            mem: Vec::new(),
            free: [NONE; CLASSES],
        }
    }

    /// Bytes held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.mem.capacity() * 4
    }

    fn alloc(&mut self, class: u32) -> Option<u32> {
        let c = class as usize;
        let head = self.free[c];
        if head != NONE {
            // A free chunk's first entry links to the next free chunk of its class.
            self.free[c] = self.mem[head as usize];
            return Some(head);
        }
        let at = self.mem.len();
        let size = 1usize << class;
        if at + size > u32::MAX as usize {
            return None;
        }
        self.mem.resize(at + size, 0);
        Some(at as u32)
    }

    fn release(&mut self, head: u32, class: u32) {
        self.mem[head as usize] = self.free[class as usize];
        self.free[class as usize] = head;
    }

    /// The entries of a list.
    #[inline]
    pub(crate) fn list(&self, h: ListHead) -> &[u32] {
        &self.mem[h.off as usize..(h.off + h.len) as usize]
    }

    /// Counts `token` once more in the list `h` (appending it with count 1 if new).
    /// Returns false (and changes nothing) if the arena is full.
    pub(crate) fn bump(&mut self, h: &mut ListHead, token: u32) -> bool {
        let (off, len) = (h.off as usize, h.len as usize);
        if let Some(e) = self.mem[off..off + len]
            .iter_mut()
            .find(|e| entry_token(**e) == token)
        {
            if entry_count(*e) < MAX_COUNT {
                *e += 1 << 16;
            }
            return true;
        }
        if h.len == 0 || h.len == cap_of(h.len) {
            // No chunk yet, or full: move to one twice the size.
            let class = if h.len == 0 { 0 } else { h.len.ilog2() + 1 };
            let Some(new) = self.alloc(class) else {
                return false;
            };
            if h.len != 0 {
                self.mem.copy_within(off..off + len, new as usize);
                self.release(h.off, h.len.ilog2());
            }
            h.off = new;
        }
        self.mem[(h.off + h.len) as usize] = token | (1 << 16);
        h.len += 1;
        true
    }
}

/// The result of looking a context up in a [`HashTable`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Probe {
    /// The context has a list: its id.
    Found(u32),
    /// Not present; the slot where it would be inserted (if any of the probes was free).
    Absent(Option<usize>),
}

/// Open-addressing table from context hashes to list ids; see the module docs.
pub(crate) struct HashTable {
    /// `hash & !ID_MASK | id`, or 0 for an empty slot.
    slots: Vec<u64>,
    log: u32,
    max_log: u32,
    /// `heads[id - 1]` is the list of context `id`.
    heads: Vec<ListHead>,
}

impl HashTable {
    /// A table of `2^log` slots that may double up to `2^max_log`.
    pub(crate) fn new(log: u32, max_log: u32) -> Self {
        HashTable {
            slots: vec![0; 1 << log],
            log,
            max_log,
            heads: Vec::new(),
        }
    }

    /// Bytes held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.slots.capacity() * 8 + self.heads.capacity() * std::mem::size_of::<ListHead>()
    }

    /// First slot for `hash`: its top bits, so that doubling only needs the stored bits.
    #[inline]
    fn home(&self, hash: u64) -> usize {
        (hash >> (64 - self.log)) as usize
    }

    /// Looks up the context with 64-bit `hash` (stops at the first empty slot or match).
    #[inline]
    pub(crate) fn probe(&self, hash: u64) -> Probe {
        let tag = hash & !ID_MASK;
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        for _ in 0..PROBES {
            let s = self.slots[i];
            if s == 0 {
                return Probe::Absent(Some(i));
            }
            if s & !ID_MASK == tag {
                return Probe::Found((s & ID_MASK) as u32);
            }
            i = (i + 1) & mask;
        }
        Probe::Absent(None)
    }

    /// The list of context `id` (from [`Probe::Found`]).
    #[inline]
    pub(crate) fn head(&self, id: u32) -> ListHead {
        self.heads[id as usize - 1]
    }

    /// Records `token` after the context `hash`, whose lookup gave `probe`.
    pub(crate) fn update(&mut self, arena: &mut Arena, hash: u64, probe: Probe, token: u32) {
        let slot = match probe {
            Probe::Found(id) => {
                let h = &mut self.heads[id as usize - 1];
                arena.bump(h, token);
                return;
            }
            Probe::Absent(slot) => slot,
        };
        if self.heads.len() as u32 >= MAX_LISTS {
            return;
        }
        // Keep the load at most 1/2 while growth is allowed; the slot found before may
        // have moved, so probe again.
        let slot = if 2 * (self.heads.len() + 1) > self.slots.len() && self.log < self.max_log {
            self.grow();
            // The context was absent before growing, so it cannot be found now.
            match self.probe(hash) {
                Probe::Absent(s) => s,
                Probe::Found(_) => None,
            }
        } else {
            slot
        };
        // All probes held other contexts: drop the update (reference rule).
        let Some(slot) = slot else { return };
        let mut h = ListHead::default();
        if !arena.bump(&mut h, token) {
            return;
        }
        self.heads.push(h);
        self.slots[slot] = (hash & !ID_MASK) | self.heads.len() as u64;
    }

    /// Doubles the slot array and reinserts every context (a context that finds no free
    /// slot among the probes is dropped, deterministically).
    fn grow(&mut self) {
        let old = std::mem::replace(&mut self.slots, vec![0; 2 << self.log]);
        self.log += 1;
        let mask = self.slots.len() - 1;
        for s in old.into_iter().filter(|&s| s != 0) {
            let mut i = self.home(s);
            for _ in 0..PROBES {
                if self.slots[i] == 0 {
                    self.slots[i] = s;
                    break;
                }
                i = (i + 1) & mask;
            }
        }
    }
}

/// MurmurHash3's 64-bit finaliser (reference key mixing for long contexts).
#[inline]
pub(crate) fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_lists_grow_and_count() {
        let mut a = Arena::new();
        let mut h = ListHead::default();
        for t in 0..100u32 {
            for _ in 0..=t % 3 {
                assert!(a.bump(&mut h, t));
            }
        }
        let l = a.list(h);
        assert_eq!(l.len(), 100);
        for (t, &e) in l.iter().enumerate() {
            assert_eq!(entry_token(e), t as u32);
            assert_eq!(entry_count(e), t as u32 % 3 + 1);
        }
        // Freed chunks are reused: a second list of the same shape needs no new memory
        // beyond its final chunk.
        let before = a.mem.len();
        let mut h2 = ListHead::default();
        for t in 0..64u32 {
            a.bump(&mut h2, t);
        }
        assert_eq!(a.mem.len(), before);
        // Saturation.
        let mut h3 = ListHead::default();
        for _ in 0..70_000 {
            a.bump(&mut h3, 5);
        }
        assert_eq!(entry_count(a.list(h3)[0]), MAX_COUNT);
    }

    #[test]
    fn table_grows_and_keeps_contexts() {
        let mut a = Arena::new();
        let mut t = HashTable::new(4, 12);
        let hash = |i: u64| fmix64(i + 1);
        for i in 0..1000u64 {
            let p = t.probe(hash(i));
            t.update(&mut a, hash(i), p, i as u32 & 0xFFFF);
        }
        assert!(t.log > 4 && t.log <= 12);
        let mut found = 0;
        for i in 0..1000u64 {
            if let Probe::Found(id) = t.probe(hash(i)) {
                assert_eq!(entry_token(a.list(t.head(id))[0]), i as u32);
                found += 1;
            }
        }
        assert!(found >= 990, "{found}");
        // At the cap, insertions beyond the probes are dropped, not looped on.
        let mut t = HashTable::new(3, 3);
        for i in 0..100u64 {
            let p = t.probe(hash(i));
            t.update(&mut a, hash(i), p, 1);
        }
        assert!(t.heads.len() <= 8);
    }
}
