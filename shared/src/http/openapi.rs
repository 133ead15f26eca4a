//! OpenAPI 3.1 documents of the endpoint groups (issue 11). Each group derives its paths with
//! `utoipa` from its handlers and request types, lists the statuses its contract defines, and
//! passes the document through [`finish`], which gives every error response the body of the
//! group's contract format ([`ErrorFormat`], as [`super::render`] writes it) and a `default`
//! response in that format for the statuses the shared layers may add (413, 415, 429, ...).

use super::render::ErrorFormat;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, RefOr, ResponseBuilder};
use utoipa::{OpenApi as _, ToSchema};

/// The API key security scheme's name in every document (`X-API-Key`).
pub const API_KEY: &str = "api_key";

/// Seed 000's error body: `{"error": "..."}`.
#[derive(Serialize, ToSchema)]
pub struct SimpleError {
    pub error: String,
}

/// Seed 001's error body.
#[derive(Serialize, ToSchema)]
pub struct PuppetCaError {
    pub error: String,
    /// `CSR_NOT_FOUND`, `CERT_ALREADY_SIGNED`, `PERMISSION_DENIED`, `CA_UNAVAILABLE`, ...
    pub code: String,
    pub details: PuppetCaErrorDetails,
}

/// Seed 001's `details`: the certname of the path, if any, and when.
#[derive(Serialize, ToSchema)]
pub struct PuppetCaErrorDetails {
    pub certname: Option<String>,
    /// RFC 3339.
    pub timestamp: String,
}

/// Seed 002's failure envelope.
#[derive(Serialize, ToSchema)]
pub struct EnvelopeError {
    /// Always `false`.
    pub success: bool,
    pub error: EnvelopeErrorBody,
    pub correlation_id: String,
    /// RFC 3339.
    pub timestamp: String,
}

/// Seed 002's `error` member.
#[derive(Serialize, ToSchema)]
pub struct EnvelopeErrorBody {
    /// `VALIDATION_FAILED`, `SESSION_NOT_FOUND`, `RATE_LIMITED`, `CIRCUIT_OPEN`, ...
    pub code: String,
    /// The code's title ("Validation failed").
    pub message: String,
    /// True for `RATE_LIMITED`, `CIRCUIT_OPEN` and `INTERNAL_ERROR`.
    pub retryable: bool,
    /// What went wrong, when there is more to say than the title.
    #[schema(required = false)]
    pub details: String,
    /// With every `Retry-After`.
    #[schema(required = false)]
    pub retry_after_seconds: u64,
}

/// RFC 9457 problem details (seed 004 and the operator APIs).
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// `about:blank`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request path.
    pub instance: String,
    pub code: String,
    pub correlation_id: String,
}

/// Seed 003's RFC 7807 problem, as its ASP.NET service writes it: `detail`, or for invalid
/// fields `errors` (`ValidationProblemDetails`).
#[derive(Serialize, ToSchema)]
pub struct TenantProblem {
    /// The RFC 7231/7235/6585 section of the status.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[schema(required = false)]
    pub detail: String,
    /// Field name → messages.
    #[schema(required = false)]
    pub errors: BTreeMap<String, Vec<String>>,
}

/// RFC 8555 §6.7's problem document, as the ACME server's routes answer every failure.
#[derive(Serialize, ToSchema)]
pub struct AcmeProblem {
    /// `urn:ietf:params:acme:error:` and the type: `malformed`, `badNonce`, `unauthorized`,
    /// `accountDoesNotExist`, `externalAccountRequired`, `badCSR`, `orderNotReady`, ...
    #[serde(rename = "type")]
    #[schema(pattern = "^urn:ietf:params:acme:error:[A-Za-z]+$")]
    pub kind: String,
    pub detail: String,
    pub status: u16,
}

/// `GET /health` body (seed 002).
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    pub version: String,
}

/// `GET /health` (seed 002): liveness and version, no authentication.
#[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, description = "Alive", body = Health)))]
#[allow(dead_code)]
fn health() {}

/// `GET /openapi.json`: this document.
#[utoipa::path(get, path = "/openapi.json", tag = "service", responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
#[allow(dead_code)]
fn openapi_json() {}

#[derive(utoipa::OpenApi)]
#[openapi(paths(health, openapi_json))]
struct ServiceRoutes;

/// The `/health` and `/openapi.json` operations every server adds to its groups' paths.
pub fn service_routes() -> OpenApi {
    ServiceRoutes::openapi()
}

fn media_type(format: ErrorFormat) -> &'static str {
    match format {
        ErrorFormat::Problem | ErrorFormat::TenantProblem | ErrorFormat::Acme => "application/problem+json",
        _ => "application/json",
    }
}

fn register<T: ToSchema>(doc: &mut OpenApi) -> RefOr<utoipa::openapi::Schema> {
    let mut schemas = vec![(T::name().into_owned(), T::schema())];
    T::schemas(&mut schemas);
    doc.components
        .get_or_insert_with(Default::default)
        .schemas
        .extend(schemas);
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
}

fn error_schema(doc: &mut OpenApi, format: ErrorFormat) -> RefOr<utoipa::openapi::Schema> {
    match format {
        ErrorFormat::Simple => register::<SimpleError>(doc),
        ErrorFormat::PuppetCa => register::<PuppetCaError>(doc),
        ErrorFormat::Envelope => register::<EnvelopeError>(doc),
        ErrorFormat::Problem => register::<Problem>(doc),
        ErrorFormat::TenantProblem => register::<TenantProblem>(doc),
        ErrorFormat::Acme => register::<AcmeProblem>(doc),
    }
}

fn is_error(status: &str) -> bool {
    status.starts_with('4') || status.starts_with('5')
}

/// `doc` with every error response of its operations carrying `format`'s body, a `default`
/// response in that format, the `X-API-Key` security scheme, and operation ids made of the
/// method and path (unique once the groups are merged).
pub fn finish(mut doc: OpenApi, format: ErrorFormat) -> OpenApi {
    let schema = error_schema(&mut doc, format);
    let content = || Content::new(Some(schema.clone()));
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [("get", &mut item.get), ("head", &mut item.head), ("put", &mut item.put), ("post", &mut item.post), ("delete", &mut item.delete), ("patch", &mut item.patch)];
        for (method, operation) in operations.into_iter().filter_map(|(method, op)| Some((method, op.as_mut()?))) {
            operation.operation_id = Some(operation_id(method, path));
            for (status, response) in operation.responses.responses.iter_mut() {
                if let (true, RefOr::T(response)) = (is_error(status), response) {
                    if response.content.is_empty() {
                        response.content.insert(media_type(format).to_owned(), content());
                    }
                }
            }
            let other = ResponseBuilder::new().description("Any other failure, in the group's error format").content(media_type(format), content()).build();
            operation.responses.responses.insert("default".to_owned(), RefOr::T(other));
        }
    }
    let scheme = SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description("X-API-Key", "An API key with the scope the operation names")));
    doc.components.get_or_insert_with(Default::default).security_schemes.insert(API_KEY.to_owned(), scheme);
    doc
}

/// `post_api_v1_ca_sign_certname` for `POST /api/v1/ca/sign/{certname}`: unique per operation.
fn operation_id(method: &str, path: &str) -> String {
    let words = path.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty());
    std::iter::once(method).chain(words).collect::<Vec<_>>().join("_")
}

/// One document of `parts` (each [`finish`]ed), titled `title`.
pub fn merged(title: &str, parts: impl IntoIterator<Item = OpenApi>) -> OpenApi {
    let mut doc = OpenApi::default();
    doc.info.title = title.to_owned();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    for part in parts {
        doc.merge(part);
    }
    doc
}

/// What one group's Lambda function serves at `GET /openapi.json`, and at `GET
/// /openapi/{group}.json` (the path the stack's HTTP API routes to that function, as only one
/// function could have `/openapi.json`): its `doc` and the [`service_routes`].
pub fn function_router<S: Clone + Send + Sync + 'static>(group: &str, doc: OpenApi) -> axum::Router<S> {
    let doc = merged(&format!("Trustplane {group}"), [doc, service_routes(), group_route(group)]);
    let body: Arc<str> = doc.to_json().unwrap_or_default().into();
    router(&doc).route(&format!("/openapi/{group}.json"), get(move || async move { json_response(body) }))
}

/// The `/openapi/{group}.json` operation of [`function_router`].
fn group_route(group: &str) -> OpenApi {
    let mut doc = ServiceRoutes::openapi();
    let item = doc.paths.paths.shift_remove("/openapi.json");
    doc.paths.paths.clear();
    if let Some(mut item) = item {
        if let Some(get) = item.get.as_mut() {
            get.operation_id = Some(operation_id("get", &format!("/openapi/{group}.json")));
        }
        doc.paths.paths.insert(format!("/openapi/{group}.json"), item);
    }
    doc
}

/// A router answering `GET /openapi.json` with `doc`, serialized once.
pub fn router<S: Clone + Send + Sync + 'static>(doc: &OpenApi) -> axum::Router<S> {
    let body: Arc<str> = doc.to_json().unwrap_or_default().into();
    axum::Router::new().route("/openapi.json", get(move || async move { json_response(body) }))
}

fn json_response(body: Arc<str>) -> Response {
    ([(http::header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[utoipa::path(get, path = "/x", responses((status = 200, description = "ok"), (status = 404, description = "none")))]
    #[allow(dead_code)]
    fn x() {}

    #[derive(utoipa::OpenApi)]
    #[openapi(paths(x))]
    struct Doc;

    #[test]
    fn finished_documents_give_every_error_the_formats_body_and_a_default() {
        let doc: Value =
            serde_json::to_value(finish(Doc::openapi(), ErrorFormat::Problem)).unwrap();
        let responses = &doc["paths"]["/x"]["get"]["responses"];
        let schema = "#/components/schemas/Problem";
        assert_eq!(
            responses["404"]["content"]["application/problem+json"]["schema"]["$ref"],
            schema
        );
        assert_eq!(
            responses["default"]["content"]["application/problem+json"]["schema"]["$ref"],
            schema
        );
        assert!(responses["200"].get("content").is_none());
        assert!(doc["components"]["schemas"]["Problem"]["properties"]["type"].is_object());
        assert_eq!(
            doc["components"]["securitySchemes"][API_KEY]["name"],
            "X-API-Key"
        );
    }

    #[test]
    fn envelope_errors_reference_their_nested_error_member() {
        let doc: Value =
            serde_json::to_value(finish(Doc::openapi(), ErrorFormat::Envelope)).unwrap();
        assert!(
            doc["components"]["schemas"]["EnvelopeErrorBody"]["properties"]["retryable"]
                .is_object()
        );
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
