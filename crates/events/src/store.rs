//! Persistence: one JSON row per bus, rule (with its targets), connection, API
//! destination, archive, replay and owed invocation. Archived events are in the lake
//! (`archived_events`), not here: they are telemetry, kept for their retention.

use crate::Result;
use crate::model::Delivery;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sightline_meta::Meta;
use sightline_meta::rusqlite::{Transaction, params};

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE ev_buses (arn TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE ev_rules (arn TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE ev_connections (arn TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE ev_api_destinations (arn TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE ev_archives (arn TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE ev_replays (arn TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE ev_deliveries (id TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE ev_archive_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        archive TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX ev_archive_events_time ON ev_archive_events (archive, time_ms)",
    // Archived events moved to the lake; what was kept here is not carried over.
    "DROP TABLE IF EXISTS ev_archive_events",
];

/// The tables that hold one JSON object per ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Buses,
    Rules,
    Connections,
    ApiDestinations,
    Archives,
    Replays,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Buses => "ev_buses",
            Table::Rules => "ev_rules",
            Table::Connections => "ev_connections",
            Table::ApiDestinations => "ev_api_destinations",
            Table::Archives => "ev_archives",
            Table::Replays => "ev_replays",
        }
    }
}

pub fn migrate(meta: &Meta) -> Result<()> {
    meta.migrate("events", MIGRATIONS)?;
    Ok(())
}

pub fn load<T: DeserializeOwned>(meta: &Meta, table: Table) -> Result<Vec<T>> {
    Ok(meta.load_json(table.name())?)
}

pub fn load_deliveries(meta: &Meta) -> Result<Vec<Delivery>> {
    Ok(meta.load_json("ev_deliveries")?)
}

fn to_sql_err(e: serde_json::Error) -> sightline_meta::rusqlite::Error {
    sightline_meta::rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

pub(crate) fn put_in(
    t: &Transaction<'_>,
    table: Table,
    arn: &str,
    body: &impl Serialize,
) -> std::result::Result<(), sightline_meta::rusqlite::Error> {
    let body = serde_json::to_string(body).map_err(to_sql_err)?;
    t.execute(
        &format!(
            "INSERT OR REPLACE INTO {} (arn, body) VALUES (?1, ?2)",
            table.name()
        ),
        params![arn, body],
    )?;
    Ok(())
}

pub fn put(meta: &Meta, table: Table, arn: &str, body: &impl Serialize) -> Result<()> {
    meta.write(|t| put_in(t, table, arn, body))?;
    Ok(())
}

pub fn delete(meta: &Meta, table: Table, arn: &str) -> Result<()> {
    meta.write(|t| {
        t.execute(
            &format!("DELETE FROM {} WHERE arn = ?1", table.name()),
            params![arn],
        )
    })?;
    Ok(())
}

pub(crate) fn put_delivery(
    t: &Transaction<'_>,
    d: &Delivery,
) -> std::result::Result<(), sightline_meta::rusqlite::Error> {
    let body = serde_json::to_string(d).map_err(to_sql_err)?;
    t.execute(
        "INSERT OR REPLACE INTO ev_deliveries (id, body) VALUES (?1, ?2)",
        params![d.id, body],
    )?;
    Ok(())
}

pub(crate) fn delete_delivery(
    t: &Transaction<'_>,
    id: &str,
) -> std::result::Result<(), sightline_meta::rusqlite::Error> {
    t.execute("DELETE FROM ev_deliveries WHERE id = ?1", params![id])?;
    Ok(())
}

/// Records the due time a scheduled rule last fired for, without rewriting the rest of
/// the rule (a concurrent PutRule may have changed it).
pub(crate) fn mark_fired(
    t: &Transaction<'_>,
    arn: &str,
    due_ms: i64,
) -> std::result::Result<(), sightline_meta::rusqlite::Error> {
    t.execute(
        "UPDATE ev_rules SET body = json_set(body, '$.last_fired_ms', ?2) WHERE arn = ?1",
        params![arn, due_ms],
    )?;
    Ok(())
}
