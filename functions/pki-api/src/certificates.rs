//! Issuance (seed 004 §3), the certificate inventory, revocation and CRL download (§4).

use crate::{accepts, views, Paging, PkiService};
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use trustplane_core::domain::{EntityId, Scope};
use trustplane_core::http::{json, Caller, Json};
use trustplane_core::pki::crl::{self, RevocationReason};
use trustplane_core::services::pki::{CertFilter, CertStatus, Channel, IssueRequest, CRL_CONTENT_TYPE};
use trustplane_core::Result;

/// `POST /api/v1/issuers/{authorityId}/certificates` body (seed 004 §3.1), plus an optional
/// PEM `csr` whose key is certified instead of a generated one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IssueBody {
    pub subject_id: Option<String>,
    pub template: Option<String>,
    pub validity_days: Option<u32>,
    #[serde(default, deserialize_with = "json::object")]
    pub san: San,
    pub csr: Option<String>,
}

/// Seed 004 `san`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct San {
    #[serde(default)]
    pub dns_names: Vec<String>,
    #[serde(default)]
    pub ip_addresses: Vec<String>,
    /// uniformResourceIdentifier names (e.g. `spiffe://example.com/svc`).
    #[serde(default)]
    pub uris: Vec<String>,
}

/// `POST /api/v1/certificates/{certId}/revocation` body (seed 004 §4.1); reason defaults to
/// `UNSPECIFIED`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RevokeCertificateBody)]
pub struct RevokeBody {
    pub reason: Option<String>,
    pub comment: Option<String>,
}

/// `GET /api/v1/certificates` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub issuer_id: Option<String>,
    pub status: Option<String>,
    pub subject_id: Option<String>,
    /// RFC 3339.
    pub expiring_before: Option<String>,
    /// `pki`, `agent`, `puppet`, `device` or `acme`.
    pub channel: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub paging: Paging,
}

impl ListQuery {
    fn filter(&self) -> Result<CertFilter> {
        let expiring_before = self
            .expiring_before
            .as_deref()
            .map(|raw| {
                time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| trustplane_core::Error::validation("expiringBefore must be an RFC 3339 timestamp"))
            })
            .transpose()?;
        let id = |field: &str, raw: &Option<String>| raw.as_deref().map(|raw| EntityId::parse(field, raw).map(|id| id.to_string())).transpose();
        Ok(CertFilter {
            issuer_id: id("issuerId", &self.issuer_id)?,
            status: self.status.as_deref().map(CertStatus::parse).transpose()?,
            subject_id: id("subjectId", &self.subject_id)?,
            expiring_before,
            channel: self.channel.as_deref().map(Channel::parse).transpose()?,
        })
    }
}

impl IssueBody {
    fn into_request(self, issuer: EntityId, requested_by: &str) -> Result<IssueRequest> {
        let subject_id = self.subject_id.map(|raw| EntityId::parse("subjectId", &raw)).transpose()?;
        Ok(IssueRequest {
            issuer_id: issuer.to_string(),
            subject_id: subject_id.map(|id| id.to_string()),
            template: self.template,
            validity_days: self.validity_days,
            dns_names: self.san.dns_names,
            ip_addresses: self.san.ip_addresses,
            uris: self.san.uris,
            csr: self.csr,
            requested_by: Some(requested_by.to_owned()),
        })
    }
}

/// `POST /api/v1/issuers/{authorityId}/certificates` (`pki:issue`) → 200 (as the seed shows)
/// with the certificate, the issuer chain and, without a CSR, `privateKeyContent` (shown once).
#[utoipa::path(post, path = "/api/v1/issuers/{id}/certificates", tag = "pki-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The id")), request_body = IssueBody, security(("api_key" = [])), responses(
    (status = 200, description = "The certificate, its chain and, without a CSR, its private key", body = crate::openapi::Issued), (status = 400, description = "Invalid request"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"),
    (status = 404, description = "No such issuer or subject"), (status = 409, description = "The issuer is not active or its policy refuses the request"),
))]
pub async fn issue(PkiService(pki): PkiService, caller: Caller, Path(raw): Path<String>, Json(body): Json<IssueBody>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiIssue)?;
    let request = body.into_request(EntityId::in_path("authority", &raw)?, caller.key_id())?;
    Ok(axum::Json(views::issued(&pki.issue(request).await?)))
}

/// `GET /api/v1/certificates` (`pki:read`): the inventory filtered by `issuerId`, `status`
/// (VALID, REVOKED, EXPIRED), `subjectId`, `expiringBefore` and `channel`, paged by `limit`/`cursor`.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "pki-api", params(ListQuery, Paging), security(("api_key" = [])), responses(
    (status = 200, description = "A page of the inventory", body = crate::openapi::CertificatePage), (status = 400, description = "Invalid filter"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"),
))]
pub async fn list(PkiService(pki): PkiService, caller: Caller, Query(query): Query<ListQuery>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiRead)?;
    let (certs, next) = pki.list_certificates(&query.filter()?, query.paging.limit()?, query.paging.cursor.as_deref()).await?;
    let now = time::OffsetDateTime::now_utc();
    Ok(axum::Json(views::page(certs.iter().map(|c| views::certificate(c, now)).collect(), next)))
}

/// `GET /api/v1/certificates/{certId}` (`pki:read`).
#[utoipa::path(get, path = "/api/v1/certificates/{id}", tag = "pki-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The id")), security(("api_key" = [])), responses(
    (status = 200, description = "The certificate", body = crate::openapi::Certificate), (status = 400, description = "Invalid id"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"), (status = 404, description = "No such certificate"),
))]
pub async fn show(PkiService(pki): PkiService, caller: Caller, Path(raw): Path<String>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiRead)?;
    let cert = pki.get_certificate(EntityId::in_path("certificate", &raw)?.as_str()).await?;
    Ok(axum::Json(views::certificate(&cert, time::OffsetDateTime::now_utc())))
}

/// `POST /api/v1/certificates/{certId}/revocation` (`pki:revoke`) → 202; the CRL follows
/// asynchronously. Unknown certificate 404, already revoked 409.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/revocation", tag = "pki-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The id")), request_body = RevokeBody, security(("api_key" = [])), responses(
    (status = 202, description = "Revoked; the CRL follows", body = crate::openapi::RevokedCertificate), (status = 400, description = "Invalid reason"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"),
    (status = 404, description = "No such certificate"), (status = 409, description = "Already revoked"),
))]
pub async fn revoke(PkiService(pki): PkiService, caller: Caller, Path(raw): Path<String>, Json(body): Json<RevokeBody>) -> Result<(StatusCode, axum::Json<Value>)> {
    caller.require(Scope::PkiRevoke)?;
    let id = EntityId::in_path("certificate", &raw)?;
    let reason = body.reason.as_deref().map(RevocationReason::parse).transpose()?.unwrap_or(RevocationReason::Unspecified);
    let cert = pki.revoke_by(id.as_str(), reason, body.comment, Some(caller.key_id().to_owned())).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(views::revoked(&cert))))
}

/// `GET /api/v1/issuers/{authorityId}/crl` (public: CRLs are for every relying party, seed
/// 004 §4.2): the published CRL, DER `application/pkix-crl`, or PEM with
/// `Accept: application/x-pem-file`.
#[utoipa::path(get, path = "/api/v1/issuers/{id}/crl", tag = "pki-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The id")), responses(
    (status = 200, description = "The CRL, DER or (Accept: application/x-pem-file) PEM", content((Vec<u8> = "application/pkix-crl"), (String = "application/x-pem-file"))),
    (status = 400, description = "Invalid id"), (status = 404, description = "No such authority or no CRL yet"),
))]
pub async fn crl(PkiService(pki): PkiService, Path(raw): Path<String>, headers: HeaderMap) -> Result<Response> {
    let der = pki.current_crl(EntityId::in_path("authority", &raw)?.as_str()).await?;
    if accepts(&headers, "application/x-pem-file") {
        return Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], crl::to_pem(&der)).into_response());
    }
    Ok(([(header::CONTENT_TYPE, CRL_CONTENT_TYPE)], der).into_response())
}
