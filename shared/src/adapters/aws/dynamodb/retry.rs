//! What a failed DynamoDB call means, and the adapter's bounded retry of calls that failed
//! only because of contention.
//!
//! The SDK's standard retry already repeats throttled and transient calls a few times (an
//! idempotency token makes its repeats of `TransactWriteItems` safe). It does not repeat a
//! transaction cancelled for a `TransactionConflict`, nor a write refused with
//! `TransactionConflictException`, and it gives up on lasting throttling. Those calls wrote
//! nothing, so the adapter repeats them with full-jitter exponential backoff, a bounded number
//! of times, before answering `Unavailable`.

use super::attrs::{text, WRITE_ID};
use crate::adapters::aws::sdk_error;
use crate::error::{Error, Result};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use std::future::Future;
use std::time::Duration;

/// Error codes of calls refused before they wrote anything because of contention.
const CONTENTION_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "ReplicatedWriteConflictException",
];

/// `CancellationReasons` codes of a transaction cancelled by contention alone.
const CONTENTION_REASONS: &[&str] = &["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"];

/// A failed call: its domain error, and whether the same call may succeed if tried again.
#[derive(Debug)]
pub(super) enum Failure {
    /// Refused for contention (throttling, a conflicting transaction): nothing was written.
    Contended(Error),
    /// Final for this call.
    Final(Error),
}

impl Failure {
    fn into_error(self) -> Error {
        match self {
            Failure::Contended(e) | Failure::Final(e) => e,
        }
    }
}

/// How often and how patiently contended calls are repeated.
#[derive(Clone, Copy, Debug)]
pub(super) struct Backoff {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The longest wait before the first retry; doubled for each further one.
    pub base: Duration,
    /// The longest wait before any retry.
    pub cap: Duration,
}

impl Backoff {
    /// The adapter's policy: four tries, waits drawn from 0..25 ms, 0..50 ms, 0..100 ms.
    pub const CONTENTION: Backoff =
        Backoff { attempts: 4, base: Duration::from_millis(25), cap: Duration::from_millis(400) };

    /// A random wait ("full jitter") before retry number `retry` (0 for the first).
    fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.base.saturating_mul(1 << retry.min(16)).min(self.cap);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::random_range(0..=millis))
    }
}

/// Runs `call` until it succeeds, fails finally, or has been contended `policy.attempts` times
/// (then its last error, an `Unavailable`, is the answer).
pub(super) async fn retrying<T, F, Fut>(policy: Backoff, mut call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, Failure>>,
{
    let mut retry = 0;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(Failure::Contended(_)) if retry + 1 < policy.attempts => {
                tokio::time::sleep(policy.delay(retry)).await;
                retry += 1;
            }
            Err(failure) => return Err(failure.into_error()),
        }
    }
}

/// The meaning of a failed `operation` call (see [`sdk_error`]), contended or final.
pub(super) fn classify<E>(operation: &str, err: SdkError<E>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let contended = err.code().is_some_and(|code| CONTENTION_CODES.contains(&code));
    let error = sdk_error(operation, err);
    if contended {
        Failure::Contended(error)
    } else {
        Failure::Final(error)
    }
}

/// A cancelled transaction is a `Conflict` when any of its conditions failed, contended when
/// only conflicts or throttling cancelled it, and an internal fault for any other reason
/// (DynamoDB `TransactionCanceledException`, `CancellationReasons`).
pub(super) fn classify_transaction(err: SdkError<TransactWriteItemsError>) -> Failure {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error() else {
        return classify("TransactWriteItems", err);
    };
    let reasons: Vec<&str> = cancelled.cancellation_reasons().iter().filter_map(|r| r.code()).filter(|c| *c != "None").collect();
    let detail = format!("TransactWriteItems cancelled: {}", reasons.join(", "));
    if reasons.contains(&"ConditionalCheckFailed") {
        Failure::Final(Error::Conflict("transaction condition failed".into()))
    } else if !reasons.is_empty() && reasons.iter().all(|r| CONTENTION_REASONS.contains(r)) {
        Failure::Contended(Error::Unavailable(detail))
    } else if !reasons.is_empty() {
        Failure::Final(Error::Internal(detail))
    } else {
        classify("TransactWriteItems", err)
    }
}

/// A failed conditional `PutItem` that wrote `write_id`: success after all when the item that
/// failed the condition (returned with `ReturnValuesOnConditionCheckFailure = ALL_OLD`) is
/// this call's own earlier write, whose response was lost and which the SDK then repeated.
pub(super) fn put_outcome(err: SdkError<PutItemError>, write_id: &str) -> std::result::Result<(), Failure> {
    if let Some(PutItemError::ConditionalCheckFailedException(failed)) = err.as_service_error() {
        if failed.item().and_then(|item| text(item, WRITE_ID)).as_deref() == Some(write_id) {
            return Ok(());
        }
    }
    Err(classify("PutItem", err))
}

#[cfg(test)]
mod tests;
