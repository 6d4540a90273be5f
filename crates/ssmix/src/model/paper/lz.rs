//! The LZ pair predictor (StateSMix §7): a direct-mapped table from the last two tokens
//! to the token that followed them, with a confidence count.

/// Counts stop growing here (reference 30,000).
const MAX_COUNT: u64 = 30_000;

/// One entry packed in a `u64`: key `p2 << 16 | p1` in bits 0..32, token in 32..48, count
/// in 48..63, bit 63 set when valid. Zeroed memory is an empty table, so the OS hands out
/// pages only as they are touched.
const VALID: u64 = 1 << 63;

/// The LZ pair table.
pub(crate) struct LzPairs {
    table: Vec<u64>,
    mask: u32,
}

impl LzPairs {
    /// A table of `2^log` entries.
    pub(crate) fn new(log: u32) -> Self {
        LzPairs {
            table: vec![0; 1 << log],
            mask: (1u32 << log) - 1,
        }
    }

    /// Bytes held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.table.capacity() * 8
    }

    /// Slot and key of the context `(p2, p1)` (p1 newest), as the reference hashes it.
    #[inline]
    pub(crate) fn locate(&self, p2: u32, p1: u32) -> (usize, u32) {
        let h = p2
            .wrapping_mul(7919)
            .wrapping_add(p1.wrapping_mul(104_729))
            .wrapping_add(1_000_003);
        ((h & self.mask) as usize, (p2 << 16) | p1)
    }

    /// The predicted token and its count, if the slot holds this key.
    #[inline]
    pub(crate) fn predict(&self, slot: usize, key: u32) -> Option<(u32, u32)> {
        let e = self.table[slot];
        (e & VALID != 0 && e as u32 == key)
            .then_some((((e >> 32) & 0xFFFF) as u32, ((e >> 48) & 0x7FFF) as u32))
    }

    /// Learns that `token` followed the key (reference update rule).
    #[inline]
    pub(crate) fn update(&mut self, slot: usize, key: u32, token: u32) {
        let e = self.table[slot];
        let fresh = VALID | (1 << 48) | (u64::from(token) << 32) | u64::from(key);
        if e & VALID == 0 {
            self.table[slot] = fresh;
            return;
        }
        let count = (e >> 48) & 0x7FFF;
        if e as u32 == key && ((e >> 32) & 0xFFFF) as u32 == token {
            if count < MAX_COUNT {
                self.table[slot] = e + (1 << 48);
            }
        } else if count <= 1 {
            self.table[slot] = fresh;
        } else {
            self.table[slot] = e - (1 << 48);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_update_rule() {
        let mut lz = LzPairs::new(10);
        let (s, k) = lz.locate(3, 4);
        assert_eq!(lz.predict(s, k), None);
        lz.update(s, k, 9);
        lz.update(s, k, 9);
        assert_eq!(lz.predict(s, k), Some((9, 2)));
        lz.update(s, k, 7); // Other token: count down.
        assert_eq!(lz.predict(s, k), Some((9, 1)));
        lz.update(s, k, 7); // Count 1: replaced.
        assert_eq!(lz.predict(s, k), Some((7, 1)));
        for _ in 0..40_000 {
            lz.update(s, k, 7);
        }
        assert_eq!(lz.predict(s, k), Some((7, 30_000)));
        let (s2, k2) = lz.locate(65_535, 65_535);
        lz.update(s2, k2, 65_535);
        assert_eq!(lz.predict(s2, k2), Some((65_535, 1)));
    }
}
