//! Issue 9 item 23: `POST /api/v1/provision` logs its WARN line "provision attempt with invalid
//! key" for a revoked key too, not only for an unknown one. The log is captured by a
//! process-wide subscriber, which is why these tests have a binary of their own.

mod support;

use serde_json::json;
use support::{send, text, Backend, Body};
use trustplane_core::testkit::logs::Captured;
use trustplane_core::on_both_backends;

on_both_backends!(a_revoked_provision_key_is_logged_as_an_invalid_key_attempt);

async fn a_revoked_provision_key_is_logged_as_an_invalid_key_attempt(b: Backend) {
    let logs = Captured::global();
    let provisioning = provision_api::app(b.state.clone());
    let minted = send(&provisioning, "POST", "/api/v1/provision-keys", Some(&b.admin), Body::Json(json!({ "agent_id": "agent-warn", "ttl_seconds": 600 }))).await;
    assert_eq!(minted.status, 201, "{}", text(&minted));
    let (key, prefix) = (minted.json()["provision_key"].as_str().unwrap().to_owned(), minted.json()["key_prefix"].as_str().unwrap().to_owned());
    let revoked = send(&provisioning, "DELETE", &format!("/api/v1/provision-keys/{prefix}"), Some(&b.admin), Body::None).await;
    assert_eq!(revoked.status, 204, "{}", text(&revoked));
    let (_, pem) = support::csr("agent-warn");
    let refused = send(&provisioning, "POST", "/api/v1/provision", None, Body::Json(json!({ "provision_key": key, "csr": pem }))).await;
    assert_eq!(refused.status, 401, "{}", text(&refused));
    let shown: String = key.chars().take(8).collect();
    let lines = logs.lines();
    let line = lines.iter().find(|l| l["message"] == "provision attempt with invalid key" && l["key_prefix"] == shown.as_str());
    assert!(line.is_some_and(|l| l["level"] == "WARN"), "no WARN line for the revoked key {shown}: {lines:?}");
}
