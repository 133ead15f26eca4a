//! Test support shared by every function crate (feature `testkit`): an embedded-backend
//! state in a temp dir, `events/` fixture loading, and one-shot calls through a router.

use crate::config::Config;
use crate::domain::Scopes;
use crate::http::AppState;
use crate::services::api_keys::KeyName;
use axum::Router;
use std::path::{Path, PathBuf};
use tower::ServiceExt;

/// An embedded-backend [`AppState`] over a fresh temp dir (kept alive by the returned guard).
pub async fn local_state() -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::from_lookup(|_| None).expect("default config");
    config.data_dir = dir.path().to_path_buf();
    let (ports, _queue) = crate::wiring::open(&config).await.expect("open embedded backend");
    (AppState::new(config, ports), dir)
}

/// Mints a key with `scopes` and returns its secret.
pub async fn mint_key(state: &AppState, scopes: &[&str]) -> String {
    let scopes = Scopes::parse(&scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("scopes");
    state.api_keys.create(KeyName::parse("test").unwrap(), scopes).await.expect("mint key").secret
}

/// The workspace's `events/` directory.
pub fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// Reads `events/<function>/<name>.json`, substituting `{{KEY}}` placeholders.
pub fn fixture_text(function: &str, name: &str, substitutions: &[(&str, &str)]) -> String {
    let path = events_dir().join(function).join(format!("{name}.json"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    for (key, value) in substitutions {
        text = text.replace(&format!("{{{{{key}}}}}"), value);
    }
    text
}

/// An API Gateway v2 fixture as the Lambda runtime would hand it to the router.
pub fn fixture_request(function: &str, name: &str, substitutions: &[(&str, &str)]) -> lambda_http::Request {
    lambda_http::request::from_str(&fixture_text(function, name, substitutions)).expect("fixture is an API Gateway event")
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request through `app`.
pub async fn call<B>(app: &Router, request: http::Request<B>) -> Reply
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let response = app.clone().oneshot(request.map(axum::body::Body::new)).await.expect("router is infallible");
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("body").to_vec();
    Reply { status: parts.status, headers: parts.headers, body }
}

pub mod faults;
pub mod logs;
pub mod moto;
pub mod parity;
pub mod rie;

/// `s` escaped to sit inside a JSON string that is itself the `body` string of an event.
pub fn embed_in_event_body(s: &str) -> String {
    let once = serde_json::to_string(s).expect("string");
    let twice = serde_json::to_string(&once[1..once.len() - 1]).expect("string");
    twice[1..twice.len() - 1].to_owned()
}

/// An API Gateway HTTP API (payload 2.0) event for `method path` with `headers` (a JSON object)
/// and an optional body, as the gateway hands it to a function.
pub fn api_gateway_event(method: &str, path: &str, headers: serde_json::Value, body: Option<&str>) -> String {
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "test" },
            "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": "$default", "stage": "$default",
            "time": "31/Jan/2026:14:40:00 +0000", "timeEpoch": 1769870400000u64,
        },
        "body": body,
        "isBase64Encoded": false,
    })
    .to_string()
}

/// [`api_gateway_event`] with an `X-API-Key` and, for a body, its Content-Type and
/// Content-Length as the gateway passes them on.
pub fn keyed_event(method: &str, path: &str, key: &str, content_type: Option<&str>, body: Option<&str>) -> String {
    let mut headers = serde_json::json!({ "host": "api.example.com", "x-api-key": key });
    if let Some(content_type) = content_type {
        headers["content-type"] = serde_json::json!(content_type);
    }
    if let Some(body) = body {
        headers["content-length"] = serde_json::json!(body.len().to_string());
    }
    api_gateway_event(method, path, headers, body)
}

/// A fixture's answer: status and JSON body. The body is `Null` only when it is empty and the
/// status is 204 No Content or 304 Not Modified; any other body that is not JSON panics (replay
/// those with [`replay_raw_in_process`] / [`replay_raw_through_rie`] and read their bytes).
pub type Answer = (u16, serde_json::Value);

/// Replays `event` (API Gateway v2 JSON text) through `app` in-process; see [`Answer`].
pub async fn replay_in_process(app: &Router, event: &str) -> Answer {
    let raw = replay_raw_in_process(app, event).await;
    (raw.status, raw.json())
}

/// Replays `event` through a Lambda bootstrap under the emulator; see [`Answer`].
pub fn replay_through_rie(rie: &rie::Rie, event: &str) -> Answer {
    let raw = replay_raw_through_rie(rie, event);
    (raw.status, raw.json())
}

/// A fixture's whole answer: status, content type and body bytes (base64 undone).
#[derive(Clone, Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl RawAnswer {
    /// The body as JSON; `Null` only for the empty body of a 204 or 304. Panics, showing the
    /// answer, on any other body that is not JSON, an empty one included: a test cannot pass
    /// on a body that went missing.
    pub fn json(&self) -> serde_json::Value {
        if self.body.is_empty() && matches!(self.status, 204 | 304) {
            return serde_json::Value::Null;
        }
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("{} answered a body that is not JSON ({:?}): {:?}", self.status, self.content_type, String::from_utf8_lossy(&self.body)))
    }

    /// The body as text (panics on non-UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a text body")
    }
}

/// Replays `event` through `app` in-process, keeping the body's bytes.
pub async fn replay_raw_in_process(app: &Router, event: &str) -> RawAnswer {
    let request = lambda_http::request::from_str(event).expect("fixture is an API Gateway event");
    let reply = call(app, request).await;
    RawAnswer { status: reply.status.as_u16(), content_type: reply.header("content-type").map(str::to_owned), body: reply.body }
}

/// Replays `event` through the emulator, decoding a base64 body (`isBase64Encoded`) as API
/// Gateway does for the client.
pub fn replay_raw_through_rie(rie: &rie::Rie, event: &str) -> RawAnswer {
    use base64::Engine;
    let reply = rie.invoke(event);
    let status = reply["statusCode"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or_else(|| panic!("the function answered no HTTP response: {reply}"));
    let text = reply["body"].as_str().unwrap_or_default();
    let body = if reply["isBase64Encoded"] == true {
        base64::engine::general_purpose::STANDARD.decode(text).expect("isBase64Encoded bodies are base64")
    } else {
        text.as_bytes().to_vec()
    };
    let content_type = reply["headers"]["content-type"].as_str().map(str::to_owned);
    RawAnswer { status, content_type, body }
}

/// Runs each named `async fn(Backend)` of the calling test crate on the embedded backend
/// (`<name>::sqlite`) and on the AWS adapters against moto (`<name>::moto`); the caller's
/// `Backend` provides `async fn sqlite()` and `async fn moto()`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(super::Backend::sqlite().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn moto() {
                super::$name(super::Backend::moto().await).await
            }
        }
    )*};
}
