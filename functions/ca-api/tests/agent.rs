//! Puppet's agent-facing CA v1 API, autosign, and the CA being unavailable, on the embedded
//! backend (`::sqlite`) and on the AWS adapters against moto (`::moto`).

mod ops;
mod support;

use ops::KeyOutage;
use support::{assert_error, csr, send, text, weak_csr, Backend, Body};
use trustplane_core::http::AppState;
use trustplane_core::on_both_backends;

on_both_backends!(
    the_agent_api_refuses_bad_certnames_mismatched_names_weak_keys_and_duplicates,
    an_agent_may_withdraw_its_pending_request,
    autosign_signs_requests_whose_certname_matches_a_configured_glob,
    the_ca_is_unavailable_when_its_authority_is_missing_or_its_key_is_disabled,
);

async fn the_agent_api_refuses_bad_certnames_mismatched_names_weak_keys_and_duplicates(b: Backend) {
    let (_, other) = csr("someone-else.example.com");
    let mismatch = b.put_csr("node.example.com", &other).await;
    assert_error(&mismatch, 400, "VALIDATION_FAILED", None);
    assert!(mismatch.json()["error"].as_str().unwrap().contains("does not match requested key"));
    let weak = b.put_csr("weak.example.com", &weak_csr("weak.example.com")).await;
    assert_error(&weak, 400, "VALIDATION_FAILED", None);
    assert!(weak.json()["error"].as_str().unwrap().contains("too weak"), "{}", text(&weak));
    assert_error(&b.put_csr("garbage.example.com", "not a csr").await, 400, "VALIDATION_FAILED", None);
    let (_, ca_named) = csr("ca");
    assert_error(&b.put_csr("ca", &ca_named).await, 400, "VALIDATION_FAILED", None);
    for bad in ["Upper.example.com", "a..b", "-dash", "%2e%2e"] {
        let (_, pem) = csr(bad);
        assert_error(&b.put_csr(bad, &pem).await, 400, "VALIDATION_FAILED", None);
    }
    let long = format!("{}.example.com", "a".repeat(60));
    assert_error(&b.put_csr(&long, &csr(&long).1).await, 400, "VALIDATION_FAILED", None);

    let (_, first) = b.submit("dup.example.com").await;
    assert_eq!(b.put_csr("dup.example.com", &first).await.status, 200, "re-sending the pending CSR is harmless");
    let second = b.put_csr("dup.example.com", &csr("dup.example.com").1).await;
    assert_error(&second, 400, "VALIDATION_FAILED", None);
    assert!(second.json()["error"].as_str().unwrap().contains("already has a requested certificate"));
    b.sign("dup.example.com").await;
    let signed = b.put_csr("dup.example.com", &csr("dup.example.com").1).await;
    assert_error(&signed, 400, "VALIDATION_FAILED", None);
    assert!(signed.json()["error"].as_str().unwrap().contains("already has a signed certificate"));

    assert_error(&b.get("/puppet-ca/v1/certificate/nobody.example.com", None).await, 404, "CERT_NOT_FOUND", None);
    assert_error(&b.get("/puppet-ca/v1/certificate_request/nobody.example.com", None).await, 404, "CSR_NOT_FOUND", None);
    assert_eq!(b.get("/api/v1/ca/requests", Some(&b.reader)).await.json()["total"], 0, "nothing refused was stored");
}

async fn an_agent_may_withdraw_its_pending_request(b: Backend) {
    b.submit("gone.example.com").await;
    let withdrawn = send(&b.app, "DELETE", "/puppet-ca/v1/certificate_request/gone.example.com", Some(&b.admin), Body::None).await;
    assert_eq!(withdrawn.status, 204);
    let again = send(&b.app, "DELETE", "/puppet-ca/v1/certificate_request/gone.example.com", Some(&b.admin), Body::None).await;
    assert_error(&again, 404, "CSR_NOT_FOUND", None);
    assert_error(&b.post("/api/v1/ca/sign/gone.example.com", None, Some(&b.admin)).await, 404, "CSR_NOT_FOUND", Some("gone.example.com"));
    let trail = b.ca().audit_trail(10).await.unwrap();
    let kinds: Vec<String> = trail.iter().map(|op| format!("{:?}/{:?}", op.kind, op.status)).collect();
    assert_eq!(kinds, ["Sign/Failure", "DeleteRequest/Failure", "DeleteRequest/Success", "Submit/Success"]);
    assert!(trail.iter().all(|op| op.certname.as_deref() == Some("gone.example.com")));
    assert_eq!(trail[3].actor, "puppet-agent");
}

async fn autosign_signs_requests_whose_certname_matches_a_configured_glob(b: Backend) {
    let app = b.app_with(|config, _| config.puppet_autosign = vec!["*.auto.example.com".into()]);
    let (_, pem) = csr("web.auto.example.com");
    assert_eq!(send(&app, "PUT", "/puppet-ca/v1/certificate_request/web.auto.example.com", None, Body::Text(pem)).await.status, 200);
    let cert = send(&app, "GET", "/puppet-ca/v1/certificate/web.auto.example.com", None, Body::None).await;
    assert_eq!(cert.status, 200, "signed on arrival: {}", text(&cert));
    support::assert_verifies(&b.ca_pem().await, &text(&cert));
    let (_, other) = csr("web.manual.example.com");
    assert_eq!(send(&app, "PUT", "/puppet-ca/v1/certificate_request/web.manual.example.com", None, Body::Text(other)).await.status, 200);
    assert_error(&send(&app, "GET", "/puppet-ca/v1/certificate/web.manual.example.com", None, Body::None).await, 404, "CERT_NOT_FOUND", None);
    let pending = b.get("/api/v1/ca/requests", Some(&b.reader)).await.json();
    assert_eq!((pending["total"].as_u64(), pending["data"][0]["certname"].as_str()), (Some(1), Some("web.manual.example.com")));
    let trail = b.ca().audit_trail(10).await.unwrap();
    assert!(trail.iter().any(|op| op.actor == "autosign" && op.certname.as_deref() == Some("web.auto.example.com")), "{trail:?}");
}

async fn the_ca_is_unavailable_when_its_authority_is_missing_or_its_key_is_disabled(b: Backend) {
    b.submit("stuck.example.com").await;
    let ca = b.pki().get_authority(&b.ca_id().await).await.unwrap();
    let outage = KeyOutage::begin(&b.state, b.on_moto, &ca.key.key_ref);
    // On moto the running app's KMS key is disabled; embedded, a process started now cannot read the key.
    let app = match b.on_moto {
        true => b.app.clone(),
        false => ca_api::app(AppState::new((*b.state.config).clone(), ops::fresh_ports(&b.state, false).await)),
    };
    let status = send(&app, "GET", "/api/v1/ca/status", Some(&b.reader), Body::None).await;
    assert_eq!(status.status, 200);
    assert_eq!((status.json()["service_status"].as_str(), status.json()["pending_requests"].as_u64()), (Some("unavailable"), Some(1)));
    let sign = send(&app, "POST", "/api/v1/ca/sign/stuck.example.com", Some(&b.admin), Body::None).await;
    assert_error(&sign, 503, "CA_UNAVAILABLE", Some("stuck.example.com"));
    assert_error(&send(&app, "POST", "/api/v1/ca/renew", Some(&b.admin), Body::None).await, 503, "CA_UNAVAILABLE", None);
    assert_eq!(b.get("/api/v1/ca/requests", Some(&b.reader)).await.json()["total"], 1, "the request is still pending");
    assert_eq!(b.pki().get_authority(&ca.id).await.unwrap().serial_number, ca.serial_number, "the CA certificate was not renewed");

    let missing = b.app_with(|config, _| config.default_issuer_id = Some(uuid::Uuid::now_v7().to_string()));
    assert_error(&send(&missing, "POST", "/api/v1/ca/sign/stuck.example.com", Some(&b.admin), Body::None).await, 503, "CA_UNAVAILABLE", Some("stuck.example.com"));
    assert_error(&send(&missing, "GET", "/puppet-ca/v1/certificate/ca", None, Body::None).await, 503, "CA_UNAVAILABLE", None);
    assert_error(&send(&missing, "GET", "/puppet-ca/v1/certificate_revocation_list/ca", None, Body::None).await, 503, "CA_UNAVAILABLE", None);
    let status = send(&missing, "GET", "/api/v1/ca/status", Some(&b.reader), Body::None).await.json();
    assert_eq!((status["service_status"].as_str(), status["ca_certificate"].is_null()), (Some("unavailable"), true));

    outage.end();
    assert_eq!(send(&app, "GET", "/api/v1/ca/status", Some(&b.reader), Body::None).await.json()["service_status"], "running");
    let signed = send(&app, "POST", "/api/v1/ca/sign/stuck.example.com", Some(&b.admin), Body::None).await;
    assert_eq!(signed.status, 200, "the key is back: {}", text(&signed));
    let cert = b.get("/puppet-ca/v1/certificate/stuck.example.com", None).await;
    support::assert_verifies(&b.ca_pem().await, &text(&cert));
}
