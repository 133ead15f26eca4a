//! Seed 002 recovery on a real `trustplane serve`: killed (SIGKILL) right after provision-all,
//! restarted over the same data directory, the session is listed as recoverable, resume
//! finishes it, and every allowlisted device ends provisioned with exactly one certificate.

mod common;

use common::Server;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const DEVICES: usize = 12;

fn env() -> Vec<(&'static str, &'static str)> {
    vec![("DEVICES_RATE_PER_SEC", "1000"), ("DEVICES_RATE_BURST", "1000"), ("DEVICE_GATEWAY_TIMEOUT_SECONDS", "1")]
}

fn call(server: &Server, key: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let header = format!("x-api-key: {key}");
    let text = body.map(|b| b.to_string());
    let mut args = vec![path, "-X", method, "-H", &header, "-H", "content-type: application/json"];
    if let Some(text) = text.as_deref() {
        args.extend(["-d", text]);
    }
    let (status, reply) = server.curl(&args);
    (status, serde_json::from_str(&reply).unwrap_or(Value::Null))
}

fn mac(i: usize) -> String {
    format!("02:00:00:00:00:{i:02X}")
}

fn devices(server: &Server, key: &str, id: &str) -> Vec<Value> {
    let (status, reply) = call(server, key, "GET", &format!("/api/v1/provisioning/batch/{id}/devices"), None);
    assert_eq!(status, 200, "{reply}");
    reply["data"]["devices"].as_array().unwrap().clone()
}

#[test]
fn a_serve_killed_mid_batch_lists_the_session_as_recoverable_and_resume_finishes_it_without_loss() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data.path(), &env());
    let key = server.admin_key();
    let entries: Vec<Value> = (0..DEVICES).map(|i| json!({ "mac": mac(i) })).collect();
    assert_eq!(call(&server, &key, "POST", "/api/v1/provisioning/allowlist/bulk", Some(json!({ "entries": entries }))).0, 200);
    let (status, started) = call(&server, &key, "POST", "/api/v1/provisioning/batch/start", Some(json!({ "target_ssid": "Fleet", "target_password": "s3cret-pass" })));
    assert_eq!(status, 201, "{started}");
    let id = started["data"]["session"]["id"].as_str().unwrap().to_owned();
    let seen: Vec<Value> = (0..DEVICES).map(|i| json!({ "mac": mac(i), "ip": format!("10.0.0.{}", i + 10), "rssi": -40, "firmware_version": "1.0.0" })).collect();
    let (status, reply) = call(&server, &key, "POST", &format!("/api/v1/provisioning/gateway/sessions/{id}/devices"), Some(json!({ "devices": seen })));
    assert_eq!(status, 200, "{reply}");
    let (status, reply) = call(&server, &key, "POST", &format!("/api/v1/provisioning/batch/{id}/provision-all"), None);
    assert_eq!(status, 202, "{reply}");
    drop(server);

    let server = Server::start_with(data.path(), &env());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, listed) = call(&server, &key, "GET", "/api/v1/provisioning/sessions/recoverable", None);
        if listed["data"]["sessions"].as_array().is_some_and(|s| s.iter().any(|s| s["id"] == id.as_str())) {
            break;
        }
        assert!(Instant::now() < deadline, "the interrupted session was never listed as recoverable: {listed}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let (status, resumed) = call(&server, &key, "POST", &format!("/api/v1/provisioning/sessions/{id}/resume"), None);
    assert_eq!(status, 200, "{resumed}");
    loop {
        let states: Vec<String> = devices(&server, &key, &id).iter().map(|d| d["state"].as_str().unwrap_or("").to_owned()).collect();
        if states.len() == DEVICES && states.iter().all(|s| s == "provisioned") {
            break;
        }
        assert!(Instant::now() < deadline + Duration::from_secs(30), "devices after resume: {states:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let (_, session) = call(&server, &key, "GET", &format!("/api/v1/provisioning/batch/{id}"), None);
    assert_eq!(session["data"]["session"]["provisioned_count"], DEVICES, "{session}");
    assert_eq!(session["data"]["session"]["device_count"], DEVICES, "{session}");
    let (_, certificates) = call(&server, &key, "GET", "/api/v1/certificates?channel=device&limit=100", None);
    let names: Vec<&str> = certificates["data"].as_array().unwrap().iter().filter_map(|c| c["commonName"].as_str()).collect();
    assert_eq!(names.len(), DEVICES, "exactly one certificate per device: {names:?}");
    for i in 0..DEVICES {
        assert!(names.contains(&mac(i).as_str()), "{} has a certificate", mac(i));
    }
}
