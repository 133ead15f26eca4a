//! Seed 003's public routes: init (sign-up), confirm (Bearer token), status.

use crate::client_ip::ClientIp;
use crate::service;
use crate::views::status_view;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use trustplane_core::domain::{Plan, Slug, TenantName};
use trustplane_core::http::AppState;
use trustplane_core::services::tenants::{parse_id, InitRequest};
use trustplane_core::{Error, Result};

/// `POST /provision/tenants/init` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct InitBody {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub plan: Option<String>,
}

fn field<T>(errors: &mut BTreeMap<String, Vec<String>>, key: &str, label: &str, raw: Option<&str>, parse: impl Fn(&str) -> Result<T>) -> Option<T> {
    let outcome = match raw {
        None => Err(format!("The {label} field is required.")),
        Some(raw) => parse(raw).map_err(|e| e.public_message()),
    };
    outcome.map_err(|message| errors.entry(key.to_owned()).or_default().push(message)).ok()
}

/// Seed 003's validation: name and slug problems together as `ValidationProblemDetails`;
/// a bad plan alone is the seed's "Invalid Plan".
fn validate(body: InitBody, client_ip: String) -> Result<InitRequest> {
    let mut errors = BTreeMap::new();
    let name = field(&mut errors, "name", "Name", body.name.as_deref(), TenantName::parse);
    let slug = field(&mut errors, "slug", "Slug", body.slug.as_deref(), Slug::parse);
    let plan = match body.plan.as_deref() {
        Some(raw) if errors.is_empty() => Some(Plan::parse(raw)?),
        raw => field(&mut errors, "plan", "Plan", raw, Plan::parse),
    };
    match (name, slug, plan) {
        (Some(name), Some(slug), Some(plan)) => Ok(InitRequest { name, slug, plan, client_ip }),
        _ => Err(Error::Fields(errors)),
    }
}

/// One JSON object, bounded in depth, whatever the Content-Type (the seed's clients send
/// `application/json`, `curl -d` sends form encoding); unknown members are ignored, as the
/// seed's ASP.NET service does.
fn parse_body(bytes: &[u8]) -> Result<InitBody> {
    trustplane_core::http::json::parse(bytes)
}

/// `POST /provision/tenants/init` → 200 with the provisioning id and the confirm token.
#[utoipa::path(post, path = "/provision/tenants/init", tag = "tenants", request_body(content = InitBody, description = "JSON whatever the Content-Type"), responses(
    (status = 200, description = "The provisioning id and the confirmation token (15 minutes)", body = crate::openapi::Initialized),
    (status = 400, description = "Validation errors (`errors`), or Invalid Plan"), (status = 409, description = "Slug Already Exists"),
    (status = 429, description = "Too many unconfirmed tenants from this address"),
))]
pub async fn init(State(state): State<AppState>, ClientIp(ip): ClientIp, body: bytes::Bytes) -> Result<axum::Json<Value>> {
    let request = validate(parse_body(&body)?, ip)?;
    let done = service(&state).init(request).await?;
    Ok(axum::Json(json!({
        "provisioningId": done.provisioning_id,
        "confirmToken": done.confirm_token,
        "next": "/provision/tenants/confirm",
        "message": "Provisioning initialized. Use the confirmation token within 15 minutes to proceed.",
    })))
}

fn bearer(headers: &http::HeaderMap) -> Result<String> {
    let missing = trustplane_core::services::tenants::missing_authorization;
    let value = headers.get(http::header::AUTHORIZATION).ok_or_else(missing)?.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    Ok(token.to_owned())
}

/// `POST /provision/tenants/confirm` with `Authorization: Bearer <token>` → 200 `QUEUED`.
#[utoipa::path(post, path = "/provision/tenants/confirm", tag = "tenants", params(("Authorization" = String, Header, description = "`Bearer <confirmToken>`")), responses(
    (status = 200, description = "Confirmed and queued", body = crate::openapi::Confirmed),
    (status = 401, description = "Missing Authorization, or Invalid Token: a bad signature, an expired or already used token, or one naming no pending provisioning"),
    (status = 409, description = "The provisioning is no longer PENDING_VALIDATION"),
))]
pub async fn confirm(State(state): State<AppState>, headers: http::HeaderMap) -> Result<axum::Json<Value>> {
    let token = bearer(&headers)?;
    let id = service(&state).confirm(&token).await?;
    Ok(axum::Json(json!({
        "provisioningId": id,
        "status": "QUEUED",
        "message": "Provisioning confirmed and queued for processing",
        "statusEndpoint": format!("/provision/tenants/{id}/status"),
    })))
}

/// `GET /provision/tenants/{provisioningId}/status` → 200 with the steps, 400, or 404.
#[utoipa::path(get, path = "/provision/tenants/{provisioning_id}/status", tag = "tenants", params(("provisioning_id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The provisioning id (a UUID)")), responses(
    (status = 200, description = "The status and its steps", body = crate::openapi::TenantStatus), (status = 400, description = "Not a provisioning id"), (status = 404, description = "No such provisioning"),
))]
pub async fn status(State(state): State<AppState>, Path(raw): Path<String>) -> Result<axum::Json<Value>> {
    let id = parse_id(&raw)?;
    let record = service(&state).status(&id).await?;
    Ok(axum::Json(status_view(&record)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(name: Option<&str>, slug: Option<&str>, plan: Option<&str>) -> InitBody {
        InitBody { name: name.map(Into::into), slug: slug.map(Into::into), plan: plan.map(Into::into) }
    }

    #[test]
    fn several_invalid_fields_are_reported_together() {
        let e = validate(body(Some("ab"), Some("Bad!"), None), "ip".into()).unwrap_err();
        let fields = e.fields().unwrap();
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["name", "plan", "slug"]);
    }

    #[test]
    fn a_bad_plan_alone_is_the_seeds_invalid_plan() {
        let e = validate(body(Some("Acme"), Some("acme"), Some("InvalidPlan")), "ip".into()).unwrap_err();
        assert_eq!(e.title(), Some("Invalid Plan"));
    }
}
