//! Persistence of identity state: one JSON row per object in SQLite. The whole identity
//! state is small and read on every request, so it is loaded into memory at start and
//! every change is written through before it becomes visible.

use crate::Result;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sightline_meta::Meta;
use sightline_meta::rusqlite::{Transaction, params};

const MIGRATIONS: &[&str] = &["CREATE TABLE iam_objects (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        account TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (kind, id)
    )"];

pub fn migrate(meta: &Meta) -> Result<()> {
    meta.migrate("iam", MIGRATIONS)?;
    Ok(())
}

/// Object kinds, as stored.
pub mod kind {
    pub const ACCOUNT: &str = "account";
    pub const ORGANIZATION: &str = "organization";
    pub const CREATE_ACCOUNT: &str = "create_account";
    pub const USER: &str = "user";
    pub const ROLE: &str = "role";
    pub const POLICY: &str = "policy";
    pub const ACCESS_KEY: &str = "access_key";
    pub const SESSION: &str = "session";
}

pub fn load_all<T: DeserializeOwned>(meta: &Meta, kind: &str) -> Result<Vec<T>> {
    let rows: Vec<String> = meta.read(|c| {
        let mut st = c.prepare("SELECT body FROM iam_objects WHERE kind = ?1")?;
        let rows = st.query_map([kind], |r| r.get::<_, String>(0))?;
        rows.collect()
    })?;
    rows.iter().map(|b| Ok(serde_json::from_str(b)?)).collect()
}

/// A batch of changes applied in one transaction.
#[derive(Default)]
pub struct Batch {
    ops: Vec<Op>,
}

enum Op {
    Put {
        kind: &'static str,
        id: String,
        account: String,
        body: String,
    },
    Delete {
        kind: &'static str,
        id: String,
    },
}

impl Batch {
    pub fn put<T: Serialize>(
        &mut self,
        kind: &'static str,
        id: &str,
        account: &str,
        value: &T,
    ) -> Result<&mut Self> {
        self.ops.push(Op::Put {
            kind,
            id: id.to_owned(),
            account: account.to_owned(),
            body: serde_json::to_string(value)?,
        });
        Ok(self)
    }

    pub fn delete(&mut self, kind: &'static str, id: &str) -> &mut Self {
        self.ops.push(Op::Delete {
            kind,
            id: id.to_owned(),
        });
        self
    }

    pub fn commit(self, meta: &Meta) -> Result<()> {
        meta.write(|tx: &Transaction<'_>| {
            for op in &self.ops {
                match op {
                    Op::Put { kind, id, account, body } => {
                        tx.execute(
                            "INSERT INTO iam_objects (kind, id, account, body) VALUES (?1, ?2, ?3, ?4)
                             ON CONFLICT(kind, id) DO UPDATE SET account = excluded.account, body = excluded.body",
                            params![kind, id, account, body],
                        )?;
                    }
                    Op::Delete { kind, id } => {
                        tx.execute("DELETE FROM iam_objects WHERE kind = ?1 AND id = ?2", params![kind, id])?;
                    }
                }
            }
            Ok(())
        })?;
        Ok(())
    }
}
