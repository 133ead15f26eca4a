//! `Queue`: three jobs, one of which always fails. Embedded: `LocalQueue::drain_once` deletes
//! the successes and dead-letters the failure after the maximum attempts. SQS: the batch
//! routine names exactly the failing message, so only it is retried (and redriven by SQS).

use crate::backend::{Backend, Kind};
use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use trustplane_core::adapters::local::{DrainReport, LocalQueue, DEAD_LETTER_PARTITION, QUEUE_PARTITION};
use trustplane_core::jobs::{process_sqs_batch, JobHandler};
use trustplane_core::ports::{Query, Store};
use trustplane_core::{Error, Result};

const BODIES: [&str; 3] = [r#"{"job":"first"}"#, r#"{"job":"FAIL"}"#, r#"{"job":"last"}"#];
const FAILING: &str = r#"{"job":"FAIL"}"#;

/// Fails every body containing `FAIL`; counts calls per body.
#[derive(Default)]
struct FailOnMarker {
    calls: Mutex<HashMap<String, usize>>,
}

impl FailOnMarker {
    fn calls(&self, body: &str) -> usize {
        self.calls.lock().unwrap().get(body).copied().unwrap_or(0)
    }
}

#[async_trait]
impl JobHandler for FailOnMarker {
    async fn handle(&self, body: &str) -> Result<()> {
        *self.calls.lock().unwrap().entry(body.to_owned()).or_default() += 1;
        if body.contains("FAIL") {
            Err(Error::Unavailable("marked to fail".into()))
        } else {
            Ok(())
        }
    }
}

pub async fn successful_jobs_complete_and_only_the_failing_one_is_retried(b: Backend) {
    for body in BODIES {
        b.ports.queue.send(body.to_owned()).await.expect("send");
    }
    match &b.kind {
        Kind::Sqlite { queue, .. } => local_round_trip(queue, b.ports.store.as_ref()).await,
        Kind::Moto { sqs, queue_url } => sqs_round_trip(sqs, queue_url).await,
    }
}

async fn local_round_trip(queue: &LocalQueue, store: &dyn Store) {
    let handler = FailOnMarker::default();
    let first = queue.drain_once(&handler).await.expect("drain");
    assert_eq!(first, DrainReport { processed: 2, failed: 1, dead_lettered: 0 });
    for _ in 2..5 {
        let retry = queue.drain_once(&handler).await.expect("drain");
        assert_eq!(retry, DrainReport { processed: 0, failed: 1, dead_lettered: 0 });
    }
    let last = queue.drain_once(&handler).await.expect("drain");
    assert_eq!(last, DrainReport { processed: 0, failed: 0, dead_lettered: 1 });
    assert_eq!(queue.drain_once(&handler).await.expect("drain"), DrainReport::default());
    assert_eq!((handler.calls(BODIES[0]), handler.calls(FAILING), handler.calls(BODIES[2])), (1, 5, 1));

    let pending = store.query(Query::partition(QUEUE_PARTITION)).await.unwrap();
    assert!(pending.items.is_empty(), "jobs left in the queue: {:?}", pending.items);
    let dead = store.query(Query::partition(DEAD_LETTER_PARTITION)).await.unwrap().items;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].data["body"], FAILING);
    assert_eq!(dead[0].data["attempts"], 5);
}

async fn sqs_round_trip(sqs: &aws_sdk_sqs::Client, queue_url: &str) {
    let messages = receive(sqs, queue_url, BODIES.len()).await;
    let failing_id = messages
        .iter()
        .find(|m| m.body() == Some(FAILING))
        .and_then(|m| m.message_id())
        .expect("the failing message was received")
        .to_owned();
    let mut event = SqsEvent::default();
    event.records = messages.iter().map(to_lambda_record).collect();
    let handler = FailOnMarker::default();
    let response = process_sqs_batch(event, &handler).await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, [failing_id.as_str()]);
    assert_eq!(BODIES.map(|body| handler.calls(body)), [1, 1, 1]);
    settle(sqs, queue_url, &messages, &failed).await;
    let again = receive(sqs, queue_url, 1).await;
    assert_eq!(again[0].message_id(), Some(failing_id.as_str()), "only the failing message comes back");
    assert_eq!(receive_count(&again[0]), 2);
    redrive_to_the_dlq(sqs, queue_url, again).await;
}

/// What Lambda does with a batch answer: deletes the successes, makes the failures visible.
async fn settle(sqs: &aws_sdk_sqs::Client, queue_url: &str, messages: &[aws_sdk_sqs::types::Message], failed: &[&str]) {
    for m in messages {
        let handle = m.receipt_handle().unwrap();
        if failed.contains(&m.message_id().unwrap()) {
            sqs.change_message_visibility().queue_url(queue_url).receipt_handle(handle).visibility_timeout(0).send().await.unwrap();
        } else {
            sqs.delete_message().queue_url(queue_url).receipt_handle(handle).send().await.unwrap();
        }
    }
}

fn receive_count(m: &aws_sdk_sqs::types::Message) -> u32 {
    let attribute = aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount;
    m.attributes().and_then(|a| a.get(&attribute)).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// Keeps failing the poison message until SQS moves it to `<queue>-dlq`.
async fn redrive_to_the_dlq(sqs: &aws_sdk_sqs::Client, queue_url: &str, mut current: Vec<aws_sdk_sqs::types::Message>) {
    let max = trustplane_core::adapters::aws::bootstrap::MAX_RECEIVE_COUNT;
    while receive_count(&current[0]) < max {
        settle(sqs, queue_url, &current, &[current[0].message_id().unwrap()]).await;
        current = receive(sqs, queue_url, 1).await;
    }
    settle(sqs, queue_url, &current, &[current[0].message_id().unwrap()]).await;
    let out = sqs.receive_message().queue_url(queue_url).wait_time_seconds(1).send().await.unwrap();
    assert!(out.messages.unwrap_or_default().is_empty(), "after {max} receives the message left the queue");
    let dead = receive(sqs, &format!("{queue_url}-dlq"), 1).await;
    assert_eq!(dead[0].body(), Some(FAILING), "the poison message is in the DLQ");
}

/// Receives `count` messages (long polling, at most 30 s).
async fn receive(sqs: &aws_sdk_sqs::Client, queue_url: &str, count: usize) -> Vec<aws_sdk_sqs::types::Message> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut messages = Vec::new();
    while messages.len() < count {
        assert!(Instant::now() < deadline, "received {} of {count} messages", messages.len());
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(60)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .expect("ReceiveMessage");
        messages.extend(out.messages.unwrap_or_default());
    }
    assert_eq!(messages.len(), count, "more messages than were sent");
    messages
}

fn to_lambda_record(message: &aws_sdk_sqs::types::Message) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = message.message_id().map(str::to_owned);
    record.receipt_handle = message.receipt_handle().map(str::to_owned);
    record.body = message.body().map(str::to_owned);
    record.md5_of_body = message.md5_of_body().map(str::to_owned);
    record.event_source = Some("aws:sqs".into());
    record.aws_region = Some("us-east-1".into());
    record
}
