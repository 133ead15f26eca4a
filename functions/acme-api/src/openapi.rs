//! The group's OpenAPI 3.1 document: the ACME server of every authority (RFC 8555; request
//! bodies are `application/jose+json` flattened JWS, failures RFC 8555 §6.7 problem
//! documents, and every answer carries the [`crate::envelope`] headers) and the operators'
//! EAB key and ACME policy routes (RFC 9457 problems). The response shapes are the types of
//! [`crate::views`] and of the handlers' modules, which the answers serialize.

use serde::Deserialize;
use trustplane_core::http::openapi::{finish, merged};
use trustplane_core::http::ErrorFormat;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::{Object, OpenApi as Document, RefOr, Type};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// `{authorityId}`: the authority whose ACME server it is.
#[derive(IntoParams)]
#[into_params(parameter_in = Path, rename_all = "camelCase")]
pub struct AuthorityPath {
    /// The authority's id.
    #[param(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub authority_id: String,
}

/// `{authorityId}` and the `{id}` of one of its server's resources.
#[derive(IntoParams)]
#[into_params(parameter_in = Path, rename_all = "camelCase")]
pub struct ResourcePath {
    /// The authority's id.
    #[param(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub authority_id: String,
    /// The resource's id, as its URL names it.
    #[param(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub id: String,
}

/// `{authorityId}` and a certificate's RFC 9773 `{certId}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path, rename_all = "camelCase")]
pub struct RenewalInfoPath {
    /// The authority's id.
    #[param(pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub authority_id: String,
    /// base64url(authority key identifier) "." base64url(serial) (RFC 9773 §4.1).
    #[param(pattern = "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$")]
    pub cert_id: String,
}

/// An ACME request body (RFC 8555 §6.2): a flattened JWS (RFC 7515 §7.2.2) whose protected
/// header names `alg` (ES256, ES384, RS256), `nonce`, `url` (the request's) and either `jwk`
/// or `kid` (the account URL).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Jws {
    /// base64url of the protected header's JSON.
    #[schema(pattern = "^[A-Za-z0-9_-]+$")]
    pub protected: String,
    /// base64url of the payload's JSON; empty for POST-as-GET (§6.3).
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    pub payload: String,
    /// base64url.
    #[schema(pattern = "^[A-Za-z0-9_-]+$")]
    pub signature: String,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::directory::directory, crate::directory::nonce_head, crate::directory::nonce_get,
        crate::accounts::new_account, crate::accounts::account, crate::accounts::orders, crate::accounts::key_change,
        crate::orders::new_order, crate::orders::order, crate::orders::finalize, crate::orders::authz, crate::orders::challenge,
        crate::certificates::certificate, crate::certificates::revoke, crate::certificates::renewal_info,
    ),
    components(schemas(Jws))
)]
struct Acme;

#[derive(OpenApi)]
#[openapi(
    paths(crate::eab::create, crate::eab::list, crate::eab::revoke, crate::policy::show, crate::policy::replace),
    components(schemas(crate::eab::CreateBody, crate::policy::PolicyBody))
)]
struct Admin;

/// The [`crate::envelope`] headers, on every answer of the ACME operations of `doc`.
fn with_envelope_headers(mut doc: Document) -> Document {
    let text = |description: &str| HeaderBuilder::new().schema(Object::with_type(Type::String)).description(Some(description)).build();
    let headers = [
        ("Replay-Nonce", text("A fresh nonce for the next request (RFC 8555 §6.5)")),
        ("Link", text("<directory URL>;rel=\"index\" (RFC 8555 §7.1)")),
        ("Cache-Control", text("no-store")),
    ];
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.head, &mut item.post];
        for operation in operations.into_iter().flatten() {
            for response in operation.responses.responses.values_mut() {
                if let RefOr::T(response) = response {
                    for (name, header) in &headers {
                        response.headers.entry((*name).to_owned()).or_insert_with(|| header.clone());
                    }
                }
            }
        }
    }
    doc
}

/// The group's paths: the ACME server's with its problem documents, the operators' with
/// RFC 9457's.
pub fn document() -> Document {
    let acme = with_envelope_headers(finish(Acme::openapi(), ErrorFormat::Acme));
    merged("Trustplane acme-api", [acme, finish(Admin::openapi(), ErrorFormat::Problem)])
}
