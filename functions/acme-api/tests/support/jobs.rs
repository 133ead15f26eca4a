//! The job queue's consumer, run on demand: `serve`'s drain of the embedded queue, or on moto
//! what the SQS event source mapping does for the worker function (receive a batch, invoke,
//! delete all but the reported failures). And a queue that can be told to refuse jobs.

use super::Backend;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use trustplane_core::jobs::{Job, JobHandler};
use trustplane_core::ports::Queue;
use trustplane_core::{Error, Result};

/// The worker, noting every job it is handed.
struct Noting<'a> {
    worker: &'a crl_publisher::CrlWorker,
    seen: Mutex<Vec<Job>>,
}

#[async_trait]
impl JobHandler for Noting<'_> {
    async fn handle(&self, body: &str) -> Result<()> {
        self.seen.lock().unwrap().push(Job::from_body(body)?);
        self.worker.handle(body).await
    }
}

impl Backend {
    /// Runs every queued job through the worker until none is left; the jobs it ran (each
    /// must succeed).
    pub async fn run_jobs(&self) -> Vec<Job> {
        match &self.queue {
            Some(queue) => {
                let noting = Noting { worker: &self.worker, seen: Mutex::default() };
                let report = queue.drain_once(&noting).await.unwrap();
                assert_eq!((report.failed, report.dead_lettered), (0, 0), "{report:?}");
                noting.seen.into_inner().unwrap()
            }
            None => self.run_sqs_jobs().await,
        }
    }

    async fn run_sqs_jobs(&self) -> Vec<Job> {
        let sqs = aws_sdk_sqs::Client::new(&trustplane_core::testkit::moto::sdk_config().await);
        let url = &self.state.app.config.job_queue_url;
        let mut ran = Vec::new();
        loop {
            let received = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.unwrap();
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return ran;
            }
            let records: Vec<Value> = messages.iter().map(|m| json!({ "messageId": m.message_id, "body": m.body, "eventSource": "aws:sqs" })).collect();
            let event = serde_json::from_value(json!({ "Records": records })).unwrap();
            let answer = serde_json::to_value(self.worker.handle_event(event).await.unwrap()).unwrap();
            assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
            for m in messages {
                sqs.delete_message().queue_url(url).receipt_handle(m.receipt_handle.unwrap()).send().await.unwrap();
                ran.push(Job::from_body(m.body.as_deref().unwrap()).unwrap());
            }
        }
    }
}

/// A queue that forwards to the backend's, or refuses every job while told to.
pub struct SwitchQueue {
    inner: Arc<dyn Queue>,
    pub refusing: AtomicBool,
}

impl SwitchQueue {
    pub fn over(inner: Arc<dyn Queue>) -> Arc<SwitchQueue> {
        Arc::new(SwitchQueue { inner, refusing: AtomicBool::new(false) })
    }

    pub fn refuse(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
    }
}

#[async_trait]
impl Queue for SwitchQueue {
    async fn send(&self, body: String) -> Result<()> {
        if self.refusing.load(Ordering::SeqCst) {
            return Err(Error::Unavailable("the job queue refuses (test)".into()));
        }
        self.inner.send(body).await
    }
}
