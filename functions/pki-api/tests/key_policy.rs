//! The key policy on seed 004 issuance with a `csr`: an RSA key with public exponent 3 is
//! refused with a 400 problem+json naming the reason and nothing enters the inventory;
//! exponent 65537 is certified. On the embedded backend (`local::…`) and on the AWS adapters
//! against moto (`moto::…`).

#[macro_use]
mod common;

use common::*;
use serde_json::json;

on_both_backends! {
    an_rsa_csr_with_public_exponent_3_is_refused_with_a_400_problem => exponent_3_is_refused;
}

/// A CSR for a fresh RSA-2048 key with public exponent `e`, made by `openssl req` in `files`.
fn rsa_csr(files: &Files, e: u32) -> String {
    let (ok, out) = files.openssl(&["req", "-new", "-newkey", "rsa:2048", "-pkeyopt", &format!("rsa_keygen_pubexp:{e}"), "-nodes", "-subj", "/CN=e.example", "-keyout", "leaf.key", "-out", "leaf.csr"]);
    assert!(ok, "{out}");
    files.read("leaf.csr")
}

async fn exponent_3_is_refused(env: Env) {
    let root = env.root(("EC", 256)).await;
    let subject = env.subject("e.example").await;
    let files = Files::new();
    let body = |csr: String| json!({ "subjectId": subject, "template": "TLS_CLIENT", "validityDays": 30, "csr": csr });

    let refused = env.post(&issue_path(&root), body(rsa_csr(&files, 3))).await;
    assert_eq!(refused.status, 400, "{}", refused.json());
    assert_eq!(refused.headers["content-type"], "application/problem+json");
    let problem = refused.json();
    assert_eq!(problem["status"], 400);
    assert!(problem["detail"].as_str().unwrap_or_default().contains("RSA public exponent 3 is not accepted (65537 only)"), "{problem}");
    let listed = env.get(&format!("/api/v1/certificates?issuerId={}", id(&root))).await.json();
    assert_eq!(listed["data"], json!([]), "nothing was issued");

    let accepted = env.post(&issue_path(&root), body(rsa_csr(&files, 65537))).await;
    assert_eq!(accepted.status, 200, "{}", accepted.json());
    files.write("root.pem", pem(&root)).write("leaf.pem", pem(&accepted.json()));
    let (ok, out) = files.openssl(&["verify", "-x509_strict", "-CAfile", "root.pem", "leaf.pem"]);
    assert!(ok && out.contains("leaf.pem: OK"), "{out}");
    let (ok, text) = files.openssl(&["x509", "-in", "leaf.pem", "-noout", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains("Exponent: 65537 (0x10001)"), "{text}");
}
