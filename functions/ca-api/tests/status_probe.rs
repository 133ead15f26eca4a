//! `GET /api/v1/ca/status` probes key custody without spending a CA signature (issue 9 item
//! 4): KMS `DescribeKey` says whether the key can sign; a disabled key is not `running`.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::Backend;
use trustplane_core::custody::CaSigner;
use trustplane_core::on_both_backends;
use trustplane_core::ports::{KeyAlgorithm, KeyCustody, KeyHandle, RemoteSign};
use trustplane_core::testkit::call;

on_both_backends!(the_status_probe_answers_running_without_signing_anything);

/// The real custody, counting every signature made through it.
struct Counting {
    inner: Arc<dyn KeyCustody>,
    signatures: Arc<AtomicUsize>,
}

struct CountingSign(CaSigner, Arc<AtomicUsize>);

impl RemoteSign for CountingSign {
    fn sign(&self, msg: &[u8]) -> trustplane_core::Result<Vec<u8>> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.sign_message(msg)
    }
}

#[async_trait::async_trait]
impl KeyCustody for Counting {
    async fn create_key(&self, owner: &str, algorithm: KeyAlgorithm) -> trustplane_core::Result<KeyHandle> {
        self.inner.create_key(owner, algorithm).await
    }
    async fn signer(&self, key: &KeyHandle) -> trustplane_core::Result<CaSigner> {
        use rcgen::PublicKeyData;
        let real = self.inner.signer(key).await?;
        CaSigner::new(key.algorithm, &real.subject_public_key_info(), Arc::new(CountingSign(real, self.signatures.clone())))
    }
    async fn key_usable(&self, key: &KeyHandle) -> trustplane_core::Result<bool> {
        self.inner.key_usable(key).await
    }
}

fn status_request(key: &str) -> http::Request<axum::body::Body> {
    http::Request::get("/api/v1/ca/status").header("x-api-key", key).body(axum::body::Body::empty()).unwrap()
}

async fn the_status_probe_answers_running_without_signing_anything(b: Backend) {
    let signatures = Arc::new(AtomicUsize::new(0));
    let counted = signatures.clone();
    let app = b.app_with(move |_, ports| ports.custody = Arc::new(Counting { inner: ports.custody.clone(), signatures: counted }));
    for _ in 0..3 {
        let reply = call(&app, status_request(&b.reader)).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["service_status"], "running", "{:?}", reply.json());
    }
    assert_eq!(signatures.load(Ordering::SeqCst), 0, "no CA signature was spent on a health probe");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_kms_key_reads_as_not_running_and_enabled_again_as_running() {
    let b = Backend::moto().await;
    let ca = b.pki().get_authority(&b.ca_id().await).await.unwrap();
    let kms = aws_sdk_kms::Client::new(&trustplane_core::testkit::moto::sdk_config().await);
    let key_id = ca.key.key_ref.rsplit('/').next().unwrap().to_owned();
    kms.disable_key().key_id(&key_id).send().await.unwrap();
    let reply = call(&b.app, status_request(&b.reader)).await;
    assert_eq!(reply.status, 200);
    assert_ne!(reply.json()["service_status"], "running", "{:?}", reply.json());
    kms.enable_key().key_id(&key_id).send().await.unwrap();
    let reply = call(&b.app, status_request(&b.reader)).await;
    assert_eq!(reply.json()["service_status"], "running", "{:?}", reply.json());
}
