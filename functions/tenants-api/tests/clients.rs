//! What other software sees: an independent JWT library (PyJWT) verifies the confirm token,
//! per-IP rate limits answer 429 with `Retry-After`, and a webhook receiver gets signed
//! `tenant.active` and `tenant.failed` notifications that it checks with openssl, retried until
//! it accepts them.

mod support;

use std::sync::{Arc, Mutex};
use support::faults::{Fault, Faulty};
use support::*;
use trustplane_core::services::tenants::StepName;
use trustplane_core::on_both_backends;

on_both_backends!(
    the_init_rate_limit_is_per_client_ip_and_says_when_to_retry,
    pending_tenants_per_ip_are_capped_until_one_is_confirmed,
    webhooks_are_signed_and_retried_until_the_receiver_accepts,
);

fn python() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/.venv/bin/python");
    assert!(std::path::Path::new(path).exists(), "{path} is missing: run the tests through infra/test.sh, which installs PyJWT");
    path.to_owned()
}

const PYJWT: &str = r#"
import json, sys, jwt
key = bytes.fromhex(sys.argv[1])
claims = jwt.decode(sys.argv[2], key, algorithms=["HS256"], audience="ecommerce-provisioning", issuer="ecommerce-api",
                    options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"]})
print(json.dumps({"header": jwt.get_unverified_header(sys.argv[2]), "claims": claims}))
"#;

fn pyjwt(key_hex: &str, token: &str) -> std::process::Output {
    std::process::Command::new(python()).args(["-c", PYJWT, key_hex, token]).output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn pyjwt_verifies_the_confirm_token_and_refuses_any_tampered_byte() {
    let b = Backend::sqlite().await;
    let reply = init(&b, "Acme Corporation", &slug("jwt"), "Premium").await;
    let (id, token) = (reply.json()["provisioningId"].as_str().unwrap().to_owned(), reply.json()["confirmToken"].as_str().unwrap().to_owned());
    let key = std::fs::read(b.dir.as_ref().unwrap().path().join("tenant-token.key")).unwrap();
    let key_hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let out = pyjwt(&key_hex, &token);
    assert!(out.status.success(), "PyJWT refused our token: {}", String::from_utf8_lossy(&out.stderr));
    let decoded: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decoded["header"], serde_json::json!({ "alg": "HS256", "typ": "JWT" }));
    let claims = &decoded["claims"];
    assert_eq!((claims["sub"].as_str(), claims["type"].as_str()), (Some(id.as_str()), Some("confirm_provisioning")));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());
    for i in [0, token.len() / 3, token.len() / 2, token.len() - 2] {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(!pyjwt(&key_hex, &tampered).status.success(), "PyJWT accepted a token tampered at byte {i}");
        assert_eq!(confirm(&b, &tampered).await.status, 401, "we accepted a token tampered at byte {i}");
    }
    let wrong_key = "00".repeat(32);
    assert!(!pyjwt(&wrong_key, &token).status.success(), "another key must not verify it");
}

async fn the_init_rate_limit_is_per_client_ip_and_says_when_to_retry(_: Backend) {
    let tight = |c: &mut trustplane_core::config::Config| {
        c.tenants.init_burst = 3;
        c.tenants.init_per_minute = 1;
    };
    for b in [Backend::sqlite_with(tight).await, Backend::moto_with(tight).await] {
        for _ in 0..3 {
            assert_eq!(init_from(&b, "Acme Corporation", &slug("rl"), "Basic", Some("198.51.100.1")).await.status, 200);
        }
        let limited = init_from(&b, "Acme Corporation", &slug("rl"), "Basic", Some("198.51.100.1")).await;
        assert_eq!(limited.status, 429);
        let wait: u64 = limited.header("retry-after").expect("Retry-After").parse().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(limited.json()["type"], "https://tools.ietf.org/html/rfc6585#section-4");
        assert_eq!(limited.json()["status"], 429);
        assert_eq!(init_from(&b, "Acme Corporation", &slug("rl"), "Basic", Some("198.51.100.2")).await.status, 200, "another IP is unaffected");
        assert_eq!(init_from(&b, "Acme", &slug("rl"), "InvalidPlan", Some("198.51.100.1")).await.status, 400, "invalid input is refused before the limit is charged");
    }
}

async fn pending_tenants_per_ip_are_capped_until_one_is_confirmed(_: Backend) {
    let cap = |c: &mut trustplane_core::config::Config| c.tenants.max_pending_per_ip = 2;
    for b in [Backend::sqlite_with(cap).await, Backend::moto_with(cap).await] {
        let first = init_from(&b, "Acme Corporation", &slug("cap"), "Basic", Some("198.51.100.9")).await;
        assert_eq!(init_from(&b, "Acme Corporation", &slug("cap"), "Basic", Some("198.51.100.9")).await.status, 200);
        let capped = init_from(&b, "Acme Corporation", &slug("cap"), "Basic", Some("198.51.100.9")).await;
        assert_eq!(capped.status, 429);
        assert!(capped.header("retry-after").is_some());
        assert_eq!(confirm(&b, first.json()["confirmToken"].as_str().unwrap()).await.status, 200);
        assert_eq!(init_from(&b, "Acme Corporation", &slug("cap"), "Basic", Some("198.51.100.9")).await.status, 200, "a confirmed tenant frees its slot");
    }
}

/// A webhook receiver on loopback: refuses the first `refuse` deliveries with 500.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(http::HeaderMap, Vec<u8>)>>>,
    refuse: Arc<Mutex<u32>>,
}

async fn receive(axum::extract::State(r): axum::extract::State<Receiver>, headers: http::HeaderMap, body: bytes::Bytes) -> http::StatusCode {
    r.seen.lock().unwrap().push((headers, body.to_vec()));
    let mut refuse = r.refuse.lock().unwrap();
    if *refuse > 0 {
        *refuse -= 1;
        return http::StatusCode::INTERNAL_SERVER_ERROR;
    }
    http::StatusCode::NO_CONTENT
}

async fn start_receiver(refuse: u32) -> (Receiver, String) {
    let receiver = Receiver { refuse: Arc::new(Mutex::new(refuse)), ..Receiver::default() };
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, url)
}

fn openssl_hmac(secret: &str, message: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", secret, "-r"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(message).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

const SECRET: &str = "a-webhook-secret-of-some-length";

/// The notification in `body`, once its signature (over `<timestamp>.<body>`) checks out with openssl.
fn signed_note(headers: &http::HeaderMap, body: &[u8]) -> serde_json::Value {
    let ts = headers["x-trustplane-timestamp"].to_str().unwrap();
    let mut signed = format!("{ts}.").into_bytes();
    signed.extend_from_slice(body);
    assert_eq!(headers["x-trustplane-signature"].to_str().unwrap(), format!("sha256={}", openssl_hmac(SECRET, &signed)));
    serde_json::from_slice(body).unwrap()
}

fn hooked(url: String) -> impl FnOnce(&mut trustplane_core::config::Config) {
    move |c| {
        c.tenants.webhook_url = Some(url);
        c.tenants.webhook_secret = Some(SECRET.into());
    }
}

async fn webhooks_are_signed_and_retried_until_the_receiver_accepts(_: Backend) {
    for moto in [false, true] {
        let (receiver, url) = start_receiver(2).await;
        let b = if moto { Backend::moto_with(hooked(url)).await } else { Backend::sqlite_with(hooked(url)).await };
        let s = slug("hook");
        let (id, _) = confirmed(&b, &s, "Basic").await;
        b.pump().await;
        let seen = receiver.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3, "two refusals, then acceptance");
        for (headers, body) in &seen {
            let note = signed_note(headers, body);
            assert_eq!((note["event"].as_str(), note["provisioningId"].as_str(), note["tenantSlug"].as_str()), (Some("tenant.active"), Some(id.as_str()), Some(s.as_str())));
            assert_eq!(note["eventId"], format!("{id}:Active:1"), "the same event id on every retry");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_that_fails_is_announced_once_by_a_signed_tenant_failed_webhook_on_both_backends() {
    for moto in [false, true] {
        let (receiver, url) = start_receiver(0).await;
        let b = if moto { Backend::moto_with(hooked(url)).await } else { Backend::sqlite_with(hooked(url)).await };
        let s = slug("sad");
        let (id, _) = confirmed(&b, &s, "Basic").await;
        let broken = Faulty::new(b.state.ports.tenant_dbs.clone(), StepName::SeedData, Fault::Permanent);
        b.pump_with(&tenant_worker::TenantWorker::new(b.tenants().with_databases(broken))).await;
        assert_eq!(status_json(&b, &id).await["status"], "Failed");
        let seen = receiver.seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "moto: {moto}: accepted at the first delivery");
        let note = signed_note(&seen[0].0, &seen[0].1);
        let stamp = note["timestamp"].as_str().unwrap_or_default();
        assert!(stamp.len() == 20 && stamp.ends_with('Z'), "{note}");
        let want = serde_json::json!({
            "event": "tenant.failed", "eventId": format!("{id}:Failed:1"), "provisioningId": id, "status": "Failed",
            "tenantSlug": s, "dbName": null, "timestamp": stamp,
        });
        assert_eq!(note, want, "moto: {moto}");
    }
}
