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
use trustplane_core::services::pki::{AuthorityType, KeySpec, NewAuthority};
use trustplane_core::{Error, Result};

/// `POST /api/v1/authorities` body (seed 004 §2.1). `parent` is accepted for
/// `parentAuthorityId`, as the seed's sequence diagram writes it.
#[derive(Debug, Deserialize)]
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
}

/// Seed 004 `keySpec`: `{"algorithm", "size"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpecBody {
    pub algorithm: String,
    pub size: u32,
}

/// Seed 004 `policy`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyBody {
    pub validity_years: Option<u32>,
    pub path_len_constraint: Option<u32>,
    pub crl_distribution_point: Option<String>,
    pub ocsp_responder_url: Option<String>,
}

impl CreateAuthority {
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
pub async fn show(PkiService(pki): PkiService, caller: Caller, Path(raw): Path<String>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiRead)?;
    let id = EntityId::in_path("authority", &raw)?;
    Ok(axum::Json(views::authority(&pki.get_authority(id.as_str()).await?)?))
}

/// `GET /api/v1/authorities/{id}/chain` (`pki:read`, seed 004 §2.2): the authority first, the
/// root last, as `application/pem-certificate-chain` (RFC 8555 §9.1), or with
/// `Accept: application/pkcs7-mime` a certs-only PKCS#7 in DER (RFC 5652).
pub async fn chain(PkiService(pki): PkiService, caller: Caller, Path(raw): Path<String>, headers: HeaderMap) -> Result<Response> {
    caller.require(Scope::PkiRead)?;
    let ders = pki.chain(EntityId::in_path("authority", &raw)?.as_str()).await?;
    if accepts(&headers, "application/pkcs7-mime") {
        return Ok(([(header::CONTENT_TYPE, "application/pkcs7-mime")], chain::p7b(&ders)?).into_response());
    }
    Ok(([(header::CONTENT_TYPE, "application/pem-certificate-chain")], chain::pem_chain(&ders)).into_response())
}
