//! Seed 000's ten test cases, the 40-way race and the inventory link, on the embedded
//! backend (`::sqlite`) and on the AWS adapters against moto (`::moto`).

mod support;

use http::StatusCode;
use serde_json::json;
use rcgen::PublicKeyData;
use support::profile::{assert_agent_profile, assert_ca_cert_order};
use support::{csr_pem, mint, openssl_verify, post, Backend};
use trustplane_core::on_both_backends;

on_both_backends!(
    valid_key_and_csr_return_200_with_a_certificate_that_verifies_against_ca_cert,
    unknown_key_returns_401_invalid_provision_key,
    expired_key_returns_401_provision_key_expired,
    used_key_returns_401_provision_key_already_used,
    malformed_csr_returns_400_and_leaves_the_key_usable,
    missing_fields_return_400_with_the_seed_messages,
    a_csr_asking_for_a_ca_certificate_is_refused,
    forty_concurrent_requests_with_one_key_yield_exactly_one_certificate,
    provision_key_management_needs_provision_admin_and_never_shows_keys,
    a_revoked_provision_key_is_invalid,
    a_signing_failure_after_the_claim_releases_the_key,
);

async fn valid_key_and_csr_return_200_with_a_certificate_that_verifies_against_ca_cert(b: Backend) {
    let key = mint(&b, "agent-5", 600).await;
    let agent_key = rcgen::KeyPair::generate().unwrap();
    let reply = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr_for(&agent_key, "whatever-the-csr-says") }), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let body = reply.json();
    assert_eq!(body["agent_id"], "agent-5");
    let (cert, ca) = (body["agent_cert"].as_str().unwrap(), body["ca_cert"].as_str().unwrap());
    let subject = openssl_verify(ca, cert);
    assert!(subject.contains("CN=agent-5") || subject.contains("CN = agent-5"), "{subject}");
    assert_ca_cert_order(ca, cert);
    assert_agent_profile(cert, &agent_key.subject_public_key_info(), b.state.config.agent_cert_validity_days);
    let inventory = b.pki().certificates_by_common_name("agent-5").await.unwrap();
    assert_eq!(inventory.len(), 1, "the certificate is in the one inventory");
    assert_eq!(inventory[0].certificate_pem.trim(), cert.trim());
}

fn csr_for(key: &rcgen::KeyPair, cn: &str) -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    params.serialize_request(key).unwrap().pem().unwrap()
}

async fn unknown_key_returns_401_invalid_provision_key(b: Backend) {
    let reply = post(&b, "/api/v1/provision", json!({ "provision_key": "sk_doesnotexist", "csr": csr_pem("a") }), None).await;
    assert_eq!((reply.status, reply.json()), (StatusCode::UNAUTHORIZED, json!({ "error": "invalid provision key" })));
}

async fn expired_key_returns_401_provision_key_expired(b: Backend) {
    let key = mint(&b, "agent-exp", 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let reply = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr_pem("a") }), None).await;
    assert_eq!((reply.status, reply.json()), (StatusCode::UNAUTHORIZED, json!({ "error": "provision key expired" })));
}

async fn used_key_returns_401_provision_key_already_used(b: Backend) {
    let key = mint(&b, "agent-used", 600).await;
    let first = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr_pem("a") }), None).await;
    assert_eq!(first.status, StatusCode::OK);
    let second = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr_pem("a") }), None).await;
    assert_eq!((second.status, second.json()), (StatusCode::UNAUTHORIZED, json!({ "error": "provision key already used" })));
}

async fn malformed_csr_returns_400_and_leaves_the_key_usable(b: Backend) {
    let key = mint(&b, "agent-retry", 600).await;
    let bad = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": "-----BEGIN CERTIFICATE REQUEST-----\nnope\n-----END CERTIFICATE REQUEST-----\n" }), None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["error"].as_str().unwrap().starts_with("invalid CSR: "), "{:?}", bad.json());
    let retry = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr_pem("a") }), None).await;
    assert_eq!(retry.status, StatusCode::OK, "the key survives a bad CSR: {:?}", retry.json());
}

async fn missing_fields_return_400_with_the_seed_messages(b: Backend) {
    let no_key = post(&b, "/api/v1/provision", json!({ "csr": csr_pem("a") }), None).await;
    assert_eq!((no_key.status, no_key.json()), (StatusCode::BAD_REQUEST, json!({ "error": "provision_key is required" })));
    let no_csr = post(&b, "/api/v1/provision", json!({ "provision_key": "sk_x", "csr": "" }), None).await;
    assert_eq!((no_csr.status, no_csr.json()), (StatusCode::BAD_REQUEST, json!({ "error": "csr is required" })));
}

async fn a_csr_asking_for_a_ca_certificate_is_refused(b: Backend) {
    let key = mint(&b, "agent-ca", 600).await;
    let reply = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": support::ca_csr_pem() }), None).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"], "invalid CSR: CA certificates cannot be provisioned");
}

async fn forty_concurrent_requests_with_one_key_yield_exactly_one_certificate(b: Backend) {
    let b = std::sync::Arc::new(b);
    let key = mint(&b, "agent-race", 600).await;
    let csr = csr_pem("race");
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(40));
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (b, barrier, body) = (b.clone(), barrier.clone(), json!({ "provision_key": key, "csr": csr }));
            tokio::spawn(async move {
                barrier.wait().await;
                post(&b, "/api/v1/provision", body, None).await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    let ok = replies.iter().filter(|r| r.status == StatusCode::OK).count();
    let used = replies.iter().filter(|r| r.status == StatusCode::UNAUTHORIZED && r.json()["error"] == "provision key already used").count();
    assert_eq!((ok, used), (1, 39), "statuses: {:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(b.pki().certificates_by_common_name("agent-race").await.unwrap().len(), 1);
    let listed = support::get(&b, "/api/v1/provision-keys?agent_id=agent-race", Some(&b.admin)).await.json();
    assert_eq!(listed["data"][0]["state"], "used", "the key ends used: {listed}");
}

async fn provision_key_management_needs_provision_admin_and_never_shows_keys(b: Backend) {
    let key = mint(&b, "agent-list", 600).await;
    let listed = support::get(&b, "/api/v1/provision-keys?agent_id=agent-list", Some(&b.admin)).await;
    assert_eq!(listed.status, StatusCode::OK);
    let text = String::from_utf8(listed.body.clone()).unwrap();
    assert!(!text.contains(&key), "the key itself is never listed");
    assert_eq!(listed.json()["data"][0]["key_prefix"], key[..11]);
    assert_eq!(listed.json()["data"][0]["state"], "unused");
    let reader = b.key_with(&["ca:read"]).await;
    let forbidden = post(&b, "/api/v1/provision-keys", json!({ "agent_id": "x", "ttl_seconds": 60 }), Some(&reader)).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert!(forbidden.json()["error"].is_string());
    let anonymous = post(&b, "/api/v1/provision-keys", json!({ "agent_id": "x", "ttl_seconds": 60 }), None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    for (agent, ttl) in [("Bad Agent", 60), ("ok", 0), ("ok", 2_592_001)] {
        let bad = post(&b, "/api/v1/provision-keys", json!({ "agent_id": agent, "ttl_seconds": ttl }), Some(&b.admin)).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{agent} {ttl}");
    }
}

async fn a_revoked_provision_key_is_invalid(b: Backend) {
    let key = mint(&b, "agent-revoked", 600).await;
    let revoked = support::delete(&b, &format!("/api/v1/provision-keys/{}", &key[..11]), Some(&b.admin)).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let reply = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr_pem("a") }), None).await;
    assert_eq!((reply.status, reply.json()), (StatusCode::UNAUTHORIZED, json!({ "error": "invalid provision key" })));
    let again = support::delete(&b, &format!("/api/v1/provision-keys/{}", &key[..11]), Some(&b.admin)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

/// Key custody whose signatures fail, as KMS does when throttled or the key is disabled.
struct FailingCustody(std::sync::Arc<dyn trustplane_core::ports::KeyCustody>);

struct FailingSign;

impl trustplane_core::ports::RemoteSign for FailingSign {
    fn sign(&self, _: &[u8]) -> trustplane_core::Result<Vec<u8>> {
        Err(trustplane_core::Error::Unavailable("injected: custody cannot sign".into()))
    }
}

#[async_trait::async_trait]
impl trustplane_core::ports::KeyCustody for FailingCustody {
    async fn create_key(&self, owner: &str, algorithm: trustplane_core::ports::KeyAlgorithm) -> trustplane_core::Result<trustplane_core::ports::KeyHandle> {
        self.0.create_key(owner, algorithm).await
    }
    async fn signer(&self, key: &trustplane_core::ports::KeyHandle) -> trustplane_core::Result<trustplane_core::custody::CaSigner> {
        let real = self.0.signer(key).await?;
        trustplane_core::custody::CaSigner::new(key.algorithm, &real.subject_public_key_info(), std::sync::Arc::new(FailingSign))
    }
}

async fn a_signing_failure_after_the_claim_releases_the_key(b: Backend) {
    let key = mint(&b, "agent-kms-down", 600).await;
    let mut ports = b.state.ports.clone();
    ports.custody = std::sync::Arc::new(FailingCustody(b.state.ports.custody.clone()));
    let broken = provision_api::app(trustplane_core::http::AppState::new((*b.state.config).clone(), ports));
    let request = http::Request::post("/api/v1/provision")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(json!({ "provision_key": key, "csr": csr_pem("a") }).to_string()))
        .unwrap();
    let failed = trustplane_core::testkit::call(&broken, request).await;
    assert!(failed.status.is_server_error(), "{:?}", failed.status);
    let body = failed.json();
    assert_eq!(body.as_object().unwrap().keys().collect::<Vec<_>>(), ["error"], "{body}");
    assert!(!body["error"].as_str().unwrap().contains("injected"), "a 5xx never leaks its cause: {body}");
    let listed = support::get(&b, "/api/v1/provision-keys?agent_id=agent-kms-down", Some(&b.admin)).await.json();
    assert_eq!(listed["data"][0]["state"], "unused", "the claim was released: {listed}");
    let retry = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr_pem("a") }), None).await;
    assert_eq!(retry.status, StatusCode::OK, "the key still works once custody is back: {:?}", retry.json());
}
