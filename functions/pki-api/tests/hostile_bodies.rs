//! Hostile input on seed 004's routes, on the embedded backend (`local::…`) and on the AWS
//! adapters against moto (`moto::…`): unknown fields, arrays, deep nesting and invalid UTF-8
//! are 400 problems that change nothing; errors say which field and what kind, never a Rust
//! type, and echo at most 64 characters; filters and ids are parsed as UUIDs of any case.

#[macro_use]
mod common;

use axum::Router;
use common::*;
use serde_json::{json, Value};
use trustplane_core::http::{fallback, with_common_layers, ErrorFormat};
use trustplane_core::testkit::{call, Reply};

on_both_backends! {
    unknown_fields_are_400_problems_naming_them_and_change_nothing => unknown_fields;
    arrays_deep_nesting_and_invalid_utf8_are_400_problems_and_revoke_nothing => malformed_bodies;
    values_of_the_wrong_kind_name_the_field_and_the_kind_never_a_rust_type => wrong_kinds;
    megabyte_values_come_back_cut_in_errors_under_one_kibibyte => megabyte_echoes;
    malformed_filters_and_limits_are_400_and_ids_of_any_case_filter_alike => filters;
    an_uppercase_id_gets_the_same_answer_as_its_lowercase_form_on_every_route => uppercase_ids;
}

async fn raw(env: &Env, method: &str, path: &str, body: impl Into<Vec<u8>>) -> Reply {
    let request = http::Request::builder().method(method).uri(path).header("x-api-key", &env.admin).header("content-type", "application/json");
    call(&env.app, request.body(axum::body::Body::from(body.into())).unwrap()).await
}

/// Asserts a 400 problem whose detail is `detail` and names no Rust type.
fn assert_refused(reply: &Reply, detail: &str) {
    assert_eq!(reply.status, 400, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.header("content-type"), Some("application/problem+json"));
    let body = reply.json();
    assert_eq!(body["detail"].as_str(), Some(detail), "{body}");
    for rust in ["struct ", "u32", "i64", "enum ", "sequence", "Body"] {
        assert!(!body["detail"].as_str().unwrap_or_default().contains(rust), "{rust} in {body}");
    }
}

async fn status_of(env: &Env, cert: &Value) -> Value {
    env.get(&format!("/api/v1/certificates/{}", id(cert))).await.json()["status"].clone()
}

async fn unknown_fields(env: Env) {
    let subject = raw(&env, "POST", "/api/v1/subjects", r#"{"commonName":"x","org":"y"}"#).await;
    assert_refused(&subject, "org: unknown field (expected one of commonName, organization, organizationalUnit, country, state, locality, email)");
    let subject_id = env.subject("Unconstrained CA?").await;
    let policy = json!({ "subjectId": subject_id, "type": "ROOT", "keySpec": { "algorithm": "EC", "size": 256 }, "policy": { "validityYears": 5, "pathLen": 0 } });
    assert_refused(&env.post("/api/v1/authorities", policy).await, "policy.pathLen: unknown field (expected one of validityYears, pathLenConstraint, crlDistributionPoint, ocspResponderUrl, allowLeafIssuance, allowedTemplates, allowedDnsNames, maxValidityDays, nameConstraints)");
    let curve = json!({ "subjectId": subject_id, "type": "ROOT", "keySpec": { "algorithm": "EC", "size": 256, "curve": "P-256" } });
    assert_refused(&env.post("/api/v1/authorities", curve).await, "keySpec.curve: unknown field (expected one of algorithm, size)");
    assert_eq!(env.get("/api/v1/authorities").await.json()["data"], json!([]));
    let root = env.root(("EC", 256)).await;
    let leaf_subject = env.subject("www.example.com").await;
    let other = json!({ "subjectId": leaf_subject, "template": "TLS_SERVER", "san": { "dnsNames": ["www.example.com"], "otherNames": ["x"] } });
    assert_refused(&env.post(&issue_path(&root), other).await, "san.otherNames: unknown field (expected one of dnsNames, ipAddresses, uris)");
    let leaf = env.leaf(&root).await;
    let revoke = json!({ "reason": "KEY_COMPROMISE", "because": "x" });
    assert_refused(&env.post(&format!("/api/v1/certificates/{}/revocation", id(&leaf)), revoke).await, "because: unknown field (expected one of reason, comment)");
    assert_eq!(status_of(&env, &leaf).await, "VALID");
}

async fn malformed_bodies(env: Env) {
    let array = raw(&env, "POST", "/api/v1/subjects", r#"["Array CA",null,null,null,null,null,null]"#).await;
    assert_refused(&array, "the request body must be a JSON object");
    assert_eq!(env.get("/api/v1/subjects").await.json()["data"], json!([]));
    let leaf = env.leaf(&env.root(("EC", 256)).await).await;
    let revocation = format!("/api/v1/certificates/{}/revocation", id(&leaf));
    assert_refused(&raw(&env, "POST", &revocation, r#"["KEY_COMPROMISE",null]"#).await, "the request body must be a JSON object");
    let deep = format!(r#"{{"x":{}{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    assert_refused(&raw(&env, "POST", &revocation, deep).await, "the request body nests deeper than 32 levels");
    let mut invalid = br#"{"reason":"KEY_COMPROMISE","junk":""#.to_vec();
    invalid.extend_from_slice(b"\xc3\x28\"}");
    assert_refused(&raw(&env, "POST", &revocation, invalid).await, "the request body is not valid UTF-8");
    assert_eq!(status_of(&env, &leaf).await, "VALID");
}

async fn wrong_kinds(env: Env) {
    let subject_id = env.subject("Kinds CA").await;
    let size = json!({ "subjectId": subject_id, "type": "ROOT", "keySpec": { "algorithm": "EC", "size": "big" } });
    assert_refused(&env.post("/api/v1/authorities", size).await, "keySpec.size: expected a whole number 0..=4294967295");
    let kind = json!({ "subjectId": subject_id, "type": "ROOTS" });
    assert_refused(&env.post("/api/v1/authorities", kind).await, "type: expected one of ROOT, INTERMEDIATE");
    let spec = json!({ "subjectId": subject_id, "type": "ROOT", "keySpec": ["EC", 256] });
    assert_refused(&env.post("/api/v1/authorities", spec).await, "keySpec: expected an object");
    let missing = json!({ "subjectId": subject_id, "type": "ROOT", "keySpec": { "algorithm": "EC" } });
    assert_refused(&env.post("/api/v1/authorities", missing).await, "keySpec.size is required");
    let root = env.root(("EC", 256)).await;
    let days = json!({ "subjectId": subject_id, "template": "TLS_CLIENT", "validityDays": -1 });
    assert_refused(&env.post(&issue_path(&root), days).await, "validityDays: expected a whole number 0..=4294967295");
    let names = json!({ "subjectId": subject_id, "template": "TLS_CLIENT", "san": { "dnsNames": "a.example" } });
    assert_refused(&env.post(&issue_path(&root), names).await, "san.dnsNames: expected an array");
}

async fn megabyte_echoes(env: Env) {
    let huge = "x".repeat(1_000_000);
    let leaf = env.leaf(&env.root(("EC", 256)).await).await;
    let reason = env.post(&format!("/api/v1/certificates/{}/revocation", id(&leaf)), json!({ "reason": huge })).await;
    let name = env.post(&issue_path(&json!({ "id": leaf["id"] })), json!({ "subjectId": huge })).await;
    let status = env.get(&format!("/api/v1/certificates?status={}", &huge[..30_000])).await;
    let field = raw(&env, "POST", "/api/v1/subjects", format!(r#"{{"{huge}":1}}"#)).await;
    for reply in [reason, name, status, field] {
        assert_eq!(reply.status, 400, "{}", String::from_utf8_lossy(&reply.body[..reply.body.len().min(300)]));
        assert!(reply.body.len() < 1024, "{} bytes", reply.body.len());
    }
}

async fn filters(env: Env) {
    let root = env.root(("EC", 256)).await;
    let leaf = env.leaf(&root).await;
    for (query, detail) in [
        ("issuerId=%27%20OR%201%3D1--", "issuerId: expected a UUID such as 0190a1b2-0000-7000-8000-000000000001"),
        ("subjectId=*", "subjectId: expected a UUID such as 0190a1b2-0000-7000-8000-000000000001"),
        ("issuerId=", "issuerId: expected a UUID such as 0190a1b2-0000-7000-8000-000000000001"),
        ("limit=%2B5", "limit: expected a whole number 1..=100"),
        ("limit=5%20", "limit: expected a whole number 1..=100"),
    ] {
        assert_refused(&env.get(&format!("/api/v1/certificates?{query}")).await, detail);
    }
    assert_refused(&env.get("/api/v1/subjects?limit=%2B5").await, "limit: expected a whole number 1..=100");
    let lower = env.get(&format!("/api/v1/certificates?issuerId={}", id(&root))).await.json();
    let upper = env.get(&format!("/api/v1/certificates?issuerId={}", id(&root).to_ascii_uppercase())).await.json();
    assert_eq!(lower["data"][0]["id"], leaf["id"]);
    assert_eq!(upper["data"], lower["data"]);
}

async fn uppercase_ids(env: Env) {
    let root = env.root(("EC", 256)).await;
    let leaf = env.leaf(&root).await;
    let subject_id = root["subjectId"].as_str().unwrap();
    let routes = [("/api/v1/subjects/", subject_id, ""), ("/api/v1/authorities/", id(&root), ""), ("/api/v1/authorities/", id(&root), "/chain"), ("/api/v1/certificates/", id(&leaf), "")];
    for (prefix, id, suffix) in routes {
        let lower = env.get(&format!("{prefix}{id}{suffix}")).await;
        let upper = env.get(&format!("{prefix}{}{suffix}", id.to_ascii_uppercase())).await;
        assert_eq!((lower.status.as_u16(), upper.status.as_u16()), (200, 200), "{prefix}{id}{suffix}");
        assert_eq!(lower.body, upper.body, "{prefix}{id}{suffix}");
    }
    let subject = env.subject("upper.example.com").await.to_ascii_uppercase();
    let issued = env.post(&format!("/api/v1/issuers/{}/certificates", id(&root).to_ascii_uppercase()), json!({ "subjectId": subject, "template": "TLS_CLIENT" })).await;
    assert_eq!(issued.status, 200, "{}", issued.json());
    let revoked = env.post(&format!("/api/v1/certificates/{}/revocation", id(&leaf).to_ascii_uppercase()), json!({ "reason": "SUPERSEDED" })).await;
    assert_eq!((revoked.status.as_u16(), revoked.json()["id"].as_str()), (202, Some(id(&leaf))));
    assert_eq!(status_of(&env, &leaf).await, "REVOKED");
    assert_refused(&env.post(&issue_path(&root), json!({ "subjectId": "*", "template": "TLS_CLIENT" })).await, "subjectId: expected a UUID such as 0190a1b2-0000-7000-8000-000000000001");
    let unknown = env.get(&format!("/api/v1/certificates/{}", "z".repeat(10_000))).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.len() < 1024, "{} bytes", unknown.body.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_under_the_prefixes_answer_problem_json_standalone_and_merged() {
    let env = Env::local().await;
    let merged = Router::new().merge(pki_api::router(env.state.clone())).merge(with_common_layers(Router::new().fallback(fallback), ErrorFormat::Problem, 1024));
    for app in [&env.app, &merged] {
        for (method, path) in [("POST", "/api/v1/subjects/"), ("GET", "/api/v1/certificates/x/y"), ("DELETE", "/api/v1/issuers/")] {
            let reply = call(app, http::Request::builder().method(method).uri(path).body(axum::body::Body::empty()).unwrap()).await;
            assert_eq!((reply.status.as_u16(), reply.header("content-type")), (404, Some("application/problem+json")), "{method} {path}");
            assert_eq!(reply.json()["status"].as_u64(), Some(404));
        }
    }
}
