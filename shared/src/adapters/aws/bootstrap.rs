//! Creates, idempotently, the AWS resources the adapters use outside CloudFormation: the
//! DynamoDB table, the S3 bucket and the SQS queue (tests against moto, `trustplane admin`).

use super::{sdk_config, sdk_error};
use crate::config::Config;
use crate::error::{Error, Result};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::client::Waiters as _;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_s3::operation::create_bucket::CreateBucketError;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use std::time::Duration;

/// How long to wait for a new table to become `ACTIVE`.
const TABLE_WAIT: Duration = Duration::from_secs(300);

/// Creates the resources of `config` with the SDK configuration from the environment;
/// returns `config` with `job_queue_url` filled in.
pub async fn create_resources(config: &Config) -> Result<Config> {
    create_resources_with(&sdk_config().await, config).await
}

/// [`create_resources`] with an explicit SDK configuration. The queue is named after the
/// last segment of `job_queue_url`, or `<stack_name>-jobs` when that is empty.
pub async fn create_resources_with(sdk: &SdkConfig, config: &Config) -> Result<Config> {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    create_table(&dynamodb, &config.table_name).await?;
    enable_ttl(&dynamodb, &config.table_name).await?;
    let s3_config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(config.s3_force_path_style).build();
    let region = sdk.region().map(|r| r.as_ref().to_owned());
    create_bucket(&aws_sdk_s3::Client::from_conf(s3_config), &config.blob_bucket, region.as_deref()).await?;
    let queue_name = match config.job_queue_url.rsplit('/').next() {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => format!("{}-jobs", config.stack_name),
    };
    let job_queue_url = create_queue(&aws_sdk_sqs::Client::new(sdk), &queue_name).await?;
    Ok(Config { job_queue_url, ..config.clone() })
}

fn key_element(name: &str, key_type: KeyType) -> Result<KeySchemaElement> {
    KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().map_err(Error::internal)
}

fn string_attribute(name: &str) -> Result<AttributeDefinition> {
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

/// SQS `CreateQueue` (idempotent for an existing queue with the same attributes); returns
/// the queue URL.
async fn create_queue(client: &aws_sdk_sqs::Client, name: &str) -> Result<String> {
    let out = client.create_queue().queue_name(name).send().await.map_err(|e| sdk_error("CreateQueue", e))?;
    out.queue_url().map(str::to_owned).ok_or_else(|| Error::internal("CreateQueue returned no queue URL"))
}
