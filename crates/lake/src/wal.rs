//! The write-ahead log: every append is framed (length, CRC-32), written and fsynced by
//! one writer thread before it is acknowledged; appends that arrive during a sync join
//! the next one (group commit). WAL files are numbered by generation; a flush rotates to
//! a new generation so that everything up to the old one can be moved into segments.

use crate::buffer::{Buffer, Prepared};
use crate::wal_file::WalFile;
use crate::{Error, Result};
use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use tokio::sync::oneshot;

// "SLW2": rows carry their event time ahead of the JSON document.
const MAGIC: u32 = 0x3257_4c53;
/// "SLWA", the first format: rows are JSON only, their time is inside the document.
/// Still read, so that acknowledged rows in a WAL left by an older build survive the
/// upgrade; never written.
const MAGIC_UNTIMED: u32 = 0x534c_5741;
const HEADER: usize = 12;
/// Bytes ahead of each row's JSON: its length (u32) and its time (i64 millis).
const ROW_HEADER: usize = 12;

/// One logical append as replay reads it back: the rows of one (dataset, account,
/// region), each with its time in milliseconds and its JSON document as text. The time
/// is `None` for rows of the first format, whose dataset reads it from the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub dataset: String,
    pub account: String,
    pub region: String,
    pub rows: Vec<(Option<i64>, Vec<u8>)>,
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<()> {
    let len = u16::try_from(s.len()).map_err(|_| Error::InvalidRow("name too long".into()))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Builds one framed entry in a single buffer: each document is serialized straight
/// into the frame, and the same bytes later fill the dataset's JSON columns, so a row is
/// serialized once per append.
pub struct FrameBuilder {
    buf: Vec<u8>,
    count_at: usize,
    rows: u32,
    spans: Vec<(i64, std::ops::Range<usize>)>,
}

impl FrameBuilder {
    pub fn new(dataset: &str, account: &str, region: &str, capacity: usize) -> Result<Self> {
        let mut buf = Vec::with_capacity(HEADER + 64 + capacity);
        buf.extend_from_slice(&[0; HEADER]);
        put_str(&mut buf, dataset)?;
        put_str(&mut buf, account)?;
        put_str(&mut buf, region)?;
        let count_at = buf.len();
        buf.extend_from_slice(&[0; 4]);
        Ok(FrameBuilder {
            buf,
            count_at,
            rows: 0,
            spans: Vec::new(),
        })
    }

    pub fn push(&mut self, time_ms: i64, doc: &serde_json::Value) -> Result<()> {
        self.push_with(time_ms, |buf| {
            sonic_rs::to_writer(buf, doc).map_err(|e| Error::InvalidRow(e.to_string()))
        })
    }

    /// Appends one row whose JSON text `write` puts at the end of the buffer.
    pub fn push_with(
        &mut self,
        time_ms: i64,
        write: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.buf.extend_from_slice(&time_ms.to_le_bytes());
        write(&mut self.buf)?;
        let len = u32::try_from(self.buf.len() - at - ROW_HEADER)
            .map_err(|_| Error::InvalidRow("row too large".into()))?;
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
        self.spans.push((time_ms, at + ROW_HEADER..self.buf.len()));
        self.rows += 1;
        Ok(())
    }

    /// The framed bytes (magic, payload length, CRC-32 of the payload, payload).
    pub fn finish(mut self) -> Result<Frame> {
        let payload_len = u32::try_from(self.buf.len() - HEADER)
            .map_err(|_| Error::InvalidRow("batch too large".into()))?;
        self.buf[self.count_at..self.count_at + 4].copy_from_slice(&self.rows.to_le_bytes());
        let crc = crc32fast::hash(&self.buf[HEADER..]);
        self.buf[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        self.buf[4..8].copy_from_slice(&payload_len.to_le_bytes());
        self.buf[8..12].copy_from_slice(&crc.to_le_bytes());
        Ok(Frame {
            bytes: self.buf,
            spans: self.spans,
        })
    }
}

/// A framed entry and where each row's JSON text sits in it.
pub struct Frame {
    pub bytes: Vec<u8>,
    pub spans: Vec<(i64, std::ops::Range<usize>)>,
}

impl Frame {
    /// Row `i`'s time and JSON text.
    pub fn row(&self, i: usize) -> Option<(i64, &str)> {
        let (t, r) = self.spans.get(i)?;
        std::str::from_utf8(self.bytes.get(r.clone())?)
            .ok()
            .map(|s| (*t, s))
    }
}

impl Entry {
    /// Frames the entry (the form tests and tools use; appends use [`FrameBuilder`]).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let capacity = self.rows.iter().map(|(_, r)| r.len() + ROW_HEADER).sum();
        let mut f = FrameBuilder::new(&self.dataset, &self.account, &self.region, capacity)?;
        for (t, r) in &self.rows {
            let t = t.ok_or_else(|| Error::InvalidRow("row without a time".into()))?;
            f.push_with(t, |buf| {
                buf.extend_from_slice(r);
                Ok(())
            })?;
        }
        Ok(f.finish()?.bytes)
    }

    fn decode_payload(p: &[u8], timed: bool) -> Option<Entry> {
        let mut c = Cursor { data: p, pos: 0 };
        let dataset = c.string()?;
        let account = c.string()?;
        let region = c.string()?;
        let n = c.u32()? as usize;
        let mut rows = Vec::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            let len = c.u32()? as usize;
            let time = match timed {
                true => Some(i64::from_le_bytes(c.take(8)?.try_into().ok()?)),
                false => None,
            };
            rows.push((time, c.take(len)?.to_vec()));
        }
        (c.pos == p.len()).then_some(Entry {
            dataset,
            account,
            region,
            rows,
        })
    }
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let len = u16::from_le_bytes(self.take(2)?.try_into().ok()?) as usize;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
}

/// What reading a WAL file found.
#[derive(Debug, Default)]
pub struct Replay {
    pub entries: Vec<Entry>,
    /// Byte offset and reason of a torn or corrupt tail, which was cut.
    pub cut: Option<(u64, String)>,
}

/// Reads every intact entry of a WAL file. At the first frame that is incomplete or
/// fails its checksum the rest of the file is cut off: it was never acknowledged (a
/// torn write) or it is damaged, and the entries before it are kept.
pub fn replay(path: &Path) -> Result<Replay> {
    let mut data = Vec::new();
    File::open(path)?.read_to_end(&mut data)?;
    let mut out = Replay::default();
    let mut pos = 0usize;
    while pos < data.len() {
        // A direct-I/O WAL ends in zeros up to its last block boundary (`wal_file`); a
        // frame never starts with a zero byte, since its magic does not.
        if data[pos] == 0 && data[pos..].iter().all(|&b| b == 0) {
            break;
        }
        let fail = |why: &str| Some((pos as u64, why.to_owned()));
        let Some(h) = data.get(pos..pos + HEADER) else {
            out.cut = fail("truncated frame header");
            break;
        };
        let magic = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
        let crc = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
        let timed = match magic {
            MAGIC => true,
            MAGIC_UNTIMED => false,
            _ => {
                out.cut = fail("bad frame magic");
                break;
            }
        };
        let Some(payload) = data.get(pos + HEADER..pos + HEADER + len) else {
            out.cut = fail("truncated frame payload");
            break;
        };
        if crc32fast::hash(payload) != crc {
            out.cut = fail("checksum mismatch");
            break;
        }
        match Entry::decode_payload(payload, timed) {
            Some(e) => out.entries.push(e),
            None => {
                out.cut = fail("undecodable frame");
                break;
            }
        }
        pos += HEADER + len;
    }
    if let Some((offset, why)) = &out.cut {
        tracing::warn!(path = %path.display(), offset, reason = %why, cut_bytes = data.len() as u64 - offset, "wal tail cut");
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(*offset)?;
        f.sync_all()?;
    }
    Ok(out)
}

pub fn file_name(generation: u64) -> String {
    format!("wal-{generation:016x}.log")
}

pub fn parse_file_name(name: &str) -> Option<u64> {
    u64::from_str_radix(name.strip_prefix("wal-")?.strip_suffix(".log")?, 16).ok()
}

/// WAL files in a directory, by generation.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if let Some(g) = e.file_name().to_str().and_then(parse_file_name) {
            out.push((g, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

enum Msg {
    Append {
        bytes: Vec<u8>,
        prepared: Prepared,
        done: oneshot::Sender<Result<(), String>>,
    },
    /// Starts a new generation; answers the one that was closed.
    Rotate {
        done: oneshot::Sender<Result<u64, String>>,
    },
}

/// The writer thread's handle.
pub struct Writer {
    tx: Mutex<Option<mpsc::Sender<Msg>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Writer {
    pub fn start(dir: PathBuf, generation: u64, buffer: Arc<Mutex<Buffer>>) -> Result<Writer> {
        let file = open_generation(&dir, generation)?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("lake-wal".into())
            .spawn(move || run(dir, generation, file, rx, buffer))?;
        Ok(Writer {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    fn send(&self, msg: Msg) -> Result<()> {
        let tx = self.tx.lock();
        tx.as_ref()
            .ok_or(Error::Closed)?
            .send(msg)
            .map_err(|_| Error::Closed)
    }

    /// Durably appends; returns once the bytes are fsynced and the rows are visible.
    pub async fn append(&self, bytes: Vec<u8>, prepared: Prepared) -> Result<()> {
        let (done, wait) = oneshot::channel();
        self.send(Msg::Append {
            bytes,
            prepared,
            done,
        })?;
        wait.await.map_err(|_| Error::Closed)?.map_err(Error::Wal)
    }

    pub async fn rotate(&self) -> Result<u64> {
        let (done, wait) = oneshot::channel();
        self.send(Msg::Rotate { done })?;
        wait.await.map_err(|_| Error::Closed)?.map_err(Error::Wal)
    }

    /// Finishes every queued append, then stops the thread.
    pub fn close(&self) {
        self.tx.lock().take();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

fn open_generation(dir: &Path, generation: u64) -> Result<WalFile> {
    let f = WalFile::create(&dir.join(file_name(generation)))?;
    // The new file's directory entry must survive a crash too.
    File::open(dir)?.sync_all()?;
    Ok(f)
}

/// Bytes of frames one commit takes at most (plus the frame that crosses it).
const COMMIT_BYTES: usize = 32 << 20;

fn run(
    dir: PathBuf,
    mut generation: u64,
    mut file: WalFile,
    rx: mpsc::Receiver<Msg>,
    buffer: Arc<Mutex<Buffer>>,
) {
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut batch: Vec<(Prepared, oneshot::Sender<Result<(), String>>)> = Vec::new();
    let mut pending: Option<Msg> = None;
    loop {
        let first = match pending.take() {
            Some(m) => m,
            None => match rx.recv() {
                Ok(m) => m,
                Err(_) => break,
            },
        };
        match first {
            Msg::Rotate { done } => {
                let old = generation;
                let next = generation + 1;
                let result = file
                    .sync_all()
                    .map_err(|e| e.to_string())
                    .and_then(|_| open_generation(&dir, next).map_err(|e| e.to_string()));
                match result {
                    Ok(f) => {
                        file = f;
                        generation = next;
                        let _ = done.send(Ok(old));
                    }
                    Err(e) => {
                        let _ = done.send(Err(e));
                    }
                }
                continue;
            }
            Msg::Append {
                bytes,
                prepared,
                done,
            } => {
                frames.push(bytes);
                batch.push((prepared, done));
            }
        }
        // Everything already queued joins this commit, up to a rotation.
        let mut size = frames[0].len();
        while size < COMMIT_BYTES {
            match rx.try_recv() {
                Ok(Msg::Append {
                    bytes,
                    prepared,
                    done,
                }) => {
                    size += bytes.len();
                    frames.push(bytes);
                    batch.push((prepared, done));
                }
                Ok(rotate @ Msg::Rotate { .. }) => {
                    pending = Some(rotate);
                    break;
                }
                Err(_) => break,
            }
        }
        let slices: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        let result = file.append(&slices).map_err(|e| e.to_string());
        match &result {
            Ok(()) => {
                let mut buf = buffer.lock();
                for (p, _) in batch.iter_mut() {
                    buf.insert(generation, std::mem::take(p));
                }
            }
            Err(e) => tracing::error!(error = %e, "wal write failed"),
        }
        for (_, done) in batch.drain(..) {
            let _ = done.send(result.clone());
        }
        frames.clear();
    }
    let _ = file.sync_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> Entry {
        Entry {
            dataset: "audit_events".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            rows: (0..n)
                .map(|i| (Some(i as i64 * 1000), format!("{{\"i\":{i}}}").into_bytes()))
                .collect(),
        }
    }

    #[test]
    fn frames_round_trip_and_torn_tails_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(1));
        let mut data = Vec::new();
        for n in [1, 3, 2] {
            data.extend(entry(n).encode().unwrap());
        }
        let full = data.len();
        // A torn write: half of a fourth frame.
        let torn = entry(5).encode().unwrap();
        data.extend_from_slice(&torn[..torn.len() / 2]);
        std::fs::write(&path, &data).unwrap();
        let r = replay(&path).unwrap();
        assert_eq!(r.entries, vec![entry(1), entry(3), entry(2)]);
        assert_eq!(r.cut.as_ref().map(|c| c.0), Some(full as u64));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), full as u64);
        // Replaying again finds a clean file.
        assert!(replay(&path).unwrap().cut.is_none());
    }

    #[test]
    fn a_corrupt_frame_keeps_everything_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(7));
        let a = entry(2).encode().unwrap();
        let mut b = entry(4).encode().unwrap();
        let last = b.len() - 3;
        b[last] ^= 0xff;
        let c = entry(1).encode().unwrap();
        std::fs::write(&path, [a.clone(), b, c].concat()).unwrap();
        let r = replay(&path).unwrap();
        assert_eq!(r.entries, vec![entry(2)]);
        let (offset, why) = r.cut.unwrap();
        assert_eq!(
            (offset, why.as_str()),
            (a.len() as u64, "checksum mismatch")
        );
    }

    #[test]
    fn a_direct_wal_replays_whole_and_its_zero_padding_is_no_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(3));
        let mut f = WalFile::create(&path).unwrap();
        let entries: Vec<Entry> = [1, 40, 2, 300].into_iter().map(entry).collect();
        for e in &entries {
            f.append(&[&e.encode().unwrap()]).unwrap();
        }
        drop(f);
        let r = replay(&path).unwrap();
        assert_eq!(r.entries, entries);
        assert!(r.cut.is_none(), "{:?}", r.cut);
        // Bytes after the zeros are damage again: a commit that was never acknowledged
        // landed only in part.
        let mut data = std::fs::read(&path).unwrap();
        let end: usize = entries.iter().map(|e| e.encode().unwrap().len()).sum();
        data.extend_from_slice(&[0; 100]);
        data.push(7);
        std::fs::write(&path, &data).unwrap();
        let r = replay(&path).unwrap();
        assert_eq!(r.entries, entries);
        assert_eq!(r.cut.map(|c| c.0), Some(end as u64));
    }

    #[test]
    fn built_frames_hold_each_document_as_serde_json_writes_it() {
        let docs = [
            serde_json::json!({"eventName": "PutObject", "n": 1, "f": 1.5, "nested": {"a": [1, null, true]}}),
            serde_json::json!({"text": "quote \" backslash \\ tab \t newline \n nul \u{0} é ☃ 𝄞"}),
            serde_json::json!({}),
        ];
        let mut b = FrameBuilder::new("audit_events", "123456789012", "eu-west-1", 0).unwrap();
        for (i, d) in docs.iter().enumerate() {
            b.push(i as i64 * 7, d).unwrap();
        }
        let frame = b.finish().unwrap();
        for (i, d) in docs.iter().enumerate() {
            let (t, json) = frame.row(i).unwrap();
            assert_eq!(t, i as i64 * 7);
            assert_eq!(json, serde_json::to_string(d).unwrap());
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(3));
        std::fs::write(&path, &frame.bytes).unwrap();
        let r = replay(&path).unwrap();
        assert!(r.cut.is_none());
        let expected = Entry {
            dataset: "audit_events".into(),
            account: "123456789012".into(),
            region: "eu-west-1".into(),
            rows: docs
                .iter()
                .enumerate()
                .map(|(i, d)| (Some(i as i64 * 7), serde_json::to_vec(d).unwrap()))
                .collect(),
        };
        assert_eq!(r.entries, vec![expected.clone()]);
        assert_eq!(expected.encode().unwrap(), frame.bytes);
    }

    /// A frame of the first format, byte by byte as that build wrote it.
    fn untimed_frame(rows: &[&str]) -> Vec<u8> {
        let mut payload = Vec::new();
        for s in ["audit_events", "123456789012", "us-east-1"] {
            payload.extend_from_slice(&(s.len() as u16).to_le_bytes());
            payload.extend_from_slice(s.as_bytes());
        }
        payload.extend_from_slice(&(rows.len() as u32).to_le_bytes());
        for r in rows {
            payload.extend_from_slice(&(r.len() as u32).to_le_bytes());
            payload.extend_from_slice(r.as_bytes());
        }
        let mut out = 0x534c_5741u32.to_le_bytes().to_vec();
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend(payload);
        out
    }

    #[test]
    fn frames_of_the_first_format_are_read_without_times() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(2));
        let old = untimed_frame(&[r#"{"a":1}"#, r#"{"b":2}"#]);
        let new = entry(1).encode().unwrap();
        std::fs::write(&path, [old, new].concat()).unwrap();
        let r = replay(&path).unwrap();
        assert!(r.cut.is_none());
        assert_eq!(r.entries.len(), 2);
        assert_eq!(
            r.entries[0].rows,
            vec![
                (None, br#"{"a":1}"#.to_vec()),
                (None, br#"{"b":2}"#.to_vec())
            ]
        );
        assert_eq!(r.entries[1], entry(1));
    }

    #[test]
    fn file_names_sort_by_generation() {
        assert_eq!(parse_file_name(&file_name(0x1f)), Some(0x1f));
        assert_eq!(parse_file_name("other.log"), None);
    }
}
