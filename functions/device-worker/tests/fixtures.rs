//! Every `events/device-worker/` fixture: in-process on SQLite and through the built
//! bootstrap under the Lambda Runtime Interface Emulator on moto. A provisioning message
//! takes a `provisioning` device to `provisioned` with one certificate; a duplicate (even two
//! in one batch) issues nothing more; poison messages are reported as batch item failures
//! (so SQS retries, then dead-letters them) and a job for an unknown session is dropped.

use device_worker::DeviceWorker;
use serde_json::{json, Value};
use std::sync::Arc;
use trustplane_core::config::Config;
use trustplane_core::domain::MacAddress;
use trustplane_core::services::default_issuer::ensure_default_hierarchy;
use trustplane_core::services::devices::gateway::DiscoveredDevice;
use trustplane_core::services::devices::records::DeviceState;
use trustplane_core::services::devices::sessions::StartSession;
use trustplane_core::services::devices::{allowlist, Devices};
use trustplane_core::services::pki::{Channel, Pki};
use trustplane_core::testkit::{fixture_text, moto, rie::Rie};
use trustplane_core::wiring::Ports;

const FN: &str = "device-worker";
const MAC: &str = "02:00:5E:00:00:2A";

/// A session with one allowlisted device in `provisioning` (attempt 1); the job is left
/// for the fixtures to deliver.
async fn provisioning_device(ports: &Ports, config: &Arc<Config>) -> String {
    ensure_default_hierarchy(&Pki::new(ports.clone(), config.clone()), config, ports.store.as_ref()).await.unwrap();
    let entry = allowlist::AllowlistEntry { mac: MacAddress::parse(MAC).unwrap(), description: None, container_id: None, added_at: trustplane_core::clock::now_rfc3339(), used: false, used_at: None };
    ports.store.put(entry.to_item(1).unwrap(), trustplane_core::ports::Condition::Absent).await.unwrap();
    let devices = Devices::new(ports, config.clone());
    let session = devices.start(StartSession { target_ssid: Some("DeliCasa-Prod".into()), ..StartSession::default() }).await.unwrap();
    let report = DiscoveredDevice { mac: MAC.into(), ip: "192.168.4.2".into(), rssi: -60, firmware_version: "1.0".into(), csr: None };
    devices.discover(&session.id, &[report]).await.unwrap();
    devices.provision(&session.id, &MacAddress::parse(MAC).unwrap()).await.unwrap();
    session.id
}

async fn replay_all<F, Fut>(ports: &Ports, config: &Arc<Config>, invoke: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let id = provisioning_device(ports, config).await;
    let devices = Devices::new(ports, config.clone());
    let ev = |name: &str| fixture_text(FN, name, &[("SESSION_ID", id.as_str()), ("MAC", MAC), ("MESSAGE_ID", "m-1")]);
    assert_eq!(invoke(ev("sqs-provision")).await, json!({ "batchItemFailures": [] }));
    let view = devices.view(&id).await.unwrap();
    assert_eq!(view.devices[0].state, DeviceState::Provisioned);
    assert_eq!(view.session.provisioned_count, 1);
    assert_eq!(invoke(ev("sqs-duplicate")).await, json!({ "batchItemFailures": [] }));
    let certs = Pki::new(ports.clone(), config.clone()).certificates_named(Channel::Device, MAC).await.unwrap();
    assert_eq!(certs.len(), 1, "duplicates issue nothing more");
    assert_eq!(devices.view(&id).await.unwrap().session.provisioned_count, 1);
    let poison = invoke(ev("sqs-poison")).await;
    let mut failed: Vec<&str> = poison["batchItemFailures"].as_array().unwrap().iter().map(|f| f["itemIdentifier"].as_str().unwrap()).collect();
    failed.sort();
    assert_eq!(failed, ["poison-1", "poison-3", "poison-4"], "unreadable and foreign jobs fail; a job for an unknown session is dropped");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_is_handled_in_process_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = dir.path().to_path_buf();
    let (ports, _queue): (Ports, _) = trustplane_core::wiring::open(&config).await.unwrap();
    let config = Arc::new(config);
    let worker = DeviceWorker::new(Devices::new(&ports, config.clone()));
    replay_all(&ports, &config, |event| {
        let worker = worker.clone();
        async move {
            let event = serde_json::from_str(&event).unwrap();
            serde_json::to_value(worker.handle_event(event).await).unwrap()
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_is_handled_through_the_lambda_emulator_on_moto() {
    let config = moto::fresh_config().await;
    let ports = trustplane_core::wiring::aws_ports_with(&moto::sdk_config().await, &config).unwrap();
    let rie = Arc::new(Rie::start("device-worker", &moto::lambda_env(&config)));
    replay_all(&ports, &Arc::new(config), |event| {
        let rie = rie.clone();
        async move { tokio::task::block_in_place(|| rie.invoke(&event)) }
    })
    .await;
}
