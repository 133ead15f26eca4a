//! The key policy on the Puppet CA: an RSA key with public exponent 3 is refused with 400
//! `VALIDATION_FAILED` when the agent submits it, and again when an operator signs a request
//! stored before the policy existed; nothing is issued. On the embedded backend (`::sqlite`)
//! and on the AWS adapters against moto (`::moto`).

mod support;

use support::{assert_error, assert_verifies, text, Backend};
use trustplane_core::on_both_backends;

on_both_backends!(
    an_rsa_csr_with_public_exponent_3_is_refused_at_submission_with_400,
    signing_a_stored_request_with_public_exponent_3_is_refused_with_400,
);

const REASON: &str = "RSA public exponent 3 is not accepted (65537 only)";

/// A CSR for a fresh RSA-2048 key with public exponent `e` and `CN=<cn>`, made by `openssl req`.
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

async fn an_rsa_csr_with_public_exponent_3_is_refused_at_submission_with_400(b: Backend) {
    let refused = b.put_csr("e3.example.com", &rsa_csr(3, "e3.example.com")).await;
    assert_error(&refused, 400, "VALIDATION_FAILED", None);
    assert_eq!(refused.json()["error"], format!("invalid CSR: {REASON}"));
    assert_eq!(b.get("/puppet-ca/v1/certificate_request/e3.example.com", None).await.status, 404, "nothing is pending");

    assert_eq!(b.put_csr("e3.example.com", &rsa_csr(65537, "e3.example.com")).await.status, 200);
    b.sign("e3.example.com").await;
    let cert = b.get("/puppet-ca/v1/certificate/e3.example.com", None).await;
    assert_eq!(cert.status, 200, "{}", text(&cert));
    assert_verifies(&b.ca_pem().await, &text(&cert));
}

/// A request accepted by a release without the exponent rule: the pending item's CSR is
/// swapped for an exponent-3 one behind the API, as an upgrade would find it.
async fn signing_a_stored_request_with_public_exponent_3_is_refused_with_400(b: Backend) {
    b.submit("legacy.example.com").await;
    let store = b.state.ports.store.as_ref();
    let mut item = store.get("CSR#legacy.example.com", "CSR").await.unwrap().expect("the pending request");
    item.data["csr"] = rsa_csr(3, "legacy.example.com").into();
    store.put(item, trustplane_core::ports::Condition::Always).await.unwrap();

    let signed = b.post("/api/v1/ca/sign/legacy.example.com", None, Some(&b.admin)).await;
    assert_error(&signed, 400, "VALIDATION_FAILED", Some("legacy.example.com"));
    assert!(signed.json()["error"].as_str().unwrap_or_default().contains(REASON), "{}", text(&signed));
    assert_eq!(b.get("/puppet-ca/v1/certificate/legacy.example.com", None).await.status, 404, "nothing was issued");
}
