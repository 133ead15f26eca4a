//! End-to-end: the real `trustplane serve` binary, driven with curl.

mod common;

use common::Server;
use serde_json::json;

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

fn create_key(server: &Server, admin: &str, scopes: &[&str]) -> String {
    let (code, reply) = server.post_json("/api/v1/api-keys", Some(admin), &json!({ "name": "e2e", "scopes": scopes }));
    assert_eq!(code, 201, "{reply}");
    reply["key"].as_str().unwrap().to_owned()
}

#[test]
fn serve_keeps_minted_keys_across_a_restart_and_answers_401_and_403() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let key_file = dir.path().join("admin-api-key");
    assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    let admin = server.admin_key();
    let ops = create_key(&server, &admin, &["admin"]);
    let reader = create_key(&server, &admin, &["ca:read"]);
    let first = server.stop();
    assert!(first.status.success(), "serve did not shut down cleanly on SIGTERM: {}", first.status);
    assert!(first.stdout.contains(&admin), "the first admin key is printed once on first start");

    let server = Server::start(dir.path());
    let (code, body) = server.curl(&["/api/v1/api-keys", "-H", &format!("x-api-key: {ops}")]);
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["data"].as_array().unwrap().len(), 3);
    let (code, body) = server.curl(&["/api/v1/api-keys", "-H", &format!("x-api-key: {reader}")]);
    assert_eq!((code, json(&body)["status"].as_u64()), (403, Some(403)));
    let (code, _) = server.curl(&["/api/v1/api-keys", "-H", "x-api-key: tp_not-a-key"]);
    assert_eq!(code, 401);
    let second = server.stop();
    assert!(second.status.success());
    assert!(!second.stdout.contains("tp_"), "a restart must not mint or print another admin key: {}", second.stdout);
}

#[test]
fn serve_health_reports_ok_and_a_correlation_id_header() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (code, body) = server.curl(&["/health"]);
    assert_eq!((code, json(&body)["status"].as_str()), (200, Some("ok")));
    let (_, headers) = server.curl(&["/health", "-D", "-", "-o", "/dev/null"]);
    assert!(headers.to_ascii_lowercase().contains("x-correlation-id:"), "{headers}");
    let (code, body) = server.curl(&["/crl/unknown.crl"]);
    assert_eq!((code, json(&body)["status"].as_u64()), (404, Some(404)));
}
