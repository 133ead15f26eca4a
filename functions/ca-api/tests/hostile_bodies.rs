//! Hostile input on seed 001's routes, on the embedded backend (`::sqlite`) and on the AWS
//! adapters against moto (`::moto`): arrays, unknown fields, deep nesting and invalid UTF-8
//! are 400 `VALIDATION_FAILED` that change nothing; JSON bodies are read whatever the
//! Content-Type; errors echo at most 64 characters; renewal names no server path.

mod support;

use axum::Router;
use serde_json::json;
use support::{assert_error, send, text, Backend, Body};
use trustplane_core::http::{fallback, with_common_layers, ErrorFormat};
use trustplane_core::on_both_backends;
use trustplane_core::testkit::{call, Reply};

on_both_backends!(
    an_array_or_an_unknown_field_in_a_renew_body_is_a_400_and_renews_nothing,
    deep_nesting_and_invalid_utf8_are_400_and_revoke_nothing,
    values_of_the_wrong_kind_name_the_field_and_the_kind_never_a_rust_type,
    admin_bodies_are_read_as_json_whatever_the_content_type,
    list_numbers_are_plain_digits_and_long_parameters_are_not_echoed_whole,
    renewal_names_its_backup_relative_to_the_data_dir_or_as_an_s3_uri,
);

async fn raw(b: &Backend, method: &str, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
    let request = http::Request::builder().method(method).uri(path).header("x-api-key", &b.admin).header("content-type", content_type);
    call(&b.app, request.body(axum::body::Body::from(body.into())).unwrap()).await
}

/// Asserts a seed 001 400 whose message is `error`.
fn assert_refused(reply: &Reply, error: &str, certname: Option<&str>) {
    assert_error(reply, 400, "VALIDATION_FAILED", certname);
    assert_eq!(reply.json()["error"].as_str(), Some(error));
}

async fn an_array_or_an_unknown_field_in_a_renew_body_is_a_400_and_renews_nothing(b: Backend) {
    let before = b.ca_pem().await;
    assert_refused(&raw(&b, "POST", "/api/v1/ca/renew", "application/json", "[true]").await, "the request body must be a JSON object", None);
    assert_refused(&raw(&b, "POST", "/api/v1/ca/renew", "application/json", r#"{"backup":true,"force":1}"#).await, "force: unknown field (expected backup)", None);
    assert_eq!(b.ca_pem().await, before);
}

async fn deep_nesting_and_invalid_utf8_are_400_and_revoke_nothing(b: Backend) {
    b.enrol("web01.example.com").await;
    let path = "/api/v1/ca/certificates/web01.example.com";
    let deep = format!(r#"{{"reason":{}"x"{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    assert_refused(&raw(&b, "DELETE", path, "application/json", deep).await, "the request body nests deeper than 32 levels", Some("web01.example.com"));
    let mut invalid = br#"{"reason":""#.to_vec();
    invalid.extend_from_slice(b"\x80\"}");
    assert_refused(&raw(&b, "DELETE", path, "application/json", invalid).await, "the request body is not valid UTF-8", Some("web01.example.com"));
    let details = b.get(path, Some(&b.reader)).await;
    assert_eq!(details.json()["status"], "valid", "{}", text(&details));
}

async fn values_of_the_wrong_kind_name_the_field_and_the_kind_never_a_rust_type(b: Backend) {
    b.submit("web02.example.com").await;
    let sign = raw(&b, "POST", "/api/v1/ca/sign/web02.example.com", "application/json", r#"{"certname":5}"#).await;
    assert_refused(&sign, "certname: expected a string", Some("web02.example.com"));
    assert_refused(&raw(&b, "POST", "/api/v1/ca/renew", "application/json", r#"{"backup":"yes"}"#).await, "backup: expected true or false", None);
    let reason = format!(r#"{{"{}":1}}"#, "r".repeat(1_000_000));
    let reply = raw(&b, "POST", "/api/v1/ca/reject/web02.example.com", "application/json", reason).await;
    assert_error(&reply, 400, "VALIDATION_FAILED", Some("web02.example.com"));
    assert!(reply.body.len() < 1024, "{} bytes", reply.body.len());
}

async fn admin_bodies_are_read_as_json_whatever_the_content_type(b: Backend) {
    b.submit("web03.example.com").await;
    let rejected = raw(&b, "POST", "/api/v1/ca/reject/web03.example.com", "application/x-www-form-urlencoded", r#"{"reason":"unknown node"}"#).await;
    assert_eq!(rejected.status, 200, "{}", text(&rejected));
    assert_eq!(rejected.json()["certname"], "web03.example.com");
    b.enrol("web04.example.com").await;
    let revoked = raw(&b, "DELETE", "/api/v1/ca/certificates/web04.example.com", "text/plain", r#"{"reason":"decommissioned"}"#).await;
    assert_eq!((revoked.status.as_u16(), revoked.json()["revocation_reason"].as_str()), (200, Some("decommissioned")), "{}", text(&revoked));
    let form = raw(&b, "POST", "/api/v1/ca/renew", "application/x-www-form-urlencoded", "backup=true").await;
    assert_error(&form, 400, "VALIDATION_FAILED", None);
}

async fn list_numbers_are_plain_digits_and_long_parameters_are_not_echoed_whole(b: Backend) {
    for query in ["limit=%2B5", "limit=%205", "offset=%2B0", "offset=-0"] {
        let reply = b.get(&format!("/api/v1/ca/certificates?{query}"), Some(&b.reader)).await;
        assert_error(&reply, 400, "VALIDATION_FAILED", None);
        assert!(reply.json()["error"].as_str().unwrap().ends_with(": expected a whole number"), "{query}: {}", text(&reply));
    }
    let huge = "s".repeat(30_000);
    for query in [format!("sort_by={huge}"), format!("status={huge}")] {
        let reply = b.get(&format!("/api/v1/ca/requests?{query}"), Some(&b.reader)).await;
        assert_error(&reply, 400, "VALIDATION_FAILED", None);
        assert!(reply.body.len() < 1024, "{} bytes", reply.body.len());
    }
    let unknown = b.get(&format!("/api/v1/ca/requests?{huge}=1"), Some(&b.reader)).await;
    assert_eq!(unknown.status, 200, "unknown parameters are ignored");
    assert!(unknown.body.len() < 1024, "{} bytes", unknown.body.len());
}

async fn renewal_names_its_backup_relative_to_the_data_dir_or_as_an_s3_uri(b: Backend) {
    let ca_id = b.ca_id().await;
    let serial = b.pki().get_authority(&ca_id).await.unwrap().serial_number.to_ascii_lowercase();
    let reply = b.post("/api/v1/ca/renew", Some(json!({ "backup": true })), Some(&b.admin)).await;
    assert_eq!(reply.status, 200, "{}", text(&reply));
    let location = reply.json()["backup_path"].as_str().unwrap().to_owned();
    let key = format!("backups/ca/{ca_id}/{serial}.pem");
    match b.on_moto {
        true => assert_eq!(location, format!("s3://{}/{key}", b.state.config.blob_bucket)),
        false => {
            assert_eq!(location, format!("blobs/{key}"));
            assert!(b.state.config.data_dir.join(&location).is_file(), "{location}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_under_the_prefixes_answer_in_seed_001_format_standalone_and_merged() {
    let b = Backend::sqlite().await;
    let merged = Router::new().merge(ca_api::router(b.state.clone())).merge(with_common_layers(Router::new().fallback(fallback), ErrorFormat::Problem, 1024));
    for app in [&b.app, &merged] {
        for (method, path) in [("POST", "/api/v1/ca/sign/"), ("GET", "/api/v1/ca/nothing"), ("PUT", "/puppet-ca/v1/nothing/x")] {
            let reply = send(app, method, path, Some(&b.admin), Body::None).await;
            assert_error(&reply, 404, "NOT_FOUND", None);
            assert_eq!(reply.header("content-type"), Some("application/json"), "{method} {path}");
        }
    }
}
