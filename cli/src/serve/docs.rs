//! `GET /openapi.json`: the OpenAPI 3.1 document of every endpoint group `serve` merges, and a
//! Swagger UI at `/swagger` (seed 003 names it) from the swagger-ui-dist bundle vendored in
//! `cli/assets/swagger-ui` (nothing is downloaded at build or run time).

use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use http::header;
use trustplane_core::http::openapi::{finish, merged, router, service_routes};
use trustplane_core::http::ErrorFormat;
use utoipa::OpenApi;

const BUNDLE: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
const CSS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");

const INDEX: &str = r##"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Trustplane API</title><link rel="stylesheet" href="/swagger/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/swagger/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });</script>
</body>
</html>
"##;

/// `GET /crl/{authorityId}.crl`: a published CRL, as S3 serves it on AWS.
#[utoipa::path(get, path = "/crl/{file}", tag = "service", params(("file" = String, Path, description = "`<authorityId>.crl`")), responses(
    (status = 200, description = "The DER CRL (RFC 5280)", content_type = "application/pkix-crl", body = Vec<u8>),
    (status = 404, description = "No such CRL"),
))]
#[allow(dead_code)]
fn published_crl() {}

#[derive(OpenApi)]
#[openapi(paths(published_crl))]
struct Blobs;

/// Every endpoint group's own document and the service routes (`/health`, `/openapi.json`).
fn groups() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        admin_api::openapi::document(),
        acme_api::openapi::document(),
        ca_api::openapi::document(),
        pki_api::openapi::document(),
        provision_api::openapi::document(),
        tenants_api::openapi::document(),
        devices_api::openapi::document(),
        device_events::openapi::document(),
        service_routes(),
    ]
}

/// Every group's document, the service routes and the published blobs, as one.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut parts = groups();
    parts.push(finish(Blobs::openapi(), ErrorFormat::Problem));
    merged("Trustplane", parts)
}

/// `/openapi.json`, `/swagger`, `/swagger/` and the UI's two assets.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    router(&document())
        .route("/swagger", get(|| async { Redirect::permanent("/swagger/") }))
        .route("/swagger/", get(|| async { Html(INDEX) }))
        .route("/swagger/swagger-ui-bundle.js", get(|| async { asset("text/javascript", BUNDLE) }))
        .route("/swagger/swagger-ui.css", get(|| async { asset("text/css", CSS) }))
}

fn asset(content_type: &'static str, bytes: &'static [u8]) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=86400")], bytes).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parts() -> Vec<Value> {
        groups().into_iter().map(|doc| serde_json::to_value(doc).unwrap()).collect()
    }

    #[test]
    fn groups_never_give_one_schema_name_two_shapes() {
        let mut seen: std::collections::BTreeMap<String, Value> = Default::default();
        for part in parts() {
            for (name, schema) in part["components"]["schemas"].as_object().into_iter().flatten() {
                let first = seen.entry(name.clone()).or_insert_with(|| schema.clone());
                assert_eq!(first, schema, "two groups define schema {name} differently");
            }
        }
    }

    #[test]
    fn the_merged_document_keeps_every_groups_operations_with_unique_ids() {
        let merged = serde_json::to_value(document()).unwrap();
        let count = |doc: &Value| doc["paths"].as_object().map_or(0, |paths| paths.values().map(|item| item.as_object().map_or(0, |ops| ops.len())).sum::<usize>());
        assert_eq!(count(&merged), parts().iter().map(count).sum::<usize>() + 1);
        let ids: Vec<&str> = merged["paths"].as_object().unwrap().values().flat_map(|item| item.as_object().unwrap().values()).filter_map(|op| op["operationId"].as_str()).collect();
        let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(ids.len(), unique.len(), "{ids:?}");
    }
}
