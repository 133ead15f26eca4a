//! Seed 002's error table rendered exactly, API keys in the envelope, the per-key rate limit
//! (429 `RATE_LIMITED`) on SQLite and DynamoDB (moto), and the circuit breaker's 503
//! `CIRCUIT_OPEN` through the envelope.

mod envelope_kit;

use axum::routing::get;
use envelope_kit::*;
use std::sync::Arc;
use std::time::Duration;
use trustplane_core::http::{with_common_layers, ErrorFormat};
use trustplane_core::on_both_backends;
use trustplane_core::services::devices::guard::{BreakerSettings, CircuitBreaker};
use trustplane_core::testkit::call;
use trustplane_core::Error;

on_both_backends!(a_key_past_its_burst_gets_429_rate_limited_with_retry_after_while_other_keys_pass, a_rate_limited_key_is_served_again_once_its_bucket_refills);

const LIST: &str = "/api/v1/provisioning/allowlist";

async fn limited(burst: u32, per_sec: u32, moto: bool) -> Backend {
    let change = move |c: &mut trustplane_core::config::Config| {
        c.devices_guard.rate_burst = burst;
        c.devices_guard.rate_per_sec = per_sec;
    };
    if moto {
        Backend::moto_with(change).await
    } else {
        Backend::sqlite_with(change).await
    }
}

fn is_moto(b: &Backend) -> bool {
    b.dir.is_none()
}

async fn a_key_past_its_burst_gets_429_rate_limited_with_retry_after_while_other_keys_pass(b: Backend) {
    let b = limited(3, 1, is_moto(&b)).await;
    for _ in 0..3 {
        data(&b.get(LIST).await, 200);
    }
    let refused = b.get(LIST).await;
    let error = failure(&refused, 429, "RATE_LIMITED");
    let retry: u64 = refused.header("retry-after").expect("Retry-After").parse().unwrap();
    assert_eq!(error["retry_after_seconds"].as_u64(), Some(retry));
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(error["message"], "Rate limited");
    let other = b.write.clone();
    assert_eq!(b.send("GET", LIST, Some(&other), None).await.status.as_u16(), 200, "buckets are per key");
}

async fn a_rate_limited_key_is_served_again_once_its_bucket_refills(b: Backend) {
    let b = limited(1, 2, is_moto(&b)).await;
    data(&b.get(LIST).await, 200);
    failure(&b.get(LIST).await, 429, "RATE_LIMITED");
    tokio::time::sleep(Duration::from_millis(600)).await;
    data(&b.get(LIST).await, 200);
}

#[tokio::test]
async fn missing_and_unknown_keys_are_401_and_a_key_without_the_scope_is_403_in_the_envelope() {
    let b = Backend::sqlite().await;
    let error = failure(&b.send("GET", LIST, None, None).await, 401, "UNAUTHORIZED");
    assert!(error["details"].as_str().unwrap().contains("X-API-Key"), "{error}");
    failure(&b.send("GET", LIST, Some("tp_nonsense"), None).await, 401, "UNAUTHORIZED");
    failure(&b.send("GET", "/api/v1/provisioning/network/status", Some("tp_nonsense"), None).await, 401, "UNAUTHORIZED");
    let read = b.read.clone();
    let error = failure(&b.send("POST", LIST, Some(&read), Some(serde_json::json!({ "mac": "AA:BB:CC:DD:EE:FF" }))).await, 403, "FORBIDDEN");
    assert!(error["details"].as_str().unwrap().contains("devices:write"), "{error}");
}

#[tokio::test]
async fn a_store_outage_is_a_retryable_503_in_the_envelope() {
    let b = Backend::sqlite().await;
    let (ports, faulty) = trustplane_core::testkit::faults::FaultyStore::install(&b.state.ports);
    let app = devices_api::app(trustplane_core::http::AppState { ports, ..b.state.clone() });
    faulty.throttle(100);
    let request = http::Request::builder().uri(LIST).header("x-api-key", &b.read).body(axum::body::Body::empty()).unwrap();
    let error = failure(&call(&app, request).await, 503, "CIRCUIT_OPEN");
    assert_eq!(error["retryable"], true);
}

/// Builds the error a route answers.
type MakeError = fn() -> Error;

/// A router answering `GET /e` with `error`, in the envelope.
async fn rendered(error: impl Fn() -> Error + Clone + Send + Sync + 'static) -> trustplane_core::testkit::Reply {
    let app = axum::Router::new().route("/e", get(move || {
        let error = error.clone();
        async move { Err::<(), _>(error()) }
    }));
    let app = with_common_layers(app, ErrorFormat::Envelope, 1024);
    call(&app, http::Request::builder().uri("/e").body(axum::body::Body::empty()).unwrap()).await
}

#[tokio::test]
async fn every_code_of_the_seed_table_renders_with_its_status_title_and_retryable_flag() {
    let table: Vec<(MakeError, u16, &str, &str)> = vec![
        (|| Error::validation("Invalid MAC address format"), 400, "VALIDATION_FAILED", "Validation failed"),
        (|| Error::NotFound("session s1".into()).with_code("SESSION_NOT_FOUND"), 404, "SESSION_NOT_FOUND", "Session not found"),
        (|| Error::NotFound("device d1".into()).with_code("DEVICE_NOT_FOUND"), 404, "DEVICE_NOT_FOUND", "Device not found"),
        (|| Error::Forbidden("AA:BB:CC:DD:EE:FF is not allowlisted".into()).with_code("DEVICE_NOT_IN_ALLOWLIST"), 403, "DEVICE_NOT_IN_ALLOWLIST", "Device not in allowlist"),
        (|| Error::TooManyRequests { message: "slow down".into(), retry_after_secs: 7 }.with_code("RATE_LIMITED"), 429, "RATE_LIMITED", "Rate limited"),
        (|| Error::Busy { message: "recovering".into(), retry_after_secs: 9 }.with_code("CIRCUIT_OPEN"), 503, "CIRCUIT_OPEN", "Circuit open"),
        (|| Error::internal("secret cause"), 500, "INTERNAL_ERROR", "Internal error"),
    ];
    for (make, status, code, title) in table {
        let reply = rendered(make).await;
        let error = failure(&reply, status, code);
        assert_eq!(error["message"], title, "{error}");
        assert!(error["details"].is_string(), "{error}");
        match status {
            429 | 503 => {
                let secs = error["retry_after_seconds"].as_u64().expect("retry_after_seconds");
                assert_eq!(reply.header("retry-after"), Some(secs.to_string().as_str()));
            }
            _ => assert!(error.get("retry_after_seconds").is_none() && reply.header("retry-after").is_none(), "{error}"),
        }
    }
    let internal = rendered(|| Error::internal("secret cause")).await;
    assert!(!String::from_utf8_lossy(&internal.body).contains("secret cause"), "causes stay in the log");
}

#[tokio::test]
async fn an_error_with_nothing_to_add_omits_details_rather_than_sending_null() {
    let reply = rendered(|| Error::validation("")).await;
    let error = failure(&reply, 400, "VALIDATION_FAILED");
    assert!(error.get("details").is_none(), "{error}");
}

#[tokio::test]
async fn an_open_breaker_answers_503_circuit_open_with_retry_after_until_a_probe_succeeds() {
    let breaker = Arc::new(CircuitBreaker::new("pki", BreakerSettings { failures: 2, cooldown: Duration::from_millis(300) }));
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (b2, f2) = (breaker.clone(), failing.clone());
    let app = axum::Router::new().route("/issue", get(move || {
        let (breaker, failing) = (b2.clone(), f2.clone());
        async move {
            breaker
                .call(|| async move {
                    if failing.load(std::sync::atomic::Ordering::SeqCst) {
                        Err(Error::Unavailable("custody down".into()))
                    } else {
                        Ok("issued")
                    }
                })
                .await
        }
    }));
    let app = with_common_layers(app, ErrorFormat::Envelope, 1024);
    let hit = || call(&app, http::Request::builder().uri("/issue").body(axum::body::Body::empty()).unwrap());
    for _ in 0..2 {
        assert_eq!(hit().await.status.as_u16(), 503, "the custody's own failures");
    }
    let open = hit().await;
    let error = failure(&open, 503, "CIRCUIT_OPEN");
    assert_eq!((open.header("retry-after"), error["retry_after_seconds"].as_u64()), (Some("1"), Some(1)));
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(hit().await.status.as_u16(), 503, "still cooling down");
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(hit().await.status.as_u16(), 200, "the half-open probe succeeds");
    assert!(!breaker.is_open());
}

#[tokio::test]
async fn a_corrupt_stored_counter_is_a_retryable_500_internal_error_that_hides_its_cause() {
    let b = Backend::sqlite().await;
    let corrupt = trustplane_core::ports::Item::new("ALLOWCOUNT", "COUNT", serde_json::json!({ "total": "many" }));
    b.state.ports.store.put(corrupt, trustplane_core::ports::Condition::Always).await.unwrap();
    let reply = b.get("/api/v1/provisioning/allowlist/stats").await;
    let error = failure(&reply, 500, "INTERNAL_ERROR");
    assert_eq!((error["message"].as_str(), error["details"].as_str()), (Some("Internal error"), Some("internal server error")));
    assert!(!String::from_utf8_lossy(&reply.body).contains("corrupt"), "the cause stays in the log");
}
