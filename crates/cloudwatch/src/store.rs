//! Persistence: alarms, their history, dashboards and the metric catalog as rows in
//! SQLite, loaded at start and written before a change becomes visible. Samples live
//! in the lake (`metric_samples`).

use crate::Result;
use crate::model::{Alarm, AlarmHistoryItem, Dashboard, SeriesKey, Tag};
use sightline_meta::Meta;
use sightline_meta::rusqlite::params;

const MIGRATIONS: &[&str] = &["CREATE TABLE cw_metrics (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        dims TEXT NOT NULL,
        last_seen INTEGER NOT NULL,
        PRIMARY KEY (account, region, namespace, name, dims)
    );
    CREATE TABLE cw_alarms (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        body TEXT NOT NULL,
        tags TEXT NOT NULL,
        PRIMARY KEY (account, region, name)
    );
    CREATE TABLE cw_alarm_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX cw_alarm_history_time ON cw_alarm_history (account, region, time_ms);
    CREATE TABLE cw_rollups (
        account TEXT NOT NULL,
        region TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        through_ms INTEGER NOT NULL,
        dirty TEXT NOT NULL,
        retained_ms INTEGER NOT NULL,
        PRIMARY KEY (account, region)
    );
    CREATE TABLE cw_dashboards (
        account TEXT NOT NULL,
        name TEXT NOT NULL,
        body TEXT NOT NULL,
        tags TEXT NOT NULL,
        PRIMARY KEY (account, name)
    )"];

pub fn migrate(meta: &Meta) -> Result<()> {
    meta.migrate("cloudwatch", MIGRATIONS)?;
    Ok(())
}

pub struct StoredAlarm {
    pub account: String,
    pub region: String,
    pub alarm: Alarm,
    pub tags: Vec<Tag>,
}

pub fn load_alarms(meta: &Meta) -> Result<Vec<StoredAlarm>> {
    let rows: Vec<(String, String, String, String)> = meta.read(|c| {
        let mut s = c.prepare("SELECT account, region, body, tags FROM cw_alarms")?;
        let rows = s
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    })?;
    rows.into_iter()
        .map(|(account, region, body, tags)| {
            Ok(StoredAlarm {
                account,
                region,
                alarm: serde_json::from_str(&body)?,
                tags: serde_json::from_str(&tags)?,
            })
        })
        .collect()
}

pub fn put_alarm(
    meta: &Meta,
    account: &str,
    region: &str,
    alarm: &Alarm,
    tags: &[Tag],
    history: &[AlarmHistoryItem],
) -> Result<()> {
    put_alarms(meta, account, region, &[(alarm, tags)], history)
}

/// Several alarms and their history items in one transaction (an evaluation cycle).
pub fn put_alarms(
    meta: &Meta,
    account: &str,
    region: &str,
    alarms: &[(&Alarm, &[Tag])],
    history: &[AlarmHistoryItem],
) -> Result<()> {
    let mut bodies = Vec::with_capacity(alarms.len());
    for (a, tags) in alarms {
        bodies.push((
            a.name().to_owned(),
            serde_json::to_string(a)?,
            serde_json::to_string(tags)?,
        ));
    }
    let mut items = Vec::with_capacity(history.len());
    for h in history {
        items.push((
            h.alarm_name.clone(),
            h.timestamp.0.timestamp_millis(),
            serde_json::to_string(h)?,
        ));
    }
    // Statements prepared once per transaction: a cycle may change thousands of alarms.
    meta.write(|t| {
        let mut put = t.prepare_cached(
            "INSERT OR REPLACE INTO cw_alarms (account, region, name, body, tags) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (name, body, tags) in &bodies {
            put.execute(params![account, region, name, body, tags])?;
        }
        let mut add = t.prepare_cached(
            "INSERT INTO cw_alarm_history (account, region, name, time_ms, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (name, time, body) in &items {
            add.execute(params![account, region, name, time, body])?;
        }
        Ok(())
    })?;
    Ok(())
}

pub fn delete_alarms(meta: &Meta, account: &str, region: &str, names: &[String]) -> Result<()> {
    meta.write(|t| {
        for n in names {
            t.execute(
                "DELETE FROM cw_alarms WHERE account = ?1 AND region = ?2 AND name = ?3",
                params![account, region, n],
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

/// History items of an account and region in `[from, to)`, oldest first.
pub fn history(
    meta: &Meta,
    account: &str,
    region: &str,
    name: Option<&str>,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<AlarmHistoryItem>> {
    let bodies: Vec<String> = meta.read(|c| {
        let mut s = c.prepare(
            "SELECT body FROM cw_alarm_history WHERE account = ?1 AND region = ?2
             AND time_ms >= ?3 AND time_ms < ?4 AND (?5 IS NULL OR name = ?5) ORDER BY time_ms, id",
        )?;
        let rows = s
            .query_map(params![account, region, from_ms, to_ms, name], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(rows)
    })?;
    bodies
        .iter()
        .map(|b| Ok(serde_json::from_str(b)?))
        .collect()
}

/// Drops history older than CloudWatch keeps it (30 days).
pub fn trim_history(meta: &Meta, before_ms: i64) -> Result<()> {
    meta.write(|t| {
        t.execute(
            "DELETE FROM cw_alarm_history WHERE time_ms < ?1",
            params![before_ms],
        )
    })?;
    Ok(())
}

pub fn load_metrics(meta: &Meta) -> Result<Vec<(String, String, SeriesKey, i64)>> {
    Ok(meta.read(|c| {
        let mut s =
            c.prepare("SELECT account, region, namespace, name, dims, last_seen FROM cw_metrics")?;
        let rows = s
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    SeriesKey {
                        namespace: r.get::<_, String>(2)?.into(),
                        name: r.get::<_, String>(3)?.into(),
                        dims: r.get::<_, String>(4)?.into(),
                    },
                    r.get::<_, i64>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    })?)
}

/// Records metrics first seen, or seen again long after the stored time.
pub fn touch_metrics(meta: &Meta, rows: &[(String, String, SeriesKey, i64)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    meta.write(|t| {
        for (account, region, k, seen) in rows {
            t.execute(
                "INSERT INTO cw_metrics (account, region, namespace, name, dims, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (account, region, namespace, name, dims)
                 DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)",
                params![account, region, &*k.namespace, &*k.name, &*k.dims, seen],
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

pub fn load_dashboards(meta: &Meta) -> Result<Vec<(String, Dashboard, Vec<Tag>)>> {
    let rows: Vec<(String, String, String)> = meta.read(|c| {
        let mut s = c.prepare("SELECT account, body, tags FROM cw_dashboards")?;
        let rows = s
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    })?;
    rows.into_iter()
        .map(|(a, b, t)| Ok((a, serde_json::from_str(&b)?, serde_json::from_str(&t)?)))
        .collect()
}

pub fn put_dashboard(meta: &Meta, account: &str, d: &Dashboard, tags: &[Tag]) -> Result<()> {
    let body = serde_json::to_string(d)?;
    let tags = serde_json::to_string(tags)?;
    meta.write(|t| {
        t.execute(
            "INSERT OR REPLACE INTO cw_dashboards (account, name, body, tags) VALUES (?1, ?2, ?3, ?4)",
            params![account, d.name, body, tags],
        )
    })?;
    Ok(())
}

pub fn delete_dashboards(meta: &Meta, account: &str, names: &[String]) -> Result<()> {
    meta.write(|t| {
        for n in names {
            t.execute(
                "DELETE FROM cw_dashboards WHERE account = ?1 AND name = ?2",
                params![account, n],
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

pub fn load_rollups(
    meta: &Meta,
) -> Result<std::collections::HashMap<(String, String), crate::rollup::RollupState>> {
    let rows: Vec<(String, String, i64, i64, String, i64)> = meta.read(|c| {
        let mut s = c.prepare(
            "SELECT account, region, start_ms, through_ms, dirty, retained_ms FROM cw_rollups",
        )?;
        let rows = s
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    })?;
    rows.into_iter()
        .map(|(a, r, start, through, dirty, retained)| {
            Ok((
                (a, r),
                crate::rollup::RollupState {
                    start_ms: start,
                    through_ms: through,
                    dirty: serde_json::from_str(&dirty)?,
                    retained_ms: retained,
                },
            ))
        })
        .collect()
}

pub fn put_rollup(
    meta: &Meta,
    account: &str,
    region: &str,
    state: &crate::rollup::RollupState,
) -> Result<()> {
    let dirty = serde_json::to_string(&state.dirty)?;
    meta.write(|t| {
        t.execute(
            "INSERT OR REPLACE INTO cw_rollups (account, region, start_ms, through_ms, dirty, retained_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![account, region, state.start_ms, state.through_ms, dirty, state.retained_ms],
        )
    })?;
    Ok(())
}
