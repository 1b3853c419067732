//! The hasher behind every map the matcher consults per event. Keys are short field
//! names and values, looked up dozens of times per event, where SipHash's cost would be
//! a large share of the matching budget. Only rule authors choose what is inserted, and
//! the seed is drawn per process, so flooding one bucket takes more than knowing this
//! code.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// A `HashMap` with the fast hasher.
pub(crate) type FastMap<K, V> = HashMap<K, V, FastState>;

const MUL: u64 = 0x9e37_79b9_7f4a_7c15;

fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64))
}

/// Builds [`FastHasher`]s from the process seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastState(u64);

impl Default for FastState {
    fn default() -> Self {
        Self(seed())
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;

    fn build_hasher(&self) -> FastHasher {
        FastHasher(self.0)
    }
}

/// Folds input eight bytes at a time with a multiply whose high and low halves are
/// mixed back together, so every input bit reaches the top bits hash tables use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastHasher(u64);

fn fold(a: u64, b: u64) -> u64 {
    let full = u128::from(a).wrapping_mul(u128::from(b));
    // Truncation keeps the low half on purpose; the high half is folded in.
    (full as u64) ^ ((full >> 64) as u64)
}

impl FastHasher {
    fn mix(&mut self, word: u64) {
        self.0 = fold(self.0 ^ word, MUL);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length keeps "a" and "a\0" apart.
            self.mix(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.mix(u64::from(n) | 0x100);
    }

    fn write_u32(&mut self, n: u32) {
        self.mix(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }

    fn write_u128(&mut self, n: u128) {
        // Both halves are wanted; the casts split the value.
        self.mix(n as u64);
        self.mix((n >> 64) as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    fn finish(&self) -> u64 {
        fold(self.0, MUL.rotate_left(17))
    }
}
