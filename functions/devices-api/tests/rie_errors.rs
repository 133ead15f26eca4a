//! Error-format parity on the AWS path: 404, 405, 413 and 415 from the built `devices-api`
//! bootstrap under the Lambda Runtime Interface Emulator (on moto) are seed 002's envelope,
//! `{"success": false, "error": {...}, "correlation_id", "timestamp"}`, exactly as the same
//! requests answer in-process.

use serde_json::{json, Value};
use trustplane_core::domain::Scopes;
use trustplane_core::http::AppState;
use trustplane_core::services::api_keys::KeyName;
use trustplane_core::testkit::{keyed_event, moto, replay_raw_in_process, replay_raw_through_rie, rie::Rie, RawAnswer};

/// The body limit both deployments get, so that a 413 needs no megabyte event.
const MAX_BODY_BYTES: usize = 4096;

const MAC: &str = "AA:BB:CC:DD:EE:FF";

/// One request and the error it must get: `(method, path, content type, body, status, code, message)`.
type Case = (&'static str, String, Option<&'static str>, Option<String>, u16, &'static str, &'static str);

fn cases() -> Vec<Case> {
    let oversized = format!(r#"{{"mac":"{MAC}","description":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
    let entry = format!(r#"{{"mac":"{MAC}"}}"#);
    let (not_found, not_allowed) = (("NOT_FOUND", "Not found"), ("METHOD_NOT_ALLOWED", "Method not allowed"));
    let (too_large, unsupported) = (("PAYLOAD_TOO_LARGE", "Payload too large"), ("UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"));
    let cases = vec![
        ("GET", "/api/v1/provisioning/nothing".to_owned(), None, None, 404, not_found),
        ("GET", format!("/api/v1/provisioning/allowlist/{MAC}/extra"), None, None, 404, not_found),
        ("DELETE", "/api/v1/provisioning/network/status".into(), None, None, 405, not_allowed),
        ("PUT", "/api/v1/provisioning/allowlist".into(), Some("application/json"), Some(entry.clone()), 405, not_allowed),
        ("POST", "/api/v1/provisioning/allowlist".into(), Some("application/json"), Some(oversized.clone()), 413, too_large),
        ("POST", "/api/v1/provisioning/gateway/network".into(), Some("application/json"), Some(oversized), 413, too_large),
        ("POST", "/api/v1/provisioning/allowlist".into(), Some("text/plain"), Some(entry.clone()), 415, unsupported),
        ("PATCH", format!("/api/v1/provisioning/allowlist/{MAC}"), Some("application/x-www-form-urlencoded"), Some(entry), 415, unsupported),
    ];
    cases.into_iter().map(|(method, path, content_type, body, status, (code, message))| (method, path, content_type, body, status, code, message)).collect()
}

/// Asserts a seed 002 error envelope of `status`, `code` and `message` carrying the request's
/// API Gateway request id, and returns it without its (time-dependent) timestamp.
fn envelope(answer: &RawAnswer, status: u16, code: &str, message: &str, request_id: &str, what: &str) -> Value {
    assert_eq!(answer.status, status, "{what}: {}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.content_type.as_deref(), Some("application/json"), "{what}");
    let mut body = answer.json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["correlation_id", "error", "success", "timestamp"], "{what}: {body}");
    assert_eq!((&body["success"], body["correlation_id"].as_str()), (&json!(false), Some(request_id)), "{what}: {body}");
    let error = body["error"].as_object().unwrap();
    assert!(error.keys().all(|k| ["code", "message", "retryable", "details"].contains(&k.as_str())), "{what}: {body}");
    assert_eq!((&error["code"], &error["message"], &error["retryable"]), (&json!(code), &json!(message), &json!(false)), "{what}: {body}");
    let at = body.as_object_mut().unwrap().remove("timestamp").and_then(|t| t.as_str().map(str::to_owned)).unwrap_or_default();
    assert!(time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339).is_ok(), "{what}: timestamp {at:?}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_through_the_lambda_emulator_are_seed_002_envelopes_identical_to_in_process() {
    let state = moto::state().await;
    let key = state.api_keys.create(KeyName::parse("rie").unwrap(), Scopes::all()).await.unwrap().secret;
    let mut config = (*state.config).clone();
    config.max_body_bytes = MAX_BODY_BYTES;
    let app = devices_api::app(AppState::new(config, state.ports.clone()));
    let mut env = moto::lambda_env(&state.config);
    env.push(("MAX_BODY_BYTES".into(), MAX_BODY_BYTES.to_string()));
    let rie = Rie::start("devices-api", &env);
    for (method, path, content_type, body, status, code, message) in cases() {
        let event = keyed_event(method, &path, &key, content_type, body.as_deref());
        let request_id = serde_json::from_str::<Value>(&event).unwrap()["requestContext"]["requestId"].as_str().unwrap().to_owned();
        let what = format!("{method} {path} {content_type:?} ({status})");
        let in_process = envelope(&replay_raw_in_process(&app, &event).await, status, code, message, &request_id, &format!("in-process {what}"));
        let emulated = tokio::task::block_in_place(|| replay_raw_through_rie(&rie, &event));
        let emulated = envelope(&emulated, status, code, message, &request_id, &format!("emulator {what}"));
        assert_eq!(emulated, in_process, "{what}: the emulator answers as the app does in-process");
    }
}
