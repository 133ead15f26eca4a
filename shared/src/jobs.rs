//! Jobs carried by the queue port, and the one batch-processing routine both the SQS workers
//! and `serve`'s in-process queue use.

use crate::error::{Error, Result};
use crate::ports::Queue;
use async_trait::async_trait;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde::{Deserialize, Serialize};

/// Every kind of asynchronous work, defined once for producers and workers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Job {
    /// Build, sign and publish the CRL of one issuing authority. `requested_at` (unix seconds,
    /// stamped after the change it reflects was committed) lets the worker skip a job that a
    /// CRL built later already covers.
    PublishCrl {
        authority_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requested_at: Option<i64>,
    },
    /// Run (or resume) the provisioning of one tenant (seed 003).
    ProvisionTenant { tenant_id: String },
    /// Deliver the webhook of a tenant that reached `status` (`Active`/`Failed`) in `run`.
    NotifyTenant { tenant_id: String, status: String, run: u32 },
    /// Issue the certificate of one device of a batch session (seed 002), for its
    /// provisioning `attempt` (1 on the first; a retry is the next attempt).
    ProvisionDevice { session_id: String, mac: String, attempt: u32 },
    /// Validate the `http-01` challenge of one ACME authorization whose client asked for it
    /// (RFC 8555 §7.5.1: the challenge is `processing` until the outcome is recorded).
    ValidateAcmeChallenge { authority_id: String, authz_id: String },
}

impl Job {
    /// The job's kind, as its metrics name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::PublishCrl { .. } => "PublishCrl",
            Job::ProvisionTenant { .. } => "ProvisionTenant",
            Job::NotifyTenant { .. } => "NotifyTenant",
            Job::ProvisionDevice { .. } => "ProvisionDevice",
            Job::ValidateAcmeChallenge { .. } => "ValidateAcmeChallenge",
        }
    }

    /// Parses a queue message body.
    pub fn from_body(body: &str) -> Result<Self> {
        serde_json::from_str(body).map_err(|e| Error::validation(format!("unreadable job: {e}")))
    }

    /// Enqueues this job.
    pub async fn enqueue(&self, queue: &dyn Queue) -> Result<()> {
        let body = serde_json::to_string(self).map_err(Error::internal)?;
        queue.send(body).await
    }
}

/// An EventBridge scheduled event: `{"source": "aws.events", "detail-type": "Scheduled Event", ...}`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ScheduledEvent {
    pub source: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
}

/// Processes one message body; must be idempotent (delivery is at-least-once).
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn handle(&self, body: &str) -> Result<()>;

    /// Handles delivery number `receive_count` (1 on the first) of `body`; handlers that act
    /// differently on the last allowed delivery override this.
    async fn handle_delivery(&self, body: &str, receive_count: u32) -> Result<()> {
        let _ = receive_count;
        self.handle(body).await
    }
}

/// Runs every record of an SQS batch concurrently and names the failed ones, so that only
/// they are retried (Lambda `ReportBatchItemFailures`).
pub async fn process_sqs_batch(event: SqsEvent, handler: &dyn JobHandler) -> SqsBatchResponse {
    let runs = event.records.into_iter().map(|record| async move {
        let id = record.message_id.clone().unwrap_or_default();
        let receive_count = record.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
        let outcome = match record.body.as_deref() {
            Some(body) => handler.handle_delivery(body, receive_count).await,
            None => Err(Error::validation("message without body")),
        };
        let kind = record.body.as_deref().and_then(|b| Job::from_body(b).ok()).map_or("unreadable", |job| job.kind());
        let name = if outcome.is_ok() { "JobsSucceeded" } else { "JobsFailed" };
        crate::metrics::Event::count(name).by("Job", kind).emit();
        (id, outcome)
    });
    let mut response = SqsBatchResponse::default();
    for (id, outcome) in futures::future::join_all(runs).await {
        if let Err(e) = outcome {
            tracing::error!(message_id = %id, error = %e, "job failed");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
