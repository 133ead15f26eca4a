//! The group's OpenAPI 3.1 document: `/api/v1/api-keys`, errors as RFC 9457 problems.

use crate::{CreateKey, KeyView};
use serde::Serialize;
use trustplane_core::http::openapi::finish;
use trustplane_core::http::ErrorFormat;
use utoipa::{OpenApi, ToSchema};

/// `POST /api/v1/api-keys` 201 body.
#[derive(Serialize, ToSchema)]
pub struct CreatedKey {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// The secret, shown this once.
    pub key: String,
    pub created_at: String,
    /// The id of the key that created this one.
    pub created_by: Option<String>,
}

/// `GET /api/v1/api-keys` 200 body.
#[derive(Serialize, ToSchema)]
pub struct KeyPage {
    pub data: Vec<KeyView<'static>>,
    pub next_cursor: Option<String>,
}

#[derive(OpenApi)]
#[openapi(paths(crate::create_key, crate::list_keys, crate::revoke_key), components(schemas(CreateKey, CreatedKey, KeyPage)))]
struct Doc;

/// The group's paths, errors as problem+json.
pub fn document() -> utoipa::openapi::OpenApi {
    finish(Doc::openapi(), ErrorFormat::Problem)
}
