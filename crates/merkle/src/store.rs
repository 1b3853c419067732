//! The transparency log on disk: a durable, append-only RFC 6962 tree that serves roots
//! and proofs at tens of millions of leaves without holding the tree in memory.
//!
//! Layout: the directory holds one file per level, `level-00`, `level-01`, …. File
//! `level-j` is the concatenation of the 32-byte hashes of the complete, aligned
//! subtrees of height `j` (those covering leaves `[i·2^j, (i+1)·2^j)`), in order of `i`;
//! `level-00` holds the leaf hashes. This is exactly what the in-memory [`Tree`] keeps,
//! so both run the same proof code and any subtree hash costs O(log n) positioned reads.
//! Together the files take about twice the size of `level-00` (64 bytes per leaf).
//!
//! Files only ever grow, by whole hashes, at their end, so a crash can leave a torn or
//! missing tail but never a damaged middle. Level 0 is the source of truth and every
//! upper level is a function of it, so [`LogStore::open`] repairs a tail by cutting
//! partial hashes, never trusting an upper level past what level 0 implies, and
//! recomputing upper-level nodes that are missing. Leaf hashes themselves carry no
//! redundancy: whole hashes that reached level 0 are taken as leaves.
//!
//! [`Tree`]: crate::Tree

use crate::tree::{Hash, Nodes, consistency_path, inclusion_path, node_hash, root_at};
use crate::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const HASH: u64 = 32;
/// Hashes per read when scanning or rebuilding a level: 1 MiB, large enough that the
/// scan runs at disk or memory bandwidth rather than at syscall rate.
const CHUNK: usize = 32 * 1024;
/// How many trailing nodes of each upper level `open` checks against the level below.
/// A filesystem that extends a file before its data lands (delayed allocation, data
/// writeback) can leave whole hashes of zeros after a crash; those sit at the tail of
/// what the last batches wrote, and this window covers a batch of up to 2^13 leaves per
/// level in full while costing a few milliseconds per open.
const TAIL_CHECK: u64 = 4096;
/// The height of a tree of 2^64 leaves bounds the number of levels.
const MAX_LEVELS: usize = 64;

/// A durable Merkle log in one directory. Reads take `&self` and use positioned reads,
/// so one store can serve proofs from many threads while appends take `&mut self`.
#[derive(Debug)]
pub struct LogStore {
    dir: PathBuf,
    levels: Vec<Level>,
    /// Leaves known durable: the only ones reads serve, so that a root or proof handed
    /// out can never be contradicted by the log after a crash.
    committed: u64,
    /// A level file was created since the last sync, so its directory entry needs one.
    new_files: bool,
    /// Set when a write or fsync failed: the files may then hold a tail this process
    /// cannot describe (and after a failed fsync the kernel may have dropped dirty
    /// pages), so only reopening, which repairs from what is on disk, is safe.
    failed: Option<String>,
}

#[derive(Debug)]
struct Level {
    path: PathBuf,
    file: File,
    /// Whole hashes in the file (after repair, the file's length / 32).
    len: u64,
    /// Written since the last sync.
    dirty: bool,
}

fn io_error(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let context = format!("{what} {}", path.display());
    move |e| Error::Io(format!("{context}: {e}"))
}

fn level_name(level: usize) -> String {
    format!("level-{level:02}")
}

/// The level a directory entry is the file of, if it is one.
fn parse_level(name: &str) -> Option<usize> {
    let level: usize = name.strip_prefix("level-")?.parse().ok()?;
    (level < MAX_LEVELS && level_name(level) == name).then_some(level)
}

impl LogStore {
    /// Opens the log in `dir`, creating it if missing, repairs whatever tail an
    /// interrupted append or a crash left, and makes the result durable, so that
    /// [`size`](Self::size) is a size the log can be held to.
    ///
    /// The store holds an exclusive lock on `level-00` while open: two writers
    /// appending to the same files would interleave hashes beyond repair.
    pub fn open(dir: &Path) -> Result<LogStore> {
        std::fs::create_dir_all(dir).map_err(io_error("creating", dir))?;
        let mut store = LogStore {
            dir: dir.to_path_buf(),
            levels: Vec::new(),
            committed: 0,
            new_files: false,
            failed: None,
        };
        store.open_level(0)?;
        let level0 = &store.levels[0];
        match level0.file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Io(format!(
                    "{} is in use by another log store",
                    dir.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(io_error("locking", &level0.path)(e)),
        }
        let mut top = 0;
        for entry in std::fs::read_dir(dir).map_err(io_error("listing", dir))? {
            let entry = entry.map_err(io_error("listing", dir))?;
            if let Some(level) = entry.file_name().to_str().and_then(parse_level) {
                top = top.max(level);
            }
        }
        // Every level up to the highest file present is opened (a missing one in
        // between is created empty), so repair also empties files above the tree's
        // height instead of leaving stale nodes for a later append to land after.
        for level in 1..=top {
            store.open_level(level)?;
        }
        store.repair()?;
        for level in &mut store.levels {
            level.dirty = true;
        }
        store.new_files = true;
        store.sync()?;
        Ok(store)
    }

    /// The number of leaves that are durable: the largest size roots and proofs are
    /// served for.
    pub fn size(&self) -> u64 {
        self.committed
    }

    /// The number of leaves appended, including those not yet made durable by
    /// [`sync`](Self::sync).
    pub fn appended_size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len)
    }

    /// Appends a batch of leaf hashes and the upper-level nodes of every subtree they
    /// complete; returns the index of the first. Nothing is durable, or served, until
    /// [`sync`](Self::sync).
    ///
    /// After an error the store refuses further appends and syncs: reopen it to repair.
    pub fn append(&mut self, leaf_hashes: &[Hash]) -> Result<u64> {
        self.usable()?;
        let first = self.appended_size();
        if let Err(e) = self.append_levels(first, leaf_hashes) {
            self.failed = Some(e.to_string());
            return Err(e);
        }
        Ok(first)
    }

    fn append_levels(&mut self, first: u64, leaf_hashes: &[Hash]) -> Result<()> {
        self.write(0, leaf_hashes)?;
        // `start` is the index of `fresh[0]` at `level`; each round pairs the fresh
        // nodes (with the node before them when `start` is odd) into the level above.
        let (mut level, mut start) = (0, first);
        let mut fresh: Vec<Hash> = Vec::new();
        loop {
            let nodes: &[Hash] = if level == 0 { leaf_hashes } else { &fresh };
            let end = start + nodes.len() as u64;
            if start / 2 == end / 2 {
                return Ok(());
            }
            let mut parents = Vec::with_capacity((end / 2 - start / 2) as usize);
            let mut rest = nodes;
            if start % 2 == 1
                && let Some((right, tail)) = rest.split_first()
            {
                parents.push(node_hash(&self.node(level as u32, start - 1)?, right));
                rest = tail;
            }
            for pair in rest.chunks_exact(2) {
                parents.push(node_hash(&pair[0], &pair[1]));
            }
            self.write(level + 1, &parents)?;
            level += 1;
            start /= 2;
            fresh = parents;
        }
    }

    /// Makes everything appended durable and servable: fsyncs each level file written
    /// since the last sync, and the directory if a level file was created.
    ///
    /// A failed fsync leaves the store refusing appends and syncs (the kernel may have
    /// discarded the pages it could not write, so retrying could report success for
    /// data that is gone): reopen it to repair.
    pub fn sync(&mut self) -> Result<()> {
        self.usable()?;
        if let Err(e) = self.sync_files() {
            self.failed = Some(e.to_string());
            return Err(e);
        }
        self.committed = self.appended_size();
        Ok(())
    }

    fn sync_files(&mut self) -> Result<()> {
        for level in self.levels.iter_mut().filter(|l| l.dirty) {
            level
                .file
                .sync_data()
                .map_err(io_error("syncing", &level.path))?;
            level.dirty = false;
        }
        if self.new_files {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io_error("syncing", &self.dir))?;
            self.new_files = false;
        }
        Ok(())
    }

    /// The root of the first `size` leaves; `None` past the durable size.
    pub fn root_at(&self, size: u64) -> Result<Option<Hash>> {
        if size > self.committed {
            return Ok(None);
        }
        root_at(self, size).map(Some)
    }

    /// The root of the durable log.
    pub fn root(&self) -> Result<Hash> {
        root_at(self, self.committed)
    }

    pub fn leaf(&self, index: u64) -> Result<Option<Hash>> {
        if index >= self.committed {
            return Ok(None);
        }
        self.node(0, index).map(Some)
    }

    /// The audit path of leaf `index` in the tree of the first `size` leaves, as
    /// [`Tree::inclusion_proof`](crate::Tree::inclusion_proof) gives it.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Option<Vec<Hash>>> {
        if index >= size || size > self.committed {
            return Ok(None);
        }
        inclusion_path(self, index, size).map(Some)
    }

    /// The proof that the tree of size `old` is a prefix of the tree of size `new`, as
    /// [`Tree::consistency_proof`](crate::Tree::consistency_proof) gives it.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Option<Vec<Hash>>> {
        if old > new || new > self.committed {
            return Ok(None);
        }
        consistency_path(self, old, new).map(Some)
    }

    /// The first index whose leaf hash is `hash`, among the durable leaves. The leaves
    /// are not indexed by hash (that would double the log's size for a lookup that is
    /// rare and can be answered by whoever stores the records), so this is a linear
    /// scan in 1 MiB reads.
    pub fn find_leaf(&self, hash: &Hash) -> Result<Option<u64>> {
        let mut buf = vec![[0u8; 32]; CHUNK];
        let mut start = 0;
        while start < self.committed {
            let n = (self.committed - start).min(CHUNK as u64) as usize;
            let chunk = &mut buf[..n];
            self.read(0, start, chunk)?;
            if let Some(i) = chunk.iter().position(|h| h == hash) {
                return Ok(Some(start + i as u64));
            }
            start += n as u64;
        }
        Ok(None)
    }

    fn usable(&self) -> Result<()> {
        match &self.failed {
            None => Ok(()),
            Some(why) => Err(Error::Io(format!(
                "log store in {} failed earlier ({why}); reopen it to repair",
                self.dir.display()
            ))),
        }
    }

    /// Opens (creating if missing) the file of `level`, which must be the next one.
    fn open_level(&mut self, level: usize) -> Result<()> {
        debug_assert_eq!(level, self.levels.len());
        if level >= MAX_LEVELS {
            return Err(Error::Io(format!("no level {level} in a 64-bit log")));
        }
        let path = self.dir.join(level_name(level));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error("opening", &path))?;
        let bytes = file
            .metadata()
            .map_err(io_error("reading the size of", &path))?
            .len();
        self.new_files |= bytes == 0;
        self.levels.push(Level {
            path,
            file,
            len: bytes / HASH,
            dirty: false,
        });
        Ok(())
    }

    /// Appends whole hashes at the end of `level`'s file.
    fn write(&mut self, level: usize, hashes: &[Hash]) -> Result<()> {
        if hashes.is_empty() {
            return Ok(());
        }
        while self.levels.len() <= level {
            self.open_level(self.levels.len())?;
        }
        let l = &mut self.levels[level];
        l.file
            .write_all_at(hashes.as_flattened(), l.len * HASH)
            .map_err(io_error("writing", &l.path))?;
        l.len += hashes.len() as u64;
        l.dirty = true;
        Ok(())
    }

    /// Fills `out` with the hashes of `level` from index `start`.
    fn read(&self, level: usize, start: u64, out: &mut [Hash]) -> Result<()> {
        let Some(l) = self
            .levels
            .get(level)
            .filter(|l| start + out.len() as u64 <= l.len)
        else {
            return Err(Error::Io(format!(
                "{}: level {level} has no nodes [{start}, {})",
                self.dir.display(),
                start + out.len() as u64
            )));
        };
        l.file
            .read_exact_at(out.as_flattened_mut(), start * HASH)
            .map_err(io_error("reading", &l.path))
    }

    fn truncate(&mut self, level: usize, len: u64) -> Result<()> {
        let l = &mut self.levels[level];
        l.file
            .set_len(len * HASH)
            .map_err(io_error("truncating", &l.path))?;
        l.len = len;
        Ok(())
    }

    /// Brings every level in line with level 0, bottom up, so each level is checked
    /// against one that is already right, creating levels up to the top if missing.
    fn repair(&mut self) -> Result<()> {
        for level in 0.. {
            if level == self.levels.len() {
                if self.levels[level - 1].len < 2 {
                    return Ok(());
                }
                self.open_level(level)?;
            }
            let l = &self.levels[level];
            let whole = l.len;
            let bytes = l
                .file
                .metadata()
                .map_err(io_error("reading", &l.path))?
                .len();
            if bytes != whole * HASH {
                self.truncate(level, whole)?;
            }
            if level == 0 {
                continue;
            }
            let implied = self.levels[level - 1].len / 2;
            if whole > implied {
                self.truncate(level, implied)?;
            }
            let good = self.verified_len(level)?;
            if good < self.levels[level].len {
                self.truncate(level, good)?;
            }
            self.rebuild(level, implied)?;
        }
        Ok(())
    }

    /// The length of `level` up to its first node, among the last [`TAIL_CHECK`], that
    /// is not the hash of its children.
    fn verified_len(&self, level: usize) -> Result<u64> {
        let len = self.levels[level].len;
        let from = len.saturating_sub(TAIL_CHECK);
        let mut nodes = vec![[0u8; 32]; (len - from) as usize];
        let mut children = vec![[0u8; 32]; nodes.len() * 2];
        self.read(level, from, &mut nodes)?;
        self.read(level - 1, from * 2, &mut children)?;
        let bad = nodes
            .iter()
            .zip(children.chunks_exact(2))
            .position(|(n, c)| *n != node_hash(&c[0], &c[1]));
        Ok(bad.map_or(len, |i| from + i as u64))
    }

    /// Recomputes the nodes of `level` from its current length up to `to` from the
    /// level below, a chunk at a time.
    fn rebuild(&mut self, level: usize, to: u64) -> Result<()> {
        let mut children = vec![[0u8; 32]; CHUNK];
        while self.levels[level].len < to {
            let from = self.levels[level].len;
            let n = (to - from).min(CHUNK as u64 / 2) as usize;
            let chunk = &mut children[..n * 2];
            self.read(level - 1, from * 2, chunk)?;
            let parents: Vec<Hash> = chunk
                .chunks_exact(2)
                .map(|c| node_hash(&c[0], &c[1]))
                .collect();
            self.write(level, &parents)?;
        }
        Ok(())
    }
}

impl Nodes for LogStore {
    type Error = Error;

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let mut h = [[0u8; 32]];
        self.read(level as usize, index, &mut h)?;
        Ok(h[0])
    }
}
