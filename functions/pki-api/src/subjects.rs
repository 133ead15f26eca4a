//! `/api/v1/subjects`: the Identity Service subjects authorities and certificates refer to.

use crate::{views, Paging, PkiService};
use axum::extract::{Path, Query};
use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use trustplane_core::domain::{EntityId, Scope};
use trustplane_core::http::{Caller, Json};
use trustplane_core::pki::SubjectName;
use trustplane_core::Result;

/// `POST /api/v1/subjects` body: a distinguished name, each field as [`SubjectName`] names it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SubjectBody {
    pub common_name: String,
    pub organization: Option<String>,
    pub organizational_unit: Option<String>,
    pub country: Option<String>,
    pub state: Option<String>,
    pub locality: Option<String>,
    pub email: Option<String>,
}

impl SubjectBody {
    fn into_name(self) -> Result<SubjectName> {
        SubjectName::parse(SubjectName {
            common_name: self.common_name,
            organization: self.organization,
            organizational_unit: self.organizational_unit,
            country: self.country,
            state: self.state,
            locality: self.locality,
            email: self.email,
        })
    }
}

/// `POST /api/v1/subjects` (`pki:issue`): a distinguished name → 201 with the subject's id.
#[utoipa::path(post, path = "/api/v1/subjects", tag = "pki-api", request_body = SubjectBody, security(("api_key" = [])), responses(
    (status = 201, description = "The subject", body = crate::openapi::Subject), (status = 400, description = "Invalid name"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"),
))]
pub async fn create(PkiService(pki): PkiService, caller: Caller, Json(body): Json<SubjectBody>) -> Result<(StatusCode, axum::Json<Value>)> {
    caller.require(Scope::PkiIssue)?;
    let subject = pki.create_subject(body.into_name()?).await?;
    Ok((StatusCode::CREATED, axum::Json(views::subject(&subject)?)))
}

/// `GET /api/v1/subjects` (`pki:read`): subjects in creation order, paged.
#[utoipa::path(get, path = "/api/v1/subjects", tag = "pki-api", params(crate::Paging), security(("api_key" = [])), responses(
    (status = 200, description = "A page of subjects", body = crate::openapi::SubjectPage), (status = 400, description = "Invalid limit or cursor"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"),
))]
pub async fn list(PkiService(pki): PkiService, caller: Caller, Query(paging): Query<Paging>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiRead)?;
    let (subjects, next) = pki.list_subjects(paging.limit()?, paging.cursor).await?;
    let data = subjects.iter().map(views::subject).collect::<Result<Vec<_>>>()?;
    Ok(axum::Json(views::page(data, next)))
}

/// `GET /api/v1/subjects/{id}` (`pki:read`).
#[utoipa::path(get, path = "/api/v1/subjects/{id}", tag = "pki-api", params(("id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The id")), security(("api_key" = [])), responses(
    (status = 200, description = "The subject", body = crate::openapi::Subject), (status = 400, description = "Invalid id"), (status = 401, description = "No known key"), (status = 403, description = "The key lacks the scope"), (status = 404, description = "No such subject"),
))]
pub async fn show(PkiService(pki): PkiService, caller: Caller, Path(raw): Path<String>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiRead)?;
    let id = EntityId::in_path("subject", &raw)?;
    Ok(axum::Json(views::subject(&pki.get_subject(id.as_str()).await?)?))
}
