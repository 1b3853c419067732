//! SNS end to end, driving the engine and the Query service directly: a local HTTP
//! endpoint that confirms through the SubscribeURL and checks signatures against the
//! served certificate, retries, a restart with deliveries still owed, a hand-written SMTP
//! sink for email subscriptions, queue deliveries, and the errors SNS answers.

mod support;

use serde_json::Value as Json;
use sightline_core::{Scope, TopicMessage, TopicPublisher};
use sightline_sns::api::{NAMESPACE, SnsService};
use sightline_sns::publish::{MessageInput, Target};
use sightline_wire::Value;
use sightline_wire::codec::query;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use support::*;
use tokio::sync::mpsc;

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn http_subscription_confirms_and_receives_signed_notifications() {
    let dir = tempfile::tempdir().unwrap();
    let env = open(dir.path(), None, true);
    let sns = &env.sns;
    let topic = sns
        .create_topic(&scope(), "alerts", BTreeMap::new(), Vec::new())
        .unwrap();
    let (url, mut rx) = endpoint(&[]).await;
    let answer = sns
        .subscribe(&scope(), &topic, "http", Some(&url), BTreeMap::new(), false)
        .unwrap();
    assert_eq!(answer, "pending confirmation");

    let req = next(&mut rx).await;
    assert_eq!(
        req.headers["x-amz-sns-message-type"],
        "SubscriptionConfirmation"
    );
    assert_eq!(req.headers["x-amz-sns-topic-arn"], topic);
    assert_eq!(req.headers["content-type"], "text/plain; charset=UTF-8");
    let c = req.json();
    assert_eq!(req.headers["x-amz-sns-message-id"], c["MessageId"]);
    assert_eq!(c["TopicArn"], topic.as_str());
    assert_eq!(c["SignatureVersion"], "1");
    let subscribe_url = c["SubscribeURL"].as_str().unwrap();
    assert!(
        subscribe_url.starts_with("http://sns.test:4566/?Action=ConfirmSubscription&TopicArn=")
    );
    assert!(subscribe_url.ends_with(&format!("&Token={}", c["Token"].as_str().unwrap())));
    verify(sns, &c).await;
    let attrs = sns.topic_attributes(&scope(), &topic).unwrap();
    assert_eq!(attrs["SubscriptionsPending"], "1");

    // Only SNS's own public URLs are answered.
    assert!(sns.public_get("/", "Action=ListTopics").await.is_none());
    assert!(
        sns.public_get("/other", "Action=ConfirmSubscription")
            .await
            .is_none()
    );
    let missing = sns
        .public_get("/sightline/sns/SimpleNotificationService-0000.pem", "")
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
    let (status, body) = get(sns, &subscribe_url.replace("Token=", "Token=x")).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("<Code>InvalidParameter</Code><Message>Invalid parameter: Token</Message>"),
        "{body}"
    );

    // An unsigned GET of the SubscribeURL confirms, answering like AWS.
    let (status, body) = get(sns, subscribe_url).await;
    assert_eq!(status, 200);
    assert!(body.starts_with(&format!("<ConfirmSubscriptionResponse xmlns=\"{NAMESPACE}\"><ConfirmSubscriptionResult><SubscriptionArn>{topic}:")), "{body}");
    let attrs = sns.topic_attributes(&scope(), &topic).unwrap();
    assert_eq!(
        (
            attrs["SubscriptionsConfirmed"].as_str(),
            attrs["SubscriptionsPending"].as_str()
        ),
        ("1", "0")
    );
    let (subs, _) = sns.list_subscriptions(&scope(), None).unwrap();
    let sub_arn = subs[0].arn.clone();
    assert!(sub_arn.starts_with(&format!("{topic}:")));

    let mut attributes = BTreeMap::new();
    attributes.insert(
        "severity".to_owned(),
        sightline_sns::message::AttributeInput {
            data_type: "String".into(),
            string_value: Some("high".into()),
            binary_value: None,
        },
    );
    let id = sns
        .publish(
            &scope(),
            &Target {
                topic_arn: Some(topic.clone()),
                ..Target::default()
            },
            MessageInput {
                message: "disk full".into(),
                subject: Some("Disk".into()),
                attributes,
                ..MessageInput::default()
            },
        )
        .unwrap();
    let req = next(&mut rx).await;
    assert_eq!(req.headers["x-amz-sns-message-type"], "Notification");
    assert_eq!(req.headers["x-amz-sns-subscription-arn"], sub_arn);
    let n = req.json();
    assert_eq!(n["MessageId"], id.as_str());
    assert_eq!(n["Message"], "disk full");
    assert_eq!(n["Subject"], "Disk");
    assert_eq!(n["MessageAttributes"]["severity"]["Type"], "String");
    assert_eq!(n["MessageAttributes"]["severity"]["Value"], "high");
    let keys: Vec<&str> = n.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "Type",
            "MessageId",
            "TopicArn",
            "Subject",
            "Message",
            "Timestamp",
            "SignatureVersion",
            "Signature",
            "SigningCertURL",
            "UnsubscribeURL",
            "MessageAttributes"
        ]
    );
    verify(sns, &n).await;

    // Signature version 2 signs with SHA256withRSA.
    sns.set_topic_attribute(&scope(), &topic, "SignatureVersion", "2")
        .unwrap();
    publish(sns, &topic, "second", None);
    let n = next(&mut rx).await.json();
    assert_eq!(n["SignatureVersion"], "2");
    assert!(n.get("Subject").is_none());
    verify(sns, &n).await;

    // The UnsubscribeURL removes the subscription; nothing more arrives.
    let (status, body) = get(sns, n["UnsubscribeURL"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("<UnsubscribeResponse"));
    assert_eq!(
        sns.topic_attributes(&scope(), &topic).unwrap()["SubscriptionsDeleted"],
        "1"
    );
    publish(sns, &topic, "third", None);
    nothing(&mut rx, 300).await;
    assert_eq!(sns.pending_deliveries(), 0);
    env.shutdown().await;
}

#[tokio::test]
async fn raw_delivery_sends_the_bare_message() {
    let dir = tempfile::tempdir().unwrap();
    let env = open(dir.path(), None, true);
    let sns = &env.sns;
    let topic = sns
        .create_topic(&scope(), "raw", BTreeMap::new(), Vec::new())
        .unwrap();
    let (url, mut rx) = endpoint(&[]).await;
    let raw = BTreeMap::from([("RawMessageDelivery".to_owned(), "true".to_owned())]);
    let arn = confirmed_http(sns, &topic, &url, &mut rx, raw).await;
    assert_eq!(
        sns.subscription_attributes(&scope(), &arn).unwrap()["RawMessageDelivery"],
        "true"
    );
    let target = Target {
        topic_arn: Some(topic.clone()),
        ..Target::default()
    };
    let m = MessageInput {
        message: r#"{"default":"plain","http":"for http"}"#.into(),
        message_structure: Some("json".into()),
        ..MessageInput::default()
    };
    sns.publish(&scope(), &target, m).unwrap();
    let req = next(&mut rx).await;
    assert_eq!(req.body, "for http");
    assert_eq!(req.headers["x-amz-sns-rawdelivery"], "true");
    env.shutdown().await;
}

#[tokio::test]
async fn failed_deliveries_are_retried_then_given_up() {
    let dir = tempfile::tempdir().unwrap();
    let env = open(dir.path(), None, true);
    let sns = &env.sns;
    let topic = sns
        .create_topic(&scope(), "flaky", BTreeMap::new(), Vec::new())
        .unwrap();
    // Confirmation accepted, then two server errors before the notification gets in.
    let (url, mut rx) = endpoint(&[200, 500, 503]).await;
    confirmed_http(sns, &topic, &url, &mut rx, BTreeMap::new()).await;
    let started = std::time::Instant::now();
    let id = publish(sns, &topic, "eventually", None);
    for _ in 0..3 {
        assert_eq!(next(&mut rx).await.json()["MessageId"], id.as_str());
    }
    // AWS's default: 20 (policy) seconds between attempts, 10 ms each here.
    assert!(started.elapsed() >= Duration::from_millis(400));
    wait_until(|| sns.pending_deliveries() == 0).await;

    // A subscription policy of one retry: two attempts, then the message is discarded.
    let (url, mut rx) = endpoint(&[200, 500, 500, 500, 500]).await;
    let policy = r#"{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":1,"numRetries":1}}"#;
    let attrs = BTreeMap::from([("DeliveryPolicy".to_owned(), policy.to_owned())]);
    let other = sns
        .create_topic(&scope(), "flakier", BTreeMap::new(), Vec::new())
        .unwrap();
    let arn = confirmed_http(sns, &other, &url, &mut rx, attrs).await;
    let effective: Json = serde_json::from_str(
        &sns.subscription_attributes(&scope(), &arn).unwrap()["EffectiveDeliveryPolicy"],
    )
    .unwrap();
    assert_eq!(effective["healthyRetryPolicy"]["numRetries"], 1);
    publish(sns, &other, "doomed", None);
    next(&mut rx).await;
    next(&mut rx).await;
    wait_until(|| sns.pending_deliveries() == 0).await;
    nothing(&mut rx, 200).await;

    // A 4xx answer is a refusal SNS does not retry.
    let (url, mut rx) = endpoint(&[200, 404]).await;
    let third = sns
        .create_topic(&scope(), "refusing", BTreeMap::new(), Vec::new())
        .unwrap();
    confirmed_http(sns, &third, &url, &mut rx, BTreeMap::new()).await;
    publish(sns, &third, "refused", None);
    next(&mut rx).await;
    wait_until(|| sns.pending_deliveries() == 0).await;
    nothing(&mut rx, 300).await;
    env.shutdown().await;
}

#[tokio::test]
async fn acknowledged_messages_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let env = open(dir.path(), None, true);
    let topic = env
        .sns
        .create_topic(&scope(), "durable", BTreeMap::new(), Vec::new())
        .unwrap();
    let (url, mut rx) = endpoint(&[]).await;
    confirmed_http(&env.sns, &topic, &url, &mut rx, BTreeMap::new()).await;
    wait_until(|| env.sns.pending_deliveries() == 0).await;
    env.shutdown().await;

    // Accepted while nothing delivers, then the engine goes away.
    let env = open(dir.path(), None, false);
    let id = publish(&env.sns, &topic, "kept", Some("Durable"));
    assert_eq!(env.sns.pending_deliveries(), 1);
    nothing(&mut rx, 200).await;
    drop(env);

    let env = open(dir.path(), None, true);
    assert_eq!(env.sns.pending_deliveries(), 1);
    let n = next(&mut rx).await.json();
    assert_eq!(n["MessageId"], id.as_str());
    assert_eq!(n["Subject"], "Durable");
    // The signing key came back from storage: the same certificate verifies.
    verify(&env.sns, &n).await;
    wait_until(|| env.sns.pending_deliveries() == 0).await;
    env.shutdown().await;

    let env = open(dir.path(), None, true);
    assert_eq!(
        env.sns.pending_deliveries(),
        0,
        "delivered messages are gone for good"
    );
    nothing(&mut rx, 200).await;
    env.shutdown().await;
}

#[tokio::test]
async fn email_subscriptions_get_a_confirmation_then_notifications() {
    let (smtp, mut mails) = smtp_sink().await;
    let dir = tempfile::tempdir().unwrap();
    let env = open(dir.path(), Some(smtp), true);
    let sns = &env.sns;
    let attrs = BTreeMap::from([("DisplayName".to_owned(), "Ops Alerts".to_owned())]);
    let topic = sns
        .create_topic(&scope(), "mail", attrs, Vec::new())
        .unwrap();
    sns.subscribe(
        &scope(),
        &topic,
        "email",
        Some("ops@example.com"),
        BTreeMap::new(),
        false,
    )
    .unwrap();
    let m = next(&mut mails).await;
    assert_eq!(
        (m.from.as_str(), m.to.as_str()),
        ("sns@sightline.test", "ops@example.com")
    );
    assert_eq!(
        m.header("Subject"),
        "AWS Notification - Subscription Confirmation"
    );
    assert_eq!(m.header("From"), "\"Ops Alerts\" <sns@sightline.test>");
    let link = m
        .body()
        .lines()
        .find_map(|l| l.strip_prefix("Confirm subscription: "))
        .unwrap()
        .trim()
        .to_owned();
    assert!(m.body().contains(&topic));
    let (status, _) = get(sns, &link).await;
    assert_eq!(status, 200);

    publish(sns, &topic, "line one\n.line with a dot", Some("Heads up"));
    let m = next(&mut mails).await;
    assert_eq!(m.header("Subject"), "Heads up");
    assert!(
        m.body().starts_with("line one\r\n.line with a dot\r\n"),
        "{}",
        m.body()
    );
    assert!(
        m.body()
            .contains("http://sns.test:4566/?Action=Unsubscribe&SubscriptionArn=")
    );
    publish(sns, &topic, "no subject", None);
    assert_eq!(
        next(&mut mails).await.header("Subject"),
        "AWS Notification Message"
    );

    // email-json gets the JSON documents, signed like HTTP ones.
    sns.subscribe(
        &scope(),
        &topic,
        "email-json",
        Some("bot@example.com"),
        BTreeMap::new(),
        false,
    )
    .unwrap();
    let m = next(&mut mails).await;
    assert_eq!(
        m.header("Content-Transfer-Encoding"),
        "base64",
        "the JSON is one long line"
    );
    let c: Json = serde_json::from_str(&m.text()).unwrap();
    assert_eq!(c["Type"], "SubscriptionConfirmation");
    verify(sns, &c).await;
    sns.confirm_subscription(Some(&scope()), &topic, c["Token"].as_str().unwrap(), false)
        .unwrap();
    publish(sns, &topic, "both", None);
    let mut got: Vec<Mail> = vec![next(&mut mails).await, next(&mut mails).await];
    got.sort_by(|a, b| a.to.cmp(&b.to));
    let n: Json = serde_json::from_str(&got[0].text()).unwrap();
    assert_eq!(
        (n["Type"].as_str(), n["Message"].as_str()),
        (Some("Notification"), Some("both"))
    );
    verify(sns, &n).await;
    assert!(got[1].body().starts_with("both"));
    env.shutdown().await;
}

#[tokio::test]
async fn sqs_subscriptions_wait_for_a_queue_sender() {
    let dir = tempfile::tempdir().unwrap();
    let env = open(dir.path(), None, true);
    let sns = &env.sns;
    let topic = sns
        .create_topic(&scope(), "fanout", BTreeMap::new(), Vec::new())
        .unwrap();
    let queue = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:work");
    let first = sns
        .subscribe(&scope(), &topic, "sqs", Some(&queue), BTreeMap::new(), true)
        .unwrap();
    assert_eq!(
        sns.subscription_attributes(&scope(), &first).unwrap()["PendingConfirmation"],
        "true"
    );
    sns.unsubscribe(Some(&scope()), &first).unwrap();

    let (tx, mut rx) = mpsc::unbounded_channel();
    sns.set_queue_sender(Arc::new(Queues(tx)));
    let arn = sns
        .subscribe(
            &scope(),
            &topic,
            "sqs",
            Some(&queue),
            BTreeMap::new(),
            false,
        )
        .unwrap();
    assert!(arn.starts_with(&topic), "confirmed at once: {arn}");
    publish(sns, &topic, "job", None);
    let (q, body) = next(&mut rx).await;
    assert_eq!(q, queue);
    let n: Json = serde_json::from_str(&body).unwrap();
    assert_eq!(n["Message"], "job");
    env.shutdown().await;
}

#[tokio::test]
async fn the_query_api_answers_as_sns_does() {
    let dir = tempfile::tempdir().unwrap();
    let env = open(dir.path(), None, false);
    let service = SnsService::new(env.sns.clone());
    let out = call(&service, "Action=CreateTopic&Name=api&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=Api&Tags.member.1.Key=team&Tags.member.1.Value=ops")
        .await
        .unwrap();
    let arn = out
        .get("TopicArn")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    assert_eq!(arn, format!("arn:aws:sns:{REGION}:{ACCOUNT}:api"));
    // Idempotent by name with the same attributes; refused with different ones.
    call(&service, "Action=CreateTopic&Name=api&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=Api")
        .await
        .unwrap();
    let e = call(&service, "Action=CreateTopic&Name=api&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=Other")
        .await
        .unwrap_err();
    assert_eq!(e.code, "InvalidParameter");

    let a = enc(&arn);
    let out = call(&service, &format!("Action=GetTopicAttributes&TopicArn={a}"))
        .await
        .unwrap();
    let xml = String::from_utf8(query::encode("GetTopicAttributes", NAMESPACE, "r", &out)).unwrap();
    assert!(
        xml.contains("<Attributes><entry><key>DisplayName</key><value>Api</value></entry>"),
        "{xml}"
    );
    assert!(xml.contains(&format!(
        "<entry><key>Owner</key><value>{ACCOUNT}</value></entry>"
    )));
    assert!(xml.contains("__default_policy_ID"));
    let out = call(
        &service,
        &format!("Action=ListTagsForResource&ResourceArn={a}"),
    )
    .await
    .unwrap();
    let xml =
        String::from_utf8(query::encode("ListTagsForResource", NAMESPACE, "r", &out)).unwrap();
    assert!(
        xml.contains("<Tags><member><Key>team</Key><Value>ops</Value></member></Tags>"),
        "{xml}"
    );

    let missing = enc(&format!("arn:aws:sns:{REGION}:{ACCOUNT}:nope"));
    let cases: Vec<(String, &str, u16, &str)> = vec![
        (
            format!("Action=Publish&TopicArn={missing}&Message=x"),
            "NotFound",
            404,
            "Topic does not exist",
        ),
        (
            "Action=Publish&TopicArn=not-an-arn&Message=x".into(),
            "InvalidParameter",
            400,
            "Invalid parameter: TopicArn",
        ),
        (
            "Action=Publish&Message=x".into(),
            "InvalidParameter",
            400,
            "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
        ),
        (
            format!("Action=Publish&TopicArn={a}&Message="),
            "InvalidParameter",
            400,
            "Invalid parameter: Empty message",
        ),
        (
            format!(
                "Action=Publish&TopicArn={a}&Message=x&Subject={}",
                "s".repeat(101)
            ),
            "InvalidParameter",
            400,
            "Invalid parameter: Subject",
        ),
        (
            format!("Action=Publish&TopicArn={a}&Message=x&Subject=a%0Ab"),
            "InvalidParameter",
            400,
            "Invalid parameter: Subject",
        ),
        (
            format!(
                "Action=Publish&TopicArn={a}&MessageStructure=json&Message={}",
                enc("{oops")
            ),
            "InvalidParameter",
            400,
            "Invalid parameter: Message Structure - JSON message body failed to parse",
        ),
        (
            format!(
                "Action=Publish&TopicArn={a}&MessageStructure=json&Message={}",
                enc(r#"{"email":"x"}"#)
            ),
            "InvalidParameter",
            400,
            "Invalid parameter: Message Structure - No default entry in JSON message body",
        ),
        (
            format!(
                "Action=Publish&TopicArn={a}&Message={}",
                "x".repeat(262_145)
            ),
            "InvalidParameter",
            400,
            "Invalid parameter: Message too long",
        ),
        (
            format!(
                "Action=Publish&TopicArn={a}&Message=x&MessageAttributes.entry.1.Name=n&MessageAttributes.entry.1.Value.DataType=Number&MessageAttributes.entry.1.Value.StringValue=abc"
            ),
            "ParameterValueInvalid",
            400,
            "Could not cast message attribute 'n' value to number.",
        ),
        (
            format!(
                "Action=Publish&TopicArn={a}&Message=x&MessageAttributes.entry.1.Name=n&MessageAttributes.entry.1.Value.DataType=Float&MessageAttributes.entry.1.Value.StringValue=1"
            ),
            "InvalidParameter",
            400,
            "Invalid parameter: The message attribute 'n' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.",
        ),
        (
            format!("Action=GetTopicAttributes&TopicArn={missing}"),
            "NotFound",
            404,
            "Topic does not exist",
        ),
        (
            "Action=CreateTopic&Name=bad%20name".into(),
            "InvalidParameter",
            400,
            "Invalid parameter: Topic Name",
        ),
        (
            "Action=CreateTopic&Name=orders.fifo".into(),
            "InvalidParameter",
            400,
            "Invalid parameter: FifoTopic Reason: FIFO topics are not supported by Sightline",
        ),
        (
            format!(
                "Action=SetTopicAttributes&TopicArn={a}&AttributeName=Color&AttributeValue=red"
            ),
            "InvalidParameter",
            400,
            "Invalid parameter: AttributeName",
        ),
        (
            format!("Action=Subscribe&TopicArn={a}&Protocol=http&Endpoint=ftp://x"),
            "InvalidParameter",
            400,
            "Invalid parameter: Endpoint",
        ),
        (
            format!("Action=Subscribe&TopicArn={a}&Protocol=carrier-pigeon&Endpoint=x"),
            "InvalidParameter",
            400,
            "Invalid parameter: Amazon SNS does not support this protocol string: carrier-pigeon",
        ),
        (
            format!("Action=Subscribe&TopicArn={a}&Protocol=email&Endpoint=ops%40example.com"),
            "InvalidParameter",
            400,
            "Invalid parameter: Protocol Reason: email delivery needs an SMTP relay, and this server has none configured",
        ),
        (
            format!("Action=Unsubscribe&SubscriptionArn={a}%3Aabc"),
            "NotFound",
            404,
            "Subscription does not exist",
        ),
        (
            format!("Action=ListTagsForResource&ResourceArn={missing}"),
            "ResourceNotFound",
            404,
            "Resource does not exist",
        ),
        (
            format!("Action=ConfirmSubscription&TopicArn={a}&Token=bogus"),
            "InvalidParameter",
            400,
            "Invalid parameter: Token",
        ),
    ];
    for (form, code, status, message) in cases {
        let e = call(&service, &form).await.unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.status, e.message.as_str()),
            (code, status, message),
            "{form}"
        );
    }
    assert_eq!(
        env.sns.pending_deliveries(),
        0,
        "refused calls leave nothing behind"
    );

    // AddPermission edits the policy; RemovePermission takes the statement out again.
    call(&service, &format!("Action=AddPermission&TopicArn={a}&Label=peer&AWSAccountId.member.1={OTHER}&ActionName.member.1=Publish"))
        .await
        .unwrap();
    let policy = env.sns.topic_policy(&arn).unwrap();
    assert!(
        policy.contains(&format!("arn:aws:iam::{OTHER}:root")),
        "{policy}"
    );
    call(
        &service,
        &format!("Action=RemovePermission&TopicArn={a}&Label=peer"),
    )
    .await
    .unwrap();
    assert!(!env.sns.topic_policy(&arn).unwrap().contains(OTHER));

    // PublishBatch: refused entries are reported, the rest accepted.
    let out = call(&service, &format!("Action=PublishBatch&TopicArn={a}&PublishBatchRequestEntries.member.1.Id=ok&PublishBatchRequestEntries.member.1.Message=fine&PublishBatchRequestEntries.member.2.Id=bad&PublishBatchRequestEntries.member.2.Message=x&PublishBatchRequestEntries.member.2.Subject=%0A"))
        .await
        .unwrap();
    let xml = String::from_utf8(query::encode("PublishBatch", NAMESPACE, "r", &out)).unwrap();
    assert!(
        xml.contains("<Successful><member><Id>ok</Id><MessageId>"),
        "{xml}"
    );
    assert!(
        xml.contains("<Failed><member><Id>bad</Id><Code>InvalidParameter</Code>"),
        "{xml}"
    );
    let e = call(&service, &format!("Action=PublishBatch&TopicArn={a}&PublishBatchRequestEntries.member.1.Id=x&PublishBatchRequestEntries.member.1.Message=1&PublishBatchRequestEntries.member.2.Id=x&PublishBatchRequestEntries.member.2.Message=2"))
        .await
        .unwrap_err();
    assert_eq!(e.code, "BatchEntryIdsNotDistinct");

    call(&service, &format!("Action=DeleteTopic&TopicArn={a}"))
        .await
        .unwrap();
    call(&service, &format!("Action=DeleteTopic&TopicArn={a}"))
        .await
        .unwrap();
    env.shutdown().await;
}

#[tokio::test]
async fn topics_are_listed_a_hundred_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let env = open(dir.path(), None, false);
    for i in 0..105 {
        env.sns
            .create_topic(&scope(), &format!("t{i:03}"), BTreeMap::new(), Vec::new())
            .unwrap();
    }
    env.sns
        .create_topic(
            &Scope::new(OTHER, REGION),
            "elsewhere",
            BTreeMap::new(),
            Vec::new(),
        )
        .unwrap();
    let (first, token) = env.sns.list_topics(&scope(), None).unwrap();
    assert_eq!(first.len(), 100);
    let (rest, end) = env.sns.list_topics(&scope(), token.as_deref()).unwrap();
    assert_eq!(rest.len(), 5);
    assert!(end.is_none());
    assert!(rest.iter().all(|a| a.contains(ACCOUNT)));
    assert!(env.sns.list_topics(&scope(), Some("%%%")).is_err());
    env.shutdown().await;
}

#[tokio::test]
async fn services_publish_where_the_topic_policy_lets_them() {
    let dir = tempfile::tempdir().unwrap();
    let env = open(dir.path(), None, false);
    let sns = env.sns.clone();
    let own = sns
        .create_topic(&scope(), "alarms", BTreeMap::new(), Vec::new())
        .unwrap();
    let theirs = sns
        .create_topic(
            &Scope::new(OTHER, REGION),
            "shared",
            BTreeMap::new(),
            Vec::new(),
        )
        .unwrap();
    let message = |topic: &str| TopicMessage {
        topic_arn: topic.to_owned(),
        subject: Some(format!("ALARM: \"{}\" in US East", "x".repeat(120))),
        message: "{\"AlarmName\":\"high\"}".into(),
        service: "cloudwatch.amazonaws.com".into(),
        source_arn: format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:high"),
    };
    let publisher: &dyn TopicPublisher = sns.as_ref();
    publisher.publish(&scope(), message(&own)).await.unwrap();
    let e = publisher
        .publish(&scope(), message(&theirs))
        .await
        .unwrap_err();
    assert!(matches!(e, sightline_core::Error::AccessDenied(_)), "{e}");
    let e = publisher
        .publish(
            &scope(),
            message(&format!("arn:aws:sns:{REGION}:{ACCOUNT}:none")),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, sightline_core::Error::NotFound(_)), "{e}");
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": theirs,
            "Condition": {"ArnLike": {"aws:SourceArn": format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*")}}
        }]
    })
    .to_string();
    sns.set_topic_attribute(&Scope::new(OTHER, REGION), &theirs, "Policy", &policy)
        .unwrap();
    publisher.publish(&scope(), message(&theirs)).await.unwrap();
    env.shutdown().await;
}
