//! The device provisioning worker (seed 002, issue 10 "Provisioning a device"). Triggered by
//! the device queue: bodies are [`Job::ProvisionDevice`]; failed message ids are reported for
//! `ReportBatchItemFailures`, so only they are redelivered, and after `maxReceiveCount`
//! (`DEVICE_MAX_RECEIVES`) they go to the DLQ. `trustplane serve` drains its in-process
//! queue through the same [`DeviceWorker`].

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use trustplane_core::jobs::{process_sqs_batch, Job, JobHandler};
use trustplane_core::services::devices::Devices;
use trustplane_core::{Error, Result};

/// Runs device jobs through the device service.
#[derive(Clone)]
pub struct DeviceWorker {
    devices: Devices,
}

impl DeviceWorker {
    /// A worker over the device service.
    pub fn new(devices: Devices) -> Self {
        DeviceWorker { devices }
    }

    /// One SQS batch: `{"batchItemFailures": [{"itemIdentifier": "<messageId>"}, ...]}`.
    pub async fn handle_event(&self, event: SqsEvent) -> SqsBatchResponse {
        process_sqs_batch(event, self).await
    }
}

#[async_trait]
impl JobHandler for DeviceWorker {
    async fn handle(&self, body: &str) -> Result<()> {
        self.handle_delivery(body, 1).await
    }

    /// One delivery: the issuance learns whether it is the last one allowed.
    async fn handle_delivery(&self, body: &str, receive_count: u32) -> Result<()> {
        match Job::from_body(body)? {
            Job::ProvisionDevice { session_id, mac, attempt } => self.devices.provision_job(&session_id, &mac, attempt, receive_count).await,
            other => Err(Error::validation(format!("not a device job: {other:?}"))),
        }
    }
}

/// The Lambda handler: `main` passes every invocation here.
pub async fn function_handler(worker: &DeviceWorker, event: lambda_runtime::LambdaEvent<SqsEvent>) -> std::result::Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(worker.handle_event(event.payload).await)
}
