//! One WAL file, appended to with direct I/O where the filesystem allows it.
//!
//! The WAL is read only after a crash, so its bytes have no business in the page cache:
//! copying every logged byte into it was a tenth of the server's CPU under PutLogEvents
//! (`copy_folio_from_iter_atomic`, bench/logs.sh). Direct I/O writes whole aligned
//! blocks, so the partial last block of the file stays in memory and is written again,
//! with the next commit's bytes after it. Rewriting it cannot lose what it already
//! holds: whichever sectors of the rewrite land, they carry the same acknowledged bytes.
//! The file therefore ends in zeros up to a block boundary, which replay reads as the
//! clean end it is (`wal::replay`).
//!
//! Where direct I/O is refused (tmpfs, some network filesystems) the same commits are
//! written through the page cache, with no padding, and each commit's pages are dropped
//! once durable.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The alignment direct I/O asks of offsets, lengths and memory (the largest logical
/// block size of the devices the server runs on).
const BLOCK: usize = 4096;

pub struct WalFile {
    file: File,
    direct: bool,
    /// The bytes of frames written so far; the file may be longer by its zero padding.
    len: u64,
    /// Staging memory for a commit, with room to start it at an aligned address.
    mem: Vec<u8>,
    /// Offset of the first aligned byte of `mem`.
    start: usize,
    /// Bytes of the file's partial last block, kept at the start of the staging area.
    tail: usize,
}

impl WalFile {
    /// Creates the file, which must not exist: a direct file's zero padding would read
    /// as its end, so appending after it would hide what came next.
    pub fn create(path: &Path) -> io::Result<WalFile> {
        let open = |direct: bool| {
            let mut o = OpenOptions::new();
            o.create_new(true).write(true);
            #[cfg(target_os = "linux")]
            if direct {
                use std::os::unix::fs::OpenOptionsExt;
                o.custom_flags(libc::O_DIRECT);
            }
            o.open(path)
        };
        let (file, direct) = match open(cfg!(target_os = "linux")) {
            Ok(f) => (f, cfg!(target_os = "linux")),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => (open(false)?, false),
            Err(e) => return Err(e),
        };
        Ok(WalFile {
            file,
            direct,
            len: 0,
            mem: Vec::new(),
            start: 0,
            tail: 0,
        })
    }

    /// Writes `frames` after what the file holds and makes them durable. On an error
    /// nothing counts as written: the next commit starts at the same place again.
    pub fn append(&mut self, frames: &[&[u8]]) -> io::Result<()> {
        let data: usize = frames.iter().map(|f| f.len()).sum();
        let total = self.tail + data;
        let padded = match self.direct {
            true => total.next_multiple_of(BLOCK),
            false => total,
        };
        self.reserve(padded);
        let (start, tail) = (self.start, self.tail);
        let area = &mut self.mem[start..start + padded];
        let mut at = tail;
        for f in frames {
            area[at..at + f.len()].copy_from_slice(f);
            at += f.len();
        }
        area[total..].fill(0);
        let offset = self.len - tail as u64;
        match self.file.write_all_at(area, offset) {
            Err(e) if self.direct && e.raw_os_error() == Some(libc::EINVAL) => {
                // The filesystem took O_DIRECT at open but not this write: go on through
                // the page cache. Padding already written stays beyond the end, zeros.
                tracing::warn!(error = %e, "wal direct write refused, writing buffered");
                self.direct = false;
                self.file.write_all_at(&area[tail..total], self.len)?;
            }
            other => other?,
        }
        self.file.sync_data()?;
        if !self.direct {
            drop_cached(&self.file, self.len, data);
        }
        self.len += data as u64;
        if self.direct {
            let keep = total % BLOCK;
            area.copy_within(total - keep..total, 0);
            self.tail = keep;
        } else {
            self.tail = 0;
        }
        Ok(())
    }

    /// Room for `n` bytes at an aligned start, keeping the tail block.
    fn reserve(&mut self, n: usize) {
        if self.mem.len() >= self.start + n {
            return;
        }
        // A quarter more than asked, so that commits growing by a little do not each
        // take (and fault in) a fresh buffer.
        let size = (n + n / 4).max(1 << 20);
        let mut mem = vec![0u8; size + BLOCK];
        let start = mem.as_ptr().align_offset(BLOCK);
        mem[start..start + self.tail]
            .copy_from_slice(&self.mem[self.start..self.start + self.tail]);
        self.mem = mem;
        self.start = start;
    }

    pub fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}

/// Drops the page cache of a durable range of a WAL written through it. The WAL is read
/// only after a crash, so its pages would only crowd out the segments' (a flush's worth
/// of log text, hundreds of MB) and make every commit take fresh pages from the kernel;
/// dropped, the next commit reuses them.
fn drop_cached(file: &File, offset: u64, len: usize) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len))
        else {
            return;
        };
        // SAFETY: the descriptor is open for the duration of the call; the advice only
        // drops clean cached pages, and a failure leaves them cached, which is harmless.
        unsafe {
            libc::posix_fadvise(file.as_raw_fd(), offset, len, libc::POSIX_FADV_DONTNEED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every commit reads back in order, whatever the sizes, with only zeros after the
    /// last one.
    #[test]
    fn commits_of_any_size_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.log");
        let mut f = WalFile::create(&path).unwrap();
        let mut want = Vec::new();
        let sizes = [1usize, 4095, 4096, 4097, 1, 70_000, 3, 2 << 20, 5000];
        for (i, n) in sizes.into_iter().enumerate() {
            let a: Vec<u8> = (0..n).map(|k| (k * 7 + i) as u8 | 1).collect();
            let b = vec![i as u8 + 1; i];
            f.append(&[&a, &b]).unwrap();
            want.extend_from_slice(&a);
            want.extend_from_slice(&b);
            assert_eq!(f.len, want.len() as u64);
            let got = std::fs::read(&path).unwrap();
            assert_eq!(&got[..want.len()], &want[..], "after commit {i}");
            assert!(got[want.len()..].iter().all(|&b| b == 0));
            if f.direct {
                assert_eq!(got.len() % BLOCK, 0);
            }
        }
    }

    #[test]
    fn an_existing_file_is_never_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.log");
        std::fs::write(&path, b"x").unwrap();
        assert!(WalFile::create(&path).is_err());
    }
}
