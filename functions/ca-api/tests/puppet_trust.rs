//! Issue 9 items 1–3 and 22: who may withdraw a request, signing only the expected CSR,
//! fingerprint history, autosign limits and one-time challenge passwords, bounds on what
//! anonymous agents can make the CA store, and the admin API's seed fidelity.

mod support;

use serde_json::json;
use std::sync::Arc;
use support::{assert_error, csr, send, text, Backend, Body};
use tokio::sync::Barrier;
use trustplane_core::custody::CaSigner;
use trustplane_core::domain::Certname;
use trustplane_core::on_both_backends;
use trustplane_core::ports::{KeyAlgorithm, KeyCustody, KeyHandle};

on_both_backends!(
    withdrawing_a_request_needs_a_key_with_ca_reject_or_ca_admin,
    signing_with_an_expected_fingerprint_refuses_a_swapped_csr,
    the_requests_list_shows_the_fingerprints_of_earlier_submissions,
    a_challenge_password_token_autosigns_once_and_bad_tokens_leave_the_request_pending,
    forty_concurrent_submissions_reusing_one_token_get_one_certificate,
    autosign_never_signs_a_certname_that_has_a_revoked_certificate,
    oversized_csrs_and_submissions_past_the_pending_limit_are_refused,
    pending_and_rejected_requests_expire_and_anonymous_failures_are_not_audited,
    admin_views_show_decimal_serials_and_ignore_unknown_query_parameters,
    a_failed_renewal_is_a_500_saying_renewal_failed_check_logs,
);

/// Key custody whose key answers the probe but whose signer fails (a KMS fault mid-renewal).
struct FailingSigner;

#[async_trait::async_trait]
impl KeyCustody for FailingSigner {
    async fn create_key(&self, _: &str, _: KeyAlgorithm) -> trustplane_core::Result<KeyHandle> {
        Err(trustplane_core::Error::internal("not in this test"))
    }

    async fn signer(&self, _: &KeyHandle) -> trustplane_core::Result<CaSigner> {
        Err(trustplane_core::Error::internal("Sign: KMSInternalException"))
    }

    async fn key_usable(&self, _: &KeyHandle) -> trustplane_core::Result<bool> {
        Ok(true)
    }
}

/// A P-256 CSR for `cn` made by `openssl req`, carrying `challenge` as its PKCS#9
/// challengePassword.
fn csr_with_challenge(cn: &str, challenge: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("req.cnf");
    let body = format!("[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n[dn]\nCN = {cn}\n[attrs]\nchallengePassword = {challenge}\n");
    std::fs::write(&conf, body).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-config"])
        .arg(&conf)
        .arg("-keyout")
        .arg(dir.path().join("key.pem"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

async fn mint_token(b: &Backend, body: serde_json::Value) -> String {
    let reply = b.post("/api/v1/ca/autosign-tokens", Some(body), Some(&b.admin)).await;
    assert_eq!(reply.status, 201, "{}", text(&reply));
    reply.json()["token"].as_str().unwrap().to_owned()
}

async fn is_signed(b: &Backend, certname: &str) -> bool {
    b.get(&format!("/puppet-ca/v1/certificate/{certname}"), None).await.status == 200
}

async fn withdrawing_a_request_needs_a_key_with_ca_reject_or_ca_admin(b: Backend) {
    let path = "/puppet-ca/v1/certificate_request/web01.example.com";
    b.submit("web01.example.com").await;
    assert_error(&send(&b.app, "DELETE", path, None, Body::None).await, 401, "UNAUTHORIZED", None);
    assert_error(&send(&b.app, "DELETE", path, Some(&b.reader), Body::None).await, 403, "PERMISSION_DENIED", None);
    assert_eq!(b.get(path, None).await.status, 200, "the request is still there");
    let rejecter = b.key_with(&["ca:reject"]).await;
    assert_eq!(send(&b.app, "DELETE", path, Some(&rejecter), Body::None).await.status, 204);
    b.submit("web01.example.com").await;
    let admin = b.key_with(&["ca:admin"]).await;
    assert_eq!(send(&b.app, "DELETE", path, Some(&admin), Body::None).await.status, 204);
}

async fn signing_with_an_expected_fingerprint_refuses_a_swapped_csr(b: Backend) {
    b.submit("web02.example.com").await;
    let shown = b.get("/api/v1/ca/requests", Some(&b.reader)).await.json()["data"][0]["fingerprint"].as_str().unwrap().to_owned();
    let other = "AB:".repeat(31) + "AB";
    let as_text = Body::Text(json!({ "fingerprint": other }).to_string());
    let refused = send(&b.app, "POST", "/api/v1/ca/sign/web02.example.com", Some(&b.admin), as_text).await;
    assert_error(&refused, 409, "FINGERPRINT_MISMATCH", Some("web02.example.com"));
    assert!(!is_signed(&b, "web02.example.com").await);
    let malformed = b.post("/api/v1/ca/sign/web02.example.com", Some(json!({ "fingerprint": "AB:CD" })), Some(&b.admin)).await;
    assert_error(&malformed, 400, "VALIDATION_FAILED", Some("web02.example.com"));
    let signed = b.post("/api/v1/ca/sign/web02.example.com", Some(json!({ "fingerprint": shown.to_lowercase() })), Some(&b.admin)).await;
    assert_eq!(signed.status, 200, "{}", text(&signed));
}

async fn the_requests_list_shows_the_fingerprints_of_earlier_submissions(b: Backend) {
    b.submit("web03.example.com").await;
    let first = b.get("/api/v1/ca/requests", Some(&b.reader)).await.json()["data"][0].clone();
    assert_eq!(first["fingerprint_history"], json!([]));
    assert_eq!(b.post("/api/v1/ca/reject/web03.example.com", None, Some(&b.admin)).await.status, 200);
    b.submit("web03.example.com").await;
    let again = b.get("/api/v1/ca/requests", Some(&b.reader)).await.json()["data"][0].clone();
    assert_ne!(again["fingerprint"], first["fingerprint"]);
    let history = again["fingerprint_history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{again}");
    assert_eq!((&history[0]["fingerprint"], &history[0]["request_time"], history[0]["status"].as_str()), (&first["fingerprint"], &first["request_time"], Some("rejected")));
}

async fn a_challenge_password_token_autosigns_once_and_bad_tokens_leave_the_request_pending(b: Backend) {
    let reader_mint = b.post("/api/v1/ca/autosign-tokens", Some(json!({ "ttl_seconds": 60 })), Some(&b.reader)).await;
    assert_error(&reader_mint, 403, "PERMISSION_DENIED", None);
    let bad_ttl = b.post("/api/v1/ca/autosign-tokens", Some(json!({ "ttl_seconds": 0 })), Some(&b.admin)).await;
    assert_error(&bad_ttl, 400, "VALIDATION_FAILED", None);
    let token = mint_token(&b, json!({ "certname_pattern": "*.tok.example.com", "ttl_seconds": 600 })).await;
    let outside = b.put_csr("db.other.example.com", &csr_with_challenge("db.other.example.com", &token)).await;
    assert_eq!(outside.status, 200, "{}", text(&outside));
    assert!(!is_signed(&b, "db.other.example.com").await, "the token's pattern does not allow it");
    let wrong = b.put_csr("wrong.tok.example.com", &csr_with_challenge("wrong.tok.example.com", "not-a-token")).await;
    assert_eq!(wrong.status, 200, "{}", text(&wrong));
    assert!(!is_signed(&b, "wrong.tok.example.com").await);
    assert_eq!(b.put_csr("web.tok.example.com", &csr_with_challenge("web.tok.example.com", &token)).await.status, 200);
    assert!(is_signed(&b, "web.tok.example.com").await, "a valid token signs on arrival");
    assert_eq!(b.put_csr("db.tok.example.com", &csr_with_challenge("db.tok.example.com", &token)).await.status, 200);
    assert!(!is_signed(&b, "db.tok.example.com").await, "a used token signs nothing");
    let short = mint_token(&b, json!({ "ttl_seconds": 1 })).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(b.put_csr("late.tok.example.com", &csr_with_challenge("late.tok.example.com", &short)).await.status, 200);
    assert!(!is_signed(&b, "late.tok.example.com").await, "an expired token signs nothing");
    assert_eq!(b.get("/puppet-ca/v1/certificate_request/late.tok.example.com", None).await.status, 200, "still pending");
}

async fn forty_concurrent_submissions_reusing_one_token_get_one_certificate(b: Backend) {
    let token = mint_token(&b, json!({ "ttl_seconds": 600 })).await;
    let names: Vec<String> = (0..40).map(|i| format!("n{i:02}.race.example.com")).collect();
    let pems: Vec<String> = names.iter().map(|n| csr_with_challenge(n, &token)).collect();
    let barrier = Arc::new(Barrier::new(names.len()));
    let tasks: Vec<_> = names
        .iter()
        .zip(pems)
        .map(|(name, pem)| {
            let (app, barrier, path) = (b.app.clone(), Arc::clone(&barrier), format!("/puppet-ca/v1/certificate_request/{name}"));
            tokio::spawn(async move {
                barrier.wait().await;
                send(&app, "PUT", &path, None, Body::Text(pem)).await.status.as_u16()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200, "never an error to the agent");
    }
    let mut signed = 0;
    for name in &names {
        signed += usize::from(is_signed(&b, name).await);
    }
    assert_eq!(signed, 1);
    let pending = b.get("/api/v1/ca/requests?limit=1000", Some(&b.reader)).await.json();
    assert_eq!(pending["total"], 39);
}

async fn autosign_never_signs_a_certname_that_has_a_revoked_certificate(b: Backend) {
    let app = b.app_with(|config, _| config.puppet_autosign = vec!["*.auto.example.com".into()]);
    let path = "/puppet-ca/v1/certificate_request/web.auto.example.com";
    assert_eq!(send(&app, "PUT", path, None, Body::Text(csr("web.auto.example.com").1)).await.status, 200);
    assert!(is_signed(&b, "web.auto.example.com").await);
    assert_eq!(b.delete("/api/v1/ca/certificates/web.auto.example.com", None, Some(&b.admin)).await.status, 200);
    assert_eq!(send(&app, "PUT", path, None, Body::Text(csr("web.auto.example.com").1)).await.status, 200);
    assert_eq!(b.get(path, None).await.status, 200, "the new request waits for an operator");
    let token = mint_token(&b, json!({ "ttl_seconds": 600 })).await;
    b.post("/api/v1/ca/reject/web.auto.example.com", None, Some(&b.admin)).await;
    assert_eq!(send(&app, "PUT", path, None, Body::Text(csr_with_challenge("web.auto.example.com", &token))).await.status, 200);
    assert_eq!(b.get(path, None).await.status, 200, "not even with a token");
}

async fn oversized_csrs_and_submissions_past_the_pending_limit_are_refused(b: Backend) {
    let (_, pem) = csr("big.example.com");
    let padded = format!("{pem}{}", " ".repeat(9 * 1024));
    assert_error(&b.put_csr("big.example.com", &padded).await, 413, "PAYLOAD_TOO_LARGE", None);
    let ca = b.ca().with_max_pending(2);
    for name in ["p1.example.com", "p2.example.com"] {
        ca.submit(&Certname::parse(name).unwrap(), &csr(name).1).await.unwrap();
    }
    let refused = ca.submit(&Certname::parse("p3.example.com").unwrap(), &csr("p3.example.com").1).await.unwrap_err();
    assert_eq!((refused.status().as_u16(), refused.code()), (503, Some("TOO_MANY_PENDING_REQUESTS")));
    assert_eq!(b.get("/api/v1/ca/requests", Some(&b.reader)).await.json()["total"], 2);
}

async fn pending_and_rejected_requests_expire_and_anonymous_failures_are_not_audited(b: Backend) {
    let store = &b.state.ports.store;
    b.submit("ttl.example.com").await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let pending = store.get("CSR#ttl.example.com", "CSR").await.unwrap().unwrap();
    assert!(pending.expires_at.is_some_and(|at| (at - now - 30 * 86_400).abs() < 120), "{:?}", pending.expires_at);
    b.post("/api/v1/ca/reject/ttl.example.com", None, Some(&b.admin)).await;
    let rejected = store.get("CSR#ttl.example.com", "CSR").await.unwrap().unwrap();
    assert!(rejected.expires_at.is_some_and(|at| at > now + 29 * 86_400), "{:?}", rejected.expires_at);
    let before = b.ca().audit_trail(100).await.unwrap().len();
    for _ in 0..3 {
        assert_eq!(b.put_csr("junk.example.com", "not a csr").await.status, 400);
    }
    assert_eq!(send(&b.app, "DELETE", "/puppet-ca/v1/certificate_request/none.example.com", None, Body::None).await.status, 401);
    assert_eq!(b.ca().audit_trail(100).await.unwrap().len(), before, "anonymous failures leave no audit record");
    let today = time::OffsetDateTime::now_utc().date();
    let pk = format!("AUDIT#ca#{:04}-{:02}-{:02}", today.year(), u8::from(today.month()), today.day());
    let page = store.query(trustplane_core::ports::Query::partition(pk)).await.unwrap();
    assert_eq!(page.items.len(), before, "the trail is kept in the partition of its day");
    let status = b.get("/api/v1/ca/status", Some(&b.reader)).await.json();
    assert_eq!(status["last_operation"]["type"], "reject", "{status}");
}

async fn admin_views_show_decimal_serials_and_ignore_unknown_query_parameters(b: Backend) {
    b.submit("serial.example.com").await;
    let signed = b.sign("serial.example.com").await;
    let serial = signed["serial"].as_str().unwrap().to_owned();
    assert!(!serial.is_empty() && serial.chars().all(|c| c.is_ascii_digit()), "{signed}");
    let listed = b.get("/api/v1/ca/certificates?colour=red&certname=serial.example.com", Some(&b.reader)).await;
    assert_eq!(listed.status, 200, "{}", text(&listed));
    assert_eq!(listed.json()["data"][0]["serial"].as_str(), Some(serial.as_str()));
    let details = b.get("/api/v1/ca/certificates/serial.example.com", Some(&b.reader)).await.json();
    assert_eq!(details["serial"].as_str(), Some(serial.as_str()));
    assert_eq!(b.get("/api/v1/ca/requests?page=2&status=signed", Some(&b.reader)).await.status, 200);
    assert_error(&b.get("/api/v1/ca/certificates?limit=0&colour=red", Some(&b.reader)).await, 400, "VALIDATION_FAILED", None);
}

async fn a_failed_renewal_is_a_500_saying_renewal_failed_check_logs(b: Backend) {
    let app = b.app_with(|_, ports| ports.custody = Arc::new(FailingSigner));
    let reply = send(&app, "POST", "/api/v1/ca/renew", Some(&b.admin), Body::Json(json!({ "backup": false }))).await;
    assert_error(&reply, 500, "INTERNAL_ERROR", None);
    assert_eq!(reply.json()["error"], "Renewal failed (check logs)");
}
