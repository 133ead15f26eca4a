//! The adapter's reading of DynamoDB errors, on SDK error values built as the SDK's
//! deserialisers build them (code in the error metadata, reasons in the exception).

use super::*;
use crate::adapters::aws::dynamodb::attrs::s;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::ErrorMetadata;
use aws_sdk_dynamodb::types::error::{
    ConditionalCheckFailedException, ThrottlingException, TransactionCanceledException, TransactionConflictException,
};
use aws_sdk_dynamodb::types::CancellationReason;
use std::sync::atomic::{AtomicU32, Ordering};

fn response(status: u16) -> HttpResponse {
    HttpResponse::new(status.try_into().expect("status"), "{}".into())
}

fn meta(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message("from the service").build()
}

fn cancelled(reasons: &[&str]) -> SdkError<TransactWriteItemsError> {
    let mut exception = TransactionCanceledException::builder().message("cancelled").meta(meta("TransactionCanceledException"));
    for reason in reasons {
        exception = exception.cancellation_reasons(CancellationReason::builder().code(*reason).build());
    }
    SdkError::service_error(TransactWriteItemsError::TransactionCanceledException(exception.build()), response(400))
}

fn put_error(error: PutItemError) -> SdkError<PutItemError> {
    SdkError::service_error(error, response(400))
}

fn condition_failed(write_id: Option<&str>) -> SdkError<PutItemError> {
    let mut exception = ConditionalCheckFailedException::builder().message("failed").meta(meta("ConditionalCheckFailedException"));
    if let Some(id) = write_id {
        exception = exception.item("PK", s("A")).item(WRITE_ID, s(id));
    }
    put_error(PutItemError::ConditionalCheckFailedException(exception.build()))
}

#[test]
fn a_transaction_cancelled_for_a_transaction_conflict_is_contended_and_unavailable() {
    for reasons in [&["None", "TransactionConflict"][..], &["ThrottlingError", "None"], &["ProvisionedThroughputExceeded"]] {
        let failure = classify_transaction(cancelled(reasons));
        assert!(matches!(&failure, Failure::Contended(Error::Unavailable(_))), "{reasons:?}: {failure:?}");
    }
}

#[test]
fn a_failed_condition_makes_a_cancelled_transaction_a_conflict_even_beside_a_transaction_conflict() {
    let failure = classify_transaction(cancelled(&["TransactionConflict", "ConditionalCheckFailed"]));
    assert!(matches!(failure, Failure::Final(Error::Conflict(_))), "{failure:?}");
}

#[test]
fn a_transaction_cancelled_for_any_other_reason_is_an_internal_fault_not_retried() {
    for reasons in [&["ValidationError"][..], &["TransactionConflict", "ItemCollectionSizeLimitExceeded"]] {
        let failure = classify_transaction(cancelled(reasons));
        assert!(matches!(&failure, Failure::Final(Error::Internal(m)) if m.contains(reasons[reasons.len() - 1])), "{failure:?}");
    }
}

#[test]
fn a_write_refused_for_a_transaction_in_flight_or_throttled_is_contended_and_unavailable() {
    let conflict = TransactionConflictException::builder().meta(meta("TransactionConflictException")).build();
    let throttled = ThrottlingException::builder().meta(meta("ThrottlingException")).build();
    for error in [PutItemError::TransactionConflictException(conflict), PutItemError::ThrottlingException(throttled)] {
        let failure = classify("PutItem", put_error(error));
        assert!(matches!(&failure, Failure::Contended(Error::Unavailable(_))), "{failure:?}");
    }
}

#[test]
fn a_timed_out_call_is_unavailable_but_not_repeated_by_the_adapter() {
    let timeout: SdkError<PutItemError> = SdkError::timeout_error("no answer in time");
    assert!(matches!(classify("PutItem", timeout), Failure::Final(Error::Unavailable(_))));
}

#[test]
fn a_put_whose_condition_failed_on_its_own_earlier_write_succeeded() {
    assert!(put_outcome(condition_failed(Some("mine")), "mine").is_ok());
}

#[test]
fn a_put_whose_condition_failed_on_another_write_or_no_item_is_a_conflict() {
    for other in [Some("theirs"), None] {
        let outcome = put_outcome(condition_failed(other), "mine");
        assert!(matches!(outcome, Err(Failure::Final(Error::Conflict(_)))), "{other:?}: {outcome:?}");
    }
}

const QUICK: Backoff = Backoff { attempts: 4, base: Duration::ZERO, cap: Duration::ZERO };

async fn run(failures: u32, contended: bool) -> (Result<u32>, u32) {
    let calls = AtomicU32::new(0);
    let result = retrying(QUICK, || async {
        let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
        match call {
            n if n <= failures && contended => Err(Failure::Contended(Error::Unavailable(format!("busy {n}")))),
            n if n <= failures => Err(Failure::Final(Error::Conflict("taken".into()))),
            n => Ok(n),
        }
    })
    .await;
    (result, calls.load(Ordering::SeqCst))
}

#[tokio::test]
async fn contended_calls_are_repeated_until_they_succeed() {
    let (result, calls) = run(3, true).await;
    assert_eq!((result.unwrap(), calls), (4, 4));
}

#[tokio::test]
async fn lasting_contention_is_unavailable_after_the_bounded_number_of_tries() {
    let (result, calls) = run(u32::MAX, true).await;
    assert!(matches!(result, Err(Error::Unavailable(m)) if m == "busy 4"));
    assert_eq!(calls, 4);
}

#[tokio::test]
async fn final_failures_are_never_repeated() {
    let (result, calls) = run(1, false).await;
    assert!(matches!(result, Err(Error::Conflict(_))));
    assert_eq!(calls, 1);
}

#[test]
fn waits_are_jittered_below_a_doubling_ceiling_and_the_cap() {
    let policy = Backoff::CONTENTION;
    for retry in 0..40 {
        let ceiling = policy.base.saturating_mul(1 << retry.min(16)).min(policy.cap);
        assert!(policy.delay(retry) <= ceiling, "retry {retry}");
    }
    let waits: std::collections::HashSet<Duration> = (0..50).map(|_| policy.delay(3)).collect();
    assert!(waits.len() > 1, "the waits are not random");
}
