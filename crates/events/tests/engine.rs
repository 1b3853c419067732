//! The engine without the server: what PutEvents owes survives a reopen, scheduled due
//! times fire once even across reopens, rules route only while enabled, and archives
//! keep their events in a real lake, replayed in order across a reopen and purged by
//! retention and deletion.

use chrono::{TimeZone, Utc};
use sightline_core::Scope;
use sightline_events::model::Target;
use sightline_events::put::Entry;
use sightline_events::rules::RuleSpec;
use sightline_events::{Events, Options};
use sightline_lake::Lake;
use sightline_lake::store::SegmentStore;
use sightline_meta::Meta;
use std::sync::Arc;

/// The engine over a meta database and a lake (segments in a local directory) in `dir`.
/// Close the lake before opening `dir` again.
async fn open(dir: &std::path::Path) -> (Arc<Events>, Arc<Lake>) {
    let meta = Arc::new(Meta::open(dir).expect("meta"));
    let lake = Lake::open(
        dir,
        SegmentStore::local(&dir.join("segments")).expect("store"),
        meta.clone(),
        sightline_lake::Options {
            delete_grace: std::time::Duration::ZERO,
            ..sightline_lake::Options::default()
        },
    )
    .await
    .expect("lake");
    let sealer = Arc::new(
        sightline_kms::crypto::MasterKey::load_or_create(&dir.join("master.key")).expect("key"),
    );
    let ev = Events::open(meta, lake.clone(), sealer, Options::default()).expect("events");
    (ev, lake)
}

fn scope() -> Scope {
    Scope::new("123456789012", "us-east-1")
}

fn rule(name: &str, pattern: Option<&str>, schedule: Option<&str>) -> RuleSpec {
    RuleSpec {
        name: name.into(),
        bus: None,
        event_pattern: pattern.map(str::to_owned),
        schedule: schedule.map(str::to_owned),
        state: None,
        description: None,
        role_arn: None,
        tags: Vec::new(),
    }
}

fn queue_target(id: &str) -> Target {
    Target {
        id: id.into(),
        arn: "arn:aws:sqs:us-east-1:123456789012:q".into(),
        ..Target::default()
    }
}

fn entry(source: &str) -> Entry {
    Entry {
        source: Some(source.into()),
        detail_type: Some("t".into()),
        detail: Some("{\"a\":1}".into()),
        ..Entry::default()
    }
}

#[tokio::test]
async fn owed_invocations_survive_a_reopen_and_disabled_rules_do_not_route() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (ev, lake) = open(dir.path()).await;
        ev.put_rule(&scope(), rule("r", Some(r#"{"source":["app"]}"#), None))
            .unwrap();
        let failures = ev
            .put_targets(
                &scope(),
                "r",
                None,
                vec![queue_target("a"), queue_target("b")],
            )
            .unwrap();
        assert!(failures.is_empty());
        let out = ev
            .put_events(&scope(), vec![entry("app"), entry("other"), entry("app")])
            .await
            .unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(ev.pending(), 4);
        ev.set_rule_state(&scope(), "r", None, false).unwrap();
        ev.put_events(&scope(), vec![entry("app")]).await.unwrap();
        assert_eq!(ev.pending(), 4);
        lake.close();
    }
    let (ev, _lake) = open(dir.path()).await;
    assert_eq!(ev.pending(), 4);
    assert_eq!(ev.rule(&scope(), "r", None).unwrap().state, "DISABLED");
}

#[tokio::test]
async fn a_scheduled_due_time_fires_once_across_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let first_fire;
    {
        let (ev, lake) = open(dir.path()).await;
        ev.put_rule(&scope(), rule("tick", None, Some("cron(* * * * ? *)")))
            .unwrap();
        ev.put_targets(&scope(), "tick", None, vec![queue_target("a")])
            .unwrap();
        let now = Utc::now();
        first_fire = now;
        let n = ev.fire_due(now).await.unwrap();
        assert!(n <= 1, "{n}");
        let again = ev.fire_due(now).await.unwrap();
        assert_eq!(again, 0);
        let later = now + chrono::TimeDelta::minutes(1);
        assert_eq!(ev.fire_due(later).await.unwrap(), 1);
        assert_eq!(ev.pending(), n + 1);
        lake.close();
    }
    let (ev, _lake) = open(dir.path()).await;
    let pending = ev.pending();
    let later = first_fire + chrono::TimeDelta::minutes(1);
    assert_eq!(
        ev.fire_due(later).await.unwrap(),
        0,
        "a due time fired twice"
    );
    assert_eq!(ev.pending(), pending);
    // Long after an outage, only the due times within the grace fire.
    let much_later = Utc.timestamp_opt(first_fire.timestamp() + 3600, 0).unwrap();
    assert!(ev.fire_due(much_later).await.unwrap() <= 3);
}

/// Events of `source` put `n` at a time (PutEvents' limit is 10).
async fn put_many(ev: &Events, source: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(10) {
        let entries = chunk.iter().map(|_| entry(source)).collect();
        for o in ev.put_events(&scope(), entries).await.unwrap() {
            match o {
                sightline_events::put::Outcome::Accepted(id) => ids.push(id),
                other => panic!("refused: {other:?}"),
            }
        }
    }
    ids
}

async fn lake_count(lake: &Lake, archive: &str) -> i64 {
    let out = lake
        .sql(
            "123456789012",
            &format!("SELECT count(*) AS n FROM archived_events WHERE archive = '{archive}'"),
        )
        .await
        .unwrap();
    out.json_rows().unwrap()[0]["n"].as_i64().unwrap()
}

#[tokio::test]
async fn archives_keep_events_in_the_lake_and_replays_resume_in_order_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let bus = sightline_events::names::bus_arn("us-east-1", "123456789012", "default");
    let archive;
    let replay_start = chrono::Utc::now().timestamp_millis();
    let mut ids;
    {
        let (ev, lake) = open(dir.path()).await;
        archive = ev
            .create_archive(
                &scope(),
                "keep",
                &bus,
                None,
                Some(r#"{"source":["app"]}"#.into()),
                Some(1),
            )
            .unwrap()
            .arn;
        ids = put_many(&ev, "app", 120).await;
        // Half in segments, half still in the buffer.
        lake.flush().await.unwrap();
        ids.extend(put_many(&ev, "app", 130).await);
        put_many(&ev, "other", 20).await;
        let (_, count, bytes) = ev.archive(&scope(), "keep").await.unwrap();
        assert_eq!(count, 250);
        assert!(bytes > 250 * 100, "{bytes}");
        let listed = ev.list_archives(&scope(), None, None, None).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].1, listed[0].2), (count, bytes));
        assert_eq!(lake_count(&lake, &archive).await, 250);
        lake.close();
    }
    let end = chrono::Utc::now().timestamp_millis() + 1;
    // The replayed events owe invocations to this rule (made after the puts).
    let (ev, lake) = open(dir.path()).await;
    ev.put_rule(&scope(), rule("r", Some(r#"{"source":["app"]}"#), None))
        .unwrap();
    ev.put_targets(&scope(), "r", None, vec![queue_target("a")])
        .unwrap();
    assert_eq!(ev.pending(), 0);
    let replay = ev
        .start_replay(
            &scope(),
            "again",
            None,
            &archive,
            replay_start,
            end,
            sightline_events::model::ReplayDestination {
                arn: bus.clone(),
                filter_arns: None,
            },
        )
        .unwrap()
        .arn;
    // Events are replayable once their appends have surely finished.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert!(ev.step_replay(&replay).await.unwrap());
    assert_eq!(ev.pending(), 100);
    let cursor = ev.replay(&scope(), "again").unwrap().resume_after;
    assert!(cursor.is_some());
    lake.close();
    drop(ev);

    let (ev, lake) = open(dir.path()).await;
    assert_eq!(ev.replay(&scope(), "again").unwrap().resume_after, cursor);
    while ev.step_replay(&replay).await.unwrap() {}
    let r = ev.replay(&scope(), "again").unwrap();
    assert_eq!(r.state, "COMPLETED");
    assert_eq!(ev.pending(), 250);
    let meta = Meta::open(dir.path()).unwrap();
    let mut replayed: Vec<String> = sightline_events::store::load_deliveries(&meta)
        .unwrap()
        .into_iter()
        .map(|d| {
            let e: serde_json::Value = serde_json::from_str(&d.event).unwrap();
            assert_eq!(e["replay-name"], "again");
            e["id"].as_str().unwrap().to_owned()
        })
        .collect();
    replayed.sort();
    ids.sort();
    assert_eq!(replayed, ids, "each archived event replayed exactly once");
    // Replays are not archived again.
    assert_eq!(ev.archive(&scope(), "keep").await.unwrap().1, 250);

    // A row older than the archive (an earlier archive of the same name, say) is never
    // counted, and the purge removes it.
    let old = sightline_lake::datasets::archived::ArchivedEvent {
        time_ms: replay_start - 3 * 86_400_000,
        archive: &archive,
        event_id: "old",
        event: "{}",
    };
    lake.append_encoded(
        sightline_lake::datasets::archived::NAME,
        &scope(),
        &[old],
        64,
    )
    .await
    .unwrap();
    assert_eq!(lake_count(&lake, &archive).await, 251);
    assert_eq!(ev.archive(&scope(), "keep").await.unwrap().1, 250);
    let purged = ev
        .purge_archived(sightline_events::archived::PurgePass::Everything)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(lake_count(&lake, &archive).await, 250);

    // Deleted, then made again under the same name: the new archive sees only its own
    // events, before and after the purge of the old one's.
    ev.delete_archive(&scope(), "keep").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    ev.create_archive(&scope(), "keep", &bus, None, None, None)
        .unwrap();
    put_many(&ev, "app", 3).await;
    assert_eq!(ev.archive(&scope(), "keep").await.unwrap().1, 3);
    let purged = ev
        .purge_archived(sightline_events::archived::PurgePass::Deleted)
        .await
        .unwrap();
    assert_eq!(purged, 250);
    assert_eq!(lake_count(&lake, &archive).await, 3);
    assert_eq!(ev.archive(&scope(), "keep").await.unwrap().1, 3);
}
