//! The transparency log beyond CloudTrail: every audit record is a leaf of an RFC 6962
//! Merkle tree per (account, region). A sequencer appends records in (time, event id)
//! order as the audit clock settles them, makes the leaves durable, and signs a C2SP
//! checkpoint (Ed25519) whenever the tree grew; checkpoints are also signed on demand.
//! Inclusion proofs for an event id and consistency proofs between sizes let a client
//! that kept an old checkpoint check that the log only grew and that a record is in it.
//!
//! Files, per scope in `DATA_DIR/tlog/<account>/<region>/`: the Merkle levels
//! (`level-NN`, see `sightline_merkle::store`), and `events`, 24 bytes per leaf (record
//! time in ms, big-endian, and the event id's 16 UUID bytes) in leaf order. `events` is
//! synced before the levels, so it never has fewer entries than the tree; its entry for
//! the last leaf is where sequencing resumes.

use crate::model::Cursor;
use crate::scan::read_after;
use crate::{Error, Result};
use datafusion::arrow::array::AsArray;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, col, lit};
use sightline_core::{AuditClock, SecretSealer};
use sightline_lake::Lake;
use sightline_lake::datasets::audit;
use sightline_merkle::{Checkpoint, Hash, LogStore, Signer, leaf_hash};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const ENTRY: u64 = 24;
/// Leaves per synced batch: small enough that the upper-level nodes one batch writes
/// stay within the tail `LogStore::open` checks after a crash.
const ROUND: usize = 8_192;
/// Records are read a time window at a time, so catching up on a long history costs
/// passes over one window's keys rather than over everything after the last leaf.
const WINDOW_MS: i64 = 10_000;
pub const KEY_NAME: &str = "sightline.local/audit";
const KEY_LABEL: &str = "tlog-checkpoint-key";

pub fn origin(account: &str, region: &str) -> String {
    format!("{KEY_NAME}/{account}/{region}")
}

fn io(e: std::io::Error) -> Error {
    Error::Io(e)
}

fn merkle(e: sightline_merkle::Error) -> Error {
    Error::Signing(format!("transparency log: {e}"))
}

/// 16 bytes naming an event: its UUID, or for ids that are not UUIDs the first 16
/// bytes of their SHA-256.
pub fn event_key(id: &str) -> [u8; 16] {
    match uuid::Uuid::parse_str(id) {
        Ok(u) => *u.as_bytes(),
        Err(_) => {
            let d = ring::digest::digest(&ring::digest::SHA256, id.as_bytes());
            let mut out = [0u8; 16];
            out.copy_from_slice(&d.as_ref()[..16]);
            out
        }
    }
}

struct ScopeLog {
    store: LogStore,
    events: std::fs::File,
    /// Where sequencing resumes: the last leaf's (time ms, event id).
    last: Option<(i64, [u8; 16])>,
    /// Every record timed before this (ms) is in the tree (in memory: a restart scans
    /// again from the last leaf).
    scanned: i64,
}

impl ScopeLog {
    fn open(dir: &Path) -> Result<ScopeLog> {
        std::fs::create_dir_all(dir).map_err(io)?;
        let store = LogStore::open(dir).map_err(merkle)?;
        let events = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(dir.join("events"))
            .map_err(io)?;
        // Entries past the durable tree (a crash between the two syncs) are dropped.
        let size = store.size();
        events.set_len(size * ENTRY).map_err(io)?;
        let last = if size == 0 {
            None
        } else {
            let mut buf = [0u8; ENTRY as usize];
            events
                .read_exact_at(&mut buf, (size - 1) * ENTRY)
                .map_err(io)?;
            let mut t = [0u8; 8];
            t.copy_from_slice(&buf[..8]);
            let mut id = [0u8; 16];
            id.copy_from_slice(&buf[8..]);
            Some((i64::from_be_bytes(t), id))
        };
        Ok(ScopeLog {
            store,
            events,
            scanned: last.map_or(0, |(t, _)| t),
            last,
        })
    }

    /// The leaf index of an event, scanning `events` in large reads.
    fn find(&self, key: &[u8; 16]) -> Result<Option<(u64, i64)>> {
        let size = self.store.size();
        let chunk = 43_690u64; // entries per ~1 MiB read
        let mut buf = vec![0u8; (chunk * ENTRY) as usize];
        let mut start = 0;
        while start < size {
            let n = chunk.min(size - start);
            let bytes = &mut buf[..(n * ENTRY) as usize];
            self.events
                .read_exact_at(bytes, start * ENTRY)
                .map_err(io)?;
            for (i, e) in bytes.chunks_exact(ENTRY as usize).enumerate() {
                if &e[8..] == key {
                    let mut t = [0u8; 8];
                    t.copy_from_slice(&e[..8]);
                    return Ok(Some((start + i as u64, i64::from_be_bytes(t))));
                }
            }
            start += n;
        }
        Ok(None)
    }
}

pub struct Tlog {
    lake: Arc<Lake>,
    clock: Arc<AuditClock>,
    dir: PathBuf,
    signer: Signer,
    logs: tokio::sync::Mutex<BTreeMap<(String, String), ScopeLog>>,
}

pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    pub proof: Vec<Hash>,
    pub record: String,
    pub checkpoint: String,
}

pub struct ConsistencyProof {
    pub proof: Vec<Hash>,
    pub checkpoint: String,
}

fn ts(ms: i64) -> Expr {
    lit(ScalarValue::TimestampMillisecond(
        Some(ms),
        Some("UTC".into()),
    ))
}

impl Tlog {
    pub fn open(
        lake: Arc<Lake>,
        clock: Arc<AuditClock>,
        data_dir: &Path,
        sealer: &dyn SecretSealer,
    ) -> Result<Tlog> {
        let dir = data_dir.join("tlog");
        std::fs::create_dir_all(&dir).map_err(io)?;
        let key_path = dir.join("checkpoint.key");
        let signer = match std::fs::read(&key_path) {
            Ok(sealed) => {
                let pkcs8 = sealer
                    .open(KEY_LABEL, &sealed)
                    .map_err(|e| Error::Signing(e.to_string()))?;
                Signer::from_pkcs8(KEY_NAME, &pkcs8).map_err(merkle)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (signer, pkcs8) = Signer::generate(KEY_NAME).map_err(merkle)?;
                let sealed = sealer
                    .seal(KEY_LABEL, &pkcs8)
                    .map_err(|e| Error::Signing(e.to_string()))?;
                write_durably(&key_path, &sealed)?;
                tracing::info!(key = %signer.verifier().encode(), "checkpoint signing key created");
                signer
            }
            Err(e) => return Err(io(e)),
        };
        Ok(Tlog {
            lake,
            clock,
            dir,
            signer,
            logs: tokio::sync::Mutex::new(BTreeMap::new()),
        })
    }

    /// The verifier key (C2SP vkey) clients pin.
    pub fn verifier_key(&self) -> String {
        self.signer.verifier().encode()
    }

    fn scope_dir(&self, account: &str, region: &str) -> PathBuf {
        self.dir.join(account).join(region)
    }

    async fn with_log<T>(
        &self,
        account: &str,
        region: &str,
        f: impl FnOnce(&mut ScopeLog) -> Result<T>,
    ) -> Result<T> {
        let mut logs = self.logs.lock().await;
        let key = (account.to_owned(), region.to_owned());
        if !logs.contains_key(&key) {
            let log = ScopeLog::open(&self.scope_dir(account, region))?;
            logs.insert(key.clone(), log);
        }
        let log = logs
            .get_mut(&key)
            .ok_or_else(|| Error::Signing("transparency log vanished".into()))?;
        f(log)
    }

    /// Sequences records every `interval` until `shutdown`. Each round syncs the tree's
    /// files, so a longer interval costs the audit WAL's fsyncs less.
    pub fn spawn(
        self: &Arc<Self>,
        interval: std::time::Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(e) = this.sequence_all().await {
                            tracing::warn!(error = %e, "transparency log sequencing failed");
                        }
                    }
                    _ = shutdown.changed() => break,
                }
            }
        })
    }

    /// Appends every settled record of every scope; returns how many.
    pub async fn sequence_all(&self) -> Result<u64> {
        let mut total = 0;
        for (account, region) in self.lake.scopes(audit::NAME)? {
            total += self.sequence(&account, &region).await?;
        }
        Ok(total)
    }

    async fn sequence(&self, account: &str, region: &str) -> Result<u64> {
        let mut appended = 0u64;
        loop {
            let upper = self.clock.settled().timestamp_millis();
            let (last, scanned) = self
                .with_log(account, region, |l| Ok((l.last, l.scanned)))
                .await?;
            let mut from = scanned;
            if last.is_none() && from == 0 {
                // A new log starts at the scope's first record.
                let first =
                    read_after(&self.lake, account, Some(region), None, 0, upper, 1).await?;
                match first.first() {
                    Some(r) => from = r.time_ms,
                    None => break,
                }
            }
            if from >= upper {
                break;
            }
            let hi = upper.min(from.saturating_add(WINDOW_MS));
            let cursor = last.map(|(t, id)| Cursor {
                time_ms: t,
                // Event ids are lower-case hyphenated UUIDs: text and byte orders agree.
                event_id: uuid::Uuid::from_bytes(id).hyphenated().to_string(),
            });
            let rows: Vec<(i64, String, Hash)> = read_after(
                &self.lake,
                account,
                Some(region),
                cursor.as_ref(),
                from,
                hi,
                ROUND,
            )
            .await?
            .into_iter()
            .map(|r| (r.time_ms, r.event_id, leaf_hash(r.record.as_bytes())))
            .collect();
            let full = rows.len() == ROUND;
            if rows.is_empty() {
                // Nothing (more) in this window: the next one.
                self.with_log(account, region, |l| {
                    l.scanned = hi;
                    Ok(())
                })
                .await?;
                if hi >= upper {
                    break;
                }
                continue;
            }
            let n = rows.len() as u64;
            let appended_now = self
                .with_log(account, region, |l| {
                    let mut buf = Vec::with_capacity(rows.len() * ENTRY as usize);
                    for (t, id, _) in &rows {
                        buf.extend_from_slice(&t.to_be_bytes());
                        buf.extend_from_slice(&event_key(id));
                    }
                    l.events.write_all(&buf).map_err(io)?;
                    l.events.sync_data().map_err(io)?;
                    let hashes: Vec<Hash> = rows.iter().map(|r| r.2).collect();
                    l.store.append(&hashes).map_err(merkle)?;
                    l.store.sync().map_err(merkle)?;
                    if let Some((t, id, _)) = rows.last() {
                        l.last = Some((*t, event_key(id)));
                        // A short round read the window to its end.
                        l.scanned = if full { *t } else { hi };
                    }
                    let note = self.sign(l, account, region)?;
                    Ok(note)
                })
                .await;
            let note = match appended_now {
                Ok(n) => n,
                Err(e) => {
                    // Reopened next time, which trims both files back to the durable tree.
                    self.logs
                        .lock()
                        .await
                        .remove(&(account.to_owned(), region.to_owned()));
                    return Err(e);
                }
            };
            write_durably(
                &self.scope_dir(account, region).join("checkpoint"),
                note.as_bytes(),
            )?;
            appended += n;
            if !full && hi >= upper {
                break;
            }
        }
        Ok(appended)
    }

    fn sign(&self, l: &ScopeLog, account: &str, region: &str) -> Result<String> {
        let size = l.store.size();
        let root = l.store.root_at(size).map_err(merkle)?.unwrap_or_default();
        let note = self.signer.sign(&Checkpoint {
            origin: origin(account, region),
            size,
            root,
        });
        Ok(note)
    }

    /// A checkpoint of the tree as it is now, signed now.
    pub async fn checkpoint(&self, account: &str, region: &str) -> Result<String> {
        self.with_log(account, region, |l| self.sign(l, account, region))
            .await
    }

    /// The inclusion proof of an event in the current tree, with the record and a
    /// checkpoint of that tree.
    pub async fn prove_inclusion(
        &self,
        account: &str,
        region: &str,
        event_id: &str,
    ) -> Result<Option<InclusionProof>> {
        let key = event_key(event_id);
        let found = self
            .with_log(account, region, |l| {
                let Some((index, time)) = l.find(&key)? else {
                    return Ok(None);
                };
                let note = self.sign(l, account, region)?;
                let size = l.store.size();
                let proof = l
                    .store
                    .inclusion_proof(index, size)
                    .map_err(merkle)?
                    .unwrap_or_default();
                Ok(Some((index, time, size, proof, note)))
            })
            .await?;
        let Some((index, time, size, proof, checkpoint)) = found else {
            return Ok(None);
        };
        let table = self
            .lake
            .snapshot(audit::NAME, account, Some(region), time, time)
            .await?;
        let lake_err = sightline_lake::Error::from;
        let batches = self
            .lake
            .lookup_context()
            .read_table(Arc::new(table))
            .map_err(lake_err)?
            .filter(
                col("event_time")
                    .eq(ts(time))
                    .and(col("event_id").eq(lit(event_id.to_owned()))),
            )
            .map_err(lake_err)?
            .select_columns(&["record"])
            .map_err(lake_err)?
            .collect()
            .await
            .map_err(lake_err)?;
        let record = batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .map(|b| b.column(0).as_string_view().value(0).to_owned());
        // A record past retention is gone from the lake; its leaf still proves it was logged.
        Ok(Some(InclusionProof {
            index,
            size,
            proof,
            record: record.unwrap_or_default(),
            checkpoint,
        }))
    }

    /// The consistency proof from `old` leaves to `new` (default: the current tree),
    /// with a checkpoint signed for `new`.
    pub async fn prove_consistency(
        &self,
        account: &str,
        region: &str,
        old: u64,
        new: Option<u64>,
    ) -> Result<Option<ConsistencyProof>> {
        self.with_log(account, region, |l| {
            let current = l.store.size();
            let size = new.unwrap_or(current);
            if old > size || size > current {
                return Ok(None);
            }
            let note = if size == current {
                self.sign(l, account, region)?
            } else {
                let root = l.store.root_at(size).map_err(merkle)?.unwrap_or_default();
                self.signer.sign(&Checkpoint {
                    origin: origin(account, region),
                    size,
                    root,
                })
            };
            let proof = l
                .store
                .consistency_proof(old, size)
                .map_err(merkle)?
                .unwrap_or_default();
            Ok(Some(ConsistencyProof {
                proof,
                checkpoint: note,
            }))
        })
        .await
    }
}

/// Writes a small file so that it is either the old or the new content after a crash.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}
