//! The OCSP responder (RFC 6960) against `openssl ocsp` over `trustplane serve`: good,
//! revoked (with its reason) and unknown serials, responses signed by a delegated responder
//! that OpenSSL verifies up to the root, the nonce echoed, the GET form, and the responder
//! named in issued certificates' AIA, pre-signed answers served again until the status changes.

mod common;

use common::Server;
use std::path::Path;
use std::process::Command;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `openssl ocsp` asking `url` about `target` (`-cert <file>` or `-serial <n>`); its output.
fn ask(dir: &Path, url: &str, target: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(["ocsp", "-issuer", &dir.join("issuer.pem").to_string_lossy(), "-url", url])
        .args(["-CAfile", &dir.join("root.pem").to_string_lossy(), "-verify_other", &dir.join("issuer.pem").to_string_lossy()])
        .args(target)
        .output()
        .expect("openssl");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn openssl_ocsp_sees_good_revoked_and_unknown_serials_in_verified_responses_with_the_nonce_echoed() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let key = server.admin_key();
    let (_, authorities) = server.curl(&["/api/v1/authorities", "-H", &format!("x-api-key: {key}")]);
    let authorities: serde_json::Value = serde_json::from_str(&authorities).unwrap();
    let issuer = authorities["data"].as_array().unwrap().iter().find(|a| a["type"] == "INTERMEDIATE").expect("the default issuing CA")["id"].as_str().unwrap().to_owned();
    let (status, subject) = server.post_json("/api/v1/subjects", Some(&key), &serde_json::json!({ "commonName": "www.example.com", "organization": "Example", "country": "US" }));
    assert_eq!(status, 201, "{subject}");
    let request = serde_json::json!({ "subjectId": subject["id"], "template": "TLS_SERVER", "validityDays": 30, "san": { "dnsNames": ["www.example.com"] } });
    let (status, issued) = server.post_json(&format!("/api/v1/issuers/{issuer}/certificates"), Some(&key), &request);
    assert_eq!(status, 200, "{issued}");

    let dir = tempfile::tempdir().unwrap();
    let (_, chain) = server.curl(&[&format!("/api/v1/authorities/{issuer}/chain")]);
    let blocks: Vec<String> = chain.split_inclusive("-----END CERTIFICATE-----\n").map(str::to_owned).collect();
    assert_eq!(blocks.len(), 2, "{chain}");
    write(dir.path(), "issuer.pem", &blocks[0]);
    write(dir.path(), "root.pem", &blocks[1]);
    let leaf = write(dir.path(), "leaf.pem", issued["certificateContent"].as_str().unwrap());
    let url = format!("{}/ocsp/{issuer}", server.base);
    let aia = Command::new("openssl").args(["x509", "-noout", "-ocsp_uri", "-in", &leaf]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&aia.stdout).trim(), url, "the certificate's AIA names this responder");

    let good = ask(dir.path(), &url, &["-cert", &leaf]);
    assert!(good.contains("Response verify OK") && good.contains("leaf.pem: good"), "{good}");
    assert!(!good.contains("WARNING: no nonce"), "the nonce is echoed: {good}");

    let respout = |name: &str| {
        let file = dir.path().join(name);
        let text = ask(dir.path(), &url, &["-cert", &leaf, "-no_nonce", "-respout", file.to_str().unwrap()]);
        (text, std::fs::read(&file).unwrap())
    };
    let (first, first_bytes) = respout("first.der");
    let (second, second_bytes) = respout("second.der");
    assert!(first.contains("leaf.pem: good") && second.contains("Response verify OK"), "{first}{second}");
    assert_eq!(first_bytes, second_bytes, "a nonce-less answer is served pre-signed, not signed again");

    let path = format!("/api/v1/certificates/{}/revocation", issued["id"].as_str().unwrap());
    let (status, revoked) = server.post_json(&path, Some(&key), &serde_json::json!({ "reason": "KEY_COMPROMISE" }));
    assert_eq!(status, 202, "{revoked}");
    let revoked = ask(dir.path(), &url, &["-cert", &leaf]);
    assert!(revoked.contains("Response verify OK") && revoked.contains("leaf.pem: revoked") && revoked.contains("Reason: keyCompromise"), "{revoked}");

    let (cached, _) = respout("third.der");
    assert!(cached.contains("leaf.pem: revoked"), "a revocation is answered at once, cache or not: {cached}");

    let unknown = ask(dir.path(), &url, &["-serial", "0x1234"]);
    assert!(unknown.contains("Response verify OK") && unknown.contains("0x1234: unknown"), "{unknown}");
    let stranger = ask(dir.path(), &format!("{}/ocsp/00000000-0000-4000-8000-000000000000", server.base), &["-cert", &leaf]);
    assert!(stranger.contains("unauthorized"), "{stranger}");

    let req = dir.path().join("req.der");
    let made = Command::new("openssl").args(["ocsp", "-issuer", &dir.path().join("issuer.pem").to_string_lossy(), "-cert", &leaf, "-no_nonce", "-reqout"]).arg(&req).output().unwrap();
    assert!(made.status.success());
    let encoded = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(&req).unwrap()).replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
    };
    let resp = dir.path().join("resp.der");
    let fetched = Command::new("curl").args(["-s", "-o"]).arg(&resp).args(["-w", "%{content_type}", &format!("{url}/{encoded}")]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&fetched.stdout), "application/ocsp-response");
    let read = Command::new("openssl").args(["ocsp", "-respin"]).arg(&resp).args(["-issuer", &dir.path().join("issuer.pem").to_string_lossy(), "-cert", &leaf]).args(["-CAfile", &dir.path().join("root.pem").to_string_lossy(), "-verify_other", &dir.path().join("issuer.pem").to_string_lossy()]).output().unwrap();
    let read = format!("{}{}", String::from_utf8_lossy(&read.stdout), String::from_utf8_lossy(&read.stderr));
    assert!(read.contains("Response verify OK") && read.contains("leaf.pem: revoked"), "GET form: {read}");
}
