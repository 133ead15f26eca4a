//! The CRL worker. Triggered by SQS (bodies are [`Job::PublishCrl`] JSON: one publication per
//! authority per batch, failed message ids reported for `ReportBatchItemFailures`) and by an
//! EventBridge schedule, which publishes nothing itself: it queues one job per ACTIVE
//! authority whose CRL is past half its validity (RFC 5280 §5.1.2.5), so each republication
//! runs in its own SQS-triggered invocation. The job queue also carries the ACME server's
//! `http-01` validations ([`Job::ValidateAcmeChallenge`], RFC 8555 §7.5.1), which the worker
//! runs with [`CrlWorker::with_acme`]. `trustplane serve` drains its in-process queue through
//! the same [`CrlWorker`].

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trustplane_core::jobs::{Job, JobHandler};
use trustplane_core::services::acme::Acme;
use trustplane_core::services::pki::{CrlOutcome, Pki};
use trustplane_core::{Error, Result};

pub use trustplane_core::jobs::ScheduledEvent;

/// What the function is invoked with.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum WorkerEvent {
    /// `{"Records": [...]}` from the job queue.
    Sqs(SqsEvent),
    /// The periodic refresh.
    Scheduled(ScheduledEvent),
}

/// What the function answers.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum WorkerResponse {
    /// `{"batchItemFailures": [{"itemIdentifier": "<messageId>"}, ...]}`.
    Sqs(SqsBatchResponse),
    /// `{"enqueued": <authorities whose CRL publication was queued>}`.
    Scheduled { enqueued: usize },
}

/// Publishes CRLs through the PKI service.
#[derive(Clone)]
pub struct CrlWorker {
    pki: Pki,
    acme: Option<Acme>,
}

/// One authority's share of a batch: the messages asking for it and the latest stamp.
#[derive(Default)]
struct Group {
    message_ids: Vec<String>,
    requested_at: Option<Option<i64>>,
}

impl Group {
    fn add(&mut self, message_id: String, requested_at: Option<i64>) {
        self.message_ids.push(message_id);
        self.requested_at = Some(match self.requested_at {
            None => requested_at,
            Some(seen) => seen.zip(requested_at).map(|(a, b)| a.max(b)),
        });
    }
}

fn failure(id: String) -> BatchItemFailure {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = id;
    failure
}

impl CrlWorker {
    /// A worker over the PKI service.
    pub fn new(pki: Pki) -> Self {
        CrlWorker { pki, acme: None }
    }

    /// The worker that also validates ACME challenges through `acme`.
    pub fn with_acme(self, acme: Acme) -> Self {
        CrlWorker { acme: Some(acme), ..self }
    }

    /// Runs one queued ACME validation ([`Acme::run_validation_job`]); a worker without
    /// [`CrlWorker::with_acme`] fails it, so it stays queued.
    pub async fn validate(&self, authz_id: &str) -> Result<()> {
        match &self.acme {
            Some(acme) => acme.run_validation_job(authz_id).await,
            None => Err(Error::internal("this worker validates no ACME challenges")),
        }
    }

    /// Handles either event shape.
    pub async fn handle_event(&self, event: WorkerEvent) -> Result<WorkerResponse> {
        match event {
            WorkerEvent::Sqs(batch) => Ok(WorkerResponse::Sqs(self.process_batch(batch).await)),
            WorkerEvent::Scheduled(event) if event.source == "aws.events" => {
                Ok(WorkerResponse::Scheduled { enqueued: self.pki.enqueue_due_crls().await? })
            }
            WorkerEvent::Scheduled(event) => Err(Error::validation(format!("unexpected event source {:?}", event.source))),
        }
    }

    /// Publishes once per authority named in the batch (the latest stamp wins; a job without
    /// one forces publication), runs each ACME validation alongside, and names every message
    /// whose job or parsing failed.
    pub async fn process_batch(&self, batch: SqsEvent) -> SqsBatchResponse {
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        let mut validations = Vec::new();
        let mut response = SqsBatchResponse::default();
        for record in batch.records {
            let id = record.message_id.unwrap_or_default();
            match record.body.as_deref().ok_or_else(|| Error::validation("message without body")).and_then(Job::from_body) {
                Ok(Job::PublishCrl { authority_id, requested_at }) => groups.entry(authority_id).or_default().add(id, requested_at),
                Ok(Job::ValidateAcmeChallenge { authz_id, .. }) => validations.push((id, authz_id)),
                Ok(other) => {
                    tracing::error!(message_id = %id, job = ?other, "not a CRL job");
                    response.batch_item_failures.push(failure(id));
                }
                Err(e) => {
                    tracing::error!(message_id = %id, error = %e, "unreadable job");
                    response.batch_item_failures.push(failure(id));
                }
            }
        }
        let runs = groups.into_iter().map(|(authority_id, group)| async move {
            let outcome = self.publish(&authority_id, group.requested_at.flatten()).await;
            (group.message_ids, outcome)
        });
        let checks = validations.into_iter().map(|(id, authz_id)| async move { (vec![id], self.validate(&authz_id).await) });
        let (published, validated) = futures::future::join(futures::future::join_all(runs), futures::future::join_all(checks)).await;
        for (ids, outcome) in published.into_iter().chain(validated) {
            if let Err(e) = outcome {
                tracing::error!(?ids, error = %e, "job failed");
                response.batch_item_failures.extend(ids.into_iter().map(failure));
            }
        }
        response
    }

    /// Publishes one authority's CRL; a job for an authority that does not exist is dropped.
    /// The PKI service counts each publication (`CrlPublished`, `CrlAgeSeconds`, `CrlEntries`).
    pub async fn publish(&self, authority_id: &str, requested_at: Option<i64>) -> Result<()> {
        match self.pki.publish_crl(authority_id, requested_at).await {
            Ok(CrlOutcome::Published { number, .. }) => tracing::info!(authority_id, number, "published CRL"),
            Ok(CrlOutcome::UpToDate { number }) => tracing::info!(authority_id, number, "CRL already covers the request"),
            Ok(CrlOutcome::Superseded { number, by }) => tracing::info!(authority_id, number, by, "a later CRL covers the request"),
            Err(Error::NotFound(what)) => tracing::warn!(authority_id, %what, "dropping CRL job for an unknown authority"),
            Err(e) => return Err(e),
        }
        Ok(())
    }
}

#[async_trait]
impl JobHandler for CrlWorker {
    /// One queued job (the in-process queue of `trustplane serve`).
    async fn handle(&self, body: &str) -> Result<()> {
        match Job::from_body(body)? {
            Job::PublishCrl { authority_id, requested_at } => self.publish(&authority_id, requested_at).await,
            Job::ValidateAcmeChallenge { authz_id, .. } => self.validate(&authz_id).await,
            other => Err(Error::validation(format!("not a CRL job: {other:?}"))),
        }
    }
}

/// The Lambda handler: `main` passes every invocation here.
pub async fn function_handler(worker: &CrlWorker, event: lambda_runtime::LambdaEvent<WorkerEvent>) -> std::result::Result<WorkerResponse, lambda_runtime::Error> {
    worker.handle_event(event.payload).await.map_err(|e| {
        tracing::error!(error = %e, "CRL worker failed");
        lambda_runtime::Error::from(e.to_string())
    })
}
