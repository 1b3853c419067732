//! Acknowledged rows not yet in segments, as Arrow batches per hourly partition. Queries
//! read them next to the segments, so a write is visible as soon as it is acknowledged.

use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;
use std::collections::BTreeMap;

/// The hourly partition a row belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionKey {
    pub dataset: String,
    pub account: String,
    pub region: String,
    /// Hours since the Unix epoch.
    pub hour: i64,
}

/// Batches built by the appending task, handed to the WAL writer to publish once durable.
#[derive(Debug, Default)]
pub struct Prepared {
    pub batches: Vec<(PartitionKey, RecordBatch)>,
}

#[derive(Debug, Default)]
pub struct Buffer {
    /// Per partition: (WAL generation, batch), in append order.
    partitions: BTreeMap<PartitionKey, Vec<(u64, RecordBatch)>>,
    rows: usize,
    /// Arrow memory of the batches held: what bounds the server's memory between
    /// flushes, since row sizes vary by dataset and by caller.
    bytes: usize,
}

impl Buffer {
    pub fn insert(&mut self, generation: u64, prepared: Prepared) {
        for (key, batch) in prepared.batches {
            self.rows += batch.num_rows();
            self.bytes += batch.get_array_memory_size();
            let batches = self.partitions.entry(key).or_default();
            batches.push((generation, batch));
            for limit in [32, 1024] {
                if let Some((before, after)) = coalesce_tail(batches, limit) {
                    self.bytes = self.bytes.saturating_sub(before) + after;
                }
            }
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The (account, region) pairs with buffered rows of a dataset.
    pub fn scopes(&self, dataset: &str) -> Vec<(String, String)> {
        self.partitions
            .keys()
            .filter(|k| k.dataset == dataset)
            .map(|k| (k.account.clone(), k.region.clone()))
            .collect()
    }

    /// Batches of one dataset and account (all regions), for a query snapshot.
    pub fn batches(&self, dataset: &str, account: &str) -> Vec<(PartitionKey, RecordBatch)> {
        self.partitions
            .iter()
            .filter(|(k, _)| k.dataset == dataset && k.account == account)
            .flat_map(|(k, v)| v.iter().map(move |(_, b)| (k.clone(), b.clone())))
            .collect()
    }

    /// Everything written up to `generation`, grouped by partition, for a flush.
    pub fn up_to(&self, generation: u64) -> Vec<(PartitionKey, Vec<RecordBatch>)> {
        self.partitions
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.iter()
                        .filter(|(g, _)| *g <= generation)
                        .map(|(_, b)| b.clone())
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, v)| !v.is_empty())
            .collect()
    }

    /// Drops what a flush moved into segments.
    pub fn remove_up_to(&mut self, generation: u64) {
        for v in self.partitions.values_mut() {
            v.retain(|(g, _)| *g > generation);
        }
        self.partitions.retain(|_, v| !v.is_empty());
        self.recount();
    }

    /// Drops partitions older than `hour` (retention).
    pub fn remove_before(&mut self, dataset: &str, hour: i64) {
        self.partitions
            .retain(|k, _| k.dataset != dataset || k.hour >= hour);
        self.recount();
    }

    fn recount(&mut self) {
        let all = || self.partitions.values().flatten().map(|(_, b)| b);
        self.rows = all().map(RecordBatch::num_rows).sum();
        self.bytes = all().map(RecordBatch::get_array_memory_size).sum();
    }
}

/// Batches merged at once; a row is copied at most once per tier.
const RUN: usize = 32;

/// Under load each append brings a few rows, and thousands of tiny batches would make
/// every query snapshot and flush slow (and each carries fixed overhead). A run of
/// `RUN` trailing batches of one generation, each under `limit` rows, is merged into
/// one; if the merge fails the batches stay as they are. Returns the memory of the
/// merged batches before and after.
fn coalesce_tail(batches: &mut Vec<(u64, RecordBatch)>, limit: usize) -> Option<(usize, usize)> {
    let (generation, _) = batches.last()?;
    let generation = *generation;
    let run = batches
        .iter()
        .rev()
        .take_while(|(g, b)| *g == generation && b.num_rows() < limit)
        .count();
    if run < RUN {
        return None;
    }
    let at = batches.len() - run;
    let tail: Vec<RecordBatch> = batches[at..].iter().map(|(_, b)| b.clone()).collect();
    let merged = concat_batches(&tail[0].schema(), &tail).ok()?;
    let before = tail.iter().map(RecordBatch::get_array_memory_size).sum();
    let after = merged.get_array_memory_size();
    batches.truncate(at);
    batches.push((generation, merged));
    Some((before, after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(from: i64, n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from_iter_values(from..from + n))],
        )
        .unwrap()
    }

    fn key() -> PartitionKey {
        PartitionKey {
            dataset: "d".into(),
            account: "a".into(),
            region: "r".into(),
            hour: 1,
        }
    }

    fn values(b: &Buffer) -> Vec<i64> {
        b.batches("d", "a")
            .iter()
            .flat_map(|(_, b)| {
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                a.values().to_vec()
            })
            .collect()
    }

    #[test]
    fn single_row_appends_are_merged_in_order_without_crossing_generations() {
        let mut buf = Buffer::default();
        for i in 0..5000 {
            let generation = if i < 2500 { 1 } else { 2 };
            buf.insert(
                generation,
                Prepared {
                    batches: vec![(key(), batch(i, 1))],
                },
            );
        }
        assert_eq!(buf.rows(), 5000);
        assert_eq!(values(&buf), (0..5000).collect::<Vec<_>>());
        // The running byte count is what a recount finds.
        let counted = buf.bytes();
        buf.recount();
        assert_eq!(counted, buf.bytes());
        assert!(counted > 5000 * 8);
        let batches = buf.batches("d", "a").len();
        assert!(
            batches < 200,
            "{batches} batches after 5000 one-row appends"
        );
        // A flush of generation 1 takes exactly its rows.
        let first: usize = buf
            .up_to(1)
            .iter()
            .flat_map(|(_, v)| v.iter().map(RecordBatch::num_rows))
            .sum();
        assert_eq!(first, 2500);
        buf.remove_up_to(1);
        assert_eq!(values(&buf), (2500..5000).collect::<Vec<_>>());
    }
}
