//! Batch sessions (seed 002 `/batch…`, the client's start/stop/pause/resume/retry/skip and
//! session recovery) on SQLite and DynamoDB (moto): the superset session JSON, the sealed
//! password, enforced transitions with their events, every error code the routes produce,
//! recovery after a silent gateway or a lost job, and the `events/devices-api/session*`,
//! `sessions*` and `gateway*` fixtures replayed in-process and through the built bootstrap
//! under the Lambda Runtime Interface Emulator.

mod batch_kit;
mod envelope_kit;

use batch_kit::*;
use envelope_kit::*;
use serde_json::{json, Value};
use trustplane_core::on_both_backends;
use trustplane_core::ports::Query;
use trustplane_core::services::devices::events::{self, EventKind};
use trustplane_core::testkit::rie::Rie;
use trustplane_core::testkit::{fixture_text, replay_in_process, replay_through_rie, Answer};

on_both_backends!(
    starting_a_session_answers_201_with_the_superset_session_and_never_stores_or_returns_the_password,
    a_session_started_with_only_the_seeds_network_interface_has_an_empty_target_ssid,
    session_transitions_are_enforced_and_each_is_announced_by_a_session_status_event,
    every_error_code_of_the_session_routes_is_produced_in_the_envelope,
    skip_leaves_a_device_out_of_provision_all_and_retry_provisions_it_again,
    a_session_whose_gateway_went_silent_is_recoverable_and_resume_finishes_its_stuck_devices_once,
    recoverable_is_an_empty_list_when_nothing_is_interrupted_and_history_lists_newest_first,
    every_session_fixture_answers_as_documented_in_process,
);

const PASSWORD: &str = "correct horse battery";

async fn starting_a_session_answers_201_with_the_superset_session_and_never_stores_or_returns_the_password(b: Backend) {
    let body = json!({ "target_ssid": "DeliCasa-Prod", "target_password": PASSWORD, "config": { "discovery_timeout_seconds": 60 } });
    let reply = b.write("POST", &format!("{BATCH}/start"), Some(body)).await;
    assert!(!String::from_utf8_lossy(&reply.body).contains(PASSWORD));
    let d = data(&reply, 201);
    assert!(d["message"].is_string(), "{d}");
    let s = &d["session"];
    assert!(s["id"].as_str().unwrap().starts_with("sess_"), "{s}");
    assert_eq!((s["state"].as_str(), s["target_ssid"].as_str()), (Some("active"), Some("DeliCasa-Prod")));
    for count in ["device_count", "provisioned_count", "verified_count", "failed_count"] {
        assert_eq!(s[count], 0, "{count}: {s}");
    }
    assert_eq!(s["config"], json!({ "discovery_timeout_seconds": 60 }));
    for absent in ["network_interface", "expires_at", "target_password", "sealed_password"] {
        assert!(s.get(absent).is_none(), "{absent}: {s}");
    }
    let id = s["id"].as_str().unwrap();
    let stored = b.state.ports.store.query(Query::partition(format!("DEVSESS#{id}"))).await.unwrap().items;
    let raw = serde_json::to_string(&stored).unwrap();
    assert!(!raw.contains(PASSWORD) && raw.contains("sealed_password"), "only ciphertext is stored: {raw}");
    let shown = session(&b, id).await;
    assert!(!shown.to_string().contains(PASSWORD) && shown["session"].get("sealed_password").is_none(), "{shown}");
    assert_eq!(shown["devices"], json!([]));
}

async fn a_session_started_with_only_the_seeds_network_interface_has_an_empty_target_ssid(b: Backend) {
    let d = data(&b.write("POST", BATCH, Some(json!({ "network_interface": "wlan0" }))).await, 201);
    assert_eq!((d["session"]["network_interface"].as_str(), d["session"]["target_ssid"].as_str()), (Some("wlan0"), Some("")), "{d}");
}

async fn status_events(b: &Backend, id: &str) -> Vec<Value> {
    let later = trustplane_core::clock::now() + time::Duration::seconds(5);
    let all = events::read_after(b.state.ports.store.as_ref(), Some(id), None, later, time::Duration::ZERO, 1000).await.unwrap();
    all.into_iter().filter(|e| e.kind == EventKind::SessionStatus).map(|e| e.payload["session"]["state"].clone()).collect()
}

async fn session_transitions_are_enforced_and_each_is_announced_by_a_session_status_event(b: Backend) {
    let id = start(&b).await;
    let post = |action: &'static str| {
        let (b, id) = (&b, id.clone());
        async move { b.write("POST", &format!("{BATCH}/{id}/{action}"), None).await }
    };
    failure(&post("resume").await, 409, "CONFLICT");
    assert_eq!(data(&post("pause").await, 200)["session"]["state"], "paused");
    failure(&post("pause").await, 409, "CONFLICT");
    failure(&post("provision-all").await, 409, "CONFLICT");
    let without = data(&b.get(&format!("{BATCH}/{id}?include_devices=false")).await, 200);
    assert!(without.get("devices").is_none() && without["network_status"].is_object(), "{without}");
    let resumed = data(&post("resume").await, 200);
    assert_eq!((resumed["session"]["state"].as_str(), resumed["message"].is_string()), (Some("active"), true), "{resumed}");
    let stopped = data(&post("stop").await, 200);
    assert_eq!((stopped["session"]["state"].as_str(), stopped["message"].is_string()), (Some("closed"), true));
    failure(&post("close").await, 409, "CONFLICT");
    failure(&post("pause").await, 409, "CONFLICT");
    failure(&post("provision-all").await, 409, "CONFLICT");
    assert_eq!(status_events(&b, &id).await, [json!("active"), json!("paused"), json!("active"), json!("closed")]);
}

async fn every_error_code_of_the_session_routes_is_produced_in_the_envelope(b: Backend) {
    let id = start(&b).await;
    allow(&b, &mac(1)).await;
    data(&report(&b, &id, json!([seen(&mac(1), None), seen(&mac(2), None)])).await, 200);
    let provision = |m: String| format!("{BATCH}/{id}/devices/{m}/provision");
    failure(&b.write("POST", &format!("{BATCH}/start"), Some(json!({ "target_ssid": "" }))).await, 400, "VALIDATION_FAILED");
    failure(&b.write("POST", &format!("{BATCH}/start"), Some(json!({ "target_ssid": "x", "target_password": "short" }))).await, 400, "VALIDATION_FAILED");
    failure(&b.write("POST", &format!("{BATCH}/start"), Some(json!({ "ssid": "x" }))).await, 400, "VALIDATION_FAILED");
    failure(&b.write("POST", &provision("not-a-mac".into()), None).await, 400, "VALIDATION_FAILED");
    failure(&b.get(&format!("{BATCH}/sess_00000000000000000000000000000000")).await, 404, "SESSION_NOT_FOUND");
    failure(&b.get(&format!("{BATCH}/nonsense/devices")).await, 404, "SESSION_NOT_FOUND");
    failure(&b.write("POST", &format!("{SESSIONS}/sess_00000000000000000000000000000000/resume"), None).await, 404, "SESSION_NOT_FOUND");
    failure(&b.write("POST", &format!("{BATCH}/sess_00000000000000000000000000000000/devices/{}/provision", mac(1)), None).await, 404, "SESSION_NOT_FOUND");
    failure(&b.write("POST", &provision(mac(99)), None).await, 404, "DEVICE_NOT_FOUND");
    failure(&b.write("POST", &format!("{BATCH}/{id}/devices/{}/skip", mac(99)), None).await, 404, "DEVICE_NOT_FOUND");
    failure(&b.write("POST", &format!("{BATCH}/{id}/devices/{}/retry", mac(99)), None).await, 404, "DEVICE_NOT_FOUND");
    failure(&b.write("POST", &format!("{BATCH}/sess_00000000000000000000000000000000/devices/{}/retry", mac(1)), None).await, 404, "SESSION_NOT_FOUND");
    let refused = failure(&b.write("POST", &provision(mac(2)), None).await, 403, "DEVICE_NOT_IN_ALLOWLIST");
    assert!(refused["details"].as_str().unwrap().contains(&mac(2)), "{refused}");
    data(&b.write("POST", &provision(mac(1).to_lowercase().replace(':', "-")), None).await, 202);
    failure(&b.write("POST", &provision(mac(1)), None).await, 409, "CONFLICT");
    failure(&b.write("POST", &format!("{BATCH}/{id}/devices/{}/retry", mac(1)), None).await, 409, "CONFLICT");
    failure(&b.send("POST", &format!("{BATCH}/start"), None, Some(json!({ "target_ssid": "x" }))).await, 401, "UNAUTHORIZED");
    let read = b.read.clone();
    failure(&b.send("POST", &format!("{BATCH}/start"), Some(&read), Some(json!({ "target_ssid": "x" }))).await, 403, "FORBIDDEN");
    let gateway = b.gateway.clone();
    failure(&b.send("GET", &format!("{BATCH}/{id}"), Some(&gateway), None).await, 403, "FORBIDDEN");
    failure(&b.get(&format!("{SESSIONS}/history?limit=0")).await, 400, "VALIDATION_FAILED");
}

async fn skip_leaves_a_device_out_of_provision_all_and_retry_provisions_it_again(b: Backend) {
    hierarchy(&b).await;
    let id = start(&b).await;
    for i in [1, 2] {
        allow(&b, &mac(i)).await;
    }
    data(&report(&b, &id, json!([seen(&mac(1), None), seen(&mac(2), None)])).await, 200);
    let skipped = data(&b.write("POST", &format!("{BATCH}/{id}/devices/{}/skip", mac(2)), None).await, 200);
    assert_eq!((skipped["mac"].as_str(), skipped["state"].as_str()), (Some(mac(2).as_str()), Some("failed")), "{skipped}");
    let all = data(&b.write("POST", &format!("{BATCH}/{id}/provision-all"), None).await, 202);
    assert_eq!((all["initiated_count"].as_u64(), all["skipped_count"].as_u64()), (Some(1), Some(0)), "{all}");
    pump(&b).await;
    assert_eq!(device(&b, &id, &mac(2)).await["state"], "failed");
    let s = session(&b, &id).await["session"].clone();
    assert_eq!((s["provisioned_count"].as_u64(), s["failed_count"].as_u64()), (Some(1), Some(1)), "{s}");
    data(&b.write("POST", &format!("{BATCH}/{id}/devices/{}/retry", mac(2)), None).await, 202);
    pump(&b).await;
    let s = session(&b, &id).await["session"].clone();
    assert_eq!((s["provisioned_count"].as_u64(), s["failed_count"].as_u64()), (Some(2), Some(0)), "{s}");
}

async fn a_session_whose_gateway_went_silent_is_recoverable_and_resume_finishes_its_stuck_devices_once(b: Backend) {
    let b = with_timeout(b, 1).await;
    hierarchy(&b).await;
    let id = start(&b).await;
    allow(&b, &mac(5)).await;
    data(&report(&b, &id, json!([seen(&mac(5), None)])).await, 200);
    data(&b.write("POST", &format!("{BATCH}/{id}/devices/{}/provision", mac(5)), None).await, 202);
    purge(&b).await;
    assert_eq!(data(&b.get(&format!("{SESSIONS}/recoverable")).await, 200)["sessions"], json!([]), "the gateway just called");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let listed = data(&b.get(&format!("{SESSIONS}/recoverable")).await, 200);
    assert_eq!(listed["sessions"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect::<Vec<_>>(), [json!(id)], "{listed}");
    let resumed = data(&b.write("POST", &format!("{SESSIONS}/{id}/resume"), None).await, 200);
    assert_eq!((resumed["session"]["state"].as_str(), resumed["requeued"].as_u64()), (Some("active"), Some(1)), "{resumed}");
    data(&b.write("POST", &format!("{SESSIONS}/{id}/resume"), None).await, 200);
    pump(&b).await;
    assert_eq!(device(&b, &id, &mac(5)).await["state"], "provisioned");
    assert_eq!(certificates(&b, &mac(5)).await, 1, "two re-enqueued jobs, one certificate");
    let discarded = data(&b.write("DELETE", &format!("{SESSIONS}/{id}"), None).await, 200);
    assert_eq!(discarded["session"]["state"], "closed");
    assert_eq!(data(&b.get(&format!("{SESSIONS}/recoverable")).await, 200)["sessions"], json!([]));
    failure(&b.write("DELETE", &format!("{SESSIONS}/{id}"), None).await, 409, "CONFLICT");
    failure(&b.write("POST", &format!("{SESSIONS}/{id}/resume"), None).await, 409, "CONFLICT");
}

async fn recoverable_is_an_empty_list_when_nothing_is_interrupted_and_history_lists_newest_first(b: Backend) {
    assert_eq!(data(&b.get(&format!("{SESSIONS}/recoverable")).await, 200), json!({ "sessions": [] }));
    assert_eq!(data(&b.get(&format!("{SESSIONS}/history")).await, 200), json!({ "sessions": [] }));
    let (first, second, third) = (start(&b).await, start(&b).await, start(&b).await);
    data(&b.write("POST", &format!("{BATCH}/{second}/close"), None).await, 200);
    let history = data(&b.get(&format!("{SESSIONS}/history?limit=10")).await, 200);
    let ids: Vec<_> = history["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, [third.clone(), second.clone(), first], "open and closed sessions, newest first");
    let two = data(&b.get(&format!("{SESSIONS}/history?limit=2")).await, 200);
    let ids: Vec<_> = two["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, [third, second]);
}

async fn every_session_fixture_answers_as_documented_in_process(b: Backend) {
    let app = b.app.clone();
    replay_session_fixtures(&b, |event| {
        let app = app.clone();
        async move { replay_in_process(&app, &event).await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_session_fixture_answers_as_documented_through_the_lambda_emulator_on_moto() {
    let b = Backend::moto().await;
    let rie = std::sync::Arc::new(Rie::start("devices-api", &trustplane_core::testkit::moto::lambda_env(&b.state.config)));
    replay_session_fixtures(&b, |event| {
        let rie = rie.clone();
        async move { tokio::task::block_in_place(|| replay_through_rie(&rie, &event)) }
    })
    .await;
}

/// Replays the `session*`/`sessions*`/`gateway*` fixtures in a realistic order through `invoke`.
async fn replay_session_fixtures<F, Fut>(b: &Backend, invoke: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    hierarchy(b).await;
    let (write, read, gateway) = (b.write.clone(), b.read.clone(), b.gateway.clone());
    let ev = |name: &str, subs: &[(&str, &str)]| {
        let mut all = vec![("WRITE_KEY", write.as_str()), ("READ_KEY", read.as_str()), ("GATEWAY_KEY", gateway.as_str()), ("TARGET_PASSWORD", PASSWORD)];
        all.extend_from_slice(subs);
        fixture_text("devices-api", name, &all)
    };
    let (status, started) = invoke(ev("session-start", &[])).await;
    assert_eq!(status, 201, "{started}");
    let id = started["data"]["session"]["id"].as_str().unwrap().to_owned();
    allow(b, &mac(1)).await;
    let (m, other) = (mac(1), mac(2));
    let subs = [("SESSION_ID", id.as_str()), ("MAC", m.as_str()), ("OTHER_MAC", other.as_str())];
    let cases: &[(&str, u16, Option<&str>)] = &[
        ("session-start-seed", 201, None),
        ("session-start-invalid", 400, Some("VALIDATION_FAILED")),
        ("session-start-no-key", 401, Some("UNAUTHORIZED")),
        ("session-get-unknown", 404, Some("SESSION_NOT_FOUND")),
        ("gateway-report-devices", 200, None),
        ("gateway-report-devices", 200, None),
        ("session-get", 200, None),
        ("session-devices", 200, None),
        ("session-provision-not-allowlisted", 403, Some("DEVICE_NOT_IN_ALLOWLIST")),
        ("session-provision-unknown-device", 404, Some("DEVICE_NOT_FOUND")),
        ("session-provision", 202, None),
        ("session-provision", 409, Some("CONFLICT")),
        ("session-provision-all", 202, None),
        ("session-skip", 200, None),
        ("sessions-recoverable", 200, None),
        ("sessions-history", 200, None),
        ("session-pause", 200, None),
        ("session-resume", 200, None),
        ("sessions-resume", 200, None),
    ];
    for (name, want, code) in cases {
        let (status, body) = invoke(ev(name, &subs)).await;
        assert_eq!(status, *want, "{name}: {body}");
        assert_eq!(body["success"], status < 400, "{name}: {body}");
        if let Some(code) = code {
            assert_eq!(body["error"]["code"], *code, "{name}: {body}");
        }
    }
    pump(b).await;
    for (name, want) in [("gateway-bundle", 200), ("gateway-verified", 200), ("session-stop", 200), ("session-close", 409), ("sessions-discard", 409)] {
        let (status, body) = invoke(ev(name, &subs)).await;
        assert_eq!(status, want, "{name}: {body}");
    }
    let (_, shown) = invoke(ev("session-get", &subs)).await;
    let s = &shown["data"]["session"];
    assert_eq!((s["device_count"].as_u64(), s["provisioned_count"].as_u64(), s["verified_count"].as_u64(), s["failed_count"].as_u64()), (Some(2), Some(1), Some(1), Some(1)), "{shown}");
}
