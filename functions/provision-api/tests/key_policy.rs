//! The key policy on agent provisioning (seed 000 `POST /api/v1/provision`): an RSA key with
//! public exponent 3 is refused with 400 and the seed's `{"error"}` body, nothing is issued and
//! the provision key stays usable; exponent 65537 is certified. On the embedded backend
//! (`::sqlite`) and on the AWS adapters against moto (`::moto`).

mod support;

use http::StatusCode;
use serde_json::json;
use support::{mint, openssl_verify, post, Backend};
use trustplane_core::on_both_backends;

on_both_backends!(an_rsa_csr_with_public_exponent_3_is_refused_with_400_and_the_key_stays_usable);

/// A CSR for a fresh RSA-2048 key with public exponent `e`, made by `openssl req`.
fn rsa_csr(e: u32, cn: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("openssl")
        .args(["req", "-new", "-newkey", "rsa:2048", "-pkeyopt", &format!("rsa_keygen_pubexp:{e}"), "-nodes", "-subj", &format!("/CN={cn}"), "-keyout"])
        .arg(dir.path().join("key.pem"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The `Exponent:` line `openssl x509 -text` prints for `cert_pem`.
fn exponent_line(cert_pem: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert_pem).unwrap();
    let out = std::process::Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(dir.path().join("cert.pem")).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().find(|l| l.contains("Exponent:")).unwrap_or_default().trim().to_owned()
}

async fn an_rsa_csr_with_public_exponent_3_is_refused_with_400_and_the_key_stays_usable(b: Backend) {
    let key = mint(&b, "agent-e3", 600).await;
    let refused = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": rsa_csr(3, "agent-e3") }), None).await;
    let expected = json!({ "error": "invalid CSR: RSA public exponent 3 is not accepted (65537 only)" });
    assert_eq!((refused.status, refused.json()), (StatusCode::BAD_REQUEST, expected));
    assert!(b.pki().certificates_by_common_name("agent-e3").await.unwrap().is_empty(), "nothing was issued");

    let accepted = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": rsa_csr(65537, "agent-e3") }), None).await;
    assert_eq!(accepted.status, StatusCode::OK, "{:?}", accepted.json());
    let body = accepted.json();
    let cert = body["agent_cert"].as_str().unwrap();
    openssl_verify(body["ca_cert"].as_str().unwrap(), cert);
    assert_eq!(exponent_line(cert), "Exponent: 65537 (0x10001)");
}
