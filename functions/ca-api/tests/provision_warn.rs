//! Issue 9 item 23: `POST /api/v1/provision` logs its WARN line "provision attempt with invalid
//! key" for a revoked key too, not only for an unknown one. The log is captured by a
//! process-wide subscriber, which is why these tests have a binary of their own.

mod support;

use lambda_http::tracing::subscriber::fmt::MakeWriter;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use support::{send, text, Backend, Body};
use trustplane_core::on_both_backends;

on_both_backends!(a_revoked_provision_key_is_logged_as_an_invalid_key_attempt);

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Every log line of this process so far.
fn logs() -> String {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    let captured = CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let subscriber = lambda_http::tracing::subscriber::fmt().with_ansi(false).with_max_level(lambda_http::tracing::Level::INFO).with_writer(captured.clone()).finish();
        lambda_http::tracing::subscriber::util::SubscriberInitExt::init(subscriber);
        captured
    });
    String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned()
}

async fn a_revoked_provision_key_is_logged_as_an_invalid_key_attempt(b: Backend) {
    logs();
    let provisioning = provision_api::app(b.state.clone());
    let minted = send(&provisioning, "POST", "/api/v1/provision-keys", Some(&b.admin), Body::Json(json!({ "agent_id": "agent-warn", "ttl_seconds": 600 }))).await;
    assert_eq!(minted.status, 201, "{}", text(&minted));
    let (key, prefix) = (minted.json()["provision_key"].as_str().unwrap().to_owned(), minted.json()["key_prefix"].as_str().unwrap().to_owned());
    let revoked = send(&provisioning, "DELETE", &format!("/api/v1/provision-keys/{prefix}"), Some(&b.admin), Body::None).await;
    assert_eq!(revoked.status, 204, "{}", text(&revoked));
    let (_, pem) = support::csr("agent-warn");
    let refused = send(&provisioning, "POST", "/api/v1/provision", None, Body::Json(json!({ "provision_key": key, "csr": pem }))).await;
    assert_eq!(refused.status, 401, "{}", text(&refused));
    let logged = logs();
    let shown: String = key.chars().take(8).collect();
    let line = logged.lines().find(|l| l.contains("provision attempt with invalid key") && l.contains(&shown));
    assert!(line.is_some_and(|l| l.contains("WARN")), "no WARN line for the revoked key {shown}:\n{logged}");
}
