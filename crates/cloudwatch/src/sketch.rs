//! Percentiles from a mergeable sketch: values fall into logarithmic buckets whose
//! width is a fixed fraction of their value (as in DDSketch), so any percentile read
//! back is within 1% of a value that really is at that rank, however many samples and
//! however many merges (rollups, many rows of one period) went into it.

/// Relative accuracy: every bucket's representative is within this fraction of every
/// value in the bucket.
pub const RELATIVE_ACCURACY: f64 = 0.01;

fn gamma() -> f64 {
    (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)
}

/// Values with a magnitude below this count as zero (CloudWatch's smallest accepted
/// magnitude is 2^-260, far below anything a percentile distinguishes).
const MIN_MAGNITUDE: f64 = 1e-100;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sketch {
    /// Sorted by index; counts may be fractional (PutMetricData `Counts` are doubles).
    positive: Vec<(i32, f64)>,
    negative: Vec<(i32, f64)>,
    zero: f64,
}

fn index_of(magnitude: f64) -> i32 {
    (magnitude.ln() / gamma().ln()).ceil() as i32
}

fn value_of(index: i32) -> f64 {
    let g = gamma();
    2.0 * g.powi(index) / (g + 1.0)
}

fn add_bucket(buckets: &mut Vec<(i32, f64)>, index: i32, count: f64) {
    match buckets.binary_search_by_key(&index, |(i, _)| *i) {
        Ok(p) => buckets[p].1 += count,
        Err(p) => buckets.insert(p, (index, count)),
    }
}

fn merge_buckets(into: &mut Vec<(i32, f64)>, from: &[(i32, f64)]) {
    if from.is_empty() {
        return;
    }
    if into.is_empty() {
        into.extend_from_slice(from);
        return;
    }
    let mut out = Vec::with_capacity(into.len() + from.len());
    let (mut a, mut b) = (0, 0);
    while a < into.len() || b < from.len() {
        match (into.get(a), from.get(b)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                out.push((x.0, x.1 + y.1));
                a += 1;
                b += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                out.push(*x);
                a += 1;
            }
            (Some(_), Some(y)) | (None, Some(y)) => {
                out.push(*y);
                b += 1;
            }
            (Some(x), None) => {
                out.push(*x);
                a += 1;
            }
            (None, None) => break,
        }
    }
    *into = out;
}

impl Sketch {
    pub fn of(value: f64, count: f64) -> Sketch {
        let mut s = Sketch::default();
        s.add(value, count);
        s
    }

    pub fn add(&mut self, value: f64, count: f64) {
        if value.abs() < MIN_MAGNITUDE {
            self.zero += count;
        } else if value > 0.0 {
            add_bucket(&mut self.positive, index_of(value), count);
        } else {
            add_bucket(&mut self.negative, index_of(-value), count);
        }
    }

    pub fn merge(&mut self, other: &Sketch) {
        merge_buckets(&mut self.positive, &other.positive);
        merge_buckets(&mut self.negative, &other.negative);
        self.zero += other.zero;
    }

    pub fn count(&self) -> f64 {
        self.zero
            + self.positive.iter().map(|(_, c)| c).sum::<f64>()
            + self.negative.iter().map(|(_, c)| c).sum::<f64>()
    }

    /// The value at percentile `p` (0–100), clamped to the true minimum and maximum
    /// the caller tracks exactly.
    pub fn percentile(&self, p: f64, min: f64, max: f64) -> Option<f64> {
        let total = self.count();
        if total <= 0.0 {
            return None;
        }
        if p <= 0.0 {
            return Some(min);
        }
        if p >= 100.0 {
            return Some(max);
        }
        // The rank of the value at p, counted from the lowest value (nearest rank).
        let rank = (p / 100.0 * total).ceil().max(1.0);
        let mut seen = 0.0;
        // Lowest first: negative buckets from the largest magnitude down.
        for (i, c) in self.negative.iter().rev() {
            seen += c;
            if seen >= rank {
                return Some((-value_of(*i)).clamp(min, max));
            }
        }
        seen += self.zero;
        if seen >= rank {
            return Some(0.0_f64.clamp(min, max));
        }
        for (i, c) in &self.positive {
            seen += c;
            if seen >= rank {
                return Some(value_of(*i).clamp(min, max));
            }
        }
        Some(max)
    }

    /// Compact form for the lake: a tag byte, the zero count, then (index, count)
    /// pairs of each sign.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(1 + 8 + 8 + 12 * (self.positive.len() + self.negative.len()));
        out.push(1);
        out.extend_from_slice(&self.zero.to_le_bytes());
        for side in [&self.positive, &self.negative] {
            out.extend_from_slice(&(side.len() as u32).to_le_bytes());
            for (i, c) in side {
                out.extend_from_slice(&i.to_le_bytes());
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Sketch> {
        let mut r = Reader(bytes);
        if r.take::<1>()?[0] != 1 {
            return None;
        }
        let zero = f64::from_le_bytes(r.take::<8>()?);
        let mut sides = [Vec::new(), Vec::new()];
        for side in &mut sides {
            let n = u32::from_le_bytes(r.take::<4>()?) as usize;
            if n > bytes.len() / 12 {
                return None;
            }
            for _ in 0..n {
                let i = i32::from_le_bytes(r.take::<4>()?);
                let c = f64::from_le_bytes(r.take::<8>()?);
                side.push((i, c));
            }
        }
        let [positive, negative] = sides;
        Some(Sketch {
            positive,
            negative,
            zero,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        if self.0.len() < N {
            return None;
        }
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        head.try_into().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn percentiles_are_within_the_relative_accuracy(
            values in proptest::collection::vec(-1e6f64..1e6, 1..300),
            p in 1.0f64..99.0,
        ) {
            let mut s = Sketch::default();
            for v in &values { s.add(*v, 1.0); }
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let rank = ((p / 100.0 * sorted.len() as f64).ceil() as usize).max(1);
            let exact = sorted[rank - 1];
            let got = s.percentile(p, sorted[0], sorted[sorted.len() - 1]).unwrap_or(f64::NAN);
            prop_assert!((got - exact).abs() <= exact.abs() * RELATIVE_ACCURACY * 1.0001 + 1e-9,
                "p{p}: got {got}, exact {exact}");
            let back = Sketch::from_bytes(&s.to_bytes());
            prop_assert_eq!(back, Some(s));
        }

        #[test]
        fn merging_equals_adding(a in proptest::collection::vec(0.001f64..1e9, 0..50),
                                 b in proptest::collection::vec(0.001f64..1e9, 0..50)) {
            let mut x = Sketch::default();
            let mut y = Sketch::default();
            let mut all = Sketch::default();
            for v in &a { x.add(*v, 1.0); all.add(*v, 1.0); }
            for v in &b { y.add(*v, 2.0); all.add(*v, 2.0); }
            x.merge(&y);
            prop_assert_eq!(x, all);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Sketch::from_bytes(&bytes);
        }
    }
}
