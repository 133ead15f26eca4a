//! Device issuance under DynamoDB's faults (`testkit::faults::FaultyStore`) on SQLite and on
//! DynamoDB (moto): cancelled transactions and writes whose success answer is lost still give
//! one certificate per device and exact session counts, deliveries being repeated as SQS
//! would. Its own test binary: the faults count as backend failures for the process-wide
//! breaker, which is set here not to open.

use device_worker::DeviceWorker;
use std::sync::Arc;
use trustplane_core::config::Config;
use trustplane_core::domain::MacAddress;
use trustplane_core::jobs::{Job, JobHandler};
use trustplane_core::services::default_issuer::ensure_default_hierarchy;
use trustplane_core::services::devices::gateway::DiscoveredDevice;
use trustplane_core::services::devices::records::DeviceState;
use trustplane_core::services::devices::sessions::StartSession;
use trustplane_core::services::devices::{allowlist, Devices};
use trustplane_core::services::pki::{Channel, Pki};
use trustplane_core::testkit::faults::FaultyStore;
use trustplane_core::testkit::moto;
use trustplane_core::wiring::Ports;

fn mac(i: usize) -> MacAddress {
    MacAddress::parse(&format!("02:00:5E:00:02:{i:02X}")).unwrap()
}

fn quiet_breaker(config: &mut Config) {
    config.devices_guard.breaker_failures = 1000;
}

async fn ten_devices_survive_cancelled_transactions_and_lost_answers(ports: Ports, config: Arc<Config>) {
    ensure_default_hierarchy(&Pki::new(ports.clone(), config.clone()), &config, ports.store.as_ref()).await.unwrap();
    let devices = Devices::new(&ports, config.clone());
    let session = devices.start(StartSession { target_ssid: Some("Net".into()), ..StartSession::default() }).await.unwrap();
    let reports: Vec<_> = (0..10).map(|i| DiscoveredDevice { mac: mac(i).to_string(), ip: "10.0.0.2".into(), rssi: -50, firmware_version: "1".into(), csr: None }).collect();
    devices.discover(&session.id, &reports).await.unwrap();
    for i in 0..10 {
        let entry = allowlist::AllowlistEntry { mac: mac(i), description: None, container_id: None, added_at: trustplane_core::clock::now_rfc3339(), used: false, used_at: None };
        ports.store.put(entry.to_item(1).unwrap(), trustplane_core::ports::Condition::Absent).await.unwrap();
        devices.provision(&session.id, &mac(i)).await.unwrap();
    }
    let (faulty_ports, faults) = FaultyStore::install(&ports);
    let worker = Arc::new(DeviceWorker::new(Devices::new(&faulty_ports, config.clone())));
    faults.conflict_transactions(15);
    faults.lose_successes(8);
    let runs: Vec<_> = (0..10)
        .map(|i| {
            let worker = worker.clone();
            let job = serde_json::to_string(&Job::ProvisionDevice { session_id: session.id.clone(), mac: mac(i).to_string(), attempt: 1 }).unwrap();
            tokio::spawn(async move {
                for receive in 1..=5 {
                    if worker.handle_delivery(&job, receive).await.is_ok() {
                        return;
                    }
                }
            })
        })
        .collect();
    for run in runs {
        run.await.unwrap();
    }
    let fired = faults.fired();
    assert!(fired.conflicts > 0 && fired.lost_successes > 0, "the faults fired: {fired:?}");
    let pki = Pki::new(ports.clone(), config.clone());
    let view = devices.view(&session.id).await.unwrap();
    for device in &view.devices {
        assert_eq!(device.state, DeviceState::Provisioned, "{device:?}");
        assert_eq!(pki.certificates_named(Channel::Device, &device.mac.to_string()).await.unwrap().len(), 1, "{}", device.mac);
    }
    assert_eq!((view.session.device_count, view.session.provisioned_count, view.session.failed_count), (10, 10, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_transactions_and_lost_answers_still_give_one_certificate_per_device_and_exact_counts_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = dir.path().to_path_buf();
    quiet_breaker(&mut config);
    let (ports, _queue) = trustplane_core::wiring::open(&config).await.unwrap();
    ten_devices_survive_cancelled_transactions_and_lost_answers(ports, Arc::new(config)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancelled_transactions_and_lost_answers_still_give_one_certificate_per_device_and_exact_counts_on_moto() {
    let mut config = moto::fresh_config().await;
    quiet_breaker(&mut config);
    let ports = trustplane_core::wiring::aws_ports_with(&moto::sdk_config().await, &config).unwrap();
    ten_devices_survive_cancelled_transactions_and_lost_answers(ports, Arc::new(config)).await;
}
