//! Network status: the gateway's reports and the two read routes (seed 002 `GET
//! /batch/network`, the client's `GET /network/status`), with `network.status_changed`
//! appended to the event log only when the status changed, on SQLite and DynamoDB (moto).

mod envelope_kit;

use envelope_kit::*;
use serde_json::json;
use trustplane_core::on_both_backends;
use trustplane_core::services::devices::events::{self, EventKind};

on_both_backends!(
    before_any_report_both_routes_answer_the_documented_default,
    a_report_is_stored_and_read_back_as_the_superset_of_the_seed_and_client_fields,
    a_changed_status_appends_one_network_event_and_an_unchanged_one_none,
    a_report_naming_a_session_announces_the_change_in_that_sessions_stream,
);

const REPORT: &str = "/api/v1/provisioning/gateway/network";

async fn report(b: &Backend, body: serde_json::Value) -> serde_json::Value {
    let key = b.gateway.clone();
    data(&b.send("POST", REPORT, Some(&key), Some(body)).await, 200)
}

async fn network_events(b: &Backend, session: Option<&str>) -> Vec<events::DeviceEvent> {
    let later = trustplane_core::clock::now() + time::Duration::seconds(5);
    let all = events::read_after(b.state.ports.store.as_ref(), session, None, later, time::Duration::ZERO, 1000).await.unwrap();
    all.into_iter().filter(|e| e.kind == EventKind::NetworkStatusChanged).collect()
}

async fn before_any_report_both_routes_answer_the_documented_default(b: Backend) {
    let default = json!({ "interface": "", "ssid": "", "connected": false, "is_active": false, "connected_devices": 0 });
    for path in ["/api/v1/provisioning/batch/network", "/api/v1/provisioning/network/status"] {
        assert_eq!(data(&b.get(path).await, 200), default, "{path}");
    }
}

async fn a_report_is_stored_and_read_back_as_the_superset_of_the_seed_and_client_fields(b: Backend) {
    let d = report(&b, json!({ "interface": "wlan0", "ssid": "OnboardingNetwork", "connected": true, "is_active": true, "connected_devices": 3 })).await;
    assert_eq!(d["changed"], true);
    let want = json!({ "interface": "wlan0", "ssid": "OnboardingNetwork", "connected": true, "is_active": true, "connected_devices": 3 });
    assert_eq!(data(&b.get("/api/v1/provisioning/batch/network").await, 200), want);
    assert_eq!(data(&b.get("/api/v1/provisioning/network/status").await, 200), want);
    let seed_only = report(&b, json!({ "interface": "wlan1", "ssid": "Other", "connected": false })).await;
    assert_eq!((seed_only["is_active"].as_bool(), seed_only["connected_devices"].as_u64()), (Some(false), Some(0)), "{seed_only}");
}

async fn a_changed_status_appends_one_network_event_and_an_unchanged_one_none(b: Backend) {
    let body = json!({ "interface": "wlan0", "ssid": "Onboard", "is_active": true, "connected_devices": 2 });
    assert_eq!(report(&b, body.clone()).await["changed"], true);
    assert_eq!(report(&b, body.clone()).await["changed"], false, "the same status again");
    let mut more = body.clone();
    more["connected_devices"] = json!(5);
    assert_eq!(report(&b, more).await["changed"], true);
    let logged = network_events(&b, None).await;
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert_eq!(logged[0].payload, json!({ "ssid": "Onboard", "is_active": true, "connected_devices": 2 }));
    assert_eq!(logged[1].payload, json!({ "ssid": "Onboard", "is_active": true, "connected_devices": 5 }));
    assert!(logged[0].session_id.is_none());
    assert_eq!(logged[1].envelope()["type"], "network.status_changed");
}

async fn a_report_naming_a_session_announces_the_change_in_that_sessions_stream(b: Backend) {
    report(&b, json!({ "interface": "wlan0", "ssid": "Onboard", "connected": true, "session_id": "sess_abc123" })).await;
    let in_session = network_events(&b, Some("sess_abc123")).await;
    assert_eq!(in_session.len(), 1);
    assert_eq!(in_session[0].session_id.as_deref(), Some("sess_abc123"));
    assert_eq!(network_events(&b, None).await.len(), 1, "and in the unfiltered stream");
}

#[tokio::test]
async fn reports_need_the_gateway_scope_and_valid_fields() {
    let b = Backend::sqlite().await;
    let body = json!({ "interface": "wlan0", "ssid": "Onboard", "connected": true });
    let write = b.write.clone();
    failure(&b.send("POST", REPORT, Some(&write), Some(body.clone())).await, 403, "FORBIDDEN");
    failure(&b.send("POST", REPORT, None, Some(body)).await, 401, "UNAUTHORIZED");
    let gateway = b.gateway.clone();
    for bad in [
        json!({ "interface": "wlan0", "ssid": "Onboard" }),
        json!({ "interface": "", "ssid": "Onboard", "connected": true }),
        json!({ "interface": "wlan0", "ssid": "x".repeat(33), "connected": true }),
        json!({ "interface": "wlan0", "ssid": "Onboard", "connected": true, "connected_devices": -1 }),
        json!({ "interface": "wlan0", "ssid": "Onboard", "connected": true, "session_id": "a/b" }),
    ] {
        failure(&b.send("POST", REPORT, Some(&gateway), Some(bad.clone())).await, 400, "VALIDATION_FAILED");
    }
    failure(&b.send("GET", "/api/v1/provisioning/batch/network", Some(&gateway), None).await, 403, "FORBIDDEN");
}

/// What a fixture's answer must satisfy.
type Check = Box<dyn Fn(&serde_json::Value) -> bool>;

/// The `events/devices-api/` fixtures of the allowlist and network routes, in a realistic
/// order: `(fixture, status, check of the answer)`.
async fn replay_allowlist_and_network_fixtures<F, Fut>(b: &Backend, invoke: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = trustplane_core::testkit::Answer>,
{
    let subs = [("READ_KEY", b.read.as_str()), ("WRITE_KEY", b.write.as_str()), ("GATEWAY_KEY", b.gateway.as_str())];
    let ev = |name: &str| trustplane_core::testkit::fixture_text("devices-api", name, &subs);
    let network = json!({ "interface": "wlan0", "ssid": "OnboardingNetwork", "connected": true, "is_active": true, "connected_devices": 3 });
    let cases: Vec<(&str, u16, Check)> = vec![
        ("allowlist-list", 200, Box::new(|v| v["data"] == json!({ "entries": [], "count": 0 }))),
        ("allowlist-list-no-key", 401, Box::new(|v| v["error"]["code"] == "UNAUTHORIZED")),
        ("allowlist-add", 201, Box::new(|v| v["data"]["entry"]["mac"] == "AA:BB:CC:DD:EE:FF" && v["data"]["entry"]["used"] == false)),
        ("allowlist-add", 409, Box::new(|v| v["error"]["code"] == "CONFLICT")),
        ("allowlist-add-invalid-mac", 400, Box::new(|v| v["error"]["code"] == "VALIDATION_FAILED" && v["error"]["retryable"] == false)),
        ("allowlist-get", 200, Box::new(|v| v["data"]["entry"]["container_id"] == "optional-container-id")),
        ("allowlist-update", 200, Box::new(|v| v["data"]["entry"]["description"] == "Camera 1 (shelf 2)")),
        ("allowlist-bulk-add", 200, Box::new(|v| v["data"]["added"] == 2 && v["data"]["skipped"] == 1)),
        ("allowlist-stats", 200, Box::new(|v| v["data"]["total"] == 3 && v["data"]["used"] == 0 && v["data"]["unused"] == 3)),
        ("allowlist-bulk-remove", 200, Box::new(|v| v["data"]["removed"] == 1 && v["data"]["not_found"] == 1)),
        ("allowlist-delete", 204, Box::new(|v| v.is_null())),
        ("allowlist-delete", 404, Box::new(|v| v["error"]["code"] == "DEVICE_NOT_FOUND")),
        ("allowlist-clear", 200, Box::new(|v| v["data"]["cleared"] == 1)),
        ("batch-network", 200, Box::new(|v| v["data"]["ssid"] == "" && v["data"]["connected"] == false)),
        ("network-report", 200, Box::new(|v| v["data"]["changed"] == true)),
        ("batch-network", 200, Box::new(move |v| v["data"] == network)),
        ("network-status", 200, Box::new(|v| v["data"]["is_active"] == true && v["data"]["connected_devices"] == 3)),
    ];
    for (name, want, check) in cases {
        let (status, got) = invoke(ev(name)).await;
        assert_eq!(status, want, "{name}: {got}");
        assert!(check(&got), "{name}: {got}");
        if !got.is_null() {
            assert!(got["correlation_id"].is_string() && got["timestamp"].is_string(), "{name}: the envelope: {got}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_allowlist_and_network_fixture_answers_in_process_on_sqlite() {
    let b = Backend::sqlite().await;
    let app = b.app.clone();
    replay_allowlist_and_network_fixtures(&b, |event| {
        let app = app.clone();
        async move { trustplane_core::testkit::replay_in_process(&app, &event).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_allowlist_and_network_fixture_answers_through_the_lambda_emulator_on_moto() {
    use trustplane_core::testkit::{moto, replay_through_rie, rie::Rie};
    let b = Backend::moto().await;
    let rie = std::sync::Arc::new(Rie::start("devices-api", &moto::lambda_env(&b.state.config)));
    replay_allowlist_and_network_fixtures(&b, |event| {
        let rie = rie.clone();
        async move { tokio::task::block_in_place(|| replay_through_rie(&rie, &event)) }
    })
    .await;
}
