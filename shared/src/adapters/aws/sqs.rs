//! [`Queue`] on an SQS standard queue: the job workers' event source.

use super::sdk_error;
use crate::error::Result;
use crate::ports::Queue;
use async_trait::async_trait;
use aws_sdk_sqs::Client;

/// Sends job bodies to one SQS queue (SQS `SendMessage`).
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    /// A queue at `queue_url` (as returned by SQS `CreateQueue`/`GetQueueUrl`).
    pub fn new(client: Client, queue_url: String) -> Self {
        SqsQueue { client, queue_url }
    }
}

#[async_trait]
impl Queue for SqsQueue {
    /// SQS `SendMessage` of `body` as is.
    async fn send(&self, body: String) -> Result<()> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| sdk_error("SendMessage", e))?;
        Ok(())
    }
}
