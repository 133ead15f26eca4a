//! The tenant worker (seed 003). Triggered by the tenant queue (bodies are
//! [`Job::ProvisionTenant`]: provisioning, or the database drop of a deprovisioned tenant /
//! [`Job::NotifyTenant`]; failed message ids are reported for
//! `ReportBatchItemFailures`, so only they are redelivered, and after `maxReceiveCount` they
//! go to the DLQ) and by an EventBridge schedule (the sweep of stuck tenants).
//! `trustplane serve` drains its in-process queue through the same [`TenantWorker`].

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde::{Deserialize, Serialize};
use trustplane_core::jobs::{process_sqs_batch, Job, JobHandler};
use trustplane_core::services::tenants::{parse_id, Tenants};
use trustplane_core::{Error, Result};

pub use trustplane_core::jobs::ScheduledEvent;

/// What the function is invoked with.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum WorkerEvent {
    /// `{"Records": [...]}` from the tenant queue.
    Sqs(SqsEvent),
    /// The sweep.
    Scheduled(ScheduledEvent),
}

/// What the function answers.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum WorkerResponse {
    /// `{"batchItemFailures": [{"itemIdentifier": "<messageId>"}, ...]}`.
    Sqs(SqsBatchResponse),
    /// `{"requeued": <tenants>}`.
    Scheduled { requeued: usize },
}

/// Runs tenant jobs through the tenant service.
#[derive(Clone)]
pub struct TenantWorker {
    tenants: Tenants,
}

impl TenantWorker {
    /// A worker over the tenant service.
    pub fn new(tenants: Tenants) -> Self {
        TenantWorker { tenants }
    }

    /// Handles either event shape.
    pub async fn handle_event(&self, event: WorkerEvent) -> Result<WorkerResponse> {
        match event {
            WorkerEvent::Sqs(batch) => Ok(WorkerResponse::Sqs(process_sqs_batch(batch, self).await)),
            WorkerEvent::Scheduled(event) if event.source == "aws.events" => Ok(WorkerResponse::Scheduled { requeued: self.tenants.sweep().await? }),
            WorkerEvent::Scheduled(event) => Err(Error::validation(format!("unexpected event source {:?}", event.source))),
        }
    }
}

#[async_trait]
impl JobHandler for TenantWorker {
    async fn handle(&self, body: &str) -> Result<()> {
        self.handle_delivery(body, 1).await
    }

    /// One delivery: provisioning learns whether it is the last one allowed.
    async fn handle_delivery(&self, body: &str, receive_count: u32) -> Result<()> {
        match Job::from_body(body)? {
            Job::ProvisionTenant { tenant_id } => self.tenants.provision(&parse_id(&tenant_id)?, receive_count).await,
            Job::NotifyTenant { tenant_id, status, run } => self.tenants.notify(&parse_id(&tenant_id)?, &status, run).await,
            other => Err(Error::validation(format!("not a tenant job: {other:?}"))),
        }
    }
}

/// The Lambda handler: `main` passes every invocation here.
pub async fn function_handler(worker: &TenantWorker, event: lambda_runtime::LambdaEvent<WorkerEvent>) -> std::result::Result<WorkerResponse, lambda_runtime::Error> {
    worker.handle_event(event.payload).await.map_err(|e| {
        tracing::error!(error = %e, "tenant worker failed");
        lambda_runtime::Error::from(e.to_string())
    })
}
