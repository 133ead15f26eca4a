//! Hostile input on seed 000's routes, on the embedded backend (`::sqlite`) and on the AWS
//! adapters against moto (`::moto`): every refusal is a 400 `{"error": "..."}` that says which
//! field and what kind of value, never a Rust type, echoing at most 64 characters of input;
//! `POST /api/v1/provision` reads JSON whatever the Content-Type, as the seed's server does.

mod support;

use axum::Router;
use http::StatusCode;
use serde_json::{json, Value};
use support::{csr_pem, mint, post, Backend};
use trustplane_core::http::{fallback, with_common_layers, ErrorFormat};
use trustplane_core::on_both_backends;
use trustplane_core::testkit::{call, Reply};

on_both_backends!(
    unknown_fields_are_400_naming_them_and_leave_the_key_usable,
    arrays_deep_nesting_and_invalid_utf8_are_400_and_leave_the_key_usable,
    values_of_the_wrong_kind_name_the_field_and_the_kind_never_a_rust_type,
    provisioning_reads_json_whatever_the_content_type_but_key_management_still_wants_json,
    malformed_filters_limits_and_prefixes_are_refused_without_echo,
);

async fn raw(b: &Backend, method: &str, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
    let request = http::Request::builder().method(method).uri(path).header("x-api-key", &b.admin).header("content-type", content_type);
    call(&b.app, request.body(axum::body::Body::from(body.into())).unwrap()).await
}

/// Asserts a 400 `{"error": error}` and nothing else.
fn assert_refused(reply: &Reply, error: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.json(), json!({ "error": error }));
}

async fn assert_key_works(b: &Backend, key: &str) {
    let reply = post(b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr_pem("x") }), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
}

async fn unknown_fields_are_400_naming_them_and_leave_the_key_usable(b: Backend) {
    let key = mint(&b, "agent-1", 600).await;
    let reply = post(&b, "/api/v1/provision", json!({ "provision_key": key, "csr": csr_pem("x"), "agent": "other" }), None).await;
    assert_refused(&reply, "agent: unknown field (expected one of provision_key, csr)");
    let minted = post(&b, "/api/v1/provision-keys", json!({ "agent_id": "agent-2", "ttl_seconds": 60, "uses": 5 }), Some(&b.admin)).await;
    assert_refused(&minted, "uses: unknown field (expected one of agent_id, ttl_seconds)");
    assert_key_works(&b, &key).await;
}

async fn arrays_deep_nesting_and_invalid_utf8_are_400_and_leave_the_key_usable(b: Backend) {
    let key = mint(&b, "agent-1", 600).await;
    let array = json!([key, csr_pem("x")]).to_string();
    assert_refused(&raw(&b, "POST", "/api/v1/provision", "application/json", array).await, "the request body must be a JSON object");
    let deep = format!(r#"{{"provision_key":"{key}","x":{}{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    assert_refused(&raw(&b, "POST", "/api/v1/provision", "application/json", deep).await, "the request body nests deeper than 32 levels");
    let mut invalid = format!(r#"{{"provision_key":"{key}","junk":""#).into_bytes();
    invalid.extend_from_slice(b"\xed\xa0\x80\"}");
    assert_refused(&raw(&b, "POST", "/api/v1/provision", "application/json", invalid).await, "the request body is not valid UTF-8");
    let keys = raw(&b, "POST", "/api/v1/provision-keys", "application/json", r#"["agent-3",60]"#).await;
    assert_refused(&keys, "the request body must be a JSON object");
    assert_key_works(&b, &key).await;
}

async fn values_of_the_wrong_kind_name_the_field_and_the_kind_never_a_rust_type(b: Backend) {
    let ttl = post(&b, "/api/v1/provision-keys", json!({ "agent_id": "agent-2", "ttl_seconds": "3600" }), Some(&b.admin)).await;
    assert_refused(&ttl, "ttl_seconds: expected a whole number");
    let csr = post(&b, "/api/v1/provision", json!({ "provision_key": "sk_x", "csr": ["pem"] }), None).await;
    assert_refused(&csr, "csr: expected a string");
    let huge = raw(&b, "POST", "/api/v1/provision", "application/json", format!(r#"{{"{}":1}}"#, "x".repeat(1_000_000))).await;
    assert_eq!(huge.status, StatusCode::BAD_REQUEST);
    assert!(huge.body.len() < 1024, "{} bytes", huge.body.len());
    assert!(huge.json()["error"].as_str().unwrap().starts_with(&format!("{}…: unknown field", "x".repeat(64))));
}

async fn provisioning_reads_json_whatever_the_content_type_but_key_management_still_wants_json(b: Backend) {
    let key = mint(&b, "agent-form", 600).await;
    let body = json!({ "provision_key": key, "csr": csr_pem("x") }).to_string();
    let reply = raw(&b, "POST", "/api/v1/provision", "application/x-www-form-urlencoded", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.json()["agent_id"], "agent-form");
    let minted = raw(&b, "POST", "/api/v1/provision-keys", "application/x-www-form-urlencoded", r#"{"agent_id":"a","ttl_seconds":60}"#).await;
    assert_eq!((minted.status, minted.json()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, json!({ "error": "expected Content-Type: application/json" })));
}

async fn malformed_filters_limits_and_prefixes_are_refused_without_echo(b: Backend) {
    mint(&b, "agent-5", 600).await;
    for (query, error) in [
        ("agent_id=%27%20OR%201%3D1--", "agent_id must match ^[a-z0-9][a-z0-9._-]{0,62}$"),
        ("agent_id=*", "agent_id must match ^[a-z0-9][a-z0-9._-]{0,62}$"),
        ("limit=%2B5", "limit: expected a whole number 1..=100"),
        ("limit=abc", "limit: expected a whole number 1..=100"),
    ] {
        assert_refused(&raw(&b, "GET", &format!("/api/v1/provision-keys?{query}"), "application/json", "").await, error);
    }
    let listed = raw(&b, "GET", "/api/v1/provision-keys?agent_id=agent-5&limit=5", "application/json", "").await.json();
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "{listed}");
    let long = raw(&b, "DELETE", &format!("/api/v1/provision-keys/sk_{}", "a".repeat(10_000)), "application/json", "").await;
    assert_eq!((long.status, long.json()), (StatusCode::NOT_FOUND, json!({ "error": "provision key not found" })));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_under_the_prefixes_answer_in_the_error_format_standalone_and_merged() {
    let b = Backend::sqlite().await;
    let merged = Router::new().merge(provision_api::router(b.state.clone())).merge(with_common_layers(Router::new().fallback(fallback), ErrorFormat::Problem, 1024));
    for app in [&b.app, &merged] {
        for (method, path) in [("DELETE", "/api/v1/provision-keys/"), ("GET", "/api/v1/provision/x"), ("POST", "/api/v1/provision-keys/sk_abcdefgh/x")] {
            let reply = call(app, http::Request::builder().method(method).uri(path).body(axum::body::Body::empty()).unwrap()).await;
            assert_eq!((reply.status, reply.header("content-type")), (StatusCode::NOT_FOUND, Some("application/json")), "{method} {path}");
            let body: Value = reply.json();
            assert!(body["error"].is_string() && body.as_object().unwrap().len() == 1, "{body}");
        }
    }
}
