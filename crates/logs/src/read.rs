//! Reads of log events from the lake: one stream in time order with forward and
//! backward tokens (GetLogEvents), and a whole group filtered by a pattern
//! (FilterLogEvents). Events past the group's retention are never returned, whether or
//! not their storage has been reclaimed yet.

use crate::crypt::{Keyring, OpenUdf};
use crate::engine::{Logs, key, not_found_group, not_found_stream, now_ms};
use crate::kms::Reader;
use crate::udf::PatternUdf;
use crate::{Error, Result};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int64Type, TimestampMillisecondType};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, col, lit};
use sightline_core::Scope;
use sightline_lake::datasets::logs as dataset;
use sightline_lake::table::ScopedTable;
use sightline_logfilter::FilterPattern;
use std::sync::Arc;

/// Rows of a FilterLogEvents read's first time slice (see `query_in_slices`); later
/// slices are sized from the matches found so far, and double while none are.
const SLICE_ROWS: f64 = 1_048_576.0;
/// Byte ranges a scan splits each segment into, several per core, so the row groups of
/// one time slice spread over every core (see `Lake::fine_lookup_context`).
const SCAN_PARTITIONS: usize = 16;
/// Rows a slice reads at least: below this a query's fixed cost outweighs its scan.
const MIN_SLICE_ROWS: f64 = 262_144.0;
/// Responses stop at 1 MB of events, as AWS's do.
const MAX_RESPONSE_BYTES: usize = 1_048_576;
pub const MAX_LIMIT: usize = 10_000;
const DAY_MS: i64 = 86_400_000;

/// An event's position: its timestamp, then its ingestion sequence.
pub type Position = (i64, i64);

const START: Position = (0, 0);
const END: Position = (i64::MAX, i64::MAX);

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub timestamp: i64,
    pub seq: i64,
    pub ingestion: i64,
    pub stream: String,
    pub message: String,
}

impl Event {
    fn position(&self) -> Position {
        (self.timestamp, self.seq)
    }

    /// FilterLogEvents' `eventId`: unique, and ordered like the events.
    pub fn id(&self) -> String {
        format!("{:020}{:020}", self.timestamp.max(0), self.seq.max(0))
    }
}

/// The order rows come back in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    TimeAscending,
    TimeDescending,
    /// Ingestion order, for deliveries.
    Sequence,
}

pub struct StreamRead<'a> {
    pub group: &'a str,
    pub stream: &'a str,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub token: Option<&'a str>,
    pub limit: Option<usize>,
    pub from_head: bool,
}

pub struct StreamPage {
    pub events: Vec<Event>,
    pub forward: String,
    pub backward: String,
}

pub struct GroupRead<'a> {
    pub group: &'a str,
    pub streams: Option<&'a [String]>,
    pub stream_prefix: Option<&'a str>,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub pattern: Option<&'a str>,
    pub token: Option<&'a str>,
    pub limit: Option<usize>,
}

pub struct GroupPage {
    pub events: Vec<Event>,
    pub searched: Vec<(String, bool)>,
    pub next: Option<String>,
}

fn ts(ms: i64) -> Expr {
    lit(ScalarValue::TimestampMillisecond(
        Some(ms),
        Some("UTC".into()),
    ))
}

fn after(p: Position) -> Expr {
    col("event_time")
        .gt(ts(p.0))
        .or(col("event_time").eq(ts(p.0)).and(col("seq").gt(lit(p.1))))
}

fn before(p: Position) -> Expr {
    col("event_time")
        .lt(ts(p.0))
        .or(col("event_time").eq(ts(p.0)).and(col("seq").lt(lit(p.1))))
}

fn encode(p: Position) -> String {
    format!("{:020}{:020}", p.0.max(0), p.1.max(0))
}

fn decode(t: &str) -> Option<Position> {
    if t.len() != 40 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((t[..20].parse().ok()?, t[20..].parse().ok()?))
}

/// What a FilterLogEvents page learnt of its matches, carried in its `nextToken`: the
/// next page's first slice is then sized for a whole page, one query where a blind
/// first slice and a corrected second one took two.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Density {
    rows_per_match: f64,
    bytes_per_event: f64,
}

impl Density {
    /// What `found` events of `bytes` in about `scanned` rows say; none without events.
    fn found(scanned: f64, found: usize, bytes: usize) -> Option<Density> {
        (found > 0).then(|| Density {
            rows_per_match: scanned.max(1.0) / found as f64,
            bytes_per_event: bytes as f64 / found as f64,
        })
    }
}

/// A FilterLogEvents token: the last event's position, then (since pages carry it)
/// `-rows per match-bytes per event`; a bare position is still read.
fn filter_token(p: Position, d: Option<Density>) -> String {
    match d {
        Some(d) => format!(
            "{}-{}-{}",
            encode(p),
            d.rows_per_match.round().max(1.0) as u64,
            d.bytes_per_event.round().max(1.0) as u64
        ),
        None => encode(p),
    }
}

fn decode_filter_token(t: &str) -> Option<(Position, Option<Density>)> {
    let mut parts = t.split('-');
    let position = decode(parts.next()?)?;
    let density = match (parts.next(), parts.next(), parts.next()) {
        (None, ..) => None,
        (Some(r), Some(b), None) => {
            let number = |s: &str| {
                s.bytes()
                    .all(|c| c.is_ascii_digit())
                    .then(|| s.parse::<u64>().ok())
                    .flatten()
                    .filter(|n| *n > 0)
                    .map(|n| n as f64)
            };
            Some(Density {
                rows_per_match: number(r)?,
                bytes_per_event: number(b)?,
            })
        }
        _ => return None,
    };
    Some((position, density))
}

fn bad_token() -> Error {
    Error::InvalidParameter("The specified nextToken is invalid.".into())
}

fn limit(l: Option<usize>) -> Result<usize> {
    match l {
        None => Ok(MAX_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(Error::InvalidParameter(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to {MAX_LIMIT}"
        ))),
    }
}

/// What a FilterLogEvents read looks for: the rows' filter, and literals every row it
/// passes holds in its message, for the segments' text index (see `grams` in the lake).
struct Search {
    filter: Expr,
    needles: Vec<Vec<u8>>,
}

/// Keeps the events that fit in one response.
fn within_size(events: &mut Vec<Event>) -> bool {
    let mut size = 0usize;
    for (i, e) in events.iter().enumerate() {
        size += e.message.len() + 26;
        if size > MAX_RESPONSE_BYTES && i > 0 {
            events.truncate(i);
            return true;
        }
    }
    false
}

pub(crate) fn events_of(batches: &[RecordBatch]) -> Vec<Event> {
    let mut out = Vec::new();
    for b in batches {
        let t = b.column(0).as_primitive::<TimestampMillisecondType>();
        let q = b.column(1).as_primitive::<Int64Type>();
        let i = b.column(2).as_primitive::<Int64Type>();
        let s = b.column(3).as_string_view();
        let m = b.column(4).as_string_view();
        for r in 0..b.num_rows() {
            if t.is_null(r) {
                continue;
            }
            out.push(Event {
                timestamp: t.value(r),
                seq: q.value(r),
                ingestion: i.value(r),
                stream: s.value(r).to_owned(),
                message: m.value(r).to_owned(),
            });
        }
    }
    out
}

impl Logs {
    /// The group, its streams, and the earliest timestamp retention still keeps.
    fn group_scope(
        &self,
        scope: &Scope,
        group: &str,
    ) -> Result<(crate::model::LogGroup, Vec<String>, i64)> {
        let state = self.state.read();
        let g = state
            .groups
            .get(&key(scope))
            .and_then(|m| m.get(group))
            .ok_or_else(not_found_group)?;
        let floor = g
            .info
            .retention_days
            .map_or(0, |d| now_ms() - i64::from(d) * DAY_MS);
        Ok((g.info.clone(), g.streams.keys().cloned().collect(), floor))
    }

    /// Events of one (account, region) passing `filter`, by (time, sequence); sealed
    /// messages are opened with `keys` inside the scan, before the filter sees them.
    pub(crate) async fn query(
        &self,
        scope: &Scope,
        window: (i64, i64),
        keys: &Arc<Keyring>,
        filter: Expr,
        order: Order,
        limit: usize,
    ) -> Result<Vec<Event>> {
        let table = Arc::new(self.snapshot(scope, window).await?);
        self.run(&table, keys, filter, order, limit).await
    }

    async fn snapshot(&self, scope: &Scope, window: (i64, i64)) -> Result<ScopedTable> {
        Ok(self
            .lake
            .snapshot(
                dataset::NAME,
                &scope.account_id,
                Some(&scope.region),
                window.0,
                window.1,
            )
            .await?)
    }

    async fn run(
        &self,
        table: &Arc<ScopedTable>,
        keys: &Arc<Keyring>,
        filter: Expr,
        order: Order,
        limit: usize,
    ) -> Result<Vec<Event>> {
        let ctx = if table.needles.is_empty() {
            self.lake.fine_lookup_context(SCAN_PARTITIONS)
        } else {
            self.lake.text_search_context(SCAN_PARTITIONS)
        };
        let mut df = ctx.read_table(table.clone())?;
        if !keys.is_empty() {
            df = df.with_column(
                "message",
                OpenUdf::call(keys.clone(), col("message"), col("group_id"), col("key_id")),
            )?;
        }
        let sort = match order {
            Order::TimeAscending => vec![
                col("event_time").sort(true, false),
                col("seq").sort(true, false),
            ],
            Order::TimeDescending => vec![
                col("event_time").sort(false, false),
                col("seq").sort(false, false),
            ],
            Order::Sequence => vec![col("seq").sort(true, false)],
        };
        let df = df
            .filter(filter)?
            .sort(sort)?
            .limit(0, Some(limit))?
            .select_columns(&[
                "event_time",
                "seq",
                "ingestion_time",
                "log_stream",
                "message",
            ])?;
        let batches = df.collect().await?;
        Ok(events_of(&batches))
    }

    /// The first `limit` events passing the search's filter in time order, read a
    /// time slice at a time and stopping once a response's worth is found. A sort over
    /// the whole window would read every event before answering, however early the
    /// page fills; a rare term over a large group then cost a full scan per page.
    async fn query_in_slices(
        &self,
        scope: &Scope,
        window: (i64, i64),
        keys: &Arc<Keyring>,
        search: Search,
        limit: usize,
        hint: Option<Density>,
    ) -> Result<(Vec<Event>, Option<Density>)> {
        let Search { filter, needles } = search;
        let mut table = self.snapshot(scope, window).await?;
        table.needles = needles;
        let table = Arc::new(table);
        let mut spans: Vec<(i64, i64, u64)> = table
            .segments
            .iter()
            .map(|s| (s.min_time, s.max_time, s.rows.max(0) as u64))
            .collect();
        for b in &table.buffered {
            if let Some(t) = b
                .column_by_name("event_time")
                .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
                && let (Some(lo), Some(hi)) = (
                    datafusion::arrow::compute::min(t),
                    datafusion::arrow::compute::max(t),
                )
            {
                spans.push((lo, hi, b.num_rows() as u64));
            }
        }
        let estimate = RowEstimate {
            spans: &spans,
            window,
        };
        let mut out: Vec<Event> = Vec::new();
        let (mut bytes, mut scanned) = (0usize, 0f64);
        let mut start = window.0;
        loop {
            // How many rows the rest of the page should take, at the density of
            // matches and their size seen so far (or the previous page's); a first
            // slice of SLICE_ROWS when nothing is known.
            let known = Density::found(scanned, out.len(), bytes).or(hint);
            let rows = match known {
                None => (scanned * 2.0).max(SLICE_ROWS),
                Some(d) => {
                    let left = ((limit - out.len()) as f64).min(
                        (MAX_RESPONSE_BYTES.saturating_sub(bytes) as f64 / d.bytes_per_event)
                            .ceil()
                            + 1.0,
                    );
                    (left * d.rows_per_match * 1.05).max(MIN_SLICE_ROWS)
                }
            };
            let end = estimate.cut(start, rows);
            let slice = filter
                .clone()
                .and(col("event_time").gt_eq(ts(start)))
                .and(col("event_time").lt_eq(ts(end)));
            let got = self
                .run(&table, keys, slice, Order::TimeAscending, limit - out.len())
                .await?;
            scanned += estimate.upto(end) - estimate.upto(start.saturating_sub(1));
            bytes += got.iter().map(|e| e.message.len() + 26).sum::<usize>();
            out.extend(got);
            if out.len() >= limit || bytes > MAX_RESPONSE_BYTES || end >= window.1 {
                break;
            }
            start = end + 1;
        }
        let density = Density::found(scanned, out.len(), bytes);
        Ok((out, density))
    }

    pub async fn get_events(
        &self,
        scope: &Scope,
        reader: &Reader<'_>,
        r: StreamRead<'_>,
    ) -> Result<StreamPage> {
        crate::names::stream(r.stream, "logStreamName")?;
        let limit = limit(r.limit)?;
        let (info, streams, floor) = self.group_scope(scope, r.group)?;
        if !streams.iter().any(|s| s == r.stream) {
            return Err(not_found_stream());
        }
        let keys = self.read_keys(scope, &info, Some(reader)).await?;
        let group_id = info.id;
        let (forward, position) = match r.token {
            Some(t) => {
                let (dir, rest) = t.split_at_checked(2).ok_or_else(bad_token)?;
                let rest = rest.strip_suffix("/s").unwrap_or(rest);
                let p = decode(rest).ok_or_else(bad_token)?;
                match dir {
                    "f/" => (true, p),
                    "b/" => (false, p),
                    _ => return Err(bad_token()),
                }
            }
            None if r.from_head => (true, START),
            None => (false, END),
        };
        let lo = r.start.unwrap_or(0).max(floor);
        // GetLogEvents' endTime is exclusive.
        let hi = r.end.map_or(i64::MAX, |e| e.saturating_sub(1));
        let mut filter = col("group_id")
            .eq(lit(group_id))
            .and(col("log_stream").eq(lit(r.stream.to_owned())))
            .and(col("event_time").gt_eq(ts(lo)))
            .and(col("event_time").lt_eq(ts(hi)));
        filter = filter.and(if forward {
            after(position)
        } else {
            before(position)
        });
        let mut events = if lo > hi {
            Vec::new()
        } else {
            let order = if forward {
                Order::TimeAscending
            } else {
                Order::TimeDescending
            };
            self.query(scope, (lo, hi), &keys, filter, order, limit)
                .await?
        };
        if forward {
            within_size(&mut events);
        } else {
            // Newest first from the query; the page keeps the newest that fit and is
            // returned oldest first.
            within_size(&mut events);
            events.reverse();
        }
        let (fwd, back) = match (events.first(), events.last()) {
            (Some(first), Some(last)) => (last.position(), first.position()),
            _ => (position, position),
        };
        Ok(StreamPage {
            events,
            forward: format!("f/{}/s", encode(fwd)),
            backward: format!("b/{}/s", encode(back)),
        })
    }

    pub async fn filter_events(
        &self,
        scope: &Scope,
        reader: &Reader<'_>,
        r: GroupRead<'_>,
    ) -> Result<GroupPage> {
        if r.streams.is_some() && r.stream_prefix.is_some() {
            return Err(Error::InvalidParameter(
                "logStreamNames and logStreamNamePrefix are mutually exclusive".into(),
            ));
        }
        let limit = limit(r.limit)?;
        let pattern = match r.pattern {
            Some(p) => Some(FilterPattern::parse(p)?),
            None => None,
        };
        let (info, all_streams, floor) = self.group_scope(scope, r.group)?;
        let keys = self.read_keys(scope, &info, Some(reader)).await?;
        let group_id = info.id;
        let streams: Vec<String> = all_streams
            .into_iter()
            .filter(|s| {
                r.streams.is_none_or(|w| w.contains(s))
                    && r.stream_prefix.is_none_or(|p| s.starts_with(p))
            })
            .collect();
        let (position, hint) = match r.token {
            Some(t) => decode_filter_token(t).ok_or_else(bad_token)?,
            None => (START, None),
        };
        let lo = r.start.unwrap_or(0).max(floor);
        let hi = r.end.unwrap_or(i64::MAX);
        let mut events = Vec::new();
        let mut more = false;
        let mut density = None;
        if lo <= hi && !streams.is_empty() {
            let names: Vec<Expr> = streams.iter().map(|s| lit(s.clone())).collect();
            let mut filter = col("group_id")
                .eq(lit(group_id))
                .and(col("event_time").gt_eq(ts(lo)))
                .and(col("event_time").lt_eq(ts(hi)))
                .and(col("log_stream").in_list(names, false))
                .and(after(position));
            // What every match holds lets the segments' text index skip pages.
            let mut needles = Vec::new();
            if let Some(p) = pattern.filter(|p| !p.matches_everything()) {
                needles = p
                    .required_substrings()
                    .into_iter()
                    .map(String::into_bytes)
                    .collect();
                filter = filter.and(PatternUdf::call(Arc::new(p), col("message")));
            }
            let from = lo.max(position.0);
            let search = Search { filter, needles };
            (events, density) = self
                .query_in_slices(scope, (from, hi), &keys, search, limit + 1, hint)
                .await?;
            if events.len() > limit {
                events.truncate(limit);
                more = true;
            }
            more |= within_size(&mut events);
        }
        let next = if more {
            events.last().map(|e| filter_token(e.position(), density))
        } else {
            None
        };
        let complete = next.is_none();
        Ok(GroupPage {
            events,
            searched: streams.into_iter().map(|s| (s, complete)).collect(),
            next,
        })
    }
}

/// Estimated rows over time: each span (min time, max time, rows) taken as spread
/// evenly over its time range, within a window.
struct RowEstimate<'a> {
    spans: &'a [(i64, i64, u64)],
    window: (i64, i64),
}

impl RowEstimate<'_> {
    /// Rows estimated at or before `t` within the window.
    fn upto(&self, t: i64) -> f64 {
        let (lo, hi) = self.window;
        self.spans
            .iter()
            .map(|&(a, b, rows)| {
                let (a, b) = (a.max(lo), b.min(hi));
                if b < a || t < a {
                    return 0.0;
                }
                let part = (t.min(b) - a) as f64 + 1.0;
                rows as f64 * part / ((b - a) as f64 + 1.0)
            })
            .sum()
    }

    fn total(&self) -> f64 {
        self.upto(self.window.1)
    }

    /// The end of the inclusive range that starts at `start` and holds about `rows`
    /// rows; the window's end when fewer are left.
    fn cut(&self, start: i64, rows: f64) -> i64 {
        let hi = self.window.1;
        let goal = self.upto(start.saturating_sub(1)) + rows.max(1.0);
        if start >= hi || self.total() <= goal {
            return hi;
        }
        let (mut a, mut b) = (start, hi);
        while a < b {
            let mid = a + (b - a) / 2;
            if self.upto(mid) >= goal {
                b = mid;
            } else {
                a = mid + 1;
            }
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::{Density, RowEstimate, decode_filter_token, filter_token};

    #[test]
    fn filter_tokens_carry_the_density_and_old_ones_still_read() {
        let d = Density {
            rows_per_match: 1003.4,
            bytes_per_event: 231.6,
        };
        let t = filter_token((1_700_000_000_000, 42), Some(d));
        let (p, back) = decode_filter_token(&t).unwrap();
        assert_eq!(p, (1_700_000_000_000, 42));
        assert_eq!(
            back,
            Some(Density {
                rows_per_match: 1003.0,
                bytes_per_event: 232.0
            })
        );
        let bare = filter_token((5, 6), None);
        assert_eq!(decode_filter_token(&bare), Some(((5, 6), None)));
        for bad in [
            "",
            "12",
            &format!("{bare}-"),
            &format!("{bare}-1"),
            &format!("{bare}-1-2-3"),
            &format!("{bare}-0-2"),
            &format!("{bare}-+1-2"),
            &format!("{bare}-x-2"),
        ] {
            assert_eq!(decode_filter_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn cuts_follow_the_estimated_rows() {
        let spans = [(0, 999, 4000), (500, 1499, 4000)];
        let e = RowEstimate {
            spans: &spans,
            window: (0, 2000),
        };
        assert_eq!(e.total(), 8000.0);
        // 1000 rows: the first quarter of the first span.
        assert_eq!(e.cut(0, 1000.0), 249);
        // Where the spans overlap, rows are twice as dense.
        assert_eq!(e.cut(500, 1000.0), 624);
        // Past what is left: the window's end.
        assert_eq!(e.cut(1400, 5000.0), 2000);
        assert_eq!(e.cut(2000, 1.0), 2000);
        let empty = RowEstimate {
            spans: &[],
            window: (5, 9),
        };
        assert_eq!(empty.cut(5, 100.0), 9);
    }
}
