//! Creates, idempotently, the AWS resources the adapters use outside CloudFormation: the
//! DynamoDB table, the S3 bucket, the job, tenant and device SQS queues and two KMS HMAC keys,
//! the deployment's MAC key and the confirm-token key (tests against moto, `trustplane admin`);
//! and redrives their dead letters (`trustplane admin redrive`).

use super::{sdk_config, sdk_error};
use crate::config::{Config, TenantConfig};
use crate::error::{Error, Result};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::client::Waiters as _;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_kms::operation::create_alias::CreateAliasError;
use aws_sdk_kms::operation::describe_key::DescribeKeyError;
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use aws_sdk_s3::operation::create_bucket::CreateBucketError;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use std::time::Duration;

/// How long to wait for a new table to become `ACTIVE`.
const TABLE_WAIT: Duration = Duration::from_secs(300);

/// Creates the resources of `config` with the SDK configuration from the environment;
/// returns `config` with `job_queue_url`, `tenants.queue_url`, `device_queue_url`,
/// `mac_key_id` and `tenants.token_key_id` filled in.
pub async fn create_resources(config: &Config) -> Result<Config> {
    create_resources_with(&sdk_config().await, config).await
}

/// [`create_resources`] with an explicit SDK configuration. The job queue is named after the
/// last segment of `job_queue_url`, or `<stack_name>-jobs` when that is empty; the tenant
/// queue likewise after `tenants.queue_url`, or `<stack_name>-tenants`, and the device queue
/// after `device_queue_url`, or `<stack_name>-devices`. Without a `mac_key_id`, the key
/// aliased [`mac_key_alias`] is used, and without a `tenants.token_key_id` the key aliased
/// [`token_key_alias`], each created if needed: two distinct keys.
pub async fn create_resources_with(sdk: &SdkConfig, config: &Config) -> Result<Config> {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    create_table(&dynamodb, &config.table_name).await?;
    enable_ttl(&dynamodb, &config.table_name).await?;
    let s3_config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(config.s3_force_path_style).build();
    let region = sdk.region().map(|r| r.as_ref().to_owned());
    create_bucket(&aws_sdk_s3::Client::from_conf(s3_config), &config.blob_bucket, region.as_deref()).await?;
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let job_queue_url = create_queue(&sqs, &queue_name(&config.job_queue_url, &config.stack_name, "jobs")).await?;
    let tenant_queue = queue_name(&config.tenants.queue_url, &config.stack_name, "tenants");
    let queue_url = create_queue(&sqs, &tenant_queue).await?;
    let kms = aws_sdk_kms::Client::new(sdk);
    let mac_key_id = match config.mac_key_id.as_str() {
        "" => hmac_key(&kms, config, &mac_key_alias(config), "Trustplane deployment MAC key (list cursors, device secrets)").await?,
        key_id => key_id.to_owned(),
    };
    let token_key_id = match config.tenants.token_key_id.as_str() {
        "" => hmac_key(&kms, config, &token_key_alias(config), "Trustplane tenant confirm-token HMAC key").await?,
        key_id => key_id.to_owned(),
    };
    let tenants = TenantConfig { queue_url, token_key_id, ..config.tenants.clone() };
    let device_queue_url = create_queue(&sqs, &queue_name(&config.device_queue_url, &config.stack_name, "devices")).await?;
    Ok(Config { job_queue_url, tenants, device_queue_url, mac_key_id, ..config.clone() })
}

/// `trustplane admin redrive` on AWS, with the SDK configuration from the environment: moves
/// the dead letters of the job, tenant and device queues back to their queues.
pub async fn redrive_dead_letters(config: &Config) -> Result<Vec<(&'static str, usize)>> {
    redrive_dead_letters_with(&sdk_config().await, config).await
}

/// [`redrive_dead_letters`] with an explicit SDK configuration; queues whose URL is not
/// configured are skipped. Returns how many messages moved per queue (`jobs`, `tenants`,
/// `devices`).
pub async fn redrive_dead_letters_with(sdk: &SdkConfig, config: &Config) -> Result<Vec<(&'static str, usize)>> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let queues = [("jobs", &config.job_queue_url), ("tenants", &config.tenants.queue_url), ("devices", &config.device_queue_url)];
    let mut moved = Vec::new();
    for (queue, url) in queues.into_iter().filter(|(_, u)| !u.is_empty()) {
        moved.push((queue, super::SqsQueue::new(sqs.clone(), url.clone()).redrive().await?));
    }
    Ok(moved)
}

/// The alias of the stack's confirm-token key: `<kms_alias_prefix>-tenant-token`.
pub fn token_key_alias(config: &Config) -> String {
    format!("{}-tenant-token", config.kms_alias_prefix)
}

/// The alias of the stack's deployment MAC key: `<kms_alias_prefix>-deployment-mac`.
pub fn mac_key_alias(config: &Config) -> String {
    format!("{}-deployment-mac", config.kms_alias_prefix)
}

/// The last segment of `url`, or `<stack>-<suffix>` when `url` is empty.
fn queue_name(url: &str, stack: &str, suffix: &str) -> String {
    match url.rsplit('/').next() {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => format!("{stack}-{suffix}"),
    }
}

/// A DynamoDB key schema element.
pub(super) fn key_element(name: &str, key_type: KeyType) -> Result<KeySchemaElement> {
    KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().map_err(Error::internal)
}

/// A DynamoDB string attribute definition.
pub(super) fn string_attribute(name: &str) -> Result<AttributeDefinition> {
    let builder = AttributeDefinition::builder().attribute_name(name);
    builder.attribute_type(ScalarAttributeType::S).build().map_err(Error::internal)
}

/// DynamoDB `CreateTable`: `PK`/`SK` strings, GSI `GSI1` on `GSI1PK`/`GSI1SK` projecting
/// everything, on-demand billing; then waits until the table is `ACTIVE`.
async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<()> {
    let gsi1 = GlobalSecondaryIndex::builder()
        .index_name("GSI1")
        .key_schema(key_element("GSI1PK", KeyType::Hash)?)
        .key_schema(key_element("GSI1SK", KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(Error::internal)?;
    let mut request = client.create_table().table_name(table).billing_mode(BillingMode::PayPerRequest);
    for name in ["PK", "SK", "GSI1PK", "GSI1SK"] {
        request = request.attribute_definitions(string_attribute(name)?);
    }
    let created = request
        .key_schema(key_element("PK", KeyType::Hash)?)
        .key_schema(key_element("SK", KeyType::Range)?)
        .global_secondary_indexes(gsi1)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if matches!(e.as_service_error(), Some(CreateTableError::ResourceInUseException(_))) => {}
        Err(e) => return Err(sdk_error("CreateTable", e)),
    }
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(TABLE_WAIT)
        .await
        .map_err(|e| Error::Unavailable(format!("waiting for table {table}: {}", DisplayErrorContext(&e))))?;
    Ok(())
}

/// DynamoDB `UpdateTimeToLive` on attribute `ttl`, unless already enabled (a second enable
/// is a `ValidationException` on AWS).
async fn enable_ttl(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<()> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| sdk_error("DescribeTimeToLive", e))?;
    if let Some(ttl) = current.time_to_live_description() {
        let on = matches!(ttl.time_to_live_status(), Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling));
        if on && ttl.attribute_name() == Some("ttl") {
            return Ok(());
        }
    }
    let spec =
        TimeToLiveSpecification::builder().enabled(true).attribute_name("ttl").build().map_err(Error::internal)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| sdk_error("UpdateTimeToLive", e))?;
    Ok(())
}

/// S3 `CreateBucket` (with a `LocationConstraint` outside us-east-1); a bucket already
/// owned by this account is fine.
async fn create_bucket(client: &aws_sdk_s3::Client, bucket: &str, region: Option<&str>) -> Result<()> {
    let mut request = client.create_bucket().bucket(bucket);
    if let Some(region) = region.filter(|r| *r != "us-east-1") {
        let location = BucketLocationConstraint::from(region);
        request = request
            .create_bucket_configuration(CreateBucketConfiguration::builder().location_constraint(location).build());
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.as_service_error(), Some(CreateBucketError::BucketAlreadyOwnedByYou(_))) => Ok(()),
        Err(e) => Err(sdk_error("CreateBucket", e)),
    }
}

/// SQS `CreateQueue` of `name` and its dead-letter queue `<name>-dlq` (redrive after
/// [`MAX_RECEIVE_COUNT`] receives, as the template's queues); returns the queue URL.
async fn create_queue(client: &aws_sdk_sqs::Client, name: &str) -> Result<String> {
    let dlq_url = create_plain_queue(client, &format!("{name}-dlq"), None).await?;
    let arn_attribute = aws_sdk_sqs::types::QueueAttributeName::QueueArn;
    let attributes = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(arn_attribute.clone())
        .send()
        .await
        .map_err(|e| sdk_error("GetQueueAttributes", e))?;
    let dlq_arn = attributes.attributes().and_then(|a| a.get(&arn_attribute)).ok_or_else(|| Error::internal("no QueueArn for the DLQ"))?;
    let redrive = serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT }).to_string();
    create_plain_queue(client, name, Some(redrive)).await
}

/// Deliveries before SQS moves a message to the queue's DLQ (as `template.yaml` sets it).
pub const MAX_RECEIVE_COUNT: u32 = 5;

/// SQS `CreateQueue` with an optional `RedrivePolicy`; returns the queue URL.
async fn create_plain_queue(client: &aws_sdk_sqs::Client, name: &str, redrive: Option<String>) -> Result<String> {
    let mut request = client.create_queue().queue_name(name);
    if let Some(policy) = redrive {
        request = request.attributes(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy, policy);
    }
    let out = request.send().await.map_err(|e| sdk_error("CreateQueue", e))?;
    out.queue_url().map(str::to_owned).ok_or_else(|| Error::internal("CreateQueue returned no queue URL"))
}

/// The id of the key aliased `alias`; when there is none, KMS `CreateKey` (`HMAC_256`,
/// `GENERATE_VERIFY_MAC`, tagged `trustplane:stack`, described by `description`) and
/// `CreateAlias`. When another process wins the alias, the new key is scheduled for deletion
/// and theirs is used.
async fn hmac_key(client: &aws_sdk_kms::Client, config: &Config, alias: &str, description: &str) -> Result<String> {
    if let Some(key_id) = aliased_key(client, alias).await? {
        return Ok(key_id);
    }
    let stack_tag = aws_sdk_kms::types::Tag::builder().tag_key("trustplane:stack").tag_value(&config.stack_name);
    let out = client
        .create_key()
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .description(description)
        .tags(stack_tag.build().map_err(Error::internal)?)
        .send()
        .await
        .map_err(|e| sdk_error("CreateKey", e))?;
    let key_id = out.key_metadata().ok_or_else(|| Error::internal("CreateKey returned no key metadata"))?.key_id();
    match client.create_alias().alias_name(alias).target_key_id(key_id).send().await {
        Ok(_) => Ok(key_id.to_owned()),
        Err(e) if matches!(e.as_service_error(), Some(CreateAliasError::AlreadyExistsException(_))) => {
            let discarded = client.schedule_key_deletion().key_id(key_id).pending_window_in_days(7).send().await;
            if let Err(e) = discarded {
                tracing::warn!(key_id, error = %sdk_error("ScheduleKeyDeletion", e), "could not discard unaliased KMS key");
            }
            aliased_key(client, alias).await?.ok_or_else(|| Error::internal(format!("KMS alias {alias} vanished")))
        }
        Err(e) => Err(sdk_error("CreateAlias", e)),
    }
}

/// KMS `DescribeKey` of `alias`: the key id, or `None` when the alias does not exist.
async fn aliased_key(client: &aws_sdk_kms::Client, alias: &str) -> Result<Option<String>> {
    match client.describe_key().key_id(alias).send().await {
        Ok(out) => Ok(out.key_metadata().map(|m| m.key_id().to_owned())),
        Err(e) if matches!(e.as_service_error(), Some(DescribeKeyError::NotFoundException(_))) => Ok(None),
        Err(e) => Err(sdk_error("DescribeKey", e)),
    }
}
