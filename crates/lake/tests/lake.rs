//! The lake through its public API: durability across reopen, torn WAL tails, visibility
//! of unflushed rows, flush/compaction/retention, account isolation, both stores.

use serde_json::json;
use sightline_core::Scope;
use sightline_lake::store::SegmentStore;
use sightline_lake::{Lake, Options, Row};
use sightline_meta::Meta;
use std::sync::Arc;

fn record(account: &str, i: usize, name: &str, time: &str) -> Row {
    let doc = json!({
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "userName": "alice", "arn": format!("arn:aws:iam::{account}:user/alice"), "accessKeyId": "AKIAEXAMPLE"},
        "eventTime": time,
        "eventSource": "iam.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "127.0.0.1",
        "requestID": format!("req-{i}"),
        "eventID": format!("00000000-0000-0000-0000-{i:012}"),
        "readOnly": name.starts_with("Get") || name.starts_with("List"),
        "resources": [{"ARN": format!("arn:aws:iam::{account}:user/u{i}")}],
        "recipientAccountId": account,
    });
    sightline_lake::datasets::audit::record_row(doc).unwrap()
}

async fn open(dir: &std::path::Path, store: SegmentStore) -> Arc<Lake> {
    open_with(
        dir,
        store,
        Options {
            compact_segments: 3,
            delete_grace: std::time::Duration::ZERO,
            ..Options::default()
        },
    )
    .await
}

async fn open_with(dir: &std::path::Path, store: SegmentStore, options: Options) -> Arc<Lake> {
    let meta = Arc::new(Meta::open(dir).unwrap());
    Lake::open(dir, store, meta, options).await.unwrap()
}

/// A lake with segments in a local directory inside `dir`.
async fn open_local(dir: &std::path::Path) -> Arc<Lake> {
    open(dir, SegmentStore::local(&dir.join("seg")).unwrap()).await
}

async fn count(lake: &Lake, account: &str, filter: &str) -> i64 {
    let out = lake
        .sql(
            account,
            &format!("SELECT count(*) AS n FROM audit_events {filter}"),
        )
        .await
        .unwrap();
    out.json_rows().unwrap()[0]["n"].as_i64().unwrap()
}

const A: &str = "111111111111";
const B: &str = "222222222222";

#[tokio::test]
async fn acknowledged_rows_are_visible_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let scope = Scope::new(A, "us-east-1");
    {
        let lake = open_local(dir.path()).await;
        let rows = (0..10)
            .map(|i| record(A, i, "CreateUser", "2026-11-26T10:15:00Z"))
            .collect();
        lake.append("audit_events", &scope, rows).await.unwrap();
        assert_eq!(count(&lake, A, "").await, 10, "visible before any flush");
        lake.flush().await.unwrap();
        let rows = (10..15)
            .map(|i| record(A, i, "GetUser", "2026-11-26T11:01:00Z"))
            .collect();
        lake.append("audit_events", &scope, rows).await.unwrap();
        assert_eq!(
            count(&lake, A, "").await,
            15,
            "segments and buffer together"
        );
        lake.close();
    }
    // Reopen: the flushed rows come from segments, the others from the WAL, none twice.
    let lake = open_local(dir.path()).await;
    assert_eq!(count(&lake, A, "").await, 15);
    assert_eq!(count(&lake, A, "WHERE event_name = 'GetUser'").await, 5);
    lake.flush().await.unwrap();
    assert_eq!(count(&lake, A, "").await, 15);
    assert_eq!(lake.buffered_rows(), 0);
}

#[tokio::test]
async fn a_torn_wal_tail_is_cut_and_earlier_rows_kept() {
    let dir = tempfile::tempdir().unwrap();
    let scope = Scope::new(A, "us-east-1");
    {
        let lake = open_local(dir.path()).await;
        for i in 0..3 {
            lake.append(
                "audit_events",
                &scope,
                vec![record(A, i, "CreateUser", "2026-11-26T10:15:00Z")],
            )
            .await
            .unwrap();
        }
        lake.close();
    }
    let wal_dir = dir.path().join("lake").join("wal");
    let (_, path) = sightline_lake::wal::list(&wal_dir).unwrap().pop().unwrap();
    let mut data = std::fs::read(&path).unwrap();
    // A WAL written with direct I/O ends in zeros up to a block boundary; a torn
    // commit lands where the frames end (a frame ends with its JSON text, never zero).
    let full = data.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    data.truncate(full);
    data.extend_from_slice(&[0x41, 0x57, 0x4c, 0x53, 0xff, 0x00]);
    std::fs::write(&path, &data).unwrap();
    let lake = open_local(dir.path()).await;
    assert_eq!(count(&lake, A, "").await, 3);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len() as usize,
        full,
        "the torn bytes were cut"
    );
}

/// A WAL left by a build that wrote the first frame format ("SLWA": rows are JSON only)
/// is replayed after the upgrade, each row at its record's `eventTime`.
#[tokio::test]
async fn rows_in_a_wal_of_the_first_format_survive_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let wal_dir = dir.path().join("lake").join("wal");
    std::fs::create_dir_all(&wal_dir).unwrap();
    let mut payload = Vec::new();
    for s in ["audit_events", A, "us-east-1"] {
        payload.extend_from_slice(&(s.len() as u16).to_le_bytes());
        payload.extend_from_slice(s.as_bytes());
    }
    let times = ["2026-11-26T10:15:00Z", "2026-11-26T12:40:00Z"];
    payload.extend_from_slice(&(times.len() as u32).to_le_bytes());
    for (i, t) in times.iter().enumerate() {
        let json = serde_json::to_vec(&record(A, i, "CreateUser", t).doc).unwrap();
        payload.extend_from_slice(&(json.len() as u32).to_le_bytes());
        payload.extend_from_slice(&json);
    }
    let mut frame = b"AWLS".to_vec();
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    frame.extend(payload);
    std::fs::write(wal_dir.join(sightline_lake::wal::file_name(1)), frame).unwrap();

    let lake = open_local(dir.path()).await;
    assert_eq!(count(&lake, A, "").await, 2);
    let hours = lake
        .sql(
            A,
            "SELECT CAST(event_time AS VARCHAR) AS t FROM audit_events ORDER BY event_time",
        )
        .await
        .unwrap()
        .json_rows()
        .unwrap();
    let hours: Vec<_> = hours.iter().map(|r| r["t"].clone()).collect();
    assert_eq!(
        hours,
        vec![json!("2026-11-26T10:15:00Z"), json!("2026-11-26T12:40:00Z")]
    );
    lake.flush().await.unwrap();
    assert_eq!(
        count(&lake, A, "").await,
        2,
        "flushed from the old WAL once"
    );
}

#[tokio::test]
async fn accounts_never_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let lake = open(dir.path(), SegmentStore::memory()).await;
    lake.append(
        "audit_events",
        &Scope::new(A, "us-east-1"),
        vec![record(A, 1, "CreateUser", "2026-11-26T10:00:00Z")],
    )
    .await
    .unwrap();
    lake.append(
        "audit_events",
        &Scope::new(B, "eu-west-1"),
        vec![record(B, 2, "DeleteUser", "2026-11-26T10:00:00Z")],
    )
    .await
    .unwrap();
    lake.flush().await.unwrap();
    lake.append(
        "audit_events",
        &Scope::new(B, "us-east-1"),
        vec![record(B, 3, "DeleteUser", "2026-11-26T10:05:00Z")],
    )
    .await
    .unwrap();
    assert_eq!(count(&lake, A, "").await, 1);
    assert_eq!(count(&lake, B, "").await, 2);
    // A row cannot claim another account: the account column comes from the scope.
    lake.append(
        "audit_events",
        &Scope::new(A, "us-east-1"),
        vec![record(B, 4, "Sneaky", "2026-11-26T10:06:00Z")],
    )
    .await
    .unwrap();
    assert_eq!(count(&lake, B, "").await, 2);
    assert_eq!(
        count(&lake, A, &format!("WHERE account_id = '{B}'")).await,
        0
    );
    let out = lake
        .sql(A, "SELECT DISTINCT account_id FROM audit_events")
        .await
        .unwrap();
    assert_eq!(out.json_rows().unwrap().len(), 1);
}

#[tokio::test]
async fn time_filters_prune_and_stay_correct() {
    let dir = tempfile::tempdir().unwrap();
    let lake = open_local(dir.path()).await;
    let scope = Scope::new(A, "us-east-1");
    for (h, n) in [(8, 4), (9, 6), (10, 3)] {
        let rows = (0..n)
            .map(|i| {
                record(
                    A,
                    h * 100 + i,
                    "ListUsers",
                    &format!("2026-11-26T{h:02}:30:00Z"),
                )
            })
            .collect();
        lake.append("audit_events", &scope, rows).await.unwrap();
        lake.flush().await.unwrap();
    }
    assert_eq!(
        count(
            &lake,
            A,
            "WHERE event_time >= TIMESTAMP '2026-11-26T09:00:00Z'"
        )
        .await,
        9
    );
    assert_eq!(count(&lake, A, "WHERE event_time BETWEEN TIMESTAMP '2026-11-26T09:00:00Z' AND TIMESTAMP '2026-11-26T09:59:59Z'").await, 6);
    assert_eq!(
        count(
            &lake,
            A,
            "WHERE event_time < TIMESTAMP '2026-11-26T08:31:00Z'"
        )
        .await,
        4
    );
}

/// A merge takes only segments under half the row cap and writes at most the cap: a
/// partition under load is not rewritten (and held in memory) whole on every pass.
#[tokio::test]
async fn compaction_merges_small_segments_only_up_to_its_row_cap() {
    let dir = tempfile::tempdir().unwrap();
    let seg_dir = dir.path().join("seg");
    let lake = open_with(
        dir.path(),
        SegmentStore::local(&seg_dir).unwrap(),
        Options {
            compact_segments: 2,
            compact_max_rows: 6,
            delete_grace: std::time::Duration::ZERO,
            ..Options::default()
        },
    )
    .await;
    let scope = Scope::new(A, "us-east-1");
    let mut id = 0;
    // One segment of 4 rows (not small: at least half the cap), then six of one row.
    for rows in [4, 1, 1, 1, 1, 1, 1] {
        let batch = (0..rows)
            .map(|_| {
                id += 1;
                record(A, id, "CreateUser", "2026-11-26T10:15:00Z")
            })
            .collect();
        lake.append("audit_events", &scope, batch).await.unwrap();
        lake.flush().await.unwrap();
    }
    assert_eq!(parquet_files(&seg_dir).len(), 7);
    // The six small ones in runs of at most 6 rows: all six in one merge.
    assert_eq!(lake.compact().await.unwrap(), 1);
    lake.compact().await.unwrap(); // deletes what the first pass replaced
    assert_eq!(parquet_files(&seg_dir).len(), 2);
    // Both are now at least half the cap: nothing more to merge.
    assert_eq!(lake.compact().await.unwrap(), 0);
    assert_eq!(count(&lake, A, "").await, 10);
}

#[tokio::test]
async fn compaction_merges_segments_and_retention_drops_old_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let seg_dir = dir.path().join("seg");
    let lake = open(dir.path(), SegmentStore::local(&seg_dir).unwrap()).await;
    let scope = Scope::new(A, "us-east-1");
    for i in 0..4 {
        lake.append(
            "audit_events",
            &scope,
            vec![record(A, i, "CreateUser", "2026-11-26T10:15:00Z")],
        )
        .await
        .unwrap();
        lake.flush().await.unwrap();
    }
    assert_eq!(parquet_files(&seg_dir).len(), 4);
    assert_eq!(lake.compact().await.unwrap(), 1);
    lake.compact().await.unwrap(); // deletes what the first pass replaced
    assert_eq!(parquet_files(&seg_dir).len(), 1);
    assert_eq!(count(&lake, A, "").await, 4);

    let old = (chrono::Utc::now() - chrono::Duration::days(40))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    lake.append("audit_events", &scope, vec![record(A, 99, "OldCall", &old)])
        .await
        .unwrap();
    lake.flush().await.unwrap();
    let recent = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    lake.append(
        "audit_events",
        &scope,
        vec![record(A, 100, "NewCall", &recent)],
    )
    .await
    .unwrap();
    assert_eq!(
        lake.retain("audit_events", 30).await.unwrap(),
        1,
        "only the 40-day-old partition"
    );
    assert_eq!(count(&lake, A, "WHERE event_name = 'OldCall'").await, 0);
    assert_eq!(count(&lake, A, "WHERE event_name = 'NewCall'").await, 1);
}

#[tokio::test]
async fn segments_are_hive_partitioned_parquet_sorted_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let seg_dir = dir.path().join("seg");
    let lake = open(dir.path(), SegmentStore::local(&seg_dir).unwrap()).await;
    let scope = Scope::new(A, "us-east-1");
    let rows = vec![
        record(A, 2, "B", "2026-11-26T10:20:00Z"),
        record(A, 1, "A", "2026-11-26T10:10:00Z"),
        record(A, 3, "C", "2026-11-26T10:30:00Z"),
    ];
    lake.append("audit_events", &scope, rows).await.unwrap();
    lake.flush().await.unwrap();
    let files = parquet_files(&seg_dir);
    assert_eq!(files.len(), 1);
    assert!(
        files[0].contains(
            "audit_events/account=111111111111/region=us-east-1/date=2026-11-26/hour=10/"
        ),
        "{}",
        files[0]
    );
    let out = lake
        .sql(A, "SELECT event_name FROM audit_events")
        .await
        .unwrap();
    let names: Vec<String> = out
        .json_rows()
        .unwrap()
        .iter()
        .map(|r| r["event_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["A", "B", "C"]);
}

#[tokio::test]
async fn sql_errors_and_writes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lake = open(dir.path(), SegmentStore::memory()).await;
    let err = lake.sql(A, "SELEC 1").await.unwrap_err().to_string();
    assert!(err.contains("Line: 1, Column"), "{err}");
    assert!(lake.sql(A, "DROP TABLE audit_events").await.is_err());
    assert!(lake.sql(A, "CREATE TABLE x AS SELECT 1").await.is_err());
    assert!(
        lake.sql(A, "SELECT nope FROM audit_events")
            .await
            .unwrap_err()
            .to_string()
            .contains("nope")
    );
}

/// The segment files under `dir`, sorted.
fn parquet_files(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = walk(dir)
        .into_iter()
        .filter(|p| p.ends_with(".parquet"))
        .collect();
    v.sort();
    v
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    out
}

/// `GROUP BY` with counts is answered from Parquet dictionary ids for the segments and by
/// the generic aggregation for the buffer; the result must equal the generic plan's.
#[tokio::test]
async fn dictionary_counts_match_the_generic_aggregation() {
    let dir = tempfile::tempdir().unwrap();
    let lake = open_local(dir.path()).await;
    let scope = Scope::new(A, "us-east-1");
    let names = ["GetUser", "ListUsers", "CreateUser", "DeleteUser"];
    for batch in 0..3 {
        let rows = (0..40)
            .map(|i| {
                let n = batch * 100 + i;
                let mut r = record(A, n, names[n % names.len()], "2026-11-26T10:15:00Z");
                if n % 7 == 0 {
                    // Records without an error code: nulls in error_code.
                    r.doc["errorCode"] = json!("AccessDenied");
                }
                r
            })
            .collect();
        lake.append("audit_events", &scope, rows).await.unwrap();
        if batch < 2 {
            lake.flush().await.unwrap();
        }
    }
    for column in ["event_name", "error_code"] {
        let fast = format!(
            "SELECT {column} AS v, count(*) AS n, count({column}) AS m FROM audit_events GROUP BY {column} ORDER BY v NULLS FIRST"
        );
        // A filter that keeps every row makes the rule step aside.
        let generic = format!(
            "SELECT {column} AS v, count(*) AS n, count({column}) AS m FROM audit_events WHERE event_id <> '' GROUP BY {column} ORDER BY v NULLS FIRST"
        );
        let plan = lake
            .sql(A, &format!("EXPLAIN {fast}"))
            .await
            .unwrap()
            .json_rows()
            .unwrap();
        assert!(
            serde_json::to_string(&plan)
                .unwrap()
                .contains("DictionaryCountExec"),
            "{column}: {plan:?}"
        );
        let a = lake.sql(A, &fast).await.unwrap().json_rows().unwrap();
        let b = lake.sql(A, &generic).await.unwrap().json_rows().unwrap();
        assert_eq!(a, b, "{column}");
        let total: i64 = a.iter().map(|r| r["n"].as_i64().unwrap()).sum();
        assert_eq!(total, 120, "{column}");
    }
    // Another account's rows are not counted.
    let other = lake
        .sql(
            B,
            "SELECT event_name, count(*) FROM audit_events GROUP BY event_name",
        )
        .await
        .unwrap();
    assert!(other.json_rows().unwrap().is_empty());
}

#[tokio::test]
async fn archived_events_come_as_documents_or_encoded_rows_and_survive_reopen() {
    use sightline_lake::datasets::archived::{ArchivedEvent, NAME};
    let dir = tempfile::tempdir().unwrap();
    let scope = Scope::new(A, "eu-west-1");
    let t = 1_764_150_000_000i64;
    let event = r#"{"id":"e2","source":"app","detail":{"quote":"\"x\""}}"#;
    {
        let lake = open_local(dir.path()).await;
        let doc = json!({"archive": "arn:a", "event_id": "e1", "event": "{\"id\":\"e1\"}"});
        lake.append(NAME, &scope, vec![Row { time_ms: t, doc }])
            .await
            .unwrap();
        lake.flush().await.unwrap();
        let encoded = [
            ArchivedEvent {
                time_ms: t + 1,
                archive: "arn:a",
                event_id: "e2",
                event,
            },
            ArchivedEvent {
                time_ms: t + 3_600_000,
                archive: "arn:b",
                event_id: "e3",
                event: "{}",
            },
        ];
        lake.append_encoded(NAME, &scope, &encoded, 256)
            .await
            .unwrap();
        lake.close();
    }
    let lake = open_local(dir.path()).await;
    let rows = lake
        .sql(
            A,
            "SELECT archive, event_id, event, account_id, region, \
             CAST(event_time AS BIGINT) AS t FROM archived_events ORDER BY event_time, event_id",
        )
        .await
        .unwrap()
        .json_rows()
        .unwrap();
    let got: Vec<(String, String, i64)> = rows
        .iter()
        .map(|r| {
            assert_eq!(
                (r["account_id"].as_str(), r["region"].as_str()),
                (Some(A), Some("eu-west-1"))
            );
            (
                r["archive"].as_str().unwrap().to_owned(),
                r["event_id"].as_str().unwrap().to_owned(),
                r["t"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("arn:a".into(), "e1".into(), t),
            ("arn:a".into(), "e2".into(), t + 1),
            ("arn:b".into(), "e3".into(), t + 3_600_000),
        ]
    );
    assert_eq!(rows[1]["event"], event);
    assert!(
        lake.sql(B, "SELECT * FROM archived_events")
            .await
            .unwrap()
            .json_rows()
            .unwrap()
            .is_empty()
    );
}

fn log_event<'a>(
    seq: i64,
    time_ms: i64,
    message: &'a str,
) -> sightline_lake::datasets::logs::LogEvent<'a> {
    sightline_lake::datasets::logs::LogEvent {
        timestamp_ms: time_ms,
        ingestion_ms: time_ms + 5,
        seq,
        group_id: "g1",
        group: "app",
        stream: "s",
        message,
        key_id: None,
    }
}

async fn messages(lake: &Lake) -> Vec<String> {
    let out = lake
        .sql(A, "SELECT message FROM log_events ORDER BY seq")
        .await
        .unwrap();
    out.json_rows()
        .unwrap()
        .iter()
        .map(|r| r["message"].as_str().unwrap().to_owned())
        .collect()
}

/// A partition whose hour is over is rewritten once, densely, as one sealed segment with
/// the same rows; the current hour is left to flushes; the hot compaction never merges
/// a sealed segment; late rows are sealed again together with the small sealed segment.
#[tokio::test]
async fn closed_partitions_are_sealed_once_with_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let seg_dir = dir.path().join("seg");
    let lake = open(dir.path(), SegmentStore::local(&seg_dir).unwrap()).await;
    let scope = Scope::new(A, "us-east-1");
    let old_hour = 1_795_000_000_000 / 3_600_000 * 3_600_000; // 2026-11-18
    let now = chrono::Utc::now().timestamp_millis();
    let texts: Vec<String> = (0..3000)
        .map(|i| {
            format!(
                r#"{{"level":"INFO","user":"u{}","msg":"request {} done"}}"#,
                i % 97,
                i * 7
            )
        })
        .collect();
    let mut seq = 0;
    for part in texts.chunks(1000) {
        let mut rows = Vec::new();
        for t in part {
            seq += 1;
            rows.push(log_event(seq, old_hour + seq * 100, t));
        }
        seq += 1;
        rows.push(log_event(seq, now, "current hour"));
        lake.append_encoded("log_events", &scope, &rows, 1 << 16)
            .await
            .unwrap();
        lake.flush().await.unwrap();
    }
    let before = messages(&lake).await;
    assert_eq!(before.len(), 3003);
    let name = |p: &String| p.rsplit('/').next().unwrap().to_owned();
    let old_dir = seg_dir.join("log_events");
    let unsealed_bytes: u64 = parquet_files(&old_dir)
        .iter()
        .filter(|p| p.contains("date=2026-11-18"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();

    let stats = lake.seal().await.unwrap();
    assert_eq!((stats.segments_written, stats.segments_replaced), (1, 3));
    lake.seal().await.unwrap(); // deletes what the first round replaced
    let files = parquet_files(&old_dir);
    let old: Vec<&String> = files
        .iter()
        .filter(|p| p.contains("date=2026-11-18"))
        .collect();
    assert_eq!(old.len(), 1, "{files:?}");
    assert!(name(old[0]).starts_with('s'), "{files:?}");
    assert!(std::fs::metadata(old[0]).unwrap().len() < unsealed_bytes);
    let current: Vec<&String> = files
        .iter()
        .filter(|p| !p.contains("date=2026-11-18"))
        .collect();
    assert_eq!(
        current.len(),
        3,
        "the current hour stays as flushed: {files:?}"
    );
    assert!(current.iter().all(|p| !name(p).starts_with('s')));
    assert_eq!(messages(&lake).await, before, "same rows, same order");
    assert_eq!(
        lake.seal().await.unwrap().segments_written,
        0,
        "nothing left to seal"
    );

    // Hot compaction merges the current hour's segments only.
    assert_eq!(lake.compact().await.unwrap(), 1);
    let files = parquet_files(&old_dir);
    assert!(
        files.contains(old[0]),
        "the sealed segment is untouched: {files:?}"
    );

    // A straggler for the sealed hour: sealed again with the small sealed segment.
    lake.append_encoded(
        "log_events",
        &scope,
        &[log_event(10_000, old_hour + 5, "late")],
        256,
    )
    .await
    .unwrap();
    lake.flush().await.unwrap();
    let stats = lake.seal().await.unwrap();
    assert_eq!((stats.segments_written, stats.segments_replaced), (1, 2));
    lake.seal().await.unwrap();
    let files = parquet_files(&old_dir);
    assert_eq!(
        files
            .iter()
            .filter(|p| p.contains("date=2026-11-18"))
            .count(),
        1,
        "{files:?}"
    );
    let after = messages(&lake).await;
    assert_eq!(after.len(), 3004);
    assert_eq!(after.last().map(String::as_str), Some("late"));
}

fn lake_config() -> datafusion::prelude::SessionConfig {
    datafusion::prelude::SessionConfig::new()
        .set_bool("datafusion.execution.parquet.pushdown_filters", true)
}

/// Rows of `table` whose message holds `needle`, counted by a query that also tests
/// every row it reads.
async fn count_holding(
    lake: &Lake,
    table: sightline_lake::table::ScopedTable,
    needle: &str,
) -> usize {
    use datafusion::prelude::{col, lit};
    let batches = lake
        .lookup_context()
        .read_table(Arc::new(table))
        .unwrap()
        .filter(col("message").like(lit(format!("%{needle}%"))))
        .unwrap()
        .collect()
        .await
        .unwrap();
    batches.iter().map(|b| b.num_rows()).sum()
}

/// Hot log segments carry a trigram index of their messages; a scan given the literal
/// it looks for reads only the pages that may hold it, finds exactly what a full scan
/// finds, reads every page holding sealed (ciphertext) messages, and the index goes
/// wherever its segment goes.
#[tokio::test]
async fn the_text_index_narrows_scans_without_losing_rows() {
    let dir = tempfile::tempdir().unwrap();
    let seg_dir = dir.path().join("seg");
    let lake = open(dir.path(), SegmentStore::local(&seg_dir).unwrap()).await;
    let scope = Scope::new(A, "us-east-1");
    let now = chrono::Utc::now().timestamp_millis() - 60_000;
    let texts: Vec<String> = (0..20_000)
        .map(|i| {
            let extra = if i % 997 == 0 { " needle-7f3a" } else { "" };
            format!(
                r#"{{"level":"INFO","user":"u{}","req":"{:016x}","msg":"request {} done{extra}"}}"#,
                i % 97,
                (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                i * 7
            )
        })
        .collect();
    let mut rows: Vec<_> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| log_event(i as i64, now + i as i64, t))
        .collect();
    // A sealed message in the middle: stored as ciphertext, its page is always read.
    rows[10_001].key_id = Some("key-1");
    rows[10_001].message = "opaque bytes that happen to say needle-7f3a";
    lake.append_encoded("log_events", &scope, &rows, 1 << 22)
        .await
        .unwrap();
    lake.flush().await.unwrap();

    // The flush leaves indexing to the indexer; until it runs, scans read everything.
    let snapshot = || lake.snapshot("log_events", A, None, 0, i64::MAX);
    let full = count_holding(&lake, snapshot().await.unwrap(), "needle-7f3a").await;
    assert_eq!(full, 22, "21 plain rows and the sealed one");
    assert!(!walk(&seg_dir).iter().any(|p| p.ends_with(".grams")));
    let mut unindexed = snapshot().await.unwrap();
    assert_eq!(unindexed.segments[0].grams, 0);
    unindexed.needles = vec![b"needle-7f3a".to_vec()];
    assert_eq!(count_holding(&lake, unindexed, "needle-7f3a").await, full);
    assert_eq!(lake.index_text().await.unwrap(), 1);
    assert_eq!(lake.index_text().await.unwrap(), 0, "built once");
    let files = walk(&seg_dir);
    let grams: Vec<&String> = files.iter().filter(|p| p.ends_with(".grams")).collect();
    assert_eq!(grams.len(), 1, "{files:?}");
    let mut narrowed = snapshot().await.unwrap();
    narrowed.needles = vec![b"needle-7f3a".to_vec()];
    let seg = narrowed.segments[0].clone();
    assert!(seg.grams > 0);
    assert_eq!(count_holding(&lake, narrowed, "needle-7f3a").await, full);

    // The pages read: every one holding the needle or the sealed row, and few others.
    let store = lake.store();
    let index = store.object_path(&sightline_lake::segment::grams_path(&seg.path));
    let bits = sightline_lake::grams::needle_bits(&[b"needle-7f3a".to_vec()]);
    let sel = sightline_lake::grams::select(store.store.as_ref(), &index, seg.grams as u64, &bits)
        .await
        .unwrap()
        .unwrap();
    let mut read = Vec::new();
    for s in sel.iter() {
        read.extend(std::iter::repeat_n(!s.skip, s.row_count));
    }
    assert_eq!(read.len(), 20_000);
    for (i, t) in texts.iter().enumerate() {
        if t.contains("needle-7f3a") || i == 10_001 {
            assert!(read[i], "row {i} skipped");
        }
    }
    let selected = read.iter().filter(|r| **r).count();
    assert!(selected < 10_000, "read {selected} of 20,000 rows");
    // The scan reads those rows and no others (counted without testing them), also
    // when it splits the segment into byte ranges, one per core and more.
    let split = lake.context(
        lake_config()
            .with_target_partitions(16)
            .set_u64("datafusion.optimizer.repartition_file_min_size", 0),
    );
    let rows_read = |ctx: datafusion::prelude::SessionContext, needle: &'static [u8]| {
        let snapshot = snapshot();
        async move {
            let mut t = snapshot.await.unwrap();
            t.needles = vec![needle.to_vec()];
            ctx.read_table(Arc::new(t)).unwrap().count().await.unwrap()
        }
    };
    assert_eq!(
        rows_read(lake.lookup_context(), b"needle-7f3a").await,
        selected
    );
    assert_eq!(rows_read(split, b"needle-7f3a").await, selected);
    // A literal found nowhere reads only the page of the sealed row.
    let sealed_page = rows_read(lake.lookup_context(), b"absent-literal").await;
    assert!((1..1000).contains(&sealed_page), "{sealed_page}");

    // Merged away: no index is left without its segment.
    lake.append_encoded("log_events", &scope, &rows[..10], 1 << 16)
        .await
        .unwrap();
    lake.flush().await.unwrap();
    lake.append_encoded("log_events", &scope, &rows[10..20], 1 << 16)
        .await
        .unwrap();
    lake.flush().await.unwrap();
    assert_eq!(lake.index_text().await.unwrap(), 2);
    assert_eq!(lake.compact().await.unwrap(), 1);
    assert_eq!(lake.index_text().await.unwrap(), 1, "the merged segment");
    lake.compact().await.unwrap(); // deletes what the merge replaced
    let files = walk(&seg_dir);
    for g in files.iter().filter(|p| p.ends_with(".grams")) {
        let parquet = format!("{}.parquet", g.strip_suffix(".grams").unwrap());
        assert!(files.contains(&parquet), "orphan index {g}: {files:?}");
    }
    assert_eq!(
        files.iter().filter(|p| p.ends_with(".grams")).count(),
        parquet_files(&seg_dir).len()
    );
}

/// The running lake indexes what its flushes write, without being asked, and a stop
/// does not wait for it.
#[tokio::test]
async fn flushed_log_segments_are_indexed_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let seg_dir = dir.path().join("seg");
    let lake = open_with(
        dir.path(),
        SegmentStore::local(&seg_dir).unwrap(),
        Options {
            flush_interval: std::time::Duration::from_millis(100),
            ..Options::default()
        },
    )
    .await;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let maintenance = lake.spawn_maintenance(stop_rx);
    let now = chrono::Utc::now().timestamp_millis() - 60_000;
    let texts: Vec<String> = (0..2_000).map(|i| format!("line {i} of the log")).collect();
    let rows: Vec<_> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| log_event(i as i64, now + i as i64, t))
        .collect();
    lake.append_encoded("log_events", &Scope::new(A, "us-east-1"), &rows, 1 << 20)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let indexed = loop {
        let t = lake
            .snapshot("log_events", A, None, 0, i64::MAX)
            .await
            .unwrap();
        if t.segments.len() == 1 && t.segments[0].grams > 0 {
            break t.segments[0].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not indexed within a minute"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let store = lake.store();
    let index = store.object_path(&sightline_lake::segment::grams_path(&indexed.path));
    let head = object_store::ObjectStoreExt::head(store.store.as_ref(), &index)
        .await
        .unwrap();
    assert_eq!(head.size, indexed.grams as u64);
    stop.send(true).unwrap();
    maintenance.await.unwrap();
}
