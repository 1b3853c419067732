//! Transactional state in SQLite (WAL mode), one database in the data directory, with
//! per-service schema migrations.

use parking_lot::Mutex;
use rusqlite::{Connection, Transaction};
use std::path::{Path, PathBuf};

pub use rusqlite;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration {service} v{version}: {source}")]
    Migration {
        service: String,
        version: usize,
        source: rusqlite::Error,
    },
    #[error("row of {table}: {source}")]
    Row {
        table: String,
        source: serde_json::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One connection behind a mutex: writes are serialised anyway in SQLite, and services
/// keep hot read paths in memory, so a pool would add nothing but complexity.
pub struct Meta {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Meta {
    pub fn open(data_dir: &Path) -> Result<Meta> {
        let path = data_dir.join("meta.sqlite");
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a committed transaction survives power loss, not only a process crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_versions (service TEXT PRIMARY KEY, version INTEGER NOT NULL)",
        )?;
        Ok(Meta {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// An in-memory database, for tests.
    pub fn in_memory() -> Result<Meta> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_versions (service TEXT PRIMARY KEY, version INTEGER NOT NULL)",
        )?;
        Ok(Meta {
            conn: Mutex::new(conn),
            path: PathBuf::from(":memory:"),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies the migrations of one service that have not run yet, each in its own
    /// transaction; `migrations[i]` brings the schema to version `i + 1`.
    pub fn migrate(&self, service: &str, migrations: &[&str]) -> Result<()> {
        let mut conn = self.conn.lock();
        let current: usize = conn
            .query_row(
                "SELECT version FROM schema_versions WHERE service = ?1",
                [service],
                |r| r.get::<_, i64>(0),
            )
            .map(|v| usize::try_from(v).unwrap_or(0))
            .or_else(|e| {
                if e == rusqlite::Error::QueryReturnedNoRows {
                    Ok(0)
                } else {
                    Err(e)
                }
            })?;
        for (i, sql) in migrations.iter().enumerate().skip(current) {
            let version = i + 1;
            let tx = conn.transaction()?;
            let wrap = |source| Error::Migration {
                service: service.to_owned(),
                version,
                source,
            };
            tx.execute_batch(sql).map_err(wrap)?;
            tx.execute(
                "INSERT INTO schema_versions (service, version) VALUES (?1, ?2)
                 ON CONFLICT(service) DO UPDATE SET version = excluded.version",
                rusqlite::params![service, version as i64],
            )
            .map_err(wrap)?;
            tx.commit().map_err(wrap)?;
            tracing::info!(service, version, "schema migrated");
        }
        Ok(())
    }

    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.conn.lock();
        Ok(f(&conn)?)
    }

    /// The `body` column of every row of `table`: services keep each object as one
    /// JSON row and load them all at start.
    pub fn bodies(&self, table: &str) -> Result<Vec<String>> {
        let sql = format!("SELECT body FROM {table}");
        self.read(|c| {
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect()
        })
    }

    /// Every row of `table`, decoded from its JSON `body`.
    pub fn load_json<T: serde::de::DeserializeOwned>(&self, table: &str) -> Result<Vec<T>> {
        self.bodies(table)?
            .iter()
            .map(|b| {
                serde_json::from_str(b).map_err(|source| Error::Row {
                    table: table.to_owned(),
                    source,
                })
            })
            .collect()
    }

    /// Runs `f` in one transaction, committed only if it returns Ok.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>) -> Result<T> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_once_and_in_order() {
        let meta = Meta::in_memory().unwrap();
        let m = [
            "CREATE TABLE a (x INTEGER)",
            "ALTER TABLE a ADD COLUMN y TEXT",
        ];
        meta.migrate("svc", &m).unwrap();
        meta.migrate("svc", &m).unwrap();
        meta.write(|tx| tx.execute("INSERT INTO a (x, y) VALUES (1, 'one')", []))
            .unwrap();
        let y: String = meta
            .read(|c| c.query_row("SELECT y FROM a", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(y, "one");
    }

    #[test]
    fn failed_write_rolls_back() {
        let meta = Meta::in_memory().unwrap();
        meta.migrate("svc", &["CREATE TABLE a (x INTEGER PRIMARY KEY)"])
            .unwrap();
        meta.write(|tx| tx.execute("INSERT INTO a (x) VALUES (1)", []))
            .unwrap();
        let r = meta.write(|tx| {
            tx.execute("INSERT INTO a (x) VALUES (2)", [])?;
            tx.execute("INSERT INTO a (x) VALUES (1)", [])
        });
        assert!(r.is_err());
        let n: i64 = meta
            .read(|c| c.query_row("SELECT count(*) FROM a", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(n, 1);
    }
}
