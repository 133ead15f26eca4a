//! The ACME flow a client such as certbot drives (RFC 8555 §7), on the embedded backend
//! (`::sqlite`) and on the AWS adapters against moto (`::moto`), validations run by the job
//! queue's worker, with a real `http-01` responder on loopback.

mod support;

use base64::Engine;
use serde_json::json;
use support::{openssl, problem, text, Backend, Client, B64};
use trustplane_core::on_both_backends;
use trustplane_core::services::acme::test_signer::TestKey;
use trustplane_core::services::pki::{CertStatus, Channel};

on_both_backends!(
    an_rs256_account_obtains_a_certificate_that_chains_to_the_root_is_in_the_inventory_and_is_revoked_onto_the_crl,
    an_es256_account_gets_the_same_service_and_revocation_by_the_certificate_key_works,
    a_challenge_answered_wrongly_invalidates_the_authorization_and_the_order_which_cannot_be_finalized,
    a_csr_for_other_names_than_the_order_is_a_bad_csr_and_the_order_stays_ready,
);

async fn an_rs256_account_obtains_a_certificate_that_chains_to_the_root_is_in_the_inventory_and_is_revoked_onto_the_crl(b: Backend) {
    let mut client = Client::new(&b, TestKey::rsa());
    let account = client.register().await;
    assert_eq!(account.json()["status"], "valid");
    let names = ["www.acme.localhost", "api.acme.localhost"];
    let (order_url, order) = client.order(&names).await;
    assert_eq!((order["status"].as_str(), order["authorizations"].as_array().map(Vec::len)), (Some("pending"), Some(2)), "{order}");
    let authzs = client.validate(&order, |t| client.key_authorization(t)).await;
    assert!(authzs.iter().all(|a| a["status"] == "valid" && a["challenges"][0]["status"] == "valid" && a["challenges"][0]["validated"].is_string()), "{authzs:?}");
    assert_eq!(client.post(&order_url, None).await.json()["status"], "ready");
    let (finalized, key) = client.finalize(&order, &names).await;
    assert_eq!(finalized.status, 200, "{}", text(&finalized));
    let order = finalized.json();
    assert_eq!(order["status"], "valid");
    let chain = client.post(order["certificate"].as_str().unwrap(), None).await;
    assert_eq!((chain.status.as_u16(), chain.header("content-type")), (200, Some("application/pem-certificate-chain")));
    let pem = text(&chain);
    assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 2, "leaf and issuing CA, no root: {pem}");
    let root = b.pki().chain(&b.authority).await.unwrap().pop().unwrap();
    let root_pem = trustplane_core::pki::chain::cert_pem(&root);
    let leaf = pem.split_inclusive("-----END CERTIFICATE-----\n").next().unwrap();
    let (ok, out) = openssl(&[("root.pem", root_pem.as_bytes()), ("chain.pem", pem.as_bytes()), ("leaf.pem", leaf.as_bytes())], &["verify", "-CAfile", "root.pem", "-untrusted", "chain.pem", "-purpose", "sslserver", "leaf.pem"]);
    assert!(ok && out.contains("leaf.pem: OK"), "{out}");
    let (ok, out) = openssl(&[("leaf.pem", leaf.as_bytes())], &["x509", "-noout", "-ext", "subjectAltName", "-pubkey", "-in", "leaf.pem"]);
    assert!(ok && out.contains("DNS:www.acme.localhost") && out.contains("DNS:api.acme.localhost"), "{out}");
    assert!(out.contains(key.public_key_pem().lines().nth(1).unwrap()), "the CSR's key is certified: {out}");

    let cert_id = order["certificate"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let record = b.pki().get_certificate(&cert_id).await.unwrap();
    assert_eq!((record.channel(), record.issuer_id.as_str(), record.status), (Channel::Acme, b.authority.as_str(), CertStatus::Valid));
    let der = trustplane_core::pki::chain::parse_pem_certs(leaf).unwrap().remove(0);
    let (start, end, retry_after) = support::renewal_window(&b, &der).await;
    assert!(start > time::OffsetDateTime::now_utc() && start < end && end < record.not_after, "RFC 9773: renew late in its life: {start} {end}");
    assert_eq!(retry_after, "21600");
    let revoked = client.post(&b.urls().revoke_cert(), Some(json!({ "certificate": B64.encode(&der), "reason": 4 }))).await;
    assert_eq!(revoked.status, 200, "{}", text(&revoked));
    let record = b.pki().get_certificate(&cert_id).await.unwrap();
    assert_eq!((record.status, record.revoked_by.as_deref()), (CertStatus::Revoked, Some(format!("acme-account:{}", client.kid.as_deref().unwrap().rsplit('/').next().unwrap()).as_str())));
    let (_, end, _) = support::renewal_window(&b, &der).await;
    assert!(end < time::OffsetDateTime::now_utc(), "a revoked certificate's window lies in the past: renew at once");
    let aki = support::ari_cert_id(&der).split_once('.').unwrap().0.to_owned();
    let unknown = b.send("GET", &format!("{}/{aki}.{}", b.urls().renewal_info(), B64.encode([0x7f, 1, 2, 3])), &[], None).await;
    assert_eq!(unknown.status, 404, "a serial this server never issued: {}", text(&unknown));
    let again = client.post(&b.urls().revoke_cert(), Some(json!({ "certificate": B64.encode(&der) }))).await;
    assert_eq!(problem(&again), "alreadyRevoked");
    crl_publisher::CrlWorker::new(b.pki()).publish(&b.authority, None).await.unwrap();
    let crl = b.pki().current_crl(&b.authority).await.unwrap();
    let (ok, out) = openssl(&[("crl.der", &crl)], &["crl", "-inform", "DER", "-noout", "-text", "-in", "crl.der"]);
    assert!(ok && out.contains(&record.serial_number) && out.contains("Superseded"), "{out}");
}

async fn an_es256_account_gets_the_same_service_and_revocation_by_the_certificate_key_works(b: Backend) {
    let mut client = Client::new(&b, TestKey::ec());
    client.register().await;
    let (order_url, order) = client.order(&["es.acme.localhost"]).await;
    client.validate(&order, |t| client.key_authorization(t)).await;
    let (reply, cert_key) = client.finalize(&order, &["es.acme.localhost"]).await;
    assert_eq!(reply.status, 200, "{}", text(&reply));
    let order = client.poll(&order_url, "pending").await;
    let chain = text(&client.post(order["certificate"].as_str().unwrap(), None).await);
    let der = trustplane_core::pki::chain::parse_pem_certs(&chain).unwrap().remove(0);
    let revocation = json!({ "certificate": B64.encode(&der), "reason": 1 });
    let stranger = Client::new(&b, TestKey::ec());
    assert_eq!(problem(&stranger.post(&b.urls().revoke_cert(), Some(revocation.clone())).await), "unauthorized", "neither the account's key nor the certificate's");
    let mut other = Client::new(&b, TestKey::ec());
    other.register().await;
    assert_eq!(other.post(order["certificate"].as_str().unwrap(), None).await.status, 404, "another account's certificate is not served");
    assert_eq!(problem(&other.post(&b.urls().revoke_cert(), Some(revocation.clone())).await), "unauthorized", "another account may not revoke it");
    let holder = Client::new(&b, TestKey::ec_from_pkcs8(&cert_key.serialize_der()));
    let revoked = holder.post(&b.urls().revoke_cert(), Some(revocation)).await;
    assert_eq!(revoked.status, 200, "{}", text(&revoked));
    let cert_id = order["certificate"].as_str().unwrap().rsplit('/').next().unwrap();
    let record = b.pki().get_certificate(cert_id).await.unwrap();
    assert_eq!((record.status, record.revoked_by.as_deref()), (CertStatus::Revoked, Some("acme-certificate-key")));
}

async fn a_challenge_answered_wrongly_invalidates_the_authorization_and_the_order_which_cannot_be_finalized(b: Backend) {
    let mut client = Client::new(&b, TestKey::ec());
    client.register().await;
    let (order_url, order) = client.order(&["wrong.acme.localhost"]).await;
    let authz = client.validate(&order, |t| format!("{t}.not-the-thumbprint")).await.remove(0);
    assert_eq!(authz["status"], "invalid", "{authz}");
    let error = &authz["challenges"][0]["error"];
    assert_eq!((error["type"].as_str(), error["status"].as_u64()), (Some("urn:ietf:params:acme:error:incorrectResponse"), Some(400)), "{authz}");
    assert_eq!(client.post(&order_url, None).await.json()["status"], "invalid");
    let (reply, _) = client.finalize(&order, &["wrong.acme.localhost"]).await;
    assert_eq!((reply.status.as_u16(), problem(&reply).as_str()), (403, "orderNotReady"));

    let (_, silent) = client.order(&["silent.nowhere.localhost"]).await;
    let authz = client.post(silent["authorizations"][0].as_str().unwrap(), None).await.json();
    client.post(authz["challenges"][0]["url"].as_str().unwrap(), Some(json!({}))).await;
    let done = client.poll(silent["authorizations"][0].as_str().unwrap(), "pending").await;
    assert_eq!(done["challenges"][0]["error"]["type"], "urn:ietf:params:acme:error:incorrectResponse", "the responder answers 404 for an unknown token: {done}");
}

async fn a_csr_for_other_names_than_the_order_is_a_bad_csr_and_the_order_stays_ready(b: Backend) {
    let mut client = Client::new(&b, TestKey::ec());
    client.register().await;
    let (order_url, order) = client.order(&["csr.acme.localhost"]).await;
    client.validate(&order, |t| client.key_authorization(t)).await;
    for names in [&["other.acme.localhost"][..], &["csr.acme.localhost", "extra.acme.localhost"][..]] {
        let (reply, _) = client.finalize(&order, names).await;
        assert_eq!(problem(&reply), "badCSR", "{names:?}");
    }
    assert_eq!(client.post(&order_url, None).await.json()["status"], "ready");
    let (reply, _) = client.finalize(&order, &["csr.acme.localhost"]).await;
    assert_eq!(reply.status, 200, "{}", text(&reply));
    let (reply, _) = client.finalize(&order, &["csr.acme.localhost"]).await;
    assert_eq!(problem(&reply), "orderNotReady", "an order is finalized once");
}
