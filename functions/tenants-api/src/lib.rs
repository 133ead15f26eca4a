//! Tenant provisioning (seed 003). Public routes keep the seed's RFC 7807 problems exactly
//! (ASP.NET shape); the operators' routes use the RFC 9457 problems of the other admin APIs.

mod admin;
mod client_ip;
pub mod openapi;
mod public;
mod views;

pub use client_ip::ClientIp;

use axum::routing::{get, post};
use axum::Router;
use trustplane_core::http::{fallback, health, with_common_layers, AppState, ErrorFormat};
use trustplane_core::services::tenants::Tenants;

fn service(state: &AppState) -> Tenants {
    Tenants::new(&state.ports, state.config.clone())
}

fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/provision/tenants/init", post(public::init))
        .route("/provision/tenants/confirm", post(public::confirm))
        .route("/provision/tenants/{provisioning_id}/status", get(public::status))
}

fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants", get(admin::list))
        .route("/api/v1/tenants/{id}", get(admin::get).delete(admin::deprovision))
        .route("/api/v1/tenants/{id}/retry", post(admin::retry))
}

/// The group's routes with their layers, mergeable into `trustplane serve`.
pub fn router(state: AppState) -> Router {
    let max = state.config.max_body_bytes;
    let public = with_common_layers(public_routes().with_state(state.clone()), ErrorFormat::TenantProblem, max);
    let admin = with_common_layers(admin_routes().with_state(state), ErrorFormat::Problem, max);
    public.merge(admin)
}

/// What the Lambda function serves: the group's routes, `/health`, `/openapi.json`, and for
/// any other path the 404 `serve` gives it ([`fallback`]): the seed's problem under
/// `/provision/tenants`, RFC 9457 problem+json elsewhere.
pub fn app(state: AppState) -> Router {
    let max = state.config.max_body_bytes;
    let rest = health::router()
        .merge(trustplane_core::http::openapi::function_router("tenants-api", openapi::document()))
        .fallback(fallback)
        .with_state(state.clone());
    router(state).merge(with_common_layers(rest, ErrorFormat::TenantProblem, max))
}
