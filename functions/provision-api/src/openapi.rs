//! The group's OpenAPI 3.1 document: seed 000's `POST /api/v1/provision` and the provision
//! keys, errors as seed 000's `{"error": "..."}`.

use crate::{CreateKeyBody, ProvisionBody};
use serde::Serialize;
use trustplane_core::http::openapi::finish;
use trustplane_core::http::ErrorFormat;
use trustplane_core::services::provisioning::ProvisionKeyState;
use utoipa::{OpenApi, ToSchema};

/// Seed 000's provision response.
#[derive(Serialize, ToSchema)]
pub struct Provisioned {
    pub agent_id: String,
    /// PEM.
    pub agent_cert: String,
    /// PEM.
    pub ca_cert: String,
}

/// `POST /api/v1/provision-keys` 201 body.
#[derive(Serialize, ToSchema)]
pub struct CreatedProvisionKey {
    /// The key, shown this once.
    pub provision_key: String,
    pub agent_id: String,
    pub expires_at: String,
    pub key_prefix: String,
}

/// A provision key as listed.
#[derive(Serialize, ToSchema)]
pub struct ProvisionKey {
    pub key_prefix: String,
    pub agent_id: String,
    pub state: ProvisionKeyState,
    pub created_at: String,
    pub expires_at: String,
    pub used_at: Option<String>,
    /// The certificate a used key produced.
    pub certificate_id: Option<String>,
}

/// `GET /api/v1/provision-keys` 200 body.
#[derive(Serialize, ToSchema)]
pub struct ProvisionKeyPage {
    pub data: Vec<ProvisionKey>,
    pub next_cursor: Option<String>,
}

#[derive(OpenApi)]
#[openapi(paths(crate::provision, crate::create_key, crate::list_keys, crate::revoke_key), components(schemas(ProvisionBody, CreateKeyBody)))]
struct Doc;

/// The group's paths, errors as `{"error"}`.
pub fn document() -> utoipa::openapi::OpenApi {
    finish(Doc::openapi(), ErrorFormat::Simple)
}
