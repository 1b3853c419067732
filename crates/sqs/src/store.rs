//! Persistence: one JSON row per queue, one row per message (its fixed content as JSON,
//! its receive state in columns, so a receive rewrites a few integers and not the
//! body), and the writer thread that commits them.
//!
//! Every change goes through [`Writer`], in the order the engine made it in memory: a
//! single thread takes all the jobs waiting, applies them in one transaction (one fsync
//! with `synchronous=FULL`) and only then tells each caller, so concurrent sends share
//! a commit instead of paying one each.

use crate::model::{Content, Message, Queue};
use crate::{Error, Result};
use sightline_meta::Meta;
use sightline_meta::rusqlite::{Transaction, params};
use std::sync::Arc;
use std::sync::mpsc;
use tokio::sync::oneshot;

const MIGRATIONS: &[&str] = &["CREATE TABLE sqs_queues (
        arn TEXT PRIMARY KEY,
        id TEXT NOT NULL,
        account TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE sqs_messages (
        seq INTEGER PRIMARY KEY,
        queue TEXT NOT NULL,
        content TEXT NOT NULL,
        visible_at INTEGER NOT NULL,
        receive_count INTEGER NOT NULL,
        first_receive INTEGER,
        receipt TEXT
    );
    CREATE INDEX sqs_messages_queue ON sqs_messages (queue, seq)"];

/// Jobs committed together at most.
const MAX_GROUP: usize = 512;

pub fn migrate(meta: &Meta) -> Result<()> {
    meta.migrate("sqs", MIGRATIONS)?;
    Ok(())
}

pub fn load_queues(meta: &Meta) -> Result<Vec<Queue>> {
    Ok(meta.load_json("sqs_queues")?)
}

/// Every message of a live queue, in send order; rows of queues deleted while their
/// messages were being written are removed first.
pub fn load_messages(meta: &Meta) -> Result<Vec<Message>> {
    meta.write(|t| {
        t.execute(
            "DELETE FROM sqs_messages WHERE queue NOT IN (SELECT id FROM sqs_queues)",
            [],
        )
    })?;
    type Row = (i64, String, String, i64, i64, Option<i64>, Option<String>);
    let rows: Vec<Row> = meta.read(|c| {
        let mut st = c.prepare(
            "SELECT seq, queue, content, visible_at, receive_count, first_receive, receipt
             FROM sqs_messages ORDER BY seq",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?;
        rows.collect()
    })?;
    rows.into_iter()
        .map(|(seq, queue, content, visible_at, count, first, receipt)| {
            let content: Content = serde_json::from_str(&content)?;
            Ok(Message {
                seq: u64::try_from(seq).unwrap_or(0),
                queue,
                content: Arc::new(content),
                visible_at,
                receive_count: u32::try_from(count).unwrap_or(0),
                first_receive: first,
                receipt,
            })
        })
        .collect()
}

/// One change to persist.
#[derive(Debug, Clone)]
pub enum Op {
    PutQueue {
        arn: String,
        id: String,
        account: String,
        body: String,
    },
    /// The queue row and every message of that incarnation.
    DeleteQueue {
        arn: String,
        id: String,
    },
    /// A whole message row (a send, or a move to a dead-letter queue).
    Put {
        seq: i64,
        queue: String,
        content: String,
        state: State,
    },
    /// A receive or a visibility change.
    State {
        seq: i64,
        state: State,
    },
    Delete {
        seq: i64,
    },
    /// Messages of a queue up to a sequence number (PurgeQueue).
    Purge {
        queue: String,
        through: i64,
    },
}

/// The receive state columns of a message row.
#[derive(Debug, Clone)]
pub struct State {
    pub visible_at: i64,
    pub receive_count: i64,
    pub first_receive: Option<i64>,
    pub receipt: Option<String>,
}

fn seq(m: &Message) -> i64 {
    i64::try_from(m.seq).unwrap_or(i64::MAX)
}

impl State {
    fn of(m: &Message) -> State {
        State {
            visible_at: m.visible_at,
            receive_count: i64::from(m.receive_count),
            first_receive: m.first_receive,
            receipt: m.receipt.clone(),
        }
    }
}

impl Op {
    pub fn put_queue(q: &Queue) -> Result<Op> {
        Ok(Op::PutQueue {
            arn: q.arn.clone(),
            id: q.id.clone(),
            account: q.account.clone(),
            body: serde_json::to_string(q)?,
        })
    }

    pub fn put(m: &Message) -> Result<Op> {
        Ok(Op::Put {
            seq: seq(m),
            queue: m.queue.clone(),
            content: serde_json::to_string(m.content.as_ref())?,
            state: State::of(m),
        })
    }

    pub fn state(m: &Message) -> Op {
        Op::State {
            seq: seq(m),
            state: State::of(m),
        }
    }

    pub fn delete(m: &Message) -> Op {
        Op::Delete { seq: seq(m) }
    }

    fn apply(&self, t: &Transaction<'_>) -> sightline_meta::rusqlite::Result<()> {
        match self {
            Op::PutQueue {
                arn,
                id,
                account,
                body,
            } => {
                t.execute(
                    "INSERT OR REPLACE INTO sqs_queues (arn, id, account, body) VALUES (?1, ?2, ?3, ?4)",
                    params![arn, id, account, body],
                )?;
            }
            Op::DeleteQueue { arn, id } => {
                t.execute(
                    "DELETE FROM sqs_queues WHERE arn = ?1 AND id = ?2",
                    params![arn, id],
                )?;
                t.execute("DELETE FROM sqs_messages WHERE queue = ?1", params![id])?;
            }
            Op::Put {
                seq,
                queue,
                content,
                state,
            } => {
                t.execute(
                    "INSERT OR REPLACE INTO sqs_messages
                     (seq, queue, content, visible_at, receive_count, first_receive, receipt)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        seq,
                        queue,
                        content,
                        state.visible_at,
                        state.receive_count,
                        state.first_receive,
                        state.receipt
                    ],
                )?;
            }
            Op::State { seq, state } => {
                t.execute(
                    "UPDATE sqs_messages SET visible_at = ?2, receive_count = ?3,
                     first_receive = ?4, receipt = ?5 WHERE seq = ?1",
                    params![
                        seq,
                        state.visible_at,
                        state.receive_count,
                        state.first_receive,
                        state.receipt
                    ],
                )?;
            }
            Op::Delete { seq } => {
                t.execute("DELETE FROM sqs_messages WHERE seq = ?1", params![seq])?;
            }
            Op::Purge { queue, through } => {
                t.execute(
                    "DELETE FROM sqs_messages WHERE queue = ?1 AND seq <= ?2",
                    params![queue, through],
                )?;
            }
        }
        Ok(())
    }
}

struct Job {
    ops: Vec<Op>,
    done: oneshot::Sender<Result<(), String>>,
}

/// The single writer: jobs are committed in the order they were submitted.
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

/// A submitted job; [`Pending::wait`] returns once it is committed (or failed).
#[must_use]
pub struct Pending(Option<oneshot::Receiver<Result<(), String>>>);

impl Pending {
    pub async fn wait(self) -> Result<()> {
        match self.0 {
            None => Ok(()),
            Some(rx) => match rx.await {
                Ok(r) => r.map_err(Error::Storage),
                Err(_) => Err(Error::Storage("the sqs writer stopped".into())),
            },
        }
    }
}

impl Writer {
    /// Starts the writer thread; it ends when the writer is dropped.
    pub fn start(meta: Arc<Meta>) -> Result<Writer> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqs-writer".into())
            .spawn(move || run(&meta, &rx))
            .map_err(|e| Error::Storage(format!("sqs writer thread: {e}")))?;
        Ok(Writer { tx })
    }

    /// Queues `ops` for the next commit. Call it while holding the lock under which the
    /// change was made in memory, so disk order is memory order.
    pub fn submit(&self, ops: Vec<Op>) -> Pending {
        if ops.is_empty() {
            return Pending(None);
        }
        let (done, rx) = oneshot::channel();
        if let Err(mpsc::SendError(job)) = self.tx.send(Job { ops, done }) {
            let _ = job.done.send(Err("the sqs writer stopped".to_owned()));
        }
        Pending(Some(rx))
    }
}

fn commit(meta: &Meta, jobs: &[Job]) -> Result<(), String> {
    meta.write(|t| {
        for j in jobs {
            for op in &j.ops {
                op.apply(t)?;
            }
        }
        Ok(())
    })
    .map_err(|e| e.to_string())
}

fn run(meta: &Meta, rx: &mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        match commit(meta, &jobs) {
            Ok(()) => {
                for j in jobs {
                    let _ = j.done.send(Ok(()));
                }
            }
            // One job's failure must not fail the others: commit them one by one.
            Err(e) if jobs.len() > 1 => {
                tracing::warn!(error = %e, jobs = jobs.len(), "sqs group commit failed, committing jobs singly");
                for j in jobs {
                    let r = commit(meta, std::slice::from_ref(&j));
                    let _ = j.done.send(r);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "sqs commit failed");
                for j in jobs {
                    let _ = j.done.send(Err(e.clone()));
                }
            }
        }
    }
}
