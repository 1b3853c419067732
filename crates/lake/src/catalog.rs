//! The segment catalog in meta: which Parquet files exist for which (dataset, account,
//! region, hour), with time bounds for pruning, and how far the WAL has been flushed.

use crate::{Result, segment};
use sightline_meta::Meta;
use sightline_meta::rusqlite::{OptionalExtension, params};

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE lake_segments (
        path TEXT PRIMARY KEY,
        dataset TEXT NOT NULL,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        hour INTEGER NOT NULL,
        min_time INTEGER NOT NULL,
        max_time INTEGER NOT NULL,
        rows INTEGER NOT NULL,
        bytes INTEGER NOT NULL
    );
    CREATE INDEX lake_segments_scope ON lake_segments (dataset, account, max_time);
    CREATE TABLE lake_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);",
    "ALTER TABLE lake_segments ADD COLUMN grams INTEGER NOT NULL DEFAULT 0;",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Object path inside the store.
    pub path: String,
    pub dataset: String,
    pub account: String,
    pub region: String,
    pub hour: i64,
    /// Milliseconds since the epoch.
    pub min_time: i64,
    pub max_time: i64,
    pub rows: i64,
    pub bytes: i64,
    /// Bytes of the segment's trigram index (`grams`): 0 until the indexer has built it
    /// (and for segments it never indexes), -1 when it could not be built.
    pub grams: i64,
}

/// Segments grouped by their hourly partition.
pub fn by_partition(
    segments: impl IntoIterator<Item = Segment>,
) -> std::collections::BTreeMap<crate::buffer::PartitionKey, Vec<Segment>> {
    let mut groups: std::collections::BTreeMap<_, Vec<Segment>> = Default::default();
    for s in segments {
        let key = crate::buffer::PartitionKey {
            dataset: s.dataset.clone(),
            account: s.account.clone(),
            region: s.region.clone(),
            hour: s.hour,
        };
        groups.entry(key).or_default().push(s);
    }
    groups
}

pub fn migrate(meta: &Meta) -> Result<()> {
    meta.migrate("lake", MIGRATIONS)?;
    Ok(())
}

pub fn flushed_through(meta: &Meta) -> Result<u64> {
    let v: Option<i64> = meta.read(|c| {
        c.query_row(
            "SELECT value FROM lake_state WHERE key = 'flushed_through'",
            [],
            |r| r.get(0),
        )
        .optional()
    })?;
    Ok(v.unwrap_or(0) as u64)
}

fn row(r: &sightline_meta::rusqlite::Row<'_>) -> sightline_meta::rusqlite::Result<Segment> {
    Ok(Segment {
        path: r.get(0)?,
        dataset: r.get(1)?,
        account: r.get(2)?,
        region: r.get(3)?,
        hour: r.get(4)?,
        min_time: r.get(5)?,
        max_time: r.get(6)?,
        rows: r.get(7)?,
        bytes: r.get(8)?,
        grams: r.get(9)?,
    })
}

const COLUMNS: &str =
    "path, dataset, account, region, hour, min_time, max_time, rows, bytes, grams";

/// Segments of one dataset and account overlapping [from, to] (milliseconds).
pub fn segments(
    meta: &Meta,
    dataset: &str,
    account: &str,
    from: i64,
    to: i64,
) -> Result<Vec<Segment>> {
    Ok(meta.read(|c| {
        let mut st = c.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM lake_segments WHERE dataset = ?1 AND account = ?2 AND max_time >= ?3 AND min_time <= ?4
             ORDER BY max_time DESC"
        ))?;
        let rows = st.query_map(params![dataset, account, from, to], row)?;
        rows.collect()
    })?)
}

/// The (account, region) pairs a dataset has segments in.
pub fn scopes(meta: &Meta, dataset: &str) -> Result<Vec<(String, String)>> {
    Ok(meta.read(|c| {
        let mut st =
            c.prepare("SELECT DISTINCT account, region FROM lake_segments WHERE dataset = ?1")?;
        let rows = st.query_map(params![dataset], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    })?)
}

pub fn all_segments(meta: &Meta) -> Result<Vec<Segment>> {
    Ok(meta.read(|c| {
        let mut st = c.prepare(&format!("SELECT {COLUMNS} FROM lake_segments"))?;
        let rows = st.query_map([], row)?;
        rows.collect()
    })?)
}

/// Unsealed segments of `datasets` whose text index is yet to be built, newest first
/// (recent events are what searches read most).
pub fn unindexed(meta: &Meta, datasets: &[&str]) -> Result<Vec<Segment>> {
    Ok(meta.read(|c| {
        let mut st = c.prepare(&format!(
            "SELECT {COLUMNS} FROM lake_segments WHERE grams = 0 ORDER BY max_time DESC"
        ))?;
        let rows = st.query_map([], row)?;
        let all: Vec<Segment> = rows.collect::<Result<_, _>>()?;
        Ok(all
            .into_iter()
            .filter(|s| datasets.contains(&s.dataset.as_str()) && !segment::is_sealed(&s.path))
            .collect())
    })?)
}

/// Records the size of a segment's text index (-1: none can be built); false when the
/// catalog no longer names the segment.
pub fn set_grams(meta: &Meta, path: &str, grams: i64) -> Result<bool> {
    let changed = meta.write(|tx| {
        tx.execute(
            "UPDATE lake_segments SET grams = ?1 WHERE path = ?2",
            params![grams, path],
        )
    })?;
    Ok(changed > 0)
}

/// Registers new segments, retires replaced ones, and (for flushes) advances the flushed
/// WAL generation, all in one transaction.
pub fn commit(
    meta: &Meta,
    added: &[Segment],
    removed: &[String],
    flushed_through: Option<u64>,
) -> Result<()> {
    meta.write(|tx| {
        for s in added {
            tx.execute(
                &format!("INSERT INTO lake_segments ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                params![s.path, s.dataset, s.account, s.region, s.hour, s.min_time, s.max_time, s.rows, s.bytes, s.grams],
            )?;
        }
        for p in removed {
            tx.execute("DELETE FROM lake_segments WHERE path = ?1", [p])?;
        }
        if let Some(g) = flushed_through {
            tx.execute(
                "INSERT INTO lake_state (key, value) VALUES ('flushed_through', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [g as i64],
            )?;
        }
        Ok(())
    })?;
    Ok(())
}
