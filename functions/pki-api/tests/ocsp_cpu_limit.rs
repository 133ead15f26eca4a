//! The OCSP responder's first answer for an RSA authority creates the responder's RSA key: an
//! unauthenticated request must not start that CPU-heavy work beyond the process-wide limit
//! (`services::pki::cpu`). With the one slot taken, the request is a retryable 503
//! problem+json with `Retry-After` that creates no responder; once the slot is free, the same
//! request is answered and OpenSSL verifies the answer. Embedded backend: its key custody
//! generates keys on this machine's cores.

#[macro_use]
mod common;

use axum::body::Body;
use common::*;
use http::Request;
use tower::ServiceExt;
use trustplane_core::services::pki::cpu::{install, process, CpuLimit, RETRY_AFTER_SECS};

async fn ask(env: &Env, issuer: &str, der: Vec<u8>) -> (u16, Option<String>, Option<String>, Vec<u8>) {
    let request = Request::post(format!("/ocsp/{issuer}")).header("content-type", "application/ocsp-request").body(Body::from(der)).unwrap();
    let response = env.app.clone().oneshot(request).await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (status, content_type, retry_after) = (response.status().as_u16(), header("content-type"), header("retry-after"));
    (status, content_type, retry_after, axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_ocsp_request_that_needs_an_rsa_responder_key_while_the_cpu_limit_is_full_is_a_retryable_503() {
    install(CpuLimit::new(1, 0)).expect("the limit is installed before any CPU-heavy work");
    let env = Env::local().await;
    let root = env.root(("RSA", 2048)).await;
    let leaf = env.leaf(&root).await;
    let files = Files::new();
    files.write("root.pem", pem(&root)).write("leaf.pem", pem(&leaf));
    let (made, text) = files.openssl(&["ocsp", "-issuer", "root.pem", "-cert", "leaf.pem", "-no_nonce", "-reqout", "req.der"]);
    assert!(made, "{text}");
    let request = std::fs::read(files.0.path().join("req.der")).unwrap();

    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn(process().run("holding the only slot", async move {
        let _ = released.await;
        Ok(())
    }));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (status, content_type, retry_after, body) = ask(&env, id(&root), request.clone()).await;
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!((status, content_type.as_deref()), (503, Some("application/problem+json")), "{problem}");
    assert_eq!(retry_after, Some(RETRY_AFTER_SECS.to_string()));
    assert!(problem["detail"].as_str().unwrap_or_default().contains("RSA key generation"), "{problem}");

    release.send(()).unwrap();
    holder.await.unwrap().unwrap();
    let (status, content_type, _, answer) = ask(&env, id(&root), request).await;
    assert_eq!((status, content_type.as_deref()), (200, Some("application/ocsp-response")));
    files.write("answer.der", answer);
    let (_, checked) = files.openssl(&["ocsp", "-respin", "answer.der", "-issuer", "root.pem", "-cert", "leaf.pem", "-no_nonce", "-CAfile", "root.pem"]);
    assert!(checked.contains("Response verify OK") && checked.contains("leaf.pem: good"), "{checked}");
}
