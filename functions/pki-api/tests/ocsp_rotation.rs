//! OCSP responder key rotation (RFC 6960 §4.2.2.2): when the responder certificate is due for
//! renewal a new key is created in custody and certified, the old key is discarded (KMS:
//! scheduled for deletion on moto; key files: removed), pre-signed answers of the old key are
//! no longer served, and `openssl ocsp` verifies the new key's answers.

#[macro_use]
mod common;

use axum::body::Body;
use base64::Engine as _;
use common::*;
use http::Request;
use serde_json::json;
use tower::ServiceExt;
use trustplane_core::ports::{Condition, Item};

on_both_backends! {
    a_responder_due_for_renewal_gets_a_new_key_and_its_old_key_and_cached_answers_are_discarded => rotation;
}

async fn ask(env: &Env, issuer: &str, files: &Files, name: &str) -> String {
    ask_about(env, issuer, files, "leaf", name).await
}

/// Asks (nonce-less, so pre-signed answers may be served) about `<leaf>.pem` with `<leaf>.req`.
async fn ask_about(env: &Env, issuer: &str, files: &Files, leaf: &str, name: &str) -> String {
    let der = std::fs::read(files.0.path().join(format!("{leaf}.req"))).unwrap();
    let request = Request::post(format!("/ocsp/{issuer}")).header("content-type", "application/ocsp-request").body(Body::from(der)).unwrap();
    let response = env.app.clone().oneshot(request).await.unwrap();
    files.write(name, axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap());
    files.openssl(&["ocsp", "-respin", name, "-issuer", "issuer.pem", "-cert", &format!("{leaf}.pem"), "-no_nonce", "-CAfile", "root.pem", "-verify_other", "issuer.pem", "-resp_text"]).1
}

fn responder_id(text: &str) -> String {
    text.lines().find(|l| l.contains("Responder Id:")).unwrap_or_else(|| panic!("{text}")).trim().to_owned()
}

async fn responder(env: &Env, issuer: &str) -> Item {
    env.state.ports.store.get(&format!("OCSP#{issuer}"), "RESPONDER").await.unwrap().expect("a responder")
}

/// The responder's public key as openssl reads it from its certificate.
fn public_key(files: &Files, item: &Item, name: &str) -> String {
    let der = base64::engine::general_purpose::STANDARD.decode(item.data["certificateDer"].as_str().unwrap()).unwrap();
    files.write(name, der);
    files.openssl(&["x509", "-inform", "DER", "-in", name, "-noout", "-pubkey"]).1
}

/// Moves the stored responder certificate's renewal due (a day left), keeping its version.
async fn age(env: &Env, mut item: Item) {
    item.data["notAfter"] = json!(time::OffsetDateTime::now_utc().saturating_add(time::Duration::days(1)).format(&time::format_description::well_known::Rfc3339).unwrap());
    let version = item.version;
    env.state.ports.store.put(item, Condition::Version(version)).await.unwrap();
}

async fn rotation(env: Env) {
    let root = env.root(("EC", 256)).await;
    let issuer = env.intermediate(&root, ("EC", 256)).await;
    let subject = env.subject("www.example.com").await;
    let request = json!({ "subjectId": subject, "template": "TLS_SERVER", "validityDays": 30, "san": { "dnsNames": ["www.example.com"] } });
    let issued = env.post(&issue_path(&issuer), request.clone()).await.json();
    let other = env.post(&issue_path(&issuer), request).await.json();
    let files = Files::new();
    files.write("root.pem", pem(&root)).write("issuer.pem", pem(&issuer)).write("leaf.pem", pem(&issued)).write("other.pem", pem(&other));
    for leaf in ["leaf", "other"] {
        let (ok, text) = files.openssl(&["ocsp", "-issuer", "issuer.pem", "-cert", &format!("{leaf}.pem"), "-no_nonce", "-reqout", &format!("{leaf}.req")]);
        assert!(ok, "{text}");
    }
    let first = ask(&env, id(&issuer), &files, "first.der").await;
    assert!(first.contains("Response verify OK") && first.contains("leaf.pem: good"), "{first}");
    let other_before = ask_about(&env, id(&issuer), &files, "other", "other-before.der").await;
    assert_eq!(responder_id(&other_before), responder_id(&first));
    let old = responder(&env, id(&issuer)).await;
    let old_key_ref = old.data["key"]["key_ref"].as_str().unwrap().to_owned();
    let old_public_key = public_key(&files, &old, "old.der");
    age(&env, old).await;

    let rotated = ask(&env, id(&issuer), &files, "rotated.der").await;
    assert!(rotated.contains("Response verify OK") && rotated.contains("leaf.pem: good"), "{rotated}");
    assert_ne!(responder_id(&rotated), responder_id(&first), "the pre-signed answer of the old key is not served: {rotated}");
    let new = responder(&env, id(&issuer)).await;
    assert_ne!(new.data["key"]["key_ref"].as_str().unwrap(), old_key_ref);
    assert_ne!(public_key(&files, &new, "new.der"), old_public_key, "a new key, not a re-certified one");
    let keys = env.state.ports.custody.list_keys().await.unwrap();
    assert!(keys.iter().all(|k| k.key_ref != old_key_ref || !k.enabled), "the old key is scheduled for deletion or removed: {keys:?}");
    assert!(keys.iter().any(|k| k.key_ref == new.data["key"]["key_ref"].as_str().unwrap() && k.enabled), "{keys:?}");
    let other_after = ask_about(&env, id(&issuer), &files, "other", "other-after.der").await;
    assert!(other_after.contains("Response verify OK") && other_after.contains("other.pem: good"), "{other_after}");
    assert_eq!(responder_id(&other_after), responder_id(&rotated), "a rotation invalidates every pre-signed answer of the old key");
    let again = ask(&env, id(&issuer), &files, "again.der").await;
    assert_eq!(std::fs::read(files.0.path().join("again.der")).unwrap(), std::fs::read(files.0.path().join("rotated.der")).unwrap(), "the new key's answer is pre-signed: {again}");
}
