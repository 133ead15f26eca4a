//! [`TenantDatabases`] as one DynamoDB table per tenant, named exactly after the database
//! (`ecom_tenant_<slug>`): `PK`/`SK` strings, on-demand, encrypted at rest, tagged.
//!
//! Layout: products are `PK=PRODUCT#<sku>`, `SK=PRODUCT` (`sku`, `name`, `category`,
//! `price_cents`, `stock`, `search_name`); settings are `PK=SETTING#<key>`, `SK=SETTING`
//! (`key`, `value`); the schema version is `PK=META`, `SK=SCHEMA`, `version` (N). Migration 1
//! records that layout; migration 2 adds the `ByCategory` GSI (`category`, `sku`) and backfills
//! `search_name = lowercase(name)` on every product.

use super::bootstrap::{key_element, string_attribute};
use super::sdk_error;
use crate::adapters::tenant_data::{seed_data, Product, LATEST_SCHEMA_VERSION};
use crate::domain::{DbName, Plan};
use crate::error::{Error, Result};
use crate::ports::{TenantDatabases, TenantDbInfo, TenantTags};
use async_trait::async_trait;
use aws_sdk_dynamodb::client::Waiters as _;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::operation::delete_table::DeleteTableError;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndexDescription,
    GlobalSecondaryIndexUpdate, IndexStatus, KeyType, Projection, ProjectionType, PutRequest, SseSpecification,
    TableDescription, TableStatus, Tag, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::{Duration, Instant};

type Attrs = HashMap<String, AttributeValue>;

/// How long to wait for a tenant table to become `ACTIVE`, or to disappear.
const TABLE_WAIT: Duration = Duration::from_secs(300);
/// How long one `migrate` waits for the `ByCategory` index to finish backfilling; a later
/// (redelivered) `migrate` resumes the wait.
const INDEX_WAIT: Duration = Duration::from_secs(600);
/// The longest pause between two polls or two `BatchWriteItem` retries.
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// `BatchWriteItem` takes at most 25 requests.
const BATCH_SIZE: usize = 25;
/// Rounds of `UnprocessedItems` retries before giving up as `Unavailable`.
const BATCH_ATTEMPTS: u32 = 8;

const CATEGORY_INDEX: &str = "ByCategory";
const META_PK: &str = "META";
const META_SK: &str = "SCHEMA";
const PRODUCT_PREFIX: &str = "PRODUCT#";
const PRODUCT_SK: &str = "PRODUCT";
const SETTING_PREFIX: &str = "SETTING#";
const SETTING_SK: &str = "SETTING";

/// One DynamoDB table per tenant; the schema version lives in the table itself.
#[derive(Clone, Debug)]
pub struct DynamoTenantDatabases {
    client: Client,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: &str, sk: &str) -> Attrs {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

fn tag(key: &str, value: &str) -> Result<Tag> {
    Tag::builder().key(key).value(value).build().map_err(Error::internal)
}

/// [`sdk_error`], except that a missing table is `NotFound`.
fn table_error<E>(db: &DbName, operation: &str, err: SdkError<E>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err.code() {
        Some("ResourceNotFoundException") => Error::NotFound(format!("tenant database {}", db.as_str())),
        _ => sdk_error(operation, err),
    }
}

fn waiter_error(what: &str, db: &DbName, err: impl std::error::Error) -> Error {
    Error::Unavailable(format!("waiting for tenant table {} {what}: {}", db.as_str(), DisplayErrorContext(&err)))
}

fn product_item(p: &Product) -> Attrs {
    let mut item = key(&format!("{PRODUCT_PREFIX}{}", p.sku), PRODUCT_SK);
    item.extend([
        ("sku".to_owned(), s(&p.sku)),
        ("name".to_owned(), s(&p.name)),
        ("category".to_owned(), s(&p.category)),
        ("price_cents".to_owned(), n(p.price_cents)),
        ("stock".to_owned(), n(p.stock)),
        ("search_name".to_owned(), s(p.name.to_lowercase())),
    ]);
    item
}

fn setting_item(name: &str, value: &str) -> Attrs {
    let mut item = key(&format!("{SETTING_PREFIX}{name}"), SETTING_SK);
    item.extend([("key".to_owned(), s(name)), ("value".to_owned(), s(value))]);
    item
}

fn category_index(table: &TableDescription) -> Option<&GlobalSecondaryIndexDescription> {
    table.global_secondary_indexes().iter().find(|i| i.index_name() == Some(CATEGORY_INDEX))
}

fn create_category_index() -> Result<GlobalSecondaryIndexUpdate> {
    let create = CreateGlobalSecondaryIndexAction::builder()
        .index_name(CATEGORY_INDEX)
        .key_schema(key_element("category", KeyType::Hash)?)
        .key_schema(key_element("sku", KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(Error::internal)?;
    Ok(GlobalSecondaryIndexUpdate::builder().create(create).build())
}

impl DynamoTenantDatabases {
    /// Tenant tables through `client`.
    pub fn new(client: Client) -> Self {
        DynamoTenantDatabases { client }
    }

    async fn describe(&self, db: &DbName) -> Result<TableDescription> {
        let out = self.client.describe_table().table_name(db.as_str()).send().await;
        let out = out.map_err(|e| table_error(db, "DescribeTable", e))?;
        out.table.ok_or_else(|| Error::internal("DescribeTable returned no table"))
    }

    /// The recorded schema version (0 without a `META` item); `NotFound` without the table.
    async fn schema_version(&self, db: &DbName) -> Result<u32> {
        let out = self
            .client
            .get_item()
            .table_name(db.as_str())
            .set_key(Some(key(META_PK, META_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| table_error(db, "GetItem", e))?;
        match out.item().and_then(|item| item.get("version")) {
            None => Ok(0),
            Some(AttributeValue::N(v)) => v.parse().map_err(|_| Error::internal(format!("bad schema version {v:?}"))),
            Some(_) => Err(Error::internal(format!("schema version of {} is not a number", db.as_str()))),
        }
    }

    /// Moves the recorded version from `from` to `to`, on condition that it still is `from`;
    /// returns the version now recorded (higher when another worker got there first).
    async fn record_version(&self, db: &DbName, from: u32, to: u32) -> Result<u32> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let request = self
            .client
            .update_item()
            .table_name(db.as_str())
            .set_key(Some(key(META_PK, META_SK)))
            .update_expression("SET #v = :to, applied_at = :now")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":to", n(to))
            .expression_attribute_values(":now", n(now));
        let request = match from {
            0 => request.condition_expression("attribute_not_exists(#v)"),
            _ => request.condition_expression("#v = :from").expression_attribute_values(":from", n(from)),
        };
        match request.send().await.map_err(|e| table_error(db, "UpdateItem", e)) {
            Ok(_) => Ok(to),
            Err(Error::Conflict(_)) => match self.schema_version(db).await? {
                current if current >= to => Ok(current),
                current => Err(Error::Conflict(format!("schema of {} is at {current}, not {from}", db.as_str()))),
            },
            Err(e) => Err(e),
        }
    }

    async fn apply_migration(&self, db: &DbName, version: u32) -> Result<()> {
        match version {
            1 => Ok(()),
            2 => {
                self.add_category_index(db).await?;
                self.backfill_search_names(db).await
            }
            other => Err(Error::internal(format!("no DynamoDB tenant migration {other}"))),
        }
    }

    /// `UpdateTable` adding `ByCategory` unless present (a failure is fine when a concurrent
    /// `migrate` added it), then waits until it is `ACTIVE`.
    async fn add_category_index(&self, db: &DbName) -> Result<()> {
        if category_index(&self.describe(db).await?).is_none() {
            let updated = self
                .client
                .update_table()
                .table_name(db.as_str())
                .attribute_definitions(string_attribute("PK")?)
                .attribute_definitions(string_attribute("SK")?)
                .attribute_definitions(string_attribute("category")?)
                .attribute_definitions(string_attribute("sku")?)
                .global_secondary_index_updates(create_category_index()?)
                .send()
                .await;
            if let Err(e) = updated {
                if category_index(&self.describe(db).await?).is_none() {
                    return Err(match e.code() {
                        Some("ResourceInUseException" | "LimitExceededException") => {
                            Error::Unavailable(format!("tenant table {} is busy updating", db.as_str()))
                        }
                        _ => table_error(db, "UpdateTable", e),
                    });
                }
            }
        }
        self.wait_for_category_index(db).await
    }

    async fn wait_for_category_index(&self, db: &DbName) -> Result<()> {
        let deadline = Instant::now() + INDEX_WAIT;
        let mut pause = Duration::from_millis(200);
        loop {
            let table = self.describe(db).await?;
            match category_index(&table).map(|index| index.index_status()) {
                Some(Some(IndexStatus::Active)) => return Ok(()),
                None => return Err(Error::internal(format!("index {CATEGORY_INDEX} of {} vanished", db.as_str()))),
                Some(_) if Instant::now() >= deadline => {
                    return Err(Error::Unavailable(format!(
                        "index {CATEGORY_INDEX} of {} is not active yet",
                        db.as_str()
                    )))
                }
                Some(_) => {}
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    /// Sets `search_name = lowercase(name)` on every product, as a paginated scan finds them.
    async fn backfill_search_names(&self, db: &DbName) -> Result<()> {
        let mut products = self
            .client
            .scan()
            .table_name(db.as_str())
            .consistent_read(true)
            .filter_expression("begins_with(PK, :product)")
            .projection_expression("PK, SK, #name")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":product", s(PRODUCT_PREFIX))
            .into_paginator()
            .items()
            .send();
        while let Some(item) = products.try_next().await.map_err(|e| table_error(db, "Scan", e))? {
            self.set_search_name(db, &item).await?;
        }
        Ok(())
    }

    async fn set_search_name(&self, db: &DbName, item: &Attrs) -> Result<()> {
        let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk)), Some(AttributeValue::S(name))) =
            (item.get("PK"), item.get("SK"), item.get("name"))
        else {
            tracing::warn!(db = db.as_str(), "skipping a product without a string PK, SK or name");
            return Ok(());
        };
        let updated = self
            .client
            .update_item()
            .table_name(db.as_str())
            .set_key(Some(key(pk, sk)))
            .update_expression("SET search_name = :search")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":search", s(name.to_lowercase()))
            .send()
            .await;
        match updated.map_err(|e| table_error(db, "UpdateItem", e)) {
            Ok(_) | Err(Error::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `BatchWriteItem` of up to 25 puts, retrying `UnprocessedItems` with a growing pause.
    async fn write_batch(&self, db: &DbName, mut requests: Vec<WriteRequest>) -> Result<()> {
        let mut pause = Duration::from_millis(50);
        for _ in 0..BATCH_ATTEMPTS {
            let out = self
                .client
                .batch_write_item()
                .request_items(db.as_str(), requests)
                .send()
                .await
                .map_err(|e| table_error(db, "BatchWriteItem", e))?;
            requests = out.unprocessed_items.and_then(|mut left| left.remove(db.as_str())).unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
        Err(Error::Unavailable(format!("BatchWriteItem on {}: items left unprocessed", db.as_str())))
    }

    /// Counts products and settings with a consistent, keys-only scan.
    async fn count_rows(&self, db: &DbName) -> Result<(u64, u64)> {
        let scan = self.client.scan().table_name(db.as_str()).consistent_read(true).projection_expression("PK");
        let mut items = scan.into_paginator().items().send();
        let (mut products, mut settings) = (0, 0);
        while let Some(item) = items.try_next().await.map_err(|e| table_error(db, "Scan", e))? {
            let pk = item.get("PK").and_then(|pk| pk.as_s().ok()).map_or("", String::as_str);
            products += u64::from(pk.starts_with(PRODUCT_PREFIX));
            settings += u64::from(pk.starts_with(SETTING_PREFIX));
        }
        Ok((products, settings))
    }
}

#[async_trait]
impl TenantDatabases for DynamoTenantDatabases {
    /// `CreateTable` (an existing table is fine), then waits until it is `ACTIVE`.
    async fn create(&self, db: &DbName, tags: &TenantTags) -> Result<()> {
        let created = self
            .client
            .create_table()
            .table_name(db.as_str())
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(string_attribute("PK")?)
            .attribute_definitions(string_attribute("SK")?)
            .key_schema(key_element("PK", KeyType::Hash)?)
            .key_schema(key_element("SK", KeyType::Range)?)
            .sse_specification(SseSpecification::builder().enabled(true).build())
            .tags(tag("trustplane:tenant", &tags.tenant_id)?)
            .tags(tag("trustplane:stack", &tags.stack)?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if matches!(e.as_service_error(), Some(CreateTableError::ResourceInUseException(_))) => {}
            Err(e) => return Err(sdk_error("CreateTable", e)),
        }
        let waiter = self.client.wait_until_table_exists().table_name(db.as_str());
        waiter.wait(TABLE_WAIT).await.map_err(|e| waiter_error("to become active", db, e))?;
        Ok(())
    }

    /// Applies the migrations after the recorded version, recording each as it completes.
    async fn migrate(&self, db: &DbName) -> Result<u32> {
        let mut version = self.schema_version(db).await?;
        while version < LATEST_SCHEMA_VERSION {
            self.apply_migration(db, version + 1).await?;
            version = self.record_version(db, version, version + 1).await?;
        }
        Ok(version)
    }

    /// Puts the plan's products and settings, 25 to a `BatchWriteItem`.
    async fn seed(&self, db: &DbName, plan: Plan) -> Result<()> {
        let seed = seed_data(plan)?;
        let products = seed.products.iter().map(product_item);
        let items: Vec<Attrs> = products.chain(seed.settings.iter().map(|(k, v)| setting_item(k, v))).collect();
        for chunk in items.chunks(BATCH_SIZE) {
            let requests = chunk
                .iter()
                .map(|item| PutRequest::builder().set_item(Some(item.clone())).build())
                .map(|put| put.map(|p| WriteRequest::builder().put_request(p).build()).map_err(Error::internal))
                .collect::<Result<Vec<_>>>()?;
            self.write_batch(db, requests).await?;
        }
        Ok(())
    }

    /// `DeleteTable`, then waits until the table is gone. A table still being created or
    /// updated is `Unavailable` (retry later).
    async fn drop_database(&self, db: &DbName) -> Result<()> {
        match self.client.delete_table().table_name(db.as_str()).send().await {
            Ok(_) => {}
            Err(e) if matches!(e.as_service_error(), Some(DeleteTableError::ResourceNotFoundException(_))) => {
                return Ok(())
            }
            Err(e) if matches!(e.as_service_error(), Some(DeleteTableError::ResourceInUseException(_))) => {
                match self.describe(db).await {
                    Err(Error::NotFound(_)) => return Ok(()),
                    Ok(table) if table.table_status() == Some(&TableStatus::Deleting) => {}
                    Ok(_) => return Err(Error::Unavailable(format!("tenant table {} is busy", db.as_str()))),
                    Err(other) => return Err(other),
                }
            }
            Err(e) => return Err(sdk_error("DeleteTable", e)),
        }
        let waiter = self.client.wait_until_table_not_exists().table_name(db.as_str());
        waiter.wait(TABLE_WAIT).await.map_err(|e| waiter_error("to be deleted", db, e))?;
        Ok(())
    }

    /// The recorded schema version and the product and setting counts; `None` without a table.
    async fn inspect(&self, db: &DbName) -> Result<Option<TenantDbInfo>> {
        let counted = async { Ok::<_, Error>((self.schema_version(db).await?, self.count_rows(db).await?)) };
        match counted.await {
            Ok((schema_version, (products, settings))) => Ok(Some(TenantDbInfo { schema_version, products, settings })),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
