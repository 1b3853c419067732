//! Trigram signatures of a hot segment's free text, so that a search for a literal
//! reads only the pages that may hold it.
//!
//! Hot segments write their text column in small pages. Beside such a segment, a
//! `.grams` object keeps a signature per page: `BITS` bits, with the bit of every
//! three-byte run inside any of the page's values set. A page can hold a literal only
//! if all of the literal's trigrams have their bits set, so a search keeps the pages
//! whose bits are all set and Parquet skips the rest without reading or inflating them.
//! A search for a term found in one event in a thousand then reads a fifth of the text;
//! one for a request id, almost none of it.
//!
//! The object is stored bit-major: the bits of one hash position for every page side
//! by side. A lookup reads the handful of `pages / 8`-byte rows its trigrams hash to,
//! whatever the segment's size, instead of every signature.
//!
//! Rows whose text is opaque (messages sealed under a KMS key are stored as
//! ciphertext) are never hashed: their pages are marked as always read, so the object
//! tells nothing about what they hold.
//!
//! Layout, little-endian: `SLG1`, u32 bits per signature, u64 pages, u64 rows, then
//! u64 first row of each page, then `W = ceil(pages / 64)` u64 words of opaque-page
//! bits, then for each of the `BITS` positions `W` words of page bits.

use crate::{Error, Result};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::parquet::arrow::arrow_reader::{RowSelection, RowSelector};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

/// Bits per page signature. A 32 KiB page of log lines holds ~3,000 distinct
/// trigrams, which set ~30% of 8,192 bits: a literal with seven uncommon trigrams then
/// matches a page that lacks it about once in 4,000 pages, for 1 KiB per page (under
/// a tenth of the page's LZ4 size).
pub const BITS: usize = 8192;
const SHIFT: u32 = 32 - BITS.trailing_zeros();
const MAGIC: &[u8; 4] = b"SLG1";
const HEADER: u64 = 24;

/// The signature bit of the trigram whose bytes are the low 24 bits of `v`.
fn bit(v: u32) -> usize {
    (v.wrapping_mul(0x9E37_79B1) >> SHIFT) as usize
}

/// Calls `f` with the bit of every trigram inside `text`.
fn trigram_bits(text: &[u8], mut f: impl FnMut(usize)) {
    let mut v = 0u32;
    for (i, &c) in text.iter().enumerate() {
        v = (v << 8 | u32::from(c)) & 0x00FF_FFFF;
        if i >= 2 {
            f(bit(v));
        }
    }
}

/// The bits a page must all have to hold every one of `needles`, sorted; empty when
/// no needle has three bytes (the index cannot narrow such a search).
pub fn needle_bits(needles: &[Vec<u8>]) -> Vec<usize> {
    let mut out = Vec::new();
    for n in needles {
        trigram_bits(n, |b| out.push(b));
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn words(pages: usize) -> usize {
    pages.div_ceil(64)
}

/// Builds a `.grams` object from a segment's rows in order, a batch at a time, so a
/// segment read back from the store is indexed without gathering its text in one array.
pub struct Builder {
    starts: Vec<u64>,
    rows: u64,
    /// Rows pushed so far.
    at: u64,
    /// The page the next row belongs to.
    page: usize,
    sig: Vec<u64>,
    hidden: bool,
    opaque_pages: Vec<u64>,
    slices: Vec<u64>,
}

impl Builder {
    /// For a segment of `rows` rows whose text pages start at `starts`.
    pub fn new(starts: Vec<u64>, rows: u64) -> Result<Builder> {
        if starts.first().is_some_and(|s| *s != 0)
            || starts.windows(2).any(|w| w[0] >= w[1])
            || starts.last().is_some_and(|s| *s >= rows.max(1))
        {
            return Err(Error::Parquet(format!(
                "page starts {starts:?} do not split {rows} rows"
            )));
        }
        let w = words(starts.len());
        Ok(Builder {
            opaque_pages: vec![0; w],
            slices: vec![0; BITS * w],
            sig: vec![0; BITS / 64],
            hidden: false,
            page: 0,
            at: 0,
            rows,
            starts,
        })
    }

    /// The next rows of the segment.
    pub fn push(&mut self, text: &dyn Array, opaque: Option<&dyn Array>) -> Result<()> {
        let value = text_values(text)?;
        if self.at + text.len() as u64 > self.rows {
            return Err(Error::Parquet(format!(
                "{} rows pushed to the index of a segment of {}",
                self.at + text.len() as u64,
                self.rows
            )));
        }
        for r in 0..text.len() {
            while self
                .starts
                .get(self.page + 1)
                .is_some_and(|next| self.at >= *next)
            {
                self.end_page();
            }
            self.at += 1;
            if self.hidden {
                continue;
            }
            if opaque.is_some_and(|o| o.is_valid(r)) {
                self.hidden = true;
                continue;
            }
            if let Some(t) = value(r) {
                let sig = &mut self.sig;
                trigram_bits(t, |b| sig[b / 64] |= 1 << (b % 64));
            }
        }
        Ok(())
    }

    /// Files the current page's signature and starts the next page.
    fn end_page(&mut self) {
        let w = self.opaque_pages.len();
        let (word, mask) = (self.page / 64, 1u64 << (self.page % 64));
        if self.hidden {
            self.opaque_pages[word] |= mask;
        } else {
            for (i, &s) in self.sig.iter().enumerate() {
                let mut s = s;
                while s != 0 {
                    let b = i * 64 + s.trailing_zeros() as usize;
                    self.slices[b * w + word] |= mask;
                    s &= s - 1;
                }
            }
        }
        self.sig.fill(0);
        self.hidden = false;
        self.page += 1;
    }

    /// The object, once every row was pushed.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        if self.at != self.rows {
            return Err(Error::Parquet(format!(
                "{} of {} rows pushed to the index",
                self.at, self.rows
            )));
        }
        let pages = self.starts.len();
        if pages > 0 {
            self.end_page();
        }
        let mut out = Vec::with_capacity(
            HEADER as usize + 8 * (pages + self.opaque_pages.len() + self.slices.len()),
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(BITS as u32).to_le_bytes());
        out.extend_from_slice(&(pages as u64).to_le_bytes());
        out.extend_from_slice(&self.rows.to_le_bytes());
        for s in &self.starts {
            out.extend_from_slice(&s.to_le_bytes());
        }
        for x in self.opaque_pages.iter().chain(&self.slices) {
            out.extend_from_slice(&x.to_le_bytes());
        }
        Ok(out)
    }
}

type Values<'a> = Box<dyn Fn(usize) -> Option<&'a [u8]> + 'a>;

fn text_values(text: &dyn Array) -> Result<Values<'_>> {
    if let Some(a) = text.as_string_view_opt() {
        return Ok(Box::new(move |r| {
            a.is_valid(r).then(|| a.value(r).as_bytes())
        }));
    }
    if let Some(a) = text.as_string_opt::<i32>() {
        return Ok(Box::new(move |r| {
            a.is_valid(r).then(|| a.value(r).as_bytes())
        }));
    }
    Err(Error::Arrow(format!(
        "cannot index text of type {}",
        text.data_type()
    )))
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[i * 8..i * 8 + 8]);
    u64::from_le_bytes(x)
}

/// The rows of a segment that may hold every needle whose `bits` are given (see
/// `needle_bits`), from its `.grams` object at `path`: whole pages selected or
/// skipped. `None` when the object cannot be used, and the whole segment must be read.
pub async fn select(
    store: &dyn ObjectStore,
    path: &ObjectPath,
    size: u64,
    bits: &[usize],
) -> Result<Option<RowSelection>> {
    if size < HEADER || bits.is_empty() {
        return Ok(None);
    }
    let head = store.get_range(path, 0..HEADER).await?;
    if head.len() < HEADER as usize {
        return Ok(None);
    }
    if &head[..4] != MAGIC
        || u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize != BITS
    {
        return Ok(None);
    }
    let pages = u64_at(&head[8..], 0);
    // A damaged count must not overflow the layout's arithmetic below.
    if pages == 0 || pages > size / 8 {
        return Ok(None);
    }
    let pages = pages as usize;
    let rows = u64_at(&head[16..], 0);
    let w = words(pages) as u64;
    let table = HEADER + 8 * pages as u64;
    if size != table + 8 * w * (1 + BITS as u64) {
        return Ok(None);
    }
    let mut ranges = Vec::with_capacity(1 + bits.len());
    ranges.push(HEADER..table + 8 * w);
    for &b in bits {
        let at = table + 8 * w * (1 + b as u64);
        ranges.push(at..at + 8 * w);
    }
    let parts = store.get_ranges(path, &ranges).await?;
    let (starts_opaque, slices) = parts
        .split_first()
        .ok_or_else(|| Error::Parquet(format!("{path}: short read of the text index")))?;
    let mut keep: Vec<u64> = vec![u64::MAX; w as usize];
    for s in slices {
        for (i, k) in keep.iter_mut().enumerate() {
            *k &= u64_at(s, i);
        }
    }
    let opaque_at = pages;
    let mut selectors: Vec<RowSelector> = Vec::new();
    for p in 0..pages {
        let start = u64_at(starts_opaque, p);
        let end = if p + 1 < pages {
            u64_at(starts_opaque, p + 1)
        } else {
            rows
        };
        let (word, mask) = (p / 64, 1u64 << (p % 64));
        let read = keep[word] & mask != 0 || u64_at(starts_opaque, opaque_at + word) & mask != 0;
        let n = end.saturating_sub(start) as usize;
        match selectors.last_mut() {
            Some(last) if last.skip != read => last.row_count += n,
            _ => selectors.push(if read {
                RowSelector::select(n)
            } else {
                RowSelector::skip(n)
            }),
        }
    }
    Ok(Some(RowSelection::from(selectors)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{StringArray, StringViewArray};
    use object_store::memory::InMemory;
    use object_store::{ObjectStoreExt, PutPayload};
    use proptest::prelude::*;

    /// The object of one array of text, pushed whole.
    fn build(text: &dyn Array, opaque: Option<&dyn Array>, starts: &[u64]) -> Result<Vec<u8>> {
        let mut b = Builder::new(starts.to_vec(), text.len() as u64)?;
        b.push(text, opaque)?;
        b.finish()
    }

    async fn selection(
        text: &[&str],
        opaque: Option<&[bool]>,
        starts: &[u64],
        needles: &[&str],
    ) -> Vec<bool> {
        let text = StringViewArray::from(text.to_vec());
        let hidden = opaque
            .map(|o| StringArray::from(o.iter().map(|h| h.then_some("key")).collect::<Vec<_>>()));
        let bytes = build(&text, hidden.as_ref().map(|h| h as &dyn Array), starts).unwrap();
        let store = InMemory::new();
        let path = ObjectPath::from("x.grams");
        let size = bytes.len() as u64;
        store.put(&path, PutPayload::from(bytes)).await.unwrap();
        let needles: Vec<Vec<u8>> = needles.iter().map(|n| n.as_bytes().to_vec()).collect();
        let sel = select(&store, &path, size, &needle_bits(&needles))
            .await
            .unwrap()
            .unwrap();
        let mut out = Vec::new();
        for s in sel.iter() {
            out.extend(std::iter::repeat_n(!s.skip, s.row_count));
        }
        out
    }

    #[tokio::test]
    async fn pages_without_the_needle_are_skipped() {
        let text = [
            "alpha beta",
            "gamma",
            "needle-7f3a here",
            "delta",
            "epsilon",
            "zeta",
        ];
        let got = selection(&text, None, &[0, 2, 4], &["needle-7f3a"]).await;
        assert_eq!(got, vec![false, false, true, true, false, false]);
        // Every needle must be there: two found in different pages select neither.
        let got = selection(&text, None, &[0, 2, 4], &["needle", "zeta"]).await;
        assert_eq!(got, vec![false; 6]);
    }

    #[tokio::test]
    async fn opaque_pages_are_always_read_and_never_hashed() {
        let text = ["needle", "plain", "ciphertext", "more"];
        let hidden = [false, false, true, false];
        for (needle, want) in [
            ("needle", [true; 4]),
            ("cipher", [false, false, true, true]),
        ] {
            let got = selection(&text, Some(&hidden), &[0, 2], &[needle]).await;
            assert_eq!(got, want, "{needle}");
        }
    }

    #[test]
    fn short_needles_cannot_narrow_a_search() {
        assert!(needle_bits(&[b"ab".to_vec(), Vec::new()]).is_empty());
        assert_eq!(needle_bits(&[b"abc".to_vec()]).len(), 1);
    }

    #[test]
    fn bad_page_starts_are_refused() {
        let text = StringViewArray::from(vec!["a", "b", "c"]);
        for starts in [&[1u64, 2][..], &[0, 0], &[0, 3], &[0, 2, 1]] {
            assert!(build(&text, None, starts).is_err(), "{starts:?}");
        }
    }

    #[tokio::test]
    async fn damaged_objects_are_not_used() {
        let text = StringViewArray::from(vec!["abc", "def"]);
        let bytes = build(&text, None, &[0, 1]).unwrap();
        let store = InMemory::new();
        let path = ObjectPath::from("x.grams");
        let bits = needle_bits(&[b"abc".to_vec()]);
        let mut bad = bytes.clone();
        bad[0] = b'X';
        store.put(&path, PutPayload::from(bad)).await.unwrap();
        let size = bytes.len() as u64;
        assert!(select(&store, &path, size, &bits).await.unwrap().is_none());
        let mut huge = bytes.clone();
        huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        store.put(&path, PutPayload::from(huge)).await.unwrap();
        assert!(select(&store, &path, size, &bits).await.unwrap().is_none());
        store.put(&path, PutPayload::from(bytes)).await.unwrap();
        assert!(
            select(&store, &path, size - 8, &bits)
                .await
                .unwrap()
                .is_none()
        );
        assert!(select(&store, &path, size, &bits).await.unwrap().is_some());
    }

    #[test]
    fn a_builder_wants_exactly_the_segment_rows() {
        let text = StringViewArray::from(vec!["abc", "def", "ghi"]);
        let mut b = Builder::new(vec![0, 2], 4).unwrap();
        b.push(&text, None).unwrap();
        assert!(b.finish().is_err(), "a row short");
        let mut b = Builder::new(vec![0, 1], 2).unwrap();
        assert!(b.push(&text, None).is_err(), "a row over");
    }

    proptest! {
        /// Rows pushed in any slicing give the object built from them whole, opaque
        /// pages included.
        #[test]
        fn batches_build_the_same_object_as_the_whole(
            rows in proptest::collection::vec(("[a-f ]{0,16}", proptest::bool::weighted(0.1)), 1..60),
            cut in 1usize..9,
            batch in 1usize..17,
        ) {
            let text = StringViewArray::from(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>());
            let hidden = StringArray::from(rows.iter().map(|r| r.1.then_some("key")).collect::<Vec<_>>());
            let starts: Vec<u64> = (0..rows.len()).step_by(cut).map(|s| s as u64).collect();
            let whole = build(&text, Some(&hidden), &starts).unwrap();
            let mut b = Builder::new(starts, rows.len() as u64).unwrap();
            for at in (0..rows.len()).step_by(batch) {
                let n = batch.min(rows.len() - at);
                b.push(&text.slice(at, n), Some(&hidden.slice(at, n))).unwrap();
            }
            prop_assert_eq!(b.finish().unwrap(), whole);
        }

        /// The index may read pages that lack a needle, never skip one that holds it.
        #[test]
        fn a_page_holding_the_needle_is_never_skipped(
            rows in proptest::collection::vec("[a-d]{0,12}", 1..40),
            cut in 1usize..6,
            at in 0usize..40,
            from in 0usize..12,
            len in 3usize..8,
        ) {
            let row = at % rows.len();
            let chars: Vec<char> = rows[row].chars().collect();
            prop_assume!(from + len <= chars.len());
            let needle: String = chars[from..from + len].iter().collect();
            let starts: Vec<u64> = (0..rows.len()).step_by(cut).map(|s| s as u64).collect();
            let text: Vec<&str> = rows.iter().map(String::as_str).collect();
            let got = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(selection(&text, None, &starts, &[&needle]));
            for (r, t) in rows.iter().enumerate() {
                if t.contains(&needle) {
                    prop_assert!(got[r], "row {r} ({t}) holds {needle} but was skipped");
                }
            }
        }
    }
}
