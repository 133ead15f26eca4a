//! Issue 11's documents: every Lambda function serves its group's OpenAPI 3.1 document at
//! `/openapi.json` and at the `/openapi/{group}.json` the stack routes to it, with the group's
//! error format (ACME's RFC 8555 problems on its `/acme/` routes); `serve` merges them all and
//! serves Swagger UI from the vendored bundle.

use trustplane_core::services::acme::AcmeSettings;
use axum::Router;
use http::{Request, StatusCode};
use serde_json::Value;
use trustplane_core::http::AppState;
use trustplane_core::testkit::{call, local_state};

async fn get(app: &Router, path: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let reply = call(app, Request::get(path).body(String::new()).unwrap()).await;
    (reply.status, reply.header("content-type").map(str::to_owned), reply.body)
}

async fn document(app: &Router, path: &str) -> Value {
    let (status, content_type, body) = get(app, path).await;
    assert_eq!((status, content_type.as_deref()), (StatusCode::OK, Some("application/json")), "{path}");
    serde_json::from_slice(&body).unwrap()
}

/// The media type and schema every error response of `doc` carries, if they are all alike.
fn error_content(doc: &Value) -> (String, String) {
    let mut seen = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (status, response) in item.as_object().unwrap().values().flat_map(|op| op["responses"].as_object().unwrap()) {
            if status.starts_with('4') || status.starts_with('5') || (status == "default" && !path.starts_with("/openapi")) {
                let (media_type, content) = response["content"].as_object().unwrap().iter().next().unwrap();
                seen.insert((media_type.clone(), content["schema"]["$ref"].as_str().unwrap().to_owned()));
            }
        }
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
    seen.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_function_documents_its_routes_with_its_contracts_error_body() {
    let (state, _dir) = local_state().await;
    let apps: [(&str, fn(AppState) -> Router, &str, &str, &str); 6] = [
        ("admin-api", admin_api::app, "/api/v1/api-keys/{id}", "application/problem+json", "Problem"),
        ("ca-api", ca_api::app, "/api/v1/ca/sign/{certname}", "application/json", "PuppetCaError"),
        ("pki-api", pki_api::app, "/api/v1/issuers/{id}/certificates", "application/problem+json", "Problem"),
        ("provision-api", provision_api::app, "/api/v1/provision", "application/json", "SimpleError"),
        ("devices-api", devices_api::app, "/api/v1/provisioning/batch/{id}/provision-all", "application/json", "EnvelopeError"),
        ("device-events", device_events::app, "/api/v1/provisioning/batch/events", "application/json", "EnvelopeError"),
    ];
    for (group, app, path, media_type, schema) in apps {
        let app = app(state.clone());
        let doc = document(&app, "/openapi.json").await;
        assert_eq!(doc["openapi"], "3.1.0", "{group}");
        assert!(doc["paths"][path].is_object() && doc["paths"]["/health"]["get"].is_object(), "{group}: {path} undocumented");
        assert_eq!(error_content(&doc), (media_type.to_owned(), format!("#/components/schemas/{schema}")), "{group}");
        assert_eq!(document(&app, &format!("/openapi/{group}.json")).await, doc, "{group}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tenants_document_seed_003s_problems_on_public_routes_and_rfc_9457_on_the_operators() {
    let (state, _dir) = local_state().await;
    let doc = document(&tenants_api::app(state), "/openapi/tenants-api.json").await;
    let error = |path: &str, method: &str| doc["paths"][path][method]["responses"]["default"]["content"]["application/problem+json"]["schema"]["$ref"].clone();
    assert_eq!(error("/provision/tenants/init", "post"), "#/components/schemas/TenantProblem");
    assert_eq!(error("/api/v1/tenants/{id}", "delete"), "#/components/schemas/Problem");
}

#[tokio::test(flavor = "multi_thread")]
async fn acme_documents_rfc_8555_problems_on_its_acme_routes_and_rfc_9457_on_the_operators() {
    let (state, _dir) = local_state().await;
    let app = acme_api::app(acme_api::AcmeState::new(state, Default::default()));
    let doc = document(&app, "/openapi/acme-api.json").await;
    assert_eq!(document(&app, "/openapi.json").await, doc);
    let error = |path: &str, method: &str| doc["paths"][path][method]["responses"]["default"]["content"]["application/problem+json"]["schema"]["$ref"].clone();
    assert_eq!(error("/acme/{authorityId}/new-order", "post"), "#/components/schemas/AcmeProblem");
    assert_eq!(error("/acme/{authorityId}/new-nonce", "head"), "#/components/schemas/AcmeProblem");
    assert_eq!(error("/api/v1/authorities/{id}/eab-keys", "post"), "#/components/schemas/Problem");
    assert!(doc["paths"]["/health"]["get"].is_object());
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_merges_every_group_and_serves_swagger_ui_from_the_vendored_bundle() {
    let (state, _dir) = local_state().await;
    let app = trustplane::serve::app(state.clone(), acme_api::AcmeState::new(state, AcmeSettings::default()));
    let doc = document(&app, "/openapi.json").await;
    for path in ["/api/v1/api-keys", "/acme/{authorityId}/directory", "/api/v1/authorities/{id}/acme-policy", "/api/v1/ca/status", "/api/v1/subjects", "/api/v1/provision", "/provision/tenants/init", "/api/v1/provisioning/allowlist", "/api/v1/provisioning/batch/events", "/crl/{file}"] {
        assert!(doc["paths"][path].is_object(), "{path} missing from the merged document");
    }
    let (status, _, _) = get(&app, "/swagger").await;
    assert!(status.is_redirection(), "{status}");
    let (status, content_type, page) = get(&app, "/swagger/").await;
    let page = String::from_utf8(page).unwrap();
    assert_eq!((status, content_type.as_deref()), (StatusCode::OK, Some("text/html; charset=utf-8")));
    assert!(page.contains(r#"url: "/openapi.json""#) && page.contains("/swagger/swagger-ui-bundle.js"), "{page}");
    for (asset, media_type, marker) in [("swagger-ui-bundle.js", "text/javascript", "SwaggerUIBundle"), ("swagger-ui.css", "text/css", ".swagger-ui")] {
        let (status, content_type, body) = get(&app, &format!("/swagger/{asset}")).await;
        assert_eq!((status, content_type.as_deref()), (StatusCode::OK, Some(media_type)), "{asset}");
        assert!(String::from_utf8_lossy(&body).contains(marker), "{asset}");
    }
}
