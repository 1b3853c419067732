//! Sealing: once an hourly partition's hour is over (and a grace period for stragglers
//! has passed), its segments are rewritten at the sealed profile, a much stronger zstd
//! level over larger pages. Flushes have to keep up with ingestion, so they compress
//! lightly; a sealed partition is read for its whole retention, so paying once for
//! density there is what keeps the bytes at rest per event low.
//!
//! The sealer runs beside flushes, never holding them up: it reads and encodes outside
//! the maintenance lock and takes the lock only to swap the catalog rows, and only if
//! every segment it read is still there (a purge or merge meanwhile makes it throw its
//! work away and try again on its next round).

use crate::buffer::PartitionKey;
use crate::catalog::{self, Segment};
use crate::segment::{self, Profile};
use crate::{Error, Lake, Result};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// How often the sealer looks for partitions to seal.
const SEAL_ROUND: Duration = Duration::from_secs(30);

/// What one sealing round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealStats {
    pub segments_written: usize,
    pub segments_replaced: usize,
    pub bytes_before: usize,
    pub bytes_after: usize,
}

impl Lake {
    /// Seals every partition whose hour ended at least `seal_after` ago and that holds
    /// unsealed segments. Small sealed segments (late rows sealed on their own) are
    /// merged in again, so a partition that keeps receiving stragglers does not
    /// collect many of them; large ones are never rewritten.
    pub async fn seal(&self) -> Result<SealStats> {
        let mut stats = SealStats::default();
        let Some(after) = self.options.seal_after else {
            return Ok(stats);
        };
        let now_ms = chrono::Utc::now().timestamp_millis();
        let after_ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
        let groups = catalog::by_partition(catalog::all_segments(&self.meta)?);
        let cap = self.options.seal_rows.max(1);
        for (key, segs) in groups {
            let hour_end_ms = (key.hour + 1).saturating_mul(3_600_000);
            if hour_end_ms.saturating_add(after_ms) > now_ms
                || segs.iter().all(|s| segment::is_sealed(&s.path))
            {
                continue;
            }
            let mut picked: Vec<Segment> = segs
                .into_iter()
                .filter(|s| !segment::is_sealed(&s.path) || (s.rows as usize) < cap / 8)
                .collect();
            picked.sort_by(|a, b| (a.min_time, &a.path).cmp(&(b.min_time, &b.path)));
            for chunk in chunks_by_rows(picked, cap) {
                if chunk.len() == 1 && segment::is_sealed(&chunk[0].path) {
                    continue;
                }
                let before: usize = chunk.iter().map(|s| s.bytes as usize).sum();
                if let Some(after) = self.seal_segments(&key, &chunk).await? {
                    stats.segments_written += 1;
                    stats.segments_replaced += chunk.len();
                    stats.bytes_before += before;
                    stats.bytes_after += after;
                }
            }
        }
        self.delete_expired().await?;
        Ok(stats)
    }

    /// Rewrites `chunk` (segments of one partition) as one sealed segment; the new
    /// segment's size, or None when one of them was replaced meanwhile.
    async fn seal_segments(&self, key: &PartitionKey, chunk: &[Segment]) -> Result<Option<usize>> {
        let ds = self.dataset(&key.dataset)?.clone();
        let mut batches = Vec::new();
        for s in chunk {
            batches.extend(self.read_segment(&s.path).await?);
        }
        let stamp = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let rel = format!("{}/s{stamp:016x}.parquet", segment::partition_dir(key));
        let profile = Profile::Sealed {
            level: self.options.seal_level,
        };
        let seg = self
            .write_segment(ds, key.clone(), batches, rel.clone(), profile)
            .await?;
        let bytes = seg.bytes as usize;
        let removed: Vec<String> = chunk.iter().map(|s| s.path.clone()).collect();
        {
            let _m = self.maintenance.lock().await;
            let current: HashSet<String> = catalog::all_segments(&self.meta)?
                .into_iter()
                .map(|s| s.path)
                .collect();
            if !removed.iter().all(|p| current.contains(p)) {
                drop(_m);
                self.delete_segment(&rel).await?;
                return Ok(None);
            }
            // Still under the maintenance lock: nothing can replace them meanwhile.
            self.replace_segments(&[seg], removed).await?;
        }
        tracing::info!(
            dataset = %key.dataset,
            hour = key.hour,
            segments = chunk.len(),
            bytes_before = chunk.iter().map(|s| s.bytes).sum::<i64>(),
            bytes_after = bytes,
            "lake partition sealed"
        );
        Ok(Some(bytes))
    }

    /// Seals on a fixed round until `stop` changes.
    pub(crate) fn spawn_sealer(
        self: &Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let lake = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(SEAL_ROUND) => {}
                    _ = stop.changed() => break,
                }
                if let Err(e) = lake.seal().await {
                    tracing::error!(error = %e, "lake sealing failed");
                }
            }
        })
    }
}

/// Runs `work` on a thread of the lowest CPU priority: sealing is worth doing with the
/// CPU that ingestion and queries leave idle, never with theirs (a level-19 seal costs
/// about a second of CPU per MB of log text).
pub(crate) async fn on_idle_thread<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            lower_priority();
            let _ = tx.send(work());
        })
        .map_err(|e| Error::Wal(format!("cannot start thread {name}: {e}")))?;
    rx.await
        .map_err(|_| Error::Wal(format!("thread {name} stopped without an answer")))
}

/// SCHED_IDLE for the calling thread: it runs only when no other thread wants the
/// core, and yields it as soon as one does (nice 19 alone still takes whole time slices
/// in the short gaps of a query's threads). Nice 19 where SCHED_IDLE is refused.
fn lower_priority() {
    // SAFETY: both calls only read their arguments (the parameter struct is a plain
    // integer); pid/who 0 is the calling thread on Linux. A failure leaves the thread's
    // priority as it was, which is harmless.
    #[cfg(target_os = "linux")]
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            libc::setpriority(libc::PRIO_PROCESS, 0, 19);
        }
    }
}

/// Consecutive runs of segments holding at most `cap` rows together (a segment larger
/// than `cap` on its own), so a sealed segment's rows fit in memory while it is written.
fn chunks_by_rows(segs: Vec<Segment>, cap: usize) -> Vec<Vec<Segment>> {
    let mut out: Vec<Vec<Segment>> = Vec::new();
    let mut rows = 0usize;
    for s in segs {
        let n = s.rows.max(0) as usize;
        match out.last_mut() {
            Some(last) if !last.is_empty() && rows + n <= cap => {
                rows += n;
                last.push(s);
            }
            _ => {
                rows = n;
                out.push(vec![s]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(path: &str, rows: i64) -> Segment {
        Segment {
            path: path.into(),
            dataset: "d".into(),
            account: "a".into(),
            region: "r".into(),
            hour: 0,
            min_time: 0,
            max_time: 0,
            rows,
            bytes: 0,
            grams: 0,
        }
    }

    #[test]
    fn chunks_keep_under_the_cap_and_never_split_a_segment() {
        let chunks = chunks_by_rows(
            vec![
                seg("a", 4),
                seg("b", 4),
                seg("c", 3),
                seg("d", 20),
                seg("e", 1),
            ],
            10,
        );
        let names: Vec<Vec<&str>> = chunks
            .iter()
            .map(|c| c.iter().map(|s| s.path.as_str()).collect())
            .collect();
        assert_eq!(names, vec![vec!["a", "b"], vec!["c"], vec!["d"], vec!["e"]]);
    }
}
