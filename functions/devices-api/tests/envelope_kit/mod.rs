//! Backends, keys and requests for the allowlist, network and limits tests (helper A1):
//! the devices API in-process over SQLite or over the AWS adapters on moto.
#![allow(dead_code)]

use axum::Router;
use serde_json::Value;
use trustplane_core::config::Config;
use trustplane_core::http::AppState;
use trustplane_core::testkit::{call, mint_key, moto, Reply};

/// The devices API over one backend family, with a key per scope.
pub struct Backend {
    pub state: AppState,
    pub app: Router,
    pub read: String,
    pub write: String,
    pub gateway: String,
    pub dir: Option<tempfile::TempDir>,
}

/// Test defaults: no rate limit in the way unless a test sets one.
fn relaxed(config: &mut Config) {
    config.devices_guard.rate_burst = 1_000_000;
    config.devices_guard.rate_per_sec = 100_000;
}

impl Backend {
    async fn finish(state: AppState, dir: Option<tempfile::TempDir>) -> Self {
        let read = mint_key(&state, &["devices:read"]).await;
        let write = mint_key(&state, &["devices:read", "devices:write"]).await;
        let gateway = mint_key(&state, &["devices:gateway"]).await;
        Backend { app: devices_api::app(state.clone()), state, read, write, gateway, dir }
    }

    pub async fn sqlite() -> Self {
        Self::sqlite_with(|_| {}).await
    }

    pub async fn moto() -> Self {
        Self::moto_with(|_| {}).await
    }

    pub async fn sqlite_with(change: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::from_lookup(|_| None).unwrap();
        config.data_dir = dir.path().to_path_buf();
        relaxed(&mut config);
        change(&mut config);
        let (ports, _queue) = trustplane_core::wiring::open(&config).await.unwrap();
        Self::finish(AppState::new(config, ports), Some(dir)).await
    }

    pub async fn moto_with(change: impl FnOnce(&mut Config)) -> Self {
        let mut config = moto::fresh_config().await;
        relaxed(&mut config);
        change(&mut config);
        let ports = trustplane_core::wiring::aws_ports_with(&moto::sdk_config().await, &config).unwrap();
        Self::finish(AppState::new(config, ports), None).await
    }

    /// `method path` with `key` (none: no `X-API-Key`) and an optional JSON body.
    pub async fn send(&self, method: &str, path: &str, key: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = http::Request::builder().method(method).uri(path);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                axum::body::Body::from(json.to_string())
            }
            None => axum::body::Body::empty(),
        };
        call(&self.app, request.body(body).unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, Some(&self.read), None).await
    }

    pub async fn write(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let key = self.write.clone();
        self.send(method, path, Some(&key), body).await
    }
}

/// Asserts the success envelope and returns its `data`.
pub fn data(reply: &Reply, status: u16) -> Value {
    let body = reply.json();
    assert_eq!(reply.status.as_u16(), status, "{body}");
    assert_eq!(body["success"], true, "{body}");
    assert!(body["correlation_id"].as_str().is_some_and(|c| !c.is_empty()), "{body}");
    assert!(body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{body}");
    body["data"].clone()
}

/// Asserts the error envelope's exact shape and returns its `error`.
pub fn failure(reply: &Reply, status: u16, code: &str) -> Value {
    let body = reply.json();
    assert_eq!(reply.status.as_u16(), status, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    assert!(body["correlation_id"].as_str().is_some_and(|c| !c.is_empty()), "{body}");
    assert!(body["timestamp"].is_string(), "{body}");
    let error = body["error"].clone();
    assert_eq!(error["code"], code, "{body}");
    assert!(error["message"].is_string(), "{body}");
    let retryable = matches!(code, "RATE_LIMITED" | "CIRCUIT_OPEN" | "INTERNAL_ERROR");
    assert_eq!(error["retryable"], retryable, "{body}");
    for key in error.as_object().unwrap().keys() {
        assert!(["code", "message", "retryable", "details", "retry_after_seconds"].contains(&key.as_str()), "unexpected {key}: {body}");
        assert!(!error[key].is_null(), "{key} is null: {body}");
    }
    error
}
