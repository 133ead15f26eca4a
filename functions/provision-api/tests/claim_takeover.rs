//! An abandoned provision-key claim taken over once its 60 s lease is over, while the stalled
//! first claimant is still alive: of the two commits that then race, only the take-over's may
//! land (one certificate per key). Driven at the service level, on the embedded backend
//! (`::sqlite`) and on the AWS adapters against moto (`::moto`), with a hook in key custody
//! that holds each claimant between its claim and its signature.

mod support;

use std::sync::Arc;
use support::{csr_pem, mint, Backend};
use tokio::sync::{mpsc, Mutex, Semaphore};
use trustplane_core::custody::CaSigner;
use trustplane_core::ports::{Condition, Index, KeyAlgorithm, KeyCustody, KeyHandle, Query, SkRange};
use trustplane_core::services::pki::Pki;
use trustplane_core::services::provisioning::{Provisioned, Provisioning};
use trustplane_core::{on_both_backends, Error, Result};

on_both_backends!(a_claim_taken_over_after_its_lease_wins_and_the_stalled_first_claimant_commits_nothing,);

/// The real key custody, holding every caller of `signer` (an exchange that has claimed its
/// key and is about to sign) until `go` gives it a permit, and announcing each arrival.
struct HeldCustody {
    real: Arc<dyn KeyCustody>,
    arrived: mpsc::UnboundedSender<()>,
    go: Arc<Semaphore>,
}

#[async_trait::async_trait]
impl KeyCustody for HeldCustody {
    async fn create_key(&self, owner: &str, algorithm: KeyAlgorithm) -> Result<KeyHandle> {
        self.real.create_key(owner, algorithm).await
    }

    async fn signer(&self, key: &KeyHandle) -> Result<CaSigner> {
        self.arrived.send(()).expect("the test listens");
        self.go.acquire().await.expect("go").forget();
        self.real.signer(key).await
    }
}

/// The provisioning service over the deployment, its custody held as [`HeldCustody`].
fn held_service(b: &Backend) -> (Provisioning, Mutex<mpsc::UnboundedReceiver<()>>, Arc<Semaphore>) {
    let (arrived, arrivals) = mpsc::unbounded_channel();
    let go = Arc::new(Semaphore::new(0));
    let mut ports = b.state.ports.clone();
    ports.custody = Arc::new(HeldCustody { real: b.state.ports.custody.clone(), arrived, go: go.clone() });
    let pki = Pki::new(ports.clone(), b.state.config.clone());
    (Provisioning::new(ports.store.clone(), pki, b.state.config.clone()), Mutex::new(arrivals), go)
}

/// Rewrites the key's stored claim as it reads once its lease is over (`claim_until` in the
/// past), leaving everything else, its version included, as the first claimant wrote it.
async fn expire_the_claim(b: &Backend, pk: &str) -> u64 {
    let store = &b.state.ports.store;
    let claimed = store.get(pk, "PKEY").await.unwrap().expect("the key item");
    assert_eq!(claimed.state.as_deref(), Some("claimed"), "the first claimant holds the key: {:?}", claimed.data);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(claimed.data["claim_until"].as_i64().is_some_and(|until| until > now), "its lease is running: {:?}", claimed.data);
    let mut lapsed = claimed.clone();
    lapsed.data["claim_until"] = serde_json::json!(now - 1);
    store.put(lapsed, Condition::Version(claimed.version)).await.unwrap();
    claimed.version
}

/// The store key (`PK`) of the provision key `secret`, found through its prefix index.
async fn key_item_pk(b: &Backend, secret: &str) -> String {
    let query = Query { index: Index::Gsi1, pk: "PKEYS".into(), range: SkRange::BeginsWith(format!("{}#", &secret[..11])), limit: 2, cursor: None, descending: false };
    let items = b.state.ports.store.query(query).await.unwrap().items;
    assert_eq!(items.len(), 1, "one key with this prefix");
    items[0].pk.clone()
}

async fn a_claim_taken_over_after_its_lease_wins_and_the_stalled_first_claimant_commits_nothing(b: Backend) {
    let b = Arc::new(b);
    let key = mint(&b, "agent-stall", 600).await;
    let pk = key_item_pk(&b, &key).await;
    let (service, arrivals, go) = held_service(&b);
    let service = Arc::new(service);
    let exchange = |csr: String| {
        let (service, key) = (service.clone(), key.clone());
        tokio::spawn(async move { service.provision(&key, &csr).await })
    };

    let first = exchange(csr_pem("first"));
    arrivals.lock().await.recv().await.expect("the first claimant reaches signing");
    let first_claim_version = expire_the_claim(&b, &pk).await;
    let second = exchange(csr_pem("second"));
    arrivals.lock().await.recv().await.expect("the take-over reaches signing");
    let taken = b.state.ports.store.get(&pk, "PKEY").await.unwrap().unwrap();
    assert_eq!((taken.state.as_deref(), taken.version), (Some("claimed"), first_claim_version + 1), "taken over: {:?}", taken.data);

    go.add_permits(2);
    let (first, second): (Result<Provisioned>, Result<Provisioned>) = (first.await.unwrap(), second.await.unwrap());
    assert!(matches!(&first, Err(Error::Unauthorized(m)) if m == "provision key already used"), "the stalled claimant loses: {:?}", first.as_ref().map(|p| &p.agent_id));
    let second = second.expect("the take-over commits");
    let issued = b.pki().certificates_by_common_name("agent-stall").await.unwrap();
    assert_eq!(issued.len(), 1, "one certificate for the key");
    assert_eq!(issued[0].certificate_pem.trim(), second.agent_cert.trim());
    let used = b.state.ports.store.get(&pk, "PKEY").await.unwrap().unwrap();
    assert_eq!(used.state.as_deref(), Some("used"), "the stalled claimant's release did not undo the use: {:?}", used.data);
}
