//! Group commit for the hot path: PutEvents calls arriving together share one SQLite
//! transaction (one fsync), and delivery bookkeeping (done, rescheduled) rides along.
//! (Archive copies go to the lake, appended alongside: `put::commit`.)
//! Writes are applied in the order they were sent, so a delivery's removal never
//! overtakes its insertion.

use crate::model::Delivery;
use crate::store;
use crate::{Error, Result};
use sightline_meta::Meta;
use std::sync::Arc;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// One change to durable delivery state.
#[derive(Debug)]
pub enum Op {
    /// An invocation now owed (or rescheduled with its new attempt count).
    Put(Box<Delivery>),
    /// An invocation finished: delivered, or given up on.
    Done(String),
    /// A scheduled rule fired for its due time (rule ARN, due time ms).
    RuleFired(String, i64),
}

struct Job {
    ops: Vec<Op>,
    done: Option<oneshot::Sender<Result<()>>>,
}

/// The most jobs one transaction takes, so a flood cannot delay its first caller.
const MAX_BATCH: usize = 1024;

#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Job>,
}

impl Journal {
    pub fn start(meta: Arc<Meta>) -> Journal {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("events-journal".into())
            .spawn(move || run(meta, rx));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "events journal thread failed to start");
        }
        Journal { tx }
    }

    /// Applies `ops` durably; returns once they are committed.
    pub async fn commit(&self, ops: Vec<Op>) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job {
                ops,
                done: Some(done),
            })
            .map_err(|_| Error::Storage("events journal stopped".into()))?;
        wait.await
            .map_err(|_| Error::Storage("events journal stopped".into()))?
    }

    /// Queues `ops` without waiting: bookkeeping whose loss only means a repeat.
    pub fn send(&self, ops: Vec<Op>) {
        if ops.is_empty() {
            return;
        }
        let _ = self.tx.send(Job { ops, done: None });
    }
}

fn run(meta: Arc<Meta>, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let outcome = meta.write(|t| {
            for job in &jobs {
                for op in &job.ops {
                    match op {
                        Op::Put(d) => store::put_delivery(t, d)?,
                        Op::Done(id) => store::delete_delivery(t, id)?,
                        Op::RuleFired(arn, due) => store::mark_fired(t, arn, *due)?,
                    }
                }
            }
            Ok(())
        });
        let error = outcome.err().map(|e| e.to_string());
        if let Some(e) = &error {
            tracing::error!(error = %e, jobs = jobs.len(), "events journal commit failed");
        }
        for job in jobs {
            if let Some(done) = job.done {
                let _ = done.send(match &error {
                    None => Ok(()),
                    Some(e) => Err(Error::Storage(e.clone())),
                });
            }
        }
    }
}
