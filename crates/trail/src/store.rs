//! Persistence of trails (configuration and delivery state, one JSON row each) and of
//! digest signing keys, written through before a change becomes visible.

use crate::Result;
use crate::model::{SigningKey, TrailRecord};
use sightline_meta::Meta;
use sightline_meta::rusqlite::params;

const MIGRATIONS: &[&str] = &["CREATE TABLE cloudtrail_trails (
        arn TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE cloudtrail_signing_keys (
        fingerprint TEXT PRIMARY KEY,
        region TEXT NOT NULL,
        body TEXT NOT NULL
    )"];

pub fn migrate(meta: &Meta) -> Result<()> {
    meta.migrate("cloudtrail", MIGRATIONS)?;
    Ok(())
}

pub fn load_trails(meta: &Meta) -> Result<Vec<TrailRecord>> {
    Ok(meta.load_json("cloudtrail_trails")?)
}

pub fn put_trail(meta: &Meta, t: &TrailRecord) -> Result<()> {
    let body = serde_json::to_string(t)?;
    meta.write(|tx| {
        tx.execute(
            "INSERT OR REPLACE INTO cloudtrail_trails (arn, account, body) VALUES (?1, ?2, ?3)",
            params![t.config.arn(), t.config.account, body],
        )
    })?;
    Ok(())
}

pub fn delete_trail(meta: &Meta, arn: &str) -> Result<()> {
    meta.write(|tx| tx.execute("DELETE FROM cloudtrail_trails WHERE arn = ?1", params![arn]))?;
    Ok(())
}

pub fn load_signing_keys(meta: &Meta) -> Result<Vec<SigningKey>> {
    Ok(meta.load_json("cloudtrail_signing_keys")?)
}

pub fn put_signing_key(meta: &Meta, k: &SigningKey) -> Result<()> {
    let body = serde_json::to_string(k)?;
    meta.write(|tx| {
        tx.execute(
            "INSERT INTO cloudtrail_signing_keys (fingerprint, region, body) VALUES (?1, ?2, ?3)",
            params![k.fingerprint, k.region, body],
        )
    })?;
    Ok(())
}
