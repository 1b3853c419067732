//! LookupEvents over a lake whose events span many segments and the buffer: every page
//! newest first, nothing skipped or repeated across pages, sparse and dense attributes
//! alike (the newest-first walk reads different segments and columns for each).

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use sightline_core::Scope;
use sightline_lake::datasets::audit;
use sightline_lake::store::SegmentStore;
use sightline_lake::{Lake, Options};
use sightline_meta::Meta;
use sightline_trail::Trail;
use sightline_trail::model::{Attribute, Lookup};
use std::sync::Arc;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

struct Event {
    time: DateTime<Utc>,
    id: String,
    name: &'static str,
}

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap()
}

/// 12 hours of events, 30 per hour, in pairs with equal times; every 40th is the rare
/// `DeleteTrail`.
fn events() -> Vec<Event> {
    (0..360)
        .map(|i| Event {
            // Pairs share a millisecond: the event id breaks the tie.
            time: base() + Duration::seconds((i / 2) * 240) + Duration::milliseconds(i / 2 % 7),
            id: format!(
                "{:08x}-0000-4000-8000-{:012x}",
                0xffff_u64 - (i as u64 % 5),
                i
            ),
            name: if i % 40 == 13 {
                "DeleteTrail"
            } else if i % 2 == 0 {
                "GetCallerIdentity"
            } else {
                "ListUsers"
            },
        })
        .collect()
}

fn record(e: &Event, region: &str) -> serde_json::Value {
    json!({
        "eventVersion": "1.11",
        "userIdentity": {"type": "Root", "arn": format!("arn:aws:iam::{ACCOUNT}:root"), "accountId": ACCOUNT},
        "eventTime": e.time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": e.name,
        "awsRegion": region,
        "sourceIPAddress": "127.0.0.1",
        "requestID": format!("req-{}", e.id),
        "eventID": e.id,
        "readOnly": e.name != "DeleteTrail",
        "recipientAccountId": ACCOUNT,
    })
}

/// Events in hours 0–9 are flushed into segments, one flush per hour (some hours
/// compacted together afterwards); hours 10–11 stay in the buffer. Another region gets
/// copies that must never show up.
async fn lake(dir: &std::path::Path) -> Arc<Lake> {
    let meta = Arc::new(Meta::open(dir).unwrap());
    let lake = Lake::open(
        dir,
        SegmentStore::local(&dir.join("segments")).unwrap(),
        meta,
        Options {
            compact_segments: 2,
            delete_grace: std::time::Duration::ZERO,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let all = events();
    for hour in 0..12 {
        let rows: Vec<_> = all
            .iter()
            .filter(|e| (e.time - base()).num_hours() == hour)
            .map(|e| audit::row(e.time, record(e, REGION)))
            .collect();
        lake.append(audit::NAME, &Scope::new(ACCOUNT, REGION), rows)
            .await
            .unwrap();
        let others: Vec<_> = all
            .iter()
            .filter(|e| (e.time - base()).num_hours() == hour)
            .map(|e| audit::row(e.time, record(e, "eu-west-1")))
            .collect();
        lake.append(audit::NAME, &Scope::new(ACCOUNT, "eu-west-1"), others)
            .await
            .unwrap();
        if hour < 10 {
            lake.flush().await.unwrap();
        }
        if hour == 4 {
            // A late event for hour 1 lands in its own segment of that partition.
            let late = Event {
                time: base() + Duration::minutes(61),
                id: "00000000-late-4000-8000-000000000000".into(),
                name: "DeleteTrail",
            };
            lake.append(
                audit::NAME,
                &Scope::new(ACCOUNT, REGION),
                vec![audit::row(late.time, record(&late, REGION))],
            )
            .await
            .unwrap();
            lake.flush().await.unwrap();
        }
    }
    lake
}

fn expected(attribute: Option<&str>) -> Vec<String> {
    let mut all = events();
    all.push(Event {
        time: base() + Duration::minutes(61),
        id: "00000000-late-4000-8000-000000000000".into(),
        name: "DeleteTrail",
    });
    let mut keyed: Vec<(i64, String)> = all
        .iter()
        .filter(|e| attribute.is_none_or(|a| e.name == a))
        .map(|e| (e.time.timestamp_millis(), e.id.clone()))
        .collect();
    keyed.sort_by(|a, b| b.cmp(a));
    keyed.into_iter().map(|(_, id)| id).collect()
}

async fn page_through(trail: &Trail, attribute: Option<&str>, max: usize) -> Vec<String> {
    let q = Lookup {
        attribute: attribute.map(|a| Attribute::EventName(a.into())),
        start: base() - Duration::hours(1),
        end: base() + Duration::hours(13),
        max_results: max,
        fingerprint: format!("{attribute:?}|{max}"),
    };
    let scope = Scope::new(ACCOUNT, REGION);
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = trail.lookup(&scope, &q, token.as_deref()).await.unwrap();
        assert!(page.records.len() <= max);
        for r in &page.records {
            let v: serde_json::Value = serde_json::from_str(r).unwrap();
            assert_eq!(v["awsRegion"], REGION);
            ids.push(v["eventID"].as_str().unwrap().to_owned());
        }
        match page.next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    ids
}

#[tokio::test]
async fn pages_are_newest_first_across_segments_and_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake(dir.path()).await;
    assert!(
        lake.compact().await.unwrap() > 0,
        "some partitions compacted"
    );
    let trail = Trail { lake };
    for (attribute, max) in [
        (None, 7),
        (None, 50),
        (Some("GetCallerIdentity"), 11),
        (Some("DeleteTrail"), 3),
        (Some("DeleteTrail"), 50),
        (Some("NoSuchCall"), 5),
    ] {
        assert_eq!(
            page_through(&trail, attribute, max).await,
            expected(attribute),
            "{attribute:?} in pages of {max}"
        );
    }
}

// ------------------------------------------------------------------ file formats

mod formats {
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;
    use sightline_trail::digest::{
        digest_key, digest_key_time, gunzip, gzip, log_file_body, log_file_key, sha256_hex,
        string_to_sign,
    };
    use sightline_trail::verify::gunzip_sha256;

    #[test]
    fn keys_are_cloudtrails() {
        let t = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(
            log_file_key(
                Some("org/audit"),
                "123456789012",
                "eu-west-1",
                &t,
                "ABCDEFGHIJKLMNOP"
            ),
            "org/audit/AWSLogs/123456789012/CloudTrail/eu-west-1/2026/01/02/123456789012_CloudTrail_eu-west-1_20260102T0304Z_ABCDEFGHIJKLMNOP.json.gz"
        );
        let k = digest_key(None, "123456789012", "eu-west-1", "main", "us-east-1", &t);
        assert_eq!(
            k,
            "AWSLogs/123456789012/CloudTrail-Digest/eu-west-1/2026/01/02/123456789012_CloudTrail-Digest_eu-west-1_main_us-east-1_20260102T030405Z.json.gz"
        );
        // The CLI reads the time from the key's last 24 characters.
        assert_eq!(&k[k.len() - 24..k.len() - 8], "20260102T030405Z");
        assert_eq!(digest_key_time(&k), Some(t));
    }

    #[test]
    fn string_to_sign_is_the_clis() {
        let s = string_to_sign("2026-01-02T03:04:05Z", "b", "k.json.gz", b"{}", None);
        assert_eq!(
            s,
            format!(
                "2026-01-02T03:04:05Z\nb/k.json.gz\n{}\nnull",
                sha256_hex(b"{}")
            )
        );
        let s = string_to_sign("t", "b", "k", b"", Some("abcd"));
        assert!(s.ends_with("\nabcd"));
    }

    proptest! {
        #[test]
        fn log_files_round_trip(records in proptest::collection::vec("[a-z0-9 ]{0,40}", 0..20)) {
            let json: Vec<String> = records.iter().map(|r| serde_json::json!({"r": r}).to_string()).collect();
            let body = log_file_body(json.iter().map(String::as_str));
            let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
            prop_assert_eq!(parsed["Records"].as_array().unwrap().len(), records.len());
            let gz = gzip(&body).unwrap();
            prop_assert_eq!(gunzip(&gz).unwrap(), body.clone());
            let (hash, n) = gunzip_sha256(&gz).unwrap();
            prop_assert_eq!(hash, sha256_hex(&body));
            prop_assert_eq!(n, body.len() as u64);
        }

        #[test]
        fn digest_key_times_round_trip(secs in 0i64..4_000_000_000) {
            let t = Utc.timestamp_opt(secs, 0).unwrap();
            let k = digest_key(Some("p"), "123456789012", "us-east-1", "t-1", "us-east-1", &t);
            prop_assert_eq!(digest_key_time(&k), Some(t));
        }
    }
}
