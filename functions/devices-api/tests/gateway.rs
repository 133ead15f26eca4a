//! The edge gateway's device routes (`devices:gateway`) on SQLite and DynamoDB (moto):
//! discovery reports (idempotent per MAC, validated whole, CSRs under the CSR policy), the
//! bundle (certificate, chain, target credentials, a generated key handed out once), the
//! verified/failed reports with exact counts and their events, and the heartbeat.

mod batch_kit;
mod envelope_kit;

use batch_kit::*;
use envelope_kit::*;
use serde_json::{json, Value};
use trustplane_core::on_both_backends;
use trustplane_core::services::devices::events::{self, EventKind};

on_both_backends!(
    the_bundle_carries_the_certificate_chain_and_target_credentials_and_a_generated_key_only_once,
    reports_are_idempotent_per_mac_validated_whole_and_need_the_gateway_scope,
    verified_and_failed_reports_move_devices_and_keep_the_counts_exact,
    every_gateway_call_refreshes_the_sessions_heartbeat,
);

/// A session with `macs` discovered, allowlisted, provisioned and drained.
async fn provisioned(b: &Backend, macs: &[String]) -> String {
    hierarchy(b).await;
    let id = start(b).await;
    for m in macs {
        allow(b, m).await;
    }
    data(&report(b, &id, json!(macs.iter().map(|m| seen(m, None)).collect::<Vec<_>>())).await, 200);
    data(&b.write("POST", &format!("{BATCH}/{id}/provision-all"), None).await, 202);
    pump(b).await;
    id
}

async fn state_changes(b: &Backend, id: &str) -> Vec<(String, String)> {
    let later = trustplane_core::clock::now() + time::Duration::seconds(5);
    let all = events::read_after(b.state.ports.store.as_ref(), Some(id), None, later, time::Duration::ZERO, 1000).await.unwrap();
    let changes = all.into_iter().filter(|e| e.kind == EventKind::DeviceStateChanged);
    changes.map(|e| (e.payload["previous_state"].as_str().unwrap().to_owned(), e.payload["new_state"].as_str().unwrap().to_owned())).collect()
}

async fn the_bundle_carries_the_certificate_chain_and_target_credentials_and_a_generated_key_only_once(b: Backend) {
    let logs = trustplane_core::testkit::logs::Captured::default();
    let _guard = logs.install();
    let (root, issuer) = hierarchy(&b).await;
    let id = start(&b).await;
    allow(&b, &mac(1)).await;
    data(&report(&b, &id, json!([seen(&mac(1), None)])).await, 200);
    failure(&gateway_call(&b, "GET", &id, &mac(1), "bundle", None).await, 409, "CONFLICT");
    data(&b.write("POST", &format!("{BATCH}/{id}/devices/{}/provision", mac(1)), None).await, 202);
    pump(&b).await;
    let first = data(&gateway_call(&b, "GET", &id, &mac(1), "bundle", None).await, 200)["bundle"].clone();
    assert_eq!((first["target_ssid"].as_str(), first["target_password"].as_str()), (Some("DeliCasa-Prod"), Some("correct horse battery")), "{first}");
    assert_eq!(first["config"], json!({ "provisioning_timeout_seconds": 120 }));
    assert_eq!(first["chain_pem"].as_str().unwrap(), format!("{issuer}{root}"), "issuer first, root last");
    assert_verifies(&root, &issuer, first["certificate_pem"].as_str().unwrap());
    let key = first["private_key_pem"].as_str().expect("a generated key on the first fetch");
    assert_eq!(public_key(key, "pkey"), public_key(first["certificate_pem"].as_str().unwrap(), "x509"));
    assert_eq!(device(&b, &id, &mac(1)).await["state"], "verifying");
    let second = data(&gateway_call(&b, "GET", &id, &mac(1), "bundle", None).await, 200)["bundle"].clone();
    assert!(second.get("private_key_pem").is_none(), "the key is handed out once: {second}");
    assert_eq!(second["certificate_pem"], first["certificate_pem"]);
    assert_eq!(state_changes(&b, &id).await, [("discovered".into(), "provisioning".into()), ("provisioning".into(), "provisioned".into()), ("provisioned".into(), "verifying".into())]);
    let lines = logs.lines();
    assert!(lines.iter().any(|l| l["message"] == "device provisioned"), "the flow was logged: {lines:?}");
    let all = serde_json::to_string(&lines).unwrap();
    assert!(!all.contains("correct horse battery") && !all.contains("PRIVATE KEY"), "no secret is logged");
}

async fn reports_are_idempotent_per_mac_validated_whole_and_need_the_gateway_scope(b: Backend) {
    let id = start(&b).await;
    allow(&b, &mac(1)).await;
    let d = data(&report(&b, &id, json!([seen(&mac(1), Some(csr(&mac(1)))), seen(&mac(2), None)])).await, 200);
    let flags: Vec<Value> = d["devices"].as_array().unwrap().iter().map(|d| d["in_allowlist"].clone()).collect();
    assert_eq!(flags, [json!(true), json!(false)], "{d}");
    assert_eq!(d["devices"][0]["state"], "discovered");
    let again = data(&report(&b, &id, json!([seen(&mac(1).to_lowercase(), None), seen(&mac(1), None)])).await, 200);
    assert_eq!(again["count"], 1, "{again}");
    let bad_csr = seen(&mac(3), Some("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n".into()));
    let refused = failure(&report(&b, &id, json!([seen(&mac(4), None), bad_csr])).await, 400, "VALIDATION_FAILED");
    assert!(refused["details"].as_str().unwrap().contains("CSR"), "{refused}");
    failure(&report(&b, &id, json!([{ "mac": mac(5), "ip": "not-an-ip", "rssi": -50, "firmware_version": "1" }])).await, 400, "VALIDATION_FAILED");
    failure(&report(&b, &id, json!([{ "mac": "zz", "ip": "10.0.0.1", "rssi": -50, "firmware_version": "1" }])).await, 400, "VALIDATION_FAILED");
    failure(&report(&b, &id, json!((0..101).map(|i| seen(&mac(i), None)).collect::<Vec<_>>())).await, 400, "VALIDATION_FAILED");
    let s = session(&b, &id).await;
    assert_eq!(s["session"]["device_count"], 2, "a refused report writes nothing: {s}");
    let discovered = events::read_after(b.state.ports.store.as_ref(), Some(&id), None, trustplane_core::clock::now() + time::Duration::seconds(5), time::Duration::ZERO, 1000).await.unwrap();
    assert_eq!(discovered.iter().filter(|e| e.kind == EventKind::DeviceDiscovered).count(), 2, "one device.discovered per MAC");
    let write = b.write.clone();
    failure(&b.send("POST", &format!("{GATEWAY}/{id}/devices"), Some(&write), Some(json!({ "devices": [] }))).await, 403, "FORBIDDEN");
    failure(&report(&b, "sess_00000000000000000000000000000000", json!([])).await, 404, "SESSION_NOT_FOUND");
    failure(&gateway_call(&b, "POST", &id, &mac(9), "verified", None).await, 404, "DEVICE_NOT_FOUND");
    data(&b.write("POST", &format!("{BATCH}/{id}/close"), None).await, 200);
    failure(&report(&b, &id, json!([seen(&mac(6), None)])).await, 409, "CONFLICT");
}

async fn verified_and_failed_reports_move_devices_and_keep_the_counts_exact(b: Backend) {
    let id = provisioned(&b, &[mac(1), mac(2)]).await;
    let counts = |s: &Value| (s["provisioned_count"].as_u64(), s["verified_count"].as_u64(), s["failed_count"].as_u64());
    assert_eq!(counts(&session(&b, &id).await["session"]), (Some(2), Some(0), Some(0)));
    let d = data(&gateway_call(&b, "POST", &id, &mac(1), "verified", None).await, 200);
    assert_eq!((d["mac"].as_str(), d["state"].as_str()), (Some(mac(1).as_str()), Some("verified")), "{d}");
    assert!(device(&b, &id, &mac(1)).await["verified_at"].is_string());
    failure(&gateway_call(&b, "POST", &id, &mac(2), "failed", Some(json!({ "error": " " }))).await, 400, "VALIDATION_FAILED");
    let d = data(&gateway_call(&b, "POST", &id, &mac(2), "failed", Some(json!({ "error": "did not join DeliCasa-Prod" }))).await, 200);
    assert_eq!(d["state"], "failed");
    assert_eq!(device(&b, &id, &mac(2)).await["error_message"], "did not join DeliCasa-Prod");
    assert_eq!(counts(&session(&b, &id).await["session"]), (Some(1), Some(1), Some(1)));
    failure(&gateway_call(&b, "POST", &id, &mac(1), "verified", None).await, 409, "CONFLICT");
    failure(&gateway_call(&b, "POST", &id, &mac(2), "failed", Some(json!({ "error": "again" }))).await, 409, "CONFLICT");
    let changes = state_changes(&b, &id).await;
    assert!(changes.contains(&("provisioned".into(), "verified".into())) && changes.contains(&("provisioned".into(), "failed".into())), "{changes:?}");
}

async fn every_gateway_call_refreshes_the_sessions_heartbeat(b: Backend) {
    let b = with_timeout(b, 1).await;
    let id = start(&b).await;
    assert_eq!(recoverable(&b).await, 0);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(recoverable(&b).await, 1, "a gateway that never called is silent since the start");
    data(&report(&b, &id, json!([])).await, 200);
    assert_eq!(recoverable(&b).await, 0, "the report was a heartbeat");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(recoverable(&b).await, 1, "silent again");
    let network = json!({ "interface": "wlan0", "ssid": "Onboarding", "connected": true, "session_id": id });
    let key = b.gateway.clone();
    data(&b.send("POST", "/api/v1/provisioning/gateway/network", Some(&key), Some(network)).await, 200);
    assert_eq!(recoverable(&b).await, 0, "a network report naming the session is a heartbeat too");
}

async fn recoverable(b: &Backend) -> usize {
    data(&b.get(&format!("{SESSIONS}/recoverable")).await, 200)["sessions"].as_array().unwrap().len()
}
