//! Hostile input on seed 002's routes (issue 14), on SQLite (`::sqlite`) and on the AWS
//! adapters against moto (`::moto`): non-object bodies, unknown fields, deep nesting, invalid
//! UTF-8, malformed MACs and malformed query values are 400 `VALIDATION_FAILED` in the error
//! envelope that say which field and what kind of value, never a Rust type, echo at most 64
//! characters of input and change nothing; nothing is ever a 5xx.

mod envelope_kit;

use envelope_kit::*;
use serde_json::{json, Value};
use trustplane_core::on_both_backends;
use trustplane_core::testkit::{call, mint_key, Reply};

on_both_backends!(
    a_body_that_is_not_one_json_object_is_400_on_every_body_route,
    unknown_fields_are_400_naming_them_and_change_nothing,
    deep_nesting_and_invalid_utf8_are_400_on_every_body_route,
    megabyte_values_come_back_cut_to_64_characters_in_errors_under_one_kibibyte,
    malformed_macs_are_400_and_malformed_session_ids_name_no_session,
    malformed_query_values_are_400_in_the_envelope_and_well_formed_ones_pass,
);

const P: &str = "/api/v1/provisioning";
const SESSION: &str = "0192f0a0-b1c2-7d3e-8f90-a1b2c3d4e5f6";
const MAC: &str = "AA:BB:CC:DD:EE:FF";

/// Every route that reads a JSON body, with ids that exist nowhere (the body is read first).
fn body_routes() -> Vec<(&'static str, String)> {
    vec![
        ("POST", format!("{P}/allowlist")),
        ("PATCH", format!("{P}/allowlist/{MAC}")),
        ("POST", format!("{P}/allowlist/bulk")),
        ("POST", format!("{P}/allowlist/bulk-remove")),
        ("POST", format!("{P}/batch")),
        ("POST", format!("{P}/batch/start")),
        ("POST", format!("{P}/batch/{SESSION}/provision-all")),
        ("POST", format!("{P}/gateway/network")),
        ("POST", format!("{P}/gateway/sessions/{SESSION}/devices")),
        ("POST", format!("{P}/gateway/sessions/{SESSION}/devices/{MAC}/failed")),
    ]
}

async fn admin(b: &Backend) -> String {
    mint_key(&b.state, &["admin"]).await
}

async fn raw(b: &Backend, key: &str, method: &str, path: &str, body: impl Into<Vec<u8>>) -> Reply {
    let request = http::Request::builder().method(method).uri(path).header("x-api-key", key).header("content-type", "application/json");
    call(&b.app, request.body(axum::body::Body::from(body.into())).unwrap()).await
}

/// Asserts a 400 `VALIDATION_FAILED` envelope whose details are `details`, naming no Rust type.
fn assert_refused(reply: &Reply, details: &str, what: &str) {
    assert_eq!(reply.status, 400, "{what}: {}", String::from_utf8_lossy(&reply.body));
    let error = failure(reply, 400, "VALIDATION_FAILED");
    assert_eq!(error["details"].as_str(), Some(details), "{what}: {error}");
    for rust in ["struct ", "u32", "u64", "i32", "enum ", "sequence", "Option", "Failed to deserialize", "`"] {
        assert!(!details.contains(rust), "{what}: {rust} in {details}");
    }
}

async fn allowlisted(b: &Backend) -> Value {
    data(&b.get(&format!("{P}/allowlist")).await, 200)["count"].clone()
}

async fn a_body_that_is_not_one_json_object_is_400_on_every_body_route(b: Backend) {
    let key = admin(&b).await;
    for (method, path) in body_routes() {
        for body in [r#"["AA:BB:CC:DD:EE:FF"]"#, "[true]", "true", "\"x\"", "5", "null", "{", "{} {}"] {
            let reply = raw(&b, &key, method, &path, body).await;
            assert_eq!(reply.status, 400, "{method} {path} took {body}: {}", String::from_utf8_lossy(&reply.body));
            failure(&reply, 400, "VALIDATION_FAILED");
        }
    }
    assert_eq!(allowlisted(&b).await, 0);
}

async fn unknown_fields_are_400_naming_them_and_change_nothing(b: Backend) {
    let key = admin(&b).await;
    let cases = [
        ("POST", format!("{P}/allowlist"), json!({ "mac": MAC, "used": true }), "used: unknown field (expected one of mac, description, container_id)"),
        ("POST", format!("{P}/allowlist/bulk"), json!({ "entries": [{ "mac": MAC, "note": "x" }] }), "entries[0].note: unknown field (expected one of mac, description, container_id)"),
        ("POST", format!("{P}/allowlist/bulk-remove"), json!({ "macs": [MAC], "all": true }), "all: unknown field (expected macs)"),
        ("POST", format!("{P}/batch"), json!({ "target_ssid": "lab", "ssid": "x" }), "ssid: unknown field (expected one of network_interface, target_ssid, target_password, config)"),
        ("POST", format!("{P}/gateway/network"), json!({ "interface": "wlan0", "ssid": "lab", "connected": true, "signal": 5 }), "signal: unknown field (expected one of interface, ssid, connected, is_active, connected_devices, session_id)"),
        ("POST", format!("{P}/batch/{SESSION}/provision-all"), json!({ "only_allowlisted": false, "force": true }), "force: unknown field (expected only_allowlisted)"),
    ];
    for (method, path, body, details) in cases {
        assert_refused(&raw(&b, &key, method, &path, body.to_string()).await, details, &path);
    }
    assert_eq!(allowlisted(&b).await, 0);
    assert_eq!(data(&b.get(&format!("{P}/network/status")).await, 200)["connected"], false);
}

async fn deep_nesting_and_invalid_utf8_are_400_on_every_body_route(b: Backend) {
    let key = admin(&b).await;
    let deep = format!(r#"{{"mac":{}"{MAC}"{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    let mut bad_utf8 = br#"{"mac":"AA:BB:CC:DD:EE:FF","junk":""#.to_vec();
    bad_utf8.extend_from_slice(b"\xff\xfe\"}");
    for (method, path) in body_routes() {
        assert_refused(&raw(&b, &key, method, &path, deep.clone()).await, "the request body nests deeper than 32 levels", &path);
        assert_refused(&raw(&b, &key, method, &path, bad_utf8.clone()).await, "the request body is not valid UTF-8", &path);
    }
    assert_eq!(allowlisted(&b).await, 0);
}

async fn megabyte_values_come_back_cut_to_64_characters_in_errors_under_one_kibibyte(b: Backend) {
    let key = admin(&b).await;
    let huge = "x".repeat(1_000_000);
    let bodies = [
        (format!("{P}/allowlist"), json!({ "mac": huge })),
        (format!("{P}/allowlist/bulk-remove"), json!({ "macs": [MAC, huge] })),
        (format!("{P}/allowlist"), Value::Object([(huge.clone(), json!(1))].into_iter().collect())),
    ];
    for (path, body) in bodies {
        let reply = raw(&b, &key, "POST", &path, body.to_string()).await;
        failure(&reply, 400, "VALIDATION_FAILED");
        assert!(reply.body.len() < 1024, "{path}: {} bytes", reply.body.len());
        let details = reply.json()["error"]["details"].as_str().unwrap().to_owned();
        assert!(details.contains(&format!("{}…", "x".repeat(64))) && !details.contains(&"x".repeat(65)), "{path}: {details}");
    }
    let long_path = format!("{P}/allowlist/{}", "y".repeat(10_000));
    let reply = raw(&b, &key, "GET", &long_path, "").await;
    failure(&reply, 400, "VALIDATION_FAILED");
    assert!(reply.body.len() < 1024, "{} bytes", reply.body.len());
}

async fn malformed_macs_are_400_and_malformed_session_ids_name_no_session(b: Backend) {
    let key = admin(&b).await;
    for bad in ["zz", "AA:BB:CC:DD:EE", "AA%3ABB%3ACC%3ADD%3AEE%3AGG", "..%2F..%2Fetc", "%00", "AA:BB:CC:DD:EE:FF:00", "%F0%9F%A6%80"] {
        for (method, path) in [
            ("GET", format!("{P}/allowlist/{bad}")),
            ("DELETE", format!("{P}/allowlist/{bad}")),
            ("POST", format!("{P}/batch/{SESSION}/devices/{bad}/provision")),
            ("GET", format!("{P}/gateway/sessions/{SESSION}/devices/{bad}/bundle")),
        ] {
            let reply = raw(&b, &key, method, &path, "").await;
            let details = failure(&reply, 400, "VALIDATION_FAILED")["details"].as_str().unwrap_or_default().to_owned();
            assert!(details.starts_with("Invalid MAC address format"), "{method} {path}: {details}");
        }
    }
    let long = "s".repeat(129);
    for bad in ["..%2F..", "%00", "a%20b", long.as_str(), "%F0%9F%A6%80"] {
        for (method, path) in [("GET", format!("{P}/batch/{bad}")), ("POST", format!("{P}/batch/{bad}/close")), ("DELETE", format!("{P}/sessions/{bad}"))] {
            let reply = raw(&b, &key, method, &path, "").await;
            assert!(failure(&reply, 404, "SESSION_NOT_FOUND").get("details").is_none_or(|d| d.as_str().unwrap().len() < 80), "{path}");
        }
    }
}

async fn malformed_query_values_are_400_in_the_envelope_and_well_formed_ones_pass(b: Backend) {
    let key = admin(&b).await;
    let history = format!("{P}/sessions/history");
    let long = "9".repeat(30);
    for limit in ["%2B5", "-1", "0", "101", "5.0", "abc", "%205", "5%20", "1e1", long.as_str()] {
        assert_refused(&raw(&b, &key, "GET", &format!("{history}?limit={limit}"), "").await, "limit: expected a whole number 1..=100", limit);
    }
    let duplicate = raw(&b, &key, "GET", &format!("{history}?limit=1&limit=2"), "").await;
    let details = failure(&duplicate, 400, "VALIDATION_FAILED")["details"].as_str().unwrap().to_owned();
    assert!(details.starts_with("query string: ") && details.chars().count() <= "query string: ".len() + 65, "{details}");
    assert_eq!(data(&raw(&b, &key, "GET", &format!("{history}?limit=5"), "").await, 200)["sessions"], json!([]));
    let session = data(&raw(&b, &key, "POST", &format!("{P}/batch"), r#"{"target_ssid":"lab"}"#).await, 201)["session"]["id"].as_str().unwrap().to_owned();
    let long = "t".repeat(1000);
    for flag in ["maybe", "TRUE", "1", long.as_str()] {
        let reply = raw(&b, &key, "GET", &format!("{P}/batch/{session}?include_devices={flag}"), "").await;
        assert_refused(&reply, "include_devices: expected true or false", flag);
    }
    let without = data(&raw(&b, &key, "GET", &format!("{P}/batch/{session}?include_devices=false"), "").await, 200);
    assert!(without.get("devices").is_none() && without["session"]["id"] == session.as_str(), "{without}");
}
