//! A hash table keyed by short byte strings, for the lookups matching makes per event
//! field: every key of every object on a mentioned path, and every string value at a
//! field with exact-value edges. Field names and values are mostly under 16 bytes; the
//! table keeps a key's first and last eight bytes in the slot, so such keys are hashed
//! from two loads and compared without touching the heap or calling `memcmp`, where a
//! general-purpose map spends most of its time.

use std::mem;

/// The first and last (up to) eight bytes of `key`, zero-extended. Together with the
/// length they determine keys of up to 16 bytes completely.
fn words(key: &[u8]) -> (u64, u64) {
    let n = key.len();
    let load = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&key[at..at + 8]);
        u64::from_le_bytes(w)
    };
    if n >= 8 {
        (load(0), load(n - 8))
    } else if n >= 4 {
        let mut lo = [0u8; 4];
        let mut hi = [0u8; 4];
        lo.copy_from_slice(&key[..4]);
        hi.copy_from_slice(&key[n - 4..]);
        (
            u64::from(u32::from_le_bytes(lo)) | u64::from(u32::from_le_bytes(hi)) << 32,
            0,
        )
    } else if n > 0 {
        (
            u64::from(key[0]) | u64::from(key[n / 2]) << 8 | u64::from(key[n - 1]) << 16,
            0,
        )
    } else {
        (0, 0)
    }
}

fn hash(w0: u64, w1: u64, len: usize) -> usize {
    let x = (w0 ^ w1.rotate_left(31) ^ (len as u64).rotate_left(57))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    // The high bits are the well-mixed ones; usize is at least 32 bits.
    (x >> 32) as usize
}

#[derive(Debug, Clone)]
struct Slot<V> {
    w0: u64,
    w1: u64,
    key: Box<[u8]>,
    value: V,
}

impl<V> Slot<V> {
    fn is(&self, w0: u64, w1: u64, key: &[u8]) -> bool {
        self.w0 == w0
            && self.w1 == w1
            && self.key.len() == key.len()
            && (key.len() <= 16 || self.key[8..] == key[8..])
    }
}

/// Open addressing with linear probing, at most half full; removal shifts followers back
/// so lookups never meet tombstones.
#[derive(Debug, Clone)]
pub(crate) struct KeyTable<V> {
    slots: Vec<Option<Slot<V>>>,
    len: usize,
    /// One bit per key, from its length and end bytes: most absent keys (an event's
    /// fields no pattern mentions) are turned away by this alone, without a probe.
    filter: u64,
}

impl<V> Default for KeyTable<V> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            len: 0,
            filter: 0,
        }
    }
}

#[inline(always)]
fn filter_bit(key: &[u8]) -> u64 {
    let n = key.len();
    let ends = match (key.first(), key.last()) {
        (Some(&first), Some(&last)) => u32::from(first) ^ u32::from(last) << 3,
        _ => 0,
    };
    1 << (((n as u32).wrapping_mul(0x9e37) ^ ends) & 63)
}

impl<V> KeyTable<V> {
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    fn find(&self, key: &[u8]) -> Option<usize> {
        if self.filter & filter_bit(key) == 0 {
            return None;
        }
        let (w0, w1) = words(key);
        let mask = self.slots.len() - 1;
        let mut i = hash(w0, w1, key.len()) & mask;
        loop {
            match &self.slots[i] {
                None => return None,
                Some(s) if s.is(w0, w1, key) => return Some(i),
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    #[inline(always)]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&V> {
        let i = self.find(key)?;
        self.slots[i].as_ref().map(|s| &s.value)
    }

    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let i = self.find(key)?;
        self.slots[i].as_mut().map(|s| &mut s.value)
    }

    /// The value under `key`, inserted by `make` if absent.
    pub(crate) fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(key) {
            Some(i) => i,
            None => {
                if (self.len + 1) * 2 > self.slots.len() {
                    self.grow();
                }
                let (w0, w1) = words(key);
                let i = self.free_slot(hash(w0, w1, key.len()));
                self.slots[i] = Some(Slot {
                    w0,
                    w1,
                    key: key.into(),
                    value: make(),
                });
                self.len += 1;
                self.filter |= filter_bit(key);
                i
            }
        };
        match &mut self.slots[i] {
            Some(s) => &mut s.value,
            None => unreachable!("slot {i} was just found or filled"),
        }
    }

    fn free_slot(&self, h: usize) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = h & mask;
        while self.slots[i].is_some() {
            i = (i + 1) & mask;
        }
        i
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(8);
        let old = mem::replace(&mut self.slots, (0..size).map(|_| None).collect());
        for slot in old.into_iter().flatten() {
            let i = self.free_slot(hash(slot.w0, slot.w1, slot.key.len()));
            self.slots[i] = Some(slot);
        }
    }

    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<V> {
        let mut hole = self.find(key)?;
        let removed = self.slots[hole].take();
        self.len -= 1;
        let mask = self.slots.len() - 1;
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let Some(s) = &self.slots[j] else { break };
            let home = hash(s.w0, s.w1, s.key.len()) & mask;
            // Move the follower back if its home is not cyclically in (hole, j].
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.slots[hole] = self.slots[j].take();
                hole = j;
            }
        }
        self.filter = self
            .slots
            .iter()
            .flatten()
            .fold(0, |f, s| f | filter_bit(&s.key));
        removed.map(|s| s.value)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::KeyTable;

    proptest! {
        /// Any sequence of inserts and removals leaves the table answering as a
        /// `HashMap` does, for keys of every length class (under 4, 4–7, 8–16, longer)
        /// that share prefixes and suffixes.
        #[test]
        fn behaves_like_a_map(ops in prop::collection::vec((any::<bool>(), 0usize..40), 1..300)) {
            let make = |k: usize| -> Vec<u8> {
                let stem = ["", "a", "ab", "abcd", "abcdefg", "abcdefgh", "abcdefghijklmnop", "abcdefghijklmnopq"];
                let mut v = stem[k % stem.len()].as_bytes().to_vec();
                v.extend(std::iter::repeat_n(b'x', k / stem.len()));
                v
            };
            let mut table = KeyTable::default();
            let mut model = HashMap::new();
            for (insert, k) in ops {
                let key = make(k);
                if insert {
                    *table.get_or_insert_with(&key, || 0) += 1;
                    *model.entry(key).or_insert(0) += 1;
                } else {
                    prop_assert_eq!(table.remove(&key), model.remove(&key));
                }
                prop_assert_eq!(table.is_empty(), model.is_empty());
                for probe in 0..40 {
                    let key = make(probe);
                    prop_assert_eq!(table.get(&key), model.get(&key));
                }
            }
        }
    }
}
