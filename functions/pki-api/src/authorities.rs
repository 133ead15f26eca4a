//! `/api/v1/authorities` (seed 004 §2): promotion of subjects to CAs, and their chains.

use crate::{accepts, views, Paging, PkiService};
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use trustplane_core::domain::{EntityId, Scope};
use trustplane_core::http::{json, Caller, Json};
use trustplane_core::pki::chain;
use trustplane_core::pki::crl::RevocationReason;
use trustplane_core::pki::constraints::NameConstraints;
use trustplane_core::pki::leaf::Template;
use trustplane_core::services::pki::{AuthorityOptions, AuthorityStatus, AuthorityType, IssuancePolicy, KeySpec, NewAuthority};
use trustplane_core::{Error, Result};

/// `POST /api/v1/authorities` body (seed 004 §2.1). `parent` is accepted for
/// `parentAuthorityId`, as the seed's sequence diagram writes it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateAuthority {
    pub subject_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<AuthorityType>,
    #[serde(alias = "parent")]
    pub parent_authority_id: Option<String>,
    #[serde(default, deserialize_with = "json::optional_object")]
    pub key_spec: Option<KeySpecBody>,
    #[serde(default, deserialize_with = "json::object")]
    pub policy: PolicyBody,
    /// Makes the request idempotent: a retry with the same token and body answers the
    /// authority the first request created.
    pub client_token: Option<String>,
}

/// Seed 004 `keySpec`: `{"algorithm", "size"}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeySpecBody {
    pub algorithm: String,
    pub size: u32,
}

/// Seed 004 `policy`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyBody {
    pub validity_years: Option<u32>,
    pub path_len_constraint: Option<u32>,
    pub crl_distribution_point: Option<String>,
    pub ocsp_responder_url: Option<String>,
    pub allow_leaf_issuance: Option<bool>,
    pub allowed_templates: Option<Vec<Template>>,
    pub allowed_dns_names: Option<Vec<String>>,
    pub max_validity_days: Option<u32>,
    /// RFC 5280 §4.2.1.10: `{permittedDnsNames, excludedDnsNames, permittedIpRanges,
    /// excludedIpRanges, permittedEmails, excludedEmails, permittedUris, excludedUris}`.
    #[serde(default)]
    pub name_constraints: Option<NameConstraints>,
}

impl CreateAuthority {
    fn options(&self) -> AuthorityOptions {
        let policy = &self.policy;
        let issuance = IssuancePolicy {
            allow_leaf_issuance: policy.allow_leaf_issuance.unwrap_or(false),
            allowed_templates: policy.allowed_templates.clone(),
            allowed_dns_names: policy.allowed_dns_names.clone(),
            max_validity_days: policy.max_validity_days,
        };
        AuthorityOptions { issuance, client_token: self.client_token.clone(), name_constraints: policy.name_constraints.clone().unwrap_or_default() }
    }

    fn into_new(self) -> Result<NewAuthority> {
        let subject_id = self.subject_id.ok_or_else(|| Error::validation("subjectId is required"))?;
        let parent = self.parent_authority_id.map(|raw| EntityId::parse("parentAuthorityId", &raw)).transpose()?;
        Ok(NewAuthority {
            subject_id: EntityId::parse("subjectId", &subject_id)?.to_string(),
            kind: self.kind,
            parent_authority_id: parent.map(|id| id.to_string()),
            key_spec: self.key_spec.map(|spec| KeySpec { algorithm: spec.algorithm, size: spec.size }),
            validity_years: self.policy.validity_years,
            path_len_constraint: self.policy.path_len_constraint,
            crl_distribution_point: self.policy.crl_distribution_point,
            ocsp_responder_url: self.policy.ocsp_responder_url,
        })
    }
}

/// `POST /api/v1/authorities` (`pki:admin`) → 201 with the new authority (also for a retry
/// carrying the `clientToken` of a request that created one).
#[utoipa::path(post, path = "/api/v1/authorities", tag = "pki-api", request_body = CreateAuthority, security(("api_key" = [])), responses(
    (status = 201, description = "The authority", body = crate::openapi::Authority), (status = 400, description = "Invalid body"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"),
    (status = 404, description = "No such subject or parent"), (status = 409, description = "The parent cannot issue, or the client token was used for another body"),
))]
pub async fn create(PkiService(pki): PkiService, caller: Caller, Json(body): Json<CreateAuthority>) -> Result<(StatusCode, axum::Json<Value>)> {
    caller.require(Scope::PkiAdmin)?;
    let options = body.options();
    let authority = pki.create_authority_with(body.into_new()?, options).await?;
    Ok((StatusCode::CREATED, axum::Json(views::authority(&authority, &pki.crl_url(&authority.id))?)))
}

/// `GET /api/v1/authorities` (`pki:read`): authorities in creation order, paged.
#[utoipa::path(get, path = "/api/v1/authorities", tag = "pki-api", params(crate::Paging), security(("api_key" = [])), responses(
    (status = 200, description = "A page of authorities", body = crate::openapi::AuthorityPage), (status = 400, description = "Invalid limit or cursor"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"),
))]
pub async fn list(PkiService(pki): PkiService, caller: Caller, Query(paging): Query<Paging>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiRead)?;
    let (authorities, next) = pki.list_authorities(paging.limit()?, paging.cursor).await?;
    let data = authorities.iter().map(|a| views::authority(a, &pki.crl_url(&a.id))).collect::<Result<Vec<_>>>()?;
    Ok(axum::Json(views::page(data, next)))
}

/// `GET /api/v1/authorities/{id}` (`pki:read`).
#[utoipa::path(get, path = "/api/v1/authorities/{id}", tag = "pki-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The id")), security(("api_key" = [])), responses(
    (status = 200, description = "The authority", body = crate::openapi::Authority), (status = 400, description = "Invalid id"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"), (status = 404, description = "No such authority"),
))]
pub async fn show(PkiService(pki): PkiService, caller: Caller, Path(raw): Path<String>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiRead)?;
    let id = EntityId::in_path("authority", &raw)?;
    let authority = pki.get_authority(id.as_str()).await?;
    Ok(axum::Json(views::authority(&authority, &pki.crl_url(&authority.id))?))
}

/// Media types of a certs-only PKCS#7: RFC 5751's and the legacy one many clients send.
const P7B_MEDIA_TYPES: [&str; 2] = ["application/pkcs7-mime", "application/x-pkcs7-certificates"];

/// `GET /api/v1/authorities/{id}/chain` (public: CA certificates are for every relying party,
/// seed 004 §2.2): the authority first, the root last, as `application/pem-certificate-chain`
/// (RFC 8555 §9.1), or, when `Accept` names one of [`P7B_MEDIA_TYPES`], a certs-only PKCS#7 in
/// DER (RFC 5652) under that media type.
#[utoipa::path(get, path = "/api/v1/authorities/{id}/chain", tag = "pki-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The id")), responses(
    (status = 200, description = "The chain, the authority first", content(
        (String = "application/pem-certificate-chain"), (Vec<u8> = "application/pkcs7-mime"), (Vec<u8> = "application/x-pkcs7-certificates"),
    )),
    (status = 400, description = "Invalid id"), (status = 404, description = "No such authority"),
))]
pub async fn chain(PkiService(pki): PkiService, Path(raw): Path<String>, headers: HeaderMap) -> Result<Response> {
    let ders = pki.chain(EntityId::in_path("authority", &raw)?.as_str()).await?;
    if let Some(media_type) = P7B_MEDIA_TYPES.into_iter().find(|media_type| accepts(&headers, media_type)) {
        return Ok(([(header::CONTENT_TYPE, media_type)], chain::p7b(&ders)?).into_response());
    }
    Ok(([(header::CONTENT_TYPE, "application/pem-certificate-chain")], chain::pem_chain(&ders)).into_response())
}

/// `PUT /api/v1/authorities/{id}/policy` body: the whole issuance policy (absent fields take
/// their defaults, as at creation).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IssuancePolicyBody {
    pub allow_leaf_issuance: Option<bool>,
    pub allowed_templates: Option<Vec<Template>>,
    pub allowed_dns_names: Option<Vec<String>>,
    pub max_validity_days: Option<u32>,
}

/// `PUT /api/v1/authorities/{id}/policy` (`pki:admin`) → 200 with the authority under its new
/// issuance policy (see `Pki::set_issuance_policy`).
#[utoipa::path(put, path = "/api/v1/authorities/{id}/policy", tag = "pki-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The id")), request_body = IssuancePolicyBody, security(("api_key" = [])), responses(
    (status = 200, description = "The authority under its new policy", body = crate::openapi::Authority), (status = 400, description = "Invalid policy"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"),
    (status = 404, description = "No such authority"), (status = 409, description = "The authority is revoked"),
))]
pub async fn set_policy(PkiService(pki): PkiService, caller: Caller, Path(raw): Path<String>, Json(body): Json<IssuancePolicyBody>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiAdmin)?;
    let id = EntityId::in_path("authority", &raw)?;
    let issuance = IssuancePolicy {
        allow_leaf_issuance: body.allow_leaf_issuance.unwrap_or(false),
        allowed_templates: body.allowed_templates,
        allowed_dns_names: body.allowed_dns_names,
        max_validity_days: body.max_validity_days,
    };
    let authority = pki.set_issuance_policy(id.as_str(), issuance, Some(caller.key_id().to_owned())).await?;
    Ok(axum::Json(views::authority(&authority, &pki.crl_url(&authority.id))?))
}

/// `POST /api/v1/authorities/{id}/status` body: `ACTIVE` or `DISABLED`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    pub status: Option<AuthorityStatus>,
}

/// `POST /api/v1/authorities/{id}/revocation` body; reason defaults to `UNSPECIFIED`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RevokeAuthorityBody)]
pub struct RevokeBody {
    pub reason: Option<String>,
    pub comment: Option<String>,
}

/// `POST /api/v1/authorities/{id}/status` (`pki:admin`) → 200 with the authority: `DISABLED`
/// stops all issuance (its CRL is still published), `ACTIVE` resumes it. 409 once REVOKED.
#[utoipa::path(post, path = "/api/v1/authorities/{id}/status", tag = "pki-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The id")), request_body = StatusBody, security(("api_key" = [])), responses(
    (status = 200, description = "The authority", body = crate::openapi::Authority), (status = 400, description = "Invalid status"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"),
    (status = 404, description = "No such authority"), (status = 409, description = "The authority is revoked"),
))]
pub async fn set_status(PkiService(pki): PkiService, caller: Caller, Path(raw): Path<String>, Json(body): Json<StatusBody>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiAdmin)?;
    let id = EntityId::in_path("authority", &raw)?;
    let status = body.status.ok_or_else(|| Error::validation("status is required: ACTIVE or DISABLED"))?;
    let authority = pki.set_authority_status(id.as_str(), status).await?;
    Ok(axum::Json(views::authority(&authority, &pki.crl_url(&authority.id))?))
}

/// `POST /api/v1/authorities/{id}/revocation` (`pki:admin`) → 202 with the authority, now
/// REVOKED; its CA certificates reach the parent's CRL asynchronously (RFC 5280 §5).
#[utoipa::path(post, path = "/api/v1/authorities/{id}/revocation", tag = "pki-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The id")), request_body(content = RevokeBody), security(("api_key" = [])), responses(
    (status = 202, description = "The authority, now REVOKED", body = crate::openapi::Authority), (status = 400, description = "Invalid reason"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"),
    (status = 404, description = "No such authority"), (status = 409, description = "Already revoked"),
))]
pub async fn revoke(PkiService(pki): PkiService, caller: Caller, Path(raw): Path<String>, Json(body): Json<RevokeBody>) -> Result<(StatusCode, axum::Json<Value>)> {
    caller.require(Scope::PkiAdmin)?;
    let id = EntityId::in_path("authority", &raw)?;
    let reason = body.reason.as_deref().map(RevocationReason::parse).transpose()?.unwrap_or(RevocationReason::Unspecified);
    let authority = pki.revoke_authority(id.as_str(), reason, body.comment, Some(caller.key_id().to_owned())).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(views::authority(&authority, &pki.crl_url(&authority.id))?)))
}
