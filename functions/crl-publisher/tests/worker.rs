//! The CRL worker on the embedded backend: both event shapes, batch de-duplication and
//! failure reporting, the scheduled refresh, and the `JobHandler` that `serve` drives.

use crl_publisher::{CrlWorker, WorkerEvent};
use serde_json::{json, Value};
use trustplane_core::jobs::{Job, JobHandler};
use trustplane_core::pki::SubjectName;
use trustplane_core::ports::Condition;
use trustplane_core::services::pki::{AuthorityType, NewAuthority, Pki};
use trustplane_core::testkit::local_state;

async fn root(pki: &Pki, cn: &str) -> String {
    let subject = pki.create_subject(SubjectName::common_name_only(cn).unwrap()).await.unwrap();
    let new = NewAuthority { subject_id: subject.id, kind: Some(AuthorityType::Root), ..NewAuthority::default() };
    pki.create_authority(new).await.unwrap().id
}

async fn number(pki: &Pki, authority_id: &str) -> u64 {
    pki.crl_state(authority_id).await.unwrap().unwrap().number
}

fn job(authority_id: &str, requested_at: Option<i64>) -> String {
    serde_json::to_string(&Job::PublishCrl { authority_id: authority_id.into(), requested_at }).unwrap()
}

fn sqs(messages: &[(&str, &str)]) -> WorkerEvent {
    let records: Vec<Value> = messages.iter().map(|(id, body)| json!({ "messageId": id, "body": body, "eventSource": "aws:sqs" })).collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

async fn answer(worker: &CrlWorker, event: WorkerEvent) -> Value {
    serde_json::to_value(worker.handle_event(event).await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_function_accepts_sqs_batches_and_eventbridge_schedules_and_nothing_else() {
    let sqs_event = json!({ "Records": [{ "messageId": "m1", "body": "{}", "eventSource": "aws:sqs" }] });
    assert!(matches!(serde_json::from_value::<WorkerEvent>(sqs_event).unwrap(), WorkerEvent::Sqs(e) if e.records.len() == 1));
    let scheduled = json!({
        "version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
        "time": "2026-01-31T14:40:00Z", "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/crl"], "detail": {}
    });
    assert!(matches!(serde_json::from_value::<WorkerEvent>(scheduled).unwrap(), WorkerEvent::Scheduled(e) if e.detail_type == "Scheduled Event"));
    assert!(serde_json::from_value::<WorkerEvent>(json!({ "hello": "world" })).is_err());
    let (state, _dir) = local_state().await;
    let worker = CrlWorker::new(Pki::new(state.ports, state.config));
    let foreign = json!({ "source": "my.app", "detail-type": "Scheduled Event" });
    assert!(worker.handle_event(serde_json::from_value(foreign).unwrap()).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_event_queues_nothing_while_every_crl_is_fresh() {
    let (state, _dir) = local_state().await;
    let pki = Pki::new(state.ports, state.config);
    let (a, b) = (root(&pki, "Root A").await, root(&pki, "Root B").await);
    let worker = CrlWorker::new(pki.clone());
    let event = serde_json::from_value(json!({ "source": "aws.events", "detail-type": "Scheduled Event", "detail": {} })).unwrap();
    assert_eq!(answer(&worker, event).await, json!({ "enqueued": 0 }));
    assert_eq!((number(&pki, &a).await, number(&pki, &b).await), (1, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_publishes_once_per_authority_and_reports_only_unreadable_messages() {
    let (state, _dir) = local_state().await;
    let pki = Pki::new(state.ports, state.config);
    let (a, b) = (root(&pki, "Root A").await, root(&pki, "Root B").await);
    let worker = CrlWorker::new(pki.clone());
    let (a1, a2, a3, b1) = (job(&a, Some(0)), job(&a, None), job(&a, Some(i64::MAX)), job(&b, Some(i64::MAX)));
    let unknown = job(&uuid_like(), None);
    let event = sqs(&[("a1", &a1), ("a2", &a2), ("a3", &a3), ("b1", &b1), ("junk", "not a job"), ("gone", &unknown)]);
    assert_eq!(answer(&worker, event).await, json!({ "batchItemFailures": [{ "itemIdentifier": "junk" }] }));
    assert_eq!((number(&pki, &a).await, number(&pki, &b).await), (2, 2));
    let covered = sqs(&[("old", &job(&a, Some(0)))]);
    assert_eq!(answer(&worker, covered).await, json!({ "batchItemFailures": [] }));
    assert_eq!(number(&pki, &a).await, 2, "a request older than the current CRL is a no-op");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_message_of_an_authority_whose_publication_fails_is_reported() {
    let (state, _dir) = local_state().await;
    let pki = Pki::new(state.ports.clone(), state.config.clone());
    let (a, b) = (root(&pki, "Root A").await, root(&pki, "Root B").await);
    let mut broken = state.ports.store.get(&format!("AUTH#{a}"), "AUTH").await.unwrap().unwrap();
    broken.data["key"]["key_ref"] = json!("missing-key.pem");
    broken.version += 1;
    state.ports.store.put(broken.clone(), Condition::Version(broken.version - 1)).await.unwrap();
    let fresh = trustplane_core::wiring::open(&state.config).await.unwrap().0;
    let worker = CrlWorker::new(Pki::new(fresh, state.config.clone()));
    let event = sqs(&[("a1", &job(&a, None)), ("b1", &job(&b, None)), ("a2", &job(&a, None))]);
    let failed: Vec<Value> = answer(&worker, event).await["batchItemFailures"].as_array().unwrap().clone();
    assert_eq!(failed, vec![json!({ "itemIdentifier": "a1" }), json!({ "itemIdentifier": "a2" })]);
    assert_eq!(number(&pki, &b).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_job_handler_serve_drains_its_queue_with_publishes_and_coalesces() {
    let (state, _dir) = local_state().await;
    let pki = Pki::new(state.ports, state.config);
    let a = root(&pki, "Root A").await;
    let worker = CrlWorker::new(pki.clone());
    worker.handle(&job(&a, None)).await.unwrap();
    assert_eq!(number(&pki, &a).await, 2);
    worker.handle(&job(&a, Some(0))).await.unwrap();
    assert_eq!(number(&pki, &a).await, 2);
    worker.handle(&job(&uuid_like(), None)).await.unwrap();
    assert!(worker.handle("{\"type\":\"unknown\"}").await.is_err());
}

fn uuid_like() -> String {
    "01900000-0000-7000-8000-000000000000".into()
}
