//! `/api/v1/authorities/{id}/acme-policy` (`pki:admin`): whether the authority's ACME server
//! requires external account binding and how long what it issues is valid.

use crate::server::service;
use crate::AcmeState;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use trustplane_core::domain::{EntityId, Scope};
use trustplane_core::http::{Caller, Json};
use trustplane_core::services::acme::{AcmePolicy, EffectivePolicy};
use trustplane_core::Result;
use utoipa::ToSchema;

/// `PUT /api/v1/authorities/{id}/acme-policy` body: the whole policy; an absent field takes
/// the deployment's setting.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = AcmePolicyBody)]
pub struct PolicyBody {
    /// Unset: `ACME_EAB_REQUIRED`.
    pub eab_required: Option<bool>,
    /// Unset: `ACME_CERT_VALIDITY_DAYS`.
    #[schema(minimum = 1, maximum = 3650)]
    pub validity_days: Option<u32>,
}

/// The policy an authority's ACME server follows, the deployment's settings filled in.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcmePolicyView {
    /// New accounts need an external account binding (RFC 8555 §7.3.4).
    pub eab_required: bool,
    /// Validity of issued certificates, clipped to the authority's own.
    pub validity_days: u32,
}

fn view(effective: EffectivePolicy) -> AcmePolicyView {
    AcmePolicyView { eab_required: effective.eab_required, validity_days: effective.validity_days }
}

/// `GET /api/v1/authorities/{id}/acme-policy` → the policy the server follows.
#[utoipa::path(get, path = "/api/v1/authorities/{id}/acme-policy", tag = "acme-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The authority's id")),
    security(("api_key" = [])), responses(
    (status = 200, description = "The policy followed", body = AcmePolicyView),
    (status = 401, description = "No known key"), (status = 403, description = "The key lacks pki:read"), (status = 404, description = "No such authority"),
))]
pub async fn show(State(state): State<AcmeState>, caller: Caller, Path(raw): Path<String>) -> Result<axum::Json<AcmePolicyView>> {
    caller.require(Scope::PkiRead)?;
    let authority = EntityId::in_path("authority", &raw)?;
    Ok(axum::Json(view(service(&state).authority_policy(authority.as_str()).await?)))
}

/// `PUT /api/v1/authorities/{id}/acme-policy` → 200 with the policy now followed.
#[utoipa::path(put, path = "/api/v1/authorities/{id}/acme-policy", tag = "acme-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The authority's id")),
    request_body = PolicyBody, security(("api_key" = [])), responses(
    (status = 200, description = "The policy now followed", body = AcmePolicyView),
    (status = 400, description = "Invalid body, or validityDays outside 1-3650"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks pki:admin"),
    (status = 404, description = "No such authority"), (status = 415, description = "Not application/json"),
))]
pub async fn replace(State(state): State<AcmeState>, caller: Caller, Path(raw): Path<String>, Json(body): Json<PolicyBody>) -> Result<axum::Json<AcmePolicyView>> {
    caller.require(Scope::PkiAdmin)?;
    let authority = EntityId::in_path("authority", &raw)?;
    let acme = service(&state);
    acme.set_policy(authority.as_str(), AcmePolicy { eab_required: body.eab_required, validity_days: body.validity_days }).await?;
    Ok(axum::Json(view(acme.policy(authority.as_str()).await?)))
}
