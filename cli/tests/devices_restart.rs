//! Seed 002 recovery on a real `trustplane serve`: killed (SIGKILL) right after provision-all,
//! restarted over the same data directory, the session is listed as recoverable, resume
//! finishes it, and every allowlisted device ends provisioned with exactly one certificate;
//! the session's SSE stream (curl, as EventSource reads it) replays every event once and
//! resumes after `Last-Event-ID`.

mod common;

use common::Server;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const DEVICES: usize = 12;

fn env() -> Vec<(&'static str, &'static str)> {
    vec![("DEVICES_RATE_PER_SEC", "1000"), ("DEVICES_RATE_BURST", "1000"), ("DEVICE_GATEWAY_TIMEOUT_SECONDS", "1")]
}

fn call(server: &Server, key: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    server.send_json(key, method, path, body)
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
    events_survive_the_restart_and_resume_after_last_event_id(&server, &key, &id);
}

/// `(id, type, payload)` of every event in an SSE text.
fn parse_sse(text: &str) -> Vec<(String, String, Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim_start().to_owned());
            let data: Value = serde_json::from_str(&field("data:")?).ok()?;
            Some((field("id:").unwrap_or_default(), data["type"].as_str()?.to_owned(), data["payload"].clone()))
        })
        .collect()
}

/// The session's events from the log through `serve`'s stream with curl, as a browser's
/// EventSource reads them, then again after `Last-Event-ID`: each once, in order.
fn events_survive_the_restart_and_resume_after_last_event_id(server: &Server, key: &str, id: &str) {
    let stream = |last: Option<&str>| {
        let header = format!("x-api-key: {key}");
        let resume = last.map(|l| format!("last-event-id: {l}"));
        let mut args = vec!["/api/v1/provisioning/batch/events?session_id=".to_owned() + id, "-N".into(), "--max-time".into(), "4".into(), "-H".into(), header];
        if let Some(resume) = resume {
            args.extend(["-H".into(), resume]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        parse_sse(&server.curl(&args).1)
    };
    let all = stream(None);
    assert_eq!(all.first().map(|e| e.1.as_str()), Some("connection.established"), "{all:?}");
    let logged: Vec<&(String, String, Value)> = all.iter().filter(|e| !e.0.is_empty()).collect();
    let provisioned: Vec<&str> = logged.iter().filter(|e| e.1 == "device.state_changed" && e.2["new_state"] == "provisioned").filter_map(|e| e.2["mac"].as_str()).collect();
    assert_eq!(provisioned.len(), DEVICES, "one provisioned event per device, none lost to the kill: {provisioned:?}");
    let ids: Vec<&str> = logged.iter().map(|e| e.0.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "ids are unique and in order");
    let cut = ids.len() / 2;
    let rest: Vec<String> = stream(Some(ids[cut - 1])).into_iter().map(|e| e.0).filter(|i| !i.is_empty()).collect();
    assert_eq!(rest, ids[cut..].iter().map(|i| i.to_string()).collect::<Vec<_>>(), "resumed after Last-Event-ID exactly once");
}
