//! Bucket and version rows in SQLite. Versions carry a sequence number (their order of
//! creation) and a `latest` flag maintained in the same transaction as every change,
//! so listings are indexed range scans.

use crate::Result;
use crate::model::{Bucket, ObjectVersion};
use sightline_meta::Meta;
use sightline_meta::rusqlite::{OptionalExtension, Transaction, params};

const MIGRATIONS: &[&str] = &["CREATE TABLE s3_buckets (
        name TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE s3_versions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        version_id TEXT NOT NULL,
        latest INTEGER NOT NULL,
        delete_marker INTEGER NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (bucket, key, version_id)
    );
    CREATE INDEX s3_versions_latest ON s3_versions (bucket, latest, key);
    CREATE INDEX s3_versions_by_key ON s3_versions (bucket, key, seq)"];

pub fn migrate(meta: &Meta) -> Result<()> {
    meta.migrate("s3", MIGRATIONS)?;
    Ok(())
}

pub fn load_buckets(meta: &Meta) -> Result<Vec<Bucket>> {
    let rows: Vec<String> = meta.read(|c| {
        let mut st = c.prepare("SELECT body FROM s3_buckets")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    })?;
    rows.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
}

pub fn put_bucket(meta: &Meta, b: &Bucket) -> Result<()> {
    let body = serde_json::to_string(b)?;
    meta.write(|t| {
        t.execute(
            "INSERT OR REPLACE INTO s3_buckets (name, account, body) VALUES (?1, ?2, ?3)",
            params![b.name, b.account, body],
        )
    })?;
    Ok(())
}

/// Deletes the bucket row if no version is left, in one transaction (so a concurrent
/// write either lands before and blocks the delete, or finds no bucket); false if not
/// empty.
pub fn delete_bucket_if_empty(meta: &Meta, name: &str) -> Result<bool> {
    Ok(meta.write(|t| {
        let any: Option<i64> = t
            .query_row(
                "SELECT 1 FROM s3_versions WHERE bucket = ?1 LIMIT 1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        if any.is_some() {
            return Ok(false);
        }
        t.execute("DELETE FROM s3_buckets WHERE name = ?1", params![name])?;
        Ok(true)
    })?)
}

fn decode(body: String, latest: i64) -> rusqlite_json::Result<ObjectVersion> {
    let mut v: ObjectVersion = serde_json::from_str(&body).map_err(rusqlite_json::err)?;
    v.latest = latest != 0;
    Ok(v)
}

mod rusqlite_json {
    use sightline_meta::rusqlite;
    pub type Result<T> = rusqlite::Result<T>;
    pub fn err(e: serde_json::Error) -> rusqlite::Error {
        rusqlite::Error::ToSqlConversionFailure(Box::new(e))
    }
}

/// The newest version of a key (a delete marker included), if any.
pub fn latest(meta: &Meta, bucket: &str, key: &str) -> Result<Option<ObjectVersion>> {
    Ok(meta.read(|c| {
        c.query_row(
            "SELECT body, latest FROM s3_versions WHERE bucket = ?1 AND key = ?2 AND latest = 1",
            params![bucket, key],
            |r| decode(r.get(0)?, r.get(1)?),
        )
        .optional()
    })?)
}

pub fn version(
    meta: &Meta,
    bucket: &str,
    key: &str,
    version_id: &str,
) -> Result<Option<ObjectVersion>> {
    Ok(meta.read(|c| {
        c.query_row(
            "SELECT body, latest FROM s3_versions WHERE bucket = ?1 AND key = ?2 AND version_id = ?3",
            params![bucket, key, version_id],
            |r| decode(r.get(0)?, r.get(1)?),
        )
        .optional()
    })?)
}

/// Removes one version row; if it was the newest, the next newest becomes latest.
/// Returns the removed row's blob path.
fn remove_version(
    t: &Transaction<'_>,
    bucket: &str,
    key: &str,
    version_id: &str,
) -> sightline_meta::rusqlite::Result<Option<Option<String>>> {
    let row: Option<(String, i64)> = t
        .query_row(
            "SELECT body, latest FROM s3_versions WHERE bucket = ?1 AND key = ?2 AND version_id = ?3",
            params![bucket, key, version_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((body, latest)) = row else {
        return Ok(None);
    };
    let old = decode(body, latest)?;
    t.execute(
        "DELETE FROM s3_versions WHERE bucket = ?1 AND key = ?2 AND version_id = ?3",
        params![bucket, key, version_id],
    )?;
    if latest != 0 {
        t.execute(
            "UPDATE s3_versions SET latest = 1 WHERE seq = (
                SELECT max(seq) FROM s3_versions WHERE bucket = ?1 AND key = ?2)",
            params![bucket, key],
        )?;
    }
    Ok(Some(old.blob))
}

/// Adds a version as the newest of its key. A version with the same id (the `null`
/// version of an unversioned or suspended bucket) is replaced. Returns the blob paths
/// no longer referenced, or `None` when the bucket no longer exists (deleted while the
/// bytes were being stored).
pub fn add_version(meta: &Meta, bucket: &str, v: &ObjectVersion) -> Result<Option<Vec<String>>> {
    let body = serde_json::to_string(v)?;
    Ok(meta.write(|t| {
        let exists: Option<i64> = t
            .query_row(
                "SELECT 1 FROM s3_buckets WHERE name = ?1",
                params![bucket],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(None);
        }
        let mut freed = Vec::new();
        if let Some(Some(blob)) = remove_version(t, bucket, &v.key, &v.version_id)? {
            freed.push(blob);
        }
        t.execute(
            "UPDATE s3_versions SET latest = 0 WHERE bucket = ?1 AND key = ?2 AND latest = 1",
            params![bucket, v.key],
        )?;
        t.execute(
            "INSERT INTO s3_versions (bucket, key, version_id, latest, delete_marker, body)
             VALUES (?1, ?2, ?3, 1, ?4, ?5)",
            params![bucket, v.key, v.version_id, v.delete_marker as i64, body],
        )?;
        Ok(Some(freed))
    })?)
}

/// Rewrites a version's attributes (retention, legal hold) in place.
pub fn update_version(meta: &Meta, bucket: &str, v: &ObjectVersion) -> Result<()> {
    let body = serde_json::to_string(v)?;
    meta.write(|t| {
        t.execute(
            "UPDATE s3_versions SET body = ?4 WHERE bucket = ?1 AND key = ?2 AND version_id = ?3",
            params![bucket, v.key, v.version_id, body],
        )
    })?;
    Ok(())
}

/// Permanently deletes one version; `None` when there was no such version.
pub fn delete_version(
    meta: &Meta,
    bucket: &str,
    key: &str,
    version_id: &str,
) -> Result<Option<Option<String>>> {
    Ok(meta.write(|t| remove_version(t, bucket, key, version_id))?)
}

/// Latest live versions with `key > after` and the prefix, in key order, at most `limit`.
pub fn list_latest(
    meta: &Meta,
    bucket: &str,
    prefix: &str,
    after: &str,
    limit: usize,
) -> Result<Vec<ObjectVersion>> {
    Ok(meta.read(|c| {
        let mut st = c.prepare(
            "SELECT body, latest FROM s3_versions
             WHERE bucket = ?1 AND latest = 1 AND delete_marker = 0 AND key > ?2
               AND substr(key, 1, length(?3)) = ?3
             ORDER BY key LIMIT ?4",
        )?;
        let rows = st.query_map(params![bucket, after, prefix, limit as i64], |r| {
            decode(r.get(0)?, r.get(1)?)
        })?;
        rows.collect()
    })?)
}

/// Every version (delete markers included) in (key, newest first) order, starting after
/// the position (`after_key`, `after_seq`): keys past `after_key`, or the same key with an
/// older sequence.
pub fn list_versions(
    meta: &Meta,
    bucket: &str,
    prefix: &str,
    after_key: &str,
    after_seq: Option<i64>,
    limit: usize,
) -> Result<Vec<(i64, ObjectVersion)>> {
    Ok(meta.read(|c| {
        let mut st = c.prepare(
            "SELECT seq, body, latest FROM s3_versions
             WHERE bucket = ?1 AND substr(key, 1, length(?2)) = ?2
               AND (key > ?3 OR (key = ?3 AND ?4 IS NOT NULL AND seq < ?4))
             ORDER BY key, seq DESC LIMIT ?5",
        )?;
        let rows = st.query_map(
            params![bucket, prefix, after_key, after_seq, limit as i64],
            |r| Ok((r.get(0)?, decode(r.get(1)?, r.get(2)?)?)),
        )?;
        rows.collect()
    })?)
}

/// The sequence number of a version, for version-listing markers.
pub fn version_seq(meta: &Meta, bucket: &str, key: &str, version_id: &str) -> Result<Option<i64>> {
    Ok(meta.read(|c| {
        c.query_row(
            "SELECT seq FROM s3_versions WHERE bucket = ?1 AND key = ?2 AND version_id = ?3",
            params![bucket, key, version_id],
            |r| r.get(0),
        )
        .optional()
    })?)
}
