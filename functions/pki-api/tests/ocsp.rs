//! The OCSP responder through the pki-api router on both backends (KMS-held responder key and
//! S3-cached answers on moto): requests made and answers read by `openssl ocsp`; a nonce-less
//! answer is served again pre-signed until the certificate's status changes.

#[macro_use]
mod common;

use axum::body::Body;
use common::*;
use http::Request;
use serde_json::json;
use tower::ServiceExt;

on_both_backends! {
    the_responder_answers_good_then_revoked_with_a_delegated_signature_openssl_verifies => good_then_revoked;
}

async fn post(env: &Env, issuer: &str, der: Vec<u8>) -> (String, Vec<u8>) {
    let request = Request::post(format!("/ocsp/{issuer}")).header("content-type", "application/ocsp-request").body(Body::from(der)).unwrap();
    let response = env.app.clone().oneshot(request).await.unwrap();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (content_type, axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap().to_vec())
}

async fn good_then_revoked(env: Env) {
    let root = env.root(("EC", 256)).await;
    let issuer = env.intermediate(&root, ("EC", 256)).await;
    let subject = env.subject("www.example.com").await;
    let request = json!({ "subjectId": subject, "template": "TLS_SERVER", "validityDays": 30, "san": { "dnsNames": ["www.example.com"] } });
    let issued = env.post(&issue_path(&issuer), request).await.json();
    let files = Files::new();
    files.write("root.pem", pem(&root)).write("issuer.pem", pem(&issuer)).write("leaf.pem", pem(&issued));
    let (ok, text) = files.openssl(&["ocsp", "-issuer", "issuer.pem", "-cert", "leaf.pem", "-no_nonce", "-reqout", "req.der"]);
    assert!(ok, "{text}");
    let ask = |name: &'static str| {
        let files = &files;
        let env = &env;
        let issuer = id(&issuer).to_owned();
        async move {
            let (content_type, der) = post(env, &issuer, std::fs::read(files.0.path().join("req.der")).unwrap()).await;
            assert_eq!(content_type, "application/ocsp-response");
            files.write(name, der);
            files.openssl(&["ocsp", "-respin", name, "-issuer", "issuer.pem", "-cert", "leaf.pem", "-no_nonce", "-CAfile", "root.pem", "-verify_other", "issuer.pem"]).1
        }
    };
    let good = ask("good.der").await;
    assert!(good.contains("Response verify OK") && good.contains("leaf.pem: good"), "{good}");
    ask("again.der").await;
    assert_eq!(files.0.path().join("good.der").metadata().unwrap().len(), files.0.path().join("again.der").metadata().unwrap().len());
    assert_eq!(std::fs::read(files.0.path().join("good.der")).unwrap(), std::fs::read(files.0.path().join("again.der")).unwrap(), "served pre-signed from the blob store");
    let revoked = env.post(&format!("/api/v1/certificates/{}/revocation", id(&issued)), json!({ "reason": "SUPERSEDED" })).await;
    assert_eq!(revoked.status, 202, "{}", revoked.json());
    let after = ask("revoked.der").await;
    assert!(after.contains("Response verify OK") && after.contains("leaf.pem: revoked") && after.contains("superseded"), "{after}");
    let (_, garbage) = post(&env, id(&issuer), b"not DER".to_vec()).await;
    assert_eq!(garbage, [0x30, 0x03, 0x0a, 0x01, 0x01], "malformedRequest");
}
