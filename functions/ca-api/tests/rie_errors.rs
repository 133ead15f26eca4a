//! Error-format parity on the AWS path: 404, 405 and 413 from the built `ca-api` bootstrap
//! under the Lambda Runtime Interface Emulator (on moto) are seed 001's
//! `{"error","code","details":{"certname","timestamp"}}`, exactly as the same requests answer
//! in-process. The group has no 415: its admin bodies are JSON whatever their Content-Type
//! (Puppet's tooling posts them form-encoded) and its agent bodies are PEM text, so a JSON body
//! under another media type is read, on the emulator as in-process.

mod support;

use serde_json::{json, Value};
use support::Backend;
use trustplane_core::http::AppState;
use trustplane_core::testkit::{moto, replay_raw_in_process, replay_raw_through_rie, rie::Rie, RawAnswer};

/// The body limit both deployments get, so that a 413 needs no megabyte event.
const MAX_BODY_BYTES: usize = 4096;

/// One request and the seed 001 error it must get: `(method, path, content type, body,
/// status, code, details.certname)`.
type Case = (&'static str, &'static str, Option<&'static str>, Option<String>, u16, &'static str, Option<&'static str>);

fn cases() -> Vec<Case> {
    let oversized = format!(r#"{{"backup":true,"pad":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
    let oversized_pem = format!("-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n", "A".repeat(MAX_BODY_BYTES));
    vec![
        ("GET", "/puppet-ca/v1/nothing", None, None, 404, "NOT_FOUND", None),
        ("POST", "/api/v1/ca/sign/", None, None, 404, "NOT_FOUND", None),
        ("GET", "/api/v1/ca/nothing", None, None, 404, "NOT_FOUND", None),
        ("DELETE", "/api/v1/ca/renew", None, None, 405, "METHOD_NOT_ALLOWED", None),
        ("PUT", "/api/v1/ca/sign/web.example.com", None, None, 405, "METHOD_NOT_ALLOWED", Some("web.example.com")),
        ("POST", "/puppet-ca/v1/certificate/ca", None, None, 405, "METHOD_NOT_ALLOWED", None),
        ("POST", "/api/v1/ca/renew", Some("application/json"), Some(oversized.clone()), 413, "PAYLOAD_TOO_LARGE", None),
        ("DELETE", "/api/v1/ca/certificates/web.example.com", Some("application/json"), Some(oversized), 413, "PAYLOAD_TOO_LARGE", Some("web.example.com")),
        ("PUT", "/puppet-ca/v1/certificate_request/big.example.com", Some("text/plain"), Some(oversized_pem), 413, "PAYLOAD_TOO_LARGE", None),
        ("POST", "/api/v1/ca/reject/ghost.example.com", Some("application/x-www-form-urlencoded"), Some(r#"{"reason":"unknown"}"#.into()), 404, "CSR_NOT_FOUND", Some("ghost.example.com")),
        ("POST", "/api/v1/ca/reject/ghost.example.com", Some("text/plain"), Some(r#"{"reason":"unknown","extra":1}"#.into()), 400, "VALIDATION_FAILED", Some("ghost.example.com")),
    ]
}

/// The event of one request with the admin key (see `testkit::keyed_event`).
fn event(method: &str, path: &str, key: &str, content_type: Option<&str>, body: Option<&str>) -> String {
    trustplane_core::testkit::keyed_event(method, path, key, content_type, body)
}

/// Asserts a seed 001 error body and returns it without its (time-dependent) timestamp.
fn seed_001_error(answer: &RawAnswer, status: u16, code: &str, certname: Option<&str>, what: &str) -> Value {
    assert_eq!(answer.status, status, "{what}: {}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.content_type.as_deref(), Some("application/json"), "{what}");
    let mut body: Value = serde_json::from_slice(&answer.body).unwrap_or_else(|_| panic!("{what}: not JSON: {}", String::from_utf8_lossy(&answer.body)));
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["code", "details", "error"], "{what}: {body}");
    assert_eq!(body["code"], code, "{what}: {body}");
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: {body}");
    let details = body["details"].as_object_mut().unwrap();
    let at = details.remove("timestamp").and_then(|t| t.as_str().map(str::to_owned)).unwrap_or_default();
    assert!(time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339).is_ok(), "{what}: timestamp {at:?}");
    assert_eq!(Value::Object(details.clone()), json!({ "certname": certname }), "{what}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_through_the_lambda_emulator_are_seed_001_errors_identical_to_in_process() {
    let b = Backend::moto().await;
    let mut config = (*b.state.config).clone();
    config.max_body_bytes = MAX_BODY_BYTES;
    let app = ca_api::app(AppState::new(config, b.state.ports.clone()));
    let mut env = moto::lambda_env(&b.state.config);
    env.push(("MAX_BODY_BYTES".into(), MAX_BODY_BYTES.to_string()));
    let rie = Rie::start("ca-api", &env);
    for (method, path, content_type, body, status, code, certname) in cases() {
        let event = event(method, path, &b.admin, content_type, body.as_deref());
        let what = format!("{method} {path} ({status})");
        let in_process = seed_001_error(&replay_raw_in_process(&app, &event).await, status, code, certname, &format!("in-process {what}"));
        let emulated = tokio::task::block_in_place(|| replay_raw_through_rie(&rie, &event));
        let emulated = seed_001_error(&emulated, status, code, certname, &format!("emulator {what}"));
        assert_eq!(emulated, in_process, "{what}: the emulator answers as the app does in-process");
    }
}
