//! The ACME server (RFC 8555) of every authority under `/acme/{authorityId}/`, and the admin
//! routes minting its external account binding keys (`pki:admin`, RFC 9457 problem+json).
//! ACME answers carry `Replay-Nonce`, `Link: <directory>;rel="index"` and `Cache-Control:
//! no-store` ([`envelope`]); failures are `application/problem+json` with
//! `urn:ietf:params:acme:error:*` types (RFC 8555 §6.7, [`ErrorFormat::Acme`]). A challenge's
//! `http-01` validation is queued as a job (RFC 8555 §7.5.1: answered at once, validated
//! asynchronously), which the job queue's worker runs ([`Acme::run_validation_job`]).

mod accounts;
mod certificates;
mod directory;
mod eab;
mod envelope;
pub mod openapi;
mod orders;
mod policy;
mod server;
mod views;

use axum::extract::FromRef;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use trustplane_core::adapters::http01::HttpFetcher;
use trustplane_core::http::{health, with_common_layers, AppState, ErrorFormat};
use trustplane_core::services::acme::{Acme, AcmeSettings, Http01Client};

/// What the ACME routes run on.
#[derive(Clone)]
pub struct AcmeState {
    pub app: AppState,
    pub settings: Arc<AcmeSettings>,
    /// How the service fetches `http-01` responses, when a worker built over this state
    /// validates ([`AcmeState::service`]).
    pub http01: Arc<dyn Http01Client>,
}

impl FromRef<AcmeState> for AppState {
    fn from_ref(state: &AcmeState) -> AppState {
        state.app.clone()
    }
}

impl AcmeState {
    /// The state over `app` with `settings`, fetching `http-01` responses over HTTP.
    pub fn new(app: AppState, settings: AcmeSettings) -> Self {
        AcmeState { app, settings: Arc::new(settings), http01: Arc::new(HttpFetcher::new()) }
    }

    /// The ACME service over this state: what the routes use, and what the job queue's
    /// worker validates challenges with.
    pub fn service(&self) -> Acme {
        server::service(self)
    }

    /// The state with the settings of the process environment.
    pub fn from_env(app: AppState) -> trustplane_core::Result<Self> {
        Ok(Self::new(app, AcmeSettings::from_env()?))
    }
}

fn acme_routes() -> Router<AcmeState> {
    Router::new()
        .route("/acme/{authority}/directory", get(directory::directory))
        .route("/acme/{authority}/new-nonce", get(directory::nonce_get).head(directory::nonce_head))
        .route("/acme/{authority}/new-account", post(accounts::new_account))
        .route("/acme/{authority}/acct/{id}", post(accounts::account))
        .route("/acme/{authority}/acct/{id}/orders", post(accounts::orders))
        .route("/acme/{authority}/key-change", post(accounts::key_change))
        .route("/acme/{authority}/new-order", post(orders::new_order))
        .route("/acme/{authority}/order/{id}", post(orders::order))
        .route("/acme/{authority}/order/{id}/finalize", post(orders::finalize))
        .route("/acme/{authority}/authz/{id}", post(orders::authz))
        .route("/acme/{authority}/chall/{id}", post(orders::challenge))
        .route("/acme/{authority}/cert/{id}", post(certificates::certificate))
        .route("/acme/{authority}/revoke-cert", post(certificates::revoke))
        .route("/acme/{authority}/renewal-info/{cert_id}", get(certificates::renewal_info))
}

fn admin_routes() -> Router<AcmeState> {
    Router::new()
        .route("/api/v1/authorities/{id}/eab-keys", post(eab::create).get(eab::list))
        .route("/api/v1/authorities/{id}/eab-keys/{key_id}", axum::routing::delete(eab::revoke))
        .route("/api/v1/authorities/{id}/acme-policy", get(policy::show).put(policy::replace))
}

fn layered(state: AcmeState) -> Router {
    let max = state.app.config.max_body_bytes;
    let envelope = axum::middleware::from_fn_with_state(state.clone(), envelope::envelope);
    let acme = with_common_layers(acme_routes().with_state(state.clone()), ErrorFormat::Acme, max).layer(envelope);
    acme.merge(with_common_layers(admin_routes().with_state(state), ErrorFormat::Problem, max))
}

/// The group's routes with its layers, mergeable into `trustplane serve`.
pub fn router(state: AcmeState) -> Router {
    layered(state)
}

/// What the Lambda function serves: the group's routes plus `/health` and `/openapi.json`.
pub fn app(state: AcmeState) -> Router {
    let max = state.app.config.max_body_bytes;
    let doc = trustplane_core::http::openapi::function_router("acme-api", openapi::document());
    let extras = health::router().merge(doc).fallback(trustplane_core::http::fallback).with_state(state.app.clone());
    layered(state).merge(with_common_layers(extras, ErrorFormat::Problem, max))
}
