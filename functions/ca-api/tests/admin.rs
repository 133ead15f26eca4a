//! Seed 001's admin endpoints end to end: submit → list → sign → fetch → openssl verify,
//! reject, revoke, lists, details, permissions and the signing race, on the embedded backend
//! (`::sqlite`) and on the AWS adapters against moto (`::moto`).

mod ops;
mod support;

use serde_json::json;
use trustplane_core::jobs::Job;
use trustplane_core::on_both_backends;
use support::{assert_error, assert_verifies, openssl, text, Backend};
use trustplane_core::services::puppet_ca::{CsrState, RequestQuery};

on_both_backends!(
    a_submitted_request_is_listed_signed_served_and_verifies_with_openssl,
    a_rejected_request_leaves_the_pending_list_keeps_its_reason_and_cannot_be_signed,
    a_revoked_certificate_is_listed_as_revoked_and_lands_on_the_crl,
    certificate_details_read_back_rfc_4514_names_extensions_and_the_public_key,
    a_reader_key_is_denied_every_change_and_no_key_is_unauthorized,
    concurrent_signs_of_one_request_issue_exactly_one_certificate,
);

async fn a_submitted_request_is_listed_signed_served_and_verifies_with_openssl(b: Backend) {
    let (_, pem) = b.submit("web01.example.com").await;
    let pending = b.get("/puppet-ca/v1/certificate_request/web01.example.com", None).await;
    assert_eq!((pending.status.as_u16(), pending.header("content-type")), (200, Some("text/plain")));
    assert_eq!(text(&pending).trim(), pem.trim());
    let listed = b.get("/api/v1/ca/requests", Some(&b.reader)).await.json();
    assert_eq!((listed["total"].as_u64(), listed["limit"].as_u64(), listed["offset"].as_u64()), (Some(1), Some(50), Some(0)));
    let entry = &listed["data"][0];
    assert_eq!((entry["certname"].as_str(), entry["status"].as_str()), (Some("web01.example.com"), Some("pending")));
    assert_eq!(entry["fingerprint"].as_str().unwrap().split(':').count(), 32, "SHA-256 as colon hex: {entry}");
    assert!(entry["request_time"].as_str().unwrap().ends_with('Z'));

    let signed = b.post("/api/v1/ca/sign/web01.example.com", Some(json!({ "certname": "web01.example.com" })), Some(&b.admin)).await;
    assert_eq!(signed.status, 200, "{}", text(&signed));
    let signed = signed.json();
    assert_eq!((signed["certname"].as_str(), signed["status"].as_str()), (Some("web01.example.com"), Some("valid")));
    for field in ["serial", "fingerprint", "not_before", "not_after"] {
        assert!(signed[field].as_str().is_some_and(|v| !v.is_empty()), "{field}: {signed}");
    }
    let cert = b.get("/puppet-ca/v1/certificate/web01.example.com", None).await;
    assert_eq!(cert.status, 200);
    assert_verifies(&b.ca_pem().await, &text(&cert));
    let (ok, eku) = openssl(&["x509", "-noout", "-ext", "extendedKeyUsage", "-in", "{c.pem}"], &[("c.pem", &text(&cert))]);
    assert!(ok, "{eku}");
    assert!(eku.contains("TLS Web Client Authentication") && eku.contains("TLS Web Server Authentication"), "{eku}");

    assert_eq!(b.get("/api/v1/ca/requests", Some(&b.reader)).await.json()["total"], 0, "a signed request is no longer pending");
    assert_error(&b.get("/puppet-ca/v1/certificate_request/web01.example.com", None).await, 404, "CSR_NOT_FOUND", None);
    let again = b.post("/api/v1/ca/sign/web01.example.com", None, Some(&b.admin)).await;
    assert_error(&again, 409, "CERT_ALREADY_SIGNED", Some("web01.example.com"));
    assert_error(&b.post("/api/v1/ca/sign/nobody.example.com", None, Some(&b.admin)).await, 404, "CSR_NOT_FOUND", Some("nobody.example.com"));
    let mismatch = b.post("/api/v1/ca/sign/web01.example.com", Some(json!({ "certname": "other" })), Some(&b.admin)).await;
    assert_error(&mismatch, 400, "VALIDATION_FAILED", Some("web01.example.com"));
}

async fn a_rejected_request_leaves_the_pending_list_keeps_its_reason_and_cannot_be_signed(b: Backend) {
    b.submit("rogue.example.com").await;
    b.submit("kept.example.com").await;
    let rejected = b.post("/api/v1/ca/reject/rogue.example.com", Some(json!({ "reason": "Unauthorized node configuration" })), Some(&b.admin)).await;
    assert_eq!(rejected.status, 200, "{}", text(&rejected));
    let body = rejected.json();
    assert_eq!((body["message"].as_str(), body["certname"].as_str()), (Some("Certificate request rejected"), Some("rogue.example.com")));
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));

    let pending = b.get("/api/v1/ca/requests", Some(&b.reader)).await.json();
    assert_eq!((pending["total"].as_u64(), pending["data"][0]["certname"].as_str()), (Some(1), Some("kept.example.com")));
    let listed = b.get("/api/v1/ca/requests?status=rejected", Some(&b.reader)).await.json();
    assert_eq!(listed["data"][0]["status"], "rejected");
    let query = RequestQuery { status: CsrState::Rejected, ..RequestQuery::default() };
    let (records, _) = b.ca().requests(&query).await.unwrap();
    assert_eq!(records[0].reason.as_deref(), Some("Unauthorized node configuration"), "the reason is kept");

    assert_error(&b.post("/api/v1/ca/sign/rogue.example.com", None, Some(&b.admin)).await, 409, "INVALID_OPERATION", Some("rogue.example.com"));
    assert_error(&b.post("/api/v1/ca/reject/rogue.example.com", None, Some(&b.admin)).await, 409, "INVALID_OPERATION", Some("rogue.example.com"));
    assert_error(&b.post("/api/v1/ca/reject/ghost.example.com", None, Some(&b.admin)).await, 404, "CSR_NOT_FOUND", Some("ghost.example.com"));
    b.submit("rogue.example.com").await;
    assert_eq!(b.get("/api/v1/ca/requests", Some(&b.reader)).await.json()["total"], 2, "a rejected agent may ask again");
}

async fn a_revoked_certificate_is_listed_as_revoked_and_lands_on_the_crl(b: Backend) {
    let cert = b.enrol("old.example.com").await;
    b.enrol("new.example.com").await;
    let revoked = b.delete("/api/v1/ca/certificates/old.example.com", Some(json!({ "reason": "Node decommissioned" })), Some(&b.admin)).await;
    assert_eq!(revoked.status, 200, "{}", text(&revoked));
    let body = revoked.json();
    assert_eq!(body["message"], "Certificate revoked");
    assert_eq!((body["certname"].as_str(), body["status"].as_str()), (Some("old.example.com"), Some("revoked")));
    assert_eq!(body["revocation_reason"], "Node decommissioned");
    let again = b.delete("/api/v1/ca/certificates/old.example.com", Some(json!({ "reason": "again" })), Some(&b.admin)).await;
    assert_error(&again, 409, "CERT_ALREADY_REVOKED", Some("old.example.com"));
    assert_error(&b.delete("/api/v1/ca/certificates/ghost.example.com", None, Some(&b.admin)).await, 404, "CERT_NOT_FOUND", Some("ghost.example.com"));

    let b = &b;
    let by_status = |status: &'static str| async move { b.get(&format!("/api/v1/ca/certificates?status={status}"), Some(&b.reader)).await.json() };
    let listed = by_status("revoked").await;
    assert_eq!((listed["total"].as_u64(), listed["data"][0]["certname"].as_str()), (Some(1), Some("old.example.com")));
    assert_eq!(listed["data"][0]["status"], "revoked");
    assert_eq!(by_status("valid").await["data"][0]["certname"], "new.example.com");
    assert_eq!(by_status("expired").await["total"], 0);
    let details = b.get("/api/v1/ca/certificates/old.example.com", Some(&b.reader)).await.json();
    assert_eq!(details["status"], "revoked");

    let ca = b.ca_pem().await;
    let (ok, output) = crl_check(&ca, &b.get("/puppet-ca/v1/certificate_revocation_list/ca", None).await, &cert);
    assert!(ok && output.contains(": OK"), "the CRL published before the queued job ran does not list it yet: {output}");
    let jobs = ops::run_crl_jobs(&b.state, b.on_moto).await;
    let ca_id = b.ca_id().await;
    assert!(matches!(jobs.as_slice(), [Job::PublishCrl { authority_id, requested_at: Some(_) }] if *authority_id == ca_id), "one CRL job for the CA: {jobs:?}");
    let crl = b.get("/puppet-ca/v1/certificate_revocation_list/ca", None).await;
    assert_eq!(text(&crl).matches("BEGIN X509 CRL").count(), 2, "the CA's CRL and its root's");
    let (ok, output) = crl_check(&ca, &crl, &cert);
    assert!(!ok && output.contains("certificate revoked"), "{output}");
    b.submit("old.example.com").await;
}

/// `openssl verify -crl_check` of `cert` under the CA chain `ca` with the served CRL chain:
/// `(success, output)`; the CRL reply must be a 200.
fn crl_check(ca: &str, crl: &trustplane_core::testkit::Reply, cert: &str) -> (bool, String) {
    assert_eq!(crl.status, 200, "{}", text(crl));
    let crl = text(crl);
    let files = [("ca.pem", ca), ("crl.pem", crl.as_str()), ("cert.pem", cert)];
    openssl(&["verify", "-crl_check", "-CAfile", "{ca.pem}", "-CRLfile", "{crl.pem}", "{cert.pem}"], &files)
}

async fn certificate_details_read_back_rfc_4514_names_extensions_and_the_public_key(b: Backend) {
    let (key, _) = b.submit("node1.example.com").await;
    b.sign("node1.example.com").await;
    let reply = b.get("/api/v1/ca/certificates/node1.example.com", Some(&b.reader)).await;
    assert_eq!(reply.status, 200, "{}", text(&reply));
    let d = reply.json();
    assert_eq!((d["subject"].as_str(), d["issuer"].as_str()), (Some("CN=node1.example.com"), Some("CN=Trustplane Issuing CA,O=Trustplane")));
    assert_eq!((d["certname"].as_str(), d["status"].as_str()), (Some("node1.example.com"), Some("valid")));
    let ext = |name: &str| d["extensions"].as_array().unwrap().iter().find(|e| e["name"] == name).map(|e| e["value"].as_str().unwrap().to_owned());
    assert_eq!(ext("keyUsage").as_deref(), Some("digitalSignature"));
    assert_eq!(ext("extendedKeyUsage").as_deref(), Some("clientAuth, serverAuth"));
    assert_eq!(ext("basicConstraints").as_deref(), Some("CA:FALSE"));
    assert_eq!(ext("subjectAltName").as_deref(), Some("DNS:node1.example.com"));
    assert!(ext("crlDistributionPoints").is_some_and(|v| v.starts_with("URI:http")));
    assert_eq!(d["public_key"].as_str().unwrap().trim(), key.public_key_pem().trim());
    for field in ["serial", "fingerprint", "not_before", "not_after"] {
        assert!(d[field].is_string(), "{field}");
    }
    assert_error(&b.get("/api/v1/ca/certificates/nobody.example.com", Some(&b.reader)).await, 404, "CERT_NOT_FOUND", Some("nobody.example.com"));
    assert_error(&b.get("/api/v1/ca/certificates/Not..Valid", Some(&b.reader)).await, 404, "CERT_NOT_FOUND", Some("Not..Valid"));
    assert_error(&b.get("/api/v1/ca/certificates/Not%07Valid", Some(&b.reader)).await, 400, "VALIDATION_FAILED", Some("Not%07Valid"));
}

async fn a_reader_key_is_denied_every_change_and_no_key_is_unauthorized(b: Backend) {
    b.enrol("locked.example.com").await;
    b.submit("waiting.example.com").await;
    let r = Some(b.reader.as_str());
    assert_error(&b.post("/api/v1/ca/sign/waiting.example.com", None, r).await, 403, "PERMISSION_DENIED", Some("waiting.example.com"));
    assert_error(&b.post("/api/v1/ca/reject/waiting.example.com", Some(json!({ "reason": "x" })), r).await, 403, "PERMISSION_DENIED", Some("waiting.example.com"));
    assert_error(&b.delete("/api/v1/ca/certificates/locked.example.com", None, r).await, 403, "PERMISSION_DENIED", Some("locked.example.com"));
    assert_error(&b.post("/api/v1/ca/renew", Some(json!({ "backup": true })), r).await, 403, "PERMISSION_DENIED", None);
    let signer = b.key_with(&["ca:sign"]).await;
    assert_error(&b.post("/api/v1/ca/renew", None, Some(&signer)).await, 403, "PERMISSION_DENIED", None);
    assert_eq!(b.get("/api/v1/ca/status", r).await.status, 200);
    for path in ["/api/v1/ca/status", "/api/v1/ca/requests", "/api/v1/ca/certificates", "/api/v1/ca/certificates/locked.example.com"] {
        let certname = path.strip_prefix("/api/v1/ca/certificates/");
        assert_error(&b.get(path, None).await, 401, "UNAUTHORIZED", certname);
        assert_error(&b.get(path, Some("tp_unknown")).await, 401, "UNAUTHORIZED", certname);
    }
    assert_error(&b.post("/api/v1/ca/sign/waiting.example.com", None, None).await, 401, "UNAUTHORIZED", Some("waiting.example.com"));
    assert_error(&b.post("/api/v1/ca/renew", None, None).await, 401, "UNAUTHORIZED", None);
    assert_eq!(b.get("/api/v1/ca/requests", Some(&b.admin)).await.json()["total"], 1, "nothing changed");
}

async fn concurrent_signs_of_one_request_issue_exactly_one_certificate(b: Backend) {
    let b = std::sync::Arc::new(b);
    b.submit("race.example.com").await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (b, barrier) = (b.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                b.post("/api/v1/ca/sign/race.example.com", None, Some(&b.admin)).await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    let signed = replies.iter().filter(|r| r.status == 200).count();
    let lost = replies.iter().filter(|r| r.status == 409 && r.json()["code"] == "CERT_ALREADY_SIGNED").count();
    assert_eq!((signed, lost), (1, 7), "{:?}", replies.iter().map(text).collect::<Vec<_>>());
    assert_eq!(b.pki().certificates_by_common_name("race.example.com").await.unwrap().len(), 1);
    let request = b.get("/api/v1/ca/requests?certname=race.example.com", Some(&b.admin)).await.json();
    assert_eq!(request["total"], 0, "the request left the pending list: {request}");
    let cert = b.get("/puppet-ca/v1/certificate/race.example.com", None).await;
    assert_eq!(cert.status, 200, "the one certificate is served");
}
