//! `/api/v1/subjects`: the Identity Service subjects authorities and certificates refer to.

use crate::{views, Paging, PkiService};
use axum::extract::{Path, Query};
use http::StatusCode;
use serde_json::Value;
use trustplane_core::domain::Scope;
use trustplane_core::http::{Caller, Json};
use trustplane_core::pki::SubjectName;
use trustplane_core::Result;

/// `POST /api/v1/subjects` (`pki:issue`): a distinguished name → 201 with the subject's id.
pub async fn create(PkiService(pki): PkiService, caller: Caller, Json(body): Json<SubjectName>) -> Result<(StatusCode, axum::Json<Value>)> {
    caller.require(Scope::PkiIssue)?;
    let subject = pki.create_subject(SubjectName::parse(body)?).await?;
    Ok((StatusCode::CREATED, axum::Json(views::subject(&subject)?)))
}

/// `GET /api/v1/subjects` (`pki:read`): subjects in creation order, paged.
pub async fn list(PkiService(pki): PkiService, caller: Caller, Query(paging): Query<Paging>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiRead)?;
    let (subjects, next) = pki.list_subjects(paging.limit()?, paging.cursor).await?;
    let data = subjects.iter().map(views::subject).collect::<Result<Vec<_>>>()?;
    Ok(axum::Json(views::page(data, next)))
}

/// `GET /api/v1/subjects/{id}` (`pki:read`).
pub async fn show(PkiService(pki): PkiService, caller: Caller, Path(id): Path<String>) -> Result<axum::Json<Value>> {
    caller.require(Scope::PkiRead)?;
    Ok(axum::Json(views::subject(&pki.get_subject(&id).await?)?))
}
