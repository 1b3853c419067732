//! Persistence: one JSON row per topic, subscription, published message, owed delivery
//! and signing key. A published message and all its deliveries are written in one
//! transaction, and a message row goes with the last delivery that needed it.

use crate::Result;
use crate::model::{Delivery, Published, SigningKey, Subscription, Topic};
use sightline_meta::Meta;
use sightline_meta::rusqlite::{OptionalExtension, Transaction, params};

const MIGRATIONS: &[&str] = &["CREATE TABLE sns_topics (
        arn TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE sns_subscriptions (
        arn TEXT PRIMARY KEY,
        topic_arn TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE sns_messages (
        id TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );
    CREATE TABLE sns_deliveries (
        id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX sns_deliveries_message ON sns_deliveries (message_id);
    CREATE TABLE sns_signing_keys (
        region TEXT PRIMARY KEY,
        body TEXT NOT NULL
    )"];

pub fn migrate(meta: &Meta) -> Result<()> {
    meta.migrate("sns", MIGRATIONS)?;
    Ok(())
}

pub fn load_topics(meta: &Meta) -> Result<Vec<Topic>> {
    Ok(meta.load_json("sns_topics")?)
}

pub fn load_subscriptions(meta: &Meta) -> Result<Vec<Subscription>> {
    Ok(meta.load_json("sns_subscriptions")?)
}

pub fn load_messages(meta: &Meta) -> Result<Vec<Published>> {
    Ok(meta.load_json("sns_messages")?)
}

pub fn load_deliveries(meta: &Meta) -> Result<Vec<Delivery>> {
    Ok(meta.load_json("sns_deliveries")?)
}

pub fn load_signing_keys(meta: &Meta) -> Result<Vec<SigningKey>> {
    Ok(meta.load_json("sns_signing_keys")?)
}

fn insert_delivery(
    t: &Transaction<'_>,
    d: &Delivery,
) -> std::result::Result<(), sightline_meta::rusqlite::Error> {
    let body = serde_json::to_string(d)
        .map_err(|e| sightline_meta::rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    t.execute(
        "INSERT OR REPLACE INTO sns_deliveries (id, message_id, body) VALUES (?1, ?2, ?3)",
        params![d.id, d.message_id, body],
    )?;
    Ok(())
}

pub fn put_topic(meta: &Meta, topic: &Topic) -> Result<()> {
    let body = serde_json::to_string(topic)?;
    meta.write(|t| {
        t.execute(
            "INSERT OR REPLACE INTO sns_topics (arn, account, body) VALUES (?1, ?2, ?3)",
            params![topic.arn, topic.account, body],
        )
    })?;
    Ok(())
}

/// Deletes a topic and its subscriptions together.
pub fn delete_topic(meta: &Meta, arn: &str) -> Result<()> {
    meta.write(|t| {
        t.execute("DELETE FROM sns_topics WHERE arn = ?1", params![arn])?;
        t.execute(
            "DELETE FROM sns_subscriptions WHERE topic_arn = ?1",
            params![arn],
        )
    })?;
    Ok(())
}

/// Stores a subscription with the deliveries the change owes (a confirmation
/// request), in one transaction.
pub fn put_subscription(meta: &Meta, sub: &Subscription, deliveries: &[Delivery]) -> Result<()> {
    let body = serde_json::to_string(sub)?;
    meta.write(|t| {
        t.execute(
            "INSERT OR REPLACE INTO sns_subscriptions (arn, topic_arn, body) VALUES (?1, ?2, ?3)",
            params![sub.arn, sub.topic_arn, body],
        )?;
        for d in deliveries {
            insert_delivery(t, d)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Removes a subscription and updates its topic's counters, in one transaction.
pub fn delete_subscription(meta: &Meta, arn: &str, topic: Option<&Topic>) -> Result<()> {
    let topic_body = topic.map(serde_json::to_string).transpose()?;
    meta.write(|t| {
        t.execute("DELETE FROM sns_subscriptions WHERE arn = ?1", params![arn])?;
        if let (Some(topic), Some(b)) = (topic, &topic_body) {
            t.execute(
                "INSERT OR REPLACE INTO sns_topics (arn, account, body) VALUES (?1, ?2, ?3)",
                params![topic.arn, topic.account, b],
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Stores a published message and every delivery it owes, all or nothing.
pub fn put_published(meta: &Meta, messages: &[(&Published, Vec<Delivery>)]) -> Result<()> {
    let bodies = messages
        .iter()
        .map(|(m, _)| serde_json::to_string(m))
        .collect::<Result<Vec<_>, _>>()?;
    meta.write(|t| {
        for ((m, deliveries), body) in messages.iter().zip(&bodies) {
            t.execute(
                "INSERT OR REPLACE INTO sns_messages (id, body) VALUES (?1, ?2)",
                params![m.id, body],
            )?;
            for d in deliveries {
                insert_delivery(t, d)?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// Records a failed attempt (the new attempt count and due time).
pub fn update_delivery(meta: &Meta, d: &Delivery) -> Result<()> {
    meta.write(|t| insert_delivery(t, d))?;
    Ok(())
}

/// Removes a finished delivery, and its message when no other delivery needs it.
pub fn finish_delivery(meta: &Meta, d: &Delivery) -> Result<()> {
    meta.write(|t| {
        t.execute("DELETE FROM sns_deliveries WHERE id = ?1", params![d.id])?;
        let left: Option<i64> = t
            .query_row(
                "SELECT 1 FROM sns_deliveries WHERE message_id = ?1 LIMIT 1",
                params![d.message_id],
                |r| r.get(0),
            )
            .optional()?;
        if left.is_none() {
            t.execute(
                "DELETE FROM sns_messages WHERE id = ?1",
                params![d.message_id],
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

pub fn put_signing_key(meta: &Meta, key: &SigningKey) -> Result<()> {
    let body = serde_json::to_string(key)?;
    meta.write(|t| {
        t.execute(
            "INSERT OR REPLACE INTO sns_signing_keys (region, body) VALUES (?1, ?2)",
            params![key.region, body],
        )
    })?;
    Ok(())
}
