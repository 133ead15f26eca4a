//! Error-format parity between a function's router in-process and its built bootstrap under
//! the Lambda Runtime Interface Emulator: the same event must get the same answer.

use super::rie::Rie;
use super::{keyed_event, replay_raw_in_process, replay_raw_through_rie, RawAnswer};
use serde_json::Value;

/// One request and the answer it must get: `(method, path, content type, body, status, code)`.
pub type Case = (&'static str, String, Option<&'static str>, Option<String>, u16, &'static str);

/// Asserts an RFC 9457 problem (`type` `about:blank`, the status' reason as `title`) of
/// `status` and `code` naming the request's path and its API Gateway request id, with exactly
/// the project's seven members; returns it.
pub fn problem(answer: &RawAnswer, status: u16, code: &str, path: &str, request_id: &str, what: &str) -> Value {
    assert_eq!(answer.status, status, "{what}: {}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.content_type.as_deref(), Some("application/problem+json"), "{what}");
    let body = answer.json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["code", "correlation_id", "detail", "instance", "status", "title", "type"], "{what}: {body}");
    let reason = http::StatusCode::from_u16(status).unwrap().canonical_reason();
    assert_eq!((body["type"].as_str(), body["title"].as_str(), body["status"].as_u64()), (Some("about:blank"), reason, Some(u64::from(status))), "{what}: {body}");
    assert_eq!((body["code"].as_str(), body["instance"].as_str(), body["correlation_id"].as_str()), (Some(code), Some(path), Some(request_id)), "{what}: {body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{what}: {body}");
    body
}

/// Sends every case with `key`, in-process to `app` and through `rie`; each answer must pass
/// [`problem`], and the emulator's must equal the in-process one.
pub async fn problems_match(app: &axum::Router, rie: &Rie, key: &str, cases: Vec<Case>) {
    for (method, path, content_type, body, status, code) in cases {
        let event = keyed_event(method, &path, key, content_type, body.as_deref());
        let request_id = serde_json::from_str::<Value>(&event).unwrap()["requestContext"]["requestId"].as_str().unwrap().to_owned();
        let what = format!("{method} {path} {content_type:?} ({status})");
        let in_process = problem(&replay_raw_in_process(app, &event).await, status, code, &path, &request_id, &format!("in-process {what}"));
        let emulated = tokio::task::block_in_place(|| replay_raw_through_rie(rie, &event));
        let emulated = problem(&emulated, status, code, &path, &request_id, &format!("emulator {what}"));
        assert_eq!(emulated, in_process, "{what}: the emulator answers as the app does in-process");
    }
}
