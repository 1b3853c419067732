//! The audit sink of the foundation: CloudTrail-format records appended as JSON lines to
//! a file in the data directory, with group commit — a record is acknowledged only after
//! the fsync that covers it, and one fsync covers every record that arrived meanwhile.

use async_trait::async_trait;
use sightline_core::{AuditSink, Error, Result, Scope};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use tokio::sync::oneshot;

struct Pending {
    line: Vec<u8>,
    done: oneshot::Sender<std::result::Result<(), String>>,
}

pub struct FileAuditSink {
    tx: parking_lot::Mutex<Option<mpsc::Sender<Pending>>>,
    path: PathBuf,
    writer: parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl FileAuditSink {
    pub fn open(dir: &Path) -> std::io::Result<FileAuditSink> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("audit.jsonl");
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)?;
        truncate_torn_tail(&mut file, &path)?;
        let (tx, rx) = mpsc::channel::<Pending>();
        let writer = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_loop(file, rx))?;
        Ok(FileAuditSink {
            tx: parking_lot::Mutex::new(Some(tx)),
            path,
            writer: parking_lot::Mutex::new(Some(writer)),
        })
    }

    /// Stops accepting records and waits until every accepted one is on disk.
    pub fn close(&self) {
        self.tx.lock().take();
        if let Some(w) = self.writer.lock().take() {
            let _ = w.join();
        }
    }
}

/// A crash can leave a partial last line; it was never acknowledged, so it is cut.
fn truncate_torn_tail(file: &mut File, path: &Path) -> std::io::Result<()> {
    let data = std::fs::read(path)?;
    if data.is_empty() || data.ends_with(b"\n") {
        return Ok(());
    }
    let keep = data
        .iter()
        .rposition(|b| *b == b'\n')
        .map(|p| p + 1)
        .unwrap_or(0);
    tracing::warn!(path = %path.display(), cut_bytes = data.len() - keep, "audit log had a torn tail, cut");
    file.set_len(keep as u64)?;
    file.sync_data()
}

fn write_loop(mut file: File, rx: mpsc::Receiver<Pending>) {
    let mut buf = Vec::with_capacity(1 << 16);
    let mut waiters = Vec::new();
    while let Ok(first) = rx.recv() {
        buf.clear();
        buf.extend_from_slice(&first.line);
        waiters.push(first.done);
        // Everything already queued joins this commit.
        while let Ok(more) = rx.try_recv() {
            buf.extend_from_slice(&more.line);
            waiters.push(more.done);
            if buf.len() > 8 << 20 {
                break;
            }
        }
        let result = file
            .write_all(&buf)
            .and_then(|_| file.sync_data())
            .map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::error!(error = %e, "audit write failed");
        }
        for w in waiters.drain(..) {
            let _ = w.send(result.clone());
        }
    }
}

#[async_trait]
impl AuditSink for FileAuditSink {
    async fn record(&self, _scope: &Scope, record: serde_json::Value) -> Result<()> {
        let mut line = serde_json::to_vec(&record).map_err(|e| Error::Storage(e.to_string()))?;
        line.push(b'\n');
        let (done, wait) = oneshot::channel();
        {
            let tx = self.tx.lock();
            let tx = tx
                .as_ref()
                .ok_or_else(|| Error::Storage("audit sink closed".into()))?;
            tx.send(Pending { line, done })
                .map_err(|_| Error::Storage("audit writer stopped".into()))?;
        }
        wait.await
            .map_err(|_| Error::Storage("audit writer stopped".into()))?
            .map_err(Error::Storage)
    }

    async fn read(&self, scope: &Scope, limit: usize) -> Result<Vec<serde_json::Value>> {
        let path = self.path.clone();
        let scope = scope.clone();
        tokio::task::spawn_blocking(move || {
            let f = File::open(&path).map_err(|e| Error::Storage(e.to_string()))?;
            let mut out = Vec::new();
            for line in BufReader::new(f).lines() {
                let line = line.map_err(|e| Error::Storage(e.to_string()))?;
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if v["recipientAccountId"] == scope.account_id.as_str()
                    && v["awsRegion"] == scope.region.as_str()
                {
                    out.push(v);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| Error::Storage(e.to_string()))?
    }
}
