//! The circuit breaker around device issuance (issue 10): when key custody keeps failing,
//! the worker's deliveries fail (and are retried by the queue) until the breaker opens; then
//! they fail fast with 503 `CIRCUIT_OPEN` without calling custody, and provisioning more
//! devices is refused with `CIRCUIT_OPEN` too instead of piling jobs up. Its own test binary:
//! the breaker is process-wide.

use async_trait::async_trait;
use device_worker::DeviceWorker;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use trustplane_core::config::Config;
use trustplane_core::custody::CaSigner;
use trustplane_core::domain::MacAddress;
use trustplane_core::jobs::{Job, JobHandler};
use trustplane_core::ports::{KeyAlgorithm, KeyCustody, KeyHandle};
use trustplane_core::services::default_issuer::ensure_default_hierarchy;
use trustplane_core::services::devices::gateway::DiscoveredDevice;
use trustplane_core::services::devices::sessions::StartSession;
use trustplane_core::services::devices::{allowlist, Devices};
use trustplane_core::services::pki::{Channel, Pki};
use trustplane_core::{Error, Result};

/// Key custody that fails every signer request while `failing` is set.
struct FlakyCustody {
    inner: Arc<dyn KeyCustody>,
    failing: AtomicBool,
    signers: AtomicUsize,
}

#[async_trait]
impl KeyCustody for FlakyCustody {
    async fn create_key(&self, owner: &str, algorithm: KeyAlgorithm) -> Result<KeyHandle> {
        self.inner.create_key(owner, algorithm).await
    }
    async fn signer(&self, key: &KeyHandle) -> Result<CaSigner> {
        self.signers.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::Unavailable("KMS is down".into()));
        }
        self.inner.signer(key).await
    }
}

fn mac(i: usize) -> MacAddress {
    MacAddress::parse(&format!("02:00:5E:00:01:{i:02X}")).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_custody_failures_open_the_breaker_which_then_refuses_without_calling_custody() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = dir.path().to_path_buf();
    config.devices_guard.breaker_failures = 3;
    config.devices_guard.breaker_cooldown_secs = 600;
    let (mut ports, _queue) = trustplane_core::wiring::open(&config).await.unwrap();
    let custody = Arc::new(FlakyCustody { inner: ports.custody.clone(), failing: AtomicBool::new(false), signers: AtomicUsize::new(0) });
    ports.custody = custody.clone();
    let config = Arc::new(config);
    ensure_default_hierarchy(&Pki::new(ports.clone(), config.clone()), &config, ports.store.as_ref()).await.unwrap();
    let devices = Devices::new(&ports, config.clone());
    let session = devices.start(StartSession { target_ssid: Some("Net".into()), ..StartSession::default() }).await.unwrap();
    let reports: Vec<_> = (0..5).map(|i| DiscoveredDevice { mac: mac(i).to_string(), ip: "10.0.0.2".into(), rssi: -50, firmware_version: "1".into(), csr: None }).collect();
    devices.discover(&session.id, &reports).await.unwrap();
    for i in 0..5 {
        let entry = allowlist::AllowlistEntry { mac: mac(i), description: None, container_id: None, added_at: trustplane_core::clock::now_rfc3339(), used: false, used_at: None };
        ports.store.put(entry.to_item(1).unwrap(), trustplane_core::ports::Condition::Absent).await.unwrap();
    }
    for i in 0..4 {
        devices.provision(&session.id, &mac(i)).await.unwrap();
    }
    custody.failing.store(true, Ordering::SeqCst);
    let worker = DeviceWorker::new(devices.clone());
    let job = |i: usize| serde_json::to_string(&Job::ProvisionDevice { session_id: session.id.clone(), mac: mac(i).to_string(), attempt: 1 }).unwrap();
    for i in 0..3 {
        let failed = worker.handle_delivery(&job(i), 1).await.unwrap_err();
        assert!(matches!(failed, Error::Unavailable(_)), "{failed:?}");
    }
    let calls = custody.signers.load(Ordering::SeqCst);
    let refused = worker.handle_delivery(&job(3), 1).await.unwrap_err();
    assert_eq!((refused.code(), refused.status().as_u16(), refused.retryable()), (Some("CIRCUIT_OPEN"), 503, true), "{refused:?}");
    assert!(refused.retry_after().is_some_and(|s| s > 0));
    assert_eq!(custody.signers.load(Ordering::SeqCst), calls, "an open breaker does not call custody");
    let api = devices.provision(&session.id, &mac(4)).await.unwrap_err();
    assert_eq!(api.code(), Some("CIRCUIT_OPEN"), "no more jobs pile up: {api:?}");
    let pki = Pki::new(ports.clone(), config.clone());
    for i in 0..4 {
        assert!(pki.certificates_named(Channel::Device, &mac(i).to_string()).await.unwrap().is_empty());
    }
    let view = devices.view(&session.id).await.unwrap();
    assert_eq!((view.session.provisioned_count, view.session.failed_count), (0, 0), "failed deliveries are retried, not yet failed");
}
