//! AWS adapters: DynamoDB ([`DynamoStore`]), KMS ([`KmsCustody`]), SQS ([`SqsQueue`]) and
//! S3 ([`S3Blobs`]), plus [`bootstrap`] to create the resources they use.

pub mod bootstrap;
mod calls;
mod dynamodb;
mod kms;
mod kms_mac;
mod s3;
mod sqs;
mod tenant_tables;

pub use calls::AwsCalls;
pub use dynamodb::DynamoStore;
pub use kms::{ca_key_policy, KmsCustody, KmsSign};
pub use kms_mac::KmsMac;
pub use tenant_tables::DynamoTenantDatabases;
pub use s3::S3Blobs;
pub use sqs::SqsQueue;

use crate::adapters::sealed_cursors::SealedCursors;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::ports::MacKey;
use crate::adapters::AdapterPorts;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::sync::Arc;

/// The SDK configuration as aws-config's default chain reads it from the environment
/// (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL` and the per-service endpoint variables).
pub async fn sdk_config() -> SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Loads the SDK config once (honours `AWS_ENDPOINT_URL`, `AWS_REGION` etc. from the env as
/// aws-config does) and builds every AWS adapter.
pub async fn ports(config: &Config) -> Result<AdapterPorts> {
    ports_with(&sdk_config().await, config)
}

/// Builds every AWS adapter from an explicit SDK configuration (tests, tools). S3 uses
/// path-style addressing when `config.s3_force_path_style` is set; the store's list cursors
/// are sealed under a key derived from the `DEPLOYMENT_MAC_KEY_ID` HMAC key, and confirm
/// tokens are MACed by the separate `TENANT_TOKEN_KEY_ID` key.
pub fn ports_with(sdk: &SdkConfig, config: &Config) -> Result<AdapterPorts> {
    ports_observed(sdk, config, None)
}

/// [`ports_with`] whose every SDK client counts its calls in `calls`.
pub fn ports_counted(sdk: &SdkConfig, config: &Config, calls: &AwsCalls) -> Result<AdapterPorts> {
    ports_observed(sdk, config, Some(calls))
}

fn ports_observed(sdk: &SdkConfig, config: &Config, calls: Option<&AwsCalls>) -> Result<AdapterPorts> {
    if sdk.region().is_none() {
        return Err(Error::internal("no AWS region configured (set AWS_REGION)"));
    }
    let s3 = aws_sdk_s3::config::Builder::from(sdk).force_path_style(config.s3_force_path_style);
    let s3 = calls.into_iter().fold(s3, |b, c| b.interceptor(c.clone())).build();
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(sdk);
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(calls.into_iter().fold(dynamodb, |b, c| b.interceptor(c.clone())).build());
    let kms = aws_sdk_kms::config::Builder::from(sdk);
    let kms = aws_sdk_kms::Client::from_conf(calls.into_iter().fold(kms, |b, c| b.interceptor(c.clone())).build());
    let sqs = aws_sdk_sqs::config::Builder::from(sdk);
    let sqs = aws_sdk_sqs::Client::from_conf(calls.into_iter().fold(sqs, |b, c| b.interceptor(c.clone())).build());
    let mac: Arc<dyn MacKey> = Arc::new(KmsMac::new(kms.clone(), config.mac_key_id.clone(), "DEPLOYMENT_MAC_KEY_ID"));
    let token_key = Arc::new(KmsMac::new(kms.clone(), config.tenants.token_key_id.clone(), "TENANT_TOKEN_KEY_ID"));
    let store = Arc::new(DynamoStore::new(dynamodb.clone(), config.table_name.clone()));
    Ok(AdapterPorts {
        store: Arc::new(SealedCursors::new(store, mac.clone())),
        custody: Arc::new(KmsCustody::new(kms.clone(), config.kms_alias_prefix.clone(), config.stack_name.clone())),
        queue: Arc::new(SqsQueue::new(sqs.clone(), config.job_queue_url.clone())),
        tenant_queue: Arc::new(SqsQueue::new(sqs.clone(), config.tenants.queue_url.clone())),
        device_queue: Arc::new(SqsQueue::new(sqs, config.device_queue_url.clone())),
        blobs: Arc::new(S3Blobs::new(aws_sdk_s3::Client::from_conf(s3), config.blob_bucket.clone())),
        mac,
        token_key,
        tenant_dbs: Arc::new(DynamoTenantDatabases::new(dynamodb)),
    })
}

/// Error codes AWS documents as throttling, contention with a concurrent transaction, or
/// transient server faults (retrying may help).
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "SlowDown",
    "TransactionInProgressException",
    "TransactionConflictException",
    "ReplicatedWriteConflictException",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "KMSInternalException",
    "DependencyTimeoutException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// Translates an SDK error of `operation` into the domain error: a failed DynamoDB condition
/// is `Conflict`; timeouts, network failures, throttling, a write refused for a transaction in
/// flight on its item and 5xx are `Unavailable`; anything else is `Internal`. Messages carry
/// the AWS error code and message, never a debug dump.
pub(crate) fn sdk_error<E>(operation: &str, err: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if matches!(err, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)) {
        return Error::Unavailable(format!("{operation}: {}", DisplayErrorContext(&err)));
    }
    let status = err.raw_response().map(|r| r.status().as_u16());
    let detail = match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{operation}: {code}: {message}"),
        (Some(code), None) => format!("{operation}: {code}"),
        _ => format!("{operation}: {}", DisplayErrorContext(&err)),
    };
    match err.code() {
        Some("ConditionalCheckFailedException") => Error::Conflict("store condition failed".into()),
        Some(code) if TRANSIENT_CODES.contains(&code) => Error::Unavailable(detail),
        _ if status.is_some_and(|s| s >= 500) => Error::Unavailable(detail),
        _ => Error::Internal(detail),
    }
}
