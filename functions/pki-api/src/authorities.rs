//! `/api/v1/authorities` (seed 004 §2): promotion of subjects to CAs, and their chains.

use crate::{accepts, views, Paging, PkiService};
use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use trustplane_core::domain::Scope;
use trustplane_core::http::{Caller, Json};
use trustplane_core::pki::chain;
use trustplane_core::services::pki::{AuthorityType, KeySpec, NewAuthority};
use trustplane_core::{Error, Result};

/// `POST /api/v1/authorities` body (seed 004 §2.1). `parent` is accepted for
/// `parentAuthorityId`, as the seed's sequence diagram writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAuthority {
    pub subject_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<AuthorityType>,
    #[serde(alias = "parent")]
    pub parent_authority_id: Option<String>,
    pub key_spec: Option<KeySpec>,
    #[serde(default)]
    pub policy: PolicyBody,
}

/// Seed 004 `policy`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyBody {
    pub validity_years: Option<u32>,
    pub path_len_constraint: Option<u32>,
    pub crl_distribution_point: Option<String>,
    pub ocsp_responder_url: Option<String>,
}

impl CreateAuthority {
    fn into_new(self) -> Result<NewAuthority> {
        Ok(NewAuthority {
            subject_id: self.subject_id.ok_or_else(|| Error::validation("subjectId is required"))?,
            kind: self.kind,
            parent_authority_id: self.parent_authority_id,
            key_spec: self.key_spec,
            validity_years: self.policy.validity_years,
            path_len_constraint: self.policy.path_len_constraint,
            crl_distribution_point: self.policy.crl_distribution_point,
            ocsp_responder_url: self.policy.ocsp_responder_url,
        })
    }
}

/// `POST /api/v1/authorities` (`pki:admin`) → 201 with the new authority.
pub async fn create(PkiService(pki): PkiService, caller: Caller, Json(body): Json<CreateAuthority>) -> Result<(StatusCode, axum::Json<Value>)> {
    caller.require(Scope::PkiAdmin)?;
    let authority = pki.create_authority(body.into_new()?).await?;
    Ok((StatusCode::CREATED, axum::Json(views::authority(&authority)?)))
}

/// `GET /api/v1/authorities` (`pki:read`): authorities in creation order, paged.
pub async fn list(PkiService(pki): PkiService, caller: Caller, Query(paging): Query<Paging>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiRead)?;
    let (authorities, next) = pki.list_authorities(paging.limit()?, paging.cursor).await?;
    let data = authorities.iter().map(views::authority).collect::<Result<Vec<_>>>()?;
    Ok(axum::Json(views::page(data, next)))
}

/// `GET /api/v1/authorities/{id}` (`pki:read`).
pub async fn show(PkiService(pki): PkiService, caller: Caller, Path(id): Path<String>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiRead)?;
    Ok(axum::Json(views::authority(&pki.get_authority(&id).await?)?))
}

/// `GET /api/v1/authorities/{id}/chain` (`pki:read`, seed 004 §2.2): the authority first, the
/// root last, as `application/pem-certificate-chain` (RFC 8555 §9.1), or with
/// `Accept: application/pkcs7-mime` a certs-only PKCS#7 in DER (RFC 5652).
pub async fn chain(PkiService(pki): PkiService, caller: Caller, Path(id): Path<String>, headers: HeaderMap) -> Result<Response> {
    caller.require(Scope::PkiRead)?;
    let ders = pki.chain(&id).await?;
    if accepts(&headers, "application/pkcs7-mime") {
        return Ok(([(header::CONTENT_TYPE, "application/pkcs7-mime")], chain::p7b(&ders)?).into_response());
    }
    Ok(([(header::CONTENT_TYPE, "application/pem-certificate-chain")], chain::pem_chain(&ders)).into_response())
}
