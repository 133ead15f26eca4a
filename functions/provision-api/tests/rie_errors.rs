//! Error-format parity on the AWS path: 404, 405, 413 and 415 from the built `provision-api`
//! bootstrap under the Lambda Runtime Interface Emulator (on moto) are seed 000's
//! `{"error": "..."}` and nothing else, exactly as the same requests answer in-process.

mod support;

use serde_json::Value;
use support::Backend;
use trustplane_core::http::AppState;
use trustplane_core::testkit::{moto, replay_raw_in_process, replay_raw_through_rie, rie::Rie, RawAnswer};

/// The body limit both deployments get, so that a 413 needs no megabyte event.
const MAX_BODY_BYTES: usize = 4096;

/// One request and the status of the seed 000 error it must get: `(method, path, content
/// type, body, status)`.
type Case = (&'static str, &'static str, Option<&'static str>, Option<String>, u16);

fn cases() -> Vec<Case> {
    let oversized = format!(r#"{{"provision_key":"sk_x","csr":"{}"}}"#, "A".repeat(MAX_BODY_BYTES));
    let key_request = r#"{"agent_id":"agent-1","ttl_seconds":60}"#.to_owned();
    vec![
        ("GET", "/api/v1/provision/status", None, None, 404),
        ("GET", "/api/v1/provision-keys/sk_abcdefgh/extra", None, None, 404),
        ("GET", "/api/v1/provision", None, None, 405),
        ("PUT", "/api/v1/provision-keys", Some("application/json"), Some(key_request.clone()), 405),
        ("POST", "/api/v1/provision", Some("application/json"), Some(oversized.clone()), 413),
        ("POST", "/api/v1/provision-keys", Some("application/json"), Some(oversized), 413),
        ("POST", "/api/v1/provision-keys", Some("text/plain"), Some(key_request.clone()), 415),
        ("POST", "/api/v1/provision-keys", Some("application/x-www-form-urlencoded"), Some(key_request), 415),
    ]
}

/// The event of one request with the admin key (see `testkit::keyed_event`).
fn event(method: &str, path: &str, key: &str, content_type: Option<&str>, body: Option<&str>) -> String {
    trustplane_core::testkit::keyed_event(method, path, key, content_type, body)
}

/// Asserts a seed 000 error, `{"error": "<message>"}` with no other key, and returns it.
fn seed_000_error(answer: &RawAnswer, status: u16, what: &str) -> Value {
    assert_eq!(answer.status, status, "{what}: {}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.content_type.as_deref(), Some("application/json"), "{what}");
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or_else(|_| panic!("{what}: not JSON: {}", String::from_utf8_lossy(&answer.body)));
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["error"], "{what}: {body}");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_through_the_lambda_emulator_are_seed_000_errors_identical_to_in_process() {
    let b = Backend::moto().await;
    let mut config = (*b.state.config).clone();
    config.max_body_bytes = MAX_BODY_BYTES;
    let app = provision_api::app(AppState::new(config, b.state.ports.clone()));
    let mut env = moto::lambda_env(&b.state.config);
    env.push(("MAX_BODY_BYTES".into(), MAX_BODY_BYTES.to_string()));
    let rie = Rie::start("provision-api", &env);
    for (method, path, content_type, body, status) in cases() {
        let event = event(method, path, &b.admin, content_type, body.as_deref());
        let what = format!("{method} {path} {content_type:?} ({status})");
        let in_process = seed_000_error(&replay_raw_in_process(&app, &event).await, status, &format!("in-process {what}"));
        let emulated = tokio::task::block_in_place(|| replay_raw_through_rie(&rie, &event));
        let emulated = seed_000_error(&emulated, status, &format!("emulator {what}"));
        assert_eq!(emulated, in_process, "{what}: the emulator answers as the app does in-process");
    }
}
