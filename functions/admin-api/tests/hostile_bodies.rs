//! Hostile input on the API key routes, on the embedded backend (`::sqlite`) and on the AWS
//! adapters against moto (`::moto`): every refusal is a 400 problem+json that says which field
//! and what kind of value, never a Rust type, echoing at most 64 characters of input.

mod support;

use axum::Router;
use http::StatusCode;
use serde_json::{json, Value};
use support::Backend;
use trustplane_core::http::{fallback, with_common_layers, ErrorFormat};
use trustplane_core::on_both_backends;
use trustplane_core::testkit::{call, Reply};

on_both_backends!(
    an_unknown_field_is_a_400_naming_it_and_creates_no_key,
    an_array_in_place_of_the_object_is_a_400_and_creates_no_key,
    ten_thousand_levels_of_nesting_are_a_400_not_a_crash,
    invalid_utf8_even_inside_an_unknown_field_is_a_400,
    values_of_the_wrong_kind_name_the_field_and_the_expected_kind,
    a_megabyte_scope_comes_back_cut_in_an_error_under_one_kibibyte,
    limit_is_plain_digits_within_1_to_100,
    an_uppercase_id_revokes_the_same_key_and_a_malformed_one_is_404_without_echo,
    unknown_routes_under_the_prefix_answer_problem_json_standalone_and_merged,
);

/// Asserts a 400 problem whose detail is `detail` and names no Rust type.
fn assert_refused(reply: &Reply, detail: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.header("content-type"), Some("application/problem+json"));
    let body = reply.json();
    assert_eq!((body["status"].as_u64(), body["detail"].as_str()), (Some(400), Some(detail)), "{body}");
    for rust in ["struct", "u32", "i64", "CreateKey", "sequence"] {
        assert!(!body.to_string().contains(rust), "{rust} in {body}");
    }
}

async fn key_count(env: &Backend) -> usize {
    env.send("GET", "/api/v1/api-keys?limit=100", "").await.json()["data"].as_array().unwrap().len()
}

async fn an_unknown_field_is_a_400_naming_it_and_creates_no_key(env: Backend) {
    let reply = env.send("POST", "/api/v1/api-keys", r#"{"name":"ci","scopes":["admin"],"expiresAt":"never"}"#).await;
    assert_refused(&reply, "expiresAt: unknown field (expected one of name, scopes)");
    assert_eq!(key_count(&env).await, 1);
}

async fn an_array_in_place_of_the_object_is_a_400_and_creates_no_key(env: Backend) {
    for body in [r#"["ci",["admin"]]"#, "[true]", "null"] {
        assert_refused(&env.send("POST", "/api/v1/api-keys", body).await, "the request body must be a JSON object");
    }
    assert_eq!(key_count(&env).await, 1);
}

async fn ten_thousand_levels_of_nesting_are_a_400_not_a_crash(env: Backend) {
    let body = format!(r#"{{"name":"ci","scopes":{}"admin"{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    assert_refused(&env.send("POST", "/api/v1/api-keys", body).await, "the request body nests deeper than 32 levels");
}

async fn invalid_utf8_even_inside_an_unknown_field_is_a_400(env: Backend) {
    let mut body = br#"{"name":"ci","scopes":["admin"],"junk":""#.to_vec();
    body.extend_from_slice(b"\xff\xfe\"}");
    assert_refused(&env.send("POST", "/api/v1/api-keys", body).await, "the request body is not valid UTF-8");
}

async fn values_of_the_wrong_kind_name_the_field_and_the_expected_kind(env: Backend) {
    assert_refused(&env.send("POST", "/api/v1/api-keys", r#"{"name":"ci","scopes":["admin",5]}"#).await, "scopes[1]: expected a string");
    assert_refused(&env.send("POST", "/api/v1/api-keys", r#"{"name":7,"scopes":["admin"]}"#).await, "name: expected a string");
    assert_refused(&env.send("POST", "/api/v1/api-keys", r#"{"name":"ci","scopes":"admin"}"#).await, "scopes: expected an array");
}

async fn a_megabyte_scope_comes_back_cut_in_an_error_under_one_kibibyte(env: Backend) {
    let body = json!({ "name": "ci", "scopes": ["x".repeat(1_000_000)] }).to_string();
    let reply = env.send("POST", "/api/v1/api-keys", body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.len() < 1024, "{} bytes", reply.body.len());
    let detail = reply.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.starts_with(&format!("scopes[0]: unknown scope \"{}…\"", "x".repeat(64))), "{detail}");
}

async fn limit_is_plain_digits_within_1_to_100(env: Backend) {
    for limit in ["%2B5", "-1", "0", "101", "5.0", "abc", "%205"] {
        let reply = env.send("GET", &format!("/api/v1/api-keys?limit={limit}"), "").await;
        assert_refused(&reply, "limit: expected a whole number 1..=100");
    }
    assert_eq!(env.send("GET", "/api/v1/api-keys?limit=100", "").await.status, StatusCode::OK);
}

async fn an_uppercase_id_revokes_the_same_key_and_a_malformed_one_is_404_without_echo(env: Backend) {
    let victim = env.state.api_keys.create(trustplane_core::services::api_keys::KeyName::parse("victim").unwrap(), trustplane_core::domain::Scopes::all()).await.unwrap();
    let revoked = env.send("DELETE", &format!("/api/v1/api-keys/{}", victim.record.id.to_ascii_uppercase()), "").await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let listed = env.send("GET", "/api/v1/api-keys", "").await.json();
    let entry = listed["data"].as_array().unwrap().iter().find(|k| k["id"] == victim.record.id.as_str()).cloned().unwrap();
    assert!(entry["revoked_at"].is_string(), "{entry}");
    let missing = env.send("DELETE", &format!("/api/v1/api-keys/{}", "z".repeat(10_000)), "").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.len() < 1024, "{} bytes", missing.body.len());
}

async fn unknown_routes_under_the_prefix_answer_problem_json_standalone_and_merged(env: Backend) {
    let merged = Router::new().merge(admin_api::router(env.state.clone())).merge(with_common_layers(Router::new().fallback(fallback), ErrorFormat::Problem, 1024));
    for app in [&env.app, &merged] {
        for (method, path) in [("DELETE", "/api/v1/api-keys/"), ("POST", "/api/v1/api-keys/x/y")] {
            let reply = call(app, http::Request::builder().method(method).uri(path).body(axum::body::Body::empty()).unwrap()).await;
            assert_eq!((reply.status, reply.header("content-type")), (StatusCode::NOT_FOUND, Some("application/problem+json")), "{path}");
            let body: Value = reply.json();
            assert_eq!(body["status"].as_u64(), Some(404), "{body}");
        }
    }
}
