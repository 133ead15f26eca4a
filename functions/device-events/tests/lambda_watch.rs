//! The streaming Lambda binary (`lambda_http::run_with_streaming_response`) under `cargo lambda
//! watch`, whose Function URL emulator streams (the RIE buffers): the runtime APIs are started
//! with `--only-lambda-apis` and the already-built binary polls them, over the embedded backend
//! the test writes events into. `cargo-lambda` comes from `$CARGO_LAMBDA` or
//! `infra/.venv/bin/cargo-lambda` (`pip install cargo-lambda`); the test fails without it.

mod support;

use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;
use trustplane_core::config::Config;
use trustplane_core::http::AppState;
use trustplane_core::services::devices::events::{self, DeviceEvent, EventKind};
use trustplane_core::services::devices::{sessions::StartSession, Devices};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cargo_lambda() -> PathBuf {
    let path = std::env::var_os("CARGO_LAMBDA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/.venv/bin/cargo-lambda"));
    assert!(path.exists(), "cargo-lambda not found at {} (pip install cargo-lambda into infra/.venv, or set CARGO_LAMBDA)", path.display());
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_for(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("cargo lambda watch did not listen on {port}");
}

/// The emulator and the function on `dir`'s embedded backend; streams last `lifetime_secs`.
async fn start(dir: &std::path::Path, lifetime_secs: u32) -> (Killed, Killed, String) {
    let port = free_port();
    let emulator = Command::new(cargo_lambda())
        .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cargo lambda watch starts");
    let emulator = Killed(emulator);
    wait_for(port).await;
    let function = Command::new(env!("CARGO_BIN_EXE_device-events"))
        .envs([
            ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "4096"),
            ("AWS_LAMBDA_FUNCTION_NAME", "_"),
            ("TRUSTPLANE_BACKEND", "local"),
            ("LOG_FORMAT", "text"),
            ("DEVICE_EVENTS_POLL_MS", "20"),
            ("DEVICE_EVENTS_SETTLE_MS", "50"),
        ])
        .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{port}/.rt"))
        .env("TRUSTPLANE_DATA_DIR", dir)
        .env("DEVICE_EVENTS_MAX_STREAM_SECS", lifetime_secs.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the device-events binary starts");
    (emulator, Killed(function), format!("http://127.0.0.1:{port}/lambda-url/_"))
}

async fn append(state: &AppState, session: &str, i: usize) -> String {
    let e = DeviceEvent::new(EventKind::DeviceStateChanged, Some(session), json!({ "n": i }), trustplane_core::clock::now());
    state.ports.store.transact(vec![e.write().unwrap()]).await.unwrap();
    e.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn through_cargo_lambda_watch_a_client_that_reconnects_with_last_event_id_receives_every_event_exactly_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = dir.path().to_path_buf();
    let (ports, _queue) = trustplane_core::wiring::open(&config).await.unwrap();
    let state = AppState::new(config, ports);
    let key = trustplane_core::testkit::mint_key(&state, &["devices:read"]).await;
    let (_emulator, _function, base) = start(dir.path(), 3).await;
    let devices = Devices::new(&state.ports, state.config.clone());
    let session = devices.start(StartSession { target_ssid: Some("Onboarding".into()), ..Default::default() }).await.unwrap().id;
    let url = format!("{base}/api/v1/provisioning/batch/events?session_id={session}");

    let mut written = events::read_through(state.ports.store.as_ref(), Some(&session), None, "~", 10).await.unwrap().into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(written.len(), 1, "the session's start is logged");
    for i in 0..40 {
        written.push(append(&state, &session, i).await);
    }
    let mut first = open_url(&url, &[("x-api-key", &key)]).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.headers.get("content-type").map(|v| v.to_str().unwrap()), Some("text/event-stream"));
    let hello = first.reader.event(Duration::from_secs(10)).await.expect("the connection event");
    assert_eq!(hello.kind(), "connection.established");
    let mut received: Vec<String> = first.reader.logged(25, Duration::from_secs(10)).await.into_iter().map(|e| e.id.unwrap()).collect();
    assert_eq!(received.len(), 25, "events stream before the invocation ends");
    drop(first);
    for i in 40..100 {
        written.push(append(&state, &session, i).await);
    }
    let last = received.last().unwrap().clone();
    let opened_at = std::time::Instant::now();
    let mut second = open_url(&url, &[("x-api-key", &key), ("last-event-id", &last)]).await;
    assert_eq!(second.status, 200);
    received.extend(second.reader.logged(written.len() - received.len(), Duration::from_secs(10)).await.into_iter().map(|e| e.id.unwrap()));
    let events_at = opened_at.elapsed();
    assert_eq!(received, written, "every event once, in order");
    let mut closing = None;
    while let Some(block) = second.reader.block(Duration::from_secs(10)).await {
        closing = Some(block);
    }
    let ended_at = opened_at.elapsed();
    assert!(second.reader.ended(), "the stream ends within its lifetime");
    assert!(closing.and_then(|b| b.retry).is_some(), "with a retry hint");
    // Streamed, not buffered: the events came well before the invocation ended (its lifetime
    // is DEVICE_EVENTS_MAX_STREAM_SECS: the emulator's deadline is no instant, so it is ignored).
    assert!(events_at + Duration::from_millis(1500) < ended_at, "events at {events_at:?}, end at {ended_at:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn through_cargo_lambda_watch_a_request_without_credentials_gets_the_401_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.data_dir = dir.path().to_path_buf();
    trustplane_core::wiring::open(&config).await.unwrap();
    let (_emulator, _function, base) = start(dir.path(), 2).await;
    let refused = open_url(&format!("{base}/api/v1/provisioning/batch/events"), &[]).await;
    assert_eq!(refused.status, 401);
    let body = refused.json().await;
    assert_eq!((body["success"].as_bool(), body["error"]["code"].as_str()), (Some(false), Some("UNAUTHORIZED")), "{body}");
}
