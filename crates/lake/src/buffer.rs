//! Acknowledged rows not yet in segments, as Arrow batches per hourly partition. Queries
//! read them next to the segments, so a write is visible as soon as it is acknowledged.

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
    bytes: usize,
}

impl Buffer {
    pub fn insert(&mut self, generation: u64, prepared: Prepared) {
        for (key, batch) in prepared.batches {
            self.rows += batch.num_rows();
            self.bytes += batch.get_array_memory_size();
            self.partitions
                .entry(key)
                .or_default()
                .push((generation, batch));
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn bytes(&self) -> usize {
        self.bytes
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
        self.rows = all().map(|b| b.num_rows()).sum();
        self.bytes = all().map(|b| b.get_array_memory_size()).sum();
    }
}
