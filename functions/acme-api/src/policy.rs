//! `/api/v1/authorities/{id}/acme-policy` (`pki:admin`): whether the authority's ACME server
//! requires external account binding and how long what it issues is valid.

use crate::server::service;
use crate::AcmeState;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{json, Value};
use trustplane_core::domain::{EntityId, Scope};
use trustplane_core::http::{Caller, Json};
use trustplane_core::services::acme::{AcmePolicy, EffectivePolicy};
use trustplane_core::Result;

/// `PUT /api/v1/authorities/{id}/acme-policy` body: the whole policy; an absent field takes
/// the deployment's setting.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyBody {
    pub eab_required: Option<bool>,
    pub validity_days: Option<u32>,
}

fn view(effective: EffectivePolicy) -> Value {
    json!({ "eabRequired": effective.eab_required, "validityDays": effective.validity_days })
}

/// `GET /api/v1/authorities/{id}/acme-policy` → the policy the server follows.
pub async fn show(State(state): State<AcmeState>, caller: Caller, Path(raw): Path<String>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiRead)?;
    let authority = EntityId::in_path("authority", &raw)?;
    Ok(axum::Json(view(service(&state).authority_policy(authority.as_str()).await?)))
}

/// `PUT /api/v1/authorities/{id}/acme-policy` → 200 with the policy now followed.
pub async fn replace(State(state): State<AcmeState>, caller: Caller, Path(raw): Path<String>, Json(body): Json<PolicyBody>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiAdmin)?;
    let authority = EntityId::in_path("authority", &raw)?;
    let acme = service(&state);
    acme.set_policy(authority.as_str(), AcmePolicy { eab_required: body.eab_required, validity_days: body.validity_days }).await?;
    Ok(axum::Json(view(acme.policy(authority.as_str()).await?)))
}
