//! Error-format parity on the AWS path: 404, 405 and 413 from the built `tenants-api`
//! bootstrap under the Lambda Runtime Interface Emulator (on moto) are, exactly as the same
//! requests answer in-process, seed 003's RFC 7807 problems (ASP.NET's `type`/`title`/
//! `status`/`detail`) on its public routes and RFC 9457 problems on the operators' routes. The
//! group has no 415: `init` reads JSON whatever the Content-Type (the seed's clients post
//! `curl -d` form encoding), and its other routes take no body.

use serde_json::Value;
use trustplane_core::domain::Scopes;
use trustplane_core::http::AppState;
use trustplane_core::services::api_keys::KeyName;
use trustplane_core::testkit::{keyed_event, moto, replay_raw_in_process, replay_raw_through_rie, rie::Rie, RawAnswer};

/// The body limit both deployments get, so that a 413 needs no megabyte event.
const MAX_BODY_BYTES: usize = 4096;

/// A well-formed id naming nothing.
const ID: &str = "0190f5a6-7b8c-7d9e-8f00-112233445566";

/// Which problem format a route answers in.
#[derive(Clone, Copy, Debug)]
enum Format {
    /// Seed 003's public routes.
    Tenant,
    /// The operators' routes.
    Operator,
}

/// One request and the problem it must get: `(method, path, content type, body, status, format)`.
type Case = (&'static str, String, Option<&'static str>, Option<String>, u16, Format);

fn cases() -> Vec<Case> {
    let oversized = format!(r#"{{"name":"{}","slug":"big","plan":"Basic"}}"#, "x".repeat(MAX_BODY_BYTES));
    vec![
        ("GET", "/provision/tenants/nothing".into(), None, None, 404, Format::Tenant),
        ("GET", format!("/provision/tenants/{ID}/status/extra"), None, None, 404, Format::Tenant),
        ("GET", "/provision/tenants/init".into(), None, None, 405, Format::Tenant),
        ("POST", format!("/provision/tenants/{ID}/status"), None, None, 405, Format::Tenant),
        ("POST", "/provision/tenants/init".into(), Some("application/json"), Some(oversized.clone()), 413, Format::Tenant),
        ("POST", "/provision/tenants/init".into(), Some("application/x-www-form-urlencoded"), Some(oversized), 413, Format::Tenant),
        ("PUT", "/api/v1/tenants".into(), None, None, 405, Format::Operator),
        ("POST", format!("/api/v1/tenants/{ID}"), None, None, 405, Format::Operator),
        ("DELETE", format!("/api/v1/tenants/{ID}/retry"), None, None, 405, Format::Operator),
    ]
}

/// The `type` ASP.NET Core gives a status's problem.
fn aspnet_type(status: u16) -> &'static str {
    match status {
        404 => "https://tools.ietf.org/html/rfc7231#section-6.5.4",
        405 => "https://tools.ietf.org/html/rfc7231#section-6.5.5",
        413 => "https://tools.ietf.org/html/rfc7231#section-6.5.11",
        other => panic!("no case expects {other}"),
    }
}

fn code(status: u16) -> &'static str {
    match status {
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        413 => "PAYLOAD_TOO_LARGE",
        other => panic!("no case expects {other}"),
    }
}

/// Asserts a problem of `status` in `format` (an operator problem names the request's path and
/// its API Gateway request id) and returns it.
fn problem(answer: &RawAnswer, status: u16, format: Format, path: &str, request_id: &str, what: &str) -> Value {
    assert_eq!(answer.status, status, "{what}: {}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.content_type.as_deref(), Some("application/problem+json"), "{what}");
    let body = answer.json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    let reason = http::StatusCode::from_u16(status).unwrap().canonical_reason();
    let kind = match format {
        Format::Tenant => {
            assert_eq!(keys, ["detail", "status", "title", "type"], "{what}: {body}");
            aspnet_type(status)
        }
        Format::Operator => {
            assert_eq!(keys, ["code", "correlation_id", "detail", "instance", "status", "title", "type"], "{what}: {body}");
            assert_eq!((body["code"].as_str(), body["instance"].as_str(), body["correlation_id"].as_str()), (Some(code(status)), Some(path), Some(request_id)), "{what}: {body}");
            "about:blank"
        }
    };
    assert_eq!((body["type"].as_str(), body["title"].as_str(), body["status"].as_u64()), (Some(kind), reason, Some(u64::from(status))), "{what}: {body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{what}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_through_the_lambda_emulator_are_the_groups_problems_identical_to_in_process() {
    let state = moto::state().await;
    let key = state.api_keys.create(KeyName::parse("rie").unwrap(), Scopes::all()).await.unwrap().secret;
    let mut config = (*state.config).clone();
    config.max_body_bytes = MAX_BODY_BYTES;
    let app = tenants_api::app(AppState::new(config, state.ports.clone()));
    let mut env = moto::lambda_env(&state.config);
    env.push(("MAX_BODY_BYTES".into(), MAX_BODY_BYTES.to_string()));
    let rie = Rie::start("tenants-api", &env);
    for (method, path, content_type, body, status, format) in cases() {
        let event = keyed_event(method, &path, &key, content_type, body.as_deref());
        let request_id = serde_json::from_str::<Value>(&event).unwrap()["requestContext"]["requestId"].as_str().unwrap().to_owned();
        let what = format!("{method} {path} {content_type:?} ({status}, {format:?})");
        let in_process = problem(&replay_raw_in_process(&app, &event).await, status, format, &path, &request_id, &format!("in-process {what}"));
        let emulated = tokio::task::block_in_place(|| replay_raw_through_rie(&rie, &event));
        let emulated = problem(&emulated, status, format, &path, &request_id, &format!("emulator {what}"));
        assert_eq!(emulated, in_process, "{what}: the emulator answers as the app does in-process");
    }
}
