//! The ACME server (RFC 8555) of every authority under `/acme/{authorityId}/`, and the admin
//! routes minting its external account binding keys (`pki:admin`, RFC 9457 problem+json).
//! ACME answers carry `Replay-Nonce`, `Link: <directory>;rel="index"` and `Cache-Control:
//! no-store`; failures are `application/problem+json` with `urn:ietf:params:acme:error:*`
//! types ([`envelope`]). `http-01` validation runs in the background in `serve` and before
//! the challenge's answer on Lambda ([`Validation`]).

mod accounts;
mod certificates;
mod directory;
mod eab;
mod envelope;
pub mod http01;
mod orders;
mod policy;
mod server;
mod views;

use axum::extract::FromRef;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use trustplane_core::config::Backend;
use trustplane_core::http::{health, with_common_layers, AppState, ErrorFormat};
use trustplane_core::services::acme::{AcmeSettings, Http01Client};

/// When a challenge's `http-01` validation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validation {
    /// In a task of this process, after the challenge's answer (`serve`).
    Background,
    /// Before the challenge's answer (Lambda, where nothing runs between invocations).
    Inline,
}

/// What the ACME routes run on.
#[derive(Clone)]
pub struct AcmeState {
    pub app: AppState,
    pub settings: Arc<AcmeSettings>,
    pub http01: Arc<dyn Http01Client>,
    pub validation: Validation,
}

impl FromRef<AcmeState> for AppState {
    fn from_ref(state: &AcmeState) -> AppState {
        state.app.clone()
    }
}

impl AcmeState {
    /// The state over `app` with `settings`, fetching `http-01` responses over HTTP and
    /// validating in the background on the embedded backend, inline on AWS.
    pub fn new(app: AppState, settings: AcmeSettings) -> Self {
        let validation = if app.config.backend == Backend::Local { Validation::Background } else { Validation::Inline };
        AcmeState { app, settings: Arc::new(settings), http01: Arc::new(http01::HttpFetcher::new()), validation }
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
    let acme = acme_routes().layer(axum::middleware::from_fn_with_state(state.clone(), envelope::envelope)).with_state(state.clone());
    with_common_layers(acme, ErrorFormat::Problem, max).merge(with_common_layers(admin_routes().with_state(state), ErrorFormat::Problem, max))
}

/// The group's routes with its layers, mergeable into `trustplane serve`.
pub fn router(state: AcmeState) -> Router {
    layered(state)
}

/// What the Lambda function serves: the group's routes plus `/health`.
pub fn app(state: AcmeState) -> Router {
    let max = state.app.config.max_body_bytes;
    let health = health::router().fallback(trustplane_core::http::fallback).with_state(state.app.clone());
    layered(state).merge(with_common_layers(health, ErrorFormat::Problem, max))
}
