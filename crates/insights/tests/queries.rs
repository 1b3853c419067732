//! Data-driven query tests: every `tests/data/*.json` file holds a set of events and
//! cases, each a query with the rows (or the error) it must produce.
//!
//! File layout:
//! ```json
//! { "events": [ {"t": "2024-01-01T00:00:00Z" | 1704067200000, "stream": "s",
//!                "message": "...", "group": "optional", "ingest": optional} ],
//!   "cases": [ {"name": "...", "query": "...",
//!               "rows": [ {"field": "value", ...} ],      // in order, @ptr left out
//!               "error": {"start": 0, "end": 5, "contains": "text"},
//!               "events": [...],                          // optional override
//!               "previous": [...],                        // the period before, for diff
//!               "matched": 3, "scanned": 10 } ] }          // optional statistics
//! ```
//! All cases run, and every failure is reported by case name at the end.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Int64Array, RecordBatch, StringViewArray, TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use serde::Deserialize;
use serde_json::Value;
use sightline_insights::RecordPointer;

#[derive(Deserialize, Clone)]
struct Event {
    t: Value,
    #[serde(default = "default_stream")]
    stream: String,
    message: String,
    #[serde(default = "default_group")]
    group: String,
    #[serde(default)]
    ingest: Option<i64>,
}

fn default_stream() -> String {
    "stream-1".into()
}

fn default_group() -> String {
    "/app/main".into()
}

#[derive(Deserialize)]
struct ErrorSpec {
    start: usize,
    end: usize,
    #[serde(default)]
    contains: Option<String>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    query: String,
    #[serde(default)]
    rows: Option<Vec<serde_json::Map<String, Value>>>,
    #[serde(default)]
    error: Option<ErrorSpec>,
    #[serde(default)]
    events: Option<Vec<Event>>,
    /// Events of the period before the query's, for `diff`.
    #[serde(default)]
    previous: Option<Vec<Event>>,
    #[serde(default)]
    matched: Option<f64>,
    #[serde(default)]
    scanned: Option<f64>,
}

#[derive(Deserialize)]
struct Suite {
    #[serde(default)]
    events: Vec<Event>,
    cases: Vec<Case>,
}

fn millis(value: &Value) -> Result<i64, String> {
    match value {
        Value::Number(n) => n.as_i64().ok_or_else(|| format!("bad time {n}")),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .map_err(|e| format!("bad time {s}: {e}")),
        other => Err(format!("bad time {other}")),
    }
}

/// The events as the service hands them over, split over two partitions so that the
/// parallel paths of the plan are exercised.
fn context(events: &[Event]) -> Result<(SessionContext, datafusion::prelude::DataFrame), String> {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2));
    let df = frame(&ctx, events)?;
    Ok((ctx, df))
}

fn frame(ctx: &SessionContext, events: &[Event]) -> Result<datafusion::prelude::DataFrame, String> {
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("ingestion_time", DataType::Int64, false),
        Field::new("seq", DataType::Int64, false),
        Field::new("group_id", DataType::Utf8View, false),
        Field::new("log_group", DataType::Utf8View, false),
        Field::new("log_stream", DataType::Utf8View, false),
        Field::new("message", DataType::Utf8View, false),
        Field::new("account_id", DataType::Utf8View, false),
    ]));
    let mut partitions = Vec::new();
    for part in 0..2 {
        let chosen: Vec<(usize, &Event)> = events
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == part)
            .collect();
        let times = chosen
            .iter()
            .map(|(_, e)| millis(&e.t))
            .collect::<Result<Vec<_>, _>>()?;
        let ingest: Vec<i64> = chosen
            .iter()
            .zip(&times)
            .map(|((_, e), t)| e.ingest.unwrap_or(t + 1000))
            .collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampMillisecondArray::from(times).with_timezone("UTC")),
            Arc::new(Int64Array::from(ingest)),
            Arc::new(Int64Array::from(
                chosen.iter().map(|(i, _)| *i as i64).collect::<Vec<_>>(),
            )),
            Arc::new(StringViewArray::from_iter_values(
                chosen.iter().map(|(_, e)| format!("id{}", e.group)),
            )),
            Arc::new(StringViewArray::from_iter_values(
                chosen.iter().map(|(_, e)| e.group.clone()),
            )),
            Arc::new(StringViewArray::from_iter_values(
                chosen.iter().map(|(_, e)| e.stream.clone()),
            )),
            Arc::new(StringViewArray::from_iter_values(
                chosen.iter().map(|(_, e)| e.message.clone()),
            )),
            Arc::new(StringViewArray::from_iter_values(
                chosen.iter().map(|_| "123456789012"),
            )),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())?;
        partitions.push(vec![batch]);
    }
    let table = MemTable::try_new(schema, partitions).map_err(|e| e.to_string())?;
    ctx.read_table(Arc::new(table)).map_err(|e| e.to_string())
}

fn render(rows: &[Vec<(String, String)>]) -> String {
    let mut out = String::new();
    for row in rows {
        let fields: Vec<String> = row.iter().map(|(f, v)| format!("{f:?}: {v:?}")).collect();
        out.push_str(&format!("  {{{}}}\n", fields.join(", ")));
    }
    out
}

/// Runs one case; `Err` explains the mismatch.
async fn check(case: &Case, suite_events: &[Event]) -> Result<(), String> {
    let parsed = sightline_insights::parse(&case.query);
    if let Some(expected) = &case.error {
        let err = match parsed {
            Ok(_) => return Err("expected a query error, the query parsed".into()),
            Err(err) => err,
        };
        if (err.start, err.end) != (expected.start, expected.end) {
            return Err(format!(
                "error at {}..{}, expected {}..{}: {}",
                err.start, err.end, expected.start, expected.end, err.message
            ));
        }
        if let Some(text) = &expected.contains
            && !err.message.contains(text.as_str())
        {
            return Err(format!("error message {:?} lacks {text:?}", err.message));
        }
        return Ok(());
    }
    let query = parsed.map_err(|e| format!("unexpected parse error: {e}"))?;
    let events = case.events.as_deref().unwrap_or(suite_events);
    let (ctx, df) = context(events)?;
    let previous = match &case.previous {
        Some(events) => Some(frame(&ctx, events)?),
        None => None,
    };
    if previous.is_some() && !query.compares_previous_period() {
        return Err("previous events given to a query without diff".into());
    }
    let output = query
        .execute_with_previous(&ctx, df, previous)
        .await
        .map_err(|e| format!("execution failed: {e}"))?;
    let mut actual = output.rows.clone();
    for row in &mut actual {
        while let Some(position) = row.iter().position(|(f, _)| f == "@ptr") {
            let (_, ptr) = row.remove(position);
            if RecordPointer::decode(&ptr).is_none() {
                return Err(format!("@ptr {ptr:?} does not decode"));
            }
        }
    }
    if let Some(expected) = &case.rows {
        let expected: Vec<Vec<(String, String)>> = expected
            .iter()
            .map(|row| {
                row.iter()
                    .map(|(f, v)| {
                        let v = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (f.clone(), v)
                    })
                    .collect()
            })
            .collect();
        if actual != expected {
            return Err(format!(
                "rows differ\nexpected:\n{}actual:\n{}",
                render(&expected),
                render(&actual)
            ));
        }
    }
    if let Some(matched) = case.matched
        && output.records_matched != matched
    {
        return Err(format!(
            "records_matched {} expected {matched}",
            output.records_matched
        ));
    }
    if let Some(scanned) = case.scanned
        && output.records_scanned != scanned
    {
        return Err(format!(
            "records_scanned {} expected {scanned}",
            output.records_scanned
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_driven_queries() {
    // At run time: a binary reused from a shared target directory may have been built
    // in another checkout, which the compile-time path would name.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf())
        .join("tests/data");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/data exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut total = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable test file");
        let suite: Suite = match serde_json::from_str(&text) {
            Ok(suite) => suite,
            Err(err) => {
                failures.push(format!("{}: invalid test file: {err}", file.display()));
                continue;
            }
        };
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        for case in &suite.cases {
            total += 1;
            if let Err(why) = check(case, &suite.events).await {
                failures.push(format!(
                    "{stem}/{}: {why}\n  query: {}",
                    case.name, case.query
                ));
            }
        }
    }
    assert!(total > 0, "no cases found");
    println!("{total} query cases, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
