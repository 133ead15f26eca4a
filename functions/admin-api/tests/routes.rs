//! Every `events/admin-api/` fixture through the router on the embedded backend, plus the
//! scope and revocation rules.

use admin_api::app;
use http::StatusCode;
use trustplane_core::testkit::{call, fixture_request, local_state, mint_key};

const FN: &str = "admin-api";

#[tokio::test(flavor = "multi_thread")]
async fn health_fixture_returns_ok_with_the_crate_version() {
    let (state, _dir) = local_state().await;
    let reply = call(&app(state), fixture_request(FN, "health", &[])).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }));
}

#[tokio::test(flavor = "multi_thread")]
async fn create_key_fixture_returns_201_with_the_secret_and_the_key_then_authenticates() {
    let (state, _dir) = local_state().await;
    let admin = mint_key(&state, &["admin"]).await;
    let app = app(state);
    let reply = call(&app, fixture_request(FN, "create-key", &[("ADMIN_KEY", &admin)])).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json());
    let body = reply.json();
    assert_eq!(body["name"], "ci");
    assert_eq!(body["scopes"], serde_json::json!(["ca:read"]));
    let secret = body["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tp_") && secret.len() >= 3 + 22, "key too short for 128 bits: {secret}");
    assert!(reply.header("x-correlation-id").is_some_and(|id| !id.is_empty()));
    let forbidden = call(&app, fixture_request(FN, "create-key", &[("ADMIN_KEY", &secret)])).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(forbidden.header("content-type"), Some("application/problem+json"));
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_keys_never_shows_a_secret_or_hash() {
    let (state, _dir) = local_state().await;
    let admin = mint_key(&state, &["admin"]).await;
    let reply = call(&app(state), fixture_request(FN, "list-keys", &[("ADMIN_KEY", &admin)])).await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = String::from_utf8(reply.body.clone()).unwrap();
    assert!(!text.contains(&admin[3..]), "secret leaked in {text}");
    assert!(!text.contains("hash"), "hash leaked in {text}");
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(admin.as_bytes()))
    };
    assert!(!text.contains(&sha256), "the stored SHA-256 of the key leaked in {text}");
    assert_eq!(reply.json()["data"][0]["prefix"], admin[..11]);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_without_or_with_unknown_keys_return_401_problems() {
    let (state, _dir) = local_state().await;
    let app = app(state);
    for fixture in ["create-key-no-key", "list-keys-unknown-key"] {
        let reply = call(&app, fixture_request(FN, fixture, &[])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{fixture}");
        assert_eq!(reply.json()["status"], 401, "{fixture}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_and_wrong_content_type_return_400_and_415_problems() {
    let (state, _dir) = local_state().await;
    let admin = mint_key(&state, &["admin"]).await;
    let app = app(state);
    let bad = call(&app, fixture_request(FN, "create-key-bad-json", &[("ADMIN_KEY", &admin)])).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["detail"].as_str().unwrap().contains("invalid JSON"));
    let text = call(&app, fixture_request(FN, "create-key-wrong-content-type", &[("ADMIN_KEY", &admin)])).await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(text.json()["code"], "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_returns_413_problem() {
    let (mut state, _dir) = local_state().await;
    std::sync::Arc::make_mut(&mut state.config).max_body_bytes = 256;
    let admin = mint_key(&state, &["admin"]).await;
    let big = format!(r#"{{"name":"{}","scopes":["admin"]}}"#, "x".repeat(1024));
    let request = http::Request::post("/api/v1/api-keys")
        .header("x-api-key", admin)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(big))
        .unwrap();
    let reply = call(&app(state), request).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json()["code"], "PAYLOAD_TOO_LARGE");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_key_returns_401_and_unknown_ids_404() {
    let (state, _dir) = local_state().await;
    let admin = mint_key(&state, &["admin"]).await;
    let victim = state.api_keys.create(
        trustplane_core::services::api_keys::KeyName::parse("victim").unwrap(),
        trustplane_core::domain::Scopes::all(),
    ).await.unwrap();
    let app = app(state);
    let id = victim.record.id.clone();
    let revoked = call(&app, fixture_request(FN, "delete-key", &[("ADMIN_KEY", &admin), ("KEY_ID", &id)])).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let after = call(&app, fixture_request(FN, "list-keys", &[("ADMIN_KEY", &victim.secret)])).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    let unknown = uuid::Uuid::now_v7().to_string();
    let missing = call(&app, fixture_request(FN, "delete-key", &[("ADMIN_KEY", &admin), ("KEY_ID", &unknown)])).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_and_methods_get_problem_bodies_not_bare_text() {
    let (state, _dir) = local_state().await;
    let app = app(state);
    let nowhere = call(&app, http::Request::get("/api/v1/nowhere").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!((nowhere.status, nowhere.json()["status"].as_u64()), (StatusCode::NOT_FOUND, Some(404)));
    let wrong = call(&app, http::Request::put("/health").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!((wrong.status, wrong.json()["status"].as_u64()), (StatusCode::METHOD_NOT_ALLOWED, Some(405)));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_gateway_request_id_becomes_the_correlation_id() {
    let (state, _dir) = local_state().await;
    let event: serde_json::Value = serde_json::from_str(&trustplane_core::testkit::fixture_text(FN, "list-keys-unknown-key", &[])).unwrap();
    let request_id = event["requestContext"]["requestId"].as_str().unwrap().to_owned();
    let reply = call(&app(state), fixture_request(FN, "list-keys-unknown-key", &[])).await;
    assert_eq!(reply.header("x-correlation-id"), Some(request_id.as_str()));
    assert_eq!(reply.json()["correlation_id"], request_id);
}
