//! The Lambda function documents itself: `GET /openapi.json` is an OpenAPI 3.1 document of
//! every route it serves, errors as problem+json.

use admin_api::app;
use http::StatusCode;
use trustplane_core::testkit::{call, local_state};

#[tokio::test(flavor = "multi_thread")]
async fn the_function_serves_an_openapi_3_1_document_of_its_routes_with_problem_errors() {
    let (state, _dir) = local_state().await;
    let reply = call(&app(state), http::Request::get("/openapi.json").body(String::new()).unwrap()).await;
    assert_eq!((reply.status, reply.header("content-type")), (StatusCode::OK, Some("application/json")));
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, method) in [("/api/v1/api-keys", "post"), ("/api/v1/api-keys", "get"), ("/api/v1/api-keys/{id}", "delete"), ("/health", "get"), ("/openapi.json", "get")] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} undocumented");
    }
    let created = &doc["paths"]["/api/v1/api-keys"]["post"]["responses"];
    assert_eq!(created["201"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/CreatedKey");
    assert_eq!(created["403"]["content"]["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem");
}
