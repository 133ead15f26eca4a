//! [`Queue`] on an SQS standard queue: the job workers' event source.

use super::sdk_error;
use crate::error::{Error, Result};
use crate::ports::Queue;
use async_trait::async_trait;
use aws_sdk_sqs::types::{Message, QueueAttributeName};
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

/// Messages per `ReceiveMessage` while redriving (the SQS maximum).
const REDRIVE_BATCH: i32 = 10;
/// How long a received dead letter stays invisible while it is copied back.
const REDRIVE_VISIBILITY_SECONDS: i32 = 60;

impl SqsQueue {
    /// Moves every message of this queue's dead-letter queue (the `deadLetterTargetArn` of its
    /// `RedrivePolicy`) back to this queue: `ReceiveMessage` from the DLQ, `SendMessage` of the
    /// body here, then `DeleteMessage` from the DLQ, until the DLQ answers empty. Returns how
    /// many moved. (Not `StartMessageMoveTask`: moto, which the tests run on, lacks it.)
    pub async fn redrive(&self) -> Result<usize> {
        let dlq_url = self.dead_letter_queue_url().await?;
        let mut moved = 0;
        loop {
            let batch = self.receive_dead_letters(&dlq_url).await?;
            if batch.is_empty() {
                return Ok(moved);
            }
            for message in batch {
                self.move_back(&dlq_url, message).await?;
                moved += 1;
            }
        }
    }

    /// The URL of the queue this queue's `RedrivePolicy` dead-letters to.
    async fn dead_letter_queue_url(&self) -> Result<String> {
        let policy_attribute = QueueAttributeName::RedrivePolicy;
        let attributes = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(policy_attribute.clone())
            .send()
            .await
            .map_err(|e| sdk_error("GetQueueAttributes", e))?;
        let policy = attributes.attributes().and_then(|a| a.get(&policy_attribute));
        let name = policy.and_then(|p| dead_letter_queue_name(p)).ok_or_else(|| {
            Error::validation(format!("queue {} has no dead-letter queue in its RedrivePolicy", self.queue_url))
        })?;
        let url = self.client.get_queue_url().queue_name(name).send().await.map_err(|e| sdk_error("GetQueueUrl", e))?;
        url.queue_url.ok_or_else(|| Error::internal("GetQueueUrl returned no URL"))
    }

    async fn receive_dead_letters(&self, dlq_url: &str) -> Result<Vec<Message>> {
        let received = self
            .client
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(REDRIVE_BATCH)
            .visibility_timeout(REDRIVE_VISIBILITY_SECONDS)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| sdk_error("ReceiveMessage", e))?;
        Ok(received.messages.unwrap_or_default())
    }

    /// Sends `message`'s body to this queue, then deletes it from the DLQ (a crash in between
    /// leaves a duplicate, never a loss; job handlers are idempotent).
    async fn move_back(&self, dlq_url: &str, message: Message) -> Result<()> {
        let body = message.body.ok_or_else(|| Error::internal("dead letter without a body"))?;
        self.send(body).await?;
        let handle = message.receipt_handle.ok_or_else(|| Error::internal("dead letter without a receipt handle"))?;
        self.client
            .delete_message()
            .queue_url(dlq_url)
            .receipt_handle(handle)
            .send()
            .await
            .map_err(|e| sdk_error("DeleteMessage", e))?;
        Ok(())
    }
}

/// The queue name (last ARN segment) of a `RedrivePolicy`'s `deadLetterTargetArn`.
fn dead_letter_queue_name(policy: &str) -> Option<String> {
    let policy: serde_json::Value = serde_json::from_str(policy).ok()?;
    let arn = policy.get("deadLetterTargetArn")?.as_str()?;
    arn.rsplit(':').next().filter(|name| !name.is_empty()).map(str::to_owned)
}
