//! The CA hierarchy through a real `trustplane serve` with curl, checked with openssl: build
//! root → intermediate → leaf, revoke, and watch the CRL the in-process worker publishes.

mod common;

use common::Server;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn post(s: &Server, path: &str, body: serde_json::Value) -> serde_json::Value {
    s.post_json(path, Some(&s.admin_key()), &body).1
}

fn download(url: &str, to: &Path) -> bool {
    Command::new("curl").args(["-sf", "-o"]).arg(to).arg(url).status().unwrap().success()
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn authority(s: &Server, cn: &str, parent: Option<&str>, path_len: u32) -> String {
    let subject = post(s, "/api/v1/subjects", serde_json::json!({ "commonName": cn, "organization": "E2E", "country": "US" }));
    let kind = if parent.is_some() { "INTERMEDIATE" } else { "ROOT" };
    let body = serde_json::json!({ "subjectId": subject["id"], "type": kind, "parentAuthorityId": parent,
        "keySpec": { "algorithm": "EC", "size": 384 }, "policy": { "validityYears": 4 + path_len, "pathLenConstraint": path_len } });
    let created = post(s, "/api/v1/authorities", body);
    created["id"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned()
}

#[test]
fn a_revocation_reaches_the_published_crl_within_seconds_and_openssl_sees_it() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let s = Server::start(data.path());
    let root = authority(&s, "E2E Root", None, 1);
    let int = authority(&s, "E2E Issuing", Some(&root), 0);
    let web = post(&s, "/api/v1/subjects", serde_json::json!({ "commonName": "www.e2e.example" }));
    let issued = post(&s, &format!("/api/v1/issuers/{int}/certificates"), serde_json::json!({
        "subjectId": web["id"], "template": "TLS_SERVER", "validityDays": 30, "san": { "dnsNames": ["www.e2e.example"] } }));
    std::fs::write(work.path().join("leaf.pem"), issued["certificateContent"].as_str().unwrap()).unwrap();
    let chain: Vec<&str> = issued["chain"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    std::fs::write(work.path().join("int.pem"), chain[0]).unwrap();
    std::fs::write(work.path().join("root.pem"), chain[1]).unwrap();
    std::fs::write(work.path().join("bundle.pem"), format!("{}{}", chain[0], chain[1])).unwrap();
    assert!(openssl(work.path(), &["verify", "-CAfile", "root.pem", "-untrusted", "int.pem", "leaf.pem"]).contains("leaf.pem: OK"));

    let revoked = post(&s, &format!("/api/v1/certificates/{}/revocation", issued["id"].as_str().unwrap()), serde_json::json!({ "reason": "KEY_COMPROMISE" }));
    assert_eq!(revoked["status"], "REVOKED", "{revoked}");
    let serial = issued["serialNumber"].as_str().unwrap().to_ascii_uppercase();
    let crl = work.path().join("crl.der");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(download(&format!("{}/crl/{int}.crl", s.base), &crl), "the CRL is published at its distribution point");
        if openssl(work.path(), &["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"]).to_ascii_uppercase().contains(serial.trim_start_matches('0')) {
            break;
        }
        assert!(Instant::now() < deadline, "the revoked serial did not reach the CRL within 10 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    openssl(work.path(), &["crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem"]);
    assert!(openssl(work.path(), &["crl", "-in", "crl.pem", "-CAfile", "int.pem", "-noout"]).contains("verify OK"));
    let text = openssl(work.path(), &["crl", "-in", "crl.pem", "-noout", "-text"]);
    assert!(text.contains("Key Compromise"), "{text}");
    let check = openssl(work.path(), &["verify", "-crl_check", "-CAfile", "bundle.pem", "-CRLfile", "crl.pem", "leaf.pem"]);
    assert!(check.contains("certificate revoked"), "{check}");
    let leaf_text = openssl(work.path(), &["x509", "-in", "leaf.pem", "-noout", "-text"]);
    assert!(leaf_text.contains(&format!("{}/crl/{int}.crl", s.base)), "the leaf names the served CRL: {leaf_text}");
}
