//! Every `events/tenant-worker/` fixture: in-process on SQLite and through the built bootstrap
//! under the Lambda Runtime Interface Emulator on moto. A provisioning message takes a
//! confirmed tenant to `Active`; a duplicate changes nothing; poison messages are reported as
//! batch item failures (so SQS retries, then dead-letters them); the schedule sweeps.

use serde_json::{json, Value};
use std::sync::Arc;
use tenant_worker::{TenantWorker, WorkerEvent};
use trustplane_core::config::Config;
use trustplane_core::domain::{Plan, Slug, TenantName};
use trustplane_core::services::tenants::{InitRequest, Tenants, TenantStatus};
use trustplane_core::testkit::{fixture_text, moto, rie::Rie};
use trustplane_core::wiring::Ports;

const FN: &str = "tenant-worker";

async fn confirmed_tenant(tenants: &Tenants) -> uuid::Uuid {
    let slug = format!("fx-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let request = InitRequest { name: TenantName::parse("Fixture Corp").unwrap(), slug: Slug::parse(&slug).unwrap(), plan: Plan::Basic, client_ip: "192.0.2.1".into() };
    let init = tenants.init(request).await.unwrap();
    tenants.confirm(&init.confirm_token).await.unwrap()
}

async fn replay_all<F, Fut>(tenants: &Tenants, invoke: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let id = confirmed_tenant(tenants).await.to_string();
    let ev = |name: &str| fixture_text(FN, name, &[("TENANT_ID", id.as_str()), ("MESSAGE_ID", "m-1")]);
    assert_eq!(invoke(ev("sqs-provision")).await, json!({ "batchItemFailures": [] }));
    let tenant_id = uuid::Uuid::parse_str(&id).unwrap();
    let active = tenants.status(&tenant_id).await.unwrap();
    assert_eq!(active.status, TenantStatus::Active);
    assert_eq!(invoke(ev("sqs-duplicate")).await, json!({ "batchItemFailures": [] }));
    assert_eq!(tenants.status(&tenant_id).await.unwrap(), active, "a duplicate delivery changes nothing");
    let poison = invoke(ev("sqs-poison")).await;
    let mut failed: Vec<&str> = poison["batchItemFailures"].as_array().unwrap().iter().map(|f| f["itemIdentifier"].as_str().unwrap()).collect();
    failed.sort();
    assert_eq!(failed, ["poison-1", "poison-3"], "unreadable jobs fail; a job for an unknown tenant is dropped");
    assert_eq!(invoke(ev("sqs-notify")).await, json!({ "batchItemFailures": [] }), "without a webhook a notification is dropped");
    assert_eq!(invoke(ev("scheduled-sweep")).await, json!({ "requeued": 0 }));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_is_handled_in_process_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = dir.path().to_path_buf();
    let (ports, _queue): (Ports, _) = trustplane_core::wiring::open(&config).await.unwrap();
    let tenants = Tenants::new(&ports, Arc::new(config));
    let worker = TenantWorker::new(tenants.clone());
    replay_all(&tenants, |event| {
        let worker = worker.clone();
        async move {
            let event: WorkerEvent = serde_json::from_str(&event).unwrap();
            serde_json::to_value(worker.handle_event(event).await.unwrap()).unwrap()
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_is_handled_through_the_lambda_emulator_on_moto() {
    let config = moto::fresh_config().await;
    let ports = trustplane_core::wiring::aws_ports_with(&moto::sdk_config().await, &config).unwrap();
    let tenants = Tenants::new(&ports, Arc::new(config.clone()));
    let rie = Arc::new(Rie::start("tenant-worker", &moto::lambda_env(&config)));
    replay_all(&tenants, |event| {
        let rie = rie.clone();
        async move { tokio::task::block_in_place(|| rie.invoke(&event)) }
    })
    .await;
}
