//! Persistence of keys and aliases: one JSON row per object in SQLite, loaded into memory
//! at start and written through before a change becomes visible.

use crate::Result;
use crate::model::{Alias, Key};
use sightline_meta::Meta;
use sightline_meta::rusqlite::params;

const MIGRATIONS: &[&str] = &["CREATE TABLE kms_keys (
        arn TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE kms_aliases (
        arn TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        body TEXT NOT NULL
    )"];

pub fn migrate(meta: &Meta) -> Result<()> {
    meta.migrate("kms", MIGRATIONS)?;
    Ok(())
}

pub fn load_keys(meta: &Meta) -> Result<Vec<Key>> {
    Ok(meta.load_json("kms_keys")?)
}

pub fn load_aliases(meta: &Meta) -> Result<Vec<Alias>> {
    Ok(meta.load_json("kms_aliases")?)
}

pub fn put_key(meta: &Meta, key: &Key) -> Result<()> {
    let body = serde_json::to_string(key)?;
    meta.write(|t| {
        t.execute(
            "INSERT OR REPLACE INTO kms_keys (arn, account, body) VALUES (?1, ?2, ?3)",
            params![key.arn, key.account, body],
        )
    })?;
    Ok(())
}

/// Deletes a key and every alias that points at it, in one transaction.
pub fn delete_key(meta: &Meta, key: &Key, aliases: &[String]) -> Result<()> {
    meta.write(|t| {
        t.execute("DELETE FROM kms_keys WHERE arn = ?1", params![key.arn])?;
        for a in aliases {
            t.execute("DELETE FROM kms_aliases WHERE arn = ?1", params![a])?;
        }
        Ok(())
    })?;
    Ok(())
}

pub fn put_alias(meta: &Meta, alias: &Alias) -> Result<()> {
    let body = serde_json::to_string(alias)?;
    meta.write(|t| {
        t.execute(
            "INSERT OR REPLACE INTO kms_aliases (arn, account, body) VALUES (?1, ?2, ?3)",
            params![alias.arn(), alias.account, body],
        )
    })?;
    Ok(())
}

pub fn delete_alias(meta: &Meta, arn: &str) -> Result<()> {
    meta.write(|t| t.execute("DELETE FROM kms_aliases WHERE arn = ?1", params![arn]))?;
    Ok(())
}
