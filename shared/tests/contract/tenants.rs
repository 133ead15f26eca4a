//! `MacKey` and `TenantDatabases` (seed 003): MACs refuse any tampering, the confirm-token key
//! is a key of its own (apart from the deployment's MAC key, which seals cursors), and a
//! tenant database is a real, separate SQLite file or DynamoDB table that is created,
//! migrated, seeded and dropped idempotently. The `moto_*` tests here look at the DynamoDB
//! table, KMS key and SQS queue themselves.

use crate::backend::{Backend, Kind};
use aws_sdk_dynamodb::types::{AttributeValue, IndexStatus, KeyType, SseStatus};
use std::collections::HashMap;
use trustplane_core::adapters::local::SqliteTenantDatabases;
use trustplane_core::adapters::tenant_data::{seed_data, LATEST_SCHEMA_VERSION};
use trustplane_core::domain::{DbName, Plan};
use trustplane_core::ports::{TenantDbInfo, TenantTags};
use trustplane_core::Error;

const MESSAGE: &[u8] = b"tenant:acme:nonce-7f3a";

fn unique_db() -> DbName {
    let run = uuid::Uuid::new_v4().simple().to_string();
    DbName::parse(&format!("ecom_tenant_t{}", &run[..8])).expect("tenant database name")
}

fn tags(b: &Backend) -> TenantTags {
    TenantTags { tenant_id: uuid::Uuid::new_v4().to_string(), stack: b.config.stack_name.clone() }
}

fn dynamodb(b: &Backend) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(b.sdk.as_ref().expect("moto SDK configuration"))
}

/// Whether the database exists behind the port: the SQLite file, or the DynamoDB table.
async fn physically_exists(b: &Backend, db: &DbName) -> bool {
    match &b.kind {
        Kind::Sqlite { .. } => {
            let dbs = SqliteTenantDatabases::new(b.config.data_dir.join("tenants")).expect("tenant directory");
            dbs.path(db).exists()
        }
        Kind::Moto { .. } => match dynamodb(b).describe_table().table_name(db.as_str()).send().await {
            Ok(_) => true,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => false,
            Err(e) => panic!("DescribeTable {}: {e:?}", db.as_str()),
        },
    }
}

pub async fn mac_tags_verify_and_any_flipped_byte_is_refused(b: Backend) {
    let mac = &b.ports.mac;
    let tag = mac.mac(MESSAGE).await.expect("mac");
    assert_eq!(tag.len(), 32, "an HMAC-SHA256 tag is 32 bytes");
    assert!(mac.verify(MESSAGE, &tag).await.expect("verify"));
    for i in 0..MESSAGE.len() {
        let mut msg = MESSAGE.to_vec();
        msg[i] ^= 0x01;
        assert!(!mac.verify(&msg, &tag).await.expect("verify"), "message byte {i} flipped");
    }
    for i in 0..tag.len() {
        let mut forged = tag.clone();
        forged[i] ^= 0x80;
        assert!(!mac.verify(MESSAGE, &forged).await.expect("verify"), "tag byte {i} flipped");
    }
    assert!(!mac.verify(MESSAGE, b"").await.expect("verify an empty tag"));
    assert!(!mac.verify(MESSAGE, &tag[..31]).await.expect("verify a short tag"));

    let largest = vec![b'x'; 4096];
    let largest_tag = mac.mac(&largest).await.expect("mac of 4096 bytes");
    assert!(mac.verify(&largest, &largest_tag).await.expect("verify 4096 bytes"));
    let too_long = vec![b'x'; 4097];
    assert!(matches!(mac.mac(&too_long).await, Err(Error::Validation(_))), "4097 bytes is a validation error");
    assert!(!mac.verify(&too_long, &largest_tag).await.expect("verify 4097 bytes"));
}

pub async fn mac_of_the_same_message_is_stable_and_differs_per_message(b: Backend) {
    let mac = &b.ports.mac;
    let first = mac.mac(MESSAGE).await.expect("mac");
    assert_eq!(mac.mac(MESSAGE).await.expect("mac again"), first);
    let other = mac.mac(b"tenant:acme:nonce-7f3b").await.expect("mac of another message");
    assert_ne!(other, first);
    assert!(!mac.verify(MESSAGE, &other).await.expect("verify"));
    assert!(mac.verify(b"tenant:acme:nonce-7f3b", &other).await.expect("verify"));
}

pub async fn tenant_database_is_created_migrated_and_seeded_idempotently(b: Backend) {
    let (dbs, db, tags) = (&b.ports.tenant_dbs, unique_db(), tags(&b));
    dbs.create(&db, &tags).await.expect("create");
    dbs.create(&db, &tags).await.expect("create again");
    assert_eq!(dbs.inspect(&db).await.expect("inspect"), Some(TenantDbInfo::default()));

    assert_eq!(dbs.migrate(&db).await.expect("migrate"), LATEST_SCHEMA_VERSION);
    assert_eq!(LATEST_SCHEMA_VERSION, 2);
    assert_eq!(dbs.migrate(&db).await.expect("migrate again"), 2);
    dbs.seed(&db, Plan::Premium).await.expect("seed");
    dbs.seed(&db, Plan::Premium).await.expect("seed again");

    let seed = seed_data(Plan::Premium).expect("premium seed");
    let expected =
        TenantDbInfo { schema_version: 2, products: seed.products.len() as u64, settings: seed.settings.len() as u64 };
    assert_eq!(dbs.inspect(&db).await.expect("inspect"), Some(expected));
    dbs.drop_database(&db).await.expect("drop");
}

pub async fn migrate_and_seed_on_a_missing_database_are_not_found(b: Backend) {
    let (dbs, db) = (&b.ports.tenant_dbs, unique_db());
    let migrated = dbs.migrate(&db).await;
    assert!(matches!(migrated, Err(Error::NotFound(_))), "migrate: {migrated:?}");
    let seeded = dbs.seed(&db, Plan::Basic).await;
    assert!(matches!(seeded, Err(Error::NotFound(_))), "seed: {seeded:?}");
    assert_eq!(dbs.inspect(&db).await.expect("inspect"), None);
    assert!(!physically_exists(&b, &db).await, "a failed migrate or seed must not create the database");
}

pub async fn drop_removes_the_database_and_is_idempotent(b: Backend) {
    let (dbs, db) = (&b.ports.tenant_dbs, unique_db());
    dbs.create(&db, &tags(&b)).await.expect("create");
    dbs.migrate(&db).await.expect("migrate");
    dbs.seed(&db, Plan::Basic).await.expect("seed");
    assert!(physically_exists(&b, &db).await, "the database exists after create");

    dbs.drop_database(&db).await.expect("drop");
    assert_eq!(dbs.inspect(&db).await.expect("inspect"), None);
    assert!(!physically_exists(&b, &db).await, "the database is really gone");
    dbs.drop_database(&db).await.expect("drop again");
    dbs.drop_database(&unique_db()).await.expect("drop a database that never existed");
}

async fn migrated_premium_table(b: &Backend) -> (DbName, TenantTags) {
    let (dbs, db, tags) = (&b.ports.tenant_dbs, unique_db(), tags(b));
    dbs.create(&db, &tags).await.expect("create");
    dbs.migrate(&db).await.expect("migrate");
    dbs.seed(&db, Plan::Premium).await.expect("seed");
    (db, tags)
}

#[tokio::test(flavor = "multi_thread")]
async fn moto_tenant_table_has_sse_tags_and_the_category_index() {
    let b = Backend::moto().await;
    let (db, tags) = migrated_premium_table(&b).await;
    let client = dynamodb(&b);
    let out = client.describe_table().table_name(db.as_str()).send().await.expect("DescribeTable");
    let table = out.table().expect("table description");
    assert_eq!(table.sse_description().and_then(|d| d.status()), Some(&SseStatus::Enabled));
    let index = table.global_secondary_indexes().iter().find(|i| i.index_name() == Some("ByCategory"));
    let index = index.expect("GSI ByCategory");
    assert_eq!(index.index_status(), Some(&IndexStatus::Active));
    let keys: Vec<_> = index.key_schema().iter().map(|k| (k.attribute_name(), k.key_type().clone())).collect();
    assert_eq!(keys, [("category", KeyType::Hash), ("sku", KeyType::Range)]);

    let arn = table.table_arn().expect("table ARN");
    let listed = client.list_tags_of_resource().resource_arn(arn).send().await.expect("ListTagsOfResource");
    let found: HashMap<_, _> = listed.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(found.get("trustplane:tenant"), Some(&tags.tenant_id.as_str()));
    assert_eq!(found.get("trustplane:stack"), Some(&tags.stack.as_str()));
    b.ports.tenant_dbs.drop_database(&db).await.expect("drop");
}

#[tokio::test(flavor = "multi_thread")]
async fn moto_rerunning_migration_2_backfills_search_name_on_existing_products() {
    let b = Backend::moto().await;
    let (db, _) = migrated_premium_table(&b).await;
    let client = dynamodb(&b);
    let product = seed_data(Plan::Premium).expect("premium seed").products.remove(0);
    let key = HashMap::from([
        ("PK".to_owned(), AttributeValue::S(format!("PRODUCT#{}", product.sku))),
        ("SK".to_owned(), AttributeValue::S("PRODUCT".into())),
    ]);
    let meta = HashMap::from([
        ("PK".to_owned(), AttributeValue::S("META".into())),
        ("SK".to_owned(), AttributeValue::S("SCHEMA".into())),
    ]);
    let table = db.as_str();
    let cleared =
        client.update_item().table_name(table).set_key(Some(key.clone())).update_expression("REMOVE search_name");
    cleared.send().await.expect("remove search_name");
    client.delete_item().table_name(table).set_key(Some(meta)).send().await.expect("delete META");
    assert_eq!(b.ports.tenant_dbs.inspect(&db).await.expect("inspect").map(|i| i.schema_version), Some(0));

    assert_eq!(b.ports.tenant_dbs.migrate(&db).await.expect("migrate again"), 2);
    let item = client.get_item().table_name(table).set_key(Some(key)).consistent_read(true).send().await;
    let item = item.expect("GetItem").item.expect("the product");
    assert_eq!(item.get("search_name"), Some(&AttributeValue::S(product.name.to_lowercase())));

    let by_category = client
        .query()
        .table_name(table)
        .index_name("ByCategory")
        .key_condition_expression("category = :c")
        .expression_attribute_values(":c", AttributeValue::S(product.category.clone()))
        .send()
        .await
        .expect("Query ByCategory");
    let skus: Vec<_> = by_category.items().iter().filter_map(|i| i.get("sku")?.as_s().ok()).collect();
    assert!(skus.contains(&&product.sku), "{skus:?} lacks {}", product.sku);
    b.ports.tenant_dbs.drop_database(&db).await.expect("drop");
}

#[tokio::test(flavor = "multi_thread")]
async fn moto_bootstrap_creates_a_working_hmac_key_and_a_tenant_queue() {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    let b = Backend::moto().await;
    let sdk = b.sdk.as_ref().expect("moto SDK configuration");
    let tenants = &b.config.tenants;
    assert!(tenants.queue_url.ends_with(&format!("/{}-tenants", b.config.stack_name)), "{}", tenants.queue_url);
    assert!(!tenants.token_key_id.is_empty());

    let kms = aws_sdk_kms::Client::new(sdk);
    let alias = trustplane_core::adapters::aws::bootstrap::token_key_alias(&b.config);
    let described = kms.describe_key().key_id(&alias).send().await.expect("DescribeKey by alias");
    let key = described.key_metadata().expect("key metadata");
    assert_eq!(key.key_id(), tenants.token_key_id);
    assert_eq!(key.key_spec(), Some(&KeySpec::Hmac256));
    assert_eq!(key.key_usage(), Some(&KeyUsageType::GenerateVerifyMac));
    let tag = b.ports.token_key.mac(MESSAGE).await.expect("mac through the bootstrapped key");
    assert!(b.ports.token_key.verify(MESSAGE, &tag).await.expect("verify"));

    let mut again = b.config.clone();
    again.tenants.token_key_id.clear();
    let again = trustplane_core::adapters::aws::bootstrap::create_resources_with(sdk, &again).await.expect("rerun");
    assert_eq!(again.tenants.token_key_id, tenants.token_key_id, "a rerun reuses the aliased key");
    assert_eq!(again.tenants.queue_url, tenants.queue_url);

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let body = format!("tenant {}", uuid::Uuid::new_v4());
    sqs.send_message().queue_url(&tenants.queue_url).message_body(&body).send().await.expect("SendMessage");
    let received = sqs.receive_message().queue_url(&tenants.queue_url).wait_time_seconds(5).send().await;
    let received = received.expect("ReceiveMessage");
    let bodies: Vec<_> = received.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, [body.as_str()]);
}

/// A tag `from` made does not verify under `other`, and the reverse.
async fn keys_are_apart(from: &dyn trustplane_core::ports::MacKey, other: &dyn trustplane_core::ports::MacKey) {
    let tag = from.mac(MESSAGE).await.expect("mac");
    assert!(from.verify(MESSAGE, &tag).await.expect("verify"));
    assert!(!other.verify(MESSAGE, &tag).await.expect("verify under the other key"));
    let other_tag = other.mac(MESSAGE).await.expect("mac under the other key");
    assert_ne!(other_tag, tag);
    assert!(!from.verify(MESSAGE, &other_tag).await.expect("verify"));
}

/// Five items in one partition, paged two at a time: every cursor seals and opens.
async fn pages_with_cursors(store: &dyn trustplane_core::ports::Store) -> usize {
    use trustplane_core::ports::{Condition, Item, Query};
    let pk = format!("LIST#{}", uuid::Uuid::new_v4().simple());
    for n in 0..5 {
        store.put(Item::new(pk.clone(), format!("{n:03}"), serde_json::json!({ "n": n })), Condition::Absent).await.expect("put");
    }
    let (mut query, mut seen) = (Query { limit: 2, ..Query::partition(pk) }, 0);
    loop {
        let page = store.query(query.clone()).await.expect("query with a sealed cursor");
        seen += page.items.len();
        match page.cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return seen,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_the_confirm_token_key_file_is_apart_from_the_deployment_mac_key() {
    use std::os::unix::fs::PermissionsExt;
    let b = Backend::sqlite().await;
    keys_are_apart(b.ports.mac.as_ref(), b.ports.token_key.as_ref()).await;
    let (deployment, token) = (b.config.data_dir.join("deployment-mac.key"), b.config.data_dir.join("tenant-token.key"));
    for path in [&deployment, &token] {
        assert_eq!(std::fs::metadata(path).expect("key file").permissions().mode() & 0o777, 0o600, "{}", path.display());
    }
    assert_ne!(std::fs::read(&deployment).unwrap(), std::fs::read(&token).unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn moto_bootstrap_creates_a_deployment_mac_key_apart_from_the_token_key() {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    use trustplane_core::adapters::aws::bootstrap;
    let b = Backend::moto().await;
    let sdk = b.sdk.as_ref().expect("moto SDK configuration");
    let (mac_key_id, token_key_id) = (&b.config.mac_key_id, &b.config.tenants.token_key_id);
    assert!(!mac_key_id.is_empty() && mac_key_id != token_key_id, "two keys: {mac_key_id} / {token_key_id}");
    let kms = aws_sdk_kms::Client::new(sdk);
    let described = kms.describe_key().key_id(bootstrap::mac_key_alias(&b.config)).send().await.expect("DescribeKey by alias");
    let key = described.key_metadata().expect("key metadata");
    assert_eq!((key.key_id(), key.key_spec(), key.key_usage()), (mac_key_id.as_str(), Some(&KeySpec::Hmac256), Some(&KeyUsageType::GenerateVerifyMac)));
    keys_are_apart(b.ports.mac.as_ref(), b.ports.token_key.as_ref()).await;

    let mut again = b.config.clone();
    again.mac_key_id.clear();
    again.tenants.token_key_id.clear();
    let again = bootstrap::create_resources_with(sdk, &again).await.expect("rerun");
    assert_eq!((&again.mac_key_id, &again.tenants.token_key_id), (mac_key_id, token_key_id), "a rerun reuses both aliased keys");

    let mut other_function = b.config.clone();
    other_function.tenants.token_key_id.clear();
    let ports = trustplane_core::wiring::aws_ports_with(sdk, &other_function).expect("AWS adapters");
    assert_eq!(pages_with_cursors(ports.store.as_ref()).await, 5, "cursors seal without the token key");
    let refused = ports.token_key.mac(MESSAGE).await.expect_err("no token key configured");
    assert!(matches!(&refused, Error::Internal(m) if m.contains("TENANT_TOKEN_KEY_ID")), "{refused}");
}
