//! Seed 003 end to end: the seed's own bash client, saved unchanged in `seed003/`, against a
//! real `trustplane serve --listen 127.0.0.1:5000`, on SQLite and on DynamoDB/SQS/KMS (moto);
//! the tenant database it leaves behind; and the seed's log lines from `serve`'s JSON logs.
//! The script's port is fixed, so the two runs take turns ([`PORT_5000`]).

mod common;

use aws_sdk_dynamodb::types::{IndexStatus, SseStatus, TableStatus};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use common::Server;
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};
use tenant_worker::TenantWorker;
use trustplane_core::adapters::local::SqliteTenantDatabases;
use trustplane_core::adapters::tenant_data::{seed_data, LATEST_SCHEMA_VERSION};
use trustplane_core::domain::{DbName, Plan};
use trustplane_core::jobs::JobHandler;
use trustplane_core::ports::{TenantDatabases, TenantDbInfo};
use trustplane_core::services::tenants::Tenants;
use trustplane_core::testkit::moto;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/seed003/provision-tenant.sh");

/// Held while a test's `serve` listens on the seed's port 5000.
static PORT_5000: Mutex<()> = Mutex::new(());

/// The script under `timeout`: it polls until `Active` or `Failed`, so a stalled worker would
/// otherwise hang the test.
fn run_seed_script() -> (bool, String) {
    let out = Command::new("timeout").args(["120", "bash", SCRIPT]).output().expect("timeout (coreutils) and bash");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Runs the script to `Active`, then again (the slug is taken); returns the provisioning id
/// it printed.
fn provision_acme() -> String {
    let (ok, output) = run_seed_script();
    assert!(ok, "the seed script failed:\n{output}");
    assert!(output.contains("Estado actual: Active"), "{output}");
    assert!(output.contains("\"dbName\": \"ecom_tenant_acme\""), "{output}");
    let id = output.lines().find_map(|l| l.strip_prefix("Provisioning ID: ")).expect("the script prints the provisioning id");
    let id = id.trim().to_owned();
    let (again, output) = run_seed_script();
    assert!(!again && output.contains("Error: No se pudo inicializar"), "a second run meets the taken slug:\n{output}");
    id
}

/// What the tenant database must hold after the script: the latest schema and the Premium seed.
fn migrated_and_seeded() -> TenantDbInfo {
    let seed = seed_data(Plan::Premium).unwrap();
    TenantDbInfo { schema_version: LATEST_SCHEMA_VERSION, products: seed.products.len() as u64, settings: seed.settings.len() as u64 }
}

#[test]
fn the_seeds_bash_script_provisions_acme_against_serve_and_every_seed_log_line_is_written() {
    let _port = PORT_5000.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_on(5000, dir.path(), &[("LOG_FORMAT", "json")]);
    let id = provision_acme();
    let logs = server.stop().stderr;
    let dbs = SqliteTenantDatabases::new(dir.path().join("tenants")).unwrap();
    let db = DbName::parse("ecom_tenant_acme").unwrap();
    assert!(dbs.path(&db).exists(), "the tenant database file exists");
    let info = tokio::runtime::Runtime::new().unwrap().block_on(dbs.inspect(&db)).unwrap();
    assert_eq!(info, Some(migrated_and_seeded()));
    let lines: Vec<serde_json::Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let find = |prefix: &str| lines.iter().find(|l| l["message"].as_str().is_some_and(|m| m.starts_with(prefix))).unwrap_or_else(|| panic!("no log line {prefix:?} in {logs}"));
    let init = find("Tenant provisioning initialized. TenantId: ");
    assert_eq!(init["TenantId"].as_str(), Some(id.as_str()));
    assert_eq!(init["message"], format!("Tenant provisioning initialized. TenantId: {id}, Slug: acme, Plan: Premium"));
    assert_eq!((init["Slug"].as_str(), init["Plan"].as_str(), init["level"].as_str()), (Some("acme"), Some("Premium"), Some("INFO")));
    let expected = [
        format!("Tenant provisioning confirmed and queued. TenantId: {id}, Slug: acme"),
        format!("Processing provisioning for tenant {id}"),
        format!("Creating database ecom_tenant_acme for tenant {id}"),
        format!("Database ecom_tenant_acme created for tenant {id}"),
        format!("Applying migrations to database ecom_tenant_acme for tenant {id}"),
        format!("Migrations applied to ecom_tenant_acme for tenant {id}"),
        format!("Seeding data for tenant {id} in database ecom_tenant_acme"),
        format!("Data seeded for tenant {id}"),
        format!("Provisioning completed successfully for tenant {id}"),
    ];
    for message in expected {
        let line = lines.iter().find(|l| l["message"] == message.as_str()).unwrap_or_else(|| panic!("no log line {message:?}"));
        assert_eq!(line["TenantId"].as_str(), Some(id.as_str()), "{message}: TenantId is a structured field");
    }
    assert_eq!(find("Creating database")["DbName"], "ecom_tenant_acme");
}

/// What Lambda's event source mapping does for the tenant worker: receive from the tenant
/// queue, delete what the worker handled, make the rest visible again at once.
async fn drain_tenant_queue(worker: TenantWorker, sqs: aws_sdk_sqs::Client, url: String) {
    loop {
        let receive = sqs.receive_message().queue_url(&url).max_number_of_messages(10).wait_time_seconds(1);
        let received = receive.message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount).send().await;
        let Ok(received) = received else {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            continue;
        };
        for m in received.messages() {
            let count = m.attributes().and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount));
            let count = count.and_then(|c| c.parse().ok()).unwrap_or(1);
            let handle = m.receipt_handle().unwrap_or_default();
            if worker.handle_delivery(m.body().unwrap_or_default(), count).await.is_ok() {
                let _ = sqs.delete_message().queue_url(&url).receipt_handle(handle).send().await;
            } else {
                let _ = sqs.change_message_visibility().queue_url(&url).receipt_handle(handle).visibility_timeout(0).send().await;
            }
        }
    }
}

/// `ecom_tenant_acme` as DynamoDB describes it: active, encrypted, with migration 2's index,
/// tagged with its tenant.
async fn assert_tenant_table(dynamodb: &aws_sdk_dynamodb::Client, id: &str) {
    let described = dynamodb.describe_table().table_name("ecom_tenant_acme").send().await.expect("DescribeTable ecom_tenant_acme");
    let table = described.table().expect("a table description");
    assert_eq!(table.table_status(), Some(&TableStatus::Active));
    assert_eq!(table.sse_description().and_then(|d| d.status()), Some(&SseStatus::Enabled));
    let index = table.global_secondary_indexes().iter().find(|i| i.index_name() == Some("ByCategory")).expect("migration 2's ByCategory index");
    assert_eq!(index.index_status(), Some(&IndexStatus::Active));
    let tags = dynamodb.list_tags_of_resource().resource_arn(table.table_arn().unwrap()).send().await.expect("ListTagsOfResource");
    let tenant = tags.tags().iter().find(|t| t.key() == "trustplane:tenant").map(|t| t.value());
    assert_eq!(tenant, Some(id));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seeds_bash_script_provisions_acme_against_serve_on_dynamodb_and_sqs() {
    let _port = PORT_5000.lock().unwrap_or_else(PoisonError::into_inner);
    let (config, sdk) = (moto::fresh_config().await, moto::sdk_config().await);
    let ports = trustplane_core::wiring::aws_ports_with(&sdk, &config).unwrap();
    let db = DbName::parse("ecom_tenant_acme").unwrap();
    ports.tenant_dbs.drop_database(&db).await.expect("no acme table left by an earlier run on this moto");
    let worker = TenantWorker::new(Tenants::new(&ports, Arc::new(config.clone())));
    let drain = tokio::spawn(drain_tenant_queue(worker, aws_sdk_sqs::Client::new(&sdk), config.tenants.queue_url.clone()));
    let dir = tempfile::tempdir().unwrap();
    let env = moto::lambda_env(&config);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = tokio::task::block_in_place(|| Server::start_on(5000, dir.path(), &env));
    let id = tokio::task::block_in_place(provision_acme);
    drain.abort();
    let stopped = server.stop();
    assert!(stopped.stderr.contains(&format!("Tenant provisioning confirmed and queued. TenantId: {id}, Slug: acme")), "{}", stopped.stderr);
    assert!(!dir.path().join("tenants").exists(), "serve kept no tenant database of its own");
    assert_tenant_table(&aws_sdk_dynamodb::Client::new(&sdk), &id).await;
    assert_eq!(ports.tenant_dbs.inspect(&db).await.unwrap(), Some(migrated_and_seeded()));
    ports.tenant_dbs.drop_database(&db).await.unwrap();
}
