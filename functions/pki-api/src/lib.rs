//! Seed 004's CA hierarchy service under `/api/v1`: subjects, authorities (roots and
//! intermediates) and their chains, issuance from templates, the certificate inventory,
//! revocation and CRL download. Errors are RFC 9457 problem details; `X-API-Key` scopes
//! `pki:read` (GET), `pki:issue` (subjects, issuance), `pki:admin` (authorities), `pki:revoke`.
//! An issuer's CRL and an authority's chain are public: they are for every relying party.

mod authorities;
mod certificates;
mod ocsp;
pub mod openapi;
mod subjects;
mod views;

use axum::extract::{FromRef, FromRequestParts};
use axum::routing::{get, post, put};
use axum::Router;
use http::request::Parts;
use serde::Deserialize;
use trustplane_core::domain::Limit;
use trustplane_core::http::{standalone, with_common_layers, AppState, ErrorFormat};
use trustplane_core::services::pki::{Pki, MAX_PAGE};
use trustplane_core::Result;

/// The PKI service over the request's [`AppState`] (its ports and configuration).
pub struct PkiService(pub Pki);

impl<S> FromRequestParts<S> for PkiService
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_: &mut Parts, state: &S) -> std::result::Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Ok(PkiService(Pki::new(state.ports, state.config)))
    }
}

/// `limit` (digits, 1..=100, default 50) and `cursor` of the list endpoints.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    #[param(pattern = "^[0-9]{1,3}$")]
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

impl Paging {
    fn limit(&self) -> Result<u32> {
        Limit::parse(self.limit.as_deref(), 50, MAX_PAGE).map(Limit::get)
    }
}

/// True if the request's `Accept` header names `media_type`.
fn accepts(headers: &http::HeaderMap, media_type: &str) -> bool {
    headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(media_type))
}

fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/subjects", post(subjects::create).get(subjects::list))
        .route("/api/v1/subjects/{id}", get(subjects::show))
        .route("/api/v1/authorities", post(authorities::create).get(authorities::list))
        .route("/api/v1/authorities/{id}", get(authorities::show))
        .route("/api/v1/authorities/{id}/chain", get(authorities::chain))
        .route("/api/v1/authorities/{id}/status", post(authorities::set_status))
        .route("/api/v1/authorities/{id}/policy", put(authorities::set_policy))
        .route("/api/v1/authorities/{id}/revocation", post(authorities::revoke))
        .route("/api/v1/issuers/{id}/certificates", post(certificates::issue))
        .route("/api/v1/issuers/{id}/crl", get(certificates::crl))
        .route("/api/v1/certificates", get(certificates::list))
        .route("/api/v1/certificates/{id}", get(certificates::show))
        .route("/api/v1/certificates/{id}/revocation", post(certificates::revoke))
        .route("/ocsp/{id}", post(ocsp::post))
        .route("/ocsp/{id}/{*request}", get(ocsp::get))
}

/// The group's routes with its layers, mergeable into `trustplane serve`.
pub fn router(state: AppState) -> Router {
    let max = state.config.max_body_bytes;
    with_common_layers(routes().with_state(state), ErrorFormat::Problem, max)
}

/// What the Lambda function serves: the group's routes plus `/health` and `/openapi.json`.
pub fn app(state: AppState) -> Router {
    let doc = trustplane_core::http::openapi::function_router("pki-api", openapi::document());
    standalone(routes().merge(doc), state, ErrorFormat::Problem)
}
