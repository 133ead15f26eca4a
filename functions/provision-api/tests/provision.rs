//! Seed 000's ten test cases, the 40-way race and the inventory link, on the embedded
//! backend (`::sqlite`) and on the AWS adapters against moto (`::moto`).

mod support;

use http::StatusCode;
use serde_json::json;
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
);

async fn valid_key_and_csr_return_200_with_a_certificate_that_verifies_against_ca_cert(b: Backend) {
    let key = mint(&b, "agent-5", 600).await;
    let reply = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr_pem("whatever-the-csr-says") }), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let body = reply.json();
    assert_eq!(body["agent_id"], "agent-5");
    let (cert, ca) = (body["agent_cert"].as_str().unwrap(), body["ca_cert"].as_str().unwrap());
    assert!(ca.matches("BEGIN CERTIFICATE").count() >= 2, "ca_cert carries the issuing CA and its chain to the root");
    let subject = openssl_verify(ca, cert);
    assert!(subject.contains("CN=agent-5") || subject.contains("CN = agent-5"), "{subject}");
    let inventory = b.pki().certificates_by_common_name("agent-5").await.unwrap();
    assert_eq!(inventory.len(), 1, "the certificate is in the one inventory");
    assert_eq!(inventory[0].certificate_pem.trim(), cert.trim());
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
    let key = mint(&b, "agent-race", 600).await;
    let csr = csr_pem("race");
    let attempts = (0..40).map(|_| post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr }), None));
    let replies = futures::future::join_all(attempts).await;
    let ok = replies.iter().filter(|r| r.status == StatusCode::OK).count();
    let used = replies.iter().filter(|r| r.status == StatusCode::UNAUTHORIZED && r.json()["error"] == "provision key already used").count();
    assert_eq!((ok, used), (1, 39), "statuses: {:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(b.pki().certificates_by_common_name("agent-race").await.unwrap().len(), 1);
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
