//! The engine end to end over a real SQLite file: message lifecycles with a clock the
//! test moves (visibility, delays, retention, redrive), long polls, purges, restarts,
//! and sends from other services through the queue policy.

use sightline_core::{QueueAttribute, QueueMessage, QueueSink, Scope};
use sightline_meta::Meta;
use sightline_sqs::message::{Outgoing, RawAttribute};
use sightline_sqs::receive::ReceiveOptions;
use sightline_sqs::{Config, Error, Sqs};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "111111111111";
const START: i64 = 1_700_000_000_000;

struct Env {
    dir: tempfile::TempDir,
    clock: Arc<AtomicI64>,
    sqs: Arc<Sqs>,
}

fn scope() -> Scope {
    Scope::new(ACCOUNT, "us-east-1")
}

fn open_in(dir: &std::path::Path, clock: Arc<AtomicI64>) -> Arc<Sqs> {
    let meta = Arc::new(Meta::open(dir).unwrap());
    let mut config = Config::new("http://sqs.test");
    let c = clock.clone();
    config.clock = Arc::new(move || c.load(Ordering::SeqCst));
    Sqs::open(meta, config).unwrap()
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(AtomicI64::new(START));
        let sqs = open_in(dir.path(), clock.clone());
        Env { dir, clock, sqs }
    }

    fn advance(&self, ms: i64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    fn reopen(&mut self) {
        self.sqs = open_in(self.dir.path(), self.clock.clone());
    }

    async fn queue(&self, name: &str, attrs: &[(&str, &str)]) -> String {
        let given: BTreeMap<String, String> = attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let url = self
            .sqs
            .create_queue(&scope(), name, &given, BTreeMap::new())
            .await
            .unwrap();
        assert_eq!(url, format!("http://sqs.test/{ACCOUNT}/{name}"));
        arn(name)
    }
}

fn arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}")
}

fn msg(body: &str) -> Outgoing {
    Outgoing {
        body: body.into(),
        ..Outgoing::default()
    }
}

fn opts(max: i64) -> ReceiveOptions {
    ReceiveOptions {
        max: Some(max),
        wait: Some(0),
        system_names: vec!["All".into()],
        attribute_names: vec!["All".into()],
        ..ReceiveOptions::default()
    }
}

fn count(env: &Env, q: &str, what: &str) -> String {
    env.sqs.get_attributes(q, &["All".into()]).unwrap()[what].clone()
}

#[tokio::test]
async fn a_message_is_received_hidden_then_seen_again_then_deleted() {
    let env = Env::new();
    let q = env.queue("jobs", &[("VisibilityTimeout", "10")]).await;
    let sent = env.sqs.send_one(&q, msg("hello"), "AIDA1").await.unwrap();
    assert_eq!(sent.md5_body, "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(count(&env, &q, "ApproximateNumberOfMessages"), "1");

    let first = env.sqs.receive(&q, &opts(10)).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].body, "hello");
    assert_eq!(first[0].message_id, sent.message_id);
    assert_eq!(first[0].attributes["ApproximateReceiveCount"], "1");
    assert_eq!(first[0].attributes["SenderId"], "AIDA1");
    assert_eq!(first[0].attributes["SentTimestamp"], START.to_string());
    assert!(env.sqs.receive(&q, &opts(10)).await.unwrap().is_empty());
    assert_eq!(
        count(&env, &q, "ApproximateNumberOfMessagesNotVisible"),
        "1"
    );

    env.advance(10_000);
    let second = env.sqs.receive(&q, &opts(1)).await.unwrap();
    assert_eq!(second[0].attributes["ApproximateReceiveCount"], "2");
    assert_eq!(
        second[0].attributes["ApproximateFirstReceiveTimestamp"],
        START.to_string()
    );
    // The first receipt is stale: deleting with it leaves the message.
    env.sqs
        .delete_message(&q, &first[0].receipt_handle)
        .await
        .unwrap();
    assert_eq!(
        count(&env, &q, "ApproximateNumberOfMessagesNotVisible"),
        "1"
    );
    env.sqs
        .delete_message(&q, &second[0].receipt_handle)
        .await
        .unwrap();
    assert_eq!(
        count(&env, &q, "ApproximateNumberOfMessagesNotVisible"),
        "0"
    );
    // Deleting twice is fine; a handle that is not one is not.
    env.sqs
        .delete_message(&q, &second[0].receipt_handle)
        .await
        .unwrap();
    assert!(matches!(
        env.sqs.delete_message(&q, "garbage").await,
        Err(Error::ReceiptHandleIsInvalid(_))
    ));
}

#[tokio::test]
async fn visibility_changes_hide_and_release() {
    let env = Env::new();
    let q = env.queue("vis", &[]).await;
    env.sqs.send_one(&q, msg("m"), "me").await.unwrap();
    let got = env.sqs.receive(&q, &opts(1)).await.unwrap();
    let handle = &got[0].receipt_handle;
    env.sqs.change_visibility(&q, handle, 0).await.unwrap();
    let again = env.sqs.receive(&q, &opts(1)).await.unwrap();
    assert_eq!(again.len(), 1);
    // The old receipt no longer names the message's current receive.
    assert!(matches!(
        env.sqs.change_visibility(&q, handle, 5).await,
        Err(Error::InvalidParameterValue(_))
    ));
    env.sqs
        .change_visibility(&q, &again[0].receipt_handle, 100)
        .await
        .unwrap();
    env.advance(99_000);
    assert!(env.sqs.receive(&q, &opts(1)).await.unwrap().is_empty());
    env.advance(1_000);
    assert_eq!(env.sqs.receive(&q, &opts(1)).await.unwrap().len(), 1);
    assert!(matches!(
        env.sqs.change_visibility(&q, handle, 43_201).await,
        Err(Error::InvalidParameterValue(_))
    ));
}

#[tokio::test]
async fn delays_apply_per_queue_and_per_message() {
    let env = Env::new();
    let q = env.queue("slow", &[("DelaySeconds", "5")]).await;
    env.sqs
        .send_one(&q, msg("queue delay"), "me")
        .await
        .unwrap();
    let mut quick = msg("no delay");
    quick.delay = Some(0);
    env.sqs.send_one(&q, quick, "me").await.unwrap();
    assert_eq!(count(&env, &q, "ApproximateNumberOfMessagesDelayed"), "1");
    let got = env.sqs.receive(&q, &opts(10)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "no delay");
    env.advance(5_000);
    let got = env.sqs.receive(&q, &opts(10)).await.unwrap();
    assert_eq!(got[0].body, "queue delay");
}

#[tokio::test]
async fn retention_expires_messages() {
    let env = Env::new();
    let q = env
        .queue("short", &[("MessageRetentionPeriod", "60")])
        .await;
    env.sqs.send_one(&q, msg("old"), "me").await.unwrap();
    env.advance(30_000);
    env.sqs.send_one(&q, msg("new"), "me").await.unwrap();
    env.advance(30_000);
    // The first is past 60 s: never returned, and the sweep removes it.
    assert_eq!(count(&env, &q, "ApproximateNumberOfMessages"), "1");
    assert_eq!(env.sqs.sweep().await.unwrap(), 1);
    let got = env.sqs.receive(&q, &opts(10)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "new");
    // Messages in flight expire too.
    env.advance(30_000);
    assert_eq!(env.sqs.sweep().await.unwrap(), 1);
    assert_eq!(
        count(&env, &q, "ApproximateNumberOfMessagesNotVisible"),
        "0"
    );
}

#[tokio::test]
async fn messages_received_too_often_move_to_the_dead_letter_queue() {
    let env = Env::new();
    let dlq = env.queue("dead", &[]).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq}","maxReceiveCount":2}}"#);
    let q = env
        .queue(
            "work",
            &[("RedrivePolicy", &policy), ("VisibilityTimeout", "1")],
        )
        .await;
    env.sqs.send_one(&q, msg("poison"), "me").await.unwrap();
    for _ in 0..2 {
        assert_eq!(env.sqs.receive(&q, &opts(1)).await.unwrap().len(), 1);
        env.advance(1_000);
    }
    assert!(env.sqs.receive(&q, &opts(1)).await.unwrap().is_empty());
    let dead = env.sqs.receive(&dlq, &opts(1)).await.unwrap();
    assert_eq!(dead[0].body, "poison");
    assert_eq!(dead[0].attributes["ApproximateReceiveCount"], "1");
    assert_eq!(dead[0].attributes["DeadLetterQueueSourceArn"], q);
}

#[tokio::test]
async fn purge_removes_everything_once_a_minute() {
    let env = Env::new();
    let q = env.queue("purged", &[]).await;
    for i in 0..3 {
        env.sqs
            .send_one(&q, msg(&format!("m{i}")), "me")
            .await
            .unwrap();
    }
    env.sqs.receive(&q, &opts(1)).await.unwrap();
    env.sqs.purge(&q).await.unwrap();
    assert_eq!(count(&env, &q, "ApproximateNumberOfMessages"), "0");
    assert_eq!(
        count(&env, &q, "ApproximateNumberOfMessagesNotVisible"),
        "0"
    );
    assert!(matches!(
        env.sqs.purge(&q).await,
        Err(Error::PurgeQueueInProgress(_))
    ));
    env.advance(60_000);
    env.sqs.purge(&q).await.unwrap();
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_a_message_arrives() {
    let env = Env::new();
    let q = env.queue("poll", &[]).await;
    let sqs = env.sqs.clone();
    let q2 = q.clone();
    let started = Instant::now();
    let poll = tokio::spawn(async move {
        let mut o = opts(1);
        o.wait = Some(10);
        sqs.receive(&q2, &o).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    env.sqs.send_one(&q, msg("wake"), "me").await.unwrap();
    let got = poll.await.unwrap().unwrap();
    assert_eq!(got[0].body, "wake");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn messages_and_receipts_survive_a_reopen() {
    let mut env = Env::new();
    let q = env.queue("durable", &[("VisibilityTimeout", "60")]).await;
    let mut a = msg("kept");
    a.attributes.insert(
        "kind".into(),
        RawAttribute {
            data_type: Some("String".into()),
            string: Some("x".into()),
            ..RawAttribute::default()
        },
    );
    env.sqs.send_one(&q, a, "me").await.unwrap();
    env.sqs.send_one(&q, msg("received"), "me").await.unwrap();
    let got = env.sqs.receive(&q, &opts(1)).await.unwrap();
    assert_eq!(got[0].body, "kept");
    env.reopen();
    assert_eq!(count(&env, &q, "ApproximateNumberOfMessages"), "1");
    assert_eq!(
        count(&env, &q, "ApproximateNumberOfMessagesNotVisible"),
        "1"
    );
    // The receipt from before the restart still deletes its message.
    env.sqs
        .delete_message(&q, &got[0].receipt_handle)
        .await
        .unwrap();
    assert_eq!(
        count(&env, &q, "ApproximateNumberOfMessagesNotVisible"),
        "0"
    );
    let rest = env.sqs.receive(&q, &opts(10)).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].body, "received");
    // New messages do not reuse sequence numbers of old ones.
    env.sqs.send_one(&q, msg("after"), "me").await.unwrap();
    env.advance(60_000);
    assert_eq!(env.sqs.receive(&q, &opts(10)).await.unwrap().len(), 2);
}

#[tokio::test]
async fn create_is_idempotent_for_equal_attributes_only() {
    let env = Env::new();
    let q = env.queue("same", &[("VisibilityTimeout", "40")]).await;
    let again = env.queue("same", &[("VisibilityTimeout", "40")]).await;
    assert_eq!(q, again);
    let mut other = BTreeMap::new();
    other.insert("VisibilityTimeout".to_owned(), "41".to_owned());
    assert!(matches!(
        env.sqs
            .create_queue(&scope(), "same", &other, BTreeMap::new())
            .await,
        Err(Error::QueueNameExists(_))
    ));
    env.sqs.delete_queue(&q).await.unwrap();
    assert!(matches!(
        env.sqs
            .create_queue(&scope(), "same", &BTreeMap::new(), BTreeMap::new())
            .await,
        Err(Error::QueueDeletedRecently)
    ));
    env.advance(60_000);
    env.queue("same", &[]).await;
    assert!(matches!(
        env.sqs.send_one(&arn("nope"), msg("x"), "me").await,
        Err(Error::QueueDoesNotExist)
    ));
}

#[tokio::test]
async fn listing_pages_by_name() {
    let env = Env::new();
    for n in ["b", "a", "c", "other"] {
        env.queue(n, &[]).await;
    }
    let (all, next) = env.sqs.list_queues(&scope(), None, None, None).unwrap();
    assert_eq!(all.len(), 4);
    assert!(next.is_none());
    let (page, next) = env.sqs.list_queues(&scope(), None, Some(2), None).unwrap();
    assert_eq!(
        page,
        [
            "http://sqs.test/111111111111/a",
            "http://sqs.test/111111111111/b"
        ]
    );
    let (rest, last) = env
        .sqs
        .list_queues(&scope(), None, Some(2), next.as_deref())
        .unwrap();
    assert_eq!(rest.len(), 2);
    assert!(last.is_none());
    let (prefixed, _) = env
        .sqs
        .list_queues(&scope(), Some("o"), None, None)
        .unwrap();
    assert_eq!(prefixed.len(), 1);
    let elsewhere = Scope::new("222222222222", "us-east-1");
    assert!(
        env.sqs
            .list_queues(&elsewhere, None, None, None)
            .unwrap()
            .0
            .is_empty()
    );
}

#[tokio::test]
async fn services_send_only_where_the_queue_policy_allows() {
    let env = Env::new();
    let topic = format!("arn:aws:sns:us-east-1:{ACCOUNT}:alerts");
    let q = env.queue("from-sns", &[]).await;
    let message = |queue: &str| QueueMessage {
        queue_arn: queue.to_owned(),
        body: "notified".into(),
        attributes: [(
            "source".to_owned(),
            QueueAttribute {
                data_type: "String".into(),
                value: "sns".into(),
            },
        )]
        .into(),
        service: "sns.amazonaws.com".into(),
        source_arn: topic.clone(),
    };
    let sink: &dyn QueueSink = env.sqs.as_ref();
    assert!(matches!(
        sink.send(&scope(), message(&q)).await,
        Err(sightline_core::Error::AccessDenied(_))
    ));
    assert!(matches!(
        sink.send(&scope(), message(&arn("missing"))).await,
        Err(sightline_core::Error::NotFound(_))
    ));
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": q,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}}
        }]
    })
    .to_string();
    let mut attrs = BTreeMap::new();
    attrs.insert("Policy".to_owned(), policy);
    env.sqs.set_attributes(&q, &attrs).await.unwrap();
    let id = sink.send(&scope(), message(&q)).await.unwrap();
    let got = env.sqs.receive(&q, &opts(1)).await.unwrap();
    assert_eq!(got[0].message_id, id);
    assert_eq!(got[0].attributes["SenderId"], "sns.amazonaws.com");
    assert_eq!(
        got[0].message_attributes["source"].string.as_deref(),
        Some("sns")
    );
    let mut other = message(&q);
    other.source_arn = format!("arn:aws:sns:us-east-1:{ACCOUNT}:other");
    assert!(matches!(
        sink.send(&scope(), other).await,
        Err(sightline_core::Error::AccessDenied(_))
    ));
}

#[tokio::test]
async fn batches_report_each_entry() {
    let env = Env::new();
    let q = env.queue("batch", &[("MaximumMessageSize", "1024")]).await;
    let outcomes = env
        .sqs
        .send(
            &q,
            vec![msg("ok"), msg(&"x".repeat(1025)), msg("bad \u{1}")],
            "me",
        )
        .await
        .unwrap();
    assert!(outcomes[0].is_ok());
    assert!(matches!(outcomes[1], Err(Error::InvalidParameterValue(_))));
    assert!(matches!(outcomes[2], Err(Error::InvalidMessageContents(_))));
    let got = env.sqs.receive(&q, &opts(10)).await.unwrap();
    assert_eq!(got.len(), 1);
    let results = env
        .sqs
        .delete_messages(
            &q,
            &[
                ("a".into(), got[0].receipt_handle.clone()),
                ("b".into(), "junk".into()),
            ],
        )
        .await
        .unwrap();
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(Error::ReceiptHandleIsInvalid(_))));
}

#[tokio::test]
async fn shutdown_answers_long_polls_at_once() {
    let env = Env::new();
    let q = env.queue("closing", &[]).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sweeper = env.sqs.spawn(stopped);
    let sqs = env.sqs.clone();
    let started = Instant::now();
    let poll = tokio::spawn(async move {
        let mut o = opts(1);
        o.wait = Some(20);
        sqs.receive(&q, &o).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(true).unwrap();
    sweeper.await.unwrap();
    assert!(poll.await.unwrap().unwrap().is_empty());
    assert!(started.elapsed() < Duration::from_secs(5));
}
