//! Seed 001's Puppet-style CA. The admin API under `/api/v1/ca` takes an `X-API-Key` with
//! the `ca:*` scope each route names; Puppet's agent-facing CA v1 API under `/puppet-ca/v1`
//! takes none, as on Puppet Server. Errors are `{"error", "code", "details": {"certname",
//! "timestamp"}}` with the seed's codes.
//!
//! | method | path | scope |
//! | --- | --- | --- |
//! | GET | `/api/v1/ca/status` | `ca:read` |
//! | GET | `/api/v1/ca/requests` | `ca:read` |
//! | POST | `/api/v1/ca/sign/{certname}` | `ca:sign` |
//! | POST | `/api/v1/ca/reject/{certname}` | `ca:reject` |
//! | POST | `/api/v1/ca/autosign-tokens` | `ca:sign` |
//! | GET | `/api/v1/ca/certificates` | `ca:read` |
//! | GET | `/api/v1/ca/certificates/{certname}` | `ca:read` |
//! | DELETE | `/api/v1/ca/certificates/{certname}` | `ca:revoke` |
//! | POST | `/api/v1/ca/renew` | `ca:admin` |
//! | PUT, GET | `/puppet-ca/v1/certificate_request/{certname}` | — |
//! | DELETE | `/puppet-ca/v1/certificate_request/{certname}` | `ca:reject` or `ca:admin` |
//! | GET | `/puppet-ca/v1/certificate/{certname}` | — |
//! | GET | `/puppet-ca/v1/certificate/ca` | — |
//! | GET | `/puppet-ca/v1/certificate_revocation_list/ca` | — |

mod admin;
mod agent;
pub mod openapi;
mod params;
mod views;

use axum::extract::{FromRef, FromRequestParts};
use axum::routing::{get, post, put};
use axum::Router;
use http::request::Parts;
use std::marker::PhantomData;
use trustplane_core::domain::Scope;
use trustplane_core::http::{standalone, with_common_layers, AppState, Caller, ErrorFormat};
use trustplane_core::services::puppet_ca::PuppetCa;
use trustplane_core::Error;

const FORMAT: ErrorFormat = ErrorFormat::PuppetCa;

/// The Puppet CA service over the request's [`AppState`].
pub struct Ca(pub PuppetCa);

impl<S> FromRequestParts<S> for Ca
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Ok(Ca(PuppetCa::new(state.ports, state.config)))
    }
}

/// A scope a route needs.
pub trait Needs {
    const SCOPE: Scope;
}

macro_rules! scopes {
    ($($marker:ident => $scope:ident),* $(,)?) => {$(
        #[doc = concat!("Needs `", stringify!($scope), "`.")]
        pub struct $marker;
        impl Needs for $marker {
            const SCOPE: Scope = Scope::$scope;
        }
    )*};
}

scopes!(ReadScope => CaRead, SignScope => CaSign, RejectScope => CaReject, RevokeScope => CaRevoke, AdminScope => CaAdmin);

/// A caller holding `N::SCOPE`: 401 `UNAUTHORIZED` without a known key, 403
/// `PERMISSION_DENIED` without the scope, both before the body is read.
pub struct Authorized<N>(pub Caller, PhantomData<N>);

impl<N: Needs, S> FromRequestParts<S> for Authorized<N>
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(N::SCOPE)?;
        Ok(Authorized(caller, PhantomData))
    }
}

fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ca/status", get(admin::status))
        .route("/api/v1/ca/requests", get(admin::requests))
        .route("/api/v1/ca/sign/{certname}", post(admin::sign))
        .route("/api/v1/ca/reject/{certname}", post(admin::reject))
        .route("/api/v1/ca/autosign-tokens", post(admin::mint_token))
        .route("/api/v1/ca/certificates", get(admin::certificates))
        .route("/api/v1/ca/certificates/{certname}", get(admin::certificate).delete(admin::revoke))
        .route("/api/v1/ca/renew", post(admin::renew))
        .route("/puppet-ca/v1/certificate_request/{certname}", put(agent::submit).get(agent::request).delete(agent::withdraw))
        .route("/puppet-ca/v1/certificate/ca", get(agent::ca_certificate))
        .route("/puppet-ca/v1/certificate/{certname}", get(agent::certificate))
        .route("/puppet-ca/v1/certificate_revocation_list/ca", get(agent::crl))
        .route("/puppet-ca/v1/certificate_renewal", post(agent::renew))
}

/// The group's routes with its layers, mergeable into `trustplane serve`.
pub fn router(state: AppState) -> Router {
    let max = state.config.max_body_bytes;
    with_common_layers(routes().with_state(state), FORMAT, max)
}

/// What the Lambda function serves: the group's routes plus `/health` and `/openapi.json`.
pub fn app(state: AppState) -> Router {
    let doc = trustplane_core::http::openapi::function_router("ca-api", openapi::document());
    standalone(routes().merge(doc), state, FORMAT)
}
