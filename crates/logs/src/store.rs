//! Persistence of groups, streams and filters: one JSON row per object in the meta
//! store, loaded at start and written before a change is acknowledged. Stream
//! statistics (first/last event, stored bytes) are written in batches by the engine,
//! as AWS too reports them with a delay.

use crate::Result;
use crate::model::{LogGroup, LogStream, MetricFilter, SubscriptionFilter};
use sightline_meta::Meta;
use sightline_meta::rusqlite::params;

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE logs_groups (
        id TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );
    CREATE TABLE logs_streams (
        group_id TEXT NOT NULL,
        name TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (group_id, name)
    );
    CREATE TABLE logs_metric_filters (
        group_id TEXT NOT NULL,
        name TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (group_id, name)
    );
    CREATE TABLE logs_subscription_filters (
        group_id TEXT NOT NULL,
        name TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (group_id, name)
    )",
    // Groups deleted whose events may still be in the lake, until the retention pass
    // has removed them: a restart must not leave them in storage for good.
    "CREATE TABLE logs_deleted_groups (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        id TEXT NOT NULL,
        PRIMARY KEY (account, region, id)
    )",
];

pub fn migrate(meta: &Meta) -> Result<()> {
    meta.migrate("logs", MIGRATIONS)?;
    Ok(())
}

pub struct Loaded {
    pub groups: Vec<LogGroup>,
    pub streams: Vec<LogStream>,
    pub metric_filters: Vec<MetricFilter>,
    pub subscription_filters: Vec<SubscriptionFilter>,
    /// (account, region, group id) of deleted groups whose events are still stored.
    pub deleted: Vec<(String, String, String)>,
}

pub fn load_all(meta: &Meta) -> Result<Loaded> {
    Ok(Loaded {
        groups: meta.load_json("logs_groups")?,
        streams: meta.load_json("logs_streams")?,
        metric_filters: meta.load_json("logs_metric_filters")?,
        subscription_filters: meta.load_json("logs_subscription_filters")?,
        deleted: meta.read(|c| {
            let mut st = c.prepare("SELECT account, region, id FROM logs_deleted_groups")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect()
        })?,
    })
}

pub fn put_group(meta: &Meta, g: &LogGroup) -> Result<()> {
    let body = serde_json::to_string(g)?;
    meta.write(|t| {
        t.execute(
            "INSERT OR REPLACE INTO logs_groups (id, body) VALUES (?1, ?2)",
            params![g.id, body],
        )
    })?;
    Ok(())
}

/// Removes a group with everything hanging off it, and records that its events are
/// to be removed from storage, in one transaction.
pub fn delete_group(meta: &Meta, g: &LogGroup) -> Result<()> {
    let id = &g.id;
    meta.write(|t| {
        t.execute("DELETE FROM logs_groups WHERE id = ?1", params![id])?;
        t.execute(
            "INSERT OR IGNORE INTO logs_deleted_groups (account, region, id) VALUES (?1, ?2, ?3)",
            params![g.account, g.region, id],
        )?;
        for table in [
            "logs_streams",
            "logs_metric_filters",
            "logs_subscription_filters",
        ] {
            t.execute(
                &format!("DELETE FROM {table} WHERE group_id = ?1"),
                params![id],
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Forgets deleted groups of one (account, region) once their events are gone.
pub fn forget_deleted<'a>(
    meta: &Meta,
    account: &str,
    region: &str,
    ids: impl IntoIterator<Item = &'a String>,
) -> Result<()> {
    meta.write(|t| {
        for id in ids {
            t.execute(
                "DELETE FROM logs_deleted_groups WHERE account = ?1 AND region = ?2 AND id = ?3",
                params![account, region, id],
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Writes rows keyed by (group id, name) in one transaction.
fn put_named<T: serde::Serialize>(
    meta: &Meta,
    table: &str,
    rows: &[T],
    ids: impl Fn(&T) -> (&str, &str),
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let bodies = rows
        .iter()
        .map(|r| Ok((ids(r), serde_json::to_string(r)?)))
        .collect::<Result<Vec<_>>>()?;
    let sql = format!("INSERT OR REPLACE INTO {table} (group_id, name, body) VALUES (?1, ?2, ?3)");
    meta.write(|t| {
        for ((group_id, name), body) in &bodies {
            t.execute(&sql, params![group_id, name, body])?;
        }
        Ok(())
    })?;
    Ok(())
}

fn delete_named(meta: &Meta, table: &str, group_id: &str, name: &str) -> Result<()> {
    let sql = format!("DELETE FROM {table} WHERE group_id = ?1 AND name = ?2");
    meta.write(|t| t.execute(&sql, params![group_id, name]))?;
    Ok(())
}

pub fn put_streams(meta: &Meta, streams: &[LogStream]) -> Result<()> {
    put_named(meta, "logs_streams", streams, |s| (&s.group_id, &s.name))
}

pub fn delete_stream(meta: &Meta, group_id: &str, name: &str) -> Result<()> {
    delete_named(meta, "logs_streams", group_id, name)
}

pub fn put_metric_filter(meta: &Meta, f: &MetricFilter) -> Result<()> {
    put_named(meta, "logs_metric_filters", std::slice::from_ref(f), |f| {
        (&f.group_id, &f.name)
    })
}

pub fn delete_metric_filter(meta: &Meta, group_id: &str, name: &str) -> Result<()> {
    delete_named(meta, "logs_metric_filters", group_id, name)
}

pub fn put_subscription_filter(meta: &Meta, f: &SubscriptionFilter) -> Result<()> {
    put_named(
        meta,
        "logs_subscription_filters",
        std::slice::from_ref(f),
        |f| (&f.group_id, &f.name),
    )
}

pub fn delete_subscription_filter(meta: &Meta, group_id: &str, name: &str) -> Result<()> {
    delete_named(meta, "logs_subscription_filters", group_id, name)
}
